/*
 * fuzz_db.h — a migrated store in a private temporary directory, for the
 * fuzz targets that need a database (fuzz_csv_import, fuzz_area,
 * fuzz_gateway_callback).  One connection, journal in memory and no
 * fsync: durability is not under test.  The directory is $YJ_FUZZ_TMP
 * (make fuzz sets it), else /dev/shm or /tmp; it goes at exit.
 * Setup failures abort with what failed: a fuzz run must not start on a
 * broken fixture.
 */
#ifndef YJ_FUZZ_DB_H
#define YJ_FUZZ_DB_H

#include "base/module.h"
#include "core/err.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static yj_store *store;
static char fz_dir[256], fz_path[300];
static const char *fz_target = "fuzz";

static inline void fz_die(const char *what, const yj_err *err)
{
    fprintf(stderr, "%s setup: %s: %s\n", fz_target, what, err ? err->message : "");
    abort();
}

static inline void fz_exec(const char *sql)
{
    yj_err err = {0};
    yj_conn *c = yj_store_acquire(store);
    if (yj_exec(c, sql, &err) != YJ_OK)
        fz_die(sql, &err);
    yj_store_release(store, c);
}

static inline int64_t fz_count(const char *sql)
{
    yj_err err = {0};
    int64_t n = -1;
    yj_conn *c = yj_store_acquire(store);
    if (yj_query_int(c, sql, NULL, &n, &err) != YJ_OK)
        fz_die(sql, &err);
    yj_store_release(store, c);
    return n;
}

static inline void fz_cleanup(void)
{
    if (store)
        yj_store_close(store);
    store = NULL;
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        char p[320];
        snprintf(p, sizeof p, "%s%s", fz_path, suffix[i]);
        unlink(p);
    }
    rmdir(fz_dir);
}

/* The store, migrated (every module), empty but for what the target adds. */
static inline void fz_open(const char *target)
{
    fz_target = target;
    const char *tmp = getenv("YJ_FUZZ_TMP");
    if (tmp && *tmp)
        mkdir(tmp, 0700); /* may exist already */
    else
        tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fz_dir, sizeof fz_dir, "%s/yj-%s-XXXXXX", tmp, target);
    if (!mkdtemp(fz_dir))
        fz_die("mkdtemp", NULL);
    snprintf(fz_path, sizeof fz_path, "%s/fuzz.db", fz_dir);
    atexit(fz_cleanup);
    yj_err err = {0};
    app_init();
    store = yj_store_open(fz_path, 1, &err);
    if (!store)
        fz_die("open", &err);
    fz_exec("PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF");
    if (app_migrate(store, &err) != YJ_OK)
        fz_die("migrate", &err);
}

#endif
