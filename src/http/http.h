/*
 * http.h — the request/response model every API handler sees.
 *
 * Handlers live in their module's folder and never include microhttpd.h:
 * server.c adapts libmicrohttpd to yj_req/yj_resp, each module declares
 * its routes (method, path pattern, handler, resource, action, body limit)
 * in its descriptor, routes.c indexes them and checks login, CSRF and the
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

#define YJ_MAX_JSON_BODY (1u << 20)  /* 1 MiB: the default body limit */
#define YJ_MAX_CSV_BODY  (16u << 20) /* 16 MiB: CSV imports */
#define YJ_MAX_PARAMS    4
#define YJ_MAX_HEADERS   8

typedef struct yj_app {
    yj_store *store;
    const char *web_dir; /* realpath of the static root, or NULL */
    bool secure_cookie;  /* add Secure to cookies (behind TLS) */
    int threads;         /* HTTP worker threads */
    bool test_hooks;     /* --test-hooks: clock/tick endpoint for tests */
    int per_ip;          /* connections one client address may hold open */
    int idle_timeout;    /* seconds before an idle connection is closed (not event streams) */
    /* a reverse proxy's address: for its requests the client is the last
     * address of X-Forwarded-For */
    const char *trusted_proxy;
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
    int64_t if_match; /* YJ_ROUTE_IF_MATCH routes: the version from If-Match */
    yj_session session;
    char client[64]; /* the client's address (login throttling, the log) */
    void *conn;      /* server-private */
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
    YJ_ROUTE_PUBLIC = 1 << 0,    /* no login needed (an explicit decision, like a perm row) */
    YJ_ROUTE_TEST_HOOK = 1 << 1, /* exists only under serve --test-hooks (404 otherwise) */
    /* changes an existing record: If-Match with the version the caller saw
     * is required (428 without), parsed once into req->if_match */
    YJ_ROUTE_IF_MATCH = 1 << 2,
} yj_route_flags;

/* One endpoint, declared in its module's route table (base/module.h). */
typedef struct yj_route {
    const char *method;
    const char *pattern; /* "/api/v1/registries/{reg}/{id}" */
    yj_handler handler;
    /* The permission it needs: a resource ("{reg}": the registry named by
     * the first path parameter; "session": any login) and an action.  NULL
     * only on public routes. */
    const char *resource;
    yj_action action;
    unsigned flags;
    size_t max_body; /* request body limit in bytes; 0: YJ_MAX_JSON_BODY */
    const char *summary;
    /* OpenAPI (base/openapi.c): the request body and the answer, each
     * "[STATUS ][MEDIA-TYPE ]SCHEMA" with SCHEMA JSON Schema text that may
     * refer to #/components/schemas/<registry> or Error, e.g.
     *   .in = "{\"type\":\"object\",\"required\":[\"reason\"],...}",
     *   .out = "201 {\"$ref\":\"#/components/schemas/warning\"}",
     *   .out = "200 text/csv {\"type\":\"string\"}", .out = "204".
     * .in = YJ_NO_BODY for a write that takes none; every route declares
     * its answer and every write its body (the module test checks). */
    const char *in, *out;
} yj_route;
#define YJ_NO_BODY ""

/* routes.c: the route index over every module's table.  A path is matched
 * by the most specific pattern (a literal segment beats a {placeholder} at
 * the first place they differ), whatever the modules' order. */
void http_routes_init(void);
size_t http_route_count(void);
/* Route by global index (0 .. http_route_count()-1) and its module's name. */
const yj_route *http_route_at(size_t i, const char **module);
/* Find the route; sets params.  Returns NULL and *path_known=true when the
 * path exists with another method (405). */
const yj_route *http_route_match(yj_req *req, bool *path_known);
/* The body limit for a request (before the body is read). */
size_t http_body_limit(const char *method, const char *path);
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
/* ... replacing one of the same name already set. */
void http_header_set(yj_resp *resp, const char *name, const char *value);
/* A non-negative decimal integer of at most 18 digits, nothing else. */
bool http_parse_i64(const char *s, int64_t *out);
/* The one If-Match rule: the header must name the version the caller saw,
 * as the ETag we send ("3", W/"3" or 3).  YJ_EPRECONDITION (428) when it is
 * missing or "*"; YJ_ESTALE (412) when it is not a version of ours. */
yj_code http_if_match(yj_req *req, int64_t *version, yj_err *err);
/* ETag: "<version>" of a record (its "version" key). */
void http_etag(yj_resp *resp, const json_t *rec);
/* Parse a request body as a JSON object (rejects duplicates, NUL, depth). */
yj_code http_json_parse(const char *data, size_t len, json_t **out, yj_err *err);

/* Helpers the modules' handlers share (respond.c). */
/* A positive id from path parameter idx; 404 (and false) otherwise. */
bool http_path_id(yj_req *req, yj_resp *resp, int idx, int64_t *id);
/* The request body as a JSON object; allow_empty: "" is {}.  NULL after
 * answering 400 when it is not one. */
json_t *http_body_json(yj_req *req, yj_resp *resp, bool allow_empty);
/* A non-negative integer query parameter (def when absent); false after
 * answering 422 when it is not one. */
bool http_query_i64(yj_req *req, yj_resp *resp, const char *name, int64_t def, int64_t *out);
/* Answer out with status, or the error when rc is not YJ_OK (out freed). */
void http_reply(yj_resp *resp, yj_code rc, const yj_err *err, int status, json_t *out);

/* The three shapes most handlers have, done once: a record by the id in
 * the path; a record made from the body; a step ({id}/{action}, body
 * optional, If-Match) — each answered with its ETag. */
typedef yj_code (*yj_record_fn)(yj_store *s, const yj_user *u, int64_t id, json_t **out,
                                yj_err *err);
typedef yj_code (*yj_create_fn)(yj_store *s, const yj_user *u, const json_t *in, json_t **out,
                                yj_err *err);
typedef yj_code (*yj_step_fn)(yj_store *s, const yj_user *u, int64_t id, const char *action,
                              int64_t if_match, const json_t *in, json_t **out, yj_err *err);
void http_serve_record(yj_req *req, yj_resp *resp, yj_record_fn fn, int status);
void http_serve_create(yj_req *req, yj_resp *resp, yj_create_fn fn);
void http_serve_step(yj_req *req, yj_resp *resp, yj_step_fn fn, int status);

/* static.c: files under the web root (the shell and web/m/<module>/). */
void api_static(yj_req *, yj_resp *);
/* sse.c: GET /api/v1/events. */
void api_events(yj_req *, yj_resp *);

/* metrics.c: a slot per route (sized from the route index) */
void metrics_init(void);
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
