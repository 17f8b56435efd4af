/* PNG segmentation datasets: DIR/train/images/NAME.png, each with its mask DIR/train/masks/NAME.png
   (the same file name), the same under test/ (or Train/ and Test/), and optionally
   DIR/classes.txt, the class names one a line. A mask holds one class index per pixel (mask
   PNGs: png_image.h). The samples are each split's images in name order (bytes). The files are
   listed and paired first; then each sample's image and mask are decoded in parallel, straight
   into their slots. */
#include "dptrain/dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "png_folder.h"

enum { TRAIN, TEST };

static const char layout[] = "PNG segmentation folders hold train/images/, train/masks/, "
                             "test/images/ and test/masks/ with .png files of the same names";

typedef struct seg_split {
    char *dir, *images, *masks; /* DIR/train as spelled on disk, and its two subfolders */
    dpt_strings names;          /* the file names in sample order */
} seg_split;

typedef struct seg_set {
    seg_split split[2];
    char *names_file;  /* DIR/classes.txt when it exists */
    char *first;       /* the first training image, whose size every image and mask has */
    dpt_png_info want; /* its size */
    int classes;       /* the names' count, when there are names */
    dpt_images *images[2];
} seg_set;

static void split_free(seg_split *s) {
    free(s->dir);
    free(s->images);
    free(s->masks);
    dpt_strings_free(&s->names);
}

/* split_dir/name, which must be a folder. */
static int subfolder(const char *split_dir, const char *name, char **path, dpt_err *err) {
    struct stat st;
    if (!(*path = dpt_path_join(split_dir, name))) return dpt_png_folder_oom(err);
    if (stat(*path, &st) != 0)
        return errno == ENOENT ? dpt_fail(err, "%s: no %s/ folder (%s)", split_dir, name, layout)
                               : dpt_fail(err, "%s: %s", *path, strerror(errno));
    return S_ISDIR(st.st_mode) ? 0 : dpt_fail(err, "%s: not a folder", *path);
}

/* The first name of one sorted list that the other lacks, as an image without a mask or a
   mask without an image. */
static int pair_names(const seg_split *s, const dpt_strings *masks, dpt_err *err) {
    const dpt_strings *images = &s->names;
    for (size_t i = 0, j = 0; i < images->count || j < masks->count;) {
        const int c = i == images->count  ? 1
                      : j == masks->count ? -1
                                          : strcmp(images->items[i], masks->items[j]);
        if (c < 0)
            return dpt_fail(err, "%s/%s: no mask (no %s/%s)", s->images, images->items[i], s->masks,
                            images->items[i]);
        if (c > 0)
            return dpt_fail(err, "%s/%s: no image (no %s/%s)", s->masks, masks->items[j], s->images,
                            masks->items[j]);
        i++, j++;
    }
    return 0;
}

/* Finds the split folder and its images/ and masks/, and lists their paired files. */
static int list_split(const char *dir, const char *lower, const char *upper, seg_split *s,
                      dpt_err *err) {
    const char *spelled;
    if (dpt_find_split(dir, lower, upper, layout, &s->dir, &spelled, err) ||
        subfolder(s->dir, "images", &s->images, err) || subfolder(s->dir, "masks", &s->masks, err))
        return -1;
    dpt_strings masks = {0};
    int rc =
        dpt_list_folder(s->images, 0, &s->names, err) || dpt_list_folder(s->masks, 0, &masks, err)
            ? -1
            : 0;
    if (rc == 0 && s->names.count == 0)
        rc = dpt_fail(err, "%s: no .png images (%s)", s->images, layout);
    else if (rc == 0 && s->names.count > UINT32_MAX)
        rc = dpt_fail(err, "%s: more than %u images", s->images, UINT32_MAX);
    if (rc == 0) {
        qsort(s->names.items, s->names.count, sizeof *s->names.items, dpt_cmp_names);
        qsort(masks.items, masks.count, sizeof *masks.items, dpt_cmp_names);
        rc = pair_names(s, &masks, err);
    }
    dpt_strings_free(&masks);
    return rc;
}

/* DIR/classes.txt, when there is one, into ds's names. */
static int read_names(const char *dir, seg_set *d, dpt_dataset *ds, dpt_err *err) {
    char *file = dpt_path_join(dir, "classes.txt");
    struct stat st;
    if (!file) return dpt_png_folder_oom(err);
    if (stat(file, &st) != 0) {
        const int absent = errno == ENOENT;
        const int rc = absent ? 0 : dpt_fail(err, "%s: %s", file, strerror(errno));
        free(file);
        return rc;
    }
    d->names_file = file;
    if (!S_ISREG(st.st_mode)) return dpt_fail(err, "%s: not a regular file", file);
    if (dpt_class_names_read(file, &ds->class_names, &ds->classes, err) ||
        dpt_class_names_check(ds->class_names, ds->classes, file, err))
        return -1;
    if (ds->classes > DPT_SEGMENT_MAX_CLASSES)
        return dpt_fail(err, "%s: %d names; masks hold 8-bit class indices, so at most %d classes",
                        file, ds->classes, DPT_SEGMENT_MAX_CLASSES);
    d->classes = ds->classes;
    return 0;
}

/* Decodes the mask of image into slot: of the image's size and, when the classes are named,
   with every value a class. */
static int read_mask(const seg_set *d, const char *mask, const char *image, uint8_t *slot,
                     dpt_err *err) {
    const dpt_png_info want = {.channels = 1, .height = d->want.height, .width = d->want.width};
    dpt_png_info got;
    const int rc = dpt_png_read_sized(mask, 1, &want, slot, &got, err);
    if (rc == 1)
        return dpt_fail(err,
                        "%s: %ux%u, but its image %s is %ux%u (height x width); a mask has its "
                        "image's size",
                        mask, got.height, got.width, image, want.height, want.width);
    if (rc != 0 || !d->names_file) return rc;
    const size_t plane = (size_t)want.height * want.width,
                 k = dpt_masks_first_outside(slot, plane, d->classes);
    if (k == plane) return 0;
    return dpt_fail(err, "%s: value %d at row %zu, column %zu, outside the %d classes of %s", mask,
                    slot[k], k / want.width, k % want.width, d->classes, d->names_file);
}

/* Decodes sample i of the training then test samples: its image, then its mask. */
static int decode_sample(void *ctx, size_t i, dpt_err *err) {
    const seg_set *d = ctx;
    const size_t ntrain = d->split[TRAIN].names.count;
    const int s = i >= ntrain ? TEST : TRAIN;
    const size_t j = s == TEST ? i - ntrain : i;
    const seg_split *split = &d->split[s];
    const size_t plane = (size_t)d->want.height * d->want.width;
    char *image = dpt_path_join(split->images, split->names.items[j]),
         *mask = dpt_path_join(split->masks, split->names.items[j]);
    int rc = image && mask ? 0 : dpt_png_folder_oom(err);
    if (rc == 0)
        rc = dpt_png_read_like(image, d->first, &d->want,
                               d->images[s]->pixels + j * d->want.channels * plane, err);
    if (rc == 0) rc = read_mask(d, mask, image, d->images[s]->masks + j * plane, err);
    free(image);
    free(mask);
    return rc;
}

static int load(seg_set *d, int threads, dpt_dataset *ds, dpt_err *err) {
    d->first = dpt_path_join(d->split[TRAIN].images, d->split[TRAIN].names.items[0]);
    if (!d->first) return dpt_png_folder_oom(err);
    if (dpt_png_read(d->first, &d->want, NULL, 0, err)) return -1;
    d->images[TRAIN] = &ds->train, d->images[TEST] = &ds->test;
    for (int s = 0; s < 2; s++)
        if (dpt_images_alloc(d->images[s], DPT_TASK_SEGMENT, (uint32_t)d->split[s].names.count,
                             d->want.channels, d->want.height, d->want.width, d->split[s].dir, err))
            return -1;
    return dpt_run_jobs(d->split[TRAIN].names.count + d->split[TEST].names.count, threads,
                        decode_sample, d, err);
}

int dpt_dataset_read_png_seg(const char *dir, int threads, dpt_dataset *ds, dpt_err *err) {
    memset(ds, 0, sizeof *ds);
    seg_set d = {0};
    int rc = list_split(dir, "train", "Train", &d.split[TRAIN], err) ||
                     list_split(dir, "test", "Test", &d.split[TEST], err) ||
                     read_names(dir, &d, ds, err) || load(&d, threads, ds, err)
                 ? -1
                 : 0;
    if (rc == 0 && !ds->class_names) ds->classes = dpt_dataset_mask_classes(ds);
    for (int s = 0; s < 2; s++) split_free(&d.split[s]);
    free(d.names_file);
    free(d.first);
    if (rc != 0) dpt_dataset_free(ds);
    return rc;
}
