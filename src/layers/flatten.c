/* Flatten: (c, h, w) to (c*h*w, 1, 1). The memory layout is unchanged, so both passes copy. */
#include <string.h>

#include "dptrain/layer.h"

static int setup(dpt_layer *l, dpt_err *err) {
    (void)err;
    l->out = (dpt_shape){(int)dpt_shape_size(l->in), 1, 1};
    return 0;
}

static void forward(const dpt_layer *l, const float *params, const float *in, float *out,
                    float *scratch, int n) {
    (void)params, (void)scratch;
    memcpy(out, in, sizeof(float) * (size_t)n * dpt_shape_size(l->in));
}

static void backward(const dpt_layer *l, const float *params, float *grads, const float *in,
                     const float *out, const float *dout, float *din, float *scratch, int n) {
    (void)params, (void)grads, (void)in, (void)out, (void)scratch;
    if (din) memcpy(din, dout, sizeof(float) * (size_t)n * dpt_shape_size(l->in));
}

const dpt_layer_kind dpt_flatten_kind = {
    .name = "flatten", .setup = setup, .forward = forward, .backward = backward};
