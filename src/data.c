#include "dptrain/data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dptrain/digest.h"
#include "dptrain/idx.h"
#include "dptrain/rng.h"

#define MNIST_MEAN 0.1307f
#define MNIST_STD 0.3081f

/* "dir/name" if it exists, else "dir/name.gz" if that exists, else an error naming both. */
static int find_file(const char *dir, const char *name, char *path, size_t len, dpt_err *err) {
    snprintf(path, len, "%s/%s", dir, name);
    if (access(path, F_OK) == 0) return 0;
    snprintf(path, len, "%s/%s.gz", dir, name);
    if (access(path, F_OK) == 0) return 0;
    return dpt_fail(err, "%s/%s: no such file (nor %s.gz); run scripts/setup.sh to fetch MNIST",
                    dir, name, name);
}

static int load_images(const char *dir, const char *prefix, dpt_images *out, dpt_err *err) {
    char ipath[4096], lpath[4096], name[64];
    snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix);
    if (find_file(dir, name, ipath, sizeof ipath, err)) return -1;
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
    if (find_file(dir, name, lpath, sizeof lpath, err)) return -1;
    dpt_idx images, labels;
    if (dpt_idx_read(ipath, 3, &images, err)) return -1;
    if (dpt_idx_read(lpath, 1, &labels, err)) {
        dpt_idx_free(&images);
        return -1;
    }
    int rc = 0;
    if (images.dims[0] != labels.dims[0])
        rc = dpt_fail(err, "%s: %u labels for the %u images of %s", lpath, labels.dims[0],
                      images.dims[0], ipath);
    if (rc) {
        dpt_idx_free(&images);
        dpt_idx_free(&labels);
        return rc;
    }
    *out = (dpt_images){.pixels = images.data,
                        .labels = labels.data,
                        .count = images.dims[0],
                        .height = images.dims[1],
                        .width = images.dims[2]};
    return 0;
}

static uint32_t *identity(uint32_t n) {
    uint32_t *a = malloc((n ? n : 1) * sizeof *a);
    if (a)
        for (uint32_t i = 0; i < n; i++) a[i] = i;
    return a;
}

static void compute_norm(dpt_data *data) {
    const dpt_split *s = &data->train;
    size_t pixels = (size_t)s->set->height * s->set->width;
    double sum = 0, sumsq = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        const uint8_t *p = s->set->pixels + (size_t)s->idx[i] * pixels;
        for (size_t j = 0; j < pixels; j++) {
            double v = p[j] / 255.0;
            sum += v;
            sumsq += v * v;
        }
    }
    double count = (double)s->n * pixels, mean = sum / count;
    data->mean = (float)mean;
    data->std = (float)sqrt(fmax(sumsq / count - mean * mean, 1e-12));
}

int dpt_data_load(const dpt_data_options *opt, dpt_data *data, dpt_err *err) {
    memset(data, 0, sizeof *data);
    if (load_images(opt->dir, "train", &data->train_file, err)) return -1;
    if (load_images(opt->dir, "t10k", &data->test_file, err)) goto fail;
    const dpt_images *tr = &data->train_file, *te = &data->test_file;
    if (tr->height != te->height || tr->width != te->width) {
        dpt_fail(err, "%s: training images are %ux%u but test images %ux%u", opt->dir, tr->height,
                 tr->width, te->height, te->width);
        goto fail;
    }
    if (opt->val >= tr->count) {
        dpt_fail(err, "--val %u leaves no training samples (the training file holds %u)", opt->val,
                 tr->count);
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
    const dpt_images *sets[] = {tr, te};
    const void *parts[4];
    size_t sizes[4];
    for (int i = 0; i < 2; i++) {
        parts[2 * i] = sets[i]->pixels;
        sizes[2 * i] = (size_t)sets[i]->count * sets[i]->height * sets[i]->width;
        parts[2 * i + 1] = sets[i]->labels;
        sizes[2 * i + 1] = sets[i]->count;
    }
    dpt_sha256_hex(parts, sizes, 4, data->digest);
    for (int k = 0; k < 2; k++)
        for (uint32_t i = 0; i < sets[k]->count; i++)
            if (sets[k]->labels[i] >= data->classes) data->classes = sets[k]->labels[i] + 1;
    data->mean = MNIST_MEAN;
    data->std = MNIST_STD;
    if (opt->compute_norm) compute_norm(data);
    return 0;
fail:
    dpt_data_free(data);
    return -1;
}

void dpt_data_free(dpt_data *data) {
    free(data->train_file.pixels);
    free(data->train_file.labels);
    free(data->test_file.pixels);
    free(data->test_file.labels);
    free(data->val.idx);
    free(data->test.idx);
    memset(data, 0, sizeof *data);
}

void dpt_data_gather(const dpt_data *data, const dpt_split *split, const uint32_t *pos,
                     uint32_t first, size_t n, float *x, int *y) {
    const size_t pixels = (size_t)split->set->height * split->set->width;
    const float scale = 1.0f / (255.0f * data->std), shift = data->mean / data->std;
    for (size_t i = 0; i < n; i++) {
        uint32_t sample = split->idx[pos ? pos[i] : first + i];
        const uint8_t *p = split->set->pixels + (size_t)sample * pixels;
        float *out = x + i * pixels;
        for (size_t j = 0; j < pixels; j++) out[j] = (float)p[j] * scale - shift;
        y[i] = split->set->labels[sample];
    }
}

void dpt_data_epoch_order(uint64_t seed, uint32_t epoch, uint32_t *order, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) order[i] = i;
    dpt_rng rng = dpt_rng_stream(seed, DPT_STREAM_EPOCH_ORDER, epoch);
    dpt_rng_shuffle(&rng, order, n);
}
