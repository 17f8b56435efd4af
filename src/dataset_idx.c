/* MNIST-format datasets: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
   and t10k-labels-idx1-ubyte in one folder, each raw or gzip-compressed (.gz). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dptrain/dataset.h"
#include "dptrain/idx.h"

/* "dir/name" if it exists, else "dir/name.gz" if that exists, else an error naming both. */
static int find_file(const char *dir, const char *name, char *path, size_t len, dpt_err *err) {
    snprintf(path, len, "%s/%s", dir, name);
    if (access(path, F_OK) == 0) return 0;
    snprintf(path, len, "%s/%s.gz", dir, name);
    if (access(path, F_OK) == 0) return 0;
    return dpt_fail(err,
                    "%s/%s: no such file (nor %s.gz); --data takes a folder of the four MNIST "
                    "IDX files, a folder with Train/ and Test/ PNG class folders, one with "
                    "train/images/, train/masks/, test/images/ and test/masks/, or an HDF5 file "
                    "(scripts/setup.sh fetches MNIST)",
                    dir, name, name);
}

static int read_split(const char *dir, const char *prefix, dpt_images *out, dpt_err *err) {
    char ipath[4096], lpath[4096], name[64];
    snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix);
    if (find_file(dir, name, ipath, sizeof ipath, err)) return -1;
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
    if (find_file(dir, name, lpath, sizeof lpath, err)) return -1;
    dpt_idx images, labels;
    if (dpt_idx_read(ipath, 3, &images, err)) return -1;
    if (dpt_idx_read(lpath, 1, &labels, err)) {
        dpt_idx_free(&images);
        return -1;
    }
    int rc = 0;
    const uint32_t n = images.dims[0];
    int32_t *wide = NULL;
    if (labels.dims[0] != n)
        rc =
            dpt_fail(err, "%s: %u labels for the %u images of %s", lpath, labels.dims[0], n, ipath);
    else if (!(wide = malloc(sizeof *wide * n)))
        rc = dpt_fail(err, "%s: out of memory", lpath);
    if (rc) {
        dpt_idx_free(&images);
        dpt_idx_free(&labels);
        return rc;
    }
    for (uint32_t i = 0; i < n; i++) wide[i] = labels.data[i];
    dpt_idx_free(&labels);
    *out = (dpt_images){.pixels = images.data,
                        .labels = wide,
                        .count = n,
                        .channels = 1,
                        .height = images.dims[1],
                        .width = images.dims[2]};
    return 0;
}

static int largest_label(const dpt_images *images) {
    int most = -1;
    for (uint32_t i = 0; i < images->count; i++)
        if (images->labels[i] > most) most = images->labels[i];
    return most;
}

int dpt_dataset_read_idx(const char *dir, dpt_dataset *ds, dpt_err *err) {
    if (read_split(dir, "train", &ds->train, err) || read_split(dir, "t10k", &ds->test, err))
        return -1;
    const int a = largest_label(&ds->train), b = largest_label(&ds->test);
    ds->classes = 1 + (a > b ? a : b);
    return 0;
}
