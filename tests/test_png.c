#define _DEFAULT_SOURCE
/* The PNG reader and the PNG dataset loader on files written here with libpng: every color type
   and bit depth with exact pixel values in channel-major order, masks (gray values and palette
   indices as stored, the other kinds refused), hostile files (truncated, corrupt, huge headers,
   FIFOs, folders), and dataset trees (class and sample order, skipped entries, each defect with
   its one-line message, the same result on 1 and 2 threads). */
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "dptrain/dataset.h"
#include "dptrain/png_image.h"
#include "png_writer.h"
#include "tmpdir.h"

/* Reads path expecting success and a c x h x w image; returns the malloc'd pixels. */
static uint8_t *read_ok(const char *path, uint32_t c, uint32_t h, uint32_t w) {
    dpt_png_info info;
    dpt_err err = {{0}};
    assert_int_equal(dpt_png_read(path, &info, NULL, 0, &err), 0);
    assert_int_equal(info.channels, c);
    assert_int_equal(info.height, h);
    assert_int_equal(info.width, w);
    uint8_t *pixels = malloc((size_t)c * h * w);
    assert_non_null(pixels);
    if (dpt_png_read(path, &info, pixels, (size_t)c * h * w, &err) != 0) fail_msg("%s", err.msg);
    return pixels;
}

static void expect_png_error(const char *path, const char *problem) {
    dpt_png_info info;
    uint8_t pixels[4096];
    dpt_err err = {{0}};
    assert_int_equal(dpt_png_read(path, &info, pixels, sizeof pixels, &err), -1);
    expect_message(err.msg, path, problem);
}

static void test_gray(void **state) {
    (void)state;
    const uint8_t rows[] = {0, 1, 2, 127, 128, 255}; /* 3 wide, 2 high */
    png_color_16 transparent = {.gray = 2};
    png_spec s = {.width = 3,
                  .height = 2,
                  .color_type = PNG_COLOR_TYPE_GRAY,
                  .bit_depth = 8,
                  .trans_color = &transparent};
    write_png(path_of("gray8.png"), &s, rows);
    uint8_t *px = read_ok(path_of("gray8.png"), 1, 2, 3);
    assert_memory_equal(px, rows, 6); /* tRNS ignored: still one channel */
    free(px);

    /* gray + alpha: the alpha samples go */
    const uint8_t ga[] = {10, 255, 20, 0, 30, 128, 40, 7};
    png_spec sa = {
        .width = 2, .height = 2, .color_type = PNG_COLOR_TYPE_GRAY_ALPHA, .bit_depth = 8};
    write_png(path_of("gray-alpha.png"), &sa, ga);
    px = read_ok(path_of("gray-alpha.png"), 1, 2, 2);
    assert_memory_equal(px, ((uint8_t[]){10, 20, 30, 40}), 4);
    free(px);
}

static void test_gray16_rounding(void **state) {
    (void)state;
    enum { W = 1024 };
    uint16_t values[W];
    for (int i = 0; i < W; i++) values[i] = (uint16_t)(i * 64 + i % 64);
    values[0] = 0, values[1] = 65535, values[2] = 257 * 200, values[3] = 257 * 13 + 128,
    values[4] = 257 * 13 + 129;
    uint8_t rows[2 * W];
    for (int i = 0; i < W; i++)
        rows[2 * i] = (uint8_t)(values[i] >> 8), rows[2 * i + 1] = (uint8_t)values[i];
    png_spec s = {.width = W, .height = 1, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 16};
    write_png(path_of("gray16.png"), &s, rows);
    uint8_t *px = read_ok(path_of("gray16.png"), 1, 1, W);
    assert_int_equal(px[0], 0);
    assert_int_equal(px[1], 255);
    assert_int_equal(px[2], 200);
    assert_int_equal(px[3], 13); /* 13.498 */
    assert_int_equal(px[4], 14); /* 13.502 */
    for (int i = 0; i < W; i++) {
        const unsigned rounded = (2u * values[i] + 257) / 514; /* v / 257 = v * 255 / 65535 */
        if (px[i] != rounded)
            fail_msg("16-bit %u read as %u, expected %u", values[i], px[i], rounded);
    }
    free(px);
}

static void test_low_bit_gray(void **state) {
    (void)state;
    const uint8_t one[] = {0xA0, 0x40}; /* 1 0 1 / 0 1 0 */
    png_spec s = {.width = 3, .height = 2, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 1};
    write_png(path_of("gray1.png"), &s, one);
    uint8_t *px = read_ok(path_of("gray1.png"), 1, 2, 3);
    assert_memory_equal(px, ((uint8_t[]){255, 0, 255, 0, 255, 0}), 6);
    free(px);
    const uint8_t two[] = {0x1B}; /* 0 1 2 3 */
    png_spec s2 = {.width = 4, .height = 1, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 2};
    write_png(path_of("gray2.png"), &s2, two);
    px = read_ok(path_of("gray2.png"), 1, 1, 4);
    assert_memory_equal(px, ((uint8_t[]){0, 85, 170, 255}), 4);
    free(px);
    const uint8_t four[] = {0x0F, 0x70}; /* 0 15 7 */
    png_spec s4 = {.width = 3, .height = 1, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 4};
    write_png(path_of("gray4.png"), &s4, four);
    px = read_ok(path_of("gray4.png"), 1, 1, 3);
    assert_memory_equal(px, ((uint8_t[]){0, 255, 119}), 3);
    free(px);
}

static void test_color(void **state) {
    (void)state;
    /* RGB 3 wide, 2 high: pixel (x, y) is (10y + x, 100 + 10y + x, 200 + 10y + x) */
    uint8_t rgb[18], rgba[24];
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 3; x++)
            for (int ch = 0; ch < 4; ch++) {
                uint8_t v = (uint8_t)(ch == 3 ? 77 * x + y : 100 * ch + 10 * y + x);
                if (ch < 3) rgb[(y * 3 + x) * 3 + ch] = v;
                rgba[(y * 3 + x) * 4 + ch] = v;
            }
    const uint8_t planar[] = {0,   1,   2,   10,  11,  12,  100, 101, 102,
                              110, 111, 112, 200, 201, 202, 210, 211, 212};
    png_spec s = {.width = 3, .height = 2, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8};
    write_png(path_of("rgb.png"), &s, rgb);
    uint8_t *px = read_ok(path_of("rgb.png"), 3, 2, 3);
    assert_memory_equal(px, planar, 18);
    free(px);
    png_spec sa = {.width = 3, .height = 2, .color_type = PNG_COLOR_TYPE_RGB_ALPHA, .bit_depth = 8};
    write_png(path_of("rgba.png"), &sa, rgba);
    px = read_ok(path_of("rgba.png"), 3, 2, 3);
    assert_memory_equal(px, planar, 18); /* alpha dropped, colors as stored */
    free(px);

    /* 16-bit RGBA: each 8-bit value v stored as 257 v */
    uint8_t rgba16[48];
    for (int i = 0; i < 24; i++) rgba16[2 * i] = rgba16[2 * i + 1] = rgba[i];
    png_spec s16 = {
        .width = 3, .height = 2, .color_type = PNG_COLOR_TYPE_RGB_ALPHA, .bit_depth = 16};
    write_png(path_of("rgba16.png"), &s16, rgba16);
    px = read_ok(path_of("rgba16.png"), 3, 2, 3);
    assert_memory_equal(px, planar, 18);
    free(px);
}

static void test_palette(void **state) {
    (void)state;
    const png_color palette[] = {{1, 2, 3}, {40, 50, 60}, {255, 0, 128}, {9, 9, 9}};
    const uint8_t alpha[] = {0, 128};    /* tRNS: dropped */
    const uint8_t rows[] = {0x1B, 0x20}; /* 2-bit indices 0 1 2 3 / 0 2 0 0 */
    png_spec s = {.width = 4,
                  .height = 2,
                  .color_type = PNG_COLOR_TYPE_PALETTE,
                  .bit_depth = 2,
                  .palette = palette,
                  .npalette = 4,
                  .palette_alpha = alpha,
                  .nalpha = 2};
    write_png(path_of("palette.png"), &s, rows);
    uint8_t *px = read_ok(path_of("palette.png"), 3, 2, 4);
    const int index[8] = {0, 1, 2, 3, 0, 2, 0, 0};
    for (int i = 0; i < 8; i++) {
        assert_int_equal(px[i], palette[index[i]].red);
        assert_int_equal(px[8 + i], palette[index[i]].green);
        assert_int_equal(px[16 + i], palette[index[i]].blue);
    }
    free(px);
}

static void test_interlaced(void **state) {
    (void)state;
    enum { W = 11, H = 9 };
    uint8_t rgb[W * H * 3], gray[W * H];
    for (int i = 0; i < W * H * 3; i++) rgb[i] = (uint8_t)(i * 7 + 3);
    for (int i = 0; i < W * H; i++) gray[i] = (uint8_t)(i * 5);
    png_spec s = {
        .width = W, .height = H, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8, .interlace = 1};
    write_png(path_of("adam7-rgb.png"), &s, rgb);
    uint8_t *px = read_ok(path_of("adam7-rgb.png"), 3, H, W);
    for (int ch = 0; ch < 3; ch++)
        for (int i = 0; i < W * H; i++) assert_int_equal(px[ch * W * H + i], rgb[i * 3 + ch]);
    free(px);
    png_spec sg = {
        .width = W, .height = H, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8, .interlace = 1};
    write_png(path_of("adam7-gray.png"), &sg, gray);
    px = read_ok(path_of("adam7-gray.png"), 1, H, W);
    assert_memory_equal(px, gray, W * H);
    free(px);
    /* 1x1: six of the seven passes are empty */
    png_spec s1 = {
        .width = 1, .height = 1, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8, .interlace = 1};
    write_png(path_of("adam7-1x1.png"), &s1, (uint8_t[]){42});
    px = read_ok(path_of("adam7-1x1.png"), 1, 1, 1);
    assert_int_equal(px[0], 42);
    free(px);
}

/* Masks: gray values and palette indices as stored, one byte each, at any bit depth to 8. */
static uint8_t *read_mask_ok(const char *path, uint32_t h, uint32_t w) {
    dpt_png_info info;
    dpt_err err = {{0}};
    uint8_t *values = malloc((size_t)h * w);
    assert_non_null(values);
    if (dpt_png_read_mask(path, &info, values, (size_t)h * w, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(info.channels, 1);
    assert_int_equal(info.height, h);
    assert_int_equal(info.width, w);
    return values;
}

static void test_mask_values(void **state) {
    (void)state;
    const uint8_t gray[] = {0, 1, 2, 10, 255, 7}; /* 3 wide, 2 high */
    png_spec s = {.width = 3, .height = 2, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8};
    write_png(path_of("mask8.png"), &s, gray);
    uint8_t *m = read_mask_ok(path_of("mask8.png"), 2, 3);
    assert_memory_equal(m, gray, 6);
    free(m);

    const uint8_t one[] = {0xA0, 0x40}; /* 1 0 1 / 0 1 0: not scaled to 255 */
    png_spec s1 = {.width = 3, .height = 2, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 1};
    write_png(path_of("mask1.png"), &s1, one);
    m = read_mask_ok(path_of("mask1.png"), 2, 3);
    assert_memory_equal(m, ((uint8_t[]){1, 0, 1, 0, 1, 0}), 6);
    free(m);
    const uint8_t four[] = {0x0F, 0x70}; /* 0 15 7 */
    png_spec s4 = {.width = 3, .height = 1, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 4};
    write_png(path_of("mask4.png"), &s4, four);
    m = read_mask_ok(path_of("mask4.png"), 1, 3);
    assert_memory_equal(m, ((uint8_t[]){0, 15, 7}), 3);
    free(m);

    /* a palette image gives its indices, whatever the colors and their transparency */
    const png_color palette[] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {9, 9, 9}};
    const uint8_t alpha[] = {0, 128};
    const uint8_t two[] = {0x1B, 0x20}; /* 2-bit indices 0 1 2 3 / 0 2 0 0 */
    png_spec sp = {.width = 4,
                   .height = 2,
                   .color_type = PNG_COLOR_TYPE_PALETTE,
                   .bit_depth = 2,
                   .palette = palette,
                   .npalette = 4,
                   .palette_alpha = alpha,
                   .nalpha = 2};
    write_png(path_of("mask-palette.png"), &sp, two);
    m = read_mask_ok(path_of("mask-palette.png"), 2, 4);
    assert_memory_equal(m, ((uint8_t[]){0, 1, 2, 3, 0, 2, 0, 0}), 8);
    free(m);
    /* as an image, the same file is RGB */
    free(read_ok(path_of("mask-palette.png"), 3, 2, 4));

    enum { W = 11, H = 9 };
    uint8_t indices[W * H];
    png_color many[200];
    for (int i = 0; i < 200; i++) many[i] = (png_color){(png_byte)i, 0, (png_byte)(255 - i)};
    for (int i = 0; i < W * H; i++) indices[i] = (uint8_t)(i * 2 % 200);
    png_spec si = {.width = W,
                   .height = H,
                   .color_type = PNG_COLOR_TYPE_PALETTE,
                   .bit_depth = 8,
                   .interlace = 1,
                   .palette = many,
                   .npalette = 200};
    write_png(path_of("mask-adam7.png"), &si, indices);
    m = read_mask_ok(path_of("mask-adam7.png"), H, W);
    assert_memory_equal(m, indices, W * H);
    free(m);
}

static void expect_mask_error(const char *name, const png_spec *s, const char *problem) {
    uint8_t rows[2 * 4 * 3 * 2] = {0};
    write_png(path_of(name), s, rows);
    dpt_png_info info;
    uint8_t values[64];
    dpt_err err = {{0}};
    for (int header_only = 0; header_only < 2; header_only++) {
        assert_int_equal(dpt_png_read_mask(path_of(name), &info, header_only ? NULL : values,
                                           header_only ? 0 : sizeof values, &err),
                         -1);
        if (!strstr(err.msg, path_of(name)) || !strstr(err.msg, problem) ||
            !strstr(err.msg, "; a mask holds one 8-bit class index per pixel (a gray or palette "
                             "PNG)"))
            fail_msg("message '%s' should name %s and say '%s'", err.msg, name, problem);
    }
}

static void test_mask_refusals(void **state) {
    (void)state;
    png_spec s = {.width = 2, .height = 2, .bit_depth = 8};
    s.color_type = PNG_COLOR_TYPE_RGB;
    expect_mask_error("mask-rgb.png", &s, "an RGB image (3 channels)");
    s.color_type = PNG_COLOR_TYPE_RGB_ALPHA;
    expect_mask_error("mask-rgba.png", &s, "an RGBA image (4 channels)");
    s.color_type = PNG_COLOR_TYPE_GRAY_ALPHA;
    expect_mask_error("mask-ga.png", &s, "a gray+alpha image (2 channels)");
    s.color_type = PNG_COLOR_TYPE_GRAY, s.bit_depth = 16;
    expect_mask_error("mask16.png", &s, "a 16-bit image");
}

static long file_bytes(const char *path, uint8_t *buf, long cap) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    long n = (long)fread(buf, 1, (size_t)cap, f);
    fclose(f);
    assert_true(n < cap);
    return n;
}

static uint32_t big_endian32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Offset of the first chunk of the given type in a PNG byte image. */
static long chunk_at(const uint8_t *png, long n, const char *type) {
    for (long at = 8; at + 8 <= n; at += 12 + (long)big_endian32(png + at))
        if (memcmp(png + at + 4, type, 4) == 0) return at;
    fail_msg("no %s chunk", type);
    return -1;
}

static void test_truncated_and_corrupt(void **state) {
    (void)state;
    enum { W = 48, H = 48 };
    uint8_t noise[W * H];
    for (int i = 0; i < W * H; i++)
        noise[i] = (uint8_t)((unsigned)i * 2654435761u >> 28); /* compressible */
    png_spec s = {.width = W, .height = H, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8};
    write_png(path_of("noise.png"), &s, noise);
    static uint8_t png[1 << 16];
    const long n = file_bytes(path_of("noise.png"), png, sizeof png);
    const long idat = chunk_at(png, n, "IDAT");
    const long cuts[] = {8, 20, 33, idat + 20, n / 2, n - 13, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        put_bytes(path_of("cut.png"), png, cuts[i]);
        expect_png_error(path_of("cut.png"), "corrupt or truncated PNG (libpng: ");
    }
    /* A flipped byte in the compressed data (zlib or the chunk's CRC notices first)... */
    png[idat + 8 + 100] ^= 0x55;
    put_bytes(path_of("crc.png"), png, n);
    expect_png_error(path_of("crc.png"), "corrupt or truncated PNG (libpng: ");
    /* ...and many, with the CRC made to match: zlib's checks alone. */
    const uint32_t len = big_endian32(png + idat);
    for (long at = idat + 8 + 40; at < idat + 8 + (long)len; at += 31) png[at] ^= 0xA5;
    uint32_t crc = (uint32_t)crc32(0, png + idat + 4, 4 + len);
    for (int b = 0; b < 4; b++) png[idat + 8 + len + b] = (uint8_t)(crc >> (24 - 8 * b));
    put_bytes(path_of("zlib.png"), png, n);
    expect_png_error(path_of("zlib.png"), "corrupt or truncated PNG (libpng: ");
}

static void put_chunk(FILE *f, const char *type, const uint8_t *data, uint32_t n) {
    uint8_t head[8] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    memcpy(head + 4, type, 4);
    uLong crc = crc32(crc32(0, head + 4, 4), data, n);
    uint8_t tail[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8),
                       (uint8_t)crc};
    assert_int_equal(fwrite(head, 1, 8, f), 8);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fwrite(tail, 1, 4, f), 4);
}

/* A PNG whose header promises width x height 8-bit samples of color_type, followed by a few
   bytes of image data: far fewer than promised. */
static void write_header_only(const char *path, uint32_t width, uint32_t height, int color_type) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite("\x89PNG\r\n\x1a\n", 1, 8, f), 8);
    uint8_t ihdr[13] = {(uint8_t)(width >> 24), (uint8_t)(width >> 16),  (uint8_t)(width >> 8),
                        (uint8_t)width,         (uint8_t)(height >> 24), (uint8_t)(height >> 16),
                        (uint8_t)(height >> 8), (uint8_t)height,         8,
                        (uint8_t)color_type};
    put_chunk(f, "IHDR", ihdr, 13);
    uint8_t zeros[64] = {0}, idat[128];
    uLongf n = sizeof idat;
    assert_int_equal(compress(idat, &n, zeros, sizeof zeros), Z_OK);
    put_chunk(f, "IDAT", idat, (uint32_t)n);
    put_chunk(f, "IEND", (const uint8_t *)"", 0);
    assert_int_equal(fclose(f), 0);
}

static void test_hostile(void **state) {
    (void)state;
    put_bytes(path_of("text.png"), (const uint8_t *)"hello, world\n", 13);
    expect_png_error(path_of("text.png"), "not a PNG file");
    put_bytes(path_of("empty.png"), (const uint8_t *)"", 0);
    expect_png_error(path_of("empty.png"), "not a PNG file");
    expect_png_error(path_of("missing.png"), "cannot open: No such file");

    /* 30 GB promised: refused from the header alone, before anything is allocated for it */
    write_header_only(path_of("huge.png"), 100000, 100000, PNG_COLOR_TYPE_RGB);
    dpt_png_info info;
    dpt_err err = {{0}};
    const clock_t start = clock();
    assert_int_equal(dpt_png_read(path_of("huge.png"), &info, NULL, 0, &err), -1);
    expect_png_error(path_of("huge.png"),
                     "the PNG header promises a 100000x100000 image, more than dptrain reads");
    assert_true(clock() - start < CLOCKS_PER_SEC / 10);
    write_header_only(path_of("wide.png"), 1u << 30, 1, PNG_COLOR_TYPE_GRAY);
    expect_png_error(path_of("wide.png"), "exceeds user limit");
    /* a header saying 40x40 with 64 bytes of image data after it */
    write_header_only(path_of("short-idat.png"), 40, 40, PNG_COLOR_TYPE_GRAY);
    expect_png_error(path_of("short-idat.png"),
                     "corrupt or truncated PNG (libpng: Not enough image data)");

    /* a FIFO with no writer must not block; a folder is not an image */
    put_fifo("fifo.png");
    alarm(10);
    expect_png_error(path_of("fifo.png"), "not a regular file (a FIFO, device or folder)");
    alarm(0);
    mkdir(path_of("folder.png"), 0700);
    expect_png_error(path_of("folder.png"), "not a regular file");

    /* a buffer too small for the image */
    uint8_t small[5];
    write_planar(path_of("six.png"), 1, 2, 3, (uint8_t[6]){0});
    assert_int_equal(dpt_png_read(path_of("six.png"), &info, small, sizeof small, &err), -1);
    assert_non_null(strstr(err.msg, "does not fit the 5 bytes given"));
}

/* ---- dataset trees ---- */

/* Writes tree/rel as a c x h x w image, every sample `value`. */
static void put_image(const char *tree, const char *rel, uint32_t c, uint32_t h, uint32_t w,
                      uint8_t value) {
    char name[256];
    snprintf(name, sizeof name, "%s/%s", tree, rel);
    const char *path = path_of(name);
    make_parents(path);
    uint8_t planes[3 * 8 * 8];
    assert_true((size_t)c * h * w <= sizeof planes);
    memset(planes, value, (size_t)c * h * w);
    write_planar(path, c, h, w, planes);
}

static void put_text(const char *tree, const char *rel) {
    char name[256];
    snprintf(name, sizeof name, "%s/%s", tree, rel);
    make_parents(path_of(name));
    put_bytes(path_of(name), (const uint8_t *)"not an image\n", 13);
}

static void put_folder(const char *tree, const char *rel) {
    char name[256];
    snprintf(name, sizeof name, "%s/%s/", tree, rel);
    make_parents(path_of(name));
}

static void load_ok(const char *tree, int threads, dpt_dataset *ds) {
    dpt_err err = {{0}};
    if (dpt_dataset_read_png(path_of(tree), threads, ds, &err) != 0) fail_msg("%s", err.msg);
}

static void expect_dataset_error(const char *tree, const char *problem) {
    dpt_dataset ds;
    dpt_err err = {{0}};
    assert_int_equal(dpt_dataset_read_png(path_of(tree), 2, &ds, &err), -1);
    assert_null(ds.train.pixels);
    assert_null(ds.test.pixels);
    assert_null(ds.class_names);
    expect_message(err.msg, NULL, problem);
}

static void expect_classes(const dpt_dataset *ds, const char *const *names, int n) {
    assert_int_equal(ds->classes, n);
    for (int k = 0; k < n; k++) assert_string_equal(ds->class_names[k], names[k]);
}

static void test_class_order(void **state) {
    (void)state;
    /* all decimal: by value */
    put_image("num", "Train/10/a.png", 1, 2, 2, 10);
    put_image("num", "Train/2/a.png", 1, 2, 2, 2);
    put_image("num", "Train/0/a.png", 1, 2, 2, 0);
    put_image("num", "Train/007/a.png", 1, 2, 2, 7);
    put_image("num", "Test/2/a.png", 1, 2, 2, 102);
    dpt_dataset ds;
    load_ok("num", 1, &ds);
    expect_classes(&ds, (const char *const[]){"0", "2", "007", "10"}, 4);
    assert_int_equal(ds.train.count, 4);
    const uint8_t values[] = {0, 2, 7, 10};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ds.train.labels[i], i);
        assert_int_equal(ds.train.pixels[4 * i], values[i]);
    }
    assert_int_equal(ds.test.count, 1);
    assert_int_equal(ds.test.labels[0], 1);
    assert_int_equal(ds.test.pixels[0], 102);
    dpt_dataset_free(&ds);

    /* any other name: byte order (and lowercase train/ test/ spelling) */
    put_image("names", "train/cat/a.png", 1, 1, 1, 1);
    put_image("names", "train/Dog/a.png", 1, 1, 1, 2);
    put_image("names", "train/ant/a.png", 1, 1, 1, 3);
    put_image("names", "train/7/a.png", 1, 1, 1, 4);
    put_image("names", "test/cat/a.png", 1, 1, 1, 5);
    put_image("names", "test/7/a.png", 1, 1, 1, 6);
    load_ok("names", 1, &ds);
    expect_classes(&ds, (const char *const[]){"7", "Dog", "ant", "cat"}, 4);
    assert_memory_equal(ds.train.pixels, ((uint8_t[]){4, 2, 3, 1}), 4);
    assert_int_equal(ds.test.count, 2);
    assert_int_equal(ds.test.labels[0], 0);
    assert_int_equal(ds.test.labels[1], 3);
    assert_memory_equal(ds.test.pixels, ((uint8_t[]){6, 5}), 2);
    dpt_dataset_free(&ds);
}

static void test_sample_order_and_skipped(void **state) {
    (void)state;
    put_image("order", "Train/0/b.png", 1, 2, 2, 2);
    put_image("order", "Train/0/a.png", 1, 2, 2, 1);
    put_image("order", "Train/0/C.png", 1, 2, 2, 3);
    put_image("order", "Train/0/d.PNG", 1, 2, 2, 4);
    put_image("order", "Train/0/.e.png", 1, 5, 5, 99);    /* hidden */
    put_text("order", "Train/0/notes.txt");               /* not .png */
    put_image("order", "Train/0/sub/z.png", 1, 5, 5, 99); /* a folder not named .png */
    put_image("order", "Train/1/x.png", 1, 2, 2, 5);
    put_image("order", "Train/.cache/y.png", 1, 5, 5, 99); /* hidden class folder */
    put_text("order", "Train/README");                     /* a file beside the classes */
    put_text("order", "Train/labels.png");
    put_image("order", "Test/1/q.png", 1, 2, 2, 6);
    put_image("order", "Test/0/p.png", 1, 2, 2, 7);
    put_text("order", "Test/0/.p.png");
    dpt_dataset ds;
    load_ok("order", 2, &ds);
    expect_classes(&ds, (const char *const[]){"0", "1"}, 2);
    assert_int_equal(ds.train.count, 5);
    assert_int_equal(ds.train.channels, 1);
    assert_int_equal(ds.train.height, 2);
    assert_int_equal(ds.train.width, 2);
    const uint8_t train_first[] = {3, 1, 2, 4, 5}; /* C.png a.png b.png d.PNG, then class 1 */
    const int32_t train_labels[] = {0, 0, 0, 0, 1};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ds.train.pixels[4 * i], train_first[i]);
        assert_int_equal(ds.train.labels[i], train_labels[i]);
    }
    assert_int_equal(ds.test.count, 2);
    assert_int_equal(ds.test.pixels[0], 7);
    assert_int_equal(ds.test.labels[0], 0);
    assert_int_equal(ds.test.pixels[4], 6);
    assert_int_equal(ds.test.labels[1], 1);
    dpt_dataset_free(&ds);
}

static void test_tree_defects(void **state) {
    (void)state;
    put_image("empty-class", "Train/0/a.png", 1, 2, 2, 0);
    put_folder("empty-class", "Train/1");
    put_text("empty-class", "Train/1/readme.txt");
    put_image("empty-class", "Test/0/a.png", 1, 2, 2, 0);
    expect_dataset_error("empty-class", "empty-class/Train/1: no .png images in this class folder");

    put_image("empty-test-class", "Train/0/a.png", 1, 2, 2, 0);
    put_folder("empty-test-class", "Test/0");
    expect_dataset_error("empty-test-class", "empty-test-class/Test/0: no .png images");

    put_image("stranger", "Train/0/a.png", 1, 2, 2, 0);
    put_image("stranger", "Train/1/a.png", 1, 2, 2, 0);
    put_image("stranger", "Test/7/a.png", 1, 2, 2, 0);
    expect_dataset_error("stranger", "stranger/Test/7: class '7' is not among the training "
                                     "classes (Train/ has 0, 1)");

    put_folder("empty", "Train");
    put_text("empty", "Train/README");
    put_image("empty", "Test/0/a.png", 1, 2, 2, 0);
    expect_dataset_error("empty", "empty/Train: no class folders");

    put_image("no-test", "Train/0/a.png", 1, 2, 2, 0);
    expect_dataset_error("no-test", "no-test: no Test/ folder");

    put_image("both", "Train/0/a.png", 1, 2, 2, 0);
    put_image("both", "train/0/a.png", 1, 2, 2, 0);
    put_image("both", "Test/0/a.png", 1, 2, 2, 0);
    expect_dataset_error("both", "both: holds both Train/ and train/; keep one");

    put_image("fifo", "Train/0/a.png", 1, 2, 2, 0);
    put_image("fifo", "Test/0/a.png", 1, 2, 2, 0);
    put_fifo("fifo/Train/0/b.png");
    alarm(10);
    expect_dataset_error("fifo", "fifo/Train/0/b.png: not a regular file");
    alarm(0);

    put_image("corrupt", "Train/0/a.png", 1, 2, 2, 0);
    put_text("corrupt", "Train/0/b.png");
    put_image("corrupt", "Test/0/a.png", 1, 2, 2, 0);
    expect_dataset_error("corrupt", "corrupt/Train/0/b.png: not a PNG file");
}

static void test_size_mismatch(void **state) {
    (void)state;
    put_image("sizes", "Train/0/0000.png", 1, 3, 3, 0);
    put_image("sizes", "Train/0/0001.png", 1, 3, 3, 0);
    put_image("sizes", "Train/3/0012.png", 3, 4, 4, 0); /* larger */
    put_image("sizes", "Train/3/0013.png", 1, 2, 2, 0); /* smaller */
    put_image("sizes", "Test/0/0000.png", 1, 3, 3, 0);
    char want[1024];
    snprintf(want, sizeof want,
             "%s/Train/3/0012.png: 3x4x4 (RGB), but %s/Train/0/0000.png is 1x3x3 (gray); all "
             "images of a dataset must have one size and channel count",
             path_of("sizes"), path_of("sizes"));
    expect_dataset_error("sizes", want);

    put_image("sizes2", "Train/0/0000.png", 3, 3, 3, 0);
    put_image("sizes2", "Train/0/0001.png", 3, 3, 3, 0);
    put_image("sizes2", "Test/0/0000.png", 3, 3, 3, 0);
    put_image("sizes2", "Test/0/0001.png", 3, 2, 3, 0);
    expect_dataset_error("sizes2", "sizes2/Test/0/0001.png: 3x2x3 (RGB), but");
}

/* Many images over three classes: two threads give exactly what one gives, and the failure
   reported is always the first in sample order. */
static void test_threads(void **state) {
    (void)state;
    char rel[64];
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 150; i++) {
            uint8_t planes[2 * 3 * 3];
            for (int j = 0; j < 18; j++) planes[j] = (uint8_t)(k * 150 + i + j * 11);
            snprintf(rel, sizeof rel, "%s/Train/%c/%03d.png", "many", 'a' + k, i);
            make_parents(path_of(rel));
            write_planar(path_of(rel), 1, 3, 6, planes);
            if (i < 20) {
                snprintf(rel, sizeof rel, "%s/Test/%c/%03d.png", "many", 'a' + k, i);
                make_parents(path_of(rel));
                write_planar(path_of(rel), 1, 3, 6, planes);
            }
        }
    dpt_dataset one, two;
    load_ok("many", 1, &one);
    load_ok("many", 2, &two);
    assert_int_equal(one.train.count, 450);
    assert_int_equal(one.test.count, 60);
    assert_int_equal(two.train.count, 450);
    assert_int_equal(two.test.count, 60);
    assert_memory_equal(one.train.pixels, two.train.pixels, 450 * 18);
    assert_memory_equal(one.train.labels, two.train.labels, 450 * sizeof(int32_t));
    assert_memory_equal(one.test.pixels, two.test.pixels, 60 * 18);
    assert_memory_equal(one.test.labels, two.test.labels, 60 * sizeof(int32_t));
    for (int i = 0; i < 450; i++) {
        assert_int_equal(one.train.labels[i], i / 150);
        assert_int_equal(one.train.pixels[18 * i + 1], (uint8_t)(i + 11));
    }
    dpt_dataset_free(&one);
    dpt_dataset_free(&two);

    put_text("many", "Train/c/140.png");
    put_text("many", "Train/b/100.png");
    put_text("many", "Test/a/000.png");
    for (int run = 0; run < 5; run++)
        expect_dataset_error("many", "many/Train/b/100.png: not a PNG file");
}

static int make_dir(void **state) {
    (void)state;
    return tmpdir_make("png");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gray),
        cmocka_unit_test(test_gray16_rounding),
        cmocka_unit_test(test_low_bit_gray),
        cmocka_unit_test(test_color),
        cmocka_unit_test(test_palette),
        cmocka_unit_test(test_interlaced),
        cmocka_unit_test(test_mask_values),
        cmocka_unit_test(test_mask_refusals),
        cmocka_unit_test(test_truncated_and_corrupt),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_class_order),
        cmocka_unit_test(test_sample_order_and_skipped),
        cmocka_unit_test(test_tree_defects),
        cmocka_unit_test(test_size_mismatch),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests_name("png", tests, make_dir, tmpdir_remove);
}
