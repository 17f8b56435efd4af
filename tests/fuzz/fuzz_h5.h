/* What the HDF5 harnesses share: the check after each input, and writing HDF5 files in memory
   (the structure-aware harnesses build each input's file through the HDF5 API). */
#ifndef DPTRAIN_FUZZ_H5_H
#define DPTRAIN_FUZZ_H5_H

#include <hdf5.h>

#include "dptrain/ckpt.h"

/* Aborts (fuzz_fail) when any HDF5 file, group, dataset, datatype or attribute is still open:
   a reader must close every id on every path, or the next open of the file would share stale
   state (and a long-running process would run out of ids). */
void fuzz_h5_all_closed(const char *harness);

/* Reads every byte of what a checkpoint that loaded holds (weights, buffers, standardization,
   class names, data path), so that AddressSanitizer checks their sizes. */
void fuzz_read_trained(const char *harness, const dpt_trained *t);

/* An empty HDF5 file in memory (the core driver, never written to disk). */
hid_t fuzz_h5_create(void);
/* Closes f and writes its bytes to fuzz file `slot` (fuzz_file); returns the path. With
   FUZZ_SAVE_H5=FILE in the environment, also copies them to FILE (to run `dptrain eval` or
   `dptrain data info` on what an input built). */
const char *fuzz_h5_write(hid_t f, int slot);

/* The file types the harnesses choose from: integers of every width and sign, floats, and a
   fixed-length string (numbers written to it are stored as text by fuzz_h5_attr_numbers). */
enum { FUZZ_H5_TYPES = 11 };
hid_t fuzz_h5_type(int index);

/* Attribute `name` of object `obj` (a group, created with its parents when missing): n values
   of file type `type` converted from `values` (n 0: a scalar of values[0]). */
void fuzz_h5_attr_numbers(hid_t f, const char *obj, const char *name, hid_t type,
                          const double *values, int n);
/* Attribute `name` of `obj`: n strings, variable-length or fixed at the longest's length (n 0:
   a scalar of texts[0]). */
void fuzz_h5_attr_texts(hid_t f, const char *obj, const char *name, int variable,
                        const char *const *texts, int n);
/* Dataset `path` (its groups created): rank dims of file type `type`, written from `data` of
   memory type `mem` (NULL: left unwritten, the fill value); layout 0 contiguous, 1 chunked, 2
   chunked and deflated, 3 compact (when it fits). */
void fuzz_h5_dataset(hid_t f, const char *path, hid_t type, int rank, const hsize_t *dims,
                     hid_t mem, const void *data, int layout);

#endif
