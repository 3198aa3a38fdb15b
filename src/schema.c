/*
 * schema.c — every database migration of the platform, in order.
 *
 * Migrations are append-only: never edit one that has shipped; add the
 * next version.  SQL here is the portable subset (see store/store.h); the
 * registry tables are generated from their field tables (registry/schema.c).
 */
#include "auth/auth.h"
#include "registry/registry.h"

static const yj_migration migrations[] = {
    {1, "platform base: regions, users, sessions, audit",
     "CREATE TABLE region ("
     "  code TEXT PRIMARY KEY, name TEXT NOT NULL, parent TEXT, level INTEGER NOT NULL);"
     "CREATE INDEX region_parent ON region(parent);"
     "CREATE TABLE region_boundary ("
     "  code TEXT PRIMARY KEY REFERENCES region(code), geojson TEXT NOT NULL);"
     "CREATE TABLE users ("
     "  id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
     "  role TEXT NOT NULL, region_code TEXT NOT NULL REFERENCES region(code),"
     "  enterprise_id INTEGER, password_hash TEXT NOT NULL,"
     "  failed_logins INTEGER NOT NULL DEFAULT 0, locked_until_ms INTEGER NOT NULL DEFAULT 0,"
     "  disabled INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
     "CREATE TABLE sessions ("
     "  token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),"
     "  csrf TEXT NOT NULL, created_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL,"
     "  expires_ms INTEGER NOT NULL);"
     "CREATE INDEX sessions_user ON sessions(user_id);"
     "CREATE TABLE audit ("
     "  id INTEGER PRIMARY KEY, ts TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,"
     "  entity TEXT NOT NULL, record_id INTEGER, region_code TEXT, before TEXT, after TEXT,"
     "  prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
     "CREATE INDEX audit_record ON audit(entity, record_id);"
     "CREATE INDEX audit_region ON audit(region_code);",
     NULL},
    {2, "base databases (registry tables from registry/schema.c)", NULL, registry_migrate},
    {3, "table generations (bumped by every write; invalidate cached reads)",
     "CREATE TABLE table_generation (name TEXT PRIMARY KEY, gen INTEGER NOT NULL);", NULL},
    {4, "M2 registries: monitored objects and sensors", NULL, registry_migrate_m2},
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
     registry_migrate_m3},
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
};

const yj_migration *yj_migrations(size_t *n)
{
    *n = sizeof migrations / sizeof migrations[0];
    return migrations;
}
