/* Linear's forward and weight gradient in dptrain's own kernels, which read the weights and
   inputs as they are stored: no packing, which OpenBLAS's sgemm does again for every call (for
   mlp300's 300 x 784 weights, a third of the forward product's time), and no zeroing pass before
   the weight gradient is written. The fast kernels (AVX-512) and the plain ones give the same
   bits; the tests compare them. Internal to the library. */
#ifndef DPTRAIN_SRC_LAYERS_LINEAR_KERNELS_H
#define DPTRAIN_SRC_LAYERS_LINEAR_KERNELS_H

/* out (n, nout) = in (n, nin) W^T + b, W (nout, nin): out[s][o] = b[o] + the dot product of input
   row s and weight row o, computed in 16 lanes (value k into lane k mod 16 by a fused
   multiply-add, in the order of k), the lanes then added 8 apart, 4, 2, 1, the bias last.
   fast: the AVX-512 kernel (4 samples x 4 outputs in registers; only where dpt_avx512()), else
   the plain one. Linear uses them where dpt_own_kernels() (avx512.h). */
void dpt_linear_dots(const float *in, const float *W, const float *b, float *out, int n, int nin,
                     int nout, int fast);

/* dW (nout, nin) = dout^T (nout, n) in (n, nin): dW[o][i] is one chain of fused multiply-adds
   dout[s][o] * in[s][i] over the samples s in order, from +0 (OpenBLAS's sgemm computes the same
   chain while the samples fit one of its blocks). fast: the AVX-512 kernel (6 outputs x 32
   inputs in registers), else the plain one. */
void dpt_linear_weight_grad(const float *dout, const float *in, float *dW, int n, int nin, int nout,
                            int fast);

#endif
