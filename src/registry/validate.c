/*
 * validate.c — checking and normalising registry input against the field
 * tables.  One function serves the JSON API, CSV import and the demo
 * generator, so a value the API refuses can never arrive by another door.
 *
 * Messages are in Chinese because they are shown to the bureau's staff as
 * they are (the `field` member names the field for programs).
 */
#include "registry.h"
#include "../auth/auth.h"
#include "../core/buf.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX     200
#define LONGTEXT_MAX 4000

/* Keys a client may send back unchanged from a record it read. */
static const char *const readonly_keys[] = {"id",         "version",     "created_at", "updated_at",
                                            "updated_by", "region_name", NULL};

static bool is_readonly_key(const char *k)
{
    for (size_t i = 0; readonly_keys[i]; i++)
        if (strcmp(readonly_keys[i], k) == 0)
            return true;
    return false;
}

static bool in_options(const char *const *opts, const char *v)
{
    for (size_t i = 0; opts && opts[i]; i++)
        if (strcmp(opts[i], v) == 0)
            return true;
    return false;
}

static bool has_control_chars(const char *s, bool allow_newline)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 && !(allow_newline && (*p == '\n' || *p == '\r' || *p == '\t')))
            return true;
        if (*p == 0x7F)
            return true;
    }
    return false;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Mobile 1[3-9]xxxxxxxxx, landline 0xx(x)-xxxxxxx(x) with optional
 * extension, or 400/800 service numbers. */
static bool phone_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 11 && s[0] == '1' && s[1] >= '3' && s[1] <= '9' && all_digits(s, n))
        return true;
    if (n == 10 && (strncmp(s, "400", 3) == 0 || strncmp(s, "800", 3) == 0) && all_digits(s, n))
        return true;
    if (s[0] != '0')
        return false;
    const char *dash = strchr(s, '-');
    size_t area = dash ? (size_t)(dash - s) : 0;
    if (dash == NULL || area < 3 || area > 4 || !all_digits(s, area))
        return false;
    const char *num = dash + 1, *ext = strchr(num, '-');
    size_t nlen = ext ? (size_t)(ext - num) : strlen(num);
    if (nlen < 7 || nlen > 8 || !all_digits(num, nlen))
        return false;
    if (ext) {
        size_t elen = strlen(ext + 1);
        if (elen < 1 || elen > 6 || !all_digits(ext + 1, elen))
            return false;
    }
    return true;
}

/* 统一社会信用代码 per GB 32100-2015: 18 characters from a 31-letter
 * alphabet, the last a weighted check character. */
static bool credit_code_ok(const char *s)
{
    static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    static const int weights[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
    if (strlen(s) != 18)
        return false;
    int sum = 0;
    for (int i = 0; i < 18; i++) {
        const char *p = strchr(alphabet, s[i]);
        if (p == NULL || s[i] == '\0')
            return false;
        if (i < 17)
            sum += (int)(p - alphabet) * weights[i];
    }
    int check = (31 - sum % 31) % 31;
    return s[17] == alphabet[check];
}

static bool date_ok(const char *s)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || !all_digits(s, 4) ||
        !all_digits(s + 5, 2) || !all_digits(s + 8, 2))
        return false;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

/* Split "a、b,c；d" (or a JSON array) into tags, check against options and
 * join them as "a、b、c、d". */
static yj_code tags_normalise(const yj_field *f, const json_t *v, json_t **out, yj_err *err)
{
    yj_buf joined;
    yj_buf_init(&joined);
    yj_buf all;
    yj_buf_init(&all);
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            if (!json_is_string(e)) {
                yj_buf_free(&joined);
                yj_buf_free(&all);
                return yj_err_set(err, YJ_EINVAL, f->name, "「%s」的每一项必须是文字", f->label);
            }
            yj_buf_puts(&all, json_string_value(e));
            yj_buf_putc(&all, '\x1f');
        }
    } else {
        /* separators: 、 ， , ； ; and spaces */
        const char *s = json_string_value(v);
        for (const char *p = s; *p;) {
            static const char *const seps[] = {"、", "，", "；", ",", ";", " ", "|", NULL};
            size_t adv = 0;
            for (size_t k = 0; seps[k]; k++)
                if (strncmp(p, seps[k], strlen(seps[k])) == 0)
                    adv = strlen(seps[k]);
            if (adv) {
                yj_buf_putc(&all, '\x1f');
                p += adv;
            } else {
                yj_buf_putc(&all, *p++);
            }
        }
        yj_buf_putc(&all, '\x1f');
    }
    yj_code rc = YJ_OK;
    for (char *tok = all.data, *end; tok && *tok; tok = end + 1) {
        end = strchr(tok, '\x1f');
        if (end == NULL)
            break;
        *end = '\0';
        if (*tok == '\0')
            continue;
        if (f->options && !in_options(f->options, tok)) {
            rc = yj_err_set(err, YJ_EINVAL, f->name, "「%s」不能取值「%s」", f->label, tok);
            break;
        }
        if (joined.len)
            yj_buf_puts(&joined, "、");
        yj_buf_puts(&joined, tok);
    }
    if (rc == YJ_OK && joined.len > LONGTEXT_MAX)
        rc = yj_err_set(err, YJ_EINVAL, f->name, "「%s」太长", f->label);
    if (rc == YJ_OK)
        *out = joined.len ? json_string(joined.data) : json_null();
    yj_buf_free(&joined);
    yj_buf_free(&all);
    return rc;
}

static yj_code check_range(const yj_field *f, double v, yj_err *err)
{
    if (f->has_range && (v < f->min || v > f->max))
        return yj_err_set(err, YJ_EINVAL, f->name, "「%s」应在 %g 到 %g%s 之间", f->label, f->min,
                          f->max, f->unit ? f->unit : "");
    return YJ_OK;
}

/* Validate one present, non-null value; *out gets the normalised value. */
static yj_code field_value(const yj_field *f, const json_t *v, json_t **out, yj_err *err)
{
    *out = NULL;
    switch (f->type) {
    case YJ_F_INT:
        if (!json_is_integer(v))
            return yj_err_set(err, YJ_EINVAL, f->name, "「%s」必须是整数", f->label);
        if (check_range(f, (double)json_integer_value(v), err) != YJ_OK)
            return YJ_EINVAL;
        *out = json_integer(json_integer_value(v));
        return YJ_OK;
    case YJ_F_REAL:
        if (!json_is_number(v))
            return yj_err_set(err, YJ_EINVAL, f->name, "「%s」必须是数字", f->label);
        if (check_range(f, json_number_value(v), err) != YJ_OK)
            return YJ_EINVAL;
        *out = json_real(json_number_value(v));
        return YJ_OK;
    case YJ_F_BOOL:
        if (!json_is_boolean(v))
            return yj_err_set(err, YJ_EINVAL, f->name, "「%s」必须是 true 或 false", f->label);
        *out = json_boolean(json_is_true(v));
        return YJ_OK;
    case YJ_F_REF:
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
            return yj_err_set(err, YJ_EINVAL, f->name, "「%s」必须是记录编号", f->label);
        *out = json_integer(json_integer_value(v));
        return YJ_OK;
    case YJ_F_TAGS:
        if (!json_is_string(v) && !json_is_array(v))
            return yj_err_set(err, YJ_EINVAL, f->name, "「%s」必须是文字或文字数组", f->label);
        return tags_normalise(f, v, out, err);
    default:
        break;
    }
    if (!json_is_string(v))
        return yj_err_set(err, YJ_EINVAL, f->name, "「%s」必须是文字", f->label);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    size_t max = f->maxlen ? (size_t)f->maxlen : f->type == YJ_F_LONGTEXT ? LONGTEXT_MAX : TEXT_MAX;
    if (n > max)
        return yj_err_set(err, YJ_EINVAL, f->name, "「%s」不能超过 %zu 字节", f->label, max);
    if (strlen(s) != n || has_control_chars(s, f->type == YJ_F_LONGTEXT))
        return yj_err_set(err, YJ_EINVAL, f->name, "「%s」含有不允许的控制字符", f->label);
    switch (f->type) {
    case YJ_F_ENUM:
        if (!in_options(f->options, s))
            return yj_err_set(err, YJ_EINVAL, f->name, "「%s」不能取值「%s」", f->label, s);
        break;
    case YJ_F_PHONE:
        if (!phone_ok(s))
            return yj_err_set(err, YJ_EINVAL, f->name,
                              "「%s」不是有效的电话号码（手机 11 位，座机如 0356-1234567）",
                              f->label);
        break;
    case YJ_F_DATE:
        if (!date_ok(s))
            return yj_err_set(err, YJ_EINVAL, f->name, "「%s」应为 YYYY-MM-DD 格式的日期",
                              f->label);
        break;
    case YJ_F_CREDIT:
        if (!credit_code_ok(s))
            return yj_err_set(err, YJ_EINVAL, f->name,
                              "「%s」不是有效的统一社会信用代码（18 位，校验位不符）", f->label);
        break;
    default:
        break;
    }
    *out = json_string(s);
    return YJ_OK;
}

static bool blank(const json_t *v)
{
    return v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0);
}

static yj_code default_value(const yj_field *f, json_t **out)
{
    *out = NULL;
    if (f->def == NULL)
        return YJ_OK;
    json_t *v;
    switch (f->type) {
    case YJ_F_INT:
        v = json_integer(strtoll(f->def, NULL, 10));
        break;
    case YJ_F_REAL:
        v = json_real(strtod(f->def, NULL));
        break;
    case YJ_F_BOOL:
        v = json_boolean(strcmp(f->def, "true") == 0);
        break;
    default:
        v = json_string(f->def);
    }
    *out = v;
    return YJ_OK;
}

static yj_code coord(const json_t *in, const json_t *cur, const char *key, double lim,
                     const char *label, json_t *out, yj_err *err)
{
    const json_t *v = json_object_get(in, key);
    if (v == NULL)
        v = cur ? json_object_get(cur, key) : NULL;
    if (blank(v)) {
        json_object_set_new(out, key, json_null());
        return YJ_OK;
    }
    if (!json_is_number(v))
        return yj_err_set(err, YJ_EINVAL, key, "「%s」必须是数字", label);
    double d = json_number_value(v);
    if (!isfinite(d) || d < -lim || d > lim)
        return yj_err_set(err, YJ_EINVAL, key, "「%s」应在 -%g 到 %g 之间", label, lim, lim);
    json_object_set_new(out, key, json_real(d));
    return YJ_OK;
}

yj_code registry_validate(const yj_registry *r, const json_t *in, const json_t *current,
                          json_t **out, yj_err *err)
{
    *out = NULL;
    if (!json_is_object(in))
        return yj_err_set(err, YJ_EPARSE, NULL, "request body must be a JSON object");
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)(uintptr_t)in, key, val) {
        if (registry_field(r, key) == NULL && strcmp(key, "region_code") != 0 &&
            strcmp(key, "lat") != 0 && strcmp(key, "lon") != 0 && !is_readonly_key(key))
            return yj_err_set(err, YJ_EINVAL, key, "未知字段「%s」", key);
    }
    json_t *rec = json_object();
    yj_code rc = YJ_OK;
    for (size_t i = 0; i < r->nfields && rc == YJ_OK; i++) {
        const yj_field *f = &r->fields[i];
        const json_t *v = json_object_get(in, f->name);
        json_t *norm = NULL;
        if (v == NULL && current)
            v = json_object_get(current, f->name); /* partial update keeps the old value */
        if (blank(v)) {
            if (v == NULL && current == NULL)
                default_value(f, &norm);
            if (norm == NULL && f->required)
                rc = yj_err_set(err, YJ_EINVAL, f->name, "「%s」是必填项", f->label);
        } else if (current && v == json_object_get(current, f->name) && f->type == YJ_F_BOOL &&
                   json_is_integer(v)) {
            norm = json_boolean(json_integer_value(v) != 0); /* stored as 0/1 */
        } else {
            rc = field_value(f, v, &norm, err);
            if (rc == YJ_OK && json_is_null(norm) && f->required) /* e.g. tags "、 " */
                rc = yj_err_set(err, YJ_EINVAL, f->name, "「%s」是必填项", f->label);
        }
        if (rc == YJ_OK)
            json_object_set_new(rec, f->name, norm ? norm : json_null());
        else
            json_decref(norm);
    }
    if (rc == YJ_OK) {
        const json_t *reg = json_object_get(in, "region_code");
        if (reg == NULL && current)
            reg = json_object_get(current, "region_code");
        if (blank(reg)) {
            rc = yj_err_set(err, YJ_EINVAL, "region_code", "「所属区划」是必填项");
        } else if (!json_is_string(reg)) {
            rc = yj_err_set(err, YJ_EINVAL, "region_code", "「所属区划」必须是区划代码文字");
        } else {
            char code[16];
            if (json_string_length(reg) > 12)
                rc = yj_err_set(err, YJ_EINVAL, "region_code", "区划代码「%.20s」无效",
                                json_string_value(reg));
            region_normalize(json_string_value(reg), code, sizeof code);
            if (rc == YJ_OK && region_level(code) == 0)
                rc = yj_err_set(err, YJ_EINVAL, "region_code",
                                "区划代码「%s」无效（应为 2/4/6/9/12 位数字）", code);
            if (rc == YJ_OK)
                json_object_set_new(rec, "region_code", json_string(code));
        }
    }
    if (rc == YJ_OK)
        rc = coord(in, current, "lat", 90, "纬度", rec, err);
    if (rc == YJ_OK)
        rc = coord(in, current, "lon", 180, "经度", rec, err);
    if (rc == YJ_OK &&
        json_is_null(json_object_get(rec, "lat")) != json_is_null(json_object_get(rec, "lon")))
        rc = yj_err_set(err, YJ_EINVAL, "lat", "经纬度必须同时填写");
    if (rc != YJ_OK) {
        json_decref(rec);
        return rc;
    }
    *out = rec;
    return YJ_OK;
}
