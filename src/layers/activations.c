/* Element-wise activations, with PyTorch's defaults: relu, leakyrelu(slope=0.01),
   elu(alpha=1), sigmoid, tanh. Each backward but leakyrelu's reads only the output. */
#include <math.h>

#include "dptrain/layer.h"

static size_t count(const dpt_layer *l, int n) {
    return (size_t)n * dpt_shape_size(l->in[0]);
}

/* The forward and backward of an activation from its per-value expressions: FORWARD gives the
   output from x (the input) and a (the layer's first argument); BACKWARD gives the input's
   gradient from g (the output's gradient), x, y (the output) and a. */
#define ACTIVATION(kind, ARGS, FORWARD, BACKWARD)                                                  \
    static void kind##_forward(const dpt_layer *l, const dpt_pass *pass, const float *params,      \
                               const float *const *in, float *out, float *scratch, int n) {        \
        (void)pass, (void)params, (void)scratch;                                                   \
        const float a = (float)l->arg[0];                                                          \
        (void)a;                                                                                   \
        const float *src = in[0];                                                                  \
        for (size_t i = 0, N = count(l, n); i < N; i++) {                                          \
            const float x = src[i];                                                                \
            out[i] = (FORWARD);                                                                    \
        }                                                                                          \
    }                                                                                              \
    static void kind##_backward(const dpt_layer *l, const dpt_pass *pass, const float *params,     \
                                float *grads, const float *const *in, const float *out,            \
                                const float *dout, float *const *din, float *scratch, int n) {     \
        (void)pass, (void)params, (void)grads, (void)scratch;                                      \
        const float a = (float)l->arg[0];                                                          \
        (void)a;                                                                                   \
        if (!din[0]) return;                                                                       \
        const float *src = in[0];                                                                  \
        for (size_t i = 0, N = count(l, n); i < N; i++) {                                          \
            const float g = dout[i], x = src[i], y = out[i];                                       \
            (void)x, (void)y;                                                                      \
            din[0][i] = (BACKWARD);                                                                \
        }                                                                                          \
    }                                                                                              \
    const dpt_layer_kind dpt_##kind##_kind = {.name = #kind,                                       \
                                              .inputs = 1,                                         \
                                              .args = ARGS,                                        \
                                              .setup = dpt_layer_same_shape,                       \
                                              .forward = kind##_forward,                           \
                                              .backward = kind##_backward};

#define NO_ARGS                                                                                    \
    {                                                                                              \
        { 0 }                                                                                      \
    }
#define ONE_ARG(name, fallback)                                                                    \
    {                                                                                              \
        { name, 0, fallback }                                                                      \
    }

ACTIVATION(relu, NO_ARGS, x > 0 ? x : 0.0f, y > 0 ? g : 0.0f)
ACTIVATION(leakyrelu, ONE_ARG("slope", 0.01), x > 0 ? x : a * x, x > 0 ? g : g * a)
/* For x <= 0, y = a(e^x - 1), so its derivative a e^x is y + a. */
ACTIVATION(elu, ONE_ARG("alpha", 1.0), x > 0 ? x : a * expm1f(x), x > 0 ? g : g * (y + a))
ACTIVATION(sigmoid, NO_ARGS, 1.0f / (1.0f + expf(-x)), g *y *(1 - y))
ACTIVATION(tanh, NO_ARGS, tanhf(x), g *(1 - y * y))
