#include "dptrain/metrics.h"

#define METRIC(field, units, meaning)                                                              \
    { #field, units, meaning, offsetof(dpt_epoch_record, field) }

const dpt_metric dpt_metrics[] = {
    METRIC(train_loss, "nats",
           "mean (class-weighted) cross-entropy over the epoch's training predictions (samples, "
           "or pixels in segmentation)"),
    METRIC(train_acc, "1", "fraction of the epoch's training predictions that are right"),
    METRIC(train_top5, "1", "fraction of the epoch's training samples with the label in the top 5"),
    METRIC(val_loss, "nats", "mean cross-entropy on the validation split after the epoch"),
    METRIC(val_acc, "1", "validation accuracy after the epoch"),
    METRIC(val_top5, "1", "validation top-5 accuracy after the epoch"),
    METRIC(test_loss, "nats", "mean cross-entropy on the test set after the epoch"),
    METRIC(test_acc, "1", "test accuracy after the epoch"),
    METRIC(test_top5, "1", "test top-5 accuracy after the epoch"),
    METRIC(val_f1, "1",
           "validation F1 (Dice) after the epoch, the mean over the classes labelled or "
           "predicted"),
    METRIC(val_iou, "1", "validation IoU after the epoch, the mean over the classes"),
    METRIC(test_f1, "1", "test F1 (Dice) after the epoch, the mean over the classes"),
    METRIC(test_iou, "1", "test IoU after the epoch, the mean over the classes"),
    METRIC(lr, "1", "learning rate of the epoch"),
    METRIC(seconds, "s", "wall time of the epoch's training steps (evaluation excluded)"),
    METRIC(samples_per_s, "1/s", "training samples per second"),
    METRIC(reduce_wait_seconds, "s",
           "of seconds, spent finishing gradient reductions after backward (rank 0)"),
};

const int dpt_nmetrics = sizeof dpt_metrics / sizeof dpt_metrics[0];
