#define _GNU_SOURCE
#include "dptrain/fsutil.h"

#include <fcntl.h>
#include <libgen.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int dpt_check_regular_file(const char *path, dpt_err *err) {
    const int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return dpt_fail(err, "%s: %s", path, strerror(errno));
    struct stat st;
    const int regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    close(fd);
    return regular ? 0 : dpt_fail(err, "%s: not a regular file", path);
}

int dpt_mkdir_p(const char *path, dpt_err *err) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return dpt_fail(err, "%.64s...: path too long", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p) continue;
        char saved = *p;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return dpt_fail(err, "%s: cannot create folder: %s", buf, strerror(errno));
        struct stat st;
        if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
            return dpt_fail(err, "%s: exists and is not a folder", buf);
        *p = saved;
        if (!saved) return 0;
    }
}

void dpt_tmp_path(const char *path, char *tmp, size_t size) {
    snprintf(tmp, size, "%s.tmp-%ld", path, (long)getpid());
}

int dpt_remove_stale_tmp(const char *dir, const char *tag, FILE *out) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int removed = 0;
    for (struct dirent *e; (e = readdir(d));) {
        const char *mark = strstr(e->d_name, ".tmp-");
        char *end;
        if (!mark ||
            (strncmp(e->d_name, "checkpoint.h5.", 14) != 0 &&
             strncmp(e->d_name, "best.h5.", 8) != 0 && strncmp(e->d_name, "result.json.", 12) != 0))
            continue; /* only a run's own files: checkpoint.h5, best.h5, result.json */
        const long pid = strtol(mark + 5, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* not ours to judge, or its writer still runs */
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) == 0) {
            fprintf(out, "%sremoved %s, left by process %ld (no longer running)\n", tag, path, pid);
            removed++;
        }
    }
    closedir(d);
    return removed;
}

static int sync_path(const char *path, int flags) {
    int fd = open(path, flags);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int dpt_replace_with(const char *tmp, const char *path, int written, int write_errno,
                     dpt_err *err) {
    int saved = write_errno;
    if (written && sync_path(tmp, O_RDONLY) != 0) written = 0, saved = errno;
    if (written && rename(tmp, path) != 0) written = 0, saved = errno;
    if (!written) {
        unlink(tmp);
        return dpt_fail(err, "%s: cannot write (%s); the previous file is left as it was", path,
                        saved ? strerror(saved) : "HDF5 error");
    }
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    sync_path(dirname(dir), O_RDONLY | O_DIRECTORY); /* make the rename itself durable */
    return 0;
}

/* Test-only fault injection: DPTRAIN_FAULT=write-kill kills the process halfway through
   writing a file, as a power cut or the OOM killer would. */
static void maybe_die_midway(void) {
    const char *fault = getenv("DPTRAIN_FAULT");
    if (fault && strcmp(fault, "write-kill") == 0) raise(SIGKILL);
}

/* Writes all of data[0..size) to fd; 0, or -1 with errno set. */
static int write_all(int fd, const char *data, size_t size) {
    while (size) {
        const ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return n == 0 ? (errno = EIO, -1) : -1;
        data += n, size -= (size_t)n;
    }
    return 0;
}

int dpt_write_atomic(const char *path, const void *data, size_t size, dpt_err *err) {
    char tmp[4200];
    dpt_tmp_path(path, tmp, sizeof tmp);
    const int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) return dpt_fail(err, "%s: cannot write: %s", tmp, strerror(errno));
    const size_t half = size / 2;
    int ok = write_all(fd, data, half) == 0;
    if (ok) maybe_die_midway();
    ok = ok && write_all(fd, (const char *)data + half, size - half) == 0;
    int saved = ok ? 0 : errno;
    if (close(fd) != 0 && ok) ok = 0, saved = errno;
    return dpt_replace_with(tmp, path, ok, saved, err);
}
