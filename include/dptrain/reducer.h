/* Exact, rank-count-invariant gradient reduction, overlapped with backward.

   Each micro-batch's gradient sum is computed in float32 the same way wherever it runs. To add
   them up independently of how they are dealt to ranks and threads, every value is converted to
   fixed point with a per-tensor power-of-two scale and summed as int64, whose addition is
   associative: MPI_SUM over int64 gives the same bits for any rank count.

   The scale of tensor t is 2^e_t with e_t = 62 - ceil(log2(A_t)) - ceil(log2(M)), where A_t is
   the largest magnitude of tensor t in any micro-batch gradient (an exact MPI_MAX over the float
   bits) and M the micro-batch count of the step, so no partial sum can overflow. Truncating each
   value to a multiple of 2^-e_t errs by less than 2^-e_t <= A_t * M * 2^-61; over M micro-batches
   the sum errs by less than A_t * M^2 * 2^-61, below float32's resolution of A_t (2^-24) for any
   M <= 2^18.

   Overlap: the flat gradient buffer is cut into buckets of whole layers, last layers first. A
   bucket's two reductions (the MPI_MAX of its scales, then the MPI_SUM of its fixed-point values)
   start as soon as backward has finished its layers in every micro-batch of this rank, while
   backward goes on with earlier layers. MAX and SUM run on communicators of their own, so each
   sees its buckets in the same order on every rank. Only thread 0 calls MPI (MPI_THREAD_FUNNELED).

   The reduced vector of a micro-batch is its statistics segment (BatchNorm's per-micro-batch
   statistics, written by forward; model->nstats floats) followed by its gradient (model->nparams
   floats); statistics are reduced like one more tensor per layer and divided by the batch size.

   Use per step: dpt_reducer_begin; then, by the threads computing micro-batches,
   dpt_reducer_layer_done after each layer's backward, with thread 0 calling
   dpt_reducer_progress between its layers; then dpt_reducer_finish on thread 0. */
#ifndef DPTRAIN_REDUCER_H
#define DPTRAIN_REDUCER_H

#include <mpi.h>
#include <stdatomic.h>
#include <stdint.h>

#include "dptrain/error.h"
#include "dptrain/loss.h"
#include "dptrain/model.h"

typedef enum dpt_reduce_mode {
    DPT_REDUCE_EXACT, /* fixed point, as above: the same bits at any rank count */
    DPT_REDUCE_FLOAT  /* float32 sums and one MPI_SUM over floats after backward, for comparison */
} dpt_reduce_mode;

/* A run of values of one reduced tensor: the unit of work of the reduction loops (and, with
   tensor unused, a reduced tensor itself). */
typedef struct dpt_span {
    int tensor;
    size_t offset, count;
} dpt_span;

/* Layers [layer_lo, layer_hi] with their tensors [t0, t1), values [offset, offset + count) and
   spans [s0, s1). */
typedef struct dpt_bucket {
    int layer_lo, layer_hi, t0, t1, s0, s1;
    size_t offset, count;
    int state;
    MPI_Request request;
} dpt_bucket;

typedef struct dpt_reducer {
    const dpt_model *model;
    dpt_reduce_mode mode;
    MPI_Comm comm, max_comm, sum_comm;
    int capacity;              /* micro-batch buffers this rank holds */
    size_t length;             /* floats of a reduced vector: statistics, then gradients */
    float **micro_grads;       /* capacity reduced vectors */
    dpt_loss_sums *micro_sums; /* loss and counts of each micro-batch */
    dpt_span *tensors;         /* the reduced tensors: statistics of each layer, then parameters */
    int ntensors, nstat_tensors;
    int *stat_tensor;       /* per layer: its statistics tensor, or -1 */
    uint32_t *micro_maxabs; /* per buffer and tensor: the float bits of the largest magnitude */
    uint32_t *maxabs;       /* per tensor, over all micro-batches of all ranks */
    int64_t *sum;           /* the fixed-point sums, summed over ranks (NULL for a rank alone) */
    int alone;              /* the communicator has one rank: no sums to wait for */
    int threads;            /* of dpt_reducer_finish's loop (OpenMP's at init) */
    float *chunks;          /* per thread: a span's gradient, handed to the sink */
    int64_t *span_sums;     /* per thread: a span's fixed-point sum (a rank alone) */
    float *mean;            /* DPT_REDUCE_FLOAT: the reduced vector */
    dpt_span *spans;
    int nspans;
    dpt_bucket *buckets;
    int nbuckets;
    atomic_int *layers_done; /* per layer: micro-batches whose backward has passed it */
    int local, M;            /* this step's micro-batches here and in all */
    double wait_seconds;     /* in dpt_reducer_finish completing the sums, since last reset */
} dpt_reducer;

/* bucket_bytes: the size a bucket grows to (8 bytes a parameter) before the next one starts; 0
   puts everything in one bucket, reduced after backward (no overlap). Local: no MPI calls. */
int dpt_reducer_init(dpt_reducer *r, const dpt_model *m, dpt_reduce_mode mode, int capacity,
                     size_t bucket_bytes, dpt_err *err);
/* Collective over comm: the reducer's own communicators. */
int dpt_reducer_connect(dpt_reducer *r, MPI_Comm comm, dpt_err *err);
void dpt_reducer_free(dpt_reducer *r);

/* Starts a step in which this rank computes `local` of the M micro-batches. */
void dpt_reducer_begin(dpt_reducer *r, int local, int M);
/* Any thread: backward of `layer` is complete in micro-batch buffer j. */
void dpt_reducer_layer_done(dpt_reducer *r, int j, int layer);
/* Whether backward has finished every layer of every micro-batch of this rank. */
int dpt_reducer_computed(const dpt_reducer *r);
/* Thread 0 only: starts what has become ready. Returns 0, or -1 on an MPI error. */
int dpt_reducer_progress(dpt_reducer *r, dpt_err *err);

/* The step's totals after dpt_reducer_finish. */
typedef struct dpt_step_totals {
    double loss;  /* summed over the batch (weighted by the class weights) */
    long correct; /* over the batch */
    long top5;    /* samples whose label is among the five largest logits */
    int finite;   /* 0 if any loss or gradient value was NaN or infinite */
} dpt_step_totals;

/* Takes a run of the reduced gradient: parameters [offset, offset + count) of the model's
   gradient, with their values in grads[0, count). Called from several threads at once, on
   disjoint runs, each run once a step. */
typedef void (*dpt_grad_sink)(void *ctx, size_t offset, const float *grads, size_t count);

/* Thread 0, after every local micro-batch is done: completes the reductions, sets the totals
   and, when they are finite, the statistics `stats` (model->nstats floats) and the gradient, run
   by run through the sink: the sum over all micro-batches of all ranks, divided by `batch` for
   statistics and by grad_divisor for gradients (the batch size, or the summed class weights of
   the batch's labels). Each run is dequantized (quantized first, by a rank alone) just before the
   sink gets it, while it is in cache: the sink is where the optimizer's update belongs.
   Collective. */
int dpt_reducer_finish(dpt_reducer *r, int batch, double grad_divisor, float *stats,
                       dpt_grad_sink sink, void *ctx, dpt_step_totals *totals, dpt_err *err);

#endif
