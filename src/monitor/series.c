/*
 * series.c — reading the monitoring data: latest values, history and
 * aggregates, rejects, rules and maintenance windows, the risk map, and
 * gateway keys.
 */
#include "monitor.h"
#include "../core/util.h"
#include "../registry/registry.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool mon_latest_of(int64_t sensor_id, double *value, int64_t *ts, int64_t *rx, int *interval_s);

/* Sensors carry their region and owning enterprise. */
static const yj_scope_cols sensor_scope = {.region = "s.region_code",
                                           .enterprise = "s.enterprise_id"};

/* Latest value as JSON: value, ts, age_s and stale (older than twice the
 * expected interval: the board shows its age instead of a live number). */
static void put_latest(json_t *o, int64_t id, int64_t now)
{
    double v;
    int64_t ts, rx;
    int interval = 60;
    if (!mon_latest_of(id, &v, &ts, &rx, &interval)) {
        json_object_set_new(o, "value", json_null());
        json_object_set_new(o, "stale", json_true());
        return;
    }
    json_object_set_new(o, "value", json_real(v));
    json_object_set_new(o, "ts", json_integer(ts));
    json_object_set_new(o, "age_s", json_integer((now - ts) / 1000));
    json_object_set_new(o, "stale", json_boolean(now - ts > (int64_t)interval * 2000));
}

yj_code mon_latest(yj_store *s, const yj_user *u, const char *region, int64_t object_id,
                   json_t **out, yj_err *err)
{
    yj_scope sc = user_scope(u);
    yj_sql sql;
    yj_sql_init(&sql,
                "SELECT s.id, s.code, s.name, s.type, s.unit, s.status, s.region_code, s.object_id,"
                " s.lat, s.lon, (SELECT MIN(a.level) FROM alarm a WHERE a.sensor_id = s.id AND"
                " a.state <> 'closed') AS alarm_level FROM sensor s WHERE 1=1");
    yj_sql_scope(&sql, &sc, &sensor_scope);
    yj_sql_region(&sql, "s.region_code", region);
    if (object_id)
        yj_sql_int(&sql, " AND s.object_id = ?", object_id);
    yj_sql_add(&sql, " ORDER BY s.id LIMIT 5000");
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_sql_prepare(c, &sql, err);
    yj_sql_free(&sql);
    yj_code rc = YJ_OK;
    *out = NULL;
    if (st == NULL)
        rc = yj_fail(err);
    else {
        *out = json_array();
        int64_t now = yj_clock_now();
        int r;
        while ((r = yj_step(st, err)) == 1) {
            json_t *o = json_object();
            for (int k = 0; k < yj_col_count(st); k++)
                json_object_set_new(o, yj_col_name(st, k), yj_col_json(st, k));
            put_latest(o, yj_col_int(st, 0), now);
            json_array_append_new(*out, o);
        }
        yj_stmt_done(st);
        if (r < 0)
            rc = yj_fail(err);
    }
    yj_store_release(s, c);
    return rc;
}

/* The sensor must be visible to the caller. */
static yj_code sensor_visible(yj_conn *c, const yj_user *u, int64_t id, json_t **rec, yj_err *err)
{
    const yj_registry *r = registry_find("sensor");
    yj_scope sc = user_scope(u);
    return yj_rec_get(c, &r->table, &sc, id, rec, err);
}

yj_code mon_history(yj_store *s, const yj_user *u, int64_t sensor_id, int64_t from, int64_t to,
                    const char *resolution, json_t **out, yj_err *err)
{
    *out = NULL;
    if (to <= from)
        return yj_err_set(err, YJ_EINVAL, "to", "结束时间应晚于开始时间");
    if (to - from > 400LL * 86400000)
        return yj_err_set(err, YJ_EINVAL, "from", "时间范围最长 400 天");
    const char *res = resolution ? resolution : "auto";
    if (strcmp(res, "auto") == 0)
        res = to - from <= 6 * 3600000LL ? "raw" : to - from <= 7 * 86400000LL ? "minute" : "hour";
    const char *sql;
    if (strcmp(res, "raw") == 0)
        /* the history table and the part of the log not merged yet (a row
         * being merged may be in both: UNION keeps one) */
        sql = "SELECT ts, value, flags FROM reading WHERE sensor_id = ? AND ts >= ? AND ts < ?"
              " UNION SELECT ts, value, flags FROM reading_log"
              " WHERE sensor_id = ? AND ts >= ? AND ts < ? ORDER BY ts LIMIT 20000";
    else if (strcmp(res, "minute") == 0)
        sql = "SELECT bucket, sum / n, min, max, n FROM reading_min WHERE sensor_id = ?"
              " AND bucket >= ? AND bucket < ? ORDER BY bucket LIMIT 20000";
    else if (strcmp(res, "hour") == 0)
        sql = "SELECT bucket, sum / n, min, max, n FROM reading_hour WHERE sensor_id = ?"
              " AND bucket >= ? AND bucket < ? ORDER BY bucket LIMIT 20000";
    else
        return yj_err_set(err, YJ_EINVAL, "resolution",
                          "resolution 应为 raw、minute、hour 或 auto");
    yj_conn *c = yj_store_acquire(s);
    json_t *rec = NULL;
    yj_code rc = sensor_visible(c, u, sensor_id, &rec, err);
    yj_stmt *st = rc == YJ_OK ? yj_prepare(c, sql, err) : NULL;
    if (rc == YJ_OK && st == NULL)
        rc = yj_fail(err);
    if (rc == YJ_OK) {
        bool raw = strcmp(res, "raw") == 0;
        for (int k = 0; k < (raw ? 2 : 1); k++) {
            yj_bind_int(st, 3 * k + 1, sensor_id);
            yj_bind_int(st, 3 * k + 2, from);
            yj_bind_int(st, 3 * k + 3, to);
        }
        json_t *pts = json_array();
        int r;
        while ((r = yj_step(st, err)) == 1) {
            if (raw) {
                int64_t f = yj_col_int(st, 2);
                json_array_append_new(pts, json_pack("[I,f,b]", (json_int_t)yj_col_int(st, 0),
                                                     yj_col_real(st, 1), (f & 1) != 0));
            } else {
                json_array_append_new(pts,
                                      json_pack("[I,f,f,f,I]", (json_int_t)yj_col_int(st, 0),
                                                yj_col_real(st, 1), yj_col_real(st, 2),
                                                yj_col_real(st, 3), (json_int_t)yj_col_int(st, 4)));
            }
        }
        yj_stmt_done(st);
        if (r < 0) {
            json_decref(pts);
            rc = yj_fail(err);
        } else {
            *out = json_pack("{s:I,s:O,s:O,s:O,s:s,s:s,s:I,s:I,s:o}", "sensor_id",
                             (json_int_t)sensor_id, "code", json_object_get(rec, "code"), "name",
                             json_object_get(rec, "name"), "unit", json_object_get(rec, "unit"),
                             "resolution", res, "columns",
                             raw ? "ts,value,late" : "bucket,avg,min,max,n", "from",
                             (json_int_t)from, "to", (json_int_t)to, "points", pts);
            put_latest(*out, sensor_id, yj_clock_now());
        }
    }
    json_decref(rec);
    yj_store_release(s, c);
    return rc;
}

yj_code mon_rejects(yj_store *s, const yj_user *u, const char *reason, int limit, int64_t offset,
                    json_t **out, yj_err *err)
{
    /* rejects of unknown sensors have no region: only users at the top of
     * the tree see them; an enterprise user sees its own sensors' */
    static const yj_scope_cols reject_scope = {
        .region = "region_code",
        .enterprise = "(SELECT s.enterprise_id FROM sensor s WHERE s.id = sensor_id)",
        .unplaced_to_top = true};
    yj_scope sc = user_scope(u);
    yj_sql sql;
    yj_sql_init(&sql, "SELECT id, rx, source, origin, sensor_code, sensor_id, region_code, ts,"
                      " value, reason, detail, raw FROM reading_reject WHERE 1=1");
    yj_sql_scope(&sql, &sc, &reject_scope);
    if (reason)
        yj_sql_text(&sql, " AND reason = ?", reason);
    yj_sql_int(&sql, " ORDER BY id DESC LIMIT ?", limit > 0 && limit <= 1000 ? limit : 100);
    yj_sql_int(&sql, " OFFSET ?", offset);
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_sql_prepare(c, &sql, err);
    yj_sql_free(&sql);
    yj_code rc = YJ_OK;
    *out = NULL;
    if (st == NULL)
        rc = yj_fail(err);
    else {
        *out = yj_rows_json(st, err);
        if (*out == NULL)
            rc = yj_fail(err);
    }
    yj_store_release(s, c);
    return rc;
}

/* ---- rules ---------------------------------------------------------------------- */

/* A rule belongs to its sensor's enterprise (a public station's to no
 * enterprise: 0); a sensor type's rules are the region's policy, for
 * everyone in it (NULL); a multi-sensor rule names several sensors in its
 * parameters and is shown to no enterprise (0). */
static const yj_scope_cols rule_scope = {
    .region = "region_code",
    .enterprise = "(CASE WHEN sensor_id IS NOT NULL THEN COALESCE((SELECT s.enterprise_id FROM"
                  " sensor s WHERE s.id = monitor_rule.sensor_id), 0) WHEN kind = 'multi' THEN 0"
                  " END)",
    .unowned_visible = true};

yj_code mon_rules_list(yj_store *s, const yj_user *u, int64_t sensor_id, json_t **out, yj_err *err)
{
    yj_scope sc = user_scope(u);
    yj_sql sql;
    yj_sql_init(&sql, "SELECT id, name, kind, sensor_type, sensor_id, params, enabled,"
                      " region_code, version, updated_at, updated_by FROM monitor_rule WHERE 1=1");
    yj_sql_scope(&sql, &sc, &rule_scope);
    if (sensor_id)
        yj_sql_int(&sql, " AND sensor_id = ?", sensor_id);
    yj_sql_add(&sql, " ORDER BY id");
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_sql_prepare(c, &sql, err);
    yj_sql_free(&sql);
    yj_code rc = YJ_OK;
    *out = NULL;
    if (st == NULL)
        rc = yj_fail(err);
    else {
        json_t *items = json_array();
        int r;
        while ((r = yj_step(st, err)) == 1) {
            json_t *o = json_object();
            for (int k = 0; k < yj_col_count(st); k++)
                json_object_set_new(o, yj_col_name(st, k), yj_col_json(st, k));
            json_object_set_new(
                o, "params", json_loads(json_string_value(json_object_get(o, "params")), 0, NULL));
            json_object_set_new(o, "enabled",
                                json_boolean(json_integer_value(json_object_get(o, "enabled"))));
            json_array_append_new(items, o);
        }
        yj_stmt_done(st);
        /* the built-in defaults, per sensor type, for reference */
        json_t *defs = json_array();
        for (size_t t = 0; t < mon_type_count(); t++) {
            mon_rule d[4];
            size_t nd = mon_type_defaults((int)t, d, 4);
            for (size_t k = 0; k < nd; k++)
                json_array_append_new(defs, json_pack("{s:s,s:s,s:s,s:o}", "sensor_type",
                                                      mon_type_at(t)->label, "kind",
                                                      mon_rule_kind_name(d[k].kind), "kind_label",
                                                      mon_rule_kind_label(d[k].kind), "params",
                                                      mon_rule_params_json(&d[k])));
        }
        if (r < 0) {
            json_decref(items);
            json_decref(defs);
            rc = yj_fail(err);
        } else {
            *out = json_pack("{s:o,s:o}", "items", items, "defaults", defs);
        }
    }
    yj_store_release(s, c);
    return rc;
}

/* The version check of a rule's replace or delete (If-Match). */
static yj_code rule_version(int64_t have, int64_t if_match, yj_err *err)
{
    if (have != if_match)
        return yj_err_set(err, YJ_ESTALE, NULL,
                          "规则已被他人修改（现为第 %lld 版），请刷新后再操作", (long long)have);
    return YJ_OK;
}

/* Create (id 0) or replace a rule (at version if_match).  Body: name, kind,
 * sensor_type (label) or sensor_id, params, enabled.  A type rule applies in
 * the caller's region. */
yj_code mon_rule_save(yj_store *s, const yj_user *u, int64_t id, int64_t if_match, const json_t *in,
                      json_t **out, yj_err *err)
{
    *out = NULL;
    if (!json_is_object(in))
        return yj_err_set(err, YJ_EINVAL, NULL, "请求体应为 JSON 对象");
    const char *name = json_string_value(json_object_get(in, "name"));
    const char *kind_s = json_string_value(json_object_get(in, "kind"));
    const char *type = json_string_value(json_object_get(in, "sensor_type"));
    json_t *sid_j = json_object_get(in, "sensor_id");
    json_t *en = json_object_get(in, "enabled");
    if (name == NULL || name[0] == '\0' || strlen(name) > 90)
        return yj_err_set(err, YJ_EINVAL, "name", "规则名称 name 必填（不超过 90 字节）");
    int kind = mon_rule_kind_parse(kind_s);
    if (kind < 0)
        return yj_err_set(err, YJ_EINVAL, "kind", "kind 应为 threshold、rate、sum、multi 或 gap");
    if (en && !json_is_boolean(en))
        return yj_err_set(err, YJ_EINVAL, "enabled", "enabled 应为 true 或 false");
    if (sid_j && !json_is_null(sid_j) && !json_is_integer(sid_j))
        return yj_err_set(err, YJ_EINVAL, "sensor_id", "sensor_id 应为传感器编号（整数）");
    mon_rule rule;
    yj_code rc = mon_rule_from_json((mon_rule_kind)kind, json_object_get(in, "params"), &rule, err);
    if (rc != YJ_OK)
        return rc;
    int64_t sid = json_is_integer(sid_j) ? json_integer_value(sid_j) : 0;
    if (kind == MON_RULE_MULTI) {
        if (sid || type)
            return yj_err_set(
                err, YJ_EINVAL, "sensor_id",
                "多传感器规则在 params.sensors 中列出传感器，不填 sensor_id/sensor_type");
    } else if ((sid != 0) == (type != NULL)) {
        return yj_err_set(err, YJ_EINVAL, "sensor_id", "sensor_id 与 sensor_type 须且只能填一个");
    } else if (type && mon_type_find(type) < 0) {
        return yj_err_set(err, YJ_EINVAL, "sensor_type", "未知的传感器类型 %s", type);
    }
    yj_conn *c = yj_store_acquire(s);
    rc = yj_tx_begin(c, err);
    /* the rule's region: the sensor's (must be visible), else the caller's */
    char region[16];
    snprintf(region, sizeof region, "%s", u->region);
    int64_t check[MON_MAX_MEMBERS + 1];
    int ncheck = 0;
    if (sid)
        check[ncheck++] = sid;
    for (int i = 0; kind == MON_RULE_MULTI && i < rule.nmembers; i++)
        check[ncheck++] = rule.members[i];
    for (int i = 0; i < ncheck && rc == YJ_OK; i++) {
        json_t *rec = NULL;
        rc = sensor_visible(c, u, check[i], &rec, err);
        if (rc == YJ_ENOTFOUND)
            rc = yj_err_set(err, YJ_EINVAL, "sensor_id", "传感器 %lld 不存在或不在您的辖区内",
                            (long long)check[i]);
        if (rc == YJ_OK && i == 0)
            snprintf(region, sizeof region, "%s",
                     json_string_value(json_object_get(rec, "region_code")));
        json_decref(rec);
    }
    json_t *params = mon_rule_params_json(&rule);
    char *ptext = json_dumps(params, JSON_COMPACT | JSON_REAL_PRECISION(12));
    json_decref(params);
    char now[32];
    yj_time_iso(yj_now_ms(), now, sizeof now);
    json_t *before = NULL;
    int64_t version = 0;
    if (rc == YJ_OK && id) {
        yj_scope sc = user_scope(u);
        yj_sql q;
        yj_sql_init(&q, "SELECT region_code, params, kind, name, enabled, sensor_id, sensor_type,"
                        " version FROM monitor_rule WHERE");
        yj_sql_int(&q, " id = ?", id);
        yj_sql_scope(&q, &sc, &rule_scope);
        yj_stmt *st = yj_sql_prepare(c, &q, err);
        yj_sql_free(&q);
        if (st == NULL)
            rc = yj_fail(err);
        else {
            int r = yj_step(st, err);
            if (r == 1) {
                before = json_pack("{s:s,s:s,s:s,s:s,s:b}", "region_code", yj_col_text(st, 0),
                                   "params", yj_col_text(st, 1), "kind", yj_col_text(st, 2), "name",
                                   yj_col_text(st, 3), "enabled", yj_col_int(st, 4) != 0);
                json_object_set_new(before, "sensor_id", yj_col_json(st, 5));
                json_object_set_new(before, "sensor_type", yj_col_json(st, 6));
            }
            int64_t have = r == 1 ? yj_col_int(st, 7) : 0;
            yj_stmt_done(st);
            if (r < 0)
                rc = yj_fail(err);
            else if (before == NULL)
                rc = yj_err_set(err, YJ_ENOTFOUND, NULL, "规则 %lld 不存在或不在您的辖区内",
                                (long long)id);
            else
                rc = rule_version(have, if_match, err);
            if (rc == YJ_OK)
                json_object_set_new(before, "version", json_integer(have));
        }
    }
    if (rc == YJ_OK) {
        yj_stmt *st = yj_prepare(
            c,
            id ? "UPDATE monitor_rule SET name = ?, kind = ?, sensor_type = ?, sensor_id = ?,"
                 " params = ?, enabled = ?, region_code = ?, updated_at = ?, updated_by = ?,"
                 " version = version + 1 WHERE id = ? AND version = ? RETURNING id, version"
               : "INSERT INTO monitor_rule (name, kind, sensor_type, sensor_id, params, enabled,"
                 " region_code, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                 " RETURNING id, version",
            err);
        if (st == NULL)
            rc = yj_fail(err);
        else {
            yj_bind_text(st, 1, name);
            yj_bind_text(st, 2, kind_s);
            yj_bind_text(st, 3, type);
            if (sid)
                yj_bind_int(st, 4, sid);
            else
                yj_bind_null(st, 4);
            yj_bind_text(st, 5, ptext);
            yj_bind_int(st, 6, en == NULL || json_is_true(en));
            yj_bind_text(st, 7, region);
            yj_bind_text(st, 8, now);
            yj_bind_text(st, 9, u->username);
            if (id) {
                yj_bind_int(st, 10, id);
                yj_bind_int(st, 11, if_match);
            }
            int r = yj_step(st, err);
            if (r == 1) {
                id = yj_col_int(st, 0);
                version = yj_col_int(st, 1);
            } else if (r == 0) { /* changed since it was read */
                rc = yj_err_set(err, YJ_ESTALE, NULL, "规则已被他人修改，请刷新后再操作");
            } else {
                rc = yj_fail(err);
            }
            yj_stmt_done(st);
        }
    }
    json_t *after = NULL;
    if (rc == YJ_OK) {
        after = json_pack("{s:I,s:s,s:s,s:s?,s:s,s:s}", "id", (json_int_t)id, "name", name, "kind",
                          kind_s, "sensor_type", type, "params", ptext, "region_code", region);
        if (sid)
            json_object_set_new(after, "sensor_id", json_integer(sid));
        json_object_set_new(after, "version", json_integer(version));
        json_object_set_new(after, "enabled", json_boolean(en == NULL || json_is_true(en)));
        rc = audit_append(c, u->username, before ? "update" : "create", "monitor_rule", id, before,
                          after, err);
    }
    if (rc == YJ_OK)
        rc = mon_config_changed(c, err);
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    yj_store_release(s, c);
    free(ptext);
    json_decref(before);
    if (rc == YJ_OK) {
        mon_reload();
        json_object_set_new(
            after, "params",
            json_loads(json_string_value(json_object_get(after, "params")), 0, NULL));
        *out = after;
    } else {
        json_decref(after);
    }
    return rc;
}

yj_code mon_rule_delete(yj_store *s, const yj_user *u, int64_t id, int64_t if_match, yj_err *err)
{
    yj_scope sc = user_scope(u);
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = yj_tx_begin(c, err);
    json_t *before = NULL;
    if (rc == YJ_OK) {
        yj_sql q;
        yj_sql_init(&q, "SELECT region_code, kind, name, params, sensor_id, sensor_type, version"
                        " FROM monitor_rule WHERE");
        yj_sql_int(&q, " id = ?", id);
        yj_sql_scope(&q, &sc, &rule_scope);
        yj_stmt *st = yj_sql_prepare(c, &q, err);
        yj_sql_free(&q);
        int r = st ? yj_step(st, err) : -1;
        if (r == 1) {
            before = json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)id, "region_code",
                               yj_col_text(st, 0), "kind", yj_col_text(st, 1), "name",
                               yj_col_text(st, 2), "params", yj_col_text(st, 3));
            json_object_set_new(before, "sensor_id", yj_col_json(st, 4));
            json_object_set_new(before, "sensor_type", yj_col_json(st, 5));
            json_object_set_new(before, "version", yj_col_json(st, 6));
        }
        yj_stmt_done(st);
        if (r < 0)
            rc = yj_fail(err);
        else if (r == 0)
            rc = yj_err_set(err, YJ_ENOTFOUND, NULL, "规则 %lld 不存在或不在您的辖区内",
                            (long long)id);
        else
            rc =
                rule_version(json_integer_value(json_object_get(before, "version")), if_match, err);
    }
    if (rc == YJ_OK) {
        yj_stmt *st = yj_prepare(c, "DELETE FROM monitor_rule WHERE id = ? AND version = ?", err);
        if (st == NULL)
            rc = yj_fail(err);
        else {
            yj_bind_int(st, 1, id);
            yj_bind_int(st, 2, if_match);
            if (yj_step(st, err) < 0)
                rc = yj_fail(err);
            else if (yj_stmt_changes(st) == 0)
                rc = yj_err_set(err, YJ_ESTALE, NULL, "规则已被他人修改，请刷新后再操作");
            yj_stmt_done(st);
        }
    }
    if (rc == YJ_OK)
        rc = audit_append(c, u->username, "delete", "monitor_rule", id, before, NULL, err);
    json_decref(before);
    if (rc == YJ_OK)
        rc = mon_config_changed(c, err);
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    yj_store_release(s, c);
    if (rc == YJ_OK)
        mon_reload();
    return rc;
}

/* ---- maintenance windows ---------------------------------------------------------- */

yj_code mon_maintenance_add(yj_store *s, const yj_user *u, const json_t *in, json_t **out,
                            yj_err *err)
{
    *out = NULL;
    json_t *sid = json_object_get(in, "sensor_id");
    json_t *start = json_object_get(in, "start"), *end = json_object_get(in, "end");
    const char *reason = json_string_value(json_object_get(in, "reason"));
    if (!json_is_integer(sid))
        return yj_err_set(err, YJ_EINVAL, "sensor_id", "sensor_id 必填（传感器编号）");
    if (!json_is_integer(start) || !json_is_integer(end) ||
        json_integer_value(end) <= json_integer_value(start))
        return yj_err_set(err, YJ_EINVAL, "end", "start、end 为毫秒时间戳，且 end 晚于 start");
    if (reason == NULL || reason[0] == '\0')
        return yj_err_set(err, YJ_EINVAL, "reason", "须填写维护原因 reason（如 标校、检修）");
    yj_conn *c = yj_store_acquire(s);
    json_t *rec = NULL;
    yj_code rc = yj_tx_begin(c, err);
    if (rc == YJ_OK)
        rc = sensor_visible(c, u, json_integer_value(sid), &rec, err);
    int64_t id = 0;
    char now[32];
    yj_time_iso(yj_now_ms(), now, sizeof now);
    if (rc == YJ_OK) {
        yj_stmt *st =
            yj_prepare(c,
                       "INSERT INTO maintenance_window (sensor_id, start_ms, end_ms, reason,"
                       " region_code, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                       " RETURNING id",
                       err);
        if (st == NULL)
            rc = yj_fail(err);
        else {
            yj_bind_int(st, 1, json_integer_value(sid));
            yj_bind_int(st, 2, json_integer_value(start));
            yj_bind_int(st, 3, json_integer_value(end));
            yj_bind_text(st, 4, reason);
            yj_bind_text(st, 5, json_string_value(json_object_get(rec, "region_code")));
            yj_bind_text(st, 6, u->username);
            yj_bind_text(st, 7, now);
            if (yj_step(st, err) == 1)
                id = yj_col_int(st, 0);
            else
                rc = yj_fail(err);
            yj_stmt_done(st);
        }
    }
    json_t *after = NULL;
    if (rc == YJ_OK) {
        after = json_pack("{s:I,s:O,s:O,s:O,s:s,s:O}", "id", (json_int_t)id, "sensor_id", sid,
                          "start", start, "end", end, "reason", reason, "region_code",
                          json_object_get(rec, "region_code"));
        rc = audit_append(c, u->username, "create", "maintenance_window", id, NULL, after, err);
    }
    if (rc == YJ_OK)
        rc = mon_config_changed(c, err);
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    yj_store_release(s, c);
    json_decref(rec);
    if (rc == YJ_OK) {
        mon_reload();
        *out = after;
    } else {
        json_decref(after);
    }
    return rc;
}

/* ---- gateways ----------------------------------------------------------------------- */

yj_code gateway_create(yj_store *s, const yj_user *u, const char *name, const char *region,
                       json_t **out, yj_err *err)
{
    *out = NULL;
    if (name == NULL || name[0] == '\0' || strlen(name) > 100)
        return yj_err_set(err, YJ_EINVAL, "name", "网关名称 name 必填");
    yj_scope sc = user_scope(u);
    if (region == NULL || !yj_scope_contains(&sc, region))
        return yj_err_set(err, YJ_EINVAL, "region_code", "region_code 必填且须在您的辖区内");
    char key[65], hash[65];
    yj_random_hex(32, key);
    yj_sha256_hex(key, strlen(key), hash);
    char now[32];
    yj_time_iso(yj_now_ms(), now, sizeof now);
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = yj_tx_begin(c, err);
    int64_t id = 0;
    if (rc == YJ_OK) {
        yj_stmt *st = yj_prepare(c,
                                 "INSERT INTO gateway (name, region_code, key_hash, created_at,"
                                 " created_by) VALUES (?, ?, ?, ?, ?) RETURNING id",
                                 err);
        if (st == NULL)
            rc = yj_fail(err);
        else {
            yj_bind_text(st, 1, name);
            yj_bind_text(st, 2, region);
            yj_bind_text(st, 3, hash);
            yj_bind_text(st, 4, now);
            yj_bind_text(st, 5, u->username);
            int r = yj_step(st, err);
            if (r == 1)
                id = yj_col_int(st, 0);
            else
                rc = r < 0 && err && err->code == YJ_EINVAL
                         ? yj_err_set(err, YJ_EINVAL, "region_code", "未知的行政区划 %s", region)
                         : yj_fail(err);
            yj_stmt_done(st);
        }
    }
    json_t *after = NULL;
    if (rc == YJ_OK) {
        after =
            json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id, "name", name, "region_code", region);
        rc = audit_append(c, u->username, "create", "gateway", id, NULL, after, err);
    }
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    yj_store_release(s, c);
    if (rc == YJ_OK) {
        /* the key is shown once; only its hash is kept */
        json_object_set_new(after, "api_key", json_string(key));
        *out = after;
    } else {
        json_decref(after);
    }
    return rc;
}

yj_code gateway_auth(yj_store *s, const char *key, int64_t *id, char *region, size_t rlen,
                     yj_err *err)
{
    if (key == NULL || strlen(key) != 64)
        return yj_err_set(err, YJ_EAUTH, NULL, "缺少或无效的网关密钥（X-Api-Key）");
    char hash[65];
    yj_sha256_hex(key, strlen(key), hash);
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_prepare(
        c, "SELECT id, region_code FROM gateway WHERE key_hash = ? AND disabled = 0", err);
    yj_code rc = YJ_OK;
    if (st == NULL)
        rc = yj_fail(err);
    else {
        yj_bind_text(st, 1, hash);
        int r = yj_step(st, err);
        if (r == 1) {
            *id = yj_col_int(st, 0);
            snprintf(region, rlen, "%s", yj_col_text(st, 1));
        } else {
            rc = r < 0 ? YJ_EINTERNAL : yj_err_set(err, YJ_EAUTH, NULL, "网关密钥无效或已停用");
        }
        yj_stmt_done(st);
    }
    yj_store_release(s, c);
    return rc;
}

/* ---- risk map (风险隐患一张图) ------------------------------------------------------- */

static void feature(yj_buf *b, bool *first, double lon, double lat, json_t *props)
{
    char *p = json_dumps(props, JSON_COMPACT);
    yj_buf_printf(b,
                  "%s{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[%.6f,%"
                  ".6f]},\"properties\":%s}",
                  *first ? "" : ",", lon, lat, p ? p : "{}");
    free(p);
    *first = false;
}

static bool layer_on(const char *layers, const char *name)
{
    if (layers == NULL || layers[0] == '\0')
        return true;
    size_t n = strlen(name);
    for (const char *p = layers; (p = strstr(p, name)) != NULL; p += n)
        if ((p == layers || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

yj_code mon_map(yj_store *s, const yj_user *u, const double bbox[4], const char *layers,
                yj_buf *out, yj_err *err)
{
    yj_scope sc = user_scope(u);
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = YJ_OK;
    bool first = true;
    int64_t now = yj_clock_now();
    yj_buf_puts(out, "{\"type\":\"FeatureCollection\",\"features\":[");
    if (layer_on(layers, "sensors") || layer_on(layers, "alarms")) {
        yj_sql sql;
        yj_sql_init(&sql,
                    "SELECT s.id, s.code, s.name, s.type, s.unit, s.status, s.lon, s.lat, o.name,"
                    " a.id, a.level, a.title, a.state FROM sensor s"
                    " JOIN monitored_object o ON o.id = s.object_id"
                    " LEFT JOIN alarm a ON a.id = (SELECT a2.id FROM alarm a2 WHERE"
                    " a2.sensor_id = s.id AND a2.state <> 'closed' ORDER BY a2.level, a2.id DESC"
                    " LIMIT 1) WHERE 1=1");
        yj_sql_real(&sql, " AND s.lon >= ?", bbox[0]);
        yj_sql_real(&sql, " AND s.lat >= ?", bbox[1]);
        yj_sql_real(&sql, " AND s.lon <= ?", bbox[2]);
        yj_sql_real(&sql, " AND s.lat <= ?", bbox[3]);
        yj_sql_scope(&sql, &sc, &sensor_scope);
        yj_sql_add(&sql, " LIMIT 20000");
        yj_stmt *st = yj_sql_prepare(c, &sql, err);
        yj_sql_free(&sql);
        if (st == NULL)
            rc = yj_fail(err);
        else {
            bool want_sensors = layer_on(layers, "sensors");
            int r;
            while ((r = yj_step(st, err)) == 1) {
                bool alarmed = !yj_col_null(st, 9);
                if (!want_sensors && !alarmed)
                    continue;
                json_t *p = json_pack(
                    "{s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "layer", alarmed ? "alarm" : "sensor",
                    "id", (json_int_t)yj_col_int(st, 0), "code", yj_col_text(st, 1), "name",
                    yj_col_text(st, 2), "type", yj_col_text(st, 3), "unit", yj_col_text(st, 4),
                    "status", yj_col_text(st, 5), "object", yj_col_text(st, 8));
                put_latest(p, yj_col_int(st, 0), now);
                /* state colour: alarm level, else offline (stale), else normal */
                const char *state = "normal";
                if (strcmp(yj_col_text(st, 5), "正常") != 0)
                    state = "maintenance";
                else if (json_is_true(json_object_get(p, "stale")))
                    state = "offline";
                if (alarmed) {
                    static const char *const lv[] = {"", "red", "orange", "yellow", "blue"};
                    int l = (int)yj_col_int(st, 10);
                    state = l >= 1 && l <= 4 ? lv[l] : "alarm";
                    json_object_set_new(p, "alarm_id", json_integer(yj_col_int(st, 9)));
                    json_object_set_new(p, "alarm_level", json_integer(l));
                    json_object_set_new(p, "alarm_title", json_string(yj_col_text(st, 11)));
                    json_object_set_new(p, "alarm_state", json_string(yj_col_text(st, 12)));
                }
                json_object_set_new(p, "state", json_string(state));
                feature(out, &first, yj_col_real(st, 6), yj_col_real(st, 7), p);
                json_decref(p);
            }
            yj_stmt_done(st);
            if (r < 0)
                rc = yj_fail(err);
        }
    }
    /* registries: monitored objects, hazards, resources */
    static const struct {
        const char *layer, *reg;
    } regs[] = {{"objects", "monitored_object"}, {"hazards", "hazard_source"},
                {"resources", "rescue_team"},    {"resources", "warehouse"},
                {"resources", "shelter"},        {"resources", "equipment"}};
    for (size_t i = 0; i < sizeof regs / sizeof regs[0] && rc == YJ_OK; i++) {
        if (!layer_on(layers, regs[i].layer))
            continue;
        const yj_registry *r = registry_find(regs[i].reg);
        if (!perm_allowed(u->role, r->name, YJ_ACT_READ))
            continue;
        yj_query q = {.limit = 1000, .has_bbox = true};
        memcpy(q.bbox, bbox, sizeof q.bbox);
        json_t *items = NULL;
        int64_t total = 0;
        rc = yj_rec_list(c, &r->table, &sc, &q, &items, &total, err);
        size_t k;
        json_t *rec;
        json_array_foreach(items, k, rec) {
            json_t *p =
                json_pack("{s:s,s:s,s:O,s:O}", "layer", regs[i].layer, "registry", r->name, "id",
                          json_object_get(rec, "id"), "name", json_object_get(rec, "name"));
            if (r->type_field)
                json_object_set(p, "type", json_object_get(rec, r->type_field));
            if (r->status_field)
                json_object_set(p, "status", json_object_get(rec, r->status_field));
            feature(out, &first, json_number_value(json_object_get(rec, "lon")),
                    json_number_value(json_object_get(rec, "lat")), p);
            json_decref(p);
        }
        json_decref(items);
    }
    yj_store_release(s, c);
    yj_buf_puts(out, "]}");
    return rc;
}
