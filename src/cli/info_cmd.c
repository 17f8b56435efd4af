/* dptrain info: a model's layer table with output shapes and parameter counts. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "dptrain/data.h"
#include "dptrain/model.h"

static const char usage[] =
    "usage: dptrain info --model NAME|SPEC [--input CxHxW]\n"
    "\n"
    "Prints the model's layers with their output shapes and parameter counts.\n"
    "\n"
    "  --model NAME|SPEC   a preset or a layer spec (below)\n"
    "  --input CxHxW       input shape                                      [1x28x28]\n"
    "  -h, --help          this help\n"
    "\n"
    "A spec is layers separated by spaces; arguments go in parentheses, positional first:\n"
    "  linear(out)                       fully connected; flattens its input\n"
    "  conv(out,kernel,stride=1,pad=0)   2-D convolution, square kernel\n"
    "  maxpool(kernel,stride=kernel)     2-D max pooling\n"
    "  relu  sigmoid  tanh  flatten\n"
    "Softmax is part of the loss; the last layer must give 10 outputs.\n"
    "\n"
    "Presets:\n";

static void print_preset(const char *name, const char *spec, void *ctx) {
    fprintf(ctx, "  %-11s %s\n", name, spec);
}

static void shape_text(dpt_shape s, char *buf, size_t n) {
    if (s.h == 1 && s.w == 1)
        snprintf(buf, n, "%d", s.c);
    else
        snprintf(buf, n, "%dx%dx%d", s.c, s.h, s.w);
}

int dpt_cmd_info(int argc, char **argv) {
    static const struct option options[] = {{"model", required_argument, 0, 'm'},
                                            {"input", required_argument, 0, 'i'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    const char *model = NULL;
    dpt_shape input = {1, 28, 28};
    int c;
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
    dpt_err err;
    if (dpt_model_build(model, input, DPT_CLASSES, &m, &err)) {
        fprintf(stderr, "dptrain info: %s\n", err.msg);
        return 1;
    }
    char shape[48];
    shape_text(input, shape, sizeof shape);
    printf("%-4s %-34s %-12s %12s\n", "#", "layer", "output", "parameters");
    printf("%-4s %-34s %-12s %12d\n", "", "input", shape, 0);
    const char *spec = m.spec;
    for (int i = 0; i < m.nlayers; i++) {
        const dpt_layer *l = &m.layers[i];
        const char *end = strchr(spec, ' ');
        int len = end ? (int)(end - spec) : (int)strlen(spec);
        shape_text(l->out, shape, sizeof shape);
        printf("%-4d %-34.*s %-12s %12zu\n", i + 1, len, spec, shape, l->nparams);
        spec += len + (end ? 1 : 0);
    }
    printf("%-4s %-34s %-12s %12zu\n", "", "total", "", m.nparams);
    dpt_model_free(&m);
    return 0;
}
