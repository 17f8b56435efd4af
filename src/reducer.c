#include "dptrain/reducer.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "dptrain/hot_loop.h"
#include "dptrain/timing.h"
#include "dptrain/watch.h"

/* Loss sums travel as fixed point too: 2^32 keeps ~9 decimal places for sums below 2^30. A
   step whose summed loss reaches 2^30 (the int64 range) counts as diverged. */
#define LOSS_SCALE 0x1.0p32
#define LOSS_LIMIT 0x1.0p30
#define FLOAT_INFINITY_BITS 0x7f800000u
/* Work of the reduction loops is dealt to threads in spans of at most this many values. */
#define SPAN_VALUES 16384

enum bucket_state { WAITING, MAXING, SUMMING, DONE };

/* The hot loops (HOT_LOOP): every operation in them is exact (magnitude bits, power-of-two
   scaling, integer sums) or correctly rounded (int64 to double, double to float). */

/* The largest |g[i]| as float bits: for non-negative floats the bit patterns order like the
   values, and every NaN or infinity sorts above every finite value. */
HOT_LOOP static uint32_t max_magnitude_bits(const float *restrict g, size_t n) {
    uint32_t most = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &g[i], sizeof bits);
        bits &= 0x7fffffffu;
        most = bits > most ? bits : most;
    }
    return most;
}

/* sum = (first ? 0 : sum) + g * scale, truncated to integers. */
HOT_LOOP static void quantize_add(int64_t *restrict sum, const float *restrict g, size_t n,
                                  double scale, int first) {
    if (first)
        for (size_t i = 0; i < n; i++) sum[i] = (int64_t)((double)g[i] * scale);
    else
        for (size_t i = 0; i < n; i++) sum[i] += (int64_t)((double)g[i] * scale);
}

/* sum = (first ? 0 : sum) + g * scale + h * scale, each product truncated to an integer: two
   micro-batches in one pass over the sums (integer additions are exact in any order). */
HOT_LOOP static void quantize_add_two(int64_t *restrict sum, const float *restrict g,
                                      const float *restrict h, size_t n, double scale, int first) {
    if (first)
        for (size_t i = 0; i < n; i++)
            sum[i] = (int64_t)((double)g[i] * scale) + (int64_t)((double)h[i] * scale);
    else
        for (size_t i = 0; i < n; i++)
            sum[i] += (int64_t)((double)g[i] * scale) + (int64_t)((double)h[i] * scale);
}

HOT_LOOP static void dequantize(float *restrict g, const int64_t *restrict sum, size_t n,
                                double factor) {
    for (size_t i = 0; i < n; i++) g[i] = (float)((double)sum[i] * factor);
}

static int ceil_log2(long x) {
    int e = 0;
    while ((1L << e) < x) e++;
    return e;
}

/* 2^e such that values up to the magnitude with float bits `bits`, times 2^e, sum over M
   micro-batches without overflowing int64. */
static double scale_for(uint32_t bits, int M) {
    if (bits == 0) return 1;
    float maxabs;
    memcpy(&maxabs, &bits, sizeof maxabs);
    int e;
    frexpf(maxabs, &e); /* maxabs < 2^e */
    return ldexp(1.0, 62 - ceil_log2(M) - e);
}

/* The reduced tensors: one per layer with statistics (its whole statistics segment), then the
   parameter tensors, at their places in the reduced vector (statistics first). */
static int make_tensors(dpt_reducer *r) {
    const dpt_model *m = r->model;
    r->nstat_tensors = 0;
    for (int i = 0; i < m->nlayers; i++) r->nstat_tensors += m->layers[i].nstats > 0;
    r->ntensors = r->nstat_tensors + m->nparams_tensors;
    if (!(r->tensors = malloc(sizeof *r->tensors * (size_t)(r->ntensors + 1)))) return -1;
    int t = 0;
    for (int i = 0; i < m->nlayers; i++)
        if (m->layers[i].nstats)
            r->tensors[t++] =
                (dpt_span){.offset = m->layers[i].stat_offset, .count = m->layers[i].nstats};
    for (int p = 0; p < m->nparams_tensors; p++)
        r->tensors[t++] =
            (dpt_span){.offset = m->nstats + m->params[p].offset, .count = m->params[p].count};
    return 0;
}

/* Spans of at most SPAN_VALUES values, tensor by tensor. */
static int make_spans(dpt_reducer *r) {
    size_t n = 0;
    for (int t = 0; t < r->ntensors; t++)
        n += (r->tensors[t].count + SPAN_VALUES - 1) / SPAN_VALUES;
    if (!(r->spans = malloc(sizeof *r->spans * (n ? n : 1)))) return -1;
    r->nspans = 0;
    for (int t = 0; t < r->ntensors; t++)
        for (size_t at = 0; at < r->tensors[t].count; at += SPAN_VALUES) {
            size_t left = r->tensors[t].count - at;
            r->spans[r->nspans++] = (dpt_span){.tensor = t,
                                               .offset = r->tensors[t].offset + at,
                                               .count = left < SPAN_VALUES ? left : SPAN_VALUES};
        }
    return 0;
}

/* Whole layers, from the last, until a bucket holds bucket_bytes (8 bytes a value). The last
   bucket, which ends with layer 0, also carries the statistics segment at the vector's front:
   statistics are complete after forward, long before layer 0's backward. */
static int make_buckets(dpt_reducer *r, size_t bucket_bytes) {
    const dpt_model *m = r->model;
    if (!(r->buckets = calloc((size_t)m->nlayers, sizeof *r->buckets))) return -1;
    r->nbuckets = 0;
    const int S = r->nstat_tensors;
    int hi = m->nlayers - 1;
    size_t bytes = 0;
    for (int l = m->nlayers - 1; l >= 0; l--) {
        bytes += m->layers[l].nparams * sizeof(int64_t);
        if (l > 0 && (bucket_bytes == 0 || bytes < bucket_bytes)) continue;
        if (bytes == 0 && r->nbuckets > 0) { /* parameterless layers join the bucket above */
            r->buckets[r->nbuckets - 1].layer_lo = l;
            continue;
        }
        const dpt_layer *lo = &m->layers[l], *top = &m->layers[hi];
        const size_t end = m->nstats + top->param_offset + top->nparams;
        dpt_bucket *b = &r->buckets[r->nbuckets++];
        *b = (dpt_bucket){.layer_lo = l,
                          .layer_hi = hi,
                          .t0 = S + lo->first_param,
                          .t1 = S + top->first_param + top->ntensors,
                          .offset = m->nstats + lo->param_offset};
        b->count = end - b->offset;
        hi = l - 1;
        bytes = 0;
    }
    dpt_bucket *last = &r->buckets[r->nbuckets - 1];
    last->t0 = 0;
    last->count += last->offset;
    last->offset = 0;
    for (int i = 0; i < r->nbuckets; i++) {
        dpt_bucket *b = &r->buckets[i];
        b->s0 = r->nspans;
        b->s1 = 0;
        for (int s = 0; s < r->nspans; s++)
            if (r->spans[s].tensor >= b->t0 && r->spans[s].tensor < b->t1) {
                if (s < b->s0) b->s0 = s;
                b->s1 = s + 1;
            }
        if (b->s1 == 0) b->s0 = 0;
    }
    return 0;
}

/* The first reduced tensor of each layer's parameters, and its statistics tensor (or -1). */
static int make_layer_tensors(dpt_reducer *r) {
    const dpt_model *m = r->model;
    if (!(r->stat_tensor = malloc(sizeof(int) * (size_t)m->nlayers))) return -1;
    for (int i = 0, t = 0; i < m->nlayers; i++) r->stat_tensor[i] = m->layers[i].nstats ? t++ : -1;
    return 0;
}

int dpt_reducer_init(dpt_reducer *r, const dpt_model *m, dpt_reduce_mode mode, int capacity,
                     size_t bucket_bytes, dpt_err *err) {
    memset(r, 0, sizeof *r);
    r->model = m;
    r->mode = mode;
    r->comm = r->max_comm = r->sum_comm = MPI_COMM_NULL;
    r->capacity = capacity;
    r->length = m->nstats + m->nparams;
    int ok = make_tensors(r) == 0;
    const size_t T = ok ? (size_t)r->ntensors : 0;
    r->micro_grads = calloc((size_t)capacity, sizeof *r->micro_grads);
    r->micro_sums = calloc((size_t)capacity, sizeof *r->micro_sums);
    r->micro_maxabs = calloc((size_t)capacity * T + 1, sizeof *r->micro_maxabs);
    r->maxabs = calloc(T + 1, sizeof *r->maxabs);
    r->layers_done = calloc((size_t)m->nlayers, sizeof *r->layers_done);
    r->threads = omp_get_max_threads();
    r->chunks = malloc(sizeof(float) * SPAN_VALUES * (size_t)r->threads);
    r->span_sums = malloc(sizeof(int64_t) * SPAN_VALUES * (size_t)r->threads);
    if (mode == DPT_REDUCE_FLOAT) r->mean = malloc(sizeof(float) * (r->length + 1));
    ok = ok && r->micro_grads && r->micro_sums && r->micro_maxabs && r->maxabs && r->layers_done &&
         r->chunks && r->span_sums && (mode != DPT_REDUCE_FLOAT || r->mean) && make_spans(r) == 0 &&
         make_buckets(r, bucket_bytes) == 0 && make_layer_tensors(r) == 0;
    for (int i = 0; ok && i < capacity; i++)
        ok = (r->micro_grads[i] = malloc(sizeof(float) * (r->length + 1))) != NULL;
    if (!ok) {
        dpt_reducer_free(r);
        return dpt_fail(err, "out of memory for %d micro-batch gradient buffers", capacity);
    }
    return 0;
}

int dpt_reducer_connect(dpt_reducer *r, MPI_Comm comm, dpt_err *err) {
    r->comm = comm;
    int size;
    MPI_Comm_size(comm, &size);
    r->alone = size == 1;
    if (r->mode == DPT_REDUCE_EXACT && !r->alone &&
        !(r->sum = malloc(sizeof *r->sum * (r->length + 1))))
        return dpt_fail(err, "out of memory for the sums of %zu gradient values", r->length);
    if (MPI_Comm_dup(comm, &r->max_comm) != MPI_SUCCESS ||
        MPI_Comm_dup(comm, &r->sum_comm) != MPI_SUCCESS)
        return dpt_fail(err, "MPI_Comm_dup for the reduction failed");
    return 0;
}

void dpt_reducer_free(dpt_reducer *r) {
    for (int i = 0; r->micro_grads && i < r->capacity; i++) free(r->micro_grads[i]);
    free(r->micro_grads);
    free(r->micro_sums);
    free(r->micro_maxabs);
    free(r->tensors);
    free(r->stat_tensor);
    free(r->maxabs);
    free(r->sum);
    free(r->chunks);
    free(r->span_sums);
    free(r->mean);
    free(r->spans);
    free(r->buckets);
    free(r->layers_done);
    /* A zeroed reducer (init never ran) holds 0, which is not MPI_COMM_NULL in Open MPI. */
    if (r->max_comm && r->max_comm != MPI_COMM_NULL) MPI_Comm_free(&r->max_comm);
    if (r->sum_comm && r->sum_comm != MPI_COMM_NULL) MPI_Comm_free(&r->sum_comm);
    memset(r, 0, sizeof *r);
}

void dpt_reducer_begin(dpt_reducer *r, int local, int M) {
    r->local = local;
    r->M = M;
    for (int l = 0; l < r->model->nlayers; l++) atomic_store(&r->layers_done[l], 0);
    for (int b = 0; b < r->nbuckets; b++) r->buckets[b].state = WAITING;
}

static void measure(dpt_reducer *r, int j, int t) {
    r->micro_maxabs[(size_t)j * r->ntensors + t] =
        max_magnitude_bits(r->micro_grads[j] + r->tensors[t].offset, r->tensors[t].count);
}

void dpt_reducer_layer_done(dpt_reducer *r, int j, int layer) {
    const dpt_layer *l = &r->model->layers[layer];
    const int first = r->nstat_tensors + l->first_param;
    for (int t = first; t < first + l->ntensors; t++) measure(r, j, t);
    if (r->stat_tensor[layer] >= 0) measure(r, j, r->stat_tensor[layer]);
    atomic_fetch_add_explicit(&r->layers_done[layer], 1, memory_order_release);
}

static int bucket_ready(const dpt_reducer *r, const dpt_bucket *b) {
    return atomic_load_explicit(&r->layers_done[b->layer_lo], memory_order_acquire) >= r->local;
}

static int start_max(dpt_reducer *r, dpt_bucket *b, dpt_err *err) {
    const int T = r->ntensors;
    for (int t = b->t0; t < b->t1; t++) {
        uint32_t most = 0;
        for (int j = 0; j < r->local; j++) {
            uint32_t bits = r->micro_maxabs[(size_t)j * T + t];
            most = bits > most ? bits : most;
        }
        r->maxabs[t] = most;
    }
    b->state = MAXING;
    if (MPI_Iallreduce(MPI_IN_PLACE, r->maxabs + b->t0, b->t1 - b->t0, MPI_UINT32_T, MPI_MAX,
                       r->max_comm, &b->request) != MPI_SUCCESS)
        return dpt_fail(err, "MPI_Iallreduce of the gradient scales failed");
    return 0;
}

/* The fixed-point sum of a span over this rank's micro-batches, at its tensor's scale, into
   sum[0, span->count). */
static void quantize_span(dpt_reducer *r, const dpt_span *span, int64_t *sum) {
    const double scale = scale_for(r->maxabs[span->tensor], r->M);
    if (r->local == 0 || r->maxabs[span->tensor] >= FLOAT_INFINITY_BITS)
        memset(sum, 0, sizeof *sum * span->count); /* nothing here, or a step to discard */
    else
        for (int j = 0; j < r->local; j += 2) {
            const float *g = r->micro_grads[j] + span->offset;
            if (j + 1 < r->local)
                quantize_add_two(sum, g, r->micro_grads[j + 1] + span->offset, span->count, scale,
                                 j == 0);
            else
                quantize_add(sum, g, span->count, scale, j == 0);
        }
}

/* Quantizes the bucket (in parallel when called outside a parallel region) and starts its sum.
   A rank alone has no sum to wait for: dpt_reducer_finish quantizes each span into the thread's
   span_sums just before it reads it back, while it is in cache (and holds no sums otherwise). */
static int start_sum(dpt_reducer *r, dpt_bucket *b, dpt_err *err) {
    if (r->alone) {
        b->state = DONE;
        return 0;
    }
#pragma omp parallel for schedule(dynamic)
    for (int s = b->s0; s < b->s1; s++) quantize_span(r, &r->spans[s], r->sum + r->spans[s].offset);
    b->state = SUMMING;
    if (MPI_Iallreduce(MPI_IN_PLACE, r->sum + b->offset, (int)b->count, MPI_INT64_T, MPI_SUM,
                       r->sum_comm, &b->request) != MPI_SUCCESS)
        return dpt_fail(err, "MPI_Iallreduce of the gradients failed");
    return 0;
}

/* 1 when the bucket's request has completed (waiting for it with `wait`), 0 when not yet. */
static int request_done(dpt_bucket *b, int wait, dpt_err *err) {
    int complete = 1;
    if (wait ? dpt_watch_wait(&b->request, "the other ranks' gradients")
             : MPI_Test(&b->request, &complete, MPI_STATUS_IGNORE))
        return dpt_fail(err, "MPI completion of a gradient reduction failed");
    return complete;
}

/* Moves the buckets along: a ready bucket starts its MAX; a bucket whose MAX is done starts its
   SUM, but only after every earlier bucket has (the SUMs must be issued in the same order on
   every rank). With `wait`, blocks until every bucket is done. */
static int advance(dpt_reducer *r, int wait, dpt_err *err) {
    int sums_in_order = 1;
    for (int i = 0; i < r->nbuckets; i++) {
        dpt_bucket *b = &r->buckets[i];
        if (b->state == WAITING) {
            if (!wait && !bucket_ready(r, b)) break; /* later buckets cover earlier layers */
            if (start_max(r, b, err)) return -1;
        }
        /* Quantizing is left to dpt_reducer_finish, which shares it out over the threads, once
           no thread is busy with backward any more. */
        if (b->state == MAXING && sums_in_order && (wait || !dpt_reducer_computed(r))) {
            int done = request_done(b, wait, err);
            if (done < 0 || (done && start_sum(r, b, err))) return -1;
        }
        if (b->state == MAXING) sums_in_order = 0;
        if (b->state == SUMMING && !wait) {
            int done = request_done(b, 0, err);
            if (done < 0) return -1;
            if (done) b->state = DONE;
        }
    }
    for (int i = 0; wait && i < r->nbuckets; i++) {
        dpt_bucket *b = &r->buckets[i];
        if (b->state == SUMMING && request_done(b, 1, err) < 0) return -1;
        b->state = DONE;
    }
    return 0;
}

int dpt_reducer_computed(const dpt_reducer *r) {
    return atomic_load_explicit(&r->layers_done[0], memory_order_acquire) >= r->local;
}

int dpt_reducer_progress(dpt_reducer *r, dpt_err *err) {
    return r->mode == DPT_REDUCE_EXACT ? advance(r, 0, err) : 0;
}

/* What a span's sum is divided by: the batch size for statistics, grad_divisor for gradients. */
static double divisor_of(const dpt_reducer *r, const dpt_span *span, int batch,
                         double grad_divisor) {
    return span->tensor < r->nstat_tensors ? batch : grad_divisor;
}

/* The plain path: float sums in micro-batch order, then MPI_SUM over floats, whose result
   depends on how the micro-batches were dealt to ranks; r->mean holds the means. */
static int float_mean(dpt_reducer *r, int batch, double grad_divisor, dpt_err *err) {
    float *grads = r->mean;
#pragma omp parallel for schedule(dynamic)
    for (int s = 0; s < r->nspans; s++) {
        const dpt_span *span = &r->spans[s];
        float *g = grads + span->offset;
        for (size_t i = 0; i < span->count; i++) g[i] = 0;
        for (int j = 0; j < r->local; j++) {
            const float *src = r->micro_grads[j] + span->offset;
            for (size_t i = 0; i < span->count; i++) g[i] += src[i];
        }
    }
    if (dpt_watch_allreduce(grads, (int)r->length, MPI_FLOAT, MPI_SUM, r->comm,
                            "the other ranks' gradients") != MPI_SUCCESS)
        return dpt_fail(err, "MPI_Allreduce of the gradients failed");
#pragma omp parallel for schedule(dynamic)
    for (int s = 0; s < r->nspans; s++) {
        const dpt_span *span = &r->spans[s];
        const float inv = (float)(1.0 / divisor_of(r, span, batch, grad_divisor));
        for (size_t i = 0; i < span->count; i++) grads[span->offset + i] *= inv;
    }
    return 0;
}

/* Span s of the reduced vector as floats: its statistics into `stats`, its gradient handed to
   the sink (from the thread's chunk; r->mean's values in float mode). Exact mode: a rank alone
   first quantizes the span into its thread's span_sums (start_sum left it), then each value is
   dequantized. */
static void deliver(dpt_reducer *r, const dpt_span *span, int batch, double grad_divisor,
                    float *stats, dpt_grad_sink sink, void *ctx) {
    const int is_stat = span->tensor < r->nstat_tensors;
    const size_t at = span->offset - (is_stat ? 0 : r->model->nstats);
    const size_t thread = (size_t)omp_get_thread_num();
    float *out = is_stat ? stats + at : r->chunks + thread * SPAN_VALUES;
    if (r->mode == DPT_REDUCE_FLOAT) {
        if (is_stat)
            memcpy(out, r->mean + span->offset, sizeof(float) * span->count);
        else
            sink(ctx, at, r->mean + span->offset, span->count);
        return;
    }
    int64_t *sum = r->alone ? r->span_sums + thread * SPAN_VALUES : r->sum + span->offset;
    if (r->alone) quantize_span(r, span, sum);
    const double factor =
        1 / scale_for(r->maxabs[span->tensor], r->M) / divisor_of(r, span, batch, grad_divisor);
    dequantize(out, sum, span->count, factor);
    if (!is_stat) sink(ctx, at, out, span->count);
}

int dpt_reducer_finish(dpt_reducer *r, int batch, double grad_divisor, float *stats,
                       dpt_grad_sink sink, void *ctx, dpt_step_totals *totals, dpt_err *err) {
    const double start = dpt_now();
    /* Loss and counts: fixed point, exact; a slot counts losses that are not finite or so large
       that the step's M micro-batches could sum past the int64 range. */
    int64_t counters[4] = {0, 0, 0, 0};
    for (int j = 0; j < r->local; j++) {
        const double loss = r->micro_sums[j].loss;
        if (isfinite(loss) && fabs(loss) < LOSS_LIMIT / r->M) /* the same at any rank count */
            counters[0] += (int64_t)(loss * LOSS_SCALE);
        else
            counters[3]++;
        counters[1] += r->micro_sums[j].correct;
        counters[2] += r->micro_sums[j].top5;
    }
    if (r->mode == DPT_REDUCE_EXACT ? advance(r, 1, err) : float_mean(r, batch, grad_divisor, err))
        return -1;
    if (dpt_watch_allreduce(counters, 4, MPI_INT64_T, MPI_SUM, r->comm,
                            "the other ranks' losses") != MPI_SUCCESS)
        return dpt_fail(err, "MPI_Allreduce of the loss failed");
    totals->loss = (double)counters[0] / LOSS_SCALE;
    totals->correct = (long)counters[1];
    totals->top5 = (long)counters[2];
    totals->finite = counters[3] == 0;
    if (r->mode == DPT_REDUCE_FLOAT) {
        for (size_t i = 0; i < r->length && totals->finite; i++)
            if (!isfinite(r->mean[i])) totals->finite = 0;
    } else {
        for (int t = 0; t < r->ntensors; t++)
            if (r->maxabs[t] >= FLOAT_INFINITY_BITS) totals->finite = 0;
    }
    r->wait_seconds += dpt_now() - start; /* the sums are complete: the rest is local work */
    if (totals->finite) {
#pragma omp parallel for schedule(dynamic) num_threads(r->threads)
        for (int s = 0; s < r->nspans; s++)
            deliver(r, &r->spans[s], batch, grad_divisor, stats, sink, ctx);
    }
    return 0;
}
