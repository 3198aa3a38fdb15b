/*
 * warning_bench.c — SPEC §6 benchmarks of M3 (issue 5): warning targeting
 * over 1,000,000 residents, and acknowledgements (叫应) per second.
 *
 * The database.  A temp SQLite file gets the demo city 晋城市 (demo_create:
 * regions, county outlines, responsible people, loudspeakers, enterprises
 * and the demo's own ~21,000 residents), then generated residents
 * up to --residents in all: real `resident` registry rows (every column the
 * registry declares but the household), inserted village by village in one
 * transaction with the table's generation bumped, as a bulk import would,
 * so the targeting snapshot reloads.  They are spread over the city's
 * 1,729 villages (each weighted 0.5–1.5, so a county's share follows its
 * village count), scattered (σ ≈ 450 m) round a village point drawn inside
 * the village's county outline; 12 % are vulnerable (老幼病残孕), 95 % of
 * those with a contact (包保联系人); 85 % have a phone; 10 % are away
 * (外出) and 1 % moved out (迁出, never targeted).  Coordinates are
 * float-representable (a GPS fix's precision), so the points are the same
 * whether a consumer keeps them as float or double.
 *
 * Targeting.  A level-2 (orange) warning whose area is one polygon: the
 * real outline of 高平市 (461 points), about a fifth of the residents.  It
 * goes through the real workflow (create, submit, approve by the
 * commander) and only `publish` is timed: the CAP message,
 * target_resolve (snapshot, grid, point in polygon), deliver_create (a
 * delivery per resident, per vulnerable person's contact, per responsible
 * person, terminal and enterprise), the audit entry and COMMIT — what the
 * ≤ 1 s target is about.  The first publish after the bulk insert also
 * loads the snapshot (cold).  Timed apart: the snapshot load,
 * target_resolve alone, deliver_create alone in a transaction rolled back
 * (no commit), and the store's floor for the same rows (a plain prepared
 * INSERT of the resident and contact deliveries, rolled back); then
 * --repeat publishes of the same area (warm; median and best).
 *
 * Peers, in the same run over the same points: a plain full scan in C
 * (every resident, bounding box, then a crossing-number point-in-polygon
 * test written here, independently of target.c), and with --pg SCRIPT,
 * PostGIS (bench/pg_peer.sh: its own PostgreSQL in a temp dir; the points
 * COPYed in, a GiST index, ST_Within count, and INSERT ... SELECT of the
 * resident and contact deliveries into a table shaped like ours).  The
 * residents the product resolved must be exactly those the full scan
 * finds (ids compared) and as many as PostGIS finds; any difference fails
 * the run (exit 1).  The figures never do.
 *
 * Acknowledgements.  A city-wide warning (area: region 1405) is published;
 * its fresh must-answer deliveries (contacts, responsible people,
 * enterprises), shuffled, are acknowledged: --ack-single of them one by
 * one through the answer link (callup_ack_token, a transaction each), the
 * rest, split evenly among the --ack-batch sizes, through
 * callup_ack_batch in batches of that size (the gateway callback path).
 * Peer: a plain UPDATE by id of the same kind of rows in transactions of
 * the same size.  The two take turns, transaction by transaction, over
 * each set (so each answers half of it, and both see the same machine at
 * the same moment; this VM's disk is shared and its speed wanders).
 * Afterwards every row must be answered once: the product's by the
 * product (its own `via`), the others by the peer.
 *
 *   warning_bench [--residents N] [--repeat R] [--ack-batch B[,B...]] [--ack-single K]
 *                 [--pg SCRIPT] [--results FILE] [--ack-results FILE]
 *                 [--data DIR] [--seed S] [--db postgres://...]
 *   --db: the same on an empty PostgreSQL database instead of a temp SQLite
 *   file (the product's second store; publish then writes the deliveries
 *   with COPY)
 *   for work on the code: --only target|ack (one of the two), --template
 *   PATH (keep the generated database there, and copy it instead of
 *   generating when it exists: same --residents and --seed only)
 */
#include "../src/auth/auth.h"
#include "../src/core/util.h"
#include "../src/demo/demo.h"
#include "../src/registry/registry.h"
#include "../src/store/store.h"
#include "../src/warning/deliver.h"
#include "../src/warning/target.h"
#include "../src/warning/warning.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CITY         "1405"
#define POLYGON_OF   "140581" /* 高平市 */
#define PASSWORD     "Bench-Passw0rd!"
#define MAX_REPEAT   16
#define SINGLE_VIA   "link"
#define PEER_VIA     "peer"
#define BATCH_VIA    "sms"
#define COUNTY_LEN   6
#define VULNERABLE_P 0.12
#define CONTACT_P    0.95
#define PHONE_P      0.85
#define AWAY_P       0.10
#define MOVED_P      0.01
#define SPREAD_LAT   0.004 /* a village's residents: sigma in degrees (~450 m) */
#define SPREAD_LON   0.005

static void die(const char *what, const yj_err *err)
{
    fprintf(stderr, "warning_bench: %s: %s\n", what, err ? err->message : strerror(errno));
    exit(1);
}

#include "bench_util.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, size_t n)
{
    double t[MAX_REPEAT];
    memcpy(t, v, n * sizeof *t);
    qsort(t, n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static double min_of(const double *v, size_t n)
{
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        m = fmin(m, v[i]);
    return m;
}

static double load_average(void)
{
    double load1 = 0;
    FILE *la = fopen("/proc/loadavg", "r");
    if (la) {
        if (fscanf(la, "%lf", &load1) != 1)
            load1 = 0;
        fclose(la);
    }
    return load1;
}

/* A TSV file: the header when it is new, then one row. */
static FILE *open_results(const char *path, const char *header)
{
    FILE *f = fopen(path, "a+");
    if (f == NULL)
        die(path, NULL);
    fseek(f, 0, SEEK_END);
    if (ftell(f) == 0)
        fputs(header, f);
    return f;
}

static void utc_date(char *out, size_t n)
{
    time_t now = time(NULL);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
}

/* ---- random ----------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_gauss(uint64_t *s)
{
    double u = rng_unit(s), v = rng_unit(s);
    return sqrt(-2.0 * log(u > 1e-300 ? u : 1e-300)) * cos(2 * M_PI * v);
}

static const char *pick(uint64_t *s, const yj_demo_words *w)
{
    return w->items[rng_next(s) % w->n];
}

/* ---- store helpers ------------------------------------------------------------------ */

static int64_t query_int(yj_store *s, const char *sql, int64_t bind)
{
    yj_err err;
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_prepare(c, sql, &err);
    if (st == NULL)
        die(sql, &err);
    yj_bind_int(st, 1, bind);
    int r = yj_step(st, &err);
    if (r < 0)
        die(sql, &err);
    int64_t v = r == 1 ? yj_col_int(st, 0) : 0;
    yj_stmt_done(st);
    yj_store_release(s, c);
    return v;
}

/* ---- county outlines ------------------------------------------------------------------ */

typedef struct {
    double (*pt)[2]; /* lat, lon; closed */
    size_t n;
} ring;

typedef struct {
    char code[8];
    ring *rings;
    size_t nrings;
    double mnlat, mxlat, mnlon, mxlon;
} county;

/* Crossing number along +lon (the peer's own test; target.c has another). */
static bool ring_contains(const ring *r, double lat, double lon)
{
    bool in = false;
    for (size_t i = 0, j = r->n - 1; i < r->n; j = i++) {
        double ai = r->pt[i][0], aj = r->pt[j][0];
        if ((ai > lat) == (aj > lat))
            continue;
        double x = r->pt[i][1] + (lat - ai) * (r->pt[j][1] - r->pt[i][1]) / (aj - ai);
        if (lon < x)
            in = !in;
    }
    return in;
}

static bool county_contains(const county *c, double lat, double lon)
{
    if (lat < c->mnlat || lat > c->mxlat || lon < c->mnlon || lon > c->mxlon)
        return false;
    for (size_t i = 0; i < c->nrings; i++)
        if (ring_contains(&c->rings[i], lat, lon))
            return true;
    return false;
}

static void add_ring(county *c, const json_t *coords)
{
    ring r = {malloc(json_array_size(coords) * sizeof *r.pt), 0};
    if (r.pt == NULL)
        die("out of memory", NULL);
    size_t i;
    json_t *p;
    json_array_foreach(coords, i, p) {
        r.pt[r.n][0] = json_number_value(json_array_get(p, 1));
        r.pt[r.n][1] = json_number_value(json_array_get(p, 0));
        c->mnlat = fmin(c->mnlat, r.pt[r.n][0]);
        c->mxlat = fmax(c->mxlat, r.pt[r.n][0]);
        c->mnlon = fmin(c->mnlon, r.pt[r.n][1]);
        c->mxlon = fmax(c->mxlon, r.pt[r.n][1]);
        r.n++;
    }
    ring *nr = realloc(c->rings, (c->nrings + 1) * sizeof *nr);
    if (nr == NULL)
        die("out of memory", NULL);
    c->rings = nr;
    c->rings[c->nrings++] = r;
}

/* The outer rings of the city's county outlines (region_boundary, GeoJSON). */
static county *load_counties(yj_store *s, size_t *n)
{
    yj_err err;
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_prepare(c,
                             "SELECT code, geojson FROM region_boundary WHERE code >= ? AND"
                             " code < ? ORDER BY code",
                             &err);
    if (st == NULL)
        die("prepare region_boundary", &err);
    yj_bind_text(st, 1, CITY);
    yj_bind_text(st, 2, CITY "~");
    county *cs = NULL;
    *n = 0;
    int r;
    while ((r = yj_step(st, &err)) == 1) {
        json_error_t je;
        json_t *g = json_loads(yj_col_text(st, 1), 0, &je);
        if (g == NULL)
            die("county outline is not JSON", NULL);
        json_t *geom = json_object_get(g, "geometry") ? json_object_get(g, "geometry") : g;
        const char *type = json_string_value(json_object_get(geom, "type"));
        json_t *coords = json_object_get(geom, "coordinates");
        county *nc = realloc(cs, (*n + 1) * sizeof *nc);
        if (nc == NULL)
            die("out of memory", NULL);
        cs = nc;
        county *k = &cs[(*n)++];
        memset(k, 0, sizeof *k);
        snprintf(k->code, sizeof k->code, "%s", yj_col_text(st, 0));
        k->mnlat = k->mnlon = 1e9;
        k->mxlat = k->mxlon = -1e9;
        size_t i;
        json_t *poly;
        if (type && strcmp(type, "Polygon") == 0)
            add_ring(k, json_array_get(coords, 0));
        else if (type && strcmp(type, "MultiPolygon") == 0)
            json_array_foreach(coords, i, poly)
                add_ring(k, json_array_get(poly, 0));
        json_decref(g);
        if (k->nrings == 0)
            die("county outline without a polygon", NULL);
    }
    yj_stmt_done(st);
    if (r < 0)
        die("read region_boundary", &err);
    yj_store_release(s, c);
    return cs;
}

static const county *county_of(const county *cs, size_t n, const char *code)
{
    for (size_t i = 0; i < n; i++)
        if (strncmp(cs[i].code, code, COUNTY_LEN) == 0)
            return &cs[i];
    return NULL;
}

/* A point inside the county and no other (城区 lies inside 泽州县's outline). */
static void point_in_county(uint64_t *rng, const county *cs, size_t n, const county *k, double *lat,
                            double *lon)
{
    for (int tries = 0; tries < 100000; tries++) {
        double a = k->mnlat + rng_unit(rng) * (k->mxlat - k->mnlat);
        double o = k->mnlon + rng_unit(rng) * (k->mxlon - k->mnlon);
        if (!county_contains(k, a, o))
            continue;
        bool other = false;
        for (size_t i = 0; i < n && !other; i++)
            other = &cs[i] != k && county_contains(&cs[i], a, o);
        if (!other) {
            *lat = a;
            *lon = o;
            return;
        }
    }
    die("cannot place a point inside a county outline", NULL);
}

/* ---- the residents ------------------------------------------------------------------- */

/* Generate residents until the registry holds `total` (one transaction,
 * generation bumped).  Returns how many were generated. */
static size_t fill_residents(const char *path, size_t total, uint64_t seed)
{
    yj_store *s = open_store(path, 1);
    size_t ncounty = 0;
    county *cs = load_counties(s, &ncounty);
    yj_err err;
    yj_conn *c = yj_store_acquire(s);
    /* bench setup only: a large page cache and no fsync for the bulk fill;
     * the store is reopened with the product's settings to measure */
    if (!yj_store_url_is_pg(path))
        exec_sql(c, "PRAGMA cache_size=-262144; PRAGMA synchronous=OFF");
    int64_t existing = 0;
    if (yj_query_int(c, "SELECT COUNT(*) FROM resident", NULL, &existing, &err) != YJ_OK)
        die("count residents", &err);
    size_t want = total > (size_t)existing ? total - (size_t)existing : 0;

    /* the villages of the city */
    char(*villages)[16] = NULL;
    size_t nv = 0, cap = 0;
    yj_stmt *st = yj_prepare(c,
                             "SELECT code FROM region WHERE code >= ? AND code < ? AND"
                             " length(code) = 12 ORDER BY code",
                             &err);
    if (st == NULL)
        die("prepare villages", &err);
    yj_bind_text(st, 1, CITY);
    yj_bind_text(st, 2, CITY "~");
    int r;
    while ((r = yj_step(st, &err)) == 1) {
        if (nv == cap) {
            cap = cap ? cap * 2 : 1024;
            void *p = realloc(villages, cap * sizeof *villages);
            if (p == NULL)
                die("out of memory", NULL);
            villages = p;
        }
        snprintf(villages[nv++], sizeof villages[0], "%s", yj_col_text(st, 0));
    }
    yj_stmt_done(st);
    if (r < 0 || nv == 0)
        die("no villages of " CITY " in the region table", r < 0 ? &err : NULL);

    uint64_t rng = seed;
    double *weight = malloc(nv * sizeof *weight), wsum = 0;
    if (weight == NULL)
        die("out of memory", NULL);
    for (size_t v = 0; v < nv; v++)
        wsum += weight[v] = 0.5 + rng_unit(&rng);

    char now[32];
    yj_time_iso(yj_now_ms(), now, sizeof now);
    if (yj_tx_begin(c, &err) != YJ_OK)
        die("begin", &err);
    st = yj_prepare(c,
                    "INSERT INTO resident (region_code, lat, lon, version, created_at, updated_at,"
                    " updated_by, code, name, phone, household_id, vulnerable, contact_name,"
                    " contact_phone, status) VALUES (?, ?, ?, 1, ?, ?, 'bench', ?, ?, ?, NULL, ?,"
                    " ?, ?, ?)",
                    &err);
    if (st == NULL)
        die("prepare resident", &err);
    static const char *const kinds[] = {"老", "老", "老", "病", "残", "孕", "幼"};
    size_t made = 0;
    double wcum = 0;
    for (size_t v = 0; v < nv; v++) {
        /* this village's share, rounded so the shares add up to `want` */
        wcum += weight[v];
        size_t upto = v + 1 == nv ? want : (size_t)((double)want * (wcum / wsum));
        const county *k = county_of(cs, ncounty, villages[v]);
        if (k == NULL)
            die("a village outside the six counties", NULL);
        double alat, alon;
        point_in_county(&rng, cs, ncounty, k, &alat, &alon);
        for (size_t i = 0; made < upto; i++, made++) {
            char code[40], name[64], phone[16], cname[64], cphone[16];
            double lat = (float)(alat + SPREAD_LAT * rng_gauss(&rng));
            double lon = (float)(alon + SPREAD_LON * rng_gauss(&rng));
            snprintf(code, sizeof code, "B%s%05zu", villages[v], i + 1);
            snprintf(name, sizeof name, "%s%s%s", pick(&rng, &demo_surnames),
                     pick(&rng, &demo_given_chars),
                     rng_unit(&rng) < 0.6 ? pick(&rng, &demo_given_chars) : "");
            bool has_phone = rng_unit(&rng) < PHONE_P;
            snprintf(phone, sizeof phone, "1%c%09llu", "3456789"[rng_next(&rng) % 7],
                     (unsigned long long)(rng_next(&rng) % 1000000000ULL));
            bool vulnerable = rng_unit(&rng) < VULNERABLE_P;
            bool contact = vulnerable && rng_unit(&rng) < CONTACT_P;
            double u = rng_unit(&rng);
            const char *status = u < MOVED_P ? "迁出" : u < MOVED_P + AWAY_P ? "外出" : "在册";
            yj_stmt_reset(st);
            yj_bind_text(st, 1, villages[v]);
            yj_bind_real(st, 2, lat);
            yj_bind_real(st, 3, lon);
            yj_bind_text(st, 4, now);
            yj_bind_text(st, 5, now);
            yj_bind_text(st, 6, code);
            yj_bind_text(st, 7, name);
            yj_bind_text(st, 8, has_phone ? phone : NULL);
            yj_bind_text(st, 9, vulnerable ? kinds[rng_next(&rng) % 7] : NULL);
            if (contact) {
                snprintf(cname, sizeof cname, "%s%s%s", pick(&rng, &demo_surnames),
                         pick(&rng, &demo_given_chars), pick(&rng, &demo_given_chars));
                snprintf(cphone, sizeof cphone, "13%09llu",
                         (unsigned long long)(rng_next(&rng) % 1000000000ULL));
            }
            yj_bind_text(st, 10, contact ? cname : NULL);
            yj_bind_text(st, 11, contact ? cphone : NULL);
            yj_bind_text(st, 12, status);
            if (yj_step(st, &err) < 0)
                die("insert resident", &err);
        }
    }
    yj_stmt_done(st);
    /* what a registry write does: readers (the targeting snapshot) reload */
    if (yj_generation_bump(c, "resident", &err) != YJ_OK)
        die("generation bump", &err);
    if (yj_tx_commit(c, &err) != YJ_OK)
        die("commit residents", &err);
    exec_sql(c, yj_store_url_is_pg(path) ? "ANALYZE resident" : "PRAGMA wal_checkpoint(TRUNCATE)");
    yj_store_release(s, c);
    yj_store_close(s);
    for (size_t i = 0; i < ncounty; i++) {
        for (size_t k = 0; k < cs[i].nrings; k++)
            free(cs[i].rings[k].pt);
        free(cs[i].rings);
    }
    free(cs);
    free(villages);
    free(weight);
    return made;
}

/* Every resident as stored: the peers' input. */
typedef struct {
    int64_t *id;
    double *lat, *lon;
    bool *live; /* not moved out */
    size_t n, nlive;
} points;

static void read_points(yj_store *s, points *p, FILE *csv)
{
    yj_err err;
    int64_t n = query_int(s, "SELECT COUNT(*) FROM resident WHERE ? = 1", 1);
    p->id = malloc((size_t)n * sizeof *p->id);
    p->lat = malloc((size_t)n * sizeof *p->lat);
    p->lon = malloc((size_t)n * sizeof *p->lon);
    p->live = malloc((size_t)n * sizeof *p->live);
    if (!p->id || !p->lat || !p->lon || !p->live)
        die("out of memory", NULL);
    p->n = p->nlive = 0;
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_prepare(c,
                             "SELECT id, lat, lon, status, region_code, phone, vulnerable,"
                             " contact_phone FROM resident ORDER BY id",
                             &err);
    if (st == NULL)
        die("prepare points", &err);
    int r;
    while ((r = yj_step(st, &err)) == 1 && p->n < (size_t)n) {
        size_t i = p->n++;
        p->id[i] = yj_col_int(st, 0);
        p->lat[i] = yj_col_null(st, 1) ? NAN : yj_col_real(st, 1);
        p->lon[i] = yj_col_null(st, 2) ? NAN : yj_col_real(st, 2);
        p->live[i] = strcmp(yj_col_text(st, 3), "迁出") != 0;
        p->nlive += p->live[i];
        if (csv && isfinite(p->lat[i]) && isfinite(p->lon[i]))
            /* %.17g: the very doubles SQLite holds */
            fprintf(csv, "%lld,%s,%s,%s,%s,%s,SRID=4326;POINT(%.17g %.17g)\n", (long long)p->id[i],
                    yj_col_text(st, 4), yj_col_text(st, 3), yj_col_text(st, 5), yj_col_text(st, 6),
                    yj_col_text(st, 7), p->lon[i], p->lat[i]);
    }
    yj_stmt_done(st);
    if (r < 0)
        die("read points", &err);
    yj_store_release(s, c);
}

/* The plain full scan: every resident, the polygon's bounding box, then
 * point in polygon.  ids (ascending, as scanned) of those inside. */
static size_t full_scan(const points *p, const ring *poly, int64_t *ids)
{
    double mnlat = 1e9, mxlat = -1e9, mnlon = 1e9, mxlon = -1e9;
    for (size_t i = 0; i < poly->n; i++) {
        mnlat = fmin(mnlat, poly->pt[i][0]);
        mxlat = fmax(mxlat, poly->pt[i][0]);
        mnlon = fmin(mnlon, poly->pt[i][1]);
        mxlon = fmax(mxlon, poly->pt[i][1]);
    }
    size_t k = 0;
    for (size_t i = 0; i < p->n; i++) {
        double lat = p->lat[i], lon = p->lon[i];
        if (!p->live[i] || !(lat >= mnlat && lat <= mxlat && lon >= mnlon && lon <= mxlon))
            continue;
        if (ring_contains(poly, lat, lon))
            ids[k++] = p->id[i];
    }
    return k;
}

/* ---- warnings --------------------------------------------------------------------------- */

static yj_user user_of(const char *name, yj_role role)
{
    yj_user u = {.id = 0, .role = role};
    snprintf(u.username, sizeof u.username, "%s", name);
    snprintf(u.name, sizeof u.name, "%s", name);
    snprintf(u.region, sizeof u.region, CITY);
    return u;
}

/* The version of a record answered (and the answer released): what the
 * next step's If-Match is. */
static int64_t version_of(json_t *rec)
{
    int64_t v = json_integer_value(json_object_get(rec, "version"));
    json_decref(rec);
    return v;
}

static int64_t draft(yj_store *s, const yj_user *duty, const yj_user *commander, json_t *area,
                     const char *headline)
{
    json_t *in = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:O,s:I}", "event_type", "暴雨", "category",
                           "Met", "level", 2, "headline", headline, "description",
                           "预计未来6小时内将出现100毫米以上降雨，山洪、滑坡、泥石流等灾害风险高。",
                           "instruction", "请危险区域人员立即转移，村（社区）责任人逐户叫应。",
                           "area", area, "expires", (json_int_t)(yj_now_ms() + 6 * 3600 * 1000LL));
    json_t *out = NULL;
    yj_err err;
    if (warning_create(s, duty, in, &out, &err) != YJ_OK)
        die("warning_create", &err);
    json_decref(in);
    int64_t id = json_integer_value(json_object_get(out, "id"));
    json_t *none = json_object();
    if (warning_act(s, duty, id, "submit", version_of(out), none, &out, &err) != YJ_OK)
        die("submit", &err);
    if (warning_act(s, commander, id, "approve", version_of(out), none, &out, &err) != YJ_OK)
        die("approve", &err);
    json_decref(out);
    json_decref(none);
    return id;
}

/* Publish (timed): resolve, create the deliveries, commit. */
static double publish(yj_store *s, const yj_user *duty, int64_t id)
{
    json_t *none = json_object(), *out = NULL;
    yj_err err;
    if (warning_get(s, duty, id, &out, &err) != YJ_OK)
        die("warning_get", &err);
    int64_t version = version_of(out);
    double t = now_s();
    if (warning_act(s, duty, id, "publish", version, none, &out, &err) != YJ_OK)
        die("publish", &err);
    t = now_s() - t;
    json_decref(out);
    json_decref(none);
    return t;
}

/* ---- the PostGIS peer (bench/pg_peer.sh) ---------------------------------------------- */

typedef struct {
    bool ok;
    char why[512], version[96], plan[512];
    double load_s, index_s, within_s[MAX_REPEAT], insert_s[MAX_REPEAT];
    int64_t count[MAX_REPEAT], rows[MAX_REPEAT];
    size_t nwithin, ninsert;
} pg_result;

static size_t parse_list(const char *s, double *d, int64_t *i, double scale)
{
    size_t n = 0;
    char *end;
    while (n < MAX_REPEAT) {
        double v = strtod(s, &end);
        if (end == s)
            break;
        if (d)
            d[n] = v * scale;
        if (i)
            i[n] = (int64_t)v;
        n++;
        s = end;
    }
    return n;
}

static void pg_peer(const char *script, const char *dir, int repeat, pg_result *pg)
{
    memset(pg, 0, sizeof *pg);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' '%s' %d", script, dir, repeat);
    fflush(stdout);
    FILE *p = popen(cmd, "r");
    if (p == NULL) {
        snprintf(pg->why, sizeof pg->why, "cannot run %s: %s", script, strerror(errno));
        return;
    }
    char line[4096];
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        char *v = strchr(line, ' ');
        if (v == NULL)
            continue;
        *v++ = '\0';
        if (strcmp(line, "skip") == 0)
            snprintf(pg->why, sizeof pg->why, "%s", v);
        else if (strcmp(line, "version") == 0)
            snprintf(pg->version, sizeof pg->version, "%s", v);
        else if (strcmp(line, "plan") == 0)
            snprintf(pg->plan, sizeof pg->plan, "%s", v);
        else if (strcmp(line, "load_ms") == 0)
            pg->load_s = strtod(v, NULL) / 1000;
        else if (strcmp(line, "index_ms") == 0)
            pg->index_s = strtod(v, NULL) / 1000;
        else if (strcmp(line, "within_ms") == 0)
            pg->nwithin = parse_list(v, pg->within_s, NULL, 1e-3);
        else if (strcmp(line, "within_count") == 0)
            parse_list(v, NULL, pg->count, 1);
        else if (strcmp(line, "insert_ms") == 0)
            pg->ninsert = parse_list(v, pg->insert_s, NULL, 1e-3);
        else if (strcmp(line, "insert_rows") == 0)
            parse_list(v, NULL, pg->rows, 1);
    }
    int st = pclose(p);
    if (pg->why[0] == '\0' && (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0))
        snprintf(pg->why, sizeof pg->why, "%s failed (exit status %d; its messages are above)",
                 script, st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st));
    pg->ok = pg->why[0] == '\0' && pg->nwithin > 0 && pg->ninsert > 0;
    if (!pg->ok && pg->why[0] == '\0')
        snprintf(pg->why, sizeof pg->why, "%s printed no figures", script);
}

/* ---- acknowledgements -------------------------------------------------------------------- */

typedef struct {
    int64_t id;
    char token[40];
} ack_row;

static void shuffle(ack_row *a, size_t n, uint64_t *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rng_next(rng) % i);
        ack_row t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

#define MAX_BATCHES 4

/* Rows answered one way: by link, one per transaction, or in batches. */
typedef struct {
    const ack_row *rows;
    size_t n, per_tx;
    bool link;
} ack_set;

/* The peer: m rows answered by a plain UPDATE by id, in one transaction. */
static double peer_chunk(yj_store *s, const ack_row *rows, size_t m, int64_t now)
{
    yj_err err;
    yj_conn *c = yj_store_acquire(s);
    double t = now_s();
    if (yj_tx_begin(c, &err) != YJ_OK)
        die("peer begin", &err);
    yj_stmt *st = yj_prepare(c,
                             "UPDATE delivery SET state = 'acked', acked_at = ?, acked_via = ?,"
                             " acked_by = ?, next_at = NULL, escalate_at = NULL WHERE id = ?",
                             &err);
    if (st == NULL)
        die("peer prepare", &err);
    for (size_t k = 0; k < m; k++) {
        yj_stmt_reset(st);
        yj_bind_int(st, 1, now);
        yj_bind_text(st, 2, PEER_VIA);
        yj_bind_text(st, 3, PEER_VIA);
        yj_bind_int(st, 4, rows[k].id);
        if (yj_step(st, &err) < 0)
            die("peer update", &err);
    }
    yj_stmt_done(st);
    if (yj_tx_commit(c, &err) != YJ_OK)
        die("peer commit", &err);
    t = now_s() - t;
    yj_store_release(s, c);
    return t;
}

/* The product: m rows answered by link (one each) or in one batch; how
 * many it recorded. */
static size_t product_chunk(yj_store *s, const ack_row *rows, size_t m, bool link, int64_t now,
                            int64_t *ids, double *secs)
{
    yj_err err;
    size_t got = 0;
    double t = now_s();
    if (link) {
        for (size_t i = 0; i < m; i++) {
            json_t *out = NULL;
            if (callup_ack_token(s, rows[i].token, &out, &err) != YJ_OK)
                die("callup_ack_token", &err);
            got += !json_is_null(json_object_get(out, "acked_at"));
            json_decref(out);
        }
    } else {
        for (size_t i = 0; i < m; i++)
            ids[i] = rows[i].id;
        if (callup_ack_batch(s, ids, m, BATCH_VIA, now, &got, &err) != YJ_OK)
            die("callup_ack_batch", &err);
    }
    *secs += now_s() - t;
    return got;
}

/* What the two benchmarks share. */
typedef struct {
    yj_store *s;
    yj_user duty, cmdr;
    points pts;
    size_t generated;
    int repeat;
    uint64_t seed;
    char commit[96];
    bool ok; /* every count agreed */
} bench;

/* The SPEC's figures are about 1,000,000 residents; smaller runs only
 * check that the benchmark works. */
static bool full_size(const bench *b)
{
    return b->pts.n >= 1000000;
}

/* ---- targeting ------------------------------------------------------------------------ */

static void bench_target(bench *b, const ring *poly, const char *pg_script, const char *pgdir,
                         const char *results)
{
    yj_store *s = b->s;
    yj_err err;
    int repeat = b->repeat;
    json_t *ringj = json_array();
    for (size_t i = 0; i < poly->n; i++)
        json_array_append_new(ringj, json_pack("[f,f]", poly->pt[i][0], poly->pt[i][1]));
    json_t *area = json_pack("{s:[o]}", "polygons", ringj);

    /* the first publish after the bulk insert loads the snapshot (cold) */
    int64_t wid[MAX_REPEAT + 1];
    wid[0] = draft(s, &b->duty, &b->cmdr, area, "高平市暴雨橙色预警（冷启动）");
    double rss0 = proc_mb("VmRSS");
    double cold_s = publish(s, &b->duty, wid[0]);
    double snap_mb = proc_mb("VmRSS") - rss0; /* the snapshot, and the deliveries' SQL caches */
    target_set ts;
    target_invalidate();
    double t = now_s();
    yj_conn *tc = yj_store_acquire(s);
    if (target_people(tc, &ts, &err) != YJ_OK)
        die("target_people", &err);
    double load_s = now_s() - t;
    target_set_free(&ts);
    double resolve_s[MAX_REPEAT], publish_s[MAX_REPEAT], scan_s[MAX_REPEAT];
    size_t nres = 0, nvul = 0, ncontacts = 0, nresp = 0, nterm = 0, nent = 0;
    for (int r = 0; r < repeat; r++) {
        t = now_s();
        if (target_resolve(tc, CITY, area, &ts, &err) != YJ_OK)
            die("target_resolve", &err);
        resolve_s[r] = now_s() - t;
        nres = ts.nres;
        nvul = ts.nvulnerable;
        ncontacts = ts.ncontacts;
        nresp = ts.nresp;
        nterm = ts.nterm;
        nent = ts.nent;
        target_set_free(&ts);
    }
    yj_store_release(s, tc);
    for (int r = 0; r < repeat; r++) {
        char h[64];
        snprintf(h, sizeof h, "高平市暴雨橙色预警（第%d次）", r + 1);
        wid[r + 1] = draft(s, &b->duty, &b->cmdr, area, h);
        publish_s[r] = publish(s, &b->duty, wid[r + 1]);
    }
    /* where a publish goes: deliver_create alone (resolve + inserts) in a
     * transaction that is rolled back, so without the commit */
    double create_s[MAX_REPEAT];
    int64_t spare = draft(s, &b->duty, &b->cmdr, area, "高平市暴雨橙色预警（不发布）");
    for (int r = 0; r < repeat; r++) {
        yj_conn *c = yj_store_acquire(s);
        int64_t made = 0;
        if (yj_tx_begin(c, &err) != YJ_OK)
            die("begin", &err);
        t = now_s();
        if (deliver_create(c, spare, CITY, area, yj_now_ms(), &made, &err) != YJ_OK)
            die("deliver_create", &err);
        create_s[r] = now_s() - t;
        yj_tx_rollback(c);
        yj_store_release(s, c);
    }
    /* the store's floor for the same rows: a plain prepared INSERT of the
     * resident and contact deliveries (values taken from the resolved set,
     * random tokens made beforehand), rolled back like the line above */
    double floor_s[MAX_REPEAT];
    size_t floor_rows = 0;
    tc = yj_store_acquire(s);
    if (target_resolve(tc, CITY, area, &ts, &err) != YJ_OK)
        die("target_resolve", &err);
    yj_store_release(s, tc);
    char(*tokens)[33] = malloc((ts.nres ? ts.nres : 1) * sizeof *tokens);
    if (tokens == NULL)
        die("out of memory", NULL);
    for (size_t i = 0; i < ts.nres; i++)
        yj_random_hex(16, tokens[i]);
    for (int r = 0; r < repeat; r++) {
        yj_conn *c = yj_store_acquire(s);
        if (yj_tx_begin(c, &err) != YJ_OK)
            die("begin", &err);
        t = now_s();
        yj_stmt *st = yj_prepare(
            c,
            "INSERT INTO delivery (warning_id, kind, ref_id, for_id, address, region_code,"
            " must_ack, plan, state, next_at, token, escalate_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?, ?)",
            &err);
        if (st == NULL)
            die("prepare floor", &err);
        int64_t now = yj_now_ms();
        floor_rows = 0;
        for (int k = 0; k < 2; k++) /* contacts first, as deliver_create */
            for (size_t i = 0; i < ts.nres; i++) {
                const tgt_resident *x = ts.res[i];
                bool contact = k == 0;
                if (contact && !(x->vulnerable && x->contact_phone[0]))
                    continue;
                yj_stmt_reset(st);
                yj_bind_int(st, 1, spare);
                yj_bind_text(st, 2, contact ? "contact" : "resident");
                yj_bind_int(st, 3, x->id);
                if (contact)
                    yj_bind_int(st, 4, x->id);
                yj_bind_text(st, 5, contact ? x->contact_phone : x->phone);
                yj_bind_text(st, 6, x->region);
                yj_bind_int(st, 7, contact);
                yj_bind_text(st, 8, contact ? "sms,voice" : "sms");
                yj_bind_text(st, 9, "pending");
                yj_bind_int(st, 10, now);
                if (contact)
                    yj_bind_text(st, 11, tokens[i]); /* escalate_at: set once sent */
                if (yj_step(st, &err) < 0)
                    die("floor insert", &err);
                floor_rows++;
            }
        yj_stmt_done(st);
        floor_s[r] = now_s() - t;
        yj_tx_rollback(c);
        yj_store_release(s, c);
    }
    target_set_free(&ts);
    free(tokens);
    /* the full-scan peer, on the same points */
    const points *pts = &b->pts;
    int64_t *scan_ids = malloc((pts->n ? pts->n : 1) * sizeof *scan_ids);
    if (scan_ids == NULL)
        die("out of memory", NULL);
    size_t scan_count = 0;
    for (int r = 0; r < repeat; r++) {
        t = now_s();
        scan_count = full_scan(pts, poly, scan_ids);
        scan_s[r] = now_s() - t;
    }
    /* what the product created, checked against the scan id by id */
    int64_t deliveries = query_int(s, "SELECT COUNT(*) FROM delivery WHERE warning_id = ?", wid[1]);
    for (int r = 0; r <= repeat; r++) {
        int64_t n = query_int(
            s, "SELECT COUNT(*) FROM delivery WHERE warning_id = ? AND kind = 'resident'", wid[r]);
        if (n != (int64_t)nres) {
            printf("MISMATCH: warning %lld has %lld resident deliveries, target_resolve %zu\n",
                   (long long)wid[r], (long long)n, nres);
            b->ok = false;
        }
    }
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_prepare(c,
                             "SELECT ref_id FROM delivery WHERE warning_id = ? AND kind ="
                             " 'resident' ORDER BY ref_id",
                             &err);
    if (st == NULL)
        die("prepare ref_ids", &err);
    yj_bind_int(st, 1, wid[1]);
    size_t k = 0, diff = 0;
    int r;
    while ((r = yj_step(st, &err)) == 1) {
        diff += k >= scan_count || scan_ids[k] != yj_col_int(st, 0);
        k++;
    }
    yj_stmt_done(st);
    yj_store_release(s, c);
    if (r < 0)
        die("read ref_ids", &err);
    if (k != scan_count || diff) {
        printf("MISMATCH: the product resolved %zu residents, the full scan %zu (%zu ids differ)\n",
               k, scan_count, diff);
        b->ok = false;
    }
    free(scan_ids);

    pg_result pg = {0};
    if (pg_script) {
        printf("PostGIS peer (%s): its own PostgreSQL in %s ...\n", pg_script, pgdir);
        pg_peer(pg_script, pgdir, repeat, &pg);
        if (!pg.ok)
            printf("PostGIS peer skipped: %s\n", pg.why);
        for (size_t i = 0; pg.ok && i < pg.nwithin; i++)
            if (pg.count[i] != (int64_t)nres) {
                printf("MISMATCH: PostGIS ST_Within found %lld residents, the product %zu\n",
                       (long long)pg.count[i], nres);
                b->ok = false;
            }
        for (size_t i = 0; pg.ok && i < pg.ninsert; i++)
            if (pg.rows[i] != (int64_t)(nres + ncontacts)) {
                printf("MISMATCH: PostGIS created %lld resident + contact deliveries, the "
                       "product %zu\n",
                       (long long)pg.rows[i], nres + ncontacts);
                b->ok = false;
            }
    } else {
        snprintf(pg.why, sizeof pg.why, "not requested (no --pg)");
    }

    double pub_med = median(publish_s, (size_t)repeat), res_med = median(resolve_s, (size_t)repeat);
    double scan_med = median(scan_s, (size_t)repeat);
    double share = pts->nlive ? (double)nres / (double)pts->nlive : 0;
    printf("\nM3 warning targeting: %zu residents (%zu generated), %zu not moved out; area: one "
           "polygon, the outline of 高平市 (%zu points)\n",
           pts->n, b->generated, pts->nlive, poly->n);
    printf("it reaches %zu residents (%.1f %%), %zu vulnerable, %zu contacts, %zu responsible "
           "people, %zu terminals, %zu enterprises: %lld deliveries per publish\n",
           nres, share * 100, nvul, ncontacts, nresp, nterm, nent, (long long)deliveries);
    printf("%-60s %9s %9s\n", "", "median s", "best s");
    printf("%-60s %9.3f   (RSS +%.0f MB)\n",
           "yingji snapshot load (all registries -> memory, grid)", load_s, snap_mb);
    printf("%-60s %9.3f\n", "yingji first publish after the bulk insert (+ load)", cold_s);
    printf("%-60s %9.3f %9.3f\n", "yingji target_resolve only", res_med,
           min_of(resolve_s, (size_t)repeat));
    printf("%-60s %9.3f %9.3f\n", "yingji deliver_create: resolve + inserts, no commit",
           median(create_s, (size_t)repeat), min_of(create_s, (size_t)repeat));
    printf("%-60s %9.3f %9.3f\n", "yingji publish: resolve + deliveries + commit", pub_med,
           min_of(publish_s, (size_t)repeat));
    printf("%-60s %9.3f %9.3f\n", "store floor: plain INSERT of the same rows, no commit",
           median(floor_s, (size_t)repeat), min_of(floor_s, (size_t)repeat));
    printf("%-60s %9.3f %9.3f\n", "peer: full scan in C, one thread", scan_med,
           min_of(scan_s, (size_t)repeat));
    if (pg.ok) {
        printf("%-60s %9.3f\n", "PostGIS: COPY the points in", pg.load_s);
        printf("%-60s %9.3f\n", "PostGIS: GiST index build", pg.index_s);
        printf("%-60s %9.3f %9.3f\n", "PostGIS: ST_Within count", median(pg.within_s, pg.nwithin),
               min_of(pg.within_s, pg.nwithin));
        printf("%-60s %9.3f %9.3f\n", "PostGIS: INSERT ... SELECT ST_Within deliveries (commit)",
               median(pg.insert_s, pg.ninsert), min_of(pg.insert_s, pg.ninsert));
        printf("(%s; plan of the count: %s; deliveries: residents and contacts, %lld rows)\n",
               pg.version, pg.plan, (long long)pg.rows[0]);
    } else {
        printf("(no PostGIS peer: %s)\n", pg.why);
    }
    printf("residents found: yingji %zu, full scan %zu", nres, scan_count);
    if (pg.ok)
        printf(", PostGIS ST_Within %lld", (long long)pg.count[0]);
    printf("\npublish %.3f s (SPEC target: <= 1 s with 1,000,000 residents): %s\n", pub_med,
           !full_size(b)    ? "n/a, not the full size"
           : pub_med <= 1.0 ? "met"
                            : "NOT met");
    if (results) {
        FILE *f = open_results(
            results, "date\tcommit\tresidents\tgenerated\tpolygon_points\tresolved\tshare\t"
                     "deliveries\tsnapshot_load_s\tsnapshot_mb\tcold_publish_s\tresolve_s\t"
                     "publish_s\tpublish_best_s\tcreate_s\tfloor_s\tscan_s\tscan_count\tpg_"
                     "version\tpg_load_s\tpg_index_s\t"
                     "pg_within_s\tpg_count\tpg_insert_s\tpg_rows\ttarget_met\tload1\n");
        char date[32], pgcols[512];
        utc_date(date, sizeof date);
        if (pg.ok)
            snprintf(pgcols, sizeof pgcols, "%s\t%.3f\t%.3f\t%.3f\t%lld\t%.3f\t%lld", pg.version,
                     pg.load_s, pg.index_s, median(pg.within_s, pg.nwithin), (long long)pg.count[0],
                     median(pg.insert_s, pg.ninsert), (long long)pg.rows[0]);
        else
            snprintf(pgcols, sizeof pgcols, "-\t-\t-\t-\t-\t-\t-");
        fprintf(f,
                "%s\t%s\t%zu\t%zu\t%zu\t%zu\t%.4f\t%lld\t%.3f\t%.0f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t"
                "%.3f\t%.3f\t%zu\t%s\t%s\t%.2f\n",
                date, b->commit, pts->n, b->generated, poly->n, nres, share, (long long)deliveries,
                load_s, snap_mb, cold_s, res_med, pub_med, min_of(publish_s, (size_t)repeat),
                median(create_s, (size_t)repeat), median(floor_s, (size_t)repeat), scan_med,
                scan_count, pgcols,
                !full_size(b)    ? "-"
                : pub_med <= 1.0 ? "yes"
                                 : "no",
                load_average());
        fclose(f);
        printf("(row appended to %s)\n", results);
    }
    json_decref(area);
}

/* ---- acknowledgements ------------------------------------------------------------------ */

/* What a fresh must-answer delivery looks like (the most common state,
 * next_at, escalate_at of the warning's): the rows acknowledged (those in
 * another state, such as nobody to send to, are left alone). */
typedef struct {
    char state[16];
    bool next_null, esc_null;
    int64_t next, esc, count;
} ack_shape;

static void bind_shape(yj_stmt *st, int i, const ack_shape *sh)
{
    yj_bind_text(st, i, sh->state);
    if (sh->next_null)
        yj_bind_null(st, i + 1);
    else
        yj_bind_int(st, i + 1, sh->next);
    if (sh->esc_null)
        yj_bind_null(st, i + 2);
    else
        yj_bind_int(st, i + 2, sh->esc);
}

static void bench_acks(bench *b, const size_t *batches, size_t nbatches, size_t nsingle,
                       const char *results)
{
    yj_store *s = b->s;
    yj_err err;
    json_t *city = json_pack("{s:[s]}", "regions", CITY);
    int64_t cw = draft(s, &b->duty, &b->cmdr, city, "晋城市暴雨橙色预警（全市）");
    json_decref(city);
    double city_s = publish(s, &b->duty, cw);
    int64_t city_deliveries =
        query_int(s, "SELECT COUNT(*) FROM delivery WHERE warning_id = ?", cw);
    int64_t nmust =
        query_int(s, "SELECT COUNT(*) FROM delivery WHERE warning_id = ? AND must_ack = 1", cw);
    int64_t published_at = query_int(s, "SELECT published_at FROM warning WHERE id = ?", cw);
    ack_shape sh = {0};
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_prepare(c,
                             "SELECT state, next_at, escalate_at, COUNT(*) FROM delivery"
                             " WHERE warning_id = ? AND must_ack = 1 GROUP BY state, next_at,"
                             " escalate_at ORDER BY COUNT(*) DESC LIMIT 1",
                             &err);
    if (st == NULL)
        die("prepare shape", &err);
    yj_bind_int(st, 1, cw);
    if (yj_step(st, &err) != 1)
        die("no must-answer deliveries", &err);
    snprintf(sh.state, sizeof sh.state, "%s", yj_col_text(st, 0));
    sh.next_null = yj_col_null(st, 1);
    sh.next = yj_col_int(st, 1);
    sh.esc_null = yj_col_null(st, 2);
    sh.esc = yj_col_int(st, 2);
    sh.count = yj_col_int(st, 3);
    yj_stmt_done(st);
    ack_row *rows = malloc((size_t)(sh.count ? sh.count : 1) * sizeof *rows);
    if (rows == NULL)
        die("out of memory", NULL);
    size_t n = 0;
    st = yj_prepare(c,
                    "SELECT id, token FROM delivery WHERE warning_id = ? AND must_ack = 1 AND"
                    " state = ? AND next_at IS NOT DISTINCT FROM ? AND escalate_at IS NOT DISTINCT "
                    "FROM ? ORDER BY id",
                    &err);
    if (st == NULL)
        die("prepare acks", &err);
    yj_bind_int(st, 1, cw);
    bind_shape(st, 2, &sh);
    int r;
    while ((r = yj_step(st, &err)) == 1 && n < (size_t)sh.count) {
        rows[n].id = yj_col_int(st, 0);
        snprintf(rows[n].token, sizeof rows[n].token, "%s", yj_col_text(st, 1));
        n++;
    }
    yj_stmt_done(st);
    yj_store_release(s, c);
    if (r < 0)
        die("read acks", &err);
    uint64_t rng = b->seed ^ 0xA5A5A5A5ULL;
    shuffle(rows, n, &rng); /* answers arrive in no particular order */

    /* the sets: nsingle rows answered one by one, the rest split evenly
     * among the batch sizes */
    ack_set sets[MAX_BATCHES + 1];
    size_t nsets = 0, at = 0;
    if (nsingle > n / 2)
        nsingle = n / 2;
    if (nsingle)
        sets[nsets++] = (ack_set){rows, nsingle, 1, true};
    at = nsingle;
    for (size_t k = 0; k < nbatches; k++) {
        size_t m = k + 1 == nbatches ? n - at : (n - nsingle) / nbatches;
        sets[nsets++] = (ack_set){rows + at, m, batches[k], false};
        at += m;
    }
    int64_t ack_now = published_at + 60000;

    /* product and peer take turns, transaction by transaction, on the rows
     * of each set: both see the same machine at the same moment */
    double peer_s[MAX_BATCHES + 1] = {0}, yj_s[MAX_BATCHES + 1] = {0};
    size_t yj_n[MAX_BATCHES + 1] = {0}, peer_n[MAX_BATCHES + 1] = {0}, got = 0, yj_all = 0;
    int64_t *ids = malloc(n * sizeof *ids);
    if (ids == NULL)
        die("out of memory", NULL);
    for (size_t k = 0; k < nsets; k++) {
        const ack_set *a = &sets[k];
        for (size_t i = 0, turn = k; i < a->n; i += a->per_tx, turn++) {
            size_t m = a->n - i < a->per_tx ? a->n - i : a->per_tx;
            if (turn % 2 == 0) {
                got += product_chunk(s, a->rows + i, m, a->link, ack_now, ids, &yj_s[k]);
                yj_n[k] += m;
            } else {
                peer_s[k] += peer_chunk(s, a->rows + i, m, ack_now);
                peer_n[k] += m;
            }
        }
        yj_all += yj_n[k];
    }
    free(ids);
    /* each answered once: the product's by the product, the rest by the peer */
    int64_t acked = query_int(s,
                              "SELECT COUNT(*) FROM delivery WHERE warning_id = ? AND must_ack = 1"
                              " AND acked_at IS NOT NULL AND state = 'acked' AND acked_via IN"
                              " ('" SINGLE_VIA "', '" BATCH_VIA "')",
                              cw);
    int64_t by_peer = query_int(s,
                                "SELECT COUNT(*) FROM delivery WHERE warning_id = ? AND"
                                " acked_via = '" PEER_VIA "'",
                                cw);
    int64_t answered = query_int(
        s, "SELECT COUNT(*) FROM delivery WHERE warning_id = ? AND acked_at IS NOT NULL", cw);
    if (acked != (int64_t)yj_all || got != yj_all || by_peer != (int64_t)(n - yj_all) ||
        answered != (int64_t)n) {
        printf("MISMATCH: the product answered %lld of its %zu (said %zu), the peer %lld of %zu; "
               "%lld of %zu in all\n",
               (long long)acked, yj_all, got, (long long)by_peer, n - yj_all, (long long)answered,
               n);
        b->ok = false;
    }
    free(rows);

    printf("\nM3 acknowledgements: a city-wide warning (%lld deliveries, published in %.3f s); "
           "%zu of its %lld must-answer deliveries (fresh: %s) answered in random order\n",
           (long long)city_deliveries, city_s, n, (long long)nmust, sh.state);
    printf("%-44s %8s %8s %10s %10s %7s\n", "", "acks", "per tx", "yingji/s", "peer/s", "ratio");
    double best = 0, yr[MAX_BATCHES + 1], pr[MAX_BATCHES + 1];
    for (size_t k = 0; k < nsets; k++) {
        const ack_set *a = &sets[k];
        yr[k] = yj_s[k] > 0 ? (double)yj_n[k] / yj_s[k] : 0;
        pr[k] = peer_s[k] > 0 ? (double)peer_n[k] / peer_s[k] : 0;
        if (!a->link)
            best = fmax(best, yr[k]);
        printf("%-44s %8zu %8zu %10.0f %10.0f %7.2f\n",
               a->link ? "callup_ack_token (answer link), one each" : "callup_ack_batch (callback)",
               a->n, a->per_tx, yr[k], pr[k], pr[k] > 0 ? yr[k] / pr[k] : 0);
    }
    printf("peer: a plain UPDATE by id, in the same transactions, taking turns with the product\n"
           "(each does half of the acks in a row above)\n");
    printf("answered afterwards: %lld by the product, %lld by the peer, %lld of %zu in all\n",
           (long long)acked, (long long)by_peer, (long long)answered, n);
    printf("best batched %.0f acks/s (SPEC target: >= 50,000/s): %s\n", best,
           !full_size(b)   ? "n/a, not the full size"
           : best >= 50000 ? "met"
                           : "NOT met");
    if (results) {
        FILE *f = open_results(results, "date\tcommit\tresidents\tcity_deliveries\t"
                                        "city_publish_s\tmust_ack\tpath\tper_tx\tacks\t"
                                        "yj_acks_s\tpeer_acks_s\tratio\tanswered\ttarget_met\t"
                                        "load1\n");
        char date[32];
        utc_date(date, sizeof date);
        for (size_t k = 0; k < nsets; k++) {
            const ack_set *a = &sets[k];
            fprintf(
                f, "%s\t%s\t%zu\t%lld\t%.3f\t%zu\t%s\t%zu\t%zu\t%.0f\t%.0f\t%.3f\t%lld\t%s\t%.2f\n",
                date, b->commit, b->pts.n, (long long)city_deliveries, city_s, n,
                a->link ? "link" : "batch", a->per_tx, a->n, yr[k], pr[k],
                pr[k] > 0 ? yr[k] / pr[k] : 0, (long long)answered,
                a->link || !full_size(b) ? "-"
                : yr[k] >= 50000         ? "yes"
                                         : "no",
                load_average());
        }
        fclose(f);
        printf("(rows appended to %s)\n", results);
    }
}

/* ---- main -------------------------------------------------------------------------------- */

static void rm_tree(const char *dir)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning_bench: could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
    yj_log_min = YJ_LOG_WARN;
    if (yj_crypto_init() != 0)
        die("libsodium", NULL);
    registry_init();
    size_t total = strtoul(arg(argc, argv, "--residents", "1000000"), NULL, 10);
    int repeat = atoi(arg(argc, argv, "--repeat", "3"));
    /* batch sizes, comma-separated */
    size_t batches[MAX_BATCHES], nbatches = 0;
    for (const char *p = arg(argc, argv, "--ack-batch", "1000"); *p && nbatches < MAX_BATCHES;) {
        char *end;
        batches[nbatches] = strtoul(p, &end, 10);
        if (end == p || batches[nbatches] == 0)
            break;
        nbatches++;
        p = *end == ',' ? end + 1 : end;
    }
    size_t nsingle = strtoul(arg(argc, argv, "--ack-single", "2000"), NULL, 10);
    const char *pg_script = arg(argc, argv, "--pg", NULL);
    const char *results = arg(argc, argv, "--results", NULL);
    const char *ack_results = arg(argc, argv, "--ack-results", NULL);
    const char *data = arg(argc, argv, "--data", YJ_SOURCE_DIR "/build/data");
    const char *template = arg(argc, argv, "--template", NULL);
    const char *only = arg(argc, argv, "--only", "");
    /* the store: a temp SQLite file, or an empty PostgreSQL database */
    const char *db = arg(argc, argv, "--db", NULL);
    if (repeat < 1 || repeat > MAX_REPEAT || nbatches == 0 || total == 0) {
        fprintf(stderr,
                "warning_bench: need --residents > 0, --repeat 1..%d, --ack-batch B[,B...] > 0 "
                "(at most %d)\n",
                MAX_REPEAT, MAX_BATCHES);
        return 2;
    }
    bench b = {.repeat = repeat, .ok = true};
    b.seed = strtoull(arg(argc, argv, "--seed", "20261205"), NULL, 10);
    git_commit(b.commit, sizeof b.commit);

    char dir[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/yj-bench-warning-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
        die("mkdtemp", NULL);
    char path[600], logins[600], cmd[2048];
    snprintf(path, sizeof path, "%s", db ? db : "");
    if (db == NULL)
        snprintf(path, sizeof path, "%s/bench.db", dir);
    else if (!yj_store_url_is_pg(db) || template)
        die("--db takes a postgres:// URL (and no --template)", NULL);
    snprintf(logins, sizeof logins, "%s/logins.json", dir);

    /* 1. the demo city, then the residents (or a copy of a database made
     * before with the same options: --template PATH, for working on the code) */
    yj_err err;
    double t = now_s(), demo_s = 0, fill_s = 0;
    if (template && access(template, R_OK) == 0) {
        snprintf(cmd, sizeof cmd, "cp '%s' '%s'", template, path);
        if (system(cmd) != 0)
            die(template, NULL);
    } else {
        yj_store *s0 = open_store(path, 2);
        yj_demo_opts dopt = {.data_dir = data, .password = PASSWORD, .seed = 1};
        if (demo_create(s0, &dopt, logins, NULL, &err) != YJ_OK)
            die("demo_create", &err);
        yj_store_close(s0);
        demo_s = now_s() - t;
        t = now_s();
        fill_residents(path, total, b.seed);
        fill_s = now_s() - t;
        if (template) {
            snprintf(cmd, sizeof cmd, "cp '%s' '%s'", path, template);
            if (system(cmd) != 0)
                die(template, NULL);
        }
    }

    /* 2. measured with the product's own settings from here on */
    b.s = open_store(path, 4);
    b.generated = (size_t)query_int(b.s,
                                    "SELECT COUNT(*) FROM resident WHERE updated_by = 'bench'"
                                    " AND ? = 1",
                                    1);
    FILE *csv = NULL;
    char pgdir[600], csvpath[700], wktpath[700];
    snprintf(pgdir, sizeof pgdir, "%s/pg", dir);
    snprintf(csvpath, sizeof csvpath, "%s/points.csv", pgdir);
    snprintf(wktpath, sizeof wktpath, "%s/area.wkt", pgdir);
    if (pg_script) {
        /* readable by the server's user (pg_peer.sh runs it as another user) */
        if (chmod(dir, 0755) != 0 || mkdir(pgdir, 0755) != 0 || (csv = fopen(csvpath, "w")) == NULL)
            die(pgdir, NULL);
    }
    read_points(b.s, &b.pts, csv);
    if (csv && fclose(csv) != 0)
        die(csvpath, NULL);
    size_t ncounty = 0;
    county *cs = load_counties(b.s, &ncounty);
    const county *gp = county_of(cs, ncounty, POLYGON_OF);
    if (gp == NULL || gp->nrings != 1)
        die("the outline of " POLYGON_OF " is not one polygon", NULL);
    const ring *poly = &gp->rings[0];
    if (pg_script) {
        FILE *w = fopen(wktpath, "w");
        if (w == NULL)
            die(wktpath, NULL);
        fprintf(w, "SRID=4326;POLYGON((");
        for (size_t i = 0; i < poly->n; i++)
            fprintf(w, "%s%.17g %.17g", i ? "," : "", poly->pt[i][1], poly->pt[i][0]);
        fprintf(w, "))\n");
        if (fclose(w) != 0)
            die(wktpath, NULL);
    }
    printf("setup: demo city %.1f s, %zu generated residents %.1f s%s\n", demo_s, b.generated,
           fill_s, template && demo_s == 0 ? " (copied from --template)" : "");
    b.duty = user_of("duty", YJ_ROLE_DUTY);
    b.cmdr = user_of("commander", YJ_ROLE_COMMANDER);

    if (strcmp(only, "ack") != 0)
        bench_target(&b, poly, pg_script, pgdir, results);
    if (strcmp(only, "target") != 0)
        bench_acks(&b, batches, nbatches, nsingle, ack_results);
    printf("load average (1 min) at the end: %.2f on %ld cores\n", load_average(),
           sysconf(_SC_NPROCESSORS_ONLN));

    yj_store_close(b.s);
    rm_tree(dir);
    free(b.pts.id);
    free(b.pts.lat);
    free(b.pts.lon);
    free(b.pts.live);
    for (size_t i = 0; i < ncounty; i++) {
        for (size_t k = 0; k < cs[i].nrings; k++)
            free(cs[i].rings[k].pt);
        free(cs[i].rings);
    }
    free(cs);
    if (!b.ok)
        printf("FAILED: the counts above do not agree\n");
    return b.ok ? 0 : 1;
}
