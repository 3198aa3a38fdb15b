/*
 * objects.c — derived columns of the sensor registry.
 *
 * A sensor belongs to its monitored object's enterprise (so the store's
 * enterprise scope shows an enterprise user exactly its own sensors), and
 * takes its unit, physical range and reporting interval from its type when
 * they are left blank.
 */
#include "monitor.h"
#include "../registry/registry.h"

#include <math.h>

yj_code sensor_prepare(yj_conn *c, json_t *rec, yj_err *err)
{
    int t = mon_type_find(json_string_value(json_object_get(rec, "type")));
    if (t < 0)
        return yj_err_set(err, YJ_EINVAL, "type", "未知的传感器类型");
    const mon_sensor_type *ty = mon_type_at((size_t)t);
    json_t *v = json_object_get(rec, "unit");
    if (v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        json_object_set_new(rec, "unit", json_string(ty->unit));
    v = json_object_get(rec, "range_lo");
    if (v == NULL || json_is_null(v))
        json_object_set_new(rec, "range_lo", json_real(ty->lo));
    v = json_object_get(rec, "range_hi");
    if (v == NULL || json_is_null(v))
        json_object_set_new(rec, "range_hi", json_real(ty->hi));
    v = json_object_get(rec, "interval_s");
    if (v == NULL || json_is_null(v))
        json_object_set_new(rec, "interval_s", json_integer(ty->interval_s));
    double lo = json_number_value(json_object_get(rec, "range_lo"));
    double hi = json_number_value(json_object_get(rec, "range_hi"));
    if (!(lo < hi))
        return yj_err_set(err, YJ_EINVAL, "range_hi", "量程上限应大于量程下限");

    /* the enterprise is the monitored object's */
    json_int_t obj = json_integer_value(json_object_get(rec, "object_id"));
    yj_stmt *st = yj_prepare(c, "SELECT enterprise_id FROM monitored_object WHERE id = ?", err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_int(st, 1, obj);
    int r = yj_step(st, err);
    if (r < 0) {
        yj_stmt_done(st);
        return yj_fail(err);
    }
    if (r == 0) {
        yj_stmt_done(st);
        return yj_err_set(err, YJ_EINVAL, "object_id", "监测对象 %lld 不存在", (long long)obj);
    }
    if (yj_col_null(st, 0))
        json_object_set_new(rec, "enterprise_id", json_null());
    else
        json_object_set_new(rec, "enterprise_id", json_integer(yj_col_int(st, 0)));
    yj_stmt_done(st);
    return YJ_OK;
}
