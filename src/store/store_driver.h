/*
 * store_driver.h — what a database driver implements (private to src/store).
 *
 * store.c owns the pool, the per-connection statement cache and the
 * transaction helpers; a driver only translates these calls to its client
 * library.  sqlite.c is the embedded driver; a PostgreSQL driver implements
 * the same table; pg.c is PostgreSQL (dialect.c says the portable SQL in it).
 */
#ifndef YJ_STORE_DRIVER_H
#define YJ_STORE_DRIVER_H

#include "store.h"

typedef enum { YJ_VAL_NULL, YJ_VAL_INT, YJ_VAL_REAL, YJ_VAL_TEXT } yj_valtype;

typedef struct {
    const char *name;
    const char *begin_write_sql; /* e.g. "BEGIN IMMEDIATE" */
    bool round_trips;            /* each statement crosses the network (yj_store_batches) */
    /* Take a named turn until the transaction ends (one parameter: the
     * name); NULL where a write transaction already excludes all others. */
    const char *turn_sql;
    void *(*connect)(const char *path, yj_err *err);
    void (*disconnect)(void *db);
    /* The server dropped the connection (NULL: never happens): store.c
     * opens it again on the next acquire. */
    bool (*broken)(void *db);
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
    /* A lock named `name` on this database, held until unlock_name or the
     * holder's death (SQLite: flock on a file beside the database;
     * PostgreSQL: a session advisory lock on a connection of its own).
     * NULL with YJ_EBUSY when another process holds it. */
    void *(*lock_name)(const char *path, const char *name, yj_err *err);
    void (*unlock_name)(void *handle);
    /* Messages between processes on one database (PostgreSQL NOTIFY):
     * NULL where the driver has none. */
    void *(*notify_open)(const char *path, yj_err *err);
    yj_code (*notify)(void *h, const char *channel, const char *payload, yj_err *err);
    void (*notify_close)(void *h);
    /* Block up to wait_ms for messages on channel (LISTENed at the first
     * call), handing each to fn; YJ_EIO when the connection is lost. */
    yj_code (*listen)(void *h, const char *channel, int wait_ms,
                      void (*fn)(const char *payload, void *ctx), void *ctx, yj_err *err);
    /* Bulk load (PostgreSQL COPY FROM STDIN, text format): rows as lines of
     * tab-separated, escaped fields; NULL where the driver has none (store.c
     * then inserts row by row). */
    yj_code (*copy_begin)(void *db, const char *sql, yj_err *err);
    yj_code (*copy_put)(void *db, const char *data, size_t n, yj_err *err);
    yj_code (*copy_end)(void *db, bool ok, int64_t *rows, yj_err *err);
} yj_driver;

extern const yj_driver yj_driver_sqlite;
extern const yj_driver yj_driver_pg;

#endif
