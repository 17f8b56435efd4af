/* The optimizers' first steps against values worked out by hand from PyTorch's update rules
   (torch.optim.SGD, Adam and Adagrad in 1.13), and the learning-rate schedules. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "dptrain/optim.h"

#define TOL 1e-6

/* Runs the optimizer on one parameter starting at p0 with the gradients g[0..steps). */
static float run(dpt_optim_config cfg, double lr, float p0, const float *g, int steps) {
    dpt_optim o;
    dpt_err err;
    assert_int_equal(dpt_optim_init(&o, &cfg, 1, &err), 0);
    float p = p0;
    for (int i = 0; i < steps; i++) {
        dpt_optim_update(&o, &p, &g[i], 0, 1, lr);
        dpt_optim_step_done(&o);
    }
    dpt_optim_free(&o);
    return p;
}

static void test_sgd_plain_and_weight_decay(void **state) {
    (void)state;
    const float g[] = {0.5f, 0.5f};
    /* p = 1 - 0.1*0.5 = 0.95, then 0.95 - 0.05 = 0.9 */
    assert_float_equal(run((dpt_optim_config){.kind = DPT_SGD}, 0.1, 1, g, 2), 0.9, TOL);
    /* d = 0.5 + 0.1*1 = 0.6, p = 1 - 0.06 = 0.94 */
    assert_float_equal(run((dpt_optim_config){.kind = DPT_SGD, .weight_decay = 0.1}, 0.1, 1, g, 1),
                       0.94, TOL);
}

static void test_sgd_momentum(void **state) {
    (void)state;
    const float g[] = {0.5f, 0.5f, -1.0f};
    dpt_optim_config c = {.kind = DPT_SGD, .momentum = 0.9};
    /* buf1 = 0.5 (PyTorch copies the first gradient), p1 = 0.95
       buf2 = 0.9*0.5 + 0.5 = 0.95, p2 = 0.95 - 0.095 = 0.855
       buf3 = 0.9*0.95 - 1 = -0.145, p3 = 0.855 + 0.0145 = 0.8695 */
    assert_float_equal(run(c, 0.1, 1, g, 1), 0.95, TOL);
    assert_float_equal(run(c, 0.1, 1, g, 2), 0.855, TOL);
    assert_float_equal(run(c, 0.1, 1, g, 3), 0.8695, TOL);
}

static void test_sgd_nesterov(void **state) {
    (void)state;
    const float g[] = {0.5f, 0.5f};
    dpt_optim_config c = {.kind = DPT_SGD, .momentum = 0.9, .nesterov = 1};
    /* buf1 = 0.5, d = 0.5 + 0.9*0.5 = 0.95, p1 = 1 - 0.095 = 0.905
       buf2 = 0.95, d = 0.5 + 0.855 = 1.355, p2 = 0.905 - 0.1355 = 0.7695 */
    assert_float_equal(run(c, 0.1, 1, g, 2), 0.7695, TOL);
    dpt_optim o;
    dpt_err err;
    c.momentum = 0;
    assert_int_equal(dpt_optim_init(&o, &c, 1, &err), -1);
}

static void test_adam(void **state) {
    (void)state;
    const float g[] = {1.0f, -1.0f};
    dpt_optim_config c = {.kind = DPT_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    /* m1 = 0.1, v1 = 0.001; m1/(1-0.9) = 1, sqrt(v1/(1-0.999)) = 1: p1 = 1 - 0.1
       m2 = 0.09 - 0.1 = -0.01, v2 = 0.000999 + 0.001 = 0.001999, bias corrections 0.19 and
       0.001999: p2 = 0.9 + 0.1 * (0.01/0.19) / 1 = 0.905263158 */
    assert_float_equal(run(c, 0.1, 1, g, 1), 0.9, TOL);
    assert_float_equal(run(c, 0.1, 1, g, 2), 0.9 + 0.1 * 0.01 / 0.19, TOL);
    /* L2 weight decay enters the gradient: d = 1 + 0.5*1 = 1.5; the first step still moves
       by lr since m/sqrt(v) = d/|d| */
    c.weight_decay = 0.5;
    assert_float_equal(run(c, 0.1, 1, g, 1), 0.9, TOL);
}

static void test_adagrad(void **state) {
    (void)state;
    const float g[] = {1.0f, -1.0f};
    dpt_optim_config c = {.kind = DPT_ADAGRAD, .eps = 1e-10};
    /* sum1 = 1: p1 = 1 - 0.1; sum2 = 2: p2 = 0.9 + 0.1/sqrt(2) */
    assert_float_equal(run(c, 0.1, 1, g, 1), 0.9, TOL);
    assert_float_equal(run(c, 0.1, 1, g, 2), 0.9 + 0.1 / sqrt(2), TOL);
}

/* The learning rate of epoch `epoch` when every validation loss is `val_loss`. */
static double lr_at(const char *text, double lr0, int epoch, int epochs) {
    dpt_sched s;
    dpt_err err;
    assert_int_equal(dpt_sched_parse(text, &s, &err), 0);
    dpt_sched_state st;
    dpt_sched_start(&s, lr0, &st);
    for (int e = 0; e < epoch; e++) dpt_sched_next(&s, lr0, e, epochs, 1.0, &st);
    return st.lr;
}

static void test_schedules(void **state) {
    (void)state;
    assert_float_equal(lr_at("exp:0.95", 0.01, 0, 5), 0.01, 1e-12);
    assert_float_equal(lr_at("exp:0.95", 0.01, 2, 5), 0.01 * 0.95 * 0.95, 1e-12);
    assert_float_equal(lr_at("step:3:0.1", 1, 2, 10), 1, 1e-12);
    assert_float_equal(lr_at("step:3:0.1", 1, 3, 10), 0.1, 1e-12);
    assert_float_equal(lr_at("step:3:0.1", 1, 6, 10), 0.01, 1e-12);
    assert_float_equal(lr_at("cosine", 1, 0, 4), 1, 1e-12);
    assert_float_equal(lr_at("cosine", 1, 2, 4), 0.5, 1e-12);
    assert_float_equal(lr_at("const", 0.3, 7, 10), 0.3, 1e-12);
    dpt_sched s;
    dpt_err err;
    assert_int_equal(dpt_sched_parse("exp:1.5", &s, &err), -1);
    assert_non_null(strstr(err.msg, "GAMMA"));
    assert_int_equal(dpt_sched_parse("linear", &s, &err), -1);
    assert_non_null(strstr(err.msg, "--sched linear"));
}

/* Per step, against torch.optim.lr_scheduler.OneCycleLR(cycle_momentum=False) in PyTorch 1.13:
   max_lr 0.1 over 2 epochs of 5 steps (total_steps 10), and max_lr 0.05, pct_start 0.5 over one
   epoch of 7 steps. */
static void test_onecycle(void **state) {
    (void)state;
    static const double torch_10[] = {0.0040000000000000036,
                                      0.052000000000000005,
                                      0.1,
                                      0.09504846320134738,
                                      0.0811745653949763,
                                      0.06112620219362893,
                                      0.03887419780637107,
                                      0.0188258346050237,
                                      0.004951936798652629,
                                      4e-07};
    static const double torch_7[] = {0.0020000000000000018,
                                     0.018583592135001263,
                                     0.04541640786499874,
                                     0.04752423160067369,
                                     0.030563101096814465,
                                     0.00941291730251185,
                                     2e-07};
    dpt_sched s;
    dpt_err err;
    dpt_sched_state st;
    assert_int_equal(dpt_sched_parse("onecycle", &s, &err), 0);
    dpt_sched_start(&s, 0.1, &st);
    for (int t = 0; t < 10; t++)
        assert_float_equal(dpt_sched_step_lr(&s, 0.1, &st, t / 5, t % 5, 5, 2), torch_10[t], 1e-12);
    assert_int_equal(dpt_sched_parse("onecycle:0.5", &s, &err), 0);
    for (int t = 0; t < 7; t++)
        assert_float_equal(dpt_sched_step_lr(&s, 0.05, &st, 0, t, 7, 1), torch_7[t], 1e-12);
    assert_int_equal(dpt_sched_parse("onecycle:1", &s, &err), -1);
    assert_non_null(strstr(err.msg, "PCT"));
    /* The per-epoch schedules give their epoch's rate at every step. */
    assert_int_equal(dpt_sched_parse("exp:0.5", &s, &err), 0);
    st.lr = 0.25;
    assert_float_equal(dpt_sched_step_lr(&s, 1, &st, 2, 3, 5, 4), 0.25, 0);
}

static void test_plateau(void **state) {
    (void)state;
    dpt_sched s;
    dpt_err err;
    assert_int_equal(dpt_sched_parse("plateau:0.5:1", &s, &err), 0);
    dpt_sched_state st;
    dpt_sched_start(&s, 0.1, &st);
    /* improves, improves, flat (1 bad: within patience), flat (2 bad: halve), flat, flat */
    const double losses[] = {1.0, 0.9, 0.9, 0.9, 0.95, 0.9};
    const double expect[] = {0.1, 0.1, 0.1, 0.05, 0.05, 0.025};
    for (int e = 0; e < 6; e++) {
        dpt_sched_next(&s, 0.1, e, 10, losses[e], &st);
        assert_float_equal(st.lr, expect[e], 1e-12);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_plain_and_weight_decay),
        cmocka_unit_test(test_sgd_momentum),
        cmocka_unit_test(test_sgd_nesterov),
        cmocka_unit_test(test_adam),
        cmocka_unit_test(test_adagrad),
        cmocka_unit_test(test_schedules),
        cmocka_unit_test(test_onecycle),
        cmocka_unit_test(test_plateau),
    };
    return cmocka_run_group_tests_name("optim", tests, NULL, NULL);
}
