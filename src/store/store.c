/*
 * store.c — connection pool, statement cache, transactions and migrations,
 * independent of the database behind them (see store.h, store_driver.h).
 */
#include "store_driver.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STMT_CACHE_SLOTS 512 /* power of two */
#define STMT_CACHE_MAX   384 /* flush the cache beyond this many entries */

struct yj_stmt {
    yj_conn *conn;
    void *impl;
    char *sql;
    int64_t changes;
    bool busy; /* handed out and not yet yj_stmt_done() */
};

/* State kept for the open transaction (yj_tx_local). */
typedef struct {
    char key[64];
    void *data;
    yj_tx_hook before_commit;
} tx_slot;

struct yj_conn {
    yj_store *store;
    void *db;
    bool in_tx;
    tx_slot *slots;
    size_t nslots;
    yj_stmt *cache[STMT_CACHE_SLOTS];
    size_t ncached;
    bool in_use;
};

struct yj_store {
    const yj_driver *drv;
    char *path; /* what connect() is given, to open a dropped connection again */
    yj_conn *conns;
    int size;
    int in_use;
    uint64_t acquires, waits;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* ---- pool ----------------------------------------------------------------- */

bool yj_store_url_is_pg(const char *url)
{
    return strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
}

static const yj_driver *store_pick_driver(const char *url, const char **path)
{
    if (strncmp(url, "sqlite:", 7) == 0) {
        *path = url + 7;
        return &yj_driver_sqlite;
    }
    *path = url;
    if (yj_store_url_is_pg(url))
        return &yj_driver_pg;
    return &yj_driver_sqlite;
}

yj_store *yj_store_open(const char *url, int pool_size, yj_err *err)
{
    const char *path;
    const yj_driver *drv = store_pick_driver(url, &path);
    if (pool_size < 1)
        pool_size = 1;
    yj_store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->conns = calloc((size_t)pool_size, sizeof *s->conns)) == NULL)
        abort();
    s->drv = drv;
    s->path = strdup(path);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    for (int i = 0; i < pool_size; i++) {
        s->conns[i].store = s;
        s->conns[i].db = drv->connect(path, err);
        if (s->conns[i].db == NULL) {
            s->size = i;
            yj_store_close(s);
            return NULL;
        }
    }
    s->size = pool_size;
    return s;
}

static void conn_flush_cache(yj_conn *c, bool all);
static void tx_end(yj_conn *c);
static yj_code store_migrate(yj_store *s, const char *module, const yj_migration *m, size_t n,
                             yj_err *err);

yj_code yj_store_empty(yj_store *s, bool force, yj_err *err)
{
    yj_conn *c = yj_store_acquire(s);
    bool pg = s->drv == &yj_driver_pg;
    int64_t tables = 0;
    yj_code rc = yj_query_int(c,
                              pg ? "SELECT COUNT(*) FROM information_schema.tables"
                                   " WHERE table_schema = current_schema()"
                                 : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
                              NULL, &tables, err);
    if (rc == YJ_OK && tables > 0 && !force)
        rc = yj_err_set(err, YJ_ECONFLICT, "db",
                        "the database already holds %lld tables; use --force to empty it",
                        (long long)tables);
    if (rc == YJ_OK && tables > 0) {
        conn_flush_cache(c, true);
        /* SQLite files are removed by the caller, never emptied here */
        rc = pg ? yj_exec(c, "DROP SCHEMA public CASCADE; CREATE SCHEMA public", err)
                : yj_err_set(err, YJ_EINVAL, "db", "remove the database file instead");
    }
    yj_store_release(s, c);
    return rc;
}

static void conn_flush_cache(yj_conn *c, bool all)
{
    for (size_t i = 0; i < STMT_CACHE_SLOTS; i++) {
        yj_stmt *st = c->cache[i];
        if (st && (all || !st->busy)) {
            c->store->drv->finalize(st->impl);
            free(st->sql);
            free(st);
            c->cache[i] = NULL;
            c->ncached--;
        }
    }
}

void yj_store_close(yj_store *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < s->size; i++) {
        tx_end(&s->conns[i]);
        conn_flush_cache(&s->conns[i], true);
        s->drv->disconnect(s->conns[i].db);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->path);
    free(s->conns);
    free(s);
}

yj_conn *yj_store_acquire(yj_store *s)
{
    pthread_mutex_lock(&s->mu);
    s->acquires++;
    if (s->in_use == s->size)
        s->waits++;
    while (s->in_use == s->size)
        pthread_cond_wait(&s->cv, &s->mu);
    yj_conn *c = NULL;
    for (int i = 0; i < s->size; i++) {
        if (!s->conns[i].in_use) {
            c = &s->conns[i];
            break;
        }
    }
    assert(c != NULL); /* in_use < size, so one is free */
    c->in_use = true;
    s->in_use++;
    pthread_mutex_unlock(&s->mu);
    if (s->drv->broken && s->drv->broken(c->db)) {
        /* the server went away (restarted, failed over): its prepared
         * statements went with it; open the connection again */
        yj_err err;
        void *db = s->drv->connect(s->path, &err);
        if (db != NULL) {
            conn_flush_cache(c, true);
            s->drv->disconnect(c->db);
            c->db = db;
        }
    }
    return c;
}

void yj_store_release(yj_store *s, yj_conn *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    c->in_use = false;
    s->in_use--;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void yj_store_stats(yj_store *s, yj_pool_stats *out)
{
    pthread_mutex_lock(&s->mu);
    out->size = s->size;
    out->in_use = s->in_use;
    out->acquires = s->acquires;
    out->waits = s->waits;
    pthread_mutex_unlock(&s->mu);
}

struct yj_lock {
    const yj_driver *drv;
    void *h;
};

yj_lock *yj_store_lock(yj_store *s, const char *name, yj_err *err)
{
    void *h = s->drv->lock_name(s->path, name, err);
    if (h == NULL)
        return NULL;
    yj_lock *l = malloc(sizeof *l);
    if (l == NULL)
        abort();
    *l = (yj_lock){s->drv, h};
    return l;
}

void yj_store_unlock(yj_lock *l)
{
    if (l == NULL)
        return;
    l->drv->unlock_name(l->h);
    free(l);
}

struct yj_notifier {
    const yj_driver *drv;
    void *h;
};

yj_notifier *yj_notifier_open(yj_store *s, yj_err *err)
{
    if (s->drv->notify_open == NULL)
        return NULL;
    void *h = s->drv->notify_open(s->path, err);
    if (h == NULL)
        return NULL;
    yj_notifier *n = malloc(sizeof *n);
    if (n == NULL)
        abort();
    *n = (yj_notifier){s->drv, h};
    return n;
}

void yj_notifier_close(yj_notifier *n)
{
    if (n == NULL)
        return;
    n->drv->notify_close(n->h);
    free(n);
}

yj_code yj_notify(yj_notifier *n, const char *channel, const char *payload, yj_err *err)
{
    return n->drv->notify(n->h, channel, payload, err);
}

yj_code yj_listen(yj_notifier *n, const char *channel, int wait_ms,
                  void (*fn)(const char *payload, void *ctx), void *ctx, yj_err *err)
{
    return n->drv->listen(n->h, channel, wait_ms, fn, ctx, err);
}

bool yj_store_batches(const yj_conn *c)
{
    return c->store->drv->round_trips;
}

const char *yj_store_driver_name(const yj_store *s)
{
    return s->drv->name;
}

/* ---- statements ------------------------------------------------------------ */

static size_t sql_hash(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

yj_code yj_exec(yj_conn *c, const char *sql, yj_err *err)
{
    return c->store->drv->exec(c->db, sql, err);
}

yj_stmt *yj_prepare(yj_conn *c, const char *sql, yj_err *err)
{
    size_t mask = STMT_CACHE_SLOTS - 1, i = sql_hash(sql) & mask;
    for (size_t probe = 0; probe < STMT_CACHE_SLOTS; probe++, i = (i + 1) & mask) {
        yj_stmt *st = c->cache[i];
        if (st == NULL)
            break;
        if (strcmp(st->sql, sql) == 0) {
            /* The same SQL twice at once on one connection would share state. */
            if (st->busy) {
                yj_err_set(err, YJ_EINTERNAL, NULL, "statement already in use: %s", sql);
                return NULL;
            }
            st->busy = true;
            st->changes = 0;
            return st;
        }
    }
    if (c->ncached >= STMT_CACHE_MAX)
        conn_flush_cache(c, false);
    void *impl = c->store->drv->prepare(c->db, sql, err);
    if (impl == NULL)
        return NULL;
    yj_stmt *st = calloc(1, sizeof *st);
    if (st == NULL)
        abort();
    st->conn = c;
    st->impl = impl;
    st->sql = strdup(sql);
    st->busy = true;
    for (i = sql_hash(sql) & mask; c->cache[i]; i = (i + 1) & mask)
        ;
    c->cache[i] = st;
    c->ncached++;
    return st;
}

void yj_bind_text(yj_stmt *st, int idx, const char *s)
{
    st->conn->store->drv->bind_text(st->impl, idx, s);
}

void yj_bind_int(yj_stmt *st, int idx, int64_t v)
{
    st->conn->store->drv->bind_int(st->impl, idx, v);
}

void yj_bind_real(yj_stmt *st, int idx, double v)
{
    st->conn->store->drv->bind_real(st->impl, idx, v);
}

void yj_bind_null(yj_stmt *st, int idx)
{
    st->conn->store->drv->bind_null(st->impl, idx);
}

void yj_bind_json(yj_stmt *st, int idx, const json_t *v)
{
    if (json_is_string(v))
        yj_bind_text(st, idx, json_string_value(v));
    else if (json_is_integer(v))
        yj_bind_int(st, idx, json_integer_value(v));
    else if (json_is_real(v))
        yj_bind_real(st, idx, json_real_value(v));
    else if (json_is_boolean(v))
        yj_bind_int(st, idx, json_is_true(v) ? 1 : 0);
    else
        yj_bind_null(st, idx);
}

int yj_step(yj_stmt *st, yj_err *err)
{
    const yj_driver *d = st->conn->store->drv;
    int rc = d->step(st->impl, err);
    if (rc == 0)
        st->changes = d->changes(st->conn->db);
    return rc;
}

int yj_col_count(yj_stmt *st)
{
    return st->conn->store->drv->col_count(st->impl);
}

const char *yj_col_name(yj_stmt *st, int i)
{
    return st->conn->store->drv->col_name(st->impl, i);
}

bool yj_col_null(yj_stmt *st, int i)
{
    return st->conn->store->drv->col_type(st->impl, i) == YJ_VAL_NULL;
}

int yj_col_type(yj_stmt *st, int i)
{
    switch (st->conn->store->drv->col_type(st->impl, i)) {
    case YJ_VAL_INT:
        return YJ_COL_INT;
    case YJ_VAL_REAL:
        return YJ_COL_REAL;
    case YJ_VAL_TEXT:
        return YJ_COL_TEXT;
    default:
        return -1;
    }
}

const char *yj_col_text(yj_stmt *st, int i)
{
    return st->conn->store->drv->col_text(st->impl, i);
}

int64_t yj_col_int(yj_stmt *st, int i)
{
    return st->conn->store->drv->col_int(st->impl, i);
}

double yj_col_real(yj_stmt *st, int i)
{
    return st->conn->store->drv->col_real(st->impl, i);
}

json_t *yj_col_json(yj_stmt *st, int i)
{
    const yj_driver *d = st->conn->store->drv;
    switch (d->col_type(st->impl, i)) {
    case YJ_VAL_INT:
        return json_integer(d->col_int(st->impl, i));
    case YJ_VAL_REAL:
        return json_real(d->col_real(st->impl, i));
    case YJ_VAL_TEXT:
        return json_string(d->col_text(st->impl, i));
    default:
        return json_null();
    }
}

json_t *yj_row_json(yj_stmt *st)
{
    json_t *o = json_object();
    for (int i = 0; i < yj_col_count(st); i++)
        json_object_set_new(o, yj_col_name(st, i), yj_col_json(st, i));
    return o;
}

json_t *yj_rows_json(yj_stmt *st, yj_err *err)
{
    json_t *items = json_array();
    int r;
    while ((r = yj_step(st, err)) == 1)
        json_array_append_new(items, yj_row_json(st));
    yj_stmt_done(st);
    if (r < 0) {
        json_decref(items);
        return NULL;
    }
    return items;
}

int64_t yj_stmt_changes(yj_stmt *st)
{
    return st->changes;
}

int64_t yj_last_insert_id(yj_stmt *st)
{
    return st->conn->store->drv->last_insert_id(st->conn->db);
}

void yj_stmt_reset(yj_stmt *st)
{
    st->conn->store->drv->reset(st->impl);
    st->changes = 0;
}

void yj_stmt_done(yj_stmt *st)
{
    if (st == NULL)
        return;
    st->conn->store->drv->reset(st->impl);
    st->busy = false;
}

/* ---- bulk loads ------------------------------------------------------------------- */

#define BULK_FLUSH 65536

struct yj_bulk {
    yj_conn *conn;
    bool copy;      /* COPY stream, else st */
    yj_stmt *st;    /* INSERT ... VALUES (?, ...) */
    int ncols, col; /* columns per row, the next one */
    int64_t rows;
    yj_buf buf; /* COPY: rows not yet sent */
    yj_code failed;
    yj_err err;
};

yj_bulk *yj_bulk_begin(yj_conn *c, const char *table, const char *cols, int ncols, yj_err *err)
{
    yj_bulk *b = calloc(1, sizeof *b);
    if (b == NULL)
        abort();
    b->conn = c;
    b->ncols = ncols;
    yj_buf_init(&b->buf);
    const yj_driver *d = c->store->drv;
    char sql[1024];
    if (d->copy_begin) {
        snprintf(sql, sizeof sql, "COPY %s (%s) FROM STDIN", table, cols);
        if (d->copy_begin(c->db, sql, err) != YJ_OK) {
            free(b);
            return NULL;
        }
        b->copy = true;
        return b;
    }
    int n = snprintf(sql, sizeof sql, "INSERT INTO %s (%s) VALUES (", table, cols);
    for (int i = 0; i < ncols && n < (int)sizeof sql - 4; i++)
        n += snprintf(sql + n, sizeof sql - (size_t)n, i ? ", ?" : "?");
    snprintf(sql + n, sizeof sql - (size_t)n, ")");
    /* row by row: a savepoint lets an abandoned load leave nothing */
    if (yj_exec(c, "SAVEPOINT yj_bulk", err) != YJ_OK) {
        free(b);
        return NULL;
    }
    if ((b->st = yj_prepare(c, sql, err)) == NULL) {
        yj_exec(c, "ROLLBACK TO yj_bulk; RELEASE yj_bulk", NULL);
        free(b);
        return NULL;
    }
    return b;
}

/* COPY text format: \N is NULL; backslash, tab, newline, CR escaped. */
static void bulk_field(yj_bulk *b, const char *s)
{
    if (b->col++ > 0)
        yj_buf_putc(&b->buf, '\t');
    if (s == NULL) {
        yj_buf_puts(&b->buf, "\\N");
        return;
    }
    for (; *s; s++) {
        switch (*s) {
        case '\\':
            yj_buf_puts(&b->buf, "\\\\");
            break;
        case '\t':
            yj_buf_puts(&b->buf, "\\t");
            break;
        case '\n':
            yj_buf_puts(&b->buf, "\\n");
            break;
        case '\r':
            yj_buf_puts(&b->buf, "\\r");
            break;
        default:
            yj_buf_putc(&b->buf, *s);
        }
    }
}

void yj_bulk_text(yj_bulk *b, const char *s)
{
    if (b->copy)
        bulk_field(b, s);
    else
        yj_bind_text(b->st, ++b->col, s);
}

void yj_bulk_int(yj_bulk *b, int64_t v)
{
    if (b->copy) {
        char n[24];
        snprintf(n, sizeof n, "%lld", (long long)v);
        bulk_field(b, n);
    } else {
        yj_bind_int(b->st, ++b->col, v);
    }
}

void yj_bulk_null(yj_bulk *b)
{
    if (b->copy)
        bulk_field(b, NULL);
    else
        yj_bind_null(b->st, ++b->col);
}

yj_code yj_bulk_row(yj_bulk *b, yj_err *err)
{
    if (b->failed)
        return yj_err_set(err, b->failed, NULL, "%s", b->err.message);
    if (b->col != b->ncols) {
        b->failed = yj_err_set(&b->err, YJ_EINTERNAL, NULL, "bulk row of %d values for %d columns",
                               b->col, b->ncols);
        return yj_err_set(err, b->failed, NULL, "%s", b->err.message);
    }
    b->col = 0;
    b->rows++;
    if (!b->copy) {
        int r = yj_step(b->st, err);
        yj_stmt_reset(b->st);
        if (r < 0) {
            b->failed = err->code;
            b->err = *err;
        }
        return r < 0 ? yj_fail(err) : YJ_OK;
    }
    yj_buf_putc(&b->buf, '\n');
    if (b->buf.len >= BULK_FLUSH) {
        const yj_driver *d = b->conn->store->drv;
        yj_code rc = d->copy_put(b->conn->db, b->buf.data, b->buf.len, err);
        yj_buf_reset(&b->buf);
        if (rc != YJ_OK) {
            b->failed = rc;
            b->err = *err;
        }
        return rc;
    }
    return YJ_OK;
}

yj_code yj_bulk_end(yj_bulk *b, bool ok, int64_t *rows, yj_err *err)
{
    if (b == NULL)
        return YJ_OK;
    yj_code rc = b->failed;
    if (rc != YJ_OK && err)
        *err = b->err;
    ok = ok && rc == YJ_OK;
    if (b->copy) {
        const yj_driver *d = b->conn->store->drv;
        if (ok && b->buf.len)
            rc = d->copy_put(b->conn->db, b->buf.data, b->buf.len, err);
        ok = ok && rc == YJ_OK;
        int64_t n = 0;
        yj_code rc2 = d->copy_end(b->conn->db, ok, &n, err);
        if (rc == YJ_OK)
            rc = rc2;
        if (rows)
            *rows = n;
    } else {
        yj_stmt_done(b->st);
        yj_code rc2 =
            yj_exec(b->conn, ok ? "RELEASE yj_bulk" : "ROLLBACK TO yj_bulk; RELEASE yj_bulk",
                    ok ? err : NULL);
        if (rc == YJ_OK && ok)
            rc = rc2;
        if (rows)
            *rows = ok && rc == YJ_OK ? b->rows : 0;
    }
    yj_buf_free(&b->buf);
    free(b);
    return rc;
}

yj_code yj_query_int(yj_conn *c, const char *sql, const char *text_param, int64_t *out, yj_err *err)
{
    yj_stmt *st = yj_prepare(c, sql, err);
    if (st == NULL)
        return yj_fail(err);
    if (text_param)
        yj_bind_text(st, 1, text_param);
    int rc = yj_step(st, err);
    if (rc == 1)
        *out = yj_col_int(st, 0);
    else if (rc == 0)
        *out = 0;
    yj_stmt_done(st);
    return rc < 0 ? yj_fail(err) : YJ_OK;
}

/* ---- transactions ---------------------------------------------------------- */

static void tx_end(yj_conn *c)
{
    for (size_t i = 0; i < c->nslots; i++)
        free(c->slots[i].data);
    free(c->slots);
    c->slots = NULL;
    c->nslots = 0;
    c->in_tx = false;
}

yj_code yj_tx_begin(yj_conn *c, yj_err *err)
{
    tx_end(c);
    yj_code rc = c->store->drv->exec(c->db, c->store->drv->begin_write_sql, err);
    c->in_tx = rc == YJ_OK;
    return rc;
}

yj_code yj_tx_commit(yj_conn *c, yj_err *err)
{
    yj_code rc = YJ_OK;
    for (size_t i = 0; rc == YJ_OK && i < c->nslots; i++)
        if (c->slots[i].before_commit)
            rc = c->slots[i].before_commit(c, c->slots[i].data, err);
    if (rc == YJ_OK)
        rc = c->store->drv->exec(c->db, "COMMIT", err);
    if (rc != YJ_OK)
        yj_tx_rollback(c);
    tx_end(c);
    return rc;
}

void yj_tx_rollback(yj_conn *c)
{
    c->store->drv->exec(c->db, "ROLLBACK", NULL);
    tx_end(c);
}

yj_code yj_tx_turn(yj_conn *c, const char *name, yj_err *err)
{
    const char *sql = c->store->drv->turn_sql;
    if (sql == NULL)
        return YJ_OK; /* SQLite: the write transaction is everyone's turn */
    char key[80];
    snprintf(key, sizeof key, "turn:%s", name);
    bool fresh = true;
    if (yj_tx_local(c, key, 1, NULL, &fresh) != NULL && !fresh)
        return YJ_OK; /* taken already in this transaction */
    yj_stmt *st = yj_prepare(c, sql, err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_text(st, 1, name);
    int r = yj_step(st, err);
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

void *yj_tx_local(yj_conn *c, const char *key, size_t size, yj_tx_hook before_commit, bool *fresh)
{
    if (!c->in_tx)
        return NULL;
    for (size_t i = 0; i < c->nslots; i++) {
        if (strcmp(c->slots[i].key, key) == 0) {
            *fresh = false;
            return c->slots[i].data;
        }
    }
    tx_slot *p = realloc(c->slots, (c->nslots + 1) * sizeof *p);
    if (p == NULL)
        abort();
    c->slots = p;
    tx_slot *sl = &c->slots[c->nslots++];
    snprintf(sl->key, sizeof sl->key, "%s", key);
    if ((sl->data = calloc(1, size ? size : 1)) == NULL)
        abort();
    sl->before_commit = before_commit;
    *fresh = true;
    return sl->data;
}

/* ---- migrations ------------------------------------------------------------ */

#define MIGRATION_TABLE_SQL                                                                        \
    "CREATE TABLE IF NOT EXISTS schema_migration ("                                                \
    " module TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,"                         \
    " applied_at TEXT NOT NULL, PRIMARY KEY (module, version))"

static yj_code module_version(yj_conn *c, const char *module, int64_t *have, yj_err *err)
{
    yj_stmt *st = yj_prepare(
        c, "SELECT COALESCE(MAX(version), 0) FROM schema_migration WHERE module = ?", err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_text(st, 1, module);
    int r = yj_step(st, err);
    *have = r == 1 ? yj_col_int(st, 0) : 0;
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

yj_code yj_store_migrate_legacy(yj_store *s, const char *(*owner)(int version), yj_err *err)
{
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = yj_exec(c, MIGRATION_TABLE_SQL, err);
    /* the old table exists only on a database made before modules kept
     * their own versions; a failing probe means there is none */
    int64_t legacy = 0;
    bool has_legacy = rc == YJ_OK && yj_query_int(c, "SELECT COUNT(*) FROM schema_migrations", NULL,
                                                  &legacy, NULL) == YJ_OK;
    if (!has_legacy) {
        yj_store_release(s, c);
        return rc;
    }
    rc = yj_tx_begin(c, err);
    yj_stmt *st = rc == YJ_OK ? yj_prepare(c,
                                           "SELECT version, name, applied_at FROM"
                                           " schema_migrations ORDER BY version",
                                           err)
                              : NULL;
    if (rc == YJ_OK && st == NULL)
        rc = yj_fail(err);
    typedef struct {
        int version;
        char name[160], at[40];
    } row;
    row *rows = NULL;
    size_t nrows = 0;
    int r = 0;
    while (st && (r = yj_step(st, err)) == 1) {
        row *p = realloc(rows, (nrows + 1) * sizeof *rows);
        if (p == NULL)
            abort();
        rows = p;
        rows[nrows].version = (int)yj_col_int(st, 0);
        snprintf(rows[nrows].name, sizeof rows[nrows].name, "%s", yj_col_text(st, 1));
        snprintf(rows[nrows].at, sizeof rows[nrows].at, "%s", yj_col_text(st, 2));
        nrows++;
    }
    yj_stmt_done(st);
    if (rc == YJ_OK && r < 0)
        rc = yj_fail(err);
    for (size_t i = 0; rc == YJ_OK && i < nrows; i++) {
        const char *module = owner(rows[i].version);
        if (module == NULL) {
            rc = yj_err_set(err, YJ_EINTERNAL, NULL,
                            "migration %d of the database belongs to no module", rows[i].version);
            break;
        }
        st = yj_prepare(c,
                        "INSERT INTO schema_migration (module, version, name, applied_at)"
                        " VALUES (?, ?, ?, ?)",
                        err);
        if (st == NULL) {
            rc = yj_fail(err);
            break;
        }
        yj_bind_text(st, 1, module);
        yj_bind_int(st, 2, rows[i].version);
        yj_bind_text(st, 3, rows[i].name);
        yj_bind_text(st, 4, rows[i].at);
        if (yj_step(st, err) < 0)
            rc = yj_fail(err);
        yj_stmt_done(st);
    }
    free(rows);
    if (rc == YJ_OK)
        rc = yj_exec(c, "DROP TABLE schema_migrations", err);
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    yj_store_release(s, c);
    return rc;
}

/* PostgreSQL has no database-wide write lock for BEGIN to take: nodes
 * starting together take turns at migrating by a named lock. */
static yj_lock *migrate_lock(yj_store *s, yj_err *err)
{
    for (int waited = 0; waited < 120000; waited += 100) {
        yj_lock *l = yj_store_lock(s, "migrate", err);
        if (l || err->code != YJ_EBUSY)
            return l;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    yj_err_set(err, YJ_EBUSY, NULL, "another node has been migrating the database for 2 minutes");
    return NULL;
}

yj_code yj_store_migrate(yj_store *s, const char *module, const yj_migration *m, size_t n,
                         yj_err *err)
{
    yj_lock *lock = NULL;
    if (s->drv == &yj_driver_pg && (lock = migrate_lock(s, err)) == NULL)
        return yj_fail(err);
    yj_code rc = store_migrate(s, module, m, n, err);
    yj_store_unlock(lock);
    return rc;
}

static yj_code store_migrate(yj_store *s, const char *module, const yj_migration *m, size_t n,
                             yj_err *err)
{
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = yj_exec(c, MIGRATION_TABLE_SQL, err);
    int64_t have = 0;
    if (rc == YJ_OK)
        rc = module_version(c, module, &have, err);
    for (size_t i = 0; rc == YJ_OK && i < n; i++) {
        if (m[i].version <= have)
            continue;
        if ((rc = yj_tx_begin(c, err)) != YJ_OK)
            break;
        /* Another process may have migrated while we waited for the write
         * lock: decide again under it. */
        rc = module_version(c, module, &have, err);
        if (rc == YJ_OK && m[i].version <= have) {
            yj_tx_rollback(c);
            continue;
        }
        if (rc == YJ_OK && m[i].sql)
            rc = yj_exec(c, m[i].sql, err);
        if (rc == YJ_OK && m[i].fn)
            rc = m[i].fn(c, module, m[i].version, err);
        if (rc == YJ_OK) {
            yj_stmt *st = yj_prepare(c,
                                     "INSERT INTO schema_migration (module, version, name,"
                                     " applied_at) VALUES (?, ?, ?, CURRENT_TIMESTAMP)",
                                     err);
            if (st == NULL) {
                rc = yj_fail(err);
            } else {
                yj_bind_text(st, 1, module);
                yj_bind_int(st, 2, m[i].version);
                yj_bind_text(st, 3, m[i].name);
                if (yj_step(st, err) < 0)
                    rc = yj_fail(err);
                yj_stmt_done(st);
            }
        }
        if (rc == YJ_OK) {
            rc = yj_tx_commit(c, err);
        } else {
            yj_tx_rollback(c);
            char msg[256];
            snprintf(msg, sizeof msg, "%s", err ? err->message : "");
            yj_err_set(err, rc, NULL, "migration %s %d (%s) failed: %s", module, m[i].version,
                       m[i].name, msg);
        }
    }
    yj_store_release(s, c);
    return rc;
}
