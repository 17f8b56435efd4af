/* Flatten: (c, h, w) to (c*h*w, 1, 1). The memory layout is unchanged, so both passes copy. */
#include <string.h>

#include "dptrain/layer.h"

static int setup(dpt_layer *l, dpt_err *err) {
    (void)err;
    l->out = (dpt_shape){(int)dpt_shape_size(l->in[0]), 1, 1};
    return 0;
}

static void forward(const dpt_layer *l, const dpt_pass *pass, const float *params,
                    const float *const *in, float *out, float *scratch, int n) {
    (void)pass, (void)params, (void)scratch;
    memcpy(out, in[0], sizeof(float) * (size_t)n * dpt_shape_size(l->in[0]));
}

static void backward(const dpt_layer *l, const dpt_pass *pass, const float *params, float *grads,
                     const float *const *in, const float *out, const float *dout, float *const *din,
                     float *scratch, int n) {
    (void)pass, (void)params, (void)grads, (void)in, (void)out, (void)scratch;
    if (din[0]) memcpy(din[0], dout, sizeof(float) * (size_t)n * dpt_shape_size(l->in[0]));
}

const dpt_layer_kind dpt_flatten_kind = {
    .name = "flatten", .inputs = 1, .setup = setup, .forward = forward, .backward = backward};
