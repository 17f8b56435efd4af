/* The exact fixed-point reduction: the same bits whatever order the micro-batch vectors
   (BatchNorm statistics, then gradients) come in, within the documented bound of the exact sum,
   statistics divided by the batch size and gradients by their own divisor, and NaN detection. */
#include <math.h>
#include <mpi.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dptrain/reducer.h"

enum { MICRO = 12, BATCH = 12 * 32 };
/* As with class weights: the gradients' divisor differs from the batch size. */
static const double GRAD_DIVISOR = 0.75 * BATCH;

static dpt_model model;
static dpt_reducer reducer;

static int setup(void **state) {
    (void)state;
    dpt_err err;
    if (dpt_model_build("conv(4,3) batchnorm relu linear(10)", (dpt_shape){1, 5, 5}, 10, &model,
                        &err))
        return -1;
    return dpt_reducer_init(&reducer, &model, DPT_REDUCE_EXACT, MICRO, 0, &err) ||
           dpt_reducer_connect(&reducer, MPI_COMM_SELF, &err);
}

static int teardown(void **state) {
    (void)state;
    dpt_reducer_free(&reducer);
    dpt_model_free(&model);
    return 0;
}

/* Gradients of magnitudes 10^lowest to 10^(lowest + 12). */
static void fill_from(float **g, double lowest) {
    dpt_rng rng = dpt_rng_stream(3, DPT_STREAM_INIT, 0);
    for (int j = 0; j < MICRO; j++) {
        for (size_t i = 0; i < reducer.length; i++) {
            double mag = pow(10, lowest + 12 * dpt_rng_uniform(&rng));
            g[j][i] = (float)((dpt_rng_uniform(&rng) - 0.5) * mag);
        }
        reducer.micro_sums[j] =
            (dpt_loss_sums){.loss = 10 * dpt_rng_uniform(&rng), .correct = j, .top5 = 2 * j};
    }
}

/* Gradients spanning twelve orders of magnitude, like a real network's layers. */
static void fill(float **g) {
    fill_from(g, -9);
}

/* The sink: copies each run into the gradient part of `out`, counting the values. */
typedef struct copy_sink {
    float *out;
    _Atomic size_t delivered;
} copy_sink;

static void copy_run(void *ctx, size_t offset, const float *grads, size_t count) {
    copy_sink *c = ctx;
    memcpy(c->out + model.nstats + offset, grads, sizeof(float) * count);
    c->delivered += count;
}

/* One step's reduction of the MICRO buffers as they stand, every layer marked done, into out
   (statistics, then gradients: every value once when the totals are finite, none otherwise). */
static void reduce(float *out, dpt_step_totals *tot) {
    dpt_err err;
    dpt_reducer_begin(&reducer, MICRO, MICRO);
    for (int j = 0; j < MICRO; j++)
        for (int l = model.nlayers - 1; l >= 0; l--) dpt_reducer_layer_done(&reducer, j, l);
    assert_true(dpt_reducer_computed(&reducer));
    copy_sink sink = {.out = out};
    assert_int_equal(
        dpt_reducer_finish(&reducer, BATCH, GRAD_DIVISOR, out, copy_run, &sink, tot, &err), 0);
    assert_int_equal(sink.delivered, tot->finite ? model.nparams : 0);
}

static void test_order_does_not_change_a_bit(void **state) {
    (void)state;
    fill(reducer.micro_grads);
    assert_true(model.nstats > 0);
    float *a = malloc(sizeof(float) * reducer.length), *b = malloc(sizeof(float) * reducer.length);
    dpt_step_totals ta, tb;
    reduce(a, &ta);
    for (int j = 0; j < MICRO / 2; j++) { /* reverse the buffers */
        float *t = reducer.micro_grads[j];
        reducer.micro_grads[j] = reducer.micro_grads[MICRO - 1 - j];
        reducer.micro_grads[MICRO - 1 - j] = t;
        dpt_loss_sums l = reducer.micro_sums[j];
        reducer.micro_sums[j] = reducer.micro_sums[MICRO - 1 - j];
        reducer.micro_sums[MICRO - 1 - j] = l;
    }

    reduce(b, &tb);
    assert_memory_equal(a, b, sizeof(float) * reducer.length);
    /* A rank alone quantizes each span as it delivers it; through MPI_SUM (here over one rank)
       the sums are quantized before, into sums a rank alone does not hold: the same bits. */
    assert_true(reducer.alone);
    assert_null(reducer.sum);
    reducer.alone = 0;
    assert_non_null(reducer.sum = malloc(sizeof *reducer.sum * reducer.length));
    reduce(b, &tb);
    free(reducer.sum);
    reducer.sum = NULL;
    reducer.alone = 1;
    assert_memory_equal(a, b, sizeof(float) * reducer.length);
    assert_memory_equal(&ta.loss, &tb.loss, sizeof ta.loss);
    assert_int_equal(ta.correct, MICRO * (MICRO - 1) / 2);
    assert_int_equal(ta.top5, MICRO * (MICRO - 1));
    assert_true(ta.finite);
    free(a), free(b);
}

/* The reduction of the buffers as filled is within the documented bound of the exact mean. */
static void check_bound(void) {
    float *got = malloc(sizeof(float) * reducer.length);
    dpt_step_totals tot;
    reduce(got, &tot);
    for (int t = 0; t < reducer.ntensors; t++) {
        const dpt_span *p = &reducer.tensors[t];
        const double divisor = t < reducer.nstat_tensors ? BATCH : GRAD_DIVISOR;
        double most = 0;
        for (int j = 0; j < MICRO; j++)
            for (size_t i = 0; i < p->count; i++)
                most = fmax(most, fabs(reducer.micro_grads[j][p->offset + i]));
        /* sum error < A * M^2 * 2^-61, then float rounding of the mean */
        const double bound = most * MICRO * MICRO * 0x1p-61 / divisor;
        for (size_t i = 0; i < p->count; i++) {
            double exact = 0;
            for (int j = 0; j < MICRO; j++) exact += reducer.micro_grads[j][p->offset + i];
            exact /= divisor;
            double err = fabs(got[p->offset + i] - exact);
            if (err > bound + fabs(exact) * 0x1p-24)
                fail_msg("tensor %d[%zu]: %.9g vs exact %.9g", t, i, (double)got[p->offset + i],
                         exact);
        }
    }
    free(got);
}

static void test_within_the_documented_bound(void **state) {
    (void)state;
    fill(reducer.micro_grads);
    check_bound();
    /* Scales beyond float's range: largest magnitudes from 1e-27 down to denormals (1e-39), so
       the float factors of a scale above 2^127 are exercised. */
    fill_from(reducer.micro_grads, -39);
    check_bound();
}

static void test_non_finite_values_are_reported(void **state) {
    (void)state;
    fill(reducer.micro_grads);
    float *got = malloc(sizeof(float) * reducer.length);
    dpt_step_totals tot;
    reducer.micro_grads[5][17] = NAN;
    reduce(got, &tot);
    assert_false(tot.finite);
    fill(reducer.micro_grads);
    reducer.micro_sums[2].loss = INFINITY;
    reduce(got, &tot);
    assert_false(tot.finite);
    fill(reducer.micro_grads);
    reducer.micro_grads[3][1] = INFINITY; /* in the statistics segment */
    reduce(got, &tot);
    assert_false(tot.finite);
    free(got);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_does_not_change_a_bit),
        cmocka_unit_test(test_within_the_documented_bound),
        cmocka_unit_test(test_non_finite_values_are_reported),
    };
    int failed = cmocka_run_group_tests_name("reduce", tests, setup, teardown);
    MPI_Finalize();
    return failed;
}
