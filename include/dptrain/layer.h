/* A layer kind is a small table of functions over batch-major (NCHW) float arrays. A layer is
   one node of the model's graph: it reads one or two tensors (earlier nodes' outputs or the
   model's input) and writes one. Its parameters, their gradients, its state (BatchNorm's
   running statistics) and its per-step statistics are views into the model's flat buffers at
   the layer's offsets. A new kind is one new file in src/layers/ plus one line in the table of
   kinds (src/layers/kinds.c). */
#ifndef DPTRAIN_LAYER_H
#define DPTRAIN_LAYER_H

#include <stddef.h>
#include <stdint.h>

#include "dptrain/error.h"
#include "dptrain/rng.h"

#define DPT_LAYER_MAX_ARGS 6
#define DPT_LAYER_MAX_TENSORS 3
#define DPT_LAYER_MAX_INPUTS 2

typedef struct dpt_shape {
    int c, h, w;
} dpt_shape;

static inline size_t dpt_shape_size(dpt_shape s) {
    return (size_t)s.c * s.h * s.w;
}

/* One named tensor of a layer, e.g. a convolution's weight (out, in, kh, kw). */
typedef struct dpt_tensor {
    const char *name; /* "weight", "bias", "running_mean" */
    size_t offset;    /* from the layer's first value in its buffer */
    size_t count;
    int ndims;
    int dims[4];
} dpt_tensor;

typedef struct dpt_layer dpt_layer;

/* An argument of a layer kind in the spec text: positional first (required ones), then
   name=value. A kind whose first argument is named "from" takes a saved tensor's name (@name)
   there instead of a number. An argument with `words` takes one of them by name instead of a
   number (upsample's mode=nearest|bilinear): the layer's arg holds the word's index, and the
   canonical spec prints the word. */
typedef struct dpt_layer_arg {
    const char *name;
    int required;
    double fallback;          /* used when not given (a word's index for a word argument) */
    const char *const *words; /* NULL-terminated; NULL: the argument is a number */
} dpt_layer_arg;

/* Weight initialization schemes (--init); biases are zero under every scheme but the default. */
typedef enum dpt_init_scheme {
    DPT_INIT_DEFAULT, /* PyTorch's: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias */
    DPT_INIT_XAVIER_UNIFORM,
    DPT_INIT_XAVIER_NORMAL,
    DPT_INIT_KAIMING_UNIFORM, /* fan_in, gain sqrt(2) (ReLU) */
    DPT_INIT_KAIMING_NORMAL,
    DPT_INIT_NORMAL /* N(0, std) */
} dpt_init_scheme;

typedef struct dpt_init {
    dpt_init_scheme scheme;
    double std; /* DPT_INIT_NORMAL */
} dpt_init;

/* "default", "xavier-uniform", ..., "normal:STD" (--init). */
int dpt_init_parse(const char *text, dpt_init *out, dpt_err *err);

/* What a pass needs beyond its tensors: the mode, where randomness comes from, and where
   training statistics go. */
typedef struct dpt_pass {
    int training;       /* 0: evaluation (running statistics, no dropout) */
    uint64_t key;       /* dpt_pass_key(seed, epoch, step): dropout masks come from it */
    uint64_t first;     /* index, in the epoch's order, of the pass's first sample */
    float *stats;       /* training: the model's statistics segment for this micro-batch */
    const float *state; /* the model's state buffer (running statistics) */
} dpt_pass;

/* The stream a layer draws from for sample `index` (in the epoch's order): a pure function of
   (seed, epoch, step, index, node), so masks do not depend on ranks or threads. */
dpt_rng dpt_pass_rng(const dpt_pass *p, int node, uint64_t index);
uint64_t dpt_pass_key(uint64_t seed, uint64_t epoch, uint64_t step);

typedef struct dpt_layer_kind {
    const char *name;   /* in the spec text */
    const char *prefix; /* of its instances' names ("bn" for "bn1"); NULL: the kind's name */
    int inputs;         /* tensors it reads: 1, or 2 for add and concat */
    dpt_layer_arg args[DPT_LAYER_MAX_ARGS];
    /* From l->arg and l->in: checks the arguments and fills l->out and the tensor tables
       (l->tensors, l->state_tensors, l->nstats). Fails with the problem, not the layer's name. */
    int (*setup)(dpt_layer *l, dpt_err *err);
    /* Floats of scratch memory the layer needs for a batch of n samples (NULL: none). */
    size_t (*scratch)(const dpt_layer *l, int n);
    /* Forward multiply-adds and other operations per sample, counted as FLOPs (NULL: one per
       output value). */
    double (*flops)(const dpt_layer *l);
    /* Initial parameters under `init` (NULL: no parameters) and initial state (NULL: none). */
    void (*init)(const dpt_layer *l, float *params, dpt_init init, dpt_rng *rng);
    void (*init_state)(const dpt_layer *l, float *state);
    /* out[n][out] from in[i][n][in_i]. In training, a kind with statistics writes them to
       p->stats + l->stat_offset. */
    void (*forward)(const dpt_layer *l, const dpt_pass *p, const float *params,
                    const float *const *in, float *out, float *scratch, int n);
    /* Sets grads (the layer's parameter gradients summed over the n samples) and din[i] (the
       gradient with respect to in[i]; skipped where din[i] is NULL) from dout, the gradient
       with respect to out. Called after forward with the same pass, inputs and output. */
    void (*backward)(const dpt_layer *l, const dpt_pass *p, const float *params, float *grads,
                     const float *const *in, const float *out, const float *dout, float *const *din,
                     float *scratch, int n);
    /* Once per step, on every rank: the state from `stats`, the statistics of every
       micro-batch of the step summed exactly and divided by the batch size. */
    void (*update_state)(const dpt_layer *l, float *state, const float *stats);
} dpt_layer_kind;

struct dpt_layer {
    const dpt_layer_kind *kind;
    double arg[DPT_LAYER_MAX_ARGS];  /* in the order of kind->args */
    char name[32];                   /* "conv1", "bn2": prefix and ordinal, unique in a model */
    int index;                       /* in the model's node array */
    int input[DPT_LAYER_MAX_INPUTS]; /* nodes read: -1 is the model's input */
    char from[24];                   /* the saved name of input[1] in the spec ("" if implicit) */
    int last_reader;                 /* the highest node reading this one's output */
    int moved; /* a relu written before the maxpool reading it, run after it (model.c) */
    dpt_shape in[DPT_LAYER_MAX_INPUTS], out;
    int ntensors, nstate_tensors;
    dpt_tensor tensors[DPT_LAYER_MAX_TENSORS];       /* parameters */
    dpt_tensor state_tensors[DPT_LAYER_MAX_TENSORS]; /* non-trainable state */
    size_t nparams, nstate, nstats; /* floats of parameters, of state, of statistics */
    int first_param;                /* index of its first tensor in the model's parameter table */
    size_t param_offset;            /* into the model's flat parameter (and gradient) buffer */
    size_t state_offset;            /* into the model's state buffer */
    size_t stat_offset;             /* into the statistics segment */
};

/* The kind called `name`, or NULL. */
const dpt_layer_kind *dpt_layer_kind_find(const char *name);
/* The names of all kinds, space-separated, for help and error messages. */
const char *dpt_layer_kind_names(void);

/* Shared helpers for the kinds. */
int dpt_layer_int_arg(const dpt_layer *l, int i, int min, dpt_err *err, int *value);
int dpt_layer_real_arg(const dpt_layer *l, int i, double lo, double hi, dpt_err *err,
                       double *value);
/* A word argument's index into kind->args[i].words. */
int dpt_layer_word_arg(const dpt_layer *l, int i, dpt_err *err, int *value);
/* The index of the word at text[0..len) among the argument's words, or -1. */
int dpt_layer_arg_word(const dpt_layer_arg *a, const char *text, size_t len);
/* The argument's words, separated by `sep`, for help and error messages. */
void dpt_layer_arg_words(const dpt_layer_arg *a, const char *sep, char *buf, size_t size);
void dpt_tensor_set(dpt_tensor *t, const char *name, size_t offset, int ndims, const int *dims);
/* Fills a weight tensor of `count` values under `init` (fan_in and fan_out as PyTorch computes
   them) and its bias (may be NULL) as the scheme says. */
void dpt_init_weight_bias(float *weight, size_t count, float *bias, size_t nbias, size_t fan_in,
                          size_t fan_out, dpt_init init, dpt_rng *rng);
/* The layer's canonical spec text, e.g. "conv(16,3,stride=1,pad=1,bias=1)" or "add(@skip)";
   numbers as the shortest text that reads back exactly. */
void dpt_layer_text(const dpt_layer *l, char *buf, size_t size);
/* Pooling kinds with arguments (kernel, stride=kernel): output shape in PyTorch's floor mode. */
int dpt_layer_pool_setup(dpt_layer *l, dpt_err *err);
/* The same-shape activations and the like read the first input's shape as theirs. */
int dpt_layer_same_shape(dpt_layer *l, dpt_err *err);

#endif
