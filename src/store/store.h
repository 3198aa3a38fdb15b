/*
 * store.h — the storage interface every module uses.
 *
 * Modules never include sqlite3.h (or libpq-fe.h): they get a connection from
 * the pool, prepare SQL written in the portable subset both SQLite and
 * PostgreSQL accept (`?` placeholders, `RETURNING id`, no SQLite-only
 * functions, `id IN yj_int_list(?)` for a JSON array of ids; see
 * ARCHITECTURE.md "Two stores"), bind, step and read columns.  The driver
 * behind it is chosen by the URL given to yj_store_open(): a plain path or
 * "sqlite:PATH", or
 * "postgres://..." — the same vtable (store_driver.h), so no module knows
 * which.  dialect.c says the portable SQL in PostgreSQL.
 *
 * Region scoping lives here too (records.c): every generic record read or
 * write takes a yj_scope and the SQL it runs always carries the scope
 * predicate, so no handler can forget it.
 */
#ifndef YJ_STORE_H
#define YJ_STORE_H

#include "../core/buf.h"
#include "../core/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct yj_store yj_store; /* a pool of connections to one database */
typedef struct yj_conn yj_conn;   /* one connection, owned by one thread at a time */
typedef struct yj_stmt yj_stmt;   /* a prepared statement, cached per connection */

/* ---- pool ---------------------------------------------------------------- */

/* url: a SQLite file path (or "sqlite:PATH"), or a PostgreSQL URL
 * "postgres[ql]://user@host:port/db" (libpq's connection string). */
yj_store *yj_store_open(const char *url, int pool_size, yj_err *err);
bool yj_store_url_is_pg(const char *url);
/* Make a PostgreSQL database empty for a new one (the demo): nothing to do
 * when it holds no table; otherwise YJ_ECONFLICT unless force, which drops
 * the schema public and makes it again.  (A SQLite file is removed.) */
yj_code yj_store_empty(yj_store *s, bool force, yj_err *err);
void yj_store_close(yj_store *s);
/* Blocks until a connection is free. */
yj_conn *yj_store_acquire(yj_store *s);
void yj_store_release(yj_store *s, yj_conn *c);

typedef struct {
    int size, in_use;
    uint64_t acquires, waits; /* waits: acquires that had to block */
} yj_pool_stats;
void yj_store_stats(yj_store *s, yj_pool_stats *out);
const char *yj_store_driver_name(const yj_store *s);
/* True when every statement is a round trip to a server (PostgreSQL): a
 * hot path that writes row by row should gather rows into multi-row
 * statements.  False for SQLite, where a prepared statement per row is the
 * fastest way and one multi-row statement with RETURNING is slower. */
bool yj_store_batches(const yj_conn *c);
/* A named lock on the database, across processes and machines, held until
 * yj_store_unlock or the holder's death (kill -9 included): NULL with
 * YJ_EBUSY when another process holds it.  What makes a node's name its
 * own (base/node.c). */
typedef struct yj_lock yj_lock;
yj_lock *yj_store_lock(yj_store *s, const char *name, yj_err *err);
void yj_store_unlock(yj_lock *l);
/* Messages between the processes on one database (PostgreSQL LISTEN/NOTIFY),
 * on a connection of their own (not the pool's).  yj_notifier_open
 * answers NULL without an error where the store has none (SQLite: one
 * node).  A notifier is used by one thread at a time; yj_listen waits up
 * to wait_ms and hands each message (at most 8000 bytes) to fn; YJ_EIO:
 * the connection is lost (open a new one). */
typedef struct yj_notifier yj_notifier;
yj_notifier *yj_notifier_open(yj_store *s, yj_err *err);
void yj_notifier_close(yj_notifier *n);
yj_code yj_notify(yj_notifier *n, const char *channel, const char *payload, yj_err *err);
yj_code yj_listen(yj_notifier *n, const char *channel, int wait_ms,
                  void (*fn)(const char *payload, void *ctx), void *ctx, yj_err *err);

/* ---- transactions ---------------------------------------------------------- */

/* A write transaction: takes the write lock at once (SQLite BEGIN IMMEDIATE),
 * so read-modify-write sequences inside it are serialised. */
yj_code yj_tx_begin(yj_conn *c, yj_err *err);
yj_code yj_tx_commit(yj_conn *c, yj_err *err);
void yj_tx_rollback(yj_conn *c);
/* Memory kept for the open transaction under key: zeroed when first asked
 * for in it (*fresh true), freed when it ends.  before_commit, if given,
 * runs with it just before COMMIT (an error there rolls back).  NULL
 * outside yj_tx_begin.  For what a transaction should write once however
 * many records it touches: the audit chain's head, a table's generation —
 * on PostgreSQL a row updated a thousand times in one transaction leaves a
 * thousand versions that every later update walks. */
typedef yj_code (*yj_tx_hook)(yj_conn *c, void *slot, yj_err *err);
/* Wait for the named turn and hold it until the transaction ends: the
 * writers of one kind of rows that update many of them in orders they
 * cannot agree on (a dispatch round, a gateway's batch of receipts, a
 * cancel) take turns instead of deadlocking.  PostgreSQL: an advisory
 * transaction lock; SQLite: nothing (BEGIN IMMEDIATE already does). */
yj_code yj_tx_turn(yj_conn *c, const char *name, yj_err *err);
void *yj_tx_local(yj_conn *c, const char *key, size_t size, yj_tx_hook before_commit, bool *fresh);

/* ---- statements ------------------------------------------------------------ */

/* Run SQL with no parameters and no result (DDL, pragmas).  May hold several
 * statements separated by ';'. */
yj_code yj_exec(yj_conn *c, const char *sql, yj_err *err);
/* Prepare (or fetch from the connection's cache) a statement.  Release with
 * yj_stmt_done() before preparing the same SQL again on this connection. */
yj_stmt *yj_prepare(yj_conn *c, const char *sql, yj_err *err);
void yj_bind_text(yj_stmt *st, int idx, const char *s); /* NULL binds NULL; idx is 1-based */
void yj_bind_int(yj_stmt *st, int idx, int64_t v);
void yj_bind_real(yj_stmt *st, int idx, double v);
void yj_bind_null(yj_stmt *st, int idx);
/* Bind a JSON scalar (string, integer, real, true/false, null). */
void yj_bind_json(yj_stmt *st, int idx, const json_t *v);
/* 1: a row is ready; 0: done; -1: error (err set: YJ_ECONFLICT for a
 * uniqueness violation, YJ_EINVAL for a foreign-key/check violation). */
int yj_step(yj_stmt *st, yj_err *err);
int yj_col_count(yj_stmt *st);
const char *yj_col_name(yj_stmt *st, int i);
bool yj_col_null(yj_stmt *st, int i);
/* Stored type of the value: YJ_COL_TEXT, YJ_COL_INT or YJ_COL_REAL; -1 for NULL. */
int yj_col_type(yj_stmt *st, int i);
const char *yj_col_text(yj_stmt *st, int i); /* valid until the next step; "" for NULL */
int64_t yj_col_int(yj_stmt *st, int i);
double yj_col_real(yj_stmt *st, int i);
/* Column as JSON (integer, real, string or null) — new reference. */
json_t *yj_col_json(yj_stmt *st, int i);
/* The current row as an object of column name → yj_col_json. */
json_t *yj_row_json(yj_stmt *st);
/* Every row still to come as an array of yj_row_json, and st done; NULL
 * (err set) when a step fails. */
json_t *yj_rows_json(yj_stmt *st, yj_err *err);
/* Rows changed by the last INSERT/UPDATE/DELETE stepped on this statement. */
int64_t yj_stmt_changes(yj_stmt *st);
/* The integer primary key of the row the last INSERT stepped on this
 * statement's connection created (cheaper than RETURNING id, which costs
 * SQLite more than the insert itself on the ingest path). */
int64_t yj_last_insert_id(yj_stmt *st);
/* Reset bindings and state to run the statement again (stays handed out). */
void yj_stmt_reset(yj_stmt *st);
/* Reset and return the statement to the connection's cache. */
void yj_stmt_done(yj_stmt *st);

/* Many rows into one table, the fastest way the store has: PostgreSQL COPY
 * (one stream, no round trip per row), SQLite a prepared INSERT per row.
 * Inside the caller's transaction.  cols: "a, b, c" (ncols of them); for
 * each row, one yj_bulk_* value per column in order, then yj_bulk_row.
 * Errors (a constraint) may surface only at yj_bulk_end, which frees b
 * either way; no ids come back.  Not for SQL of the caller's own: table
 * and cols come from the program. */
typedef struct yj_bulk yj_bulk;
yj_bulk *yj_bulk_begin(yj_conn *c, const char *table, const char *cols, int ncols, yj_err *err);
void yj_bulk_text(yj_bulk *b, const char *s); /* NULL: NULL */
void yj_bulk_int(yj_bulk *b, int64_t v);
void yj_bulk_null(yj_bulk *b);
yj_code yj_bulk_row(yj_bulk *b, yj_err *err);
/* ok false: abandon (nothing of it is written). *rows: rows written. */
yj_code yj_bulk_end(yj_bulk *b, bool ok, int64_t *rows, yj_err *err);

/* Convenience: run one statement that returns at most one integer. */
yj_code yj_query_int(yj_conn *c, const char *sql, const char *text_param, int64_t *out,
                     yj_err *err);

/* ---- migrations ------------------------------------------------------------ */

/* One schema step of a module.  Versions are per module, strictly
 * increasing; a migration that has shipped is never edited — add the
 * next.  Either SQL (run as one script) or a function (generated DDL: the
 * registry tables and their added fields), or both. */
typedef struct {
    int version;
    const char *name;
    const char *sql;
    yj_code (*fn)(yj_conn *c, const char *module, int version, yj_err *err);
} yj_migration;

/* Apply, in one transaction each, every migration of `module` whose
 * version is above the database's for that module (table
 * schema_migration (module, version)). */
yj_code yj_store_migrate(yj_store *s, const char *module, const yj_migration *m, size_t n,
                         yj_err *err);
/* The versions recorded before migrations were kept per module (one
 * global sequence, table schema_migrations): owner(version) names the
 * module a legacy version belongs to.  Run once before yj_store_migrate;
 * a no-op on a new database or one already converted. */
yj_code yj_store_migrate_legacy(yj_store *s, const char *(*owner)(int version), yj_err *err);

/* ---- scoped records (records.c) -------------------------------------------- */

/* YJ_COL_BOOL is stored as INTEGER 0/1 and read back as JSON true/false. */
typedef enum { YJ_COL_TEXT, YJ_COL_INT, YJ_COL_REAL, YJ_COL_BOOL } yj_coltype;

typedef struct {
    const char *name;
    yj_coltype type;
    const char *references; /* "table(col)" for a foreign key, or NULL */
} yj_column;

/* A table of records.  Besides its own columns every record table has:
 *   id INTEGER PRIMARY KEY, region_code TEXT NOT NULL REFERENCES region(code),
 *   lat REAL, lon REAL, version INTEGER NOT NULL, created_at TEXT,
 *   updated_at TEXT, updated_by TEXT
 */
typedef struct {
    const char *name;      /* SQL table name */
    const yj_column *cols; /* own columns */
    size_t ncols;
    const char *search_col;     /* matched by yj_query.search (substring) */
    const char *key_col;        /* natural key: unique, used by imports */
    const char *enterprise_col; /* owning enterprise id column ("id" for the
                                   enterprise table itself), or NULL */
} yj_table;

/* What the caller may see.  region: code prefix ("" = whole database);
 * enterprise != 0: only rows owned by that enterprise (-1: none) (tables with no
 * enterprise_col are then invisible). */
typedef struct {
    char region[16];
    int64_t enterprise;
} yj_scope;

/* ---- statements with their parameters, and the scope (sql.c) --------------------- */

/* SQL text and the values of its placeholders, built together: a fragment
 * added under a condition carries its own bindings. */
struct yj_sql_param;
typedef struct {
    yj_buf text;
    struct yj_sql_param *p;
    size_t n, cap;
} yj_sql;

void yj_sql_init(yj_sql *q, const char *text);
void yj_sql_free(yj_sql *q);
/* Text without placeholders (identifiers come only from the program). */
void yj_sql_add(yj_sql *q, const char *text);
void yj_sql_addf(yj_sql *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Text with exactly one "?" and its value. */
void yj_sql_int(yj_sql *q, const char *text, int64_t v);
void yj_sql_real(yj_sql *q, const char *text, double v);
void yj_sql_text(yj_sql *q, const char *text, const char *v); /* NULL binds NULL */
void yj_sql_null(yj_sql *q, const char *text);
/* A JSON scalar (string, integer, real, true/false, null). */
void yj_sql_json(yj_sql *q, const char *text, const json_t *v);

/* Which columns of a query carry a row's scope. */
typedef struct {
    const char *region; /* the row's region code column, e.g. "a.region_code" */
    /* The owning enterprise's id column or expression (an enterprise user
     * sees only its own rows), or NULL: no row is an enterprise's. */
    const char *enterprise;
    /* Rows no enterprise owns (no enterprise column, or it is NULL) are for
     * everyone in the region, enterprise users included (warnings, the
     * rules of a sensor type); otherwise enterprise users see none. */
    bool unowned_visible;
    /* Rows of a region above the caller's are visible too when this
     * predicate holds (a city's published warning in its counties). */
    const char *above;
    /* Rows with no region (a reading from a sensor nobody registered) are
     * visible to callers at the top of the tree (a city or above). */
    bool unplaced_to_top;
} yj_scope_cols;

/* Append " AND <the caller's scope over cols>" — the one way a query is
 * confined to what its caller may see. */
void yj_sql_scope(yj_sql *q, const yj_scope *sc, const yj_scope_cols *cols);
/* Append " AND <col lies in the subtree of prefix>" (a filter the caller
 * asks for, on top of the scope); nothing for NULL or "". */
void yj_sql_region(yj_sql *q, const char *col, const char *prefix);
/* Prepare (from the connection's cache) and bind every parameter. */
yj_stmt *yj_sql_prepare(yj_conn *c, const yj_sql *q, yj_err *err);
/* The one row q finds (a record by id, in the caller's scope) as
 * yj_row_json; q is freed.  YJ_ENOTFOUND "<what> <id> 不存在或不在您的权限范围内"
 * when there is none. */
yj_code yj_sql_one(yj_conn *c, yj_sql *q, const char *what, int64_t id, json_t **out, yj_err *err);
/* In memory: is region inside the scope's subtree?  And is a row of that
 * region and enterprise (0: none) the caller's to see? */
bool yj_scope_contains(const yj_scope *sc, const char *region);
bool yj_scope_sees(const yj_scope *sc, const char *region, int64_t enterprise);
/* Does region code lie in the subtree of prefix? */
bool yj_region_within(const char *code, const char *prefix);

typedef struct {
    const char *col;
    const char *value;
} yj_filter;

typedef struct {
    const yj_filter *filters; /* equality on own columns; names must be checked by caller */
    size_t nfilters;
    const char *search; /* substring of search_col */
    const char *region; /* extra region prefix, intersected with the scope */
    const char *sort;   /* column name (own or standard), NULL = id */
    bool desc;
    int limit; /* 1..1000 */
    int64_t offset;
    bool has_bbox;  /* only rows with lat/lon inside bbox */
    double bbox[4]; /* min lon, min lat, max lon, max lat */
    /* Own columns left out of every row (fields the caller's role may not
     * read: the permission table's field rows), NULL-terminated or NULL. */
    const char *const *hide;
} yj_query;

bool yj_table_has_col(const yj_table *t, const char *col, yj_coltype *type_out);
/* The DDL for a record table (CREATE TABLE + indexes), for migrations. */
char *yj_table_ddl(const yj_table *t);
/* The DDL adding one column to an existing record table (a field added
 * in a later migration: existing rows get NULL). */
char *yj_column_ddl(const yj_table *t, const yj_column *col);

yj_code yj_rec_list(yj_conn *c, const yj_table *t, const yj_scope *sc, const yj_query *q,
                    json_t **items_out, int64_t *total_out, yj_err *err);
/* The same page written straight into `out` as a JSON array of objects
 * (the read hot path: no intermediate json_t). */
yj_code yj_rec_list_json(yj_conn *c, const yj_table *t, const yj_scope *sc, const yj_query *q,
                         yj_buf *out, int64_t *total_out, yj_err *err);
yj_code yj_rec_get(yj_conn *c, const yj_table *t, const yj_scope *sc, int64_t id, json_t **out,
                   yj_err *err);
/* Look up by natural key inside the scope.  YJ_ENOTFOUND if absent from the
 * scope; YJ_EFORBIDDEN if it exists but outside the scope. */
yj_code yj_rec_find_key(yj_conn *c, const yj_table *t, const yj_scope *sc, const char *key,
                        json_t **out, yj_err *err);
/* rec holds own columns plus region_code, lat, lon.  Checks that region_code
 * exists and lies in the scope, and (enterprise scope) that the owning
 * enterprise is the caller's. */
yj_code yj_rec_insert(yj_conn *c, const yj_table *t, const yj_scope *sc, const json_t *rec,
                      const char *actor, int64_t *id_out, yj_err *err);
/* Replaces the record's columns with rec's if its version is still
 * expect_version (else YJ_ESTALE); the new region must also be in scope. */
yj_code yj_rec_update(yj_conn *c, const yj_table *t, const yj_scope *sc, int64_t id,
                      int64_t expect_version, const json_t *rec, const char *actor, yj_err *err);
yj_code yj_rec_delete(yj_conn *c, const yj_table *t, const yj_scope *sc, int64_t id,
                      int64_t expect_version, yj_err *err);
/* The table's generation: a counter bumped in the same transaction as every
 * insert, update and delete through this interface, so a reader can tell
 * whether anything changed since it cached a result (0 = never written). */
yj_code yj_table_generation(yj_conn *c, const yj_table *t, int64_t *gen, yj_err *err);
/* Bump a named generation inside the caller's transaction (for data kept
 * outside record tables that other processes cache, e.g. alarm rules). */
yj_code yj_generation_bump(yj_conn *c, const char *name, yj_err *err);
/* True if code is a known region inside the scope prefix. */
yj_code yj_region_check(yj_conn *c, const yj_scope *sc, const char *code, yj_err *err);

#endif
