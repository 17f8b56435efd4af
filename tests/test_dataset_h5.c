#define _DEFAULT_SOURCE
/* The HDF5 dataset reader and writer: round trips with labels and with masks, and every hostile
   file (made here with the HDF5 C API), each refused with its one-line message, no HDF5 id left
   open and no hang. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <hdf5.h>

#include "dptrain/dataset.h"
#include "tmpdir.h"

/* Nothing of HDF5 stays open after a read or a write, whatever happened. */
static void assert_all_closed(void) {
    assert_int_equal(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
}

static void fill_images(dpt_images *im, uint32_t count, uint32_t channels, uint32_t seed) {
    dpt_err err;
    assert_int_equal(dpt_images_alloc(im, DPT_TASK_CLASSIFY, count, channels, 4, 5, "test", &err),
                     0);
    const size_t n = (size_t)count * channels * 4 * 5;
    for (size_t i = 0; i < n; i++) im->pixels[i] = (uint8_t)(i * 7 + seed);
    for (uint32_t i = 0; i < count; i++) im->labels[i] = (int32_t)((i + seed) % 3);
}

/* 6 training and 3 test images of channels x 4 x 5 in 3 classes, named when `named`. */
static void make_dataset(dpt_dataset *ds, uint32_t channels, int named) {
    memset(ds, 0, sizeof *ds);
    fill_images(&ds->train, 6, channels, 1);
    fill_images(&ds->test, 3, channels, 2);
    ds->classes = 3;
    if (named) {
        static const char *const names[] = {"zero", "T-shirt/top", "Ankle boot"};
        ds->class_names = calloc(3, sizeof *ds->class_names);
        for (int c = 0; c < 3; c++) ds->class_names[c] = strdup(names[c]);
    }
}

static void write_valid(const char *name, uint32_t channels, int named) {
    dpt_dataset ds;
    dpt_err err;
    make_dataset(&ds, channels, named);
    if (dpt_dataset_write_h5(path_of(name), &ds, &err)) fail_msg("%s", err.msg);
    dpt_dataset_free(&ds);
    assert_all_closed();
}

static void assert_images_equal(const dpt_images *a, const dpt_images *b) {
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->channels, b->channels);
    assert_int_equal(a->height, b->height);
    assert_int_equal(a->width, b->width);
    assert_memory_equal(a->pixels, b->pixels, (size_t)a->count * a->channels * 4 * 5);
    assert_memory_equal(a->labels, b->labels, sizeof(int32_t) * a->count);
}

static int dataset_rank(const char *file, const char *name) {
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT), d = H5Dopen2(f, name, H5P_DEFAULT),
          s = H5Dget_space(d);
    const int rank = H5Sget_simple_extent_ndims(s);
    H5Sclose(s), H5Dclose(d), H5Fclose(f);
    return rank;
}

static void test_round_trip(void **state) {
    (void)state;
    for (uint32_t channels = 1; channels <= 3; channels += 2)
        for (int named = 0; named < 2; named++) {
            dpt_dataset ds, back;
            dpt_err err;
            make_dataset(&ds, channels, named);
            if (dpt_dataset_write_h5(path_of("round.h5"), &ds, &err)) fail_msg("%s", err.msg);
            assert_all_closed();
            if (dpt_dataset_read_h5(path_of("round.h5"), &back, &err)) fail_msg("%s", err.msg);
            assert_all_closed();
            assert_images_equal(&ds.train, &back.train);
            assert_images_equal(&ds.test, &back.test);
            assert_int_equal(back.classes, 3);
            assert_int_equal(back.class_names != NULL, named);
            for (int c = 0; named && c < 3; c++)
                assert_string_equal(back.class_names[c], ds.class_names[c]);
            char a[65], b[65];
            dpt_dataset_digest(&ds, a);
            dpt_dataset_digest(&back, b);
            assert_string_equal(a, b);
            assert_int_equal(dataset_rank(path_of("round.h5"), "/train/images"),
                             channels == 1 ? 3 : 4);
            char tmp[300];
            snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path_of("round.h5"), (long)getpid());
            assert_int_equal(access(tmp, F_OK), -1);
            dpt_dataset_free(&ds);
            dpt_dataset_free(&back);
        }
}

/* A write that fails midway (the file size limit stands in for a full disk) leaves the
   previous file as it was and no temporary file. */
static void test_failed_write_leaves_no_file(void **state) {
    (void)state;
    write_valid("kept.h5", 1, 0);
    dpt_dataset ds;
    dpt_err err;
    memset(&ds, 0, sizeof ds);
    assert_int_equal(dpt_images_alloc(&ds.train, DPT_TASK_CLASSIFY, 4096, 1, 16, 16, "test", &err),
                     0);
    assert_int_equal(dpt_images_alloc(&ds.test, DPT_TASK_CLASSIFY, 1, 1, 16, 16, "test", &err), 0);
    srand(1);
    for (size_t i = 0; i < 4096 * 256; i++) ds.train.pixels[i] = (uint8_t)rand();
    memset(ds.test.pixels, 0, 256);
    memset(ds.train.labels, 0, 4 * 4096);
    ds.test.labels[0] = 0;
    ds.classes = 1;
    struct rlimit old, small = {.rlim_cur = 64 << 10};
    getrlimit(RLIMIT_FSIZE, &old);
    small.rlim_max = old.rlim_max;
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &small);
    const int rc = dpt_dataset_write_h5(path_of("kept.h5"), &ds, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    assert_int_equal(rc, -1);
    assert_all_closed();
    if (!strstr(err.msg, path_of("kept.h5")) || !strstr(err.msg, "cannot write (File too large)"))
        fail_msg("message '%s' should say the file cannot be written and why", err.msg);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path_of("kept.h5"), (long)getpid());
    assert_int_equal(access(tmp, F_OK), -1);
    dpt_dataset_free(&ds);
    assert_int_equal(dpt_dataset_read_h5(path_of("kept.h5"), &ds, &err), 0);
    assert_int_equal(ds.train.count, 6);
    dpt_dataset_free(&ds);
}

/* ---- hostile files: a valid file with one object replaced ---- */

/* Replaces (or adds) dataset `name` of `file` with one of `type`, `rank` dims and data (written
   as `type` itself; NULL writes nothing). */
static void replace(const char *file, const char *name, hid_t type, int rank, const hsize_t *dims,
                    const void *data) {
    hid_t f = H5Fopen(path_of(file), H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    if (H5Lexists(f, name, H5P_DEFAULT) > 0) H5Ldelete(f, name, H5P_DEFAULT);
    hid_t space = H5Screate_simple(rank, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE);
    hid_t d = H5Dcreate2(f, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    assert_true(d >= 0);
    if (data) assert_true(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(d), H5Pclose(dcpl), H5Sclose(space), H5Fclose(f);
}

static void remove_object(const char *file, const char *name) {
    hid_t f = H5Fopen(path_of(file), H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(H5Ldelete(f, name, H5P_DEFAULT) >= 0);
    H5Fclose(f);
}

static void expect_error(const char *file, const char *problem) {
    dpt_dataset ds;
    dpt_err err = {{0}};
    assert_int_equal(dpt_dataset_read_h5(path_of(file), &ds, &err), -1);
    assert_all_closed();
    assert_null(ds.train.pixels);
    assert_null(ds.test.labels);
    assert_null(ds.test.masks);
    assert_null(ds.class_names);
    expect_message(err.msg, path_of(file), problem);
}

static void test_wrong_rank(void **state) {
    (void)state;
    write_valid("rank.h5", 1, 0);
    const hsize_t dims[2] = {6, 20};
    uint8_t pixels[120] = {0};
    replace("rank.h5", "/train/images", H5T_NATIVE_UINT8, 2, dims, pixels);
    expect_error("rank.h5", "/train/images has rank 2; expected N x H x W or N x C x H x W");
}

static void test_float_images(void **state) {
    (void)state;
    write_valid("fimages.h5", 1, 0);
    const hsize_t dims[3] = {3, 4, 5};
    float pixels[60] = {0};
    replace("fimages.h5", "/test/images", H5T_NATIVE_FLOAT, 3, dims, pixels);
    expect_error("fimages.h5", "/test/images is float32; expected uint8");
}

static void test_wide_images(void **state) {
    (void)state;
    write_valid("wide.h5", 1, 0);
    const hsize_t dims[3] = {6, 4, 5};
    uint16_t pixels[120] = {0};
    replace("wide.h5", "/train/images", H5T_NATIVE_UINT16, 3, dims, pixels);
    expect_error("wide.h5", "/train/images is uint16; expected uint8");
}

static void test_float_labels(void **state) {
    (void)state;
    write_valid("flabels.h5", 1, 0);
    const hsize_t n = 6;
    const double labels[6] = {0, 1, 2, 0, 1, 2};
    replace("flabels.h5", "/train/labels", H5T_NATIVE_DOUBLE, 1, &n, labels);
    expect_error("flabels.h5", "/train/labels is float64; expected integers");
}

static void test_any_integer_labels(void **state) {
    (void)state;
    write_valid("u8labels.h5", 1, 0);
    const hsize_t n = 6;
    const uint8_t small[6] = {0, 1, 2, 3, 4, 0};
    replace("u8labels.h5", "/train/labels", H5T_STD_U8BE, 1, &n, small);
    dpt_dataset ds;
    dpt_err err;
    if (dpt_dataset_read_h5(path_of("u8labels.h5"), &ds, &err)) fail_msg("%s", err.msg);
    assert_all_closed();
    assert_int_equal(ds.classes, 5);
    assert_int_equal(ds.train.labels[4], 4);
    dpt_dataset_free(&ds);
    const int64_t huge[6] = {0, 1, 2, (int64_t)1 << 40, 1, 0};
    replace("u8labels.h5", "/train/labels", H5T_STD_I64LE, 1, &n, huge);
    expect_error("u8labels.h5", "/train/labels holds a value outside int32");
}

static void test_negative_label(void **state) {
    (void)state;
    write_valid("negative.h5", 1, 0);
    const hsize_t n = 3;
    const int32_t labels[3] = {0, 1, -1};
    replace("negative.h5", "/test/labels", H5T_NATIVE_INT32, 1, &n, labels);
    expect_error("negative.h5", "/test/labels[2] = -1, outside 0 to 65535");
}

static void test_label_beyond_classes(void **state) {
    (void)state;
    write_valid("beyond.h5", 1, 1);
    const hsize_t n = 6;
    const int32_t labels[6] = {0, 1, 2, 3, 1, 9};
    replace("beyond.h5", "/train/labels", H5T_NATIVE_INT32, 1, &n, labels);
    expect_error("beyond.h5", "/train/labels[3] = 3, outside the 3 classes of /classes");
    write_valid("huge_label.h5", 1, 0);
    const int32_t big[6] = {0, 1, 2, 70000, 1, 0};
    replace("huge_label.h5", "/train/labels", H5T_NATIVE_INT32, 1, &n, big);
    expect_error("huge_label.h5", "/train/labels[3] = 70000, outside 0 to 65535");
}

static void test_count_mismatch(void **state) {
    (void)state;
    write_valid("count.h5", 1, 0);
    const hsize_t n = 5;
    const int32_t labels[5] = {0};
    replace("count.h5", "/train/labels", H5T_NATIVE_INT32, 1, &n, labels);
    expect_error("count.h5", "/train/labels has 5 labels for the 6 images of /train/images");
}

static void test_shape_mismatch(void **state) {
    (void)state;
    write_valid("shape.h5", 1, 0);
    const hsize_t dims[3] = {3, 4, 6};
    const uint8_t pixels[72] = {0};
    replace("shape.h5", "/test/images", H5T_NATIVE_UINT8, 3, dims, pixels);
    expect_error("shape.h5", "/test/images are 1x4x6 but /train/images are 1x4x5");
}

static void test_missing_dataset(void **state) {
    (void)state;
    write_valid("missing.h5", 1, 0);
    remove_object("missing.h5", "/test/labels");
    expect_error("missing.h5", "no /test/labels (expected /train/images, /train/labels, "
                               "/test/images, /test/labels; or /train/masks and /test/masks "
                               "for segmentation)");
    remove_object("missing.h5", "/train");
    expect_error("missing.h5", "no /train/images");
}

static void test_not_hdf5(void **state) {
    (void)state;
    put_bytes(path_of("text.h5"), (const uint8_t *)"not HDF5 at all\n", 16);
    expect_error("text.h5", "not an HDF5 file");
    put_bytes(path_of("empty.h5"), (const uint8_t *)"", 0);
    expect_error("empty.h5", "not an HDF5 file");
    expect_error("absent.h5", "No such file or directory");
}

static void test_fifo_does_not_block(void **state) {
    (void)state;
    put_fifo("fifo.h5");
    expect_error("fifo.h5", "not a regular file");
}

/* An external link to a FIFO would hang H5Dopen; links are refused before they are followed. */
static void test_link_to_fifo(void **state) {
    (void)state;
    write_valid("link.h5", 1, 0);
    put_fifo("linked-fifo");
    hid_t f = H5Fopen(path_of("link.h5"), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "/train/images", H5P_DEFAULT);
    assert_true(H5Lcreate_external(path_of("linked-fifo"), "/x", f, "/train/images", H5P_DEFAULT,
                                   H5P_DEFAULT) >= 0);
    H5Fclose(f);
    expect_error("link.h5", "/train/images is a link; expected a dataset stored in the file");
}

/* Headers promising more than dptrain holds fail before any large allocation; the file is
   tiny since nothing was ever written. */
static void test_huge_promised_dims(void **state) {
    (void)state;
    write_valid("huge.h5", 1, 0);
    const hsize_t dims[3] = {(hsize_t)1 << 31, 28, 28}, n = (hsize_t)1 << 31;
    const hsize_t test_dims[3] = {3, 28, 28};
    replace("huge.h5", "/train/images", H5T_NATIVE_UINT8, 3, dims, NULL);
    replace("huge.h5", "/train/labels", H5T_NATIVE_INT32, 1, &n, NULL);
    replace("huge.h5", "/test/images", H5T_NATIVE_UINT8, 3, test_dims, NULL);
    struct stat st;
    assert_int_equal(stat(path_of("huge.h5"), &st), 0);
    assert_true(st.st_size < 64 << 10);
    expect_error("huge.h5", "more than dptrain holds");
    const hsize_t wider[3] = {(hsize_t)1 << 33, 28, 28}, m = (hsize_t)1 << 33;
    replace("huge.h5", "/train/images", H5T_NATIVE_UINT8, 3, wider, NULL);
    replace("huge.h5", "/train/labels", H5T_NATIVE_INT32, 1, &m, NULL);
    expect_error("huge.h5", "/train/images is 8589934592x1x28x28, more than dptrain holds");
}

static void write_names(const char *file, const char *const *names, hsize_t n) {
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    replace(file, "/classes", type, 1, &n, names);
    H5Tclose(type);
}

static void test_duplicate_names(void **state) {
    (void)state;
    write_valid("dup.h5", 1, 1);
    const char *const names[3] = {"cat", "dog", "cat"};
    write_names("dup.h5", names, 3);
    expect_error("dup.h5", "/classes: classes 0 and 2 are both named 'cat'");
    const char *const bad[3] = {"cat", "", "dog"};
    write_names("dup.h5", bad, 3);
    expect_error("dup.h5", "/classes: class 1 has an empty name");
    const char *const control[3] = {"cat", "d\nog", "eel"};
    write_names("dup.h5", control, 3);
    expect_error("dup.h5", "class 1's name has a control character (0x0a)");
}

static void test_too_few_names(void **state) {
    (void)state;
    write_valid("few.h5", 1, 1);
    const char *const names[2] = {"cat", "dog"};
    write_names("few.h5", names, 2);
    expect_error("few.h5", "/train/labels[1] = 2, outside the 2 classes of /classes");
}

static void test_fixed_length_names(void **state) {
    (void)state;
    write_valid("fixed.h5", 1, 1);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, 6);
    H5Tset_strpad(type, H5T_STR_NULLPAD);
    const hsize_t n = 3;
    replace("fixed.h5", "/classes", type, 1, &n, "zero\0\0one\0\0\0second");
    H5Tclose(type);
    dpt_dataset ds;
    dpt_err err;
    if (dpt_dataset_read_h5(path_of("fixed.h5"), &ds, &err)) fail_msg("%s", err.msg);
    assert_all_closed();
    assert_string_equal(ds.class_names[0], "zero");
    assert_string_equal(ds.class_names[1], "one");
    assert_string_equal(ds.class_names[2], "second");
    dpt_dataset_free(&ds);
    const int32_t numbers[3] = {1, 2, 3};
    replace("fixed.h5", "/classes", H5T_NATIVE_INT32, 1, &n, numbers);
    expect_error("fixed.h5", "/classes is int32; expected strings");
}

/* The writer refuses names its reader would refuse. */
static void test_writer_checks_names(void **state) {
    (void)state;
    dpt_dataset ds;
    dpt_err err;
    make_dataset(&ds, 1, 1);
    free(ds.class_names[2]);
    ds.class_names[2] = strdup("zero");
    assert_int_equal(dpt_dataset_write_h5(path_of("dupw.h5"), &ds, &err), -1);
    assert_non_null(strstr(err.msg, "classes 0 and 2 are both named 'zero'"));
    assert_int_equal(access(path_of("dupw.h5"), F_OK), -1);
    dpt_dataset_free(&ds);
}

/* ---- masks ---- */

/* 6 training and 3 test images of channels x 4 x 5 with masks of 0 to 2, 3 classes, named when
   `named`. */
static void make_seg_dataset(dpt_dataset *ds, uint32_t channels, int named) {
    memset(ds, 0, sizeof *ds);
    dpt_images *sets[2] = {&ds->train, &ds->test};
    const uint32_t counts[2] = {6, 3};
    dpt_err err;
    for (int s = 0; s < 2; s++) {
        assert_int_equal(
            dpt_images_alloc(sets[s], DPT_TASK_SEGMENT, counts[s], channels, 4, 5, "test", &err),
            0);
        for (size_t i = 0; i < (size_t)counts[s] * channels * 20; i++)
            sets[s]->pixels[i] = (uint8_t)(i * 3 + (size_t)s);
        for (size_t i = 0; i < (size_t)counts[s] * 20; i++)
            sets[s]->masks[i] = (uint8_t)((i * 5 + (size_t)s) % 3);
    }
    ds->classes = 3;
    if (named) {
        static const char *const names[] = {"background", "road", "car"};
        ds->class_names = calloc(3, sizeof *ds->class_names);
        for (int c = 0; c < 3; c++) ds->class_names[c] = strdup(names[c]);
    }
}

static void write_valid_seg(const char *name, int named) {
    dpt_dataset ds;
    dpt_err err;
    make_seg_dataset(&ds, 1, named);
    if (dpt_dataset_write_h5(path_of(name), &ds, &err)) fail_msg("%s", err.msg);
    dpt_dataset_free(&ds);
}

static int has_object(const char *file, const char *name) {
    hid_t f = H5Fopen(path_of(file), H5F_ACC_RDONLY, H5P_DEFAULT);
    const int has = H5Lexists(f, name, H5P_DEFAULT) > 0;
    H5Fclose(f);
    return has;
}

static void test_masks_round_trip(void **state) {
    (void)state;
    for (uint32_t channels = 1; channels <= 3; channels += 2)
        for (int named = 0; named < 2; named++) {
            dpt_dataset ds, back;
            dpt_err err;
            make_seg_dataset(&ds, channels, named);
            if (dpt_dataset_write_h5(path_of("masks.h5"), &ds, &err)) fail_msg("%s", err.msg);
            assert_all_closed();
            if (dpt_dataset_read_h5(path_of("masks.h5"), &back, &err)) fail_msg("%s", err.msg);
            assert_all_closed();
            assert_int_equal(dpt_dataset_task(&back), DPT_TASK_SEGMENT);
            assert_null(back.train.labels);
            assert_null(back.test.labels);
            assert_int_equal(back.classes, 3); /* named, or 1 + the largest mask value */
            assert_int_equal(back.class_names != NULL, named);
            assert_int_equal(back.test.count, 3);
            assert_memory_equal(back.train.pixels, ds.train.pixels, 6 * channels * 20);
            assert_memory_equal(back.train.masks, ds.train.masks, 6 * 20);
            assert_memory_equal(back.test.masks, ds.test.masks, 3 * 20);
            char a[65], b[65];
            dpt_dataset_digest(&ds, a);
            dpt_dataset_digest(&back, b);
            assert_string_equal(a, b);
            assert_int_equal(dataset_rank(path_of("masks.h5"), "/test/masks"), 3);
            assert_false(has_object("masks.h5", "/train/labels"));
            dpt_dataset_free(&ds);
            dpt_dataset_free(&back);
        }
}

static void test_masks_hostile(void **state) {
    (void)state;
    const hsize_t six = 6;
    const int32_t labels[6] = {0};
    write_valid_seg("both.h5", 1);
    replace("both.h5", "/train/labels", H5T_NATIVE_INT32, 1, &six, labels);
    expect_error("both.h5", "holds both /train/labels and /train/masks; a dataset has labels "
                            "(classification) or masks (segmentation)");

    write_valid("mixed.h5", 1, 1);
    remove_object("mixed.h5", "/test/labels");
    const hsize_t test_dims[3] = {3, 4, 5};
    const uint8_t zeros[6 * 4 * 6] = {0};
    replace("mixed.h5", "/test/masks", H5T_NATIVE_UINT8, 3, test_dims, zeros);
    expect_error("mixed.h5", "/train/labels but /test/masks; both splits hold labels");

    write_valid_seg("missing.h5", 1);
    remove_object("missing.h5", "/test/masks");
    expect_error("missing.h5", "no /test/masks (expected /train/images, /train/masks, "
                               "/test/images, /test/masks)");

    write_valid_seg("wide.h5", 1);
    const hsize_t dims[3] = {6, 4, 5};
    const int32_t wide[6 * 4 * 5] = {0};
    replace("wide.h5", "/train/masks", H5T_NATIVE_INT32, 3, dims, wide);
    expect_error("wide.h5", "/train/masks is int32; expected uint8 class indices");

    write_valid_seg("rank.h5", 1);
    const hsize_t flat[2] = {6, 20};
    replace("rank.h5", "/train/masks", H5T_NATIVE_UINT8, 2, flat, zeros);
    expect_error("rank.h5", "/train/masks has rank 2; expected N x H x W, a class index per pixel");

    write_valid_seg("shape.h5", 1);
    const hsize_t other[3] = {3, 4, 6};
    replace("shape.h5", "/test/masks", H5T_NATIVE_UINT8, 3, other, zeros);
    expect_error("shape.h5", "/test/masks is 3x4x6 but /test/images are 3 images of 4x5");
    const hsize_t fewer[3] = {5, 4, 5};
    replace("shape.h5", "/test/masks", H5T_NATIVE_UINT8, 3, test_dims, zeros);
    replace("shape.h5", "/train/masks", H5T_NATIVE_UINT8, 3, fewer, zeros);
    expect_error("shape.h5", "/train/masks is 5x4x5 but /train/images are 6 images of 4x5");

    write_valid_seg("beyond.h5", 1);
    uint8_t masks[6 * 20] = {0};
    masks[2 * 20 + 1 * 5 + 4] = 3; /* sample 2, row 1, column 4 */
    masks[4 * 20] = 200;
    replace("beyond.h5", "/train/masks", H5T_NATIVE_UINT8, 3, dims, masks);
    expect_error("beyond.h5", "/train/masks[2] has value 3 at row 1, column 4, outside the 3 "
                              "classes of /classes");
    write_valid_seg("unnamed.h5", 0);
    replace("unnamed.h5", "/train/masks", H5T_NATIVE_UINT8, 3, dims, masks);
    dpt_dataset ds;
    dpt_err err;
    if (dpt_dataset_read_h5(path_of("unnamed.h5"), &ds, &err)) fail_msg("%s", err.msg);
    assert_int_equal(ds.classes, 201);
    dpt_dataset_free(&ds);

    write_valid_seg("names.h5", 1);
    const char *names[300];
    char text[300][8];
    for (int c = 0; c < 300; c++) snprintf(text[c], sizeof text[c], "c%d", c), names[c] = text[c];
    write_names("names.h5", names, 300);
    expect_error("names.h5", "/classes holds 300 names; masks hold 8-bit class indices, so at "
                             "most 256 classes");
}

static int setup(void **state) {
    (void)state;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return tmpdir_make("h5");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_failed_write_leaves_no_file),
        cmocka_unit_test(test_wrong_rank),
        cmocka_unit_test(test_float_images),
        cmocka_unit_test(test_wide_images),
        cmocka_unit_test(test_float_labels),
        cmocka_unit_test(test_any_integer_labels),
        cmocka_unit_test(test_negative_label),
        cmocka_unit_test(test_label_beyond_classes),
        cmocka_unit_test(test_count_mismatch),
        cmocka_unit_test(test_shape_mismatch),
        cmocka_unit_test(test_missing_dataset),
        cmocka_unit_test(test_not_hdf5),
        cmocka_unit_test(test_fifo_does_not_block),
        cmocka_unit_test(test_link_to_fifo),
        cmocka_unit_test(test_huge_promised_dims),
        cmocka_unit_test(test_duplicate_names),
        cmocka_unit_test(test_too_few_names),
        cmocka_unit_test(test_fixed_length_names),
        cmocka_unit_test(test_writer_checks_names),
        cmocka_unit_test(test_masks_round_trip),
        cmocka_unit_test(test_masks_hostile),
    };
    return cmocka_run_group_tests(tests, setup, tmpdir_remove);
}
