/* The test's temporary folder (tmpdir.h). */
#define _DEFAULT_SOURCE
#include "tmpdir.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

static char dir[64];

int tmpdir_make(const char *tag) {
    snprintf(dir, sizeof dir, "/tmp/dptrain-test-%s-XXXXXX", tag);
    return mkdtemp(dir) ? 0 : -1;
}

int tmpdir_remove(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

const char *path_of(const char *name) {
    static char buf[4][1024];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 1024, "%s/%s", dir, name);
    return p;
}

void put_bytes(const char *path, const uint8_t *buf, long n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, (size_t)n, f), (size_t)n);
    assert_int_equal(fclose(f), 0);
}

void make_parents(const char *path) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0700);
            *p = '/';
        }
}

void put_fifo(const char *name) {
    assert_int_equal(mkfifo(path_of(name), 0600), 0);
}

void expect_message(const char *msg, const char *path, const char *problem) {
    if ((path && !strstr(msg, path)) || !strstr(msg, problem) || strchr(msg, '\n'))
        fail_msg("message '%s' should be one line%s%s and say '%s'", msg, path ? " naming " : "",
                 path ? path : "", problem);
}
