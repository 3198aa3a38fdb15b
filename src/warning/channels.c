/*
 * channels.c — the delivery channels (see channels.h): HTTP gateways with
 * libcurl, broadcast terminals with libmosquitto.
 *
 * Each HTTP send is one POST with a 5 s timeout on a handle kept per
 * thread (connections are reused).  The broadcast channel keeps one MQTT
 * connection to the broker, publishes each command at QoS 1 to the
 * terminal's topic and listens on yingji/v1/broadcast/+/ack (and the acks
 * of any other topic it published to) for playback confirmations.
 */
#include "channels.h"
#include "../core/buf.h"
#include "../core/util.h"

#include <curl/curl.h>
#include <jansson.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    char sms_url[512], voice_url[512], wechat_url[512], token[128], callback[512];
    int rates[8];
    bool mqtt;
    struct mosquitto *m;
    atomic_bool connected;
    chan_ack_fn on_ack;
    pthread_mutex_t mu;
} C = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* ---- text ----------------------------------------------------------------------- */

size_t chan_chars(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

int chan_sms_segments(const char *s)
{
    size_t n = chan_chars(s);
    if (n <= 70)
        return 1;
    return (int)((n + 66) / 67);
}

/* ---- HTTP gateways ---------------------------------------------------------------- */

static pthread_key_t curl_key;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_free_handle(void *h)
{
    curl_easy_cleanup(h);
}

static void curl_setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_key_create(&curl_key, curl_free_handle);
}

static size_t sink(char *p, size_t size, size_t n, void *ctx)
{
    yj_buf *b = ctx;
    if (b->len < 2000)
        yj_buf_append(b, p, size * n);
    return size * n;
}

static yj_code http_post(const char *url, const chan_msg *m, const char *channel, char *detail,
                         size_t n)
{
    pthread_once(&curl_once, curl_setup);
    CURL *h = pthread_getspecific(curl_key);
    if (h == NULL) {
        h = curl_easy_init();
        if (h == NULL) {
            snprintf(detail, n, "curl init failed");
            return YJ_EINTERNAL;
        }
        pthread_setspecific(curl_key, h);
    }
    json_t *body =
        json_pack("{s:I,s:s,s:s,s:s,s:i,s:s,s:i,s:b,s:s?,s:s}", "id", (json_int_t)m->delivery_id,
                  "channel", channel, "to", m->to, "text", m->text, "segments", m->segments,
                  "warning", m->identifier ? m->identifier : "", "level", m->level, "must_ack",
                  m->must_ack, "ack_url", m->ack_url, "callback", C.callback);
    if (body && m->resend) /* the platform stopped mid-send last time: may be a duplicate */
        json_object_set_new(body, "resend", json_true());
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL) { /* never post an empty body */
        snprintf(detail, n, "message could not be encoded");
        return YJ_EINVAL;
    }
    char auth[160];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", C.token);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, auth);
    yj_buf resp;
    yj_buf_init(&resp);
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    free(text);
    yj_code rc = YJ_OK;
    if (cc != CURLE_OK) {
        snprintf(detail, n, "%s", curl_easy_strerror(cc));
        rc = YJ_EIO;
    } else if (status < 200 || status > 299) {
        snprintf(detail, n, "HTTP %ld %.200s", status, resp.data ? resp.data : "");
        rc = YJ_EIO;
    } else {
        snprintf(detail, n, "HTTP %ld %.200s", status, resp.data ? resp.data : "");
    }
    yj_buf_free(&resp);
    return rc;
}

static yj_code send_sms(const chan_msg *m, char *detail, size_t n)
{
    return http_post(C.sms_url, m, "sms", detail, n);
}

static yj_code send_voice(const chan_msg *m, char *detail, size_t n)
{
    return http_post(C.voice_url, m, "voice", detail, n);
}

static yj_code send_wechat(const chan_msg *m, char *detail, size_t n)
{
    return http_post(C.wechat_url, m, "wechat", detail, n);
}

/* ---- broadcast over MQTT ------------------------------------------------------------ */

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    (void)obj;
    if (rc != 0)
        return;
    atomic_store(&C.connected, true);
    mosquitto_subscribe(m, NULL, "yingji/v1/broadcast/+/ack", 1);
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    (void)obj;
    (void)rc;
    atomic_store(&C.connected, false);
}

/* "<topic>/ack" with {"delivery": id} */
static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    (void)m;
    (void)obj;
    json_t *j = msg->payloadlen > 0 && msg->payloadlen < 4096
                    ? json_loadb(msg->payload, (size_t)msg->payloadlen, 0, NULL)
                    : NULL;
    json_t *id = json_object_get(j, "delivery");
    if (json_is_integer(id) && C.on_ack) {
        char topic[256];
        snprintf(topic, sizeof topic, "%s", msg->topic);
        char *slash = strrchr(topic, '/');
        if (slash)
            *slash = '\0';
        C.on_ack(json_integer_value(id), topic);
    }
    json_decref(j);
}

static yj_code send_broadcast(const chan_msg *m, char *detail, size_t n)
{
    if (!atomic_load(&C.connected)) {
        snprintf(detail, n, "not connected to the MQTT broker");
        return YJ_EIO;
    }
    const char *p = m->payload ? m->payload : m->text;
    pthread_mutex_lock(&C.mu);
    int rc = mosquitto_publish(C.m, NULL, m->to, (int)strlen(p), p, 1, false);
    if (rc == MOSQ_ERR_SUCCESS && strncmp(m->to, "yingji/v1/broadcast/", 20) != 0) {
        char ack[300];
        snprintf(ack, sizeof ack, "%s/ack", m->to);
        mosquitto_subscribe(C.m, NULL, ack, 1);
    }
    pthread_mutex_unlock(&C.mu);
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(detail, n, "MQTT publish: %s", mosquitto_strerror(rc));
        return YJ_EIO;
    }
    snprintf(detail, n, "published to %s (QoS 1)", m->to);
    return YJ_OK;
}

bool chan_cap_available(void)
{
    return C.mqtt;
}

yj_code chan_send_cap(const char *topic, const char *cap_xml, bool resend, char *detail, size_t n)
{
    (void)resend; /* the CAP identifier tells a subscriber it has the message already */
    pthread_mutex_lock(&C.mu);
    int rc = mosquitto_publish(C.m, NULL, topic, (int)strlen(cap_xml), cap_xml, 1, false);
    pthread_mutex_unlock(&C.mu);
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(detail, n, "MQTT publish: %s", mosquitto_strerror(rc));
        yj_log(YJ_LOG_WARN, "warning.mqtt_publish", "%s: %s", topic, mosquitto_strerror(rc));
        return YJ_EIO;
    }
    snprintf(detail, n, "published to %s (QoS 1)", topic);
    return YJ_OK;
}

/* ---- the table ----------------------------------------------------------------------- */

static const chan_def channels[] = {
    {"sms", "短信", send_sms, 200},
    {"voice", "语音电话", send_voice, 20},
    {"wechat", "微信/客户端推送", send_wechat, 200},
    {"broadcast", "应急广播", send_broadcast, 500},
};

size_t chan_count(void)
{
    return sizeof channels / sizeof channels[0];
}

const chan_def *chan_at(size_t i)
{
    return i < chan_count() ? &channels[i] : NULL;
}

int chan_index(const char *name)
{
    for (size_t i = 0; name && i < chan_count(); i++)
        if (strcmp(channels[i].name, name) == 0)
            return (int)i;
    return -1;
}

bool chan_available(int i)
{
    switch (i) {
    case 0:
        return C.sms_url[0] != '\0';
    case 1:
        return C.voice_url[0] != '\0';
    case 2:
        return C.wechat_url[0] != '\0';
    case 3:
        return C.mqtt;
    default:
        return false;
    }
}

int chan_rate(int i)
{
    if (i < 0 || (size_t)i >= chan_count())
        return 1;
    return C.rates[i] > 0 ? C.rates[i] : channels[i].default_rate;
}

const char *chan_token(void)
{
    return C.token;
}

const char *chan_callback_url(void)
{
    return C.callback;
}

void chan_on_terminal_ack(chan_ack_fn fn)
{
    C.on_ack = fn;
}

yj_code chan_start(const chan_config *cfg, yj_err *err)
{
    snprintf(C.sms_url, sizeof C.sms_url, "%s", cfg->sms_url ? cfg->sms_url : "");
    snprintf(C.voice_url, sizeof C.voice_url, "%s", cfg->voice_url ? cfg->voice_url : "");
    snprintf(C.wechat_url, sizeof C.wechat_url, "%s", cfg->wechat_url ? cfg->wechat_url : "");
    snprintf(C.callback, sizeof C.callback, "%s", cfg->callback_url ? cfg->callback_url : "");
    if (cfg->token && cfg->token[0])
        snprintf(C.token, sizeof C.token, "%s", cfg->token);
    else
        yj_random_hex(24, C.token);
    memcpy(C.rates, cfg->rates, sizeof C.rates);
    pthread_once(&curl_once, curl_setup);
    if (cfg->mqtt_host) {
        mosquitto_lib_init();
        C.m = mosquitto_new(NULL, true, NULL);
        if (C.m == NULL)
            return yj_err_set(err, YJ_EINTERNAL, NULL, "mosquitto_new failed");
        mosquitto_connect_callback_set(C.m, on_connect);
        mosquitto_disconnect_callback_set(C.m, on_disconnect);
        mosquitto_message_callback_set(C.m, on_message);
        mosquitto_reconnect_delay_set(C.m, 1, 10, false);
        int rc = mosquitto_connect_async(C.m, cfg->mqtt_host, cfg->mqtt_port, 30);
        if (rc != MOSQ_ERR_SUCCESS)
            yj_log(YJ_LOG_WARN, "warning.mqtt_connect", "%s; will retry", mosquitto_strerror(rc));
        if (mosquitto_loop_start(C.m) != MOSQ_ERR_SUCCESS)
            return yj_err_set(err, YJ_EINTERNAL, NULL, "cannot start the broadcast MQTT loop");
        C.mqtt = true;
    }
    return YJ_OK;
}

void chan_stop(void)
{
    if (C.m) {
        mosquitto_disconnect(C.m);
        mosquitto_loop_stop(C.m, false);
        mosquitto_destroy(C.m);
        C.m = NULL;
    }
    C.mqtt = false;
}
