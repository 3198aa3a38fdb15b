/*
 * api.c — the warning module's endpoints: warnings and their workflow, CAP
 * import and export, the draft made from an alarm, targeting, deliveries
 * and call-up, gateway callbacks, and the public side (Atom feed, CAP
 * messages, the list of active warnings and answer links, no login
 * needed).  The route table is in module.c.
 */
#include "api.h"
#include "cap.h"
#include "channels.h"
#include "warning.h"
#include "../core/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void api_warnings_list(yj_req *req, yj_resp *resp)
{
    warning_query q = {.state = http_query(req, "state"), .limit = 50};
    const char *a = http_query(req, "active");
    q.active = a && strcmp(a, "1") == 0;
    int64_t v;
    const char *l = http_query(req, "limit"), *o = http_query(req, "offset");
    if (l && (!http_parse_i64(l, &v) || v < 1 || v > 500))
        return http_errorf(resp, YJ_EINVAL, "limit", "limit 应为 1–500");
    if (l)
        q.limit = (int)v;
    if (o && !http_parse_i64(o, &q.offset))
        return http_errorf(resp, YJ_EINVAL, "offset", "offset 应为非负整数");
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = warning_list(req->app->store, &req->session.user, &q, &out, &err);
    http_reply(resp, rc, &err, 200, out);
}

void api_warnings_create(yj_req *req, yj_resp *resp)
{
    http_serve_create(req, resp, warning_create);
}

void api_warning_get(yj_req *req, yj_resp *resp)
{
    http_serve_record(req, resp, warning_get, 200);
}

void api_warning_update(yj_req *req, yj_resp *resp)
{
    int64_t id;
    if (!http_path_id(req, resp, 0, &id))
        return;
    json_t *in = http_body_json(req, resp, false);
    if (in == NULL)
        return;
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = warning_update_draft(req->app->store, &req->session.user, id, req->if_match, in,
                                      &out, &err);
    json_decref(in);
    if (rc == YJ_OK)
        http_etag(resp, out);
    http_reply(resp, rc, &err, 200, out);
}

void api_warning_act(yj_req *req, yj_resp *resp)
{
    /* update answers with the new draft it made */
    http_serve_step(req, resp, warning_act, strcmp(req->params[1], "update") == 0 ? 201 : 200);
}

void api_warning_cap(yj_req *req, yj_resp *resp)
{
    int64_t id;
    if (!http_path_id(req, resp, 0, &id))
        return;
    char *xml = NULL;
    yj_err err;
    yj_err_clear(&err);
    if (warning_cap_xml(req->app->store, &req->session.user, id, &xml, &err) != YJ_OK)
        return http_error(resp, &err);
    http_text(resp, 200, "application/cap+xml; charset=utf-8", xml, strlen(xml));
}

void api_warnings_import(yj_req *req, yj_resp *resp)
{
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    char origin[96];
    snprintf(origin, sizeof origin, "api:%s", req->session.user.username);
    yj_code rc = warning_import(req->app->store, &req->session.user, req->body, req->body_len,
                                origin, &out, &err);
    http_reply(resp, rc, &err, 201, out);
}

void api_alarm_to_warning(yj_req *req, yj_resp *resp)
{
    http_serve_record(req, resp, warning_from_alarm, 201);
}

/* ---- public ------------------------------------------------------------------------ */

/* The site's address for absolute feed links: the request's Host (when it
 * is a plain host[:port]), else a relative root. */
static void site_base(yj_req *req, char *out, size_t n)
{
    const char *host = http_header(req, "Host");
    bool ok = host && *host && strlen(host) < 200;
    for (const char *p = host; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == ':' || *p == '[' ||
             *p == ']';
    const char *proto = http_header(req, "X-Forwarded-Proto");
    snprintf(out, n, "%s://%s", proto && strcmp(proto, "https") == 0 ? "https" : "http",
             ok ? host : "localhost");
}

void api_feed_atom(yj_req *req, yj_resp *resp)
{
    char base[256];
    site_base(req, base, sizeof base);
    yj_buf b;
    yj_buf_init(&b);
    yj_err err;
    yj_err_clear(&err);
    if (warning_feed_atom(req->app->store, base, &b, &err) != YJ_OK) {
        yj_buf_free(&b);
        return http_error(resp, &err);
    }
    size_t len = b.len;
    http_text(resp, 200, "application/atom+xml; charset=utf-8", yj_buf_steal(&b), len);
}

void api_feed_cap(yj_req *req, yj_resp *resp)
{
    /* /feeds/warnings/{id}.xml */
    char idtext[24];
    const char *f = req->params[0];
    size_t n = strlen(f);
    int64_t id = 0;
    if (n < 5 || n - 4 >= sizeof idtext || strcmp(f + n - 4, ".xml") != 0)
        return http_errorf(resp, YJ_ENOTFOUND, NULL, "no such warning: %s", f);
    memcpy(idtext, f, n - 4);
    idtext[n - 4] = '\0';
    if (!http_parse_i64(idtext, &id) || id <= 0)
        return http_errorf(resp, YJ_ENOTFOUND, NULL, "no such warning: %s", f);
    char *xml = NULL;
    yj_err err;
    yj_err_clear(&err);
    if (warning_cap_xml(req->app->store, NULL, id, &xml, &err) != YJ_OK)
        return http_error(resp, &err);
    http_text(resp, 200, "application/cap+xml; charset=utf-8", xml, strlen(xml));
}

void api_public_warnings(yj_req *req, yj_resp *resp)
{
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = warning_public_list(req->app->store, &out, &err);
    http_reply(resp, rc, &err, 200, out);
}

/* ---- targeting, deliveries, call-up ------------------------------------------------ */

void api_warning_targets(yj_req *req, yj_resp *resp)
{
    json_t *in = http_body_json(req, resp, false);
    if (in == NULL)
        return;
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = warning_preview_targets(req->app->store, &req->session.user,
                                         json_object_get(in, "area"), &out, &err);
    json_decref(in);
    http_reply(resp, rc, &err, 200, out);
}

void api_warning_deliveries(yj_req *req, yj_resp *resp)
{
    int64_t id, limit = 100, offset = 0;
    if (!http_path_id(req, resp, 0, &id))
        return;
    const char *l = http_query(req, "limit"), *o = http_query(req, "offset");
    if ((l && (!http_parse_i64(l, &limit) || limit < 1 || limit > 1000)))
        return http_errorf(resp, YJ_EINVAL, "limit", "limit 应为 1–1000");
    if (o && !http_parse_i64(o, &offset))
        return http_errorf(resp, YJ_EINVAL, "offset", "offset 应为非负整数");
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = deliver_list(req->app->store, &req->session.user, id, http_query(req, "kind"),
                              http_query(req, "state"), (int)limit, offset, &out, &err);
    http_reply(resp, rc, &err, 200, out);
}

void api_warning_callup(yj_req *req, yj_resp *resp)
{
    int64_t id;
    if (!http_path_id(req, resp, 0, &id))
        return;
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = callup_board(req->app->store, &req->session.user, id, http_query(req, "region"),
                              &out, &err);
    http_reply(resp, rc, &err, 200, out);
}

void api_warning_coverage(yj_req *req, yj_resp *resp)
{
    int64_t id;
    if (!http_path_id(req, resp, 0, &id))
        return;
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = callup_coverage(req->app->store, &req->session.user, id,
                                 http_query(req, "group_by"), &out, &err);
    http_reply(resp, rc, &err, 200, out);
}

void api_delivery_ack(yj_req *req, yj_resp *resp)
{
    int64_t id;
    if (!http_path_id(req, resp, 0, &id))
        return;
    json_t *in = http_body_json(req, resp, false);
    if (in == NULL)
        return;
    const char *via = json_string_value(json_object_get(in, "via"));
    const char *note = json_string_value(json_object_get(in, "note"));
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = callup_ack_delivery(req->app->store, &req->session.user, id, via,
                                     note && note[0] ? note : NULL, &out, &err);
    json_decref(in);
    http_reply(resp, rc, &err, 200, out);
}

/* POST /api/v1/warnings/callback — gateways: receipts, SMS replies, voice
 * answers; authenticated by the gateway token (Authorization: Bearer). */
void api_gateway_callback(yj_req *req, yj_resp *resp)
{
    const char *auth = http_header(req, "Authorization");
    const char *tok = chan_token();
    if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0 || tok == NULL || tok[0] == '\0' ||
        !yj_str_eq_ct(auth + 7, tok))
        return http_errorf(resp, YJ_EAUTH, NULL, "gateway token required");
    json_t *in = NULL;
    yj_err err;
    yj_err_clear(&err);
    if (http_json_parse(req->body, req->body_len, &in, &err) != YJ_OK)
        return http_error(resp, &err);
    json_t *out = NULL;
    yj_code rc = callup_gateway_callback(req->app->store, in, &out, &err);
    json_decref(in);
    http_reply(resp, rc, &err, 200, out);
}

void api_public_ack_get(yj_req *req, yj_resp *resp)
{
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = callup_token_info(req->app->store, req->params[0], &out, &err);
    http_reply(resp, rc, &err, 200, out);
}

void api_public_ack_post(yj_req *req, yj_resp *resp)
{
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = callup_ack_token(req->app->store, req->params[0], &out, &err);
    http_reply(resp, rc, &err, 200, out);
}

void api_delivery_attempts(yj_req *req, yj_resp *resp)
{
    int64_t id;
    if (!http_path_id(req, resp, 0, &id))
        return;
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = deliver_attempts(req->app->store, &req->session.user, id, &out, &err);
    http_reply(resp, rc, &err, 200, out);
}
