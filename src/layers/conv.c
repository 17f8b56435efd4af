/* Conv2d as im2col + sgemm, one sample at a time: the product (out_channels x K) . (K x P), with
   K = in_channels*kernel^2 and P the output pixels, lands directly in the sample's NCHW output,
   and the K x P column matrix stays in cache. Weight (out, in, k, k) and bias (out), as in
   PyTorch; bias=0 leaves the bias out (ResNet convolutions before BatchNorm). */
#include <cblas.h>
#include <string.h>

#include "dptrain/layer.h"

enum { ARG_OUT, ARG_KERNEL, ARG_STRIDE, ARG_PAD, ARG_BIAS };

typedef struct geometry {
    int C, H, W;   /* input */
    int M, OH, OW; /* output */
    int k, stride, pad;
    int K, P; /* rows of the column matrix; output pixels per sample */
    int bias; /* whether the layer has a bias */
} geometry;

static geometry geometry_of(const dpt_layer *l) {
    geometry g = {.C = l->in[0].c,
                  .H = l->in[0].h,
                  .W = l->in[0].w,
                  .M = l->out.c,
                  .OH = l->out.h,
                  .OW = l->out.w,
                  .k = (int)l->arg[ARG_KERNEL],
                  .stride = (int)l->arg[ARG_STRIDE],
                  .pad = (int)l->arg[ARG_PAD],
                  .bias = l->arg[ARG_BIAS] != 0};
    g.K = g.C * g.k * g.k;
    g.P = g.OH * g.OW;
    return g;
}

static int setup(dpt_layer *l, dpt_err *err) {
    int out, k, stride, pad, bias;
    const dpt_shape in = l->in[0];
    if (dpt_layer_int_arg(l, ARG_OUT, 1, err, &out) ||
        dpt_layer_int_arg(l, ARG_KERNEL, 1, err, &k) ||
        dpt_layer_int_arg(l, ARG_STRIDE, 1, err, &stride) ||
        dpt_layer_int_arg(l, ARG_PAD, 0, err, &pad) ||
        dpt_layer_int_arg(l, ARG_BIAS, 0, err, &bias))
        return -1;
    if (bias > 1) return dpt_fail(err, "bias=%d must be 0 or 1", bias);
    if (in.h + 2 * pad < k || in.w + 2 * pad < k)
        return dpt_fail(err, "kernel %d does not fit a %dx%d input with pad %d", k, in.h, in.w,
                        pad);
    l->out = (dpt_shape){out, (in.h + 2 * pad - k) / stride + 1, (in.w + 2 * pad - k) / stride + 1};
    l->ntensors = 1 + bias;
    dpt_tensor_set(&l->tensors[0], "weight", 0, 4, (int[]){out, in.c, k, k});
    if (bias) dpt_tensor_set(&l->tensors[1], "bias", l->tensors[0].count, 1, (int[]){out});
    return 0;
}

static size_t scratch(const dpt_layer *l, int n) {
    (void)n;
    geometry g = geometry_of(l);
    return (size_t)g.K * g.P;
}

static double flops(const dpt_layer *l) {
    geometry g = geometry_of(l);
    return 2.0 * g.M * g.K * g.P + (g.bias ? (double)g.M * g.P : 0);
}

static void init(const dpt_layer *l, float *params, dpt_init how, dpt_rng *rng) {
    geometry g = geometry_of(l);
    const size_t weights = (size_t)g.M * g.K;
    dpt_init_weight_bias(params, weights, g.bias ? params + weights : NULL, (size_t)g.M,
                         (size_t)g.K, (size_t)g.M * g.k * g.k, how, rng);
}

/* The output columns [*lo, *hi) whose input x = ox*stride - pad + kj lies inside 0..W-1. */
static void valid_columns(const geometry *g, int kj, int *lo, int *hi) {
    int first = g->pad - kj, last = g->W - 1 + g->pad - kj; /* bounds on ox*stride */
    *lo = first > 0 ? (first + g->stride - 1) / g->stride : 0;
    *hi = last < 0 ? 0 : last / g->stride + 1;
    if (*hi > g->OW) *hi = g->OW;
    if (*lo > *hi) *lo = *hi;
}

/* col[K][P] from one sample's in[C][H][W]; zero where the window hangs over the padding. */
static void im2col(const geometry *g, const float *in, float *col) {
    for (int c = 0; c < g->C; c++)
        for (int ki = 0; ki < g->k; ki++)
            for (int kj = 0; kj < g->k; kj++) {
                float *row = col + (size_t)((c * g->k + ki) * g->k + kj) * g->P;
                int lo, hi;
                valid_columns(g, kj, &lo, &hi);
                const int x0 = lo * g->stride - g->pad + kj;
                const float *plane = in + (size_t)c * g->H * g->W;
                for (int oy = 0; oy < g->OH; oy++) {
                    int y = oy * g->stride - g->pad + ki;
                    float *dst = row + (size_t)oy * g->OW;
                    if (y < 0 || y >= g->H) {
                        for (int ox = 0; ox < g->OW; ox++) dst[ox] = 0;
                        continue;
                    }
                    const float *src = plane + y * g->W + x0;
                    for (int ox = 0; ox < lo; ox++) dst[ox] = 0;
                    /* Rows are short (7 to 28 pixels here): a loop beats memcpy's call. */
                    if (g->stride == 1)
                        for (int ox = lo; ox < hi; ox++) dst[ox] = src[ox - lo];
                    else
                        for (int ox = lo; ox < hi; ox++) dst[ox] = src[(ox - lo) * g->stride];
                    for (int ox = hi; ox < g->OW; ox++) dst[ox] = 0;
                }
            }
}

/* The adjoint of im2col: din[C][H][W] = sum of the column entries that read each pixel. */
static void col2im(const geometry *g, const float *col, float *din) {
    memset(din, 0, sizeof(float) * (size_t)g->C * g->H * g->W);
    for (int c = 0; c < g->C; c++)
        for (int ki = 0; ki < g->k; ki++)
            for (int kj = 0; kj < g->k; kj++) {
                const float *row = col + (size_t)((c * g->k + ki) * g->k + kj) * g->P;
                int lo, hi;
                valid_columns(g, kj, &lo, &hi);
                const int x0 = lo * g->stride - g->pad + kj;
                float *plane = din + (size_t)c * g->H * g->W;
                for (int oy = 0; oy < g->OH; oy++) {
                    int y = oy * g->stride - g->pad + ki;
                    if (y < 0 || y >= g->H) continue;
                    const float *src = row + (size_t)oy * g->OW;
                    float *dst = plane + y * g->W + x0;
                    for (int ox = lo; ox < hi; ox++) dst[(ox - lo) * g->stride] += src[ox];
                }
            }
}

static void forward(const dpt_layer *l, const dpt_pass *pass, const float *params,
                    const float *const *inputs, float *out, float *scratch, int n) {
    (void)pass;
    geometry g = geometry_of(l);
    const float *in = inputs[0], *bias = params + (size_t)g.M * g.K;
    for (int s = 0; s < n; s++) {
        float *o = out + (size_t)s * g.M * g.P;
        for (int m = 0; m < g.M; m++)
            for (int p = 0; p < g.P; p++) o[(size_t)m * g.P + p] = g.bias ? bias[m] : 0.0f;
        im2col(&g, in + (size_t)s * g.C * g.H * g.W, scratch);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g.M, g.P, g.K, 1.0f, params, g.K,
                    scratch, g.P, 1.0f, o, g.P);
    }
}

static void backward(const dpt_layer *l, const dpt_pass *pass, const float *params, float *grads,
                     const float *const *inputs, const float *out, const float *dout,
                     float *const *dinputs, float *scratch, int n) {
    (void)pass, (void)out;
    geometry g = geometry_of(l);
    const float *in = inputs[0];
    float *din = dinputs[0], *dW = grads, *db = grads + (size_t)g.M * g.K;
    if (g.bias)
        for (int m = 0; m < g.M; m++) db[m] = 0;
    for (int s = 0; s < n; s++) {
        const float *d = dout + (size_t)s * g.M * g.P;
        for (int m = 0; g.bias && m < g.M; m++)
            for (int p = 0; p < g.P; p++) db[m] += d[(size_t)m * g.P + p];
        im2col(&g, in + (size_t)s * g.C * g.H * g.W, scratch);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g.M, g.K, g.P, 1.0f, d, g.P, scratch,
                    g.P, s ? 1.0f : 0.0f, dW, g.K);
        if (!din) continue;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g.K, g.P, g.M, 1.0f, params, g.K, d,
                    g.P, 0.0f, scratch, g.P);
        col2im(&g, scratch, din + (size_t)s * g.C * g.H * g.W);
    }
}

const dpt_layer_kind dpt_conv_kind = {
    .name = "conv",
    .inputs = 1,
    .args = {{"out", 1, 0}, {"kernel", 1, 0}, {"stride", 0, 1}, {"pad", 0, 0}, {"bias", 0, 1}},
    .setup = setup,
    .scratch = scratch,
    .flops = flops,
    .init = init,
    .forward = forward,
    .backward = backward,
};
