/* Fuzzes the HDF5 dataset reader (dpt_dataset_read on a regular file, which is
   dpt_dataset_read_h5 of src/dataset_h5.c, then dpt_dataset_check): the input is the HDF5 file
   (the seed corpus holds small valid datasets, classification and segmentation, so mutations
   reach past HDF5's own parser into the shapes, types, labels, masks and class names). A
   dataset that loads is digested whole (dpt_dataset_digest reads every pixel, label and mask:
   ASan checks the buffers' sizes); no HDF5 id may stay open. */
#include <string.h>

#include "dptrain/dataset.h"
#include "fuzz.h"
#include "fuzz_h5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dpt_dataset ds;
    dpt_err err = {{0}};
    if (dpt_dataset_read(fuzz_file(0, data, size), 1, &ds, &err) == 0) {
        char hex[65];
        dpt_dataset_digest(&ds, hex);
        if (strlen(hex) != 64) fuzz_fail("dataset_h5", "a digest of another length");
        dpt_dataset_free(&ds);
        fuzz_say("dataset_h5", "loaded");
    } else {
        fuzz_refused("dataset_h5", &err);
    }
    fuzz_h5_all_closed("dataset_h5");
    return 0;
}
