/*
 * options.h — command-line options declared as tables.
 *
 * Every `yingji` command, and every module's part of `yingji serve`,
 * declares its options as rows (name, type, default, help, range); one
 * parser checks them (unknown names, missing values, integers out of
 * range are usage errors) and one printer makes --help from the same rows.
 */
#ifndef YJ_OPTIONS_H
#define YJ_OPTIONS_H

#include "../core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum {
    YJ_OPT_FLAG, /* present or not */
    YJ_OPT_TEXT, /* a value */
    YJ_OPT_INT,  /* an integer in [min, max] */
} yj_opt_type;

typedef struct {
    const char *name; /* "--sms-gateway" */
    yj_opt_type type;
    const char *arg;  /* the value's name in --help: "URL" */
    const char *def;  /* default, as text (NULL: none) */
    const char *help; /* one line; more lines after '\n' */
    long min, max;    /* YJ_OPT_INT */
} yj_option;

/* A set of option tables, each with its owner (a module name, or NULL). */
typedef struct {
    const yj_option *opts;
    size_t n;
    const char *owner;
} yj_opt_table;

typedef struct yj_optset yj_optset;

/* Parse argv (without the command name) against the tables.  Arguments not
 * starting with "--" are positional.  NULL with err set (YJ_EINVAL) on a
 * usage error. */
yj_optset *yj_opts_parse(const yj_opt_table *tables, size_t ntables, int argc, char **argv,
                         yj_err *err);
void yj_opts_free(yj_optset *o);

/* The value given, else the declared default, else NULL. */
const char *yj_opt_text(const yj_optset *o, const char *name);
/* The integer given or the default (0 if neither). */
long yj_opt_int(const yj_optset *o, const char *name);
bool yj_opt_flag(const yj_optset *o, const char *name);
/* Was the option given on the command line? */
bool yj_opt_given(const yj_optset *o, const char *name);
size_t yj_opt_npositional(const yj_optset *o);
const char *yj_opt_positional(const yj_optset *o, size_t i);

/* "--help" or "-h" anywhere in argv. */
bool yj_opts_wants_help(int argc, char **argv);
/* usage, what the command does, then every table's rows (grouped by owner). */
void yj_opts_help(FILE *f, const char *usage, const char *what, const yj_opt_table *tables,
                  size_t ntables);

#endif
