/* dptrain train: options to a dpt_train_config (the settings table, dptrain/settings.h, and the
   run options below), then the run. */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>

#include "args.h"
#include "dptrain/dist.h"
#include "dptrain/settings.h"
#include "dptrain/signals.h"
#include "dptrain/train.h"
#include "dptrain/watch.h"

static const char usage_head[] =
    "usage: [mpirun -np N] dptrain train [options]\n"
    "\n"
    "Trains one model, data-parallel over the MPI ranks; the same seed gives the same weights\n"
    "at any rank or thread count.\n"
    "\n";

static const char usage_tail[] =
    "  -h, --help          this help\n"
    "\n"
    "SIGTERM, SIGUSR1 or Ctrl-C: finish the current step on every rank, write the checkpoint and\n"
    "exit with status 75 (resume with --resume auto); a second Ctrl-C stops at once.\n"
    "Under mpirun, send SIGUSR1 to mpirun (it forwards it): its own Ctrl-C kills the ranks.\n"
    "\n"
    "Each epoch prints train loss/accuracy (means over the epoch's batches), validation and test\n"
    "loss/accuracy, the learning rate, the training wall time and samples/s. On a terminal a\n"
    "live progress line shows the current epoch.\n"
    "\n"
    "DPTRAIN_OWN_KERNELS=0: every convolution by im2col + sgemm and every Linear by sgemm. On\n"
    "CPUs with AVX-512, small stride-1 convolutions and Linear layers otherwise run dptrain's own\n"
    "kernels, whose last bits differ: set it on every rank to match a run on a CPU without\n"
    "AVX-512.\n";

static const char *const sections[DPT_NSECTIONS] = {"Model and data", "Training", "Running"};

#define MAX_SEEDS 4096

/* What the command line asks for beyond one run's configuration. */
typedef struct request {
    dpt_train_config cfg;
    const char *seeds_text; /* --seeds, parsed into seeds[0..nseeds) */
    uint64_t seeds[MAX_SEEDS];
    int nseeds; /* 0: just cfg.seed */
    int ranks_per_seed;
    int stall_timeout; /* seconds; 0: never */
} request;

static void request_defaults(request *r) {
    dpt_train_config_defaults(&r->cfg);
    r->seeds_text = NULL;
    r->nseeds = 0;
    r->ranks_per_seed = 1;
    r->stall_timeout = DPT_DEFAULT_STALL_TIMEOUT;
    r->cfg.threads = 0; /* unless --threads: the layout's default */
}

/* The options that do not change the result (the settings of dptrain/settings.h do): fields
   of the request, in the same form as the settings'. */
typedef struct run_option {
    const char *option;
    dpt_section section;
    const char *arg, *help, *shown;
    dpt_field field;
} run_option;

#define FIELD(type, member, lo, hi)                                                                \
    { type, offsetof(request, member), lo, hi }

static const run_option run_options[] = {
    {"data", DPT_MODEL_AND_DATA, "PATH",
     "the dataset: a folder of the four MNIST IDX files (raw or .gz), a\n"
     "folder with Train/<class>/*.png and Test/<class>/*.png, or an HDF5\n"
     "file (dptrain data --help). Input shape and classes come from it",
     NULL, FIELD(DPT_TEXT, cfg.data.path, 0, 0)},
    {"seeds", DPT_RUNNING, "LIST",
     "train one model per seed (e.g. 1-8 or 1,4,9), in groups of\n"
     "--ranks-per-seed ranks; a group's results equal a separate run",
     NULL, FIELD(DPT_TEXT, seeds_text, 0, 0)},
    {"ranks-per-seed", DPT_RUNNING, "R",
     "ranks that train each seed of --seeds (must divide the rank count)", NULL,
     FIELD(DPT_INT, ranks_per_seed, 1, 0)},
    {"bucket-kb", DPT_RUNNING, "K",
     "gradients are summed in buckets of about K KiB (8 bytes a parameter),\n"
     "each as soon as backward has passed its layers; 0: one sum after\n"
     "backward. The result is the same bits either way (at most 1048576)",
     NULL, FIELD(DPT_INT, cfg.bucket_kb, 0, 1048576)},
    {"threads", DPT_RUNNING, "T",
     "threads per rank (micro-batches shared out among them; at most 256)",
     "the node's cores (or this rank's bound cores) divided by its ranks",
     FIELD(DPT_INT, cfg.threads, 1, DPT_MAX_THREADS)},
    {"out", DPT_RUNNING, "DIR",
     "write DIR/seed-<S>/: checkpoint.h5 (every epoch), best.h5 (best\n"
     "validation accuracy) and result.json",
     "nothing written", FIELD(DPT_TEXT, cfg.out, 0, 0)},
    {"ckpt-every", DPT_RUNNING, "N", "also checkpoint every N steps", "0: epoch ends",
     FIELD(DPT_INT, cfg.ckpt_every, 0, 0)},
    {"resume", DPT_RUNNING, "PATH|auto",
     "continue from a checkpoint (auto: DIR/seed-<S>/checkpoint.h5 if it\n"
     "exists, else start afresh); --epochs is the run's total. The other\n"
     "settings must match the checkpoint's",
     NULL, FIELD(DPT_TEXT, cfg.resume, 0, 0)},
    {"stall-timeout", DPT_RUNNING, "SECONDS",
     "a rank that has waited this long for the others asks each rank if\n"
     "it is alive; when one does not answer (stopped, hung, unreachable)\n"
     "every waiting rank names it and all ranks stop with status 1. 0: wait\n"
     "forever. Slow but live ranks (rank 0 evaluating) always answer",
     NULL, FIELD(DPT_INT, stall_timeout, 0, 1000000)},
    {"json", DPT_RUNNING, NULL,
     "print each run as one JSON object on one line: the last line of\n"
     "standard output for a single run",
     NULL, FIELD(DPT_FLAG, cfg.json, 0, 0)},
};

enum { NRUN = sizeof run_options / sizeof run_options[0], OPT_FIRST = 256 };

static struct option getopt_entry(const char *name, dpt_value_type type, int val) {
    return (struct option){name, type == DPT_FLAG ? no_argument : required_argument, 0, val};
}

/* getopt's table: the settings, then the run options (option OPT_FIRST + i is entry i). */
static const struct option *getopt_table(void) {
    static struct option table[DPT_SETTINGS_MAX + NRUN + 2];
    if (table[0].name) return table;
    int n = 0;
    for (int i = 0; i < dpt_nsettings; i++, n++)
        table[n] = getopt_entry(dpt_settings[i].option, dpt_settings[i].field.type, OPT_FIRST + n);
    for (int i = 0; i < NRUN; i++, n++)
        table[n] = getopt_entry(run_options[i].option, run_options[i].field.type, OPT_FIRST + n);
    table[n] = (struct option){"help", no_argument, 0, 'h'};
    return table;
}

/* The default --help shows: `shown`, or the value of the default request. */
static const char *shown_default(const char *shown, dpt_value_type type, dpt_value v, char *buf,
                                 size_t size) {
    if (shown || type == DPT_FLAG) return shown;
    dpt_value_format(type, v, 6, buf, size);
    return buf;
}

static void print_usage(void) {
    static request defaults;
    request_defaults(&defaults);
    char buf[64];
    fputs(usage_head, stdout);
    for (int g = 0; g < DPT_NSECTIONS; g++) {
        printf("%s:\n", sections[g]);
        for (int i = 0; i < dpt_nsettings; i++) {
            const dpt_setting *s = &dpt_settings[i];
            if (s->section != (dpt_section)g) continue;
            const dpt_value v = dpt_setting_get(s, &defaults.cfg, NULL);
            dpt_help_option(stdout, s->option, s->arg, s->help,
                            shown_default(s->shown, s->field.type, v, buf, sizeof buf));
        }
        for (int i = 0; i < NRUN; i++) {
            const run_option *o = &run_options[i];
            if (o->section != (dpt_section)g) continue;
            const dpt_value v = dpt_field_get(&o->field, &defaults);
            dpt_help_option(stdout, o->option, o->arg, o->help,
                            shown_default(o->shown, o->field.type, v, buf, sizeof buf));
        }
    }
    fputs(usage_tail, stdout);
}

static int parse_option(int c, const char *v, request *r, dpt_err *err) {
    const int i = c - OPT_FIRST;
    if (i >= 0 && i < dpt_nsettings) return dpt_setting_set(&dpt_settings[i], &r->cfg, v, err);
    if (i >= dpt_nsettings && i < dpt_nsettings + NRUN) {
        const run_option *o = &run_options[i - dpt_nsettings];
        return dpt_field_set(&o->field, r, o->option, v, err);
    }
    return dpt_fail(err, "unknown option; see dptrain train --help");
}

int dpt_train_option_check(const char *name, const char *value, int *flag, dpt_err *err) {
    for (const struct option *o = getopt_table(); o->name; o++)
        if (strcmp(o->name, name) == 0 && o->val != 'h') {
            *flag = o->has_arg == no_argument;
            if (!value || *flag) return 0;
            static request scratch; /* large: the seed list */
            request_defaults(&scratch);
            return parse_option(o->val, value, &scratch, err);
        }
    return dpt_fail(err, "'%s' is not a dptrain train option (see dptrain train --help)", name);
}

static void join_command_line(int argc, char **argv, char *buf, size_t size) {
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < argc && len + 2 < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? " " : "dptrain ", argv[i]);
}

/* Parses the command line; returns 0 to run, 1 after --help, or 2 on a usage error (printed by
   rank 0). */
static int parse_command_line(int argc, char **argv, int rank, request *r) {
    dpt_err err = {{0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", getopt_table(), NULL)) != -1) {
        if (c == 'h') {
            if (rank == 0) print_usage();
            return 1;
        }
        if (c == '?') {
            if (rank == 0)
                fprintf(stderr,
                        "dptrain train: unknown option or missing value '%s'; see dptrain train "
                        "--help\n",
                        argv[optind - 1]);
            return 2;
        }
        if (parse_option(c, optarg, r, &err)) {
            if (rank == 0) fprintf(stderr, "dptrain train: %s\n", err.msg);
            return 2;
        }
    }
    if (optind < argc) {
        if (rank == 0)
            fprintf(stderr, "dptrain train: unexpected argument '%s'; see dptrain train --help\n",
                    argv[optind]);
        return 2;
    }
    if (r->seeds_text &&
        dpt_arg_seeds("--seeds", r->seeds_text, r->seeds, MAX_SEEDS, &r->nseeds, &err)) {
        if (rank == 0) fprintf(stderr, "dptrain train: %s\n", err.msg);
        return 2;
    }
    return 0;
}

int dpt_cmd_train(int argc, char **argv) {
    static request r; /* large: the seed list */
    request_defaults(&r);
    char command_line[4096];
    join_command_line(argc, argv, command_line, sizeof command_line);
    r.cfg.command_line = command_line;
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    int parsed = parse_command_line(argc, argv, rank, &r);
    if (parsed) return parsed == 1 ? 0 : 2;
    if (r.cfg.optim.eps == 0) r.cfg.optim.eps = dpt_optim_default_eps(r.cfg.opt);

    dpt_layout layout;
    dpt_dist_layout(MPI_COMM_WORLD, &layout);
    if (r.cfg.threads == 0) r.cfg.threads = layout.default_threads;
    if (rank == 0 && r.cfg.threads > layout.allowed_cores &&
        layout.allowed_cores < layout.online_cores)
        fprintf(stderr,
                "dptrain train: rank %d: %d threads, but this process may run on %d core%s "
                "only (its affinity): they will share %s; under mpirun pass --bind-to none, or "
                "--map-by ppr:%d:node:pe=%d\n",
                rank, r.cfg.threads, layout.allowed_cores, layout.allowed_cores > 1 ? "s" : "",
                layout.allowed_cores > 1 ? "them" : "it", layout.ranks_on_node, r.cfg.threads);
    else if (rank == 0 && r.cfg.threads > layout.allowed_cores)
        fprintf(stderr, "dptrain train: %d threads per rank on %d cores: they will share them\n",
                r.cfg.threads, layout.allowed_cores);

    dpt_err err = {{0}};
    if (dpt_watch_start(MPI_COMM_WORLD, r.stall_timeout, &err)) {
        fprintf(stderr, "dptrain train: %s\n", err.msg);
        return 1;
    }
    MPI_Comm group = MPI_COMM_WORLD;
    int group_index = 0, groups = 1;
    if (r.nseeds &&
        dpt_dist_groups(MPI_COMM_WORLD, r.ranks_per_seed, &group, &group_index, &groups, &err)) {
        if (rank == 0) fprintf(stderr, "dptrain train: %s\n", err.msg);
        return 2;
    }
    if (rank == 0)
        printf("dptrain %s: %d rank%s on %d node%s, %d thread%s per rank%s\n", DPTRAIN_VERSION,
               layout.ranks, layout.ranks > 1 ? "s" : "", layout.nodes, layout.nodes > 1 ? "s" : "",
               r.cfg.threads, r.cfg.threads > 1 ? "s" : "",
               r.nseeds ? "; seeds in groups of --ranks-per-seed ranks" : "");
    /* 0 done, 1 stopped by a signal after a checkpoint, 2 failed */
    int status = 0;
    if (!r.nseeds) {
        int rc = dpt_train(&r.cfg, MPI_COMM_WORLD, &err);
        status = rc < 0 ? 2 : rc;
        if (rc < 0 && err.msg[0]) fprintf(stderr, "dptrain train: %s\n", err.msg);
    } else {
        char tag[64];
        r.cfg.tag = tag;
        for (int i = group_index; i < r.nseeds && status != 1; i += groups) {
            r.cfg.seed = r.seeds[i];
            snprintf(tag, sizeof tag, "seed %llu: ", (unsigned long long)r.seeds[i]);
            int rc = dpt_train(&r.cfg, group, &err);
            if (rc < 0) {
                status = 2;
                if (err.msg[0]) fprintf(stderr, "dptrain train: %s\n", err.msg);
            } else if (rc == 1) {
                status = 1;
            }
        }
        MPI_Comm_free(&group);
    }
    int worst = status;
    dpt_watch_allreduce(&worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, "the other seed groups");
    dpt_watch_stop();
    return worst == 2 ? 1 : worst == 1 ? DPT_EXIT_STOPPED : 0;
}
