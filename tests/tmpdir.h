/* The test's temporary folder, /tmp/dptrain-test-<tag>-XXXXXX: made by the cmocka group setup,
   removed with all it holds by the group teardown, and the paths and files inside it. Shared by
   the unit tests that read files. Every failure fails the running cmocka test. */
#ifndef DPTRAIN_TESTS_TMPDIR_H
#define DPTRAIN_TESTS_TMPDIR_H

#include <stdint.h>

/* Makes the folder (for a group setup); 0, or -1 when it cannot be made. */
int tmpdir_make(const char *tag);
/* A cmocka group teardown: removes the folder and all it holds; 0, or -1 on failure. */
int tmpdir_remove(void **state);
/* dir/name; four buffers in turn, so a call's result lasts for the next three calls. */
const char *path_of(const char *name);
/* Writes the n bytes of buf as the file at path. */
void put_bytes(const char *path, const uint8_t *buf, long n);
/* Creates the folders of path up to its last slash. */
void make_parents(const char *path);
/* Makes a FIFO at dir/name (its folder must be there). */
void put_fifo(const char *name);
/* Fails unless the error message msg is one line, names path (unless NULL) and says problem. */
void expect_message(const char *msg, const char *path, const char *problem);

#endif
