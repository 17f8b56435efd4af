#include "dptrain/dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dptrain/digest.h"

static int is_folder(const char *dir, const char *name, const char *sub) {
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s%s%s", dir, name, sub ? "/" : "", sub ? sub : "");
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A folder is a PNG tree when it has a Train/ or train/ folder, and PNG segmentation folders
   when that folder holds images/ and masks/. */
static dpt_dataset_format folder_format(const char *dir) {
    static const char *const names[] = {"Train", "train"};
    for (int i = 0; i < 2; i++)
        if (is_folder(dir, names[i], "images") && is_folder(dir, names[i], "masks"))
            return DPT_DATASET_PNG_SEG;
    for (int i = 0; i < 2; i++)
        if (is_folder(dir, names[i], NULL)) return DPT_DATASET_PNG;
    return DPT_DATASET_IDX;
}

dpt_dataset_format dpt_dataset_format_of(const char *path, dpt_err *err) {
    struct stat st;
    if (stat(path, &st) != 0) {
        dpt_fail(err,
                 "%s: %s (--data takes an IDX folder, a PNG folder tree, PNG segmentation "
                 "folders or an HDF5 file)",
                 path, strerror(errno));
        return DPT_DATASET_NONE;
    }
    if (S_ISDIR(st.st_mode)) return folder_format(path);
    if (S_ISREG(st.st_mode)) return DPT_DATASET_H5;
    dpt_fail(err, "%s: not a folder or a regular file (a FIFO or a device?)", path);
    return DPT_DATASET_NONE;
}

const char *dpt_dataset_format_name(dpt_dataset_format format) {
    static const char *const names[] = {"IDX folder", "PNG folder tree", "HDF5 file",
                                        "PNG segmentation folders"};
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
    case DPT_DATASET_PNG_SEG:
        rc = dpt_dataset_read_png_seg(path, threads, ds, err);
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
    free(images->masks);
}

void dpt_dataset_free(dpt_dataset *ds) {
    images_free(&ds->train);
    images_free(&ds->test);
    dpt_class_names_free(ds->class_names, ds->class_names ? ds->classes : 0);
    memset(ds, 0, sizeof *ds);
}

dpt_task dpt_dataset_task(const dpt_dataset *ds) {
    return ds->train.masks ? DPT_TASK_SEGMENT : DPT_TASK_CLASSIFY;
}

const char *dpt_task_name(dpt_task task) {
    return task == DPT_TASK_SEGMENT ? "segmentation" : "classification";
}

int dpt_images_alloc(dpt_images *images, dpt_task task, uint32_t count, uint32_t channels,
                     uint32_t height, uint32_t width, const char *what, dpt_err *err) {
    const double plane = (double)height * width, pixels = (double)count * channels * plane,
                 targets = task == DPT_TASK_SEGMENT ? count * plane : count * 4.0;
    if (pixels + targets > (double)DPT_DATASET_MAX_BYTES)
        return dpt_fail(
            err, "%s: %u images of %ux%ux%u%s are %.3g GB, more than dptrain holds (%.3g GB)", what,
            count, channels, height, width, task == DPT_TASK_SEGMENT ? " with masks" : "",
            (pixels + targets) / 1e9, (double)DPT_DATASET_MAX_BYTES / 1e9);
    *images = (dpt_images){.count = count, .channels = channels, .height = height, .width = width};
    images->pixels = malloc(pixels > 0 ? (size_t)pixels : 1);
    void *t = malloc(targets > 0 ? (size_t)targets : 1);
    if (task == DPT_TASK_SEGMENT)
        images->masks = t;
    else
        images->labels = t;
    if (!images->pixels || !t) {
        images_free(images);
        memset(images, 0, sizeof *images);
        return dpt_fail(err, "%s: out of memory for %u images of %ux%ux%u", what, count, channels,
                        height, width);
    }
    return 0;
}

size_t dpt_images_targets(const dpt_images *images) {
    return images->masks ? (size_t)images->height * images->width : 1;
}

void dpt_images_count_classes(const dpt_images *images, const uint32_t *idx, uint32_t n,
                              int64_t *counts) {
    const size_t per = dpt_images_targets(images);
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t sample = idx ? idx[i] : i;
        if (!images->masks) {
            counts[images->labels[sample]]++;
            continue;
        }
        const uint8_t *mask = images->masks + (size_t)sample * per;
        for (size_t j = 0; j < per; j++) counts[mask[j]]++;
    }
}

double dpt_images_weight(const dpt_images *images, uint32_t i, const float *weights) {
    if (!images->masks) return weights[images->labels[i]];
    const size_t per = dpt_images_targets(images);
    const uint8_t *mask = images->masks + (size_t)i * per;
    double total = 0;
    for (size_t j = 0; j < per; j++) total += weights[mask[j]];
    return total;
}

uint8_t dpt_masks_largest(const uint8_t *masks, size_t n) {
    uint8_t most = 0;
    for (size_t j = 0; j < n; j++)
        if (masks[j] > most) most = masks[j];
    return most;
}

int dpt_dataset_mask_classes(const dpt_dataset *ds) {
    const dpt_images *sets[2] = {&ds->train, &ds->test};
    int most = 0;
    for (int s = 0; s < 2; s++) {
        const size_t n = (size_t)sets[s]->count * sets[s]->height * sets[s]->width;
        const int m = dpt_masks_largest(sets[s]->masks, n);
        if (m > most) most = m;
    }
    return most + 1;
}

size_t dpt_masks_first_outside(const uint8_t *masks, size_t n, int classes) {
    if (classes > UINT8_MAX || dpt_masks_largest(masks, n) < classes) return n;
    size_t j = 0;
    while (masks[j] < classes) j++;
    return j;
}

static int check_labels(const dpt_images *images, int classes, const char *path, const char *split,
                        dpt_err *err) {
    for (uint32_t i = 0; i < images->count; i++)
        if (images->labels[i] < 0 || images->labels[i] >= classes)
            return dpt_fail(err, "%s: %s label %u is %d, outside the %d classes", path, split, i,
                            images->labels[i], classes);
    return 0;
}

static int check_masks(const dpt_images *images, int classes, const char *path, const char *split,
                       dpt_err *err) {
    const size_t plane = (size_t)images->height * images->width, n = images->count * plane;
    const size_t j = dpt_masks_first_outside(images->masks, n, classes);
    if (j == n) return 0;
    return dpt_fail(
        err, "%s: %s mask %zu has value %d at row %zu, column %zu, outside the %d classes", path,
        split, j / plane, images->masks[j], j % plane / images->width, j % images->width, classes);
}

/* Both splits have labels, or both masks, and not the other. */
static int same_task(const dpt_images *tr, const dpt_images *te) {
    const int seg = tr->masks != NULL;
    return (te->masks != NULL) == seg && (tr->labels == NULL) == seg && (te->labels == NULL) == seg;
}

int dpt_dataset_check(const dpt_dataset *ds, const char *path, dpt_err *err) {
    const dpt_images *tr = &ds->train, *te = &ds->test;
    if (tr->count == 0) return dpt_fail(err, "%s: no training images", path);
    if (tr->channels != te->channels || tr->height != te->height || tr->width != te->width)
        return dpt_fail(err, "%s: training images are %ux%ux%u but test images %ux%ux%u", path,
                        tr->channels, tr->height, tr->width, te->channels, te->height, te->width);
    if (!same_task(tr, te))
        return dpt_fail(err,
                        "%s: both splits must have labels (classification) or both masks "
                        "(segmentation)",
                        path);
    const int seg = tr->masks != NULL;
    const int most = seg ? DPT_SEGMENT_MAX_CLASSES : DPT_DATASET_MAX_CLASSES;
    if (ds->classes < 1 || ds->classes > most)
        return dpt_fail(err, "%s: %d classes; a %s dataset takes 1 to %d", path, ds->classes,
                        dpt_task_name(seg ? DPT_TASK_SEGMENT : DPT_TASK_CLASSIFY), most);
    int (*check)(const dpt_images *, int, const char *, const char *, dpt_err *) =
        seg ? check_masks : check_labels;
    return check(tr, ds->classes, path, "training", err) ||
                   check(te, ds->classes, path, "test", err) ||
                   (ds->class_names &&
                    dpt_class_names_check(ds->class_names, ds->classes, path, err))
               ? -1
               : 0;
}

void dpt_dataset_digest(const dpt_dataset *ds, char hex[65]) {
    /* The header: "CxHxW classes" (" masks" after it for segmentation) and each name on its own
       line. */
    const int seg = ds->train.masks != NULL;
    size_t len = 64;
    for (int c = 0; ds->class_names && c < ds->classes; c++) len += strlen(ds->class_names[c]) + 1;
    char *header = malloc(len);
    size_t used = 0;
    if (header) {
        used =
            (size_t)snprintf(header, len, "%ux%ux%u %d%s\n", ds->train.channels, ds->train.height,
                             ds->train.width, ds->classes, seg ? " masks" : "");
        for (int c = 0; ds->class_names && c < ds->classes; c++)
            used += (size_t)snprintf(header + used, len - used, "%s\n", ds->class_names[c]);
    }
    const dpt_images *sets[] = {&ds->train, &ds->test};
    const void *parts[5] = {header ? header : ""};
    size_t sizes[5] = {used};
    for (int i = 0; i < 2; i++) {
        const dpt_images *s = sets[i];
        const size_t plane = (size_t)s->height * s->width;
        parts[1 + 2 * i] = s->pixels;
        sizes[1 + 2 * i] = (size_t)s->count * s->channels * plane;
        parts[2 + 2 * i] = seg ? (const void *)s->masks : (const void *)s->labels;
        sizes[2 + 2 * i] = seg ? s->count * plane : sizeof(int32_t) * s->count;
    }
    dpt_sha256_hex(parts, sizes, 5, hex);
    free(header);
}
