/* PNG datasets: DIR/Train/<class>/<name>.png and DIR/Test/<class>/<name>.png (or train/ and
   test/). The whole tree is listed first, in an order every machine agrees on; then the images
   are decoded in parallel, each straight into its sample's slot. */
#define _POSIX_C_SOURCE 200809L /* strdup, strcasecmp */
#include "dptrain/dataset.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "dptrain/png_image.h"

enum { TRAIN, TEST };

/* A growable array of malloc'd strings. */
typedef struct strings {
    char **items;
    size_t count, cap;
} strings;

/* One split's images in sample order, with their labels. */
typedef struct samples {
    char **paths;
    int32_t *labels;
    size_t count, cap;
} samples;

typedef struct png_tree {
    char *dirs[2];         /* DIR/Train and DIR/Test as spelled on disk */
    const char *spells[2]; /* "Train" or "train", "Test" or "test" */
    strings classes;       /* the Train subfolders in class order */
    samples split[2];
} png_tree;

static int out_of_memory(dpt_err *err) {
    return dpt_fail(err, "out of memory listing PNG files");
}

/* dir/name, malloc'd (one slash between them when dir ends with one). */
static char *join(const char *dir, const char *name) {
    const size_t len = strlen(dir), n = len + strlen(name) + 2;
    char *path = malloc(n);
    if (path) snprintf(path, n, "%s%s%s", dir, len && dir[len - 1] == '/' ? "" : "/", name);
    return path;
}

/* Takes item (freeing it when it cannot be added). */
static int strings_add(strings *s, char *item, dpt_err *err) {
    if (!item) return out_of_memory(err);
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        char **items = realloc(s->items, cap * sizeof *items);
        if (!items) {
            free(item);
            return out_of_memory(err);
        }
        s->items = items, s->cap = cap;
    }
    s->items[s->count++] = item;
    return 0;
}

static void strings_free(strings *s) {
    for (size_t i = 0; i < s->count; i++) free(s->items[i]);
    free(s->items);
    *s = (strings){0};
}

/* Takes path (freeing it when it cannot be added). */
static int samples_add(samples *s, char *path, int32_t label, const char *where, dpt_err *err) {
    if (!path) return out_of_memory(err);
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
            return out_of_memory(err);
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

static int has_png_suffix(const char *name) {
    size_t n = strlen(name);
    return n > 4 && strcasecmp(name + n - 4, ".png") == 0;
}

static int cmp_bytes(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Decimal names by value (2 before 10), equal values ("7", "007") by their bytes. */
static int cmp_numbers(const void *a, const void *b) {
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    while (*x == '0' && x[1]) x++;
    while (*y == '0' && y[1]) y++;
    size_t nx = strlen(x), ny = strlen(y);
    if (nx != ny) return nx < ny ? -1 : 1;
    int c = strcmp(x, y);
    return c ? c : cmp_bytes(a, b);
}

static int is_decimal(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

/* The visible entries of folder dir: its subfolders (folders = 1; other files are skipped, e.g.
   a README beside the class folders) or its *.png names (folders = 0), unsorted. */
static int list_folder(const char *dir, int folders, strings *out, dpt_err *err) {
    DIR *d = opendir(dir);
    if (!d) return dpt_fail(err, "%s: cannot list: %s", dir, strerror(errno));
    int rc = 0;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno) rc = dpt_fail(err, "%s: cannot list: %s", dir, strerror(errno));
            break;
        }
        if (e->d_name[0] == '.') continue;
        if (folders) {
            char *path = join(dir, e->d_name);
            struct stat st;
            if (!path) {
                rc = out_of_memory(err);
            } else if (stat(path, &st) != 0) {
                rc = dpt_fail(err, "%s: %s", path, strerror(errno));
            } else if (S_ISDIR(st.st_mode)) {
                rc = strings_add(out, strdup(e->d_name), err);
            }
            free(path);
        } else if (has_png_suffix(e->d_name)) {
            rc = strings_add(out, strdup(e->d_name), err);
        }
        if (rc) break;
    }
    closedir(d);
    return rc;
}

/* Finds the split folder spelled upper ("Train") or lower ("train") in dir. */
static int find_split(const char *dir, const char *upper, const char *lower, png_tree *t, int split,
                      dpt_err *err) {
    const char *spells[2] = {upper, lower};
    char *paths[2] = {join(dir, upper), join(dir, lower)};
    struct stat st[2];
    int found[2] = {0, 0}, rc = paths[0] && paths[1] ? 0 : out_of_memory(err);
    for (int i = 0; i < 2 && rc == 0; i++) {
        found[i] = stat(paths[i], &st[i]) == 0;
        if (!found[i] && errno != ENOENT) rc = dpt_fail(err, "%s: %s", paths[i], strerror(errno));
    }
    const int i = found[0] ? 0 : 1;
    if (rc == 0) {
        /* (on a case-insensitive file system both names find the same folder) */
        if (found[0] && found[1] && (st[0].st_dev != st[1].st_dev || st[0].st_ino != st[1].st_ino))
            rc = dpt_fail(err, "%s: holds both %s/ and %s/; keep one", dir, upper, lower);
        else if (!found[i])
            rc = dpt_fail(err,
                          "%s: no %s/ folder (a PNG dataset holds Train/ and Test/, each with one "
                          "subfolder of .png images per class)",
                          dir, upper);
        else if (!S_ISDIR(st[i].st_mode))
            rc = dpt_fail(err, "%s: not a folder", paths[i]);
    }
    if (rc == 0) {
        t->spells[split] = spells[i];
        t->dirs[split] = paths[i];
        paths[i] = NULL;
    }
    free(paths[0]);
    free(paths[1]);
    return rc;
}

/* The class subfolders of a split folder, unsorted. */
static int list_classes(const char *dir, strings *out, dpt_err *err) {
    if (list_folder(dir, 1, out, err)) return -1;
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
    char *class_dir = join(dir, name);
    if (!class_dir) return out_of_memory(err);
    strings files = {0};
    int rc = list_folder(class_dir, 0, &files, err);
    if (rc == 0 && files.count == 0)
        rc = dpt_fail(err, "%s: no .png images in this class folder", class_dir);
    if (rc == 0) qsort(files.items, files.count, sizeof *files.items, cmp_bytes);
    for (size_t i = 0; i < files.count && rc == 0; i++)
        rc = samples_add(s, join(class_dir, files.items[i]), label, class_dir, err);
    strings_free(&files);
    free(class_dir);
    return rc;
}

/* "0, 1, 2" or, when they do not all fit, the first few and the count. */
static void describe_classes(const strings *classes, char *buf, size_t size) {
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
    if (find_split(dir, "Train", "train", t, TRAIN, err) ||
        find_split(dir, "Test", "test", t, TEST, err) ||
        list_classes(t->dirs[TRAIN], &t->classes, err))
        return -1;
    int (*cmp)(const void *, const void *) = cmp_numbers;
    for (size_t k = 0; k < t->classes.count; k++)
        if (!is_decimal(t->classes.items[k])) cmp = cmp_bytes;
    qsort(t->classes.items, t->classes.count, sizeof *t->classes.items, cmp);
    for (size_t k = 0; k < t->classes.count; k++)
        if (add_class(t->dirs[TRAIN], t->classes.items[k], (int32_t)k, &t->split[TRAIN], err))
            return -1;

    strings tests = {0};
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
    strings_free(&tests);
    return rc;
}

static const char *kind_of(uint32_t channels) {
    return channels == 1 ? "gray" : "RGB";
}

static int same_size(const dpt_png_info *a, const dpt_png_info *b) {
    return a->channels == b->channels && a->height == b->height && a->width == b->width;
}

/* Decodes path into slot (bytes of the first image's size, want). */
static int decode_one(const char *path, const char *first, const dpt_png_info *want, uint8_t *slot,
                      size_t bytes, dpt_err *err) {
    dpt_png_info got;
    int rc = dpt_png_read(path, &got, slot, bytes, err);
    /* A larger image fails for want of room: its header tells the real cause. */
    if (rc != 0 && dpt_png_read(path, &got, NULL, 0, NULL) != 0) return -1;
    if (same_size(&got, want)) return rc;
    return dpt_fail(err,
                    "%s: %ux%ux%u (%s), but %s is %ux%ux%u (%s); all images of a dataset must "
                    "have one size and channel count",
                    path, got.channels, got.height, got.width, kind_of(got.channels), first,
                    want->channels, want->height, want->width, kind_of(want->channels));
}

/* Decodes every listed image into ds (allocated here); reports the failure of the first image
   in sample order, whichever thread met it and when. */
static int load_images(const png_tree *t, int threads, dpt_dataset *ds, dpt_err *err) {
    const char *first = t->split[TRAIN].paths[0];
    dpt_png_info want;
    if (dpt_png_read(first, &want, NULL, 0, err)) return -1;
    dpt_images *images[2] = {&ds->train, &ds->test};
    for (int s = 0; s < 2; s++) {
        if (dpt_images_alloc(images[s], (uint32_t)t->split[s].count, want.channels, want.height,
                             want.width, t->dirs[s], err))
            return -1;
        memcpy(images[s]->labels, t->split[s].labels, t->split[s].count * sizeof(int32_t));
    }
    const size_t bytes = (size_t)want.channels * want.height * want.width;
    const size_t ntrain = t->split[TRAIN].count, total = ntrain + t->split[TEST].count;
    size_t bad = total; /* the first failed sample so far */
    dpt_err bad_err = {{0}};
#pragma omp parallel for schedule(dynamic, 64) num_threads(threads > 0 ? threads : 1)
    for (size_t i = 0; i < total; i++) {
        size_t known;
#pragma omp atomic read
        known = bad;
        if (i > known) continue; /* a failure comes first anyway */
        const int s = i >= ntrain ? TEST : TRAIN;
        const size_t j = s == TEST ? i - ntrain : i;
        dpt_err e;
        if (decode_one(t->split[s].paths[j], first, &want, images[s]->pixels + j * bytes, bytes,
                       &e) == 0)
            continue;
#pragma omp critical(dpt_png_first_failure)
        if (i < bad) {
            bad_err = e;
#pragma omp atomic write
            bad = i;
        }
    }
    return bad < total ? dpt_fail(err, "%s", bad_err.msg) : 0;
}

int dpt_dataset_read_png(const char *dir, int threads, dpt_dataset *ds, dpt_err *err) {
    memset(ds, 0, sizeof *ds);
    png_tree t = {0};
    int rc = list_tree(dir, &t, err);
    if (rc == 0) rc = load_images(&t, threads, ds, err);
    if (rc == 0) {
        ds->classes = (int)t.classes.count;
        ds->class_names = t.classes.items;
        t.classes = (strings){0};
    }
    strings_free(&t.classes);
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
