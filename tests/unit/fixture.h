/*
 * fixture.h — a migrated database with a small region tree, for the unit
 * tests that need a store: a temporary SQLite file, or, when
 * YJ_TEST_PG_URL names a PostgreSQL cluster (scripts/with-pg.sh, as
 * `make unit` runs the suite a second time), a database of its own there.
 * Include after cmocka.h.
 *
 *   14 山西省
 *     1405 晋城市
 *       140525 泽州县
 *         140525100 南村镇
 *       140581 高平市
 *     1406 朔州市
 *       140602 朔城区
 */
#ifndef YJ_TEST_FIXTURE_H
#define YJ_TEST_FIXTURE_H

#include "../../src/auth/auth.h"
#include "../../src/base/module.h"
#include "../../src/core/buf.h"
#include "../../src/core/util.h"
#include "../../src/registry/registry.h"
#include "../../src/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char path[512]; /* the file, or the PostgreSQL URL */
    char pg_name[64];
    yj_store *store;
} fx_db;

/* Run one statement on the cluster's admin database (CREATE/DROP DATABASE). */
static inline void fx_pg_admin(const char *sql)
{
    yj_err err;
    yj_store *adm = yj_store_open(getenv("YJ_TEST_PG_URL"), 1, &err);
    if (adm == NULL)
        fail_msg("PostgreSQL: %s", err.message);
    yj_conn *c = yj_store_acquire(adm);
    yj_code rc = yj_exec(c, sql, &err);
    yj_store_release(adm, c);
    yj_store_close(adm);
    if (rc != YJ_OK)
        fail_msg("%s: %s", sql, err.message);
}

static inline void fx_exec(yj_store *s, const char *sql)
{
    yj_err err;
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = yj_exec(c, sql, &err);
    yj_store_release(s, c);
    if (rc != YJ_OK)
        fail_msg("SQL failed: %s: %s", sql, err.message);
}

static inline int64_t fx_count(yj_store *s, const char *sql)
{
    yj_err err;
    int64_t n = -1;
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = yj_query_int(c, sql, NULL, &n, &err);
    yj_store_release(s, c);
    if (rc != YJ_OK)
        fail_msg("query failed: %s: %s", sql, err.message);
    return n;
}

static inline void fx_migrate(yj_store *s)
{
    yj_err err;
    if (app_migrate(s, &err) != YJ_OK)
        fail_msg("migrate: %s", err.message);
}

static inline fx_db *fx_open(void)
{
    app_init();
    fx_db *db = calloc(1, sizeof *db);
    assert_non_null(db);
    const char *pg = getenv("YJ_TEST_PG_URL");
    if (pg && *pg) {
        static int seq;
        snprintf(db->pg_name, sizeof db->pg_name, "u_%d_%d", (int)getpid(), ++seq);
        char sql[128];
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", db->pg_name);
        fx_pg_admin(sql);
        /* the admin URL with the database's name in place of its own */
        const char *slash = strrchr(pg, '/');
        snprintf(db->path, sizeof db->path, "%.*s/%s", (int)(slash - pg), pg, db->pg_name);
    } else {
        snprintf(db->path, sizeof db->path, "/tmp/yj-unit-XXXXXX");
        int fd = mkstemp(db->path);
        assert_true(fd >= 0);
        close(fd);
    }
    yj_err err;
    db->store = yj_store_open(db->path, 2, &err);
    if (db->store == NULL)
        fail_msg("open %s: %s", db->path, err.message);
    fx_migrate(db->store);
    fx_exec(db->store, "INSERT INTO region(code, name, parent, level) VALUES"
                       " ('14', '山西省', NULL, 1),"
                       " ('1405', '晋城市', '14', 2),"
                       " ('140525', '泽州县', '1405', 3),"
                       " ('140525100', '南村镇', '140525', 4),"
                       " ('140581', '高平市', '1405', 3),"
                       " ('1406', '朔州市', '14', 2),"
                       " ('140602', '朔城区', '1406', 3)");
    return db;
}

static inline void fx_close(fx_db *db)
{
    if (db == NULL)
        return;
    yj_store_close(db->store);
    if (db->pg_name[0]) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", db->pg_name);
        fx_pg_admin(sql);
        free(db);
        return;
    }
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s%s", db->path, suffixes[i]);
        unlink(p);
    }
    free(db);
}

static inline int fx_setup(void **state)
{
    *state = fx_open();
    return 0;
}

static inline int fx_teardown(void **state)
{
    fx_close(*state);
    return 0;
}

/* Parse JSON text written in a test (must be valid). */
static inline json_t *fx_json(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (v == NULL)
        fail_msg("bad JSON in test: %s: %s", text, je.text);
    return v;
}

#endif
