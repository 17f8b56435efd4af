/* The preset models: names a reader of the reports recognizes, with their spec texts. */
#ifndef DPTRAIN_SRC_PRESETS_H
#define DPTRAIN_SRC_PRESETS_H

#include <stddef.h>

typedef struct dpt_preset {
    const char *name, *spec;
} dpt_preset;

extern const dpt_preset dpt_presets[];
extern const size_t dpt_npresets;

#endif
