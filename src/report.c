#include "dptrain/report.h"

#include "dptrain/digest.h"
#include "dptrain/metrics.h"
#include "dptrain/settings.h"

#include <math.h>
#include <time.h>
#include <unistd.h>

void dpt_progress_start(dpt_progress *p, int show) {
    p->live = show && isatty(STDERR_FILENO);
    p->epoch_start = dpt_now();
    p->last_draw = 0;
}

void dpt_progress_update(dpt_progress *p, const char *tag, int epoch, int epochs, int step,
                         int steps, double loss, double acc, long samples) {
    if (!p->live) return;
    double now = dpt_now();
    if (now - p->last_draw < 0.2 && step != steps) return;
    p->last_draw = now;
    double elapsed = now - p->epoch_start, rate = elapsed > 0 ? samples / elapsed : 0;
    int eta = step > 0 ? (int)(elapsed * (steps - step) / step) : 0;
    fprintf(stderr,
            "\r\033[K%sepoch %d/%d  batch %d/%d  loss %.4f  acc %.4f  %.0f samples/s  "
            "ETA %d:%02d",
            tag, epoch, epochs, step, steps, loss, acc, rate, eta / 60, eta % 60);
    fflush(stderr);
}

void dpt_progress_clear(dpt_progress *p) {
    if (p->live) fprintf(stderr, "\r\033[K");
}

void dpt_report_epoch(FILE *f, const char *tag, const dpt_epoch_record *r, int epochs,
                      int segment) {
    fprintf(f, "%sepoch %d/%d  train loss %.4f acc %.4f | val loss %.4f acc %.4f", tag, r->epoch,
            epochs, r->train_loss, r->train_acc, r->val_loss, r->val_acc);
    if (segment) fprintf(f, " F1 %.4f IoU %.4f", r->val_f1, r->val_iou);
    fprintf(f, " | test loss %.4f acc %.4f", r->test_loss, r->test_acc);
    if (segment) fprintf(f, " F1 %.4f IoU %.4f", r->test_f1, r->test_iou);
    fprintf(f, " | lr %.4g | %.1f s, %.0f samples/s\n", r->lr, r->seconds, r->samples_per_s);
    fflush(f);
}

static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_number(FILE *f, double v) {
    if (isfinite(v))
        fprintf(f, "%.10g", v);
    else
        fputs("null", f);
}

static void json_epoch(FILE *f, const dpt_epoch_record *r) {
    fprintf(f, "{\"epoch\":%d", r->epoch);
    for (int k = 0; k < dpt_nmetrics; k++) {
        fprintf(f, ",\"%s\":", dpt_metrics[k].name);
        json_number(f, dpt_metric_of(r, k));
    }
    fputc('}', f);
}

/* The settings (dptrain/settings.h) as in /config, but flags as true or false, whole numbers in
   full and the model as given (model_spec holds the canonical spec that /config has). */
static void json_settings(FILE *f, const dpt_ckpt_view *v) {
    for (int i = 0; i < dpt_nsettings; i++) {
        const dpt_setting *s = &dpt_settings[i];
        const dpt_value x = dpt_setting_get(s, v->cfg, NULL);
        fprintf(f, "%s\"%s\":", i ? "," : "", s->name);
        if (x.text)
            json_string(f, x.text);
        else if (s->field.type == DPT_REAL)
            json_number(f, x.real);
        else if (s->field.type == DPT_FLAG)
            fputs(x.whole ? "true" : "false", f);
        else
            fprintf(f, "%llu", (unsigned long long)x.whole);
    }
}

void dpt_report_json(FILE *f, const dpt_ckpt_view *v, int threads) {
    char param_sha256[DPT_DIGEST_HEX], state_sha256[DPT_DIGEST_HEX];
    dpt_param_sha256(v->params, v->model->nparams, param_sha256);
    dpt_param_sha256(v->state, v->model->nstate, state_sha256);
    const dpt_train_config *c = v->cfg;
    fputs("{\"config\":{", f);
    json_settings(f, v);
    /* and how the run went about it */
    fputs(",\"model_spec\":", f);
    json_string(f, v->model->spec);
    fputs(",\"data\":", f);
    json_string(f, c->data.path);
    const float *norm[2] = {v->mean, v->std};
    for (int k = 0; k < 2; k++) {
        fprintf(f, ",\"%s\":[", k ? "std" : "mean");
        for (int i = 0; i < v->model->input.c; i++) fprintf(f, "%s%.9g", i ? "," : "", norm[k][i]);
        fputs("]", f);
    }
    fprintf(f, ",\"classes\":%d,\"bucket_kb\":%d,\"data_sha256\":\"%s\"", v->model->classes,
            c->bucket_kb, v->data_digest);
    fprintf(f, ",\"threads\":%d,\"ranks\":%d,\"out\":", threads, v->world_size);
    if (c->out)
        json_string(f, c->out);
    else
        fputs("null", f);
    fputs(",\"command_line\":", f);
    json_string(f, c->command_line);
    fputs("},\"history\":[", f);
    for (int i = 0; i < *v->epochs_done; i++) {
        if (i) fputc(',', f);
        json_epoch(f, &v->history[i]);
    }
    fputs("],\"final\":", f);
    if (*v->epochs_done)
        json_epoch(f, &v->history[*v->epochs_done - 1]);
    else
        fputs("null", f);
    fprintf(f,
            ",\"params\":%zu,\"param_sha256\":\"%s\",\"buffers\":%zu,\"buffer_sha256\":\"%s\"}\n",
            v->model->nparams, param_sha256, v->model->nstate, state_sha256);
    fflush(f);
}
