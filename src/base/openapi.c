/*
 * openapi.c — the OpenAPI 3 document of the platform, generated from the
 * module list: every module's routes (tagged with the module, with the
 * permission each needs) and every registry's field table.
 */
#include "openapi.h"
#include "module.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
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

bool openapi_body(const char *spec, int *status, char *media, size_t nmedia, json_t **schema)
{
    *status = 0;
    *schema = NULL;
    snprintf(media, nmedia, "application/json");
    if (spec == NULL)
        return false;
    const char *p = spec;
    while (*p == ' ')
        p++;
    if (isdigit((unsigned char)*p)) {
        char *end;
        long st = strtol(p, &end, 10);
        if (st < 100 || st > 599 || (*end != ' ' && *end != '\0'))
            return false;
        *status = (int)st;
        p = end;
        while (*p == ' ')
            p++;
    }
    if (*p == '\0') { /* no body at all (204, or YJ_NO_BODY) */
        media[0] = '\0';
        return true;
    }
    if (*p != '{') { /* a media type first */
        size_t n = strcspn(p, " ");
        if (n == 0 || n >= nmedia || memchr(p, '/', n) == NULL)
            return false;
        snprintf(media, nmedia, "%.*s", (int)n, p);
        p += n;
        while (*p == ' ')
            p++;
    }
    json_error_t je;
    *schema = json_loads(p, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(*schema)) {
        json_decref(*schema);
        *schema = NULL;
        return false;
    }
    return true;
}

/* The content object of a body: {media: {schema}}. */
static json_t *content_of(const char *media, json_t *schema)
{
    return json_pack("{s:{s:o}}", media, "schema", schema);
}

/* Schemas the route tables share, besides every registry's, Record and Error
 * (#/components/schemas/<name>): the module test resolves every reference. */
static const struct {
    const char *name, *schema;
} shared_schemas[] = {
    {"User", "{\"type\":\"object\",\"description\":\"A platform user (never the password)\","
             "\"required\":[\"id\",\"username\",\"name\",\"role\",\"role_label\",\"region_code\","
             "\"enterprise_id\"],\"properties\":{\"id\":{\"type\":\"integer\"},"
             "\"username\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},"
             "\"role\":{\"type\":\"string\",\"enum\":[\"admin\",\"duty\",\"commander\","
             "\"supervisor\",\"inspector\",\"warehouse\",\"enterprise\",\"informant\",\"expert\","
             "\"public\"]},\"role_label\":{\"type\":\"string\","
             "\"description\":\"the role's Chinese name\"},\"region_code\":{\"type\":\"string\","
             "\"description\":\"the region the user works in\"},"
             "\"enterprise_id\":{\"type\":\"integer\",\"description\":\"an enterprise user's "
             "enterprise (null for other roles)\",\"nullable\":true}}}"},
    {"AuditEntry", "{\"type\":\"object\",\"description\":\"An entry of the append-only audit "
                   "log\",\"required\":[\"id\",\"ts\",\"actor\",\"action\",\"entity\","
                   "\"record_id\",\"region_code\",\"before\",\"after\"],"
                   "\"properties\":{\"id\":{\"type\":\"integer\","
                   "\"description\":\"position in the hash chain\"},\"ts\":{\"type\":\"string\","
                   "\"description\":\"when (ISO 8601)\"},\"actor\":{\"type\":\"string\","
                   "\"description\":\"user name, or timer:<name>, gateway, link ...\"},"
                   "\"action\":{\"type\":\"string\",\"description\":\"create, update, delete,"
                   " import, ack ...\"},\"entity\":{\"type\":\"string\","
                   "\"description\":\"registry or table name\"},"
                   "\"record_id\":{\"type\":\"integer\",\"description\":\"the record's id (0 "
                   "when none)\"},\"region_code\":{\"type\":\"string\",\"nullable\":true},"
                   "\"before\":{\"type\":\"object\",\"description\":\"the record as it was "
                   "(before) or became (after); null when none; {redacted: true,"
                   " reason} when the record lay outside the reader's region then\","
                   "\"nullable\":true},\"after\":{\"type\":\"object\","
                   "\"description\":\"the record as it was (before) or became (after); null when "
                   "none; {redacted: true, reason} when the record lay outside the reader's "
                   "region then\",\"nullable\":true}}}"},
    {"Alarm", "{\"type\":\"object\",\"description\":\"A monitoring alarm; times in ms since the "
              "epoch\",\"required\":[\"id\",\"sensor_id\",\"rule_key\",\"rule_kind\","
              "\"object_id\",\"enterprise_id\",\"region_code\",\"title\",\"level\",\"cur_sev\","
              "\"state\",\"cond\",\"count\",\"first_value\",\"last_value\",\"peak\",\"unit\","
              "\"raised_at\",\"last_at\",\"cleared_at\",\"late\",\"escalation\","
              "\"escalated_region\",\"ack_at\",\"ack_by\",\"verified_at\",\"verified_by\","
              "\"disposing_at\",\"disposing_by\",\"closed_at\",\"closed_by\",\"verdict\","
              "\"cause\",\"measures\",\"reason\",\"workorder_id\",\"version\"],"
              "\"properties\":{\"id\":{\"type\":\"integer\"},"
              "\"sensor_id\":{\"type\":\"integer\"},\"rule_key\":{\"type\":\"string\","
              "\"description\":\"which rule raised it\"},\"rule_kind\":{\"type\":\"string\","
              "\"enum\":[\"threshold\",\"rate\",\"sum\",\"multi\",\"gap\"]},"
              "\"object_id\":{\"type\":\"integer\",\"nullable\":true},"
              "\"enterprise_id\":{\"type\":\"integer\",\"nullable\":true},"
              "\"region_code\":{\"type\":\"string\"},\"title\":{\"type\":\"string\"},"
              "\"level\":{\"type\":\"integer\",\"description\":\"1 red, 2 orange, 3 yellow,"
              " 4 blue (the highest reached)\",\"minimum\":1,\"maximum\":4},"
              "\"cur_sev\":{\"type\":\"integer\",\"description\":\"the level the readings show "
              "now (0 once cleared)\"},\"state\":{\"type\":\"string\",\"enum\":[\"raised\","
              "\"acknowledged\",\"verified\",\"disposing\",\"closed\"]},"
              "\"cond\":{\"type\":\"string\",\"enum\":[\"active\",\"cleared\"],"
              "\"description\":\"whether the condition still holds\"},"
              "\"count\":{\"type\":\"integer\",\"description\":\"times the condition arose (1,"
              " plus each return after it cleared)\"},\"first_value\":{\"type\":\"number\","
              "\"nullable\":true},\"last_value\":{\"type\":\"number\",\"nullable\":true},"
              "\"peak\":{\"type\":\"number\",\"nullable\":true},\"unit\":{\"type\":\"string\","
              "\"nullable\":true},\"raised_at\":{\"type\":\"integer\","
              "\"description\":\"ms since the epoch\"},\"last_at\":{\"type\":\"integer\","
              "\"description\":\"ms since the epoch\"},\"cleared_at\":{\"type\":\"integer\","
              "\"description\":\"ms since the epoch\",\"nullable\":true},"
              "\"late\":{\"type\":\"boolean\",\"description\":\"raised from readings that "
              "arrived late\"},\"escalation\":{\"type\":\"integer\","
              "\"description\":\"how many times it was escalated unacknowledged\"},"
              "\"escalated_region\":{\"type\":\"string\",\"nullable\":true},"
              "\"ack_at\":{\"type\":\"integer\",\"nullable\":true},"
              "\"ack_by\":{\"type\":\"string\",\"nullable\":true},"
              "\"verified_at\":{\"type\":\"integer\",\"nullable\":true},"
              "\"verified_by\":{\"type\":\"string\",\"nullable\":true},"
              "\"disposing_at\":{\"type\":\"integer\",\"nullable\":true},"
              "\"disposing_by\":{\"type\":\"string\",\"nullable\":true},"
              "\"closed_at\":{\"type\":\"integer\",\"nullable\":true},"
              "\"closed_by\":{\"type\":\"string\",\"nullable\":true},"
              "\"verdict\":{\"type\":\"string\",\"enum\":[\"real\",\"false\",\"fault\",null],"
              "\"nullable\":true},\"cause\":{\"type\":\"string\",\"nullable\":true},"
              "\"measures\":{\"type\":\"string\",\"nullable\":true},"
              "\"reason\":{\"type\":\"string\",\"nullable\":true},"
              "\"workorder_id\":{\"type\":\"integer\",\"description\":\"the work order a fault "
              "verdict opened\",\"nullable\":true},\"version\":{\"type\":\"integer\","
              "\"description\":\"the ETag\"},\"actions\":{\"type\":\"array\","
              "\"items\":{\"type\":\"string\"},\"description\":\"the steps the caller may take "
              "now (one record only, not in lists)\"},\"timeline\":{\"type\":\"array\","
              "\"items\":{\"type\":\"object\",\"required\":[\"ts\",\"actor\",\"action\",\"note\","
              "\"value\",\"level\"],\"properties\":{\"ts\":{\"type\":\"integer\","
              "\"description\":\"ms since the epoch\"},\"actor\":{\"type\":\"string\"},"
              "\"action\":{\"type\":\"string\"},\"note\":{\"type\":\"string\",\"nullable\":true},"
              "\"value\":{\"type\":\"number\",\"nullable\":true},\"level\":{\"type\":\"integer\","
              "\"nullable\":true}}},\"description\":\"one alarm only: what happened, in order\"},"
              "\"sensor\":{\"type\":\"object\",\"description\":\"one alarm only: the sensor and "
              "its monitored object\",\"required\":[\"code\",\"name\",\"type\",\"unit\","
              "\"location\",\"object_name\",\"object_kind\"],"
              "\"properties\":{\"code\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},"
              "\"type\":{\"type\":\"string\"},\"unit\":{\"type\":\"string\"},"
              "\"location\":{\"type\":\"string\"},\"object_name\":{\"type\":\"string\"},"
              "\"object_kind\":{\"type\":\"string\"}}}}}"},
    {"WorkOrder", "{\"type\":\"object\",\"description\":\"A maintenance work order for a faulty "
                  "sensor\",\"required\":[\"id\",\"alarm_id\",\"sensor_id\",\"sensor_code\","
                  "\"sensor_name\",\"region_code\",\"enterprise_id\",\"state\",\"fault\","
                  "\"created_at\",\"created_by\",\"repaired_at\",\"repaired_by\",\"repair_note\","
                  "\"restored_at\",\"restored_by\",\"version\"],"
                  "\"properties\":{\"id\":{\"type\":\"integer\"},"
                  "\"alarm_id\":{\"type\":\"integer\",\"description\":\"the alarm closed as a "
                  "sensor fault\"},\"sensor_id\":{\"type\":\"integer\"},"
                  "\"sensor_code\":{\"type\":\"string\"},\"sensor_name\":{\"type\":\"string\"},"
                  "\"region_code\":{\"type\":\"string\"},\"enterprise_id\":{\"type\":\"integer\","
                  "\"nullable\":true},\"state\":{\"type\":\"string\",\"enum\":[\"dispatched\","
                  "\"repaired\",\"restored\"]},\"fault\":{\"type\":\"string\",\"nullable\":true},"
                  "\"created_at\":{\"type\":\"integer\",\"description\":\"ms since the epoch\"},"
                  "\"created_by\":{\"type\":\"string\",\"nullable\":true},"
                  "\"repaired_at\":{\"type\":\"integer\",\"nullable\":true},"
                  "\"repaired_by\":{\"type\":\"string\",\"nullable\":true},"
                  "\"repair_note\":{\"type\":\"string\",\"nullable\":true},"
                  "\"restored_at\":{\"type\":\"integer\",\"nullable\":true},"
                  "\"restored_by\":{\"type\":\"string\",\"nullable\":true},"
                  "\"version\":{\"type\":\"integer\",\"description\":\"the ETag\"},"
                  "\"actions\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
                  "\"description\":\"the steps the caller may take now (one record only,"
                  " not in lists)\"}}}"},
    {"WarningArea", "{\"type\":\"object\",\"description\":\"Where a warning applies; at least "
                    "one region, polygon or circle\",\"properties\":{\"regions\":{\"type\":\"arra"
                    "y\",\"items\":{\"type\":\"string\"},\"description\":\"region codes (GB/T "
                    "2260)\"},\"polygons\":{\"type\":\"array\",\"items\":{\"type\":\"array\","
                    "\"items\":{\"type\":\"array\",\"items\":{\"type\":\"number\"},"
                    "\"minItems\":2,\"maxItems\":2},\"minItems\":3},"
                    "\"description\":\"rings of [lat, lon] points (closed when not)\"},"
                    "\"circles\":{\"type\":\"array\",\"items\":{\"type\":\"array\","
                    "\"items\":{\"type\":\"number\"},\"minItems\":3,\"maxItems\":3},"
                    "\"description\":\"[lat, lon, radius in km (0-500]]\"}}}"},
    {"Warning", "{\"type\":\"object\",\"description\":\"A warning; times in ms since the epoch\","
                "\"required\":[\"id\",\"identifier\",\"sender\",\"sender_name\",\"sent\","
                "\"source\",\"origin\",\"msg_type\",\"state\",\"event_type\",\"category\","
                "\"level\",\"level_name\",\"level_label\",\"urgency\",\"certainty\",\"headline\","
                "\"description\",\"instruction\",\"area_desc\",\"area\",\"region_code\","
                "\"effective\",\"expires\",\"references_id\",\"superseded_by\",\"alarm_id\","
                "\"created_at\",\"created_by\",\"submitted_at\",\"submitted_by\",\"approved_at\","
                "\"approved_by\",\"published_at\",\"published_by\",\"ended_at\",\"ended_by\","
                "\"end_reason\",\"version\",\"has_cap\"],\"properties\":{\"id\":{\"type\":\"integ"
                "er\"},\"identifier\":{\"type\":\"string\","
                "\"description\":\"the CAP identifier once published or received\","
                "\"nullable\":true},\"sender\":{\"type\":\"string\",\"nullable\":true},"
                "\"sender_name\":{\"type\":\"string\",\"nullable\":true},"
                "\"sent\":{\"type\":\"string\",\"description\":\"the CAP sent time\","
                "\"nullable\":true},\"source\":{\"type\":\"string\",\"enum\":[\"local\","
                "\"import\"],\"description\":\"composed here, or received from another agency\"},"
                "\"origin\":{\"type\":\"string\",\"description\":\"where a received one came "
                "from\",\"nullable\":true},\"msg_type\":{\"type\":\"string\","
                "\"description\":\"CAP msgType: Alert, Update, Cancel\"},"
                "\"state\":{\"type\":\"string\",\"enum\":[\"draft\",\"submitted\",\"approved\","
                "\"published\",\"updated\",\"cancelled\",\"expired\",\"received\"]},"
                "\"event_type\":{\"type\":\"string\"},\"category\":{\"type\":\"string\","
                "\"description\":\"CAP category\"},\"level\":{\"type\":\"integer\","
                "\"description\":\"1 red, 2 orange, 3 yellow, 4 blue\",\"minimum\":1,"
                "\"maximum\":4},\"level_name\":{\"type\":\"string\",\"description\":\"red,"
                " orange, yellow, blue\"},\"level_label\":{\"type\":\"string\"},"
                "\"urgency\":{\"type\":\"string\"},\"certainty\":{\"type\":\"string\"},"
                "\"headline\":{\"type\":\"string\"},\"description\":{\"type\":\"string\"},"
                "\"instruction\":{\"type\":\"string\",\"nullable\":true},"
                "\"area_desc\":{\"type\":\"string\"},\"area\":{\"$ref\":\"#/components/schemas/Wa"
                "rningArea\"},\"region_code\":{\"type\":\"string\","
                "\"description\":\"the issuer's region\"},\"effective\":{\"type\":\"integer\","
                "\"description\":\"ms since the epoch\",\"nullable\":true},"
                "\"expires\":{\"type\":\"integer\",\"description\":\"ms since the epoch\"},"
                "\"references_id\":{\"type\":\"integer\",\"description\":\"the warning it "
                "updates or cancels\",\"nullable\":true},\"superseded_by\":{\"type\":\"integer\","
                "\"nullable\":true},\"alarm_id\":{\"type\":\"integer\","
                "\"description\":\"the alarm it was drafted from\",\"nullable\":true},"
                "\"created_at\":{\"type\":\"integer\",\"description\":\"ms since the epoch\"},"
                "\"created_by\":{\"type\":\"string\"},\"submitted_at\":{\"type\":\"integer\","
                "\"nullable\":true},\"submitted_by\":{\"type\":\"string\",\"nullable\":true},"
                "\"approved_at\":{\"type\":\"integer\",\"nullable\":true},"
                "\"approved_by\":{\"type\":\"string\",\"nullable\":true},"
                "\"published_at\":{\"type\":\"integer\",\"nullable\":true},"
                "\"published_by\":{\"type\":\"string\",\"nullable\":true},"
                "\"ended_at\":{\"type\":\"integer\",\"nullable\":true},"
                "\"ended_by\":{\"type\":\"string\",\"nullable\":true},"
                "\"end_reason\":{\"type\":\"string\",\"nullable\":true},"
                "\"version\":{\"type\":\"integer\",\"description\":\"the ETag\"},"
                "\"has_cap\":{\"type\":\"boolean\",\"description\":\"a CAP message exists (GET "
                ".../cap)\"},\"actions\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
                "\"description\":\"the steps the caller may take now (one record only,"
                " not in lists)\"},\"timeline\":{\"type\":\"array\","
                "\"items\":{\"type\":\"object\",\"required\":[\"ts\",\"actor\",\"action\","
                "\"note\"],\"properties\":{\"ts\":{\"type\":\"integer\","
                "\"description\":\"ms since the epoch\"},\"actor\":{\"type\":\"string\"},"
                "\"action\":{\"type\":\"string\"},\"note\":{\"type\":\"string\","
                "\"nullable\":true}}},\"description\":\"one warning only: every step,"
                " in order\"}}}"},
};

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
        /* what the platform keeps on every record (read-only) */
        static const char *const kept[][2] = {{"id", "integer"},        {"version", "integer"},
                                              {"created_at", "string"}, {"updated_at", "string"},
                                              {"updated_by", "string"}, {"region_name", "string"}};
        for (size_t k = 0; k < sizeof kept / sizeof kept[0]; k++)
            json_object_set_new(props, kept[k][0],
                                json_pack("{s:s,s:b}", "type", kept[k][1], "readOnly", 1));
        json_object_set_new(schemas, r->name,
                            json_pack("{s:s,s:s,s:o,s:o,s:b}", "type", "object", "title", r->label,
                                      "properties", props, "required", required,
                                      "additionalProperties", 0));
    }
    /* a record of the registry a {reg} route names */
    json_t *any = json_array();
    for (size_t i = 0; i < registry_count(); i++) {
        char ref[96];
        snprintf(ref, sizeof ref, "#/components/schemas/%s", registry_at(i)->name);
        json_array_append_new(any, json_pack("{s:s}", "$ref", ref));
    }
    json_object_set_new(schemas, "Record", json_pack("{s:o}", "oneOf", any));
    json_object_set_new(schemas, "Error",
                        json_pack("{s:s,s:{s:{s:s,s:{s:{s:s},s:{s:s},s:{s:s}}}}}", "type", "object",
                                  "properties", "error", "type", "object", "properties", "code",
                                  "type", "string", "message", "type", "string", "field", "type",
                                  "string"));
    for (size_t i = 0; i < sizeof shared_schemas / sizeof shared_schemas[0]; i++) {
        json_t *s = json_loads(shared_schemas[i].schema, JSON_REJECT_DUPLICATES, NULL);
        if (s != NULL) /* else every route that refers to it fails the module test */
            json_object_set_new(schemas, shared_schemas[i].name, s);
    }
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
        if (rt->flags & YJ_ROUTE_IF_MATCH)
            json_array_append_new(params,
                                  json_pack("{s:s,s:s,s:b,s:s,s:{s:s}}", "name", "If-Match", "in",
                                            "header", "required", 1, "description",
                                            "the ETag (version) of the record as the caller saw it",
                                            "schema", "type", "string"));
        json_t *responses =
            json_pack("{s:{s:s,s:{s:{s:{s:s}}}}}", "default", "description", "Error", "content",
                      "application/json", "schema", "$ref", "#/components/schemas/Error");
        int status = 0;
        char media[64];
        json_t *schema = NULL;
        json_t *ok = json_pack("{s:s}", "description", "OK");
        if (openapi_body(rt->out, &status, media, sizeof media, &schema) && schema)
            json_object_set_new(ok, "content", content_of(media, schema));
        char code[8];
        snprintf(code, sizeof code, "%d", status ? status : 200);
        json_object_set_new(responses, code, ok);
        if (rt->flags & YJ_ROUTE_IF_MATCH) {
            json_object_set_new(responses, "412",
                                json_pack("{s:s}", "description", "the record has changed since"));
            json_object_set_new(responses, "428",
                                json_pack("{s:s}", "description", "If-Match is required"));
        }
        json_t *op = json_pack("{s:s,s:o,s:o}", "summary", rt->summary, "parameters", params,
                               "responses", responses);
        if (openapi_body(rt->in, &status, media, sizeof media, &schema) && schema)
            json_object_set_new(
                op, "requestBody",
                json_pack("{s:b,s:o}", "required", 1, "content", content_of(media, schema)));
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
