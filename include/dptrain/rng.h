/* Counter-based random numbers: value i of a stream is a pure function of (key, i), so any rank
   can produce any part of any stream without communication or shared state. */
#ifndef DPTRAIN_RNG_H
#define DPTRAIN_RNG_H

#include <stddef.h>
#include <stdint.h>

/* What a stream is for; part of every key so the streams of one seed never overlap. */
enum dpt_stream {
    DPT_STREAM_SPLIT = 1,
    DPT_STREAM_INIT,
    DPT_STREAM_EPOCH_ORDER,
    DPT_STREAM_LAYERS
};

typedef struct dpt_rng {
    uint64_t key;
    uint64_t counter;
} dpt_rng;

/* SplitMix64's finalizer: a bijective avalanche on 64 bits. */
static inline uint64_t dpt_mix64(uint64_t x) {
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

#define DPT_GOLDEN_GAMMA 0x9e3779b97f4a7c15ULL

/* The stream for (seed, purpose, index), e.g. (seed, DPT_STREAM_EPOCH_ORDER, epoch). */
dpt_rng dpt_rng_stream(uint64_t seed, enum dpt_stream purpose, uint64_t index);

static inline uint64_t dpt_rng_next(dpt_rng *rng) {
    rng->counter++;
    return dpt_mix64(rng->key + rng->counter * DPT_GOLDEN_GAMMA);
}

/* What dpt_rng_next would return after i more calls (i = 0: the next value), without moving the
   stream: loops that draw many values at once (dropout masks) compute them independently. */
static inline uint64_t dpt_rng_ahead(const dpt_rng *rng, uint64_t i) {
    return dpt_mix64(rng->key + (rng->counter + 1 + i) * DPT_GOLDEN_GAMMA);
}

/* dpt_rng_uniform's value is below p exactly when the draw's top 53 bits are below this. */
uint64_t dpt_rng_uniform_threshold(double p);
/* Uniform in [0, 1) with 53 random bits. */
double dpt_rng_uniform(dpt_rng *rng);
/* Standard normal (Box-Muller on two uniforms). */
double dpt_rng_normal(dpt_rng *rng);
/* Uniform integer in [0, n), unbiased (Lemire's method); n > 0. */
uint32_t dpt_rng_below(dpt_rng *rng, uint32_t n);
/* Fisher-Yates shuffle of a[0..n). */
void dpt_rng_shuffle(dpt_rng *rng, uint32_t *a, size_t n);

#endif
