/* buf.c — growable byte buffer (see buf.h).  Allocation failure aborts:
 * a server that cannot allocate a few kilobytes has no better option. */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void buf_reserve(yj_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        abort();
    b->data = p;
    b->cap = cap;
}

void yj_buf_init(yj_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    buf_reserve(b, 0);
    b->data[0] = '\0';
}

void yj_buf_free(yj_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void yj_buf_reset(yj_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void yj_buf_append(yj_buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void yj_buf_puts(yj_buf *b, const char *s)
{
    yj_buf_append(b, s, strlen(s));
}

void yj_buf_putc(yj_buf *b, char c)
{
    yj_buf_append(b, &c, 1);
}

void yj_buf_printf(yj_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

char *yj_buf_steal(yj_buf *b)
{
    char *p = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void yj_buf_json_string(yj_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    yj_buf_putc(b, '"');
    const char *run = s;
    for (const char *p = s;; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        yj_buf_append(b, run, (size_t)(p - run));
        if (ch == '\0')
            break;
        run = p + 1;
        switch (ch) {
        case '"':
            yj_buf_puts(b, "\\\"");
            break;
        case '\\':
            yj_buf_puts(b, "\\\\");
            break;
        case '\n':
            yj_buf_puts(b, "\\n");
            break;
        case '\r':
            yj_buf_puts(b, "\\r");
            break;
        case '\t':
            yj_buf_puts(b, "\\t");
            break;
        default: {
            char u[7] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15], 0};
            yj_buf_puts(b, u);
        }
        }
    }
    yj_buf_putc(b, '"');
}
