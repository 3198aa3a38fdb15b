/*
 * server.c — libmicrohttpd adapter: the only file that includes
 * microhttpd.h.
 *
 * Model: epoll with a pool of threads (--threads, default 8), each serving
 * many connections; handlers run on them and may block on the store, which
 * holds up only that thread's other connections.  Idle event streams do not
 * hold a thread: they are suspended and resumed by sse.c.  Request bodies are
 * accumulated up to the route's declared limit (1 MiB unless the route says
 * otherwise: 16 MiB for CSV imports, 4 KiB for a login); a larger body is
 * answered 413 as soon as its Content-Length is seen, or as soon as it
 * grows past the limit.
 */
#include "http.h"
#include "../core/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct yj_server {
    struct MHD_Daemon *daemon;
    yj_app *app;
};

typedef struct {
    yj_buf body;
    size_t limit;
    bool too_big;
    uint64_t t0;
} req_ctx;

/* ---- request helpers ------------------------------------------------------- */

const char *http_header(yj_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_query(yj_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_cookie(yj_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

typedef struct {
    void (*fn)(const char *k, const char *v, void *ctx);
    void *ctx;
} query_iter;

static enum MHD_Result query_each_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    query_iter *it = cls;
    it->fn(key, value, it->ctx);
    return MHD_YES;
}

void http_query_each(yj_req *req, void (*fn)(const char *k, const char *v, void *ctx), void *ctx)
{
    query_iter it = {fn, ctx};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_each_cb, &it);
}

/* ---- SSE streaming ----------------------------------------------------------- */

static void sse_park(void *conn)
{
    MHD_suspend_connection(conn);
}

static void sse_wake(void *conn)
{
    MHD_resume_connection(conn);
}

static ssize_t sse_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    long n = sse_client_next(cls, buf, max, sse_park);
    if (n < 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return n; /* 0: parked until sse_wake */
}

static void sse_free(void *cls)
{
    sse_client_close(cls);
}

/* ---- responses ----------------------------------------------------------------- */

static void add_common_headers(struct MHD_Response *r, const yj_resp *resp, bool api)
{
    if (resp->content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    for (int i = 0; i < resp->nheaders; i++)
        MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "same-origin");
    if (api) {
        bool has_cc = false;
        for (int i = 0; i < resp->nheaders; i++)
            has_cc |= strcasecmp(resp->headers[i].name, "Cache-Control") == 0;
        if (!has_cc)
            MHD_add_response_header(r, "Cache-Control", "no-store");
    } else {
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data: blob:; "
                                "style-src 'self' 'unsafe-inline'; connect-src 'self'; "
                                "frame-ancestors 'none'");
    }
}

static enum MHD_Result send_resp(struct MHD_Connection *conn, yj_req *req, yj_resp *resp)
{
    struct MHD_Response *r;
    if (resp->sse) {
        sse_client *client = sse_client_open(&req->session.user, sse_wake, conn);
        if (client == NULL) {
            http_errorf(resp, YJ_EINTERNAL, NULL, "out of memory");
            resp->sse = false;
            return send_resp(conn, req, resp);
        }
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 8192, sse_reader, client, sse_free);
        /* an event stream is idle by nature: not closed for it */
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)0);
        MHD_add_response_header(r, "Cache-Control", "no-store");
        MHD_add_response_header(r, "X-Accel-Buffering", "no");
    } else if (resp->file_fd >= 0) {
        r = MHD_create_response_from_fd((uint64_t)resp->file_size, resp->file_fd);
        resp->file_fd = -1; /* MHD owns and closes it now */
    } else {
        r = MHD_create_response_from_buffer(resp->len, resp->body ? resp->body : (void *)"",
                                            resp->body ? MHD_RESPMEM_MUST_FREE
                                                       : MHD_RESPMEM_PERSISTENT);
        resp->body = NULL;
    }
    if (r == NULL)
        return MHD_NO;
    add_common_headers(r, resp, req->route_index != -2);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* The client's address; behind the trusted proxy, the last address it
 * put in X-Forwarded-For (the one it saw; earlier ones the client wrote). */
static void client_address(const yj_app *app, struct MHD_Connection *conn, char *out, size_t n)
{
    snprintf(out, n, "-");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)n);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)n);
    if (app->trusted_proxy == NULL || strcmp(out, app->trusted_proxy) != 0)
        return;
    const char *xff = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For");
    if (xff == NULL)
        return;
    const char *last = strrchr(xff, ',');
    last = last ? last + 1 : xff;
    while (*last == ' ' || *last == '\t')
        last++;
    size_t len = strcspn(last, " \t");
    if (len > 0 && len < n && strspn(last, "0123456789abcdefABCDEF.:") >= len) {
        memcpy(out, last, len);
        out[len] = '\0';
    }
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    (void)version;
    yj_app *app = cls;
    req_ctx *ctx = *con_cls;
    if (ctx == NULL) {
        ctx = calloc(1, sizeof *ctx);
        if (ctx == NULL)
            return MHD_NO;
        yj_buf_init(&ctx->body);
        ctx->t0 = yj_mono_ns();
        ctx->limit = http_body_limit(method, url);
        *con_cls = ctx;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > ctx->limit)
            ctx->too_big = true;
        else
            return MHD_YES;
    }
    if (*upload_data_size > 0) {
        /* MHD cannot answer in the middle of an upload: past the limit we
         * keep reading and discarding, and answer 413 at the end. */
        if (!ctx->too_big && ctx->body.len + *upload_data_size <= ctx->limit)
            yj_buf_append(&ctx->body, upload_data, *upload_data_size);
        else
            ctx->too_big = true;
        *upload_data_size = 0;
        return MHD_YES;
    }

    yj_req req = {.app = app, .method = method, .path = url, .conn = conn, .route_index = -1};
    client_address(app, conn, req.client, sizeof req.client);
    req.body = ctx->body.data;
    req.body_len = ctx->body.len;
    yj_resp resp = {.status = 500, .file_fd = -1};
    if (ctx->too_big)
        http_errorf(&resp, YJ_ETOOBIG, NULL, "request body larger than %zu bytes", ctx->limit);
    else
        http_dispatch(&req, &resp);
    double secs = (double)(yj_mono_ns() - ctx->t0) / 1e9;
    /* One JSON line per request: errors and writes at info (an operational
     * trail beside the audit log), plain reads only at debug. */
    bool write = strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
    yj_log(resp.status >= 500            ? YJ_LOG_ERROR
           : resp.status >= 400 || write ? YJ_LOG_INFO
                                         : YJ_LOG_DEBUG,
           "http", "%s %s %d %.1fms user=%s from=%s", method, url, resp.status, secs * 1e3,
           req.authed ? req.session.user.username : "-", req.client);
    metrics_observe(req.route_index, resp.status, secs);
    enum MHD_Result ret = send_resp(conn, &req, &resp);
    free(resp.body);
    if (resp.file_fd >= 0)
        close(resp.file_fd);
    return ret;
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    req_ctx *ctx = *con_cls;
    if (ctx) {
        yj_buf_free(&ctx->body);
        free(ctx);
        *con_cls = NULL;
    }
}

/* Percent-decoding of the path and query values.  %00 is left as the three
 * characters "%00": a NUL must never cut a path or value short
 * ("/index.html%00.js" must not become "/index.html"). */
static size_t unescape_cb(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (r[0] == '%' && isxdigit((unsigned char)r[1]) && isxdigit((unsigned char)r[2])) {
            char hex[3] = {r[1], r[2], 0};
            unsigned v = (unsigned)strtoul(hex, NULL, 16);
            if (v != 0) {
                *w++ = (char)v;
                r += 2;
                continue;
            }
        }
        *w++ = *r;
    }
    *w = '\0';
    return (size_t)(w - s);
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    yj_log(YJ_LOG_DEBUG, "mhd", "%s", msg);
}

yj_server *http_server_start(yj_app *app, const char *listen, yj_err *err)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon == listen || (size_t)(colon - listen) >= sizeof host) {
        yj_err_set(err, YJ_EINVAL, "listen", "--listen must be HOST:PORT, e.g. 127.0.0.1:8080");
        return NULL;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    if (host[0] == '[') { /* [::1]:8080 */
        memmove(host, host + 1, strlen(host));
        host[strcspn(host, "]")] = '\0';
    }
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    int gai = getaddrinfo(host, colon + 1, &hints, &ai);
    if (gai != 0 || ai == NULL) {
        yj_err_set(err, YJ_EINVAL, "listen", "cannot resolve %s: %s", listen, gai_strerror(gai));
        return NULL;
    }
    yj_server *srv = calloc(1, sizeof *srv);
    srv->app = app;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* Connections: as many as the descriptors allow (raised to the hard
     * limit), at most per_ip from one address, and closed after
     * idle_timeout seconds without traffic — so idle or trickling
     * connections from one place cannot take the server from everyone. */
    struct rlimit rl;
    unsigned limit = 10000;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
            getrlimit(RLIMIT_NOFILE, &rl);
        }
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)limit + 256)
            limit = rl.rlim_cur > 512 ? (unsigned)(rl.rlim_cur - 256) : 256;
    }
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, access_cb, app, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)app->threads, MHD_OPTION_NOTIFY_COMPLETED,
        completed_cb, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(app->idle_timeout > 0 ? app->idle_timeout : 15), MHD_OPTION_CONNECTION_LIMIT,
        limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)(app->per_ip > 0 ? app->per_ip : 128),
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape_cb, NULL, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (srv->daemon == NULL) {
        free(srv);
        yj_err_set(err, YJ_EIO, "listen", "cannot listen on %s (port in use?)", listen);
        return NULL;
    }
    return srv;
}

void http_server_stop(yj_server *srv)
{
    if (srv == NULL)
        return;
    sse_shutdown();
    MHD_stop_daemon(srv->daemon);
    free(srv);
}
