#include "dptrain/evaluate.h"

void dpt_eval_chunk(const dpt_model *m, const float *params, const float *state,
                    const dpt_data *data, const dpt_split *split, uint32_t first, int n,
                    dpt_workspace *ws, dpt_loss_sums *sums, int *predicted) {
    dpt_data_gather(data, split, NULL, first, (size_t)n, ws->input, ws->labels);
    const dpt_pass eval = {.training = 0, .state = state};
    dpt_model_forward(m, &eval, params, ws, n);
    const float *logits = dpt_model_logits(m, ws);
    for (int s = 0; predicted && s < n; s++)
        predicted[s] = dpt_argmax(logits + (long)s * m->classes, m->classes);
    dpt_softmax_xent_dense(logits, ws->labels, n, m->classes, m->positions, NULL, NULL, sums);
}
