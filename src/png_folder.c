/* Listing and decoding PNG dataset folders (png_folder.h). */
#define _POSIX_C_SOURCE 200809L /* strdup, strcasecmp */
#include "png_folder.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

int dpt_png_folder_oom(dpt_err *err) {
    return dpt_fail(err, "out of memory listing PNG files");
}

char *dpt_path_join(const char *dir, const char *name) {
    const size_t len = strlen(dir), n = len + strlen(name) + 2;
    char *path = malloc(n);
    if (path) snprintf(path, n, "%s%s%s", dir, len && dir[len - 1] == '/' ? "" : "/", name);
    return path;
}

int dpt_strings_add(dpt_strings *s, char *item, dpt_err *err) {
    if (!item) return dpt_png_folder_oom(err);
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        char **items = realloc(s->items, cap * sizeof *items);
        if (!items) {
            free(item);
            return dpt_png_folder_oom(err);
        }
        s->items = items, s->cap = cap;
    }
    s->items[s->count++] = item;
    return 0;
}

void dpt_strings_free(dpt_strings *s) {
    for (size_t i = 0; i < s->count; i++) free(s->items[i]);
    free(s->items);
    *s = (dpt_strings){0};
}

int dpt_cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_png_suffix(const char *name) {
    size_t n = strlen(name);
    return n > 4 && strcasecmp(name + n - 4, ".png") == 0;
}

int dpt_list_folder(const char *dir, int folders, dpt_strings *out, dpt_err *err) {
    DIR *d = opendir(dir);
    if (!d) return dpt_fail(err, "%s: cannot list: %s", dir, strerror(errno));
    int rc = 0;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno) rc = dpt_fail(err, "%s: cannot list: %s", dir, strerror(errno));
            break;
        }
        if (e->d_name[0] == '.') continue;
        if (folders) {
            char *path = dpt_path_join(dir, e->d_name);
            struct stat st;
            if (!path) {
                rc = dpt_png_folder_oom(err);
            } else if (stat(path, &st) != 0) {
                rc = dpt_fail(err, "%s: %s", path, strerror(errno));
            } else if (S_ISDIR(st.st_mode)) {
                rc = dpt_strings_add(out, strdup(e->d_name), err);
            }
            free(path);
        } else if (has_png_suffix(e->d_name)) {
            rc = dpt_strings_add(out, strdup(e->d_name), err);
        }
        if (rc) break;
    }
    closedir(d);
    return rc;
}

int dpt_find_split(const char *dir, const char *first, const char *second, const char *layout,
                   char **path, const char **spelled, dpt_err *err) {
    const char *spells[2] = {first, second};
    char *paths[2] = {dpt_path_join(dir, first), dpt_path_join(dir, second)};
    struct stat st[2];
    int found[2] = {0, 0}, rc = paths[0] && paths[1] ? 0 : dpt_png_folder_oom(err);
    for (int i = 0; i < 2 && rc == 0; i++) {
        found[i] = stat(paths[i], &st[i]) == 0;
        if (!found[i] && errno != ENOENT) rc = dpt_fail(err, "%s: %s", paths[i], strerror(errno));
    }
    const int i = found[0] ? 0 : 1;
    if (rc == 0) {
        /* (on a case-insensitive file system both names find the same folder) */
        if (found[0] && found[1] && (st[0].st_dev != st[1].st_dev || st[0].st_ino != st[1].st_ino))
            rc = dpt_fail(err, "%s: holds both %s/ and %s/; keep one", dir, first, second);
        else if (!found[i])
            rc = dpt_fail(err, "%s: no %s/ folder (%s)", dir, first, layout);
        else if (!S_ISDIR(st[i].st_mode))
            rc = dpt_fail(err, "%s: not a folder", paths[i]);
    }
    if (rc == 0) {
        *spelled = spells[i];
        *path = paths[i];
        paths[i] = NULL;
    }
    free(paths[0]);
    free(paths[1]);
    return rc;
}

static int same_size(const dpt_png_info *a, const dpt_png_info *b) {
    return a->channels == b->channels && a->height == b->height && a->width == b->width;
}

int dpt_png_read_sized(const char *path, int mask, const dpt_png_info *want, uint8_t *slot,
                       dpt_png_info *got, dpt_err *err) {
    int (*read)(const char *, dpt_png_info *, uint8_t *, size_t, dpt_err *) =
        mask ? dpt_png_read_mask : dpt_png_read;
    const size_t bytes = (size_t)want->channels * want->height * want->width;
    const int rc = read(path, got, slot, bytes, err);
    /* A larger image fails for want of room: its header tells the real cause. */
    if (rc != 0 && read(path, got, NULL, 0, NULL) != 0) return -1;
    return same_size(got, want) ? rc : 1;
}

static const char *kind_of(uint32_t channels) {
    return channels == 1 ? "gray" : "RGB";
}

int dpt_png_read_like(const char *path, const char *first, const dpt_png_info *want, uint8_t *slot,
                      dpt_err *err) {
    dpt_png_info got;
    const int rc = dpt_png_read_sized(path, 0, want, slot, &got, err);
    if (rc <= 0) return rc;
    return dpt_fail(err,
                    "%s: %ux%ux%u (%s), but %s is %ux%ux%u (%s); all images of a dataset must "
                    "have one size and channel count",
                    path, got.channels, got.height, got.width, kind_of(got.channels), first,
                    want->channels, want->height, want->width, kind_of(want->channels));
}

int dpt_run_jobs(size_t total, int threads, int (*job)(void *ctx, size_t i, dpt_err *err),
                 void *ctx, dpt_err *err) {
    size_t bad = total; /* the first failed job so far */
    dpt_err bad_err = {{0}};
#pragma omp parallel for schedule(dynamic, 64) num_threads(threads > 0 ? threads : 1)
    for (size_t i = 0; i < total; i++) {
        size_t known;
#pragma omp atomic read
        known = bad;
        if (i > known) continue; /* a failure comes first anyway */
        dpt_err e;
        if (job(ctx, i, &e) == 0) continue;
#pragma omp critical(dpt_png_first_failure)
        if (i < bad) {
            bad_err = e;
#pragma omp atomic write
            bad = i;
        }
    }
    return bad < total ? dpt_fail(err, "%s", bad_err.msg) : 0;
}
