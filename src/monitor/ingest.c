/*
 * ingest.c — the monitoring runtime and its single writer thread.
 *
 * Every path that brings readings (MQTT, HTTP gateways, KJ files, the
 * simulator) calls mon_ingest(), which queues the readings and waits.  One
 * writer thread takes whatever is queued (group commit), and for each
 * reading, in memory:
 *   - validates it (known sensor, not retired, in the gateway's region,
 *     finite, inside the physical range, not in the future, not a repeat of
 *     the sensor's latest timestamp);
 *   - marks it late (补传) when it is older than its expected interval;
 *   - if it is the sensor's newest reading, updates the latest value and
 *     evaluates the sensor's rules (and the multi-sensor rules it belongs to);
 *     older readings are stored and aggregated but drive no rule;
 * then, in one transaction: appends the readings to the reading log
 * (rawlog.c; a (sensor, ts) already stored is a duplicate and becomes a
 * reject), the rejects, and the alarm changes the rules produced, and
 * commits.  Only then are the callers answered (HTTP 200, MQTT PUBACK) and
 * alarm events published.  Between batches the same thread merges the log
 * into the sensor-ordered history table, a chunk at a time.
 *
 * The writer alone changes rule state, so the rules need no locks; a
 * read-write lock guards the sensor table for readers (latest values).
 * The same thread runs the timers: data-gap detection, escalation of
 * unacknowledged alarms and retention (minute/hour aggregates are made by
 * the merge).
 */
#include "monitor.h"
#include "rawlog.h"
#include "../base/workflow.h"
#include "../core/events.h"
#include "../core/util.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FUTURE_SLACK_MS (5 * 60 * 1000LL)
#define LATE_MIN_MS     (2 * 60 * 1000LL)
#define RETAIN_EVERY_MS (3600 * 1000LL)
#define RAW_MAX         2048

/* The generations of everything the runtime is built from; a change made
 * by any process shows here (registry writes bump their table's). */
#define CONFIG_GEN_SQL                                                                             \
    "SELECT COALESCE(SUM(gen), 0) FROM table_generation"                                           \
    " WHERE name IN ('sensor', 'monitored_object', 'enterprise', 'monitor_config')"

enum { F_LATE = 1, F_OLD = 2, F_SUPPRESSED = 4 };

typedef struct {
    int64_t id, object_id, enterprise_id;
    char code[64], name[96], object_name[96], unit[16], industry[48];
    char region[16];
    int type;
    double lo, hi;
    int interval_s;
    uint8_t status; /* 0 正常, 1 维护, 2 停用 */
    bool has_last;
    int64_t created_ms; /* registered (a sensor never heard from is silent since then) */
    int64_t last_ts, last_rx;
    double last_val;
    uint32_t rfirst, rcount; /* own rule states */
    uint32_t mfirst, mcount; /* multi-rule states it is a member of (into mrefs) */
} sensor_rt;

typedef struct {
    int64_t id;
    char name[96], region[16];
    int min_level; /* national: deliver levels 1..min_level */
    char kinds[96], industries[256];
    int64_t *users;
    char (*user_region)[16];
    size_t nusers;
} group_rt;

typedef struct {
    int64_t sensor_id, object_id, start, end;
} maint_rt;

typedef struct {
    mon_rule rule;
    char key[24];
    char name[96];
} rule_rt;

typedef struct runtime {
    sensor_rt *sensors;
    size_t nsensors;
    uint32_t *by_code, *by_id; /* open addressing, idx + 1 */
    size_t hcap;
    rule_rt *rules; /* every distinct rule: DB rules and per-type defaults */
    size_t nrules;
    mon_rule_state *states;
    uint32_t *state_sensor; /* owning sensor of each state */
    size_t nstates;
    size_t nown; /* states [0, nown) are per-sensor rules; the rest multi-sensor */
    uint32_t *mrefs;
    size_t nmrefs;
    maint_rt *maint;
    size_t nmaint;
    group_rt *groups;
    size_t ngroups;
    int64_t (*ent_users)[2]; /* (enterprise id, user id) */
    size_t nent_users;
} runtime;

typedef enum { JOB_READINGS, JOB_TICK, JOB_REJECT } job_kind;

typedef struct job {
    struct job *next;
    job_kind kind;
    const mon_reading *r;
    size_t n;
    mon_source src;
    const char *origin, *gw_region, *raw;
    size_t raw_len;
    const char *detail;
    mon_reject reason;  /* JOB_REJECT */
    const char *sensor; /* JOB_REJECT: sensor code, or NULL */
    bool tick_all;      /* JOB_TICK: a whole retention pass, the log merged first */
    /* outcome, written by the writer */
    uint8_t *outcome; /* per reading: 0 accepted, reason + 1 rejected */
    uint8_t *flags;
    mon_result res;
    yj_code rc;
    yj_err err;
    bool done;
} job;

static struct {
    yj_store *store;
    mon_config cfg;
    pthread_rwlock_t lock;
    runtime rt;
    bool running, stop;
    _Atomic bool reload;
    pthread_t writer;
    pthread_mutex_t qmu;
    pthread_cond_t qcv, donecv;
    job *qhead, *qtail;
    int64_t start_ms, last_retain;
    int64_t config_gen; /* CONFIG_GEN_SQL when the runtime was loaded */
    /* counters for /metrics */
    atomic_llong accepted[MON_SRC_COUNT], rejected[MON_SRC_COUNT][MON_REJ_COUNT];
    atomic_llong late, alarms_raised, suppressed, commits, reading_rows;
    atomic_llong queue_depth;
    /* counties whose sensors start over at the next reload (partition.c) */
    pthread_mutex_t forget_mu;
    struct {
        char v[64][8];
        size_t n;
    } forget;
} g = {.lock = PTHREAD_RWLOCK_INITIALIZER,
       .forget_mu = PTHREAD_MUTEX_INITIALIZER,
       .qmu = PTHREAD_MUTEX_INITIALIZER,
       .qcv = PTHREAD_COND_INITIALIZER,
       .donecv = PTHREAD_COND_INITIALIZER};

/* ---- names -------------------------------------------------------------------- */

static const char *const src_names[MON_SRC_COUNT] = {"mqtt", "http", "kj", "sim"};
static const struct {
    const char *name, *label;
} rej_names[MON_REJ_COUNT] = {
    [MON_REJ_MALFORMED] = {"malformed", "格式错误"},
    [MON_REJ_UNKNOWN] = {"unknown_sensor", "未知传感器"},
    [MON_REJ_RANGE] = {"out_of_range", "超出量程"},
    [MON_REJ_FUTURE] = {"future", "时间超前"},
    [MON_REJ_DUPLICATE] = {"duplicate", "重复数据"},
    [MON_REJ_RETIRED] = {"retired", "传感器已停用"},
    [MON_REJ_FORBIDDEN] = {"forbidden", "不在网关辖区"},
};

const char *mon_source_name(mon_source s)
{
    return (unsigned)s < MON_SRC_COUNT ? src_names[s] : "?";
}

const char *mon_reject_name(mon_reject r)
{
    return (unsigned)r < MON_REJ_COUNT ? rej_names[r].name : "?";
}

const char *mon_reject_label(mon_reject r)
{
    return (unsigned)r < MON_REJ_COUNT ? rej_names[r].label : "?";
}

int64_t mon_result_rejected(const mon_result *r)
{
    int64_t n = 0;
    for (int i = 0; i < MON_REJ_COUNT; i++)
        n += r->rejected[i];
    return n;
}

json_t *mon_result_json(const mon_result *r)
{
    json_t *rej = json_object();
    for (int i = 0; i < MON_REJ_COUNT; i++)
        if (r->rejected[i])
            json_object_set_new(rej, rej_names[i].name, json_integer(r->rejected[i]));
    return json_pack("{s:I,s:I,s:I,s:o}", "accepted", (json_int_t)r->accepted, "late",
                     (json_int_t)r->late, "rejected_total", (json_int_t)mon_result_rejected(r),
                     "rejected", rej);
}

/* ---- hash tables ---------------------------------------------------------- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static uint64_t hash_int(int64_t v)
{
    uint64_t x = (uint64_t)v * 0x9E3779B97F4A7C15ULL;
    return x ^ (x >> 29);
}

static sensor_rt *find_code(const runtime *rt, const char *code)
{
    if (rt->hcap == 0)
        return NULL;
    size_t mask = rt->hcap - 1;
    for (size_t i = hash_str(code) & mask;; i = (i + 1) & mask) {
        uint32_t v = rt->by_code[i];
        if (v == 0)
            return NULL;
        if (strcmp(rt->sensors[v - 1].code, code) == 0)
            return &rt->sensors[v - 1];
    }
}

static sensor_rt *find_id(const runtime *rt, int64_t id)
{
    if (rt->hcap == 0)
        return NULL;
    size_t mask = rt->hcap - 1;
    for (size_t i = hash_int(id) & mask;; i = (i + 1) & mask) {
        uint32_t v = rt->by_id[i];
        if (v == 0)
            return NULL;
        if (rt->sensors[v - 1].id == id)
            return &rt->sensors[v - 1];
    }
}

static bool build_index(runtime *rt)
{
    size_t cap = 16;
    while (cap < rt->nsensors * 2 + 1)
        cap <<= 1;
    rt->by_code = calloc(cap, sizeof *rt->by_code);
    rt->by_id = calloc(cap, sizeof *rt->by_id);
    if (rt->by_code == NULL || rt->by_id == NULL)
        return false;
    rt->hcap = cap;
    for (size_t k = 0; k < rt->nsensors; k++) {
        size_t i = hash_str(rt->sensors[k].code) & (cap - 1);
        while (rt->by_code[i])
            i = (i + 1) & (cap - 1);
        rt->by_code[i] = (uint32_t)k + 1;
        i = hash_int(rt->sensors[k].id) & (cap - 1);
        while (rt->by_id[i])
            i = (i + 1) & (cap - 1);
        rt->by_id[i] = (uint32_t)k + 1;
    }
    return true;
}

static void runtime_free(runtime *rt)
{
    for (size_t i = 0; i < rt->nstates; i++)
        mon_rule_state_free(&rt->states[i]);
    for (size_t i = 0; i < rt->ngroups; i++) {
        free(rt->groups[i].users);
        free(rt->groups[i].user_region);
    }
    free(rt->sensors);
    free(rt->by_code);
    free(rt->by_id);
    free(rt->rules);
    free(rt->states);
    free(rt->state_sensor);
    free(rt->mrefs);
    free(rt->maint);
    free(rt->groups);
    free(rt->ent_users);
    memset(rt, 0, sizeof *rt);
}

/* ---- loading ------------------------------------------------------------------ */

#define GROW(arr, n, cap)                                                                          \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            size_t nc_ = (cap) ? (cap)*2 : 64;                                                     \
            void *p_ = realloc((arr), nc_ * sizeof *(arr));                                        \
            if (p_ == NULL)                                                                        \
                goto oom;                                                                          \
            (arr) = p_;                                                                            \
            (cap) = nc_;                                                                           \
        }                                                                                          \
    } while (0)

static void copy_text(char *dst, size_t n, yj_stmt *st, int col)
{
    snprintf(dst, n, "%s", yj_col_text(st, col));
}

/* "2026-11-25T04:26:04.123Z" -> ms; 0 if unreadable. */
static int64_t iso_ms(const char *t)
{
    struct tm tm = {0};
    int ms = 0;
    if (sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &ms) < 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

static int status_code(const char *s)
{
    if (strcmp(s, "维护") == 0)
        return 1;
    if (strcmp(s, "停用") == 0)
        return 2;
    return 0;
}

typedef struct {
    int64_t id, sensor_id;
    char type[48];
    char region[16]; /* a type rule applies to sensors inside this region */
    mon_rule rule;
    bool enabled;
    char name[96];
} dbrule;

static const dbrule *sort_db; /* qsort context (loading runs on one thread at a time) */

static int cmp_by_sensor(const void *a, const void *b)
{
    const dbrule *x = &sort_db[*(const size_t *)a], *y = &sort_db[*(const size_t *)b];
    if (x->sensor_id != y->sensor_id)
        return (x->sensor_id > y->sensor_id) - (x->sensor_id < y->sensor_id);
    return (x->id > y->id) - (x->id < y->id); /* the newest rule of a kind wins */
}

static const rule_rt *rule_of(const mon_rule_state *st)
{
    return (const rule_rt *)(const void *)st->rule; /* rule is rule_rt's first member */
}

static bool add_state(runtime *rt, size_t *cap, const mon_rule *rule, uint32_t sensor)
{
    if (rt->nstates == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        void *p1 = realloc(rt->states, nc * sizeof *rt->states);
        if (p1 == NULL)
            return false;
        rt->states = p1;
        void *p2 = realloc(rt->state_sensor, nc * sizeof *rt->state_sensor);
        if (p2 == NULL)
            return false;
        rt->state_sensor = p2;
        *cap = nc;
    }
    memset(&rt->states[rt->nstates], 0, sizeof rt->states[0]);
    rt->states[rt->nstates].rule = rule;
    rt->state_sensor[rt->nstates] = sensor;
    rt->nstates++;
    return true;
}

static mon_rule_state *find_state(runtime *rt, uint32_t a, uint32_t b, uint32_t sensor,
                                  const rule_rt *want)
{
    for (uint32_t j = a; j < b; j++) {
        if (rt->state_sensor[j] != sensor)
            continue;
        const rule_rt *r = rule_of(&rt->states[j]);
        if (strcmp(r->key, want->key) == 0 && memcmp(&r->rule, &want->rule, sizeof r->rule) == 0)
            return &rt->states[j];
    }
    return NULL;
}

static void latest_from_log(int64_t sensor_id, int64_t ts, double value, int64_t rx, void *ctx)
{
    sensor_rt *s = find_id(ctx, sensor_id);
    if (s && (!s->has_last || ts > s->last_ts)) {
        s->has_last = true;
        s->last_ts = ts;
        s->last_val = value;
        s->last_rx = rx;
    }
}

/* Effective rules of one sensor: sensor rules override type rules override
 * the built-in defaults, kind by kind (a disabled sensor or type rule
 * switches that kind off). */
/* Counties whose sensors start over from the store at this reload
 * (mon_forget_county: taken from another node); writer thread only. */
static struct {
    char v[64][8];
    size_t n;
} forget_now;

/* The old runtime's sensor to carry state over from, or NULL. */
static const sensor_rt *carried(const runtime *old, const sensor_rt *s)
{
    for (size_t i = 0; i < forget_now.n; i++)
        if (strncmp(s->region, forget_now.v[i], 6) == 0)
            return NULL;
    return old ? find_id(old, s->id) : NULL;
}

static yj_code load_runtime(yj_conn *c, runtime *old, runtime *rt, yj_err *err)
{
    memset(rt, 0, sizeof *rt);
    size_t scap = 0, rcap = 0, stcap = 0, mcap = 0, dcap = 0, gcap = 0, ecap = 0, xcap = 0;
    dbrule *db = NULL;
    size_t ndb = 0;
    yj_stmt *st = yj_prepare(c,
                             "SELECT s.id, s.code, s.name, s.type, s.unit, s.range_lo, s.range_hi,"
                             " s.interval_s, s.status, s.region_code, s.object_id, s.enterprise_id,"
                             " o.name, o.kind, e.industry, s.created_at"
                             " FROM sensor s JOIN monitored_object o ON o.id = s.object_id"
                             " LEFT JOIN enterprise e ON e.id = s.enterprise_id ORDER BY s.id",
                             err);
    if (st == NULL)
        return yj_fail(err);
    int r;
    while ((r = yj_step(st, err)) == 1) {
        GROW(rt->sensors, rt->nsensors, scap);
        sensor_rt *s = &rt->sensors[rt->nsensors++];
        memset(s, 0, sizeof *s);
        s->id = yj_col_int(st, 0);
        copy_text(s->code, sizeof s->code, st, 1);
        copy_text(s->name, sizeof s->name, st, 2);
        s->type = mon_type_find(yj_col_text(st, 3));
        copy_text(s->unit, sizeof s->unit, st, 4);
        const mon_sensor_type *ty = mon_type_at(s->type < 0 ? 0 : (size_t)s->type);
        s->lo = yj_col_null(st, 5) ? ty->lo : yj_col_real(st, 5);
        s->hi = yj_col_null(st, 6) ? ty->hi : yj_col_real(st, 6);
        s->interval_s = yj_col_null(st, 7) ? ty->interval_s : (int)yj_col_int(st, 7);
        s->status = (uint8_t)status_code(yj_col_text(st, 8));
        copy_text(s->region, sizeof s->region, st, 9);
        s->object_id = yj_col_int(st, 10);
        s->enterprise_id = yj_col_null(st, 11) ? 0 : yj_col_int(st, 11);
        copy_text(s->object_name, sizeof s->object_name, st, 12);
        /* the regulator's line: the enterprise's industry, else the object kind */
        copy_text(s->industry, sizeof s->industry, st, yj_col_null(st, 14) ? 13 : 14);
        s->created_ms = iso_ms(yj_col_text(st, 15));
    }
    yj_stmt_done(st);
    if (r < 0)
        goto fail;
    if (!build_index(rt))
        goto oom;

    /* latest values: carried over from the old runtime, else from the store */
    st = yj_prepare(
        c, "SELECT ts, value, rx FROM reading WHERE sensor_id = ? ORDER BY ts DESC LIMIT 1", err);
    if (st == NULL)
        goto fail;
    for (size_t i = 0; i < rt->nsensors; i++) {
        sensor_rt *s = &rt->sensors[i];
        const sensor_rt *o = carried(old, s);
        if (o) {
            s->has_last = o->has_last;
            s->last_ts = o->last_ts;
            s->last_val = o->last_val;
            s->last_rx = o->last_rx;
            continue;
        }
        yj_stmt_reset(st);
        yj_bind_int(st, 1, s->id);
        if ((r = yj_step(st, err)) == 1) {
            s->has_last = true;
            s->last_ts = yj_col_int(st, 0);
            s->last_val = yj_col_real(st, 1);
            s->last_rx = yj_col_int(st, 2);
        } else if (r < 0) {
            yj_stmt_done(st);
            goto fail;
        }
    }
    yj_stmt_done(st);
    /* ... and newer ones still in the reading log (not merged yet) */
    mon_raw_each(latest_from_log, rt);

    /* stored rules */
    st = yj_prepare(c,
                    "SELECT id, kind, sensor_type, sensor_id, params, enabled, name, region_code"
                    " FROM monitor_rule ORDER BY id",
                    err);
    if (st == NULL)
        goto fail;
    while ((r = yj_step(st, err)) == 1) {
        int kind = mon_rule_kind_parse(yj_col_text(st, 1));
        json_t *p = json_loads(yj_col_text(st, 4), 0, NULL);
        dbrule d = {.id = yj_col_int(st, 0),
                    .sensor_id = yj_col_null(st, 3) ? 0 : yj_col_int(st, 3),
                    .enabled = yj_col_int(st, 5) != 0};
        copy_text(d.type, sizeof d.type, st, 2);
        copy_text(d.name, sizeof d.name, st, 6);
        copy_text(d.region, sizeof d.region, st, 7);
        bool ok = kind >= 0 && mon_rule_from_json((mon_rule_kind)kind, p, &d.rule, NULL) == YJ_OK;
        json_decref(p);
        if (!ok) {
            yj_log(YJ_LOG_WARN, "monitor.rule_skipped", "rule %lld has bad parameters",
                   (long long)d.id);
            continue;
        }
        d.rule.id = d.id;
        GROW(db, ndb, dcap);
        db[ndb++] = d;
    }
    yj_stmt_done(st);
    if (r < 0)
        goto fail;

    /* rule table: every DB rule, then each type's defaults */
    size_t ntypes = mon_type_count();
    size_t *def_first = calloc(ntypes + 1, sizeof *def_first);
    if (def_first == NULL)
        goto oom;
    for (size_t i = 0; i < ndb; i++) {
        GROW(rt->rules, rt->nrules, rcap);
        rule_rt *rr = &rt->rules[rt->nrules++];
        rr->rule = db[i].rule;
        snprintf(rr->key, sizeof rr->key, "r%lld", (long long)db[i].id);
        snprintf(rr->name, sizeof rr->name, "%s", db[i].name);
    }
    for (size_t t = 0; t < ntypes; t++) {
        mon_rule defs[4];
        size_t nd = mon_type_defaults((int)t, defs, 4);
        def_first[t] = rt->nrules;
        for (size_t k = 0; k < nd; k++) {
            if (rt->nrules == rcap) {
                size_t nc = rcap ? rcap * 2 : 64;
                void *p = realloc(rt->rules, nc * sizeof *rt->rules);
                if (p == NULL) {
                    free(def_first);
                    goto oom;
                }
                rt->rules = p;
                rcap = nc;
            }
            rule_rt *rr = &rt->rules[rt->nrules++];
            rr->rule = defs[k];
            snprintf(rr->key, sizeof rr->key, "d%s", mon_rule_kind_name(defs[k].kind));
            snprintf(rr->name, sizeof rr->name, "默认%s规则", mon_rule_kind_label(defs[k].kind));
        }
    }
    def_first[ntypes] = rt->nrules;

    /* sensor-specific rules sorted by sensor, for a binary search per sensor */
    size_t *by_sensor = malloc((ndb + 1) * sizeof *by_sensor);
    size_t nby = 0;
    if (by_sensor == NULL) {
        free(def_first);
        goto oom;
    }
    /* type rules (few) apart, so each sensor does not walk every rule */
    size_t *by_type = malloc((ndb + 1) * sizeof *by_type);
    size_t nbt = 0;
    if (by_type == NULL) {
        free(def_first);
        free(by_sensor);
        goto oom;
    }
    for (size_t k = 0; k < ndb; k++) {
        if (db[k].rule.kind == MON_RULE_MULTI)
            continue;
        if (db[k].sensor_id)
            by_sensor[nby++] = k;
        else
            by_type[nbt++] = k;
    }
    sort_db = db;
    qsort(by_sensor, nby, sizeof *by_sensor, cmp_by_sensor);

    /* states: per sensor, per kind, the winning rule */
    for (size_t i = 0; i < rt->nsensors; i++) {
        sensor_rt *s = &rt->sensors[i];
        s->rfirst = (uint32_t)rt->nstates;
        const char *tlabel = s->type >= 0 ? mon_type_at((size_t)s->type)->label : "";
        size_t lo = 0, hi = nby;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (db[by_sensor[mid]].sensor_id < s->id)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (int kind = 0; kind < MON_RULE_KIND_COUNT; kind++) {
            if (kind == MON_RULE_MULTI)
                continue;
            long pick = -1; /* index into rt->rules (== db index for stored rules); -2: off */
            for (size_t x = lo; x < nby && db[by_sensor[x]].sensor_id == s->id; x++)
                if (db[by_sensor[x]].rule.kind == (mon_rule_kind)kind)
                    pick = db[by_sensor[x]].enabled ? (long)by_sensor[x] : -2;
            /* a type rule of the sensor's own region or one above it: the
             * most specific region wins, then the newest rule (a county's
             * rule never reaches a sensor in another county) */
            if (pick == -1) {
                size_t best_len = 0;
                for (size_t x = 0; x < nbt; x++) {
                    const dbrule *d = &db[by_type[x]];
                    size_t len = strlen(d->region);
                    if (d->rule.kind != (mon_rule_kind)kind || strcmp(d->type, tlabel) != 0 ||
                        !yj_region_within(s->region, d->region) || (pick != -1 && len < best_len))
                        continue;
                    best_len = len;
                    pick = d->enabled ? (long)by_type[x] : -2;
                }
            }
            if (pick == -1 && s->type >= 0)
                for (size_t k = def_first[s->type]; k < def_first[s->type + 1]; k++)
                    if (rt->rules[k].rule.kind == (mon_rule_kind)kind)
                        pick = (long)k;
            if (pick < 0)
                continue;
            if (!add_state(rt, &stcap, &rt->rules[pick].rule, (uint32_t)i)) {
                free(def_first);
                free(by_sensor);
                free(by_type);
                goto oom;
            }
        }
        s->rcount = (uint32_t)rt->nstates - s->rfirst;
    }
    free(def_first);
    free(by_sensor);
    free(by_type);

    /* multi-sensor rules: the state belongs to the first member; every
     * member lists it in mrefs so its readings re-evaluate the rule */
    rt->nown = rt->nstates;
    for (size_t k = 0; k < ndb; k++) {
        if (db[k].rule.kind != MON_RULE_MULTI || !db[k].enabled)
            continue;
        sensor_rt *owner = find_id(rt, db[k].rule.members[0]);
        if (owner == NULL)
            continue;
        if (!add_state(rt, &stcap, &rt->rules[k].rule, (uint32_t)(owner - rt->sensors)))
            goto oom;
    }
    /* mrefs grouped by member sensor */
    for (size_t i = 0; i < rt->nsensors; i++) {
        sensor_rt *s = &rt->sensors[i];
        s->mfirst = (uint32_t)rt->nmrefs;
        for (size_t k = rt->nown; k < rt->nstates; k++) {
            const mon_rule *mr = rt->states[k].rule;
            for (int m = 0; m < mr->nmembers; m++)
                if (mr->members[m] == s->id) {
                    GROW(rt->mrefs, rt->nmrefs, mcap);
                    rt->mrefs[rt->nmrefs++] = (uint32_t)k;
                    break;
                }
        }
        s->mcount = (uint32_t)rt->nmrefs - s->mfirst;
    }

    /* rule states: carried over when the same rule still applies */
    for (size_t k = 0; k < rt->nstates; k++) {
        mon_rule_state *ns = &rt->states[k];
        const sensor_rt *s = &rt->sensors[rt->state_sensor[k]];
        const sensor_rt *os = carried(old, s);
        if (os == NULL)
            continue;
        uint32_t ofirst = k < rt->nown ? os->rfirst : (uint32_t)old->nown;
        uint32_t oend = k < rt->nown ? os->rfirst + os->rcount : (uint32_t)old->nstates;
        mon_rule_state *ostate =
            find_state(old, ofirst, oend, (uint32_t)(os - old->sensors), rule_of(ns));
        if (ostate == NULL)
            continue;
        const mon_rule *keep = ns->rule;
        *ns = *ostate;
        ns->rule = keep;
        ostate->ring = NULL; /* moved */
    }
    /* open alarms re-attached from the store */
    st = yj_prepare(c,
                    "SELECT id, sensor_id, rule_key, cur_sev, cond, peak, level FROM alarm"
                    " WHERE state <> 'closed' ORDER BY id",
                    err);
    if (st == NULL)
        goto fail;
    while ((r = yj_step(st, err)) == 1) {
        const sensor_rt *s = find_id(rt, yj_col_int(st, 1));
        if (s == NULL)
            continue;
        mon_rule_state *ms = NULL;
        for (uint32_t pass = 0; pass < 2 && ms == NULL; pass++) {
            uint32_t a = pass == 0 ? s->rfirst : (uint32_t)rt->nown;
            uint32_t b = pass == 0 ? s->rfirst + s->rcount : (uint32_t)rt->nstates;
            for (uint32_t k = a; k < b && ms == NULL; k++)
                if (rt->state_sensor[k] == (uint32_t)(s - rt->sensors) &&
                    strcmp(rule_of(&rt->states[k])->key, yj_col_text(st, 2)) == 0)
                    ms = &rt->states[k];
        }
        if (ms) {
            ms->alarm_id = yj_col_int(st, 0);
            if (ms->active == 0 && strcmp(yj_col_text(st, 4), "active") == 0)
                ms->active = (uint8_t)yj_col_int(st, 3);
            ms->peak = yj_col_real(st, 5);
            ms->peak_sev = (uint8_t)MON_SEV_TO_LEVEL(yj_col_int(st, 6));
        }
    }
    yj_stmt_done(st);
    if (r < 0)
        goto fail;

    /* maintenance windows still to come or running */
    st = yj_prepare(c,
                    "SELECT sensor_id, object_id, start_ms, end_ms FROM maintenance_window"
                    " WHERE end_ms > ?",
                    err);
    if (st == NULL)
        goto fail;
    yj_bind_int(st, 1, yj_clock_now());
    while ((r = yj_step(st, err)) == 1) {
        GROW(rt->maint, rt->nmaint, xcap);
        rt->maint[rt->nmaint++] = (maint_rt){yj_col_null(st, 0) ? 0 : yj_col_int(st, 0),
                                             yj_col_null(st, 1) ? 0 : yj_col_int(st, 1),
                                             yj_col_int(st, 2), yj_col_int(st, 3)};
    }
    yj_stmt_done(st);
    if (r < 0)
        goto fail;

    /* recipient groups and their (enabled) members */
    st = yj_prepare(c,
                    "SELECT g.id, g.name, g.region_code, g.min_level, g.kinds, g.industries,"
                    " u.id, u.region_code FROM alarm_group g"
                    " LEFT JOIN alarm_group_member m ON m.group_id = g.id"
                    " LEFT JOIN users u ON u.id = m.user_id AND u.disabled = 0 ORDER BY g.id",
                    err);
    if (st == NULL)
        goto fail;
    while ((r = yj_step(st, err)) == 1) {
        int64_t gid = yj_col_int(st, 0);
        if (rt->ngroups == 0 || rt->groups[rt->ngroups - 1].id != gid) {
            GROW(rt->groups, rt->ngroups, gcap);
            group_rt *gr = &rt->groups[rt->ngroups++];
            memset(gr, 0, sizeof *gr);
            gr->id = gid;
            copy_text(gr->name, sizeof gr->name, st, 1);
            copy_text(gr->region, sizeof gr->region, st, 2);
            gr->min_level = (int)yj_col_int(st, 3);
            copy_text(gr->kinds, sizeof gr->kinds, st, 4);
            copy_text(gr->industries, sizeof gr->industries, st, 5);
        }
        if (yj_col_null(st, 6))
            continue;
        group_rt *gr = &rt->groups[rt->ngroups - 1];
        void *p1 = realloc(gr->users, (gr->nusers + 1) * sizeof *gr->users);
        if (p1)
            gr->users = p1;
        void *p2 = realloc(gr->user_region, (gr->nusers + 1) * sizeof *gr->user_region);
        if (p2)
            gr->user_region = p2;
        if (p1 == NULL || p2 == NULL) {
            yj_stmt_done(st);
            goto oom;
        }
        gr->users[gr->nusers] = yj_col_int(st, 6);
        copy_text(gr->user_region[gr->nusers], sizeof gr->user_region[0], st, 7);
        gr->nusers++;
    }
    yj_stmt_done(st);
    if (r < 0)
        goto fail;

    st = yj_prepare(c,
                    "SELECT enterprise_id, id FROM users WHERE role = 'enterprise'"
                    " AND enterprise_id IS NOT NULL AND disabled = 0 ORDER BY enterprise_id",
                    err);
    if (st == NULL)
        goto fail;
    while ((r = yj_step(st, err)) == 1) {
        GROW(rt->ent_users, rt->nent_users, ecap);
        rt->ent_users[rt->nent_users][0] = yj_col_int(st, 0);
        rt->ent_users[rt->nent_users][1] = yj_col_int(st, 1);
        rt->nent_users++;
    }
    yj_stmt_done(st);
    if (r < 0)
        goto fail;
    free(db);
    return YJ_OK;
oom:
    yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory loading the monitoring runtime");
fail:
    free(db);
    runtime_free(rt);
    return yj_fail(err);
}

/* ---- evaluation (writer thread, runtime write-locked) --------------------- */

typedef struct {
    uint32_t state;
    mon_rule_event ev;
    int64_t ts;
    bool late;
    /* who: the reading's origin ("gateway:3", "mqtt:<topic>", "kj:<file>"),
     * or the timer's name (a data gap) */
    const char *actor;
} alarm_op;

typedef struct {
    alarm_op *ops;
    size_t n, cap;
} op_list;

static bool ops_push(op_list *l, alarm_op op)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        alarm_op *p = realloc(l->ops, nc * sizeof *p);
        if (p == NULL)
            return false;
        l->ops = p;
        l->cap = nc;
    }
    l->ops[l->n++] = op;
    return true;
}

static bool member_latest(int64_t sensor_id, int64_t now, double *value, void *ctx)
{
    const runtime *rt = ctx;
    const sensor_rt *s = find_id(rt, sensor_id);
    if (s == NULL || !s->has_last || s->status == 2)
        return false;
    /* a member silent for three intervals does not count */
    if (now - s->last_ts > (int64_t)s->interval_s * 3000)
        return false;
    *value = s->last_val;
    return true;
}

static bool suppressed(const runtime *rt, const sensor_rt *s, int64_t ts)
{
    if (s->status == 1)
        return true;
    for (size_t i = 0; i < rt->nmaint; i++) {
        const maint_rt *m = &rt->maint[i];
        if ((m->sensor_id == s->id || (m->object_id && m->object_id == s->object_id)) &&
            ts >= m->start && ts < m->end)
            return true;
    }
    return false;
}

static void eval_state(runtime *rt, uint32_t k, int64_t ts, double v, bool late, bool quiet,
                       op_list *ops)
{
    mon_rule_state *st = &rt->states[k];
    mon_rule_state saved = *st;
    mon_rule_event ev = mon_rule_eval(st, ts, v, member_latest, rt);
    if (ev.kind == MON_EV_NONE)
        return;
    if (ev.kind == MON_EV_RAISE && quiet) {
        /* maintenance: keep the windows and timers, raise nothing */
        st->active = saved.active;
        st->peak = saved.peak;
        st->peak_sev = saved.peak_sev;
        atomic_fetch_add(&g.suppressed, 1);
        return;
    }
    if (!ops_push(ops, (alarm_op){k, ev, ts, late}))
        yj_log(YJ_LOG_ERROR, "monitor.oom", "alarm change dropped for state %u", k);
}

/* Validate and evaluate one reading.  Returns 0 (accepted) or reject + 1. */
static int eval_reading(runtime *rt, const mon_reading *in, const char *gw_region, int64_t now,
                        uint8_t *flags, op_list *ops)
{
    *flags = 0;
    if (in->bad)
        return in->reject + 1;
    sensor_rt *s = find_code(rt, in->sensor);
    if (s == NULL)
        return MON_REJ_UNKNOWN + 1;
    if (gw_region && !yj_region_within(s->region, gw_region))
        return MON_REJ_FORBIDDEN + 1;
    if (s->status == 2)
        return MON_REJ_RETIRED + 1;
    if (!isfinite(in->value))
        return MON_REJ_MALFORMED + 1;
    if (in->value < s->lo || in->value > s->hi)
        return MON_REJ_RANGE + 1;
    if (in->ts > now + FUTURE_SLACK_MS)
        return MON_REJ_FUTURE + 1;
    if (s->has_last && in->ts == s->last_ts)
        return MON_REJ_DUPLICATE + 1;
    int64_t late_ms = (int64_t)s->interval_s * 2000;
    bool late = now - in->ts > (late_ms > LATE_MIN_MS ? late_ms : LATE_MIN_MS);
    if (late)
        *flags |= F_LATE;
    if (s->has_last && in->ts < s->last_ts) {
        *flags |= F_OLD; /* history catching up: stored, aggregated, no rules */
        return 0;
    }
    s->has_last = true;
    s->last_ts = in->ts;
    s->last_val = in->value;
    s->last_rx = now;
    bool quiet = suppressed(rt, s, in->ts);
    if (quiet)
        *flags |= F_SUPPRESSED;
    for (uint32_t k = s->rfirst; k < s->rfirst + s->rcount; k++)
        eval_state(rt, k, in->ts, in->value, late, quiet, ops);
    for (uint32_t m = s->mfirst; m < s->mfirst + s->mcount; m++) {
        uint32_t k = rt->mrefs[m];
        eval_state(rt, k, in->ts, in->value, late,
                   suppressed(rt, &rt->sensors[rt->state_sensor[k]], in->ts), ops);
    }
    return 0;
}

/* ---- alarm persistence (writer thread, inside the transaction) ------------ */

static const char *kind_phrase(mon_rule_kind k)
{
    switch (k) {
    case MON_RULE_THRESHOLD:
        return "超限报警";
    case MON_RULE_RATE:
        return "变化率异常";
    case MON_RULE_SUM:
        return "累计值超限";
    case MON_RULE_MULTI:
        return "多传感器联合超限";
    case MON_RULE_GAP:
        return "数据中断（离线）";
    default:
        return "报警";
    }
}

static bool list_has(const char *csv, const char *item)
{
    if (csv[0] == '\0')
        return true; /* empty = any */
    size_t n = strlen(item);
    for (const char *p = csv; (p = strstr(p, item)) != NULL; p += n)
        if ((p == csv || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

typedef struct {
    int64_t alarm_id;
    const char *action;
    int level;
} pub_ev;

typedef struct {
    pub_ev *ev;
    size_t n, cap;
} pub_list;

static void pub_push(pub_list *l, int64_t id, const char *action, int level)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 32;
        pub_ev *p = realloc(l->ev, nc * sizeof *p);
        if (p == NULL)
            return;
        l->ev = p;
        l->cap = nc;
    }
    l->ev[l->n++] = (pub_ev){id, action, level};
}

/* An alarm changed by a reading or a timer: its timeline row (with the
 * value and level at the time) and an audit entry with who, before and
 * after.  before/after are taken. */
static yj_code alarm_changed(yj_conn *c, int64_t alarm_id, const char *actor, int64_t ts,
                             const char *action, const char *note, double value, int level,
                             const char *region, json_t *before, json_t *after, yj_err *err)
{
    json_t *cols = json_pack("{s:i}", "level", level);
    if (isfinite(value)) {
        json_object_set_new(cols, "value", json_real(value));
        json_object_set_new(after, "value", json_real(value));
    }
    json_object_set_new(after, "level", json_integer(level));
    json_object_set_new(after, "region_code", json_string(region));
    yj_code rc = wf_timeline_with(c, &alarm_workflow, alarm_id, ts, actor, action, note, cols, err);
    if (rc == YJ_OK)
        rc = audit_append(c, actor, action, "alarm", alarm_id, before, after, err);
    json_decref(cols);
    json_decref(before);
    json_decref(after);
    return rc;
}

static yj_code inbox_add(yj_conn *c, int64_t user, int64_t alarm_id, const char *group,
                         const char *reason, int64_t now, yj_err *err)
{
    yj_stmt *st = yj_prepare(c,
                             "INSERT INTO inbox (user_id, alarm_id, group_name, reason, created_at)"
                             " VALUES (?, ?, ?, ?, ?)",
                             err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_int(st, 1, user);
    yj_bind_int(st, 2, alarm_id);
    yj_bind_text(st, 3, group);
    yj_bind_text(st, 4, reason);
    yj_bind_int(st, 5, now);
    int r = yj_step(st, err);
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

/* Deliver an alarm to the inboxes of the groups bound to its kind, level,
 * region and industry, and of its enterprise's own users.  escalate_region
 * non-NULL: deliver to the groups of exactly that region, whatever their
 * level binding (the next level up is told of an unacknowledged alarm). */
static yj_code deliver(yj_conn *c, const runtime *rt, const sensor_rt *s, int64_t alarm_id,
                       mon_rule_kind kind, int level, const char *reason,
                       const char *escalate_region, int64_t now, yj_err *err)
{
    int64_t done[256];
    size_t ndone = 0;
    for (size_t i = 0; i < rt->ngroups; i++) {
        const group_rt *gr = &rt->groups[i];
        if (escalate_region) {
            if (strcmp(gr->region, escalate_region) != 0)
                continue;
        } else if (!yj_region_within(s->region, gr->region) || level > gr->min_level ||
                   !list_has(gr->kinds, mon_rule_kind_name(kind)) ||
                   !list_has(gr->industries, s->industry)) {
            continue;
        }
        for (size_t u = 0; u < gr->nusers; u++) {
            /* a member only ever sees alarms inside their own region */
            if (!yj_region_within(s->region, gr->user_region[u]))
                continue;
            bool seen = false;
            for (size_t d = 0; d < ndone && !seen; d++)
                seen = done[d] == gr->users[u];
            if (seen)
                continue;
            if (ndone < sizeof done / sizeof done[0])
                done[ndone++] = gr->users[u];
            yj_code rc = inbox_add(c, gr->users[u], alarm_id, gr->name, reason, now, err);
            if (rc != YJ_OK)
                return rc;
        }
    }
    if (s->enterprise_id && escalate_region == NULL)
        for (size_t i = 0; i < rt->nent_users; i++)
            if (rt->ent_users[i][0] == s->enterprise_id) {
                yj_code rc =
                    inbox_add(c, rt->ent_users[i][1], alarm_id, "本企业", reason, now, err);
                if (rc != YJ_OK)
                    return rc;
            }
    return YJ_OK;
}

static yj_code alarm_insert(yj_conn *c, runtime *rt, const alarm_op *op, int64_t now,
                            pub_list *pubs, yj_err *err)
{
    mon_rule_state *st = &rt->states[op->state];
    const sensor_rt *s = &rt->sensors[rt->state_sensor[op->state]];
    const rule_rt *rr = (const rule_rt *)(const void *)st->rule;
    int level = MON_SEV_TO_LEVEL(op->ev.sev);
    char title[320];
    snprintf(title, sizeof title, "%s %s %s", s->object_name, s->name, kind_phrase(st->rule->kind));
    const char *unit = st->rule->kind == MON_RULE_GAP ? "分钟" : s->unit;
    yj_stmt *q = yj_prepare(
        c,
        "INSERT INTO alarm (sensor_id, rule_key, rule_kind, object_id, enterprise_id, region_code,"
        " title, level, cur_sev, state, cond, count, first_value, last_value, peak, unit,"
        " raised_at, last_at, late, live_since)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'raised', 'active', 1, ?, ?, ?, ?, ?, ?, ?, ?)"
        " RETURNING id",
        err);
    if (q == NULL)
        return yj_fail(err);
    yj_bind_int(q, 1, s->id);
    yj_bind_text(q, 2, rr->key);
    yj_bind_text(q, 3, mon_rule_kind_name(st->rule->kind));
    yj_bind_int(q, 4, s->object_id);
    if (s->enterprise_id)
        yj_bind_int(q, 5, s->enterprise_id);
    else
        yj_bind_null(q, 5);
    yj_bind_text(q, 6, s->region);
    yj_bind_text(q, 7, title);
    yj_bind_int(q, 8, level);
    yj_bind_int(q, 9, op->ev.sev);
    yj_bind_real(q, 10, op->ev.value);
    yj_bind_real(q, 11, op->ev.value);
    yj_bind_real(q, 12, st->peak);
    yj_bind_text(q, 13, unit);
    yj_bind_int(q, 14, op->ts);
    yj_bind_int(q, 15, op->ts);
    yj_bind_int(q, 16, op->late ? 1 : 0);
    if (op->late)
        yj_bind_null(q, 17);
    else
        yj_bind_int(q, 17, now);
    int r = yj_step(q, err);
    int64_t id = r == 1 ? yj_col_int(q, 0) : 0;
    yj_stmt_done(q);
    if (r != 1)
        return yj_fail(err);
    st->alarm_id = id;
    st->peak_sev = (uint8_t)op->ev.sev;
    atomic_fetch_add(&g.alarms_raised, 1);
    char note[256];
    snprintf(note, sizeof note, "%s%s", rr->name, op->late ? "（补传数据，不按实时报警升级）" : "");
    yj_code rc = alarm_changed(
        c, id, op->actor, op->ts, "raised", note, op->ev.value, level, s->region, NULL,
        json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:b}", "sensor_id", (json_int_t)s->id, "rule_key",
                  rr->key, "title", title, "state", "raised", "cond", "active", "unit", unit,
                  "late", op->late),
        err);
    if (rc == YJ_OK)
        rc = deliver(c, rt, s, id, st->rule->kind, level, "raised", NULL, now, err);
    pub_push(pubs, id, "raised", level);
    return rc;
}

static yj_code apply_op(yj_conn *c, runtime *rt, const alarm_op *op, int64_t now, pub_list *pubs,
                        yj_err *err)
{
    mon_rule_state *st = &rt->states[op->state];
    const sensor_rt *s = &rt->sensors[rt->state_sensor[op->state]];
    int level = MON_SEV_TO_LEVEL(op->ev.sev);
    char cond[16] = "";
    int old_level = 0;
    if (st->alarm_id) {
        yj_stmt *q =
            yj_prepare(c, "SELECT cond, level FROM alarm WHERE id = ? AND state <> 'closed'", err);
        if (q == NULL)
            return yj_fail(err);
        yj_bind_int(q, 1, st->alarm_id);
        int r = yj_step(q, err);
        if (r == 1) {
            snprintf(cond, sizeof cond, "%s", yj_col_text(q, 0));
            old_level = (int)yj_col_int(q, 1);
        }
        yj_stmt_done(q);
        if (r < 0)
            return yj_fail(err);
    }
    bool open = cond[0] != '\0';
    if (op->ev.kind == MON_EV_CLEAR) {
        if (!open)
            return YJ_OK;
        yj_stmt *q = yj_prepare(c,
                                "UPDATE alarm SET cond = 'cleared', cleared_at = ?, cur_sev = 0,"
                                " last_value = ?, last_at = ?, version = version + 1 WHERE id = ?",
                                err);
        if (q == NULL)
            return yj_fail(err);
        yj_bind_int(q, 1, op->ts);
        yj_bind_real(q, 2, op->ev.value);
        yj_bind_int(q, 3, op->ts);
        yj_bind_int(q, 4, st->alarm_id);
        int r = yj_step(q, err);
        yj_stmt_done(q);
        if (r < 0)
            return yj_fail(err);
        pub_push(pubs, st->alarm_id, "cleared", old_level);
        return alarm_changed(c, st->alarm_id, op->actor, op->ts, "cleared", "监测值恢复正常",
                             op->ev.value, old_level, s->region, json_pack("{s:s}", "cond", cond),
                             json_pack("{s:s}", "cond", "cleared"), err);
    }
    if (!open) /* no alarm, or people closed it while the condition persists */
        return alarm_insert(c, rt, op, now, pubs, err);

    bool refold = op->ev.kind == MON_EV_RAISE && strcmp(cond, "cleared") == 0;
    bool upgrade = level < old_level;
    yj_stmt *q =
        yj_prepare(c,
                   "UPDATE alarm SET cond = 'active', cleared_at = NULL, cur_sev = ?, level = ?,"
                   " count = count + ?, last_value = ?, peak = ?, last_at = ?,"
                   " late = CASE WHEN ? = 0 THEN 0 ELSE late END,"
                   " live_since = CASE WHEN ? = 0 THEN COALESCE(live_since, ?) ELSE live_since END,"
                   " version = version + ? WHERE id = ?",
                   err);
    if (q == NULL)
        return yj_fail(err);
    yj_bind_int(q, 1, op->ev.sev);
    yj_bind_int(q, 2, upgrade ? level : old_level);
    yj_bind_int(q, 3, refold ? 1 : 0);
    yj_bind_real(q, 4, op->ev.value);
    yj_bind_real(q, 5, st->peak);
    yj_bind_int(q, 6, op->ts);
    yj_bind_int(q, 7, op->late ? 1 : 0);
    yj_bind_int(q, 8, op->late ? 1 : 0);
    yj_bind_int(q, 9, now);
    /* continuing values are not a new version of the alarm for people */
    yj_bind_int(q, 10, refold || upgrade ? 1 : 0);
    yj_bind_int(q, 11, st->alarm_id);
    int r = yj_step(q, err);
    yj_stmt_done(q);
    if (r < 0)
        return yj_fail(err);
    if (!refold && !upgrade)
        return YJ_OK;
    const char *action = upgrade ? "upgraded" : "folded";
    yj_code rc = alarm_changed(c, st->alarm_id, op->actor, op->ts, action,
                               upgrade ? "报警级别升高" : "再次超限，并入未关闭的报警",
                               op->ev.value, upgrade ? level : old_level, s->region,
                               json_pack("{s:s,s:i}", "cond", cond, "level", old_level),
                               json_pack("{s:s}", "cond", "active"), err);
    if (rc == YJ_OK && upgrade)
        rc = deliver(c, rt, s, st->alarm_id, st->rule->kind, level, "upgraded", NULL, now, err);
    pub_push(pubs, st->alarm_id, action, upgrade ? level : old_level);
    return rc;
}

/* ---- writer --------------------------------------------------------------- */

/* After the commit: each alarm that changed, to the event stream (read on
 * the writer's own connection). */
static void publish_alarms(yj_conn *c, const pub_list *pubs)
{
    for (size_t i = 0; i < pubs->n; i++) {
        yj_stmt *q =
            yj_prepare(c,
                       "SELECT region_code, enterprise_id, title, state, sensor_id FROM alarm"
                       " WHERE id = ?",
                       NULL);
        if (q == NULL)
            continue;
        yj_bind_int(q, 1, pubs->ev[i].alarm_id);
        if (yj_step(q, NULL) == 1) {
            json_t *ev = json_pack("{s:I,s:s,s:i,s:s,s:s,s:I}", "id",
                                   (json_int_t)pubs->ev[i].alarm_id, "action", pubs->ev[i].action,
                                   "level", pubs->ev[i].level, "title", yj_col_text(q, 2), "state",
                                   yj_col_text(q, 3), "sensor_id", (json_int_t)yj_col_int(q, 4));
            if (!yj_col_null(q, 1))
                json_object_set_new(ev, "enterprise_id", json_integer(yj_col_int(q, 1)));
            char region[16];
            snprintf(region, sizeof region, "%s", yj_col_text(q, 0));
            yj_stmt_done(q);
            yj_events_publish("alarm", region, ev);
            json_decref(ev);
        } else {
            yj_stmt_done(q);
        }
    }
}

static yj_code insert_reject(yj_conn *c, const job *j, const mon_reading *in, int reason,
                             const sensor_rt *s, int64_t now, yj_err *err)
{
    yj_stmt *st =
        yj_prepare(c,
                   "INSERT INTO reading_reject (rx, source, origin, sensor_code, sensor_id,"
                   " region_code, ts, value, reason, detail, raw)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_int(st, 1, now);
    yj_bind_text(st, 2, mon_source_name(j->src));
    yj_bind_text(st, 3, j->origin);
    if (in) {
        yj_bind_text(st, 4, in->sensor[0] ? in->sensor : NULL);
        if (s)
            yj_bind_int(st, 5, s->id);
        else
            yj_bind_null(st, 5);
        yj_bind_text(st, 6, s ? s->region : NULL);
        if (in->ts)
            yj_bind_int(st, 7, in->ts);
        else
            yj_bind_null(st, 7);
        if (isfinite(in->value))
            yj_bind_real(st, 8, in->value);
        else
            yj_bind_null(st, 8);
    } else if (j->sensor) {
        yj_bind_text(st, 4, j->sensor);
        if (s)
            yj_bind_int(st, 5, s->id);
        else
            yj_bind_null(st, 5);
        yj_bind_text(st, 6, s ? s->region : NULL);
    }
    yj_bind_text(st, 9, mon_reject_name((mon_reject)reason));
    const char *detail =
        in && in->bad ? in->detail : (in ? mon_reject_label((mon_reject)reason) : j->detail);
    yj_bind_text(st, 10, detail);
    char raw[RAW_MAX + 1];
    if (j->raw && (in == NULL || in->bad)) {
        size_t n = j->raw_len < RAW_MAX ? j->raw_len : RAW_MAX;
        memcpy(raw, j->raw, n);
        raw[n] = '\0';
        yj_bind_text(st, 11, raw);
    } else {
        yj_bind_null(st, 11);
    }
    int r = yj_step(st, err);
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

static yj_code commit_batch(yj_conn *c, job **jobs, size_t njobs, const op_list *ops, int64_t now,
                            pub_list *pubs, yj_err *err)
{
    yj_code rc = yj_tx_begin(c, err);
    if (rc != YJ_OK)
        return rc;
    if (mon_raw_begin(c, err) != YJ_OK) {
        mon_raw_end(false);
        yj_tx_rollback(c);
        return yj_fail(err);
    }
    for (size_t k = 0; k < njobs && rc == YJ_OK; k++) {
        job *j = jobs[k];
        if (j->kind == JOB_REJECT) {
            rc = insert_reject(c, j, NULL, (int)j->reason,
                               j->sensor ? find_code(&g.rt, j->sensor) : NULL, now, err);
            continue;
        }
        for (size_t i = 0; i < j->n && rc == YJ_OK; i++) {
            const mon_reading *in = &j->r[i];
            const sensor_rt *s = in->bad ? NULL : find_code(&g.rt, in->sensor);
            if (j->outcome[i] == 0 && (j->flags[i] & F_OLD)) {
                /* older than the sensor's newest: it may be stored already
                 * (a newer one cannot be: the newest is known in memory) */
                bool dup = false;
                rc = mon_raw_exists(c, s->id, in->ts, &dup, err);
                if (rc != YJ_OK)
                    break;
                if (dup)
                    j->outcome[i] = MON_REJ_DUPLICATE + 1;
            }
            if (j->outcome[i] == 0) {
                rc = mon_raw_append(s->id, in->ts, in->value, now, j->flags[i], err);
                if (rc != YJ_OK)
                    break;
            }
            if (j->outcome[i] != 0)
                rc = insert_reject(c, j, in, j->outcome[i] - 1, s, now, err);
        }
    }
    for (size_t i = 0; i < ops->n && rc == YJ_OK; i++)
        rc = apply_op(c, &g.rt, &ops->ops[i], now, pubs, err);
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    mon_raw_end(rc == YJ_OK);
    return rc;
}

static void finish_jobs(job **jobs, size_t njobs, yj_code rc, const yj_err *err)
{
    pthread_mutex_lock(&g.qmu);
    for (size_t k = 0; k < njobs; k++) {
        job *j = jobs[k];
        j->rc = rc;
        if (rc != YJ_OK && err)
            j->err = *err;
        if (rc == YJ_OK && j->kind == JOB_READINGS) {
            for (size_t i = 0; i < j->n; i++) {
                if (j->outcome[i] == 0) {
                    j->res.accepted++;
                    if (j->flags[i] & F_LATE)
                        j->res.late++;
                } else {
                    j->res.rejected[j->outcome[i] - 1]++;
                }
            }
            atomic_fetch_add(&g.accepted[j->src], j->res.accepted);
            atomic_fetch_add(&g.late, j->res.late);
            for (int r = 0; r < MON_REJ_COUNT; r++)
                atomic_fetch_add(&g.rejected[j->src][r], j->res.rejected[r]);
        } else if (rc == YJ_OK && j->kind == JOB_REJECT) {
            j->res.rejected[j->reason] = 1;
            atomic_fetch_add(&g.rejected[j->src][j->reason], 1);
        }
        j->done = true;
    }
    pthread_cond_broadcast(&g.donecv);
    pthread_mutex_unlock(&g.qmu);
}

static void do_reload(yj_conn *c)
{
    runtime fresh;
    yj_err err;
    yj_err_clear(&err);
    pthread_mutex_lock(&g.forget_mu);
    forget_now.n = g.forget.n;
    memcpy(forget_now.v, g.forget.v, g.forget.n * sizeof g.forget.v[0]);
    g.forget.n = 0;
    pthread_mutex_unlock(&g.forget_mu);
    /* what the county's last holder logged and did not merge is the newest
     * there is of its sensors: adopted first, so the latest values see it */
    if (forget_now.n && mon_raw_adopt(g.store, c, true, &err) != YJ_OK) {
        yj_log(YJ_LOG_ERROR, "monitor.adopt_failed", "%s", err.message);
        yj_err_clear(&err);
    }
    /* read before loading: a change during the load triggers another */
    int64_t gen = 0;
    if (yj_query_int(c, CONFIG_GEN_SQL, NULL, &gen, NULL) == YJ_OK)
        g.config_gen = gen;
    pthread_rwlock_wrlock(&g.lock);
    if (load_runtime(c, &g.rt, &fresh, &err) == YJ_OK) {
        runtime_free(&g.rt);
        g.rt = fresh;
    } else {
        yj_log(YJ_LOG_ERROR, "monitor.reload_failed", "%s", err.message);
    }
    pthread_rwlock_unlock(&g.lock);
    forget_now.n = 0;
}

static void process_readings(yj_conn *c, job **jobs, size_t njobs)
{
    int64_t now = yj_clock_now();
    op_list ops = {0};
    pub_list pubs = {0};
    pthread_rwlock_wrlock(&g.lock);
    for (size_t k = 0; k < njobs; k++) {
        job *j = jobs[k];
        size_t first = ops.n;
        for (size_t i = 0; i < j->n; i++)
            j->outcome[i] =
                (uint8_t)eval_reading(&g.rt, &j->r[i], j->gw_region, now, &j->flags[i], &ops);
        for (size_t i = first; i < ops.n; i++) /* the alarms this source's readings moved */
            ops.ops[i].actor = j->origin ? j->origin : mon_source_name(j->src);
    }
    pthread_rwlock_unlock(&g.lock);
    yj_err err;
    yj_err_clear(&err);
    /* alarm ids written into rule states: the runtime is ours (writer) */
    yj_code rc = commit_batch(c, jobs, njobs, &ops, now, &pubs, &err);
    if (rc == YJ_OK) {
        atomic_fetch_add(&g.commits, 1);
        finish_jobs(jobs, njobs, YJ_OK, NULL);
        publish_alarms(c, &pubs);
    } else {
        yj_log(YJ_LOG_ERROR, "monitor.commit_failed", "%s", err.message);
        finish_jobs(jobs, njobs, rc, &err);
        /* memory ran ahead of the store: rebuild it from what was committed */
        pthread_rwlock_wrlock(&g.lock);
        runtime_free(&g.rt);
        pthread_rwlock_unlock(&g.lock);
        do_reload(c);
    }
    free(ops.ops);
    free(pubs.ev);
}

/* ---- timers ------------------------------------------------------------------ */

static const int default_ack_timeout_s[5] = {0, 5 * 60, 10 * 60, 15 * 60, 30 * 60};

static yj_code tick_gap(yj_conn *c, int64_t now, pub_list *pubs, yj_err *err)
{
    op_list ops = {0};
    pthread_rwlock_wrlock(&g.lock);
    for (size_t k = 0; k < g.rt.nstates; k++) {
        mon_rule_state *st = &g.rt.states[k];
        if (st->rule->kind != MON_RULE_GAP || st->active)
            continue;
        const sensor_rt *s = &g.rt.sensors[g.rt.state_sensor[k]];
        if (s->status != 0 || suppressed(&g.rt, s, now))
            continue;
        /* silence is counted from the platform's start at the earliest: the
         * platform being down is not the sensor being offline */
        int64_t last = s->has_last ? s->last_ts : s->created_ms;
        if (last < g.start_ms)
            last = g.start_ms;
        mon_rule_event ev = mon_rule_eval_gap(st, last, now);
        if (ev.kind == MON_EV_RAISE)
            ops_push(&ops, (alarm_op){(uint32_t)k, ev, now, false, "timer:monitor.gap"});
    }
    pthread_rwlock_unlock(&g.lock);
    yj_code rc = YJ_OK;
    if (ops.n) {
        rc = yj_tx_begin(c, err);
        for (size_t i = 0; i < ops.n && rc == YJ_OK; i++)
            rc = apply_op(c, &g.rt, &ops.ops[i], now, pubs, err);
        if (rc == YJ_OK)
            rc = yj_tx_commit(c, err);
        else
            yj_tx_rollback(c);
    }
    free(ops.ops);
    return rc;
}

/* The region one level up: village -> township -> county -> city -> province. */
static bool parent_region(const char *code, char *out, size_t n)
{
    size_t len = strlen(code);
    size_t up = len > 9 ? 9 : len > 6 ? 6 : len > 4 ? 4 : len > 2 ? 2 : 0;
    if (up == 0)
        return false;
    snprintf(out, n, "%.*s", (int)up, code);
    return true;
}

static yj_code tick_escalate(yj_conn *c, int64_t now, pub_list *pubs, yj_err *err)
{
    typedef struct {
        int64_t id, sensor_id;
        int level, escalation;
        char region[16], target[16];
    } esc;
    esc todo[64];
    size_t n = 0;
    yj_stmt *q = yj_prepare(c,
                            "SELECT id, sensor_id, level, escalation, region_code,"
                            " COALESCE(escalated_region, region_code),"
                            " COALESCE(live_since, raised_at) FROM alarm"
                            " WHERE state = 'raised' AND late = 0 ORDER BY id",
                            err);
    if (q == NULL)
        return yj_fail(err);
    int r;
    while ((r = yj_step(q, err)) == 1 && n < 64) {
        int level = (int)yj_col_int(q, 2);
        int e = (int)yj_col_int(q, 3);
        int64_t t0 = yj_col_int(q, 6);
        if (level < 1 || level > 4 || now < t0 + g.cfg.ack_timeout_s[level] * 1000LL * (e + 1))
            continue;
        esc x = {yj_col_int(q, 0), yj_col_int(q, 1), level, e, "", ""};
        snprintf(x.region, sizeof x.region, "%s", yj_col_text(q, 4));
        if (!parent_region(yj_col_text(q, 5), x.target, sizeof x.target))
            continue;
        todo[n++] = x;
    }
    yj_stmt_done(q);
    if (r < 0)
        return yj_fail(err);
    if (n == 0)
        return YJ_OK;
    yj_code rc = yj_tx_begin(c, err);
    for (size_t i = 0; i < n && rc == YJ_OK; i++) {
        q = yj_prepare(c,
                       "UPDATE alarm SET escalation = escalation + 1, escalated_region = ?,"
                       " version = version + 1 WHERE id = ? AND state = 'raised'",
                       err);
        if (q == NULL) {
            rc = yj_fail(err);
            break;
        }
        yj_bind_text(q, 1, todo[i].target);
        yj_bind_int(q, 2, todo[i].id);
        r = yj_step(q, err);
        int64_t changed = yj_stmt_changes(q);
        yj_stmt_done(q);
        if (r < 0) {
            rc = yj_fail(err);
            break;
        }
        if (changed == 0)
            continue;
        char note[96];
        snprintf(note, sizeof note, "超时未确认，升级报送至 %s", todo[i].target);
        rc = alarm_changed(c, todo[i].id, "timer:monitor.escalation", now, "escalated", note, NAN,
                           todo[i].level, todo[i].region,
                           json_pack("{s:i}", "escalation", todo[i].escalation),
                           json_pack("{s:i,s:s}", "escalation", todo[i].escalation + 1,
                                     "escalated_region", todo[i].target),
                           err);
        pthread_rwlock_rdlock(&g.lock);
        const sensor_rt *s = find_id(&g.rt, todo[i].sensor_id);
        if (rc == YJ_OK && s)
            rc = deliver(c, &g.rt, s, todo[i].id, MON_RULE_THRESHOLD, todo[i].level, "escalated",
                         todo[i].target, now, err);
        pthread_rwlock_unlock(&g.lock);
        pub_push(pubs, todo[i].id, "escalated", todo[i].level);
    }
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    return rc;
}

/* Retention, a slice at a time so the ingest is never held up for long:
 * raw readings older than retention_days (by their time) are deleted
 * sensor by sensor (the history table is ordered by sensor; the next
 * sensor is found with one seek), minute aggregates older than theirs at
 * the end of the pass.  A pass starts every RETAIN_EVERY_MS. */
#define RETAIN_SENSORS_PER_STEP 500

typedef struct {
    bool active;
    int64_t cursor, cutoff, now;
} retain_pass;
static retain_pass retain;

static yj_code retain_step(yj_conn *c, yj_err *err)
{
    yj_code rc = yj_tx_begin(c, err);
    if (rc != YJ_OK)
        return rc;
    bool finished = false;
    for (int k = 0; k < RETAIN_SENSORS_PER_STEP && rc == YJ_OK && !finished; k++) {
        yj_stmt *q = yj_prepare(
            c, "SELECT sensor_id FROM reading WHERE sensor_id > ? ORDER BY sensor_id LIMIT 1", err);
        if (q == NULL) {
            rc = yj_fail(err);
            break;
        }
        yj_bind_int(q, 1, retain.cursor);
        int r = yj_step(q, err);
        int64_t sensor = r == 1 ? yj_col_int(q, 0) : 0;
        yj_stmt_done(q);
        if (r < 0) {
            rc = yj_fail(err);
            break;
        }
        if (r == 0) {
            finished = true;
            break;
        }
        q = yj_prepare(c, "DELETE FROM reading WHERE sensor_id = ? AND ts < ?", err);
        if (q == NULL) {
            rc = yj_fail(err);
            break;
        }
        yj_bind_int(q, 1, sensor);
        yj_bind_int(q, 2, retain.cutoff);
        if (yj_step(q, err) < 0)
            rc = yj_fail(err);
        yj_stmt_done(q);
        retain.cursor = sensor;
    }
    if (rc == YJ_OK && finished) {
        yj_stmt *q = yj_prepare(c, "DELETE FROM reading_min WHERE bucket < ?", err);
        if (q == NULL) {
            rc = yj_fail(err);
        } else {
            yj_bind_int(q, 1, retain.now - (int64_t)g.cfg.agg_retention_days * 86400000LL);
            if (yj_step(q, err) < 0)
                rc = yj_fail(err);
            yj_stmt_done(q);
        }
    }
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    if (rc == YJ_OK && finished)
        retain.active = false;
    return rc;
}

/* Merge work (rawlog.c) for up to `want` rows; want == 0: one step if one
 * is due.  A failing merge is retried after a pause, never in a tight loop. */
static void merge_some(yj_conn *c, size_t want, bool force)
{
    static int64_t pause_until;
    if (yj_now_ms() < pause_until)
        return;
    size_t total = 0;
    do {
        size_t done = 0;
        yj_err err;
        yj_err_clear(&err);
        if (mon_raw_merge_step(c, force, &done, &err) != YJ_OK) {
            yj_log(YJ_LOG_ERROR, "monitor.merge_failed", "%s; retrying in 1 s", err.message);
            pause_until = yj_now_ms() + 1000;
            return;
        }
        if (done == 0)
            return;
        total += done;
    } while (total < want);
}

/* The unmerged log rows of nodes that died become this node's (rawlog.c). */
static void adopt(yj_conn *c, bool now)
{
    yj_err err;
    yj_err_clear(&err);
    if (mon_raw_adopt(g.store, c, now, &err) != YJ_OK)
        yj_log(YJ_LOG_ERROR, "monitor.adopt_failed", "%s", err.message);
}

static void run_timers(yj_conn *c, int64_t now, bool all)
{
    yj_err err;
    yj_err_clear(&err);
    pub_list pubs = {0};
    /* sensors, rules or groups changed by another process (yingji ingest-kj,
     * another API node): reload, as for a change made here */
    int64_t gen = 0;
    if (yj_query_int(c, CONFIG_GEN_SQL, NULL, &gen, NULL) == YJ_OK && gen != g.config_gen)
        do_reload(c);
    /* a test clock tick: everything logged is merged (and aggregated) first */
    if (all)
        adopt(c, true);
    if (all && mon_raw_flush(c, &err) != YJ_OK)
        yj_log(YJ_LOG_ERROR, "monitor.merge_failed", "%s", err.message);
    if (tick_gap(c, now, &pubs, &err) != YJ_OK)
        yj_log(YJ_LOG_ERROR, "monitor.gap_failed", "%s", err.message);
    if (tick_escalate(c, now, &pubs, &err) != YJ_OK)
        yj_log(YJ_LOG_ERROR, "monitor.escalate_failed", "%s", err.message);
    publish_alarms(c, &pubs);
    free(pubs.ev);
    if (!retain.active && (all || now - g.last_retain >= RETAIN_EVERY_MS)) {
        g.last_retain = now;
        retain = (retain_pass){.active = true,
                               .cursor = -1,
                               .cutoff = now - (int64_t)g.cfg.retention_days * 86400000LL,
                               .now = now};
    }
    while (retain.active) {
        if (retain_step(c, &err) != YJ_OK) {
            yj_log(YJ_LOG_ERROR, "monitor.retain_failed", "%s", err.message);
            retain.active = false;
        }
        if (!all)
            break;
    }
}

static void *writer_main(void *arg)
{
    (void)arg;
    job **batch = NULL;
    size_t bcap = 0;
    for (;;) {
        pthread_mutex_lock(&g.qmu);
        while (g.qhead == NULL && !g.stop) {
            if (mon_raw_merging())
                break; /* a merge has chunks left: do one, then look again */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 200 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&g.qcv, &g.qmu, &ts);
        }
        if (g.qhead == NULL && g.stop) {
            pthread_mutex_unlock(&g.qmu);
            break;
        }
        /* take jobs up to batch_max readings; a tick job goes alone */
        size_t n = 0, readings = 0;
        job *tick = NULL;
        while (g.qhead) {
            job *j = g.qhead;
            if (j->kind == JOB_TICK) {
                if (n > 0)
                    break;
                tick = j;
                g.qhead = j->next;
                break;
            }
            if (n > 0 && readings + j->n > (size_t)g.cfg.batch_max)
                break;
            if (n == bcap) {
                size_t nc = bcap ? bcap * 2 : 64;
                job **p = realloc(batch, nc * sizeof *p);
                if (p == NULL)
                    break;
                batch = p;
                bcap = nc;
            }
            batch[n++] = j;
            readings += j->n;
            g.qhead = j->next;
        }
        if (g.qhead == NULL)
            g.qtail = NULL;
        atomic_fetch_sub(&g.queue_depth, (long long)(n + (tick != NULL)));
        pthread_mutex_unlock(&g.qmu);

        /* a connection for the round only: with `serve --pool 1` everyone
         * else gets it in between */
        yj_conn *c = yj_store_acquire(g.store);
        if (atomic_exchange(&g.reload, false))
            do_reload(c);
        if (n > 0)
            process_readings(c, batch, n);
        /* merge as many log rows as this round took in, so the merge keeps
         * pace with the ingest; when idle, a chunk per wake-up */
        merge_some(c, readings, false);
        adopt(c, false);
        if (tick) {
            int64_t now = yj_clock_now();
            /* a test clock set before the start moves the start back with
             * it, so data gaps are measured on the test's own timeline */
            if (tick->tick_all && now < g.start_ms)
                g.start_ms = now;
            run_timers(c, now, tick->tick_all);
            finish_jobs(&tick, 1, YJ_OK, NULL);
        }
        yj_store_release(g.store, c);
    }
    free(batch);
    /* a clean stop leaves the log merged (a kill -9 leaves it for the next start) */
    yj_err err;
    yj_err_clear(&err);
    yj_conn *c = yj_store_acquire(g.store);
    if (mon_raw_flush(c, &err) != YJ_OK)
        yj_log(YJ_LOG_ERROR, "monitor.merge_failed", "at stop: %s", err.message);
    yj_store_release(g.store, c);
    return NULL;
}

static void on_event(const char *type, const char *region, const json_t *data, void *ctx)
{
    (void)region;
    (void)ctx;
    if (strcmp(type, "record") != 0)
        return;
    const char *reg = json_string_value(json_object_get(data, "registry"));
    if (reg && (strcmp(reg, "sensor") == 0 || strcmp(reg, "monitored_object") == 0 ||
                strcmp(reg, "enterprise") == 0))
        atomic_store(&g.reload, true);
}

yj_code mon_config_changed(yj_conn *c, yj_err *err)
{
    return yj_generation_bump(c, "monitor_config", err);
}

bool mon_sensor_county(const char *code, char county[8])
{
    bool found = false;
    pthread_rwlock_rdlock(&g.lock);
    const sensor_rt *s = g.running ? find_code(&g.rt, code) : NULL;
    if (s) {
        snprintf(county, 8, "%.6s", s->region);
        found = strlen(county) == 6;
    }
    pthread_rwlock_unlock(&g.lock);
    return found;
}

void mon_forget_county(const char *county)
{
    pthread_mutex_lock(&g.forget_mu);
    bool have = false;
    for (size_t i = 0; i < g.forget.n && !have; i++)
        have = strcmp(g.forget.v[i], county) == 0;
    if (!have && g.forget.n < sizeof g.forget.v / sizeof g.forget.v[0])
        snprintf(g.forget.v[g.forget.n++], sizeof g.forget.v[0], "%.6s", county);
    pthread_mutex_unlock(&g.forget_mu);
    mon_reload();
}

void mon_reload(void)
{
    atomic_store(&g.reload, true);
    pthread_mutex_lock(&g.qmu);
    pthread_cond_signal(&g.qcv);
    pthread_mutex_unlock(&g.qmu);
}

yj_code mon_start(yj_store *s, const mon_config *cfg, yj_err *err)
{
    static bool subscribed;
    if (g.running)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "monitoring runtime already started");
    g.store = s;
    g.cfg = cfg ? *cfg : (mon_config){0};
    if (g.cfg.retention_days <= 0)
        g.cfg.retention_days = 30;
    if (g.cfg.agg_retention_days <= 0)
        g.cfg.agg_retention_days = 180;
    if (g.cfg.batch_max <= 0)
        g.cfg.batch_max = 20000;
    for (int l = 1; l <= 4; l++)
        if (g.cfg.ack_timeout_s[l] <= 0)
            g.cfg.ack_timeout_s[l] = default_ack_timeout_s[l];
    g.start_ms = yj_clock_now();
    g.last_retain = yj_now_ms();
    retain.active = false;
    yj_conn *c = yj_store_acquire(s);
    if (yj_query_int(c, CONFIG_GEN_SQL, NULL, &g.config_gen, NULL) != YJ_OK)
        g.config_gen = 0;
    /* readings committed but not yet merged (a kill -9 leaves them in the log) */
    yj_code rc = mon_raw_load(c, err);
    if (rc == YJ_OK)
        rc = mon_raw_adopt(s, c, true, err);
    if (rc == YJ_OK)
        rc = load_runtime(c, NULL, &g.rt, err);
    yj_store_release(s, c);
    if (rc != YJ_OK) {
        mon_raw_free();
        return rc;
    }
    if (!subscribed) {
        yj_events_subscribe(on_event, NULL);
        subscribed = true;
    }
    g.stop = false;
    if (pthread_create(&g.writer, NULL, writer_main, NULL) != 0) {
        runtime_free(&g.rt);
        mon_raw_free();
        return yj_err_set(err, YJ_EINTERNAL, NULL, "cannot start the ingest writer thread");
    }
    g.running = true;
    yj_log(YJ_LOG_INFO, "monitor.started", "%zu sensors, %zu rule states", g.rt.nsensors,
           g.rt.nstates);
    return YJ_OK;
}

void mon_stop(void)
{
    if (!g.running)
        return;
    pthread_mutex_lock(&g.qmu);
    g.stop = true;
    pthread_cond_signal(&g.qcv);
    pthread_mutex_unlock(&g.qmu);
    pthread_join(g.writer, NULL);
    runtime_free(&g.rt);
    mon_raw_free();
    g.running = false;
}

bool mon_running(void)
{
    return g.running;
}

static yj_code submit(job *j, yj_err *err)
{
    if (!g.running)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "the monitoring runtime is not running");
    pthread_mutex_lock(&g.qmu);
    if (g.stop) {
        pthread_mutex_unlock(&g.qmu);
        return yj_err_set(err, YJ_EINTERNAL, NULL, "the monitoring runtime is stopping");
    }
    j->next = NULL;
    if (g.qtail)
        g.qtail->next = j;
    else
        g.qhead = j;
    g.qtail = j;
    atomic_fetch_add(&g.queue_depth, 1);
    pthread_cond_signal(&g.qcv);
    while (!j->done)
        pthread_cond_wait(&g.donecv, &g.qmu);
    pthread_mutex_unlock(&g.qmu);
    if (j->rc != YJ_OK && err)
        *err = j->err;
    return j->rc;
}

yj_code mon_ingest(const mon_reading *r, size_t n, mon_source src, const char *origin,
                   const char *gw_region, const char *raw, mon_result *res, yj_err *err)
{
    memset(res, 0, sizeof *res);
    if (n == 0)
        return YJ_OK;
    job j = {.kind = JOB_READINGS,
             .r = r,
             .n = n,
             .src = src,
             .origin = origin,
             .gw_region = gw_region,
             .raw = raw,
             .raw_len = raw ? strlen(raw) : 0};
    j.outcome = calloc(n, 1);
    j.flags = calloc(n, 1);
    if (j.outcome == NULL || j.flags == NULL) {
        free(j.outcome);
        free(j.flags);
        return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
    }
    yj_code rc = submit(&j, err);
    if (rc == YJ_OK)
        *res = j.res;
    free(j.outcome);
    free(j.flags);
    return rc;
}

yj_code mon_ingest_malformed(mon_source src, const char *origin, const char *raw, size_t len,
                             const char *detail, yj_err *err)
{
    job j = {.kind = JOB_REJECT,
             .src = src,
             .origin = origin,
             .raw = raw,
             .raw_len = len,
             .detail = detail,
             .reason = MON_REJ_MALFORMED};
    return submit(&j, err);
}

yj_code mon_ingest_reject(mon_source src, const char *origin, mon_reject reason,
                          const char *sensor_code, const char *detail, yj_err *err)
{
    if ((unsigned)reason >= MON_REJ_COUNT)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "bad reject reason %d", (int)reason);
    job j = {.kind = JOB_REJECT,
             .src = src,
             .origin = origin,
             .detail = detail,
             .reason = reason,
             .sensor = sensor_code};
    return submit(&j, err);
}

void mon_tick(bool all)
{
    job j = {.kind = JOB_TICK, .tick_all = all};
    submit(&j, NULL);
}

void mon_metrics(yj_buf *out)
{
    yj_buf_printf(out,
                  "# HELP yj_ingest_partitions_held Counties whose readings this node takes"
                  " (serve --mqtt-partitions).\n# TYPE yj_ingest_partitions_held gauge\n"
                  "yj_ingest_partitions_held %d\n",
                  mon_partitions_held());
    mon_forward_metrics(out);
    yj_buf_printf(out, "# HELP yj_readings_accepted_total Readings stored, by source.\n"
                       "# TYPE yj_readings_accepted_total counter\n");
    for (int s = 0; s < MON_SRC_COUNT; s++)
        yj_buf_printf(out, "yj_readings_accepted_total{source=\"%s\"} %lld\n", src_names[s],
                      (long long)atomic_load(&g.accepted[s]));
    yj_buf_printf(out, "# HELP yj_readings_rejected_total Readings rejected, by source and "
                       "reason.\n# TYPE yj_readings_rejected_total counter\n");
    for (int s = 0; s < MON_SRC_COUNT; s++)
        for (int r = 0; r < MON_REJ_COUNT; r++)
            yj_buf_printf(out, "yj_readings_rejected_total{source=\"%s\",reason=\"%s\"} %lld\n",
                          src_names[s], rej_names[r].name,
                          (long long)atomic_load(&g.rejected[s][r]));
    yj_buf_printf(out,
                  "# TYPE yj_readings_late_total counter\nyj_readings_late_total %lld\n"
                  "# TYPE yj_alarms_raised_total counter\nyj_alarms_raised_total %lld\n"
                  "# TYPE yj_alarms_suppressed_total counter\n"
                  "yj_alarms_suppressed_total %lld\n"
                  "# TYPE yj_ingest_commits_total counter\nyj_ingest_commits_total %lld\n"
                  "# TYPE yj_ingest_queue gauge\nyj_ingest_queue %lld\n"
                  "# TYPE yj_sensors gauge\nyj_sensors %zu\n",
                  (long long)atomic_load(&g.late), (long long)atomic_load(&g.alarms_raised),
                  (long long)atomic_load(&g.suppressed), (long long)atomic_load(&g.commits),
                  (long long)atomic_load(&g.queue_depth), g.rt.nsensors);
    mon_raw_metrics(out);
}

/* ---- benchmark hook ------------------------------------------------------------ */

yj_code mon_bench_eval(const mon_reading *r, size_t n, mon_result *res, int64_t *alarm_events)
{
    memset(res, 0, sizeof *res);
    if (!g.running)
        return YJ_EINTERNAL;
    op_list ops = {0};
    int64_t now = yj_clock_now();
    pthread_rwlock_wrlock(&g.lock);
    for (size_t i = 0; i < n; i++) {
        uint8_t flags;
        int o = eval_reading(&g.rt, &r[i], NULL, now, &flags, &ops);
        if (o == 0) {
            res->accepted++;
            res->late += (flags & F_LATE) != 0;
        } else {
            res->rejected[o - 1]++;
        }
        if (ops.n > 4096) { /* the writer would turn these into alarm rows */
            *alarm_events += (int64_t)ops.n;
            ops.n = 0;
        }
    }
    pthread_rwlock_unlock(&g.lock);
    *alarm_events += (int64_t)ops.n;
    free(ops.ops);
    return YJ_OK;
}

/* ---- read access for series.c ------------------------------------------------- */

/* Copy the latest value of a sensor (by id).  False if unknown/never heard. */
bool mon_latest_of(int64_t sensor_id, double *value, int64_t *ts, int64_t *rx, int *interval_s);
bool mon_latest_of(int64_t sensor_id, double *value, int64_t *ts, int64_t *rx, int *interval_s)
{
    bool ok = false;
    pthread_rwlock_rdlock(&g.lock);
    const sensor_rt *s = find_id(&g.rt, sensor_id);
    if (s) {
        *interval_s = s->interval_s;
        if (s->has_last) {
            *value = s->last_val;
            *ts = s->last_ts;
            *rx = s->last_rx;
            ok = true;
        }
    }
    pthread_rwlock_unlock(&g.lock);
    return ok;
}
