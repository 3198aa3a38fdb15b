/*
 * mqtt.c — reading ingest from an MQTT broker (mosquitto), QoS 1.
 *
 * Topic scheme (documented in docs/monitoring.md):
 *   yingji/v1/<region>/<object>/<sensor>   one sensor's readings
 *   yingji/v1/<region>/<object>            a batch naming its sensors
 * Payload: see payload.c.  The region and object segments are for routing
 * and ACLs at the broker; the sensor code in the payload (or the topic's
 * last segment) is what identifies the sensor.
 *
 * Acknowledgement: libmosquitto (threaded, mosquitto_loop_start) queues the
 * PUBACK of a QoS 1 message only after on_message returns, and on_message
 * returns only once mon_ingest() has committed the message's readings (or
 * their rejects).  If the store fails, the consumer retries; if it must
 * give up (shutdown) it shuts the socket down first, so the PUBACK is never
 * sent and the broker redelivers to the persistent session.  (sensor, ts)
 * identity makes redelivery harmless: duplicates become rejects, not
 * double counts.
 */
#include "monitor.h"
#include "../core/util.h"

#include <mosquitto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONSUMERS 256 /* shared-subscription consumers, or one per county partition */

/* One connection: its own persistent session (client id) and subscription. */
typedef struct {
    struct mosquitto *m;
    char id[128];
    char topic[256];
} consumer;

static struct {
    consumer *c[MAX_CONSUMERS];
    int n;
    atomic_bool stopping;
    atomic_int connected;
    pthread_mutex_t mu; /* c[] and n: the partition thread adds and removes */
    bool inited;
} q = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    const consumer *k = obj;
    if (rc != 0) {
        yj_log(YJ_LOG_WARN, "mqtt.connect_refused", "%s", mosquitto_connack_string(rc));
        return;
    }
    atomic_fetch_add(&q.connected, 1);
    int r = mosquitto_subscribe(m, NULL, k->topic, 1);
    if (r != MOSQ_ERR_SUCCESS)
        yj_log(YJ_LOG_ERROR, "mqtt.subscribe_failed", "%s", mosquitto_strerror(r));
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    (void)obj;
    atomic_fetch_sub(&q.connected, 1);
    if (!atomic_load(&q.stopping) && rc != 0)
        yj_log(YJ_LOG_WARN, "mqtt.disconnected", "rc %d; reconnecting", rc);
}

/* The last topic segment, if the topic is yingji/v1/<region>/<object>/<sensor>. */
static void topic_sensor(const char *topic, char *out, size_t n)
{
    out[0] = '\0';
    int slashes = 0;
    for (const char *p = topic; *p; p++)
        slashes += *p == '/';
    if (slashes != 4)
        return;
    const char *last = strrchr(topic, '/');
    snprintf(out, n, "%s", last + 1);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    (void)obj;
    char sensor[64];
    topic_sensor(msg->topic, sensor, sizeof sensor);
    char origin[160];
    snprintf(origin, sizeof origin, "mqtt:%s", msg->topic);
    const char *data = msg->payload ? (const char *)msg->payload : "";
    size_t len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
    mon_reading *r = NULL;
    size_t n = 0;
    yj_err err;
    yj_err_clear(&err);
    yj_code drc = mon_payload_decode(data, len, sensor[0] ? sensor : NULL, &r, &n, &err);
    char detail[256];
    snprintf(detail, sizeof detail, "%s", err.message);
    /* the payload is NUL-terminated by libmosquitto (payloadlen + 1 bytes) */
    for (int attempt = 0;; attempt++) {
        yj_err e2;
        yj_err_clear(&e2);
        yj_code rc;
        if (drc != YJ_OK) {
            rc = mon_ingest_malformed(MON_SRC_MQTT, origin, data, len, detail, &e2);
        } else {
            bool any_bad = false;
            for (size_t i = 0; i < n; i++)
                any_bad = any_bad || r[i].bad;
            mon_result res;
            rc = mon_ingest(r, n, MON_SRC_MQTT, origin, NULL, any_bad ? data : NULL, &res, &e2);
        }
        if (rc == YJ_OK)
            break;
        if (atomic_load(&q.stopping) || !mon_running()) {
            /* not stored: make sure the PUBACK cannot go out */
            int fd = mosquitto_socket(m);
            if (fd >= 0)
                shutdown(fd, SHUT_RDWR);
            yj_log(YJ_LOG_WARN, "mqtt.unacked", "message on %s left for redelivery", msg->topic);
            break;
        }
        yj_log(YJ_LOG_ERROR, "mqtt.store_failed", "attempt %d: %s", attempt + 1, e2.message);
        usleep(attempt < 10 ? 100000 : 1000000);
    }
    free(r);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg);

static struct {
    char host[256];
    int port;
} broker;

/* A connection with session `id` subscribed to `topic`, started. */
static yj_code consumer_start(const char *id, const char *topic, yj_err *err)
{
    consumer *k = calloc(1, sizeof *k);
    if (k == NULL)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
    snprintf(k->id, sizeof k->id, "%s", id);
    snprintf(k->topic, sizeof k->topic, "%s", topic);
    /* clean_session = false: a persistent session keeps QoS 1 messages
     * published while nobody holds it (this process down, or a partition
     * between nodes) */
    k->m = mosquitto_new(k->id, false, k);
    if (k->m == NULL) {
        free(k);
        return yj_err_set(err, YJ_EINTERNAL, NULL, "mosquitto_new failed");
    }
    mosquitto_connect_callback_set(k->m, on_connect);
    mosquitto_disconnect_callback_set(k->m, on_disconnect);
    mosquitto_message_callback_set(k->m, on_message);
    mosquitto_reconnect_delay_set(k->m, 1, 10, false);
    mosquitto_max_inflight_messages_set(k->m, 100);
    int rc = mosquitto_connect_async(k->m, broker.host, broker.port, 30);
    if (rc != MOSQ_ERR_SUCCESS)
        yj_log(YJ_LOG_WARN, "mqtt.connect_failed", "%s; will retry", mosquitto_strerror(rc));
    rc = mosquitto_loop_start(k->m);
    if (rc != MOSQ_ERR_SUCCESS) {
        mosquitto_destroy(k->m);
        free(k);
        return yj_err_set(err, YJ_EINTERNAL, NULL, "mosquitto_loop_start: %s",
                          mosquitto_strerror(rc));
    }
    pthread_mutex_lock(&q.mu);
    if (q.n == MAX_CONSUMERS) {
        pthread_mutex_unlock(&q.mu);
        mosquitto_disconnect(k->m);
        mosquitto_loop_stop(k->m, false);
        mosquitto_destroy(k->m);
        free(k);
        return yj_err_set(err, YJ_EINVAL, NULL, "more than %d MQTT sessions", MAX_CONSUMERS);
    }
    q.c[q.n++] = k;
    pthread_mutex_unlock(&q.mu);
    return YJ_OK;
}

/* Disconnect cleanly: a message being stored is finished and acknowledged
 * first; what follows waits in the session for its next holder. */
static void consumer_stop(consumer *k)
{
    mosquitto_disconnect(k->m);
    mosquitto_loop_stop(k->m, false);
    mosquitto_destroy(k->m);
    free(k);
}

yj_code mon_mqtt_start(const mon_mqtt_config *cfg, yj_err *err)
{
    if (!q.inited) {
        mosquitto_lib_init();
        q.inited = true;
    }
    snprintf(broker.host, sizeof broker.host, "%s", cfg->host ? cfg->host : "127.0.0.1");
    broker.port = cfg->port ? cfg->port : 1883;
    atomic_store(&q.stopping, false);
    if (cfg->partitioned) {
        yj_log(YJ_LOG_INFO, "mqtt.started", "%s:%d, county partitions shared with other nodes",
               broker.host, broker.port);
        return YJ_OK; /* partition.c opens a session per county it holds */
    }
    int n = cfg->consumers > 0 ? cfg->consumers : 1;
    if (n > 64)
        n = 64;
    const char *topic = cfg->topic ? cfg->topic : "yingji/v1/#";
    /* several consumers share one subscription: the broker spreads messages */
    char sub[256];
    if (n > 1)
        snprintf(sub, sizeof sub, "$share/yingji/%s", topic);
    else
        snprintf(sub, sizeof sub, "%s", topic);
    for (int i = 0; i < n; i++) {
        char id[128];
        snprintf(id, sizeof id, "%s-%d", cfg->client_id ? cfg->client_id : "yingji-ingest", i);
        yj_code rc = consumer_start(id, sub, err);
        if (rc != YJ_OK) {
            mon_mqtt_stop();
            return rc;
        }
    }
    yj_log(YJ_LOG_INFO, "mqtt.started", "%d consumer(s) on %s:%d topic %s", n, broker.host,
           broker.port, sub);
    return YJ_OK;
}

yj_code mon_mqtt_add(const char *id, const char *topic, yj_err *err)
{
    if (!q.inited)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "MQTT not started");
    yj_code rc = consumer_start(id, topic, err);
    if (rc == YJ_OK)
        yj_log(YJ_LOG_INFO, "mqtt.session", "%s taken: %s", id, topic);
    return rc;
}

void mon_mqtt_remove(const char *id)
{
    consumer *k = NULL;
    pthread_mutex_lock(&q.mu);
    for (int i = 0; i < q.n; i++)
        if (strcmp(q.c[i]->id, id) == 0) {
            k = q.c[i];
            q.c[i] = q.c[--q.n];
            break;
        }
    pthread_mutex_unlock(&q.mu);
    if (k) {
        consumer_stop(k);
        yj_log(YJ_LOG_INFO, "mqtt.session", "%s let go", id);
    }
}

void mon_mqtt_stop(void)
{
    atomic_store(&q.stopping, true);
    for (;;) {
        pthread_mutex_lock(&q.mu);
        consumer *k = q.n ? q.c[--q.n] : NULL;
        pthread_mutex_unlock(&q.mu);
        if (k == NULL)
            break;
        consumer_stop(k);
    }
}

bool mon_mqtt_connected(void)
{
    return atomic_load(&q.connected) > 0;
}
