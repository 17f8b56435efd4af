/* What the harnesses share: libFuzzer's entry point, the fuzz input as a file for readers that
   take a path (fuzz_file.c), and the checks of what a reader returned (fuzz_check.c). */
#ifndef DPTRAIN_FUZZ_H
#define DPTRAIN_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "dptrain/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes data[0..size) into file number `slot` (0 to 3; each created once, in memory under
   /dev/shm or in $FUZZ_TMPDIR, and rewritten for every input) and returns its path. Aborts on
   failure: a harness that cannot write its input tests nothing. */
const char *fuzz_file(int slot, const uint8_t *data, size_t size);

/* Aborts with "fuzz <harness>: <what>" on stderr: a broken promise of the code under test. */
_Noreturn void fuzz_fail(const char *harness, const char *what);
/* A reader refused the input: its message must not be empty (else fuzz_fail); fuzz_say's it. */
void fuzz_refused(const char *harness, const dpt_err *err);
/* With FUZZ_VERBOSE set in the environment, prints "<harness>: <what>" on stderr (what each
   input did: an error message, or what was loaded); else nothing. */
void fuzz_say(const char *harness, const char *what);
/* Reads every byte of p[0..bytes), so that ASan reports a buffer shorter than its reader said. */
void fuzz_read_all(const void *p, size_t bytes);

#endif
