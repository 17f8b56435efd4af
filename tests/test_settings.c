/* The settings table (dptrain/settings.h): consistent entries, values that survive being
   written as text and parsed back, and every entry in the checkpoint's /config (compared on
   resume), in the JSON summary's config and in the ranks' configuration text. Also the one
   parser of seed lists. */
#define _GNU_SOURCE
#include <hdf5.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dptrain/ckpt.h"
#include "dptrain/report.h"
#include "dptrain/settings.h"

static void test_table(void **state) {
    (void)state;
    assert_true(dpt_nsettings > 0 && dpt_nsettings <= DPT_SETTINGS_MAX);
    for (int i = 0; i < dpt_nsettings; i++) {
        const dpt_setting *s = &dpt_settings[i];
        char option[64];
        snprintf(option, sizeof option, "%s", s->name);
        for (char *p = option; *p; p++)
            if (*p == '_') *p = '-';
        assert_string_equal(s->option, option); /* --micro-batch is micro_batch */
        for (int j = 0; j < i; j++) assert_string_not_equal(dpt_settings[j].name, s->name);
        assert_true(s->help && *s->help);
        assert_true(s->section < DPT_NSECTIONS);
        /* a text setting has its own functions; a flag has no value in --help */
        assert_int_equal(s->field.type == DPT_TEXT, s->text && s->parse);
        assert_int_equal(s->field.type == DPT_FLAG, s->arg == NULL);
    }
}

static const dpt_setting *find(const char *name) {
    for (int i = 0; i < dpt_nsettings; i++)
        if (strcmp(dpt_settings[i].name, name) == 0) return &dpt_settings[i];
    fail_msg("no setting %s", name);
    return NULL;
}

/* Every setting of `a`, written as text as the ranks compare it and given back as an option,
   gives the same value. */
static void check_round_trip(const dpt_train_config *a) {
    dpt_train_config b;
    dpt_err err;
    dpt_train_config_defaults(&b);
    for (int i = 0; i < dpt_nsettings; i++) {
        const dpt_setting *s = &dpt_settings[i];
        char text[256];
        const dpt_value v = dpt_setting_get(s, a, NULL);
        dpt_value_format(s->field.type, v, 17, text, sizeof text);
        if ((s->field.type != DPT_FLAG || v.whole) && dpt_setting_set(s, &b, text, &err))
            fail_msg("%s: %s", s->name, err.msg);
        const dpt_value w = dpt_setting_get(s, &b, NULL);
        if (v.text)
            assert_string_equal(w.text, v.text);
        else if (w.real != v.real || w.whole != v.whole)
            fail_msg("%s: %s gave %.17g", s->name, text, w.real);
    }
}

/* For the defaults and for a configuration with every setting changed. */
static void test_round_trip(void **state) {
    (void)state;
    static const char *const changed[][2] = {{"model", "linear(10)"},
                                             {"init", "normal:0.01"},
                                             {"val", "1234"},
                                             {"train_samples", "5000"},
                                             {"test_samples", "500"},
                                             {"split_seed", "18446744073709551615"},
                                             {"norm", "0.5,0.25/0.2,0.1"},
                                             {"epochs", "7"},
                                             {"batch", "100"},
                                             {"micro_batch", "25"},
                                             {"opt", "adam"},
                                             {"lr", "0.003"},
                                             {"momentum", "0.9"},
                                             {"nesterov", NULL},
                                             {"wd", "5e-4"},
                                             {"beta1", "0.8"},
                                             {"beta2", "0.99"},
                                             {"eps", "1e-7"},
                                             {"sched", "step:2:0.5"},
                                             {"class_weights", "balanced"},
                                             {"seed", "42"},
                                             {"reduce", "float"}};
    assert_int_equal(sizeof changed / sizeof changed[0], dpt_nsettings);
    dpt_train_config c;
    dpt_err err;
    dpt_train_config_defaults(&c);
    c.optim.eps = 1e-8; /* as the CLI sets it for the optimizer */
    check_round_trip(&c);
    for (int i = 0; i < dpt_nsettings; i++)
        if (dpt_setting_set(find(changed[i][0]), &c, changed[i][1], &err))
            fail_msg("%s: %s", changed[i][0], err.msg);
    assert_true(c.data.split_seed == UINT64_MAX && c.optim.nesterov &&
                c.reduce == DPT_REDUCE_FLOAT);
    check_round_trip(&c);
}

static void test_text_values(void **state) {
    (void)state;
    dpt_train_config c;
    dpt_err err;
    dpt_train_config_defaults(&c);
    assert_string_equal(dpt_setting_get(find("class_weights"), &c, NULL).text, "none");
    assert_int_equal(dpt_setting_set(find("class_weights"), &c, "1,2", &err), 0);
    assert_string_equal(c.class_weights, "1,2");
    assert_int_equal(dpt_setting_set(find("class_weights"), &c, "none", &err), 0);
    assert_null(c.class_weights);
    /* the model: what was given, or the canonical spec when there is one */
    assert_string_equal(dpt_setting_get(find("model"), &c, NULL).text, "cnn2710");
    assert_string_equal(dpt_setting_get(find("model"), &c, "conv(...)").text, "conv(...)");
    static const char *const bad[][3] = {
        {"lr", "abc", "--lr abc: expected a number >= 0"},
        {"batch", "0", "--batch 0: expected a whole number from 1 to 1048576"},
        {"epochs", "1000001", "--epochs 1000001: expected a whole number from 1 to 1000000"},
        {"val", "-1", "--val -1: expected a whole number >= 0"},
        {"momentum", "2", "--momentum 2: expected a number in [0, 1]"},
        {"seed", "-1", "--seed -1: expected a whole number >= 0"},
        {"norm", "z", "--norm z: expected mnist, compute, auto or MEAN,.../STD,..."},
        {"norm", "0.1/0", "--norm 0.1/0: standard deviation 0 of channel 0 is not positive"},
        {"norm", "0.1,0.2/0.3", "--norm 0.1,0.2/0.3: 2 means but 1 standard deviation"},
        {"reduce", "z", "--reduce z: expected exact or float"},
        {"opt", "lbfgs", "--opt lbfgs: unknown optimizer"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(dpt_setting_set(find(bad[i][0]), &c, bad[i][1], &err), -1);
        if (strncmp(err.msg, bad[i][2], strlen(bad[i][2])) != 0)
            fail_msg("%s %s: '%s', expected '%s'", bad[i][0], bad[i][1], err.msg, bad[i][2]);
    }
}

static void test_seeds(void **state) {
    (void)state;
    uint64_t seeds[8];
    int n;
    dpt_err err;
    assert_int_equal(dpt_arg_seeds("--seeds", "1-3", seeds, 8, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_true(seeds[0] == 1 && seeds[2] == 3);
    assert_int_equal(dpt_arg_seeds("seeds =", "7, 1,9-10", seeds, 8, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_true(seeds[0] == 7 && seeds[1] == 1 && seeds[2] == 9 && seeds[3] == 10);
    assert_int_equal(dpt_arg_seeds("--seeds", "18446744073709551615", seeds, 8, &n, &err), 0);
    assert_true(n == 1 && seeds[0] == UINT64_MAX);
    static const char *const bad[] = {
        "", "1,", ",1", "3-1", "-1", "1-", "a", "1;2", "1--2", "1-2-3", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(dpt_arg_seeds("--seeds", bad[i], seeds, 8, &n, &err), -1);
        char want[128];
        snprintf(want, sizeof want, "--seeds %s: expected seeds such as 1-8 or 1,4,9", bad[i]);
        assert_string_equal(err.msg, want);
    }
    assert_int_equal(dpt_arg_seeds("seeds =", "1-9", seeds, 8, &n, &err), -1);
    assert_string_equal(err.msg, "seeds = 1-9: more than 8 seeds");
    assert_int_equal(dpt_arg_seeds("--seeds", "4,1-5", seeds, 8, &n, &err), -1);
    assert_string_equal(err.msg, "--seeds 4,1-5: seed 4 is listed twice");
}

/* A trained-looking run of a small model, as the trainer would show it to ckpt.c and report.c. */
typedef struct fake_run {
    dpt_train_config cfg;
    dpt_model model;
    float *params, *state, batch_loss[1], batch_acc[1];
    dpt_optim optim;
    dpt_sched_state sched;
    dpt_position pos;
    dpt_epoch_record history[7];
    int epochs_done;
    long batches_done;
} fake_run;

static dpt_ckpt_view fake_view(fake_run *r) {
    dpt_err err;
    dpt_train_config_defaults(&r->cfg);
    r->cfg.model = "flatten linear(10)";
    r->cfg.epochs = 7;
    r->cfg.optim.nesterov = 1;
    r->cfg.command_line = "dptrain train --test";
    if (dpt_model_build(r->cfg.model, (dpt_shape){1, 28, 28}, 10, &r->model, &err))
        fail_msg("%s", err.msg);
    r->params = calloc(r->model.nparams + 1, sizeof(float));
    r->state = calloc(r->model.nstate + 1, sizeof(float));
    dpt_optim_config oc = {.kind = DPT_SGD};
    if (dpt_optim_init(&r->optim, &oc, r->model.nparams, &err)) fail_msg("%s", err.msg);
    r->sched = (dpt_sched_state){.lr = 0.01};
    r->epochs_done = 1;
    r->history[0] = (dpt_epoch_record){.epoch = 1, .lr = 0.01};
    r->batches_done = 1; /* one step an epoch, and the position after it */
    r->pos = (dpt_position){.epoch = 1};
    r->optim.step = 1;
    static const float mean[] = {0.1307f}, std[] = {0.3081f}; /* MNIST's, one channel */
    return (dpt_ckpt_view){.cfg = &r->cfg,
                           .model = &r->model,
                           .data_digest = "00",
                           .world_size = 1,
                           .mean = mean,
                           .std = std,
                           .params = r->params,
                           .state = r->state,
                           .optim = &r->optim,
                           .sched = &r->sched,
                           .pos = &r->pos,
                           .history = r->history,
                           .epochs_done = &r->epochs_done,
                           .batch_loss = r->batch_loss,
                           .batch_acc = r->batch_acc,
                           .batches_done = &r->batches_done,
                           .batch_capacity = 1,
                           .steps_per_epoch = 1};
}

static void fake_free(fake_run *r) {
    free(r->params);
    free(r->state);
    dpt_optim_free(&r->optim);
    dpt_model_free(&r->model);
}

static herr_t count_attr(hid_t obj, const char *name, const H5A_info_t *info, void *count) {
    (void)obj, (void)name, (void)info;
    ++*(int *)count;
    return 0;
}

/* Every setting is an attribute of /config and a key of the JSON config; a resume compares
   them all but epochs. */
static void test_outputs(void **state) {
    (void)state;
    static fake_run run;
    dpt_ckpt_view v = fake_view(&run);
    dpt_err err;
    char path[] = "/tmp/dptrain-test-settings-XXXXXX";
    const int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(dpt_ckpt_save(path, &v, &err), 0);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t config = H5Gopen2(f, "/config", H5P_DEFAULT);
    int attrs = 0;
    assert_true(H5Aiterate2(config, H5_INDEX_NAME, H5_ITER_INC, NULL, count_attr, &attrs) >= 0);
    assert_int_equal(attrs, dpt_nsettings);
    for (int i = 0; i < dpt_nsettings; i++)
        if (H5Aexists(config, dpt_settings[i].name) <= 0)
            fail_msg("/config lacks %s", dpt_settings[i].name);
    H5Gclose(config);
    H5Fclose(f);

    char *json = NULL, key[80];
    size_t len = 0;
    FILE *mem = open_memstream(&json, &len);
    dpt_report_json(mem, &v, 1);
    fclose(mem);
    char *end = strstr(json, "},\"history\"");
    assert_non_null(end);
    *end = 0;
    for (int i = 0; i < dpt_nsettings; i++) {
        snprintf(key, sizeof key, "\"%s\":", dpt_settings[i].name);
        if (!strstr(json, key)) fail_msg("the JSON config lacks %s: %s", key, json);
    }
    assert_non_null(strstr(json, "\"nesterov\":true"));
    free(json);

    /* the same run resumes, also with more epochs; another learning rate does not */
    run.cfg.epochs = 6;
    assert_int_equal(dpt_ckpt_resume(path, &v, &err), 0);
    run.cfg.lr = 0.02;
    assert_int_equal(dpt_ckpt_resume(path, &v, &err), -1);
    assert_non_null(strstr(err.msg, "lr differs (checkpoint 0.01, this run 0.02)"));
    run.cfg.lr = 0.01;
    run.cfg.class_weights = "balanced";
    assert_int_equal(dpt_ckpt_resume(path, &v, &err), -1);
    assert_non_null(
        strstr(err.msg, "class_weights differs (checkpoint 'none', this run 'balanced')"));
    run.cfg.class_weights = NULL;

    /* stopped after an epoch's last step, before its evaluation: the position is step == steps;
       one step further is damage */
    run.epochs_done = 0, run.history[0] = (dpt_epoch_record){0};
    run.pos = (dpt_position){.epoch = 0, .step = 1};
    assert_int_equal(dpt_ckpt_save(path, &v, &err), 0);
    assert_int_equal(dpt_ckpt_resume(path, &v, &err), 0);
    assert_true(run.pos.epoch == 0 && run.pos.step == 1 && run.epochs_done == 0);
    run.pos.step = 2;
    assert_int_equal(dpt_ckpt_save(path, &v, &err), 0);
    assert_int_equal(dpt_ckpt_resume(path, &v, &err), -1);
    assert_non_null(strstr(err.msg, "damaged: /position (epoch 0, step 2)"));
    unlink(path);
    fake_free(&run);
}

/* The ranks' text names every setting and changes with any of them. */
static void test_rank_text(void **state) {
    (void)state;
    dpt_train_config c;
    dpt_train_config_defaults(&c);
    char a[2048], b[2048];
    assert_true(dpt_settings_text(&c, "spec", a, sizeof a) < sizeof a);
    for (int i = 0; i < dpt_nsettings; i++) {
        char key[80];
        snprintf(key, sizeof key, "%s%s ", i ? "|" : "", dpt_settings[i].name);
        if (!strstr(a, key)) fail_msg("no '%s' in %s", key, a);
    }
    c.lr = nextafter(c.lr, 1);
    dpt_settings_text(&c, "spec", b, sizeof b);
    assert_string_not_equal(a, b);
    assert_int_equal(dpt_settings_text(&c, "spec", NULL, 0), strlen(b));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),       cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_text_values), cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_outputs),     cmocka_unit_test(test_rank_text),
    };
    return cmocka_run_group_tests_name("settings", tests, NULL, NULL);
}
