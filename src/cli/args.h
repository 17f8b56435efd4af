/* What the subcommands share: parsing of option values (dptrain/settings.h: one clear line on a
   bad value) and the layout of --help. */
#ifndef DPTRAIN_CLI_ARGS_H
#define DPTRAIN_CLI_ARGS_H

#include <stdio.h>

#include "dptrain/settings.h"

/* One option in --help: "  --OPTION ARG", its help text (each '\n' starts a continuation line)
   and, unless `shown` is NULL or empty, its default in brackets at the right. */
void dpt_help_option(FILE *f, const char *option, const char *arg, const char *help,
                     const char *shown);

int dpt_cmd_train(int argc, char **argv);
int dpt_cmd_info(int argc, char **argv);
int dpt_cmd_eval(int argc, char **argv);
int dpt_cmd_runs(int argc, char **argv);
/* 0 if `dptrain train --NAME` exists (*flag: whether it takes no value) and, unless `value` is
   NULL, `value` is one it accepts; else -1 with err saying why. */
int dpt_train_option_check(const char *name, const char *value, int *flag, dpt_err *err);
int dpt_cmd_predict(int argc, char **argv);
int dpt_cmd_data(int argc, char **argv);

#endif
