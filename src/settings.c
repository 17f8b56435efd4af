#include "dptrain/settings.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the text settings' own functions ---- */

static const char *model_text(const dpt_train_config *c, const char *spec) {
    return spec ? spec : c->model;
}
static int model_parse(dpt_train_config *c, const char *v, dpt_err *err) {
    c->model = v;
    return 0;
}

static const char *init_text(const dpt_train_config *c, const char *spec) {
    return c->init_text;
}
static int init_parse(dpt_train_config *c, const char *v, dpt_err *err) {
    c->init_text = v;
    return dpt_init_parse(v, &c->init, err);
}

static const char *class_weights_text(const dpt_train_config *c, const char *spec) {
    return c->class_weights ? c->class_weights : "none";
}
static int class_weights_parse(dpt_train_config *c, const char *v, dpt_err *err) {
    c->class_weights = strcmp(v, "none") == 0 ? NULL : v;
    return 0;
}

static const char *norm_text(const dpt_train_config *c, const char *spec) {
    return c->norm_text;
}
static int norm_parse(dpt_train_config *c, const char *v, dpt_err *err) {
    c->norm_text = v;
    return dpt_norm_parse(v, &c->data.norm, err);
}

static const char *opt_text(const dpt_train_config *c, const char *spec) {
    return dpt_optim_kind_name(c->opt);
}
static int opt_parse(dpt_train_config *c, const char *v, dpt_err *err) {
    return dpt_optim_kind_parse(v, &c->opt, err);
}

static const char *sched_text(const dpt_train_config *c, const char *spec) {
    return c->sched.text;
}
static int sched_parse(dpt_train_config *c, const char *v, dpt_err *err) {
    return dpt_sched_parse(v, &c->sched, err);
}

static const char *reduce_text(const dpt_train_config *c, const char *spec) {
    return c->reduce == DPT_REDUCE_EXACT ? "exact" : "float";
}
static int reduce_parse(dpt_train_config *c, const char *v, dpt_err *err) {
    if (strcmp(v, "exact") != 0 && strcmp(v, "float") != 0)
        return dpt_fail(err, "--reduce %s: expected exact or float", v);
    c->reduce = strcmp(v, "float") == 0 ? DPT_REDUCE_FLOAT : DPT_REDUCE_EXACT;
    return 0;
}

/* ---- the table ---- */

#define FIELD(type, member, lo, hi) .field = {type, offsetof(dpt_train_config, member), lo, hi}
#define TEXT(name) .field = {DPT_TEXT, 0, 0, 0}, .text = name##_text, .parse = name##_parse

const dpt_setting dpt_settings[] = {
    {"model", "model", DPT_MODEL_AND_DATA, "NAME|SPEC",
     "preset (cnn2710, resnet18, ...: `dptrain info --help` lists them and the\n"
     "spec syntax) or a spec such as\n"
     "'conv(16,3,pad=1) relu maxpool(2) flatten linear(10)'",
     NULL, TEXT(model)},
    {"init", "init", DPT_MODEL_AND_DATA, "SCHEME",
     "weight initialization: default (PyTorch's), xavier-uniform,\n"
     "xavier-normal, kaiming-uniform, kaiming-normal or normal:STD; the\n"
     "schemes but default start biases at 0; BatchNorm starts at 1 and 0",
     NULL, TEXT(init)},
    {"val", "val", DPT_MODEL_AND_DATA, "N", "validation samples held out of the training images",
     NULL, FIELD(DPT_U32, data.val, 0, INT_MAX)},
    {"train_samples", "train-samples", DPT_MODEL_AND_DATA, "N",
     "train on only the first N samples of the (shuffled) training split, for\n"
     "quick trials of large models; 0: all of it",
     NULL, FIELD(DPT_U32, data.train_samples, 0, INT_MAX)},
    {"test_samples", "test-samples", DPT_MODEL_AND_DATA, "N",
     "test on only the first N test images, for quick trials; 0: all of them", NULL,
     FIELD(DPT_U32, data.test_samples, 0, INT_MAX)},
    {"split_seed", "split-seed", DPT_MODEL_AND_DATA, "S", "seed of the train/validation split",
     NULL, FIELD(DPT_U64, data.split_seed, 0, 0)},
    {"norm", "norm", DPT_MODEL_AND_DATA, "HOW",
     "standardization, (pixel/255 - mean) / std per channel: mnist (0.1307,\n"
     "0.3081 on every channel), compute (each channel's mean and std over the\n"
     "training split; a constant channel keeps std 1), M1,M2,M3/S1,S2,S3 (one\n"
     "mean and std per channel), or auto: mnist for one-channel 28x28 data,\n"
     "compute otherwise. The checkpoint records the values used",
     NULL, TEXT(norm)},
    {"epochs", "epochs", DPT_TRAINING, "N", "epochs (at most 1000000)", NULL,
     FIELD(DPT_INT, epochs, 1, DPT_MAX_EPOCHS), .run_total = 1},
    {"batch", "batch", DPT_TRAINING, "B",
     "samples per optimizer step, whatever the rank count (at most 1048576)", NULL,
     FIELD(DPT_INT, batch, 1, DPT_MAX_BATCH)},
    {"micro_batch", "micro-batch", DPT_TRAINING, "M",
     "samples per forward/backward pass; the unit dealt to ranks and\n"
     "threads. Results depend on M, never on ranks or threads. BatchNorm\n"
     "normalizes with each micro-batch's statistics in training (like\n"
     "DistributedDataParallel without SyncBatchNorm); its running statistics\n"
     "follow the step's micro-batches, combined exactly. 0: chosen for the\n"
     "model and B: 32, or for a model without BatchNorm whose gradient\n"
     "outweighs its activations (an MLP) the largest power of two up to B/8\n"
     "whose micro-batch holds at most 4x the gradient's bytes in activations,\n"
     "for fewer passes over the gradient (mlp300 at batch 2048: 256). The\n"
     "JSON config and the checkpoint's /config hold the value used (at most\n"
     "1048576)",
     NULL, FIELD(DPT_INT, micro_batch, 0, DPT_MAX_BATCH)},
    {"opt", "opt", DPT_TRAINING, "NAME", "sgd, adam or adagrad", NULL, TEXT(opt)},
    {"lr", "lr", DPT_TRAINING, "X", "learning rate", NULL, FIELD(DPT_REAL, lr, 0, INFINITY)},
    {"momentum", "momentum", DPT_TRAINING, "X", "SGD momentum", NULL,
     FIELD(DPT_REAL, optim.momentum, 0, 1)},
    {"nesterov", "nesterov", DPT_TRAINING, NULL, "Nesterov momentum (SGD with --momentum > 0)",
     NULL, FIELD(DPT_FLAG, optim.nesterov, 0, 1)},
    {"wd", "wd", DPT_TRAINING, "X", "weight decay, added to the gradient as X*param", NULL,
     FIELD(DPT_REAL, optim.weight_decay, 0, INFINITY)},
    {"beta1", "beta1", DPT_TRAINING, "X", "Adam's first-moment decay rate", NULL,
     FIELD(DPT_REAL, optim.beta1, 0, 0.999999)},
    {"beta2", "beta2", DPT_TRAINING, "X", "Adam's second-moment decay rate", NULL,
     FIELD(DPT_REAL, optim.beta2, 0, 0.999999999)},
    {"eps", "eps", DPT_TRAINING, "X", "Adam/Adagrad denominator term", "1e-8 Adam, 1e-10 Adagrad",
     FIELD(DPT_REAL, optim.eps, 1e-30, 1)},
    {"sched", "sched", DPT_TRAINING, "S",
     "learning-rate schedule per epoch: const, exp:GAMMA (lr*GAMMA^epoch),\n"
     "step:EPOCHS:GAMMA, cosine, plateau:FACTOR:PATIENCE (rank 0 cuts\n"
     "lr by FACTOR when validation loss stalls); per step: onecycle[:PCT]\n"
     "(PyTorch's OneCycleLR to a peak of --lr after PCT of the steps, 0.3)",
     NULL, TEXT(sched)},
    {"class_weights", "class-weights", DPT_TRAINING, "W",
     "weighted cross-entropy: none, balanced (N/(K n_c) from the training\n"
     "split's class counts) or W0,W1,... (one per class); a batch's loss\n"
     "is divided by the summed weights of its labels, as in PyTorch",
     NULL, TEXT(class_weights)},
    {"seed", "seed", DPT_TRAINING, "S", "seed of initialization, sample order and dropout masks",
     NULL, FIELD(DPT_U64, seed, 0, 0)},
    {"reduce", "reduce", DPT_RUNNING, "MODE",
     "exact (fixed-point sums: the same bits at any rank count) or float\n"
     "(a plain float32 allreduce, for comparison)",
     NULL, TEXT(reduce)},
};

const int dpt_nsettings = sizeof dpt_settings / sizeof dpt_settings[0];
_Static_assert(sizeof dpt_settings / sizeof dpt_settings[0] <= DPT_SETTINGS_MAX,
               "raise DPT_SETTINGS_MAX");

/* ---- values ---- */

dpt_value dpt_field_get(const dpt_field *f, const void *base) {
    const char *p = (const char *)base + f->offset;
    dpt_value v = {0};
    switch (f->type) {
    case DPT_TEXT:
        v.text = *(const char *const *)p;
        return v;
    case DPT_FLAG:
    case DPT_INT:
        v.whole = (uint64_t)(*(const int *)p);
        break;
    case DPT_U32:
        v.whole = *(const uint32_t *)p;
        break;
    case DPT_U64:
        v.whole = *(const uint64_t *)p;
        break;
    case DPT_REAL:
        v.real = *(const double *)p;
        return v;
    }
    v.real = (double)v.whole;
    return v;
}

int dpt_field_set(const dpt_field *f, void *base, const char *option, const char *text,
                  dpt_err *err) {
    char *p = (char *)base + f->offset, opt[64];
    snprintf(opt, sizeof opt, "--%s", option);
    int i = 0;
    switch (f->type) {
    case DPT_TEXT:
        if (!*text) return dpt_fail(err, "%s '': expected a value, not an empty one", opt);
        *(const char **)p = text;
        return 0;
    case DPT_FLAG:
        *(int *)p = 1;
        return 0;
    case DPT_INT:
        return dpt_arg_int_in(opt, text, (int)f->min, f->max > 0 ? (int)f->max : INT_MAX, (int *)p,
                              err);
    case DPT_U32:
        if (dpt_arg_int_in(opt, text, (int)f->min, f->max > 0 ? (int)f->max : INT_MAX, &i, err))
            return -1;
        *(uint32_t *)p = (uint32_t)i;
        return 0;
    case DPT_U64:
        return dpt_arg_u64(opt, text, (uint64_t *)p, err);
    case DPT_REAL:
        return dpt_arg_double(opt, text, f->min, f->max, (double *)p, err);
    }
    return dpt_fail(err, "%s: unknown kind of value", opt);
}

void dpt_value_format(dpt_value_type type, dpt_value v, int digits, char *buf, size_t size) {
    if (type == DPT_TEXT)
        snprintf(buf, size, "%s", v.text ? v.text : "");
    else if (type == DPT_REAL)
        snprintf(buf, size, "%.*g", digits, v.real);
    else
        snprintf(buf, size, "%llu", (unsigned long long)v.whole);
}

dpt_value dpt_setting_get(const dpt_setting *s, const dpt_train_config *c, const char *spec) {
    if (s->text) {
        const char *text = s->text(c, spec);
        return (dpt_value){.text = text ? text : ""};
    }
    return dpt_field_get(&s->field, c);
}

int dpt_setting_set(const dpt_setting *s, dpt_train_config *c, const char *text, dpt_err *err) {
    return s->parse ? s->parse(c, text, err) : dpt_field_set(&s->field, c, s->option, text, err);
}

size_t dpt_settings_text(const dpt_train_config *c, const char *spec, char *buf, size_t size) {
    size_t len = 0;
    if (size) buf[0] = 0;
    for (int i = 0; i < dpt_nsettings; i++) {
        const dpt_setting *s = &dpt_settings[i];
        char value[64];
        const dpt_value v = dpt_setting_get(s, c, spec);
        dpt_value_format(s->field.type, v, 17, value, sizeof value);
        len += (size_t)snprintf(len < size ? buf + len : NULL, len < size ? size - len : 0,
                                "%s%s %s", i ? "|" : "", s->name, v.text ? v.text : value);
    }
    return len;
}

/* ---- option values ---- */

int dpt_arg_int(const char *opt, const char *text, int min, int *out, dpt_err *err) {
    return dpt_arg_int_in(opt, text, min, INT_MAX, out, err);
}

int dpt_arg_int_in(const char *opt, const char *text, int min, int max, int *out, dpt_err *err) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end || errno || v < min || v > max)
        return max == INT_MAX
                   ? dpt_fail(err, "%s %s: expected a whole number >= %d", opt, text, min)
                   : dpt_fail(err, "%s %s: expected a whole number from %d to %d", opt, text, min,
                              max);
    *out = (int)v;
    return 0;
}

int dpt_arg_u64(const char *opt, const char *text, uint64_t *out, dpt_err *err) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || *end || errno || text[0] == '-')
        return dpt_fail(err, "%s %s: expected a whole number >= 0", opt, text);
    *out = v;
    return 0;
}

int dpt_arg_double(const char *opt, const char *text, double min, double max, double *out,
                   dpt_err *err) {
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end || !isfinite(v) || v < min || v > max) {
        if (isinf(max)) return dpt_fail(err, "%s %s: expected a number >= %g", opt, text, min);
        return dpt_fail(err, "%s %s: expected a number in [%g, %g]", opt, text, min, max);
    }
    *out = v;
    return 0;
}

/* A seed at p (digits only), moving p past it. */
static int seed_at(const char **p, unsigned long long *seed) {
    char *end;
    if (**p < '0' || **p > '9') return -1;
    errno = 0;
    *seed = strtoull(*p, &end, 10);
    *p = end;
    return errno ? -1 : 0;
}

/* 0 if no seed is listed twice (two runs would write the same folder), else -1 naming one. */
static int seeds_unique(const char *opt, const char *text, const uint64_t *seeds, int n,
                        dpt_err *err) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (seeds[i] == seeds[j])
                return dpt_fail(err, "%s %s: seed %llu is listed twice", opt, text,
                                (unsigned long long)seeds[i]);
    return 0;
}

int dpt_arg_seeds(const char *opt, const char *text, uint64_t *seeds, int max, int *n,
                  dpt_err *err) {
    const char *p = text;
    *n = 0;
    for (;;) {
        unsigned long long lo, hi;
        while (*p == ' ') p++;
        if (seed_at(&p, &lo)) break;
        hi = lo;
        if (*p == '-') {
            p++;
            if (seed_at(&p, &hi) || hi < lo) break;
        }
        for (unsigned long long s = lo; s <= hi; s++) {
            if (*n == max) return dpt_fail(err, "%s %s: more than %d seeds", opt, text, max);
            seeds[(*n)++] = s;
            if (s == hi) break; /* hi may be the largest seed */
        }
        while (*p == ' ') p++;
        if (*p == 0) return seeds_unique(opt, text, seeds, *n, err);
        if (*p++ != ',') break;
    }
    return dpt_fail(err, "%s %s: expected seeds such as 1-8 or 1,4,9", opt, text);
}
