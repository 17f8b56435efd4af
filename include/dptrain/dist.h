/* Exact, rank-count-invariant gradient reduction.

   Each micro-batch's gradient sum is computed in float32 the same way wherever it runs. To add
   them up independently of how they are dealt to ranks and threads, every value is converted to
   fixed point with a per-tensor power-of-two scale and summed as int64, whose addition is
   associative: MPI_SUM over int64 gives the same bits for any rank count.

   The scale of tensor t is 2^e_t with e_t = 62 - ceil(log2(A_t)) - ceil(log2(M)), where A_t is
   the largest magnitude of tensor t in any micro-batch gradient (an exact MPI_MAX) and M the
   micro-batch count of the step, so no partial sum can overflow. Truncating each value to a
   multiple of 2^-e_t errs by less than 2^-e_t <= A_t * M * 2^-61; over M micro-batches the sum
   errs by less than A_t * M^2 * 2^-61, below float32's resolution of A_t (2^-24) for any
   M <= 2^18. */
#ifndef DPTRAIN_DIST_H
#define DPTRAIN_DIST_H

#include <mpi.h>
#include <stdint.h>

#include "dptrain/error.h"
#include "dptrain/model.h"

typedef enum dpt_reduce_mode {
    DPT_REDUCE_EXACT, /* fixed point, as above: the same bits at any rank count */
    DPT_REDUCE_FLOAT  /* float32 sums and MPI_SUM over floats, for comparison */
} dpt_reduce_mode;

/* A run of values of one parameter tensor: the unit of work of the reduction's loops. */
typedef struct dpt_span {
    int tensor;
    size_t offset, count;
} dpt_span;

typedef struct dpt_reducer {
    const dpt_model *model;
    dpt_reduce_mode mode;
    MPI_Comm comm;
    int capacity;        /* micro-batch gradient buffers this rank holds */
    float **micro_grads; /* capacity buffers of model->nparams floats */
    double *micro_loss;  /* summed loss of each micro-batch */
    long *micro_correct; /* correct predictions of each micro-batch */
    uint32_t *maxabs;       /* per tensor, the float bits of the largest magnitude; a last
                               slot is set when a loss is not finite */
    uint32_t *micro_maxabs; /* the same for each micro-batch buffer, from dpt_reducer_scan */
    dpt_span *spans;
    int nspans;
    int64_t *sum;        /* nparams fixed-point sums, then the loss and correct counters */
} dpt_reducer;

int dpt_reducer_init(dpt_reducer *r, const dpt_model *m, dpt_reduce_mode mode, MPI_Comm comm,
                     int capacity, dpt_err *err);
void dpt_reducer_free(dpt_reducer *r);

/* The step's totals after dpt_reducer_mean. */
typedef struct dpt_step_totals {
    double loss;  /* summed over the batch */
    long correct; /* over the batch */
    int finite;   /* 0 if any loss or gradient value was NaN or infinite */
} dpt_step_totals;

/* Records the per-tensor magnitudes of micro-batch buffer j (and whether any value or its loss
   is NaN or infinite); called by the thread that computed it, while it is still in cache. */
void dpt_reducer_scan(dpt_reducer *r, int j);

/* Combines the `local` micro-batch buffers of this rank with those of every other rank of the
   communicator (M micro-batches in all) into grads = (sum of all) / batch. Collective. */
int dpt_reducer_mean(dpt_reducer *r, int local, int M, int batch, float *grads,
                     dpt_step_totals *totals, dpt_err *err);

/* Collective: whether any rank of comm failed. When one did, *report is set on exactly one rank
   that failed (the lowest), which alone prints its message, so an error shows once. */
int dpt_dist_any_failed(MPI_Comm comm, int failed, int *report);

/* Collective: rank 0's value of each check against this rank's; fills err naming the first
   check on which this rank differs ("rank 2: its training data differs from rank 0's"). Returns
   -1 on every rank when any rank differs (err empty on all but the reporting rank). */
int dpt_dist_same_everywhere(MPI_Comm comm, const uint64_t *values, const char *const *what,
                             int n, dpt_err *err);

/* Where the ranks run: how many, on how many nodes, and the threads per rank that share each
   node's cores evenly among its ranks (within the cores this process may use). Collective. */
typedef struct dpt_layout {
    int ranks, nodes, ranks_on_node, default_threads;
} dpt_layout;

void dpt_dist_layout(MPI_Comm world, dpt_layout *layout);

/* Splits world into groups of ranks_per_group consecutive ranks. */
int dpt_dist_groups(MPI_Comm world, int ranks_per_group, MPI_Comm *group, int *index,
                    int *count, dpt_err *err);

#endif
