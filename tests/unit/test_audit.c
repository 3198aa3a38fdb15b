/*
 * test_audit.c — the hash-chained audit log (src/auth/audit.c) and the
 * audit entries the registry service writes (src/registry/registry.c).
 *
 * Tampering is done with plain SQL, as someone with the database file
 * could; audit_verify() must then name the first entry that does not fit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"

static void append(fx_db *db, const char *actor, const char *action, int64_t rec,
                   const char *before, const char *after)
{
    yj_err err;
    json_t *b = before ? fx_json(before) : NULL, *a = after ? fx_json(after) : NULL;
    yj_conn *c = yj_store_acquire(db->store);
    assert_int_equal(yj_tx_begin(c, &err), YJ_OK);
    yj_code rc = audit_append(c, actor, action, "shelter", rec, b, a, &err);
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, &err);
    else
        yj_tx_rollback(c);
    yj_store_release(db->store, c);
    json_decref(b);
    json_decref(a);
    if (rc != YJ_OK)
        fail_msg("audit_append: %s", err.message);
}

static yj_audit_check verify(fx_db *db)
{
    yj_audit_check chk;
    yj_err err;
    assert_int_equal(audit_verify(db->store, &chk, &err), YJ_OK);
    return chk;
}

/* Three entries: create, update, delete of record 1. */
static int three_setup(void **state)
{
    fx_setup(state);
    fx_db *db = *state;
    append(db, "alice", "create", 1, NULL, "{\"name\":\"a\",\"version\":1}");
    append(db, "bob", "update", 1, "{\"name\":\"a\",\"version\":1}",
           "{\"name\":\"b\",\"version\":2}");
    append(db, "alice", "delete", 1, "{\"name\":\"b\",\"version\":2}", NULL);
    return 0;
}

static void test_empty_log_verifies(void **state)
{
    fx_db *db = *state;
    yj_audit_check chk = verify(db);
    assert_true(chk.ok);
    assert_int_equal(chk.entries, 0);
}

static void test_chain_verifies(void **state)
{
    fx_db *db = *state;
    yj_audit_check chk = verify(db);
    assert_true(chk.ok);
    assert_int_equal(chk.entries, 3);
    assert_int_equal(chk.first_bad_id, 0);
    /* each entry links to the one before */
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM audit a JOIN audit p"
                                         " ON p.id = a.id - 1 WHERE a.prev_hash = p.hash"),
                     2);
    /* canonical JSON: keys sorted */
    json_t *list = NULL;
    yj_err err;
    assert_int_equal(
        audit_list(db->store, &(yj_scope){{0}, 0}, "shelter", 1, 0, 10, 0, &list, &err), YJ_OK);
    assert_int_equal(json_array_size(list), 3);
    json_t *newest = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(newest, "action")), "delete");
    assert_true(json_is_null(json_object_get(newest, "after")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(newest, "before"), "name")), "b");
    json_decref(list);
}

/* {SQL that tampers, expected first_bad_id} */
static const struct {
    const char *sql;
    int64_t first_bad;
} tamper_cases[] = {
    {"UPDATE audit SET after='{}' WHERE id=2", 2},
    {"UPDATE audit SET after='{\"name\":\"x\",\"version\":1}' WHERE id=1", 1},
    {"UPDATE audit SET before=NULL WHERE id=2", 2},
    {"UPDATE audit SET actor='mallory' WHERE id=3", 3},
    {"UPDATE audit SET action='update' WHERE id=1", 1},
    {"UPDATE audit SET entity='expert' WHERE id=2", 2},
    {"UPDATE audit SET record_id=2 WHERE id=2", 2},
    {"UPDATE audit SET ts='2020-01-01T00:00:00.000Z' WHERE id=3", 3},
    {"UPDATE audit SET hash='"
     "0000000000000000000000000000000000000000000000000000000000000000"
     "' WHERE id=1",
     1},
    {"UPDATE audit SET prev_hash=(SELECT hash FROM audit WHERE id=1) WHERE id=3", 3},
    {"DELETE FROM audit WHERE id=2", 3},
    {"DELETE FROM audit WHERE id=1", 2},
    /* swap the contents of 1 and 2 */
    {"UPDATE audit SET id=-1 WHERE id=1; UPDATE audit SET id=1 WHERE id=2;"
     " UPDATE audit SET id=2 WHERE id=-1",
     1},
    /* renumber to hide a deletion */
    {"DELETE FROM audit WHERE id=2; UPDATE audit SET id=2 WHERE id=3", 2},
    /* edit an entry and recompute its own hash: the next one no longer links */
    {"UPDATE audit SET hash='"
     "1111111111111111111111111111111111111111111111111111111111111111"
     "' WHERE id=2",
     2},
};

/* A missing before/after (NULL) and an empty one ('') are different stored
 * values; today both hash as "" so the swap goes unnoticed. */
static const struct {
    const char *sql;
    int64_t first_bad;
} null_cases[] = {
    {"UPDATE audit SET before='' WHERE id=1", 1},
    {"UPDATE audit SET after='' WHERE id=3", 3},
};

static int run_tamper(const void *cases_v, size_t n)
{
    const struct {
        const char *sql;
        int64_t first_bad;
    } *cases = cases_v;
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        void *st = NULL;
        three_setup(&st);
        fx_db *db = st;
        fx_exec(db->store, cases[i].sql);
        yj_audit_check chk = verify(db);
        if (chk.ok || chk.first_bad_id != cases[i].first_bad) {
            print_error("%s: ok=%d first_bad_id=%lld (%s), want first_bad_id %lld\n", cases[i].sql,
                        chk.ok, (long long)chk.first_bad_id, chk.reason,
                        (long long)cases[i].first_bad);
            failures++;
        } else {
            assert_true(strlen(chk.reason) > 0);
        }
        fx_close(db);
    }
    return failures;
}

static void test_tampering_detected(void **state)
{
    (void)state;
    assert_int_equal(run_tamper(tamper_cases, sizeof tamper_cases / sizeof tamper_cases[0]), 0);
}

static void test_null_vs_empty_detected(void **state)
{
    (void)state;
    assert_int_equal(run_tamper(null_cases, sizeof null_cases / sizeof null_cases[0]), 0);
}

/* The hash input joins the fields with "\n", so text may not move from one
 * field into the next without the hash noticing. */
static void test_field_boundaries_bound(void **state)
{
    fx_db *db = *state;
    append(db, "a\nb", "c", 1, NULL, "{}");
    assert_true(verify(db).ok);
    fx_exec(db->store, "UPDATE audit SET actor='a', action='b\nc' WHERE id=1");
    yj_audit_check chk = verify(db);
    assert_false(chk.ok);
    assert_int_equal(chk.first_bad_id, 1);
}

/* ---- the registry service audits every change ------------------------------------------- */

static void test_registry_changes_audited(void **state)
{
    fx_db *db = *state;
    yj_user admin = {.id = 1, .username = "admin", .role = YJ_ROLE_ADMIN, .region = "14"};
    const yj_registry *r = registry_find("shelter");
    yj_err err;
    json_t *out = NULL;
    json_t *in = fx_json("{\"name\":\"一号\",\"class\":\"Ⅰ类\",\"capacity\":100,\"area\":50,"
                         "\"manager\":\"王\",\"phone\":\"13812345678\",\"address\":\"某路\","
                         "\"region_code\":\"140525\"}");
    assert_int_equal(registry_create(db->store, &admin, r, in, &out, &err), YJ_OK);
    json_decref(in);
    int64_t id = json_integer_value(json_object_get(out, "id"));
    assert_true(id > 0);
    json_decref(out);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM audit"), 1);

    in = fx_json("{\"name\":\"一号改\"}");
    assert_int_equal(registry_update(db->store, &admin, r, id, 1, in, &out, &err), YJ_OK);
    json_decref(out);
    /* a stale update and a forbidden one change nothing and audit nothing */
    assert_int_equal(registry_update(db->store, &admin, r, id, 1, in, &out, &err), YJ_ESTALE);
    assert_null(out);
    yj_user public = {.id = 2, .username = "anon", .role = YJ_ROLE_PUBLIC, .region = "14"};
    assert_int_equal(registry_update(db->store, &public, r, id, 2, in, &out, &err), YJ_EFORBIDDEN);
    json_decref(in);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM audit"), 2);

    assert_int_equal(registry_delete(db->store, &admin, r, id, 1, &err), YJ_ESTALE);
    assert_int_equal(registry_delete(db->store, &admin, r, id, 2, &err), YJ_OK);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM audit"), 3);

    json_t *list = NULL;
    assert_int_equal(
        audit_list(db->store, &(yj_scope){{0}, 0}, "shelter", id, 0, 10, 0, &list, &err), YJ_OK);
    assert_int_equal(json_array_size(list), 3);
    static const char *const actions[] = {"delete", "update", "create"};
    for (size_t i = 0; i < 3; i++) {
        json_t *e = json_array_get(list, i);
        assert_string_equal(json_string_value(json_object_get(e, "action")), actions[i]);
        assert_string_equal(json_string_value(json_object_get(e, "actor")), "admin");
        assert_string_equal(json_string_value(json_object_get(e, "entity")), "shelter");
        assert_int_equal(json_integer_value(json_object_get(e, "record_id")), id);
    }
    json_t *del = json_array_get(list, 0), *upd = json_array_get(list, 1),
           *cre = json_array_get(list, 2);
    assert_true(json_is_null(json_object_get(cre, "before")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(cre, "after"), "name")),
                        "一号");
    assert_string_equal(json_string_value(json_object_get(json_object_get(upd, "before"), "name")),
                        "一号");
    assert_string_equal(json_string_value(json_object_get(json_object_get(upd, "after"), "name")),
                        "一号改");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(upd, "after"), "version")),
                     2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(del, "before"), "name")),
                        "一号改");
    assert_true(json_is_null(json_object_get(del, "after")));
    json_decref(list);

    yj_audit_check chk = verify(db);
    assert_true(chk.ok);
    assert_int_equal(chk.entries, 3);
}

/* Booleans are audited as the API shows them (true/false, not 0/1). */
static void test_audit_booleans(void **state)
{
    fx_db *db = *state;
    yj_user admin = {.id = 1, .username = "admin", .role = YJ_ROLE_ADMIN, .region = "14"};
    yj_err err;
    json_t *out = NULL;
    json_t *in = fx_json("{\"name\":\"专家\",\"field\":\"地震\",\"title\":\"中级\","
                         "\"employer\":\"某院\",\"phone\":\"13912345678\","
                         "\"local_expert\":true,\"region_code\":\"1405\"}");
    assert_int_equal(registry_create(db->store, &admin, registry_find("expert"), in, &out, &err),
                     YJ_OK);
    assert_true(json_is_true(json_object_get(out, "local_expert")));
    json_decref(out);
    json_decref(in);
    json_t *list = NULL;
    assert_int_equal(audit_list(db->store, &(yj_scope){{0}, 0}, NULL, 0, 0, 10, 0, &list, &err),
                     YJ_OK);
    assert_int_equal(json_array_size(list), 1);
    json_t *after = json_object_get(json_array_get(list, 0), "after");
    assert_true(json_is_true(json_object_get(after, "local_expert")));
    json_decref(list);
}

int main(void)
{
    if (yj_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_log_verifies, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_chain_verifies, three_setup, fx_teardown),
        cmocka_unit_test(test_tampering_detected),
        cmocka_unit_test(test_null_vs_empty_detected),
        cmocka_unit_test_setup_teardown(test_field_boundaries_bound, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_registry_changes_audited, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_audit_booleans, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
