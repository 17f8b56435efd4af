/* dptrain info: a model's layer table with output shapes and parameter counts. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "dptrain/model.h"

static const char usage[] =
    "usage: dptrain info --model NAME|SPEC [--input CxHxW] [--classes K] [--task TASK]\n"
    "\n"
    "Prints the model's graph as a table: each node's name, layer, inputs, output shape,\n"
    "parameters, buffers (BatchNorm's running statistics) and forward FLOPs per sample\n"
    "(a multiply-add counts 2), with totals, in the order the nodes run: a relu read only by\n"
    "a maxpool runs after it (the same values and gradients, bit for bit, on the pooled\n"
    "values), so `relu maxpool(2)` is listed as maxpool, then relu, and a line says so.\n"
    "\n"
    "  --model NAME|SPEC   a preset or a spec (below)\n"
    "  --input CxHxW       input shape                                      [1x28x28]\n"
    "  --classes K         the class count: what `classes` in a spec stands for and\n"
    "                      the outputs the last layer must give (0: any; `classes`\n"
    "                      is then 10)                                      [0]\n"
    "  --task TASK         classify (the last layer gives K outputs per sample) or\n"
    "                      segment (K x H x W: each pixel's logits; the unet presets)\n"
    "                                                                       [classify]\n"
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

/* Columns as wide as their widest entry (names and inputs grow with the graph). */
static void print_table(const dpt_model *m) {
    char shape[48], inputs[80], layer[512];
    int name_w = 10, layer_w = 44, inputs_w = 14;
    for (int i = 0; i < m->nlayers; i++) {
        const int len = (int)strlen(m->layers[i].name);
        inputs_text(m, &m->layers[i], inputs, sizeof inputs);
        dpt_layer_text(&m->layers[i], layer, sizeof layer);
        if (len > name_w) name_w = len;
        if ((int)strlen(layer) > layer_w) layer_w = (int)strlen(layer);
        if ((int)strlen(inputs) > inputs_w) inputs_w = (int)strlen(inputs);
    }
    shape_text(m->input, shape, sizeof shape);
    printf("%-4s %-*s %-*s %-*s %-12s %12s %9s %14s\n", "#", name_w, "name", layer_w, "layer",
           inputs_w, "inputs", "output", "parameters", "buffers", "FLOPs/sample");
    printf("%-4s %-*s %-*s %-*s %-12s %12d %9d %14d\n", "", name_w, "", layer_w, "input", inputs_w,
           "", shape, 0, 0, 0);
    for (int i = 0; i < m->nlayers; i++) {
        const dpt_layer *l = &m->layers[i];
        shape_text(l->out, shape, sizeof shape);
        inputs_text(m, l, inputs, sizeof inputs);
        dpt_layer_text(l, layer, sizeof layer);
        printf("%-4d %-*s %-*s %-*s %-12s %12zu %9zu %14.0f\n", i + 1, name_w, l->name, layer_w,
               layer, inputs_w, inputs, shape, l->nparams, l->nstate, dpt_layer_flops(l));
    }
    printf("%-4s %-*s %-*s %-*s %-12s %12zu %9zu %14.0f\n", "total", name_w, "", layer_w, "",
           inputs_w, "", "", m->nparams, m->nstate, dpt_model_flops(m));
    for (int i = 0; i < m->nlayers; i++)
        if (m->layers[i].moved)
            printf("%s runs after %s, on its output (the spec has it before: the same values and "
                   "gradients, fewer to compute)\n",
                   m->layers[i].name, m->layers[i - 1].name);
}

int dpt_cmd_info(int argc, char **argv) {
    static const struct option options[] = {
        {"model", required_argument, 0, 'm'},   {"input", required_argument, 0, 'i'},
        {"classes", required_argument, 0, 'k'}, {"task", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    const char *model = NULL;
    dpt_shape input = {1, 28, 28};
    int c, classes = 0;
    dpt_task task = DPT_TASK_CLASSIFY;
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
        case 't':
            if (strcmp(optarg, "classify") && strcmp(optarg, "segment")) {
                fprintf(stderr, "dptrain info: --task %s: expected classify or segment\n", optarg);
                return 2;
            }
            task = strcmp(optarg, "segment") == 0 ? DPT_TASK_SEGMENT : DPT_TASK_CLASSIFY;
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
    if (dpt_model_build_task(model, input, classes, task, &m, &err)) {
        fprintf(stderr, "dptrain info: %s\n", err.msg);
        return 1;
    }
    printf("model %s\n", m.spec);
    print_table(&m);
    dpt_model_free(&m);
    return 0;
}
