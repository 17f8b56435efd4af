/* Errors: library functions return 0 on success or -1 with a one-line message in a dpt_err. */
#ifndef DPTRAIN_ERROR_H
#define DPTRAIN_ERROR_H

typedef struct dpt_err {
    char msg[512];
} dpt_err;

/* Formats the message into err (when err is not NULL) and returns -1, so callers can write
   `return dpt_fail(err, "...")`. */
int dpt_fail(dpt_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
