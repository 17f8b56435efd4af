/* Files and folders: results are written whole or not at all. */
#ifndef DPTRAIN_FSUTIL_H
#define DPTRAIN_FSUTIL_H

#include <stddef.h>
#include <stdio.h>

#include "dptrain/error.h"

/* 0 if path can be read and is a regular file, else -1 with "PATH: not a regular file" (a FIFO
   or device, told without blocking on it) or why it cannot be read. */
int dpt_check_regular_file(const char *path, dpt_err *err);
/* Creates path and its missing parents, like mkdir -p. */
int dpt_mkdir_p(const char *path, dpt_err *err);
/* Every file that must never be seen half-written goes through a temporary file beside it:
   tmp is "path.tmp-PID". */
void dpt_tmp_path(const char *path, char *tmp, size_t size);
/* After tmp was written (written = 1, or 0 with the errno of the failure): syncs it, renames it
   over path and syncs the folder; on any failure removes tmp, leaves path as it was and says so
   naming path. */
int dpt_replace_with(const char *tmp, const char *path, int written, int write_errno, dpt_err *err);
/* Removes the temporary files of a run's own files (checkpoint.h5, best.h5, result.json:
   NAME.tmp-PID) that processes no longer running on this host left in dir (a run killed while
   writing), printing "<tag>removed NAME.tmp-PID, left by ..." to `out` for
   each; returns how many. */
int dpt_remove_stale_tmp(const char *dir, const char *tag, FILE *out);
/* Writes data[0..size) to path through dpt_tmp_path and dpt_replace_with. */
int dpt_write_atomic(const char *path, const void *data, size_t size, dpt_err *err);

#endif
