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

static const yj_route routes[] = {
    {"POST", "/api/v1/readings", api_readings_post, NULL, W, PUB, 0,
     "Gateway batch of readings (X-Api-Key); 200 once every reading is stored or rejected"},
    {"GET", "/api/v1/sensors/latest", api_sensors_latest, "monitor", R, 0, 0,
     "Latest value of every visible sensor, with age and staleness"},
    {"GET", "/api/v1/sensors/{id}/history", api_sensor_history, "monitor", R, 0, 0,
     "History of a sensor (raw, minute or hour aggregates)"},
    {"GET", "/api/v1/readings/rejects", api_rejects, "monitor", R, 0, 0,
     "Rejected readings with their reason"},
    {"GET", "/api/v1/rules", api_rules_list, "monitor", R, 0, 0, "Alarm rules and the defaults"},
    {"POST", "/api/v1/rules", api_rules_create, "rule", W, 0, 0, "Create an alarm rule"},
    {"PUT", "/api/v1/rules/{id}", api_rules_update, "rule", W, 0, 0, "Replace an alarm rule"},
    {"DELETE", "/api/v1/rules/{id}", api_rules_delete, "rule", W, 0, 0, "Delete an alarm rule"},
    {"POST", "/api/v1/maintenance", api_maintenance_add, "rule", W, 0, 0,
     "Maintenance/calibration window that suppresses a sensor's alarms"},
    {"GET", "/api/v1/alarms", api_alarms_list, "alarm", R, 0, 0, "Alarms, open ones first"},
    {"GET", "/api/v1/alarms/{id}", api_alarm_get, "alarm", R, 0, 0, "An alarm with its timeline"},
    {"POST", "/api/v1/alarms/{id}/{action}", api_alarm_act, "alarm", W, 0, 0,
     "acknowledge | verify | dispose | close (verdict real/false/fault)"},
    {"GET", "/api/v1/workorders", api_workorders_list, "alarm", R, 0, 0,
     "Sensor maintenance work orders"},
    {"POST", "/api/v1/workorders/{id}/{action}", api_workorder_act, "alarm", W, 0, 0,
     "repair | restore"},
    {"GET", "/api/v1/inbox", api_inbox, "alarm", R, 0, 0, "The caller's alarm inbox"},
    /* marking one's own message read: whoever may read alarms */
    {"POST", "/api/v1/inbox/{id}/read", api_inbox_read, "alarm", R, 0, 0, "Mark a message read"},
    {"GET", "/api/v1/monitor/health", api_health, "monitor", R, 0, 0,
     "Daily online rate and alarm handling times per region or owner"},
    {"GET", "/api/v1/map", api_map, "monitor", R, 0, 0,
     "Risk map: sensors, alarms, objects, hazards, resources in a bbox (GeoJSON)"},
    {"POST", "/api/v1/gateways", api_gateway_create, "gateway", W, 0, 0,
     "Register a reading gateway; returns its API key once"},
    {"GET", "/api/v1/alarm-groups", api_groups_list, "alarm", R, 0, 0,
     "Recipient groups of alarms in the caller's region"},
    {"POST", "/api/v1/alarm-groups", api_groups_create, "rule", W, 0, 0,
     "Create a recipient group bound to region, level, rule kinds and industries"},
    {"POST", "/api/v1/monitor/tick", api_monitor_tick, "gateway", W, YJ_ROUTE_TEST_HOOK, 0,
     "Tests only (serve --test-hooks): set the engine clock and run its timers"},
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
     "  PRIMARY KEY (sensor_id, ts)) WITHOUT ROWID;"
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
};

/* ---- options and runtime ------------------------------------------------------------------- */

static const yj_option options[] = {
    {"--mqtt-consumers", YJ_OPT_INT, "N", "1", "parallel MQTT consumers on a shared subscription",
     1, 64},
    {"--mqtt-client-id", YJ_OPT_TEXT, "ID", "yingji-ingest", "persistent MQTT session id"},
    {"--retention-days", YJ_OPT_INT, "DAYS", "30", "keep raw readings this long", 1, 3650},
    {"--kj-dir", YJ_OPT_TEXT, "DIR", NULL,
     "watch this directory for KJ files (done/ and failed/ below it)"},
    {"--ack-timeouts", YJ_OPT_TEXT, "R,O,Y,B", "5,10,15,30",
     "minutes before an unacknowledged red, orange, yellow, blue alarm is escalated"},
};

static mon_config cfg;
static const char *kj_dir;
static mon_mqtt_config mqtt;
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
    cfg = (mon_config){.retention_days = (int)yj_opt_int(o, "--retention-days"),
                       .no_timers = yj_opt_flag(o, "--test-hooks")};
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
    const char *broker = yj_opt_text(o, "--mqtt");
    mqtt = (mon_mqtt_config){.client_id = yj_opt_text(o, "--mqtt-client-id"),
                             .consumers = (int)yj_opt_int(o, "--mqtt-consumers")};
    if (broker && !host_port(broker, mqtt_host, sizeof mqtt_host, &mqtt.port))
        return yj_err_set(err, YJ_EINVAL, "--mqtt", "--mqtt wants HOST:PORT");
    mqtt.host = broker ? mqtt_host : NULL;
    return YJ_OK;
}

static void stop(void)
{
    mon_kj_stop();
    mon_mqtt_stop();
    mon_stop();
}

static yj_code start(const yj_runtime *rt, yj_err *err)
{
    char why[sizeof err->message];
    yj_code rc = mon_start(rt->store, &cfg, err);
    if (rc == YJ_OK && mqtt.host && (rc = mon_mqtt_start(&mqtt, err)) != YJ_OK) {
        snprintf(why, sizeof why, "%s", err->message);
        yj_err_set(err, rc, "--mqtt", "--mqtt %s:%d: %s", mqtt.host, mqtt.port, why);
    }
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
    YJ_LIST(events, events),
    .metrics = mon_metrics,
    YJ_LIST(commands, commands),
    .demo = demo_monitor_create,
    .demo_after_logins = demo_monitor_groups,
    YJ_LIST(pages, pages),
    YJ_LIST(nav, nav),
};
