/* IDX files (the MNIST format), raw or gzip-compressed, fully validated before use. */
#ifndef DPTRAIN_IDX_H
#define DPTRAIN_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "dptrain/error.h"

#define DPT_IDX_MAX_DIMS 4

typedef struct dpt_idx {
    uint8_t *data; /* dims[0] items of item_size bytes each */
    int ndims;
    uint32_t dims[DPT_IDX_MAX_DIMS];
    size_t item_size;
} dpt_idx;

/* Reads an unsigned-byte IDX file with exactly `ndims` dimensions. Checks the magic number,
   the rank, the dimensions and that the data is exactly as long as the header promises; every
   defect is one message naming the file, what was expected and what was found. Never allocates
   more than the file can hold (a gzip member expands at most 1032-fold). */
int dpt_idx_read(const char *path, int ndims, dpt_idx *out, dpt_err *err);
void dpt_idx_free(dpt_idx *idx);

#endif
