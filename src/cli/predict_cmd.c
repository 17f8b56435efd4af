/* dptrain predict: class probabilities of PNG images under a classifier, or the predicted mask
   and a colour overlay of each image under a segmentation model. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "dptrain/ckpt.h"
#include "dptrain/fsutil.h"
#include "dptrain/loss.h"
#include "dptrain/png_image.h"
#include "dptrain/read_guard.h"

static const char usage[] =
    "usage: dptrain predict CHECKPOINT IMAGE.png... [--out DIR]\n"
    "\n"
    "A classifier: classifies each image and prints its most likely class and every class's\n"
    "probability, by the class names of the training data:\n"
    "  IMAGE.png: class NAME (p=0.9876) | NAME0:0.0001 NAME1:0.0002 ...\n"
    "A segmentation model: writes each image's predicted mask, DIR/STEM-mask.png (8-bit gray, "
    "each\n"
    "pixel its class index), and an overlay, DIR/STEM-overlay.png (RGB: the image in gray with\n"
    "each class but class 0, the background, blended at 50% in its colour, the colours of\n"
    "scripts/plot_eval.py), and prints the pixels of each predicted class:\n"
    "  IMAGE.png: NAME0:900 NAME3:124 | DIR/STEM-mask.png DIR/STEM-overlay.png\n"
    "An image must have the model's size and channels, as the training images had: a gray model\n"
    "(e.g. MNIST's 1x28x28, white digit on black) takes gray PNGs, an RGB model RGB PNGs, palette\n"
    "PNGs count as RGB. Alpha (and tRNS transparency) is dropped, keeping the colors as stored;\n"
    "16-bit samples are scaled to 8 bits with rounding; 1, 2 and 4-bit gray is expanded to 8.\n"
    "Pixels are standardized with the per-channel mean and standard deviation the model was\n"
    "trained with.\n"
    "\n"
    "  --out DIR      where the masks and overlays go (segmentation; created) [.]\n"
    "  -h, --help     this help\n";

static const char *kind_of(int channels) {
    return channels == 1 ? "gray" : "RGB";
}

/* Decodes path into pixels (the model's c x h x w); an image of another size or channel count
   is refused naming both. */
static int read_image(const char *path, dpt_shape in, uint8_t *pixels, dpt_err *err) {
    dpt_png_info got;
    int rc = dpt_png_read(path, &got, pixels, (size_t)in.c * in.h * in.w, err);
    /* A larger image fails for want of room: its header tells the real cause. */
    if (rc != 0 && dpt_png_read(path, &got, NULL, 0, NULL) != 0) return -1;
    if ((int)got.channels == in.c && (int)got.height == in.h && (int)got.width == in.w) return rc;
    return dpt_fail(err, "%s: %s image (%ux%ux%u), the model takes %dx%dx%d (%s)", path,
                    kind_of((int)got.channels), got.channels, got.height, got.width, in.c, in.h,
                    in.w, kind_of(in.c));
}

/* Reads path into ws->input, standardized as dpt_data_gather does for eval and training:
   (pixel / 255 - mean) / std. */
static int read_input(const dpt_trained *tr, dpt_workspace *ws, uint8_t *pixels, const char *path,
                      dpt_err *err) {
    const dpt_shape in = tr->model.input;
    if (read_image(path, in, pixels, err)) return -1;
    const size_t plane = (size_t)in.h * in.w;
    for (int c = 0; c < in.c; c++) {
        const float scale = 1.0f / (255.0f * tr->std[c]), shift = tr->mean[c] / tr->std[c];
        for (size_t j = c * plane; j < (c + 1) * plane; j++)
            ws->input[j] = (float)pixels[j] * scale - shift;
    }
    const dpt_pass eval = {.training = 0, .state = tr->state};
    dpt_model_forward(&tr->model, &eval, tr->params, ws, 1);
    return 0;
}

static void classify(const dpt_trained *tr, const dpt_workspace *ws, const char *path) {
    const float *z = dpt_model_logits(&tr->model, ws);
    const int K = tr->model.classes, best = dpt_argmax(z, K);
    double sum = 0;
    for (int c = 0; c < K; c++) sum += exp((double)z[c] - z[best]);
    printf("%s: class %s (p=%.4f) |", path, tr->class_names[best], 1 / sum);
    for (int c = 0; c < K; c++)
        printf(" %s:%.4f", tr->class_names[c], exp((double)z[c] - z[best]) / sum);
    printf("\n");
}

/* The colours of classes 1, 2, ... (cycling), matplotlib's tab10 as scripts/plot_eval.py. */
static const uint8_t palette[10][3] = {
    {31, 119, 180}, {255, 127, 14},  {44, 160, 44},   {214, 39, 40},  {148, 103, 189},
    {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};

/* Each pixel's class: the largest of its logits (classes x positions). */
static void argmax_pixels(const float *z, int classes, int positions, uint8_t *mask) {
    for (int p = 0; p < positions; p++) {
        int best = 0;
        for (int c = 1; c < classes; c++)
            if (z[(size_t)c * positions + p] > z[(size_t)best * positions + p]) best = c;
        mask[p] = (uint8_t)best;
    }
}

/* The image in gray (RGB by luma), each class but 0 blended half with its colour. */
static void make_overlay(const uint8_t *pixels, int channels, const uint8_t *mask, int positions,
                         uint8_t *rgb) {
    for (int p = 0; p < positions; p++) {
        const uint8_t *x = pixels + p;
        const int gray =
            channels == 1 ? x[0]
                          : (299 * x[0] + 587 * x[positions] + 114 * x[2 * positions] + 500) / 1000;
        for (int k = 0; k < 3; k++)
            rgb[3 * p + k] =
                (uint8_t)(mask[p] ? (gray + palette[(mask[p] - 1) % 10][k] + 1) / 2 : gray);
    }
}

/* Writes an 8-bit gray or RGB PNG through a temporary file renamed over path. */
static int write_png(const char *path, const uint8_t *samples, int rgb, int height, int width,
                     dpt_err *err) {
    char tmp[4200];
    dpt_tmp_path(path, tmp, sizeof tmp);
    png_image image = {.version = PNG_IMAGE_VERSION,
                       .width = (png_uint_32)width,
                       .height = (png_uint_32)height,
                       .format = rgb ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY};
    errno = 0;
    if (!png_image_write_to_file(&image, tmp, 0, samples, 0, NULL)) {
        const int saved = errno;
        unlink(tmp);
        return dpt_fail(err, "%s: cannot write (%s)", path,
                        saved ? strerror(saved) : image.message);
    }
    return dpt_replace_with(tmp, path, 1, 0, err);
}

/* "DIR/STEM-what.png" for an image path: its file name without the extension. */
static int output_path(const char *dir, const char *image, const char *what, char *out, size_t size,
                       dpt_err *err) {
    const char *name = strrchr(image, '/') ? strrchr(image, '/') + 1 : image;
    const char *dot = strrchr(name, '.');
    const int stem = dot && dot != name ? (int)(dot - name) : (int)strlen(name);
    if (snprintf(out, size, "%s/%.*s-%s.png", dir, stem, name, what) >= (int)size)
        return dpt_fail(err, "%s: output path too long under %s", image, dir);
    return 0;
}

/* Scratch for one segmentation: the predicted mask and its overlay. */
typedef struct seg_buffers {
    uint8_t *mask, *rgb;
    long *counts; /* pixels per class */
} seg_buffers;

static int segment(const dpt_trained *tr, const dpt_workspace *ws, const uint8_t *pixels,
                   const char *path, const char *dir, seg_buffers *b, dpt_err *err) {
    const dpt_model *m = &tr->model;
    const int P = m->positions, K = m->classes;
    char mask_path[4200], overlay_path[4200];
    argmax_pixels(dpt_model_logits(m, ws), K, P, b->mask);
    make_overlay(pixels, m->input.c, b->mask, P, b->rgb);
    if (output_path(dir, path, "mask", mask_path, sizeof mask_path, err) ||
        output_path(dir, path, "overlay", overlay_path, sizeof overlay_path, err) ||
        write_png(mask_path, b->mask, 0, m->input.h, m->input.w, err) ||
        write_png(overlay_path, b->rgb, 1, m->input.h, m->input.w, err))
        return -1;
    memset(b->counts, 0, sizeof(long) * (size_t)K);
    for (int p = 0; p < P; p++) b->counts[b->mask[p]]++;
    printf("%s:", path);
    for (int c = 0; c < K; c++)
        if (b->counts[c]) printf(" %s:%ld", tr->class_names[c], b->counts[c]);
    printf(" | %s %s\n", mask_path, overlay_path);
    return 0;
}

static int predict_one(const dpt_trained *tr, dpt_workspace *ws, uint8_t *pixels, const char *path,
                       const char *dir, seg_buffers *b, dpt_err *err) {
    if (read_input(tr, ws, pixels, path, err)) return -1;
    if (tr->model.task == DPT_TASK_SEGMENT) return segment(tr, ws, pixels, path, dir, b, err);
    classify(tr, ws, path);
    return 0;
}

/* Predicts each image in turn, stopping at the first failure. */
static int predict_all(const dpt_trained *tr, char **images, int n, const char *dir, dpt_err *err) {
    const dpt_model *m = &tr->model;
    uint8_t *pixels = malloc((size_t)m->input.c * m->input.h * m->input.w);
    seg_buffers b = {malloc((size_t)m->positions), malloc(3 * (size_t)m->positions),
                     malloc(sizeof(long) * (size_t)m->classes)};
    dpt_workspace ws;
    int rc = !pixels || !b.mask || !b.rgb || !b.counts ? dpt_fail(err, "out of memory") : 0;
    if (rc == 0 && m->task == DPT_TASK_SEGMENT) rc = dpt_mkdir_p(dir, err);
    if (rc == 0 && (rc = dpt_workspace_init(&ws, m, 1, err)) == 0) {
        for (int i = 0; rc == 0 && i < n; i++)
            rc = predict_one(tr, &ws, pixels, images[i], dir, &b, err);
        dpt_workspace_free(&ws);
    }
    free(pixels), free(b.mask), free(b.rgb), free(b.counts);
    return rc;
}

int dpt_cmd_predict(int argc, char **argv) {
    static const struct option options[] = {
        {"out", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *dir = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return 0;
        }
        if (c != 'o') {
            fprintf(stderr,
                    "dptrain predict: unknown option or missing value '%s'; see dptrain predict "
                    "--help\n",
                    argv[optind - 1]);
            return 2;
        }
        dir = optarg;
    }
    if (argc - optind < 2) {
        fprintf(stderr, "dptrain predict: expected a checkpoint and images; see dptrain predict "
                        "--help\n");
        return 2;
    }
    const char *checkpoint = argv[optind];
    dpt_trained tr;
    dpt_err err;
    dpt_read_guard_begin("dptrain predict", checkpoint);
    const int failed = dpt_ckpt_load_trained(checkpoint, &tr, &err);
    dpt_read_guard_end();
    if (failed) {
        fprintf(stderr, "dptrain predict: %s\n", err.msg);
        return 1;
    }
    const dpt_shape in = tr.model.input;
    int rc = 0;
    if (in.c != 1 && in.c != 3)
        rc = dpt_fail(&err, "%s: the model takes %d channels; PNG images have 1 (gray) or 3 (RGB)",
                      checkpoint, in.c);
    else if (dir && tr.model.task != DPT_TASK_SEGMENT)
        rc =
            dpt_fail(&err, "%s: --out is for segmentation models; this one classifies", checkpoint);
    else
        rc = predict_all(&tr, argv + optind + 1, argc - optind - 1, dir ? dir : ".", &err);
    if (rc) fprintf(stderr, "dptrain predict: %s\n", err.msg);
    dpt_trained_free(&tr);
    return rc ? 1 : 0;
}
