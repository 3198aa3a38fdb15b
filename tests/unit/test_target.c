/*
 * test_target.c — warning targeting (src/warning/target.c): who an area
 * {regions, polygons, circles} reaches inside a scope region prefix.
 *
 * Every answer below is worked out by hand and stated in a comment next to
 * the assertion.  Points are (lat, lon); the ring test casts its ray along
 * a meridian (lon = const, towards larger lat), so "crossings" below are
 * the ring edges the meridian through the point meets north of the point
 * (x: the lat where it meets them), with the half-open rule: an edge counts
 * when exactly one of its ends has lon > the point's.
 *
 * The world for the resolve tests is the fixture's region tree plus:
 *
 *   1405 晋城市
 *     140502 城区 > 140502001 东街街道 > 140502001001 东街社区
 *     140525 泽州县
 *       140525100 南村镇 > 140525100201 南村, 140525100202 北村, 140525100203 西村
 *       140525101 巴公镇 > 140525101201 巴公村, 140525101202 东庄村
 *     140581 高平市
 *   1406 朔州市 > 140602 朔城区
 *
 * Rows are created through registry_create (validated, generation bumped),
 * each with a label; results are compared as the sorted, space-separated
 * labels of what was reached, so a duplicate shows up as a repeated label.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "../../src/warning/target.h"
#include "../../src/warning/warning.h"
#include "fixture.h"

#include <math.h>

#define N_OF(a)            (sizeof(a) / sizeof((a)[0]))
#define IN(lat, lon, ring) target_point_in_ring((lat), (lon), (ring), N_OF(ring))

/* ---- the world ------------------------------------------------------------------------ */

static fx_db *DB;
static const yj_user ADMIN = {.id = 1, .username = "admin", .role = YJ_ROLE_ADMIN, .region = "14"};

static struct {
    char kind; /* r resident, t terminal, e enterprise, p responsible person */
    int64_t id;
    const char *label;
} rows[128];
static size_t nrows;
static int seq; /* phones, codes and credit codes unique per test */

static int setup(void **state)
{
    DB = fx_open();
    fx_exec(DB->store, "INSERT INTO region(code, name, parent, level) VALUES"
                       " ('140502', '城区', '1405', 3),"
                       " ('140502001', '东街街道', '140502', 4),"
                       " ('140502001001', '东街社区', '140502001', 5),"
                       " ('140525100201', '南村', '140525100', 5),"
                       " ('140525100202', '北村', '140525100', 5),"
                       " ('140525100203', '西村', '140525100', 5),"
                       " ('140525101', '巴公镇', '140525', 4),"
                       " ('140525101201', '巴公村', '140525101', 5),"
                       " ('140525101202', '东庄村', '140525101', 5)");
    nrows = 0;
    seq = 0;
    /* The snapshot is process-wide and keyed by the sum of the table
     * generations, which a fresh database of the previous test may repeat. */
    target_invalidate();
    *state = DB;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_close(DB);
    DB = NULL;
    return 0;
}

static int64_t create(char kind, const char *label, const char *registry, json_t *rec)
{
    yj_err err;
    yj_err_clear(&err);
    json_t *out = NULL;
    yj_code rc = registry_create(DB->store, &ADMIN, registry_find(registry), rec, &out, &err);
    if (rc != YJ_OK)
        fail_msg("create %s %s: %s: %s", registry, label, err.field, err.message);
    int64_t id = json_integer_value(json_object_get(out, "id"));
    json_decref(out);
    json_decref(rec);
    assert_true(id > 0);
    assert_true(nrows < N_OF(rows));
    rows[nrows].kind = kind;
    rows[nrows].id = id;
    rows[nrows].label = label;
    nrows++;
    return id;
}

static json_t *base(const char *region, double lat, double lon)
{
    json_t *o = json_pack("{s:s}", "region_code", region);
    if (!isnan(lat)) {
        json_object_set_new(o, "lat", json_real(lat));
        json_object_set_new(o, "lon", json_real(lon));
    }
    return o;
}

static json_t *phone(void)
{
    char p[16];
    snprintf(p, sizeof p, "1390000%04d", ++seq);
    return json_string(p);
}

/* A resident; vulnerable is a 老/幼/病/残/孕 tag list or NULL; contact: has a
 * 包保联系人 phone; status NULL for 在册. */
static int64_t resident(const char *label, const char *region, double lat, double lon,
                        const char *vulnerable, bool contact, const char *status)
{
    json_t *o = base(region, lat, lon);
    char code[32];
    snprintf(code, sizeof code, "R%04d", ++seq);
    json_object_set_new(o, "code", json_string(code));
    json_object_set_new(o, "name", json_string(label));
    json_object_set_new(o, "phone", phone());
    if (vulnerable)
        json_object_set_new(o, "vulnerable", json_string(vulnerable));
    if (contact) {
        json_object_set_new(o, "contact_name", json_string("包保人"));
        json_object_set_new(o, "contact_phone", phone());
    }
    if (status)
        json_object_set_new(o, "status", json_string(status));
    return create('r', label, "resident", o);
}

static int64_t terminal(const char *label, const char *region, double lat, double lon,
                        const char *topic, const char *status)
{
    json_t *o = base(region, lat, lon);
    json_object_set_new(o, "code", json_string(label));
    json_object_set_new(o, "name", json_string(label));
    json_object_set_new(o, "kind", json_string("村级大喇叭"));
    if (topic)
        json_object_set_new(o, "mqtt_topic", json_string(topic));
    if (status)
        json_object_set_new(o, "status", json_string(status));
    return create('t', label, "broadcast_terminal", o);
}

/* 统一社会信用代码 with its GB 32100 check character. */
static json_t *credit_code(void)
{
    static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    static const int weights[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
    char c[19];
    snprintf(c, sizeof c, "9114052500000%04d", ++seq);
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (int)(strchr(alphabet, c[i]) - alphabet) * weights[i];
    c[17] = alphabet[(31 - sum % 31) % 31];
    c[18] = '\0';
    return json_string(c);
}

static int64_t enterprise(const char *label, const char *region, double lat, double lon,
                          const char *status)
{
    json_t *o = base(region, lat, lon);
    json_object_set_new(o, "name", json_string(label));
    json_object_set_new(o, "credit_code", credit_code());
    json_object_set_new(o, "industry", json_string("煤矿"));
    json_object_set_new(o, "scale", json_string("中型"));
    json_object_set_new(o, "address", json_string("某路 1 号"));
    json_object_set_new(o, "legal_rep", json_string("法人"));
    json_object_set_new(o, "safety_director", json_string("安全负责人"));
    json_object_set_new(o, "safety_phone", phone());
    if (status)
        json_object_set_new(o, "status", json_string(status));
    return create('e', label, "enterprise", o);
}

/* A responsible person; level 村级/乡级/县级/市级/企业; status NULL for 在岗. */
static int64_t person(const char *label, const char *region, const char *level, int order,
                      int64_t enterprise_id, const char *status)
{
    json_t *o = base(region, NAN, NAN);
    json_object_set_new(o, "name", json_string(label));
    json_object_set_new(o, "phone", phone());
    json_object_set_new(o, "level", json_string(level));
    json_object_set_new(o, "call_order", json_integer(order));
    if (enterprise_id)
        json_object_set_new(o, "enterprise_id", json_integer(enterprise_id));
    if (status)
        json_object_set_new(o, "status", json_string(status));
    return create('p', label, "responsible_person", o);
}

/* An informant or grid worker (信息员/网格员); status NULL for 在岗. */
static int64_t informant(const char *label, const char *region, const char *level,
                         const char *status)
{
    json_t *o = base(region, NAN, NAN);
    json_object_set_new(o, "name", json_string(label));
    json_object_set_new(o, "phone", phone());
    json_object_set_new(o, "level", json_string(level));
    json_object_set_new(o, "kind", json_string("网格员"));
    if (status)
        json_object_set_new(o, "status", json_string(status));
    return create('i', label, "informant", o);
}

static const char *label_of(char kind, int64_t id)
{
    for (size_t i = 0; i < nrows; i++)
        if (rows[i].kind == kind && rows[i].id == id)
            return rows[i].label;
    return "?";
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The labels of ids, sorted, space-separated (a rotating static buffer). */
static const char *joined(char kind, const int64_t *ids, size_t n)
{
    static char bufs[8][1024];
    static int k;
    char *buf = bufs[k++ % 8];
    const char *v[128];
    assert_true(n <= N_OF(v));
    for (size_t i = 0; i < n; i++)
        v[i] = label_of(kind, ids[i]);
    qsort(v, n, sizeof *v, cmp_str);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(buf + strlen(buf), 1024 - strlen(buf), "%s%s", i ? " " : "", v[i]);
    return buf;
}

static const char *res_of(const target_set *t)
{
    int64_t ids[128];
    assert_true(t->nres <= N_OF(ids));
    for (size_t i = 0; i < t->nres; i++)
        ids[i] = t->res[i]->id;
    return joined('r', ids, t->nres);
}

static const char *term_of(const target_set *t)
{
    int64_t ids[128];
    assert_true(t->nterm <= N_OF(ids));
    for (size_t i = 0; i < t->nterm; i++)
        ids[i] = t->term[i]->id;
    return joined('t', ids, t->nterm);
}

static const char *ent_of(const target_set *t)
{
    int64_t ids[128];
    assert_true(t->nent <= N_OF(ids));
    for (size_t i = 0; i < t->nent; i++)
        ids[i] = t->ent[i]->id;
    return joined('e', ids, t->nent);
}

static const char *resp_of(const target_set *t)
{
    int64_t ids[128];
    assert_true(t->nresp <= N_OF(ids));
    for (size_t i = 0; i < t->nresp; i++)
        ids[i] = t->resp[i]->id;
    return joined('p', ids, t->nresp);
}

static const char *inf_of(const target_set *t)
{
    int64_t ids[128];
    assert_true(t->ninf <= N_OF(ids));
    for (size_t i = 0; i < t->ninf; i++)
        ids[i] = t->inf[i]->id;
    return joined('i', ids, t->ninf);
}

static const char *who(const tgt_person *p)
{
    return p ? label_of('p', p->id) : "NULL";
}

static target_set resolve(const char *scope, const char *area)
{
    json_t *a = fx_json(area);
    target_set t;
    yj_err err;
    yj_err_clear(&err);
    yj_conn *c = yj_store_acquire(DB->store);
    yj_code rc = target_resolve(c, scope, a, &t, &err);
    yj_store_release(DB->store, c);
    json_decref(a);
    if (rc != YJ_OK)
        fail_msg("resolve %s in %s: %s", area, scope, err.message);
    return t;
}

/* The residents an area reaches, as labels (resolved and freed). */
static const char *reached(const char *scope, const char *area)
{
    target_set t = resolve(scope, area);
    const char *s = res_of(&t);
    target_set_free(&t);
    return s;
}

/* The same distance target.c computes (haversine, mean Earth radius). */
static double km(double lat1, double lon1, double lat2, double lon2)
{
    const double r = 6371.0088, d = M_PI / 180;
    double dlat = (lat2 - lat1) * d, dlon = (lon2 - lon1) * d;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * d) * cos(lat2 * d) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * r * asin(fmin(1, sqrt(a)));
}

/* ---- target_point_in_ring ---------------------------------------------------------------- */

/* The square lat 0..4 x lon 0..4: south edge lat = 0 and north edge lat = 4
 * run east-west ("horizontal" on a map), west lon = 0 and east lon = 4
 * north-south (along the ray). */
static const double SQ[][2] = {{0, 0}, {0, 4}, {4, 4}, {4, 0}, {0, 0}};
static const double SQ_OPEN[][2] = {{0, 0}, {0, 4}, {4, 4}, {4, 0}};       /* not closed */
static const double SQ_CW[][2] = {{0, 0}, {4, 0}, {4, 4}, {0, 4}, {0, 0}}; /* other way round */
static const double SQ_DUP[][2] = {{0, 0}, {0, 4}, {0, 4}, {4, 4}, {4, 0}, {0, 0}};

static void check_square(const double (*ring)[2], size_t n)
{
    /* strictly inside: one crossing (the north edge at lat 4) */
    assert_true(target_point_in_ring(2, 2, ring, n));
    assert_true(target_point_in_ring(0.001, 3.999, ring, n));
    /* outside on every side: north 0, south 2 (both edges), east/west 0 */
    assert_false(target_point_in_ring(5, 2, ring, n));
    assert_false(target_point_in_ring(-1, 2, ring, n));
    assert_false(target_point_in_ring(2, 5, ring, n));
    assert_false(target_point_in_ring(2, -1, ring, n));
    /* on each edge, the east-west ones included, and the closing edge
     * (4,0)-(0,0) of the open ring */
    assert_true(target_point_in_ring(0, 2, ring, n));
    assert_true(target_point_in_ring(4, 2, ring, n));
    assert_true(target_point_in_ring(2, 0, ring, n));
    assert_true(target_point_in_ring(2, 4, ring, n));
    /* each vertex */
    assert_true(target_point_in_ring(0, 0, ring, n));
    assert_true(target_point_in_ring(0, 4, ring, n));
    assert_true(target_point_in_ring(4, 4, ring, n));
    assert_true(target_point_in_ring(4, 0, ring, n));
    /* on an edge's line but beyond its ends: outside */
    assert_false(target_point_in_ring(0, 5, ring, n));
    assert_false(target_point_in_ring(0, -1, ring, n));
    assert_false(target_point_in_ring(5, 0, ring, n));
    assert_false(target_point_in_ring(-1, 4, ring, n)); /* the ray runs along the east edge */
    assert_false(target_point_in_ring(-1, 0, ring, n)); /* .. and the west edge: 2 crossings */
    /* 1e-9° off an edge: the tolerance is far below that */
    assert_false(target_point_in_ring(2, 4 + 1e-9, ring, n));
    assert_true(target_point_in_ring(2, 4 - 1e-9, ring, n));
    assert_false(target_point_in_ring(4 + 1e-9, 2, ring, n));
    assert_true(target_point_in_ring(4 - 1e-9, 2, ring, n));
    assert_false(target_point_in_ring(-1e-9, 2, ring, n));
}

static void test_ring_square(void **state)
{
    (void)state;
    check_square(SQ, N_OF(SQ));
    /* the header asks for a closed ring; an open one is closed implicitly
     * (the loop starts with the edge last -> first), so the answers are
     * the same — including on the implicit closing edge */
    check_square(SQ_OPEN, N_OF(SQ_OPEN));
    /* orientation and a repeated vertex (a zero-length edge) change nothing */
    check_square(SQ_CW, N_OF(SQ_CW));
    check_square(SQ_DUP, N_OF(SQ_DUP));
}

static void test_ring_triangle_vertex_ray(void **state)
{
    (void)state;
    /* apex (4,2): the meridian lon = 2 passes exactly through it */
    static const double TRI[][2] = {{0, 0}, {4, 2}, {0, 4}, {0, 0}};
    /* below: crossings at the apex edge (4,2)-(0,4) (x = 4; the edge
     * (0,0)-(4,2) has both ends at lon <= 2, not counted) and the base at
     * x = 0: 2 -> outside */
    assert_false(IN(-1, 2, TRI));
    assert_false(IN(5, 2, TRI)); /* above the apex: nothing north of it */
    assert_true(IN(2, 2, TRI));  /* one crossing, the apex at x = 4 */
    assert_true(IN(4, 2, TRI));  /* the apex itself */
    assert_true(IN(2, 1, TRI));  /* on (0,0)-(4,2): lat = 2 lon */
    assert_true(IN(2, 3, TRI));  /* on (4,2)-(0,4) */
    assert_false(IN(4, 1, TRI)); /* level with the apex, beside it */
    assert_false(IN(2.001, 1, TRI));
    assert_true(IN(1.999, 1, TRI));
}

static void test_ring_concave(void **state)
{
    (void)state;
    /* U: lat 0..6 x lon 0..6 with a notch lat 2..6 x lon 2..4 open to the
     * north; the arms are lon 0..2 and 4..6 */
    static const double U[][2] = {{0, 0}, {0, 6}, {6, 6}, {6, 4}, {2, 4},
                                  {2, 2}, {6, 2}, {6, 0}, {0, 0}};
    assert_false(IN(4, 3, U)); /* in the notch: no edge north of it crosses lon 3 */
    assert_false(IN(6, 3, U)); /* the notch's mouth, between the arm tops */
    assert_false(IN(7, 3, U)); /* beyond it */
    assert_true(IN(1, 3, U));  /* the base under the notch: crosses the notch floor */
    assert_true(IN(4, 1, U));  /* west arm */
    assert_true(IN(4, 5, U));  /* east arm */
    assert_true(IN(2, 3, U));  /* on the notch floor */
    assert_true(IN(4, 4, U));  /* on the notch's east wall */
    assert_true(IN(4, 2, U));  /* on the notch's west wall */
    assert_true(IN(6, 4, U));  /* a vertex at the mouth */
    assert_true(IN(2, 2, U));  /* a reflex vertex */
    /* rays through the reflex vertices (2,2) and (2,4) and along the notch
     * walls: one crossing each (the floor at x = 2, resp. the east arm's top
     * at x = 6) -> inside */
    assert_true(IN(1, 2, U));
    assert_true(IN(1, 4, U));
    assert_false(IN(4, 2.001, U)); /* just inside the notch */
    assert_true(IN(4, 1.999, U));  /* just inside the west arm */

    /* L: lat 0..4 x lon 0..4 without the corner lat 2..4 x lon 2..4 */
    static const double L[][2] = {{0, 0}, {0, 4}, {2, 4}, {2, 2}, {4, 2}, {4, 0}, {0, 0}};
    assert_false(IN(3, 3, L)); /* the missing corner */
    assert_false(IN(4, 4, L)); /* the bounding box's corner */
    assert_true(IN(1, 3, L));
    assert_true(IN(3, 1, L));
    assert_true(IN(2, 3, L)); /* on the inner east-west edge */
    assert_true(IN(3, 2, L)); /* on the inner north-south edge */
    assert_true(IN(2, 2, L)); /* the reflex vertex */
    assert_false(IN(2.001, 3, L));
    assert_true(IN(1.999, 3, L));
}

static void test_ring_keyhole(void **state)
{
    (void)state;
    /* A ring with a hole: the square 0..10 entered by a slit along
     * lon = 5 from lat 0 to lat 3, around the hole lat 3..7 x lon 3..7
     * (the other way round) and back out.  Even-odd: the hole is outside,
     * the slit is on the boundary. */
    static const double K[][2] = {{0, 0}, {0, 5}, {3, 5},  {3, 3},   {7, 3},  {7, 7}, {3, 7},
                                  {3, 5}, {0, 5}, {0, 10}, {10, 10}, {10, 0}, {0, 0}};
    /* (5,5): crossings at the hole's top (x = 7) and the outer top
     * (x = 10); the hole's bottom (3,7)-(3,5) is south of it -> 2, outside */
    assert_false(IN(5, 5, K));
    assert_false(IN(4, 6, K));
    assert_true(IN(8, 5, K));     /* between the hole and the outer top: 1 */
    assert_true(IN(5, 1, K));     /* beside the hole: only the outer top */
    assert_true(IN(1.5, 4.9, K)); /* beside the slit: hole bottom, hole top, outer top = 3 */
    assert_true(IN(1.5, 5, K));   /* on the slit */
    assert_true(IN(5, 3, K));     /* on the hole's edge */
    assert_true(IN(7, 7, K));     /* a hole vertex */
    assert_false(IN(5, 3.001, K));
    assert_true(IN(5, 2.999, K));
}

static void test_ring_degenerate(void **state)
{
    (void)state;
    /* n = 0: nothing is inside (and nothing is read) */
    assert_false(target_point_in_ring(0, 0, SQ, 0));
    /* one point: only that point (the zero-length edge from it to itself) */
    static const double ONE[][2] = {{1, 1}};
    assert_true(IN(1, 1, ONE));
    assert_false(IN(1, 1.001, ONE));
    /* two points: the segment, both ways, so crossings cancel */
    static const double SEG[][2] = {{0, 0}, {0, 4}};
    assert_true(IN(0, 2, SEG));
    assert_true(IN(0, 4, SEG));
    assert_false(IN(-1, 2, SEG));
    assert_false(IN(1, 2, SEG));
    /* a closed ring of no area: only its points */
    static const double FLAT[][2] = {{0, 0}, {2, 2}, {4, 4}, {0, 0}};
    assert_true(IN(1, 1, FLAT));
    assert_true(IN(3, 3, FLAT));
    assert_false(IN(1, 2, FLAT)); /* crossings at x = 2 twice */
    assert_false(IN(3, 1, FLAT));
}

/* The pentagon Q used by the polygon tests: the square lat 35.41..35.47 x
 * lon 112.81..112.89 with its north-west corner cut by the diagonal
 * D(35.47,112.85)-E(35.43,112.81), on which lat - lon = -77.38; inside,
 * lat - lon <= -77.38.  Decimal coordinates, none exact in binary. */
#define Q_JSON                                                                                     \
    "[[35.41,112.81],[35.41,112.89],[35.47,112.89],[35.47,112.85],[35.43,112.81],[35.41,112.81]]"
static const double Q[][2] = {{35.41, 112.81}, {35.41, 112.89}, {35.47, 112.89},
                              {35.47, 112.85}, {35.43, 112.81}, {35.41, 112.81}};

static void test_ring_decimal(void **state)
{
    (void)state;
    assert_true(IN(35.44, 112.85, Q));     /* inside */
    assert_true(IN(35.41, 112.85, Q));     /* south edge */
    assert_true(IN(35.44, 112.89, Q));     /* east edge */
    assert_true(IN(35.47, 112.87, Q));     /* north edge */
    assert_true(IN(35.45, 112.83, Q));     /* diagonal: 35.45 - 112.83 = -77.38 */
    assert_true(IN(35.42, 112.81, Q));     /* west edge */
    assert_true(IN(35.47, 112.89, Q));     /* vertex C */
    assert_true(IN(35.43, 112.81, Q));     /* vertex E */
    assert_false(IN(35.40999, 112.85, Q)); /* 1e-5° (1.1 m) outside each edge */
    assert_false(IN(35.44, 112.89001, Q));
    assert_false(IN(35.47001, 112.87, Q));
    assert_false(IN(35.45001, 112.83, Q));
    assert_false(IN(35.42, 112.80999, Q));
    /* the cut corner: lat - lon = 35.46 - 112.82 = -77.36 > -77.38 */
    assert_false(IN(35.46, 112.82, Q));
    assert_true(IN(35.44, 112.84, Q)); /* -77.40: inside */
}

/* ---- polygons ---------------------------------------------------------------------------- */

static void add_q_residents(void)
{
    const char *v = "140525100201";
    resident("in", v, 35.44, 112.85, NULL, false, NULL);
    resident("s_edge", v, 35.41, 112.85, NULL, false, NULL);
    resident("e_edge", v, 35.44, 112.89, NULL, false, NULL);
    resident("n_edge", v, 35.47, 112.87, NULL, false, NULL);
    resident("d_edge", v, 35.45, 112.83, NULL, false, NULL);
    resident("w_edge", v, 35.42, 112.81, NULL, false, NULL);
    resident("vtx_c", v, 35.47, 112.89, NULL, false, NULL);
    resident("vtx_e", v, 35.43, 112.81, NULL, false, NULL);
    resident("s_out", v, 35.40999, 112.85, NULL, false, NULL);
    resident("e_out", v, 35.44, 112.89001, NULL, false, NULL);
    resident("n_out", v, 35.47001, 112.87, NULL, false, NULL);
    resident("d_out", v, 35.45001, 112.83, NULL, false, NULL);
    resident("w_out", v, 35.42, 112.80999, NULL, false, NULL);
    resident("c_out", v, 35.47001, 112.89001, NULL, false, NULL);
    resident("nopoint", "140525100202", NAN, NAN, NULL, false, NULL);
}

static void test_polygon_edges(void **state)
{
    (void)state;
    add_q_residents();
    /* everything on Q's boundary is in, everything 1e-5° outside is out;
     * the resident without a point is not reached by geometry.  (When the
     * snapshot held coordinates as float, s_edge, n_edge, w_edge, vtx_c and
     * vtx_e were rounded off the boundary, outwards, and lost.) */
    assert_string_equal(reached("1405", "{\"polygons\":[" Q_JSON "]}"),
                        "d_edge e_edge in n_edge s_edge vtx_c vtx_e w_edge");
    /* .. but is by its region code (and the region reaches only it) */
    assert_string_equal(reached("1405", "{\"regions\":[\"140525100202\"]}"), "nopoint");
    assert_string_equal(
        reached("1405", "{\"regions\":[\"140525100202\"],\"polygons\":[" Q_JSON "]}"),
        "d_edge e_edge in n_edge nopoint s_edge vtx_c vtx_e w_edge");
    /* the township holds both villages: all 15 */
    target_set t = resolve("1405", "{\"regions\":[\"140525100\"]}");
    assert_int_equal(t.nres, 15);
    target_set_free(&t);
}

/* ---- 城区 inside 泽州县: a hole by region code, and rings with holes ------------------------ */

/* 泽州县's outline O (lat 35.35..35.65 x lon 112.70..113.00) surrounds
 * 城区's I (35.45..35.55 x 112.80..112.90); K is O with I cut out through a
 * slit along lon 112.85 from the south edge. */
#define O_JSON "[[35.35,112.70],[35.35,113.00],[35.65,113.00],[35.65,112.70],[35.35,112.70]]"
#define I_JSON "[[35.45,112.80],[35.45,112.90],[35.55,112.90],[35.55,112.80],[35.45,112.80]]"
#define K_JSON                                                                                     \
    "[[35.35,112.70],[35.35,112.85],[35.45,112.85],[35.45,112.80],[35.55,112.80],[35.55,112.90],"  \
    "[35.45,112.90],[35.45,112.85],[35.35,112.85],[35.35,113.00],[35.65,113.00],[35.65,112.70],"   \
    "[35.35,112.70]]"

static void test_region_hole(void **state)
{
    (void)state;
    resident("z_w", "140525100201", 35.50, 112.75, NULL, false, NULL);
    resident("z_e", "140525100202", 35.50, 112.95, NULL, false, NULL);
    resident("z_s", "140525101201", 35.40, 112.85, NULL, false, NULL); /* on K's slit */
    resident("z_n", "140525101202", 35.60, 112.85, NULL, false, NULL);
    resident("c_1", "140502001001", 35.50, 112.85, NULL, false, NULL);
    resident("c_2", "140502001001", 35.52, 112.86, NULL, false, NULL);
    resident("g_1", "140581", 35.80, 112.90, NULL, false, NULL); /* 高平, north of O */

    /* Regions are code prefixes, not outlines: naming 泽州县 reaches its
     * four villages' residents and none of 城区's, though they live inside
     * its outline (140502... does not start with 140525). */
    assert_string_equal(reached("1405", "{\"regions\":[\"140525\"]}"), "z_e z_n z_s z_w");
    assert_string_equal(reached("1405", "{\"regions\":[\"140502\"]}"), "c_1 c_2");
    assert_string_equal(reached("1405", "{\"regions\":[\"140525100\"]}"), "z_e z_w");
    assert_string_equal(reached("1405", "{\"regions\":[\"1405\"]}"), "c_1 c_2 g_1 z_e z_n z_s z_w");
    /* the outline as a polygon covers both counties' residents */
    assert_string_equal(reached("1405", "{\"polygons\":[" O_JSON "]}"), "c_1 c_2 z_e z_n z_s z_w");
    /* the keyhole ring leaves 城区 out: c_1 (35.50,112.85) sees the hole's
     * top (x = 35.55) and O's top (x = 35.65) north of it -> outside; z_s is
     * on the slit, the boundary -> inside */
    assert_string_equal(reached("1405", "{\"polygons\":[" K_JSON "]}"), "z_e z_n z_s z_w");
    /* An area has no holes of its own: each polygon is an outer ring and
     * the area their union, so I nested in O adds nothing and cuts nothing;
     * and each resident comes once. */
    target_set t = resolve("1405", "{\"polygons\":[" O_JSON "," I_JSON "]}");
    assert_string_equal(res_of(&t), "c_1 c_2 z_e z_n z_s z_w");
    assert_int_equal(t.nres, 6);
    target_set_free(&t);
    /* 泽州县 by code plus 城区 by its outline: both */
    assert_string_equal(reached("1405", "{\"regions\":[\"140525\"],\"polygons\":[" I_JSON "]}"),
                        "c_1 c_2 z_e z_n z_s z_w");
    /* the keyhole plus 城区 by code: both, each once */
    assert_string_equal(reached("1405", "{\"regions\":[\"140502\"],\"polygons\":[" K_JSON "]}"),
                        "c_1 c_2 z_e z_n z_s z_w");
}

/* ---- multi-part areas: each recipient once, the vulnerable and contacts -------------------- */

#define U_POLY "[[35.49,112.84],[35.49,112.86],[35.51,112.86],[35.51,112.84],[35.49,112.84]]"
#define U_AREA                                                                                     \
    "{\"regions\":[\"140525100201\",\"140525100\",\"140525100201\"],"                              \
    "\"polygons\":[" U_POLY "," U_POLY "],\"circles\":[[35.50,112.85,1.0],[35.501,112.851,0.5]]}"

static void test_union_once(void **state)
{
    (void)state;
    const char *v = "140525100201";
    /* all in village 201, within U_POLY and within 1 km of (35.50,112.85) */
    resident("u1", v, 35.500, 112.850, "老", true, NULL);           /* vulnerable, contact */
    resident("u2", v, 35.501, 112.851, "病、残", true, NULL);       /* vulnerable, contact */
    resident("u3", v, 35.502, 112.849, "幼", false, NULL);          /* vulnerable, no contact */
    resident("u4", v, 35.499, 112.852, NULL, true, NULL);           /* contact, not vulnerable */
    resident("u5", v, 35.503, 112.850, "孕", true, "外出");         /* away: still reached */
    resident("u6", v, 35.500, 112.851, "老", true, "迁出");         /* moved out: never */
    resident("u7", v, NAN, NAN, "老", true, NULL);                  /* by the region only */
    resident("x1", "140525100202", 35.6, 112.95, "老", true, NULL); /* the township names it */
    terminal("T1", v, 35.5005, 112.8505, NULL, NULL);
    terminal("T2", v, 35.5006, 112.8506, NULL, "故障"); /* out of order: never */
    terminal("T3", v, 35.5007, 112.8507, "custom/t3", NULL);
    enterprise("E1", v, 35.5008, 112.8502, NULL);
    enterprise("E2", v, 35.5009, 112.8503, "关闭"); /* closed: never */

    target_set t = resolve("140525", U_AREA);
    /* the village (twice), its township, two identical polygons and two
     * circles all cover u1..u5 and u7; the township adds x1: 7, once each */
    assert_string_equal(res_of(&t), "u1 u2 u3 u4 u5 u7 x1");
    assert_int_equal(t.nres, 7);
    /* vulnerable: u1 u2 u3 u5 u7 x1 = 6; their contacts: all but u3 = 5
     * (u4 has a contact phone but is not vulnerable) */
    assert_int_equal(t.nvulnerable, 6);
    assert_int_equal(t.ncontacts, 5);
    for (size_t i = 0; i < t.nres; i++) {
        const tgt_resident *r = t.res[i];
        const char *l = label_of('r', r->id);
        if (strcmp(l, "u2") == 0)
            assert_int_equal(r->vulnerable, TGT_SICK | TGT_DISABLED);
        if (strcmp(l, "u5") == 0) {
            assert_int_equal(r->vulnerable, TGT_PREGNANT);
            assert_true(r->away);
        } else {
            assert_false(r->away);
        }
        if (strcmp(l, "u7") == 0)
            assert_true(isnan(r->lat) && isnan(r->lon));
        assert_true(r->phone[0] != '\0');
    }
    assert_string_equal(term_of(&t), "T1 T3");
    for (size_t i = 0; i < t.nterm; i++) {
        const tgt_terminal *x = t.term[i];
        bool t1 = strcmp(label_of('t', x->id), "T1") == 0;
        /* no topic: the platform's default from the code; coverage default 500 m */
        assert_string_equal(x->topic, t1 ? "yingji/v1/broadcast/T1" : "custom/t3");
        assert_int_equal(x->coverage_m, 500);
    }
    assert_string_equal(ent_of(&t), "E1");
    assert_true(t.ent[0]->phone[0] != '\0');
    target_set_free(&t);

    /* the composer's live count says the same (after its own checks) */
    yj_user duty = {.id = 2, .username = "duty", .role = YJ_ROLE_DUTY, .region = "140525"};
    json_t *area = fx_json(U_AREA), *out = NULL;
    yj_err err;
    yj_err_clear(&err);
    assert_int_equal(warning_preview_targets(DB->store, &duty, area, &out, &err), YJ_OK);
    json_decref(area);
    assert_int_equal(json_integer_value(json_object_get(out, "residents")), 7);
    assert_int_equal(json_integer_value(json_object_get(out, "vulnerable")), 6);
    assert_int_equal(json_integer_value(json_object_get(out, "contacts")), 5);
    assert_int_equal(json_integer_value(json_object_get(out, "terminals")), 2);
    assert_int_equal(json_integer_value(json_object_get(out, "enterprises")), 1);
    assert_int_equal(json_integer_value(json_object_get(out, "places")), 2); /* 201, 202 */
    json_decref(out);
}

/* ---- circles ------------------------------------------------------------------------------- */

static void test_circle(void **state)
{
    (void)state;
    const char *v = "140525100201";
    /* around the centre (35.50, 112.85); one degree of latitude is
     * 6371.0088 km * pi / 180 = 111.195 km */
    resident("ctr", v, 35.50, 112.85, NULL, false, NULL);
    resident("n1", v, 35.51, 112.85, NULL, false, NULL); /* 0.01° north: 1.112 km */
    /* 0.01° east: about 1.112 km x cos 35.5°, 0.905 km */
    resident("e1", v, 35.50, 112.86, NULL, false, NULL);
    resident("s2", v, 35.48, 112.85, NULL, false, NULL);   /* 0.02° south: 2.224 km */
    resident("far", v, 36.00, 112.85, NULL, false, NULL);  /* 0.5° north: 55.60 km */
    resident("east", v, 35.50, 113.45, NULL, false, NULL); /* 0.6° east: ~54.3 km */

    double rn = km(35.50, 112.85, 35.51, 112.85), re = km(35.50, 112.85, 35.50, 112.86);
    assert_true(fabs(rn - 1.111950) < 1e-5);
    assert_true(fabs(re - 0.905256) < 1e-5);
    assert_true(fabs(km(35.50, 112.85, 36.00, 112.85) - 55.5975) < 1e-3);
    double rx = km(35.50, 112.85, 35.50, 113.45);
    assert_true(rx > 54 && rx < 55);

    /* the radius is in km: 1 km takes ctr and e1 (0.905 km) but not n1
     * (1.112 km); in metres only ctr would be in, in degrees everyone */
    assert_string_equal(reached("1405", "{\"circles\":[[35.50,112.85,1.0]]}"), "ctr e1");
    assert_string_equal(reached("1405", "{\"circles\":[[35.50,112.85,1.2]]}"), "ctr e1 n1");
    assert_string_equal(reached("1405", "{\"circles\":[[35.50,112.85,2.3]]}"), "ctr e1 n1 s2");
    assert_string_equal(reached("1405", "{\"circles\":[[35.50,112.85,55]]}"),
                        "ctr e1 east n1 s2"); /* far is 55.6 km; east (54.3 km) at 60 cells */
    assert_string_equal(reached("1405", "{\"circles\":[[35.50,112.85,56]]}"),
                        "ctr e1 east far n1 s2");

    /* the rim is inside: a radius of exactly the distance to n1 (resp. e1)
     * takes it; 1 mm less does not */
    char area[128];
    snprintf(area, sizeof area, "{\"circles\":[[35.50,112.85,%.17g]]}", rn);
    assert_string_equal(reached("1405", area), "ctr e1 n1");
    snprintf(area, sizeof area, "{\"circles\":[[35.50,112.85,%.17g]]}", rn - 1e-6);
    assert_string_equal(reached("1405", area), "ctr e1");
    snprintf(area, sizeof area, "{\"circles\":[[35.50,112.85,%.17g]]}", re);
    assert_string_equal(reached("1405", area), "ctr e1");
    snprintf(area, sizeof area, "{\"circles\":[[35.50,112.85,%.17g]]}", re - 1e-6);
    assert_string_equal(reached("1405", area), "ctr");
    /* a circle centred on nobody, missing everyone */
    assert_string_equal(reached("1405", "{\"circles\":[[35.55,112.90,1.0]]}"), "");
}

/* ---- scope --------------------------------------------------------------------------------- */

static void test_scope(void **state)
{
    (void)state;
    /* four residents in four counties, within 1e-3° of each other */
    resident("zz", "140525100201", 35.500, 112.850, "老", true, NULL);  /* 泽州县 */
    resident("cq", "140502001001", 35.501, 112.851, NULL, false, NULL); /* 城区 */
    resident("gp", "140581", 35.502, 112.850, NULL, false, NULL);       /* 高平市 */
    resident("sz", "140602", 35.499, 112.850, NULL, false, NULL);       /* 朔城区, 朔州市 */
    terminal("T_zz", "140525100201", 35.5001, 112.8501, NULL, NULL);
    terminal("T_gp", "140581", 35.5002, 112.8502, NULL, NULL);
    enterprise("E_zz", "140525100201", 35.5003, 112.8503, NULL);
    enterprise("E_sz", "140602", 35.5004, 112.8504, NULL);
    person("P_zz", "140525", "县级", 1, 0, NULL);
    person("P_gp", "140581", "县级", 1, 0, NULL);
    person("P_jc", "1405", "市级", 1, 0, NULL);
    person("P_sx", "14", "市级", 1, 0, NULL);

    const char *poly = "{\"polygons\":[" U_POLY "]}", *circ = "{\"circles\":[[35.5,112.85,1]]}";
    /* the polygon covers all four; the scope decides */
    assert_string_equal(reached("140525", poly), "zz");
    assert_string_equal(reached("1405", poly), "cq gp zz");
    assert_string_equal(reached("14", poly), "cq gp sz zz");
    assert_string_equal(reached("140525", circ), "zz");
    assert_string_equal(reached("1405", circ), "cq gp zz");
    target_set t = resolve("140525", poly);
    assert_string_equal(term_of(&t), "T_zz");
    assert_string_equal(ent_of(&t), "E_zz");
    assert_string_equal(resp_of(&t), "P_zz"); /* not 高平's, not the city's or province's */
    assert_int_equal(t.nvulnerable, 1);
    assert_int_equal(t.ncontacts, 1);
    target_set_free(&t);
    t = resolve("1405", poly);
    assert_string_equal(term_of(&t), "T_gp T_zz");
    assert_string_equal(ent_of(&t), "E_zz");
    assert_string_equal(resp_of(&t), "P_gp P_jc P_zz");
    target_set_free(&t);

    /* a region outside the scope reaches nothing, whether longer than the
     * scope, as long, or shorter and not above it */
    assert_string_equal(reached("140525", "{\"regions\":[\"140581\"]}"), "");
    assert_string_equal(reached("140525", "{\"regions\":[\"140602\"]}"), "");
    assert_string_equal(reached("140525", "{\"regions\":[\"140581100\"]}"), "");
    assert_string_equal(reached("140525", "{\"regions\":[\"1406\"]}"), "");
    assert_string_equal(reached("140525100", "{\"regions\":[\"140581\"]}"), "");
    t = resolve("140525", "{\"regions\":[\"1406\",\"140581\"]}");
    assert_int_equal(t.nres + t.nterm + t.nent + t.nresp, 0);
    target_set_free(&t);
    /* a region above the scope reaches the scope, no more */
    assert_string_equal(reached("140525", "{\"regions\":[\"1405\"]}"), "zz");
    assert_string_equal(reached("140525", "{\"regions\":[\"14\"]}"), "zz");
    assert_string_equal(reached("1405", "{\"regions\":[\"14\"]}"), "cq gp zz");
}

/* ---- responsible people and the call-up chain ------------------------------------------------ */

static void test_responsible(void **state)
{
    (void)state;
    const char *v201 = "140525100201", *v202 = "140525100202";
    resident("r1", v201, 35.50, 112.85, NULL, false, NULL);
    resident("r3", "140525101201", 35.60, 112.95, NULL, false, NULL);
    int64_t e1 = enterprise("ent1", v202, 35.501, 112.851, NULL); /* inside U_POLY */
    int64_t e2 = enterprise("ent2", v202, 35.70, 113.10, NULL);   /* outside */
    /* village 201: v1x (order 1) is off duty; v1b and v1c share order 2
     * (v1b has the lower id); v1a (order 1) is created last */
    int64_t v1x = person("v1x", v201, "村级", 1, 0, "离岗");
    person("v1b", v201, "村级", 2, 0, NULL);
    person("v1c", v201, "村级", 2, 0, NULL);
    person("v1a", v201, "村级", 1, 0, NULL);
    /* village 202: its own person is third in order after ent1's two */
    person("v2", v202, "村级", 3, 0, NULL);
    person("e1a", v202, "企业", 2, e1, NULL);
    int64_t e1b = person("e1b", v202, "企业", 1, e1, NULL);
    person("e2a", v202, "企业", 1, e2, NULL);
    person("t1a", "140525100", "乡级", 2, 0, NULL);
    person("t1b", "140525100", "乡级", 1, 0, NULL);
    person("ca", "140525", "县级", 1, 0, NULL);
    person("cb", "140525", "县级", 2, 0, NULL);
    person("ci", "1405", "市级", 1, 0, NULL);
    person("gp", "140581", "县级", 1, 0, NULL);
    person("v3", "140525101201", "村级", 1, 0, NULL); /* 巴公镇 itself has nobody */

    /* U_POLY reaches r1 (village 201) and ent1 (registered in village 202):
     * the first in call order of 201, 202, 南村镇, 泽州县 and 晋城市, and
     * ent1's first; not ent2 (outside), 高平, 巴公村 */
    target_set t = resolve("1405", "{\"polygons\":[" U_POLY "]}");
    assert_string_equal(res_of(&t), "r1");
    assert_string_equal(ent_of(&t), "ent1");
    assert_string_equal(resp_of(&t), "ca ci e1b t1b v1a v2");
    for (size_t i = 0; i < t.nresp; i++) {
        const char *l = label_of('p', t.resp[i]->id);
        int want = strcmp(l, "ca") == 0    ? 3
                   : strcmp(l, "ci") == 0  ? 4
                   : strcmp(l, "e1b") == 0 ? 5
                   : strcmp(l, "t1b") == 0 ? 2
                                           : 1;
        assert_int_equal(t.resp[i]->level, want);
        if (want == 5)
            assert_int_equal(t.resp[i]->enterprise_id, e1);
    }
    target_set_free(&t);
    /* scope 泽州县: the city's person is outside it */
    t = resolve("140525", "{\"polygons\":[" U_POLY "]}");
    assert_string_equal(resp_of(&t), "ca e1b t1b v1a v2");
    target_set_free(&t);
    /* a village with nobody living there, named by code: the levels above
     * it that have people (巴公镇 has none) */
    t = resolve("1405", "{\"regions\":[\"140525101202\"]}");
    assert_int_equal(t.nres, 0);
    assert_string_equal(resp_of(&t), "ca ci");
    target_set_free(&t);
    /* an area reaching nothing and naming no region: nobody */
    t = resolve("1405", "{\"circles\":[[30,110,1]]}");
    assert_int_equal(t.nresp, 0);
    target_set_free(&t);

    /* the call-up chain on the bare snapshot, as deliver.c uses it */
    yj_err err;
    target_set s;
    yj_conn *c = yj_store_acquire(DB->store);
    assert_int_equal(target_people(c, &s, &err), YJ_OK);
    yj_store_release(DB->store, c);
    assert_int_equal(s.nres + s.nresp, 0);
    bool up = true;
    const tgt_person *p = target_person_of(&s, v201);
    assert_string_equal(who(p), "v1a"); /* order 1 on duty, though created last */
    /* same village in call order (ties by id), then one level up at a
     * time, each level from its first, to the end of the scope */
    static const struct {
        const char *next;
        bool up;
    } chain[] = {{"v1b", false}, {"v1c", false}, {"t1b", true}, {"t1a", false},
                 {"ca", true},   {"cb", false},  {"ci", true}};
    for (size_t i = 0; i < N_OF(chain); i++) {
        p = target_next_person(&s, p, "1405", &up);
        assert_string_equal(who(p), chain[i].next);
        assert_int_equal(up, chain[i].up);
    }
    assert_null(target_next_person(&s, p, "1405", &up)); /* 14 is above the scope */
    assert_false(up);
    assert_null(target_next_person(&s, p, "14", &up)); /* and has nobody */
    /* the scope ends the chain earlier */
    p = target_next_person(&s, target_person_of(&s, "140525"), "140525", &up);
    assert_string_equal(who(p), "cb");
    assert_null(target_next_person(&s, p, "140525", &up));
    /* 巴公村's only person: 巴公镇 has nobody, so the county */
    p = target_next_person(&s, target_person_of(&s, "140525101201"), "1405", &up);
    assert_string_equal(who(p), "ca");
    assert_true(up);
    /* village 202: its person (not the enterprise's, though first in order) */
    p = target_person_of(&s, v202);
    assert_string_equal(who(p), "v2");
    assert_string_equal(who(target_next_person(&s, p, "1405", &up)), "t1b");
    assert_true(up);
    /* an enterprise's people: its own next, then the region above the
     * person's region (the township: village 202's v2 is skipped) */
    p = target_person_by_id(&s, e1b);
    assert_string_equal(who(p), "e1b");
    p = target_next_person(&s, p, "1405", &up);
    assert_string_equal(who(p), "e1a");
    assert_false(up);
    p = target_next_person(&s, p, "1405", &up);
    assert_string_equal(who(p), "t1b");
    assert_true(up);
    /* 高平: its county, then the city */
    p = target_next_person(&s, target_person_of(&s, "140581"), "1405", &up);
    assert_string_equal(who(p), "ci");
    assert_null(target_next_person(&s, target_person_of(&s, "140581"), "140581", &up));

    /* person_above: the region's own first, else the nearest above with
     * somebody, within the scope */
    assert_string_equal(who(target_person_above(&s, v201, "1405")), "v1a");
    assert_string_equal(who(target_person_above(&s, v202, "1405")), "v2");
    assert_string_equal(who(target_person_above(&s, "140525100203", "1405")), "t1b");
    assert_string_equal(who(target_person_above(&s, "140525101201", "1405")), "v3");
    assert_string_equal(who(target_person_above(&s, "140525101202", "1405")), "ca");
    assert_string_equal(who(target_person_above(&s, "140525", "140525")), "ca");
    assert_string_equal(who(target_person_above(&s, "140502001001", "1405")), "ci");
    assert_string_equal(who(target_person_above(&s, "140502001001", "140502")), "NULL");
    assert_string_equal(who(target_person_above(&s, "140581", "1405")), "gp");
    /* person_of is exact and never an enterprise's person */
    assert_string_equal(who(target_person_of(&s, "140525100")), "t1b");
    assert_string_equal(who(target_person_of(&s, "140525101")), "NULL");
    assert_string_equal(who(target_person_of(&s, "140525100203")), "NULL");
    /* by id: the off-duty one is not in the snapshot */
    assert_null(target_person_by_id(&s, v1x));
    assert_null(target_person_by_id(&s, 999999));
    target_set_free(&s);
}

/* ---- grid workers: every one on duty in a covered region ------------------------------------ */

static void test_informants(void **state)
{
    (void)state;
    const char *v201 = "140525100201";
    resident("r1", v201, 35.50, 112.85, NULL, false, NULL);
    resident("r3", "140525101201", 35.60, 112.95, NULL, false, NULL);
    informant("g1", v201, "村级", NULL);
    informant("g2", v201, "村级", NULL); /* two in one village: both */
    informant("gx", v201, "村级", "离岗");
    informant("g3", "140525101201", "村级", NULL); /* 巴公村: not reached */
    informant("gt", "140525100", "乡级", NULL);
    informant("gc", "140525", "县级", NULL);
    informant("gg", "140581", "县级", NULL); /* 高平 */
    /* U_POLY reaches r1 in village 201: its grid workers on duty and those
     * of the township and county above it */
    target_set t = resolve("1405", "{\"polygons\":[" U_POLY "]}");
    assert_string_equal(res_of(&t), "r1");
    assert_string_equal(inf_of(&t), "g1 g2 gc gt");
    target_set_free(&t);
    /* by code: 巴公村 and its levels; scope 泽州县 keeps 高平's out */
    t = resolve("140525", "{\"regions\":[\"140525101201\", \"140581\"]}");
    assert_string_equal(inf_of(&t), "g3 gc");
    target_set_free(&t);
    /* a new grid worker is seen at once (the informant registry is part
     * of the snapshot's generation) */
    informant("g4", v201, "村级", NULL);
    t = resolve("1405", "{\"polygons\":[" U_POLY "]}");
    assert_string_equal(inf_of(&t), "g1 g2 g4 gc gt");
    target_set_free(&t);
}

/* ---- the snapshot follows the registries --------------------------------------------------------
 */

static void test_invalidation(void **state)
{
    (void)state;
    const char *poly = "{\"polygons\":[" U_POLY "]}";
    resident("a", "140525100201", 35.50, 112.85, NULL, false, NULL);
    target_set old = resolve("1405", poly);
    assert_string_equal(res_of(&old), "a");

    /* a registry write bumps the table's generation: seen at once */
    int64_t b = resident("b", "140525100201", 35.505, 112.855, "老", true, NULL);
    target_set t = resolve("1405", poly);
    assert_string_equal(res_of(&t), "a b");
    assert_int_equal(t.ncontacts, 1);
    target_set_free(&t);
    /* the older set still holds its own snapshot (ASan would see a free) */
    assert_int_equal(old.nres, 1);
    assert_string_equal(label_of('r', old.res[0]->id), "a");
    assert_true(old.res[0]->phone[0] != '\0');
    target_set_free(&old);

    /* moved out of the polygon, then moved away: gone */
    yj_err err;
    json_t *out = NULL, *in = fx_json("{\"lat\":35.6,\"lon\":112.95}");
    assert_int_equal(
        registry_update(DB->store, &ADMIN, registry_find("resident"), b, 1, in, &out, &err), YJ_OK);
    json_decref(in);
    json_decref(out);
    assert_string_equal(reached("1405", poly), "a");
    assert_string_equal(reached("1405", "{\"regions\":[\"140525100201\"]}"), "a b");
    in = fx_json("{\"status\":\"迁出\"}");
    assert_int_equal(
        registry_update(DB->store, &ADMIN, registry_find("resident"), b, 2, in, &out, &err), YJ_OK);
    json_decref(in);
    json_decref(out);
    assert_string_equal(reached("1405", "{\"regions\":[\"140525100201\"]}"), "a");

    /* A write behind the registry's back bumps nothing: the snapshot is
     * kept until target_invalidate().  (A resolve with nothing changed first
     * consumes the invalidation from setup, which a reload forced by a
     * generation change leaves pending.) */
    assert_string_equal(reached("1405", poly), "a");
    fx_exec(DB->store, "INSERT INTO resident(region_code, lat, lon, created_at, updated_at, code,"
                       " name, status) VALUES ('140525100201', 35.501, 112.851, '2025-01-01',"
                       " '2025-01-01', 'RAW1', '直写', '在册')");
    rows[nrows].kind = 'r';
    rows[nrows].id = fx_count(DB->store, "SELECT id FROM resident WHERE code = 'RAW1'");
    rows[nrows++].label = "raw";
    assert_string_equal(reached("1405", poly), "a");
    target_invalidate();
    assert_string_equal(reached("1405", poly), "a raw");
}

/* ---- bad areas
 * ----------------------------------------------------------------------------------- */

static void test_bad_areas(void **state)
{
    (void)state;
    resident("a", "140525100201", 35.50, 112.85, NULL, false, NULL);
    yj_user duty = {.id = 2, .username = "duty", .role = YJ_ROLE_DUTY, .region = "140525"};
    /* the composer's checks (area_check in warning.c) refuse each of these
     * with YJ_EINVAL on the field "area", before anything is resolved */
    static const char *const bad[] = {
        "[]",                                                        /* not an object */
        "{}",                                                        /* empty */
        "{\"regions\":[],\"polygons\":[],\"circles\":[]}",           /* empty */
        "{\"regions\":\"140525\"}",                                  /* not an array */
        "{\"regions\":[140525]}",                                    /* not a string */
        "{\"regions\":[\"140599\"]}",                                /* no such region */
        "{\"regions\":[\"140581\"]}",                                /* outside the user's county */
        "{\"regions\":[\"14\"]}",                                    /* above it */
        "{\"polygons\":[[[35.5,112.8],[35.6,112.9]]]}",              /* 2 points */
        "{\"polygons\":[[[35.5,112.8],[35.6,112.9],[35.5,112.8]]]}", /* 2 distinct */
        "{\"polygons\":[[[91,112.8],[35.6,112.9],[35.5,112.9]]]}",   /* lat > 90 */
        "{\"polygons\":[[[35.5,-181],[35.6,112.9],[35.5,112.9]]]}",  /* lon < -180 */
        "{\"polygons\":[[[35.5,112.8],[35.6,112.9],[35.5]]]}",       /* a point of one number */
        "{\"polygons\":[[[35.5,112.8],[35.6,112.9],[\"a\",\"b\"]]]}", /* not numbers */
        "{\"polygons\":[[1,2,3,4]]}",                                 /* points not pairs */
        "{\"polygons\":[5]}",                                         /* not a ring */
        "{\"circles\":[[35.5,112.85,-1]]}",                           /* negative radius */
        "{\"circles\":[[35.5,112.85,0]]}",                            /* zero radius */
        "{\"circles\":[[35.5,112.85,501]]}",                          /* over 500 km */
        "{\"circles\":[[35.5,112.85]]}",                              /* no radius */
        "{\"circles\":[[-91,112.85,1]]}",                             /* lat < -90 */
        "{\"circles\":[[35.5,181,1]]}",                               /* lon > 180 */
    };
    for (size_t i = 0; i < N_OF(bad); i++) {
        json_t *area = fx_json(bad[i]), *out = NULL;
        yj_err err;
        yj_err_clear(&err);
        yj_code rc = warning_preview_targets(DB->store, &duty, area, &out, &err);
        if (rc != YJ_EINVAL || strcmp(err.field, "area") != 0)
            fail_msg("%s -> %s (%s: %s), want EINVAL on area", bad[i], yj_code_name(rc), err.field,
                     err.message);
        assert_null(out);
        json_decref(area);
    }
    /* good ones: an open triangle is closed by the check */
    static const struct {
        const char *area;
        int residents;
    } good[] = {
        {"{\"polygons\":[[[35.49,112.84],[35.51,112.84],[35.50,112.86]]]}", 1},
        {"{\"regions\":[\"140525\"]}", 1},
        {"{\"circles\":[[35.5,112.85,500]]}", 1},
        {"{\"circles\":[[35.6,112.85,1]]}", 0},
    };
    for (size_t i = 0; i < N_OF(good); i++) {
        json_t *area = fx_json(good[i].area), *out = NULL;
        yj_err err;
        if (warning_preview_targets(DB->store, &duty, area, &out, &err) != YJ_OK)
            fail_msg("%s: %s", good[i].area, err.message);
        assert_int_equal(json_integer_value(json_object_get(out, "residents")), good[i].residents);
        json_decref(out);
        json_decref(area);
    }

    /* target_resolve itself trusts a checked area: given a bad one it
     * neither crashes (ASan/UBSan) nor reaches anybody */
    static const char *const raw[] = {
        "[1,2]",
        "{}",
        "{\"regions\":[5,null,{}],\"polygons\":\"x\",\"circles\":7}",
        "{\"polygons\":[[[35.5,112.85]]]}",
        "{\"polygons\":[[1,2,3,4]]}",
        "{\"polygons\":[[[\"a\"],[],{},null]]}",
        "{\"circles\":[[35.5,112.85,-1]]}",
        "{\"circles\":[[35.6,112.85,\"1\"]]}", /* radius 0: only a point at the centre */
        "{\"circles\":[[]]}",
    };
    for (size_t i = 0; i < N_OF(raw); i++) {
        target_set t = resolve("140525", raw[i]);
        if (t.nres + t.nterm + t.nent + t.nresp != 0)
            fail_msg("%s reached %zu residents", raw[i], t.nres);
        target_set_free(&t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_square),
        cmocka_unit_test(test_ring_triangle_vertex_ray),
        cmocka_unit_test(test_ring_concave),
        cmocka_unit_test(test_ring_keyhole),
        cmocka_unit_test(test_ring_degenerate),
        cmocka_unit_test(test_ring_decimal),
        cmocka_unit_test_setup_teardown(test_polygon_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_region_hole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_union_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_circle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_responsible, setup, teardown),
        cmocka_unit_test_setup_teardown(test_informants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalidation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_areas, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
