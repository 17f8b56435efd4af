/* Fuzzes the IDX reader (dpt_idx_read, src/idx.c), raw and gzip. An input starting with gzip's
   magic bytes is a .gz file (valid or corrupt), read as images (3 dimensions) and as labels (1).
   Any other input is read as a raw file, then gzip-compressed with zlib and read again, which
   reaches the header and size checks behind a valid gzip stream; the dimension count asked for
   is the header's own when it is 1 to 4, else 3. An IDX that loads must hold dims[0] x
   item_size readable bytes. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dptrain/idx.h"
#include "fuzz.h"

static void read_idx(const char *path, int ndims) {
    dpt_idx idx;
    dpt_err err = {{0}};
    if (dpt_idx_read(path, ndims, &idx, &err) != 0) {
        fuzz_refused("idx", &err);
        return;
    }
    if (idx.ndims != ndims || !idx.data) fuzz_fail("idx", "loaded without its dimensions or data");
    fuzz_read_all(idx.data, (size_t)idx.dims[0] * idx.item_size);
    fuzz_say("idx", "loaded");
    dpt_idx_free(&idx);
}

/* data gzip-compressed (a gzip header, as gzip(1) writes), malloc'd into *out. */
static size_t gzip(const uint8_t *data, size_t size, uint8_t **out) {
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        fuzz_fail("idx", "deflateInit2 failed");
    const uLong cap = deflateBound(&z, (uLong)size);
    if (!(*out = malloc(cap))) fuzz_fail("idx", "out of memory");
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)size;
    z.next_out = *out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) fuzz_fail("idx", "deflate failed");
    const size_t n = z.total_out;
    deflateEnd(&z);
    return n;
}

static int ndims_of(const uint8_t *data, size_t size) {
    return size >= 4 && data[3] >= 1 && data[3] <= DPT_IDX_MAX_DIMS ? data[3] : 3;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *raw = fuzz_file(0, data, size);
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) { /* a .gz file: as images, as labels */
        read_idx(raw, 3);
        read_idx(raw, 1);
        return 0;
    }
    const int ndims = ndims_of(data, size);
    read_idx(raw, ndims);
    uint8_t *packed;
    const size_t n = gzip(data, size, &packed);
    read_idx(fuzz_file(1, packed, n), ndims);
    free(packed);
    return 0;
}
