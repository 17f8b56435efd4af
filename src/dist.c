#define _GNU_SOURCE
#include "dptrain/dist.h"

#include <float.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Loss sums travel as fixed point too: 2^32 keeps ~9 decimal places for sums below 2^30. */
#define LOSS_SCALE 0x1.0p32
#define FLOAT_INFINITY_BITS 0x7f800000u
/* Work of the reduction loops is dealt to threads in spans of at most this many values. */
#define SPAN_VALUES 16384

/* Cuts the parameter tensors into spans of at most SPAN_VALUES values. */
static int make_spans(dpt_reducer *r) {
    const dpt_model *m = r->model;
    int n = 0;
    for (int pass = 0; pass < 2; pass++) {
        n = 0;
        for (int t = 0; t < m->nparams_tensors; t++)
            for (size_t at = 0; at < m->params[t].count; at += SPAN_VALUES, n++)
                if (pass)
                    r->spans[n] = (dpt_span){.tensor = t,
                                             .offset = m->params[t].offset + at,
                                             .count = m->params[t].count - at < SPAN_VALUES
                                                          ? m->params[t].count - at
                                                          : SPAN_VALUES};
        if (!pass && !(r->spans = malloc(sizeof *r->spans * (size_t)(n ? n : 1)))) return -1;
    }
    r->nspans = n;
    return 0;
}

int dpt_reducer_init(dpt_reducer *r, const dpt_model *m, dpt_reduce_mode mode, MPI_Comm comm,
                     int capacity, dpt_err *err) {
    memset(r, 0, sizeof *r);
    r->model = m;
    r->mode = mode;
    r->comm = comm;
    r->capacity = capacity;
    r->micro_grads = calloc((size_t)capacity, sizeof *r->micro_grads);
    r->micro_loss = calloc((size_t)capacity, sizeof *r->micro_loss);
    r->micro_correct = calloc((size_t)capacity, sizeof *r->micro_correct);
    r->maxabs = calloc((size_t)m->nparams_tensors + 1, sizeof *r->maxabs);
    r->micro_maxabs = calloc((size_t)capacity * (m->nparams_tensors + 1), sizeof *r->micro_maxabs);
    r->sum = calloc(m->nparams + 2, sizeof *r->sum);
    int ok = r->micro_grads && r->micro_loss && r->micro_correct && r->maxabs && r->micro_maxabs &&
             r->sum;
    ok = ok && make_spans(r) == 0;
    for (int i = 0; ok && i < capacity; i++)
        ok = (r->micro_grads[i] = malloc(sizeof(float) * (m->nparams ? m->nparams : 1))) != NULL;
    if (!ok) {
        dpt_reducer_free(r);
        return dpt_fail(err, "out of memory for %d micro-batch gradient buffers", capacity);
    }
    return 0;
}

void dpt_reducer_free(dpt_reducer *r) {
    for (int i = 0; r->micro_grads && i < r->capacity; i++) free(r->micro_grads[i]);
    free(r->micro_grads);
    free(r->micro_loss);
    free(r->micro_correct);
    free(r->maxabs);
    free(r->micro_maxabs);
    free(r->spans);
    free(r->sum);
    memset(r, 0, sizeof *r);
}

static int ceil_log2(long x) {
    int e = 0;
    while ((1L << e) < x) e++;
    return e;
}

/* e such that values up to the magnitude with float bits `bits`, times 2^e, fit in `headroom`
   bits. */
static int scale_exponent(uint32_t bits, int headroom) {
    if (bits == 0) return 0;
    float maxabs;
    memcpy(&maxabs, &bits, sizeof maxabs);
    int e;
    frexpf(maxabs, &e); /* maxabs < 2^e */
    return headroom - e;
}

/* The hot loops, compiled twice on x86-64: for any CPU and for AVX-512 (chosen at run time).
   Every operation in them is exact (magnitude bits, power-of-two scaling, integer sums) or
   correctly rounded (int64 to double, double to float), so both give the same bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HOT_LOOP __attribute__((target_clones("default", "arch=x86-64-v4")))
#else
#define HOT_LOOP
#endif

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

HOT_LOOP static void dequantize(float *restrict g, const int64_t *restrict sum, size_t n,
                                double factor) {
    for (size_t i = 0; i < n; i++) g[i] = (float)((double)sum[i] * factor);
}

/* The plain path: float sums in micro-batch order, then MPI_SUM over floats, whose result
   depends on how the micro-batches were dealt to ranks. */
static int float_mean(dpt_reducer *r, int local, int batch, float *grads, dpt_step_totals *totals,
                      dpt_err *err) {
    const size_t n = r->model->nparams;
    double counters[2] = {0, 0};
#pragma omp parallel for schedule(dynamic)
    for (int s = 0; s < r->nspans; s++) {
        const dpt_span *span = &r->spans[s];
        float *g = grads + span->offset;
        for (size_t i = 0; i < span->count; i++) g[i] = 0;
        for (int j = 0; j < local; j++) {
            const float *src = r->micro_grads[j] + span->offset;
            for (size_t i = 0; i < span->count; i++) g[i] += src[i];
        }
    }
    for (int j = 0; j < local; j++) {
        counters[0] += r->micro_loss[j];
        counters[1] += (double)r->micro_correct[j];
    }
    if (MPI_Allreduce(MPI_IN_PLACE, grads, (int)n, MPI_FLOAT, MPI_SUM, r->comm) != MPI_SUCCESS ||
        MPI_Allreduce(MPI_IN_PLACE, counters, 2, MPI_DOUBLE, MPI_SUM, r->comm) != MPI_SUCCESS)
        return dpt_fail(err, "MPI_Allreduce of the gradients failed");
    const float inv = 1.0f / (float)batch;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) grads[i] *= inv;
    totals->loss = counters[0];
    totals->correct = (long)counters[1];
    return 0;
}

void dpt_reducer_scan(dpt_reducer *r, int j) {
    const dpt_model *m = r->model;
    const int T = m->nparams_tensors;
    uint32_t *most = r->micro_maxabs + (size_t)j * (T + 1);
    for (int t = 0; t < T; t++)
        most[t] = max_magnitude_bits(r->micro_grads[j] + m->params[t].offset, m->params[t].count);
    most[T] = !isfinite(r->micro_loss[j]);
}

int dpt_reducer_mean(dpt_reducer *r, int local, int M, int batch, float *grads,
                     dpt_step_totals *totals, dpt_err *err) {
    const dpt_model *m = r->model;
    const int T = m->nparams_tensors;
    for (int t = 0; t <= T; t++) {
        uint32_t most = 0;
        for (int j = 0; j < local; j++) {
            uint32_t bits = r->micro_maxabs[(size_t)j * (T + 1) + t];
            most = bits > most ? bits : most;
        }
        r->maxabs[t] = most;
    }
    if (MPI_Allreduce(MPI_IN_PLACE, r->maxabs, T + 1, MPI_UINT32_T, MPI_MAX, r->comm) !=
        MPI_SUCCESS)
        return dpt_fail(err, "MPI_Allreduce of the gradient scales failed");
    totals->finite = r->maxabs[T] == 0;
    for (int t = 0; t < T; t++)
        if (r->maxabs[t] >= FLOAT_INFINITY_BITS) totals->finite = 0;
    if (!totals->finite) return 0;
    if (r->mode == DPT_REDUCE_FLOAT) return float_mean(r, local, batch, grads, totals, err);
    const int headroom = 62 - ceil_log2(M);
#pragma omp parallel for schedule(dynamic)
    for (int s = 0; s < r->nspans; s++) {
        const dpt_span *span = &r->spans[s];
        const double scale = ldexp(1.0, scale_exponent(r->maxabs[span->tensor], headroom));
        int64_t *sum = r->sum + span->offset;
        if (local == 0) memset(sum, 0, sizeof *sum * span->count);
        for (int j = 0; j < local; j++)
            quantize_add(sum, r->micro_grads[j] + span->offset, span->count, scale, j == 0);
    }
    int64_t loss = 0, correct = 0;
    for (int j = 0; j < local; j++) {
        loss += (int64_t)(r->micro_loss[j] * LOSS_SCALE);
        correct += r->micro_correct[j];
    }
    r->sum[m->nparams] = loss;
    r->sum[m->nparams + 1] = correct;
    if (MPI_Allreduce(MPI_IN_PLACE, r->sum, (int)m->nparams + 2, MPI_INT64_T, MPI_SUM, r->comm) !=
        MPI_SUCCESS)
        return dpt_fail(err, "MPI_Allreduce of the gradients failed");
#pragma omp parallel for schedule(dynamic)
    for (int s = 0; s < r->nspans; s++) {
        const dpt_span *span = &r->spans[s];
        const double factor =
            ldexp(1.0, -scale_exponent(r->maxabs[span->tensor], headroom)) / batch;
        dequantize(grads + span->offset, r->sum + span->offset, span->count, factor);
    }
    totals->loss = (double)r->sum[m->nparams] / LOSS_SCALE;
    totals->correct = (long)r->sum[m->nparams + 1];
    return 0;
}

int dpt_dist_any_failed(MPI_Comm comm, int failed, int *report) {
    int rank, size, first;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    int mine = failed ? rank : size;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    *report = failed && first == rank;
    return first < size;
}

int dpt_dist_same_everywhere(MPI_Comm comm, const uint64_t *values, const char *const *what,
                             int n, dpt_err *err) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    uint64_t root[8];
    if (n > 8) n = 8;
    memcpy(root, values, sizeof *values * (size_t)n);
    MPI_Bcast(root, n, MPI_UINT64_T, 0, comm);
    int differs = -1;
    for (int i = 0; i < n && differs < 0; i++)
        if (root[i] != values[i]) differs = i;
    int report;
    if (!dpt_dist_any_failed(comm, differs >= 0, &report)) return 0;
    if (report)
        return dpt_fail(err, "rank %d: its %s differs from rank 0's; every rank must run the same "
                             "build with the same options and data",
                        rank, what[differs]);
    err->msg[0] = 0;
    return -1;
}

int dpt_dist_groups(MPI_Comm world, int ranks_per_group, MPI_Comm *group, int *index, int *count,
                    dpt_err *err) {
    int rank, size;
    MPI_Comm_rank(world, &rank);
    MPI_Comm_size(world, &size);
    if (ranks_per_group < 1 || size % ranks_per_group != 0)
        return dpt_fail(err, "--ranks-per-seed %d does not divide the %d ranks", ranks_per_group,
                        size);
    *index = rank / ranks_per_group;
    *count = size / ranks_per_group;
    if (MPI_Comm_split(world, *index, rank, group) != MPI_SUCCESS)
        return dpt_fail(err, "MPI_Comm_split into seed groups failed");
    return 0;
}

void dpt_dist_layout(MPI_Comm world, dpt_layout *layout) {
    MPI_Comm node;
    int node_rank = 0;
    layout->ranks_on_node = 1;
    MPI_Comm_size(world, &layout->ranks);
    if (MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &layout->ranks_on_node);
        MPI_Comm_rank(node, &node_rank);
        MPI_Comm_free(&node);
    }
    int leader = node_rank == 0;
    MPI_Allreduce(&leader, &layout->nodes, 1, MPI_INT, MPI_SUM, world);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) < cores)
        cores = CPU_COUNT(&set);
    long t = cores / layout->ranks_on_node;
    layout->default_threads = t < 1 ? 1 : (int)t;
}
