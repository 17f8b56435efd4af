/* Direct stride-1 convolution (conv_direct.h).

   The padded input p (c planes of hp x wp) is read as flat planes: the output value at flat
   index i = y*wp + x sums p[i + ky*wp + kx] over the taps, so 16 consecutive outputs are one
   vector load per tap. Indices whose x falls in the padding columns (x >= w') are computed too
   and dropped as the vector is stored (compressed; w'/wp of the work is kept: 7/9 for a
   7-pixel-wide "same" 3x3 convolution, 64/66 for 64). A tile holds 8 output channels x 32
   outputs (or 4 x 64 where a block has at most 4 channels) in 16 registers; each tap costs two
   (four) loads and 8 weight broadcasts for 16 fused multiply-adds. Where the output channels
   come in 32s the lanes hold channels instead: 32 (64) channels x 12 (6) consecutive outputs,
   each input value broadcast to 24 fused multiply-adds, no padding columns computed; the
   outputs leave through a transpose. The weights are packed tap by tap, m (rounded up to 16)
   values each.

   The weight gradient pairs the output gradient, spread out to the same flat layout (zeros in
   the padding columns), with the padded input shifted by each tap: a dot product over the flat
   indices of every sample, 4 output channels x 6 taps at a time (24 registers, 10 loads for 24
   fused multiply-adds), each in 16 lanes added up once at the end. */
#include "conv_direct.h"

#include "avx512.h"

#include "dptrain/hot_loop.h"

#include <math.h>
#include <string.h>

enum { BLOCK = 8 }; /* output channels of a tile */

typedef struct plan {
    int hp, wp, ho, wo;
    size_t plane;  /* hp*wp: a padded input plane */
    size_t oplane; /* ho*wo: an output plane */
    int n;         /* flat outputs that matter: (ho-1)*wp + wo */
    int taps;      /* c*k*k */
    int mp;        /* packed weights per tap: m rounded up to a multiple of 16 */
} plan;

static plan plan_of(const dpt_direct *d) {
    plan p = {.hp = d->h + 2 * d->pad, .wp = d->w + 2 * d->pad};
    p.ho = p.hp - d->k + 1, p.wo = p.wp - d->k + 1;
    p.plane = (size_t)p.hp * p.wp, p.oplane = (size_t)p.ho * p.wo;
    p.n = (p.ho - 1) * p.wp + p.wo;
    p.taps = d->c * d->k * d->k;
    p.mp = (d->m + 15) / 16 * 16;
    return p;
}

size_t dpt_direct_packed(const dpt_direct *d) {
    const plan p = plan_of(d);
    return (size_t)p.taps * p.mp;
}

size_t dpt_direct_scratch(const dpt_direct *d) {
    const plan p = plan_of(d);
    return d->pad ? (size_t)d->c * p.plane : 0;
}

/* The weight gradient takes its samples a chunk at a time, each chunk's padded inputs and flat
   output gradients within about 512 KB (a core's L2 cache): a micro-batch of U-Net inputs would
   take 26 MB, and the lanes go through memory only once a chunk. */
enum { CHUNK_FLOATS = 128 * 1024 };

static size_t grad_floats_per_sample(const dpt_direct *d) {
    return dpt_direct_scratch(d) + (size_t)d->m * plan_of(d).n;
}

static int grad_chunk(const dpt_direct *d, int n) {
    const size_t fit = CHUNK_FLOATS / grad_floats_per_sample(d);
    return fit < 1 ? 1 : fit < (size_t)n ? (int)fit : n;
}

size_t dpt_direct_grad_scratch(const dpt_direct *d, int n) {
    return (size_t)grad_chunk(d, n) * grad_floats_per_sample(d) +
           (size_t)16 * d->m * plan_of(d).taps;
}

void dpt_direct_pack(const dpt_direct *d, const float *w, int flip, float *packed) {
    const plan p = plan_of(d);
    const int kk = d->k * d->k;
    for (int t = 0; t < p.taps; t++)
        for (int o = 0; o < p.mp; o++) {
            const int ch = t / kk, tap = t % kk;
            float v = 0;
            if (o < d->m)
                v = flip ? w[((size_t)ch * d->m + o) * kk + (kk - 1 - tap)]
                         : w[((size_t)o * d->c + ch) * kk + tap];
            packed[(size_t)t * p.mp + o] = v;
        }
}

/* p = in with pad zeros around each plane. */
static void pad_planes(const dpt_direct *d, const plan *p, const float *in, float *out) {
    for (int ch = 0; ch < d->c; ch++) {
        float *o = out + ch * p->plane;
        const float *src = in + (size_t)ch * d->h * d->w;
        for (int i = 0; i < d->pad * p->wp; i++) *o++ = 0;
        for (int y = 0; y < d->h; y++, src += d->w) {
            for (int x = 0; x < d->pad; x++) *o++ = 0;
            for (int x = 0; x < d->w; x++) *o++ = src[x];
            for (int x = 0; x < d->pad; x++) *o++ = 0;
        }
        for (int i = 0; i < d->pad * p->wp; i++) *o++ = 0;
    }
}

/* The plain kernel, output by output. */
static void conv_plain(const dpt_direct *d, const plan *p, const float *packed, const float *bias,
                       const float *pin, float *out) {
    for (int o = 0; o < d->m; o++) {
        const float *wb = packed + o;
        for (int y = 0; y < p->ho; y++)
            for (int x = 0; x < p->wo; x++) {
                float acc = bias ? bias[o] : 0.0f;
                const float *w = wb;
                for (int ch = 0; ch < d->c; ch++)
                    for (int ky = 0; ky < d->k; ky++)
                        for (int kx = 0; kx < d->k; kx++, w += p->mp)
                            acc = fmaf(*w, pin[ch * p->plane + (size_t)(y + ky) * p->wp + x + kx],
                                       acc);
                out[o * p->oplane + (size_t)y * p->wo + x] = acc;
            }
    }
}

/* dout's planes (m, ho, wo) spread to the flat layout: rows wp apart, zeros between them. */
HOT_LOOP static void spread_rows(const dpt_direct *d, const plan *p, const float *dout,
                                 float *flat) {
    for (int o = 0; o < d->m; o++) {
        const float *src = dout + o * p->oplane;
        float *dst = flat + (size_t)o * p->n;
        for (int y = 0; y < p->ho; y++, src += p->wo) {
            for (int x = 0; x < p->wo; x++) *dst++ = src[x];
            for (int x = p->wo; x < p->wp && y + 1 < p->ho; x++) *dst++ = 0;
        }
    }
}

/* Where tap t = (ch, ky, kx) of the padded input starts. */
static size_t tap_offset(const dpt_direct *d, const plan *p, int t) {
    const int kk = d->k * d->k, r = t % kk;
    return (t / kk) * p->plane + (size_t)(r / d->k) * p->wp + r % d->k;
}

/* The samples of a weight gradient: padded inputs and flat output gradients, `stride` floats
   from one sample to the next. */
typedef struct samples {
    int n;
    const float *pin, *flat;
    size_t pin_stride, flat_stride;
} samples;

/* The plain weight gradient, weight by weight: the samples added onto each weight's 16 lanes
   (lanes + 16 * (o * taps + t)). */
static void grad_plain(const dpt_direct *d, const plan *p, const samples *b, float *lanes) {
    for (int o = 0; o < d->m; o++)
        for (int t = 0; t < p->taps; t++) {
            float *s = lanes + 16 * ((size_t)o * p->taps + t);
            for (int n = 0; n < b->n; n++) {
                const float *x = b->flat + n * b->flat_stride + (size_t)o * p->n;
                const float *y = b->pin + n * b->pin_stride + tap_offset(d, p, t);
                for (int i = 0; i < p->n; i++) s[i % 16] = fmaf(x[i], y[i], s[i % 16]);
            }
        }
}

#if defined(__x86_64__) && defined(__GNUC__)
/* The lanes of the 16 flat outputs from i whose column is an output column (x < wo), within
   mask, and *at, the output index of the first of them. */
AVX512 static inline __mmask16 kept_lanes(const plan *p, int i, __mmask16 mask, size_t *at) {
    const int y = i / p->wp, x = i % p->wp;
    *at = (size_t)y * p->wo + (x < p->wo ? x : p->wo);
    __m512i col =
        _mm512_add_epi32(_mm512_set1_epi32(x),
                         _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    const __m512i wp = _mm512_set1_epi32(p->wp);
    for (__mmask16 wrap; (wrap = _mm512_cmpge_epi32_mask(col, wp));)
        col = _mm512_mask_sub_epi32(col, wrap, col, wp);
    return mask & _mm512_cmplt_epi32_mask(col, _mm512_set1_epi32(p->wo));
}

/* pad_planes: the planes zeroed, then each row copied in (vectors of 16, the last masked): half
   the time of the plain loops compiled for AVX-512 on cnn2710's 14-pixel rows (perf: 10.7% of
   a step before, 5.2% after). */
AVX512 static void pad_planes_avx512(const dpt_direct *d, const plan *p, const float *in,
                                     float *out) {
    const size_t all = (size_t)d->c * p->plane;
    for (size_t i = 0; i < all; i += 16)
        _mm512_mask_storeu_ps(out + i, dpt_lanes((long)(all - i)), _mm512_setzero_ps());
    for (int ch = 0; ch < d->c; ch++) {
        float *o = out + ch * p->plane + (size_t)d->pad * p->wp + d->pad;
        const float *src = in + (size_t)ch * d->h * d->w;
        for (int y = 0; y < d->h; y++, src += d->w, o += p->wp)
            for (int x = 0; x < d->w; x += 16) {
                const __mmask16 m = dpt_lanes(d->w - x);
                _mm512_mask_storeu_ps(o + x, m, _mm512_maskz_loadu_ps(m, src + x));
            }
    }
}

/* A vector of 16 floats at p: all of them (full), or the lanes of mask (the others zero). Masked
   loads cost: the tiles and the weight gradient use full loads wherever all 16 lanes count
   (cnn002-bn's 5x5 convolution alone, forward and backward: 50.0 ms instead of 53.8). */
AVX512_INLINE __m512 load16(const float *p, __mmask16 mask, int full) {
    return full ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(mask, p);
}

/* One tile: channels [o0, o0 + mb) of a block (MB of its weights, lanes beyond mb zero) at the
   flat outputs [i0, i0 + 16*NV), the kept lanes compressed into the output. A macro, so that each
   instance has fixed-size accumulators the compiler keeps in registers; tile_MBxNV calls it with
   full loads where all its outputs are in the plane. */
#define DEFINE_TILE(MB, NV)                                                                        \
    AVX512_INLINE void tile_##MB##x##NV##_loads(                                                   \
        const dpt_direct *d, const plan *p, const float *wb, const float *bias, const float *pin,  \
        float *out, int o0, int mb, int i0, int full) {                                            \
        __m512 acc[MB][NV];                                                                        \
        __mmask16 mask[NV];                                                                        \
        _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) mask[v] =                             \
            dpt_lanes(p->n - (i0 + 16 * v));                                                       \
        _Pragma("GCC unroll 8") for (int j = 0; j < MB; j++) {                                     \
            const __m512 b = _mm512_set1_ps(bias && j < mb ? bias[o0 + j] : 0.0f);                 \
            _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) acc[j][v] = b;                    \
        }                                                                                          \
        const float *w = wb;                                                                       \
        for (int ch = 0; ch < d->c; ch++)                                                          \
            for (int ky = 0; ky < d->k; ky++) {                                                    \
                const float *row = pin + ch * p->plane + (size_t)ky * p->wp + i0;                  \
                for (int kx = 0; kx < d->k; kx++, w += p->mp) {                                    \
                    __m512 x[NV];                                                                  \
                    _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) x[v] =                    \
                        load16(row + kx + 16 * v, mask[v], full);                                  \
                    _Pragma("GCC unroll 8") for (int j = 0; j < MB; j++) {                         \
                        const __m512 wj = _mm512_set1_ps(w[j]);                                    \
                        _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) acc[j][v] =           \
                            _mm512_fmadd_ps(wj, x[v], acc[j][v]);                                  \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
        _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) {                                     \
            size_t at;                                                                             \
            const __mmask16 keep = kept_lanes(p, i0 + 16 * v, mask[v], &at);                       \
            const __mmask16 first = dpt_lanes(__builtin_popcount(keep));                           \
            _Pragma("GCC unroll 8") for (int j = 0; j < MB; j++) {                                 \
                if (j >= mb) break;                                                                \
                _mm512_mask_storeu_ps(out + (o0 + j) * p->oplane + at, first,                      \
                                      _mm512_maskz_compress_ps(keep, acc[j][v]));                  \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    AVX512 static void tile_##MB##x##NV(const dpt_direct *d, const plan *p, const float *wb,       \
                                        const float *bias, const float *pin, float *out, int o0,   \
                                        int mb, int i0) {                                          \
        if (i0 + 16 * NV <= p->n)                                                                  \
            tile_##MB##x##NV##_loads(d, p, wb, bias, pin, out, o0, mb, i0, 1);                     \
        else                                                                                       \
            tile_##MB##x##NV##_loads(d, p, wb, bias, pin, out, o0, mb, i0, 0);                     \
    }
DEFINE_TILE(8, 2)
DEFINE_TILE(4, 4)

/* Output channels in lanes: channels [o0, o0 + 16V) x P outputs (consecutive in the output
   plane, across rows; past its end, the last again, computed and not stored), each input value
   broadcast and multiplied with 16V weights. No lanes are spent on padding columns (the flat
   tiles keep wo of every wp), but each output's sum is the same chain of fused multiply-adds. */
#define DEFINE_LANES_TILE(V, P)                                                                    \
    AVX512 static void lanes_##V##x##P(const dpt_direct *d, const plan *p, const float *packed,    \
                                       const float *bias, const float *pin, float *out, int o0,    \
                                       int q0) {                                                   \
        int off[P], at[P];                                                                         \
        const int last = (int)p->oplane - 1;                                                       \
        for (int j = 0; j < P; j++) {                                                              \
            at[j] = q0 + j < last ? q0 + j : last;                                                 \
            off[j] = at[j] / p->wo * p->wp + at[j] % p->wo;                                        \
        }                                                                                          \
        __m512 acc[P][V];                                                                          \
        _Pragma("GCC unroll 8") for (int v = 0; v < V; v++) {                                      \
            const __m512 b = bias ? _mm512_loadu_ps(bias + o0 + 16 * v) : _mm512_setzero_ps();     \
            _Pragma("GCC unroll 32") for (int j = 0; j < P; j++) acc[j][v] = b;                    \
        }                                                                                          \
        /* Kernel rows that read only padding rows for every output of the tile add w * (+0):      \
           without a bias (sums from +0) that changes no bit of any sum but one that underflowed   \
           to -0 (the plain kernel then gives +0); they are skipped (an input gradient's wide      \
           padding: 31% of cnn002-bn's taps). */                                                   \
        int ky0 = 0, ky1 = d->k;                                                                   \
        if (!bias) {                                                                               \
            const int y0 = at[0] / p->wo, y1 = at[P - 1] / p->wo;                                  \
            ky0 = d->pad - y1 > 0 ? d->pad - y1 : 0;                                               \
            ky1 = d->pad + d->h - y0 < d->k ? d->pad + d->h - y0 : d->k;                           \
        }                                                                                          \
        const float *w = packed + o0;                                                              \
        for (int ch = 0; ch < d->c; ch++)                                                          \
            for (int ky = 0; ky < d->k; ky++) {                                                    \
                const float *row = pin + ch * p->plane + (size_t)ky * p->wp;                       \
                if (ky < ky0 || ky >= ky1) {                                                       \
                    w += (size_t)d->k * p->mp;                                                     \
                    continue;                                                                      \
                }                                                                                  \
                for (int kx = 0; kx < d->k; kx++, w += p->mp) {                                    \
                    __m512 wv[V];                                                                  \
                    _Pragma("GCC unroll 8") for (int v = 0; v < V; v++) wv[v] =                    \
                        _mm512_loadu_ps(w + 16 * v);                                               \
                    _Pragma("GCC unroll 32") for (int j = 0; j < P; j++) {                         \
                        const __m512 x = _mm512_set1_ps(row[off[j] + kx]);                         \
                        _Pragma("GCC unroll 8") for (int v = 0; v < V; v++) acc[j][v] =            \
                            _mm512_fmadd_ps(wv[v], x, acc[j][v]);                                  \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
        const __mmask16 kept = dpt_lanes(last + 1 - q0 < P ? last + 1 - q0 : P);                   \
        _Pragma("GCC unroll 8") for (int v = 0; v < V; v++) {                                      \
            __m512 r[16];                                                                          \
            _Pragma("GCC unroll 16") for (int j = 0; j < 16; j++) r[j] =                           \
                j < P ? acc[j][v] : _mm512_setzero_ps();                                           \
            dpt_transpose16(r);                                                                    \
            float *o = out + (size_t)(o0 + 16 * v) * p->oplane + q0;                               \
            _Pragma("GCC unroll 16") for (int i = 0; i < 16; i++)                                  \
                _mm512_mask_storeu_ps(o + i * p->oplane, kept, r[i]);                              \
        }                                                                                          \
    }
DEFINE_LANES_TILE(4, 6)
DEFINE_LANES_TILE(2, 12)

/* Channels in lanes in 32s (it measured faster there, most where the flat tiles drop many
   padding columns: cnn002-bn's 5x5 convolution 50.4 -> 44.7 ms; 16 channels alone measured
   slower), the flat tiles for the rest. */
AVX512 static void conv_avx512(const dpt_direct *d, const plan *p, const float *packed,
                               const float *bias, const float *pin, float *out) {
    const int outputs = (int)p->oplane, in_lanes = d->m / 32 * 32;
    int o0 = 0;
    for (; o0 + 64 <= in_lanes; o0 += 64)
        for (int q = 0; q < outputs; q += 6) lanes_4x6(d, p, packed, bias, pin, out, o0, q);
    for (; o0 < in_lanes; o0 += 32)
        for (int q = 0; q < outputs; q += 12) lanes_2x12(d, p, packed, bias, pin, out, o0, q);
    for (; o0 < d->m; o0 += BLOCK) {
        const float *wb = packed + o0;
        const int mb = d->m - o0 < BLOCK ? d->m - o0 : BLOCK;
        if (mb > 4)
            for (int i0 = 0; i0 < p->n; i0 += 32) tile_8x2(d, p, wb, bias, pin, out, o0, mb, i0);
        else
            for (int i0 = 0; i0 < p->n; i0 += 64) tile_4x4(d, p, wb, bias, pin, out, o0, mb, i0);
    }
}

/* One step of grad_tile: the flat outputs [i, i + 16) of a sample (those of mask). */
AVX512_INLINE void grad_step(__m512 acc[4][6], const float *flat, const size_t a[4],
                             const float *pin, const size_t x[6], int i, __mmask16 mask, int full) {
    __m512 in[6];
    _Pragma("GCC unroll 8") for (int u = 0; u < 6; u++) in[u] = load16(pin + x[u] + i, mask, full);
    _Pragma("GCC unroll 8") for (int j = 0; j < 4; j++) {
        const __m512 g = load16(flat + a[j] + i, mask, full);
        _Pragma("GCC unroll 8") for (int u = 0; u < 6; u++) acc[j][u] =
            _mm512_fmadd_ps(g, in[u], acc[j][u]);
    }
}

/* The weight gradient of output channels [o0, o0 + 4) and taps [t0, t0 + 6), added onto their
   lanes; past the last channel or tap, the last one again (computed, not stored). */
AVX512 static void grad_tile(const dpt_direct *d, const plan *p, const samples *b, float *lanes,
                             int o0, int t0) {
    enum { MB = 4, TB = 6 };
    size_t a[MB], x[TB];
    for (int j = 0; j < MB; j++) a[j] = (size_t)(o0 + j < d->m ? o0 + j : d->m - 1);
    for (int u = 0; u < TB; u++) x[u] = (size_t)(t0 + u < p->taps ? t0 + u : p->taps - 1);
    __m512 acc[MB][TB];
    _Pragma("GCC unroll 8") for (int j = 0; j < MB; j++)
        _Pragma("GCC unroll 8") for (int u = 0; u < TB; u++) acc[j][u] =
            _mm512_loadu_ps(lanes + 16 * (a[j] * p->taps + x[u]));
    for (int j = 0; j < MB; j++) a[j] *= p->n;
    for (int u = 0; u < TB; u++) x[u] = tap_offset(d, p, (int)x[u]);
    for (int n = 0; n < b->n; n++) {
        const float *flat = b->flat + n * b->flat_stride, *pin = b->pin + n * b->pin_stride;
        int i = 0;
        for (; i + 16 <= p->n; i += 16) grad_step(acc, flat, a, pin, x, i, 0xFFFF, 1);
        if (i < p->n) grad_step(acc, flat, a, pin, x, i, dpt_lanes(p->n - i), 0);
    }
    _Pragma("GCC unroll 8") for (int j = 0; j < MB; j++)
        _Pragma("GCC unroll 8") for (int u = 0; u < TB; u++) {
        if (o0 + j >= d->m || t0 + u >= p->taps) continue;
        _mm512_storeu_ps(lanes + 16 * ((size_t)(o0 + j) * p->taps + t0 + u), acc[j][u]);
    }
}

AVX512 static void grad_avx512(const dpt_direct *d, const plan *p, const samples *b, float *lanes) {
    for (int o0 = 0; o0 < d->m; o0 += 4)
        for (int t0 = 0; t0 < p->taps; t0 += 6) grad_tile(d, p, b, lanes, o0, t0);
}

#else
static void conv_avx512(const dpt_direct *d, const plan *p, const float *packed, const float *bias,
                        const float *pin, float *out) {
    conv_plain(d, p, packed, bias, pin, out);
}

static void grad_avx512(const dpt_direct *d, const plan *p, const samples *b, float *lanes) {
    grad_plain(d, p, b, lanes);
}

static void pad_planes_avx512(const dpt_direct *d, const plan *p, const float *in, float *out) {
    pad_planes(d, p, in, out);
}

#endif

void dpt_direct_conv(const dpt_direct *d, const float *packed, const float *bias, const float *in,
                     float *out, float *scratch, int fast) {
    const plan p = plan_of(d);
    const float *pin = in;
    if (d->pad) {
        (fast ? pad_planes_avx512 : pad_planes)(d, &p, in, scratch);
        pin = scratch;
    }
    (fast ? conv_avx512 : conv_plain)(d, &p, packed, bias, pin, out);
}

void dpt_direct_weight_grad(const dpt_direct *d, int n, const float *in, const float *dout,
                            float *dw, float *scratch, int fast) {
    const plan p = plan_of(d);
    const size_t image = (size_t)d->c * d->h * d->w, oimage = (size_t)d->m * p.oplane;
    const int chunk = grad_chunk(d, n);
    samples b = {.pin_stride = d->pad ? dpt_direct_scratch(d) : image,
                 .flat_stride = (size_t)d->m * p.n};
    float *pins = scratch, *flats = pins + (d->pad ? chunk * b.pin_stride : 0);
    float *lanes = flats + chunk * b.flat_stride;
    const size_t weights = (size_t)d->m * p.taps;
    memset(lanes, 0, sizeof(float) * 16 * weights);
    for (int s0 = 0; s0 < n; s0 += chunk) {
        b.n = n - s0 < chunk ? n - s0 : chunk;
        b.pin = d->pad ? pins : in + s0 * image;
        for (int s = 0; s < b.n; s++) {
            if (d->pad)
                (fast ? pad_planes_avx512 : pad_planes)(d, &p, in + (s0 + s) * image,
                                                        pins + s * b.pin_stride);
            spread_rows(d, &p, dout + (s0 + s) * oimage, flats + s * b.flat_stride);
        }
        b.flat = flats;
        (fast ? grad_avx512 : grad_plain)(d, &p, &b, lanes);
    }
    for (size_t w = 0; w < weights; w++) dw[w] = dpt_lane_sum(lanes + 16 * w);
}
