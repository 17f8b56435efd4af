/* Fuzzes the checkpoint reader of `dptrain eval` and `predict` (dpt_ckpt_load_trained,
   src/ckpt.c): the input is the HDF5 file (the seed corpus holds small valid checkpoints, so
   mutations reach past HDF5's own parser into the attributes, the model spec, the digests and
   the tensors). A checkpoint that loads has its weights, buffers, standardization and class
   names read through (ASan checks their sizes); no HDF5 id may stay open. */
#include <string.h>

#include "dptrain/ckpt.h"
#include "fuzz.h"
#include "fuzz_h5.h"

static void read_through(const dpt_trained *t) {
    const dpt_model *m = &t->model;
    fuzz_read_all(t->params, m->nparams * sizeof *t->params);
    fuzz_read_all(t->state, m->nstate * sizeof *t->state);
    fuzz_read_all(t->mean, (size_t)m->input.c * sizeof *t->mean);
    fuzz_read_all(t->std, (size_t)m->input.c * sizeof *t->std);
    for (int k = 0; k < m->classes; k++) {
        if (!t->class_names[k]) fuzz_fail("ckpt", "a NULL class name");
        fuzz_read_all(t->class_names[k], strlen(t->class_names[k]) + 1);
    }
    if (t->data_path) fuzz_read_all(t->data_path, strlen(t->data_path) + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dpt_trained t;
    dpt_err err = {{0}};
    if (dpt_ckpt_load_trained(fuzz_file(0, data, size), &t, &err) == 0) {
        read_through(&t);
        dpt_trained_free(&t);
        fuzz_say("ckpt", "loaded");
    } else {
        fuzz_refused("ckpt", &err);
    }
    fuzz_h5_all_closed("ckpt");
    return 0;
}
