/*
 * fuzz_kj.c — libFuzzer target for the KJ monitoring-file parser (monitor/kj.c).
 *
 * Parses the input (no NUL after it) and checks what kj.h promises:
 *   - kj_parse() returns YJ_OK (only out of memory may fail);
 *   - every reject has a known reason, a non-empty UTF-8 detail, a count of
 *     at least 1, and kj_file.rejected is the sum of the counts;
 *   - every record's text is NUL-terminated UTF-8 without control
 *     characters, its codes are non-empty, its times are in 1970..2099
 *     Beijing time, its required numbers are finite, AQKD states are 0/1 and
 *     AQMT statistics are ordered.
 * Then every accepted record is written back as UTF-8 in the field order of
 * docs/kj-format.md (one batch per record, numbers with %.17g, times as
 * Beijing time) and parsed again: each must come back unchanged and nothing
 * may be rejected, so the reader and the documented format agree.
 */
#include "core/buf.h"
#include "core/csv.h"
#include "core/err.h"
#include "monitor/kj.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERM "\xE2\x80\x96"

static const char *const reasons[] = {"truncated",    "bad_header",  "unknown_table",
                                      "field_count",  "bad_number",  "bad_time",
                                      "bad_encoding", "empty_field", "too_long"};

/* ---- invariants ------------------------------------------------------------------ */

static void check_text(const char *s, size_t cap, bool required)
{
    const char *nul = memchr(s, '\0', cap);
    if (!nul || (required && nul == s) || !yj_utf8_valid(s, (size_t)(nul - s)))
        abort();
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7F || (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F))
            abort();
    if (nul > s && (s[0] == ' ' || nul[-1] == ' '))
        abort(); /* fields are trimmed */
}

static void check_time(int64_t ts)
{
    /* 1970-01-01 00:00:00 .. 2099-12-31 23:59:59, Beijing time */
    if (ts < -8 * 3600 || ts > INT64_C(4102444799) - 8 * 3600)
        abort();
}

static void check_record(const kj_record *r, const kj_file *f)
{
    if ((unsigned)r->table >= KJ_TABLE_COUNT || r->batch < 1 || r->batch > f->batches ||
        r->index < 1)
        abort();
    check_text(r->mine, sizeof r->mine, true);
    check_text(r->point, sizeof r->point, true);
    check_text(r->location, sizeof r->location, r->table == KJ_AQMC || r->table == KJ_AQKC);
    check_text(r->type, sizeof r->type, r->table == KJ_AQMC || r->table == KJ_AQKC);
    check_text(r->unit, sizeof r->unit, false);
    check_text(r->state0, sizeof r->state0, false);
    check_text(r->state1, sizeof r->state1, false);
    check_time(r->ts);
    switch (r->table) {
    case KJ_AQMC:
        if (!isfinite(r->range_lo) || !isfinite(r->range_hi) || !(r->range_lo < r->range_hi))
            abort();
        break;
    case KJ_AQSS:
        if (!isfinite(r->value) || r->state < 0 || r->state > 65535)
            abort();
        break;
    case KJ_AQKD:
        if ((r->state != 0 && r->state != 1) || r->value != r->state)
            abort();
        break;
    case KJ_AQMT:
        check_time(r->max_ts);
        if (!isfinite(r->max) || !(r->min <= r->avg && r->avg <= r->max))
            abort();
        break;
    default:
        break;
    }
}

static void check_file(const kj_file *f)
{
    size_t sum = 0;
    if (f->nrejects > KJ_MAX_REJECTS || (f->unlisted && f->nrejects != KJ_MAX_REJECTS))
        abort();
    for (size_t i = 0; i < f->nrejects; i++) {
        const kj_reject *r = &f->rejects[i];
        bool known = false;
        for (size_t k = 0; k < sizeof reasons / sizeof reasons[0]; k++)
            known = known || (r->reason && strcmp(r->reason, reasons[k]) == 0);
        const char *nul = memchr(r->detail, '\0', sizeof r->detail);
        if (!known || !nul || nul == r->detail || !yj_utf8_valid(r->detail, strlen(r->detail)))
            abort();
        if (r->count < 1 || r->batch < 1 || r->batch > f->batches || r->index < 0 ||
            (unsigned)r->table > KJ_TABLE_COUNT)
            abort();
        sum += r->count;
    }
    if (sum + f->unlisted > f->rejected || (f->unlisted == 0 && sum != f->rejected))
        abort();
    for (size_t i = 0; i < f->nrecs; i++)
        check_record(&f->recs[i], f);
    if (f->nrecs && strcmp(f->mine, f->recs[0].mine) != 0)
        abort();
}

/* ---- write back ------------------------------------------------------------------- */

static void put_time(yj_buf *b, int64_t ts)
{
    time_t t = (time_t)(ts + 8 * 3600);
    struct tm tm;
    gmtime_r(&t, &tm);
    yj_buf_printf(b, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void put_num(yj_buf *b, double v)
{
    if (!isnan(v))
        yj_buf_printf(b, "%.17g", v);
}

/* A number (blank when NAN) or a time, then ';'. */
static void num_semi(yj_buf *b, double v)
{
    put_num(b, v);
    yj_buf_putc(b, ';');
}

static void time_semi(yj_buf *b, int64_t ts)
{
    put_time(b, ts);
    yj_buf_putc(b, ';');
}

/* One record as its own batch, fields in the documented order. */
static void put_record(yj_buf *b, const kj_record *r)
{
    yj_buf_printf(b, "KJ;%s|%s;%s;", kj_table_name(r->table), r->mine, r->point);
    switch (r->table) {
    case KJ_AQMC:
        yj_buf_printf(b, "%s;%s;%s;", r->location, r->type, r->unit);
        num_semi(b, r->range_lo);
        num_semi(b, r->range_hi);
        num_semi(b, r->alarm_hi);
        num_semi(b, r->alarm_lo);
        num_semi(b, r->cut_hi);
        num_semi(b, r->restore_hi);
        put_time(b, r->ts);
        break;
    case KJ_AQKC:
        yj_buf_printf(b, "%s;%s;%s;%s;", r->location, r->type, r->state0, r->state1);
        put_time(b, r->ts);
        break;
    case KJ_AQSS:
        time_semi(b, r->ts);
        put_num(b, r->value);
        yj_buf_printf(b, ";%d", r->state);
        break;
    case KJ_AQKD:
        put_time(b, r->ts);
        yj_buf_printf(b, ";%d", r->state);
        break;
    case KJ_AQMT:
        time_semi(b, r->ts);
        num_semi(b, r->max);
        time_semi(b, r->max_ts);
        num_semi(b, r->min);
        put_num(b, r->avg);
        break;
    default:
        abort();
    }
    yj_buf_puts(b, "~" TERM "\r\n");
}

static bool same_num(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static bool same_record(const kj_record *a, const kj_record *b)
{
    return a->table == b->table && strcmp(a->mine, b->mine) == 0 &&
           strcmp(a->point, b->point) == 0 && a->ts == b->ts && same_num(a->value, b->value) &&
           a->state == b->state && strcmp(a->location, b->location) == 0 &&
           strcmp(a->type, b->type) == 0 && strcmp(a->unit, b->unit) == 0 &&
           same_num(a->range_lo, b->range_lo) && same_num(a->range_hi, b->range_hi) &&
           same_num(a->alarm_hi, b->alarm_hi) && same_num(a->alarm_lo, b->alarm_lo) &&
           same_num(a->cut_hi, b->cut_hi) && same_num(a->restore_hi, b->restore_hi) &&
           strcmp(a->state0, b->state0) == 0 && strcmp(a->state1, b->state1) == 0 &&
           same_num(a->max, b->max) && same_num(a->min, b->min) && same_num(a->avg, b->avg) &&
           a->max_ts == b->max_ts;
}

static void check_round_trip(const kj_file *f)
{
    if (f->nrecs == 0)
        return;
    yj_buf out;
    yj_buf_init(&out);
    for (size_t i = 0; i < f->nrecs; i++)
        put_record(&out, &f->recs[i]);
    kj_file back;
    yj_err err = {0};
    if (kj_parse(out.data, out.len, &back, &err) != YJ_OK)
        abort();
    if (back.gbk || back.nrejects != 0 || back.rejected != 0 || back.nrecs != f->nrecs ||
        back.batches != (int)f->nrecs)
        abort();
    for (size_t i = 0; i < f->nrecs; i++)
        if (!same_record(&f->recs[i], &back.recs[i]) || back.recs[i].batch != (int)i + 1 ||
            back.recs[i].index != 1)
            abort();
    kj_file_free(&back);
    yj_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *doc = malloc(size ? size : 1); /* no NUL after the data */
    if (!doc)
        return 0;
    memcpy(doc, data, size);
    kj_file f;
    yj_err err = {0};
    if (kj_parse(doc, size, &f, &err) != YJ_OK)
        abort();
    check_file(&f);
    check_round_trip(&f);
    kj_file_free(&f);
    free(doc);
    return 0;
}
