#include "dptrain/evaluate.h"

#include "dptrain/loss.h"

double dpt_eval_chunk(const dpt_model *m, const float *params, const dpt_data *data,
                      const dpt_split *split, uint32_t first, int n, dpt_workspace *ws,
                      long *correct, int *predicted) {
    dpt_data_gather(data, split, NULL, first, (size_t)n, ws->act[0], ws->labels);
    dpt_model_forward(m, params, ws, n);
    const float *logits = dpt_model_logits(m, ws);
    for (int s = 0; predicted && s < n; s++) {
        const float *z = logits + (long)s * DPT_CLASSES;
        int best = 0;
        for (int c = 1; c < DPT_CLASSES; c++)
            if (z[c] > z[best]) best = c;
        predicted[s] = best;
    }
    return dpt_softmax_xent(logits, ws->labels, n, DPT_CLASSES, NULL, correct);
}
