/* Experiment files: an INI file (read with inih) naming a configuration, the seeds and an
   optional grid over any `dptrain train` settings; the cross product of grid points and seeds
   is the set of runs.

     [experiment]
     name = adam-lr-sweep          ; runs go to <root>/<name>[/<grid point>]/seed-<s>/
     description = seed 000, Figure 1
     seeds = 1-3                   ; as --seeds: 1-8, 1,4,9
     ranks = 2                     ; MPI ranks per run
     plot = --log-x                ; optional: scripts/plot.py options (--log-x, --lin-x, --std)
     [train]                       ; dptrain train options without their dashes
     model = cnn2710
     nesterov = true               ; a flag: true or false
     [grid]                        ; comma-separated values, one run per combination
     lr = 1e-5, 1e-4, 1e-3, 1e-2
     [models]                      ; optional: named specs, usable as model values
     wide = conv(32,3,pad=1) relu maxpool(2)
         linear(classes)           ; indented lines continue a spec
     [quick]                       ; optional: what --quick changes for a smoke run
     seeds = 1-2                   ; seeds, [grid] values or [train] settings
     lr = 1e-3, 1e-2
     epochs = 1
*/
#ifndef DPTRAIN_EXPERIMENT_H
#define DPTRAIN_EXPERIMENT_H

#include <stddef.h>
#include <stdint.h>

#include "dptrain/error.h"

#define DPT_EXP_MAX_SEEDS 1024
#define DPT_EXP_MAX_SETTINGS 48
#define DPT_EXP_MAX_GRID 6
#define DPT_EXP_MAX_VALUES 24
#define DPT_EXP_MAX_MODELS 24
#define DPT_EXP_MAX_RUNS 100000 /* grid points x seeds */

typedef struct dpt_setting_text {
    char key[48];
    char option[52]; /* "--" key */
    char value[DPT_EXP_MAX_VALUES * 32];
    int flag; /* an option without value: given when value is "true" */
} dpt_setting_text;

typedef struct dpt_grid_key {
    char key[48];
    char option[52];
    char values[DPT_EXP_MAX_VALUES][64];
    int nvalues;
} dpt_grid_key;

typedef struct dpt_experiment {
    char path[1024];
    char name[128], description[512];
    uint64_t seeds[DPT_EXP_MAX_SEEDS];
    int nseeds, ranks;
    dpt_setting_text train[DPT_EXP_MAX_SETTINGS];
    int ntrain;
    dpt_grid_key grid[DPT_EXP_MAX_GRID];
    int ngrid;
    dpt_setting_text quick[DPT_EXP_MAX_SETTINGS]; /* [quick] as written (key, value) */
    int nquick;
    struct {
        char name[64]; /* a folder name: letters, digits, '.', '_', '-' */
        char spec[2048];
    } models[DPT_EXP_MAX_MODELS]; /* [models]: a model value naming one runs its spec */
    int nmodels;
} dpt_experiment;

/* Reads and checks an experiment file; errors name the file and line. `check(option, value,
   &flag, err)` tells whether a train option exists, whether it is a flag and whether a value
   (unless NULL) is one it accepts. With `quick`, the file's [quick] settings apply and the name
   ends in "-quick" (they are checked either way). At most DPT_EXP_MAX_RUNS runs. */
int dpt_experiment_load(const char *path,
                        int (*check)(const char *option, const char *value, int *flag,
                                     dpt_err *err),
                        int quick, dpt_experiment *e, dpt_err *err);

/* Grid points (1 without a grid); runs are grid points x seeds, run r = point r / nseeds with
   seed r % nseeds. */
int dpt_experiment_points(const dpt_experiment *e);
/* The folder name of grid point p, e.g. "lr=0.001" or "lr=0.01,wd=0.0005" ("" without a
   grid). */
void dpt_experiment_label(const dpt_experiment *e, int p, char *buf, size_t size);
/* The `dptrain train` arguments of grid point p (without seeds or --out), one per entry of
   args (pointing into e; a model named in [models] becomes its spec); returns their count. */
int dpt_experiment_args(const dpt_experiment *e, int p, const char **args, int max);

#endif
