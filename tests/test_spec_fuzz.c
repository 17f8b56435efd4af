/* Hostile model specs: whatever the text, dpt_model_build either fails with one line naming the
   layer and the problem, or builds a model whose canonical spec builds the same graph again,
   whose sizes respect the limits and whose workspace, forward and backward passes run (under
   the sanitizer build, without a bad access). Seeded: a fixed set of hand-written cases, then a
   few thousand specs from a grammar of kinds, arguments (huge, negative, fractional, hex,
   missing), @names and nested res[ ] blocks, randomly mutated.

   DPT_FUZZ_SEED and DPT_FUZZ_CASES (environment) change the seed and the number of random
   cases; DPT_FUZZ_VERBOSE prints each random spec with its outcome. Built with
   -DSPEC_FUZZ_LIBFUZZER the same checks run under libFuzzer instead:
     clang -g -O1 -fsanitize=fuzzer,address,undefined -DSPEC_FUZZ_LIBFUZZER -Iinclude -Isrc \
       -I/usr/include/x86_64-linux-gnu/openblas-pthread tests/test_spec_fuzz.c src/model.c \
       src/presets.c src/error.c src/rng.c src/layers/[a-z]*.c -lopenblas -lm -o spec_fuzz
     ./spec_fuzz -max_len=4096 CORPUS_DIR
   (each input: one byte choosing the input shape, then the spec). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dptrain/model.h"

#ifdef SPEC_FUZZ_LIBFUZZER
#define fail_msg(...) (fprintf(stderr, __VA_ARGS__), fputc('\n', stderr), abort())
#else
#include <cmocka.h>
#endif

enum { MAX_VALUES = 1 << 30 };

/* SplitMix64: the generator's only randomness. */
static uint64_t seed_state;
static uint64_t next64(void) {
    uint64_t z = (seed_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static __attribute__((unused)) int below(int n) {
    return (int)(next64() % (uint64_t)n);
}

/* One line of printable ASCII that says where the problem is. */
static void check_message(const char *spec, const char *msg) {
    if (!msg[0]) fail_msg("'%.200s': failed without a message", spec);
    for (const char *c = msg; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            fail_msg("'%.200s': message has byte 0x%02x: %s", spec, (unsigned char)*c, msg);
    if (strncmp(msg, "model spec", 10) != 0 && strncmp(msg, "model input", 11) != 0 &&
        strncmp(msg, "out of memory", 13) != 0)
        fail_msg("'%.200s': message does not start with 'model spec': %s", spec, msg);
    if (strlen(msg) >= sizeof((dpt_err *)0)->msg - 1)
        fail_msg("'%.200s': message fills the whole buffer: %s", spec, msg);
}

static void same_graph(const char *spec, const dpt_model *a, const dpt_model *b) {
    if (strcmp(a->spec, b->spec) != 0)
        fail_msg("'%.200s': canonical '%.300s' rebuilds as '%.300s'", spec, a->spec, b->spec);
    if (a->nlayers != b->nlayers || a->nparams != b->nparams || a->nstate != b->nstate ||
        a->nstats != b->nstats || a->classes != b->classes)
        fail_msg("'%.200s': the canonical spec '%.300s' builds another graph", spec, a->spec);
    for (int i = 0; i < a->nlayers; i++) {
        const dpt_layer *x = &a->layers[i], *y = &b->layers[i];
        if (x->kind != y->kind || memcmp(x->arg, y->arg, sizeof x->arg) != 0 ||
            memcmp(x->input, y->input, sizeof x->input) != 0 ||
            memcmp(&x->out, &y->out, sizeof x->out) != 0 || strcmp(x->name, y->name) != 0 ||
            strcmp(x->from, y->from) != 0 || x->nparams != y->nparams)
            fail_msg("'%.200s': node %d differs after the round trip through '%.300s'", spec, i + 1,
                     a->spec);
    }
}

static void check_model(const char *spec, const dpt_model *m) {
    if (m->nlayers < 1 || !m->spec || !m->layers) fail_msg("'%.200s': an empty model", spec);
    size_t nparams = 0;
    double activations = (double)dpt_shape_size(m->input);
    for (int i = 0; i < m->nlayers; i++) {
        const dpt_layer *l = &m->layers[i];
        const double out = (double)l->out.c * l->out.h * l->out.w;
        if (l->out.c < 1 || l->out.h < 1 || l->out.w < 1 || out > MAX_VALUES)
            fail_msg("'%.200s': node %d has output %dx%dx%d", spec, i + 1, l->out.c, l->out.h,
                     l->out.w);
        activations += out;
        for (int k = 0; k < l->kind->inputs; k++)
            if (l->input[k] < -1 || l->input[k] >= i)
                fail_msg("'%.200s': node %d reads node %d", spec, i + 1, l->input[k]);
        for (int t = 0; t < l->ntensors; t++) {
            double count = 1;
            for (int d = 0; d < l->tensors[t].ndims; d++) count *= l->tensors[t].dims[d];
            if (count != (double)l->tensors[t].count || count > MAX_VALUES)
                fail_msg("'%.200s': %s/%s has %zu values", spec, l->name, l->tensors[t].name,
                         l->tensors[t].count);
        }
        nparams += l->nparams;
        char text[512];
        dpt_layer_text(l, text, sizeof text);
        if (strlen(text) >= sizeof text - 1) fail_msg("'%.200s': node %d's text is cut", spec, i);
    }
    if (nparams != m->nparams || (double)m->nparams + (double)m->nstats > MAX_VALUES ||
        activations > MAX_VALUES)
        fail_msg("'%.200s': totals out of bounds (%zu parameters, %.0f activations)", spec,
                 m->nparams, activations);
}

/* A small model's workspace, initialization, and forward and backward passes in both modes. */
static void run_model(const char *spec, const dpt_model *m) {
    enum { N = 2 };
    double activations = (double)dpt_shape_size(m->input);
    for (int i = 0; i < m->nlayers; i++) activations += (double)dpt_shape_size(m->layers[i].out);
    if (activations > 1 << 16 || m->nparams > 1 << 18 || dpt_model_flops(m) > 2e6) return;
    dpt_workspace ws;
    dpt_err err;
    if (dpt_workspace_init(&ws, m, N, &err)) fail_msg("'%.200s': workspace: %s", spec, err.msg);
    float *params = malloc(sizeof(float) * (m->nparams + 1));
    float *grads = malloc(sizeof(float) * (m->nparams + 1));
    float *state = malloc(sizeof(float) * (m->nstate + 1));
    float *stats = malloc(sizeof(float) * (m->nstats + 1));
    if (!params || !grads || !state || !stats) fail_msg("out of memory");
    dpt_model_init(m, params, state, (dpt_init){DPT_INIT_DEFAULT, 0}, 7);
    for (size_t i = 0, n = N * dpt_shape_size(m->input); i < n; i++)
        ws.input[i] = (float)((double)(next64() >> 11) / 9007199254740992.0 - 0.5);
    for (int training = 0; training < 2; training++) {
        const dpt_pass pass = {
            .training = training, .key = dpt_pass_key(1, 2, 3), .stats = stats, .state = state};
        dpt_model_forward(m, &pass, params, &ws, N);
        float *dlogits = dpt_model_dlogits(m, &ws);
        for (size_t i = 0; i < N * (size_t)m->classes; i++) dlogits[i] = (float)(i % 3) - 1;
        dpt_model_backward(m, &pass, params, grads, &ws, N, NULL, NULL);
        if (training) dpt_model_update_state(m, state, stats);
    }
    free(params), free(grads), free(state), free(stats);
    dpt_workspace_free(&ws);
}

static int verbose; /* DPT_FUZZ_VERBOSE: print each spec and its outcome */

/* Builds the spec; checks the message, or the model, its round trip and (when small) its
   passes. Returns whether it built. */
static int check_spec(const char *spec, dpt_shape input, int classes) {
    dpt_model m, again;
    dpt_err err = {{0}};
    memset(&m, 0x5a, sizeof m);
    const int rc = dpt_model_build(spec, input, classes, &m, &err);
    if (rc != 0 && rc != -1) fail_msg("'%.200s': returned %d", spec, rc);
    if (verbose) printf("%s\t%.200s\n", rc ? err.msg : "built", spec);
    if (rc) {
        check_message(spec, err.msg);
        if (m.layers || m.spec || m.params) fail_msg("'%.200s': failed but kept memory", spec);
        return 0;
    }
    check_model(spec, &m);
    if (classes > 0 && m.classes != classes) fail_msg("'%.200s': %d classes", spec, m.classes);
    if (dpt_model_build(m.spec, input, classes, &again, &err))
        fail_msg("'%.200s': its canonical spec '%.300s' fails: %s", spec, m.spec, err.msg);
    same_graph(spec, &m, &again);
    dpt_model_free(&again);
    run_model(spec, &m);
    dpt_model_free(&m);
    return 1;
}

#ifndef SPEC_FUZZ_LIBFUZZER

/* The grammar's pieces: mostly real kinds, keys and numbers, some of them hostile. */
// clang-format off
static const char *const kinds[] = {
    "linear", "conv", "conv", "conv", "maxpool", "avgpool", "globalavgpool", "batchnorm",
    "dropout", "dropout2d", "relu", "relu", "leakyrelu", "elu", "sigmoid", "tanh", "flatten",
    "add", "add", "concat", "concat", "convtranspose", "upsample", "upsample", "softmax", "res",
    "Conv", "conv_", "",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
static const char *const keys[] = {"out", "kernel", "stride", "pad", "bias", "affine",
                                   "momentum", "eps", "p", "slope", "alpha", "from", "padding",
                                   "", "stride", "pad", "outpad", "scale", "mode", "mode"};
/* Words where a number may stand, and the other way round (upsample's mode=nearest|bilinear). */
static const char *const words[] = {"nearest", "bilinear", "bilinear", "classes", "bicubic",
                                    "Nearest", "nearest_", "nearest-x", "neare", "bilinearbilinear"};
static const char *const numbers[] = {
    "0", "1", "2", "3", "4", "1", "2", "-1", "-0", "0.5", "0.25", "1.5", "1e300", "-1e300",
    "1e-300", "4.9e-324", "1e400", "nan", "inf", "-inf", "infinity", "2147483647", "2147483648",
    "-2147483649", "4294967296", "1048576", "1048577", "1073741824", "0x10", "0x1p-1074", "0X",
    "1e15", "999999999999999", "1e16", "9007199254740993", "0.1", "1e", "+3", "08", " 5 ", "",
    "3.4e38", "3.5e38", "1e-30", "1e-31", "0.30000000000000004", "1e-5", "65536", "40000"};
static const char *const names[] = {
    "a", "b", "skip", "x_1", "down-2", "A", "a", "", "\xff", "1", "-",
    "aaaaaaaaaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaaaaaaa"};
// clang-format on

typedef struct buffer {
    char *s;
    size_t len, cap;
} buffer;

static void put(buffer *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buffer *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n > 0) b->len = b->len + (size_t)n < b->cap ? b->len + (size_t)n : b->cap - 1;
}

#define PICK(a) (a)[below((int)(sizeof(a) / sizeof((a)[0])))]

static void gen_number(buffer *b) {
    if (below(2))
        put(b, "%d", 1 + below(below(4) ? 8 : 40));
    else
        put(b, "%s", PICK(numbers));
}

/* A layer as a user would write it: a kind and sensible arguments. */
static void gen_sensible_layer(buffer *b) {
    static const char *const plain[] = {"relu",      "tanh",          "sigmoid",
                                        "flatten",   "globalavgpool", "relu()",
                                        "batchnorm", "dropout",       "dropout2d(0.1)"};
    switch (below(12)) {
    case 0:
        put(b, "linear(%d)", 1 + below(12));
        break;
    case 1:
    case 2:
        put(b, "conv(%d,%d", 1 + below(6), 1 + below(below(4) ? 3 : 6));
        if (below(2)) put(b, ",stride=%d", 1 + below(below(4) ? 2 : 5));
        if (below(2)) put(b, ",pad=%d", below(below(4) ? 3 : 7));
        if (below(4) == 0) put(b, ",bias=%d", below(2));
        put(b, ")");
        break;
    case 3:
        put(b, "%s(%d%s)", below(2) ? "maxpool" : "avgpool", 1 + below(3),
            below(3)   ? ""
            : below(2) ? ",stride=1"
                       : ",stride=3");
        break;
    case 4:
        put(b, "batchnorm(affine=%d,momentum=%s,eps=%s)", below(2), below(2) ? "0.1" : "1",
            below(2) ? "1e-5" : "0.001");
        break;
    case 5:
        put(b, "%s(%s)", below(2) ? "leakyrelu" : "elu", below(2) ? "0.2" : "-1.5");
        break;
    case 6:
    case 7:
        put(b, "%s(@%s)", below(2) ? "add" : "concat", PICK(names));
        break;
    case 8:
        put(b, "convtranspose(%d,%d", 1 + below(6), 1 + below(4));
        if (below(2)) put(b, ",stride=%d", 1 + below(3));
        if (below(2)) put(b, ",pad=%d", below(3));
        if (below(3) == 0) put(b, ",outpad=%d", below(2));
        put(b, ")");
        break;
    case 9:
        put(b, "upsample(%d%s)", 1 + below(3),
            below(3)   ? ""
            : below(2) ? ",mode=bilinear"
                       : ",nearest");
        break;
    default:
        put(b, "%s", PICK(plain));
        break;
    }
}

/* Any kind with arguments from the whole range, hostile ones included. */
static void gen_layer(buffer *b) {
    if (below(4)) {
        gen_sensible_layer(b);
        return;
    }
    const char *kind = PICK(kinds);
    put(b, "%s", kind);
    if (below(10) < 3) return;
    put(b, "(");
    const int nargs = below(5);
    for (int i = 0; i < nargs; i++) {
        if (i) put(b, "%s", below(20) ? "," : below(2) ? ", " : "");
        if (below(3) == 0) put(b, "%s=", PICK(keys));
        if ((strcmp(kind, "add") == 0 || strcmp(kind, "concat") == 0) && i == 0 && below(4))
            put(b, "@%s", PICK(names));
        else if (below(6) == 0)
            put(b, "%s", PICK(words));
        else
            gen_number(b);
    }
    if (below(20)) put(b, ")");
}

static void gen_items(buffer *b, int depth) {
    const int n = 1 + below(depth ? 3 : 6);
    for (int i = 0; i < n && b->len + 64 < b->cap; i++) {
        put(b, "%s", below(15) ? " " : below(2) ? "" : "\t\n ");
        const int what = below(20);
        if (what < 3) {
            put(b, "@%s", PICK(names));
        } else if (what < 6 && depth < 4) {
            put(b, "res[ ");
            gen_items(b, depth + 1);
            if (below(3) == 0) {
                put(b, " |");
                if (below(3)) gen_items(b, depth + 1);
            }
            if (below(15)) put(b, " ]");
        } else {
            gen_layer(b);
        }
    }
}

/* Random edits: a byte from the spec's alphabet or any byte, a deletion, a duplicated run. */
static void mutate(buffer *b) {
    static const char alphabet[] = "()[]|@,= \t\n\x01\x7f\xff"
                                   "0123456789.-+xeabcdr";
    for (int edits = 1 + below(3); edits > 0 && b->len > 0; edits--) {
        size_t at = (size_t)below((int)b->len);
        switch (below(4)) {
        case 0: /* replace */
            b->s[at] =
                below(4) ? alphabet[below((int)sizeof alphabet - 1)] : (char)(1 + below(255));
            break;
        case 1: /* insert */
            if (b->len + 2 < b->cap) {
                memmove(b->s + at + 1, b->s + at, b->len - at + 1);
                b->s[at] = alphabet[below((int)sizeof alphabet - 1)];
                b->len++;
            }
            break;
        case 2: { /* delete a run */
            size_t n = (size_t)below(8) + 1;
            if (n > b->len - at) n = b->len - at;
            memmove(b->s + at, b->s + at + n, b->len - at - n + 1);
            b->len -= n;
            break;
        }
        default: { /* duplicate a run */
            size_t n = (size_t)below(16) + 1;
            if (n > b->len - at) n = b->len - at;
            if (b->len + n + 1 < b->cap) {
                memmove(b->s + at + n, b->s + at, b->len - at + 1);
                b->len += n;
            }
            break;
        }
        }
    }
}

#endif

static const dpt_shape shapes[] = {{1, 28, 28}, {1, 28, 28}, {3, 8, 8}, {1, 1, 1},
                                   {2, 5, 7},   {1, 1, 300}, {4, 3, 3}, {1, 2, 2}};

#ifndef SPEC_FUZZ_LIBFUZZER

static void expect_error(const char *spec, dpt_shape input, const char *problem) {
    dpt_model m;
    dpt_err err = {{0}};
    if (dpt_model_build(spec, input, 0, &m, &err) == 0) {
        dpt_model_free(&m);
        fail_msg("'%.200s' built", spec);
    }
    check_message(spec, err.msg);
    if (!strstr(err.msg, problem)) fail_msg("'%.200s': '%s' lacks '%s'", spec, err.msg, problem);
}

static const dpt_shape MNIST = {1, 28, 28};

/* A spec of `count` copies of `piece` between `head` and `tail`, on the heap. */
static char *repeat(const char *head, const char *piece, size_t count, const char *tail) {
    const size_t len = strlen(head) + strlen(piece) * count + strlen(tail);
    char *s = malloc(len + 1), *p = s;
    p += sprintf(p, "%s", head);
    for (size_t i = 0; i < count; i++) p += sprintf(p, "%s", piece);
    sprintf(p, "%s", tail);
    return s;
}

static void test_hostile_sizes(void **state) {
    (void)state;
    /* Products that overflow int or size_t, or just too much memory, are refused by name. */
    expect_error("conv(1048576,3) linear(1048576)", MNIST,
                 "layer 2 (linear on 1048576x26x26): its weight 1048576x708837376 has 7.43e+14 "
                 "values, more than 2^30");
    expect_error("flatten conv(1,1,pad=1048576) conv(1048576,1,pad=1048576)", MNIST,
                 "layer 2 (conv on 784x1x1): its output 1x2097153x2097153 has 4.4e+12 values");
    expect_error("conv(1048576,3) batchnorm", MNIST,
                 "layer 2 (batchnorm on 1048576x26x26): the model's outputs would total");
    expect_error("conv(1024,3,pad=1048576)", MNIST, "layer 1 (conv on 1x28x28): its output");
    expect_error("conv(1048576,28)", (dpt_shape){2, 28, 28},
                 "layer 1 (conv on 2x28x28): its weight 1048576x2x28x28 has 1.64e+09 values");
    expect_error("conv(1048576,1) conv(1048576,1)", (dpt_shape){1, 1, 1},
                 "its weight 1048576x1048576x1x1 has 1.1e+12 values");
    expect_error("conv(1048576,1) conv(1024,1)", (dpt_shape){1, 1, 1},
                 "the model's parameters and statistics would total");
    expect_error("linear(1048576) @a concat(@a) @b concat(@b) @c concat(@c) @d concat(@d) @e "
                 "concat(@e) @f concat(@f) @g concat(@g) @h concat(@h) @i concat(@i) @j "
                 "concat(@j) @k concat(@k)",
                 MNIST, "the model's outputs would total");
    expect_error("conv(1e300,3)", MNIST, "out=1e+300 must be a whole number from 1 to 1048576");
    expect_error("conv(8,2147483648)", MNIST, "kernel=2147483648 must be a whole number");
    expect_error("conv(8,3,stride=0)", MNIST, "stride=0 must be a whole number from 1");
    expect_error("conv(8,3,pad=-1)", MNIST, "pad=-1 must be a whole number from 0");
    expect_error("conv(0.1,3)", MNIST, "out=0.1 must be a whole number");
    expect_error("maxpool(29)", MNIST, "kernel 29 is larger than its 28x28 input");
    expect_error("avgpool(2,stride=-1)", MNIST, "stride=-1 must be a whole number from 1");
    expect_error("leakyrelu(slope=1e300)", MNIST, "slope=1e+300 must be from");
    expect_error("elu(-1e39)", MNIST, "alpha=-1e+39 must be from");
    expect_error("dropout(1e-300) batchnorm(eps=0)", MNIST, "eps=0 must be from 1e-30 to 1");
    expect_error("relu", (dpt_shape){0, 28, 28}, "model input 0x28x28");
    expect_error("relu", (dpt_shape){65536, 65536, 1}, "model input 65536x65536x1");
    /* Whole-number arguments given any way read the same: the canonical spec spells them. */
    dpt_model m;
    dpt_err err;
    assert_int_equal(
        dpt_model_build("conv(0x8,3.0,pad=-0,stride=1e0) leakyrelu(-0)", MNIST, 0, &m, &err), 0);
    assert_string_equal(m.spec, "conv(8,3,stride=1,pad=0,bias=1) leakyrelu(slope=0)");
    dpt_model_free(&m);
    assert_int_equal(check_spec("leakyrelu(1e-300) elu(4.9e-324) dropout(0.30000000000000004) "
                                "batchnorm(momentum=1e-300,eps=1e-30) leakyrelu(3.4e38)",
                                MNIST, 0),
                     1);
    /* The largest model the limits allow still cannot ask for a workspace beyond size_t. */
    assert_int_equal(dpt_model_build("conv(1048576,3)", MNIST, 0, &m, &err), 0);
    dpt_workspace ws;
    assert_int_equal(dpt_workspace_init(&ws, &m, 0, &err), -1);
    assert_non_null(strstr(err.msg, "at least 1 sample"));
    assert_int_equal(dpt_workspace_init(&ws, &m, 2147483647, &err), -1);
    assert_non_null(strstr(err.msg, "would exceed the address space"));
    dpt_model_free(&m);
}

static void test_hostile_text(void **state) {
    (void)state;
    expect_error("conv(8,3", MNIST, "layer 1 (conv): expected ',' or ')' at the end of the spec");
    expect_error("conv(8,", MNIST, "layer 1 (conv): expected a number at the end of the spec");
    expect_error("conv(8,3,pad=nan)", MNIST, "expected a number at 'nan)'");
    expect_error("conv(8,inf)", MNIST, "expected a number at 'inf)'");
    expect_error("conv(8,1e400)", MNIST, "expected a number at '1e400)'");
    expect_error("conv(8\x01,3)", MNIST, "expected ',' or ')' at '\\x01,3)'");
    expect_error("relu\xff", MNIST, "layer 1 (relu): unexpected '\\xff' after it");
    expect_error("relu\n\nlinear(10)\nsoftmax\n", MNIST, "layer 3: unknown layer 'softmax'");
    expect_error(" \n\t ", MNIST, "model spec ' \\x0a\\x09 ' has no layers");
    expect_error("@a @b", MNIST, "has no layers");
    expect_error("res[ relu | relu | relu ]", MNIST, "a second '|' in the res[ block opened at");
    expect_error("relu | relu", MNIST, "layer 2: '|' outside a res[ ] block");
    expect_error("res[ relu", MNIST, "layer 1: the res[ block opened there never closes");
    expect_error("res[ | relu ]", MNIST, "a res[ ] block needs at least one layer");
    expect_error("relu @aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", MNIST,
                 "layer 2: @aaaaaaaaaaaaaaaaaaaaaaa...: a name has at most 23 characters");
    expect_error("relu @ relu", MNIST, "layer 2: expected a name after '@' at '@ relu'");
    expect_error("relu add(@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa)", MNIST,
                 "layer 2 (add): @aaaaaaaaaaaaaaaaaaaaaaa...: a name has at most 23");
    expect_error("relu concat(3)", MNIST, "layer 2 (concat): expected a saved tensor's @name");
    expect_error("relu concat(@a)", MNIST, "layer 2 (concat): no tensor was saved as @a");
    expect_error("conv(8,3,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1)", MNIST,
                 "unknown argument 'aaaaaaaaaaaaaaaaaaaa...'");
    expect_error("reluuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu", MNIST,
                 "layer 1: unknown layer 'reluuuuuuuuuuuuuuuuu...' (known: linear conv");
    expect_error("linear(10) (", MNIST, "layer 2: expected a layer name at '('");
    /* A @name may be as long as its limit, and odd-but-allowed characters round-trip. */
    assert_int_equal(check_spec("@aaaaaaaaaaaaaaaaaaaaaaa conv(2,3,pad=1) @x-1_Y relu "
                                "add(from=@x-1_Y) concat(@aaaaaaaaaaaaaaaaaaaaaaa)",
                                MNIST, 0),
                     1);
    assert_int_equal(check_spec("res[ relu | ] res[ res[ tanh ] | @s ] concat(@s)", MNIST, 0), 1);
}

/* Long and deep specs fail fast on a limit instead of exhausting the stack, time or memory. */
static void test_hostile_lengths(void **state) {
    (void)state;
    char *s = repeat("", "res[ ", 300000, "relu");
    expect_error(s, MNIST, "layer 1: res[ ] blocks nest more than 64 deep");
    free(s);
    s = repeat("", "res[", 64, "relu");
    char *t = repeat(s, "]", 64, "");
    assert_int_equal(check_spec(t, MNIST, 0), 1);
    free(s), free(t);
    s = repeat("", "relu ", 200000, "");
    expect_error(s, MNIST, "layer 10001: more than 10000 layers");
    free(s);
    s = repeat("", "res[ relu ] ", 5000, "");
    assert_int_equal(check_spec(s, MNIST, 0), 1); /* 10000 nodes exactly */
    free(s);
    s = repeat("linear(", "1", 1 << 20, ")");
    expect_error(s, MNIST, "layer 1 (linear): expected a number at '11111111111111111111...'");
    free(s);
    s = repeat("linear(", "0", 1 << 20, "1)");
    assert_int_equal(check_spec(s, MNIST, 0), 1);
    free(s);
    s = repeat("conv", "(", 1 << 20, "");
    expect_error(s, MNIST, "layer 1 (conv): expected a number at '((((((((((((((((((((...'");
    free(s);
    s = repeat("", "]", 1 << 20, "");
    expect_error(s, MNIST, "layer 1: ']' outside a res[ ] block");
    free(s);
    /* Thousands of names: each looked up in turn, up to the limit. */
    const size_t count = 20000;
    s = malloc(count * 8 + 64);
    size_t len = 0;
    for (size_t i = 0; i < count; i++) len += (size_t)sprintf(s + len, "@n%zu ", i);
    sprintf(s + len, "relu");
    expect_error(s, MNIST, "layer 1: more than 10000 @names");
    len = 0;
    for (size_t i = 0; i < 5000; i++) len += (size_t)sprintf(s + len, "relu @n%zu ", i);
    sprintf(s + len, "concat(@n0)");
    assert_int_equal(check_spec(s, (dpt_shape){1, 1, 1}, 0), 1);
    free(s);
}

static void test_random_specs(void **state) {
    (void)state;
    const char *seed_text = getenv("DPT_FUZZ_SEED"), *cases_text = getenv("DPT_FUZZ_CASES");
    const uint64_t seed = seed_text ? strtoull(seed_text, NULL, 0) : 20240611;
    const long cases = cases_text ? strtol(cases_text, NULL, 0) : 4000;
    seed_state = seed;
    verbose = getenv("DPT_FUZZ_VERBOSE") != NULL;
    buffer b = {.cap = 4096};
    b.s = malloc(b.cap);
    long built = 0;
    for (long i = 0; i < cases; i++) {
        b.len = 0;
        b.s[0] = 0;
        gen_items(&b, 0);
        if (below(5) == 0) mutate(&b);
        const dpt_shape in = PICK(shapes);
        built += check_spec(b.s, in, below(8) ? 0 : 10);
    }
    free(b.s);
    /* The grammar must reach both outcomes often enough to test them. */
    if (built < cases / 20 || built > cases - cases / 20)
        fail_msg("seed %llu: %ld of %ld random specs built", (unsigned long long)seed, built,
                 cases);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_sizes),
        cmocka_unit_test(test_hostile_text),
        cmocka_unit_test(test_hostile_lengths),
        cmocka_unit_test(test_random_specs),
    };
    return cmocka_run_group_tests_name("spec_fuzz", tests, NULL, NULL);
}

#else

/* The first byte picks the input shape; the rest is the spec. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    char *spec = malloc(size);
    memcpy(spec, data + 1, size - 1);
    spec[size - 1] = 0;
    seed_state = data[0];
    check_spec(spec, shapes[data[0] % (sizeof shapes / sizeof shapes[0])], data[0] & 8 ? 10 : 0);
    free(spec);
    return 0;
}

#endif
