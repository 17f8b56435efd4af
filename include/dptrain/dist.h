/* MPI beyond the gradient reduction (reducer.h): agreeing on failures and settings, seed groups,
   and the layout of ranks on nodes. */
#ifndef DPTRAIN_DIST_H
#define DPTRAIN_DIST_H

#include <mpi.h>
#include <stdint.h>

#include "dptrain/error.h"

/* Collective: whether any rank of comm failed. When one did, *report is set on exactly one rank
   that failed (the lowest), which alone prints its message, so an error shows once. */
int dpt_dist_any_failed(MPI_Comm comm, int failed, int *report);

/* Collective: rank 0's value of each check against this rank's; fills err naming the first
   check on which this rank differs ("rank 2: its training data differs from rank 0's"). Returns
   -1 on every rank when any rank differs (err empty on all but the reporting rank). */
int dpt_dist_same_everywhere(MPI_Comm comm, const uint64_t *values, const char *const *what, int n,
                             dpt_err *err);

/* Where the ranks run: how many, on how many nodes, the node's cores, those this process may
   use (its affinity mask, e.g. one core when mpirun binds it) and the threads per rank that
   share each node's cores evenly among its ranks (within those it may use). Collective. */
typedef struct dpt_layout {
    int ranks, nodes, ranks_on_node, online_cores, allowed_cores, default_threads;
} dpt_layout;

void dpt_dist_layout(MPI_Comm world, dpt_layout *layout);

/* Splits world into groups of ranks_per_group consecutive ranks. */
int dpt_dist_groups(MPI_Comm world, int ranks_per_group, MPI_Comm *group, int *index, int *count,
                    dpt_err *err);

#endif
