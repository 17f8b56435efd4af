/* Every layer kind's backward against central finite differences of its forward, and the
   softmax cross-entropy gradient likewise. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dptrain/loss.h"
#include "dptrain/model.h"

#define STEP 1e-2

typedef struct gradcheck_case {
    const char *spec;
    dpt_shape in;
    int n;
} gradcheck_case;

/* L = sum(R * layer(x)), accumulated in double. */
static double objective(const dpt_layer *l, const float *params, const float *x, float *out,
                        const float *R, float *scratch, int n) {
    l->kind->forward(l, params, x, out, scratch, n);
    double L = 0;
    for (size_t i = 0, N = (size_t)n * dpt_shape_size(l->out); i < N; i++)
        L += (double)R[i] * out[i];
    return L;
}

static void fill_uniform(dpt_rng *rng, float *a, size_t n, double lo, double hi) {
    for (size_t i = 0; i < n; i++) a[i] = (float)(lo + (hi - lo) * dpt_rng_uniform(rng));
}

/* Inputs spaced well apart from each other and from zero, so that no finite-difference step
   crosses a ReLU kink or changes which element a max-pool window picks. */
static void fill_separated(dpt_rng *rng, float *a, size_t n) {
    uint32_t *perm = malloc(n * sizeof *perm);
    for (uint32_t i = 0; i < n; i++) perm[i] = i;
    dpt_rng_shuffle(rng, perm, n);
    for (size_t i = 0; i < n; i++) {
        double v = 0.1 + 0.05 * perm[i];
        a[i] = (float)((i % 2 ? -v : v) / (0.05 * n));
    }
    free(perm);
}

static int close_enough(double analytic, double numeric) {
    return fabs(analytic - numeric) <= 2e-3 + 1e-2 * fmax(fabs(analytic), fabs(numeric));
}

/* Checks d objective / d v[i] for every i against backward's answer g[i]. */
static void check_against_fd(const char *what, const char *spec, float *v, size_t count,
                             const float *g, const dpt_layer *l, const float *params,
                             const float *x, float *out, const float *R, float *scratch, int n) {
    for (size_t i = 0; i < count; i++) {
        float saved = v[i];
        v[i] = (float)(saved + STEP);
        double plus = objective(l, params, x, out, R, scratch, n);
        v[i] = (float)(saved - STEP);
        double minus = objective(l, params, x, out, R, scratch, n);
        v[i] = saved;
        double numeric = (plus - minus) / (2 * STEP);
        if (!close_enough(g[i], numeric))
            fail_msg("%s: d/d%s[%zu]: backward %.6f, finite difference %.6f", spec, what, i,
                     (double)g[i], numeric);
    }
}

static void gradcheck(const gradcheck_case *c) {
    dpt_model m;
    dpt_err err;
    assert_int_equal(dpt_model_build(c->spec, c->in, 0, &m, &err), 0);
    assert_int_equal(m.nlayers, 1);
    const dpt_layer *l = &m.layers[0];
    const size_t nin = (size_t)c->n * dpt_shape_size(l->in);
    const size_t nout = (size_t)c->n * dpt_shape_size(l->out);
    const size_t nscratch = l->kind->scratch ? l->kind->scratch(l, c->n) : 1;
    float *params = malloc(sizeof(float) * (m.nparams + 1));
    float *grads = malloc(sizeof(float) * (m.nparams + 1));
    float *x = malloc(sizeof(float) * nin), *din = malloc(sizeof(float) * nin);
    float *out = malloc(sizeof(float) * nout), *R = malloc(sizeof(float) * nout);
    float *scratch = malloc(sizeof(float) * nscratch);
    dpt_rng rng = dpt_rng_stream(42, DPT_STREAM_INIT, 0);
    fill_uniform(&rng, params, m.nparams, -0.5, 0.5);
    fill_separated(&rng, x, nin);
    fill_uniform(&rng, R, nout, -1, 1);
    l->kind->forward(l, params, x, out, scratch, c->n);
    /* Poison the outputs of backward so an entry it forgets to write cannot pass. */
    for (size_t i = 0; i < nin; i++) din[i] = NAN;
    for (size_t i = 0; i < m.nparams; i++) grads[i] = NAN;
    l->kind->backward(l, params, grads, x, out, R, din, scratch, c->n);
    check_against_fd("input", c->spec, x, nin, din, l, params, x, out, R, scratch, c->n);
    check_against_fd("param", c->spec, params, m.nparams, grads, l, params, x, out, R, scratch,
                     c->n);
    free(params), free(grads), free(x), free(din), free(out), free(R), free(scratch);
    dpt_model_free(&m);
}

static const gradcheck_case cases[] = {
    {"linear(7)", {3, 1, 1}, 4},
    {"linear(5)", {2, 3, 3}, 3}, /* flattens a 3-D input */
    {"conv(3,3)", {2, 6, 6}, 2},
    {"conv(4,3,pad=1)", {1, 5, 5}, 3},
    {"conv(3,3,stride=2,pad=1)", {2, 7, 7}, 2},
    {"conv(2,5,stride=1,pad=2)", {3, 6, 6}, 2},
    {"conv(3,2,stride=3)", {2, 8, 7}, 2},
    {"conv(2,1)", {3, 4, 4}, 2},
    {"maxpool(2)", {2, 6, 6}, 2},
    {"maxpool(2)", {1, 7, 5}, 2}, /* floor mode drops the last row and column */
    {"maxpool(3,stride=2)", {2, 7, 7}, 2},
    {"maxpool(2,stride=1)", {1, 5, 5}, 3},
    {"relu", {2, 3, 3}, 3},
    {"sigmoid", {2, 3, 3}, 3},
    {"tanh", {2, 3, 3}, 3},
    {"flatten", {2, 3, 3}, 2},
};

static void test_layer_case(void **state) {
    gradcheck(*state);
}

static void test_softmax_xent_gradient(void **state) {
    (void)state;
    enum { N = 4, C = 10 };
    float z[N * C], d[N * C];
    int labels[N] = {0, 3, 9, 5};
    dpt_rng rng = dpt_rng_stream(7, DPT_STREAM_INIT, 0);
    fill_uniform(&rng, z, N * C, -3, 3);
    long correct = 0;
    dpt_softmax_xent(z, labels, N, C, d, &correct);
    for (int i = 0; i < N * C; i++) {
        float saved = z[i];
        z[i] = (float)(saved + STEP);
        double plus = dpt_softmax_xent(z, labels, N, C, NULL, &correct);
        z[i] = (float)(saved - STEP);
        double minus = dpt_softmax_xent(z, labels, N, C, NULL, &correct);
        z[i] = saved;
        double numeric = (plus - minus) / (2 * STEP);
        if (!close_enough(d[i], numeric))
            fail_msg("softmax-xent d/dz[%d]: %.6f vs finite difference %.6f", i, (double)d[i],
                     numeric);
    }
}

static void test_softmax_xent_is_stable(void **state) {
    (void)state;
    float z[10] = {1000, -1000, 0, 0, 0, 0, 0, 0, 0, 0};
    int right = 0, wrong = 1;
    long correct = 0;
    float d[10];
    double loss = dpt_softmax_xent(z, &right, 1, 10, d, &correct);
    assert_true(loss >= 0 && loss < 1e-6);
    assert_int_equal(correct, 1);
    loss = dpt_softmax_xent(z, &wrong, 1, 10, d, &correct);
    assert_true(fabs(loss - 2000) < 1e-6);
    assert_true(isfinite(d[0]) && fabs(d[1] + 1) < 1e-6);
}

int main(void) {
    enum { NCASES = sizeof cases / sizeof cases[0] };
    struct CMUnitTest tests[NCASES + 2];
    static char names[NCASES][64];
    for (int i = 0; i < NCASES; i++) {
        snprintf(names[i], sizeof names[i], "gradcheck %s on %dx%dx%d", cases[i].spec,
                 cases[i].in.c, cases[i].in.h, cases[i].in.w);
        tests[i] = (struct CMUnitTest){names[i], test_layer_case, NULL, NULL, (void *)&cases[i]};
    }
    tests[NCASES] = (struct CMUnitTest)cmocka_unit_test(test_softmax_xent_gradient);
    tests[NCASES + 1] = (struct CMUnitTest)cmocka_unit_test(test_softmax_xent_is_stable);
    return cmocka_run_group_tests_name("layers", tests, NULL, NULL);
}
