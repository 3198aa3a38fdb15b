/*
 * mqtt_pub.c — load generator for bench/mqtt_ingest.sh (libmosquitto, QoS 1).
 *
 * Throughput mode: --conns publisher connections (one thread each) publish
 * --total readings, --batch per message, as {"readings":[...]} on
 * yingji/v1/<region>/<object>.  Each connection owns a share of the
 * monitored objects; a message carries the next --batch sensors of one
 * object (with 100 sensors per object and --batch 100: one full scan of a
 * mine).  Timestamps are the wall clock (ms), strictly increasing per
 * sensor; values come from bench/mon_gen.h (--exceed of them trip a rule).
 * At most --inflight messages per connection wait for their PUBACK.
 * --rate R limits the whole load to R readings/s (0: as fast as it goes).
 * Prints, as key=value lines: start_ms (wall clock just before the first
 * publish), end_ms (last PUBACK), msgs, readings.
 *
 * Latency mode (--latency K): K probe readings, one at a time every
 * 1/--probe-rate s, each an exceedance (CH4 2.5 %, red) on a sensor of role
 * `probe` that has never reported, published on
 * yingji/v1/<region>/<object>/<sensor> as {"ts":now,"value":2.5}.  The
 * alarm it raises is watched for on the server's event stream
 * (GET /api/v1/events over plain HTTP/1.0, Bearer --token): latency = the
 * moment the `alarm` event with action "raised" for that sensor arrives
 * minus the moment just before mosquitto_publish() (both CLOCK_MONOTONIC in
 * this process; --lat-log FILE writes each probe's send offset and latency).
 * It spans broker -> yingji consumer -> decode -> rule
 * evaluation -> durable commit -> event bus -> SSE -> this client.  With
 * --rate R > 0 the --conns connections publish normal load at R readings/s
 * meanwhile.  Prints lat_n, lat_lost, lat_p50_ms, lat_p99_ms, lat_max_ms.
 *
 * Sensor list (--list, written by ingest_inproc --create-db):
 *   id <TAB> code <TAB> region <TAB> object <TAB> type <TAB> load|probe
 */
#include "mon_gen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <mosquitto.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    long id;
    char code[24], region[16], object[24];
    gen_type type;
    bool probe;
    int64_t last_ts;
} sensor;

typedef struct {
    size_t first, n, next; /* sensors [first, first + n) of the list */
} object;

static sensor *sensors;
static size_t nsensors;
static object *objects;
static size_t nobjects;

static const char *host = "127.0.0.1";
static int port = 1883;
static size_t total = 100000, batch = 100, nconns = 4, inflight = 50;
static double rate, exceed = 0.001;

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "mqtt_pub: %s: %s\n", what, why);
    exit(1);
}

static void load_list(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        die(path, strerror(errno));
    size_t cap = 0, ocap = 0;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (nsensors == cap) {
            cap = cap ? cap * 2 : 1024;
            sensors = realloc(sensors, cap * sizeof *sensors);
            if (sensors == NULL)
                die("list", "out of memory");
        }
        sensor *s = &sensors[nsensors];
        memset(s, 0, sizeof *s);
        char type[64], role[16];
        if (sscanf(line, "%ld\t%23s\t%15s\t%23s\t%63s\t%15s", &s->id, s->code, s->region, s->object,
                   type, role) != 6)
            die(path, "bad line");
        s->type = gen_type_by_label(type);
        s->probe = strcmp(role, "probe") == 0;
        if (!s->probe && (nobjects == 0 ||
                          strcmp(sensors[objects[nobjects - 1].first].object, s->object) != 0)) {
            if (nobjects == ocap) {
                ocap = ocap ? ocap * 2 : 256;
                objects = realloc(objects, ocap * sizeof *objects);
                if (objects == NULL)
                    die("list", "out of memory");
            }
            objects[nobjects++] = (object){nsensors, 0, 0};
        }
        if (!s->probe)
            objects[nobjects - 1].n++;
        nsensors++;
    }
    fclose(f);
}

/* ---- one publisher connection ------------------------------------------------ */

typedef struct {
    struct mosquitto *m;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t pending;
    bool connected;
    int connect_rc;
} conn;

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    conn *c = obj;
    pthread_mutex_lock(&c->mu);
    c->connected = rc == 0;
    c->connect_rc = rc;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void on_publish(struct mosquitto *m, void *obj, int mid)
{
    (void)m;
    (void)mid;
    conn *c = obj;
    pthread_mutex_lock(&c->mu);
    c->pending--;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void conn_open(conn *c, const char *id)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->connect_rc = -1;
    c->m = mosquitto_new(id, true, c);
    if (c->m == NULL)
        die("mosquitto_new", strerror(errno));
    mosquitto_connect_callback_set(c->m, on_connect);
    mosquitto_publish_callback_set(c->m, on_publish);
    mosquitto_max_inflight_messages_set(c->m, (unsigned)inflight);
    int rc = mosquitto_connect(c->m, host, port, 60);
    if (rc != MOSQ_ERR_SUCCESS)
        die("connect", mosquitto_strerror(rc));
    if ((rc = mosquitto_loop_start(c->m)) != MOSQ_ERR_SUCCESS)
        die("loop_start", mosquitto_strerror(rc));
    pthread_mutex_lock(&c->mu);
    while (c->connect_rc < 0)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    if (!c->connected)
        die("connect", mosquitto_connack_string(c->connect_rc));
}

static void conn_publish(conn *c, const char *topic, const char *payload, size_t len)
{
    pthread_mutex_lock(&c->mu);
    while (c->pending >= inflight)
        pthread_cond_wait(&c->cv, &c->mu);
    c->pending++;
    pthread_mutex_unlock(&c->mu);
    int rc = mosquitto_publish(c->m, NULL, topic, (int)len, payload, 1, false);
    if (rc != MOSQ_ERR_SUCCESS)
        die("publish", mosquitto_strerror(rc));
}

static void conn_drain_close(conn *c)
{
    pthread_mutex_lock(&c->mu);
    while (c->pending > 0)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    mosquitto_disconnect(c->m);
    mosquitto_loop_stop(c->m, false);
    mosquitto_destroy(c->m);
}

/* ---- load ---------------------------------------------------------------------- */

static atomic_bool stop_load;
static atomic_llong sent_msgs, sent_readings;

typedef struct {
    size_t idx;
    conn c;
    size_t quota; /* readings to send (0 with stop_load: until told) */
    bool until_stopped;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    uint64_t rng = 0x9E3779B97F4A7C15ULL ^ (w->idx * 0x100000001B3ULL);
    size_t cap = batch * 96 + 64;
    char *buf = malloc(cap);
    if (buf == NULL)
        die("worker", "out of memory");
    double per_conn_rate = rate > 0 ? rate / (double)nconns : 0;
    double t0 = mono_s();
    size_t sent = 0, o = w->idx;
    if (o >= nobjects)
        die("worker", "more connections than monitored objects");
    while (w->until_stopped ? !atomic_load(&stop_load) : sent < w->quota) {
        object *ob = &objects[o];
        o += nconns;
        if (o >= nobjects)
            o = w->idx;
        size_t n = batch;
        if (!w->until_stopped && w->quota - sent < n)
            n = w->quota - sent;
        if (per_conn_rate > 0) { /* open-loop schedule */
            double due = t0 + (double)sent / per_conn_rate;
            double now = mono_s();
            if (due > now)
                usleep((useconds_t)((due - now) * 1e6));
        }
        int64_t now_ms = wall_ms();
        size_t len = (size_t)snprintf(buf, cap, "{\"readings\":[");
        for (size_t k = 0; k < n; k++) {
            sensor *s = &sensors[ob->first + ob->next];
            ob->next = (ob->next + 1) % ob->n;
            int64_t ts = now_ms > s->last_ts ? now_ms : s->last_ts + 1;
            s->last_ts = ts;
            len += (size_t)snprintf(
                buf + len, cap - len, "%s{\"sensor\":\"%s\",\"ts\":%lld,\"value\":%.3f}",
                k ? "," : "", s->code, (long long)ts, gen_value(s->type, exceed, &rng));
        }
        len += (size_t)snprintf(buf + len, cap - len, "]}");
        char topic[96];
        snprintf(topic, sizeof topic, "yingji/v1/%s/%s", sensors[ob->first].region,
                 sensors[ob->first].object);
        conn_publish(&w->c, topic, buf, len);
        sent += n;
        atomic_fetch_add(&sent_msgs, 1);
        atomic_fetch_add(&sent_readings, (long long)n);
    }
    free(buf);
    conn_drain_close(&w->c);
    return NULL;
}

/* ---- latency: event stream reader ------------------------------------------------- */

static double *probe_sent; /* by sensor id: monotonic send time, 0 = not sent */
static double *probe_lat;  /* by sensor id: latency (s), 0 = not seen */
static long max_id;
static pthread_mutex_t lat_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool sse_ready, sse_stop;

typedef struct {
    int fd;
} sse_ctx;

static int http_connect(const char *hostport)
{
    char h[256];
    snprintf(h, sizeof h, "%s", hostport);
    char *colon = strrchr(h, ':');
    if (colon == NULL)
        die("--http", "want HOST:PORT");
    *colon = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(h, colon + 1, &hints, &ai) != 0)
        die("--http", "cannot resolve");
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
        die("--http", strerror(errno));
    freeaddrinfo(ai);
    return fd;
}

/* One SSE "data:" line: {"id":..,"action":"raised",...,"sensor_id":N} */
static void sse_data(const char *json, double at)
{
    const char *a = strstr(json, "\"action\":\"raised\"");
    const char *s = strstr(json, "\"sensor_id\":");
    if (a == NULL || s == NULL)
        return;
    long id = strtol(s + 12, NULL, 10);
    if (id <= 0 || id > max_id)
        return;
    pthread_mutex_lock(&lat_mu);
    if (probe_sent[id] > 0 && probe_lat[id] == 0)
        probe_lat[id] = at - probe_sent[id];
    pthread_mutex_unlock(&lat_mu);
}

static void *sse_main(void *arg)
{
    sse_ctx *x = arg;
    char buf[65536];
    size_t have = 0;
    bool header_done = false;
    while (!atomic_load(&sse_stop)) {
        ssize_t r = recv(x->fd, buf + have, sizeof buf - 1 - have, 0);
        if (r <= 0)
            break;
        double at = mono_s();
        have += (size_t)r;
        buf[have] = '\0';
        char *p = buf;
        if (!header_done) {
            char *end = strstr(buf, "\r\n\r\n");
            if (end == NULL)
                continue;
            if (strncmp(buf, "HTTP/1.", 7) != 0 || strncmp(buf + 9, "200", 3) != 0) {
                fprintf(stderr, "mqtt_pub: event stream refused: %.*s\n", (int)(end - buf), buf);
                exit(1);
            }
            header_done = true;
            p = end + 4;
        }
        char *nl;
        while ((nl = strchr(p, '\n')) != NULL) {
            *nl = '\0';
            if (strncmp(p, ": connected", 11) == 0)
                atomic_store(&sse_ready, true);
            else if (strncmp(p, "data: ", 6) == 0)
                sse_data(p + 6, at);
            p = nl + 1;
        }
        have = (size_t)(buf + have - p);
        memmove(buf, p, have);
        if (have >= sizeof buf - 1)
            have = 0; /* a line longer than the buffer: not ours */
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int run_latency(size_t k, const char *http, const char *token, double probe_rate,
                       const char *lat_log)
{
    for (size_t i = 0; i < nsensors; i++)
        if (sensors[i].id > max_id)
            max_id = sensors[i].id;
    probe_sent = calloc((size_t)max_id + 1, sizeof *probe_sent);
    probe_lat = calloc((size_t)max_id + 1, sizeof *probe_lat);
    size_t *probes = malloc(nsensors * sizeof *probes), np = 0;
    if (!probe_sent || !probe_lat || !probes)
        die("latency", "out of memory");
    for (size_t i = 0; i < nsensors; i++)
        if (sensors[i].probe)
            probes[np++] = i;
    if (np < k)
        die("--latency", "fewer probe sensors in the list than probes asked for");

    sse_ctx x = {http_connect(http)};
    char req[1024];
    int rl = snprintf(req, sizeof req,
                      "GET /api/v1/events HTTP/1.0\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                      "Accept: text/event-stream\r\n\r\n",
                      http, token);
    if (send(x.fd, req, (size_t)rl, 0) != rl)
        die("event stream", strerror(errno));
    pthread_t sse;
    pthread_create(&sse, NULL, sse_main, &x);
    for (int i = 0; i < 500 && !atomic_load(&sse_ready); i++)
        usleep(10000);
    if (!atomic_load(&sse_ready))
        die("event stream", "no greeting in 5 s");

    /* background load, if asked */
    worker *ws = NULL;
    pthread_t *wt = NULL;
    if (rate > 0) {
        ws = calloc(nconns, sizeof *ws);
        wt = calloc(nconns, sizeof *wt);
        for (size_t i = 0; i < nconns; i++) {
            char id[64];
            snprintf(id, sizeof id, "bench-pub-%d-%zu", (int)getpid(), i);
            ws[i].idx = i;
            ws[i].until_stopped = true;
            conn_open(&ws[i].c, id);
            pthread_create(&wt[i], NULL, worker_main, &ws[i]);
        }
        sleep(1); /* let the load settle */
    }

    conn pc;
    char pid[64];
    snprintf(pid, sizeof pid, "bench-probe-%d", (int)getpid());
    conn_open(&pc, pid);
    double t0 = mono_s();
    for (size_t i = 0; i < k; i++) {
        double due = t0 + (double)i / probe_rate, now = mono_s();
        if (due > now)
            usleep((useconds_t)((due - now) * 1e6));
        sensor *s = &sensors[probes[i]];
        char topic[128], payload[96];
        snprintf(topic, sizeof topic, "yingji/v1/%s/%s/%s", s->region, s->object, s->code);
        int len =
            snprintf(payload, sizeof payload, "{\"ts\":%lld,\"value\":2.5}", (long long)wall_ms());
        pthread_mutex_lock(&lat_mu);
        probe_sent[s->id] = mono_s();
        pthread_mutex_unlock(&lat_mu);
        conn_publish(&pc, topic, payload, (size_t)len);
    }
    /* wait for the last alarms (at most 10 s) */
    for (int w = 0; w < 1000; w++) {
        size_t seen = 0;
        pthread_mutex_lock(&lat_mu);
        for (size_t i = 0; i < k; i++)
            seen += probe_lat[sensors[probes[i]].id] > 0;
        pthread_mutex_unlock(&lat_mu);
        if (seen == k)
            break;
        usleep(10000);
    }
    atomic_store(&stop_load, true);
    for (size_t i = 0; ws && i < nconns; i++)
        pthread_join(wt[i], NULL);
    conn_drain_close(&pc);
    atomic_store(&sse_stop, true);
    shutdown(x.fd, SHUT_RDWR);
    pthread_join(sse, NULL);
    close(x.fd);

    if (lat_log) { /* per probe: seconds since the first, latency ms (-1: lost) */
        FILE *f = fopen(lat_log, "w");
        for (size_t i = 0; f && i < k; i++) {
            long id = sensors[probes[i]].id;
            fprintf(f, "%.3f\t%.2f\n", probe_sent[id] - t0,
                    probe_lat[id] > 0 ? probe_lat[id] * 1000.0 : -1.0);
        }
        if (f)
            fclose(f);
    }
    double *lat = malloc(k * sizeof *lat);
    size_t n = 0;
    for (size_t i = 0; i < k; i++)
        if (probe_lat[sensors[probes[i]].id] > 0)
            lat[n++] = probe_lat[sensors[probes[i]].id] * 1000.0;
    qsort(lat, n, sizeof *lat, cmp_double);
    /* nearest-rank percentiles */
    double p50 = n ? lat[(size_t)ceil(0.50 * (double)n) - 1] : NAN;
    double p99 = n ? lat[(size_t)ceil(0.99 * (double)n) - 1] : NAN;
    printf("lat_n=%zu\nlat_lost=%zu\nlat_p50_ms=%.2f\nlat_p99_ms=%.2f\nlat_max_ms=%.2f\n"
           "bg_readings=%lld\n",
           n, k - n, p50, p99, n ? lat[n - 1] : NAN, (long long)atomic_load(&sent_readings));
    free(lat);
    free(probes);
    free(ws);
    free(wt);
    return n == k ? 0 : 1;
}

/* ---- main ------------------------------------------------------------------------- */

static const char *arg(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return def;
}

int main(int argc, char **argv)
{
    host = arg(argc, argv, "--host", host);
    port = atoi(arg(argc, argv, "--port", "1883"));
    total = strtoul(arg(argc, argv, "--total", "100000"), NULL, 10);
    batch = strtoul(arg(argc, argv, "--batch", "100"), NULL, 10);
    nconns = strtoul(arg(argc, argv, "--conns", "4"), NULL, 10);
    inflight = strtoul(arg(argc, argv, "--inflight", "50"), NULL, 10);
    rate = strtod(arg(argc, argv, "--rate", "0"), NULL);
    exceed = strtod(arg(argc, argv, "--exceed", "0.001"), NULL);
    const char *list = arg(argc, argv, "--list", NULL);
    size_t lat = strtoul(arg(argc, argv, "--latency", "0"), NULL, 10);
    if (list == NULL || batch == 0 || nconns == 0 || inflight == 0)
        die("usage", "mqtt_pub --list FILE [--host H] [--port P] [--total N] [--batch N] "
                     "[--conns N] [--inflight N] [--rate R] [--exceed P] "
                     "[--latency K --http HOST:PORT --token T [--probe-rate R]]");
    load_list(list);
    if (nobjects == 0)
        die(list, "no load sensors");
    mosquitto_lib_init();
    int rc;
    if (lat > 0) {
        const char *http = arg(argc, argv, "--http", NULL),
                   *token = arg(argc, argv, "--token", NULL);
        if (http == NULL || token == NULL)
            die("--latency", "needs --http HOST:PORT and --token T");
        rc = run_latency(lat, http, token, strtod(arg(argc, argv, "--probe-rate", "20"), NULL),
                         arg(argc, argv, "--lat-log", NULL));
    } else {
        worker *ws = calloc(nconns, sizeof *ws);
        pthread_t *wt = calloc(nconns, sizeof *wt);
        if (!ws || !wt)
            die("main", "out of memory");
        for (size_t i = 0; i < nconns; i++) {
            char id[64];
            snprintf(id, sizeof id, "bench-pub-%d-%zu", (int)getpid(), i);
            ws[i].idx = i;
            ws[i].quota = total / nconns + (i < total % nconns);
            conn_open(&ws[i].c, id);
        }
        int64_t start = wall_ms();
        for (size_t i = 0; i < nconns; i++)
            pthread_create(&wt[i], NULL, worker_main, &ws[i]);
        for (size_t i = 0; i < nconns; i++)
            pthread_join(wt[i], NULL);
        int64_t end = wall_ms();
        printf("start_ms=%lld\nend_ms=%lld\nmsgs=%lld\nreadings=%lld\n", (long long)start,
               (long long)end, (long long)atomic_load(&sent_msgs),
               (long long)atomic_load(&sent_readings));
        free(ws);
        free(wt);
        rc = 0;
    }
    mosquitto_lib_cleanup();
    return rc;
}
