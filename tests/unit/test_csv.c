/*
 * test_csv.c — the CSV reader and writer (src/core/csv.h), as tables of
 * {input, expected rows or error} and {value, expected encoding}.
 *
 * Rows are rendered as "<line>[<f1><f2>...]" one after another, so a case
 * states both the fields and the physical line each row starts on.  An error
 * case also names a substring the message must hold (the line it blames).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/core/buf.h"
#include "../../src/core/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reader cases ------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *input;
    size_t len;          /* 0: strlen(input) */
    const char *rows;    /* rendering of the rows read before the end or error */
    const char *err_has; /* NULL: must end cleanly; else YJ_EPARSE whose message has this */
} csv_case;

static const csv_case read_cases[] = {
    /* line endings, BOM */
    {"lf", "a,b\nc,d\n", 0, "1[<a><b>]2[<c><d>]", NULL},
    {"crlf", "a,b\r\nc,d\r\n", 0, "1[<a><b>]2[<c><d>]", NULL},
    {"mixed endings", "a,b\r\nc,d\ne\r\n", 0, "1[<a><b>]2[<c><d>]3[<e>]", NULL},
    {"no final newline", "a,b\nc,d", 0, "1[<a><b>]2[<c><d>]", NULL},
    {"bom skipped",
     "\xEF\xBB\xBF"
     "a,b\r\nc\r\n",
     0, "1[<a><b>]2[<c>]", NULL},
    {"bom only", "\xEF\xBB\xBF", 0, "", NULL},
    {"empty input", "", 0, "", NULL},
    {"bom not at start is data",
     "a,\xEF\xBB\xBF"
     "b\n",
     0,
     "1[<a><\xEF\xBB\xBF"
     "b>]",
     NULL},
    {"blank lines skipped, lines counted", "a\n\n\r\n\nb\n", 0, "1[<a>]5[<b>]", NULL},
    {"utf-8 text", "名称,人数\n救援队,5\n", 0, "1[<名称><人数>]2[<救援队><5>]", NULL},

    /* quoting */
    {"quoted", "\"a\",\"b c\"\n", 0, "1[<a><b c>]", NULL},
    {"doubled quote", "\"a\"\"b\",\"\"\"\"\n", 0, "1[<a\"b><\">]", NULL},
    {"quoted comma", "\"a,b\",c\n", 0, "1[<a,b><c>]", NULL},
    {"quoted empty", "\"\",x\n", 0, "1[<><x>]", NULL},
    {"embedded lf", "\"x\ny\",z\nnext,row\n", 0, "1[<x\ny><z>]3[<next><row>]", NULL},
    {"embedded crlf", "\"x\r\ny\"\r\nq\r\n", 0, "1[<x\r\ny>]3[<q>]", NULL},
    {"two multi-line fields", "\"a\nb\nc\",1\n\"d\ne\",2\nz\n", 0,
     "1[<a\nb\nc><1>]4[<d\ne><2>]6[<z>]", NULL},
    {"multi-line after blank lines", "h\n\n\"p\nq\"\nr\n", 0, "1[<h>]3[<p\nq>]5[<r>]", NULL},
    {"quoted field at eof", "a,\"b\"", 0, "1[<a><b>]", NULL},

    /* empty fields */
    {"all empty", ",,\n", 0, "1[<><><>]", NULL},
    {"empty middle", "a,,b\n", 0, "1[<a><><b>]", NULL},
    {"trailing comma", "a,b,\n", 0, "1[<a><b><>]", NULL},
    {"trailing comma at eof", "a,b,", 0, "1[<a><b><>]", NULL},
    {"leading comma", ",a\n", 0, "1[<><a>]", NULL},
    {"spaces kept", " a , b \n", 0, "1[< a >< b >]", NULL},

    /* errors name the line */
    {"unterminated quote", "a,b\nc,\"dd\nee\n", 0, "1[<a><b>]", "line 2:"},
    {"unterminated quote at eof", "\"abc", 0, "", "line 1:"},
    {"unterminated after multi-line", "\"a\nb\",1\n\"x\n", 0, "1[<a\nb><1>]", "line 3:"},
    {"quote inside unquoted field", "a,b\nc,d\"e\n", 0, "1[<a><b>]", "line 2,"},
    {"quote ending unquoted field", "ab\"\n", 0, "", "line 1, column 1"},
    {"text after closing quote", "x\n\"a\"b,c\n", 0, "1[<x>]", "line 2, column 1"},
    {"space after closing quote", "\"a\" ,c\n", 0, "", "line 1, column 1"},
    {"invalid utf-8 byte", "ok\n\xff\xfe,x\n", 0, "1[<ok>]", "line 2, column 1"},
    {"invalid utf-8 in 2nd column", "a,b\nc,\xC3\x28\n", 0, "1[<a><b>]", "line 2,"},
    {"overlong utf-8", "\xC0\xAF\n", 0, "", "line 1, column 1"},
    {"surrogate utf-8", "a,\xED\xA0\x80\n", 0, "", "line 1,"},
    {"truncated utf-8", "a,\xE4\xB8\n", 0, "", "line 1,"},
    {"gbk text", "\xC3\xFB\xB3\xC6\n", 0, "", "not valid UTF-8"},
    {"invalid utf-8 in quoted multi-line", "h\n\"a\nb\xff\"\n", 0, "1[<h>]", "line 2, column 1"},
    {"nul byte",
     "a,b\x00"
     "c\n",
     6, "", "NUL"},
};

/* Errors inside a row name the column too ("line 2, column 3"), so that an
 * importer's report points at the cell. */
static const csv_case column_cases[] = {
    {"quote inside 1st column", "x\"y,b\n", 0, "", "line 1, column 1:"},
    {"quote inside 3rd column", "a,b,c\"d\n", 0, "", "line 1, column 3:"},
    {"text after quote in 2nd column", "h\na,\"b\"c\n", 0, "1[<h>]", "line 2, column 2:"},
    {"invalid utf-8 in 2nd column", "a,\xff\n", 0, "", "line 1, column 2:"},
    {"nul in 4th column",
     "a,b,c,d\x00"
     "e\n",
     10, "", "line 1, column 4:"},
};

static void render_row(yj_buf *out, const yj_csv_row *row)
{
    yj_buf_printf(out, "%zu[", row->line);
    for (size_t i = 0; i < row->n; i++)
        yj_buf_printf(out, "<%s>", row->fields[i]);
    yj_buf_putc(out, ']');
}

/* Read the whole input; returns -1 on error (err set), else the row count. */
static int read_all(const char *data, size_t len, yj_buf *rendered, yj_err *err)
{
    yj_csv c;
    yj_csv_open(&c, data, len);
    yj_csv_row row = {.n = 0};
    int r, rows = 0;
    while ((r = yj_csv_next(&c, &row, err)) == 1) {
        render_row(rendered, &row);
        yj_csv_row_free(&row);
        rows++;
    }
    yj_csv_close(&c);
    return r < 0 ? -1 : rows;
}

static int run_cases(const csv_case *cases, size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        const csv_case *tc = &cases[i];
        size_t len = tc->len ? tc->len : strlen(tc->input);
        yj_buf got;
        yj_buf_init(&got);
        yj_err err;
        yj_err_clear(&err);
        int r = read_all(tc->input, len, &got, &err);
        const char *why = NULL;
        if (strcmp(got.data, tc->rows) != 0)
            why = "rows differ";
        else if (tc->err_has == NULL && r < 0)
            why = "unexpected error";
        else if (tc->err_has != NULL && r >= 0)
            why = "expected an error";
        else if (tc->err_has != NULL && err.code != YJ_EPARSE)
            why = "error code is not YJ_EPARSE";
        else if (tc->err_has != NULL && strstr(err.message, tc->err_has) == NULL)
            why = "error message lacks the expected text";
        if (why) {
            print_error("case \"%s\": %s\n  rows: got  %s\n        want %s\n  error: %s"
                        " (want \"%s\")\n",
                        tc->name, why, got.data, tc->rows, r < 0 ? err.message : "(none)",
                        tc->err_has ? tc->err_has : "(none)");
            failures++;
        }
        yj_buf_free(&got);
    }
    return failures;
}

static void test_read_table(void **state)
{
    (void)state;
    assert_int_equal(run_cases(read_cases, sizeof read_cases / sizeof read_cases[0]), 0);
}

static void test_error_names_column(void **state)
{
    (void)state;
    assert_int_equal(run_cases(column_cases, sizeof column_cases / sizeof column_cases[0]), 0);
}

/* ---- limits ------------------------------------------------------------------- */

static char *repeat_fields(size_t n)
{
    yj_buf b;
    yj_buf_init(&b);
    for (size_t i = 0; i < n; i++)
        yj_buf_puts(&b, i ? ",x" : "x");
    yj_buf_puts(&b, "\nnext\n");
    return yj_buf_steal(&b);
}

static void test_column_limit(void **state)
{
    (void)state;
    yj_err err;
    char *ok = repeat_fields(YJ_CSV_MAX_FIELDS);
    yj_buf got;
    yj_buf_init(&got);
    assert_int_equal(read_all(ok, strlen(ok), &got, &err), 2);
    free(ok);

    char *bad = repeat_fields(YJ_CSV_MAX_FIELDS + 1);
    yj_buf_reset(&got);
    assert_int_equal(read_all(bad, strlen(bad), &got, &err), -1);
    assert_int_equal(err.code, YJ_EPARSE);
    assert_non_null(strstr(err.message, "line 1:"));
    assert_non_null(strstr(err.message, "columns"));
    free(bad);
    yj_buf_free(&got);
}

static void test_field_length_limit(void **state)
{
    (void)state;
    yj_err err;
    yj_buf in, got;
    yj_buf_init(&in);
    yj_buf_init(&got);
    for (int quoted = 0; quoted < 2; quoted++) {
        for (int extra = 0; extra < 2; extra++) {
            yj_buf_reset(&in);
            yj_buf_reset(&got);
            yj_buf_puts(&in, "a\n");
            if (quoted)
                yj_buf_putc(&in, '"');
            for (size_t i = 0; i < (size_t)YJ_CSV_MAX_FIELD_BYTES + (size_t)extra; i++)
                yj_buf_putc(&in, 'x');
            if (quoted)
                yj_buf_putc(&in, '"');
            yj_buf_puts(&in, "\n");
            int r = read_all(in.data, in.len, &got, &err);
            if (extra) {
                assert_int_equal(r, -1);
                assert_int_equal(err.code, YJ_EPARSE);
                assert_non_null(strstr(err.message, "line 2:"));
            } else {
                assert_int_equal(r, 2);
            }
        }
    }
    yj_buf_free(&in);
    yj_buf_free(&got);
}

/* A row struct reused after an error must be safe to read into again. */
static void test_reader_reuse_after_rows(void **state)
{
    (void)state;
    const char *in = "a,b\nc\n";
    yj_csv c;
    yj_csv_open(&c, in, strlen(in));
    yj_csv_row row = {.n = 0};
    yj_err err;
    assert_int_equal(yj_csv_next(&c, &row, &err), 1);
    assert_int_equal(row.n, 2);
    yj_csv_row_free(&row);
    assert_int_equal(row.n, 0);
    assert_int_equal(yj_csv_next(&c, &row, &err), 1);
    assert_int_equal(row.n, 1);
    assert_string_equal(row.fields[0], "c");
    assert_int_equal(row.line, 2);
    yj_csv_row_free(&row);
    assert_int_equal(yj_csv_next(&c, &row, &err), 0);
    assert_int_equal(yj_csv_next(&c, &row, &err), 0); /* stays at the end */
    yj_csv_close(&c);
}

/* ---- UTF-8 ------------------------------------------------------------------- */

static const struct {
    const char *s;
    bool valid;
} utf8_cases[] = {
    {"", true},
    {"ascii", true},
    {"应急管理", true},
    {"\xC2\x80", true},              /* U+0080, smallest 2-byte */
    {"\xF0\x9F\x9A\x92", true},      /* U+1F692 fire engine */
    {"\xF4\x8F\xBF\xBF", true},      /* U+10FFFF */
    {"\xEF\xBF\xBD", true},          /* U+FFFD */
    {"\x80", false},                 /* lone continuation */
    {"\xC0\x80", false},             /* overlong NUL */
    {"\xC1\xBF", false},             /* overlong */
    {"\xE0\x80\x80", false},         /* overlong 3-byte */
    {"\xF0\x80\x80\x80", false},     /* overlong 4-byte */
    {"\xED\xA0\x80", false},         /* U+D800 surrogate */
    {"\xED\xBF\xBF", false},         /* U+DFFF surrogate */
    {"\xF4\x90\x80\x80", false},     /* above U+10FFFF */
    {"\xF8\x88\x80\x80\x80", false}, /* 5-byte form */
    {"\xFF", false},
    {"\xE4\xB8", false},     /* truncated */
    {"\xE4\x41\xAD", false}, /* bad continuation */
    {"a\xC3", false},        /* truncated at end */
};

static void test_utf8_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof utf8_cases / sizeof utf8_cases[0]; i++) {
        bool got = yj_utf8_valid(utf8_cases[i].s, strlen(utf8_cases[i].s));
        if (got != utf8_cases[i].valid)
            fail_msg("utf8 case %zu: got %d want %d", i, got, utf8_cases[i].valid);
    }
}

/* ---- writer ------------------------------------------------------------------- */

static const struct {
    const char *value;
    const char *encoded; /* as written, not first in row (so after a comma) */
} put_cases[] = {
    {"plain", ",plain"},
    {"", ","},
    {"a,b", ",\"a,b\""},
    {"a\"b", ",\"a\"\"b\""},
    {"line\nbreak", ",\"line\nbreak\""},
    {"cr\rx", ",\"cr\rx\""},
    {" lead", ",\" lead\""},
    {"=SUM(A1)", ",\"'=SUM(A1)\""},
    {"+1", ",\"'+1\""},
    {"-1+cmd|' /C calc'!A0", ",\"'-1+cmd|' /C calc'!A0\""},
    {"-", ",\"'-\""},
    {"@x", ",\"'@x\""},
    {"\tx", ",\"'\tx\""},
    {"\rx", ",\"'\rx\""},
    {"'=x", ",\"''=x\""},
    {"''a", ",\"'''a\""},
    {"'a", ",'a"},
    {"'", ",'"},
    {"a=b", ",a=b"},
    {"应急", ",应急"},
};

static void test_put_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof put_cases / sizeof put_cases[0]; i++) {
        yj_buf out;
        yj_buf_init(&out);
        yj_buf_puts(&out, "");
        yj_csv_put(&out, put_cases[i].value, false);
        if (strcmp(out.data, put_cases[i].encoded) != 0)
            fail_msg("put(\"%s\"): got [%s] want [%s]", put_cases[i].value, out.data,
                     put_cases[i].encoded);
        /* first in row: the same without the comma */
        yj_buf_reset(&out);
        yj_csv_put(&out, put_cases[i].value, true);
        assert_string_equal(out.data ? out.data : "", put_cases[i].encoded + 1);
        yj_buf_free(&out);
    }
}

/* Numbers the program formatted are numbers, not formulas. */
static void test_put_number(void **state)
{
    (void)state;
    yj_buf out;
    yj_buf_init(&out);
    yj_csv_put_number(&out, "-12.5", true);
    yj_csv_put_number(&out, "7", false);
    assert_string_equal(out.data, "-12.5,7");
    yj_buf_free(&out);
}

static void test_put_null_and_row_end(void **state)
{
    (void)state;
    yj_buf out;
    yj_buf_init(&out);
    yj_csv_put(&out, "a", true);
    yj_csv_put(&out, NULL, false);
    yj_csv_put(&out, "b", false);
    yj_csv_end_row(&out);
    assert_string_equal(out.data, "a,,b\r\n");
    yj_buf_free(&out);
}

static const char *const round_trip_values[] = {
    "=SUM(A1)",   "+1",    "@x",      "'=x",         "''a",
    "'a",         "plain", "a,b",     "a\"b",        "",
    "'",          "''",    "'''",     "\tTab",       "\rCR",
    "'+",         "'@",    "-1",      "multi\nline", "multi\r\nline",
    "'-",         "-=",    " space ", "\"",          "\"\"",
    "应急，管理", "=",     "+",       "@",
};
#define N_ROUND_TRIP (sizeof round_trip_values / sizeof round_trip_values[0])

/* Each value alone, and all of them as one row: write, read back, unguard. */
static void test_round_trip(void **state)
{
    (void)state;
    yj_buf out;
    yj_buf_init(&out);
    for (size_t i = 0; i < N_ROUND_TRIP; i++)
        yj_csv_put(&out, round_trip_values[i], i == 0);
    yj_csv_end_row(&out);
    /* a second row with the values reversed */
    for (size_t i = 0; i < N_ROUND_TRIP; i++)
        yj_csv_put(&out, round_trip_values[N_ROUND_TRIP - 1 - i], i == 0);
    yj_csv_end_row(&out);

    yj_csv c;
    yj_csv_open(&c, out.data, out.len);
    yj_csv_row row = {.n = 0};
    yj_err err;
    for (int r = 0; r < 2; r++) {
        int got = yj_csv_next(&c, &row, &err);
        if (got != 1)
            fail_msg("row %d: %d %s", r, got, err.message);
        assert_int_equal(row.n, N_ROUND_TRIP);
        for (size_t i = 0; i < N_ROUND_TRIP; i++) {
            const char *want = round_trip_values[r == 0 ? i : N_ROUND_TRIP - 1 - i];
            yj_csv_unguard(row.fields[i]);
            if (strcmp(row.fields[i], want) != 0)
                fail_msg("round trip of [%s] gave [%s]", want, row.fields[i]);
        }
        yj_csv_row_free(&row);
    }
    assert_int_equal(yj_csv_next(&c, &row, &err), 0);
    yj_csv_close(&c);
    yj_buf_free(&out);
}

/* unguard must leave alone what put would not have guarded. */
static const struct {
    const char *in, *out;
} unguard_cases[] = {
    {"'=x", "=x"}, {"'+1", "+1"}, {"'@a", "@a"}, {"'\tx", "\tx"}, {"''a", "'a"},
    {"'a", "'a"},  {"'", "'"},    {"", ""},      {"=x", "=x"},    {"a'=x", "a'=x"},
};

static void test_unguard_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof unguard_cases / sizeof unguard_cases[0]; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%s", unguard_cases[i].in);
        yj_csv_unguard(buf);
        if (strcmp(buf, unguard_cases[i].out) != 0)
            fail_msg("unguard([%s]) = [%s], want [%s]", unguard_cases[i].in, buf,
                     unguard_cases[i].out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_table),
        cmocka_unit_test(test_error_names_column),
        cmocka_unit_test(test_column_limit),
        cmocka_unit_test(test_field_length_limit),
        cmocka_unit_test(test_reader_reuse_after_rows),
        cmocka_unit_test(test_utf8_table),
        cmocka_unit_test(test_put_table),
        cmocka_unit_test(test_put_number),
        cmocka_unit_test(test_put_null_and_row_end),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_unguard_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
