/*
 * csvio.c — CSV import and export for every registry.
 *
 * Export: UTF-8 with a BOM (so Excel shows Chinese correctly), a header row
 * of Chinese labels, then one row per record in the caller's scope.
 *
 * Import: header may use labels or field names, in any order; every row is
 * converted by the field table's types and validated by registry_validate(),
 * exactly like a JSON body.  All rows go through one transaction: a bad row
 * is reported (line, column, reason) and, unless skip_bad, the transaction
 * is rolled back so nothing at all is written.  Rows are matched to existing
 * records by the registry's natural key, so importing the same file twice
 * changes nothing.
 *
 * References (e.g. a hazard source's enterprise) are written as the target's
 * natural key (the enterprise's 统一社会信用代码), not as an internal id, so
 * a file reads naturally and moves between databases; import accepts the key
 * or an id.
 */
#include "registry.h"
#include "../core/buf.h"
#include "../core/csv.h"
#include "../core/events.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Standard columns after the registry's own. */
static const struct {
    const char *name, *label;
} std_cols[] = {{"region_code", "区划代码"}, {"lat", "纬度"}, {"lon", "经度"}};
#define N_STD (sizeof std_cols / sizeof std_cols[0])

/* ---- export ---------------------------------------------------------------- */

static void put_value(yj_buf *b, const yj_field *f, const json_t *v, bool first)
{
    char num[64];
    if (v == NULL || json_is_null(v)) {
        yj_csv_put(b, "", first);
    } else if (json_is_boolean(v) || (f && f->type == YJ_F_BOOL)) {
        bool t = json_is_true(v) || (json_is_integer(v) && json_integer_value(v) != 0);
        yj_csv_put(b, t ? "是" : "否", first);
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        yj_csv_put_number(b, num, first);
    } else if (json_is_real(v)) {
        snprintf(num, sizeof num, "%.10g", json_real_value(v));
        yj_csv_put_number(b, num, first);
    } else {
        yj_csv_put(b, json_string_value(v), first);
    }
}

/* The natural key of the record `id` points at (cached per export), or
 * NULL to write the id itself. */
static const char *ref_key(yj_conn *c, const yj_user *u, const yj_field *f, json_t *cache,
                           const json_t *id)
{
    const yj_registry *target = registry_find(f->ref);
    if (target == NULL || !json_is_integer(id))
        return NULL;
    char k[32];
    snprintf(k, sizeof k, "%s:%lld", f->ref, (long long)json_integer_value(id));
    json_t *hit = json_object_get(cache, k);
    if (hit == NULL) {
        yj_scope sc = user_scope(u);
        json_t *rec = NULL;
        if (yj_rec_get(c, &target->table, &sc, json_integer_value(id), &rec, NULL) == YJ_OK &&
            json_is_string(json_object_get(rec, target->key_field)))
            hit = json_string(json_string_value(json_object_get(rec, target->key_field)));
        else
            hit = json_null();
        json_object_set_new(cache, k, hit);
        json_decref(rec);
    }
    return json_string_value(hit);
}

yj_code registry_export_csv(yj_store *s, const yj_user *u, const yj_registry *r,
                            const yj_query *q_in, char **out, size_t *len, yj_err *err)
{
    *out = NULL;
    *len = 0;
    yj_buf b;
    yj_buf_init(&b);
    yj_buf_puts(&b, "\xEF\xBB\xBF");
    /* the fields the role may read (the list below leaves the others out) */
    const char *const *hide = registry_hidden(u, r);
    bool shown[256];
    bool first = true;
    for (size_t i = 0; i < r->nfields && i < 256; i++) {
        shown[i] = true;
        for (size_t k = 0; hide && hide[k]; k++)
            shown[i] = shown[i] && strcmp(hide[k], r->fields[i].name) != 0;
        if (shown[i])
            yj_csv_put(&b, r->fields[i].label, first);
        first = first && !shown[i];
    }
    for (size_t i = 0; i < N_STD; i++)
        yj_csv_put(&b, std_cols[i].label, false);
    yj_csv_end_row(&b);

    yj_query q = *q_in;
    q.limit = 1000;
    q.offset = 0;
    json_t *refs = json_object(); /* "registry:id" -> key, or null */
    for (;;) {
        json_t *items = NULL;
        int64_t total = 0;
        yj_code rc = registry_list(s, u, r, &q, &items, &total, err);
        if (rc != YJ_OK) {
            json_decref(refs);
            yj_buf_free(&b);
            return rc;
        }
        size_t i;
        json_t *rec;
        yj_conn *c = yj_store_acquire(s);
        json_array_foreach(items, i, rec) {
            bool at_start = true;
            for (size_t f = 0; f < r->nfields && f < 256; f++) {
                if (!shown[f])
                    continue;
                const yj_field *fd = &r->fields[f];
                json_t *v = json_object_get(rec, fd->name);
                const char *key = fd->type == YJ_F_REF ? ref_key(c, u, fd, refs, v) : NULL;
                if (key)
                    yj_csv_put(&b, key, at_start);
                else
                    put_value(&b, fd, v, at_start);
                at_start = false;
            }
            for (size_t k = 0; k < N_STD; k++)
                put_value(&b, NULL, json_object_get(rec, std_cols[k].name), false);
            yj_csv_end_row(&b);
        }
        yj_store_release(s, c);
        size_t n = json_array_size(items);
        json_decref(items);
        q.offset += (int64_t)n;
        if (n < (size_t)q.limit || q.offset >= total)
            break;
    }
    json_decref(refs);
    *len = b.len;
    *out = yj_buf_steal(&b);
    return YJ_OK;
}

/* ---- import ---------------------------------------------------------------- */

typedef struct {
    const yj_field *field; /* NULL for a standard column */
    const char *std;       /* standard column name */
    const char *label;     /* for error reports (static: field or standard label) */
} column_map;

static void report_error(yj_import_report *rep, size_t line, const char *column, const char *reason)
{
    json_array_append_new(rep->errors, json_pack("{s:I,s:s,s:s}", "row", (json_int_t)line, "column",
                                                 column ? column : "", "reason", reason));
}

static bool parse_int(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0')
        return false;
    *out = v;
    return true;
}

static bool parse_real(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* One CSV cell -> JSON value of the column's type, or NULL with *why set. */
static json_t *cell_json(const column_map *m, char *cell, const char **why)
{
    yj_csv_unguard(cell);
    if (cell[0] == '\0')
        return json_null();
    yj_ftype t = m->field ? m->field->type : YJ_F_TEXT;
    if (m->std && strcmp(m->std, "region_code") != 0)
        t = YJ_F_REAL; /* lat, lon */
    long long i;
    double d;
    switch (t) {
    case YJ_F_REF:
        /* the referenced record's natural key, or its id (resolve_refs:
         * natural keys may be all digits, like a mine's code) */
        return json_string(cell);
    case YJ_F_INT:
        if (!parse_int(cell, &i))
            return *why = "必须是整数", NULL;
        return json_integer(i);
    case YJ_F_REAL:
        if (!parse_real(cell, &d))
            return *why = "必须是数字", NULL;
        return json_real(d);
    case YJ_F_BOOL:
        if (!strcmp(cell, "是") || !strcmp(cell, "true") || !strcmp(cell, "1"))
            return json_true();
        if (!strcmp(cell, "否") || !strcmp(cell, "false") || !strcmp(cell, "0"))
            return json_false();
        return *why = "应填 是 或 否", NULL;
    default:
        return json_string(cell);
    }
}

static yj_code map_header(const yj_registry *r, const yj_csv_row *row, column_map *map,
                          yj_import_report *rep)
{
    bool ok = true;
    for (size_t c = 0; c < row->n; c++) {
        const char *h = row->fields[c];
        map[c] = (column_map){NULL, NULL, h};
        for (size_t i = 0; i < r->nfields; i++)
            if (!strcmp(h, r->fields[i].name) || !strcmp(h, r->fields[i].label))
                map[c].field = &r->fields[i];
        for (size_t i = 0; i < N_STD; i++)
            if (!strcmp(h, std_cols[i].name) || !strcmp(h, std_cols[i].label))
                map[c].std = std_cols[i].name;
        if (map[c].field == NULL && map[c].std == NULL) {
            report_error(rep, row->line, h, "未知列");
            ok = false;
        }
        /* The header row is freed after mapping: labels must be static. */
        for (size_t i = 0; map[c].std && i < N_STD; i++)
            if (std_cols[i].name == map[c].std)
                map[c].label = std_cols[i].label;
        if (map[c].field)
            map[c].label = map[c].field->label;
        for (size_t p = 0; p < c; p++)
            if ((map[c].field && map[p].field == map[c].field) ||
                (map[c].std && map[p].std == map[c].std)) {
                report_error(rep, row->line, h, "重复的列");
                ok = false;
            }
    }
    for (size_t i = 0; i < r->nfields; i++) {
        if (!r->fields[i].required || r->fields[i].def)
            continue;
        bool present = false;
        for (size_t c = 0; c < row->n; c++)
            present |= map[c].field == &r->fields[i];
        if (!present) {
            report_error(rep, row->line, r->fields[i].label, "缺少必填列");
            ok = false;
        }
    }
    return ok ? YJ_OK : YJ_EINVAL;
}

static const char *column_label(const yj_registry *r, const char *field)
{
    const yj_field *f = registry_field(r, field);
    if (f)
        return f->label;
    for (size_t i = 0; i < N_STD; i++)
        if (!strcmp(std_cols[i].name, field))
            return std_cols[i].label;
    return field;
}

/* Replace references given as natural keys by ids; a key that names no
 * record the caller can see is the row's error. */
static yj_code resolve_refs(yj_conn *c, const yj_user *u, const yj_registry *r, json_t *obj,
                            yj_err *err)
{
    yj_scope sc = user_scope(u);
    for (size_t i = 0; i < r->nfields; i++) {
        const yj_field *f = &r->fields[i];
        json_t *v = json_object_get(obj, f->name);
        const yj_registry *target = f->type == YJ_F_REF ? registry_find(f->ref) : NULL;
        if (target == NULL || !json_is_string(v))
            continue;
        json_t *found = NULL;
        if (yj_rec_find_key(c, &target->table, &sc, json_string_value(v), &found, NULL) != YJ_OK) {
            /* not a key: a short number is taken as the record's id (checked
             * for existence and scope by validation like any id) */
            long long id;
            if (strlen(json_string_value(v)) < 16 && parse_int(json_string_value(v), &id)) {
                json_object_set_new(obj, f->name, json_integer(id));
                continue;
            }
            return yj_err_set(err, YJ_EINVAL, f->name, "「%s」找不到%s为「%.64s」的%s", f->label,
                              registry_field(target, target->key_field)->label,
                              json_string_value(v), target->label);
        }
        int64_t id = json_integer_value(json_object_get(found, "id"));
        json_decref(found);
        json_object_set_new(obj, f->name, json_integer(id));
    }
    return YJ_OK;
}

/* Write one validated row: insert, update or leave alone. */
static yj_code import_row(yj_conn *c, const yj_user *u, const yj_registry *r, json_t *obj,
                          yj_import_report *rep, yj_err *err)
{
    yj_code rc = resolve_refs(c, u, r, obj, err);
    if (rc != YJ_OK)
        return rc;
    yj_scope sc = user_scope(u);
    json_t *key = json_object_get(obj, r->key_field);
    json_t *cur = NULL;
    rc = YJ_ENOTFOUND;
    if (json_is_string(key))
        rc = yj_rec_find_key(c, &r->table, &sc, json_string_value(key), &cur, err);
    else if (json_is_integer(key)) {
        char k[32];
        snprintf(k, sizeof k, "%lld", (long long)json_integer_value(key));
        rc = yj_rec_find_key(c, &r->table, &sc, k, &cur, err);
    }
    if (rc == YJ_ENOTFOUND) {
        rc = registry_create_in(c, u, r, obj, NULL, err);
        if (rc == YJ_OK)
            rep->created++;
        return rc;
    }
    if (rc != YJ_OK)
        return rc;
    /* exists: update it, which writes nothing if the row equals the record */
    int64_t id = json_integer_value(json_object_get(cur, "id"));
    int64_t version = json_integer_value(json_object_get(cur, "version"));
    json_decref(cur);
    bool changed = false;
    rc = registry_update_in(c, u, r, id, version, obj, &changed, err);
    if (rc == YJ_OK && changed)
        rep->updated++;
    else if (rc == YJ_OK)
        rep->unchanged++;
    return rc;
}

yj_code registry_import_csv(yj_store *s, const yj_user *u, const yj_registry *r, const char *data,
                            size_t len, bool skip_bad, yj_import_report *rep, yj_err *err)
{
    memset(rep, 0, sizeof *rep);
    rep->errors = json_array();
    if (!perm_allowed(u->role, r->name, YJ_ACT_WRITE))
        return yj_err_set(err, YJ_EFORBIDDEN, NULL, "role %s may not import %s", role_name(u->role),
                          r->name);
    yj_csv csv;
    yj_csv_open(&csv, data, len);
    yj_csv_row row;
    column_map map[YJ_CSV_MAX_FIELDS];
    size_t ncols = 0;
    yj_err rowerr;
    int rr = yj_csv_next(&csv, &row, &rowerr);
    if (rr <= 0) {
        yj_csv_close(&csv);
        if (rr < 0) {
            report_error(rep, 1, "", rowerr.message);
            return yj_err_set(err, YJ_EPARSE, NULL, "CSV: %s", rowerr.message);
        }
        return yj_err_set(err, YJ_EPARSE, NULL, "CSV file is empty (a header row is required)");
    }
    yj_code rc = map_header(r, &row, map, rep);
    ncols = row.n;
    yj_csv_row_free(&row);
    if (rc != YJ_OK) {
        yj_csv_close(&csv);
        return yj_err_set(err, YJ_EINVAL, NULL, "CSV header does not match registry %s", r->name);
    }

    yj_conn *c = yj_store_acquire(s);
    if ((rc = yj_tx_begin(c, err)) != YJ_OK) {
        yj_store_release(s, c);
        yj_csv_close(&csv);
        return rc;
    }
    json_t *seen_keys = json_object();
    bool syntax_error = false;
    while ((rr = yj_csv_next(&csv, &row, &rowerr)) != 0) {
        if (rr < 0) {
            /* a broken quote makes the rest of the file unreadable */
            report_error(rep, csv.line, "", rowerr.message);
            syntax_error = true;
            break;
        }
        json_t *obj = json_object();
        const char *why = NULL, *bad_col = NULL;
        if (row.n != ncols) {
            why = "列数与表头不一致";
        }
        for (size_t i = 0; why == NULL && i < row.n; i++) {
            json_t *v = cell_json(&map[i], row.fields[i], &why);
            if (v == NULL) {
                bad_col = map[i].label;
                break;
            }
            json_object_set_new(obj, map[i].field ? map[i].field->name : map[i].std, v);
        }
        if (why == NULL) {
            json_t *k = json_object_get(obj, r->key_field);
            char *ks = k ? json_dumps(k, JSON_ENCODE_ANY) : NULL;
            if (ks && json_object_get(seen_keys, ks)) {
                why = "与文件中前面的行重复";
                bad_col = column_label(r, r->key_field);
            } else if (ks) {
                json_object_set_new(seen_keys, ks, json_true());
            }
            free(ks);
        }
        if (why) {
            report_error(rep, row.line, bad_col, why);
        } else {
            yj_err e;
            yj_err_clear(&e);
            if (import_row(c, u, r, obj, rep, &e) != YJ_OK) {
                if (e.code == YJ_EINTERNAL || e.code == YJ_EBUSY) { /* the store, not the row */
                    rc = yj_err_set(err, e.code, NULL, "%s", e.message);
                    json_decref(obj);
                    yj_csv_row_free(&row);
                    break;
                }
                report_error(rep, row.line, e.field[0] ? column_label(r, e.field) : "", e.message);
            }
        }
        json_decref(obj);
        yj_csv_row_free(&row);
    }
    json_decref(seen_keys);
    yj_csv_close(&csv);

    size_t nerr = json_array_size(rep->errors);
    if (rc == YJ_OK && (syntax_error || (nerr > 0 && !skip_bad))) {
        yj_tx_rollback(c);
        rep->created = rep->updated = rep->unchanged = 0;
        rc = yj_err_set(err, syntax_error ? YJ_EPARSE : YJ_EINVAL, NULL,
                        "%zu bad row(s): nothing was imported", nerr);
    } else if (rc == YJ_OK) {
        rep->skipped = (int)nerr;
        rc = yj_tx_commit(c, err);
    } else {
        yj_tx_rollback(c);
    }
    yj_store_release(s, c);
    if (rc == YJ_OK && (rep->created || rep->updated)) {
        json_t *ev = json_pack("{s:s,s:s}", "registry", r->name, "action", "import");
        yj_events_publish("record", u->region, ev);
        json_decref(ev);
    }
    return rc;
}
