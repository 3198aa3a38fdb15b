/*
 * sqlite.c — the embedded SQLite driver.
 *
 * Each connection runs in WAL mode with foreign keys on and
 * synchronous=FULL, so a transaction that returned from COMMIT is on disk
 * before the client hears "201": an acknowledged write survives kill -9 and
 * power loss alike.  busy_timeout lets concurrent writers queue instead of
 * failing.
 */
#include "dialect.h"
#include "store_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static yj_code sq_error(sqlite3 *db, int rc, yj_err *err)
{
    int base = rc & 0xFF;
    if (base == SQLITE_CONSTRAINT) {
        int ext = sqlite3_extended_errcode(db);
        if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
            return yj_err_set(err, YJ_ECONFLICT, NULL, "duplicate record: %s", sqlite3_errmsg(db));
        return yj_err_set(err, YJ_EINVAL, NULL, "constraint failed: %s", sqlite3_errmsg(db));
    }
    /* the write lock stayed taken past busy_timeout: try again, not a bug */
    if (base == SQLITE_BUSY || base == SQLITE_LOCKED)
        return yj_err_set(err, YJ_EBUSY, NULL, "数据库繁忙，请稍后重试");
    return yj_err_set(err, YJ_EINTERNAL, NULL, "sqlite: %s", sqlite3_errmsg(db));
}

static void sq_configure(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static void *sq_connect(const char *path, yj_err *err)
{
    /* No allocation statistics: they take a global mutex on every malloc
     * (about 10% of the ingest writer's time); must precede initialisation. */
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sq_configure);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(
        path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        yj_err_set(err, YJ_EIO, NULL, "cannot open database %s: %s", path,
                   db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    char *msg = NULL;
    /* Switching a new file to WAL needs an exclusive lock and may answer
     * BUSY at once, without the busy handler, while another process opens
     * the same file: retry for up to ~10 s like any other lock wait. */
    for (int attempt = 0; attempt < 500; attempt++) {
        sqlite3_free(msg);
        msg = NULL;
        rc = sqlite3_exec(db,
                          "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; "
                          "PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY;",
                          NULL, NULL, &msg);
        if ((rc & 0xFF) != SQLITE_BUSY)
            break;
        sqlite3_sleep(20);
    }
    if (rc != SQLITE_OK) {
        yj_err_set(err, YJ_EIO, NULL, "cannot configure database %s: %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

static void sq_disconnect(void *db)
{
    sqlite3_close_v2(db);
}

static yj_code sq_exec(void *db, const char *sql, yj_err *err)
{
    char *msg = NULL;
    char *said = yj_sqlite_translate(sql);
    int rc = sqlite3_exec(db, said ? said : sql, NULL, NULL, &msg);
    free(said);
    if (rc != SQLITE_OK) {
        yj_code code = sq_error(db, rc, err);
        sqlite3_free(msg);
        return code;
    }
    return YJ_OK;
}

static void *sq_prepare(void *db, const char *sql, yj_err *err)
{
    sqlite3_stmt *st = NULL;
    char *said = yj_sqlite_translate(sql);
    int rc = sqlite3_prepare_v3(db, said ? said : sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    free(said);
    if (rc != SQLITE_OK) {
        sq_error(db, rc, err);
        return NULL;
    }
    return st;
}

static void sq_finalize(void *st)
{
    sqlite3_finalize(st);
}

static void sq_reset(void *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static void sq_bind_text(void *st, int idx, const char *s)
{
    if (s == NULL)
        sqlite3_bind_null(st, idx);
    else
        sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
}

static void sq_bind_int(void *st, int idx, int64_t v)
{
    sqlite3_bind_int64(st, idx, v);
}

static void sq_bind_real(void *st, int idx, double v)
{
    sqlite3_bind_double(st, idx, v);
}

static void sq_bind_null(void *st, int idx)
{
    sqlite3_bind_null(st, idx);
}

static int sq_step(void *st, yj_err *err)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    sq_error(sqlite3_db_handle(st), rc, err);
    sqlite3_reset(st);
    return -1;
}

static int sq_col_count(void *st)
{
    return sqlite3_column_count(st);
}

static const char *sq_col_name(void *st, int i)
{
    return sqlite3_column_name(st, i);
}

static yj_valtype sq_col_type(void *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        return YJ_VAL_INT;
    case SQLITE_FLOAT:
        return YJ_VAL_REAL;
    case SQLITE_NULL:
        return YJ_VAL_NULL;
    default:
        return YJ_VAL_TEXT;
    }
}

static const char *sq_col_text(void *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? (const char *)s : "";
}

static int64_t sq_col_int(void *st, int i)
{
    return sqlite3_column_int64(st, i);
}

static double sq_col_real(void *st, int i)
{
    return sqlite3_column_double(st, i);
}

static int64_t sq_changes(void *db)
{
    return sqlite3_changes64(db);
}

static int64_t sq_last_insert_id(void *db)
{
    return sqlite3_last_insert_rowid(db);
}

static void *sq_lock_name(const char *path, const char *name, yj_err *err)
{
    char file[4200];
    snprintf(file, sizeof file, "%s.lock-%s", path, name);
    for (char *p = file + strlen(path) + 6; *p; p++)
        if (*p == '/')
            *p = '_';
    int fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        yj_err_set(err, YJ_EIO, NULL, "cannot open %s: %s", file, strerror(errno));
        return NULL;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            yj_err_set(err, YJ_EBUSY, NULL, "%s is held by another process", name);
        else
            yj_err_set(err, YJ_EIO, NULL, "cannot lock %s: %s", file, strerror(e));
        return NULL;
    }
    int *h = malloc(sizeof *h);
    if (h == NULL)
        abort();
    *h = fd;
    return h;
}

static void sq_unlock_name(void *handle)
{
    int *h = handle;
    if (h == NULL)
        return;
    close(*h); /* releases the flock */
    free(h);
}

const yj_driver yj_driver_sqlite = {
    .name = "sqlite",
    .begin_write_sql = "BEGIN IMMEDIATE",
    .round_trips = false,
    .connect = sq_connect,
    .disconnect = sq_disconnect,
    .exec = sq_exec,
    .prepare = sq_prepare,
    .finalize = sq_finalize,
    .reset = sq_reset,
    .bind_text = sq_bind_text,
    .bind_int = sq_bind_int,
    .bind_real = sq_bind_real,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .col_count = sq_col_count,
    .col_name = sq_col_name,
    .col_type = sq_col_type,
    .col_text = sq_col_text,
    .col_int = sq_col_int,
    .col_real = sq_col_real,
    .changes = sq_changes,
    .last_insert_id = sq_last_insert_id,
    .lock_name = sq_lock_name,
    .unlock_name = sq_unlock_name,
};
