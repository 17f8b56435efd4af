/* AvgPool2d(kernel, stride=kernel) without padding, floor mode (PyTorch's defaults), and global
   average pooling (AdaptiveAvgPool2d(1)): each channel's plane to its mean. */
#include <string.h>

#include "dptrain/layer.h"

enum { ARG_KERNEL, ARG_STRIDE };

extern const dpt_layer_kind dpt_globalavgpool_kind;

static int global_setup(dpt_layer *l, dpt_err *err) {
    (void)err;
    l->out = (dpt_shape){l->in[0].c, 1, 1};
    return 0;
}

/* Window geometry: kernel kh x kw at stride s; global pooling is one window over the plane. */
typedef struct window {
    int kh, kw, stride;
} window;

static window window_of(const dpt_layer *l) {
    if (l->kind == &dpt_globalavgpool_kind) return (window){l->in[0].h, l->in[0].w, 1};
    return (window){(int)l->arg[ARG_KERNEL], (int)l->arg[ARG_KERNEL], (int)l->arg[ARG_STRIDE]};
}

static double flops(const dpt_layer *l) {
    window g = window_of(l);
    return (double)dpt_shape_size(l->out) * g.kh * g.kw;
}

static void forward(const dpt_layer *l, const dpt_pass *pass, const float *params,
                    const float *const *in, float *out, float *scratch, int n) {
    (void)pass, (void)params, (void)scratch;
    const window g = window_of(l);
    const int H = l->in[0].h, W = l->in[0].w, OH = l->out.h, OW = l->out.w;
    const float scale = 1.0f / (float)(g.kh * g.kw);
    for (size_t p = 0; p < (size_t)n * l->in[0].c; p++) {
        const float *plane = in[0] + p * H * W;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                float sum = 0;
                for (int i = 0; i < g.kh; i++)
                    for (int j = 0; j < g.kw; j++)
                        sum += plane[(oy * g.stride + i) * W + ox * g.stride + j];
                out[(p * OH + oy) * OW + ox] = sum * scale;
            }
    }
}

static void backward(const dpt_layer *l, const dpt_pass *pass, const float *params, float *grads,
                     const float *const *in, const float *out, const float *dout, float *const *din,
                     float *scratch, int n) {
    (void)pass, (void)params, (void)grads, (void)in, (void)out, (void)scratch;
    if (!din[0]) return;
    const window g = window_of(l);
    const int H = l->in[0].h, W = l->in[0].w, OH = l->out.h, OW = l->out.w;
    const float scale = 1.0f / (float)(g.kh * g.kw);
    memset(din[0], 0, sizeof(float) * (size_t)n * dpt_shape_size(l->in[0]));
    for (size_t p = 0; p < (size_t)n * l->in[0].c; p++) {
        float *dplane = din[0] + p * H * W;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                const float d = dout[(p * OH + oy) * OW + ox] * scale;
                for (int i = 0; i < g.kh; i++)
                    for (int j = 0; j < g.kw; j++)
                        dplane[(oy * g.stride + i) * W + ox * g.stride + j] += d;
            }
    }
}

const dpt_layer_kind dpt_avgpool_kind = {
    .name = "avgpool",
    .inputs = 1,
    .args = {{"kernel", 1, 0}, {"stride", 0, 0}},
    .setup = dpt_layer_pool_setup,
    .flops = flops,
    .forward = forward,
    .backward = backward,
};

const dpt_layer_kind dpt_globalavgpool_kind = {
    .name = "globalavgpool",
    .inputs = 1,
    .setup = global_setup,
    .flops = flops,
    .forward = forward,
    .backward = backward,
};
