/*
 * sse.c — Server-Sent Events: the live channel to browsers.
 *
 * Each connected client has a bounded queue of formatted events.  The event
 * bus (core/events.h) calls sse_publish for every event; it is delivered to
 * the clients whose region contains the event's region.  A slow client
 * whose queue is full loses the oldest events and is told so with an
 * "event: overflow" (the browser then reloads what it shows) — one slow
 * browser never blocks the publisher.  The server thread serving a client
 * blocks in sse_client_read() (thread-per-connection model).
 */
#include "http.h"
#include "../core/events.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_LEN 64

struct sse_client {
    struct sse_client *next;
    char region[16];
    int64_t enterprise;
    char *queue[QUEUE_LEN];
    int head, count;
    bool overflowed;
    pthread_cond_t cv;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static sse_client *clients;
static int nclients;
static bool shutting_down;
static uint64_t event_seq;

static void sse_publish(const char *type, const char *region, const json_t *data, void *ctx)
{
    (void)ctx;
    char *payload = json_dumps(data, JSON_COMPACT);
    if (payload == NULL)
        return;
    pthread_mutex_lock(&mu);
    event_seq++;
    for (sse_client *c = clients; c; c = c->next) {
        /* deliver to clients whose region contains the event's region */
        if (strncmp(region, c->region, strlen(c->region)) != 0 || c->enterprise)
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
        pthread_cond_signal(&c->cv);
    }
    pthread_mutex_unlock(&mu);
    free(payload);
}

void sse_init(void)
{
    yj_events_subscribe(sse_publish, NULL);
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
        pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&mu);
}

sse_client *sse_client_open(const yj_user *u)
{
    sse_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    snprintf(c->region, sizeof c->region, "%s", u->region);
    /* Enterprise users get no region-wide events: they would leak other
     * enterprises' activity.  (Their own events come with later modules.) */
    c->enterprise = u->role == YJ_ROLE_ENTERPRISE ? u->enterprise_id : 0;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_lock(&mu);
    c->next = clients;
    clients = c;
    nclients++;
    pthread_mutex_unlock(&mu);
    return c;
}

long sse_client_read(sse_client *c, char *buf, size_t max, int timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&mu);
    while (c->count == 0 && !c->overflowed && !shutting_down) {
        if (pthread_cond_timedwait(&c->cv, &mu, &deadline) != 0)
            break;
    }
    long n = 0;
    if (shutting_down) {
        n = -1;
    } else if (c->overflowed) {
        c->overflowed = false;
        n = snprintf(buf, max, "event: overflow\ndata: {}\n\n");
    } else if (c->count > 0) {
        char *msg = c->queue[c->head];
        size_t len = strlen(msg);
        if (len <= max) {
            memcpy(buf, msg, len);
            n = (long)len;
            free(msg);
            c->head = (c->head + 1) % QUEUE_LEN;
            c->count--;
        } else {
            /* larger than the server's buffer: drop it, tell the client */
            free(msg);
            c->head = (c->head + 1) % QUEUE_LEN;
            c->count--;
            n = snprintf(buf, max, "event: overflow\ndata: {}\n\n");
        }
    }
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
    pthread_cond_destroy(&c->cv);
    free(c);
}

void api_events(yj_req *req, yj_resp *resp)
{
    (void)req;
    resp->sse = true;
    resp->status = 200;
    resp->content_type = "text/event-stream; charset=utf-8";
}
