/* Fuzzes the PNG loader (dpt_png_read and dpt_png_read_mask, src/png_image.c): the input is
   the file. Its header is read alone, then the image is decoded into a buffer of exactly the
   size the header promised (ASan catches a write past it), as an image and as a mask; a buffer
   one byte short must be refused. Images over 2^24 samples (libpng decoding up to 2^28
   promised by a few hundred bytes of input) are only read to the header, to keep inputs fast. */
#include <stdlib.h>
#include <string.h>

#include "dptrain/png_image.h"
#include "fuzz.h"

enum { MAX_DECODED = 1 << 24 };

static void read_as(const char *path, int mask) {
    int (*decode)(const char *, dpt_png_info *, uint8_t *, size_t, dpt_err *) =
        mask ? dpt_png_read_mask : dpt_png_read;
    const char *harness = mask ? "png (mask)" : "png";
    dpt_png_info head, info;
    dpt_err err = {{0}};
    if (decode(path, &head, NULL, 0, &err) != 0) {
        fuzz_refused(harness, &err);
        return;
    }
    if ((mask && head.channels != 1) || (head.channels != 1 && head.channels != 3))
        fuzz_fail(harness, "a header with another channel count");
    const size_t samples = (size_t)head.channels * head.height * head.width;
    if (samples > MAX_DECODED) return;
    uint8_t *pixels = malloc(samples ? samples : 1);
    if (!pixels) return;
    if (samples && decode(path, &info, pixels, samples - 1, &err) == 0)
        fuzz_fail(harness, "decoded into a buffer one byte short");
    err.msg[0] = 0;
    if (decode(path, &info, pixels, samples, &err) == 0) {
        if (memcmp(&info, &head, sizeof info) != 0)
            fuzz_fail(harness, "the decoded size differs from the header's");
        fuzz_read_all(pixels, samples);
        fuzz_say(harness, "decoded");
    } else {
        fuzz_refused(harness, &err);
    }
    free(pixels);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(0, data, size);
    read_as(path, 0);
    read_as(path, 1);
    return 0;
}
