/* What training shows a person and writes for scripts: a live progress line on a terminal,
   one line per epoch, and the JSON summary. */
#ifndef DPTRAIN_REPORT_H
#define DPTRAIN_REPORT_H

#include <stdio.h>

#include "dptrain/ckpt.h"
#include "dptrain/model.h"
#include "dptrain/timing.h"
#include "dptrain/train.h"

typedef struct dpt_progress {
    int live; /* standard error is a terminal */
    double epoch_start, last_draw;
} dpt_progress;

/* show: this rank draws (rank 0 only), and only when standard error is a terminal. */
void dpt_progress_start(dpt_progress *p, int show);
/* Redraws at most five times a second. */
void dpt_progress_update(dpt_progress *p, const char *tag, int epoch, int epochs, int step,
                         int steps, double loss, double acc, long samples);
void dpt_progress_clear(dpt_progress *p);

/* The epoch's line (with validation and test mean F1 and IoU for a segmentation). */
void dpt_report_epoch(FILE *f, const char *tag, const dpt_epoch_record *r, int epochs, int segment);

/* The run as JSON on one line: every setting, the history, the parameter and buffer counts and
   the SHA-256 of the final parameters (param_sha256) and buffers (buffer_sha256, BatchNorm's
   running statistics). */
void dpt_report_json(FILE *f, const dpt_ckpt_view *v, int threads);

#endif
