/*
 * module.c — the example module: a module as small as one can be, built
 * into test binaries only (make test; src/base/modules.c lists it under
 * YJ_TEST_ONLY).  It exists to show, and to test, that a module is its
 * folder plus one line of the module list: one route, one permission
 * resource with its rows, one registry (with a field added by a second
 * migration), one timer and one page.  Nothing outside this folder names
 * it but that line (tests/api/19-modules.test.mjs checks).
 */
#include "../../../src/base/module.h"
#include "../../../src/core/util.h"

#define R YJ_ACT_READ
#define W YJ_ACT_WRITE

/* ---- one registry, and a field it gained later ------------------------------- */

static const yj_field example_item_fields[] = {
    {"name", "名称", YJ_F_TEXT, true},
    /* added by migration 2: an upgraded database keeps its items */
    {"note", "备注", YJ_F_TEXT, false, .since = 2},
};

static yj_registry example_item =
    YJ_REGISTRY(example_item, "示例条目", "#336699", "name", NULL, NULL, NULL, .since = 1);
static yj_registry *const registries[] = {&example_item};

static const yj_migration migrations[] = {
    {1, "example: items, and the timer's count",
     "CREATE TABLE example_tick (id INTEGER PRIMARY KEY, runs INTEGER NOT NULL, last_ms INTEGER);"
     "INSERT INTO example_tick (id, runs, last_ms) VALUES (1, 0, NULL);",
     registry_migration},
    {2, "example: items get a note", NULL, registry_migration},
};

/* ---- one route and its permission ------------------------------------------- */

static void api_example(yj_req *req, yj_resp *resp)
{
    yj_conn *c = yj_store_acquire(req->app->store);
    int64_t runs = 0;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = yj_query_int(c, "SELECT runs FROM example_tick WHERE id = 1", NULL, &runs, &err);
    yj_store_release(req->app->store, c);
    http_reply(resp, rc, &err, 200,
               json_pack("{s:s,s:I}", "module", "example", "timer_runs", (json_int_t)runs));
}

static const yj_route routes[] = {
    {"GET", "/api/v1/example", api_example, "example", R, 0, 0,
     "The example module: how often its timer ran",
     .out = "{\"type\":\"object\",\"required\":[\"module\",\"timer_runs\"],"
            "\"properties\":{\"module\":{\"type\":\"string\",\"enum\":[\"example\"]},"
            "\"timer_runs\":{\"type\":\"integer\",\"description\":\"how often example.tick "
            "ran\"}}}"},
};

static const yj_resource resources[] = {{"example", "示例"}};

static const yj_perm perms[] = {
    {"example", R, YJ_R(ADMIN) | YJ_R(DUTY)},
    {"example", W, 0},
    {"example_item", R, YJ_R(ADMIN) | YJ_R(DUTY)},
    {"example_item", W, YJ_R(ADMIN)},
};

/* ---- one timer -------------------------------------------------------------------- */

static yj_code example_tick(yj_store *s, int64_t now, yj_err *err)
{
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = yj_tx_begin(c, err);
    yj_stmt *st = rc == YJ_OK ? yj_prepare(c,
                                           "UPDATE example_tick SET runs = runs + 1, last_ms = ?"
                                           " WHERE id = 1",
                                           err)
                              : NULL;
    if (rc == YJ_OK && st == NULL)
        rc = yj_fail(err);
    if (st) {
        yj_bind_int(st, 1, now);
        if (yj_step(st, err) < 0)
            rc = yj_fail(err);
        yj_stmt_done(st);
    }
    if (rc == YJ_OK) {
        json_t *after = json_pack("{s:I}", "last_ms", (json_int_t)now);
        rc = audit_append(c, "timer:example.tick", "tick", "example", 1, NULL, after, err);
        json_decref(after);
    }
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    yj_store_release(s, c);
    return rc;
}

static const yj_timer timers[] = {
    {"example.tick", 60000, example_tick},
};

/* ---- one page ------------------------------------------------------------------------ */

static const yj_page pages[] = {{"example", "example.js"}};
static const yj_nav nav[] = {{"nav-example", "示例页面", "#/example", "example", R}};

const yj_module example_module = {
    .name = "example",
    .label = "示例模块",
    YJ_LIST(routes, routes),
    YJ_LIST(resources, resources),
    YJ_LIST(perms, perms),
    YJ_LIST(registries, registries),
    YJ_LIST(migrations, migrations),
    YJ_LIST(timers, timers),
    YJ_LIST(pages, pages),
    YJ_LIST(nav, nav),
};
