/* dptrain predict: class probabilities of PNG images under a checkpoint's model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "dptrain/ckpt.h"
#include "dptrain/loss.h"
#include "dptrain/png_image.h"

static const char usage[] =
    "usage: dptrain predict CHECKPOINT IMAGE.png...\n"
    "\n"
    "Classifies each image and prints its most likely class and every class's probability, by\n"
    "the class names of the training data:\n"
    "  IMAGE.png: class NAME (p=0.9876) | NAME0:0.0001 NAME1:0.0002 ...\n"
    "An image must have the model's size and channels, as the training images had: a gray model\n"
    "(e.g. MNIST's 1x28x28, white digit on black) takes gray PNGs, an RGB model RGB PNGs, palette\n"
    "PNGs count as RGB. Alpha (and tRNS transparency) is dropped, keeping the colors as stored;\n"
    "16-bit samples are scaled to 8 bits with rounding; 1, 2 and 4-bit gray is expanded to 8.\n"
    "Pixels are standardized with the per-channel mean and standard deviation the model was\n"
    "trained with.\n";

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

static int predict_one(const dpt_trained *tr, dpt_workspace *ws, uint8_t *pixels, const char *path,
                       dpt_err *err) {
    const dpt_shape in = tr->model.input;
    if (read_image(path, in, pixels, err)) return -1;
    const size_t plane = (size_t)in.h * in.w;
    for (int c = 0; c < in.c; c++) {
        /* (pixel / 255 - mean) / std, computed as dpt_data_gather does for eval and training */
        const float scale = 1.0f / (255.0f * tr->std[c]), shift = tr->mean[c] / tr->std[c];
        for (size_t j = c * plane; j < (c + 1) * plane; j++)
            ws->input[j] = (float)pixels[j] * scale - shift;
    }
    const dpt_pass eval = {.training = 0, .state = tr->state};
    dpt_model_forward(&tr->model, &eval, tr->params, ws, 1);
    const float *z = dpt_model_logits(&tr->model, ws);
    const int K = tr->model.classes, best = dpt_argmax(z, K);
    double sum = 0;
    for (int c = 0; c < K; c++) sum += exp((double)z[c] - z[best]);
    printf("%s: class %s (p=%.4f) |", path, tr->class_names[best], 1 / sum);
    for (int c = 0; c < K; c++)
        printf(" %s:%.4f", tr->class_names[c], exp((double)z[c] - z[best]) / sum);
    printf("\n");
    return 0;
}

int dpt_cmd_predict(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc < 3) {
        fprintf(stderr, "dptrain predict: expected a checkpoint and images; see dptrain predict "
                        "--help\n");
        return 2;
    }
    dpt_trained tr;
    dpt_workspace ws;
    dpt_err err;
    if (dpt_ckpt_load_trained(argv[1], &tr, &err)) {
        fprintf(stderr, "dptrain predict: %s\n", err.msg);
        return 1;
    }
    const dpt_shape in = tr.model.input;
    uint8_t *pixels = NULL;
    int rc = 0;
    if (in.c != 1 && in.c != 3) {
        fprintf(stderr,
                "dptrain predict: %s: the model takes %d channels; PNG images have 1 (gray) or 3 "
                "(RGB)\n",
                argv[1], in.c);
        rc = 1;
    } else if (!(pixels = malloc((size_t)in.c * in.h * in.w))) {
        fprintf(stderr, "dptrain predict: out of memory\n");
        rc = 1;
    } else if (dpt_workspace_init(&ws, &tr.model, 1, &err)) {
        fprintf(stderr, "dptrain predict: %s\n", err.msg);
        rc = 1;
    } else {
        for (int i = 2; i < argc && rc == 0; i++)
            if (predict_one(&tr, &ws, pixels, argv[i], &err)) {
                fprintf(stderr, "dptrain predict: %s\n", err.msg);
                rc = 1;
            }
        dpt_workspace_free(&ws);
    }
    free(pixels);
    dpt_trained_free(&tr);
    return rc;
}
