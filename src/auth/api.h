/*
 * api.h — the platform module's HTTP handlers (private to src/auth; the
 * route table is in platform.c).
 */
#ifndef YJ_AUTH_API_H
#define YJ_AUTH_API_H

#include "../http/http.h"

void api_healthz(yj_req *, yj_resp *);
void api_readyz(yj_req *, yj_resp *);
void api_login(yj_req *, yj_resp *);
void api_logout(yj_req *, yj_resp *);
void api_me(yj_req *, yj_resp *);
void api_regions(yj_req *, yj_resp *);
void api_region_get(yj_req *, yj_resp *);
void api_boundaries(yj_req *, yj_resp *);
void api_users_list(yj_req *, yj_resp *);
void api_users_create(yj_req *, yj_resp *);
void api_audit_list(yj_req *, yj_resp *);
void api_audit_verify(yj_req *, yj_resp *);
void api_openapi(yj_req *, yj_resp *);
void api_metrics(yj_req *, yj_resp *);
void api_test_tick(yj_req *, yj_resp *);

#endif
