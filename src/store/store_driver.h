/*
 * store_driver.h — what a database driver implements (private to src/store).
 *
 * store.c owns the pool, the per-connection statement cache and the
 * transaction helpers; a driver only translates these calls to its client
 * library.  sqlite.c is the embedded driver; a PostgreSQL driver implements
 * the same table (placeholders `?` -> `$n`, column types from PQftype).
 */
#ifndef YJ_STORE_DRIVER_H
#define YJ_STORE_DRIVER_H

#include "store.h"

typedef enum { YJ_VAL_NULL, YJ_VAL_INT, YJ_VAL_REAL, YJ_VAL_TEXT } yj_valtype;

typedef struct {
    const char *name;
    const char *begin_write_sql; /* e.g. "BEGIN IMMEDIATE" */
    void *(*connect)(const char *path, yj_err *err);
    void (*disconnect)(void *db);
    yj_code (*exec)(void *db, const char *sql, yj_err *err);
    void *(*prepare)(void *db, const char *sql, yj_err *err);
    void (*finalize)(void *st);
    void (*reset)(void *st);
    void (*bind_text)(void *st, int idx, const char *s);
    void (*bind_int)(void *st, int idx, int64_t v);
    void (*bind_real)(void *st, int idx, double v);
    void (*bind_null)(void *st, int idx);
    int (*step)(void *st, yj_err *err);
    int (*col_count)(void *st);
    const char *(*col_name)(void *st, int i);
    yj_valtype (*col_type)(void *st, int i);
    const char *(*col_text)(void *st, int i);
    int64_t (*col_int)(void *st, int i);
    double (*col_real)(void *st, int i);
    int64_t (*changes)(void *db);
    int64_t (*last_insert_id)(void *db);
} yj_driver;

extern const yj_driver yj_driver_sqlite;

#endif
