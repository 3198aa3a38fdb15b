/*
 * ingest_inproc.c — SPEC §6 benchmark: in-process ingest + rule evaluation.
 *
 * A temp SQLite database is filled with N sensors (default 100,000) on
 * monitored objects of 100 sensors each, with their rules (bench/mon_gen.h
 * describes the mix), and the monitoring runtime is started on it
 * (mon_start, no timers).  Readings are then generated in memory, batch by
 * batch, and evaluated with mon_bench_eval() on this thread: the same
 * validation, latest-value update and rule evaluation the ingest writer
 * does, without the store.  Only the mon_bench_eval() calls are timed.
 *
 * Peer, in the same run over the same batches: a minimal loop that only
 * looks the sensor code up in a plain open-addressing table and checks the
 * physical range.  Engine / peer shows what the rule engine costs on top of
 * the unavoidable lookup.  The two are timed alternately, batch by batch, so
 * both see the same machine at the same moment.
 *
 * Also reported: the process's resident memory after the runtime has loaded
 * the N sensors (SPEC §6 "Memory (RSS) with 100,000 sensors").
 *
 *   ingest_inproc [--sensors N] [--readings N] [--batch N] [--exceed P]
 *                 [--results FILE]          run the benchmark, append a TSV row
 *                                           (tagged with the git commit of the cwd)
 *   ingest_inproc --create-db PATH --sensors N [--probes P] --list FILE
 *                 create a database for bench/mqtt_ingest.sh and write its
 *                 sensors (id, code, region, object, type, role) to FILE
 */
#include "../src/auth/auth.h"
#include "../src/core/util.h"
#include "../src/monitor/monitor.h"
#include "../src/registry/registry.h"
#include "../src/store/store.h"
#include "mon_gen.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const counties[] = {"140502", "140521", "140522", "140524", "140525", "140581"};
#define NCOUNTIES (sizeof counties / sizeof counties[0])

static void die(const char *what, const yj_err *err)
{
    fprintf(stderr, "ingest_inproc: %s: %s\n", what, err ? err->message : strerror(errno));
    exit(1);
}

#include "bench_util.h"

static double now_s(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- database ------------------------------------------------------------ */

static void step_done(yj_stmt *st, const char *what)
{
    yj_err err;
    if (yj_step(st, &err) < 0)
        die(what, &err);
    yj_stmt_reset(st);
}

static void put_rule(yj_stmt *st, const char *name, const char *kind, int64_t sensor_id,
                     const char *region, const char *params, const char *now)
{
    yj_bind_text(st, 1, name);
    yj_bind_text(st, 2, kind);
    if (sensor_id)
        yj_bind_int(st, 3, sensor_id);
    else
        yj_bind_null(st, 3); /* multi-sensor rules name their sensors in params */
    yj_bind_text(st, 4, params);
    yj_bind_text(st, 5, region);
    yj_bind_text(st, 6, now);
    step_done(st, "insert monitor_rule");
}

/* Sensor i's code: "S0000001".. (ids are i + 1).  Probe sensors (MQTT
 * latency) come after the n load sensors, on their own objects. */
static void sensor_code(size_t i, char *out, size_t n)
{
    snprintf(out, n, "S%07u", (unsigned)(i + 1) % 10000000u);
}

static gen_type sensor_type_of(size_t i, size_t nload)
{
    if (i >= nload)
        return G_CH4; /* probes */
    return gen_sensor_type(gen_object_is_mine(i / GEN_PER_OBJECT), (int)(i % GEN_PER_OBJECT));
}

/* Fill a migrated database: regions, objects, sensors, rules.  Returns the
 * number of monitor_rule rows. */
static size_t fill_db(yj_store *s, size_t nload, size_t nprobe, FILE *list)
{
    yj_err err;
    yj_conn *c = yj_store_acquire(s);
    char now[32];
    yj_time_iso(yj_now_ms(), now, sizeof now);
    if (yj_tx_begin(c, &err) != YJ_OK)
        die("begin", &err);
    exec_sql(c, "INSERT INTO region (code, name, parent, level) VALUES"
                " ('14', '山西省', NULL, 1), ('1405', '晋城市', '14', 2),"
                " ('140502', '城区', '1405', 3), ('140521', '沁水县', '1405', 3),"
                " ('140522', '阳城县', '1405', 3), ('140524', '陵川县', '1405', 3),"
                " ('140525', '泽州县', '1405', 3), ('140581', '高平市', '1405', 3)");
    size_t nobj_load = (nload + GEN_PER_OBJECT - 1) / GEN_PER_OBJECT;
    size_t nobj = nobj_load + (nprobe + GEN_PER_OBJECT - 1) / GEN_PER_OBJECT;
    yj_stmt *ob = yj_prepare(c,
                             "INSERT INTO monitored_object (id, region_code, version, created_at,"
                             " updated_at, updated_by, code, name, kind, status)"
                             " VALUES (?, ?, 1, ?, ?, 'bench', ?, ?, ?, '运行')",
                             &err);
    if (ob == NULL)
        die("prepare monitored_object", &err);
    for (size_t o = 0; o < nobj; o++) {
        bool probe = o >= nobj_load, mine = probe || gen_object_is_mine(o);
        char code[32], name[64];
        snprintf(code, sizeof code, "%s%05zu", probe ? "P" : "M", o + 1);
        snprintf(name, sizeof name, "%s%zu", probe ? "探针煤矿" : mine ? "煤矿" : "隐患点", o + 1);
        yj_bind_int(ob, 1, (int64_t)o + 1);
        yj_bind_text(ob, 2, counties[o % NCOUNTIES]);
        yj_bind_text(ob, 3, now);
        yj_bind_text(ob, 4, now);
        yj_bind_text(ob, 5, code);
        yj_bind_text(ob, 6, name);
        yj_bind_text(ob, 7, mine ? "煤矿" : "地质灾害隐患点");
        step_done(ob, "insert monitored_object");
    }
    yj_stmt_done(ob);

    yj_stmt *se = yj_prepare(c,
                             "INSERT INTO sensor (id, region_code, version, created_at, updated_at,"
                             " updated_by, code, name, object_id, type, unit, status)"
                             " VALUES (?, ?, 1, ?, ?, 'bench', ?, ?, ?, ?, NULL, '正常')",
                             &err);
    if (se == NULL)
        die("prepare sensor", &err);
    size_t ntotal = nload + nprobe;
    for (size_t i = 0; i < ntotal; i++) {
        bool probe = i >= nload;
        size_t o = probe ? nobj_load + (i - nload) / GEN_PER_OBJECT : i / GEN_PER_OBJECT;
        gen_type t = sensor_type_of(i, nload);
        char code[32], name[64], ocode[32];
        sensor_code(i, code, sizeof code);
        snprintf(name, sizeof name, "%s-%zu", gen_types[t].label, i + 1);
        snprintf(ocode, sizeof ocode, "%s%05zu", probe ? "P" : "M", o + 1);
        yj_bind_int(se, 1, (int64_t)i + 1);
        yj_bind_text(se, 2, counties[o % NCOUNTIES]);
        yj_bind_text(se, 3, now);
        yj_bind_text(se, 4, now);
        yj_bind_text(se, 5, code);
        yj_bind_text(se, 6, name);
        yj_bind_int(se, 7, (int64_t)o + 1);
        yj_bind_text(se, 8, gen_types[t].label);
        step_done(se, "insert sensor");
        if (list)
            fprintf(list, "%zu\t%s\t%s\t%s\t%s\t%s\n", i + 1, code, counties[o % NCOUNTIES], ocode,
                    gen_types[t].label, probe ? "probe" : "load");
    }
    yj_stmt_done(se);

    /* rules of the load sensors (probe sensors keep the CH4 defaults) */
    yj_stmt *ru = yj_prepare(c,
                             "INSERT INTO monitor_rule (name, kind, sensor_type, sensor_id, params,"
                             " enabled, region_code, updated_at, updated_by)"
                             " VALUES (?, ?, NULL, ?, ?, 1, ?, ?, 'bench')",
                             &err);
    if (ru == NULL)
        die("prepare monitor_rule", &err);
    size_t nrules = 0;
    for (size_t i = 0; i < nload; i++) {
        size_t o = i / GEN_PER_OBJECT;
        const char *region = counties[o % NCOUNTIES];
        gen_type t = sensor_type_of(i, nload);
        if (t == G_WATER) {
            put_rule(ru, "警戒水位", "threshold", (int64_t)i + 1, region,
                     "{\"direction\":\"high\",\"levels\":{\"yellow\":105,\"orange\":107,"
                     "\"red\":110},\"hysteresis\":0.2}",
                     now);
            nrules++;
        } else if (t == G_DISP) {
            put_rule(ru, "位移速率", "rate", (int64_t)i + 1, region,
                     "{\"direction\":\"high\",\"window_s\":3600,\"delta\":20,\"level\":\"orange\"}",
                     now);
            nrules++;
        } else if (t == G_CH4 && i % 20 == 0) {
            put_rule(ru, "甲烷(KJ 定义)", "threshold", (int64_t)i + 1, region,
                     "{\"direction\":\"high\",\"levels\":{\"blue\":0.8,\"yellow\":1.0,"
                     "\"orange\":1.5,\"red\":2.0},\"hysteresis\":0.1}",
                     now);
            nrules++;
        }
        if (gen_object_is_mine(o) && i % GEN_PER_OBJECT == 1 && i + 1 < nload) {
            char p[160];
            snprintf(p, sizeof p,
                     "{\"direction\":\"high\",\"sensors\":[%zu,%zu],\"threshold\":1.0,"
                     "\"min_count\":2,\"level\":\"red\"}",
                     i + 1, i + 2);
            put_rule(ru, "相邻甲烷联合", "multi", 0, region, p, now);
            nrules++;
        }
    }
    yj_stmt_done(ru);
    if (yj_tx_commit(c, &err) != YJ_OK)
        die("commit", &err);
    yj_store_release(s, c);
    return nrules;
}

static yj_store *create_db(const char *path, size_t nload, size_t nprobe, FILE *list,
                           size_t *nrules)
{
    yj_store *s = open_store(path, 2);
    *nrules = fill_db(s, nload, nprobe, list);
    return s;
}

static void unlink_db(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        unlink(p);
    }
}

/* ---- peer: hash lookup + range check only ---------------------------------- */

typedef struct {
    uint32_t *slot; /* index + 1 */
    size_t cap;
    char (*code)[24];
    double *lo, *hi;
} peer_table;

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void peer_build(peer_table *p, size_t n, const gen_type *types)
{
    p->cap = 16;
    while (p->cap < n * 2 + 1)
        p->cap <<= 1;
    p->slot = calloc(p->cap, sizeof *p->slot);
    p->code = calloc(n, sizeof *p->code);
    p->lo = calloc(n, sizeof *p->lo);
    p->hi = calloc(n, sizeof *p->hi);
    if (!p->slot || !p->code || !p->lo || !p->hi)
        die("out of memory", NULL);
    for (size_t i = 0; i < n; i++) {
        sensor_code(i, p->code[i], sizeof p->code[i]);
        const mon_sensor_type *ty = mon_type_at((size_t)mon_type_find(gen_types[types[i]].label));
        p->lo[i] = ty->lo;
        p->hi[i] = ty->hi;
        size_t k = fnv(p->code[i]) & (p->cap - 1);
        while (p->slot[k])
            k = (k + 1) & (p->cap - 1);
        p->slot[k] = (uint32_t)i + 1;
    }
}

/* not inlined: a profile shows it apart from the generator in main() */
__attribute__((noinline)) static size_t peer_eval(const peer_table *p, const mon_reading *r,
                                                  size_t n)
{
    size_t ok = 0, mask = p->cap - 1;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = fnv(r[i].sensor) & mask;; k = (k + 1) & mask) {
            uint32_t v = p->slot[k];
            if (v == 0)
                break;
            if (strcmp(p->code[v - 1], r[i].sensor) == 0) {
                ok += r[i].value >= p->lo[v - 1] && r[i].value <= p->hi[v - 1];
                break;
            }
        }
    }
    return ok;
}

/* ---- readings ------------------------------------------------------------------ */

/* Simulated time advances in rounds of 30 s; a sensor reports in the rounds
 * its interval falls on, in a shuffled order (readings from a whole city
 * arrive interleaved). */
typedef struct {
    size_t n, *perm, pos, round, off;
    const gen_type *types;
    char (*code)[24];
    int64_t t0;
    double exceed;
    uint64_t rng;
} gen_state;

#define ROUND_MS 30000

static size_t gen_batch(gen_state *g, mon_reading *out, size_t want, int64_t *clock_ms)
{
    size_t k = 0;
    while (k < want) {
        if (g->pos == g->n) {
            g->pos = 0;
            g->round++;
            g->off = (size_t)(gen_rand(&g->rng) % g->n);
        }
        size_t i = g->perm[(g->pos + g->off) % g->n];
        g->pos++;
        gen_type t = g->types[i];
        size_t period = (size_t)gen_types[t].interval_s / 30;
        if ((g->round + i) % period != 0)
            continue;
        mon_reading *r = &out[k++];
        memcpy(r->sensor, g->code[i], sizeof g->code[i]);
        /* a fixed offset per sensor inside the round keeps its ts increasing */
        r->ts = g->t0 + (int64_t)g->round * ROUND_MS + (int64_t)(i * 7919 % 29000);
        r->value = gen_value(t, g->exceed, &g->rng);
        r->bad = false;
        r->reject = 0;
        /* the runtime's clock: the end of this round (no reading is late) */
        *clock_ms = g->t0 + (int64_t)(g->round + 1) * ROUND_MS;
    }
    return k;
}

/* ---- main ------------------------------------------------------------------------ */

static int create_only(int argc, char **argv)
{
    const char *path = arg(argc, argv, "--create-db", NULL);
    const char *listp = arg(argc, argv, "--list", NULL);
    size_t nload = strtoul(arg(argc, argv, "--sensors", "10000"), NULL, 10);
    size_t nprobe = strtoul(arg(argc, argv, "--probes", "0"), NULL, 10);
    if (listp == NULL) {
        fprintf(stderr, "ingest_inproc: --create-db needs --list FILE\n");
        return 2;
    }
    FILE *list = fopen(listp, "w");
    if (list == NULL)
        die(listp, NULL);
    size_t nrules = 0;
    yj_store *s = create_db(path, nload, nprobe, list, &nrules);
    yj_store_close(s);
    if (fclose(list) != 0)
        die(listp, NULL);
    fprintf(stderr, "ingest_inproc: %s: %zu sensors (%zu probes), %zu stored rules\n", path,
            nload + nprobe, nprobe, nrules);
    return 0;
}

int main(int argc, char **argv)
{
    yj_log_min = YJ_LOG_WARN;
    registry_init();
    if (arg(argc, argv, "--create-db", NULL))
        return create_only(argc, argv);

    size_t nsensors = strtoul(arg(argc, argv, "--sensors", "100000"), NULL, 10);
    size_t nreadings = strtoul(arg(argc, argv, "--readings", "20000000"), NULL, 10);
    size_t batch = strtoul(arg(argc, argv, "--batch", "10000"), NULL, 10);
    double exceed = strtod(arg(argc, argv, "--exceed", "0.001"), NULL);
    const char *results = arg(argc, argv, "--results", NULL);
    char commit[96];
    git_commit(commit, sizeof commit);
    if (nsensors < GEN_PER_OBJECT || batch == 0 || nreadings < batch) {
        fprintf(stderr, "ingest_inproc: need --sensors >= 100, --readings >= --batch > 0\n");
        return 2;
    }

    char path[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/yj-bench-inproc-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        die("mkstemp", NULL);
    close(fd);

    double t = now_s(CLOCK_MONOTONIC);
    size_t nrules = 0;
    yj_store *s = create_db(path, nsensors, 0, NULL, &nrules);
    double fill_s = now_s(CLOCK_MONOTONIC) - t;

    double rss_before = proc_mb("VmRSS");
    mon_config cfg = {0};
    yj_err err;
    yj_err_clear(&err);
    t = now_s(CLOCK_MONOTONIC);
    yj_log_min = YJ_LOG_INFO; /* "monitor.started": sensors and rule states */
    if (mon_start(s, &cfg, &err) != YJ_OK)
        die("mon_start", &err);
    yj_log_min = YJ_LOG_WARN;
    double load_s = now_s(CLOCK_MONOTONIC) - t;
    double rss_loaded = proc_mb("VmRSS"), hwm_loaded = proc_mb("VmHWM");

    /* readings: sensor types and codes, a shuffled order */
    gen_state g = {
        .n = nsensors, .t0 = 1764028800000LL, .exceed = exceed, .rng = 0x9E3779B97F4A7C15ULL};
    gen_type *types = malloc(nsensors * sizeof *types);
    g.perm = malloc(nsensors * sizeof *g.perm);
    g.code = calloc(nsensors, sizeof *g.code);
    mon_reading *buf = calloc(batch, sizeof *buf);
    if (!types || !g.perm || !g.code || !buf)
        die("out of memory", NULL);
    for (size_t i = 0; i < nsensors; i++) {
        types[i] = sensor_type_of(i, nsensors);
        sensor_code(i, g.code[i], sizeof g.code[i]);
        g.perm[i] = i;
    }
    for (size_t i = nsensors - 1; i > 0; i--) {
        size_t j = (size_t)(gen_rand(&g.rng) % (i + 1));
        size_t x = g.perm[i];
        g.perm[i] = g.perm[j];
        g.perm[j] = x;
    }
    g.types = types;
    peer_table peer;
    peer_build(&peer, nsensors, types);

    double eng_wall = 0, eng_cpu = 0, peer_wall = 0, peer_cpu = 0;
    int64_t alarm_events = 0, accepted = 0, late = 0, rejected = 0;
    size_t peer_ok = 0, done = 0, nbatches = 0;
    while (done < nreadings) {
        int64_t clock_ms = 0;
        size_t n =
            gen_batch(&g, buf, nreadings - done < batch ? nreadings - done : batch, &clock_ms);
        yj_clock_set(clock_ms);
        for (int pass = 0; pass < 2; pass++) {
            bool engine = (pass == 0) == (nbatches % 2 == 0); /* alternate who goes first */
            double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
            if (engine) {
                mon_result res;
                if (mon_bench_eval(buf, n, &res, &alarm_events) != YJ_OK)
                    die("mon_bench_eval", NULL);
                accepted += res.accepted;
                late += res.late;
                rejected += mon_result_rejected(&res);
            } else {
                peer_ok += peer_eval(&peer, buf, n);
            }
            double w = now_s(CLOCK_MONOTONIC) - w0, cc = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
            if (engine) {
                eng_wall += w;
                eng_cpu += cc;
            } else {
                peer_wall += w;
                peer_cpu += cc;
            }
        }
        done += n;
        nbatches++;
    }
    double hwm_end = proc_mb("VmHWM");

    double eng_rps = (double)done / eng_wall, peer_rps = (double)done / peer_wall;
    double eng_cpu_rps = (double)done / eng_cpu, peer_cpu_rps = (double)done / peer_cpu;
    double ratio = eng_rps / peer_rps;
    double load1 = 0;
    FILE *la = fopen("/proc/loadavg", "r");
    if (la) {
        if (fscanf(la, "%lf", &load1) != 1)
            load1 = 0;
        fclose(la);
    }
    printf("\nIn-process ingest + rule evaluation: %zu sensors, %zu stored rules, %zu readings in "
           "batches of %zu (%.2f %% exceedances), one thread\n",
           nsensors, nrules, done, batch, exceed * 100);
    printf("%-36s %14s %12s %14s\n", "", "readings/s", "ns/reading", "cpu readings/s");
    printf("%-36s %14.0f %12.1f %14.0f\n", "yingji mon_bench_eval (rules)", eng_rps, 1e9 / eng_rps,
           eng_cpu_rps);
    printf("%-36s %14.0f %12.1f %14.0f\n", "peer: hash lookup + range check", peer_rps,
           1e9 / peer_rps, peer_cpu_rps);
    printf("engine / peer = %.3f   (SPEC target: >= 1,000,000 readings/s on one core)\n", ratio);
    printf("accepted %lld, late %lld, rejected %lld, alarm changes %lld; peer in range %zu\n",
           (long long)accepted, (long long)late, (long long)rejected, (long long)alarm_events,
           peer_ok);
    printf("database fill %.1f s; mon_start (load %zu sensors and their rules) %.2f s\n", fill_s,
           nsensors, load_s);
    printf("RSS: %.1f MB before mon_start, %.1f MB after (runtime %.1f MB); peak %.1f MB after "
           "load, %.1f MB at the end\n",
           rss_before, rss_loaded, rss_loaded - rss_before, hwm_loaded, hwm_end);
    printf("load average (1 min) at the end: %.2f on %ld cores\n", load1,
           sysconf(_SC_NPROCESSORS_ONLN));
    if (rejected != 0)
        printf("WARNING: %lld readings rejected (figures invalid)\n", (long long)rejected);

    if (results) {
        FILE *f = fopen(results, "a+");
        if (f == NULL)
            die(results, NULL);
        fseek(f, 0, SEEK_END);
        if (ftell(f) == 0)
            fprintf(f, "date\tcommit\tsensors\trules\treadings\tbatch\tyj_rps\tyj_ns\tyj_cpu_rps\t"
                       "peer_rps\tpeer_ns\tratio\talarm_changes\trejected\tload_s\trss_before_mb\t"
                       "rss_loaded_mb\thwm_end_mb\tload1_end\n");
        char date[32];
        time_t now = time(NULL);
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        fprintf(f,
                "%s\t%s\t%zu\t%zu\t%zu\t%zu\t%.0f\t%.1f\t%.0f\t%.0f\t%.1f\t%.3f\t%lld\t%lld\t%.2f\t"
                "%.1f\t%.1f\t%.1f\t%.2f\n",
                date, commit, nsensors, nrules, done, batch, eng_rps, 1e9 / eng_rps, eng_cpu_rps,
                peer_rps, 1e9 / peer_rps, ratio, (long long)alarm_events, (long long)rejected,
                load_s, rss_before, rss_loaded, hwm_end, load1);
        fclose(f);
        printf("(row appended to %s)\n", results);
    }

    mon_stop();
    yj_store_close(s);
    unlink_db(path);
    free(types);
    free(g.perm);
    free(g.code);
    free(buf);
    free(peer.slot);
    free(peer.code);
    free(peer.lo);
    free(peer.hi);
    return rejected == 0 ? 0 : 1;
}
