/* MaxPool2d without padding, floor mode (PyTorch's defaults). Backward sends each output's
   gradient to the first input of its window that equals the maximum, which is the element the
   forward pass picked, so no index buffer is kept. */
#include <string.h>

#include "avx512.h"
#include "dptrain/layer.h"
#include "maxpool_2x2.h"

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

static double flops(const dpt_layer *l) {
    const double k = l->arg[ARG_KERNEL];
    return (double)dpt_shape_size(l->out) * k * k;
}

static void forward(const dpt_layer *l, const dpt_pass *pass, const float *params,
                    const float *const *in, float *out, float *scratch, int n) {
    (void)pass, (void)params, (void)scratch;
    const int k = (int)l->arg[ARG_KERNEL], stride = (int)l->arg[ARG_STRIDE];
    const int H = l->in[0].h, W = l->in[0].w, OH = l->out.h, OW = l->out.w;
    if (k == 2 && stride == 2) {
        dpt_pool2_forward(in[0], (size_t)n * l->in[0].c, H, W, out, dpt_avx512());
        return;
    }
    for (size_t p = 0; p < (size_t)n * l->in[0].c; p++) {
        const float *plane = in[0] + p * H * W;
        float *dst = out + p * OH * OW;
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
        dpt_pool2_backward(in[0], (size_t)n * l->in[0].c, H, W, dout, din[0], dpt_avx512());
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
