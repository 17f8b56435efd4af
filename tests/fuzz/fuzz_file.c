/* The fuzz input as a file: one folder per process, dptrain-fuzz-XXXXXX, in $FUZZ_TMPDIR, else
   /dev/shm (memory, not a disk), else /tmp; removed at exit. Not memfds: HDF5 resolves a file's
   real path on opening, and a memfd's /proc/self/fd/N has none. A crash skips exit handlers and
   leaves the folder behind, so run_fuzz.sh points FUZZ_TMPDIR at a folder it removes itself. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

enum { SLOTS = 4 };

static char folder[64];
static char paths[SLOTS][96];
static int fds[SLOTS] = {-1, -1, -1, -1};

static void remove_files(void) {
    for (int s = 0; s < SLOTS; s++)
        if (fds[s] >= 0) {
            close(fds[s]);
            unlink(paths[s]);
        }
    rmdir(folder);
}

static void make_folder(void) {
    struct stat st;
    const char *base = getenv("FUZZ_TMPDIR");
    if (!base) base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(folder, sizeof folder, "%s/dptrain-fuzz-XXXXXX", base);
    if (!mkdtemp(folder)) fuzz_fail("file", strerror(errno));
    atexit(remove_files);
}

const char *fuzz_file(int slot, const uint8_t *data, size_t size) {
    if (slot < 0 || slot >= SLOTS) fuzz_fail("file", "no such slot");
    if (!folder[0]) make_folder();
    if (fds[slot] < 0) {
        snprintf(paths[slot], sizeof paths[slot], "%s/input-%d", folder, slot);
        if ((fds[slot] = open(paths[slot], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
            fuzz_fail("file", strerror(errno));
    }
    const int fd = fds[slot];
    if (ftruncate(fd, 0) != 0) fuzz_fail("file", strerror(errno));
    for (size_t done = 0; done < size;) {
        const ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
        if (n <= 0) fuzz_fail("file", n < 0 ? strerror(errno) : "short write");
        done += (size_t)n;
    }
    return paths[slot];
}
