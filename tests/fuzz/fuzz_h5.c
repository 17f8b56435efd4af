/* Open HDF5 ids after a reader returned (a leak LeakSanitizer cannot see: HDF5 keeps them
   reachable), and HDF5 files built in memory for the structure-aware harnesses. Failures to
   build a file are ignored: the reader then sees a file without that object. */
#include "fuzz_h5.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

void fuzz_h5_all_closed(const char *harness) {
    const ssize_t open = H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (open != 0) {
        char what[96];
        snprintf(what, sizeof what, "%zd HDF5 ids left open by the reader", open);
        fuzz_fail(harness, what);
    }
}

hid_t fuzz_h5_create(void) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_core(fapl, (size_t)1 << 16, 0);
    const hid_t f = H5Fcreate("dptrain-fuzz-in-memory.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (f < 0) fuzz_fail("h5", "cannot create an HDF5 file in memory");
    return f;
}

const char *fuzz_h5_write(hid_t f, int slot) {
    H5Fflush(f, H5F_SCOPE_GLOBAL);
    const ssize_t size = H5Fget_file_image(f, NULL, 0);
    uint8_t *image = size > 0 ? malloc((size_t)size) : NULL;
    if (!image || H5Fget_file_image(f, image, (size_t)size) != size)
        fuzz_fail("h5", "cannot get the file image");
    H5Fclose(f);
    const char *keep = getenv("FUZZ_SAVE_H5");
    FILE *copy = keep ? fopen(keep, "wb") : NULL;
    if (copy) {
        fwrite(image, 1, (size_t)size, copy);
        fclose(copy);
    }
    const char *path = fuzz_file(slot, image, (size_t)size);
    free(image);
    return path;
}

hid_t fuzz_h5_type(int index) {
    static const hid_t *const types[FUZZ_H5_TYPES] = {
        &H5T_STD_U8LE_g,   &H5T_STD_I8LE_g,   &H5T_STD_U16LE_g, &H5T_STD_I16BE_g,
        &H5T_STD_I32LE_g,  &H5T_STD_U32LE_g,  &H5T_STD_I64LE_g, &H5T_STD_U64BE_g,
        &H5T_IEEE_F32LE_g, &H5T_IEEE_F64BE_g, &H5T_C_S1_g};
    return *types[(unsigned)index % FUZZ_H5_TYPES];
}

/* The group obj, with its parents, open (or the root). */
static hid_t open_group(hid_t f, const char *obj) {
    if (strcmp(obj, "/") != 0 && H5Lexists(f, obj, H5P_DEFAULT) <= 0) {
        const hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
        H5Pset_create_intermediate_group(lcpl, 1);
        const hid_t g = H5Gcreate2(f, obj, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        H5Pclose(lcpl);
        return g;
    }
    return H5Oopen(f, obj, H5P_DEFAULT);
}

static void write_attr(hid_t f, const char *obj, const char *name, hid_t type, hid_t mem, int n,
                       const void *data) {
    const hid_t o = open_group(f, obj);
    if (o < 0) return;
    if (H5Aexists(o, name) > 0) H5Adelete(o, name);
    const hsize_t dims[1] = {(hsize_t)n};
    const hid_t space = n ? H5Screate_simple(1, dims, NULL) : H5Screate(H5S_SCALAR);
    const hid_t a = H5Acreate2(o, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        H5Awrite(a, mem, data);
        H5Aclose(a);
    }
    H5Sclose(space);
    H5Oclose(o);
}

void fuzz_h5_attr_numbers(hid_t f, const char *obj, const char *name, hid_t type,
                          const double *values, int n) {
    if (H5Tget_class(type) != H5T_STRING) {
        write_attr(f, obj, name, type, H5T_NATIVE_DOUBLE, n, values);
        return;
    }
    char text[40];
    snprintf(text, sizeof text, "%.17g", values[0]);
    const char *texts[] = {text};
    fuzz_h5_attr_texts(f, obj, name, 0, texts, 0);
}

void fuzz_h5_attr_texts(hid_t f, const char *obj, const char *name, int variable,
                        const char *const *texts, int n) {
    const hid_t type = H5Tcopy(H5T_C_S1);
    size_t longest = 1;
    for (int i = 0; i < (n ? n : 1); i++)
        if (strlen(texts[i]) + 1 > longest) longest = strlen(texts[i]) + 1;
    H5Tset_size(type, variable ? H5T_VARIABLE : longest);
    H5Tset_cset(type, H5T_CSET_UTF8);
    if (variable) {
        write_attr(f, obj, name, type, type, n, texts);
    } else {
        char *packed = calloc(n ? (size_t)n : 1, longest);
        for (int i = 0; packed && i < (n ? n : 1); i++)
            memcpy(packed + (size_t)i * longest, texts[i], strlen(texts[i]));
        if (packed) write_attr(f, obj, name, type, type, n, packed);
        free(packed);
    }
    H5Tclose(type);
}

void fuzz_h5_dataset(hid_t f, const char *path, hid_t type, int rank, const hsize_t *dims,
                     hid_t mem, const void *data, int layout) {
    const hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hsize_t chunk[8], count = 1;
    for (int d = 0; d < rank; d++) {
        chunk[d] = dims[d] ? (dims[d] + 1) / 2 : 1;
        count *= dims[d];
    }
    if ((layout == 1 || layout == 2) && rank > 0) {
        H5Pset_chunk(dcpl, rank, chunk);
        if (layout == 2) H5Pset_deflate(dcpl, 1);
    } else if (layout == 3 && count * H5Tget_size(type) < 32768) {
        H5Pset_layout(dcpl, H5D_COMPACT);
    }
    const hid_t space = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    const hid_t d = H5Dcreate2(f, path, type, space, lcpl, dcpl, H5P_DEFAULT);
    if (d >= 0) {
        if (data) H5Dwrite(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
        H5Dclose(d);
    }
    H5Sclose(space);
    H5Pclose(dcpl);
    H5Pclose(lcpl);
}

void fuzz_read_trained(const char *harness, const dpt_trained *t) {
    const dpt_model *m = &t->model;
    fuzz_read_all(t->params, m->nparams * sizeof *t->params);
    fuzz_read_all(t->state, m->nstate * sizeof *t->state);
    fuzz_read_all(t->mean, (size_t)m->input.c * sizeof *t->mean);
    fuzz_read_all(t->std, (size_t)m->input.c * sizeof *t->std);
    for (int k = 0; k < m->classes; k++) {
        if (!t->class_names[k]) fuzz_fail(harness, "a NULL class name");
        fuzz_read_all(t->class_names[k], strlen(t->class_names[k]) + 1);
    }
    if (t->data_path) fuzz_read_all(t->data_path, strlen(t->data_path) + 1);
}
