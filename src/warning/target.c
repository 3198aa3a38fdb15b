/*
 * target.c — resolving a warning's area to the people, loudspeakers and
 * enterprises it reaches (see target.h for the design).
 */
#include "target.h"
#include "../core/util.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CELL 100.0 /* grid cells per degree: 0.01°, about 1.1 km north-south */

typedef struct {
    uint64_t *keys;  /* open addressing: cell key + 1, 0 = empty */
    uint32_t *first; /* index into order[] */
    uint32_t *count;
    size_t cap;                         /* power of two */
    uint32_t *order;                    /* point indices sorted by cell */
    int cy_min, cy_max, cx_min, cx_max; /* the cells holding points (empty: min > max) */
} grid;

struct target_snapshot {
    atomic_int refs;
    int64_t gen;
    tgt_resident *res;
    size_t nres;
    tgt_terminal *term;
    size_t nterm;
    tgt_enterprise *ent;
    size_t nent;
    tgt_person *persons;
    size_t npersons;
    tgt_informant *inf;
    size_t ninf;
    grid gres, gterm, gent;
};

static struct {
    pthread_mutex_t mu;
    target_snapshot *cur;
    atomic_bool stale;
} T = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* ---- grid ------------------------------------------------------------------------- */

static uint64_t cell_key(int cy, int cx)
{
    return ((uint64_t)(uint32_t)(cy + 1000000) << 32) | (uint32_t)(cx + 1000000);
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdu;
    x ^= x >> 33;
    return x;
}

typedef struct {
    uint64_t key;
    uint32_t idx;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Points: n entries of stride bytes, lat/lon doubles at the given offsets. */
static bool grid_build(grid *g, const void *base, size_t n, size_t stride, size_t lat_off,
                       size_t lon_off)
{
    memset(g, 0, sizeof *g);
    g->cy_min = g->cx_min = INT_MAX;
    g->cy_max = g->cx_max = INT_MIN;
    keyed *k = malloc((n ? n : 1) * sizeof *k);
    if (k == NULL)
        return false;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = (const char *)base + i * stride;
        double lat, lon;
        memcpy(&lat, p + lat_off, sizeof lat);
        memcpy(&lon, p + lon_off, sizeof lon);
        if (!isfinite(lat) || !isfinite(lon) || fabs(lat) > 90 || fabs(lon) > 180)
            continue;
        int cy = (int)floor(lat * CELL), cx = (int)floor(lon * CELL);
        g->cy_min = cy < g->cy_min ? cy : g->cy_min;
        g->cy_max = cy > g->cy_max ? cy : g->cy_max;
        g->cx_min = cx < g->cx_min ? cx : g->cx_min;
        g->cx_max = cx > g->cx_max ? cx : g->cx_max;
        k[m++] = (keyed){cell_key(cy, cx), (uint32_t)i};
    }
    qsort(k, m, sizeof *k, cmp_keyed);
    size_t cells = 0;
    for (size_t i = 0; i < m; i++)
        cells += i == 0 || k[i].key != k[i - 1].key;
    g->cap = 16;
    while (g->cap < cells * 2)
        g->cap *= 2;
    g->keys = calloc(g->cap, sizeof *g->keys);
    g->first = calloc(g->cap, sizeof *g->first);
    g->count = calloc(g->cap, sizeof *g->count);
    g->order = malloc((m ? m : 1) * sizeof *g->order);
    if (!g->keys || !g->first || !g->count || !g->order) {
        free(k);
        return false;
    }
    for (size_t i = 0; i < m; i++) {
        g->order[i] = k[i].idx;
        if (i > 0 && k[i].key == k[i - 1].key)
            continue;
        size_t j = mix(k[i].key) & (g->cap - 1);
        while (g->keys[j])
            j = (j + 1) & (g->cap - 1);
        g->keys[j] = k[i].key + 1;
        g->first[j] = (uint32_t)i;
        size_t e = i;
        while (e < m && k[e].key == k[i].key)
            e++;
        g->count[j] = (uint32_t)(e - i);
    }
    free(k);
    return true;
}

static void grid_free(grid *g)
{
    free(g->keys);
    free(g->first);
    free(g->count);
    free(g->order);
}

/* The points of one cell: order[*first .. *first + return). */
static uint32_t grid_cell(const grid *g, int cy, int cx, uint32_t *first)
{
    if (g->cap == 0)
        return 0;
    uint64_t key = cell_key(cy, cx);
    for (size_t j = mix(key) & (g->cap - 1); g->keys[j]; j = (j + 1) & (g->cap - 1))
        if (g->keys[j] == key + 1) {
            *first = g->first[j];
            return g->count[j];
        }
    return 0;
}

/* ---- geometry ----------------------------------------------------------------------- */

/* Is (lat, lon) on the segment a-b (within a tiny tolerance)? */
static bool on_segment(double lat, double lon, const double a[2], const double b[2])
{
    double cross = (b[0] - a[0]) * (lon - a[1]) - (b[1] - a[1]) * (lat - a[0]);
    if (fabs(cross) > 1e-12)
        return false;
    return lat >= fmin(a[0], b[0]) - 1e-12 && lat <= fmax(a[0], b[0]) + 1e-12 &&
           lon >= fmin(a[1], b[1]) - 1e-12 && lon <= fmax(a[1], b[1]) + 1e-12;
}

/* One edge p-q (p the previous vertex) for the point: true if the point is
 * on it; else *in flips when the edge crosses the point's meridian north
 * of it. */
static inline bool edge_step(double lat, double lon, const double p[2], const double q[2], bool *in)
{
    if (on_segment(lat, lon, p, q))
        return true; /* the boundary belongs to the area */
    /* even-odd crossing along lon = const, latitude as the ray axis */
    if ((q[1] > lon) != (p[1] > lon)) {
        double t = (lon - q[1]) / (p[1] - q[1]);
        double x = q[0] + t * (p[0] - q[0]);
        if (lat < x)
            *in = !*in;
    }
    return false;
}

bool target_point_in_ring(double lat, double lon, const double (*ring)[2], size_t n)
{
    bool in = false;
    for (size_t i = 0, j = n - 1; i < n; j = i++)
        if (edge_step(lat, lon, ring[j], ring[i], &in))
            return true;
    return in;
}

/* The same test over the listed edges only (edge k runs from vertex k - 1,
 * or n - 1, to k): the same answer for a point whose longitude every
 * unlisted edge's longitudes stay clear of, since only an edge that spans
 * the point's meridian or touches the point can count. */
static bool point_in_ring_edges(double lat, double lon, const double (*ring)[2], size_t n,
                                const uint32_t *edges, size_t ne)
{
    bool in = false;
    for (size_t e = 0; e < ne; e++) {
        size_t i = edges[e];
        if (edge_step(lat, lon, ring[i == 0 ? n - 1 : i - 1], ring[i], &in))
            return true;
    }
    return in;
}

static double km_between(double lat1, double lon1, double lat2, double lon2)
{
    const double r = 6371.0088, d = M_PI / 180;
    double dlat = (lat2 - lat1) * d, dlon = (lon2 - lon1) * d;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * d) * cos(lat2 * d) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * r * asin(fmin(1, sqrt(a)));
}

/* ---- loading ----------------------------------------------------------------------------- */

#define GEN_SQL                                                                                    \
    "SELECT COALESCE(SUM(gen), 0) FROM table_generation WHERE name IN"                             \
    " ('resident', 'broadcast_terminal', 'enterprise', 'responsible_person', 'informant')"

static void copy_region(char dst[13], const char *src)
{
    snprintf(dst, 13, "%s", src ? src : "");
}

static double col_f(yj_stmt *st, int i)
{
    return yj_col_null(st, i) ? NAN : yj_col_real(st, i);
}

static uint8_t vulnerable_flags(const char *tags)
{
    static const struct {
        const char *t;
        uint8_t f;
    } v[] = {{"老", TGT_OLD},
             {"幼", TGT_YOUNG},
             {"病", TGT_SICK},
             {"残", TGT_DISABLED},
             {"孕", TGT_PREGNANT}};
    uint8_t f = 0;
    for (size_t i = 0; tags && i < sizeof v / sizeof v[0]; i++)
        if (strstr(tags, v[i].t))
            f |= v[i].f;
    return f;
}

static void snapshot_free(target_snapshot *s)
{
    if (s == NULL)
        return;
    grid_free(&s->gres);
    grid_free(&s->gterm);
    grid_free(&s->gent);
    free(s->res);
    free(s->term);
    free(s->ent);
    free(s->persons);
    free(s->inf);
    free(s);
}

static void release(target_snapshot *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        snapshot_free(s);
}

#define GROW(arr, n, cap)                                                                          \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            size_t nc_ = (cap) ? (cap)*2 : 1024;                                                   \
            void *p_ = realloc((arr), nc_ * sizeof *(arr));                                        \
            if (p_ == NULL)                                                                        \
                goto oom;                                                                          \
            (arr) = p_;                                                                            \
            (cap) = nc_;                                                                           \
        }                                                                                          \
    } while (0)

static int level_code(const char *s)
{
    static const char *const names[] = {"", "村级", "乡级", "县级", "市级", "企业"};
    for (int i = 1; i <= 5; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return 1;
}

static yj_code load(yj_conn *c, int64_t gen, target_snapshot **out, yj_err *err)
{
    target_snapshot *s = calloc(1, sizeof *s);
    if (s == NULL)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
    atomic_init(&s->refs, 1);
    s->gen = gen;
    size_t cap = 0;
    int r;
    yj_stmt *st = yj_prepare(c,
                             "SELECT id, lat, lon, region_code, vulnerable, status, phone,"
                             " contact_phone FROM resident WHERE status <> '迁出'"
                             " ORDER BY region_code, id",
                             err);
    if (st == NULL)
        goto fail;
    while ((r = yj_step(st, err)) == 1) {
        GROW(s->res, s->nres, cap);
        tgt_resident *x = &s->res[s->nres++];
        x->id = yj_col_int(st, 0);
        x->lat = col_f(st, 1);
        x->lon = col_f(st, 2);
        copy_region(x->region, yj_col_text(st, 3));
        x->vulnerable = vulnerable_flags(yj_col_text(st, 4));
        x->away = strcmp(yj_col_text(st, 5), "外出") == 0;
        snprintf(x->phone, sizeof x->phone, "%s", yj_col_text(st, 6));
        snprintf(x->contact_phone, sizeof x->contact_phone, "%s", yj_col_text(st, 7));
    }
    yj_stmt_done(st);
    if (r < 0)
        goto fail;
    cap = 0;
    st = yj_prepare(c,
                    "SELECT id, lat, lon, region_code, mqtt_topic, coverage_m, code"
                    " FROM broadcast_terminal WHERE status = '正常' ORDER BY region_code, id",
                    err);
    if (st == NULL)
        goto fail;
    while ((r = yj_step(st, err)) == 1) {
        GROW(s->term, s->nterm, cap);
        tgt_terminal *x = &s->term[s->nterm++];
        x->id = yj_col_int(st, 0);
        x->lat = col_f(st, 1);
        x->lon = col_f(st, 2);
        copy_region(x->region, yj_col_text(st, 3));
        if (yj_col_null(st, 4) || yj_col_text(st, 4)[0] == '\0')
            snprintf(x->topic, sizeof x->topic, "yingji/v1/broadcast/%.100s", yj_col_text(st, 6));
        else
            snprintf(x->topic, sizeof x->topic, "%s", yj_col_text(st, 4));
        x->coverage_m = yj_col_null(st, 5) ? 500 : (int)yj_col_int(st, 5);
    }
    yj_stmt_done(st);
    if (r < 0)
        goto fail;
    cap = 0;
    st = yj_prepare(c,
                    "SELECT id, lat, lon, region_code, safety_phone FROM enterprise"
                    " WHERE status <> '关闭' ORDER BY region_code, id",
                    err);
    if (st == NULL)
        goto fail;
    while ((r = yj_step(st, err)) == 1) {
        GROW(s->ent, s->nent, cap);
        tgt_enterprise *x = &s->ent[s->nent++];
        x->id = yj_col_int(st, 0);
        x->lat = col_f(st, 1);
        x->lon = col_f(st, 2);
        copy_region(x->region, yj_col_text(st, 3));
        snprintf(x->phone, sizeof x->phone, "%s", yj_col_text(st, 4));
    }
    yj_stmt_done(st);
    if (r < 0)
        goto fail;
    cap = 0;
    st = yj_prepare(c,
                    "SELECT id, region_code, phone, level, call_order, enterprise_id"
                    " FROM responsible_person WHERE status = '在岗'"
                    " ORDER BY region_code, call_order, id",
                    err);
    if (st == NULL)
        goto fail;
    while ((r = yj_step(st, err)) == 1) {
        GROW(s->persons, s->npersons, cap);
        tgt_person *x = &s->persons[s->npersons++];
        x->id = yj_col_int(st, 0);
        copy_region(x->region, yj_col_text(st, 1));
        snprintf(x->phone, sizeof x->phone, "%s", yj_col_text(st, 2));
        x->level = level_code(yj_col_text(st, 3));
        x->order = (int)yj_col_int(st, 4);
        x->enterprise_id = yj_col_null(st, 5) ? 0 : yj_col_int(st, 5);
    }
    yj_stmt_done(st);
    if (r < 0)
        goto fail;
    cap = 0;
    st = yj_prepare(c,
                    "SELECT id, region_code, phone FROM informant WHERE status = '在岗'"
                    " ORDER BY region_code, id",
                    err);
    if (st == NULL)
        goto fail;
    while ((r = yj_step(st, err)) == 1) {
        GROW(s->inf, s->ninf, cap);
        tgt_informant *x = &s->inf[s->ninf++];
        x->id = yj_col_int(st, 0);
        copy_region(x->region, yj_col_text(st, 1));
        snprintf(x->phone, sizeof x->phone, "%s", yj_col_text(st, 2));
    }
    yj_stmt_done(st);
    if (r < 0)
        goto fail;
    if (!grid_build(&s->gres, s->res, s->nres, sizeof *s->res, offsetof(tgt_resident, lat),
                    offsetof(tgt_resident, lon)) ||
        !grid_build(&s->gterm, s->term, s->nterm, sizeof *s->term, offsetof(tgt_terminal, lat),
                    offsetof(tgt_terminal, lon)) ||
        !grid_build(&s->gent, s->ent, s->nent, sizeof *s->ent, offsetof(tgt_enterprise, lat),
                    offsetof(tgt_enterprise, lon)))
        goto oom;
    *out = s;
    return YJ_OK;
oom:
    yj_stmt_done(st);
    snapshot_free(s);
    return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory loading the targeting registries");
fail:
    snapshot_free(s);
    return yj_fail(err);
}

void target_invalidate(void)
{
    atomic_store(&T.stale, true);
}

/* The current snapshot (reloaded if the registries changed), referenced.
 * On the caller's connection: publishing resolves its area inside its own
 * transaction, and a second connection would wait for the first (a pool
 * of one would hang). */
static yj_code acquire(yj_conn *c, target_snapshot **out, yj_err *err)
{
    int64_t gen = 0;
    yj_code rc = yj_query_int(c, GEN_SQL, NULL, &gen, err);
    if (rc != YJ_OK)
        return rc;
    pthread_mutex_lock(&T.mu);
    if (T.cur == NULL || T.cur->gen != gen || atomic_exchange(&T.stale, false)) {
        target_snapshot *fresh = NULL;
        int64_t t0 = yj_now_ms();
        rc = load(c, gen, &fresh, err);
        if (rc == YJ_OK) {
            release(T.cur);
            T.cur = fresh;
            yj_log(YJ_LOG_INFO, "warning.targets_loaded",
                   "%zu residents, %zu terminals, %zu enterprises, %zu responsible people, "
                   "%zu informants in %lld ms",
                   fresh->nres, fresh->nterm, fresh->nent, fresh->npersons, fresh->ninf,
                   (long long)(yj_now_ms() - t0));
        }
    }
    if (rc == YJ_OK) {
        atomic_fetch_add(&T.cur->refs, 1);
        *out = T.cur;
    }
    pthread_mutex_unlock(&T.mu);
    return rc;
}

/* ---- resolving ------------------------------------------------------------------------------ */

/* [lo, hi) of the entries whose region starts with prefix, in an array
 * sorted by region (stride bytes per entry, region at offset roff). */
static void prefix_range(const void *base, size_t n, size_t stride, size_t roff, const char *prefix,
                         size_t *lo, size_t *hi)
{
    size_t plen = strlen(prefix);
    size_t a = 0, b = n;
    while (a < b) { /* first with region >= prefix */
        size_t m = (a + b) / 2;
        if (strcmp((const char *)base + m * stride + roff, prefix) < 0)
            a = m + 1;
        else
            b = m;
    }
    *lo = a;
    b = n;
    while (a < b) { /* first whose region does not start with prefix */
        size_t m = (a + b) / 2;
        if (strncmp((const char *)base + m * stride + roff, prefix, plen) <= 0)
            a = m + 1;
        else
            b = m;
    }
    *hi = a;
}

typedef struct {
    const void *base;
    size_t n, stride, roff, latoff, lonoff;
    const grid *g;
    uint8_t *mark;
} layer;

static double lat_of(const layer *L, size_t i)
{
    double v;
    memcpy(&v, (const char *)L->base + i * L->stride + L->latoff, sizeof v);
    return v;
}

static double lon_of(const layer *L, size_t i)
{
    double v;
    memcpy(&v, (const char *)L->base + i * L->stride + L->lonoff, sizeof v);
    return v;
}

static const char *region_of(const layer *L, size_t i)
{
    return (const char *)L->base + i * L->stride + L->roff;
}

/* The cells of a polygon's bounding box (h x w from cell cy0, cx0) that
 * one of its edges passes through, or next to one that does: 1.  Each
 * edge is walked in steps of a quarter cell, marking the 3 x 3 cells
 * round each step, so no cell an edge touches is missed, whatever the
 * rounding.  Every point of an unmarked cell is then inside the polygon
 * if the cell's centre is, and outside if not: one test for the cell.
 * NULL (test every point) for a box too large to map. */
static uint8_t *edge_cells(const double (*ring)[2], size_t n, int cy0, int cx0, size_t h, size_t w)
{
    if (h * w > (size_t)1 << 24)
        return NULL;
    uint8_t *b = calloc(h * w, 1);
    if (b == NULL)
        return NULL;
    for (size_t k = 0; k < n; k++) {
        const double *a = ring[k == 0 ? n - 1 : k - 1], *e = ring[k];
        double span = fmax(fabs(e[0] - a[0]), fabs(e[1] - a[1])) * CELL;
        size_t steps = (size_t)ceil(span * 4) + 1;
        for (size_t t = 0; t <= steps; t++) {
            double f = (double)t / (double)steps;
            int cy = (int)floor((a[0] + f * (e[0] - a[0])) * CELL);
            int cx = (int)floor((a[1] + f * (e[1] - a[1])) * CELL);
            for (int y = cy - 1; y <= cy + 1; y++)
                for (int x = cx - 1; x <= cx + 1; x++)
                    if (y >= cy0 && x >= cx0 && (size_t)(y - cy0) < h && (size_t)(x - cx0) < w)
                        b[(size_t)(y - cy0) * w + (size_t)(x - cx0)] = 1;
        }
    }
    return b;
}

/* For each of the w grid columns from cx0, the edges whose longitudes
 * reach it or a column next to it (edge k: vertex k - 1 to k), as one list:
 * column c's edges are list[start[c] .. start[c + 1]).  A point's test
 * needs only its column's edges (point_in_ring_edges): a county outline of
 * 461 points has a handful per column.  false when out of memory. */
static bool column_edges(const double (*ring)[2], size_t n, int cx0, size_t w, uint32_t **start,
                         uint32_t **list)
{
    *start = calloc(w + 1, sizeof **start);
    *list = NULL;
    if (*start == NULL)
        return false;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < n; k++) {
            const double *a = ring[k == 0 ? n - 1 : k - 1], *e = ring[k];
            double c0 = floor(fmin(a[1], e[1]) * CELL) - 1 - cx0,
                   c1 = floor(fmax(a[1], e[1]) * CELL) + 1 - cx0;
            if (!(c1 >= 0 && c0 < (double)w)) /* clear of every column (or NaN) */
                continue;
            for (size_t c = c0 < 0 ? 0 : (size_t)c0; c < w && (double)c <= c1; c++)
                if (pass == 0)
                    (*start)[c + 1]++;
                else
                    (*list)[(*start)[c]++] = (uint32_t)k;
        }
        if (pass == 0) {
            for (size_t c = 0; c < w; c++)
                (*start)[c + 1] += (*start)[c];
            *list = malloc(((*start)[w] ? (*start)[w] : 1) * sizeof **list);
            if (*list == NULL) {
                free(*start);
                *start = NULL;
                return false;
            }
        }
    }
    /* the fill moved each start to the next column's: move them back */
    for (size_t c = w; c > 0; c--)
        (*start)[c] = (*start)[c - 1];
    (*start)[0] = 0;
    return true;
}

/* The point in the polygon: by its column's edges, or (ce NULL) all. */
static bool in_polygon(double lat, double lon, const double (*ring)[2], size_t n,
                       const uint32_t *ce, size_t nce)
{
    return ce ? point_in_ring_edges(lat, lon, ring, n, ce, nce)
              : target_point_in_ring(lat, lon, ring, n);
}

/* A cell coordinate v (any double, however absurd) kept within [lo, hi]. */
static int clip(double v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : (int)v;
}

static void mark_area(layer *L, const json_t *area, const char *scope)
{
    size_t sl = strlen(scope), i;
    json_t *v;
    json_array_foreach(json_object_get(area, "regions"), i, v) {
        const char *code = json_string_value(v);
        if (code == NULL)
            continue;
        /* the region inside the scope, or the scope inside the region */
        size_t cl = strlen(code);
        if (cl >= sl ? strncmp(code, scope, sl) != 0 : strncmp(scope, code, cl) != 0)
            continue;
        const char *pre = cl >= sl ? code : scope;
        size_t lo, hi;
        prefix_range(L->base, L->n, L->stride, L->roff, pre, &lo, &hi);
        memset(L->mark + lo, 1, hi - lo);
    }
    json_array_foreach(json_object_get(area, "polygons"), i, v) {
        size_t n = json_array_size(v);
        if (n < 4)
            continue;
        double(*ring)[2] = malloc(n * sizeof *ring);
        if (ring == NULL)
            continue;
        double mnlat = 90, mxlat = -90, mnlon = 180, mxlon = -180;
        for (size_t k = 0; k < n; k++) {
            ring[k][0] = json_number_value(json_array_get(json_array_get(v, k), 0));
            ring[k][1] = json_number_value(json_array_get(json_array_get(v, k), 1));
            mnlat = fmin(mnlat, ring[k][0]);
            mxlat = fmax(mxlat, ring[k][0]);
            mnlon = fmin(mnlon, ring[k][1]);
            mxlon = fmax(mxlon, ring[k][1]);
        }
        const double(*cring)[2] = (const double(*)[2])ring;
        /* the bounding box, cut to where there are points at all (a
         * country-sized polygon costs what the city's cells cost) */
        int cy0 = clip(floor(mnlat * CELL), L->g->cy_min, L->g->cy_max);
        int cy1 = clip(floor(mxlat * CELL), L->g->cy_min, L->g->cy_max);
        int cx0 = clip(floor(mnlon * CELL), L->g->cx_min, L->g->cx_max);
        int cx1 = clip(floor(mxlon * CELL), L->g->cx_min, L->g->cx_max);
        if (L->g->cy_min > L->g->cy_max || floor(mnlat * CELL) > L->g->cy_max ||
            floor(mxlat * CELL) < L->g->cy_min || floor(mnlon * CELL) > L->g->cx_max ||
            floor(mxlon * CELL) < L->g->cx_min) {
            free(ring); /* no point anywhere near it */
            continue;
        }
        size_t w = (size_t)(cx1 - cx0) + 1;
        uint8_t *edges = edge_cells(cring, n, cy0, cx0, (size_t)(cy1 - cy0) + 1, w);
        uint32_t *cstart = NULL, *clist = NULL;
        bool cols = column_edges(cring, n, cx0, w, &cstart, &clist);
        for (int cy = cy0; cy <= cy1; cy++)
            for (int cx = cx0; cx <= cx1; cx++) {
                uint32_t first = 0, cnt = grid_cell(L->g, cy, cx, &first);
                if (cnt == 0)
                    continue;
                const uint32_t *ce = cols ? clist + cstart[cx - cx0] : NULL;
                size_t nce = cols ? cstart[cx - cx0 + 1] - cstart[cx - cx0] : 0;
                /* away from every edge the cell is all in or all out */
                int all = -1;
                if (edges && !edges[(size_t)(cy - cy0) * w + (size_t)(cx - cx0)])
                    all = in_polygon((cy + 0.5) / CELL, (cx + 0.5) / CELL, cring, n, ce, nce);
                if (all == 0)
                    continue;
                for (uint32_t q = 0; q < cnt; q++) {
                    uint32_t idx = L->g->order[first + q];
                    if (L->mark[idx] || strncmp(region_of(L, idx), scope, sl) != 0)
                        continue;
                    if (all == 1 || in_polygon(lat_of(L, idx), lon_of(L, idx), cring, n, ce, nce))
                        L->mark[idx] = 1;
                }
            }
        free(edges);
        free(cstart);
        free(clist);
        free(ring);
    }
    json_array_foreach(json_object_get(area, "circles"), i, v) {
        double clat = json_number_value(json_array_get(v, 0)),
               clon = json_number_value(json_array_get(v, 1)),
               r = json_number_value(json_array_get(v, 2));
        double dlat = r / 111.0 + 0.001,
               dlon = r / (111.0 * fmax(0.01, cos(clat * M_PI / 180))) + 0.001;
        if (L->g->cy_min > L->g->cy_max)
            continue;
        int cy0 = clip(floor((clat - dlat) * CELL), L->g->cy_min, L->g->cy_max),
            cy1 = clip(floor((clat + dlat) * CELL), L->g->cy_min - 1, L->g->cy_max),
            cx0 = clip(floor((clon - dlon) * CELL), L->g->cx_min, L->g->cx_max),
            cx1 = clip(floor((clon + dlon) * CELL), L->g->cx_min - 1, L->g->cx_max);
        for (int cy = cy0; cy <= cy1; cy++)
            for (int cx = cx0; cx <= cx1; cx++) {
                uint32_t first = 0, cnt = grid_cell(L->g, cy, cx, &first);
                for (uint32_t q = 0; q < cnt; q++) {
                    uint32_t idx = L->g->order[first + q];
                    if (L->mark[idx] || strncmp(region_of(L, idx), scope, sl) != 0)
                        continue;
                    if (km_between(clat, clon, lat_of(L, idx), lon_of(L, idx)) <= r + 1e-9)
                        L->mark[idx] = 1;
                }
            }
    }
}

/* A set of region codes (the places reached, with their ancestors). */
typedef struct {
    char (*v)[13];
    size_t n, cap;
} rset;

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static bool rset_has(const rset *r, const char *code)
{
    if (r->cap == 0)
        return false;
    for (size_t j = str_hash(code) & (r->cap - 1); r->v[j][0]; j = (j + 1) & (r->cap - 1))
        if (strcmp(r->v[j], code) == 0)
            return true;
    return false;
}

static bool rset_add(rset *r, const char *code)
{
    if (rset_has(r, code))
        return true;
    if ((r->n + 1) * 2 > r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 256;
        char(*nv)[13] = calloc(nc, sizeof *nv);
        if (nv == NULL)
            return false;
        for (size_t i = 0; i < r->cap; i++)
            if (r->v[i][0]) {
                size_t j = str_hash(r->v[i]) & (nc - 1);
                while (nv[j][0])
                    j = (j + 1) & (nc - 1);
                memcpy(nv[j], r->v[i], 13);
            }
        free(r->v);
        r->v = nv;
        r->cap = nc;
    }
    size_t j = str_hash(code) & (r->cap - 1);
    while (r->v[j][0])
        j = (j + 1) & (r->cap - 1);
    snprintf(r->v[j], 13, "%s", code);
    r->n++;
    return true;
}

/* code and its ancestors down to the scope's length (GB/T 2260 + the
 * statistical township/village levels: 2, 4, 6, 9, 12 digits) */
static void add_with_ancestors(rset *r, const char *code, size_t scope_len)
{
    static const size_t lens[] = {2, 4, 6, 9, 12};
    size_t n = strlen(code);
    for (size_t i = 0; i < 5; i++) {
        if (lens[i] > n || lens[i] < scope_len)
            continue;
        char pre[13];
        snprintf(pre, sizeof pre, "%.*s", (int)lens[i], code);
        rset_add(r, pre);
    }
}

yj_code target_resolve(yj_conn *c, const char *scope, const json_t *area, target_set *out,
                       yj_err *err)
{
    memset(out, 0, sizeof *out);
    target_snapshot *snap = NULL;
    yj_code rc = acquire(c, &snap, err);
    if (rc != YJ_OK)
        return rc;
    out->snap = snap;
    uint8_t *mres = calloc(snap->nres + 1, 1), *mterm = calloc(snap->nterm + 1, 1),
            *ment = calloc(snap->nent + 1, 1);
    rset covered = {0};
    if (!mres || !mterm || !ment)
        goto oom;
    layer L[3] = {
        {snap->res, snap->nres, sizeof *snap->res, offsetof(tgt_resident, region),
         offsetof(tgt_resident, lat), offsetof(tgt_resident, lon), &snap->gres, mres},
        {snap->term, snap->nterm, sizeof *snap->term, offsetof(tgt_terminal, region),
         offsetof(tgt_terminal, lat), offsetof(tgt_terminal, lon), &snap->gterm, mterm},
        {snap->ent, snap->nent, sizeof *snap->ent, offsetof(tgt_enterprise, region),
         offsetof(tgt_enterprise, lat), offsetof(tgt_enterprise, lon), &snap->gent, ment},
    };
    for (int k = 0; k < 3; k++)
        mark_area(&L[k], area, scope);
    size_t sl = strlen(scope);
    /* residents (each once), the vulnerable and their contacts */
    size_t n = 0;
    for (size_t i = 0; i < snap->nres; i++)
        n += mres[i];
    out->res = malloc((n ? n : 1) * sizeof *out->res);
    if (out->res == NULL)
        goto oom;
    const char *last = "";
    for (size_t i = 0; i < snap->nres; i++) {
        if (!mres[i])
            continue;
        const tgt_resident *x = &snap->res[i];
        out->res[out->nres++] = x;
        out->nvulnerable += x->vulnerable != 0;
        out->ncontacts += x->vulnerable && x->contact_phone[0];
        if (strcmp(x->region, last) != 0) { /* sorted by region: each region once */
            add_with_ancestors(&covered, x->region, sl);
            last = x->region;
        }
    }
    n = 0;
    for (size_t i = 0; i < snap->nterm; i++)
        n += mterm[i];
    out->term = malloc((n ? n : 1) * sizeof *out->term);
    if (out->term == NULL)
        goto oom;
    for (size_t i = 0; i < snap->nterm; i++)
        if (mterm[i]) {
            out->term[out->nterm++] = &snap->term[i];
            add_with_ancestors(&covered, snap->term[i].region, sl);
        }
    n = 0;
    for (size_t i = 0; i < snap->nent; i++)
        n += ment[i];
    out->ent = malloc((n ? n : 1) * sizeof *out->ent);
    if (out->ent == NULL)
        goto oom;
    for (size_t i = 0; i < snap->nent; i++)
        if (ment[i]) {
            out->ent[out->nent++] = &snap->ent[i];
            add_with_ancestors(&covered, snap->ent[i].region, sl);
        }
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(area, "regions"), i, v) {
        const char *code = json_string_value(v);
        if (code && strncmp(code, scope, sl) == 0)
            add_with_ancestors(&covered, code, sl);
    }
    /* responsible people: the first in call order of every covering region
     * (village, township, county, city within scope), and of every reached
     * enterprise */
    out->resp = malloc((snap->npersons ? snap->npersons : 1) * sizeof *out->resp);
    if (out->resp == NULL)
        goto oom;
    const char *seen_region = NULL; /* region whose first (non-enterprise) person is taken */
    for (size_t k = 0; k < snap->npersons; k++) {
        const tgt_person *p = &snap->persons[k];
        if (strncmp(p->region, scope, sl) != 0)
            continue;
        bool hit = false;
        if (p->level == 5) {
            for (size_t e = 0; e < out->nent && !hit; e++)
                hit = out->ent[e]->id == p->enterprise_id;
            for (size_t q = 0; hit && q < out->nresp; q++) /* the first of its enterprise */
                if (out->resp[q]->level == 5 && out->resp[q]->enterprise_id == p->enterprise_id)
                    hit = false;
        } else {
            bool first = seen_region == NULL || strcmp(seen_region, p->region) != 0;
            seen_region = p->region; /* sorted by region, then call order */
            hit = first && rset_has(&covered, p->region);
        }
        if (hit)
            out->resp[out->nresp++] = p;
    }
    /* informants and grid workers: all on duty in every covering region */
    out->inf = malloc((snap->ninf ? snap->ninf : 1) * sizeof *out->inf);
    if (out->inf == NULL)
        goto oom;
    for (size_t k = 0; k < snap->ninf; k++)
        if (strncmp(snap->inf[k].region, scope, sl) == 0 && rset_has(&covered, snap->inf[k].region))
            out->inf[out->ninf++] = &snap->inf[k];
    free(mres);
    free(mterm);
    free(ment);
    free(covered.v);
    return YJ_OK;
oom:
    free(mres);
    free(mterm);
    free(ment);
    free(covered.v);
    target_set_free(out);
    return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory resolving a warning area");
}

void target_set_free(target_set *t)
{
    free(t->res);
    free(t->term);
    free(t->ent);
    free(t->resp);
    free(t->inf);
    release(t->snap);
    memset(t, 0, sizeof *t);
}

/* ---- call-up chain ------------------------------------------------------------------------- */

static const tgt_person *first_in(const target_snapshot *s, const char *region, bool enterprise,
                                  int64_t ent)
{
    for (size_t k = 0; k < s->npersons; k++) {
        const tgt_person *p = &s->persons[k];
        if (enterprise ? (p->level == 5 && p->enterprise_id == ent)
                       : (p->level != 5 && strcmp(p->region, region) == 0))
            return p;
    }
    return NULL;
}

const tgt_person *target_person_of(const target_set *t, const char *region)
{
    return first_in(t->snap, region, false, 0);
}

const tgt_person *target_next_person(const target_set *t, const tgt_person *p, const char *scope,
                                     bool *up)
{
    const target_snapshot *s = t->snap;
    *up = false;
    /* the next in call order in the same region (or enterprise) */
    const tgt_person *best = NULL;
    for (size_t k = 0; k < s->npersons; k++) {
        const tgt_person *q = &s->persons[k];
        bool same = p->level == 5 ? q->level == 5 && q->enterprise_id == p->enterprise_id
                                  : q->level != 5 && strcmp(q->region, p->region) == 0;
        if (same && (q->order > p->order || (q->order == p->order && q->id > p->id)) &&
            (best == NULL || q->order < best->order ||
             (q->order == best->order && q->id < best->id)))
            best = q;
    }
    if (best)
        return best;
    /* one level up: the region above, walking up to the scope */
    static const size_t lens[] = {12, 9, 6, 4, 2};
    size_t n = strlen(p->region), sl = strlen(scope);
    for (size_t i = 0; i < 5; i++) {
        if (lens[i] >= n || lens[i] < sl)
            continue;
        char pre[13];
        snprintf(pre, sizeof pre, "%.*s", (int)lens[i], p->region);
        const tgt_person *q = first_in(s, pre, false, 0);
        if (q) {
            *up = true;
            return q;
        }
    }
    return NULL;
}

const tgt_person *target_person_above(const target_set *t, const char *region, const char *scope)
{
    static const size_t lens[] = {12, 9, 6, 4, 2};
    size_t n = strlen(region), sl = strlen(scope);
    for (size_t i = 0; i < 5; i++) {
        if (lens[i] > n || lens[i] < sl)
            continue;
        char pre[13];
        snprintf(pre, sizeof pre, "%.*s", (int)lens[i], region);
        const tgt_person *q = first_in(t->snap, pre, false, 0);
        if (q)
            return q;
    }
    return NULL;
}

const tgt_person *target_person_by_id(const target_set *t, int64_t id)
{
    for (size_t k = 0; k < t->snap->npersons; k++)
        if (t->snap->persons[k].id == id)
            return &t->snap->persons[k];
    return NULL;
}

yj_code target_people(yj_conn *c, target_set *out, yj_err *err)
{
    memset(out, 0, sizeof *out);
    return acquire(c, &out->snap, err);
}
