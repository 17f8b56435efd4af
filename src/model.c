#include "dptrain/model.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name, *spec;
} presets[] = {
    /* seed 000, Table 2: 238,510 parameters */
    {"mlp300", "linear(300) sigmoid linear(10)"},
    /* seed 000, Table 3 and appendix A: 2,710 parameters */
    {"cnn2710", "conv(16,3,pad=1) relu maxpool(2) conv(4,3,pad=1) relu maxpool(2) linear(10)"},
    /* seed 003, Exercise 2 */
    {"cnn8-16-32", "conv(8,3,pad=1) relu maxpool(2) conv(16,3,pad=1) relu maxpool(2) "
                   "conv(32,3,pad=1) relu linear(10)"},
    /* seed 004, basic design */
    {"cnn50-100", "conv(50,5,pad=2) relu maxpool(2) conv(100,5,pad=2) relu maxpool(2) linear(10)"},
};

void dpt_model_presets(void (*each)(const char *name, const char *spec, void *ctx), void *ctx) {
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        each(presets[i].name, presets[i].spec, ctx);
}

static const char *preset_spec(const char *name) {
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].name, name) == 0) return presets[i].spec;
    return NULL;
}

/* Parses "name" or "name(a,b,key=c)" at *p into l->kind and l->arg; advances *p. */
static int parse_layer(const char **p, int index, dpt_layer *l, dpt_err *err) {
    const char *s = *p;
    char name[32];
    size_t len = 0;
    while (isalnum((unsigned char)s[len]) || s[len] == '_') len++;
    if (len == 0 || len >= sizeof name)
        return dpt_fail(err, "model spec, layer %d: expected a layer name at '%.20s'", index, s);
    memcpy(name, s, len);
    name[len] = 0;
    s += len;
    l->kind = dpt_layer_kind_find(name);
    if (!l->kind)
        return dpt_fail(err, "model spec, layer %d: unknown layer '%s' (known: %s)", index, name,
                        dpt_layer_kind_names());
    const dpt_layer_kind *k = l->kind;
    int given[DPT_LAYER_MAX_ARGS] = {0}, positional = 0;
    for (int i = 0; i < DPT_LAYER_MAX_ARGS; i++) l->arg[i] = k->args[i].fallback;
    if (*s == '(') {
        s++;
        while (*s != ')') {
            while (*s == ' ') s++;
            int slot = -1;
            const char *eq = s;
            while (isalpha((unsigned char)*eq) || *eq == '_') eq++;
            if (*eq == '=' && eq > s) {
                for (int i = 0; i < DPT_LAYER_MAX_ARGS && k->args[i].name; i++)
                    if (strlen(k->args[i].name) == (size_t)(eq - s) &&
                        strncmp(k->args[i].name, s, (size_t)(eq - s)) == 0)
                        slot = i;
                if (slot < 0)
                    return dpt_fail(err, "model spec, layer %d (%s): unknown argument '%.*s'",
                                    index, name, (int)(eq - s), s);
                s = eq + 1;
            } else {
                slot = positional++;
                if (slot >= DPT_LAYER_MAX_ARGS || !k->args[slot].name)
                    return dpt_fail(err, "model spec, layer %d (%s): too many arguments", index,
                                    name);
            }
            char *end;
            double v = strtod(s, &end);
            if (end == s)
                return dpt_fail(err, "model spec, layer %d (%s): expected a number at '%.20s'",
                                index, name, s);
            if (given[slot]++)
                return dpt_fail(err, "model spec, layer %d (%s): %s given twice", index, name,
                                k->args[slot].name);
            l->arg[slot] = v;
            s = end;
            while (*s == ' ') s++;
            if (*s == ',')
                s++;
            else if (*s != ')')
                return dpt_fail(err, "model spec, layer %d (%s): expected ',' or ')' at '%.20s'",
                                index, name, s);
        }
        s++;
    }
    for (int i = 0; i < DPT_LAYER_MAX_ARGS && k->args[i].name; i++)
        if (k->args[i].required && !given[i])
            return dpt_fail(err, "model spec, layer %d (%s): missing argument '%s'", index, name,
                            k->args[i].name);
    *p = s;
    return 0;
}

/* Appends the layer's canonical text, e.g. "conv(16,3,stride=1,pad=1)". */
static void append_canonical(char *spec, size_t size, const dpt_layer *l) {
    size_t len = strlen(spec);
    len += (size_t)snprintf(spec + len, size - len, "%s%s", len ? " " : "", l->kind->name);
    for (int i = 0; i < DPT_LAYER_MAX_ARGS && l->kind->args[i].name && len < size; i++) {
        const dpt_layer_arg *a = &l->kind->args[i];
        len += (size_t)snprintf(spec + len, size - len, "%s%s%s%g", i ? "," : "(",
                                a->required ? "" : a->name, a->required ? "" : "=", l->arg[i]);
    }
    if (l->kind->args[0].name && len < size) snprintf(spec + len, size - len, ")");
}

int dpt_model_build(const char *text, dpt_shape input, int classes, dpt_model *m, dpt_err *err) {
    memset(m, 0, sizeof *m);
    const char *spec = preset_spec(text);
    if (!spec) spec = text;
    m->input = input;
    int capacity = 0;
    const char *p = spec;
    for (;;) {
        while (isspace((unsigned char)*p)) p++;
        if (!*p) break;
        if (m->nlayers == capacity) {
            capacity = capacity ? 2 * capacity : 8;
            dpt_layer *grown = realloc(m->layers, sizeof *grown * (size_t)capacity);
            if (!grown) goto oom;
            m->layers = grown;
        }
        dpt_layer *l = &m->layers[m->nlayers];
        memset(l, 0, sizeof *l);
        if (parse_layer(&p, m->nlayers + 1, l, err)) goto fail;
        if (*p && !isspace((unsigned char)*p)) {
            dpt_fail(err, "model spec, layer %d: unexpected '%.20s'", m->nlayers + 1, p);
            goto fail;
        }
        l->in = m->nlayers ? m->layers[m->nlayers - 1].out : input;
        dpt_err why;
        if (l->kind->setup(l, &why)) {
            dpt_fail(err, "model spec, layer %d: %s", m->nlayers + 1, why.msg);
            goto fail;
        }
        int ordinal = 1;
        for (int i = 0; i < m->nlayers; i++) ordinal += m->layers[i].kind == l->kind;
        snprintf(l->name, sizeof l->name, "%s%d", l->kind->name, ordinal);
        append_canonical(m->spec, sizeof m->spec, l);
        m->nlayers++;
    }
    if (m->nlayers == 0) {
        dpt_fail(err,
                 "model spec '%s' has no layers (presets: mlp300 cnn2710 cnn8-16-32 "
                 "cnn50-100)",
                 text);
        goto fail;
    }
    dpt_shape last = m->layers[m->nlayers - 1].out;
    if (classes > 0 && dpt_shape_size(last) != (size_t)classes) {
        dpt_fail(err,
                 "model spec: the last layer gives %zu outputs per sample, the data has %d "
                 "classes",
                 dpt_shape_size(last), classes);
        goto fail;
    }
    for (int i = 0; i < m->nlayers; i++) m->nparams_tensors += m->layers[i].ntensors;
    m->params = calloc((size_t)m->nparams_tensors + 1, sizeof *m->params);
    if (!m->params) goto oom;
    int t = 0;
    for (int i = 0; i < m->nlayers; i++) {
        dpt_layer *l = &m->layers[i];
        l->param_offset = m->nparams;
        l->first_param = t;
        for (int j = 0; j < l->ntensors; j++, t++) {
            const dpt_tensor *src = &l->tensors[j];
            dpt_param *dst = &m->params[t];
            snprintf(dst->name, sizeof dst->name, "%s/%s", l->name, src->name);
            dst->offset = l->param_offset + src->offset;
            dst->count = src->count;
            dst->ndims = src->ndims;
            memcpy(dst->dims, src->dims, sizeof dst->dims);
            l->nparams += src->count;
        }
        m->nparams += l->nparams;
    }
    return 0;
oom:
    dpt_fail(err, "out of memory building the model");
fail:
    dpt_model_free(m);
    return -1;
}

void dpt_model_free(dpt_model *m) {
    free(m->layers);
    free(m->params);
    memset(m, 0, sizeof *m);
}

void dpt_model_init(const dpt_model *m, float *params, uint64_t seed) {
    for (int i = 0; i < m->nlayers; i++) {
        const dpt_layer *l = &m->layers[i];
        if (!l->kind->init) continue;
        dpt_rng rng = dpt_rng_stream(seed, DPT_STREAM_INIT, (uint64_t)i);
        l->kind->init(l, params + l->param_offset, &rng);
    }
}

int dpt_workspace_init(dpt_workspace *ws, const dpt_model *m, int capacity, dpt_err *err) {
    memset(ws, 0, sizeof *ws);
    size_t acts = dpt_shape_size(m->input), widest = acts, scratch = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const dpt_layer *l = &m->layers[i];
        size_t out = dpt_shape_size(l->out);
        acts += out;
        if (out > widest) widest = out;
        if (l->kind->scratch) {
            size_t s = l->kind->scratch(l, capacity);
            if (s > scratch) scratch = s;
        }
    }
    size_t n = (size_t)capacity;
    size_t floats =
        n * (acts + 2 * widest + dpt_shape_size(m->layers[m->nlayers - 1].out)) + scratch;
    ws->act = malloc(sizeof(float *) * (size_t)(m->nlayers + 1));
    ws->block = malloc(sizeof(float) * floats + sizeof(int) * n);
    if (!ws->act || !ws->block) {
        dpt_workspace_free(ws);
        return dpt_fail(err, "out of memory for a workspace of %d samples (%zu MiB)", capacity,
                        floats * sizeof(float) >> 20);
    }
    ws->capacity = capacity;
    float *f = ws->block;
    ws->act[0] = f;
    f += n * dpt_shape_size(m->input);
    for (int i = 0; i < m->nlayers; i++) {
        ws->act[i + 1] = f;
        f += n * dpt_shape_size(m->layers[i].out);
    }
    ws->grad_a = f, f += n * widest;
    ws->grad_b = f, f += n * widest;
    ws->dlogits = f, f += n * dpt_shape_size(m->layers[m->nlayers - 1].out);
    ws->scratch = f, f += scratch;
    ws->labels = (int *)f;
    return 0;
}

void dpt_workspace_free(dpt_workspace *ws) {
    free(ws->act);
    free(ws->block);
    memset(ws, 0, sizeof *ws);
}

void dpt_model_forward(const dpt_model *m, const float *params, dpt_workspace *ws, int n) {
    for (int i = 0; i < m->nlayers; i++) {
        const dpt_layer *l = &m->layers[i];
        l->kind->forward(l, params + l->param_offset, ws->act[i], ws->act[i + 1], ws->scratch, n);
    }
}

void dpt_model_backward(const dpt_model *m, const float *params, float *grads, dpt_workspace *ws,
                        int n, void (*after_layer)(void *ctx, int layer), void *ctx) {
    const float *dout = ws->dlogits;
    for (int i = m->nlayers - 1; i >= 0; i--) {
        const dpt_layer *l = &m->layers[i];
        float *din = i == 0 ? NULL : (dout == ws->grad_a ? ws->grad_b : ws->grad_a);
        l->kind->backward(l, params + l->param_offset, grads + l->param_offset, ws->act[i],
                          ws->act[i + 1], dout, din, ws->scratch, n);
        if (after_layer) after_layer(ctx, i);
        dout = din;
    }
}
