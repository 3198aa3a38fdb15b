/*
 * api.h — the registry module's HTTP handlers (private to src/registry).
 */
#ifndef YJ_REGISTRY_API_H
#define YJ_REGISTRY_API_H

#include "../http/http.h"

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

#endif
