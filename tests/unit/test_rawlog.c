/*
 * test_rawlog.c — the raw reading store (src/monitor/rawlog.c): append to
 * the log, merge into the history table in chunks with the minute/hour
 * aggregates, duplicate detection, rollback, adoption of the log after a
 * crash (re-merging is a no-op and aggregates nothing twice), and the
 * migration of a database made before the log existed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "../../src/monitor/rawlog.h"
#include "fixture.h"

#define T0  1764028800000LL /* 2025-11-25T00:00:00Z, a whole hour */
#define T0S "1764028800000"

/* n readings: sensor 1 + i % sensors, one per second per sensor, values
 * 0, 1, .. 9, 0, .. by second. */
static void append_rows(yj_store *s, int64_t first, int64_t n, int sensors, bool commit)
{
    yj_err err;
    yj_conn *c = yj_store_acquire(s);
    assert_int_equal(yj_tx_begin(c, &err), YJ_OK);
    assert_int_equal(mon_raw_begin(c, &err), YJ_OK);
    for (int64_t i = first; i < first + n; i++) {
        int64_t sensor = 1 + i % sensors;
        int64_t ts = T0 + (i / sensors) * 1000;
        if (mon_raw_append(sensor, ts, (double)((i / sensors) % 10), ts + 50, (int)(i & 1), &err) !=
            YJ_OK)
            fail_msg("append: %s", err.message);
    }
    if (commit) {
        assert_int_equal(yj_tx_commit(c, &err), YJ_OK);
    } else {
        yj_tx_rollback(c);
    }
    mon_raw_end(commit);
    yj_store_release(s, c);
}

static bool exists(yj_store *s, int64_t sensor, int64_t ts)
{
    yj_err err;
    bool out = false;
    yj_conn *c = yj_store_acquire(s);
    assert_int_equal(mon_raw_exists(c, sensor, ts, &out, &err), YJ_OK);
    yj_store_release(s, c);
    return out;
}

static size_t step(yj_store *s, bool force)
{
    yj_err err;
    size_t done = 0;
    yj_conn *c = yj_store_acquire(s);
    if (mon_raw_merge_step(c, force, &done, &err) != YJ_OK)
        fail_msg("merge step: %s", err.message);
    yj_store_release(s, c);
    return done;
}

static void load(yj_store *s)
{
    yj_err err;
    yj_conn *c = yj_store_acquire(s);
    if (mon_raw_load(c, &err) != YJ_OK)
        fail_msg("load: %s", err.message);
    yj_store_release(s, c);
}

static int64_t metric(const char *name)
{
    yj_buf b;
    yj_buf_init(&b);
    mon_raw_metrics(&b);
    char key[96];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(b.data, key);
    int64_t v = p ? strtoll(p + strlen(key), NULL, 10) : -1;
    yj_buf_free(&b);
    return v;
}

static void test_append_merge_aggregate(void **state)
{
    fx_db *db = *state;
    load(db->store);
    const int64_t N = 20000; /* three chunks of 8192 */
    append_rows(db->store, 0, N, 50, true);
    assert_int_equal(mon_raw_pending(), N);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM reading_log"), N);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM reading"), 0);
    assert_true(exists(db->store, 7, T0 + 3000));      /* i = 156: sensor 7, 4th second */
    assert_false(exists(db->store, 7, T0 + 3000 + 1)); /* no such reading */
    assert_false(exists(db->store, 51, T0));           /* no such sensor */

    /* not due: fewer rows than a merge takes and younger than its age */
    assert_int_equal(step(db->store, false), 0);
    assert_false(mon_raw_merging());

    /* forced: the first chunk goes into the history table; the log keeps
     * every row until all are merged; readers see both (UNION) */
    assert_int_equal(step(db->store, true), 8192);
    assert_true(mon_raw_merging());
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM reading"), 8192);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM reading_log"), N);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM (SELECT sensor_id, ts FROM reading"
                                         " UNION SELECT sensor_id, ts FROM reading_log) u"),
                     N);
    /* sorted by sensor: the first chunk holds the lowest sensors whole */
    assert_int_equal(fx_count(db->store, "SELECT MIN(sensor_id) FROM reading"), 1);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM reading WHERE sensor_id = 1"),
                     N / 50);

    /* new readings during a merge go to the next generation */
    append_rows(db->store, N, 100, 50, true);
    assert_true(exists(db->store, 1, T0 + (N / 50) * 1000));

    size_t total = 8192, done;
    while ((done = step(db->store, false)) > 0)
        total += done;
    assert_int_equal(total, 2 * N); /* inserted, then deleted */
    assert_false(mon_raw_merging());
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM reading"), N);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM reading_log"), 100);
    assert_int_equal(mon_raw_pending(), 100);
    assert_true(exists(db->store, 7, T0 + 3000)); /* now found in the history table */

    /* aggregates: every reading once, right sums, minima, maxima */
    assert_int_equal(fx_count(db->store, "SELECT SUM(n) FROM reading_min"), N);
    assert_int_equal(fx_count(db->store, "SELECT SUM(n) FROM reading_hour"), N);
    assert_int_equal(fx_count(db->store, "SELECT CAST(SUM(sum) AS INTEGER) FROM reading_hour"),
                     fx_count(db->store, "SELECT CAST(SUM(value) AS INTEGER) FROM reading"));
    /* sensor 1, first minute: 60 readings, values 0..9 */
    assert_int_equal(fx_count(db->store, "SELECT n FROM reading_min WHERE sensor_id = 1"
                                         " AND bucket = " T0S),
                     60);
    assert_int_equal(fx_count(db->store, "SELECT CAST(min * 10 + max AS INTEGER) FROM reading_min"
                                         " WHERE sensor_id = 1 AND bucket = " T0S),
                     9);
    /* 400 readings per sensor, one per second: 7 minute buckets, 1 hour bucket */
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM reading_min WHERE sensor_id = 2"),
                     7);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM reading_hour WHERE sensor_id = 2"),
                     1);
    /* the flags travel */
    assert_int_equal(fx_count(db->store, "SELECT SUM(flags) FROM reading"), N / 2);

    /* flush takes the rest, whatever its age */
    yj_err err;
    yj_conn *c = yj_store_acquire(db->store);
    assert_int_equal(mon_raw_flush(c, &err), YJ_OK);
    yj_store_release(db->store, c);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM reading"), N + 100);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM reading_log"), 0);
    assert_int_equal(mon_raw_pending(), 0);
    assert_int_equal(metric("yj_reading_merged_total") >= N + 100, 1);
    mon_raw_free();
}

static void test_rollback_forgets(void **state)
{
    fx_db *db = *state;
    load(db->store);
    append_rows(db->store, 0, 10, 5, true);
    append_rows(db->store, 10, 10, 5, false); /* rolled back */
    assert_int_equal(mon_raw_pending(), 10);
    assert_true(exists(db->store, 1, T0));
    assert_false(exists(db->store, 1, T0 + 2000)); /* i = 10 was rolled back */
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM reading_log"), 10);
    /* memory and log agree: what is read back equals what is held */
    load(db->store);
    assert_int_equal(mon_raw_pending(), 10);
    assert_true(exists(db->store, 5, T0 + 1000));
    mon_raw_free();
}

/* A crash after some chunks went into the history table but before the log
 * rows were deleted: the next start reads the whole log back and merges it
 * again; the merged rows are skipped and nothing is aggregated twice. */
static void test_crash_between_merge_and_delete(void **state)
{
    fx_db *db = *state;
    load(db->store);
    append_rows(db->store, 0, 10000, 20, true);
    assert_int_equal(step(db->store, true), 8192);
    mon_raw_free(); /* the process dies */

    load(db->store); /* the next start */
    assert_int_equal(mon_raw_pending(), 10000);
    assert_true(exists(db->store, 20, T0 + 499 * 1000));
    int64_t skipped0 = metric("yj_reading_merge_skipped_total");
    yj_err err;
    yj_conn *c = yj_store_acquire(db->store);
    assert_int_equal(mon_raw_flush(c, &err), YJ_OK);
    yj_store_release(db->store, c);
    assert_int_equal(metric("yj_reading_merge_skipped_total") - skipped0, 8192);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM reading"), 10000);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM reading_log"), 0);
    assert_int_equal(fx_count(db->store, "SELECT SUM(n) FROM reading_min"), 10000);
    assert_int_equal(fx_count(db->store, "SELECT SUM(n) FROM reading_hour"), 10000);
    mon_raw_free();
}

/* A database at schema 6 (readings in a rowid table, a rollup watermark):
 * rolled-up readings move to the history table, the rest to the log. */
static void test_migration_from_v6(void **state)
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
    /* the platform and registry modules, then the monitoring module's
     * migrations up to 6 */
    app_init();
    const yj_module *mon = yj_module_find("monitor");
    assert_non_null(mon);
    size_t upto = 0;
    while (upto < mon->nmigrations && mon->migrations[upto].version <= 6)
        upto++;
    static const char *const before[] = {"platform", "registry"};
    for (size_t i = 0; i < 2; i++) {
        const yj_module *m = yj_module_find(before[i]);
        assert_int_equal(yj_store_migrate(s, m->name, m->migrations, m->nmigrations, &err), YJ_OK);
    }
    assert_int_equal(yj_store_migrate(s, "monitor", mon->migrations, upto, &err), YJ_OK);
    fx_exec(s,
            "INSERT INTO reading (id, sensor_id, ts, value, rx, flags) VALUES"
            " (1, 1, 1000, 1.0, 1000, 0), (2, 1, 2000, 2.0, 2000, 1),"
            " (3, 2, 1000, 3.0, 1000, 0), (4, 2, 2000, 4.0, 2000, 0), (5, 1, 3000, 5.0, 3000, 0);"
            "INSERT INTO rollup_state (name, wm) VALUES ('reading', 3);");
    assert_int_equal(app_migrate(s, &err), YJ_OK);
    assert_int_equal(fx_count(s, "SELECT COUNT(*) FROM reading"), 3);
    assert_int_equal(fx_count(s, "SELECT SUM(flags) FROM reading"), 1);
    assert_int_equal(fx_count(s, "SELECT COUNT(*) FROM reading_log"), 2);
    assert_int_equal(fx_count(s, "SELECT CAST(SUM(value) AS INTEGER) FROM reading_log"), 9);
    assert_int_equal(fx_count(s, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'rollup_state'"),
                     0);
    /* (sensor, ts) is the key of the new table */
    yj_conn *c = yj_store_acquire(s);
    assert_int_equal(
        yj_exec(c, "INSERT INTO reading (sensor_id, ts, value, rx) VALUES (1, 1000, 9, 9)", &err),
        YJ_ECONFLICT);
    yj_store_release(s, c);
    yj_store_close(s);
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char p[80];
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        unlink(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_merge_aggregate, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rollback_forgets, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_crash_between_merge_and_delete, fx_setup, fx_teardown),
        cmocka_unit_test(test_migration_from_v6),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
