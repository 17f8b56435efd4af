/* Datasets as read from disk: the training and test images of one source with their labels and
   class names. Three formats, chosen by what the path is:
     a folder with Train/ or train/   PNG files in one folder per class (dataset_png.c)
     any other folder                 the four MNIST IDX files, raw or .gz (dataset_idx.c)
     a regular file                   one HDF5 file: /train/images, /train/labels, /test/images,
                                      /test/labels, optional /classes (dataset_h5.c)
   Every reader validates everything (shapes, types, label range, sizes) and fails with one
   line naming the file and the problem; none reads more than it can hold. */
#ifndef DPTRAIN_DATASET_H
#define DPTRAIN_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "dptrain/error.h"

/* A split never holds more bytes of pixels and labels than this (4 GiB). */
#define DPT_DATASET_MAX_BYTES ((size_t)1 << 32)
/* Nor more classes than this, nor class names longer than this (bytes). */
#define DPT_DATASET_MAX_CLASSES 65536
#define DPT_CLASS_NAME_MAX 255

typedef struct dpt_images {
    uint8_t *pixels; /* count x channels x height x width, channel-major per sample */
    int32_t *labels; /* count, each in [0, classes) */
    uint32_t count, channels, height, width;
} dpt_images;

typedef struct dpt_dataset {
    dpt_images train, test;
    int classes;
    char **class_names; /* classes names (each malloc'd), or NULL when the source names none */
} dpt_dataset;

typedef enum dpt_dataset_format {
    DPT_DATASET_NONE = -1,
    DPT_DATASET_IDX,
    DPT_DATASET_PNG,
    DPT_DATASET_H5
} dpt_dataset_format;

/* Which format the dataset at path is in, or DPT_DATASET_NONE (with err) when path is missing or
   neither a folder nor a regular file. */
dpt_dataset_format dpt_dataset_format_of(const char *path, dpt_err *err);
/* "IDX folder", "PNG folder tree" or "HDF5 file". */
const char *dpt_dataset_format_name(dpt_dataset_format format);

/* Reads the dataset at path in whichever format it is (see above). threads: decoders to run at
   once (PNG folders). Refuses a path that is neither a folder nor a regular file (a FIFO, a
   device). On success the dataset passed dpt_dataset_check. */
int dpt_dataset_read(const char *path, int threads, dpt_dataset *ds, dpt_err *err);
void dpt_dataset_free(dpt_dataset *ds);

/* The readers of each format (dpt_dataset_read picks one). Each fills ds completely, including
   classes (the number of class names when there are names, else 1 + the largest label), and
   checks its labels against it. */
int dpt_dataset_read_idx(const char *dir, dpt_dataset *ds, dpt_err *err);
int dpt_dataset_read_png(const char *dir, int threads, dpt_dataset *ds, dpt_err *err);
int dpt_dataset_read_h5(const char *path, dpt_dataset *ds, dpt_err *err);

/* Writes ds as the HDF5 dataset format above (atomically: a temporary file renamed over path). */
int dpt_dataset_write_h5(const char *path, const dpt_dataset *ds, dpt_err *err);

/* Allocates images->pixels and ->labels for count samples of channels x height x width, after
   checking that the pixels stay under DPT_DATASET_MAX_BYTES (else one line naming `what`, e.g.
   the file). Sets the four sizes. */
int dpt_images_alloc(dpt_images *images, uint32_t count, uint32_t channels, uint32_t height,
                     uint32_t width, const char *what, dpt_err *err);

/* The checks every reader's result passes: training and test images of one shape, at least one
   training image, 1 <= classes <= DPT_DATASET_MAX_CLASSES, every label in [0, classes), and the
   class names (when there are names) pass dpt_class_names_check. */
int dpt_dataset_check(const dpt_dataset *ds, const char *path, dpt_err *err);

/* Each of the n names has 1 to DPT_CLASS_NAME_MAX bytes and no control characters, and no two
   are equal; else one line starting with `what`. */
int dpt_class_names_check(char *const *names, int n, const char *what, dpt_err *err);

/* SHA-256 (hex) of everything the dataset is: shapes, class count and names, then the training
   and test pixels and labels (labels as little-endian int32). Equal for equal data in any
   format that keeps sample order and names. */
void dpt_dataset_digest(const dpt_dataset *ds, char hex[65]);

#endif
