/* Direct convolution, stride 1: no unfolded column matrix and no GEMM packing, the per-sample
   work of im2col + sgemm done in registers. Each output value is its bias (or +0) plus, in the
   order of input channel, kernel row, kernel column, one fused multiply-add of a weight with the
   input padded by `pad` zeros: out[m][y][x] = fma(w[m][c][ky][kx], p[c][y+ky][x+kx], ...).
   Conv uses it for its forward pass and, with the kernel transposed and flipped, for its input
   gradient (a stride-1 convolution of the output gradient padded by k-1-pad). The fast kernel
   needs AVX-512; a plain one, slow, gives the same bits and is what the tests compare it with.
   Internal to the library. */
#ifndef DPTRAIN_SRC_LAYERS_CONV_DIRECT_H
#define DPTRAIN_SRC_LAYERS_CONV_DIRECT_H

#include <stddef.h>

typedef struct dpt_direct {
    int c, h, w; /* the input image */
    int m;       /* output channels */
    int k, pad;  /* the output is (h + 2*pad - k + 1) x (w + 2*pad - k + 1) */
} dpt_direct;

/* Floats of scratch dpt_direct_conv needs, and of the packed weights. */
size_t dpt_direct_scratch(const dpt_direct *d);
size_t dpt_direct_packed(const dpt_direct *d);

/* packed = w (m, c, k, k) in the kernel's layout; flip: w is a forward convolution's weight
   (c, m, k, k) and d its input gradient's convolution, the kernel transposed and rotated by 180
   degrees. */
void dpt_direct_pack(const dpt_direct *d, const float *w, int flip, float *packed);

/* out (m, h', w') = the convolution of in (c, h, w) with the packed weights, plus bias (m values,
   or NULL); scratch of dpt_direct_scratch floats. fast: the AVX-512 kernel (only where
   dpt_own_kernels(), avx512.h), else the plain one. */
void dpt_direct_conv(const dpt_direct *d, const float *packed, const float *bias, const float *in,
                     float *out, float *scratch, int fast);

/* Floats of scratch dpt_direct_weight_grad needs for n samples. */
size_t dpt_direct_grad_scratch(const dpt_direct *d, int n);

/* dw (m, c, k, k) = the weight gradient of n samples' convolutions, their inputs in (n, c, h, w)
   and output gradients dout (n, m, h', w'): each weight's sum in 16 lanes (output y*(w+2*pad)+x
   of each sample, in order, into lane (y*(w+2*pad)+x) mod 16 by a fused multiply-add), the
   lanes then added 8 apart, 4, 2, 1. */
void dpt_direct_weight_grad(const dpt_direct *d, int n, const float *in, const float *dout,
                            float *dw, float *scratch, int fast);

#endif
