/*
 * http.h — the request/response model every API handler sees.
 *
 * Handlers never include microhttpd.h: server.c adapts libmicrohttpd to
 * yj_req/yj_resp, routes.c declares the route table (method, path pattern,
 * handler, resource, action), and the router checks login, CSRF and the
 * permission table before a handler runs.  Errors become one JSON shape in
 * one place (respond.c).
 */
#ifndef YJ_HTTP_H
#define YJ_HTTP_H

#include "../auth/auth.h"
#include "../core/buf.h"
#include "../core/err.h"
#include "../store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define YJ_MAX_JSON_BODY (1u << 20)  /* 1 MiB */
#define YJ_MAX_CSV_BODY  (16u << 20) /* 16 MiB */
#define YJ_MAX_PARAMS    4
#define YJ_MAX_HEADERS   8

typedef struct yj_app {
    yj_store *store;
    const char *web_dir; /* realpath of the static root, or NULL */
    bool secure_cookie;  /* add Secure to cookies (behind TLS) */
    int threads;         /* HTTP worker threads */
    bool test_hooks;     /* --test-hooks: clock/tick endpoint for tests */
} yj_app;

struct yj_route;

typedef struct {
    yj_app *app;
    const char *method;
    const char *path;
    const char *body;
    size_t body_len;
    const struct yj_route *route;
    int route_index;
    const char *params[YJ_MAX_PARAMS]; /* values of {placeholders}, in order */
    char param_buf[256];
    bool authed;
    bool cookie_auth;
    yj_session session;
    void *conn; /* server-private */
} yj_req;

typedef struct {
    int status;
    const char *content_type;
    char *body; /* malloc'd, freed by the server */
    size_t len;
    struct {
        char name[48];
        char value[512];
    } headers[YJ_MAX_HEADERS];
    int nheaders;
    /* Set by the events handler: the server streams SSE instead of body. */
    bool sse;
    /* Set by the static handler: serve this file (fd owned by the server). */
    int file_fd;
    size_t file_size;
} yj_resp;

typedef void (*yj_handler)(yj_req *req, yj_resp *resp);

typedef enum {
    YJ_ROUTE_PUBLIC = 1 << 0, /* no login needed */
    YJ_ROUTE_CSV = 1 << 1,    /* body is CSV: larger limit */
} yj_route_flags;

typedef struct yj_route {
    const char *method;
    const char *pattern; /* "/api/v1/registries/{reg}/{id}" */
    yj_handler handler;
    const char *resource; /* permission resource, "{reg}" = from the path, NULL = any login */
    yj_action action;
    unsigned flags;
    const char *summary; /* OpenAPI summary */
} yj_route;

/* routes.c */
const yj_route *http_routes(size_t *n);
/* Find the route; sets params.  Returns NULL and *path_known=true when the
 * path exists with another method (405). */
const yj_route *http_route_match(yj_req *req, bool *path_known);
/* Authenticate, check CSRF and permission, run the handler. */
void http_dispatch(yj_req *req, yj_resp *resp);

/* request helpers (implemented by server.c) */
const char *http_header(yj_req *req, const char *name);
const char *http_query(yj_req *req, const char *name);
const char *http_cookie(yj_req *req, const char *name);
/* Call fn for every query argument. */
void http_query_each(yj_req *req, void (*fn)(const char *k, const char *v, void *ctx), void *ctx);

/* respond.c */
int http_status_for(yj_code code);
void http_json(yj_resp *resp, int status, json_t *body); /* steals body */
void http_error(yj_resp *resp, const yj_err *err);
void http_errorf(yj_resp *resp, yj_code code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void http_text(yj_resp *resp, int status, const char *ctype, char *body, size_t len); /* steals */
void http_header_add(yj_resp *resp, const char *name, const char *value);
/* A non-negative decimal integer of at most 18 digits, nothing else. */
bool http_parse_i64(const char *s, int64_t *out);
/* Parse a request body as a JSON object (rejects duplicates, NUL, depth). */
yj_code http_json_parse(const char *data, size_t len, json_t **out, yj_err *err);

/* gateway_sim.c: `yingji gateway-sim`, the stand-in gateways and terminals */
typedef struct {
    const char *listen, *token;
    const char *fail_digits, *answer_digits, *silent_channels, *dead_terminals;
    double answer_share; /* < 0: use answer_digits */
    int delay_ms, latency_ms;
    bool receipt_first;
    const char *mqtt_host;
    int mqtt_port;
} gateway_sim_config;
int gateway_sim_run(const gateway_sim_config *cfg);

/* handlers (api_*.c) */
void api_healthz(yj_req *, yj_resp *);
void api_readyz(yj_req *, yj_resp *);
void api_login(yj_req *, yj_resp *);
void api_logout(yj_req *, yj_resp *);
void api_me(yj_req *, yj_resp *);
void api_schema(yj_req *, yj_resp *);
void api_reg_list(yj_req *, yj_resp *);
void api_reg_geojson(yj_req *, yj_resp *);
void api_reg_export(yj_req *, yj_resp *);
void api_reg_import(yj_req *, yj_resp *);
void api_reg_create(yj_req *, yj_resp *);
void api_reg_get(yj_req *, yj_resp *);
void api_reg_update(yj_req *, yj_resp *);
void api_reg_delete(yj_req *, yj_resp *);
void api_reg_history(yj_req *, yj_resp *);
void api_regions(yj_req *, yj_resp *);
void api_region_get(yj_req *, yj_resp *);
void api_boundaries(yj_req *, yj_resp *);
void api_users_list(yj_req *, yj_resp *);
void api_users_create(yj_req *, yj_resp *);
void api_audit_list(yj_req *, yj_resp *);
void api_audit_verify(yj_req *, yj_resp *);
void api_events(yj_req *, yj_resp *);
void api_openapi(yj_req *, yj_resp *);
void api_metrics(yj_req *, yj_resp *);
void api_static(yj_req *, yj_resp *);
/* api_monitor.c (M2) */
void api_readings_post(yj_req *, yj_resp *);
void api_sensors_latest(yj_req *, yj_resp *);
void api_sensor_history(yj_req *, yj_resp *);
void api_rejects(yj_req *, yj_resp *);
void api_rules_list(yj_req *, yj_resp *);
void api_rules_create(yj_req *, yj_resp *);
void api_rules_update(yj_req *, yj_resp *);
void api_rules_delete(yj_req *, yj_resp *);
void api_maintenance_add(yj_req *, yj_resp *);
void api_alarms_list(yj_req *, yj_resp *);
void api_alarm_get(yj_req *, yj_resp *);
void api_alarm_act(yj_req *, yj_resp *);
void api_workorders_list(yj_req *, yj_resp *);
void api_workorder_act(yj_req *, yj_resp *);
void api_inbox(yj_req *, yj_resp *);
void api_inbox_read(yj_req *, yj_resp *);
void api_health(yj_req *, yj_resp *);
void api_map(yj_req *, yj_resp *);
void api_gateway_create(yj_req *, yj_resp *);
void api_monitor_tick(yj_req *, yj_resp *);
/* api_warning.c */
void api_warnings_list(yj_req *, yj_resp *);
void api_warnings_create(yj_req *, yj_resp *);
void api_warnings_import(yj_req *, yj_resp *);
void api_warning_get(yj_req *, yj_resp *);
void api_warning_update(yj_req *, yj_resp *);
void api_warning_act(yj_req *, yj_resp *);
void api_warning_cap(yj_req *, yj_resp *);
void api_alarm_to_warning(yj_req *, yj_resp *);
void api_public_warnings(yj_req *, yj_resp *);
void api_feed_atom(yj_req *, yj_resp *);
void api_feed_cap(yj_req *, yj_resp *);
void api_warnings_tick(yj_req *, yj_resp *);
void api_warning_targets(yj_req *, yj_resp *);
void api_warning_deliveries(yj_req *, yj_resp *);
void api_warning_callup(yj_req *, yj_resp *);
void api_warning_coverage(yj_req *, yj_resp *);
void api_delivery_ack(yj_req *, yj_resp *);
void api_gateway_callback(yj_req *, yj_resp *);
void api_public_ack_get(yj_req *, yj_resp *);
void api_public_ack_post(yj_req *, yj_resp *);
void api_groups_list(yj_req *, yj_resp *);
void api_groups_create(yj_req *, yj_resp *);

/* metrics.c */
void metrics_observe(int route_index, int status, double seconds);
void metrics_render(yj_buf *out, yj_store *store);

/* sse.c */
void sse_init(void);
int sse_client_count(void);
void sse_shutdown(void);
/* Opaque client used by server.c to stream.  The server never blocks on a
 * client: when nothing is queued, sse_client_next() calls park(conn) (the
 * server suspends the connection) and later wake(conn) is called exactly
 * once, when an event, a ping or shutdown is due. */
typedef struct sse_client sse_client;
typedef void (*sse_conn_fn)(void *conn);
sse_client *sse_client_open(const yj_user *u, sse_conn_fn wake, void *conn);
/* Copy the next message into buf (at most max bytes).  Returns its length,
 * 0 after parking the connection, or -1 when the server is shutting down. */
long sse_client_next(sse_client *c, char *buf, size_t max, sse_conn_fn park);
void sse_client_close(sse_client *c);

/* server.c */
typedef struct yj_server yj_server;
yj_server *http_server_start(yj_app *app, const char *listen, yj_err *err);
void http_server_stop(yj_server *srv);

#endif
