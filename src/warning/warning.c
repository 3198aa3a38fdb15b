/*
 * warning.c — warnings (预警信息) and their workflow.
 *
 * A warning is composed as a draft, submitted, approved by someone the
 * approval table allows for its level (never the person who submitted it),
 * and published: publishing turns it into a CAP 1.2 message that follows
 * GB/T 35965.1 (identifier ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N, sender = the
 * issuing unit's code from its region, Beijing time), checked by cap.c
 * before it is stored.  A published warning can be updated (a new draft
 * that references it goes through the same steps; publishing it marks the
 * old one "updated") or cancelled (a CAP Cancel message, at once, by an
 * approver of its level).  Published warnings expire at their expiry time.
 * Every step is a row in warning_event (the timeline) and an audit entry.
 *
 * Warnings from other agencies arrive as CAP messages (warning_import):
 * they are checked the same way and kept as received warnings; their
 * updates and cancels are applied to the warnings they reference.
 *
 * Scope: a user sees warnings of their region's subtree and those issued
 * above it (a city warning concerns its counties); writes need the
 * warning's region inside the user's.
 */
#include "warning.h"
#include "cap.h"
#include "channels.h"
#include "deliver.h"
#include "target.h"
#include "../base/module.h"
#include "../base/outbox.h"
#include "../core/dirwatch.h"
#include "../core/events.h"
#include "../core/util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static warning_config cfg = {"000", "000", "00"};

void warning_configure(const warning_config *c)
{
    if (c)
        cfg = *c;
}

/* ---- levels and the approval table ------------------------------------------------ */

static const struct {
    const char *name, *label, *severity, *urgency;
} levels[5] = {
    {"", "", "Unknown", "Unknown"},
    {"red", "一级（红色）", "Extreme", "Immediate"},
    {"orange", "二级（橙色）", "Severe", "Immediate"},
    {"yellow", "三级（黄色）", "Moderate", "Expected"},
    {"blue", "四级（蓝色）", "Minor", "Expected"},
};

const char *warning_level_name(int level)
{
    return level >= 1 && level <= 4 ? levels[level].name : "";
}

const char *warning_level_label(int level)
{
    return level >= 1 && level <= 4 ? levels[level].label : "";
}

const char *warning_level_severity(int level)
{
    return level >= 1 && level <= 4 ? levels[level].severity : "Unknown";
}

/* Who may approve (and cancel) a warning of each level: the role, and the
 * deepest region level the approver may sit at (2 = province, 4 = city,
 * 6 = county, 9 = township).  Red needs the city's commander, orange a
 * county commander or above, yellow any commander, blue a commander or a
 * duty officer.  The approver's region must contain the warning's. */
static const struct {
    int level;
    yj_role role;
    size_t max_region_len;
} approvers[] = {
    {1, YJ_ROLE_COMMANDER, 4}, {2, YJ_ROLE_COMMANDER, 6}, {3, YJ_ROLE_COMMANDER, 9},
    {4, YJ_ROLE_COMMANDER, 9}, {4, YJ_ROLE_DUTY, 9},
};

bool warning_may_approve(const yj_user *u, int level, const char *region, yj_err *err)
{
    size_t rl = strlen(u->region);
    if (!yj_region_within(region, u->region)) {
        yj_err_set(err, YJ_EFORBIDDEN, NULL, "预警发布区域 %s 不在您的辖区 %s 内", region,
                   u->region);
        return false;
    }
    for (size_t i = 0; i < sizeof approvers / sizeof approvers[0]; i++)
        if (approvers[i].level == level && approvers[i].role == u->role &&
            rl <= approvers[i].max_region_len)
            return true;
    const char *who = level == 1   ? "市级指挥长"
                      : level == 2 ? "县级以上指挥长"
                      : level == 3 ? "指挥长"
                                   : "指挥长或值班员";
    yj_err_set(err, YJ_EFORBIDDEN, NULL, "%s预警须由%s审批", warning_level_label(level), who);
    return false;
}

/* ---- small helpers ------------------------------------------------------------------- */

static const char *text_arg(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v && v[0] ? v : NULL;
}

static yj_code step_done(yj_stmt *st, yj_err *err)
{
    int r = yj_step(st, err);
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

/* The region code of GB/T 2260 for a user or warning region: 6 digits. */
static void region6(const char *region, char out[7])
{
    size_t n = strlen(region);
    for (size_t i = 0; i < 6; i++)
        out[i] = i < n ? region[i] : '0';
    out[6] = '\0';
}

static void region_name(yj_conn *c, const char *code, char *out, size_t n)
{
    snprintf(out, n, "%s", code);
    yj_stmt *st = yj_prepare(c, "SELECT name FROM region WHERE code = ?", NULL);
    if (st == NULL)
        return;
    yj_bind_text(st, 1, code);
    if (yj_step(st, NULL) == 1)
        snprintf(out, n, "%s", yj_col_text(st, 0));
    yj_stmt_done(st);
}

/* A timeline row outside a step (created, received). */
static yj_code add_event(yj_conn *c, int64_t id, int64_t now, const char *actor, const char *action,
                         const char *note, yj_err *err)
{
    return wf_timeline(c, &warning_workflow, id, now, actor, action, note, err);
}

/* ---- areas ------------------------------------------------------------------------------ */

/* Check and normalise an area {regions, polygons, circles}: regions known
 * and inside `scope`, polygons closed (closed here if the caller did not)
 * with >= 4 points, circles with a radius in (0, 500] km.  The area_desc
 * default names the regions. */
static yj_code area_check(yj_conn *c, const char *scope, const json_t *in, json_t **out, char *desc,
                          size_t ndesc, yj_err *err)
{
    *out = NULL;
    if (!json_is_object(in))
        return yj_err_set(err, YJ_EINVAL, "area",
                          "area 应为对象：{regions: [区划代码], polygons: [[[纬度,经度],...]], "
                          "circles: [[纬度,经度,半径公里]]}");
    json_t *regions = json_object_get(in, "regions"), *polys = json_object_get(in, "polygons"),
           *circles = json_object_get(in, "circles");
    if ((regions && !json_is_array(regions)) || (polys && !json_is_array(polys)) ||
        (circles && !json_is_array(circles)))
        return yj_err_set(err, YJ_EINVAL, "area", "regions、polygons、circles 均应为数组");
    if (json_array_size(regions) + json_array_size(polys) + json_array_size(circles) == 0)
        return yj_err_set(err, YJ_EINVAL, "area", "预警区域不能为空：请选择区划或绘制范围");
    if (json_array_size(regions) > 500 || json_array_size(polys) > 50 ||
        json_array_size(circles) > 50)
        return yj_err_set(err, YJ_EINVAL, "area", "预警区域的区划、多边形或圆过多");
    json_t *o = json_pack("{s:[],s:[],s:[]}", "regions", "polygons", "circles");
    size_t i;
    json_t *v;
    yj_buf names;
    yj_buf_init(&names);
    json_array_foreach(regions, i, v) {
        const char *code = json_string_value(v);
        char name[96] = "";
        yj_code rc = YJ_OK;
        if (code == NULL || !yj_region_within(code, scope))
            rc = yj_err_set(err, YJ_EINVAL, "area", "区划 %s 不在您的辖区内",
                            code ? code : "(非字符串)");
        if (rc == YJ_OK) {
            yj_stmt *st = yj_prepare(c, "SELECT name FROM region WHERE code = ?", err);
            if (st == NULL)
                rc = yj_fail(err);
            else {
                yj_bind_text(st, 1, code);
                int r = yj_step(st, err);
                if (r == 1)
                    snprintf(name, sizeof name, "%s", yj_col_text(st, 0));
                yj_stmt_done(st);
                if (r < 0)
                    rc = yj_fail(err);
                else if (r == 0)
                    rc = yj_err_set(err, YJ_EINVAL, "area", "区划代码 %s 不存在", code);
            }
        }
        if (rc != YJ_OK) {
            json_decref(o);
            yj_buf_free(&names);
            return rc;
        }
        json_array_append_new(json_object_get(o, "regions"), json_string(code));
        if (names.len < 300)
            yj_buf_printf(&names, "%s%s", names.len ? "、" : "", name);
    }
    json_array_foreach(polys, i, v) {
        size_t n = json_array_size(v);
        if (!json_is_array(v) || n < 3 || n > 10000) {
            json_decref(o);
            yj_buf_free(&names);
            return yj_err_set(err, YJ_EINVAL, "area", "第 %zu 个多边形应有 3–10000 个点", i + 1);
        }
        json_t *ring = json_array();
        for (size_t k = 0; k < n; k++) {
            json_t *p = json_array_get(v, k);
            double lat = json_number_value(json_array_get(p, 0)),
                   lon = json_number_value(json_array_get(p, 1));
            if (!json_is_array(p) || json_array_size(p) != 2 ||
                !json_is_number(json_array_get(p, 0)) || !json_is_number(json_array_get(p, 1)) ||
                lat < -90 || lat > 90 || lon < -180 || lon > 180) {
                json_decref(ring);
                json_decref(o);
                yj_buf_free(&names);
                return yj_err_set(err, YJ_EINVAL, "area",
                                  "第 %zu 个多边形的第 %zu 个点应为 [纬度, 经度]", i + 1, k + 1);
            }
            json_array_append_new(ring, json_pack("[f,f]", lat, lon));
        }
        json_t *first = json_array_get(ring, 0), *last = json_array_get(ring, n - 1);
        if (!json_equal(first, last))
            json_array_append(ring, first); /* close it */
        if (json_array_size(ring) < 4) {
            json_decref(ring);
            json_decref(o);
            yj_buf_free(&names);
            return yj_err_set(err, YJ_EINVAL, "area", "第 %zu 个多边形至少要有 3 个不同的点",
                              i + 1);
        }
        json_array_append_new(json_object_get(o, "polygons"), ring);
    }
    json_array_foreach(circles, i, v) {
        double lat = json_number_value(json_array_get(v, 0)),
               lon = json_number_value(json_array_get(v, 1)),
               r = json_number_value(json_array_get(v, 2));
        if (!json_is_array(v) || json_array_size(v) != 3 || !json_is_number(json_array_get(v, 0)) ||
            !json_is_number(json_array_get(v, 1)) || !json_is_number(json_array_get(v, 2)) ||
            lat < -90 || lat > 90 || lon < -180 || lon > 180 || !(r > 0) || r > 500) {
            json_decref(o);
            yj_buf_free(&names);
            return yj_err_set(err, YJ_EINVAL, "area",
                              "第 %zu 个圆应为 [纬度, 经度, 半径公里]（半径 0–500）", i + 1);
        }
        json_array_append_new(json_object_get(o, "circles"), json_pack("[f,f,f]", lat, lon, r));
    }
    snprintf(desc, ndesc, "%s", names.len ? names.data : "绘制的预警范围");
    yj_buf_free(&names);
    *out = o;
    return YJ_OK;
}

/* ---- loading -------------------------------------------------------------------------- */

#define WARNING_COLS                                                                               \
    "id, identifier, sender, sender_name, sent, source, origin, msg_type, state, event_type,"      \
    " category, level, urgency, certainty, headline, description, instruction, area_desc, area,"   \
    " region_code, effective, expires, references_id, superseded_by, alarm_id,"                    \
    " created_at, created_by, submitted_at, submitted_by, approved_at, approved_by,"               \
    " published_at, published_by, ended_at, ended_by, end_reason, version,"                        \
    " cap_xml IS NOT NULL AS has_cap"

/* Read scope: the user's subtree, and warnings issued above their region
 * once they are out (a city's published warning concerns its counties; its
 * drafts do not).  Warnings are public information: enterprise users read
 * those of their region like anybody there. */
const yj_scope_cols warning_read_scope = {
    .region = "region_code",
    .unowned_visible = true,
    .above = "state IN ('published', 'updated', 'cancelled', 'expired')",
};

static json_t *warning_row(yj_stmt *st)
{
    json_t *o = yj_row_json(st);
    const char *area = json_string_value(json_object_get(o, "area"));
    json_t *a = area ? json_loads(area, 0, NULL) : NULL;
    json_object_set_new(o, "area", a ? a : json_object());
    int level = (int)json_integer_value(json_object_get(o, "level"));
    json_object_set_new(o, "level_name", json_string(warning_level_name(level)));
    json_object_set_new(o, "level_label", json_string(warning_level_label(level)));
    json_object_set_new(o, "has_cap",
                        json_boolean(json_integer_value(json_object_get(o, "has_cap"))));
    return o;
}

/* One warning in the caller's read scope (u NULL: any). */
static yj_code load(yj_conn *c, const yj_user *u, int64_t id, json_t **out, yj_err *err)
{
    *out = NULL;
    yj_sql sql;
    yj_sql_init(&sql, "SELECT " WARNING_COLS " FROM warning WHERE");
    yj_sql_int(&sql, " id = ?", id);
    if (u) {
        yj_scope sc = user_scope(u);
        yj_sql_scope(&sql, &sc, &warning_read_scope);
    }
    yj_stmt *st = yj_sql_prepare(c, &sql, err);
    yj_sql_free(&sql);
    if (st == NULL)
        return yj_fail(err);
    int r = yj_step(st, err);
    if (r == 1)
        *out = warning_row(st);
    yj_stmt_done(st);
    if (r < 0)
        return yj_fail(err);
    if (r == 0)
        return yj_err_set(err, YJ_ENOTFOUND, NULL, "预警 %lld 不存在或不在您的权限范围内",
                          (long long)id);
    return YJ_OK;
}

static yj_code attach_timeline(yj_conn *c, json_t *w, yj_err *err)
{
    yj_stmt *st =
        yj_prepare(c,
                   "SELECT ts, actor, action, note FROM warning_event WHERE warning_id = ?"
                   " ORDER BY id",
                   err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_int(st, 1, json_integer_value(json_object_get(w, "id")));
    json_t *tl = json_array();
    int r;
    while ((r = yj_step(st, err)) == 1)
        json_array_append_new(tl, yj_row_json(st));
    yj_stmt_done(st);
    json_object_set_new(w, "timeline", tl);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

/* The timeline added to a record answered by the engine (freed on error). */
static yj_code attach_timeline_to(yj_store *s, json_t *w, yj_err *err)
{
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = attach_timeline(c, w, err);
    yj_store_release(s, c);
    return rc;
}

yj_code warning_list(yj_store *s, const yj_user *u, const warning_query *q, json_t **out,
                     yj_err *err)
{
    *out = NULL;
    int limit = q && q->limit > 0 && q->limit <= 500 ? q->limit : 50;
    yj_conn *c = yj_store_acquire(s);
    yj_scope sc = user_scope(u);
    yj_sql sql;
    yj_sql_init(&sql, "SELECT " WARNING_COLS ", COUNT(*) OVER () AS total FROM warning WHERE 1=1");
    yj_sql_scope(&sql, &sc, &warning_read_scope);
    if (q && q->state)
        yj_sql_text(&sql, " AND state = ?", q->state);
    if (q && q->active)
        yj_sql_int(&sql, " AND state = 'published' AND msg_type <> 'Cancel' AND expires > ?",
                   yj_clock_now());
    yj_sql_int(&sql, " ORDER BY id DESC LIMIT ?", limit);
    yj_sql_int(&sql, " OFFSET ?", q ? q->offset : 0);
    yj_stmt *st = yj_sql_prepare(c, &sql, err);
    yj_sql_free(&sql);
    yj_code rc = YJ_OK;
    if (st == NULL)
        rc = yj_fail(err);
    else {
        json_t *items = json_array();
        int64_t total = 0;
        int r;
        while ((r = yj_step(st, err)) == 1) {
            json_t *w = warning_row(st);
            total = json_integer_value(json_object_get(w, "total"));
            json_object_del(w, "total");
            json_array_append_new(items, w);
        }
        yj_stmt_done(st);
        if (r < 0) {
            json_decref(items);
            rc = yj_fail(err);
        } else {
            *out = json_pack("{s:o,s:I}", "items", items, "total", (json_int_t)total);
        }
    }
    yj_store_release(s, c);
    return rc;
}

static void attach_actions(yj_conn *c, const yj_user *u, json_t *w)
{
    json_object_set_new(w, "actions", wf_actions(c, &warning_workflow, u, w));
}

yj_code warning_get(yj_store *s, const yj_user *u, int64_t id, json_t **out, yj_err *err)
{
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = load(c, u, id, out, err);
    if (rc == YJ_OK)
        rc = attach_timeline(c, *out, err);
    if (rc == YJ_OK)
        attach_actions(c, u, *out);
    yj_store_release(s, c);
    if (rc != YJ_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- content ------------------------------------------------------------------------ */

static const char *const categories[] = {"Geo",       "Met",   "Safety", "Security",
                                         "Rescue",    "Fire",  "Health", "Env",
                                         "Transport", "Infra", "CBRNE",  "Other"};

typedef struct {
    const char *event_type, *category, *headline, *description, *instruction, *area_desc;
    const char *urgency, *certainty;
    int level;
    int64_t effective, expires;
    json_t *area; /* normalised (owned) */
    char area_desc_default[400];
} content;

/* Check a draft's content; `scope` bounds the regions of its area. */
static yj_code content_check(yj_conn *c, const char *scope, const json_t *in, content *ct,
                             yj_err *err)
{
    memset(ct, 0, sizeof *ct);
    if (!json_is_object(in))
        return yj_err_set(err, YJ_EINVAL, NULL, "请求体应为 JSON 对象");
    static const char *const known[] = {"event_type",  "category",    "level",   "headline",
                                        "description", "instruction", "area",    "area_desc",
                                        "effective",   "expires",     "urgency", "certainty"};
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)in, k, v) {
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            ok = ok || strcmp(k, known[i]) == 0;
        if (!ok)
            return yj_err_set(err, YJ_EINVAL, k, "未知字段 %s", k);
    }
    ct->event_type = text_arg(in, "event_type");
    ct->category = text_arg(in, "category");
    ct->headline = text_arg(in, "headline");
    ct->description = text_arg(in, "description");
    ct->instruction = text_arg(in, "instruction");
    ct->area_desc = text_arg(in, "area_desc");
    ct->urgency = text_arg(in, "urgency");
    ct->certainty = text_arg(in, "certainty");
    json_t *lv = json_object_get(in, "level");
    ct->level = json_is_integer(lv) ? (int)json_integer_value(lv) : 0;
    if (ct->event_type == NULL || strlen(ct->event_type) > 60)
        return yj_err_set(err, YJ_EINVAL, "event_type",
                          "事件类型 event_type 必填（不超过 60 字节）");
    if (ct->category == NULL)
        ct->category = "Other";
    bool cat_ok = false;
    for (size_t i = 0; i < sizeof categories / sizeof categories[0]; i++)
        cat_ok = cat_ok || strcmp(ct->category, categories[i]) == 0;
    if (!cat_ok)
        return yj_err_set(err, YJ_EINVAL, "category",
                          "category 应为 CAP 类别之一：Geo、Met、Safety、Security、Rescue、Fire、"
                          "Health、Env、Transport、Infra、CBRNE、Other");
    if (ct->level < 1 || ct->level > 4)
        return yj_err_set(err, YJ_EINVAL, "level", "预警级别 level 应为 1（红色）到 4（蓝色）");
    if (ct->headline == NULL || strlen(ct->headline) > 240)
        return yj_err_set(err, YJ_EINVAL, "headline", "标题 headline 必填（不超过 240 字节）");
    if (ct->description == NULL || strlen(ct->description) > 8000)
        return yj_err_set(err, YJ_EINVAL, "description",
                          "预警内容 description 必填（不超过 8000 字节）");
    if (ct->instruction && strlen(ct->instruction) > 4000)
        return yj_err_set(err, YJ_EINVAL, "instruction", "防御指引 instruction 不超过 4000 字节");
    static const char *const urg[] = {"Immediate", "Expected", "Future", "Past", "Unknown"};
    static const char *const cer[] = {"Observed", "Likely", "Possible", "Unlikely", "Unknown"};
    bool u_ok = ct->urgency == NULL, c_ok = ct->certainty == NULL;
    for (size_t i = 0; i < 5; i++) {
        u_ok = u_ok || strcmp(ct->urgency, urg[i]) == 0;
        c_ok = c_ok || strcmp(ct->certainty, cer[i]) == 0;
    }
    if (!u_ok)
        return yj_err_set(err, YJ_EINVAL, "urgency",
                          "urgency 应为 Immediate、Expected、Future、Past 或 Unknown");
    if (!c_ok)
        return yj_err_set(err, YJ_EINVAL, "certainty",
                          "certainty 应为 Observed、Likely、Possible、Unlikely 或 Unknown");
    if (ct->urgency == NULL)
        ct->urgency = levels[ct->level].urgency;
    if (ct->certainty == NULL)
        ct->certainty = "Likely";
    /* plain text only: what CAP allows, and what SMS and loudspeakers read */
    const struct {
        const char *field, *v;
    } texts[] = {{"headline", ct->headline},
                 {"description", ct->description},
                 {"instruction", ct->instruction},
                 {"event_type", ct->event_type},
                 {"area_desc", ct->area_desc}};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        for (const char *p = texts[i].v ? strchr(texts[i].v, '<') : NULL; p; p = strchr(p + 1, '<'))
            if (isalpha((unsigned char)p[1]) || p[1] == '/' || p[1] == '!')
                return yj_err_set(err, YJ_EINVAL, texts[i].field, "只能是纯文本，不能含 HTML 标记");
    json_t *ex = json_object_get(in, "expires"), *ef = json_object_get(in, "effective");
    if (!json_is_integer(ex))
        return yj_err_set(err, YJ_EINVAL, "expires", "失效时间 expires 必填（毫秒时间戳）");
    ct->expires = json_integer_value(ex);
    if (ef && !json_is_null(ef)) {
        if (!json_is_integer(ef))
            return yj_err_set(err, YJ_EINVAL, "effective", "生效时间 effective 应为毫秒时间戳");
        ct->effective = json_integer_value(ef);
        if (ct->expires <= ct->effective)
            return yj_err_set(err, YJ_EINVAL, "expires", "失效时间应晚于生效时间");
    }
    return area_check(c, scope, json_object_get(in, "area"), &ct->area, ct->area_desc_default,
                      sizeof ct->area_desc_default, err);
}

static void bind_content(yj_stmt *st, int *i, const content *ct)
{
    char *area = json_dumps(ct->area, JSON_COMPACT);
    yj_bind_text(st, (*i)++, ct->event_type);
    yj_bind_text(st, (*i)++, ct->category);
    yj_bind_int(st, (*i)++, ct->level);
    yj_bind_text(st, (*i)++, ct->urgency);
    yj_bind_text(st, (*i)++, ct->certainty);
    yj_bind_text(st, (*i)++, ct->headline);
    yj_bind_text(st, (*i)++, ct->description);
    yj_bind_text(st, (*i)++, ct->instruction);
    yj_bind_text(st, (*i)++, ct->area_desc ? ct->area_desc : ct->area_desc_default);
    yj_bind_text(st, (*i)++, area);
    if (ct->effective)
        yj_bind_int(st, (*i)++, ct->effective);
    else
        yj_bind_null(st, (*i)++);
    yj_bind_int(st, (*i)++, ct->expires);
    free(area);
}

/* Insert a draft; region is the issuer's. */
static yj_code insert_draft(yj_conn *c, const char *actor, const content *ct, const char *region,
                            const char *msg_type, int64_t references_id, int64_t alarm_id,
                            int64_t now, int64_t *id_out, yj_err *err)
{
    yj_stmt *st = yj_prepare(
        c,
        "INSERT INTO warning (source, msg_type, state, event_type, category, level, urgency,"
        " certainty, headline, description, instruction, area_desc, area, effective, expires,"
        " region_code, references_id, alarm_id, created_at, created_by)"
        " VALUES ('local', ?, 'draft', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " RETURNING id",
        err);
    if (st == NULL)
        return yj_fail(err);
    int i = 1;
    yj_bind_text(st, i++, msg_type);
    bind_content(st, &i, ct);
    yj_bind_text(st, i++, region);
    if (references_id)
        yj_bind_int(st, i++, references_id);
    else
        yj_bind_null(st, i++);
    if (alarm_id)
        yj_bind_int(st, i++, alarm_id);
    else
        yj_bind_null(st, i++);
    yj_bind_int(st, i++, now);
    yj_bind_text(st, i++, actor);
    int r = yj_step(st, err);
    *id_out = r == 1 ? yj_col_int(st, 0) : 0;
    yj_stmt_done(st);
    return r == 1 ? YJ_OK : yj_fail(err);
}

static yj_code finish_write(yj_store *s, yj_conn *c, const yj_user *u, yj_code rc, int64_t id,
                            json_t **out, yj_err *err)
{
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    if (rc == YJ_OK && out) {
        rc = load(c, u, id, out, err);
        if (rc == YJ_OK)
            rc = attach_timeline(c, *out, err);
        if (rc == YJ_OK)
            attach_actions(c, u, *out);
    }
    yj_store_release(s, c);
    return rc;
}

/* A new warning row's audit entry: the record as stored. */
static yj_code audit_created(yj_conn *c, const char *actor, const char *action, int64_t id,
                             yj_err *err)
{
    json_t *w = NULL;
    yj_code rc = load(c, NULL, id, &w, err);
    if (rc == YJ_OK)
        rc = audit_append(c, actor, action, "warning", id, NULL, w, err);
    json_decref(w);
    return rc;
}

static bool may_write(const yj_user *u, yj_err *err)
{
    if (perm_allowed(u->role, "warning", YJ_ACT_WRITE))
        return true;
    yj_err_set(err, YJ_EFORBIDDEN, NULL, "角色 %s 不能编制或发布预警", role_label(u->role));
    return false;
}

yj_code warning_create(yj_store *s, const yj_user *u, const json_t *in, json_t **out, yj_err *err)
{
    *out = NULL;
    if (!may_write(u, err))
        return YJ_EFORBIDDEN;
    yj_conn *c = yj_store_acquire(s);
    content ct;
    yj_code rc = content_check(c, u->region, in, &ct, err);
    int64_t id = 0, now = yj_clock_now();
    if (rc == YJ_OK)
        rc = yj_tx_begin(c, err);
    else {
        json_decref(ct.area);
        yj_store_release(s, c);
        return rc;
    }
    if (rc == YJ_OK)
        rc = insert_draft(c, u->username, &ct, u->region, "Alert", 0, 0, now, &id, err);
    if (rc == YJ_OK)
        rc = add_event(c, id, now, u->username, "created", NULL, err);
    if (rc == YJ_OK)
        rc = audit_created(c, u->username, "create", id, err);
    json_decref(ct.area);
    return finish_write(s, c, u, rc, id, out, err);
}

/* A draft's content replaced (the "edit" step's effect; body: the content). */
static yj_code edit_effect(yj_wf_ctx *x, yj_err *err)
{
    content ct;
    yj_code rc = content_check(
        x->conn, json_string_value(json_object_get(x->before, "region_code")), x->body, &ct, err);
    if (rc == YJ_OK) {
        yj_stmt *st = yj_prepare(x->conn,
                                 "UPDATE warning SET event_type = ?, category = ?, level = ?,"
                                 " urgency = ?, certainty = ?, headline = ?, description = ?,"
                                 " instruction = ?, area_desc = ?, area = ?, effective = ?,"
                                 " expires = ? WHERE id = ?",
                                 err);
        if (st == NULL)
            rc = yj_fail(err);
        else {
            int i = 1;
            bind_content(st, &i, &ct);
            yj_bind_int(st, i++, x->id);
            rc = step_done(st, err);
        }
    }
    json_decref(ct.area);
    return rc;
}

yj_code warning_update_draft(yj_store *s, const yj_user *u, int64_t id, int64_t if_match,
                             const json_t *in, json_t **out, yj_err *err)
{
    *out = NULL;
    if (!may_write(u, err))
        return YJ_EFORBIDDEN;
    yj_code rc = wf_edit(s, &warning_workflow, u, id, "edit", if_match, in, out, err);
    if (rc == YJ_OK)
        rc = attach_timeline_to(s, *out, err);
    return rc;
}

/* ---- publishing: the CAP message ----------------------------------------------------- */

/* The issuing unit's 14-digit code: region (6) + agency (3) + unit (3) + ext (2). */
static void sender_code(const char *region, char out[15])
{
    char r6[7];
    region6(region, r6);
    snprintf(out, 15, "%s%.3s%.3s%.2s", r6, cfg.agency, cfg.unit, cfg.ext);
}

static void area_to_cap(cap_alert *a, const json_t *area, cap_area *ar)
{
    json_t *polys = json_object_get(area, "polygons"), *circles = json_object_get(area, "circles"),
           *regions = json_object_get(area, "regions");
    ar->npolygons = json_array_size(polys);
    ar->polygons = ar->npolygons ? cap_alloc(a, ar->npolygons * sizeof *ar->polygons) : NULL;
    for (size_t i = 0; i < ar->npolygons; i++) {
        json_t *ring = json_array_get(polys, i);
        ar->polygons[i].n = json_array_size(ring);
        ar->polygons[i].pts = cap_alloc(a, ar->polygons[i].n * sizeof *ar->polygons[i].pts);
        for (size_t k = 0; k < ar->polygons[i].n; k++) {
            ar->polygons[i].pts[k][0] =
                json_number_value(json_array_get(json_array_get(ring, k), 0));
            ar->polygons[i].pts[k][1] =
                json_number_value(json_array_get(json_array_get(ring, k), 1));
        }
    }
    ar->ncircles = json_array_size(circles);
    ar->circles = ar->ncircles ? cap_alloc(a, ar->ncircles * sizeof *ar->circles) : NULL;
    for (size_t i = 0; i < ar->ncircles; i++) {
        json_t *cc = json_array_get(circles, i);
        ar->circles[i] = (cap_circle){json_number_value(json_array_get(cc, 0)),
                                      json_number_value(json_array_get(cc, 1)),
                                      json_number_value(json_array_get(cc, 2))};
    }
    ar->ngeocodes = json_array_size(regions);
    ar->geocodes = ar->ngeocodes ? cap_alloc(a, ar->ngeocodes * sizeof *ar->geocodes) : NULL;
    for (size_t i = 0; i < ar->ngeocodes; i++) {
        ar->geocodes[i].name = cap_strdup(a, "GB/T 2260");
        ar->geocodes[i].value = cap_strdup(a, json_string_value(json_array_get(regions, i)));
    }
}

/* The CAP message of warning w published at `now` (ref: the warning it
 * updates or cancels, or NULL).  Picks the identifier's sequence number
 * among this unit's messages of the same second. */
static yj_code build_cap(yj_conn *c, const json_t *w, const json_t *ref, const char *msg_type,
                         int64_t now, char **xml, char *ident, char *sender, char *sent,
                         char *sender_name, size_t nname, yj_err *err)
{
    const char *region = json_string_value(json_object_get(w, "region_code"));
    sender_code(region, sender);
    int64_t t = now;
    int seq = 0;
    for (int tries = 0;; tries++) {
        char probe[32];
        cap_gbt_identifier(sender, t, 0, probe, sizeof probe);
        int64_t used = 0;
        yj_stmt *st =
            yj_prepare(c, "SELECT COUNT(*) FROM warning WHERE substr(identifier, 1, 29) = ?", err);
        if (st == NULL)
            return yj_fail(err);
        probe[29] = '\0';
        yj_bind_text(st, 1, probe);
        if (yj_step(st, err) == 1)
            used = yj_col_int(st, 0);
        yj_stmt_done(st);
        if (used < 10) {
            seq = (int)used;
            break;
        }
        if (tries > 60)
            return yj_err_set(err, YJ_EINTERNAL, NULL, "too many warnings from one unit");
        t += 1000; /* ten this second already: the next second's numbers */
    }
    cap_gbt_identifier(sender, t, seq, ident, 32);
    cap_time_beijing(t, sent, 32);
    /* the issuing bureau: the region's own name, a township's county's */
    char ncode[16], rname[96];
    snprintf(ncode, sizeof ncode, "%.6s", region);
    region_name(c, ncode, rname, sizeof rname);
    snprintf(sender_name, nname, "%s应急管理局", rname);

    cap_alert *a = cap_alert_new();
    a->identifier = cap_strdup(a, ident);
    a->sender = cap_strdup(a, sender);
    a->sent = cap_strdup(a, sent);
    a->status = cap_strdup(a, "Actual");
    a->msg_type = cap_strdup(a, msg_type);
    a->source = cap_strdup(a, "yingji 应急管理综合应用平台");
    a->scope = cap_strdup(a, "Public");
    a->ncodes = 1;
    a->codes = cap_alloc(a, sizeof *a->codes);
    a->codes[0] = cap_strdup(a, CAP_GBT_CODE);
    if (ref) {
        char r[200];
        snprintf(r, sizeof r, "%s,%s,%s", json_string_value(json_object_get(ref, "sender")),
                 json_string_value(json_object_get(ref, "identifier")),
                 json_string_value(json_object_get(ref, "sent")));
        a->references = cap_strdup(a, r);
    }
    a->ninfos = 1;
    a->infos = cap_alloc(a, sizeof *a->infos);
    cap_info *in = &a->infos[0];
    int level = (int)json_integer_value(json_object_get(w, "level"));
    in->language = cap_strdup(a, "zh-CN");
    in->ncategories = 1;
    in->categories = cap_alloc(a, sizeof(char *));
    in->categories[0] = cap_strdup(a, json_string_value(json_object_get(w, "category")));
    in->event = cap_strdup(a, json_string_value(json_object_get(w, "event_type")));
    in->urgency = cap_strdup(a, strcmp(msg_type, "Cancel") == 0
                                    ? "Past"
                                    : json_string_value(json_object_get(w, "urgency")));
    in->severity = cap_strdup(a, warning_level_severity(level));
    in->certainty = cap_strdup(a, json_string_value(json_object_get(w, "certainty")));
    char tbuf[32];
    json_t *eff = json_object_get(w, "effective");
    if (json_is_integer(eff)) {
        cap_time_beijing(json_integer_value(eff), tbuf, sizeof tbuf);
        in->effective = cap_strdup(a, tbuf);
    }
    cap_time_beijing(json_integer_value(json_object_get(w, "expires")), tbuf, sizeof tbuf);
    in->expires = cap_strdup(a, tbuf);
    in->sender_name = cap_strdup(a, sender_name);
    in->headline = cap_strdup(a, json_string_value(json_object_get(w, "headline")));
    in->description = cap_strdup(a, json_string_value(json_object_get(w, "description")));
    in->instruction = cap_strdup(a, json_string_value(json_object_get(w, "instruction")));
    in->nparameters = 1;
    in->parameters = cap_alloc(a, sizeof *in->parameters);
    in->parameters[0].name = cap_strdup(a, "预警级别");
    in->parameters[0].value = cap_strdup(a, warning_level_label(level));
    in->nareas = 1;
    in->areas = cap_alloc(a, sizeof *in->areas);
    in->areas[0].desc = cap_strdup(a, json_string_value(json_object_get(w, "area_desc")));
    area_to_cap(a, json_object_get(w, "area"), &in->areas[0]);
    /* what we send must pass what we demand of others */
    yj_err cerr;
    yj_err_clear(&cerr);
    if (cap_check(a, CAP_PROFILE_GBT35965, &cerr) != YJ_OK) {
        cap_alert_free(a);
        return yj_err_set(err, YJ_EINVAL, cerr.field, "预警不能生成合规的 CAP 消息：%s",
                          cerr.message);
    }
    yj_buf b;
    yj_buf_init(&b);
    cap_write(a, &b);
    cap_alert_free(a);
    *xml = yj_buf_steal(&b);
    return YJ_OK;
}

/* ---- the warning's life, as a table on the workflow engine ------------------------- */

/* The CAP message of warning id to MQTT subscribers (other systems,
 * displays), queued in the outbox with the step that publishes it and sent
 * once that commits (warning_act, and the dispatch timer after a crash). */
static yj_code queue_cap(yj_conn *c, int64_t id, const char *region, const char *xml, int64_t now,
                         yj_err *err)
{
    if (!chan_cap_available())
        return YJ_OK;
    char topic[64];
    snprintf(topic, sizeof topic, "yingji/v1/warnings/%.12s", region);
    outbox_msg m = {.module = "warning",
                    .channel = "cap",
                    .address = topic,
                    .ref_type = "warning",
                    .ref_id = id,
                    .payload = xml};
    return outbox_queue(c, &m, now, err);
}

yj_code warning_send_cap(yj_store *s, int64_t now, yj_err *err)
{
    int n = 0;
    return outbox_flush(s, "cap", chan_send_cap, now, &n, err);
}

/* Publish: the CAP message, the warning it replaces, and a delivery for
 * everyone it reaches — in the step's transaction, so published means
 * every recipient has a delivery. */
static yj_code publish_effect(yj_wf_ctx *x, yj_err *err)
{
    yj_conn *c = x->conn;
    const json_t *w = x->before;
    const char *msg_type = json_string_value(json_object_get(w, "msg_type"));
    if (json_integer_value(json_object_get(w, "expires")) <= x->now)
        return yj_err_set(err, YJ_EINVAL, "expires", "失效时间已过，不能发布");
    json_t *ref = NULL;
    int64_t ref_id = json_integer_value(json_object_get(w, "references_id"));
    /* the deliveries' turn before anything is audited: rounds and gateway
     * batches take the turn, then the audit head; the other order here
     * deadlocked with them on PostgreSQL */
    yj_code rc = yj_tx_turn(c, "delivery", err);
    if (rc == YJ_OK && ref_id) {
        rc = load(c, NULL, ref_id, &ref, err);
        if (rc == YJ_OK &&
            strcmp(json_string_value(json_object_get(ref, "state")), "published") != 0)
            rc = yj_err_set(err, YJ_ECONFLICT, "state", "所更新的预警已不在发布中（%s）",
                            wf_state_label(&warning_workflow,
                                           json_string_value(json_object_get(ref, "state"))));
    }
    char *xml = NULL;
    char ident[32], sender[15], sent[32], sname[128];
    if (rc == YJ_OK)
        rc = build_cap(c, w, ref, msg_type, x->now, &xml, ident, sender, sent, sname, sizeof sname,
                       err);
    if (rc == YJ_OK) {
        yj_stmt *st = yj_prepare(c,
                                 "UPDATE warning SET identifier = ?, sender = ?, sender_name = ?,"
                                 " sent = ?, cap_xml = ?, effective = COALESCE(effective, ?)"
                                 " WHERE id = ?",
                                 err);
        if (st == NULL)
            rc = yj_fail(err);
        else {
            yj_bind_text(st, 1, ident);
            yj_bind_text(st, 2, sender);
            yj_bind_text(st, 3, sname);
            yj_bind_text(st, 4, sent);
            yj_bind_text(st, 5, xml);
            yj_bind_int(st, 6, x->now);
            yj_bind_int(st, 7, x->id);
            rc = step_done(st, err);
        }
    }
    if (rc == YJ_OK)
        rc = queue_cap(c, x->id, json_string_value(json_object_get(w, "region_code")), xml, x->now,
                       err);
    if (rc == YJ_OK && ref_id) { /* the warning this one updates is replaced */
        json_t *by = json_pack("{s:I}", "by", (json_int_t)x->id);
        rc = wf_apply(c, &warning_workflow, x->actor, ref_id, "supersede", by, x->now, NULL, err);
        json_decref(by);
    }
    int64_t n = 0;
    if (rc == YJ_OK)
        rc = deliver_create(c, x->id, json_string_value(json_object_get(w, "region_code")),
                            json_object_get(w, "area"), x->now, &n, err);
    json_decref(ref);
    free(xml);
    return rc;
}

/* Ended by a newer message `by`: deliveries still under way stop. */
static yj_code end_by(yj_wf_ctx *x, const char *why, yj_err *err)
{
    yj_stmt *st = yj_prepare(x->conn, "UPDATE warning SET superseded_by = ? WHERE id = ?", err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_int(st, 1, json_integer_value(json_object_get(x->body, "by")));
    yj_bind_int(st, 2, x->id);
    yj_code rc = step_done(st, err);
    snprintf(x->note, sizeof x->note, "%s", why);
    return rc == YJ_OK ? deliver_stop(x->conn, x->id, why, x->now, err) : rc;
}

/* Replaced by a newer message (ours published, or the same agency's
 * Update received): body "by" is the newer warning. */
static yj_code supersede_effect(yj_wf_ctx *x, yj_err *err)
{
    char why[80];
    snprintf(why, sizeof why, "由预警 #%lld 更新",
             (long long)json_integer_value(json_object_get(x->body, "by")));
    return end_by(x, why, err);
}

/* Lifted by the same agency's Cancel message (received). */
static yj_code withdraw_effect(yj_wf_ctx *x, yj_err *err)
{
    char why[200];
    const char *ident = text_arg(x->body, "identifier");
    snprintf(why, sizeof why, "被解除：%s", ident ? ident : "");
    return end_by(x, why, err);
}

static yj_code expire_effect(yj_wf_ctx *x, yj_err *err)
{
    return deliver_stop(x->conn, x->id, "预警已过期", x->now, err);
}

/* The update step: a new draft with the same content, referencing this
 * one; it goes through the same steps and, once published, supersedes it.
 * The step answers with the new draft. */
static yj_code update_effect(yj_wf_ctx *x, yj_err *err)
{
    const json_t *w = x->before;
    content ct = {
        .event_type = json_string_value(json_object_get(w, "event_type")),
        .category = json_string_value(json_object_get(w, "category")),
        .headline = json_string_value(json_object_get(w, "headline")),
        .description = json_string_value(json_object_get(w, "description")),
        .instruction = json_string_value(json_object_get(w, "instruction")),
        .area_desc = json_string_value(json_object_get(w, "area_desc")),
        .urgency = json_string_value(json_object_get(w, "urgency")),
        .certainty = json_string_value(json_object_get(w, "certainty")),
        .level = (int)json_integer_value(json_object_get(w, "level")),
        .expires = json_integer_value(json_object_get(w, "expires")),
        .area = json_object_get(w, "area"),
    };
    int64_t nid = 0;
    yj_code rc = insert_draft(
        x->conn, x->actor, &ct, json_string_value(json_object_get(w, "region_code")), "Update",
        x->id, json_integer_value(json_object_get(w, "alarm_id")), x->now, &nid, err);
    char note[80];
    snprintf(note, sizeof note, "更新预警 #%lld", (long long)x->id);
    if (rc == YJ_OK)
        rc = add_event(x->conn, nid, x->now, x->actor, "created", note, err);
    if (rc == YJ_OK)
        rc = audit_created(x->conn, x->actor, "create", nid, err);
    x->answer_id = nid;
    if (x->note[0] == '\0')
        snprintf(x->note, sizeof x->note, "新草稿 #%lld", (long long)nid);
    return rc;
}

/* Cancel: a Cancel message for the published warning, stored as its own
 * row and published at once; deliveries stopped and those reached told
 * the warning is lifted. */
static yj_code cancel_effect(yj_wf_ctx *x, yj_err *err)
{
    yj_conn *c = x->conn;
    const json_t *w = x->before;
    const char *reason = text_arg(x->body, "reason");
    const char *region = json_string_value(json_object_get(w, "region_code"));
    content ct = {
        .event_type = json_string_value(json_object_get(w, "event_type")),
        .category = json_string_value(json_object_get(w, "category")),
        .description = reason,
        .area_desc = json_string_value(json_object_get(w, "area_desc")),
        .urgency = "Past",
        .certainty = json_string_value(json_object_get(w, "certainty")),
        .level = (int)json_integer_value(json_object_get(w, "level")),
        .expires = json_integer_value(json_object_get(w, "expires")),
        .area = json_object_get(w, "area"),
    };
    char headline[300];
    snprintf(headline, sizeof headline, "解除：%s",
             json_string_value(json_object_get(w, "headline")));
    ct.headline = headline;
    if (ct.expires <= x->now)
        ct.expires = x->now + 3600000; /* a cancel message outlives the warning a little */
    int64_t cid = 0;
    /* the deliveries' turn first, as in publish_effect */
    yj_code rc = yj_tx_turn(c, "delivery", err);
    if (rc == YJ_OK)
        rc = insert_draft(c, x->actor, &ct, region, "Cancel", x->id, 0, x->now, &cid, err);
    json_t *cw = NULL;
    if (rc == YJ_OK)
        rc = load(c, NULL, cid, &cw, err);
    char *xml = NULL;
    char ident[32], sender[15], sent[32], sname[128];
    if (rc == YJ_OK)
        rc = build_cap(c, cw, w, "Cancel", x->now, &xml, ident, sender, sent, sname, sizeof sname,
                       err);
    if (rc == YJ_OK) {
        yj_stmt *st =
            yj_prepare(c,
                       "UPDATE warning SET state = 'published', identifier = ?, sender = ?,"
                       " sender_name = ?, sent = ?, cap_xml = ?, effective = ?,"
                       " approved_at = ?, approved_by = ?, published_at = ?,"
                       " published_by = ? WHERE id = ? AND state = 'draft'",
                       err);
        if (st == NULL)
            rc = yj_fail(err);
        else {
            yj_bind_text(st, 1, ident);
            yj_bind_text(st, 2, sender);
            yj_bind_text(st, 3, sname);
            yj_bind_text(st, 4, sent);
            yj_bind_text(st, 5, xml);
            yj_bind_int(st, 6, x->now);
            yj_bind_int(st, 7, x->now);
            yj_bind_text(st, 8, x->actor);
            yj_bind_int(st, 9, x->now);
            yj_bind_text(st, 10, x->actor);
            yj_bind_int(st, 11, cid);
            rc = step_done(st, err);
        }
    }
    if (rc == YJ_OK)
        rc = queue_cap(c, cid, region, xml, x->now, err);
    char note[300];
    snprintf(note, sizeof note, "解除预警 #%lld：%s", (long long)x->id, reason);
    if (rc == YJ_OK)
        rc = add_event(c, cid, x->now, x->actor, "published", note, err);
    if (rc == YJ_OK)
        rc = audit_created(c, x->actor, "create", cid, err);
    if (rc == YJ_OK)
        rc = deliver_stop(c, x->id, "预警已解除", x->now, err);
    int64_t notices = 0; /* those the warning reached are told it is lifted */
    if (rc == YJ_OK)
        rc = deliver_cancel_notices(c, x->id, cid, region, x->now, &notices, err);
    if (rc == YJ_OK) {
        yj_stmt *st = yj_prepare(c,
                                 "UPDATE warning SET superseded_by = ?, end_reason = ?"
                                 " WHERE id = ?",
                                 err);
        if (st == NULL)
            rc = yj_fail(err);
        else {
            yj_bind_int(st, 1, cid);
            yj_bind_text(st, 2, reason);
            yj_bind_int(st, 3, x->id);
            rc = step_done(st, err);
        }
    }
    json_decref(cw);
    free(xml);
    return rc;
}

/* Ours to change: issued in the user's region or below (a county sees the
 * city's published warnings but cannot touch them), composed here (another
 * agency's warning is read-only), and not a Cancel message. */
static bool writable(const yj_wf_ctx *x, yj_err *err)
{
    const char *region = json_string_value(json_object_get(x->before, "region_code"));
    if (!yj_region_within(region, x->user->region)) {
        yj_err_set(err, YJ_EFORBIDDEN, NULL, "上级发布的预警，您只能查看");
        return false;
    }
    if (strcmp(json_string_value(json_object_get(x->before, "source")), "local") != 0) {
        yj_err_set(err, YJ_ECONFLICT, "source", "外部机构的预警只能查看（可据此新建本地预警）");
        return false;
    }
    if (strcmp(json_string_value(json_object_get(x->before, "msg_type")), "Cancel") == 0) {
        yj_err_set(err, YJ_ECONFLICT, "msg_type", "解除消息不能再操作");
        return false;
    }
    return true;
}

/* The approval table applies (approve, reject, cancel). */
static bool approver_guard(const yj_wf_ctx *x, yj_err *err)
{
    return warning_may_approve(x->user,
                               (int)json_integer_value(json_object_get(x->before, "level")),
                               json_string_value(json_object_get(x->before, "region_code")), err);
}

/* ... and never by the person who submitted it. */
static bool approve_guard(const yj_wf_ctx *x, yj_err *err)
{
    const char *by = json_string_value(json_object_get(x->before, "submitted_by"));
    if (by && strcmp(by, x->user->username) == 0) {
        yj_err_set(err, YJ_EFORBIDDEN, NULL, "审批须由提交人以外的人进行");
        return false;
    }
    return approver_guard(x, err);
}

static const yj_wf_state warning_states[] = {
    {"draft", "草稿"},     {"submitted", "待审批"}, {"approved", "已审批"}, {"published", "已发布"},
    {"updated", "已更新"}, {"cancelled", "已解除"}, {"expired", "已过期"},  {"received", "已接收"},
};

#define WRITERS (YJ_R(ADMIN) | YJ_R(DUTY) | YJ_R(COMMANDER))

/* 预警发布流程: composed, submitted, approved by someone the approval table
 * allows (not the submitter), published; then updated (a new draft that
 * goes the same way), cancelled by an approver, or expired. */
static const yj_wf_step warning_steps[] = {
    {"edit", "修改", YJ_WF_FROM("draft"), NULL, WRITERS, .effect = edit_effect, .event = "edited",
     .flags = YJ_WF_FORM},
    {"submit", "提交审批", YJ_WF_FROM("draft"), "submitted", WRITERS, .stamp = "submitted"},
    {"approve", "审批通过", YJ_WF_FROM("submitted"), "approved", WRITERS, .guard = approve_guard,
     .stamp = "approved"},
    {"reject", "退回", YJ_WF_FROM("submitted"), "draft", WRITERS, .needs = YJ_WF_NEEDS("reason"),
     .guard = approver_guard, .nullify = YJ_WF_NEEDS("submitted_at", "submitted_by"),
     .event = "rejected"},
    {"publish", "发布", YJ_WF_FROM("approved"), "published", WRITERS, .stamp = "published",
     .effect = publish_effect},
    {"update", "更新", YJ_WF_FROM("published"), NULL, WRITERS, .effect = update_effect,
     .event = "update_drafted"},
    {"cancel", "解除", YJ_WF_FROM("published"), "cancelled", WRITERS,
     .needs = YJ_WF_NEEDS("reason"), .guard = approver_guard, .stamp = "ended",
     .effect = cancel_effect},
    /* the platform's own steps */
    {"supersede", "被更新", YJ_WF_FROM("published"), "updated", 0, .stamp = "ended",
     .effect = supersede_effect, .flags = YJ_WF_SYSTEM},
    {"withdraw", "被解除", YJ_WF_FROM("published"), "cancelled", 0, .stamp = "ended",
     .effect = withdraw_effect, .flags = YJ_WF_SYSTEM},
    {"expire", "过期", YJ_WF_FROM("published"), "expired", 0, .stamp = "ended",
     .effect = expire_effect, .flags = YJ_WF_SYSTEM},
};

/* After commit: a hint to browsers showing warnings of that region. */
static void warning_published(const json_t *after, const char *action)
{
    json_t *ev = json_pack("{s:O,s:s,s:O}", "warning_id", json_object_get(after, "id"), "what",
                           action, "state", json_object_get(after, "state"));
    yj_events_publish("warning", json_string_value(json_object_get(after, "region_code")), ev);
    json_decref(ev);
}

const yj_workflow warning_workflow = {
    .name = "warning",
    .table = "warning",
    .timeline = "warning_event",
    .timeline_fk = "warning_id",
    YJ_LIST(states, warning_states),
    YJ_LIST(steps, warning_steps),
    .load = load,
    .writable = writable,
    .published = warning_published,
};

yj_code warning_act(yj_store *s, const yj_user *u, int64_t id, const char *action, int64_t if_match,
                    const json_t *in, json_t **out, yj_err *err)
{
    *out = NULL;
    if (!may_write(u, err))
        return YJ_EFORBIDDEN;
    yj_code rc = wf_act(s, &warning_workflow, u, id, action, if_match, in, out, err);
    if (rc == YJ_OK)
        rc = attach_timeline_to(s, *out, err);
    if (rc == YJ_OK && (strcmp(action, "publish") == 0 || strcmp(action, "cancel") == 0)) {
        /* the CAP message queued with the step: out now (a failure here is
         * the outbox's record; the warning is published either way) */
        yj_err e2;
        yj_err_clear(&e2);
        if (warning_send_cap(s, yj_clock_now(), &e2) != YJ_OK)
            yj_log(YJ_LOG_WARN, "warning.cap_send", "%s", e2.message);
    }
    return rc;
}

/* ---- from an alarm -------------------------------------------------------------------- */

static const struct {
    const char *kind, *category, *instruction;
} by_object[] = {
    {"煤矿", "Safety", "立即停止作业，切断相关区域电源，按避灾路线撤出井下人员，禁止人员入井。"},
    {"非煤矿山", "Safety", "立即停止作业，撤出危险区域人员，设置警戒。"},
    {"尾矿库", "Safety", "立即组织下游人员转移，禁止人员进入库区及下游危险区。"},
    {"危险化学品重大危险源", "CBRNE",
     "立即启动企业应急预案，疏散下风向人员，严禁明火，做好泄漏处置准备。"},
    {"粉尘涉爆车间", "Safety", "立即停止作业，撤出人员，严禁明火及产生火花的操作。"},
    {"雨量站", "Met", "注意防范强降雨引发的山洪、地质灾害和城乡积涝，危险区人员及时转移。"},
    {"河道水文站", "Met", "沿河人员远离河道，低洼地带人员做好转移准备。"},
    {"水库水位站", "Met", "水库下游人员做好转移准备，远离行洪区域。"},
    {"地质灾害隐患点", "Geo", "隐患点周边人员立即撤离至安全区域，禁止返回。"},
    {"森林防火监测点", "Fire", "严禁野外用火，林区人员注意避险，做好扑救准备。"},
    {"地震台站", "Geo", "注意防范地震及次生灾害，撤离危险建筑。"},
};

yj_code warning_from_alarm(yj_store *s, const yj_user *u, int64_t alarm_id, json_t **out,
                           yj_err *err)
{
    *out = NULL;
    if (!may_write(u, err))
        return YJ_EFORBIDDEN;
    static const yj_scope_cols alarm_scope = {.region = "a.region_code",
                                              .enterprise = "a.enterprise_id"};
    yj_scope sc = user_scope(u);
    yj_conn *c = yj_store_acquire(s);
    yj_sql sql;
    yj_sql_init(&sql,
                "SELECT a.title, a.level, a.region_code, a.last_value, a.peak, a.unit, a.raised_at,"
                " s.lat, s.lon, s.name, s.type, o.kind, o.name, o.lat, o.lon FROM alarm a"
                " JOIN sensor s ON s.id = a.sensor_id JOIN monitored_object o ON o.id = s.object_id"
                " WHERE");
    yj_sql_int(&sql, " a.id = ?", alarm_id);
    yj_sql_scope(&sql, &sc, &alarm_scope);
    yj_stmt *st = yj_sql_prepare(c, &sql, err);
    yj_sql_free(&sql);
    if (st == NULL) {
        yj_store_release(s, c);
        return yj_fail(err);
    }
    int r = yj_step(st, err);
    if (r != 1) {
        yj_stmt_done(st);
        yj_store_release(s, c);
        return r < 0 ? yj_fail(err)
                     : yj_err_set(err, YJ_ENOTFOUND, NULL, "报警 %lld 不存在或不在您的权限范围内",
                                  (long long)alarm_id);
    }
    char title[256], region[16], unit[16], sname[96], stype[48], okind[48], oname[96];
    snprintf(title, sizeof title, "%s", yj_col_text(st, 0));
    int level = (int)yj_col_int(st, 1);
    snprintf(region, sizeof region, "%.6s", yj_col_text(st, 2));
    double last = yj_col_real(st, 3), peak = yj_col_real(st, 4);
    snprintf(unit, sizeof unit, "%s", yj_col_text(st, 5));
    int64_t raised = yj_col_int(st, 6);
    bool has_pos = !yj_col_null(st, 7) && !yj_col_null(st, 8);
    double lat = has_pos ? yj_col_real(st, 7) : yj_col_real(st, 13),
           lon = has_pos ? yj_col_real(st, 8) : yj_col_real(st, 14);
    has_pos = has_pos || (!yj_col_null(st, 13) && !yj_col_null(st, 14));
    snprintf(sname, sizeof sname, "%s", yj_col_text(st, 9));
    snprintf(stype, sizeof stype, "%s", yj_col_text(st, 10));
    snprintf(okind, sizeof okind, "%s", yj_col_text(st, 11));
    snprintf(oname, sizeof oname, "%s", yj_col_text(st, 12));
    yj_stmt_done(st);
    if (!yj_region_within(region, u->region))
        snprintf(region, sizeof region, "%s", u->region); /* a township user: their own area */
    const char *category = "Safety",
               *instruction = "请相关单位立即核实险情，做好人员撤离和应急处置准备。";
    for (size_t i = 0; i < sizeof by_object / sizeof by_object[0]; i++)
        if (strcmp(by_object[i].kind, okind) == 0) {
            category = by_object[i].category;
            instruction = by_object[i].instruction;
        }
    char event[80], headline[300], desc[1200], tbuf[32];
    snprintf(event, sizeof event, "%s%s超限", strstr(okind, "矿") ? "矿山" : "", stype);
    snprintf(headline, sizeof headline, "%s预警：%s", warning_level_label(level), title);
    cap_time_beijing(raised, tbuf, sizeof tbuf);
    snprintf(desc, sizeof desc,
             "%.10s %.8s（北京时间），%s%s监测值达 %g%s（峰值 %g%s），已触发%s报警。", tbuf,
             tbuf + 11, oname, sname, last, unit, peak, unit, warning_level_label(level));
    json_t *area = json_pack("{s:[s],s:[],s:[]}", "regions", region, "polygons", "circles");
    if (has_pos)
        json_array_append_new(json_object_get(area, "circles"),
                              json_pack("[f,f,f]", lat, lon, 3.0));
    json_t *in = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:o,s:I}", "event_type", event, "category",
                           category, "level", level, "headline", headline, "description", desc,
                           "instruction", instruction, "certainty", "Observed", "area", area,
                           "expires", (json_int_t)(yj_clock_now() + 6 * 3600000LL));
    content ct;
    yj_code rc = content_check(c, u->region, in, &ct, err);
    int64_t id = 0, now = yj_clock_now();
    if (rc == YJ_OK)
        rc = yj_tx_begin(c, err);
    else {
        json_decref(in);
        yj_store_release(s, c);
        return rc;
    }
    if (rc == YJ_OK)
        rc = insert_draft(c, u->username, &ct, region, "Alert", 0, alarm_id, now, &id, err);
    char note[64];
    snprintf(note, sizeof note, "由监测报警 #%lld 生成", (long long)alarm_id);
    if (rc == YJ_OK)
        rc = add_event(c, id, now, u->username, "created", note, err);
    if (rc == YJ_OK)
        rc = audit_created(c, u->username, "create", id, err);
    json_decref(ct.area);
    json_decref(in);
    return finish_write(s, c, u, rc, id, out, err);
}

/* ---- received from other agencies ------------------------------------------------------- */

static int level_of_severity(const char *sev)
{
    for (int l = 1; l <= 4; l++)
        if (sev && strcmp(sev, levels[l].severity) == 0)
            return l;
    return 4; /* Unknown: the lowest level, still shown */
}

yj_code warning_import(yj_store *s, const yj_user *u, const char *xml, size_t len,
                       const char *origin, json_t **out, yj_err *err)
{
    *out = NULL;
    cap_alert *a = NULL;
    yj_err cerr;
    yj_err_clear(&cerr);
    if (cap_read(xml, len, 0, &a, &cerr) != YJ_OK)
        return yj_err_set(err, YJ_EINVAL, cerr.field, "CAP: %s: %s", cerr.field, cerr.message);
    if (a->ninfos == 0) {
        cap_alert_free(a);
        return yj_err_set(err, YJ_EINVAL, "info", "CAP: info: 没有预警内容（info）");
    }
    const cap_info *in = &a->infos[0];
    for (size_t i = 0; i < a->ninfos; i++) /* prefer the Chinese text */
        if (a->infos[i].language && strncmp(a->infos[i].language, "zh", 2) == 0) {
            in = &a->infos[i];
            break;
        }
    /* its area: polygons, circles, and 6-digit region geocodes */
    json_t *area = json_pack("{s:[],s:[],s:[]}", "regions", "polygons", "circles");
    char desc[400] = "", region[16] = "";
    for (size_t j = 0; j < in->nareas; j++) {
        const cap_area *ar = &in->areas[j];
        if (ar->desc && strlen(desc) + strlen(ar->desc) + 4 < sizeof desc)
            snprintf(desc + strlen(desc), sizeof desc - strlen(desc), "%s%s", desc[0] ? "；" : "",
                     ar->desc);
        for (size_t k = 0; k < ar->npolygons; k++) {
            json_t *ring = json_array();
            for (size_t q = 0; q < ar->polygons[k].n; q++)
                json_array_append_new(
                    ring, json_pack("[f,f]", ar->polygons[k].pts[q][0], ar->polygons[k].pts[q][1]));
            json_array_append_new(json_object_get(area, "polygons"), ring);
        }
        for (size_t k = 0; k < ar->ncircles; k++)
            json_array_append_new(json_object_get(area, "circles"),
                                  json_pack("[f,f,f]", ar->circles[k].lat, ar->circles[k].lon,
                                            ar->circles[k].radius_km));
        for (size_t k = 0; k < ar->ngeocodes; k++) {
            const char *v = ar->geocodes[k].value;
            size_t n = v ? strlen(v) : 0;
            bool dig = n >= 6 && n <= 12;
            for (size_t q = 0; dig && q < n; q++)
                dig = isdigit((unsigned char)v[q]);
            if (dig) {
                json_array_append_new(json_object_get(area, "regions"), json_string(v));
                if (region[0] == '\0')
                    snprintf(region, sizeof region, "%s", v);
            }
        }
    }
    /* whose is it: the first region it names (trimmed of trailing zeros
     * of a GB/T 2260 county code's parents), else the importer's region */
    if (region[0] == '\0')
        snprintf(region, sizeof region, "%s", u->region);
    else if (strlen(region) == 6 && strcmp(region + 2, "0000") == 0)
        region[2] = '\0';
    else if (strlen(region) == 6 && strcmp(region + 4, "00") == 0)
        region[4] = '\0';
    int64_t expires = 0, effective = 0, sent_ms = 0;
    if (!in->expires || !cap_time_parse(in->expires, &expires))
        expires = (cap_time_parse(a->sent, &sent_ms) ? sent_ms : yj_clock_now()) + 24 * 3600000LL;
    if (in->effective)
        cap_time_parse(in->effective, &effective);
    int64_t now = yj_clock_now();
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = yj_tx_begin(c, err);
    /* a region the platform knows (else the importer's) */
    if (rc == YJ_OK) {
        int64_t known = 0;
        if (yj_query_int(c, "SELECT COUNT(*) FROM region WHERE code = ?", region, &known, NULL) !=
                YJ_OK ||
            known == 0)
            snprintf(region, sizeof region, "%s", u->region);
        if (!yj_region_within(region, u->region))
            rc = yj_err_set(err, YJ_EFORBIDDEN, NULL, "预警区域 %s 不在您的辖区内", region);
    }
    /* the same message twice is one warning */
    if (rc == YJ_OK) {
        yj_stmt *st =
            yj_prepare(c, "SELECT id FROM warning WHERE sender = ? AND identifier = ?", err);
        if (st == NULL)
            rc = yj_fail(err);
        else {
            yj_bind_text(st, 1, a->sender);
            yj_bind_text(st, 2, a->identifier);
            int r = yj_step(st, err);
            if (r == 1)
                rc = yj_err_set(err, YJ_ECONFLICT, "identifier",
                                "已接收过该预警（%s，本平台编号 %lld）", a->identifier,
                                (long long)yj_col_int(st, 0));
            else if (r < 0)
                rc = yj_fail(err);
            yj_stmt_done(st);
        }
    }
    int64_t id = 0;
    int level = level_of_severity(in->severity);
    if (rc == YJ_OK) {
        yj_stmt *st = yj_prepare(
            c,
            "INSERT INTO warning (identifier, sender, sender_name, sent, source, origin, msg_type,"
            " state, event_type, category, level, urgency, certainty, headline, description,"
            " instruction, area_desc, area, region_code, effective, expires, cap_xml,"
            " created_at, created_by, published_at, published_by, scope)"
            " VALUES (?, ?, ?, ?, 'import', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?, ?, ?) RETURNING id",
            err);
        if (st == NULL)
            rc = yj_fail(err);
        else {
            char *ar = json_dumps(area, JSON_COMPACT);
            int i = 1;
            yj_bind_text(st, i++, a->identifier);
            yj_bind_text(st, i++, a->sender);
            yj_bind_text(st, i++, in->sender_name ? in->sender_name : a->sender);
            yj_bind_text(st, i++, a->sent);
            yj_bind_text(st, i++, origin);
            yj_bind_text(st, i++, a->msg_type);
            yj_bind_text(st, i++, strcmp(a->status, "Actual") == 0 ? "published" : "received");
            yj_bind_text(st, i++, in->event);
            yj_bind_text(st, i++, in->ncategories ? in->categories[0] : "Other");
            yj_bind_int(st, i++, level);
            yj_bind_text(st, i++, in->urgency);
            yj_bind_text(st, i++, in->certainty);
            yj_bind_text(st, i++, in->headline ? in->headline : in->event);
            yj_bind_text(st, i++, in->description ? in->description : "");
            yj_bind_text(st, i++, in->instruction);
            yj_bind_text(st, i++, desc[0] ? desc : "（未注明）");
            yj_bind_text(st, i++, ar);
            yj_bind_text(st, i++, region);
            if (effective)
                yj_bind_int(st, i++, effective);
            else
                yj_bind_null(st, i++);
            yj_bind_int(st, i++, expires);
            yj_bind_text(st, i++, xml);
            yj_bind_int(st, i++, now);
            yj_bind_text(st, i++, u->username);
            yj_bind_int(st, i++, now);
            yj_bind_text(st, i++, u->username);
            yj_bind_text(st, i++, a->scope);
            int r = yj_step(st, err);
            id = r == 1 ? yj_col_int(st, 0) : 0;
            yj_stmt_done(st);
            free(ar);
            if (r != 1)
                rc = yj_fail(err);
        }
    }
    char note[200];
    snprintf(note, sizeof note, "接收自 %s（%s %s）", origin ? origin : "外部", a->sender,
             a->msg_type);
    if (rc == YJ_OK)
        rc = add_event(c, id, now, u->username, "received", note, err);
    /* updates and cancels replace what they reference — only real
     * (Actual) ones, and only messages received from the same sender:
     * another agency's message never ends one of ours, nor a third
     * agency's, and an exercise never ends a real warning */
    if (rc == YJ_OK && a->references && strcmp(a->status, "Actual") == 0 &&
        (strcmp(a->msg_type, "Update") == 0 || strcmp(a->msg_type, "Cancel") == 0)) {
        char refs[4096];
        snprintf(refs, sizeof refs, "%s", a->references);
        for (char *save = NULL, *t = strtok_r(refs, " \t\r\n", &save); t && rc == YJ_OK;
             t = strtok_r(NULL, " \t\r\n", &save)) {
            char *c1 = strchr(t, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
            if (c1 == NULL || c2 == NULL)
                continue;
            *c1 = *c2 = '\0';
            if (strcmp(t, a->sender) != 0)
                continue;
            bool cancel = strcmp(a->msg_type, "Cancel") == 0;
            yj_stmt *st = yj_prepare(c,
                                     "SELECT id FROM warning WHERE sender = ? AND identifier = ?"
                                     " AND source = 'import' AND state = 'published'",
                                     err);
            if (st == NULL) {
                rc = yj_fail(err);
                break;
            }
            yj_bind_text(st, 1, t);
            yj_bind_text(st, 2, c1 + 1);
            int r = yj_step(st, err);
            int64_t old = r == 1 ? yj_col_int(st, 0) : 0;
            yj_stmt_done(st);
            if (r < 0)
                rc = yj_fail(err);
            if (rc == YJ_OK && old) {
                json_t *by =
                    json_pack("{s:I,s:s}", "by", (json_int_t)id, "identifier", a->identifier);
                rc = wf_apply(c, &warning_workflow, u->username, old,
                              cancel ? "withdraw" : "supersede", by, now, NULL, err);
                json_decref(by);
            }
        }
    }
    if (rc == YJ_OK)
        rc = audit_created(c, u->username, "import", id, err);
    json_decref(area);
    cap_alert_free(a);
    return finish_write(s, c, u, rc, id, out, err);
}

/* ---- reading the CAP, expiry ------------------------------------------------------------- */

yj_code warning_cap_xml(yj_store *s, const yj_user *u, int64_t id, char **xml, yj_err *err)
{
    *xml = NULL;
    yj_conn *c = yj_store_acquire(s);
    yj_sql sql;
    yj_sql_init(&sql, "SELECT cap_xml FROM warning WHERE cap_xml IS NOT NULL");
    yj_sql_int(&sql, " AND id = ?", id);
    if (u) {
        yj_scope sc = user_scope(u);
        yj_sql_scope(&sql, &sc, &warning_read_scope);
    } else {
        yj_sql_add(&sql, " AND scope = 'Public' AND state IN ('published', 'updated', 'cancelled',"
                         " 'expired')");
    }
    yj_stmt *st = yj_sql_prepare(c, &sql, err);
    yj_sql_free(&sql);
    yj_code rc = YJ_OK;
    if (st == NULL)
        rc = yj_fail(err);
    else {
        int r = yj_step(st, err);
        if (r == 1)
            *xml = strdup(yj_col_text(st, 0));
        else if (r == 0)
            rc = yj_err_set(err, YJ_ENOTFOUND, NULL, "预警 %lld 没有已发布的 CAP 消息",
                            (long long)id);
        else
            rc = yj_fail(err);
        yj_stmt_done(st);
    }
    yj_store_release(s, c);
    return rc;
}

yj_code warning_expire_due(yj_store *s, int64_t now, int *n, yj_err *err)
{
    *n = 0;
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = yj_tx_begin(c, err);
    yj_stmt *st = rc == YJ_OK ? yj_prepare(c,
                                           "SELECT id FROM warning WHERE state = 'published'"
                                           " AND expires <= ? ORDER BY id LIMIT 500",
                                           err)
                              : NULL;
    int64_t ids[500];
    int k = 0;
    if (rc == YJ_OK && st == NULL)
        rc = yj_fail(err);
    if (st) {
        yj_bind_int(st, 1, now);
        int r;
        while ((r = yj_step(st, err)) == 1 && k < 500)
            ids[k++] = yj_col_int(st, 0);
        yj_stmt_done(st);
        if (r < 0)
            rc = yj_fail(err);
    }
    json_t *after[500] = {0};
    for (int i = 0; i < k && rc == YJ_OK; i++)
        rc = wf_apply(c, &warning_workflow, "timer:warning.expiry", ids[i], "expire", NULL, now,
                      &after[i], err);
    if (rc == YJ_OK && k)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c); /* nothing to do, or failed */
    yj_store_release(s, c);
    for (int i = 0; i < k; i++) {
        if (rc == YJ_OK && after[i])
            warning_published(after[i], "expired");
        json_decref(after[i]);
    }
    if (rc == YJ_OK)
        *n = k;
    return rc;
}

/* ---- targeting preview ---------------------------------------------------------------------- */

yj_code warning_preview_targets(yj_store *s, const yj_user *u, const json_t *area, json_t **out,
                                yj_err *err)
{
    *out = NULL;
    yj_conn *c = yj_store_acquire(s);
    json_t *norm = NULL;
    char desc[400];
    yj_code rc = area_check(c, u->region, area, &norm, desc, sizeof desc, err);
    target_set t;
    if (rc == YJ_OK)
        rc = target_resolve(c, u->region, norm, &t, err);
    yj_store_release(s, c);
    json_decref(norm);
    if (rc != YJ_OK)
        return rc;
    size_t by_level[6] = {0}, villages = 0;
    for (size_t i = 0; i < t.nresp; i++)
        if (t.resp[i]->level >= 1 && t.resp[i]->level <= 5)
            by_level[t.resp[i]->level]++;
    const char *last = "";
    for (size_t i = 0; i < t.nres; i++)
        if (strcmp(t.res[i]->region, last) != 0) {
            villages++;
            last = t.res[i]->region;
        }
    *out = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I},s:I,s:I,s:s}", "residents",
                     (json_int_t)t.nres, "vulnerable", (json_int_t)t.nvulnerable, "contacts",
                     (json_int_t)t.ncontacts, "terminals", (json_int_t)t.nterm, "enterprises",
                     (json_int_t)t.nent, "responsible", (json_int_t)t.nresp, "responsible_by_level",
                     "village", (json_int_t)by_level[1], "township", (json_int_t)by_level[2],
                     "county", (json_int_t)by_level[3], "city", (json_int_t)by_level[4],
                     "enterprise", (json_int_t)by_level[5], "informants", (json_int_t)t.ninf,
                     "places", (json_int_t)villages, "area_desc", desc);
    target_set_free(&t);
    return YJ_OK;
}

/* ---- the CAP drop directory ------------------------------------------------------------ */

static dirwatch *cap_watch;
static yj_user cap_user; /* imports from the directory act as the platform's administrator */

static dw_result cap_dropped(const char *path, json_t **report, char *why, size_t nwhy, void *ctx)
{
    size_t len = 0;
    char *data = yj_read_file(path, &len);
    if (data == NULL) {
        snprintf(why, nwhy, "cannot read: %s", strerror(errno));
        return DW_FAILED;
    }
    const char *base = strrchr(path, '/');
    char origin[160];
    snprintf(origin, sizeof origin, "dir:%s", base ? base + 1 : path);
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = warning_import(ctx, &cap_user, data, len, origin, &out, &err);
    free(data);
    if (rc == YJ_OK) {
        *report =
            json_pack("{s:s,s:O,s:O,s:O}", "file", path, "warning_id", json_object_get(out, "id"),
                      "identifier", json_object_get(out, "identifier"), "state",
                      json_object_get(out, "state"));
        json_decref(out);
        return DW_DONE;
    }
    snprintf(why, nwhy, "%s", err.message);
    if (rc == YJ_ECONFLICT) { /* received before: nothing lost, nothing doubled */
        *report = json_pack("{s:s,s:s}", "file", path, "duplicate", err.message);
        return DW_DONE;
    }
    return rc == YJ_EINTERNAL || rc == YJ_EBUSY ? DW_RETRY : DW_FAILED;
}

yj_code warning_cap_watch(yj_store *s, const char *dir, yj_err *err)
{
    if (cap_watch)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "CAP watcher already running");
    /* the administrator's region is the deployment's */
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_prepare(
        c, "SELECT region_code FROM users WHERE role = 'admin' ORDER BY id LIMIT 1", err);
    cap_user = (yj_user){.role = YJ_ROLE_ADMIN};
    snprintf(cap_user.username, sizeof cap_user.username, "cap-dir");
    snprintf(cap_user.name, sizeof cap_user.name, "预警接收目录");
    if (st && yj_step(st, NULL) == 1)
        snprintf(cap_user.region, sizeof cap_user.region, "%s", yj_col_text(st, 0));
    yj_stmt_done(st);
    yj_store_release(s, c);
    if (cap_user.region[0] == '\0')
        return yj_err_set(err, YJ_EINVAL, NULL,
                          "--cap-dir: no administrator yet, so no region to receive warnings for");
    cap_watch = dirwatch_start(dir, "CAP", cap_dropped, s, err);
    return cap_watch ? YJ_OK : err ? err->code : YJ_EIO;
}

void warning_cap_stop(void)
{
    dirwatch_stop(cap_watch);
    cap_watch = NULL;
}
