/* Plain reference implementations of every layer kind, for the tests only: naive loops in double
   precision written from PyTorch's documented semantics (torch.nn.Conv2d, ConvTranspose2d,
   Linear, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1), Upsample (nearest, bilinear),
   BatchNorm1d/2d, Dropout, Dropout2d, ReLU, LeakyReLU, ELU, Sigmoid, Tanh, Flatten, x + y,
   torch.cat([saved, current], 1)), with no BLAS and no tricks,
   so the optimized float kernels in src/layers/ can be compared with something obviously right.

   Arrays are batch-major (N, C, H, W). Parameters are PyTorch's tensors back to back in
   PyTorch's order (weight, then bias). Backward overwrites what it writes: the parameter
   gradients summed over the batch, and din[k] for every k with din[k] not NULL. */
#ifndef DPTRAIN_TESTS_REFERENCE_LAYERS_H
#define DPTRAIN_TESTS_REFERENCE_LAYERS_H

#include <stddef.h>

typedef enum ref_kind {
    REF_CONV,
    REF_CONVTRANSPOSE,
    REF_LINEAR,
    REF_MAXPOOL,
    REF_AVGPOOL,
    REF_GLOBALAVGPOOL,
    REF_UPSAMPLE,
    REF_BATCHNORM,
    REF_DROPOUT,
    REF_DROPOUT2D,
    REF_RELU,
    REF_LEAKYRELU,
    REF_ELU,
    REF_SIGMOID,
    REF_TANH,
    REF_FLATTEN,
    REF_ADD,
    REF_CONCAT
} ref_kind;

typedef struct ref_shape {
    int c, h, w;
} ref_shape;

typedef struct ref_layer {
    ref_kind kind;
    int n;            /* samples in the batch */
    ref_shape in[2];  /* in[0]: the current tensor; in[1]: the saved one (add, concat) */
    int out_channels; /* conv, convtranspose: output channels; linear: output features */
    int kernel;       /* conv, convtranspose, maxpool, avgpool: square kernel size */
    int stride;       /* conv, convtranspose, maxpool, avgpool */
    int pad;          /* conv: zeros on every side; convtranspose: rows and columns cut */
    int outpad;       /* convtranspose: rows and columns added at the bottom and right */
    int bias;         /* conv, convtranspose: whether there is a bias (linear always has one) */
    int scale;        /* upsample: whole-number scale factor */
    int bilinear;     /* upsample: 1 bilinear (align_corners=False), 0 nearest */
    double alpha;     /* leakyrelu: negative slope; elu: alpha */
    double p;         /* dropout, dropout2d: probability of dropping */
    /* dropout: n*c*h*w flags, dropout2d: n*c flags (one per channel plane); 1 keeps the unit */
    const unsigned char *keep;
    int training; /* batchnorm, dropout, dropout2d: training mode (else evaluation) */
    int affine;   /* batchnorm: learnable weight and bias */
    double eps;   /* batchnorm */
    const double *running_mean, *running_var; /* batchnorm in evaluation: c values each */
} ref_layer;

/* One parameter tensor: name ("weight", "bias"), place in the layer's parameters, shape. */
typedef struct ref_tensor {
    const char *name;
    size_t offset, count;
    int ndims, dims[4];
} ref_tensor;

/* Tensors the layer reads: 1, or 2 for add and concat. */
int ref_inputs(const ref_layer *r);
ref_shape ref_out_shape(const ref_layer *r);
static inline size_t ref_size(ref_shape s) {
    return (size_t)s.c * s.h * s.w;
}
/* The layer's parameter tensors (at most 2) into t; returns how many. */
int ref_param_tensors(const ref_layer *r, ref_tensor t[2]);
size_t ref_nparams(const ref_layer *r);

/* out[n][out] from in[k][n][in_k]. */
void ref_forward(const ref_layer *r, const double *params, const double *const *in, double *out);
/* grads and din[k] (skipped where NULL) from dout, the gradient with respect to out. */
void ref_backward(const ref_layer *r, const double *params, const double *const *in,
                  const double *dout, double *grads, double *const *din);
/* BatchNorm in training: per channel, n*mean (stats[0..c)) and n*unbiased variance
   (stats[c..2c)) of the batch, n being the number of samples. */
void ref_batchnorm_stats(const ref_layer *r, const double *x, double *stats);

#endif
