/*
 * test_workflow.c — the workflow engine (base/workflow.c) on a toy table:
 * every check in its order, the state write's predicate, the timeline and
 * audit it writes, the actions it offers, and two concurrent steps from
 * one state (exactly one wins).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "../../src/base/workflow.h"

#include <pthread.h>

static const char *toy_state(yj_store *s, int64_t id, char *buf, size_t n)
{
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_prepare(c, "SELECT state FROM toy WHERE id = ?", NULL);
    yj_bind_int(st, 1, id);
    snprintf(buf, n, "%s", yj_step(st, NULL) == 1 ? yj_col_text(st, 0) : "?");
    yj_stmt_done(st);
    yj_store_release(s, c);
    return buf;
}

static yj_code toy_load(yj_conn *c, const yj_user *u, int64_t id, json_t **out, yj_err *err)
{
    *out = NULL;
    static const yj_scope_cols cols = {.region = "region_code"};
    yj_sql q;
    yj_sql_init(&q, "SELECT id, state, version, region_code, done_by, note FROM toy WHERE");
    yj_sql_int(&q, " id = ?", id);
    if (u) {
        yj_scope sc = user_scope(u);
        yj_sql_scope(&q, &sc, &cols);
    }
    yj_stmt *st = yj_sql_prepare(c, &q, err);
    yj_sql_free(&q);
    if (st == NULL)
        return yj_fail(err);
    int r = yj_step(st, err);
    if (r == 1) {
        *out = json_object();
        for (int k = 0; k < yj_col_count(st); k++)
            json_object_set_new(*out, yj_col_name(st, k), yj_col_json(st, k));
    }
    yj_stmt_done(st);
    if (r < 0)
        return yj_fail(err);
    return r == 1 ? YJ_OK : yj_err_set(err, YJ_ENOTFOUND, NULL, "no toy %lld", (long long)id);
}

/* The guard of "sneak": another writer moves the record between the load
 * and the write (what two servers on PostgreSQL can do). */
static bool sneak_guard(const yj_wf_ctx *x, yj_err *err)
{
    (void)err;
    if (x->conn == NULL)
        return true;
    yj_stmt *st = yj_prepare(x->conn, "UPDATE toy SET version = version + 1 WHERE id = ?", NULL);
    yj_bind_int(st, 1, x->id);
    yj_step(st, NULL);
    yj_stmt_done(st);
    return true;
}

static bool not_bob(const yj_wf_ctx *x, yj_err *err)
{
    if (strcmp(x->user->username, "bob") == 0) {
        yj_err_set(err, YJ_EFORBIDDEN, NULL, "not bob");
        return false;
    }
    return true;
}

static int effects;
static yj_code count_effect(yj_wf_ctx *x, yj_err *err)
{
    (void)err;
    effects++;
    snprintf(x->note, sizeof x->note, "effect ran");
    return YJ_OK;
}

static const yj_wf_state toy_states[] = {{"new", "新"}, {"done", "完成"}, {"gone", "撤销"}};
static const yj_wf_step toy_steps[] = {
    {"finish", "完成", YJ_WF_FROM("new"), "done", YJ_R(DUTY) | YJ_R(COMMANDER),
     .needs = YJ_WF_NEEDS("note"), .guard = not_bob, .stamp = "done", .effect = count_effect},
    {"sneak", "抢先", YJ_WF_FROM("new"), "done", YJ_R(DUTY), .guard = sneak_guard},
    {"drop", "撤销", YJ_WF_FROM("new", "done"), "gone", 0, .flags = YJ_WF_SYSTEM},
};
static const yj_workflow toy = {
    .name = "toy",
    .table = "toy",
    .timeline = "toy_event",
    .timeline_fk = "toy_id",
    YJ_LIST(states, toy_states),
    YJ_LIST(steps, toy_steps),
    .load = toy_load,
};

static yj_user user_of(const char *name, yj_role role, const char *region)
{
    yj_user u = {.id = 1, .role = role};
    snprintf(u.username, sizeof u.username, "%s", name);
    snprintf(u.region, sizeof u.region, "%s", region);
    return u;
}

static int setup(void **state)
{
    fx_db *db = fx_open();
    fx_exec(
        db->store,
        "CREATE TABLE toy (id INTEGER PRIMARY KEY, state TEXT NOT NULL, version INTEGER NOT NULL"
        " DEFAULT 1, region_code TEXT NOT NULL, done_at INTEGER, done_by TEXT, note TEXT);"
        "CREATE TABLE toy_event (id INTEGER PRIMARY KEY, toy_id INTEGER, ts INTEGER, actor TEXT,"
        " action TEXT, note TEXT);"
        "INSERT INTO toy (id, state, region_code) VALUES (1, 'new', '140525'), (2, 'new',"
        " '140525'), (3, 'new', '140581'), (4, 'new', '140525')");
    *state = db;
    return 0;
}

static json_t *note(const char *text)
{
    return json_pack("{s:s}", "note", text);
}

static void test_checks_in_order(void **state)
{
    fx_db *db = *state;
    yj_user duty = user_of("ann", YJ_ROLE_DUTY, "140525"),
            sup = user_of("sam", YJ_ROLE_SUPERVISOR, "140525"),
            bob = user_of("bob", YJ_ROLE_DUTY, "140525"),
            other = user_of("oz", YJ_ROLE_DUTY, "140581");
    json_t *out = NULL, *body = note("ok"), *empty = json_object();
    yj_err err;
    /* outside the caller's scope: not found, whatever else */
    assert_int_equal(wf_act(db->store, &toy, &other, 1, "finish", 1, body, &out, &err),
                     YJ_ENOTFOUND);
    /* unknown, system and form steps are not actions a user takes */
    assert_int_equal(wf_act(db->store, &toy, &duty, 1, "explode", 1, body, &out, &err),
                     YJ_ENOTFOUND);
    assert_int_equal(wf_act(db->store, &toy, &duty, 1, "drop", 1, body, &out, &err), YJ_ENOTFOUND);
    /* the version seen must be current */
    assert_int_equal(wf_act(db->store, &toy, &duty, 1, "finish", 7, body, &out, &err), YJ_ESTALE);
    /* the role, the body, the guard */
    assert_int_equal(wf_act(db->store, &toy, &sup, 1, "finish", 1, body, &out, &err),
                     YJ_EFORBIDDEN);
    assert_int_equal(wf_act(db->store, &toy, &duty, 1, "finish", 1, empty, &out, &err), YJ_EINVAL);
    assert_string_equal(err.field, "note");
    assert_int_equal(wf_act(db->store, &toy, &bob, 1, "finish", 1, body, &out, &err),
                     YJ_EFORBIDDEN);
    char buf[16];
    assert_string_equal(toy_state(db->store, 1, buf, sizeof buf), "new");
    assert_int_equal(effects, 0);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM toy_event"), 0);
    /* all met: the state, the stamp, the effect, the timeline, the audit */
    assert_int_equal(wf_act(db->store, &toy, &duty, 1, "finish", 1, body, &out, &err), YJ_OK);
    assert_string_equal(json_string_value(json_object_get(out, "state")), "done");
    assert_int_equal(json_integer_value(json_object_get(out, "version")), 2);
    assert_string_equal(json_string_value(json_object_get(out, "done_by")), "ann");
    assert_int_equal(json_array_size(json_object_get(out, "actions")), 0);
    json_decref(out);
    assert_int_equal(effects, 1);
    assert_int_equal(fx_count(db->store,
                              "SELECT COUNT(*) FROM toy_event WHERE toy_id = 1 AND"
                              " action = 'done' AND actor = 'ann' AND note = 'effect ran'"),
                     1);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM audit WHERE entity = 'toy' AND"
                                         " record_id = 1 AND action = 'finish' AND actor = 'ann'"
                                         " AND before LIKE '%\"state\":\"new\"%'"
                                         " AND after LIKE '%\"state\":\"done\"%'"),
                     1);
    /* and again from the state it left: a conflict */
    assert_int_equal(wf_act(db->store, &toy, &duty, 1, "finish", 2, body, &out, &err),
                     YJ_ECONFLICT);
    json_decref(body);
    json_decref(empty);
}

/* The write is guarded by the state and version read: a change that lands
 * between the read and the write makes the step a conflict, with nothing of
 * it written. */
static void test_write_predicate(void **state)
{
    fx_db *db = *state;
    yj_user duty = user_of("ann", YJ_ROLE_DUTY, "140525");
    json_t *out = NULL;
    yj_err err;
    int64_t audits = fx_count(db->store, "SELECT COUNT(*) FROM audit");
    assert_int_equal(wf_act(db->store, &toy, &duty, 2, "sneak", 1, NULL, &out, &err), YJ_ECONFLICT);
    assert_null(out);
    char buf[16];
    assert_string_equal(toy_state(db->store, 2, buf, sizeof buf), "new");
    assert_int_equal(fx_count(db->store, "SELECT version FROM toy WHERE id = 2"), 1);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM toy_event WHERE toy_id = 2"), 0);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM audit"), audits);
}

static void test_actions_and_may(void **state)
{
    fx_db *db = *state;
    yj_user duty = user_of("ann", YJ_ROLE_DUTY, "140525"),
            bob = user_of("bob", YJ_ROLE_DUTY, "140525"),
            cmd = user_of("cy", YJ_ROLE_COMMANDER, "1405");
    yj_conn *c = yj_store_acquire(db->store);
    json_t *rec = NULL;
    yj_err err;
    assert_int_equal(toy_load(c, NULL, 4, &rec, &err), YJ_OK);
    json_t *a = wf_actions(c, &toy, &duty, rec);
    assert_int_equal(json_array_size(a), 2); /* finish, sneak; never the system's drop */
    assert_string_equal(json_string_value(json_array_get(a, 0)), "finish");
    json_decref(a);
    a = wf_actions(c, &toy, &bob, rec); /* the guard says no to bob */
    assert_int_equal(json_array_size(a), 1);
    assert_string_equal(json_string_value(json_array_get(a, 0)), "sneak");
    json_decref(a);
    a = wf_actions(c, &toy, &cmd, rec);
    assert_int_equal(json_array_size(a), 1);
    json_decref(a);
    assert_int_equal(wf_may(c, &toy, &bob, rec, "finish", &err), YJ_EFORBIDDEN);
    assert_int_equal(wf_may(c, &toy, &duty, rec, "finish", &err), YJ_OK);
    assert_string_equal(wf_state_label(&toy, "done"), "完成");
    json_decref(rec);
    yj_store_release(db->store, c);
}

/* The platform's own step, inside its transaction, as a named actor. */
static void test_apply(void **state)
{
    fx_db *db = *state;
    yj_conn *c = yj_store_acquire(db->store);
    yj_err err;
    json_t *after = NULL;
    assert_int_equal(yj_tx_begin(c, &err), YJ_OK);
    assert_int_equal(wf_apply(c, &toy, "timer:toy", 4, "drop", NULL, 1000, &after, &err), YJ_OK);
    assert_int_equal(yj_tx_commit(c, &err), YJ_OK);
    assert_string_equal(json_string_value(json_object_get(after, "state")), "gone");
    json_decref(after);
    assert_int_equal(yj_tx_begin(c, &err), YJ_OK);
    assert_int_equal(wf_apply(c, &toy, "timer:toy", 4, "finish", NULL, 1000, NULL, &err),
                     YJ_ECONFLICT);
    yj_tx_rollback(c);
    yj_store_release(db->store, c);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM audit WHERE entity = 'toy' AND"
                                         " record_id = 4 AND actor = 'timer:toy'"),
                     1);
}

typedef struct {
    yj_store *store;
    yj_user u;
    pthread_barrier_t *go;
    yj_code rc;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    json_t *body = note("race"), *out = NULL;
    yj_err err;
    pthread_barrier_wait(r->go);
    r->rc = wf_act(r->store, &toy, &r->u, 3, "finish", 1, body, &out, &err);
    json_decref(out);
    json_decref(body);
    return NULL;
}

/* Two people take the same step at once: exactly one wins, the other is
 * told someone else got there first. */
static void test_concurrent_steps(void **state)
{
    fx_db *db = *state;
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 2);
    racer a = {db->store, user_of("ann", YJ_ROLE_DUTY, "140581"), &go, -1},
          b = {db->store, user_of("cy", YJ_ROLE_COMMANDER, "1405"), &go, -1};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, race, &a);
    pthread_create(&tb, NULL, race, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&go);
    assert_true((a.rc == YJ_OK && b.rc == YJ_ECONFLICT) || (a.rc == YJ_ECONFLICT && b.rc == YJ_OK));
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM toy_event WHERE toy_id = 3"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checks_in_order),  cmocka_unit_test(test_write_predicate),
        cmocka_unit_test(test_actions_and_may),  cmocka_unit_test(test_apply),
        cmocka_unit_test(test_concurrent_steps),
    };
    return cmocka_run_group_tests_name("workflow engine", tests, setup, fx_teardown);
}
