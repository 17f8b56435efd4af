/* The settings that decide a result, listed once. The table below is what `dptrain train`
   parses and shows in --help, what the checkpoint's /config holds (and a resume compares), what
   the JSON summary's "config" object holds and what every rank checks it shares with the
   others. Also the parsers of option values, which give one line naming the option on a bad
   value. */
#ifndef DPTRAIN_SETTINGS_H
#define DPTRAIN_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "dptrain/error.h"
#include "dptrain/train.h"

/* How a value is held in its struct. */
typedef enum dpt_value_type {
    DPT_TEXT, /* const char *, or the setting's own functions */
    DPT_FLAG, /* int 0 or 1; an option without value */
    DPT_INT,  /* whole numbers: int, */
    DPT_U32,  /* uint32_t, */
    DPT_U64,  /* uint64_t */
    DPT_REAL  /* double */
} dpt_value_type;

/* An option's value inside the struct it sets (dpt_train_config, or the CLI's own). */
typedef struct dpt_field {
    dpt_value_type type;
    size_t offset;
    double min, max; /* of numbers; an INT or U32 with max 0 is at most INT_MAX */
} dpt_field;

/* A value read out: text for DPT_TEXT; whole (and real) for FLAG, INT, U32 and U64; real for
   every number, as /config stores it. */
typedef struct dpt_value {
    const char *text;
    uint64_t whole;
    double real;
} dpt_value;

/* The sections of `dptrain train --help`. */
typedef enum dpt_section {
    DPT_MODEL_AND_DATA,
    DPT_TRAINING,
    DPT_RUNNING,
    DPT_NSECTIONS
} dpt_section;

typedef struct dpt_setting {
    const char *name;    /* in /config, the JSON config and the rank check, e.g. "micro_batch" */
    const char *option;  /* dptrain train --OPTION, e.g. "micro-batch" */
    dpt_section section; /* of --help */
    const char *arg;     /* the value in --help, e.g. "N"; NULL for a flag */
    const char *help;    /* --help text; each '\n' starts a continuation line */
    const char *shown;   /* the default --help shows; NULL: the default configuration's value */
    dpt_field field;     /* numbers and flags: where the value lives in dpt_train_config */
    /* DPT_TEXT: the value as text (spec: the model's canonical spec, or NULL for what was
       given), and the parser of an option's value. */
    const char *(*text)(const dpt_train_config *c, const char *spec);
    int (*parse)(dpt_train_config *c, const char *text, dpt_err *err);
    int run_total; /* --epochs: a resume may raise it, so it is not compared; an integer in
                      /config */
} dpt_setting;

#define DPT_SETTINGS_MAX 64
/* Bounds checked before any work; memory is checked against the machine's once the model is
   built. */
#define DPT_MAX_EPOCHS 1000000
#define DPT_MAX_BATCH 1048576
#define DPT_MAX_THREADS 256

extern const dpt_setting dpt_settings[];
extern const int dpt_nsettings;

dpt_value dpt_field_get(const dpt_field *f, const void *base);
/* Sets the field from an option's text ("--OPTION TEXT"; ignored for flags). */
int dpt_field_set(const dpt_field *f, void *base, const char *option, const char *text,
                  dpt_err *err);
/* A value as text: whole numbers in full, reals in `digits` significant digits. */
void dpt_value_format(dpt_value_type type, dpt_value v, int digits, char *buf, size_t size);

dpt_value dpt_setting_get(const dpt_setting *s, const dpt_train_config *c, const char *spec);
int dpt_setting_set(const dpt_setting *s, dpt_train_config *c, const char *text, dpt_err *err);
/* dpt_settings_text, the settings as text for the ranks to compare, is declared in train.h. */

/* Option values, e.g. dpt_arg_int("--batch", "0", 1, ...) fails with "--batch 0: expected a
   whole number >= 1". */
int dpt_arg_int(const char *opt, const char *text, int min, int *out, dpt_err *err);
/* The same within [min, max]: "--threads 0: expected a whole number from 1 to 256". */
int dpt_arg_int_in(const char *opt, const char *text, int min, int max, int *out, dpt_err *err);
int dpt_arg_u64(const char *opt, const char *text, uint64_t *out, dpt_err *err);
int dpt_arg_double(const char *opt, const char *text, double min, double max, double *out,
                   dpt_err *err);
/* A seed list, "1-8", "3" or "1, 4, 9-12" (ranges and seeds, comma-separated), into
   seeds[0..*n); fails with "OPT TEXT: ..." when it is malformed or holds more than max. */
int dpt_arg_seeds(const char *opt, const char *text, uint64_t *seeds, int max, int *n,
                  dpt_err *err);

#endif
