/* Fuzzes the experiment-file parser (dpt_experiment_load, src/experiment.c) with the option
   check `dptrain runs` uses (dpt_train_option_check, src/cli/train_cmd.c: every train option and
   its real value parser): the input is the INI file, loaded as written and with --quick. A file
   that loads has its grid points' folder labels and train arguments (dpt_experiment_label,
   dpt_experiment_args) made for its first 64 points, into buffers of the sizes `dptrain runs`
   gives them. */
#include <string.h>

#include "args.h"
#include "dptrain/experiment.h"
#include "fuzz.h"

enum { MAX_POINTS = 64 };

static void expand(const dpt_experiment *e) {
    const int points = dpt_experiment_points(e);
    if (points < 1 || e->nseeds < 1 || e->nseeds > DPT_EXP_MAX_SEEDS ||
        (long long)points * e->nseeds > DPT_EXP_MAX_RUNS)
        fuzz_fail("experiment", "loaded with a run count out of bounds");
    for (int p = 0; p < points && p < MAX_POINTS; p++) {
        const char *args[2 * (DPT_EXP_MAX_SETTINGS + DPT_EXP_MAX_GRID)];
        const int n = dpt_experiment_args(e, p, args, (int)(sizeof args / sizeof args[0]));
        if (n < 0 || n > (int)(sizeof args / sizeof args[0]))
            fuzz_fail("experiment", "argument count out of bounds");
        for (int i = 0; i < n; i++) {
            if (!args[i]) fuzz_fail("experiment", "a NULL argument");
            fuzz_read_all(args[i], strlen(args[i]) + 1);
        }
        char label[1024]; /* runs_cmd.c's size */
        dpt_experiment_label(e, p, label, sizeof label);
        if (!memchr(label, 0, sizeof label)) fuzz_fail("experiment", "label not terminated");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static dpt_experiment e; /* large: 150 KB */
    const char *path = fuzz_file(0, data, size);
    for (int quick = 0; quick <= 1; quick++) {
        dpt_err err = {{0}};
        if (dpt_experiment_load(path, dpt_train_option_check, quick, &e, &err) == 0) {
            fuzz_say("experiment", quick ? "loaded (--quick)" : "loaded");
            expand(&e);
        } else {
            fuzz_refused("experiment", &err);
        }
    }
    return 0;
}
