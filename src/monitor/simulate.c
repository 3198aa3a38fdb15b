/*
 * simulate.c — `yingji simulate`: the field side of the demo.  Every sensor
 * of the database reports over MQTT at its interval, as a KJ gateway or an
 * RTU would, so the platform has live data and live alarms.
 *
 * Model:
 *   - Each sensor has a normal level for its type (CH4 0.05–0.4 %, CO 0–8
 *     ppm, O2 20.5–20.9 %, ...; water levels, pressures and tank levels
 *     below their own threshold rules) and wanders around it (a
 *     mean-reverting random walk).  Water levels follow a slow tide-like
 *     sine, displacements creep, rain falls in showers that move over a
 *     county, underpasses collect a little water when it rains.
 *   - Exceedances (--exceed-rate per real hour): a sensor with a threshold
 *     (or rate) rule ramps to a value inside one of its alarm bands, holds
 *     there a few minutes and ramps back, so alarms are raised and then
 *     cleared.  A member of a multi-sensor rule takes its partners along.
 *   - Outages (--exceed-rate / 4 per hour): a sensor goes silent for longer
 *     than its offline (gap) rule, then comes back.
 *   - Every value stays inside the sensor's physical range.
 *
 * Publishing: per monitored object, one batch per tick on
 * yingji/v1/<county>/<object code> with {"readings":[{sensor,ts,value},...]},
 * QoS 1.  The sensors of one object with the same interval report together
 * (a gateway polls them in one sweep); --speed divides the intervals.
 * Timestamps are always the real clock.
 */
#include "simulate.h"

#include "../core/buf.h"
#include "../core/util.h"
#include "monitor.h"

#include <jansson.h>
#include <math.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;

void mon_simulate_stop(void)
{
    stop_flag = 1;
}

/* ---- random numbers (splitmix64) -------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double unit(void)
{
    return (double)(rnd() >> 11) * 0x1.0p-53;
}

static double uniform(double lo, double hi)
{
    return lo + (hi - lo) * unit();
}

static double gauss(void)
{
    double u = unit(), v = unit();
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static uint64_t hash_str(const char *s, uint64_t h)
{
    for (h ^= 1469598103934665603ULL; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* ---- the picture ------------------------------------------------------------------ */

/* Normal level by type: uniform in [lo, hi] per sensor, walk noise, decimals
 * (-1: from the magnitude). */
typedef struct {
    const char *code;
    double lo, hi, noise;
    int decimals;
} type_normal;

static const type_normal normals[] = {
    {"ch4", 0.05, 0.40, 0.015, 2},
    {"co", 0, 8, 0.4, 1},
    {"o2", 20.5, 20.9, 0.02, 2},
    {"wind", 0.8, 3.0, 0.05, 2},
    {"temp", 18, 24, 0.15, 1},
    {"pressure", 0.3, 1.0, 0, -1},
    {"level", 2, 6, 0.02, 2},
    {"lel", 0, 3, 0.2, 1},
    {"dust", 2, 8, 0.4, 1},
    {"switch", 1, 1, 0, 0},
    {"rain", 0, 0, 0, 1},
    {"water", 0, 0, 0.005, 2},
    {"disp", 0, 20, 0.3, 2},
    {"phreatic", 8, 12, 0.02, 2},
    {"seismic", 0, 0, 0, 1},
    {"gas_lel", 0, 2, 0.15, 1},
    {"water_pressure", 0.25, 0.4, 0.004, 3},
    {"fire_pressure", 0.35, 0.55, 0.004, 3},
    {"drain_level", 0.3, 1.0, 0.01, 2},
    {"bridge_deflection", 0, 3, 0.8, 2},
    {"bridge_strain", 60, 180, 12, 1},
    {"bridge_vibration", 0.02, 0.15, 0.02, 3},
    {"ponding", 0, 0, 0.001, 3},
};

enum { EP_NONE, EP_EXCEED, EP_SILENT };

typedef struct {
    int64_t id;
    char code[64];
    int type; /* mon_type index */
    const char *tcode;
    const char *label, *unit;
    int interval_s;
    double lo, hi; /* physical range */
    size_t obj;
    bool maintenance; /* 维护: readings are stored but raise nothing */
    /* rules that decide what an exceedance is */
    bool thr, thr_high, rate, rate_high;
    double t[4];
    double rate_delta;
    int64_t rate_window_ms, gap_ms;
    int multi; /* index into multis, -1 */
    /* the walk */
    double base, x, noise, offset, phase, creep;
    int decimals;
    bool wet;                   /* rain gauge that gets the county's showers */
    int64_t next_due, phase_ms; /* sweeps at start + phase + k * interval */
    double last;
    /* episode (real ms) */
    int ep;
    int64_t ep_t0, ep_up, ep_hold, ep_down;
    double ep_delta; /* added at the top of the ramp */
    bool ep_keep;    /* displacement: the offset stays */
} sim_sensor;

typedef struct {
    char code[64];
    char county[8];
    char topic[128];
    size_t first, n;
} sim_object;

typedef struct {
    int64_t members[MON_MAX_MEMBERS];
    int n;
} sim_multi;

typedef struct {
    sim_sensor *s;
    size_t ns;
    sim_object *o;
    size_t no;
    sim_multi *m;
    size_t nm;
    /* showers per county (index into county codes seen) */
    char county[16][8];
    int64_t shower_until[16];
    double shower_mm[16]; /* per 5 minutes */
    size_t ncounty;
} sim_world;

static size_t county_of(sim_world *w, const char *code)
{
    for (size_t i = 0; i < w->ncounty; i++)
        if (strcmp(w->county[i], code) == 0)
            return i;
    if (w->ncounty < 16) {
        snprintf(w->county[w->ncounty], sizeof w->county[0], "%s", code);
        return w->ncounty++;
    }
    return 0;
}

/* ---- loading -------------------------------------------------------------------------- */

typedef struct {
    int64_t sensor_id; /* 0: a type rule */
    char type[64];
    bool enabled;
    mon_rule rule;
} loaded_rule;

static int cmp_id(const void *a, const void *b)
{
    int64_t x = ((const sim_sensor *const *)a)[0]->id, y = ((const sim_sensor *const *)b)[0]->id;
    return x < y ? -1 : x > y;
}

static sim_sensor *by_id(sim_sensor **index, size_t n, int64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (index[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && index[lo]->id == id ? index[lo] : NULL;
}

/* Apply one rule of a kind to a sensor. */
static void take_rule(sim_sensor *s, const mon_rule *r)
{
    switch (r->kind) {
    case MON_RULE_THRESHOLD:
        s->thr = true;
        s->thr_high = r->high;
        memcpy(s->t, r->t, sizeof s->t);
        break;
    case MON_RULE_RATE:
        s->rate = true;
        s->rate_high = r->high;
        s->rate_delta = r->delta;
        s->rate_window_ms = r->window_ms;
        break;
    case MON_RULE_GAP:
        s->gap_ms = r->gap_ms;
        break;
    default:
        break;
    }
}

static yj_code load_rules(yj_conn *c, loaded_rule **out, size_t *n, sim_world *w, yj_err *err)
{
    *out = NULL;
    *n = 0;
    yj_stmt *st = yj_prepare(
        c, "SELECT kind, sensor_type, sensor_id, params, enabled FROM monitor_rule ORDER BY id",
        err);
    if (st == NULL)
        return yj_fail(err);
    size_t cap = 0;
    int r;
    while ((r = yj_step(st, err)) == 1) {
        int kind = mon_rule_kind_parse(yj_col_text(st, 0));
        json_t *p = json_loads(yj_col_text(st, 3), 0, NULL);
        mon_rule rule;
        bool ok = kind >= 0 && mon_rule_from_json((mon_rule_kind)kind, p, &rule, NULL) == YJ_OK;
        json_decref(p);
        if (!ok)
            continue;
        if (kind == MON_RULE_MULTI) {
            if (yj_col_int(st, 4) == 0)
                continue;
            sim_multi *nm = realloc(w->m, (w->nm + 1) * sizeof *nm);
            if (nm == NULL)
                break;
            w->m = nm;
            sim_multi *mm = &w->m[w->nm++];
            mm->n = rule.nmembers;
            memcpy(mm->members, rule.members, sizeof mm->members);
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            loaded_rule *nr = realloc(*out, cap * sizeof *nr);
            if (nr == NULL)
                break;
            *out = nr;
        }
        loaded_rule *lr = &(*out)[(*n)++];
        lr->sensor_id = yj_col_null(st, 2) ? 0 : yj_col_int(st, 2);
        snprintf(lr->type, sizeof lr->type, "%s", yj_col_text(st, 1));
        lr->enabled = yj_col_int(st, 4) != 0;
        lr->rule = rule;
    }
    yj_stmt_done(st);
    if (r < 0)
        return yj_fail(err);
    return r == 0 ? YJ_OK : yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
}

/* The normal level and walk of one sensor, from its type and rules. */
static void set_normal(sim_sensor *s, const char *object_kind)
{
    const type_normal *tn = NULL;
    for (size_t i = 0; i < sizeof normals / sizeof normals[0]; i++)
        if (strcmp(normals[i].code, s->tcode) == 0)
            tn = &normals[i];
    double lo = tn ? tn->lo : s->lo, hi = tn ? tn->hi : s->lo;
    s->noise = tn ? tn->noise : 0;
    s->decimals = tn ? tn->decimals : 2;
    s->base = uniform(lo, hi);
    double first = NAN; /* the mildest alarm level of a threshold rule */
    for (int i = 0; s->thr && i < 4 && isnan(first); i++)
        first = s->t[i];
    if (strcmp(s->tcode, "water") == 0) {
        /* normal pool a couple of metres under 警戒水位; else mid-range */
        s->base = !isnan(first) ? first - 2.0 : s->lo + (s->hi - s->lo) * 0.4;
        s->phase = uniform(0, 2 * M_PI);
    } else if (strcmp(s->tcode, "pressure") == 0) {
        if (!isnan(first) && s->thr_high)
            s->base = first / 1.25 * uniform(0.95, 1.02);
        else if (strcmp(object_kind, "煤矿") == 0)
            s->base = -uniform(0.0020, 0.0030); /* main fan: −2 to −3 kPa */
        s->noise = fabs(s->base) * 0.008;
    } else if (strcmp(s->tcode, "level") == 0 && !isnan(first) && s->thr_high) {
        s->base = first * uniform(0.45, 0.7);
    } else if (strcmp(s->tcode, "phreatic") == 0 && !isnan(first) && !s->thr_high) {
        s->base = first + uniform(2, 4);
    } else if (strcmp(s->tcode, "disp") == 0) {
        s->creep = uniform(0.001, 0.01); /* mm per simulated hour */
    }
    /* a rate rule must not fire on the walk alone */
    if (s->rate && s->noise > s->rate_delta / 10)
        s->noise = s->rate_delta / 10;
    if (s->decimals < 0) {
        double mag = fabs(s->base) > 0 ? floor(log10(fabs(s->base))) : 0;
        s->decimals = (int)fmin(6, fmax(2, 3 - mag));
    }
    if (s->base < s->lo)
        s->base = s->lo;
    if (s->base > s->hi)
        s->base = s->hi;
    s->x = s->base;
}

static yj_code load_world(yj_store *store, sim_world *w, yj_err *err)
{
    memset(w, 0, sizeof *w);
    yj_conn *c = yj_store_acquire(store);
    yj_stmt *st = yj_prepare(
        c,
        "SELECT s.id, s.code, s.type, s.interval_s, s.range_lo, s.range_hi, s.status, o.code,"
        " o.kind, o.region_code FROM sensor s JOIN monitored_object o ON o.id = s.object_id"
        " WHERE s.status <> '停用' ORDER BY s.object_id, s.id",
        err);
    yj_code rc = st ? YJ_OK : yj_fail(err);
    size_t scap = 0, ocap = 0;
    char(*kinds)[64] = NULL; /* object kind per sensor, for set_normal */
    int r = 0;
    while (rc == YJ_OK && (r = yj_step(st, err)) == 1) {
        int type = mon_type_find(yj_col_text(st, 2));
        if (type < 0)
            continue;
        if (w->ns == scap) {
            scap = scap ? scap * 2 : 1024;
            sim_sensor *ns = realloc(w->s, scap * sizeof *ns);
            char(*nk)[64] = realloc(kinds, scap * sizeof *nk);
            if (ns)
                w->s = ns;
            if (nk)
                kinds = nk;
            if (ns == NULL || nk == NULL) {
                rc = yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
                break;
            }
        }
        const char *ocode = yj_col_text(st, 7);
        if (w->no == 0 || strcmp(w->o[w->no - 1].code, ocode) != 0) {
            if (w->no == ocap) {
                ocap = ocap ? ocap * 2 : 256;
                sim_object *no = realloc(w->o, ocap * sizeof *no);
                if (no == NULL) {
                    rc = yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
                    break;
                }
                w->o = no;
            }
            sim_object *o = &w->o[w->no++];
            memset(o, 0, sizeof *o);
            snprintf(o->code, sizeof o->code, "%s", ocode);
            snprintf(o->county, sizeof o->county, "%.6s", yj_col_text(st, 9));
            snprintf(o->topic, sizeof o->topic, "yingji/v1/%s/%s", o->county, o->code);
            o->first = w->ns;
            county_of(w, o->county);
        }
        sim_object *o = &w->o[w->no - 1];
        sim_sensor *s = &w->s[w->ns];
        memset(s, 0, sizeof *s);
        const mon_sensor_type *ty = mon_type_at((size_t)type);
        s->id = yj_col_int(st, 0);
        snprintf(s->code, sizeof s->code, "%s", yj_col_text(st, 1));
        s->type = type;
        s->tcode = ty->code;
        s->label = ty->label;
        s->unit = ty->unit;
        s->interval_s = yj_col_null(st, 3) ? ty->interval_s : (int)yj_col_int(st, 3);
        if (s->interval_s < 1)
            s->interval_s = ty->interval_s;
        s->lo = yj_col_null(st, 4) ? ty->lo : yj_col_real(st, 4);
        s->hi = yj_col_null(st, 5) ? ty->hi : yj_col_real(st, 5);
        s->maintenance = strcmp(yj_col_text(st, 6), "维护") == 0;
        s->obj = w->no - 1;
        s->multi = -1;
        snprintf(kinds[w->ns], sizeof kinds[0], "%s", yj_col_text(st, 8));
        w->ns++;
        o->n++;
    }
    if (st)
        yj_stmt_done(st);
    if (rc == YJ_OK && r < 0)
        rc = yj_fail(err);

    loaded_rule *rules = NULL;
    size_t nrules = 0;
    if (rc == YJ_OK)
        rc = load_rules(c, &rules, &nrules, w, err);
    yj_store_release(store, c);

    sim_sensor **index = rc == YJ_OK ? malloc((w->ns + 1) * sizeof *index) : NULL;
    if (rc == YJ_OK && index == NULL)
        rc = yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
    if (rc == YJ_OK) {
        for (size_t i = 0; i < w->ns; i++)
            index[i] = &w->s[i];
        qsort(index, w->ns, sizeof *index, cmp_id);
        /* effective rules, kind by kind: sensor rule, else type rule, else default */
        for (size_t i = 0; i < w->ns; i++) {
            sim_sensor *s = &w->s[i];
            int decided[MON_RULE_KIND_COUNT] = {0}; /* 1 sensor, 2 type; negative: off */
            for (size_t k = 0; k < nrules; k++) {
                const loaded_rule *lr = &rules[k];
                int kind = (int)lr->rule.kind;
                if (lr->sensor_id == s->id) {
                    decided[kind] = lr->enabled ? 1 : -1;
                    if (lr->enabled)
                        take_rule(s, &lr->rule);
                }
            }
            for (size_t k = 0; k < nrules; k++) {
                const loaded_rule *lr = &rules[k];
                int kind = (int)lr->rule.kind;
                if (lr->sensor_id == 0 && decided[kind] == 0 && strcmp(lr->type, s->label) == 0) {
                    decided[kind] = lr->enabled ? 2 : -2;
                    if (lr->enabled)
                        take_rule(s, &lr->rule);
                }
            }
            mon_rule defs[4];
            size_t nd = mon_type_defaults(s->type, defs, 4);
            for (size_t k = 0; k < nd; k++)
                if (decided[defs[k].kind] == 0)
                    take_rule(s, &defs[k]);
            if (s->gap_ms <= 0)
                s->gap_ms = 10 * 60 * 1000LL;
            set_normal(s, kinds[i]);
        }
        for (size_t g = 0; g < w->nm; g++)
            for (int k = 0; k < w->m[g].n; k++) {
                sim_sensor *s = by_id(index, w->ns, w->m[g].members[k]);
                if (s)
                    s->multi = (int)g;
            }
    }
    free(index);
    free(rules);
    free(kinds);
    return rc;
}

/* ---- episodes ---------------------------------------------------------------------------- */

static bool eligible(const sim_sensor *s)
{
    return s->ep == EP_NONE && !s->maintenance && (s->thr || s->rate) &&
           strcmp(s->tcode, "rain") != 0;
}

/* Where an exceedance of s should go: inside one of its alarm bands. */
static double exceed_target(const sim_sensor *s)
{
    /* mostly yellow, sometimes orange, rarely red */
    double u = unit();
    int want = u < 0.55 ? 1 : u < 0.88 ? 2 : 3; /* index into t: 1 yellow .. 3 red */
    int lvl = -1;
    for (int i = 0; i < 4; i++)
        if (!isnan(s->t[i]) && (lvl < 0 || i <= want))
            lvl = i;
    double t = s->t[lvl], next = NAN;
    for (int i = lvl + 1; i < 4 && isnan(next); i++)
        next = s->t[i];
    double span = !isnan(next) ? fabs(next - t) : fmax(fabs(t) * 0.15, 4 * s->noise);
    double into = span * uniform(0.2, 0.6);
    double v = s->thr_high ? t + into : t - into;
    return fmin(s->hi, fmax(s->lo, v));
}

static void start_exceed(sim_sensor *s, int64_t now, double speed)
{
    s->ep = EP_EXCEED;
    s->ep_t0 = now;
    double iv_ms = s->interval_s * 1000.0 / speed;
    if (s->thr) {
        double target = exceed_target(s);
        s->ep_delta = target - s->base;
        double up_sim = fmax(60, 2.0 * s->interval_s);
        if (strcmp(s->tcode, "water") == 0)
            up_sim = fmax(900, 3.0 * s->interval_s);
        s->ep_up = (int64_t)(up_sim * 1000 / speed);
        s->ep_hold = (int64_t)(uniform(120, 300) * 1000 / speed + 2 * iv_ms);
        s->ep_down = s->ep_up;
        s->ep_keep = false;
    } else {
        /* rate only (displacement): a jump of 1.5–3 × delta within half the
         * window, then still for longer than the window (rate windows are in
         * real time, whatever the speed) */
        double win = (double)s->rate_window_ms;
        s->ep_delta = s->rate_delta * uniform(1.5, 3.0) * (s->rate_high ? 1 : -1);
        s->ep_up = (int64_t)fmax(win / 2 / speed, 2 * iv_ms);
        if (s->ep_up > win / 2)
            s->ep_up = (int64_t)(win / 2);
        s->ep_hold = (int64_t)(win * 1.1 + 2 * iv_ms);
        s->ep_down = 0;
        s->ep_keep = true;
    }
}

/* The episode's contribution at now (0..ep_delta); ends the episode. */
static double episode_value(sim_sensor *s, int64_t now)
{
    if (s->ep != EP_EXCEED)
        return 0;
    int64_t t = now - s->ep_t0;
    if (t < s->ep_up)
        return s->ep_delta * (double)t / (double)(s->ep_up ? s->ep_up : 1);
    t -= s->ep_up;
    if (t < s->ep_hold)
        return s->ep_delta;
    t -= s->ep_hold;
    if (!s->ep_keep && t < s->ep_down)
        return s->ep_delta * (1 - (double)t / (double)(s->ep_down ? s->ep_down : 1));
    if (s->ep_keep)
        s->offset += s->ep_delta;
    s->ep = EP_NONE;
    return 0;
}

/* ---- values ------------------------------------------------------------------------------ */

static double next_value(sim_world *w, sim_sensor *s, int64_t now, double sim_h)
{
    const sim_object *o = &w->o[s->obj];
    size_t ci = county_of(w, o->county);
    bool raining = now < w->shower_until[ci];
    double v;
    if (strcmp(s->tcode, "rain") == 0) {
        v = raining && s->wet ? w->shower_mm[ci] * uniform(0.5, 1.5) * s->interval_s / 300.0 : 0;
    } else if (strcmp(s->tcode, "water") == 0) {
        s->x += (s->base - s->x) * 0.2 + s->noise * gauss();
        v = s->x + 0.25 * sin(2 * M_PI * sim_h / 12.0 + s->phase);
    } else if (strcmp(s->tcode, "ponding") == 0) {
        v = raining ? uniform(0.005, 0.04) : 0;
    } else {
        s->x += (s->base - s->x) * 0.2 + s->noise * gauss();
        v = s->x + s->creep * sim_h;
    }
    double ep = episode_value(s, now); /* may move a finished jump into the offset */
    v += s->offset + ep;
    if (v < s->lo)
        v = s->lo;
    if (v > s->hi)
        v = s->hi;
    double p = pow(10, s->decimals);
    v = round(v * p) / p;
    if (v == 0)
        v = 0; /* no "-0" */
    s->last = v;
    return v;
}

/* ---- MQTT ----------------------------------------------------------------------------------- */

static atomic_long acked;
static atomic_int connected;

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    (void)obj;
    if (rc == 0)
        atomic_store(&connected, 1);
    else
        fprintf(stderr, "simulate: broker refused the connection: %s\n",
                mosquitto_connack_string(rc));
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    (void)obj;
    atomic_store(&connected, 0);
    if (!stop_flag)
        fprintf(stderr, "simulate: disconnected from the broker (rc %d); reconnecting\n", rc);
}

static void on_publish(struct mosquitto *m, void *obj, int mid)
{
    (void)m;
    (void)obj;
    (void)mid;
    atomic_fetch_add(&acked, 1);
}

/* ---- main loop --------------------------------------------------------------------------------
 */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void summary(FILE *out, const sim_world *w, int64_t elapsed_ms, long msgs, long readings,
                    long acks, long errors, long d_readings, double period_s)
{
    int exceed = 0, silent = 0;
    const sim_sensor *ex = NULL;
    for (size_t i = 0; i < w->ns; i++) {
        if (w->s[i].ep == EP_EXCEED) {
            exceed++;
            if (ex == NULL || w->s[i].ep_t0 > ex->ep_t0)
                ex = &w->s[i];
        }
        silent += w->s[i].ep == EP_SILENT;
    }
    fprintf(out,
            "simulate: %llds %ld messages (%ld acked%s), %ld readings (%.0f/s); %d exceedance%s in "
            "progress",
            (long long)(elapsed_ms / 1000), msgs, acks, errors ? ", publish errors" : "", readings,
            (double)d_readings / period_s, exceed, exceed == 1 ? "" : "s");
    if (ex)
        fprintf(out, " (latest %s %s %g -> %.*f %s)", ex->code, ex->label, ex->last, ex->decimals,
                ex->base + ex->offset + ex->ep_delta, ex->unit);
    fprintf(out, ", %d sensor%s silent%s\n", silent, silent == 1 ? "" : "s",
            atomic_load(&connected) ? "" : "; NOT CONNECTED");
    fflush(out);
}

yj_code mon_simulate(yj_store *store, const mon_sim_config *cfg, yj_err *err)
{
    double speed = cfg->speed > 0 ? cfg->speed : 1;
    double exceed_rate = cfg->exceed_rate >= 0 ? cfg->exceed_rate : 40;
    double offline_rate = cfg->offline_rate >= 0 ? cfg->offline_rate : exceed_rate / 4;
    rng_state = cfg->seed ? cfg->seed : 1;
    sim_world w;
    yj_code rc = load_world(store, &w, err);
    if (rc == YJ_OK && w.ns == 0)
        rc = yj_err_set(err, YJ_ENOTFOUND, NULL,
                        "no sensors in the database (create the demo city with `yingji demo`)");
    if (rc != YJ_OK) {
        free(w.s);
        free(w.o);
        free(w.m);
        return rc;
    }
    int64_t start = yj_now_ms();
    /* one sweep per object and interval, at a phase of its own; a first
     * sweep of everything within 10 s so the map fills at once */
    for (size_t i = 0; i < w.ns; i++) {
        sim_sensor *s = &w.s[i];
        double iv_ms = s->interval_s * 1000.0 / speed;
        uint64_t h = hash_str(w.o[s->obj].code, (uint64_t)s->interval_s);
        s->phase_ms = (int64_t)((double)(h % 10007) / 10007.0 * iv_ms);
        s->next_due = start + (int64_t)((double)(h % 1009) / 1009.0 * fmin(iv_ms, 10000));
        s->wet = (hash_str(s->code, 7) % 10) < 7;
    }

    static bool inited;
    if (!inited) {
        mosquitto_lib_init();
        inited = true;
    }
    char id[64];
    if (cfg->client_id)
        snprintf(id, sizeof id, "%s", cfg->client_id);
    else
        snprintf(id, sizeof id, "yingji-simulate-%ld", (long)getpid());
    struct mosquitto *m = mosquitto_new(id, true, NULL);
    if (m == NULL) {
        free(w.s);
        free(w.o);
        free(w.m);
        return yj_err_set(err, YJ_EINTERNAL, NULL, "mosquitto_new failed");
    }
    mosquitto_connect_callback_set(m, on_connect);
    mosquitto_disconnect_callback_set(m, on_disconnect);
    mosquitto_publish_callback_set(m, on_publish);
    mosquitto_reconnect_delay_set(m, 1, 10, false);
    mosquitto_max_inflight_messages_set(m, 200);
    const char *host = cfg->host ? cfg->host : "127.0.0.1";
    int port = cfg->port ? cfg->port : 1883;
    int mrc = mosquitto_connect_async(m, host, port, 30);
    if (mrc != MOSQ_ERR_SUCCESS)
        fprintf(stderr, "simulate: cannot reach %s:%d yet (%s); retrying\n", host, port,
                mosquitto_strerror(mrc));
    mrc = mosquitto_loop_start(m);
    if (mrc != MOSQ_ERR_SUCCESS) {
        mosquitto_destroy(m);
        free(w.s);
        free(w.o);
        free(w.m);
        return yj_err_set(err, YJ_EINTERNAL, NULL, "mosquitto_loop_start: %s",
                          mosquitto_strerror(mrc));
    }
    if (cfg->out) {
        size_t thr = 0, rate = 0;
        for (size_t i = 0; i < w.ns; i++) {
            thr += w.s[i].thr;
            rate += w.s[i].rate;
        }
        fprintf(cfg->out,
                "simulate: %zu sensors on %zu objects (%zu with threshold, %zu with rate rules, "
                "%zu multi-sensor rules) -> mqtt://%s:%d, speed %g, %g exceedances/h\n",
                w.ns, w.no, thr, rate, w.nm, host, port, speed, exceed_rate);
        fflush(cfg->out);
    }

    yj_buf b;
    yj_buf_init(&b);
    long msgs = 0, readings = 0, errors = 0, last_readings = 0;
    int64_t last_summary = start, last_loop = start;
    /* the first exceedance once every sensor has a baseline (two 30-s sweeps) */
    int64_t first_exceed = start + (int64_t)fmin(10000, 60000 / speed);
    while (!stop_flag) {
        int64_t now = yj_now_ms();
        if (cfg->duration_s > 0 && now - start >= (int64_t)(cfg->duration_s * 1000))
            break;
        double dt_h = (double)(now - last_loop) / 3600000.0;
        last_loop = now;
        double sim_h = (double)(now - start) / 3600000.0 * speed;

        /* a shower over a county every two simulated hours or so */
        for (size_t c = 0; c < w.ncounty; c++)
            if (now >= w.shower_until[c] && unit() < dt_h * speed / 2.0) {
                w.shower_until[c] = now + (int64_t)(uniform(1800, 7200) * 1000 / speed);
                w.shower_mm[c] = uniform(0.1, 0.8);
            }
        /* exceedances and outages: Poisson in real time */
        bool kick = first_exceed && now >= first_exceed;
        if (exceed_rate > 0 && (kick || unit() < dt_h * exceed_rate)) {
            first_exceed = 0;
            for (int tries = 0; tries < 200; tries++) {
                sim_sensor *s = &w.s[rnd() % w.ns];
                if (!eligible(s))
                    continue;
                start_exceed(s, now, speed);
                if (s->multi >= 0) /* its neighbour rises with it */
                    for (size_t i = 0; i < w.ns; i++)
                        for (int k = 0; k < w.m[s->multi].n; k++)
                            if (w.s[i].id == w.m[s->multi].members[k] && &w.s[i] != s &&
                                eligible(&w.s[i]))
                                start_exceed(&w.s[i], now, speed);
                break;
            }
        }
        if (offline_rate > 0 && unit() < dt_h * offline_rate) {
            for (int tries = 0; tries < 200; tries++) {
                sim_sensor *s = &w.s[rnd() % w.ns];
                if (s->ep != EP_NONE)
                    continue;
                s->ep = EP_SILENT;
                s->ep_t0 = now;
                s->ep_hold = s->gap_ms + (int64_t)(uniform(60, 240) * 1000);
                break;
            }
        }

        /* due readings, one batch per object */
        for (size_t oi = 0; oi < w.no; oi++) {
            const sim_object *o = &w.o[oi];
            size_t n = 0;
            for (size_t i = o->first; i < o->first + o->n; i++) {
                sim_sensor *s = &w.s[i];
                if (now < s->next_due)
                    continue;
                /* the next sweep of its phase after now */
                int64_t iv_ms = (int64_t)fmax(1, s->interval_s * 1000.0 / speed);
                int64_t d = now - start - s->phase_ms;
                s->next_due = start + s->phase_ms + (d < 0 ? 0 : d / iv_ms + 1) * iv_ms;
                if (s->ep == EP_SILENT) {
                    if (now - s->ep_t0 < s->ep_hold)
                        continue;
                    s->ep = EP_NONE;
                }
                double v = next_value(&w, s, now, sim_h);
                if (n == 0) {
                    yj_buf_reset(&b);
                    yj_buf_puts(&b, "{\"readings\":[");
                }
                yj_buf_printf(&b, "%s{\"sensor\":", n ? "," : "");
                yj_buf_json_string(&b, s->code);
                yj_buf_printf(&b, ",\"ts\":%lld,\"value\":%.*f}", (long long)now, s->decimals, v);
                n++;
            }
            if (n == 0)
                continue;
            yj_buf_puts(&b, "]}");
            mrc = mosquitto_publish(m, NULL, o->topic, (int)b.len, b.data, 1, false);
            if (mrc == MOSQ_ERR_SUCCESS) {
                msgs++;
                readings += (long)n;
            } else {
                errors++;
            }
        }

        if (cfg->out && now - last_summary >= 10000) {
            summary(cfg->out, &w, now - start, msgs, readings, atomic_load(&acked), errors,
                    readings - last_readings, (double)(now - last_summary) / 1000.0);
            last_summary = now;
            last_readings = readings;
        }
        sleep_ms(100);
    }
    if (cfg->out)
        summary(cfg->out, &w, yj_now_ms() - start, msgs, readings, atomic_load(&acked), errors,
                readings - last_readings,
                fmax(0.001, (double)(yj_now_ms() - last_summary) / 1000.0));
    stop_flag = 1; /* also when the duration ran out: the disconnect is ours */
    /* let the last messages be acknowledged (at most 3 s) */
    for (int i = 0; i < 30 && atomic_load(&acked) < msgs && atomic_load(&connected); i++)
        sleep_ms(100);
    mosquitto_disconnect(m);
    mosquitto_loop_stop(m, false);
    mosquitto_destroy(m);
    yj_buf_free(&b);
    free(w.s);
    free(w.o);
    free(w.m);
    return YJ_OK;
}
