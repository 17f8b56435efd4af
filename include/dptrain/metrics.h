/* The per-epoch metrics, listed once: the checkpoint's /history, the JSON summary and
   scripts/dptrain_h5.py (which reads whatever /history holds) all come from this table. */
#ifndef DPTRAIN_METRICS_H
#define DPTRAIN_METRICS_H

#include <stddef.h>

#include "dptrain/train.h"

typedef struct dpt_metric {
    const char *name, *units, *meaning;
    size_t offset; /* of its double in dpt_epoch_record */
} dpt_metric;

/* Every metric but the epoch number (an int, written first everywhere). */
extern const dpt_metric dpt_metrics[];
extern const int dpt_nmetrics;

static inline double *dpt_metric_in(dpt_epoch_record *r, int k) {
    return (double *)((char *)r + dpt_metrics[k].offset);
}
static inline double dpt_metric_of(const dpt_epoch_record *r, int k) {
    return *(const double *)((const char *)r + dpt_metrics[k].offset);
}

#endif
