#define _GNU_SOURCE
#include "dptrain/ckpt.h"

#include <errno.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dptrain/data.h"
#include "dptrain/digest.h"
#include "dptrain/fsutil.h"
#include "dptrain/metrics.h"
#include "dptrain/settings.h"
#include "dptrain/train.h"

/* Names of the optimizer's state buffers, as PyTorch calls them. */
static const char *const optim_state_names[3][2] = {
    {"momentum_buffer", NULL}, {"exp_avg", "exp_avg_sq"}, {"sum", NULL}};

/* ---- writing ---- */

static int group(hid_t f, const char *path) {
    hid_t g = H5Gcreate2(f, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) return -1;
    H5Gclose(g);
    return 0;
}

static int text_attr(hid_t f, const char *obj, const char *name, const char *value) {
    return H5LTset_attribute_string(f, obj, name, value ? value : "") < 0 ? -1 : 0;
}

static int number_attr(hid_t f, const char *obj, const char *name, double value) {
    return H5LTset_attribute_double(f, obj, name, &value, 1) < 0 ? -1 : 0;
}

static int long_attr(hid_t f, const char *obj, const char *name, long value) {
    return H5LTset_attribute_long(f, obj, name, &value, 1) < 0 ? -1 : 0;
}

/* An attribute holding n strings (UTF-8, variable length). */
static int names_attr(hid_t f, const char *obj, const char *name, const char *const *names,
                      hsize_t n) {
    hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate_simple(1, &n, NULL), a = -1;
    int rc = -1;
    if (type >= 0 && space >= 0 && H5Tset_size(type, H5T_VARIABLE) >= 0 &&
        H5Tset_cset(type, H5T_CSET_UTF8) >= 0 &&
        (a = H5Acreate_by_name(f, obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) >=
            0)
        rc = H5Awrite(a, type, names) < 0 ? -1 : 0;
    if (a >= 0) H5Aclose(a);
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    return rc;
}

/* The class names, or "0", "1", ... when there are none. */
static int class_names_attr(hid_t f, const char *obj, char *const *names, int classes) {
    if (names) return names_attr(f, obj, "class_names", (const char *const *)names, classes);
    char **numbers = calloc((size_t)classes, sizeof *numbers);
    char *text = malloc((size_t)classes * 12);
    int rc = -1;
    if (numbers && text) {
        for (int k = 0; k < classes; k++) {
            numbers[k] = text + (size_t)k * 12;
            snprintf(numbers[k], 12, "%d", k);
        }
        rc = names_attr(f, obj, "class_names", (const char *const *)numbers, classes);
    }
    free(numbers);
    free(text);
    return rc;
}

/* The `sha256` attribute of a dataset just written: of its values' bytes (little-endian float32
   or float64), which every read checks, so that damage on disk is refused, not used. */
static int digest_attr(hid_t f, const char *path, const void *values, size_t bytes) {
    char hex[DPT_DIGEST_HEX];
    dpt_bytes_sha256(values, bytes, hex);
    return text_attr(f, path, "sha256", hex);
}

static int floats(hid_t f, const char *path, int rank, const hsize_t *dims, const float *data,
                  const char *meaning) {
    size_t n = 1;
    for (int d = 0; d < rank; d++) n *= (size_t)dims[d];
    if (H5LTmake_dataset_float(f, path, rank, dims, data) < 0 ||
        digest_attr(f, path, data, n * sizeof *data))
        return -1;
    return meaning ? text_attr(f, path, "meaning", meaning) : 0;
}

static int doubles(hid_t f, const char *path, hsize_t n, const double *data, const char *units,
                   const char *meaning) {
    return H5LTmake_dataset_double(f, path, 1, &n, data) < 0 ||
                   digest_attr(f, path, data, n * sizeof *data) ||
                   text_attr(f, path, "units", units) || text_attr(f, path, "meaning", meaning)
               ? -1
               : 0;
}

static int write_tensors(hid_t f, const dpt_param *table, int count, const float *buffer) {
    for (int t = 0; t < count; t++) {
        const dpt_param *p = &table[t];
        hsize_t dims[4];
        for (int d = 0; d < p->ndims; d++) dims[d] = (hsize_t)p->dims[d];
        char path[96];
        snprintf(path, sizeof path, "/model/%s", p->name);
        if (floats(f, path, p->ndims, dims, buffer + p->offset, NULL)) return -1;
    }
    return 0;
}

static int write_model(hid_t f, const dpt_ckpt_view *v) {
    const dpt_model *m = v->model;
    if (group(f, "/model") || text_attr(f, "/model", "spec", m->spec) ||
        long_attr(f, "/model", "input_channels", m->input.c) ||
        long_attr(f, "/model", "input_height", m->input.h) ||
        long_attr(f, "/model", "input_width", m->input.w) ||
        text_attr(f, "/model", "task", m->task == DPT_TASK_SEGMENT ? "segment" : "classify") ||
        long_attr(f, "/model", "classes", m->classes) ||
        class_names_attr(f, "/model", v->class_names, m->classes) ||
        long_attr(f, "/model", "parameters", (long)m->nparams) ||
        long_attr(f, "/model", "buffers", (long)m->nstate))
        return -1;
    for (int i = 0; i < m->nlayers; i++) {
        if (m->layers[i].ntensors + m->layers[i].nstate_tensors == 0) continue;
        char path[96];
        snprintf(path, sizeof path, "/model/%s", m->layers[i].name);
        if (group(f, path)) return -1;
    }
    return write_tensors(f, m->params, m->nparams_tensors, v->params) ||
                   write_tensors(f, m->states, m->nstate_tensors, v->state)
               ? -1
               : 0;
}

static int write_state(hid_t f, const dpt_ckpt_view *v) {
    const dpt_optim *o = v->optim;
    const hsize_t n = v->model->nparams;
    if (group(f, "/optim") || text_attr(f, "/optim", "kind", dpt_optim_kind_name(o->cfg.kind)) ||
        long_attr(f, "/optim", "step", o->step))
        return -1;
    for (int i = 0; i < 2; i++) {
        const char *name = optim_state_names[o->cfg.kind][i];
        char path[64];
        snprintf(path, sizeof path, "/optim/%s", name ? name : "");
        if (name && o->state[i] &&
            floats(f, path, 1, &n, o->state[i], "optimizer state, flat in parameter order"))
            return -1;
    }
    const dpt_position *p = v->pos;
    return group(f, "/sched") || number_attr(f, "/sched", "lr", v->sched->lr) ||
                   number_attr(f, "/sched", "best", v->sched->best) ||
                   long_attr(f, "/sched", "bad_epochs", v->sched->bad_epochs) ||
                   group(f, "/position") || long_attr(f, "/position", "epoch", p->epoch) ||
                   long_attr(f, "/position", "step", p->step) ||
                   number_attr(f, "/position", "loss", p->loss) ||
                   long_attr(f, "/position", "correct", p->correct) ||
                   long_attr(f, "/position", "top5", p->top5) ||
                   number_attr(f, "/position", "seconds", p->seconds) ||
                   number_attr(f, "/position", "reduce_wait_seconds", p->reduce_wait_seconds) ||
                   text_attr(
                       f, "/position", "meaning",
                       "training continues at step `step` (0-based) of epoch `epoch` "
                       "(0-based); loss, correct, top5, seconds and reduce_wait_seconds are that "
                       "epoch's sums so far") ||
                   group(f, "/rng") ||
                   text_attr(f, "/rng", "scheme",
                             "counter-based SplitMix64 keyed by (seed, purpose, index): the "
                             "split, initialization and each epoch's order need no state") ||
                   long_attr(f, "/rng", "seed", (long)v->cfg->seed)
               ? -1
               : 0;
}

static int write_history(hid_t f, const dpt_ckpt_view *v) {
    const int n = *v->epochs_done;
    double *column = malloc(sizeof(double) * (size_t)(n + 1));
    const hsize_t dims = (hsize_t)n;
    int rc = column && group(f, "/history") == 0 ? 0 : -1;
    for (int e = 0; rc == 0 && e < n; e++) column[e] = v->history[e].epoch;
    if (rc == 0 && doubles(f, "/history/epoch", dims, column, "1", "epoch number, from 1")) rc = -1;
    for (int k = 0; rc == 0 && k < dpt_nmetrics; k++) {
        char path[64];
        snprintf(path, sizeof path, "/history/%s", dpt_metrics[k].name);
        for (int e = 0; e < n; e++) column[e] = dpt_metric_of(&v->history[e], k);
        if (doubles(f, path, dims, column, dpt_metrics[k].units, dpt_metrics[k].meaning)) rc = -1;
    }
    free(column);
    const hsize_t batches = (hsize_t)*v->batches_done;
    if (rc || group(f, "/history/batch") ||
        floats(f, "/history/batch/loss", 1, &batches, v->batch_loss,
               "mean training loss of each step's batch, in order") ||
        floats(f, "/history/batch/acc", 1, &batches, v->batch_acc,
               "training accuracy of each step's batch, in order"))
        return -1;
    return 0;
}

/* /config: one attribute per setting (dptrain/settings.h), texts as text and numbers as
   doubles, but the run's total epochs as an integer. */
static int write_config(hid_t f, const dpt_ckpt_view *v) {
    if (group(f, "/config")) return -1;
    for (int i = 0; i < dpt_nsettings; i++) {
        const dpt_setting *s = &dpt_settings[i];
        const dpt_value x = dpt_setting_get(s, v->cfg, v->model->spec);
        if (x.text         ? text_attr(f, "/config", s->name, x.text)
            : s->run_total ? long_attr(f, "/config", s->name, (long)x.whole)
                           : number_attr(f, "/config", s->name, x.real))
            return -1;
    }
    return 0;
}

static int write_meta(hid_t f, const dpt_ckpt_view *v) {
    if (group(f, "/meta") || long_attr(f, "/meta", "format_version", DPT_CKPT_FORMAT) ||
        text_attr(f, "/meta", "program_version", DPTRAIN_VERSION) ||
        text_attr(f, "/meta", "command_line", v->cfg->command_line) ||
        long_attr(f, "/meta", "seed", (long)v->cfg->seed) ||
        long_attr(f, "/meta", "world_size", v->world_size) ||
        text_attr(f, "/meta", "data_sha256", v->data_digest) ||
        text_attr(f, "/meta", "data", v->data_path) ||
        H5LTset_attribute_float(f, "/meta", "mean", v->mean, (size_t)v->model->input.c) < 0 ||
        H5LTset_attribute_float(f, "/meta", "std", v->std, (size_t)v->model->input.c) < 0)
        return -1;
    return write_config(f, v);
}

/* Builds the file in memory (HDF5's core driver, no backing store), then writes its image
   through a temporary file (fsutil.h): HDF5 never meets a full disk or an I/O error, whose
   failed close it cannot recover from (HDF5 1.10 then crashes at exit). */
static int write_atomically(const char *path, int (*fill)(hid_t, const void *), const void *ctx,
                            dpt_err *err) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    const hid_t f = fapl >= 0 && H5Pset_fapl_core(fapl, (size_t)1 << 20, 0) >= 0
                        ? H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)
                        : -1;
    int ok = f >= 0 && fill(f, ctx) == 0 && H5Fflush(f, H5F_SCOPE_GLOBAL) >= 0;
    const ssize_t size = ok ? H5Fget_file_image(f, NULL, 0) : -1;
    void *image = size > 0 ? malloc((size_t)size) : NULL;
    ok = image && H5Fget_file_image(f, image, (size_t)size) == size;
    if (f >= 0) H5Fclose(f);
    if (fapl >= 0) H5Pclose(fapl);
    int rc;
    if (ok)
        rc = dpt_write_atomic(path, image, (size_t)size, err);
    else if (size > 0 && !image)
        rc = dpt_fail(err, "%s: cannot write: out of memory for its %lld-byte image", path,
                      (long long)size);
    else
        rc = dpt_fail(err, "%s: cannot write (HDF5 error building the file in memory)", path);
    free(image);
    return rc;
}

static int fill_checkpoint(hid_t f, const void *ctx) {
    const dpt_ckpt_view *v = ctx;
    return write_meta(f, v) || write_model(f, v) || write_state(f, v) || write_history(f, v) ? -1
                                                                                             : 0;
}

int dpt_ckpt_save(const char *path, const dpt_ckpt_view *v, dpt_err *err) {
    return write_atomically(path, fill_checkpoint, v, err);
}

static int fill_model_only(hid_t f, const void *ctx) {
    return write_model(f, ctx);
}

int dpt_ckpt_save_model(const char *path, const dpt_model *m, const float *params,
                        const float *state, dpt_err *err) {
    const dpt_ckpt_view v = {.model = m, .params = (float *)params, .state = (float *)state};
    return write_atomically(path, fill_model_only, &v, err);
}

/* ---- reading ---- */

static hid_t open_checkpoint(const char *path, dpt_err *err) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (dpt_check_regular_file(path, err)) return -1;
    if (H5Fis_hdf5(path) <= 0) return dpt_fail(err, "%s: not an HDF5 file", path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return dpt_fail(err, "%s: HDF5 file truncated or corrupted", path);
    long version = 0;
    if (H5Lexists(f, "/meta", H5P_DEFAULT) <= 0 ||
        H5LTget_attribute_long(f, "/meta", "format_version", &version) < 0) {
        H5Fclose(f);
        return dpt_fail(err, "%s: not a dptrain checkpoint (no /meta format_version)", path);
    }
    if (version > DPT_CKPT_FORMAT) {
        H5Fclose(f);
        return dpt_fail(err, "%s: checkpoint format %ld is newer than this dptrain reads (%d)",
                        path, version, DPT_CKPT_FORMAT);
    }
    return f;
}

/* A text attribute (fixed or variable length, as h5py writes), allocated; NULL when missing or
   not text. */
static char *read_text(hid_t f, const char *obj, const char *name) {
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) return NULL;
    hid_t type = H5Aget_type(a), mem = H5Tcopy(H5T_C_S1);
    char *out = NULL;
    H5Tset_cset(mem, H5Tget_cset(type)); /* h5py writes UTF-8, which HDF5 will not convert */
    if (H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) > 0) {
        char *text = NULL;
        H5Tset_size(mem, H5T_VARIABLE);
        if (H5Aread(a, mem, &text) >= 0 && text) {
            out = strdup(text);
            H5free_memory(text);
        }
    } else if (H5Tget_class(type) == H5T_STRING) {
        const size_t size = H5Tget_size(type) + 1;
        H5Tset_size(mem, size);
        if ((out = calloc(size, 1)) && H5Aread(a, mem, out) < 0) {
            free(out);
            out = NULL;
        }
    }
    H5Tclose(mem);
    H5Tclose(type);
    H5Aclose(a);
    return out;
}

/* Whether the text attribute exists and equals `want`; *have gets it (to free) when it exists. */
static int text_equals(hid_t f, const char *obj, const char *name, const char *want, char **have) {
    *have = read_text(f, obj, name);
    return *have && strcmp(*have, want) == 0;
}

static int read_number(hid_t f, const char *obj, const char *name, double *v) {
    return H5LTget_attribute_double(f, obj, name, v) < 0 ? -1 : 0;
}

static int read_long(hid_t f, const char *obj, const char *name, long *v) {
    return H5LTget_attribute_long(f, obj, name, v) < 0 ? -1 : 0;
}

/* A float attribute of exactly n values, allocated. */
static float *read_float_array(hid_t f, const char *obj, const char *name, int n) {
    hsize_t dims[1];
    H5T_class_t cls;
    size_t size;
    int rank;
    if (H5LTget_attribute_ndims(f, obj, name, &rank) < 0 || rank != 1 ||
        H5LTget_attribute_info(f, obj, name, dims, &cls, &size) < 0 || cls != H5T_FLOAT ||
        dims[0] != (hsize_t)n)
        return NULL;
    float *v = malloc(sizeof(float) * (size_t)n);
    if (v && H5LTget_attribute_float(f, obj, name, v) < 0) {
        free(v);
        return NULL;
    }
    return v;
}

/* n variable-length strings of an attribute, each allocated; NULL when missing or not so. */
static char **read_names(hid_t f, const char *obj, const char *name, int n) {
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) return NULL;
    hid_t type = H5Aget_type(a), space = H5Aget_space(a), mem = H5Tcopy(H5T_C_S1);
    char **raw = calloc((size_t)n, sizeof *raw), **out = NULL;
    H5Tset_size(mem, H5T_VARIABLE);
    H5Tset_cset(mem, H5Tget_cset(type));
    if (raw && H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) > 0 &&
        H5Sget_simple_extent_ndims(space) == 1 && H5Sget_simple_extent_npoints(space) == n &&
        H5Aread(a, mem, raw) >= 0) {
        out = calloc((size_t)n, sizeof *out);
        for (int k = 0; out && k < n; k++)
            if (!(out[k] = strdup(raw[k] ? raw[k] : ""))) {
                while (k--) free(out[k]);
                free(out);
                out = NULL;
            }
        H5Dvlen_reclaim(mem, space, H5P_DEFAULT, raw);
    }
    free(raw);
    H5Tclose(mem);
    H5Sclose(space);
    H5Tclose(type);
    H5Aclose(a);
    return out;
}

/* The values read match the dataset's sha256 (written with it since format 2). */
static int check_digest(hid_t f, const char *file, const char *path, const void *values,
                        size_t bytes, dpt_err *err) {
    char *stored = read_text(f, path, "sha256"), hex[DPT_DIGEST_HEX];
    long version = 1;
    H5LTget_attribute_long(f, "/meta", "format_version", &version);
    int rc = 0;
    if (!stored) {
        if (version >= 2) rc = dpt_fail(err, "%s: %s has no sha256 (damaged?)", file, path);
    } else {
        dpt_bytes_sha256(values, bytes, hex);
        if (strcmp(hex, stored) != 0)
            rc = dpt_fail(err, "%s: damaged: %s does not match its sha256", file, path);
    }
    free(stored);
    return rc;
}

/* Weights and optimizer state must be finite numbers. */
static int check_finite(const char *file, const char *path, const float *values, size_t n,
                        dpt_err *err) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(values[i]))
            return dpt_fail(err,
                            "%s: %s[%zu] is %g: the run diverged or the file was edited; not "
                            "usable",
                            file, path, i, (double)values[i]);
    return 0;
}

/* Whether path is a float dataset of exactly `count` values (and, when dims is given, that
   shape), before anything is allocated for it. */
static int check_floats(hid_t f, const char *file, const char *path, int ndims, const int *dims,
                        size_t count, dpt_err *err) {
    int rank;
    hsize_t have[8];
    H5T_class_t cls;
    size_t size;
    if (H5Lexists(f, path, H5P_DEFAULT) <= 0 || H5LTget_dataset_ndims(f, path, &rank) < 0 ||
        rank > 8 || H5LTget_dataset_info(f, path, have, &cls, &size) < 0)
        return dpt_fail(err, "%s: missing dataset %s", file, path);
    size_t n = 1;
    for (int d = 0; d < rank; d++) n *= (size_t)have[d];
    int same = n == count && cls == H5T_FLOAT && (!dims || rank == ndims);
    for (int d = 0; dims && same && d < ndims; d++) same = have[d] == (hsize_t)dims[d];
    if (!same) {
        char want[64] = "", got[64] = "";
        for (int d = 0; d < rank; d++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%llu", d ? "x" : "",
                     (unsigned long long)have[d]);
        if (dims)
            for (int d = 0; d < ndims; d++)
                snprintf(want + strlen(want), sizeof want - strlen(want), "%s%d", d ? "x" : "",
                         dims[d]);
        else
            snprintf(want, sizeof want, "%zu", count);
        return dpt_fail(err, "%s: %s has shape %s, expected %s", file, path, got, want);
    }
    return 0;
}

/* Reads a float dataset that check_floats accepts, checking its digest. */
static int read_floats(hid_t f, const char *file, const char *path, int ndims, const int *dims,
                       size_t count, float *out, dpt_err *err) {
    if (check_floats(f, file, path, ndims, dims, count, err)) return -1;
    if (count && H5LTread_dataset_float(f, path, out) < 0)
        return dpt_fail(err, "%s: cannot read %s (corrupted?)", file, path);
    return check_digest(f, file, path, out, count * sizeof *out, err);
}

/* The tensors of a table, read into buffer; with buffer NULL only their shapes are checked. */
static int read_tensors(hid_t f, const char *file, const dpt_param *table, int count, float *buffer,
                        dpt_err *err) {
    for (int t = 0; t < count; t++) {
        const dpt_param *p = &table[t];
        char path[96];
        snprintf(path, sizeof path, "/model/%s", p->name);
        if (!buffer) {
            if (check_floats(f, file, path, p->ndims, p->dims, p->count, err)) return -1;
            continue;
        }
        if (read_floats(f, file, path, p->ndims, p->dims, p->count, buffer + p->offset, err) ||
            check_finite(file, path, buffer + p->offset, p->count, err))
            return -1;
    }
    return 0;
}

/* The parameters and the state (running statistics) of the model. */
static int read_model(hid_t f, const char *file, const dpt_model *m, float *params, float *state,
                      dpt_err *err) {
    return read_tensors(f, file, m->params, m->nparams_tensors, params, err) ||
                   read_tensors(f, file, m->states, m->nstate_tensors, state, err)
               ? -1
               : 0;
}

/* A setting /config lacks: the checkpoint predates it, and was written with what is now its
   default, so only a run at the default continues it. */
static int check_missing_setting(const char *path, const dpt_setting *s, dpt_value x,
                                 dpt_err *err) {
    dpt_train_config defaults;
    dpt_train_config_defaults(&defaults);
    const dpt_value d = dpt_setting_get(s, &defaults, NULL);
    if (x.text ? d.text && strcmp(x.text, d.text) == 0 : x.real == d.real) return 0;
    return dpt_fail(err,
                    "%s: /config lacks %s (written before it existed: only its default continues)",
                    path, s->name);
}

/* Whether setting s of /config equals this run's; err names the difference. */
static int check_setting(hid_t f, const char *path, const dpt_setting *s, dpt_value x,
                         dpt_err *err) {
    char *text = NULL;
    double number;
    int rc = 0;
    if (x.text) {
        if (!text_equals(f, "/config", s->name, x.text, &text))
            rc = text ? dpt_fail(err, "%s: %s differs (checkpoint '%s', this run '%s')", path,
                                 s->name, text, x.text)
                      : check_missing_setting(path, s, x, err);
        free(text);
    } else if (read_number(f, "/config", s->name, &number)) {
        rc = check_missing_setting(path, s, x, err);
    } else if (number != x.real) {
        rc = dpt_fail(err, "%s: %s differs (checkpoint %.10g, this run %.10g)", path, s->name,
                      number, x.real);
    }
    return rc;
}

/* The first setting of this run that the checkpoint does not share, in err. */
static int check_settings(hid_t f, const char *path, const dpt_ckpt_view *v, dpt_err *err) {
    char *text = NULL;
    int rc = 0;
    if (!text_equals(f, "/meta", "data_sha256", v->data_digest, &text))
        rc = dpt_fail(err, "%s: the training data differs from this run's (data_sha256)", path);
    free(text);
    for (int i = 0; rc == 0 && i < dpt_nsettings; i++)
        if (!dpt_settings[i].run_total)
            rc = check_setting(f, path, &dpt_settings[i],
                               dpt_setting_get(&dpt_settings[i], v->cfg, v->model->spec), err);
    return rc;
}

static int read_history(hid_t f, const char *path, dpt_ckpt_view *v, dpt_err *err) {
    long epochs = 0;
    hsize_t dims[1];
    if (H5LTget_dataset_info(f, "/history/epoch", dims, NULL, NULL) < 0)
        return dpt_fail(err, "%s: missing /history", path);
    epochs = (long)dims[0];
    if (epochs > v->cfg->epochs)
        return dpt_fail(err, "%s: the checkpoint has %ld epochs done, more than --epochs %d", path,
                        epochs, v->cfg->epochs);
    double *column = malloc(sizeof(double) * (size_t)(epochs + 1));
    if (!column) return dpt_fail(err, "out of memory reading %s", path);
    for (int k = -1; k < dpt_nmetrics; k++) {
        char name[64];
        snprintf(name, sizeof name, "/history/%s", k < 0 ? "epoch" : dpt_metrics[k].name);
        hsize_t have[1];
        if (H5LTget_dataset_info(f, name, have, NULL, NULL) < 0 || have[0] != (hsize_t)epochs ||
            (epochs && H5LTread_dataset_double(f, name, column) < 0)) {
            free(column);
            return dpt_fail(err, "%s: %s is missing or has the wrong length", path, name);
        }
        if (check_digest(f, path, name, column, sizeof *column * (size_t)epochs, err)) {
            free(column);
            return -1;
        }
        for (long e = 0; e < epochs; e++) {
            if (k < 0)
                v->history[e].epoch = (int)column[e];
            else
                *dpt_metric_in(&v->history[e], k) = column[e];
        }
    }
    free(column);
    *v->epochs_done = (int)epochs;
    if (H5LTget_dataset_info(f, "/history/batch/loss", dims, NULL, NULL) < 0)
        return dpt_fail(err, "%s: missing /history/batch", path);
    if ((long)dims[0] > v->batch_capacity)
        return dpt_fail(err, "%s: more batches in its history than this run holds", path);
    *v->batches_done = (long)dims[0];
    if (read_floats(f, path, "/history/batch/loss", 0, NULL, dims[0], v->batch_loss, err) ||
        read_floats(f, path, "/history/batch/acc", 0, NULL, dims[0], v->batch_acc, err))
        return -1;
    return 0;
}

static int resume_from(hid_t f, const char *path, dpt_ckpt_view *v, dpt_err *err) {
    if (check_settings(f, path, v, err) || read_model(f, path, v->model, v->params, v->state, err))
        return -1;
    dpt_optim *o = v->optim;
    long step, epoch, pos_step, bad, correct, top5;
    if (read_long(f, "/optim", "step", &step) || read_number(f, "/sched", "lr", &v->sched->lr) ||
        read_number(f, "/sched", "best", &v->sched->best) ||
        read_long(f, "/sched", "bad_epochs", &bad) || read_long(f, "/position", "epoch", &epoch) ||
        read_long(f, "/position", "step", &pos_step) ||
        read_number(f, "/position", "loss", &v->pos->loss) ||
        read_long(f, "/position", "correct", &correct) ||
        read_long(f, "/position", "top5", &top5) ||
        read_number(f, "/position", "seconds", &v->pos->seconds) ||
        read_number(f, "/position", "reduce_wait_seconds", &v->pos->reduce_wait_seconds))
        return dpt_fail(err, "%s: missing optimizer, schedule or position attributes", path);
    o->step = step;
    v->sched->bad_epochs = (int)bad;
    v->pos->epoch = (int)epoch;
    v->pos->step = (int)pos_step;
    v->pos->correct = correct;
    v->pos->top5 = top5;
    for (int i = 0; i < 2; i++) {
        const char *name = optim_state_names[o->cfg.kind][i];
        char state[64];
        snprintf(state, sizeof state, "/optim/%s", name ? name : "");
        if (name && o->state[i] &&
            (read_floats(f, path, state, 0, NULL, v->model->nparams, o->state[i], err) ||
             check_finite(path, state, o->state[i], v->model->nparams, err)))
            return -1;
    }
    if (read_history(f, path, v, err)) return -1;
    /* Training continues from the position: it must be where the history ends (step == steps:
       stopped after an epoch's last step, before its evaluation). */
    const long steps = v->steps_per_epoch, done = *v->batches_done;
    if (epoch != *v->epochs_done || pos_step < 0 || pos_step > steps ||
        done != epoch * steps + pos_step || step != done || correct < 0 || top5 < 0 ||
        !isfinite(v->pos->loss))
        return dpt_fail(err,
                        "%s: damaged: /position (epoch %ld, step %ld) and /optim step %ld do not "
                        "follow the history (%d epochs and %ld steps done, %ld steps an epoch)",
                        path, epoch, pos_step, step, *v->epochs_done, done, steps);
    return 0;
}

int dpt_ckpt_resume(const char *path, dpt_ckpt_view *v, dpt_err *err) {
    hid_t f = open_checkpoint(path, err);
    if (f < 0) return -1;
    int rc = resume_from(f, path, v, err);
    H5Fclose(f);
    return rc;
}

/* /model task: "segment", or classification (also when absent). */
static dpt_task task_of(hid_t f) {
    char *text = read_text(f, "/model", "task");
    const dpt_task task =
        text && strcmp(text, "segment") == 0 ? DPT_TASK_SEGMENT : DPT_TASK_CLASSIFY;
    free(text);
    return task;
}

/* Inputs are standardized as (x - mean) / std: finite means and positive finite deviations. */
static int check_standardization(const char *path, const float *mean, const float *std,
                                 int channels, dpt_err *err) {
    for (int c = 0; c < channels; c++)
        if (!isfinite(mean[c]) || !isfinite(std[c]) || !(std[c] > 0))
            return dpt_fail(err, "%s: /meta mean %g and std %g of channel %d do not standardize",
                            path, (double)mean[c], (double)std[c], c);
    return 0;
}

/* Input sides and class counts a checkpoint may claim. */
#define MAX_SIDE 65536

int dpt_ckpt_load_trained(const char *path, dpt_trained *t, dpt_err *err) {
    memset(t, 0, sizeof *t);
    hid_t f = open_checkpoint(path, err);
    if (f < 0) return -1;
    char *spec = read_text(f, "/model", "spec");
    long c, h, w, classes;
    double val, split_seed;
    dpt_err why;
    int rc = 0;
    if (!spec || read_long(f, "/model", "input_channels", &c) ||
        read_long(f, "/model", "input_height", &h) || read_long(f, "/model", "input_width", &w) ||
        read_long(f, "/model", "classes", &classes) || read_number(f, "/config", "val", &val) ||
        read_number(f, "/config", "split_seed", &split_seed))
        rc = dpt_fail(err, "%s: missing /model spec, input shape or classes, or /config", path);
    else if (c < 1 || h < 1 || w < 1 || classes < 1 || c > MAX_SIDE || h > MAX_SIDE ||
             w > MAX_SIDE || classes > MAX_SIDE || !(val >= 0 && val <= UINT32_MAX) ||
             val != floor(val) || !(split_seed >= 0 && split_seed < 0x1p64) ||
             split_seed != floor(split_seed))
        rc = dpt_fail(err,
                      "%s: damaged: input %ldx%ldx%ld, %ld classes, /config val %g or split_seed "
                      "%g out of range",
                      path, c, h, w, classes, val, split_seed);
    else if (dpt_model_build_task(spec, (dpt_shape){(int)c, (int)h, (int)w}, (int)classes,
                                  task_of(f), &t->model, &why))
        rc = dpt_fail(err, "%s: %s", path, why.msg);
    else if (!(t->mean = read_float_array(f, "/meta", "mean", t->model.input.c)) ||
             !(t->std = read_float_array(f, "/meta", "std", t->model.input.c)))
        rc = dpt_fail(err, "%s: /meta mean and std must hold %d numbers (one per input channel)",
                      path, t->model.input.c);
    else if (check_standardization(path, t->mean, t->std, t->model.input.c, err))
        rc = -1;
    else if (!(t->class_names = read_names(f, "/model", "class_names", t->model.classes)))
        rc = dpt_fail(err, "%s: /model class_names must hold %d names", path, t->model.classes);
    else if (read_tensors(f, path, t->model.params, t->model.nparams_tensors, NULL, err) ||
             read_tensors(f, path, t->model.states, t->model.nstate_tensors, NULL, err))
        rc = -1; /* the file must hold the tensors the spec promises before they are allocated */
    else if (!(t->params = malloc(sizeof(float) * (t->model.nparams + 1))) ||
             !(t->state = malloc(sizeof(float) * (t->model.nstate + 1))))
        rc = dpt_fail(err, "out of memory for the parameters of %s", path);
    else
        rc = read_model(f, path, &t->model, t->params, t->state, err);
    free(spec);
    if (rc == 0) t->data_path = read_text(f, "/meta", "data");
    H5Fclose(f);
    if (rc) {
        dpt_trained_free(t);
        return -1;
    }
    t->val = (uint32_t)val;
    t->split_seed = (uint64_t)split_seed;
    return 0;
}

void dpt_trained_free(dpt_trained *t) {
    free(t->params);
    free(t->state);
    free(t->mean);
    free(t->std);
    for (int k = 0; t->class_names && k < t->model.classes; k++) free(t->class_names[k]);
    free(t->class_names);
    free(t->data_path);
    if (t->model.layers) dpt_model_free(&t->model);
    memset(t, 0, sizeof *t);
}

/* The pixels (C x H x W) or masks (H x W, from_masks) of samples index[0..n) of s, as the
   dataset stores them, as dataset `name` with the given meaning. */
static int write_samples(hid_t f, const char *name, const char *meaning, const dpt_images *s,
                         const int *index, long n, int from_masks) {
    const uint32_t c = from_masks ? 1 : s->channels;
    const size_t size = (size_t)c * s->height * s->width;
    const uint8_t *from = from_masks ? s->masks : s->pixels;
    uint8_t *out = malloc(size * (size_t)n + 1);
    if (!out) return -1;
    for (long i = 0; i < n; i++)
        memcpy(out + size * (size_t)i, from + size * (size_t)index[i], size);
    const hsize_t images[4] = {(hsize_t)n, c, s->height, s->width},
                  masks[3] = {(hsize_t)n, s->height, s->width};
    int rc = H5LTmake_dataset(f, name, from_masks ? 3 : 4, from_masks ? masks : images,
                              H5T_NATIVE_UINT8, out) < 0 ||
                     text_attr(f, name, "meaning", meaning)
                 ? -1
                 : 0;
    free(out);
    return rc;
}

static int write_misclassified(hid_t f, const dpt_eval_result *r) {
    const hsize_t n = (hsize_t)r->nmisclassified;
    return number_attr(f, "/eval", "top5", r->top5) || group(f, "/eval/misclassified") ||
                   H5LTmake_dataset_int(f, "/eval/misclassified/index", 1, &n, r->mis_index) < 0 ||
                   text_attr(f, "/eval/misclassified/index", "meaning",
                             "position of the sample in its split as the dataset stores it") ||
                   H5LTmake_dataset_int(f, "/eval/misclassified/label", 1, &n, r->mis_label) < 0 ||
                   H5LTmake_dataset_int(f, "/eval/misclassified/predicted", 1, &n,
                                        r->mis_predicted) < 0 ||
                   write_samples(f, "/eval/misclassified/images",
                                 "the misclassified images (sample, channel, row, column)",
                                 r->images, r->mis_index, r->nmisclassified, 0)
               ? -1
               : 0;
}

static int write_examples(hid_t f, const dpt_eval_result *r) {
    const dpt_images *s = r->images;
    const hsize_t n = (hsize_t)r->nexamples, masks[3] = {n, s->height, s->width};
    return group(f, "/eval/examples") ||
                   H5LTmake_dataset_int(f, "/eval/examples/index", 1, &n, r->ex_index) < 0 ||
                   text_attr(f, "/eval/examples/index", "meaning",
                             "position of the sample in its split as the dataset stores it") ||
                   write_samples(f, "/eval/examples/images",
                                 "the first samples' images (sample, channel, row, column)", s,
                                 r->ex_index, r->nexamples, 0) ||
                   write_samples(f, "/eval/examples/masks",
                                 "their true masks, class per pixel (sample, row, column)", s,
                                 r->ex_index, r->nexamples, 1) ||
                   H5LTmake_dataset(f, "/eval/examples/predicted", 3, masks, H5T_NATIVE_UINT8,
                                    r->ex_predicted) < 0 ||
                   text_attr(f, "/eval/examples/predicted", "meaning",
                             "their predicted masks, class per pixel (sample, row, column)")
               ? -1
               : 0;
}

typedef struct eval_file {
    const char *checkpoint;
    const dpt_eval_result *r;
} eval_file;

static int fill_eval(hid_t f, const void *ctx) {
    const eval_file *e = ctx;
    const dpt_eval_result *r = e->r;
    const int segment = r->task == DPT_TASK_SEGMENT;
    const hsize_t cm[2] = {(hsize_t)r->classes, (hsize_t)r->classes}, k = (hsize_t)r->classes;
    return group(f, "/eval") || text_attr(f, "/eval", "checkpoint", e->checkpoint) ||
                   text_attr(f, "/eval", "split", r->split) ||
                   text_attr(f, "/eval", "task", segment ? "segment" : "classify") ||
                   number_attr(f, "/eval", "loss", r->loss) ||
                   number_attr(f, "/eval", "accuracy", r->acc) ||
                   number_attr(f, "/eval", "mean_f1", r->mean_f1) ||
                   number_attr(f, "/eval", "mean_iou", r->mean_iou) ||
                   class_names_attr(f, "/eval", r->class_names, r->classes) ||
                   H5LTmake_dataset_long(f, "/eval/confusion", 2, cm, r->confusion) < 0 ||
                   text_attr(f, "/eval/confusion", "meaning",
                             segment ? "pixels of label [row] predicted as [column]"
                                     : "samples of label [row] predicted as [column]") ||
                   H5LTmake_dataset_double(f, "/eval/f1", 1, &k, r->f1) < 0 ||
                   text_attr(f, "/eval/f1", "meaning",
                             "per class: F1 (Dice), NaN when neither labelled nor predicted") ||
                   H5LTmake_dataset_double(f, "/eval/iou", 1, &k, r->iou) < 0 ||
                   text_attr(f, "/eval/iou", "meaning",
                             "per class: IoU, NaN when neither labelled nor predicted") ||
                   (segment ? write_examples(f, r) : write_misclassified(f, r))
               ? -1
               : 0;
}

int dpt_ckpt_save_eval(const char *path, const char *checkpoint, const dpt_eval_result *r,
                       dpt_err *err) {
    const eval_file e = {checkpoint, r};
    return write_atomically(path, fill_eval, &e, err);
}
