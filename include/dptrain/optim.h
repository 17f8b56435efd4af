/* Optimizers over the flat parameter buffer, with PyTorch's semantics, and learning-rate
   schedules. */
#ifndef DPTRAIN_OPTIM_H
#define DPTRAIN_OPTIM_H

#include <stddef.h>

#include "dptrain/error.h"

typedef enum dpt_optim_kind { DPT_SGD, DPT_ADAM, DPT_ADAGRAD } dpt_optim_kind;

typedef struct dpt_optim_config {
    dpt_optim_kind kind;
    double momentum;     /* SGD */
    int nesterov;        /* SGD, needs momentum > 0 */
    double weight_decay; /* added to the gradient as wd * param (L2), as PyTorch does */
    double beta1, beta2; /* Adam */
    double eps;          /* Adam 1e-8, Adagrad 1e-10 (PyTorch's defaults) */
} dpt_optim_config;

typedef struct dpt_optim {
    dpt_optim_config cfg;
    size_t n;
    long step;       /* steps taken so far */
    float *state[2]; /* SGD: momentum buffer; Adam: m, v; Adagrad: sum of squares */
} dpt_optim;

/* Parses "sgd", "adam" or "adagrad". */
int dpt_optim_kind_parse(const char *text, dpt_optim_kind *kind, dpt_err *err);
const char *dpt_optim_kind_name(dpt_optim_kind kind);
/* PyTorch's default eps: Adam 1e-8, Adagrad 1e-10. */
double dpt_optim_default_eps(dpt_optim_kind kind);
int dpt_optim_init(dpt_optim *o, const dpt_optim_config *cfg, size_t n, dpt_err *err);
void dpt_optim_free(dpt_optim *o);
/* Part of a step: params[offset, offset + count) -= lr * update(grads[0, count)). Any thread, on
   disjoint ranges (each value's update is element-wise: the same bits whoever computes it). */
void dpt_optim_update(const dpt_optim *o, float *params, const float *grads, size_t offset,
                      size_t count, double lr);
/* After every range of the step is updated. */
void dpt_optim_step_done(dpt_optim *o);

/* Learning rate per epoch: constant; "exp:G" (lr * G^epoch, PyTorch's ExponentialLR);
   "step:S:G" (lr * G^(epoch / S), StepLR); "cosine" (to 0 over the run, CosineAnnealingLR);
   "plateau:F:P" (lr * F once the validation loss has not improved by 1e-4 relative for more
   than P epochs, ReduceLROnPlateau's defaults otherwise). Per step: "onecycle" or
   "onecycle:PCT" (PyTorch's OneCycleLR with max_lr = lr, pct_start = PCT (0.3), cosine annealing,
   div_factor 25, final_div_factor 1e4, the momentum left as set). */
typedef enum dpt_sched_kind {
    DPT_SCHED_CONST,
    DPT_SCHED_EXP,
    DPT_SCHED_STEP,
    DPT_SCHED_COSINE,
    DPT_SCHED_PLATEAU,
    DPT_SCHED_ONECYCLE
} dpt_sched_kind;

typedef struct dpt_sched {
    dpt_sched_kind kind;
    double gamma;  /* exp, step: decay; plateau: factor; onecycle: pct_start */
    int step_size; /* step: epochs per decay; plateau: patience */
    char text[64]; /* as the user wrote it */
} dpt_sched;

/* Where a schedule stands between epochs (rank 0 decides it, every rank follows). */
typedef struct dpt_sched_state {
    double lr;      /* of the coming epoch */
    double best;    /* plateau: best validation loss so far */
    int bad_epochs; /* plateau: epochs since it improved */
} dpt_sched_state;

int dpt_sched_parse(const char *text, dpt_sched *s, dpt_err *err);
void dpt_sched_start(const dpt_sched *s, double lr0, dpt_sched_state *st);
/* After epoch `epoch` (0-based) of `epochs` ended with validation loss val_loss: sets st->lr to
   the next epoch's learning rate. */
void dpt_sched_next(const dpt_sched *s, double lr0, int epoch, int epochs, double val_loss,
                    dpt_sched_state *st);

/* The learning rate of step `step` of epoch `epoch` (0-based; steps per epoch, epochs in the
   run): the per-step schedule's, or the epoch's (st->lr) for the others. */
double dpt_sched_step_lr(const dpt_sched *s, double lr0, const dpt_sched_state *st, int epoch,
                         int step, int steps, int epochs);

#endif
