/*
 * fuzz_area.c — libFuzzer target for warning areas: the area checker
 * behind POST /api/v1/warnings/preview (and every draft) and the targeting
 * that resolves an area to the residents inside it (warning/target.c: the
 * grid, the cells decided by their centre, the edges per grid column).
 *
 * Byte 0 picks the form of the rest:
 *   even  the rest is JSON text, as a client would send the area: it is
 *         parsed and previewed; a refusal must say why, an acceptance must
 *         give counts;
 *   odd   the rest is geometry in bytes, made into an area the harness
 *         knows the answer for: records of a tag byte (mod 3) then
 *           0  polygon: a byte n (3 + n % 10 points), then n (lat, lon) byte
 *              pairs on a 0.002° lattice over a 0.5° box round the residents
 *           1  circle: lat, lon bytes as above, a radius byte (byte / 25 km,
 *              so 0 is refused)
 *           2  region: a byte picking one of REGIONS (some outside the
 *              caller's scope, one unknown)
 *         The area is previewed; when it is accepted it is resolved and
 *         every resident's verdict is compared with a brute-force answer
 *         (even-odd ray test over all edges, great-circle distance, region
 *         prefix, the caller's scope).  Residents within 1e-9° of an edge
 *         or 1e-6 km of a rim are not compared: on the line the product's
 *         rule (on an edge is inside) is held by the unit tests, not here.
 *
 * The world: 1,600 residents created once through registry_create in a
 * private SQLite file — three in four at random points of a 0.2° box
 * (20 x 20 grid cells), one in five on the lattice, the rest without a
 * point; spread over villages of 晋城市 and one of 朔州市 (outside the
 * caller's scope 1405).
 */
#include "auth/auth.h"
#include "base/module.h"
#include "core/err.h"
#include "registry/registry.h"
#include "store/store.h"
#include "warning/target.h"
#include "warning/warning.h"
#include "fuzz_db.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NRES   1600
#define LAT0   35.30 /* the lattice box: 0.5° from (LAT0, LON0) */
#define LON0   112.70
#define STEP   (0.5 / 255)
#define MAXREC 12

static const yj_user user = {
    .id = 1, .username = "admin", .name = "平台管理员", .role = YJ_ROLE_ADMIN, .region = "1405"};

static const char *const VILLAGES[] = {"140525100201", "140525100202", "140525101201",
                                       "140502001001", "140602001001"};
static const char *const REGIONS[] = {"1405",         "140525",    "140525100", "140525100201",
                                      "140525101201", "140502",    "140581",    "1406",
                                      "140602001001", "140525999", "14"};

static struct {
    int64_t id;
    double lat, lon; /* NAN: no point */
    const char *region;
} res[NRES];

static uint64_t rng = 20261205;
static double uniform(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng >> 11) / 9007199254740992.0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_open("fuzz-area");
    yj_err err = {0};
    fz_exec("INSERT INTO region (code, name, parent, level) VALUES"
            " ('14', '山西省', NULL, 1), ('1405', '晋城市', '14', 2),"
            " ('140502', '城区', '1405', 3), ('140525', '泽州县', '1405', 3),"
            " ('140581', '高平市', '1405', 3),"
            " ('140502001', '东街街道', '140502', 4),"
            " ('140502001001', '东街社区', '140502001', 5),"
            " ('140525100', '南村镇', '140525', 4), ('140525101', '巴公镇', '140525', 4),"
            " ('140525100201', '南村', '140525100', 5),"
            " ('140525100202', '北村', '140525100', 5),"
            " ('140525101201', '巴公村', '140525101', 5),"
            " ('1406', '朔州市', '14', 2), ('140602', '朔城区', '1406', 3),"
            " ('140602001', '北城街道', '140602', 4),"
            " ('140602001001', '北城社区', '140602001', 5)");
    const yj_user admin = {.id = 1, .username = "admin", .role = YJ_ROLE_ADMIN, .region = "14"};
    for (size_t i = 0; i < NRES; i++) {
        double u = uniform();
        res[i].region = VILLAGES[(size_t)(uniform() * 5) % 5];
        if (u < 0.75) {
            res[i].lat = 35.40 + 0.2 * uniform();
            res[i].lon = 112.80 + 0.2 * uniform();
        } else if (u < 0.95) {
            res[i].lat = LAT0 + STEP * (int)(uniform() * 256);
            res[i].lon = LON0 + STEP * (int)(uniform() * 256);
        } else {
            res[i].lat = res[i].lon = NAN;
        }
        char code[16];
        snprintf(code, sizeof code, "R%zu", i);
        json_t *rec =
            json_pack("{s:s,s:s,s:s}", "code", code, "name", "居民", "region_code", res[i].region);
        if (!isnan(res[i].lat)) {
            json_object_set_new(rec, "lat", json_real(res[i].lat));
            json_object_set_new(rec, "lon", json_real(res[i].lon));
        }
        json_t *out = NULL;
        if (registry_create(store, &admin, registry_find("resident"), rec, &out, &err) != YJ_OK)
            fz_die("resident", &err);
        res[i].id = json_integer_value(json_object_get(out, "id"));
        if (i > 0 && res[i].id <= res[i - 1].id)
            fz_die("resident ids do not grow", NULL);
        json_decref(out);
        json_decref(rec);
    }
    return 0;
}

/* ---- the brute-force answer ---------------------------------------------------------- */

typedef struct {
    double pt[MAXREC + 1][2];
    size_t n; /* closed: pt[n-1] == pt[0] */
} ring;

static double seg_dist(double y, double x, const double a[2], const double b[2])
{
    double dy = b[0] - a[0], dx = b[1] - a[1], l2 = dy * dy + dx * dx;
    double t = l2 > 0 ? ((y - a[0]) * dy + (x - a[1]) * dx) / l2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double ey = a[0] + t * dy - y, ex = a[1] + t * dx - x;
    return sqrt(ey * ey + ex * ex);
}

/* 1 inside, 0 outside, -1 too near an edge to say */
static int ref_in_ring(double y, double x, const ring *r)
{
    bool in = false;
    for (size_t i = 0; i + 1 < r->n; i++) {
        const double *a = r->pt[i], *b = r->pt[i + 1];
        if (seg_dist(y, x, a, b) < 1e-9)
            return -1;
        if ((a[1] > x) != (b[1] > x) && y < a[0] + (b[0] - a[0]) * (x - a[1]) / (b[1] - a[1]))
            in = !in;
    }
    return in;
}

static double ref_km(double lat1, double lon1, double lat2, double lon2)
{
    const double d = M_PI / 180;
    double h = pow(sin((lat2 - lat1) * d / 2), 2) +
               cos(lat1 * d) * cos(lat2 * d) * pow(sin((lon2 - lon1) * d / 2), 2);
    return 2 * 6371.0088 * asin(fmin(1, sqrt(h)));
}

/* ---- inputs ---------------------------------------------------------------------------- */

static void check_preview(const json_t *area, bool *accepted, int64_t *count)
{
    json_t *out = NULL;
    yj_err err = {0};
    yj_code rc = warning_preview_targets(store, &user, area, &out, &err);
    *accepted = rc == YJ_OK;
    if (rc != YJ_OK) {
        if (out != NULL || err.code != rc || err.message[0] == '\0')
            abort(); /* a refusal says why and gives nothing */
        return;
    }
    json_t *n = json_object_get(out, "residents");
    if (!json_is_integer(n) || json_integer_value(n) < 0 || json_integer_value(n) > NRES)
        abort();
    *count = json_integer_value(n);
    json_decref(out);
}

static void geometry(const uint8_t *d, size_t size)
{
    ring rings[MAXREC];
    double circ[MAXREC][3];
    const char *regs[MAXREC];
    size_t nr = 0, nc = 0, ng = 0, at = 0;
    json_t *area = json_pack("{s:[],s:[],s:[]}", "regions", "polygons", "circles");
    json_t *jp = json_object_get(area, "polygons"), *jc = json_object_get(area, "circles"),
           *jr = json_object_get(area, "regions");
    while (at < size && nr + nc + ng < MAXREC) {
        int tag = d[at++] % 3;
        if (tag == 0 && at < size) {
            size_t n = 3 + d[at++] % 10;
            if (at + 2 * n > size)
                break;
            ring *r = &rings[nr++];
            json_t *jring = json_array();
            for (size_t k = 0; k <= n; k++) {
                size_t q = k < n ? k : 0; /* closed */
                r->pt[k][0] = LAT0 + STEP * d[at + 2 * q];
                r->pt[k][1] = LON0 + STEP * d[at + 2 * q + 1];
                json_array_append_new(jring, json_pack("[f,f]", r->pt[k][0], r->pt[k][1]));
            }
            r->n = n + 1;
            at += 2 * n;
            json_array_append_new(jp, jring);
        } else if (tag == 1 && at + 3 <= size) {
            circ[nc][0] = LAT0 + STEP * d[at];
            circ[nc][1] = LON0 + STEP * d[at + 1];
            circ[nc][2] = d[at + 2] / 25.0;
            json_array_append_new(jc, json_pack("[f,f,f]", circ[nc][0], circ[nc][1], circ[nc][2]));
            nc++;
            at += 3;
        } else if (tag == 2 && at < size) {
            regs[ng] = REGIONS[d[at++] % (sizeof REGIONS / sizeof REGIONS[0])];
            json_array_append_new(jr, json_string(regs[ng++]));
        } else {
            break;
        }
    }
    bool ok = false;
    int64_t count = -1;
    check_preview(area, &ok, &count);
    if (!ok) {
        json_decref(area);
        return;
    }
    target_set t;
    yj_err err = {0};
    yj_conn *tc = yj_store_acquire(store);
    yj_code trc = target_resolve(tc, user.region, area, &t, &err);
    yj_store_release(store, tc);
    if (trc != YJ_OK)
        abort(); /* the preview accepted it */
    json_decref(area);
    if ((int64_t)t.nres != count)
        abort(); /* the preview counted something else */
    static uint8_t got[NRES];
    memset(got, 0, sizeof got);
    for (size_t i = 0; i < t.nres; i++) {
        size_t lo = 0, hi = NRES; /* ids grow in creation order */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (res[mid].id < t.res[i]->id)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t k = lo;
        if (k == NRES || res[k].id != t.res[i]->id || got[k])
            abort(); /* unknown, or reached twice */
        got[k] = 1;
    }
    target_set_free(&t);
    for (size_t k = 0; k < NRES; k++) {
        int want = 0; /* 1 in, 0 out, -1 cannot say */
        if (strncmp(res[k].region, user.region, strlen(user.region)) != 0) {
            if (got[k])
                abort(); /* outside the caller's scope */
            continue;
        }
        for (size_t g = 0; g < ng && want != 1; g++)
            if (strncmp(res[k].region, regs[g], strlen(regs[g])) == 0)
                want = 1;
        bool located = !isnan(res[k].lat);
        for (size_t r = 0; r < nr && want != 1 && located; r++) {
            int v = ref_in_ring(res[k].lat, res[k].lon, &rings[r]);
            if (v != 0)
                want = v;
        }
        for (size_t c = 0; c < nc && want != 1 && located; c++) {
            double dd = ref_km(circ[c][0], circ[c][1], res[k].lat, res[k].lon) - circ[c][2];
            if (dd < -1e-6)
                want = 1;
            else if (dd <= 1e-6)
                want = -1;
        }
        if (want >= 0 && got[k] != want) {
            fprintf(stderr, "resident %zu (%.12f, %.12f, %s): reached %d, expected %d\n", k,
                    res[k].lat, res[k].lon, res[k].region, got[k], want);
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1) {
        geometry(data + 1, size - 1);
        return 0;
    }
    json_error_t jerr;
    json_t *area = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, &jerr);
    if (area == NULL)
        return 0; /* the HTTP layer refuses what is not JSON (fuzz_json_body) */
    bool ok = false;
    int64_t count = -1;
    check_preview(area, &ok, &count);
    json_decref(area);
    return 0;
}
