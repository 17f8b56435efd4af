#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dptrain/optim.h"

#define PI 3.14159265358979323846
/* ReduceLROnPlateau's default: an improvement must beat the best by this fraction. */
#define PLATEAU_THRESHOLD 1e-4
/* OneCycleLR's defaults. */
#define ONECYCLE_PCT_START 0.3
#define ONECYCLE_DIV 25.0
#define ONECYCLE_FINAL_DIV 1e4

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
    } else if (strcmp(text, "onecycle") == 0 ||
               sscanf(text, "onecycle:%lf%c", &s->gamma, &tail) == 1) {
        s->kind = DPT_SCHED_ONECYCLE;
        if (strcmp(text, "onecycle") == 0) s->gamma = ONECYCLE_PCT_START;
        if (!(s->gamma > 0 && s->gamma < 1))
            return dpt_fail(err, "--sched %s: PCT must be between 0 and 1", text);
        return 0;
    } else {
        return dpt_fail(err,
                        "--sched %s: expected const, exp:GAMMA, step:EPOCHS:GAMMA, cosine, "
                        "plateau:FACTOR:PATIENCE or onecycle[:PCT]",
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
    case DPT_SCHED_ONECYCLE: /* per step: dpt_sched_step_lr */
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

/* From `from` at pct 0 to `to` at pct 1 along half a cosine. */
static double cosine_anneal(double from, double to, double pct) {
    return to + (from - to) / 2 * (1 + cos(PI * pct));
}

/* OneCycleLR.get_lr: a rise from lr0/25 to lr0 until step pct*T - 1, then a fall to
   lr0/25/1e4 at step T - 1. */
static double onecycle(const dpt_sched *s, double lr0, long t, long T) {
    const double initial = lr0 / ONECYCLE_DIV, last = initial / ONECYCLE_FINAL_DIV;
    const double rise_end = s->gamma * (double)T - 1, fall_end = (double)T - 1;
    if (t <= rise_end) return cosine_anneal(initial, lr0, rise_end > 0 ? t / rise_end : 1);
    return cosine_anneal(lr0, last,
                         fall_end > rise_end ? (t - rise_end) / (fall_end - rise_end) : 1);
}

double dpt_sched_step_lr(const dpt_sched *s, double lr0, const dpt_sched_state *st, int epoch,
                         int step, int steps, int epochs) {
    if (s->kind != DPT_SCHED_ONECYCLE) return st->lr;
    return onecycle(s, lr0, (long)epoch * steps + step, (long)epochs * steps);
}
