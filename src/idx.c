#define _POSIX_C_SOURCE 200809L
#include "dptrain/idx.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_TYPE_UBYTE 0x08
/* The largest expansion ratio deflate can reach; a gzip file claiming more is lying. */
#define DEFLATE_MAX_RATIO 1032

/* Reads up to n bytes; returns the count read, or -1 with err filled on a zlib error. */
static long long read_fully(gzFile f, const char *path, uint8_t *buf, size_t n, dpt_err *err) {
    size_t got = 0;
    while (got < n) {
        size_t chunk = n - got > (1u << 30) ? (1u << 30) : n - got;
        int r = gzread(f, buf + got, (unsigned)chunk);
        if (r < 0) {
            int code;
            const char *msg = gzerror(f, &code);
            return dpt_fail(err, "%s: corrupt gzip data (%s)", path, msg);
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    return (long long)got;
}

static uint32_t big_endian32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int read_header(gzFile f, const char *path, int ndims, dpt_idx *out, dpt_err *err) {
    uint8_t magic[4];
    long long got = read_fully(f, path, magic, 4, err);
    if (got < 0) return -1;
    if (got < 4)
        return dpt_fail(err, "%s: file too short for an IDX header (%lld bytes)", path, got);
    if (magic[0] != 0 || magic[1] != 0)
        return dpt_fail(err, "%s: not an IDX file (magic bytes %02x %02x, expected 00 00)", path,
                        magic[0], magic[1]);
    if (magic[2] != IDX_TYPE_UBYTE)
        return dpt_fail(err, "%s: IDX data type 0x%02x, expected 0x08 (unsigned byte)", path,
                        magic[2]);
    if (magic[3] != ndims)
        return dpt_fail(err, "%s: IDX file has %d dimensions, expected %d", path, magic[3], ndims);
    uint8_t dims[4 * DPT_IDX_MAX_DIMS];
    got = read_fully(f, path, dims, 4 * (size_t)ndims, err);
    if (got < 0) return -1;
    if (got < 4 * ndims) return dpt_fail(err, "%s: header cut short in its dimensions", path);
    out->ndims = ndims;
    out->item_size = 1;
    for (int i = 0; i < ndims; i++) {
        out->dims[i] = big_endian32(dims + 4 * i);
        if (out->dims[i] == 0) return dpt_fail(err, "%s: dimension %d is zero", path, i);
        if (i > 0) {
            if (out->dims[i] > 1u << 16)
                return dpt_fail(err, "%s: dimension %d is %u, larger than any image", path, i,
                                out->dims[i]);
            out->item_size *= out->dims[i];
        }
    }
    return 0;
}

int dpt_idx_read(const char *path, int ndims, dpt_idx *out, dpt_err *err) {
    memset(out, 0, sizeof *out);
    /* Non-blocking, so that a FIFO is refused instead of waiting for a writer. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return dpt_fail(err, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return dpt_fail(err, "%s: not a regular file", path);
    }
    gzFile f = gzdopen(fd, "rb");
    if (!f) {
        close(fd);
        return dpt_fail(err, "%s: cannot open: %s", path, strerror(errno ? errno : ENOMEM));
    }
    int rc = read_header(f, path, ndims, out, err);
    if (rc == 0) {
        uint64_t want = (uint64_t)out->dims[0] * out->item_size;
        uint64_t header = 4 + 4 * (uint64_t)ndims;
        uint64_t most =
            gzdirect(f) ? (uint64_t)st.st_size - header : (uint64_t)st.st_size * DEFLATE_MAX_RATIO;
        if (want > most) {
            rc = dpt_fail(err,
                          "%s: truncated: header promises %u items (%llu bytes), the file can "
                          "hold at most %llu",
                          path, out->dims[0], (unsigned long long)want, (unsigned long long)most);
        } else if (!(out->data = malloc(want ? want : 1))) {
            rc = dpt_fail(err, "%s: out of memory for %llu bytes", path, (unsigned long long)want);
        } else {
            long long got = read_fully(f, path, out->data, want, err);
            uint8_t extra;
            if (got < 0) {
                rc = -1;
            } else if ((uint64_t)got < want) {
                rc = dpt_fail(err,
                              "%s: truncated: header promises %u items (%llu bytes), found %lld "
                              "bytes",
                              path, out->dims[0], (unsigned long long)want, got);
            } else if ((got = read_fully(f, path, &extra, 1, err)) != 0) {
                rc = got < 0 ? -1
                             : dpt_fail(err, "%s: more data than the header's %u items", path,
                                        out->dims[0]);
            }
        }
    }
    gzclose(f);
    if (rc != 0) dpt_idx_free(out);
    return rc;
}

void dpt_idx_free(dpt_idx *idx) {
    free(idx->data);
    idx->data = NULL;
}
