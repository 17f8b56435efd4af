/* Conv2d as im2col + one sgemm per batch: the columns of all n samples sit side by side, so
   the product is (out_channels x K) . (K x n*P) with K = in_channels*kernel^2 and P the output
   pixels of one sample. Weight (out, in, k, k) and bias (out), as in PyTorch. */
#include <cblas.h>
#include <string.h>

#include "dptrain/layer.h"

enum { ARG_OUT, ARG_KERNEL, ARG_STRIDE, ARG_PAD };

typedef struct geometry {
    int C, H, W;    /* input */
    int M, OH, OW;  /* output */
    int k, stride, pad;
    int K, P;       /* rows of the column matrix; output pixels per sample */
} geometry;

static geometry geometry_of(const dpt_layer *l) {
    geometry g = {.C = l->in.c, .H = l->in.h, .W = l->in.w,
                  .M = l->out.c, .OH = l->out.h, .OW = l->out.w,
                  .k = (int)l->arg[ARG_KERNEL], .stride = (int)l->arg[ARG_STRIDE],
                  .pad = (int)l->arg[ARG_PAD]};
    g.K = g.C * g.k * g.k;
    g.P = g.OH * g.OW;
    return g;
}

static int setup(dpt_layer *l, dpt_err *err) {
    int out, k, stride, pad;
    if (dpt_layer_int_arg(l, ARG_OUT, 1, err, &out) || dpt_layer_int_arg(l, ARG_KERNEL, 1, err, &k) ||
        dpt_layer_int_arg(l, ARG_STRIDE, 1, err, &stride) ||
        dpt_layer_int_arg(l, ARG_PAD, 0, err, &pad))
        return -1;
    if (l->in.h + 2 * pad < k || l->in.w + 2 * pad < k)
        return dpt_fail(err, "conv: kernel %d does not fit a %dx%d input with pad %d", k, l->in.h,
                        l->in.w, pad);
    l->out = (dpt_shape){out, (l->in.h + 2 * pad - k) / stride + 1,
                         (l->in.w + 2 * pad - k) / stride + 1};
    l->ntensors = 2;
    dpt_tensor_set(&l->tensors[0], "weight", 0, 4, (int[]){out, l->in.c, k, k});
    dpt_tensor_set(&l->tensors[1], "bias", l->tensors[0].count, 1, (int[]){out});
    return 0;
}

static size_t scratch(const dpt_layer *l, int n) {
    geometry g = geometry_of(l);
    return ((size_t)g.K + g.M) * g.P * n;
}

static void init(const dpt_layer *l, float *params, dpt_rng *rng) {
    geometry g = geometry_of(l);
    dpt_init_uniform_fan_in(params, l->nparams, (size_t)g.K, rng);
}

/* col[K][n*P] from in[n][C][H][W]; zero where the window hangs over the padding. */
static void im2col(const geometry *g, const float *in, float *col, int n) {
    const size_t row_len = (size_t)n * g->P;
    for (int c = 0; c < g->C; c++)
        for (int ki = 0; ki < g->k; ki++)
            for (int kj = 0; kj < g->k; kj++) {
                float *row = col + ((size_t)(c * g->k + ki) * g->k + kj) * row_len;
                for (int s = 0; s < n; s++) {
                    const float *plane = in + ((size_t)s * g->C + c) * g->H * g->W;
                    for (int oy = 0; oy < g->OH; oy++) {
                        int y = oy * g->stride - g->pad + ki;
                        float *dst = row + (size_t)s * g->P + (size_t)oy * g->OW;
                        if (y < 0 || y >= g->H) {
                            memset(dst, 0, sizeof(float) * g->OW);
                            continue;
                        }
                        for (int ox = 0; ox < g->OW; ox++) {
                            int x = ox * g->stride - g->pad + kj;
                            dst[ox] = (x >= 0 && x < g->W) ? plane[y * g->W + x] : 0.0f;
                        }
                    }
                }
            }
}

/* The adjoint of im2col: din[n][C][H][W] = sum of the column entries that read each pixel. */
static void col2im(const geometry *g, const float *col, float *din, int n) {
    memset(din, 0, sizeof(float) * (size_t)n * g->C * g->H * g->W);
    const size_t row_len = (size_t)n * g->P;
    for (int c = 0; c < g->C; c++)
        for (int ki = 0; ki < g->k; ki++)
            for (int kj = 0; kj < g->k; kj++) {
                const float *row = col + ((size_t)(c * g->k + ki) * g->k + kj) * row_len;
                for (int s = 0; s < n; s++) {
                    float *plane = din + ((size_t)s * g->C + c) * g->H * g->W;
                    for (int oy = 0; oy < g->OH; oy++) {
                        int y = oy * g->stride - g->pad + ki;
                        if (y < 0 || y >= g->H) continue;
                        const float *src = row + (size_t)s * g->P + (size_t)oy * g->OW;
                        for (int ox = 0; ox < g->OW; ox++) {
                            int x = ox * g->stride - g->pad + kj;
                            if (x >= 0 && x < g->W) plane[y * g->W + x] += src[ox];
                        }
                    }
                }
            }
}

static void forward(const dpt_layer *l, const float *params, const float *in, float *out,
                    float *scratch, int n) {
    geometry g = geometry_of(l);
    const size_t NP = (size_t)n * g.P;
    float *col = scratch, *prod = scratch + (size_t)g.K * NP; /* prod[M][n*P] */
    const float *bias = params + (size_t)g.M * g.K;
    im2col(&g, in, col, n);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g.M, (int)NP, g.K, 1.0f, params, g.K,
                col, (int)NP, 0.0f, prod, (int)NP);
    for (int s = 0; s < n; s++)
        for (int m = 0; m < g.M; m++) {
            const float *src = prod + (size_t)m * NP + (size_t)s * g.P;
            float *dst = out + ((size_t)s * g.M + m) * g.P;
            for (int p = 0; p < g.P; p++) dst[p] = src[p] + bias[m];
        }
}

static void backward(const dpt_layer *l, const float *params, float *grads, const float *in,
                     const float *out, const float *dout, float *din, float *scratch, int n) {
    (void)out;
    geometry g = geometry_of(l);
    const size_t NP = (size_t)n * g.P;
    float *col = scratch, *dprod = scratch + (size_t)g.K * NP;
    float *dW = grads, *db = grads + (size_t)g.M * g.K;
    for (int m = 0; m < g.M; m++) {
        float sum = 0;
        for (int s = 0; s < n; s++) {
            const float *src = dout + ((size_t)s * g.M + m) * g.P;
            float *dst = dprod + (size_t)m * NP + (size_t)s * g.P;
            for (int p = 0; p < g.P; p++) sum += dst[p] = src[p];
        }
        db[m] = sum;
    }
    im2col(&g, in, col, n);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g.M, g.K, (int)NP, 1.0f, dprod, (int)NP,
                col, (int)NP, 0.0f, dW, g.K);
    if (!din) return;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g.K, (int)NP, g.M, 1.0f, params, g.K,
                dprod, (int)NP, 0.0f, col, (int)NP);
    col2im(&g, col, din, n);
}

const dpt_layer_kind dpt_conv_kind = {
    .name = "conv",
    .args = {{"out", 1, 0}, {"kernel", 1, 0}, {"stride", 0, 1}, {"pad", 0, 0}},
    .setup = setup,
    .scratch = scratch,
    .init = init,
    .forward = forward,
    .backward = backward,
};
