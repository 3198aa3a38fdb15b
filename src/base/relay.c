/*
 * relay.c — live events across nodes.  What happens on one node (a record
 * saved, an alarm raised, a warning's answers) is published on its event
 * bus (core/events.h) to its own event-stream clients and caches; the relay
 * also sends it to the other nodes over PostgreSQL NOTIFY, and a thread of
 * each node LISTENs and publishes what the others sent on its own bus — so
 * a duty officer's board on node B moves when an answer arrives on node A,
 * and node B's ingest reloads a sensor edited on node A.
 *
 * Messages carry the sending node's name; a node ignores its own.  Events
 * are hints (ids and states, well under NOTIFY's 8000 bytes); one that is
 * not is logged and not relayed.  If the listening connection drops it is
 * opened again within a second; events sent meanwhile are missed by this
 * node's clients (logged: a browser's next reload shows the state).
 */
#include "relay.h"
#include "node.h"
#include "../core/events.h"
#include "../core/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHANNEL     "yingji_events"
#define MAX_PAYLOAD 7900

static struct {
    yj_store *store;
    yj_notifier *out; /* NOTIFY, under mu */
    pthread_mutex_t mu;
    pthread_t thread;
    atomic_bool stop;
    bool running, subscribed;
} R = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* set on the listening thread while it publishes another node's event */
static _Thread_local bool relaying;

static void on_local(const char *type, const char *region, const json_t *data, void *ctx)
{
    (void)ctx;
    if (relaying || !R.running)
        return;
    json_t *m = json_pack("{s:s,s:s,s:s,s:o}", "node", node_name(), "type", type, "region",
                          region ? region : "", "data", data ? json_deep_copy(data) : json_null());
    char *text = m ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    if (text == NULL)
        return;
    if (strlen(text) > MAX_PAYLOAD) {
        yj_log(YJ_LOG_WARN, "relay.too_long", "a %s event of %zu bytes is not sent to other nodes",
               type, strlen(text));
        free(text);
        return;
    }
    yj_err err;
    yj_err_clear(&err);
    pthread_mutex_lock(&R.mu);
    yj_code rc = R.out ? yj_notify(R.out, CHANNEL, text, &err) : YJ_EIO;
    if (rc != YJ_OK) { /* the connection went: once more on a new one */
        yj_notifier_close(R.out);
        R.out = yj_notifier_open(R.store, &err);
        rc = R.out ? yj_notify(R.out, CHANNEL, text, &err) : YJ_EIO;
    }
    pthread_mutex_unlock(&R.mu);
    if (rc != YJ_OK)
        yj_log(YJ_LOG_WARN, "relay.lost", "a %s event was not sent to other nodes: %s", type,
               err.message);
    free(text);
}

static void on_remote(const char *payload, void *ctx)
{
    (void)ctx;
    json_error_t je;
    json_t *m = json_loads(payload, 0, &je);
    const char *from = json_string_value(json_object_get(m, "node"));
    const char *type = json_string_value(json_object_get(m, "type"));
    const char *region = json_string_value(json_object_get(m, "region"));
    if (from && type && region && strcmp(from, node_name()) != 0) {
        relaying = true;
        yj_events_publish(type, region, json_object_get(m, "data"));
        relaying = false;
    }
    json_decref(m);
}

static void *listen_main(void *arg)
{
    (void)arg;
    yj_notifier *in = NULL;
    while (!atomic_load(&R.stop)) {
        yj_err err;
        yj_err_clear(&err);
        if (in == NULL && (in = yj_notifier_open(R.store, &err)) == NULL) {
            struct timespec ts = {1, 0};
            nanosleep(&ts, NULL);
            continue;
        }
        if (yj_listen(in, CHANNEL, 500, on_remote, NULL, &err) != YJ_OK) {
            yj_log(YJ_LOG_WARN, "relay.reconnect", "listening for other nodes' events: %s",
                   err.message);
            yj_notifier_close(in);
            in = NULL;
        }
    }
    yj_notifier_close(in);
    return NULL;
}

yj_code relay_start(yj_store *s, yj_err *err)
{
    yj_err_clear(err);
    yj_notifier *out = yj_notifier_open(s, err);
    if (out == NULL)
        return err->code == YJ_OK ? YJ_OK : err->code; /* SQLite: one node, nothing to relay */
    R.store = s;
    R.out = out;
    atomic_store(&R.stop, false);
    if (!R.subscribed) {
        yj_events_subscribe(on_local, NULL);
        R.subscribed = true;
    }
    if (pthread_create(&R.thread, NULL, listen_main, NULL) != 0) {
        yj_notifier_close(R.out);
        R.out = NULL;
        return yj_err_set(err, YJ_EINTERNAL, NULL, "cannot start the event relay");
    }
    R.running = true;
    return YJ_OK;
}

void relay_stop(void)
{
    if (!R.running)
        return;
    R.running = false;
    atomic_store(&R.stop, true);
    pthread_join(R.thread, NULL);
    pthread_mutex_lock(&R.mu);
    yj_notifier_close(R.out);
    R.out = NULL;
    pthread_mutex_unlock(&R.mu);
}
