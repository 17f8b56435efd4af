#define _DEFAULT_SOURCE
/* Segmentation datasets. PNG segmentation folders written here with libpng: layout and sample
   order, classes from classes.txt or from the largest mask value, every defect with its
   one-line message, the same result on 1 and 2 threads. In memory: the checks every dataset with
   masks passes, its digest, class counts and weights over mask pixels, the masks dpt_data_gather
   hands the trainer, and class names files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dptrain/data.h"
#include "dptrain/dataset.h"
#include "png_writer.h"
#include "tmpdir.h"

/* Writes tree/rel as a c x h x w image (1: gray, 3: RGB) of the given samples. */
static void put_png(const char *tree, const char *rel, uint32_t c, uint32_t h, uint32_t w,
                    const uint8_t *samples) {
    char name[512];
    snprintf(name, sizeof name, "%s/%s", tree, rel);
    make_parents(path_of(name));
    write_planar(path_of(name), c, h, w, samples);
}

/* Sample `name` of split: a c x h x w image of one value, and a mask whose pixel j is
   (first + j) % mod. */
static void put_sample(const char *tree, const char *split, const char *name, uint32_t c,
                       uint32_t h, uint32_t w, uint8_t value, uint8_t first, uint8_t mod) {
    uint8_t image[3 * 16 * 16], mask[16 * 16];
    assert_true((size_t)c * h * w <= sizeof image);
    memset(image, value, (size_t)c * h * w);
    for (uint32_t j = 0; j < h * w; j++) mask[j] = (uint8_t)((first + j) % mod);
    char rel[256];
    snprintf(rel, sizeof rel, "%s/images/%s", split, name);
    put_png(tree, rel, c, h, w, image);
    snprintf(rel, sizeof rel, "%s/masks/%s", split, name);
    put_png(tree, rel, 1, h, w, mask);
}

static void put_text(const char *tree, const char *rel, const char *text) {
    char name[512];
    snprintf(name, sizeof name, "%s/%s", tree, rel);
    make_parents(path_of(name));
    put_bytes(path_of(name), (const uint8_t *)text, (long)strlen(text));
}

/* A good small set: 3 training and 2 test samples of c x 3 x 4, mask values 0 to 3. */
static void put_set(const char *tree, const char *train, const char *test, uint32_t c) {
    put_sample(tree, train, "a.png", c, 3, 4, 10, 0, 4);
    put_sample(tree, train, "b.png", c, 3, 4, 20, 1, 4);
    put_sample(tree, train, "c.png", c, 3, 4, 30, 2, 4);
    put_sample(tree, test, "x.png", c, 3, 4, 40, 3, 4);
    put_sample(tree, test, "y.png", c, 3, 4, 50, 0, 2);
}

static void read_ok(const char *tree, int threads, dpt_dataset *ds) {
    dpt_err err = {{0}};
    if (dpt_dataset_read(path_of(tree), threads, ds, &err) != 0) fail_msg("%s", err.msg);
}

static void expect_error(const char *tree, const char *problem) {
    dpt_dataset ds;
    dpt_err err = {{0}};
    assert_int_equal(dpt_dataset_read(path_of(tree), 2, &ds, &err), -1);
    assert_null(ds.train.pixels);
    assert_null(ds.train.masks);
    assert_null(ds.class_names);
    expect_message(err.msg, NULL, problem);
}

/* ---- PNG segmentation folders ---- */

static void test_layout(void **state) {
    (void)state;
    put_sample("seg", "train", "b.png", 1, 3, 4, 20, 1, 6);
    put_sample("seg", "train", "a.png", 1, 3, 4, 10, 0, 6);
    put_sample("seg", "train", "c.png", 1, 3, 4, 30, 5, 6);
    put_sample("seg", "test", "y.png", 1, 3, 4, 50, 2, 3);
    put_sample("seg", "test", "x.png", 1, 3, 4, 40, 3, 4);
    put_text("seg", "train/images/.hidden.png", "junk"); /* skipped, as are non-.png files */
    put_text("seg", "train/masks/.hidden.png", "junk");
    put_text("seg", "train/masks/notes.txt", "not a mask");
    put_text("seg", "test/README", "not an image");
    dpt_err err;
    assert_int_equal(dpt_dataset_format_of(path_of("seg"), &err), DPT_DATASET_PNG_SEG);
    assert_string_equal(dpt_dataset_format_name(DPT_DATASET_PNG_SEG), "PNG segmentation folders");
    dpt_dataset ds;
    read_ok("seg", 1, &ds);
    assert_int_equal(dpt_dataset_task(&ds), DPT_TASK_SEGMENT);
    assert_null(ds.train.labels);
    assert_null(ds.test.labels);
    assert_null(ds.class_names);
    assert_int_equal(ds.classes, 6); /* 1 + the largest mask value */
    assert_int_equal(ds.train.count, 3);
    assert_int_equal(ds.test.count, 2);
    assert_int_equal(ds.train.channels, 1);
    assert_int_equal(ds.train.height, 3);
    assert_int_equal(ds.train.width, 4);
    assert_int_equal(dpt_images_targets(&ds.train), 12);
    const uint8_t train_values[] = {10, 20, 30}, train_first[] = {0, 1, 5};
    for (int i = 0; i < 3; i++) /* a, b, c: by name */
        for (int j = 0; j < 12; j++) {
            assert_int_equal(ds.train.pixels[12 * i + j], train_values[i]);
            assert_int_equal(ds.train.masks[12 * i + j], (train_first[i] + j) % 6);
        }
    assert_int_equal(ds.test.pixels[0], 40);
    assert_int_equal(ds.test.masks[1], 0); /* x: (3 + 1) % 4 */
    assert_int_equal(ds.test.pixels[12], 50);
    assert_int_equal(ds.test.masks[12], 2); /* y: (2 + 0) % 3 */
    dpt_dataset_free(&ds);

    /* Train/ and Test/, RGB images with their gray masks, and classes.txt's names (CRLF) */
    put_set("upper", "Train", "Test", 3);
    put_text("upper", "classes.txt", "sky\r\nroad\r\ncar\r\ntree\r\nsea");
    read_ok("upper", 2, &ds);
    assert_int_equal(ds.classes, 5);
    const char *const names[] = {"sky", "road", "car", "tree", "sea"};
    for (int c = 0; c < 5; c++) assert_string_equal(ds.class_names[c], names[c]);
    assert_int_equal(ds.train.channels, 3);
    assert_int_equal(ds.train.pixels[3 * 12 * 2], 30); /* c.png's first sample */
    assert_int_equal(ds.train.masks[12 * 2], 2);
    dpt_dataset_free(&ds);

    /* a train/ without masks/ is a class folder tree (classes "images" only) */
    put_png("tree", "train/images/a.png", 1, 1, 1, (uint8_t[1]){0});
    assert_int_equal(dpt_dataset_format_of(path_of("tree"), &err), DPT_DATASET_PNG);
}

static void test_defects(void **state) {
    (void)state;
    char want[2048];
    put_set("no-mask", "train", "test", 1);
    put_sample("no-mask", "test", "w.png", 1, 3, 4, 1, 0, 2);
    remove(path_of("no-mask/test/masks/w.png"));
    snprintf(want, sizeof want, "%s: no mask (no %s)", path_of("no-mask/test/images/w.png"),
             path_of("no-mask/test/masks/w.png"));
    expect_error("no-mask", want);

    put_set("no-image", "train", "test", 1);
    put_sample("no-image", "train", "b2.png", 1, 3, 4, 1, 0, 2);
    remove(path_of("no-image/train/images/b2.png"));
    snprintf(want, sizeof want, "%s: no image (no %s)", path_of("no-image/train/masks/b2.png"),
             path_of("no-image/train/images/b2.png"));
    expect_error("no-image", want);

    put_set("large-mask", "train", "test", 1);
    put_png("large-mask", "train/masks/b.png", 1, 5, 6, (uint8_t[30]){0});
    snprintf(want, sizeof want,
             "%s: 5x6, but its image %s is 3x4 (height x width); a mask has its image's size",
             path_of("large-mask/train/masks/b.png"), path_of("large-mask/train/images/b.png"));
    expect_error("large-mask", want);
    put_set("small-mask", "train", "test", 3);
    put_png("small-mask", "test/masks/y.png", 1, 2, 2, (uint8_t[4]){0});
    expect_error("small-mask", "small-mask/test/masks/y.png: 2x2, but its image");

    put_set("rgb-mask", "train", "test", 1);
    put_png("rgb-mask", "train/masks/c.png", 3, 3, 4, (uint8_t[36]){0});
    expect_error("rgb-mask", "rgb-mask/train/masks/c.png: an RGB image (3 channels); a mask");

    put_set("value", "train", "test", 1);
    put_text("value", "classes.txt", "a\nb\nc\n"); /* 3 classes; the masks hold 0 to 3 */
    snprintf(want, sizeof want, "%s: value 3 at row 0, column 3, outside the 3 classes of %s",
             path_of("value/train/masks/a.png"), path_of("value/classes.txt"));
    expect_error("value", want);

    put_set("empty", "train", "test", 1);
    for (const char *const *f = (const char *const[]){"x.png", "y.png", NULL}; *f; f++) {
        char rel[64];
        snprintf(rel, sizeof rel, "empty/test/images/%s", *f);
        remove(path_of(rel));
        snprintf(rel, sizeof rel, "empty/test/masks/%s", *f);
        remove(path_of(rel));
    }
    expect_error("empty", "empty/test/images: no .png images");

    put_set("no-masks", "train", "test", 1);
    snprintf(want, sizeof want, "rm -r '%s'", path_of("no-masks/test/masks"));
    assert_int_equal(system(want), 0);
    expect_error("no-masks", "no-masks/test: no masks/ folder (PNG segmentation folders hold");

    put_sample("no-test", "train", "a.png", 1, 3, 4, 10, 0, 4);
    expect_error("no-test", "no-test: no test/ folder");

    put_set("both", "train", "test", 1);
    put_set("both", "Train", "test", 1);
    expect_error("both", "both: holds both train/ and Train/; keep one");

    put_set("sizes", "train", "test", 1);
    put_png("sizes", "test/images/y.png", 1, 4, 3, (uint8_t[12]){0});
    expect_error("sizes", "sizes/test/images/y.png: 1x4x3 (gray), but");

    put_set("many-names", "train", "test", 1);
    char *names = malloc(300 * 8);
    assert_non_null(names);
    size_t used = 0;
    for (int c = 0; c < 300; c++) used += (size_t)sprintf(names + used, "c%d\n", c);
    put_text("many-names", "classes.txt", names);
    free(names);
    expect_error("many-names", "many-names/classes.txt: 300 names; masks hold 8-bit class "
                               "indices, so at most 256 classes");

    put_set("twins", "train", "test", 1);
    put_text("twins", "classes.txt", "a\nb\na\nc\n");
    expect_error("twins", "twins/classes.txt: classes 0 and 2 are both named 'a'");
    put_set("blank", "train", "test", 1);
    put_text("blank", "classes.txt", "a\nb\n\nc\n");
    expect_error("blank", "blank/classes.txt:3: blank line");
    put_set("folder-names", "train", "test", 1);
    mkdir(path_of("folder-names/classes.txt"), 0700);
    expect_error("folder-names", "folder-names/classes.txt: not a regular file");

    put_set("fifo", "train", "test", 1);
    remove(path_of("fifo/test/masks/x.png"));
    put_fifo("fifo/test/masks/x.png");
    alarm(10);
    expect_error("fifo", "fifo/test/masks/x.png: not a regular file");
    alarm(0);
}

/* Many samples: two threads read exactly what one reads, and the failure reported is always
   the first in sample order, image before mask. */
static void test_threads(void **state) {
    (void)state;
    char name[32];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "%03d.png", i);
        put_sample("many", i < 250 ? "train" : "test", name, 1, 2, 3, (uint8_t)i, (uint8_t)i, 7);
    }
    dpt_dataset one, two;
    read_ok("many", 1, &one);
    read_ok("many", 2, &two);
    assert_int_equal(one.train.count, 250);
    assert_int_equal(two.test.count, 50);
    assert_memory_equal(one.train.pixels, two.train.pixels, 250 * 6);
    assert_memory_equal(one.train.masks, two.train.masks, 250 * 6);
    assert_memory_equal(one.test.masks, two.test.masks, 50 * 6);
    char a[65], b[65];
    dpt_dataset_digest(&one, a);
    dpt_dataset_digest(&two, b);
    assert_string_equal(a, b);
    for (int i = 0; i < 250; i++) assert_int_equal(one.train.masks[6 * i + 1], (i + 1) % 7);
    dpt_dataset_free(&one);
    dpt_dataset_free(&two);

    put_text("many", "train/masks/240.png", "not a PNG");
    put_text("many", "train/images/120.png", "not a PNG");
    put_text("many", "train/masks/120.png", "not a PNG");
    put_text("many", "test/images/260.png", "not a PNG");
    for (int run = 0; run < 5; run++) expect_error("many", "many/train/images/120.png: not a PNG");
}

/* ---- in memory ---- */

/* train: 3 samples, test: 2, of 1 x 3 x 4, masks (first + j) % 4, 4 classes. */
static void make_segmentation(dpt_dataset *ds) {
    memset(ds, 0, sizeof *ds);
    dpt_err err;
    assert_int_equal(dpt_images_alloc(&ds->train, DPT_TASK_SEGMENT, 3, 1, 3, 4, "t", &err), 0);
    assert_int_equal(dpt_images_alloc(&ds->test, DPT_TASK_SEGMENT, 2, 1, 3, 4, "t", &err), 0);
    assert_null(ds->train.labels);
    for (int i = 0; i < 36; i++) ds->train.pixels[i] = (uint8_t)(7 * i), ds->train.masks[i] = i % 4;
    for (int i = 0; i < 24; i++)
        ds->test.pixels[i] = (uint8_t)(5 * i), ds->test.masks[i] = 3 - i % 4;
    ds->classes = 4;
}

static void expect_check_error(const dpt_dataset *ds, const char *problem) {
    dpt_err err = {{0}};
    assert_int_equal(dpt_dataset_check(ds, "mem", &err), -1);
    if (!strstr(err.msg, problem)) fail_msg("message '%s' should say '%s'", err.msg, problem);
}

static void test_check_and_digest(void **state) {
    (void)state;
    dpt_dataset ds;
    dpt_err err;
    make_segmentation(&ds);
    assert_int_equal(dpt_dataset_check(&ds, "mem", &err), 0);
    char before[65], after[65];
    dpt_dataset_digest(&ds, before);

    ds.test.masks[12 + 4 * 2 + 3] = 4; /* test sample 1, row 2, column 3 */
    expect_check_error(&ds, "mem: test mask 1 has value 4 at row 2, column 3, outside the 4 "
                            "classes");
    dpt_dataset_digest(&ds, after);
    assert_string_not_equal(before, after);
    ds.test.masks[12 + 4 * 2 + 3] = 0;
    ds.classes = 257;
    expect_check_error(&ds, "mem: 257 classes; a segmentation dataset takes 1 to 256");
    ds.classes = 4;
    dpt_dataset_digest(&ds, after);
    assert_string_equal(before, after);

    /* a classification test split beside a segmentation training split */
    dpt_images seg_test = ds.test;
    assert_int_equal(dpt_images_alloc(&ds.test, DPT_TASK_CLASSIFY, 2, 1, 3, 4, "t", &err), 0);
    memcpy(ds.test.pixels, seg_test.pixels, 24);
    ds.test.labels[0] = ds.test.labels[1] = 0;
    expect_check_error(&ds, "mem: both splits must have labels (classification) or both masks");
    dpt_images labelled = ds.test;
    ds.test = seg_test;
    free(labelled.pixels), free(labelled.labels);

    /* the same pixels with labels instead of masks are other data */
    dpt_dataset cls;
    memset(&cls, 0, sizeof cls);
    assert_int_equal(dpt_images_alloc(&cls.train, DPT_TASK_CLASSIFY, 3, 1, 3, 4, "t", &err), 0);
    assert_int_equal(dpt_images_alloc(&cls.test, DPT_TASK_CLASSIFY, 2, 1, 3, 4, "t", &err), 0);
    memcpy(cls.train.pixels, ds.train.pixels, 36);
    memcpy(cls.test.pixels, ds.test.pixels, 24);
    memset(cls.train.labels, 0, 3 * sizeof(int32_t));
    memset(cls.test.labels, 0, 2 * sizeof(int32_t));
    cls.classes = 4;
    assert_int_equal(dpt_dataset_task(&cls), DPT_TASK_CLASSIFY);
    assert_null(cls.train.masks);
    dpt_dataset_digest(&cls, after);
    assert_string_not_equal(before, after);
    dpt_dataset_free(&cls);
    dpt_dataset_free(&ds);

    /* the split size limit counts the masks: 2^32 bytes of pixels and masks */
    dpt_images big;
    assert_int_equal(
        dpt_images_alloc(&big, DPT_TASK_SEGMENT, (1u << 16) + 1, 1, 256, 128, "big", &err), -1);
    assert_non_null(strstr(err.msg, "big: 65537 images of 1x256x128 with masks are 4.3 GB"));
}

static void test_masks_helpers(void **state) {
    (void)state;
    const uint8_t m[] = {0, 3, 1, 7, 2, 9};
    assert_int_equal(dpt_masks_largest(m, 6), 9);
    assert_int_equal(dpt_masks_largest(m, 0), 0);
    assert_int_equal(dpt_masks_first_outside(m, 6, 10), 6);
    assert_int_equal(dpt_masks_first_outside(m, 6, 8), 5);
    assert_int_equal(dpt_masks_first_outside(m, 6, 3), 1);
    assert_int_equal(dpt_masks_first_outside(m, 0, 1), 0);
    const uint8_t top[] = {255, 0};
    assert_int_equal(dpt_masks_first_outside(top, 2, 256), 2);
    assert_int_equal(dpt_masks_first_outside(top, 2, 255), 0);
}

static void test_counts_weights_gather(void **state) {
    (void)state;
    dpt_dataset ds;
    make_segmentation(&ds);
    int64_t counts[4] = {0};
    dpt_images_count_classes(&ds.train, NULL, 3, counts); /* 36 pixels of i % 4 */
    for (int c = 0; c < 4; c++) assert_int_equal(counts[c], 9);
    memset(counts, 0, sizeof counts);
    dpt_images_count_classes(&ds.test, (const uint32_t[]){1}, 1, counts);
    for (int c = 0; c < 4; c++) assert_int_equal(counts[c], 3);
    const float weights[4] = {0.5f, 1, 2, 4};
    assert_true(dpt_images_weight(&ds.train, 2, weights) == 3 * (0.5 + 1 + 2 + 4));

    dpt_data_options opt = {
        .path = "mem", .val = 1, .split_seed = 3, .norm = {.kind = DPT_NORM_MNIST}};
    dpt_data data;
    dpt_err err;
    if (dpt_data_prepare(&ds, &opt, &data, &err)) fail_msg("%s", err.msg);
    float x[2 * 12];
    int y[2 * 12];
    dpt_data_gather(&data, &data.train, NULL, 0, 2, x, y);
    for (int i = 0; i < 2; i++) {
        const uint32_t sample = data.train.idx[i];
        for (int j = 0; j < 12; j++) {
            assert_int_equal(y[12 * i + j], data.set.train.masks[12 * sample + j]);
            const float want =
                (data.set.train.pixels[12 * sample + j] / 255.0f - 0.1307f) / 0.3081f;
            assert_true(x[12 * i + j] > want - 1e-5f && x[12 * i + j] < want + 1e-5f);
        }
    }
    dpt_data_gather(&data, &data.test, (const uint32_t[]){1}, 0, 1, x, y);
    for (int j = 0; j < 12; j++) assert_int_equal(y[j], 3 - (12 + j) % 4);
    dpt_data_free(&data);

    /* a classification set: one target per sample */
    dpt_images cls;
    assert_int_equal(dpt_images_alloc(&cls, DPT_TASK_CLASSIFY, 3, 1, 3, 4, "t", &err), 0);
    cls.labels[0] = 2, cls.labels[1] = 0, cls.labels[2] = 2;
    assert_int_equal(dpt_images_targets(&cls), 1);
    memset(counts, 0, sizeof counts);
    dpt_images_count_classes(&cls, (const uint32_t[]){2, 0}, 2, counts);
    assert_int_equal(counts[2], 2);
    assert_int_equal(counts[0], 0);
    assert_true(dpt_images_weight(&cls, 1, weights) == 0.5);
    free(cls.pixels), free(cls.labels);
}

static void test_class_names_file(void **state) {
    (void)state;
    char **names;
    int n;
    dpt_err err = {{0}};
    put_text("names", "crlf.txt", "one\r\ntwo words\r\nthree");
    assert_int_equal(dpt_class_names_read(path_of("names/crlf.txt"), &names, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(names[1], "two words");
    assert_string_equal(names[2], "three");
    dpt_class_names_free(names, n);
    put_text("names", "blank.txt", "one\n\n");
    assert_int_equal(dpt_class_names_read(path_of("names/blank.txt"), &names, &n, &err), -1);
    assert_non_null(strstr(err.msg, "names/blank.txt:2: blank line"));
    assert_null(names);
    put_text("names", "empty.txt", "");
    assert_int_equal(dpt_class_names_read(path_of("names/empty.txt"), &names, &n, &err), -1);
    assert_non_null(strstr(err.msg, "names/empty.txt: empty"));
    assert_int_equal(dpt_class_names_read(path_of("names/none.txt"), &names, &n, &err), -1);
    assert_non_null(strstr(err.msg, "names/none.txt: No such file"));
}

static int make_dir(void **state) {
    (void)state;
    return tmpdir_make("seg");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),           cmocka_unit_test(test_defects),
        cmocka_unit_test(test_threads),          cmocka_unit_test(test_check_and_digest),
        cmocka_unit_test(test_masks_helpers),    cmocka_unit_test(test_counts_weights_gather),
        cmocka_unit_test(test_class_names_file),
    };
    return cmocka_run_group_tests_name("dataset_seg", tests, make_dir, tmpdir_remove);
}
