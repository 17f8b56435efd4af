#include "dptrain/dist.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Loss sums travel as fixed point too: 2^32 keeps ~9 decimal places for sums below 2^30. */
#define LOSS_SCALE 0x1.0p32

int dpt_reducer_init(dpt_reducer *r, const dpt_model *m, MPI_Comm comm, int capacity,
                     dpt_err *err) {
    memset(r, 0, sizeof *r);
    r->model = m;
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
    free(r->sum);
    memset(r, 0, sizeof *r);
}

static int ceil_log2(long x) {
    int e = 0;
    while ((1L << e) < x) e++;
    return e;
}

/* e such that values up to maxabs, times 2^e, fit in `headroom` bits. */
static int scale_exponent(float maxabs, int headroom) {
    if (maxabs == 0) return 0;
    int e;
    frexpf(maxabs, &e); /* maxabs < 2^e */
    return headroom - e;
}

void dpt_reducer_scan(dpt_reducer *r, int j) {
    const dpt_model *m = r->model;
    const int T = m->nparams_tensors;
    float *most = r->micro_maxabs + (size_t)j * (T + 1);
    int nonfinite = !isfinite(r->micro_loss[j]);
    for (int t = 0; t < T; t++) {
        const float *g = r->micro_grads[j] + m->params[t].offset;
        float a = 0;
        for (size_t i = 0; i < m->params[t].count; i++) {
            float v = fabsf(g[i]);
            a = v > a ? v : a;
            nonfinite |= !(v <= FLT_MAX); /* NaN or infinite */
        }
        most[t] = a;
    }
    most[T] = nonfinite;
}

int dpt_reducer_mean(dpt_reducer *r, int local, int M, int batch, float *grads,
                     dpt_step_totals *totals, dpt_err *err) {
    const dpt_model *m = r->model;
    const int T = m->nparams_tensors;
    for (int t = 0; t <= T; t++) {
        float most = 0;
        for (int j = 0; j < local; j++)
            most = fmaxf(most, r->micro_maxabs[(size_t)j * (T + 1) + t]);
        r->maxabs[t] = most;
    }
    if (MPI_Allreduce(MPI_IN_PLACE, r->maxabs, T + 1, MPI_FLOAT, MPI_MAX, r->comm) != MPI_SUCCESS)
        return dpt_fail(err, "MPI_Allreduce of the gradient scales failed");
    totals->finite = r->maxabs[T] == 0;
    if (!totals->finite) return 0;
    const int headroom = 62 - ceil_log2(M);
#pragma omp parallel for schedule(dynamic)
    for (int t = 0; t < T; t++) {
        const dpt_param *p = &m->params[t];
        const double scale = ldexp(1.0, scale_exponent(r->maxabs[t], headroom));
        int64_t *sum = r->sum + p->offset;
        for (size_t i = 0; i < p->count; i++) sum[i] = 0;
        for (int j = 0; j < local; j++) {
            const float *g = r->micro_grads[j] + p->offset;
            for (size_t i = 0; i < p->count; i++) sum[i] += (int64_t)(g[i] * scale);
        }
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
    for (int t = 0; t < T; t++) {
        const dpt_param *p = &m->params[t];
        const double factor = ldexp(1.0, -scale_exponent(r->maxabs[t], headroom)) / batch;
        const int64_t *sum = r->sum + p->offset;
        float *g = grads + p->offset;
        for (size_t i = 0; i < p->count; i++) g[i] = (float)((double)sum[i] * factor);
    }
    totals->loss = (double)r->sum[m->nparams] / LOSS_SCALE;
    totals->correct = (long)r->sum[m->nparams + 1];
    return 0;
}
