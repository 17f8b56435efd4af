/* Writing test files: PNGs of any color type and bit depth through libpng (raw bytes and the
   folders above a path: tmpdir.h). Shared by the PNG reader's tests and the segmentation
   dataset's. Every failure fails the running cmocka test. */
#ifndef DPTRAIN_TESTS_PNG_WRITER_H
#define DPTRAIN_TESTS_PNG_WRITER_H

#include <png.h>
#include <stdint.h>

/* What write_png writes: rows holds the file's own samples (packed below 8 bits, big-endian at
   16), (width x channels x bit_depth + 7) / 8 bytes per row. */
typedef struct png_spec {
    uint32_t width, height;
    int color_type, bit_depth, interlace;
    const png_color *palette;
    int npalette;
    const uint8_t *palette_alpha; /* tRNS of a palette image */
    int nalpha;
    const png_color_16 *trans_color; /* tRNS of a gray or RGB image */
} png_spec;

void write_png(const char *path, const png_spec *s, const uint8_t *rows);
/* A c x h x w image (1: gray, 3: RGB) of 8-bit samples given channel-major. */
void write_planar(const char *path, uint32_t c, uint32_t h, uint32_t w, const uint8_t *planes);

#endif
