#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dptrain/optim.h"

#define PI 3.14159265358979323846
/* ReduceLROnPlateau's default: an improvement must beat the best by this fraction. */
#define PLATEAU_THRESHOLD 1e-4

int dpt_sched_parse(const char *text, dpt_sched *s, dpt_err *err) {
    memset(s, 0, sizeof *s);
    snprintf(s->text, sizeof s->text, "%s", text);
    char tail;
    if (strcmp(text, "const") == 0) {
        s->kind = DPT_SCHED_CONST;
    } else if (strcmp(text, "cosine") == 0) {
        s->kind = DPT_SCHED_COSINE;
    } else if (sscanf(text, "exp:%lf%c", &s->gamma, &tail) == 1) {
        s->kind = DPT_SCHED_EXP;
    } else if (sscanf(text, "step:%d:%lf%c", &s->step_size, &s->gamma, &tail) == 2 &&
               s->step_size > 0) {
        s->kind = DPT_SCHED_STEP;
    } else if (sscanf(text, "plateau:%lf:%d%c", &s->gamma, &s->step_size, &tail) == 2 &&
               s->step_size >= 0) {
        s->kind = DPT_SCHED_PLATEAU;
    } else {
        return dpt_fail(err,
                        "--sched %s: expected const, exp:GAMMA, step:EPOCHS:GAMMA, cosine or "
                        "plateau:FACTOR:PATIENCE",
                        text);
    }
    if (s->kind != DPT_SCHED_CONST && s->kind != DPT_SCHED_COSINE &&
        !(s->gamma > 0 && s->gamma <= 1))
        return dpt_fail(err, "--sched %s: GAMMA/FACTOR must be in (0, 1]", text);
    return 0;
}

void dpt_sched_start(const dpt_sched *s, double lr0, dpt_sched_state *st) {
    (void)s;
    *st = (dpt_sched_state){.lr = lr0, .best = INFINITY, .bad_epochs = 0};
}

void dpt_sched_next(const dpt_sched *s, double lr0, int epoch, int epochs, double val_loss,
                    dpt_sched_state *st) {
    const int next = epoch + 1;
    switch (s->kind) {
    case DPT_SCHED_CONST:
        st->lr = lr0;
        break;
    case DPT_SCHED_EXP:
        st->lr = lr0 * pow(s->gamma, next);
        break;
    case DPT_SCHED_STEP:
        st->lr = lr0 * pow(s->gamma, next / s->step_size);
        break;
    case DPT_SCHED_COSINE:
        st->lr = lr0 * 0.5 * (1 + cos(PI * next / (epochs > 0 ? epochs : 1)));
        break;
    case DPT_SCHED_PLATEAU:
        if (val_loss < st->best * (1 - PLATEAU_THRESHOLD)) {
            st->best = val_loss;
            st->bad_epochs = 0;
        } else if (++st->bad_epochs > s->step_size) {
            st->lr *= s->gamma;
            st->bad_epochs = 0;
        }
        break;
    }
}
