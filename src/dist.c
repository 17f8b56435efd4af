#define _GNU_SOURCE
#include "dptrain/dist.h"

#include <sched.h>
#include <string.h>
#include <unistd.h>

int dpt_dist_any_failed(MPI_Comm comm, int failed, int *report) {
    int rank, size, first;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    int mine = failed ? rank : size;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    *report = failed && first == rank;
    return first < size;
}

int dpt_dist_same_everywhere(MPI_Comm comm, const uint64_t *values, const char *const *what, int n,
                             dpt_err *err) {
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
        return dpt_fail(err,
                        "rank %d: its %s differs from rank 0's; every rank must run the same "
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
    layout->online_cores = (int)cores;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) < cores)
        cores = CPU_COUNT(&set);
    layout->allowed_cores = (int)cores;
    long t = cores / layout->ranks_on_node;
    layout->default_threads = t < 1 ? 1 : (int)t;
}
