/* BatchNorm2d (after a convolution) and BatchNorm1d (after a linear layer: an input of C x 1 x 1)
   with PyTorch's semantics and defaults: affine=1 (weight 1, bias 0), momentum=0.1, eps=1e-5;
   buffers running_mean (0), running_var (1), num_batches_tracked (0).

   Training normalizes with the statistics of the micro-batch (the normalization batch, as in
   DistributedDataParallel without SyncBatchNorm: that keeps results rank-count invariant); the
   biased variance normalizes. Forward also writes the micro-batch's statistics, n*mean and
   n*(unbiased variance) per channel, to the statistics segment, which the exact reducer sums
   over the step's micro-batches and divides by the batch size; once per step every rank then
   moves the running statistics toward those size-weighted means (with one micro-batch per step
   this is exactly PyTorch's update). Evaluation normalizes with the running statistics. */
#include <math.h>

#include "dptrain/hot_loop.h"
#include "dptrain/layer.h"

enum { ARG_AFFINE, ARG_MOMENTUM, ARG_EPS };
enum { RUNNING_MEAN, RUNNING_VAR, BATCHES };

static int setup(dpt_layer *l, dpt_err *err) {
    int affine;
    double momentum, eps;
    if (dpt_layer_int_arg(l, ARG_AFFINE, 0, err, &affine) ||
        dpt_layer_real_arg(l, ARG_MOMENTUM, 0, 1, err, &momentum) ||
        dpt_layer_real_arg(l, ARG_EPS, 1e-30, 1, err, &eps))
        return -1;
    if (affine > 1) return dpt_fail(err, "affine=%d must be 0 or 1", affine);
    const int C = l->in[0].c;
    l->out = l->in[0];
    l->ntensors = affine ? 2 : 0;
    if (affine) {
        dpt_tensor_set(&l->tensors[0], "weight", 0, 1, (int[]){C});
        dpt_tensor_set(&l->tensors[1], "bias", (size_t)C, 1, (int[]){C});
    }
    l->nstate_tensors = 3;
    dpt_tensor_set(&l->state_tensors[RUNNING_MEAN], "running_mean", 0, 1, (int[]){C});
    dpt_tensor_set(&l->state_tensors[RUNNING_VAR], "running_var", (size_t)C, 1, (int[]){C});
    dpt_tensor_set(&l->state_tensors[BATCHES], "num_batches_tracked", 2 * (size_t)C, 0, NULL);
    l->nstats = 2 * (size_t)C;
    return 0;
}

/* Per channel: the mean and 1/sqrt(var + eps) used to normalize, in scratch[0..2C). */
static size_t scratch(const dpt_layer *l, int n) {
    (void)n;
    return 2 * (size_t)l->in[0].c;
}

static double flops(const dpt_layer *l) {
    return 4.0 * (double)dpt_shape_size(l->out);
}

static void init(const dpt_layer *l, float *params, dpt_init how, dpt_rng *rng) {
    (void)how, (void)rng;
    if (!l->ntensors) return; /* affine=0: no parameters to write */
    const int C = l->in[0].c;
    for (int c = 0; c < C; c++) params[c] = 1, params[C + c] = 0;
}

static void init_state(const dpt_layer *l, float *state) {
    const int C = l->in[0].c;
    for (int c = 0; c < C; c++) state[c] = 0, state[C + c] = 1;
    state[2 * C] = 0;
}

/* The per-channel sums below run over the micro-batch in sample, then pixel order (the order
   the results depend on), LANES channels side by side so that their chains of additions
   overlap; a last, partial group repeats its last channel in the spare lanes. */
enum { LANES = 8 };

typedef struct channel_group {
    int count;            /* channels c0 .. c0+count-1, in lanes 0 .. count-1 */
    int channel[LANES];   /* each lane's channel */
    size_t offset[LANES]; /* of each lane's channel within a sample */
} channel_group;

static channel_group group_at(int c0, int C, size_t HW) {
    channel_group g = {.count = C - c0 < LANES ? C - c0 : LANES};
    for (int j = 0; j < LANES; j++) {
        g.channel[j] = j < g.count ? c0 + j : C - 1;
        g.offset[j] = (size_t)g.channel[j] * HW;
    }
    return g;
}

/* mean[c] and invstd[c] over the n samples: the micro-batch's (training) or the running ones
   (evaluation); in training also the statistics for the running update. */
static HOT_LOOP void moments(const dpt_layer *l, const dpt_pass *pass, const float *in, int n,
                             float *mean, float *invstd) {
    const int C = l->in[0].c;
    const size_t HW = (size_t)l->in[0].h * l->in[0].w, per_sample = C * HW;
    const double eps = l->arg[ARG_EPS];
    if (!pass->training) {
        const float *state = pass->state + l->state_offset;
        for (int c = 0; c < C; c++) {
            mean[c] = state[RUNNING_MEAN * C + c];
            invstd[c] = (float)(1.0 / sqrt((double)state[RUNNING_VAR * C + c] + eps));
        }
        return;
    }
    const double m = (double)n * HW;
    float *stats = pass->stats ? pass->stats + l->stat_offset : NULL;
    for (int c0 = 0; c0 < C; c0 += LANES) {
        const channel_group g = group_at(c0, C, HW);
        double sum[LANES] = {0}, squares[LANES] = {0}, mu[LANES];
        for (int s = 0; s < n; s++) {
            const float *x = in + s * per_sample;
            for (size_t i = 0; i < HW; i++)
                for (int j = 0; j < LANES; j++) sum[j] += x[g.offset[j] + i];
        }
        for (int j = 0; j < LANES; j++) mu[j] = sum[j] / m;
        for (int s = 0; s < n; s++) {
            const float *x = in + s * per_sample;
            for (size_t i = 0; i < HW; i++)
                for (int j = 0; j < LANES; j++)
                    squares[j] += (x[g.offset[j] + i] - mu[j]) * (x[g.offset[j] + i] - mu[j]);
        }
        for (int j = 0; j < g.count; j++) {
            const int c = c0 + j;
            const double var = squares[j] / m;
            mean[c] = (float)mu[j];
            invstd[c] = (float)(1.0 / sqrt(var + eps));
            if (stats) {
                stats[c] = (float)(n * mu[j]);
                stats[C + c] = (float)(n * (m > 1 ? squares[j] / (m - 1) : 0));
            }
        }
    }
}

static void forward(const dpt_layer *l, const dpt_pass *pass, const float *params,
                    const float *const *in, float *out, float *scratch_floats, int n) {
    const int C = l->in[0].c, affine = l->ntensors > 0;
    const size_t HW = (size_t)l->in[0].h * l->in[0].w, per_sample = C * HW;
    float *mean = scratch_floats, *invstd = scratch_floats + C;
    moments(l, pass, in[0], n, mean, invstd);
    for (int s = 0; s < n; s++)
        for (int c = 0; c < C; c++) {
            const float g = affine ? params[c] * invstd[c] : invstd[c],
                        b = affine ? params[C + c] : 0;
            const float *x = in[0] + s * per_sample + c * HW;
            float *y = out + s * per_sample + c * HW;
            for (size_t i = 0; i < HW; i++) y[i] = (x[i] - mean[c]) * g + b;
        }
}

/* dx of channel c and its parameters' gradients, from the channel's sums of dy and dy * xhat. */
static HOT_LOOP void backward_channel(const dpt_layer *l, const dpt_pass *pass, const float *params,
                                      float *grads, const float *in, const float *dout, float *din,
                                      const float *mean, const float *invstd, int n, int c,
                                      double sum_dy, double sum_dy_xhat) {
    const int C = l->in[0].c, affine = l->ntensors > 0;
    const size_t HW = (size_t)l->in[0].h * l->in[0].w, per_sample = C * HW;
    const double m = (double)n * HW;
    if (affine) grads[c] = (float)sum_dy_xhat, grads[C + c] = (float)sum_dy;
    if (!din) return;
    const double w = affine ? params[c] : 1.0;
    const double k1 = pass->training ? sum_dy / m : 0, k2 = pass->training ? sum_dy_xhat / m : 0;
    for (int s = 0; s < n; s++) {
        const float *x = in + s * per_sample + c * HW, *dy = dout + s * per_sample + c * HW;
        float *dx = din + s * per_sample + c * HW;
        for (size_t i = 0; i < HW; i++) {
            const double xhat = (x[i] - mean[c]) * (double)invstd[c];
            dx[i] = (float)(w * invstd[c] * (dy[i] - k1 - xhat * k2));
        }
    }
}

/* With xhat = (x - mean) * invstd and dxhat = dy * weight, training gives
   dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) over the channel's m values;
   evaluation (fixed statistics) gives dx = invstd * dxhat. */
static HOT_LOOP void backward(const dpt_layer *l, const dpt_pass *pass, const float *params,
                              float *grads, const float *const *in, const float *out,
                              const float *dout, float *const *din, float *scratch_floats, int n) {
    (void)out;
    const int C = l->in[0].c;
    const size_t HW = (size_t)l->in[0].h * l->in[0].w, per_sample = C * HW;
    dpt_pass quiet = *pass;
    quiet.stats = NULL; /* forward has written them */
    float *mean = scratch_floats, *invstd = scratch_floats + C;
    moments(l, &quiet, in[0], n, mean, invstd);
    for (int c0 = 0; c0 < C; c0 += LANES) {
        const channel_group g = group_at(c0, C, HW);
        double sum_dy[LANES] = {0}, sum_dy_xhat[LANES] = {0};
        float lane_mean[LANES], lane_invstd[LANES];
        for (int j = 0; j < LANES; j++)
            lane_mean[j] = mean[g.channel[j]], lane_invstd[j] = invstd[g.channel[j]];
        for (int s = 0; s < n; s++) {
            const float *x = in[0] + s * per_sample, *dy = dout + s * per_sample;
            for (size_t i = 0; i < HW; i++)
                for (int j = 0; j < LANES; j++) {
                    const size_t at = g.offset[j] + i;
                    sum_dy[j] += dy[at];
                    sum_dy_xhat[j] += (double)dy[at] * (x[at] - lane_mean[j]) * lane_invstd[j];
                }
        }
        for (int j = 0; j < g.count; j++)
            backward_channel(l, pass, params, grads, in[0], dout, din[0], mean, invstd, n, c0 + j,
                             sum_dy[j], sum_dy_xhat[j]);
    }
}

static void update_state(const dpt_layer *l, float *state, const float *stats) {
    const int C = l->in[0].c;
    const float momentum = (float)l->arg[ARG_MOMENTUM];
    for (int c = 0; c < C; c++) {
        float *mean = &state[RUNNING_MEAN * C + c], *var = &state[RUNNING_VAR * C + c];
        *mean = (1 - momentum) * *mean + momentum * stats[c];
        *var = (1 - momentum) * *var + momentum * stats[C + c];
    }
    state[BATCHES * C] += 1;
}

const dpt_layer_kind dpt_batchnorm_kind = {
    .name = "batchnorm",
    .prefix = "bn",
    .inputs = 1,
    .args = {{"affine", 0, 1}, {"momentum", 0, 0.1}, {"eps", 0, 1e-5}},
    .setup = setup,
    .scratch = scratch,
    .flops = flops,
    .init = init,
    .init_state = init_state,
    .forward = forward,
    .backward = backward,
    .update_state = update_state,
};
