/* AVX-512 for the kernels that have a fast twin (conv_direct.c, linear_kernels.c, maxpool_2x2.c,
   row_sums.c): whether the CPU runs it, and, for x86 compilers, the target attribute their
   functions carry and a 16 x 16 transpose in registers. Internal to the library. */
#ifndef DPTRAIN_SRC_LAYERS_AVX512_H
#define DPTRAIN_SRC_LAYERS_AVX512_H

/* Whether this CPU runs the AVX-512 kernels. */
int dpt_avx512(void);

/* Whether dptrain's own kernels replace OpenBLAS's sgemm where they are faster (direct
   convolutions, conv_direct.h; Linear's forward and weight gradient, linear_kernels.h): the CPU
   runs them (AVX-512) and the environment does not turn them off. Their last bits differ from
   sgemm's; DPTRAIN_OWN_KERNELS=0 takes sgemm's path, as a CPU without AVX-512 does (for
   comparisons). */
int dpt_own_kernels(void);

/* The sum of 16 lanes (s is overwritten): lanes 8 apart added, then 4, 2, 1, the order in which
   the kernels with lanes (conv_direct.c's weight gradient, linear_kernels.c's dot products) add
   them up. */
static inline float dpt_lane_sum(float s[16]) {
    for (int h = 8; h; h /= 2)
        for (int l = 0; l < h; l++) s[l] += s[l + h];
    return s[0];
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))
#define AVX512_INLINE AVX512 __attribute__((always_inline)) static inline

/* The first n of 16 lanes: none for n <= 0, all for n >= 16. */
static inline __mmask16 dpt_lanes(long n) {
    return n <= 0 ? 0 : n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1);
}

/* r[j] (16 values) becomes column j: lane i of the result is r[i]'s value j. In three rounds of
   unpacking (pairs of values, then of pairs) and two of moving 128-bit quarters. */
AVX512_INLINE void dpt_transpose16(__m512 r[16]) {
    __m512 t[16], u[16], v[16];
    for (int i = 0; i < 16; i += 2)
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]), t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    /* u[4g + k]: rows 4g..4g+3 at columns k, k + 4, k + 8, k + 12 (one per quarter) */
    for (int i = 0; i < 16; i += 4) {
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

#endif
#endif
