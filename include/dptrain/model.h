/* A model: a chain of layers parsed from a spec text or a preset name, with all parameters in
   one flat float buffer that the layers view at their offsets. */
#ifndef DPTRAIN_MODEL_H
#define DPTRAIN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "dptrain/error.h"
#include "dptrain/layer.h"

#define DPT_SPEC_MAX 1024

/* One parameter tensor in the flat buffer, named "<layer>/<tensor>", e.g. "conv1/weight". */
typedef struct dpt_param {
    char name[48];
    size_t offset, count;
    int ndims, dims[4];
} dpt_param;

typedef struct dpt_model {
    char spec[DPT_SPEC_MAX]; /* canonical spec text, every argument spelled out */
    dpt_shape input;
    int nlayers;
    dpt_layer *layers;
    int nparams_tensors;
    dpt_param *params;
    size_t nparams; /* floats in the flat buffer */
} dpt_model;

/* `text` is a preset name (see dpt_model_presets) or a spec such as
   "conv(16,3,pad=1) relu maxpool(2) flatten linear(10)". The last layer must give `classes`
   outputs per sample (any number when classes is 0). */
int dpt_model_build(const char *text, dpt_shape input, int classes, dpt_model *m, dpt_err *err);
void dpt_model_free(dpt_model *m);

/* "name: spec" lines of every preset, for --help and `dptrain info`. */
void dpt_model_presets(void (*each)(const char *name, const char *spec, void *ctx), void *ctx);

/* PyTorch's default initialization, from the counter-based stream (seed, DPT_STREAM_INIT). */
void dpt_model_init(const dpt_model *m, float *params, uint64_t seed);

/* Per-thread memory for forward and backward passes of up to `capacity` samples, allocated
   once so the training loop never allocates. */
typedef struct dpt_workspace {
    int capacity;
    float **act;            /* nlayers + 1 arrays: act[0] is the input, act[i+1] layer i's output */
    float *dlogits;         /* gradient of the summed loss with respect to the last output */
    float *grad_a, *grad_b; /* ping-pong gradients with respect to activations */
    float *scratch;
    int *labels;
    void *block;
} dpt_workspace;

int dpt_workspace_init(dpt_workspace *ws, const dpt_model *m, int capacity, dpt_err *err);
void dpt_workspace_free(dpt_workspace *ws);

/* Runs the layers on ws->act[0][0..n); the logits end up in ws->act[nlayers]. */
void dpt_model_forward(const dpt_model *m, const float *params, dpt_workspace *ws, int n);
/* From ws->dlogits, sets grads (the flat gradient of the summed loss over the n samples). Calls
   after_layer(ctx, i) (when not NULL) as soon as layer i's gradients are complete. */
void dpt_model_backward(const dpt_model *m, const float *params, float *grads, dpt_workspace *ws,
                        int n, void (*after_layer)(void *ctx, int layer), void *ctx);

static inline const float *dpt_model_logits(const dpt_model *m, const dpt_workspace *ws) {
    return ws->act[m->nlayers];
}

#endif
