#include "dptrain/experiment.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dptrain/fsutil.h"
#include "dptrain/settings.h"

/* scripts/plot.py's options an experiment may ask for (its `plot` key). */
static const char *const plot_options[] = {"--log-x", "--lin-x", "--std"};

/* The runner sets these itself. */
static const char *const reserved[] = {"seed", "seeds", "ranks-per-seed", "out", "resume", "json"};

typedef struct parse_state {
    dpt_experiment *e;
    int (*check)(const char *, const char *, int *, dpt_err *);
    char problem[sizeof((dpt_err *)0)->msg];
} parse_state;

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    char *end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t')) *--end = 0;
    return s;
}

/* 1 if every word of the value is one of plot_options, else 0 with the problem set. */
static int check_plot_options(parse_state *st, const char *value) {
    char words[256];
    if (strlen(value) >= sizeof words)
        return snprintf(st->problem, sizeof st->problem, "plot: too long"), 0;
    snprintf(words, sizeof words, "%s", value);
    for (char *save = NULL, *w = strtok_r(words, " \t", &save); w;
         w = strtok_r(NULL, " \t", &save)) {
        size_t i = 0;
        while (i < sizeof plot_options / sizeof plot_options[0] && strcmp(w, plot_options[i]) != 0)
            i++;
        if (i == sizeof plot_options / sizeof plot_options[0])
            return snprintf(st->problem, sizeof st->problem,
                            "plot: '%s' is not a plot option (--log-x, --lin-x, --std)", w),
                   0;
    }
    return 1;
}

/* 0 if `name` is a train option the file may set (*flag: one without value) and `value` (unless
   NULL) a value it accepts; else -1 with st->problem set. */
static int check_option(parse_state *st, const char *name, const char *value, int *flag) {
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcmp(name, reserved[i]) == 0) {
            snprintf(st->problem, sizeof st->problem, "'%s' is set by the runner, not the file",
                     name);
            return -1;
        }
    dpt_err why;
    if (st->check(name, value, flag, &why))
        return snprintf(st->problem, sizeof st->problem, "%s", why.msg), -1;
    return 0;
}

/* A model value may name a [models] entry, so model values are checked when a run builds them. */
static const char *checked_value(const char *name, const char *value) {
    return strcmp(name, "model") == 0 ? NULL : value;
}

/* Whether `name` can be a folder name: letters, digits, '.', '_' and '-', not starting with '.'. */
static int is_folder_name(const char *name, size_t size) {
    return *name && *name != '.' && strlen(name) < size &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
               strlen(name);
}

/* Seeds into `seeds` (DPT_EXP_MAX_SEEDS of them) and `n`; 0 with st->problem set if bad. */
static int parse_seeds(parse_state *st, const char *value, uint64_t *seeds, int *n) {
    dpt_err why;
    if (dpt_arg_seeds("seeds =", value, seeds, DPT_EXP_MAX_SEEDS, n, &why))
        return snprintf(st->problem, sizeof st->problem, "%s", why.msg), 0;
    return 1;
}

/* A [train] setting; one already set (by [train], when [quick] overrides it) is replaced. */
static int set_train(parse_state *st, const char *name, const char *value) {
    dpt_experiment *e = st->e;
    int flag = 0;
    if (check_option(st, name, checked_value(name, value), &flag)) return 0;
    if (flag && strcmp(value, "true") && strcmp(value, "false"))
        return snprintf(st->problem, sizeof st->problem, "%s is a flag: true or false", name), 0;
    int t = 0;
    while (t < e->ntrain && strcmp(e->train[t].key, name)) t++;
    if (t == DPT_EXP_MAX_SETTINGS)
        return snprintf(st->problem, sizeof st->problem, "too many settings"), 0;
    if (t == e->ntrain) e->ntrain++;
    dpt_setting_text *s = &e->train[t];
    snprintf(s->key, sizeof s->key, "%s", name);
    snprintf(s->option, sizeof s->option, "--%s", name);
    snprintf(s->value, sizeof s->value, "%s", value);
    s->flag = flag;
    return 1;
}

/* A [grid] key with its comma-separated values; one already there (when [quick] overrides it)
   gets the new values. */
static int set_grid(parse_state *st, const char *name, const char *value) {
    dpt_experiment *e = st->e;
    int flag = 0;
    if (check_option(st, name, NULL, &flag)) return 0;
    int k = 0;
    while (k < e->ngrid && strcmp(e->grid[k].key, name)) k++;
    if (flag || k == DPT_EXP_MAX_GRID)
        return snprintf(st->problem, sizeof st->problem,
                        flag ? "%s is a flag and cannot be swept" : "too many grid keys (%s)",
                        name),
               0;
    if (k == e->ngrid) e->ngrid++;
    dpt_grid_key *g = &e->grid[k];
    snprintf(g->key, sizeof g->key, "%s", name);
    snprintf(g->option, sizeof g->option, "--%s", name);
    g->nvalues = 0;
    char copy[DPT_EXP_MAX_VALUES * 64];
    snprintf(copy, sizeof copy, "%s", value);
    for (char *save = NULL, *v = strtok_r(copy, ",", &save); v; v = strtok_r(NULL, ",", &save)) {
        v = trim(v);
        if (!*v || g->nvalues == DPT_EXP_MAX_VALUES || strlen(v) >= sizeof g->values[0])
            return snprintf(st->problem, sizeof st->problem, "%s: bad value list", name), 0;
        if (check_option(st, name, checked_value(name, v), &flag)) return 0;
        snprintf(g->values[g->nvalues++], sizeof g->values[0], "%s", v);
    }
    if (!g->nvalues) return snprintf(st->problem, sizeof st->problem, "%s: no values", name), 0;
    return 1;
}

/* A [models] entry; inih hands an indented continuation line over under the same name. */
static int set_model(parse_state *st, const char *name, const char *value) {
    dpt_experiment *e = st->e;
    if (e->nmodels && strcmp(e->models[e->nmodels - 1].name, name) == 0) {
        char *spec = e->models[e->nmodels - 1].spec;
        size_t len = strlen(spec);
        if (len + 1 + strlen(value) >= sizeof e->models[0].spec)
            return snprintf(st->problem, sizeof st->problem, "model %s: spec too long", name), 0;
        snprintf(spec + len, sizeof e->models[0].spec - len, " %s", value);
        return 1;
    }
    if (!is_folder_name(name, sizeof e->models[0].name))
        return snprintf(st->problem, sizeof st->problem,
                        "model name '%s': letters, digits, '.', '_' and '-' only", name),
               0;
    for (int m = 0; m < e->nmodels; m++)
        if (strcmp(e->models[m].name, name) == 0)
            return snprintf(st->problem, sizeof st->problem, "model %s defined twice", name), 0;
    if (e->nmodels == DPT_EXP_MAX_MODELS || strlen(value) >= sizeof e->models[0].spec)
        return snprintf(st->problem, sizeof st->problem, "too many models or spec too long"), 0;
    snprintf(e->models[e->nmodels].name, sizeof e->models[0].name, "%s", name);
    snprintf(e->models[e->nmodels++].spec, sizeof e->models[0].spec, "%s", value);
    return 1;
}

static int on_entry(void *user, const char *section, const char *name, const char *value) {
    parse_state *st = user;
    dpt_experiment *e = st->e;
    int flag = 0;
    if (strcmp(section, "experiment") == 0) {
        if (strcmp(name, "name") == 0) {
            if (!is_folder_name(value, sizeof e->name - 6)) /* room for "-quick" */
                return snprintf(st->problem, sizeof st->problem,
                                "name '%s': a folder name of letters, digits, '.', '_' and '-', "
                                "not starting with '.'",
                                value),
                       0;
            snprintf(e->name, sizeof e->name, "%s", value);
        } else if (strcmp(name, "description") == 0) {
            snprintf(e->description, sizeof e->description, "%s", value);
        } else if (strcmp(name, "seeds") == 0) {
            return parse_seeds(st, value, e->seeds, &e->nseeds);
        } else if (strcmp(name, "ranks") == 0) {
            dpt_err why;
            if (dpt_arg_int("ranks =", value, 1, &e->ranks, &why))
                return snprintf(st->problem, sizeof st->problem, "%s", why.msg), 0;
        } else if (strcmp(name, "plot") == 0) {
            return check_plot_options(st, value);
        } else {
            return snprintf(st->problem, sizeof st->problem,
                            "unknown key '%s' (name, description, seeds, ranks, plot)", name),
                   0;
        }
    } else if (strcmp(section, "train") == 0) {
        return set_train(st, name, value);
    } else if (strcmp(section, "grid") == 0) {
        return set_grid(st, name, value);
    } else if (strcmp(section, "models") == 0) {
        return set_model(st, name, value);
    } else if (strcmp(section, "quick") == 0) {
        if (strcmp(name, "seeds") == 0) { /* checked now, for the line number */
            uint64_t seeds[DPT_EXP_MAX_SEEDS];
            int n;
            if (!parse_seeds(st, value, seeds, &n)) return 0;
        } else if (check_option(st, name, NULL, &flag)) {
            return 0;
        }
        if (e->nquick == DPT_EXP_MAX_SETTINGS)
            return snprintf(st->problem, sizeof st->problem, "too many settings"), 0;
        dpt_setting_text *q = &e->quick[e->nquick++];
        snprintf(q->key, sizeof q->key, "%s", name);
        snprintf(q->value, sizeof q->value, "%s", value);
    } else {
        return snprintf(st->problem, sizeof st->problem,
                        "unknown section [%s] (experiment, train, grid, models, quick)", section),
               0;
    }
    return 1;
}

/* --quick: [quick]'s settings replace those of [experiment] (seeds), [grid] (values of a key
   there) or [train], and the name gains "-quick" so quick runs never resume full ones. */
static int apply_quick(parse_state *st) {
    dpt_experiment *e = st->e;
    for (int q = 0; q < e->nquick; q++) {
        const char *key = e->quick[q].key, *value = e->quick[q].value;
        int g = 0;
        while (g < e->ngrid && strcmp(e->grid[g].key, key)) g++;
        if (!(strcmp(key, "seeds") == 0 ? parse_seeds(st, value, e->seeds, &e->nseeds)
              : g < e->ngrid            ? set_grid(st, key, value)
                                        : set_train(st, key, value)))
            return -1;
    }
    strcat(e->name, "-quick"); /* the name's check left room */
    return 0;
}

int dpt_experiment_load(const char *path,
                        int (*check)(const char *option, const char *value, int *flag,
                                     dpt_err *err),
                        int quick, dpt_experiment *e, dpt_err *err) {
    memset(e, 0, sizeof *e);
    snprintf(e->path, sizeof e->path, "%s", path);
    e->ranks = 1;
    parse_state st = {.e = e, .check = check};
    if (dpt_check_regular_file(path, err)) return -1;
    int line = ini_parse(path, on_entry, &st);
    if (line < 0) /* -1: fopen failed, errno says why */
        return dpt_fail(err, "%s: cannot read the experiment file: %s", path,
                        line == -1 ? strerror(errno) : "out of memory");
    if (line > 0)
        return dpt_fail(err, "%s:%d: %s", path, line,
                        st.problem[0] ? st.problem
                                      : "syntax error (or a line over 199 characters: continue a "
                                        "[models] spec on indented lines)");
    if (!e->name[0]) return dpt_fail(err, "%s: [experiment] needs a name", path);
    if (!e->nseeds) return dpt_fail(err, "%s: [experiment] needs seeds, e.g. seeds = 1-3", path);
    if (quick && !e->nquick)
        return dpt_fail(err, "%s: no [quick] section: --quick needs one (e.g. epochs = 1)", path);
    /* [quick] is checked whether or not it applies: on a copy when it does not. */
    static dpt_experiment trial;
    st.e = quick ? e : &trial;
    if (!quick) trial = *e;
    if (e->nquick && apply_quick(&st)) return dpt_fail(err, "%s: [quick]: %s", path, st.problem);
    for (int g = 0; g < e->ngrid; g++)
        for (int t = 0; t < e->ntrain; t++)
            if (strcmp(e->grid[g].key, e->train[t].key) == 0)
                return dpt_fail(err, "%s: %s is both in [train] and in [grid]", path,
                                e->grid[g].key);
    long long points = 1;
    for (int g = 0; g < e->ngrid; g++) points *= e->grid[g].nvalues; /* at most 24^6 */
    if (points * e->nseeds > DPT_EXP_MAX_RUNS)
        return dpt_fail(err,
                        "%s: %lld grid points x %d seeds = %lld runs, more than %d: split the "
                        "experiment",
                        path, points, e->nseeds, points * e->nseeds, DPT_EXP_MAX_RUNS);
    return 0;
}

int dpt_experiment_points(const dpt_experiment *e) {
    int n = 1;
    for (int g = 0; g < e->ngrid; g++) n *= e->grid[g].nvalues;
    return n;
}

/* The value index of grid key g at point p (the last key varies fastest). */
static int value_index(const dpt_experiment *e, int p, int g) {
    for (int k = e->ngrid - 1; k > g; k--) p /= e->grid[k].nvalues;
    return p % e->grid[g].nvalues;
}

void dpt_experiment_label(const dpt_experiment *e, int p, char *buf, size_t size) {
    size_t len = 0;
    buf[0] = 0;
    for (int g = 0; g < e->ngrid && len < size; g++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s=%s", g ? "," : "", e->grid[g].key,
                                e->grid[g].values[value_index(e, p, g)]);
}

/* A model value's spec when [models] names it, else the value itself. */
static const char *model_value(const dpt_experiment *e, const char *key, const char *value) {
    if (strcmp(key, "model") == 0)
        for (int m = 0; m < e->nmodels; m++)
            if (strcmp(e->models[m].name, value) == 0) return e->models[m].spec;
    return value;
}

int dpt_experiment_args(const dpt_experiment *e, int p, const char **args, int max) {
    int n = 0;
    for (int t = 0; t < e->ntrain && n + 2 <= max; t++) {
        if (e->train[t].flag && strcmp(e->train[t].value, "false") == 0) continue;
        args[n++] = e->train[t].option;
        if (!e->train[t].flag) args[n++] = model_value(e, e->train[t].key, e->train[t].value);
    }
    for (int g = 0; g < e->ngrid && n + 2 <= max; g++) {
        args[n++] = e->grid[g].option;
        args[n++] = model_value(e, e->grid[g].key, e->grid[g].values[value_index(e, p, g)]);
    }
    return n;
}
