/*
 * options.c — the one option parser and --help printer (see options.h).
 */
#include "options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const yj_option *def;
    const char *value; /* given value (flags: "") */
} opt_slot;

struct yj_optset {
    opt_slot *slots;
    size_t n;
    const char **positional; /* at most argc */
    size_t npositional;
};

static opt_slot *slot_of(const yj_optset *o, const char *name, size_t len)
{
    for (size_t i = 0; i < o->n; i++)
        if (strlen(o->slots[i].def->name) == len && strncmp(o->slots[i].def->name, name, len) == 0)
            return &o->slots[i];
    return NULL;
}

static bool int_ok(const yj_option *d, const char *v, long *out)
{
    if (v == NULL || *v == '\0')
        return false;
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end != '\0' || x < d->min || x > d->max)
        return false;
    *out = x;
    return true;
}

yj_optset *yj_opts_parse(const yj_opt_table *tables, size_t ntables, int argc, char **argv,
                         yj_err *err)
{
    size_t total = 0;
    for (size_t t = 0; t < ntables; t++)
        total += tables[t].n;
    yj_optset *o = calloc(1, sizeof *o);
    if (o == NULL || (o->slots = calloc(total ? total : 1, sizeof *o->slots)) == NULL ||
        (o->positional = calloc(argc > 0 ? (size_t)argc : 1, sizeof *o->positional)) == NULL)
        abort();
    for (size_t t = 0; t < ntables; t++)
        for (size_t i = 0; i < tables[t].n; i++)
            o->slots[o->n++].def = &tables[t].opts[i];
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || strcmp(a, "--") == 0) {
            o->positional[o->npositional++] = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        opt_slot *s = slot_of(o, a, len);
        if (s == NULL) {
            yj_err_set(err, YJ_EINVAL, NULL, "unknown option %.*s (see --help)", (int)len, a);
            yj_opts_free(o);
            return NULL;
        }
        if (s->def->type == YJ_OPT_FLAG) {
            if (eq) {
                yj_err_set(err, YJ_EINVAL, s->def->name, "%s takes no value", s->def->name);
                yj_opts_free(o);
                return NULL;
            }
            s->value = "";
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        long x;
        if (v == NULL) {
            yj_err_set(err, YJ_EINVAL, s->def->name, "%s needs a value", s->def->name);
        } else if (s->def->type == YJ_OPT_INT && !int_ok(s->def, v, &x)) {
            yj_err_set(err, YJ_EINVAL, s->def->name, "%s must be an integer from %ld to %ld",
                       s->def->name, s->def->min, s->def->max);
            v = NULL;
        }
        if (v == NULL) {
            yj_opts_free(o);
            return NULL;
        }
        s->value = v;
    }
    return o;
}

void yj_opts_free(yj_optset *o)
{
    if (o == NULL)
        return;
    free(o->slots);
    free(o->positional);
    free(o);
}

const char *yj_opt_text(const yj_optset *o, const char *name)
{
    opt_slot *s = slot_of(o, name, strlen(name));
    if (s == NULL)
        return NULL;
    return s->value ? s->value : s->def->def;
}

long yj_opt_int(const yj_optset *o, const char *name)
{
    const char *v = yj_opt_text(o, name);
    return v ? strtol(v, NULL, 10) : 0;
}

bool yj_opt_flag(const yj_optset *o, const char *name)
{
    opt_slot *s = slot_of(o, name, strlen(name));
    return s && s->value != NULL;
}

bool yj_opt_given(const yj_optset *o, const char *name)
{
    opt_slot *s = slot_of(o, name, strlen(name));
    return s && s->value != NULL;
}

size_t yj_opt_npositional(const yj_optset *o)
{
    return o->npositional;
}

const char *yj_opt_positional(const yj_optset *o, size_t i)
{
    return i < o->npositional ? o->positional[i] : NULL;
}

bool yj_opts_wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

static void help_row(FILE *f, const yj_option *d)
{
    char left[64];
    snprintf(left, sizeof left, "%s%s%s", d->name, d->type == YJ_OPT_FLAG ? "" : " ",
             d->type == YJ_OPT_FLAG ? "" : (d->arg ? d->arg : "VALUE"));
    fprintf(f, "  %-26s ", left);
    /* continuation lines of the help are indented under the first */
    for (const char *p = d->help; *p; p++) {
        fputc(*p, f);
        if (*p == '\n')
            fprintf(f, "  %-26s ", "");
    }
    if (d->def && d->type != YJ_OPT_FLAG)
        fprintf(f, " (default %s)", d->def);
    fputc('\n', f);
}

void yj_opts_help(FILE *f, const char *usage, const char *what, const yj_opt_table *tables,
                  size_t ntables)
{
    fprintf(f, "usage: %s\n\n%s\n", usage, what);
    for (size_t t = 0; t < ntables; t++) {
        if (tables[t].n == 0)
            continue;
        if (tables[t].owner)
            fprintf(f, "\noptions of the %s module:\n", tables[t].owner);
        else
            fprintf(f, "\noptions:\n");
        for (size_t i = 0; i < tables[t].n; i++)
            help_row(f, &tables[t].opts[i]);
    }
}
