/* Parsing of option values for the subcommands: one clear line on a bad value. */
#ifndef DPTRAIN_CLI_ARGS_H
#define DPTRAIN_CLI_ARGS_H

#include <stdint.h>

#include "dptrain/error.h"

int dpt_arg_int(const char *opt, const char *text, int min, int *out, dpt_err *err);
int dpt_arg_u64(const char *opt, const char *text, uint64_t *out, dpt_err *err);
int dpt_arg_double(const char *opt, const char *text, double min, double max, double *out,
                   dpt_err *err);

int dpt_cmd_train(int argc, char **argv);
int dpt_cmd_info(int argc, char **argv);
int dpt_cmd_eval(int argc, char **argv);
int dpt_cmd_runs(int argc, char **argv);
/* Whether `dptrain train --NAME` exists, and whether it takes no value. */
int dpt_train_option_known(const char *name, int *flag);
int dpt_cmd_predict(int argc, char **argv);

#endif
