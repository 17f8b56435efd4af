/* The table of layer kinds and the helpers they share. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dptrain/layer.h"

extern const dpt_layer_kind dpt_linear_kind, dpt_conv_kind, dpt_convtranspose_kind,
    dpt_maxpool_kind, dpt_avgpool_kind, dpt_globalavgpool_kind, dpt_upsample_kind,
    dpt_batchnorm_kind, dpt_dropout_kind, dpt_dropout2d_kind, dpt_relu_kind, dpt_leakyrelu_kind,
    dpt_elu_kind, dpt_sigmoid_kind, dpt_tanh_kind, dpt_flatten_kind, dpt_add_kind, dpt_concat_kind;

static const dpt_layer_kind *const kinds[] = {
    &dpt_linear_kind,  &dpt_conv_kind,          &dpt_convtranspose_kind, &dpt_maxpool_kind,
    &dpt_avgpool_kind, &dpt_globalavgpool_kind, &dpt_upsample_kind,      &dpt_batchnorm_kind,
    &dpt_dropout_kind, &dpt_dropout2d_kind,     &dpt_relu_kind,          &dpt_leakyrelu_kind,
    &dpt_elu_kind,     &dpt_sigmoid_kind,       &dpt_tanh_kind,          &dpt_flatten_kind,
    &dpt_add_kind,     &dpt_concat_kind,
};
enum { NKINDS = sizeof kinds / sizeof kinds[0] };

const dpt_layer_kind *dpt_layer_kind_find(const char *name) {
    for (size_t i = 0; i < NKINDS; i++)
        if (strcmp(kinds[i]->name, name) == 0) return kinds[i];
    return NULL;
}

const char *dpt_layer_kind_names(void) {
    static char names[512];
    if (!names[0])
        for (size_t i = 0, len = 0; i < NKINDS && len < sizeof names; i++)
            len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? " " : "",
                                    kinds[i]->name);
    return names;
}

static void number_text(double v, char *buf, size_t size);

/* The largest whole-number argument (out channels, kernel, stride, pad, flags). The model bounds
   every tensor to 2^30 values (src/model.c), so with arguments up to 2^20 the kernels' int
   arithmetic (a dimension plus twice the pad plus the kernel, an output index times the stride)
   stays below 2^31; products of arguments and dimensions are checked there, in double. */
#define INT_ARG_MAX (1 << 20)

int dpt_layer_int_arg(const dpt_layer *l, int i, int min, dpt_err *err, int *value) {
    double v = l->arg[i];
    if (!(v == floor(v) && v >= min && v <= INT_ARG_MAX)) {
        char text[40];
        number_text(v, text, sizeof text);
        return dpt_fail(err, "%s=%s must be a whole number from %d to %d", l->kind->args[i].name,
                        text, min, INT_ARG_MAX);
    }
    *value = (int)v;
    return 0;
}

int dpt_layer_real_arg(const dpt_layer *l, int i, double lo, double hi, dpt_err *err,
                       double *value) {
    double v = l->arg[i];
    if (!(v >= lo && v <= hi)) {
        char text[40];
        number_text(v, text, sizeof text);
        return dpt_fail(err, "%s=%s must be from %g to %g", l->kind->args[i].name, text, lo, hi);
    }
    *value = v;
    return 0;
}

static int word_count(const dpt_layer_arg *a) {
    int count = 0;
    while (a->words && a->words[count]) count++;
    return count;
}

int dpt_layer_word_arg(const dpt_layer *l, int i, dpt_err *err, int *value) {
    const dpt_layer_arg *a = &l->kind->args[i];
    const double v = l->arg[i];
    if (!(v == floor(v) && v >= 0 && v < word_count(a))) {
        char words[160], text[40];
        dpt_layer_arg_words(a, ", ", words, sizeof words);
        number_text(v, text, sizeof text);
        return dpt_fail(err, "%s=%s must be one of %s", a->name, text, words);
    }
    *value = (int)v;
    return 0;
}

int dpt_layer_arg_word(const dpt_layer_arg *a, const char *text, size_t len) {
    for (int i = 0; a->words && a->words[i]; i++)
        if (strlen(a->words[i]) == len && strncmp(a->words[i], text, len) == 0) return i;
    return -1;
}

void dpt_layer_arg_words(const dpt_layer_arg *a, const char *sep, char *buf, size_t size) {
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; a->words && a->words[i] && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? sep : "", a->words[i]);
}

void dpt_tensor_set(dpt_tensor *t, const char *name, size_t offset, int ndims, const int *dims) {
    t->name = name;
    t->offset = offset;
    t->ndims = ndims;
    t->count = 1;
    for (int i = 0; i < ndims; i++) {
        t->dims[i] = dims[i];
        t->count *= (size_t)dims[i];
    }
}

int dpt_init_parse(const char *text, dpt_init *out, dpt_err *err) {
    static const char *const names[] = {"default", "xavier-uniform", "xavier-normal",
                                        "kaiming-uniform", "kaiming-normal"};
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(text, names[i]) == 0) {
            *out = (dpt_init){.scheme = (dpt_init_scheme)i};
            return 0;
        }
    char *end;
    if (strncmp(text, "normal:", 7) == 0) {
        double std = strtod(text + 7, &end);
        if (end != text + 7 && !*end && std > 0 && std < 1e6) {
            *out = (dpt_init){.scheme = DPT_INIT_NORMAL, .std = std};
            return 0;
        }
    }
    return dpt_fail(err,
                    "--init %s: expected default, xavier-uniform, xavier-normal, "
                    "kaiming-uniform, kaiming-normal or normal:STD (STD > 0)",
                    text);
}

static void fill_uniform(float *a, size_t n, double bound, dpt_rng *rng) {
    for (size_t i = 0; i < n; i++) a[i] = (float)((2.0 * dpt_rng_uniform(rng) - 1.0) * bound);
}

static void fill_normal(float *a, size_t n, double std, dpt_rng *rng) {
    for (size_t i = 0; i < n; i++) a[i] = (float)(std * dpt_rng_normal(rng));
}

void dpt_init_weight_bias(float *weight, size_t count, float *bias, size_t nbias, size_t fan_in,
                          size_t fan_out, dpt_init init, dpt_rng *rng) {
    const double in = (double)fan_in, out = (double)fan_out;
    switch (init.scheme) {
    case DPT_INIT_DEFAULT:
        /* PyTorch's Linear and Conv2d: Kaiming-uniform with a = sqrt(5) for the weight reduces
           to U(-1/sqrt(fan_in), 1/sqrt(fan_in)), the bias's bound; one stream, weight first. */
        fill_uniform(weight, count, 1.0 / sqrt(in), rng);
        if (bias) fill_uniform(bias, nbias, 1.0 / sqrt(in), rng);
        return;
    case DPT_INIT_XAVIER_UNIFORM:
        fill_uniform(weight, count, sqrt(6.0 / (in + out)), rng);
        break;
    case DPT_INIT_XAVIER_NORMAL:
        fill_normal(weight, count, sqrt(2.0 / (in + out)), rng);
        break;
    case DPT_INIT_KAIMING_UNIFORM:
        fill_uniform(weight, count, sqrt(6.0 / in), rng);
        break;
    case DPT_INIT_KAIMING_NORMAL:
        fill_normal(weight, count, sqrt(2.0 / in), rng);
        break;
    case DPT_INIT_NORMAL:
        fill_normal(weight, count, init.std, rng);
        break;
    }
    if (bias) memset(bias, 0, sizeof *bias * nbias);
}

/* PyTorch's MaxPool2d and AvgPool2d geometry: arguments (kernel, stride=kernel), no padding,
   floor mode. */
int dpt_layer_pool_setup(dpt_layer *l, dpt_err *err) {
    int k = 1, stride = 1;
    if (dpt_layer_int_arg(l, 0, 1, err, &k)) return -1;
    if (l->arg[1] == 0) l->arg[1] = k; /* PyTorch: stride defaults to kernel */
    if (dpt_layer_int_arg(l, 1, 1, err, &stride)) return -1;
    const dpt_shape in = l->in[0];
    if (in.h < k || in.w < k)
        return dpt_fail(err, "kernel %d is larger than its %dx%d input", k, in.h, in.w);
    l->out = (dpt_shape){in.c, (in.h - k) / stride + 1, (in.w - k) / stride + 1};
    return 0;
}

int dpt_layer_same_shape(dpt_layer *l, dpt_err *err) {
    /* The activations' arguments (leakyrelu's slope, elu's alpha) are used as floats. */
    for (int i = 0; i < DPT_LAYER_MAX_ARGS && l->kind->args[i].name; i++) {
        double v;
        if (dpt_layer_real_arg(l, i, -FLT_MAX, FLT_MAX, err, &v)) return -1;
    }
    l->out = l->in[0];
    return 0;
}

/* The shortest text that reads back as v: whole numbers without an exponent. */
static void number_text(double v, char *buf, size_t size) {
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, size, "%.0f", v);
        return;
    }
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(buf, size, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) return;
    }
}

void dpt_layer_text(const dpt_layer *l, char *buf, size_t size) {
    const dpt_layer_kind *k = l->kind;
    size_t len = (size_t)snprintf(buf, size, "%s", k->name);
    for (int i = 0; i < DPT_LAYER_MAX_ARGS && k->args[i].name && len < size; i++) {
        const dpt_layer_arg *a = &k->args[i];
        char value[40];
        if (strcmp(a->name, "from") == 0) {
            if (!l->from[0]) break; /* the add closing a res[ ] block */
            snprintf(value, sizeof value, "@%s", l->from);
        } else if (a->words && l->arg[i] >= 0 && l->arg[i] < word_count(a) &&
                   l->arg[i] == floor(l->arg[i])) {
            snprintf(value, sizeof value, "%s", a->words[(int)l->arg[i]]);
        } else {
            number_text(l->arg[i], value, sizeof value);
        }
        len += (size_t)snprintf(buf + len, size - len, "%s%s%s%s", i ? "," : "(",
                                a->required ? "" : a->name, a->required ? "" : "=", value);
        if (len < size && (i + 1 == DPT_LAYER_MAX_ARGS || !k->args[i + 1].name))
            len += (size_t)snprintf(buf + len, size - len, ")");
    }
}

uint64_t dpt_pass_key(uint64_t seed, uint64_t epoch, uint64_t step) {
    dpt_rng r = dpt_rng_stream(seed, DPT_STREAM_LAYERS, epoch);
    return dpt_mix64(r.key ^ (step + 1) * 0xd1b54a32d192ed03ULL);
}

dpt_rng dpt_pass_rng(const dpt_pass *p, int node, uint64_t index) {
    uint64_t key = dpt_mix64(p->key ^ (uint64_t)(node + 1) * DPT_GOLDEN_GAMMA);
    return (dpt_rng){.key = dpt_mix64(key ^ (index + 1) * 0xbf58476d1ce4e5b9ULL), .counter = 0};
}
