/* ConvTranspose2d, the adjoint of Conv2d: each input pixel spreads its channels through the
   kernel over a k x k patch of the output, patches `stride` apart, `pad` rows and columns cut
   from each side and `outpad` more added at the bottom and the right:
     out[o][iy*stride - pad + i][ix*stride - pad + j] += w[c][o][i][j] * in[c][iy][ix].
   Weight (in, out, k, k) and bias (out), as in PyTorch; output size
   (H - 1) * stride - 2 * pad + kernel + outpad.

   One sample at a time, with the K x P column matrix (K = out*k*k, P = H*W input pixels) in
   the scratch: forward is the product W^T . x (K x C . C x P) scattered into the output
   (col2im); backward gathers dout into columns (im2col), then dx = W . col and dW += x . col^T.
   With kernel == stride (the U-Net's 2, 2) the patches do not overlap: the scatter writes each
   output value once, bias included, and needs no zeroing pass. */
#include <cblas.h>
#include <string.h>

#include "dptrain/layer.h"

enum { ARG_OUT, ARG_KERNEL, ARG_STRIDE, ARG_PAD, ARG_OUTPAD, ARG_BIAS };

typedef struct geometry {
    int C, H, W;   /* input: the column matrix's P = H*W columns */
    int M, OH, OW; /* output: the image col2im writes and im2col reads */
    int k, stride, pad;
    int K, P; /* rows and columns of the column matrix */
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
    g.K = g.M * g.k * g.k;
    g.P = g.H * g.W;
    return g;
}

static int setup(dpt_layer *l, dpt_err *err) {
    int out, k, stride, pad, outpad, bias;
    const dpt_shape in = l->in[0];
    if (dpt_layer_int_arg(l, ARG_OUT, 1, err, &out) ||
        dpt_layer_int_arg(l, ARG_KERNEL, 1, err, &k) ||
        dpt_layer_int_arg(l, ARG_STRIDE, 1, err, &stride) ||
        dpt_layer_int_arg(l, ARG_PAD, 0, err, &pad) ||
        dpt_layer_int_arg(l, ARG_OUTPAD, 0, err, &outpad) ||
        dpt_layer_int_arg(l, ARG_BIAS, 0, err, &bias))
        return -1;
    if (bias > 1) return dpt_fail(err, "bias=%d must be 0 or 1", bias);
    if (outpad >= stride)
        return dpt_fail(err, "outpad=%d must be smaller than stride=%d", outpad, stride);
    /* In 64 bits: the input's sides (up to 2^30) times the stride (up to 2^20). */
    const long long oh = (long long)(in.h - 1) * stride - 2LL * pad + k + outpad,
                    ow = (long long)(in.w - 1) * stride - 2LL * pad + k + outpad;
    if (oh < 1 || ow < 1)
        return dpt_fail(err, "pad %d on each side leaves nothing of its %lldx%lld output", pad,
                        oh + 2LL * pad, ow + 2LL * pad);
    if (oh > 1 << 30 || ow > 1 << 30)
        return dpt_fail(err, "its output would be %lldx%lld, a side longer than 2^30", oh, ow);
    l->out = (dpt_shape){out, (int)oh, (int)ow};
    l->ntensors = 1 + bias;
    dpt_tensor_set(&l->tensors[0], "weight", 0, 4, (int[]){in.c, out, k, k});
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
    return 2.0 * g.C * g.K * g.P + (g.bias ? (double)g.M * g.OH * g.OW : 0);
}

/* PyTorch's ConvTranspose2d: fan_in is weight.size(1) * k * k = out * k * k. */
static void init(const dpt_layer *l, float *params, dpt_init how, dpt_rng *rng) {
    geometry g = geometry_of(l);
    const size_t weights = (size_t)g.C * g.K;
    dpt_init_weight_bias(params, weights, g.bias ? params + weights : NULL, (size_t)g.M,
                         (size_t)g.K, (size_t)g.C * g.k * g.k, how, rng);
}

/* The input columns [*lo, *hi) whose output x = ix*stride - pad + kj lies inside 0..OW-1. */
static void valid_columns(const geometry *g, int kj, int *lo, int *hi) {
    int first = g->pad - kj, last = g->OW - 1 + g->pad - kj; /* bounds on ix*stride */
    *lo = first > 0 ? (first + g->stride - 1) / g->stride : 0;
    *hi = last < 0 ? 0 : last / g->stride + 1;
    if (*hi > g->W) *hi = g->W;
    if (*lo > *hi) *lo = *hi;
}

/* The general scatter: out[M][OH][OW] = bias + the sum of the column entries landing on each
   output value. */
static void col2im(const geometry *g, const float *col, const float *bias, float *out) {
    const size_t plane_size = (size_t)g->OH * g->OW;
    for (int m = 0; m < g->M; m++) {
        float *plane = out + (size_t)m * plane_size;
        const float b = bias ? bias[m] : 0.0f;
        for (size_t i = 0; i < plane_size; i++) plane[i] = b;
        for (int ki = 0; ki < g->k; ki++)
            for (int kj = 0; kj < g->k; kj++) {
                const float *row = col + (size_t)((m * g->k + ki) * g->k + kj) * g->P;
                int lo, hi;
                valid_columns(g, kj, &lo, &hi);
                if (lo == hi) continue;
                const int x0 = lo * g->stride - g->pad + kj;
                for (int iy = 0; iy < g->H; iy++) {
                    const int y = iy * g->stride - g->pad + ki;
                    if (y < 0 || y >= g->OH) continue;
                    const float *src = row + (size_t)iy * g->W;
                    float *dst = plane + (size_t)y * g->OW + x0;
                    for (int ix = lo; ix < hi; ix++) dst[(ix - lo) * g->stride] += src[ix];
                }
            }
    }
}

/* kernel == stride, no padding: output row y = iy*k + ki, column x = ix*k + kj, each written
   once (outpad's extra rows and columns get the bias alone). */
static void scatter_tiles(const geometry *g, const float *col, const float *bias, float *out) {
    const int k = g->k, covered = g->W * k;
    for (int m = 0; m < g->M; m++) {
        float *plane = out + (size_t)m * g->OH * g->OW;
        const float b = bias ? bias[m] : 0.0f;
        for (int iy = 0; iy < g->H; iy++)
            for (int ki = 0; ki < k; ki++) {
                float *dst = plane + (size_t)(iy * k + ki) * g->OW;
                const float *src = col + (size_t)((m * k + ki) * k) * g->P + (size_t)iy * g->W;
                if (k == 2) {
                    const float *src1 = src + g->P;
                    for (int ix = 0; ix < g->W; ix++) {
                        dst[2 * ix] = src[ix] + b;
                        dst[2 * ix + 1] = src1[ix] + b;
                    }
                } else {
                    for (int kj = 0; kj < k; kj++, src += g->P)
                        for (int ix = 0; ix < g->W; ix++) dst[ix * k + kj] = src[ix] + b;
                }
                for (int x = covered; x < g->OW; x++) dst[x] = b;
            }
        for (int y = g->H * k; y < g->OH; y++)
            for (int x = 0; x < g->OW; x++) plane[(size_t)y * g->OW + x] = b;
    }
}

/* The adjoint of the scatter: col[K][P] gathers, for each kernel tap and input pixel, the
   output value it lands on (zero where it falls in the cut padding). */
static void im2col(const geometry *g, const float *img, float *col) {
    for (int m = 0; m < g->M; m++)
        for (int ki = 0; ki < g->k; ki++)
            for (int kj = 0; kj < g->k; kj++) {
                float *row = col + (size_t)((m * g->k + ki) * g->k + kj) * g->P;
                int lo, hi;
                valid_columns(g, kj, &lo, &hi);
                const int x0 = lo * g->stride - g->pad + kj;
                const float *plane = img + (size_t)m * g->OH * g->OW;
                for (int iy = 0; iy < g->H; iy++) {
                    const int y = iy * g->stride - g->pad + ki;
                    float *dst = row + (size_t)iy * g->W;
                    if (y < 0 || y >= g->OH || lo == hi) {
                        for (int ix = 0; ix < g->W; ix++) dst[ix] = 0;
                        continue;
                    }
                    const float *src = plane + (size_t)y * g->OW + x0;
                    for (int ix = 0; ix < lo; ix++) dst[ix] = 0;
                    if (g->stride == 1)
                        for (int ix = lo; ix < hi; ix++) dst[ix] = src[ix - lo];
                    else
                        for (int ix = lo; ix < hi; ix++) dst[ix] = src[(ix - lo) * g->stride];
                    for (int ix = hi; ix < g->W; ix++) dst[ix] = 0;
                }
            }
}

static void forward(const dpt_layer *l, const dpt_pass *pass, const float *params,
                    const float *const *inputs, float *out, float *scratch, int n) {
    (void)pass;
    geometry g = geometry_of(l);
    const float *in = inputs[0], *bias = g.bias ? params + (size_t)g.C * g.K : NULL;
    const int tiles = g.k == g.stride && g.pad == 0;
    for (int s = 0; s < n; s++) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g.K, g.P, g.C, 1.0f, params, g.K,
                    in + (size_t)s * g.C * g.P, g.P, 0.0f, scratch, g.P);
        float *o = out + (size_t)s * g.M * g.OH * g.OW;
        if (tiles)
            scatter_tiles(&g, scratch, bias, o);
        else
            col2im(&g, scratch, bias, o);
    }
}

static void backward(const dpt_layer *l, const dpt_pass *pass, const float *params, float *grads,
                     const float *const *inputs, const float *out, const float *dout,
                     float *const *dinputs, float *scratch, int n) {
    (void)pass, (void)out;
    geometry g = geometry_of(l);
    const float *in = inputs[0];
    float *din = dinputs[0], *dW = grads, *db = grads + (size_t)g.C * g.K;
    const size_t plane = (size_t)g.OH * g.OW;
    if (g.bias)
        for (int m = 0; m < g.M; m++) db[m] = 0;
    for (int s = 0; s < n; s++) {
        const float *d = dout + (size_t)s * g.M * plane;
        for (int m = 0; g.bias && m < g.M; m++) {
            float sum = 0;
            for (size_t p = 0; p < plane; p++) sum += d[(size_t)m * plane + p];
            db[m] += sum;
        }
        im2col(&g, d, scratch);
        const float *x = in + (size_t)s * g.C * g.P;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g.C, g.K, g.P, 1.0f, x, g.P, scratch,
                    g.P, s ? 1.0f : 0.0f, dW, g.K);
        if (din)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g.C, g.P, g.K, 1.0f, params, g.K,
                        scratch, g.P, 0.0f, din + (size_t)s * g.C * g.P, g.P);
    }
}

const dpt_layer_kind dpt_convtranspose_kind = {
    .name = "convtranspose",
    .inputs = 1,
    .args = {{"out", 1, 0},
             {"kernel", 1, 0},
             {"stride", 0, 1},
             {"pad", 0, 0},
             {"outpad", 0, 0},
             {"bias", 0, 1}},
    .setup = setup,
    .scratch = scratch,
    .flops = flops,
    .init = init,
    .forward = forward,
    .backward = backward,
};
