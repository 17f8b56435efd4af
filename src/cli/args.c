#include "args.h"

#include <string.h>

enum {
    HELP_COLUMN = 22,    /* where help texts start */
    DEFAULT_COLUMN = 71, /* where defaults start when they fit */
    WIDTH = 92
};

void dpt_help_option(FILE *f, const char *option, const char *arg, const char *help,
                     const char *shown) {
    int len = fprintf(f, "  --%s%s%s", option, arg ? " " : "", arg ? arg : "");
    for (const char *line = help; line;) {
        const char *next = strchr(line, '\n');
        const int n = next ? (int)(next - line) : (int)strlen(line);
        if (len >= HELP_COLUMN) {
            fputc('\n', f);
            len = 0;
        }
        len += fprintf(f, "%*s%.*s", HELP_COLUMN - len, "", n, line);
        line = next ? next + 1 : NULL;
    }
    if (shown && *shown) {
        const int w = (int)strlen(shown) + 2;
        if (len + 1 + w > WIDTH) {
            fputc('\n', f);
            len = 0;
        }
        int column = DEFAULT_COLUMN + w <= WIDTH ? DEFAULT_COLUMN : len ? WIDTH - w : HELP_COLUMN;
        if (column < len + 1) column = len + 1;
        fprintf(f, "%*s[%s]", column - len, "", shown);
    }
    fputc('\n', f);
}
