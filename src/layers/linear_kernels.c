/* Linear's own kernels (linear_kernels.h). */
#include "linear_kernels.h"

#include <math.h>
#include <stddef.h>

#include "avx512.h"

enum { LANES = 16 };

static void dots_plain(const float *in, const float *W, const float *b, float *out, int n, int nin,
                       int nout) {
    for (int s = 0; s < n; s++)
        for (int o = 0; o < nout; o++) {
            const float *x = in + (size_t)s * nin, *w = W + (size_t)o * nin;
            float lane[LANES] = {0};
            for (int k = 0; k < nin; k++) lane[k % LANES] = fmaf(x[k], w[k], lane[k % LANES]);
            out[(size_t)s * nout + o] = b[o] + dpt_lane_sum(lane);
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
/* dpt_lane_sum on a vector. */
AVX512_INLINE float add_lanes16(__m512 v) {
    v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
    v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
    v = _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2)));
    v = _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm512_cvtss_f32(v);
}

/* dpt_lane_sum on 16 vectors at once, by shuffles of pairs: lane 4k + j of the result holds the sum
   of v[4j + k]. */
AVX512_INLINE __m512 add_lanes16x16(const __m512 v[16]) {
    __m512 half[8], quarter[4], pair[2];
    for (int m = 0; m < 8; m++) /* [v[2m] lanes l + l+8, v[2m+1] lanes l + l+8] */
        half[m] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * m], v[2 * m + 1], 0x44),
                                _mm512_shuffle_f32x4(v[2 * m], v[2 * m + 1], 0xEE));
    for (int p = 0; p < 4; p++) /* quarter k: v[4p + k] lanes l + l+4 */
        quarter[p] = _mm512_add_ps(_mm512_shuffle_f32x4(half[2 * p], half[2 * p + 1], 0x88),
                                   _mm512_shuffle_f32x4(half[2 * p], half[2 * p + 1], 0xDD));
    for (int r = 0; r < 2; r++) { /* quarter k: v[8r + k], v[8r + 4 + k] lanes l + l+2 */
        const __m512d a = _mm512_castps_pd(quarter[2 * r]),
                      b = _mm512_castps_pd(quarter[2 * r + 1]);
        pair[r] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)),
                                _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
    }
    return _mm512_add_ps(_mm512_shuffle_ps(pair[0], pair[1], 0x88),
                         _mm512_shuffle_ps(pair[0], pair[1], 0xDD));
}

/* S samples x O outputs from in row s and weight row o; S and O are constants where it is
   inlined, so the S * O sums stay in registers. A full 4 x 4 tile adds its lanes 16 dot
   products at a time. */
AVX512_INLINE void dots_tile(const float *in, const float *W, const float *b, float *out, int nin,
                             int nout, int s, int o, int S, int O) {
    __m512 acc[4][4];
    const float *x[4], *w[4];
    for (int i = 0; i < S; i++) x[i] = in + (size_t)(s + i) * nin;
    for (int j = 0; j < O; j++) w[j] = W + (size_t)(o + j) * nin;
#pragma GCC unroll 4
    for (int i = 0; i < S; i++)
#pragma GCC unroll 4
        for (int j = 0; j < O; j++) acc[i][j] = _mm512_setzero_ps();
    int k = 0;
    for (; k + LANES <= nin; k += LANES) {
        __m512 wv[4];
#pragma GCC unroll 4
        for (int j = 0; j < O; j++) wv[j] = _mm512_loadu_ps(w[j] + k);
#pragma GCC unroll 4
        for (int i = 0; i < S; i++) {
            const __m512 xv = _mm512_loadu_ps(x[i] + k);
#pragma GCC unroll 4
            for (int j = 0; j < O; j++) acc[i][j] = _mm512_fmadd_ps(xv, wv[j], acc[i][j]);
        }
    }
    if (k < nin) { /* the lanes past the end keep their sums */
        const __mmask16 m = dpt_lanes(nin - k);
        __m512 wv[4];
#pragma GCC unroll 4
        for (int j = 0; j < O; j++) wv[j] = _mm512_maskz_loadu_ps(m, w[j] + k);
#pragma GCC unroll 4
        for (int i = 0; i < S; i++) {
            const __m512 xv = _mm512_maskz_loadu_ps(m, x[i] + k);
#pragma GCC unroll 4
            for (int j = 0; j < O; j++) acc[i][j] = _mm512_mask3_fmadd_ps(xv, wv[j], acc[i][j], m);
        }
    }
    if (S == 4 && O == 4) {
        __m512 v[16];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) v[4 * j + i] = acc[i][j]; /* lane 4i + j: acc[i][j] */
        const __m512 sums =
            _mm512_add_ps(_mm512_broadcast_f32x4(_mm_loadu_ps(b + o)), add_lanes16x16(v));
        _mm_storeu_ps(out + (size_t)s * nout + o, _mm512_extractf32x4_ps(sums, 0));
        _mm_storeu_ps(out + (size_t)(s + 1) * nout + o, _mm512_extractf32x4_ps(sums, 1));
        _mm_storeu_ps(out + (size_t)(s + 2) * nout + o, _mm512_extractf32x4_ps(sums, 2));
        _mm_storeu_ps(out + (size_t)(s + 3) * nout + o, _mm512_extractf32x4_ps(sums, 3));
        return;
    }
#pragma GCC unroll 4
    for (int i = 0; i < S; i++)
#pragma GCC unroll 4
        for (int j = 0; j < O; j++)
            out[(size_t)(s + i) * nout + o + j] = b[o + j] + add_lanes16(acc[i][j]);
}

/* Samples [s0, s1) x outputs [o, o + O), O a constant where it is inlined. */
AVX512_INLINE void dots_column(const float *in, const float *W, const float *b, float *out, int nin,
                               int nout, int s0, int s1, int o, int O) {
    int s = s0;
    for (; s + 4 <= s1; s += 4) dots_tile(in, W, b, out, nin, nout, s, o, 4, O);
    for (; s < s1; s++) dots_tile(in, W, b, out, nin, nout, s, o, 1, O);
}

/* Samples in blocks whose inputs stay in cache while every weight row passes over them once;
   the last outputs (fewer than 4) in columns of tiles 2 and 1 wide. */
AVX512 static void dots_avx512(const float *in, const float *W, const float *b, float *out, int n,
                               int nin, int nout) {
    enum { BLOCK_BYTES = 128 * 1024 };
    int block = BLOCK_BYTES / (int)sizeof(float) / (nin > 0 ? nin : 1) / 4 * 4;
    block = block < 4 ? 4 : block;
    for (int s0 = 0; s0 < n; s0 += block) {
        const int s1 = s0 + block < n ? s0 + block : n;
        int o = 0;
        for (; o + 4 <= nout; o += 4) dots_column(in, W, b, out, nin, nout, s0, s1, o, 4);
        if (nout - o >= 2) dots_column(in, W, b, out, nin, nout, s0, s1, o, 2), o += 2;
        if (nout - o >= 1) dots_column(in, W, b, out, nin, nout, s0, s1, o, 1);
    }
}

/* O outputs x the V vectors of inputs from i (the lanes of m[0], m[1]), over the n samples; O
   and V constants where it is inlined. */
AVX512_INLINE void weight_grad_tile(const float *dout, const float *in, float *dW, int n, int nin,
                                    int nout, int o, int i, const __mmask16 m[2], int O, int V) {
    __m512 acc[6][2];
#pragma GCC unroll 6
    for (int j = 0; j < O; j++)
#pragma GCC unroll 2
        for (int v = 0; v < V; v++) acc[j][v] = _mm512_setzero_ps();
    for (int s = 0; s < n; s++) {
        const float *x = in + (size_t)s * nin + i, *d = dout + (size_t)s * nout + o;
        __m512 xv[2];
#pragma GCC unroll 2
        for (int v = 0; v < V; v++) xv[v] = _mm512_maskz_loadu_ps(m[v], x + v * LANES);
#pragma GCC unroll 6
        for (int j = 0; j < O; j++) {
            const __m512 dv = _mm512_set1_ps(d[j]);
#pragma GCC unroll 2
            for (int v = 0; v < V; v++) acc[j][v] = _mm512_fmadd_ps(dv, xv[v], acc[j][v]);
        }
    }
#pragma GCC unroll 6
    for (int j = 0; j < O; j++)
#pragma GCC unroll 2
        for (int v = 0; v < V; v++)
            _mm512_mask_storeu_ps(dW + (size_t)(o + j) * nin + i + v * LANES, m[v], acc[j][v]);
}

/* Every output x the V vectors of inputs from i: tiles of 6 outputs, then of 4, 2, 1. */
AVX512_INLINE void weight_grad_columns(const float *dout, const float *in, float *dW, int n,
                                       int nin, int nout, int i, int V) {
    const __mmask16 m[2] = {dpt_lanes(nin - i), dpt_lanes(nin - i - LANES)};
    int o = 0;
    for (; o + 6 <= nout; o += 6) weight_grad_tile(dout, in, dW, n, nin, nout, o, i, m, 6, V);
    if (nout - o >= 4) weight_grad_tile(dout, in, dW, n, nin, nout, o, i, m, 4, V), o += 4;
    if (nout - o >= 2) weight_grad_tile(dout, in, dW, n, nin, nout, o, i, m, 2, V), o += 2;
    if (nout - o >= 1) weight_grad_tile(dout, in, dW, n, nin, nout, o, i, m, 1, V);
}

/* Inputs 32 at a time; a last 16 or fewer in one vector. */
AVX512 static void weight_grad_avx512(const float *dout, const float *in, float *dW, int n, int nin,
                                      int nout) {
    for (int i = 0; i < nin; i += 2 * LANES) {
        if (nin - i > LANES)
            weight_grad_columns(dout, in, dW, n, nin, nout, i, 2);
        else
            weight_grad_columns(dout, in, dW, n, nin, nout, i, 1);
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
