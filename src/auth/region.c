/*
 * region.c — administrative regions (行政区划), GB/T 2260 and the
 * statistical division codes: province 2 digits, city 4, county 6,
 * township 9, village 12.  The code's prefix is its ancestry, which is what
 * makes region scoping a prefix match.  Six-digit GB/T 2260 forms of a
 * province or city ("140000", "140500") are accepted and normalised.
 */
#include "auth.h"
#include "../core/csv.h"
#include "../core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int region_level(const char *code)
{
    size_t n = code ? strlen(code) : 0;
    if (n == 0 || strspn(code, "0123456789") != n)
        return 0;
    switch (n) {
    case 2:
        return 1;
    case 4:
        return 2;
    case 6:
        return 3;
    case 9:
        return 4;
    case 12:
        return 5;
    default:
        return 0;
    }
}

void region_normalize(const char *in, char *out, size_t n)
{
    snprintf(out, n, "%s", in);
    size_t len = strlen(out);
    if (len == 6 && strspn(out, "0123456789") == 6) {
        if (strcmp(out + 2, "0000") == 0)
            out[2] = '\0';
        else if (strcmp(out + 4, "00") == 0)
            out[4] = '\0';
    }
}

static json_t *region_row(yj_stmt *st)
{
    return json_pack("{s:s,s:s,s:s?,s:I}", "code", yj_col_text(st, 0), "name", yj_col_text(st, 1),
                     "parent", yj_col_null(st, 2) ? NULL : yj_col_text(st, 2), "level",
                     (json_int_t)yj_col_int(st, 3));
}

yj_code region_get(yj_store *s, const yj_user *u, const char *code_in, json_t **out, yj_err *err)
{
    *out = NULL;
    char code[16];
    region_normalize(code_in, code, sizeof code);
    if (region_level(code) == 0 || !yj_region_within(code, u->region))
        return yj_err_set(err, YJ_ENOTFOUND, NULL, "no such region in your area");
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_prepare(c, "SELECT code, name, parent, level FROM region WHERE code = ?", err);
    yj_code rc = yj_fail(err);
    if (st) {
        yj_bind_text(st, 1, code);
        int r = yj_step(st, err);
        if (r == 1) {
            *out = region_row(st);
            rc = YJ_OK;
        } else if (r == 0) {
            rc = yj_err_set(err, YJ_ENOTFOUND, NULL, "no such region");
        }
        yj_stmt_done(st);
    }
    yj_store_release(s, c);
    return rc;
}

yj_code region_children(yj_store *s, const yj_user *u, const char *parent_in, json_t **out,
                        yj_err *err)
{
    *out = json_array();
    char parent[16];
    region_normalize(parent_in ? parent_in : "", parent, sizeof parent);
    bool own = parent[0] == '\0';
    /* The caller may list inside its region only; a parent above it shows
     * just the caller's own region. */
    if (!own && !yj_region_within(parent, u->region)) {
        if (!yj_region_within(u->region, parent))
            return yj_err_set(err, YJ_ENOTFOUND, NULL, "no such region in your area");
        own = true;
    }
    /* A caller over the whole database (the command line) starts at the
     * provinces. */
    bool top = own && u->region[0] == '\0';
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_prepare(
        c,
        top   ? "SELECT code, name, parent, level FROM region WHERE parent IS NULL"
                " AND ? = '' ORDER BY code"
        : own ? "SELECT code, name, parent, level FROM region WHERE code = ?"
              : "SELECT code, name, parent, level FROM region WHERE parent = ? ORDER BY code",
        err);
    yj_code rc = yj_fail(err);
    if (st) {
        yj_bind_text(st, 1, own ? u->region : parent);
        int r;
        while ((r = yj_step(st, err)) == 1)
            json_array_append_new(*out, region_row(st));
        rc = r < 0 ? yj_fail(err) : YJ_OK;
        yj_stmt_done(st);
    }
    yj_store_release(s, c);
    return rc;
}

yj_code region_import_csv(yj_conn *c, const char *path, int *count, yj_err *err)
{
    size_t len = 0;
    char *data = yj_read_file(path, &len);
    if (data == NULL)
        return yj_err_set(err, YJ_EIO, NULL, "cannot read %s", path);
    yj_csv csv;
    yj_csv_open(&csv, data, len);
    yj_csv_row row;
    yj_code rc = YJ_OK;
    *count = 0;
    yj_stmt *st = yj_prepare(c,
                             "INSERT INTO region(code, name, parent, level) VALUES (?,?,?,?)"
                             " ON CONFLICT(code) DO UPDATE SET name = excluded.name,"
                             " parent = excluded.parent, level = excluded.level",
                             err);
    if (st == NULL) {
        rc = yj_fail(err);
        goto out;
    }
    bool header = true;
    int r;
    while ((r = yj_csv_next(&csv, &row, err)) == 1) {
        if (header) {
            header = false;
            if (row.n < 3 || strcmp(row.fields[0], "code") != 0) {
                yj_csv_row_free(&row);
                rc = yj_err_set(err, YJ_EPARSE, NULL, "%s: header must be code,name,parent", path);
                break;
            }
            yj_csv_row_free(&row);
            continue;
        }
        int level = row.n >= 3 ? region_level(row.fields[0]) : 0;
        if (level == 0 || row.fields[1][0] == '\0') {
            rc = yj_err_set(err, YJ_EPARSE, NULL, "%s line %zu: bad region row", path, row.line);
            yj_csv_row_free(&row);
            break;
        }
        yj_bind_text(st, 1, row.fields[0]);
        yj_bind_text(st, 2, row.fields[1]);
        yj_bind_text(st, 3, row.fields[2][0] ? row.fields[2] : NULL);
        yj_bind_int(st, 4, level);
        int sr = yj_step(st, err);
        yj_stmt_reset(st);
        yj_csv_row_free(&row);
        if (sr < 0) {
            rc = yj_fail(err);
            break;
        }
        (*count)++;
    }
    if (r < 0)
        rc = YJ_EPARSE;
    yj_stmt_done(st);
out:
    yj_csv_close(&csv);
    free(data);
    return rc;
}

yj_code region_load(yj_store *s, const yj_user *actor, const char *path, int *count, yj_err *err)
{
    *count = 0;
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = yj_tx_begin(c, err);
    if (rc == YJ_OK)
        rc = region_import_csv(c, path, count, err);
    if (rc == YJ_OK) {
        /* a load concerns the whole deployment: the entry has no region */
        json_t *after = json_pack("{s:s,s:i}", "file", path, "regions", *count);
        rc = audit_append(c, actor->username, "load", "region", 0, NULL, after, err);
        json_decref(after);
    }
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    yj_store_release(s, c);
    if (rc != YJ_OK)
        *count = 0;
    return rc;
}

yj_code region_set_boundary(yj_conn *c, const char *code, const char *geojson, yj_err *err)
{
    yj_stmt *st = yj_prepare(c,
                             "INSERT INTO region_boundary(code, geojson) VALUES (?,?)"
                             " ON CONFLICT(code) DO UPDATE SET geojson = excluded.geojson",
                             err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_text(st, 1, code);
    yj_bind_text(st, 2, geojson);
    int r = yj_step(st, err);
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

yj_code region_boundaries(yj_store *s, const yj_user *u, json_t **out, yj_err *err)
{
    *out = json_pack("{s:s,s:[]}", "type", "FeatureCollection", "features");
    json_t *features = json_object_get(*out, "features");
    yj_conn *c = yj_store_acquire(s);
    /* Outlines of regions inside the caller's area, and the outline of the
     * caller's own region's ancestors' children when the caller sits below
     * the outlined level (a township user still sees its county). */
    yj_stmt *st = yj_prepare(c,
                             "SELECT b.code, r.name, b.geojson FROM region_boundary b"
                             " JOIN region r ON r.code = b.code"
                             " WHERE b.code LIKE ? OR ? LIKE b.code || '%' ORDER BY b.code",
                             err);
    yj_code rc = yj_fail(err);
    if (st) {
        char pat[20];
        snprintf(pat, sizeof pat, "%s%%", u->region);
        yj_bind_text(st, 1, pat);
        yj_bind_text(st, 2, u->region);
        int r;
        while ((r = yj_step(st, err)) == 1) {
            json_t *f = json_loads(yj_col_text(st, 2), 0, NULL);
            if (f == NULL)
                continue;
            if (json_is_object(f) && json_object_get(f, "geometry") == NULL) {
                /* a bare geometry was stored: wrap it */
                f = json_pack("{s:s,s:o}", "type", "Feature", "geometry", f);
            }
            json_t *props =
                json_pack("{s:s,s:s}", "code", yj_col_text(st, 0), "name", yj_col_text(st, 1));
            json_object_set_new(f, "properties", props);
            json_array_append_new(features, f);
        }
        rc = r < 0 ? yj_fail(err) : YJ_OK;
        yj_stmt_done(st);
    }
    yj_store_release(s, c);
    return rc;
}
