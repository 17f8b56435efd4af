#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dptrain/optim.h"

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
    } else {
        return dpt_fail(err, "--sched %s: expected const, exp:GAMMA, step:EPOCHS:GAMMA or cosine",
                        text);
    }
    if ((s->kind == DPT_SCHED_EXP || s->kind == DPT_SCHED_STEP) && !(s->gamma > 0 && s->gamma <= 1))
        return dpt_fail(err, "--sched %s: GAMMA must be in (0, 1]", text);
    return 0;
}

double dpt_sched_lr(const dpt_sched *s, double lr0, int epoch, int epochs) {
    switch (s->kind) {
    case DPT_SCHED_EXP:
        return lr0 * pow(s->gamma, epoch);
    case DPT_SCHED_STEP:
        return lr0 * pow(s->gamma, epoch / s->step_size);
    case DPT_SCHED_COSINE:
        return lr0 * 0.5 * (1 + cos(3.14159265358979323846 * epoch / (epochs > 0 ? epochs : 1)));
    case DPT_SCHED_CONST:
        break;
    }
    return lr0;
}
