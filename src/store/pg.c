/*
 * pg.c — the PostgreSQL driver (libpq), for a province on one database
 * and several `yingji serve` nodes.
 *
 * The same vtable as sqlite.c: statements arrive in the portable subset and
 * are said in PostgreSQL by dialect.c; each is prepared once per connection
 * (a named server-side statement) and run with text parameters whose types
 * the server infers from where they stand.  Results come in text format
 * and are typed by their column's type: integers (and booleans, as 0/1) are
 * INT, floating point REAL, NUMERIC (what SUM of integers gives) INT when
 * integral, everything else TEXT.
 *
 * Transactions are READ COMMITTED: a write transaction no longer holds a
 * database-wide lock as SQLite's BEGIN IMMEDIATE does, so every
 * read-modify-write the code does is written so that it holds without one
 * (state predicates on updates, upserts, row locks where a sequence must
 * stay gapless — see ARCHITECTURE.md, "Two stores").
 *
 * A connection that the server dropped is re-opened on the next acquire
 * (store.c asks broken()); its prepared statements go with it.
 */
#include "dialect.h"
#include "store_driver.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* type OIDs (catalog/pg_type_d.h is not in libpq-dev) */
enum {
    OID_BOOL = 16,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_OID = 26,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_NUMERIC = 1700,
};

/* Rows this connection inserted into a table, and the count at which its
 * statistics are next refreshed. */
typedef struct {
    char table[64];
    int64_t rows, next;
} pg_growth;

#define GROWTH_SLOTS 32
#define GROWTH_FIRST 1000

typedef struct {
    PGconn *pg;
    int64_t changes;
    unsigned long next_name;
    pg_growth growth[GROWTH_SLOTS];
    char copy_table[64]; /* the table of the COPY in progress */
} pg_conn;

typedef struct {
    pg_conn *c;
    char name[32];
    int nparams;
    char **vals;
    PGresult *desc; /* column names and types, from the prepare */
    PGresult *res;  /* the rows of the current run */
    char table[64]; /* INSERT INTO this table, or "" */
    int row;        /* the current row; -1 before the first step */
    bool ran;
} pg_stmt;

static void pg_quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg; /* NOTICEs ("relation already exists, skipping") are not errors */
}

static yj_code pg_error(PGconn *pg, const PGresult *res, yj_err *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(pg);
    if (msg == NULL || *msg == '\0')
        msg = PQerrorMessage(pg);
    char text[400];
    snprintf(text, sizeof text, "%s", msg);
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
        text[--n] = '\0';
    if (state && strcmp(state, "23505") == 0)
        return yj_err_set(err, YJ_ECONFLICT, NULL, "duplicate record: %s", text);
    if (state && strncmp(state, "23", 2) == 0)
        return yj_err_set(err, YJ_EINVAL, NULL, "constraint failed: %s", text);
    /* serialization failure, deadlock, lock not available, too many
     * connections: try again, not a bug */
    if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
                  strcmp(state, "55P03") == 0 || strcmp(state, "53300") == 0))
        return yj_err_set(err, YJ_EBUSY, NULL, "数据库繁忙，请稍后重试");
    if (PQstatus(pg) != CONNECTION_OK)
        return yj_err_set(err, YJ_EIO, NULL, "postgresql: connection lost: %s", text);
    return yj_err_set(err, YJ_EINTERNAL, NULL, "postgresql: %s", text);
}

/* A session of our own: connected, NOTICEs quiet, UTC. */
static PGconn *pg_open(const char *url, yj_err *err)
{
    PGconn *pg = PQconnectdb(url);
    if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
        yj_err_set(err, YJ_EIO, "db", "cannot connect to %s: %s", url,
                   pg ? PQerrorMessage(pg) : "out of memory");
        PQfinish(pg);
        return NULL;
    }
    PQsetNoticeProcessor(pg, pg_quiet, NULL);
    PGresult *r = PQexec(pg, "SET client_min_messages = warning; SET TIME ZONE 'UTC'");
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        yj_err_set(err, YJ_EIO, "db", "cannot configure %s: %s", url, PQerrorMessage(pg));
        PQfinish(pg);
        return NULL;
    }
    return pg;
}

static void *pg_connect(const char *url, yj_err *err)
{
    PGconn *pg = pg_open(url, err);
    if (pg == NULL)
        return NULL;
    pg_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        abort();
    c->pg = pg;
    return c;
}

static void pg_disconnect(void *db)
{
    pg_conn *c = db;
    if (c == NULL)
        return;
    PQfinish(c->pg);
    free(c);
}

static bool pg_broken(void *db)
{
    pg_conn *c = db;
    return PQstatus(c->pg) != CONNECTION_OK;
}

static yj_code pg_exec(void *db, const char *sql, yj_err *err)
{
    pg_conn *c = db;
    char *text = yj_pg_translate(sql, NULL);
    PGresult *r = PQexec(c->pg, text);
    free(text);
    ExecStatusType s = PQresultStatus(r);
    yj_code rc = YJ_OK;
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        rc = pg_error(c->pg, r, err);
    PQclear(r);
    return rc;
}

static void *pg_prepare(void *db, const char *sql, yj_err *err)
{
    pg_conn *c = db;
    char *text = yj_pg_translate(sql, NULL);
    pg_stmt *st = calloc(1, sizeof *st);
    if (st == NULL)
        abort();
    st->c = c;
    st->row = -1;
    snprintf(st->name, sizeof st->name, "yj%lu", ++c->next_name);
    PGresult *r = PQprepare(c->pg, st->name, text, 0, NULL);
    free(text);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        pg_error(c->pg, r, err);
        PQclear(r);
        free(st);
        return NULL;
    }
    PQclear(r);
    st->desc = PQdescribePrepared(c->pg, st->name);
    if (PQresultStatus(st->desc) != PGRES_COMMAND_OK) {
        pg_error(c->pg, st->desc, err);
        PQclear(st->desc);
        free(st);
        return NULL;
    }
    st->nparams = PQnparams(st->desc);
    if (strncmp(sql, "INSERT INTO ", 12) == 0) {
        size_t n = strcspn(sql + 12, " (");
        if (n > 0 && n < sizeof st->table)
            memcpy(st->table, sql + 12, n);
    }
    if (st->nparams > 0 && (st->vals = calloc((size_t)st->nparams, sizeof *st->vals)) == NULL)
        abort();
    return st;
}

static void pg_clear_run(pg_stmt *st)
{
    PQclear(st->res);
    st->res = NULL;
    st->row = -1;
    st->ran = false;
}

static void pg_reset(void *stp)
{
    pg_stmt *st = stp;
    pg_clear_run(st);
    for (int i = 0; i < st->nparams; i++) {
        free(st->vals[i]);
        st->vals[i] = NULL;
    }
}

static void pg_finalize(void *stp)
{
    pg_stmt *st = stp;
    pg_reset(st);
    if (PQstatus(st->c->pg) == CONNECTION_OK) {
        char sql[64];
        snprintf(sql, sizeof sql, "DEALLOCATE %s", st->name);
        PQclear(PQexec(st->c->pg, sql));
    }
    PQclear(st->desc);
    free(st->vals);
    free(st);
}

static void pg_set(pg_stmt *st, int idx, char *v)
{
    if (idx < 1 || idx > st->nparams) { /* the SQL has no such placeholder */
        free(v);
        return;
    }
    free(st->vals[idx - 1]);
    st->vals[idx - 1] = v;
}

static void pg_bind_text(void *st, int idx, const char *s)
{
    pg_set(st, idx, s ? strdup(s) : NULL);
}

static void pg_bind_int(void *st, int idx, int64_t v)
{
    char *s = malloc(24);
    if (s == NULL)
        abort();
    snprintf(s, 24, "%lld", (long long)v);
    pg_set(st, idx, s);
}

static void pg_bind_real(void *st, int idx, double v)
{
    char *s = malloc(32);
    if (s == NULL)
        abort();
    snprintf(s, 32, "%.17g", v);
    pg_set(st, idx, s);
}

static void pg_bind_null(void *st, int idx)
{
    pg_set(st, idx, NULL);
}

/* A table filled in one long transaction (the demo, an import of a
 * county's residents) has no statistics yet: autovacuum cannot see rows
 * nobody committed, and the plans made while it was empty (a range scan
 * where the primary key was the way in) make every lookup scan what was
 * added — the load becomes quadratic.  So the connection refreshes a
 * table's statistics itself each time it has doubled the rows it put
 * there (ANALYZE counts the transaction's own rows; the plans are made
 * again). */
static void pg_grew(pg_conn *c, const char *table, int64_t rows)
{
    if (table[0] == '\0' || rows <= 0)
        return;
    pg_growth *g = NULL;
    for (size_t i = 0; i < GROWTH_SLOTS && g == NULL; i++) {
        if (strcmp(c->growth[i].table, table) == 0)
            g = &c->growth[i];
        else if (c->growth[i].table[0] == '\0') {
            g = &c->growth[i];
            snprintf(g->table, sizeof g->table, "%s", table);
            g->next = GROWTH_FIRST;
        }
    }
    if (g == NULL)
        return; /* more tables than slots: autovacuum's job */
    g->rows += rows;
    if (g->rows < g->next)
        return;
    g->next = g->rows * 2;
    char sql[96];
    snprintf(sql, sizeof sql, "ANALYZE %s", table);
    PQclear(PQexec(c->pg, sql));
}

static int pg_step(void *stp, yj_err *err)
{
    pg_stmt *st = stp;
    if (!st->ran) {
        st->ran = true;
        st->res = PQexecPrepared(st->c->pg, st->name, st->nparams, (const char *const *)st->vals,
                                 NULL, NULL, 0);
        ExecStatusType s = PQresultStatus(st->res);
        if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
            pg_error(st->c->pg, st->res, err);
            pg_clear_run(st);
            return -1;
        }
        const char *n = PQcmdTuples(st->res);
        st->c->changes = n && *n ? strtoll(n, NULL, 10) : 0;
        pg_grew(st->c, st->table, st->c->changes);
    }
    if (PQresultStatus(st->res) != PGRES_TUPLES_OK)
        return 0;
    if (st->row + 1 < PQntuples(st->res)) {
        st->row++;
        return 1;
    }
    st->row = PQntuples(st->res);
    return 0;
}

static const PGresult *pg_cols(pg_stmt *st)
{
    return st->res && PQresultStatus(st->res) == PGRES_TUPLES_OK ? st->res : st->desc;
}

static int pg_col_count(void *stp)
{
    return PQnfields(pg_cols(stp));
}

static const char *pg_col_name(void *stp, int i)
{
    const char *n = PQfname(pg_cols(stp), i);
    return n ? n : "";
}

static bool pg_has_value(pg_stmt *st, int i)
{
    return st->res && st->row >= 0 && st->row < PQntuples(st->res) && i >= 0 &&
           i < PQnfields(st->res) && !PQgetisnull(st->res, st->row, i);
}

static yj_valtype pg_col_type(void *stp, int i)
{
    pg_stmt *st = stp;
    if (!pg_has_value(st, i))
        return YJ_VAL_NULL;
    switch (PQftype(st->res, i)) {
    case OID_BOOL:
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID:
        return YJ_VAL_INT;
    case OID_FLOAT4:
    case OID_FLOAT8:
        return YJ_VAL_REAL;
    case OID_NUMERIC:
        return strpbrk(PQgetvalue(st->res, st->row, i), ".eEN") ? YJ_VAL_REAL : YJ_VAL_INT;
    default:
        return YJ_VAL_TEXT;
    }
}

static const char *pg_col_text(void *stp, int i)
{
    pg_stmt *st = stp;
    return pg_has_value(st, i) ? PQgetvalue(st->res, st->row, i) : "";
}

static int64_t pg_col_int(void *stp, int i)
{
    pg_stmt *st = stp;
    if (!pg_has_value(st, i))
        return 0;
    const char *v = PQgetvalue(st->res, st->row, i);
    if (PQftype(st->res, i) == OID_BOOL)
        return v[0] == 't';
    if (strpbrk(v, ".eEN"))
        return (int64_t)strtod(v, NULL);
    return strtoll(v, NULL, 10);
}

static double pg_col_real(void *stp, int i)
{
    pg_stmt *st = stp;
    if (!pg_has_value(st, i))
        return 0;
    const char *v = PQgetvalue(st->res, st->row, i);
    if (PQftype(st->res, i) == OID_BOOL)
        return v[0] == 't';
    return strtod(v, NULL);
}

static int64_t pg_changes(void *db)
{
    return ((pg_conn *)db)->changes;
}

static int64_t pg_last_insert_id(void *db)
{
    pg_conn *c = db;
    PGresult *r = PQexec(c->pg, "SELECT lastval()");
    int64_t id = 0;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return id;
}

static void *pg_lock_name(const char *url, const char *name, yj_err *err)
{
    PGconn *pg = pg_open(url, err);
    if (pg == NULL)
        return NULL;
    const char *params[1] = {name};
    PGresult *r = PQexecParams(pg,
                               "SELECT pg_try_advisory_lock(hashtextextended("
                               "'yingji:' || $1::text, 0))",
                               1, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    bool got = ok && PQgetvalue(r, 0, 0)[0] == 't';
    if (!ok)
        yj_err_set(err, YJ_EIO, NULL, "postgresql: %s", PQerrorMessage(pg));
    else if (!got)
        yj_err_set(err, YJ_EBUSY, NULL, "%s is held by another process", name);
    PQclear(r);
    if (!got) {
        PQfinish(pg);
        return NULL;
    }
    return pg; /* the session holds the lock until it ends */
}

static void pg_unlock_name(void *handle)
{
    PQfinish(handle);
}

/* ---- COPY: bulk loads ------------------------------------------------------------------------ */

static yj_code pg_copy_begin(void *db, const char *sql, yj_err *err)
{
    pg_conn *c = db;
    /* "COPY table (cols) FROM STDIN": the table, for its statistics */
    c->copy_table[0] = '\0';
    if (strncmp(sql, "COPY ", 5) == 0) {
        size_t n = strcspn(sql + 5, " (");
        if (n < sizeof c->copy_table)
            snprintf(c->copy_table, sizeof c->copy_table, "%.*s", (int)n, sql + 5);
    }
    PGresult *r = PQexec(c->pg, sql);
    yj_code rc = PQresultStatus(r) == PGRES_COPY_IN ? YJ_OK : pg_error(c->pg, r, err);
    PQclear(r);
    return rc;
}

static yj_code pg_copy_put(void *db, const char *data, size_t n, yj_err *err)
{
    pg_conn *c = db;
    if (PQputCopyData(c->pg, data, (int)n) != 1)
        return yj_err_set(err, YJ_EIO, NULL, "postgresql: COPY: %s", PQerrorMessage(c->pg));
    return YJ_OK;
}

static yj_code pg_copy_end(void *db, bool ok, int64_t *rows, yj_err *err)
{
    pg_conn *c = db;
    yj_code rc = YJ_OK;
    if (PQputCopyEnd(c->pg, ok ? NULL : "abandoned by the caller") != 1)
        rc = yj_err_set(err, YJ_EIO, NULL, "postgresql: COPY: %s", PQerrorMessage(c->pg));
    PGresult *r;
    while ((r = PQgetResult(c->pg)) != NULL) {
        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            const char *n = PQcmdTuples(r);
            int64_t copied = n && *n ? strtoll(n, NULL, 10) : 0;
            if (rows)
                *rows = copied;
            /* a publish's deliveries: the answers that follow look them up */
            if (ok)
                pg_grew(c, c->copy_table, copied);
        } else if (rc == YJ_OK && ok) {
            rc = pg_error(c->pg, r, err);
        }
        PQclear(r);
    }
    return ok ? rc : YJ_OK;
}

/* ---- LISTEN / NOTIFY: messages between nodes -------------------------------------------- */

typedef struct {
    PGconn *pg;
    bool listening;
} pg_notifier;

static void *pg_notify_open(const char *url, yj_err *err)
{
    PGconn *pg = pg_open(url, err);
    if (pg == NULL)
        return NULL;
    pg_notifier *n = calloc(1, sizeof *n);
    if (n == NULL)
        abort();
    n->pg = pg;
    return n;
}

static void pg_notify_close(void *h)
{
    pg_notifier *n = h;
    if (n == NULL)
        return;
    PQfinish(n->pg);
    free(n);
}

static yj_code pg_notify(void *h, const char *channel, const char *payload, yj_err *err)
{
    pg_notifier *n = h;
    const char *params[2] = {channel, payload};
    PGresult *r =
        PQexecParams(n->pg, "SELECT pg_notify($1::text, $2::text)", 2, NULL, params, NULL, NULL, 0);
    yj_code rc = PQresultStatus(r) == PGRES_TUPLES_OK ? YJ_OK : pg_error(n->pg, r, err);
    PQclear(r);
    return rc;
}

static yj_code pg_listen(void *h, const char *channel, int wait_ms,
                         void (*fn)(const char *payload, void *ctx), void *ctx, yj_err *err)
{
    pg_notifier *n = h;
    if (!n->listening) {
        char *id = PQescapeIdentifier(n->pg, channel, strlen(channel));
        char sql[200];
        snprintf(sql, sizeof sql, "LISTEN %s", id ? id : "yingji");
        PQfreemem(id);
        PGresult *r = PQexec(n->pg, sql);
        yj_code rc = PQresultStatus(r) == PGRES_COMMAND_OK ? YJ_OK : pg_error(n->pg, r, err);
        PQclear(r);
        if (rc != YJ_OK)
            return rc;
        n->listening = true;
    }
    struct pollfd pfd = {.fd = PQsocket(n->pg), .events = POLLIN};
    if (pfd.fd < 0)
        return yj_err_set(err, YJ_EIO, NULL, "postgresql: the listening connection is lost");
    if (poll(&pfd, 1, wait_ms) > 0 && PQconsumeInput(n->pg) == 0)
        return yj_err_set(err, YJ_EIO, NULL, "postgresql: %s", PQerrorMessage(n->pg));
    PGnotify *m;
    while ((m = PQnotifies(n->pg)) != NULL) {
        fn(m->extra, ctx);
        PQfreemem(m);
    }
    return PQstatus(n->pg) == CONNECTION_OK
               ? YJ_OK
               : yj_err_set(err, YJ_EIO, NULL, "postgresql: the listening connection is lost");
}

const yj_driver yj_driver_pg = {
    .name = "postgresql",
    .begin_write_sql = "BEGIN",
    .round_trips = true,
    .turn_sql =
        "SELECT pg_advisory_xact_lock(hashtextextended('yingji-turn:' || CAST(? AS TEXT), 0))",
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .broken = pg_broken,
    .exec = pg_exec,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .reset = pg_reset,
    .bind_text = pg_bind_text,
    .bind_int = pg_bind_int,
    .bind_real = pg_bind_real,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .col_count = pg_col_count,
    .col_name = pg_col_name,
    .col_type = pg_col_type,
    .col_text = pg_col_text,
    .col_int = pg_col_int,
    .col_real = pg_col_real,
    .changes = pg_changes,
    .last_insert_id = pg_last_insert_id,
    .lock_name = pg_lock_name,
    .unlock_name = pg_unlock_name,
    .notify_open = pg_notify_open,
    .notify = pg_notify,
    .notify_close = pg_notify_close,
    .listen = pg_listen,
    .copy_begin = pg_copy_begin,
    .copy_put = pg_copy_put,
    .copy_end = pg_copy_end,
};
