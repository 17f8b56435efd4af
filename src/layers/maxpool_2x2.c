/* 2x2, stride-2 max-pool kernels (maxpool_2x2.h). The AVX-512 kernels take 16 outputs of a row
   at a time: 32 values of each of the window's two input rows, split into even and odd columns by
   a permutation, compared, selected; the backward pass interleaves its even and odd columns
   again. Straight C compiled for AVX-512 ran slower than these, not faster: the compiler's
   stride-2 stores. */
#include "maxpool_2x2.h"

#include "avx512.h"

#include <string.h>

/* Row oy of a plane p (w wide) into dst (ow values). */
static void forward_row(const float *p, int w, int oy, float *dst, int ow) {
    const float *r0 = p + (size_t)2 * oy * w, *r1 = r0 + w;
    for (int ox = 0; ox < ow; ox++) {
        const float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
        const float top = b > a ? b : a, bottom = d > c ? d : c;
        dst[ox] = bottom > top ? bottom : top;
    }
}

/* The gradient of rows 2*oy and 2*oy + 1 (dp, w wide) from g (ow values). */
static void backward_row(const float *p, int w, int oy, const float *g, float *dp, int ow) {
    const float *r0 = p + (size_t)2 * oy * w, *r1 = r0 + w;
    float *d0 = dp + (size_t)2 * oy * w, *d1 = d0 + w;
    for (int ox = 0; ox < ow; ox++) {
        const float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
        const float top = b > a ? b : a, bottom = d > c ? d : c, v = 0.0f + g[ox];
        const float upper = bottom > top ? 0.0f : v, lower = bottom > top ? v : 0.0f;
        d0[2 * ox] = b > a ? 0.0f : upper;
        d0[2 * ox + 1] = b > a ? upper : 0.0f;
        d1[2 * ox] = d > c ? 0.0f : lower;
        d1[2 * ox + 1] = d > c ? lower : 0.0f;
    }
}

typedef void row_fn(const float *p, int w, int oy, float *dst, int ow);
typedef void grad_row_fn(const float *p, int w, int oy, const float *g, float *dp, int ow);

#if defined(__x86_64__) && defined(__GNUC__)
/* The window's values a b / c d for outputs [ox, ox + 16) of row oy, within *out (outputs kept)
   and *lo, *hi (the 32 inputs of each row). */
typedef struct windows {
    __m512 a, b, c, d;
    __mmask16 out, lo, hi;
} windows;

AVX512 static inline windows load_windows(const float *p, int w, int oy, int ox, int ow) {
    const __m512i even =
                      _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30),
                  odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const int n = ow - ox < 16 ? ow - ox : 16, in = 2 * n;
    windows v = {.out = dpt_lanes(n), .lo = dpt_lanes(in), .hi = dpt_lanes(in - 16)};
    const float *r0 = p + (size_t)2 * oy * w + 2 * ox, *r1 = r0 + w;
    const __m512 r0lo = _mm512_maskz_loadu_ps(v.lo, r0),
                 r0hi = _mm512_maskz_loadu_ps(v.hi, r0 + 16);
    const __m512 r1lo = _mm512_maskz_loadu_ps(v.lo, r1),
                 r1hi = _mm512_maskz_loadu_ps(v.hi, r1 + 16);
    v.a = _mm512_permutex2var_ps(r0lo, even, r0hi), v.b = _mm512_permutex2var_ps(r0lo, odd, r0hi);
    v.c = _mm512_permutex2var_ps(r1lo, even, r1hi), v.d = _mm512_permutex2var_ps(r1lo, odd, r1hi);
    return v;
}

AVX512 static inline __m512 larger(__m512 x, __m512 y) { /* y > x ? y : x */
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(y, x, _CMP_GT_OQ), x, y);
}

AVX512 static void forward_row_avx512(const float *p, int w, int oy, float *dst, int ow) {
    for (int ox = 0; ox < ow; ox += 16) {
        const windows v = load_windows(p, w, oy, ox, ow);
        _mm512_mask_storeu_ps(dst + ox, v.out, larger(larger(v.a, v.b), larger(v.c, v.d)));
    }
}

AVX512 static void backward_row_avx512(const float *p, int w, int oy, const float *g, float *dp,
                                       int ow) {
    const __m512i first = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23),
                  second = _mm512_add_epi32(first, _mm512_set1_epi32(8));
    float *d0 = dp + (size_t)2 * oy * w, *d1 = d0 + w;
    for (int ox = 0; ox < ow; ox += 16) {
        const windows v = load_windows(p, w, oy, ox, ow);
        const __mmask16 right = _mm512_cmp_ps_mask(v.b, v.a, _CMP_GT_OQ),
                        right_low = _mm512_cmp_ps_mask(v.d, v.c, _CMP_GT_OQ),
                        low = _mm512_cmp_ps_mask(larger(v.c, v.d), larger(v.a, v.b), _CMP_GT_OQ);
        const __m512 g16 = _mm512_add_ps(_mm512_setzero_ps(), _mm512_maskz_loadu_ps(v.out, g + ox));
        const __m512 upper = _mm512_maskz_mov_ps((__mmask16)~low, g16),
                     lower = _mm512_maskz_mov_ps(low, g16);
        const __m512 e0 = _mm512_maskz_mov_ps((__mmask16)~right, upper),
                     o0 = _mm512_maskz_mov_ps(right, upper),
                     e1 = _mm512_maskz_mov_ps((__mmask16)~right_low, lower),
                     o1 = _mm512_maskz_mov_ps(right_low, lower);
        _mm512_mask_storeu_ps(d0 + 2 * ox, v.lo, _mm512_permutex2var_ps(e0, first, o0));
        _mm512_mask_storeu_ps(d0 + 2 * ox + 16, v.hi, _mm512_permutex2var_ps(e0, second, o0));
        _mm512_mask_storeu_ps(d1 + 2 * ox, v.lo, _mm512_permutex2var_ps(e1, first, o1));
        _mm512_mask_storeu_ps(d1 + 2 * ox + 16, v.hi, _mm512_permutex2var_ps(e1, second, o1));
    }
}

#else
#define forward_row_avx512 forward_row
#define backward_row_avx512 backward_row
#endif

void dpt_pool2_forward(const float *in, size_t planes, int h, int w, float *out, int fast) {
    row_fn *row = fast ? forward_row_avx512 : forward_row;
    const int oh = h / 2, ow = w / 2;
    for (size_t pl = 0; pl < planes; pl++)
        for (int oy = 0; oy < oh; oy++) row(in + pl * h * w, w, oy, out + (pl * oh + oy) * ow, ow);
}

void dpt_pool2_backward(const float *in, size_t planes, int h, int w, const float *dout, float *din,
                        int fast) {
    grad_row_fn *row = fast ? backward_row_avx512 : backward_row;
    const int oh = h / 2, ow = w / 2;
    for (size_t pl = 0; pl < planes; pl++) {
        const float *p = in + pl * h * w;
        float *dp = din + pl * h * w;
        for (int oy = 0; oy < oh; oy++) {
            row(p, w, oy, dout + (pl * oh + oy) * ow, dp, ow);
            if (w % 2) dp[(2 * oy + 1) * w - 1] = dp[(2 * oy + 2) * w - 1] = 0.0f;
        }
        if (h % 2) memset(dp + (size_t)(h - 1) * w, 0, sizeof(float) * w);
    }
}
