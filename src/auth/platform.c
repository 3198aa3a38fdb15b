/*
 * platform.c — the platform module (M1 平台基础): users, sessions, regions
 * and the audit log, and the endpoints every deployment has (health,
 * readiness, metrics, OpenAPI, the event stream).  Its descriptor is the
 * model for every other module's (base/module.h).
 */
#include "api.h"
#include "../base/module.h"

#define R     YJ_ACT_READ
#define W     YJ_ACT_WRITE
#define PUB   YJ_ROUTE_PUBLIC
#define ALL   YJ_ROLES_STAFF
#define SMALL 4096 /* a login is a few hundred bytes */

static const yj_route routes[] = {
    {"GET", "/healthz", api_healthz, NULL, R, PUB, 0, "Liveness"},
    {"GET", "/readyz", api_readyz, NULL, R, PUB, 0, "Readiness (store reachable)"},
    {"GET", "/metrics", api_metrics, NULL, R, PUB, 0, "Prometheus metrics"},
    {"GET", "/api/v1/openapi.json", api_openapi, NULL, R, PUB, 0, "This API description"},
    {"POST", "/api/v1/login", api_login, NULL, W, PUB, SMALL, "Log in"},
    {"POST", "/api/v1/logout", api_logout, "session", W, 0, SMALL, "Log out"},
    {"GET", "/api/v1/me", api_me, "session", R, 0, 0,
     "Current user, CSRF token, permissions, navigation and pages"},
    {"GET", "/api/v1/events", api_events, "session", R, 0, 0, "Server-Sent Events stream"},
    {"GET", "/api/v1/regions", api_regions, "region", R, 0, 0, "Child regions"},
    {"GET", "/api/v1/regions/{code}", api_region_get, "region", R, 0, 0, "One region"},
    {"GET", "/api/v1/map/boundaries", api_boundaries, "region", R, 0, 0,
     "Region outlines as GeoJSON"},
    {"GET", "/api/v1/users", api_users_list, "user", R, 0, 0, "List users"},
    {"POST", "/api/v1/users", api_users_create, "user", W, 0, 0, "Create a user"},
    {"GET", "/api/v1/audit/verify", api_audit_verify, "audit", R, 0, 0, "Verify the audit chain"},
    {"GET", "/api/v1/audit", api_audit_list, "audit", R, 0, 0, "Audit log"},
};

static const yj_resource resources[] = {
    {"session", "登录会话"},
    {"user", "用户"},
    {"audit", "审计日志"},
    {"region", "行政区划"},
};

static const yj_perm perms[] = {
    /* every login may read its own session and end it */
    {"session", R, ALL},
    {"session", W, ALL},
    {"user", R, YJ_R(ADMIN)},
    {"user", W, YJ_R(ADMIN)},
    {"audit", R, YJ_R(ADMIN)},
    {"audit", W, 0}, /* the log is appended by every write, never edited */
    {"region", R, ALL},
    {"region", W, 0}, /* regions are loaded from the command line (yingji regions load) */
};

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
    {3, "table generations (bumped by every write; invalidate cached reads)",
     "CREATE TABLE table_generation (name TEXT PRIMARY KEY, gen INTEGER NOT NULL);", NULL},
};

/* The serve options every deployment has; the modules add theirs. */
static const yj_option options[] = {
    {"--db", YJ_OPT_TEXT, "PATH", NULL, "database file (default $YINGJI_DB or yingji.db)"},
    {"--listen", YJ_OPT_TEXT, "HOST:PORT", "127.0.0.1:8080", "address to listen on"},
    {"--web", YJ_OPT_TEXT, "DIR", NULL, "directory of the web UI (default the source tree's web/)"},
    {"--pool", YJ_OPT_INT, "N", "8", "store connections", 1, 256},
    {"--threads", YJ_OPT_INT, "N", "8", "HTTP worker threads", 1, 256},
    {"--session-ttl", YJ_OPT_INT, "SECONDS", "7200", "idle session lifetime", 1, 30 * 86400},
    {"--secure-cookie", YJ_OPT_FLAG, NULL, NULL, "mark the session cookie Secure (behind TLS)"},
    {"--test-hooks", YJ_OPT_FLAG, NULL, NULL,
     "tests drive the clock: no timer runs on its own; the test endpoints exist"},
    {"--mqtt", YJ_OPT_TEXT, "HOST:PORT", NULL,
     "the MQTT broker: sensor readings in, loudspeakers and CAP out (default: none)"},
};

static yj_code configure(const yj_optset *o, yj_err *err)
{
    if (yj_opt_given(o, "--session-ttl")) {
        int secs = (int)yj_opt_int(o, "--session-ttl");
        yj_auth_cfg.idle_seconds = secs;
        if (yj_auth_cfg.absolute_seconds < secs)
            yj_auth_cfg.absolute_seconds = secs;
    }
    (void)err;
    return YJ_OK;
}

static const yj_nav nav[] = {
    {"nav-admin-users", "用户管理", "#/admin/users", "user", R},
    {"nav-admin-audit", "审计日志", "#/admin/audit", "audit", R},
};

const yj_module platform_module = {
    .name = "platform",
    .label = "系统管理",
    YJ_LIST(routes, routes),
    YJ_LIST(resources, resources),
    YJ_LIST(perms, perms),
    YJ_LIST(migrations, migrations),
    YJ_LIST(options, options),
    .configure = configure,
    YJ_LIST(nav, nav),
};
