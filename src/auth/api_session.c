/*
 * api_session.c — login, logout and "who am I" (with the navigation and
 * pages the user's role may see, from the module list).
 */
#include "api.h"
#include "../base/module.h"
#include "../registry/registry.h"
#include "../core/util.h"

#include <stdio.h>
#include <string.h>

static void set_session_cookie(yj_req *req, yj_resp *resp, const char *token, int max_age)
{
    char cookie[256];
    snprintf(cookie, sizeof cookie,
             "yj_session=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%d%s", token, max_age,
             req->app->secure_cookie ? "; Secure" : "");
    http_header_add(resp, "Set-Cookie", cookie);
}

void api_login(yj_req *req, yj_resp *resp)
{
    json_t *body = NULL;
    yj_err err;
    yj_err_clear(&err);
    if (http_json_parse(req->body, req->body_len, &body, &err) != YJ_OK) {
        http_error(resp, &err);
        return;
    }
    const char *username = json_string_value(json_object_get(body, "username"));
    const char *password = json_string_value(json_object_get(body, "password"));
    if (username == NULL || password == NULL) {
        json_decref(body);
        http_errorf(resp, YJ_EINVAL, username ? "password" : "username",
                    "username and password are required strings");
        return;
    }
    yj_session s;
    int retry_after = 0;
    yj_code rc =
        auth_login(req->app->store, username, password, req->client, &s, &retry_after, &err);
    if (rc == YJ_EAUTH || rc == YJ_ELOCKED)
        yj_log(YJ_LOG_INFO, "login_failed", "user=%.64s from=%s%s", username, req->client,
               rc == YJ_ELOCKED ? " (throttled)" : "");
    json_decref(body); /* username and password point into body */
    if (rc != YJ_OK) {
        http_error(resp, &err);
        if (retry_after > 0) { /* 429 throttled, 503 busy: when to come back */
            char ra[16];
            snprintf(ra, sizeof ra, "%d", retry_after);
            http_header_set(resp, "Retry-After", ra);
        }
        return;
    }
    char expires[40];
    yj_time_iso(s.expires_ms, expires, sizeof expires);
    set_session_cookie(req, resp, s.token, yj_auth_cfg.absolute_seconds);
    json_t *out = json_pack("{s:s,s:s,s:s,s:o}", "token", s.token, "csrf", s.csrf, "expires_at",
                            expires, "user", user_json(&s.user));
    http_json(resp, 200, out);
}

void api_logout(yj_req *req, yj_resp *resp)
{
    yj_err err;
    yj_err_clear(&err);
    /* the session must be gone before we say so: else the error, and the
     * browser keeps the cookie that still works */
    if (auth_logout(req->app->store, &req->session, &err) != YJ_OK)
        return http_error(resp, &err);
    set_session_cookie(req, resp, "", 0);
    http_text(resp, 204, NULL, NULL, 0);
}

void api_me(yj_req *req, yj_resp *resp)
{
    const yj_user *u = &req->session.user;
    json_t *user = user_json(u);
    json_t *region = NULL;
    if (region_get(req->app->store, u, u->region, &region, NULL) == YJ_OK) {
        json_object_set(user, "region_name", json_object_get(region, "name"));
        json_decref(region);
    }
    char expires[40];
    yj_time_iso(req->session.expires_ms, expires, sizeof expires);
    /* the fields of registries the user reads whose content the role may
     * not see (the UI leaves them out of forms and tables) */
    json_t *hidden = json_object();
    for (size_t i = 0; i < registry_count(); i++) {
        const char *const *h = registry_hidden(u, registry_at(i));
        json_t *names = json_array();
        for (size_t k = 0; h && h[k]; k++)
            json_array_append_new(names, json_string(h[k]));
        if (json_array_size(names))
            json_object_set_new(hidden, registry_at(i)->name, names);
        else
            json_decref(names);
    }
    json_t *out =
        json_pack("{s:o,s:s,s:s,s:o,s:o,s:o,s:o}", "user", user, "csrf", req->session.csrf,
                  "expires_at", expires, "permissions", perm_role_json(u->role), "hidden_fields",
                  hidden, "nav", app_nav_json(u), "pages", app_pages_json());
    http_json(resp, 200, out);
}
