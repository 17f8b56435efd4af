/* Softmax cross-entropy over the classes of each sample (classification) or of each pixel
   (segmentation), optionally class-weighted. */
#ifndef DPTRAIN_LOSS_H
#define DPTRAIN_LOSS_H

/* What a batch adds up to; a prediction is a sample's, or a pixel's in segmentation. */
typedef struct dpt_loss_sums {
    double loss;     /* summed (weighted) cross-entropy */
    long correct;    /* predictions whose largest logit is their label */
    long top5;       /* predictions whose label is among the five largest logits */
    long *confusion; /* when not NULL: classes x classes counts [label][predicted], added to */
} dpt_loss_sums;

/* Adds the loss and counts of n samples to *sums. Each sample has `positions` predictions
   (1 for classification, H*W pixels for segmentation): logits are n x classes x positions
   (channel-major, as a layer's output) and labels n x positions. The loss of a prediction is
   log-sum-exp (stable for any logits) minus the label's logit, weighted by weights[label] when
   weights is not NULL. When dlogits is not NULL (the logits' layout) it receives the gradient
   of the summed loss: w (softmax(logits) - onehot(label)). */
void dpt_softmax_xent_dense(const float *logits, const int *labels, int n, int classes,
                            int positions, const float *weights, float *dlogits,
                            dpt_loss_sums *sums);

/* dpt_softmax_xent_dense with one prediction per sample. */
void dpt_softmax_xent(const float *logits, const int *labels, int n, int classes,
                      const float *weights, float *dlogits, dpt_loss_sums *sums);

/* The index of the largest of z[0..classes). */
int dpt_argmax(const float *z, int classes);

/* Per class of a classes x classes confusion matrix [label][predicted]: F1 (Dice),
   2 TP / (2 TP + FP + FN), and IoU, TP / (TP + FP + FN), into f1[] and iou[] when they are not
   NULL (NaN for a class that is neither labelled nor predicted); returns the means over the classes
   that have a value in *mean_f1 and *mean_iou. */
void dpt_class_scores(const long *confusion, int classes, double *f1, double *iou, double *mean_f1,
                      double *mean_iou);

#endif
