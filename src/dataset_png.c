/* PNG datasets: DIR/Train/<class>/<name>.png and DIR/Test/<class>/<name>.png (or train/ and
   test/). The whole tree is listed first, in an order every machine agrees on; then the images
   are decoded in parallel, each straight into its sample's slot. */
#include "dptrain/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "png_folder.h"

enum { TRAIN, TEST };

/* One split's images in sample order, with their labels. */
typedef struct samples {
    char **paths;
    int32_t *labels;
    size_t count, cap;
} samples;

typedef struct png_tree {
    char *dirs[2];         /* DIR/Train and DIR/Test as spelled on disk */
    const char *spells[2]; /* "Train" or "train", "Test" or "test" */
    dpt_strings classes;   /* the Train subfolders in class order */
    samples split[2];
} png_tree;

/* Takes path (freeing it when it cannot be added). */
static int samples_add(samples *s, char *path, int32_t label, const char *where, dpt_err *err) {
    if (!path) return dpt_png_folder_oom(err);
    if (s->count == UINT32_MAX) {
        free(path);
        return dpt_fail(err, "%s: more than %u images", where, UINT32_MAX);
    }
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        char **paths = realloc(s->paths, cap * sizeof *paths);
        if (paths) s->paths = paths;
        int32_t *labels = paths ? realloc(s->labels, cap * sizeof *labels) : NULL;
        if (!labels) {
            free(path);
            return dpt_png_folder_oom(err);
        }
        s->labels = labels, s->cap = cap;
    }
    s->paths[s->count] = path;
    s->labels[s->count++] = label;
    return 0;
}

static void samples_free(samples *s) {
    for (size_t i = 0; i < s->count; i++) free(s->paths[i]);
    free(s->paths);
    free(s->labels);
    *s = (samples){0};
}

/* Decimal names by value (2 before 10), equal values ("7", "007") by their bytes. */
static int cmp_numbers(const void *a, const void *b) {
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    while (*x == '0' && x[1]) x++;
    while (*y == '0' && y[1]) y++;
    size_t nx = strlen(x), ny = strlen(y);
    if (nx != ny) return nx < ny ? -1 : 1;
    int c = strcmp(x, y);
    return c ? c : dpt_cmp_names(a, b);
}

static int is_decimal(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

/* The class subfolders of a split folder, unsorted. */
static int list_classes(const char *dir, dpt_strings *out, dpt_err *err) {
    if (dpt_list_folder(dir, 1, out, err)) return -1;
    if (out->count == 0)
        return dpt_fail(err,
                        "%s: no class folders (one subfolder per class, holding its .png "
                        "images)",
                        dir);
    if (out->count > DPT_DATASET_MAX_CLASSES)
        return dpt_fail(err, "%s: %zu class folders, more than the %d classes dptrain takes", dir,
                        out->count, DPT_DATASET_MAX_CLASSES);
    return 0;
}

/* Appends the images of class folder dir/name to s, in name order, labelled label. */
static int add_class(const char *dir, const char *name, int32_t label, samples *s, dpt_err *err) {
    char *class_dir = dpt_path_join(dir, name);
    if (!class_dir) return dpt_png_folder_oom(err);
    dpt_strings files = {0};
    int rc = dpt_list_folder(class_dir, 0, &files, err);
    if (rc == 0 && files.count == 0)
        rc = dpt_fail(err, "%s: no .png images in this class folder", class_dir);
    if (rc == 0) qsort(files.items, files.count, sizeof *files.items, dpt_cmp_names);
    for (size_t i = 0; i < files.count && rc == 0; i++)
        rc = samples_add(s, dpt_path_join(class_dir, files.items[i]), label, class_dir, err);
    dpt_strings_free(&files);
    free(class_dir);
    return rc;
}

/* "0, 1, 2" or, when they do not all fit, the first few and the count. */
static void describe_classes(const dpt_strings *classes, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < classes->count; i++) {
        const char *name = classes->items[i];
        if (used + strlen(name) + 40 > size) {
            snprintf(buf + used, size - used, "..., %zu classes in all", classes->count);
            return;
        }
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", name);
    }
}

static int list_tree(const char *dir, png_tree *t, dpt_err *err) {
    static const char layout[] =
        "a PNG dataset holds Train/ and Test/, each with one subfolder of .png images per class";
    if (dpt_find_split(dir, "Train", "train", layout, &t->dirs[TRAIN], &t->spells[TRAIN], err) ||
        dpt_find_split(dir, "Test", "test", layout, &t->dirs[TEST], &t->spells[TEST], err) ||
        list_classes(t->dirs[TRAIN], &t->classes, err))
        return -1;
    int (*cmp)(const void *, const void *) = cmp_numbers;
    for (size_t k = 0; k < t->classes.count; k++)
        if (!is_decimal(t->classes.items[k])) cmp = dpt_cmp_names;
    qsort(t->classes.items, t->classes.count, sizeof *t->classes.items, cmp);
    for (size_t k = 0; k < t->classes.count; k++)
        if (add_class(t->dirs[TRAIN], t->classes.items[k], (int32_t)k, &t->split[TRAIN], err))
            return -1;

    dpt_strings tests = {0};
    int rc = list_classes(t->dirs[TEST], &tests, err);
    if (rc == 0) qsort(tests.items, tests.count, sizeof *tests.items, cmp);
    for (size_t i = 0; i < tests.count && rc == 0; i++) {
        const char *name = tests.items[i];
        if (!bsearch(&name, t->classes.items, t->classes.count, sizeof name, cmp)) {
            char known[200];
            describe_classes(&t->classes, known, sizeof known);
            rc = dpt_fail(err, "%s/%s: class '%s' is not among the training classes (%s/ has %s)",
                          t->dirs[TEST], name, name, t->spells[TRAIN], known);
        }
    }
    /* Test samples in the training classes' order, so labels ascend as in Train/. */
    for (size_t k = 0; k < t->classes.count && rc == 0; k++) {
        const char *name = t->classes.items[k];
        if (bsearch(&name, tests.items, tests.count, sizeof name, cmp))
            rc = add_class(t->dirs[TEST], name, (int32_t)k, &t->split[TEST], err);
    }
    dpt_strings_free(&tests);
    return rc;
}

typedef struct decode_job {
    const png_tree *t;
    dpt_images *images[2];
    const dpt_png_info *want;
} decode_job;

/* Decodes sample i of the training then test samples into its slot. */
static int decode_sample(void *ctx, size_t i, dpt_err *err) {
    const decode_job *d = ctx;
    const size_t ntrain = d->t->split[TRAIN].count;
    const int s = i >= ntrain ? TEST : TRAIN;
    const size_t j = s == TEST ? i - ntrain : i;
    const size_t bytes = (size_t)d->want->channels * d->want->height * d->want->width;
    return dpt_png_read_like(d->t->split[s].paths[j], d->t->split[TRAIN].paths[0], d->want,
                             d->images[s]->pixels + j * bytes, err);
}

/* Decodes every listed image into ds (allocated here). */
static int load_images(const png_tree *t, int threads, dpt_dataset *ds, dpt_err *err) {
    dpt_png_info want;
    if (dpt_png_read(t->split[TRAIN].paths[0], &want, NULL, 0, err)) return -1;
    decode_job d = {.t = t, .images = {&ds->train, &ds->test}, .want = &want};
    for (int s = 0; s < 2; s++) {
        if (dpt_images_alloc(d.images[s], DPT_TASK_CLASSIFY, (uint32_t)t->split[s].count,
                             want.channels, want.height, want.width, t->dirs[s], err))
            return -1;
        memcpy(d.images[s]->labels, t->split[s].labels, t->split[s].count * sizeof(int32_t));
    }
    return dpt_run_jobs(t->split[TRAIN].count + t->split[TEST].count, threads, decode_sample, &d,
                        err);
}

int dpt_dataset_read_png(const char *dir, int threads, dpt_dataset *ds, dpt_err *err) {
    memset(ds, 0, sizeof *ds);
    png_tree t = {0};
    int rc = list_tree(dir, &t, err);
    if (rc == 0) rc = load_images(&t, threads, ds, err);
    if (rc == 0) {
        ds->classes = (int)t.classes.count;
        ds->class_names = t.classes.items;
        t.classes = (dpt_strings){0};
    }
    dpt_strings_free(&t.classes);
    for (int s = 0; s < 2; s++) {
        samples_free(&t.split[s]);
        free(t.dirs[s]);
    }
    if (rc != 0) {
        dpt_dataset_free(ds);
        memset(ds, 0, sizeof *ds);
    }
    return rc;
}
