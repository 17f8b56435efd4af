/* dptrain eval: a checkpoint's loss, accuracy and confusion matrix on one split, also written to
   an HDF5 results file beside it (the checkpoint itself is never touched). */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "dptrain/ckpt.h"
#include "dptrain/evaluate.h"

static const char usage[] =
    "usage: dptrain eval CHECKPOINT [--split test|val|train] [--data PATH] [--out FILE]\n"
    "\n"
    "Evaluates a checkpoint's weights on one split in evaluation mode (the checkpoint's own\n"
    "train/validation split and standardization): prints loss, accuracy, top-5 accuracy and\n"
    "the confusion matrix, and writes them with the misclassified samples under /eval in\n"
    "FILE.\n"
    "\n"
    "  --split NAME   test, val or train                                    [test]\n"
    "  --data PATH    the dataset (any format of dptrain train --data); its images\n"
    "                 must have the model's input shape and its classes must be the\n"
    "                 model's                  [the one the checkpoint was trained on]\n"
    "  --out FILE     results file              [eval-<split>.h5 beside the checkpoint]\n"
    "  -h, --help     this help\n";

enum { CHUNK = 256 };

static int evaluate_split(const dpt_trained *tr, const dpt_data *data, const dpt_split *split,
                          dpt_eval_result *r, dpt_err *err) {
    const int K = tr->model.classes;
    dpt_workspace ws;
    if (dpt_workspace_init(&ws, &tr->model, CHUNK, err)) return -1;
    r->classes = K;
    r->confusion = calloc((size_t)K * K, sizeof *r->confusion);
    r->mis_index = malloc(sizeof(int) * (split->n + 1));
    r->mis_label = malloc(sizeof(int) * (split->n + 1));
    r->mis_predicted = malloc(sizeof(int) * (split->n + 1));
    if (!r->confusion || !r->mis_index || !r->mis_label || !r->mis_predicted) {
        dpt_workspace_free(&ws);
        return dpt_fail(err, "out of memory");
    }
    dpt_loss_sums sums = {0};
    int predicted[CHUNK];
    for (uint32_t first = 0; first < split->n; first += CHUNK) {
        int n = split->n - first < CHUNK ? (int)(split->n - first) : CHUNK;
        dpt_eval_chunk(&tr->model, tr->params, tr->state, data, split, first, n, &ws, &sums,
                       predicted);
        for (int s = 0; s < n; s++) {
            int label = ws.labels[s];
            r->confusion[(size_t)label * K + predicted[s]]++;
            if (predicted[s] == label) continue;
            r->mis_index[r->nmisclassified] = (int)split->idx[first + (uint32_t)s];
            r->mis_label[r->nmisclassified] = label;
            r->mis_predicted[r->nmisclassified++] = predicted[s];
        }
    }
    dpt_workspace_free(&ws);
    r->loss = sums.loss / split->n;
    r->acc = (double)sums.correct / split->n;
    r->top5 = (double)sums.top5 / split->n;
    return 0;
}

/* Rows are labelled by class number and name (when the classes have names other than their
   numbers), columns by class number. */
static void print_result(const char *checkpoint, const dpt_eval_result *r, uint32_t n) {
    const int K = r->classes;
    int width = 0;
    for (int c = 0; c < K; c++) {
        char number[16];
        snprintf(number, sizeof number, "%d", c);
        if (strcmp(r->class_names[c], number) == 0) continue;
        int len = (int)strlen(r->class_names[c]);
        if (len > width) width = len > 24 ? 24 : len;
    }
    printf("%s on %s (%u samples): loss %.4f, accuracy %.4f, top-5 %.4f, %ld misclassified\n",
           checkpoint, r->split, n, r->loss, r->acc, r->top5, r->nmisclassified);
    printf("confusion (rows: label, columns: predicted class number)\n%*s", width ? width + 6 : 5,
           "");
    for (int c = 0; c < K; c++) printf("%6d", c);
    printf("\n");
    for (int l = 0; l < K; l++) {
        printf("%4d ", l);
        if (width) printf("%-*.*s ", width, width, r->class_names[l]);
        for (int c = 0; c < K; c++) printf("%6ld", r->confusion[(size_t)l * K + c]);
        printf("\n");
    }
}

/* The data must be what the model was made for: its input shape, and its classes (by name, when
   the data names them; by count otherwise). */
static int check_data_fits(const dpt_trained *tr, const char *path, const dpt_dataset *set,
                           dpt_err *err) {
    const dpt_images *s = &set->train;
    const dpt_shape in = tr->model.input;
    if (dpt_dataset_task(set) == DPT_TASK_SEGMENT)
        return dpt_fail(err,
                        "%s: a segmentation dataset (masks, not labels); the model is a "
                        "classifier",
                        path);
    if ((int)s->channels != in.c || (int)s->height != in.h || (int)s->width != in.w)
        return dpt_fail(err, "%s: images are %ux%ux%u, the model takes %dx%dx%d", path, s->channels,
                        s->height, s->width, in.c, in.h, in.w);
    const int K = tr->model.classes;
    if (set->classes > K)
        return dpt_fail(err, "%s: %d classes, the model knows %d", path, set->classes, K);
    for (int c = 0; set->class_names && c < set->classes; c++)
        if (set->classes != K || strcmp(set->class_names[c], tr->class_names[c]) != 0)
            return dpt_fail(err, "%s: class %d is '%s', the model's is '%s'", path, c,
                            set->class_names[c], c < K ? tr->class_names[c] : "(none)");
    return 0;
}

int dpt_cmd_eval(int argc, char **argv) {
    static const struct option options[] = {{"split", required_argument, 0, 's'},
                                            {"data", required_argument, 0, 'd'},
                                            {"out", required_argument, 0, 'o'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    const char *split_name = "test", *dir = NULL, *out = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 's':
            split_name = optarg;
            break;
        case 'd':
            dir = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fprintf(stderr,
                    "dptrain eval: unknown option or missing value '%s'; see dptrain eval "
                    "--help\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "dptrain eval: expected one checkpoint; see dptrain eval --help\n");
        return 2;
    }
    if (strcmp(split_name, "test") && strcmp(split_name, "val") && strcmp(split_name, "train")) {
        fprintf(stderr, "dptrain eval: --split %s: expected test, val or train\n", split_name);
        return 2;
    }
    const char *checkpoint = argv[optind];
    dpt_trained tr;
    dpt_data data;
    dpt_err err;
    if (dpt_ckpt_load_trained(checkpoint, &tr, &err)) {
        fprintf(stderr, "dptrain eval: %s\n", err.msg);
        return 1;
    }
    if (!dir) dir = tr.data_path && tr.data_path[0] ? tr.data_path : "data/mnist";
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    dpt_data_options opt = {.path = dir,
                            .val = tr.val,
                            .split_seed = tr.split_seed,
                            .norm = {.kind = DPT_NORM_MNIST},
                            .threads = cpus > 0 ? (int)cpus : 1};
    dpt_dataset set;
    int failed = dpt_dataset_read(dir, opt.threads, &set, &err);
    if (!failed && check_data_fits(&tr, dir, &set, &err)) {
        dpt_dataset_free(&set);
        failed = 1;
    }
    if (failed || dpt_data_prepare(&set, &opt, &data, &err)) {
        fprintf(stderr, "dptrain eval: %s\n", err.msg);
        dpt_trained_free(&tr);
        return 1;
    }
    /* Standardized as in training. */
    memcpy(data.mean, tr.mean, sizeof(float) * (size_t)tr.model.input.c);
    memcpy(data.std, tr.std, sizeof(float) * (size_t)tr.model.input.c);
    const dpt_split *split = !strcmp(split_name, "test")  ? &data.test
                             : !strcmp(split_name, "val") ? &data.val
                                                          : &data.train;
    dpt_eval_result r = {.split = split_name, .class_names = tr.class_names, .images = split->set};
    char path[4200];
    if (!out) {
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", checkpoint);
        snprintf(path, sizeof path, "%s/eval-%s.h5", dirname(copy), split_name);
        out = path;
    }
    int rc = evaluate_split(&tr, &data, split, &r, &err) ||
             dpt_ckpt_save_eval(out, checkpoint, &r, &err);
    if (rc)
        fprintf(stderr, "dptrain eval: %s\n", err.msg);
    else {
        print_result(checkpoint, &r, split->n);
        printf("written to %s\n", out);
    }
    free(r.confusion), free(r.mis_index), free(r.mis_label), free(r.mis_predicted);
    dpt_data_free(&data);
    dpt_trained_free(&tr);
    return rc ? 1 : 0;
}
