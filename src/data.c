#include "dptrain/data.h"

#include "dptrain/hot_loop.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dptrain/rng.h"

#define MNIST_MEAN 0.1307f
#define MNIST_STD 0.3081f

/* Reads up to DPT_NORM_MAX_CHANNELS comma-separated numbers ending at `stop`. */
static int parse_list(const char *text, const char *s, char stop, float *v, int *n, dpt_err *err) {
    *n = 0;
    for (;;) {
        char *end;
        double x = strtod(s, &end);
        if (end == s || !isfinite(x) || *n == DPT_NORM_MAX_CHANNELS)
            return dpt_fail(err,
                            "--norm %s: expected mnist, compute, auto or MEAN,.../STD,... (at most "
                            "%d channels)",
                            text, DPT_NORM_MAX_CHANNELS);
        v[(*n)++] = (float)x;
        if (*end == stop) return 0;
        if (*end != ',')
            return dpt_fail(err, "--norm %s: expected ',' or '%c' after %.*s", text,
                            stop ? stop : ' ', (int)(end - s), s);
        s = end + 1;
    }
}

int dpt_norm_parse(const char *text, dpt_norm *norm, dpt_err *err) {
    memset(norm, 0, sizeof *norm);
    static const struct {
        const char *name;
        dpt_norm_kind kind;
    } named[] = {{"auto", DPT_NORM_AUTO}, {"mnist", DPT_NORM_MNIST}, {"compute", DPT_NORM_COMPUTE}};
    for (size_t i = 0; i < sizeof named / sizeof *named; i++)
        if (strcmp(text, named[i].name) == 0) {
            norm->kind = named[i].kind;
            return 0;
        }
    const char *slash = strchr(text, '/');
    if (!slash)
        return dpt_fail(err, "--norm %s: expected mnist, compute, auto or MEAN,.../STD,...", text);
    int nmean, nstd;
    if (parse_list(text, text, '/', norm->mean, &nmean, err) ||
        parse_list(text, slash + 1, '\0', norm->std, &nstd, err))
        return -1;
    if (nmean != nstd)
        return dpt_fail(err, "--norm %s: %d mean%s but %d standard deviation%s", text, nmean,
                        nmean == 1 ? "" : "s", nstd, nstd == 1 ? "" : "s");
    for (int c = 0; c < nstd; c++)
        if (!(norm->std[c] > 0))
            return dpt_fail(err, "--norm %s: standard deviation %g of channel %d is not positive",
                            text, norm->std[c], c);
    norm->kind = DPT_NORM_GIVEN;
    norm->channels = nmean;
    return 0;
}

static uint32_t *identity(uint32_t n) {
    uint32_t *a = malloc((n ? n : 1) * sizeof *a);
    if (a)
        for (uint32_t i = 0; i < n; i++) a[i] = i;
    return a;
}

/* Each channel's mean and standard deviation over the training split; a constant channel keeps
   std 1 (it is only shifted). */
static void compute_norm(dpt_data *data) {
    const dpt_split *s = &data->train;
    const uint32_t C = s->set->channels;
    const size_t pixels = (size_t)s->set->height * s->set->width;
    for (uint32_t c = 0; c < C; c++) {
        double sum = 0, sumsq = 0;
        for (uint32_t i = 0; i < s->n; i++) {
            const uint8_t *p = s->set->pixels + ((size_t)s->idx[i] * C + c) * pixels;
            for (size_t j = 0; j < pixels; j++) {
                double v = p[j] / 255.0;
                sum += v;
                sumsq += v * v;
            }
        }
        const double count = (double)s->n * pixels, mean = sum / count,
                     var = sumsq / count - mean * mean;
        data->mean[c] = (float)mean;
        data->std[c] = var > 1e-12 ? (float)sqrt(var) : 1.0f;
    }
}

static int set_norm(const dpt_norm *norm, const char *path, dpt_data *data, dpt_err *err) {
    const dpt_images *tr = &data->set.train;
    const uint32_t C = tr->channels;
    data->mean = malloc(sizeof(float) * C);
    data->std = malloc(sizeof(float) * C);
    if (!data->mean || !data->std) return dpt_fail(err, "out of memory");
    dpt_norm_kind kind = norm->kind;
    if (kind == DPT_NORM_AUTO)
        kind = C == 1 && tr->height == 28 && tr->width == 28 ? DPT_NORM_MNIST : DPT_NORM_COMPUTE;
    if (kind == DPT_NORM_GIVEN && (uint32_t)norm->channels != C)
        return dpt_fail(err, "--norm gives %d channel%s, the images of %s have %u", norm->channels,
                        norm->channels > 1 ? "s" : "", path, C);
    for (uint32_t c = 0; c < C; c++) {
        data->mean[c] = kind == DPT_NORM_GIVEN ? norm->mean[c] : MNIST_MEAN;
        data->std[c] = kind == DPT_NORM_GIVEN ? norm->std[c] : MNIST_STD;
    }
    if (kind == DPT_NORM_COMPUTE) compute_norm(data);
    return 0;
}

int dpt_data_load(const dpt_data_options *opt, dpt_data *data, dpt_err *err) {
    dpt_dataset set;
    if (dpt_dataset_read(opt->path, opt->threads, &set, err)) return -1;
    return dpt_data_prepare(&set, opt, data, err);
}

int dpt_data_prepare(dpt_dataset *set, const dpt_data_options *opt, dpt_data *data, dpt_err *err) {
    memset(data, 0, sizeof *data);
    data->set = *set;
    memset(set, 0, sizeof *set);
    const dpt_images *tr = &data->set.train, *te = &data->set.test;
    if (opt->val >= tr->count) {
        dpt_fail(err, "--val %u leaves no training samples (%s holds %u training images)", opt->val,
                 opt->path, tr->count);
        goto fail;
    }
    uint32_t *shuffled = identity(tr->count);
    data->test = (dpt_split){.set = te, .idx = identity(te->count), .n = te->count};
    if (!shuffled || !data->test.idx) {
        free(shuffled);
        dpt_fail(err, "out of memory for the split");
        goto fail;
    }
    dpt_rng rng = dpt_rng_stream(opt->split_seed, DPT_STREAM_SPLIT, 0);
    dpt_rng_shuffle(&rng, shuffled, tr->count);
    /* One allocation holds both parts: validation first, then training. */
    data->val = (dpt_split){.set = tr, .idx = shuffled, .n = opt->val};
    data->train = (dpt_split){.set = tr, .idx = shuffled + opt->val, .n = tr->count - opt->val};
    if (opt->train_samples && opt->train_samples < data->train.n)
        data->train.n = opt->train_samples;
    if (opt->test_samples && opt->test_samples < data->test.n) data->test.n = opt->test_samples;
    dpt_dataset_digest(&data->set, data->digest);
    if (set_norm(&opt->norm, opt->path, data, err)) goto fail;
    return 0;
fail:
    dpt_data_free(data);
    return -1;
}

void dpt_data_free(dpt_data *data) {
    dpt_dataset_free(&data->set);
    free(data->val.idx);
    free(data->test.idx);
    free(data->mean);
    free(data->std);
    memset(data, 0, sizeof *data);
}

/* out = p * scale - shift, value by value (compiled for AVX-512 too: the same bits; the
   baseline's conversion of bytes took 5% of an mlp300 step). */
HOT_LOOP static void normalize(const uint8_t *p, size_t n, float scale, float shift, float *out) {
    for (size_t j = 0; j < n; j++) out[j] = (float)p[j] * scale - shift;
}

void dpt_data_gather(const dpt_data *data, const dpt_split *split, const uint32_t *pos,
                     uint32_t first, size_t n, float *x, int *y) {
    const dpt_images *set = split->set;
    const size_t pixels = (size_t)set->height * set->width, size = set->channels * pixels;
    for (size_t i = 0; i < n; i++) {
        uint32_t sample = split->idx[pos ? pos[i] : first + i];
        const uint8_t *p = set->pixels + (size_t)sample * size;
        float *out = x + i * size;
        for (uint32_t c = 0; c < set->channels; c++) {
            const float scale = 1.0f / (255.0f * data->std[c]),
                        shift = data->mean[c] / data->std[c];
            normalize(p + c * pixels, pixels, scale, shift, out + c * pixels);
        }
        if (set->masks)
            for (size_t j = 0; j < pixels; j++) y[i * pixels + j] = set->masks[sample * pixels + j];
        else
            y[i] = set->labels[sample];
    }
}

void dpt_data_epoch_order(uint64_t seed, uint32_t epoch, uint32_t *order, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) order[i] = i;
    dpt_rng rng = dpt_rng_stream(seed, DPT_STREAM_EPOCH_ORDER, epoch);
    dpt_rng_shuffle(&rng, order, n);
}
