/* HDF5 checkpoints: everything a run is and has measured, written atomically by rank 0, read
   back for an exact resume, for `dptrain eval`/`predict`, and by scripts/dptrain_h5.py.

   Layout (format 1; `h5dump -H` shows the attributes that document each item):
     /meta      attributes: format_version, program_version, command_line, seed, world_size,
                data_sha256, data (the dataset's absolute path), mean and std (one per input
                channel)
     /config    one attribute per setting that decides the result (compared on resume)
     /model     attributes spec, task ("classify" or "segment"), input_channels/height/width,
                classes, class_names (strings;
                "0", "1", ... when the data names none), parameters, buffers;
                /model/<layer>/<tensor> float32 datasets in PyTorch's names and shapes: the
                parameters (conv1/weight) and the buffers (bn1/running_mean, running_var and
                num_batches_tracked, a scalar stored as float32)
     /optim     attributes kind, step; datasets momentum_buffer | exp_avg, exp_avg_sq | sum
     /sched     attributes lr, best, bad_epochs
     /position  attributes epoch, step (where training continues) and the partial sums of the
                current epoch
     /rng       attributes scheme, seed (all randomness is counter-based on the seed)
     /history   per epoch: epoch and every metric of metrics.h (train/val/test loss, accuracy
                and top-5, lr, seconds, samples_per_s, reduce_wait_seconds); /history/batch:
                loss, acc per step */
#ifndef DPTRAIN_CKPT_H
#define DPTRAIN_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "dptrain/error.h"
#include "dptrain/model.h"
#include "dptrain/optim.h"
#include "dptrain/train.h"

/* 2: every float dataset carries its sha256, checked on every read (1: none) */
#define DPT_CKPT_FORMAT 2

/* Where training stands: the next step to run and what the current epoch has summed so far. */
typedef struct dpt_position {
    int epoch;                  /* 0-based epoch in progress (== epochs done when step is 0) */
    int step;                   /* next step of that epoch */
    double loss;                /* summed training loss of the epoch's finished steps */
    long correct;               /* and correct predictions */
    long top5;                  /* and top-5 hits */
    double seconds;             /* training time spent in the epoch so far */
    double reduce_wait_seconds; /* of which finishing gradient reductions after backward */
} dpt_position;

/* The run as a checkpoint sees it: pointers into the trainer's own state. */
typedef struct dpt_ckpt_view {
    const dpt_train_config *cfg;
    const dpt_model *model;
    const char *data_digest;
    const char *data_path;
    int world_size;
    const float *mean, *std;  /* per input channel */
    char *const *class_names; /* model->classes names, or NULL: "0", "1", ... */
    float *params;
    float *state; /* the model's buffers */
    dpt_optim *optim;
    dpt_sched_state *sched;
    dpt_position *pos;
    dpt_epoch_record *history; /* cfg->epochs records */
    int *epochs_done;
    float *batch_loss, *batch_acc; /* capacity batch_capacity */
    long *batches_done;
    long batch_capacity;
    int steps_per_epoch; /* what a resumed position must agree with */
} dpt_ckpt_view;

/* Writes to a temporary file beside path, syncs it and renames it over path: a complete
   checkpoint exists at every instant. On failure the temporary file is removed and path is left
   as it was. */
int dpt_ckpt_save(const char *path, const dpt_ckpt_view *v, dpt_err *err);

/* Writes only the /model group (spec, shapes, parameters and buffers), atomically: what
   scripts/dptrain_torch.py needs to rebuild the network, e.g. for the PyTorch oracle test. */
int dpt_ckpt_save_model(const char *path, const dpt_model *m, const float *params,
                        const float *state, dpt_err *err);

/* Restores v's state from path after checking that the checkpoint belongs to this run: format,
   model, data and every setting in /config (except epochs, which may grow). */
int dpt_ckpt_resume(const char *path, dpt_ckpt_view *v, dpt_err *err);

/* For eval and predict: a checkpoint's model and weights, and how its data was prepared. */
typedef struct dpt_trained {
    dpt_model model;
    float *params, *state;
    float *mean, *std;  /* standardization, per input channel */
    char **class_names; /* model.classes names */
    char *data_path;    /* the dataset it was trained on, or NULL when not recorded */
    uint32_t val;       /* validation samples of the split */
    uint64_t split_seed;
} dpt_trained;

int dpt_ckpt_load_trained(const char *path, dpt_trained *t, dpt_err *err);
void dpt_trained_free(dpt_trained *t);

/* Writes the task, loss, accuracy, mean F1 and IoU, the class names, the confusion matrix and
   per-class F1 and IoU of one split to a results file (never into the checkpoint), then for
   classification top-5 and the misclassified samples (index, label, prediction and their images,
   n x C x H x W uint8), for segmentation the example samples (index, images, true and predicted
   masks, n x H x W uint8). Loss and accuracy are per prediction (sample or pixel). */
typedef struct dpt_eval_result {
    const char *split;
    dpt_task task;
    double loss, acc, top5;
    double mean_f1, mean_iou;
    int classes;
    char *const *class_names;
    long *confusion;  /* [label][predicted], classes x classes */
    double *f1, *iou; /* per class; NaN for a class neither labelled nor predicted */
    long nmisclassified;
    int *mis_index, *mis_label, *mis_predicted;
    int nexamples;            /* segmentation */
    int *ex_index;            /* positions in images */
    uint8_t *ex_predicted;    /* nexamples x height x width */
    const dpt_images *images; /* of the split, for the samples' pixels and masks */
} dpt_eval_result;

int dpt_ckpt_save_eval(const char *path, const char *checkpoint, const dpt_eval_result *r,
                       dpt_err *err);

#endif
