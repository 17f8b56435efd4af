/* A convolution's bias gradient: db[m] += the sum of row m of d (M rows of P values), each row
   added in order, one value after another, as a loop over it would (the bits of every CPU and
   of im2col + sgemm's path, whose pins tests/e2e/preset_hashes.sh holds). The fast kernel (where
   dpt_avx512(), avx512.h) gives the plain one's bits; the tests compare them. Internal to the
   library. */
#ifndef DPTRAIN_SRC_LAYERS_ROW_SUMS_H
#define DPTRAIN_SRC_LAYERS_ROW_SUMS_H

void dpt_add_row_sums(const float *d, int M, int P, float *db, int fast);

#endif
