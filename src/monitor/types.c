/*
 * types.c — sensor types and the built-in rule defaults per type.
 *
 * Physical ranges are what the instrument can report at all (a reading
 * outside is a fault, rejected with reason "range"), not alarm levels.
 *
 * Default alarm levels, by source:
 *   CH4 (甲烷): 《煤矿安全规程》(2022): 0.75 % in a return airway requires the
 *     cause to be found (查明原因); 1.0 % is the alarm concentration of
 *     working-face sensors (报警浓度); 1.5 % cuts power and withdraws people
 *     (断电浓度, 停止工作、撤出人员); 2.0 % is a local accumulation (局部积聚)
 *     that stops work within 20 m.  We map them to blue / yellow / orange /
 *     red.  Power is restored below 1.0 % (复电浓度); one hysteresis value
 *     serves every level, so the default only keeps a 0.05 % band against
 *     flapping, and a mine's own restore value (KJ AQMC 复电值) sets the
 *     sensor's hysteresis to cut − restore.
 *   CO (一氧化碳): 《煤矿安全规程》 maximum allowed concentration 0.0024 % =
 *     24 ppm (yellow); 50 and 100 ppm orange/red are our graded steps.
 *   O2 (氧气): intake air must hold at least 20 % (yellow below 20 %); 19 %
 *     and 18 % orange/red are graded steps (18 % is the GBZ 2.1 lower limit
 *     for confined-space entry).
 *   Temperature (温度): working faces above 26 °C shorten shifts (yellow),
 *     above 30 °C stop work (orange) — 《煤矿安全规程》.
 *   Combustible gas (可燃气体, 燃气管网): GB/T 50493-2019 §5.5.2: first alarm
 *     ≤ 25 % LEL (yellow), second ≤ 50 % LEL (orange).
 *   Rainfall (雨量): 中国气象局《气象灾害预警信号发布与传播办法》 rainstorm
 *     signals: blue 50 mm in 12 h, yellow 50 mm in 6 h, orange 50 mm in
 *     3 h, red 100 mm in 3 h — one rolling-sum rule with a window per level.
 * Water level, displacement, saturation line, pressures and the bridge
 * channels have station-specific limits (警戒水位, design values); they get
 * per-sensor rules (the demo sets them) and only the offline default here.
 * Every sensor type gets an offline (data gap) rule: silent for 10 minutes,
 * or three reporting intervals if longer.
 */
#include "monitor.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const mon_sensor_type types[] = {
    /* coal mines and industrial sites */
    {"ch4", "甲烷", "%", 0, 100, 30},
    {"co", "一氧化碳", "ppm", 0, 2000, 30},
    {"o2", "氧气", "%", 0, 30, 30},
    {"wind", "风速", "m/s", 0, 30, 30},
    {"temp", "温度", "°C", -40, 200, 60},
    {"pressure", "压力", "MPa", -0.1, 60, 60},
    {"level", "液位", "m", 0, 100, 60},
    {"lel", "可燃气体", "%LEL", 0, 100, 30},
    {"dust", "粉尘浓度", "mg/m³", 0, 10000, 60},
    {"switch", "开关量", "", 0, 1, 60}, /* KJ switch points: 馈电, 风门, 风机开停 (0/1) */
    /* natural hazards */
    {"rain", "雨量", "mm", 0, 300, 300, true},
    {"water", "水位", "m", -50, 9000, 300},
    {"disp", "位移", "mm", -10000, 10000, 600},
    {"phreatic", "浸润线埋深", "m", 0, 500, 600},
    {"seismic", "地震烈度", "度", 0, 12, 60},
    /* city lifelines (城市生命线) */
    {"gas_lel", "燃气管网可燃气体", "%LEL", 0, 100, 60},
    {"water_pressure", "供水管网压力", "MPa", 0, 5, 60},
    {"fire_pressure", "消防管网压力", "MPa", 0, 5, 60},
    {"drain_level", "排水管网液位", "m", 0, 20, 60},
    {"bridge_deflection", "桥梁挠度", "mm", -2000, 2000, 60},
    {"bridge_strain", "桥梁应变", "με", -10000, 10000, 60},
    {"bridge_vibration", "桥梁振动", "m/s²", 0, 100, 60},
    {"ponding", "下穿通道积水深度", "m", 0, 10, 60},
};
#define NTYPES (sizeof types / sizeof types[0])

static const char *type_labels[NTYPES + 1];

size_t mon_type_count(void)
{
    return NTYPES;
}

const mon_sensor_type *mon_type_at(size_t i)
{
    return i < NTYPES ? &types[i] : NULL;
}

int mon_type_find(const char *s)
{
    if (s == NULL)
        return -1;
    for (size_t i = 0; i < NTYPES; i++)
        if (strcmp(types[i].code, s) == 0 || strcmp(types[i].label, s) == 0)
            return (int)i;
    return -1;
}

const char *const *mon_type_labels(void)
{
    if (type_labels[0] == NULL)
        for (size_t i = 0; i < NTYPES; i++)
            type_labels[i] = types[i].label;
    return type_labels;
}

/* ---- rule kinds ------------------------------------------------------------ */

static const struct {
    const char *name, *label;
} kinds[MON_RULE_KIND_COUNT] = {
    [MON_RULE_THRESHOLD] = {"threshold", "阈值"}, [MON_RULE_RATE] = {"rate", "变化率"},
    [MON_RULE_SUM] = {"sum", "累计值"},           [MON_RULE_MULTI] = {"multi", "多传感器联合"},
    [MON_RULE_GAP] = {"gap", "数据中断"},
};

const char *mon_rule_kind_name(mon_rule_kind k)
{
    return (unsigned)k < MON_RULE_KIND_COUNT ? kinds[k].name : "?";
}

const char *mon_rule_kind_label(mon_rule_kind k)
{
    return (unsigned)k < MON_RULE_KIND_COUNT ? kinds[k].label : "?";
}

int mon_rule_kind_parse(const char *s)
{
    for (int k = 0; s && k < MON_RULE_KIND_COUNT; k++)
        if (strcmp(kinds[k].name, s) == 0)
            return k;
    return -1;
}

/* ---- defaults ---------------------------------------------------------------- */

static mon_rule threshold(bool high, double blue, double yellow, double orange, double red,
                          double hyst)
{
    return (mon_rule){.kind = MON_RULE_THRESHOLD,
                      .high = high,
                      .t = {blue, yellow, orange, red},
                      .hysteresis = hyst};
}

size_t mon_type_defaults(int type, mon_rule *out, size_t max)
{
    if (type < 0 || (size_t)type >= NTYPES || max < 2)
        return 0;
    const char *c = types[type].code;
    size_t n = 0;
    if (strcmp(c, "ch4") == 0)
        out[n++] = threshold(true, 0.75, 1.0, 1.5, 2.0, 0.05);
    else if (strcmp(c, "co") == 0)
        out[n++] = threshold(true, NAN, 24, 50, 100, 2);
    else if (strcmp(c, "o2") == 0)
        out[n++] = threshold(false, NAN, 20, 19, 18, 0.1);
    else if (strcmp(c, "temp") == 0)
        out[n++] = threshold(true, NAN, 26, 30, NAN, 0.5);
    else if (strcmp(c, "lel") == 0 || strcmp(c, "gas_lel") == 0)
        out[n++] = threshold(true, NAN, 25, 50, NAN, 2);
    else if (strcmp(c, "rain") == 0) {
        mon_rule r = {.kind = MON_RULE_SUM, .high = true, .t = {50, 50, 50, 100}};
        r.windows[0] = 12 * 3600 * 1000LL;
        r.windows[1] = 6 * 3600 * 1000LL;
        r.windows[2] = 3 * 3600 * 1000LL;
        r.windows[3] = 3 * 3600 * 1000LL;
        out[n++] = r;
    }
    int64_t gap = 10 * 60 * 1000LL;
    if ((int64_t)types[type].interval_s * 3000 > gap)
        gap = (int64_t)types[type].interval_s * 3000;
    out[n++] = (mon_rule){.kind = MON_RULE_GAP, .sev = 1, .gap_ms = gap};
    return n;
}

/* ---- rule parameters as JSON ----------------------------------------------- */

static const char *const sev_names[5] = {"", "blue", "yellow", "orange", "red"};

static int sev_parse(const char *s)
{
    for (int i = 1; s && i <= 4; i++)
        if (strcmp(sev_names[i], s) == 0)
            return i;
    return 0;
}

static yj_code num(const json_t *o, const char *key, bool required, double lo, double hi,
                   double *out, yj_err *err)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL || json_is_null(v)) {
        if (required)
            return yj_err_set(err, YJ_EINVAL, key, "规则参数 %s 必填", key);
        return YJ_OK;
    }
    if (!json_is_number(v))
        return yj_err_set(err, YJ_EINVAL, key, "规则参数 %s 应为数字", key);
    double d = json_number_value(v);
    if (!isfinite(d) || d < lo || d > hi)
        return yj_err_set(err, YJ_EINVAL, key, "规则参数 %s 超出范围 %g–%g", key, lo, hi);
    *out = d;
    return YJ_OK;
}

static yj_code direction(const json_t *p, bool *high, yj_err *err)
{
    json_t *d = json_object_get(p, "direction");
    *high = true;
    if (d == NULL)
        return YJ_OK;
    const char *s = json_string_value(d);
    if (s && strcmp(s, "high") == 0)
        return YJ_OK;
    if (s && strcmp(s, "low") == 0) {
        *high = false;
        return YJ_OK;
    }
    return yj_err_set(err, YJ_EINVAL, "direction",
                      "direction 应为 high（高于报警）或 low（低于报警）");
}

static yj_code level(const json_t *p, int *sev, yj_err *err)
{
    json_t *l = json_object_get(p, "level");
    *sev = l ? sev_parse(json_string_value(l)) : 0;
    if (*sev == 0)
        return yj_err_set(err, YJ_EINVAL, "level", "level 应为 blue、yellow、orange 或 red");
    return YJ_OK;
}

yj_code mon_rule_from_json(mon_rule_kind kind, const json_t *p, mon_rule *r, yj_err *err)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->high = true;
    for (int i = 0; i < 4; i++)
        r->t[i] = NAN;
    if (!json_is_object(p))
        return yj_err_set(err, YJ_EINVAL, "params", "规则参数应为 JSON 对象");
    yj_code rc = YJ_OK;
    double d = 0;
    switch (kind) {
    case MON_RULE_THRESHOLD: {
        if ((rc = direction(p, &r->high, err)) != YJ_OK)
            return rc;
        json_t *lv = json_object_get(p, "levels");
        if (!json_is_object(lv))
            return yj_err_set(err, YJ_EINVAL, "levels",
                              "levels 应为 {\"blue\":…,\"yellow\":…,\"orange\":…,\"red\":…}");
        const char *k;
        json_t *v;
        int used = 0;
        json_object_foreach(lv, k, v) {
            int s = sev_parse(k);
            if (s == 0 || !json_is_number(v) || !isfinite(json_number_value(v)))
                return yj_err_set(err, YJ_EINVAL, "levels", "levels 中的 %s 无效", k);
            r->t[s - 1] = json_number_value(v);
            used++;
        }
        if (used == 0)
            return yj_err_set(err, YJ_EINVAL, "levels", "至少需要一个级别的阈值");
        /* thresholds must grow with severity in the alarm's direction */
        double prev = NAN;
        for (int s = 0; s < 4; s++) {
            if (isnan(r->t[s]))
                continue;
            if (!isnan(prev) && (r->high ? r->t[s] <= prev : r->t[s] >= prev))
                return yj_err_set(err, YJ_EINVAL, "levels", "级别越高阈值应越%s",
                                  r->high ? "大" : "小");
            prev = r->t[s];
        }
        if ((rc = num(p, "hysteresis", false, 0, 1e9, &r->hysteresis, err)) != YJ_OK)
            return rc;
        if ((rc = num(p, "duration_s", false, 0, 86400, &d, err)) != YJ_OK)
            return rc;
        r->duration_ms = (int64_t)(d * 1000);
        return YJ_OK;
    }
    case MON_RULE_RATE:
        if ((rc = direction(p, &r->high, err)) != YJ_OK || (rc = level(p, &r->sev, err)) != YJ_OK)
            return rc;
        if ((rc = num(p, "window_s", true, 1, 7 * 86400, &d, err)) != YJ_OK)
            return rc;
        r->window_ms = (int64_t)(d * 1000);
        if ((rc = num(p, "delta", true, 1e-9, 1e9, &r->delta, err)) != YJ_OK)
            return rc;
        return YJ_OK;
    case MON_RULE_SUM: {
        json_t *lv = json_object_get(p, "levels");
        if (!json_is_object(lv))
            return yj_err_set(err, YJ_EINVAL, "levels",
                              "levels 应为 {\"blue\":{\"window_s\":…,\"sum\":…},…}");
        const char *k;
        json_t *v;
        int used = 0;
        json_object_foreach(lv, k, v) {
            int s = sev_parse(k);
            double w = 0, sum = 0;
            if (s == 0 || !json_is_object(v) ||
                num(v, "window_s", true, 60, 7 * 86400, &w, NULL) != YJ_OK ||
                num(v, "sum", true, 1e-9, 1e9, &sum, NULL) != YJ_OK)
                return yj_err_set(err, YJ_EINVAL, "levels",
                                  "levels 中的 %s 应为 {\"window_s\":60–604800,\"sum\":>0}", k);
            r->t[s - 1] = sum;
            r->windows[s - 1] = (int64_t)(w * 1000);
            used++;
        }
        if (used == 0)
            return yj_err_set(err, YJ_EINVAL, "levels", "至少需要一个级别");
        return YJ_OK;
    }
    case MON_RULE_MULTI: {
        if ((rc = direction(p, &r->high, err)) != YJ_OK || (rc = level(p, &r->sev, err)) != YJ_OK)
            return rc;
        if ((rc = num(p, "threshold", true, -1e9, 1e9, &r->t[0], err)) != YJ_OK)
            return rc;
        json_t *m = json_object_get(p, "sensors");
        if (!json_is_array(m) || json_array_size(m) < 2 || json_array_size(m) > MON_MAX_MEMBERS)
            return yj_err_set(err, YJ_EINVAL, "sensors", "sensors 应为 2–%d 个传感器编号",
                              MON_MAX_MEMBERS);
        size_t i;
        json_t *v;
        json_array_foreach(m, i, v) {
            if (!json_is_integer(v) || json_integer_value(v) <= 0)
                return yj_err_set(err, YJ_EINVAL, "sensors", "sensors 应为传感器编号（整数）");
            r->members[r->nmembers++] = json_integer_value(v);
        }
        d = 2;
        if ((rc = num(p, "min_count", false, 1, r->nmembers, &d, err)) != YJ_OK)
            return rc;
        r->min_count = (int)d;
        return YJ_OK;
    }
    case MON_RULE_GAP:
        if ((rc = level(p, &r->sev, err)) != YJ_OK)
            return rc;
        if ((rc = num(p, "minutes", true, 1, 7 * 1440, &d, err)) != YJ_OK)
            return rc;
        r->gap_ms = (int64_t)(d * 60000);
        return YJ_OK;
    default:
        return yj_err_set(err, YJ_EINVAL, "kind", "未知的规则类型");
    }
}

json_t *mon_rule_params_json(const mon_rule *r)
{
    json_t *p = json_object();
    switch (r->kind) {
    case MON_RULE_THRESHOLD: {
        json_object_set_new(p, "direction", json_string(r->high ? "high" : "low"));
        json_t *lv = json_object();
        for (int s = 1; s <= 4; s++)
            if (!isnan(r->t[s - 1]))
                json_object_set_new(lv, sev_names[s], json_real(r->t[s - 1]));
        json_object_set_new(p, "levels", lv);
        json_object_set_new(p, "hysteresis", json_real(r->hysteresis));
        json_object_set_new(p, "duration_s", json_integer(r->duration_ms / 1000));
        break;
    }
    case MON_RULE_RATE:
        json_object_set_new(p, "direction", json_string(r->high ? "high" : "low"));
        json_object_set_new(p, "level", json_string(sev_names[r->sev]));
        json_object_set_new(p, "window_s", json_integer(r->window_ms / 1000));
        json_object_set_new(p, "delta", json_real(r->delta));
        break;
    case MON_RULE_SUM: {
        json_t *lv = json_object();
        for (int s = 1; s <= 4; s++)
            if (!isnan(r->t[s - 1]))
                json_object_set_new(lv, sev_names[s],
                                    json_pack("{s:I,s:f}", "window_s",
                                              (json_int_t)(r->windows[s - 1] / 1000), "sum",
                                              r->t[s - 1]));
        json_object_set_new(p, "levels", lv);
        break;
    }
    case MON_RULE_MULTI: {
        json_object_set_new(p, "direction", json_string(r->high ? "high" : "low"));
        json_object_set_new(p, "level", json_string(sev_names[r->sev]));
        json_object_set_new(p, "threshold", json_real(r->t[0]));
        json_object_set_new(p, "min_count", json_integer(r->min_count));
        json_t *m = json_array();
        for (int i = 0; i < r->nmembers; i++)
            json_array_append_new(m, json_integer(r->members[i]));
        json_object_set_new(p, "sensors", m);
        break;
    }
    case MON_RULE_GAP:
        json_object_set_new(p, "level", json_string(sev_names[r->sev]));
        json_object_set_new(p, "minutes", json_integer(r->gap_ms / 60000));
        break;
    default:
        break;
    }
    return p;
}

const char *mon_sev_name(int sev)
{
    return sev >= 1 && sev <= 4 ? sev_names[sev] : "";
}
