/*
 * kj.c — coal-mine networked monitoring files (see kj.h; the format as
 * implemented is in docs/kj-format.md).
 *
 * The file is framed in its own encoding and each record is converted to
 * UTF-8 on its own, so one damaged record costs only itself.  In GBK the
 * second byte of a two-byte character may be `|` (0x7C) or `~` (0x7E), so the
 * framing steps over whole characters, never single bytes.  Records of a
 * batch are appended as they are read and dropped again (rolled back to the
 * batch's snapshot) when the batch turns out to have no terminator.
 */
#include "kj.h"

#include "../core/csv.h" /* yj_utf8_valid */

#include <iconv.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KJ_MAX_FIELDS   16 /* more ';' than this are only counted */
#define KJ_MAX_TABLE    16 /* letters in a header's table name */
#define KJ_MAX_INPUT    (1u << 30)
#define KJ_BEIJING_SECS (8 * 3600)

/* ---- the tables, as data ---------------------------------------------------- */

typedef enum { FK_TEXT, FK_TIME, FK_NUM, FK_INT } field_kind;

typedef struct {
    const char *name; /* Chinese field name, used in details */
    field_kind kind;
    bool required; /* FK_TEXT/FK_NUM: blank allowed when false (text "", number NAN) */
    size_t off;    /* offsetof(kj_record, member) */
    size_t cap;    /* FK_TEXT: sizeof member (bytes incl. NUL) */
    int lo, hi;    /* FK_INT: allowed range */
} kj_field;

#define MEMBER_SIZE(m) sizeof(((kj_record *)0)->m)
#define TEXT(name, m, req)                                                                         \
    {                                                                                              \
        name, FK_TEXT, req, offsetof(kj_record, m), MEMBER_SIZE(m), 0, 0                           \
    }
#define TIME(name, m)                                                                              \
    {                                                                                              \
        name, FK_TIME, true, offsetof(kj_record, m), 0, 0, 0                                       \
    }
#define NUM(name, m, req)                                                                          \
    {                                                                                              \
        name, FK_NUM, req, offsetof(kj_record, m), 0, 0, 0                                         \
    }
#define INT(name, m, lo, hi)                                                                       \
    {                                                                                              \
        name, FK_INT, true, offsetof(kj_record, m), 0, lo, hi                                      \
    }
#define CODES TEXT("煤矿编码", mine, true), TEXT("测点编号", point, true)

static const kj_field aqmc_fields[] = {
    CODES,
    TEXT("安装地点", location, true),
    TEXT("传感器类型", type, true),
    TEXT("单位", unit, false),
    NUM("量程下限", range_lo, true),
    NUM("量程上限", range_hi, true),
    NUM("报警上限", alarm_hi, false),
    NUM("报警下限", alarm_lo, false),
    NUM("断电值", cut_hi, false),
    NUM("复电值", restore_hi, false),
    TIME("数据时间", ts),
};
static const kj_field aqkc_fields[] = {
    CODES,
    TEXT("安装地点", location, true),
    TEXT("传感器类型", type, true),
    TEXT("0态名称", state0, false),
    TEXT("1态名称", state1, false),
    TIME("数据时间", ts),
};
static const kj_field aqss_fields[] = {
    CODES,
    TIME("数据时间", ts),
    NUM("测点值", value, true),
    INT("测点状态", state, 0, 65535),
};
static const kj_field aqkd_fields[] = {
    CODES,
    TIME("变化时间", ts),
    INT("开关状态", state, 0, 1),
};
static const kj_field aqmt_fields[] = {
    CODES,
    TIME("统计时间", ts),
    NUM("最大值", max, true),
    TIME("最大值时刻", max_ts),
    NUM("最小值", min, true),
    NUM("平均值", avg, true),
};

static const struct {
    const char *name;
    const kj_field *fields;
    size_t nfields;
} tables[KJ_TABLE_COUNT] = {
    [KJ_AQMC] = {"AQMC", aqmc_fields, sizeof aqmc_fields / sizeof aqmc_fields[0]},
    [KJ_AQKC] = {"AQKC", aqkc_fields, sizeof aqkc_fields / sizeof aqkc_fields[0]},
    [KJ_AQSS] = {"AQSS", aqss_fields, sizeof aqss_fields / sizeof aqss_fields[0]},
    [KJ_AQKD] = {"AQKD", aqkd_fields, sizeof aqkd_fields / sizeof aqkd_fields[0]},
    [KJ_AQMT] = {"AQMT", aqmt_fields, sizeof aqmt_fields / sizeof aqmt_fields[0]},
};

const char *kj_table_name(kj_table t)
{
    return (unsigned)t < KJ_TABLE_COUNT ? tables[t].name : "?";
}

/* ---- parser state ------------------------------------------------------------- */

typedef struct {
    const unsigned char *p, *end;
    bool gbk;
    iconv_t cd;                             /* GB18030 (or GBK) -> UTF-8; (iconv_t)-1 if none */
    char raw[KJ_MAX_RECORD_BYTES];          /* iconv wants a non-const input */
    char text[2 * KJ_MAX_RECORD_BYTES + 8]; /* one record as UTF-8, NUL-terminated */
    kj_file *f;
    size_t cap_recs, cap_rejects;
} kj_parser;

typedef struct {
    size_t nrecs, nrejects, rejected, unlisted;
} kj_snapshot;

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Length of the character at p: in GBK mode a two-byte (lead 81-FE, trail
 * 40-FE but 7F) or four-byte GB18030 character; anything else, and every byte
 * in UTF-8 mode (self-synchronising), is one byte. */
static size_t char_len(const kj_parser *ps, const unsigned char *p)
{
    if (!ps->gbk || *p < 0x81 || *p == 0xFF)
        return 1;
    size_t left = (size_t)(ps->end - p);
    if (left >= 2 && p[1] >= 0x40 && p[1] <= 0xFE && p[1] != 0x7F)
        return 2;
    if (left >= 4 && p[1] >= 0x30 && p[1] <= 0x39 && p[2] >= 0x81 && p[2] <= 0xFE && p[3] >= 0x30 &&
        p[3] <= 0x39)
        return 4;
    return 1;
}

/* Bytes of a batch terminator ‖ at p, or 0. */
static size_t term_len(const kj_parser *ps, const unsigned char *p)
{
    size_t left = (size_t)(ps->end - p);
    if (ps->gbk)
        return left >= 2 && p[0] == 0xA1 && p[1] == 0xAC ? 2 : 0;
    return left >= 3 && p[0] == 0xE2 && p[1] == 0x80 && p[2] == 0x96 ? 3 : 0;
}

/* Bytes of a header `KJ;<name>|` at p (name: 1..KJ_MAX_TABLE of A-Z a-z 0-9 _), or 0. */
static size_t header_len(const kj_parser *ps, const unsigned char *p)
{
    size_t left = (size_t)(ps->end - p);
    if (left < 5 || p[0] != 'K' || p[1] != 'J' || p[2] != ';')
        return 0;
    size_t i = 3;
    while (i < left && i < 3 + KJ_MAX_TABLE &&
           ((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z') || is_digit((char)p[i]) ||
            p[i] == '_'))
        i++;
    return i > 3 && i < left && p[i] == '|' ? i + 1 : 0;
}

/* Whitespace; between batches (bom) also UTF-8 byte-order marks, as files
 * are sometimes joined. */
static void skip_ws(kj_parser *ps, bool bom)
{
    for (;;) {
        if (ps->p < ps->end && is_ws(*ps->p))
            ps->p++;
        else if (bom && !ps->gbk && ps->end - ps->p >= 3 && memcmp(ps->p, "\xEF\xBB\xBF", 3) == 0)
            ps->p += 3;
        else
            return;
    }
}

/* ---- output ------------------------------------------------------------------- */

/* vsnprintf into dst, cutting a truncated text back to a whole UTF-8 character. */
static void detail_vset(char *dst, size_t cap, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void detail_vset(char *dst, size_t cap, const char *fmt, va_list ap)
{
    int n = vsnprintf(dst, cap, fmt, ap);
    if (n < 0) {
        dst[0] = '\0';
        return;
    }
    if ((size_t)n < cap)
        return;
    size_t len = cap - 1, i = len;
    while (i > 0 && ((unsigned char)dst[i - 1] & 0xC0) == 0x80)
        i--;
    if (i > 0 && (unsigned char)dst[i - 1] >= 0xC0) {
        unsigned char c = (unsigned char)dst[i - 1];
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (i - 1 + need > len)
            len = i - 1;
    }
    dst[len] = '\0';
}

static int add_reject(kj_parser *ps, kj_table t, int batch, int index, const char *reason,
                      size_t count, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static int add_reject(kj_parser *ps, kj_table t, int batch, int index, const char *reason,
                      size_t count, const char *fmt, ...)
{
    kj_file *f = ps->f;
    if (count == 0)
        count = 1;
    f->rejected += count;
    if (f->nrejects >= KJ_MAX_REJECTS) {
        f->unlisted++;
        return 0;
    }
    if (f->nrejects == ps->cap_rejects) {
        size_t cap = ps->cap_rejects ? 2 * ps->cap_rejects : 16;
        if (cap > KJ_MAX_REJECTS)
            cap = KJ_MAX_REJECTS;
        kj_reject *r = realloc(f->rejects, cap * sizeof *r);
        if (!r)
            return -1;
        f->rejects = r;
        ps->cap_rejects = cap;
    }
    kj_reject *r = &f->rejects[f->nrejects++];
    memset(r, 0, sizeof *r);
    r->table = t;
    r->batch = batch;
    r->index = index;
    r->reason = reason;
    r->count = count;
    va_list ap;
    va_start(ap, fmt);
    detail_vset(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
    return 0;
}

static kj_record *new_record(kj_parser *ps)
{
    kj_file *f = ps->f;
    if (f->nrecs == ps->cap_recs) {
        size_t cap = ps->cap_recs ? 2 * ps->cap_recs : 64;
        if (cap > SIZE_MAX / sizeof(kj_record))
            return NULL;
        kj_record *r = realloc(f->recs, cap * sizeof *r);
        if (!r)
            return NULL;
        f->recs = r;
        ps->cap_recs = cap;
    }
    return &f->recs[f->nrecs];
}

static kj_snapshot snapshot(const kj_file *f)
{
    return (kj_snapshot){f->nrecs, f->nrejects, f->rejected, f->unlisted};
}

static void roll_back(kj_file *f, kj_snapshot s)
{
    f->nrecs = s.nrecs;
    f->nrejects = s.nrejects;
    f->rejected = s.rejected;
    f->unlisted = s.unlisted;
}

/* A short quotable excerpt of a (valid UTF-8) field for a detail; true, so
 * that it can be made only on the failure path of a condition. */
static bool excerpt(char *dst, size_t cap, const char *s, size_t n)
{
    const size_t max = 24;
    size_t len = n;
    if (len > max) {
        len = max;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    snprintf(dst, cap, "%.*s%s", (int)len, s, len < n ? "…" : "");
    return true;
}

/* ---- field values ------------------------------------------------------------- */

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* "YYYY-MM-DD HH:MM:SS", Beijing time (+08:00, no daylight saving) -> Unix seconds. */
static bool parse_time(const char *s, size_t n, int64_t *out)
{
    static const char pat[] = "dddd-dd-dd dd:dd:dd";
    if (n != sizeof pat - 1)
        return false;
    for (size_t i = 0; i < n; i++)
        if (pat[i] == 'd' ? !is_digit(s[i]) : s[i] != pat[i])
            return false;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (y < 1970 || y > 2099 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
        mi > 59 || sec > 59)
        return false;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    *out = (int64_t)timegm(&tm) - KJ_BEIJING_SECS;
    return true;
}

/* Plain decimal: [+-] digits [. digits] [e [+-] digits], finite. */
static bool parse_num(const char *s, size_t n, double *out)
{
    size_t i = 0, nd = 0;
    if (n == 0 || n > 64)
        return false;
    if (s[i] == '+' || s[i] == '-')
        i++;
    for (; i < n && is_digit(s[i]); i++)
        nd++;
    if (i < n && s[i] == '.')
        for (i++; i < n && is_digit(s[i]); i++)
            nd++;
    if (nd == 0)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t ne = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        for (; i < n && is_digit(s[i]); i++)
            ne++;
        if (ne == 0)
            return false;
    }
    if (i != n)
        return false;
    char buf[72], *end;
    memcpy(buf, s, n);
    buf[n] = '\0';
    double v = strtod(buf, &end);
    if (end != buf + n || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static bool parse_int(const char *s, size_t n, int lo, int hi, int *out)
{
    if (n == 0 || n > 6)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return false;
    int v = digits(s, (int)n);
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* True if s[0..n) holds a C0 control, DEL or a C1 control (U+0080..U+009F). */
static bool has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F)
            return true;
        if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
            (unsigned char)s[i + 1] <= 0x9F)
            return true;
    }
    return false;
}

/* ---- one record ----------------------------------------------------------------- */

/* The record's bytes as UTF-8 in ps->text (NUL-terminated, *len set), or false. */
static bool to_utf8(kj_parser *ps, const unsigned char *s, size_t n, size_t *len)
{
    if (!ps->gbk) {
        if (!yj_utf8_valid((const char *)s, n))
            return false;
        memcpy(ps->text, s, n);
        ps->text[n] = '\0';
        *len = n;
        return true;
    }
    if (ps->cd == (iconv_t)-1)
        return false;
    memcpy(ps->raw, s, n);
    char *in = ps->raw, *out = ps->text;
    size_t inleft = n, outleft = sizeof ps->text - 1;
    iconv(ps->cd, NULL, NULL, NULL, NULL);
    if (iconv(ps->cd, &in, &inleft, &out, &outleft) == (size_t)-1 || inleft != 0 ||
        iconv(ps->cd, NULL, NULL, &out, &outleft) == (size_t)-1)
        return false;
    *len = (size_t)(out - ps->text);
    *out = '\0';
    return yj_utf8_valid(ps->text, *len);
}

/* Parse the record s[0..n) (already trimmed, non-empty) of table t. */
static int record(kj_parser *ps, kj_table t, int batch, int idx, const unsigned char *s, size_t n)
{
    const char *tname = tables[t].name;
    if (n > KJ_MAX_RECORD_BYTES)
        return add_reject(ps, t, batch, idx, "too_long", 1, "第 %d 条记录长 %zu 字节，超过上限 %d",
                          idx, n, KJ_MAX_RECORD_BYTES);
    size_t len;
    if (!to_utf8(ps, s, n, &len))
        return add_reject(ps, t, batch, idx, "bad_encoding", 1, "第 %d 条记录不是有效的 %s 文本",
                          idx, ps->gbk ? "GBK" : "UTF-8");

    /* split on ';' and trim each field */
    const char *fs[KJ_MAX_FIELDS];
    size_t fl[KJ_MAX_FIELDS], nf = 0;
    for (const char *p = ps->text, *e = ps->text + len;;) {
        const char *semi = memchr(p, ';', (size_t)(e - p));
        const char *fe = semi ? semi : e;
        if (nf < KJ_MAX_FIELDS) {
            const char *a = p, *b = fe;
            while (a < b && is_ws((unsigned char)*a))
                a++;
            while (b > a && is_ws((unsigned char)b[-1]))
                b--;
            fs[nf] = a;
            fl[nf] = (size_t)(b - a);
        }
        nf++;
        if (!semi)
            break;
        p = semi + 1;
    }
    if (nf != tables[t].nfields)
        return add_reject(ps, t, batch, idx, "field_count", 1,
                          "第 %d 条记录字段数为 %zu，%s 应为 %zu", idx, nf, tname,
                          tables[t].nfields);

    kj_record *r = new_record(ps);
    if (!r)
        return -1;
    memset(r, 0, sizeof *r);
    r->table = t;
    r->batch = batch;
    r->index = idx;
    r->value = r->range_lo = r->range_hi = r->alarm_hi = r->alarm_lo = NAN;
    r->cut_hi = r->restore_hi = r->max = r->min = r->avg = NAN;

    char ex[40];
    for (size_t i = 0; i < nf; i++) {
        const kj_field *fd = &tables[t].fields[i];
        const char *v = fs[i];
        size_t vl = fl[i];
        void *dst = (char *)r + fd->off;
        if (has_control(v, vl))
            return add_reject(ps, t, batch, idx, "bad_encoding", 1, "第 %d 条记录的%s含控制字符",
                              idx, fd->name);
        if (vl == 0 && fd->required)
            return add_reject(ps, t, batch, idx, "empty_field", 1, "第 %d 条记录的%s为空", idx,
                              fd->name);
        switch (fd->kind) {
        case FK_TEXT:
            if (vl >= fd->cap)
                return add_reject(ps, t, batch, idx, "too_long", 1, "第 %d 条记录的%s超过 %zu 字节",
                                  idx, fd->name, fd->cap - 1);
            memcpy(dst, v, vl);
            ((char *)dst)[vl] = '\0';
            break;
        case FK_TIME:
            if (!parse_time(v, vl, dst) && excerpt(ex, sizeof ex, v, vl))
                return add_reject(ps, t, batch, idx, "bad_time", 1,
                                  "第 %d 条记录的%s“%s”不是有效时间（应为 YYYY-MM-DD HH:MM:SS）",
                                  idx, fd->name, ex);
            break;
        case FK_NUM:
            if (vl == 0)
                break; /* optional, stays NAN */
            if (!parse_num(v, vl, dst) && excerpt(ex, sizeof ex, v, vl))
                return add_reject(ps, t, batch, idx, "bad_number", 1,
                                  "第 %d 条记录的%s“%s”不是有效数字", idx, fd->name, ex);
            break;
        case FK_INT:
            if (!parse_int(v, vl, fd->lo, fd->hi, dst) && excerpt(ex, sizeof ex, v, vl))
                return add_reject(ps, t, batch, idx, "bad_number", 1,
                                  "第 %d 条记录的%s“%s”应为 %d 到 %d 的整数", idx, fd->name, ex,
                                  fd->lo, fd->hi);
            break;
        }
    }

    /* checks across fields */
    if (t == KJ_AQMC && !(r->range_lo < r->range_hi))
        return add_reject(ps, t, batch, idx, "bad_number", 1,
                          "第 %d 条记录的量程下限 %g 不小于量程上限 %g", idx, r->range_lo,
                          r->range_hi);
    if (t == KJ_AQMT && !(r->min <= r->avg && r->avg <= r->max))
        return add_reject(ps, t, batch, idx, "bad_number", 1,
                          "第 %d 条记录的统计值不一致：最小值 %g、平均值 %g、最大值 %g", idx,
                          r->min, r->avg, r->max);
    if (t == KJ_AQKD)
        r->value = r->state;
    ps->f->nrecs++;
    return 0;
}

/* ---- batches ------------------------------------------------------------------ */

/* Walk the records of a batch from ps->p (just after its header).  Records
 * are parsed when t names a table, else only counted.  Returns 1 when the
 * batch ended with its terminator, 0 when end of file or the next header
 * came first, -1 when out of memory; *nrec is the records seen (a record cut
 * off by the end of the batch included). */
static int batch_body(kj_parser *ps, kj_table t, int batch, int *nrec)
{
    int n = 0;
    for (;;) {
        skip_ws(ps, false);
        *nrec = n;
        if (ps->p >= ps->end || header_len(ps, ps->p))
            return 0;
        size_t tl = term_len(ps, ps->p);
        if (tl) {
            ps->p += tl;
            return 1;
        }
        if (*ps->p == '~') { /* empty record */
            ps->p++;
            continue;
        }
        const unsigned char *s = ps->p;
        bool cut = false;
        while (ps->p < ps->end && *ps->p != '~' && !term_len(ps, ps->p)) {
            if (*ps->p == 'K' && header_len(ps, ps->p)) {
                cut = true;
                break;
            }
            ps->p += char_len(ps, ps->p);
        }
        *nrec = ++n;
        if (cut || ps->p >= ps->end)
            return 0;
        const unsigned char *e = ps->p;
        if (*ps->p == '~')
            ps->p++; /* else the terminator, read by the next round */
        while (e > s && is_ws(e[-1]))
            e--;
        if (t != KJ_TABLE_COUNT && record(ps, t, batch, n, s, (size_t)(e - s)) < 0)
            return -1;
    }
}

/* A few bytes of an unreadable header for its detail: printable ASCII, else '?'. */
static void header_excerpt(char *dst, size_t cap, const unsigned char *p, const unsigned char *end)
{
    size_t i = 0;
    while (i + 1 < cap && i < 16 && p + i < end && p[i] != '\n' && p[i] != '\r') {
        dst[i] = p[i] >= 0x20 && p[i] < 0x7F ? (char)p[i] : '?';
        i++;
    }
    dst[i] = '\0';
}

static int batch(kj_parser *ps)
{
    kj_file *f = ps->f;
    int b = ++f->batches;
    size_t hl = header_len(ps, ps->p);
    if (hl == 0) {
        /* skip to the next terminator (inclusive) or header, counting records */
        char ex[20];
        header_excerpt(ex, sizeof ex, ps->p, ps->end);
        size_t lost = 0;
        ps->p += char_len(ps, ps->p);
        while (ps->p < ps->end && !header_len(ps, ps->p)) {
            size_t tl = term_len(ps, ps->p);
            if (tl) {
                ps->p += tl;
                break;
            }
            if (*ps->p == '~')
                lost++;
            ps->p += char_len(ps, ps->p);
        }
        return add_reject(ps, KJ_TABLE_COUNT, b, 0, "bad_header", lost,
                          "第 %d 批数据头“%s”无法识别（应为 KJ;表名|），该批 %zu 条记录作废", b, ex,
                          lost);
    }
    const char *name = (const char *)ps->p + 3;
    size_t nlen = hl - 4;
    kj_table t = KJ_TABLE_COUNT;
    for (int i = 0; i < KJ_TABLE_COUNT; i++)
        if (nlen == 4 && memcmp(name, tables[i].name, 4) == 0)
            t = (kj_table)i;
    char tname[KJ_MAX_TABLE + 1];
    snprintf(tname, sizeof tname, "%.*s", (int)nlen, name);
    ps->p += hl;

    kj_snapshot snap = snapshot(f);
    int n;
    int rc = batch_body(ps, t, b, &n);
    if (rc < 0)
        return -1;
    if (t == KJ_TABLE_COUNT)
        return add_reject(
            ps, t, b, 0, "unknown_table", (size_t)n,
            "第 %d 批的表名 %s 不认识（应为 AQMC、AQKC、AQSS、AQKD 或 AQMT），该批 %d "
            "条记录作废",
            b, tname, n);
    if (rc == 0) {
        roll_back(f, snap);
        return add_reject(ps, t, b, 0, "truncated", (size_t)n,
                          "第 %d 批（%s）缺少结束符 ‖，该批 %d 条记录全部作废", b, tname, n);
    }
    return 0;
}

/* ---- encoding ------------------------------------------------------------------- */

/* UTF-8 when the whole file is UTF-8, or when it holds the UTF-8 terminator
 * E2 80 96 (impossible in GBK, whose trail bytes are never 0x80: a UTF-8
 * file with a damaged record); GBK otherwise. */
static bool looks_gbk(const unsigned char *p, size_t n)
{
    if (yj_utf8_valid((const char *)p, n))
        return false;
    for (const unsigned char *q = p, *end = p + n; (q = memchr(q, 0xE2, (size_t)(end - q))) != NULL;
         q++)
        if (end - q >= 3 && q[1] == 0x80 && q[2] == 0x96)
            return false;
    return true;
}

/* ---- entry points ----------------------------------------------------------------- */

yj_code kj_parse(const char *data, size_t len, kj_file *out, yj_err *err)
{
    memset(out, 0, sizeof *out);
    if (len > KJ_MAX_INPUT)
        return yj_err_set(err, YJ_ETOOBIG, NULL, "监测文件超过 %u 字节", KJ_MAX_INPUT);
    kj_parser *ps = malloc(sizeof *ps);
    if (!ps)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
    ps->p = (const unsigned char *)data;
    ps->end = ps->p + len;
    ps->f = out;
    ps->cap_recs = ps->cap_rejects = 0;
    ps->gbk = len > 0 && looks_gbk(ps->p, len);
    ps->cd = (iconv_t)-1;
    if (ps->gbk) {
        ps->cd = iconv_open("UTF-8", "GB18030");
        if (ps->cd == (iconv_t)-1)
            ps->cd = iconv_open("UTF-8", "GBK");
    }
    out->gbk = ps->gbk;

    int rc = 0;
    for (;;) {
        skip_ws(ps, true);
        if (ps->p >= ps->end || (rc = batch(ps)) < 0)
            break;
    }
    if (ps->cd != (iconv_t)-1)
        iconv_close(ps->cd);
    free(ps);
    if (rc < 0) {
        kj_file_free(out);
        return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
    }
    if (out->nrecs > 0)
        memcpy(out->mine, out->recs[0].mine, sizeof out->mine);
    return YJ_OK;
}

void kj_file_free(kj_file *f)
{
    free(f->recs);
    free(f->rejects);
    memset(f, 0, sizeof *f);
}
