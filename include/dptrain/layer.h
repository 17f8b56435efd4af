/* A layer kind is a small table of functions over batch-major (NCHW) float arrays. Parameters
   and their gradients are views into the model's flat buffers; a new kind is one new file in
   src/layers/ plus one line in the table of kinds (src/layers/kinds.c). */
#ifndef DPTRAIN_LAYER_H
#define DPTRAIN_LAYER_H

#include <stddef.h>

#include "dptrain/error.h"
#include "dptrain/rng.h"

#define DPT_LAYER_MAX_ARGS 4
#define DPT_LAYER_MAX_TENSORS 2

typedef struct dpt_shape {
    int c, h, w;
} dpt_shape;

static inline size_t dpt_shape_size(dpt_shape s) {
    return (size_t)s.c * s.h * s.w;
}

/* One named parameter tensor of a layer, e.g. a convolution's weight (out, in, kh, kw). */
typedef struct dpt_tensor {
    const char *name; /* "weight", "bias" */
    size_t offset;    /* from the layer's first parameter */
    size_t count;
    int ndims;
    int dims[4];
} dpt_tensor;

typedef struct dpt_layer dpt_layer;

/* An argument of a layer kind in the spec text: positional first (required ones), then
   name=value. */
typedef struct dpt_layer_arg {
    const char *name;
    int required;
    double fallback; /* used when not given */
} dpt_layer_arg;

typedef struct dpt_layer_kind {
    const char *name;
    dpt_layer_arg args[DPT_LAYER_MAX_ARGS];
    /* From l->arg and l->in: checks the arguments and fills l->out, l->tensors, l->ntensors. */
    int (*setup)(dpt_layer *l, dpt_err *err);
    /* Floats of scratch memory the layer needs for a batch of n samples (may be NULL: none). */
    size_t (*scratch)(const dpt_layer *l, int n);
    /* PyTorch's default initialization of the layer's parameters (NULL: no parameters). */
    void (*init)(const dpt_layer *l, float *params, dpt_rng *rng);
    /* out[n][out] from in[n][in]. */
    void (*forward)(const dpt_layer *l, const float *params, const float *in, float *out,
                    float *scratch, int n);
    /* Sets grads (the layer's parameter gradients summed over the n samples) and din (the
       gradient with respect to in; skipped when din is NULL) from dout, the gradient with
       respect to out. */
    void (*backward)(const dpt_layer *l, const float *params, float *grads, const float *in,
                     const float *out, const float *dout, float *din, float *scratch, int n);
} dpt_layer_kind;

struct dpt_layer {
    const dpt_layer_kind *kind;
    double arg[DPT_LAYER_MAX_ARGS]; /* in the order of kind->args */
    char name[32];                  /* "conv1", "linear2": kind and ordinal, unique in a model */
    dpt_shape in, out;
    int ntensors;
    dpt_tensor tensors[DPT_LAYER_MAX_TENSORS];
    size_t nparams;      /* sum of the tensors' counts */
    int first_param;     /* index of its first tensor in the model's parameter table */
    size_t param_offset; /* into the model's flat parameter buffer */
};

/* The kind called `name`, or NULL. */
const dpt_layer_kind *dpt_layer_kind_find(const char *name);
/* The names of all kinds, space-separated, for help and error messages. */
const char *dpt_layer_kind_names(void);

/* Shared helpers for the kinds. */
int dpt_layer_int_arg(const dpt_layer *l, int i, int min, dpt_err *err, int *value);
void dpt_tensor_set(dpt_tensor *t, const char *name, size_t offset, int ndims, const int *dims);
/* U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for every parameter: PyTorch's default for Linear and
   Conv2d (Kaiming-uniform with a = sqrt(5) for weights reduces to exactly this bound). */
void dpt_init_uniform_fan_in(float *params, size_t count, size_t fan_in, dpt_rng *rng);

#endif
