/*
 * sched.c — the one scheduler: every module's timers (module.h: timers),
 * run on the one clock (yj_clock_now()).
 *
 * While the platform serves, one thread looks every 100 ms for timers whose
 * period has passed (on the monotonic clock, so a test or an NTP step of
 * the wall clock never bunches or starves them) and runs them in module
 * order, each with the platform's time.  Under serve --test-hooks the
 * thread is not started: a test sets the clock and runs the timers it
 * names, synchronously (POST /api/v1/test/tick), so no test sleeps.  One
 * mutex makes runs take turns.
 *
 * Several nodes on one database: a timer runs on one node at a time.
 * Before a run the node takes the timer's lease (sched_lease: holder,
 * until) with one conditional UPDATE — free, expired, or its own — for the
 * period plus LEASE_GRACE_MS, and renews it before it runs out; so the
 * holder keeps it while it lives, and when it dies another node takes it over within
 * a period and a few seconds.  A node that stops cleanly lets its leases
 * go at once.  Timers marked every_node (a node's own ingest writer) run
 * everywhere; under --test-hooks the test says where timers run.
 */
#include "sched.h"
#include "module.h"
#include "node.h"
#include "../core/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const yj_timer *t;
    uint64_t last_ns;
    int64_t held_until; /* the lease this node holds on it (wall clock ms), or 0 */
} slot;

static struct {
    yj_store *store;
    slot *slots;
    size_t n;
    pthread_t thread;
    bool running, stop;
    pthread_mutex_t mu;     /* stop flag */
    pthread_mutex_t run_mu; /* one run at a time */
    pthread_cond_t cv;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER,
       .run_mu = PTHREAD_MUTEX_INITIALIZER,
       .cv = PTHREAD_COND_INITIALIZER};

static void collect(void)
{
    if (S.slots)
        return;
    size_t nm = 0, total = 0;
    const yj_module *const *mods = yj_modules(&nm);
    for (size_t i = 0; i < nm; i++)
        total += mods[i]->ntimers;
    S.slots = calloc(total ? total : 1, sizeof *S.slots);
    if (S.slots == NULL)
        abort();
    for (size_t i = 0; i < nm; i++)
        for (size_t k = 0; k < mods[i]->ntimers; k++)
            S.slots[S.n++].t = &mods[i]->timers[k];
}

#define LEASE_GRACE_MS 5000

/* May this node run the slot's timer now?  Takes its lease, or renews it
 * when less than half the grace is left (a write per few runs, not per
 * run: on SQLite each is a synced commit). */
static bool lease(slot *sl)
{
    const yj_timer *t = sl->t;
    if (t->every_node || node_name()[0] == '\0')
        return true;
    int64_t now = yj_now_ms(); /* leases live on the wall clock, not the test clock */
    if (sl->held_until - now > LEASE_GRACE_MS / 2)
        return true; /* held: nobody can take it before it expires */
    yj_err err;
    yj_conn *c = yj_store_acquire(S.store);
    yj_stmt *st = yj_prepare(c,
                             "UPDATE sched_lease SET holder = ?, until_ms = ? WHERE timer = ?"
                             " AND (holder = ? OR until_ms < ?)",
                             &err);
    bool mine = false;
    if (st) {
        yj_bind_text(st, 1, node_name());
        yj_bind_int(st, 2, now + t->period_ms + LEASE_GRACE_MS);
        yj_bind_text(st, 3, t->name);
        yj_bind_text(st, 4, node_name());
        yj_bind_int(st, 5, now);
        mine = yj_step(st, &err) == 0 && yj_stmt_changes(st) == 1;
        yj_stmt_done(st);
    }
    yj_store_release(S.store, c);
    if (st == NULL)
        yj_log(YJ_LOG_ERROR, "timer.lease", "%s: %s", t->name, err.message);
    sl->held_until = mine ? now + t->period_ms + LEASE_GRACE_MS : 0;
    return mine;
}

/* The lease rows exist before anyone competes for them. */
static yj_code lease_rows(yj_err *err)
{
    yj_conn *c = yj_store_acquire(S.store);
    yj_code rc = YJ_OK;
    for (size_t i = 0; i < S.n && rc == YJ_OK; i++) {
        if (S.slots[i].t->every_node)
            continue;
        yj_stmt *st = yj_prepare(c,
                                 "INSERT INTO sched_lease (timer, holder, until_ms)"
                                 " VALUES (?, '', 0) ON CONFLICT (timer) DO NOTHING",
                                 err);
        if (st == NULL) {
            rc = yj_fail(err);
            break;
        }
        yj_bind_text(st, 1, S.slots[i].t->name);
        if (yj_step(st, err) < 0)
            rc = yj_fail(err);
        yj_stmt_done(st);
    }
    yj_store_release(S.store, c);
    return rc;
}

static void lease_release(void)
{
    if (node_name()[0] == '\0')
        return;
    yj_err err;
    yj_conn *c = yj_store_acquire(S.store);
    yj_stmt *st = yj_prepare(c, "UPDATE sched_lease SET until_ms = 0 WHERE holder = ?", &err);
    if (st) {
        yj_bind_text(st, 1, node_name());
        yj_step(st, &err);
        yj_stmt_done(st);
    }
    yj_store_release(S.store, c);
}

static void run_one(slot *sl, int64_t now)
{
    yj_err err;
    yj_err_clear(&err);
    uint64_t t0 = yj_mono_ns();
    if (sl->t->run(S.store, now, &err) != YJ_OK)
        yj_log(YJ_LOG_ERROR, "timer.failed", "%s: %s", sl->t->name, err.message);
    double ms = (double)(yj_mono_ns() - t0) / 1e6;
    if (ms > 2.0 * sl->t->period_ms)
        yj_log(YJ_LOG_WARN, "timer.slow", "%s took %.0f ms (period %d ms)", sl->t->name, ms,
               sl->t->period_ms);
}

static void *thread_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&S.mu);
    while (!S.stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&S.cv, &S.mu, &ts);
        if (S.stop)
            break;
        pthread_mutex_unlock(&S.mu);
        pthread_mutex_lock(&S.run_mu);
        for (size_t i = 0; i < S.n; i++) {
            uint64_t mono = yj_mono_ns();
            if (mono - S.slots[i].last_ns < (uint64_t)S.slots[i].t->period_ms * 1000000u)
                continue;
            S.slots[i].last_ns = mono;
            if (lease(&S.slots[i]))
                run_one(&S.slots[i], yj_clock_now());
        }
        pthread_mutex_unlock(&S.run_mu);
        pthread_mutex_lock(&S.mu);
    }
    pthread_mutex_unlock(&S.mu);
    return NULL;
}

yj_code sched_start(yj_store *s, bool thread, yj_err *err)
{
    collect();
    S.store = s;
    if (!thread || S.running)
        return YJ_OK;
    if (lease_rows(err) != YJ_OK)
        return yj_fail(err);
    uint64_t now = yj_mono_ns();
    for (size_t i = 0; i < S.n; i++)
        S.slots[i].last_ns = now; /* a period after the start */
    S.stop = false;
    if (pthread_create(&S.thread, NULL, thread_main, NULL) != 0)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "cannot start the scheduler");
    S.running = true;
    return YJ_OK;
}

void sched_stop(void)
{
    if (!S.running)
        return;
    pthread_mutex_lock(&S.mu);
    S.stop = true;
    pthread_cond_signal(&S.cv);
    pthread_mutex_unlock(&S.mu);
    pthread_join(S.thread, NULL);
    S.running = false;
    lease_release();
    for (size_t i = 0; i < S.n; i++)
        S.slots[i].held_until = 0;
}

/* A timer is named by its name ("warning.dispatch") or its module's
 * ("warning"). */
static bool chosen(const yj_timer *t, const char *const *only, size_t nonly)
{
    if (nonly == 0)
        return true;
    for (size_t i = 0; i < nonly; i++) {
        size_t n = strlen(only[i]);
        if (strcmp(t->name, only[i]) == 0 ||
            (strncmp(t->name, only[i], n) == 0 && t->name[n] == '.'))
            return true;
    }
    return false;
}

yj_code sched_run_now(const char *const *only, size_t nonly, json_t **ran, yj_err *err)
{
    collect();
    if (S.store == NULL)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "the scheduler has not started");
    for (size_t i = 0; i < nonly; i++) {
        bool known = false;
        for (size_t k = 0; k < S.n && !known; k++)
            known = chosen(S.slots[k].t, &only[i], 1);
        if (!known)
            return yj_err_set(err, YJ_EINVAL, "timers", "没有名为 %s 的定时任务", only[i]);
    }
    *ran = json_array();
    pthread_mutex_lock(&S.run_mu);
    int64_t now = yj_clock_now();
    for (size_t i = 0; i < S.n; i++) {
        if (!chosen(S.slots[i].t, only, nonly))
            continue;
        run_one(&S.slots[i], now);
        json_array_append_new(*ran, json_string(S.slots[i].t->name));
    }
    pthread_mutex_unlock(&S.run_mu);
    return YJ_OK;
}
