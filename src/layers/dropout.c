/* Dropout(p) (each value) and Dropout2d(p) (whole channels), inverted as in PyTorch: in training
   a kept value is scaled by 1/(1-p), so evaluation is the identity. The mask of sample i draws
   from dpt_pass_rng(pass, node, first + i), so it depends on (seed, epoch, step, the sample's
   place in the epoch, node) and never on ranks or threads; backward draws the same mask again
   instead of storing it. A sample's draws are made all at once, as scales (0 or 1/(1-p)) in the
   scratch memory, in a loop the compiler vectorizes (AVX-512 chosen at run time). */
#include <string.h>

#include "dptrain/hot_loop.h"
#include "dptrain/layer.h"

enum { ARG_P };

extern const dpt_layer_kind dpt_dropout2d_kind;

static int setup(dpt_layer *l, dpt_err *err) {
    double p;
    if (dpt_layer_real_arg(l, ARG_P, 0, 1, err, &p)) return -1;
    l->out = l->in[0];
    return 0;
}

/* Units sharing one draw: one value for dropout, one channel's plane for dropout2d. */
static size_t unit_of(const dpt_layer *l) {
    return l->kind == &dpt_dropout2d_kind ? (size_t)l->in[0].h * l->in[0].w : 1;
}

/* The scales of one sample's units. */
static size_t scratch_size(const dpt_layer *l, int n) {
    (void)n;
    return dpt_shape_size(l->in[0]) / unit_of(l);
}

/* scale[u] = 0 where draw u of the stream falls below p (dpt_rng_uniform(rng) < p, draw by
   draw), else keep. */
HOT_LOOP static void draw_scales(const dpt_rng *rng, uint64_t threshold, float keep, float *scale,
                                 size_t units) {
    for (size_t u = 0; u < units; u++)
        scale[u] = (dpt_rng_ahead(rng, u) >> 11) < threshold ? 0.0f : keep;
}

/* dst = src * mask / (1 - p), sample by sample. */
static void apply_mask(const dpt_layer *l, const dpt_pass *pass, const float *src, float *dst,
                       float *scale, int n) {
    const size_t per_sample = dpt_shape_size(l->in[0]), unit = unit_of(l),
                 units = per_sample / unit;
    const double p = l->arg[ARG_P];
    if (!pass->training || p == 0) {
        memcpy(dst, src, sizeof(float) * (size_t)n * per_sample);
        return;
    }
    const float keep = p < 1 ? (float)(1.0 / (1.0 - p)) : 0.0f;
    const uint64_t threshold = dpt_rng_uniform_threshold(p);
    for (int s = 0; s < n; s++) {
        const dpt_rng rng = dpt_pass_rng(pass, l->index, pass->first + (uint64_t)s);
        draw_scales(&rng, threshold, keep, scale, units);
        const float *x = src + (size_t)s * per_sample;
        float *y = dst + (size_t)s * per_sample;
        if (unit == 1)
            for (size_t i = 0; i < per_sample; i++) y[i] = x[i] * scale[i];
        else
            for (size_t u = 0; u < units; u++)
                for (size_t i = u * unit; i < (u + 1) * unit; i++) y[i] = x[i] * scale[u];
    }
}

static void forward(const dpt_layer *l, const dpt_pass *pass, const float *params,
                    const float *const *in, float *out, float *scratch, int n) {
    (void)params;
    apply_mask(l, pass, in[0], out, scratch, n);
}

static void backward(const dpt_layer *l, const dpt_pass *pass, const float *params, float *grads,
                     const float *const *in, const float *out, const float *dout, float *const *din,
                     float *scratch, int n) {
    (void)params, (void)grads, (void)in, (void)out;
    if (din[0]) apply_mask(l, pass, dout, din[0], scratch, n);
}

const dpt_layer_kind dpt_dropout_kind = {
    .name = "dropout",
    .inputs = 1,
    .args = {{"p", 0, 0.5}},
    .setup = setup,
    .scratch = scratch_size,
    .forward = forward,
    .backward = backward,
};

const dpt_layer_kind dpt_dropout2d_kind = {
    .name = "dropout2d",
    .inputs = 1,
    .args = {{"p", 0, 0.5}},
    .setup = setup,
    .scratch = scratch_size,
    .forward = forward,
    .backward = backward,
};
