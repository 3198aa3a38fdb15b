/*
 * module.c — the monitoring and early-warning module (监测预警, SPEC M2):
 * its registries (monitored objects and sensors), routes, permissions,
 * schema, serve options and runtime (the ingest writer, the MQTT consumer,
 * the KJ drop directory), live alarm events, metrics, commands and pages.
 */
#include "api.h"
#include "monitor.h"
#include "../base/module.h"
#include "../core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPTS  YJ_OPTS
#define RANGE YJ_RANGE
#define R     YJ_ACT_READ
#define W     YJ_ACT_WRITE
#define PUB   YJ_ROUTE_PUBLIC

/* ---- registries ------------------------------------------------------------------------ */

/* ---- 监测对象 monitored objects (M2) ----------------------------------------
 * What sensors are installed at: a mine, a major hazard source, a tailings
 * pond, a river station ...  The code is the object's own identifier; for a
 * coal mine it is the 煤矿编码 its KJ system writes into every file. */
static const yj_field monitored_object_fields[] = {
    {"code", "对象编码", YJ_F_TEXT, true, .maxlen = 40},
    {"name", "对象名称", YJ_F_TEXT, true},
    {"kind", "对象类型", YJ_F_ENUM, true,
     OPTS("煤矿", "非煤矿山", "危险化学品重大危险源", "尾矿库", "粉尘涉爆车间", "雨量站",
          "河道水文站", "水库水位站", "地质灾害隐患点", "森林防火监测点", "地震台站", "燃气管网",
          "供水管网", "消防管网", "排水管网", "桥梁", "下穿通道")},
    {"enterprise_id", "所属企业", YJ_F_REF, false, .ref = "enterprise"},
    {"operator", "管理单位", YJ_F_TEXT, false},
    {"contact", "联系人", YJ_F_TEXT, false},
    {"phone", "联系电话", YJ_F_PHONE, false},
    {"status", "状态", YJ_F_ENUM, true, OPTS("运行", "停用"), .def = "运行"},
};

/* ---- 传感器 sensors (M2) ----------------------------------------------------
 * Unit, physical range and reporting interval default from the sensor type
 * (monitor/types.c) when left blank.  The owning enterprise is copied from
 * the monitored object so enterprise users see their own sensors. */
static const yj_field sensor_fields[] = {
    {"code", "传感器编码", YJ_F_TEXT, true, .maxlen = 63},
    {"name", "传感器名称", YJ_F_TEXT, true},
    {"object_id", "监测对象", YJ_F_REF, true, .ref = "monitored_object"},
    {"type", "传感器类型", YJ_F_ENUM, true, .options_of = mon_type_labels},
    {"unit", "单位", YJ_F_TEXT, false, .maxlen = 16},
    {"range_lo", "量程下限", YJ_F_REAL, false, RANGE(-1e9, 1e9)},
    {"range_hi", "量程上限", YJ_F_REAL, false, RANGE(-1e9, 1e9)},
    {"interval_s", "上报周期", YJ_F_INT, false, .unit = "秒", RANGE(1, 86400)},
    {"location", "安装位置", YJ_F_TEXT, false},
    {"install_date", "安装日期", YJ_F_DATE, false},
    {"status", "状态", YJ_F_ENUM, true, OPTS("正常", "维护", "停用"), .def = "正常"},
    {"enterprise_id", "所属企业", YJ_F_REF, false, .ref = "enterprise"},
};

/* Not const: registry_init() derives each one's table and full field list. */
static yj_registry monitored_object = YJ_REGISTRY(monitored_object, "监测对象", "#bcbd22", "code",
                                                  "kind", "status", "enterprise_id", .since = 4);
static yj_registry sensor = YJ_REGISTRY(sensor, "传感器", "#17a2b8", "code", "type", "status",
                                        "enterprise_id", .since = 4, .prepare = sensor_prepare);

static yj_registry *const registries[] = {&monitored_object, &sensor};

/* ---- routes and permissions -------------------------------------------------------------- */

/* The body and answer of a rule's create (201) and replace. */
#define RULE_IN                                                                                    \
    "{\"type\":\"object\",\"required\":[\"name\",\"kind\",\"params\"],"                            \
    "\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":90},"                             \
    "\"kind\":{\"type\":\"string\",\"enum\":[\"threshold\",\"rate\",\"sum\",\"multi\","            \
    "\"gap\"]},\"sensor_id\":{\"type\":\"integer\","                                               \
    "\"description\":\"one sensor (or sensor_type; neither for multi)\"},"                         \
    "\"sensor_type\":{\"type\":\"string\",\"description\":\"a sensor type's label: every "         \
    "sensor of that type in the caller's region\"},\"params\":{\"type\":\"object\","               \
    "\"description\":\"by kind: threshold {direction high|low, levels {blue..red: number},"        \
    " hysteresis, duration_s}; rate {direction, level, window_s,"                                  \
    " delta}; sum {levels {blue..red: {window_s, sum}}}; multi {direction, level,"                 \
    " threshold, sensors [ids], min_count}; gap {level, minutes}\","                               \
    "\"properties\":{\"direction\":{\"type\":\"string\",\"enum\":[\"high\",\"low\"]},"             \
    "\"level\":{\"type\":\"string\",\"enum\":[\"blue\",\"yellow\",\"orange\",\"red\"]},"           \
    "\"levels\":{\"type\":\"object\",\"description\":\"threshold: a number per level; sum: "       \
    "{window_s, sum}\"},\"hysteresis\":{\"type\":\"number\"},"                                     \
    "\"duration_s\":{\"type\":\"number\"},\"window_s\":{\"type\":\"number\"},"                     \
    "\"delta\":{\"type\":\"number\"},\"threshold\":{\"type\":\"number\"},"                         \
    "\"sensors\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}},"                           \
    "\"min_count\":{\"type\":\"integer\"},\"minutes\":{\"type\":\"number\"}}},"                    \
    "\"enabled\":{\"type\":\"boolean\",\"description\":\"default true\"}}}"
#define RULE_OUT                                                                                   \
    "{\"type\":\"object\",\"required\":[\"id\",\"name\",\"kind\",\"sensor_type\","                 \
    "\"params\",\"region_code\",\"version\"],\"properties\":{\"id\":{\"type\":\"integer\""         \
    "},\"name\":{\"type\":\"string\"},\"kind\":{\"type\":\"string\"},"                             \
    "\"sensor_type\":{\"type\":\"string\",\"nullable\":true},"                                     \
    "\"sensor_id\":{\"type\":\"integer\",\"description\":\"when the rule is for one "              \
    "sensor\"},\"params\":{\"type\":\"object\",\"description\":\"the parameters as "               \
    "stored (normalised)\"},\"region_code\":{\"type\":\"string\"},"                                \
    "\"enabled\":{\"type\":\"boolean\"},"                                                          \
    "\"version\":{\"type\":\"integer\",\"description\":\"the ETag\"}}}"

static const yj_route routes[] = {
    {"POST", "/api/v1/readings", api_readings_post, NULL, W, PUB, 0,
     "Gateway batch of readings (X-Api-Key); 200 once every reading is stored or rejected",
     .in = "{\"oneOf\":[{\"type\":\"object\",\"required\":[\"sensor\",\"ts\",\"value\"],"
           "\"properties\":{\"sensor\":{\"type\":\"string\","
           "\"description\":\"the sensor's code\"},\"ts\":{\"oneOf\":[{\"type\":\"integer\","
           "\"description\":\"ms since the epoch\"},{\"type\":\"string\","
           "\"description\":\"RFC 3339 with an offset\",\"format\":\"date-time\"}]},"
           "\"value\":{\"type\":\"number\"}}},{\"type\":\"array\",\"items\":{\"type\":\"object\","
           "\"required\":[\"sensor\",\"ts\",\"value\"],\"properties\":{\"sensor\":{\"type\":\"stri"
           "ng\",\"description\":\"the sensor's code\"},\"ts\":{\"oneOf\":[{\"type\":\"integer\","
           "\"description\":\"ms since the epoch\"},{\"type\":\"string\","
           "\"description\":\"RFC 3339 with an offset\",\"format\":\"date-time\"}]},"
           "\"value\":{\"type\":\"number\"}}},\"maxItems\":10000},{\"type\":\"object\","
           "\"required\":[\"readings\"],\"properties\":{\"readings\":{\"type\":\"array\","
           "\"items\":{\"type\":\"object\",\"required\":[\"sensor\",\"ts\",\"value\"],"
           "\"properties\":{\"sensor\":{\"type\":\"string\","
           "\"description\":\"the sensor's code\"},\"ts\":{\"oneOf\":[{\"type\":\"integer\","
           "\"description\":\"ms since the epoch\"},{\"type\":\"string\","
           "\"description\":\"RFC 3339 with an offset\",\"format\":\"date-time\"}]},"
           "\"value\":{\"type\":\"number\"}}},\"maxItems\":10000}}}],"
           "\"description\":\"one reading, an array, or {readings: [...]}; a reading that cannot "
           "be read is stored as a reject, not refused\"}",
     .out = "{\"type\":\"object\",\"required\":[\"accepted\",\"late\",\"rejected_total\","
            "\"rejected\"],\"properties\":{\"accepted\":{\"type\":\"integer\"},"
            "\"late\":{\"type\":\"integer\",\"description\":\"of accepted: arrived late "
            "(backfilled)\"},\"rejected_total\":{\"type\":\"integer\"},"
            "\"rejected\":{\"type\":\"object\",\"description\":\"count by reason,"
            " only the reasons that occurred\",\"additionalProperties\":{\"type\":\"integer\"},"
            "\"properties\":{\"malformed\":{\"type\":\"integer\"},"
            "\"unknown_sensor\":{\"type\":\"integer\"},\"out_of_range\":{\"type\":\"integer\"},"
            "\"future\":{\"type\":\"integer\"},\"duplicate\":{\"type\":\"integer\"},"
            "\"retired\":{\"type\":\"integer\"},\"forbidden\":{\"type\":\"integer\"}}}}}"},
    {"GET", "/api/v1/sensors/latest", api_sensors_latest, "monitor", R, 0, 0,
     "Latest value of every visible sensor, with age and staleness",
     .out = "{\"type\":\"object\",\"required\":[\"items\",\"now\"],"
            "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
            "\"description\":\"ts and age_s only when there is a value\",\"required\":[\"id\","
            "\"code\",\"name\",\"value\",\"stale\"],\"properties\":{\"id\":{\"type\":\"integer\"}"
            ",\"code\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},"
            "\"type\":{\"type\":\"string\"},\"unit\":{\"type\":\"string\",\"nullable\":true},"
            "\"status\":{\"type\":\"string\"},\"region_code\":{\"type\":\"string\"},"
            "\"object_id\":{\"type\":\"integer\",\"nullable\":true},\"lat\":{\"type\":\"number\","
            "\"nullable\":true},\"lon\":{\"type\":\"number\",\"nullable\":true},"
            "\"alarm_level\":{\"type\":\"integer\",\"description\":\"the most severe open "
            "alarm's level\",\"nullable\":true},\"value\":{\"type\":\"number\","
            "\"description\":\"the latest value\",\"nullable\":true},"
            "\"ts\":{\"type\":\"integer\",\"description\":\"ms since the epoch\"},"
            "\"age_s\":{\"type\":\"integer\"},\"stale\":{\"type\":\"boolean\","
            "\"description\":\"older than twice the expected interval\"}}}},"
            "\"now\":{\"type\":\"integer\",\"description\":\"ms since the epoch\"}}}"},
    {"GET", "/api/v1/sensors/{id}/history", api_sensor_history, "monitor", R, 0, 0,
     "History of a sensor (raw, minute or hour aggregates)",
     .out = "{\"type\":\"object\",\"required\":[\"sensor_id\",\"resolution\",\"columns\","
            "\"from\",\"to\",\"points\",\"value\",\"stale\"],"
            "\"properties\":{\"sensor_id\":{\"type\":\"integer\"},\"code\":{\"type\":\"string\"},"
            "\"name\":{\"type\":\"string\"},\"unit\":{\"type\":\"string\",\"nullable\":true},"
            "\"resolution\":{\"type\":\"string\",\"enum\":[\"raw\",\"minute\",\"hour\"]},"
            "\"columns\":{\"type\":\"string\",\"enum\":[\"ts,value,late\",\"bucket,avg,min,max,"
            "n\"],\"description\":\"what each point holds\"},\"from\":{\"type\":\"integer\","
            "\"description\":\"ms since the epoch\"},\"to\":{\"type\":\"integer\","
            "\"description\":\"ms since the epoch\"},\"points\":{\"type\":\"array\","
            "\"items\":{\"type\":\"array\",\"items\":{\"oneOf\":[{\"type\":\"number\"},"
            "{\"type\":\"boolean\"}]}},\"description\":\"[ts, value, late] raw; [bucket, avg,"
            " min, max, n] aggregated\"},\"value\":{\"type\":\"number\","
            "\"description\":\"the latest value\",\"nullable\":true},"
            "\"ts\":{\"type\":\"integer\",\"description\":\"ms since the epoch\"},"
            "\"age_s\":{\"type\":\"integer\"},\"stale\":{\"type\":\"boolean\"}}}"},
    {"GET", "/api/v1/readings/rejects", api_rejects, "monitor", R, 0, 0,
     "Rejected readings with their reason",
     .out = "{\"type\":\"object\",\"description\":\"newest first\",\"required\":[\"items\"],"
            "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
            "\"required\":[\"id\",\"rx\",\"source\",\"reason\"],"
            "\"properties\":{\"id\":{\"type\":\"integer\"},\"rx\":{\"type\":\"integer\","
            "\"description\":\"received, ms since the epoch\"},\"source\":{\"type\":\"string\","
            "\"enum\":[\"mqtt\",\"http\",\"kj\",\"sim\"]},\"origin\":{\"type\":\"string\","
            "\"nullable\":true},\"sensor_code\":{\"type\":\"string\",\"nullable\":true},"
            "\"sensor_id\":{\"type\":\"integer\",\"nullable\":true},"
            "\"region_code\":{\"type\":\"string\",\"nullable\":true},"
            "\"ts\":{\"type\":\"integer\",\"nullable\":true},\"value\":{\"type\":\"number\","
            "\"nullable\":true},\"reason\":{\"type\":\"string\",\"enum\":[\"malformed\","
            "\"unknown_sensor\",\"out_of_range\",\"future\",\"duplicate\",\"retired\","
            "\"forbidden\"]},\"detail\":{\"type\":\"string\",\"nullable\":true},"
            "\"raw\":{\"type\":\"string\",\"description\":\"the payload as received\","
            "\"nullable\":true}}}}}}"},
    {"GET", "/api/v1/rules", api_rules_list, "monitor", R, 0, 0, "Alarm rules and the defaults",
     .out = "{\"type\":\"object\",\"required\":[\"items\",\"defaults\"],"
            "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
            "\"required\":[\"id\",\"name\",\"kind\",\"sensor_type\",\"sensor_id\",\"params\","
            "\"enabled\",\"region_code\",\"version\",\"updated_at\",\"updated_by\"],"
            "\"properties\":{\"id\":{\"type\":\"integer\"},\"name\":{\"type\":\"string\"},"
            "\"kind\":{\"type\":\"string\"},\"sensor_type\":{\"type\":\"string\","
            "\"nullable\":true},\"sensor_id\":{\"type\":\"integer\",\"nullable\":true},"
            "\"params\":{\"type\":\"object\"},\"enabled\":{\"type\":\"boolean\"},"
            "\"region_code\":{\"type\":\"string\"},\"version\":{\"type\":\"integer\"},"
            "\"updated_at\":{\"type\":\"string\",\"nullable\":true},"
            "\"updated_by\":{\"type\":\"string\",\"nullable\":true}}}},"
            "\"defaults\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
            "\"required\":[\"sensor_type\",\"kind\",\"kind_label\",\"params\"],"
            "\"properties\":{\"sensor_type\":{\"type\":\"string\",\"description\":\"label\"},"
            "\"kind\":{\"type\":\"string\"},\"kind_label\":{\"type\":\"string\"},"
            "\"params\":{\"type\":\"object\"}}},\"description\":\"the built-in rules per sensor "
            "type\"}}}"},
    {"POST", "/api/v1/rules", api_rules_create, "rule", W, 0, 0, "Create an alarm rule",
     .in = RULE_IN, .out = "201 " RULE_OUT},
    {"PUT", "/api/v1/rules/{id}", api_rules_update, "rule", W, YJ_ROUTE_IF_MATCH, 0,
     "Replace an alarm rule (If-Match required)", .in = RULE_IN, .out = RULE_OUT},
    {"DELETE", "/api/v1/rules/{id}", api_rules_delete, "rule", W, YJ_ROUTE_IF_MATCH, 0,
     "Delete an alarm rule (If-Match required)", .in = YJ_NO_BODY,
     .out = "{\"type\":\"object\",\"required\":[\"deleted\"],"
            "\"properties\":{\"deleted\":{\"type\":\"boolean\",\"enum\":[true]}}}"},
    {"POST", "/api/v1/maintenance", api_maintenance_add, "rule", W, 0, 0,
     "Maintenance/calibration window that suppresses a sensor's alarms",
     .in = "{\"type\":\"object\",\"required\":[\"sensor_id\",\"start\",\"end\",\"reason\"],"
           "\"properties\":{\"sensor_id\":{\"type\":\"integer\"},\"start\":{\"type\":\"integer\","
           "\"description\":\"ms since the epoch\"},\"end\":{\"type\":\"integer\","
           "\"description\":\"ms since the epoch; after start\"},\"reason\":{\"type\":\"string\","
           "\"description\":\"e.g. calibration, repair\"}}}",
     .out = "201 {\"type\":\"object\",\"required\":[\"id\",\"sensor_id\",\"start\",\"end\","
            "\"reason\",\"region_code\"],\"properties\":{\"id\":{\"type\":\"integer\"},"
            "\"sensor_id\":{\"type\":\"integer\"},\"start\":{\"type\":\"integer\","
            "\"description\":\"ms since the epoch\"},\"end\":{\"type\":\"integer\","
            "\"description\":\"ms since the epoch\"},\"reason\":{\"type\":\"string\"},"
            "\"region_code\":{\"type\":\"string\",\"description\":\"the sensor's\"}}}"},
    {"GET", "/api/v1/alarms", api_alarms_list, "alarm", R, 0, 0, "Alarms, open ones first",
     .out = "{\"type\":\"object\",\"description\":\"open first, then by level, newest first\","
            "\"required\":[\"items\",\"total\"],\"properties\":{\"items\":{\"type\":\"array\","
            "\"items\":{\"$ref\":\"#/components/schemas/Alarm\"}},"
            "\"total\":{\"type\":\"integer\"}}}"},
    {"GET", "/api/v1/alarms/{id}", api_alarm_get, "alarm", R, 0, 0, "An alarm with its timeline",
     .out = "{\"$ref\":\"#/components/schemas/Alarm\"}"},
    {"POST", "/api/v1/alarms/{id}/{action}", api_alarm_act, "alarm", W, YJ_ROUTE_IF_MATCH, 0,
     "acknowledge | verify | dispose | close (verdict real/false/fault); If-Match required",
     .in = "{\"type\":\"object\",\"description\":\"may be empty (acknowledge, verify, dispose)\","
           "\"properties\":{\"note\":{\"type\":\"string\",\"description\":\"for the timeline\"},"
           "\"verdict\":{\"type\":\"string\",\"enum\":[\"real\",\"false\",\"fault\"],"
           "\"description\":\"close: required\"},\"cause\":{\"type\":\"string\","
           "\"description\":\"close real: required\"},\"measures\":{\"type\":\"string\","
           "\"description\":\"close real: required\"},\"reason\":{\"type\":\"string\","
           "\"description\":\"close false or fault: required (fault: what is wrong; opens a work "
           "order)\"}}}",
     .out = "{\"$ref\":\"#/components/schemas/Alarm\"}"},
    {"GET", "/api/v1/workorders", api_workorders_list, "alarm", R, 0, 0,
     "Sensor maintenance work orders",
     .out = "{\"type\":\"object\",\"description\":\"newest first\",\"required\":[\"items\"],"
            "\"properties\":{\"items\":{\"type\":\"array\","
            "\"items\":{\"$ref\":\"#/components/schemas/WorkOrder\"}}}}"},
    {"GET", "/api/v1/workorders/{id}", api_workorder_get, "alarm", R, 0, 0,
     "A work order (ETag) and what the caller may do with it",
     .out = "{\"$ref\":\"#/components/schemas/WorkOrder\"}"},
    {"POST", "/api/v1/workorders/{id}/{action}", api_workorder_act, "alarm", W, YJ_ROUTE_IF_MATCH,
     0, "repair (with a note) | restore; If-Match required",
     .in = "{\"type\":\"object\",\"description\":\"may be empty (restore)\","
           "\"properties\":{\"note\":{\"type\":\"string\","
           "\"description\":\"repair: required (what was done)\"}}}",
     .out = "{\"$ref\":\"#/components/schemas/WorkOrder\"}"},
    {"GET", "/api/v1/inbox", api_inbox, "alarm", R, 0, 0, "The caller's alarm inbox",
     .out = "{\"type\":\"object\",\"required\":[\"items\",\"unread\"],"
            "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
            "\"required\":[\"id\",\"alarm_id\",\"group_name\",\"reason\",\"created_at\","
            "\"read_at\",\"title\",\"level\",\"state\",\"cond\",\"region_code\",\"late\"],"
            "\"properties\":{\"id\":{\"type\":\"integer\"},\"alarm_id\":{\"type\":\"integer\"},"
            "\"group_name\":{\"type\":\"string\",\"nullable\":true},"
            "\"reason\":{\"type\":\"string\",\"description\":\"why it reached the caller\"},"
            "\"created_at\":{\"type\":\"integer\",\"description\":\"ms since the epoch\"},"
            "\"read_at\":{\"type\":\"integer\",\"description\":\"ms since the epoch\","
            "\"nullable\":true},\"title\":{\"type\":\"string\"},\"level\":{\"type\":\"integer\"},"
            "\"state\":{\"type\":\"string\"},\"cond\":{\"type\":\"string\"},"
            "\"region_code\":{\"type\":\"string\"},\"late\":{\"type\":\"boolean\"}}},"
            "\"description\":\"newest first\"},\"unread\":{\"type\":\"integer\","
            "\"description\":\"unread messages in all\"}}}"},
    /* marking one's own message read: whoever may read alarms */
    {"POST", "/api/v1/inbox/{id}/read", api_inbox_read, "alarm", R, 0, 0, "Mark a message read",
     .in = YJ_NO_BODY,
     .out = "{\"type\":\"object\",\"required\":[\"read\"],"
            "\"properties\":{\"read\":{\"type\":\"boolean\",\"enum\":[true]}}}"},
    {"GET", "/api/v1/monitor/health", api_health, "monitor", R, 0, 0,
     "Daily online rate and alarm handling times per region or owner",
     .out = "{\"type\":\"object\",\"required\":[\"day\",\"group_by\",\"groups\"],"
            "\"properties\":{\"day\":{\"type\":\"string\",\"description\":\"YYYY-MM-DD,"
            " Beijing time\"},\"group_by\":{\"type\":\"string\",\"enum\":[\"region\","
            "\"enterprise\"]},\"groups\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
            "\"description\":\"online_rate when it has sensors,"
            " the alarm figures when it had alarms that day\",\"required\":[\"group\","
            "\"sensors\"],\"properties\":{\"group\":{\"type\":\"string\","
            "\"description\":\"county code or owner name\"},\"sensors\":{\"type\":\"integer\"},"
            "\"online_rate\":{\"type\":\"number\",\"description\":\"share of expected readings "
            "received (0-1)\"},\"alarms\":{\"type\":\"integer\"},"
            "\"mean_ack_s\":{\"type\":\"number\",\"nullable\":true},"
            "\"mean_close_s\":{\"type\":\"number\",\"nullable\":true},"
            "\"unacknowledged\":{\"type\":\"integer\"},\"open\":{\"type\":\"integer\"}}}}}}"},
    {"GET", "/api/v1/map", api_map, "monitor", R, 0, 0,
     "Risk map: sensors, alarms, objects, hazards, resources in a bbox (GeoJSON)",
     .out = "application/geo+json {\"type\":\"object\",\"required\":[\"type\",\"features\"],"
            "\"properties\":{\"type\":{\"type\":\"string\",\"enum\":[\"FeatureCollection\"]},"
            "\"features\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
            "\"required\":[\"type\",\"geometry\",\"properties\"],"
            "\"properties\":{\"type\":{\"type\":\"string\",\"enum\":[\"Feature\"]},"
            "\"geometry\":{\"type\":\"object\",\"required\":[\"type\",\"coordinates\"],"
            "\"properties\":{\"type\":{\"type\":\"string\",\"enum\":[\"Point\"]},"
            "\"coordinates\":{\"type\":\"array\",\"items\":{\"type\":\"number\"},"
            "\"description\":\"[lon, lat]\"}}},\"properties\":{\"type\":\"object\","
            "\"required\":[\"layer\",\"id\"],\"properties\":{\"layer\":{\"type\":\"string\","
            "\"enum\":[\"sensor\",\"alarm\",\"objects\",\"hazards\",\"resources\"]},"
            "\"id\":{\"type\":\"integer\"},\"name\":{\"type\":\"string\"},"
            "\"state\":{\"type\":\"string\",\"description\":\"sensors: normal, maintenance,"
            " offline, or the alarm's colour\"}},\"additionalProperties\":true}}}}}}"},
    {"POST", "/api/v1/gateways", api_gateway_create, "gateway", W, 0, 0,
     "Register a reading gateway; returns its API key once",
     .in = "{\"type\":\"object\",\"required\":[\"name\",\"region_code\"],"
           "\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":100},"
           "\"region_code\":{\"type\":\"string\",\"description\":\"inside the caller's region\"}}}",
     .out = "201 {\"type\":\"object\",\"required\":[\"id\",\"name\",\"region_code\",\"api_key\"],"
            "\"properties\":{\"id\":{\"type\":\"integer\"},\"name\":{\"type\":\"string\"},"
            "\"region_code\":{\"type\":\"string\"},\"api_key\":{\"type\":\"string\","
            "\"description\":\"send as X-Api-Key; shown only this once\"}}}"},
    {"GET", "/api/v1/alarm-groups", api_groups_list, "alarm", R, 0, 0,
     "Recipient groups of alarms in the caller's region",
     .out = "{\"type\":\"object\",\"required\":[\"items\"],"
            "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
            "\"required\":[\"id\",\"name\",\"region_code\",\"min_level\",\"kinds\","
            "\"industries\",\"member_count\"],\"properties\":{\"id\":{\"type\":\"integer\"},"
            "\"name\":{\"type\":\"string\"},\"region_code\":{\"type\":\"string\"},"
            "\"min_level\":{\"type\":\"integer\",\"description\":\"1: red only ... 4: every "
            "level\"},\"kinds\":{\"type\":\"string\",\"description\":\"rule kinds,"
            " comma-separated; empty: all\"},\"industries\":{\"type\":\"string\","
            "\"description\":\"empty: all\"},\"member_count\":{\"type\":\"integer\"},"
            "\"members\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
            "\"description\":\"user names; only for those who may read rules\"}}}}}}"},
    {"POST", "/api/v1/alarm-groups", api_groups_create, "rule", W, 0, 0,
     "Create a recipient group bound to region, level, rule kinds and industries",
     .in = "{\"type\":\"object\",\"required\":[\"name\",\"region_code\",\"members\"],"
           "\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":90},"
           "\"region_code\":{\"type\":\"string\",\"description\":\"inside the caller's region\"},"
           "\"min_level\":{\"type\":\"integer\",\"description\":\"1 (red only) to 4 (all,"
           " the default)\",\"minimum\":1,\"maximum\":4},\"kinds\":{\"type\":\"string\","
           "\"description\":\"rule kinds, comma-separated; empty: all\"},"
           "\"industries\":{\"type\":\"string\",\"description\":\"empty: all\"},"
           "\"members\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
           "\"description\":\"user names whose region contains the group's\",\"minItems\":1,"
           "\"maxItems\":200}}}",
     .out = "201 {\"type\":\"object\",\"description\":\"the body as sent, with the new id\","
            "\"required\":[\"id\"],\"properties\":{\"id\":{\"type\":\"integer\"}},"
            "\"additionalProperties\":true}"},
};

static const yj_resource resources[] = {
    {"monitor", "监测数据"},
    {"rule", "报警规则"},
    {"alarm", "监测报警"},
    {"gateway", "数据网关"},
};

#define ADMIN YJ_R(ADMIN)
#define DUTY  YJ_R(DUTY)
#define CMD   YJ_R(COMMANDER)
#define SUP   YJ_R(SUPERVISOR)
#define ENT   YJ_R(ENTERPRISE)
static const yj_perm perms[] = {
    {"monitored_object", R, ADMIN | DUTY | CMD | SUP | ENT},
    {"monitored_object", W, ADMIN | SUP},
    {"sensor", R, ADMIN | DUTY | CMD | SUP | ENT},
    {"sensor", W, ADMIN | SUP},
    {"monitor", R, ADMIN | DUTY | CMD | SUP | ENT},
    {"monitor", W, 0}, /* readings come from gateways (API keys), MQTT and KJ files */
    {"rule", R, ADMIN | SUP},
    {"rule", W, ADMIN | SUP},
    {"alarm", R, ADMIN | DUTY | CMD | SUP | ENT},
    {"alarm", W, ADMIN | DUTY | SUP | ENT},
    {"gateway", R, ADMIN},
    {"gateway", W, ADMIN},
};

/* ---- schema -------------------------------------------------------------------------------- */

static const yj_migration migrations[] = {
    {4, "M2 registries: monitored objects and sensors", NULL, registry_migration},
    {5, "M2 readings, rules, alarms, work orders, inbox, gateways",
     /* raw readings: (sensor, ts) is the identity, so re-delivery is a no-op
      * (version 7 replaces this table) */
     "CREATE TABLE reading ("
     "  id INTEGER PRIMARY KEY, sensor_id INTEGER NOT NULL, ts INTEGER NOT NULL,"
     "  value REAL NOT NULL, rx INTEGER NOT NULL, flags INTEGER NOT NULL DEFAULT 0);"
     "CREATE UNIQUE INDEX reading_sensor_ts ON reading(sensor_id, ts);"
     "CREATE TABLE reading_min ("
     "  sensor_id INTEGER NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL,"
     "  sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, PRIMARY KEY (sensor_id, bucket));"
     "CREATE INDEX reading_min_bucket ON reading_min(bucket);"
     "CREATE TABLE reading_hour ("
     "  sensor_id INTEGER NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL,"
     "  sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, PRIMARY KEY (sensor_id, bucket));"
     "CREATE TABLE rollup_state (name TEXT PRIMARY KEY, wm INTEGER NOT NULL);"
     "CREATE TABLE reading_reject ("
     "  id INTEGER PRIMARY KEY, rx INTEGER NOT NULL, source TEXT NOT NULL, origin TEXT,"
     "  sensor_code TEXT, sensor_id INTEGER, region_code TEXT, ts INTEGER, value REAL,"
     "  reason TEXT NOT NULL, detail TEXT, raw TEXT);"
     "CREATE INDEX reading_reject_reason ON reading_reject(reason, id);"
     "CREATE TABLE monitor_rule ("
     "  id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, sensor_type TEXT,"
     "  sensor_id INTEGER REFERENCES sensor(id), params TEXT NOT NULL,"
     "  enabled INTEGER NOT NULL DEFAULT 1, region_code TEXT NOT NULL,"
     "  version INTEGER NOT NULL DEFAULT 1, updated_at TEXT, updated_by TEXT);"
     "CREATE TABLE maintenance_window ("
     "  id INTEGER PRIMARY KEY, sensor_id INTEGER REFERENCES sensor(id),"
     "  object_id INTEGER REFERENCES monitored_object(id), start_ms INTEGER NOT NULL,"
     "  end_ms INTEGER NOT NULL, reason TEXT NOT NULL, region_code TEXT NOT NULL,"
     "  created_by TEXT, created_at TEXT);"
     "CREATE TABLE alarm ("
     "  id INTEGER PRIMARY KEY, sensor_id INTEGER NOT NULL REFERENCES sensor(id),"
     "  rule_key TEXT NOT NULL, rule_kind TEXT NOT NULL, object_id INTEGER, enterprise_id INTEGER,"
     "  region_code TEXT NOT NULL, title TEXT NOT NULL, level INTEGER NOT NULL,"
     "  cur_sev INTEGER NOT NULL, state TEXT NOT NULL, cond TEXT NOT NULL,"
     "  count INTEGER NOT NULL DEFAULT 1, first_value REAL, last_value REAL, peak REAL, unit TEXT,"
     "  raised_at INTEGER NOT NULL, last_at INTEGER NOT NULL, cleared_at INTEGER,"
     "  late INTEGER NOT NULL DEFAULT 0, live_since INTEGER,"
     "  escalation INTEGER NOT NULL DEFAULT 0, escalated_region TEXT,"
     "  ack_at INTEGER, ack_by TEXT, verified_at INTEGER, verified_by TEXT,"
     "  disposing_at INTEGER, disposing_by TEXT, closed_at INTEGER, closed_by TEXT,"
     "  verdict TEXT, cause TEXT, measures TEXT, reason TEXT, workorder_id INTEGER,"
     "  version INTEGER NOT NULL DEFAULT 1);"
     "CREATE INDEX alarm_state ON alarm(state, raised_at);"
     "CREATE INDEX alarm_sensor ON alarm(sensor_id, id);"
     "CREATE INDEX alarm_region ON alarm(region_code, id);"
     "CREATE TABLE alarm_event ("
     "  id INTEGER PRIMARY KEY, alarm_id INTEGER NOT NULL REFERENCES alarm(id),"
     "  ts INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, note TEXT,"
     "  value REAL, level INTEGER);"
     "CREATE INDEX alarm_event_alarm ON alarm_event(alarm_id, id);"
     "CREATE TABLE workorder ("
     "  id INTEGER PRIMARY KEY, alarm_id INTEGER NOT NULL REFERENCES alarm(id),"
     "  sensor_id INTEGER NOT NULL REFERENCES sensor(id), region_code TEXT NOT NULL,"
     "  enterprise_id INTEGER, state TEXT NOT NULL, fault TEXT, created_at INTEGER NOT NULL,"
     "  created_by TEXT, repaired_at INTEGER, repaired_by TEXT, repair_note TEXT,"
     "  restored_at INTEGER, restored_by TEXT, version INTEGER NOT NULL DEFAULT 1);"
     "CREATE TABLE alarm_group ("
     "  id INTEGER PRIMARY KEY, name TEXT NOT NULL, region_code TEXT NOT NULL,"
     "  min_level INTEGER NOT NULL DEFAULT 4, kinds TEXT NOT NULL DEFAULT '',"
     "  industries TEXT NOT NULL DEFAULT '');"
     "CREATE TABLE alarm_group_member ("
     "  group_id INTEGER NOT NULL REFERENCES alarm_group(id),"
     "  user_id INTEGER NOT NULL REFERENCES users(id), PRIMARY KEY (group_id, user_id));"
     "CREATE TABLE inbox ("
     "  id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),"
     "  alarm_id INTEGER NOT NULL REFERENCES alarm(id), group_name TEXT, reason TEXT NOT NULL,"
     "  created_at INTEGER NOT NULL, read_at INTEGER);"
     "CREATE INDEX inbox_user ON inbox(user_id, id);"
     "CREATE TABLE gateway ("
     "  id INTEGER PRIMARY KEY, name TEXT NOT NULL, region_code TEXT NOT NULL REFERENCES "
     "region(code),"
     "  key_hash TEXT NOT NULL UNIQUE, created_at TEXT, created_by TEXT,"
     "  disabled INTEGER NOT NULL DEFAULT 0);",
     NULL},
    {6, "M2 KJ 5-minute statistics (AQMT)",
     "CREATE TABLE kj_stat ("
     "  sensor_id INTEGER NOT NULL REFERENCES sensor(id), ts INTEGER NOT NULL, max REAL NOT NULL,"
     "  max_ts INTEGER, min REAL NOT NULL, avg REAL NOT NULL);"
     "CREATE UNIQUE INDEX kj_stat_sensor_ts ON kj_stat(sensor_id, ts);",
     NULL},
    {7, "M2 raw readings: an append-only log merged into a history table keyed by (sensor, ts)",
     /* monitor/rawlog.c: commits append to reading_log (arrival order, no
      * other index); the writer merges it, sorted, into `reading` and the
      * minute/hour aggregates.  Readings not yet rolled up under the old
      * watermark go back to the log so the merge aggregates them. */
     "CREATE TABLE reading_log ("
     "  id INTEGER PRIMARY KEY, sensor_id INTEGER NOT NULL, ts INTEGER NOT NULL,"
     "  value REAL NOT NULL, rx INTEGER NOT NULL, flags INTEGER NOT NULL DEFAULT 0);"
     "CREATE TABLE reading_new ("
     "  sensor_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL,"
     "  rx INTEGER NOT NULL, flags INTEGER NOT NULL DEFAULT 0,"
     "  PRIMARY KEY (sensor_id, ts)) yj_key_ordered;"
     "INSERT INTO reading_new (sensor_id, ts, value, rx, flags)"
     "  SELECT sensor_id, ts, value, rx, flags FROM reading"
     "  WHERE id <= COALESCE((SELECT wm FROM rollup_state WHERE name = 'reading'), 0);"
     "INSERT INTO reading_log (sensor_id, ts, value, rx, flags)"
     "  SELECT sensor_id, ts, value, rx, flags FROM reading"
     "  WHERE id > COALESCE((SELECT wm FROM rollup_state WHERE name = 'reading'), 0) ORDER BY id;"
     "DROP TABLE reading;"
     "ALTER TABLE reading_new RENAME TO reading;"
     "DROP TABLE rollup_state;",
     NULL},
    {8, "M2 reading log rows carry the node that wrote them",
     /* rawlog.c: a node merges its own rows; those of a node that died
      * are adopted by a live one ('' : a command-line process) */
     "ALTER TABLE reading_log ADD COLUMN node TEXT NOT NULL DEFAULT '';", NULL},
    {9, "M2 ingest partitions: each county's readings taken by one node at a time",
     /* partition.c: a lease per county, and the nodes alive to share them */
     "CREATE TABLE ingest_lease ("
     "  county TEXT PRIMARY KEY, holder TEXT NOT NULL, until_ms INTEGER NOT NULL);"
     "CREATE TABLE ingest_node ("
     "  node TEXT PRIMARY KEY, seen_ms INTEGER NOT NULL, address TEXT NOT NULL);",
     NULL},
};

/* ---- options and runtime ------------------------------------------------------------------- */

static const yj_option options[] = {
    {"--mqtt-consumers", YJ_OPT_INT, "N", "1", "parallel MQTT consumers on a shared subscription",
     1, 64},
    {"--mqtt-client-id", YJ_OPT_TEXT, "ID", "yingji-ingest", "persistent MQTT session id"},
    {"--mqtt-topic", YJ_OPT_TEXT, "FILTER", "yingji/v1/#",
     "readings this node takes (one node; several nodes: --mqtt-partitions)"},
    {"--mqtt-partitions", YJ_OPT_FLAG, NULL, NULL,
     "share the counties' readings with the other nodes: each county's topic"
     " yingji/v1/<county>/# is taken by one node at a time and moves when it dies"},
    {"--node-address", YJ_OPT_TEXT, "HOST:PORT", NULL,
     "where the other nodes reach this one (default --listen): gateway readings for"
     " a county held elsewhere are handed to its node"},
    {"--retention-days", YJ_OPT_INT, "DAYS", "30", "keep raw readings this long", 1, 3650},
    {"--kj-dir", YJ_OPT_TEXT, "DIR", NULL,
     "watch this directory for KJ files (done/ and failed/ below it)"},
    {"--ack-timeouts", YJ_OPT_TEXT, "R,O,Y,B", "5,10,15,30",
     "minutes before an unacknowledged red, orange, yellow, blue alarm is escalated"},
};

static mon_config cfg;
static const char *kj_dir;
static mon_mqtt_config mqtt;
static const char *node_address;
static char mqtt_host[256];

/* "HOST:PORT" (port 1883 when left out); false if unusable. */
static bool host_port(const char *s, char *host, size_t n, int *port)
{
    const char *colon = strrchr(s, ':');
    snprintf(host, n, "%.*s", colon ? (int)(colon - s) : (int)strlen(s), s);
    *port = colon ? atoi(colon + 1) : 1883;
    return host[0] != '\0' && *port > 0 && *port <= 65535;
}

static yj_code configure(const yj_optset *o, yj_err *err)
{
    cfg = (mon_config){.retention_days = (int)yj_opt_int(o, "--retention-days")};
    if (yj_opt_given(o, "--ack-timeouts")) {
        int m[4];
        char tail;
        const char *acks = yj_opt_text(o, "--ack-timeouts");
        if (sscanf(acks, "%d,%d,%d,%d%c", &m[0], &m[1], &m[2], &m[3], &tail) != 4 || m[0] < 1 ||
            m[1] < 1 || m[2] < 1 || m[3] < 1)
            return yj_err_set(err, YJ_EINVAL, "--ack-timeouts",
                              "--ack-timeouts wants four minutes, e.g. 5,10,15,30");
        for (int l = 1; l <= 4; l++)
            cfg.ack_timeout_s[l] = m[l - 1] * 60;
    }
    kj_dir = yj_opt_text(o, "--kj-dir");
    node_address = yj_opt_given(o, "--node-address") ? yj_opt_text(o, "--node-address")
                                                     : yj_opt_text(o, "--listen");
    const char *broker = yj_opt_text(o, "--mqtt");
    mqtt = (mon_mqtt_config){.client_id = yj_opt_text(o, "--mqtt-client-id"),
                             .topic = yj_opt_text(o, "--mqtt-topic"),
                             .consumers = (int)yj_opt_int(o, "--mqtt-consumers"),
                             .partitioned = yj_opt_flag(o, "--mqtt-partitions")};
    if (mqtt.partitioned &&
        (yj_opt_given(o, "--mqtt-topic") || yj_opt_given(o, "--mqtt-consumers")))
        return yj_err_set(err, YJ_EINVAL, "--mqtt-partitions",
                          "--mqtt-partitions takes each county's topic: no --mqtt-topic or"
                          " --mqtt-consumers with it");
    if (broker && !host_port(broker, mqtt_host, sizeof mqtt_host, &mqtt.port))
        return yj_err_set(err, YJ_EINVAL, "--mqtt", "--mqtt wants HOST:PORT");
    if (mqtt.partitioned && broker == NULL)
        return yj_err_set(err, YJ_EINVAL, "--mqtt-partitions", "--mqtt-partitions needs --mqtt");
    /* other nodes post gateway readings there: an address they can reach */
    char ahost[256];
    int aport = 0;
    if (mqtt.partitioned && (node_address == NULL || strchr(node_address, ':') == NULL ||
                             !host_port(node_address, ahost, sizeof ahost, &aport) ||
                             strcmp(ahost, "0.0.0.0") == 0 || strcmp(ahost, "[::]") == 0))
        return yj_err_set(err, YJ_EINVAL, "--node-address",
                          "--node-address wants the HOST:PORT the other nodes reach this one"
                          " at (\"%s\" is not one)",
                          node_address ? node_address : "");
    mqtt.host = broker ? mqtt_host : NULL;
    return YJ_OK;
}

static bool test_hooks; /* tests drive the clock: each run a whole pass */

static void stop(void)
{
    mon_kj_stop();
    mon_partitions_stop();
    mon_mqtt_stop();
    mon_stop();
}

/* Data gaps, unacknowledged-alarm escalation and retention, on the ingest
 * writer (it alone holds the rule state): a slice of retention a second;
 * under test hooks a whole pass with the raw log merged first. */
static yj_code timer_run(yj_store *s, int64_t now, yj_err *err)
{
    (void)s;
    (void)now; /* the writer reads the same clock */
    (void)err;
    if (mon_running())
        mon_tick(test_hooks);
    return YJ_OK;
}

static const yj_timer timers[] = {
    /* the node's own ingest writer: its rules, windows and log merge */
    {"monitor.timers", 1000, timer_run, .every_node = true},
};

static yj_code start(const yj_runtime *rt, yj_err *err)
{
    char why[sizeof err->message];
    test_hooks = rt->test_hooks;
    yj_code rc = mon_start(rt->store, &cfg, err);
    if (rc == YJ_OK && mqtt.host && (rc = mon_mqtt_start(&mqtt, err)) != YJ_OK) {
        snprintf(why, sizeof why, "%s", err->message);
        yj_err_set(err, rc, "--mqtt", "--mqtt %s:%d: %s", mqtt.host, mqtt.port, why);
    }
    if (rc == YJ_OK && mqtt.partitioned)
        rc = mon_partitions_start(rt->store, mqtt.client_id, node_address, err);
    if (rc == YJ_OK && kj_dir && (rc = mon_kj_watch(rt->store, kj_dir, err)) != YJ_OK) {
        snprintf(why, sizeof why, "%s", err->message);
        yj_err_set(err, rc, "--kj-dir", "--kj-dir: %s", why);
    }
    return rc;
}

/* ---- events, commands, pages ------------------------------------------------------------- */

static const yj_event_kind events[] = {
    {"alarm", "alarm"}, /* raised, upgraded, acknowledged ... closed */
};

static const yj_command commands[] = {
    {"ingest-kj", cmd_ingest_kj, "ingest coal-mine KJ monitoring files"},
    {"simulate", cmd_simulate, "publish simulated sensor readings to an MQTT broker (demo)"},
};

static const yj_page pages[] = {
    {"mon", "monitor.js"},
};

static const yj_nav nav[] = {
    {"nav-mon-alarms", "实时报警", "#/mon/alarms", "alarm", R, YJ_NAV_UNREAD},
    {"nav-mon-sensors", "监测数据", "#/mon/sensors", "monitor", R},
    {"nav-mon-workorders", "维修工单", "#/mon/workorders", "alarm", R},
    {"nav-mon-health", "设备健康", "#/mon/health", "monitor", R},
    {"nav-mon-rejects", "拒收数据", "#/mon/rejects", "monitor", R},
};

const yj_module monitor_module = {
    .name = "monitor",
    .label = "监测预警",
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
    .metrics = mon_metrics,
    YJ_LIST(commands, commands),
    .demo = demo_monitor_create,
    .demo_after_logins = demo_monitor_groups,
    YJ_LIST(pages, pages),
    YJ_LIST(nav, nav),
};
