/* Datasets: the four MNIST-format files of a folder, held as bytes in RAM, a seeded
   train/validation split, standardization and per-epoch sample order. */
#ifndef DPTRAIN_DATA_H
#define DPTRAIN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "dptrain/error.h"

typedef struct dpt_images {
    uint8_t *pixels; /* count x height x width */
    uint8_t *labels; /* count */
    uint32_t count, height, width;
} dpt_images;

/* A subset of an image set: the samples set[idx[0..n)]. */
typedef struct dpt_split {
    const dpt_images *set;
    uint32_t *idx;
    uint32_t n;
} dpt_split;

typedef struct dpt_data_options {
    const char *dir;        /* holds train-images-idx3-ubyte[.gz] and the three others */
    uint32_t val;           /* validation samples taken out of the training file */
    uint64_t split_seed;    /* which samples go to validation */
    uint32_t train_samples; /* train on the first this many of the training split (0: all) */
    int compute_norm;       /* 1: mean/std from the training split; 0: MNIST's 0.1307/0.3081 */
} dpt_data_options;

typedef struct dpt_data {
    dpt_images train_file, test_file;
    dpt_split train, val, test;
    int classes; /* 1 + the largest label of the training and test sets */
    float mean, std;
    char digest[65]; /* SHA-256 of the training then test pixels and labels */
} dpt_data;

int dpt_data_load(const dpt_data_options *opt, dpt_data *data, dpt_err *err);
void dpt_data_free(dpt_data *data);

/* Writes the standardized pixels of samples split->idx[pos[0..n)] (or idx[first..first+n) when
   pos is NULL) into x (n x height x width) and their labels into y. */
void dpt_data_gather(const dpt_data *data, const dpt_split *split, const uint32_t *pos,
                     uint32_t first, size_t n, float *x, int *y);

/* The sample order of one epoch: a permutation of split positions 0..n-1 that depends only on
   (seed, epoch), identical on every rank. */
void dpt_data_epoch_order(uint64_t seed, uint32_t epoch, uint32_t *order, uint32_t n);

#endif
