/*
 * api.c — the platform's endpoints: health, readiness, regions, map
 * boundaries, users, the audit log, metrics and OpenAPI (login, logout and
 * "who am I" are in api_session.c; the route table in platform.c).
 */
#include "api.h"
#include "../base/module.h"
#include "../base/openapi.h"
#include "../base/sched.h"
#include "../core/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void api_healthz(yj_req *req, yj_resp *resp)
{
    (void)req;
    http_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

void api_readyz(yj_req *req, yj_resp *resp)
{
    yj_conn *c = yj_store_acquire(req->app->store);
    int64_t n = 0;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = yj_query_int(c, "SELECT COUNT(*) FROM schema_migration", NULL, &n, &err);
    yj_store_release(req->app->store, c);
    if (rc != YJ_OK) {
        http_json(resp, 503,
                  json_pack("{s:s,s:s}", "status", "unavailable", "reason", err.message));
        return;
    }
    http_json(resp, 200,
              json_pack("{s:s,s:s,s:I}", "status", "ready", "store",
                        yj_store_driver_name(req->app->store), "migrations", (json_int_t)n));
}

void api_regions(yj_req *req, yj_resp *resp)
{
    json_t *items = NULL;
    yj_err err;
    yj_err_clear(&err);
    if (region_children(req->app->store, &req->session.user, http_query(req, "parent"), &items,
                        &err) != YJ_OK) {
        json_decref(items);
        http_error(resp, &err);
        return;
    }
    http_json(resp, 200, json_pack("{s:o}", "items", items));
}

void api_region_get(yj_req *req, yj_resp *resp)
{
    json_t *r = NULL;
    yj_err err;
    yj_err_clear(&err);
    if (region_get(req->app->store, &req->session.user, req->params[0], &r, &err) != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    http_json(resp, 200, r);
}

void api_boundaries(yj_req *req, yj_resp *resp)
{
    json_t *fc = NULL;
    yj_err err;
    yj_err_clear(&err);
    if (region_boundaries(req->app->store, &req->session.user, &fc, &err) != YJ_OK) {
        json_decref(fc);
        http_error(resp, &err);
        return;
    }
    http_header_add(resp, "Cache-Control", "private, max-age=300");
    http_json(resp, 200, fc);
}

void api_users_list(yj_req *req, yj_resp *resp)
{
    json_t *items = NULL;
    yj_err err;
    yj_err_clear(&err);
    if (user_list(req->app->store, &req->session.user, &items, &err) != YJ_OK) {
        json_decref(items);
        http_error(resp, &err);
        return;
    }
    http_json(resp, 200, json_pack("{s:o}", "items", items));
}

void api_users_create(yj_req *req, yj_resp *resp)
{
    json_t *body = NULL;
    yj_err err;
    yj_err_clear(&err);
    if (http_json_parse(req->body, req->body_len, &body, &err) != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    static const char *const allowed[] = {"username", "password",      "role", "region_code",
                                          "name",     "enterprise_id", NULL};
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val) {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(allowed[i], key) == 0;
        if (!ok) {
            http_errorf(resp, YJ_EINVAL, key, "unknown field %s", key);
            json_decref(body);
            return;
        }
    }
    const char *role_s = json_string_value(json_object_get(body, "role"));
    const char *region = json_string_value(json_object_get(body, "region_code"));
    int role = role_parse(role_s);
    json_t *ent = json_object_get(body, "enterprise_id");
    int64_t id = 0;
    yj_code rc;
    if (role < 0) {
        rc = yj_err_set(&err, YJ_EINVAL, "role", "unknown role");
    } else if (region == NULL || !yj_region_within(region, req->session.user.region)) {
        rc = yj_err_set(&err, YJ_EINVAL, "region_code", "region must lie inside your region");
    } else if (ent && !json_is_null(ent) && !json_is_integer(ent)) {
        rc = yj_err_set(&err, YJ_EINVAL, "enterprise_id", "enterprise_id must be an integer");
    } else {
        rc = user_add(req->app->store, req->session.user.username,
                      json_string_value(json_object_get(body, "username")),
                      json_string_value(json_object_get(body, "password")), (yj_role)role, region,
                      json_string_value(json_object_get(body, "name")),
                      json_is_integer(ent) ? json_integer_value(ent) : 0, &id, &err);
    }
    json_decref(body);
    if (rc != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    yj_conn *c = yj_store_acquire(req->app->store);
    yj_user u;
    rc = user_load(c, id, &u, &err);
    yj_store_release(req->app->store, c);
    if (rc != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    http_json(resp, 201, user_json(&u));
}

void api_audit_list(yj_req *req, yj_resp *resp)
{
    const char *entity = http_query(req, "entity");
    /* name, default, maximum: each must be a plain non-negative integer */
    static const struct {
        const char *name;
        int64_t def, max;
    } params[] = {{"limit", 100, 1000},
                  {"offset", 0, INT64_MAX},
                  {"record_id", 0, INT64_MAX},
                  {"after_id", 0, INT64_MAX}};
    int64_t v[4];
    for (size_t i = 0; i < 4; i++) {
        const char *s = http_query(req, params[i].name);
        v[i] = params[i].def;
        if (s && (!http_parse_i64(s, &v[i]) || v[i] > params[i].max || (i == 0 && v[i] < 1))) {
            http_errorf(resp, YJ_EINVAL, params[i].name, "%s must be an integer%s", params[i].name,
                        i == 0 ? " from 1 to 1000" : " >= 0");
            return;
        }
    }
    int limit = (int)v[0];
    int64_t offset = v[1], record_id = v[2];
    json_t *items = NULL;
    yj_err err;
    yj_err_clear(&err);
    yj_scope sc = user_scope(&req->session.user);
    if (audit_list(req->app->store, &sc, entity, record_id, v[3], limit, offset, &items, &err) !=
        YJ_OK) {
        json_decref(items);
        http_error(resp, &err);
        return;
    }
    http_json(resp, 200, json_pack("{s:o}", "items", items));
}

void api_audit_verify(yj_req *req, yj_resp *resp)
{
    yj_audit_check chk;
    yj_err err;
    yj_err_clear(&err);
    if (audit_verify(req->app->store, &chk, &err) != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    const char *head = http_query(req, "head");
    if (head && audit_check_head(req->app->store, head, &chk, &err) != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    char head_s[96];
    snprintf(head_s, sizeof head_s, "%lld:%s", (long long)chk.head_id, chk.head_hash);
    json_t *out = json_pack("{s:b,s:I,s:s}", "ok", chk.ok, "entries", (json_int_t)chk.entries,
                            "head", head_s);
    if (!chk.ok) {
        json_object_set_new(out, "first_bad_id", json_integer(chk.first_bad_id));
        json_object_set_new(out, "reason", json_string(chk.reason));
    }
    http_json(resp, 200, out);
}

void api_metrics(yj_req *req, yj_resp *resp)
{
    yj_buf b;
    yj_buf_init(&b);
    metrics_render(&b, req->app->store);
    size_t len = b.len;
    http_text(resp, 200, "text/plain; version=0.0.4; charset=utf-8", yj_buf_steal(&b), len);
}

void api_openapi(yj_req *req, yj_resp *resp)
{
    (void)req;
    http_json(resp, 200, openapi_doc());
}

/* POST /api/v1/test/tick {"now": ms, "timers": [names]} — tests only
 * (serve --test-hooks): set the platform's clock (0: the wall clock again)
 * and run the timers named (a timer's name or a module's; all when none),
 * now, in module order. */
void api_test_tick(yj_req *req, yj_resp *resp)
{
    json_t *in = http_body_json(req, resp, true);
    if (in == NULL)
        return;
    json_t *now = json_object_get(in, "now"), *names = json_object_get(in, "timers");
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = YJ_OK;
    if (now && !json_is_integer(now))
        rc = yj_err_set(&err, YJ_EINVAL, "now", "now 应为毫秒时间戳（0：恢复实际时间）");
    else if (names && (!json_is_array(names) || json_array_size(names) > 64))
        rc = yj_err_set(&err, YJ_EINVAL, "timers", "timers 应为定时任务名称的数组");
    const char *only[64];
    size_t n = 0;
    size_t i;
    json_t *v;
    json_array_foreach(rc == YJ_OK ? names : NULL, i, v) {
        if (!json_is_string(v)) {
            rc = yj_err_set(&err, YJ_EINVAL, "timers", "timers 应为定时任务名称的数组");
            break;
        }
        only[n++] = json_string_value(v);
    }
    json_t *ran = NULL;
    if (rc == YJ_OK) {
        yj_clock_set(now ? json_integer_value(now) : 0);
        rc = sched_run_now(only, n, &ran, &err);
    }
    json_decref(in);
    http_reply(resp, rc, &err, 200,
               rc == YJ_OK ? json_pack("{s:I,s:o}", "now", (json_int_t)yj_clock_now(), "ran", ran)
                           : NULL);
}
