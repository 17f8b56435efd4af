/* Fuzzes the HDF5 dataset reader (dpt_dataset_read on a regular file: src/dataset_h5.c) past
   HDF5's parser: each input is a list of edits to a valid dataset file, which the harness
   writes through the HDF5 API (always well-formed HDF5) and then reads. The empty input is a
   labelled dataset of 6 + 2 gray 4x4 images in 3 named classes; each edit then changes one
   thing: a split's image rank, sizes or element type, its labels or masks (kind, type, count,
   values), an object's storage (contiguous, chunked, deflated, compact, or never written: only
   HDF5's fill value), the class names (count, fixed or variable length, contents), drops an
   object or replaces it with a soft link. A dataset that loads is digested whole (ASan checks
   every buffer's size); no HDF5 id may stay open. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dptrain/dataset.h"
#include "fuzz.h"
#include "fuzz_bytes.h"
#include "fuzz_h5.h"

enum { MAX_POKES = 8, MAX_NAMES = 8, MAX_WRITTEN = 1 << 16 };
enum { IMAGES, TARGETS, NOBJECTS };
enum { T_U8 = 0, T_I64 = 6 };

typedef struct object {
    int present, link, type, layout, unwritten, rank;
    hsize_t dims[4];
    int npokes;
    size_t poke_at[MAX_POKES];
    int64_t poke_value[MAX_POKES];
} object;

typedef struct dataset {
    object split[2][NOBJECTS]; /* train, test */
    int masks;                 /* targets are /<split>/masks, else labels */
    int nnames, variable_names, names_layout, names_present;
    char names[MAX_NAMES][40];
} dataset;

static void defaults(dataset *d) {
    memset(d, 0, sizeof *d);
    for (int s = 0; s < 2; s++) {
        const hsize_t count = s ? 2 : 6;
        d->split[s][IMAGES] =
            (object){.present = 1, .type = T_U8, .rank = 3, .dims = {count, 4, 4}};
        d->split[s][TARGETS] = (object){.present = 1, .type = T_I64, .rank = 1, .dims = {count}};
    }
    d->names_present = 1;
    d->nnames = 3;
    d->variable_names = 1;
    for (int k = 0; k < MAX_NAMES; k++) snprintf(d->names[k], sizeof d->names[k], "c%d", k);
}

/* The targets of split s sized for its images: a label per image, or a mask of each's size. */
static void match_targets(dataset *d, int s) {
    const object *im = &d->split[s][IMAGES];
    object *t = &d->split[s][TARGETS];
    const int four = im->rank == 4;
    t->dims[0] = im->dims[0];
    if (d->masks) {
        t->dims[1] = im->dims[four ? 2 : 1];
        t->dims[2] = im->dims[four ? 3 : 2];
    }
}

static void edit(dataset *d, fuzz_bytes *in) {
    const uint8_t op = fuzz_u8(in) % 9, at = fuzz_u8(in);
    object *o = &d->split[at & 1][at >> 1 & 1];
    switch (op) {
    case 0: /* an object's shape; the images' also resizes their targets to match */
        o->rank = fuzz_u8(in) % 5;
        for (int i = 0; i < 4; i++) { /* a byte below 128, or 128 and up then 4 bytes */
            const uint8_t small = fuzz_u8(in);
            o->dims[i] = small & 0x80 ? fuzz_u32(in) : small;
        }
        if (o == &d->split[at & 1][IMAGES]) match_targets(d, at & 1);
        break;
    case 1:
        o->type = fuzz_u8(in) % FUZZ_H5_TYPES;
        break;
    case 2:
        o->layout = fuzz_u8(in) % 4;
        break;
    case 3:
        o->unwritten = 1;
        break;
    case 4:
        if (o->npokes < MAX_POKES) {
            o->poke_at[o->npokes] = fuzz_u32(in);
            o->poke_value[o->npokes++] = (int64_t)fuzz_u64(in);
        }
        break;
    case 5: /* segmentation: masks of each image's size */
        d->masks = 1;
        for (int s = 0; s < 2; s++) {
            d->split[s][TARGETS] = (object){.present = 1, .type = T_U8, .rank = 3};
            match_targets(d, s);
        }
        break;
    case 6:
        d->names_present = at & 1;
        d->variable_names = at >> 1 & 1;
        d->names_layout = at >> 2 & 3;
        d->nnames = fuzz_u8(in) % (MAX_NAMES + 1);
        fuzz_text(in, d->names[fuzz_u8(in) % MAX_NAMES], sizeof d->names[0]);
        break;
    case 7:
        o->present = 0;
        break;
    default:
        o->link = 1;
        break;
    }
}

/* targets: labels or masks, 0 to 2; else pixels. */
static void write_object(hid_t f, const char *path, const object *o, int targets) {
    if (!o->present) return;
    if (o->link) {
        H5Lcreate_soft("/elsewhere", f, path, H5P_DEFAULT, H5P_DEFAULT);
        return;
    }
    double count = 1;
    for (int i = 0; i < o->rank; i++) count *= (double)o->dims[i];
    const hid_t type = fuzz_h5_type(o->type);
    int64_t *values = NULL;
    if (!o->unwritten && count <= MAX_WRITTEN && H5Tget_class(type) != H5T_STRING &&
        (values = malloc((size_t)count * sizeof *values + 1))) {
        for (size_t i = 0; i < (size_t)count; i++)
            values[i] = targets ? (int64_t)(i % 3) : (int64_t)(i * 37 % 256);
        for (int p = 0; p < o->npokes && count >= 1; p++)
            values[o->poke_at[p] % (size_t)count] = o->poke_value[p];
    }
    fuzz_h5_dataset(f, path, type, o->rank, o->dims, H5T_NATIVE_INT64, values, o->layout);
    free(values);
}

static const char *write_dataset(const dataset *d) {
    static const char *const paths[2][3] = {{"/train/images", "/train/labels", "/train/masks"},
                                            {"/test/images", "/test/labels", "/test/masks"}};
    const hid_t f = fuzz_h5_create();
    for (int s = 0; s < 2; s++) {
        write_object(f, paths[s][0], &d->split[s][IMAGES], 0);
        write_object(f, paths[s][d->masks ? 2 : 1], &d->split[s][TARGETS], 1);
    }
    if (d->names_present && d->nnames) {
        const hid_t type = H5Tcopy(H5T_C_S1);
        size_t width = 1;
        for (int k = 0; k < d->nnames; k++)
            if (strlen(d->names[k]) + 1 > width) width = strlen(d->names[k]) + 1;
        H5Tset_size(type, d->variable_names ? H5T_VARIABLE : width);
        char fixed[MAX_NAMES][40] = {{0}};
        const char *variable[MAX_NAMES];
        for (int k = 0; k < d->nnames; k++) {
            variable[k] = d->names[k];
            memcpy(fixed[k], d->names[k], strlen(d->names[k]));
        }
        char packed[MAX_NAMES * 40];
        for (int k = 0; k < d->nnames; k++) memcpy(packed + (size_t)k * width, fixed[k], width);
        const hsize_t n = (hsize_t)d->nnames;
        fuzz_h5_dataset(f, "/classes", type, 1, &n, type,
                        d->variable_names ? (const void *)variable : (const void *)packed,
                        d->names_layout);
        H5Tclose(type);
    }
    return fuzz_h5_write(f, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_bytes in = {data, size, 0};
    static dataset d;
    defaults(&d);
    while (fuzz_left(&in)) edit(&d, &in);
    const char *path = write_dataset(&d);

    dpt_dataset ds;
    dpt_err err = {{0}};
    if (dpt_dataset_read(path, 1, &ds, &err) == 0) {
        char hex[65];
        dpt_dataset_digest(&ds, hex);
        fuzz_say("dataset_h5_fields", "loaded");
        dpt_dataset_free(&ds);
    } else {
        fuzz_refused("dataset_h5_fields", &err);
    }
    fuzz_h5_all_closed("dataset_h5_fields");
    return 0;
}
