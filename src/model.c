#include "dptrain/model.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "presets.h"

/* Limits on what a spec may build, so that hostile text fails with a message instead of
   overflowing a count, the stack or the memory:
   - MAX_VALUES bounds every tensor per sample (the input, each node's output, each parameter
     and state tensor, a layer's scratch) and the model's totals (activations per sample,
     parameters plus statistics, state). Counts then fit an int with room to spare: the kernels
     index with ints and add paddings, kernels and strides (at most 2^20 each, see
     dpt_layer_int_arg) to dimensions, and MPI sends the parameters with an int count.
   - MAX_NODES and MAX_SAVED (@names) bound the graph, and so the parser's memory and time;
     MAX_DEPTH bounds its recursion through nested res[ ] blocks. */
#define MAX_VALUES (1 << 30)
#define MAX_VALUES_TEXT "2^30 (1073741824)"
#define MAX_NODES 10000
#define MAX_SAVED 10000
#define MAX_DEPTH 64

void dpt_model_presets(void (*each)(const char *name, const char *spec, void *ctx), void *ctx) {
    for (size_t i = 0; i < dpt_npresets; i++) each(dpt_presets[i].name, dpt_presets[i].spec, ctx);
}

const char *dpt_model_preset_names(void) {
    static char names[1024];
    if (!names[0])
        for (size_t i = 0, len = 0; i < dpt_npresets && len < sizeof names; i++)
            len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? " " : "",
                                    dpt_presets[i].name);
    return names;
}

static const char *preset_spec(const char *name) {
    for (size_t i = 0; i < dpt_npresets; i++)
        if (strcmp(dpt_presets[i].name, name) == 0) return dpt_presets[i].spec;
    return NULL;
}

/* A growing string: the canonical spec. */
typedef struct text {
    char *s;
    size_t len, cap;
    int failed;
} text;

static void text_add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(text *t, const char *fmt, ...) {
    for (int tries = 0; tries < 2 && !t->failed; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if (t->s && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = 2 * (t->len + (size_t)n + 1) + 64;
        char *grown = realloc(t->s, cap);
        if (!grown)
            t->failed = 1;
        else
            t->s = grown, t->cap = cap;
    }
}

/* A saved name has at most NAME_MAX_LEN characters. */
#define NAME_MAX_LEN 23

typedef struct saved_name {
    char name[NAME_MAX_LEN + 1];
    size_t len;
    int node;
} saved_name;

typedef struct parser {
    const char *p;
    dpt_model *m;
    int classes; /* what the word `classes` stands for in an argument */
    int capacity;
    saved_name *saved;
    int nsaved, saved_capacity;
    int *slots; /* open addressing over saved: an index, or -1; saved_capacity * 2 of them */
    struct {
        const dpt_layer_kind *kind;
        int count;
    } seen[64]; /* nodes of each kind so far, for their ordinals */
    int nseen;
    /* The nodes so far: output values per sample, parameters plus statistics, state. */
    size_t activations, params, state;
    text canon;
    dpt_err *err;
} parser;

/* Where a message about node `index` (0-based) starts. */
#define AT "model spec, layer %d"

/* Up to 20 characters of the spec at s for a message: quoted, with anything but printable
   ASCII escaped so the message stays one line; "the end of the spec" at its end. */
typedef struct excerpt {
    char s[96];
} excerpt;

static excerpt excerpt_of(const char *s) {
    excerpt e;
    if (!*s) {
        snprintf(e.s, sizeof e.s, "the end of the spec");
        return e;
    }
    size_t len = 0;
    e.s[len++] = '\'';
    int i = 0;
    for (; i < 20 && s[i]; i++) {
        const unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            e.s[len++] = (char)c;
        else
            len += (size_t)snprintf(e.s + len, sizeof e.s - len, "\\x%02x", c);
    }
    snprintf(e.s + len, sizeof e.s - len, "%s'", s[i] ? "..." : "");
    return e;
}

static int new_node(parser *ps, dpt_layer **out) {
    dpt_model *m = ps->m;
    if (m->nlayers >= MAX_NODES)
        return dpt_fail(ps->err, AT ": more than %d layers", m->nlayers + 1, MAX_NODES);
    if (m->nlayers == ps->capacity) {
        ps->capacity = ps->capacity ? 2 * ps->capacity : 16;
        dpt_layer *grown = realloc(m->layers, sizeof *grown * (size_t)ps->capacity);
        if (!grown) return dpt_fail(ps->err, "out of memory building the model");
        m->layers = grown;
    }
    *out = &m->layers[m->nlayers];
    memset(*out, 0, sizeof **out);
    (*out)->index = m->nlayers;
    return 0;
}

static dpt_shape shape_of(const dpt_model *m, int node) {
    return node < 0 ? m->input : m->layers[node].out;
}

static void shape_str(dpt_shape s, char *buf, size_t size) {
    snprintf(buf, size, "%dx%dx%d", s.c, s.h, s.w);
}

static double product(int ndims, const int *dims) {
    double p = 1;
    for (int i = 0; i < ndims; i++) p *= dims[i];
    return p;
}

/* Checks the sizes of a node that setup accepted against MAX_VALUES (products in double, which
   cannot overflow), before anything multiplies them in integers; why gets the problem. */
static int check_sizes(parser *ps, const dpt_layer *l, dpt_err *why) {
    const dpt_shape o = l->out;
    char dims[64];
    shape_str(o, dims, sizeof dims);
    if (o.c < 1 || o.h < 1 || o.w < 1) return dpt_fail(why, "its output %s is empty", dims);
    const double out = (double)o.c * o.h * o.w;
    if (out > MAX_VALUES)
        return dpt_fail(why, "its output %s has %.3g values per sample, more than " MAX_VALUES_TEXT,
                        dims, out);
    double sums[2] = {0, 0};
    for (int set = 0; set < 2; set++) {
        const int n = set ? l->nstate_tensors : l->ntensors;
        const dpt_tensor *t = set ? l->state_tensors : l->tensors;
        for (int i = 0; i < n; i++) {
            const double count = product(t[i].ndims, t[i].dims);
            if (count > MAX_VALUES) {
                size_t len = 0;
                dims[0] = 0;
                for (int d = 0; d < t[i].ndims && len < sizeof dims; d++)
                    len += (size_t)snprintf(dims + len, sizeof dims - len, "%s%d", d ? "x" : "",
                                            t[i].dims[d]);
                return dpt_fail(why, "its %s %s has %.3g values, more than " MAX_VALUES_TEXT,
                                t[i].name, dims, count);
            }
            sums[set] += count;
        }
    }
    if (l->kind->scratch) {
        const size_t scratch = l->kind->scratch(l, 1);
        if (scratch > MAX_VALUES)
            return dpt_fail(why,
                            "it needs %.3g values of scratch memory, more than " MAX_VALUES_TEXT,
                            (double)scratch);
    }
    const double params = (double)ps->params + sums[0] + (double)l->nstats,
                 state = (double)ps->state + sums[1];
    if (params > MAX_VALUES)
        return dpt_fail(why,
                        "the model's parameters and statistics would total %.3g values, more "
                        "than " MAX_VALUES_TEXT,
                        params);
    if (state > MAX_VALUES)
        return dpt_fail(
            why, "the model's state would total %.3g values, more than " MAX_VALUES_TEXT, state);
    if ((double)ps->activations + out > MAX_VALUES)
        return dpt_fail(
            why,
            "the model's outputs would total %.3g values per sample, more than " MAX_VALUES_TEXT,
            (double)ps->activations + out);
    return 0;
}

/* Sets the node up on its inputs, checks its sizes, names it and counts it in. */
static int finish_node(parser *ps, dpt_layer *l) {
    dpt_model *m = ps->m;
    for (int i = 0; i < l->kind->inputs; i++) l->in[i] = shape_of(m, l->input[i]);
    dpt_err why;
    if (l->kind->setup(l, &why) || check_sizes(ps, l, &why)) {
        char a[48], b[48];
        shape_str(l->in[0], a, sizeof a);
        shape_str(l->in[1], b, sizeof b);
        if (l->kind->inputs == 2)
            return dpt_fail(ps->err, AT " (%s of %s and %s): %s", l->index + 1, l->kind->name, a, b,
                            why.msg);
        return dpt_fail(ps->err, AT " (%s on %s): %s", l->index + 1, l->kind->name, a, why.msg);
    }
    /* Ordinals per kind without rescanning the nodes (specs may have thousands). */
    int ordinal = 1, k = 0;
    while (k < ps->nseen && ps->seen[k].kind != l->kind) k++;
    if (k < ps->nseen) {
        ordinal = ++ps->seen[k].count;
    } else if (k < (int)(sizeof ps->seen / sizeof ps->seen[0])) {
        ps->seen[k].kind = l->kind, ps->seen[k].count = 1, ps->nseen++;
    } else {
        for (int i = 0; i < m->nlayers; i++) ordinal += m->layers[i].kind == l->kind;
    }
    const char *prefix = l->kind->prefix ? l->kind->prefix : l->kind->name;
    snprintf(l->name, sizeof l->name, "%s%d", prefix, ordinal);
    for (int i = 0; i < l->ntensors; i++) l->nparams += l->tensors[i].count;
    for (int i = 0; i < l->nstate_tensors; i++) l->nstate += l->state_tensors[i].count;
    ps->activations += dpt_shape_size(l->out);
    ps->params += l->nparams + l->nstats;
    ps->state += l->nstate;
    m->nlayers++;
    return 0;
}

static size_t name_hash(const char *name, size_t len) {
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)name[i]) * 0x100000001b3ULL;
    return (size_t)h;
}

/* The slot holding the name, or the empty slot where it would go. */
static int *saved_slot(const parser *ps, const char *name, size_t len) {
    const size_t mask = 2 * (size_t)ps->saved_capacity - 1;
    for (size_t i = name_hash(name, len) & mask;; i = (i + 1) & mask) {
        int *slot = &ps->slots[i];
        if (*slot < 0 ||
            (ps->saved[*slot].len == len && memcmp(ps->saved[*slot].name, name, len) == 0))
            return slot;
    }
}

static int find_saved(const parser *ps, const char *name, size_t len) {
    return ps->nsaved ? *saved_slot(ps, name, len) : -1;
}

/* Saves the name for node `node`; the caller checked that it is new. */
static int add_saved(parser *ps, const char *name, size_t len, int node) {
    if (ps->nsaved == ps->saved_capacity) {
        const int capacity = ps->saved_capacity ? 2 * ps->saved_capacity : 8;
        saved_name *grown = realloc(ps->saved, sizeof *grown * (size_t)capacity);
        int *slots = malloc(sizeof *slots * 2 * (size_t)capacity);
        if (grown) ps->saved = grown;
        if (!grown || !slots) {
            free(slots);
            return dpt_fail(ps->err, "out of memory building the model");
        }
        free(ps->slots);
        ps->slots = slots;
        ps->saved_capacity = capacity;
        for (int i = 0; i < 2 * capacity; i++) slots[i] = -1;
        for (int i = 0; i < ps->nsaved; i++)
            *saved_slot(ps, ps->saved[i].name, ps->saved[i].len) = i;
    }
    saved_name *sv = &ps->saved[ps->nsaved];
    memcpy(sv->name, name, len);
    sv->name[len] = 0;
    sv->len = len;
    sv->node = node;
    *saved_slot(ps, name, len) = ps->nsaved++;
    return 0;
}

/* The length of the name at s (letters, digits, '_' and '-'), however long. */
static size_t name_length(const char *s) {
    size_t len = 0;
    while (isalnum((unsigned char)s[len]) || s[len] == '_' || s[len] == '-') len++;
    return len;
}

/* Checks the name after the '@' at at: 0, or -1 with a message about node `index`. */
static int check_name(parser *ps, int index, const char *kind, const char *at, size_t len) {
    char where[64] = "";
    if (kind) snprintf(where, sizeof where, " (%s)", kind);
    if (len == 0)
        return dpt_fail(ps->err, AT "%s: expected a name after '@' at %s", index, where,
                        excerpt_of(at).s);
    if (len > NAME_MAX_LEN)
        return dpt_fail(ps->err, AT "%s: @%.*s...: a name has at most %d characters", index, where,
                        NAME_MAX_LEN, at + 1, NAME_MAX_LEN);
    return 0;
}

/* Parses "kind" or "kind(a,b,key=c)" at ps->p into a node reading `current`; its output becomes
 *current. */
static int parse_layer(parser *ps, int *current) {
    const char *s = ps->p;
    const int index = ps->m->nlayers + 1;
    char name[32];
    size_t len = 0;
    while (isalnum((unsigned char)s[len]) || s[len] == '_') len++;
    if (len == 0)
        return dpt_fail(ps->err, AT ": expected a layer name at %s", index, excerpt_of(s).s);
    if (len >= sizeof name)
        return dpt_fail(ps->err, AT ": unknown layer '%.20s...' (known: %s)", index, s,
                        dpt_layer_kind_names());
    memcpy(name, s, len);
    name[len] = 0;
    s += len;
    dpt_layer *l = NULL;
    if (new_node(ps, &l)) return -1;
    l->kind = dpt_layer_kind_find(name);
    if (!l->kind)
        return dpt_fail(ps->err, AT ": unknown layer '%s' (known: %s)", index, name,
                        dpt_layer_kind_names());
    const dpt_layer_kind *k = l->kind;
    l->input[0] = *current;
    l->input[1] = -1;
    int given[DPT_LAYER_MAX_ARGS] = {0}, positional = 0;
    for (int i = 0; i < DPT_LAYER_MAX_ARGS; i++) l->arg[i] = k->args[i].fallback;
    const char *from = NULL;
    size_t from_len = 0;
    if (*s == '(') {
        s++;
        while (isspace((unsigned char)*s)) s++;
        while (*s != ')') {
            int slot = -1;
            const char *eq = s;
            while (isalpha((unsigned char)*eq) || *eq == '_') eq++;
            if (*eq == '=' && eq > s) {
                for (int i = 0; i < DPT_LAYER_MAX_ARGS && k->args[i].name; i++)
                    if (strlen(k->args[i].name) == (size_t)(eq - s) &&
                        strncmp(k->args[i].name, s, (size_t)(eq - s)) == 0)
                        slot = i;
                if (slot < 0)
                    return dpt_fail(ps->err, AT " (%s): unknown argument '%.*s%s'", index, name,
                                    eq - s > 20 ? 20 : (int)(eq - s), s, eq - s > 20 ? "..." : "");
                s = eq + 1;
            } else {
                slot = positional++;
                if (slot >= DPT_LAYER_MAX_ARGS || !k->args[slot].name)
                    return dpt_fail(ps->err, AT " (%s): too many arguments", index, name);
            }
            if (given[slot]++)
                return dpt_fail(ps->err, AT " (%s): %s given twice", index, name,
                                k->args[slot].name);
            while (isspace((unsigned char)*s)) s++;
            if (strcmp(k->args[slot].name, "from") == 0) {
                if (*s != '@')
                    return dpt_fail(ps->err, AT " (%s): expected a saved tensor's @name at %s",
                                    index, name, excerpt_of(s).s);
                from_len = name_length(s + 1);
                if (check_name(ps, index, name, s, from_len)) return -1;
                from = s + 1;
                int saved = find_saved(ps, from, from_len);
                if (saved < 0)
                    return dpt_fail(ps->err, AT " (%s): no tensor was saved as @%.*s before it",
                                    index, name, (int)from_len, from);
                l->input[1] = ps->saved[saved].node;
                snprintf(l->from, sizeof l->from, "%.*s", (int)from_len, from);
                s = from + from_len;
            } else if (k->args[slot].words) {
                /* One of the argument's words, stored as its index. */
                const dpt_layer_arg *a = &k->args[slot];
                const size_t word_len = name_length(s);
                const int word = dpt_layer_arg_word(a, s, word_len);
                if (word < 0) {
                    char words[160];
                    dpt_layer_arg_words(a, " ", words, sizeof words);
                    if (word_len == 0 || word_len > 20)
                        return dpt_fail(ps->err, AT " (%s): expected a %s (one of: %s) at %s",
                                        index, name, a->name, words, excerpt_of(s).s);
                    return dpt_fail(ps->err, AT " (%s): unknown %s '%.*s' (one of: %s)", index,
                                    name, a->name, (int)word_len, s, words);
                }
                l->arg[slot] = word;
                s += word_len;
            } else if (strncmp(s, "classes", 7) == 0 && !isalnum((unsigned char)s[7])) {
                l->arg[slot] = ps->classes;
                s += 7;
            } else {
                char *end;
                double v = strtod(s, &end);
                if (end == s || !isfinite(v))
                    return dpt_fail(ps->err, AT " (%s): expected a number at %s", index, name,
                                    excerpt_of(s).s);
                l->arg[slot] = v + 0.0; /* -0 reads as 0: the canonical spec never says -0 */
                s = end;
            }
            while (isspace((unsigned char)*s)) s++;
            if (*s == ',') {
                s++;
                while (isspace((unsigned char)*s)) s++;
            } else if (*s != ')') {
                return dpt_fail(ps->err, AT " (%s): expected ',' or ')' at %s", index, name,
                                excerpt_of(s).s);
            }
        }
        s++;
    }
    for (int i = 0; i < DPT_LAYER_MAX_ARGS && k->args[i].name; i++)
        if (k->args[i].required && !given[i])
            return dpt_fail(ps->err, AT " (%s): missing argument '%s'", index, name,
                            k->args[i].name);
    if (k->inputs == 2 && !from)
        return dpt_fail(ps->err, AT " (%s): needs a saved tensor: %s(@name)", index, name, name);
    if (*s && !isspace((unsigned char)*s) && *s != ']' && *s != '|')
        return dpt_fail(ps->err, AT " (%s): unexpected %s after it", index, name, excerpt_of(s).s);
    ps->p = s;
    if (finish_node(ps, l)) return -1;
    char buf[512];
    dpt_layer_text(l, buf, sizeof buf);
    text_add(&ps->canon, "%s%s", ps->canon.len ? " " : "", buf);
    *current = l->index;
    return 0;
}

static int parse_sequence(parser *ps, int *current, int depth);

/* "res[ BODY ]" or "res[ BODY | SHORTCUT ]" at ps->p (after "res["): BODY and SHORTCUT read
   the block's input; an add node sums their outputs. */
static int parse_residual(parser *ps, int *current, int depth) {
    const int block_input = *current, first = ps->m->nlayers + 1;
    if (depth >= MAX_DEPTH)
        return dpt_fail(ps->err, AT ": res[ ] blocks nest more than %d deep", first, MAX_DEPTH);
    text_add(&ps->canon, "%sres[", ps->canon.len ? " " : "");
    int body = block_input, shortcut = block_input;
    if (parse_sequence(ps, &body, depth + 1)) return -1;
    if (body == block_input)
        return dpt_fail(ps->err, AT ": a res[ ] block needs at least one layer", first);
    if (*ps->p == '|') {
        ps->p++;
        text_add(&ps->canon, " |");
        if (parse_sequence(ps, &shortcut, depth + 1)) return -1;
        if (*ps->p == '|')
            return dpt_fail(ps->err, AT ": a second '|' in the res[ block opened at layer %d",
                            ps->m->nlayers + 1, first);
    }
    if (*ps->p != ']')
        return dpt_fail(ps->err, AT ": the res[ block opened there never closes", first);
    ps->p++;
    text_add(&ps->canon, " ]");
    const dpt_shape a = shape_of(ps->m, body), b = shape_of(ps->m, shortcut);
    if (a.c != b.c || a.h != b.h || a.w != b.w) {
        char as[48], bs[48];
        shape_str(a, as, sizeof as);
        shape_str(b, bs, sizeof bs);
        return dpt_fail(ps->err,
                        AT ": the res[ block opened at layer %d gives %s from its body but %s from "
                           "its %sshortcut",
                        ps->m->nlayers + 1, first, as, bs,
                        shortcut == block_input ? "identity " : "");
    }
    dpt_layer *add = NULL;
    if (new_node(ps, &add)) return -1;
    add->kind = dpt_layer_kind_find("add");
    add->input[0] = body;
    add->input[1] = shortcut;
    if (finish_node(ps, add)) return -1;
    *current = add->index;
    return 0;
}

/* Items until the end of the text, or '|' or ']' inside a block. */
static int parse_sequence(parser *ps, int *current, int depth) {
    for (;;) {
        while (isspace((unsigned char)*ps->p)) ps->p++;
        const char c = *ps->p;
        if (c == 0 || ((c == '|' || c == ']') && depth > 0)) return 0;
        if (c == '|' || c == ']')
            return dpt_fail(ps->err, AT ": '%c' outside a res[ ] block", ps->m->nlayers + 1, c);
        if (c == '@') {
            const int index = ps->m->nlayers + 1;
            size_t len = name_length(ps->p + 1);
            if (check_name(ps, index, NULL, ps->p, len)) return -1;
            if (find_saved(ps, ps->p + 1, len) >= 0)
                return dpt_fail(ps->err, AT ": @%.*s is saved twice", index, (int)len, ps->p + 1);
            if (ps->nsaved >= MAX_SAVED)
                return dpt_fail(ps->err, AT ": more than %d @names", index, MAX_SAVED);
            if (add_saved(ps, ps->p + 1, len, *current)) return -1;
            text_add(&ps->canon, "%s@%.*s", ps->canon.len ? " " : "", (int)len, ps->p + 1);
            ps->p += len + 1;
            continue;
        }
        if (strncmp(ps->p, "res[", 4) == 0) {
            ps->p += 4;
            if (parse_residual(ps, current, depth)) return -1;
            continue;
        }
        if (parse_layer(ps, current)) return -1;
    }
}

/* ReLU then max-pooling gives what max-pooling then ReLU gives, value for value and gradient for
   gradient: ReLU keeps the order of values, so where a window's maximum is positive both pick
   its first maximum and pass it the same gradient, and where it is not, every gradient of the
   window is +0 either way (NaN inputs aside). Pooling first runs the ReLU on the pooled values,
   a quarter of them for 2x2 windows (cnn2710: ReLU 11% of a step before, 3.6% after): where a
   relu's only reader is a maxpool, the two nodes trade places, their names and the canonical
   spec unchanged, the relu marked `moved`. */
static int pool_before_relu(dpt_model *m, dpt_err *err) {
    int *readers = calloc((size_t)m->nlayers, sizeof *readers);
    if (!readers) return dpt_fail(err, "out of memory building the model");
    for (int i = 0; i < m->nlayers; i++)
        for (int k = 0; k < m->layers[i].kind->inputs; k++)
            if (m->layers[i].input[k] >= 0) readers[m->layers[i].input[k]]++;
    for (int i = 0; i + 1 < m->nlayers; i++) {
        dpt_layer *first = &m->layers[i], *second = &m->layers[i + 1];
        if (strcmp(first->kind->name, "relu") != 0 || strcmp(second->kind->name, "maxpool") != 0 ||
            second->input[0] != i || readers[i] != 1)
            continue;
        const dpt_layer relu = *first;
        *first = *second;
        first->index = i, first->input[0] = relu.input[0], first->in[0] = relu.in[0];
        *second = relu;
        second->index = i + 1, second->input[0] = i, second->in[0] = second->out = first->out;
        second->moved = 1;
        i++;
    }
    free(readers);
    return 0;
}

/* Offsets of every node's tensors in the three flat buffers, and the tables naming them. */
static int lay_out_buffers(dpt_model *m, dpt_err *err) {
    for (int i = 0; i < m->nlayers; i++) {
        m->nparams_tensors += m->layers[i].ntensors;
        m->nstate_tensors += m->layers[i].nstate_tensors;
    }
    m->params = calloc((size_t)m->nparams_tensors + 1, sizeof *m->params);
    m->states = calloc((size_t)m->nstate_tensors + 1, sizeof *m->states);
    if (!m->params || !m->states) return dpt_fail(err, "out of memory building the model");
    int t = 0, s = 0;
    for (int i = 0; i < m->nlayers; i++) {
        dpt_layer *l = &m->layers[i];
        for (int k = 0; k < l->kind->inputs; k++)
            if (l->input[k] >= 0) m->layers[l->input[k]].last_reader = i;
        l->param_offset = m->nparams;
        l->state_offset = m->nstate;
        l->stat_offset = m->nstats;
        l->first_param = t;
        for (int j = 0; j < l->ntensors + l->nstate_tensors; j++) {
            const int is_param = j < l->ntensors;
            const dpt_tensor *src = is_param ? &l->tensors[j] : &l->state_tensors[j - l->ntensors];
            dpt_param *dst = is_param ? &m->params[t++] : &m->states[s++];
            snprintf(dst->name, sizeof dst->name, "%s/%s", l->name, src->name);
            dst->offset = (is_param ? l->param_offset : l->state_offset) + src->offset;
            dst->count = src->count;
            dst->ndims = src->ndims;
            memcpy(dst->dims, src->dims, sizeof dst->dims);
        }
        m->nparams += l->nparams;
        m->nstate += l->nstate;
        m->nstats += l->nstats;
    }
    return 0;
}

/* The logits' shape for the task: m->classes and m->positions. */
static int check_output(dpt_model *m, int classes, dpt_err *err) {
    const dpt_shape last = m->layers[m->nlayers - 1].out;
    if (m->task == DPT_TASK_CLASSIFY) {
        m->classes = (int)dpt_shape_size(last);
        m->positions = 1;
        if (classes > 0 && m->classes != classes)
            return dpt_fail(err,
                            "model spec: the last layer gives %d outputs per sample, the data has "
                            "%d classes",
                            m->classes, classes);
        return 0;
    }
    m->classes = last.c;
    m->positions = last.h * last.w;
    if (last.h != m->input.h || last.w != m->input.w || (classes > 0 && last.c != classes))
        return dpt_fail(err,
                        "model spec: segmentation needs the last layer to give %dx%dx%d (a "
                        "class's logit per pixel); it gives %dx%dx%d",
                        classes > 0 ? classes : last.c, m->input.h, m->input.w, last.c, last.h,
                        last.w);
    return 0;
}

int dpt_model_build(const char *spec_text, dpt_shape input, int classes, dpt_model *m,
                    dpt_err *err) {
    return dpt_model_build_task(spec_text, input, classes, DPT_TASK_CLASSIFY, m, err);
}

int dpt_model_build_task(const char *spec_text, dpt_shape input, int classes, dpt_task task,
                         dpt_model *m, dpt_err *err) {
    memset(m, 0, sizeof *m);
    if (input.c < 1 || input.h < 1 || input.w < 1 ||
        (double)input.c * input.h * input.w > MAX_VALUES)
        return dpt_fail(err,
                        "model input %dx%dx%d: each dimension must be at least 1 and the size at "
                        "most " MAX_VALUES_TEXT " values",
                        input.c, input.h, input.w);
    const char *spec = preset_spec(spec_text);
    if (!spec) spec = spec_text;
    m->input = input;
    m->task = task;
    parser ps = {.p = spec,
                 .m = m,
                 .classes = classes > 0 ? classes : DPT_DEFAULT_CLASSES,
                 .err = err,
                 .activations = dpt_shape_size(input)};
    int current = -1, rc = parse_sequence(&ps, &current, 0);
    free(ps.saved);
    free(ps.slots);
    m->spec = ps.canon.s;
    if (rc == 0 && ps.canon.failed) rc = dpt_fail(err, "out of memory building the model");
    if (rc == 0 && m->nlayers == 0)
        rc = dpt_fail(err, "model spec %s has no layers (presets: %s)", excerpt_of(spec_text).s,
                      dpt_model_preset_names());
    if (rc == 0) rc = check_output(m, classes, err);
    if (rc == 0) rc = pool_before_relu(m, err);
    if (rc == 0) rc = lay_out_buffers(m, err);
    if (rc) dpt_model_free(m);
    return rc;
}

void dpt_model_free(dpt_model *m) {
    free(m->spec);
    free(m->layers);
    free(m->params);
    free(m->states);
    memset(m, 0, sizeof *m);
}

void dpt_model_init(const dpt_model *m, float *params, float *state, dpt_init init, uint64_t seed) {
    for (int i = 0; i < m->nlayers; i++) {
        const dpt_layer *l = &m->layers[i];
        if (l->kind->init) {
            dpt_rng rng = dpt_rng_stream(seed, DPT_STREAM_INIT, (uint64_t)i);
            l->kind->init(l, params + l->param_offset, init, &rng);
        }
        if (l->kind->init_state) l->kind->init_state(l, state + l->state_offset);
    }
}

void dpt_model_update_state(const dpt_model *m, float *state, const float *stats) {
    for (int i = 0; i < m->nlayers; i++) {
        const dpt_layer *l = &m->layers[i];
        if (l->kind->update_state)
            l->kind->update_state(l, state + l->state_offset, stats + l->stat_offset);
    }
}

double dpt_layer_flops(const dpt_layer *l) {
    return l->kind->flops ? l->kind->flops(l) : (double)dpt_shape_size(l->out);
}

double dpt_model_flops(const dpt_model *m) {
    double total = 0;
    for (int i = 0; i < m->nlayers; i++) total += dpt_layer_flops(&m->layers[i]);
    return total;
}

/* A workspace's sizes for `capacity` samples: its floats (of which `widest` per sample and per
   fan-out buffer, `scratch` shared) and its bytes; -1 beyond the address space. */
typedef struct workspace_plan {
    size_t widest, scratch, floats, bytes;
} workspace_plan;

static int plan_workspace(const dpt_model *m, int capacity, workspace_plan *p) {
    size_t per_sample = dpt_shape_size(m->input);
    p->widest = p->scratch = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const dpt_layer *l = &m->layers[i];
        size_t out = dpt_shape_size(l->out);
        per_sample += 2 * out;
        if (out > p->widest) p->widest = out;
        if (l->kind->scratch) {
            size_t s = l->kind->scratch(l, capacity);
            if (s > p->scratch) p->scratch = s;
        }
    }
    const size_t n = (size_t)capacity, row = per_sample + DPT_LAYER_MAX_INPUTS * p->widest;
    /* The model's limits keep these sums far from overflowing; the product needs a check. */
    if (row + (size_t)m->positions > (SIZE_MAX / 2 / sizeof(float) - p->scratch) / n) return -1;
    p->floats = n * row + p->scratch;
    p->bytes = sizeof(float) * p->floats + sizeof(int) * n * (size_t)m->positions;
    return 0;
}

size_t dpt_workspace_bytes(const dpt_model *m, int capacity) {
    workspace_plan p;
    return capacity < 1 || plan_workspace(m, capacity, &p) ? SIZE_MAX : p.bytes;
}

int dpt_workspace_init(dpt_workspace *ws, const dpt_model *m, int capacity, dpt_err *err) {
    memset(ws, 0, sizeof *ws);
    if (capacity < 1)
        return dpt_fail(err, "a workspace needs room for at least 1 sample, not %d", capacity);
    workspace_plan plan;
    if (plan_workspace(m, capacity, &plan))
        return dpt_fail(err, "a workspace of %d samples would exceed the address space", capacity);
    const size_t n = (size_t)capacity, widest = plan.widest, scratch = plan.scratch;
    ws->act = malloc(sizeof(float *) * (size_t)m->nlayers);
    ws->grad = malloc(sizeof(float *) * (size_t)m->nlayers);
    ws->block = malloc(plan.bytes);
    if (!ws->act || !ws->grad || !ws->block) {
        dpt_workspace_free(ws);
        return dpt_fail(err, "out of memory for a workspace of %d samples (%zu MiB)", capacity,
                        plan.bytes >> 20);
    }
    ws->capacity = capacity;
    float *f = ws->block;
    ws->input = f, f += n * dpt_shape_size(m->input);
    for (int i = 0; i < m->nlayers; i++) {
        const size_t out = n * dpt_shape_size(m->layers[i].out);
        ws->act[i] = f, f += out;
        ws->grad[i] = f, f += out;
    }
    for (int k = 0; k < DPT_LAYER_MAX_INPUTS; k++) ws->fanout[k] = f, f += n * widest;
    ws->scratch = f, f += scratch;
    ws->labels = (int *)f;
    return 0;
}

void dpt_workspace_free(dpt_workspace *ws) {
    free(ws->act);
    free(ws->grad);
    free(ws->block);
    memset(ws, 0, sizeof *ws);
}

static const float *tensor_of(const dpt_workspace *ws, int node) {
    return node < 0 ? ws->input : ws->act[node];
}

void dpt_model_forward(const dpt_model *m, const dpt_pass *p, const float *params,
                       dpt_workspace *ws, int n) {
    for (int i = 0; i < m->nlayers; i++) {
        const dpt_layer *l = &m->layers[i];
        const float *in[DPT_LAYER_MAX_INPUTS] = {tensor_of(ws, l->input[0]),
                                                 tensor_of(ws, l->input[1])};
        l->kind->forward(l, p, params + l->param_offset, in, ws->act[i], ws->scratch, n);
    }
}

void dpt_model_backward(const dpt_model *m, const dpt_pass *p, const float *params, float *grads,
                        dpt_workspace *ws, int n, void (*after_layer)(void *ctx, int layer),
                        void *ctx) {
    for (int i = m->nlayers - 1; i >= 0; i--) {
        const dpt_layer *l = &m->layers[i];
        const float *in[DPT_LAYER_MAX_INPUTS] = {tensor_of(ws, l->input[0]),
                                                 tensor_of(ws, l->input[1])};
        /* A tensor's first gradient (from its highest reader) is written in place; any later
           one goes through a fan-out buffer and is added. */
        float *din[DPT_LAYER_MAX_INPUTS] = {NULL, NULL};
        int added[DPT_LAYER_MAX_INPUTS] = {0, 0};
        for (int k = 0; k < l->kind->inputs; k++) {
            const int j = l->input[k];
            if (j < 0) continue;
            const int first = m->layers[j].last_reader == i && !(k == 1 && l->input[0] == j);
            din[k] = first ? ws->grad[j] : ws->fanout[k];
            added[k] = !first;
        }
        l->kind->backward(l, p, params + l->param_offset, grads + l->param_offset, in, ws->act[i],
                          ws->grad[i], din, ws->scratch, n);
        for (int k = 0; k < l->kind->inputs; k++)
            if (added[k]) {
                float *g = ws->grad[l->input[k]];
                for (size_t x = 0, N = (size_t)n * dpt_shape_size(l->in[k]); x < N; x++)
                    g[x] += ws->fanout[k][x];
            }
        if (after_layer) after_layer(ctx, i);
    }
}
