#include "dptrain/loss.h"

#include <math.h>

int dpt_argmax(const float *z, int classes) {
    int best = 0;
    for (int c = 1; c < classes; c++)
        if (z[c] > z[best]) best = c;
    return best;
}

void dpt_softmax_xent(const float *logits, const int *labels, int n, int classes,
                      const float *weights, float *dlogits, dpt_loss_sums *sums) {
    for (int s = 0; s < n; s++) {
        const float *z = logits + (long)s * classes;
        const int label = labels[s], best = dpt_argmax(z, classes);
        const double w = weights ? weights[label] : 1.0;
        double sum = 0;
        int above = 0; /* logits larger than the label's */
        for (int c = 0; c < classes; c++) {
            sum += exp((double)z[c] - z[best]);
            above += z[c] > z[label];
        }
        double log_sum = log(sum) + z[best];
        sums->loss += w * (log_sum - z[label]);
        sums->correct += best == label;
        sums->top5 += above < 5;
        if (dlogits) {
            float *d = dlogits + (long)s * classes;
            for (int c = 0; c < classes; c++) d[c] = (float)(w * exp((double)z[c] - log_sum));
            d[label] -= (float)w;
        }
    }
}
