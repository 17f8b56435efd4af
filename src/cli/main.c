/* dptrain: the command-line entry point. */
#include <cblas.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "dptrain/signals.h"

static const char usage[] =
    "usage: dptrain COMMAND [options]\n"
    "\n"
    "Data-parallel training of small image classifiers on MNIST-like data, bit-identical at\n"
    "any rank count. Run under `mpirun -np N` (or `srun`) for N ranks.\n"
    "\n"
    "Commands:\n"
    "  train   train a model (dptrain train --help)\n"
    "  info    print a model's layers and parameter counts (dptrain info --help)\n"
    "  eval    a checkpoint's loss, accuracy and confusion matrix (dptrain eval --help)\n"
    "  predict classify PNG images with a checkpoint (dptrain predict --help)\n"
    "  runs    list an experiment file's runs and their arguments (dptrain runs --help)\n"
    "  data    describe a dataset or convert it to one HDF5 file (dptrain data --help)\n"
    "\n"
    "dptrain --version prints the version and the OpenBLAS build and kernel in use (the\n"
    "kernel decides the last bits of every product, so bit-identical results are promised\n"
    "for the same kernel).\n";

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("dptrain %s\n%s (kernel %s)\n", DPTRAIN_VERSION, openblas_get_config(),
               openblas_get_corename());
        return 0;
    }
    if (strcmp(argv[1], "info") == 0) return dpt_cmd_info(argc - 1, argv + 1);
    if (strcmp(argv[1], "eval") == 0) return dpt_cmd_eval(argc - 1, argv + 1);
    if (strcmp(argv[1], "runs") == 0) return dpt_cmd_runs(argc - 1, argv + 1);
    if (strcmp(argv[1], "predict") == 0) return dpt_cmd_predict(argc - 1, argv + 1);
    if (strcmp(argv[1], "data") == 0) return dpt_cmd_data(argc - 1, argv + 1);
    if (strcmp(argv[1], "train") != 0) {
        fprintf(stderr, "dptrain: unknown command '%s'; see dptrain --help\n", argv[1]);
        return 2;
    }
    dpt_signals_install();
    /* Logs are read while the run goes on (tail -f, SLURM output files): a line at a time. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Threads compute; only the main thread calls MPI (reducer.h). */
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    if (provided < MPI_THREAD_FUNNELED) {
        fprintf(stderr, "dptrain: this MPI library does not support MPI_THREAD_FUNNELED\n");
        MPI_Finalize();
        return 1;
    }
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank != 0) dpt_signals_quiet();
    /* Every rank learns of any rank's failure (dpt_dist_any_failed), so all return together. */
    int rc = dpt_cmd_train(argc - 1, argv + 1);
    MPI_Finalize();
    return rc;
}
