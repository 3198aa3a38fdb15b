/*
 * sse.c — Server-Sent Events: the live channel to browsers.
 *
 * Each connected client has a bounded queue of formatted events.  The event
 * bus (core/events.h) calls sse_publish for every event.  Its type must be
 * a kind some module declares (base/module.h: an event of an undeclared
 * kind reaches nobody); it is delivered to the clients whose region
 * contains the event's region (for kinds flagged YJ_EV_INSIDE, such as the
 * bare "warning" hints, also those inside it), whose role may read the
 * kind's resource (a "record" event: its registry) and, for enterprise
 * users, only when the event names their enterprise.  A slow client
 * whose queue is full loses the oldest events and is told so with an
 * "event: overflow" (the browser then reloads what it shows) — one slow
 * browser never blocks the publisher.
 *
 * No thread waits on a client: an idle stream is parked (the server
 * suspends its connection) and woken exactly once when an event arrives,
 * when a keep-alive ping is due (a ticker thread checks every few seconds),
 * or at shutdown.  Parking and waking happen under one mutex, so a wake can
 * never overtake the park it answers.
 */
#include "http.h"
#include "../base/module.h"
#include "../core/events.h"
#include "../core/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_LEN        64
#define PING_INTERVAL_MS 15000

struct sse_client {
    struct sse_client *next;
    char region[16];
    int64_t enterprise;
    yj_role role;
    char *queue[QUEUE_LEN];
    int head, count;
    bool overflowed, greeted, ping_due, parked;
    int64_t last_write_ms;
    sse_conn_fn wake;
    void *conn;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static sse_client *clients;
static int nclients;
static bool shutting_down;
static uint64_t event_seq;
static pthread_t ticker;
static bool ticker_started;

/* Caller holds mu. */
static void wake_locked(sse_client *c)
{
    if (c->parked) {
        c->parked = false;
        c->wake(c->conn);
    }
}

static void sse_publish(const char *type, const char *region, const json_t *data, void *ctx)
{
    (void)ctx;
    char *payload = json_dumps(data, JSON_COMPACT);
    if (payload == NULL)
        return;
    /* an event that names its enterprise also reaches that enterprise's users */
    json_t *ent = json_object_get(data, "enterprise_id");
    int64_t owner = json_is_integer(ent) ? json_integer_value(ent) : 0;
    const yj_event_kind *kind = app_event_kind(type);
    const char *resource = kind == NULL     ? NULL
                           : kind->resource ? kind->resource
                                            : json_string_value(json_object_get(data, "registry"));
    if (resource == NULL) { /* undeclared: reaches nobody */
        yj_log(YJ_LOG_WARN, "sse.undeclared_event", "event %s dropped: no module declares it",
               type);
        free(payload);
        return;
    }
    bool inside_too = kind->flags & YJ_EV_INSIDE;
    pthread_mutex_lock(&mu);
    event_seq++;
    for (sse_client *c = clients; c; c = c->next) {
        /* deliver to clients whose region contains the event's region; a
         * kind flagged INSIDE (a "warning" hint: an id and what changed,
         * nothing more) also to those inside the region it names: a
         * village user hears of changes in their township */
        bool inside = yj_region_within(region, c->region);
        if (!inside && !(inside_too && region[0] && yj_region_within(c->region, region)))
            continue;
        if (c->enterprise && c->enterprise != owner)
            continue;
        if (!perm_allowed(c->role, resource, YJ_ACT_READ))
            continue;
        size_t n = strlen(payload) + strlen(type) + 64;
        char *msg = malloc(n);
        if (msg == NULL)
            continue;
        snprintf(msg, n, "id: %llu\nevent: %s\ndata: %s\n\n", (unsigned long long)event_seq, type,
                 payload);
        if (c->count == QUEUE_LEN) {
            free(c->queue[c->head]);
            c->head = (c->head + 1) % QUEUE_LEN;
            c->count--;
            c->overflowed = true;
        }
        c->queue[(c->head + c->count) % QUEUE_LEN] = msg;
        c->count++;
        wake_locked(c);
    }
    pthread_mutex_unlock(&mu);
    free(payload);
}

/* Every few seconds: wake parked streams that owe their browser a ping. */
static void *ticker_main(void *arg)
{
    (void)arg;
    for (;;) {
        usleep(2000 * 1000);
        pthread_mutex_lock(&mu);
        if (shutting_down) {
            pthread_mutex_unlock(&mu);
            return NULL;
        }
        int64_t now = yj_now_ms();
        for (sse_client *c = clients; c; c = c->next) {
            if (c->parked && now - c->last_write_ms >= PING_INTERVAL_MS) {
                c->ping_due = true;
                wake_locked(c);
            }
        }
        pthread_mutex_unlock(&mu);
    }
}

void sse_init(void)
{
    yj_events_subscribe(sse_publish, NULL);
    ticker_started = pthread_create(&ticker, NULL, ticker_main, NULL) == 0;
}

int sse_client_count(void)
{
    pthread_mutex_lock(&mu);
    int n = nclients;
    pthread_mutex_unlock(&mu);
    return n;
}

void sse_shutdown(void)
{
    pthread_mutex_lock(&mu);
    shutting_down = true;
    for (sse_client *c = clients; c; c = c->next)
        wake_locked(c);
    pthread_mutex_unlock(&mu);
    if (ticker_started) {
        pthread_join(ticker, NULL);
        ticker_started = false;
    }
}

sse_client *sse_client_open(const yj_user *u, sse_conn_fn wake, void *conn)
{
    sse_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    snprintf(c->region, sizeof c->region, "%s", u->region);
    /* Enterprise users get no region-wide events (they would leak other
     * enterprises' activity), only events naming their own enterprise. */
    c->enterprise = u->role == YJ_ROLE_ENTERPRISE ? u->enterprise_id : 0;
    c->role = u->role;
    c->wake = wake;
    c->conn = conn;
    c->last_write_ms = yj_now_ms();
    pthread_mutex_lock(&mu);
    c->next = clients;
    clients = c;
    nclients++;
    pthread_mutex_unlock(&mu);
    return c;
}

long sse_client_next(sse_client *c, char *buf, size_t max, sse_conn_fn park)
{
    long n = 0;
    pthread_mutex_lock(&mu);
    if (shutting_down) {
        n = -1;
    } else if (!c->greeted) {
        c->greeted = true;
        n = snprintf(buf, max, "retry: 3000\n: connected\n\n");
    } else if (c->overflowed) {
        c->overflowed = false;
        n = snprintf(buf, max, "event: overflow\ndata: {}\n\n");
    } else if (c->count > 0) {
        char *msg = c->queue[c->head];
        size_t len = strlen(msg);
        if (len <= max) {
            memcpy(buf, msg, len);
            n = (long)len;
        } else { /* larger than the server's buffer: drop it, tell the client */
            n = snprintf(buf, max, "event: overflow\ndata: {}\n\n");
        }
        free(msg);
        c->head = (c->head + 1) % QUEUE_LEN;
        c->count--;
    } else if (c->ping_due) {
        c->ping_due = false;
        n = snprintf(buf, max, ": ping\n\n");
    } else {
        c->parked = true;
        park(c->conn); /* under mu: no wake can come before this */
    }
    if (n > 0)
        c->last_write_ms = yj_now_ms();
    pthread_mutex_unlock(&mu);
    return n;
}

void sse_client_close(sse_client *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&mu);
    for (sse_client **pp = &clients; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    nclients--;
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < c->count; i++)
        free(c->queue[(c->head + i) % QUEUE_LEN]);
    free(c);
}

void api_events(yj_req *req, yj_resp *resp)
{
    (void)req;
    resp->sse = true;
    resp->status = 200;
    resp->content_type = "text/event-stream; charset=utf-8";
}
