/*
 * payload.c — the JSON reading payload shared by MQTT and HTTP ingest.
 *
 * One reading: {"sensor":"S","ts":T,"value":V}; over MQTT the sensor may be
 * left out and taken from the topic's last segment.  A batch is
 * {"readings":[...]} or a bare array.  ts is milliseconds since the epoch
 * (an integer) or RFC 3339 text with an offset ("2026-11-25T08:00:00+08:00",
 * fractional seconds allowed).  A reading that cannot be read comes back
 * with bad=true and a reason, so it is stored as a reject, never dropped.
 */
#include "monitor.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_BATCH 10000

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* RFC 3339 with a mandatory offset -> ms since the epoch. */
static bool parse_rfc3339(const char *s, int64_t *out)
{
    size_t len = strlen(s);
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' ||
        s[16] != ':')
        return false;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2), h = digits(s + 11, 2),
        mi = digits(s + 14, 2), se = digits(s + 17, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        se < 0 || se > 60)
        return false;
    const char *p = s + 19;
    int ms = 0;
    if (*p == '.') {
        p++;
        int nd = 0;
        while (isdigit((unsigned char)*p)) {
            if (nd < 3)
                ms = ms * 10 + (*p - '0');
            nd++;
            p++;
        }
        if (nd == 0 || nd > 9)
            return false;
        for (; nd < 3; nd++)
            ms *= 10;
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh = digits(p + 1, 2), om = digits(p + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return false;
        off = (oh * 60 + om) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return false;
    }
    if (*p != '\0')
        return false;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)))
        return false;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = se};
    time_t t = timegm(&tm);
    *out = ((int64_t)t - (int64_t)off * 60) * 1000 + ms;
    return true;
}

static void bad(mon_reading *r, const char *why)
{
    r->bad = true;
    r->reject = MON_REJ_MALFORMED;
    snprintf(r->detail, sizeof r->detail, "%s", why);
}

static void decode_one(const json_t *o, const char *topic_sensor, mon_reading *r)
{
    memset(r, 0, sizeof *r);
    r->value = NAN;
    if (!json_is_object(o)) {
        bad(r, "读数应为 JSON 对象");
        return;
    }
    const json_t *s = json_object_get(o, "sensor");
    const char *code = s ? json_string_value(s) : topic_sensor;
    if (code == NULL || code[0] == '\0') {
        bad(r, "缺少传感器编码 sensor");
        return;
    }
    if (strlen(code) >= sizeof r->sensor) {
        bad(r, "传感器编码过长");
        return;
    }
    snprintf(r->sensor, sizeof r->sensor, "%s", code);
    const json_t *ts = json_object_get(o, "ts");
    if (json_is_integer(ts)) {
        r->ts = json_integer_value(ts);
        if (r->ts <= 0) {
            bad(r, "时间戳 ts 应为正的毫秒数");
            return;
        }
    } else if (json_is_string(ts)) {
        if (!parse_rfc3339(json_string_value(ts), &r->ts)) {
            bad(r, "时间戳 ts 应为 RFC 3339 格式并带时区，如 2026-11-25T08:00:00+08:00");
            return;
        }
    } else {
        bad(r, "缺少时间戳 ts（毫秒整数或 RFC 3339 文本）");
        return;
    }
    const json_t *v = json_object_get(o, "value");
    if (!json_is_number(v)) {
        bad(r, "缺少数值 value，或 value 不是数字");
        return;
    }
    r->value = json_number_value(v);
}

yj_code mon_payload_decode(const char *data, size_t len, const char *topic_sensor,
                           mon_reading **out, size_t *n, yj_err *err)
{
    *out = NULL;
    *n = 0;
    json_error_t je;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return yj_err_set(err, YJ_EPARSE, NULL, "JSON 无法解析（第 %d 行第 %d 列）：%s", je.line,
                          je.column, je.text);
    const json_t *list = NULL;
    if (json_is_array(root))
        list = root;
    else if (json_is_object(root) && json_object_get(root, "readings"))
        list = json_object_get(root, "readings");
    yj_code rc = YJ_OK;
    if (list) {
        if (!json_is_array(list)) {
            rc = yj_err_set(err, YJ_EPARSE, "readings", "readings 应为数组");
        } else if (json_array_size(list) > MAX_BATCH) {
            rc = yj_err_set(err, YJ_ETOOBIG, "readings", "一批最多 %d 条读数", MAX_BATCH);
        } else if (json_array_size(list) > 0) {
            *n = json_array_size(list);
            *out = calloc(*n, sizeof **out);
            if (*out == NULL) {
                *n = 0;
                rc = yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
            } else {
                for (size_t i = 0; i < *n; i++)
                    decode_one(json_array_get(list, i), topic_sensor, &(*out)[i]);
            }
        }
    } else if (json_is_object(root)) {
        *out = calloc(1, sizeof **out);
        if (*out == NULL) {
            rc = yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
        } else {
            *n = 1;
            decode_one(root, topic_sensor, *out);
        }
    } else {
        rc = yj_err_set(err, YJ_EPARSE, NULL, "载荷应为读数对象、读数数组或 {\"readings\":[…]}");
    }
    json_decref(root);
    return rc;
}
