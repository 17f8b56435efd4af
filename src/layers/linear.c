/* Linear: out = in W^T + b, with W stored (out, in) as in PyTorch. The input is read as a flat
   vector per sample, so a Linear may follow a convolution without a flatten. Where
   dpt_own_kernels() (AVX-512), the forward and the weight gradient run dptrain's own kernels
   (linear_kernels.h), else sgemm; the input gradient is sgemm's either way. */
#include <cblas.h>

#include "dptrain/layer.h"
#include "avx512.h"
#include "linear_kernels.h"

enum { ARG_OUT };

static int setup(dpt_layer *l, dpt_err *err) {
    int units;
    if (dpt_layer_int_arg(l, ARG_OUT, 1, err, &units)) return -1;
    int in = (int)dpt_shape_size(l->in[0]);
    l->out = (dpt_shape){units, 1, 1};
    l->ntensors = 2;
    dpt_tensor_set(&l->tensors[0], "weight", 0, 2, (int[]){units, in});
    dpt_tensor_set(&l->tensors[1], "bias", (size_t)units * in, 1, (int[]){units});
    return 0;
}

static double flops(const dpt_layer *l) {
    return 2.0 * (double)dpt_shape_size(l->in[0]) * l->out.c + l->out.c;
}

static void init(const dpt_layer *l, float *params, dpt_init how, dpt_rng *rng) {
    const size_t nin = dpt_shape_size(l->in[0]), nout = (size_t)l->out.c;
    dpt_init_weight_bias(params, nout * nin, params + nout * nin, nout, nin, nout, how, rng);
}

static void forward(const dpt_layer *l, const dpt_pass *pass, const float *params,
                    const float *const *inputs, float *out, float *scratch, int n) {
    (void)pass, (void)scratch;
    const float *in = inputs[0];
    const int nin = (int)dpt_shape_size(l->in[0]), nout = l->out.c;
    const float *W = params, *b = params + (size_t)nout * nin;
    if (dpt_own_kernels()) {
        dpt_linear_dots(in, W, b, out, n, nin, nout, 1);
        return;
    }
    for (int s = 0; s < n; s++)
        for (int o = 0; o < nout; o++) out[(size_t)s * nout + o] = b[o];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, nout, nin, 1.0f, in, nin, W, nin, 1.0f,
                out, nout);
}

static void backward(const dpt_layer *l, const dpt_pass *pass, const float *params, float *grads,
                     const float *const *inputs, const float *out, const float *dout,
                     float *const *dinputs, float *scratch, int n) {
    (void)pass, (void)out, (void)scratch;
    const float *in = inputs[0];
    float *din = dinputs[0];
    const int nin = (int)dpt_shape_size(l->in[0]), nout = l->out.c;
    float *dW = grads, *db = grads + (size_t)nout * nin;
    if (dpt_own_kernels())
        dpt_linear_weight_grad(dout, in, dW, n, nin, nout, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nout, nin, n, 1.0f, dout, nout, in,
                    nin, 0.0f, dW, nin);
    for (int o = 0; o < nout; o++) db[o] = 0;
    for (int s = 0; s < n; s++)
        for (int o = 0; o < nout; o++) db[o] += dout[(size_t)s * nout + o];
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, nin, nout, 1.0f, dout, nout,
                    params, nin, 0.0f, din, nin);
}

const dpt_layer_kind dpt_linear_kind = {
    .name = "linear",
    .inputs = 1,
    .args = {{"out", 1, 0}},
    .setup = setup,
    .flops = flops,
    .init = init,
    .forward = forward,
    .backward = backward,
};
