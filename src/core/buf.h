/*
 * buf.h — a growable byte buffer, always NUL-terminated.
 * Used to build SQL, CSV and response bodies without fixed limits.
 */
#ifndef YJ_BUF_H
#define YJ_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} yj_buf;

void yj_buf_init(yj_buf *b);
void yj_buf_free(yj_buf *b);
void yj_buf_reset(yj_buf *b);
void yj_buf_append(yj_buf *b, const void *p, size_t n);
void yj_buf_puts(yj_buf *b, const char *s);
void yj_buf_putc(yj_buf *b, char c);
void yj_buf_printf(yj_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal (quoted, escaped; s must be UTF-8). */
void yj_buf_json_string(yj_buf *b, const char *s);
/* Hand the data to the caller (who frees it) and reset the buffer. */
char *yj_buf_steal(yj_buf *b);

#endif
