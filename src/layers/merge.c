/* The two-input kinds: add (a residual block's sum, or add(@name)) and concat(@name), which
   stacks the saved tensor's channels and then the current tensor's, as torch.cat([saved,
   current], dim=1). in[0] is the current tensor, in[1] the saved one. */
#include <string.h>

#include "dptrain/layer.h"

static int add_setup(dpt_layer *l, dpt_err *err) {
    const dpt_shape a = l->in[0], b = l->in[1];
    if (a.c != b.c || a.h != b.h || a.w != b.w) return dpt_fail(err, "the shapes differ");
    l->out = a;
    return 0;
}

static void add_forward(const dpt_layer *l, const dpt_pass *pass, const float *params,
                        const float *const *in, float *out, float *scratch, int n) {
    (void)pass, (void)params, (void)scratch;
    for (size_t i = 0, N = (size_t)n * dpt_shape_size(l->out); i < N; i++)
        out[i] = in[0][i] + in[1][i];
}

static void add_backward(const dpt_layer *l, const dpt_pass *pass, const float *params,
                         float *grads, const float *const *in, const float *out, const float *dout,
                         float *const *din, float *scratch, int n) {
    (void)pass, (void)params, (void)grads, (void)in, (void)out, (void)scratch;
    for (int k = 0; k < 2; k++)
        if (din[k]) memcpy(din[k], dout, sizeof(float) * (size_t)n * dpt_shape_size(l->out));
}

static int concat_setup(dpt_layer *l, dpt_err *err) {
    const dpt_shape a = l->in[0], b = l->in[1];
    if (a.h != b.h || a.w != b.w) return dpt_fail(err, "the heights and widths differ");
    const long long channels = (long long)a.c + b.c; /* may not fit an int */
    if (channels > 1 << 30)
        return dpt_fail(err, "its output would have %lld channels, more than 2^30", channels);
    l->out = (dpt_shape){(int)channels, a.h, a.w};
    return 0;
}

static void concat_forward(const dpt_layer *l, const dpt_pass *pass, const float *params,
                           const float *const *in, float *out, float *scratch, int n) {
    (void)pass, (void)params, (void)scratch;
    const size_t current = dpt_shape_size(l->in[0]), saved = dpt_shape_size(l->in[1]);
    for (int s = 0; s < n; s++) {
        float *o = out + (size_t)s * (saved + current);
        memcpy(o, in[1] + (size_t)s * saved, sizeof(float) * saved);
        memcpy(o + saved, in[0] + (size_t)s * current, sizeof(float) * current);
    }
}

static void concat_backward(const dpt_layer *l, const dpt_pass *pass, const float *params,
                            float *grads, const float *const *in, const float *out,
                            const float *dout, float *const *din, float *scratch, int n) {
    (void)pass, (void)params, (void)grads, (void)in, (void)out, (void)scratch;
    const size_t current = dpt_shape_size(l->in[0]), saved = dpt_shape_size(l->in[1]);
    for (int s = 0; s < n; s++) {
        const float *d = dout + (size_t)s * (saved + current);
        if (din[1]) memcpy(din[1] + (size_t)s * saved, d, sizeof(float) * saved);
        if (din[0]) memcpy(din[0] + (size_t)s * current, d + saved, sizeof(float) * current);
    }
}

const dpt_layer_kind dpt_add_kind = {
    .name = "add",
    .inputs = 2,
    .args = {{"from", 0, 0}},
    .setup = add_setup,
    .forward = add_forward,
    .backward = add_backward,
};

const dpt_layer_kind dpt_concat_kind = {
    .name = "concat",
    .inputs = 2,
    .args = {{"from", 1, 0}},
    .setup = concat_setup,
    .forward = concat_forward,
    .backward = concat_backward,
};
