/*
 * rawlog.c — raw readings: an append-only log, merged in the background
 * into the sensor-ordered history table.
 *
 * The history table `reading` is keyed by (sensor_id, ts), so a sensor's
 * history is one range read and (sensor, ts) is the readings' identity.
 * Inserting every arriving reading there directly dirties one B-tree leaf
 * per reading (each sensor's newest leaf), and a write-ahead log writes
 * whole pages: with ten thousand sensors reporting, every commit wrote
 * about 4 KB per reading and ingest fell below 60,000 readings/s, slower
 * as the table grew.  So the writer does this instead:
 *
 *   1. The ingest commit appends the accepted readings to `reading_log`
 *      (rowid = arrival order, no other index): a few pages per commit,
 *      on disk before any caller is answered.
 *   2. The log's rows are also kept in memory in two generations: `act`
 *      takes new readings, `mrg` is being merged.  Each has a hash on
 *      (sensor, ts), so a repeated reading is found without an index on
 *      the log.
 *   3. When `act` holds MERGE_ROWS readings or its oldest is MERGE_AGE_MS
 *      old, it becomes `mrg`: sorted by (sensor, ts) and inserted into
 *      `reading` in chunks of MERGE_CHUNK rows.  Each chunk is one
 *      transaction that also adds its rows to the minute and hour
 *      aggregates (reading_min, reading_hour).  A sensor's newest leaf is
 *      now written once per merge instead of once per reading.
 *   4. Then the merged rows are deleted from the log, by runs of
 *      consecutive ids, in chunks too.
 *
 * Chunks interleave with ingest batches (ingest.c), so a merge holds up
 * the ingest for one chunk at most.  Between 3 and 4 a reading may be in
 * both tables: readers take the UNION (series.c), and merging a row again
 * (after a crash, or when two processes adopted the same log rows) is a
 * no-op: ON CONFLICT DO NOTHING, and the aggregates count only rows that
 * were actually inserted.  At start the log is read back into memory, so
 * nothing committed is lost by kill -9.
 *
 * Several nodes (node.h) on one database each have a writer and a log in
 * memory.  A log row names the node that wrote it; a node reads back its
 * own rows (and those of command-line processes, node ''), and adopts the
 * rows of a node that died: holding the dead node's lock, it makes them
 * its own with one UPDATE ... RETURNING and merges them like its own.  It
 * looks at start and every ADOPT_EVERY_MS, so what a node logged and never
 * merged — a node that never comes back, or a commit of a killed node
 * that landed after the others looked — is merged and aggregated within
 * seconds, once.
 */
#include "rawlog.h"
#include "../base/node.h"
#include "../core/util.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MERGE_ROWS     200000 /* start a merge at this many readings ... */
#define MERGE_AGE_MS   5000   /* ... or when the oldest is this old */
#define MERGE_CHUNK    8192   /* rows per merge transaction */
#define APPEND_BATCH   512    /* rows per INSERT where statements are round trips */
#define ADOPT_EVERY_MS 10000  /* a look for rows of dead nodes */

typedef struct {
    int64_t id, sensor_id, ts, rx;
    double value;
    int flags;
} raw_row;

typedef struct {
    raw_row *rows;
    size_t n, cap;
    uint32_t *hash; /* open addressing: row index + 1, 0 = empty */
    size_t hcap;    /* a power of two, >= 2 n */
    int64_t born;   /* wall clock (ms) of the first row */
} raw_gen;

typedef struct {
    int64_t sensor_id, ts;
    uint32_t idx;
} raw_key;

static struct {
    raw_gen act, mrg;
    raw_key *ord; /* mrg sorted by (sensor, ts) */
    size_t ins;   /* merge progress: rows of ord inserted */
    size_t del;   /* rows of mrg deleted from the log */
    size_t mark;  /* act.n at mon_raw_begin */
    yj_stmt *app; /* the append statement, between begin and end */
    /* On a store where each statement is a round trip (PostgreSQL) the
     * rows of a batch are sent together: act rows [unsent, act.n) are in
     * memory and not yet in the log; they go as multi-row INSERTs that
     * return their ids, at APPEND_BATCH rows and before the commit. */
    yj_conn *conn;
    bool batch;
    size_t unsent;
    char node[64];      /* who this process is in the log's node column */
    int64_t adopted_at; /* wall clock of the last look for dead nodes' rows */
    atomic_llong pending, merges, merged, skipped, adopted;
} L;

/* ---- memory ----------------------------------------------------------------- */

static uint64_t key_hash(int64_t sensor_id, int64_t ts)
{
    uint64_t x = (uint64_t)sensor_id * 0x9E3779B97F4A7C15u ^ (uint64_t)ts;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdu;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53u;
    x ^= x >> 33;
    return x;
}

static void hash_put(raw_gen *g, uint32_t idx)
{
    size_t mask = g->hcap - 1;
    size_t i = key_hash(g->rows[idx].sensor_id, g->rows[idx].ts) & mask;
    while (g->hash[i])
        i = (i + 1) & mask;
    g->hash[i] = idx + 1;
}

static bool rehash(raw_gen *g, size_t want)
{
    size_t cap = 1024;
    while (cap < want * 2)
        cap *= 2;
    if (cap != g->hcap) {
        uint32_t *h = calloc(cap, sizeof *h);
        if (h == NULL)
            return false;
        free(g->hash);
        g->hash = h;
        g->hcap = cap;
    } else if (g->hash) {
        memset(g->hash, 0, cap * sizeof *g->hash);
    }
    for (size_t i = 0; i < g->n; i++)
        hash_put(g, (uint32_t)i);
    return true;
}

static bool gen_find(const raw_gen *g, int64_t sensor_id, int64_t ts)
{
    if (g->n == 0)
        return false;
    size_t mask = g->hcap - 1;
    for (size_t i = key_hash(sensor_id, ts) & mask; g->hash[i]; i = (i + 1) & mask) {
        const raw_row *r = &g->rows[g->hash[i] - 1];
        if (r->sensor_id == sensor_id && r->ts == ts)
            return true;
    }
    return false;
}

static bool gen_push(raw_gen *g, const raw_row *r)
{
    if (g->n == g->cap) {
        size_t nc = g->cap ? g->cap * 2 : 4096;
        raw_row *p = realloc(g->rows, nc * sizeof *p);
        if (p == NULL)
            return false;
        g->rows = p;
        g->cap = nc;
    }
    if (g->n == 0)
        g->born = yj_now_ms();
    g->rows[g->n++] = *r;
    if ((g->n + 1) * 2 > g->hcap)
        return rehash(g, g->n * 2);
    hash_put(g, (uint32_t)(g->n - 1));
    return true;
}

/* Empty, keeping the buffers for the next generation. */
static void gen_clear(raw_gen *g)
{
    g->n = 0;
    if (g->hash)
        memset(g->hash, 0, g->hcap * sizeof *g->hash);
}

static void gen_free(raw_gen *g)
{
    free(g->rows);
    free(g->hash);
    memset(g, 0, sizeof *g);
}

static void count_pending(void)
{
    atomic_store(&L.pending, (long long)(L.act.n + (L.mrg.n - L.del)));
}

void mon_raw_free(void)
{
    gen_free(&L.act);
    gen_free(&L.mrg);
    free(L.ord);
    L.ord = NULL;
    L.ins = L.del = L.mark = 0;
    count_pending();
}

/* Rows of the statement (id, sensor_id, ts, value, rx, flags) into act. */
static int push_rows(yj_stmt *st, size_t *n, yj_err *err)
{
    int r;
    while ((r = yj_step(st, err)) == 1) {
        raw_row row = {.id = yj_col_int(st, 0),
                       .sensor_id = yj_col_int(st, 1),
                       .ts = yj_col_int(st, 2),
                       .value = yj_col_real(st, 3),
                       .rx = yj_col_int(st, 4),
                       .flags = (int)yj_col_int(st, 5)};
        if (!gen_push(&L.act, &row)) {
            yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory reading the reading log");
            return -1;
        }
        (*n)++;
    }
    return r;
}

yj_code mon_raw_load(yj_conn *c, yj_err *err)
{
    mon_raw_free();
    snprintf(L.node, sizeof L.node, "%s", node_name());
    L.adopted_at = 0;
    yj_stmt *st = yj_prepare(c,
                             "SELECT id, sensor_id, ts, value, rx, flags FROM reading_log"
                             " WHERE node = ? OR node = '' ORDER BY id",
                             err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_text(st, 1, L.node);
    size_t n = 0;
    int r = push_rows(st, &n, err);
    yj_stmt_done(st);
    count_pending();
    if (r < 0) {
        mon_raw_free();
        return yj_fail(err);
    }
    if (L.act.n)
        yj_log(YJ_LOG_INFO, "monitor.log_adopted", "%zu unmerged readings read back", L.act.n);
    return YJ_OK;
}

yj_code mon_raw_adopt(yj_store *s, yj_conn *c, bool now, yj_err *err)
{
    int64_t t = yj_now_ms();
    if (L.node[0] == '\0' || (!now && t - L.adopted_at < ADOPT_EVERY_MS))
        return YJ_OK; /* a command-line process adopts nothing */
    L.adopted_at = t;
    char nodes[16][64];
    size_t nn = 0;
    yj_stmt *st = yj_prepare(c,
                             "SELECT DISTINCT node FROM reading_log WHERE node <> ? AND node <> ''"
                             " ORDER BY node",
                             err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_text(st, 1, L.node);
    int r;
    while (nn < 16 && (r = yj_step(st, err)) == 1)
        snprintf(nodes[nn++], sizeof nodes[0], "%s", yj_col_text(st, 0));
    yj_stmt_done(st);
    if (r < 0)
        return yj_fail(err);
    yj_code rc = YJ_OK;
    for (size_t i = 0; i < nn && rc == YJ_OK; i++) {
        yj_lock *l = node_take_dead(s, nodes[i]);
        if (l == NULL)
            continue; /* alive: it merges its own */
        size_t mark = L.act.n, n = 0;
        rc = yj_tx_begin(c, err);
        st = rc == YJ_OK ? yj_prepare(c,
                                      "UPDATE reading_log SET node = ? WHERE node = ?"
                                      " RETURNING id, sensor_id, ts, value, rx, flags",
                                      err)
                         : NULL;
        if (st) {
            yj_bind_text(st, 1, L.node);
            yj_bind_text(st, 2, nodes[i]);
            r = push_rows(st, &n, err);
            yj_stmt_done(st);
            rc = r < 0 ? yj_fail(err) : yj_tx_commit(c, err);
        } else if (rc == YJ_OK) {
            rc = yj_fail(err);
        }
        if (rc != YJ_OK) {
            yj_tx_rollback(c);
            L.act.n = mark; /* not ours after all */
            if (!rehash(&L.act, L.act.n * 2))
                yj_log(YJ_LOG_ERROR, "monitor.oom", "reading log index rebuild failed");
        } else if (n) {
            atomic_fetch_add(&L.adopted, (long long)n);
            yj_log(YJ_LOG_WARN, "monitor.log_adopted",
                   "node %s died with %zu readings logged and not merged: merging them here",
                   nodes[i], n);
        }
        node_release(l);
    }
    count_pending();
    return rc;
}

void mon_raw_each(mon_raw_fn fn, void *ctx)
{
    const raw_gen *gens[2] = {&L.mrg, &L.act};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < gens[k]->n; i++) {
            const raw_row *r = &gens[k]->rows[i];
            fn(r->sensor_id, r->ts, r->value, r->rx, ctx);
        }
}

size_t mon_raw_pending(void)
{
    return (size_t)atomic_load(&L.pending);
}

/* ---- appending ----------------------------------------------------------------- */

/* Send act rows [unsent, act.n) to the log, APPEND_BATCH to a statement,
 * and give them the ids the log gave. */
static yj_code send_unsent(yj_conn *c, yj_err *err)
{
    while (L.unsent < L.act.n) {
        /* a power of two: ten statement shapes in the connection's cache,
         * not one per batch size */
        size_t left = L.act.n - L.unsent, n = APPEND_BATCH;
        while (n > left)
            n /= 2;
        yj_sql q;
        yj_sql_init(&q, "INSERT INTO reading_log (sensor_id, ts, value, rx, flags, node) VALUES ");
        for (size_t i = 0; i < n; i++) {
            const raw_row *r = &L.act.rows[L.unsent + i];
            yj_sql_int(&q, i ? ", (?" : "(?", r->sensor_id);
            yj_sql_int(&q, ", ?", r->ts);
            yj_sql_real(&q, ", ?", r->value);
            yj_sql_int(&q, ", ?", r->rx);
            yj_sql_int(&q, ", ?", r->flags);
            yj_sql_text(&q, ", ?)", L.node);
        }
        yj_sql_add(&q, " RETURNING id");
        yj_stmt *st = yj_sql_prepare(c, &q, err);
        yj_sql_free(&q);
        if (st == NULL)
            return yj_fail(err);
        size_t got = 0;
        int r;
        /* the ids come back in the order of the rows */
        while ((r = yj_step(st, err)) == 1 && got < n)
            L.act.rows[L.unsent + got++].id = yj_col_int(st, 0);
        yj_stmt_done(st);
        if (r < 0)
            return yj_fail(err);
        if (got != n)
            return yj_err_set(err, YJ_EINTERNAL, NULL, "reading log: %zu ids for %zu rows", got, n);
        L.unsent += n;
    }
    return YJ_OK;
}

static yj_code send_before_commit(yj_conn *c, void *slot, yj_err *err)
{
    (void)slot;
    return send_unsent(c, err);
}

yj_code mon_raw_begin(yj_conn *c, yj_err *err)
{
    L.mark = L.act.n;
    L.unsent = L.act.n;
    L.conn = c;
    L.batch = yj_store_batches(c);
    if (L.batch) {
        bool fresh;
        if (yj_tx_local(c, "rawlog", 1, send_before_commit, &fresh) == NULL)
            return yj_err_set(err, YJ_EINTERNAL, NULL, "mon_raw_begin outside a transaction");
        L.app = NULL;
        return YJ_OK;
    }
    L.app = yj_prepare(c,
                       "INSERT INTO reading_log (sensor_id, ts, value, rx, flags, node)"
                       " VALUES (?, ?, ?, ?, ?, ?)",
                       err);
    return L.app ? YJ_OK : YJ_EINTERNAL;
}

yj_code mon_raw_exists(yj_conn *c, int64_t sensor_id, int64_t ts, bool *out, yj_err *err)
{
    if (gen_find(&L.act, sensor_id, ts) || gen_find(&L.mrg, sensor_id, ts)) {
        *out = true;
        return YJ_OK;
    }
    yj_stmt *q = yj_prepare(c, "SELECT 1 FROM reading WHERE sensor_id = ? AND ts = ?", err);
    if (q == NULL)
        return yj_fail(err);
    yj_bind_int(q, 1, sensor_id);
    yj_bind_int(q, 2, ts);
    int r = yj_step(q, err);
    yj_stmt_done(q);
    if (r < 0)
        return yj_fail(err);
    *out = r == 1;
    return YJ_OK;
}

yj_code mon_raw_append(int64_t sensor_id, int64_t ts, double value, int64_t rx, int flags,
                       yj_err *err)
{
    raw_row row = {.sensor_id = sensor_id, .ts = ts, .rx = rx, .value = value, .flags = flags};
    if (L.batch) {
        if (!gen_push(&L.act, &row))
            return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
        return L.act.n - L.unsent >= APPEND_BATCH ? send_unsent(L.conn, err) : YJ_OK;
    }
    yj_stmt *st = L.app;
    yj_stmt_reset(st);
    yj_bind_int(st, 1, sensor_id);
    yj_bind_int(st, 2, ts);
    yj_bind_real(st, 3, value);
    yj_bind_int(st, 4, rx);
    yj_bind_int(st, 5, flags);
    yj_bind_text(st, 6, L.node);
    if (yj_step(st, err) < 0)
        return yj_fail(err);
    row.id = yj_last_insert_id(st);
    if (!gen_push(&L.act, &row))
        return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
    return YJ_OK;
}

void mon_raw_end(bool ok)
{
    yj_stmt_done(L.app);
    L.app = NULL;
    L.conn = NULL;
    if (!ok && L.act.n != L.mark) {
        L.act.n = L.mark;
        if (!rehash(&L.act, L.act.n * 2))
            yj_log(YJ_LOG_ERROR, "monitor.oom", "reading log index rebuild failed");
    }
    count_pending();
}

/* ---- merging ----------------------------------------------------------------- */

static int cmp_key(const void *a, const void *b)
{
    const raw_key *x = a, *y = b;
    if (x->sensor_id != y->sensor_id)
        return x->sensor_id < y->sensor_id ? -1 : 1;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* act becomes mrg (sorted); act starts empty with mrg's old buffers. */
static yj_code start_merge(yj_err *err)
{
    raw_key *ord = malloc((L.act.n ? L.act.n : 1) * sizeof *ord);
    if (ord == NULL)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory starting a merge");
    raw_gen old = L.mrg;
    L.mrg = L.act;
    L.act = old;
    gen_clear(&L.act);
    for (size_t i = 0; i < L.mrg.n; i++)
        ord[i] = (raw_key){L.mrg.rows[i].sensor_id, L.mrg.rows[i].ts, (uint32_t)i};
    qsort(ord, L.mrg.n, sizeof *ord, cmp_key);
    free(L.ord);
    L.ord = ord;
    L.ins = L.del = 0;
    return YJ_OK;
}

/* One aggregate bucket being summed up: (sensor, bucket) -> n, sum, min, max. */
typedef struct {
    int64_t sensor_id, bucket, n;
    double sum, min, max;
} agg;

static yj_code agg_flush(yj_conn *c, const char *table, agg *a, yj_err *err)
{
    if (a->n == 0)
        return YJ_OK;
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO %s (sensor_id, bucket, n, sum, min, max) VALUES (?, ?, ?, ?, ?, ?)"
             " ON CONFLICT (sensor_id, bucket) DO UPDATE SET n = %s.n + excluded.n,"
             " sum = %s.sum + excluded.sum,"
             " min = CASE WHEN excluded.min < %s.min THEN excluded.min ELSE %s.min END,"
             " max = CASE WHEN excluded.max > %s.max THEN excluded.max ELSE %s.max END",
             table, table, table, table, table, table, table);
    yj_stmt *q = yj_prepare(c, sql, err);
    if (q == NULL)
        return yj_fail(err);
    yj_bind_int(q, 1, a->sensor_id);
    yj_bind_int(q, 2, a->bucket);
    yj_bind_int(q, 3, a->n);
    yj_bind_real(q, 4, a->sum);
    yj_bind_real(q, 5, a->min);
    yj_bind_real(q, 6, a->max);
    int r = yj_step(q, err);
    yj_stmt_done(q);
    a->n = 0;
    return r < 0 ? yj_fail(err) : YJ_OK;
}

static yj_code agg_add(yj_conn *c, const char *table, agg *a, int64_t sensor_id, int64_t bucket,
                       double v, yj_err *err)
{
    if (a->n && (a->sensor_id != sensor_id || a->bucket != bucket)) {
        yj_code rc = agg_flush(c, table, a, err);
        if (rc != YJ_OK)
            return rc;
    }
    if (a->n == 0) {
        *a = (agg){.sensor_id = sensor_id, .bucket = bucket, .min = v, .max = v};
    }
    a->n++;
    a->sum += v;
    if (v < a->min)
        a->min = v;
    if (v > a->max)
        a->max = v;
    return YJ_OK;
}

/* Insert the next chunk of mrg (sorted) into the history table and its
 * aggregates, in one transaction. */
static yj_code insert_chunk(yj_conn *c, size_t *done, yj_err *err)
{
    size_t end = L.ins + MERGE_CHUNK < L.mrg.n ? L.ins + MERGE_CHUNK : L.mrg.n;
    yj_code rc = yj_tx_begin(c, err);
    if (rc != YJ_OK)
        return rc;
    yj_stmt *ins = yj_prepare(c,
                              "INSERT INTO reading (sensor_id, ts, value, rx, flags)"
                              " VALUES (?, ?, ?, ?, ?) ON CONFLICT (sensor_id, ts) DO NOTHING",
                              err);
    if (ins == NULL) {
        yj_tx_rollback(c);
        return yj_fail(err);
    }
    agg amin = {0}, ahour = {0};
    int64_t skipped = 0;
    for (size_t k = L.ins; k < end && rc == YJ_OK; k++) {
        const raw_row *r = &L.mrg.rows[L.ord[k].idx];
        yj_stmt_reset(ins);
        yj_bind_int(ins, 1, r->sensor_id);
        yj_bind_int(ins, 2, r->ts);
        yj_bind_real(ins, 3, r->value);
        yj_bind_int(ins, 4, r->rx);
        yj_bind_int(ins, 5, r->flags);
        if (yj_step(ins, err) < 0) {
            rc = yj_fail(err);
            break;
        }
        if (yj_stmt_changes(ins) == 0) {
            skipped++; /* merged before (a crash between merge and log delete) */
            continue;
        }
        rc = agg_add(c, "reading_min", &amin, r->sensor_id, (r->ts / 60000) * 60000, r->value, err);
        if (rc == YJ_OK)
            rc = agg_add(c, "reading_hour", &ahour, r->sensor_id, (r->ts / 3600000) * 3600000,
                         r->value, err);
    }
    yj_stmt_done(ins);
    if (rc == YJ_OK)
        rc = agg_flush(c, "reading_min", &amin, err);
    if (rc == YJ_OK)
        rc = agg_flush(c, "reading_hour", &ahour, err);
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    if (rc != YJ_OK)
        return rc;
    atomic_fetch_add(&L.merged, (long long)(end - L.ins) - skipped);
    atomic_fetch_add(&L.skipped, skipped);
    *done = end - L.ins;
    L.ins = end;
    return YJ_OK;
}

/* Delete the next chunk of mrg's rows from the log, by runs of consecutive ids. */
static yj_code delete_chunk(yj_conn *c, size_t *done, yj_err *err)
{
    size_t end = L.del + MERGE_CHUNK < L.mrg.n ? L.del + MERGE_CHUNK : L.mrg.n;
    yj_code rc = yj_tx_begin(c, err);
    if (rc != YJ_OK)
        return rc;
    yj_stmt *del = yj_prepare(c, "DELETE FROM reading_log WHERE id >= ? AND id <= ?", err);
    if (del == NULL) {
        yj_tx_rollback(c);
        return yj_fail(err);
    }
    size_t k = L.del;
    while (k < end) {
        int64_t lo = L.mrg.rows[k].id, hi = lo;
        k++;
        while (k < end && L.mrg.rows[k].id == hi + 1)
            hi = L.mrg.rows[k++].id;
        yj_stmt_reset(del);
        yj_bind_int(del, 1, lo);
        yj_bind_int(del, 2, hi);
        if (yj_step(del, err) < 0) {
            rc = yj_fail(err);
            break;
        }
    }
    yj_stmt_done(del);
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    if (rc != YJ_OK)
        return rc;
    *done = end - L.del;
    L.del = end;
    if (L.del == L.mrg.n) {
        gen_clear(&L.mrg);
        L.ins = L.del = 0;
        atomic_fetch_add(&L.merges, 1);
    }
    count_pending();
    return YJ_OK;
}

yj_code mon_raw_merge_step(yj_conn *c, bool force, size_t *done, yj_err *err)
{
    *done = 0;
    if (L.mrg.n == 0) {
        if (L.act.n == 0)
            return YJ_OK;
        if (!force && L.act.n < MERGE_ROWS && yj_now_ms() - L.act.born < MERGE_AGE_MS)
            return YJ_OK;
        yj_code rc = start_merge(err);
        if (rc != YJ_OK)
            return rc;
    }
    if (L.ins < L.mrg.n)
        return insert_chunk(c, done, err);
    return delete_chunk(c, done, err);
}

bool mon_raw_merging(void)
{
    return L.mrg.n > 0;
}

yj_code mon_raw_flush(yj_conn *c, yj_err *err)
{
    while (L.act.n || L.mrg.n) {
        size_t done = 0;
        yj_code rc = mon_raw_merge_step(c, true, &done, err);
        if (rc != YJ_OK)
            return rc;
    }
    return YJ_OK;
}

void mon_raw_metrics(yj_buf *out)
{
    yj_buf_printf(out,
                  "# HELP yj_reading_log_rows Readings in the append-only log, not yet merged"
                  " into the history table.\n# TYPE yj_reading_log_rows gauge\n"
                  "yj_reading_log_rows %lld\n",
                  (long long)atomic_load(&L.pending));
    yj_buf_printf(out,
                  "# HELP yj_reading_merges_total Merges of the log into the history table.\n"
                  "# TYPE yj_reading_merges_total counter\nyj_reading_merges_total %lld\n",
                  (long long)atomic_load(&L.merges));
    yj_buf_printf(out,
                  "# HELP yj_reading_merged_total Readings moved from the log into the history"
                  " table.\n# TYPE yj_reading_merged_total counter\nyj_reading_merged_total %lld\n",
                  (long long)atomic_load(&L.merged));
    yj_buf_printf(out,
                  "# HELP yj_reading_merge_skipped_total Log readings found already merged"
                  " (after a restart).\n# TYPE yj_reading_merge_skipped_total counter\n"
                  "yj_reading_merge_skipped_total %lld\n",
                  (long long)atomic_load(&L.skipped));
    yj_buf_printf(out,
                  "# HELP yj_reading_log_adopted_total Log readings of dead nodes adopted and"
                  " merged here.\n# TYPE yj_reading_log_adopted_total counter\n"
                  "yj_reading_log_adopted_total %lld\n",
                  (long long)atomic_load(&L.adopted));
}
