/* The reference layers: each kind's forward and backward as the plainest loops over PyTorch's
   definitions. Speed does not matter here; being obviously right does. */
#include "reference_layers.h"

#include <math.h>
#include <string.h>

/* The value at (channel, row, col) of sample `sample` in a of shape sh (N, C, H, W). */
#define AT(a, sh, sample, channel, row, col)                                                       \
    (a)[(((size_t)(sample) * (sh).c + (size_t)(channel)) * (sh).h + (size_t)(row)) * (sh).w +      \
        (size_t)(col)]

int ref_inputs(const ref_layer *r) {
    return r->kind == REF_ADD || r->kind == REF_CONCAT ? 2 : 1;
}

/* PyTorch's output size of a window sliding over `size` values (floor mode). */
static int slide(int size, int kernel, int stride, int pad) {
    return (size + 2 * pad - kernel) / stride + 1;
}

ref_shape ref_out_shape(const ref_layer *r) {
    const ref_shape a = r->in[0];
    switch (r->kind) {
    case REF_CONV:
        return (ref_shape){r->out_channels, slide(a.h, r->kernel, r->stride, r->pad),
                           slide(a.w, r->kernel, r->stride, r->pad)};
    case REF_CONVTRANSPOSE:
        return (ref_shape){r->out_channels,
                           (a.h - 1) * r->stride - 2 * r->pad + r->kernel + r->outpad,
                           (a.w - 1) * r->stride - 2 * r->pad + r->kernel + r->outpad};
    case REF_UPSAMPLE:
        return (ref_shape){a.c, a.h * r->scale, a.w * r->scale};
    case REF_LINEAR:
        return (ref_shape){r->out_channels, 1, 1};
    case REF_MAXPOOL:
    case REF_AVGPOOL:
        return (ref_shape){a.c, slide(a.h, r->kernel, r->stride, 0),
                           slide(a.w, r->kernel, r->stride, 0)};
    case REF_GLOBALAVGPOOL:
        return (ref_shape){a.c, 1, 1};
    case REF_FLATTEN:
        return (ref_shape){(int)ref_size(a), 1, 1};
    case REF_CONCAT:
        return (ref_shape){r->in[1].c + a.c, a.h, a.w};
    default: /* batchnorm, dropout, activations, add */
        return a;
    }
}

static void set_tensor(ref_tensor *t, const char *name, size_t offset, int ndims, const int *dims) {
    t->name = name;
    t->offset = offset;
    t->ndims = ndims;
    t->count = 1;
    for (int i = 0; i < 4; i++) t->dims[i] = i < ndims ? dims[i] : 0;
    for (int i = 0; i < ndims; i++) t->count *= (size_t)dims[i];
}

int ref_param_tensors(const ref_layer *r, ref_tensor t[2]) {
    const int C = r->in[0].c, M = r->out_channels, k = r->kernel;
    switch (r->kind) {
    case REF_CONV:
        set_tensor(&t[0], "weight", 0, 4, (int[]){M, C, k, k});
        if (!r->bias) return 1;
        set_tensor(&t[1], "bias", t[0].count, 1, (int[]){M});
        return 2;
    case REF_CONVTRANSPOSE: /* PyTorch's weight is (in, out, k, k) */
        set_tensor(&t[0], "weight", 0, 4, (int[]){C, M, k, k});
        if (!r->bias) return 1;
        set_tensor(&t[1], "bias", t[0].count, 1, (int[]){M});
        return 2;
    case REF_LINEAR:
        set_tensor(&t[0], "weight", 0, 2, (int[]){M, (int)ref_size(r->in[0])});
        set_tensor(&t[1], "bias", t[0].count, 1, (int[]){M});
        return 2;
    case REF_BATCHNORM:
        if (!r->affine) return 0;
        set_tensor(&t[0], "weight", 0, 1, (int[]){C});
        set_tensor(&t[1], "bias", (size_t)C, 1, (int[]){C});
        return 2;
    default:
        return 0;
    }
}

size_t ref_nparams(const ref_layer *r) {
    ref_tensor t[2];
    size_t total = 0;
    for (int i = 0, count = ref_param_tensors(r, t); i < count; i++) total += t[i].count;
    return total;
}

/* ---- Conv2d: out[s][o][oy][ox] = b[o] + sum over c, i, j of
   w[o][c][i][j] * in[s][c][oy*stride - pad + i][ox*stride - pad + j], zero outside the input
   (cross-correlation: the kernel is not flipped). */

static int inside(ref_shape sh, int y, int x) {
    return y >= 0 && y < sh.h && x >= 0 && x < sh.w;
}

static size_t conv_weight_index(const ref_layer *r, int o, int c, int i, int j) {
    return (((size_t)o * r->in[0].c + c) * r->kernel + i) * r->kernel + j;
}

static void conv_forward(const ref_layer *r, const double *params, const double *x, double *y) {
    const ref_shape a = r->in[0], b = ref_out_shape(r);
    const double *bias = params + (size_t)b.c * a.c * r->kernel * r->kernel;
    for (int s = 0; s < r->n; s++)
        for (int o = 0; o < b.c; o++)
            for (int oy = 0; oy < b.h; oy++)
                for (int ox = 0; ox < b.w; ox++) {
                    double sum = r->bias ? bias[o] : 0;
                    for (int c = 0; c < a.c; c++)
                        for (int i = 0; i < r->kernel; i++)
                            for (int j = 0; j < r->kernel; j++) {
                                int iy = oy * r->stride - r->pad + i,
                                    ix = ox * r->stride - r->pad + j;
                                if (inside(a, iy, ix))
                                    sum += params[conv_weight_index(r, o, c, i, j)] *
                                           AT(x, a, s, c, iy, ix);
                            }
                    AT(y, b, s, o, oy, ox) = sum;
                }
}

static void conv_backward(const ref_layer *r, const double *params, const double *x,
                          const double *dy, double *grads, double *dx) {
    const ref_shape a = r->in[0], b = ref_out_shape(r);
    const size_t nweights = (size_t)b.c * a.c * r->kernel * r->kernel;
    memset(grads, 0, sizeof(double) * ref_nparams(r));
    if (dx) memset(dx, 0, sizeof(double) * r->n * ref_size(a));
    for (int s = 0; s < r->n; s++)
        for (int o = 0; o < b.c; o++)
            for (int oy = 0; oy < b.h; oy++)
                for (int ox = 0; ox < b.w; ox++) {
                    const double g = AT(dy, b, s, o, oy, ox);
                    if (r->bias) grads[nweights + o] += g;
                    for (int c = 0; c < a.c; c++)
                        for (int i = 0; i < r->kernel; i++)
                            for (int j = 0; j < r->kernel; j++) {
                                int iy = oy * r->stride - r->pad + i,
                                    ix = ox * r->stride - r->pad + j;
                                if (!inside(a, iy, ix)) continue;
                                const size_t w = conv_weight_index(r, o, c, i, j);
                                grads[w] += g * AT(x, a, s, c, iy, ix);
                                if (dx) AT(dx, a, s, c, iy, ix) += g * params[w];
                            }
                }
}

/* ---- ConvTranspose2d: each input value spreads through the kernel,
     out[s][o][iy*stride - pad + i][ix*stride - pad + j] += w[c][o][i][j] * in[s][c][iy][ix],
   wherever that lands inside the output, on top of b[o] (the adjoint of Conv2d's map from its
   input to its output). */

static size_t convt_weight_index(const ref_layer *r, int c, int o, int i, int j) {
    return (((size_t)c * r->out_channels + o) * r->kernel + i) * r->kernel + j;
}

static void convt_forward(const ref_layer *r, const double *params, const double *x, double *y) {
    const ref_shape a = r->in[0], b = ref_out_shape(r);
    const double *bias = params + (size_t)a.c * b.c * r->kernel * r->kernel;
    for (int s = 0; s < r->n; s++)
        for (int o = 0; o < b.c; o++)
            for (int oy = 0; oy < b.h; oy++)
                for (int ox = 0; ox < b.w; ox++) AT(y, b, s, o, oy, ox) = r->bias ? bias[o] : 0;
    for (int s = 0; s < r->n; s++)
        for (int c = 0; c < a.c; c++)
            for (int iy = 0; iy < a.h; iy++)
                for (int ix = 0; ix < a.w; ix++)
                    for (int o = 0; o < b.c; o++)
                        for (int i = 0; i < r->kernel; i++)
                            for (int j = 0; j < r->kernel; j++) {
                                const int oy = iy * r->stride - r->pad + i,
                                          ox = ix * r->stride - r->pad + j;
                                if (inside(b, oy, ox))
                                    AT(y, b, s, o, oy, ox) +=
                                        params[convt_weight_index(r, c, o, i, j)] *
                                        AT(x, a, s, c, iy, ix);
                            }
}

static void convt_backward(const ref_layer *r, const double *params, const double *x,
                           const double *dy, double *grads, double *dx) {
    const ref_shape a = r->in[0], b = ref_out_shape(r);
    const size_t nweights = (size_t)a.c * b.c * r->kernel * r->kernel;
    memset(grads, 0, sizeof(double) * ref_nparams(r));
    if (dx) memset(dx, 0, sizeof(double) * r->n * ref_size(a));
    for (int s = 0; s < r->n; s++)
        for (int o = 0; r->bias && o < b.c; o++)
            for (int oy = 0; oy < b.h; oy++)
                for (int ox = 0; ox < b.w; ox++) grads[nweights + o] += AT(dy, b, s, o, oy, ox);
    for (int s = 0; s < r->n; s++)
        for (int c = 0; c < a.c; c++)
            for (int iy = 0; iy < a.h; iy++)
                for (int ix = 0; ix < a.w; ix++)
                    for (int o = 0; o < b.c; o++)
                        for (int i = 0; i < r->kernel; i++)
                            for (int j = 0; j < r->kernel; j++) {
                                const int oy = iy * r->stride - r->pad + i,
                                          ox = ix * r->stride - r->pad + j;
                                if (!inside(b, oy, ox)) continue;
                                const size_t w = convt_weight_index(r, c, o, i, j);
                                const double g = AT(dy, b, s, o, oy, ox);
                                grads[w] += g * AT(x, a, s, c, iy, ix);
                                if (dx) AT(dx, a, s, c, iy, ix) += g * params[w];
                            }
}

/* ---- Upsample by a whole-number scale. Output (oy, ox) is a weighted sum of at most four
   inputs, the same weights in forward and backward:
   - nearest: the input at (src(oy), src(ox)) with src(d) = min(floor(d * f), size - 1), where
     f is 1/scale rounded to float and the product d * f is rounded to float: PyTorch's CPU
     computation (nearest_idx in aten/src/ATen/native/UpSample.h), which for some scales (41
     the first) differs from floor(d / scale) at multiples of the scale;
   - bilinear, align_corners=False: src(d) = (d + 0.5) / scale - 0.5, 0 if negative; the inputs
     floor(src) and min(floor(src) + 1, size - 1) with weights 1 - frac(src) and frac(src). */

typedef struct taps {
    int at[2];
    double weight[2];
} taps;

static taps upsample_taps(const ref_layer *r, int d, int size) {
    if (!r->bilinear) {
        const float f = (float)(1.0 / r->scale);
        int src = (int)floorf((float)d * f);
        if (src > size - 1) src = size - 1;
        return (taps){{src, src}, {1, 0}};
    }
    double src = (d + 0.5) / r->scale - 0.5;
    if (src < 0) src = 0;
    const int lo = (int)floor(src), hi = lo + 1 < size ? lo + 1 : size - 1;
    return (taps){{lo, hi}, {1 - (src - lo), src - lo}};
}

static void upsample_forward(const ref_layer *r, const double *x, double *y) {
    const ref_shape a = r->in[0], b = ref_out_shape(r);
    for (int s = 0; s < r->n; s++)
        for (int c = 0; c < a.c; c++)
            for (int oy = 0; oy < b.h; oy++)
                for (int ox = 0; ox < b.w; ox++) {
                    const taps ty = upsample_taps(r, oy, a.h), tx = upsample_taps(r, ox, a.w);
                    double sum = 0;
                    for (int u = 0; u < 2; u++)
                        for (int v = 0; v < 2; v++)
                            sum += ty.weight[u] * tx.weight[v] * AT(x, a, s, c, ty.at[u], tx.at[v]);
                    AT(y, b, s, c, oy, ox) = sum;
                }
}

static void upsample_backward(const ref_layer *r, const double *dy, double *dx) {
    const ref_shape a = r->in[0], b = ref_out_shape(r);
    memset(dx, 0, sizeof(double) * r->n * ref_size(a));
    for (int s = 0; s < r->n; s++)
        for (int c = 0; c < a.c; c++)
            for (int oy = 0; oy < b.h; oy++)
                for (int ox = 0; ox < b.w; ox++) {
                    const taps ty = upsample_taps(r, oy, a.h), tx = upsample_taps(r, ox, a.w);
                    for (int u = 0; u < 2; u++)
                        for (int v = 0; v < 2; v++)
                            AT(dx, a, s, c, ty.at[u], tx.at[v]) +=
                                ty.weight[u] * tx.weight[v] * AT(dy, b, s, c, oy, ox);
                }
}

/* ---- Linear: out[s][o] = b[o] + sum over i of W[o][i] * in[s][i], the input flattened. */

static void linear_forward(const ref_layer *r, const double *params, const double *x, double *y) {
    const size_t nin = ref_size(r->in[0]), nout = (size_t)r->out_channels;
    const double *bias = params + nout * nin;
    for (int s = 0; s < r->n; s++)
        for (size_t o = 0; o < nout; o++) {
            double sum = bias[o];
            for (size_t i = 0; i < nin; i++) sum += params[o * nin + i] * x[s * nin + i];
            y[s * nout + o] = sum;
        }
}

static void linear_backward(const ref_layer *r, const double *params, const double *x,
                            const double *dy, double *grads, double *dx) {
    const size_t nin = ref_size(r->in[0]), nout = (size_t)r->out_channels;
    memset(grads, 0, sizeof(double) * ref_nparams(r));
    if (dx) memset(dx, 0, sizeof(double) * r->n * nin);
    for (int s = 0; s < r->n; s++)
        for (size_t o = 0; o < nout; o++) {
            const double g = dy[s * nout + o];
            grads[nout * nin + o] += g;
            for (size_t i = 0; i < nin; i++) {
                grads[o * nin + i] += g * x[s * nin + i];
                if (dx) dx[s * nin + i] += g * params[o * nin + i];
            }
        }
}

/* ---- Pools. A window of kh x kw values at (oy*stride, ox*stride); no padding. */

typedef struct pool {
    int kh, kw, stride;
} pool;

static pool pool_of(const ref_layer *r) {
    if (r->kind == REF_GLOBALAVGPOOL) return (pool){r->in[0].h, r->in[0].w, 1};
    return (pool){r->kernel, r->kernel, r->stride};
}

/* MaxPool2d: the window's first maximal element in row-major order (the one PyTorch's CPU
   kernel records, and so the one that receives the gradient); its (y, x) in *my, *mx. */
static void window_max(const ref_layer *r, const double *x, int s, int c, int oy, int ox, int *my,
                       int *mx) {
    const pool g = pool_of(r);
    *my = oy * g.stride, *mx = ox * g.stride;
    for (int i = 0; i < g.kh; i++)
        for (int j = 0; j < g.kw; j++) {
            int y = oy * g.stride + i, xx = ox * g.stride + j;
            if (AT(x, r->in[0], s, c, y, xx) > AT(x, r->in[0], s, c, *my, *mx)) *my = y, *mx = xx;
        }
}

static void pool_forward(const ref_layer *r, const double *x, double *y) {
    const ref_shape a = r->in[0], b = ref_out_shape(r);
    const pool g = pool_of(r);
    for (int s = 0; s < r->n; s++)
        for (int c = 0; c < a.c; c++)
            for (int oy = 0; oy < b.h; oy++)
                for (int ox = 0; ox < b.w; ox++) {
                    if (r->kind == REF_MAXPOOL) {
                        int my, mx;
                        window_max(r, x, s, c, oy, ox, &my, &mx);
                        AT(y, b, s, c, oy, ox) = AT(x, a, s, c, my, mx);
                        continue;
                    }
                    double sum = 0;
                    for (int i = 0; i < g.kh; i++)
                        for (int j = 0; j < g.kw; j++)
                            sum += AT(x, a, s, c, oy * g.stride + i, ox * g.stride + j);
                    AT(y, b, s, c, oy, ox) = sum / (g.kh * g.kw);
                }
}

static void pool_backward(const ref_layer *r, const double *x, const double *dy, double *dx) {
    const ref_shape a = r->in[0], b = ref_out_shape(r);
    const pool g = pool_of(r);
    memset(dx, 0, sizeof(double) * r->n * ref_size(a));
    for (int s = 0; s < r->n; s++)
        for (int c = 0; c < a.c; c++)
            for (int oy = 0; oy < b.h; oy++)
                for (int ox = 0; ox < b.w; ox++) {
                    const double d = AT(dy, b, s, c, oy, ox);
                    if (r->kind == REF_MAXPOOL) {
                        int my, mx;
                        window_max(r, x, s, c, oy, ox, &my, &mx);
                        AT(dx, a, s, c, my, mx) += d;
                        continue;
                    }
                    for (int i = 0; i < g.kh; i++)
                        for (int j = 0; j < g.kw; j++)
                            AT(dx, a, s, c, oy * g.stride + i, ox * g.stride + j) +=
                                d / (g.kh * g.kw);
                }
}

/* ---- BatchNorm: y = (x - mean) / sqrt(var + eps) * weight + bias per channel, over the
   batch's n*h*w values of the channel with the biased variance in training, over the running
   statistics in evaluation. */

typedef struct channel_moments {
    double mean, var; /* what normalizes */
    double m;         /* values per channel in the batch */
} channel_moments;

static channel_moments moments_of(const ref_layer *r, const double *x, int c) {
    const ref_shape a = r->in[0];
    channel_moments mo = {.m = (double)r->n * a.h * a.w};
    if (!r->training) {
        mo.mean = r->running_mean[c], mo.var = r->running_var[c];
        return mo;
    }
    double sum = 0, squares = 0;
    for (int s = 0; s < r->n; s++)
        for (int y = 0; y < a.h; y++)
            for (int xx = 0; xx < a.w; xx++) sum += AT(x, a, s, c, y, xx);
    mo.mean = sum / mo.m;
    for (int s = 0; s < r->n; s++)
        for (int y = 0; y < a.h; y++)
            for (int xx = 0; xx < a.w; xx++) {
                const double d = AT(x, a, s, c, y, xx) - mo.mean;
                squares += d * d;
            }
    mo.var = squares / mo.m;
    return mo;
}

void ref_batchnorm_stats(const ref_layer *r, const double *x, double *stats) {
    const int C = r->in[0].c;
    for (int c = 0; c < C; c++) {
        const channel_moments mo = moments_of(r, x, c);
        const double unbiased = mo.m > 1 ? mo.var * mo.m / (mo.m - 1) : 0;
        stats[c] = r->n * mo.mean;
        stats[C + c] = r->n * unbiased;
    }
}

static void batchnorm_forward(const ref_layer *r, const double *params, const double *x,
                              double *y) {
    const ref_shape a = r->in[0];
    for (int c = 0; c < a.c; c++) {
        const channel_moments mo = moments_of(r, x, c);
        const double w = r->affine ? params[c] : 1, b = r->affine ? params[a.c + c] : 0;
        for (int s = 0; s < r->n; s++)
            for (int i = 0; i < a.h; i++)
                for (int j = 0; j < a.w; j++)
                    AT(y, a, s, c, i, j) =
                        (AT(x, a, s, c, i, j) - mo.mean) / sqrt(mo.var + r->eps) * w + b;
    }
}

/* The chain rule written out through the batch mean and variance (Ioffe and Szegedy 2015,
   Algorithm 1's backward): with xhat = (x - mean) / sqrt(var + eps) and dxhat = dy * weight,
     dvar  = sum(dxhat * (x - mean)) * -1/2 (var + eps)^(-3/2)
     dmean = -sum(dxhat) / sqrt(var + eps) + dvar * sum(-2 (x - mean)) / m
     dx    = dxhat / sqrt(var + eps) + dvar * 2 (x - mean) / m + dmean / m.
   In evaluation mean and var are constants: dx = dxhat / sqrt(var + eps). */
static void batchnorm_backward(const ref_layer *r, const double *params, const double *x,
                               const double *dy, double *grads, double *dx) {
    const ref_shape a = r->in[0];
    for (int c = 0; c < a.c; c++) {
        const channel_moments mo = moments_of(r, x, c);
        const double w = r->affine ? params[c] : 1, sd = sqrt(mo.var + r->eps);
        double dw = 0, db = 0, dvar = 0, dmean = 0, centered = 0;
        for (int s = 0; s < r->n; s++)
            for (int i = 0; i < a.h; i++)
                for (int j = 0; j < a.w; j++) {
                    const double g = AT(dy, a, s, c, i, j), d = AT(x, a, s, c, i, j) - mo.mean;
                    dw += g * d / sd;
                    db += g;
                    dvar += g * w * d * -0.5 * pow(mo.var + r->eps, -1.5);
                    dmean += -g * w / sd;
                    centered += -2 * d;
                }
        dmean += dvar * centered / mo.m;
        if (r->affine) grads[c] = dw, grads[a.c + c] = db;
        if (!dx) continue;
        for (int s = 0; s < r->n; s++)
            for (int i = 0; i < a.h; i++)
                for (int j = 0; j < a.w; j++) {
                    const double g = AT(dy, a, s, c, i, j), d = AT(x, a, s, c, i, j) - mo.mean;
                    AT(dx, a, s, c, i, j) =
                        r->training ? g * w / sd + dvar * 2 * d / mo.m + dmean / mo.m : g * w / sd;
                }
    }
}

/* ---- Dropout, Dropout2d: training multiplies each kept unit by 1/(1-p) and zeroes the
   others (all of them when p = 1); evaluation is the identity. A Dropout2d unit is a whole
   channel plane. Linear in its input, so backward applies the same map to dout. */

static double dropout_factor(const ref_layer *r, size_t value) {
    if (!r->training) return 1;
    const size_t plane = (size_t)r->in[0].h * r->in[0].w;
    const size_t unit = r->kind == REF_DROPOUT2D ? value / plane : value;
    return r->keep[unit] && r->p < 1 ? 1 / (1 - r->p) : 0;
}

/* ---- Element-wise activations: the value and the derivative at x. */

static double activation(const ref_layer *r, double x, double *derivative) {
    double y, d;
    switch (r->kind) {
    case REF_RELU: /* the derivative at 0 is 0, as PyTorch's threshold_backward gives */
        y = x > 0 ? x : 0, d = x > 0;
        break;
    case REF_LEAKYRELU: /* slope alpha for x <= 0 */
        y = x > 0 ? x : r->alpha * x, d = x > 0 ? 1 : r->alpha;
        break;
    case REF_ELU: /* alpha (e^x - 1) for x <= 0 */
        y = x > 0 ? x : r->alpha * (exp(x) - 1), d = x > 0 ? 1 : r->alpha * exp(x);
        break;
    case REF_SIGMOID:
        y = 1 / (1 + exp(-x)), d = y * (1 - y);
        break;
    default: /* REF_TANH */
        y = tanh(x), d = 1 - y * y;
        break;
    }
    if (derivative) *derivative = d;
    return y;
}

/* ---- Dispatch. */

void ref_forward(const ref_layer *r, const double *params, const double *const *in, double *out) {
    const size_t count = r->n * ref_size(r->in[0]);
    switch (r->kind) {
    case REF_CONV:
        conv_forward(r, params, in[0], out);
        return;
    case REF_CONVTRANSPOSE:
        convt_forward(r, params, in[0], out);
        return;
    case REF_UPSAMPLE:
        upsample_forward(r, in[0], out);
        return;
    case REF_LINEAR:
        linear_forward(r, params, in[0], out);
        return;
    case REF_MAXPOOL:
    case REF_AVGPOOL:
    case REF_GLOBALAVGPOOL:
        pool_forward(r, in[0], out);
        return;
    case REF_BATCHNORM:
        batchnorm_forward(r, params, in[0], out);
        return;
    case REF_DROPOUT:
    case REF_DROPOUT2D:
        for (size_t i = 0; i < count; i++) out[i] = in[0][i] * dropout_factor(r, i);
        return;
    case REF_FLATTEN:
        for (size_t i = 0; i < count; i++) out[i] = in[0][i];
        return;
    case REF_ADD:
        for (size_t i = 0; i < count; i++) out[i] = in[0][i] + in[1][i];
        return;
    case REF_CONCAT: {
        const size_t saved = ref_size(r->in[1]), current = ref_size(r->in[0]);
        for (int s = 0; s < r->n; s++) {
            for (size_t i = 0; i < saved; i++)
                out[s * (saved + current) + i] = in[1][s * saved + i];
            for (size_t i = 0; i < current; i++)
                out[s * (saved + current) + saved + i] = in[0][s * current + i];
        }
        return;
    }
    default:
        for (size_t i = 0; i < count; i++) out[i] = activation(r, in[0][i], NULL);
        return;
    }
}

void ref_backward(const ref_layer *r, const double *params, const double *const *in,
                  const double *dout, double *grads, double *const *din) {
    const size_t count = r->n * ref_size(r->in[0]);
    double *dx = din[0];
    switch (r->kind) {
    case REF_CONV:
        conv_backward(r, params, in[0], dout, grads, dx);
        return;
    case REF_CONVTRANSPOSE:
        convt_backward(r, params, in[0], dout, grads, dx);
        return;
    case REF_UPSAMPLE:
        if (dx) upsample_backward(r, dout, dx);
        return;
    case REF_LINEAR:
        linear_backward(r, params, in[0], dout, grads, dx);
        return;
    case REF_BATCHNORM:
        batchnorm_backward(r, params, in[0], dout, grads, dx);
        return;
    case REF_MAXPOOL:
    case REF_AVGPOOL:
    case REF_GLOBALAVGPOOL:
        if (dx) pool_backward(r, in[0], dout, dx);
        return;
    case REF_DROPOUT:
    case REF_DROPOUT2D:
        for (size_t i = 0; dx && i < count; i++) dx[i] = dout[i] * dropout_factor(r, i);
        return;
    case REF_FLATTEN:
        for (size_t i = 0; dx && i < count; i++) dx[i] = dout[i];
        return;
    case REF_ADD:
        for (int k = 0; k < 2; k++)
            for (size_t i = 0; din[k] && i < count; i++) din[k][i] = dout[i];
        return;
    case REF_CONCAT: {
        const size_t saved = ref_size(r->in[1]), current = ref_size(r->in[0]);
        for (int s = 0; s < r->n; s++) {
            for (size_t i = 0; din[1] && i < saved; i++)
                din[1][s * saved + i] = dout[s * (saved + current) + i];
            for (size_t i = 0; dx && i < current; i++)
                dx[s * current + i] = dout[s * (saved + current) + saved + i];
        }
        return;
    }
    default:
        for (size_t i = 0; dx && i < count; i++) {
            double d;
            activation(r, in[0][i], &d);
            dx[i] = dout[i] * d;
        }
        return;
    }
}
