/* Row sums (row_sums.h). Each row's sum is a chain of additions in order; the plain kernel runs
   eight chains side by side in scalar registers, the fast one sixteen in the lanes of a vector:
   16 rows x 16 values loaded and transposed in registers, then the 16 columns added in order. */
#include "row_sums.h"

#include "avx512.h"

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
AVX512 static void add_row_sums_avx512(const float *d, int M, int P, float *db) {
    for (int m = 0; m < M; m += LANES) {
        const int rows = M - m < LANES ? M - m : LANES;
        const __mmask16 kept = dpt_lanes(rows);
        __m512 acc = _mm512_maskz_loadu_ps(kept, db + m);
        for (int p = 0; p < P; p += LANES) {
            const int cols = P - p < LANES ? P - p : LANES;
            const __mmask16 load = dpt_lanes(cols);
            __m512 r[LANES];
            for (int j = 0; j < LANES; j++)
                r[j] = _mm512_maskz_loadu_ps(load, d + (size_t)(j < rows ? m + j : m) * P + p);
            dpt_transpose16(r);
            for (int q = 0; q < cols; q++) acc = _mm512_add_ps(acc, r[q]);
        }
        _mm512_mask_storeu_ps(db + m, kept, acc);
    }
}

#else
#define add_row_sums_avx512 add_row_sums_plain
#endif

void dpt_add_row_sums(const float *d, int M, int P, float *db, int fast) {
    (fast ? add_row_sums_avx512 : add_row_sums_plain)(d, M, P, db);
}
