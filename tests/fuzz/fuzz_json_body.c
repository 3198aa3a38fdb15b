/*
 * fuzz_json_body.c — libFuzzer target for the JSON request-body path.
 *
 * Every POST/PUT/PATCH body of the API goes through http_json_parse() (which
 * must reject non-objects, duplicate keys, NUL bytes and deep nesting with a
 * clear error) and then registry_validate() for the registry in the URL.  The
 * input is handed to the parser as it would arrive from the network, then the
 * parsed object is validated against every registry three ways: as a create,
 * as an update of the record that create produced, and as an update (PATCH,
 * possibly partial) of a fixed valid record of that registry.  ASan/UBSan and
 * the leak checker catch memory errors and anything left unfreed.
 */
#include "core/err.h"
#include "http/http.h" /* http_json_parse */
#include "registry/registry.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One valid stored record per registry, the "current" of update checks. */
static const char *const current_src[][2] = {
    {"rescue_team",
     "{\"name\":\"沁水县矿山救护队\",\"category\":\"专业\",\"specialties\":"
     "\"矿山救援、危化品救援\",\"headcount\":45,\"leader\":\"李明\","
     "\"contact_phone\":\"13834560123\",\"status\":\"待命\",\"region_code\":\"140521\"}"},
    {"expert", "{\"name\":\"刘振华\",\"field\":\"矿山安全\",\"title\":\"正高级\",\"employer\":"
               "\"晋城煤业集团\",\"phone\":\"13803561111\",\"local_expert\":true,"
               "\"status\":\"在库\",\"region_code\":\"1405\"}"},
    {"warehouse", "{\"name\":\"晋城市应急物资储备库\",\"tier\":\"市级\",\"capacity\":12000.5,"
                  "\"keeper\":\"周平\",\"keeper_phone\":\"13603563333\",\"address\":"
                  "\"泽州县金村镇\",\"status\":\"在用\",\"region_code\":\"140525\"}"},
    {"shelter", "{\"name\":\"凤台公园避难场所\",\"class\":\"Ⅱ类\",\"capacity\":5000,\"area\":12000,"
                "\"facilities\":\"应急供水、应急供电\",\"manager\":\"王建国\",\"phone\":"
                "\"13903560001\",\"address\":\"城区凤台东街\",\"status\":\"可用\","
                "\"region_code\":\"140502\",\"lat\":35.497,\"lon\":112.851}"},
    {"equipment", "{\"name\":\"大功率水泵\",\"code\":\"ZZ-PUMP-001\",\"type\":\"大功率水泵\","
                  "\"owner\":\"泽州县应急管理局\",\"quantity\":2,\"contact_phone\":"
                  "\"13503564444\",\"status\":\"完好\",\"region_code\":\"140525\"}"},
    {"enterprise",
     "{\"name\":\"山西兰花科技创业股份有限公司\",\"credit_code\":\"91140500739388883G\","
     "\"industry\":\"煤矿\",\"scale\":\"大型\",\"address\":\"晋城市城区\","
     "\"legal_rep\":\"张三\",\"safety_director\":\"李四\",\"safety_phone\":"
     "\"13903565555\",\"major_hazard\":true,\"status\":\"正常生产\","
     "\"region_code\":\"140502\"}"},
    {"hazard_source", "{\"name\":\"液氨储罐区\",\"code\":\"BA140502001\",\"enterprise_id\":1,"
                      "\"level\":\"二级\",\"category\":\"危险化学品储罐区\",\"responsible\":"
                      "\"刘强\",\"phone\":\"13903561234\",\"status\":\"在役\","
                      "\"region_code\":\"140502\"}"},
    {"informant", "{\"name\":\"郭秀英\",\"phone\":\"13603560011\",\"level\":\"村级\",\"kind\":"
                  "\"网格员\",\"status\":\"在岗\",\"region_code\":\"140521100\"}"},
    {"duty_contact", "{\"name\":\"值班员甲\",\"org\":\"晋城市应急管理局\",\"duty_role\":\"值班员\","
                     "\"phone\":\"13503560101\",\"region_code\":\"1405\"}"},
};
#define NCURRENT (sizeof current_src / sizeof current_src[0])
static json_t *current[NCURRENT]; /* indexed like registry_at(); NULL if absent */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    registry_init();
    for (size_t i = 0; i < registry_count() && i < NCURRENT; i++) {
        const yj_registry *r = registry_at(i);
        for (size_t k = 0; k < NCURRENT; k++) {
            if (strcmp(current_src[k][0], r->name) != 0)
                continue;
            json_t *in = json_loads(current_src[k][1], 0, NULL);
            yj_err err = {0};
            /* The stored form is what validation of a create returns. */
            if (!in || registry_validate(r, in, NULL, &current[i], &err) != YJ_OK) {
                fprintf(stderr, "fuzz_json_body: fixture for %s is invalid: %s (%s)\n", r->name,
                        err.message, err.field);
                abort();
            }
            json_decref(in);
        }
    }
    return 0;
}

/* An error must always say something: a code other than OK and a message. */
static void check_error(yj_code rc, const yj_err *err)
{
    if (rc != YJ_OK && (err->code != rc || err->message[0] == '\0'))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy without a terminating NUL, so reading past len is caught. */
    char *body = malloc(size ? size : 1);
    if (!body)
        return 0;
    memcpy(body, data, size);

    json_t *obj = NULL;
    yj_err err = {0};
    yj_code rc = http_json_parse(body, size, &obj, &err);
    check_error(rc, &err);
    if (rc != YJ_OK) {
        if (obj != NULL) /* nothing may be returned on failure */
            abort();
        free(body);
        return 0;
    }
    if (!json_is_object(obj))
        abort();

    for (size_t i = 0; i < registry_count(); i++) {
        const yj_registry *r = registry_at(i);
        json_t *created = NULL;
        yj_err verr = {0};
        rc = registry_validate(r, obj, NULL, &created, &verr);
        check_error(rc, &verr);
        if (rc != YJ_OK)
            continue;
        if (!json_is_object(created))
            abort();
        /* The same body as an update of the record it would have created. */
        json_t *updated = NULL;
        yj_err uerr = {0};
        rc = registry_validate(r, obj, created, &updated, &uerr);
        check_error(rc, &uerr);
        json_decref(updated);
        json_decref(created);
    }
    for (size_t i = 0; i < registry_count() && i < NCURRENT; i++) {
        if (!current[i])
            continue;
        json_t *patched = NULL;
        yj_err perr = {0};
        rc = registry_validate(registry_at(i), obj, current[i], &patched, &perr);
        check_error(rc, &perr);
        if (rc == YJ_OK && !json_is_object(patched))
            abort();
        json_decref(patched);
    }
    json_decref(obj);
    free(body);
    return 0;
}
