/* Softmax cross-entropy over logits[n][classes]. */
#ifndef DPTRAIN_LOSS_H
#define DPTRAIN_LOSS_H

/* Returns the loss summed over the n samples (log-sum-exp, stable for any logits) and adds the
   number of samples whose largest logit is their label to *correct. When dlogits is not NULL it
   receives the gradient of the summed loss: softmax(logits) - onehot(label). */
double dpt_softmax_xent(const float *logits, const int *labels, int n, int classes, float *dlogits,
                        long *correct);

#endif
