/* dptrain data: describes a dataset (info) or converts one into a single HDF5 file (convert). */
#define _POSIX_C_SOURCE 200809L /* strndup */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "dptrain/dataset.h"
#include "dptrain/read_guard.h"
#include "dptrain/timing.h"

static const char usage[] =
    "usage: dptrain data info PATH [--threads T]\n"
    "       dptrain data convert SRC DST [--classes NAME,NAME,...|--classes @FILE] [--force]\n"
    "                                    [--threads T]\n"
    "\n"
    "A dataset is, by what its path is:\n"
    "  a folder whose train/ holds     segmentation: train/images/NAME.png, each with its mask\n"
    "  images/ and masks/              train/masks/NAME.png (one class index per pixel: an 8-bit\n"
    "                                  gray PNG's values or a palette PNG's indices), the same\n"
    "                                  under test/; optional classes.txt, a name a line\n"
    "  another folder with Train/ or   PNG images, one folder per class: Train/CLASS/*.png and\n"
    "  train/                          Test/CLASS/*.png; the class names are the folder names\n"
    "  any other folder                the four MNIST IDX files (train-images-idx3-ubyte,\n"
    "                                  train-labels-idx1-ubyte, t10k-images-idx3-ubyte,\n"
    "                                  t10k-labels-idx1-ubyte), raw or .gz\n"
    "  a regular file                  one HDF5 file: /train/images and /test/images (uint8,\n"
    "                                  N x H x W or N x C x H x W), /train/labels and\n"
    "                                  /test/labels (integers from 0) or, for segmentation,\n"
    "                                  /train/masks and /test/masks (uint8, N x H x W), optional\n"
    "                                  /classes (names)\n"
    "dptrain train --data takes any of them.\n"
    "\n"
    "  info      prints the dataset's format, task, image counts and shape, its classes with\n"
    "            their training and test counts (of pixels, for segmentation), and its sha256\n"
    "            (equal for equal data in any format)\n"
    "  convert   writes SRC as one HDF5 file DST (one file to copy, nothing to decode); see\n"
    "            dptrain data convert --help\n"
    "\n"
    "  --threads T   PNG images decoded at once                     [the number of online CPUs]\n"
    "  -h, --help    this help\n";

static const char convert_usage[] =
    "usage: dptrain data convert SRC DST [--classes NAME,NAME,...|--classes @FILE] [--force]\n"
    "                                    [--threads T]\n"
    "\n"
    "Reads the dataset SRC (an IDX folder, a PNG folder tree, PNG segmentation folders or an\n"
    "HDF5 file; see dptrain data --help) and writes it as one HDF5 file DST: /train/images and\n"
    "/test/images (uint8, N x H x W for one channel else N x C x H x W, deflate-compressed),\n"
    "/train/labels and /test/labels (int32) or /train/masks and /test/masks (uint8, N x H x W)\n"
    "and, when SRC or --classes names the classes, /classes (UTF-8). DST\n"
    "is written whole or not at all, never over SRC, and holds the same samples in the same\n"
    "order: dptrain data info prints the same sha256 for both when the names are the same.\n"
    "\n"
    "  --classes NAMES  the class names in label order, comma-separated, or @FILE: one name a\n"
    "                   line. One per class of SRC, each 1 to 255 bytes without control\n"
    "                   characters, all different. Replaces the names SRC has.\n"
    "  --force          replace DST when it exists\n"
    "  --threads T      PNG images decoded at once                  [the number of online CPUs]\n"
    "  -h, --help       this help\n"
    "\n"
    "Example: dptrain data convert data/fashion-mnist fmnist.h5 \\\n"
    "             --classes @data/fashion-mnist-classes.txt\n";

typedef struct options {
    int threads, force;
    const char *classes;
} options;

/* The options after the subcommand (argv[0]); 0 to go on, else the exit code. */
static int parse_options(int argc, char **argv, int convert, options *o) {
    static const struct option all[] = {{"threads", required_argument, 0, 't'},
                                        {"classes", required_argument, 0, 'c'},
                                        {"force", no_argument, 0, 'f'},
                                        {"help", no_argument, 0, 'h'},
                                        {0, 0, 0, 0}};
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    *o = (options){.threads = cpus < 1 ? 1 : (int)cpus};
    dpt_err err;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", all, NULL)) != -1) {
        if (c == 't' && dpt_arg_int("--threads", optarg, 1, &o->threads, &err)) {
            fprintf(stderr, "dptrain data: %s\n", err.msg);
            return 2;
        }
        if (c == 'h') {
            fputs(convert ? convert_usage : usage, stdout);
            return -1;
        }
        if (c == 'c' && convert) o->classes = optarg;
        if (c == 'f' && convert) o->force = 1;
        if (c == '?' || (!convert && (c == 'c' || c == 'f'))) {
            fprintf(stderr,
                    "dptrain data: unknown option or missing value '%s'; see dptrain data "
                    "%s--help\n",
                    argv[optind - 1], convert ? "convert " : "");
            return 2;
        }
    }
    const int want = convert ? 2 : 1;
    if (argc - optind != want) {
        fprintf(stderr, "dptrain data: %s expects %s; see dptrain data %s--help\n", argv[0],
                convert ? "SRC and DST" : "one dataset path", convert ? "convert " : "");
        return 2;
    }
    return 0;
}

static int read_dataset(const char *path, int threads, dpt_dataset *ds, double *seconds) {
    dpt_err err;
    const double start = dpt_now();
    dpt_read_guard_begin("dptrain data", path);
    const int failed = dpt_dataset_read(path, threads, ds, &err);
    dpt_read_guard_end();
    if (failed) {
        fprintf(stderr, "dptrain data: %s\n", err.msg);
        return -1;
    }
    *seconds = dpt_now() - start;
    return 0;
}

/* ---- info ---- */

/* The classes, then a table of each one's training and test images (pixels, with masks). */
static void print_classes(const dpt_dataset *ds) {
    enum { LISTED = 20 };
    printf("classes  %d", ds->classes);
    if (!ds->class_names) printf(", unnamed");
    for (int c = 0; ds->class_names && c < ds->classes && c < LISTED; c++)
        printf("%s%s", c ? ", " : ": ", ds->class_names[c]);
    printf("%s\n", ds->class_names && ds->classes > LISTED ? ", ..." : "");
    int64_t *train = calloc(2 * (size_t)ds->classes, sizeof *train);
    if (!train) return; /* the table is a nicety; the summary above stands */
    int64_t *test = train + ds->classes;
    dpt_images_count_classes(&ds->train, NULL, ds->train.count, train);
    dpt_images_count_classes(&ds->test, NULL, ds->test.count, test);
    const int pixels = dpt_dataset_task(ds) == DPT_TASK_SEGMENT, width = pixels ? 12 : 9;
    printf("%8s %*s %*s%s\n", "class", width, pixels ? "train pixels" : "train", width,
           pixels ? "test pixels" : "test", ds->class_names ? "  name" : "");
    for (int c = 0; c < ds->classes; c++)
        printf("%8d %*" PRId64 " %*" PRId64 "%s%s\n", c, width, train[c], width, test[c],
               ds->class_names ? "  " : "", ds->class_names ? ds->class_names[c] : "");
    free(train);
}

static int info(int argc, char **argv) {
    options o;
    int rc = parse_options(argc, argv, 0, &o);
    if (rc) return rc < 0 ? 0 : rc;
    const char *path = argv[optind];
    dpt_dataset ds;
    double seconds;
    if (read_dataset(path, o.threads, &ds, &seconds)) return 1;
    const dpt_images *tr = &ds.train;
    char hex[65];
    dpt_dataset_digest(&ds, hex);
    printf("path     %s\n", path);
    printf("format   %s (read in %.2f s)\n",
           dpt_dataset_format_name(dpt_dataset_format_of(path, NULL)), seconds);
    printf("task     %s\n", dpt_task_name(dpt_dataset_task(&ds)));
    printf("images   %u training, %u test%s\n", tr->count, ds.test.count,
           dpt_dataset_task(&ds) == DPT_TASK_SEGMENT ? ", each with its mask" : "");
    printf("shape    %ux%ux%u (channels x height x width)\n", tr->channels, tr->height, tr->width);
    print_classes(&ds);
    printf("sha256   %s\n", hex);
    dpt_dataset_free(&ds);
    return 0;
}

/* ---- convert ---- */

/* NAME,NAME,...: none may be empty. */
static int split_list(const char *list, char **names, int *n) {
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        const size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0) {
            fprintf(stderr, "dptrain data: --classes: name %d is empty\n", *n + 1);
            return -1;
        }
        if (*n == DPT_DATASET_MAX_CLASSES) {
            fprintf(stderr, "dptrain data: --classes: more than %d names\n",
                    DPT_DATASET_MAX_CLASSES);
            return -1;
        }
        if (!(names[*n] = strndup(p, len))) {
            fprintf(stderr, "dptrain data: --classes: out of memory\n");
            return -1;
        }
        (*n)++;
        if (!comma) return 0;
        p = comma + 1;
    }
}

/* --classes into names[0..*n) (each malloc'd); the names' own rules are checked on writing. */
static int parse_names(const char *option, char ***names, int *n) {
    *n = 0;
    if (option[0] == '@') {
        dpt_err err;
        if (dpt_class_names_read(option + 1, names, n, &err) == 0) return 0;
        fprintf(stderr, "dptrain data: --classes @%s\n", err.msg);
        return -1;
    }
    if (!(*names = calloc(DPT_DATASET_MAX_CLASSES, sizeof **names))) {
        fprintf(stderr, "dptrain data: --classes: out of memory\n");
        return -1;
    }
    if (split_list(option, *names, n)) {
        dpt_class_names_free(*names, *n);
        *names = NULL;
        return -1;
    }
    return 0;
}

/* Refuses DST when it is SRC, a folder, or (without --force) any existing file. */
static int check_destination(const char *src, const char *dst, int force) {
    struct stat s, d;
    if (stat(dst, &d) != 0) return 0;
    if (stat(src, &s) == 0 && s.st_dev == d.st_dev && s.st_ino == d.st_ino)
        fprintf(stderr, "dptrain data: %s is the source; write the HDF5 file elsewhere\n", dst);
    else if (S_ISDIR(d.st_mode))
        fprintf(stderr, "dptrain data: %s is a folder; DST names the HDF5 file to write\n", dst);
    else if (!force)
        fprintf(stderr, "dptrain data: %s exists; --force replaces it\n", dst);
    else
        return 0;
    return -1;
}

/* Puts names in place of the dataset's own: one for each of its classes. */
static int rename_classes(dpt_dataset *ds, const char *src, char **names, int n) {
    if (n != ds->classes) {
        fprintf(stderr, "dptrain data: --classes gives %d name%s, %s has %d class%s\n", n,
                n == 1 ? "" : "s", src, ds->classes, ds->classes == 1 ? "" : "es");
        return -1;
    }
    dpt_class_names_free(ds->class_names, ds->classes);
    ds->class_names = names;
    return 0;
}

static int convert(int argc, char **argv) {
    options o;
    int rc = parse_options(argc, argv, 1, &o);
    if (rc) return rc < 0 ? 0 : rc;
    const char *src = argv[optind], *dst = argv[optind + 1];
    char **names = NULL;
    int n = 0;
    if (check_destination(src, dst, o.force)) return 1;
    if (o.classes && parse_names(o.classes, &names, &n)) return 2;
    dpt_dataset ds;
    double read_seconds;
    if (read_dataset(src, o.threads, &ds, &read_seconds)) {
        dpt_class_names_free(names, n);
        return 1;
    }
    if (names && rename_classes(&ds, src, names, n)) {
        dpt_class_names_free(names, n);
        dpt_dataset_free(&ds);
        return 1;
    }
    dpt_err err;
    const double start = dpt_now();
    if (dpt_dataset_write_h5(dst, &ds, &err)) {
        fprintf(stderr, "dptrain data: %s\n", err.msg);
        dpt_dataset_free(&ds);
        return 1;
    }
    const double seconds = dpt_now() - start;
    struct stat st;
    const double file_bytes = stat(dst, &st) == 0 ? (double)st.st_size : 0;
    const dpt_images *tr = &ds.train;
    const double pixels =
        ((double)tr->count + ds.test.count) * tr->channels * tr->height * tr->width;
    printf("%s (%s, read in %.2f s) -> %s in %.2f s: %u training and %u test images of "
           "%ux%ux%u%s, %d classes%s; %.1f MB of pixels in a %.1f MB file\n",
           src, dpt_dataset_format_name(dpt_dataset_format_of(src, NULL)), read_seconds, dst,
           seconds, tr->count, ds.test.count, tr->channels, tr->height, tr->width,
           dpt_dataset_task(&ds) == DPT_TASK_SEGMENT ? " with masks" : "", ds.classes,
           ds.class_names ? " (named)" : "", pixels / 1e6, file_bytes / 1e6);
    dpt_dataset_free(&ds);
    return 0;
}

int dpt_cmd_data(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "dptrain data: expected info or convert; see dptrain data --help\n");
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "info")) return info(argc - 1, argv + 1);
    if (!strcmp(argv[1], "convert")) return convert(argc - 1, argv + 1);
    fprintf(stderr,
            "dptrain data: unknown subcommand '%s' (info or convert); see dptrain data "
            "--help\n",
            argv[1]);
    return 2;
}
