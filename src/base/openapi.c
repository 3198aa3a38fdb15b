/*
 * openapi.c — the OpenAPI 3 document of the platform, generated from the
 * module list: every module's routes (tagged with the module, with the
 * permission each needs) and every registry's field table.
 */
#include "openapi.h"
#include "module.h"

#include <stdio.h>
#include <string.h>

static json_t *field_schema(const yj_field *f)
{
    static const char *const json_types[] = {
        [YJ_F_TEXT] = "string",   [YJ_F_LONGTEXT] = "string", [YJ_F_INT] = "integer",
        [YJ_F_REAL] = "number",   [YJ_F_BOOL] = "boolean",    [YJ_F_ENUM] = "string",
        [YJ_F_TAGS] = "string",   [YJ_F_PHONE] = "string",    [YJ_F_DATE] = "string",
        [YJ_F_CREDIT] = "string", [YJ_F_REF] = "integer",
    };
    json_t *s = json_pack("{s:s,s:s}", "type", json_types[f->type], "title", f->label);
    if (f->options && f->type == YJ_F_ENUM) {
        json_t *e = json_array();
        for (size_t k = 0; f->options[k]; k++)
            json_array_append_new(e, json_string(f->options[k]));
        json_object_set_new(s, "enum", e);
    }
    if (f->has_range) {
        json_object_set_new(s, "minimum", json_real(f->min));
        json_object_set_new(s, "maximum", json_real(f->max));
    }
    if (f->type == YJ_F_DATE)
        json_object_set_new(s, "format", json_string("date"));
    return s;
}

json_t *openapi_doc(void)
{
    json_t *schemas = json_object();
    registry_init();
    for (size_t i = 0; i < registry_count(); i++) {
        const yj_registry *r = registry_at(i);
        json_t *props = json_object(), *required = json_array();
        for (size_t f = 0; f < r->nfields; f++) {
            json_object_set_new(props, r->fields[f].name, field_schema(&r->fields[f]));
            if (r->fields[f].required && !r->fields[f].def)
                json_array_append_new(required, json_string(r->fields[f].name));
        }
        json_object_set_new(props, "region_code",
                            json_pack("{s:s,s:s}", "type", "string", "pattern", "^[0-9]{2,12}$"));
        json_object_set_new(props, "lat", json_pack("{s:s}", "type", "number"));
        json_object_set_new(props, "lon", json_pack("{s:s}", "type", "number"));
        json_array_append_new(required, json_string("region_code"));
        json_object_set_new(schemas, r->name,
                            json_pack("{s:s,s:s,s:o,s:o,s:b}", "type", "object", "title", r->label,
                                      "properties", props, "required", required,
                                      "additionalProperties", 0));
    }
    json_object_set_new(schemas, "Error",
                        json_pack("{s:s,s:{s:{s:s,s:{s:{s:s},s:{s:s},s:{s:s}}}}}", "type", "object",
                                  "properties", "error", "type", "object", "properties", "code",
                                  "type", "string", "message", "type", "string", "field", "type",
                                  "string"));
    json_t *paths = json_object();
    size_t n = http_route_count();
    for (size_t i = 0; i < n; i++) {
        const char *module = NULL;
        const yj_route *rt = http_route_at(i, &module);
        json_t *item = json_object_get(paths, rt->pattern);
        if (item == NULL) {
            item = json_object();
            json_object_set_new(paths, rt->pattern, item);
        }
        json_t *params = json_array();
        for (const char *p = strchr(rt->pattern, '{'); p; p = strchr(p + 1, '{')) {
            char name[32];
            size_t len = strcspn(p + 1, "}");
            snprintf(name, sizeof name, "%.*s", (int)len, p + 1);
            json_array_append_new(params,
                                  json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", name, "in", "path",
                                            "required", 1, "schema", "type", "string"));
        }
        char method[8];
        size_t m;
        for (m = 0; m < sizeof method - 1 && rt->method[m]; m++)
            method[m] = (char)(rt->method[m] | 0x20);
        method[m] = '\0';
        json_t *op = json_pack("{s:s,s:o,s:{s:{s:s},s:{s:s,s:{s:{s:{s:s}}}}}}", "summary",
                               rt->summary, "parameters", params, "responses", "200", "description",
                               "OK", "default", "description", "Error", "content",
                               "application/json", "schema", "$ref", "#/components/schemas/Error");
        json_object_set_new(op, "tags", json_pack("[s]", module));
        if (rt->flags & YJ_ROUTE_PUBLIC)
            json_object_set_new(op, "security", json_array());
        if (rt->flags & YJ_ROUTE_TEST_HOOK)
            json_object_set_new(op, "x-test-hook", json_true());
        if (rt->resource) {
            /* who may: the table's decision, so a reader (and the
             * permission sweep) sees what the router will do */
            bool decided = true;
            json_t *roles = json_array();
            if (strcmp(rt->resource, "{reg}") == 0) {
                for (size_t k = 0; k < registry_count(); k++)
                    decided = decided && perm_decided(registry_at(k)->name, rt->action);
            } else {
                decided = perm_decided(rt->resource, rt->action);
                for (int r = 0; r < YJ_ROLE_COUNT; r++)
                    if (perm_allowed((yj_role)r, rt->resource, rt->action))
                        json_array_append_new(roles, json_string(role_name((yj_role)r)));
            }
            json_object_set_new(op, "x-permission",
                                json_pack("{s:s,s:s,s:b,s:o}", "resource", rt->resource, "action",
                                          rt->action == YJ_ACT_READ ? "read" : "write", "decided",
                                          decided, "roles", roles));
        }
        json_object_set_new(item, method, op);
    }
    return json_pack(
        "{s:s,s:{s:s,s:s,s:s},s:o,s:{s:o,s:{s:{s:s,s:s},s:{s:s,s:s,s:s}}},s:[{s:[]},{s:[]}]}",
        "openapi", "3.0.3", "info", "title", "yingji 应急管理综合应用平台 API", "version", "1",
        "description", "See docs/api.md", "paths", paths, "components", "schemas", schemas,
        "securitySchemes", "bearer", "type", "http", "scheme", "bearer", "cookie", "type", "apiKey",
        "in", "cookie", "name", "yj_session", "security", "bearer", "cookie");
}
