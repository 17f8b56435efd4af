/* dptrain predict: class probabilities of grayscale PNG images under a checkpoint's model. */
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "dptrain/ckpt.h"
#include "dptrain/loss.h"

static const char usage[] =
    "usage: dptrain predict CHECKPOINT IMAGE.png...\n"
    "\n"
    "Classifies each image (a PNG of the model's input size, e.g. 28x28; color is converted to\n"
    "gray; white digit on black, as in MNIST) and prints its class probabilities.\n";

/* The image's pixels as 8-bit gray, exactly width x height. */
static int read_png(const char *path, int width, int height, unsigned char *pixels, dpt_err *err) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&image, path))
        return dpt_fail(err, "%s: not a readable PNG (%s)", path, image.message);
    if ((int)image.width != width || (int)image.height != height) {
        png_image_free(&image);
        return dpt_fail(err, "%s: image is %ux%u, the model needs %dx%d", path, image.width,
                        image.height, width, height);
    }
    image.format = PNG_FORMAT_GRAY;
    if (!png_image_finish_read(&image, NULL, pixels, 0, NULL))
        return dpt_fail(err, "%s: cannot decode the PNG (%s)", path, image.message);
    return 0;
}

static int predict_one(const dpt_trained *tr, dpt_workspace *ws, const char *path, dpt_err *err) {
    const dpt_shape in = tr->model.input;
    const size_t pixels = (size_t)in.h * in.w;
    unsigned char *gray = malloc(pixels);
    if (!gray) return dpt_fail(err, "out of memory");
    int rc = read_png(path, in.w, in.h, gray, err);
    if (rc == 0) {
        for (size_t i = 0; i < pixels; i++)
            ws->input[i] = ((float)gray[i] / 255.0f - tr->mean) / tr->std;
        const dpt_pass eval = {.training = 0, .state = tr->state};
        dpt_model_forward(&tr->model, &eval, tr->params, ws, 1);
        const float *z = dpt_model_logits(&tr->model, ws);
        const int K = tr->model.classes, best = dpt_argmax(z, K);
        double sum = 0;
        for (int c = 0; c < K; c++) sum += exp((double)z[c] - z[best]);
        printf("%s: class %d (p=%.4f) |", path, best, 1 / sum);
        for (int c = 0; c < K; c++) printf(" %d:%.4f", c, exp((double)z[c] - z[best]) / sum);
        printf("\n");
    }
    free(gray);
    return rc;
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
    int rc = 0;
    if (tr.model.input.c != 1) {
        fprintf(stderr,
                "dptrain predict: %s: the model takes %d channels; only gray images are "
                "supported\n",
                argv[1], tr.model.input.c);
        rc = 1;
    } else if (dpt_workspace_init(&ws, &tr.model, 1, &err)) {
        fprintf(stderr, "dptrain predict: %s\n", err.msg);
        rc = 1;
    } else {
        for (int i = 2; i < argc && rc == 0; i++)
            if (predict_one(&tr, &ws, argv[i], &err)) {
                fprintf(stderr, "dptrain predict: %s\n", err.msg);
                rc = 1;
            }
        dpt_workspace_free(&ws);
    }
    dpt_trained_free(&tr);
    return rc;
}
