/* Datasets as read from disk: the training and test images of one source with, for each image,
   its class (a classification dataset) or its mask, one class per pixel (a segmentation
   dataset), and the class names. Four formats, chosen by what the path is:
     a folder whose train/ (or Train/) holds images/ and masks/
                                      PNG segmentation folders: train/images/NAME.png with
                                      train/masks/NAME.png, the same under test/, optional
                                      classes.txt (dataset_png_seg.c)
     another folder with Train/ or train/
                                      PNG files in one folder per class (dataset_png.c)
     any other folder                 the four MNIST IDX files, raw or .gz (dataset_idx.c)
     a regular file                   one HDF5 file: /train/images, /test/images, then
                                      /train/labels and /test/labels or /train/masks and
                                      /test/masks, optional /classes (dataset_h5.c)
   Every reader validates everything (shapes, types, label and mask ranges, sizes) and fails
   with one line naming the file and the problem; none reads more than it can hold. */
#ifndef DPTRAIN_DATASET_H
#define DPTRAIN_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "dptrain/error.h"
#include "dptrain/task.h"

/* A split never holds more bytes of pixels, labels and masks than this (4 GiB). */
#define DPT_DATASET_MAX_BYTES ((size_t)1 << 32)
/* Nor more classes than this, nor class names longer than this (bytes). */
#define DPT_DATASET_MAX_CLASSES 65536
#define DPT_CLASS_NAME_MAX 255
/* A segmentation dataset's masks hold 8-bit class indices: at most this many classes. */
#define DPT_SEGMENT_MAX_CLASSES 256

/* One split. A classification dataset has labels and masks == NULL; a segmentation dataset has
   masks and labels == NULL (in both splits). */
typedef struct dpt_images {
    uint8_t *pixels; /* count x channels x height x width, channel-major per sample */
    int32_t *labels; /* count class indices, each in [0, classes), or NULL (segmentation) */
    uint8_t *masks;  /* count x height x width class indices (row-major per sample), each in
                        [0, classes), or NULL (classification) */
    uint32_t count, channels, height, width;
} dpt_images;

typedef struct dpt_dataset {
    dpt_images train, test;
    int classes;        /* at most DPT_SEGMENT_MAX_CLASSES for a segmentation dataset */
    char **class_names; /* classes names (each malloc'd), or NULL when the source names none */
} dpt_dataset;

typedef enum dpt_dataset_format {
    DPT_DATASET_NONE = -1,
    DPT_DATASET_IDX,
    DPT_DATASET_PNG,
    DPT_DATASET_H5,
    DPT_DATASET_PNG_SEG
} dpt_dataset_format;

/* Which format the dataset at path is in, or DPT_DATASET_NONE (with err) when path is missing or
   neither a folder nor a regular file. */
dpt_dataset_format dpt_dataset_format_of(const char *path, dpt_err *err);
/* "IDX folder", "PNG folder tree", "HDF5 file" or "PNG segmentation folders". */
const char *dpt_dataset_format_name(dpt_dataset_format format);

/* Reads the dataset at path in whichever format it is (see above). threads: decoders to run at
   once (PNG folders of either kind). Refuses a path that is neither a folder nor a regular file (a
   FIFO, a device). On success the dataset passed dpt_dataset_check. */
int dpt_dataset_read(const char *path, int threads, dpt_dataset *ds, dpt_err *err);
void dpt_dataset_free(dpt_dataset *ds);

/* The readers of each format (dpt_dataset_read picks one). Each fills ds completely, including
   classes (the number of class names when there are names, else 1 + the largest label or mask
   value), and checks its labels or masks against it. */
int dpt_dataset_read_idx(const char *dir, dpt_dataset *ds, dpt_err *err);
int dpt_dataset_read_png(const char *dir, int threads, dpt_dataset *ds, dpt_err *err);
int dpt_dataset_read_png_seg(const char *dir, int threads, dpt_dataset *ds, dpt_err *err);
int dpt_dataset_read_h5(const char *path, dpt_dataset *ds, dpt_err *err);

/* Writes ds as the HDF5 dataset format above (atomically: a temporary file renamed over path),
   with labels or masks as ds has them. */
int dpt_dataset_write_h5(const char *path, const dpt_dataset *ds, dpt_err *err);

/* DPT_TASK_SEGMENT when ds has masks, else DPT_TASK_CLASSIFY. */
dpt_task dpt_dataset_task(const dpt_dataset *ds);
/* "classification" or "segmentation". */
const char *dpt_task_name(dpt_task task);

/* Allocates images->pixels and, by task, ->labels or ->masks for count samples of channels x
   height x width, after checking that they stay under DPT_DATASET_MAX_BYTES (else one line
   naming `what`, e.g. the file). Sets the four sizes. */
int dpt_images_alloc(dpt_images *images, dpt_task task, uint32_t count, uint32_t channels,
                     uint32_t height, uint32_t width, const char *what, dpt_err *err);

/* How many class indices a sample has: 1 (its label) or height x width (its mask). */
size_t dpt_images_targets(const dpt_images *images);
/* Adds 1 to counts[c] for each class index c (label or mask pixel) of samples idx[0..n), or of
   samples 0..n-1 when idx is NULL. counts has the dataset's classes entries. */
void dpt_images_count_classes(const dpt_images *images, const uint32_t *idx, uint32_t n,
                              int64_t *counts);
/* The summed weights[c] over the class indices c of sample i: weights[label], or the sum over
   its mask's pixels. */
double dpt_images_weight(const dpt_images *images, uint32_t i, const float *weights);

/* The largest of masks[0..n) (0 when n is 0). */
uint8_t dpt_masks_largest(const uint8_t *masks, size_t n);
/* 1 + the largest mask value of both splits: the classes of a segmentation dataset whose
   classes have no names. */
int dpt_dataset_mask_classes(const dpt_dataset *ds);
/* The position of the first of masks[0..n) that is >= classes, or n when there is none. */
size_t dpt_masks_first_outside(const uint8_t *masks, size_t n, int classes);

/* The checks every reader's result passes: training and test images of one shape, at least one
   training image, both splits with labels or both with masks, 1 <= classes <=
   DPT_DATASET_MAX_CLASSES (DPT_SEGMENT_MAX_CLASSES with masks), every label and mask value in
   [0, classes), and the class names (when there are names) pass dpt_class_names_check. */
int dpt_dataset_check(const dpt_dataset *ds, const char *path, dpt_err *err);

/* Each of the n names has 1 to DPT_CLASS_NAME_MAX bytes and no control characters, and no two
   are equal; else one line starting with `what`. */
int dpt_class_names_check(char *const *names, int n, const char *what, dpt_err *err);
/* Reads a class names file: one name a line (CRLF taken, the last newline optional), no blank
   lines, at most DPT_DATASET_MAX_CLASSES names of DPT_CLASS_NAME_MAX bytes. On success *names
   holds *n malloc'd names (free them with dpt_class_names_free); else one line naming the file
   (and the line). The names' other rules are dpt_class_names_check's. */
int dpt_class_names_read(const char *file, char ***names, int *n, dpt_err *err);
void dpt_class_names_free(char **names, int n);

/* SHA-256 (hex) of everything the dataset is: shapes, class count and names, then the training
   and test pixels and labels (labels as little-endian int32) or masks (a segmentation dataset's
   header also says "masks"). Equal for equal data in any format that keeps sample order and
   names. */
void dpt_dataset_digest(const dpt_dataset *ds, char hex[65]);

#endif
