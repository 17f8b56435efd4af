/* dptrain eval: a checkpoint's loss, accuracy, per-class F1 and IoU and confusion matrix on one
   split (per sample, or per pixel for segmentation), also written to an HDF5 results file beside
   it (the checkpoint itself is never touched). */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "dptrain/ckpt.h"
#include "dptrain/evaluate.h"
#include "dptrain/read_guard.h"

static const char usage[] =
    "usage: dptrain eval CHECKPOINT [--split test|val|train] [--data PATH] [--out FILE]\n"
    "\n"
    "Evaluates a checkpoint's weights on one split in evaluation mode (the checkpoint's own\n"
    "train/validation split and standardization). A classifier: prints loss, accuracy, top-5\n"
    "accuracy and the confusion matrix, and writes them with per-class F1 and IoU and the\n"
    "misclassified samples under /eval in FILE. A segmentation model: prints the per-pixel\n"
    "loss, pixel accuracy, mean F1 and mean IoU, each class's F1, IoU and labelled pixels, and\n"
    "the pixel confusion matrix, and writes them with the first 8 samples' images, true and\n"
    "predicted masks (/eval/examples) in FILE.\n"
    "\n"
    "  --split NAME   test, val or train                                    [test]\n"
    "  --data PATH    the dataset (any format of dptrain train --data); its images\n"
    "                 must have the model's input shape, its task (labels or masks) and\n"
    "                 classes must be the model's\n"
    "                                           [the one the checkpoint was trained on]\n"
    "  --out FILE     results file              [eval-<split>.h5 beside the checkpoint]\n"
    "  -h, --help     this help\n";

/* Samples per forward pass: fewer for segmentation, whose activations are per pixel. */
enum { CHUNK = 256, SEGMENT_CHUNK = 16, EXAMPLES = 8 };

static int alloc_result(const dpt_model *m, uint32_t n, dpt_eval_result *r, dpt_err *err) {
    const int K = m->classes;
    r->task = m->task;
    r->classes = K;
    r->confusion = calloc((size_t)K * K, sizeof *r->confusion);
    r->f1 = malloc(sizeof(double) * (size_t)K);
    r->iou = malloc(sizeof(double) * (size_t)K);
    if (m->task == DPT_TASK_SEGMENT) {
        r->nexamples = n < EXAMPLES ? (int)n : EXAMPLES;
        r->ex_index = malloc(sizeof(int) * EXAMPLES);
        r->ex_predicted = malloc((size_t)EXAMPLES * m->positions);
    } else {
        r->mis_index = malloc(sizeof(int) * (n + 1));
        r->mis_label = malloc(sizeof(int) * (n + 1));
        r->mis_predicted = malloc(sizeof(int) * (n + 1));
    }
    const int missing = m->task == DPT_TASK_SEGMENT
                            ? !r->ex_index || !r->ex_predicted
                            : !r->mis_index || !r->mis_label || !r->mis_predicted;
    return !r->confusion || !r->f1 || !r->iou || missing ? dpt_fail(err, "out of memory") : 0;
}

static void free_result(dpt_eval_result *r) {
    free(r->confusion), free(r->f1), free(r->iou);
    free(r->mis_index), free(r->mis_label), free(r->mis_predicted);
    free(r->ex_index), free(r->ex_predicted);
}

/* The misclassified samples among the n of a chunk at `first`. */
static void note_misclassified(const dpt_split *split, uint32_t first, int n, const int *labels,
                               const int *predicted, dpt_eval_result *r) {
    for (int s = 0; s < n; s++) {
        if (predicted[s] == labels[s]) continue;
        r->mis_index[r->nmisclassified] = (int)split->idx[first + (uint32_t)s];
        r->mis_label[r->nmisclassified] = labels[s];
        r->mis_predicted[r->nmisclassified++] = predicted[s];
    }
}

/* The predicted masks of the examples among the n samples of a chunk at `first`, from its
   logits (n x classes x positions). */
static void note_examples(const dpt_model *m, const dpt_split *split, uint32_t first, int n,
                          const float *logits, dpt_eval_result *r) {
    const int K = m->classes, P = m->positions;
    for (int s = 0; s < n && first + (uint32_t)s < (uint32_t)r->nexamples; s++) {
        const int e = (int)first + s;
        const float *z = logits + (size_t)s * K * P;
        r->ex_index[e] = (int)split->idx[e];
        for (int p = 0; p < P; p++) {
            int best = 0;
            for (int c = 1; c < K; c++)
                if (z[(size_t)c * P + p] > z[(size_t)best * P + p]) best = c;
            r->ex_predicted[(size_t)e * P + p] = (uint8_t)best;
        }
    }
}

static int evaluate_split(const dpt_trained *tr, const dpt_data *data, const dpt_split *split,
                          dpt_eval_result *r, dpt_err *err) {
    const dpt_model *m = &tr->model;
    const int segment = m->task == DPT_TASK_SEGMENT, chunk = segment ? SEGMENT_CHUNK : CHUNK;
    dpt_workspace ws;
    if (alloc_result(m, split->n, r, err) || dpt_workspace_init(&ws, m, chunk, err)) return -1;
    dpt_loss_sums sums = {.confusion = r->confusion};
    int predicted[CHUNK];
    for (uint32_t first = 0; first < split->n; first += (uint32_t)chunk) {
        int n = split->n - first < (uint32_t)chunk ? (int)(split->n - first) : chunk;
        dpt_eval_chunk(m, tr->params, tr->state, data, split, first, n, &ws, &sums,
                       segment ? NULL : predicted);
        if (segment)
            note_examples(m, split, first, n, dpt_model_logits(m, &ws), r);
        else
            note_misclassified(split, first, n, ws.labels, predicted, r);
    }
    dpt_workspace_free(&ws);
    const double predictions = (double)split->n * m->positions;
    r->loss = sums.loss / predictions;
    r->acc = (double)sums.correct / predictions;
    r->top5 = (double)sums.top5 / predictions;
    dpt_class_scores(r->confusion, r->classes, r->f1, r->iou, &r->mean_f1, &r->mean_iou);
    return 0;
}

/* The width of the longest class name that is not its number (at most 24), 0 when there is
   none. */
static int name_width(const dpt_eval_result *r) {
    int width = 0;
    for (int c = 0; c < r->classes; c++) {
        char number[16];
        snprintf(number, sizeof number, "%d", c);
        if (strcmp(r->class_names[c], number) == 0) continue;
        int len = (int)strlen(r->class_names[c]);
        if (len > width) width = len > 24 ? 24 : len;
    }
    return width;
}

/* Rows are labelled by class number and name (when the classes have names other than their
   numbers), columns by class number; columns are 6 wide, wider for counts of 6 digits or more. */
static void print_confusion(const dpt_eval_result *r, int width) {
    const int K = r->classes;
    long most = 0;
    for (size_t i = 0; i < (size_t)K * K; i++)
        if (r->confusion[i] > most) most = r->confusion[i];
    int column = 6;
    for (long v = most; v >= 100000; v /= 10) column++;
    printf("confusion (rows: label, columns: predicted class number)\n%*s", width ? width + 6 : 5,
           "");
    for (int c = 0; c < K; c++) printf("%*d", column, c);
    printf("\n");
    for (int l = 0; l < K; l++) {
        printf("%4d ", l);
        if (width) printf("%-*.*s ", width, width, r->class_names[l]);
        for (int c = 0; c < K; c++) printf("%*ld", column, r->confusion[(size_t)l * K + c]);
        printf("\n");
    }
}

static void print_classification(const char *checkpoint, const dpt_eval_result *r, uint32_t n) {
    printf("%s on %s (%u samples): loss %.4f, accuracy %.4f, top-5 %.4f, %ld misclassified\n",
           checkpoint, r->split, n, r->loss, r->acc, r->top5, r->nmisclassified);
    print_confusion(r, name_width(r));
}

/* A score, or "-" for a class neither labelled nor predicted. */
static void print_score(double v) {
    if (v == v)
        printf("  %7.4f", v);
    else
        printf("  %7s", "-");
}

static void print_segmentation(const char *checkpoint, const dpt_eval_result *r, uint32_t n,
                               int positions) {
    const int K = r->classes, width = name_width(r) > 5 ? name_width(r) : 5;
    printf("%s on %s (%u samples, %ld pixels): per-pixel loss %.4f, pixel accuracy %.4f, mean F1 "
           "%.4f, mean IoU %.4f\n",
           checkpoint, r->split, n, (long)n * positions, r->loss, r->acc, r->mean_f1, r->mean_iou);
    printf("per class ('-': neither labelled nor predicted)\nclass %-*s       F1      IoU    "
           "labelled pixels\n",
           width, "name");
    for (int c = 0; c < K; c++) {
        long labelled = 0;
        for (int j = 0; j < K; j++) labelled += r->confusion[(size_t)c * K + j];
        printf("%5d %-*.*s", c, width, 24, r->class_names[c]);
        print_score(r->f1[c]);
        print_score(r->iou[c]);
        printf("  %17ld\n", labelled);
    }
    print_confusion(r, name_width(r));
}

/* The data must be what the model was made for: its task, input shape, and its classes (by name,
   when the data names them; by count otherwise). */
static int check_data_fits(const dpt_trained *tr, const char *path, const dpt_dataset *set,
                           dpt_err *err) {
    const dpt_images *s = &set->train;
    const dpt_shape in = tr->model.input;
    const dpt_task task = dpt_dataset_task(set);
    if (task != tr->model.task)
        return dpt_fail(
            err, "%s: %s", path,
            task == DPT_TASK_SEGMENT
                ? "a segmentation dataset (masks, not labels); the model is a classifier"
                : "a classification dataset (labels, not masks); the model segments");
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
    dpt_read_guard_begin("dptrain eval", checkpoint);
    int failed = dpt_ckpt_load_trained(checkpoint, &tr, &err);
    dpt_read_guard_end();
    if (failed) {
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
    dpt_read_guard_begin("dptrain eval", dir);
    failed = dpt_dataset_read(dir, opt.threads, &set, &err);
    dpt_read_guard_end();
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
        if (r.task == DPT_TASK_SEGMENT)
            print_segmentation(checkpoint, &r, split->n, tr.model.positions);
        else
            print_classification(checkpoint, &r, split->n);
        printf("written to %s\n", out);
    }
    free_result(&r);
    dpt_data_free(&data);
    dpt_trained_free(&tr);
    return rc ? 1 : 0;
}
