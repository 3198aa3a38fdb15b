/*
 * demo.c — generate the demo city 晋城市 (Jincheng) into an empty database.
 *
 * How it works:
 *   1. One transaction loads regions.csv (every province/city/county of China
 *      plus 晋城's townships and villages) and the six county boundaries from
 *      boundaries.geojson (both made by scripts/build-data.mjs).  The same
 *      files are kept in memory: the region list gives real township and
 *      village names for records and addresses, the polygons let us place
 *      every record inside its county (rejection sampling in the county's
 *      bounding box with an even-odd point-in-polygon test, also rejecting
 *      points that fall in another county, since 城区 sits inside 泽州县).
 *   2. A second transaction creates the base-database records through
 *      registry_create_in(), so each one is validated and audited exactly as
 *      if an officer had entered it.  What to create is declared in tables
 *      (team templates, expert fields, industries with their name templates
 *      and hazard kinds, ...); the code walks them.  Records of one township
 *      cluster around a township "anchor" point, so the map looks like a
 *      real county rather than noise.
 *   3. The logins are created with user_add() (which takes its own
 *      connection and transaction, so ours is released first), written as
 *      JSON (mode 0600) and printed as a table.
 *
 * Everything random comes from one splitmix64 stream seeded by opts->seed,
 * so a seed always gives the same city.  Only passwords (when not given) use
 * the system CSPRNG.
 */
#include "demo.h"

#include "../auth/auth.h"
#include "../base/module.h"
#include "../core/buf.h"
#include "../core/csv.h"
#include "../core/util.h"
#include "../registry/registry.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
#define NCOUNTY     6

/* ======================================================================== */
/* PRNG: splitmix64                                                          */
/* ======================================================================== */

typedef struct {
    uint64_t s;
} demo_rng;

static uint64_t rng_next(demo_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t rng_below(demo_rng *r, size_t n)
{
    return n ? (size_t)(rng_next(r) % n) : 0;
}

static int rng_int(demo_rng *r, int lo, int hi)
{
    return lo + (int)rng_below(r, (size_t)(hi - lo + 1));
}

static double rng_unit(demo_rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static double rng_real(demo_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * rng_unit(r);
}

static bool rng_chance(demo_rng *r, double p)
{
    return rng_unit(r) < p;
}

static const char *rng_word(demo_rng *r, const yj_demo_words *w)
{
    return w->items[rng_below(r, w->n)];
}

/* Index into weights[0..n) picked in proportion to the weights. */
static size_t rng_weighted(demo_rng *r, const int *weights, size_t n)
{
    int total = 0;
    for (size_t i = 0; i < n; i++)
        total += weights[i];
    int x = rng_int(r, 0, total - 1);
    for (size_t i = 0; i < n; i++) {
        if (x < weights[i])
            return i;
        x -= weights[i];
    }
    return n - 1;
}

#define PICK(r, arr) ((arr)[rng_below((r), COUNT_OF(arr))])

static double round6(double v)
{
    return (double)(int64_t)(v * 1e6 + (v >= 0 ? 0.5 : -0.5)) / 1e6;
}

/* ======================================================================== */
/* A set of strings (natural keys and phones must be unique)                 */
/* ======================================================================== */

typedef struct {
    char **slot;
    size_t cap, n;
} demo_set;

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void set_free(demo_set *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slot[i]);
    free(s->slot);
    s->slot = NULL;
    s->cap = s->n = 0;
}

static void set_put_owned(demo_set *s, char *str)
{
    size_t i = (size_t)str_hash(str) & (s->cap - 1);
    while (s->slot[i])
        i = (i + 1) & (s->cap - 1);
    s->slot[i] = str;
    s->n++;
}

/* Add "ns:value"; false if it was already there. */
static bool set_add(demo_set *s, const char *ns, const char *value)
{
    char key[512];
    snprintf(key, sizeof key, "%s:%s", ns, value);
    if (s->cap == 0 || (s->n + 1) * 2 > s->cap) {
        demo_set bigger = {calloc(s->cap ? s->cap * 2 : 4096, sizeof(char *)),
                           s->cap ? s->cap * 2 : 4096, 0};
        if (bigger.slot == NULL)
            abort();
        for (size_t i = 0; i < s->cap; i++)
            if (s->slot[i])
                set_put_owned(&bigger, s->slot[i]);
        free(s->slot);
        *s = bigger;
    }
    size_t i = (size_t)str_hash(key) & (s->cap - 1);
    for (; s->slot[i]; i = (i + 1) & (s->cap - 1))
        if (strcmp(s->slot[i], key) == 0)
            return false;
    s->slot[i] = strdup(key);
    if (s->slot[i] == NULL)
        abort();
    s->n++;
    return true;
}

/* ======================================================================== */
/* Counties, regions and boundaries                                          */
/* ======================================================================== */

typedef struct {
    const char *code;
    const char *label; /* as a prefix of names: "泽州县", "晋城市城区" */
    const char *name;  /* as in the region table: "泽州县", "城区" */
    const char *shortname;
} county_info;

/* The six county-level divisions of 晋城市.  The first township of each (by
 * code) is its seat: 东街街道, 龙港镇, 凤城镇, 崇文镇, 南村镇, 北城街道. */
static const county_info counties[NCOUNTY] = {
    {"140502", "晋城市城区", "城区", "城区"}, {"140521", "沁水县", "沁水县", "沁水"},
    {"140522", "阳城县", "阳城县", "阳城"},   {"140524", "陵川县", "陵川县", "陵川"},
    {"140525", "泽州县", "泽州县", "泽州"},   {"140581", "高平市", "高平市", "高平"},
};
enum { C_CHENGQU, C_QINSHUI, C_YANGCHENG, C_LINGCHUAN, C_ZEZHOU, C_GAOPING };

/* A township (9 digits) or village (12 digits) of 晋城. */
typedef struct {
    char code[13];
    char name[128];  /* as in regions.csv: "杨洼社区居民委员会" */
    char place[128]; /* for addresses: "杨洼社区", "北石店镇" */
    char base[128];  /* for names: "杨洼", "北石店" */
    size_t county;
    long town;     /* index of the township (villages only), else -1 */
    bool anchored; /* ax/ay chosen */
    double ax, ay; /* anchor: records of this place cluster around it */
} demo_region;

typedef struct {
    double *xy; /* lon,lat pairs */
    size_t n;
} demo_ring;

typedef struct {
    demo_ring *rings;
    size_t nrings;
    double minx, miny, maxx, maxy;
    size_t *towns, ntowns;
    size_t *villages, nvillages;
} demo_county;

/* Suffix rewrites: full official name -> address form and short form. */
typedef struct {
    const char *suffix, *place_suffix;
} name_rule;

static const name_rule town_rules[] = {
    {"街道办事处", "街道"},
    {"街道", "街道"},
    {"镇", "镇"},
    {"乡", "乡"},
};
static const name_rule village_rules[] = {
    {"社区居民委员会", "社区"},
    {"社区居委会", "社区"},
    {"居民委员会", "社区"},
    {"村民委员会", "村"},
    {"村委会", "村"},
    {"居委会", "社区"},
    {"委员会", ""},
};

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && memcmp(s + n - m, suf, m) == 0;
}

static void region_names(demo_region *g, const name_rule *rules, size_t nrules)
{
    snprintf(g->place, sizeof g->place, "%s", g->name);
    snprintf(g->base, sizeof g->base, "%s", g->name);
    for (size_t i = 0; i < nrules; i++) {
        if (!ends_with(g->name, rules[i].suffix))
            continue;
        size_t stem = strlen(g->name) - strlen(rules[i].suffix);
        if (stem == 0)
            break;
        snprintf(g->base, sizeof g->base, "%.*s", (int)stem, g->name);
        if (ends_with(g->base, rules[i].place_suffix))
            snprintf(g->place, sizeof g->place, "%s", g->base);
        else
            snprintf(g->place, sizeof g->place, "%s%s", g->base, rules[i].place_suffix);
        /* "东沟村" -> "东沟" for trade names, but keep one-character stems */
        if (ends_with(g->base, "村") && strlen(g->base) > 6)
            g->base[strlen(g->base) - strlen("村")] = '\0';
        break;
    }
}

/* ======================================================================== */
/* Generator state                                                           */
/* ======================================================================== */

typedef struct {
    size_t county;
    const demo_region *town, *village; /* NULL when not that precise */
    char region[16];
    char address[512];
    double lat, lon;
} demo_place;

typedef struct {
    char name[200];
    demo_place pl;
} demo_team;

/* Counts of created records, by registry. */
static const char *const registry_order[] = {
    "rescue_team",        "expert",     "warehouse",     "shelter",
    "equipment",          "enterprise", "hazard_source", "informant",
    "duty_contact",       "household",  "resident",      "broadcast_terminal",
    "responsible_person",
};

typedef struct {
    yj_conn *conn;
    demo_rng rng;
    yj_user actor;
    demo_region *regions;
    size_t nregions;
    demo_county county[NCOUNTY];
    demo_set used;
    int counts[COUNT_OF(registry_order)];
    demo_team teams[128];
    size_t nteams;
    /* remembered for the logins */
    char first_expert[64];
    char city_keeper[64];
    char informant_name[64];
    char informant_region[16];
    char mine_director[64];
    char mine_county[16];
    int64_t mine_id;
    FILE *out; /* progress lines, or NULL */
} demo_ctx;

static long county_index(const char *code)
{
    for (size_t i = 0; i < NCOUNTY; i++)
        if (strncmp(code, counties[i].code, 6) == 0)
            return (long)i;
    return -1;
}

static yj_code size_append(size_t **arr, size_t *n, size_t v, yj_err *err)
{
    size_t *p = realloc(*arr, (*n + 1) * sizeof **arr);
    if (p == NULL)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
    p[(*n)++] = v;
    *arr = p;
    return YJ_OK;
}

/* Keep the 晋城 townships and villages of regions.csv (sorted by code, so a
 * village always follows its township). */
static yj_code load_regions(demo_ctx *d, const char *path, yj_err *err)
{
    size_t len = 0;
    char *text = yj_read_file(path, &len);
    if (text == NULL)
        return yj_err_set(err, YJ_EIO, NULL,
                          "cannot read %s: %s (run `make build/data/regions.csv`)", path,
                          strerror(errno));
    yj_csv csv;
    yj_csv_row row;
    yj_code rc = YJ_OK;
    int got;
    size_t cap = 0;
    long last_town = -1;
    yj_csv_open(&csv, text, len);
    while ((got = yj_csv_next(&csv, &row, err)) == 1) {
        const char *code = row.n >= 2 ? row.fields[0] : "";
        size_t cl = strlen(code);
        long ci = county_index(code);
        if ((cl == 9 || cl == 12) && ci >= 0) {
            if (d->nregions == cap) {
                cap = cap ? cap * 2 : 1024;
                demo_region *p = realloc(d->regions, cap * sizeof *p);
                if (p == NULL) {
                    yj_csv_row_free(&row);
                    rc = yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
                    break;
                }
                d->regions = p;
            }
            demo_region *g = &d->regions[d->nregions];
            memset(g, 0, sizeof *g);
            snprintf(g->code, sizeof g->code, "%s", code);
            snprintf(g->name, sizeof g->name, "%s", row.fields[1]);
            g->county = (size_t)ci;
            g->town = -1;
            demo_county *c = &d->county[ci];
            if (cl == 9) {
                region_names(g, town_rules, COUNT_OF(town_rules));
                last_town = (long)d->nregions;
                rc = size_append(&c->towns, &c->ntowns, d->nregions, err);
            } else {
                region_names(g, village_rules, COUNT_OF(village_rules));
                if (last_town >= 0 && strncmp(d->regions[last_town].code, code, 9) == 0)
                    g->town = last_town;
                rc = g->town >= 0
                         ? size_append(&c->villages, &c->nvillages, d->nregions, err)
                         : yj_err_set(err, YJ_EINVAL, NULL,
                                      "%s: village %s has no township before it", path, code);
            }
            d->nregions++;
        }
        yj_csv_row_free(&row);
        if (rc != YJ_OK)
            break;
    }
    if (got < 0)
        rc = err ? err->code : YJ_EPARSE;
    yj_csv_close(&csv);
    free(text);
    if (rc == YJ_OK)
        for (size_t i = 0; i < NCOUNTY; i++)
            if (d->county[i].ntowns == 0)
                rc = yj_err_set(err, YJ_EINVAL, NULL, "%s has no townships of %s (%s)", path,
                                counties[i].name, counties[i].code);
    return rc;
}

static yj_code add_ring(demo_county *c, const json_t *ring, yj_err *err)
{
    size_t n = json_array_size(ring);
    if (n < 4)
        return yj_err_set(err, YJ_EINVAL, NULL, "boundary ring with %zu points", n);
    demo_ring *rs = realloc(c->rings, (c->nrings + 1) * sizeof *rs);
    if (rs == NULL)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
    c->rings = rs;
    demo_ring *r = &rs[c->nrings];
    r->n = n;
    r->xy = malloc(2 * n * sizeof(double));
    if (r->xy == NULL)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
    c->nrings++;
    for (size_t i = 0; i < n; i++) {
        const json_t *pt = json_array_get(ring, i);
        double x = json_number_value(json_array_get(pt, 0));
        double y = json_number_value(json_array_get(pt, 1));
        r->xy[2 * i] = x;
        r->xy[2 * i + 1] = y;
        if (c->nrings == 1 && i == 0) {
            c->minx = c->maxx = x;
            c->miny = c->maxy = y;
        }
        c->minx = x < c->minx ? x : c->minx;
        c->maxx = x > c->maxx ? x : c->maxx;
        c->miny = y < c->miny ? y : c->miny;
        c->maxy = y > c->maxy ? y : c->maxy;
    }
    return YJ_OK;
}

/* Store each county feature with region_set_boundary() and keep its rings. */
static yj_code load_boundaries(demo_ctx *d, const char *path, yj_err *err)
{
    json_error_t je;
    json_t *fc = json_load_file(path, 0, &je);
    if (fc == NULL)
        return yj_err_set(err, YJ_EIO, NULL, "cannot read %s: %s (line %d)", path, je.text,
                          je.line);
    yj_code rc = YJ_OK;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(fc, "features"), i, f) {
        const char *code =
            json_string_value(json_object_get(json_object_get(f, "properties"), "code"));
        long ci = code ? county_index(code) : -1;
        if (ci < 0 || strlen(code) != 6) {
            rc = yj_err_set(err, YJ_EINVAL, NULL, "%s: feature %zu is not a 晋城 county", path, i);
            break;
        }
        char *text = json_dumps(f, JSON_COMPACT);
        rc = text ? region_set_boundary(d->conn, code, text, err)
                  : yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
        free(text);
        if (rc != YJ_OK)
            break;
        const json_t *g = json_object_get(f, "geometry");
        const char *type = json_string_value(json_object_get(g, "type"));
        const json_t *coords = json_object_get(g, "coordinates");
        size_t p, k;
        json_t *poly, *ring;
        if (type && strcmp(type, "Polygon") == 0) {
            json_array_foreach(coords, k, ring) {
                if ((rc = add_ring(&d->county[ci], ring, err)) != YJ_OK)
                    break;
            }
        } else if (type && strcmp(type, "MultiPolygon") == 0) {
            json_array_foreach(coords, p, poly) {
                json_array_foreach(poly, k, ring) {
                    if ((rc = add_ring(&d->county[ci], ring, err)) != YJ_OK)
                        break;
                }
                if (rc != YJ_OK)
                    break;
            }
        } else {
            rc = yj_err_set(err, YJ_EINVAL, NULL, "%s: %s has geometry %s", path, code,
                            type ? type : "(none)");
        }
        if (rc != YJ_OK)
            break;
    }
    json_decref(fc);
    for (size_t c = 0; rc == YJ_OK && c < NCOUNTY; c++)
        if (d->county[c].nrings == 0)
            rc = yj_err_set(err, YJ_EINVAL, NULL, "%s has no boundary for %s (%s)", path,
                            counties[c].name, counties[c].code);
    return rc;
}

/* ======================================================================== */
/* Geometry: points inside a county                                          */
/* ======================================================================== */

/* Even-odd rule over all rings, which handles holes and multi-part shapes. */
static bool county_contains(const demo_county *c, double x, double y)
{
    if (x < c->minx || x > c->maxx || y < c->miny || y > c->maxy)
        return false;
    bool in = false;
    for (size_t r = 0; r < c->nrings; r++) {
        const double *p = c->rings[r].xy;
        size_t n = c->rings[r].n;
        for (size_t i = 0, j = n - 1; i < n; j = i++) {
            double xi = p[2 * i], yi = p[2 * i + 1], xj = p[2 * j], yj = p[2 * j + 1];
            if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi)
                in = !in;
        }
    }
    return in;
}

/* Inside county ci and in no other county. */
static bool point_ok(const demo_ctx *d, size_t ci, double x, double y)
{
    if (!county_contains(&d->county[ci], x, y))
        return false;
    for (size_t k = 0; k < NCOUNTY; k++)
        if (k != ci && county_contains(&d->county[k], x, y))
            return false;
    return true;
}

static yj_code county_point(demo_ctx *d, size_t ci, double *x, double *y, yj_err *err)
{
    const demo_county *c = &d->county[ci];
    for (int tries = 0; tries < 100000; tries++) {
        *x = rng_real(&d->rng, c->minx, c->maxx);
        *y = rng_real(&d->rng, c->miny, c->maxy);
        if (point_ok(d, ci, *x, *y))
            return YJ_OK;
    }
    return yj_err_set(err, YJ_EINTERNAL, NULL, "could not place a point inside %s",
                      counties[ci].name);
}

/* A point within about `radius` degrees of (ax, ay), still inside the
 * county; the anchor itself if the county edge is too close. */
static void near_point(demo_ctx *d, size_t ci, double ax, double ay, double radius, double *x,
                       double *y)
{
    for (int tries = 0; tries < 60; tries++) {
        *x = ax + rng_real(&d->rng, -radius, radius) * 1.2; /* a degree of lon is shorter */
        *y = ay + rng_real(&d->rng, -radius, radius);
        if (point_ok(d, ci, *x, *y))
            return;
    }
    *x = ax;
    *y = ay;
}

static yj_code region_anchor(demo_ctx *d, demo_region *g, yj_err *err)
{
    if (g->anchored)
        return YJ_OK;
    if (g->town >= 0) {
        demo_region *t = &d->regions[g->town];
        yj_code rc = region_anchor(d, t, err);
        if (rc != YJ_OK)
            return rc;
        near_point(d, g->county, t->ax, t->ay, 0.05, &g->ax, &g->ay);
    } else {
        yj_code rc = county_point(d, g->county, &g->ax, &g->ay, err);
        if (rc != YJ_OK)
            return rc;
    }
    g->anchored = true;
    return YJ_OK;
}

/* ======================================================================== */
/* Places: region code, address and point of one record                      */
/* ======================================================================== */

typedef enum { AT_COUNTY, AT_TOWN, AT_VILLAGE } demo_level;

static demo_region *random_town(demo_ctx *d, size_t ci)
{
    const demo_county *c = &d->county[ci];
    return &d->regions[c->towns[rng_below(&d->rng, c->ntowns)]];
}

static demo_region *find_town(demo_ctx *d, size_t ci, const char *name)
{
    const demo_county *c = &d->county[ci];
    for (size_t i = 0; name && i < c->ntowns; i++)
        if (strcmp(d->regions[c->towns[i]].name, name) == 0)
            return &d->regions[c->towns[i]];
    return random_town(d, ci);
}

static demo_region *random_village(demo_ctx *d, size_t ci, const demo_region *town)
{
    const demo_county *c = &d->county[ci];
    if (c->nvillages == 0)
        return NULL;
    if (town) { /* a village of that township, if it has any */
        size_t n = 0;
        long ti = (long)(town - d->regions);
        for (size_t i = 0; i < c->nvillages; i++)
            n += d->regions[c->villages[i]].town == ti;
        if (n > 0) {
            size_t k = rng_below(&d->rng, n);
            for (size_t i = 0; i < c->nvillages; i++)
                if (d->regions[c->villages[i]].town == ti && k-- == 0)
                    return &d->regions[c->villages[i]];
        }
    }
    return &d->regions[c->villages[rng_below(&d->rng, c->nvillages)]];
}

/* Fill *pl for county ci at the given precision.  town (optional) fixes the
 * township; village (optional) fixes the village (and implies AT_VILLAGE). */
static yj_code place_make(demo_ctx *d, size_t ci, demo_level lv, demo_region *town,
                          demo_region *village, demo_place *pl, yj_err *err)
{
    memset(pl, 0, sizeof *pl);
    pl->county = ci;
    if (village)
        lv = AT_VILLAGE;
    const demo_county *c = &d->county[ci];
    demo_region *seat = &d->regions[c->towns[0]];
    demo_region *anchor;
    double radius;
    if (lv == AT_COUNTY) {
        snprintf(pl->region, sizeof pl->region, "%s", counties[ci].code);
        anchor = town ? town : seat;
        radius = 0.02;
    } else if (lv == AT_TOWN) {
        pl->town = town ? town : random_town(d, ci);
        snprintf(pl->region, sizeof pl->region, "%s", pl->town->code);
        anchor = d->regions + (pl->town - d->regions);
        radius = 0.03;
    } else {
        demo_region *v = village ? village : random_village(d, ci, town);
        if (v == NULL)
            return place_make(d, ci, AT_TOWN, town, NULL, pl, err);
        pl->village = v;
        pl->town = &d->regions[v->town];
        snprintf(pl->region, sizeof pl->region, "%s", v->code);
        anchor = v;
        radius = 0.008;
    }
    yj_code rc = region_anchor(d, anchor, err);
    if (rc != YJ_OK)
        return rc;
    near_point(d, ci, anchor->ax, anchor->ay, radius, &pl->lon, &pl->lat);

    const char *road = rng_word(&d->rng, &demo_roads);
    int no = rng_int(&d->rng, 1, 999);
    if (pl->village)
        snprintf(pl->address, sizeof pl->address, "晋城市%s%s%s", counties[ci].name,
                 pl->town->place, pl->village->place);
    else if (pl->town)
        snprintf(pl->address, sizeof pl->address, "晋城市%s%s%s%d号", counties[ci].name,
                 pl->town->place, road, no);
    else
        snprintf(pl->address, sizeof pl->address, "晋城市%s%s%d号", counties[ci].name, road, no);
    return YJ_OK;
}

/* ======================================================================== */
/* Names, phones, codes                                                      */
/* ======================================================================== */

static void person_name(demo_ctx *d, char *out, size_t n)
{
    const char *sur = rng_word(&d->rng, &demo_surnames);
    const char *g1 = rng_word(&d->rng, &demo_given_chars);
    if (rng_chance(&d->rng, 0.25))
        snprintf(out, n, "%s%s", sur, g1);
    else
        snprintf(out, n, "%s%s%s", sur, g1, rng_word(&d->rng, &demo_given_chars));
}

/* Mobile numbers: real 3-digit carrier prefixes (1[3-9]x) + 8 digits. */
static const char *const mobile_prefixes[] = {
    "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "155", "157",
    "158", "159", "166", "177", "180", "181", "182", "186", "187", "188", "189", "199",
};

static void phone_mobile(demo_ctx *d, char out[16])
{
    do {
        snprintf(out, 16, "%s%08d", PICK(&d->rng, mobile_prefixes), rng_int(&d->rng, 0, 99999999));
    } while (!set_add(&d->used, "phone", out));
}

/* 晋城 landlines: area code 0356, 7-digit subscriber numbers. */
static void phone_landline(demo_ctx *d, char out[16])
{
    do {
        snprintf(out, 16, "0356-%07d", rng_int(&d->rng, 2000000, 6999999));
    } while (!set_add(&d->used, "phone", out));
}

/* 统一社会信用代码 (GB 32100-2015): "91" (enterprise, company) + 6-digit
 * region + 9-character organisation code (GB 11714, own check character)
 * + check character. */
static const char credit_charset[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

static int credit_value(char ch)
{
    const char *p = strchr(credit_charset, ch);
    return p ? (int)(p - credit_charset) : 0;
}

static void credit_code(demo_ctx *d, const char *county6, char out[19])
{
    static const int org_w[8] = {3, 7, 9, 10, 5, 8, 4, 2};
    static const int uscc_w[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
    do {
        memcpy(out, "91", 2);
        memcpy(out + 2, county6, 6);
        int sum = 0;
        for (int i = 0; i < 8; i++) {
            /* mostly digits, as most organisation codes are */
            char ch = rng_chance(&d->rng, 0.8) ? (char)('0' + rng_int(&d->rng, 0, 9))
                                               : credit_charset[rng_int(&d->rng, 10, 30)];
            out[8 + i] = ch;
            int v = ch <= '9' ? ch - '0' : ch - 'A' + 10; /* GB 11714 letter values */
            sum += v * org_w[i];
        }
        int c9 = 11 - sum % 11;
        out[16] = c9 == 10 ? 'X' : c9 == 11 ? '0' : (char)('0' + c9);
        sum = 0;
        for (int i = 0; i < 17; i++)
            sum += credit_value(out[i]) * uscc_w[i];
        out[17] = credit_charset[(31 - sum % 31) % 31];
        out[18] = '\0';
    } while (!set_add(&d->used, "credit", out));
}

/* Expand a name template: {C} county as a name prefix ("泽州县"), {S} short
 * county ("泽州"), {t}/{T} township (address form / short form), {v}/{V}
 * village, {B} a trade name, {R} a road. */
static void expand(demo_ctx *d, char *out, size_t n, const char *tpl, const demo_place *pl)
{
    yj_buf b;
    yj_buf_init(&b);
    for (const char *p = tpl; *p; p++) {
        if (p[0] != '{' || p[1] == '\0' || p[2] != '}') {
            yj_buf_putc(&b, *p);
            continue;
        }
        const county_info *ci = &counties[pl->county];
        const demo_region *t = pl->town, *v = pl->village;
        switch (p[1]) {
        case 'C':
            yj_buf_puts(&b, ci->label);
            break;
        case 'S':
            yj_buf_puts(&b, ci->shortname);
            break;
        case 't':
            yj_buf_puts(&b, t ? t->place : ci->shortname);
            break;
        case 'T':
            yj_buf_puts(&b, t ? t->base : ci->shortname);
            break;
        case 'v':
            yj_buf_puts(&b, v ? v->place : t ? t->place : ci->shortname);
            break;
        case 'V':
            yj_buf_puts(&b, v ? v->base : t ? t->base : ci->shortname);
            break;
        case 'B':
            yj_buf_puts(&b, rng_word(&d->rng, &demo_brands));
            break;
        case 'R':
            yj_buf_puts(&b, rng_word(&d->rng, &demo_roads));
            break;
        default:
            yj_buf_append(&b, p, 3);
            break;
        }
        p += 2;
    }
    snprintf(out, n, "%s", b.data ? b.data : "");
    yj_buf_free(&b);
}

/* Some of the NULL-terminated options, each kept with probability p
 * (at least `min`), joined with 、 in option order. */
static void pick_tags(demo_ctx *d, const char *const *opts, double p, int min, char *out, size_t n)
{
    size_t nopt = 0;
    while (opts[nopt])
        nopt++;
    bool keep[32] = {false};
    int kept = 0;
    for (size_t i = 0; i < nopt && i < 32; i++)
        if (rng_chance(&d->rng, p))
            keep[i] = true, kept++;
    while (kept < min && kept < (int)nopt) {
        size_t i = rng_below(&d->rng, nopt);
        if (!keep[i])
            keep[i] = true, kept++;
    }
    out[0] = '\0';
    size_t len = 0;
    for (size_t i = 0; i < nopt && i < 32; i++)
        if (keep[i])
            len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s%s", len ? "、" : "",
                                    opts[i]);
}

/* ======================================================================== */
/* Records                                                                   */
/* ======================================================================== */

static void put_s(json_t *o, const char *k, const char *v)
{
    json_object_set_new(o, k, json_string(v));
}

static void put_i(json_t *o, const char *k, int64_t v)
{
    json_object_set_new(o, k, json_integer(v));
}

static void put_r(json_t *o, const char *k, double v)
{
    json_object_set_new(o, k, json_real(v));
}

static void put_b(json_t *o, const char *k, bool v)
{
    json_object_set_new(o, k, json_boolean(v));
}

/* Validate, insert and audit one record (rec is consumed). */
static yj_code rec_put(demo_ctx *d, const char *reg, json_t *rec, const demo_place *pl,
                       int64_t *id_out, yj_err *err)
{
    const yj_registry *r = registry_find(reg);
    if (r == NULL) {
        json_decref(rec);
        return yj_err_set(err, YJ_EINTERNAL, NULL, "no registry %s", reg);
    }
    put_s(rec, "region_code", pl->region);
    put_r(rec, "lat", round6(pl->lat));
    put_r(rec, "lon", round6(pl->lon));
    int64_t id = 0;
    yj_err e;
    yj_err_clear(&e);
    yj_code rc = registry_create_in(d->conn, &d->actor, r, rec, &id, &e);
    if (rc != YJ_OK) {
        const char *name = json_string_value(json_object_get(rec, "name"));
        yj_err_set(err, rc, e.field[0] ? e.field : NULL, "demo %s \"%s\": %s", reg,
                   name ? name : "?", e.message);
    } else {
        for (size_t i = 0; i < COUNT_OF(registry_order); i++)
            if (strcmp(registry_order[i], reg) == 0)
                d->counts[i]++;
        if (id_out)
            *id_out = id;
    }
    json_decref(rec);
    return rc;
}

/* ---- 应急救援队伍 rescue teams -------------------------------------------- */

typedef enum { ONCE_CITY, EACH_COUNTY, EACH_COAL_COUNTY, TOWNS_PER_COUNTY } team_where;

typedef struct {
    const char *name; /* template */
    const char *category;
    const char *specialties;
    int min, max; /* headcount */
    const char *equipment;
    const char *funding;
    team_where where;
} team_tpl;

static const team_tpl team_tpls[] = {
    {"晋城市矿山救护大队", "专业", "矿山救援、医疗救护", 120, 220,
     "正压氧气呼吸器、呼吸器校验仪、矿山救护车、多功能气体检测仪、高倍数泡沫灭火机、红外热成像仪",
     "财政拨款", ONCE_CITY},
    {"晋能控股集团晋城矿山救护大队", "专业", "矿山救援", 180, 260,
     "正压氧气呼吸器、矿山救护指挥车、惰性气体灭火装置、快速密闭装置、生命探测仪", "企业自筹",
     ONCE_CITY},
    {"晋城市消防救援支队特勤大队", "专业", "综合救援、危化品救援、地震救援", 90, 150,
     "抢险救援消防车、举高喷射消防车、化学洗消车、生命探测仪、液压破拆工具组", "财政拨款",
     ONCE_CITY},
    {"晋城市危险化学品应急救援队", "专业", "危化品救援", 40, 80,
     "重型防化服、正压式空气呼吸器、有毒气体检测仪、堵漏工具、洗消帐篷", "财政拨款、企业共建",
     ONCE_CITY},
    {"晋城市森林消防专业大队", "专业", "森林灭火", 60, 120,
     "风力灭火机、高压细水雾灭火机、森林消防水泵、无人机、卫星电话", "财政拨款", ONCE_CITY},
    {"晋城市蓝天救援队", "社会", "水域救援、山岳救援、地震救援", 60, 150,
     "冲锋舟、救生衣、无人机、绳索救援装备、卫星电话", "社会捐赠、政府购买服务", ONCE_CITY},
    {"晋城市红十字应急救护队", "社会", "医疗救护", 30, 80, "急救箱、AED除颤仪、担架、救灾帐篷",
     "红十字会、社会捐赠", ONCE_CITY},
    {"国网晋城供电公司电力应急抢修队", "专业", "电力抢修", 50, 120,
     "应急发电车、带电作业车、移动照明灯塔", "企业自筹", ONCE_CITY},
    {"中国移动晋城分公司应急通信保障队", "专业", "通信保障", 20, 60,
     "应急通信车、卫星便携站、系留无人机基站", "企业自筹", ONCE_CITY},
    {"晋城市公路应急抢通保障队", "专业", "道路抢通", 40, 100, "挖掘机、装载机、除雪车、自卸车",
     "财政拨款", ONCE_CITY},
    {"晋城市防汛抢险突击队", "专业", "防汛抢险、水域救援", 80, 200,
     "大功率水泵、排水抢险车、冲锋舟、编织袋、救生衣", "财政拨款", ONCE_CITY},
    {"晋城市急救中心医疗救援队", "专业", "医疗救护", 30, 60, "救护车、负压救护车、移动医疗方舱",
     "财政拨款", ONCE_CITY},
    {"晋城市地震灾害紧急救援队", "专业", "地震救援、综合救援", 40, 80,
     "生命探测仪、液压破拆工具组、搜救犬、救援照明设备", "财政拨款", ONCE_CITY},
    {"晋城市公羊应急救援队", "社会", "山岳救援、水域救援", 30, 80, "冲锋舟、绳索救援装备、无人机",
     "社会捐赠", ONCE_CITY},
    {"{C}矿山救护队", "专业", "矿山救援", 40, 90,
     "正压氧气呼吸器、矿山救护车、气体检测仪、局部通风机", "财政拨款、企业共建", EACH_COAL_COUNTY},
    {"{C}森林消防专业队", "专业", "森林灭火", 30, 60, "风力灭火机、二号工具、森林消防水泵、对讲机",
     "财政拨款", EACH_COUNTY},
    {"{C}蓝天救援队", "社会", "水域救援、山岳救援", 25, 70, "冲锋舟、救生衣、绳索救援装备、无人机",
     "社会捐赠、政府购买服务", EACH_COUNTY},
    {"{C}防汛抢险队", "专业", "防汛抢险", 40, 100, "大功率水泵、编织袋、铁锹、发电机", "财政拨款",
     EACH_COUNTY},
    {"{C}综合应急救援大队", "专业", "综合救援、防汛抢险、森林灭火", 50, 120,
     "抢险救援车、排水泵、破拆工具、照明设备", "财政拨款", EACH_COUNTY},
    {"{C}应急救援志愿者协会", "社会", "综合救援、医疗救护", 20, 60, "急救箱、担架、对讲机",
     "会员会费、社会捐赠", EACH_COUNTY},
    {"{t}应急救援队", "基层", "综合救援、防汛抢险、森林灭火", 15, 40,
     "风力灭火机、铁锹、编织袋、发电机", "乡镇财政", TOWNS_PER_COUNTY},
};

static yj_code team_create(demo_ctx *d, const team_tpl *t, size_t ci, demo_region *town,
                           yj_err *err)
{
    demo_place pl;
    yj_code rc = place_make(d, ci, town ? AT_TOWN : AT_COUNTY, town, NULL, &pl, err);
    if (rc != YJ_OK)
        return rc;
    char name[200], leader[64], phone[16], duty[16];
    expand(d, name, sizeof name, t->name, &pl);
    if (!set_add(&d->used, "team", name))
        return YJ_OK; /* two towns with the same name: one team is enough */
    person_name(d, leader, sizeof leader);
    phone_mobile(d, phone);
    phone_landline(d, duty);
    json_t *o = json_object();
    put_s(o, "name", name);
    put_s(o, "category", t->category);
    put_s(o, "specialties", t->specialties);
    put_i(o, "headcount", rng_int(&d->rng, t->min, t->max));
    put_s(o, "equipment", t->equipment);
    put_s(o, "funding", t->funding);
    put_s(o, "leader", leader);
    put_s(o, "contact_phone", phone);
    put_s(o, "duty_phone", duty);
    put_s(o, "address", pl.address);
    put_s(o, "status", rng_chance(&d->rng, 0.9) ? "待命" : "休整");
    if ((rc = rec_put(d, "rescue_team", o, &pl, NULL, err)) != YJ_OK)
        return rc;
    if (d->nteams < COUNT_OF(d->teams)) {
        snprintf(d->teams[d->nteams].name, sizeof d->teams[d->nteams].name, "%s", name);
        d->teams[d->nteams++].pl = pl;
    }
    return YJ_OK;
}

static yj_code gen_rescue_teams(demo_ctx *d, yj_err *err)
{
    yj_code rc = YJ_OK;
    for (size_t i = 0; rc == YJ_OK && i < COUNT_OF(team_tpls); i++) {
        const team_tpl *t = &team_tpls[i];
        for (size_t ci = 0; rc == YJ_OK && ci < NCOUNTY; ci++) {
            switch (t->where) {
            case ONCE_CITY:
                if (ci == C_CHENGQU)
                    rc = team_create(d, t, ci, random_town(d, ci), err);
                break;
            case EACH_COAL_COUNTY:
                if (ci != C_CHENGQU)
                    rc = team_create(d, t, ci, NULL, err);
                break;
            case EACH_COUNTY:
                rc = team_create(d, t, ci, NULL, err);
                break;
            case TOWNS_PER_COUNTY:
                for (int k = 0; rc == YJ_OK && k < 3; k++)
                    rc = team_create(d, t, ci, random_town(d, ci), err);
                break;
            }
        }
    }
    return rc;
}

/* ---- 专家库 experts ------------------------------------------------------ */

typedef struct {
    const char *field;
    int weight;
    const char *const *employers; /* NULL-terminated */
    const char *expertise;
} expert_tpl;

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})

static const expert_tpl expert_tpls[] = {
    {"矿山安全", 30,
     LIST("晋能控股装备制造集团有限公司", "山西兰花科技创业股份有限公司", "晋城市应急管理局",
          "太原理工大学", "中国矿业大学", "晋城职业技术学院", "山西晋城煤业集团技术研究院"),
     "瓦斯防治、矿井通风、煤矿水害防治、顶板管理"},
    {"危险化学品", 12,
     LIST("山西兰花科技创业股份有限公司化肥分公司", "山西天泽煤化工集团股份公司", "中北大学",
          "晋城市应急管理局"),
     "危险化学品储存与运输安全、HAZOP分析、泄漏处置"},
    {"地质灾害", 8,
     LIST("晋城市自然资源局", "山西省地质勘查局二一四地质队", "晋城市地质环境监测站"),
     "滑坡、崩塌、采空区地面塌陷的监测与治理"},
    {"防汛抗旱", 8, LIST("晋城市水务局", "晋城市水利勘测设计院", "山西省沁河水利管理局"),
     "河道防洪、水库大坝安全、山洪灾害防御"},
    {"森林防火", 8, LIST("晋城市林业局", "山西省太行山国有林管理局", "晋城市森林消防支队"),
     "森林火灾扑救指挥、林火监测预警"},
    {"地震", 3, LIST("晋城市地震监测中心站", "山西省地震局"), "地震监测、震害评估"},
    {"气象", 4, LIST("晋城市气象局"), "暴雨、冰雹、大风等灾害性天气预报预警"},
    {"消防", 6, LIST("晋城市消防救援支队", "晋城市消防协会"), "火灾扑救、消防安全评估"},
    {"医疗卫生", 8,
     LIST("晋城市人民医院", "晋城大医院", "晋城市急救中心", "晋城市疾病预防控制中心"),
     "紧急医学救援、创伤救治、突发公共卫生事件处置"},
    {"建筑施工", 6, LIST("晋城市住房和城乡建设局", "山西建筑工程集团有限公司晋城分公司"),
     "深基坑、高支模、起重机械安全"},
    {"交通运输", 4, LIST("晋城市交通运输局", "晋城市公路事业发展中心"), "道路运输安全、桥隧抢险"},
    {"电力", 4, LIST("国网晋城供电公司"), "电网应急抢修、应急供电保障"},
    {"特种设备", 4, LIST("晋城市特种设备监督检验所"), "锅炉、压力容器、起重机械检验"},
    {"冶金工贸", 5, LIST("晋城福盛钢铁有限公司", "晋城市应急管理局"),
     "煤气安全、粉尘防爆、有限空间作业"},
    {"应急管理", 6, LIST("晋城市应急管理局", "晋城市应急管理综合行政执法队", "中共晋城市委党校"),
     "应急预案编制、应急演练评估、事故调查"},
};

static const int title_weights[] = {20, 45, 30, 5};
static const char *const titles[] = {"正高级", "副高级", "中级", "初级"};
static const int city_heavy[NCOUNTY] = {10, 2, 2, 1, 3, 2};

static yj_code gen_experts(demo_ctx *d, int count, yj_err *err)
{
    int weights[COUNT_OF(expert_tpls)];
    for (size_t i = 0; i < COUNT_OF(expert_tpls); i++)
        weights[i] = expert_tpls[i].weight;
    for (int n = 0; n < count; n++) {
        const expert_tpl *t = &expert_tpls[rng_weighted(&d->rng, weights, COUNT_OF(weights))];
        size_t ci = rng_weighted(&d->rng, city_heavy, NCOUNTY);
        demo_place pl;
        yj_code rc = place_make(d, ci, AT_TOWN, NULL, NULL, &pl, err);
        if (rc != YJ_OK)
            return rc;
        size_t ne = 0;
        while (t->employers[ne])
            ne++;
        char name[64], phone[16];
        person_name(d, name, sizeof name);
        phone_mobile(d, phone);
        if (n == 0)
            snprintf(d->first_expert, sizeof d->first_expert, "%s", name);
        json_t *o = json_object();
        put_s(o, "name", name);
        put_s(o, "field", t->field);
        put_s(o, "title", titles[rng_weighted(&d->rng, title_weights, COUNT_OF(title_weights))]);
        put_s(o, "employer", t->employers[rng_below(&d->rng, ne)]);
        put_s(o, "phone", phone);
        put_b(o, "local_expert", rng_chance(&d->rng, 0.85));
        put_s(o, "expertise", t->expertise);
        put_s(o, "status", rng_chance(&d->rng, 0.95) ? "在库" : "暂停");
        if ((rc = rec_put(d, "expert", o, &pl, NULL, err)) != YJ_OK)
            return rc;
    }
    return YJ_OK;
}

/* ---- 应急物资仓库 warehouses ---------------------------------------------- */

typedef struct {
    const char *name;
    const char *tier;
    team_where where; /* ONCE_CITY, EACH_COUNTY or TOWNS_PER_COUNTY (two each) */
    int cap_min, cap_max;
} warehouse_tpl;

static const warehouse_tpl warehouse_tpls[] = {
    {"晋城市应急物资储备库", "市级", ONCE_CITY, 6000, 12000},
    {"晋城市防汛抗旱物资储备库", "市级", ONCE_CITY, 3000, 8000},
    {"晋城市森林防火物资储备库", "市级", ONCE_CITY, 2000, 5000},
    {"晋城市生活类救灾物资储备库", "市级", ONCE_CITY, 3000, 6000},
    {"{C}应急物资储备库", "县级", EACH_COUNTY, 800, 4000},
    {"{t}应急物资储备点", "乡级", TOWNS_PER_COUNTY, 100, 600},
};

static yj_code warehouse_create(demo_ctx *d, const warehouse_tpl *t, size_t ci, demo_level lv,
                                yj_err *err)
{
    demo_place pl;
    yj_code rc = place_make(d, ci, lv, NULL, NULL, &pl, err);
    if (rc != YJ_OK)
        return rc;
    char name[200], keeper[64], phone[16];
    expand(d, name, sizeof name, t->name, &pl);
    if (!set_add(&d->used, "warehouse", name))
        return YJ_OK;
    person_name(d, keeper, sizeof keeper);
    phone_mobile(d, phone);
    if (d->city_keeper[0] == '\0')
        snprintf(d->city_keeper, sizeof d->city_keeper, "%s", keeper);
    json_t *o = json_object();
    put_s(o, "name", name);
    put_s(o, "tier", t->tier);
    put_r(o, "capacity", (double)(rng_int(&d->rng, t->cap_min / 10, t->cap_max / 10) * 10));
    put_s(o, "keeper", keeper);
    put_s(o, "keeper_phone", phone);
    put_s(o, "address", pl.address);
    put_s(o, "status", rng_chance(&d->rng, 0.95) ? "在用" : "维修");
    return rec_put(d, "warehouse", o, &pl, NULL, err);
}

static yj_code gen_warehouses(demo_ctx *d, yj_err *err)
{
    yj_code rc = YJ_OK;
    for (size_t i = 0; rc == YJ_OK && i < COUNT_OF(warehouse_tpls); i++) {
        const warehouse_tpl *t = &warehouse_tpls[i];
        if (t->where == ONCE_CITY) {
            rc = warehouse_create(d, t, C_CHENGQU, AT_TOWN, err);
            continue;
        }
        for (size_t ci = 0; rc == YJ_OK && ci < NCOUNTY; ci++) {
            if (t->where == EACH_COUNTY)
                rc = warehouse_create(d, t, ci, AT_COUNTY, err);
            else
                for (int k = 0; rc == YJ_OK && k < 2; k++)
                    rc = warehouse_create(d, t, ci, AT_TOWN, err);
        }
    }
    return rc;
}

/* ---- 应急避难场所 shelters ------------------------------------------------ */

typedef struct {
    const char *cls;
    double area_min, area_max; /* m² */
    double m2_per_person;
} shelter_class;

static const shelter_class shelter_classes[] = {
    {"Ⅰ类", 50000, 300000, 2.0}, {"Ⅱ类", 10000, 50000, 1.5},    {"Ⅲ类", 2000, 10000, 1.5},
    {"室内型", 1000, 6000, 2.5}, {"综合性", 20000, 80000, 2.0}, {"乡村", 500, 3000, 1.5},
};

typedef struct {
    const char *name;
    const char *cls;
    demo_level level; /* where in the county */
    int per_county;   /* 0: only in 城区 as a city shelter */
} shelter_tpl;

static const shelter_tpl shelter_tpls[] = {
    {"晋城市白马寺山森林公园应急避难场所", "Ⅰ类", AT_TOWN, 0},
    {"晋城市泽州公园应急避难场所", "Ⅰ类", AT_TOWN, 0},
    {"晋城市体育中心应急避难场所", "Ⅱ类", AT_TOWN, 0},
    {"晋城市凤凰山公园应急避难场所", "Ⅱ类", AT_TOWN, 0},
    {"晋城市人民广场应急避难场所", "Ⅱ类", AT_TOWN, 0},
    {"晋城市文博中心室内应急避难场所", "室内型", AT_TOWN, 0},
    {"晋城市综合应急避难场所", "综合性", AT_TOWN, 0},
    {"{C}人民公园应急避难场所", "Ⅱ类", AT_COUNTY, 1},
    {"{C}体育馆室内应急避难场所", "室内型", AT_COUNTY, 1},
    {"{C}第一中学应急避难场所", "Ⅲ类", AT_COUNTY, 1},
    {"{C}综合应急避难场所", "综合性", AT_COUNTY, 1},
    {"{t}中心学校应急避难场所", "Ⅲ类", AT_TOWN, 2},
    {"{t}文化广场应急避难场所", "Ⅲ类", AT_TOWN, 2},
    {"{v}应急避难场所", "乡村", AT_VILLAGE, 3},
};

static const char *const shelter_facilities[] = {
    "应急供水", "应急供电", "应急厕所", "医疗救护", "物资储备", "应急广播",
    "应急照明", "消防设施", "排污设施", "停机坪",   NULL,
};

static yj_code shelter_create(demo_ctx *d, const shelter_tpl *t, size_t ci, yj_err *err)
{
    demo_place pl;
    yj_code rc = place_make(d, ci, t->level, NULL, NULL, &pl, err);
    if (rc != YJ_OK)
        return rc;
    char name[200], manager[64], phone[16], fac[256];
    expand(d, name, sizeof name, t->name, &pl);
    if (!set_add(&d->used, "shelter", name))
        return YJ_OK;
    const shelter_class *sc = &shelter_classes[0];
    for (size_t i = 0; i < COUNT_OF(shelter_classes); i++)
        if (strcmp(shelter_classes[i].cls, t->cls) == 0)
            sc = &shelter_classes[i];
    double area = (double)(int64_t)rng_real(&d->rng, sc->area_min, sc->area_max);
    person_name(d, manager, sizeof manager);
    if (rng_chance(&d->rng, 0.5))
        phone_mobile(d, phone);
    else
        phone_landline(d, phone);
    pick_tags(d, shelter_facilities, 0.45, 3, fac, sizeof fac);
    json_t *o = json_object();
    put_s(o, "name", name);
    put_s(o, "class", t->cls);
    put_i(o, "capacity", (int64_t)(area / sc->m2_per_person));
    put_r(o, "area", area);
    put_s(o, "facilities", fac);
    put_s(o, "manager", manager);
    put_s(o, "phone", phone);
    put_s(o, "address", pl.address);
    put_s(o, "status", rng_chance(&d->rng, 0.93) ? "可用" : "维护");
    return rec_put(d, "shelter", o, &pl, NULL, err);
}

static yj_code gen_shelters(demo_ctx *d, yj_err *err)
{
    yj_code rc = YJ_OK;
    for (size_t i = 0; rc == YJ_OK && i < COUNT_OF(shelter_tpls); i++) {
        const shelter_tpl *t = &shelter_tpls[i];
        if (t->per_county == 0) {
            rc = shelter_create(d, t, C_CHENGQU, err);
            continue;
        }
        for (size_t ci = 0; rc == YJ_OK && ci < NCOUNTY; ci++)
            for (int k = 0; rc == YJ_OK && k < t->per_county; k++)
                rc = shelter_create(d, t, ci, err);
    }
    return rc;
}

/* ---- 大型应急装备 large equipment ----------------------------------------- */

typedef struct {
    const char *type;
    const char *name;
    const char *model;
    int qmin, qmax;
} equipment_tpl;

static const equipment_tpl equipment_tpls[] = {
    {"挖掘机", "履带式挖掘机", "卡特彼勒 CAT320GC", 1, 2},
    {"挖掘机", "履带式挖掘机", "三一 SY215C", 1, 3},
    {"装载机", "轮式装载机", "柳工 CLG856H", 1, 2},
    {"推土机", "履带式推土机", "山推 SD16", 1, 1},
    {"起重机", "汽车起重机", "徐工 QY25K5", 1, 1},
    {"排水抢险车", "大流量排水抢险车", "龙吸水 3000m³/h", 1, 2},
    {"大功率水泵", "大功率潜水泵", "QJ 500m³/h", 2, 8},
    {"发电车", "应急电源车", "500kW", 1, 2},
    {"通信指挥车", "卫星通信指挥车", "Ka/Ku 双模卫星便携站", 1, 1},
    {"应急照明车", "移动照明车", "SFW5110 升降照明车", 1, 2},
    {"无人机", "多旋翼无人机", "大疆 M300 RTK", 1, 6},
    {"冲锋舟", "玻璃钢冲锋舟", "7.6米 40马力", 2, 10},
    {"救援机器人", "矿用防爆侦测机器人", "KQR48", 1, 2},
    {"生命探测仪", "雷达生命探测仪", "SJ-3000", 1, 4},
    {"破拆工具组", "液压破拆工具组", "荷马特 HOLMATRO", 1, 4},
    {"消防车", "水罐消防车", "SG80", 1, 3},
};

static yj_code gen_equipment(demo_ctx *d, int count, yj_err *err)
{
    if (d->nteams == 0)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "equipment needs rescue teams first");
    for (int n = 0; n < count; n++) {
        const equipment_tpl *t = &equipment_tpls[(size_t)n % COUNT_OF(equipment_tpls)];
        const demo_team *owner = &d->teams[rng_below(&d->rng, d->nteams)];
        demo_place pl = owner->pl;
        near_point(d, pl.county, pl.lon, pl.lat, 0.002, &pl.lon, &pl.lat);
        char code[40], phone[16], name[200];
        snprintf(code, sizeof code, "JC-ZB-%04d", n + 1);
        snprintf(name, sizeof name, "%s", t->name);
        phone_mobile(d, phone);
        json_t *o = json_object();
        put_s(o, "name", name);
        put_s(o, "code", code);
        put_s(o, "type", t->type);
        put_s(o, "model", t->model);
        put_s(o, "owner", owner->name);
        put_i(o, "quantity", rng_int(&d->rng, t->qmin, t->qmax));
        put_s(o, "contact_phone", phone);
        put_s(o, "status", rng_chance(&d->rng, 0.9) ? "完好" : "维修");
        yj_code rc = rec_put(d, "equipment", o, &pl, NULL, err);
        if (rc != YJ_OK)
            return rc;
    }
    return YJ_OK;
}

/* ---- 企业 enterprises and 重大危险源 major hazard sources ----------------- */

typedef struct {
    const char *category; /* hazard_source.category */
    const char *substances;
    const char *suffix;  /* appended to the enterprise name */
    double r_min, r_max; /* R value (GB 18218 grading) */
} hazard_kind;

typedef struct {
    const char *industry;
    int count;                /* generated enterprises */
    int hazards;              /* how many of them have major hazard sources */
    const char *const *names; /* name templates */
    const int *county_w;      /* NCOUNTY weights */
    const hazard_kind *kinds;
    size_t nkinds;
    double cap_min, cap_max; /* annual_capacity 万吨/年, 0 = none */
} industry_spec;

static const int w_coal[NCOUNTY] = {0, 4, 4, 2, 5, 4};
static const int w_urban[NCOUNTY] = {6, 1, 2, 1, 2, 3};
static const int w_even[NCOUNTY] = {2, 2, 2, 2, 3, 2};
static const int w_rural[NCOUNTY] = {0, 3, 3, 2, 3, 2};

static const hazard_kind hk_coal[] = {{"瓦斯", "甲烷（瓦斯）", "高瓦斯矿井", 20, 120}};
static const hazard_kind hk_chem[] = {
    {"危险化学品储罐区", "液氨", "液氨储罐区", 30, 300},
    {"危险化学品储罐区", "甲醇", "甲醇储罐区", 10, 120},
    {"危险化学品储罐区", "液化石油气", "液化石油气储罐区", 20, 150},
    {"生产装置", "合成氨、氢气、一氧化碳", "合成氨生产装置", 50, 400},
    {"危险化学品库区", "硝酸铵", "硝酸铵库区", 40, 200},
    {"危险化学品储罐区", "液化天然气", "LNG储罐区", 20, 160},
};
static const hazard_kind hk_mine[] = {{"尾矿库", "尾矿砂", "尾矿库", 5, 60}};
static const hazard_kind hk_metal[] = {
    {"粉尘爆炸", "铝镁粉尘", "抛光打磨粉尘区", 5, 40},
    {"其他", "高炉煤气（一氧化碳）", "煤气柜区", 20, 150},
    {"生产装置", "液氧、氧气", "制氧站", 10, 80},
};
static const hazard_kind hk_fireworks[] = {
    {"危险化学品库区", "烟花爆竹成品（1.3G/1.4G）", "烟花爆竹仓库", 10, 80},
};

#define KINDS(a) a, COUNT_OF(a)

/* Coal mines are made from their own template lists below; count here is
 * the number generated besides the named large mines. */
static const industry_spec industries[] = {
    {"煤矿", 56, 16,
     LIST("{C}{T}煤业有限公司", "山西{S}{T}煤业有限公司", "{C}{B}煤业有限公司",
          "山西{B}煤业集团有限公司{V}煤矿", "{C}{V}煤矿"),
     w_coal, KINDS(hk_coal), 60, 300},
    {"危险化学品", 30, 20,
     LIST("晋城市{B}化工有限公司", "山西{B}化工股份有限公司", "{C}{B}气体有限公司",
          "晋城市{B}燃气有限公司", "{C}{B}煤化工有限公司", "山西{B}化肥有限公司",
          "中国石化销售股份有限公司山西晋城{T}加油站",
          "中国石油天然气股份有限公司山西晋城{T}加油站"),
     w_even, KINDS(hk_chem), 0, 0},
    {"非煤矿山", 20, 6,
     LIST("{C}{T}建筑石料用灰岩矿", "{C}{V}石灰石矿", "{C}{B}铁矿有限公司", "{C}{B}铝矾土矿",
          "山西{B}矿业有限公司"),
     w_rural, KINDS(hk_mine), 5, 50},
    {"冶金工贸", 30, 8,
     LIST("{C}{B}铸造有限公司", "晋城{B}钢铁有限公司", "{C}{B}机械制造有限公司",
          "{C}{B}耐火材料有限公司", "{C}{B}陶瓷有限公司", "晋城市{B}铝业有限公司",
          "{C}{B}面粉有限公司", "{C}{B}纺织有限公司"),
     w_even, KINDS(hk_metal), 0, 0},
    {"烟花爆竹", 8, 3, LIST("{C}{B}烟花爆竹批发有限公司", "{C}{t}{B}烟花爆竹经营部"), w_even,
     KINDS(hk_fireworks), 0, 0},
    {"建筑施工", 25, 0,
     LIST("山西{B}建设集团有限公司", "晋城市{B}建筑工程有限公司", "{C}{B}建筑安装有限公司"),
     w_urban, NULL, 0, 0, 0},
    {"道路运输", 15, 0,
     LIST("晋城市{B}物流有限公司", "{C}{B}危险货物运输有限公司", "晋城市{B}汽车运输有限公司"),
     w_urban, NULL, 0, 0, 0},
    {"消防重点单位", 10, 0,
     LIST("晋城市{B}购物广场有限公司", "{C}{B}大酒店有限公司", "晋城{B}商贸有限公司"), w_urban,
     NULL, 0, 0, 0},
    {"其他", 6, 0, LIST("{C}{B}农业开发有限公司", "{C}{B}食品有限公司"), w_even, NULL, 0, 0, 0},
};

/* Large mines named as they are known locally (township by name). */
typedef struct {
    const char *name;
    size_t county;
    const char *town;
    double capacity;
} named_mine;

static const named_mine named_mines[] = {
    {"山西晋城无烟煤矿业集团有限责任公司寺河煤矿", C_QINSHUI, "嘉峰镇", 800},
    {"山西晋城无烟煤矿业集团有限责任公司成庄煤矿", C_ZEZHOU, "下村镇", 600},
    {"山西晋城无烟煤矿业集团有限责任公司长平煤矿", C_GAOPING, "马村镇", 500},
    {"山西晋城无烟煤矿业集团有限责任公司凤凰山煤矿", C_CHENGQU, "北石店镇", 240},
    {"山西晋城无烟煤矿业集团有限责任公司古书院煤矿", C_CHENGQU, "钟家庄街道", 240},
    {"山西晋城无烟煤矿业集团有限责任公司王台铺煤矿", C_CHENGQU, "北石店镇", 150},
    {"山西兰花科技创业股份有限公司望云煤矿", C_GAOPING, "野川镇", 300},
    {"山西兰花科技创业股份有限公司大阳煤矿", C_ZEZHOU, "大阳镇", 90},
    {"山西兰花科技创业股份有限公司唐安煤矿", C_GAOPING, "三甲镇", 90},
    {"山西兰花科技创业股份有限公司伯方煤矿", C_GAOPING, "建宁乡", 180},
    {"山西沁和能源集团有限公司永安煤矿", C_QINSHUI, "端氏镇", 120},
    {"山西阳城阳泰集团竹林山煤业有限公司", C_YANGCHENG, "次营镇", 90},
    {"山西晋煤集团沁秀煤业有限公司岳城煤矿", C_QINSHUI, "郑庄镇", 120},
    {"山西阳城皇城相府集团有限公司芹池煤矿", C_YANGCHENG, "芹池镇", 120},
    {"山西陵川崇安苏村煤业有限公司", C_LINGCHUAN, "附城镇", 90},
};

typedef struct {
    char name[200];
    const industry_spec *ind;
    demo_place pl;
    double capacity;
    bool hazard;
    int64_t id;
} demo_ent;

static const char *const scales[] = {"大型", "中型", "小型", "微型"};
static const int scale_w[] = {10, 30, 45, 15};
static const int scale_emp[][2] = {{1000, 5000}, {300, 1000}, {20, 300}, {5, 20}};
static const char *const std_grades[] = {"一级", "二级", "三级", "未达标"};
static const int std_w[] = {10, 45, 40, 5};

static bool is_coal(const industry_spec *ind)
{
    return ind == &industries[0];
}

static yj_code enterprise_plan(demo_ctx *d, demo_ent *e, size_t *n, size_t max, yj_err *err)
{
    yj_code rc;
    *n = 0;
    for (size_t i = 0; i < COUNT_OF(named_mines) && *n < max; i++) {
        demo_ent *x = &e[(*n)++];
        memset(x, 0, sizeof *x);
        const named_mine *m = &named_mines[i];
        if ((rc = place_make(d, m->county, AT_TOWN, find_town(d, m->county, m->town), NULL, &x->pl,
                             err)) != YJ_OK)
            return rc;
        snprintf(x->name, sizeof x->name, "%s", m->name);
        set_add(&d->used, "enterprise", x->name);
        x->ind = &industries[0];
        x->capacity = m->capacity;
    }
    for (size_t k = 0; k < COUNT_OF(industries); k++) {
        const industry_spec *ind = &industries[k];
        size_t ntpl = 0;
        while (ind->names[ntpl])
            ntpl++;
        for (int j = 0; j < ind->count && *n < max; j++) {
            demo_ent *x = &e[*n];
            memset(x, 0, sizeof *x);
            x->ind = ind;
            bool ok = false;
            for (int tries = 0; tries < 40 && !ok; tries++) {
                size_t ci = rng_weighted(&d->rng, ind->county_w, NCOUNTY);
                demo_level lv = rng_chance(&d->rng, 0.5) ? AT_VILLAGE : AT_TOWN;
                if ((rc = place_make(d, ci, lv, NULL, NULL, &x->pl, err)) != YJ_OK)
                    return rc;
                expand(d, x->name, sizeof x->name, ind->names[rng_below(&d->rng, ntpl)], &x->pl);
                ok = set_add(&d->used, "enterprise", x->name);
            }
            if (!ok)
                continue;
            if (ind->cap_max > 0)
                x->capacity = (double)rng_int(&d->rng, (int)ind->cap_min, (int)ind->cap_max);
            (*n)++;
        }
    }
    /* Major hazard sources: the first `hazards` eligible enterprises of each
     * industry (filling stations are not major hazards). */
    for (size_t k = 0; k < COUNT_OF(industries); k++) {
        int left = industries[k].hazards;
        for (size_t i = 0; i < *n && left > 0; i++)
            if (e[i].ind == &industries[k] && !strstr(e[i].name, "加油站")) {
                e[i].hazard = true;
                left--;
            }
    }
    return YJ_OK;
}

static yj_code enterprise_create(demo_ctx *d, demo_ent *x, yj_err *err)
{
    char credit[19], legal[64], director[64], phone[16];
    credit_code(d, counties[x->pl.county].code, credit);
    person_name(d, legal, sizeof legal);
    person_name(d, director, sizeof director);
    phone_mobile(d, phone);
    const char *scale;
    int emp;
    if (is_coal(x->ind)) {
        scale = x->capacity >= 120 ? "大型" : x->capacity >= 45 ? "中型" : "小型";
        emp = (int)(x->capacity * rng_real(&d->rng, 6, 12)) + rng_int(&d->rng, 100, 300);
    } else {
        size_t s = rng_weighted(&d->rng, scale_w, COUNT_OF(scale_w));
        if (x->hazard && s > 1)
            s = 1; /* a major hazard source means at least a medium plant */
        scale = scales[s];
        emp = rng_int(&d->rng, scale_emp[s][0], scale_emp[s][1]);
    }
    static const int status_w[] = {88, 6, 4, 2};
    static const char *const statuses[] = {"正常生产", "停产整顿", "在建", "关闭"};
    json_t *o = json_object();
    put_s(o, "name", x->name);
    put_s(o, "credit_code", credit);
    put_s(o, "industry", x->ind->industry);
    put_s(o, "scale", scale);
    put_s(o, "address", x->pl.address);
    put_s(o, "legal_rep", legal);
    put_s(o, "safety_director", director);
    put_s(o, "safety_phone", phone);
    put_i(o, "employees", emp);
    if (x->capacity > 0)
        put_r(o, "annual_capacity", x->capacity);
    put_b(o, "major_hazard", x->hazard);
    put_s(o, "std_grade",
          is_coal(x->ind) ? (rng_chance(&d->rng, 0.4) ? "一级" : "二级")
                          : std_grades[rng_weighted(&d->rng, std_w, COUNT_OF(std_w))]);
    bool first_mine = d->mine_id == 0 && is_coal(x->ind);
    put_s(o, "status",
          first_mine ? "正常生产" : statuses[rng_weighted(&d->rng, status_w, COUNT_OF(status_w))]);
    yj_code rc = rec_put(d, "enterprise", o, &x->pl, &x->id, err);
    if (rc == YJ_OK && first_mine) {
        d->mine_id = x->id;
        snprintf(d->mine_director, sizeof d->mine_director, "%s", director);
        snprintf(d->mine_county, sizeof d->mine_county, "%s", counties[x->pl.county].code);
    }
    return rc;
}

static const char *hazard_level(double r)
{
    return r >= 100 ? "一级" : r >= 50 ? "二级" : r >= 10 ? "三级" : "四级";
}

static yj_code hazard_create(demo_ctx *d, const demo_ent *x, const hazard_kind *k, int seq,
                             yj_err *err)
{
    char name[240], code[40], person[64], phone[16];
    snprintf(name, sizeof name, "%s%s", x->name, k->suffix);
    snprintf(code, sizeof code, "WX-%s-%d-%03d", counties[x->pl.county].code,
             rng_int(&d->rng, 2018, 2024), seq);
    person_name(d, person, sizeof person);
    phone_mobile(d, phone);
    double r = round6((double)(int64_t)(rng_real(&d->rng, k->r_min, k->r_max) * 10) / 10);
    json_t *o = json_object();
    put_s(o, "name", name);
    put_s(o, "code", code);
    put_i(o, "enterprise_id", x->id);
    put_s(o, "level", hazard_level(r));
    put_s(o, "category", k->category);
    put_s(o, "substances", k->substances);
    put_r(o, "r_value", r);
    put_s(o, "responsible", person);
    put_s(o, "phone", phone);
    put_s(o, "status", "在役");
    return rec_put(d, "hazard_source", o, &x->pl, NULL, err);
}

static yj_code gen_enterprises(demo_ctx *d, yj_err *err)
{
    size_t max = COUNT_OF(named_mines);
    for (size_t k = 0; k < COUNT_OF(industries); k++)
        max += (size_t)industries[k].count;
    demo_ent *e = calloc(max, sizeof *e);
    if (e == NULL)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
    size_t n = 0;
    yj_code rc = enterprise_plan(d, e, &n, max, err);
    for (size_t i = 0; rc == YJ_OK && i < n; i++)
        rc = enterprise_create(d, &e[i], err);
    int seq = 0;
    for (size_t i = 0; rc == YJ_OK && i < n; i++) {
        if (!e[i].hazard || e[i].ind->nkinds == 0)
            continue;
        const hazard_kind *k = &e[i].ind->kinds[rng_below(&d->rng, e[i].ind->nkinds)];
        rc = hazard_create(d, &e[i], k, ++seq, err);
        /* some chemical plants have a second source (tank farm + process unit) */
        if (rc == YJ_OK && e[i].ind->nkinds > 1 && rng_chance(&d->rng, 0.3)) {
            const hazard_kind *k2 = &e[i].ind->kinds[rng_below(&d->rng, e[i].ind->nkinds)];
            if (k2 != k)
                rc = hazard_create(d, &e[i], k2, ++seq, err);
        }
    }
    free(e);
    return rc;
}

/* ---- 灾害信息员 informants ------------------------------------------------ */

static yj_code informant_create(demo_ctx *d, const char *level, const demo_place *pl, yj_err *err)
{
    char name[64], phone[16];
    person_name(d, name, sizeof name);
    phone_mobile(d, phone);
    bool village = strcmp(level, "村级") == 0;
    if (village && d->informant_region[0] == '\0' && pl->county == C_ZEZHOU &&
        ends_with(pl->village->name, "村委会")) {
        snprintf(d->informant_name, sizeof d->informant_name, "%s", name);
        snprintf(d->informant_region, sizeof d->informant_region, "%s", pl->region);
    }
    json_t *o = json_object();
    put_s(o, "name", name);
    put_s(o, "phone", phone);
    put_s(o, "level", level);
    put_s(o, "kind", village && rng_chance(&d->rng, 0.35) ? "网格员" : "灾害信息员");
    if (rng_chance(&d->rng, 0.3)) {
        char backup[16];
        phone_mobile(d, backup);
        put_s(o, "backup_phone", backup);
    }
    put_s(o, "status", rng_chance(&d->rng, 0.97) ? "在岗" : "离岗");
    return rec_put(d, "informant", o, pl, NULL, err);
}

/* Four levels (001:L121 市县乡村): 4 for the city, 2 per county, one per
 * township, one per village of 泽州县. */
static yj_code gen_informants(demo_ctx *d, yj_err *err)
{
    demo_place pl;
    yj_code rc = YJ_OK;
    for (int k = 0; rc == YJ_OK && k < 4; k++)
        if ((rc = place_make(d, C_CHENGQU, AT_TOWN, NULL, NULL, &pl, err)) == YJ_OK)
            rc = informant_create(d, "市级", &pl, err);
    for (size_t ci = 0; rc == YJ_OK && ci < NCOUNTY; ci++)
        for (int k = 0; rc == YJ_OK && k < 2; k++)
            if ((rc = place_make(d, ci, AT_COUNTY, NULL, NULL, &pl, err)) == YJ_OK)
                rc = informant_create(d, "县级", &pl, err);
    for (size_t ci = 0; rc == YJ_OK && ci < NCOUNTY; ci++)
        for (size_t t = 0; rc == YJ_OK && t < d->county[ci].ntowns; t++)
            if ((rc = place_make(d, ci, AT_TOWN, &d->regions[d->county[ci].towns[t]], NULL, &pl,
                                 err)) == YJ_OK)
                rc = informant_create(d, "乡级", &pl, err);
    const demo_county *zz = &d->county[C_ZEZHOU];
    for (size_t v = 0; rc == YJ_OK && v < zz->nvillages; v++)
        if ((rc = place_make(d, C_ZEZHOU, AT_VILLAGE, NULL, &d->regions[zz->villages[v]], &pl,
                             err)) == YJ_OK)
            rc = informant_create(d, "村级", &pl, err);
    return rc;
}

/* ---- 值班联系人 duty contacts --------------------------------------------- */

typedef struct {
    const char *org; /* template */
    const char *post;
    const char *duty_role;
    bool fax;
    bool each_county; /* else once for the city */
} contact_tpl;

static const contact_tpl contact_tpls[] = {
    {"晋城市应急管理局", "局长", "主要负责人", true, false},
    {"晋城市应急管理局", "副局长", "分管负责人", false, false},
    {"晋城市应急管理局", "副局长", "分管负责人", false, false},
    {"晋城市应急管理局", "指挥中心值班员", "值班员", true, false},
    {"晋城市应急管理局", "指挥中心值班员", "值班员", true, false},
    {"晋城市应急管理局", "指挥中心值班员", "值班员", true, false},
    {"晋城市应急管理局", "办公室主任", "联络员", false, false},
    {"晋城市消防救援支队", "作战训练科科长", "联络员", true, false},
    {"晋城市气象局", "气象台台长", "联络员", false, false},
    {"晋城市水务局", "防汛办主任", "联络员", false, false},
    {"晋城市自然资源局", "地质灾害防治科科长", "联络员", false, false},
    {"晋城市公安局交通警察支队", "指挥中心主任", "联络员", false, false},
    {"国网晋城供电公司", "安全监察部主任", "联络员", false, false},
    {"{C}应急管理局", "局长", "主要负责人", true, true},
    {"{C}应急管理局", "副局长", "分管负责人", false, true},
    {"{C}应急管理局", "值班员", "值班员", true, true},
};

static yj_code contact_create(demo_ctx *d, const contact_tpl *t, size_t ci, yj_err *err)
{
    demo_place pl;
    yj_code rc = place_make(d, ci, AT_COUNTY, NULL, NULL, &pl, err);
    if (rc != YJ_OK)
        return rc;
    char org[200], name[64], phone[16], office[16];
    expand(d, org, sizeof org, t->org, &pl);
    person_name(d, name, sizeof name);
    phone_mobile(d, phone);
    phone_landline(d, office);
    json_t *o = json_object();
    put_s(o, "name", name);
    put_s(o, "org", org);
    put_s(o, "post", t->post);
    put_s(o, "duty_role", t->duty_role);
    put_s(o, "phone", phone);
    put_s(o, "office_phone", office);
    if (t->fax) {
        char fax[16];
        phone_landline(d, fax);
        put_s(o, "fax", fax);
    }
    return rec_put(d, "duty_contact", o, &pl, NULL, err);
}

static yj_code gen_duty_contacts(demo_ctx *d, yj_err *err)
{
    yj_code rc = YJ_OK;
    for (size_t i = 0; rc == YJ_OK && i < COUNT_OF(contact_tpls); i++) {
        const contact_tpl *t = &contact_tpls[i];
        if (!t->each_county)
            rc = contact_create(d, t, C_CHENGQU, err);
        for (size_t ci = 0; t->each_county && rc == YJ_OK && ci < NCOUNTY; ci++)
            rc = contact_create(d, t, ci, err);
    }
    return rc;
}

/* ======================================================================== */
/* Logins                                                                    */
/* ======================================================================== */

typedef struct {
    const char *username;
    yj_role role;
    const char *region; /* NULL: filled in from the generated data */
} login_tpl;

static const login_tpl login_tpls[] = {
    {"admin", YJ_ROLE_ADMIN, "1405"},         {"duty", YJ_ROLE_DUTY, "1405"},
    {"commander", YJ_ROLE_COMMANDER, "1405"}, {"supervisor", YJ_ROLE_SUPERVISOR, "1405"},
    {"inspector", YJ_ROLE_INSPECTOR, "1405"}, {"warehouse", YJ_ROLE_WAREHOUSE, "1405"},
    {"enterprise", YJ_ROLE_ENTERPRISE, NULL}, {"informant", YJ_ROLE_INFORMANT, NULL},
    {"expert", YJ_ROLE_EXPERT, "1405"},       {"duty_zezhou", YJ_ROLE_DUTY, "140525"},
    {"duty_gaoping", YJ_ROLE_DUTY, "140581"}, {"supervisor_qinshui", YJ_ROLE_SUPERVISOR, "140521"},
};

/* 12 characters without look-alikes (no 0/O, 1/l/I). */
static void random_password(char *out)
{
    static const char alphabet[] = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    const size_t na = sizeof alphabet - 1;
    const unsigned limit = (unsigned)(256 / na * na); /* reject to avoid modulo bias */
    size_t got = 0;
    while (got < 12) {
        char hex[65];
        yj_random_hex(32, hex);
        for (size_t i = 0; i < 32 && got < 12; i++) {
            unsigned v = (unsigned)strtoul((char[3]){hex[2 * i], hex[2 * i + 1], '\0'}, NULL, 16);
            if (v < limit)
                out[got++] = alphabet[v % na];
        }
    }
    out[12] = '\0';
}

static yj_code write_logins(const char *path, const json_t *logins, yj_err *err)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return yj_err_set(err, YJ_EIO, NULL, "cannot write %s: %s", tmp, strerror(errno));
    (void)fchmod(fd, 0600); /* in case the file existed with wider rights */
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(tmp);
        return yj_err_set(err, YJ_EIO, NULL, "cannot write %s: %s", tmp, strerror(errno));
    }
    int bad = json_dumpf(logins, f, JSON_INDENT(2)) != 0;
    bad |= fputc('\n', f) == EOF;
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return yj_err_set(err, YJ_EIO, NULL, "cannot write %s: %s", path, strerror(e));
    }
    return YJ_OK;
}

/* One login to create.  user_add() spends most of its time in argon2id
 * (64 MiB, by design slow), before it takes a connection, so a few workers
 * run them side by side; the rows are still printed in table order. */
typedef struct {
    yj_store *store;
    const login_tpl *t;
    char name[64];
    char region[16];
    char password[260];
    int64_t enterprise;
    yj_code rc;
    yj_err err;
} login_job;

typedef struct {
    login_job *jobs;
    size_t n, next;
    pthread_mutex_t mu;
} login_queue;

static void *login_worker(void *arg)
{
    login_queue *q = arg;
    for (;;) {
        pthread_mutex_lock(&q->mu);
        size_t i = q->next++;
        pthread_mutex_unlock(&q->mu);
        if (i >= q->n)
            return NULL;
        login_job *j = &q->jobs[i];
        int64_t id = 0;
        yj_err_clear(&j->err);
        j->rc = user_add(j->store, "demo", j->t->username, j->password, j->t->role, j->region,
                         j->name, j->enterprise, &id, &j->err);
    }
}

static void login_run_all(login_queue *q)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nthreads = cpus < 1 ? 1 : cpus > 4 ? 4 : (size_t)cpus; /* 64 MiB each */
    pthread_t th[4];
    size_t started = 0;
    for (; started < nthreads && started < q->n; started++)
        if (pthread_create(&th[started], NULL, login_worker, q) != 0)
            break;
    if (started == 0)
        login_worker(q);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
}

static yj_code create_logins(yj_store *s, demo_ctx *d, const yj_demo_opts *o, const char *path,
                             FILE *out, yj_err *err)
{
    login_job jobs[COUNT_OF(login_tpls)];
    memset(jobs, 0, sizeof jobs);
    for (size_t i = 0; i < COUNT_OF(login_tpls); i++) {
        login_job *j = &jobs[i];
        j->store = s;
        j->t = &login_tpls[i];
        snprintf(j->region, sizeof j->region, "%s", j->t->region ? j->t->region : "1405");
        person_name(d, j->name, sizeof j->name);
        switch (j->t->role) { /* tie the login to the person in the data */
        case YJ_ROLE_ENTERPRISE:
            snprintf(j->region, sizeof j->region, "%s", d->mine_county);
            snprintf(j->name, sizeof j->name, "%s", d->mine_director);
            j->enterprise = d->mine_id;
            break;
        case YJ_ROLE_INFORMANT:
            snprintf(j->region, sizeof j->region, "%s", d->informant_region);
            snprintf(j->name, sizeof j->name, "%s", d->informant_name);
            break;
        case YJ_ROLE_EXPERT:
            snprintf(j->name, sizeof j->name, "%s", d->first_expert);
            break;
        case YJ_ROLE_WAREHOUSE:
            snprintf(j->name, sizeof j->name, "%s", d->city_keeper);
            break;
        default:
            break;
        }
        if (o->password)
            snprintf(j->password, sizeof j->password, "%s", o->password);
        else
            random_password(j->password);
    }
    login_queue q = {.jobs = jobs, .n = COUNT_OF(jobs), .next = 0};
    pthread_mutex_init(&q.mu, NULL);
    login_run_all(&q);
    pthread_mutex_destroy(&q.mu);

    yj_code rc = YJ_OK;
    for (size_t i = 0; rc == YJ_OK && i < COUNT_OF(jobs); i++)
        if (jobs[i].rc != YJ_OK) {
            rc = yj_err_set(err, jobs[i].rc, jobs[i].err.field[0] ? jobs[i].err.field : NULL,
                            "demo user %s: %s", jobs[i].t->username, jobs[i].err.message);
        }
    json_t *logins = json_array();
    if (rc == YJ_OK && out)
        fprintf(out, "\n%-20s %-14s %-12s %-14s %s\n", "username", "password", "role", "region",
                "name");
    for (size_t i = 0; rc == YJ_OK && i < COUNT_OF(jobs); i++) {
        const login_job *j = &jobs[i];
        json_array_append_new(logins,
                              json_pack("{s:s,s:s,s:s,s:s,s:s}", "username", j->t->username,
                                        "password", j->password, "role", role_name(j->t->role),
                                        "region_code", j->region, "name", j->name));
        if (out)
            fprintf(out, "%-20s %-14s %-12s %-14s %s\n", j->t->username, j->password,
                    role_name(j->t->role), j->region, j->name);
    }
    if (rc == YJ_OK && path)
        rc = write_logins(path, logins, err);
    if (rc == YJ_OK && out && path)
        fprintf(out, "\nlogins written to %s (mode 0600)\n", path);
    json_decref(logins);
    return rc;
}

/* ======================================================================== */
/* Entry point                                                               */
/* ======================================================================== */

static void ctx_free(demo_ctx *d)
{
    for (size_t i = 0; i < NCOUNTY; i++) {
        for (size_t r = 0; r < d->county[i].nrings; r++)
            free(d->county[i].rings[r].xy);
        free(d->county[i].rings);
        free(d->county[i].towns);
        free(d->county[i].villages);
    }
    free(d->regions);
    set_free(&d->used);
}

/* Refuse to add a second city on top of existing data. */
static yj_code check_empty(yj_conn *c, yj_err *err)
{
    for (size_t i = 0; i < COUNT_OF(registry_order); i++) {
        char sql[128];
        int64_t n = 0;
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", registry_order[i]);
        yj_code rc = yj_query_int(c, sql, NULL, &n, err);
        if (rc != YJ_OK)
            return rc;
        if (n > 0)
            return yj_err_set(
                err, YJ_ECONFLICT, NULL,
                "the database already has %s records; the demo needs an empty database",
                registry_order[i]);
    }
    return YJ_OK;
}

typedef yj_code (*gen_fn)(demo_ctx *d, yj_err *err);

/* ---- monitoring (monitor_demo.c): placement lent through callbacks --------- */

static yj_code monitor_place(void *geo, const char *county, const char *town, char region[16],
                             double *lat, double *lon, char *address, size_t naddr, yj_err *err)
{
    demo_ctx *d = geo;
    long ci = county_index(county);
    if (ci < 0)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "%s is not a county of 晋城", county);
    demo_place pl;
    yj_code rc = place_make(d, (size_t)ci, AT_TOWN, town ? find_town(d, (size_t)ci, town) : NULL,
                            NULL, &pl, err);
    if (rc == YJ_OK) {
        snprintf(region, 16, "%s", pl.region);
        *lat = round6(pl.lat);
        *lon = round6(pl.lon);
        snprintf(address, naddr, "%s", pl.address);
    }
    return rc;
}

static bool monitor_inside(void *geo, const char *county, double lat, double lon)
{
    long ci = county_index(county);
    return ci >= 0 && point_ok(geo, (size_t)ci, lon, lat);
}

static yj_code gen_experts_default(demo_ctx *d, yj_err *err)
{
    return gen_experts(d, 125, err);
}

static yj_code gen_equipment_default(demo_ctx *d, yj_err *err)
{
    return gen_equipment(d, 40, err);
}

/* ---- 预警叫应 who warnings reach (M3) ------------------------------------------
 * Responsible people (叫应责任人) of the city, every county, township and
 * village (two in call order where a deputy stands in); a loudspeaker in
 * each village; four households per village with their members, about one
 * in eight of them vulnerable (老/幼/病/残/孕) with a one-to-one contact
 * (包保联系人, 004:L188).  So a warning anywhere in the city reaches
 * people, as one made from any demo alarm does. */

static yj_code person_put(demo_ctx *d, const char *level, const char *post, int order,
                          const demo_place *pl, yj_err *err)
{
    char name[64], phone[16];
    person_name(d, name, sizeof name);
    phone_mobile(d, phone);
    json_t *o = json_object();
    put_s(o, "name", name);
    put_s(o, "phone", phone);
    put_s(o, "level", level);
    put_s(o, "post", post);
    put_i(o, "call_order", order);
    put_s(o, "status", "在岗");
    return rec_put(d, "responsible_person", o, pl, NULL, err);
}

static yj_code village_people(demo_ctx *d, size_t ci, demo_region *village, yj_err *err)
{
    demo_place pl;
    yj_code rc = place_make(d, ci, AT_VILLAGE, NULL, village, &pl, err);
    if (rc == YJ_OK)
        rc = person_put(d, "村级",
                        ends_with(village->name, "社区居民委员会") ? "社区书记" : "村支书", 1, &pl,
                        err);
    if (rc == YJ_OK)
        rc = person_put(d, "村级",
                        ends_with(village->name, "社区居民委员会") ? "社区主任" : "村主任", 2, &pl,
                        err);
    if (rc == YJ_OK) {
        json_t *o = json_object();
        char code[40], name[200];
        snprintf(code, sizeof code, "GB%s01", village->code);
        snprintf(name, sizeof name, "%s应急广播", village->place);
        put_s(o, "code", code);
        put_s(o, "name", name);
        put_s(o, "kind", ends_with(village->name, "社区居民委员会") ? "室外音柱" : "村级大喇叭");
        put_i(o, "coverage_m", rng_int(&d->rng, 400, 900));
        put_s(o, "status", rng_chance(&d->rng, 0.97) ? "正常" : "故障");
        rc = rec_put(d, "broadcast_terminal", o, &pl, NULL, err);
    }
    static const char *const kinds[] = {"老", "老", "老", "病", "残", "孕", "幼"};
    for (int h = 1; rc == YJ_OK && h <= 4; h++) {
        demo_place hp;
        if ((rc = place_make(d, ci, AT_VILLAGE, NULL, village, &hp, err)) != YJ_OK)
            break;
        char head[64], hcode[40], hphone[16];
        person_name(d, head, sizeof head);
        phone_mobile(d, hphone);
        snprintf(hcode, sizeof hcode, "H%s%02d", village->code, h);
        int members = rng_int(&d->rng, 1, 5);
        json_t *o = json_object();
        put_s(o, "code", hcode);
        put_s(o, "name", head);
        put_s(o, "phone", hphone);
        put_s(o, "address", hp.address);
        put_i(o, "members", members);
        int64_t hid = 0;
        if ((rc = rec_put(d, "household", o, &hp, &hid, err)) != YJ_OK)
            break;
        for (int m = 1; rc == YJ_OK && m <= members; m++) {
            char rname[64], rcode[40], phone[16];
            if (m == 1)
                snprintf(rname, sizeof rname, "%s", head);
            else
                person_name(d, rname, sizeof rname);
            snprintf(rcode, sizeof rcode, "R%s%02d%d", village->code, h, m);
            json_t *r = json_object();
            put_s(r, "code", rcode);
            put_s(r, "name", rname);
            if (m == 1)
                put_s(r, "phone", hphone);
            else if (rng_chance(&d->rng, 0.7)) {
                phone_mobile(d, phone);
                put_s(r, "phone", phone);
            }
            put_i(r, "household_id", hid);
            if (rng_chance(&d->rng, 0.12)) {
                json_t *tags = json_array();
                json_array_append_new(tags, json_string(PICK(&d->rng, kinds)));
                json_object_set_new(r, "vulnerable", tags);
                char cname[64], cphone[16];
                person_name(d, cname, sizeof cname);
                phone_mobile(d, cphone);
                put_s(r, "contact_name", cname);
                put_s(r, "contact_phone", cphone);
            }
            put_s(r, "status", rng_chance(&d->rng, 0.9) ? "在册" : "外出");
            rc = rec_put(d, "resident", r, &hp, NULL, err);
        }
    }
    return rc;
}

static yj_code gen_callup(demo_ctx *d, yj_err *err)
{
    demo_place pl;
    yj_code rc = place_make(d, C_CHENGQU, AT_COUNTY, NULL, NULL, &pl, err);
    if (rc == YJ_OK) {
        snprintf(pl.region, sizeof pl.region, "1405");
        rc = person_put(d, "市级", "市应急管理局局长", 1, &pl, err);
    }
    for (size_t ci = 0; rc == YJ_OK && ci < NCOUNTY; ci++) {
        if ((rc = place_make(d, ci, AT_COUNTY, NULL, NULL, &pl, err)) == YJ_OK)
            rc = person_put(d, "县级", "应急管理局局长", 1, &pl, err);
        if (rc == YJ_OK)
            rc = person_put(d, "县级", "应急管理局副局长", 2, &pl, err);
        for (size_t t = 0; rc == YJ_OK && t < d->county[ci].ntowns; t++) {
            demo_region *town = &d->regions[d->county[ci].towns[t]];
            if ((rc = place_make(d, ci, AT_TOWN, town, NULL, &pl, err)) == YJ_OK)
                rc = person_put(d, "乡级",
                                ends_with(town->name, "街道办事处") ? "街道办主任" : "镇长", 1, &pl,
                                err);
            if (rc == YJ_OK)
                rc = person_put(d, "乡级", "分管应急工作副职", 2, &pl, err);
        }
    }
    for (size_t ci = 0; rc == YJ_OK && ci < NCOUNTY; ci++) {
        const demo_county *cy = &d->county[ci];
        for (size_t v = 0; rc == YJ_OK && v < cy->nvillages; v++)
            rc = village_people(d, ci, &d->regions[cy->villages[v]], err);
    }
    return rc;
}

/* The registry module's part, in order: equipment is owned by teams,
 * hazards by enterprises. */
static const gen_fn generators[] = {
    gen_rescue_teams,      gen_experts_default, gen_warehouses, gen_shelters,
    gen_equipment_default, gen_enterprises,     gen_informants, gen_duty_contacts,
};

yj_code demo_registry_records(yj_demo *yd, yj_err *err)
{
    demo_ctx *d = yd->geo;
    yj_code rc = YJ_OK;
    for (size_t i = 0; rc == YJ_OK && i < COUNT_OF(generators); i++)
        rc = generators[i](d, err);
    return rc;
}

yj_code demo_warning_people(yj_demo *yd, yj_err *err)
{
    return gen_callup(yd->geo, err);
}

/* The handle a module's part gets.  The parts in this file draw from the
 * city's stream directly.  Any other module's part gets the stream's next
 * value as its own seed and borrows the stream (for placement) only for
 * its turn: the caller puts it back afterwards, so adding a module changes
 * no other module's data. */
static bool own_part(yj_code (*fn)(yj_demo *, yj_err *))
{
    return fn == demo_registry_records || fn == demo_warning_people;
}

static yj_demo module_handle(demo_ctx *d)
{
    return (yj_demo){.conn = d->conn,
                     .actor = &d->actor,
                     .seed = rng_next(&d->rng),
                     .out = d->out,
                     .geo = d,
                     .place = monitor_place,
                     .inside = monitor_inside};
}

yj_code demo_create(yj_store *s, const yj_demo_opts *o, const char *logins_json_path, FILE *out,
                    yj_err *err)
{
    int64_t t0 = yj_now_ms();
    const char *dir = o && o->data_dir ? o->data_dir : "build/data";
    if (o && o->password && strlen(o->password) < YJ_PASSWORD_MIN)
        return yj_err_set(err, YJ_EINVAL, "password",
                          "the demo password needs at least %d characters", YJ_PASSWORD_MIN);
    char regions_path[4096], bounds_path[4096];
    snprintf(regions_path, sizeof regions_path, "%s/regions.csv", dir);
    snprintf(bounds_path, sizeof bounds_path, "%s/boundaries.geojson", dir);

    app_init(); /* idempotent; makes sure the registries are derived */
    demo_ctx *d = calloc(1, sizeof *d);
    if (d == NULL)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
    d->rng.s = 0x5eed0000a11ce5ULL ^ (uint64_t)(o ? o->seed : 0);
    d->out = out;
    d->actor = (yj_user){.id = 0,
                         .username = "demo",
                         .name = "演示数据",
                         .role = YJ_ROLE_ADMIN,
                         .region = "1405",
                         .enterprise_id = 0};

    yj_code rc = load_regions(d, regions_path, err);
    yj_conn *c = NULL;
    if (rc == YJ_OK) {
        c = yj_store_acquire(s);
        d->conn = c;
        rc = check_empty(c, err);
    }
    /* 1: regions and boundaries */
    if (rc == YJ_OK && (rc = yj_tx_begin(c, err)) == YJ_OK) {
        int nreg = 0;
        rc = region_import_csv(c, regions_path, &nreg, err);
        if (rc == YJ_OK) {
            json_t *after = json_pack("{s:s,s:i}", "file", regions_path, "regions", nreg);
            rc = audit_append(c, d->actor.username, "load", "region", 0, NULL, after, err);
            json_decref(after);
        }
        if (rc == YJ_OK)
            rc = load_boundaries(d, bounds_path, err);
        if (rc == YJ_OK)
            rc = yj_tx_commit(c, err);
        else
            yj_tx_rollback(c);
        if (rc == YJ_OK && out)
            fprintf(out, "demo: %d regions, %d county boundaries loaded\n", nreg, NCOUNTY);
    }
    /* 2: every module's records, in module order */
    size_t nm = 0;
    const yj_module *const *mods = yj_modules(&nm);
    if (rc == YJ_OK && (rc = yj_tx_begin(c, err)) == YJ_OK) {
        for (size_t i = 0; rc == YJ_OK && i < nm; i++) {
            if (mods[i]->demo == NULL)
                continue;
            demo_rng saved = d->rng;
            yj_demo yd = module_handle(d);
            if (own_part(mods[i]->demo))
                d->rng = saved;
            rc = mods[i]->demo(&yd, err);
            if (!own_part(mods[i]->demo))
                d->rng = saved;
        }
        if (rc == YJ_OK)
            rc = yj_tx_commit(c, err);
        else
            yj_tx_rollback(c);
    }
    if (c)
        yj_store_release(s, c);
    d->conn = NULL;
    if (rc == YJ_OK && out) {
        fprintf(out, "demo:");
        for (size_t i = 0; i < COUNT_OF(registry_order); i++)
            fprintf(out, "%s %d %s", i ? "," : "", d->counts[i], registry_order[i]);
        fprintf(out, "\n");
    }
    /* 3: logins (user_add takes its own connection) */
    if (rc == YJ_OK)
        rc = create_logins(s, d, o ? o : &(yj_demo_opts){0}, logins_json_path, out, err);
    /* 4: what needs the logins (alarm recipient groups: their members) */
    if (rc == YJ_OK) {
        c = yj_store_acquire(s);
        d->conn = c;
        if ((rc = yj_tx_begin(c, err)) == YJ_OK) {
            for (size_t i = 0; rc == YJ_OK && i < nm; i++) {
                if (mods[i]->demo_after_logins == NULL)
                    continue;
                demo_rng saved = d->rng;
                yj_demo yd = module_handle(d);
                rc = mods[i]->demo_after_logins(&yd, err);
                d->rng = saved;
            }
            if (rc == YJ_OK)
                rc = yj_tx_commit(c, err);
            else
                yj_tx_rollback(c);
        }
        yj_store_release(s, c);
        d->conn = NULL;
    }
    if (rc == YJ_OK && out)
        fprintf(out, "demo: 晋城市 created in %.1f s\n", (double)(yj_now_ms() - t0) / 1000.0);
    ctx_free(d);
    free(d);
    return rc;
}
