/*
 * respond.c — building responses: JSON bodies, the one error shape
 * {"error":{"code","message","field"}}, and the mapping from yj_code to an
 * HTTP status (the only place that mapping exists).
 */
#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int http_status_for(yj_code code)
{
    static const int status[YJ_CODE_COUNT] = {
        [YJ_OK] = 200,           [YJ_EINVAL] = 422,     [YJ_EPARSE] = 400,
        [YJ_EAUTH] = 401,        [YJ_EFORBIDDEN] = 403, [YJ_ENOTFOUND] = 404,
        [YJ_ECONFLICT] = 409,    [YJ_ESTALE] = 412,     [YJ_EPRECONDITION] = 428,
        [YJ_ETOOBIG] = 413,      [YJ_ELOCKED] = 429,    [YJ_EMETHOD] = 405,
        [YJ_EUNSUPPORTED] = 415, [YJ_EBUSY] = 503,      [YJ_EIO] = 500,
        [YJ_EINTERNAL] = 500,
    };
    if ((int)code < 0 || code >= YJ_CODE_COUNT)
        return 500;
    return status[code];
}

void http_header_add(yj_resp *resp, const char *name, const char *value)
{
    if (resp->nheaders >= YJ_MAX_HEADERS)
        return;
    snprintf(resp->headers[resp->nheaders].name, sizeof resp->headers[0].name, "%s", name);
    snprintf(resp->headers[resp->nheaders].value, sizeof resp->headers[0].value, "%s", value);
    resp->nheaders++;
}

void http_header_set(yj_resp *resp, const char *name, const char *value)
{
    for (int i = 0; i < resp->nheaders; i++)
        if (strcasecmp(resp->headers[i].name, name) == 0) {
            snprintf(resp->headers[i].value, sizeof resp->headers[0].value, "%s", value);
            return;
        }
    http_header_add(resp, name, value);
}

void http_text(yj_resp *resp, int status, const char *ctype, char *body, size_t len)
{
    free(resp->body);
    resp->status = status;
    resp->content_type = ctype;
    resp->body = body;
    resp->len = len;
}

void http_json(yj_resp *resp, int status, json_t *body)
{
    char *s = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    if (s == NULL) {
        http_text(resp, 500, "application/json",
                  strdup("{\"error\":{\"code\":\"internal\","
                         "\"message\":\"out of memory\","
                         "\"field\":\"\"}}"),
                  0);
        resp->len = strlen(resp->body);
        return;
    }
    http_text(resp, status, "application/json; charset=utf-8", s, strlen(s));
}

void http_error(yj_resp *resp, const yj_err *err)
{
    yj_code code = err->code == YJ_OK ? YJ_EINTERNAL : err->code;
    const char *msg = err->message[0] ? err->message : yj_code_name(code);
    /* Internal details stay in the log, not in the response. */
    if (code == YJ_EINTERNAL || code == YJ_EIO)
        msg = "internal error; the operation was not completed";
    if (code == YJ_EBUSY)
        msg = err->message[0] ? err->message : "系统繁忙，请稍后重试";
    json_t *e = json_pack("{s:{s:s,s:s,s:s}}", "error", "code", yj_code_name(code), "message", msg,
                          "field", err->field);
    if (code == YJ_EBUSY && resp->nheaders < YJ_MAX_HEADERS)
        http_header_add(resp, "Retry-After", "1");
    http_json(resp, http_status_for(code), e);
}

void http_errorf(yj_resp *resp, yj_code code, const char *field, const char *fmt, ...)
{
    yj_err err;
    err.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.message, sizeof err.message, fmt, ap);
    va_end(ap);
    snprintf(err.field, sizeof err.field, "%s", field ? field : "");
    http_error(resp, &err);
}

bool http_parse_i64(const char *s, int64_t *out)
{
    if (s == NULL || *s == '\0' || strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
        return false;
    *out = strtoll(s, NULL, 10);
    return true;
}

yj_code http_json_parse(const char *data, size_t len, json_t **out, yj_err *err)
{
    *out = NULL;
    if (data == NULL || len == 0)
        return yj_err_set(err, YJ_EPARSE, NULL, "request body is empty; a JSON object is required");
    json_error_t je;
    /* JSON_REJECT_DUPLICATES: {"a":1,"a":2} is ambiguous, refuse it.
     * NUL bytes are refused by jansson unless JSON_ALLOW_NUL.
     * Depth is limited by jansson (JSON_PARSER_MAX_DEPTH, 2048). */
    json_t *v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (v == NULL)
        return yj_err_set(err, YJ_EPARSE, NULL, "malformed JSON at line %d column %d: %s", je.line,
                          je.column, je.text);
    if (!json_is_object(v)) {
        json_decref(v);
        return yj_err_set(err, YJ_EPARSE, NULL, "request body must be a JSON object");
    }
    *out = v;
    return YJ_OK;
}

/* ---- helpers the modules' handlers share ------------------------------------------ */

bool http_path_id(yj_req *req, yj_resp *resp, int idx, int64_t *id)
{
    if (!http_parse_i64(req->params[idx], id) || *id <= 0) {
        http_errorf(resp, YJ_ENOTFOUND, NULL, "no such id: %s", req->params[idx]);
        return false;
    }
    return true;
}

json_t *http_body_json(yj_req *req, yj_resp *resp, bool allow_empty)
{
    if (req->body_len == 0 && allow_empty)
        return json_object();
    json_t *in = NULL;
    yj_err err;
    yj_err_clear(&err);
    if (http_json_parse(req->body, req->body_len, &in, &err) != YJ_OK) {
        http_error(resp, &err);
        return NULL;
    }
    return in;
}

bool http_query_i64(yj_req *req, yj_resp *resp, const char *name, int64_t def, int64_t *out)
{
    const char *v = http_query(req, name);
    *out = def;
    if (v == NULL)
        return true;
    if (!http_parse_i64(v, out)) {
        http_errorf(resp, YJ_EINVAL, name, "%s must be an integer", name);
        return false;
    }
    return true;
}

void http_reply(yj_resp *resp, yj_code rc, const yj_err *err, int status, json_t *out)
{
    if (rc != YJ_OK) {
        json_decref(out);
        http_error(resp, err);
        return;
    }
    http_json(resp, status, out);
}

yj_code http_if_match(yj_req *req, int64_t *version, yj_err *err)
{
    const char *s = http_header(req, "If-Match");
    if (s == NULL || s[0] == '\0')
        return yj_err_set(err, YJ_EPRECONDITION, "If-Match",
                          "修改须带 If-Match（所见记录的 ETag），以免覆盖他人的修改");
    if (strcmp(s, "*") == 0)
        return yj_err_set(err, YJ_EPRECONDITION, "If-Match",
                          "不接受 If-Match: *，请发送您所修改版本的 ETag");
    if (strncmp(s, "W/", 2) == 0)
        s += 2;
    char buf[32];
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"' && n - 2 < sizeof buf) {
        memcpy(buf, s + 1, n - 2);
        buf[n - 2] = '\0';
    } else {
        snprintf(buf, sizeof buf, "%s", s);
    }
    /* not a version of ours: no version matches it */
    if (!http_parse_i64(buf, version) || *version <= 0)
        return yj_err_set(err, YJ_ESTALE, "If-Match", "If-Match 应为所见记录的 ETag（版本号）");
    return YJ_OK;
}

void http_etag(yj_resp *resp, const json_t *rec)
{
    char etag[32];
    snprintf(etag, sizeof etag, "\"%lld\"",
             (long long)json_integer_value(json_object_get(rec, "version")));
    http_header_add(resp, "ETag", etag);
}

/* Answer a record with its ETag (when it has a version). */
static void reply_record(yj_resp *resp, yj_code rc, const yj_err *err, int status, json_t *out)
{
    if (rc == YJ_OK && json_is_integer(json_object_get(out, "version")))
        http_etag(resp, out);
    http_reply(resp, rc, err, status, out);
}

void http_serve_record(yj_req *req, yj_resp *resp, yj_record_fn fn, int status)
{
    int64_t id;
    if (!http_path_id(req, resp, 0, &id))
        return;
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = fn(req->app->store, &req->session.user, id, &out, &err);
    reply_record(resp, rc, &err, status, out);
}

void http_serve_create(yj_req *req, yj_resp *resp, yj_create_fn fn)
{
    json_t *in = http_body_json(req, resp, false);
    if (in == NULL)
        return;
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = fn(req->app->store, &req->session.user, in, &out, &err);
    json_decref(in);
    reply_record(resp, rc, &err, 201, out);
}

void http_serve_step(yj_req *req, yj_resp *resp, yj_step_fn fn, int status)
{
    int64_t id;
    if (!http_path_id(req, resp, 0, &id))
        return;
    json_t *in = http_body_json(req, resp, true);
    if (in == NULL)
        return;
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc =
        fn(req->app->store, &req->session.user, id, req->params[1], req->if_match, in, &out, &err);
    json_decref(in);
    reply_record(resp, rc, &err, status, out);
}
