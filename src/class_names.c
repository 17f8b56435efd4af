/* Class names: their rules, and reading them from a file of one name a line. */
#define _POSIX_C_SOURCE 200809L /* strndup */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dptrain/dataset.h"
#include "dptrain/fsutil.h"

enum { MAX_NAMES_FILE = DPT_DATASET_MAX_CLASSES * 258 }; /* 255 bytes, CR, LF, with room */

typedef struct {
    const char *name;
    int index;
} class_ref;

static int by_name(const void *a, const void *b) {
    const class_ref *x = a, *y = b;
    const int c = strcmp(x->name, y->name);
    return c ? c : x->index - y->index;
}

int dpt_class_names_check(char *const *names, int n, const char *what, dpt_err *err) {
    for (int c = 0; c < n; c++) {
        const size_t len = strlen(names[c]);
        if (len == 0) return dpt_fail(err, "%s: class %d has an empty name", what, c);
        if (len > DPT_CLASS_NAME_MAX)
            return dpt_fail(err, "%s: class %d's name has %zu bytes; at most %d", what, c, len,
                            DPT_CLASS_NAME_MAX);
        for (const unsigned char *p = (const unsigned char *)names[c]; *p; p++)
            if (*p < 0x20 || *p == 0x7f)
                return dpt_fail(err, "%s: class %d's name has a control character (0x%02x)", what,
                                c, *p);
    }
    class_ref *sorted = malloc(sizeof *sorted * (size_t)(n + 1));
    if (!sorted) return dpt_fail(err, "%s: out of memory checking %d class names", what, n);
    for (int c = 0; c < n; c++) sorted[c] = (class_ref){names[c], c};
    qsort(sorted, (size_t)n, sizeof *sorted, by_name);
    int rc = 0;
    for (int c = 1; rc == 0 && c < n; c++)
        if (strcmp(sorted[c - 1].name, sorted[c].name) == 0)
            rc = dpt_fail(err, "%s: classes %d and %d are both named '%s'", what,
                          sorted[c - 1].index, sorted[c].index, sorted[c].name);
    free(sorted);
    return rc;
}

void dpt_class_names_free(char **names, int n) {
    for (int i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

/* The lines of text[0..size) into names[0..*n). */
static int split_lines(const char *file, const char *text, size_t size, char **names, int *n,
                       dpt_err *err) {
    for (size_t at = 0, line = 1; at < size; line++) {
        const char *end = memchr(text + at, '\n', size - at);
        size_t len = end ? (size_t)(end - (text + at)) : size - at;
        const size_t next = at + len + 1;
        if (len > 0 && text[at + len - 1] == '\r') len--;
        if (len == 0)
            return dpt_fail(err, "%s:%zu: blank line (the file holds one class name a line)", file,
                            line);
        if (*n == DPT_DATASET_MAX_CLASSES)
            return dpt_fail(err, "%s: more than %d names", file, DPT_DATASET_MAX_CLASSES);
        if (!(names[*n] = strndup(text + at, len))) return dpt_fail(err, "%s: out of memory", file);
        (*n)++;
        at = next;
    }
    return 0;
}

int dpt_class_names_read(const char *file, char ***names, int *n, dpt_err *err) {
    *names = NULL, *n = 0;
    if (dpt_check_regular_file(file, err)) return -1;
    FILE *f = fopen(file, "r");
    if (!f) return dpt_fail(err, "%s: %s", file, strerror(errno));
    char *text = malloc(MAX_NAMES_FILE + 1);
    const size_t size = text ? fread(text, 1, MAX_NAMES_FILE + 1, f) : 0;
    const int failed = !text || ferror(f);
    fclose(f);
    char **list = NULL;
    int rc = failed                  ? dpt_fail(err, "%s: cannot read it", file)
             : size > MAX_NAMES_FILE ? dpt_fail(err, "%s: too long for %d names of %d bytes", file,
                                                DPT_DATASET_MAX_CLASSES, DPT_CLASS_NAME_MAX)
             : size == 0             ? dpt_fail(err, "%s: empty", file)
             : !(list = calloc(DPT_DATASET_MAX_CLASSES, sizeof *list))
                 ? dpt_fail(err, "%s: out of memory", file)
                 : split_lines(file, text, size, list, n, err);
    free(text);
    if (rc) {
        dpt_class_names_free(list, *n);
        *n = 0;
        return -1;
    }
    *names = list;
    return 0;
}
