/* Fuzzes the checkpoint reader of `dptrain eval` and `predict` (dpt_ckpt_load_trained,
   src/ckpt.c): the input is the HDF5 file (the seed corpus holds small valid checkpoints, so
   mutations reach past HDF5's own parser into the attributes, the model spec, the digests and
   the tensors). A checkpoint that loads has its weights, buffers, standardization and class
   names read through (ASan checks their sizes); no HDF5 id may stay open. */

#include "dptrain/ckpt.h"
#include "fuzz.h"
#include "fuzz_h5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dpt_trained t;
    dpt_err err = {{0}};
    if (dpt_ckpt_load_trained(fuzz_file(0, data, size), &t, &err) == 0) {
        fuzz_read_trained("ckpt", &t);
        dpt_trained_free(&t);
        fuzz_say("ckpt", "loaded");
    } else {
        fuzz_refused("ckpt", &err);
    }
    fuzz_h5_all_closed("ckpt");
    return 0;
}
