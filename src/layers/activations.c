/* Element-wise activations, with PyTorch's defaults: relu, leakyrelu(slope=0.01),
   elu(alpha=1), sigmoid, tanh. Each backward but leakyrelu's reads only the output. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "dptrain/hot_loop.h"
#include "dptrain/layer.h"

static size_t count(const dpt_layer *l, int n) {
    return (size_t)n * dpt_shape_size(l->in[0]);
}

/* For t in [-17.5, 88.8]: e^r - 1, with *half = 2^(k-1), where t = k ln 2 + r and |r| <= ln 2 / 2
   (ln 2 in two parts, so that r is exact); e^r - 1 by its Taylor series to r^7 (error below 2e-8
   of r). Plain float operations the compiler vectorizes (glibc's expm1f and expf are a call per
   value: ELU's forward took 11% of a cnn002-bn step, sigmoid's 6% of an mlp300 step). NaN stays
   NaN (any k). */
static inline float exp_reduced(float t, float *half) {
    const float shifter = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    const float kf = (t * 1.44269504f + shifter) - shifter;
    const float r = (t - kf * 0.693145752f) - kf * 1.42860677e-6f;
    const int32_t k = (int32_t)(kf == kf ? kf : 0.0f);
    const uint32_t bits = (uint32_t)(k + 126) << 23;
    memcpy(half, &bits, sizeof *half);
    return r + r * r *
                   (0.5f +
                    r * (1.0f / 6 + r * (1.0f / 24 +
                                         r * (1.0f / 120 + r * (1.0f / 720 + r * (1.0f / 5040))))));
}

/* e^x - 1 for x <= 0 (for x > 0 the value of 0), within 2 ulp: 2^k (e^r - 1) + (2^k - 1), both
   terms exact for k >= -26. Below -17.5 the result rounds to -1 anyway, so x is clamped there. */
static inline float expm1_nonpositive(float x) {
    float half;
    const float p = exp_reduced(x > 0 ? 0.0f : x < -17.5f ? -17.5f : x, &half);
    const float s = 2 * half;
    return s * p + (s - 1.0f);
}

/* 1 / (1 + e^-x) within 3 ulp: e^t = 2 (2^(k-1) (e^r - 1) + 2^(k-1)), which overflows to
   infinity, as expf does, from t = 88.73 (the output is then 0). Below t = -17.5, 1 + e^t rounds
   to 1 anyway, so t is clamped there (and at 88.8 above). */
static inline float sigmoid_of(float x) {
    const float t = -x;
    float half;
    const float p = exp_reduced(t < -17.5f ? -17.5f : t > 88.8f ? 88.8f : t, &half);
    return 1.0f / (1.0f + 2 * (half * p + half));
}

/* The forward and backward of an activation from its per-value expressions: FORWARD gives the
   output from x (the input) and a (the layer's first argument); BACKWARD gives the input's
   gradient from g (the output's gradient), x, y (the output) and a. Each loop is compiled for
   any CPU and for AVX-512 (HOT_LOOP: the same bits). */
#define ACTIVATION(kind, ARGS, FORWARD, BACKWARD)                                                  \
    HOT_LOOP static void kind##_forward(const dpt_layer *l, const dpt_pass *pass,                  \
                                        const float *params, const float *const *in, float *out,   \
                                        float *scratch, int n) {                                   \
        (void)pass, (void)params, (void)scratch;                                                   \
        const float a = (float)l->arg[0];                                                          \
        (void)a;                                                                                   \
        const float *src = in[0];                                                                  \
        for (size_t i = 0, N = count(l, n); i < N; i++) {                                          \
            const float x = src[i];                                                                \
            out[i] = (FORWARD);                                                                    \
        }                                                                                          \
    }                                                                                              \
    HOT_LOOP static void kind##_backward(                                                          \
        const dpt_layer *l, const dpt_pass *pass, const float *params, float *grads,               \
        const float *const *in, const float *out, const float *dout, float *const *din,            \
        float *scratch, int n) {                                                                   \
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
ACTIVATION(elu, ONE_ARG("alpha", 1.0), x > 0 ? x : a * expm1_nonpositive(x),
           x > 0 ? g : g * (y + a))
ACTIVATION(sigmoid, NO_ARGS, sigmoid_of(x), g *y *(1 - y))
ACTIVATION(tanh, NO_ARGS, tanhf(x), g *(1 - y * y))
