/*
 * gateway_sim.c — `yingji gateway-sim`: a stand-in for the SMS, voice-call
 * and push gateways and for village broadcast terminals, for tests and
 * the demo.  Real deployments point --sms-gateway etc. at their carriers.
 *
 * It speaks the platform's gateway protocol (docs/warnings.md): every POST
 * (any path) is a message {"id", "channel", "to", "text", "must_ack",
 * "callback", ...} with "Authorization: Bearer <token>".  It records every
 * request (GET /requests lists them, GET /stats counts them) and answers
 * 200, or 500 when a rule says this attempt fails.  Then, after --delay-ms,
 * it calls back in one batch: a delivery receipt for every accepted
 * message, and for a message that must be answered and whose recipient
 * the rules say answers, an SMS reply "1" (channel sms) or a voice answer
 * (channel voice).  The rules are deterministic, by the recipient's number:
 *   --fail-digits D     numbers ending in one of the digits D fail their
 *                       first attempt on each channel (then succeed)
 *   --answer-digits D   numbers ending in one of D answer (default 0-9)
 *   --answer-share P    or: a share P of numbers answer (by a hash)
 *   --silent-channels C these channels never trigger an answer (e.g. sms,
 *                       so only the voice call gets answered)
 * With --mqtt HOST:PORT it also plays the broadcast terminals: every
 * command on yingji/v1/broadcast/<code> is confirmed on <topic>/ack,
 * except terminals whose code ends in one of --dead-terminals D.
 */
#include "gateway_sim.h"
#include "../core/buf.h"
#include "../core/util.h"

#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <mosquitto.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
    char token[128], fail_digits[16], answer_digits[16], silent[64], dead[16];
    double answer_share;
    int delay_ms, latency_ms;
    bool receipt_first; /* post the receipt before answering the message */
    int in_flight;      /* messages being answered now; stats "max_in_flight" */
    pthread_mutex_t mu;
    json_t *requests;    /* every request, in order */
    json_t *attempts;    /* "<id>/<channel>" -> attempts */
    json_t *pending;     /* callback url -> [events] */
    json_t *plays;       /* loudspeaker commands to confirm: [{topic, id}] */
    json_t *stats;       /* counters */
    struct mosquitto *m; /* terminals */
    volatile sig_atomic_t stop;
} G = {.mu = PTHREAD_MUTEX_INITIALIZER, .answer_share = -1};

static bool ends_in(const char *s, const char *digits)
{
    size_t n = s ? strlen(s) : 0;
    return n && digits[0] && strchr(digits, s[n - 1]) != NULL;
}

static bool answers(const char *to)
{
    if (G.answer_share >= 0) {
        uint64_t h = 1469598103934665603u;
        for (const char *p = to; p && *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211u;
        return (double)(h % 10000) / 10000.0 < G.answer_share;
    }
    return ends_in(to, G.answer_digits);
}

static void bump(const char *key)
{
    json_object_set_new(G.stats, key,
                        json_integer(json_integer_value(json_object_get(G.stats, key)) + 1));
}

static void queue_event(const char *callback, json_t *ev)
{
    json_t *list = json_object_get(G.pending, callback);
    if (list == NULL) {
        list = json_array();
        json_object_set_new(G.pending, callback, list);
    }
    json_array_append_new(list, ev);
}

static void post_events(const char *url, json_t *events);

/* One message; returns the HTTP status to answer. */
static int handle_message(const char *body, size_t len, const char *auth)
{
    if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0 || strcmp(auth + 7, G.token) != 0)
        return 401;
    json_t *m = json_loadb(body, len, 0, NULL);
    if (!json_is_object(m)) {
        json_decref(m);
        return 400;
    }
    const char *to = json_string_value(json_object_get(m, "to"));
    const char *channel = json_string_value(json_object_get(m, "channel"));
    json_int_t id = json_integer_value(json_object_get(m, "id"));
    const char *callback = json_string_value(json_object_get(m, "callback"));
    bool must_ack = json_is_true(json_object_get(m, "must_ack"));
    if (to == NULL || channel == NULL || id <= 0) {
        json_decref(m);
        return 400;
    }
    /* a real gateway takes its time to answer: how many messages the
     * platform has in flight at once shows in /stats */
    pthread_mutex_lock(&G.mu);
    G.in_flight++;
    if (G.in_flight > json_integer_value(json_object_get(G.stats, "max_in_flight")))
        json_object_set_new(G.stats, "max_in_flight", json_integer(G.in_flight));
    pthread_mutex_unlock(&G.mu);
    if (G.latency_ms > 0)
        usleep((useconds_t)G.latency_ms * 1000);
    pthread_mutex_lock(&G.mu);
    G.in_flight--;
    char key[64];
    snprintf(key, sizeof key, "%lld/%s", (long long)id, channel);
    json_int_t n = json_integer_value(json_object_get(G.attempts, key)) + 1;
    json_object_set_new(G.attempts, key, json_integer(n));
    bool fail = n == 1 && ends_in(to, G.fail_digits);
    json_object_set_new(m, "attempt", json_integer(n));
    json_object_set_new(m, "answered_with", json_string(fail ? "500" : "200"));
    json_object_set_new(m, "at", json_integer(yj_now_ms()));
    json_array_append(G.requests, m);
    bump(channel);
    if (fail) {
        bump("failed");
    } else if (callback && callback[0]) {
        json_t *receipt =
            json_pack("{s:s,s:I,s:s}", "type", "receipt", "id", id, "status", "delivered");
        if (G.receipt_first) { /* the platform hears of it before the send returns */
            json_t *one = json_pack("[o]", receipt);
            pthread_mutex_unlock(&G.mu);
            post_events(callback, one);
            json_decref(one);
            pthread_mutex_lock(&G.mu);
        } else {
            queue_event(callback, receipt);
        }
        if (must_ack && answers(to) && !strstr(G.silent, channel)) {
            if (strcmp(channel, "voice") == 0)
                queue_event(callback, json_pack("{s:s,s:I}", "type", "answer", "id", id));
            else
                queue_event(callback,
                            json_pack("{s:s,s:s,s:s}", "type", "reply", "from", to, "text", "1"));
            bump("answered");
        }
    }
    pthread_mutex_unlock(&G.mu);
    json_decref(m);
    return fail ? 500 : 200;
}

/* ---- HTTP (libmicrohttpd) ------------------------------------------------------- */

typedef struct {
    yj_buf body;
} conn_ctx;

static enum MHD_Result respond(struct MHD_Connection *c, int status, char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *data,
                                 size_t *size, void **con_cls)
{
    (void)cls;
    (void)version;
    conn_ctx *ctx = *con_cls;
    if (ctx == NULL) {
        ctx = calloc(1, sizeof *ctx);
        if (ctx == NULL)
            return MHD_NO;
        yj_buf_init(&ctx->body);
        *con_cls = ctx;
        return MHD_YES;
    }
    if (*size) {
        if (ctx->body.len < (1u << 20))
            yj_buf_append(&ctx->body, data, *size);
        *size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") == 0) {
        pthread_mutex_lock(&G.mu);
        char *out = json_dumps(strcmp(url, "/stats") == 0 ? G.stats : G.requests, JSON_COMPACT);
        pthread_mutex_unlock(&G.mu);
        return respond(conn, 200, out ? out : strdup("null"));
    }
    if (strcmp(method, "DELETE") == 0) { /* tests: forget what was recorded */
        pthread_mutex_lock(&G.mu);
        json_array_clear(G.requests);
        json_object_clear(G.stats);
        pthread_mutex_unlock(&G.mu);
        return respond(conn, 200, strdup("{}"));
    }
    int st = handle_message(ctx->body.data ? ctx->body.data : "", ctx->body.len,
                            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"));
    char *out = strdup(st == 200 ? "{\"accepted\":true}" : "{\"accepted\":false}");
    return respond(conn, st, out);
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    conn_ctx *ctx = *con_cls;
    if (ctx) {
        yj_buf_free(&ctx->body);
        free(ctx);
    }
}

/* ---- callbacks ------------------------------------------------------------------------ */

static void post_events(const char *url, json_t *events)
{
    CURL *h = curl_easy_init();
    if (h == NULL)
        return;
    json_t *body = json_pack("{s:O}", "events", events);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char auth[160];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", G.token);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, auth);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    FILE *devnull = fopen("/dev/null", "w");
    if (devnull)
        curl_easy_setopt(h, CURLOPT_WRITEDATA, devnull);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK || status != 200)
        fprintf(stderr, "gateway-sim: callback %s: %s (HTTP %ld)\n", url, curl_easy_strerror(cc),
                status);
    if (devnull)
        fclose(devnull);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    free(text);
}

static void confirm_plays(json_t *plays);

static void *callback_main(void *arg)
{
    (void)arg;
    while (!G.stop) {
        usleep((useconds_t)(G.delay_ms > 0 ? G.delay_ms : 20) * 1000);
        pthread_mutex_lock(&G.mu);
        json_t *batch = G.pending, *plays = G.plays;
        G.pending = json_object();
        G.plays = json_array();
        pthread_mutex_unlock(&G.mu);
        confirm_plays(plays);
        json_decref(plays);
        const char *url;
        json_t *events;
        json_object_foreach(batch, url, events)
            post_events(url, events);
        json_decref(batch);
    }
    return NULL;
}

/* ---- terminals ------------------------------------------------------------------------------ */

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    (void)obj;
    if (rc == 0)
        mosquitto_subscribe(m, NULL, "yingji/v1/broadcast/#", 1);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    (void)obj;
    size_t tl = strlen(msg->topic);
    if (tl > 4 && strcmp(msg->topic + tl - 4, "/ack") == 0)
        return;
    json_t *cmd =
        msg->payloadlen > 0 ? json_loadb(msg->payload, (size_t)msg->payloadlen, 0, NULL) : NULL;
    json_t *id = json_object_get(cmd, "delivery");
    pthread_mutex_lock(&G.mu);
    bump("broadcast");
    pthread_mutex_unlock(&G.mu);
    if (json_is_integer(id) && !ends_in(msg->topic, G.dead)) {
        /* played: confirmed with the next batch of callbacks (after the
         * delay), not by sleeping here, which would play one at a time */
        char topic[300];
        snprintf(topic, sizeof topic, "%s/ack", msg->topic);
        pthread_mutex_lock(&G.mu);
        json_array_append_new(G.plays, json_pack("{s:s,s:O}", "topic", topic, "id", id));
        pthread_mutex_unlock(&G.mu);
    }
    json_decref(cmd);
    (void)m;
}

/* Confirm the loudspeakers that played since the last round. */
static void confirm_plays(json_t *plays)
{
    size_t i;
    json_t *p;
    json_array_foreach(plays, i, p) {
        char payload[64];
        snprintf(payload, sizeof payload, "{\"delivery\":%lld,\"played\":true}",
                 (long long)json_integer_value(json_object_get(p, "id")));
        const char *topic = json_string_value(json_object_get(p, "topic"));
        mosquitto_publish(G.m, NULL, topic, (int)strlen(payload), payload, 1, false);
        pthread_mutex_lock(&G.mu);
        bump("played");
        pthread_mutex_unlock(&G.mu);
    }
}

static void on_signal(int sig)
{
    (void)sig;
    G.stop = 1;
}

int gateway_sim_run(const gateway_sim_config *cfg)
{
    snprintf(G.token, sizeof G.token, "%s", cfg->token);
    snprintf(G.fail_digits, sizeof G.fail_digits, "%s", cfg->fail_digits ? cfg->fail_digits : "");
    snprintf(G.answer_digits, sizeof G.answer_digits, "%s",
             cfg->answer_digits ? cfg->answer_digits : "0123456789");
    snprintf(G.silent, sizeof G.silent, "%s", cfg->silent_channels ? cfg->silent_channels : "");
    snprintf(G.dead, sizeof G.dead, "%s", cfg->dead_terminals ? cfg->dead_terminals : "");
    G.answer_share = cfg->answer_share;
    G.delay_ms = cfg->delay_ms;
    G.latency_ms = cfg->latency_ms;
    G.receipt_first = cfg->receipt_first;
    G.requests = json_array();
    G.attempts = json_object();
    G.pending = json_object();
    G.plays = json_array();
    G.stats = json_object();
    curl_global_init(CURL_GLOBAL_DEFAULT);

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    char host[256];
    const char *colon = strrchr(cfg->listen, ':');
    if (colon == NULL)
        return fprintf(stderr, "gateway-sim: --listen HOST:PORT\n"), 2;
    snprintf(host, sizeof host, "%.*s", (int)(colon - cfg->listen), cfg->listen);
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || ai == NULL)
        return fprintf(stderr, "gateway-sim: cannot resolve %s\n", cfg->listen), 1;
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, access_cb, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_NOTIFY_COMPLETED,
        completed_cb, NULL, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (d == NULL)
        return fprintf(stderr, "gateway-sim: cannot listen on %s\n", cfg->listen), 1;
    if (cfg->mqtt_host) {
        mosquitto_lib_init();
        G.m = mosquitto_new(NULL, true, NULL);
        mosquitto_connect_callback_set(G.m, on_connect);
        mosquitto_message_callback_set(G.m, on_message);
        mosquitto_reconnect_delay_set(G.m, 1, 5, false);
        mosquitto_connect_async(G.m, cfg->mqtt_host, cfg->mqtt_port, 30);
        mosquitto_loop_start(G.m);
    }
    pthread_t cb;
    pthread_create(&cb, NULL, callback_main, NULL);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("gateway-sim: listening on http://%s/ (answers: %s)\n", cfg->listen,
           G.answer_share >= 0 ? "by share" : G.answer_digits);
    fflush(stdout);
    while (!G.stop)
        usleep(100 * 1000);
    pthread_join(cb, NULL);
    if (G.m) {
        mosquitto_disconnect(G.m);
        mosquitto_loop_stop(G.m, false);
        mosquitto_destroy(G.m);
    }
    MHD_stop_daemon(d);
    json_decref(G.requests);
    json_decref(G.attempts);
    json_decref(G.pending);
    json_decref(G.plays);
    json_decref(G.stats);
    curl_global_cleanup();
    return 0;
}
