/*
 * routes.c — the route index and the dispatcher.
 *
 * Every endpoint is one row of its module's route table: method, path
 * pattern, handler, the permission resource and action it needs, flags,
 * body limit.  The index walks the module list once.  The dispatcher
 * matches the path (most specific pattern first), authenticates (Bearer
 * token or session cookie), demands the CSRF token on cookie-authenticated
 * writes, checks the permission table — failing closed: a route whose
 * resource has no row for its action is nobody's — then runs the handler.
 * OpenAPI is generated from the same tables.
 */
#include "http.h"
#include "../base/module.h"
#include "../core/util.h"
#include "../registry/registry.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the route index --------------------------------------------------------------- */

typedef struct {
    const yj_route *rt;
    const char *module;
    char shape[24]; /* per segment: 'L' literal, 'P' {placeholder} */
} route_ent;

static route_ent *ents; /* global index order: module list order, then table order */
static size_t nents;
static size_t *by_specificity; /* indices into ents, most specific first */
static pthread_once_t routes_once = PTHREAD_ONCE_INIT;

static void shape_of(const char *pattern, char *out, size_t n)
{
    size_t k = 0;
    for (const char *p = pattern; *p && k + 1 < n; p++)
        if (*p == '/')
            out[k++] = p[1] == '{' ? 'P' : 'L';
    out[k] = '\0';
}

/* Literal before placeholder at the first differing segment; ties keep
 * the declaration order (which only matters for patterns no path can
 * match both of). */
static int cmp_specific(const void *a, const void *b)
{
    const route_ent *x = &ents[*(const size_t *)a], *y = &ents[*(const size_t *)b];
    int c = strcmp(x->shape, y->shape); /* 'L' < 'P' */
    if (c)
        return c;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    return (ia > ib) - (ia < ib);
}

static void routes_build(void)
{
    size_t nm = 0, total = 0;
    const yj_module *const *mods = yj_modules(&nm);
    for (size_t m = 0; m < nm; m++)
        total += mods[m]->nroutes;
    ents = calloc(total ? total : 1, sizeof *ents);
    by_specificity = calloc(total ? total : 1, sizeof *by_specificity);
    if (ents == NULL || by_specificity == NULL)
        abort();
    for (size_t m = 0; m < nm; m++)
        for (size_t i = 0; i < mods[m]->nroutes; i++) {
            route_ent *e = &ents[nents];
            e->rt = &mods[m]->routes[i];
            e->module = mods[m]->name;
            shape_of(e->rt->pattern, e->shape, sizeof e->shape);
            by_specificity[nents] = nents;
            nents++;
        }
    qsort(by_specificity, nents, sizeof *by_specificity, cmp_specific);
}

void http_routes_init(void)
{
    pthread_once(&routes_once, routes_build);
}

size_t http_route_count(void)
{
    http_routes_init();
    return nents;
}

const yj_route *http_route_at(size_t i, const char **module)
{
    http_routes_init();
    if (i >= nents)
        return NULL;
    if (module)
        *module = ents[i].module;
    return ents[i].rt;
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
    http_routes_init();
    *path_known = false;
    for (size_t k = 0; k < nents; k++) {
        size_t i = by_specificity[k];
        if (!pattern_match(ents[i].rt->pattern, req->path, req))
            continue;
        if (strcmp(ents[i].rt->method, req->method) != 0) {
            *path_known = true;
            continue;
        }
        req->route_index = (int)i;
        return ents[i].rt;
    }
    return NULL;
}

size_t http_body_limit(const char *method, const char *path)
{
    yj_req probe = {.method = method, .path = path};
    bool known = false;
    const yj_route *rt = http_route_match(&probe, &known);
    return rt && rt->max_body ? rt->max_body : YJ_MAX_JSON_BODY;
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
        if (rt && (rt->flags & YJ_ROUTE_TEST_HOOK) && !req->app->test_hooks)
            rt = NULL, path_known = false, req->route_index = -1;
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
        req->route_index = -2;
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
        const char *res = rt->resource;
        if (res && strcmp(res, "{reg}") == 0) {
            if (registry_find(req->params[0]) == NULL) {
                http_errorf(resp, YJ_ENOTFOUND, NULL, "no registry %s", req->params[0]);
                return;
            }
            res = req->params[0];
        }
        /* fail closed: no resource, no row, or no role in the row */
        if (res == NULL || !perm_allowed(req->session.user.role, res, rt->action)) {
            http_errorf(resp, YJ_EFORBIDDEN, NULL, "角色「%s」无权%s「%s」",
                        role_label(req->session.user.role),
                        rt->action == YJ_ACT_READ ? "查看" : "修改",
                        res ? perm_resource_label(res) : "此功能");
            return;
        }
    }
    if (rt->flags & YJ_ROUTE_IF_MATCH) {
        yj_err_clear(&err);
        if (http_if_match(req, &req->if_match, &err) != YJ_OK) {
            http_error(resp, &err);
            return;
        }
    }
    rt->handler(req, resp);
}
