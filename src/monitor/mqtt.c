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

#define MAX_CONSUMERS 16

static struct {
    struct mosquitto *m[MAX_CONSUMERS];
    int n;
    char topic[256];
    atomic_bool stopping;
    atomic_int connected;
} q;

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    (void)obj;
    if (rc != 0) {
        yj_log(YJ_LOG_WARN, "mqtt.connect_refused", "%s", mosquitto_connack_string(rc));
        return;
    }
    atomic_fetch_add(&q.connected, 1);
    int r = mosquitto_subscribe(m, NULL, q.topic, 1);
    if (r != MOSQ_ERR_SUCCESS)
        yj_log(YJ_LOG_ERROR, "mqtt.subscribe_failed", "%s", mosquitto_strerror(r));
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    (void)obj;
    atomic_fetch_sub(&q.connected, 1);
    if (!atomic_load(&q.stopping))
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

yj_code mon_mqtt_start(const mon_mqtt_config *cfg, yj_err *err)
{
    static bool inited;
    if (!inited) {
        mosquitto_lib_init();
        inited = true;
    }
    int n = cfg->consumers > 0 ? cfg->consumers : 1;
    if (n > MAX_CONSUMERS)
        n = MAX_CONSUMERS;
    const char *topic = cfg->topic ? cfg->topic : "yingji/v1/#";
    /* several consumers share one subscription: the broker spreads messages */
    if (n > 1)
        snprintf(q.topic, sizeof q.topic, "$share/yingji/%s", topic);
    else
        snprintf(q.topic, sizeof q.topic, "%s", topic);
    atomic_store(&q.stopping, false);
    for (int i = 0; i < n; i++) {
        char id[128];
        snprintf(id, sizeof id, "%s-%d", cfg->client_id ? cfg->client_id : "yingji-ingest", i);
        /* clean_session = false: a persistent session keeps QoS 1 messages
         * published while we are down */
        struct mosquitto *m = mosquitto_new(id, false, NULL);
        if (m == NULL) {
            mon_mqtt_stop();
            return yj_err_set(err, YJ_EINTERNAL, NULL, "mosquitto_new failed");
        }
        mosquitto_connect_callback_set(m, on_connect);
        mosquitto_disconnect_callback_set(m, on_disconnect);
        mosquitto_message_callback_set(m, on_message);
        mosquitto_reconnect_delay_set(m, 1, 10, false);
        mosquitto_max_inflight_messages_set(m, 100);
        int rc = mosquitto_connect_async(m, cfg->host ? cfg->host : "127.0.0.1",
                                         cfg->port ? cfg->port : 1883, 30);
        if (rc != MOSQ_ERR_SUCCESS)
            yj_log(YJ_LOG_WARN, "mqtt.connect_failed", "%s; will retry", mosquitto_strerror(rc));
        q.m[q.n++] = m;
        rc = mosquitto_loop_start(m);
        if (rc != MOSQ_ERR_SUCCESS) {
            mon_mqtt_stop();
            return yj_err_set(err, YJ_EINTERNAL, NULL, "mosquitto_loop_start: %s",
                              mosquitto_strerror(rc));
        }
    }
    yj_log(YJ_LOG_INFO, "mqtt.started", "%d consumer(s) on %s:%d topic %s", n,
           cfg->host ? cfg->host : "127.0.0.1", cfg->port ? cfg->port : 1883, q.topic);
    return YJ_OK;
}

void mon_mqtt_stop(void)
{
    atomic_store(&q.stopping, true);
    for (int i = 0; i < q.n; i++) {
        mosquitto_disconnect(q.m[i]);
        mosquitto_loop_stop(q.m[i], false);
        mosquitto_destroy(q.m[i]);
        q.m[i] = NULL;
    }
    q.n = 0;
}

bool mon_mqtt_connected(void)
{
    return atomic_load(&q.connected) > 0;
}
