/* dptrain runs: an experiment file's runs, for people and for the scripts that launch them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "dptrain/experiment.h"

static const char usage[] =
    "usage: dptrain runs EXPERIMENT.ini [--root DIR] [--quick] [--count | --points | --ranks |\n"
    "                                    --run R | --point P]\n"
    "\n"
    "Without an option, lists the runs (grid points x seeds): index, grid point, seed, folder.\n"
    "  --root DIR   where experiments' folders go                            [runs]\n"
    "  --quick      the file's [quick] settings: a smoke run, named <name>-quick\n"
    "  --count      the number of runs            --points   the number of grid points\n"
    "  --ranks      MPI ranks per run\n"
    "  --run R      the `dptrain train` arguments of run R, one per line (for job arrays)\n"
    "  --point P    the arguments of grid point P with all its seeds as --seeds, one per line\n"
    "\n"
    "File format (INI):\n"
    "  [experiment]  name, description, seeds (1-8 or 1,4,9), ranks (per run),\n"
    "                plot (scripts/plot.py options: --log-x, --lin-x, --std)\n"
    "  [train]       dptrain train options without dashes, e.g. model = cnn2710; flags: true\n"
    "  [grid]        options with comma-separated values; one run per combination and seed\n"
    "                (at most 100000 runs)\n"
    "  [models]      named specs for model values; indented lines continue a spec\n"
    "  [quick]       what --quick changes: seeds, [grid] values or [train] settings\n"
    "Values are checked as dptrain train checks them when the file is read.\n";

static void print_args(const dpt_experiment *e, int point, const char *root, const char *seeds,
                       int ranks_per_seed) {
    const char *args[2 * (DPT_EXP_MAX_SETTINGS + DPT_EXP_MAX_GRID)];
    int n = dpt_experiment_args(e, point, args, (int)(sizeof args / sizeof args[0]));
    for (int i = 0; i < n; i++) printf("%s\n", args[i]);
    char label[1024]; /* up to 6 keys of 47 and values of 63 characters */
    dpt_experiment_label(e, point, label, sizeof label);
    printf("%s\n%s\n", ranks_per_seed ? "--seeds" : "--seed", seeds);
    if (ranks_per_seed) printf("--ranks-per-seed\n%d\n", ranks_per_seed);
    printf("--out\n%s/%s%s%s\n--resume\nauto\n", root, e->name, *label ? "/" : "", label);
}

int dpt_cmd_runs(int argc, char **argv) {
    static const struct option options[] = {{"root", required_argument, 0, 'r'},
                                            {"count", no_argument, 0, 'c'},
                                            {"points", no_argument, 0, 'p'},
                                            {"ranks", no_argument, 0, 'k'},
                                            {"run", required_argument, 0, 'R'},
                                            {"point", required_argument, 0, 'P'},
                                            {"quick", no_argument, 0, 'q'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    const char *root = "runs";
    int what = 0, index = -1, quick = 0, c;
    dpt_err err;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return 0;
        }
        if (c == '?') {
            fprintf(stderr,
                    "dptrain runs: unknown option or missing value '%s'; see dptrain runs "
                    "--help\n",
                    argv[optind - 1]);
            return 2;
        }
        if (c == 'r')
            root = optarg;
        else if (c == 'q')
            quick = 1;
        else
            what = c;
        if ((c == 'R' || c == 'P') &&
            dpt_arg_int(c == 'R' ? "--run" : "--point", optarg, 0, &index, &err)) {
            fprintf(stderr, "dptrain runs: %s\n", err.msg);
            return 2;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "dptrain runs: expected one experiment file; see dptrain runs --help\n");
        return 2;
    }
    static dpt_experiment e;
    if (dpt_experiment_load(argv[optind], dpt_train_option_check, quick, &e, &err)) {
        fprintf(stderr, "dptrain runs: %s\n", err.msg);
        return 1;
    }
    const int points = dpt_experiment_points(&e), runs = points * e.nseeds;
    char seed[32], label[1024];
    switch (what) {
    case 'c':
        printf("%d\n", runs);
        return 0;
    case 'p':
        printf("%d\n", points);
        return 0;
    case 'k':
        printf("%d\n", e.ranks);
        return 0;
    case 'R':
    case 'P':
        if (index >= (what == 'R' ? runs : points)) {
            fprintf(stderr, "dptrain runs: %s has %d %s; %d is out of range\n", argv[optind],
                    what == 'R' ? runs : points, what == 'R' ? "runs" : "grid points", index);
            return 1;
        }
        if (what == 'R') {
            snprintf(seed, sizeof seed, "%llu", (unsigned long long)e.seeds[index % e.nseeds]);
            print_args(&e, index / e.nseeds, root, seed, 0);
        } else {
            static char seeds[21 * DPT_EXP_MAX_SEEDS]; /* up to 20 digits and a comma each */
            size_t len = 0;
            for (int s = 0; s < e.nseeds; s++)
                len += (size_t)snprintf(seeds + len, sizeof seeds - len, "%s%llu", s ? "," : "",
                                        (unsigned long long)e.seeds[s]);
            print_args(&e, index, root, seeds, e.ranks);
        }
        return 0;
    }
    printf("# %s: %s%s(%d run%s, %d rank%s each)\n", e.name, e.description,
           e.description[0] ? " " : "", runs, runs > 1 ? "s" : "", e.ranks, e.ranks > 1 ? "s" : "");
    for (int r = 0; r < runs; r++) {
        dpt_experiment_label(&e, r / e.nseeds, label, sizeof label);
        printf("%d\t%s\t%llu\t%s/%s%s%s/seed-%llu\n", r, *label ? label : "-",
               (unsigned long long)e.seeds[r % e.nseeds], root, e.name, *label ? "/" : "", label,
               (unsigned long long)e.seeds[r % e.nseeds]);
    }
    return 0;
}
