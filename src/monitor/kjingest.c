/*
 * kjingest.c — coal-mine KJ monitoring files into the platform.
 *
 * Mapping (docs/kj-format.md): a record's 煤矿编码 is the code of a
 * monitored object (the mine); its sensor is "<煤矿编码>-<测点编号>".
 *   AQMC  analog point definitions: a missing sensor is created (type from
 *         传感器类型, unit, range, location); 报警上限/断电值 become the
 *         sensor's own threshold rule (yellow / orange; hysteresis from the
 *         复电值), replacing the type default.
 *   AQKC  switch point definitions: a missing 开关量 sensor is created.
 *   AQSS  real-time values -> readings.
 *   AQKD  switch state changes -> readings of the 开关量 sensor (0/1).
 *   AQMT  5-minute statistics -> kj_stat (max, min, avg per period).
 * Whatever cannot be used is a reject with its reason: the parser's
 * (field_count, bad_number, truncated ...) and the platform's (unknown
 * mine, unknown sensor type, and the usual reading rejects).  Every
 * reject is stored in reading_reject like any other (the file report keeps
 * the KJ-specific reason names; the stored reason is the platform's:
 * unknown mine -> unknown_sensor, bad definition -> malformed ...).
 */
#include "kj.h"
#include "monitor.h"
#include "../core/dirwatch.h"
#include "../core/util.h"
#include "../registry/registry.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static yj_user system_user(const char *origin)
{
    yj_user u = {.id = 0, .role = YJ_ROLE_ADMIN};
    snprintf(u.username, sizeof u.username, "%.63s", origin); /* who: "kj:<file>" */
    snprintf(u.name, sizeof u.name, "KJ 文件导入");
    return u;
}

static void bump(json_t *obj, const char *key, json_int_t n)
{
    json_t *v = json_object_get(obj, key);
    json_object_set_new(obj, key, json_integer(json_integer_value(v) + n));
}

/* Rejects found while the definitions' transaction is open: stored after
 * it commits (the ingest writer needs the write lock that transaction holds). */
typedef struct {
    mon_reject reason;
    char code[96];
    char detail[240];
} kj_note;

typedef struct {
    kj_note *v;
    size_t n, cap;
    json_t *rejected; /* the file report's counts by KJ reason */
} kj_notes;

static void note(kj_notes *l, const char *key, mon_reject reason, const char *code, const char *fmt,
                 ...) __attribute__((format(printf, 5, 6)));
static void note(kj_notes *l, const char *key, mon_reject reason, const char *code, const char *fmt,
                 ...)
{
    bump(l->rejected, key, 1);
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        kj_note *p = realloc(l->v, nc * sizeof *p);
        if (p == NULL)
            return; /* counted in the report; the stored row is lost to OOM only */
        l->v = p;
        l->cap = nc;
    }
    kj_note *x = &l->v[l->n++];
    x->reason = reason;
    snprintf(x->code, sizeof x->code, "%s", code ? code : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->detail, sizeof x->detail, fmt, ap);
    va_end(ap);
}

static void sensor_code(const kj_record *r, char *out, size_t n)
{
    snprintf(out, n, "%s-%s", r->mine, r->point);
}

/* Look up an id by code in a registry table; 0 if absent. */
static int64_t id_by_code(yj_conn *c, const char *table, const char *code)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE code = ?", table);
    yj_stmt *st = yj_prepare(c, sql, NULL);
    if (st == NULL)
        return 0;
    yj_bind_text(st, 1, code);
    int64_t id = yj_step(st, NULL) == 1 ? yj_col_int(st, 0) : 0;
    yj_stmt_done(st);
    return id;
}

/* The sensor's KJ threshold rule (报警/断电值 from the mine's own system) set
 * to params: changed in place (its id, and so the alarms' rule key, stays),
 * created when missing, untouched when the file says what it said before;
 * audited with the file as who. */
static yj_code kj_rule_save(yj_conn *c, const yj_user *u, int64_t sid, const char *params,
                            yj_err *err)
{
    yj_stmt *st = yj_prepare(c,
                             "SELECT id, params, region_code, version FROM monitor_rule WHERE"
                             " sensor_id = ? AND kind = 'threshold' AND name LIKE 'KJ %'"
                             " ORDER BY id LIMIT 1",
                             err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_int(st, 1, sid);
    int r = yj_step(st, err);
    int64_t id = 0;
    json_t *before = NULL;
    if (r == 1) {
        id = yj_col_int(st, 0);
        before = json_pack("{s:I,s:s,s:s,s:I,s:I}", "id", (json_int_t)id, "params",
                           yj_col_text(st, 1), "region_code", yj_col_text(st, 2), "sensor_id",
                           (json_int_t)sid, "version", (json_int_t)yj_col_int(st, 3));
    }
    yj_stmt_done(st);
    if (r < 0)
        return yj_fail(err);
    if (before && strcmp(json_string_value(json_object_get(before, "params")), params) == 0) {
        json_decref(before);
        return YJ_OK; /* the same values again: nothing to write */
    }
    char now[32];
    yj_time_iso(yj_now_ms(), now, sizeof now);
    st = yj_prepare(c,
                    id ? "UPDATE monitor_rule SET params = ?, updated_at = ?, updated_by = ?,"
                         " enabled = 1, version = version + 1 WHERE id = ?"
                         " RETURNING id, region_code, version"
                       : "INSERT INTO monitor_rule (name, kind, sensor_id, params, enabled,"
                         " region_code, updated_at, updated_by)"
                         " SELECT 'KJ 测点报警/断电值', 'threshold', id, ?, 1, region_code, ?, ?"
                         " FROM sensor WHERE id = ? RETURNING id, region_code, version",
                    err);
    if (st == NULL) {
        json_decref(before);
        return yj_fail(err);
    }
    yj_bind_text(st, 1, params);
    yj_bind_text(st, 2, now);
    yj_bind_text(st, 3, u->username);
    yj_bind_int(st, 4, id ? id : sid);
    r = yj_step(st, err);
    json_t *after = NULL;
    if (r == 1)
        after = json_pack("{s:I,s:s,s:s,s:s,s:I,s:s,s:I}", "id", (json_int_t)yj_col_int(st, 0),
                          "name", "KJ 测点报警/断电值", "kind", "threshold", "params", params,
                          "sensor_id", (json_int_t)sid, "region_code", yj_col_text(st, 1),
                          "version", (json_int_t)yj_col_int(st, 2));
    yj_stmt_done(st);
    yj_code rc = r == 1 ? YJ_OK : yj_fail(err);
    if (rc == YJ_OK)
        rc = audit_append(c, u->username, before ? "update" : "create", "monitor_rule",
                          json_integer_value(json_object_get(after, "id")), before, after, err);
    json_decref(before);
    json_decref(after);
    return rc;
}

/* Create the sensor of a definition record (AQMC / AQKC) if missing. */
static yj_code define_sensor(yj_conn *c, const yj_user *u, const kj_record *r, kj_notes *notes,
                             int *created, yj_err *err)
{
    char code[96];
    sensor_code(r, code, sizeof code);
    const char *tname = kj_table_name(r->table);
    int64_t obj = id_by_code(c, "monitored_object", r->mine);
    if (obj == 0) {
        note(notes, "unknown_mine", MON_REJ_UNKNOWN, code,
             "[unknown_mine] %s 测点定义：煤矿编码 %s 不是已登记的监测对象", tname, r->mine);
        return YJ_OK;
    }
    int type = r->table == KJ_AQKC ? mon_type_find("开关量") : mon_type_find(r->type);
    if (type < 0) {
        note(notes, "unknown_type", MON_REJ_MALFORMED, code,
             "[unknown_type] %s 测点定义：未知的传感器类型“%s”", tname, r->type);
        return YJ_OK;
    }
    int64_t sid = id_by_code(c, "sensor", code);
    if (sid == 0) {
        /* place it at the mine, in the mine's region */
        yj_stmt *st = yj_prepare(
            c, "SELECT region_code, lat, lon, name FROM monitored_object WHERE id = ?", err);
        if (st == NULL)
            return yj_fail(err);
        yj_bind_int(st, 1, obj);
        if (yj_step(st, err) != 1) {
            yj_stmt_done(st);
            return yj_fail(err);
        }
        json_t *rec = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s}", "code", code, "name",
                                r->location[0] ? r->location : r->point, "object_id",
                                (json_int_t)obj, "type", mon_type_at((size_t)type)->label,
                                "location", r->location, "region_code", yj_col_text(st, 0));
        if (!yj_col_null(st, 1) && !yj_col_null(st, 2)) {
            json_object_set_new(rec, "lat", json_real(yj_col_real(st, 1)));
            json_object_set_new(rec, "lon", json_real(yj_col_real(st, 2)));
        }
        yj_stmt_done(st);
        if (r->table == KJ_AQMC) {
            if (r->unit[0])
                json_object_set_new(rec, "unit", json_string(r->unit));
            if (isfinite(r->range_lo) && isfinite(r->range_hi) && r->range_lo < r->range_hi) {
                json_object_set_new(rec, "range_lo", json_real(r->range_lo));
                json_object_set_new(rec, "range_hi", json_real(r->range_hi));
            }
        }
        yj_err e2;
        yj_err_clear(&e2);
        yj_code rc = registry_create_in(c, u, registry_find("sensor"), rec, &sid, &e2);
        json_decref(rec);
        if (rc == YJ_EINTERNAL || rc == YJ_EBUSY) { /* the store, not the file */
            if (err)
                *err = e2;
            return rc;
        }
        if (rc != YJ_OK) {
            note(notes, "bad_definition", MON_REJ_MALFORMED, code,
                 "[bad_definition] %s 测点定义无效：%s", tname, e2.message);
            return YJ_OK;
        }
        (*created)++;
    }
    /* the mine's own alarm and power-cut values become the sensor's rule */
    if (r->table == KJ_AQMC && (isfinite(r->alarm_hi) || isfinite(r->cut_hi))) {
        json_t *levels = json_object();
        if (isfinite(r->alarm_hi))
            json_object_set_new(levels, "yellow", json_real(r->alarm_hi));
        if (isfinite(r->cut_hi) && (!isfinite(r->alarm_hi) || r->cut_hi > r->alarm_hi))
            json_object_set_new(levels, "orange", json_real(r->cut_hi));
        double hyst = 0;
        if (isfinite(r->cut_hi) && isfinite(r->restore_hi) && r->restore_hi < r->cut_hi)
            hyst = r->cut_hi - r->restore_hi;
        if (isfinite(r->alarm_hi) && isfinite(r->cut_hi) && hyst > r->cut_hi - r->alarm_hi)
            hyst = r->cut_hi - r->alarm_hi;
        json_t *params = json_pack("{s:s,s:o,s:f,s:i}", "direction", "high", "levels", levels,
                                   "hysteresis", hyst, "duration_s", 0);
        mon_rule rule;
        if (mon_rule_from_json(MON_RULE_THRESHOLD, params, &rule, NULL) == YJ_OK) {
            char *text = json_dumps(params, JSON_COMPACT | JSON_REAL_PRECISION(12));
            yj_code rc = kj_rule_save(c, u, sid, text, err);
            free(text);
            json_decref(params);
            return rc;
        }
        json_decref(params);
        note(notes, "bad_definition", MON_REJ_MALFORMED, code,
             "[bad_definition] %s 测点的报警/断电/复电值无效", tname);
    }
    return YJ_OK;
}

static yj_code store_stat(yj_conn *c, const kj_record *r, kj_notes *notes, int64_t *stored,
                          yj_err *err)
{
    char code[96];
    sensor_code(r, code, sizeof code);
    int64_t sid = id_by_code(c, "sensor", code);
    if (sid == 0) {
        note(notes, "unknown_sensor", MON_REJ_UNKNOWN, code, "AQMT 5 分钟统计：未知测点");
        return YJ_OK;
    }
    yj_stmt *st = yj_prepare(c,
                             "INSERT INTO kj_stat (sensor_id, ts, max, max_ts, min, avg)"
                             " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sensor_id, ts) DO NOTHING",
                             err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_int(st, 1, sid);
    yj_bind_int(st, 2, r->ts * 1000);
    yj_bind_real(st, 3, r->max);
    yj_bind_int(st, 4, r->max_ts * 1000);
    yj_bind_real(st, 5, r->min);
    yj_bind_real(st, 6, r->avg);
    int rr = yj_step(st, err);
    int64_t ch = yj_stmt_changes(st);
    yj_stmt_done(st);
    if (rr < 0)
        return yj_fail(err);
    if (ch == 0)
        note(notes, "duplicate", MON_REJ_DUPLICATE, code, "AQMT 5 分钟统计：该时段已导入");
    else
        (*stored)++;
    return YJ_OK;
}

yj_code mon_ingest_kj(yj_store *s, const char *path, json_t **report, yj_err *err)
{
    *report = NULL;
    size_t len = 0;
    char *data = yj_read_file(path, &len);
    if (data == NULL)
        return yj_err_set(err, YJ_EIO, NULL, "cannot read %s: %s", path, strerror(errno));
    kj_file f;
    yj_code rc = kj_parse(data, len, &f, err);
    free(data);
    if (rc != YJ_OK)
        return rc;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char origin[160];
    snprintf(origin, sizeof origin, "kj:%s", base);
    json_t *accepted = json_object(), *rejected = json_object();
    for (int t = 0; t < KJ_TABLE_COUNT; t++)
        json_object_set_new(accepted, kj_table_name((kj_table)t), json_integer(0));

    /* parser rejects: counted by reason and stored */
    for (size_t i = 0; i < f.nrejects && rc == YJ_OK; i++) {
        const kj_reject *x = &f.rejects[i];
        bump(rejected, x->reason, (json_int_t)x->count);
        char detail[256];
        snprintf(detail, sizeof detail, "[%s] 第 %d 批%s%s", x->reason, x->batch,
                 x->index ? "：" : "（整批）：", x->detail);
        rc = mon_ingest_malformed(MON_SRC_KJ, origin, NULL, 0, detail, err);
    }
    if (f.unlisted)
        bump(rejected, "more_rejects_not_listed", (json_int_t)f.unlisted);

    /* definitions first, in one transaction; then make the runtime see them */
    int created = 0, ndefs = 0;
    int64_t stats = 0;
    kj_notes notes = {.rejected = rejected};
    yj_user u = system_user(origin);
    yj_conn *c = yj_store_acquire(s);
    if (rc == YJ_OK)
        rc = yj_tx_begin(c, err);
    if (rc == YJ_OK) {
        for (size_t i = 0; i < f.nrecs && rc == YJ_OK; i++) {
            const kj_record *r = &f.recs[i];
            if (r->table == KJ_AQMC || r->table == KJ_AQKC) {
                ndefs++;
                json_int_t before = 0;
                const char *k;
                json_t *v;
                json_object_foreach(rejected, k, v)
                    before += json_integer_value(v);
                rc = define_sensor(c, &u, r, &notes, &created, err);
                json_int_t after = 0;
                json_object_foreach(rejected, k, v)
                    after += json_integer_value(v);
                if (rc == YJ_OK && after == before)
                    bump(accepted, kj_table_name(r->table), 1);
            } else if (r->table == KJ_AQMT) {
                int64_t b = stats;
                rc = store_stat(c, r, &notes, &stats, err);
                if (stats > b)
                    bump(accepted, "AQMT", 1);
            }
        }
        /* sensors created here bump the sensor generation; the points'
         * rules are monitor configuration: a running server reloads both */
        if (rc == YJ_OK && ndefs)
            rc = mon_config_changed(c, err);
        if (rc == YJ_OK)
            rc = yj_tx_commit(c, err);
        else
            yj_tx_rollback(c);
    }
    yj_store_release(s, c);
    if (rc == YJ_OK && ndefs)
        mon_reload();
    /* the definitions' and statistics' rejects, stored now the lock is free */
    for (size_t i = 0; i < notes.n && rc == YJ_OK; i++)
        rc = mon_ingest_reject(MON_SRC_KJ, origin, notes.v[i].reason,
                               notes.v[i].code[0] ? notes.v[i].code : NULL, notes.v[i].detail, err);
    free(notes.v);

    /* values: AQSS analog readings, then AQKD switch states (separately, so
     * the report can say which table a reject came from) */
    mon_reading *rd = rc == YJ_OK ? calloc(f.nrecs + 1, sizeof *rd) : NULL;
    if (rc == YJ_OK && rd == NULL)
        rc = yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
    static const kj_table value_tables[2] = {KJ_AQSS, KJ_AQKD};
    for (int t = 0; t < 2 && rc == YJ_OK; t++) {
        size_t nv = 0;
        for (size_t i = 0; i < f.nrecs; i++) {
            const kj_record *r = &f.recs[i];
            if (r->table != value_tables[t])
                continue;
            char code[96];
            sensor_code(r, code, sizeof code);
            mon_reading *x = &rd[nv++];
            memset(x, 0, sizeof *x);
            if (strlen(code) >= sizeof x->sensor) {
                x->bad = true;
                x->reject = MON_REJ_MALFORMED;
                snprintf(x->detail, sizeof x->detail, "测点编码过长");
                continue;
            }
            memcpy(x->sensor, code, strlen(code) + 1); /* length checked above */
            x->ts = r->ts * 1000;
            x->value = r->table == KJ_AQKD ? (double)r->state : r->value;
        }
        if (nv == 0)
            continue;
        mon_result res;
        rc = mon_ingest(rd, nv, MON_SRC_KJ, origin, NULL, NULL, &res, err);
        if (rc == YJ_OK) {
            bump(accepted, kj_table_name(value_tables[t]), res.accepted);
            for (int r = 0; r < MON_REJ_COUNT; r++)
                if (res.rejected[r])
                    bump(rejected, mon_reject_name((mon_reject)r), res.rejected[r]);
        }
    }
    free(rd);
    if (rc == YJ_OK) {
        json_int_t total_rej = 0, total_acc = 0;
        const char *k;
        json_t *v;
        json_object_foreach(rejected, k, v)
            total_rej += json_integer_value(v);
        json_object_foreach(accepted, k, v)
            total_acc += json_integer_value(v);
        *report = json_pack("{s:s,s:s,s:s,s:i,s:I,s:I,s:o,s:o,s:i}", "file", path, "mine", f.mine,
                            "encoding", f.gbk ? "GBK" : "UTF-8", "batches", f.batches,
                            "accepted_total", total_acc, "rejected_total", total_rej, "accepted",
                            accepted, "rejected", rejected, "sensors_created", created);
    } else {
        json_decref(accepted);
        json_decref(rejected);
    }
    kj_file_free(&f);
    return rc;
}

/* ---- directory watcher ------------------------------------------------------------ */

static dirwatch *kj_watch;

static dw_result kj_dropped(const char *path, json_t **report, char *why, size_t nwhy, void *ctx)
{
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = mon_ingest_kj(ctx, path, report, &err);
    if (rc == YJ_OK)
        return DW_DONE;
    snprintf(why, nwhy, "%s", err.message);
    /* the file itself (unreadable, too big, not KJ at all): retrying would
     * not help; a store error may pass */
    return rc == YJ_EINTERNAL || rc == YJ_EBUSY ? DW_RETRY : DW_FAILED;
}

yj_code mon_kj_watch(yj_store *s, const char *dir, yj_err *err)
{
    if (kj_watch)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "KJ watcher already running");
    kj_watch = dirwatch_start(dir, "KJ", kj_dropped, s, err);
    return kj_watch ? YJ_OK : err ? err->code : YJ_EIO;
}

void mon_kj_stop(void)
{
    dirwatch_stop(kj_watch);
    kj_watch = NULL;
}
