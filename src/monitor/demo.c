/*
 * demo.c — the monitoring module's part of the demo city: monitored
 * objects, sensors, per-sensor rules and alarm recipient groups.
 *
 * Runs inside the demo's second transaction, after the enterprises and
 * major hazard sources exist (it reads them back), and creates every object
 * and sensor through registry_create_in() so they are validated and audited
 * like hand-entered ones.  Rules go straight into monitor_rule (validated
 * with mon_rule_from_json() and audited as `monitor_rule` entries), since
 * mon_rule_save() runs its own transaction.
 *
 * What is made:
 *   煤矿              one object per coal mine, code = 煤矿编码 (county code +
 *                     4-digit sequence + "01", e.g. 140521000101), 40 sensors
 *                     each coded "<煤矿编码>-A001".."-A040" (the KJ mapping:
 *                     AQMC point code = the part after the dash); a closed
 *                     mine's object and sensors are 停用;
 *   hazard sources    one object per major hazard source that is not a coal
 *                     mine's gas (code = the hazard source's code): chemical
 *                     tank farms, process units, warehouses, dust workshops,
 *                     tailings ponds, with pressure/level/phreatic rules;
 *   city-wide         rain gauges (20 per county), river and reservoir stations
 *                     (警戒/保证 water levels and a rise-rate rule), geological
 *                     hazard points (displacement rate rules), and lifelines in
 *                     城区 (gas network, bridges, underpasses).
 * Other objects' sensors are "<object code>-NN".
 *
 * Random choices come from a splitmix64 stream seeded by the demo, so a
 * seed gives the same sensors.
 */
#include "monitor.h"
#include "../auth/auth.h"
#include "../demo/demo.h"
#include "../core/util.h"
#include "../monitor/monitor.h"
#include "../registry/registry.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- PRNG (splitmix64, as demo.c) ------------------------------------------ */

typedef struct {
    uint64_t s;
} mrng;

static uint64_t mr_next(mrng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double mr_unit(mrng *r)
{
    return (double)(mr_next(r) >> 11) * 0x1.0p-53;
}

static double mr_real(mrng *r, double lo, double hi)
{
    return lo + (hi - lo) * mr_unit(r);
}

static int mr_int(mrng *r, int lo, int hi)
{
    return lo + (int)(mr_next(r) % (uint64_t)(hi - lo + 1));
}

static bool mr_chance(mrng *r, double p)
{
    return mr_unit(r) < p;
}

static double round_to(double v, double step)
{
    return round(v / step) * step;
}

/* ---- generator state ---------------------------------------------------------- */

typedef struct {
    const yj_demo *env;
    yj_conn *c;
    mrng rng;
    int objects, sensors, rules;
    int county_seq[6]; /* per-county sequence of mine codes */
} mctx;

static const char *const county_codes[6] = {"140502", "140521", "140522",
                                            "140524", "140525", "140581"};

static size_t county_slot(const char *region)
{
    for (size_t i = 0; i < 6; i++)
        if (strncmp(region, county_codes[i], 6) == 0)
            return i;
    return 0;
}

/* A created monitored object. */
typedef struct {
    int64_t id;
    char code[48];
    char name[240];
    char region[16];
    double lat, lon;
    bool retired;
} mobj;

static void put_s(json_t *o, const char *k, const char *v)
{
    if (v && v[0])
        json_object_set_new(o, k, json_string(v));
}

/* Validate, insert and audit one record (rec is consumed). */
static yj_code create(mctx *m, const char *reg, json_t *rec, int64_t *id, yj_err *err)
{
    const yj_registry *r = registry_find(reg);
    yj_err e;
    yj_err_clear(&e);
    yj_code rc = r ? registry_create_in(m->c, m->env->actor, r, rec, id, &e)
                   : yj_err_set(&e, YJ_EINTERNAL, NULL, "no registry %s", reg);
    if (rc != YJ_OK) {
        const char *name = json_string_value(json_object_get(rec, "name"));
        yj_err_set(err, rc, e.field[0] ? e.field : NULL, "demo %s \"%s\": %s", reg,
                   name ? name : "?", e.message);
    }
    json_decref(rec);
    return rc;
}

typedef struct {
    const char *code, *name, *kind;
    int64_t enterprise_id; /* 0: none */
    const char *operator_, *contact, *phone;
    const char *region;
    double lat, lon;
    bool retired;
} obj_spec;

static yj_code object_put(mctx *m, const obj_spec *sp, mobj *out, yj_err *err)
{
    json_t *o = json_object();
    put_s(o, "code", sp->code);
    put_s(o, "name", sp->name);
    put_s(o, "kind", sp->kind);
    if (sp->enterprise_id)
        json_object_set_new(o, "enterprise_id", json_integer(sp->enterprise_id));
    put_s(o, "operator", sp->operator_);
    put_s(o, "contact", sp->contact);
    put_s(o, "phone", sp->phone);
    put_s(o, "status", sp->retired ? "停用" : "运行");
    put_s(o, "region_code", sp->region);
    json_object_set_new(o, "lat", json_real(sp->lat));
    json_object_set_new(o, "lon", json_real(sp->lon));
    memset(out, 0, sizeof *out);
    yj_code rc = create(m, "monitored_object", o, &out->id, err);
    if (rc == YJ_OK) {
        snprintf(out->code, sizeof out->code, "%s", sp->code);
        snprintf(out->name, sizeof out->name, "%s", sp->name);
        snprintf(out->region, sizeof out->region, "%s", sp->region);
        out->lat = sp->lat;
        out->lon = sp->lon;
        out->retired = sp->retired;
        m->objects++;
    }
    return rc;
}

/* A point within `spread` degrees of the object, still inside its county. */
static void near(mctx *m, const mobj *o, double spread, double *lat, double *lon)
{
    *lat = o->lat;
    *lon = o->lon;
    if (spread <= 0)
        return;
    char county[7];
    snprintf(county, sizeof county, "%.6s", o->region);
    for (int tries = 0; tries < 12; tries++) {
        double y = o->lat + mr_real(&m->rng, -spread, spread);
        double x = o->lon + mr_real(&m->rng, -spread, spread) * 1.2;
        if (m->env->inside(m->env->geo, county, y, x)) {
            *lat = round(y * 1e6) / 1e6;
            *lon = round(x * 1e6) / 1e6;
            return;
        }
    }
}

typedef struct {
    const char *code, *name, *type, *location;
    int interval_s;            /* 0: the type's */
    double range_lo, range_hi; /* NAN: the type's */
    double spread;             /* degrees from the object */
} sensor_spec;

static yj_code sensor_put(mctx *m, const mobj *o, const sensor_spec *sp, int64_t *id, yj_err *err)
{
    json_t *s = json_object();
    put_s(s, "code", sp->code);
    put_s(s, "name", sp->name);
    json_object_set_new(s, "object_id", json_integer(o->id));
    put_s(s, "type", sp->type);
    if (sp->interval_s > 0)
        json_object_set_new(s, "interval_s", json_integer(sp->interval_s));
    if (!isnan(sp->range_lo) && !isnan(sp->range_hi)) {
        json_object_set_new(s, "range_lo", json_real(sp->range_lo));
        json_object_set_new(s, "range_hi", json_real(sp->range_hi));
    }
    put_s(s, "location", sp->location);
    char date[16];
    snprintf(date, sizeof date, "%04d-%02d-%02d", mr_int(&m->rng, 2018, 2024),
             mr_int(&m->rng, 1, 12), mr_int(&m->rng, 1, 28));
    put_s(s, "install_date", date);
    /* a retired object's sensors are retired; a handful are being calibrated */
    put_s(s, "status", o->retired ? "停用" : mr_chance(&m->rng, 0.003) ? "维护" : "正常");
    double lat, lon;
    near(m, o, sp->spread, &lat, &lon);
    put_s(s, "region_code", o->region);
    json_object_set_new(s, "lat", json_real(lat));
    json_object_set_new(s, "lon", json_real(lon));
    int64_t sid = 0;
    yj_code rc = create(m, "sensor", s, &sid, err);
    if (rc == YJ_OK) {
        m->sensors++;
        if (id)
            *id = sid;
    }
    return rc;
}

/* Insert a rule (params consumed) after validating it as the API would. */
static yj_code rule_put(mctx *m, const char *name, mon_rule_kind kind, int64_t sensor_id,
                        const char *region, json_t *params, yj_err *err)
{
    mon_rule rule;
    yj_err e;
    yj_err_clear(&e);
    if (mon_rule_from_json(kind, params, &rule, &e) != YJ_OK) {
        json_decref(params);
        return yj_err_set(err, YJ_EINTERNAL, e.field[0] ? e.field : NULL, "demo rule %s: %s", name,
                          e.message);
    }
    json_decref(params);
    json_t *norm = mon_rule_params_json(&rule);
    char *ptext = json_dumps(norm, JSON_COMPACT | JSON_REAL_PRECISION(12));
    json_decref(norm);
    char now[32];
    yj_time_iso(yj_now_ms(), now, sizeof now);
    yj_code rc = YJ_OK;
    int64_t id = 0;
    yj_stmt *st = ptext ? yj_prepare(m->c,
                                     "INSERT INTO monitor_rule (name, kind, sensor_type, sensor_id,"
                                     " params, enabled, region_code, updated_at, updated_by)"
                                     " VALUES (?, ?, NULL, ?, ?, 1, ?, ?, ?) RETURNING id",
                                     err)
                        : NULL;
    if (st == NULL) {
        rc = ptext ? YJ_EINTERNAL : yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
    } else {
        yj_bind_text(st, 1, name);
        yj_bind_text(st, 2, mon_rule_kind_name(kind));
        if (sensor_id)
            yj_bind_int(st, 3, sensor_id);
        else
            yj_bind_null(st, 3);
        yj_bind_text(st, 4, ptext);
        yj_bind_text(st, 5, region);
        yj_bind_text(st, 6, now);
        yj_bind_text(st, 7, m->env->actor->username);
        if (yj_step(st, err) == 1)
            id = yj_col_int(st, 0);
        else
            rc = yj_fail(err);
        yj_stmt_done(st);
    }
    if (rc == YJ_OK) {
        json_t *after =
            json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)id, "name", name, "kind",
                      mon_rule_kind_name(kind), "params", ptext, "region_code", region);
        if (sensor_id)
            json_object_set_new(after, "sensor_id", json_integer(sensor_id));
        rc = audit_append(m->c, m->env->actor->username, "create", "monitor_rule", id, NULL, after,
                          err);
        json_decref(after);
        m->rules++;
    }
    free(ptext);
    return rc;
}

/* Threshold rule with up to four levels (NAN = unused). */
static yj_code threshold_rule(mctx *m, const char *name, int64_t sid, const char *region, bool high,
                              const double lv[4], double hysteresis, yj_err *err)
{
    static const char *const names[4] = {"blue", "yellow", "orange", "red"};
    json_t *levels = json_object();
    for (int i = 0; i < 4; i++)
        if (!isnan(lv[i]))
            json_object_set_new(levels, names[i], json_real(lv[i]));
    json_t *p = json_pack("{s:s,s:o,s:f,s:i}", "direction", high ? "high" : "low", "levels", levels,
                          "hysteresis", hysteresis, "duration_s", 0);
    return rule_put(m, name, MON_RULE_THRESHOLD, sid, region, p, err);
}

static yj_code rate_rule(mctx *m, const char *name, int64_t sid, const char *region, int window_s,
                         double delta, const char *level, yj_err *err)
{
    json_t *p = json_pack("{s:s,s:s,s:i,s:f}", "direction", "high", "level", level, "window_s",
                          window_s, "delta", delta);
    return rule_put(m, name, MON_RULE_RATE, sid, region, p, err);
}

/* The official name of a region ("郑庄镇"), or "". */
static void region_name(mctx *m, const char *code, char *out, size_t n)
{
    out[0] = '\0';
    yj_stmt *st = yj_prepare(m->c, "SELECT name FROM region WHERE code = ?", NULL);
    if (st == NULL)
        return;
    yj_bind_text(st, 1, code);
    if (yj_step(st, NULL) == 1)
        snprintf(out, n, "%s", yj_col_text(st, 0));
    yj_stmt_done(st);
}

static const char *county_name(const char *region)
{
    static const char *const names[6] = {"城区", "沁水县", "阳城县", "陵川县", "泽州县", "高平市"};
    return names[county_slot(region)];
}

static void mobile(mctx *m, char out[16])
{
    static const char *const prefixes[] = {"135", "138", "139", "150", "152", "155",
                                           "158", "182", "186", "187", "189", "199"};
    snprintf(out, 16, "%s%08d", prefixes[mr_next(&m->rng) % COUNT_OF(prefixes)],
             mr_int(&m->rng, 0, 99999999));
}

/* ======================================================================== */
/* Coal mines                                                                */
/* ======================================================================== */

typedef enum { P_NONE, P_F1, P_F2, P_H1, P_H2 } mine_place;

typedef struct {
    const char *type;
    mine_place where;
    const char *suffix; /* appended to the face / heading, or the whole location */
    const char *what;   /* name instead of the type label, or NULL */
} mine_point;

/* 40 points: 甲烷 16, 一氧化碳 8, 氧气 4, 风速 4, 温度 4, 粉尘 2, 负压 2. */
static const mine_point mine_points[] = {
    {"甲烷", P_F1, "综采工作面上隅角", NULL},
    {"甲烷", P_F1, "综采工作面", NULL},
    {"甲烷", P_F1, "综采工作面回风巷", NULL},
    {"甲烷", P_F2, "综采工作面上隅角", NULL},
    {"甲烷", P_F2, "综采工作面", NULL},
    {"甲烷", P_F2, "综采工作面回风巷", NULL},
    {"甲烷", P_H1, "掘进工作面", NULL},
    {"甲烷", P_H1, "掘进工作面回风流", NULL},
    {"甲烷", P_H2, "掘进工作面", NULL},
    {"甲烷", P_H2, "掘进工作面回风流", NULL},
    {"甲烷", P_NONE, "总回风巷", NULL},
    {"甲烷", P_NONE, "一采区回风巷", NULL},
    {"甲烷", P_NONE, "二采区回风巷", NULL},
    {"甲烷", P_NONE, "中央变电所", NULL},
    {"甲烷", P_NONE, "采区变电所", NULL},
    {"甲烷", P_NONE, "瓦斯抽采泵站", NULL},
    {"一氧化碳", P_F1, "综采工作面上隅角", NULL},
    {"一氧化碳", P_F1, "综采工作面回风巷", NULL},
    {"一氧化碳", P_F2, "综采工作面上隅角", NULL},
    {"一氧化碳", P_F2, "综采工作面回风巷", NULL},
    {"一氧化碳", P_NONE, "总回风巷", NULL},
    {"一氧化碳", P_NONE, "主斜井带式输送机机头", NULL},
    {"一氧化碳", P_NONE, "一采区回风巷", NULL},
    {"一氧化碳", P_NONE, "二采区回风巷", NULL},
    {"氧气", P_F1, "综采工作面回风巷", NULL},
    {"氧气", P_F2, "综采工作面回风巷", NULL},
    {"氧气", P_NONE, "总回风巷", NULL},
    {"氧气", P_NONE, "主要进风巷", NULL},
    {"风速", P_F1, "综采工作面回风巷", NULL},
    {"风速", P_F2, "综采工作面回风巷", NULL},
    {"风速", P_NONE, "总回风巷", NULL},
    {"风速", P_H1, "掘进工作面回风流", NULL},
    {"温度", P_F1, "综采工作面", NULL},
    {"温度", P_F2, "综采工作面", NULL},
    {"温度", P_NONE, "中央变电所", NULL},
    {"温度", P_NONE, "机电硐室", NULL},
    {"粉尘浓度", P_F1, "综采工作面回风巷", NULL},
    {"粉尘浓度", P_F2, "综采工作面回风巷", NULL},
    {"压力", P_NONE, "主通风机房", "主通风机负压"},
    {"压力", P_NONE, "瓦斯抽采泵站", "抽采管路负压"},
};

typedef struct {
    int64_t id;
    char name[200], industry[64], status[32], region[16], director[64], phone[32];
    double lat, lon;
} ent_row;

static yj_code load_enterprises(mctx *m, ent_row **out, size_t *n, yj_err *err)
{
    *out = NULL;
    *n = 0;
    yj_stmt *st = yj_prepare(m->c,
                             "SELECT id, name, industry, status, region_code, lat, lon,"
                             " safety_director, safety_phone FROM enterprise ORDER BY id",
                             err);
    if (st == NULL)
        return yj_fail(err);
    size_t cap = 0;
    int r;
    while ((r = yj_step(st, err)) == 1) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            ent_row *p = realloc(*out, cap * sizeof *p);
            if (p == NULL) {
                yj_stmt_done(st);
                return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
            }
            *out = p;
        }
        ent_row *e = &(*out)[(*n)++];
        e->id = yj_col_int(st, 0);
        snprintf(e->name, sizeof e->name, "%s", yj_col_text(st, 1));
        snprintf(e->industry, sizeof e->industry, "%s", yj_col_text(st, 2));
        snprintf(e->status, sizeof e->status, "%s", yj_col_text(st, 3));
        snprintf(e->region, sizeof e->region, "%s", yj_col_text(st, 4));
        e->lat = yj_col_real(st, 5);
        e->lon = yj_col_real(st, 6);
        snprintf(e->director, sizeof e->director, "%s", yj_col_text(st, 7));
        snprintf(e->phone, sizeof e->phone, "%s", yj_col_text(st, 8));
    }
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

static const ent_row *ent_by_id(const ent_row *e, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (e[i].id == id)
            return &e[i];
    return NULL;
}

static yj_code gen_mine(mctx *m, const ent_row *e, int *multi_left, yj_err *err)
{
    size_t slot = county_slot(e->region);
    char code[24];
    snprintf(code, sizeof code, "%s%04d01", county_codes[slot], ++m->county_seq[slot]);
    obj_spec sp = {.code = code,
                   .name = e->name,
                   .kind = "煤矿",
                   .enterprise_id = e->id,
                   .operator_ = e->name,
                   .contact = e->director,
                   .phone = e->phone,
                   .region = e->region,
                   .lat = e->lat,
                   .lon = e->lon,
                   .retired = strcmp(e->status, "关闭") == 0};
    mobj o;
    yj_code rc = object_put(m, &sp, &o, err);
    if (rc != YJ_OK)
        return rc;
    /* panel numbers as 晋城 mines write them: seam 3 or 15, district, face */
    int seam = mr_chance(&m->rng, 0.75) ? 3 : 15;
    int f1 = seam * 1000 + mr_int(&m->rng, 1, 5) * 100 + mr_int(&m->rng, 1, 9);
    int f2 = f1 + mr_int(&m->rng, 1, 3);
    int h = f2 + mr_int(&m->rng, 1, 2);
    int64_t ids[COUNT_OF(mine_points)];
    for (size_t i = 0; i < COUNT_OF(mine_points) && rc == YJ_OK; i++) {
        const mine_point *p = &mine_points[i];
        char where[160], name[200], scode[64];
        switch (p->where) {
        case P_F1:
            snprintf(where, sizeof where, "%d%s", f1, p->suffix);
            break;
        case P_F2:
            snprintf(where, sizeof where, "%d%s", f2, p->suffix);
            break;
        case P_H1:
            snprintf(where, sizeof where, "%d运输巷%s", h, p->suffix);
            break;
        case P_H2:
            snprintf(where, sizeof where, "%d回风巷%s", h, p->suffix);
            break;
        default:
            snprintf(where, sizeof where, "%s", p->suffix);
            break;
        }
        if (p->what)
            snprintf(name, sizeof name, "%s", p->what);
        else
            snprintf(name, sizeof name, "%s%s", where, p->type);
        snprintf(scode, sizeof scode, "%s-A%03zu", code, i + 1);
        sensor_spec ss = {.code = scode,
                          .name = name,
                          .type = p->type,
                          .location = where,
                          .range_lo = NAN,
                          .range_hi = NAN,
                          .spread = 0.012};
        rc = sensor_put(m, &o, &ss, &ids[i], err);
    }
    /* two neighbouring CH4 heads of the first face rising together: a real
     * gas emission rather than one drifting sensor */
    if (rc == YJ_OK && *multi_left > 0 && !o.retired) {
        char name[200];
        snprintf(name, sizeof name, "%d综采工作面两探头瓦斯同时超限", f1);
        json_t *p = json_pack("{s:[I,I],s:f,s:i,s:s,s:s}", "sensors", (json_int_t)ids[1],
                              (json_int_t)ids[2], "threshold", 0.8, "min_count", 2, "direction",
                              "high", "level", "orange");
        rc = rule_put(m, name, MON_RULE_MULTI, 0, o.region, p, err);
        (*multi_left)--;
    }
    return rc;
}

/* ======================================================================== */
/* Major hazard sources and tailings ponds                                   */
/* ======================================================================== */

typedef struct {
    int64_t enterprise_id;
    char name[240], code[48], category[64], substances[128], region[16], person[64], phone[32];
    double lat, lon;
} hz_row;

static yj_code load_hazards(mctx *m, hz_row **out, size_t *n, yj_err *err)
{
    *out = NULL;
    *n = 0;
    yj_stmt *st = yj_prepare(m->c,
                             "SELECT enterprise_id, name, code, category, substances, region_code,"
                             " lat, lon, responsible, phone FROM hazard_source ORDER BY id",
                             err);
    if (st == NULL)
        return yj_fail(err);
    size_t cap = 0;
    int r;
    while ((r = yj_step(st, err)) == 1) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            hz_row *p = realloc(*out, cap * sizeof *p);
            if (p == NULL) {
                yj_stmt_done(st);
                return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
            }
            *out = p;
        }
        hz_row *h = &(*out)[(*n)++];
        h->enterprise_id = yj_col_int(st, 0);
        snprintf(h->name, sizeof h->name, "%s", yj_col_text(st, 1));
        snprintf(h->code, sizeof h->code, "%s", yj_col_text(st, 2));
        snprintf(h->category, sizeof h->category, "%s", yj_col_text(st, 3));
        snprintf(h->substances, sizeof h->substances, "%s", yj_col_text(st, 4));
        snprintf(h->region, sizeof h->region, "%s", yj_col_text(st, 5));
        h->lat = yj_col_real(st, 6);
        h->lon = yj_col_real(st, 7);
        snprintf(h->person, sizeof h->person, "%s", yj_col_text(st, 8));
        snprintf(h->phone, sizeof h->phone, "%s", yj_col_text(st, 9));
    }
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

/* One sensor of a hazard-source object with its own rule:
 * rule 'p' pressure (op = operating MPa), 'l' tank level (op = tank height m),
 * 'w' phreatic depth (op = minimum safe depth m), 'd' displacement rate,
 * 0 = the type's defaults only. */
typedef struct {
    const char *type, *where;
    char rule;
    double op;
} hz_point;

static yj_code hz_sensor(mctx *m, const mobj *o, int seq, const hz_point *p, yj_err *err)
{
    char scode[64], name[240];
    snprintf(scode, sizeof scode, "%s-%02d", o->code, seq);
    snprintf(name, sizeof name, "%s%s", p->where, p->type);
    sensor_spec ss = {.code = scode,
                      .name = name,
                      .type = p->type,
                      .location = p->where,
                      .range_lo = NAN,
                      .range_hi = NAN,
                      .spread = 0.0015};
    int64_t sid = 0;
    yj_code rc = sensor_put(m, o, &ss, &sid, err);
    if (rc != YJ_OK || p->rule == 0)
        return rc;
    char rname[400];
    double op = p->op;
    switch (p->rule) {
    case 'p': { /* operating pressure op; design pressure about 1.6 op */
        snprintf(rname, sizeof rname, "%s%s压力超限", o->name, p->where);
        double step = pow(10, floor(log10(op)) - 2); /* three significant digits */
        double lv[4] = {NAN, round_to(op * 1.25, step), round_to(op * 1.4, step),
                        round_to(op * 1.6, step)};
        return threshold_rule(m, rname, sid, o->region, true, lv, round_to(op * 0.05, step), err);
    }
    case 'l': { /* high level: 85 / 90 / 95 % of the tank */
        snprintf(rname, sizeof rname, "%s%s高液位", o->name, p->where);
        double lv[4] = {NAN, round_to(op * 0.85, 0.01), round_to(op * 0.9, 0.01),
                        round_to(op * 0.95, 0.01)};
        return threshold_rule(m, rname, sid, o->region, true, lv, 0.1, err);
    }
    case 'w': { /* the saturation line rising towards the dam face */
        snprintf(rname, sizeof rname, "%s%s浸润线埋深不足", o->name, p->where);
        double lv[4] = {NAN, op, op - 1.5, op - 3.0};
        return threshold_rule(m, rname, sid, o->region, false, lv, 0.2, err);
    }
    case 'd':
        snprintf(rname, sizeof rname, "%s%s位移速率", o->name, p->where);
        return rate_rule(m, rname, sid, o->region, 3600, op, "yellow", err);
    default:
        return YJ_OK;
    }
}

static yj_code gen_hazard(mctx *m, const hz_row *h, const ent_row *e, yj_err *err)
{
    bool tailings = strcmp(h->category, "尾矿库") == 0;
    bool dust = strcmp(h->category, "粉尘爆炸") == 0;
    obj_spec sp = {.code = h->code,
                   .name = h->name,
                   .kind = tailings ? "尾矿库"
                           : dust   ? "粉尘涉爆车间"
                                    : "危险化学品重大危险源",
                   .enterprise_id = h->enterprise_id,
                   .operator_ = e ? e->name : NULL,
                   .contact = h->person,
                   .phone = h->phone,
                   .region = h->region,
                   .lat = h->lat,
                   .lon = h->lon,
                   .retired = e && strcmp(e->status, "关闭") == 0};
    mobj o;
    yj_code rc = object_put(m, &sp, &o, err);
    if (rc != YJ_OK)
        return rc;
    hz_point pts[12];
    size_t n = 0;
    const char *sub = h->substances;
    if (tailings) {
        double safe = round_to(mr_real(&m->rng, 6, 8), 0.1);
        pts[n++] = (hz_point){"浸润线埋深", "初期坝", 'w', safe};
        pts[n++] = (hz_point){"浸润线埋深", "1#子坝", 'w', safe};
        pts[n++] = (hz_point){"浸润线埋深", "2#子坝", 'w', safe};
        pts[n++] = (hz_point){"位移", "坝顶GNSS1#", 'd', 5};
        pts[n++] = (hz_point){"位移", "坝顶GNSS2#", 'd', 5};
        pts[n++] = (hz_point){"位移", "坝坡GNSS3#", 'd', 5};
        pts[n++] = (hz_point){"位移", "坝坡GNSS4#", 'd', 5};
    } else if (dust) {
        pts[n++] = (hz_point){"粉尘浓度", "抛光车间1#工位", 0, 0};
        pts[n++] = (hz_point){"粉尘浓度", "抛光车间2#工位", 0, 0};
        pts[n++] = (hz_point){"粉尘浓度", "除尘器进口", 0, 0};
        pts[n++] = (hz_point){"温度", "除尘器灰斗", 0, 0};
    } else if (strcmp(h->category, "危险化学品储罐区") == 0) {
        double op = strstr(sub, "液氨")         ? 1.0
                    : strstr(sub, "液化石油气") ? 0.8
                    : strstr(sub, "液化天然气") ? 0.35
                                                : 0.02; /* methanol: atmospheric tank */
        double height = round_to(mr_real(&m->rng, 12, 16), 0.5);
        pts[n++] = (hz_point){"可燃气体", "储罐区东侧", 0, 0};
        pts[n++] = (hz_point){"可燃气体", "储罐区西侧", 0, 0};
        pts[n++] = (hz_point){"可燃气体", "装卸区", 0, 0};
        pts[n++] = (hz_point){"可燃气体", "泵房", 0, 0};
        pts[n++] = (hz_point){"液位", "1#储罐", 'l', height};
        pts[n++] = (hz_point){"液位", "2#储罐", 'l', height};
        pts[n++] = (hz_point){"压力", "1#储罐", 'p', op};
        pts[n++] = (hz_point){"压力", "2#储罐", 'p', op};
        pts[n++] = (hz_point){"温度", "1#储罐", 0, 0};
        pts[n++] = (hz_point){"温度", "2#储罐", 0, 0};
    } else if (strcmp(h->category, "生产装置") == 0 && strstr(sub, "液氧")) {
        pts[n++] = (hz_point){"氧气", "制氧车间", 0, 0};
        pts[n++] = (hz_point){"氧气", "充装间", 0, 0};
        pts[n++] = (hz_point){"压力", "液氧储罐", 'p', 0.6};
        pts[n++] = (hz_point){"压力", "氧气管网", 'p', 3.0};
        pts[n++] = (hz_point){"液位", "液氧储罐", 'l', 10};
        pts[n++] = (hz_point){"温度", "空压机房", 0, 0};
    } else if (strcmp(h->category, "生产装置") == 0) {
        pts[n++] = (hz_point){"可燃气体", "合成车间", 0, 0};
        pts[n++] = (hz_point){"可燃气体", "压缩机房", 0, 0};
        pts[n++] = (hz_point){"可燃气体", "变换工段", 0, 0};
        pts[n++] = (hz_point){"可燃气体", "精馏工段", 0, 0};
        pts[n++] = (hz_point){"压力", "合成塔", 'p', 15};
        pts[n++] = (hz_point){"压力", "变换炉", 'p', 2.0};
        pts[n++] = (hz_point){"压力", "压缩机出口", 'p', 2.5};
        pts[n++] = (hz_point){"液位", "氨分离器", 'l', 3};
        pts[n++] = (hz_point){"温度", "合成车间", 0, 0};
        pts[n++] = (hz_point){"温度", "配电室", 0, 0};
    } else if (strstr(sub, "一氧化碳")) { /* blast-furnace gas holder */
        pts[n++] = (hz_point){"一氧化碳", "煤气柜区", 0, 0};
        pts[n++] = (hz_point){"一氧化碳", "加压机房", 0, 0};
        pts[n++] = (hz_point){"一氧化碳", "煤气管道排水器", 0, 0};
        pts[n++] = (hz_point){"压力", "煤气柜", 'p', 0.003};
        pts[n++] = (hz_point){"液位", "煤气柜柜位", 'l', 40};
    } else { /* warehouses: 硝酸铵, fireworks */
        pts[n++] = (hz_point){"温度", "1#库房", 0, 0};
        pts[n++] = (hz_point){"温度", "2#库房", 0, 0};
        pts[n++] = (hz_point){"温度", "3#库房", 0, 0};
    }
    for (size_t i = 0; i < n && rc == YJ_OK; i++)
        rc = hz_sensor(m, &o, (int)i + 1, &pts[i], err);
    return rc;
}

/* ======================================================================== */
/* City-wide: rain gauges, river and reservoir stations, geological hazards  */
/* ======================================================================== */

/* Per-region counters for names ("…镇2号雨量站"). */
typedef struct {
    char code[16];
    int n;
} name_count;

static int bump_name(name_count *nc, size_t *nnc, size_t cap, const char *code)
{
    for (size_t i = 0; i < *nnc; i++)
        if (strcmp(nc[i].code, code) == 0)
            return ++nc[i].n;
    if (*nnc < cap) {
        snprintf(nc[*nnc].code, sizeof nc[*nnc].code, "%s", code);
        nc[(*nnc)++].n = 1;
    }
    return 1;
}

/* A city-wide object at township level in county; code "<prefix><county><NNN>". */
static yj_code city_object(mctx *m, const char *prefix, int seq, const char *county,
                           const char *town, const char *name_tail, const char *kind,
                           const char *operator_, name_count *nc, size_t *nnc, size_t nccap,
                           mobj *o, yj_err *err)
{
    char region[16], address[512], code[32], tname[128], name[240], contact[16];
    double lat = 0, lon = 0;
    yj_code rc =
        m->env->place(m->env->geo, county, town, region, &lat, &lon, address, sizeof address, err);
    if (rc != YJ_OK)
        return rc;
    region_name(m, region, tname, sizeof tname);
    if (nc) {
        int k = bump_name(nc, nnc, nccap, region);
        if (k > 1)
            snprintf(name, sizeof name, "%s%s%d号%s", county_name(county), tname, k, name_tail);
        else
            snprintf(name, sizeof name, "%s%s%s", county_name(county), tname, name_tail);
    } else {
        snprintf(name, sizeof name, "%s", name_tail);
    }
    snprintf(code, sizeof code, "%s%s%03d", prefix, county, seq);
    mobile(m, contact);
    obj_spec sp = {.code = code,
                   .name = name,
                   .kind = kind,
                   .operator_ = operator_,
                   .phone = contact,
                   .region = region,
                   .lat = lat,
                   .lon = lon};
    return object_put(m, &sp, o, err);
}

static yj_code gen_rain_gauges(mctx *m, yj_err *err)
{
    name_count nc[160];
    size_t nnc = 0;
    yj_code rc = YJ_OK;
    for (size_t ci = 0; ci < 6 && rc == YJ_OK; ci++)
        for (int k = 1; k <= 20 && rc == YJ_OK; k++) {
            mobj o;
            rc = city_object(m, "YL", k, county_codes[ci], NULL, "雨量站", "雨量站",
                             ci == 0 ? "晋城市水文水资源勘测分局" : "晋城市气象局", nc, &nnc,
                             COUNT_OF(nc), &o, err);
            if (rc != YJ_OK)
                break;
            char scode[64], name[320];
            snprintf(scode, sizeof scode, "%s-01", o.code);
            snprintf(name, sizeof name, "%s翻斗雨量计", o.name);
            sensor_spec ss = {.code = scode,
                              .name = name,
                              .type = "雨量",
                              .location = "观测场",
                              .interval_s = 300,
                              .range_lo = NAN,
                              .range_hi = NAN};
            rc = sensor_put(m, &o, &ss, NULL, err);
        }
    return rc;
}

typedef struct {
    const char *county, *town, *name;
    bool reservoir;
    double normal; /* normal water level, m above sea level (1985 国家高程基准) */
} station;

/* River gauging stations and reservoirs of 晋城: 沁河 through 沁水, 阳城 and
 * 泽州; 丹河 from 高平 through 泽州 and 城区; their tributaries.  Levels are
 * elevations of the water surface. */
static const station stations[] = {
    {"140521", "郑庄镇", "沁河郑庄水文站", false, 752.4},
    {"140521", "端氏镇", "沁河端氏水文站", false, 706.8},
    {"140521", "嘉峰镇", "沁河嘉峰水文站", false, 655.2},
    {"140521", "龙港镇", "县河龙港水位站", false, 776.5},
    {"140521", "固县乡", "端氏河固县水位站", false, 812.3},
    {"140521", "郑庄镇", "张峰水库", true, 751.0},
    {"140522", "润城镇", "沁河润城水文站", false, 561.7},
    {"140522", "北留镇", "沁河北留水位站", false, 586.4},
    {"140522", "町店镇", "芦苇河町店水位站", false, 612.9},
    {"140522", "凤城镇", "获泽河凤城水位站", false, 690.5},
    {"140522", "董封乡", "董封水库", true, 781.2},
    {"140522", "横河镇", "横河水位站", false, 842.0},
    {"140525", "山河镇", "沁河山河水位站", false, 398.6},
    {"140525", "高都镇", "丹河高都水文站", false, 683.1},
    {"140525", "巴公镇", "巴公河巴公水位站", false, 792.8},
    {"140525", "金村镇", "任庄水库", true, 728.0},
    {"140525", "晋庙铺镇", "丹河晋庙铺水位站", false, 585.0},
    {"140525", "大东沟镇", "长河大东沟水位站", false, 741.6},
    {"140502", "北石店镇", "丹河北石店水位站", false, 738.2},
    {"140502", "西街街道", "白水河西街水位站", false, 752.9},
    {"140502", "钟家庄街道", "杜河水库", true, 776.4},
    {"140581", "米山镇", "丹河米山水文站", false, 884.5},
    {"140581", "三甲镇", "丹河三甲水位站", false, 851.2},
    {"140581", "河西镇", "许河河西水位站", false, 902.7},
    {"140581", "建宁乡", "申庄水库", true, 918.3},
    {"140581", "野川镇", "东仓河野川水位站", false, 936.0},
    {"140524", "附城镇", "东大河附城水位站", false, 934.6},
    {"140524", "崇文镇", "陵川崇文水位站", false, 1062.4},
    {"140524", "潞城镇", "潞城水位站", false, 987.1},
    {"140524", "平城镇", "平城水库", true, 1041.8},
};

static yj_code gen_stations(mctx *m, yj_err *err)
{
    yj_code rc = YJ_OK;
    int seq[6] = {0};
    for (size_t i = 0; i < COUNT_OF(stations) && rc == YJ_OK; i++) {
        const station *st = &stations[i];
        mobj o;
        rc = city_object(m, "SW", ++seq[county_slot(st->county)], st->county, st->town, st->name,
                         st->reservoir ? "水库水位站" : "河道水文站",
                         st->reservoir ? "晋城市水务局" : "晋城市水文水资源勘测分局", NULL, NULL, 0,
                         &o, err);
        if (rc != YJ_OK)
            break;
        /* 警戒水位 (reservoirs: 汛限水位) and 保证水位 (设计洪水位) above normal */
        double warn = round_to(st->normal + mr_real(&m->rng, 1.8, 3.0), 0.01);
        double guard = round_to(warn + mr_real(&m->rng, 1.0, 2.0), 0.01);
        char scode[64], name[320], rname[360];
        snprintf(scode, sizeof scode, "%s-01", o.code);
        snprintf(name, sizeof name, "%s水位计", o.name);
        sensor_spec ss = {.code = scode,
                          .name = name,
                          .type = "水位",
                          .location = st->reservoir ? "坝前" : "基本水尺断面",
                          .interval_s = 300,
                          .range_lo = round_to(st->normal - 15, 1),
                          .range_hi = round_to(st->normal + 20, 1)};
        int64_t sid = 0;
        rc = sensor_put(m, &o, &ss, &sid, err);
        if (rc == YJ_OK) {
            snprintf(rname, sizeof rname, "%s%s/保证水位", st->name,
                     st->reservoir ? "汛限" : "警戒");
            double lv[4] = {NAN, warn, NAN, guard};
            rc = threshold_rule(m, rname, sid, o.region, true, lv, 0.1, err);
        }
        if (rc == YJ_OK) {
            snprintf(rname, sizeof rname, "%s水位陡涨", st->name);
            rc = rate_rule(m, rname, sid, o.region, 3600, 0.5, "yellow", err);
        }
        if (rc == YJ_OK) {
            snprintf(scode, sizeof scode, "%s-02", o.code);
            snprintf(name, sizeof name, "%s雨量计", o.name);
            sensor_spec rs = {.code = scode,
                              .name = name,
                              .type = "雨量",
                              .location = "观测场",
                              .interval_s = 300,
                              .range_lo = NAN,
                              .range_hi = NAN};
            rc = sensor_put(m, &o, &rs, NULL, err);
        }
    }
    return rc;
}

static yj_code gen_geohazards(mctx *m, yj_err *err)
{
    static const int per_county[6] = {2, 9, 9, 8, 8, 4}; /* 40, mountains first */
    static const char *const kinds[] = {"滑坡", "崩塌", "采空区地面塌陷", "地裂缝", "泥石流"};
    name_count nc[64];
    size_t nnc = 0;
    yj_code rc = YJ_OK;
    for (size_t ci = 0; ci < 6 && rc == YJ_OK; ci++)
        for (int k = 1; k <= per_county[ci] && rc == YJ_OK; k++) {
            /* the coal counties have mined-out ground; the others slopes */
            size_t kind = ci == 4 || ci == 5 ? (mr_chance(&m->rng, 0.6) ? 2 : 3)
                                             : mr_next(&m->rng) % COUNT_OF(kinds);
            char tail[64];
            snprintf(tail, sizeof tail, "%s隐患点", kinds[kind]);
            mobj o;
            rc = city_object(m, "DZ", k, county_codes[ci], NULL, tail, "地质灾害隐患点",
                             "晋城市自然资源局", nc, &nnc, COUNT_OF(nc), &o, err);
            for (int g = 1; g <= 2 && rc == YJ_OK; g++) {
                char scode[64], name[320], where[32], rname[360];
                snprintf(scode, sizeof scode, "%s-%02d", o.code, g);
                snprintf(where, sizeof where, "GNSS监测墩%d#", g);
                snprintf(name, sizeof name, "%s%s地表位移", o.name, where);
                sensor_spec ss = {.code = scode,
                                  .name = name,
                                  .type = "位移",
                                  .location = where,
                                  .range_lo = NAN,
                                  .range_hi = NAN,
                                  .spread = 0.0006};
                int64_t sid = 0;
                rc = sensor_put(m, &o, &ss, &sid, err);
                if (rc == YJ_OK) {
                    snprintf(rname, sizeof rname, "%s%s位移速率", o.name, where);
                    rc = rate_rule(m, rname, sid, o.region, 3600, 5, "yellow", err);
                }
            }
            if (rc == YJ_OK && kind != 2 && kind != 4) { /* a crack meter on slopes and fissures */
                char scode[64], name[320], rname[360];
                snprintf(scode, sizeof scode, "%s-03", o.code);
                snprintf(name, sizeof name, "%s裂缝计", o.name);
                sensor_spec ss = {.code = scode,
                                  .name = name,
                                  .type = "位移",
                                  .location = "后缘裂缝",
                                  .range_lo = NAN,
                                  .range_hi = NAN,
                                  .spread = 0.0004};
                int64_t sid = 0;
                rc = sensor_put(m, &o, &ss, &sid, err);
                if (rc == YJ_OK) {
                    snprintf(rname, sizeof rname, "%s裂缝扩展速率", o.name);
                    rc = rate_rule(m, rname, sid, o.region, 3600, 2, "orange", err);
                }
            }
        }
    return rc;
}

/* ---- city lifelines (城市生命线) in 城区 ------------------------------------- */

typedef struct {
    const char *type, *where;
    double lv[4]; /* thresholds (NAN unused); all NAN: the type's defaults */
    double hyst;
} life_point;

typedef struct {
    const char *name, *kind, *operator_;
    life_point pts[6];
} lifeline;

#define NO4                                                                                        \
    {                                                                                              \
        NAN, NAN, NAN, NAN                                                                         \
    }

static const lifeline lifelines[] = {
    {"泽州路燃气管网",
     "燃气管网",
     "晋城市燃气有限公司",
     {{"燃气管网可燃气体", "泽州路与凤台街交叉口阀门井", NO4, 0},
      {"燃气管网可燃气体", "泽州路中段相邻雨水井", NO4, 0},
      {"燃气管网可燃气体", "泽州路南段调压箱", NO4, 0},
      {"燃气管网可燃气体", "泽州路北段污水井", NO4, 0}}},
    {"凤台街燃气管网",
     "燃气管网",
     "晋城市燃气有限公司",
     {{"燃气管网可燃气体", "凤台街东段阀门井", NO4, 0},
      {"燃气管网可燃气体", "凤台街西段阀门井", NO4, 0},
      {"燃气管网可燃气体", "凤台街相邻电力井", NO4, 0},
      {"燃气管网可燃气体", "凤台街调压站", NO4, 0}}},
    {"北石店燃气管网",
     "燃气管网",
     "晋城市燃气有限公司",
     {{"燃气管网可燃气体", "北石店中压管线阀门井", NO4, 0},
      {"燃气管网可燃气体", "北石店相邻污水井", NO4, 0},
      {"燃气管网可燃气体", "北石店调压站", NO4, 0},
      {"燃气管网可燃气体", "北石店商业区阀门井", NO4, 0}}},
    {"白水河大桥",
     "桥梁",
     "晋城市城市管理局",
     {{"桥梁挠度", "主跨跨中", {NAN, 20, 30, 40}, 1},
      {"桥梁挠度", "次跨跨中", {NAN, 15, 22, 30}, 1},
      {"桥梁应变", "主梁跨中底板", {NAN, 500, 700, 900}, 20},
      {"桥梁应变", "主梁支点顶板", {NAN, 450, 650, 850}, 20},
      {"桥梁振动", "主跨跨中", {NAN, 0.5, 0.8, 1.2}, 0.05}}},
    {"泽州路立交桥",
     "桥梁",
     "晋城市城市管理局",
     {{"桥梁挠度", "匝道跨中", {NAN, 18, 26, 35}, 1},
      {"桥梁挠度", "主线跨中", {NAN, 22, 32, 42}, 1},
      {"桥梁应变", "主线跨中底板", {NAN, 500, 700, 900}, 20},
      {"桥梁应变", "匝道墩顶", {NAN, 400, 600, 800}, 20},
      {"桥梁振动", "主线跨中", {NAN, 0.5, 0.8, 1.2}, 0.05}}},
    {"凤台西街下穿通道",
     "下穿通道",
     "晋城市城市管理局",
     {{"下穿通道积水深度", "通道最低点", {NAN, 0.15, 0.27, 0.5}, 0.03},
      {"下穿通道积水深度", "北引道", {NAN, 0.15, 0.27, 0.5}, 0.03}}},
    {"中原街铁路下穿通道",
     "下穿通道",
     "晋城市城市管理局",
     {{"下穿通道积水深度", "通道最低点", {NAN, 0.15, 0.27, 0.5}, 0.03},
      {"下穿通道积水深度", "南引道", {NAN, 0.15, 0.27, 0.5}, 0.03}}},
    {"太行路下穿通道",
     "下穿通道",
     "晋城市城市管理局",
     {{"下穿通道积水深度", "通道最低点", {NAN, 0.15, 0.27, 0.5}, 0.03},
      {"下穿通道积水深度", "东引道", {NAN, 0.15, 0.27, 0.5}, 0.03}}},
};

static yj_code gen_lifelines(mctx *m, yj_err *err)
{
    yj_code rc = YJ_OK;
    for (size_t i = 0; i < COUNT_OF(lifelines) && rc == YJ_OK; i++) {
        const lifeline *l = &lifelines[i];
        char full[200];
        snprintf(full, sizeof full, "晋城市城区%s", l->name);
        mobj o;
        rc = city_object(m, "SMX", (int)i + 1, "140502", NULL, full, l->kind, l->operator_, NULL,
                         NULL, 0, &o, err);
        for (size_t k = 0; k < COUNT_OF(l->pts) && l->pts[k].type && rc == YJ_OK; k++) {
            const life_point *p = &l->pts[k];
            char scode[64], name[320], rname[360];
            snprintf(scode, sizeof scode, "%s-%02zu", o.code, k + 1);
            snprintf(name, sizeof name, "%s%s%s", l->name, p->where, p->type);
            sensor_spec ss = {.code = scode,
                              .name = name,
                              .type = p->type,
                              .location = p->where,
                              .range_lo = NAN,
                              .range_hi = NAN,
                              .spread = 0.002};
            int64_t sid = 0;
            rc = sensor_put(m, &o, &ss, &sid, err);
            if (rc == YJ_OK && !isnan(p->lv[1])) {
                snprintf(rname, sizeof rname, "%s%s%s超限", l->name, p->where, p->type);
                rc = threshold_rule(m, rname, sid, o.region, true, p->lv, p->hyst, err);
            }
        }
    }
    return rc;
}

/* ======================================================================== */
/* Entry points                                                              */
/* ======================================================================== */

yj_code demo_monitor_create(yj_demo *env, yj_err *err)
{
    mctx m = {.env = env, .c = env->conn, .rng = {env->seed ^ 0x6d6f6e69746f72ULL}};
    ent_row *ents = NULL;
    hz_row *hz = NULL;
    size_t nents = 0, nhz = 0;
    yj_code rc = load_enterprises(&m, &ents, &nents, err);
    if (rc == YJ_OK)
        rc = load_hazards(&m, &hz, &nhz, err);
    /* every coal mine, in id order: the enterprise login's mine is the first */
    int multi_left = 3;
    for (size_t i = 0; i < nents && rc == YJ_OK; i++)
        if (strcmp(ents[i].industry, "煤矿") == 0)
            rc = gen_mine(&m, &ents[i], &multi_left, err);
    for (size_t i = 0; i < nhz && rc == YJ_OK; i++)
        if (strcmp(hz[i].category, "瓦斯") != 0) /* a mine's gas is its KJ system */
            rc = gen_hazard(&m, &hz[i], ent_by_id(ents, nents, hz[i].enterprise_id), err);
    if (rc == YJ_OK)
        rc = gen_rain_gauges(&m, err);
    if (rc == YJ_OK)
        rc = gen_stations(&m, err);
    if (rc == YJ_OK)
        rc = gen_geohazards(&m, err);
    if (rc == YJ_OK)
        rc = gen_lifelines(&m, err);
    free(ents);
    free(hz);
    if (rc == YJ_OK && env->out)
        fprintf(env->out, "demo: %d monitored_object, %d sensor, %d monitor_rule\n", m.objects,
                m.sensors, m.rules);
    return rc;
}

typedef struct {
    const char *name, *region;
    int min_level;
    const char *industries;
    const char *members[3];
} group_spec;

static const group_spec groups[] = {
    {"市应急局值班室", "1405", 4, "", {"duty", "commander"}},
    {"泽州县应急局值班室", "140525", 4, "", {"duty_zezhou"}},
    {"高平市应急局值班室", "140581", 4, "", {"duty_gaoping"}},
    {"市煤矿安全监管", "1405", 4, "煤矿", {"supervisor"}},
    {"沁水县安全监管", "140521", 4, "煤矿,危险化学品", {"supervisor_qinshui"}},
};

yj_code demo_monitor_groups(yj_demo *d, yj_err *err)
{
    yj_conn *c = d->conn;
    FILE *out = d->out;
    yj_code rc = YJ_OK;
    size_t made = 0;
    for (size_t i = 0; i < COUNT_OF(groups) && rc == YJ_OK; i++) {
        const group_spec *g = &groups[i];
        int64_t users[3];
        size_t n = 0;
        json_t *names = json_array();
        for (size_t k = 0; k < COUNT_OF(g->members) && g->members[k] && rc == YJ_OK; k++) {
            int64_t id = 0;
            yj_stmt *st = yj_prepare(c, "SELECT id FROM users WHERE username = ?", err);
            if (st == NULL) {
                rc = yj_fail(err);
                break;
            }
            yj_bind_text(st, 1, g->members[k]);
            if (yj_step(st, err) == 1)
                id = yj_col_int(st, 0);
            yj_stmt_done(st);
            if (id == 0)
                rc = yj_err_set(err, YJ_EINTERNAL, NULL, "demo group %s: no user %s", g->name,
                                g->members[k]);
            users[n++] = id;
            json_array_append_new(names, json_string(g->members[k]));
        }
        int64_t gid = 0;
        if (rc == YJ_OK)
            rc = alarm_group_create_in(c, g->name, g->region, g->min_level, "", g->industries,
                                       users, n, &gid, err);
        if (rc == YJ_OK) {
            json_t *after =
                json_pack("{s:I,s:s,s:s,s:i,s:s,s:s,s:o}", "id", (json_int_t)gid, "name", g->name,
                          "region_code", g->region, "min_level", g->min_level, "kinds", "",
                          "industries", g->industries, "members", names);
            names = NULL;
            rc = audit_append(c, "demo", "create", "alarm_group", gid, NULL, after, err);
            json_decref(after);
            made++;
        }
        json_decref(names);
    }
    if (rc == YJ_OK && out)
        fprintf(out, "demo: %zu alarm recipient groups\n", made);
    return rc;
}
