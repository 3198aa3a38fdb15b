/*
 * platform.c — the platform module (M1 平台基础): users, sessions, regions
 * and the audit log, and the endpoints every deployment has (health,
 * readiness, metrics, OpenAPI, the event stream).  Its descriptor is the
 * model for every other module's (base/module.h).
 */
#include "api.h"
#include "../base/module.h"
#include "../base/node.h"
#include "../base/options.h"
#include "../base/outbox.h"
#include "../base/relay.h"
#include "../core/util.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define R     YJ_ACT_READ
#define W     YJ_ACT_WRITE
#define PUB   YJ_ROUTE_PUBLIC
#define ALL   YJ_ROLES_STAFF
#define SMALL 4096 /* a login is a few hundred bytes */

static const yj_route routes[] = {
    {"GET", "/healthz", api_healthz, NULL, R, PUB, 0, "Liveness",
     .out = "{\"type\":\"object\",\"required\":[\"status\"],"
            "\"properties\":{\"status\":{\"type\":\"string\",\"enum\":[\"ok\"]}}}"},
    {"GET", "/readyz", api_readyz, NULL, R, PUB, 0, "Readiness (store reachable)",
     .out = "{\"type\":\"object\",\"description\":\"503 {status: unavailable,"
            " reason} when the store cannot be read\",\"required\":[\"status\",\"store\","
            "\"migrations\"],\"properties\":{\"status\":{\"type\":\"string\","
            "\"enum\":[\"ready\"]},\"store\":{\"type\":\"string\","
            "\"description\":\"the store driver\"},\"migrations\":{\"type\":\"integer\","
            "\"description\":\"schema migrations applied\"}}}"},
    {"GET", "/metrics", api_metrics, NULL, R, PUB, 0, "Prometheus metrics",
     .out = "text/plain {\"type\":\"string\",\"description\":\"Prometheus text exposition format "
            "0.0.4\"}"},
    {"GET", "/api/v1/openapi.json", api_openapi, NULL, R, PUB, 0, "This API description",
     .out = "{\"type\":\"object\",\"description\":\"this OpenAPI 3.0 document\"}"},
    {"POST", "/api/v1/login", api_login, NULL, W, PUB, SMALL, "Log in",
     .in = "{\"type\":\"object\",\"required\":[\"username\",\"password\"],"
           "\"properties\":{\"username\":{\"type\":\"string\"},"
           "\"password\":{\"type\":\"string\"}}}",
     .out = "{\"type\":\"object\",\"required\":[\"token\",\"csrf\",\"expires_at\",\"user\"],"
            "\"properties\":{\"token\":{\"type\":\"string\","
            "\"description\":\"the Bearer token (also set as the yj_session cookie)\"},"
            "\"csrf\":{\"type\":\"string\",\"description\":\"send as X-CSRF-Token on "
            "cookie-authenticated writes\"},\"expires_at\":{\"type\":\"string\","
            "\"description\":\"ISO 8601\"},\"user\":{\"$ref\":\"#/components/schemas/User\"}}}"},
    {"POST", "/api/v1/logout", api_logout, "session", W, 0, SMALL, "Log out", .in = YJ_NO_BODY,
     .out = "204"},
    {"GET", "/api/v1/me", api_me, "session", R, 0, 0,
     "Current user, CSRF token, permissions, navigation and pages",
     .out = "{\"type\":\"object\",\"required\":[\"user\",\"csrf\",\"expires_at\",\"permissions\","
            "\"hidden_fields\",\"nav\",\"pages\"],\"properties\":{\"user\":{\"allOf\":[{\"$ref\":"
            "\"#/components/schemas/User\"},{\"type\":\"object\","
            "\"properties\":{\"region_name\":{\"type\":\"string\"}}}]},"
            "\"csrf\":{\"type\":\"string\",\"description\":\"send as X-CSRF-Token on "
            "cookie-authenticated writes\"},\"expires_at\":{\"type\":\"string\","
            "\"description\":\"ISO 8601\"},\"permissions\":{\"type\":\"object\","
            "\"description\":\"resource: the actions the role may take on it\","
            "\"additionalProperties\":{\"type\":\"array\",\"items\":{\"type\":\"string\","
            "\"enum\":[\"read\",\"write\"]}}},\"hidden_fields\":{\"type\":\"object\","
            "\"description\":\"registry: the fields the role may not read\","
            "\"additionalProperties\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},"
            "\"nav\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"module\","
            "\"label\",\"items\"],\"properties\":{\"module\":{\"type\":\"string\"},"
            "\"label\":{\"type\":\"string\"},\"items\":{\"type\":\"array\","
            "\"items\":{\"type\":\"object\",\"required\":[\"id\",\"label\",\"hash\"],"
            "\"properties\":{\"id\":{\"type\":\"string\"},\"label\":{\"type\":\"string\"},"
            "\"hash\":{\"type\":\"string\",\"description\":\"the page's #/ address\"},"
            "\"unread\":{\"type\":\"boolean\",\"description\":\"shows an unread count\"},"
            "\"registry\":{\"type\":\"string\"},\"icon\":{\"type\":\"string\"}}}}}}},"
            "\"pages\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
            "\"required\":[\"module\",\"prefix\",\"script\"],"
            "\"properties\":{\"module\":{\"type\":\"string\"},\"prefix\":{\"type\":\"string\"},"
            "\"script\":{\"type\":\"string\"}}}}}}"},
    {"GET", "/api/v1/events", api_events, "session", R, 0, 0, "Server-Sent Events stream",
     .out = "text/event-stream {\"type\":\"string\",\"description\":\"Server-Sent Events: event: "
            "<kind>, data: <JSON>; an event: overflow when the client fell behind\"}"},
    {"GET", "/api/v1/regions", api_regions, "region", R, 0, 0, "Child regions",
     .out = "{\"type\":\"object\",\"description\":\"the children of ?parent; without one (or one "
            "above the caller) the caller's own region\",\"required\":[\"items\"],"
            "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
            "\"required\":[\"code\",\"name\",\"parent\",\"level\"],"
            "\"properties\":{\"code\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},"
            "\"parent\":{\"type\":\"string\",\"nullable\":true},\"level\":{\"type\":\"integer\","
            "\"description\":\"1 province, 2 city, 3 county, 4 township, 5 village\"}}}}}}"},
    {"GET", "/api/v1/regions/{code}", api_region_get, "region", R, 0, 0, "One region",
     .out = "{\"type\":\"object\",\"required\":[\"code\",\"name\",\"parent\",\"level\"],"
            "\"properties\":{\"code\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},"
            "\"parent\":{\"type\":\"string\",\"nullable\":true},\"level\":{\"type\":\"integer\","
            "\"description\":\"1 province, 2 city, 3 county, 4 township, 5 village\"}}}"},
    {"GET", "/api/v1/map/boundaries", api_boundaries, "region", R, 0, 0,
     "Region outlines as GeoJSON",
     .out = "{\"type\":\"object\",\"required\":[\"type\",\"features\"],"
            "\"properties\":{\"type\":{\"type\":\"string\",\"enum\":[\"FeatureCollection\"]},"
            "\"features\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
            "\"required\":[\"type\",\"geometry\",\"properties\"],"
            "\"properties\":{\"type\":{\"type\":\"string\",\"enum\":[\"Feature\"]},"
            "\"geometry\":{\"type\":\"object\",\"description\":\"GeoJSON geometry\"},"
            "\"properties\":{\"type\":\"object\",\"required\":[\"code\",\"name\"],"
            "\"properties\":{\"code\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"}}}}}}}}"},
    {"GET", "/api/v1/users", api_users_list, "user", R, 0, 0, "List users",
     .out = "{\"type\":\"object\",\"required\":[\"items\"],"
            "\"properties\":{\"items\":{\"type\":\"array\","
            "\"items\":{\"$ref\":\"#/components/schemas/User\"}}}}"},
    {"POST", "/api/v1/users", api_users_create, "user", W, 0, 0, "Create a user",
     .in = "{\"type\":\"object\",\"required\":[\"username\",\"password\",\"role\",\"region_code\","
           "\"name\"],\"properties\":{\"username\":{\"type\":\"string\","
           "\"description\":\"2-32 of a-z 0-9 _ . -\",\"pattern\":\"^[a-z0-9_.-]{2,32}$\"},"
           "\"password\":{\"type\":\"string\",\"description\":\"at least 8 characters\","
           "\"minLength\":8},\"role\":{\"type\":\"string\",\"enum\":[\"admin\",\"duty\","
           "\"commander\",\"supervisor\",\"inspector\",\"warehouse\",\"enterprise\",\"informant\","
           "\"expert\",\"public\"]},\"region_code\":{\"type\":\"string\","
           "\"description\":\"inside the caller's region\"},\"name\":{\"type\":\"string\","
           "\"maxLength\":100},\"enterprise_id\":{\"type\":\"integer\","
           "\"description\":\"required for the enterprise role\",\"nullable\":true}},"
           "\"additionalProperties\":false}",
     .out = "201 {\"$ref\":\"#/components/schemas/User\"}"},
    {"GET", "/api/v1/audit/verify", api_audit_verify, "audit", R, 0, 0, "Verify the audit chain",
     .out = "{\"type\":\"object\",\"required\":[\"ok\",\"entries\",\"head\"],"
            "\"properties\":{\"ok\":{\"type\":\"boolean\"},\"entries\":{\"type\":\"integer\"},"
            "\"head\":{\"type\":\"string\",\"description\":\"ID:HASH of the last entry (pass as "
            "?head= later to detect a cut)\"},\"first_bad_id\":{\"type\":\"integer\","
            "\"description\":\"when not ok\"},\"reason\":{\"type\":\"string\","
            "\"description\":\"when not ok\"}}}"},
    {"GET", "/api/v1/audit", api_audit_list, "audit", R, 0, 0, "Audit log",
     .out = "{\"type\":\"object\",\"description\":\"newest first\",\"required\":[\"items\"],"
            "\"properties\":{\"items\":{\"type\":\"array\","
            "\"items\":{\"$ref\":\"#/components/schemas/AuditEntry\"}}}}"},
    {"POST", "/api/v1/test/tick", api_test_tick, "test_clock", W, YJ_ROUTE_TEST_HOOK, 0,
     "Tests only (serve --test-hooks): set the platform's clock and run timers now",
     .in = "{\"type\":\"object\",\"properties\":{\"now\":{\"type\":\"integer\","
           "\"description\":\"ms since the epoch; 0 or absent: the wall clock again\"},"
           "\"timers\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
           "\"description\":\"timer or module names; all when absent\",\"maxItems\":64}}}",
     .out = "{\"type\":\"object\",\"required\":[\"now\",\"ran\"],"
            "\"properties\":{\"now\":{\"type\":\"integer\",\"description\":\"the clock now,"
            " ms\"},\"ran\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
            "\"description\":\"the timers run\"}}}"},
};

static const yj_resource resources[] = {
    {"session", "登录会话"}, {"user", "用户"},           {"audit", "审计日志"},
    {"region", "行政区划"},  {"test_clock", "测试时钟"},
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
    /* only under serve --test-hooks (the route does not exist otherwise) */
    {"test_clock", R, 0},
    {"test_clock", W, YJ_R(ADMIN)},
};

#define GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

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
    {13, "the outbox: every message that leaves, recorded before it leaves (base/outbox.h)",
     "CREATE TABLE outbox ("
     "  id INTEGER PRIMARY KEY, module TEXT NOT NULL, channel TEXT NOT NULL,"
     "  address TEXT NOT NULL, ref_type TEXT NOT NULL, ref_id INTEGER NOT NULL, payload TEXT,"
     "  state TEXT NOT NULL, created_at INTEGER NOT NULL, sent_at INTEGER, detail TEXT,"
     "  resend_of INTEGER REFERENCES outbox(id));"
     "CREATE INDEX outbox_ref ON outbox(ref_type, ref_id, channel, id);"
     "CREATE INDEX outbox_open ON outbox(state, channel, id)"
     "  WHERE state IN ('queued', 'sending');",
     NULL},
    {15, "login throttling by source instead of account lockout (auth/session.c)",
     "CREATE TABLE login_throttle ("
     "  key TEXT PRIMARY KEY, failures INTEGER NOT NULL, first_at INTEGER NOT NULL,"
     "  blocked_until INTEGER NOT NULL);"
     "ALTER TABLE users DROP COLUMN failed_logins;"
     "ALTER TABLE users DROP COLUMN locked_until_ms;",
     NULL},
    {16, "the audit chain's head: appends from several nodes take it in turn (auth/audit.c)",
     "CREATE TABLE audit_head ("
     "  chain INTEGER PRIMARY KEY, last_id INTEGER NOT NULL, last_hash TEXT NOT NULL);"
     "INSERT INTO audit_head (chain, last_id, last_hash)"
     "  SELECT 1, COALESCE(MAX(id), 0), COALESCE((SELECT hash FROM audit ORDER BY id DESC"
     "  LIMIT 1), '" GENESIS "') FROM audit;",
     NULL},
    {17, "several nodes: who sends an outbox message; timer leases (base/node.c, sched.c)",
     "ALTER TABLE outbox ADD COLUMN node TEXT;"
     "CREATE INDEX outbox_sending ON outbox(node) WHERE state = 'sending';"
     "CREATE TABLE sched_lease ("
     "  timer TEXT PRIMARY KEY, holder TEXT NOT NULL, until_ms INTEGER NOT NULL);",
     NULL},
};

/* The serve options every deployment has; the modules add theirs. */
static const yj_option options[] = {
    {"--db", YJ_OPT_TEXT, "PATH|URL", NULL,
     "SQLite database file, or postgres://user@host:port/db (default $YINGJI_DB or yingji.db)"},
    {"--node", YJ_OPT_TEXT, "NAME", NULL,
     "this node's name among several on one database (default HOST:PORT)"},
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
    {"--per-ip-connections", YJ_OPT_INT, "N", "128",
     "connections one client address may hold open (raise behind a proxy or a large NAT)", 1,
     100000},
    {"--idle-timeout", YJ_OPT_INT, "SECONDS", "15",
     "close a connection idle this long (event streams excepted)", 1, 3600},
    {"--trusted-proxy", YJ_OPT_TEXT, "ADDR", NULL,
     "the reverse proxy's address: its requests' client is the last X-Forwarded-For address"},
    {"--login-throttle", YJ_OPT_TEXT, "N,N,N", "5,20,600",
     "failed logins before the source waits: of one name from one address, from one address,"
     " and platform-wide per minute (0: no limit)"},
};

static yj_code configure(const yj_optset *o, yj_err *err)
{
    if (yj_opt_given(o, "--session-ttl")) {
        int secs = (int)yj_opt_int(o, "--session-ttl");
        yj_auth_cfg.idle_seconds = secs;
        if (yj_auth_cfg.absolute_seconds < secs)
            yj_auth_cfg.absolute_seconds = secs;
    }
    const char *lt = yj_opt_text(o, "--login-throttle");
    int a = 0, b = 0, g = 0;
    char end = 0;
    if (lt && (sscanf(lt, "%d,%d,%d%c", &a, &b, &g, &end) != 3 || a < 1 || a > 1000 || b < 1 ||
               b > 100000 || g < 0))
        return yj_err_set(err, YJ_EINVAL, "--login-throttle",
                          "--login-throttle NAME,ADDR,ALL: three counts, e.g. 5,20,600");
    if (lt) {
        yj_auth_cfg.account_after = a;
        yj_auth_cfg.address_after = b;
        yj_auth_cfg.global_per_minute = g;
    }
    return YJ_OK;
}

static const yj_nav nav[] = {
    {"nav-admin-users", "用户管理", "#/admin/users", "user", R},
    {"nav-admin-audit", "审计日志", "#/admin/audit", "audit", R},
};

/* Before any module sends: become this node (its name held for the
 * process's life), then what its previous life — and any other node that
 * is gone — left half-sent is marked interrupted (and the next attempt at
 * it a resend). */
static yj_code start(const yj_runtime *rt, yj_err *err)
{
    char name[96];
    if (yj_opt_given(rt->opts, "--node")) {
        snprintf(name, sizeof name, "%s", yj_opt_text(rt->opts, "--node"));
    } else { /* the host and the port: one name per process on a machine */
        char host[64] = "";
        if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
            snprintf(host, sizeof host, "node");
        const char *listen = yj_opt_text(rt->opts, "--listen");
        const char *port = listen ? strrchr(listen, ':') : NULL;
        snprintf(name, sizeof name, "%.60s%s", host, port ? port : "");
    }
    yj_code rc = node_join(rt->store, name, 3000, err);
    int n = 0, others = 0;
    int64_t now = yj_clock_now();
    if (rc == YJ_OK)
        rc = outbox_recover(rt->store, name, true, now, &n, err);
    if (rc == YJ_OK)
        rc = outbox_orphans(rt->store, now, &others, err);
    if (rc == YJ_OK && n + others)
        yj_log(YJ_LOG_WARN, "outbox.interrupted",
               "%d message(s) were being sent when the platform stopped; marked interrupted",
               n + others);
    if (rc == YJ_OK)
        rc = relay_start(rt->store, err);
    return rc;
}

static void stop(void)
{
    relay_stop();
    node_leave();
}

/* Messages other nodes were sending when they died: retried here. */
static yj_code timer_orphans(yj_store *s, int64_t now, yj_err *err)
{
    int n = 0;
    return outbox_orphans(s, now, &n, err);
}

static const yj_timer timers[] = {
    {"platform.orphans", 2000, timer_orphans},
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
    .start = start,
    .stop = stop,
    YJ_LIST(timers, timers),
    YJ_LIST(nav, nav),
};
