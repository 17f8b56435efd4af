#define _GNU_SOURCE
#include "dptrain/train.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dptrain/dist.h"
#include "dptrain/loss.h"
#include "dptrain/model.h"
#include "dptrain/report.h"

void dpt_train_config_defaults(dpt_train_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->model = "cnn2710";
    cfg->data = (dpt_data_options){.dir = "data/mnist", .val = 5000, .split_seed = 0};
    cfg->epochs = 5;
    cfg->batch = 64;
    cfg->micro_batch = 32;
    cfg->opt = DPT_SGD;
    cfg->optim = (dpt_optim_config){.beta1 = 0.9, .beta2 = 0.999};
    cfg->lr = 0.01;
    dpt_sched_parse("const", &cfg->sched, NULL);
    cfg->seed = 1;
}

/* Everything one training run holds; allocated before the first step, freed after the last. */
typedef struct trainer {
    const dpt_train_config *cfg;
    MPI_Comm comm;
    int rank, size, threads;
    dpt_data data;
    dpt_model model;
    float *params, *grads;
    dpt_optim optim;
    dpt_reducer reducer;
    dpt_workspace *ws; /* one per thread */
    uint32_t *order;   /* this epoch's sample order (positions in the training split) */
    double *chunk_loss;
    long *chunk_correct;
    dpt_epoch_record *history;
} trainer;

/* Threads per rank: the node's cores shared evenly among the ranks on it, within the cores this
   process may run on (mpirun may have bound it to fewer). */
static int default_threads(MPI_Comm comm) {
    MPI_Comm node;
    int on_node = 1;
    if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &on_node);
        MPI_Comm_free(&node);
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) < cores)
        cores = CPU_COUNT(&set);
    long t = cores / on_node;
    return t < 1 ? 1 : (int)t;
}

static void trainer_free(trainer *t) {
    for (int i = 0; t->ws && i < t->threads; i++) dpt_workspace_free(&t->ws[i]);
    free(t->ws);
    free(t->params);
    free(t->grads);
    free(t->order);
    free(t->chunk_loss);
    free(t->chunk_correct);
    free(t->history);
    dpt_optim_free(&t->optim);
    dpt_reducer_free(&t->reducer);
    dpt_model_free(&t->model);
    dpt_data_free(&t->data);
}

static int trainer_init(trainer *t, const dpt_train_config *cfg, MPI_Comm comm, dpt_err *err) {
    memset(t, 0, sizeof *t);
    t->cfg = cfg;
    t->comm = comm;
    MPI_Comm_rank(comm, &t->rank);
    MPI_Comm_size(comm, &t->size);
    t->threads = cfg->threads > 0 ? cfg->threads : default_threads(comm);
    /* Threads share out micro-batches; each GEMM runs on one BLAS thread, because OpenBLAS
       gives different bits for the same product at different thread counts. */
    openblas_set_num_threads(1);
    omp_set_num_threads(t->threads);
    if (cfg->epochs < 1 || cfg->batch < 1 || cfg->micro_batch < 1)
        return dpt_fail(err, "--epochs, --batch and --micro-batch must be at least 1");
    if (dpt_data_load(&cfg->data, &t->data, err)) return -1;
    const dpt_images *set = &t->data.train_file;
    dpt_shape input = {1, (int)set->height, (int)set->width};
    if (dpt_model_build(cfg->model, input, DPT_CLASSES, &t->model, err)) return -1;
    const size_t n = t->model.nparams;
    const int m = cfg->micro_batch < cfg->batch ? cfg->micro_batch : cfg->batch;
    const int micro_per_step = (cfg->batch + m - 1) / m;
    const int local_most = (micro_per_step + t->size - 1) / t->size;
    const uint32_t eval_most = t->data.val.n > t->data.test.n ? t->data.val.n : t->data.test.n;
    const uint32_t chunks = (eval_most + (uint32_t)m - 1) / (uint32_t)m;
    t->params = malloc(sizeof(float) * (n ? n : 1));
    t->grads = malloc(sizeof(float) * (n ? n : 1));
    t->order = malloc(sizeof(uint32_t) * t->data.train.n);
    t->chunk_loss = malloc(sizeof(double) * (chunks ? chunks : 1));
    t->chunk_correct = malloc(sizeof(long) * (chunks ? chunks : 1));
    t->history = calloc((size_t)cfg->epochs, sizeof *t->history);
    t->ws = calloc((size_t)t->threads, sizeof *t->ws);
    if (!t->params || !t->grads || !t->order || !t->chunk_loss || !t->chunk_correct ||
        !t->history || !t->ws)
        return dpt_fail(err, "out of memory for a model of %zu parameters", n);
    for (int i = 0; i < t->threads; i++)
        if (dpt_workspace_init(&t->ws[i], &t->model, m, err)) return -1;
    if (dpt_reducer_init(&t->reducer, &t->model, comm, local_most, err)) return -1;
    dpt_optim_config oc = cfg->optim;
    oc.kind = cfg->opt;
    if (oc.eps == 0) oc.eps = cfg->opt == DPT_ADAGRAD ? 1e-10 : 1e-8;
    if (dpt_optim_init(&t->optim, &oc, n, err)) return -1;
    dpt_model_init(&t->model, t->params, cfg->seed);
    return 0;
}

/* Forward, loss and backward of micro-batch `mi` of the batch starting at order[first]. */
static void micro_step(trainer *t, dpt_workspace *ws, const uint32_t *batch, int b, int mi, int j) {
    const int m = ws->capacity, start = mi * m, n = b - start < m ? b - start : m;
    dpt_data_gather(&t->data, &t->data.train, batch + start, 0, (size_t)n, ws->act[0], ws->labels);
    dpt_model_forward(&t->model, t->params, ws, n);
    t->reducer.micro_correct[j] = 0;
    t->reducer.micro_loss[j] =
        dpt_softmax_xent(dpt_model_logits(&t->model, ws), ws->labels, n, DPT_CLASSES, ws->dlogits,
                         &t->reducer.micro_correct[j]);
    dpt_model_backward(&t->model, t->params, t->reducer.micro_grads[j], ws, n);
    dpt_reducer_scan(&t->reducer, j);
}

/* One optimizer step on the b samples batch[0..b): this rank computes a contiguous block of the
   step's micro-batches, then all ranks sum them exactly. */
static int train_step(trainer *t, const uint32_t *batch, int b, double lr, dpt_step_totals *tot,
                      dpt_err *err) {
    const int m = t->ws[0].capacity, M = (b + m - 1) / m;
    const int lo = (int)((long)M * t->rank / t->size),
              hi = (int)((long)M * (t->rank + 1) / t->size);
#pragma omp parallel for schedule(dynamic, 1)
    for (int j = 0; j < hi - lo; j++)
        micro_step(t, &t->ws[omp_get_thread_num()], batch, b, lo + j, j);
    if (dpt_reducer_mean(&t->reducer, hi - lo, M, b, t->grads, tot, err)) return -1;
    if (tot->finite) dpt_optim_step(&t->optim, t->params, t->grads, lr);
    return 0;
}

/* Mean loss and accuracy over a split, in chunks shared out over threads and summed in chunk
   order, so the result does not depend on the thread count. */
static void evaluate(trainer *t, const dpt_split *split, double *loss, double *acc) {
    const int m = t->ws[0].capacity;
    const int chunks = (int)((split->n + (uint32_t)m - 1) / (uint32_t)m);
#pragma omp parallel for schedule(dynamic, 1)
    for (int c = 0; c < chunks; c++) {
        dpt_workspace *ws = &t->ws[omp_get_thread_num()];
        const uint32_t first = (uint32_t)c * (uint32_t)m;
        const int n = split->n - first < (uint32_t)m ? (int)(split->n - first) : m;
        dpt_data_gather(&t->data, split, NULL, first, (size_t)n, ws->act[0], ws->labels);
        dpt_model_forward(&t->model, t->params, ws, n);
        t->chunk_correct[c] = 0;
        t->chunk_loss[c] = dpt_softmax_xent(dpt_model_logits(&t->model, ws), ws->labels, n,
                                            DPT_CLASSES, NULL, &t->chunk_correct[c]);
    }
    double sum = 0;
    long correct = 0;
    for (int c = 0; c < chunks; c++) {
        sum += t->chunk_loss[c];
        correct += t->chunk_correct[c];
    }
    *loss = split->n ? sum / split->n : NAN;
    *acc = split->n ? (double)correct / split->n : NAN;
}

static int train_epoch(trainer *t, int epoch, dpt_epoch_record *rec, dpt_err *err) {
    const dpt_train_config *cfg = t->cfg;
    const uint32_t N = t->data.train.n;
    const int steps = (int)((N + (uint32_t)cfg->batch - 1) / (uint32_t)cfg->batch);
    rec->epoch = epoch + 1;
    rec->lr = dpt_sched_lr(&cfg->sched, cfg->lr, epoch, cfg->epochs);
    dpt_data_epoch_order(cfg->seed, (uint32_t)epoch, t->order, N);
    dpt_progress progress;
    dpt_progress_start(&progress);
    double loss = 0;
    long correct = 0, seen = 0;
    for (int s = 0; s < steps; s++) {
        const uint32_t first = (uint32_t)s * (uint32_t)cfg->batch;
        const int b = N - first < (uint32_t)cfg->batch ? (int)(N - first) : cfg->batch;
        dpt_step_totals tot;
        if (train_step(t, t->order + first, b, rec->lr, &tot, err)) return -1;
        if (!tot.finite) {
            dpt_progress_clear(&progress);
            return dpt_fail(err,
                            "training diverged at epoch %d, step %d of %d: the loss or a "
                            "gradient is NaN or infinite (lr %g); try a smaller --lr",
                            epoch + 1, s + 1, steps, rec->lr);
        }
        loss += tot.loss;
        correct += tot.correct;
        seen += b;
        if (t->rank == 0)
            dpt_progress_update(&progress, epoch + 1, cfg->epochs, s + 1, steps, loss / seen,
                                (double)correct / seen, seen);
    }
    rec->seconds = dpt_now() - progress.epoch_start;
    rec->samples_per_s = N / rec->seconds;
    rec->train_loss = loss / N;
    rec->train_acc = (double)correct / N;
    dpt_progress_clear(&progress);
    if (t->rank == 0) {
        evaluate(t, &t->data.val, &rec->val_loss, &rec->val_acc);
        evaluate(t, &t->data.test, &rec->test_loss, &rec->test_acc);
        dpt_report_epoch(stdout, rec, cfg->epochs);
    }
    return 0;
}

int dpt_train(const dpt_train_config *cfg, MPI_Comm comm, dpt_err *err) {
    trainer t;
    int rc = trainer_init(&t, cfg, comm, err);
    if (rc == 0 && t.rank == 0)
        fprintf(stdout,
                "model %s: %zu parameters | %u train, %u val, %u test samples | %d rank%s "
                "x %d thread%s | batch %d in micro-batches of %d\n",
                t.model.spec, t.model.nparams, t.data.train.n, t.data.val.n, t.data.test.n, t.size,
                t.size > 1 ? "s" : "", t.threads, t.threads > 1 ? "s" : "", cfg->batch,
                t.ws[0].capacity);
    int done = 0;
    for (; rc == 0 && done < cfg->epochs; done++) rc = train_epoch(&t, done, &t.history[done], err);
    if (rc == 0 && t.rank == 0 && cfg->json) {
        char sha[65];
        dpt_param_sha256(t.params, t.model.nparams, sha);
        dpt_run_summary s = {.cfg = cfg,
                             .model = &t.model,
                             .history = t.history,
                             .epochs_done = done,
                             .world_size = t.size,
                             .threads = t.threads,
                             .mean = t.data.mean,
                             .std = t.data.std,
                             .param_sha256 = sha};
        dpt_report_json(stdout, &s);
    }
    trainer_free(&t);
    return rc;
}
