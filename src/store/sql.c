/*
 * sql.c — statements built with their parameters, and the one scope
 * mechanism every module's queries go through.
 *
 * A yj_sql collects SQL text and the values of its placeholders together,
 * so a fragment added conditionally carries its own bindings and nobody
 * counts parameter positions.  yj_sql_scope() appends the caller's scope —
 * the region subtree, for enterprise users the owning enterprise, and for
 * some tables the rows of the regions above the caller's that are meant
 * to be seen there — as the predicate over the columns a query names:
 *
 *     (r >= ? AND r < ?)                     the caller's subtree
 *     [OR (substr(?, 1, length(r)) = r AND <above>)]   issued above, when visible there
 *     AND e = ?                              an enterprise user: its own rows only
 *
 * No module writes a region predicate of its own; the in-memory checks
 * (a record about to be written, an area drawn) use yj_scope_contains().
 * "Starts with the prefix" is the range [prefix, prefix + "~"): region
 * codes are digits, which sort below '~', and a range keeps the prepared
 * statement and the region index usable.
 */
#include "store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { P_NULL, P_INT, P_REAL, P_TEXT } ptype;

struct yj_sql_param {
    ptype type;
    int64_t i;
    double d;
    char *s;
};

void yj_sql_init(yj_sql *q, const char *text)
{
    memset(q, 0, sizeof *q);
    yj_buf_init(&q->text);
    if (text)
        yj_buf_puts(&q->text, text);
}

void yj_sql_free(yj_sql *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->p[i].s);
    free(q->p);
    yj_buf_free(&q->text);
    memset(q, 0, sizeof *q);
}

void yj_sql_add(yj_sql *q, const char *text)
{
    yj_buf_puts(&q->text, text);
}

void yj_sql_addf(yj_sql *q, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[1024];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        yj_buf_puts(&q->text, tmp);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (big == NULL)
        abort();
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    yj_buf_puts(&q->text, big);
    free(big);
}

static struct yj_sql_param *push(yj_sql *q, const char *text)
{
    if (text)
        yj_buf_puts(&q->text, text);
    if (q->n == q->cap) {
        size_t nc = q->cap ? q->cap * 2 : 8;
        struct yj_sql_param *p = realloc(q->p, nc * sizeof *p);
        if (p == NULL)
            abort();
        q->p = p;
        q->cap = nc;
    }
    struct yj_sql_param *p = &q->p[q->n++];
    memset(p, 0, sizeof *p);
    return p;
}

void yj_sql_int(yj_sql *q, const char *text, int64_t v)
{
    struct yj_sql_param *p = push(q, text);
    p->type = P_INT;
    p->i = v;
}

void yj_sql_real(yj_sql *q, const char *text, double v)
{
    struct yj_sql_param *p = push(q, text);
    p->type = P_REAL;
    p->d = v;
}

void yj_sql_text(yj_sql *q, const char *text, const char *v)
{
    struct yj_sql_param *p = push(q, text);
    if (v == NULL) {
        p->type = P_NULL;
        return;
    }
    p->type = P_TEXT;
    p->s = strdup(v);
    if (p->s == NULL)
        abort();
}

void yj_sql_null(yj_sql *q, const char *text)
{
    push(q, text)->type = P_NULL;
}

void yj_sql_json(yj_sql *q, const char *text, const json_t *v)
{
    if (json_is_string(v))
        yj_sql_text(q, text, json_string_value(v));
    else if (json_is_integer(v))
        yj_sql_int(q, text, json_integer_value(v));
    else if (json_is_real(v))
        yj_sql_real(q, text, json_real_value(v));
    else if (json_is_boolean(v))
        yj_sql_int(q, text, json_is_true(v) ? 1 : 0);
    else
        yj_sql_null(q, text);
}

/* "col starts with prefix": the range and its two bindings. */
static void prefix_range(yj_sql *q, const char *col, const char *prefix)
{
    char hi[24];
    snprintf(hi, sizeof hi, "%.16s~", prefix);
    yj_buf_printf(&q->text, "(%s >= ", col);
    yj_sql_text(q, "?", prefix);
    yj_buf_printf(&q->text, " AND %s < ", col);
    yj_sql_text(q, "?", hi);
    yj_buf_puts(&q->text, ")");
}

void yj_sql_scope(yj_sql *q, const yj_scope *sc, const yj_scope_cols *cols)
{
    /* an enterprise user and rows no enterprise owns: none, unless the
     * table says such rows are for everyone in the region */
    if (sc->enterprise != 0 && cols->enterprise == NULL && !cols->unowned_visible) {
        yj_buf_puts(&q->text, " AND 1 = 0");
        return;
    }
    yj_buf_puts(&q->text, " AND (");
    if (sc->region[0]) {
        prefix_range(q, cols->region, sc->region);
        if (cols->above) {
            yj_buf_puts(&q->text, " OR (");
            yj_sql_text(q, "substr(?, 1, ", sc->region);
            yj_buf_printf(&q->text, "length(%s)) = %s AND %s)", cols->region, cols->region,
                          cols->above);
        }
    } else {
        yj_buf_puts(&q->text, "1 = 1");
    }
    if (cols->unplaced_to_top && strlen(sc->region) <= 4 && sc->enterprise == 0)
        yj_buf_printf(&q->text, " OR %s IS NULL", cols->region);
    yj_buf_puts(&q->text, ")");
    if (sc->enterprise != 0 && cols->enterprise) {
        yj_buf_printf(&q->text, " AND (%s = ", cols->enterprise);
        yj_sql_int(q, "?", sc->enterprise);
        if (cols->unowned_visible)
            yj_buf_printf(&q->text, " OR %s IS NULL", cols->enterprise);
        yj_buf_puts(&q->text, ")");
    }
}

void yj_sql_region(yj_sql *q, const char *col, const char *prefix)
{
    if (prefix == NULL || prefix[0] == '\0')
        return;
    yj_buf_puts(&q->text, " AND ");
    prefix_range(q, col, prefix);
}

yj_stmt *yj_sql_prepare(yj_conn *c, const yj_sql *q, yj_err *err)
{
    const char *text = q->text.data ? q->text.data : "";
    yj_stmt *st = yj_prepare(c, text, err);
    if (st == NULL)
        return NULL;
    for (size_t i = 0; i < q->n; i++) {
        const struct yj_sql_param *p = &q->p[i];
        int idx = (int)i + 1;
        switch (p->type) {
        case P_INT:
            yj_bind_int(st, idx, p->i);
            break;
        case P_REAL:
            yj_bind_real(st, idx, p->d);
            break;
        case P_TEXT:
            yj_bind_text(st, idx, p->s);
            break;
        default:
            yj_bind_null(st, idx);
        }
    }
    return st;
}

bool yj_region_within(const char *code, const char *prefix)
{
    return code && prefix && strncmp(code, prefix, strlen(prefix)) == 0;
}

bool yj_scope_contains(const yj_scope *sc, const char *region)
{
    return yj_region_within(region, sc->region);
}

bool yj_scope_sees(const yj_scope *sc, const char *region, int64_t enterprise)
{
    return yj_scope_contains(sc, region) && (sc->enterprise == 0 || sc->enterprise == enterprise);
}

yj_code yj_sql_one(yj_conn *c, yj_sql *q, const char *what, int64_t id, json_t **out, yj_err *err)
{
    *out = NULL;
    yj_stmt *st = yj_sql_prepare(c, q, err);
    yj_sql_free(q);
    if (st == NULL)
        return yj_fail(err);
    int r = yj_step(st, err);
    if (r == 1)
        *out = yj_row_json(st);
    yj_stmt_done(st);
    if (r < 0)
        return yj_fail(err);
    if (r == 0)
        return yj_err_set(err, YJ_ENOTFOUND, NULL, "%s %lld 不存在或不在您的权限范围内", what,
                          (long long)id);
    return YJ_OK;
}
