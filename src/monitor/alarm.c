/*
 * alarm.c — what people do with alarms: the lifecycle, work orders for
 * faulty sensors, the inbox, and device-health figures.
 *
 * Lifecycle (报警处置): raised 已报警 -> acknowledged 已确认 -> verified 已核实
 * -> disposing 处置中 -> closed 已关闭.  Verifying and disposing may be
 * skipped (a false alarm is closed straight after acknowledging), but an
 * alarm is never closed unacknowledged.  Closing gives a verdict:
 *   real  真实险情: cause 原因 and measures 措施 required;
 *   false 误报: reason required;
 *   fault 设备故障: fault description required; opens a maintenance work
 *         order (维修工单) dispatched -> repaired -> restored.
 * Each step is one transaction: the state change, a timeline entry with
 * who and when, and an audit-log entry.
 *
 * Scope: an alarm is visible to a user whose region contains the alarm's
 * region; an enterprise user sees only its enterprise's alarms.
 */
#include "monitor.h"
#include "../base/module.h"
#include "../base/workflow.h"
#include "../core/events.h"
#include "../core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const alarm_cols =
    "id, sensor_id, rule_key, rule_kind, object_id, enterprise_id, region_code, title, level,"
    " cur_sev, state, cond, count, first_value, last_value, peak, unit, raised_at, last_at,"
    " cleared_at, late, escalation, escalated_region, ack_at, ack_by, verified_at, verified_by,"
    " disposing_at, disposing_by, closed_at, closed_by, verdict, cause, measures, reason,"
    " workorder_id, version";

/* Alarms and work orders carry their region and owning enterprise. */
static const yj_scope_cols alarm_scope = {.region = "a.region_code",
                                          .enterprise = "a.enterprise_id"};
static const yj_scope_cols workorder_scope = {.region = "w.region_code",
                                              .enterprise = "w.enterprise_id"};

static json_t *row_json(yj_stmt *st)
{
    json_t *o = yj_row_json(st);
    json_t *late = json_object_get(o, "late");
    if (late)
        json_object_set_new(o, "late", json_boolean(json_integer_value(late)));
    return o;
}

yj_code alarm_list(yj_store *s, const yj_user *u, const mon_alarm_query *q, json_t **items,
                   int64_t *total, yj_err *err)
{
    *items = NULL;
    *total = 0;
    yj_scope sc = user_scope(u);
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = YJ_OK;
    for (int pass = 0; pass < 2 && rc == YJ_OK; pass++) {
        yj_sql sql;
        yj_sql_init(&sql, NULL);
        if (pass == 0)
            yj_sql_add(&sql, "SELECT COUNT(*) FROM alarm a WHERE 1=1");
        else
            yj_sql_addf(&sql, "SELECT %s FROM alarm a WHERE 1=1", alarm_cols);
        yj_sql_scope(&sql, &sc, &alarm_scope);
        if (q->state)
            yj_sql_text(&sql, " AND a.state = ?", q->state);
        if (q->open_only)
            yj_sql_add(&sql, " AND a.state <> 'closed'");
        yj_sql_region(&sql, "a.region_code", q->region);
        if (q->sensor_id)
            yj_sql_int(&sql, " AND a.sensor_id = ?", q->sensor_id);
        if (q->enterprise_id)
            yj_sql_int(&sql, " AND a.enterprise_id = ?", q->enterprise_id);
        if (pass == 1) {
            yj_sql_add(&sql, " ORDER BY CASE WHEN a.state = 'closed' THEN 1 ELSE 0 END, a.level,"
                             " a.id DESC");
            yj_sql_int(&sql, " LIMIT ?", q->limit > 0 && q->limit <= 1000 ? q->limit : 100);
            yj_sql_int(&sql, " OFFSET ?", q->offset);
            *items = json_array();
        }
        yj_stmt *st = yj_sql_prepare(c, &sql, err);
        yj_sql_free(&sql);
        if (st == NULL) {
            rc = yj_fail(err);
            break;
        }
        int r;
        while ((r = yj_step(st, err)) == 1) {
            if (pass == 0)
                *total = yj_col_int(st, 0);
            else
                json_array_append_new(*items, row_json(st));
        }
        yj_stmt_done(st);
        if (r < 0)
            rc = yj_fail(err);
    }
    yj_store_release(s, c);
    if (rc != YJ_OK) {
        json_decref(*items);
        *items = NULL;
    }
    return rc;
}

/* One alarm in u's scope (u NULL: any: the platform's own steps). */
static yj_code load_alarm(yj_conn *c, const yj_user *u, int64_t id, json_t **out, yj_err *err)
{
    yj_sql sql;
    yj_sql_init(&sql, NULL);
    yj_sql_addf(&sql, "SELECT %s FROM alarm a WHERE", alarm_cols);
    yj_sql_int(&sql, " a.id = ?", id);
    if (u) {
        yj_scope sc = user_scope(u);
        yj_sql_scope(&sql, &sc, &alarm_scope);
    }
    yj_code rc = yj_sql_one(c, &sql, "报警", id, out, err);
    json_t *late = rc == YJ_OK ? json_object_get(*out, "late") : NULL;
    if (late)
        json_object_set_new(*out, "late", json_boolean(json_integer_value(late)));
    return rc;
}

static yj_code attach_details(yj_conn *c, json_t *a, yj_err *err)
{
    int64_t id = json_integer_value(json_object_get(a, "id"));
    yj_stmt *st = yj_prepare(c,
                             "SELECT ts, actor, action, note, value, level FROM alarm_event"
                             " WHERE alarm_id = ? ORDER BY id",
                             err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_int(st, 1, id);
    json_t *tl = json_array();
    int r;
    while ((r = yj_step(st, err)) == 1)
        json_array_append_new(tl, row_json(st));
    yj_stmt_done(st);
    json_object_set_new(a, "timeline", tl);
    if (r < 0)
        return yj_fail(err);
    st = yj_prepare(c,
                    "SELECT s.code, s.name, s.type, s.unit, s.location, o.name, o.kind"
                    " FROM sensor s JOIN monitored_object o ON o.id = s.object_id WHERE s.id = ?",
                    err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_int(st, 1, json_integer_value(json_object_get(a, "sensor_id")));
    if ((r = yj_step(st, err)) == 1)
        json_object_set_new(a, "sensor",
                            json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "code", yj_col_text(st, 0),
                                      "name", yj_col_text(st, 1), "type", yj_col_text(st, 2),
                                      "unit", yj_col_text(st, 3), "location", yj_col_text(st, 4),
                                      "object_name", yj_col_text(st, 5), "object_kind",
                                      yj_col_text(st, 6)));
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

yj_code alarm_get(yj_store *s, const yj_user *u, int64_t id, json_t **out, yj_err *err)
{
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = load_alarm(c, u, id, out, err);
    if (rc == YJ_OK)
        json_object_set_new(*out, "actions", wf_actions(c, &alarm_workflow, u, *out));
    if (rc == YJ_OK)
        rc = attach_details(c, *out, err);
    yj_store_release(s, c);
    if (rc != YJ_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

static const char *text_arg(const json_t *body, const char *key)
{
    const char *v = json_string_value(json_object_get(body, key));
    return v && v[0] ? v : NULL;
}

/* ---- the alarm's life, as a table on the workflow engine ------------------------- */

/* who handles alarms: the duty desk, regulators, the enterprise its own */
#define HANDLERS (YJ_R(ADMIN) | YJ_R(DUTY) | YJ_R(SUPERVISOR) | YJ_R(ENTERPRISE))

static const yj_wf_state alarm_states[] = {
    {"raised", "已报警"},    {"acknowledged", "已确认"}, {"verified", "已核实"},
    {"disposing", "处置中"}, {"closed", "已关闭"},
};

/* Closing gives a verdict and what it needs. */
static yj_code close_check(const json_t *body, yj_err *err)
{
    const char *verdict = text_arg(body, "verdict");
    if (verdict == NULL)
        return yj_err_set(err, YJ_EINVAL, "verdict",
                          "关闭报警须给出结论 verdict：real（真实险情）、false（误报）或 "
                          "fault（设备故障）");
    if (strcmp(verdict, "real") == 0) {
        if (text_arg(body, "cause") == NULL)
            return yj_err_set(err, YJ_EINVAL, "cause", "真实险情须填写原因 cause");
        if (text_arg(body, "measures") == NULL)
            return yj_err_set(err, YJ_EINVAL, "measures", "真实险情须填写处置措施 measures");
    } else if (strcmp(verdict, "false") == 0 || strcmp(verdict, "fault") == 0) {
        if (text_arg(body, "reason") == NULL)
            return yj_err_set(err, YJ_EINVAL, "reason",
                              strcmp(verdict, "false") == 0 ? "误报须填写原因 reason"
                                                            : "设备故障须填写故障描述 reason");
    } else {
        return yj_err_set(err, YJ_EINVAL, "verdict", "verdict 应为 real、false 或 fault");
    }
    return YJ_OK;
}

/* The verdict and its facts; a sensor fault opens a maintenance work order. */
static yj_code close_effect(yj_wf_ctx *x, yj_err *err)
{
    const char *verdict = text_arg(x->body, "verdict"), *reason = text_arg(x->body, "reason");
    int64_t wo = 0;
    if (strcmp(verdict, "fault") == 0) {
        yj_stmt *st = yj_prepare(x->conn,
                                 "INSERT INTO workorder (alarm_id, sensor_id, region_code,"
                                 " enterprise_id, state, fault, created_at, created_by)"
                                 " VALUES (?, ?, ?, ?, 'dispatched', ?, ?, ?) RETURNING id",
                                 err);
        if (st == NULL)
            return yj_fail(err);
        yj_bind_int(st, 1, x->id);
        yj_bind_int(st, 2, json_integer_value(json_object_get(x->before, "sensor_id")));
        yj_bind_text(st, 3, json_string_value(json_object_get(x->before, "region_code")));
        yj_bind_json(st, 4, json_object_get(x->before, "enterprise_id"));
        yj_bind_text(st, 5, reason);
        yj_bind_int(st, 6, x->now);
        yj_bind_text(st, 7, x->actor);
        int r = yj_step(st, err);
        if (r == 1)
            wo = yj_col_int(st, 0);
        yj_stmt_done(st);
        if (r != 1)
            return yj_fail(err);
        json_t *after =
            json_pack("{s:I,s:I,s:s,s:s,s:s}", "id", (json_int_t)wo, "alarm_id", (json_int_t)x->id,
                      "state", "dispatched", "fault", reason, "region_code",
                      json_string_value(json_object_get(x->before, "region_code")));
        yj_code rc = audit_append(x->conn, x->actor, "create", "workorder", wo, NULL, after, err);
        json_decref(after);
        if (rc != YJ_OK)
            return rc;
    }
    yj_stmt *st = yj_prepare(x->conn,
                             "UPDATE alarm SET verdict = ?, cause = ?, measures = ?, reason = ?,"
                             " workorder_id = ? WHERE id = ?",
                             err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_text(st, 1, verdict);
    yj_bind_text(st, 2, text_arg(x->body, "cause"));
    yj_bind_text(st, 3, text_arg(x->body, "measures"));
    yj_bind_text(st, 4, reason);
    if (wo)
        yj_bind_int(st, 5, wo);
    else
        yj_bind_null(st, 5);
    yj_bind_int(st, 6, x->id);
    int r = yj_step(st, err);
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

/* 报警处置: acknowledged, then verified and/or under disposal, then closed
 * with a verdict; never closed unacknowledged. */
static const yj_wf_step alarm_steps[] = {
    {"acknowledge", "确认报警", YJ_WF_FROM("raised"), "acknowledged", HANDLERS, .stamp = "ack"},
    {"verify", "核实", YJ_WF_FROM("acknowledged"), "verified", HANDLERS, .stamp = "verified"},
    {"dispose", "开始处置", YJ_WF_FROM("acknowledged", "verified"), "disposing", HANDLERS,
     .stamp = "disposing"},
    {"close", "关闭报警", YJ_WF_FROM("acknowledged", "verified", "disposing"), "closed", HANDLERS,
     .check = close_check, .stamp = "closed", .effect = close_effect},
};

static void alarm_published(const json_t *after, const char *action)
{
    json_t *ev = json_pack("{s:O,s:s,s:O}", "id", json_object_get(after, "id"), "action", action,
                           "state", json_object_get(after, "state"));
    json_object_set(ev, "enterprise_id", json_object_get(after, "enterprise_id"));
    json_object_set(ev, "level", json_object_get(after, "level"));
    json_object_set(ev, "title", json_object_get(after, "title"));
    yj_events_publish("alarm", json_string_value(json_object_get(after, "region_code")), ev);
    json_decref(ev);
}

const yj_workflow alarm_workflow = {
    .name = "alarm",
    .table = "alarm",
    .timeline = "alarm_event",
    .timeline_fk = "alarm_id",
    YJ_LIST(states, alarm_states),
    YJ_LIST(steps, alarm_steps),
    .load = load_alarm,
    .published = alarm_published,
};

yj_code alarm_act(yj_store *s, const yj_user *u, int64_t id, const char *action, int64_t if_match,
                  const json_t *body, json_t **out, yj_err *err)
{
    yj_code rc = wf_act(s, &alarm_workflow, u, id, action, if_match, body, out, err);
    if (rc == YJ_OK) {
        yj_conn *c = yj_store_acquire(s);
        rc = attach_details(c, *out, err);
        yj_store_release(s, c);
        if (rc != YJ_OK) {
            json_decref(*out);
            *out = NULL;
        }
    }
    return rc;
}

/* ---- work orders -------------------------------------------------------------- */

yj_code workorder_list(yj_store *s, const yj_user *u, const char *state, json_t **items,
                       yj_err *err)
{
    yj_scope sc = user_scope(u);
    yj_sql sql;
    yj_sql_init(&sql,
                "SELECT w.id, w.alarm_id, w.sensor_id, w.region_code, w.enterprise_id, w.state,"
                " w.fault, w.created_at, w.created_by, w.repaired_at, w.repaired_by, w.repair_note,"
                " w.restored_at, w.restored_by, w.version, s.code AS sensor_code,"
                " s.name AS sensor_name FROM workorder w JOIN sensor s ON s.id = w.sensor_id"
                " WHERE 1=1");
    yj_sql_scope(&sql, &sc, &workorder_scope);
    if (state)
        yj_sql_text(&sql, " AND w.state = ?", state);
    yj_sql_add(&sql, " ORDER BY w.id DESC LIMIT 500");
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_sql_prepare(c, &sql, err);
    yj_sql_free(&sql);
    yj_code rc = YJ_OK;
    *items = NULL;
    if (st == NULL)
        rc = yj_fail(err);
    else {
        *items = json_array();
        int r;
        while ((r = yj_step(st, err)) == 1)
            json_array_append_new(*items, row_json(st));
        yj_stmt_done(st);
        if (r < 0)
            rc = yj_fail(err);
    }
    yj_store_release(s, c);
    return rc;
}

/* One work order in u's scope (NULL: any). */
static yj_code load_workorder(yj_conn *c, const yj_user *u, int64_t id, json_t **out, yj_err *err)
{
    yj_sql sql;
    yj_sql_init(&sql, "SELECT w.id, w.alarm_id, w.sensor_id, w.region_code, w.enterprise_id,"
                      " w.state, w.fault, w.created_at, w.created_by, w.repaired_at, w.repaired_by,"
                      " w.repair_note, w.restored_at, w.restored_by, w.version,"
                      " s.code AS sensor_code, s.name AS sensor_name FROM workorder w"
                      " JOIN sensor s ON s.id = w.sensor_id WHERE");
    yj_sql_int(&sql, " w.id = ?", id);
    if (u) {
        yj_scope sc = user_scope(u);
        yj_sql_scope(&sql, &sc, &workorder_scope);
    }
    return yj_sql_one(c, &sql, "工单", id, out, err);
}

static yj_code repair_effect(yj_wf_ctx *x, yj_err *err)
{
    yj_stmt *st = yj_prepare(x->conn, "UPDATE workorder SET repair_note = ? WHERE id = ?", err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_text(st, 1, text_arg(x->body, "note"));
    yj_bind_int(st, 2, x->id);
    int r = yj_step(st, err);
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

static const yj_wf_state workorder_states[] = {
    {"dispatched", "已派单"}, {"repaired", "已维修"}, {"restored", "已恢复"}};

/* 维修工单: a sensor closed as faulty is repaired, then confirmed restored. */
static const yj_wf_step workorder_steps[] = {
    {"repair", "登记维修", YJ_WF_FROM("dispatched"), "repaired", HANDLERS,
     .needs = YJ_WF_NEEDS("note"), .stamp = "repaired", .effect = repair_effect},
    {"restore", "确认恢复", YJ_WF_FROM("repaired"), "restored", HANDLERS, .stamp = "restored"},
};

const yj_workflow workorder_workflow = {
    .name = "workorder",
    .table = "workorder",
    YJ_LIST(states, workorder_states),
    YJ_LIST(steps, workorder_steps),
    .load = load_workorder,
};

yj_code workorder_get(yj_store *s, const yj_user *u, int64_t id, json_t **out, yj_err *err)
{
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = load_workorder(c, u, id, out, err);
    if (rc == YJ_OK)
        json_object_set_new(*out, "actions", wf_actions(c, &workorder_workflow, u, *out));
    yj_store_release(s, c);
    return rc;
}

yj_code workorder_act(yj_store *s, const yj_user *u, int64_t id, const char *action,
                      int64_t if_match, const json_t *body, json_t **out, yj_err *err)
{
    return wf_act(s, &workorder_workflow, u, id, action, if_match, body, out, err);
}

/* ---- inbox ------------------------------------------------------------------------- */

yj_code inbox_list(yj_store *s, const yj_user *u, bool unread_only, int limit, json_t **items,
                   int64_t *unread, yj_err *err)
{
    *items = NULL;
    *unread = 0;
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = YJ_OK;
    yj_stmt *st =
        yj_prepare(c, "SELECT COUNT(*) FROM inbox WHERE user_id = ? AND read_at IS NULL", err);
    if (st == NULL)
        rc = yj_fail(err);
    else {
        yj_bind_int(st, 1, u->id);
        if (yj_step(st, err) == 1)
            *unread = yj_col_int(st, 0);
        yj_stmt_done(st);
    }
    /* the alarm must still be in the user's scope when read */
    yj_scope sc = user_scope(u);
    yj_sql sql;
    yj_sql_init(&sql, "SELECT i.id, i.alarm_id, i.group_name, i.reason, i.created_at, i.read_at,"
                      " a.title, a.level, a.state, a.cond, a.region_code, a.late FROM inbox i"
                      " JOIN alarm a ON a.id = i.alarm_id WHERE");
    yj_sql_int(&sql, " i.user_id = ?", u->id);
    yj_sql_scope(&sql, &sc, &alarm_scope);
    if (unread_only)
        yj_sql_add(&sql, " AND i.read_at IS NULL");
    yj_sql_int(&sql, " ORDER BY i.id DESC LIMIT ?", limit > 0 && limit <= 500 ? limit : 100);
    st = rc == YJ_OK ? yj_sql_prepare(c, &sql, err) : NULL;
    yj_sql_free(&sql);
    if (rc == YJ_OK && st == NULL)
        rc = yj_fail(err);
    if (rc == YJ_OK) {
        *items = json_array();
        int r;
        while ((r = yj_step(st, err)) == 1)
            json_array_append_new(*items, row_json(st));
        yj_stmt_done(st);
        if (r < 0)
            rc = yj_fail(err);
    }
    yj_store_release(s, c);
    return rc;
}

yj_code inbox_read(yj_store *s, const yj_user *u, int64_t id, yj_err *err)
{
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = yj_tx_begin(c, err);
    yj_stmt *st = rc == YJ_OK ? yj_prepare(c,
                                           "SELECT read_at, alarm_id FROM inbox WHERE id = ?"
                                           " AND user_id = ?",
                                           err)
                              : NULL;
    if (rc == YJ_OK && st == NULL)
        rc = yj_fail(err);
    bool unread = false;
    int64_t alarm_id = 0;
    if (st) {
        yj_bind_int(st, 1, id);
        yj_bind_int(st, 2, u->id);
        int r = yj_step(st, err);
        unread = r == 1 && yj_col_null(st, 0);
        alarm_id = r == 1 ? yj_col_int(st, 1) : 0;
        yj_stmt_done(st);
        if (r < 0)
            rc = yj_fail(err);
        else if (r == 0) /* another user's message is not there for this one */
            rc = yj_err_set(err, YJ_ENOTFOUND, NULL, "消息 %lld 不存在", (long long)id);
    }
    int64_t now = yj_clock_now();
    if (rc == YJ_OK && unread) {
        st = yj_prepare(c, "UPDATE inbox SET read_at = ? WHERE id = ? AND read_at IS NULL", err);
        if (st == NULL)
            rc = yj_fail(err);
        else {
            yj_bind_int(st, 1, now);
            yj_bind_int(st, 2, id);
            if (yj_step(st, err) < 0)
                rc = yj_fail(err);
            yj_stmt_done(st);
        }
        json_t *before = json_pack("{s:n,s:I,s:s}", "read_at", "alarm_id", (json_int_t)alarm_id,
                                   "region_code", u->region),
               *after = json_pack("{s:I,s:I,s:s}", "read_at", (json_int_t)now, "alarm_id",
                                  (json_int_t)alarm_id, "region_code", u->region);
        if (rc == YJ_OK)
            rc = audit_append(c, u->username, "read", "inbox", id, before, after, err);
        json_decref(before);
        json_decref(after);
    }
    if (rc == YJ_OK && unread)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c); /* read before: nothing to change */
    yj_store_release(s, c);
    return rc;
}

/* ---- device health -------------------------------------------------------------- */

/* Beijing-time day "YYYY-MM-DD" -> [start, end) ms. */
static bool day_range(const char *day, int64_t *start, int64_t *end)
{
    int y, m, d;
    char tail;
    if (day == NULL || sscanf(day, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || y < 1970 || m < 1 ||
        m > 12 || d < 1 || d > 31)
        return false;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
    int64_t t = (int64_t)timegm(&tm) - 8 * 3600;
    *start = t * 1000;
    *end = *start + 86400000LL;
    return true;
}

yj_code alarm_health(yj_store *s, const yj_user *u, const char *day, const char *group_by,
                     json_t **out, yj_err *err)
{
    *out = NULL;
    int64_t start, end;
    if (!day_range(day, &start, &end))
        return yj_err_set(err, YJ_EINVAL, "day", "day 应为 YYYY-MM-DD（北京时间）");
    bool by_ent = group_by && strcmp(group_by, "enterprise") == 0;
    if (group_by && !by_ent && strcmp(group_by, "region") != 0)
        return yj_err_set(err, YJ_EINVAL, "group_by", "group_by 应为 region 或 enterprise");
    /* region: the county (first 6 digits); owner: the enterprise, or the
     * monitored object's operator for public stations */
    const char *grp =
        by_ent ? "COALESCE(e.name, o.operator, o.name)" : "substr(s.region_code, 1, 6)";
    static const yj_scope_cols sensor_scope = {.region = "s.region_code",
                                               .enterprise = "s.enterprise_id"};
    yj_scope sc = user_scope(u);
    yj_sql sql;
    yj_sql_init(&sql, NULL);
    yj_sql_addf(&sql,
                "SELECT grp, COUNT(*), AVG(CASE WHEN got * interval_s >= 86400 THEN 1.0"
                " ELSE got * interval_s / 86400.0 END) FROM (SELECT %s AS grp,"
                " s.interval_s AS interval_s, (SELECT COALESCE(SUM(h.n), 0) FROM reading_hour h"
                " WHERE h.sensor_id = s.id",
                grp);
    yj_sql_int(&sql, " AND h.bucket >= ?", start);
    yj_sql_int(&sql, " AND h.bucket < ?) AS got", end);
    yj_sql_add(&sql, " FROM sensor s JOIN monitored_object o ON o.id = s.object_id"
                     " LEFT JOIN enterprise e ON e.id = s.enterprise_id"
                     " WHERE s.status = '正常'");
    yj_sql_scope(&sql, &sc, &sensor_scope);
    yj_sql_add(&sql, ") g GROUP BY grp ORDER BY grp");
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_sql_prepare(c, &sql, err);
    yj_sql_free(&sql);
    yj_code rc = YJ_OK;
    json_t *rows = json_object();
    if (st == NULL)
        rc = yj_fail(err);
    else {
        int r;
        while ((r = yj_step(st, err)) == 1)
            json_object_set_new(rows, yj_col_text(st, 0),
                                json_pack("{s:s,s:I,s:f}", "group", yj_col_text(st, 0), "sensors",
                                          (json_int_t)yj_col_int(st, 1), "online_rate",
                                          yj_col_real(st, 2)));
        yj_stmt_done(st);
        if (r < 0)
            rc = yj_fail(err);
    }
    /* alarm handling times for alarms raised that day (live alarms only) */
    yj_sql_init(&sql, NULL);
    yj_sql_addf(&sql,
                "SELECT %s AS grp, COUNT(*), AVG(a.ack_at - a.raised_at) / 1000.0,"
                " AVG(a.closed_at - a.raised_at) / 1000.0,"
                " SUM(CASE WHEN a.ack_at IS NULL THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN a.closed_at IS NULL THEN 1 ELSE 0 END)"
                " FROM alarm a JOIN sensor s ON s.id = a.sensor_id"
                " JOIN monitored_object o ON o.id = s.object_id"
                " LEFT JOIN enterprise e ON e.id = a.enterprise_id WHERE a.late = 0",
                by_ent ? "COALESCE(e.name, o.operator, o.name)" : "substr(a.region_code, 1, 6)");
    yj_sql_int(&sql, " AND a.raised_at >= ?", start);
    yj_sql_int(&sql, " AND a.raised_at < ?", end);
    yj_sql_scope(&sql, &sc, &alarm_scope);
    yj_sql_add(&sql, " GROUP BY grp");
    st = rc == YJ_OK ? yj_sql_prepare(c, &sql, err) : NULL;
    yj_sql_free(&sql);
    if (rc == YJ_OK && st == NULL)
        rc = yj_fail(err);
    if (rc == YJ_OK) {
        int r;
        while ((r = yj_step(st, err)) == 1) {
            json_t *row = json_object_get(rows, yj_col_text(st, 0));
            if (row == NULL) {
                row = json_pack("{s:s,s:i}", "group", yj_col_text(st, 0), "sensors", 0);
                json_object_set_new(rows, yj_col_text(st, 0), row);
            }
            json_object_set_new(row, "alarms", json_integer(yj_col_int(st, 1)));
            json_object_set_new(row, "mean_ack_s", yj_col_json(st, 2));
            json_object_set_new(row, "mean_close_s", yj_col_json(st, 3));
            json_object_set_new(row, "unacknowledged", json_integer(yj_col_int(st, 4)));
            json_object_set_new(row, "open", json_integer(yj_col_int(st, 5)));
        }
        yj_stmt_done(st);
        if (r < 0)
            rc = yj_fail(err);
    }
    yj_store_release(s, c);
    if (rc != YJ_OK) {
        json_decref(rows);
        return rc;
    }
    json_t *list = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(rows, k, v)
        json_array_append(list, v);
    json_decref(rows);
    *out = json_pack("{s:s,s:s,s:o}", "day", day, "group_by", by_ent ? "enterprise" : "region",
                     "groups", list);
    return YJ_OK;
}

/* ---- recipient groups ---------------------------------------------------------------- */

yj_code alarm_group_create_in(yj_conn *c, const char *name, const char *region, int min_level,
                              const char *kinds, const char *industries, const int64_t *users,
                              size_t nusers, int64_t *id_out, yj_err *err)
{
    if (name == NULL || name[0] == '\0' || strlen(name) > 90)
        return yj_err_set(err, YJ_EINVAL, "name", "分组名称 name 必填（不超过 90 字节）");
    if (min_level < 1 || min_level > 4)
        return yj_err_set(err, YJ_EINVAL, "min_level", "min_level 应为 1（只收红色）到 4（全部）");
    yj_stmt *st =
        yj_prepare(c,
                   "INSERT INTO alarm_group (name, region_code, min_level, kinds, industries)"
                   " VALUES (?, ?, ?, ?, ?) RETURNING id",
                   err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_text(st, 1, name);
    yj_bind_text(st, 2, region);
    yj_bind_int(st, 3, min_level);
    yj_bind_text(st, 4, kinds ? kinds : "");
    yj_bind_text(st, 5, industries ? industries : "");
    int r = yj_step(st, err);
    int64_t id = r == 1 ? yj_col_int(st, 0) : 0;
    yj_stmt_done(st);
    if (r != 1)
        return yj_fail(err);
    for (size_t i = 0; i < nusers; i++) {
        st = yj_prepare(c, "INSERT INTO alarm_group_member (group_id, user_id) VALUES (?, ?)", err);
        if (st == NULL)
            return yj_fail(err);
        yj_bind_int(st, 1, id);
        yj_bind_int(st, 2, users[i]);
        r = yj_step(st, err);
        yj_stmt_done(st);
        if (r < 0)
            return yj_err_set(err, YJ_EINVAL, "members", "成员用户 %lld 不存在",
                              (long long)users[i]);
    }
    if (id_out)
        *id_out = id;
    return YJ_OK;
}

/* The groups of the caller's region.  Who is in them (usernames) only for
 * those who configure alarm routing (rule read); others see how many. */
yj_code alarm_group_list(yj_store *s, const yj_user *u, json_t **out, yj_err *err)
{
    static const yj_scope_cols group_scope = {.region = "g.region_code"};
    yj_scope sc = user_scope(u);
    bool names = perm_allowed(u->role, "rule", YJ_ACT_READ);
    yj_sql sql;
    yj_sql_init(&sql, "SELECT g.id, g.name, g.region_code, g.min_level, g.kinds, g.industries,"
                      " (SELECT COUNT(*) FROM alarm_group_member m WHERE m.group_id = g.id)"
                      " AS member_count FROM alarm_group g WHERE 1=1");
    yj_sql_scope(&sql, &sc, &group_scope);
    yj_sql_add(&sql, " ORDER BY g.region_code, g.id");
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_sql_prepare(c, &sql, err);
    yj_sql_free(&sql);
    yj_code rc = YJ_OK;
    *out = NULL;
    if (st == NULL)
        rc = yj_fail(err);
    else {
        *out = json_array();
        int r;
        while ((r = yj_step(st, err)) == 1)
            json_array_append_new(*out, row_json(st));
        yj_stmt_done(st);
        if (r < 0)
            rc = yj_fail(err);
    }
    size_t i;
    json_t *g;
    json_array_foreach(names &&rc == YJ_OK ? *out : NULL, i, g) {
        st = yj_prepare(c,
                        "SELECT u.username FROM alarm_group_member m JOIN users u"
                        " ON u.id = m.user_id WHERE m.group_id = ? ORDER BY u.username",
                        err);
        if (st == NULL) {
            rc = yj_fail(err);
            break;
        }
        yj_bind_int(st, 1, json_integer_value(json_object_get(g, "id")));
        json_t *members = json_array();
        int r;
        while ((r = yj_step(st, err)) == 1)
            json_array_append_new(members, json_string(yj_col_text(st, 0)));
        yj_stmt_done(st);
        json_object_set_new(g, "members", members);
        if (r < 0)
            rc = yj_fail(err);
    }
    yj_store_release(s, c);
    if (rc != YJ_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* Body: name, region_code (in the caller's region), min_level 1..4, kinds
 * (rule kinds, comma-separated, "" = all), industries ("" = all), members
 * (usernames, each inside the group's region). */
yj_code alarm_group_create(yj_store *s, const yj_user *u, const json_t *in, json_t **out,
                           yj_err *err)
{
    *out = NULL;
    const char *region = json_string_value(json_object_get(in, "region_code"));
    yj_scope sc = user_scope(u);
    if (region == NULL || !yj_scope_contains(&sc, region))
        return yj_err_set(err, YJ_EINVAL, "region_code", "region_code 必填且须在您的辖区内");
    json_t *ml = json_object_get(in, "min_level");
    json_t *members = json_object_get(in, "members");
    if (!json_is_array(members) || json_array_size(members) == 0 || json_array_size(members) > 200)
        return yj_err_set(err, YJ_EINVAL, "members", "members 应为 1–200 个用户名");
    const char *kinds = json_string_value(json_object_get(in, "kinds"));
    if (kinds && kinds[0]) {
        char buf[96];
        snprintf(buf, sizeof buf, "%s", kinds);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
            if (mon_rule_kind_parse(t) < 0)
                return yj_err_set(err, YJ_EINVAL, "kinds", "未知的规则类型 %s", t);
    }
    int64_t users[200];
    size_t nusers = 0;
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = yj_tx_begin(c, err);
    size_t i;
    json_t *m;
    json_array_foreach(members, i, m) {
        if (rc != YJ_OK)
            break;
        const char *name = json_string_value(m);
        yj_stmt *st = yj_prepare(c, "SELECT id, region_code FROM users WHERE username = ?", err);
        if (st == NULL) {
            rc = yj_fail(err);
            break;
        }
        yj_bind_text(st, 1, name ? name : "");
        int r = yj_step(st, err);
        /* a member must be able to see the group's alarms */
        if (r == 1 && yj_region_within(region, yj_col_text(st, 1)))
            users[nusers++] = yj_col_int(st, 0);
        else if (r >= 0)
            rc = yj_err_set(err, YJ_EINVAL, "members", "用户 %s 不存在或其辖区不包含 %s",
                            name ? name : "?", region);
        else
            rc = yj_fail(err);
        yj_stmt_done(st);
    }
    int64_t id = 0;
    if (rc == YJ_OK)
        rc = alarm_group_create_in(c, json_string_value(json_object_get(in, "name")), region,
                                   ml ? (int)json_integer_value(ml) : 4, kinds,
                                   json_string_value(json_object_get(in, "industries")), users,
                                   nusers, &id, err);
    json_t *after = NULL;
    if (rc == YJ_OK) {
        after = json_deep_copy(in);
        json_object_set_new(after, "id", json_integer(id));
        rc = audit_append(c, u->username, "create", "alarm_group", id, NULL, after, err);
    }
    if (rc == YJ_OK)
        rc = mon_config_changed(c, err);
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    yj_store_release(s, c);
    if (rc == YJ_OK) {
        mon_reload();
        *out = after;
    } else {
        json_decref(after);
    }
    return rc;
}
