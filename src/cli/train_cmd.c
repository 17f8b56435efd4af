/* dptrain train: options to a dpt_train_config, then the run. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>

#include "args.h"
#include "dptrain/dist.h"
#include "dptrain/signals.h"
#include "dptrain/train.h"

static const char usage[] =
    "usage: [mpirun -np N] dptrain train [options]\n"
    "\n"
    "Trains one model, data-parallel over the MPI ranks; the same seed gives the same weights\n"
    "at any rank or thread count.\n"
    "\n"
    "Model and data:\n"
    "  --model NAME|SPEC   preset (mlp300, cnn2710, cnn8-16-32, cnn50-100) or layer spec such\n"
    "                      as 'conv(16,3,pad=1) relu maxpool(2) flatten linear(10)'\n"
    "                      (see `dptrain info --help`)                    [cnn2710]\n"
    "  --init SCHEME       weight initialization: default (PyTorch's), xavier-uniform,\n"
    "                      xavier-normal, kaiming-uniform, kaiming-normal or normal:STD; the\n"
    "                      schemes but default start biases at 0; BatchNorm starts at 1 and 0\n"
    "                                                                       [default]\n"
    "  --data DIR          folder with the four MNIST-format IDX files, raw or .gz [data/mnist]\n"
    "  --val N             validation samples held out of the 60,000 training images [5000]\n"
    "  --split-seed S      seed of the train/validation split               [0]\n"
    "  --normalize HOW     mnist (mean 0.1307, std 0.3081) or computed (from the training\n"
    "                      split)                                           [mnist]\n"
    "Training:\n"
    "  --epochs N          epochs                                           [5]\n"
    "  --batch B           samples per optimizer step, whatever the rank count [64]\n"
    "  --micro-batch M     samples per forward/backward pass; the unit dealt to ranks and\n"
    "                      threads. Results depend on M, never on ranks or threads [32]\n"
    "  --opt NAME          sgd, adam or adagrad                             [sgd]\n"
    "  --lr X              learning rate                                    [0.01]\n"
    "  --momentum X        SGD momentum                                     [0]\n"
    "  --nesterov          Nesterov momentum (SGD with --momentum > 0)\n"
    "  --wd X              weight decay, added to the gradient as X*param   [0]\n"
    "  --beta1 X, --beta2 X  Adam's moment decay rates                      [0.9, 0.999]\n"
    "  --eps X             Adam/Adagrad denominator term       [1e-8 Adam, 1e-10 Adagrad]\n"
    "  --sched S           learning-rate schedule per epoch: const, exp:GAMMA (lr*GAMMA^epoch),\n"
    "                      step:EPOCHS:GAMMA, cosine, plateau:FACTOR:PATIENCE (rank 0 cuts\n"
    "                      lr by FACTOR when validation loss stalls)        [const]\n"
    "  --class-weights W   weighted cross-entropy: balanced (N/(K n_c) from the training\n"
    "                      split's class counts) or W0,W1,... (one per class); a batch's loss\n"
    "                      is divided by the summed weights of its labels, as in PyTorch\n"
    "                                                                       [none]\n"
    "  --seed S            seed of initialization, sample order and dropout masks [1]\n"
    "Running:\n"
    "  --seeds LIST        train one model per seed (e.g. 1-8 or 1,4,9), in groups of\n"
    "                      --ranks-per-seed ranks; a group's results equal a separate run\n"
    "  --ranks-per-seed R  ranks that train each seed of --seeds (must divide the rank count) [1]\n"
    "  --reduce MODE       exact (fixed-point sums: the same bits at any rank count) or float\n"
    "                      (a plain float32 allreduce, for comparison)     [exact]\n"
    "  --bucket-kb K       gradients are summed in buckets of about K KiB (8 bytes a parameter),\n"
    "                      each as soon as backward has passed its layers; 0: one sum after\n"
    "                      backward. The result is the same bits either way  [256]\n"
    "  --threads T         threads per rank (micro-batches shared out among them)\n"
    "                      [the node's cores (or this rank's bound cores) divided by its ranks]\n"
    "  --out DIR           write DIR/seed-<S>/: checkpoint.h5 (every epoch), best.h5 (best\n"
    "                      validation accuracy) and result.json           [nothing written]\n"
    "  --ckpt-every N      also checkpoint every N steps                    [0: epoch ends]\n"
    "  --resume PATH|auto  continue from a checkpoint (auto: DIR/seed-<S>/checkpoint.h5 if it\n"
    "                      exists, else start afresh); --epochs is the run's total. The other\n"
    "                      settings must match the checkpoint's\n"
    "  --json              print each run as one JSON object on one line: the last line of\n"
    "                      standard output for a single run\n"
    "  -h, --help          this help\n"
    "\n"
    "SIGTERM, SIGUSR1 or Ctrl-C: finish the current step on every rank, write the checkpoint and\n"
    "exit with status 75 (resume with --resume auto); a second Ctrl-C stops at once.\n"
    "Under mpirun, send SIGUSR1 to mpirun (it forwards it): its own Ctrl-C kills the ranks.\n"
    "\n"
    "Each epoch prints train loss/accuracy (means over the epoch's batches), validation and test\n"
    "loss/accuracy, the learning rate, the training wall time and samples/s. On a terminal a\n"
    "live progress line shows the current epoch.\n";

enum {
    OPT_MODEL = 256,
    OPT_INIT,
    OPT_CLASS_WEIGHTS,
    OPT_DATA,
    OPT_VAL,
    OPT_SPLIT_SEED,
    OPT_NORMALIZE,
    OPT_EPOCHS,
    OPT_BATCH,
    OPT_MICRO,
    OPT_OPT,
    OPT_LR,
    OPT_MOMENTUM,
    OPT_NESTEROV,
    OPT_WD,
    OPT_BETA1,
    OPT_BETA2,
    OPT_EPS,
    OPT_SCHED,
    OPT_SEED,
    OPT_SEEDS,
    OPT_RANKS_PER_SEED,
    OPT_REDUCE,
    OPT_BUCKET_KB,
    OPT_CKPT_EVERY,
    OPT_RESUME,
    OPT_THREADS,
    OPT_OUT,
    OPT_JSON
};

static const struct option options[] = {
    {"model", required_argument, 0, OPT_MODEL},
    {"init", required_argument, 0, OPT_INIT},
    {"class-weights", required_argument, 0, OPT_CLASS_WEIGHTS},
    {"data", required_argument, 0, OPT_DATA},
    {"val", required_argument, 0, OPT_VAL},
    {"split-seed", required_argument, 0, OPT_SPLIT_SEED},
    {"normalize", required_argument, 0, OPT_NORMALIZE},
    {"epochs", required_argument, 0, OPT_EPOCHS},
    {"batch", required_argument, 0, OPT_BATCH},
    {"micro-batch", required_argument, 0, OPT_MICRO},
    {"opt", required_argument, 0, OPT_OPT},
    {"lr", required_argument, 0, OPT_LR},
    {"momentum", required_argument, 0, OPT_MOMENTUM},
    {"nesterov", no_argument, 0, OPT_NESTEROV},
    {"wd", required_argument, 0, OPT_WD},
    {"beta1", required_argument, 0, OPT_BETA1},
    {"beta2", required_argument, 0, OPT_BETA2},
    {"eps", required_argument, 0, OPT_EPS},
    {"sched", required_argument, 0, OPT_SCHED},
    {"seed", required_argument, 0, OPT_SEED},
    {"seeds", required_argument, 0, OPT_SEEDS},
    {"ranks-per-seed", required_argument, 0, OPT_RANKS_PER_SEED},
    {"reduce", required_argument, 0, OPT_REDUCE},
    {"bucket-kb", required_argument, 0, OPT_BUCKET_KB},
    {"ckpt-every", required_argument, 0, OPT_CKPT_EVERY},
    {"resume", required_argument, 0, OPT_RESUME},
    {"threads", required_argument, 0, OPT_THREADS},
    {"out", required_argument, 0, OPT_OUT},
    {"json", no_argument, 0, OPT_JSON},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

int dpt_train_option_known(const char *name, int *flag) {
    for (const struct option *o = options; o->name; o++)
        if (strcmp(o->name, name) == 0 && strcmp(name, "help") != 0) {
            *flag = o->has_arg == no_argument;
            return 1;
        }
    return 0;
}

#define MAX_SEEDS 4096

/* What the command line asks for beyond one run's configuration. */
typedef struct request {
    dpt_train_config cfg;
    uint64_t seeds[MAX_SEEDS];
    int nseeds; /* 0: just cfg.seed */
    int ranks_per_seed;
} request;

/* "1-8", "3" or "1,4,9" (ranges and single seeds, comma-separated). */
static int parse_seeds(const char *text, request *r, dpt_err *err) {
    const char *p = text;
    r->nseeds = 0;
    while (*p) {
        char *end;
        unsigned long long lo = strtoull(p, &end, 10), hi = lo;
        if (end == p || *p == '-') goto bad;
        p = end;
        if (*p == '-') {
            hi = strtoull(p + 1, &end, 10);
            if (end == p + 1 || hi < lo) goto bad;
            p = end;
        }
        for (unsigned long long s = lo; s <= hi; s++) {
            if (r->nseeds == MAX_SEEDS)
                return dpt_fail(err, "--seeds %s: more than %d seeds", text, MAX_SEEDS);
            r->seeds[r->nseeds++] = s;
        }
        if (*p == ',' && p[1])
            p++;
        else if (*p)
            goto bad;
    }
    if (r->nseeds) return 0;
bad:
    return dpt_fail(err, "--seeds %s: expected seeds such as 1-8 or 1,4,9", text);
}

static int parse_option(int c, const char *v, request *r, dpt_err *err) {
    dpt_train_config *cfg = &r->cfg;
    int i;
    switch (c) {
    case OPT_MODEL:
        cfg->model = v;
        return 0;
    case OPT_INIT:
        cfg->init_text = v;
        return dpt_init_parse(v, &cfg->init, err);
    case OPT_CLASS_WEIGHTS:
        cfg->class_weights = v;
        return 0;
    case OPT_DATA:
        cfg->data.dir = v;
        return 0;
    case OPT_VAL:
        if (dpt_arg_int("--val", v, 0, &i, err)) return -1;
        cfg->data.val = (uint32_t)i;
        return 0;
    case OPT_SPLIT_SEED:
        return dpt_arg_u64("--split-seed", v, &cfg->data.split_seed, err);
    case OPT_NORMALIZE:
        if (strcmp(v, "mnist") != 0 && strcmp(v, "computed") != 0)
            return dpt_fail(err, "--normalize %s: expected mnist or computed", v);
        cfg->data.compute_norm = strcmp(v, "computed") == 0;
        return 0;
    case OPT_EPOCHS:
        return dpt_arg_int("--epochs", v, 1, &cfg->epochs, err);
    case OPT_BATCH:
        return dpt_arg_int("--batch", v, 1, &cfg->batch, err);
    case OPT_MICRO:
        return dpt_arg_int("--micro-batch", v, 1, &cfg->micro_batch, err);
    case OPT_OPT:
        return dpt_optim_kind_parse(v, &cfg->opt, err);
    case OPT_LR:
        return dpt_arg_double("--lr", v, 0, INFINITY, &cfg->lr, err);
    case OPT_MOMENTUM:
        return dpt_arg_double("--momentum", v, 0, 1, &cfg->optim.momentum, err);
    case OPT_NESTEROV:
        cfg->optim.nesterov = 1;
        return 0;
    case OPT_WD:
        return dpt_arg_double("--wd", v, 0, INFINITY, &cfg->optim.weight_decay, err);
    case OPT_BETA1:
        return dpt_arg_double("--beta1", v, 0, 0.999999, &cfg->optim.beta1, err);
    case OPT_BETA2:
        return dpt_arg_double("--beta2", v, 0, 0.999999999, &cfg->optim.beta2, err);
    case OPT_EPS:
        return dpt_arg_double("--eps", v, 1e-30, 1, &cfg->optim.eps, err);
    case OPT_SCHED:
        return dpt_sched_parse(v, &cfg->sched, err);
    case OPT_SEED:
        return dpt_arg_u64("--seed", v, &cfg->seed, err);
    case OPT_SEEDS:
        return parse_seeds(v, r, err);
    case OPT_RANKS_PER_SEED:
        return dpt_arg_int("--ranks-per-seed", v, 1, &r->ranks_per_seed, err);
    case OPT_REDUCE:
        if (strcmp(v, "exact") != 0 && strcmp(v, "float") != 0)
            return dpt_fail(err, "--reduce %s: expected exact or float", v);
        cfg->reduce = strcmp(v, "float") == 0 ? DPT_REDUCE_FLOAT : DPT_REDUCE_EXACT;
        return 0;
    case OPT_BUCKET_KB:
        return dpt_arg_int("--bucket-kb", v, 0, &cfg->bucket_kb, err);
    case OPT_CKPT_EVERY:
        return dpt_arg_int("--ckpt-every", v, 0, &cfg->ckpt_every, err);
    case OPT_RESUME:
        cfg->resume = v;
        return 0;
    case OPT_THREADS:
        return dpt_arg_int("--threads", v, 1, &cfg->threads, err);
    case OPT_OUT:
        cfg->out = v;
        return 0;
    case OPT_JSON:
        cfg->json = 1;
        return 0;
    }
    return dpt_fail(err, "unknown option; see dptrain train --help");
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
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (c == 'h') {
            if (rank == 0) fputs(usage, stdout);
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
    return 0;
}

int dpt_cmd_train(int argc, char **argv) {
    static request r; /* large: the seed list */
    dpt_train_config_defaults(&r.cfg);
    r.ranks_per_seed = 1;
    r.cfg.threads = 0; /* unless --threads: the layout's default */
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

    dpt_err err = {{0}};
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
    int worst;
    MPI_Allreduce(&status, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return worst == 2 ? 1 : worst == 1 ? DPT_EXIT_STOPPED : 0;
}
