/*
 * api.c — the monitoring module's endpoints: reading ingest for gateways,
 * latest values, history, rejects, rules, maintenance windows, alarms and
 * their actions, work orders, the inbox, device health, the risk map and
 * gateway keys (the route table is in module.c).
 */
#include "api.h"
#include "../core/util.h"
#include "monitor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* POST /api/v1/readings — gateways, authenticated by X-Api-Key.  200 means
 * every reading has a durable outcome: stored, or stored as a reject. */
void api_readings_post(yj_req *req, yj_resp *resp)
{
    yj_err err;
    yj_err_clear(&err);
    int64_t gw = 0;
    char region[16];
    if (gateway_auth(req->app->store, http_header(req, "X-Api-Key"), &gw, region, sizeof region,
                     &err) != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    char origin[32];
    snprintf(origin, sizeof origin, "gateway:%lld", (long long)gw);
    mon_reading *r = NULL;
    size_t n = 0;
    if (mon_payload_decode(req->body, req->body_len, NULL, &r, &n, &err) != YJ_OK) {
        /* an unreadable body is still recorded, then refused */
        yj_err e2;
        mon_ingest_malformed(MON_SRC_HTTP, origin, req->body, req->body_len, err.message, &e2);
        http_error(resp, &err);
        return;
    }
    char *raw = NULL;
    bool any_bad = false;
    for (size_t i = 0; i < n; i++)
        any_bad = any_bad || r[i].bad;
    if (any_bad) {
        raw = malloc(req->body_len + 1);
        if (raw) {
            memcpy(raw, req->body, req->body_len);
            raw[req->body_len] = '\0';
        }
    }
    /* several nodes sharing the counties: each county's readings to its
     * node (forward.c); a batch handed on by another node stays here */
    mon_result res = {0}, here = {0};
    if (http_header(req, "X-Yingji-Forwarded") == NULL)
        mon_forward_remote(req->app->store, http_header(req, "X-Api-Key"), r, &n, &res);
    yj_code rc = n ? mon_ingest(r, n, MON_SRC_HTTP, origin, region, raw, &here, &err) : YJ_OK;
    free(raw);
    free(r);
    if (rc != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    res.accepted += here.accepted;
    res.late += here.late;
    for (int i = 0; i < MON_REJ_COUNT; i++)
        res.rejected[i] += here.rejected[i];
    http_json(resp, 200, mon_result_json(&res));
}

void api_sensors_latest(yj_req *req, yj_resp *resp)
{
    int64_t object = 0;
    if (!http_query_i64(req, resp, "object_id", 0, &object))
        return;
    json_t *items = NULL;
    yj_err err;
    yj_err_clear(&err);
    if (mon_latest(req->app->store, &req->session.user, http_query(req, "region"), object, &items,
                   &err) != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    http_json(resp, 200, json_pack("{s:o,s:I}", "items", items, "now", (json_int_t)yj_clock_now()));
}

void api_sensor_history(yj_req *req, yj_resp *resp)
{
    int64_t id, from, to;
    int64_t now = yj_clock_now();
    if (!http_path_id(req, resp, 0, &id) || !http_query_i64(req, resp, "to", now, &to) ||
        !http_query_i64(req, resp, "from", to - 6 * 3600000LL, &from))
        return;
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    if (mon_history(req->app->store, &req->session.user, id, from, to,
                    http_query(req, "resolution"), &out, &err) != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    http_json(resp, 200, out);
}

void api_rejects(yj_req *req, yj_resp *resp)
{
    int64_t limit, offset;
    if (!http_query_i64(req, resp, "limit", 100, &limit) ||
        !http_query_i64(req, resp, "offset", 0, &offset))
        return;
    json_t *items = NULL;
    yj_err err;
    yj_err_clear(&err);
    if (mon_rejects(req->app->store, &req->session.user, http_query(req, "reason"), (int)limit,
                    offset, &items, &err) != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    http_json(resp, 200, json_pack("{s:o}", "items", items));
}

void api_rules_list(yj_req *req, yj_resp *resp)
{
    int64_t sensor = 0;
    if (!http_query_i64(req, resp, "sensor_id", 0, &sensor))
        return;
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    if (mon_rules_list(req->app->store, &req->session.user, sensor, &out, &err) != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    http_json(resp, 200, out);
}

static void rules_save(yj_req *req, yj_resp *resp, int64_t id)
{
    json_t *in = http_body_json(req, resp, false);
    if (in == NULL)
        return;
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc =
        mon_rule_save(req->app->store, &req->session.user, id, req->if_match, in, &out, &err);
    json_decref(in);
    if (rc != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    http_etag(resp, out);
    http_json(resp, id ? 200 : 201, out);
}

void api_rules_create(yj_req *req, yj_resp *resp)
{
    rules_save(req, resp, 0);
}

void api_rules_update(yj_req *req, yj_resp *resp)
{
    int64_t id;
    if (http_path_id(req, resp, 0, &id))
        rules_save(req, resp, id);
}

void api_rules_delete(yj_req *req, yj_resp *resp)
{
    int64_t id;
    if (!http_path_id(req, resp, 0, &id))
        return;
    yj_err err;
    yj_err_clear(&err);
    if (mon_rule_delete(req->app->store, &req->session.user, id, req->if_match, &err) != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    http_json(resp, 200, json_pack("{s:b}", "deleted", 1));
}

void api_maintenance_add(yj_req *req, yj_resp *resp)
{
    http_serve_create(req, resp, mon_maintenance_add);
}

void api_alarms_list(yj_req *req, yj_resp *resp)
{
    mon_alarm_query q = {0};
    int64_t limit, offset, sensor, ent;
    if (!http_query_i64(req, resp, "limit", 100, &limit) ||
        !http_query_i64(req, resp, "offset", 0, &offset) ||
        !http_query_i64(req, resp, "sensor_id", 0, &sensor) ||
        !http_query_i64(req, resp, "enterprise_id", 0, &ent))
        return;
    if (limit < 1 || limit > 1000 || offset < 0) {
        http_errorf(resp, YJ_EINVAL, "limit", "limit must be 1..1000 and offset >= 0");
        return;
    }
    q.limit = (int)limit;
    q.offset = offset;
    q.sensor_id = sensor;
    q.enterprise_id = ent;
    q.state = http_query(req, "state");
    q.region = http_query(req, "region");
    const char *open = http_query(req, "open");
    q.open_only = open && strcmp(open, "1") == 0;
    json_t *items = NULL;
    int64_t total = 0;
    yj_err err;
    yj_err_clear(&err);
    if (alarm_list(req->app->store, &req->session.user, &q, &items, &total, &err) != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    http_json(resp, 200, json_pack("{s:o,s:I}", "items", items, "total", (json_int_t)total));
}

void api_alarm_get(yj_req *req, yj_resp *resp)
{
    http_serve_record(req, resp, alarm_get, 200);
}

void api_alarm_act(yj_req *req, yj_resp *resp)
{
    http_serve_step(req, resp, alarm_act, 200);
}

void api_workorders_list(yj_req *req, yj_resp *resp)
{
    json_t *items = NULL;
    yj_err err;
    yj_err_clear(&err);
    if (workorder_list(req->app->store, &req->session.user, http_query(req, "state"), &items,
                       &err) != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    http_json(resp, 200, json_pack("{s:o}", "items", items));
}

void api_workorder_get(yj_req *req, yj_resp *resp)
{
    http_serve_record(req, resp, workorder_get, 200);
}

void api_workorder_act(yj_req *req, yj_resp *resp)
{
    http_serve_step(req, resp, workorder_act, 200);
}

void api_inbox(yj_req *req, yj_resp *resp)
{
    int64_t limit;
    if (!http_query_i64(req, resp, "limit", 100, &limit))
        return;
    const char *unread = http_query(req, "unread");
    json_t *items = NULL;
    int64_t n = 0;
    yj_err err;
    yj_err_clear(&err);
    if (inbox_list(req->app->store, &req->session.user, unread && strcmp(unread, "1") == 0,
                   (int)limit, &items, &n, &err) != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    http_json(resp, 200, json_pack("{s:o,s:I}", "items", items, "unread", (json_int_t)n));
}

void api_inbox_read(yj_req *req, yj_resp *resp)
{
    int64_t id;
    if (!http_path_id(req, resp, 0, &id))
        return;
    yj_err err;
    yj_err_clear(&err);
    if (inbox_read(req->app->store, &req->session.user, id, &err) != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    http_json(resp, 200, json_pack("{s:b}", "read", 1));
}

void api_health(yj_req *req, yj_resp *resp)
{
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    if (alarm_health(req->app->store, &req->session.user, http_query(req, "day"),
                     http_query(req, "group_by"), &out, &err) != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    http_json(resp, 200, out);
}

void api_map(yj_req *req, yj_resp *resp)
{
    const char *b = http_query(req, "bbox");
    double bbox[4];
    char tail;
    if (b == NULL ||
        sscanf(b, "%lf,%lf,%lf,%lf%c", &bbox[0], &bbox[1], &bbox[2], &bbox[3], &tail) != 4 ||
        !(bbox[0] < bbox[2]) || !(bbox[1] < bbox[3]) || bbox[0] < -180 || bbox[2] > 180 ||
        bbox[1] < -90 || bbox[3] > 90) {
        http_errorf(resp, YJ_EINVAL, "bbox", "bbox must be minLon,minLat,maxLon,maxLat");
        return;
    }
    yj_buf out;
    yj_buf_init(&out);
    yj_err err;
    yj_err_clear(&err);
    if (mon_map(req->app->store, &req->session.user, bbox, http_query(req, "layers"), &out, &err) !=
        YJ_OK) {
        yj_buf_free(&out);
        http_error(resp, &err);
        return;
    }
    size_t len = out.len;
    http_text(resp, 200, "application/geo+json; charset=utf-8", yj_buf_steal(&out), len);
}

void api_gateway_create(yj_req *req, yj_resp *resp)
{
    json_t *in = http_body_json(req, resp, false);
    if (in == NULL)
        return;
    json_t *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = gateway_create(req->app->store, &req->session.user,
                                json_string_value(json_object_get(in, "name")),
                                json_string_value(json_object_get(in, "region_code")), &out, &err);
    json_decref(in);
    if (rc != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    http_json(resp, 201, out);
}

void api_groups_list(yj_req *req, yj_resp *resp)
{
    json_t *items = NULL;
    yj_err err;
    yj_err_clear(&err);
    if (alarm_group_list(req->app->store, &req->session.user, &items, &err) != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    http_json(resp, 200, json_pack("{s:o}", "items", items));
}

void api_groups_create(yj_req *req, yj_resp *resp)
{
    http_serve_create(req, resp, alarm_group_create);
}
