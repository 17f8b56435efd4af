/* A dataset ready to train on: its images in RAM (dataset.h reads them in any format), a seeded
   train/validation split, per-channel standardization and per-epoch sample order. */
#ifndef DPTRAIN_DATA_H
#define DPTRAIN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "dptrain/dataset.h"
#include "dptrain/error.h"

/* A subset of an image set: the samples set[idx[0..n)]. */
typedef struct dpt_split {
    const dpt_images *set;
    uint32_t *idx;
    uint32_t n;
} dpt_split;

/* How pixels are standardized: x = (pixel / 255 - mean[c]) / std[c] per channel c. */
#define DPT_NORM_MAX_CHANNELS 16
typedef enum dpt_norm_kind {
    DPT_NORM_AUTO,    /* MNIST's for one-channel 28x28 data, else computed */
    DPT_NORM_MNIST,   /* 0.1307 / 0.3081 on every channel */
    DPT_NORM_COMPUTE, /* each channel's mean and standard deviation over the training split */
    DPT_NORM_GIVEN    /* mean[0..channels) and std[0..channels) */
} dpt_norm_kind;

typedef struct dpt_norm {
    dpt_norm_kind kind;
    int channels; /* of a given one */
    float mean[DPT_NORM_MAX_CHANNELS], std[DPT_NORM_MAX_CHANNELS];
} dpt_norm;

/* "auto", "mnist", "compute" or "M1,M2,M3/S1,S2,S3" (one mean and one std > 0 per channel). */
int dpt_norm_parse(const char *text, dpt_norm *norm, dpt_err *err);

typedef struct dpt_data_options {
    const char *path;       /* an IDX folder, a PNG folder tree or an HDF5 file (dataset.h) */
    uint32_t val;           /* validation samples taken out of the training set */
    uint64_t split_seed;    /* which samples go to validation */
    uint32_t train_samples; /* train on the first this many of the training split (0: all) */
    uint32_t test_samples;  /* test on the first this many test images (0: all) */
    dpt_norm norm;
    int threads; /* decoders at once while reading PNG folders */
} dpt_data_options;

typedef struct dpt_data {
    dpt_dataset set;
    dpt_split train, val, test;
    float *mean, *std; /* per channel */
    char digest[65];   /* dpt_dataset_digest */
} dpt_data;

/* Reads opt->path (dpt_dataset_read), then dpt_data_prepare. */
int dpt_data_load(const dpt_data_options *opt, dpt_data *data, dpt_err *err);
/* Splits and standardizes a dataset already read, taking it over (set is left empty, and freed
   on failure). */
int dpt_data_prepare(dpt_dataset *set, const dpt_data_options *opt, dpt_data *data, dpt_err *err);
void dpt_data_free(dpt_data *data);

/* Writes the standardized pixels of samples split->idx[pos[0..n)] (or idx[first..first+n) when
   pos is NULL) into x (n x channels x height x width) and their class indices into y: n labels
   for a classification dataset; for a segmentation dataset, each sample's mask (n x height x
   width values, row-major: dpt_images_targets per sample). */
void dpt_data_gather(const dpt_data *data, const dpt_split *split, const uint32_t *pos,
                     uint32_t first, size_t n, float *x, int *y);

/* The sample order of one epoch: a permutation of split positions 0..n-1 that depends only on
   (seed, epoch), identical on every rank. */
void dpt_data_epoch_order(uint64_t seed, uint32_t epoch, uint32_t *order, uint32_t n);

#endif
