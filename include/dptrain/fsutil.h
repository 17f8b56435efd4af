/* Files and folders: results are written whole or not at all. */
#ifndef DPTRAIN_FSUTIL_H
#define DPTRAIN_FSUTIL_H

#include "dptrain/error.h"

/* Creates path and its missing parents, like mkdir -p. */
int dpt_mkdir_p(const char *path, dpt_err *err);
/* Writes text to a temporary file beside path, syncs it, and renames it over path. */
int dpt_write_file_atomic(const char *path, const char *text, dpt_err *err);

#endif
