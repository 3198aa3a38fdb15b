/*
 * api.c — HTTP handlers for every registry: the schema, list, GeoJSON,
 * CSV export/import, create, get, update, delete, history.  They translate
 * query strings and headers into registry service calls; validation, scope
 * and audit live in registry.c and the store.  The routes are declared in
 * module.c.
 */
#include "api.h"
#include "registry.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILTERS 16

typedef struct {
    yj_query q;
    yj_filter filters[MAX_FILTERS];
    const yj_registry *reg;
    yj_err err;
    bool failed;
} list_params;

static void collect_filter(const char *k, const char *v, void *ctx)
{
    list_params *lp = ctx;
    if (lp->failed || v == NULL || registry_field(lp->reg, k) == NULL)
        return;
    if (lp->q.nfilters >= MAX_FILTERS) {
        lp->failed = true;
        yj_err_set(&lp->err, YJ_EINVAL, k, "too many filters");
        return;
    }
    lp->filters[lp->q.nfilters++] = (yj_filter){registry_field(lp->reg, k)->name, v};
}

/* limit/offset/q/region/sort/order/bbox and field=value filters. */
static bool list_params_parse(yj_req *req, list_params *lp, int default_limit, int max_limit,
                              yj_resp *resp)
{
    memset(lp, 0, sizeof *lp);
    lp->reg = registry_find(req->params[0]);
    lp->q.filters = lp->filters;
    lp->q.limit = default_limit;
    const char *s;
    int64_t v;
    if ((s = http_query(req, "limit")) != NULL) {
        if (!http_parse_i64(s, &v) || v < 1 || v > max_limit) {
            http_errorf(resp, YJ_EINVAL, "limit", "limit must be 1..%d", max_limit);
            return false;
        }
        lp->q.limit = (int)v;
    }
    if ((s = http_query(req, "offset")) != NULL) {
        if (!http_parse_i64(s, &v)) {
            http_errorf(resp, YJ_EINVAL, "offset", "offset must be a non-negative integer");
            return false;
        }
        lp->q.offset = v;
    }
    lp->q.search = http_query(req, "q");
    if ((s = http_query(req, "region")) != NULL && s[0]) {
        if (strlen(s) > 12 || strspn(s, "0123456789") != strlen(s)) {
            http_errorf(resp, YJ_EINVAL, "region", "region must be a region code (digits)");
            return false;
        }
        lp->q.region = s;
    }
    lp->q.sort = http_query(req, "sort");
    if ((s = http_query(req, "order")) != NULL) {
        if (strcmp(s, "asc") != 0 && strcmp(s, "desc") != 0) {
            http_errorf(resp, YJ_EINVAL, "order", "order must be asc or desc");
            return false;
        }
        lp->q.desc = strcmp(s, "desc") == 0;
    }
    if ((s = http_query(req, "bbox")) != NULL) {
        double b[4];
        char *end;
        const char *p = s;
        for (int i = 0; i < 4; i++) {
            errno = 0;
            b[i] = strtod(p, &end);
            if (end == p || errno || !isfinite(b[i]) || (i < 3 && *end != ',') ||
                (i == 3 && *end != '\0')) {
                http_errorf(resp, YJ_EINVAL, "bbox", "bbox must be minLon,minLat,maxLon,maxLat");
                return false;
            }
            p = end + 1;
        }
        lp->q.has_bbox = true;
        memcpy(lp->q.bbox, b, sizeof b);
    }
    http_query_each(req, collect_filter, lp);
    if (lp->failed) {
        http_error(resp, &lp->err);
        return false;
    }
    return true;
}

static bool parse_id(yj_req *req, int64_t *id, yj_resp *resp)
{
    if (!http_parse_i64(req->params[1], id) || *id <= 0) {
        http_errorf(resp, YJ_ENOTFOUND, NULL, "no such record");
        return false;
    }
    return true;
}

static void etag_of(const json_t *rec, char etag[32])
{
    snprintf(etag, 32, "\"%lld\"", (long long)json_integer_value(json_object_get(rec, "version")));
}

static void set_etag(yj_resp *resp, const json_t *rec)
{
    http_etag(resp, rec);
}

void api_reg_list(yj_req *req, yj_resp *resp)
{
    list_params lp;
    if (!list_params_parse(req, &lp, 50, 1000, resp))
        return;
    yj_buf b;
    yj_buf_init(&b);
    yj_buf_puts(&b, "{\"items\":");
    int64_t total = 0;
    yj_err err;
    yj_err_clear(&err);
    if (registry_list_json(req->app->store, &req->session.user, lp.reg, &lp.q, &b, &total, &err) !=
        YJ_OK) {
        yj_buf_free(&b);
        http_error(resp, &err);
        return;
    }
    int64_t next = lp.q.offset + lp.q.limit;
    yj_buf_printf(&b,
                  ",\"total\":%lld,\"limit\":%d,\"offset\":%lld,\"next_offset\":", (long long)total,
                  lp.q.limit, (long long)lp.q.offset);
    if (next < total)
        yj_buf_printf(&b, "%lld}", (long long)next);
    else
        yj_buf_puts(&b, "null}");
    size_t len = b.len;
    http_text(resp, 200, "application/json; charset=utf-8", yj_buf_steal(&b), len);
}

void api_reg_geojson(yj_req *req, yj_resp *resp)
{
    list_params lp;
    if (!list_params_parse(req, &lp, 1000, 5000, resp))
        return;
    json_t *items = NULL;
    int64_t total = 0;
    yj_err err;
    yj_err_clear(&err);
    if (registry_list(req->app->store, &req->session.user, lp.reg, &lp.q, &items, &total, &err) !=
        YJ_OK) {
        http_error(resp, &err);
        return;
    }
    json_t *features = json_array();
    size_t i;
    json_t *rec;
    json_array_foreach(items, i, rec) {
        json_t *lat = json_object_get(rec, "lat"), *lon = json_object_get(rec, "lon");
        if (!json_is_number(lat) || !json_is_number(lon))
            continue;
        json_t *props = json_pack("{s:O,s:s,s:O,s:O}", "id", json_object_get(rec, "id"), "registry",
                                  lp.reg->name, "name", json_object_get(rec, "name"), "region_name",
                                  json_object_get(rec, "region_name"));
        if (lp.reg->type_field)
            json_object_set(props, lp.reg->type_field, json_object_get(rec, lp.reg->type_field));
        if (lp.reg->status_field)
            json_object_set(props, lp.reg->status_field,
                            json_object_get(rec, lp.reg->status_field));
        json_array_append_new(features, json_pack("{s:s,s:{s:s,s:[O,O]},s:o}", "type", "Feature",
                                                  "geometry", "type", "Point", "coordinates", lon,
                                                  lat, "properties", props));
    }
    json_decref(items);
    json_t *out = json_pack("{s:s,s:o,s:I}", "type", "FeatureCollection", "features", features,
                            "total", (json_int_t)total);
    http_json(resp, 200, out);
}

void api_reg_export(yj_req *req, yj_resp *resp)
{
    list_params lp;
    if (!list_params_parse(req, &lp, 1000, 1000, resp))
        return;
    char *csv = NULL;
    size_t len = 0;
    yj_err err;
    yj_err_clear(&err);
    if (registry_export_csv(req->app->store, &req->session.user, lp.reg, &lp.q, &csv, &len, &err) !=
        YJ_OK) {
        http_error(resp, &err);
        return;
    }
    char disp[160];
    snprintf(disp, sizeof disp, "attachment; filename=\"%s.csv\"", lp.reg->name);
    http_header_add(resp, "Content-Disposition", disp);
    http_text(resp, 200, "text/csv; charset=utf-8", csv, len);
}

static json_t *report_json(const yj_import_report *rep)
{
    return json_pack("{s:i,s:i,s:i,s:i,s:O}", "created", rep->created, "updated", rep->updated,
                     "unchanged", rep->unchanged, "skipped", rep->skipped, "errors", rep->errors);
}

void api_reg_import(yj_req *req, yj_resp *resp)
{
    const yj_registry *reg = registry_find(req->params[0]);
    const char *ctype = http_header(req, "Content-Type");
    if (ctype && strncmp(ctype, "text/csv", 8) != 0 && strncmp(ctype, "text/plain", 10) != 0 &&
        strncmp(ctype, "application/octet-stream", 24) != 0 &&
        strncmp(ctype, "application/vnd.ms-excel", 24) != 0) {
        http_errorf(resp, YJ_EUNSUPPORTED, NULL, "send the CSV file as text/csv");
        return;
    }
    const char *skip = http_query(req, "skip_bad");
    bool skip_bad = skip && (strcmp(skip, "1") == 0 || strcmp(skip, "true") == 0);
    yj_import_report rep;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = registry_import_csv(req->app->store, &req->session.user, reg, req->body,
                                     req->body_len, skip_bad, &rep, &err);
    if (rc == YJ_OK) {
        http_json(resp, 200, report_json(&rep));
    } else if (rc == YJ_EINVAL || rc == YJ_EPARSE) {
        json_t *out =
            json_pack("{s:{s:s,s:s,s:s},s:o}", "error", "code", yj_code_name(rc), "message",
                      err.message, "field", err.field, "report", report_json(&rep));
        http_json(resp, http_status_for(rc), out);
    } else {
        http_error(resp, &err);
    }
    json_decref(rep.errors);
}

void api_reg_create(yj_req *req, yj_resp *resp)
{
    const yj_registry *reg = registry_find(req->params[0]);
    json_t *body = NULL, *rec = NULL;
    yj_err err;
    yj_err_clear(&err);
    if (http_json_parse(req->body, req->body_len, &body, &err) != YJ_OK ||
        registry_create(req->app->store, &req->session.user, reg, body, &rec, &err) != YJ_OK) {
        json_decref(body);
        http_error(resp, &err);
        return;
    }
    json_decref(body);
    char loc[160];
    snprintf(loc, sizeof loc, "/api/v1/registries/%s/%lld", reg->name,
             (long long)json_integer_value(json_object_get(rec, "id")));
    http_header_add(resp, "Location", loc);
    set_etag(resp, rec);
    http_json(resp, 201, rec);
}

void api_reg_get(yj_req *req, yj_resp *resp)
{
    const yj_registry *reg = registry_find(req->params[0]);
    int64_t id;
    if (!parse_id(req, &id, resp))
        return;
    json_t *rec = NULL;
    yj_err err;
    yj_err_clear(&err);
    if (registry_get(req->app->store, &req->session.user, reg, id, &rec, &err) != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    set_etag(resp, rec);
    char etag[32];
    etag_of(rec, etag);
    const char *inm = http_header(req, "If-None-Match");
    if (inm && strcmp(inm, etag) == 0) {
        json_decref(rec);
        http_text(resp, 304, NULL, NULL, 0);
        return;
    }
    http_json(resp, 200, rec);
}

void api_reg_update(yj_req *req, yj_resp *resp)
{
    const yj_registry *reg = registry_find(req->params[0]);
    int64_t id, version;
    if (!parse_id(req, &id, resp))
        return;
    json_t *body = NULL, *rec = NULL;
    yj_err err;
    yj_err_clear(&err);
    if (http_json_parse(req->body, req->body_len, &body, &err) != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    version = req->if_match;
    yj_code rc =
        registry_update(req->app->store, &req->session.user, reg, id, version, body, &rec, &err);
    json_decref(body);
    if (rc != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    set_etag(resp, rec);
    http_json(resp, 200, rec);
}

void api_reg_delete(yj_req *req, yj_resp *resp)
{
    const yj_registry *reg = registry_find(req->params[0]);
    int64_t id, version;
    if (!parse_id(req, &id, resp))
        return;
    version = req->if_match;
    yj_err err;
    yj_err_clear(&err);
    if (registry_delete(req->app->store, &req->session.user, reg, id, version, &err) != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    http_text(resp, 204, NULL, NULL, 0);
}

void api_reg_history(yj_req *req, yj_resp *resp)
{
    const yj_registry *reg = registry_find(req->params[0]);
    int64_t id;
    if (!parse_id(req, &id, resp))
        return;
    json_t *items = NULL;
    yj_err err;
    yj_err_clear(&err);
    if (registry_history(req->app->store, &req->session.user, reg, id, &items, &err) != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    http_json(resp, 200, json_pack("{s:o}", "items", items));
}

/* The registries the caller may read, without the fields the role may not
 * (forms and tables are built from this). */
void api_schema(yj_req *req, yj_resp *resp)
{
    const yj_user *u = &req->session.user;
    json_t *regs = json_array();
    for (size_t i = 0; i < registry_count(); i++) {
        const yj_registry *r = registry_at(i);
        if (!perm_allowed(u->role, r->name, YJ_ACT_READ))
            continue;
        json_t *sch = registry_schema_json(r);
        const char *const *hide = registry_hidden(u, r);
        json_t *fields = json_object_get(sch, "fields");
        for (size_t k = json_array_size(fields); hide && k-- > 0;) {
            const char *name =
                json_string_value(json_object_get(json_array_get(fields, k), "name"));
            for (size_t h = 0; hide[h]; h++)
                if (strcmp(name, hide[h]) == 0) {
                    json_array_remove(fields, k);
                    break;
                }
        }
        json_array_append_new(regs, sch);
    }
    http_json(resp, 200, json_pack("{s:o}", "registries", regs));
}
