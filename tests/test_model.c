/* Model specs, presets, initialization, and the gradient of a whole model with its loss. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dptrain/loss.h"
#include "dptrain/model.h"

static const dpt_shape MNIST = {1, 28, 28};

static size_t params_of(const char *text) {
    dpt_model m;
    dpt_err err;
    if (dpt_model_build(text, MNIST, 10, &m, &err)) fail_msg("%s: %s", text, err.msg);
    size_t n = m.nparams;
    dpt_model_free(&m);
    return n;
}

static void test_presets_match_the_reports(void **state) {
    (void)state;
    assert_int_equal(params_of("cnn2710"), 2710);  /* seed 000, Table 3 */
    assert_int_equal(params_of("mlp300"), 238510); /* seed 000, Table 2 */
    assert_int_equal(params_of("cnn8-16-32"), 80 + 1168 + 4640 + 15690);
    assert_int_equal(params_of("cnn50-100"), 1300 + 125100 + 49010);
    assert_int_equal(params_of("conv(16,3,pad=1) relu maxpool(2) conv(4,3,pad=1) relu maxpool(2) "
                               "flatten linear(10)"),
                     2710);
}

static void test_canonical_spec_round_trips(void **state) {
    (void)state;
    dpt_model a, b;
    dpt_err err;
    assert_int_equal(dpt_model_build("cnn2710", MNIST, 10, &a, &err), 0);
    assert_string_equal(a.spec, "conv(16,3,stride=1,pad=1) relu maxpool(2,stride=2) "
                                "conv(4,3,stride=1,pad=1) relu maxpool(2,stride=2) linear(10)");
    assert_int_equal(dpt_model_build(a.spec, MNIST, 10, &b, &err), 0);
    assert_string_equal(a.spec, b.spec);
    assert_string_equal(a.params[0].name, "conv1/weight");
    assert_string_equal(a.params[3].name, "conv2/bias");
    assert_int_equal(a.params[3].offset, 160 + 576);
    assert_string_equal(a.params[4].name, "linear1/weight");
    dpt_model_free(&a);
    dpt_model_free(&b);
}

static void expect_spec_error(const char *spec, const char *problem) {
    dpt_model m;
    dpt_err err = {{0}};
    assert_int_equal(dpt_model_build(spec, MNIST, 10, &m, &err), -1);
    if (!strstr(err.msg, problem))
        fail_msg("'%s': message '%s' lacks '%s'", spec, err.msg, problem);
}

static void test_spec_errors(void **state) {
    (void)state;
    expect_spec_error("conv(8,3) softplus linear(10)", "layer 2: unknown layer 'softplus'");
    expect_spec_error("conv(8) linear(10)", "layer 1 (conv): missing argument 'kernel'");
    expect_spec_error("conv(8,3,padding=1) linear(10)", "unknown argument 'padding'");
    expect_spec_error("conv(8,x) linear(10)", "expected a number at 'x)");
    expect_spec_error("linear(10,3)", "too many arguments");
    expect_spec_error("linear(10", "expected ',' or ')'");
    expect_spec_error("conv(8,2.5) linear(10)", "kernel=2.5 must be a whole number");
    expect_spec_error("conv(8,40) linear(10)", "kernel 40 does not fit a 28x28 input");
    expect_spec_error("linear(12)", "the last layer gives 12 outputs per sample, the data has 10");
    expect_spec_error("   ", "has no layers");
    expect_spec_error("relu(3)", "too many arguments");
    expect_spec_error("conv(8,3,pad=1,pad=2) linear(10)", "pad given twice");
}

static void test_init_matches_pytorch_bounds(void **state) {
    (void)state;
    dpt_model m;
    dpt_err err;
    assert_int_equal(dpt_model_build("cnn2710", MNIST, 10, &m, &err), 0);
    float *p = malloc(sizeof(float) * m.nparams), *q = malloc(sizeof(float) * m.nparams);
    dpt_model_init(&m, p, 1);
    dpt_model_init(&m, q, 1);
    assert_memory_equal(p, q, sizeof(float) * m.nparams);
    const double fan_in[] = {9, 9, 144, 144, 196, 196}; /* per tensor */
    for (int t = 0; t < m.nparams_tensors; t++) {
        double bound = 1 / sqrt(fan_in[t]), most = 0;
        for (size_t i = 0; i < m.params[t].count; i++) {
            double v = fabs(p[m.params[t].offset + i]);
            assert_true(v <= bound);
            if (v > most) most = v;
        }
        assert_true(most > 0.8 * bound); /* uniform over the whole range, not a narrower one */
    }
    dpt_model_init(&m, q, 2);
    assert_memory_not_equal(p, q, sizeof(float) * m.nparams);
    free(p), free(q);
    dpt_model_free(&m);
}

/* Loss of the whole model on a fixed batch, in double. */
static double model_loss(const dpt_model *m, const float *params, dpt_workspace *ws, const float *x,
                         const int *y, int n, int with_grad) {
    memcpy(ws->act[0], x, sizeof(float) * n * dpt_shape_size(m->input));
    memcpy(ws->labels, y, sizeof(int) * n);
    dpt_model_forward(m, params, ws, n);
    long correct = 0;
    return dpt_softmax_xent(dpt_model_logits(m, ws), y, n, 10, with_grad ? ws->dlogits : NULL,
                            &correct);
}

static void model_gradcheck(const char *spec, dpt_shape in) {
    enum { N = 3 };
    dpt_model m;
    dpt_workspace ws;
    dpt_err err;
    assert_int_equal(dpt_model_build(spec, in, 10, &m, &err), 0);
    assert_int_equal(dpt_workspace_init(&ws, &m, N, &err), 0);
    float *p = malloc(sizeof(float) * m.nparams), *g = malloc(sizeof(float) * m.nparams);
    size_t nx = N * dpt_shape_size(in);
    float *x = malloc(sizeof(float) * nx);
    int y[N] = {1, 7, 4};
    dpt_model_init(&m, p, 5);
    dpt_rng rng = dpt_rng_stream(9, DPT_STREAM_INIT, 0);
    for (size_t i = 0; i < nx; i++) x[i] = (float)(2 * dpt_rng_uniform(&rng) - 1);
    model_loss(&m, p, &ws, x, y, N, 1);
    dpt_model_backward(&m, p, g, &ws, N, NULL, NULL);
    const double h = 1e-3;
    for (size_t i = 0; i < m.nparams; i++) {
        float saved = p[i];
        p[i] = (float)(saved + h);
        double plus = model_loss(&m, p, &ws, x, y, N, 0);
        p[i] = (float)(saved - h);
        double minus = model_loss(&m, p, &ws, x, y, N, 0);
        p[i] = saved;
        double numeric = (plus - minus) / (2 * h);
        if (fabs(numeric - g[i]) > 2e-3 + 2e-2 * fabs(numeric))
            fail_msg("%s: d loss / d param[%zu]: backward %.6f, finite difference %.6f", spec, i,
                     (double)g[i], numeric);
    }
    free(p), free(g), free(x);
    dpt_workspace_free(&ws);
    dpt_model_free(&m);
}

static void test_whole_model_gradients(void **state) {
    (void)state;
    model_gradcheck("linear(6) tanh linear(10)", (dpt_shape){1, 4, 4});
    model_gradcheck("conv(3,3,pad=1) sigmoid maxpool(2) flatten linear(10)", (dpt_shape){1, 6, 6});
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presets_match_the_reports),
        cmocka_unit_test(test_canonical_spec_round_trips),
        cmocka_unit_test(test_spec_errors),
        cmocka_unit_test(test_init_matches_pytorch_bounds),
        cmocka_unit_test(test_whole_model_gradients),
    };
    return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
