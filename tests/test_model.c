/* Model specs and graphs, presets, initialization, and the gradient of a whole model (chains and
   graphs, BatchNorm in training mode, dropout with its mask held) with its loss. */
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
    /* Counted by PyTorch for the same networks (tests/oracle asserts it for every preset). */
    assert_int_equal(params_of("cnn002"), 67274);
    assert_int_equal(params_of("cnn002-bn"), 67274); /* affine=False: no BatchNorm parameters */
    assert_int_equal(params_of("resnet18"), 11172810);
    assert_int_equal(params_of("resnet34"), 21280970);
    assert_int_equal(params_of("resnet50"), 23519690);
    assert_int_equal(params_of("resnet101"), 42511818);
}

static void test_canonical_spec_round_trips(void **state) {
    (void)state;
    dpt_model a, b;
    dpt_err err;
    assert_int_equal(dpt_model_build("cnn2710", MNIST, 10, &a, &err), 0);
    assert_string_equal(a.spec, "conv(16,3,stride=1,pad=1,bias=1) relu maxpool(2,stride=2) "
                                "conv(4,3,stride=1,pad=1,bias=1) relu maxpool(2,stride=2) "
                                "linear(10)");
    assert_int_equal(dpt_model_build(a.spec, MNIST, 10, &b, &err), 0);
    assert_string_equal(a.spec, b.spec);
    assert_string_equal(a.params[0].name, "conv1/weight");
    assert_string_equal(a.params[3].name, "conv2/bias");
    assert_int_equal(a.params[3].offset, 160 + 576);
    assert_string_equal(a.params[4].name, "linear1/weight");
    dpt_model_free(&a);
    dpt_model_free(&b);
}

/* A graph's canonical spec builds the same graph again; sizes print as whole numbers. */
static void test_graph_spec_round_trips(void **state) {
    (void)state;
    const char *spec = "conv(8,3,pad=1,bias=0) batchnorm relu @skip "
                       "res[ conv(8,3,pad=1) elu(0.5) res[ dropout(0.25) ] ] "
                       "res[ conv(16,3,stride=2,pad=1) | conv(16,1,stride=2,bias=0) batchnorm ] "
                       "@down conv(16,1) add(@down) conv(1000001,1) conv(8,1) "
                       "avgpool(2) globalavgpool dropout2d(0.1) linear(10)";
    dpt_model a, b;
    dpt_err err;
    if (dpt_model_build(spec, MNIST, 10, &a, &err)) fail_msg("%s", err.msg);
    assert_non_null(strstr(a.spec, "conv(1000001,1,stride=1,pad=0,bias=1)"));
    assert_non_null(strstr(a.spec, "res[ conv(16,3,stride=2,pad=1,bias=1) | conv(16,1,"));
    assert_non_null(strstr(a.spec, "elu(alpha=0.5) res[ dropout(p=0.25) ] ]"));
    assert_int_equal(dpt_model_build(a.spec, MNIST, 10, &b, &err), 0);
    assert_string_equal(a.spec, b.spec);
    assert_int_equal(a.nlayers, b.nlayers);
    for (int i = 0; i < a.nlayers; i++) {
        assert_memory_equal(a.layers[i].input, b.layers[i].input, sizeof a.layers[i].input);
        assert_string_equal(a.layers[i].name, b.layers[i].name);
    }
    /* The identity res[ ] reads the node before it; the projection's add reads both branches. */
    const dpt_layer *add1 = &a.layers[6];
    assert_string_equal(add1->name, "add1");
    assert_int_equal(add1->input[0], 5);
    assert_int_equal(add1->input[1], 4);
    assert_string_equal(a.states[0].name, "bn1/running_mean");
    assert_string_equal(a.states[2].name, "bn1/num_batches_tracked");
    dpt_model_free(&a);
    dpt_model_free(&b);
    /* No length limit: a spec of thousands of characters round-trips whole. */
    char *long_spec = malloc(20000);
    long_spec[0] = 0;
    for (int i = 0; i < 400; i++) strcat(long_spec, "relu tanh ");
    strcat(long_spec, "linear(10)");
    if (dpt_model_build(long_spec, MNIST, 10, &a, &err)) fail_msg("%s", err.msg);
    assert_int_equal(a.nlayers, 801);
    assert_int_equal(strlen(a.spec), strlen(long_spec));
    dpt_model_free(&a);
    free(long_spec);
}

/* An argument that is a word (upsample's mode) is read by name, positional or named, held as
   its index and printed by name; `classes` still stands for the class count elsewhere. */
static void test_word_arguments_round_trip(void **state) {
    (void)state;
    const char *spec = "conv(4,3,pad=1) @e maxpool(2) convtranspose(classes,2,stride=2) "
                       "concat(@e) upsample(2,bilinear) upsample(3) upsample(scale=1,mode=nearest) "
                       "convtranspose(2,3,stride=2,pad=1,outpad=1,bias=0) globalavgpool "
                       "linear(classes)";
    dpt_model a, b;
    dpt_err err;
    if (dpt_model_build(spec, MNIST, 7, &a, &err)) fail_msg("%s", err.msg);
    assert_string_equal(
        a.spec, "conv(4,3,stride=1,pad=1,bias=1) @e maxpool(2,stride=2) "
                "convtranspose(7,2,stride=2,pad=0,outpad=0,bias=1) concat(@e) "
                "upsample(2,mode=bilinear) upsample(3,mode=nearest) upsample(1,mode=nearest) "
                "convtranspose(2,3,stride=2,pad=1,outpad=1,bias=0) globalavgpool linear(7)");
    assert_int_equal(a.layers[4].arg[1], 1); /* bilinear: the second word */
    assert_int_equal(a.layers[5].arg[1], 0);
    assert_int_equal(a.layers[7].out.h, 28 * 6 * 2);
    assert_int_equal(dpt_model_build(a.spec, MNIST, 7, &b, &err), 0);
    assert_string_equal(a.spec, b.spec);
    assert_int_equal(a.nlayers, b.nlayers);
    for (int i = 0; i < a.nlayers; i++)
        assert_memory_equal(a.layers[i].arg, b.layers[i].arg, sizeof a.layers[i].arg);
    /* PyTorch's names: convtranspose1/weight (in, out, k, k) and /bias. */
    assert_string_equal(a.params[2].name, "convtranspose1/weight");
    assert_int_equal(a.params[2].dims[0], 4);
    assert_int_equal(a.params[2].dims[1], 7);
    assert_string_equal(a.params[3].name, "convtranspose1/bias");
    assert_string_equal(a.params[4].name, "convtranspose2/weight");
    assert_string_equal(a.params[5].name, "linear1/weight");
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
    /* Graphs: the layer and the shapes that do not fit. */
    expect_spec_error("@a conv(8,3,stride=2) add(@a) linear(10)",
                      "layer 2 (add of 8x13x13 and 1x28x28): the shapes differ");
    expect_spec_error("@a maxpool(2) concat(@a) linear(10)",
                      "layer 2 (concat of 1x14x14 and 1x28x28): the heights and widths differ");
    expect_spec_error("conv(8,3) concat(@nowhere) linear(10)",
                      "layer 2 (concat): no tensor was saved as @nowhere before it");
    expect_spec_error("res[ conv(8,3,pad=1) relu linear(10)",
                      "the res[ block opened there never closes");
    expect_spec_error("res[ conv(8,3,pad=1) ] linear(10)",
                      "the res[ block opened at layer 1 gives 8x28x28 from its body but 1x28x28 "
                      "from its identity shortcut");
    expect_spec_error("res[ ] linear(10)", "a res[ ] block needs at least one layer");
    expect_spec_error("conv(8,3) ] linear(10)", "']' outside a res[ ] block");
    expect_spec_error("@a relu @a linear(10)", "@a is saved twice");
    expect_spec_error("relu add linear(10)", "layer 2 (add): needs a saved tensor: add(@name)");
    expect_spec_error("dropout(1.5) linear(10)", "p=1.5 must be from 0 to 1");
    expect_spec_error("conv(8,3,bias=2) linear(10)", "bias=2 must be 0 or 1");
    /* Word arguments: one line naming the layer, the word and the allowed words. */
    expect_spec_error("conv(8,3) upsample(2,mode=bicubic) linear(10)",
                      "model spec, layer 2 (upsample): unknown mode 'bicubic' (one of: nearest "
                      "bilinear)");
    expect_spec_error("upsample(2,Nearest) linear(10)", "unknown mode 'Nearest' (one of:");
    expect_spec_error("upsample(2,mode=1) linear(10)", "unknown mode '1' (one of: nearest");
    expect_spec_error("upsample(2,mode=classes) linear(10)", "unknown mode 'classes'");
    expect_spec_error("upsample(2,mode=) linear(10)",
                      "layer 1 (upsample): expected a mode (one of: nearest bilinear) at ') "
                      "linear(10)'");
    expect_spec_error("upsample(mode=bilinear) linear(10)", "missing argument 'scale'");
    expect_spec_error("upsample(2,bilinear,nearest) linear(10)", "too many arguments");
    expect_spec_error("upsample(0) linear(10)", "scale=0 must be a whole number from 1");
    expect_spec_error("upsample(1.5) linear(10)", "scale=1.5 must be a whole number");
    expect_spec_error("convtranspose(8,bilinear) linear(10)", "expected a number at 'bilinear)");
    expect_spec_error("convtranspose(8,3,stride=2,outpad=2) linear(10)",
                      "layer 1 (convtranspose on 1x28x28): outpad=2 must be smaller than stride=2");
    expect_spec_error("maxpool(28) convtranspose(1,1,pad=1) linear(10)",
                      "pad 1 on each side leaves nothing of its 1x1 output");
}

static void test_init_matches_pytorch_bounds(void **state) {
    (void)state;
    dpt_model m;
    dpt_err err;
    assert_int_equal(dpt_model_build("cnn2710", MNIST, 10, &m, &err), 0);
    float *p = malloc(sizeof(float) * m.nparams), *q = malloc(sizeof(float) * m.nparams);
    const dpt_init pytorch = {DPT_INIT_DEFAULT, 0};
    dpt_model_init(&m, p, NULL, pytorch, 1);
    dpt_model_init(&m, q, NULL, pytorch, 1);
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
    dpt_model_init(&m, q, NULL, pytorch, 2);
    assert_memory_not_equal(p, q, sizeof(float) * m.nparams);
    free(p), free(q);
    dpt_model_free(&m);
}

/* Each --init scheme's weights have the standard deviation the scheme promises (fan_in and
   fan_out as PyTorch computes them), biases at zero; BatchNorm starts at weight 1, bias 0,
   running statistics 0 and 1. */
static void test_init_schemes(void **state) {
    (void)state;
    dpt_model m;
    dpt_err err;
    assert_int_equal(dpt_model_build("conv(64,5) batchnorm linear(200)", MNIST, 0, &m, &err), 0);
    float *p = malloc(sizeof(float) * m.nparams), *st = malloc(sizeof(float) * m.nstate);
    const double conv_in = 25, conv_out = 64 * 25, lin_in = 64 * 24 * 24, lin_out = 200;
    const struct {
        const char *text;
        double conv_std, lin_std;
    } cases[] = {
        {"xavier-uniform", sqrt(2 / (conv_in + conv_out)), sqrt(2 / (lin_in + lin_out))},
        {"xavier-normal", sqrt(2 / (conv_in + conv_out)), sqrt(2 / (lin_in + lin_out))},
        {"kaiming-uniform", sqrt(2 / conv_in), sqrt(2 / lin_in)},
        {"kaiming-normal", sqrt(2 / conv_in), sqrt(2 / lin_in)},
        {"normal:0.05", 0.05, 0.05},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dpt_init init;
        assert_int_equal(dpt_init_parse(cases[c].text, &init, &err), 0);
        dpt_model_init(&m, p, st, init, 3);
        const int weights[] = {0, 4}; /* conv1/weight, linear1/weight */
        for (int k = 0; k < 2; k++) {
            const dpt_param *w = &m.params[weights[k]];
            double sq = 0;
            for (size_t i = 0; i < w->count; i++) sq += (double)p[w->offset + i] * p[w->offset + i];
            const double std = sqrt(sq / w->count), want = k ? cases[c].lin_std : cases[c].conv_std;
            if (fabs(std - want) > 0.05 * want)
                fail_msg("%s: %s has std %g, expected %g", cases[c].text, w->name, std, want);
            const dpt_param *b = &m.params[weights[k] + 1];
            for (size_t i = 0; i < b->count; i++) assert_true(p[b->offset + i] == 0);
        }
        assert_true(p[m.params[2].offset] == 1 && p[m.params[3].offset] == 0); /* bn1 */
        assert_true(st[0] == 0 && st[64] == 1 && st[128] == 0);
    }
    dpt_init init;
    assert_int_equal(dpt_init_parse("normal:-1", &init, &err), -1);
    assert_non_null(strstr(err.msg, "--init normal:-1: expected default"));
    free(p), free(st);
    dpt_model_free(&m);
}

static const char *kind_of(const dpt_model *m, int i) {
    return m->layers[i].kind->name;
}

/* A relu read only by a maxpool runs after it (model.c, pool_before_relu): the order of the nodes
   changes, not the values or the gradients, bit for bit, on inputs full of ties, zeros of both
   signs and windows with no positive value. */
static void test_pool_runs_before_relu(void **state) {
    (void)state;
    dpt_model m;
    dpt_err err;
    assert_int_equal(dpt_model_build("cnn2710", MNIST, 10, &m, &err), 0);
    assert_string_equal(kind_of(&m, 1), "maxpool");
    assert_string_equal(kind_of(&m, 2), "relu");
    assert_string_equal(m.layers[2].name, "relu1");
    assert_true(m.layers[2].moved && !m.layers[1].moved);
    assert_int_equal(m.layers[1].input[0], 0);
    assert_int_equal(m.layers[2].input[0], 1);
    assert_int_equal(m.layers[3].input[0], 2);
    assert_int_equal(m.layers[2].out.c * m.layers[2].out.h * m.layers[2].out.w, 16 * 14 * 14);
    dpt_model_free(&m);
    /* The relu's output read twice: no swap. */
    assert_int_equal(dpt_model_build("conv(2,3,pad=1) relu @r maxpool(2) upsample(2) concat(@r) "
                                     "linear(10)",
                                     MNIST, 10, &m, &err),
                     0);
    assert_string_equal(kind_of(&m, 1), "relu");
    assert_string_equal(kind_of(&m, 2), "maxpool");
    assert_false(m.layers[1].moved);
    dpt_model_free(&m);

    static const char *const pools[] = {"maxpool(2)", "maxpool(3,stride=2)", "maxpool(2,stride=1)"};
    static const float values[] = {-1.5f, -0.5f, -0.0f, 0.0f, 0.5f, 1.0f};
    enum { N = 2, C = 3, H = 9, W = 11, SIZE = N * C * H * W };
    const dpt_shape in = {C, H, W};
    float x[SIZE], r[SIZE], dr[SIZE], dx_chain[SIZE], dx_swapped[SIZE];
    float y_chain[SIZE], y_pooled[SIZE], y_swapped[SIZE], dy[SIZE], dpooled[SIZE];
    dpt_rng rng = dpt_rng_stream(3, DPT_STREAM_INIT, 0);
    const dpt_pass pass = {0};
    for (size_t p = 0; p < sizeof pools / sizeof pools[0]; p++) {
        char spec[64];
        snprintf(spec, sizeof spec, "relu %s flatten linear(10)", pools[p]);
        assert_int_equal(dpt_model_build(spec, in, 10, &m, &err), 0);
        assert_string_equal(kind_of(&m, 0), "maxpool");
        const dpt_layer pool = m.layers[0], relu_after = m.layers[1];
        dpt_layer relu_before = relu_after;
        relu_before.in[0] = relu_before.out = in;
        const size_t nout = (size_t)N * dpt_shape_size(pool.out);
        for (int i = 0; i < SIZE; i++) x[i] = values[dpt_rng_uniform(&rng) < 0.5 ? 0 : 1 + i % 5];
        for (size_t i = 0; i < nout; i++) dy[i] = values[i % 6] + (float)dpt_rng_uniform(&rng);
        /* As written: relu, then maxpool; as run: maxpool, then relu. */
        relu_before.kind->forward(&relu_before, &pass, NULL, (const float *[]){x, NULL}, r, NULL,
                                  N);
        pool.kind->forward(&pool, &pass, NULL, (const float *[]){r, NULL}, y_chain, NULL, N);
        pool.kind->backward(&pool, &pass, NULL, NULL, (const float *[]){r, NULL}, y_chain, dy,
                            (float *[]){dr, NULL}, NULL, N);
        relu_before.kind->backward(&relu_before, &pass, NULL, NULL, (const float *[]){x, NULL}, r,
                                   dr, (float *[]){dx_chain, NULL}, NULL, N);
        pool.kind->forward(&pool, &pass, NULL, (const float *[]){x, NULL}, y_pooled, NULL, N);
        relu_after.kind->forward(&relu_after, &pass, NULL, (const float *[]){y_pooled, NULL},
                                 y_swapped, NULL, N);
        relu_after.kind->backward(&relu_after, &pass, NULL, NULL, (const float *[]){y_pooled, NULL},
                                  y_swapped, dy, (float *[]){dpooled, NULL}, NULL, N);
        pool.kind->backward(&pool, &pass, NULL, NULL, (const float *[]){x, NULL}, y_pooled, dpooled,
                            (float *[]){dx_swapped, NULL}, NULL, N);
        if (memcmp(y_chain, y_swapped, sizeof(float) * nout) != 0)
            fail_msg("%s: relu then pool and pool then relu give different outputs", pools[p]);
        if (memcmp(dx_chain, dx_swapped, sizeof(float) * SIZE) != 0)
            fail_msg("%s: relu then pool and pool then relu give different gradients", pools[p]);
        dpt_model_free(&m);
    }
}

/* Loss of the whole model on a fixed batch, in double: training mode with a fixed pass, so
   BatchNorm uses the batch's statistics and dropout the same mask every time. */
static double model_loss(const dpt_model *m, const float *params, float *stats, const float *state,
                         dpt_workspace *ws, const float *x, const int *y, int n, int with_grad) {
    memcpy(ws->input, x, sizeof(float) * n * dpt_shape_size(m->input));
    const dpt_pass pass = {
        .training = 1, .key = dpt_pass_key(1, 2, 3), .stats = stats, .state = state};
    dpt_model_forward(m, &pass, params, ws, n);
    dpt_loss_sums sums = {0};
    dpt_softmax_xent(dpt_model_logits(m, ws), y, n, 10, NULL,
                     with_grad ? dpt_model_dlogits(m, ws) : NULL, &sums);
    return sums.loss;
}

static void model_gradcheck(const char *spec, dpt_shape in) {
    enum { N = 3 };
    dpt_model m;
    dpt_workspace ws;
    dpt_err err;
    if (dpt_model_build(spec, in, 10, &m, &err)) fail_msg("%s: %s", spec, err.msg);
    assert_int_equal(dpt_workspace_init(&ws, &m, N, &err), 0);
    float *p = malloc(sizeof(float) * m.nparams), *g = malloc(sizeof(float) * m.nparams);
    float *stats = malloc(sizeof(float) * (m.nstats + 1)),
          *st = malloc(sizeof(float) * (m.nstate + 1));
    size_t nx = N * dpt_shape_size(in);
    float *x = malloc(sizeof(float) * nx);
    int y[N] = {1, 7, 4};
    dpt_model_init(&m, p, st, (dpt_init){DPT_INIT_DEFAULT, 0}, 5);
    dpt_rng rng = dpt_rng_stream(9, DPT_STREAM_INIT, 0);
    for (size_t i = 0; i < nx; i++) x[i] = (float)(2 * dpt_rng_uniform(&rng) - 1);
    for (size_t i = 0; i < m.nparams; i++) p[i] += (float)(0.2 * (dpt_rng_uniform(&rng) - 0.5));
    model_loss(&m, p, stats, st, &ws, x, y, N, 1);
    const dpt_pass pass = {
        .training = 1, .key = dpt_pass_key(1, 2, 3), .stats = stats, .state = st};
    dpt_model_backward(&m, &pass, p, g, &ws, N, NULL, NULL);
    const double h = 1e-3;
    for (size_t i = 0; i < m.nparams; i++) {
        float saved = p[i];
        p[i] = (float)(saved + h);
        double plus = model_loss(&m, p, stats, st, &ws, x, y, N, 0);
        p[i] = (float)(saved - h);
        double minus = model_loss(&m, p, stats, st, &ws, x, y, N, 0);
        p[i] = saved;
        double numeric = (plus - minus) / (2 * h);
        if (fabs(numeric - g[i]) > 2e-3 + 2e-2 * fabs(numeric))
            fail_msg("%s: d loss / d param[%zu]: backward %.6f, finite difference %.6f", spec, i,
                     (double)g[i], numeric);
    }
    free(p), free(g), free(x), free(stats), free(st);
    dpt_workspace_free(&ws);
    dpt_model_free(&m);
}

static void test_whole_model_gradients(void **state) {
    (void)state;
    model_gradcheck("linear(6) tanh linear(10)", (dpt_shape){1, 4, 4});
    model_gradcheck("conv(3,3,pad=1) sigmoid maxpool(2) flatten linear(10)", (dpt_shape){1, 6, 6});
    /* Graphs: nested residual blocks, a projection shortcut, a tensor read by three nodes
       (fan-out), a concatenation, BatchNorm in training mode, dropout with a fixed mask. */
    model_gradcheck("conv(3,3,pad=1) batchnorm elu @a res[ conv(3,3,pad=1) tanh res[ "
                    "leakyrelu(0.1) ] ] add(@a) @b res[ conv(3,3,pad=1) dropout(0.3) | "
                    "conv(3,1,bias=0) batchnorm(affine=0) ] concat(@b) avgpool(2) linear(10)",
                    (dpt_shape){2, 6, 6});
    model_gradcheck("conv(4,3,stride=2,pad=1) dropout2d(0.5) relu globalavgpool linear(6) "
                    "batchnorm linear(10)",
                    (dpt_shape){1, 7, 7});
    /* A small U-Net: transposed convolutions (tiles and overlapping), a skip concatenation,
       both upsampling modes; the maxpool after upsample(3) sees exact ties (equal values move
       together), a maxpool(2) on the tanh would see near ties the finite steps cross. */
    model_gradcheck("conv(3,3,pad=1) tanh @a avgpool(2) convtranspose(3,2,stride=2) concat(@a) "
                    "upsample(2,mode=bilinear) conv(2,3,stride=2,pad=1) "
                    "convtranspose(2,3,stride=2,pad=1,outpad=1) upsample(3) maxpool(3) linear(10)",
                    (dpt_shape){1, 6, 6});
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presets_match_the_reports),
        cmocka_unit_test(test_canonical_spec_round_trips),
        cmocka_unit_test(test_graph_spec_round_trips),
        cmocka_unit_test(test_word_arguments_round_trip),
        cmocka_unit_test(test_spec_errors),
        cmocka_unit_test(test_init_matches_pytorch_bounds),
        cmocka_unit_test(test_init_schemes),
        cmocka_unit_test(test_pool_runs_before_relu),
        cmocka_unit_test(test_whole_model_gradients),
    };
    return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
