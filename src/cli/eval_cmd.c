/* dptrain eval: a checkpoint's loss, accuracy and confusion matrix on one split, also written to
   an HDF5 results file beside it (the checkpoint itself is never touched). */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "dptrain/ckpt.h"
#include "dptrain/evaluate.h"

static const char usage[] =
    "usage: dptrain eval CHECKPOINT [--split test|val|train] [--data DIR] [--out FILE]\n"
    "\n"
    "Evaluates a checkpoint's weights on one split in evaluation mode (the checkpoint's own\n"
    "train/validation split and standardization): prints loss, accuracy, top-5 accuracy and\n"
    "the confusion matrix, and writes them with the misclassified samples under /eval in\n"
    "FILE.\n"
    "\n"
    "  --split NAME   test, val or train                                    [test]\n"
    "  --data DIR     the dataset folder                                    [data/mnist]\n"
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
            if (label >= K) {
                dpt_workspace_free(&ws);
                return dpt_fail(err, "the data has label %d; the model knows %d classes", label, K);
            }
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

static void print_result(const char *checkpoint, const dpt_eval_result *r, uint32_t n) {
    const int K = r->classes;
    printf("%s on %s (%u samples): loss %.4f, accuracy %.4f, top-5 %.4f, %ld misclassified\n",
           checkpoint, r->split, n, r->loss, r->acc, r->top5, r->nmisclassified);
    printf("confusion (rows: label, columns: predicted)\n     ");
    for (int c = 0; c < K; c++) printf("%6d", c);
    printf("\n");
    for (int l = 0; l < K; l++) {
        printf("%4d ", l);
        for (int c = 0; c < K; c++) printf("%6ld", r->confusion[(size_t)l * K + c]);
        printf("\n");
    }
}

int dpt_cmd_eval(int argc, char **argv) {
    static const struct option options[] = {{"split", required_argument, 0, 's'},
                                            {"data", required_argument, 0, 'd'},
                                            {"out", required_argument, 0, 'o'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    const char *split_name = "test", *dir = "data/mnist", *out = NULL;
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
    dpt_data_options opt = {.dir = dir, .val = tr.val, .split_seed = tr.split_seed};
    if (dpt_data_load(&opt, &data, &err)) {
        fprintf(stderr, "dptrain eval: %s\n", err.msg);
        dpt_trained_free(&tr);
        return 1;
    }
    data.mean = tr.mean;
    data.std = tr.std;
    const dpt_split *split = !strcmp(split_name, "test")  ? &data.test
                             : !strcmp(split_name, "val") ? &data.val
                                                          : &data.train;
    dpt_eval_result r = {.split = split_name};
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
