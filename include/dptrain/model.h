/* A model: a small directed acyclic graph of layers (nodes in topological order) parsed from a
   spec text or a preset name. All parameters live in one flat float buffer, their gradients in
   another of the same layout, and non-trainable state (running statistics) in a third; the
   layers view them at their offsets.

   Spec text: layers separated by spaces, each `kind` or `kind(a,b,name=c)`; a chain reads each
   layer's output into the next. Two constructs make graphs:
     res[ BODY ]            BODY's output plus the block's input (identity shortcut)
     res[ BODY | SHORTCUT ] BODY's output plus SHORTCUT's, both reading the block's input
                            (SHORTCUT is e.g. conv(64,1,stride=2,bias=0) batchnorm)
     @name                  names the tensor at this point of the chain
     concat(@name)          the saved tensor's channels, then the current tensor's
     add(@name)             the current tensor plus the saved one
   Blocks nest. The canonical spec spells every argument out and round-trips: building it again
   gives the same graph. */
#ifndef DPTRAIN_MODEL_H
#define DPTRAIN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "dptrain/error.h"
#include "dptrain/layer.h"
#include "dptrain/task.h"

/* One tensor in a flat buffer, named "<layer>/<tensor>", e.g. "conv1/weight". */
typedef struct dpt_param {
    char name[48];
    size_t offset, count;
    int ndims, dims[4];
} dpt_param;

typedef struct dpt_model {
    char *spec; /* canonical spec text, every argument spelled out */
    dpt_shape input;
    dpt_task task;
    int classes;   /* classify: outputs per sample of the last node; segment: its channels */
    int positions; /* predictions per sample: 1, or the pixels (H*W) of a segmentation */
    int nlayers;   /* nodes, in topological order; the last one's output is the logits */
    dpt_layer *layers;
    int nparams_tensors, nstate_tensors;
    dpt_param *params; /* the parameter tensors, in buffer order */
    dpt_param *states; /* the state tensors, in buffer order */
    size_t nparams;    /* floats in the parameter (and gradient) buffer */
    size_t nstate;     /* floats in the state buffer */
    size_t nstats;     /* floats of per-step statistics (reduced like gradients) */
} dpt_model;

/* The number the word `classes` stands for in a spec built without a class count. */
#define DPT_DEFAULT_CLASSES 10

/* `text` is a preset name (see dpt_model_presets) or a spec text, where an argument may be the
   word `classes`: the class count (the presets' heads are linear(classes)). For classification
   the last layer must give `classes` outputs per sample (any number when classes is 0); for
   segmentation, `classes` channels (any number when 0) of the input's height and width, the
   logits of each pixel. */
int dpt_model_build_task(const char *text, dpt_shape input, int classes, dpt_task task,
                         dpt_model *m, dpt_err *err);
/* dpt_model_build_task for classification. */
int dpt_model_build(const char *text, dpt_shape input, int classes, dpt_model *m, dpt_err *err);
void dpt_model_free(dpt_model *m);

/* "name: spec" of every preset, for --help and `dptrain info`. */
void dpt_model_presets(void (*each)(const char *name, const char *spec, void *ctx), void *ctx);
/* The preset names, space-separated. */
const char *dpt_model_preset_names(void);

/* Initial parameters under `init` and initial state, from the counter-based stream (seed,
   DPT_STREAM_INIT, node index). */
void dpt_model_init(const dpt_model *m, float *params, float *state, dpt_init init, uint64_t seed);
/* Applies a step's reduced statistics (stats: m->nstats floats) to the state. */
void dpt_model_update_state(const dpt_model *m, float *state, const float *stats);
/* Forward FLOPs per sample of node i, and of the whole model. */
double dpt_layer_flops(const dpt_layer *l);
double dpt_model_flops(const dpt_model *m);

/* Per-thread memory for forward and backward passes of up to `capacity` samples, allocated
   once so the training loop never allocates. */
typedef struct dpt_workspace {
    int capacity;
    float *input; /* capacity samples of the model's input */
    float **act;  /* per node: its output */
    float **grad; /* per node: the gradient of the summed loss with respect to its output */
    float *fanout[DPT_LAYER_MAX_INPUTS]; /* later gradients of tensors read by several nodes */
    float *scratch;
    int *labels; /* capacity x the model's positions: each prediction's label */
    void *block;
} dpt_workspace;

int dpt_workspace_init(dpt_workspace *ws, const dpt_model *m, int capacity, dpt_err *err);
/* The bytes dpt_workspace_init allocates for `capacity` samples (SIZE_MAX: more than can be). */
size_t dpt_workspace_bytes(const dpt_model *m, int capacity);
void dpt_workspace_free(dpt_workspace *ws);

/* Runs the nodes on ws->input[0..n); the logits end up in dpt_model_logits. */
void dpt_model_forward(const dpt_model *m, const dpt_pass *p, const float *params,
                       dpt_workspace *ws, int n);
/* From the gradient of the summed loss with respect to the logits (dpt_model_dlogits), sets
   grads (the flat gradient over the n samples). Calls after_layer(ctx, i) (when not NULL) as
   soon as node i's gradients are complete; nodes complete in decreasing order. */
void dpt_model_backward(const dpt_model *m, const dpt_pass *p, const float *params, float *grads,
                        dpt_workspace *ws, int n, void (*after_layer)(void *ctx, int layer),
                        void *ctx);

static inline const float *dpt_model_logits(const dpt_model *m, const dpt_workspace *ws) {
    return ws->act[m->nlayers - 1];
}
static inline float *dpt_model_dlogits(const dpt_model *m, const dpt_workspace *ws) {
    return ws->grad[m->nlayers - 1];
}

#endif
