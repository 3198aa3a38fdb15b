/*
 * fuzz_csv.c — libFuzzer target for the RFC 4180 reader (core/csv.c).
 *
 * Reads the input row by row to the end or the first error.  Every row read
 * is then written back with yj_csv_put() and read again: the reader and the
 * writer must agree exactly (including the formula guard that yj_csv_unguard
 * removes), otherwise an export/import round trip would change data.
 */
#include "core/buf.h"
#include "core/csv.h"
#include "core/err.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Write one row, read it back and compare field by field. */
static void check_round_trip(const yj_csv_row *row)
{
    /* A lone empty field is written as an empty line, which the reader
     * (rightly) skips as blank; nothing to compare. */
    if (row->n == 1 && row->fields[0][0] == '\0')
        return;
    yj_buf out;
    yj_buf_init(&out);
    yj_buf_puts(&out, "\xEF\xBB\xBF"); /* as exports do; the reader drops one BOM */
    for (size_t i = 0; i < row->n; i++)
        yj_csv_put(&out, row->fields[i], i == 0);
    yj_csv_end_row(&out);

    yj_csv c;
    yj_csv_row back = {0};
    yj_err err = {0};
    yj_csv_open(&c, out.data, out.len);
    if (yj_csv_next(&c, &back, &err) != 1 || back.n != row->n)
        abort();
    for (size_t i = 0; i < row->n; i++) {
        yj_csv_unguard(back.fields[i]);
        if (strcmp(back.fields[i], row->fields[i]) != 0)
            abort();
    }
    yj_csv_row_free(&back);
    yj_csv_row extra = {0};
    if (yj_csv_next(&c, &extra, &err) != 0) /* exactly one row */
        abort();
    yj_csv_close(&c);
    yj_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *doc = malloc(size ? size : 1); /* no NUL after the data */
    if (!doc)
        return 0;
    memcpy(doc, data, size);

    yj_csv c;
    yj_csv_row row = {0};
    yj_err err = {0};
    /* Row line numbers never go backwards.  (Not strictly increasing: a bare
     * CR ends a record without counting a line.) */
    size_t last_line = 0;
    int rc;
    yj_csv_open(&c, doc, size);
    while ((rc = yj_csv_next(&c, &row, &err)) == 1) {
        if (row.n == 0 || row.n > YJ_CSV_MAX_FIELDS || row.line < last_line)
            abort();
        last_line = row.line;
        for (size_t i = 0; i < row.n; i++)
            if (!row.fields[i] || !yj_utf8_valid(row.fields[i], strlen(row.fields[i])))
                abort();
        check_round_trip(&row);
        yj_csv_row_free(&row);
    }
    if (rc < 0 && (err.code != YJ_EPARSE || err.message[0] == '\0'))
        abort();
    yj_csv_close(&c);
    free(doc);
    return 0;
}
