/* The common max-pool, 2x2 windows at stride 2, on whole planes: the output is the first maximum
   of each window (b > a ? b : a along each row, then the same down the column); the backward pass
   writes every input value, the output's gradient (0 + g) where the forward pass picked and +0
   elsewhere (an odd last row and column too). The fast kernels (where dpt_avx512(), avx512.h) give
   the plain ones' bits (only comparisons and selects); the tests compare them. Internal to the
   library. */
#ifndef DPTRAIN_SRC_LAYERS_MAXPOOL_2X2_H
#define DPTRAIN_SRC_LAYERS_MAXPOOL_2X2_H

#include <stddef.h>

/* out (planes, h/2, w/2) = the max-pool of in (planes, h, w). */
void dpt_pool2_forward(const float *in, size_t planes, int h, int w, float *out, int fast);

/* din (planes, h, w) = the input's gradient for the output's gradient dout (planes, h/2, w/2). */
void dpt_pool2_backward(const float *in, size_t planes, int h, int w, const float *dout, float *din,
                        int fast);

#endif
