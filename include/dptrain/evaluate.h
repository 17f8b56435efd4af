/* Forward passes in evaluation mode: evaluation chunks for the trainer and `dptrain eval`. */
#ifndef DPTRAIN_EVALUATE_H
#define DPTRAIN_EVALUATE_H

#include <stdint.h>

#include "dptrain/data.h"
#include "dptrain/loss.h"
#include "dptrain/model.h"

/* Runs samples first..first+n-1 of split (n <= ws->capacity) through the model in evaluation
   mode (running statistics, no dropout). Adds their summed, unweighted loss and counts (and
   confusion, when sums->confusion is set) over every prediction (a sample's, or each pixel's)
   to *sums and, when predicted is not NULL (classification only), writes each sample's
   predicted class. */
void dpt_eval_chunk(const dpt_model *m, const float *params, const float *state,
                    const dpt_data *data, const dpt_split *split, uint32_t first, int n,
                    dpt_workspace *ws, dpt_loss_sums *sums, int *predicted);

#endif
