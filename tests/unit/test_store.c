/*
 * test_store.c — region-scoped record access (src/store/records.c) on a real
 * SQLite file, through the shelter, enterprise and hazard_source tables:
 * scope confinement for reads and writes, optimistic versions, natural-key
 * conflicts, literal search, sort checking, enterprise scope, rollback and
 * idempotent migrations.  Every test gets a fresh database (fixture.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"
#include "../../src/store/dialect.h"

static const yj_scope SCOPE_ALL = {"", 0};
static const yj_scope SCOPE_CITY = {"1405", 0};
static const yj_scope SCOPE_COUNTY = {"140525", 0};

static const yj_table *tab(const char *name)
{
    const yj_registry *r = registry_find(name);
    assert_non_null(r);
    return &r->table;
}

/* A valid shelter record (store form) named name in region. */
static json_t *shelter_rec(const char *name, const char *region)
{
    json_t *in = json_pack("{s:s,s:s,s:i,s:f,s:s,s:s,s:s,s:s}", "name", name, "class", "Ⅰ类",
                           "capacity", 100, "area", 500.0, "manager", "王", "phone", "13812345678",
                           "address", "某路1号", "region_code", region);
    json_t *rec = NULL;
    yj_err err;
    if (registry_validate(registry_find("shelter"), in, NULL, &rec, &err) != YJ_OK)
        fail_msg("shelter_rec: %s", err.message);
    json_decref(in);
    return rec;
}

static int64_t insert_ok(yj_conn *c, const char *table, const yj_scope *sc, json_t *rec)
{
    int64_t id = 0;
    yj_err err;
    yj_code rc = yj_rec_insert(c, tab(table), sc, rec, "tester", &id, &err);
    json_decref(rec);
    if (rc != YJ_OK)
        fail_msg("insert into %s: %s %s", table, yj_code_name(rc), err.message);
    assert_true(id > 0);
    return id;
}

static yj_query query(void)
{
    yj_query q = {.limit = 100};
    return q;
}

/* Names of the listed rows, comma separated, in list order. */
static char *list_names(yj_conn *c, const char *table, const yj_scope *sc, const yj_query *q,
                        int64_t *total)
{
    json_t *items = NULL;
    yj_err err;
    yj_code rc = yj_rec_list(c, tab(table), sc, q, &items, total, &err);
    if (rc != YJ_OK)
        fail_msg("list: %s %s", yj_code_name(rc), err.message);
    yj_buf b;
    yj_buf_init(&b);
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        if (i)
            yj_buf_putc(&b, ',');
        yj_buf_puts(&b, json_string_value(json_object_get(it, "name")));
    }
    json_decref(items);
    return yj_buf_steal(&b);
}

static void assert_names(yj_conn *c, const char *table, const yj_scope *sc, const yj_query *q,
                         const char *want, int64_t want_total)
{
    int64_t total = -1;
    char *got = list_names(c, table, sc, q, &total);
    if (strcmp(got, want) != 0 || total != want_total)
        fail_msg("list %s scope \"%s\" ent %lld: got [%s] total %lld, want [%s] total %lld", table,
                 sc->region, (long long)sc->enterprise, got, (long long)total, want,
                 (long long)want_total);
    free(got);
}

static json_t *get_ok(yj_conn *c, const char *table, const yj_scope *sc, int64_t id)
{
    json_t *out = NULL;
    yj_err err;
    yj_code rc = yj_rec_get(c, tab(table), sc, id, &out, &err);
    if (rc != YJ_OK)
        fail_msg("get %s %lld: %s", table, (long long)id, err.message);
    return out;
}

/* ---- scope ---------------------------------------------------------------------- */

static void test_region_scope(void **state)
{
    fx_db *db = *state;
    yj_conn *c = yj_store_acquire(db->store);
    int64_t a = insert_ok(c, "shelter", &SCOPE_CITY, shelter_rec("泽州一号", "140525"));
    int64_t t = insert_ok(c, "shelter", &SCOPE_CITY, shelter_rec("南村镇广场", "140525100"));
    int64_t g = insert_ok(c, "shelter", &SCOPE_CITY, shelter_rec("高平公园", "140581"));
    insert_ok(c, "shelter", &SCOPE_ALL, shelter_rec("朔州广场", "140602"));
    yj_query q = query();

    assert_names(c, "shelter", &SCOPE_COUNTY, &q, "泽州一号,南村镇广场", 2);
    assert_names(c, "shelter", &SCOPE_CITY, &q, "泽州一号,南村镇广场,高平公园", 3);
    assert_names(c, "shelter", &SCOPE_ALL, &q, "泽州一号,南村镇广场,高平公园,朔州广场", 4);
    yj_scope town = {"140525100", 0};
    assert_names(c, "shelter", &town, &q, "南村镇广场", 1);

    /* the query's own region is intersected with the scope, never widens it */
    q.region = "1405";
    assert_names(c, "shelter", &SCOPE_COUNTY, &q, "泽州一号,南村镇广场", 2);
    q.region = "140581";
    assert_names(c, "shelter", &SCOPE_COUNTY, &q, "", 0);
    q.region = "14";
    assert_names(c, "shelter", &town, &q, "南村镇广场", 1);
    q.region = NULL;

    /* get outside the scope looks absent */
    json_t *out = NULL;
    yj_err err;
    assert_int_equal(yj_rec_get(c, tab("shelter"), &SCOPE_COUNTY, g, &out, &err), YJ_ENOTFOUND);
    assert_null(out);
    json_decref(get_ok(c, "shelter", &SCOPE_COUNTY, a));
    json_decref(get_ok(c, "shelter", &SCOPE_COUNTY, t));
    out = get_ok(c, "shelter", &SCOPE_CITY, g);
    assert_string_equal(json_string_value(json_object_get(out, "region_name")), "高平市");
    assert_int_equal(json_integer_value(json_object_get(out, "version")), 1);
    assert_string_equal(json_string_value(json_object_get(out, "updated_by")), "tester");
    json_decref(out);
    yj_store_release(db->store, c);
}

static void test_update_delete_outside_scope(void **state)
{
    fx_db *db = *state;
    yj_conn *c = yj_store_acquire(db->store);
    int64_t g = insert_ok(c, "shelter", &SCOPE_CITY, shelter_rec("高平公园", "140581"));
    yj_err err;

    /* update keeping its region (outside the scope) */
    json_t *rec = shelter_rec("改名一", "140581");
    assert_int_equal(yj_rec_update(c, tab("shelter"), &SCOPE_COUNTY, g, 1, rec, "x", &err),
                     YJ_ENOTFOUND);
    json_decref(rec);
    /* update moving it into the caller's region: still not visible, so absent */
    rec = shelter_rec("改名二", "140525");
    assert_int_equal(yj_rec_update(c, tab("shelter"), &SCOPE_COUNTY, g, 1, rec, "x", &err),
                     YJ_ENOTFOUND);
    json_decref(rec);
    /* delete */
    assert_int_equal(yj_rec_delete(c, tab("shelter"), &SCOPE_COUNTY, g, 1, &err), YJ_ENOTFOUND);

    json_t *out = get_ok(c, "shelter", &SCOPE_CITY, g);
    assert_string_equal(json_string_value(json_object_get(out, "name")), "高平公园");
    assert_string_equal(json_string_value(json_object_get(out, "region_code")), "140581");
    assert_int_equal(json_integer_value(json_object_get(out, "version")), 1);
    json_decref(out);

    /* an in-scope record may not be moved out of the scope */
    int64_t a = insert_ok(c, "shelter", &SCOPE_COUNTY, shelter_rec("泽州一号", "140525"));
    rec = shelter_rec("泽州一号", "140581");
    assert_int_equal(yj_rec_update(c, tab("shelter"), &SCOPE_COUNTY, a, 1, rec, "x", &err),
                     YJ_EFORBIDDEN);
    json_decref(rec);
    out = get_ok(c, "shelter", &SCOPE_CITY, a);
    assert_string_equal(json_string_value(json_object_get(out, "region_code")), "140525");
    json_decref(out);
    yj_store_release(db->store, c);
}

static const struct {
    const char *scope, *region;
    yj_code want;
} region_check_cases[] = {
    {"140525", "140525", YJ_OK},
    {"140525", "140525100", YJ_OK},
    {"1405", "140581", YJ_OK},
    {"", "1406", YJ_OK},
    {"140525", "140581", YJ_EFORBIDDEN},
    {"140525", "1405", YJ_EFORBIDDEN}, /* the parent is outside a county scope */
    {"140525", "14", YJ_EFORBIDDEN},
    {"1405", "140602", YJ_EFORBIDDEN},
    {"140525", "140599", YJ_EINVAL}, /* unknown */
    {"", "999999", YJ_EINVAL},
    {"", "", YJ_EINVAL},
    {"", "abc", YJ_EINVAL},
    {"", "1405250", YJ_EINVAL},
    {"", "14%", YJ_EINVAL},
    {"", "1405251001234", YJ_EINVAL},
};

static void test_region_check_table(void **state)
{
    fx_db *db = *state;
    yj_conn *c = yj_store_acquire(db->store);
    for (size_t i = 0; i < sizeof region_check_cases / sizeof region_check_cases[0]; i++) {
        yj_scope sc = {{0}, 0};
        snprintf(sc.region, sizeof sc.region, "%s", region_check_cases[i].scope);
        yj_err err;
        yj_err_clear(&err);
        yj_code rc = yj_region_check(c, &sc, region_check_cases[i].region, &err);
        if (rc != region_check_cases[i].want)
            fail_msg("region_check(scope %s, %s) = %s, want %s", sc.region,
                     region_check_cases[i].region, yj_code_name(rc),
                     yj_code_name(region_check_cases[i].want));
        if (rc != YJ_OK)
            assert_string_equal(err.field, "region_code");
    }
    yj_store_release(db->store, c);
}

static void test_insert_region_errors(void **state)
{
    fx_db *db = *state;
    yj_conn *c = yj_store_acquire(db->store);
    yj_err err;
    int64_t id = 0;
    json_t *rec = shelter_rec("外区", "140581");
    assert_int_equal(yj_rec_insert(c, tab("shelter"), &SCOPE_COUNTY, rec, "x", &id, &err),
                     YJ_EFORBIDDEN);
    assert_string_equal(err.field, "region_code");
    json_decref(rec);
    rec = shelter_rec("未知区", "140599");
    assert_int_equal(yj_rec_insert(c, tab("shelter"), &SCOPE_ALL, rec, "x", &id, &err), YJ_EINVAL);
    assert_string_equal(err.field, "region_code");
    json_decref(rec);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM shelter"), 0);
    yj_store_release(db->store, c);
}

/* ---- versions and keys -------------------------------------------------------------- */

static void test_versions_and_conflicts(void **state)
{
    fx_db *db = *state;
    yj_conn *c = yj_store_acquire(db->store);
    yj_err err;
    int64_t a = insert_ok(c, "shelter", &SCOPE_COUNTY, shelter_rec("一号", "140525"));
    int64_t b = insert_ok(c, "shelter", &SCOPE_COUNTY, shelter_rec("二号", "140525"));

    json_t *rec = shelter_rec("一号改", "140525");
    assert_int_equal(yj_rec_update(c, tab("shelter"), &SCOPE_COUNTY, a, 1, rec, "u1", &err), YJ_OK);
    /* the same version again is stale now */
    assert_int_equal(yj_rec_update(c, tab("shelter"), &SCOPE_COUNTY, a, 1, rec, "u2", &err),
                     YJ_ESTALE);
    assert_int_equal(yj_rec_update(c, tab("shelter"), &SCOPE_COUNTY, a, 3, rec, "u2", &err),
                     YJ_ESTALE);
    json_decref(rec);
    json_t *out = get_ok(c, "shelter", &SCOPE_COUNTY, a);
    assert_int_equal(json_integer_value(json_object_get(out, "version")), 2);
    assert_string_equal(json_string_value(json_object_get(out, "updated_by")), "u1");
    json_decref(out);

    /* natural key: insert or rename onto an existing name */
    int64_t id = 0;
    rec = shelter_rec("二号", "140525");
    assert_int_equal(yj_rec_insert(c, tab("shelter"), &SCOPE_COUNTY, rec, "x", &id, &err),
                     YJ_ECONFLICT);
    assert_string_equal(err.field, "name");
    json_decref(rec);
    rec = shelter_rec("二号", "140525");
    assert_int_equal(yj_rec_update(c, tab("shelter"), &SCOPE_COUNTY, a, 2, rec, "x", &err),
                     YJ_ECONFLICT);
    json_decref(rec);
    /* the key is unique across regions too */
    rec = shelter_rec("二号", "140581");
    assert_int_equal(yj_rec_insert(c, tab("shelter"), &SCOPE_ALL, rec, "x", &id, &err),
                     YJ_ECONFLICT);
    json_decref(rec);

    /* delete: stale, then right version, then gone */
    assert_int_equal(yj_rec_delete(c, tab("shelter"), &SCOPE_COUNTY, b, 7, &err), YJ_ESTALE);
    assert_int_equal(yj_rec_delete(c, tab("shelter"), &SCOPE_COUNTY, b, 1, &err), YJ_OK);
    assert_int_equal(yj_rec_delete(c, tab("shelter"), &SCOPE_COUNTY, b, 1, &err), YJ_ENOTFOUND);
    assert_int_equal(yj_rec_get(c, tab("shelter"), &SCOPE_ALL, b, &out, &err), YJ_ENOTFOUND);
    /* update of a missing id */
    rec = shelter_rec("三号", "140525");
    assert_int_equal(yj_rec_update(c, tab("shelter"), &SCOPE_COUNTY, 9999, 1, rec, "x", &err),
                     YJ_ENOTFOUND);
    json_decref(rec);
    yj_store_release(db->store, c);
}

static void test_find_key(void **state)
{
    fx_db *db = *state;
    yj_conn *c = yj_store_acquire(db->store);
    yj_err err;
    insert_ok(c, "shelter", &SCOPE_ALL, shelter_rec("本县", "140525"));
    insert_ok(c, "shelter", &SCOPE_ALL, shelter_rec("外县", "140581"));
    json_t *out = NULL;
    assert_int_equal(yj_rec_find_key(c, tab("shelter"), &SCOPE_COUNTY, "本县", &out, &err), YJ_OK);
    assert_string_equal(json_string_value(json_object_get(out, "name")), "本县");
    json_decref(out);
    out = NULL;
    /* outside the scope looks exactly like absent: no oracle of where a key is */
    assert_int_equal(yj_rec_find_key(c, tab("shelter"), &SCOPE_COUNTY, "外县", &out, &err),
                     YJ_ENOTFOUND);
    char outside_msg[sizeof err.message];
    snprintf(outside_msg, sizeof outside_msg, "%s", err.message);
    assert_null(out);
    assert_int_equal(yj_rec_find_key(c, tab("shelter"), &SCOPE_COUNTY, "没有", &out, &err),
                     YJ_ENOTFOUND);
    assert_string_equal(err.message, outside_msg);
    assert_null(out);
    yj_store_release(db->store, c);
}

/* ---- queries ------------------------------------------------------------------------ */

static void test_search_is_literal(void **state)
{
    fx_db *db = *state;
    yj_conn *c = yj_store_acquire(db->store);
    static const char *const names[] = {"容量50%", "容量500", "A_B", "AxB", "a\\b", "ab", "Abc"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        insert_ok(c, "shelter", &SCOPE_ALL, shelter_rec(names[i], "140525"));
    static const struct {
        const char *search, *want;
        int64_t total;
    } cases[] = {
        {"%", "容量50%", 1}, {"50%", "容量50%", 1}, {"_", "A_B", 1},
        {"A_", "A_B", 1},    {"\\", "a\\b", 1},     {"容量", "容量50%,容量500", 2},
        {"%%", "", 0},       {"x", "AxB", 1},       {"", "容量50%,容量500,A_B,AxB,a\\b,ab,Abc", 7},
        {"'", "", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        yj_query q = query();
        q.search = cases[i].search;
        assert_names(c, "shelter", &SCOPE_ALL, &q, cases[i].want, cases[i].total);
    }
    yj_store_release(db->store, c);
}

static void test_sort_filter_page_bbox(void **state)
{
    fx_db *db = *state;
    yj_conn *c = yj_store_acquire(db->store);
    static const struct {
        const char *name;
        int capacity;
        const char *class;
        double lat, lon;
    } rows[] = {
        {"甲", 300, "Ⅰ类", 35.5, 112.8},
        {"乙", 100, "Ⅱ类", 35.6, 112.9},
        {"丙", 200, "Ⅰ类", 36.5, 113.5},
    };
    for (size_t i = 0; i < 3; i++) {
        json_t *rec = shelter_rec(rows[i].name, "140525");
        json_object_set_new(rec, "capacity", json_integer(rows[i].capacity));
        json_object_set_new(rec, "class", json_string(rows[i].class));
        json_object_set_new(rec, "lat", json_real(rows[i].lat));
        json_object_set_new(rec, "lon", json_real(rows[i].lon));
        insert_ok(c, "shelter", &SCOPE_ALL, rec);
    }
    yj_query q = query();
    q.sort = "capacity";
    assert_names(c, "shelter", &SCOPE_ALL, &q, "乙,丙,甲", 3);
    q.desc = true;
    assert_names(c, "shelter", &SCOPE_ALL, &q, "甲,丙,乙", 3);
    q.sort = "version"; /* standard column; ties broken by id, same direction */
    assert_names(c, "shelter", &SCOPE_ALL, &q, "丙,乙,甲", 3);
    q.desc = false;
    q.limit = 1;
    q.offset = 1;
    assert_names(c, "shelter", &SCOPE_ALL, &q, "乙", 3); /* total ignores paging */

    static const char *const bad_sorts[] = {"nonexistent", "name; DROP TABLE shelter",
                                            "region_name", "t.name", "1"};
    for (size_t i = 0; i < sizeof bad_sorts / sizeof bad_sorts[0]; i++) {
        yj_query b = query();
        b.sort = bad_sorts[i];
        json_t *items = NULL;
        int64_t total = 0;
        yj_err err;
        assert_int_equal(yj_rec_list(c, tab("shelter"), &SCOPE_ALL, &b, &items, &total, &err),
                         YJ_EINVAL);
        assert_string_equal(err.field, "sort");
        json_decref(items);
    }

    yj_filter f[] = {{"class", "Ⅰ类"}, {"capacity", "200"}};
    q = query();
    q.filters = f;
    q.nfilters = 1;
    assert_names(c, "shelter", &SCOPE_ALL, &q, "甲,丙", 2);
    q.nfilters = 2;
    assert_names(c, "shelter", &SCOPE_ALL, &q, "丙", 1);

    q = query();
    q.has_bbox = true;
    q.bbox[0] = 112.0, q.bbox[1] = 35.0, q.bbox[2] = 113.0, q.bbox[3] = 36.0;
    assert_names(c, "shelter", &SCOPE_ALL, &q, "甲,乙", 2);
    yj_store_release(db->store, c);
}

/* ---- enterprise scope ---------------------------------------------------------------- */

static json_t *enterprise_rec(const char *name, const char *credit)
{
    json_t *in =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "name", name, "credit_code", credit,
                  "industry", "危险化学品", "scale", "中型", "address", "某路", "legal_rep", "张",
                  "safety_director", "李", "safety_phone", "13812345678", "region_code", "140525");
    json_t *rec = NULL;
    yj_err err;
    if (registry_validate(registry_find("enterprise"), in, NULL, &rec, &err) != YJ_OK)
        fail_msg("enterprise_rec: %s", err.message);
    json_decref(in);
    return rec;
}

static json_t *hazard_rec(const char *name, const char *code, int64_t ent)
{
    json_t *in =
        json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:s}", "name", name, "code", code, "enterprise_id",
                  (json_int_t)ent, "level", "一级", "category", "生产装置", "responsible", "赵",
                  "phone", "13812345678", "region_code", "140525");
    json_t *rec = NULL;
    yj_err err;
    if (registry_validate(registry_find("hazard_source"), in, NULL, &rec, &err) != YJ_OK)
        fail_msg("hazard_rec: %s", err.message);
    json_decref(in);
    return rec;
}

static void test_enterprise_scope(void **state)
{
    fx_db *db = *state;
    yj_conn *c = yj_store_acquire(db->store);
    yj_err err;
    int64_t e1 =
        insert_ok(c, "enterprise", &SCOPE_ALL, enterprise_rec("甲化工", "91140525MA0K1234X5"));
    int64_t e2 =
        insert_ok(c, "enterprise", &SCOPE_ALL, enterprise_rec("乙化工", "91140581MA0L5678PY"));
    int64_t h1 = insert_ok(c, "hazard_source", &SCOPE_ALL, hazard_rec("甲罐区", "H1", e1));
    int64_t h2 = insert_ok(c, "hazard_source", &SCOPE_ALL, hazard_rec("乙罐区", "H2", e2));
    insert_ok(c, "shelter", &SCOPE_ALL, shelter_rec("广场", "140525"));

    yj_scope mine = {"140525", e1};
    yj_query q = query();
    assert_names(c, "hazard_source", &mine, &q, "甲罐区", 1);
    assert_names(c, "enterprise", &mine, &q, "甲化工", 1);
    assert_names(c, "shelter", &mine, &q, "", 0);
    q.search = "广场";
    assert_names(c, "shelter", &mine, &q, "", 0);
    q.search = NULL;

    json_t *out = NULL;
    assert_int_equal(yj_rec_get(c, tab("hazard_source"), &mine, h2, &out, &err), YJ_ENOTFOUND);
    assert_int_equal(yj_rec_get(c, tab("enterprise"), &mine, e2, &out, &err), YJ_ENOTFOUND);
    assert_int_equal(yj_rec_get(c, tab("shelter"), &mine, 1, &out, &err), YJ_ENOTFOUND);
    json_decref(get_ok(c, "hazard_source", &mine, h1));
    json_decref(get_ok(c, "enterprise", &mine, e1));

    /* writes: own hazard sources only; no shelters; no new enterprises */
    int64_t id = 0;
    json_t *rec = hazard_rec("甲新罐区", "H3", e1);
    assert_int_equal(yj_rec_insert(c, tab("hazard_source"), &mine, rec, "ent", &id, &err), YJ_OK);
    json_decref(rec);
    rec = hazard_rec("冒名罐区", "H4", e2);
    assert_int_equal(yj_rec_insert(c, tab("hazard_source"), &mine, rec, "ent", &id, &err),
                     YJ_EFORBIDDEN);
    json_decref(rec);
    rec = shelter_rec("企业广场", "140525");
    assert_int_equal(yj_rec_insert(c, tab("shelter"), &mine, rec, "ent", &id, &err), YJ_EFORBIDDEN);
    json_decref(rec);
    rec = enterprise_rec("丙化工", "91350100M000100Y43");
    assert_int_equal(yj_rec_insert(c, tab("enterprise"), &mine, rec, "ent", &id, &err),
                     YJ_EFORBIDDEN);
    json_decref(rec);
    /* handing one's hazard source to another enterprise is refused */
    rec = hazard_rec("甲罐区", "H1", e2);
    assert_int_equal(yj_rec_update(c, tab("hazard_source"), &mine, h1, 1, rec, "ent", &err),
                     YJ_EFORBIDDEN);
    json_decref(rec);
    /* another enterprise's hazard source cannot be touched */
    rec = hazard_rec("乙罐区改", "H2", e1);
    assert_int_equal(yj_rec_update(c, tab("hazard_source"), &mine, h2, 1, rec, "ent", &err),
                     YJ_ENOTFOUND);
    json_decref(rec);
    assert_int_equal(yj_rec_delete(c, tab("hazard_source"), &mine, h2, 1, &err), YJ_ENOTFOUND);
    /* own enterprise row may be edited, not deleted */
    rec = enterprise_rec("甲化工有限公司", "91140525MA0K1234X5");
    assert_int_equal(yj_rec_update(c, tab("enterprise"), &mine, e1, 1, rec, "ent", &err), YJ_OK);
    json_decref(rec);
    rec = enterprise_rec("乙化工改", "91140581MA0L5678PY");
    assert_int_equal(yj_rec_update(c, tab("enterprise"), &mine, e2, 1, rec, "ent", &err),
                     YJ_ENOTFOUND);
    json_decref(rec);
    assert_int_equal(yj_rec_delete(c, tab("enterprise"), &mine, e1, 2, &err), YJ_EFORBIDDEN);

    /* enterprise -1: an enterprise user without an enterprise sees nothing */
    yj_scope none = {"140525", -1};
    assert_names(c, "hazard_source", &none, &q, "", 0);
    assert_names(c, "enterprise", &none, &q, "", 0);

    /* an enterprise still referred to cannot be deleted */
    assert_int_equal(yj_rec_delete(c, tab("enterprise"), &SCOPE_ALL, e2, 1, &err), YJ_ECONFLICT);
    /* a hazard source must refer to an existing enterprise */
    rec = hazard_rec("孤儿", "H9", 9999);
    assert_int_equal(yj_rec_insert(c, tab("hazard_source"), &SCOPE_ALL, rec, "x", &id, &err),
                     YJ_EINVAL);
    json_decref(rec);
    yj_store_release(db->store, c);
}

/* ---- transactions and migrations --------------------------------------------------------- */

static void test_rollback_leaves_nothing(void **state)
{
    fx_db *db = *state;
    yj_conn *c = yj_store_acquire(db->store);
    yj_err err;
    assert_int_equal(yj_tx_begin(c, &err), YJ_OK);
    int64_t id = insert_ok(c, "shelter", &SCOPE_ALL, shelter_rec("临时", "140525"));
    yj_tx_rollback(c);
    json_t *out = NULL;
    assert_int_equal(yj_rec_get(c, tab("shelter"), &SCOPE_ALL, id, &out, &err), YJ_ENOTFOUND);
    yj_query q = query();
    assert_names(c, "shelter", &SCOPE_ALL, &q, "", 0);

    /* a committed transaction stays; the connection is usable after rollback */
    assert_int_equal(yj_tx_begin(c, &err), YJ_OK);
    insert_ok(c, "shelter", &SCOPE_ALL, shelter_rec("正式", "140525"));
    assert_int_equal(yj_tx_commit(c, &err), YJ_OK);
    yj_store_release(db->store, c);
    /* seen from the other pooled connection too */
    yj_conn *c1 = yj_store_acquire(db->store);
    yj_conn *c2 = yj_store_acquire(db->store);
    assert_names(c1, "shelter", &SCOPE_ALL, &q, "正式", 1);
    assert_names(c2, "shelter", &SCOPE_ALL, &q, "正式", 1);
    yj_store_release(db->store, c2);
    yj_store_release(db->store, c1);
}

static void test_migrations_idempotent(void **state)
{
    fx_db *db = *state;
    size_t nm = 0, n = 0;
    const yj_module *const *mods = yj_modules(&nm);
    for (size_t k = 0; k < nm; k++) {
        const yj_migration *m = mods[k]->migrations;
        for (size_t i = 1; i < mods[k]->nmigrations; i++)
            assert_true(m[i].version > m[i - 1].version);
        n += mods[k]->nmigrations;
    }
    assert_true(n >= 2);
    fx_migrate(db->store); /* second and third run: nothing to do */
    fx_migrate(db->store);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM schema_migration"), (int64_t)n);
    /* every registry has its table */
    for (size_t i = 0; i < registry_count(); i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", registry_at(i)->name);
        assert_int_equal(fx_count(db->store, sql), 0);
    }
    /* a fresh store on the same file sees the migrated schema */
    yj_err err;
    yj_store *again = yj_store_open(db->path, 1, &err);
    assert_non_null(again);
    assert_int_equal(app_migrate(again, &err), YJ_OK);
    yj_store_close(again);
}

/* ---- the two stores: the dialect, bulk loads, per-transaction state -------- */

static void expect_pg(const char *in, const char *want, int want_params)
{
    int n = -1;
    char *got = yj_pg_translate(in, &n);
    assert_string_equal(got, want);
    assert_int_equal(n, want_params);
    free(got);
}

static void test_dialect(void **state)
{
    (void)state;
    expect_pg("SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = $1 AND c = $2",
              2);
    /* numbered placeholders keep their numbers; a '?' in a literal is text */
    expect_pg("UPDATE t SET a = ?2 WHERE k = ?1 AND s = '?'",
              "UPDATE t SET a = $2 WHERE k = $1 AND s = '?'", 2);
    expect_pg("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, v REAL, s TEXT NOT NULL)",
              "CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n BIGINT,"
              " v DOUBLE PRECISION, s TEXT COLLATE \"C\" NOT NULL)",
              0);
    expect_pg("CREATE TABLE r (a INTEGER, b INTEGER, PRIMARY KEY (a, b)) yj_key_ordered",
              "CREATE TABLE r (a BIGINT, b BIGINT, PRIMARY KEY (a, b)) ", 0);
    /* a CAST's TEXT stays TEXT; outside DDL, TEXT is never rewritten */
    expect_pg("ALTER TABLE t ADD COLUMN x TEXT; SELECT CAST(? AS TEXT), 'TEXT'",
              "ALTER TABLE t ADD COLUMN x TEXT COLLATE \"C\"; SELECT CAST($1 AS TEXT), 'TEXT'", 1);
    /* IN a list: = ANY of an array computed once (an index lookup whatever
     * the planner's estimates); the list alone: a subquery */
    expect_pg("DELETE FROM t WHERE id IN yj_int_list(?) AND k = ?",
              "DELETE FROM t WHERE id = ANY (ARRAY(SELECT CAST(value AS BIGINT) FROM"
              " json_array_elements_text(CAST($1 AS JSON)))) AND k = $2",
              2);
    expect_pg("SELECT x FROM yj_int_list( ? ) l",
              "SELECT x FROM (SELECT CAST(value AS BIGINT) FROM"
              " json_array_elements_text(CAST($1 AS JSON))) l",
              1);
    expect_pg("SELECT \"INTEGER\" FROM t -- INTEGER ?\n",
              "SELECT \"INTEGER\" FROM t -- INTEGER ?\n", 0);
    char *said = yj_sqlite_translate("DELETE FROM t WHERE id IN yj_int_list(?)");
    assert_string_equal(said, "DELETE FROM t WHERE id IN (SELECT value FROM json_each(?))");
    free(said);
    said =
        yj_sqlite_translate("CREATE TABLE r (a INTEGER PRIMARY KEY) yj_key_ordered; SELECT 'yj_'");
    assert_string_equal(said, "CREATE TABLE r (a INTEGER PRIMARY KEY) WITHOUT ROWID; SELECT 'yj_'");
    free(said);
    assert_null(yj_sqlite_translate("SELECT 1"));
    assert_null(yj_sqlite_translate("SELECT 'yj_'"));
}

static void test_bulk(void **state)
{
    fx_db *db = *state;
    fx_exec(db->store, "CREATE TABLE bulk_t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, n INTEGER)");
    yj_err err;
    yj_conn *c = yj_store_acquire(db->store);
    assert_int_equal(yj_tx_begin(c, &err), YJ_OK);
    yj_bulk *b = yj_bulk_begin(c, "bulk_t", "k, n", 2, &err);
    assert_non_null(b);
    /* what COPY's text format must escape, and NULL */
    const char *keys[] = {"plain", "tab\there", "line\nbreak\r", "back\\slash\\N", "中文"};
    for (int i = 0; i < 5; i++) {
        yj_bulk_text(b, keys[i]);
        if (i == 2)
            yj_bulk_null(b);
        else
            yj_bulk_int(b, i * 1000000000000LL);
        assert_int_equal(yj_bulk_row(b, &err), YJ_OK);
    }
    yj_bulk_text(b, NULL);
    yj_bulk_int(b, 7);
    assert_int_equal(yj_bulk_row(b, &err), YJ_OK);
    /* a row with a value missing is refused, and so is the load */
    yj_bulk_text(b, "short");
    assert_int_equal(yj_bulk_row(b, &err), YJ_EINTERNAL);
    int64_t rows = -1;
    assert_int_equal(yj_bulk_end(b, true, &rows, &err), YJ_EINTERNAL);
    yj_tx_rollback(c);
    yj_store_release(db->store, c);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM bulk_t"), 0);

    c = yj_store_acquire(db->store);
    assert_int_equal(yj_tx_begin(c, &err), YJ_OK);
    b = yj_bulk_begin(c, "bulk_t", "k, n", 2, &err);
    for (int i = 0; i < 5; i++) {
        yj_bulk_text(b, keys[i]);
        if (i == 2)
            yj_bulk_null(b);
        else
            yj_bulk_int(b, i * 1000000000000LL);
        assert_int_equal(yj_bulk_row(b, &err), YJ_OK);
    }
    assert_int_equal(yj_bulk_end(b, true, &rows, &err), YJ_OK);
    assert_int_equal(rows, 5);
    assert_int_equal(yj_tx_commit(c, &err), YJ_OK);
    yj_stmt *st = yj_prepare(c, "SELECT k, n FROM bulk_t ORDER BY id", &err);
    assert_non_null(st);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(yj_step(st, &err), 1);
        assert_string_equal(yj_col_text(st, 0), keys[i]);
        if (i == 2)
            assert_true(yj_col_null(st, 1));
        else
            assert_int_equal(yj_col_int(st, 1), i * 1000000000000LL);
    }
    assert_int_equal(yj_step(st, &err), 0);
    yj_stmt_done(st);

    /* a duplicate key: the load fails as a conflict, nothing of it stays */
    assert_int_equal(yj_tx_begin(c, &err), YJ_OK);
    b = yj_bulk_begin(c, "bulk_t", "k, n", 2, &err);
    yj_bulk_text(b, "new one");
    yj_bulk_int(b, 1);
    yj_code rc = yj_bulk_row(b, &err);
    yj_bulk_text(b, "plain");
    yj_bulk_int(b, 2);
    if (rc == YJ_OK)
        rc = yj_bulk_row(b, &err); /* SQLite says so here, PostgreSQL at the end */
    yj_code end = yj_bulk_end(b, rc == YJ_OK, NULL, rc == YJ_OK ? &err : NULL);
    assert_int_equal(rc == YJ_OK ? end : rc, YJ_ECONFLICT);
    yj_tx_rollback(c);
    /* abandoned on purpose: nothing written */
    assert_int_equal(yj_tx_begin(c, &err), YJ_OK);
    b = yj_bulk_begin(c, "bulk_t", "k, n", 2, &err);
    yj_bulk_text(b, "abandoned");
    yj_bulk_int(b, 3);
    assert_int_equal(yj_bulk_row(b, &err), YJ_OK);
    assert_int_equal(yj_bulk_end(b, false, NULL, NULL), YJ_OK);
    assert_int_equal(yj_tx_commit(c, &err), YJ_OK);
    yj_store_release(db->store, c);
    assert_int_equal(fx_count(db->store, "SELECT COUNT(*) FROM bulk_t"), 5);
}

static int hook_runs;
static yj_code count_hook(yj_conn *c, void *slot, yj_err *err)
{
    (void)c;
    (void)err;
    hook_runs += *(int *)slot;
    return YJ_OK;
}

static void test_tx_local(void **state)
{
    fx_db *db = *state;
    yj_err err;
    bool fresh = false;
    yj_conn *c = yj_store_acquire(db->store);
    assert_null(yj_tx_local(c, "k", sizeof(int), count_hook, &fresh)); /* no transaction */
    assert_int_equal(yj_tx_begin(c, &err), YJ_OK);
    int *slot = yj_tx_local(c, "k", sizeof(int), count_hook, &fresh);
    assert_non_null(slot);
    assert_true(fresh);
    assert_int_equal(*slot, 0);
    *slot = 3;
    assert_ptr_equal(yj_tx_local(c, "k", sizeof(int), count_hook, &fresh), slot);
    assert_false(fresh);
    hook_runs = 0;
    assert_int_equal(yj_tx_commit(c, &err), YJ_OK);
    assert_int_equal(hook_runs, 3); /* ran once, at commit */
    /* rolled back: the hook does not run, and the next transaction starts afresh */
    assert_int_equal(yj_tx_begin(c, &err), YJ_OK);
    *(int *)yj_tx_local(c, "k", sizeof(int), count_hook, &fresh) = 5;
    yj_tx_rollback(c);
    assert_int_equal(hook_runs, 3);
    assert_int_equal(yj_tx_begin(c, &err), YJ_OK);
    assert_int_equal(*(int *)yj_tx_local(c, "k", sizeof(int), count_hook, &fresh), 0);
    assert_true(fresh);
    yj_tx_rollback(c);
    yj_store_release(db->store, c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_region_scope, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_update_delete_outside_scope, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_region_check_table, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_insert_region_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_versions_and_conflicts, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_find_key, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_search_is_literal, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sort_filter_page_bbox, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_enterprise_scope, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rollback_leaves_nothing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_migrations_idempotent, fx_setup, fx_teardown),
        cmocka_unit_test(test_dialect),
        cmocka_unit_test_setup_teardown(test_bulk, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tx_local, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
