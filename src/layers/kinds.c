/* The table of layer kinds and the helpers they share. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dptrain/layer.h"

extern const dpt_layer_kind dpt_linear_kind, dpt_conv_kind, dpt_maxpool_kind, dpt_relu_kind,
    dpt_sigmoid_kind, dpt_tanh_kind, dpt_flatten_kind;

static const dpt_layer_kind *const kinds[] = {
    &dpt_linear_kind,  &dpt_conv_kind, &dpt_maxpool_kind, &dpt_relu_kind,
    &dpt_sigmoid_kind, &dpt_tanh_kind, &dpt_flatten_kind,
};

const dpt_layer_kind *dpt_layer_kind_find(const char *name) {
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i]->name, name) == 0) return kinds[i];
    return NULL;
}

const char *dpt_layer_kind_names(void) {
    return "linear conv maxpool relu sigmoid tanh flatten";
}

int dpt_layer_int_arg(const dpt_layer *l, int i, int min, dpt_err *err, int *value) {
    double v = l->arg[i];
    if (v != floor(v) || v < min || v > 1 << 20)
        return dpt_fail(err, "%s: %s=%g must be a whole number >= %d", l->kind->name,
                        l->kind->args[i].name, v, min);
    *value = (int)v;
    return 0;
}

void dpt_tensor_set(dpt_tensor *t, const char *name, size_t offset, int ndims, const int *dims) {
    t->name = name;
    t->offset = offset;
    t->ndims = ndims;
    t->count = 1;
    for (int i = 0; i < ndims; i++) {
        t->dims[i] = dims[i];
        t->count *= (size_t)dims[i];
    }
}

void dpt_init_uniform_fan_in(float *params, size_t count, size_t fan_in, dpt_rng *rng) {
    double bound = 1.0 / sqrt((double)fan_in);
    for (size_t i = 0; i < count; i++)
        params[i] = (float)((2.0 * dpt_rng_uniform(rng) - 1.0) * bound);
}
