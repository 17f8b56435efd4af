/* Forward passes without training: evaluation chunks for the trainer and `dptrain eval`. */
#ifndef DPTRAIN_EVALUATE_H
#define DPTRAIN_EVALUATE_H

#include <stdint.h>

#include "dptrain/data.h"
#include "dptrain/model.h"

/* Runs samples first..first+n-1 of split (n <= ws->capacity) through the model. Returns their
   summed loss, adds the correct predictions to *correct and, when predicted is not NULL, writes
   each sample's predicted class. */
double dpt_eval_chunk(const dpt_model *m, const float *params, const dpt_data *data,
                      const dpt_split *split, uint32_t first, int n, dpt_workspace *ws,
                      long *correct, int *predicted);

#endif
