/*
 * test_rules.c — the rule engine (src/monitor/rules.c) on its own: one
 * rule state, readings fed in order, the events it emits.  The same
 * behaviours run end to end through the API from the data files in
 * tests/monitor/rules/; here they are checked without the store, under
 * the sanitizers, including the ring buffers of the window rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/monitor/monitor.h"

#include <math.h>
#include <string.h>

#define S 1000LL

static mon_rule_event feed(mon_rule_state *st, int64_t t, double v)
{
    return mon_rule_eval(st, t * S, v, NULL, NULL);
}

static mon_rule rule_json(mon_rule_kind kind, const char *params)
{
    json_t *p = json_loads(params, 0, NULL);
    assert_non_null(p);
    mon_rule r;
    yj_err err;
    yj_err_clear(&err);
    assert_int_equal(mon_rule_from_json(kind, p, &r, &err), YJ_OK);
    json_decref(p);
    return r;
}

static void test_threshold_levels_and_hysteresis(void **state)
{
    (void)state;
    mon_rule r[4];
    assert_int_equal(mon_type_defaults(mon_type_find("甲烷"), r, 4), 2);
    assert_int_equal(r[0].kind, MON_RULE_THRESHOLD);
    mon_rule_state st = {.rule = &r[0]};
    assert_int_equal(feed(&st, 0, 0.3).kind, MON_EV_NONE);
    mon_rule_event e = feed(&st, 1, 1.1); /* yellow */
    assert_int_equal(e.kind, MON_EV_RAISE);
    assert_int_equal(MON_SEV_TO_LEVEL(e.sev), 3);
    e = feed(&st, 2, 0.98); /* inside the 0.05 hysteresis: still yellow */
    assert_int_equal(e.kind, MON_EV_CONTINUE);
    assert_int_equal(e.sev, 2);
    e = feed(&st, 3, 1.6); /* orange: raise again at a higher severity */
    assert_int_equal(e.kind, MON_EV_RAISE);
    assert_int_equal(MON_SEV_TO_LEVEL(e.sev), 2);
    assert_true(st.peak == 1.6);
    e = feed(&st, 4, 1.2); /* below orange - 0.05: back to yellow */
    assert_int_equal(e.kind, MON_EV_CONTINUE);
    assert_int_equal(e.sev, 2);
    assert_true(st.peak == 1.6); /* peak kept */
    e = feed(&st, 5, 0.94); /* below yellow - 0.05 but above blue (0.75) */
    assert_int_equal(e.kind, MON_EV_CONTINUE);
    assert_int_equal(e.sev, 1);
    e = feed(&st, 6, 0.72); /* within blue's hysteresis */
    assert_int_equal(e.kind, MON_EV_CONTINUE);
    e = feed(&st, 7, 0.69);
    assert_int_equal(e.kind, MON_EV_CLEAR);
    assert_int_equal(st.active, 0);
}

static void test_threshold_low_and_duration(void **state)
{
    (void)state;
    mon_rule r = rule_json(MON_RULE_THRESHOLD,
                           "{\"direction\":\"low\",\"levels\":{\"yellow\":20,\"red\":18},"
                           "\"hysteresis\":0.1,\"duration_s\":60}");
    mon_rule_state st = {.rule = &r};
    assert_int_equal(feed(&st, 0, 19.5).kind, MON_EV_NONE); /* met, not yet for 60 s */
    assert_int_equal(feed(&st, 30, 19.0).kind, MON_EV_NONE);
    assert_int_equal(feed(&st, 50, 20.5).kind, MON_EV_NONE); /* broke the run */
    assert_int_equal(feed(&st, 60, 19.0).kind, MON_EV_NONE);
    mon_rule_event e = feed(&st, 120, 17.0); /* yellow held 60 s; red only just met */
    assert_int_equal(e.kind, MON_EV_RAISE);
    assert_int_equal(MON_SEV_TO_LEVEL(e.sev), 3);
    e = feed(&st, 180, 17.5); /* red held 60 s */
    assert_int_equal(e.kind, MON_EV_RAISE);
    assert_int_equal(MON_SEV_TO_LEVEL(e.sev), 1);
    assert_int_equal(feed(&st, 200, 20.05).kind, MON_EV_CONTINUE); /* within hysteresis */
    assert_int_equal(feed(&st, 210, 20.2).kind, MON_EV_CLEAR);
}

static void test_rate_window(void **state)
{
    (void)state;
    mon_rule r = rule_json(MON_RULE_RATE, "{\"direction\":\"high\",\"level\":\"orange\","
                                          "\"window_s\":3600,\"delta\":0.5}");
    mon_rule_state st = {.rule = &r};
    double v[] = {100.0, 100.1, 100.3, 100.6, 100.7, 100.7, 100.7, 100.7};
    mon_event_kind want[] = {MON_EV_NONE,     MON_EV_NONE,     MON_EV_NONE,     MON_EV_RAISE,
                             MON_EV_CONTINUE, MON_EV_CONTINUE, MON_EV_CONTINUE, MON_EV_CLEAR};
    for (int i = 0; i < 8; i++)
        assert_int_equal(feed(&st, i * 600, v[i]).kind, want[i]);
    mon_rule_state_free(&st);
}

static void test_rainfall_sums(void **state)
{
    (void)state;
    mon_rule r[4];
    assert_int_equal(mon_type_defaults(mon_type_find("雨量"), r, 4), 2);
    mon_rule_state st = {.rule = &r[0]};
    /* 12 h of drizzle: 48 mm in 12 h -> nothing; then 4 mm -> blue (50 in 12 h) */
    for (int i = 0; i < 144; i++)
        assert_int_equal(feed(&st, i * 300, 48.0 / 144).kind, MON_EV_NONE);
    mon_rule_event e = feed(&st, 144 * 300, 4);
    assert_int_equal(e.kind, MON_EV_RAISE);
    assert_int_equal(MON_SEV_TO_LEVEL(e.sev), 4);
    /* a downpour: 100 mm within 3 h -> red */
    for (int i = 1; i <= 10; i++)
        e = feed(&st, 144 * 300 + i * 300, 10);
    assert_int_equal(MON_SEV_TO_LEVEL(st.active), 1);
    /* much later, dry: the windows empty and the alarm clears */
    e = feed(&st, 144 * 300 + 13 * 3600, 0);
    assert_int_equal(e.kind, MON_EV_CLEAR);
    mon_rule_state_free(&st);
}

static bool members(int64_t id, int64_t now, double *v, void *ctx)
{
    (void)now;
    const double *vals = ctx;
    if (id < 1 || id > 3 || isnan(vals[id - 1]))
        return false;
    *v = vals[id - 1];
    return true;
}

static void test_multi_sensor(void **state)
{
    (void)state;
    mon_rule r = rule_json(MON_RULE_MULTI, "{\"sensors\":[1,2,3],\"threshold\":1.0,"
                                           "\"min_count\":2,\"level\":\"orange\"}");
    mon_rule_state st = {.rule = &r};
    double vals[3] = {1.2, 0.5, NAN};
    assert_int_equal(mon_rule_eval(&st, 1, 0, members, vals).kind, MON_EV_NONE);
    vals[2] = 1.1; /* two of three */
    mon_rule_event e = mon_rule_eval(&st, 2, 0, members, vals);
    assert_int_equal(e.kind, MON_EV_RAISE);
    assert_true(e.value == 1.2); /* worst member */
    vals[0] = 0.2;
    assert_int_equal(mon_rule_eval(&st, 3, 0, members, vals).kind, MON_EV_CLEAR);
}

static void test_gap(void **state)
{
    (void)state;
    mon_rule r[4];
    mon_type_defaults(mon_type_find("甲烷"), r, 4);
    mon_rule_state st = {.rule = &r[1]};
    assert_int_equal(r[1].kind, MON_RULE_GAP);
    assert_int_equal(mon_rule_eval_gap(&st, 0, 599 * S).kind, MON_EV_NONE);
    mon_rule_event e = mon_rule_eval_gap(&st, 0, 600 * S);
    assert_int_equal(e.kind, MON_EV_RAISE);
    assert_int_equal(MON_SEV_TO_LEVEL(e.sev), 4);
    assert_int_equal(mon_rule_eval_gap(&st, 0, 900 * S).kind, MON_EV_NONE); /* once */
    assert_int_equal(feed(&st, 901, 0.2).kind, MON_EV_CLEAR);
}

static void test_bad_params(void **state)
{
    (void)state;
    static const struct {
        mon_rule_kind kind;
        const char *params, *field;
    } bad[] = {
        {MON_RULE_THRESHOLD, "{\"levels\":{}}", "levels"},
        {MON_RULE_THRESHOLD, "{\"levels\":{\"yellow\":2,\"orange\":1}}", "levels"},
        {MON_RULE_THRESHOLD, "{\"levels\":{\"purple\":1}}", "levels"},
        {MON_RULE_THRESHOLD, "{\"direction\":\"up\",\"levels\":{\"red\":1}}", "direction"},
        {MON_RULE_THRESHOLD, "{\"levels\":{\"red\":1},\"duration_s\":-1}", "duration_s"},
        {MON_RULE_RATE, "{\"level\":\"red\",\"window_s\":0,\"delta\":1}", "window_s"},
        {MON_RULE_SUM, "{\"levels\":{\"red\":{\"window_s\":10,\"sum\":5}}}", "levels"},
        {MON_RULE_MULTI, "{\"sensors\":[1],\"threshold\":1,\"level\":\"red\"}", "sensors"},
        {MON_RULE_GAP, "{\"level\":\"red\"}", "minutes"},
        {MON_RULE_GAP, "[]", "params"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *p = json_loads(bad[i].params, JSON_DECODE_ANY, NULL);
        mon_rule r;
        yj_err err;
        yj_err_clear(&err);
        assert_int_equal(mon_rule_from_json(bad[i].kind, p, &r, &err), YJ_EINVAL);
        assert_string_equal(err.field, bad[i].field);
        json_decref(p);
    }
}

static void test_params_round_trip(void **state)
{
    (void)state;
    for (size_t t = 0; t < mon_type_count(); t++) {
        mon_rule d[4];
        size_t n = mon_type_defaults((int)t, d, 4);
        assert_true(n >= 1); /* every type at least has its offline rule */
        for (size_t k = 0; k < n; k++) {
            json_t *p = mon_rule_params_json(&d[k]);
            mon_rule back;
            assert_int_equal(mon_rule_from_json(d[k].kind, p, &back, NULL), YJ_OK);
            json_t *p2 = mon_rule_params_json(&back);
            assert_true(json_equal(p, p2));
            json_decref(p);
            json_decref(p2);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threshold_levels_and_hysteresis),
        cmocka_unit_test(test_threshold_low_and_duration),
        cmocka_unit_test(test_rate_window),
        cmocka_unit_test(test_rainfall_sums),
        cmocka_unit_test(test_multi_sensor),
        cmocka_unit_test(test_gap),
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_params_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
