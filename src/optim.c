/* Each update is element-wise, so sharing the elements out over threads changes no bit. */
#include "dptrain/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dptrain/hot_loop.h"

static const char *const kind_names[] = {"sgd", "adam", "adagrad"};

int dpt_optim_kind_parse(const char *text, dpt_optim_kind *kind, dpt_err *err) {
    for (int i = 0; i < 3; i++)
        if (strcmp(text, kind_names[i]) == 0) {
            *kind = (dpt_optim_kind)i;
            return 0;
        }
    return dpt_fail(err, "--opt %s: unknown optimizer (sgd, adam, adagrad)", text);
}

const char *dpt_optim_kind_name(dpt_optim_kind kind) {
    return kind_names[kind];
}

double dpt_optim_default_eps(dpt_optim_kind kind) {
    return kind == DPT_ADAGRAD ? 1e-10 : 1e-8;
}

int dpt_optim_init(dpt_optim *o, const dpt_optim_config *cfg, size_t n, dpt_err *err) {
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    o->n = n;
    if (cfg->nesterov && (cfg->kind != DPT_SGD || cfg->momentum <= 0))
        return dpt_fail(err, "--nesterov needs --opt sgd with --momentum > 0");
    if (cfg->kind != DPT_SGD && !(cfg->eps > 0))
        return dpt_fail(err, "--eps must be > 0 for %s", kind_names[cfg->kind]);
    int buffers = cfg->kind == DPT_ADAM ? 2 : (cfg->kind == DPT_SGD && cfg->momentum == 0 ? 0 : 1);
    for (int i = 0; i < buffers; i++)
        if (!(o->state[i] = calloc(n ? n : 1, sizeof(float)))) {
            dpt_optim_free(o);
            return dpt_fail(err, "out of memory for the optimizer state");
        }
    return 0;
}

void dpt_optim_free(dpt_optim *o) {
    free(o->state[0]);
    free(o->state[1]);
    memset(o, 0, sizeof *o);
}

/* The updates of params[0, n) from grads[0, n), with the optimizer state from `at`. */
HOT_LOOP static void sgd(const dpt_optim *o, float *restrict p, const float *restrict g, size_t at,
                         size_t n, float lr) {
    const float wd = (float)o->cfg.weight_decay, mu = (float)o->cfg.momentum;
    float *buf = o->state[0] ? o->state[0] + at : NULL;
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + wd * p[i];
        if (buf) {
            buf[i] = o->step == 0 ? d : mu * buf[i] + d; /* PyTorch: the first buffer is d */
            d = o->cfg.nesterov ? d + mu * buf[i] : buf[i];
        }
        p[i] -= lr * d;
    }
}

HOT_LOOP static void adam(const dpt_optim *o, float *restrict p, const float *restrict g, size_t at,
                          size_t n, double lr) {
    const float wd = (float)o->cfg.weight_decay, b1 = (float)o->cfg.beta1, b2 = (float)o->cfg.beta2,
                eps = (float)o->cfg.eps;
    const double t = (double)o->step + 1;
    const float step_size = (float)(lr / (1 - pow(o->cfg.beta1, t)));
    const float root_bc2 = (float)sqrt(1 - pow(o->cfg.beta2, t));
    float *m = o->state[0] + at, *v = o->state[1] + at;
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + wd * p[i];
        m[i] = b1 * m[i] + (1 - b1) * d;
        v[i] = b2 * v[i] + (1 - b2) * d * d;
        p[i] -= step_size * m[i] / (sqrtf(v[i]) / root_bc2 + eps);
    }
}

HOT_LOOP static void adagrad(const dpt_optim *o, float *restrict p, const float *restrict g,
                             size_t at, size_t n, float lr) {
    const float wd = (float)o->cfg.weight_decay, eps = (float)o->cfg.eps;
    float *sum = o->state[0] + at;
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + wd * p[i];
        sum[i] += d * d;
        p[i] -= lr * d / (sqrtf(sum[i]) + eps);
    }
}

void dpt_optim_update(const dpt_optim *o, float *params, const float *grads, size_t offset,
                      size_t count, double lr) {
    float *p = params + offset;
    switch (o->cfg.kind) {
    case DPT_SGD:
        sgd(o, p, grads, offset, count, (float)lr);
        break;
    case DPT_ADAM:
        adam(o, p, grads, offset, count, lr);
        break;
    case DPT_ADAGRAD:
        adagrad(o, p, grads, offset, count, (float)lr);
        break;
    }
}

void dpt_optim_step_done(dpt_optim *o) {
    o->step++;
}
