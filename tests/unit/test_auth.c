/*
 * test_auth.c — roles, the permission table, region codes, users, logins,
 * sessions and lockout (src/auth/).
 *
 * The permission matrix is written out here as data, one row per role and
 * one "rw"/"r-"/"--" cell per resource in perm_resources() order, so a change
 * to perm.c must be matched by a deliberate change to this table.
 * argon2id costs ~0.1 s per hash, so the user tests share one database and
 * hash as few passwords as they can.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"

/* ---- permission matrix ---------------------------------------------------------- */

static const char *const expect_resources[] = {"session",
                                               "rescue_team",
                                               "expert",
                                               "warehouse",
                                               "shelter",
                                               "equipment",
                                               "enterprise",
                                               "hazard_source",
                                               "informant",
                                               "duty_contact",
                                               "user",
                                               "audit",
                                               "region",
                                               "monitored_object",
                                               "sensor",
                                               "monitor",
                                               "rule",
                                               "alarm",
                                               "gateway",
                                               "warning",
                                               "household",
                                               "resident",
                                               "broadcast_terminal",
                                               "responsible_person",
                                               "test_clock"};
#define N_RES (sizeof expect_resources / sizeof expect_resources[0])

/*                         sess
 *                         team  expe  ware  shel  equi  ente  haza  info  duty  user  audi  regi
 *                         mobj  sens  moni  rule  alar  gate  warn  hous  resi  term  resp
 *                         tclk (the test clock: serve --test-hooks only) */
static const struct {
    yj_role role;
    const char *cells[N_RES];
} matrix[] = {
    {YJ_ROLE_ADMIN, {"rw", "rw", "rw", "rw", "rw", "rw", "rw", "rw", "rw", "rw", "rw", "r-", "r-",
                     "rw", "rw", "r-", "rw", "rw", "rw", "rw", "rw", "rw", "rw", "rw", "-w"}},
    {YJ_ROLE_DUTY, {"rw", "rw", "r-", "r-", "rw", "r-", "r-", "r-", "rw", "rw", "--", "--", "r-",
                    "r-", "r-", "r-", "--", "rw", "--", "rw", "rw", "rw", "rw", "rw", "--"}},
    {YJ_ROLE_COMMANDER,
     {"rw", "r-", "r-", "r-", "r-", "r-", "r-", "r-", "r-", "r-", "--", "--", "r-",
      "r-", "r-", "r-", "--", "r-", "--", "rw", "r-", "r-", "r-", "r-", "--"}},
    {YJ_ROLE_SUPERVISOR,
     {"rw", "r-", "rw", "r-", "r-", "r-", "rw", "rw", "r-", "r-", "--", "--", "r-",
      "rw", "rw", "r-", "rw", "rw", "--", "r-", "r-", "r-", "r-", "r-", "--"}},
    {YJ_ROLE_INSPECTOR,
     {"rw", "--", "r-", "--", "--", "--", "r-", "r-", "--", "--", "--", "--", "r-",
      "--", "--", "--", "--", "--", "--", "r-", "--", "--", "--", "--", "--"}},
    {YJ_ROLE_WAREHOUSE,
     {"rw", "r-", "--", "rw", "r-", "rw", "--", "--", "--", "--", "--", "--", "r-",
      "--", "--", "--", "--", "--", "--", "r-", "--", "--", "--", "--", "--"}},
    {YJ_ROLE_ENTERPRISE,
     {"rw", "--", "--", "--", "--", "--", "rw", "rw", "--", "--", "--", "--", "r-",
      "r-", "r-", "r-", "--", "rw", "--", "r-", "--", "--", "--", "rw", "--"}},
    {YJ_ROLE_INFORMANT,
     {"rw", "r-", "--", "--", "r-", "--", "--", "--", "r-", "r-", "--", "--", "r-",
      "--", "--", "--", "--", "--", "--", "r-", "rw", "rw", "r-", "r-", "--"}},
    {YJ_ROLE_EXPERT, {"rw", "r-", "r-", "--", "--", "r-", "r-", "r-", "--", "--", "--", "--", "r-",
                      "--", "--", "--", "--", "--", "--", "r-", "--", "--", "--", "--", "--"}},
    {YJ_ROLE_PUBLIC, {"--", "--", "--", "--", "--", "--", "--", "--", "--", "--", "--", "--", "--",
                      "--", "--", "--", "--", "--", "--", "--", "--", "--", "--", "--", "--"}},
};

/* Every resource of the matrix is declared by some module, and every
 * declared resource is in the matrix (but the test-only example module's,
 * which 21-modules covers): a new resource needs a deliberate row here. */
static void test_perm_resources_listed(void **state)
{
    (void)state;
    const char *const *res = perm_resources();
    const yj_module *example = yj_module_find("example");
    for (size_t k = 0; k < N_RES; k++) {
        bool found = false;
        for (size_t i = 0; res[i] && !found; i++)
            found = strcmp(res[i], expect_resources[k]) == 0;
        if (!found)
            fail_msg("resource %s is declared by no module", expect_resources[k]);
    }
    for (size_t i = 0; res[i]; i++) {
        bool found = false;
        for (size_t k = 0; k < N_RES && !found; k++)
            found = strcmp(res[i], expect_resources[k]) == 0;
        for (size_t k = 0; example && k < example->nresources && !found; k++)
            found = strcmp(res[i], example->resources[k].name) == 0;
        for (size_t k = 0; example && k < example->nregistries && !found; k++)
            found = strcmp(res[i], example->registries[k]->name) == 0;
        if (!found)
            fail_msg("resource %s is not in this test's matrix", res[i]);
    }
    /* every registry is a resource */
    for (size_t i = 0; i < registry_count(); i++) {
        bool found = false;
        for (size_t k = 0; res[k]; k++)
            found |= strcmp(res[k], registry_at(i)->name) == 0;
        if (!found)
            fail_msg("registry %s is not a permission resource", registry_at(i)->name);
    }
}

static void test_perm_matrix(void **state)
{
    (void)state;
    assert_int_equal(sizeof matrix / sizeof matrix[0], YJ_ROLE_COUNT);
    int failures = 0;
    for (size_t r = 0; r < YJ_ROLE_COUNT; r++) {
        for (size_t k = 0; k < N_RES; k++) {
            bool want_r = matrix[r].cells[k][0] == 'r', want_w = matrix[r].cells[k][1] == 'w';
            bool got_r = perm_allowed(matrix[r].role, expect_resources[k], YJ_ACT_READ);
            bool got_w = perm_allowed(matrix[r].role, expect_resources[k], YJ_ACT_WRITE);
            if (got_r != want_r || got_w != want_w) {
                print_error("%s x %s: got %c%c want %s\n", role_name(matrix[r].role),
                            expect_resources[k], got_r ? 'r' : '-', got_w ? 'w' : '-',
                            matrix[r].cells[k]);
                failures++;
            }
        }
    }
    assert_int_equal(failures, 0);
}

/* A resource the table does not know is refused to every role — including
 * the roles whose rows say "registry:*". */
static void test_perm_unknown_resource(void **state)
{
    (void)state;
    static const char *const unknown[] = {"nonexistent", "registry:*", "",        "Shelter",
                                          "users",       "shelter ",   "incident"};
    int failures = 0;
    for (int r = 0; r < YJ_ROLE_COUNT; r++)
        for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
            for (int a = 0; a < YJ_ACT_COUNT; a++)
                if (perm_allowed((yj_role)r, unknown[i], (yj_action)a)) {
                    print_error("%s may %s unknown resource \"%s\"\n", role_name((yj_role)r),
                                a ? "write" : "read", unknown[i]);
                    failures++;
                }
    assert_int_equal(failures, 0);
}

static void test_perm_bad_arguments(void **state)
{
    (void)state;
    assert_false(perm_allowed(YJ_ROLE_ADMIN, NULL, YJ_ACT_READ));
    assert_false(perm_allowed((yj_role)-1, "shelter", YJ_ACT_READ));
    assert_false(perm_allowed(YJ_ROLE_COUNT, "shelter", YJ_ACT_READ));
    assert_false(perm_allowed((yj_role)99, "shelter", YJ_ACT_READ));
}

static void test_perm_role_json(void **state)
{
    (void)state;
    json_t *o = perm_role_json(YJ_ROLE_ENTERPRISE);
    json_t *want = json_pack(
        "{s:[s,s],s:[s,s],s:[s,s],s:[s],s:[s],s:[s],s:[s],s:[s,s],s:[s],s:[s,s]}", "session",
        "read", "write", "enterprise", "read", "write", "hazard_source", "read", "write", "region",
        "read", "monitored_object", "read", "sensor", "read", "monitor", "read", "alarm", "read",
        "write", "warning", "read", "responsible_person", "read", "write");
    assert_true(json_equal(o, want));
    json_decref(o);
    json_decref(want);
    o = perm_role_json(YJ_ROLE_PUBLIC);
    assert_int_equal(json_object_size(o), 0);
    json_decref(o);
}

static void test_roles(void **state)
{
    (void)state;
    static const char *const names[YJ_ROLE_COUNT] = {
        "admin",     "duty",       "commander", "supervisor", "inspector",
        "warehouse", "enterprise", "informant", "expert",     "public"};
    for (int r = 0; r < YJ_ROLE_COUNT; r++) {
        assert_string_equal(role_name((yj_role)r), names[r]);
        assert_int_equal(role_parse(names[r]), r);
        assert_int_equal(role_parse(role_name((yj_role)r)), r);
        assert_true(strlen(role_label((yj_role)r)) > 0);
        assert_string_not_equal(role_label((yj_role)r), "未知");
    }
    static const char *const bad[] = {"", "Admin", "ADMIN", "admin ", "root", "unknown"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(role_parse(bad[i]), -1);
    assert_int_equal(role_parse(NULL), -1);
    assert_string_equal(role_name(YJ_ROLE_COUNT), "unknown");
    assert_string_equal(role_name((yj_role)-1), "unknown");
}

static void test_user_scope(void **state)
{
    (void)state;
    yj_user u = {.role = YJ_ROLE_DUTY, .region = "140525", .enterprise_id = 7};
    yj_scope sc = user_scope(&u);
    assert_string_equal(sc.region, "140525");
    assert_int_equal(sc.enterprise, 0); /* only enterprise users are owner-scoped */
    u.role = YJ_ROLE_ENTERPRISE;
    sc = user_scope(&u);
    assert_int_equal(sc.enterprise, 7);
    u.enterprise_id = 0;
    sc = user_scope(&u);
    assert_int_equal(sc.enterprise, -1);
}

/* ---- region codes ------------------------------------------------------------------ */

static const struct {
    const char *code;
    int level;
} level_cases[] = {
    {"14", 1},          {"1405", 2},          {"140525", 3},
    {"140525100", 4},   {"140525100200", 5},  {"", 0},
    {"1", 0},           {"140", 0},           {"14052", 0},
    {"1405250", 0},     {"14052510", 0},      {"1405251002", 0},
    {"14052510020", 0}, {"1405251002001", 0}, {"abc", 0},
    {"14a5", 0},        {" 14", 0},           {"14 ", 0},
    {"-1405", 0},       {"１４", 0},
};

static void test_region_level(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof level_cases / sizeof level_cases[0]; i++)
        if (region_level(level_cases[i].code) != level_cases[i].level)
            fail_msg("region_level(\"%s\") = %d, want %d", level_cases[i].code,
                     region_level(level_cases[i].code), level_cases[i].level);
    assert_int_equal(region_level(NULL), 0);
}

static const struct {
    const char *in, *out;
} normalize_cases[] = {
    {"140500", "1405"},
    {"140000", "14"},
    {"140525", "140525"},
    {"140525100", "140525100"},
    {"1405", "1405"},
    {"14", "14"},
    {"", ""},
    {"140501", "140501"},
    {"100000", "10"},
    {"abc", "abc"},
    {"1405001", "1405001"},
};

static void test_region_normalize(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof normalize_cases / sizeof normalize_cases[0]; i++) {
        char out[16];
        region_normalize(normalize_cases[i].in, out, sizeof out);
        if (strcmp(out, normalize_cases[i].out) != 0)
            fail_msg("region_normalize(\"%s\") = \"%s\", want \"%s\"", normalize_cases[i].in, out,
                     normalize_cases[i].out);
    }
    char small[5];
    region_normalize("140525", small, sizeof small); /* truncates, never overflows */
    assert_string_equal(small, "1405");
}

/* ---- users, logins, sessions ---------------------------------------------------------- */

#define PW "correct-horse-9"

/* One database for all the user tests (group setup), to keep the number of
 * argon2id hashes down; the tests below run in order and each leaves alice
 * able to log in with PW, except the last two. */
static int users_setup(void **state)
{
    yj_auth_cfg.account_after = 2;
    yj_auth_cfg.address_after = 100;
    yj_auth_cfg.global_per_minute = 0;
    yj_auth_cfg.idle_seconds = 3600;
    yj_auth_cfg.absolute_seconds = 7200;
    fx_db *db = fx_open();
    yj_err err;
    int64_t id = 0;
    if (user_add(db->store, "test", "alice", PW, YJ_ROLE_DUTY, "140525", "Alice", 0, &id, &err) !=
        YJ_OK)
        fail_msg("user_add: %s", err.message);
    assert_true(id > 0);
    *state = db;
    return 0;
}

/* A login from addr. */
static yj_code login_from(fx_db *db, const char *addr, const char *user, const char *pw,
                          yj_session *s, int *retry)
{
    yj_err err;
    int r = 0;
    return auth_login(db->store, user, pw, addr, s, retry ? retry : &r, &err);
}

static yj_code login(fx_db *db, const char *user, const char *pw, yj_session *s, int *retry)
{
    return login_from(db, "127.0.0.1", user, pw, s, retry);
}

static void test_user_add_rules(void **state)
{
    fx_db *db = *state;
    yj_err err;
    int64_t id = 0;
    /* checked before any hashing */
    assert_int_equal(
        user_add(db->store, "t", "bob", "short", YJ_ROLE_DUTY, "140525", "Bob", 0, &id, &err),
        YJ_EINVAL);
    assert_string_equal(err.field, "password");
    assert_int_equal(
        user_add(db->store, "t", "bob", "1234567", YJ_ROLE_DUTY, "140525", "Bob", 0, &id, &err),
        YJ_EINVAL);
    assert_int_equal(
        user_add(db->store, "t", "bob", NULL, YJ_ROLE_DUTY, "140525", "Bob", 0, &id, &err),
        YJ_EINVAL);
    static const char *const bad_names[] = {
        "", "b", "Bob", "bob smith", "bob!", "鲍勃", "abcdefghijklmnopqrstuvwxyz0123456"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        assert_int_equal(
            user_add(db->store, "t", bad_names[i], PW, YJ_ROLE_DUTY, "140525", "Bob", 0, &id, &err),
            YJ_EINVAL);
        assert_string_equal(err.field, "username");
    }
    assert_int_equal(
        user_add(db->store, "t", "bob", PW, YJ_ROLE_COUNT, "140525", "Bob", 0, &id, &err),
        YJ_EINVAL);
    assert_int_equal(user_add(db->store, "t", "bob", PW, YJ_ROLE_DUTY, "140525", "", 0, &id, &err),
                     YJ_EINVAL);
    assert_int_equal(
        user_add(db->store, "t", "bob", PW, YJ_ROLE_ENTERPRISE, "140525", "Bob", 0, &id, &err),
        YJ_EINVAL);
    assert_string_equal(err.field, "enterprise_id");
    /* these hash first, then fail: one hash each */
    assert_int_equal(
        user_add(db->store, "t", "alice", PW, YJ_ROLE_DUTY, "140525", "Alice 2", 0, &id, &err),
        YJ_ECONFLICT);
    assert_string_equal(err.field, "username");
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM users"), 1);
}

/* YJ_PASSWORD_MIN counts characters ("at least 8 characters"): a password
 * of three Chinese characters (9 bytes of UTF-8) is too short. */
static void test_password_min_counts_characters(void **state)
{
    fx_db *db = *state;
    yj_err err;
    int64_t id = 0;
    yj_code rc =
        user_add(db->store, "t", "carl", "一二三", YJ_ROLE_DUTY, "140525", "Carl", 0, &id, &err);
    assert_int_equal(rc, YJ_EINVAL);
}

static void test_login_session_logout(void **state)
{
    fx_db *db = *state;
    yj_session s;
    assert_int_equal(login(db, "alice", PW, &s, NULL), YJ_OK);
    assert_int_equal(strlen(s.token), 64);
    assert_int_equal(strspn(s.token, "0123456789abcdef"), 64);
    assert_int_equal(strlen(s.csrf), 64);
    assert_string_not_equal(s.token, s.csrf);
    assert_string_equal(s.user.username, "alice");
    assert_string_equal(s.user.region, "140525");
    assert_int_equal(s.user.role, YJ_ROLE_DUTY);
    /* only the token's hash is stored */
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM sessions WHERE token_hash = '%s'", s.token);
    assert_int_equal(fx_count(db->store, sql), 0);

    yj_session got;
    yj_err err;
    assert_int_equal(auth_session(db->store, s.token, &got, &err), YJ_OK);
    assert_string_equal(got.user.username, "alice");
    assert_string_equal(got.csrf, s.csrf);
    assert_string_equal(got.token, s.token);
    assert_true(got.expires_ms > yj_now_ms());

    /* forged and malformed tokens */
    char forged[65];
    snprintf(forged, sizeof forged, "%s", s.token);
    forged[0] = forged[0] == '0' ? '1' : '0';
    char upper[65];
    for (int i = 0; i < 65; i++)
        upper[i] = (char)(s.token[i] >= 'a' && s.token[i] <= 'f' ? s.token[i] - 32 : s.token[i]);
    char longer[70];
    snprintf(longer, sizeof longer, "%s00", s.token);
    const char *bad[] = {forged, "abc", "", upper, longer, s.csrf, NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(auth_session(db->store, bad[i], &got, &err), YJ_EAUTH);

    assert_int_equal(auth_session(db->store, s.token, &got, &err), YJ_OK);
    assert_int_equal(auth_logout(db->store, &got, &err), YJ_OK);
    assert_int_equal(auth_session(db->store, s.token, &got, &err), YJ_EAUTH);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM audit WHERE action = 'logout'"
                                         " AND actor = 'alice'"),
                     1);
    assert_int_equal(auth_logout(db->store, &s, &err), YJ_OK); /* twice is harmless */
    assert_int_equal(auth_logout(db->store, NULL, &err), YJ_EAUTH);
    snprintf(s.token, sizeof s.token, "short");
    assert_int_equal(auth_logout(db->store, &s, &err), YJ_EAUTH);
}

static void test_login_failures(void **state)
{
    fx_db *db = *state;
    yj_session s;
    int retry = -1;
    assert_int_equal(login(db, "alice", "wrong-password", &s, &retry), YJ_EAUTH);
    assert_int_equal(retry, 0);
    assert_int_equal(s.token[0], '\0');
    assert_int_equal(login(db, "nobody", PW, &s, &retry), YJ_EAUTH);
    assert_int_equal(login(db, NULL, PW, &s, &retry), YJ_EAUTH);
    assert_int_equal(login(db, "alice", NULL, &s, &retry), YJ_EAUTH);
    /* a success takes back the failures of that name from that address */
    int64_t logins = fx_count(db->store, "SELECT COUNT(*) FROM audit WHERE action = 'login'"
                                         " AND actor = 'alice'");
    assert_int_equal(login(db, "alice", PW, &s, &retry), YJ_OK);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM login_throttle"
                                         " WHERE key = 'acct:127.0.0.1:alice'"),
                     0);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM audit WHERE action = 'login'"
                                         " AND actor = 'alice'"),
                     logins + 1);
}

/* Throttling follows the source: a name guessed at from one address waits
 * there, the right password from elsewhere still works; unknown names are
 * throttled exactly like known ones; an address guessing many names waits;
 * a platform-wide flood holds up only the addresses that have failed. */
static void test_throttle(void **state)
{
    fx_db *db = *state;
    yj_err err;
    assert_int_equal(
        user_add(db->store, "t", "dave", PW, YJ_ROLE_COMMANDER, "1405", "Dave", 0, NULL, &err),
        YJ_OK);
    yj_session s;
    int retry = -1;
    for (int i = 0; i < yj_auth_cfg.account_after; i++) {
        assert_int_equal(login_from(db, "10.0.0.1", "dave", "wrong-password", &s, &retry),
                         YJ_EAUTH);
        assert_int_equal(retry, 0);
    }
    /* from there, dave waits: even the right password, with a retry time */
    assert_int_equal(login_from(db, "10.0.0.1", "dave", PW, &s, &retry), YJ_ELOCKED);
    assert_true(retry > 0 && retry <= 30);
    assert_int_equal(s.token[0], '\0');
    /* the real dave, elsewhere, is not locked out */
    assert_int_equal(login_from(db, "10.0.0.2", "dave", PW, &s, &retry), YJ_OK);
    /* an unknown name: the same answers at the same points */
    for (int i = 0; i < yj_auth_cfg.account_after; i++)
        assert_int_equal(login_from(db, "10.0.0.1", "nobody", "wrong-password", &s, &retry),
                         YJ_EAUTH);
    assert_int_equal(login_from(db, "10.0.0.1", "nobody", PW, &s, &retry), YJ_ELOCKED);
    assert_true(retry > 0 && retry <= 30);
    /* a success takes the name's failures back: counting starts again */
    assert_int_equal(login_from(db, "10.0.0.3", "dave", "wrong-password", &s, &retry), YJ_EAUTH);
    assert_int_equal(login_from(db, "10.0.0.3", "dave", PW, &s, &retry), YJ_OK);
    assert_int_equal(login_from(db, "10.0.0.3", "dave", "wrong-password", &s, &retry), YJ_EAUTH);
    assert_int_equal(login_from(db, "10.0.0.3", "dave", PW, &s, &retry), YJ_OK);
    /* an address trying many names waits, for every name */
    yj_auth_cfg.address_after = 3;
    const char *names[] = {"u1", "u2", "u3"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(login_from(db, "10.0.0.4", names[i], "x-password", &s, &retry), YJ_EAUTH);
    assert_int_equal(login_from(db, "10.0.0.4", "alice", PW, &s, &retry), YJ_ELOCKED);
    assert_true(retry > 30 && retry <= 60);
    assert_int_equal(login_from(db, "10.0.0.5", "alice", PW, &s, &retry), YJ_OK);
    yj_auth_cfg.address_after = 100;
    /* a flood: past the platform's limit a minute, addresses that have
     * failed wait; one that has not gets in */
    yj_auth_cfg.global_per_minute = 4;
    assert_int_equal(login_from(db, "10.0.0.6", "u4", "x-password", &s, &retry), YJ_EAUTH);
    assert_int_equal(login_from(db, "10.0.0.6", "alice", PW, &s, &retry), YJ_ELOCKED);
    assert_true(retry > 0 && retry <= 60);
    assert_int_equal(login_from(db, "10.0.0.7", "alice", PW, &s, &retry), YJ_OK);
    yj_auth_cfg.global_per_minute = 0;
}

static void test_passwd_ends_sessions(void **state)
{
    fx_db *db = *state;
    yj_err err;
    yj_session s, got;
    assert_int_equal(login(db, "alice", PW, &s, NULL), YJ_OK);
    assert_int_equal(auth_session(db->store, s.token, &got, &err), YJ_OK);
    assert_int_equal(user_passwd(db->store, "alice", "alice", "short", &err), YJ_EINVAL);
    assert_int_equal(auth_session(db->store, s.token, &got, &err), YJ_OK);
    assert_int_equal(user_passwd(db->store, "alice", "alice", "another-pass-2", &err), YJ_OK);
    assert_int_equal(auth_session(db->store, s.token, &got, &err), YJ_EAUTH);
    assert_int_equal(login(db, "alice", "another-pass-2", &s, NULL), YJ_OK);
}

/* idle_seconds = 0: a session is over the moment it is made (no clock games). */
static void test_session_expiry(void **state)
{
    fx_db *db = *state;
    yj_err err;
    yj_session s, got;
    int saved = yj_auth_cfg.idle_seconds;
    yj_auth_cfg.idle_seconds = 0;
    yj_code rc = login(db, "alice", PW, &s, NULL);
    yj_auth_cfg.idle_seconds = saved;
    assert_int_equal(rc, YJ_OK);
    assert_int_equal(auth_session(db->store, s.token, &got, &err), YJ_EAUTH);
}

static void test_disabled_user(void **state)
{
    fx_db *db = *state;
    yj_err err;
    yj_session s, got;
    assert_int_equal(login(db, "alice", "another-pass-2", &s, NULL), YJ_OK);
    fx_exec(db->store, "UPDATE users SET disabled = 1 WHERE username = 'alice'");
    assert_int_equal(auth_session(db->store, s.token, &got, &err), YJ_EAUTH);
    assert_int_equal(login(db, "alice", "another-pass-2", &s, NULL), YJ_EAUTH);
}

static void test_user_list_scoped(void **state)
{
    fx_db *db = *state;
    yj_err err;
    json_t *all = NULL, *mine = NULL;
    yj_user other = {.role = YJ_ROLE_ADMIN, .region = "140581"};
    yj_user county = {.role = YJ_ROLE_ADMIN, .region = "140525"};
    assert_int_equal(user_list(db->store, NULL, &all, &err), YJ_OK);
    assert_true(json_array_size(all) >= 1);
    assert_int_equal(user_list(db->store, &other, &mine, &err), YJ_OK);
    assert_int_equal(json_array_size(mine), 0);
    json_decref(mine);
    assert_int_equal(user_list(db->store, &county, &mine, &err), YJ_OK);
    assert_true(json_array_size(mine) >= 1);
    json_t *u = json_array_get(mine, 0);
    assert_string_equal(json_string_value(json_object_get(u, "username")), "alice");
    assert_null(json_object_get(u, "password_hash"));
    json_decref(mine);
    json_decref(all);
}

int main(void)
{
    if (yj_crypto_init() != 0)
        return 1;
    const struct CMUnitTest users[] = {
        cmocka_unit_test(test_user_add_rules),
        cmocka_unit_test(test_password_min_counts_characters),
        cmocka_unit_test(test_login_session_logout),
        cmocka_unit_test(test_login_failures),
        cmocka_unit_test(test_user_list_scoped),
        cmocka_unit_test(test_session_expiry),
        cmocka_unit_test(test_throttle),
        cmocka_unit_test(test_passwd_ends_sessions),
        cmocka_unit_test(test_disabled_user),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_perm_resources_listed),
        cmocka_unit_test(test_perm_matrix),
        cmocka_unit_test(test_perm_unknown_resource),
        cmocka_unit_test(test_perm_bad_arguments),
        cmocka_unit_test(test_perm_role_json),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_user_scope),
        cmocka_unit_test(test_region_level),
        cmocka_unit_test(test_region_normalize),
    };
    int failed = cmocka_run_group_tests_name("permissions and regions", tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("users and sessions", users, users_setup, fx_teardown);
    return failed;
}
