/* Fuzzes the model spec parser and graph builder (dpt_model_build_task, src/model.c): the input
   is a spec text (or a preset name), built for classification of 1x28x28 inputs into 10 classes
   and of 3x32x32 inputs into 10 classes, and for segmentation of 1x28x28 inputs into 10 classes.
   A model that builds must build again from its canonical spec, to the same graph sizes and the
   same canonical spec (model.h promises the round trip). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dptrain/model.h"
#include "fuzz.h"

enum { MAX_SPEC = 1 << 16 };

static void build(const char *spec, dpt_shape input, int classes, dpt_task task) {
    dpt_model m, again;
    dpt_err err = {{0}};
    if (dpt_model_build_task(spec, input, classes, task, &m, &err) != 0) {
        fuzz_refused("model", &err);
        return;
    }
    if (!m.spec || m.nlayers < 1 || !m.layers) fuzz_fail("model", "built an empty model");
    if (dpt_model_build_task(m.spec, input, classes, task, &again, &err) != 0) {
        fprintf(stderr, "canonical spec: %.2000s\nerror: %s\n", m.spec, err.msg);
        fuzz_fail("model", "the canonical spec does not build");
    }
    if (strcmp(m.spec, again.spec) != 0 || m.nlayers != again.nlayers ||
        m.nparams != again.nparams || m.nstate != again.nstate || m.nstats != again.nstats ||
        m.classes != again.classes) {
        fprintf(stderr, "canonical spec: %.2000s\nrebuilt as:     %.2000s\n", m.spec, again.spec);
        fuzz_fail("model", "the canonical spec builds another graph");
    }
    fuzz_say("model", m.spec);
    dpt_model_free(&again);
    dpt_model_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > MAX_SPEC) return 0;
    char *spec = malloc(size + 1);
    if (!spec) return 0;
    memcpy(spec, data, size);
    spec[size] = 0;
    build(spec, (dpt_shape){1, 28, 28}, 10, DPT_TASK_CLASSIFY);
    build(spec, (dpt_shape){3, 32, 32}, 10, DPT_TASK_CLASSIFY);
    build(spec, (dpt_shape){1, 28, 28}, 10, DPT_TASK_SEGMENT);
    free(spec);
    return 0;
}
