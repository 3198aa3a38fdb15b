/*
 * records.c — generic, region-scoped access to record tables.
 *
 * Every registry (rescue teams, shelters, enterprises ...) is a table with a
 * few standard columns and its own typed columns (yj_table).  The functions
 * here build the SQL for list/get/insert/update/delete from that
 * description, and every statement they build carries the caller's scope:
 *
 *     region_code >= '<scope>' AND region_code < '<scope>~'  -- the user's region subtree
 *     AND <enterprise_col> = <enterprise>  -- enterprise users: own rows only
 *
 * Column names in the SQL come only from the yj_table (never from the
 * request); values are always bound parameters.
 */
#include "store.h"
#include "../core/buf.h"
#include "../core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const std_cols[] = {"id",      "region_code", "lat",        "lon",
                                       "version", "created_at",  "updated_at", "updated_by"};
#define N_STD_COLS (sizeof std_cols / sizeof std_cols[0])

bool yj_table_has_col(const yj_table *t, const char *col, yj_coltype *type_out)
{
    for (size_t i = 0; i < t->ncols; i++) {
        if (strcmp(t->cols[i].name, col) == 0) {
            if (type_out)
                *type_out = t->cols[i].type;
            return true;
        }
    }
    return false;
}

static bool is_std_col(const char *col)
{
    for (size_t i = 0; i < N_STD_COLS; i++)
        if (strcmp(std_cols[i], col) == 0)
            return true;
    return false;
}

static const char *coltype_sql(yj_coltype t)
{
    return t == YJ_COL_INT || t == YJ_COL_BOOL ? "INTEGER" : t == YJ_COL_REAL ? "REAL" : "TEXT";
}

char *yj_table_ddl(const yj_table *t)
{
    yj_buf b;
    yj_buf_init(&b);
    yj_buf_printf(&b,
                  "CREATE TABLE %s (\n"
                  "  id INTEGER PRIMARY KEY,\n"
                  "  region_code TEXT NOT NULL REFERENCES region(code),\n"
                  "  lat REAL, lon REAL,\n"
                  "  version INTEGER NOT NULL DEFAULT 1,\n"
                  "  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, updated_by TEXT",
                  t->name);
    for (size_t i = 0; i < t->ncols; i++) {
        yj_buf_printf(&b, ",\n  %s %s", t->cols[i].name, coltype_sql(t->cols[i].type));
        if (t->cols[i].references)
            yj_buf_printf(&b, " REFERENCES %s", t->cols[i].references);
    }
    yj_buf_puts(&b, "\n);\n");
    yj_buf_printf(&b, "CREATE INDEX %s_region ON %s(region_code);\n", t->name, t->name);
    if (t->key_col)
        yj_buf_printf(&b, "CREATE UNIQUE INDEX %s_key ON %s(%s);\n", t->name, t->name, t->key_col);
    if (t->search_col)
        yj_buf_printf(&b, "CREATE INDEX %s_search ON %s(%s);\n", t->name, t->name, t->search_col);
    if (t->enterprise_col && strcmp(t->enterprise_col, "id") != 0)
        yj_buf_printf(&b, "CREATE INDEX %s_ent ON %s(%s);\n", t->name, t->name, t->enterprise_col);
    return yj_buf_steal(&b);
}

char *yj_column_ddl(const yj_table *t, const yj_column *col)
{
    yj_buf b;
    yj_buf_init(&b);
    yj_buf_printf(&b, "ALTER TABLE %s ADD COLUMN %s %s", t->name, col->name,
                  coltype_sql(col->type));
    if (col->references)
        yj_buf_printf(&b, " REFERENCES %s", col->references);
    yj_buf_puts(&b, ";\n");
    return yj_buf_steal(&b);
}

/* ---- scope ----------------------------------------------------------------- */

/* The scope over a record table (alias "t." in reads, none in writes). */
static void scope_of(yj_sql *q, const yj_table *t, const yj_scope *sc, bool aliased)
{
    char region[64], ent[96];
    snprintf(region, sizeof region, "%sregion_code", aliased ? "t." : "");
    if (t->enterprise_col)
        snprintf(ent, sizeof ent, "%s%s", aliased ? "t." : "", t->enterprise_col);
    yj_scope_cols cols = {.region = region, .enterprise = t->enterprise_col ? ent : NULL};
    yj_sql_scope(q, sc, &cols);
}

yj_code yj_region_check(yj_conn *c, const yj_scope *sc, const char *code, yj_err *err)
{
    if (code == NULL || code[0] == '\0')
        return yj_err_set(err, YJ_EINVAL, "region_code", "region is required");
    size_t n = strlen(code);
    if (n > 12 || strspn(code, "0123456789") != n)
        return yj_err_set(err, YJ_EINVAL, "region_code", "region code must be 2-12 digits");
    int64_t found = 0;
    yj_code rc = yj_query_int(c, "SELECT COUNT(*) FROM region WHERE code = ?", code, &found, err);
    if (rc != YJ_OK)
        return rc;
    if (!found)
        return yj_err_set(err, YJ_EINVAL, "region_code", "unknown region code %s", code);
    if (!yj_scope_contains(sc, code))
        return yj_err_set(err, YJ_EFORBIDDEN, "region_code", "region %s is outside your region %s",
                          code, sc->region);
    return YJ_OK;
}

/* ---- reading --------------------------------------------------------------- */

static bool hidden(const yj_query *q, const char *col)
{
    for (size_t i = 0; q && q->hide && q->hide[i]; i++)
        if (strcmp(q->hide[i], col) == 0)
            return true;
    return false;
}

static void select_cols(yj_sql *sql, const yj_table *t, const yj_query *q)
{
    yj_sql_add(sql, "SELECT t.id, t.region_code, r.name AS region_name, t.lat, t.lon, "
                    "t.version, t.created_at, t.updated_at, t.updated_by");
    for (size_t i = 0; i < t->ncols; i++)
        if (!hidden(q, t->cols[i].name))
            yj_sql_addf(sql, ", t.%s", t->cols[i].name);
    yj_sql_addf(sql, " FROM %s t LEFT JOIN region r ON r.code = t.region_code WHERE 1=1", t->name);
}

/* Escape LIKE metacharacters so a search for "50%" finds the text "50%". */
static char *like_pattern(const char *s)
{
    yj_buf b;
    yj_buf_init(&b);
    yj_buf_putc(&b, '%');
    for (; *s; s++) {
        if (*s == '%' || *s == '_' || *s == '\\')
            yj_buf_putc(&b, '\\');
        yj_buf_putc(&b, *s);
    }
    yj_buf_putc(&b, '%');
    return yj_buf_steal(&b);
}

static void query_where(yj_sql *sql, const yj_table *t, const yj_query *q)
{
    yj_sql_region(sql, "t.region_code", q->region);
    for (size_t i = 0; i < q->nfilters; i++) {
        yj_coltype type = YJ_COL_TEXT;
        yj_table_has_col(t, q->filters[i].col, &type);
        char frag[96];
        snprintf(frag, sizeof frag, " AND t.%s = ?", q->filters[i].col);
        const char *v = q->filters[i].value;
        if (type == YJ_COL_BOOL)
            yj_sql_int(sql, frag, !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "是"));
        else if (type == YJ_COL_INT)
            yj_sql_int(sql, frag, strtoll(v, NULL, 10));
        else if (type == YJ_COL_REAL)
            yj_sql_real(sql, frag, strtod(v, NULL));
        else
            yj_sql_text(sql, frag, v);
    }
    if (q->search && q->search[0] && t->search_col) {
        char frag[96], *pat = like_pattern(q->search);
        snprintf(frag, sizeof frag, " AND t.%s LIKE ? ESCAPE '\\'", t->search_col);
        yj_sql_text(sql, frag, pat);
        free(pat);
    }
    if (q->has_bbox) {
        yj_sql_real(sql, " AND t.lon >= ?", q->bbox[0]);
        yj_sql_real(sql, " AND t.lat >= ?", q->bbox[1]);
        yj_sql_real(sql, " AND t.lon <= ?", q->bbox[2]);
        yj_sql_real(sql, " AND t.lat <= ?", q->bbox[3]);
    }
}

/* Standard columns select_cols() puts before the table's own. */
#define N_SELECT_STD 9
#define MAX_SELECT   (N_SELECT_STD + 64)

/* Row sinks: the json_t list and the direct JSON writer share the query;
 * bools[i] says column i holds a YJ_COL_BOOL (0/1 written as false/true). */
typedef void (*row_sink)(yj_stmt *st, const bool *bools, void *ctx);

static void sink_json_array(yj_stmt *st, const bool *bools, void *ctx)
{
    (void)bools;
    json_array_append_new(ctx, yj_row_json(st));
}

typedef struct {
    yj_buf *out;
    size_t rows;
} text_sink;

static void sink_json_text(yj_stmt *st, const bool *bools, void *ctx)
{
    text_sink *ts = ctx;
    yj_buf *out = ts->out;
    char num[40];
    int n = yj_col_count(st);
    if (ts->rows++)
        yj_buf_putc(out, ',');
    yj_buf_putc(out, '{');
    for (int i = 0; i < n; i++) {
        if (i)
            yj_buf_putc(out, ',');
        yj_buf_json_string(out, yj_col_name(st, i));
        yj_buf_putc(out, ':');
        switch (yj_col_type(st, i)) {
        case -1:
            yj_buf_puts(out, "null");
            break;
        case YJ_COL_INT:
            if (i < MAX_SELECT && bools[i]) {
                yj_buf_puts(out, yj_col_int(st, i) ? "true" : "false");
            } else {
                snprintf(num, sizeof num, "%lld", (long long)yj_col_int(st, i));
                yj_buf_puts(out, num);
            }
            break;
        case YJ_COL_REAL:
            snprintf(num, sizeof num, "%.15g", yj_col_real(st, i));
            yj_buf_puts(out, num);
            if (strpbrk(num, ".eE") == NULL) /* keep it a JSON real: 35 -> 35.0 */
                yj_buf_puts(out, ".0");
            break;
        default:
            yj_buf_json_string(out, yj_col_text(st, i));
        }
    }
    yj_buf_putc(out, '}');
}

/* Which selected columns are booleans (after the standard ones). */
static void bool_columns(const yj_table *t, const yj_query *q, bool *bools)
{
    memset(bools, 0, MAX_SELECT * sizeof *bools);
    size_t k = N_SELECT_STD;
    for (size_t i = 0; i < t->ncols && k < MAX_SELECT; i++)
        if (!hidden(q, t->cols[i].name))
            bools[k++] = t->cols[i].type == YJ_COL_BOOL;
}

static yj_code rec_list_rows(yj_conn *c, const yj_table *t, const yj_scope *sc, const yj_query *q,
                             row_sink sink, void *ctx, int64_t *total_out, yj_err *err)
{
    *total_out = 0;
    const char *sort = "id";
    if (q->sort && q->sort[0]) {
        if (!yj_table_has_col(t, q->sort, NULL) && !is_std_col(q->sort))
            return yj_err_set(err, YJ_EINVAL, "sort", "cannot sort by %s", q->sort);
        sort = q->sort;
    }
    yj_sql sql;
    /* total */
    yj_sql_init(&sql, NULL);
    yj_sql_addf(&sql, "SELECT COUNT(*) FROM %s t WHERE 1=1", t->name);
    scope_of(&sql, t, sc, true);
    query_where(&sql, t, q);
    yj_code rc = YJ_OK;
    yj_stmt *st = yj_sql_prepare(c, &sql, err);
    yj_sql_free(&sql);
    if (st == NULL)
        return yj_fail(err);
    int r = yj_step(st, err);
    if (r == 1)
        *total_out = yj_col_int(st, 0);
    yj_stmt_done(st);
    if (r < 0)
        return yj_fail(err);

    /* page */
    yj_sql_init(&sql, NULL);
    select_cols(&sql, t, q);
    scope_of(&sql, t, sc, true);
    query_where(&sql, t, q);
    yj_sql_addf(&sql, " ORDER BY t.%s %s, t.id %s", sort, q->desc ? "DESC" : "ASC",
                q->desc ? "DESC" : "ASC");
    yj_sql_int(&sql, " LIMIT ?", q->limit);
    yj_sql_int(&sql, " OFFSET ?", q->offset);
    st = yj_sql_prepare(c, &sql, err);
    yj_sql_free(&sql);
    if (st == NULL)
        return yj_fail(err);
    bool bools[MAX_SELECT];
    bool_columns(t, q, bools);
    while ((r = yj_step(st, err)) == 1)
        sink(st, bools, ctx);
    if (r < 0)
        rc = yj_fail(err);
    yj_stmt_done(st);
    return rc;
}

yj_code yj_rec_list(yj_conn *c, const yj_table *t, const yj_scope *sc, const yj_query *q,
                    json_t **items_out, int64_t *total_out, yj_err *err)
{
    *items_out = json_array();
    return rec_list_rows(c, t, sc, q, sink_json_array, *items_out, total_out, err);
}

yj_code yj_rec_list_json(yj_conn *c, const yj_table *t, const yj_scope *sc, const yj_query *q,
                         yj_buf *out, int64_t *total_out, yj_err *err)
{
    text_sink ts = {out, 0};
    yj_buf_putc(out, '[');
    yj_code rc = rec_list_rows(c, t, sc, q, sink_json_text, &ts, total_out, err);
    yj_buf_putc(out, ']');
    return rc;
}

static yj_code rec_get_where(yj_conn *c, const yj_table *t, const yj_scope *sc, const char *col,
                             const char *text, int64_t id, json_t **out, yj_err *err)
{
    *out = NULL;
    yj_sql sql;
    yj_sql_init(&sql, NULL);
    select_cols(&sql, t, NULL);
    char frag[96];
    snprintf(frag, sizeof frag, " AND t.%s = ?", col);
    if (text)
        yj_sql_text(&sql, frag, text);
    else
        yj_sql_int(&sql, frag, id);
    scope_of(&sql, t, sc, true);
    yj_stmt *st = yj_sql_prepare(c, &sql, err);
    yj_sql_free(&sql);
    if (st == NULL)
        return yj_fail(err);
    int r = yj_step(st, err);
    if (r == 1)
        *out = yj_row_json(st);
    yj_stmt_done(st);
    if (r < 0)
        return yj_fail(err);
    if (r == 0)
        return yj_err_set(err, YJ_ENOTFOUND, NULL, "no such record");
    return YJ_OK;
}

yj_code yj_rec_get(yj_conn *c, const yj_table *t, const yj_scope *sc, int64_t id, json_t **out,
                   yj_err *err)
{
    return rec_get_where(c, t, sc, "id", NULL, id, out, err);
}

yj_code yj_rec_find_key(yj_conn *c, const yj_table *t, const yj_scope *sc, const char *key,
                        json_t **out, yj_err *err)
{
    /* Absent and outside the scope look alike: the caller creates, and a
     * key taken elsewhere then fails as any duplicate does, without saying
     * where (no answer tells in which region a record exists). */
    return rec_get_where(c, t, sc, t->key_col, key, 0, out, err);
}

/* ---- generations ------------------------------------------------------------- */

yj_code yj_generation_bump(yj_conn *c, const char *name, yj_err *err)
{
    /* once per transaction: readers see the change only at commit anyway */
    char key[64];
    snprintf(key, sizeof key, "gen:%s", name);
    bool fresh = true;
    if (yj_tx_local(c, key, 1, NULL, &fresh) != NULL && !fresh)
        return YJ_OK;
    yj_stmt *st = yj_prepare(c,
                             "INSERT INTO table_generation(name, gen) VALUES (?, 1)"
                             " ON CONFLICT(name) DO UPDATE SET gen = table_generation.gen + 1",
                             err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_text(st, 1, name);
    int r = yj_step(st, err);
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

static yj_code bump_generation(yj_conn *c, const yj_table *t, yj_err *err)
{
    return yj_generation_bump(c, t->name, err);
}

yj_code yj_table_generation(yj_conn *c, const yj_table *t, int64_t *gen, yj_err *err)
{
    return yj_query_int(c, "SELECT gen FROM table_generation WHERE name = ?", t->name, gen, err);
}

/* ---- writing --------------------------------------------------------------- */

/* Enterprise users may only write rows their enterprise owns. */
static yj_code owner_check(const yj_table *t, const yj_scope *sc, const json_t *rec, yj_err *err)
{
    if (sc->enterprise <= 0)
        return YJ_OK;
    if (t->enterprise_col == NULL || strcmp(t->enterprise_col, "id") == 0)
        return YJ_OK; /* update of own enterprise row is scoped by id; inserts refused below */
    json_t *v = json_object_get(rec, t->enterprise_col);
    if (!json_is_integer(v) || json_integer_value(v) != sc->enterprise)
        return yj_err_set(err, YJ_EFORBIDDEN, t->enterprise_col,
                          "records may only be filed for your own enterprise");
    return YJ_OK;
}

static void bind_std_and_cols(yj_stmt *st, int *idx, const yj_table *t, const json_t *rec,
                              const char *now, const char *actor)
{
    yj_bind_json(st, (*idx)++, json_object_get(rec, "region_code"));
    yj_bind_json(st, (*idx)++, json_object_get(rec, "lat"));
    yj_bind_json(st, (*idx)++, json_object_get(rec, "lon"));
    yj_bind_text(st, (*idx)++, now);
    yj_bind_text(st, (*idx)++, actor);
    for (size_t i = 0; i < t->ncols; i++)
        yj_bind_json(st, (*idx)++, json_object_get(rec, t->cols[i].name));
}

yj_code yj_rec_insert(yj_conn *c, const yj_table *t, const yj_scope *sc, const json_t *rec,
                      const char *actor, int64_t *id_out, yj_err *err)
{
    if (sc->enterprise != 0 && (t->enterprise_col == NULL || strcmp(t->enterprise_col, "id") == 0))
        return yj_err_set(err, YJ_EFORBIDDEN, NULL, "enterprise users cannot create these");
    yj_code rc =
        yj_region_check(c, sc, json_string_value(json_object_get(rec, "region_code")), err);
    if (rc == YJ_OK)
        rc = owner_check(t, sc, rec, err);
    if (rc != YJ_OK)
        return rc;
    char now[40];
    yj_time_iso(yj_now_ms(), now, sizeof now);
    yj_buf sql;
    yj_buf_init(&sql);
    /* same column order as bind_std_and_cols(), then created_at */
    yj_buf_printf(&sql, "INSERT INTO %s (region_code, lat, lon, updated_at, updated_by", t->name);
    for (size_t i = 0; i < t->ncols; i++)
        yj_buf_printf(&sql, ", %s", t->cols[i].name);
    yj_buf_puts(&sql, ", created_at) VALUES (?, ?, ?, ?, ?");
    for (size_t i = 0; i < t->ncols; i++)
        yj_buf_puts(&sql, ", ?");
    yj_buf_puts(&sql, ", ?) RETURNING id");
    yj_stmt *st = yj_prepare(c, sql.data, err);
    yj_buf_free(&sql);
    if (st == NULL)
        return yj_fail(err);
    int idx = 1;
    bind_std_and_cols(st, &idx, t, rec, now, actor);
    yj_bind_text(st, idx, now);
    int r = yj_step(st, err);
    if (r == 1 && id_out)
        *id_out = yj_col_int(st, 0);
    if (r == 1)
        r = yj_step(st, err) < 0 ? -1 : 1; /* finish the statement */
    yj_stmt_done(st);
    if (r < 0) {
        if (err && err->code == YJ_ECONFLICT && t->key_col)
            yj_err_set(err, YJ_ECONFLICT, t->key_col, "a record with this %s already exists",
                       t->key_col);
        return yj_fail(err);
    }
    return bump_generation(c, t, err);
}

/* After an UPDATE/DELETE touched no row: was it a stale version or absent? */
static yj_code why_unchanged(yj_conn *c, const yj_table *t, const yj_scope *sc, int64_t id,
                             yj_err *err)
{
    json_t *cur = NULL;
    yj_code rc = yj_rec_get(c, t, sc, id, &cur, err);
    if (rc != YJ_OK)
        return rc;
    int64_t v = json_integer_value(json_object_get(cur, "version"));
    json_decref(cur);
    return yj_err_set(err, YJ_ESTALE, NULL,
                      "the record was changed by someone else (now version %lld); reload it",
                      (long long)v);
}

yj_code yj_rec_update(yj_conn *c, const yj_table *t, const yj_scope *sc, int64_t id,
                      int64_t expect_version, const json_t *rec, const char *actor, yj_err *err)
{
    yj_code rc =
        yj_region_check(c, sc, json_string_value(json_object_get(rec, "region_code")), err);
    if (rc == YJ_OK)
        rc = owner_check(t, sc, rec, err);
    if (rc != YJ_OK) {
        /* A record outside the scope must look absent, not forbidden. */
        json_t *cur = NULL;
        if (yj_rec_get(c, t, sc, id, &cur, NULL) != YJ_OK)
            return yj_err_set(err, YJ_ENOTFOUND, NULL, "no such record");
        json_decref(cur);
        return rc;
    }
    char now[40];
    yj_time_iso(yj_now_ms(), now, sizeof now);
    yj_sql sql;
    yj_sql_init(&sql, NULL);
    yj_sql_addf(&sql, "UPDATE %s SET", t->name);
    yj_sql_json(&sql, " region_code = ?", json_object_get(rec, "region_code"));
    yj_sql_json(&sql, ", lat = ?", json_object_get(rec, "lat"));
    yj_sql_json(&sql, ", lon = ?", json_object_get(rec, "lon"));
    yj_sql_text(&sql, ", updated_at = ?", now);
    yj_sql_text(&sql, ", updated_by = ?", actor);
    for (size_t i = 0; i < t->ncols; i++) {
        char frag[96];
        snprintf(frag, sizeof frag, ", %s = ?", t->cols[i].name);
        yj_sql_json(&sql, frag, json_object_get(rec, t->cols[i].name));
    }
    yj_sql_int(&sql, ", version = version + 1 WHERE id = ?", id);
    yj_sql_int(&sql, " AND version = ?", expect_version);
    scope_of(&sql, t, sc, false);
    yj_stmt *st = yj_sql_prepare(c, &sql, err);
    yj_sql_free(&sql);
    if (st == NULL)
        return yj_fail(err);
    int r = yj_step(st, err);
    int64_t changed = yj_stmt_changes(st);
    yj_stmt_done(st);
    if (r < 0) {
        if (err && err->code == YJ_ECONFLICT && t->key_col)
            yj_err_set(err, YJ_ECONFLICT, t->key_col, "a record with this %s already exists",
                       t->key_col);
        return yj_fail(err);
    }
    if (changed == 0)
        return why_unchanged(c, t, sc, id, err);
    return bump_generation(c, t, err);
}

yj_code yj_rec_delete(yj_conn *c, const yj_table *t, const yj_scope *sc, int64_t id,
                      int64_t expect_version, yj_err *err)
{
    if (sc->enterprise != 0 && t->enterprise_col && strcmp(t->enterprise_col, "id") == 0)
        return yj_err_set(err, YJ_EFORBIDDEN, NULL, "enterprise users cannot delete these");
    yj_sql sql;
    yj_sql_init(&sql, NULL);
    yj_sql_addf(&sql, "DELETE FROM %s WHERE", t->name);
    yj_sql_int(&sql, " id = ?", id);
    yj_sql_int(&sql, " AND version = ?", expect_version);
    scope_of(&sql, t, sc, false);
    yj_stmt *st = yj_sql_prepare(c, &sql, err);
    yj_sql_free(&sql);
    if (st == NULL)
        return yj_fail(err);
    int r = yj_step(st, err);
    int64_t changed = yj_stmt_changes(st);
    yj_stmt_done(st);
    if (r < 0) {
        if (err && err->code == YJ_EINVAL)
            return yj_err_set(err, YJ_ECONFLICT, NULL,
                              "other records still refer to this one; remove them first");
        return yj_fail(err);
    }
    if (changed == 0)
        return why_unchanged(c, t, sc, id, err);
    return bump_generation(c, t, err);
}
