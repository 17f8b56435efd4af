/* Conv2d as im2col + sgemm, one sample at a time: the product (out_channels x K) . (K x P), with
   K = in_channels*kernel^2 and P the output pixels, lands directly in the sample's NCHW output,
   and the K x P column matrix stays in cache. Where the CPU runs the direct kernels fast
   (conv_direct.h), stride-1 convolutions with a kernel above 1, pad < kernel, more than one
   input channel and at most 32 output channels compute their output and both gradients with
   them instead: with few output channels, sgemm's packing of the K x P matrix costs about as
   much as the product (measured in issue 12's note: a 3x3 convolution from 32 to 16 channels on
   64x64 twice as fast, 64 to 64 channels on 28x28 8% slower, one input channel up to 30%
   slower). Weight (out, in, k, k) and bias (out), as in PyTorch; bias=0 leaves the bias out
   (ResNet convolutions before BatchNorm). */
#include <cblas.h>

#include "conv_direct.h"
#include "row_sums.h"
#include "avx512.h"
#include "dptrain/layer.h"
#include "unfold.h"

enum { ARG_OUT, ARG_KERNEL, ARG_STRIDE, ARG_PAD, ARG_BIAS };

/* The input image unfolded over the output pixels: u.rows = K, u.cols = P. */
typedef struct geometry {
    dpt_unfold u;
    int M;      /* output channels */
    int bias;   /* whether the layer has a bias */
    int direct; /* whether the direct kernels compute the output and gradients */
} geometry;

static geometry geometry_of(const dpt_layer *l) {
    const dpt_shape in = l->in[0];
    return (geometry){.u = dpt_unfold_make(in.c, in.h, in.w, (int)l->arg[ARG_KERNEL],
                                           (int)l->arg[ARG_STRIDE], (int)l->arg[ARG_PAD], l->out.h,
                                           l->out.w),
                      .M = l->out.c,
                      .bias = l->arg[ARG_BIAS] != 0,
                      .direct = l->arg[ARG_STRIDE] == 1 && l->arg[ARG_KERNEL] > 1 &&
                                l->arg[ARG_PAD] < l->arg[ARG_KERNEL] && in.c > 1 &&
                                l->out.c <= 32 && dpt_own_kernels()};
}

/* The direct convolutions of the output (input -> output) and of the input gradient (output
   gradient -> input gradient, the kernel transposed and flipped). */
static dpt_direct output_conv(const geometry *g) {
    return (dpt_direct){
        .c = g->u.c, .h = g->u.h, .w = g->u.w, .m = g->M, .k = g->u.k, .pad = g->u.pad};
}

static dpt_direct input_grad_conv(const geometry *g) {
    return (dpt_direct){.c = g->M,
                        .h = g->u.gh,
                        .w = g->u.gw,
                        .m = g->u.c,
                        .k = g->u.k,
                        .pad = g->u.k - 1 - g->u.pad};
}

static size_t larger(size_t a, size_t b) {
    return a > b ? a : b;
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
    geometry g = geometry_of(l);
    if (!g.direct) return (size_t)g.u.rows * g.u.cols;
    const dpt_direct f = output_conv(&g), b = input_grad_conv(&g);
    return larger(larger(dpt_direct_packed(&f) + dpt_direct_scratch(&f),
                         dpt_direct_packed(&b) + dpt_direct_scratch(&b)),
                  dpt_direct_grad_scratch(&f, n));
}

static double flops(const dpt_layer *l) {
    geometry g = geometry_of(l);
    return 2.0 * g.M * g.u.rows * g.u.cols + (g.bias ? (double)g.M * g.u.cols : 0);
}

static void init(const dpt_layer *l, float *params, dpt_init how, dpt_rng *rng) {
    geometry g = geometry_of(l);
    const size_t weights = (size_t)g.M * g.u.rows;
    dpt_init_weight_bias(params, weights, g.bias ? params + weights : NULL, (size_t)g.M,
                         (size_t)g.u.rows, (size_t)g.M * g.u.k * g.u.k, how, rng);
}

static void forward(const dpt_layer *l, const dpt_pass *pass, const float *params,
                    const float *const *inputs, float *out, float *scratch, int n) {
    (void)pass;
    geometry g = geometry_of(l);
    const float *in = inputs[0], *bias = params + (size_t)g.M * g.u.rows;
    const size_t image = (size_t)g.u.c * g.u.h * g.u.w;
    if (g.direct) {
        const dpt_direct f = output_conv(&g);
        float *packed = scratch, *work = scratch + dpt_direct_packed(&f);
        dpt_direct_pack(&f, params, 0, packed);
        for (int s = 0; s < n; s++)
            dpt_direct_conv(&f, packed, g.bias ? bias : NULL, in + s * image,
                            out + (size_t)s * g.M * g.u.cols, work, 1);
        return;
    }
    for (int s = 0; s < n; s++) {
        float *o = out + (size_t)s * g.M * g.u.cols;
        for (int m = 0; m < g.M; m++)
            for (int p = 0; p < g.u.cols; p++)
                o[(size_t)m * g.u.cols + p] = g.bias ? bias[m] : 0.0f;
        dpt_im2col(&g.u, in + s * image, scratch);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g.M, g.u.cols, g.u.rows, 1.0f,
                    params, g.u.rows, scratch, g.u.cols, 1.0f, o, g.u.cols);
    }
}

/* Both gradients by im2col + sgemm (the input gradient's folded back by col2im). */
static void backward_unfolded(const geometry *g, const float *params, const float *in,
                              const float *dout, float *dW, float *din, float *scratch, int n) {
    const size_t image = (size_t)g->u.c * g->u.h * g->u.w;
    for (int s = 0; s < n; s++) {
        const float *d = dout + (size_t)s * g->M * g->u.cols;
        dpt_im2col(&g->u, in + s * image, scratch);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->M, g->u.rows, g->u.cols, 1.0f, d,
                    g->u.cols, scratch, g->u.cols, s ? 1.0f : 0.0f, dW, g->u.rows);
        if (!din) continue;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g->u.rows, g->u.cols, g->M, 1.0f,
                    params, g->u.rows, d, g->u.cols, 0.0f, scratch, g->u.cols);
        dpt_col2im_onto_zeros(&g->u, scratch, din + s * image);
    }
}

/* Both gradients by the direct kernels. */
static void backward_direct(const geometry *g, const float *params, const float *in,
                            const float *dout, float *dW, float *din, float *scratch, int n) {
    const size_t image = (size_t)g->u.c * g->u.h * g->u.w;
    const dpt_direct f = output_conv(g), b = input_grad_conv(g);
    dpt_direct_weight_grad(&f, n, in, dout, dW, scratch, 1);
    if (!din) return;
    float *packed = scratch, *work = scratch + dpt_direct_packed(&b);
    dpt_direct_pack(&b, params, 1, packed);
    for (int s = 0; s < n; s++)
        dpt_direct_conv(&b, packed, NULL, dout + (size_t)s * g->M * g->u.cols, din + s * image,
                        work, 1);
}

static void backward(const dpt_layer *l, const dpt_pass *pass, const float *params, float *grads,
                     const float *const *inputs, const float *out, const float *dout,
                     float *const *dinputs, float *scratch, int n) {
    (void)pass, (void)out;
    geometry g = geometry_of(l);
    float *db = grads + (size_t)g.M * g.u.rows;
    if (g.bias) {
        const int fast = dpt_avx512();
        for (int m = 0; m < g.M; m++) db[m] = 0;
        for (int s = 0; s < n; s++)
            dpt_add_row_sums(dout + (size_t)s * g.M * g.u.cols, g.M, g.u.cols, db, fast);
    }
    (g.direct ? backward_direct : backward_unfolded)(&g, params, inputs[0], dout, grads, dinputs[0],
                                                     scratch, n);
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
