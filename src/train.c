#define _GNU_SOURCE
#include "dptrain/train.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dptrain/ckpt.h"
#include "dptrain/digest.h"
#include "dptrain/evaluate.h"
#include "dptrain/dist.h"
#include "dptrain/reducer.h"
#include "dptrain/fsutil.h"
#include "dptrain/loss.h"
#include "dptrain/model.h"
#include "dptrain/read_guard.h"
#include "dptrain/report.h"
#include "dptrain/signals.h"
#include "dptrain/sysmem.h"
#include "dptrain/watch.h"

void dpt_train_config_defaults(dpt_train_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->model = "cnn2710";
    cfg->data = (dpt_data_options){.path = "data/mnist", .val = 5000, .split_seed = 0};
    cfg->norm_text = "auto";
    cfg->epochs = 5;
    cfg->batch = 64;
    cfg->micro_batch = 0; /* chosen for the model and batch: default_micro_batch */
    cfg->opt = DPT_SGD;
    cfg->optim = (dpt_optim_config){.beta1 = 0.9, .beta2 = 0.999};
    cfg->lr = 0.01;
    dpt_sched_parse("const", &cfg->sched, NULL);
    cfg->seed = 1;
    cfg->threads = 1;
    cfg->bucket_kb = DPT_DEFAULT_BUCKET_KB;
    cfg->tag = "";
    cfg->init_text = "default";
}

/* Everything one training run holds; allocated before the first step, freed after the last. */
typedef struct trainer {
    dpt_train_config cfg; /* the caller's, with the model's default --micro-batch */
    MPI_Comm comm;
    int rank, size, threads;
    dpt_data data;
    char *data_path;     /* absolute, for the checkpoint (eval's default data) */
    double load_seconds; /* reading and checking the dataset */
    dpt_model model;
    float *params, *state; /* the model's parameters and buffers */
    float *stats;          /* a step's reduced statistics (BatchNorm's) */
    float *class_weights;  /* model.classes weights, or NULL for the plain loss */
    dpt_optim optim;
    dpt_reducer reducer;
    dpt_workspace *ws;         /* one per thread */
    uint32_t *order;           /* this epoch's sample order (positions in the training split) */
    dpt_loss_sums *chunk_sums; /* per evaluation chunk */
    long *confusion;           /* per thread: classes x classes counts of an evaluation */
    dpt_epoch_record *history; /* cfg->epochs records, epochs_done of them filled */
    int epochs_done, steps_per_epoch;
    dpt_sched_state sched;
    dpt_position pos;
    float *batch_loss, *batch_acc; /* per step, over the whole run */
    long batches_done, batch_capacity;
    double best_val_acc;
    char ckpt_path[4200], best_path[4200]; /* empty without --out */
} trainer;

static void trainer_free(trainer *t) {
    for (int i = 0; t->ws && i < t->threads; i++) dpt_workspace_free(&t->ws[i]);
    free(t->ws);
    free(t->params);
    free(t->state);
    free(t->stats);
    free(t->class_weights);
    free(t->order);
    free(t->chunk_sums);
    free(t->confusion);
    free(t->history);
    free(t->batch_loss);
    free(t->batch_acc);
    dpt_optim_free(&t->optim);
    dpt_reducer_free(&t->reducer);
    dpt_model_free(&t->model);
    dpt_data_free(&t->data);
    free(t->data_path);
}

/* --class-weights: "balanced" gives class c the weight N/(K n_c) from the training split's counts
   (scikit-learn's and seed 004's weighting); otherwise K comma-separated non-negative numbers. */
static int class_weights_of(const char *text, const dpt_data *data, int K, float **out,
                            dpt_err *err) {
    float *w = calloc((size_t)K, sizeof *w);
    if (!w) return dpt_fail(err, "out of memory for %d class weights", K);
    *out = w;
    if (strcmp(text, "balanced") == 0) {
        /* Counted over the training split's labels, or its mask pixels for segmentation. */
        const dpt_split *train = &data->train;
        int64_t *counts = calloc((size_t)K, sizeof *counts);
        if (!counts) return dpt_fail(err, "out of memory for %d class counts", K);
        dpt_images_count_classes(train->set, train->idx, train->n, counts);
        const double total = (double)train->n * (double)dpt_images_targets(train->set);
        int rc = 0;
        for (int c = 0; c < K && rc == 0; c++)
            if (counts[c] == 0)
                rc = dpt_fail(err, "--class-weights balanced: class %d has no training %s", c,
                              train->set->masks ? "pixels" : "samples");
            else
                w[c] = (float)(total / ((double)K * (double)counts[c]));
        free(counts);
        return rc;
    }
    const char *p = text;
    for (int c = 0; c < K; c++) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || !(v >= 0 && v < 1e30))
            return dpt_fail(err, "--class-weights %s: weight %d: expected a number >= 0", text,
                            c + 1);
        w[c] = (float)v;
        p = end;
        if (c + 1 < K && *p++ != ',')
            return dpt_fail(err, "--class-weights %s: expected %d comma-separated weights", text,
                            K);
    }
    if (*p) return dpt_fail(err, "--class-weights %s: more than the %d classes' weights", text, K);
    return 0;
}

/* Refuses, in one line with both numbers, settings whose buffers would not fit in the memory
   available now: the parameters and their copies, the optimizer's state, the exact sums, the
   rank's micro-batch gradients, a workspace of m samples per thread, the per-step history, and
   rank 0's checkpoint image (held twice while written). Other ranks on the node are not
   counted: each compares with the whole node's available memory. */
static int check_memory(const trainer *t, int m, int local_most, dpt_err *err) {
    const double available = dpt_memory_available();
    const double params = (double)t->model.nparams * sizeof(float);
    const double workspace = (double)dpt_workspace_bytes(&t->model, m);
    const double history = (double)t->batch_capacity * 2 * sizeof(float);
    const double image = t->rank == 0 ? 2 * (3 * params + history) : 0;
    const double need = params * (7.0 + local_most) + t->threads * workspace + history + image;
    if (available < 0 || need <= available) return 0;
    return dpt_fail(err,
                    "these settings need about %.0f MiB (%d micro-batch gradient buffer%s of "
                    "%.1f MiB, %d workspace%s of %d samples of %.1f MiB, history of %ld steps) "
                    "but %.0f MiB are available: lower --batch, --micro-batch, --threads or "
                    "--epochs",
                    need / 1048576, local_most, local_most > 1 ? "s" : "", params / 1048576,
                    t->threads, t->threads > 1 ? "s" : "", m, workspace / 1048576,
                    t->batch_capacity, available / 1048576);
}

/* --micro-batch's default: 32 samples, or, for a model without batch statistics whose gradient
   outweighs its activations (an MLP), the largest power of two up to batch/8 (work for 8
   threads) whose micro-batch holds at most 4x the gradient's bytes in activations. Each
   micro-batch writes its own gradient, which the step then reads twice (largest magnitude,
   quantizing): mlp300 at batch 2048 trains 1.8x faster in micro-batches of 256 than of 32. The
   choice depends on the model and batch alone, so results still do not depend on ranks or
   threads. BatchNorm normalizes over a micro-batch, so its models keep 32. */
static int default_micro_batch(const dpt_model *m, int batch) {
    enum { SMALLEST = 32 };
    const double per_sample =
        (double)(dpt_workspace_bytes(m, 2 * SMALLEST) - dpt_workspace_bytes(m, SMALLEST)) /
        SMALLEST;
    const double gradient = (double)m->nparams * sizeof(float);
    int micro = SMALLEST;
    while (m->nstats == 0 && 2 * micro <= batch / 8 && 2 * micro * per_sample <= 4 * gradient)
        micro *= 2;
    return micro;
}

static int trainer_init(trainer *t, const dpt_train_config *cfg, MPI_Comm comm, dpt_err *err) {
    memset(t, 0, sizeof *t);
    t->cfg = *cfg;
    t->comm = comm;
    MPI_Comm_rank(comm, &t->rank);
    MPI_Comm_size(comm, &t->size);
    t->threads = cfg->threads;
    /* Threads share out micro-batches; each GEMM runs on one BLAS thread, because OpenBLAS
       gives different bits for the same product at different thread counts. */
    openblas_set_num_threads(1);
    omp_set_num_threads(t->threads);
    if (cfg->epochs < 1 || cfg->batch < 1 || cfg->micro_batch < 0)
        return dpt_fail(err, "--epochs and --batch must be at least 1, --micro-batch at least 0");
    dpt_data_options data = cfg->data;
    data.threads = t->threads; /* PNG folders decode on the rank's threads */
    const double start = dpt_now();
    dpt_read_guard_begin("dptrain train", cfg->data.path);
    const int failed = dpt_data_load(&data, &t->data, err);
    dpt_read_guard_end();
    if (failed) return -1;
    t->load_seconds = dpt_now() - start;
    const dpt_images *set = &t->data.set.train;
    const dpt_shape input = {(int)set->channels, (int)set->height, (int)set->width};
    if (dpt_model_build_task(cfg->model, input, t->data.set.classes, dpt_dataset_task(&t->data.set),
                             &t->model, err))
        return -1;
    t->data_path = realpath(cfg->data.path, NULL);
    if (cfg->class_weights &&
        class_weights_of(cfg->class_weights, &t->data, t->model.classes, &t->class_weights, err))
        return -1;
    if (!cfg->micro_batch) t->cfg.micro_batch = default_micro_batch(&t->model, cfg->batch);
    const size_t n = t->model.nparams;
    const int m = t->cfg.micro_batch < cfg->batch ? t->cfg.micro_batch : cfg->batch;
    const int micro_per_step = (cfg->batch + m - 1) / m;
    const int local_most = (micro_per_step + t->size - 1) / t->size;
    const uint32_t eval_most = t->data.val.n > t->data.test.n ? t->data.val.n : t->data.test.n;
    const uint32_t chunks = (eval_most + (uint32_t)m - 1) / (uint32_t)m;
    t->steps_per_epoch = (int)((t->data.train.n + (uint32_t)cfg->batch - 1) / (uint32_t)cfg->batch);
    t->batch_capacity = (long)t->steps_per_epoch * cfg->epochs;
    if (check_memory(t, m, local_most, err)) return -1;
    t->params = malloc(sizeof(float) * (n + 1));
    t->state = malloc(sizeof(float) * (t->model.nstate + 1));
    t->stats = malloc(sizeof(float) * (t->model.nstats + 1));
    t->order = malloc(sizeof(uint32_t) * t->data.train.n);
    t->chunk_sums = malloc(sizeof *t->chunk_sums * (chunks + 1));
    const size_t K = (size_t)t->model.classes;
    t->confusion = malloc(sizeof(long) * K * K * (size_t)t->threads);
    t->history = calloc((size_t)cfg->epochs, sizeof *t->history);
    t->batch_loss = malloc(sizeof(float) * (size_t)t->batch_capacity);
    t->batch_acc = malloc(sizeof(float) * (size_t)t->batch_capacity);
    t->ws = calloc((size_t)t->threads, sizeof *t->ws);
    if (!t->params || !t->state || !t->stats || !t->order || !t->chunk_sums || !t->confusion ||
        !t->history || !t->ws || !t->batch_loss || !t->batch_acc)
        return dpt_fail(err, "out of memory for a model of %zu parameters", n);
    for (int i = 0; i < t->threads; i++)
        if (dpt_workspace_init(&t->ws[i], &t->model, m, err)) return -1;
    if (dpt_reducer_init(&t->reducer, &t->model, cfg->reduce, local_most,
                         (size_t)cfg->bucket_kb * 1024, err))
        return -1;
    dpt_optim_config oc = cfg->optim;
    oc.kind = cfg->opt;
    if (dpt_optim_init(&t->optim, &oc, n, err)) return -1;
    dpt_model_init(&t->model, t->params, t->state, cfg->init, cfg->seed);
    dpt_sched_start(&cfg->sched, cfg->lr, &t->sched);
    if (cfg->out) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/seed-%llu", cfg->out, (unsigned long long)cfg->seed);
        snprintf(t->ckpt_path, sizeof t->ckpt_path, "%s/checkpoint.h5", dir);
        snprintf(t->best_path, sizeof t->best_path, "%s/best.h5", dir);
        if (t->rank == 0 && dpt_mkdir_p(dir, err)) return -1;
        if (t->rank == 0) dpt_remove_stale_tmp(dir, cfg->tag, stdout);
    }
    return 0;
}

/* One step: the b samples batch[0..b) (positions in the training split), the step's place in
   the run, and the place of its first sample in the epoch's order. */
typedef struct step_plan {
    const uint32_t *batch;
    int b, epoch, index;
    uint64_t first;
} step_plan;

/* What backward tells the reducer after each layer of micro-batch j; thread 0 also moves the
   reductions along (it alone calls MPI). */
typedef struct layer_hook {
    trainer *t;
    int j, drives_mpi, failed;
    dpt_err *err;
} layer_hook;

static void after_layer(void *ctx, int layer) {
    layer_hook *h = ctx;
    dpt_reducer_layer_done(&h->t->reducer, h->j, layer);
    if (!h->drives_mpi) return;
    dpt_watch_answer();
    if (!h->failed && dpt_reducer_progress(&h->t->reducer, h->err)) h->failed = 1;
}

/* Forward, loss and backward of micro-batch `mi` of the batch, into reduced vector j. */
static int micro_step(trainer *t, dpt_workspace *ws, const step_plan *step, int mi, int j,
                      dpt_err *err) {
    const int m = ws->capacity, start = mi * m, n = step->b - start < m ? step->b - start : m;
    dpt_data_gather(&t->data, &t->data.train, step->batch + start, 0, (size_t)n, ws->input,
                    ws->labels);
    float *reduced = t->reducer.micro_grads[j];
    const dpt_pass pass = {
        .training = 1,
        .key = dpt_pass_key(t->cfg.seed, (uint64_t)step->epoch, (uint64_t)step->index),
        .first = step->first + (uint64_t)start,
        .stats = reduced,
        .state = t->state};
    dpt_model_forward(&t->model, &pass, t->params, ws, n);
    t->reducer.micro_sums[j] = (dpt_loss_sums){0};
    dpt_softmax_xent_dense(dpt_model_logits(&t->model, ws), ws->labels, n, t->model.classes,
                           t->model.positions, t->class_weights, dpt_model_dlogits(&t->model, ws),
                           &t->reducer.micro_sums[j]);
    layer_hook hook = {.t = t, .j = j, .drives_mpi = omp_get_thread_num() == 0, .err = err};
    dpt_model_backward(&t->model, &pass, t->params, reduced + t->model.nstats, ws, n, after_layer,
                       &hook);
    return hook.failed ? -1 : 0;
}

/* What the loss is divided by: the batch's predictions (samples, or pixels), or the summed
   weights of their labels. */
static double grad_divisor(const trainer *t, const step_plan *step) {
    if (!t->class_weights) return (double)step->b * t->model.positions;
    const dpt_split *train = &t->data.train;
    double total = 0;
    for (int i = 0; i < step->b; i++)
        total += dpt_images_weight(train->set, train->idx[step->batch[i]], t->class_weights);
    return total;
}

/* The reducer's sink: the optimizer's update of each run of the parameters, as its gradient
   comes out of the reduction. */
typedef struct update_ctx {
    trainer *t;
    double lr;
} update_ctx;

static void update_params(void *ctx, size_t offset, const float *grads, size_t count) {
    const update_ctx *u = ctx;
    dpt_optim_update(&u->t->optim, u->t->params, grads, offset, count, u->lr);
}

/* One optimizer step on the b samples batch[0..b): this rank computes a contiguous block of the
   step's micro-batches, shared out over its threads, while their gradients are being summed
   exactly with every other rank's; thread 0 keeps the reductions moving until backward is done
   everywhere on this rank. */
static int train_step(trainer *t, const step_plan *step, double lr, dpt_step_totals *tot,
                      dpt_err *err) {
    const int m = t->ws[0].capacity, M = (step->b + m - 1) / m;
    const int lo = (int)((long)M * t->rank / t->size),
              hi = (int)((long)M * (t->rank + 1) / t->size);
    dpt_reducer_begin(&t->reducer, hi - lo, M);
    int failed = 0;
#pragma omp parallel reduction(| : failed)
    {
        const int thread = omp_get_thread_num();
#pragma omp for schedule(dynamic, 1) nowait
        for (int j = 0; j < hi - lo; j++)
            failed |= micro_step(t, &t->ws[thread], step, lo + j, j, err) != 0;
        while (thread == 0 && !failed && !dpt_reducer_computed(&t->reducer))
            failed |= dpt_reducer_progress(&t->reducer, err) != 0;
    }
    update_ctx update = {.t = t, .lr = lr};
    if (failed || dpt_reducer_finish(&t->reducer, step->b, grad_divisor(t, step), t->stats,
                                     update_params, &update, tot, err))
        return -1;
    if (!tot->finite) return 0; /* a step to discard: nothing was updated */
    dpt_optim_step_done(&t->optim);
    dpt_model_update_state(&t->model, t->state, t->stats);
    return 0;
}

/* What an evaluation of a split gives: means over its predictions, and over its classes. */
typedef struct split_scores {
    double loss, acc, top5, f1, iou;
} split_scores;

/* Evaluates a split in chunks shared out over threads: losses summed in chunk order, counts
   (exact integers) per thread, so the result does not depend on the thread count. */
static split_scores evaluate(trainer *t, const dpt_split *split) {
    const int m = t->ws[0].capacity, K = t->model.classes;
    const int chunks = (int)((split->n + (uint32_t)m - 1) / (uint32_t)m);
    memset(t->confusion, 0, sizeof(long) * (size_t)K * K * (size_t)t->threads);
#pragma omp parallel for schedule(dynamic, 1)
    for (int c = 0; c < chunks; c++) {
        const uint32_t first = (uint32_t)c * (uint32_t)m;
        const int n = split->n - first < (uint32_t)m ? (int)(split->n - first) : m;
        const int thread = omp_get_thread_num();
        if (thread == 0) dpt_watch_answer(); /* the other ranks wait meanwhile */
        t->chunk_sums[c] = (dpt_loss_sums){.confusion = t->confusion + (size_t)thread * K * K};
        dpt_eval_chunk(&t->model, t->params, t->state, &t->data, split, first, n, &t->ws[thread],
                       &t->chunk_sums[c], NULL);
    }
    dpt_loss_sums total = {0};
    for (int c = 0; c < chunks; c++) {
        total.loss += t->chunk_sums[c].loss;
        total.correct += t->chunk_sums[c].correct;
        total.top5 += t->chunk_sums[c].top5;
    }
    for (int i = 1; i < t->threads; i++)
        for (size_t k = 0; k < (size_t)K * K; k++)
            t->confusion[k] += t->confusion[(size_t)i * K * K + k];
    const double n = (double)split->n * t->model.positions;
    split_scores s = {.loss = split->n ? total.loss / n : NAN,
                      .acc = split->n ? (double)total.correct / n : NAN,
                      .top5 = split->n ? (double)total.top5 / n : NAN};
    dpt_class_scores(t->confusion, K, NULL, NULL, &s.f1, &s.iou);
    return s;
}

/* The settings that decide the result (dptrain/settings.h), as text: every rank must hold the
   same. Allocated; NULL when out of memory. */
static char *config_text(const trainer *t) {
    const size_t size = dpt_settings_text(&t->cfg, t->model.spec, NULL, 0) + 1;
    char *text = malloc(size);
    if (text) dpt_settings_text(&t->cfg, t->model.spec, text, size);
    return text;
}

/* Every rank must start from the same configuration, data and parameters. */
static int check_ranks_agree(const trainer *t, dpt_err *err) {
    char config[DPT_DIGEST_HEX], params[DPT_DIGEST_HEX];
    char *text = config_text(t); /* out of memory: "", which the other ranks will not share */
    const void *parts[] = {text ? text : ""};
    const size_t sizes[] = {text ? strlen(text) : 0};
    dpt_sha256_hex(parts, sizes, 1, config);
    free(text);
    dpt_param_sha256(t->params, t->model.nparams, params);
    const uint64_t values[] = {dpt_digest_prefix(config), dpt_digest_prefix(t->data.digest),
                               dpt_digest_prefix(params)};
    const char *const what[] = {"configuration",
                                "training data (SHA-256 of the images, labels and class names)",
                                "initial parameters"};
    return dpt_dist_same_everywhere(t->comm, values, what, 3, err);
}

static dpt_ckpt_view view_of(trainer *t) {
    return (dpt_ckpt_view){.cfg = &t->cfg,
                           .model = &t->model,
                           .data_digest = t->data.digest,
                           .data_path = t->data_path,
                           .class_names = t->data.set.class_names,
                           .world_size = t->size,
                           .mean = t->data.mean,
                           .std = t->data.std,
                           .params = t->params,
                           .state = t->state,
                           .optim = &t->optim,
                           .sched = &t->sched,
                           .pos = &t->pos,
                           .history = t->history,
                           .epochs_done = &t->epochs_done,
                           .batch_loss = t->batch_loss,
                           .batch_acc = t->batch_acc,
                           .batches_done = &t->batches_done,
                           .batch_capacity = t->batch_capacity,
                           .steps_per_epoch = t->steps_per_epoch};
}

/* Rank 0 writes the checkpoint (and best.h5 with `best`); every rank learns whether it worked. */
static int save_checkpoint(trainer *t, int best, dpt_err *err) {
    if (!t->ckpt_path[0]) return 0;
    int rc = 0;
    if (t->rank == 0) {
        dpt_ckpt_view v = view_of(t);
        rc = dpt_ckpt_save(t->ckpt_path, &v, err);
        if (rc == 0 && best) rc = dpt_ckpt_save(t->best_path, &v, err);
    }
    dpt_watch_bcast(&rc, 1, MPI_INT, 0, t->comm, "rank 0's checkpoint");
    if (rc && t->rank != 0) err->msg[0] = 0;
    return rc;
}

/* Whether any rank has been asked to stop: all ranks stop at the same step. */
static int stop_requested(const trainer *t) {
    int stop = dpt_stop_signal() != 0;
    if (t->size > 1)
        dpt_watch_allreduce(&stop, 1, MPI_INT, MPI_MAX, t->comm, "the other ranks' step");
    return stop;
}

/* Runs the rest of epoch t->pos.epoch from step t->pos.step. Returns 0 at its end, 1 when
   stopped by a signal (after a checkpoint), -1 on error. */
static int train_epoch(trainer *t, dpt_err *err) {
    const dpt_train_config *cfg = &t->cfg;
    const uint32_t N = t->data.train.n;
    const int epoch = t->pos.epoch, steps = t->steps_per_epoch;
    dpt_epoch_record *rec = &t->history[epoch];
    rec->epoch = epoch + 1;
    rec->lr = dpt_sched_step_lr(&cfg->sched, cfg->lr, &t->sched, epoch, 0, steps, cfg->epochs);
    dpt_data_epoch_order(cfg->seed, (uint32_t)epoch, t->order, N);
    dpt_progress progress;
    dpt_progress_start(&progress, t->rank == 0);
    /* A resumed epoch keeps its time so far. */
    progress.epoch_start -= t->pos.seconds;
    t->reducer.wait_seconds = t->pos.reduce_wait_seconds;
    long seen = (long)t->pos.step * cfg->batch;
    for (int s = t->pos.step; s < steps; s++) {
        const uint32_t first = (uint32_t)s * (uint32_t)cfg->batch;
        const int b = N - first < (uint32_t)cfg->batch ? (int)(N - first) : cfg->batch;
        const step_plan step = {
            .batch = t->order + first, .b = b, .epoch = epoch, .index = s, .first = first};
        dpt_step_totals tot;
        const double lr =
            dpt_sched_step_lr(&cfg->sched, cfg->lr, &t->sched, epoch, s, steps, cfg->epochs);
        if (train_step(t, &step, lr, &tot, err)) return -1;
        if (!tot.finite) {
            dpt_progress_clear(&progress);
            if (t->rank != 0) return dpt_fail(err, "%s", ""); /* rank 0 reports it */
            return dpt_fail(err,
                            "%straining diverged at epoch %d, step %d of %d: the loss or a "
                            "gradient is NaN, infinite or beyond 2^30 (lr %g); try a smaller "
                            "--lr",
                            cfg->tag, epoch + 1, s + 1, steps, lr);
        }
        t->pos.loss += tot.loss;
        t->pos.correct += tot.correct;
        t->pos.top5 += tot.top5;
        t->pos.step = s + 1;
        seen += b;
        const double P = t->model.positions;
        t->batch_loss[t->batches_done] = (float)(tot.loss / (b * P));
        t->batch_acc[t->batches_done++] = (float)(tot.correct / (b * P));
        dpt_progress_update(&progress, cfg->tag, epoch + 1, cfg->epochs, s + 1, steps,
                            t->pos.loss / (seen * P), t->pos.correct / (seen * P), seen);
        const int stop = stop_requested(t);
        if (stop || (cfg->ckpt_every > 0 && (s + 1) % cfg->ckpt_every == 0 && s + 1 < steps)) {
            t->pos.seconds = dpt_now() - progress.epoch_start;
            t->pos.reduce_wait_seconds = t->reducer.wait_seconds;
            if (save_checkpoint(t, 0, err)) return -1;
        }
        if (stop) {
            dpt_progress_clear(&progress);
            return 1;
        }
    }
    rec->seconds = dpt_now() - progress.epoch_start;
    rec->reduce_wait_seconds = t->reducer.wait_seconds;
    rec->samples_per_s = N / rec->seconds;
    const double predictions = (double)N * t->model.positions;
    rec->train_loss = t->pos.loss / predictions;
    rec->train_acc = (double)t->pos.correct / predictions;
    rec->train_top5 = (double)t->pos.top5 / predictions;
    dpt_progress_clear(&progress);
    /* Rank 0 evaluates and decides the next learning rate; the others wait for its word. */
    int best = 0;
    if (t->rank == 0) {
        const split_scores val = evaluate(t, &t->data.val), test = evaluate(t, &t->data.test);
        rec->val_loss = val.loss, rec->val_acc = val.acc, rec->val_top5 = val.top5;
        rec->val_f1 = val.f1, rec->val_iou = val.iou;
        rec->test_loss = test.loss, rec->test_acc = test.acc, rec->test_top5 = test.top5;
        rec->test_f1 = test.f1, rec->test_iou = test.iou;
        dpt_sched_next(&cfg->sched, cfg->lr, epoch, cfg->epochs, rec->val_loss, &t->sched);
        dpt_report_epoch(stdout, cfg->tag, rec, cfg->epochs, t->model.task == DPT_TASK_SEGMENT);
        best = rec->val_acc > t->best_val_acc;
        if (best) t->best_val_acc = rec->val_acc;
    }
    dpt_watch_bcast(&t->sched.lr, 1, MPI_DOUBLE, 0, t->comm, "rank 0's evaluation");
    t->epochs_done = epoch + 1;
    t->pos = (dpt_position){.epoch = epoch + 1};
    return save_checkpoint(t, best, err);
}

/* --resume PATH, or --resume auto: this run's checkpoint if there is one. Rank 0 reads it and
   hands every rank the state it needs. */
static int resume(trainer *t, dpt_err *err) {
    const dpt_train_config *cfg = &t->cfg;
    const int automatic = strcmp(cfg->resume, "auto") == 0;
    if (automatic && !t->ckpt_path[0]) return dpt_fail(err, "--resume auto needs --out");
    const char *path = automatic ? t->ckpt_path : cfg->resume;
    int exists = access(path, F_OK) == 0, report;
    MPI_Bcast(&exists, 1, MPI_INT, 0, t->comm);
    if (automatic && !exists) {
        if (t->rank == 0) printf("%sno checkpoint at %s: starting afresh\n", cfg->tag, path);
        return 0;
    }
    dpt_ckpt_view v = view_of(t);
    int rc = 0;
    if (t->rank == 0) {
        dpt_read_guard_begin("dptrain train", path);
        rc = dpt_ckpt_resume(path, &v, err);
        dpt_read_guard_end();
    }
    if (dpt_dist_any_failed(t->comm, rc != 0, &report)) {
        if (!report) err->msg[0] = 0;
        return -1;
    }
    MPI_Bcast(t->params, (int)t->model.nparams, MPI_FLOAT, 0, t->comm);
    MPI_Bcast(t->state, (int)t->model.nstate, MPI_FLOAT, 0, t->comm);
    for (int i = 0; i < 2; i++)
        if (t->optim.state[i])
            MPI_Bcast(t->optim.state[i], (int)t->model.nparams, MPI_FLOAT, 0, t->comm);
    MPI_Bcast(&t->optim.step, 1, MPI_LONG, 0, t->comm);
    MPI_Bcast(&t->sched, sizeof t->sched, MPI_BYTE, 0, t->comm);
    MPI_Bcast(&t->pos, sizeof t->pos, MPI_BYTE, 0, t->comm);
    MPI_Bcast(&t->epochs_done, 1, MPI_INT, 0, t->comm);
    for (int e = 0; e < t->epochs_done; e++)
        if (t->history[e].val_acc > t->best_val_acc) t->best_val_acc = t->history[e].val_acc;
    if (t->rank == 0)
        printf("%sresuming from %s at epoch %d, step %d\n", cfg->tag, path, t->pos.epoch + 1,
               t->pos.step);
    return 0;
}

/* The JSON summary: printed with --json, and written to OUT/seed-<s>/result.json with --out. */
static int report_run(trainer *t, dpt_err *err) {
    const dpt_train_config *cfg = &t->cfg;
    char *json = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&json, &len);
    if (!mem) return dpt_fail(err, "out of memory for the JSON summary");
    dpt_ckpt_view v = view_of(t);
    dpt_report_json(mem, &v, t->threads);
    fclose(mem);
    int rc = 0;
    if (cfg->json) {
        fputs(json, stdout);
        fflush(stdout);
    }
    if (cfg->out) {
        char dir[4096], path[4200];
        snprintf(dir, sizeof dir, "%s/seed-%llu", cfg->out, (unsigned long long)cfg->seed);
        snprintf(path, sizeof path, "%s/result.json", dir);
        rc = dpt_mkdir_p(dir, err) || dpt_write_atomic(path, json, strlen(json), err) ? -1 : 0;
    }
    free(json);
    return rc;
}

/* One line: what the data is and how it is standardized. */
static void print_data(const trainer *t) {
    const dpt_images *s = &t->data.set.train;
    printf("%sdata %s: %u training and %u test images of %ux%ux%u, %d classes, read in %.2f s | "
           "mean",
           t->cfg.tag, t->cfg.data.path, s->count, t->data.set.test.count, s->channels, s->height,
           s->width, t->data.set.classes, t->load_seconds);
    for (uint32_t c = 0; c < s->channels; c++) printf(" %.4g", t->data.mean[c]);
    printf(" std");
    for (uint32_t c = 0; c < s->channels; c++) printf(" %.4g", t->data.std[c]);
    printf("\n");
}

int dpt_train(const dpt_train_config *cfg, MPI_Comm comm, dpt_err *err) {
    trainer t;
    int rc = trainer_init(&t, cfg, comm, err), report;
    if (dpt_dist_any_failed(comm, rc != 0, &report)) {
        if (!report) err->msg[0] = 0;
        trainer_free(&t);
        return -1;
    }
    rc = check_ranks_agree(&t, err);
    if (rc == 0) rc = dpt_reducer_connect(&t.reducer, comm, err);
    if (rc == 0 && t.rank == 0) print_data(&t);
    if (rc == 0 && t.rank == 0)
        printf("%smodel %s: %zu parameters | %u train, %u val, %u test samples | batch %d in "
               "micro-batches of %d over %d rank%s x %d thread%s\n",
               cfg->tag, t.model.spec, t.model.nparams, t.data.train.n, t.data.val.n, t.data.test.n,
               cfg->batch, t.ws[0].capacity, t.size, t.size > 1 ? "s" : "", t.threads,
               t.threads > 1 ? "s" : "");
    if (rc == 0 && cfg->resume) rc = resume(&t, err);
    while (rc == 0 && t.pos.epoch < cfg->epochs) rc = train_epoch(&t, err);
    if (rc == 0 && t.rank == 0) rc = report_run(&t, err);
    if (rc == 1 && t.rank == 0)
        fprintf(stderr, "%sstopped by signal %d at epoch %d, step %d%s%s\n", cfg->tag,
                dpt_stop_signal(), t.pos.epoch + 1, t.pos.step,
                t.ckpt_path[0] ? " after writing " : " (no checkpoint: no --out)", t.ckpt_path);
    trainer_free(&t);
    return rc;
}
