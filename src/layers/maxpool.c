/* MaxPool2d without padding, floor mode (PyTorch's defaults). Backward sends each output's
   gradient to the first input of its window that equals the maximum, which is the element the
   forward pass picked, so no index buffer is kept. */
#include <string.h>

#include "dptrain/layer.h"

enum { ARG_KERNEL, ARG_STRIDE };

/* Index into the input plane of the first maximum of the window at output (oy, ox). */
static inline int window_argmax(const float *plane, int W, int oy, int ox, int k, int stride) {
    const int y0 = oy * stride, x0 = ox * stride;
    int best = y0 * W + x0;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            int at = (y0 + i) * W + x0 + j;
            if (plane[at] > plane[best]) best = at;
        }
    return best;
}

/* The common 2x2, stride-2 window over plane p (W wide) into dst (OH x OW): straight-line code
   the compiler vectorizes, the same picks as window_argmax. */
static void forward_2x2(const float *p, int W, float *dst, int OH, int OW) {
    for (int oy = 0; oy < OH; oy++) {
        const float *r0 = p + (size_t)2 * oy * W, *r1 = r0 + W;
        for (int ox = 0; ox < OW; ox++) {
            const float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
            const float top = b > a ? b : a, bottom = d > c ? d : c;
            dst[oy * OW + ox] = bottom > top ? bottom : top;
        }
    }
}

/* Backward of forward_2x2: every value of dp (H x W) written, the gradient g (OH x OW) where
   window_argmax points, zero elsewhere (the odd last row or column too). 0 + g is written, as
   the general path's += onto zeros does (the sign of a zero gradient). */
static void backward_2x2(const float *p, int H, int W, const float *g, float *dp, int OH, int OW) {
    for (int oy = 0; oy < OH; oy++) {
        const float *r0 = p + (size_t)2 * oy * W, *r1 = r0 + W;
        float *d0 = dp + (size_t)2 * oy * W, *d1 = d0 + W;
        for (int ox = 0; ox < OW; ox++) {
            const float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
            const float top = b > a ? b : a, bottom = d > c ? d : c, v = 0.0f + g[oy * OW + ox];
            const float upper = bottom > top ? 0.0f : v, lower = bottom > top ? v : 0.0f;
            d0[2 * ox] = b > a ? 0.0f : upper;
            d0[2 * ox + 1] = b > a ? upper : 0.0f;
            d1[2 * ox] = d > c ? 0.0f : lower;
            d1[2 * ox + 1] = d > c ? lower : 0.0f;
        }
        for (int x = 2 * OW; x < W; x++) d0[x] = d1[x] = 0.0f;
    }
    memset(dp + (size_t)2 * OH * W, 0, sizeof(float) * (size_t)(H - 2 * OH) * W);
}

static double flops(const dpt_layer *l) {
    const double k = l->arg[ARG_KERNEL];
    return (double)dpt_shape_size(l->out) * k * k;
}

static void forward(const dpt_layer *l, const dpt_pass *pass, const float *params,
                    const float *const *in, float *out, float *scratch, int n) {
    (void)pass, (void)params, (void)scratch;
    const int k = (int)l->arg[ARG_KERNEL], stride = (int)l->arg[ARG_STRIDE];
    const int H = l->in[0].h, W = l->in[0].w, OH = l->out.h, OW = l->out.w;
    for (size_t p = 0; p < (size_t)n * l->in[0].c; p++) {
        const float *plane = in[0] + p * H * W;
        float *dst = out + p * OH * OW;
        if (k == 2 && stride == 2) {
            forward_2x2(plane, W, dst, OH, OW);
            continue;
        }
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++)
                dst[oy * OW + ox] = plane[window_argmax(plane, W, oy, ox, k, stride)];
    }
}

static void backward(const dpt_layer *l, const dpt_pass *pass, const float *params, float *grads,
                     const float *const *in, const float *out, const float *dout, float *const *din,
                     float *scratch, int n) {
    (void)pass, (void)params, (void)grads, (void)out, (void)scratch;
    if (!din[0]) return;
    const int k = (int)l->arg[ARG_KERNEL], stride = (int)l->arg[ARG_STRIDE];
    const int H = l->in[0].h, W = l->in[0].w, OH = l->out.h, OW = l->out.w;
    if (k == 2 && stride == 2) {
        for (size_t p = 0; p < (size_t)n * l->in[0].c; p++)
            backward_2x2(in[0] + p * H * W, H, W, dout + p * OH * OW, din[0] + p * H * W, OH, OW);
        return;
    }
    memset(din[0], 0, sizeof(float) * (size_t)n * dpt_shape_size(l->in[0]));
    for (size_t p = 0; p < (size_t)n * l->in[0].c; p++) {
        const float *plane = in[0] + p * H * W, *dsrc = dout + p * OH * OW;
        float *dplane = din[0] + p * H * W;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++)
                dplane[window_argmax(plane, W, oy, ox, k, stride)] += dsrc[oy * OW + ox];
    }
}

const dpt_layer_kind dpt_maxpool_kind = {
    .name = "maxpool",
    .inputs = 1,
    .args = {{"kernel", 1, 0}, {"stride", 0, 0}},
    .setup = dpt_layer_pool_setup,
    .flops = flops,
    .forward = forward,
    .backward = backward,
};
