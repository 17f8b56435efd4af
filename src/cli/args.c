#include "args.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>

int dpt_arg_int(const char *opt, const char *text, int min, int *out, dpt_err *err) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end || errno || v < min || v > INT_MAX)
        return dpt_fail(err, "%s %s: expected a whole number >= %d", opt, text, min);
    *out = (int)v;
    return 0;
}

int dpt_arg_u64(const char *opt, const char *text, uint64_t *out, dpt_err *err) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || *end || errno || text[0] == '-')
        return dpt_fail(err, "%s %s: expected a whole number >= 0", opt, text);
    *out = v;
    return 0;
}

int dpt_arg_double(const char *opt, const char *text, double min, double max, double *out,
                   dpt_err *err) {
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end || !isfinite(v) || v < min || v > max) {
        if (isinf(max)) return dpt_fail(err, "%s %s: expected a number >= %g", opt, text, min);
        return dpt_fail(err, "%s %s: expected a number in [%g, %g]", opt, text, min, max);
    }
    *out = v;
    return 0;
}
