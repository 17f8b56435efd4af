/* The machine's sgemm limit, for scripts/bench/run: the best GFLOP/s of OpenBLAS's
   cblas_sgemm on N x N x N single-precision matrices (2 N^3 FLOPs a product) over REPS timed
   products, after one untimed warm-up, for each thread count given. Prints one JSON object per
   thread count: {"threads": T, "n": N, "reps": REPS, "gflops": G, "median_gflops": M, "cpu_share":
   S}, S being the process's CPU time over wall time x T during the timed products: well below 1
   means other processes took the cores, and the limit measured is too low.

     cc -O2 -I/usr/include/x86_64-linux-gnu/openblas-pthread sgemm_limit.c -o sgemm_limit -lopenblas
     OPENBLAS_NUM_THREADS=2 ./sgemm_limit N REPS THREADS...      e.g. ./sgemm_limit 2048 5 1 2

   OPENBLAS_NUM_THREADS must allow the largest thread count: OpenBLAS sizes its thread pool
   from it at start-up, and openblas_set_num_threads() cannot grow the pool past it. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double clock_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static double now(void) {
    return clock_s(CLOCK_MONOTONIC);
}

static int cmp(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: sgemm_limit N REPS THREADS...\n");
        return 2;
    }
    const int n = atoi(argv[1]), reps = atoi(argv[2]);
    if (n < 1 || n > 16384 || reps < 1 || reps > 1000) {
        fprintf(stderr, "sgemm_limit: N must be 1..16384 and REPS 1..1000\n");
        return 2;
    }
    const size_t nn = (size_t)n * (size_t)n;
    float *a = malloc(nn * sizeof *a), *b = malloc(nn * sizeof *b), *c = malloc(nn * sizeof *c);
    double *gflops = malloc((size_t)reps * sizeof *gflops);
    if (!a || !b || !c || !gflops) {
        fprintf(stderr, "sgemm_limit: out of memory for three %dx%d matrices\n", n, n);
        return 1;
    }
    for (size_t i = 0; i < nn; i++) {
        a[i] = (float)((i * 7 + 3) % 17) / 17.0f - 0.5f;
        b[i] = (float)((i * 5 + 1) % 13) / 13.0f - 0.5f;
    }
    for (int k = 3; k < argc; k++) {
        const int threads = atoi(argv[k]);
        if (threads < 1) {
            fprintf(stderr, "sgemm_limit: bad thread count %s\n", argv[k]);
            return 2;
        }
        openblas_set_num_threads(threads);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c,
                    n);
        const double wall0 = now(), cpu0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        for (int r = 0; r < reps; r++) {
            const double t0 = now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f,
                        c, n);
            gflops[r] = 2.0 * n * (double)n * n / (now() - t0) / 1e9;
        }
        const double cpu_share =
            (clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0) / ((now() - wall0) * threads);
        qsort(gflops, (size_t)reps, sizeof *gflops, cmp);
        printf("{\"threads\": %d, \"n\": %d, \"reps\": %d, \"gflops\": %.2f, "
               "\"median_gflops\": %.2f, \"cpu_share\": %.2f}\n",
               threads, n, reps, gflops[reps - 1], gflops[reps / 2], cpu_share);
        fflush(stdout);
    }
    free(a);
    free(b);
    free(c);
    free(gflops);
    return 0;
}
