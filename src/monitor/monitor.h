/*
 * monitor.h — M2 monitoring and early warning (监测预警).
 *
 * Layers, bottom up:
 *   types.c    sensor types (unit, physical range, reporting interval) and
 *              the rule kinds with their built-in defaults per sensor type;
 *   rules.c    the rule engine: pure functions over a sensor's in-memory
 *              state, called for every reading as it arrives;
 *   runtime.c  the in-memory picture: every sensor with its latest value
 *              and the state of its rules, loaded from the store;
 *   ingest.c   one writer thread: readings from every path (MQTT, HTTP,
 *              KJ files) are validated, evaluated and committed in groups;
 *              callers are answered only after their readings are durable;
 *   alarm.c    the alarm lifecycle, work orders, inbox and device health;
 *   series.c   history, minute/hour aggregates and retention.
 *
 * Monitored objects and sensors themselves are registries (registry/schema.c)
 * so they get CRUD, CSV, history and forms like every other base database.
 */
#ifndef YJ_MONITOR_H
#define YJ_MONITOR_H

#include "../auth/auth.h"
#include "../core/buf.h"
#include "../core/err.h"
#include "../store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- sensor types (types.c) ------------------------------------------------ */

typedef struct {
    const char *code;  /* stable English code, e.g. "ch4" */
    const char *label; /* Chinese, as stored in the sensor registry, e.g. "甲烷" */
    const char *unit;  /* e.g. "%", "ppm", "mm" */
    double lo, hi;     /* physical range: a reading outside it is rejected */
    int interval_s;    /* default expected reporting interval */
    bool cumulative;   /* rainfall: values are per-interval amounts to be summed */
} mon_sensor_type;

size_t mon_type_count(void);
const mon_sensor_type *mon_type_at(size_t i);
/* By code or Chinese label; -1 when unknown. */
int mon_type_find(const char *code_or_label);
/* NULL-terminated list of Chinese labels (the registry's enum options). */
const char *const *mon_type_labels(void);

/* ---- rules (rules.c) ------------------------------------------------------- */

/* National warning levels: 1 = 一级 red (most severe) .. 4 = 四级 blue.
 * Internally a severity 1 (blue) .. 4 (red) is kept so "higher is worse". */
#define MON_SEV_TO_LEVEL(s) (5 - (s))

typedef enum {
    MON_RULE_THRESHOLD, /* 阈值: up to four levels, hysteresis, minimum duration */
    MON_RULE_RATE,      /* 变化率: change over a window */
    MON_RULE_SUM,       /* 累计: rolling-window sum (rainfall 1h/3h/24h) */
    MON_RULE_MULTI,     /* 多传感器: k of n sensors above a level */
    MON_RULE_GAP,       /* 数据中断: no reading for N minutes -> offline */
    MON_RULE_KIND_COUNT
} mon_rule_kind;

const char *mon_rule_kind_name(mon_rule_kind k);  /* "threshold", ... */
const char *mon_sev_name(int sev);                /* "blue" .. "red" */
const char *mon_rule_kind_label(mon_rule_kind k); /* Chinese */
int mon_rule_kind_parse(const char *s);           /* -1 if unknown */

#define MON_MAX_MEMBERS 8

typedef struct {
    int64_t id; /* store id (0 for an unsaved default) */
    mon_rule_kind kind;
    bool high; /* true: alarm when above; false: when below */
    /* threshold / sum: t[s-1] is the threshold for severity s (blue..red);
     * NAN = level unused.  rate / multi / gap: one severity in `sev`. */
    double t[4];
    int sev;
    double hysteresis;   /* threshold: clear only once back past t - hysteresis */
    int64_t duration_ms; /* threshold: condition must hold this long first */
    int64_t window_ms;   /* rate */
    int64_t windows[4];  /* sum: window for severity s at windows[s-1] */
    double delta;        /* rate: change within window_ms that alarms */
    int64_t gap_ms;      /* gap */
    int min_count;       /* multi: how many members must be above t[0] */
    int nmembers;
    int64_t members[MON_MAX_MEMBERS]; /* multi: sensor ids */
} mon_rule;

/* Parse / print a rule's parameters (the JSON stored in monitor_rule.params
 * and accepted by the API).  Errors name the parameter in Chinese. */
yj_code mon_rule_from_json(mon_rule_kind kind, const json_t *params, mon_rule *out, yj_err *err);
json_t *mon_rule_params_json(const mon_rule *r);

/* Built-in defaults for a sensor type (煤矿安全规程 etc., see types.c).
 * Returns how many rules were written to out (at most max). */
size_t mon_type_defaults(int type, mon_rule *out, size_t max);

/* ---- rule evaluation state (rules.c) --------------------------------------- */

typedef struct mon_ring mon_ring; /* samples for rate and sum windows */

typedef struct {
    const mon_rule *rule;
    uint8_t active;   /* severity currently raised (0: none) */
    uint8_t peak_sev; /* highest severity while the alarm is open */
    int64_t since[4]; /* threshold: since when severity s+1 has held (0: not) */
    int64_t alarm_id; /* open alarm (0: none) */
    double peak;      /* worst value since the alarm opened */
    mon_ring *ring;
} mon_rule_state;

typedef enum {
    MON_EV_NONE,
    MON_EV_RAISE,    /* condition started (or rose to a higher level) */
    MON_EV_CONTINUE, /* still active: fold value/peak into the open alarm */
    MON_EV_CLEAR,    /* condition ended (alarm stays open for people) */
} mon_event_kind;

typedef struct {
    mon_event_kind kind;
    int sev;      /* severity after the event */
    double value; /* the value the rule judged (sum for SUM rules) */
} mon_rule_event;

/* Evaluate one rule for a new in-order reading of its sensor (ts ms).
 * `member_value` looks up the latest value of another sensor for MULTI
 * rules (returns false when unknown or stale). */
typedef bool (*mon_member_fn)(int64_t sensor_id, int64_t now_ms, double *value, void *ctx);
mon_rule_event mon_rule_eval(mon_rule_state *st, int64_t ts, double value, mon_member_fn member,
                             void *ctx);
/* Evaluate a GAP rule at time now for a sensor last heard at last_ts. */
mon_rule_event mon_rule_eval_gap(mon_rule_state *st, int64_t last_ts, int64_t now);
void mon_rule_state_free(mon_rule_state *st);

/* ---- ingest (ingest.c) ----------------------------------------------------- */

typedef enum {
    MON_SRC_MQTT,
    MON_SRC_HTTP,
    MON_SRC_KJ,
    MON_SRC_SIM, /* in-process (bench, tests) */
    MON_SRC_COUNT
} mon_source;
const char *mon_source_name(mon_source s);

/* Why a reading was not accepted.  Stored with the reading in
 * reading_reject and counted per source in /metrics. */
typedef enum {
    MON_REJ_MALFORMED, /* could not be decoded at all */
    MON_REJ_UNKNOWN,   /* no such sensor */
    MON_REJ_RANGE,     /* outside the sensor's physical range */
    MON_REJ_FUTURE,    /* timestamp more than 5 minutes ahead */
    MON_REJ_DUPLICATE, /* (sensor, timestamp) already stored */
    MON_REJ_RETIRED,   /* sensor retired (停用) */
    MON_REJ_FORBIDDEN, /* gateway key not allowed for this sensor's region */
    MON_REJ_COUNT
} mon_reject;
const char *mon_reject_name(mon_reject r);
const char *mon_reject_label(mon_reject r); /* Chinese */

typedef struct {
    char sensor[64]; /* sensor code */
    int64_t ts;      /* ms since the epoch */
    double value;
    mon_reject reject; /* set by decoders when malformed (flag below) */
    bool bad;          /* already rejected by the decoder */
    char detail[96];   /* decoder's reason, when bad */
} mon_reading;

typedef struct {
    int64_t accepted;
    int64_t late; /* of accepted: arrived late (补传) */
    int64_t rejected[MON_REJ_COUNT];
} mon_result;
int64_t mon_result_rejected(const mon_result *r);
json_t *mon_result_json(const mon_result *r);

typedef struct {
    int retention_days;     /* raw readings kept this long (default 30) */
    int agg_retention_days; /* minute aggregates (hour ones are kept) */
    int batch_max;          /* readings per commit, at most */
    /* escalate an alarm not acknowledged within this many seconds, by
     * national level 1 (red) .. 4 (blue); 0 = default 300/600/900/1800 */
    int ack_timeout_s[5];
} mon_config;

/* Start the monitoring runtime on a store: load sensors, rules and open
 * alarms, start the writer thread.  One per process. */
yj_code mon_start(yj_store *s, const mon_config *cfg, yj_err *err);
void mon_stop(void);
bool mon_running(void);

/* Submit readings and wait until they are committed (or rejected).  The
 * `raw` text (may be NULL) is stored with rejects that carry bad=true.
 * `gw_region` non-NULL restricts the sensors to that region prefix.
 * Returns YJ_OK when every reading has a durable outcome (accepted or a
 * stored reject); an error means nothing of this call is acknowledged. */
yj_code mon_ingest(const mon_reading *r, size_t n, mon_source src, const char *origin,
                   const char *gw_region, const char *raw, mon_result *res, yj_err *err);
/* Record a payload that could not be decoded at all (one reject row). */
yj_code mon_ingest_malformed(mon_source src, const char *origin, const char *raw, size_t len,
                             const char *detail, yj_err *err);
/* Record one reject found outside the reading path (e.g. a KJ point
 * definition naming an unknown mine): reason, the sensor code if any (its
 * region, when the sensor is known, scopes who sees the reject), detail. */
yj_code mon_ingest_reject(mon_source src, const char *origin, mon_reject reason,
                          const char *sensor_code, const char *detail, yj_err *err);

/* Run the timers now (gap detection, escalation, retention) on the
 * writer thread at the platform's clock (yj_clock_now()), and wait.  all:
 * a whole retention pass and the raw log merged first (tests); else one
 * slice of retention (the scheduler, every second). */
void mon_tick(bool all);

/* Sensors/rules/groups changed in the store: reload the affected parts. */
void mon_reload(void);
/* Inside the transaction that changes alarm rules, maintenance windows or
 * recipient groups: bumps the "monitor_config" generation, which every
 * process's ingest writer watches (a rule made by `yingji ingest-kj`
 * reaches a running server within a second). */
yj_code mon_config_changed(yj_conn *c, yj_err *err);

/* Counters for /metrics. */
void mon_metrics(yj_buf *out);

/* Benchmark hook (bench/ingest_inproc.c): validate and evaluate readings
 * exactly as the writer does, on the caller's thread, without the store.
 * Rule state and latest values change as with real ingest; the alarm
 * changes the rules produce are counted in *alarm_events, not written.
 * Do not mix with mon_ingest() traffic (it takes the runtime lock). */
yj_code mon_bench_eval(const mon_reading *r, size_t n, mon_result *res, int64_t *alarm_events);

/* ---- reading payloads (payload.c) ----------------------------------------- */

/* Decode a JSON payload (one reading or a batch) into readings.
 * topic_sensor (MQTT topic's last segment) is used when the payload names no
 * sensor.  Forms:
 *   {"sensor":"S","ts":T,"value":V}
 *   {"ts":T,"value":V}                 (sensor from the topic)
 *   {"readings":[{...},{...}]}         (batch)
 *   [{...},{...}]                      (batch)
 * ts: ms since epoch (integer) or RFC 3339 text.  Returns YJ_EPARSE when
 * the payload as a whole is unreadable; individual bad readings come back
 * with bad=true.  *out is malloc'd. */
yj_code mon_payload_decode(const char *data, size_t len, const char *topic_sensor,
                           mon_reading **out, size_t *n, yj_err *err);

/* ---- MQTT (mqtt.c) --------------------------------------------------------- */

typedef struct {
    const char *host;
    int port;
    const char *client_id; /* persistent session id (default "yingji-ingest") */
    const char *topic;     /* subscription (default "yingji/v1/#") */
    int consumers;         /* parallel connections on a shared subscription */
    bool partitioned;      /* sessions per county partition (partition.c), not topic */
} mon_mqtt_config;

yj_code mon_mqtt_start(const mon_mqtt_config *cfg, yj_err *err);
void mon_mqtt_stop(void);
bool mon_mqtt_connected(void);
/* One more session (persistent, client id `id`) on the started broker,
 * subscribed to `topic`; and letting it go (a clean disconnect: what is
 * published meanwhile waits in the session for whoever takes it next). */
yj_code mon_mqtt_add(const char *id, const char *topic, yj_err *err);
void mon_mqtt_remove(const char *id);

/* ---- ingest partitions across nodes (partition.c) ------------------------------ */

/* With serve --mqtt-partitions, the nodes share the counties: each county's
 * readings (topic yingji/v1/<county>/#) are taken by one node at a time,
 * which holds the county's lease; a node takes its share, lets go of what
 * is over it, and takes over the counties of a node that died when their
 * leases run out.  The sensors of a county taken here have their rule
 * state rebuilt from the store (mon_forget_county). */
yj_code mon_partitions_start(yj_store *s, const char *client_id, const char *address, yj_err *err);
void mon_partitions_stop(void);
/* Counties held here, for /metrics. */
int mon_partitions_held(void);
/* The sensors of `county` start over from the store at the next round of
 * the writer: latest values, open alarms (their windows were another
 * node's). */
void mon_forget_county(const char *county);
/* The county of a known sensor (the first six digits of its region). */
bool mon_sensor_county(const char *code, char county[8]);
/* Are the counties shared among nodes (serve --mqtt-partitions)? */
bool mon_partitioned(void);
/* Is this node holding `county`?  Without --mqtt-partitions: every county. */
bool mon_partition_here(const char *county);
/* The address (HOST:PORT) of the node holding `county` now, if another. */
bool mon_partition_holder(yj_store *s, const char *county, char *addr, size_t n);
/* Gateway readings for counties held by other nodes go to those nodes
 * (forward.c): each part is posted to its holder with the gateway's key,
 * the answers added up into *res; what cannot be handed on is ingested
 * here (so nothing is refused for a node being down).  Returns the
 * readings to ingest here, compacted to the front of r: *n is updated. */
void mon_forward_remote(yj_store *s, const char *api_key, mon_reading *r, size_t *n,
                        mon_result *res);
void mon_forward_metrics(yj_buf *out);

/* ---- KJ files (kjingest.c) -------------------------------------------------- */

/* Ingest one KJ file: AQMC/AQKC define or update sensors, AQSS/AQMT give
 * readings, AQKD switch states.  Report per reason in *report (new object). */
yj_code mon_ingest_kj(yj_store *s, const char *path, json_t **report, yj_err *err);
/* Watch a directory: ingest every regular file in it once it has not
 * changed for 2 s (names starting with '.' or ending in .tmp/.part are
 * left alone: still being copied), then move it to done/ (with its report)
 * or, if the file itself is unusable, failed/; a store error leaves it for
 * the next pass.  Runs in its own thread until mon_kj_stop(). */
yj_code mon_kj_watch(yj_store *s, const char *dir, yj_err *err);
void mon_kj_stop(void);

/* ---- alarms (alarm.c) ------------------------------------------------------ */

typedef struct {
    const char *state;     /* filter, or NULL */
    const char *region;    /* prefix, or NULL */
    int64_t sensor_id;     /* 0 = any */
    int64_t enterprise_id; /* 0 = any */
    bool open_only;
    int limit;
    int64_t offset;
} mon_alarm_query;

yj_code alarm_list(yj_store *s, const yj_user *u, const mon_alarm_query *q, json_t **items,
                   int64_t *total, yj_err *err);
yj_code alarm_get(yj_store *s, const yj_user *u, int64_t id, json_t **out, yj_err *err);
/* The alarm's and the work order's lives, as tables on the workflow
 * engine (base/workflow.h; alarm.c). */
struct yj_workflow;
extern const struct yj_workflow alarm_workflow, workorder_workflow;
/* action: "acknowledge", "verify", "dispose", "close".  body carries the
 * note and, for close, verdict ("real" | "false" | "fault") with cause and
 * measures / reason.  if_match: the version the caller saw. */
yj_code alarm_act(yj_store *s, const yj_user *u, int64_t id, const char *action, int64_t if_match,
                  const json_t *body, json_t **out, yj_err *err);
yj_code workorder_list(yj_store *s, const yj_user *u, const char *state, json_t **items,
                       yj_err *err);
yj_code workorder_get(yj_store *s, const yj_user *u, int64_t id, json_t **out, yj_err *err);
/* action: "repair" (dispatched -> repaired, a note), "restore" (repaired -> restored) */
yj_code workorder_act(yj_store *s, const yj_user *u, int64_t id, const char *action,
                      int64_t if_match, const json_t *body, json_t **out, yj_err *err);
yj_code inbox_list(yj_store *s, const yj_user *u, bool unread_only, int limit, json_t **items,
                   int64_t *unread, yj_err *err);
yj_code inbox_read(yj_store *s, const yj_user *u, int64_t id, yj_err *err);
/* Recipient groups (值班室, 行业监管科 ...) bound to region x level x rule kind
 * x industry; raises, upgrades and escalations go to their members' inboxes. */
yj_code alarm_group_create_in(yj_conn *c, const char *name, const char *region, int min_level,
                              const char *kinds, const char *industries, const int64_t *users,
                              size_t nusers, int64_t *id_out, yj_err *err);
yj_code alarm_group_list(yj_store *s, const yj_user *u, json_t **out, yj_err *err);
yj_code alarm_group_create(yj_store *s, const yj_user *u, const json_t *in, json_t **out,
                           yj_err *err);
/* Daily online rate and raise->ack / raise->close times per owner and region. */
yj_code alarm_health(yj_store *s, const yj_user *u, const char *day, const char *group_by,
                     json_t **out, yj_err *err);

/* ---- sensors, series, rules (series.c) ------------------------------------- */

/* Latest values of the sensors visible to u (with age and staleness). */
yj_code mon_latest(yj_store *s, const yj_user *u, const char *region, int64_t object_id,
                   json_t **out, yj_err *err);
/* History of one sensor in [from, to) ms: raw, "minute" or "hour" (or
 * "auto": picked from the span). */
yj_code mon_history(yj_store *s, const yj_user *u, int64_t sensor_id, int64_t from, int64_t to,
                    const char *resolution, json_t **out, yj_err *err);
yj_code mon_rejects(yj_store *s, const yj_user *u, const char *reason, int limit, int64_t offset,
                    json_t **out, yj_err *err);
yj_code mon_rules_list(yj_store *s, const yj_user *u, int64_t sensor_id, json_t **out, yj_err *err);
/* Create (id 0) or replace a rule; replace and delete at the version the
 * caller saw (if_match, 412 when stale). */
yj_code mon_rule_save(yj_store *s, const yj_user *u, int64_t id, int64_t if_match, const json_t *in,
                      json_t **out, yj_err *err);
yj_code mon_rule_delete(yj_store *s, const yj_user *u, int64_t id, int64_t if_match, yj_err *err);
/* A maintenance/calibration window suppressing a sensor's (or an object's)
 * alarms: {sensor_id | object_id, start_ms, end_ms, reason}. */
yj_code mon_maintenance_add(yj_store *s, const yj_user *u, const json_t *in, json_t **out,
                            yj_err *err);
/* Risk map: GeoJSON of sensors, open alarms, objects, hazards, resources in
 * a bbox (min lon, min lat, max lon, max lat). */
yj_code mon_map(yj_store *s, const yj_user *u, const double bbox[4], const char *layers,
                yj_buf *out, yj_err *err);

/* Gateways (per-gateway API keys for POST /api/v1/readings). */
yj_code gateway_create(yj_store *s, const yj_user *u, const char *name, const char *region,
                       json_t **out, yj_err *err);
/* Resolve an API key; *region receives the gateway's region prefix. */
yj_code gateway_auth(yj_store *s, const char *key, int64_t *id, char *region, size_t rlen,
                     yj_err *err);

/* The monitoring module's part of the demo city (demo.c): objects, sensors
 * and rules; then the alarm recipient groups, once the logins exist. */
struct yj_demo;
yj_code demo_monitor_create(struct yj_demo *d, yj_err *err);
yj_code demo_monitor_groups(struct yj_demo *d, yj_err *err);

/* The sensor registry's prepare hook (objects.c). */
yj_code sensor_prepare(yj_conn *c, json_t *rec, yj_err *err);

#endif
