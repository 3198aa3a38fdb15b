/*
 * runtime.c — the warning module's clock and its one background thread.
 *
 * Once a second (or when a test moves the clock with warning_tick) the
 * thread runs the timers in order: published warnings past their expiry
 * become expired (their deliveries stop), then the deliveries and call-up
 * escalations that are due (deliver.c).  Tests run the platform with `serve --test-hooks`: the
 * thread then never runs timers on its own, and POST /api/v1/warnings/tick
 * sets the clock and runs them once, synchronously — no sleeps in tests.
 */
#include "warning.h"
#include "channels.h"
#include "deliver.h"
#include "../core/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

static struct {
    yj_store *store;
    bool manual; /* timers only on warning_tick */
    pthread_t thread;
    bool running, stop;
    pthread_mutex_t mu, run_mu; /* mu: stop/wake; run_mu: one timer round at a time */
    pthread_cond_t cv;
    atomic_llong clock; /* 0 = real time */
} rt = {.mu = PTHREAD_MUTEX_INITIALIZER,
        .run_mu = PTHREAD_MUTEX_INITIALIZER,
        .cv = PTHREAD_COND_INITIALIZER};

int64_t warning_now(void)
{
    int64_t c = atomic_load(&rt.clock);
    return c ? c : yj_now_ms();
}

static void run_timers(int64_t now)
{
    yj_err err;
    yj_err_clear(&err);
    int n = 0;
    if (warning_expire_due(rt.store, now, &n, &err) != YJ_OK)
        yj_log(YJ_LOG_ERROR, "warning.expire_failed", "%s", err.message);
    else if (n)
        yj_log(YJ_LOG_INFO, "warning.expired", "%d warning(s) expired", n);
    yj_err_clear(&err);
    if (warning_dispatch_due(rt.store, now, &err) != YJ_OK)
        yj_log(YJ_LOG_ERROR, "warning.dispatch_failed", "%s", err.message);
}

static void on_played(int64_t delivery_id, const char *topic)
{
    (void)topic;
    if (rt.store)
        deliver_terminal_played(rt.store, delivery_id);
}

static void *thread_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&rt.mu);
    while (!rt.stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&rt.cv, &rt.mu, &ts);
        if (rt.stop || rt.manual)
            continue;
        pthread_mutex_unlock(&rt.mu);
        pthread_mutex_lock(&rt.run_mu);
        run_timers(warning_now());
        pthread_mutex_unlock(&rt.run_mu);
        pthread_mutex_lock(&rt.mu);
    }
    pthread_mutex_unlock(&rt.mu);
    return NULL;
}

yj_code warning_runtime_start(yj_store *s, bool manual_clock, yj_err *err)
{
    if (rt.running)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "warning runtime already started");
    rt.store = s;
    rt.manual = manual_clock;
    chan_on_terminal_ack(on_played);
    rt.stop = false;
    if (pthread_create(&rt.thread, NULL, thread_main, NULL) != 0)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "cannot start the warning thread");
    rt.running = true;
    return YJ_OK;
}

void warning_runtime_stop(void)
{
    if (!rt.running)
        return;
    pthread_mutex_lock(&rt.mu);
    rt.stop = true;
    pthread_cond_signal(&rt.cv);
    pthread_mutex_unlock(&rt.mu);
    pthread_join(rt.thread, NULL);
    rt.running = false;
}

void warning_tick(int64_t now_ms)
{
    atomic_store(&rt.clock, now_ms);
    pthread_mutex_lock(&rt.run_mu); /* never at the same time as the thread's round */
    run_timers(warning_now());
    pthread_mutex_unlock(&rt.run_mu);
}
