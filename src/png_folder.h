/* What the two PNG dataset readers (dataset_png.c: one folder per class; dataset_png_seg.c:
   images with masks) share: listing folders, finding the split folders, decoding a file that
   must have a given size, and decoding many files in parallel with the first failure in sample
   order reported. Internal to the library. */
#ifndef DPTRAIN_SRC_PNG_FOLDER_H
#define DPTRAIN_SRC_PNG_FOLDER_H

#include <stddef.h>
#include <stdint.h>

#include "dptrain/error.h"
#include "dptrain/png_image.h"

/* A growable array of malloc'd strings. */
typedef struct dpt_strings {
    char **items;
    size_t count, cap;
} dpt_strings;

/* Adds item, taking it: it is freed when it cannot be added (NULL stands for out of memory). */
int dpt_strings_add(dpt_strings *s, char *item, dpt_err *err);
void dpt_strings_free(dpt_strings *s);

/* "out of memory listing PNG files"; returns -1. */
int dpt_png_folder_oom(dpt_err *err);

/* dir/name, malloc'd (one slash between them when dir ends with one), or NULL. */
char *dpt_path_join(const char *dir, const char *name);

/* strcmp order of two char * array elements (for qsort and bsearch). */
int dpt_cmp_names(const void *a, const void *b);

/* The visible entries of folder dir (names not starting with '.'), unsorted: its subfolders
   (folders = 1; files are skipped) or its files named *.png in any case (folders = 0). */
int dpt_list_folder(const char *dir, int folders, dpt_strings *out, dpt_err *err);

/* Finds dir's split folder, spelled `first` or `second` ("Train" or "train"): *path gets
   dir/spelling (malloc'd) and *spelled the spelling. Refuses both spellings at once (unless a
   case-insensitive file system makes them one folder), neither ("DIR: no FIRST/ folder
   (LAYOUT)", where layout says what the dataset should hold) and a file. */
int dpt_find_split(const char *dir, const char *first, const char *second, const char *layout,
                   char **path, const char **spelled, dpt_err *err);

/* Decodes path (as a mask when mask is 1) into slot, which holds want's channels x height x
   width bytes. Returns 0, -1 with err set, or 1 when the file is of another size or channel
   count, *got telling which (nothing decoded then, err not to be used). */
int dpt_png_read_sized(const char *path, int mask, const dpt_png_info *want, uint8_t *slot,
                       dpt_png_info *got, dpt_err *err);

/* dpt_png_read_sized for a dataset's image: another size fails in one line naming path with its
   size and `first`, the dataset's first image, with want, its size. */
int dpt_png_read_like(const char *path, const char *first, const dpt_png_info *want, uint8_t *slot,
                      dpt_err *err);

/* Runs job(ctx, i, err) for every i in [0, total) on `threads` threads (jobs after a failed one
   may be skipped). When jobs fail, reports the failure of the smallest i, whichever thread met
   it and when, so the message is the same on every run and machine. */
int dpt_run_jobs(size_t total, int threads, int (*job)(void *ctx, size_t i, dpt_err *err),
                 void *ctx, dpt_err *err);

#endif
