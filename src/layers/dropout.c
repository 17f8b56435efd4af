/* Dropout(p) (each value) and Dropout2d(p) (whole channels), inverted as in PyTorch: in training
   a kept value is scaled by 1/(1-p), so evaluation is the identity. The mask of sample i draws
   from dpt_pass_rng(pass, node, first + i), so it depends on (seed, epoch, step, the sample's
   place in the epoch, node) and never on ranks or threads; backward draws the same mask again
   instead of storing it. */
#include <string.h>

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

/* dst = src * mask / (1 - p), sample by sample. */
static void apply_mask(const dpt_layer *l, const dpt_pass *pass, const float *src, float *dst,
                       int n) {
    const size_t per_sample = dpt_shape_size(l->in[0]), unit = unit_of(l);
    const double p = l->arg[ARG_P];
    if (!pass->training || p == 0) {
        memcpy(dst, src, sizeof(float) * (size_t)n * per_sample);
        return;
    }
    const float keep = p < 1 ? (float)(1.0 / (1.0 - p)) : 0.0f;
    for (int s = 0; s < n; s++) {
        dpt_rng rng = dpt_pass_rng(pass, l->index, pass->first + (uint64_t)s);
        const size_t base = (size_t)s * per_sample;
        for (size_t u = 0; u < per_sample; u += unit) {
            const float scale = dpt_rng_uniform(&rng) < p ? 0.0f : keep;
            for (size_t i = base + u; i < base + u + unit; i++) dst[i] = src[i] * scale;
        }
    }
}

static void forward(const dpt_layer *l, const dpt_pass *pass, const float *params,
                    const float *const *in, float *out, float *scratch, int n) {
    (void)params, (void)scratch;
    apply_mask(l, pass, in[0], out, n);
}

static void backward(const dpt_layer *l, const dpt_pass *pass, const float *params, float *grads,
                     const float *const *in, const float *out, const float *dout, float *const *din,
                     float *scratch, int n) {
    (void)params, (void)grads, (void)in, (void)out, (void)scratch;
    if (din[0]) apply_mask(l, pass, dout, din[0], n);
}

const dpt_layer_kind dpt_dropout_kind = {
    .name = "dropout",
    .inputs = 1,
    .args = {{"p", 0, 0.5}},
    .setup = setup,
    .forward = forward,
    .backward = backward,
};

const dpt_layer_kind dpt_dropout2d_kind = {
    .name = "dropout2d",
    .inputs = 1,
    .args = {{"p", 0, 0.5}},
    .setup = setup,
    .forward = forward,
    .backward = backward,
};
