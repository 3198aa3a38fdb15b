/* err.c — setting and naming yj_err values (see err.h). */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const code_names[YJ_CODE_COUNT] = {
    [YJ_OK] = "ok",
    [YJ_EINVAL] = "invalid",
    [YJ_EPARSE] = "malformed",
    [YJ_EAUTH] = "unauthenticated",
    [YJ_EFORBIDDEN] = "forbidden",
    [YJ_ENOTFOUND] = "not_found",
    [YJ_ECONFLICT] = "conflict",
    [YJ_ESTALE] = "stale_version",
    [YJ_EPRECONDITION] = "if_match_required",
    [YJ_ETOOBIG] = "too_large",
    [YJ_ELOCKED] = "locked",
    [YJ_EMETHOD] = "method_not_allowed",
    [YJ_EUNSUPPORTED] = "unsupported_media_type",
    [YJ_EBUSY] = "busy",
    [YJ_EIO] = "io_error",
    [YJ_EINTERNAL] = "internal",
};

yj_code yj_err_set(yj_err *err, yj_code code, const char *field, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    return code;
}

void yj_err_clear(yj_err *err)
{
    if (err) {
        err->code = YJ_OK;
        err->message[0] = '\0';
        err->field[0] = '\0';
    }
}

const char *yj_code_name(yj_code code)
{
    if ((int)code < 0 || code >= YJ_CODE_COUNT)
        return "internal";
    return code_names[code];
}

yj_code yj_fail(const yj_err *err)
{
    return err && err->code != YJ_OK ? err->code : YJ_EINTERNAL;
}
