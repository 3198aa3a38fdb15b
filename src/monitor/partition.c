/*
 * partition.c — the counties' readings shared among several nodes
 * (serve --mqtt --mqtt-partitions).
 *
 * Why partitions: a reading must be evaluated by the node that holds its
 * sensor's rule state (windows, durations, hysteresis), and by one node
 * only.  Shared subscriptions spread messages over nodes at random, so a
 * sensor's readings would land on several nodes and its state would split.
 * Instead each county (区县, the first six digits of a region code) is a
 * partition with a topic of its own, yingji/v1/<county>/#, and a persistent
 * MQTT session of its own, "<client id>-<county>": the node that holds the
 * county's lease connects that session; while nobody holds it the broker
 * keeps what is published for it (QoS 1, clean_session = false), and the
 * next holder receives it.  Two holders cannot both be connected: the
 * broker drops the older connection of a client id when a newer one
 * arrives.
 *
 * Leases (table ingest_lease, one row per county that has monitored
 * objects): every PART_EVERY_MS a node says it is alive (ingest_node),
 * renews the leases it holds for LEASE_MS, and works out its share — the
 * counties divided by the live nodes, rounded up.  Over its share it lets
 * counties go (session first, then the lease); under it, it takes counties
 * whose lease has run out.  So a node that dies loses its counties within
 * LEASE_MS and the others take them; a node that joins gets its share from
 * the others.  A county taken here has its sensors' rule state rebuilt
 * from the store before its first reading is evaluated (mon_forget_county):
 * the latest values, and the open alarms with their levels.
 *
 * Leases are on the wall clock (yj_now_ms), not on the test clock.
 */
#include "monitor.h"
#include "../base/node.h"
#include "../core/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PART_EVERY_MS  1000
#define LEASE_MS       5000
#define COUNTIES_EVERY 30000 /* how often the list of counties is read again */
#define MAX_PARTITIONS 512

typedef char county[8];

static struct {
    yj_store *store;
    char client_id[96];
    pthread_t thread;
    bool running, stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    county held[MAX_PARTITIONS]; /* sessions open here (written by the thread under hmu) */
    size_t nheld;
    pthread_mutex_t hmu;
    char address[128]; /* where other nodes reach this one (HOST:PORT) */
    int64_t counties_at;
    atomic_int nheld_pub;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER,
       .cv = PTHREAD_COND_INITIALIZER,
       .hmu = PTHREAD_MUTEX_INITIALIZER};

static void session_id(const char *c, char *out, size_t n)
{
    snprintf(out, n, "%s-%s", P.client_id, c);
}

static bool held_here(const char *c)
{
    for (size_t i = 0; i < P.nheld; i++)
        if (strcmp(P.held[i], c) == 0)
            return true;
    return false;
}

static void open_county(const char *c)
{
    char id[128], topic[64];
    session_id(c, id, sizeof id);
    snprintf(topic, sizeof topic, "yingji/v1/%s/#", c);
    /* the sensors start over from the store before this session's first
     * reading reaches the writer (it reloads first, then evaluates) */
    mon_forget_county(c);
    yj_err err;
    yj_err_clear(&err);
    if (mon_mqtt_add(id, topic, &err) != YJ_OK) {
        yj_log(YJ_LOG_ERROR, "ingest.partition", "county %s: %s", c, err.message);
        return; /* the lease is held: the session is tried again next round */
    }
    pthread_mutex_lock(&P.hmu);
    snprintf(P.held[P.nheld++], sizeof P.held[0], "%s", c);
    pthread_mutex_unlock(&P.hmu);
}

static void close_county(size_t i)
{
    char id[128];
    session_id(P.held[i], id, sizeof id);
    pthread_mutex_lock(&P.hmu);
    memmove(&P.held[i], &P.held[i + 1], (P.nheld - i - 1) * sizeof P.held[0]);
    P.nheld--;
    pthread_mutex_unlock(&P.hmu);
    mon_mqtt_remove(id);
}

/* The counties with monitored objects each have a lease row. */
static yj_code lease_rows(yj_conn *c, yj_err *err)
{
    return yj_exec(c,
                   "INSERT INTO ingest_lease (county, holder, until_ms)"
                   " SELECT DISTINCT substr(region_code, 1, 6), '', 0 FROM monitored_object"
                   " WHERE true ON CONFLICT (county) DO NOTHING", /* WHERE: SQLite's parse */
                   err);
}

static yj_code exec_text_int(yj_conn *c, const char *sql, const char *t1, int64_t i2,
                             const char *t3, int64_t *changes, yj_err *err)
{
    yj_stmt *st = yj_prepare(c, sql, err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_text(st, 1, t1);
    yj_bind_int(st, 2, i2);
    if (t3)
        yj_bind_text(st, 3, t3);
    int r = yj_step(st, err);
    if (changes)
        *changes = yj_stmt_changes(st);
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

/* The counties of a query with parameters (text, int), or (int) when text
 * is NULL: at most max. */
static yj_code counties(yj_conn *c, const char *sql, const char *text, int64_t at, county *out,
                        size_t max, size_t *n, yj_err *err)
{
    *n = 0;
    yj_stmt *st = yj_prepare(c, sql, err);
    if (st == NULL)
        return yj_fail(err);
    if (text)
        yj_bind_text(st, 1, text);
    yj_bind_int(st, text ? 2 : 1, at);
    int r = 0;
    while (*n < max && (r = yj_step(st, err)) == 1)
        snprintf(out[(*n)++], sizeof out[0], "%s", yj_col_text(st, 0));
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

/* One round: alive, renew, then let go or take to reach the share. */
static yj_code round_once(yj_conn *c, yj_err *err)
{
    const char *me = node_name();
    int64_t now = yj_now_ms();
    yj_code rc = YJ_OK;
    if (now - P.counties_at >= COUNTIES_EVERY) {
        if ((rc = lease_rows(c, err)) != YJ_OK)
            return rc;
        /* nodes gone for a day: names of past processes */
        if ((rc = exec_text_int(c, "DELETE FROM ingest_node WHERE node <> ? AND seen_ms < ?", me,
                                now - 86400000LL, NULL, NULL, err)) != YJ_OK)
            return rc;
        P.counties_at = now;
    }
    rc = exec_text_int(c,
                       "INSERT INTO ingest_node (node, seen_ms, address) VALUES (?, ?, ?)"
                       " ON CONFLICT (node) DO UPDATE SET seen_ms = excluded.seen_ms,"
                       " address = excluded.address",
                       me, now, P.address, NULL, err);
    if (rc != YJ_OK)
        return rc;
    /* renew what is still ours */
    yj_stmt *st = yj_prepare(
        c, "UPDATE ingest_lease SET until_ms = ? WHERE holder = ? AND until_ms > ?", err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_int(st, 1, now + LEASE_MS);
    yj_bind_text(st, 2, me);
    yj_bind_int(st, 3, now);
    int r = yj_step(st, err);
    yj_stmt_done(st);
    if (r < 0)
        return yj_fail(err);

    /* what we hold now; sessions of leases lost (we stalled past them) go */
    county mine[MAX_PARTITIONS];
    size_t nmine = 0;
    if ((rc = counties(c,
                       "SELECT county FROM ingest_lease WHERE holder = ? AND until_ms > ?"
                       " ORDER BY county",
                       me, now, mine, MAX_PARTITIONS, &nmine, err)) != YJ_OK)
        return rc;
    for (size_t i = P.nheld; i-- > 0;) {
        bool still = false;
        for (size_t k = 0; k < nmine && !still; k++)
            still = strcmp(mine[k], P.held[i]) == 0;
        if (!still) {
            yj_log(YJ_LOG_WARN, "ingest.partition", "county %s: lease lost", P.held[i]);
            close_county(i);
        }
    }
    for (size_t k = 0; k < nmine; k++)
        if (!held_here(mine[k]) && P.nheld < MAX_PARTITIONS)
            open_county(mine[k]); /* a session that failed to open last round */

    int64_t live = 1, total = 0;
    st = yj_prepare(c, "SELECT COUNT(*) FROM ingest_node WHERE seen_ms > ?", err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_int(st, 1, now - LEASE_MS);
    if ((r = yj_step(st, err)) == 1)
        live = yj_col_int(st, 0);
    yj_stmt_done(st);
    if (r < 0)
        return yj_fail(err);
    if ((rc = yj_query_int(c, "SELECT COUNT(*) FROM ingest_lease", NULL, &total, err)) != YJ_OK)
        return rc;
    if (live < 1)
        live = 1;
    size_t share = (size_t)((total + live - 1) / live);

    /* over the share: let the last ones go, session first */
    while (P.nheld > share) {
        char c6[8];
        snprintf(c6, sizeof c6, "%s", P.held[P.nheld - 1]);
        close_county(P.nheld - 1);
        int64_t ch = 0;
        if ((rc = exec_text_int(c,
                                "UPDATE ingest_lease SET until_ms = 0 WHERE holder = ? AND"
                                " until_ms > ? AND county = ?",
                                me, 0, c6, &ch, err)) != YJ_OK)
            return rc;
        yj_log(YJ_LOG_INFO, "ingest.partition", "county %s let go (share %zu of %lld)", c6, share,
               (long long)total);
    }
    /* under it: take counties nobody holds */
    while (P.nheld < share) {
        county free_one[16];
        size_t nfree = 0;
        if ((rc = counties(c,
                           "SELECT county FROM ingest_lease WHERE until_ms <= ?"
                           " ORDER BY county LIMIT 16",
                           NULL, now, free_one, 16, &nfree, err)) != YJ_OK)
            return rc;
        if (nfree == 0)
            break;
        size_t before = P.nheld;
        for (size_t k = 0; k < nfree && P.nheld < share; k++) {
            int64_t ch = 0;
            st = yj_prepare(c,
                            "UPDATE ingest_lease SET holder = ?, until_ms = ?"
                            " WHERE county = ? AND until_ms <= ?",
                            err);
            if (st == NULL)
                return yj_fail(err);
            yj_bind_text(st, 1, me);
            yj_bind_int(st, 2, now + LEASE_MS);
            yj_bind_text(st, 3, free_one[k]);
            yj_bind_int(st, 4, now);
            r = yj_step(st, err);
            ch = yj_stmt_changes(st);
            yj_stmt_done(st);
            if (r < 0)
                return yj_fail(err);
            if (ch == 1) {
                yj_log(YJ_LOG_INFO, "ingest.partition", "county %s taken", free_one[k]);
                open_county(free_one[k]);
            }
        }
        if (P.nheld == before)
            break; /* others were quicker */
    }
    atomic_store(&P.nheld_pub, (int)P.nheld);
    return YJ_OK;
}

static void *part_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&P.mu);
    while (!P.stop) {
        pthread_mutex_unlock(&P.mu);
        yj_err err;
        yj_err_clear(&err);
        yj_conn *c = yj_store_acquire(P.store);
        if (round_once(c, &err) != YJ_OK)
            yj_log(YJ_LOG_ERROR, "ingest.partition", "%s", err.message);
        yj_store_release(P.store, c);
        pthread_mutex_lock(&P.mu);
        if (P.stop)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += PART_EVERY_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&P.cv, &P.mu, &ts);
    }
    pthread_mutex_unlock(&P.mu);
    /* a clean stop: sessions closed, then the leases free for the others */
    while (P.nheld)
        close_county(P.nheld - 1);
    atomic_store(&P.nheld_pub, 0);
    yj_err err;
    yj_conn *c = yj_store_acquire(P.store);
    if (exec_text_int(c, "UPDATE ingest_lease SET until_ms = 0 WHERE holder = ? AND until_ms > ?",
                      node_name(), 0, NULL, NULL, &err) != YJ_OK ||
        exec_text_int(c, "DELETE FROM ingest_node WHERE node = ? AND seen_ms > ?", node_name(), -1,
                      NULL, NULL, &err) != YJ_OK)
        yj_log(YJ_LOG_ERROR, "ingest.partition", "at stop: %s", err.message);
    yj_store_release(P.store, c);
    return NULL;
}

bool mon_partitioned(void)
{
    return P.running;
}

bool mon_partition_here(const char *c)
{
    if (!P.running)
        return true;
    pthread_mutex_lock(&P.hmu);
    bool here = held_here(c);
    pthread_mutex_unlock(&P.hmu);
    return here;
}

bool mon_partition_holder(yj_store *s, const char *c, char *addr, size_t n)
{
    if (!P.running)
        return false;
    yj_err err;
    yj_conn *conn = yj_store_acquire(s);
    yj_stmt *st = yj_prepare(conn,
                             "SELECT n.address FROM ingest_lease l JOIN ingest_node n"
                             " ON n.node = l.holder WHERE l.county = ? AND l.until_ms > ?"
                             " AND l.holder <> ?",
                             &err);
    bool found = false;
    if (st) {
        yj_bind_text(st, 1, c);
        yj_bind_int(st, 2, yj_now_ms());
        yj_bind_text(st, 3, node_name());
        if (yj_step(st, &err) == 1 && !yj_col_null(st, 0) && yj_col_text(st, 0)[0]) {
            snprintf(addr, n, "%s", yj_col_text(st, 0));
            found = true;
        }
        yj_stmt_done(st);
    }
    yj_store_release(s, conn);
    return found;
}

yj_code mon_partitions_start(yj_store *s, const char *client_id, const char *address, yj_err *err)
{
    snprintf(P.address, sizeof P.address, "%s", address ? address : "");
    if (P.running)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "partitions already started");
    if (node_name()[0] == '\0')
        return yj_err_set(err, YJ_EINVAL, "--mqtt-partitions",
                          "only a serving node holds partitions");
    P.store = s;
    snprintf(P.client_id, sizeof P.client_id, "%s", client_id ? client_id : "yingji-ingest");
    P.stop = false;
    P.counties_at = 0;
    P.nheld = 0;
    if (pthread_create(&P.thread, NULL, part_main, NULL) != 0)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "cannot start the partition thread");
    P.running = true;
    return YJ_OK;
}

void mon_partitions_stop(void)
{
    if (!P.running)
        return;
    pthread_mutex_lock(&P.mu);
    P.stop = true;
    pthread_cond_signal(&P.cv);
    pthread_mutex_unlock(&P.mu);
    pthread_join(P.thread, NULL);
    P.running = false;
}

int mon_partitions_held(void)
{
    return atomic_load(&P.nheld_pub);
}
