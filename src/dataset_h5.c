/* The HDF5 dataset format (dataset.h). Reading checks every object's kind, type and shape before
   allocating anything, then reads each dataset with one H5Dread straight into its buffer;
   writing goes through a temporary file (fsutil.h), written by a child process. Every HDF5 id
   is closed on every path. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dptrain/dataset.h"
#include "dptrain/fsutil.h"

enum {
    FIXED_NAME_MAX_BYTES = 1024, /* the widest fixed-length strings /classes may hold */
    CHUNK_BYTES = 1 << 20,       /* a chunk holds about this many bytes of whole rows */
    MAX_ROW_BYTES = 1 << 30,     /* rows wider than this are stored unchunked, uncompressed */
    /* Measured on MNIST (55 MB of pixels): level 1 makes 12.9 MB in 1.2 s, level 6 11.5 MB in
       2.5 s, level 9 11.3 MB in 34 s; each reads in ~0.4 s (inflating), while uncompressed
       56 MB read in 0.1 s. */
    DEFLATE_LEVEL = 1
};

enum { IMAGES, LABELS, MASKS };
static const char *const objects[2][3] = {{"/train/images", "/train/labels", "/train/masks"},
                                          {"/test/images", "/test/labels", "/test/masks"}};
/* What a file of each task holds (dpt_task order). */
static const char *const expected[2] = {
    "(expected /train/images, /train/labels, /test/images, /test/labels; or /train/masks and "
    "/test/masks for segmentation)",
    "(expected /train/images, /train/masks, /test/images, /test/masks)"};

/* ---- reading ---- */

static hid_t open_file(const char *path, dpt_err *err) {
    if (dpt_check_regular_file(path, err)) return -1;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (H5Fis_hdf5(path) <= 0) return dpt_fail(err, "%s: not an HDF5 file", path);
    const hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return dpt_fail(err, "%s: cannot open (HDF5 file truncated or corrupted)", path);
    return f;
}

enum { ABSENT, LINKED, STORED };

/* Whether every component of name ("/train/images") is a hard link: soft and external links
   could lead to other files (a FIFO, a device). */
static int where_is(hid_t f, const char *name) {
    char part[32];
    for (size_t end = 1;; end++) {
        if (name[end] && name[end] != '/') continue;
        snprintf(part, sizeof part, "%.*s", (int)end, name);
        H5L_info_t info;
        if (H5Lexists(f, part, H5P_DEFAULT) <= 0) return ABSENT;
        if (H5Lget_info(f, part, &info, H5P_DEFAULT) < 0 || info.type != H5L_TYPE_HARD)
            return LINKED;
        if (!name[end]) return STORED;
    }
}

/* Opens dataset `name`, refusing data kept outside the file (external or virtual storage). When
   it is absent, the message ends with `hint`. */
static hid_t open_dataset(hid_t f, const char *path, const char *name, const char *hint,
                          dpt_err *err) {
    const int where = where_is(f, name);
    if (where == ABSENT) return dpt_fail(err, "%s: no %s %s", path, name, hint);
    if (where == LINKED)
        return dpt_fail(err, "%s: %s is a link; expected a dataset stored in the file", path, name);
    const hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return dpt_fail(err, "%s: %s is not a dataset", path, name);
    const hid_t dcpl = H5Dget_create_plist(d);
    const H5D_layout_t layout = dcpl < 0 ? H5D_LAYOUT_ERROR : H5Pget_layout(dcpl);
    const int external = dcpl < 0 || H5Pget_external_count(dcpl) != 0;
    if (dcpl >= 0) H5Pclose(dcpl);
    if (layout == H5D_LAYOUT_ERROR || layout == H5D_VIRTUAL || external) {
        H5Dclose(d);
        return dpt_fail(err, "%s: %s keeps its data outside the file (external or virtual)", path,
                        name);
    }
    return d;
}

/* A dataset's element type in words: "uint8", "int64", "float32", "string", ... */
static void type_name(hid_t type, char *out, size_t size) {
    static const char *const others[] = {
        [H5T_TIME] = "time",     [H5T_STRING] = "string",        [H5T_BITFIELD] = "bitfield",
        [H5T_OPAQUE] = "opaque", [H5T_COMPOUND] = "compound",    [H5T_REFERENCE] = "reference",
        [H5T_ENUM] = "enum",     [H5T_VLEN] = "variable-length", [H5T_ARRAY] = "array"};
    const H5T_class_t cls = H5Tget_class(type);
    const size_t bits = 8 * H5Tget_size(type);
    if (cls == H5T_INTEGER)
        snprintf(out, size, "%s%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int", bits);
    else if (cls == H5T_FLOAT)
        snprintf(out, size, "float%zu", bits);
    else
        snprintf(out, size, "%s",
                 cls > H5T_FLOAT && cls <= H5T_ARRAY && others[cls] ? others[cls] : "unknown");
}

/* The rank and dimensions (up to 4) of dataset d, and whether its elements are integers of
   `bytes` bytes (any size when 0) and unsigned when `bytes` is given; *type_words names the
   type otherwise. */
static int shape_of(hid_t d, int *rank, hsize_t dims[4], size_t bytes, char *type_words,
                    size_t words) {
    const hid_t space = H5Dget_space(d), type = H5Dget_type(d);
    *rank = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
    if (*rank >= 1 && *rank <= 4) H5Sget_simple_extent_dims(space, dims, NULL);
    const int fits =
        type >= 0 && H5Tget_class(type) == H5T_INTEGER &&
        (bytes == 0 || (H5Tget_size(type) == bytes && H5Tget_sign(type) == H5T_SGN_NONE));
    if (!fits && type >= 0) type_name(type, type_words, words);
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    return fits;
}

/* One split's datasets, opened and checked, before anything is read. */
typedef struct {
    hid_t images, targets; /* targets: the labels or the masks */
    hsize_t shape[4];      /* count, channels, height, width */
} h5_split;

static int check_images(const char *path, const char *name, hid_t d, hsize_t shape[4],
                        dpt_err *err) {
    int rank;
    hsize_t dims[4];
    char type[32];
    if (!shape_of(d, &rank, dims, 1, type, sizeof type))
        return dpt_fail(err, "%s: %s is %s; expected uint8", path, name, type);
    if (rank != 3 && rank != 4)
        return dpt_fail(err, "%s: %s has rank %d; expected N x H x W or N x C x H x W", path, name,
                        rank);
    shape[0] = dims[0];
    shape[1] = rank == 4 ? dims[1] : 1;
    shape[2] = dims[rank - 2];
    shape[3] = dims[rank - 1];
    if (shape[1] == 0 || shape[2] == 0 || shape[3] == 0)
        return dpt_fail(err, "%s: %s holds empty images", path, name);
    for (int i = 0; i < 4; i++)
        if (shape[i] > UINT32_MAX)
            return dpt_fail(err, "%s: %s is %llux%llux%llux%llu, more than dptrain holds", path,
                            name, (unsigned long long)shape[0], (unsigned long long)shape[1],
                            (unsigned long long)shape[2], (unsigned long long)shape[3]);
    return 0;
}

static int check_labels_shape(const char *path, const char *name, hid_t d, const char *images,
                              hsize_t count, dpt_err *err) {
    int rank;
    hsize_t dims[4];
    char type[32];
    if (!shape_of(d, &rank, dims, 0, type, sizeof type))
        return dpt_fail(err, "%s: %s is %s; expected integers", path, name, type);
    if (rank != 1)
        return dpt_fail(err, "%s: %s has rank %d; expected one label per image", path, name, rank);
    if (dims[0] != count)
        return dpt_fail(err, "%s: %s has %llu labels for the %llu images of %s", path, name,
                        (unsigned long long)dims[0], (unsigned long long)count, images);
    return 0;
}

static int check_masks_shape(const char *path, const char *name, hid_t d, const char *images,
                             const hsize_t shape[4], dpt_err *err) {
    int rank;
    hsize_t dims[4];
    char type[32];
    if (!shape_of(d, &rank, dims, 1, type, sizeof type))
        return dpt_fail(err, "%s: %s is %s; expected uint8 class indices", path, name, type);
    if (rank != 3)
        return dpt_fail(err, "%s: %s has rank %d; expected N x H x W, a class index per pixel",
                        path, name, rank);
    if (dims[0] != shape[0] || dims[1] != shape[2] || dims[2] != shape[3])
        return dpt_fail(err, "%s: %s is %llux%llux%llu but %s are %llu images of %llux%llu", path,
                        name, (unsigned long long)dims[0], (unsigned long long)dims[1],
                        (unsigned long long)dims[2], images, (unsigned long long)shape[0],
                        (unsigned long long)shape[2], (unsigned long long)shape[3]);
    return 0;
}

/* Labels (classification) or masks (segmentation): one kind, the same in both splits. */
static int task_of(hid_t f, const char *path, dpt_task *task, dpt_err *err) {
    int labels[2], masks[2];
    for (int s = 0; s < 2; s++) {
        labels[s] = where_is(f, objects[s][LABELS]) != ABSENT;
        masks[s] = where_is(f, objects[s][MASKS]) != ABSENT;
        if (labels[s] && masks[s])
            return dpt_fail(err,
                            "%s: holds both %s and %s; a dataset has labels (classification) or "
                            "masks (segmentation)",
                            path, objects[s][LABELS], objects[s][MASKS]);
    }
    if ((labels[0] && masks[1]) || (masks[0] && labels[1]))
        return dpt_fail(err,
                        "%s: %s but %s; both splits hold labels (classification) or both masks "
                        "(segmentation)",
                        path, objects[0][labels[0] ? LABELS : MASKS],
                        objects[1][labels[1] ? LABELS : MASKS]);
    *task = masks[0] || masks[1] ? DPT_TASK_SEGMENT : DPT_TASK_CLASSIFY;
    return 0;
}

static int open_split(hid_t f, const char *path, dpt_task task, int split, h5_split *s,
                      dpt_err *err) {
    const char *images = objects[split][IMAGES],
               *targets = objects[split][task == DPT_TASK_SEGMENT ? MASKS : LABELS];
    if ((s->images = open_dataset(f, path, images, expected[task], err)) < 0 ||
        (s->targets = open_dataset(f, path, targets, expected[task], err)) < 0 ||
        check_images(path, images, s->images, s->shape, err))
        return -1;
    return task == DPT_TASK_SEGMENT
               ? check_masks_shape(path, targets, s->targets, images, s->shape, err)
               : check_labels_shape(path, targets, s->targets, images, s->shape[0], err);
}

static void close_split(h5_split *s) {
    if (s->images >= 0) H5Dclose(s->images);
    if (s->targets >= 0) H5Dclose(s->targets);
}

static int same_shapes(const char *path, const h5_split s[2], dpt_err *err) {
    const hsize_t *a = s[0].shape, *b = s[1].shape;
    if (a[1] == b[1] && a[2] == b[2] && a[3] == b[3]) return 0;
    return dpt_fail(err, "%s: %s are %llux%llux%llu but %s are %llux%llux%llu", path,
                    objects[1][IMAGES], (unsigned long long)b[1], (unsigned long long)b[2],
                    (unsigned long long)b[3], objects[0][IMAGES], (unsigned long long)a[1],
                    (unsigned long long)a[2], (unsigned long long)a[3]);
}

/* Variable-length names, copied out of HDF5's buffers into names[0..n). */
static int read_variable_names(hid_t d, hid_t mem, hid_t space, hsize_t n, char **names) {
    hsize_t bytes = 0;
    if (H5Tset_size(mem, H5T_VARIABLE) < 0 || H5Dvlen_get_buf_size(d, mem, space, &bytes) < 0 ||
        bytes > n * (DPT_CLASS_NAME_MAX + 1))
        return -1;
    char **raw = calloc(n, sizeof *raw);
    if (!raw || H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0) {
        free(raw);
        return -1;
    }
    int rc = 0;
    for (hsize_t i = 0; i < n; i++)
        if (!(names[i] = strdup(raw[i] ? raw[i] : ""))) rc = -1;
    H5Dvlen_reclaim(mem, space, H5P_DEFAULT, raw);
    free(raw);
    return rc;
}

/* Fixed-length names (null- or space-padded), copied into names[0..n). */
static int read_fixed_names(hid_t d, hid_t type, hid_t mem, hsize_t n, char **names) {
    const size_t width = H5Tget_size(type) + 1;
    if (width > FIXED_NAME_MAX_BYTES + 1 || H5Tset_size(mem, width) < 0 ||
        H5Tset_strpad(mem, H5T_STR_NULLTERM) < 0)
        return -1;
    char *buf = malloc(n * width);
    if (!buf || H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        return -1;
    }
    int rc = 0;
    for (hsize_t i = 0; i < n; i++)
        if (!(names[i] = strdup(buf + i * width))) rc = -1;
    free(buf);
    return rc;
}

/* /classes, when the file has it, into ds->class_names and ds->classes. */
static int read_classes(hid_t f, const char *path, dpt_dataset *ds, dpt_err *err) {
    if (where_is(f, "/classes") == ABSENT) return 0;
    const hid_t d = open_dataset(f, path, "/classes", "", err);
    if (d < 0) return -1;
    const hid_t space = H5Dget_space(d), type = H5Dget_type(d), mem = H5Tcopy(H5T_C_S1);
    const int rank = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
    hsize_t n = 0;
    if (rank == 1) H5Sget_simple_extent_dims(space, &n, NULL);
    char words[32] = "unreadable", what[4200];
    if (type >= 0) type_name(type, words, sizeof words);
    int rc = 0;
    if (type < 0 || mem < 0 || H5Tget_class(type) != H5T_STRING)
        rc = dpt_fail(err, "%s: /classes is %s; expected strings", path, words);
    else if (rank != 1)
        rc = dpt_fail(err, "%s: /classes has rank %d; expected a list of names", path, rank);
    else if (n == 0 || n > DPT_DATASET_MAX_CLASSES)
        rc = dpt_fail(err, "%s: /classes holds %llu names; dptrain takes 1 to %d", path,
                      (unsigned long long)n, DPT_DATASET_MAX_CLASSES);
    else if (!(ds->class_names = calloc(n, sizeof *ds->class_names)))
        rc = dpt_fail(err, "%s: out of memory for %llu class names", path, (unsigned long long)n);
    if (rc == 0) {
        ds->classes = (int)n;
        H5Tset_cset(mem, H5Tget_cset(type)); /* HDF5 will not convert ASCII to UTF-8 */
        if (H5Tis_variable_str(type) > 0 ? read_variable_names(d, mem, space, n, ds->class_names)
                                         : read_fixed_names(d, type, mem, n, ds->class_names))
            rc = dpt_fail(err,
                          "%s: cannot read /classes (names over %d bytes, out of memory or "
                          "corrupted)",
                          path, DPT_CLASS_NAME_MAX);
    }
    if (rc == 0) {
        snprintf(what, sizeof what, "%s: /classes", path);
        rc = dpt_class_names_check(ds->class_names, ds->classes, what, err);
    }
    if (mem >= 0) H5Tclose(mem);
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    H5Dclose(d);
    return rc;
}

/* Makes a label conversion that would clip (int64 or uint32 labels beyond int32) fail. */
static H5T_conv_ret_t refuse_clipping(H5T_conv_except_t kind, hid_t src, hid_t dst, void *from,
                                      void *to, void *clipped) {
    if (kind != H5T_CONV_EXCEPT_RANGE_HI && kind != H5T_CONV_EXCEPT_RANGE_LOW)
        return H5T_CONV_UNHANDLED;
    *(int *)clipped = 1;
    return H5T_CONV_ABORT;
}

static int unreadable(const char *path, const char *name, dpt_err *err) {
    return dpt_fail(err,
                    "%s: cannot read %s (corrupted, or compressed with a filter this HDF5 "
                    "library lacks)",
                    path, name);
}

/* A dataset created but never (or not wholly) written reads as fill values, so a 4 KB file
   could ask for gigabytes of zeros. Whether d stores enough bytes for its shape: deflate packs at
   most about 1032:1, so anything beyond 2048:1 (and 1 MiB) was not written. */
static int stored_enough(hid_t d) {
    const hid_t space = H5Dget_space(d), type = H5Dget_type(d);
    const hssize_t elements = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    const size_t size = type >= 0 ? H5Tget_size(type) : 0;
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    const double logical = (double)elements * (double)size;
    return elements >= 0 && size > 0 &&
           (logical <= 1048576 || logical <= 2048.0 * (double)H5Dget_storage_size(d));
}

static int read_split(const char *path, dpt_task task, int split, const h5_split *s,
                      dpt_images *out, dpt_err *err) {
    const char *images = objects[split][IMAGES], *labels = objects[split][LABELS],
               *masks = objects[split][MASKS];
    char what[4200];
    snprintf(what, sizeof what, "%s: %s", path, images);
    const double promised = (double)s->shape[0] * (double)s->shape[1] * (double)s->shape[2] *
                            (double)s->shape[3]; /* beyond the limit, the next call says so */
    if (promised <= (double)DPT_DATASET_MAX_BYTES &&
        (!stored_enough(s->images) || !stored_enough(s->targets)))
        return dpt_fail(err,
                        "%s: %s or its %s hold far less stored data than their shapes promise "
                        "(never or not wholly written)",
                        path, images, task == DPT_TASK_SEGMENT ? "masks" : "labels");
    if (dpt_images_alloc(out, task, (uint32_t)s->shape[0], (uint32_t)s->shape[1],
                         (uint32_t)s->shape[2], (uint32_t)s->shape[3], what, err))
        return -1;
    if (out->count == 0) return 0;
    if (H5Dread(s->images, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->pixels) < 0)
        return unreadable(path, images, err);
    if (task == DPT_TASK_SEGMENT)
        return H5Dread(s->targets, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->masks) < 0
                   ? unreadable(path, masks, err)
                   : 0;
    int clipped = 0;
    const hid_t xfer = H5Pcreate(H5P_DATASET_XFER);
    const int ok = xfer >= 0 && H5Pset_type_conv_cb(xfer, refuse_clipping, &clipped) >= 0 &&
                   H5Dread(s->targets, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, xfer, out->labels) >= 0;
    if (xfer >= 0) H5Pclose(xfer);
    if (clipped) return dpt_fail(err, "%s: %s holds a value outside int32", path, labels);
    return ok ? 0 : dpt_fail(err, "%s: cannot read %s (corrupted?)", path, labels);
}

/* Every label in [0, limit) (the names of /classes, when `named`); *largest gets the largest. */
static int check_labels(const char *path, int split, const dpt_images *im, int limit, int named,
                        int *largest, dpt_err *err) {
    for (uint32_t i = 0; i < im->count; i++) {
        const int32_t label = im->labels[i];
        if (label >= 0 && label < limit) {
            if (label > *largest) *largest = label;
            continue;
        }
        if (named)
            return dpt_fail(err, "%s: %s[%u] = %d, outside the %d classes of /classes", path,
                            objects[split][LABELS], i, label, limit);
        return dpt_fail(err, "%s: %s[%u] = %d, outside 0 to %d", path, objects[split][LABELS], i,
                        label, limit - 1);
    }
    return 0;
}

/* The classes of a labelled dataset: /classes, which every label must be in, or 0 to the
   largest label. */
static int settle_label_classes(const char *path, dpt_dataset *ds, dpt_err *err) {
    const int named = ds->class_names != NULL;
    const int limit = named ? ds->classes : DPT_DATASET_MAX_CLASSES;
    int largest = -1;
    if (check_labels(path, 0, &ds->train, limit, named, &largest, err) ||
        check_labels(path, 1, &ds->test, limit, named, &largest, err))
        return -1;
    if (!named) ds->classes = largest + 1;
    return 0;
}

/* The classes of a dataset with masks: /classes (at most DPT_SEGMENT_MAX_CLASSES), which every
   mask value must be in, or 0 to the largest mask value. */
static int settle_mask_classes(const char *path, dpt_dataset *ds, dpt_err *err) {
    if (!ds->class_names) {
        ds->classes = dpt_dataset_mask_classes(ds);
        return 0;
    }
    if (ds->classes > DPT_SEGMENT_MAX_CLASSES)
        return dpt_fail(err,
                        "%s: /classes holds %d names; masks hold 8-bit class indices, so at most "
                        "%d classes",
                        path, ds->classes, DPT_SEGMENT_MAX_CLASSES);
    const dpt_images *sets[2] = {&ds->train, &ds->test};
    for (int s = 0; s < 2; s++) {
        const dpt_images *im = sets[s];
        const size_t plane = (size_t)im->height * im->width, n = im->count * plane;
        const size_t k = dpt_masks_first_outside(im->masks, n, ds->classes);
        if (k < n)
            return dpt_fail(err,
                            "%s: %s[%zu] has value %d at row %zu, column %zu, outside the %d "
                            "classes of /classes",
                            path, objects[s][MASKS], k / plane, im->masks[k], k % plane / im->width,
                            k % im->width, ds->classes);
    }
    return 0;
}

int dpt_dataset_read_h5(const char *path, dpt_dataset *ds, dpt_err *err) {
    memset(ds, 0, sizeof *ds);
    const hid_t f = open_file(path, err);
    if (f < 0) return -1;
    h5_split s[2] = {{.images = -1, .targets = -1}, {.images = -1, .targets = -1}};
    dpt_task task = DPT_TASK_CLASSIFY;
    int rc = task_of(f, path, &task, err) || open_split(f, path, task, 0, &s[0], err) ||
                     open_split(f, path, task, 1, &s[1], err) || same_shapes(path, s, err) ||
                     read_classes(f, path, ds, err) ||
                     read_split(path, task, 0, &s[0], &ds->train, err) ||
                     read_split(path, task, 1, &s[1], &ds->test, err)
                 ? -1
                 : 0;
    close_split(&s[0]);
    close_split(&s[1]);
    H5Fclose(f);
    if (rc == 0)
        rc = task == DPT_TASK_SEGMENT ? settle_mask_classes(path, ds, err)
                                      : settle_label_classes(path, ds, err);
    if (rc) dpt_dataset_free(ds);
    return rc;
}

/* ---- writing ---- */

static int text_attr(hid_t f, const char *obj, const char *name, const char *value) {
    return H5LTset_attribute_string(f, obj, name, value) < 0 ? -1 : 0;
}

static int group(hid_t f, const char *path) {
    const hid_t g = H5Gcreate2(f, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) return -1;
    H5Gclose(g);
    return 0;
}

/* An array of `rank` dims, chunked along its first dimension (about CHUNK_BYTES a chunk) and
   deflated, with a "meaning" attribute. */
static int write_array(hid_t f, const char *name, hid_t file_type, hid_t mem_type, int rank,
                       const hsize_t *dims, const void *data, const char *meaning) {
    hsize_t row = H5Tget_size(file_type), chunk[4];
    for (int i = 1; i < rank; i++) row *= dims[i];
    chunk[0] = CHUNK_BYTES / row < 1 ? 1 : CHUNK_BYTES / row;
    if (chunk[0] > dims[0]) chunk[0] = dims[0];
    for (int i = 1; i < rank; i++) chunk[i] = dims[i];
    const hid_t space = H5Screate_simple(rank, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    int rc = space < 0 || dcpl < 0 ? -1 : 0;
    if (rc == 0 && dims[0] > 0 && row <= MAX_ROW_BYTES &&
        (H5Pset_chunk(dcpl, rank, chunk) < 0 || H5Pset_deflate(dcpl, DEFLATE_LEVEL) < 0))
        rc = -1;
    const hid_t d = rc ? -1 : H5Dcreate2(f, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d < 0 || (dims[0] > 0 && H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0))
        rc = -1;
    if (d >= 0) H5Dclose(d);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (space >= 0) H5Sclose(space);
    return rc || text_attr(f, name, "meaning", meaning) ? -1 : 0;
}

static int write_split(hid_t f, int split, const dpt_images *im) {
    static const char *const meanings[2][3] = {
        {"training images, one per row: N x H x W (one channel) or N x C x H x W, 8-bit pixels",
         "class of each training image, from 0 (an index into /classes when present)",
         "class of each pixel of each training image: N x H x W, from 0 (an index into /classes "
         "when present)"},
        {"test images, one per row: N x H x W (one channel) or N x C x H x W, 8-bit pixels",
         "class of each test image, from 0 (an index into /classes when present)",
         "class of each pixel of each test image: N x H x W, from 0 (an index into /classes when "
         "present)"}};
    const hsize_t count = im->count;
    const hsize_t dims[4] = {count, im->channels, im->height, im->width},
                  gray[3] = {count, im->height, im->width};
    const int color = im->channels != 1;
    if (group(f, split ? "/test" : "/train") ||
        write_array(f, objects[split][IMAGES], H5T_STD_U8LE, H5T_NATIVE_UINT8, color ? 4 : 3,
                    color ? dims : gray, im->pixels, meanings[split][IMAGES]))
        return -1;
    if (im->masks)
        return write_array(f, objects[split][MASKS], H5T_STD_U8LE, H5T_NATIVE_UINT8, 3, gray,
                           im->masks, meanings[split][MASKS]);
    return write_array(f, objects[split][LABELS], H5T_STD_I32LE, H5T_NATIVE_INT32, 1, &count,
                       im->labels, meanings[split][LABELS]);
}

static int write_classes(hid_t f, const dpt_dataset *ds) {
    const hsize_t n = (hsize_t)ds->classes;
    const hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate_simple(1, &n, NULL);
    int rc = type < 0 || space < 0 || H5Tset_size(type, H5T_VARIABLE) < 0 ||
                     H5Tset_cset(type, H5T_CSET_UTF8) < 0
                 ? -1
                 : 0;
    const hid_t d =
        rc ? -1 : H5Dcreate2(f, "/classes", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0 || H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ds->class_names) < 0) rc = -1;
    if (d >= 0) H5Dclose(d);
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    return rc || text_attr(f, "/classes", "meaning", "the name of each class, in label order") ? -1
                                                                                               : 0;
}

static int fill(hid_t f, const dpt_dataset *ds) {
    return text_attr(f, "/", "format", "dptrain dataset 1") || write_split(f, 0, &ds->train) ||
                   write_split(f, 1, &ds->test) || (ds->class_names && write_classes(f, ds))
               ? -1
               : 0;
}

/* Writes the file tmp in a child process, which exits with 0 or the errno of the failure (255
   when there is none). HDF5 1.10 cannot close a file whose last writes failed (a full disk):
   the file's id stays behind, freed, and the library crashes when it shuts down at exit. The
   child takes that with it. */
static int write_in_child(const char *tmp, const dpt_dataset *ds, int *write_errno) {
    const pid_t pid = fork();
    if (pid < 0) {
        *write_errno = errno;
        return 0;
    }
    if (pid == 0) {
        errno = 0;
        const hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        int ok = f >= 0 && fill(f, ds) == 0, saved = errno;
        if (f >= 0 && H5Fclose(f) < 0 && ok) ok = 0, saved = errno;
        _exit(ok ? 0 : saved > 0 && saved < 255 ? saved : 255);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            *write_errno = errno;
            return 0;
        }
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 255;
    *write_errno = code == 255 ? 0 : code;
    return code == 0;
}

int dpt_dataset_write_h5(const char *path, const dpt_dataset *ds, dpt_err *err) {
    if (dpt_dataset_check(ds, path, err)) return -1;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char tmp[4200];
    dpt_tmp_path(path, tmp, sizeof tmp);
    int write_errno = 0;
    const int written = write_in_child(tmp, ds, &write_errno);
    return dpt_replace_with(tmp, path, written, write_errno, err);
}
