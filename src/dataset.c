#include "dptrain/dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dptrain/digest.h"

/* A folder is a PNG tree when it has a Train/ or train/ folder. */
static int is_png_tree(const char *dir) {
    static const char *const names[] = {"Train", "train"};
    char path[4200];
    struct stat st;
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return 1;
    }
    return 0;
}

dpt_dataset_format dpt_dataset_format_of(const char *path, dpt_err *err) {
    struct stat st;
    if (stat(path, &st) != 0) {
        dpt_fail(err, "%s: %s (--data takes an IDX folder, a PNG folder tree or an HDF5 file)",
                 path, strerror(errno));
        return DPT_DATASET_NONE;
    }
    if (S_ISDIR(st.st_mode)) return is_png_tree(path) ? DPT_DATASET_PNG : DPT_DATASET_IDX;
    if (S_ISREG(st.st_mode)) return DPT_DATASET_H5;
    dpt_fail(err, "%s: not a folder or a regular file (a FIFO or a device?)", path);
    return DPT_DATASET_NONE;
}

const char *dpt_dataset_format_name(dpt_dataset_format format) {
    static const char *const names[] = {"IDX folder", "PNG folder tree", "HDF5 file"};
    return format == DPT_DATASET_NONE ? "unknown" : names[format];
}

int dpt_dataset_read(const char *path, int threads, dpt_dataset *ds, dpt_err *err) {
    memset(ds, 0, sizeof *ds);
    int rc;
    switch (dpt_dataset_format_of(path, err)) {
    case DPT_DATASET_IDX:
        rc = dpt_dataset_read_idx(path, ds, err);
        break;
    case DPT_DATASET_PNG:
        rc = dpt_dataset_read_png(path, threads, ds, err);
        break;
    case DPT_DATASET_H5:
        rc = dpt_dataset_read_h5(path, ds, err);
        break;
    case DPT_DATASET_NONE:
    default:
        return -1;
    }
    if (rc == 0) rc = dpt_dataset_check(ds, path, err);
    if (rc) dpt_dataset_free(ds);
    return rc;
}

static void images_free(dpt_images *images) {
    free(images->pixels);
    free(images->labels);
}

void dpt_dataset_free(dpt_dataset *ds) {
    images_free(&ds->train);
    images_free(&ds->test);
    if (ds->class_names)
        for (int c = 0; c < ds->classes; c++) free(ds->class_names[c]);
    free(ds->class_names);
    memset(ds, 0, sizeof *ds);
}

int dpt_images_alloc(dpt_images *images, uint32_t count, uint32_t channels, uint32_t height,
                     uint32_t width, const char *what, dpt_err *err) {
    const double bytes = (double)count * ((double)channels * height * width + sizeof(int32_t));
    if (bytes > (double)DPT_DATASET_MAX_BYTES)
        return dpt_fail(
            err, "%s: %u images of %ux%ux%u are %.3g GB, more than dptrain holds (%.3g GB)", what,
            count, channels, height, width, bytes / 1e9, (double)DPT_DATASET_MAX_BYTES / 1e9);
    *images = (dpt_images){.count = count, .channels = channels, .height = height, .width = width};
    images->pixels = malloc(bytes > 0 ? (size_t)bytes : 1);
    images->labels = malloc(count ? sizeof(int32_t) * count : 1);
    if (!images->pixels || !images->labels) {
        images_free(images);
        memset(images, 0, sizeof *images);
        return dpt_fail(err, "%s: out of memory for %u images of %ux%ux%u", what, count, channels,
                        height, width);
    }
    return 0;
}

typedef struct {
    const char *name;
    int index;
} class_ref;

static int by_name(const void *a, const void *b) {
    const class_ref *x = a, *y = b;
    const int c = strcmp(x->name, y->name);
    return c ? c : x->index - y->index;
}

int dpt_class_names_check(char *const *names, int n, const char *what, dpt_err *err) {
    for (int c = 0; c < n; c++) {
        const size_t len = strlen(names[c]);
        if (len == 0) return dpt_fail(err, "%s: class %d has an empty name", what, c);
        if (len > DPT_CLASS_NAME_MAX)
            return dpt_fail(err, "%s: class %d's name has %zu bytes; at most %d", what, c, len,
                            DPT_CLASS_NAME_MAX);
        for (const unsigned char *p = (const unsigned char *)names[c]; *p; p++)
            if (*p < 0x20 || *p == 0x7f)
                return dpt_fail(err, "%s: class %d's name has a control character (0x%02x)", what,
                                c, *p);
    }
    class_ref *sorted = malloc(sizeof *sorted * (size_t)(n + 1));
    if (!sorted) return dpt_fail(err, "%s: out of memory checking %d class names", what, n);
    for (int c = 0; c < n; c++) sorted[c] = (class_ref){names[c], c};
    qsort(sorted, (size_t)n, sizeof *sorted, by_name);
    int rc = 0;
    for (int c = 1; rc == 0 && c < n; c++)
        if (strcmp(sorted[c - 1].name, sorted[c].name) == 0)
            rc = dpt_fail(err, "%s: classes %d and %d are both named '%s'", what,
                          sorted[c - 1].index, sorted[c].index, sorted[c].name);
    free(sorted);
    return rc;
}

static int check_labels(const dpt_images *images, int classes, const char *path, const char *split,
                        dpt_err *err) {
    for (uint32_t i = 0; i < images->count; i++)
        if (images->labels[i] < 0 || images->labels[i] >= classes)
            return dpt_fail(err, "%s: %s label %u is %d, outside the %d classes", path, split, i,
                            images->labels[i], classes);
    return 0;
}

int dpt_dataset_check(const dpt_dataset *ds, const char *path, dpt_err *err) {
    const dpt_images *tr = &ds->train, *te = &ds->test;
    if (tr->count == 0) return dpt_fail(err, "%s: no training images", path);
    if (tr->channels != te->channels || tr->height != te->height || tr->width != te->width)
        return dpt_fail(err, "%s: training images are %ux%ux%u but test images %ux%ux%u", path,
                        tr->channels, tr->height, tr->width, te->channels, te->height, te->width);
    if (ds->classes < 1 || ds->classes > DPT_DATASET_MAX_CLASSES)
        return dpt_fail(err, "%s: %d classes; dptrain takes 1 to %d", path, ds->classes,
                        DPT_DATASET_MAX_CLASSES);
    return check_labels(tr, ds->classes, path, "training", err) ||
                   check_labels(te, ds->classes, path, "test", err) ||
                   (ds->class_names &&
                    dpt_class_names_check(ds->class_names, ds->classes, path, err))
               ? -1
               : 0;
}

void dpt_dataset_digest(const dpt_dataset *ds, char hex[65]) {
    /* The header: "CxHxW classes" and each name on its own line. */
    size_t len = 64;
    for (int c = 0; ds->class_names && c < ds->classes; c++) len += strlen(ds->class_names[c]) + 1;
    char *header = malloc(len);
    size_t used = 0;
    if (header) {
        used = (size_t)snprintf(header, len, "%ux%ux%u %d\n", ds->train.channels, ds->train.height,
                                ds->train.width, ds->classes);
        for (int c = 0; ds->class_names && c < ds->classes; c++)
            used += (size_t)snprintf(header + used, len - used, "%s\n", ds->class_names[c]);
    }
    const dpt_images *sets[] = {&ds->train, &ds->test};
    const void *parts[5] = {header ? header : ""};
    size_t sizes[5] = {used};
    for (int i = 0; i < 2; i++) {
        const dpt_images *s = sets[i];
        parts[1 + 2 * i] = s->pixels;
        sizes[1 + 2 * i] = (size_t)s->count * s->channels * s->height * s->width;
        parts[2 + 2 * i] = s->labels;
        sizes[2 + 2 * i] = sizeof(int32_t) * s->count;
    }
    dpt_sha256_hex(parts, sizes, 5, hex);
    free(header);
}
