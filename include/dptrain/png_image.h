/* One PNG file decoded through libpng, as an image or as a segmentation mask. An image gives
   8-bit samples, channel-major (c x h x w):
   gray and gray+alpha give 1 channel; RGB, RGBA and palette images give 3. Alpha (and tRNS
   transparency) is dropped, keeping the color samples as stored, like PIL's convert("RGB");
   16-bit samples are scaled to 8 bits with rounding (v * 255 / 65535); 1/2/4-bit gray is
   expanded to 0..255. */
#ifndef DPTRAIN_PNG_IMAGE_H
#define DPTRAIN_PNG_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "dptrain/error.h"

typedef struct dpt_png_info {
    uint32_t channels, height, width;
} dpt_png_info;

/* Reads path's header into *info (refusing images over 2^28 samples before decoding anything).
   When pixels is not NULL, also decodes the image into it; capacity is its size in bytes and
   must hold channels x height x width. Refuses a path that is not a regular file. */
int dpt_png_read(const char *path, dpt_png_info *info, uint8_t *pixels, size_t capacity,
                 dpt_err *err);
/* Reads path as a segmentation mask: one 8-bit class index per pixel (info->channels is 1),
   the sample values of a gray image of 1 to 8 bits (unscaled: a 1-bit mask holds 0 and 1) or
   the palette indices of a palette image, whatever the palette's colors. Refuses RGB, RGBA,
   gray+alpha and 16-bit images in one line. Otherwise as dpt_png_read. */
int dpt_png_read_mask(const char *path, dpt_png_info *info, uint8_t *values, size_t capacity,
                      dpt_err *err);

#endif
