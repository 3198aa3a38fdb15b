/* csv.c — RFC 4180 reader/writer (see csv.h). */
#include "csv.h"

#include <stdlib.h>
#include <string.h>

bool yj_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + n;
    while (p < e) {
        unsigned c = *p;
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t len;
        unsigned min;
        if ((c & 0xE0) == 0xC0) {
            len = 2, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, min = 0x10000, c &= 0x07;
        } else {
            return false;
        }
        if ((size_t)(e - p) < len)
            return false;
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return false;
            c = (c << 6) | (p[i] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return false;
        p += len;
    }
    return true;
}

void yj_csv_open(yj_csv *c, const char *data, size_t len)
{
    c->p = data;
    c->end = data + len;
    c->line = 1;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        c->p += 3;
    yj_buf_init(&c->cell);
}

void yj_csv_close(yj_csv *c)
{
    yj_buf_free(&c->cell);
}

void yj_csv_row_free(yj_csv_row *row)
{
    for (size_t i = 0; i < row->n; i++)
        free(row->fields[i]);
    row->n = 0;
}

/* Set the error (while row->n still names the column), then free the row. */
#define CSV_FAIL(row, ...)                                                                         \
    do {                                                                                           \
        yj_err_set(err, YJ_EPARSE, NULL, __VA_ARGS__);                                             \
        yj_csv_row_free(row);                                                                      \
        return -1;                                                                                 \
    } while (0)

static int csv_push(yj_csv *c, yj_csv_row *row, yj_err *err)
{
    if (row->n >= YJ_CSV_MAX_FIELDS)
        CSV_FAIL(row, "line %zu: more than %d columns", row->line, YJ_CSV_MAX_FIELDS);
    if (!yj_utf8_valid(c->cell.data, c->cell.len))
        CSV_FAIL(row, "line %zu, column %zu: not valid UTF-8 (save the file as UTF-8)", row->line,
                 row->n + 1);
    if (memchr(c->cell.data, '\0', c->cell.len))
        CSV_FAIL(row, "line %zu, column %zu: NUL byte in field", row->line, row->n + 1);
    row->fields[row->n++] = yj_buf_steal(&c->cell);
    yj_buf_init(&c->cell);
    return 0;
}

static int csv_too_long(yj_csv *c, yj_csv_row *row, yj_err *err)
{
    CSV_FAIL(row, "line %zu: field longer than %d bytes", c->line, YJ_CSV_MAX_FIELD_BYTES);
}

int yj_csv_next(yj_csv *c, yj_csv_row *row, yj_err *err)
{
    row->n = 0;
    /* skip blank lines */
    while (c->p < c->end && (*c->p == '\n' || *c->p == '\r')) {
        if (*c->p == '\n' || c->p + 1 == c->end || c->p[1] != '\n')
            c->line++; /* LF, or a CR not followed by LF */
        c->p++;
    }
    if (c->p >= c->end)
        return 0;
    row->line = c->line;
    yj_buf_reset(&c->cell);
    for (;;) {
        /* start of a field */
        if (c->p < c->end && *c->p == '"') {
            size_t qline = c->line;
            c->p++;
            for (;;) {
                if (c->p >= c->end)
                    CSV_FAIL(row, "line %zu: quoted field is never closed", qline);
                char ch = *c->p++;
                if (ch == '"') {
                    if (c->p < c->end && *c->p == '"') {
                        yj_buf_putc(&c->cell, '"');
                        c->p++;
                        continue;
                    }
                    break;
                }
                if (ch == '\n')
                    c->line++;
                yj_buf_putc(&c->cell, ch);
                if (c->cell.len > YJ_CSV_MAX_FIELD_BYTES)
                    return csv_too_long(c, row, err);
            }
            if (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
                CSV_FAIL(row, "line %zu, column %zu: text after closing quote", c->line,
                         row->n + 1);
        } else {
            while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') {
                if (*c->p == '"')
                    CSV_FAIL(row, "line %zu, column %zu: quote inside an unquoted field", c->line,
                             row->n + 1);
                yj_buf_putc(&c->cell, *c->p++);
                if (c->cell.len > YJ_CSV_MAX_FIELD_BYTES)
                    return csv_too_long(c, row, err);
            }
        }
        if (csv_push(c, row, err) < 0)
            return -1;
        if (c->p >= c->end)
            return 1;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        /* end of record: CRLF, LF or a bare CR each end one line */
        if (*c->p == '\r')
            c->p++;
        if (c->p < c->end && *c->p == '\n')
            c->p++;
        c->line++;
        return 1;
    }
}

/* What a spreadsheet reads as the start of a formula (OWASP's list). */
static bool csv_guarded_char(char ch)
{
    return ch == '=' || ch == '+' || ch == '-' || ch == '@' || ch == '\t' || ch == '\r';
}

void yj_csv_put(yj_buf *out, const char *s, bool first_in_row)
{
    if (!first_in_row)
        yj_buf_putc(out, ',');
    if (s == NULL)
        return;
    bool guard =
        csv_guarded_char(s[0]) || (s[0] == '\'' && (csv_guarded_char(s[1]) || s[1] == '\''));
    bool quote = guard || strpbrk(s, ",\"\r\n") != NULL || s[0] == ' ';
    if (quote)
        yj_buf_putc(out, '"');
    if (guard)
        yj_buf_putc(out, '\'');
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            yj_buf_putc(out, '"');
        yj_buf_putc(out, *p);
    }
    if (quote)
        yj_buf_putc(out, '"');
}

void yj_csv_put_number(yj_buf *out, const char *num, bool first_in_row)
{
    if (!first_in_row)
        yj_buf_putc(out, ',');
    yj_buf_puts(out, num);
}

void yj_csv_end_row(yj_buf *out)
{
    yj_buf_puts(out, "\r\n");
}

void yj_csv_unguard(char *s)
{
    if (s[0] == '\'' && (csv_guarded_char(s[1]) || s[1] == '\''))
        memmove(s, s + 1, strlen(s));
}
