/*
 * err.h — the one error type of yingji.
 *
 * Every fallible function takes a `yj_err *` and returns a yj_code (YJ_OK on
 * success).  The code says what kind of failure it was, the message says it
 * in words a user can act on, and `field` names the input field at fault (if
 * any).  The HTTP layer maps codes to status codes in exactly one place
 * (http/respond.c), so a module never thinks about HTTP.
 */
#ifndef YJ_ERR_H
#define YJ_ERR_H

#include <stddef.h>

typedef enum {
    YJ_OK = 0,
    YJ_EINVAL,        /* bad input: validation failed (422 / 400) */
    YJ_EPARSE,        /* malformed body: JSON/CSV could not be read (400) */
    YJ_EAUTH,         /* not logged in or bad credentials (401) */
    YJ_EFORBIDDEN,    /* logged in but not allowed (403) */
    YJ_ENOTFOUND,     /* no such thing, or not visible in your scope (404) */
    YJ_ECONFLICT,     /* duplicate natural key etc. (409) */
    YJ_ESTALE,        /* If-Match did not match the current version (412) */
    YJ_EPRECONDITION, /* If-Match missing on an update (428) */
    YJ_ETOOBIG,       /* body over the size limit (413) */
    YJ_ELOCKED,       /* too many attempts: throttled, try later (429) */
    YJ_EMETHOD,       /* method not allowed on this path (405) */
    YJ_EUNSUPPORTED,  /* unsupported media type (415) */
    YJ_EBUSY,         /* the store or a limited resource is busy: try again (503) */
    YJ_EIO,           /* file or OS error */
    YJ_EINTERNAL,     /* store failure or bug (500) */
    YJ_CODE_COUNT
} yj_code;

typedef struct {
    yj_code code;
    char message[256];
    char field[64];
} yj_err;

/* Set *err (if non-NULL) and return code.  fmt is printf-style. */
yj_code yj_err_set(yj_err *err, yj_code code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void yj_err_clear(yj_err *err);
/* The code a failed call left in err (YJ_EINTERNAL when err is NULL or
 * unset): store errors keep their meaning — busy, conflict, constraint —
 * on their way up to the API. */
yj_code yj_fail(const yj_err *err);
/* Stable machine name of a code, e.g. "invalid", "not_found". */
const char *yj_code_name(yj_code code);

#endif
