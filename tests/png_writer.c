/* Writing test files (png_writer.h). */
#include "png_writer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

void write_png(const char *path, const png_spec *s, const uint8_t *rows) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(info);
    png_init_io(png, f);
    png_set_IHDR(png, info, s->width, s->height, s->bit_depth, s->color_type,
                 s->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (s->palette) png_set_PLTE(png, info, s->palette, s->npalette);
    if (s->palette_alpha || s->trans_color)
        png_set_tRNS(png, info, s->palette_alpha, s->nalpha, s->trans_color);
    png_text text = {.compression = PNG_TEXT_COMPRESSION_NONE, .key = "Comment", .text = "test"};
    png_set_text(png, info, &text, 1); /* a chunk the reader skips */
    png_write_info(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    png_bytep *pointers = malloc(s->height * sizeof *pointers);
    assert_non_null(pointers);
    for (uint32_t y = 0; y < s->height; y++) pointers[y] = (png_bytep)rows + y * rowbytes;
    png_write_image(png, pointers);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(pointers);
    assert_int_equal(fclose(f), 0);
}

void write_planar(const char *path, uint32_t c, uint32_t h, uint32_t w, const uint8_t *planes) {
    uint8_t *rows = malloc((size_t)c * h * w);
    assert_non_null(rows);
    for (uint32_t ch = 0; ch < c; ch++)
        for (size_t i = 0; i < (size_t)h * w; i++) rows[i * c + ch] = planes[ch * h * w + i];
    png_spec s = {.width = w,
                  .height = h,
                  .color_type = c == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
                  .bit_depth = 8};
    write_png(path, &s, rows);
    free(rows);
}
