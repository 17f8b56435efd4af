#define _POSIX_C_SOURCE 200809L /* fdopen, O_CLOEXEC and the XSI strerror_r */
#include "dptrain/png_image.h"

#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* No image holds more samples than this. */
#define PNG_MAX_SAMPLES ((uint64_t)1 << 28)

/* One call's state: libpng's callbacks reach it through their user pointers, and it lives in
   dpt_png_read's frame so that nothing decode() changes is lost when libpng longjmps out. */
typedef struct png_reader {
    const char *path;
    int mask; /* read as a mask: one class index per pixel */
    dpt_err *err;
    FILE *file;
    png_structp png;
    png_infop info;
    uint8_t *rows;     /* one interleaved row, or the whole image when interlaced */
    char warning[160]; /* libpng's first warning: it often says what the error is about */
} png_reader;

/* strerror is not promised to be thread-safe; images are read from several threads. */
static const char *describe_errno(int code, char *buf, size_t size) {
    if (strerror_r(code, buf, size) != 0) snprintf(buf, size, "error %d", code);
    return buf;
}

static void on_error(png_structp png, png_const_charp msg) {
    png_reader *r = png_get_error_ptr(png);
    if (r->warning[0])
        dpt_fail(r->err, "%s: corrupt or truncated PNG (libpng: %s; %s)", r->path, msg, r->warning);
    else
        dpt_fail(r->err, "%s: corrupt or truncated PNG (libpng: %s)", r->path, msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
    png_reader *r = png_get_error_ptr(png);
    if (!r->warning[0]) snprintf(r->warning, sizeof r->warning, "%s", msg);
}

static void read_data(png_structp png, png_bytep data, size_t length) {
    png_reader *r = png_get_io_ptr(png);
    if (fread(data, 1, length, r->file) == length) return;
    if (!ferror(r->file)) png_error(png, "the file ends early");
    char why[128];
    dpt_fail(r->err, "%s: cannot read: %s", r->path, describe_errno(errno, why, sizeof why));
    png_longjmp(png, 1);
}

/* Output channels of a PNG color type after the transformations below. */
static uint32_t channels_of(int color_type) {
    return (color_type & PNG_COLOR_MASK_COLOR) ? 3 : 1;
}

/* Why a PNG of this color type and bit depth cannot be a mask, or NULL when it can. */
static const char *not_a_mask(int color_type, int bit_depth) {
    switch (color_type) {
    case PNG_COLOR_TYPE_RGB:
        return "an RGB image (3 channels)";
    case PNG_COLOR_TYPE_RGB_ALPHA:
        return "an RGBA image (4 channels)";
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        return "a gray+alpha image (2 channels)";
    default:
        return bit_depth > 8 ? "a 16-bit image" : NULL;
    }
}

/* Scatters one interleaved row (w pixels of c samples) into the planes of a c x h x w image. */
static void deinterleave(const uint8_t *row, uint32_t c, uint32_t w, size_t plane, uint8_t *out) {
    if (c == 1) {
        memcpy(out, row, w);
        return;
    }
    for (uint32_t ch = 0; ch < c; ch++)
        for (uint32_t x = 0; x < w; x++) out[ch * plane + x] = row[(size_t)x * c + ch];
}

/* Everything that may end in libpng's longjmp, which returns here as -1 with the message
   already in r->err. */
static int decode(png_reader *r, dpt_png_info *out, uint8_t *pixels, size_t capacity) {
    if (setjmp(png_jmpbuf(r->png))) return -1;
    png_set_read_fn(r->png, r, read_data);
    png_set_sig_bytes(r->png, 8);
    /* No side beyond this can pass the sample check below; libpng refuses it in the header. */
    png_set_user_limits(r->png, (png_uint_32)PNG_MAX_SAMPLES, (png_uint_32)PNG_MAX_SAMPLES);
    /* Text, color profiles and the like are skipped unread: only pixels matter here. */
    png_set_keep_unknown_chunks(r->png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
    png_read_info(r->png, r->info);

    const uint32_t w = png_get_image_width(r->png, r->info);
    const uint32_t h = png_get_image_height(r->png, r->info);
    const int color_type = png_get_color_type(r->png, r->info);
    const char *problem =
        r->mask ? not_a_mask(color_type, png_get_bit_depth(r->png, r->info)) : NULL;
    if (problem)
        return dpt_fail(r->err,
                        "%s: %s; a mask holds one 8-bit class index per pixel (a gray or palette "
                        "PNG)",
                        r->path, problem);
    const uint32_t c = r->mask ? 1 : channels_of(color_type);
    const uint64_t samples = (uint64_t)c * h * w;
    if (samples > PNG_MAX_SAMPLES)
        return dpt_fail(r->err,
                        "%s: the PNG header promises a %ux%u image, more than dptrain reads "
                        "(%ux%ux%u = %llu samples, at most %llu)",
                        r->path, w, h, c, h, w, (unsigned long long)samples,
                        (unsigned long long)PNG_MAX_SAMPLES);
    *out = (dpt_png_info){.channels = c, .height = h, .width = w};
    if (!pixels) return 0;
    if (capacity < samples)
        return dpt_fail(r->err, "%s: a %ux%ux%u image does not fit the %zu bytes given", r->path, c,
                        h, w, capacity);

    if (r->mask) {
        png_set_packing(r->png); /* gray values and palette indices, one byte each, unscaled */
    } else {
        png_set_palette_to_rgb(r->png);
        png_set_expand_gray_1_2_4_to_8(r->png);
        png_set_strip_alpha(r->png); /* with no png_set_tRNS_to_alpha, tRNS is dropped too */
        png_set_scale_16(r->png);
    }
    const int passes = png_set_interlace_handling(r->png);
    png_read_update_info(r->png, r->info);
    const size_t rowbytes = png_get_rowbytes(r->png, r->info);
    if (png_get_bit_depth(r->png, r->info) != 8 || png_get_channels(r->png, r->info) != c ||
        rowbytes != (size_t)c * w)
        return dpt_fail(r->err, "%s: libpng did not give 8-bit %u-channel rows", r->path, c);

    /* Interlaced passes each fill part of every row, so those images are buffered whole. */
    const size_t buffered = passes > 1 ? h : 1;
    if (!(r->rows = malloc(buffered * rowbytes)))
        return dpt_fail(r->err, "%s: out of memory for %zu bytes", r->path, buffered * rowbytes);
    for (int pass = 0; pass < passes; pass++)
        for (uint32_t y = 0; y < h; y++) {
            uint8_t *row = r->rows + (passes > 1 ? y * rowbytes : 0);
            png_read_row(r->png, row, NULL);
            if (pass == passes - 1) deinterleave(row, c, w, (size_t)h * w, pixels + (size_t)y * w);
        }
    png_read_end(r->png, NULL);
    return 0;
}

static int read_png(const char *path, int mask, dpt_png_info *info, uint8_t *pixels,
                    size_t capacity, dpt_err *err) {
    *info = (dpt_png_info){0};
    char why[128];
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return dpt_fail(err, "%s: cannot open: %s", path, describe_errno(errno, why, sizeof why));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return dpt_fail(err, "%s: not a regular file (a FIFO, device or folder)", path);
    }
    png_reader r = {.path = path, .mask = mask, .err = err};
    if (!(r.file = fdopen(fd, "rb"))) {
        close(fd);
        return dpt_fail(err, "%s: cannot open: %s", path, describe_errno(errno, why, sizeof why));
    }
    uint8_t signature[8];
    int rc;
    if (fread(signature, 1, sizeof signature, r.file) != sizeof signature ||
        png_sig_cmp(signature, 0, sizeof signature) != 0) {
        rc = ferror(r.file) ? dpt_fail(err, "%s: cannot read: %s", path,
                                       describe_errno(errno, why, sizeof why))
                            : dpt_fail(err, "%s: not a PNG file", path);
    } else if (!(r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, on_error, on_warning)) ||
               !(r.info = png_create_info_struct(r.png))) {
        rc = dpt_fail(err, "%s: out of memory for libpng", path);
    } else {
        rc = decode(&r, info, pixels, capacity);
    }
    png_destroy_read_struct(&r.png, &r.info, NULL);
    free(r.rows);
    fclose(r.file);
    if (rc != 0) *info = (dpt_png_info){0};
    return rc;
}

int dpt_png_read(const char *path, dpt_png_info *info, uint8_t *pixels, size_t capacity,
                 dpt_err *err) {
    return read_png(path, 0, info, pixels, capacity, err);
}

int dpt_png_read_mask(const char *path, dpt_png_info *info, uint8_t *values, size_t capacity,
                      dpt_err *err) {
    return read_png(path, 1, info, values, capacity, err);
}
