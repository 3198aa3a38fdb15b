/*
 * routes.c — the route table and the dispatcher.
 *
 * Every endpoint is one row: method, path pattern, handler, the permission
 * resource and action it needs, flags.  The dispatcher matches the path,
 * authenticates (Bearer token or session cookie), demands the CSRF token on
 * cookie-authenticated writes, checks the permission table, then runs the
 * handler.  The OpenAPI document is generated from this same table.
 */
#include "http.h"
#include "../core/util.h"
#include "../registry/registry.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define R   YJ_ACT_READ
#define W   YJ_ACT_WRITE
#define PUB YJ_ROUTE_PUBLIC

/* Literal segments before {id} so ".../geojson" is not taken for an id. */
static const yj_route routes[] = {
    {"GET", "/healthz", api_healthz, NULL, R, PUB, "Liveness"},
    {"GET", "/readyz", api_readyz, NULL, R, PUB, "Readiness (store reachable)"},
    {"GET", "/metrics", api_metrics, NULL, R, PUB, "Prometheus metrics"},
    {"GET", "/api/v1/openapi.json", api_openapi, NULL, R, PUB, "This API description"},
    {"POST", "/api/v1/login", api_login, NULL, W, PUB, "Log in"},
    {"POST", "/api/v1/logout", api_logout, NULL, W, 0, "Log out"},
    {"GET", "/api/v1/me", api_me, NULL, R, 0, "Current user, CSRF token and permissions"},
    {"GET", "/api/v1/events", api_events, NULL, R, 0, "Server-Sent Events stream"},
    {"GET", "/api/v1/schema", api_schema, NULL, R, 0, "Field tables of every registry"},
    {"GET", "/api/v1/registries/{reg}/geojson", api_reg_geojson, "{reg}", R, 0,
     "Records with a position as GeoJSON"},
    {"GET", "/api/v1/registries/{reg}/export.csv", api_reg_export, "{reg}", R, 0,
     "Export as CSV (UTF-8 with BOM)"},
    {"POST", "/api/v1/registries/{reg}/import", api_reg_import, "{reg}", W, YJ_ROUTE_CSV,
     "Import CSV (all or nothing unless skip_bad=1)"},
    {"GET", "/api/v1/registries/{reg}", api_reg_list, "{reg}", R, 0, "List records"},
    {"POST", "/api/v1/registries/{reg}", api_reg_create, "{reg}", W, 0, "Create a record"},
    {"GET", "/api/v1/registries/{reg}/{id}/history", api_reg_history, "{reg}", R, 0,
     "Change history of a record"},
    {"GET", "/api/v1/registries/{reg}/{id}", api_reg_get, "{reg}", R, 0, "Get a record"},
    {"PUT", "/api/v1/registries/{reg}/{id}", api_reg_update, "{reg}", W, 0,
     "Update a record (If-Match required)"},
    {"PATCH", "/api/v1/registries/{reg}/{id}", api_reg_update, "{reg}", W, 0,
     "Update some fields (If-Match required)"},
    {"DELETE", "/api/v1/registries/{reg}/{id}", api_reg_delete, "{reg}", W, 0,
     "Delete a record (If-Match required)"},
    {"GET", "/api/v1/regions", api_regions, "region", R, 0, "Child regions"},
    {"GET", "/api/v1/regions/{code}", api_region_get, "region", R, 0, "One region"},
    {"GET", "/api/v1/map/boundaries", api_boundaries, "region", R, 0, "Region outlines as GeoJSON"},
    {"GET", "/api/v1/users", api_users_list, "user", R, 0, "List users"},
    {"POST", "/api/v1/users", api_users_create, "user", W, 0, "Create a user"},
    {"GET", "/api/v1/audit/verify", api_audit_verify, "audit", R, 0, "Verify the audit chain"},
    {"GET", "/api/v1/audit", api_audit_list, "audit", R, 0, "Audit log"},
    /* M2 monitoring and early warning */
    {"POST", "/api/v1/readings", api_readings_post, NULL, W, PUB,
     "Gateway batch of readings (X-Api-Key); 200 once every reading is stored or rejected"},
    {"GET", "/api/v1/sensors/latest", api_sensors_latest, "monitor", R, 0,
     "Latest value of every visible sensor, with age and staleness"},
    {"GET", "/api/v1/sensors/{id}/history", api_sensor_history, "monitor", R, 0,
     "History of a sensor (raw, minute or hour aggregates)"},
    {"GET", "/api/v1/readings/rejects", api_rejects, "monitor", R, 0,
     "Rejected readings with their reason"},
    {"GET", "/api/v1/rules", api_rules_list, "monitor", R, 0, "Alarm rules and the defaults"},
    {"POST", "/api/v1/rules", api_rules_create, "rule", W, 0, "Create an alarm rule"},
    {"PUT", "/api/v1/rules/{id}", api_rules_update, "rule", W, 0, "Replace an alarm rule"},
    {"DELETE", "/api/v1/rules/{id}", api_rules_delete, "rule", W, 0, "Delete an alarm rule"},
    {"POST", "/api/v1/maintenance", api_maintenance_add, "rule", W, 0,
     "Maintenance/calibration window that suppresses a sensor's alarms"},
    {"GET", "/api/v1/alarms", api_alarms_list, "alarm", R, 0, "Alarms, open ones first"},
    {"GET", "/api/v1/alarms/{id}", api_alarm_get, "alarm", R, 0, "An alarm with its timeline"},
    {"POST", "/api/v1/alarms/{id}/warning", api_alarm_to_warning, "warning", W, 0,
     "A warning draft made from the alarm (its area and facts)"},
    {"POST", "/api/v1/alarms/{id}/{action}", api_alarm_act, "alarm", W, 0,
     "acknowledge | verify | dispose | close (verdict real/false/fault)"},
    {"GET", "/api/v1/workorders", api_workorders_list, "alarm", R, 0,
     "Sensor maintenance work orders"},
    {"POST", "/api/v1/workorders/{id}/{action}", api_workorder_act, "alarm", W, 0,
     "repair | restore"},
    {"GET", "/api/v1/inbox", api_inbox, "alarm", R, 0, "The caller's alarm inbox"},
    {"POST", "/api/v1/inbox/{id}/read", api_inbox_read, "alarm", R, 0, "Mark a message read"},
    {"GET", "/api/v1/monitor/health", api_health, "monitor", R, 0,
     "Daily online rate and alarm handling times per region or owner"},
    {"GET", "/api/v1/map", api_map, "monitor", R, 0,
     "Risk map: sensors, alarms, objects, hazards, resources in a bbox (GeoJSON)"},
    {"POST", "/api/v1/gateways", api_gateway_create, "gateway", W, 0,
     "Register a reading gateway; returns its API key once"},
    {"GET", "/api/v1/alarm-groups", api_groups_list, "alarm", R, 0,
     "Recipient groups of alarms in the caller's region"},
    {"POST", "/api/v1/alarm-groups", api_groups_create, "rule", W, 0,
     "Create a recipient group bound to region, level, rule kinds and industries"},
    {"POST", "/api/v1/monitor/tick", api_monitor_tick, "gateway", W, 0,
     "Tests only (serve --test-hooks): set the engine clock and run its timers"},
    /* M3 warning publication and call-up */
    {"GET", "/api/v1/warnings", api_warnings_list, "warning", R, 0,
     "Warnings in the caller's region and those issued above it (state=, active=1)"},
    {"POST", "/api/v1/warnings", api_warnings_create, "warning", W, 0, "Compose a warning draft"},
    {"POST", "/api/v1/warnings/import", api_warnings_import, "warning", W, 0,
     "Receive a CAP 1.2 message from another agency (body: the XML)"},
    {"POST", "/api/v1/warnings/targets", api_warning_targets, "warning", R, 0,
     "Who an area reaches: residents, the vulnerable and contacts, terminals, responsible"
     " people, enterprises"},
    {"POST", "/api/v1/warnings/callback", api_gateway_callback, NULL, W, PUB,
     "Gateways: receipts, SMS replies and voice answers (Bearer gateway token)"},
    {"GET", "/api/v1/warnings/{id}/deliveries", api_warning_deliveries, "warning", R, 0,
     "Deliveries of a warning with counts by kind and state"},
    {"GET", "/api/v1/warnings/{id}/callup", api_warning_callup, "warning", R, 0,
     "Call-up (叫应) board: who must answer, who has, escalations"},
    {"GET", "/api/v1/warnings/{id}/coverage", api_warning_coverage, "warning", R, 0,
     "Coverage: residents reached, responsible answered, vulnerable confirmed, time to 90%"},
    {"POST", "/api/v1/deliveries/{id}/ack", api_delivery_ack, "warning", W, 0,
     "Record an answer: via app (the recipient) or phone (a duty officer, with a note)"},
    {"GET", "/api/v1/public/ack/{token}", api_public_ack_get, NULL, R, PUB,
     "What an answer link is for (no login)"},
    {"POST", "/api/v1/public/ack/{token}", api_public_ack_post, NULL, W, PUB,
     "Answer through the link in the message (no login)"},
    {"GET", "/api/v1/warnings/{id}/cap", api_warning_cap, "warning", R, 0,
     "The CAP 1.2 / GB/T 35965.1 message of a published or received warning"},
    {"GET", "/api/v1/warnings/{id}", api_warning_get, "warning", R, 0,
     "A warning with its timeline"},
    {"PUT", "/api/v1/warnings/{id}", api_warning_update, "warning", W, 0,
     "Edit a draft (If-Match required)"},
    {"POST", "/api/v1/warnings/{id}/{action}", api_warning_act, "warning", W, 0,
     "submit | approve | reject | publish | update | cancel"},
    {"POST", "/api/v1/warnings/tick", api_warnings_tick, "gateway", W, 0,
     "Tests only (serve --test-hooks): set the warning clock and run its timers"},
    {"GET", "/api/v1/public/warnings", api_public_warnings, NULL, R, PUB,
     "Active public warnings (no login)"},
    {"GET", "/feeds/warnings.atom", api_feed_atom, NULL, R, PUB,
     "Atom feed of the active public warnings (no login)"},
    {"GET", "/feeds/warnings/{file}", api_feed_cap, NULL, R, PUB,
     "The CAP message of a public warning: /feeds/warnings/{id}.xml (no login)"},
};

const yj_route *http_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}

/* Match path against pattern; captured values go into req->param_buf. */
static bool pattern_match(const char *pattern, const char *path, yj_req *req)
{
    size_t used = 0;
    int np = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t len = strcspn(s, "/");
            if (close == NULL || len == 0 || np >= YJ_MAX_PARAMS ||
                used + len + 1 > sizeof req->param_buf)
                return false;
            memcpy(req->param_buf + used, s, len);
            req->param_buf[used + len] = '\0';
            req->params[np++] = req->param_buf + used;
            used += len + 1;
            p = close + 1;
            s += len;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    return *p == '\0' && *s == '\0';
}

const yj_route *http_route_match(yj_req *req, bool *path_known)
{
    *path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!pattern_match(routes[i].pattern, req->path, req))
            continue;
        if (strcmp(routes[i].method, req->method) != 0) {
            *path_known = true;
            continue;
        }
        req->route_index = (int)i;
        return &routes[i];
    }
    return NULL;
}

static bool is_write_method(const char *m)
{
    return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 && strcmp(m, "OPTIONS") != 0;
}

/* Bearer header first, then the session cookie. */
static yj_code authenticate(yj_req *req, yj_err *err)
{
    const char *auth = http_header(req, "Authorization");
    const char *token = NULL;
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
        token = auth + 7;
    } else {
        token = http_cookie(req, "yj_session");
        req->cookie_auth = token != NULL;
    }
    if (token == NULL)
        return yj_err_set(err, YJ_EAUTH, NULL, "not logged in");
    yj_code rc = auth_session(req->app->store, token, &req->session, err);
    req->authed = rc == YJ_OK;
    return rc;
}

void http_dispatch(yj_req *req, yj_resp *resp)
{
    bool path_known = false;
    req->route_index = -1;
    const yj_route *rt = NULL;
    if (strncmp(req->path, "/api/", 5) == 0 || strncmp(req->path, "/feeds/", 7) == 0 ||
        strcmp(req->path, "/healthz") == 0 || strcmp(req->path, "/readyz") == 0 ||
        strcmp(req->path, "/metrics") == 0) {
        rt = http_route_match(req, &path_known);
        if (rt == NULL) {
            if (path_known)
                http_errorf(resp, YJ_EMETHOD, NULL, "method %s not allowed here", req->method);
            else
                http_errorf(resp, YJ_ENOTFOUND, NULL, "no such endpoint: %s", req->path);
            return;
        }
    } else {
        if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
            http_errorf(resp, YJ_EMETHOD, NULL, "static files are read-only");
            return;
        }
        api_static(req, resp);
        return;
    }
    req->route = rt;
    yj_err err;
    yj_err_clear(&err);
    if (!(rt->flags & YJ_ROUTE_PUBLIC)) {
        if (authenticate(req, &err) != YJ_OK) {
            http_error(resp, &err);
            return;
        }
        if (req->cookie_auth && is_write_method(req->method)) {
            const char *csrf = http_header(req, "X-CSRF-Token");
            if (csrf == NULL || !yj_str_eq_ct(csrf, req->session.csrf)) {
                http_errorf(resp, YJ_EFORBIDDEN, NULL,
                            "missing or wrong X-CSRF-Token for a browser write");
                return;
            }
        }
        if (rt->resource) {
            const char *res = rt->resource;
            if (strcmp(res, "{reg}") == 0) {
                if (registry_find(req->params[0]) == NULL) {
                    http_errorf(resp, YJ_ENOTFOUND, NULL, "no registry %s", req->params[0]);
                    return;
                }
                res = req->params[0];
            }
            if (!perm_allowed(req->session.user.role, res, rt->action)) {
                http_errorf(resp, YJ_EFORBIDDEN, NULL, "role %s may not %s %s",
                            role_name(req->session.user.role),
                            rt->action == YJ_ACT_READ ? "read" : "change", res);
                return;
            }
        }
    }
    rt->handler(req, resp);
}
