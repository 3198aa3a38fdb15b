/*
 * module.c — the warning publication and call-up module (预警发布与叫应,
 * SPEC M3): its registries (who a warning reaches), routes, permissions,
 * schema, serve options (gateways, channels, call-up timing, the CAP
 * profile), runtime (channels, the dispatcher thread, the CAP drop
 * directory), live hints, commands and pages.
 */
#include "api.h"
#include "cap.h"
#include "channels.h"
#include "deliver.h"
#include "warning.h"
#include "../base/module.h"
#include "../core/util.h"
#include "../demo/demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPTS  YJ_OPTS
#define RANGE YJ_RANGE
#define R     YJ_ACT_READ
#define W     YJ_ACT_WRITE
#define PUB   YJ_ROUTE_PUBLIC

/* ---- registries ------------------------------------------------------------------------ */

/* ---- M3: who a warning reaches ------------------------------------------------------
 * Households and residents (户/居民) with their address points, the
 * vulnerable (老幼病残孕) and each one's one-to-one contact (包保联系人,
 * 004:L188); village broadcast terminals (应急广播/大喇叭, 002:L159); the
 * people responsible for answering a warning (叫应责任人) per village,
 * township, county, city and enterprise (000:L107).  A record's region is
 * its village (12-digit code) where one is known. */
static const yj_field household_fields[] = {
    {"code", "户号", YJ_F_TEXT, true, .maxlen = 40},
    {"name", "户主", YJ_F_TEXT, true}, /* a household is known by its head's name */
    {"phone", "联系电话", YJ_F_PHONE, false},
    {"address", "住址", YJ_F_TEXT, true},
    {"members", "人口数", YJ_F_INT, false, .unit = "人", RANGE(0, 100)},
};

static const yj_field resident_fields[] = {
    {"code", "居民编号", YJ_F_TEXT, true, .maxlen = 40},
    {"name", "姓名", YJ_F_TEXT, true},
    {"phone", "手机号码", YJ_F_PHONE, false},
    {"household_id", "所属户", YJ_F_REF, false, .ref = "household"},
    {"vulnerable", "特殊人群", YJ_F_TAGS, false, OPTS("老", "幼", "病", "残", "孕")},
    {"contact_name", "包保联系人", YJ_F_TEXT, false},
    {"contact_phone", "包保联系人电话", YJ_F_PHONE, false},
    {"status", "状态", YJ_F_ENUM, true, OPTS("在册", "外出", "迁出"), .def = "在册"},
};

static const yj_field broadcast_terminal_fields[] = {
    {"code", "终端编号", YJ_F_TEXT, true, .maxlen = 40},
    {"name", "终端名称", YJ_F_TEXT, true},
    {"kind", "终端类型", YJ_F_ENUM, true,
     OPTS("村级大喇叭", "室外音柱", "室内终端", "智能音箱", "其他")},
    {"mqtt_topic", "MQTT 地址", YJ_F_TEXT, false, .maxlen = 120},
    {"coverage_m", "覆盖半径", YJ_F_INT, false, .unit = "米", RANGE(10, 20000), .def = "500"},
    {"status", "状态", YJ_F_ENUM, true, OPTS("正常", "故障", "停用"), .def = "正常"},
};

static const yj_field responsible_person_fields[] = {
    {"name", "姓名", YJ_F_TEXT, true},
    {"phone", "手机号码", YJ_F_PHONE, true},
    {"level", "层级", YJ_F_ENUM, true, OPTS("村级", "乡级", "县级", "市级", "企业")},
    {"post", "职务", YJ_F_TEXT, false},
    {"call_order", "叫应顺序", YJ_F_INT, true, RANGE(1, 9), .def = "1"},
    {"enterprise_id", "所属企业", YJ_F_REF, false, .ref = "enterprise"},
    {"status", "状态", YJ_F_ENUM, true, OPTS("在岗", "离岗"), .def = "在岗"},
};

/* Not const: registry_init() derives each one's table and full field list.
 * Household before resident, which refers to it. */
static yj_registry household =
    YJ_REGISTRY(household, "居民户", "#6b8e23", "code", NULL, NULL, NULL, .since = 9);
static yj_registry resident =
    YJ_REGISTRY(resident, "居民", "#20b2aa", "code", NULL, "status", NULL, .since = 9);
static yj_registry broadcast_terminal = YJ_REGISTRY(broadcast_terminal, "应急广播终端", "#ff8c00",
                                                    "code", "kind", "status", NULL, .since = 9);
static yj_registry responsible_person =
    YJ_REGISTRY(responsible_person, "叫应责任人", "#b22222", "phone", "level", "status",
                "enterprise_id", .since = 9);

static yj_registry *const registries[] = {&household, &resident, &broadcast_terminal,
                                          &responsible_person};

/* ---- routes and permissions -------------------------------------------------------------- */

/* A draft's content: the body of POST /warnings and PUT /warnings/{id}. */
#define WARNING_CONTENT                                                                            \
    "{\"type\":\"object\",\"required\":[\"event_type\",\"level\",\"headline\","                    \
    "\"description\",\"area\",\"expires\"],\"properties\":{\"event_type\":{\"type\":\"strin"       \
    "g\",\"maxLength\":60},\"category\":{\"type\":\"string\",\"enum\":[\"Geo\",\"Met\","           \
    "\"Safety\",\"Security\",\"Rescue\",\"Fire\",\"Health\",\"Env\",\"Transport\","                \
    "\"Infra\",\"CBRNE\",\"Other\"],\"description\":\"CAP category; default Other\"},"             \
    "\"level\":{\"type\":\"integer\",\"description\":\"1 red, 2 orange, 3 yellow, 4 blue\","       \
    "\"minimum\":1,\"maximum\":4},\"headline\":{\"type\":\"string\","                              \
    "\"description\":\"plain text\",\"maxLength\":240},"                                           \
    "\"description\":{\"type\":\"string\",\"description\":\"plain text\","                         \
    "\"maxLength\":8000},\"instruction\":{\"type\":\"string\","                                    \
    "\"description\":\"plain text\",\"maxLength\":4000},"                                          \
    "\"area\":{\"$ref\":\"#/components/schemas/WarningArea\"},"                                    \
    "\"area_desc\":{\"type\":\"string\",\"description\":\"default: the regions' names\"},"         \
    "\"effective\":{\"type\":\"integer\",\"description\":\"ms since the epoch\","                  \
    "\"nullable\":true},\"expires\":{\"type\":\"integer\","                                        \
    "\"description\":\"ms since the epoch\"},\"urgency\":{\"type\":\"string\","                    \
    "\"enum\":[\"Immediate\",\"Expected\",\"Future\",\"Past\",\"Unknown\"],"                       \
    "\"description\":\"default by level\"},\"certainty\":{\"type\":\"string\","                    \
    "\"enum\":[\"Observed\",\"Likely\",\"Possible\",\"Unlikely\",\"Unknown\"],"                    \
    "\"description\":\"default Likely\"}},\"additionalProperties\":false}"

static const yj_route routes[] = {
    {"GET", "/api/v1/warnings", api_warnings_list, "warning", R, 0, 0,
     "Warnings in the caller's region and those issued above it (state=, active=1)",
     .out = "{\"type\":\"object\",\"description\":\"newest first\",\"required\":[\"items\","
            "\"total\"],\"properties\":{\"items\":{\"type\":\"array\","
            "\"items\":{\"$ref\":\"#/components/schemas/Warning\"}},"
            "\"total\":{\"type\":\"integer\"}}}"},
    {"POST", "/api/v1/warnings", api_warnings_create, "warning", W, 0, 0, "Compose a warning draft",
     .in = WARNING_CONTENT, .out = "201 {\"$ref\":\"#/components/schemas/Warning\"}"},
    {"POST", "/api/v1/warnings/import", api_warnings_import, "warning", W, 0, 0,
     "Receive a CAP 1.2 message from another agency (body: the XML, at most 1 MiB)",
     .in = "application/cap+xml {\"type\":\"string\",\"description\":\"a CAP 1.2 message\"}",
     .out = "201 {\"$ref\":\"#/components/schemas/Warning\"}"},
    {"POST", "/api/v1/warnings/targets", api_warning_targets, "warning", R, 0, 0,
     "Who an area reaches: residents, the vulnerable and contacts, terminals, responsible"
     " people, enterprises",
     .in = "{\"type\":\"object\",\"required\":[\"area\"],"
           "\"properties\":{\"area\":{\"$ref\":\"#/components/schemas/WarningArea\"}}}",
     .out = "{\"type\":\"object\",\"required\":[\"residents\",\"vulnerable\",\"contacts\","
            "\"terminals\",\"enterprises\",\"responsible\",\"responsible_by_level\","
            "\"informants\",\"places\",\"area_desc\"],\"properties\":{\"residents\":{\"type\":\"i"
            "nteger\"},\"vulnerable\":{\"type\":\"integer\"},\"contacts\":{\"type\":\"integer\"},"
            "\"terminals\":{\"type\":\"integer\"},\"enterprises\":{\"type\":\"integer\"},"
            "\"responsible\":{\"type\":\"integer\"},\"responsible_by_level\":{\"type\":\"object\""
            ",\"required\":[\"village\",\"township\",\"county\",\"city\",\"enterprise\"],"
            "\"properties\":{\"village\":{\"type\":\"integer\"},"
            "\"township\":{\"type\":\"integer\"},\"county\":{\"type\":\"integer\"},"
            "\"city\":{\"type\":\"integer\"},\"enterprise\":{\"type\":\"integer\"}}},"
            "\"informants\":{\"type\":\"integer\"},\"places\":{\"type\":\"integer\","
            "\"description\":\"villages with residents reached\"},"
            "\"area_desc\":{\"type\":\"string\"}}}"},
    {"POST", "/api/v1/warnings/callback", api_gateway_callback, NULL, W, PUB, 0,
     "Gateways: receipts, SMS replies and voice answers (Bearer gateway token)",
     .in = "{\"oneOf\":[{\"type\":\"object\",\"required\":[\"events\"],"
           "\"properties\":{\"events\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
           "\"required\":[\"type\"],\"properties\":{\"type\":{\"type\":\"string\","
           "\"enum\":[\"receipt\",\"reply\",\"answer\"]},\"id\":{\"type\":\"integer\","
           "\"description\":\"the delivery (receipt, answer: required; reply: when known)\"},"
           "\"status\":{\"type\":\"string\",\"enum\":[\"delivered\",\"failed\"],"
           "\"description\":\"receipt\"},\"from\":{\"type\":\"string\","
           "\"description\":\"reply: the phone number\"},\"text\":{\"type\":\"string\","
           "\"description\":\"reply: the SMS text\"}}},\"maxItems\":10000}}},{\"type\":\"object\","
           "\"required\":[\"type\"],\"properties\":{\"type\":{\"type\":\"string\","
           "\"enum\":[\"receipt\",\"reply\",\"answer\"]},\"id\":{\"type\":\"integer\","
           "\"description\":\"the delivery (receipt, answer: required; reply: when known)\"},"
           "\"status\":{\"type\":\"string\",\"enum\":[\"delivered\",\"failed\"],"
           "\"description\":\"receipt\"},\"from\":{\"type\":\"string\","
           "\"description\":\"reply: the phone number\"},\"text\":{\"type\":\"string\","
           "\"description\":\"reply: the SMS text\"}}}],"
           "\"description\":\"{events: [...]} or one event\"}",
     .out = "{\"type\":\"object\",\"required\":[\"acked\",\"recorded\"],"
            "\"properties\":{\"acked\":{\"type\":\"integer\","
            "\"description\":\"deliveries answered\"},\"recorded\":{\"type\":\"integer\","
            "\"description\":\"other events recorded\"}}}"},
    {"GET", "/api/v1/warnings/{id}/deliveries", api_warning_deliveries, "warning", R, 0, 0,
     "Deliveries of a warning with counts by kind and state",
     .out = "{\"type\":\"object\",\"required\":[\"items\",\"total\",\"counts\"],"
            "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
            "\"required\":[\"id\",\"kind\",\"ref_id\",\"for_id\",\"region_code\",\"state\","
            "\"plan\",\"attempts\",\"sent_at\",\"delivered_at\",\"acked_at\",\"acked_via\","
            "\"must_ack\"],\"properties\":{\"id\":{\"type\":\"integer\"},"
            "\"kind\":{\"type\":\"string\",\"enum\":[\"resident\",\"contact\",\"terminal\","
            "\"responsible\",\"escalation\",\"enterprise\",\"informant\"]},"
            "\"ref_id\":{\"type\":\"integer\",\"description\":\"the recipient's record\"},"
            "\"for_id\":{\"type\":\"integer\",\"nullable\":true},"
            "\"region_code\":{\"type\":\"string\"},\"state\":{\"type\":\"string\"},"
            "\"plan\":{\"type\":\"string\",\"description\":\"channels in order\"},"
            "\"attempts\":{\"type\":\"integer\"},\"sent_at\":{\"type\":\"integer\","
            "\"nullable\":true},\"delivered_at\":{\"type\":\"integer\",\"nullable\":true},"
            "\"acked_at\":{\"type\":\"integer\",\"nullable\":true},"
            "\"acked_via\":{\"type\":\"string\",\"nullable\":true},"
            "\"must_ack\":{\"type\":\"integer\",\"description\":\"1: must answer (call-up)\"}}}},"
            "\"total\":{\"type\":\"integer\"},\"counts\":{\"type\":\"object\","
            "\"description\":\"kind: {state: "
            "count}\",\"additionalProperties\":{\"type\":\"object\","
            "\"additionalProperties\":{\"type\":\"integer\"}}}}}"},
    {"GET", "/api/v1/warnings/{id}/callup", api_warning_callup, "warning", R, 0, 0,
     "Call-up (叫应) board: who must answer, who has, escalations",
     .out = "{\"type\":\"object\",\"required\":[\"warning_id\",\"total\",\"answered\","
            "\"escalations\",\"regions\",\"names\",\"events\"],"
            "\"properties\":{\"warning_id\":{\"type\":\"integer\"},"
            "\"total\":{\"type\":\"integer\",\"description\":\"who must answer\"},"
            "\"answered\":{\"type\":\"integer\"},\"escalations\":{\"type\":\"integer\"},"
            "\"regions\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
            "\"required\":[\"region\",\"total\",\"answered\"],"
            "\"properties\":{\"region\":{\"type\":\"string\",\"description\":\"county code\"},"
            "\"total\":{\"type\":\"integer\"},\"answered\":{\"type\":\"integer\"}}}},"
            "\"names\":{\"type\":\"boolean\",\"description\":\"people and events are shown (the "
            "role may read the people)\"},\"people\":{\"type\":\"array\","
            "\"items\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
            "\"kind\":{\"type\":\"string\"},\"region_code\":{\"type\":\"string\"},"
            "\"state\":{\"type\":\"string\"},\"attempts\":{\"type\":\"integer\"},"
            "\"sent_at\":{\"type\":\"integer\",\"nullable\":true},"
            "\"delivered_at\":{\"type\":\"integer\",\"nullable\":true},"
            "\"acked_at\":{\"type\":\"integer\",\"nullable\":true},"
            "\"acked_via\":{\"type\":\"string\",\"nullable\":true},"
            "\"acked_by\":{\"type\":\"string\",\"nullable\":true},"
            "\"escalated_to\":{\"type\":\"integer\",\"nullable\":true},"
            "\"level_up\":{\"type\":\"integer\"},\"for_id\":{\"type\":\"integer\","
            "\"nullable\":true},\"address\":{\"type\":\"string\","
            "\"description\":\"masked: last four digits\"},\"name\":{\"type\":\"string\","
            "\"nullable\":true},\"post\":{\"type\":\"string\",\"nullable\":true},"
            "\"person_level\":{\"type\":\"string\",\"nullable\":true},"
            "\"vulnerable\":{\"type\":\"string\",\"nullable\":true},"
            "\"region_name\":{\"type\":\"string\",\"nullable\":true}}},"
            "\"description\":\"when names\"},\"events\":{\"type\":\"array\","
            "\"items\":{\"type\":\"object\",\"required\":[\"ts\",\"action\",\"actor\",\"note\","
            "\"region_code\",\"delivery_id\"],\"properties\":{\"ts\":{\"type\":\"integer\","
            "\"description\":\"ms since the epoch\"},\"action\":{\"type\":\"string\"},"
            "\"actor\":{\"type\":\"string\",\"nullable\":true},\"note\":{\"type\":\"string\","
            "\"nullable\":true},\"region_code\":{\"type\":\"string\",\"nullable\":true},"
            "\"delivery_id\":{\"type\":\"integer\",\"nullable\":true}}},"
            "\"description\":\"newest first; empty unless names\"}}}"},
    {"GET", "/api/v1/warnings/{id}/coverage", api_warning_coverage, "warning", R, 0, 0,
     "Coverage: residents reached, responsible answered, vulnerable confirmed, time to 90%",
     .out = "{\"type\":\"object\",\"required\":[\"warning_id\",\"total\",\"groups\","
            "\"group_by\"],\"properties\":{\"warning_id\":{\"type\":\"integer\"},"
            "\"total\":{\"type\":\"object\",\"required\":[\"region\",\"residents\",\"reached\","
            "\"reached_share\",\"time_to_90_s\",\"responsible\",\"answered\",\"answered_share\","
            "\"vulnerable\",\"confirmed\",\"confirmed_share\",\"terminals\",\"played\"],"
            "\"properties\":{\"region\":{\"type\":\"string\"},"
            "\"residents\":{\"type\":\"integer\"},\"reached\":{\"type\":\"integer\"},"
            "\"reached_share\":{\"type\":\"number\"},\"time_to_90_s\":{\"type\":\"number\","
            "\"description\":\"seconds from publishing until 90% were reached\","
            "\"nullable\":true},\"responsible\":{\"type\":\"integer\"},"
            "\"answered\":{\"type\":\"integer\"},\"answered_share\":{\"type\":\"number\"},"
            "\"vulnerable\":{\"type\":\"integer\"},\"confirmed\":{\"type\":\"integer\"},"
            "\"confirmed_share\":{\"type\":\"number\"},\"terminals\":{\"type\":\"integer\"},"
            "\"played\":{\"type\":\"integer\"}}},\"groups\":{\"type\":\"array\","
            "\"items\":{\"type\":\"object\",\"required\":[\"region\",\"residents\",\"reached\","
            "\"reached_share\",\"time_to_90_s\",\"responsible\",\"answered\",\"answered_share\","
            "\"vulnerable\",\"confirmed\",\"confirmed_share\",\"terminals\",\"played\"],"
            "\"properties\":{\"region\":{\"type\":\"string\"},"
            "\"residents\":{\"type\":\"integer\"},\"reached\":{\"type\":\"integer\"},"
            "\"reached_share\":{\"type\":\"number\"},\"time_to_90_s\":{\"type\":\"number\","
            "\"description\":\"seconds from publishing until 90% were reached\","
            "\"nullable\":true},\"responsible\":{\"type\":\"integer\"},"
            "\"answered\":{\"type\":\"integer\"},\"answered_share\":{\"type\":\"number\"},"
            "\"vulnerable\":{\"type\":\"integer\"},\"confirmed\":{\"type\":\"integer\"},"
            "\"confirmed_share\":{\"type\":\"number\"},\"terminals\":{\"type\":\"integer\"},"
            "\"played\":{\"type\":\"integer\"}}}},\"group_by\":{\"type\":\"string\","
            "\"enum\":[\"county\",\"township\",\"village\"]}}}"},
    {"GET", "/api/v1/warnings/{id}/cap", api_warning_cap, "warning", R, 0, 0,
     "The CAP 1.2 / GB/T 35965.1 message of a published or received warning",
     .out = "application/cap+xml {\"type\":\"string\",\"description\":\"the CAP 1.2 XML\"}"},
    {"GET", "/api/v1/warnings/{id}", api_warning_get, "warning", R, 0, 0,
     "A warning with its timeline", .out = "{\"$ref\":\"#/components/schemas/Warning\"}"},
    {"PUT", "/api/v1/warnings/{id}", api_warning_update, "warning", W, YJ_ROUTE_IF_MATCH, 0,
     "Edit a draft (If-Match required)", .in = WARNING_CONTENT,
     .out = "{\"$ref\":\"#/components/schemas/Warning\"}"},
    {"POST", "/api/v1/warnings/{id}/{action}", api_warning_act, "warning", W, YJ_ROUTE_IF_MATCH, 0,
     "submit | approve | reject | publish | update | cancel; If-Match required",
     .in = "{\"type\":\"object\",\"description\":\"may be empty (submit, approve, publish,"
           " update)\",\"properties\":{\"reason\":{\"type\":\"string\",\"description\":\"reject,"
           " cancel: required\"},\"note\":{\"type\":\"string\","
           "\"description\":\"for the timeline\"}}}",
     .out = "{\"allOf\":[{\"$ref\":\"#/components/schemas/Warning\"}],"
            "\"description\":\"the warning; for update the new draft, answered with 201\"}"},
    {"POST", "/api/v1/alarms/{id}/warning", api_alarm_to_warning, "warning", W, 0, 0,
     "A warning draft made from the alarm (its area and facts)", .in = YJ_NO_BODY,
     .out = "201 {\"$ref\":\"#/components/schemas/Warning\"}"},
    {"GET", "/api/v1/deliveries/{id}/attempts", api_delivery_attempts, "warning", R, 0, 0,
     "The attempts at one delivery: channel, result, the gateway's answer, resends",
     .out = "{\"type\":\"object\",\"required\":[\"delivery_id\",\"items\"],"
            "\"properties\":{\"delivery_id\":{\"type\":\"integer\"},"
            "\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"id\","
            "\"ts\",\"channel\",\"address\",\"state\",\"detail\",\"sent_at\",\"resend_of\"],"
            "\"properties\":{\"id\":{\"type\":\"integer\"},\"ts\":{\"type\":\"integer\","
            "\"description\":\"queued, ms since the epoch\"},\"channel\":{\"type\":\"string\"},"
            "\"address\":{\"type\":\"string\",\"description\":\"a phone number shows its last "
            "four digits\"},\"state\":{\"type\":\"string\"},\"detail\":{\"type\":\"string\","
            "\"description\":\"the gateway's answer\",\"nullable\":true},"
            "\"sent_at\":{\"type\":\"integer\",\"nullable\":true},"
            "\"resend_of\":{\"type\":\"integer\",\"nullable\":true}}}}}}"},
    {"POST", "/api/v1/deliveries/{id}/ack", api_delivery_ack, "warning", W, 0, 0,
     "Record an answer: via app (the recipient) or phone (a duty officer, with a note)",
     .in = "{\"type\":\"object\",\"required\":[\"via\"],"
           "\"properties\":{\"via\":{\"type\":\"string\",\"enum\":[\"app\",\"phone\"],"
           "\"description\":\"app: the recipient; phone: a duty officer\"},"
           "\"note\":{\"type\":\"string\",\"description\":\"phone: required (what was said)\"}}}",
     .out = "{\"type\":\"object\",\"required\":[\"id\",\"warning_id\",\"kind\",\"state\","
            "\"acked_at\",\"acked_via\",\"acked_by\"],\"properties\":{\"id\":{\"type\":\"integer"
            "\"},\"warning_id\":{\"type\":\"integer\"},\"kind\":{\"type\":\"string\"},"
            "\"state\":{\"type\":\"string\"},\"acked_at\":{\"type\":\"integer\","
            "\"description\":\"ms since the epoch\"},\"acked_via\":{\"type\":\"string\"},"
            "\"acked_by\":{\"type\":\"string\"}}}"},
    {"GET", "/api/v1/public/ack/{token}", api_public_ack_get, NULL, R, PUB, 0,
     "What an answer link is for (no login)",
     .out = "{\"type\":\"object\",\"required\":[\"id\",\"kind\",\"state\",\"acked_at\","
            "\"acked_via\",\"warning_id\",\"headline\",\"level\",\"level_label\",\"event_type\","
            "\"sender_name\",\"warning_state\",\"instruction\",\"area_desc\"],"
            "\"properties\":{\"id\":{\"type\":\"integer\",\"description\":\"the delivery\"},"
            "\"kind\":{\"type\":\"string\"},\"state\":{\"type\":\"string\"},"
            "\"acked_at\":{\"type\":\"integer\",\"nullable\":true},"
            "\"acked_via\":{\"type\":\"string\",\"nullable\":true},"
            "\"warning_id\":{\"type\":\"integer\"},\"headline\":{\"type\":\"string\"},"
            "\"level\":{\"type\":\"integer\"},\"level_label\":{\"type\":\"string\"},"
            "\"event_type\":{\"type\":\"string\"},\"sender_name\":{\"type\":\"string\","
            "\"nullable\":true},\"warning_state\":{\"type\":\"string\"},"
            "\"instruction\":{\"type\":\"string\",\"nullable\":true},"
            "\"area_desc\":{\"type\":\"string\"}}}"},
    {"POST", "/api/v1/public/ack/{token}", api_public_ack_post, NULL, W, PUB, 0,
     "Answer through the link in the message (no login)", .in = YJ_NO_BODY,
     .out = "{\"type\":\"object\",\"required\":[\"id\",\"kind\",\"state\",\"acked_at\","
            "\"acked_via\",\"warning_id\",\"headline\",\"level\",\"level_label\",\"event_type\","
            "\"sender_name\",\"warning_state\",\"instruction\",\"area_desc\"],"
            "\"properties\":{\"id\":{\"type\":\"integer\",\"description\":\"the delivery\"},"
            "\"kind\":{\"type\":\"string\"},\"state\":{\"type\":\"string\"},"
            "\"acked_at\":{\"type\":\"integer\",\"nullable\":true},"
            "\"acked_via\":{\"type\":\"string\",\"nullable\":true},"
            "\"warning_id\":{\"type\":\"integer\"},\"headline\":{\"type\":\"string\"},"
            "\"level\":{\"type\":\"integer\"},\"level_label\":{\"type\":\"string\"},"
            "\"event_type\":{\"type\":\"string\"},\"sender_name\":{\"type\":\"string\","
            "\"nullable\":true},\"warning_state\":{\"type\":\"string\"},"
            "\"instruction\":{\"type\":\"string\",\"nullable\":true},"
            "\"area_desc\":{\"type\":\"string\"}}}"},
    {"GET", "/api/v1/public/warnings", api_public_warnings, NULL, R, PUB, 0,
     "Active public warnings (no login)",
     .out = "{\"type\":\"object\",\"required\":[\"items\",\"now\",\"more\"],"
            "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
            "\"required\":[\"id\",\"level\",\"headline\",\"area\",\"expires\"],"
            "\"properties\":{\"id\":{\"type\":\"integer\"},\"identifier\":{\"type\":\"string\"},"
            "\"sender_name\":{\"type\":\"string\"},\"sent\":{\"type\":\"string\"},"
            "\"msg_type\":{\"type\":\"string\"},\"event_type\":{\"type\":\"string\"},"
            "\"level\":{\"type\":\"integer\"},\"level_name\":{\"type\":\"string\"},"
            "\"level_label\":{\"type\":\"string\"},\"headline\":{\"type\":\"string\"},"
            "\"description\":{\"type\":\"string\"},\"instruction\":{\"type\":\"string\","
            "\"nullable\":true},\"area_desc\":{\"type\":\"string\"},"
            "\"area\":{\"$ref\":\"#/components/schemas/WarningArea\"},"
            "\"effective\":{\"type\":\"integer\",\"nullable\":true},"
            "\"expires\":{\"type\":\"integer\",\"description\":\"ms since the epoch\"},"
            "\"published_at\":{\"type\":\"integer\",\"description\":\"ms since the epoch\"},"
            "\"truncated\":{\"type\":\"boolean\",\"description\":\"texts or area were cut (the "
            "CAP message has them whole)\"}}},\"description\":\"most severe first,"
            " at most 200\"},\"now\":{\"type\":\"integer\","
            "\"description\":\"ms since the epoch\"},\"more\":{\"type\":\"boolean\","
            "\"description\":\"the list was cut at its size limit\"}}}"},
    {"GET", "/feeds/warnings.atom", api_feed_atom, NULL, R, PUB, 0,
     "Atom feed of the active public warnings (no login)",
     .out = "application/atom+xml {\"type\":\"string\",\"description\":\"Atom 1.0 feed\"}"},
    {"GET", "/feeds/warnings/{file}", api_feed_cap, NULL, R, PUB, 0,
     "The CAP message of a public warning: /feeds/warnings/{id}.xml (no login)",
     .out = "application/cap+xml {\"type\":\"string\",\"description\":\"the CAP 1.2 XML\"}"},
};

static const yj_resource resources[] = {
    {"warning", "预警信息"},
};

#define ADMIN YJ_R(ADMIN)
#define DUTY  YJ_R(DUTY)
#define CMD   YJ_R(COMMANDER)
#define SUP   YJ_R(SUPERVISOR)
#define ENT   YJ_R(ENTERPRISE)
#define INF   YJ_R(INFORMANT)
static const yj_perm perms[] = {
    /* every role reads the warnings of its region; who approves which
     * level is the approval table's (warning.c) */
    {"warning", R, YJ_ROLES_STAFF},
    {"warning", W, ADMIN | DUTY | CMD},
    /* grid workers keep their villages' households, residents and contacts */
    {"household", R, ADMIN | DUTY | CMD | SUP | INF},
    {"household", W, ADMIN | DUTY | INF},
    {"resident", R, ADMIN | DUTY | CMD | SUP | INF},
    {"resident", W, ADMIN | DUTY | INF},
    /* 老/幼/病/残/孕: health data, for those who look after the people */
    {"resident", R, ADMIN | DUTY | CMD | INF, "vulnerable"},
    {"broadcast_terminal", R, ADMIN | DUTY | CMD | SUP | INF},
    {"broadcast_terminal", W, ADMIN | DUTY},
    {"responsible_person", R, ADMIN | DUTY | CMD | SUP | ENT | INF},
    {"responsible_person", W, ADMIN | DUTY | ENT}, /* an enterprise: its own 叫应 people */
};

/* ---- schema -------------------------------------------------------------------------------- */

static const yj_migration migrations[] = {
    {8, "M3 warnings (预警信息) and their timeline",
     /* warning/warning.c: one row per warning message, ours or received;
      * identifier/sender/sent are the CAP ones once published */
     "CREATE TABLE warning ("
     "  id INTEGER PRIMARY KEY, identifier TEXT, sender TEXT, sender_name TEXT, sent TEXT,"
     "  source TEXT NOT NULL DEFAULT 'local', origin TEXT, msg_type TEXT NOT NULL DEFAULT 'Alert',"
     "  scope TEXT NOT NULL DEFAULT 'Public', state TEXT NOT NULL, event_type TEXT NOT NULL,"
     "  category TEXT NOT NULL, level INTEGER NOT NULL, urgency TEXT NOT NULL,"
     "  certainty TEXT NOT NULL, headline TEXT NOT NULL, description TEXT NOT NULL,"
     "  instruction TEXT, area_desc TEXT NOT NULL, area TEXT NOT NULL,"
     "  region_code TEXT NOT NULL REFERENCES region(code), effective INTEGER,"
     "  expires INTEGER NOT NULL, references_id INTEGER REFERENCES warning(id),"
     "  superseded_by INTEGER REFERENCES warning(id), alarm_id INTEGER REFERENCES alarm(id),"
     "  cap_xml TEXT, created_at INTEGER NOT NULL, created_by TEXT NOT NULL,"
     "  submitted_at INTEGER, submitted_by TEXT, approved_at INTEGER, approved_by TEXT,"
     "  published_at INTEGER, published_by TEXT, ended_at INTEGER, ended_by TEXT,"
     "  end_reason TEXT, version INTEGER NOT NULL DEFAULT 1);"
     "CREATE UNIQUE INDEX warning_identity ON warning(sender, identifier);"
     "CREATE INDEX warning_state ON warning(state, expires);"
     "CREATE INDEX warning_region ON warning(region_code, id);"
     "CREATE TABLE warning_event ("
     "  id INTEGER PRIMARY KEY, warning_id INTEGER NOT NULL REFERENCES warning(id),"
     "  ts INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, note TEXT);"
     "CREATE INDEX warning_event_warning ON warning_event(warning_id, id);",
     NULL},
    {9, "M3 registries: households, residents, broadcast terminals, responsible people", NULL,
     registry_migration},
    {10, "M3 deliveries, their attempts, and the call-up (叫应) events",
     /* warning/deliver.c: one delivery per recipient of a published warning;
      * next_at is when something is due (an attempt, or the next channel of
      * an unanswered one); escalate_at when an unanswered one goes to the
      * next person */
     "CREATE TABLE delivery ("
     "  id INTEGER PRIMARY KEY, warning_id INTEGER NOT NULL REFERENCES warning(id),"
     "  kind TEXT NOT NULL, ref_id INTEGER NOT NULL, for_id INTEGER, address TEXT NOT NULL,"
     "  region_code TEXT NOT NULL, must_ack INTEGER NOT NULL DEFAULT 0, plan TEXT NOT NULL,"
     "  step INTEGER NOT NULL DEFAULT 0, cycle INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL,"
     "  attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER, sent_at INTEGER,"
     "  delivered_at INTEGER, acked_at INTEGER, acked_via TEXT, acked_by TEXT, token TEXT,"
     "  escalate_at INTEGER, escalated_to INTEGER, level_up INTEGER NOT NULL DEFAULT 0);"
     "CREATE INDEX delivery_due ON delivery(next_at) WHERE next_at IS NOT NULL;"
     "CREATE INDEX delivery_escalate ON delivery(escalate_at) WHERE escalate_at IS NOT NULL;"
     "CREATE INDEX delivery_warning ON delivery(warning_id, kind);"
     "CREATE UNIQUE INDEX delivery_token ON delivery(token) WHERE token IS NOT NULL;"
     "CREATE INDEX delivery_address ON delivery(address, id) WHERE must_ack = 1;"
     "CREATE TABLE delivery_attempt ("
     "  id INTEGER PRIMARY KEY, delivery_id INTEGER NOT NULL REFERENCES delivery(id),"
     "  ts INTEGER NOT NULL, channel TEXT NOT NULL, result TEXT NOT NULL, detail TEXT);"
     "CREATE INDEX delivery_attempt_delivery ON delivery_attempt(delivery_id, id);"
     "CREATE TABLE callup_event ("
     "  id INTEGER PRIMARY KEY, warning_id INTEGER NOT NULL REFERENCES warning(id),"
     "  delivery_id INTEGER, ts INTEGER NOT NULL, action TEXT NOT NULL, actor TEXT, note TEXT,"
     "  region_code TEXT);"
     "CREATE INDEX callup_event_warning ON callup_event(warning_id, id);",
     NULL},
    {11, "M3 deliveries: those who must answer are taken first; loudspeakers by place",
     "CREATE INDEX delivery_due_ack ON delivery(next_at) WHERE next_at IS NOT NULL"
     " AND must_ack = 1;"
     "DROP INDEX delivery_warning;"
     "CREATE INDEX delivery_warning ON delivery(warning_id, kind, region_code);",
     NULL},
    {12, "M3 deliveries: one due index by (must_ack, next_at) instead of two",
     /* every answer takes its row out of the due indexes: one index to
      * update instead of two (measured: 2.5x the answers per second) */
     "DROP INDEX delivery_due;"
     "DROP INDEX delivery_due_ack;"
     "CREATE INDEX delivery_due ON delivery(must_ack, next_at) WHERE next_at IS NOT NULL;",
     NULL},
    {14, "M3 delivery attempts move into the platform's outbox (recorded before sending)",
     "INSERT INTO outbox (module, channel, address, ref_type, ref_id, state, created_at,"
     "  sent_at, detail)"
     " SELECT 'warning', a.channel, d.address, 'delivery', a.delivery_id, a.result, a.ts, a.ts,"
     "  a.detail FROM delivery_attempt a JOIN delivery d ON d.id = a.delivery_id ORDER BY a.id;"
     "DROP TABLE delivery_attempt;",
     NULL},
};

/* ---- options and runtime ------------------------------------------------------------------- */

static const yj_option options[] = {
    {"--sms-gateway", YJ_OPT_TEXT, "URL", NULL, "the SMS gateway (none: no SMS)"},
    {"--voice-gateway", YJ_OPT_TEXT, "URL", NULL, "the voice-call gateway (none: no calls)"},
    {"--wechat-webhook", YJ_OPT_TEXT, "URL", NULL, "the WeChat / app push webhook (none: no push)"},
    {"--gateway-token", YJ_OPT_TEXT, "TOKEN", NULL,
     "token gateways are sent and must send back on callbacks (default: random)"},
    {"--public-url", YJ_OPT_TEXT, "URL", NULL,
     "this site's address as recipients reach it, for answer links and gateway\n"
     "callbacks (default http://LISTEN)"},
    {"--channel-rates", YJ_OPT_TEXT, "LIST", NULL,
     "messages per second per channel, e.g. sms=200,voice=20,wechat=200,broadcast=500"},
    {"--callup", YJ_OPT_TEXT, "LIST", "wait=5,escalate=10,cycles=3,retry=60",
     "call-up timing: wait=MIN before the next channel, escalate=MIN before the next\n"
     "person, cycles=N through the channels, retry=SEC between cycles"},
    {"--channel-plans", YJ_OPT_TEXT, "LIST", "residents=sms,answer=sms+voice,terminals=broadcast",
     "channels tried in turn, per kind of recipient: residents=, answer= (those who\n"
     "must answer), terminals=; channels joined by +"},
    {"--cap-dir", YJ_OPT_TEXT, "DIR", NULL,
     "watch this directory for CAP warnings of other agencies"},
    {"--cap-agency", YJ_OPT_TEXT, "CODE", "000",
     "GB/T 35965.1 sender code after the region: DDD (GB/T 4657 institution code),\n"
     "or DDDUUUXX with the internal and extension codes"},
};

static chan_config chc;
static char callback_url[400], mqtt_host[256];
static const char *cap_dir;

static yj_code parse_callup(const char *callup, callup_config *cc, yj_err *err)
{
    char buf[200];
    snprintf(buf, sizeof buf, "%s", callup);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int v = 0;
        if (sscanf(t, "wait=%d", &v) == 1 && v > 0)
            cc->ack_wait_s = v * 60;
        else if (sscanf(t, "escalate=%d", &v) == 1 && v > 0)
            cc->escalate_s = v * 60;
        else if (sscanf(t, "cycles=%d", &v) == 1 && v > 0 && v <= 20)
            cc->max_cycles = v;
        else if (sscanf(t, "retry=%d", &v) == 1 && v > 0)
            cc->retry_s = v;
        else
            return yj_err_set(err, YJ_EINVAL, "--callup", "--callup: cannot read \"%s\"", t);
    }
    return YJ_OK;
}

/* "residents=sms,answer=sms+voice,..": each channel must exist. */
static yj_code parse_plans(const char *plans, callup_config *cc, yj_err *err)
{
    char buf[300];
    snprintf(buf, sizeof buf, "%s", plans);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char orig[300];
        snprintf(orig, sizeof orig, "%s", t); /* t is cut up below */
        char *eq = strchr(t, '=');
        char *dst = NULL;
        if (eq && strncmp(t, "residents=", 10) == 0)
            dst = cc->plan_resident;
        else if (eq && strncmp(t, "answer=", 7) == 0)
            dst = cc->plan_ack;
        else if (eq && strncmp(t, "terminals=", 10) == 0)
            dst = cc->plan_terminal;
        bool ok = dst != NULL && eq[1] != '\0' && strlen(eq + 1) < sizeof cc->plan_ack;
        char plan[64] = "";
        for (char *s2 = NULL, *c = ok ? strtok_r(eq + 1, "+", &s2) : NULL; c && ok;
             c = strtok_r(NULL, "+", &s2)) {
            ok = chan_index(c) >= 0;
            size_t pl = strlen(plan);
            snprintf(plan + pl, sizeof plan - pl, "%s%s", pl ? "," : "", c);
        }
        if (!ok)
            return yj_err_set(err, YJ_EINVAL, "--channel-plans",
                              "--channel-plans: cannot read \"%s\" (kinds: residents, answer,"
                              " terminals; channels: sms, voice, wechat, broadcast)",
                              orig);
        snprintf(dst, sizeof cc->plan_ack, "%s", plan);
    }
    return YJ_OK;
}

static yj_code parse_rates(const char *rates, chan_config *c, yj_err *err)
{
    char buf[200];
    snprintf(buf, sizeof buf, "%s", rates);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(t, '=');
        int ch = -1, v = eq ? atoi(eq + 1) : 0;
        if (eq) {
            *eq = '\0';
            ch = chan_index(t);
        }
        if (ch < 0 || v <= 0 || v > 100000)
            return yj_err_set(err, YJ_EINVAL, "--channel-rates",
                              "--channel-rates: cannot read \"%s\"", t);
        c->rates[ch] = v;
    }
    return YJ_OK;
}

static yj_code configure(const yj_optset *o, yj_err *err)
{
    warning_config wcfg = {"000", "000", "00"};
    const char *agency = yj_opt_text(o, "--cap-agency");
    size_t n = strlen(agency);
    bool ok = n == 3 || n == 8;
    for (size_t i = 0; ok && i < n; i++)
        ok = agency[i] >= '0' && agency[i] <= '9';
    if (!ok)
        return yj_err_set(err, YJ_EINVAL, "--cap-agency",
                          "--cap-agency wants 3 or 8 digits (DDD or DDDUUUXX)");
    snprintf(wcfg.agency, sizeof wcfg.agency, "%.3s", agency);
    if (n == 8) {
        snprintf(wcfg.unit, sizeof wcfg.unit, "%.3s", agency + 3);
        snprintf(wcfg.ext, sizeof wcfg.ext, "%.2s", agency + 6);
    }
    warning_configure(&wcfg);

    char public_url[300];
    snprintf(public_url, sizeof public_url, "%s",
             yj_opt_given(o, "--public-url") ? yj_opt_text(o, "--public-url") : "");
    if (public_url[0] == '\0')
        snprintf(public_url, sizeof public_url, "http://%s", yj_opt_text(o, "--listen"));
    size_t pul = strlen(public_url);
    while (pul && public_url[pul - 1] == '/')
        public_url[--pul] = '\0';
    deliver_public_url(public_url);

    callup_config ccfg = {0};
    if (parse_callup(yj_opt_text(o, "--callup"), &ccfg, err) != YJ_OK ||
        parse_plans(yj_opt_text(o, "--channel-plans"), &ccfg, err) != YJ_OK)
        return YJ_EINVAL;
    deliver_configure(&ccfg);

    snprintf(callback_url, sizeof callback_url, "%s/api/v1/warnings/callback", public_url);
    chc = (chan_config){.sms_url = yj_opt_text(o, "--sms-gateway"),
                        .voice_url = yj_opt_text(o, "--voice-gateway"),
                        .wechat_url = yj_opt_text(o, "--wechat-webhook"),
                        .token = yj_opt_text(o, "--gateway-token"),
                        .callback_url = callback_url};
    const char *rates = yj_opt_text(o, "--channel-rates");
    if (rates && parse_rates(rates, &chc, err) != YJ_OK)
        return YJ_EINVAL;
    const char *broker = yj_opt_text(o, "--mqtt");
    if (broker) {
        const char *colon = strrchr(broker, ':');
        snprintf(mqtt_host, sizeof mqtt_host, "%.*s",
                 colon ? (int)(colon - broker) : (int)strlen(broker), broker);
        chc.mqtt_host = mqtt_host;
        chc.mqtt_port = colon ? atoi(colon + 1) : 1883;
    }
    cap_dir = yj_opt_text(o, "--cap-dir");
    return YJ_OK;
}

static yj_store *store; /* for the MQTT thread's playback confirmations */

/* A broadcast terminal confirmed playback (the MQTT thread). */
static void on_played(int64_t delivery_id, const char *topic)
{
    if (store)
        deliver_terminal_played(store, delivery_id, topic);
}

static void stop(void)
{
    warning_cap_stop();
    chan_on_terminal_ack(NULL);
    chan_stop();
    store = NULL;
}

static yj_code start(const yj_runtime *rt, yj_err *err)
{
    char why[sizeof err->message];
    yj_code rc = chan_start(&chc, err);
    if (rc != YJ_OK) {
        snprintf(why, sizeof why, "%s", err->message);
        return yj_err_set(err, rc, NULL, "delivery channels: %s", why);
    }
    deliver_check_plans(stderr);
    if ((rc = cap_init(err)) != YJ_OK) {
        snprintf(why, sizeof why, "%s", err->message);
        return yj_err_set(err, rc, NULL, "CAP schemas: %s", why);
    }
    store = rt->store;
    chan_on_terminal_ack(on_played);
    if (cap_dir && (rc = warning_cap_watch(rt->store, cap_dir, err)) != YJ_OK) {
        snprintf(why, sizeof why, "%s", err->message);
        return yj_err_set(err, rc, "--cap-dir", "--cap-dir: %s", why);
    }
    return YJ_OK;
}

/* ---- timers --------------------------------------------------------------------------------- */

/* Published warnings past their expiry become expired (their deliveries stop). */
static yj_code timer_expiry(yj_store *s, int64_t now, yj_err *err)
{
    int n = 0;
    yj_code rc = warning_expire_due(s, now, &n, err);
    if (rc == YJ_OK && n)
        yj_log(YJ_LOG_INFO, "warning.expired", "%d warning(s) expired", n);
    return rc;
}

/* The deliveries and call-up escalations that are due (deliver.c), and
 * any CAP message for MQTT subscribers still in the outbox. */
static yj_code timer_dispatch(yj_store *s, int64_t now, yj_err *err)
{
    yj_code rc = warning_dispatch_due(s, now, err);
    return rc == YJ_OK ? warning_send_cap(s, now, err) : rc;
}

static const yj_timer timers[] = {
    {"warning.expiry", 1000, timer_expiry},
    {"warning.dispatch", 1000, timer_dispatch},
};

/* ---- events, commands, pages ------------------------------------------------------------- */

static const yj_event_kind events[] = {
    /* a hint (a warning id and what changed): also to users inside its
     * region, so a village hears of its township's warnings */
    {"warning", "warning", YJ_EV_INSIDE},
};

static const yj_command commands[] = {
    {"cap", cmd_cap, "validate CAP 1.2 / GB/T 35965.1 warning messages"},
    {"gateway-sim", cmd_gateway_sim,
     "stand-in SMS/voice/push gateways and terminals (demo, tests)"},
};

static const yj_page pages[] = {
    {"warn", "warning.js"},
};

static const yj_nav nav[] = {
    {"nav-warn-list", "预警列表", "#/warn", "warning", R},
    {"nav-warn-approvals", "待审批", "#/warn/approvals", "warning", W},
    {"nav-warn-new", "编制预警", "#/warn/new", "warning", W},
};

const yj_module warning_module = {
    .name = "warning",
    .label = "预警发布",
    YJ_LIST(routes, routes),
    YJ_LIST(resources, resources),
    YJ_LIST(perms, perms),
    YJ_LIST(registries, registries),
    YJ_LIST(migrations, migrations),
    YJ_LIST(options, options),
    .configure = configure,
    .start = start,
    .stop = stop,
    YJ_LIST(timers, timers),
    YJ_LIST(events, events),
    YJ_LIST(commands, commands),
    .demo = demo_warning_people,
    YJ_LIST(pages, pages),
    YJ_LIST(nav, nav),
};
