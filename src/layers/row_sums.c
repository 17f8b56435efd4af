/* Row sums (row_sums.h). Each row's sum is a chain of additions in order; the plain kernel runs
   eight chains side by side in scalar registers, the fast one sixteen in the lanes of a vector:
   16 rows x 16 values loaded and transposed in registers, then the 16 columns added in order. */
#include "row_sums.h"

#include <stddef.h>

enum { LANES = 16 };

/* A last, partial group of rows repeats its last row in the spare lanes (not stored). */
static void add_row_sums_plain(const float *d, int M, int P, float *db) {
    enum { CHAINS = 8 };
    for (int m = 0; m < M; m += CHAINS) {
        const float *row[CHAINS];
        float acc[CHAINS];
        for (int j = 0; j < CHAINS; j++) {
            const int r = m + j < M ? m + j : M - 1;
            row[j] = d + (size_t)r * P, acc[j] = db[r];
        }
        for (int p = 0; p < P; p++)
            for (int j = 0; j < CHAINS; j++) acc[j] += row[j][p];
        for (int j = 0; j < CHAINS && m + j < M; j++) db[m + j] = acc[j];
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))

/* r[j] (row j, 16 values) becomes column j: lane i of the result is r[i]'s value j. In three
   rounds of unpacking (pairs of values, then of pairs) and two of moving 128-bit quarters. */
AVX512 static inline void transpose(__m512 r[LANES]) {
    __m512 t[LANES], u[LANES], v[LANES];
    for (int i = 0; i < LANES; i += 2)
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]), t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    /* u[4g + k]: rows 4g..4g+3 at columns k, k + 4, k + 8, k + 12 (one per quarter) */
    for (int i = 0; i < LANES; i += 4) {
        const __m512d t0 = _mm512_castps_pd(t[i]), t1 = _mm512_castps_pd(t[i + 1]),
                      t2 = _mm512_castps_pd(t[i + 2]), t3 = _mm512_castps_pd(t[i + 3]);
        u[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
        u[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        u[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
        u[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
    /* v[2k], v[2k + 1] (k < 4): rows 0..7 at columns k, k + 8 and k + 4, k + 12; v[8 + ...]: 8..15
     */
    for (int h = 0; h < 2; h++)
        for (int k = 0; k < 4; k++) {
            v[8 * h + 2 * k] = _mm512_shuffle_f32x4(u[8 * h + k], u[8 * h + 4 + k], 0x88);
            v[8 * h + 2 * k + 1] = _mm512_shuffle_f32x4(u[8 * h + k], u[8 * h + 4 + k], 0xDD);
        }
    for (int k = 0; k < 4; k++) {
        r[k] = _mm512_shuffle_f32x4(v[2 * k], v[8 + 2 * k], 0x88);
        r[k + 8] = _mm512_shuffle_f32x4(v[2 * k], v[8 + 2 * k], 0xDD);
        r[k + 4] = _mm512_shuffle_f32x4(v[2 * k + 1], v[8 + 2 * k + 1], 0x88);
        r[k + 12] = _mm512_shuffle_f32x4(v[2 * k + 1], v[8 + 2 * k + 1], 0xDD);
    }
}

AVX512 static void add_row_sums_avx512(const float *d, int M, int P, float *db) {
    for (int m = 0; m < M; m += LANES) {
        const int rows = M - m < LANES ? M - m : LANES;
        const __mmask16 kept = (__mmask16)((1u << rows) - 1);
        __m512 acc = _mm512_maskz_loadu_ps(kept, db + m);
        for (int p = 0; p < P; p += LANES) {
            const int cols = P - p < LANES ? P - p : LANES;
            const __mmask16 load = (__mmask16)((1u << cols) - 1);
            __m512 r[LANES];
            for (int j = 0; j < LANES; j++)
                r[j] = _mm512_maskz_loadu_ps(load, d + (size_t)(j < rows ? m + j : m) * P + p);
            transpose(r);
            for (int q = 0; q < cols; q++) acc = _mm512_add_ps(acc, r[q]);
        }
        _mm512_mask_storeu_ps(db + m, kept, acc);
    }
}

int dpt_row_sums_fast(void) {
    return __builtin_cpu_supports("avx512f");
}
#else
#define add_row_sums_avx512 add_row_sums_plain

int dpt_row_sums_fast(void) {
    return 0;
}
#endif

void dpt_add_row_sums(const float *d, int M, int P, float *db, int fast) {
    (fast ? add_row_sums_avx512 : add_row_sums_plain)(d, M, P, db);
}
