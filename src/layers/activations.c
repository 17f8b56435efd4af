/* Element-wise activations. Each backward reads only the output, so it needs no extra memory. */
#include <math.h>

#include "dptrain/layer.h"

static int same_shape(dpt_layer *l, dpt_err *err) {
    (void)err;
    l->out = l->in;
    return 0;
}

static size_t count(const dpt_layer *l, int n) {
    return (size_t)n * dpt_shape_size(l->in);
}

static void relu_forward(const dpt_layer *l, const float *params, const float *in, float *out,
                         float *scratch, int n) {
    (void)params, (void)scratch;
    for (size_t i = 0, N = count(l, n); i < N; i++) out[i] = in[i] > 0 ? in[i] : 0;
}

static void relu_backward(const dpt_layer *l, const float *params, float *grads, const float *in,
                          const float *out, const float *dout, float *din, float *scratch, int n) {
    (void)params, (void)grads, (void)in, (void)scratch;
    if (din)
        for (size_t i = 0, N = count(l, n); i < N; i++) din[i] = out[i] > 0 ? dout[i] : 0;
}

static void sigmoid_forward(const dpt_layer *l, const float *params, const float *in, float *out,
                            float *scratch, int n) {
    (void)params, (void)scratch;
    for (size_t i = 0, N = count(l, n); i < N; i++) out[i] = 1.0f / (1.0f + expf(-in[i]));
}

static void sigmoid_backward(const dpt_layer *l, const float *params, float *grads, const float *in,
                             const float *out, const float *dout, float *din, float *scratch,
                             int n) {
    (void)params, (void)grads, (void)in, (void)scratch;
    if (din)
        for (size_t i = 0, N = count(l, n); i < N; i++) din[i] = dout[i] * out[i] * (1 - out[i]);
}

static void tanh_forward(const dpt_layer *l, const float *params, const float *in, float *out,
                         float *scratch, int n) {
    (void)params, (void)scratch;
    for (size_t i = 0, N = count(l, n); i < N; i++) out[i] = tanhf(in[i]);
}

static void tanh_backward(const dpt_layer *l, const float *params, float *grads, const float *in,
                          const float *out, const float *dout, float *din, float *scratch, int n) {
    (void)params, (void)grads, (void)in, (void)scratch;
    if (din)
        for (size_t i = 0, N = count(l, n); i < N; i++) din[i] = dout[i] * (1 - out[i] * out[i]);
}

const dpt_layer_kind dpt_relu_kind = {
    .name = "relu", .setup = same_shape, .forward = relu_forward, .backward = relu_backward};
const dpt_layer_kind dpt_sigmoid_kind = {.name = "sigmoid",
                                         .setup = same_shape,
                                         .forward = sigmoid_forward,
                                         .backward = sigmoid_backward};
const dpt_layer_kind dpt_tanh_kind = {
    .name = "tanh", .setup = same_shape, .forward = tanh_forward, .backward = tanh_backward};
