/* The layer kinds against tests/reference_layers.c, a naive double-precision reference written
   from PyTorch's documented semantics:
     - the reference's backward against central finite differences of its forward (double,
       tight tolerance), on fixed edge cases and seeded random shapes;
     - every optimized kernel's forward and backward (output, parameter gradients, the gradient
       for every input, BatchNorm's statistics) against the reference on the same cases, with
       Dropout's mask reproduced from the documented stream;
     - hand-computed answers that pin the reference to PyTorch's semantics (a gradient check
       cannot tell a convolution from a cross-correlation), and a flipped kernel shown caught;
     - Dropout's masks, BatchNorm's statistics and state, the softmax cross-entropy. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dptrain/layer.h"
#include "dptrain/loss.h"
#include "dptrain/model.h"
#include "reference_layers.h"

#include "../src/layers/avx512.h"
#include "../src/layers/conv_direct.h"
#include "../src/layers/linear_kernels.h"
#include "../src/layers/maxpool_2x2.h"
#include "../src/layers/row_sums.h"

/* Central differences of the double-precision reference: step, and tolerance (relative, and
   absolute below 1). */
#define FD_STEP 1e-5
#define FD_TOLERANCE 1e-6
/* The float kernels against the reference (relative, and absolute below 1). */
#define KERNEL_TOLERANCE 1e-4
/* Seeded random cases per kind; a deeper sweep: -DRANDOM_CASES_PER_KIND=100 -DCASE_SEED=7. */
#ifndef RANDOM_CASES_PER_KIND
#define RANDOM_CASES_PER_KIND 4
#endif
#ifndef CASE_SEED
#define CASE_SEED 2024
#endif

/* ---- Small helpers. */

static void *alloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size);
    assert_non_null(p);
    return p;
}
#define NEW(type, count) ((type *)alloc((count), sizeof(type)))

static int between(dpt_rng *rng, int lo, int hi) {
    return lo + (int)dpt_rng_below(rng, (uint32_t)(hi - lo + 1));
}

static double uniform(dpt_rng *rng, double lo, double hi) {
    return lo + (hi - lo) * dpt_rng_uniform(rng);
}

static void fill_floats(dpt_rng *rng, float *a, size_t n, double lo, double hi) {
    for (size_t i = 0; i < n; i++) a[i] = (float)uniform(rng, lo, hi);
}

static void fill_doubles(dpt_rng *rng, double *a, size_t n, double lo, double hi) {
    for (size_t i = 0; i < n; i++) a[i] = uniform(rng, lo, hi);
}

/* Distinct values of random sign whose magnitudes are spaced 2/n apart from each other and
   from zero, so that no finite-difference step crosses an activation's kink or changes which
   element a max-pool window picks. */
static void fill_separated(dpt_rng *rng, double *a, size_t n) {
    uint32_t *perm = NEW(uint32_t, n);
    for (uint32_t i = 0; i < n; i++) perm[i] = i;
    dpt_rng_shuffle(rng, perm, n);
    for (size_t i = 0; i < n; i++)
        a[i] = (dpt_rng_uniform(rng) < 0.5 ? -2.0 : 2.0) * (perm[i] + 1) / (double)n;
    free(perm);
}

/* Values from {-1, -0.5, 0, 0.5, 1}: max-pool windows tie and activations sit on their kinks. */
static void fill_ties(dpt_rng *rng, float *a, size_t n) {
    for (size_t i = 0; i < n; i++) a[i] = 0.5f * (float)between(rng, -2, 2);
}

/* Marks memory a function must overwrite: a NaN left over fails every comparison. */
static void poison(float *a, size_t n) {
    for (size_t i = 0; i < n; i++) a[i] = NAN;
}

static double *widen(const float *a, size_t n) {
    double *d = NEW(double, n);
    for (size_t i = 0; i < n; i++) d[i] = a[i];
    return d;
}

static int close_to(double got, double want, double tolerance) {
    return fabs(got - want) <= tolerance * fmax(1.0, fabs(want)); /* false for NaN */
}

/* A float kernel's values against the reference's. */
static void expect_close(const char *spec, const char *what, const float *got, const double *want,
                         size_t count) {
    for (size_t i = 0; i < count; i++)
        if (!close_to(got[i], want[i], KERNEL_TOLERANCE))
            fail_msg("%s: %s[%zu]: kernel %.9g, reference %.9g", spec, what, i, (double)got[i],
                     want[i]);
}

static double max_difference(const float *a, const double *b, size_t count) {
    double worst = 0;
    for (size_t i = 0; i < count; i++) worst = fmax(worst, fabs(a[i] - b[i]));
    return worst;
}

/* ---- A layer under test: the last node of a model built from a spec. Two-input kinds need a
   saved tensor ("@a conv(2,1) concat(@a)"); the test drives the last node alone on arrays of
   its own, so what comes before it only gives it shapes and offsets. */

typedef struct layer_case {
    char spec[96];
    dpt_shape in; /* the model's input */
    int n;        /* samples */
    int training;
    int ties;  /* inputs from fill_ties (no finite differences across a tie) */
    int large; /* MNIST-sized: the kernel comparison only, finite differences would be slow */
} layer_case;

static const struct {
    const char *name;
    ref_kind kind;
} reference_kinds[] = {
    {"conv", REF_CONV},         {"convtranspose", REF_CONVTRANSPOSE},
    {"linear", REF_LINEAR},     {"maxpool", REF_MAXPOOL},
    {"avgpool", REF_AVGPOOL},   {"globalavgpool", REF_GLOBALAVGPOOL},
    {"upsample", REF_UPSAMPLE}, {"batchnorm", REF_BATCHNORM},
    {"dropout", REF_DROPOUT},   {"dropout2d", REF_DROPOUT2D},
    {"relu", REF_RELU},         {"leakyrelu", REF_LEAKYRELU},
    {"elu", REF_ELU},           {"sigmoid", REF_SIGMOID},
    {"tanh", REF_TANH},         {"flatten", REF_FLATTEN},
    {"add", REF_ADD},           {"concat", REF_CONCAT},
};

static ref_kind reference_kind(const char *name) {
    for (size_t i = 0; i < sizeof reference_kinds / sizeof reference_kinds[0]; i++)
        if (strcmp(reference_kinds[i].name, name) == 0) return reference_kinds[i].kind;
    fail_msg("layer kind '%s' has no reference in tests/reference_layers.c", name);
    return REF_RELU;
}

/* The layer's argument called `name`, after setup. */
static double arg(const dpt_layer *l, const char *name) {
    for (int i = 0; i < DPT_LAYER_MAX_ARGS && l->kind->args[i].name; i++)
        if (strcmp(l->kind->args[i].name, name) == 0) return l->arg[i];
    fail_msg("layer kind '%s' has no argument '%s'", l->kind->name, name);
    return 0;
}

static int is_dropout(const dpt_layer *l) {
    return strcmp(l->kind->name, "dropout") == 0 || strcmp(l->kind->name, "dropout2d") == 0;
}

/* Units of one sample sharing one draw: values for dropout, channels for dropout2d. */
static size_t dropout_units(const dpt_layer *l) {
    return strcmp(l->kind->name, "dropout2d") == 0 ? (size_t)l->in[0].c : dpt_shape_size(l->in[0]);
}

/* The mask src/layers/dropout.c documents: sample s draws from dpt_pass_rng(pass, node,
   first + s), one uniform per unit in memory order, and the unit is dropped when its draw is
   below p. keep: n * dropout_units(l) flags. */
static void dropout_mask(const dpt_layer *l, const dpt_pass *p, int n, unsigned char *keep) {
    const size_t units = dropout_units(l);
    const double drop = arg(l, "p");
    for (int s = 0; s < n; s++) {
        dpt_rng rng = dpt_pass_rng(p, l->index, p->first + (uint64_t)s);
        for (size_t u = 0; u < units; u++) keep[s * units + u] = dpt_rng_uniform(&rng) >= drop;
    }
}

/* The reference twin of layer l over n samples (running statistics and mask left to set). */
static ref_layer reference_of(const dpt_layer *l, int n, int training) {
    ref_layer r = {.kind = reference_kind(l->kind->name), .n = n, .training = training};
    for (int k = 0; k < l->kind->inputs; k++)
        r.in[k] = (ref_shape){l->in[k].c, l->in[k].h, l->in[k].w};
    switch (r.kind) {
    case REF_CONV:
        r.out_channels = (int)arg(l, "out");
        r.kernel = (int)arg(l, "kernel");
        r.stride = (int)arg(l, "stride");
        r.pad = (int)arg(l, "pad");
        r.bias = (int)arg(l, "bias");
        break;
    case REF_CONVTRANSPOSE:
        r.out_channels = (int)arg(l, "out");
        r.kernel = (int)arg(l, "kernel");
        r.stride = (int)arg(l, "stride");
        r.pad = (int)arg(l, "pad");
        r.outpad = (int)arg(l, "outpad");
        r.bias = (int)arg(l, "bias");
        break;
    case REF_UPSAMPLE:
        r.scale = (int)arg(l, "scale");
        r.bilinear = (int)arg(l, "mode"); /* the index of the word: nearest 0, bilinear 1 */
        break;
    case REF_MAXPOOL:
    case REF_AVGPOOL:
        r.kernel = (int)arg(l, "kernel");
        r.stride = (int)arg(l, "stride");
        if (r.stride == 0) r.stride = r.kernel; /* PyTorch's pools: stride defaults to kernel */
        break;
    case REF_LINEAR:
        r.out_channels = (int)arg(l, "out");
        break;
    case REF_BATCHNORM:
        r.affine = (int)arg(l, "affine");
        r.eps = arg(l, "eps");
        break;
    case REF_DROPOUT:
    case REF_DROPOUT2D:
        r.p = arg(l, "p");
        break;
    case REF_LEAKYRELU:
        r.alpha = arg(l, "slope");
        break;
    case REF_ELU:
        r.alpha = arg(l, "alpha");
        break;
    default:
        break;
    }
    return r;
}

/* The layer's state tensor called `name` in the model's state buffer. */
static float *state_tensor(const dpt_layer *l, float *state, const char *name) {
    for (int i = 0; i < l->nstate_tensors; i++)
        if (strcmp(l->state_tensors[i].name, name) == 0)
            return state + l->state_offset + l->state_tensors[i].offset;
    fail_msg("%s has no state tensor '%s'", l->name, name);
    return NULL;
}

typedef struct fixture {
    const layer_case *c;
    dpt_model m;
    const dpt_layer *l; /* the model's last node */
    int inputs;
    size_t nin[DPT_LAYER_MAX_INPUTS], nout, nscratch;
    dpt_pass pass;
    float *state, *stats; /* the model's state buffer and statistics segment (poisoned) */
    double *running;      /* batchnorm: the running mean and variance in the state, in double */
    unsigned char *keep;  /* dropout in training: the mask the kernel draws */
    ref_layer ref;
} fixture;

/* The layer's declared parameter tensors must be the reference's (PyTorch's): same names,
   shapes and places, so one flat layout serves both. */
static void check_tensors(const fixture *f) {
    ref_tensor t[2];
    const int count = ref_param_tensors(&f->ref, t);
    const dpt_layer *l = f->l;
    if (l->ntensors != count || l->nparams != ref_nparams(&f->ref))
        fail_msg("%s: %d parameter tensors (%zu values), PyTorch has %d (%zu)", f->c->spec,
                 l->ntensors, l->nparams, count, ref_nparams(&f->ref));
    for (int i = 0; i < count; i++) {
        const dpt_tensor *d = &l->tensors[i];
        int same = strcmp(d->name, t[i].name) == 0 && d->offset == t[i].offset &&
                   d->count == t[i].count && d->ndims == t[i].ndims;
        for (int j = 0; same && j < d->ndims; j++) same = d->dims[j] == t[i].dims[j];
        if (!same)
            fail_msg("%s: parameter tensor %d is '%s' (%d dims, first %d) at %zu, PyTorch's is "
                     "'%s' (%d dims, first %d) at %zu",
                     f->c->spec, i, d->name, d->ndims, d->dims[0], d->offset, t[i].name, t[i].ndims,
                     t[i].dims[0], t[i].offset);
    }
}

static void fixture_open(fixture *f, const layer_case *c) {
    memset(f, 0, sizeof *f);
    f->c = c;
    dpt_err err;
    if (dpt_model_build(c->spec, c->in, 0, &f->m, &err)) fail_msg("%s: %s", c->spec, err.msg);
    const dpt_layer *l = f->l = &f->m.layers[f->m.nlayers - 1];
    f->inputs = l->kind->inputs;
    for (int k = 0; k < f->inputs; k++) f->nin[k] = (size_t)c->n * dpt_shape_size(l->in[k]);
    f->nout = (size_t)c->n * dpt_shape_size(l->out);
    f->nscratch = l->kind->scratch ? l->kind->scratch(l, c->n) : 0;
    f->state = NEW(float, f->m.nstate);
    for (int i = 0; i < f->m.nlayers; i++)
        if (f->m.layers[i].kind->init_state)
            f->m.layers[i].kind->init_state(&f->m.layers[i],
                                            f->state + f->m.layers[i].state_offset);
    f->stats = NEW(float, f->m.nstats);
    poison(f->stats, f->m.nstats);
    f->pass = (dpt_pass){.training = c->training,
                         .key = dpt_pass_key(1234, 2, 5),
                         .first = 40,
                         .stats = f->stats,
                         .state = f->state};
    f->ref = reference_of(l, c->n, c->training);

    const ref_shape out = ref_out_shape(&f->ref);
    if (ref_inputs(&f->ref) != f->inputs || out.c != l->out.c || out.h != l->out.h ||
        out.w != l->out.w)
        fail_msg("%s on %dx%dx%d: output %dx%dx%d, PyTorch's is %dx%dx%d", c->spec, l->in[0].c,
                 l->in[0].h, l->in[0].w, l->out.c, l->out.h, l->out.w, out.c, out.h, out.w);
    check_tensors(f);

    if (f->ref.kind == REF_BATCHNORM) {
        /* Running statistics far from a batch's, so that using one for the other shows. */
        const int C = l->in[0].c;
        float *mean = state_tensor(l, f->state, "running_mean");
        float *var = state_tensor(l, f->state, "running_var");
        dpt_rng rng = dpt_rng_stream(99, DPT_STREAM_INIT, 0);
        fill_floats(&rng, mean, (size_t)C, -0.5, 0.5);
        fill_floats(&rng, var, (size_t)C, 0.3, 2.0);
        f->running = NEW(double, 2 * (size_t)C);
        for (int i = 0; i < C; i++) f->running[i] = mean[i], f->running[C + i] = var[i];
        f->ref.running_mean = f->running;
        f->ref.running_var = f->running + C;
    }
    if (is_dropout(l) && c->training) {
        f->keep = NEW(unsigned char, dropout_units(l) * (size_t)c->n);
        dropout_mask(l, &f->pass, c->n, f->keep);
        f->ref.keep = f->keep;
    }
}

static void fixture_close(fixture *f) {
    dpt_model_free(&f->m);
    free(f->state), free(f->stats), free(f->running), free(f->keep);
}

/* ---- The reference's backward against central finite differences of its forward. */

/* L = sum(R * forward(x)) for the reference layer. */
typedef struct objective {
    const ref_layer *r;
    const double *params;
    double *const *x;
    const double *R;
    double *out;
    size_t nout;
} objective;

static double objective_value(const objective *o) {
    ref_forward(o->r, o->params, (const double *const *)o->x, o->out);
    double L = 0;
    for (size_t i = 0; i < o->nout; i++) L += o->R[i] * o->out[i];
    return L;
}

/* d L / d v[i] by central differences, for each of v's count values, against `analytic`. */
static void check_against_fd(const char *spec, const char *what, const objective *o, double *v,
                             size_t count, const double *analytic) {
    for (size_t i = 0; i < count; i++) {
        const double saved = v[i];
        v[i] = saved + FD_STEP;
        const double plus = objective_value(o);
        v[i] = saved - FD_STEP;
        const double minus = objective_value(o);
        v[i] = saved;
        const double numeric = (plus - minus) / (2 * FD_STEP);
        if (!close_to(analytic[i], numeric, FD_TOLERANCE))
            fail_msg("%s: reference d/d%s[%zu]: backward %.12g, finite difference %.12g", spec,
                     what, i, analytic[i], numeric);
    }
}

static void test_reference_gradients(void **state) {
    const layer_case *c = *state;
    fixture f;
    fixture_open(&f, c);
    const ref_layer *r = &f.ref;
    const size_t nparams = ref_nparams(r);
    dpt_rng rng = dpt_rng_stream(11, DPT_STREAM_INIT, 0);
    double *x[2] = {NULL, NULL}, *dx[2] = {NULL, NULL};
    double *params = NEW(double, nparams), *grads = NEW(double, nparams);
    double *R = NEW(double, f.nout), *out = NEW(double, f.nout);
    for (int k = 0; k < f.inputs; k++) {
        x[k] = NEW(double, f.nin[k]), dx[k] = NEW(double, f.nin[k]);
        fill_separated(&rng, x[k], f.nin[k]);
    }
    fill_doubles(&rng, params, nparams, -1, 1);
    fill_doubles(&rng, R, f.nout, -1, 1);
    ref_backward(r, params, (const double *const *)x, R, grads, dx);
    const objective o = {r, params, x, R, out, f.nout};
    for (int k = 0; k < f.inputs; k++)
        check_against_fd(c->spec, k ? "saved input" : "input", &o, x[k], f.nin[k], dx[k]);
    check_against_fd(c->spec, "params", &o, params, nparams, grads);
    for (int k = 0; k < f.inputs; k++) free(x[k]), free(dx[k]);
    free(params), free(grads), free(R), free(out);
    fixture_close(&f);
}

/* ---- Each optimized kernel against the reference. */

/* BatchNorm in training writes n*mean and n*(unbiased variance) per channel to its slice of
   the statistics segment; nothing else in the segment is written, in any mode. */
static void check_stats(const fixture *f, const double *x) {
    const dpt_layer *l = f->l;
    const int writes = f->ref.kind == REF_BATCHNORM && f->c->training;
    if (writes) {
        assert_int_equal(l->nstats, 2 * (size_t)l->in[0].c);
        double *want = NEW(double, l->nstats);
        ref_batchnorm_stats(&f->ref, x, want);
        expect_close(f->c->spec, "statistics", f->stats + l->stat_offset, want, l->nstats);
        free(want);
    }
    for (size_t i = 0; i < f->m.nstats; i++)
        if (!(writes && i >= l->stat_offset && i < l->stat_offset + l->nstats) &&
            !isnan(f->stats[i]))
            fail_msg("%s: statistics[%zu] written (%g)", f->c->spec, i, (double)f->stats[i]);
}

static void expect_grads_close(const fixture *f, const float *grads, const double *want) {
    for (int t = 0; t < f->l->ntensors; t++) {
        const dpt_tensor *d = &f->l->tensors[t];
        char what[40];
        snprintf(what, sizeof what, "d%s", d->name);
        expect_close(f->c->spec, what, grads + d->offset, want + d->offset, d->count);
    }
}

static void test_kernel_against_reference(void **state) {
    const layer_case *c = *state;
    fixture f;
    fixture_open(&f, c);
    const dpt_layer *l = f.l;
    const int n = c->n;
    dpt_rng rng = dpt_rng_stream(12, DPT_STREAM_INIT, 0);
    float *params = NEW(float, l->nparams), *grads = NEW(float, l->nparams);
    float *out = NEW(float, f.nout), *dout = NEW(float, f.nout), *scratch = NEW(float, f.nscratch);
    float *x[2] = {NULL, NULL}, *din[2] = {NULL, NULL};
    for (int k = 0; k < f.inputs; k++) {
        x[k] = NEW(float, f.nin[k]), din[k] = NEW(float, f.nin[k]);
        if (c->ties)
            fill_ties(&rng, x[k], f.nin[k]);
        else
            fill_floats(&rng, x[k], f.nin[k], -1, 1);
    }
    fill_floats(&rng, params, l->nparams, -1, 1);
    fill_floats(&rng, dout, f.nout, -1, 1);

    poison(out, f.nout);
    l->kind->forward(l, &f.pass, params, (const float *const *)x, out, scratch, n);
    /* The model's scratch is shared by every node: backward may not rely on forward's. */
    poison(scratch, f.nscratch);
    poison(grads, l->nparams);
    for (int k = 0; k < f.inputs; k++) poison(din[k], f.nin[k]);
    l->kind->backward(l, &f.pass, params, grads, (const float *const *)x, out, dout, din, scratch,
                      n);

    /* The reference on the same values, in double. */
    double *pd = widen(params, l->nparams), *dd = widen(dout, f.nout);
    double *xd[2] = {NULL, NULL}, *dind[2] = {NULL, NULL};
    double *outd = NEW(double, f.nout), *gradsd = NEW(double, l->nparams);
    for (int k = 0; k < f.inputs; k++)
        xd[k] = widen(x[k], f.nin[k]), dind[k] = NEW(double, f.nin[k]);
    ref_forward(&f.ref, pd, (const double *const *)xd, outd);
    ref_backward(&f.ref, pd, (const double *const *)xd, dd, gradsd, dind);

    expect_close(c->spec, "output", out, outd, f.nout);
    for (int k = 0; k < f.inputs; k++)
        expect_close(c->spec, k ? "d saved input" : "d input", din[k], dind[k], f.nin[k]);
    expect_grads_close(&f, grads, gradsd);
    check_stats(&f, xd[0]);

    /* Without the first input's gradient, the parameter gradients and the other input's still
       come out. */
    poison(grads, l->nparams);
    if (f.inputs > 1) poison(din[1], f.nin[1]);
    float *const some[2] = {NULL, din[1]};
    l->kind->backward(l, &f.pass, params, grads, (const float *const *)x, out, dout, some, scratch,
                      n);
    expect_grads_close(&f, grads, gradsd);
    if (f.inputs > 1) expect_close(c->spec, "d saved input (alone)", din[1], dind[1], f.nin[1]);

    for (int k = 0; k < f.inputs; k++) free(x[k]), free(din[k]), free(xd[k]), free(dind[k]);
    free(params), free(grads), free(out), free(dout), free(scratch);
    free(pd), free(dd), free(outd), free(gradsd);
    fixture_close(&f);
}

/* ---- The direct convolution's AVX-512 kernels give the plain kernels' bits: the same fused
   multiply-adds in the same order, whatever the tile (flat or channels in lanes), tail or padding
   columns; for the output, the output with a flipped kernel (the input gradient) and the weight
   gradient. The last five shapes have channels in lanes (32s): 64 + 32, fewer outputs than a
   tile, 5x5 without padding, 32 in lanes and 8 + 4 in flat tiles. */
static void test_direct_fast_is_plain(void **state) {
    (void)state;
    if (!dpt_own_kernels()) skip();
    static const dpt_direct shapes[] = {
        {1, 28, 28, 8, 3, 1}, {8, 14, 14, 16, 3, 1}, {16, 7, 7, 32, 3, 1},  {3, 9, 7, 12, 3, 1},
        {2, 11, 19, 3, 5, 0}, {3, 15, 23, 2, 5, 4},  {5, 4, 5, 13, 3, 2},   {2, 1, 1, 9, 3, 1},
        {4, 6, 40, 5, 2, 1},  {7, 5, 3, 4, 1, 0},    {6, 33, 17, 20, 3, 1}, {1, 2, 70, 1, 1, 0},
        {5, 9, 13, 96, 3, 1}, {3, 1, 1, 32, 3, 1},   {2, 12, 10, 64, 5, 0}, {4, 3, 2, 32, 2, 1},
        {3, 5, 6, 44, 3, 1},
    };
    dpt_rng rng = dpt_rng_stream(21, DPT_STREAM_INIT, 0);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const dpt_direct *d = &shapes[i];
        const int ho = d->h + 2 * d->pad - d->k + 1, wo = d->w + 2 * d->pad - d->k + 1;
        const size_t nin = (size_t)d->c * d->h * d->w, nout = (size_t)d->m * ho * wo;
        const size_t nw = (size_t)d->m * d->c * d->k * d->k;
        float *in = NEW(float, nin), *w = NEW(float, nw), *bias = NEW(float, d->m);
        float *packed = NEW(float, dpt_direct_packed(d));
        float *scratch = NEW(float, dpt_direct_scratch(d) + dpt_direct_grad_scratch(d, 2));
        float *in2 = NEW(float, 2 * nin), *dout2 = NEW(float, 2 * nout);
        float *fast = NEW(float, nout), *plain = NEW(float, nout), *dout = NEW(float, nout);
        float *dw_fast = NEW(float, nw), *dw_plain = NEW(float, nw);
        fill_floats(&rng, in, nin, -1, 1), fill_floats(&rng, w, nw, -1, 1);
        fill_floats(&rng, bias, (size_t)d->m, -1, 1), fill_floats(&rng, dout, nout, -1, 1);
        for (int flip = 0; flip < 2; flip++) {
            /* flip reads w as (c, m, k, k): the same count of weights. */
            dpt_direct_pack(d, w, flip, packed);
            poison(fast, nout), poison(plain, nout);
            dpt_direct_conv(d, packed, flip ? NULL : bias, in, fast, scratch, 1);
            dpt_direct_conv(d, packed, flip ? NULL : bias, in, plain, scratch, 0);
            if (memcmp(fast, plain, sizeof(float) * nout) != 0)
                fail_msg("direct conv c=%d %dx%d m=%d k=%d pad=%d flip=%d: fast and plain differ",
                         d->c, d->h, d->w, d->m, d->k, d->pad, flip);
        }
        /* The weight gradient of two samples: the input and gradient, then the same reversed. */
        for (size_t k = 0; k < nin; k++) in2[k] = in[k], in2[nin + k] = -in[nin - 1 - k];
        for (size_t k = 0; k < nout; k++) dout2[k] = dout[k], dout2[nout + k] = dout[nout - 1 - k];
        poison(dw_fast, nw), poison(dw_plain, nw);
        dpt_direct_weight_grad(d, 2, in2, dout2, dw_fast, scratch, 1);
        dpt_direct_weight_grad(d, 2, in2, dout2, dw_plain, scratch, 0);
        if (memcmp(dw_fast, dw_plain, sizeof(float) * nw) != 0)
            fail_msg("direct weight gradient c=%d %dx%d m=%d k=%d pad=%d: fast and plain differ",
                     d->c, d->h, d->w, d->m, d->k, d->pad);
        free(in2), free(dout2);
        free(in), free(w), free(bias), free(packed), free(scratch), free(fast), free(plain);
        free(dout), free(dw_fast), free(dw_plain);
    }
}

/* ---- Linear's own kernels: the AVX-512 ones give the plain ones' bits for sample, input and
   output counts around their tiles (4 samples x 6 outputs, 16 and 32 inputs) and a block of
   samples (45 x 784 passes 40 a block), signed zeros among the values; and both are within
   float rounding of the exact sums. */
/* init + the sum of a[k * as] * b[k * bs] over k < n, exactly enough (double), and into *size the
   sum of the terms' magnitudes. */
static double exact_dot(const float *a, size_t as, const float *b, size_t bs, int n, double init,
                        double *size) {
    double sum = init;
    *size = fabs(init);
    for (int k = 0; k < n; k++) {
        const double term = (double)a[k * as] * b[k * bs];
        sum += term, *size += fabs(term);
    }
    return sum;
}

static void check_linear_near_exact(const float *in, const float *W, const float *b,
                                    const float *out, const float *dout, const float *dW, int n,
                                    int nin, int nout) {
    double size;
    for (int s = 0; s < n; s++)
        for (int o = 0; o < nout; o++) {
            const double exact =
                exact_dot(in + (size_t)s * nin, 1, W + (size_t)o * nin, 1, nin, b[o], &size);
            const float got = out[(size_t)s * nout + o];
            if (fabs(got - exact) > size * 1e-6)
                fail_msg("linear %dx%d->%d out[%d][%d]: %.9g vs exact %.9g", n, nin, nout, s, o,
                         (double)got, exact);
        }
    for (int o = 0; o < nout; o++)
        for (int k = 0; k < nin; k++) {
            const double exact =
                exact_dot(dout + o, (size_t)nout, in + k, (size_t)nin, n, 0, &size);
            const float got = dW[(size_t)o * nin + k];
            if (fabs(got - exact) > size * 1e-6)
                fail_msg("linear %dx%d->%d dW[%d][%d]: %.9g vs exact %.9g", n, nin, nout, o, k,
                         (double)got, exact);
        }
}

static void test_linear_fast_is_plain(void **state) {
    (void)state;
    if (!dpt_avx512()) skip();
    static const int shapes[][3] = {{1, 1, 1},     {3, 15, 5},    {4, 16, 6}, {5, 17, 7},
                                    {8, 31, 12},   {9, 33, 13},   {7, 48, 1}, {2, 70, 19},
                                    {45, 784, 13}, {32, 100, 300}};
    dpt_rng rng = dpt_rng_stream(25, DPT_STREAM_INIT, 0);
    for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
        const int n = shapes[c][0], nin = shapes[c][1], nout = shapes[c][2];
        const size_t nx = (size_t)n * nin, nw = (size_t)nout * nin, ny = (size_t)n * nout;
        float *in = NEW(float, nx), *W = NEW(float, nw), *b = NEW(float, nout);
        float *dout = NEW(float, ny), *out[2], *dW[2];
        fill_floats(&rng, in, nx, -1, 1), fill_floats(&rng, W, nw, -1, 1);
        fill_floats(&rng, b, (size_t)nout, -1, 1), fill_floats(&rng, dout, ny, -1, 1);
        in[nx - 1] = -0.0f, W[0] = 0.0f, dout[ny / 2] = -0.0f;
        for (int fast = 0; fast < 2; fast++) {
            out[fast] = NEW(float, ny), dW[fast] = NEW(float, nw);
            poison(out[fast], ny), poison(dW[fast], nw);
            dpt_linear_dots(in, W, b, out[fast], n, nin, nout, fast);
            dpt_linear_weight_grad(dout, in, dW[fast], n, nin, nout, fast);
        }
        if (memcmp(out[0], out[1], sizeof(float) * ny) != 0)
            fail_msg("linear forward %dx%d->%d: fast and plain differ", n, nin, nout);
        if (memcmp(dW[0], dW[1], sizeof(float) * nw) != 0)
            fail_msg("linear weight gradient %dx%d->%d: fast and plain differ", n, nin, nout);
        check_linear_near_exact(in, W, b, out[1], dout, dW[1], n, nin, nout);
        free(in), free(W), free(b), free(dout);
        for (int fast = 0; fast < 2; fast++) free(out[fast]), free(dW[fast]);
    }
}

/* ---- The direct weight gradient of samples that take several chunks (conv_direct.c holds a
   chunk's padded inputs and gradients within 512 KB; here one sample a chunk): the sum its header
   describes, lane by lane, sample by sample, with both kernels. */
static void test_direct_weight_grad_in_chunks(void **state) {
    (void)state;
    const dpt_direct d = {2, 150, 150, 3, 3, 1}; /* 114,000 floats a sample */
    enum { N = 3 };
    const int wp = d.w + 2 * d.pad, ho = d.h, wo = d.w, kk = d.k * d.k;
    const size_t nin = (size_t)d.c * d.h * d.w, nout = (size_t)d.m * ho * wo;
    const size_t nw = (size_t)d.m * d.c * kk;
    assert_true(dpt_direct_grad_scratch(&d, N) < N * (nin + nout)); /* chunks, not the batch */
    float *in = NEW(float, N *nin), *dout = NEW(float, N *nout), *dw = NEW(float, nw);
    float *want = NEW(float, nw), *scratch = NEW(float, dpt_direct_grad_scratch(&d, N));
    dpt_rng rng = dpt_rng_stream(23, DPT_STREAM_INIT, 0);
    fill_floats(&rng, in, N * nin, -1, 1), fill_floats(&rng, dout, N * nout, -1, 1);
    for (int o = 0; o < d.m; o++)
        for (int t = 0; t < d.c * kk; t++) {
            const int ch = t / kk, ky = t % kk / d.k, kx = t % d.k;
            float lanes[16] = {0};
            for (int s = 0; s < N; s++)
                for (int y = 0; y < ho; y++)
                    for (int x = 0; x < wp && (y + 1 < ho || x < wo); x++) {
                        const int iy = y + ky - d.pad, ix = x + kx - d.pad;
                        const float g = x < wo ? dout[s * nout + ((size_t)o * ho + y) * wo + x] : 0;
                        const float v = iy >= 0 && iy < d.h && ix >= 0 && ix < d.w
                                            ? in[s * nin + ((size_t)ch * d.h + iy) * d.w + ix]
                                            : 0;
                        float *lane = &lanes[(y * wp + x) % 16];
                        *lane = fmaf(g, v, *lane);
                    }
            for (int h = 8; h; h /= 2)
                for (int l = 0; l < h; l++) lanes[l] += lanes[l + h];
            want[(size_t)o * d.c * kk + t] = lanes[0];
        }
    for (int fast = 0; fast <= dpt_own_kernels(); fast++) {
        poison(dw, nw);
        dpt_direct_weight_grad(&d, N, in, dout, dw, scratch, fast);
        if (memcmp(dw, want, sizeof(float) * nw) != 0)
            fail_msg("direct weight gradient in chunks (fast=%d): not the lanes' sum", fast);
    }
    free(in), free(dout), free(dw), free(want), free(scratch);
}

/* ---- The bias gradient's row sums: the AVX-512 kernel gives the plain kernel's bits (each row
   added in order), for row counts around the vector's 16 and rows of 1 to 784 values; rows of
   -0 keep a -0 start (no padding value is ever added). */
static void test_row_sums_fast_is_plain(void **state) {
    (void)state;
    if (!dpt_avx512()) skip();
    static const int rows[] = {1, 4, 8, 15, 16, 17, 33}, cols[] = {1, 5, 16, 17, 196, 784};
    dpt_rng rng = dpt_rng_stream(24, DPT_STREAM_INIT, 0);
    float *d = NEW(float, 33 * 784), fast[33], plain[33];
    for (size_t a = 0; a < sizeof rows / sizeof rows[0]; a++)
        for (size_t b = 0; b < sizeof cols / sizeof cols[0]; b++) {
            const int M = rows[a], P = cols[b];
            fill_floats(&rng, d, (size_t)M * P, -1, 1);
            fill_floats(&rng, fast, (size_t)M, -100, 100);
            for (int p = 0; p < P; p++) d[p] = -0.0f; /* row 0: -0 + (-0) + ... */
            fast[0] = -0.0f;
            memcpy(plain, fast, sizeof(float) * M);
            dpt_add_row_sums(d, M, P, fast, 1);
            dpt_add_row_sums(d, M, P, plain, 0);
            if (memcmp(fast, plain, sizeof(float) * M) != 0)
                fail_msg("row sums of %d x %d: fast and plain differ", M, P);
            assert_true(signbit(fast[0]));
        }
    free(d);
}

/* ---- The 2x2 max-pool's AVX-512 kernels give the plain kernels' bits: every width from 1 to 40
   (one, two and three vectors of outputs, masked tails, odd last columns), odd and even heights,
   values with ties, signed zeros and NaN. */
static void test_pool2_fast_is_plain(void **state) {
    (void)state;
    if (!dpt_avx512()) skip();
    static const float values[] = {-1.5f, -0.0f, 0.0f, 0.5f, 1.0f, 2.0f, NAN};
    dpt_rng rng = dpt_rng_stream(22, DPT_STREAM_INIT, 0);
    enum { PLANES = 3, MAX_W = 40, MAX_H = 5 };
    float in[PLANES * MAX_H * MAX_W], dout[PLANES * MAX_H * MAX_W];
    float out_fast[PLANES * MAX_H * MAX_W], out_plain[PLANES * MAX_H * MAX_W];
    float din_fast[PLANES * MAX_H * MAX_W], din_plain[PLANES * MAX_H * MAX_W];
    for (int h = 1; h <= MAX_H; h++)
        for (int w = 1; w <= MAX_W; w++) {
            const size_t nin = (size_t)PLANES * h * w, nout = (size_t)PLANES * (h / 2) * (w / 2);
            for (size_t i = 0; i < nin; i++) {
                const double u = dpt_rng_uniform(&rng);
                in[i] = u < 0.5 ? values[(int)(u * 14)] : (float)(4 * u - 3);
            }
            fill_floats(&rng, dout, nout, -1, 1);
            if (nout) dout[0] = -0.0f;
            poison(out_fast, nout), poison(out_plain, nout);
            poison(din_fast, nin), poison(din_plain, nin);
            dpt_pool2_forward(in, PLANES, h, w, out_fast, 1);
            dpt_pool2_forward(in, PLANES, h, w, out_plain, 0);
            dpt_pool2_backward(in, PLANES, h, w, dout, din_fast, 1);
            dpt_pool2_backward(in, PLANES, h, w, dout, din_plain, 0);
            if (memcmp(out_fast, out_plain, sizeof(float) * nout) != 0)
                fail_msg("maxpool 2x2 forward on %dx%d: fast and plain differ", h, w);
            if (memcmp(din_fast, din_plain, sizeof(float) * nin) != 0)
                fail_msg("maxpool 2x2 backward on %dx%d: fast and plain differ", h, w);
        }
}

/* ---- The cases: fixed edge cases, then seeded random ones for every kind in the table. */

static const layer_case fixed_cases[] = {
    {"conv(3,3,stride=2,pad=1,bias=0)", {2, 7, 5}, .n = 2},
    {"conv(2,5,pad=2)", {3, 6, 6}, .n = 2},
    {"conv(3,2,stride=3)", {2, 8, 7}, .n = 2}, /* the stride skips the last row and column */
    {"conv(2,1)", {3, 4, 4}, .n = 2},
    {"conv(2,3,pad=3)", {1, 2, 3}, .n = 1}, /* padding wider than the input */
    {"conv(9,3,pad=1)", {2, 5, 7}, .n = 2}, /* "same": shifted copies; 8 + 1 bias rows */
    {"conv(2,5,pad=2)", {2, 1, 3}, .n = 2}, /* "same", shifts past the whole image */
    {"conv(4,3,stride=2,pad=1)", {1, 28, 28}, .n = 2},
    /* Stride 1, pad < kernel: the direct kernel where the CPU has AVX-512 (conv_direct.h). */
    {"conv(12,3,pad=1)", {3, 9, 7}, .n = 2}, /* channel blocks of 8 and 4 (the 4 x 64 tile) */
    {"conv(3,5)", {2, 11, 19}, .n = 2},      /* no padding; the input gradient's pad is 4 */
    {"conv(2,3,pad=2)", {2, 4, 5}, .n = 2},  /* output larger than the input; gradient pad 0 */
    {"conv(5,2,pad=1)", {3, 6, 40}, .n = 2}, /* even kernel; rows of 42 over three vectors */
    {"conv(9,3,pad=1,bias=0)", {2, 1, 1}, .n = 3},
    {"convtranspose(3,2,stride=2)", {2, 5, 4}, .n = 2}, /* the U-Net's: tiles, no overlap */
    {"convtranspose(2,2,stride=2,outpad=1,bias=0)", {3, 3, 2}, .n = 2}, /* tiles and a margin */
    {"convtranspose(2,3,stride=2,pad=1,outpad=1)", {2, 4, 5}, .n = 2},  /* overlapping */
    {"convtranspose(2,4,stride=2,pad=1)", {3, 3, 4}, .n = 2},
    {"convtranspose(2,3)", {2, 4, 3}, .n = 2},                         /* stride 1: full overlap */
    {"convtranspose(2,2,stride=2,pad=1)", {2, 3, 3}, .n = 2},          /* tiles with a cut border */
    {"convtranspose(2,1,stride=3,outpad=2)", {2, 3, 2}, .n = 2},       /* gaps: the bias alone */
    {"convtranspose(1,5,stride=3,pad=3,outpad=1)", {1, 2, 3}, .n = 1}, /* pad past the taps */
    {"convtranspose(3,3,stride=2,pad=1,outpad=1)", {4, 1, 1}, .n = 3},
    {"linear(4) convtranspose(2,3,stride=2)", {1, 3, 3}, .n = 2}, /* on a C x 1 x 1 input */
    {"linear(5)", {2, 3, 3}, .n = 3},                             /* flattens a 3-D input */
    {"linear(1)", {7, 1, 1}, .n = 4},
    {"maxpool(2)", {1, 7, 5}, .n = 2}, /* floor mode drops the last row and column */
    {"maxpool(3,stride=2)", {2, 7, 8}, .n = 2},
    {"maxpool(2,stride=1)", {1, 5, 4}, .n = 3},
    {"avgpool(3)", {2, 7, 5}, .n = 2},
    {"avgpool(2,stride=1)", {1, 4, 5}, .n = 2},
    {"globalavgpool", {3, 5, 4}, .n = 2},
    {"upsample(2)", {2, 3, 5}, .n = 2},
    {"upsample(3)", {1, 5, 4}, .n = 2},
    {"upsample(1)", {2, 3, 2}, .n = 2},
    {"upsample(41)", {1, 2, 3}, .n = 1}, /* PyTorch's float index: output 41 reads input 0 */
    {"upsample(2,mode=bilinear)", {2, 5, 3}, .n = 2},
    {"upsample(3,mode=bilinear)", {2, 3, 4}, .n = 2},
    {"upsample(4,mode=bilinear)", {1, 1, 3}, .n = 2}, /* one row: both taps clamp */
    {"upsample(1,mode=bilinear)", {1, 3, 3}, .n = 1},
    {"batchnorm", {3, 4, 5}, .n = 3, .training = 1},
    {"batchnorm(affine=0)",
     {4, 1, 1},
     .n = 5,
     .training = 1},                             /* BatchNorm1d after a linear layer */
    {"batchnorm(eps=0.001)", {2, 3, 3}, .n = 2}, /* evaluation: the running statistics */
    {"batchnorm relu batchnorm",
     {2, 3, 2},
     .n = 3,
     .training = 1},                                         /* statistics at a nonzero offset */
    {"batchnorm relu batchnorm", {2, 3, 2}, .n = 3},         /* state at a nonzero offset */
    {"relu dropout(0.5)", {3, 4, 4}, .n = 3, .training = 1}, /* a node other than 0 */
    {"dropout2d(0.3)", {5, 3, 2}, .n = 4, .training = 1},
    {"dropout(1)", {2, 2, 2}, .n = 2, .training = 1}, /* everything dropped */
    {"dropout(0)", {2, 2, 2}, .n = 2, .training = 1},
    {"dropout(0.5)", {2, 3, 3}, .n = 2}, /* evaluation: the identity */
    {"res[ conv(3,3,pad=1) ]", {3, 5, 4}, .n = 2},
    {"@a conv(2,1) concat(@a)", {3, 4, 5}, .n = 2}, /* 3 saved channels, then 2 current */
    {"maxpool(2)", {2, 6, 6}, .n = 2, .ties = 1},   /* ties: the first maximum takes the gradient */
    {"maxpool(3,stride=2)", {2, 7, 7}, .n = 2, .ties = 1},
    {"maxpool(2)", {2, 7, 9}, .n = 2, .ties = 1}, /* odd: the last row and column get zeros */
    {"relu", {2, 4, 4}, .n = 2, .ties = 1},       /* ties: the derivative at 0 is PyTorch's */
    {"leakyrelu(0.1)", {2, 4, 4}, .n = 2, .ties = 1},
    {"elu(0.7)", {2, 4, 4}, .n = 2, .ties = 1},
    {"conv(16,5,pad=2)", {8, 28, 28}, .n = 3, .large = 1},
    {"conv(32,3,stride=2,pad=1,bias=0)", {16, 14, 14}, .n = 4, .large = 1},
    {"convtranspose(16,2,stride=2)", {32, 7, 7}, .n = 3, .large = 1},
    {"convtranspose(8,3,stride=2,pad=1,outpad=1,bias=0)", {16, 14, 14}, .n = 2, .large = 1},
    {"upsample(2)", {8, 28, 28}, .n = 2, .large = 1},
    {"upsample(2,mode=bilinear)", {8, 28, 28}, .n = 2, .large = 1},
    {"linear(10)", {32, 7, 7}, .n = 16, .large = 1},
    {"maxpool(2)", {16, 28, 28}, .n = 3, .large = 1},
    {"batchnorm", {16, 14, 14}, .n = 16, .training = 1, .large = 1},
    {"dropout2d(0.2)", {16, 7, 7}, .n = 16, .training = 1, .large = 1},
    {"dropout(0.37)", {4, 28, 28}, .n = 5, .training = 1, .large = 1}, /* the vector loop's draws */
};
enum { NFIXED = sizeof fixed_cases / sizeof fixed_cases[0] };

/* A random case of `kind`: non-square inputs, kernels, strides and padding drawn, small enough
   for finite differences. A kind without a branch here gets its bare name. */
static void random_case(dpt_rng *g, const char *kind, layer_case *c) {
    const int C = between(g, 1, 3);
    int H = between(g, 1, 7), W = between(g, 1, 7);
    char *spec = c->spec;
    const size_t size = sizeof c->spec;
    c->n = between(g, 1, 3);
    c->training = c->ties = 0;
    snprintf(spec, size, "%.20s", kind);
    if (strcmp(kind, "conv") == 0) {
        const int k = between(g, 1, 4), pad = between(g, 0, k), least = k - 2 * pad;
        H = between(g, least > 1 ? least : 1, 8), W = between(g, least > 1 ? least : 1, 8);
        snprintf(spec, size, "conv(%d,%d,stride=%d,pad=%d,bias=%d)", between(g, 1, 4), k,
                 between(g, 1, 3), pad, between(g, 0, 1));
    } else if (strcmp(kind, "convtranspose") == 0) {
        const int k = between(g, 1, 4), stride = between(g, 1, 3), pad = between(g, 0, k);
        const int outpad = between(g, 0, stride - 1);
        /* The smallest side whose output is not empty: (side - 1) * stride > 2 pad - k - outpad. */
        const int room = 2 * pad - k - outpad, least = room < 0 ? 1 : room / stride + 2;
        H = between(g, least, 6), W = between(g, least, 6);
        snprintf(spec, size, "convtranspose(%d,%d,stride=%d,pad=%d,outpad=%d,bias=%d)",
                 between(g, 1, 4), k, stride, pad, outpad, between(g, 0, 1));
    } else if (strcmp(kind, "upsample") == 0) {
        H = between(g, 1, 5), W = between(g, 1, 5);
        snprintf(spec, size, "upsample(%d,mode=%s)", between(g, 1, 3),
                 between(g, 0, 1) ? "bilinear" : "nearest");
    } else if (strcmp(kind, "linear") == 0) {
        snprintf(spec, size, "linear(%d)", between(g, 1, 6));
    } else if (strcmp(kind, "maxpool") == 0 || strcmp(kind, "avgpool") == 0) {
        const int k = between(g, 1, 3), stride = between(g, 0, 3);
        H = between(g, k, 8), W = between(g, k, 8);
        if (stride)
            snprintf(spec, size, "%.20s(%d,stride=%d)", kind, k, stride);
        else
            snprintf(spec, size, "%.20s(%d)", kind, k);
    } else if (strcmp(kind, "batchnorm") == 0) {
        H = between(g, 1, 4), W = between(g, 1, 4);
        c->n = between(g, 2, 4);
        c->training = between(g, 0, 1);
        snprintf(spec, size, "batchnorm(affine=%d,eps=%g)", between(g, 0, 1),
                 between(g, 0, 1) ? 1e-5 : 1e-2);
    } else if (strcmp(kind, "dropout") == 0 || strcmp(kind, "dropout2d") == 0) {
        c->training = between(g, 0, 1);
        snprintf(spec, size, "%.20s(%g)", kind, 0.1 * between(g, 1, 9));
    } else if (strcmp(kind, "leakyrelu") == 0) {
        snprintf(spec, size, "leakyrelu(%g)", 0.01 * between(g, 1, 50));
    } else if (strcmp(kind, "elu") == 0) {
        snprintf(spec, size, "elu(%g)", 0.1 * between(g, 5, 20));
    } else if (strcmp(kind, "add") == 0) {
        if (between(g, 0, 1))
            snprintf(spec, size, "res[ conv(%d,3,pad=1) ]", C);
        else
            snprintf(spec, size, "@a tanh add(@a)");
    } else if (strcmp(kind, "concat") == 0) {
        snprintf(spec, size, "@a conv(%d,1) concat(@a)", between(g, 1, 3));
    }
    c->in = (dpt_shape){C, H, W};
}

/* ---- Hand-computed answers that pin the reference to PyTorch's semantics. */

typedef struct known_answer {
    const char *what;
    ref_layer r;
    const double *params, *in0, *in1, *out;
} known_answer;

#define REF(k, samples) .kind = k, .n = samples
#define ONE(c, h, w) .in = {{c, h, w}}
#define TWO(c0, h0, w0, c1, h1, w1) .in = {{c0, h0, w0}, {c1, h1, w1}}
#define V(...) ((const double[]){__VA_ARGS__})

/* clang-format off */
static const known_answer known_answers[] = {
    /* Cross-correlation: out[0][0] = 1*1 + 2*2 + 3*4 + 4*5; a flipped kernel would give 23. */
    {"conv 2x2 on 1..9",
     {REF(REF_CONV, 1), ONE(1, 3, 3), .out_channels = 1, .kernel = 2, .stride = 1, .bias = 1},
     V(1, 2, 3, 4, 0.5), V(1, 2, 3, 4, 5, 6, 7, 8, 9), NULL, V(37.5, 47.5, 67.5, 77.5)},
    {"conv 2x2, stride 2, pad 1",
     {REF(REF_CONV, 1), ONE(1, 3, 3), .out_channels = 1, .kernel = 2, .stride = 2, .pad = 1},
     V(1, 2, 3, 4), V(1, 2, 3, 4, 5, 6, 7, 8, 9), NULL, V(4, 18, 36, 77)},
    /* Weight (out, in, k, k): out[o] = w[o][0] x0 + w[o][1] x1. */
    {"conv 1x1, 2 to 2 channels",
     {REF(REF_CONV, 1), ONE(2, 1, 1), .out_channels = 2, .kernel = 1, .stride = 1},
     V(1, 2, 3, 4), V(1, 10), NULL, V(21, 43)},
    /* Transposed: each input value spreads the kernel over the output, the patches summed:
       rows 1 (1 2), 2 (1 2) -> 1, 1*2 + 2*1, 2*2; then 3 (3 4) ... Checked with PyTorch. */
    {"convtranspose 2x2 on 1 2",
     {REF(REF_CONVTRANSPOSE, 1), ONE(1, 1, 2), .out_channels = 1, .kernel = 2, .stride = 1,
      .bias = 1},
     V(1, 2, 3, 4, 0.5), V(1, 2), NULL, V(1.5, 4.5, 4.5, 3.5, 10.5, 8.5)},
    /* Weight (in, out, k, k): out[o] = w[0][o] x0 + w[1][o] x1 (an (out, in) layout gives 21). */
    {"convtranspose 1x1, 2 to 2 channels",
     {REF(REF_CONVTRANSPOSE, 1), ONE(2, 1, 1), .out_channels = 2, .kernel = 1, .stride = 1},
     V(1, 2, 3, 4), V(1, 10), NULL, V(31, 42)},
    /* Kernel 3, stride 2, pad 1, outpad 1 on 2x2: a 4x4 output (PyTorch's answer). */
    {"convtranspose 3x3, stride 2, pad 1, outpad 1",
     {REF(REF_CONVTRANSPOSE, 1), ONE(1, 2, 2), .out_channels = 1, .kernel = 3, .stride = 2,
      .pad = 1, .outpad = 1},
     V(1, 2, 3, 4, 5, 6, 7, 8, 9), V(1, 2, 3, 4), NULL,
     V(5, 14, 10, 12, 14, 36, 24, 30, 15, 34, 20, 24, 24, 55, 32, 36)},
    /* W (out, in): y = x W^T + b. */
    {"linear 3 to 2", {REF(REF_LINEAR, 1), ONE(3, 1, 1), .out_channels = 2},
     V(1, 2, 3, 4, 5, 6, 0.5, -0.5), V(1, 0, -1), NULL, V(-1.5, -2.5)},
    {"maxpool 2", {REF(REF_MAXPOOL, 1), ONE(1, 2, 4), .kernel = 2, .stride = 2},
     NULL, V(1, 5, 2, 2, 5, 2, 2, 3), NULL, V(5, 3)},
    {"maxpool 3, stride 1", {REF(REF_MAXPOOL, 1), ONE(1, 3, 4), .kernel = 3, .stride = 1},
     NULL, V(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), NULL, V(11, 12)},
    /* Floor mode: the fifth column is left out. */
    {"avgpool 2", {REF(REF_AVGPOOL, 1), ONE(1, 2, 5), .kernel = 2, .stride = 2},
     NULL, V(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), NULL, V(4, 6)},
    {"globalavgpool", {REF(REF_GLOBALAVGPOOL, 1), ONE(2, 1, 2)},
     NULL, V(1, 3, 2, 6), NULL, V(2, 4)},
    {"upsample 2 nearest", {REF(REF_UPSAMPLE, 1), ONE(1, 2, 2), .scale = 2},
     NULL, V(1, 2, 3, 4), NULL, V(1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4)},
    {"upsample 3 nearest", {REF(REF_UPSAMPLE, 1), ONE(1, 1, 2), .scale = 3},
     NULL, V(1, 2), NULL, V(1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2)},
    /* Sources (x + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (the right tap
       clamped), PyTorch's align_corners=False. */
    {"upsample 2 bilinear, one row", {REF(REF_UPSAMPLE, 1), ONE(1, 1, 2), .scale = 2, .bilinear = 1},
     NULL, V(0, 4), NULL, V(0, 1, 3, 4, 0, 1, 3, 4)},
    {"upsample 2 bilinear", {REF(REF_UPSAMPLE, 1), ONE(1, 2, 2), .scale = 2, .bilinear = 1},
     NULL, V(1, 2, 3, 4), NULL,
     V(1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4)},
    /* Sources -1/3 (0), 0, 1/3, 2/3, 1, 4/3 (clamped); PyTorch gives these up to float rounding. */
    {"upsample 3 bilinear", {REF(REF_UPSAMPLE, 1), ONE(1, 1, 2), .scale = 3, .bilinear = 1},
     NULL, V(0, 6), NULL, V(0, 0, 2, 4, 6, 6, 0, 0, 2, 4, 6, 6, 0, 0, 2, 4, 6, 6)},
    /* Batch mean 2, biased variance 1: xhat = -1, 1; then weight 2, bias 1. */
    {"batchnorm training", {REF(REF_BATCHNORM, 2), ONE(1, 1, 1), .training = 1, .affine = 1},
     V(2, 1), V(1, 3), NULL, V(-1, 3)},
    {"batchnorm evaluation",
     {REF(REF_BATCHNORM, 1), ONE(1, 1, 1), .affine = 1, .running_mean = V(1), .running_var = V(4)},
     V(2, 1), V(3), NULL, V(3)},
    {"dropout", {REF(REF_DROPOUT, 1), ONE(3, 1, 1), .p = 0.75, .training = 1,
                 .keep = (const unsigned char[]){1, 0, 1}},
     NULL, V(1, 2, 3), NULL, V(4, 0, 12)},
    {"dropout2d", {REF(REF_DROPOUT2D, 1), ONE(2, 1, 2), .p = 0.5, .training = 1,
                   .keep = (const unsigned char[]){0, 1}},
     NULL, V(1, 2, 3, 4), NULL, V(0, 0, 6, 8)},
    {"dropout evaluation", {REF(REF_DROPOUT, 1), ONE(2, 1, 1), .p = 0.5},
     NULL, V(1, 2), NULL, V(1, 2)},
    {"relu", {REF(REF_RELU, 1), ONE(3, 1, 1)}, NULL, V(-1, 0, 2), NULL, V(0, 0, 2)},
    {"leakyrelu 0.2", {REF(REF_LEAKYRELU, 1), ONE(2, 1, 1), .alpha = 0.2},
     NULL, V(-2, 3), NULL, V(-0.4, 3)},
    {"elu 2", {REF(REF_ELU, 1), ONE(2, 1, 1), .alpha = 2},
     NULL, V(-1, 1), NULL, V(-1.2642411176571153, 1)},
    {"sigmoid", {REF(REF_SIGMOID, 1), ONE(2, 1, 1)}, NULL, V(0, 2), NULL, V(0.5, 0.8807970779778823)},
    {"tanh", {REF(REF_TANH, 1), ONE(1, 1, 1)}, NULL, V(0.5), NULL, V(0.46211715726000974)},
    {"flatten", {REF(REF_FLATTEN, 1), ONE(2, 1, 2)}, NULL, V(1, 2, 3, 4), NULL, V(1, 2, 3, 4)},
    {"add", {REF(REF_ADD, 1), TWO(2, 1, 1, 2, 1, 1)}, NULL, V(1, 2), V(10, 20), V(11, 22)},
    /* torch.cat([saved, current], 1), sample by sample: in[1] is the saved tensor. */
    {"concat", {REF(REF_CONCAT, 2), TWO(1, 1, 1, 2, 1, 1)},
     NULL, V(3, 6), V(1, 2, 4, 5), V(1, 2, 3, 4, 5, 6)},
};
/* clang-format on */

static void test_reference_known_answers(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof known_answers / sizeof known_answers[0]; i++) {
        const known_answer *k = &known_answers[i];
        const size_t nout = k->r.n * ref_size(ref_out_shape(&k->r));
        double *out = NEW(double, nout);
        const double *in[2] = {k->in0, k->in1};
        ref_forward(&k->r, k->params, in, out);
        for (size_t j = 0; j < nout; j++)
            if (fabs(out[j] - k->out[j]) > 1e-12)
                fail_msg("reference %s: out[%zu] = %.17g, expected %.17g", k->what, j, out[j],
                         k->out[j]);
        free(out);
    }
    /* Nearest at scale 41 on a row (1, 2): PyTorch 1.13 gives 1 at column 41, where
       floor(41 / 41) would read the 2 (its index is floor(41 * float(1/41)) in float, 0). */
    const ref_layer up = {REF(REF_UPSAMPLE, 1), ONE(1, 1, 2), .scale = 41};
    double row[41 * 82];
    ref_forward(&up, NULL, (const double *const[]){V(1, 2), NULL}, row);
    assert_true(row[40] == 1 && row[41] == 1 && row[42] == 2 && row[81] == 2);
}

/* Backward answers the finite differences cannot give: where tied maxima send the gradient,
   and BatchNorm's statistics. */
static void test_reference_known_gradients(void **state) {
    (void)state;
    const ref_layer pool = {REF(REF_MAXPOOL, 1), ONE(1, 2, 4), .kernel = 2, .stride = 2};
    const double x[] = {5, 5, 1, 7, 5, 5, 7, 2}, dy[] = {1, 2}, want[] = {1, 0, 0, 2, 0, 0, 0, 0};
    double dx[8], stats[2];
    ref_backward(&pool, NULL, (const double *const[]){x, NULL}, dy, NULL,
                 (double *const[]){dx, NULL});
    for (int i = 0; i < 8; i++)
        if (dx[i] != want[i])
            fail_msg("reference maxpool ties: dx[%d] = %g, expected %g", i, dx[i], want[i]);
    /* n = 2 samples of 1, 3: n*mean = 4, n*unbiased variance = 2 * 2. */
    const ref_layer bn = {REF(REF_BATCHNORM, 2), ONE(1, 1, 1), .training = 1};
    ref_batchnorm_stats(&bn, V(1, 3), stats);
    assert_true(stats[0] == 4 && stats[1] == 4);
}

/* ---- A flipped convolution kernel is caught. A convolution that flipped its kernel (true
   convolution instead of PyTorch's cross-correlation) passes a gradient check against its own
   forward; only the comparison with an independent reference catches it. Here the reference run
   with the kernel flipped disagrees with the kernel far beyond the comparison's tolerance, and
   the kernel gives the hand-computed cross-correlation. */

static void flip_kernels(const ref_layer *r, double *w) {
    const int k = r->kernel;
    for (size_t plane = 0; plane < (size_t)r->out_channels * r->in[0].c; plane++) {
        double *a = w + plane * k * k;
        for (int i = 0; i < k * k / 2; i++) {
            const double t = a[i];
            a[i] = a[k * k - 1 - i];
            a[k * k - 1 - i] = t;
        }
    }
}

static void test_flipped_kernel_is_caught(void **state) {
    (void)state;
    static const layer_case c = {"conv(3,3,stride=2,pad=1)", {2, 6, 5}, .n = 2};
    fixture f;
    fixture_open(&f, &c);
    const dpt_layer *l = f.l;
    dpt_rng rng = dpt_rng_stream(13, DPT_STREAM_INIT, 0);
    float *params = NEW(float, l->nparams), *x = NEW(float, f.nin[0]);
    float *out = NEW(float, f.nout), *scratch = NEW(float, f.nscratch);
    fill_floats(&rng, params, l->nparams, -1, 1);
    fill_floats(&rng, x, f.nin[0], -1, 1);
    l->kind->forward(l, &f.pass, params, (const float *const[]){x}, out, scratch, c.n);
    double *pd = widen(params, l->nparams), *xd = widen(x, f.nin[0]);
    double *want = NEW(double, f.nout), *flipped = NEW(double, f.nout);
    ref_forward(&f.ref, pd, (const double *const[]){xd}, want);
    flip_kernels(&f.ref, pd);
    ref_forward(&f.ref, pd, (const double *const[]){xd}, flipped);
    expect_close(c.spec, "output", out, want, f.nout);
    assert_true(max_difference(out, flipped, f.nout) > 1000 * KERNEL_TOLERANCE);
    free(params), free(x), free(out), free(scratch), free(pd), free(xd), free(want), free(flipped);
    fixture_close(&f);

    /* The known answer of test_reference_known_answers, from the kernel. */
    static const layer_case small = {"conv(1,2)", {1, 3, 3}, .n = 1};
    fixture s;
    fixture_open(&s, &small);
    const float w[] = {1, 2, 3, 4, 0.5f}, in[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float y[4], col[64];
    assert_true(s.nscratch <= 64);
    s.l->kind->forward(s.l, &s.pass, w, (const float *const[]){in}, y, col, 1);
    const float expected[] = {37.5f, 47.5f, 67.5f, 77.5f};
    for (int i = 0; i < 4; i++)
        if (y[i] != expected[i])
            fail_msg("conv 2x2 on 1..9: out[%d] = %g, expected %g", i, (double)y[i],
                     (double)expected[i]);
    fixture_close(&s);
}

/* The same for a transposed convolution, whose weight is (in, out, k, k): the kernel agrees with
   the reference and not with it run on a flipped kernel, nor on the weight read as (out, in),
   and gives PyTorch's answer. */
static void test_convtranspose_layout_is_caught(void **state) {
    (void)state;
    static const layer_case c = {"convtranspose(3,3,stride=2,pad=1)", {2, 5, 4}, .n = 2};
    fixture f;
    fixture_open(&f, &c);
    const dpt_layer *l = f.l;
    const int C = l->in[0].c, M = l->out.c, kk = 9;
    dpt_rng rng = dpt_rng_stream(16, DPT_STREAM_INIT, 0);
    float *params = NEW(float, l->nparams), *x = NEW(float, f.nin[0]);
    float *out = NEW(float, f.nout), *scratch = NEW(float, f.nscratch);
    fill_floats(&rng, params, l->nparams, -1, 1);
    fill_floats(&rng, x, f.nin[0], -1, 1);
    l->kind->forward(l, &f.pass, params, (const float *const[]){x}, out, scratch, c.n);
    double *pd = widen(params, l->nparams), *xd = widen(x, f.nin[0]);
    double *swapped = widen(params, l->nparams);
    double *want = NEW(double, f.nout), *other = NEW(double, f.nout);
    ref_forward(&f.ref, pd, (const double *const[]){xd}, want);
    expect_close(c.spec, "output", out, want, f.nout);
    for (int ci = 0; ci < C; ci++)
        for (int o = 0; o < M; o++)
            for (int t = 0; t < kk; t++)
                swapped[((size_t)ci * M + o) * kk + t] = pd[((size_t)o * C + ci) * kk + t];
    ref_forward(&f.ref, swapped, (const double *const[]){xd}, other);
    assert_true(max_difference(out, other, f.nout) > 1000 * KERNEL_TOLERANCE);
    flip_kernels(&f.ref, pd);
    ref_forward(&f.ref, pd, (const double *const[]){xd}, other);
    assert_true(max_difference(out, other, f.nout) > 1000 * KERNEL_TOLERANCE);
    free(params), free(x), free(out), free(scratch), free(pd), free(xd), free(swapped);
    free(want), free(other);
    fixture_close(&f);

    /* The known answer of test_reference_known_answers (PyTorch's), from the kernel. */
    static const layer_case small = {
        "convtranspose(1,3,stride=2,pad=1,outpad=1,bias=0)", {1, 2, 2}, .n = 1};
    fixture s;
    fixture_open(&s, &small);
    const float w[] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, in[] = {1, 2, 3, 4};
    const float expected[] = {5, 14, 10, 12, 14, 36, 24, 30, 15, 34, 20, 24, 24, 55, 32, 36};
    float y[16], col[64];
    assert_true(s.nscratch <= 64 && s.nout == 16);
    s.l->kind->forward(s.l, &s.pass, w, (const float *const[]){in}, y, col, 1);
    for (int i = 0; i < 16; i++)
        if (y[i] != expected[i])
            fail_msg("convtranspose 3x3 stride 2 on 1..4: out[%d] = %g, expected %g", i,
                     (double)y[i], (double)expected[i]);
    fixture_close(&s);
}

/* ---- Dropout's masks. */

/* Runs the dropout node `node` of m forward on x (n samples) under p. */
static void dropout_forward(const dpt_model *m, int node, const dpt_pass *p, const float *x,
                            float *out, int n) {
    const dpt_layer *l = &m->layers[node];
    float *scratch = malloc(sizeof(float) * l->kind->scratch(l, n));
    l->kind->forward(l, p, NULL, (const float *const[]){x}, out, scratch, n);
    free(scratch);
}

static size_t count_differences(const float *a, const float *b, size_t n) {
    size_t differ = 0;
    for (size_t i = 0; i < n; i++) differ += a[i] != b[i];
    return differ;
}

static void test_dropout_masks(void **state) {
    (void)state;
    enum { N = 8 };
    const double p = 0.4;
    dpt_model m;
    dpt_err err;
    assert_int_equal(
        dpt_model_build("relu dropout(0.4) dropout(0.4)", (dpt_shape){4, 16, 16}, 0, &m, &err), 0);
    const size_t per_sample = dpt_shape_size(m.input), total = N * per_sample;
    float *x = NEW(float, total), *a = NEW(float, total), *b = NEW(float, total);
    dpt_rng rng = dpt_rng_stream(14, DPT_STREAM_INIT, 0);
    fill_floats(&rng, x, total, 0.5, 1.5); /* never 0: a 0 in the output is a dropped value */
    const dpt_pass pass = {.training = 1, .key = dpt_pass_key(9, 1, 3), .first = 100};

    /* The same key, node and samples give the same mask... */
    dropout_forward(&m, 1, &pass, x, a, N);
    dropout_forward(&m, 1, &pass, x, b, N);
    assert_int_equal(count_differences(a, b, total), 0);
    /* ...which drops about a fraction p of the values (p is the probability of dropping). */
    size_t dropped = 0;
    for (size_t i = 0; i < total; i++) dropped += a[i] == 0;
    assert_true(fabs((double)dropped / total - p) < 0.03);
    /* A micro-batch holding samples 2.. gets the masks those samples had in the whole batch:
       a sample's mask depends on its place in the epoch, not on how the batch is split. */
    dpt_pass later = pass;
    later.first = pass.first + 2;
    dropout_forward(&m, 1, &later, x + 2 * per_sample, b, N - 2);
    assert_int_equal(count_differences(a + 2 * per_sample, b, total - 2 * per_sample), 0);
    /* Another step, another epoch, another node, another place in the epoch: another mask. */
    const dpt_pass next_step = {.training = 1, .key = dpt_pass_key(9, 1, 4), .first = 100};
    const dpt_pass next_epoch = {.training = 1, .key = dpt_pass_key(9, 2, 3), .first = 100};
    dropout_forward(&m, 1, &next_step, x, b, N);
    assert_true(count_differences(a, b, total) > total / 10);
    dropout_forward(&m, 1, &next_epoch, x, b, N);
    assert_true(count_differences(a, b, total) > total / 10);
    dropout_forward(&m, 2, &pass, x, b, N);
    assert_true(count_differences(a, b, total) > total / 10);
    dropout_forward(&m, 1, &later, x, b, N);
    assert_true(count_differences(a, b, total) > total / 10);

    /* Evaluation is the identity, forward and backward, whatever the key. */
    const dpt_pass eval = {.training = 0, .key = pass.key, .first = 100};
    const dpt_layer *l = &m.layers[1];
    dropout_forward(&m, 1, &eval, x, a, N);
    assert_memory_equal(a, x, total * sizeof *x);
    float *scratch = malloc(sizeof(float) * l->kind->scratch(l, N));
    l->kind->backward(l, &eval, NULL, NULL, (const float *const[]){x}, a, x, (float *const[]){b},
                      scratch, N);
    free(scratch);
    assert_memory_equal(b, x, total * sizeof *x);
    free(x), free(a), free(b);
    dpt_model_free(&m);
}

/* ---- BatchNorm's state. */

static void test_batchnorm_state(void **state) {
    (void)state;
    enum { C = 3, N = 4 };
    dpt_model m;
    dpt_err err;
    assert_int_equal(dpt_model_build("batchnorm(momentum=0.25)", (dpt_shape){C, 3, 2}, 0, &m, &err),
                     0);
    const dpt_layer *l = &m.layers[0];
    assert_int_equal(m.nstate, 2 * C + 1);
    assert_int_equal(m.nstats, 2 * C);
    float st[2 * C + 1], params[2 * C], stats[2 * C];

    /* init_state: running_mean 0, running_var 1, num_batches_tracked 0; init: weight 1, bias 0. */
    poison(st, 2 * C + 1);
    l->kind->init_state(l, st);
    const float *mean = state_tensor(l, st, "running_mean"),
                *var = state_tensor(l, st, "running_var");
    const float *batches = state_tensor(l, st, "num_batches_tracked");
    for (int c = 0; c < C; c++) assert_true(mean[c] == 0 && var[c] == 1);
    assert_true(*batches == 0);
    poison(params, 2 * C);
    dpt_rng rng = dpt_rng_stream(15, DPT_STREAM_INIT, 0);
    l->kind->init(l, params, (dpt_init){DPT_INIT_DEFAULT, 0}, &rng);
    for (int c = 0; c < C; c++) assert_true(params[c] == 1 && params[C + c] == 0);

    /* update_state: new = (1 - momentum) old + momentum * statistic, for the step's statistics
       (summed over micro-batches and divided by the batch size); the count goes up by one. */
    fill_floats(&rng, st, 2 * C, 0.5, 2);
    fill_floats(&rng, stats, 2 * C, -1, 3);
    double want[2 * C];
    for (int i = 0; i < 2 * C; i++) want[i] = 0.75 * st[i] + 0.25 * stats[i];
    l->kind->update_state(l, st, stats);
    expect_close("batchnorm update_state", "state", st, want, 2 * C);
    assert_true(*batches == 1);
    l->kind->update_state(l, st, stats);
    assert_true(*batches == 2);

    /* One micro-batch of N is PyTorch's update: the running variance moves toward the batch's
       unbiased variance. */
    const size_t count = N * dpt_shape_size(m.input);
    float *x = NEW(float, count), *y = NEW(float, count), scratch[2 * C];
    fill_floats(&rng, x, count, -2, 3);
    l->kind->init_state(l, st);
    poison(stats, 2 * C);
    const dpt_pass pass = {.training = 1, .stats = stats, .state = st};
    l->kind->forward(l, &pass, params, (const float *const[]){x}, y, scratch, N);
    for (int i = 0; i < 2 * C; i++) stats[i] /= N; /* what the reducer does */
    l->kind->update_state(l, st, stats);
    ref_layer r = reference_of(l, N, 1);
    double *xd = widen(x, count), batch[2 * C];
    ref_batchnorm_stats(&r, xd, batch);
    for (int c = 0; c < C; c++) {
        want[c] = 0.25 * batch[c] / N;
        want[C + c] = 0.75 + 0.25 * batch[C + c] / N;
    }
    expect_close("batchnorm one step", "running statistics", st, want, 2 * C);
    free(x), free(y), free(xd);
    dpt_model_free(&m);
}

/* ---- Softmax cross-entropy. */

static double xent(const float *z, const int *labels, int n, int classes, const float *weights,
                   float *dz, dpt_loss_sums *sums) {
    dpt_loss_sums fresh = {0};
    dpt_softmax_xent(z, labels, n, classes, weights, dz, &fresh);
    if (sums) *sums = fresh;
    return fresh.loss;
}

/* The summed loss and its gradient against the definition and central differences, with and
   without class weights. */
static void check_xent(const float *weights) {
    enum { N = 4, C = 10 };
    float z[N * C], d[N * C];
    const int labels[N] = {0, 3, 9, 3};
    dpt_rng rng = dpt_rng_stream(7, DPT_STREAM_INIT, 0);
    fill_floats(&rng, z, N * C, -3, 3);
    const double loss = xent(z, labels, N, C, weights, d, NULL);
    double want = 0;
    for (int s = 0; s < N; s++) {
        double sum = 0;
        for (int c = 0; c < C; c++) sum += exp(z[s * C + c]);
        want += (weights ? weights[labels[s]] : 1.0) * (log(sum) - z[s * C + labels[s]]);
    }
    assert_true(fabs(loss - want) < 1e-9 * fabs(want));
    for (int i = 0; i < N * C; i++) {
        const float saved = z[i];
        const float up = saved + 1e-2f, down = saved - 1e-2f;
        z[i] = up;
        const double plus = xent(z, labels, N, C, weights, NULL, NULL);
        z[i] = down;
        const double minus = xent(z, labels, N, C, weights, NULL, NULL);
        z[i] = saved;
        const double numeric = (plus - minus) / ((double)up - down);
        if (!(fabs(d[i] - numeric) <= 1e-4 + 1e-3 * fabs(numeric)))
            fail_msg("softmax-xent%s d/dz[%d]: %.7f vs finite difference %.7f",
                     weights ? " (weighted)" : "", i, (double)d[i], numeric);
    }
}

static void test_softmax_xent_gradient(void **state) {
    (void)state;
    check_xent(NULL);
}

static void test_softmax_xent_weighted(void **state) {
    (void)state;
    const float weights[10] = {0.5f, 1, 1, 2.5f, 1, 1, 1, 1, 1, 0.2f};
    check_xent(weights);
}

/* Sample s's label has exactly s logits above it: correct for s = 0, top-5 for s < 5. With
   fewer than five classes every label is among the five largest. */
static void test_softmax_xent_counts(void **state) {
    (void)state;
    enum { C = 10 };
    float z[C * C];
    int labels[C];
    for (int s = 0; s < C; s++) {
        for (int c = 0; c < C; c++) z[s * C + c] = (float)((c * 7 + s) % C); /* a permutation */
        labels[s] = 0;
        for (int c = 0; c < C; c++)
            if (z[s * C + c] == (float)(C - 1 - s)) labels[s] = c;
    }
    dpt_loss_sums sums;
    xent(z, labels, C, C, NULL, NULL, &sums);
    assert_int_equal(sums.correct, 1);
    assert_int_equal(sums.top5, 5);
    const int three[2] = {0, 2};
    const float small[6] = {3, 2, 1, 3, 2, 1};
    xent(small, three, 2, 3, NULL, NULL, &sums);
    assert_int_equal(sums.correct, 1);
    assert_int_equal(sums.top5, 2);
}

/* The sums add up across calls (a step's micro-batches). */
static void test_softmax_xent_accumulates(void **state) {
    (void)state;
    const float z[3] = {1, 2, 3};
    const int label = 2;
    dpt_loss_sums sums = {0};
    dpt_softmax_xent(z, &label, 1, 3, NULL, NULL, &sums);
    const dpt_loss_sums once = sums;
    dpt_softmax_xent(z, &label, 1, 3, NULL, NULL, &sums);
    assert_true(fabs(sums.loss - 2 * once.loss) < 1e-12 && once.loss > 0);
    assert_int_equal(sums.correct, 2);
    assert_int_equal(sums.top5, 2);
}

/* ---- ELU's own e^x - 1 and sigmoid's e^-x (activations.c), against the exact values in
   double over every 997th float of the ranges they see, and their edges. */
static double ulp_of(float y) {
    return (double)nextafterf(fabsf(y), INFINITY) - (double)fabsf(y);
}

/* The edges, then every 997th float from bit pattern `first` to `last`, then -inf, +inf, NaN. */
static float *accuracy_inputs(const float *edges, int nedges, uint32_t first, uint32_t last,
                              int *m) {
    float *x = NEW(float, (size_t)nedges + (last - first) / 997 + 4);
    int k = 0;
    for (int i = 0; i < nedges; i++) x[k++] = edges[i];
    for (uint32_t bits = first; bits <= last; bits += 997) memcpy(&x[k++], &bits, sizeof(float));
    x[k++] = -INFINITY, x[k++] = INFINITY, x[k++] = NAN;
    *m = k;
    return x;
}

/* The activation `spec` forward over x[0..m): the worst error in ulp against want(x) over the
   finite inputs from `lo` up; fails above `limit` ulp, or where NaN does not stay NaN. */
static double worst_ulps(const char *spec, const float *x, int m, double (*want)(double), double lo,
                         double limit) {
    float *y = NEW(float, (size_t)m);
    dpt_model model;
    dpt_err err;
    if (dpt_model_build(spec, (dpt_shape){1, 1, m}, 0, &model, &err)) fail_msg("%s", err.msg);
    const dpt_layer *l = &model.layers[model.nlayers - 1];
    const dpt_pass pass = {0};
    const float *in[1] = {x};
    l->kind->forward(l, &pass, NULL, in, y, NULL, 1);
    double worst = 0;
    for (int i = 0; i < m; i++) {
        if (isnan(x[i]) != isnan(y[i])) fail_msg("%s(%g) = %g", spec, (double)x[i], (double)y[i]);
        if (isnan(x[i]) || isinf(x[i]) || x[i] < lo) continue;
        const double exact = want((double)x[i]);
        const double ulps = fabs((double)y[i] - exact) / ulp_of((float)exact);
        if (ulps > worst) worst = ulps;
        if (ulps > limit)
            fail_msg("%s(%a) = %a, exactly %a: %.2f ulp", spec, (double)x[i], (double)y[i], exact,
                     ulps);
    }
    print_message("%s: %d inputs, worst %.2f ulp\n", spec, m, worst);
    free(y);
    dpt_model_free(&model);
    return worst;
}

static double elu_exact(double x) {
    return x > 0 ? x : expm1(x);
}

/* ELU (alpha 1): within 2 ulp from -0 to -20; -inf gives -1; positive inputs pass through. */
static void test_elu_accuracy(void **state) {
    (void)state;
    static const float edges[] = {-0.0f,  -1e-30f, -1e-40f, -1e-8f,  -0.3465f, -0.3466f,
                                  -17.4f, -17.5f,  -17.6f,  -100.0f, 0.5f,     3e38f};
    int m;
    float *x = accuracy_inputs(edges, 12, 0x80000000u, 0xc1a00000u, &m); /* -0 to -20 */
    worst_ulps("elu", x, m, elu_exact, -INFINITY, 2);
    dpt_model model;
    dpt_err err;
    if (dpt_model_build("elu", (dpt_shape){1, 1, 1}, 0, &model, &err)) fail_msg("%s", err.msg);
    const float minus_inf[1] = {-INFINITY};
    float y;
    model.layers[0].kind->forward(&model.layers[0], &(dpt_pass){0}, NULL,
                                  (const float *[]){minus_inf}, &y, NULL, 1);
    assert_true(y == -1.0f);
    dpt_model_free(&model);
    free(x);
}

static double sigmoid_exact(double x) {
    return 1 / (1 + exp(-x));
}

/* Sigmoid: within 3 ulp from -87 (where e^x nears the smallest normal float) to +20 and over
   every 997th positive float up to 20; 0 where e^-x overflows (x < -88.73), as with expf; 1 for
   large x; -inf gives 0 and +inf 1. */
static void test_sigmoid_accuracy(void **state) {
    (void)state;
    static const float edges[] = {-0.0f, 0.0f,  1e-40f, -1e-30f, 0.3465f, 0.3466f, 17.4f,
                                  17.5f, 17.6f, 100.0f, -87.0f,  -88.7f,  -88.8f,  -100.0f};
    int m, n;
    float *x = accuracy_inputs(edges, 14, 0x80000000u, 0xc2ae0000u, &m); /* -0 to -87 */
    float *pos = accuracy_inputs(NULL, 0, 0x00000000u, 0x41a00000u, &n); /* +0 to 20 */
    worst_ulps("sigmoid", x, m, sigmoid_exact, -87, 3);
    worst_ulps("sigmoid", pos, n, sigmoid_exact, -87, 3);
    dpt_model model;
    dpt_err err;
    if (dpt_model_build("sigmoid", (dpt_shape){1, 1, 5}, 0, &model, &err)) fail_msg("%s", err.msg);
    const float in[5] = {-88.8f, -1000.0f, -INFINITY, INFINITY, 1000.0f};
    float y[5];
    model.layers[0].kind->forward(&model.layers[0], &(dpt_pass){0}, NULL, (const float *[]){in}, y,
                                  NULL, 1);
    assert_true(y[0] == 0 && y[1] == 0 && y[2] == 0 && y[3] == 1 && y[4] == 1);
    dpt_model_free(&model);
    free(x), free(pos);
}

static void test_softmax_xent_is_stable(void **state) {
    (void)state;
    float z[10] = {1000, -1000, 0, 0, 0, 0, 0, 0, 0, 0};
    int right = 0, wrong = 1;
    float d[10];
    dpt_loss_sums sums;
    double loss = xent(z, &right, 1, 10, NULL, d, &sums);
    assert_true(loss >= 0 && loss < 1e-6);
    assert_int_equal(sums.correct, 1);
    loss = xent(z, &wrong, 1, 10, NULL, d, &sums);
    assert_true(fabs(loss - 2000) < 1e-6);
    for (int i = 0; i < 10; i++) assert_true(isfinite(d[i]));
    assert_true(fabs(d[1] + 1) < 1e-6 && fabs(d[0] - 1) < 1e-6);
}

/* ---- The test list. */

/* Every kind in the library's table, one word each. */
static int kind_names(char names[][24], int capacity) {
    int count = 0;
    for (const char *p = dpt_layer_kind_names(); *p && count < capacity;) {
        const size_t len = strcspn(p, " ");
        snprintf(names[count++], sizeof names[0], "%.*s", (int)len, p);
        p += len + (p[len] == ' ');
    }
    return count;
}

enum { MAX_KINDS = 32, MAX_CASES = NFIXED + MAX_KINDS * RANDOM_CASES_PER_KIND };
static layer_case cases[MAX_CASES];
static char names[2 * MAX_CASES][192];

static void case_text(const layer_case *c, char *buf, size_t size) {
    snprintf(buf, size, "%.96s on %dx%dx%d, n=%d%s%s", c->spec, c->in.c, c->in.h, c->in.w, c->n,
             c->training ? ", training" : "", c->ties ? ", ties" : "");
}

int main(void) {
    static const struct CMUnitTest fixed_tests[] = {
        cmocka_unit_test(test_reference_known_answers),
        cmocka_unit_test(test_reference_known_gradients),
        cmocka_unit_test(test_flipped_kernel_is_caught),
        cmocka_unit_test(test_convtranspose_layout_is_caught),
        cmocka_unit_test(test_direct_fast_is_plain),
        cmocka_unit_test(test_linear_fast_is_plain),
        cmocka_unit_test(test_direct_weight_grad_in_chunks),
        cmocka_unit_test(test_pool2_fast_is_plain),
        cmocka_unit_test(test_row_sums_fast_is_plain),
        cmocka_unit_test(test_dropout_masks),
        cmocka_unit_test(test_batchnorm_state),
        cmocka_unit_test(test_softmax_xent_gradient),
        cmocka_unit_test(test_softmax_xent_weighted),
        cmocka_unit_test(test_softmax_xent_counts),
        cmocka_unit_test(test_softmax_xent_accumulates),
        cmocka_unit_test(test_softmax_xent_is_stable),
        cmocka_unit_test(test_elu_accuracy),
        cmocka_unit_test(test_sigmoid_accuracy),
    };
    enum { NFIXED_TESTS = sizeof fixed_tests / sizeof fixed_tests[0] };
    static struct CMUnitTest tests[NFIXED_TESTS + 2 * MAX_CASES];

    char kinds[MAX_KINDS][24];
    const int nkinds = kind_names(kinds, MAX_KINDS);
    int ncases = 0;
    for (int i = 0; i < NFIXED; i++) cases[ncases++] = fixed_cases[i];
    dpt_rng rng = dpt_rng_stream(CASE_SEED, DPT_STREAM_INIT, 0);
    for (int k = 0; k < nkinds; k++)
        for (int i = 0; i < RANDOM_CASES_PER_KIND; i++)
            random_case(&rng, kinds[k], &cases[ncases++]);

    int ntests = 0, nnames = 0;
    for (int i = 0; i < NFIXED_TESTS; i++) tests[ntests++] = fixed_tests[i];
    for (int i = 0; i < ncases; i++) {
        char text[128];
        case_text(&cases[i], text, sizeof text);
        if (!cases[i].ties && !cases[i].large) {
            char *name = names[nnames++];
            snprintf(name, sizeof names[0], "reference vs finite differences: %s", text);
            tests[ntests++] =
                (struct CMUnitTest){name, test_reference_gradients, NULL, NULL, &cases[i]};
        }
        char *name = names[nnames++];
        snprintf(name, sizeof names[0], "kernel vs reference: %s", text);
        tests[ntests++] =
            (struct CMUnitTest){name, test_kernel_against_reference, NULL, NULL, &cases[i]};
    }
    return _cmocka_run_group_tests("layers", tests, (size_t)ntests, NULL, NULL);
}
