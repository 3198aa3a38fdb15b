/*
 * test_modules.c — the module descriptors (src/base/module.h), checked as
 * data: every route of every module has an explicit permission decision
 * (public, or a row for its resource and action: no row would be nobody's,
 * and a test should say so before a user finds out), every resource has
 * its read and write rows, every row names a real resource (and field),
 * events, navigation and timers refer to what exists, migrations increase,
 * and a field added to a registry has the migration that adds it.  The
 * test-only example module is among them (YJ_TEST_MODULES).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"
#include "../../src/base/openapi.h"

static bool resource_declared(const char *name)
{
    const char *const *res = perm_resources();
    for (size_t i = 0; name && res[i]; i++)
        if (strcmp(res[i], name) == 0)
            return true;
    return false;
}

static void test_module_names(void **state)
{
    (void)state;
    size_t n = 0;
    const yj_module *const *mods = yj_modules(&n);
    assert_true(n >= 4);
    assert_string_equal(mods[0]->name, "platform");
    for (size_t i = 0; i < n; i++) {
        assert_non_null(mods[i]->name);
        assert_non_null(mods[i]->label);
        assert_true((unsigned char)mods[i]->label[0] >= 0x80); /* Chinese, for the UI */
        assert_ptr_equal(yj_module_find(mods[i]->name), mods[i]);
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(mods[i]->name, mods[k]->name);
    }
    assert_non_null(yj_module_find("example")); /* built into test binaries */
    assert_null(yj_module_find("nonexistent"));
}

/* Every route is public or has a decision for its resource and action. */
static void test_every_route_decided(void **state)
{
    (void)state;
    int failures = 0;
    size_t nr = http_route_count();
    assert_true(nr > 60);
    for (size_t i = 0; i < nr; i++) {
        const char *module = NULL;
        const yj_route *rt = http_route_at(i, &module);
        assert_non_null(rt->handler);
        assert_non_null(rt->summary);
        if (rt->flags & YJ_ROUTE_PUBLIC) {
            if (rt->resource != NULL) {
                print_error("%s %s %s: public, yet names resource %s\n", module, rt->method,
                            rt->pattern, rt->resource);
                failures++;
            }
            continue;
        }
        if (rt->resource == NULL) {
            print_error("%s %s %s: no resource (nobody could call it)\n", module, rt->method,
                        rt->pattern);
            failures++;
        } else if (strcmp(rt->resource, "{reg}") == 0) {
            for (size_t k = 0; k < registry_count(); k++)
                if (!perm_decided(registry_at(k)->name, rt->action)) {
                    print_error("%s %s %s: registry %s has no %s row\n", module, rt->method,
                                rt->pattern, registry_at(k)->name,
                                rt->action == YJ_ACT_READ ? "read" : "write");
                    failures++;
                }
        } else if (!perm_decided(rt->resource, rt->action)) {
            print_error("%s %s %s: no %s row for %s\n", module, rt->method, rt->pattern,
                        rt->action == YJ_ACT_READ ? "read" : "write", rt->resource);
            failures++;
        }
        /* no two routes for one method and pattern */
        for (size_t k = 0; k < i; k++) {
            const yj_route *o = http_route_at(k, NULL);
            if (strcmp(o->method, rt->method) == 0 && strcmp(o->pattern, rt->pattern) == 0) {
                print_error("%s %s declared twice\n", rt->method, rt->pattern);
                failures++;
            }
        }
    }
    assert_int_equal(failures, 0);
}

/* Every route says what it answers, every write what it takes (or
 * YJ_NO_BODY), in the form the OpenAPI document is built from; every $ref
 * names a schema the document has. */
static void test_every_route_documented(void **state)
{
    (void)state;
    int failures = 0;
    json_t *doc = openapi_doc();
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    for (size_t i = 0; i < http_route_count(); i++) {
        const char *module = NULL;
        const yj_route *rt = http_route_at(i, &module);
        bool write = strcmp(rt->method, "GET") != 0 && strcmp(rt->method, "HEAD") != 0;
        const char *specs[2] = {rt->in, rt->out};
        for (int k = 0; k < 2; k++) {
            int status = 0;
            char media[64];
            json_t *schema = NULL;
            if (specs[k] == NULL && (k == 1 || write)) {
                print_error("%s %s %s: no .%s\n", module, rt->method, rt->pattern,
                            k ? "out" : "in");
                failures++;
            } else if (specs[k] && !openapi_body(specs[k], &status, media, sizeof media, &schema)) {
                print_error("%s %s %s: .%s does not read: %s\n", module, rt->method, rt->pattern,
                            k ? "out" : "in", specs[k]);
                failures++;
            } else if (k == 0 && !write && schema) {
                print_error("%s %s %s: a GET with a body\n", module, rt->method, rt->pattern);
                failures++;
            }
            /* every reference resolves */
            char *text = schema ? json_dumps(schema, 0) : NULL;
            for (const char *p = text ? strstr(text, "#/components/schemas/") : NULL; p;
                 p = strstr(p + 1, "#/components/schemas/")) {
                char name[64];
                size_t n = strcspn(p + 21, "\"");
                snprintf(name, sizeof name, "%.*s", (int)n, p + 21);
                if (json_object_get(schemas, name) == NULL) {
                    print_error("%s %s %s: no schema %s\n", module, rt->method, rt->pattern, name);
                    failures++;
                }
            }
            free(text);
            json_decref(schema);
        }
    }
    json_decref(doc);
    assert_int_equal(failures, 0);
}

/* Every declared resource has both rows; every row a declared resource. */
static void test_every_resource_has_rows(void **state)
{
    (void)state;
    int failures = 0;
    const char *const *res = perm_resources();
    for (size_t i = 0; res[i]; i++)
        for (int a = 0; a < YJ_ACT_COUNT; a++)
            if (!perm_decided(res[i], (yj_action)a)) {
                print_error("resource %s has no %s row\n", res[i], a ? "write" : "read");
                failures++;
            }
    size_t n = 0;
    const yj_module *const *mods = yj_modules(&n);
    for (size_t m = 0; m < n; m++)
        for (size_t i = 0; i < mods[m]->nperms; i++) {
            const yj_perm *p = &mods[m]->perms[i];
            if (!resource_declared(p->resource)) {
                print_error("%s: a row for undeclared resource %s\n", mods[m]->name, p->resource);
                failures++;
            }
            if (p->roles & YJ_R(PUBLIC)) {
                print_error("%s: %s grants the public role (use a public route)\n", mods[m]->name,
                            p->resource);
                failures++;
            }
            if (p->field) {
                const yj_registry *r = registry_find(p->resource);
                if (r == NULL || registry_field(r, p->field) == NULL) {
                    print_error("%s: a row for unknown field %s.%s\n", mods[m]->name, p->resource,
                                p->field);
                    failures++;
                }
            }
        }
    assert_int_equal(failures, 0);
}

/* A field row narrows; it never grants what the resource row does not. */
static void test_field_rows(void **state)
{
    (void)state;
    /* 老/幼/病/残/孕 are health data: a regulator may read residents, not the tags */
    assert_true(perm_allowed(YJ_ROLE_SUPERVISOR, "resident", YJ_ACT_READ));
    assert_false(perm_field_readable(YJ_ROLE_SUPERVISOR, "resident", "vulnerable"));
    assert_true(perm_field_readable(YJ_ROLE_SUPERVISOR, "resident", "name"));
    assert_true(perm_field_readable(YJ_ROLE_DUTY, "resident", "vulnerable"));
    assert_true(perm_field_readable(YJ_ROLE_INFORMANT, "resident", "vulnerable"));
    /* no resource read, no field read, whatever the field row says */
    assert_false(perm_field_readable(YJ_ROLE_EXPERT, "resident", "vulnerable"));
    assert_false(perm_field_readable(YJ_ROLE_EXPERT, "resident", "name"));
}

static void test_events_nav_timers(void **state)
{
    (void)state;
    int failures = 0;
    size_t n = 0;
    const yj_module *const *mods = yj_modules(&n);
    for (size_t m = 0; m < n; m++) {
        const yj_module *mod = mods[m];
        for (size_t i = 0; i < mod->nevents; i++) {
            const yj_event_kind *e = &mod->events[i];
            if (e->resource && !perm_decided(e->resource, YJ_ACT_READ)) {
                print_error("%s: event %s needs undecided %s\n", mod->name, e->type, e->resource);
                failures++;
            }
            if (app_event_kind(e->type) != e) {
                print_error("%s: event %s declared twice\n", mod->name, e->type);
                failures++;
            }
        }
        for (size_t i = 0; i < mod->nnav; i++)
            if (!perm_decided(mod->nav[i].resource, mod->nav[i].action) ||
                mod->nav[i].hash[0] != '#') {
                print_error("%s: nav %s\n", mod->name, mod->nav[i].id);
                failures++;
            }
        for (size_t i = 0; i < mod->ntimers; i++)
            if (mod->timers[i].period_ms <= 0 ||
                app_timer(mod->timers[i].name) != &mod->timers[i]) {
                print_error("%s: timer %s\n", mod->name, mod->timers[i].name);
                failures++;
            }
        for (size_t i = 0; i < mod->npages; i++)
            if (strchr(mod->pages[i].prefix, '/') || strstr(mod->pages[i].script, "..")) {
                print_error("%s: page %s\n", mod->name, mod->pages[i].prefix);
                failures++;
            }
    }
    assert_null(app_event_kind("no-such-kind"));
    assert_int_equal(failures, 0);
}

/* Versions increase per module; a field added after its registry was made
 * has a migration of its declaring module with that version. */
static void test_migrations_and_fields(void **state)
{
    (void)state;
    int failures = 0;
    size_t n = 0;
    const yj_module *const *mods = yj_modules(&n);
    for (size_t m = 0; m < n; m++)
        for (size_t i = 1; i < mods[m]->nmigrations; i++)
            if (mods[m]->migrations[i].version <= mods[m]->migrations[i - 1].version) {
                print_error("%s: migration %d after %d\n", mods[m]->name,
                            mods[m]->migrations[i].version, mods[m]->migrations[i - 1].version);
                failures++;
            }
    for (size_t i = 0; i < registry_count(); i++) {
        const yj_registry *r = registry_at(i);
        for (size_t f = 0; f < r->nfields; f++) {
            int v = r->fields[f].since ? r->fields[f].since : r->since;
            const yj_module *owner = yj_module_find(r->field_module[f]);
            bool found = false;
            for (size_t k = 0; owner && k < owner->nmigrations && !found; k++)
                found = owner->migrations[k].version == v &&
                        owner->migrations[k].fn == registry_migration;
            if (!found) {
                print_error("%s.%s: no migration %d of %s makes it\n", r->name, r->fields[f].name,
                            v, r->field_module[f]);
                failures++;
            }
        }
    }
    assert_int_equal(failures, 0);
}

/* Routes match the most specific pattern, whatever the modules' order:
 * the warning module's /alarms/{id}/warning is not the monitoring
 * module's /alarms/{id}/{action}. */
static void test_route_specificity(void **state)
{
    (void)state;
    yj_req req = {.method = "POST", .path = "/api/v1/alarms/7/warning"};
    bool known = false;
    const yj_route *rt = http_route_match(&req, &known);
    assert_non_null(rt);
    assert_string_equal(rt->pattern, "/api/v1/alarms/{id}/warning");
    req = (yj_req){.method = "POST", .path = "/api/v1/alarms/7/acknowledge"};
    rt = http_route_match(&req, &known);
    assert_string_equal(rt->pattern, "/api/v1/alarms/{id}/{action}");
    assert_string_equal(req.params[1], "acknowledge");
    req = (yj_req){.method = "GET", .path = "/api/v1/registries/shelter/geojson"};
    rt = http_route_match(&req, &known);
    assert_string_equal(rt->pattern, "/api/v1/registries/{reg}/geojson");
    req = (yj_req){.method = "DELETE", .path = "/api/v1/alarms"};
    assert_null(http_route_match(&req, &known));
    assert_true(known); /* 405, not 404 */
    /* the body limit comes from the route: CSV imports 16 MiB, the rest 1 MiB */
    assert_int_equal(http_body_limit("POST", "/api/v1/registries/shelter/import"), YJ_MAX_CSV_BODY);
    assert_int_equal(http_body_limit("POST", "/api/v1/warnings/import"), YJ_MAX_JSON_BODY);
    assert_true(http_body_limit("POST", "/api/v1/login") < 8192);
}

/* A field added to a registry by a later migration: the database made by
 * the earlier version keeps its rows, and gains the column. */
static void test_registry_field_added_later(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "/tmp/yj-unit-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    yj_err err;
    yj_store *s = yj_store_open(path, 1, &err);
    assert_non_null(s);
    /* the deployment as the example module's version 1 made it */
    size_t n = 0;
    const yj_module *const *mods = yj_modules(&n);
    for (size_t i = 0; i < n; i++) {
        size_t upto = strcmp(mods[i]->name, "example") == 0 ? 1 : mods[i]->nmigrations;
        assert_int_equal(yj_store_migrate(s, mods[i]->name, mods[i]->migrations, upto, &err),
                         YJ_OK);
    }
    fx_exec(s, "INSERT INTO region (code, name, parent, level) VALUES ('14', '山西省', NULL, 1);"
               "INSERT INTO example_item (region_code, version, created_at, updated_at, name)"
               " VALUES ('14', 1, 'x', 'x', '旧条目')");
    yj_conn *c = yj_store_acquire(s);
    assert_null(yj_prepare(c, "SELECT note FROM example_item", NULL)); /* not yet */
    yj_store_release(s, c);
    /* upgraded */
    assert_int_equal(app_migrate(s, &err), YJ_OK);
    assert_int_equal(fx_count(s, "SELECT COUNT(*) FROM example_item WHERE name = '旧条目'"
                                 " AND note IS NULL"),
                     1);
    assert_int_equal(fx_count(s, "SELECT MAX(version) FROM schema_migration WHERE module ="
                                 " 'example'"),
                     2);
    yj_store_close(s);
    unlink(path);
    char p2[80];
    snprintf(p2, sizeof p2, "%s-wal", path);
    unlink(p2);
    snprintf(p2, sizeof p2, "%s-shm", path);
    unlink(p2);
}

/* A database made when migrations were one global sequence converts: each
 * version goes to its module and nothing runs twice. */
static void test_legacy_migrations_convert(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "/tmp/yj-unit-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    yj_err err;
    yj_store *s = yj_store_open(path, 1, &err);
    assert_non_null(s);
    assert_int_equal(app_migrate(s, &err), YJ_OK);
    /* roll the bookkeeping back to the old form */
    fx_exec(s, "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
               " applied_at TEXT NOT NULL);"
               "INSERT INTO schema_migrations SELECT version, name, applied_at FROM"
               " schema_migration WHERE module IN ('platform', 'registry', 'monitor', 'warning')"
               " AND version <= 12 AND NOT (module = 'monitor' AND version > 7);"
               /* monitor 8 and on came after the split: kept as they are */
               "DELETE FROM schema_migration WHERE module IN ('platform', 'registry', 'monitor',"
               " 'warning') AND version <= 12 AND NOT (module = 'monitor' AND version > 7);");
    int64_t before = fx_count(s, "SELECT COUNT(*) FROM schema_migrations");
    assert_int_equal(before, 12);
    assert_int_equal(app_migrate(s, &err), YJ_OK); /* no table is created twice */
    assert_int_equal(fx_count(s, "SELECT COUNT(*) FROM schema_migration WHERE module ="
                                 " 'warning' AND version BETWEEN 8 AND 12"),
                     5);
    assert_int_equal(fx_count(s, "SELECT COUNT(*) FROM schema_migration WHERE module ="
                                 " 'platform' AND version IN (1, 3)"),
                     2);
    yj_conn *c = yj_store_acquire(s);
    assert_null(yj_prepare(c, "SELECT 1 FROM schema_migrations", NULL)); /* gone */
    yj_store_release(s, c);
    yj_store_close(s);
    unlink(path);
    char p2[80];
    snprintf(p2, sizeof p2, "%s-wal", path);
    unlink(p2);
    snprintf(p2, sizeof p2, "%s-shm", path);
    unlink(p2);
}

int main(void)
{
    app_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_module_names),
        cmocka_unit_test(test_every_route_decided),
        cmocka_unit_test(test_every_route_documented),
        cmocka_unit_test(test_every_resource_has_rows),
        cmocka_unit_test(test_field_rows),
        cmocka_unit_test(test_events_nav_timers),
        cmocka_unit_test(test_migrations_and_fields),
        cmocka_unit_test(test_route_specificity),
        cmocka_unit_test(test_registry_field_added_later),
        cmocka_unit_test(test_legacy_migrations_convert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
