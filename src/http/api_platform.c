/*
 * api_platform.c — platform endpoints: health, schema, regions, map
 * boundaries, users, audit, OpenAPI and metrics.
 */
#include "http.h"
#include "../registry/registry.h"

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
    yj_code rc = yj_query_int(c, "SELECT COUNT(*) FROM schema_migrations", NULL, &n, &err);
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

void api_schema(yj_req *req, yj_resp *resp)
{
    json_t *regs = json_array();
    for (size_t i = 0; i < registry_count(); i++) {
        const yj_registry *r = registry_at(i);
        if (perm_allowed(req->session.user.role, r->name, YJ_ACT_READ))
            json_array_append_new(regs, registry_schema_json(r));
    }
    http_json(resp, 200, json_pack("{s:o}", "registries", regs));
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
    } else if (region == NULL ||
               strncmp(region, req->session.user.region, strlen(req->session.user.region)) != 0) {
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
    } params[] = {{"limit", 100, 1000}, {"offset", 0, INT64_MAX}, {"record_id", 0, INT64_MAX}};
    int64_t v[3];
    for (size_t i = 0; i < 3; i++) {
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
    if (audit_list(req->app->store, req->session.user.region, entity, record_id, limit, offset,
                   &items, &err) != YJ_OK) {
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

/* ---- OpenAPI, generated from the route table and the field tables ------- */

static json_t *field_schema(const yj_field *f)
{
    static const char *const json_types[] = {
        [YJ_F_TEXT] = "string",   [YJ_F_LONGTEXT] = "string", [YJ_F_INT] = "integer",
        [YJ_F_REAL] = "number",   [YJ_F_BOOL] = "boolean",    [YJ_F_ENUM] = "string",
        [YJ_F_TAGS] = "string",   [YJ_F_PHONE] = "string",    [YJ_F_DATE] = "string",
        [YJ_F_CREDIT] = "string", [YJ_F_REF] = "integer",
    };
    json_t *s = json_pack("{s:s,s:s}", "type", json_types[f->type], "title", f->label);
    if (f->options && f->type == YJ_F_ENUM) {
        json_t *e = json_array();
        for (size_t k = 0; f->options[k]; k++)
            json_array_append_new(e, json_string(f->options[k]));
        json_object_set_new(s, "enum", e);
    }
    if (f->has_range) {
        json_object_set_new(s, "minimum", json_real(f->min));
        json_object_set_new(s, "maximum", json_real(f->max));
    }
    if (f->type == YJ_F_DATE)
        json_object_set_new(s, "format", json_string("date"));
    return s;
}

static json_t *openapi_doc(void)
{
    json_t *schemas = json_object();
    for (size_t i = 0; i < registry_count(); i++) {
        const yj_registry *r = registry_at(i);
        json_t *props = json_object(), *required = json_array();
        for (size_t f = 0; f < r->nfields; f++) {
            json_object_set_new(props, r->fields[f].name, field_schema(&r->fields[f]));
            if (r->fields[f].required && !r->fields[f].def)
                json_array_append_new(required, json_string(r->fields[f].name));
        }
        json_object_set_new(props, "region_code",
                            json_pack("{s:s,s:s}", "type", "string", "pattern", "^[0-9]{2,12}$"));
        json_object_set_new(props, "lat", json_pack("{s:s}", "type", "number"));
        json_object_set_new(props, "lon", json_pack("{s:s}", "type", "number"));
        json_array_append_new(required, json_string("region_code"));
        json_object_set_new(schemas, r->name,
                            json_pack("{s:s,s:s,s:o,s:o,s:b}", "type", "object", "title", r->label,
                                      "properties", props, "required", required,
                                      "additionalProperties", 0));
    }
    json_object_set_new(schemas, "Error",
                        json_pack("{s:s,s:{s:{s:s,s:{s:{s:s},s:{s:s},s:{s:s}}}}}", "type", "object",
                                  "properties", "error", "type", "object", "properties", "code",
                                  "type", "string", "message", "type", "string", "field", "type",
                                  "string"));
    json_t *paths = json_object();
    size_t n;
    const yj_route *rt = http_routes(&n);
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_object_get(paths, rt[i].pattern);
        if (item == NULL) {
            item = json_object();
            json_object_set_new(paths, rt[i].pattern, item);
        }
        json_t *params = json_array();
        for (const char *p = strchr(rt[i].pattern, '{'); p; p = strchr(p + 1, '{')) {
            char name[32];
            size_t len = strcspn(p + 1, "}");
            snprintf(name, sizeof name, "%.*s", (int)len, p + 1);
            json_array_append_new(params,
                                  json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", name, "in", "path",
                                            "required", 1, "schema", "type", "string"));
        }
        char method[8];
        size_t m;
        for (m = 0; m < sizeof method - 1 && rt[i].method[m]; m++)
            method[m] = (char)(rt[i].method[m] | 0x20);
        method[m] = '\0';
        json_t *op = json_pack("{s:s,s:o,s:{s:{s:s},s:{s:s,s:{s:{s:{s:s}}}}}}", "summary",
                               rt[i].summary, "parameters", params, "responses", "200",
                               "description", "OK", "default", "description", "Error", "content",
                               "application/json", "schema", "$ref", "#/components/schemas/Error");
        if (rt[i].flags & YJ_ROUTE_PUBLIC)
            json_object_set_new(op, "security", json_array());
        if (rt[i].resource)
            json_object_set_new(op, "x-permission",
                                json_pack("{s:s,s:s}", "resource", rt[i].resource, "action",
                                          rt[i].action == YJ_ACT_READ ? "read" : "write"));
        json_object_set_new(item, method, op);
    }
    return json_pack(
        "{s:s,s:{s:s,s:s,s:s},s:o,s:{s:o,s:{s:{s:s,s:s},s:{s:s,s:s,s:s}}},s:[{s:[]},{s:[]}]}",
        "openapi", "3.0.3", "info", "title", "yingji 应急管理综合应用平台 API", "version", "1",
        "description", "See docs/api.md", "paths", paths, "components", "schemas", schemas,
        "securitySchemes", "bearer", "type", "http", "scheme", "bearer", "cookie", "type", "apiKey",
        "in", "cookie", "name", "yj_session", "security", "bearer", "cookie");
}

void api_openapi(yj_req *req, yj_resp *resp)
{
    (void)req;
    http_json(resp, 200, openapi_doc());
}
