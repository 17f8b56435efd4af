/* Test-only: what dptrain computes for one model on a few real MNIST test images, written for
   the PyTorch oracle (torch_oracle.py) to recompute.

     oracle_dump SPEC|PRESET OUT.h5 [N [SEED]]   (MNIST from $DPTRAIN_DATA)
     oracle_dump --segment[=weighted] SPEC|PRESET OUT.h5 [N [SEED]]
     oracle_dump --presets                       the preset names, one a line

   The model is built for 1x28x28 inputs and 10 classes and initialized with dpt_model_init
   (PyTorch's default scheme, seed SEED, 1 by default). Every dropout's p is forced to 0 (the
   oracle compares deterministic passes; the spec attribute keeps the original p). BatchNorm is
   moved away from its trivial starting point so evaluation mode is really tested: weights to
   U(0.6, 1.4), biases to U(-0.3, 0.3), running statistics near the first N images' own (mean +
   U(-0.2, 0.2) standard deviations, variance times U(0.5, 1.5) plus 1e-3), num_batches_tracked
   to 7.

   OUT.h5 gets dpt_ckpt_save_model()'s /model group (those parameters and buffers), then
     /oracle              attributes n, seed, loss (the mean training-mode loss), dropout_forced
     /oracle/input        N x 1 x 28 x 28, the first N test images standardized as dptrain does
     /oracle/labels       N (int32)
     /oracle/logits       N x 10, evaluation mode (running statistics)
     /oracle/train_logits N x 10, training mode (batch statistics)
     /oracle/grads/<node>/<tensor>   the gradient of the MEAN cross-entropy in training mode
     /oracle/stats/<node>/mean, var  BatchNorm's statistics segment of that pass, as the layer
                          writes it: N * batch mean and N * unbiased batch variance per channel
     /oracle/updated/<node>/<buffer> the buffers after dpt_model_update_state(stats / N), i.e.
                          one training step with one micro-batch
     /oracle/kinks/<node>/index, positive|argmax   where that pass's gradient hangs on a rounding
                          error and which way dptrain went (see put_kinks)
   With --segment the model is a segmentation one (task segment, 11 classes) on 1x32x32
   canvases: each MNIST test image pasted on a black 32x32 canvas at offset (2 + i % 3, 2 +
   (2 i) % 3), labelled per pixel (pixel >= 128) * (digit + 1), as scripts/make_mnist_seg does;
   the loss is dpt_softmax_xent_dense, its gradient divided by N*H*W (PyTorch's mean over
   pixels) or, with --segment=weighted, weighted by /oracle/class_weights (0.4 + 0.15 c for
   class c) and divided by the summed weights of the pixels' labels (PyTorch's weighted mean).
   Then /oracle/input is N x 1 x 32 x 32, /oracle/labels N x 32 x 32 and the logits
   N x 11 x 32 x 32; the attribute /oracle task is "segment".
   The passes go through the workspace/pass API as src/train.c's micro_step does: the statistics
   segment first, the gradients after it. */
#include <hdf5.h>
#include <hdf5_hl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dptrain/ckpt.h"
#include "dptrain/data.h"
#include "dptrain/loss.h"
#include "dptrain/model.h"
#include "dptrain/rng.h"

static int is_kind(const dpt_layer *l, const char *name) {
    return strcmp(l->kind->name, name) == 0;
}

static void die(const char *what, const char *msg) {
    fprintf(stderr, "oracle_dump: %s: %s\n", what, msg);
    exit(1);
}

/* Creates the group at `path` unless it exists. */
static void ensure_group(hid_t f, const char *path) {
    if (H5Lexists(f, path, H5P_DEFAULT) > 0) return;
    hid_t g = H5Gcreate2(f, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) die(path, "cannot create the HDF5 group");
    H5Gclose(g);
}

static void put_floats(hid_t f, const char *path, int rank, const hsize_t *dims, const float *v) {
    if (H5LTmake_dataset_float(f, path, rank, dims, v) < 0) die(path, "cannot write the dataset");
}

/* /<root>/<node>/<tensor> for each tensor of a table (parameters or buffers) over `buffer`. */
static void put_tensors(hid_t f, const char *root, const dpt_param *table, int count,
                        const float *buffer) {
    for (int t = 0; t < count; t++) {
        const dpt_param *p = &table[t];
        char path[160], node[48];
        snprintf(node, sizeof node, "%s", p->name);
        *strchr(node, '/') = 0;
        snprintf(path, sizeof path, "%s/%s", root, node);
        ensure_group(f, path);
        snprintf(path, sizeof path, "%s/%s", root, p->name);
        hsize_t dims[4];
        for (int d = 0; d < p->ndims; d++) dims[d] = (hsize_t)p->dims[d];
        put_floats(f, path, p->ndims, dims, buffer + p->offset);
    }
}

/* Where a training pass's result hangs on a rounding error: the gradient is discontinuous at
   ReLU's (and leakyrelu's, elu's) kink x = 0 and where a max-pooling window's two largest inputs
   tie, so two correct float32 implementations may route a gradient differently there. Records,
   for the oracle to follow dptrain's choice, the inputs within KINK * max|input| of the kink
   (their flat index and whether dptrain took x > 0) and the windows whose top two inputs are
   that close (the output's flat index and the input that dptrain's rule, the first maximum in
   scan order, picks on dptrain's values). Exact ties route equal values' gradients, so which
   one wins changes a gradient only through the upstream values, which the check compares. */
#define KINK 1e-4

static const float *input_of(const dpt_workspace *ws, const dpt_layer *l) {
    return l->input[0] < 0 ? ws->input : ws->act[l->input[0]];
}

/* The input node i had as the spec wrote it, whose kinks the oracle (in that order) follows: a
   relu that runs after its maxpool (model.c) read the maxpool's input, and the maxpool read its
   ReLU (computed into `scratch`, n samples of the maxpool's input). */
static const float *written_input(const dpt_model *m, const dpt_workspace *ws, int i, int n,
                                  float *scratch) {
    const dpt_layer *l = &m->layers[i];
    if (l->moved) return input_of(ws, &m->layers[i - 1]);
    if (i + 1 < m->nlayers && m->layers[i + 1].moved) {
        const float *x = input_of(ws, l);
        for (size_t j = 0, count = (size_t)n * dpt_shape_size(l->in[0]); j < count; j++)
            scratch[j] = x[j] > 0 ? x[j] : 0.0f;
        return scratch;
    }
    return input_of(ws, l);
}

static void put_kinks(hid_t f, const dpt_model *m, const dpt_workspace *ws, int n, long *index,
                      long *choice, float *scratch, long *total) {
    for (int i = 0; i < m->nlayers; i++) {
        const dpt_layer *l = &m->layers[i];
        const int pointwise = is_kind(l, "relu") || is_kind(l, "leakyrelu") || is_kind(l, "elu");
        if (!pointwise && !is_kind(l, "maxpool")) continue;
        const float *x = written_input(m, ws, i, n, scratch);
        const dpt_shape in = l->moved ? m->layers[i - 1].in[0] : l->in[0];
        const size_t count = (size_t)n * dpt_shape_size(in);
        float scale = 0;
        for (size_t j = 0; j < count; j++) scale = fmaxf(scale, fabsf(x[j]));
        const float near = (float)(KINK * scale);
        size_t found = 0;
        if (pointwise) {
            for (size_t j = 0; j < count; j++)
                if (fabsf(x[j]) <= near) index[found] = (long)j, choice[found++] = x[j] > 0;
        } else {
            const int k = (int)l->arg[0], stride = (int)l->arg[1];
            const int H = l->in[0].h, W = l->in[0].w, OH = l->out.h, OW = l->out.w;
            for (size_t p = 0; p < (size_t)n * l->in[0].c; p++) {
                const float *plane = x + p * H * W;
                for (int oy = 0; oy < OH; oy++)
                    for (int ox = 0; ox < OW; ox++) {
                        int best = -1;
                        float second = -INFINITY;
                        for (int a = 0; a < k; a++)
                            for (int b = 0; b < k; b++) {
                                const int at = (oy * stride + a) * W + ox * stride + b;
                                if (best < 0 || plane[at] > plane[best]) {
                                    if (best >= 0) second = fmaxf(second, plane[best]);
                                    best = at;
                                } else {
                                    second = fmaxf(second, plane[at]);
                                }
                            }
                        if (plane[best] - second <= near) {
                            index[found] = (long)((p * OH + oy) * OW + ox);
                            choice[found++] = (long)(p * H * W + best);
                        }
                    }
            }
        }
        *total += (long)found;
        if (!found) continue;
        char path[96];
        snprintf(path, sizeof path, "/oracle/kinks/%s", l->name);
        ensure_group(f, path);
        const hsize_t dims = found;
        snprintf(path, sizeof path, "/oracle/kinks/%s/index", l->name);
        if (H5LTmake_dataset_long(f, path, 1, &dims, index) < 0) die(path, "cannot write it");
        snprintf(path, sizeof path, "/oracle/kinks/%s/%s", l->name,
                 pointwise ? "positive" : "argmax");
        if (H5LTmake_dataset_long(f, path, 1, &dims, choice) < 0) die(path, "cannot write it");
    }
}

static void print_name(const char *name, const char *spec, void *ctx) {
    (void)spec, (void)ctx;
    printf("%s\n", name);
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--presets") == 0) {
        dpt_model_presets(print_name, NULL);
        return 0;
    }
    int segment = 0, weighted = 0;
    if (argc > 1 && strncmp(argv[1], "--segment", 9) == 0) {
        if (strcmp(argv[1], "--segment") && strcmp(argv[1], "--segment=weighted"))
            die(argv[1], "expected --segment or --segment=weighted");
        segment = 1, weighted = argv[1][9] == '=';
        argv++, argc--;
    }
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: oracle_dump [--segment[=weighted]] SPEC|PRESET OUT.h5 [N [SEED]]"
                        "  (data: $DPTRAIN_DATA)\n"
                        "       oracle_dump --presets\n");
        return 2;
    }
    const char *spec = argv[1], *out = argv[2], *dir = getenv("DPTRAIN_DATA");
    const int n = argc > 3 ? atoi(argv[3]) : 8;
    const uint64_t seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 1;
    if (n < 2 || n > 1000) die(argv[3], "N must be 2 to 1000");
    if (!dir) die("DPTRAIN_DATA", "not set (the folder holding MNIST's four files)");
    dpt_err err;

    dpt_data data;
    const dpt_data_options opt = {.path = dir, .norm = {.kind = DPT_NORM_MNIST}, .threads = 1};
    if (dpt_data_load(&opt, &data, &err)) die(dir, err.msg);

    dpt_model m;
    enum { SEG_SIZE = 32, SEG_CLASSES = 11 };
    const dpt_shape in_shape =
        segment ? (dpt_shape){1, SEG_SIZE, SEG_SIZE} : (dpt_shape){1, 28, 28};
    if (dpt_model_build_task(spec, in_shape, segment ? SEG_CLASSES : 10,
                             segment ? DPT_TASK_SEGMENT : DPT_TASK_CLASSIFY, &m, &err))
        die(spec, err.msg);
    const size_t nout = (size_t)m.classes * m.positions; /* logits per sample */
    int dropout_forced = 0;
    for (int i = 0; i < m.nlayers; i++)
        if ((is_kind(&m.layers[i], "dropout") || is_kind(&m.layers[i], "dropout2d")) &&
            m.layers[i].arg[0] != 0)
            m.layers[i].arg[0] = 0, dropout_forced = 1;

    float *params = calloc(m.nparams + 1, sizeof *params);
    float *state = calloc(m.nstate + 1, sizeof *state);
    float *updated = calloc(m.nstate + 1, sizeof *updated);
    float *reduced = calloc(m.nstats + m.nparams + 1, sizeof *reduced); /* stats, then grads */
    float *mean_stats = calloc(m.nstats + 1, sizeof *mean_stats);
    float *logits = calloc((size_t)n * nout, sizeof *logits);
    float *train_logits = calloc((size_t)n * nout, sizeof *train_logits);
    if (!params || !state || !updated || !reduced || !mean_stats || !logits || !train_logits)
        die(spec, "out of memory");
    dpt_model_init(&m, params, state, (dpt_init){.scheme = DPT_INIT_DEFAULT}, seed);

    dpt_workspace ws;
    if (dpt_workspace_init(&ws, &m, n, &err)) die(spec, err.msg);
    dpt_data_gather(&data, &data.test, NULL, 0, (size_t)n, ws.input, ws.labels);
    float weights[SEG_CLASSES];
    double denom = n; /* what the summed loss and its gradient are divided by */
    if (segment) {
        /* The canvases and their masks, from the raw pixels (standardized as dptrain does). */
        const dpt_images *set = data.test.set;
        const float scale = 1.0f / (255.0f * data.std[0]), shift = data.mean[0] / data.std[0];
        for (int i = 0; i < n; i++) {
            const uint32_t k = data.test.idx[i];
            const uint8_t *px = set->pixels + (size_t)k * 28 * 28;
            const int digit = set->labels[k], oy = 2 + i % 3, ox = 2 + (2 * i) % 3;
            for (int y = 0; y < SEG_SIZE; y++)
                for (int x = 0; x < SEG_SIZE; x++) {
                    const int iy = y - oy, ix = x - ox;
                    const int v = iy >= 0 && iy < 28 && ix >= 0 && ix < 28 ? px[iy * 28 + ix] : 0;
                    ws.input[((size_t)i * SEG_SIZE + y) * SEG_SIZE + x] = (float)v * scale - shift;
                    ws.labels[((size_t)i * SEG_SIZE + y) * SEG_SIZE + x] = v >= 128 ? digit + 1 : 0;
                }
        }
        for (int c = 0; c < SEG_CLASSES; c++) weights[c] = 0.4f + 0.15f * (float)c;
        denom = 0;
        for (size_t j = 0; j < (size_t)n * m.positions; j++)
            denom += weighted ? weights[ws.labels[j]] : 1.0;
    }
    /* BatchNorm's affine parameters away from 1 and 0. */
    dpt_rng rng = dpt_rng_stream(seed, DPT_STREAM_LAYERS, 0x04ac1e);
    for (int i = 0; i < m.nlayers; i++) {
        const dpt_layer *l = &m.layers[i];
        if (!is_kind(l, "batchnorm") || l->ntensors == 0) continue;
        const int C = l->in[0].c;
        float *w = params + l->param_offset;
        for (int c = 0; c < C; c++) w[c] = (float)(0.6 + 0.8 * dpt_rng_uniform(&rng));
        for (int c = 0; c < C; c++) w[C + c] = (float)(0.3 * (2 * dpt_rng_uniform(&rng) - 1));
    }
    /* Running statistics near the batch's own (a training pass's statistics), so evaluation
       stays well scaled through deep networks yet differs from training. */
    const dpt_pass train = {.training = 1,
                            .key = dpt_pass_key(seed, 0, 0),
                            .first = 0,
                            .stats = reduced,
                            .state = state};
    dpt_model_forward(&m, &train, params, &ws, n);
    for (int i = 0; i < m.nlayers; i++) {
        const dpt_layer *l = &m.layers[i];
        if (!is_kind(l, "batchnorm")) continue;
        const int C = l->in[0].c;
        const float *s = reduced + l->stat_offset;
        float *st = state + l->state_offset;
        for (int c = 0; c < C; c++) {
            const double mu = s[c] / n, var = s[C + c] / n;
            st[c] = (float)(mu + 0.2 * sqrt(var) * (2 * dpt_rng_uniform(&rng) - 1));
            st[C + c] = (float)(var * (0.5 + dpt_rng_uniform(&rng)) + 1e-3);
        }
        st[2 * C] = 7;
    }
    if (dpt_ckpt_save_model(out, &m, params, state, &err)) die(out, err.msg);

    /* (a) Evaluation mode. */
    const dpt_pass eval = {.training = 0, .state = state};
    dpt_model_forward(&m, &eval, params, &ws, n);
    memcpy(logits, dpt_model_logits(&m, &ws), sizeof(float) * (size_t)n * nout);

    /* (b) One training micro-step: forward, loss, backward; the gradient of the mean loss. */
    memset(reduced, 0, sizeof(float) * (m.nstats + m.nparams));
    dpt_model_forward(&m, &train, params, &ws, n);
    memcpy(train_logits, dpt_model_logits(&m, &ws), sizeof(float) * (size_t)n * nout);
    dpt_loss_sums sums = {0};
    dpt_softmax_xent_dense(dpt_model_logits(&m, &ws), ws.labels, n, m.classes, m.positions,
                           weighted ? weights : NULL, dpt_model_dlogits(&m, &ws), &sums);
    float *grads = reduced + m.nstats;
    dpt_model_backward(&m, &train, params, grads, &ws, n, NULL, NULL);
    for (size_t i = 0; i < m.nparams; i++) grads[i] /= (float)denom;
    for (size_t i = 0; i < m.nstats; i++) mean_stats[i] = reduced[i] / (float)n;
    memcpy(updated, state, sizeof(float) * m.nstate);
    dpt_model_update_state(&m, updated, mean_stats);

    /* Append /oracle. */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(out, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) die(out, "cannot reopen the file");
    ensure_group(f, "/oracle");
    const double loss = sums.loss / denom;
    const long nn = n, sd = (long)seed;
    if (H5LTset_attribute_long(f, "/oracle", "n", &nn, 1) < 0 ||
        H5LTset_attribute_long(f, "/oracle", "seed", &sd, 1) < 0 ||
        H5LTset_attribute_double(f, "/oracle", "loss", &loss, 1) < 0 ||
        H5LTset_attribute_int(f, "/oracle", "dropout_forced", &dropout_forced, 1) < 0)
        die(out, "cannot write /oracle's attributes");
    if (H5LTset_attribute_string(f, "/oracle", "task", segment ? "segment" : "classify") < 0)
        die(out, "cannot write /oracle's task");
    const hsize_t H = (hsize_t)in_shape.h, W = (hsize_t)in_shape.w, N = (hsize_t)n;
    const hsize_t in_dims[4] = {N, 1, H, W};
    const hsize_t lab_dims[3] = {N, H, W}, odims[4] = {N, (hsize_t)m.classes, H, W};
    const int out_rank = segment ? 4 : 2; /* N x 10, or N x 11 x H x W */
    put_floats(f, "/oracle/input", 4, in_dims, ws.input);
    if (H5LTmake_dataset_int(f, "/oracle/labels", segment ? 3 : 1, lab_dims, ws.labels) < 0)
        die(out, "cannot write /oracle/labels");
    put_floats(f, "/oracle/logits", out_rank, odims, logits);
    put_floats(f, "/oracle/train_logits", out_rank, odims, train_logits);
    if (weighted) {
        const hsize_t K = SEG_CLASSES;
        put_floats(f, "/oracle/class_weights", 1, &K, weights);
    }
    ensure_group(f, "/oracle/grads");
    put_tensors(f, "/oracle/grads", m.params, m.nparams_tensors, grads);
    ensure_group(f, "/oracle/updated");
    put_tensors(f, "/oracle/updated", m.states, m.nstate_tensors, updated);
    ensure_group(f, "/oracle/stats");
    for (int i = 0; i < m.nlayers; i++) {
        const dpt_layer *l = &m.layers[i];
        if (l->nstats == 0) continue;
        if (!is_kind(l, "batchnorm")) die(l->name, "statistics of an unknown kind");
        const hsize_t C = (hsize_t)l->in[0].c;
        char path[96];
        snprintf(path, sizeof path, "/oracle/stats/%s", l->name);
        ensure_group(f, path);
        snprintf(path, sizeof path, "/oracle/stats/%s/mean", l->name);
        put_floats(f, path, 1, &C, reduced + l->stat_offset);
        snprintf(path, sizeof path, "/oracle/stats/%s/var", l->name);
        put_floats(f, path, 1, &C, reduced + l->stat_offset + C);
    }
    /* The activations are still the training pass's. */
    size_t widest = 0;
    for (int i = 0; i < m.nlayers; i++)
        if (dpt_shape_size(m.layers[i].in[0]) > widest) widest = dpt_shape_size(m.layers[i].in[0]);
    long *index = malloc(sizeof(long) * (size_t)n * widest + 1);
    long *choice = malloc(sizeof(long) * (size_t)n * widest + 1), kinks = 0;
    float *scratch = malloc(sizeof(float) * (size_t)n * widest + 1);
    if (!index || !choice || !scratch) die(spec, "out of memory");
    ensure_group(f, "/oracle/kinks");
    put_kinks(f, &m, &ws, n, index, choice, scratch, &kinks);
    const double near = KINK;
    if (H5LTset_attribute_double(f, "/oracle/kinks", "relative_distance", &near, 1) < 0 ||
        H5LTset_attribute_long(f, "/oracle/kinks", "count", &kinks, 1) < 0)
        die(out, "cannot write /oracle/kinks' attributes");
    free(index), free(choice), free(scratch);
    if (H5Fclose(f) < 0) die(out, "cannot close the file");

    printf("%s: %d nodes, %zu parameters, %zu buffers, %zu statistics; loss %.6f\n", out, m.nlayers,
           m.nparams, m.nstate, m.nstats, loss);
    dpt_workspace_free(&ws);
    free(params), free(state), free(updated), free(reduced), free(mean_stats), free(logits);
    free(train_logits);
    dpt_model_free(&m);
    dpt_data_free(&data);
    return 0;
}
