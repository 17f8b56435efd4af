/* dptrain info: a model's layer table with output shapes and parameter counts. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "dptrain/model.h"

static const char usage[] =
    "usage: dptrain info --model NAME|SPEC [--input CxHxW] [--classes K]\n"
    "\n"
    "Prints the model's graph as a table: each node's name, layer, inputs, output shape,\n"
    "parameters, buffers (BatchNorm's running statistics) and forward FLOPs per sample\n"
    "(a multiply-add counts 2), with totals.\n"
    "\n"
    "  --model NAME|SPEC   a preset or a spec (below)\n"
    "  --input CxHxW       input shape                                      [1x28x28]\n"
    "  --classes K         the class count: what `classes` in a spec stands for and\n"
    "                      the outputs the last layer must give (0: any; `classes`\n"
    "                      is then 10)                                      [0]\n"
    "  -h, --help          this help\n"
    "\n"
    "A spec is layers separated by spaces; arguments go in parentheses, positional first:\n"
    "  linear(out)                          fully connected; flattens its input\n"
    "  conv(out,kernel,stride=1,pad=0,bias=1)  2-D convolution, square kernel\n"
    "  convtranspose(out,kernel,stride=1,pad=0,outpad=0,bias=1)  transposed convolution\n"
    "                                       (PyTorch's ConvTranspose2d; outpad < stride)\n"
    "  upsample(scale,mode=nearest)         whole-number scale; mode nearest or bilinear\n"
    "                                       (align_corners=False)\n"
    "  maxpool(kernel,stride=kernel)  avgpool(kernel,stride=kernel)  globalavgpool\n"
    "  batchnorm(affine=1,momentum=0.1,eps=1e-05)  2-D after a convolution, 1-D after a\n"
    "                                       linear layer; training normalizes with each\n"
    "                                       micro-batch's statistics (see dptrain train --help)\n"
    "  dropout(p=0.5)  dropout2d(p=0.5)     inverted dropout of values / whole channels\n"
    "  relu  leakyrelu(slope=0.01)  elu(alpha=1)  sigmoid  tanh  flatten\n"
    "Graphs:\n"
    "  res[ BODY ]              BODY(x) + x (identity shortcut)\n"
    "  res[ BODY | SHORTCUT ]   BODY(x) + SHORTCUT(x), e.g. | conv(64,1,stride=2,bias=0) "
    "batchnorm\n"
    "  @name                    saves the tensor at this point under a name\n"
    "  concat(@name)            the saved tensor's channels, then the current tensor's\n"
    "  add(@name)               the current tensor plus the saved one\n"
    "Softmax is part of the loss; the last layer gives one output per class of the data.\n"
    "An argument may be the word `classes`: the data's class count (the presets end in\n"
    "linear(classes)). The input's channels come from the data too.\n"
    "\n"
    "Presets:\n";

/* A preset's spec, or for a long one (the ResNets) where to see it. */
static void print_preset(const char *name, const char *spec, void *ctx) {
    if (strlen(spec) <= 100)
        fprintf(ctx, "  %-22s %s\n", name, spec);
    else
        fprintf(ctx, "  %-22s %.60s... (dptrain info --model %s)\n", name, spec, name);
}

static void shape_text(dpt_shape s, char *buf, size_t n) {
    if (s.h == 1 && s.w == 1)
        snprintf(buf, n, "%d", s.c);
    else
        snprintf(buf, n, "%dx%dx%d", s.c, s.h, s.w);
}

static void inputs_text(const dpt_model *m, const dpt_layer *l, char *buf, size_t n) {
    size_t len = 0;
    buf[0] = 0;
    for (int k = 0; k < l->kind->inputs && len < n; k++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", k ? "," : "",
                                l->input[k] < 0 ? "input" : m->layers[l->input[k]].name);
}

static void print_table(const dpt_model *m) {
    char shape[48], inputs[80], layer[512];
    shape_text(m->input, shape, sizeof shape);
    printf("%-4s %-10s %-44s %-14s %-12s %12s %9s %14s\n", "#", "name", "layer", "inputs", "output",
           "parameters", "buffers", "FLOPs/sample");
    printf("%-4s %-10s %-44s %-14s %-12s %12d %9d %14d\n", "", "", "input", "", shape, 0, 0, 0);
    for (int i = 0; i < m->nlayers; i++) {
        const dpt_layer *l = &m->layers[i];
        shape_text(l->out, shape, sizeof shape);
        inputs_text(m, l, inputs, sizeof inputs);
        dpt_layer_text(l, layer, sizeof layer);
        printf("%-4d %-10s %-44s %-14s %-12s %12zu %9zu %14.0f\n", i + 1, l->name, layer, inputs,
               shape, l->nparams, l->nstate, dpt_layer_flops(l));
    }
    printf("%-4s %-10s %-44s %-14s %-12s %12zu %9zu %14.0f\n", "total", "", "", "", "", m->nparams,
           m->nstate, dpt_model_flops(m));
}

int dpt_cmd_info(int argc, char **argv) {
    static const struct option options[] = {{"model", required_argument, 0, 'm'},
                                            {"input", required_argument, 0, 'i'},
                                            {"classes", required_argument, 0, 'k'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    const char *model = NULL;
    dpt_shape input = {1, 28, 28};
    int c, classes = 0;
    dpt_err err;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'm':
            model = optarg;
            break;
        case 'i':
            if (sscanf(optarg, "%dx%dx%d", &input.c, &input.h, &input.w) != 3 || input.c < 1 ||
                input.h < 1 || input.w < 1) {
                fprintf(stderr, "dptrain info: --input %s: expected CxHxW, e.g. 1x28x28\n", optarg);
                return 2;
            }
            break;
        case 'k':
            if (dpt_arg_int("--classes", optarg, 0, &classes, &err)) {
                fprintf(stderr, "dptrain info: %s\n", err.msg);
                return 2;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            dpt_model_presets(print_preset, stdout);
            return 0;
        default:
            fprintf(stderr,
                    "dptrain info: unknown option or missing value '%s'; see dptrain "
                    "info --help\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (!model) {
        fprintf(stderr, "dptrain info: --model is required; see dptrain info --help\n");
        return 2;
    }
    dpt_model m;
    if (dpt_model_build(model, input, classes, &m, &err)) {
        fprintf(stderr, "dptrain info: %s\n", err.msg);
        return 1;
    }
    printf("model %s\n", m.spec);
    print_table(&m);
    dpt_model_free(&m);
    return 0;
}
