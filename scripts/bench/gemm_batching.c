/* Whether convolution GEMMs would gain from batching samples, for the README's performance notes:
   for each shape (M output channels, K = in_channels*k*k, P output pixels) it times S products
   (M x K) . (K x P), one per sample, against one (M x K) . (K x S*P) product (the best of 5, one
   thread; the S unfolded inputs are as large as a micro-batch's, tens of MB, so they come from
   memory as in training), and counts the output rows whose bits differ between the two ways.

     cc -O2 -I/usr/include/x86_64-linux-gnu/openblas-pthread gemm_batching.c -o gemm_batching \
        -lopenblas && OPENBLAS_NUM_THREADS=1 ./gemm_batching */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void product(int M, int N, int K, const float *a, const float *b, float *c) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
}

static void shape(const char *name, int M, int K, int P, int S) {
    const size_t per_b = (size_t)K * P, per_c = (size_t)M * P;
    float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * per_b * S);
    float *ball = malloc(sizeof(float) * per_b * S), *c1 = malloc(sizeof(float) * per_c * S);
    float *call = malloc(sizeof(float) * per_c * S);
    if (!a || !b || !ball || !c1 || !call) {
        fprintf(stderr, "gemm_batching: out of memory\n");
        exit(1);
    }
    srand(1);
    for (int i = 0; i < M * K; i++) a[i] = (float)rand() / RAND_MAX - 0.5f;
    for (size_t i = 0; i < per_b * S; i++) b[i] = (float)rand() / RAND_MAX - 0.5f;
    /* Sample s's K x P columns side by side: ball is K x (S*P). */
    for (int s = 0; s < S; s++)
        for (int k = 0; k < K; k++)
            memcpy(ball + (size_t)k * S * P + (size_t)s * P, b + s * per_b + (size_t)k * P,
                   sizeof(float) * P);
    double each = 1e9, batched = 1e9;
    for (int r = 0; r < 5; r++) {
        double t = now();
        for (int s = 0; s < S; s++) product(M, P, K, a, b + s * per_b, c1 + s * per_c);
        if ((t = now() - t) < each) each = t;
        t = now();
        product(M, S * P, K, a, ball, call);
        if ((t = now() - t) < batched) batched = t;
    }
    long differ = 0;
    for (int s = 0; s < S; s++)
        for (int m = 0; m < M; m++)
            differ += memcmp(c1 + s * per_c + (size_t)m * P, call + (size_t)m * S * P + s * P,
                             sizeof(float) * P) != 0;
    const double flops = 2.0 * M * K * P * S;
    printf("%-28s %4d x %5d x %4d, %d samples: one per sample %6.1f GFLOP/s, batched %6.1f; "
           "%ld of %d output rows differ in bits\n",
           name, M, K, P, S, flops / each / 1e9, flops / batched / 1e9, differ, M * S);
    free(a), free(b), free(ball), free(c1), free(call);
}

int main(void) {
    shape("cnn002-bn conv2 (5x5, 64->32)", 32, 1600, 400, 32);
    shape("cnn50-100 conv2 (5x5, 50->100)", 100, 1250, 196, 32);
    shape("cnn002 conv1 (5x5, 1->64)", 64, 25, 576, 32);
    shape("cnn8-16-32 conv2 (3x3, 8->16)", 16, 72, 196, 32);
    return 0;
}
