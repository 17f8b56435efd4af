#include "dptrain/rng.h"

#include <math.h>

dpt_rng dpt_rng_stream(uint64_t seed, enum dpt_stream purpose, uint64_t index) {
    uint64_t key = dpt_mix64(seed + DPT_GOLDEN_GAMMA);
    key = dpt_mix64(key ^ ((uint64_t)purpose * DPT_GOLDEN_GAMMA));
    key = dpt_mix64(key ^ (index + 1) * 0xd1b54a32d192ed03ULL);
    return (dpt_rng){.key = key, .counter = 0};
}

double dpt_rng_uniform(dpt_rng *rng) {
    return (double)(dpt_rng_next(rng) >> 11) * 0x1.0p-53;
}

/* k * 2^-53 < p for a whole number k < 2^53 exactly when k < p * 2^53 (exact: a power of two),
   that is when k < ceil(p * 2^53). */
uint64_t dpt_rng_uniform_threshold(double p) {
    if (!(p > 0)) return 0;
    if (p >= 1) return (uint64_t)1 << 53;
    return (uint64_t)ceil(p * 0x1.0p53);
}

double dpt_rng_normal(dpt_rng *rng) {
    const double u = 1.0 - dpt_rng_uniform(rng), v = dpt_rng_uniform(rng);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

uint32_t dpt_rng_below(dpt_rng *rng, uint32_t n) {
    uint64_t m = (uint64_t)(uint32_t)dpt_rng_next(rng) * n;
    if ((uint32_t)m < n) {
        uint32_t threshold = (uint32_t)-n % n;
        while ((uint32_t)m < threshold) m = (uint64_t)(uint32_t)dpt_rng_next(rng) * n;
    }
    return (uint32_t)(m >> 32);
}

void dpt_rng_shuffle(dpt_rng *rng, uint32_t *a, size_t n) {
    for (size_t i = n; i > 1; i--) {
        uint32_t j = dpt_rng_below(rng, (uint32_t)i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}
