/* MaxPool2d without padding, floor mode (PyTorch's defaults). Backward sends each output's
   gradient to the first input of its window that equals the maximum, which is the element the
   forward pass picked, so no index buffer is kept. */
#include <string.h>

#include "dptrain/layer.h"

enum { ARG_KERNEL, ARG_STRIDE };

static int setup(dpt_layer *l, dpt_err *err) {
    int k, stride;
    if (dpt_layer_int_arg(l, ARG_KERNEL, 1, err, &k)) return -1;
    if (l->arg[ARG_STRIDE] == 0) l->arg[ARG_STRIDE] = k; /* PyTorch: stride defaults to kernel */
    if (dpt_layer_int_arg(l, ARG_STRIDE, 1, err, &stride)) return -1;
    if (l->in.h < k || l->in.w < k)
        return dpt_fail(err, "maxpool: kernel %d is larger than its %dx%d input", k, l->in.h,
                        l->in.w);
    l->out = (dpt_shape){l->in.c, (l->in.h - k) / stride + 1, (l->in.w - k) / stride + 1};
    return 0;
}

/* Index into the input plane of the first maximum of the window at output (oy, ox); the
   common 2x2, stride-2 window has a straight-line path. */
static inline int window_argmax(const float *plane, int W, int oy, int ox, int k, int stride) {
    const int y0 = oy * stride, x0 = ox * stride;
    if (k == 2 && stride == 2) {
        const int a = y0 * W + x0, c = a + W;
        const int top = plane[a + 1] > plane[a] ? a + 1 : a;
        const int bottom = plane[c + 1] > plane[c] ? c + 1 : c;
        return plane[bottom] > plane[top] ? bottom : top;
    }
    int best = y0 * W + x0;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            int at = (y0 + i) * W + x0 + j;
            if (plane[at] > plane[best]) best = at;
        }
    return best;
}

static void forward(const dpt_layer *l, const float *params, const float *in, float *out,
                    float *scratch, int n) {
    (void)params, (void)scratch;
    const int k = (int)l->arg[ARG_KERNEL], stride = (int)l->arg[ARG_STRIDE];
    const int H = l->in.h, W = l->in.w, OH = l->out.h, OW = l->out.w;
    for (size_t p = 0; p < (size_t)n * l->in.c; p++) {
        const float *plane = in + p * H * W;
        float *dst = out + p * OH * OW;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++)
                dst[oy * OW + ox] = plane[window_argmax(plane, W, oy, ox, k, stride)];
    }
}

static void backward(const dpt_layer *l, const float *params, float *grads, const float *in,
                     const float *out, const float *dout, float *din, float *scratch, int n) {
    (void)params, (void)grads, (void)out, (void)scratch;
    if (!din) return;
    const int k = (int)l->arg[ARG_KERNEL], stride = (int)l->arg[ARG_STRIDE];
    const int H = l->in.h, W = l->in.w, OH = l->out.h, OW = l->out.w;
    memset(din, 0, sizeof(float) * (size_t)n * dpt_shape_size(l->in));
    for (size_t p = 0; p < (size_t)n * l->in.c; p++) {
        const float *plane = in + p * H * W, *dsrc = dout + p * OH * OW;
        float *dplane = din + p * H * W;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++)
                dplane[window_argmax(plane, W, oy, ox, k, stride)] += dsrc[oy * OW + ox];
    }
}

const dpt_layer_kind dpt_maxpool_kind = {
    .name = "maxpool",
    .args = {{"kernel", 1, 0}, {"stride", 0, 0}},
    .setup = setup,
    .forward = forward,
    .backward = backward,
};
