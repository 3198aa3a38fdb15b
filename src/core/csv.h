/*
 * csv.h — RFC 4180 CSV reading and writing.
 *
 * The reader works on a whole in-memory document: it skips a UTF-8 BOM,
 * accepts CRLF or LF, quoted fields with "" escapes and embedded newlines,
 * and rejects what Excel or a careless script would otherwise turn into
 * silent data loss: unterminated quotes, stray quotes, invalid UTF-8,
 * absurdly long fields.  Each row records the line it started on so that
 * importers can name it in their error reports.
 */
#ifndef YJ_CSV_H
#define YJ_CSV_H

#include "buf.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>

#define YJ_CSV_MAX_FIELDS      256
#define YJ_CSV_MAX_FIELD_BYTES 65536

typedef struct {
    char *fields[YJ_CSV_MAX_FIELDS];
    size_t n;
    size_t line; /* 1-based physical line the row starts on */
} yj_csv_row;

typedef struct {
    const char *p, *end;
    size_t line;
    yj_buf cell; /* scratch for the field being read */
} yj_csv;

void yj_csv_open(yj_csv *c, const char *data, size_t len);
/* Read the next row into *row (fields owned by row; free with yj_csv_row_free).
 * Returns 1 for a row, 0 at end of input, -1 on a syntax error (err set,
 * with the line number in the message).  Blank lines are skipped. */
int yj_csv_next(yj_csv *c, yj_csv_row *row, yj_err *err);
void yj_csv_row_free(yj_csv_row *row);
void yj_csv_close(yj_csv *c);

/* Append one field, quoting when needed.  Text that a spreadsheet would run
 * as a formula (=, +, -, @, tab, CR first) is written with a leading ' ;
 * yj_csv_unguard() undoes that on import so a round trip is exact. */
void yj_csv_put(yj_buf *out, const char *s, bool first_in_row);
/* A number the program formatted ("-12.5"): written as it is, a number to
 * the spreadsheet, never a formula. */
void yj_csv_put_number(yj_buf *out, const char *num, bool first_in_row);
void yj_csv_end_row(yj_buf *out);
/* In place: "'=x" -> "=x" (only for the characters yj_csv_put guards). */
void yj_csv_unguard(char *s);

/* True if s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
bool yj_utf8_valid(const char *s, size_t n);

#endif
