/* One layer alone (a convolution or a Linear), by both of dptrain's paths: its own kernels and
   OpenBLAS's sgemm (DPTRAIN_OWN_KERNELS=0: im2col + sgemm for a convolution), forward and backward
   over 32 samples, the best of 7 runs of 5.

     cc -O2 -std=c17 -Iinclude scripts/bench/layer_alone.c build/libdptrain_core.a \
        $(sed 's/.*libdptrain_core.a//' build/CMakeFiles/dptrain.dir/link.txt) -o /tmp/layer_alone
     OPENBLAS_NUM_THREADS=1 /tmp/layer_alone 'conv(16,3,pad=1)' 32 64 64
     OPENBLAS_NUM_THREADS=1 /tmp/layer_alone 'linear(300)' 1 28 28 no-input-grad

   The layer is the spec's last, on a C x H x W input; no-input-grad leaves the input gradient out,
   as for a model's first layer. Where the CPU lacks AVX-512 both lines time OpenBLAS's path. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dptrain/layer.h"
#include "dptrain/model.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float *filled(size_t n, int period) {
    float *a = malloc(sizeof(float) * n);
    if (!a) exit(1);
    for (size_t i = 0; i < n; i++) a[i] = 0.1f * (float)(i % (size_t)period) - 0.3f;
    return a;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: layer_alone SPEC C H W [no-input-grad]\n");
        return 2;
    }
    const dpt_shape shape = {atoi(argv[2]), atoi(argv[3]), atoi(argv[4])};
    dpt_model m;
    dpt_err err;
    if (dpt_model_build(argv[1], shape, 0, &m, &err)) {
        fprintf(stderr, "layer_alone: %s\n", err.msg);
        return 1;
    }
    const dpt_layer *l = &m.layers[m.nlayers - 1];
    enum { N = 32 };
    const size_t nin = N * dpt_shape_size(l->in[0]), nout = N * dpt_shape_size(l->out);
    float *x = filled(nin, 7), *dx = filled(nin, 3), *out = filled(nout, 3),
          *dout = filled(nout, 5);
    float *params = filled(l->nparams, 3), *grads = filled(l->nparams, 3);
    const float *inputs[1] = {x};
    float *dinputs[1] = {argc > 5 && strcmp(argv[5], "no-input-grad") == 0 ? NULL : dx};
    const dpt_pass pass = {0};
    for (int own = 0; own < 2; own++) {
        setenv("DPTRAIN_OWN_KERNELS", own ? "1" : "0", 1);
        float *scratch = filled((l->kind->scratch ? l->kind->scratch(l, N) : 0) + 1, 3);
        double best = 1e30;
        for (int r = 0; r < 7; r++) {
            const double start = now();
            for (int k = 0; k < 5; k++) {
                l->kind->forward(l, &pass, params, inputs, out, scratch, N);
                l->kind->backward(l, &pass, params, grads, inputs, out, dout, dinputs, scratch, N);
            }
            const double seconds = (now() - start) / 5;
            if (seconds < best) best = seconds;
        }
        printf("%s on %dx%dx%d, %s: %.3f ms for %d samples, %.1f GFLOP/s (3 x forward)\n", argv[1],
               shape.c, shape.h, shape.w, own ? "own kernels" : "sgemm", best * 1e3, N,
               3 * dpt_layer_flops(l) * N / best / 1e9);
        free(scratch);
    }
    free(x), free(dx), free(out), free(dout), free(params), free(grads);
    dpt_model_free(&m);
    return 0;
}
