/*
 * bench_util.h — small helpers the C benchmarks share: command-line
 * options, the git commit a result row is tagged with, the process's
 * memory, running SQL that must not fail, opening a migrated store.  Each benchmark defines
 * die(what, err) before including this (it names the program).
 */
#ifndef YJ_BENCH_UTIL_H
#define YJ_BENCH_UTIL_H

#include "../src/base/module.h"
#include "../src/store/store.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *arg(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return def;
}

/* Short git commit, "-dirty" with uncommitted changes to tracked files. */
static void git_commit(char *out, size_t n)
{
    snprintf(out, n, "none");
    FILE *p = popen("git rev-parse --short HEAD 2>/dev/null", "r");
    if (p == NULL)
        return;
    char line[64] = "";
    bool ok = fgets(line, sizeof line, p) != NULL;
    pclose(p);
    line[strcspn(line, "\n")] = '\0';
    if (!ok || line[0] == '\0')
        return;
    p = popen("git status --porcelain --untracked-files=no -- . ':!bench/results' 2>/dev/null",
              "r");
    char any[8] = "";
    bool dirty = p && fgets(any, sizeof any, p) != NULL;
    if (p)
        pclose(p);
    snprintf(out, n, "%s%s", line, dirty ? "-dirty" : "");
}

/* A /proc/self/status field in MB (VmRSS, VmHWM). */
static double proc_mb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double mb = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            mb = strtod(line + n + 1, NULL) / 1024.0;
    if (f)
        fclose(f);
    return mb;
}

static void exec_sql(yj_conn *c, const char *sql)
{
    yj_err err;
    if (yj_exec(c, sql, &err) != YJ_OK)
        die(sql, &err);
}

/* The store at path (pool connections), migrated to the current schema. */
static yj_store *open_store(const char *path, int pool)
{
    yj_err err;
    yj_store *s = yj_store_open(path, pool, &err);
    if (s == NULL)
        die(path, &err);
    if (app_migrate(s, &err) != YJ_OK)
        die("migrate", &err);
    return s;
}

#endif
