/* Softmax cross-entropy over logits[n][classes], optionally class-weighted. */
#ifndef DPTRAIN_LOSS_H
#define DPTRAIN_LOSS_H

/* What a batch of samples adds up to. */
typedef struct dpt_loss_sums {
    double loss;  /* summed (weighted) cross-entropy */
    long correct; /* samples whose largest logit is their label */
    long top5;    /* samples whose label is among the five largest logits */
} dpt_loss_sums;

/* Adds the n samples' loss (log-sum-exp, stable for any logits; sample i weighted by
   weights[labels[i]] when weights is not NULL) and counts to *sums. When dlogits is not NULL it
   receives the gradient of the summed loss: w (softmax(logits) - onehot(label)). */
void dpt_softmax_xent(const float *logits, const int *labels, int n, int classes,
                      const float *weights, float *dlogits, dpt_loss_sums *sums);

/* The index of the largest of z[0..classes). */
int dpt_argmax(const float *z, int classes);

#endif
