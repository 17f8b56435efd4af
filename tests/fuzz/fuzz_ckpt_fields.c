/* Fuzzes the checkpoint reader (dpt_ckpt_load_trained, src/ckpt.c) past HDF5's parser: each
   input is a list of edits to a valid checkpoint, which the harness writes through the HDF5
   API (so the file is always well-formed HDF5) and then loads. The empty input is a valid
   checkpoint of one of four small models (the first byte picks it); each edit then sets one
   item: the spec text, the input shape, classes, format version, the split's val and seed
   (any double: NaN, huge, negative), the standardization (count and values), the class names
   (count, fixed or variable length, contents), the task, the data path, the HDF5 type of a
   number, a tensor's shape, type, values (NaN) or digest, or drops an item. A checkpoint that
   loads has everything read through (ASan checks the sizes); no HDF5 id may stay open. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dptrain/ckpt.h"
#include "dptrain/digest.h"
#include "fuzz.h"
#include "fuzz_bytes.h"
#include "fuzz_h5.h"

static const struct {
    const char *spec;
    dpt_shape input;
    int classes;
    dpt_task task;
} models[] = {
    {"conv(2,3,pad=1,bias=0) batchnorm relu maxpool(2) linear(classes)",
     {1, 8, 8},
     4,
     DPT_TASK_CLASSIFY},
    {"flatten linear(classes)", {1, 4, 4}, 3, DPT_TASK_CLASSIFY},
    {"res[ conv(3,3,pad=1) ] dropout(0.5) flatten linear(classes)",
     {3, 4, 4},
     2,
     DPT_TASK_CLASSIFY},
    {"conv(2,3,pad=1) relu @a maxpool(2) convtranspose(2,2,stride=2) concat(@a) conv(classes,1)",
     {1, 4, 4},
     3,
     DPT_TASK_SEGMENT},
};

/* The numbers of the file, each with its HDF5 type (index of fuzz_h5_type). */
enum { FORMAT, CHANNELS, HEIGHT, WIDTH, CLASSES, VAL, SPLIT_SEED, NNUMBERS };
static const char *const number_obj[NNUMBERS] = {"/meta",  "/model",  "/model", "/model",
                                                 "/model", "/config", "/config"};
static const char *const number_name[NNUMBERS] = {
    "format_version", "input_channels", "input_height", "input_width", "classes", "val",
    "split_seed"};
enum { T_I64 = 6, T_F64 = 9 };

/* What may be dropped: the numbers, then these. */
enum { D_SPEC = NNUMBERS, D_TASK, D_MEAN, D_STD, D_NAMES, D_DATA, D_TENSORS, NDROPS };

enum { MAX_NAMES = 8, MAX_STATS = 6, MAX_TENSORS = 16 };

typedef struct tensor_edit {
    int extra_dim, as_double, digest; /* digest: 0 right, 1 wrong, 2 none */
    int poke;                         /* values[poke_at] = poke_value */
    size_t poke_at;
    float poke_value;
} tensor_edit;

typedef struct checkpoint {
    char spec[256], task[32], data[64];
    double number[NNUMBERS];
    int type[NNUMBERS];
    int drop[NDROPS];
    int nmean, nstd;
    float mean[MAX_STATS], std[MAX_STATS];
    int nnames, variable_names;
    char names[MAX_NAMES][40];
    tensor_edit tensor[MAX_TENSORS];
} checkpoint;

static void defaults(checkpoint *c, int which, const dpt_model *m) {
    memset(c, 0, sizeof *c);
    snprintf(c->spec, sizeof c->spec, "%s", m->spec);
    snprintf(c->task, sizeof c->task, "%s",
             models[which].task == DPT_TASK_SEGMENT ? "segment" : "classify");
    snprintf(c->data, sizeof c->data, "/nonexistent/data");
    const double numbers[NNUMBERS] = {2, m->input.c, m->input.h, m->input.w, m->classes, 8, 0};
    for (int i = 0; i < NNUMBERS; i++) {
        c->number[i] = numbers[i];
        c->type[i] = i >= VAL ? T_F64 : T_I64;
    }
    c->nmean = c->nstd = m->input.c;
    for (int i = 0; i < MAX_STATS; i++) c->mean[i] = 0.5f, c->std[i] = 0.25f;
    c->nnames = m->classes;
    c->variable_names = 1;
    for (int k = 0; k < MAX_NAMES; k++) snprintf(c->names[k], sizeof c->names[k], "class%d", k);
}

static void edit(checkpoint *c, fuzz_bytes *in) {
    switch (fuzz_u8(in) % 10) {
    case 0:
        fuzz_text(in, c->spec, sizeof c->spec);
        break;
    case 1: {
        const int i = fuzz_u8(in) % NNUMBERS;
        c->number[i] = i >= VAL ? fuzz_double(in) : (double)(int32_t)fuzz_u32(in);
        break;
    }
    case 2: {
        const int i = fuzz_u8(in) % NNUMBERS;
        c->type[i] = fuzz_u8(in) % FUZZ_H5_TYPES;
        break;
    }
    case 3: {
        const int std = fuzz_u8(in) & 1, n = fuzz_u8(in) % (MAX_STATS + 1);
        float *v = std ? c->std : c->mean;
        for (int i = 0; i < n; i++) v[i] = fuzz_float(in);
        *(std ? &c->nstd : &c->nmean) = n;
        break;
    }
    case 4: {
        c->nnames = fuzz_u8(in) % (MAX_NAMES + 1);
        c->variable_names = fuzz_u8(in) & 1;
        const int k = fuzz_u8(in) % MAX_NAMES;
        fuzz_text(in, c->names[k], sizeof c->names[k]);
        break;
    }
    case 5:
        fuzz_text(in, c->task, sizeof c->task);
        break;
    case 6:
        fuzz_text(in, c->data, sizeof c->data);
        break;
    case 7:
        c->drop[fuzz_u8(in) % NDROPS] = 1;
        break;
    case 8: {
        tensor_edit *t = &c->tensor[fuzz_u8(in) % MAX_TENSORS];
        const uint8_t how = fuzz_u8(in);
        t->extra_dim = how & 1;
        t->as_double = how >> 1 & 1;
        t->digest = (how >> 2) % 3;
        break;
    }
    default: {
        tensor_edit *t = &c->tensor[fuzz_u8(in) % MAX_TENSORS];
        t->poke = 1;
        t->poke_at = fuzz_u8(in);
        t->poke_value = fuzz_float(in);
        break;
    }
    }
}

/* One tensor of the model, its values a fixed pattern (finite) but for the edits. */
static void write_tensor(hid_t f, const dpt_param *p, const tensor_edit *e) {
    float *values = calloc(p->count ? p->count : 1, sizeof *values);
    if (!values) return;
    for (size_t i = 0; i < p->count; i++) values[i] = (float)((int)(i % 7) - 3) / 8;
    if (e->poke && p->count) values[e->poke_at % p->count] = e->poke_value;
    hsize_t dims[5];
    int rank = p->ndims;
    for (int d = 0; d < rank; d++) dims[d] = (hsize_t)p->dims[d];
    if (e->extra_dim) dims[rank++] = 1;
    char path[96];
    snprintf(path, sizeof path, "/model/%s", p->name);
    fuzz_h5_dataset(f, path, e->as_double ? H5T_IEEE_F64LE : H5T_IEEE_F32LE, rank, dims,
                    H5T_NATIVE_FLOAT, values, 0);
    if (e->digest < 2) {
        char hex[DPT_DIGEST_HEX];
        const void *parts[] = {values};
        const size_t bytes = p->count * sizeof *values;
        dpt_sha256_hex(parts, &bytes, 1, hex);
        if (e->digest == 1) hex[0] = hex[0] == '0' ? '1' : '0';
        const char *texts[] = {hex};
        fuzz_h5_attr_texts(f, path, "sha256", 0, texts, 0);
    }
    free(values);
}

static const char *write_checkpoint(const checkpoint *c, const dpt_model *m) {
    const hid_t f = fuzz_h5_create();
    for (int i = 0; i < NNUMBERS; i++)
        if (!c->drop[i])
            fuzz_h5_attr_numbers(f, number_obj[i], number_name[i], fuzz_h5_type(c->type[i]),
                                 &c->number[i], 0);
    const double mean[MAX_STATS] = {c->mean[0], c->mean[1], c->mean[2],
                                    c->mean[3], c->mean[4], c->mean[5]};
    const double std[MAX_STATS] = {c->std[0], c->std[1], c->std[2],
                                   c->std[3], c->std[4], c->std[5]};
    if (!c->drop[D_MEAN] && c->nmean)
        fuzz_h5_attr_numbers(f, "/meta", "mean", H5T_IEEE_F32LE, mean, c->nmean);
    if (!c->drop[D_STD] && c->nstd)
        fuzz_h5_attr_numbers(f, "/meta", "std", H5T_IEEE_F32LE, std, c->nstd);
    const char *spec[] = {c->spec}, *task[] = {c->task}, *data[] = {c->data};
    if (!c->drop[D_DATA]) fuzz_h5_attr_texts(f, "/meta", "data", 1, data, 0);
    if (!c->drop[D_SPEC]) fuzz_h5_attr_texts(f, "/model", "spec", 0, spec, 0);
    if (!c->drop[D_TASK]) fuzz_h5_attr_texts(f, "/model", "task", 1, task, 0);
    if (!c->drop[D_NAMES] && c->nnames) {
        const char *names[MAX_NAMES];
        for (int k = 0; k < c->nnames; k++) names[k] = c->names[k];
        fuzz_h5_attr_texts(f, "/model", "class_names", c->variable_names, names, c->nnames);
    }
    for (int t = 0; !c->drop[D_TENSORS] && t < m->nparams_tensors + m->nstate_tensors; t++) {
        const dpt_param *p =
            t < m->nparams_tensors ? &m->params[t] : &m->states[t - m->nparams_tensors];
        write_tensor(f, p, &c->tensor[t % MAX_TENSORS]);
    }
    return fuzz_h5_write(f, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_bytes in = {data, size, 0};
    const int which = fuzz_u8(&in) % (int)(sizeof models / sizeof models[0]);
    static dpt_model template[sizeof models / sizeof models[0]];
    if (!template[which].spec) {
        dpt_err err;
        if (dpt_model_build_task(models[which].spec, models[which].input, models[which].classes,
                                 models[which].task, &template[which], &err))
            fuzz_fail("ckpt_fields", err.msg);
    }
    static checkpoint c;
    defaults(&c, which, &template[which]);
    while (fuzz_left(&in)) edit(&c, &in);
    const char *path = write_checkpoint(&c, &template[which]);

    dpt_trained t;
    dpt_err err = {{0}};
    if (dpt_ckpt_load_trained(path, &t, &err) == 0) {
        fuzz_read_trained("ckpt_fields", &t);
        fuzz_say("ckpt_fields", "loaded");
        dpt_trained_free(&t);
    } else {
        fuzz_refused("ckpt_fields", &err);
    }
    fuzz_h5_all_closed("ckpt_fields");
    return 0;
}
