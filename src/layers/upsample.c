/* Upsample(scale, mode=nearest|bilinear): PyTorch's nn.Upsample(scale_factor=scale, mode=...)
   for a whole-number scale, bilinear with align_corners=False. The output is
   C x (H*scale) x (W*scale).

   nearest: output (oy, ox) copies input (src(oy), src(ox)), src(d) = min(floor(d * f), size - 1)
   with f = 1/scale rounded to float and the product taken in float, as PyTorch computes it
   (so for some scales, 41 the first, an output at a multiple of the scale reads the input
   before the one d / scale names: PyTorch's choice, kept for agreement).
   bilinear: the output's centre maps back to s(d) = (d + 0.5) / scale - 0.5, clamped at 0; it
   interpolates between inputs floor(s) and floor(s) + 1 (that one clamped at size - 1) with
   weights 1 - frac(s) and frac(s), in each direction. Here s(d) is computed exactly, as the
   fraction (2d + 1 - scale) / (2 scale).

   Backward sends each output's gradient back to the inputs it was made of, with the same
   weights, in a fixed order. The columns' taps, the same on every row, are worked out once per
   pass into the scratch. */
#include <string.h>

#include "dptrain/layer.h"

enum { ARG_SCALE, ARG_MODE };
enum { NEAREST, BILINEAR };

static const char *const modes[] = {"nearest", "bilinear", NULL};

static int setup(dpt_layer *l, dpt_err *err) {
    int scale, mode;
    if (dpt_layer_int_arg(l, ARG_SCALE, 1, err, &scale) ||
        dpt_layer_word_arg(l, ARG_MODE, err, &mode))
        return -1;
    const dpt_shape in = l->in[0];
    const long long h = (long long)in.h * scale, w = (long long)in.w * scale;
    if (h > 1 << 30 || w > 1 << 30)
        return dpt_fail(err, "its output would be %lldx%lld, a side longer than 2^30", h, w);
    l->out = (dpt_shape){in.c, (int)h, (int)w};
    return 0;
}

/* The column taps (see column_taps) and, for bilinear, a row of W values. */
static size_t scratch(const dpt_layer *l, int n) {
    (void)n;
    if (l->arg[ARG_MODE] == NEAREST) return (size_t)l->out.w;
    return 3 * (size_t)l->out.w + (size_t)l->in[0].w;
}

/* nearest: a copy per output value; bilinear: four multiply-adds. */
static double flops(const dpt_layer *l) {
    return (double)dpt_shape_size(l->out) * (l->arg[ARG_MODE] == BILINEAR ? 8 : 1);
}

/* PyTorch's nearest source index (see the top). */
static inline int nearest_source(int d, float f, int size) {
    const int s = (int)((float)d * f); /* d * f >= 0: truncation is floor */
    return s < size - 1 ? s : size - 1;
}

/* Bilinear taps of output d along a side of `size` inputs: *i0, *i1 and the weight of *i1. */
static inline void bilinear_taps(int d, int scale, int size, int *i0, int *i1, float *frac) {
    const long long num = 2LL * d + 1 - scale, den = 2LL * scale; /* s(d) = num / den */
    if (num <= 0) {
        *i0 = 0, *frac = 0;
    } else {
        *i0 = (int)(num / den);
        *frac = (float)((double)(num % den) / (double)den);
    }
    *i1 = *i0 < size - 1 ? *i0 + 1 : *i0;
}

/* The column taps in the scratch (which has no declared type: ints may live there), the same
   for every row: OW first inputs, and for bilinear OW second inputs, their OW weights and a row
   of W values (bilinear is separable: rows are blended first, then columns). */
typedef struct column_taps {
    int *x0, *x1;
    float *fx, *row;
} column_taps;

static column_taps column_taps_of(const dpt_layer *l, float *scratch) {
    const int scale = (int)l->arg[ARG_SCALE], W = l->in[0].w, OW = l->out.w;
    column_taps t = {.x0 = (int *)scratch};
    if (l->arg[ARG_MODE] == NEAREST) {
        const float f = (float)(1.0 / scale);
        for (int ox = 0; ox < OW; ox++) t.x0[ox] = nearest_source(ox, f, W);
    } else {
        t.x1 = (int *)(scratch + OW), t.fx = scratch + 2 * (size_t)OW;
        t.row = scratch + 3 * (size_t)OW;
        for (int ox = 0; ox < OW; ox++)
            bilinear_taps(ox, scale, W, &t.x0[ox], &t.x1[ox], &t.fx[ox]);
    }
    return t;
}

static void forward(const dpt_layer *l, const dpt_pass *pass, const float *params,
                    const float *const *in, float *out, float *scratch, int n) {
    (void)pass, (void)params;
    const int scale = (int)l->arg[ARG_SCALE], mode = (int)l->arg[ARG_MODE];
    const int H = l->in[0].h, W = l->in[0].w, OH = l->out.h, OW = l->out.w;
    const float f = (float)(1.0 / scale);
    const column_taps t = column_taps_of(l, scratch);
    for (size_t p = 0; p < (size_t)n * l->in[0].c; p++) {
        const float *plane = in[0] + p * H * W;
        float *dst = out + p * OH * OW;
        for (int oy = 0; oy < OH; oy++, dst += OW) {
            if (mode == NEAREST) {
                const float *row = plane + (size_t)nearest_source(oy, f, H) * W;
                if (scale == 2)
                    for (int ix = 0; ix < W; ix++) dst[2 * ix] = dst[2 * ix + 1] = row[ix];
                else
                    for (int ox = 0; ox < OW; ox++) dst[ox] = row[t.x0[ox]];
                continue;
            }
            int y0, y1;
            float fy;
            bilinear_taps(oy, scale, H, &y0, &y1, &fy);
            const float *r0 = plane + (size_t)y0 * W, *r1 = plane + (size_t)y1 * W;
            float *v = t.row;
            for (int x = 0; x < W; x++) v[x] = r0[x] + fy * (r1[x] - r0[x]);
            for (int ox = 0; ox < OW; ox++) {
                const int x0 = t.x0[ox];
                dst[ox] = v[x0] + t.fx[ox] * (v[t.x1[ox]] - v[x0]);
            }
        }
    }
}

static void backward(const dpt_layer *l, const dpt_pass *pass, const float *params, float *grads,
                     const float *const *in, const float *out, const float *dout, float *const *din,
                     float *scratch, int n) {
    (void)pass, (void)params, (void)grads, (void)in, (void)out;
    if (!din[0]) return;
    const int scale = (int)l->arg[ARG_SCALE], mode = (int)l->arg[ARG_MODE];
    const int H = l->in[0].h, W = l->in[0].w, OH = l->out.h, OW = l->out.w;
    const float f = (float)(1.0 / scale);
    const column_taps t = column_taps_of(l, scratch);
    memset(din[0], 0, sizeof(float) * (size_t)n * dpt_shape_size(l->in[0]));
    for (size_t p = 0; p < (size_t)n * l->in[0].c; p++) {
        float *dplane = din[0] + p * H * W;
        const float *d = dout + p * OH * OW;
        for (int oy = 0; oy < OH; oy++, d += OW) {
            if (mode == NEAREST) {
                float *row = dplane + (size_t)nearest_source(oy, f, H) * W;
                if (scale == 2)
                    for (int ix = 0; ix < W; ix++) row[ix] += d[2 * ix] + d[2 * ix + 1];
                else
                    for (int ox = 0; ox < OW; ox++) row[t.x0[ox]] += d[ox];
                continue;
            }
            /* The columns' adjoint into the row, then the rows'. */
            float *g = t.row;
            for (int x = 0; x < W; x++) g[x] = 0;
            for (int ox = 0; ox < OW; ox++) {
                const float right = t.fx[ox] * d[ox];
                g[t.x0[ox]] += d[ox] - right;
                g[t.x1[ox]] += right;
            }
            int y0, y1;
            float fy;
            bilinear_taps(oy, scale, H, &y0, &y1, &fy);
            float *r0 = dplane + (size_t)y0 * W, *r1 = dplane + (size_t)y1 * W;
            for (int x = 0; x < W; x++) {
                const float down = fy * g[x];
                r0[x] += g[x] - down;
                r1[x] += down;
            }
        }
    }
}

const dpt_layer_kind dpt_upsample_kind = {
    .name = "upsample",
    .inputs = 1,
    .args = {{"scale", 1, 0}, {"mode", 0, NEAREST, modes}},
    .setup = setup,
    .scratch = scratch,
    .flops = flops,
    .forward = forward,
    .backward = backward,
};
