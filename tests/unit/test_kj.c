/*
 * test_kj.c — the KJ monitoring-file parser (src/monitor/kj.h).
 *
 * Every tests/kj/X.txt is parsed and its counts are compared with
 * X.expected.json: {"accepted": {"<table>": records}, "rejected": {"<reason>":
 * records}}, where a whole-batch reject counts the records it held (at least
 * 1), i.e. kj_reject.count.  Then the values of the good files are checked
 * field by field, and a table of small inputs pins each framing and field
 * rule to its outcome, rendered as "<table>" for an accepted record and
 * "<reason>" for a reject, in file order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/core/buf.h"
#include "../../src/core/csv.h"
#include "../../src/monitor/kj.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KJ_DIR YJ_SOURCE_DIR "/tests/kj"
#define TERM   "\xE2\x80\x96" /* ‖ in UTF-8 */
#define GTERM  "\xA1\xAC"     /* ‖ in GBK */
#define MINE   "140525010001"

/* 2024-03-01 08:00:00 Beijing time = 2024-03-01 00:00:00 UTC */
#define T0 INT64_C(1709251200)

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot open %s", path);
    yj_buf b;
    yj_buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        yj_buf_append(&b, chunk, n);
    fclose(fp);
    *len = b.len;
    yj_buf_putc(&b, '\0'); /* data may be empty */
    return yj_buf_steal(&b);
}

static void parse_ok(const char *data, size_t len, kj_file *f)
{
    yj_err err = {0};
    if (kj_parse(data, len, f, &err) != YJ_OK)
        fail_msg("kj_parse failed: %s", err.message);
}

static void parse_path(const char *name, kj_file *f)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", KJ_DIR, name);
    size_t len;
    char *data = read_file(path, &len);
    parse_ok(data, len, f);
    free(data);
}

static const char *const reasons[] = {"truncated",    "bad_header",  "unknown_table",
                                      "field_count",  "bad_number",  "bad_time",
                                      "bad_encoding", "empty_field", "too_long"};

/* What every parse result must satisfy, whatever the input. */
static void check_invariants(const kj_file *f, const char *what)
{
    size_t sum = 0;
    for (size_t i = 0; i < f->nrejects; i++) {
        const kj_reject *r = &f->rejects[i];
        bool known = false;
        for (size_t k = 0; k < sizeof reasons / sizeof reasons[0]; k++)
            known = known || (r->reason && strcmp(r->reason, reasons[k]) == 0);
        if (!known)
            fail_msg("%s: reject %zu has reason %s", what, i, r->reason ? r->reason : "(null)");
        if (r->detail[0] == '\0' || !yj_utf8_valid(r->detail, strlen(r->detail)))
            fail_msg("%s: reject %zu detail empty or not UTF-8", what, i);
        if (r->count < 1 || r->batch < 1 || r->batch > f->batches || r->index < 0)
            fail_msg("%s: reject %zu: count %zu batch %d index %d", what, i, r->count, r->batch,
                     r->index);
        sum += r->count;
    }
    if (f->unlisted == 0 && sum != f->rejected)
        fail_msg("%s: rejected %zu but the rejects count %zu", what, f->rejected, sum);
    for (size_t i = 0; i < f->nrecs; i++) {
        const kj_record *r = &f->recs[i];
        if (r->table >= KJ_TABLE_COUNT || r->mine[0] == '\0' || r->point[0] == '\0' ||
            r->index < 1 || r->batch < 1 || r->batch > f->batches)
            fail_msg("%s: record %zu malformed", what, i);
    }
}

/* {"accepted": {...}, "rejected": {...}} of a parse result. */
static json_t *counts(const kj_file *f)
{
    json_t *acc = json_object(), *rej = json_object();
    for (size_t i = 0; i < f->nrecs; i++) {
        const char *t = kj_table_name(f->recs[i].table);
        json_object_set_new(acc, t, json_integer(json_integer_value(json_object_get(acc, t)) + 1));
    }
    for (size_t i = 0; i < f->nrejects; i++) {
        const kj_reject *r = &f->rejects[i];
        json_object_set_new(rej, r->reason,
                            json_integer(json_integer_value(json_object_get(rej, r->reason)) +
                                         (json_int_t)r->count));
    }
    return json_pack("{s:o,s:o}", "accepted", acc, "rejected", rej);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- fixtures ------------------------------------------------------------------ */

static void test_fixtures(void **state)
{
    (void)state;
    DIR *d = opendir(KJ_DIR);
    if (!d)
        fail_msg("cannot open %s", KJ_DIR);
    char *names[256];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > 4 && strcmp(de->d_name + l - 4, ".txt") == 0 && n < 256)
            names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    assert_true(n >= 12);

    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        kj_file f;
        parse_path(names[i], &f);
        check_invariants(&f, names[i]);
        assert_int_equal(f.unlisted, 0);

        char path[512];
        snprintf(path, sizeof path, "%s/%.*s.expected.json", KJ_DIR, (int)(strlen(names[i]) - 4),
                 names[i]);
        json_error_t jerr;
        json_t *want = json_load_file(path, 0, &jerr);
        if (!want)
            fail_msg("%s: %s", path, jerr.text);
        json_t *got = counts(&f);
        if (!json_equal(want, got)) {
            char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
            char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
            print_error("%s:\n  want %s\n  got  %s\n", names[i], w, g);
            for (size_t k = 0; k < f.nrejects; k++)
                print_error("    reject batch %d #%d %s ×%zu: %s\n", f.rejects[k].batch,
                            f.rejects[k].index, f.rejects[k].reason, f.rejects[k].count,
                            f.rejects[k].detail);
            free(w);
            free(g);
            failures++;
        }
        json_decref(want);
        json_decref(got);
        kj_file_free(&f);
        free(names[i]);
    }
    assert_int_equal(failures, 0);
}

/* ---- values ---------------------------------------------------------------------- */

static const kj_record *find(const kj_file *f, kj_table t, const char *point, int nth)
{
    for (size_t i = 0; i < f->nrecs; i++)
        if (f->recs[i].table == t && strcmp(f->recs[i].point, point) == 0 && nth-- == 0)
            return &f->recs[i];
    fail_msg("no %s record %s", kj_table_name(t), point);
    return NULL;
}

static void test_utf8_values(void **state)
{
    (void)state;
    kj_file f;
    parse_path("good_utf8.txt", &f);
    assert_false(f.gbk);
    assert_int_equal(f.batches, 5);
    assert_string_equal(f.mine, MINE);

    const kj_record *r = find(&f, KJ_AQMC, "001A01", 0);
    assert_string_equal(r->mine, MINE);
    assert_string_equal(r->location, "1301综采工作面回风巷");
    assert_string_equal(r->type, "甲烷");
    assert_string_equal(r->unit, "%CH4");
    assert_true(r->range_lo == 0 && r->range_hi == 4);
    assert_true(r->alarm_hi == 0.8);
    assert_true(isnan(r->alarm_lo)); /* blank */
    assert_true(r->cut_hi == 1.2 && r->restore_hi == 0.8);
    assert_int_equal(r->ts, T0); /* 08:00 Beijing */
    assert_int_equal(r->batch, 1);
    assert_int_equal(r->index, 1);
    r = find(&f, KJ_AQMC, "001A02", 0);
    assert_true(r->alarm_hi == 24);
    assert_true(isnan(r->alarm_lo) && isnan(r->cut_hi) && isnan(r->restore_hi));
    assert_true(isnan(r->value));
    r = find(&f, KJ_AQMC, "001A03", 0);
    assert_true(r->alarm_lo == 0.25 && r->range_hi == 15);
    assert_string_equal(r->unit, "m/s");

    r = find(&f, KJ_AQKC, "001D02", 0);
    assert_string_equal(r->location, "主通风机房");
    assert_string_equal(r->type, "风机开停");
    assert_string_equal(r->state0, "停");
    assert_string_equal(r->state1, "开");

    r = find(&f, KJ_AQSS, "001A01", 0);
    assert_int_equal(r->ts, T0 + 5 * 60 + 10);
    assert_true(r->value == 0.12);
    assert_int_equal(r->state, 0);
    assert_int_equal(r->batch, 3);

    r = find(&f, KJ_AQKD, "001D02", 0);
    assert_int_equal(r->state, 0);
    assert_true(r->value == 0);
    assert_int_equal(r->ts, T0 + 3 * 60 + 27);
    r = find(&f, KJ_AQKD, "001D02", 1);
    assert_int_equal(r->state, 1);
    assert_true(r->value == 1);
    assert_int_equal(r->index, 2);

    r = find(&f, KJ_AQMT, "001A01", 0);
    assert_int_equal(r->ts, T0 + 5 * 60);
    assert_true(r->max == 0.21 && r->min == 0.08 && r->avg == 0.13);
    assert_int_equal(r->max_ts, T0 + 2 * 60 + 40);
    kj_file_free(&f);
}

static void test_gbk_values(void **state)
{
    (void)state;
    kj_file f;
    parse_path("good_gbk.txt", &f);
    assert_true(f.gbk);
    assert_int_equal(f.nrejects, 0);
    assert_string_equal(find(&f, KJ_AQMC, "001A01", 0)->location, "1301综采工作面回风巷");
    /* 亊 is GBK 81 7E and 亅 81 7C: their trail bytes are '~' and '|' */
    const kj_record *r = find(&f, KJ_AQMC, "002A01", 0);
    assert_string_equal(r->location, "亊亅联络巷");
    assert_string_equal(r->type, "甲烷");
    assert_true(r->cut_hi == 1.5 && r->restore_hi == 1.0);
    r = find(&f, KJ_AQKC, "001D02", 0);
    assert_string_equal(r->state0, "停");
    assert_string_equal(r->state1, "开");
    assert_int_equal(find(&f, KJ_AQKD, "001D02", 0)->state, 1);
    kj_file_free(&f);
}

/* The process time zone must not matter: file times are always +08:00. */
static void test_time_zone_independent(void **state)
{
    (void)state;
    const char *doc =
        "KJ;AQKD|" MINE ";001D01;1970-01-01 08:00:00;1~" MINE ";001D01;2024-03-01 08:00:00;0~" TERM;
    const char *old = getenv("TZ");
    char *saved = old ? strdup(old) : NULL;
    const char *zones[] = {"America/New_York", "Asia/Shanghai", "UTC", "Australia/Lord_Howe"};
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
        setenv("TZ", zones[i], 1);
        tzset();
        kj_file f;
        parse_ok(doc, strlen(doc), &f);
        assert_int_equal(f.nrecs, 2);
        assert_int_equal(f.recs[0].ts, 0);
        assert_int_equal(f.recs[1].ts, T0);
        kj_file_free(&f);
    }
    if (saved)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved);
}

/* ---- rules, one small input each ---------------------------------------------------- */

typedef struct {
    const char *name;
    const char *input;
    const char *outcome; /* accepted tables and reject reasons in order, ',' between */
} kj_case;

#define SS(v, st)  MINE ";001A01;2024-03-01 08:05:10;" v ";" st "~"
#define AQSS(body) "KJ;AQSS|" body TERM

static const kj_case cases[] = {
    /* framing */
    {"one record", AQSS(SS("0.1", "0")), "AQSS"},
    {"bom and blank lines", "\xEF\xBB\xBF\r\n\r\n" AQSS(SS("0.1", "0")) "\r\n\r\n", "AQSS"},
    {"bom between joined files", AQSS(SS("0.1", "0")) "\xEF\xBB\xBF" AQSS(SS("0.2", "0")),
     "AQSS,AQSS"},
    {"last ~ may be left out", "KJ;AQSS|" MINE ";001A01;2024-03-01 08:05:10;0.1;0" TERM, "AQSS"},
    {"empty records skipped", "KJ;AQSS|~~ ~\n" SS("0.1", "0") "~" TERM, "AQSS"},
    {"empty batch", "KJ;AQSS|" TERM, ""},
    {"newlines inside a record", "KJ;AQSS|" MINE ";\r\n001A01;\n2024-03-01 08:05:10 ;0.1;0\n~" TERM,
     "AQSS"},
    {"no terminator at eof", "KJ;AQSS|" SS("0.1", "0") SS("0.2", "0"), "truncated"},
    {"header only at eof", "KJ;AQSS|", "truncated"},
    {"cut inside a record", "KJ;AQSS|" SS("0.1", "0") MINE ";001A01;2024-03-01", "truncated"},
    {"next header before terminator", "KJ;AQSS|" SS("0.1", "0") AQSS(SS("0.2", "0")),
     "truncated,AQSS"},
    {"next header inside a record", "KJ;AQSS|" MINE ";001A01;KJ;AQSS|" SS("0.2", "0") TERM,
     "truncated,AQSS"},
    {"good batches around a cut one", AQSS(SS("1", "0")) "KJ;AQSS|" SS("2", "0") AQSS(SS("3", "0")),
     "AQSS,truncated,AQSS"},
    {"text after terminator", AQSS(SS("0.1", "0")) "xyz", "AQSS,bad_header"},
    {"lower-case KJ", "kj;AQSS|" SS("0.1", "0") TERM, "bad_header"},
    {"header without |", "KJ;AQSS\n" SS("0.1", "0") TERM AQSS(SS("0.2", "0")), "bad_header,AQSS"},
    {"bad header up to the next header", "KJAQSS|" SS("0.1", "0") AQSS(SS("0.2", "0")),
     "bad_header,AQSS"},
    {"table name case matters", "KJ;aqss|" SS("0.1", "0") TERM, "unknown_table"},
    {"other system's table", "KJ;RYSS|a;b~c;d~" TERM, "unknown_table"},
    {"ascii with the gbk terminator is gbk", "KJ;AQSS|" SS("0.1", "0") GTERM, "AQSS"},
    {"gbk terminator in a utf-8 file", "KJ;AQSS|" SS("0.1", "0") GTERM AQSS(SS("0.1", "0")),
     "truncated,AQSS"},

    /* fields */
    {"spaces around fields", "KJ;AQSS| " MINE " ; 001A01 ;2024-03-01 08:05:10; 0.1 ;0 ~" TERM,
     "AQSS"},
    {"too few fields", "KJ;AQSS|" MINE ";001A01;2024-03-01 08:05:10;0.1~" TERM, "field_count"},
    {"trailing ;", "KJ;AQSS|" MINE ";001A01;2024-03-01 08:05:10;0.1;0;~" TERM, "field_count"},
    {"many fields", "KJ;AQSS|;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;~" TERM, "field_count"},
    {"empty mine", "KJ;AQSS|;001A01;2024-03-01 08:05:10;0.1;0~" TERM, "empty_field"},
    {"blank value", AQSS(SS(" ", "0")), "empty_field"},
    {"blank state", AQSS(SS("0.1", "")), "empty_field"},
    {"tab inside a field", "KJ;AQSS|" MINE ";001\tA01;2024-03-01 08:05:10;0.1;0~" TERM,
     "bad_encoding"},
    {"C1 control", "KJ;AQSS|" MINE ";001\xC2\x85;2024-03-01 08:05:10;0.1;0~" TERM, "bad_encoding"},
    {"invalid utf-8 record", AQSS(SS("0.1", "0") MINE ";\xE7\x85;2024-03-01 08:05:10;1;0~"),
     "AQSS,bad_encoding"},

    /* numbers */
    {"signed and exponent", AQSS(SS("+1", "0") SS("-0.5", "0") SS("1.5E+2", "0") SS("1.", "0")),
     "AQSS,AQSS,AQSS,AQSS"},
    {"bare sign", AQSS(SS("-", "0")), "bad_number"},
    {"bare exponent", AQSS(SS("1e", "0")), "bad_number"},
    {"inf", AQSS(SS("inf", "0")), "bad_number"},
    {"infinity", AQSS(SS("-Infinity", "0")), "bad_number"},
    {"overflow", AQSS(SS("1e400", "0")), "bad_number"},
    {"hex", AQSS(SS("0x10", "0")), "bad_number"},
    {"inner space", AQSS(SS("1 0", "0")), "bad_number"},
    {"state limits", AQSS(SS("1", "65535") SS("1", "65536") SS("1", "1.0") SS("1", "-0")),
     "AQSS,bad_number,bad_number,bad_number"},
    {"aqkd state",
     "KJ;AQKD|" MINE ";001D01;2024-03-01 08:05:10;1~" MINE ";001D01;2024-03-01 08:05:10;2~" TERM,
     "AQKD,bad_number"},
    {"aqmc blanks", "KJ;AQMC|" MINE ";001A01;回风巷;甲烷;;0;4;;;;;2024-03-01 08:00:00~" TERM,
     "AQMC"},
    {"aqmc blank range",
     "KJ;AQMC|" MINE ";001A01;回风巷;甲烷;%CH4;;4;;;;;2024-03-01 08:00:00~" TERM, "empty_field"},
    {"aqmc range reversed",
     "KJ;AQMC|" MINE ";001A01;回风巷;甲烷;%CH4;4;4;;;;;2024-03-01 08:00:00~" TERM, "bad_number"},
    {"aqmt avg above max",
     "KJ;AQMT|" MINE ";001A01;2024-03-01 08:05:00;1;2024-03-01 08:01:00;0;1.5~" TERM, "bad_number"},
    {"aqmt flat", "KJ;AQMT|" MINE ";001A01;2024-03-01 08:05:00;1;2024-03-01 08:01:00;1;1~" TERM,
     "AQMT"},

    /* times */
    {"leap day",
     "KJ;AQKD|" MINE ";001D01;2000-02-29 00:00:00;1~" MINE ";001D01;1900-02-29 00:00:00;1~" MINE
     ";001D01;2100-01-01 00:00:00;1~" TERM,
     "AQKD,bad_time,bad_time"},
    {"second 60", "KJ;AQKD|" MINE ";001D01;2016-12-31 23:59:60;1~" TERM, "bad_time"},
    {"signed parts", "KJ;AQKD|" MINE ";001D01;2016-12-31 23:+9:00;1~" TERM, "bad_time"},
    {"two spaces", "KJ;AQKD|" MINE ";001D01;2016-12-31  23:59:00;1~" TERM, "bad_time"},
};

static void render(const kj_file *f, yj_buf *out)
{
    /* records and rejects interleaved in file order (batch, index) */
    size_t i = 0, j = 0;
    while (i < f->nrecs || j < f->nrejects) {
        bool rec = j >= f->nrejects || (i < f->nrecs && (f->recs[i].batch < f->rejects[j].batch ||
                                                         (f->recs[i].batch == f->rejects[j].batch &&
                                                          f->recs[i].index < f->rejects[j].index)));
        if (out->len)
            yj_buf_putc(out, ',');
        yj_buf_puts(out, rec ? kj_table_name(f->recs[i++].table) : f->rejects[j++].reason);
    }
}

static void test_case_table(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kj_file f;
        parse_ok(cases[i].input, strlen(cases[i].input), &f);
        check_invariants(&f, cases[i].name);
        yj_buf got;
        yj_buf_init(&got);
        render(&f, &got);
        if (strcmp(got.data, cases[i].outcome) != 0) {
            print_error("case \"%s\": got \"%s\", want \"%s\"\n", cases[i].name, got.data,
                        cases[i].outcome);
            for (size_t k = 0; k < f.nrejects; k++)
                print_error("    %s: %s\n", f.rejects[k].reason, f.rejects[k].detail);
            failures++;
        }
        yj_buf_free(&got);
        kj_file_free(&f);
    }
    assert_int_equal(failures, 0);
}

/* ---- details, GBK damage, limits -------------------------------------------------------- */

static void test_details(void **state)
{
    (void)state;
    const char *doc = "KJ;AQSS|" SS("0.1", "0") MINE
        ";001A01;2024-03-01 08:05:10;0.1~" TERM "KJ;AQKD|" MINE ";001D01;2024-03-01 08:05:10;1~";
    kj_file f;
    parse_ok(doc, strlen(doc), &f);
    assert_int_equal(f.nrejects, 2);
    assert_string_equal(f.rejects[0].detail, "第 2 条记录字段数为 4，AQSS 应为 5");
    assert_int_equal(f.rejects[0].table, KJ_AQSS);
    assert_int_equal(f.rejects[0].batch, 1);
    assert_int_equal(f.rejects[0].index, 2);
    assert_string_equal(f.rejects[1].reason, "truncated");
    assert_int_equal(f.rejects[1].index, 0);
    assert_int_equal(f.rejects[1].count, 1);
    assert_int_equal(f.rejects[1].table, KJ_AQKD);
    assert_non_null(strstr(f.rejects[1].detail, "该批 1 条记录全部作废"));
    kj_file_free(&f);

    /* a long bad value is quoted shortened, and the detail stays UTF-8 */
    doc = AQSS(SS("测测测测测测测测测测测测测测测测测测测测测测测测测", "0"));
    parse_ok(doc, strlen(doc), &f);
    assert_int_equal(f.nrejects, 1);
    assert_non_null(strstr(f.rejects[0].detail, "测测测测测测测测…”"));
    assert_true(yj_utf8_valid(f.rejects[0].detail, strlen(f.rejects[0].detail)));
    kj_file_free(&f);
}

static void test_gbk_damage(void **state)
{
    (void)state;
    /* GBK (A1 AC terminator): one record holds 0xFF, which no GBK character
     * contains; one holds a lone lead byte before ';'.  Only those two go. */
    const char doc[] = "KJ;AQKC|" MINE ";001D01;\xD6\xF7\xBE\xAE;\xB7\xE7\xBB\xFA;\xCD\xA3;"
                       "\xBF\xAA;2024-03-01 08:00:00~" MINE ";001D02;\xFF\xD6\xF7;x;a;b;"
                       "2024-03-01 08:00:00~" MINE ";001D03;\xD6;x;a;b;2024-03-01 08:00:00~" GTERM;
    kj_file f;
    parse_ok(doc, sizeof doc - 1, &f);
    assert_true(f.gbk);
    assert_int_equal(f.nrecs, 1);
    assert_string_equal(f.recs[0].location, "主井");
    assert_string_equal(f.recs[0].type, "风机");
    assert_string_equal(f.recs[0].state0, "停");
    assert_string_equal(f.recs[0].state1, "开");
    assert_int_equal(f.nrejects, 2);
    assert_string_equal(f.rejects[0].reason, "bad_encoding");
    assert_int_equal(f.rejects[0].index, 2);
    assert_string_equal(f.rejects[1].reason, "bad_encoding");
    kj_file_free(&f);
}

static void test_reject_cap_and_rollback(void **state)
{
    (void)state;
    yj_buf b;
    yj_buf_init(&b);
    yj_buf_puts(&b, "KJ;AQSS|");
    for (int i = 0; i < KJ_MAX_REJECTS + 500; i++)
        yj_buf_puts(&b, "x~");
    yj_buf_puts(&b, TERM);
    kj_file f;
    parse_ok(b.data, b.len, &f);
    assert_int_equal(f.nrejects, KJ_MAX_REJECTS);
    assert_int_equal(f.unlisted, 500);
    assert_int_equal(f.rejected, KJ_MAX_REJECTS + 500);
    kj_file_free(&f);

    /* the same batch without its terminator: one reject for all of them */
    b.len -= strlen(TERM);
    b.data[b.len] = '\0';
    parse_ok(b.data, b.len, &f);
    assert_int_equal(f.nrejects, 1);
    assert_int_equal(f.unlisted, 0);
    assert_string_equal(f.rejects[0].reason, "truncated");
    assert_int_equal(f.rejects[0].count, KJ_MAX_REJECTS + 500);
    assert_int_equal(f.rejected, KJ_MAX_REJECTS + 500);
    kj_file_free(&f);
    yj_buf_free(&b);
}

static void test_record_length_limit(void **state)
{
    (void)state;
    yj_buf b;
    yj_buf_init(&b);
    yj_buf_puts(&b, "KJ;AQSS|" MINE ";001A01;2024-03-01 08:05:10;0.1;");
    while (b.len <= 8 + KJ_MAX_RECORD_BYTES)
        yj_buf_putc(&b, '0');
    yj_buf_puts(&b, "~" SS("0.2", "0") TERM);
    kj_file f;
    parse_ok(b.data, b.len, &f);
    assert_int_equal(f.nrecs, 1);
    assert_int_equal(f.nrejects, 1);
    assert_string_equal(f.rejects[0].reason, "too_long");
    kj_file_free(&f);
    yj_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_utf8_values),
        cmocka_unit_test(test_gbk_values),
        cmocka_unit_test(test_time_zone_independent),
        cmocka_unit_test(test_case_table),
        cmocka_unit_test(test_details),
        cmocka_unit_test(test_gbk_damage),
        cmocka_unit_test(test_reject_cap_and_rollback),
        cmocka_unit_test(test_record_length_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
