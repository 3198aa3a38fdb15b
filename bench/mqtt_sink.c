/*
 * mqtt_sink.c — the baseline subscriber of bench/mqtt_ingest.sh.
 *
 * Subscribes like yingji does (QoS 1, persistent session, --consumers
 * connections on a shared subscription when more than one) and throws the
 * messages away: it only counts them and the readings in them (occurrences
 * of "sensor" keys).  The PUBACK goes out when the callback returns, i.e. at
 * once.  What it reaches is what the broker can deliver on this machine
 * with the same publisher load: the ceiling for yingji's ingest.
 *
 * Prints "ready" once every connection has its SUBACK, then, when
 * --expect readings have arrived (or --timeout s passed), key=value lines:
 * first_ms / last_ms (wall clock of the first and last message), msgs,
 * readings.  Exit status 1 on timeout.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <errno.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONSUMERS 16

static atomic_llong msgs, readings, first_ms, last_ms;
static atomic_int subscribed;
static long long expect;
static char topic[256];

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    (void)obj;
    if (rc != 0) {
        fprintf(stderr, "mqtt_sink: connect refused: %s\n", mosquitto_connack_string(rc));
        exit(1);
    }
    mosquitto_subscribe(m, NULL, topic, 1);
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *qos)
{
    (void)m;
    (void)obj;
    (void)mid;
    (void)n;
    (void)qos;
    atomic_fetch_add(&subscribed, 1);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    (void)m;
    (void)obj;
    long long n = 0;
    const char *p = msg->payload, *end = p + (msg->payloadlen > 0 ? msg->payloadlen : 0);
    static const char key[] = "\"sensor\"";
    while (p < end && (p = memmem(p, (size_t)(end - p), key, sizeof key - 1)) != NULL) {
        n++;
        p += sizeof key - 1;
    }
    int64_t now = wall_ms();
    long long zero = 0;
    atomic_compare_exchange_strong(&first_ms, &zero, now);
    atomic_store(&last_ms, now);
    atomic_fetch_add(&msgs, 1);
    atomic_fetch_add(&readings, n);
}

static const char *arg(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return def;
}

int main(int argc, char **argv)
{
    const char *host = arg(argc, argv, "--host", "127.0.0.1");
    int port = atoi(arg(argc, argv, "--port", "1883"));
    int n = atoi(arg(argc, argv, "--consumers", "1"));
    expect = atoll(arg(argc, argv, "--expect", "0"));
    double timeout = strtod(arg(argc, argv, "--timeout", "600"), NULL);
    if (n < 1 || n > MAX_CONSUMERS || expect <= 0) {
        fprintf(stderr, "usage: mqtt_sink --expect READINGS [--host H] [--port P] "
                        "[--consumers 1..16] [--timeout S]\n");
        return 2;
    }
    if (n > 1)
        snprintf(topic, sizeof topic, "$share/sink/yingji/v1/#");
    else
        snprintf(topic, sizeof topic, "yingji/v1/#");
    mosquitto_lib_init();
    struct mosquitto *m[MAX_CONSUMERS];
    for (int i = 0; i < n; i++) {
        char id[64];
        snprintf(id, sizeof id, "bench-sink-%d-%d", (int)getpid(), i);
        m[i] = mosquitto_new(id, false, NULL); /* persistent session, as yingji */
        if (m[i] == NULL) {
            fprintf(stderr, "mqtt_sink: mosquitto_new: %s\n", strerror(errno));
            return 1;
        }
        mosquitto_connect_callback_set(m[i], on_connect);
        mosquitto_subscribe_callback_set(m[i], on_subscribe);
        mosquitto_message_callback_set(m[i], on_message);
        mosquitto_max_inflight_messages_set(m[i], 100); /* as yingji's consumers */
        int rc = mosquitto_connect(m[i], host, port, 30);
        if (rc == MOSQ_ERR_SUCCESS)
            rc = mosquitto_loop_start(m[i]);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "mqtt_sink: %s:%d: %s\n", host, port, mosquitto_strerror(rc));
            return 1;
        }
    }
    int64_t t0 = wall_ms();
    while (atomic_load(&subscribed) < n) {
        if (wall_ms() - t0 > 10000) {
            fprintf(stderr, "mqtt_sink: no SUBACK in 10 s\n");
            return 1;
        }
        usleep(1000);
    }
    printf("ready\n");
    fflush(stdout);
    t0 = wall_ms();
    int rc = 0;
    while (atomic_load(&readings) < expect) {
        if ((double)(wall_ms() - t0) > timeout * 1000) {
            fprintf(stderr, "mqtt_sink: timeout with %lld of %lld readings\n",
                    (long long)atomic_load(&readings), expect);
            rc = 1;
            break;
        }
        usleep(1000);
    }
    printf("first_ms=%lld\nlast_ms=%lld\nmsgs=%lld\nreadings=%lld\n",
           (long long)atomic_load(&first_ms), (long long)atomic_load(&last_ms),
           (long long)atomic_load(&msgs), (long long)atomic_load(&readings));
    fflush(stdout);
    for (int i = 0; i < n; i++) {
        mosquitto_disconnect(m[i]);
        mosquitto_loop_stop(m[i], false);
        mosquitto_destroy(m[i]);
    }
    mosquitto_lib_cleanup();
    return rc;
}
