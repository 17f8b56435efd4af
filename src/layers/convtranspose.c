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
#include "unfold.h"

enum { ARG_OUT, ARG_KERNEL, ARG_STRIDE, ARG_PAD, ARG_OUTPAD, ARG_BIAS };

/* The output image unfolded over the input pixels: u.rows = K, u.cols = P. */
typedef struct geometry {
    dpt_unfold u;
    int C;    /* input channels */
    int bias; /* whether the layer has a bias */
} geometry;

static geometry geometry_of(const dpt_layer *l) {
    const dpt_shape out = l->out;
    return (geometry){.u = dpt_unfold_make(out.c, out.h, out.w, (int)l->arg[ARG_KERNEL],
                                           (int)l->arg[ARG_STRIDE], (int)l->arg[ARG_PAD],
                                           l->in[0].h, l->in[0].w),
                      .C = l->in[0].c,
                      .bias = l->arg[ARG_BIAS] != 0};
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
    return (size_t)g.u.rows * g.u.cols;
}

static double flops(const dpt_layer *l) {
    geometry g = geometry_of(l);
    return 2.0 * g.C * g.u.rows * g.u.cols + (g.bias ? (double)g.u.c * g.u.h * g.u.w : 0);
}

/* PyTorch's ConvTranspose2d: fan_in is weight.size(1) * k * k = out * k * k. */
static void init(const dpt_layer *l, float *params, dpt_init how, dpt_rng *rng) {
    geometry g = geometry_of(l);
    const size_t weights = (size_t)g.C * g.u.rows;
    dpt_init_weight_bias(params, weights, g.bias ? params + weights : NULL, (size_t)g.u.c,
                         (size_t)g.u.rows, (size_t)g.C * g.u.k * g.u.k, how, rng);
}

/* kernel == stride, no padding: output row y = iy*k + ki, column x = ix*k + kj, each written
   once (outpad's extra rows and columns get the bias alone). */
static void scatter_tiles(const dpt_unfold *u, const float *col, const float *bias, float *out) {
    const int k = u->k, covered = u->gw * k;
    for (int m = 0; m < u->c; m++) {
        float *plane = out + (size_t)m * u->h * u->w;
        const float b = bias ? bias[m] : 0.0f;
        for (int iy = 0; iy < u->gh; iy++)
            for (int ki = 0; ki < k; ki++) {
                float *dst = plane + (size_t)(iy * k + ki) * u->w;
                const float *src = col + (size_t)((m * k + ki) * k) * u->cols + (size_t)iy * u->gw;
                if (k == 2) {
                    const float *src1 = src + u->cols;
                    for (int ix = 0; ix < u->gw; ix++) {
                        dst[2 * ix] = src[ix] + b;
                        dst[2 * ix + 1] = src1[ix] + b;
                    }
                } else {
                    for (int kj = 0; kj < k; kj++, src += u->cols)
                        for (int ix = 0; ix < u->gw; ix++) dst[ix * k + kj] = src[ix] + b;
                }
                for (int x = covered; x < u->w; x++) dst[x] = b;
            }
        for (int y = u->gh * k; y < u->h; y++)
            for (int x = 0; x < u->w; x++) plane[(size_t)y * u->w + x] = b;
    }
}

static void forward(const dpt_layer *l, const dpt_pass *pass, const float *params,
                    const float *const *inputs, float *out, float *scratch, int n) {
    (void)pass;
    geometry g = geometry_of(l);
    const float *in = inputs[0], *bias = g.bias ? params + (size_t)g.C * g.u.rows : NULL;
    const int tiles = g.u.k == g.u.stride && g.u.pad == 0;
    const size_t plane = (size_t)g.u.h * g.u.w;
    for (int s = 0; s < n; s++) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g.u.rows, g.u.cols, g.C, 1.0f, params,
                    g.u.rows, in + (size_t)s * g.C * g.u.cols, g.u.cols, 0.0f, scratch, g.u.cols);
        float *o = out + (size_t)s * g.u.c * plane;
        if (tiles)
            scatter_tiles(&g.u, scratch, bias, o);
        else {
            for (int m = 0; m < g.u.c; m++) {
                const float b = bias ? bias[m] : 0.0f;
                for (size_t i = 0; i < plane; i++) o[(size_t)m * plane + i] = b;
            }
            dpt_col2im(&g.u, scratch, o);
        }
    }
}

static void backward(const dpt_layer *l, const dpt_pass *pass, const float *params, float *grads,
                     const float *const *inputs, const float *out, const float *dout,
                     float *const *dinputs, float *scratch, int n) {
    (void)pass, (void)out;
    geometry g = geometry_of(l);
    const float *in = inputs[0];
    float *din = dinputs[0], *dW = grads, *db = grads + (size_t)g.C * g.u.rows;
    const size_t plane = (size_t)g.u.h * g.u.w;
    if (g.bias)
        for (int m = 0; m < g.u.c; m++) db[m] = 0;
    for (int s = 0; s < n; s++) {
        const float *d = dout + (size_t)s * g.u.c * plane;
        for (int m = 0; g.bias && m < g.u.c; m++) {
            float sum = 0;
            for (size_t p = 0; p < plane; p++) sum += d[(size_t)m * plane + p];
            db[m] += sum;
        }
        dpt_im2col(&g.u, d, scratch);
        const float *x = in + (size_t)s * g.C * g.u.cols;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g.C, g.u.rows, g.u.cols, 1.0f, x,
                    g.u.cols, scratch, g.u.cols, s ? 1.0f : 0.0f, dW, g.u.rows);
        if (din)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g.C, g.u.cols, g.u.rows, 1.0f,
                        params, g.u.rows, scratch, g.u.cols, 0.0f, din + (size_t)s * g.C * g.u.cols,
                        g.u.cols);
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
