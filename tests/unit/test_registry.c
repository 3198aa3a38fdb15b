/*
 * test_registry.c — registry_validate() (src/registry/validate.c) for every
 * registry declared in src/registry/schema.c.
 *
 * Most cases are generated from the field tables themselves: a minimal
 * valid record per registry (required fields without a default), then one
 * mutation per field and error class (missing, wrong JSON type, option not
 * offered, out of range, bad phone / credit code / date).  A new registry or
 * field is therefore tested without touching this file.  The rest are
 * tables of {registry, patch, expected code, expected field}.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/registry/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GB 32100 example code with a correct check character. */
#define GOOD_CREDIT "91350100M000100Y43"

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            print_error(__VA_ARGS__);                                                              \
            print_error("\n");                                                                     \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static json_t *jparse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (v == NULL)
        fail_msg("bad JSON in test: %s: %s", text, je.text);
    return v;
}

/* ---- building records from the field tables ------------------------------------ */

static json_t *sample_value(const yj_field *f)
{
    switch (f->type) {
    case YJ_F_TEXT:
    case YJ_F_LONGTEXT:
        return json_string("测试");
    case YJ_F_ENUM:
        return json_string(f->options[0]);
    case YJ_F_TAGS:
        return json_string(f->options ? f->options[0] : "标签");
    case YJ_F_INT:
        return json_integer(f->has_range ? (json_int_t)f->min : 1);
    case YJ_F_REAL:
        return json_real(f->has_range ? f->min : 1.5);
    case YJ_F_BOOL:
        return json_false();
    case YJ_F_PHONE:
        return json_string("13812345678");
    case YJ_F_DATE:
        return json_string("2024-02-29");
    case YJ_F_CREDIT:
        return json_string(GOOD_CREDIT);
    case YJ_F_REF:
        return json_integer(1);
    }
    return json_null();
}

/* Required fields that have no default, plus region_code. */
static json_t *minimal_record(const yj_registry *r)
{
    json_t *o = json_object();
    for (size_t i = 0; i < r->nfields; i++)
        if (r->fields[i].required && r->fields[i].def == NULL)
            json_object_set_new(o, r->fields[i].name, sample_value(&r->fields[i]));
    json_object_set_new(o, "region_code", json_string("140525"));
    return o;
}

/* Every field set, with coordinates. */
static json_t *full_record(const yj_registry *r)
{
    json_t *o = json_object();
    for (size_t i = 0; i < r->nfields; i++)
        json_object_set_new(o, r->fields[i].name, sample_value(&r->fields[i]));
    json_object_set_new(o, "region_code", json_string("140525"));
    json_object_set_new(o, "lat", json_real(35.49));
    json_object_set_new(o, "lon", json_real(112.85));
    return o;
}

/* Validate in (stolen) against r; check code and field; return *out or NULL. */
static json_t *expect_validate(const yj_registry *r, json_t *in, const json_t *current,
                               yj_code want, const char *want_field, const char *what)
{
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = registry_validate(r, in, current, &out, &err);
    char *text = json_dumps(in, JSON_COMPACT | JSON_ENCODE_ANY);
    CHECK(rc == want, "%s/%s: %s -> %s (%s: %s), want %s", r->name, what, text ? text : "NULL",
          yj_code_name(rc), err.field, err.message, yj_code_name(want));
    if (rc == want && want != YJ_OK && want_field)
        CHECK(strcmp(err.field, want_field) == 0, "%s/%s: %s -> field \"%s\", want \"%s\"", r->name,
              what, text, err.field, want_field);
    if (rc != YJ_OK)
        CHECK(out == NULL, "%s/%s: out set on error", r->name, what);
    free(text);
    json_decref(in);
    if (rc != YJ_OK) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static json_t *with(const json_t *base, const char *key, json_t *value)
{
    json_t *o = json_deep_copy(base);
    if (value)
        json_object_set_new(o, key, value);
    else
        json_object_del(o, key);
    return o;
}

/* ---- generated cases --------------------------------------------------------------- */

static void test_minimal_and_full_records_valid(void **state)
{
    (void)state;
    failures = 0;
    for (size_t i = 0; i < registry_count(); i++) {
        const yj_registry *r = registry_at(i);
        json_t *out = expect_validate(r, minimal_record(r), NULL, YJ_OK, NULL, "minimal");
        if (out) {
            /* exactly the columns plus region_code, lat, lon */
            CHECK(json_object_size(out) == r->nfields + 3, "%s: %zu keys in output", r->name,
                  json_object_size(out));
            for (size_t f = 0; f < r->nfields; f++)
                CHECK(json_object_get(out, r->fields[f].name) != NULL, "%s: %s missing", r->name,
                      r->fields[f].name);
            CHECK(json_is_null(json_object_get(out, "lat")), "%s: lat", r->name);
            CHECK(json_is_null(json_object_get(out, "lon")), "%s: lon", r->name);
            CHECK(strcmp(json_string_value(json_object_get(out, "region_code")), "140525") == 0,
                  "%s: region_code", r->name);
            json_decref(out);
        }
        out = expect_validate(r, full_record(r), NULL, YJ_OK, NULL, "full");
        if (out) {
            CHECK(json_real_value(json_object_get(out, "lat")) == 35.49, "%s: lat", r->name);
            json_decref(out);
        }
    }
    assert_int_equal(failures, 0);
}

static json_t *default_json(const yj_field *f)
{
    switch (f->type) {
    case YJ_F_INT:
        return json_integer(strtoll(f->def, NULL, 10));
    case YJ_F_REAL:
        return json_real(strtod(f->def, NULL));
    case YJ_F_BOOL:
        return json_boolean(strcmp(f->def, "true") == 0);
    default:
        return json_string(f->def);
    }
}

/* Absent fields: required without default -> error naming it; with a
 * default -> the default; optional -> null.  Explicit null likewise. */
static void test_missing_fields_and_defaults(void **state)
{
    (void)state;
    failures = 0;
    for (size_t i = 0; i < registry_count(); i++) {
        const yj_registry *r = registry_at(i);
        json_t *full = full_record(r);
        for (size_t k = 0; k < r->nfields; k++) {
            const yj_field *f = &r->fields[k];
            if (f->required && f->def == NULL) {
                expect_validate(r, with(full, f->name, NULL), NULL, YJ_EINVAL, f->name, "absent");
                expect_validate(r, with(full, f->name, json_null()), NULL, YJ_EINVAL, f->name,
                                "null");
                if (f->type != YJ_F_BOOL && f->type != YJ_F_INT && f->type != YJ_F_REAL &&
                    f->type != YJ_F_REF)
                    expect_validate(r, with(full, f->name, json_string("")), NULL, YJ_EINVAL,
                                    f->name, "empty string");
                continue;
            }
            json_t *out =
                expect_validate(r, with(full, f->name, NULL), NULL, YJ_OK, NULL, "absent");
            if (out == NULL)
                continue;
            json_t *got = json_object_get(out, f->name);
            if (f->def) {
                json_t *want = default_json(f);
                CHECK(json_equal(got, want), "%s.%s: default not applied", r->name, f->name);
                json_decref(want);
            } else {
                CHECK(json_is_null(got), "%s.%s: absent optional should be null", r->name, f->name);
            }
            json_decref(out);
        }
        json_decref(full);
    }
    assert_int_equal(failures, 0);
}

static json_t *wrong_type_value(const yj_field *f)
{
    switch (f->type) {
    case YJ_F_INT:
    case YJ_F_REF:
        return json_string("5");
    case YJ_F_REAL:
        return json_string("1.5");
    case YJ_F_BOOL:
        return json_string("true");
    case YJ_F_TAGS:
        return json_object();
    default:
        return json_integer(5);
    }
}

static void test_wrong_json_type(void **state)
{
    (void)state;
    failures = 0;
    for (size_t i = 0; i < registry_count(); i++) {
        const yj_registry *r = registry_at(i);
        json_t *full = full_record(r);
        for (size_t k = 0; k < r->nfields; k++) {
            const yj_field *f = &r->fields[k];
            expect_validate(r, with(full, f->name, wrong_type_value(f)), NULL, YJ_EINVAL, f->name,
                            "wrong type");
            if (f->type != YJ_F_TAGS) /* tags may be a JSON array: see table_cases */
                expect_validate(r, with(full, f->name, json_array()), NULL, YJ_EINVAL, f->name,
                                "array");
            if (f->type == YJ_F_INT || f->type == YJ_F_REF)
                expect_validate(r, with(full, f->name, json_real(1.5)), NULL, YJ_EINVAL, f->name,
                                "real for int");
            if (f->type == YJ_F_BOOL)
                expect_validate(r, with(full, f->name, json_integer(1)), NULL, YJ_EINVAL, f->name,
                                "int for bool");
        }
        json_decref(full);
    }
    assert_int_equal(failures, 0);
}

static void test_options_and_ranges(void **state)
{
    (void)state;
    failures = 0;
    for (size_t i = 0; i < registry_count(); i++) {
        const yj_registry *r = registry_at(i);
        json_t *full = full_record(r);
        for (size_t k = 0; k < r->nfields; k++) {
            const yj_field *f = &r->fields[k];
            if (f->type == YJ_F_ENUM) {
                for (size_t o = 0; f->options[o]; o++) {
                    json_t *out =
                        expect_validate(r, with(full, f->name, json_string(f->options[o])), NULL,
                                        YJ_OK, NULL, "each option");
                    json_decref(out);
                }
                expect_validate(r, with(full, f->name, json_string("不存在的选项")), NULL,
                                YJ_EINVAL, f->name, "not an option");
                char padded[128];
                snprintf(padded, sizeof padded, " %s", f->options[0]);
                expect_validate(r, with(full, f->name, json_string(padded)), NULL, YJ_EINVAL,
                                f->name, "option with space");
            }
            if (f->type == YJ_F_TAGS && f->options)
                expect_validate(r, with(full, f->name, json_string("不存在的选项")), NULL,
                                YJ_EINVAL, f->name, "tag not an option");
            if (f->has_range) {
                bool is_int = f->type == YJ_F_INT;
                double lo = f->min, hi = f->max, step = is_int ? 1 : 0.5;
#define NUM(v) (is_int ? json_integer((json_int_t)(v)) : json_real(v))
                json_decref(
                    expect_validate(r, with(full, f->name, NUM(lo)), NULL, YJ_OK, NULL, "min"));
                json_decref(
                    expect_validate(r, with(full, f->name, NUM(hi)), NULL, YJ_OK, NULL, "max"));
                expect_validate(r, with(full, f->name, NUM(lo - step)), NULL, YJ_EINVAL, f->name,
                                "below min");
                expect_validate(r, with(full, f->name, NUM(hi + step)), NULL, YJ_EINVAL, f->name,
                                "above max");
#undef NUM
            }
        }
        json_decref(full);
    }
    assert_int_equal(failures, 0);
}

static const char *const good_phones[] = {
    "13812345678",  "19912345678",      "15000000000", "0356-1234567",
    "010-12345678", "0356-1234567-123", "4001234567",  "8001234567",
};
static const char *const bad_phones[] = {
    "12345",         "1381234567",    "138123456789",         "12812345678",   "23812345678",
    "1381234567a",   "0356-123456",   "0356-123456789",       "356-1234567",   "03-1234567",
    "03561-1234567", "0356-1234567-", "0356-1234567-1234567", "0356--1234567", "0356-12a4567",
    "4001234",       "13812345678 ",  "1381234567８",
};
static const char *const bad_credits[] = {
    "91350100M000100Y44",  /* wrong check character */
    "91350100M000100Y4",   /* 17 characters */
    "91350100M000100Y433", /* 19 characters */
    "91350100m000100y43",  /* lower case */
    "91350100M000I00Y43",  /* I is not in the alphabet */
    "91350100M000O00Y43",  /* O neither */
    "000000000000000000"
    "0",
};
static const char *const bad_dates[] = {
    "2024-02-30", "2023-02-29", "2024-13-01", "2024-00-10", "2024-01-00",
    "24-01-01",   "2024/01/01", "2024-1-1",   "1899-12-31", "2024-01-01T00:00",
};

static void test_phone_credit_date(void **state)
{
    (void)state;
    failures = 0;
    for (size_t i = 0; i < registry_count(); i++) {
        const yj_registry *r = registry_at(i);
        json_t *full = full_record(r);
        for (size_t k = 0; k < r->nfields; k++) {
            const yj_field *f = &r->fields[k];
            if (f->type == YJ_F_PHONE) {
                for (size_t p = 0; p < sizeof good_phones / sizeof good_phones[0]; p++)
                    json_decref(expect_validate(r, with(full, f->name, json_string(good_phones[p])),
                                                NULL, YJ_OK, NULL, good_phones[p]));
                for (size_t p = 0; p < sizeof bad_phones / sizeof bad_phones[0]; p++)
                    expect_validate(r, with(full, f->name, json_string(bad_phones[p])), NULL,
                                    YJ_EINVAL, f->name, bad_phones[p]);
            }
            if (f->type == YJ_F_CREDIT)
                for (size_t p = 0; p < sizeof bad_credits / sizeof bad_credits[0]; p++)
                    expect_validate(r, with(full, f->name, json_string(bad_credits[p])), NULL,
                                    YJ_EINVAL, f->name, bad_credits[p]);
            if (f->type == YJ_F_DATE)
                for (size_t p = 0; p < sizeof bad_dates / sizeof bad_dates[0]; p++)
                    expect_validate(r, with(full, f->name, json_string(bad_dates[p])), NULL,
                                    YJ_EINVAL, f->name, bad_dates[p]);
        }
        json_decref(full);
    }
    assert_int_equal(failures, 0);
}

/* Credit codes computed independently with the GB 32100 weights. */
static void test_credit_codes_valid(void **state)
{
    (void)state;
    failures = 0;
    static const char *const good[] = {GOOD_CREDIT, "91110000802100433B", "91140525MA0K1234X5",
                                       "91140581MA0L5678PY"};
    const yj_registry *r = registry_find("enterprise");
    assert_non_null(r);
    json_t *base = minimal_record(r);
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        json_decref(expect_validate(r, with(base, "credit_code", json_string(good[i])), NULL, YJ_OK,
                                    NULL, good[i]));
    json_decref(base);
    assert_int_equal(failures, 0);
}

static void test_text_limits(void **state)
{
    (void)state;
    failures = 0;
    char big[5000];
    for (size_t i = 0; i < registry_count(); i++) {
        const yj_registry *r = registry_at(i);
        json_t *full = full_record(r);
        for (size_t k = 0; k < r->nfields; k++) {
            const yj_field *f = &r->fields[k];
            if (f->type != YJ_F_TEXT && f->type != YJ_F_LONGTEXT)
                continue;
            size_t max = f->maxlen ? (size_t)f->maxlen : f->type == YJ_F_LONGTEXT ? 4000 : 200;
            memset(big, 'x', max);
            big[max] = '\0';
            json_decref(expect_validate(r, with(full, f->name, json_string(big)), NULL, YJ_OK, NULL,
                                        "at max length"));
            big[max] = 'x';
            big[max + 1] = '\0';
            expect_validate(r, with(full, f->name, json_string(big)), NULL, YJ_EINVAL, f->name,
                            "over max length");
            expect_validate(r, with(full, f->name, json_string("a\x01z")), NULL, YJ_EINVAL, f->name,
                            "control char");
            expect_validate(r, with(full, f->name, json_string("a\x7fz")), NULL, YJ_EINVAL, f->name,
                            "DEL");
            expect_validate(r, with(full, f->name, json_stringn("a\0z", 3)), NULL, YJ_EINVAL,
                            f->name, "NUL");
            json_decref(expect_validate(r, with(full, f->name, json_string("a\nb")), NULL,
                                        f->type == YJ_F_LONGTEXT ? YJ_OK : YJ_EINVAL, f->name,
                                        "newline"));
        }
        json_decref(full);
    }
    assert_int_equal(failures, 0);
}

/* ---- table cases --------------------------------------------------------------------- */

typedef struct {
    const char *reg;
    const char *patch;  /* JSON object merged over the minimal record */
    const char *remove; /* key removed after the patch, or NULL */
    yj_code want;
    const char *field; /* err.field wanted (errors) */
} reg_case;

static const reg_case table_cases[] = {
    /* unknown keys */
    {"rescue_team", "{\"nonexistent\":1}", NULL, YJ_EINVAL, "nonexistent"},
    {"shelter", "{\"Name\":\"x\"}", NULL, YJ_EINVAL, "Name"},
    {"enterprise", "{\"region\":\"140525\"}", NULL, YJ_EINVAL, "region"},
    /* read-only keys a client may echo back */
    {"rescue_team",
     "{\"id\":5,\"version\":3,\"region_name\":\"泽州县\",\"created_at\":\"x\","
     "\"updated_at\":\"x\",\"updated_by\":\"admin\"}",
     NULL, YJ_OK, NULL},
    /* region codes */
    {"shelter", "{}", "region_code", YJ_EINVAL, "region_code"},
    {"shelter", "{\"region_code\":\"\"}", NULL, YJ_EINVAL, "region_code"},
    {"shelter", "{\"region_code\":null}", NULL, YJ_EINVAL, "region_code"},
    {"shelter", "{\"region_code\":\"abc\"}", NULL, YJ_EINVAL, "region_code"},
    {"shelter", "{\"region_code\":\"1405250\"}", NULL, YJ_EINVAL, "region_code"},
    {"shelter", "{\"region_code\":\"14052\"}", NULL, YJ_EINVAL, "region_code"},
    {"shelter", "{\"region_code\":\"1405251001234\"}", NULL, YJ_EINVAL, "region_code"},
    {"shelter", "{\"region_code\":\"14052510012345678901\"}", NULL, YJ_EINVAL, "region_code"},
    {"shelter", "{\"region_code\":140525}", NULL, YJ_EINVAL, "region_code"},
    {"shelter", "{\"region_code\":\" 140525\"}", NULL, YJ_EINVAL, "region_code"},
    {"shelter", "{\"region_code\":\"14\"}", NULL, YJ_OK, NULL},
    {"shelter", "{\"region_code\":\"140525100\"}", NULL, YJ_OK, NULL},
    {"shelter", "{\"region_code\":\"140525100200\"}", NULL, YJ_OK, NULL},
    /* coordinates */
    {"shelter", "{\"lat\":35.5,\"lon\":112.8}", NULL, YJ_OK, NULL},
    {"shelter", "{\"lat\":90,\"lon\":180}", NULL, YJ_OK, NULL},
    {"shelter", "{\"lat\":-90,\"lon\":-180}", NULL, YJ_OK, NULL},
    {"shelter", "{\"lat\":null,\"lon\":null}", NULL, YJ_OK, NULL},
    {"shelter", "{\"lat\":91,\"lon\":112}", NULL, YJ_EINVAL, "lat"},
    {"shelter", "{\"lat\":-90.5,\"lon\":112}", NULL, YJ_EINVAL, "lat"},
    {"shelter", "{\"lat\":35,\"lon\":180.5}", NULL, YJ_EINVAL, "lon"},
    {"shelter", "{\"lat\":35}", NULL, YJ_EINVAL, "lat"},
    {"shelter", "{\"lon\":112}", NULL, YJ_EINVAL, "lat"},
    {"shelter", "{\"lat\":35,\"lon\":null}", NULL, YJ_EINVAL, "lat"},
    {"shelter", "{\"lat\":\"35\",\"lon\":\"112\"}", NULL, YJ_EINVAL, "lat"},
    {"shelter", "{\"lat\":true,\"lon\":112}", NULL, YJ_EINVAL, "lat"},
    /* a required tag list must hold at least one tag */
    {"rescue_team", "{\"specialties\":\"\"}", NULL, YJ_EINVAL, "specialties"},
    {"rescue_team", "{\"specialties\":[1]}", NULL, YJ_EINVAL, "specialties"},
    {"rescue_team", "{\"specialties\":\"矿山救援,不存在\"}", NULL, YJ_EINVAL, "specialties"},
    {"shelter", "{\"facilities\":\",,\"}", NULL, YJ_OK, NULL},
    /* references are record ids */
    {"hazard_source", "{\"enterprise_id\":0}", NULL, YJ_EINVAL, "enterprise_id"},
    {"hazard_source", "{\"enterprise_id\":-3}", NULL, YJ_EINVAL, "enterprise_id"},
    /* lists as JSON arrays */
    {"shelter", "{\"facilities\":[\"应急供水\",\"应急供电\"]}", NULL, YJ_OK, NULL},
};

/* A required tag list that normalises to no tag at all is as missing as an
 * absent one (validate.c stores null for it today). */
static const reg_case required_tag_cases[] = {
    {"rescue_team", "{\"specialties\":[]}", NULL, YJ_EINVAL, "specialties"},
    {"rescue_team", "{\"specialties\":\",,\"}", NULL, YJ_EINVAL, "specialties"},
    {"rescue_team", "{\"specialties\":\"、 \"}", NULL, YJ_EINVAL, "specialties"},
    {"rescue_team", "{\"specialties\":[\"\"]}", NULL, YJ_EINVAL, "specialties"},
};

static json_t *case_input(const reg_case *tc, const yj_registry *r)
{
    json_t *in = minimal_record(r);
    json_t *patch = jparse(tc->patch);
    json_object_update(in, patch);
    json_decref(patch);
    if (tc->remove)
        json_object_del(in, tc->remove);
    return in;
}

static void run_table(const reg_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const reg_case *tc = &cases[i];
        const yj_registry *r = registry_find(tc->reg);
        assert_non_null(r);
        char what[32];
        snprintf(what, sizeof what, "case %zu", i);
        json_decref(expect_validate(r, case_input(tc, r), NULL, tc->want, tc->field, what));
    }
}

static void test_table_cases(void **state)
{
    (void)state;
    failures = 0;
    run_table(table_cases, sizeof table_cases / sizeof table_cases[0]);
    assert_int_equal(failures, 0);
}

static void test_required_tags_not_empty(void **state)
{
    (void)state;
    failures = 0;
    run_table(required_tag_cases, sizeof required_tag_cases / sizeof required_tag_cases[0]);
    assert_int_equal(failures, 0);
}

static void test_not_an_object(void **state)
{
    (void)state;
    failures = 0;
    static const char *const inputs[] = {"[]", "[{}]", "\"x\"", "null", "1", "true"};
    const yj_registry *r = registry_find("shelter");
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        expect_validate(r, jparse(inputs[i]), NULL, YJ_EPARSE, NULL, inputs[i]);
    json_t *out = (json_t *)1;
    yj_err err;
    assert_int_equal(registry_validate(r, NULL, NULL, &out, &err), YJ_EPARSE);
    assert_null(out);
    assert_int_equal(failures, 0);
}

/* ---- normalisation ------------------------------------------------------------------- */

static const struct {
    const char *in; /* JSON value of specialties */
    const char *want;
} tag_cases[] = {
    {"\"矿山救援,水域救援\"", "矿山救援、水域救援"},
    {"\"矿山救援、水域救援\"", "矿山救援、水域救援"},
    {"\"矿山救援，水域救援\"", "矿山救援、水域救援"},
    {"\"矿山救援；水域救援;综合救援\"", "矿山救援、水域救援、综合救援"},
    {"\" 矿山救援 | 水域救援 \"", "矿山救援、水域救援"},
    {"\"矿山救援,,水域救援,\"", "矿山救援、水域救援"},
    {"[\"矿山救援\",\"水域救援\"]", "矿山救援、水域救援"},
    {"[\"矿山救援\",\"\"]", "矿山救援"},
    {"\"道路抢通\"", "道路抢通"},
};

static void test_tags_normalised(void **state)
{
    (void)state;
    failures = 0;
    const yj_registry *r = registry_find("rescue_team");
    json_t *base = minimal_record(r);
    for (size_t i = 0; i < sizeof tag_cases / sizeof tag_cases[0]; i++) {
        json_t *out = expect_validate(r, with(base, "specialties", jparse(tag_cases[i].in)), NULL,
                                      YJ_OK, NULL, tag_cases[i].in);
        if (out) {
            const char *got = json_string_value(json_object_get(out, "specialties"));
            CHECK(got && strcmp(got, tag_cases[i].want) == 0, "tags %s -> %s, want %s",
                  tag_cases[i].in, got ? got : "(null)", tag_cases[i].want);
            json_decref(out);
        }
    }
    json_decref(base);
    assert_int_equal(failures, 0);
}

static void test_region_normalised_and_coords_real(void **state)
{
    (void)state;
    failures = 0;
    const yj_registry *r = registry_find("warehouse");
    json_t *base = minimal_record(r);
    json_t *in = with(base, "region_code", json_string("140500"));
    json_object_set_new(in, "lat", json_integer(35));
    json_object_set_new(in, "lon", json_integer(112));
    json_t *out = expect_validate(r, in, NULL, YJ_OK, NULL, "140500");
    assert_non_null(out);
    assert_string_equal(json_string_value(json_object_get(out, "region_code")), "1405");
    assert_true(json_is_real(json_object_get(out, "lat")));
    assert_true(json_real_value(json_object_get(out, "lon")) == 112.0);
    /* a REAL field given as a JSON integer is accepted as a number */
    assert_true(json_is_number(json_object_get(out, "capacity")));
    json_decref(out);
    json_decref(base);
    assert_int_equal(failures, 0);
}

/* ---- partial update ------------------------------------------------------------------ */

/* The current record as the store returns it: all columns, standard
 * columns, booleans as 0/1. */
static json_t *stored_record(const yj_registry *r)
{
    json_t *in = full_record(r);
    json_t *rec = NULL;
    yj_err err;
    if (registry_validate(r, in, NULL, &rec, &err) != YJ_OK)
        fail_msg("%s: full record invalid: %s", r->name, err.message);
    json_decref(in);
    json_object_set_new(rec, "id", json_integer(7));
    json_object_set_new(rec, "version", json_integer(2));
    json_object_set_new(rec, "region_name", json_string("泽州县"));
    json_object_set_new(rec, "created_at", json_string("2025-01-01T00:00:00.000Z"));
    json_object_set_new(rec, "updated_at", json_string("2025-01-01T00:00:00.000Z"));
    json_object_set_new(rec, "updated_by", json_string("admin"));
    for (size_t i = 0; i < r->nfields; i++)
        if (r->fields[i].type == YJ_F_BOOL)
            json_object_set_new(rec, r->fields[i].name, json_integer(1));
    return rec;
}

static void test_partial_update_keeps_current(void **state)
{
    (void)state;
    failures = 0;
    for (size_t i = 0; i < registry_count(); i++) {
        const yj_registry *r = registry_at(i);
        json_t *cur = stored_record(r);
        /* empty patch: everything kept (booleans back to true/false) */
        json_t *out = expect_validate(r, json_object(), cur, YJ_OK, NULL, "empty patch");
        if (out) {
            for (size_t k = 0; k < r->nfields; k++) {
                const yj_field *f = &r->fields[k];
                json_t *got = json_object_get(out, f->name);
                if (f->type == YJ_F_BOOL)
                    CHECK(json_is_true(got), "%s.%s: stored 1 should stay true", r->name, f->name);
                else
                    CHECK(json_equal(got, json_object_get(cur, f->name)), "%s.%s changed", r->name,
                          f->name);
            }
            CHECK(strcmp(json_string_value(json_object_get(out, "region_code")), "140525") == 0,
                  "%s: region kept", r->name);
            CHECK(json_real_value(json_object_get(out, "lat")) == 35.49, "%s: lat kept", r->name);
            CHECK(json_object_get(out, "id") == NULL, "%s: id must not be in output", r->name);
            json_decref(out);
        }
        /* the whole record sent back as the API shows it (booleans as
         * true/false, read-only keys included) is fine too */
        json_t *echo = json_deep_copy(cur);
        for (size_t k = 0; k < r->nfields; k++)
            if (r->fields[k].type == YJ_F_BOOL)
                json_object_set_new(echo, r->fields[k].name, json_true());
        json_decref(expect_validate(r, echo, cur, YJ_OK, NULL, "echo"));
        json_decref(cur);
    }
    assert_int_equal(failures, 0);
}

static void test_partial_update_changes(void **state)
{
    (void)state;
    failures = 0;
    const yj_registry *r = registry_find("rescue_team");
    json_t *cur = stored_record(r);

    json_t *out = expect_validate(r, jparse("{\"headcount\":50}"), cur, YJ_OK, NULL, "headcount");
    assert_non_null(out);
    assert_int_equal(json_integer_value(json_object_get(out, "headcount")), 50);
    assert_string_equal(json_string_value(json_object_get(out, "name")), "测试");
    assert_string_equal(json_string_value(json_object_get(out, "status")), "待命");
    json_decref(out);

    /* clearing an optional field */
    out = expect_validate(r, jparse("{\"equipment\":null}"), cur, YJ_OK, NULL, "clear optional");
    assert_non_null(out);
    assert_true(json_is_null(json_object_get(out, "equipment")));
    json_decref(out);

    /* clearing a required field is refused, even one with a default */
    expect_validate(r, jparse("{\"name\":null}"), cur, YJ_EINVAL, "name", "clear required");
    expect_validate(r, jparse("{\"status\":\"\"}"), cur, YJ_EINVAL, "status", "clear status");
    /* a bad value in the patch is checked */
    expect_validate(r, jparse("{\"headcount\":0}"), cur, YJ_EINVAL, "headcount", "range");
    expect_validate(r, jparse("{\"bogus\":1}"), cur, YJ_EINVAL, "bogus", "unknown");
    /* moving region, dropping coordinates */
    out = expect_validate(r, jparse("{\"region_code\":\"140581\",\"lat\":null,\"lon\":null}"), cur,
                          YJ_OK, NULL, "move");
    assert_non_null(out);
    assert_string_equal(json_string_value(json_object_get(out, "region_code")), "140581");
    assert_true(json_is_null(json_object_get(out, "lat")));
    json_decref(out);
    /* dropping only one coordinate is refused */
    expect_validate(r, jparse("{\"lon\":null}"), cur, YJ_EINVAL, "lat", "half coordinates");
    json_decref(cur);
    assert_int_equal(failures, 0);
}

int main(void)
{
    registry_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_and_full_records_valid),
        cmocka_unit_test(test_missing_fields_and_defaults),
        cmocka_unit_test(test_wrong_json_type),
        cmocka_unit_test(test_options_and_ranges),
        cmocka_unit_test(test_phone_credit_date),
        cmocka_unit_test(test_credit_codes_valid),
        cmocka_unit_test(test_text_limits),
        cmocka_unit_test(test_table_cases),
        cmocka_unit_test(test_required_tags_not_empty),
        cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_tags_normalised),
        cmocka_unit_test(test_region_normalised_and_coords_real),
        cmocka_unit_test(test_partial_update_keeps_current),
        cmocka_unit_test(test_partial_update_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
