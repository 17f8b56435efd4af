#include "dptrain/loss.h"

#include <math.h>

double dpt_softmax_xent(const float *logits, const int *labels, int n, int classes, float *dlogits,
                        long *correct) {
    double total = 0;
    for (int s = 0; s < n; s++) {
        const float *z = logits + (long)s * classes;
        int best = 0;
        for (int c = 1; c < classes; c++)
            if (z[c] > z[best]) best = c;
        double sum = 0;
        for (int c = 0; c < classes; c++) sum += exp((double)z[c] - z[best]);
        double log_sum = log(sum) + z[best];
        total += log_sum - z[labels[s]];
        *correct += best == labels[s];
        if (dlogits) {
            float *d = dlogits + (long)s * classes;
            for (int c = 0; c < classes; c++) d[c] = (float)exp((double)z[c] - log_sum);
            d[labels[s]] -= 1.0f;
        }
    }
    return total;
}
