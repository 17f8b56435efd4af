/* Checks of what a reader returned, shared by the harnesses. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

void fuzz_fail(const char *harness, const char *what) {
    fprintf(stderr, "fuzz %s: %s\n", harness, what);
    abort();
}

void fuzz_say(const char *harness, const char *what) {
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("FUZZ_VERBOSE") != NULL;
    if (verbose) fprintf(stderr, "%s: %s\n", harness, what);
}

void fuzz_refused(const char *harness, const dpt_err *err) {
    if (!err->msg[0]) fuzz_fail(harness, "refused the input without a message");
    fuzz_say(harness, err->msg);
}

/* Where fuzz_read_all's sums go, so that the reads are not optimized away. */
static volatile unsigned char sink;

void fuzz_read_all(const void *p, size_t bytes) {
    const unsigned char *b = p;
    unsigned char sum = 0;
    for (size_t i = 0; i < bytes; i++) sum += b[i];
    sink = sum;
}
