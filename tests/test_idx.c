#define _DEFAULT_SOURCE
/* The IDX reader and dataset loader on small files written by the test: valid raw and gzip
   files, and every defect, each with its one-line message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "dptrain/data.h"
#include "dptrain/idx.h"
#include "tmpdir.h"

static void write_bytes(const char *name, const uint8_t *bytes, size_t n, int gz) {
    if (gz) {
        gzFile f = gzopen(path_of(name), "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, bytes, (unsigned)n), (int)n);
        gzclose(f);
    } else {
        put_bytes(path_of(name), bytes, (long)n);
    }
}

/* An IDX byte image: header with `ndims` dims, then `data_bytes` bytes of pattern data. */
static size_t make_idx(uint8_t *buf, int type, int ndims, const uint32_t *dims, size_t data_bytes) {
    size_t n = 0;
    buf[n++] = 0, buf[n++] = 0, buf[n++] = (uint8_t)type, buf[n++] = (uint8_t)ndims;
    for (int i = 0; i < ndims; i++) {
        buf[n++] = (uint8_t)(dims[i] >> 24), buf[n++] = (uint8_t)(dims[i] >> 16);
        buf[n++] = (uint8_t)(dims[i] >> 8), buf[n++] = (uint8_t)dims[i];
    }
    for (size_t i = 0; i < data_bytes; i++) buf[n++] = (uint8_t)(i % 7);
    return n;
}

static uint8_t buf[1 << 16];

static void expect_error(const char *name, int ndims, const char *problem) {
    dpt_idx idx;
    dpt_err err = {{0}};
    assert_int_equal(dpt_idx_read(path_of(name), ndims, &idx, &err), -1);
    assert_null(idx.data);
    if (!strstr(err.msg, path_of(name)) || !strstr(err.msg, problem))
        fail_msg("message '%s' should name %s and say '%s'", err.msg, name, problem);
}

static void test_valid_raw_and_gzip(void **state) {
    (void)state;
    const uint32_t dims[] = {5, 4, 3};
    size_t n = make_idx(buf, 0x08, 3, dims, 60);
    for (int gz = 0; gz < 2; gz++) {
        const char *name = gz ? "ok.gz" : "ok";
        write_bytes(name, buf, n, gz);
        dpt_idx idx;
        dpt_err err;
        assert_int_equal(dpt_idx_read(path_of(name), 3, &idx, &err), 0);
        assert_int_equal(idx.dims[0], 5);
        assert_int_equal(idx.item_size, 12);
        assert_memory_equal(idx.data, buf + 16, 60);
        dpt_idx_free(&idx);
    }
}

static void test_header_defects(void **state) {
    (void)state;
    const uint32_t dims[] = {5, 4, 3};
    size_t n = make_idx(buf, 0x08, 3, dims, 60);
    buf[0] = 0x1f, buf[1] = 0x00;
    write_bytes("magic", buf, n, 0);
    expect_error("magic", 3, "not an IDX file");
    n = make_idx(buf, 0x0D, 3, dims, 60);
    write_bytes("float", buf, n, 0);
    expect_error("float", 3, "data type 0x0d");
    n = make_idx(buf, 0x08, 3, dims, 60);
    write_bytes("rank", buf, n, 0);
    expect_error("rank", 1, "has 3 dimensions, expected 1");
    write_bytes("tiny", buf, 2, 0);
    expect_error("tiny", 3, "too short");
    write_bytes("cut-header", buf, 9, 0);
    expect_error("cut-header", 3, "header cut short");
    const uint32_t zero[] = {5, 0, 3};
    n = make_idx(buf, 0x08, 3, zero, 0);
    write_bytes("zero", buf, n, 0);
    expect_error("zero", 3, "dimension 1 is zero");
}

static void test_length_defects(void **state) {
    (void)state;
    const uint32_t dims[] = {5, 4, 3};
    size_t n = make_idx(buf, 0x08, 3, dims, 36); /* 3 of the 5 items */
    write_bytes("short", buf, n, 0);
    expect_error("short", 3, "truncated");
    write_bytes("short.gz", buf, n, 1);
    expect_error("short.gz", 3, "truncated: header promises 5 items (60 bytes), found 36");
    n = make_idx(buf, 0x08, 3, dims, 61);
    write_bytes("long", buf, n, 0);
    expect_error("long", 3, "more data than the header's 5 items");
    write_bytes("long.gz", buf, n, 1);
    expect_error("long.gz", 3, "more data than the header's 5 items");
    /* A hostile header claiming a billion images must fail before allocating them. */
    const uint32_t huge[] = {1000000000, 28, 28};
    n = make_idx(buf, 0x08, 3, huge, 100);
    write_bytes("huge", buf, n, 0);
    expect_error("huge", 3, "the file can hold at most 100");
    write_bytes("huge.gz", buf, n, 1);
    expect_error("huge.gz", 3, "truncated: header promises 1000000000 items");
}

static void test_corrupt_gzip(void **state) {
    (void)state;
    const uint32_t dims[] = {200, 10, 10};
    size_t n = make_idx(buf, 0x08, 3, dims, 20000);
    for (size_t i = 16; i < n; i++) buf[i] = (uint8_t)(i * 2654435761u >> 13);
    write_bytes("corrupt.gz", buf, n, 1);
    FILE *f = fopen(path_of("corrupt.gz"), "r+b");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    for (long at = 30; at < size - 8; at += 97) {
        fseek(f, at, SEEK_SET);
        fputc(0xA5, f);
    }
    fclose(f);
    expect_error("corrupt.gz", 3, "corrupt gzip data");
}

/* Writes a dataset folder with n training and 3 test images, the given labels. */
static void write_dataset(const char *sub, uint32_t images, uint32_t labels, uint8_t bad_label) {
    char name[128];
    snprintf(name, sizeof name, "%s", sub);
    mkdir(path_of(sub), 0700);
    const char *prefix[] = {"train", "t10k"};
    for (int p = 0; p < 2; p++) {
        uint32_t count = p == 0 ? images : 3;
        size_t n = make_idx(buf, 0x08, 3, (uint32_t[]){count, 2, 2}, (size_t)count * 4);
        snprintf(name, sizeof name, "%s/%s-images-idx3-ubyte", sub, prefix[p]);
        write_bytes(name, buf, n, 0);
        uint32_t lcount = p == 0 ? labels : 3;
        n = make_idx(buf, 0x08, 1, (uint32_t[]){lcount}, 0);
        for (uint32_t i = 0; i < lcount; i++) buf[n++] = (uint8_t)(i % 10);
        if (p == 0 && bad_label) buf[n - 1] = bad_label;
        snprintf(name, sizeof name, "%s/%s-labels-idx1-ubyte.gz", sub, prefix[p]);
        write_bytes(name, buf, n, 1);
    }
}

static void expect_load_error(const char *sub, uint32_t val, const char *problem) {
    dpt_data_options opt = {.path = path_of(sub), .val = val};
    dpt_data data;
    dpt_err err = {{0}};
    assert_int_equal(dpt_data_load(&opt, &data, &err), -1);
    if (!strstr(err.msg, problem)) fail_msg("message '%s' should say '%s'", err.msg, problem);
}

static void test_dataset_split(void **state) {
    (void)state;
    write_dataset("good", 20, 20, 0);
    dpt_data_options opt = {
        .path = path_of("good"), .val = 5, .split_seed = 3, .norm = {.kind = DPT_NORM_MNIST}};
    dpt_data data;
    dpt_err err;
    assert_int_equal(dpt_data_load(&opt, &data, &err), 0);
    assert_int_equal(data.train.n, 15);
    assert_int_equal(data.val.n, 5);
    assert_int_equal(data.test.n, 3);
    int seen[20] = {0};
    for (uint32_t i = 0; i < data.train.n; i++) seen[data.train.idx[i]]++;
    for (uint32_t i = 0; i < data.val.n; i++) seen[data.val.idx[i]]++;
    for (int i = 0; i < 20; i++) assert_int_equal(seen[i], 1); /* disjoint and complete */
    float x[4];
    int y;
    dpt_data_gather(&data, &data.val, NULL, 0, 1, x, &y);
    uint32_t sample = data.val.idx[0];
    assert_int_equal(y, sample % 10);
    assert_float_equal(x[0], (data.set.train.pixels[sample * 4] / 255.0 - 0.1307) / 0.3081, 1e-5);
    dpt_data_free(&data);
}

static void test_dataset_defects(void **state) {
    (void)state;
    write_dataset("mismatch", 20, 19, 0);
    expect_load_error("mismatch", 5, "19 labels for the 20 images");
    /* The class count comes from the labels: one label 10 makes eleven classes (a model whose
       last layer gives ten outputs is then refused when it is built). */
    write_dataset("label", 20, 20, 10);
    dpt_data_options opt = {.path = path_of("label"), .val = 5};
    dpt_data data;
    dpt_err err;
    assert_int_equal(dpt_data_load(&opt, &data, &err), 0);
    assert_int_equal(data.set.classes, 11);
    dpt_data_free(&data);
    expect_load_error("nowhere", 5, "No such file");
    write_dataset("small", 20, 20, 0);
    expect_load_error("small", 20, "--val 20 leaves no training samples");
}

static void test_epoch_order(void **state) {
    (void)state;
    uint32_t a[100], b[100], c[100];
    dpt_data_epoch_order(1, 0, a, 100);
    dpt_data_epoch_order(1, 0, b, 100);
    dpt_data_epoch_order(1, 1, c, 100);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
    int seen[100] = {0};
    for (int i = 0; i < 100; i++) seen[a[i]]++;
    for (int i = 0; i < 100; i++) assert_int_equal(seen[i], 1);
}

static int make_dir(void **state) {
    (void)state;
    return tmpdir_make("idx");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_raw_and_gzip), cmocka_unit_test(test_header_defects),
        cmocka_unit_test(test_length_defects),     cmocka_unit_test(test_corrupt_gzip),
        cmocka_unit_test(test_dataset_split),      cmocka_unit_test(test_dataset_defects),
        cmocka_unit_test(test_epoch_order),
    };
    return cmocka_run_group_tests_name("idx", tests, make_dir, tmpdir_remove);
}
