/* The training loop: data-parallel over the ranks of a communicator, micro-batches shared out
   over threads, exact gradient reduction, rank 0 evaluating and reporting. */
#ifndef DPTRAIN_TRAIN_H
#define DPTRAIN_TRAIN_H

#include <mpi.h>
#include <stdint.h>

#include "dptrain/data.h"
#include "dptrain/reducer.h"
#include "dptrain/error.h"
#include "dptrain/layer.h"
#include "dptrain/optim.h"

#define DPT_DEFAULT_BUCKET_KB 256

typedef struct dpt_train_config {
    const char *model;         /* preset name or spec text */
    dpt_init init;             /* weight initialization */
    const char *init_text;     /* as given: "default", "normal:0.01", ... */
    const char *class_weights; /* "balanced", "W0,W1,...", or NULL: the plain loss */
    const char *norm_text;     /* --norm as given: "auto", "mnist", "compute" or "M,.../S,..." */
    dpt_data_options data;
    int epochs, batch, micro_batch;
    dpt_optim_kind opt;
    dpt_optim_config optim;
    double lr;
    dpt_sched sched;
    dpt_reduce_mode reduce;
    int bucket_kb; /* overlap: reduce buckets of about this many KiB; 0: after backward */
    uint64_t seed;
    int threads;        /* per rank, at least 1 (see dpt_dist_layout for the default) */
    const char *out;    /* results go to OUT/seed-<seed>/, or nowhere when NULL */
    int json;           /* print the run as one JSON object on one line of standard output */
    const char *tag;    /* prefix of every line this run prints, e.g. "seed 3: ", or "" */
    int ckpt_every;     /* also checkpoint every this many steps (0: at epoch ends only) */
    const char *resume; /* a checkpoint path, "auto" (OUT/seed-<s>/checkpoint.h5 if any), or NULL */
    const char *command_line;
} dpt_train_config;

/* Defaults of every setting; the CLI overrides them. */
void dpt_train_config_defaults(dpt_train_config *cfg);

/* "name value|name value|..." of every setting that decides the result (dptrain/settings.h),
   exactly, for the ranks to compare; spec is the model's canonical spec. Returns snprintf's
   length. */
size_t dpt_settings_text(const dpt_train_config *c, const char *spec, char *buf, size_t size);

/* What one epoch measured. Train loss and accuracy are the means over the epoch's predictions
   (samples, or pixels in segmentation);
   seconds is the wall time of the training steps alone (evaluation excluded). */
typedef struct dpt_epoch_record {
    int epoch; /* 1-based */
    double train_loss, train_acc, val_loss, val_acc, test_loss, test_acc, lr, seconds,
        samples_per_s;
    double train_top5, val_top5, test_top5;    /* label among the five largest logits */
    double val_f1, val_iou, test_f1, test_iou; /* means over the classes (dpt_class_scores) */
    double reduce_wait_seconds; /* of `seconds`, spent finishing reductions after backward */
} dpt_epoch_record;

/* Trains as configured; collective over comm. Rank 0 prints the progress, one line per epoch and
   (with cfg->json) the JSON summary, and writes the results and checkpoints. Returns 0 when
   done, 1 when stopped by a signal (signals.h) after a checkpoint, -1 on failure, with err
   naming the problem on the one rank that reports it and empty on the others. */
int dpt_train(const dpt_train_config *cfg, MPI_Comm comm, dpt_err *err);

#endif
