/* Linear's own kernels (linear_kernels.h). */
#include "linear_kernels.h"

#include <math.h>
#include <stddef.h>

#include "avx512.h"

enum { LANES = 16 };

/* The 16 lanes added 8 apart, 4, 2, 1: lane 0 holds the sum. */
static float add_lanes(float lane[LANES]) {
    for (int half = LANES / 2; half >= 1; half /= 2)
        for (int l = 0; l < half; l++) lane[l] += lane[l + half];
    return lane[0];
}

static void dots_plain(const float *in, const float *W, const float *b, float *out, int n, int nin,
                       int nout) {
    for (int s = 0; s < n; s++)
        for (int o = 0; o < nout; o++) {
            const float *x = in + (size_t)s * nin, *w = W + (size_t)o * nin;
            float lane[LANES] = {0};
            for (int k = 0; k < nin; k++) lane[k % LANES] = fmaf(x[k], w[k], lane[k % LANES]);
            out[(size_t)s * nout + o] = b[o] + add_lanes(lane);
        }
}

static void weight_grad_plain(const float *dout, const float *in, float *dW, int n, int nin,
                              int nout) {
    for (int o = 0; o < nout; o++)
        for (int i = 0; i < nin; i++) {
            float acc = 0;
            for (int s = 0; s < n; s++)
                acc = fmaf(dout[(size_t)s * nout + o], in[(size_t)s * nin + i], acc);
            dW[(size_t)o * nin + i] = acc;
        }
}

#if defined(__x86_64__) && defined(__GNUC__)
/* add_lanes on a vector. */
AVX512_INLINE float add_lanes16(__m512 v) {
    v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
    v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
    v = _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2)));
    v = _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm512_cvtss_f32(v);
}

/* S samples x O outputs from in row s and weight row o; S and O are constants where it is
   inlined, so the S * O sums stay in registers. */
AVX512_INLINE void dots_tile(const float *in, const float *W, const float *b, float *out, int nin,
                             int nout, int s, int o, int S, int O) {
    __m512 acc[4][6];
    const float *x[4], *w[6];
    for (int i = 0; i < S; i++) x[i] = in + (size_t)(s + i) * nin;
    for (int j = 0; j < O; j++) w[j] = W + (size_t)(o + j) * nin;
#pragma GCC unroll 4
    for (int i = 0; i < S; i++)
#pragma GCC unroll 6
        for (int j = 0; j < O; j++) acc[i][j] = _mm512_setzero_ps();
    int k = 0;
    for (; k + LANES <= nin; k += LANES) {
        __m512 wv[6];
#pragma GCC unroll 6
        for (int j = 0; j < O; j++) wv[j] = _mm512_loadu_ps(w[j] + k);
#pragma GCC unroll 4
        for (int i = 0; i < S; i++) {
            const __m512 xv = _mm512_loadu_ps(x[i] + k);
#pragma GCC unroll 6
            for (int j = 0; j < O; j++) acc[i][j] = _mm512_fmadd_ps(xv, wv[j], acc[i][j]);
        }
    }
    if (k < nin) { /* the lanes past the end keep their sums */
        const __mmask16 m = dpt_lanes(nin - k);
        __m512 wv[6];
#pragma GCC unroll 6
        for (int j = 0; j < O; j++) wv[j] = _mm512_maskz_loadu_ps(m, w[j] + k);
#pragma GCC unroll 4
        for (int i = 0; i < S; i++) {
            const __m512 xv = _mm512_maskz_loadu_ps(m, x[i] + k);
#pragma GCC unroll 6
            for (int j = 0; j < O; j++) acc[i][j] = _mm512_mask3_fmadd_ps(xv, wv[j], acc[i][j], m);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < S; i++)
#pragma GCC unroll 6
        for (int j = 0; j < O; j++)
            out[(size_t)(s + i) * nout + o + j] = b[o + j] + add_lanes16(acc[i][j]);
}

/* Samples in blocks whose inputs stay in cache while every weight row passes over them once. */
AVX512 static void dots_avx512(const float *in, const float *W, const float *b, float *out, int n,
                               int nin, int nout) {
    enum { BLOCK_BYTES = 128 * 1024 };
    int block = BLOCK_BYTES / (int)sizeof(float) / (nin > 0 ? nin : 1) / 4 * 4;
    block = block < 4 ? 4 : block;
    for (int s0 = 0; s0 < n; s0 += block) {
        const int s1 = s0 + block < n ? s0 + block : n;
        int o = 0;
        for (; o + 6 <= nout; o += 6) {
            int s = s0;
            for (; s + 4 <= s1; s += 4) dots_tile(in, W, b, out, nin, nout, s, o, 4, 6);
            for (; s < s1; s++) dots_tile(in, W, b, out, nin, nout, s, o, 1, 6);
        }
        for (; o < nout; o++) {
            int s = s0;
            for (; s + 4 <= s1; s += 4) dots_tile(in, W, b, out, nin, nout, s, o, 4, 1);
            for (; s < s1; s++) dots_tile(in, W, b, out, nin, nout, s, o, 1, 1);
        }
    }
}

/* O outputs x the 32 inputs from i (the lanes of m0, m1), over the n samples. */
AVX512_INLINE void weight_grad_tile(const float *dout, const float *in, float *dW, int n, int nin,
                                    int nout, int o, int i, __mmask16 m0, __mmask16 m1, int O) {
    __m512 acc[6][2];
#pragma GCC unroll 6
    for (int j = 0; j < O; j++) acc[j][0] = acc[j][1] = _mm512_setzero_ps();
    for (int s = 0; s < n; s++) {
        const float *x = in + (size_t)s * nin + i, *d = dout + (size_t)s * nout + o;
        const __m512 x0 = _mm512_maskz_loadu_ps(m0, x), x1 = _mm512_maskz_loadu_ps(m1, x + LANES);
#pragma GCC unroll 6
        for (int j = 0; j < O; j++) {
            const __m512 dv = _mm512_set1_ps(d[j]);
            acc[j][0] = _mm512_fmadd_ps(dv, x0, acc[j][0]);
            acc[j][1] = _mm512_fmadd_ps(dv, x1, acc[j][1]);
        }
    }
#pragma GCC unroll 6
    for (int j = 0; j < O; j++) {
        _mm512_mask_storeu_ps(dW + (size_t)(o + j) * nin + i, m0, acc[j][0]);
        _mm512_mask_storeu_ps(dW + (size_t)(o + j) * nin + i + LANES, m1, acc[j][1]);
    }
}

AVX512 static void weight_grad_avx512(const float *dout, const float *in, float *dW, int n, int nin,
                                      int nout) {
    for (int i = 0; i < nin; i += 2 * LANES) {
        const __mmask16 m0 = dpt_lanes(nin - i), m1 = dpt_lanes(nin - i - LANES);
        int o = 0;
        for (; o + 6 <= nout; o += 6) weight_grad_tile(dout, in, dW, n, nin, nout, o, i, m0, m1, 6);
        for (; o < nout; o++) weight_grad_tile(dout, in, dW, n, nin, nout, o, i, m0, m1, 1);
    }
}

#else
#define dots_avx512 dots_plain
#define weight_grad_avx512 weight_grad_plain
#endif

void dpt_linear_dots(const float *in, const float *W, const float *b, float *out, int n, int nin,
                     int nout, int fast) {
    (fast ? dots_avx512 : dots_plain)(in, W, b, out, n, nin, nout);
}

void dpt_linear_weight_grad(const float *dout, const float *in, float *dW, int n, int nin, int nout,
                            int fast) {
    (fast ? weight_grad_avx512 : weight_grad_plain)(dout, in, dW, n, nin, nout);
}
