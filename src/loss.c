#include "dptrain/loss.h"

#include <math.h>

int dpt_argmax(const float *z, int classes) {
    int best = 0;
    for (int c = 1; c < classes; c++)
        if (z[c] > z[best]) best = c;
    return best;
}

/* The largest of the classes' logits at one position, z[c * stride]. */
static int argmax_strided(const float *z, int classes, long stride) {
    int best = 0;
    for (int c = 1; c < classes; c++)
        if (z[c * stride] > z[best * stride]) best = c;
    return best;
}

void dpt_softmax_xent_dense(const float *logits, const int *labels, int n, int classes,
                            int positions, const float *weights, float *dlogits,
                            dpt_loss_sums *sums) {
    const long P = positions;
    for (long s = 0; s < n; s++)
        for (long p = 0; p < P; p++) {
            const float *z = logits + s * classes * P + p;
            const int label = labels[s * P + p], best = argmax_strided(z, classes, P);
            const double w = weights ? weights[label] : 1.0;
            double sum = 0;
            int above = 0; /* logits larger than the label's */
            for (int c = 0; c < classes; c++) {
                sum += exp((double)z[c * P] - z[best * P]);
                above += z[c * P] > z[label * P];
            }
            double log_sum = log(sum) + z[best * P];
            sums->loss += w * (log_sum - z[label * P]);
            sums->correct += best == label;
            sums->top5 += above < 5;
            if (sums->confusion) sums->confusion[(long)label * classes + best]++;
            if (dlogits) {
                float *d = dlogits + s * classes * P + p;
                for (int c = 0; c < classes; c++)
                    d[c * P] = (float)(w * exp((double)z[c * P] - log_sum));
                d[label * P] -= (float)w;
            }
        }
}

void dpt_softmax_xent(const float *logits, const int *labels, int n, int classes,
                      const float *weights, float *dlogits, dpt_loss_sums *sums) {
    dpt_softmax_xent_dense(logits, labels, n, classes, 1, weights, dlogits, sums);
}

void dpt_class_scores(const long *confusion, int classes, double *f1, double *iou, double *mean_f1,
                      double *mean_iou) {
    double f1_sum = 0, iou_sum = 0;
    int scored = 0;
    for (int k = 0; k < classes; k++) {
        long tp = confusion[(long)k * classes + k], fp = 0, fn = 0;
        for (int j = 0; j < classes; j++) {
            if (j == k) continue;
            fn += confusion[(long)k * classes + j];
            fp += confusion[(long)j * classes + k];
        }
        const double class_f1 = tp + fp + fn ? 2.0 * tp / (2.0 * tp + fp + fn) : NAN,
                     class_iou = tp + fp + fn ? (double)tp / (double)(tp + fp + fn) : NAN;
        if (f1) f1[k] = class_f1;
        if (iou) iou[k] = class_iou;
        if (tp + fp + fn == 0) continue;
        f1_sum += class_f1;
        iou_sum += class_iou;
        scored++;
    }
    *mean_f1 = scored ? f1_sum / scored : NAN;
    *mean_iou = scored ? iou_sum / scored : NAN;
}
