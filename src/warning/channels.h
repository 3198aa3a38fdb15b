/*
 * channels.h — how a warning travels (private to src/warning): the
 * delivery channels as a declared table of plug-ins.
 *
 *   sms        SMS gateway, HTTP (JSON POST)          per recipient
 *   voice      voice-call gateway, HTTP (JSON POST)   per recipient
 *   wechat     WeChat / app push, HTTP webhook        per recipient
 *   broadcast  village broadcast terminal, MQTT QoS 1 per terminal
 *
 * The HTTP gateways speak one small protocol (docs/warnings.md): a POST of
 * {"id", "channel", "to", "text", "segments", "warning", "level",
 * "must_ack", "ack_url", "callback"} with "Authorization: Bearer <token>";
 * a 2xx answer means accepted.  Receipts and replies come back to the
 * callback (POST /api/v1/warnings/callback).  A channel whose gateway is
 * not configured is unavailable and skipped in every plan.
 */
#ifndef YJ_WARNING_CHANNELS_H
#define YJ_WARNING_CHANNELS_H

#include "../core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t delivery_id;
    const char *to;   /* phone number, or MQTT topic */
    const char *text; /* plain text */
    int segments;     /* SMS segments of 70 characters */
    const char *identifier;
    int level;
    bool must_ack;
    const char *ack_url;
    const char *payload; /* broadcast: the JSON command */
    bool resend;         /* an attempt interrupted by a crash is being repeated */
} chan_msg;

typedef struct {
    const char *name, *label;
    /* 0 accepted by the gateway / broker; else failed, detail says why */
    yj_code (*send)(const chan_msg *m, char *detail, size_t n);
    int default_rate; /* messages per second */
} chan_def;

typedef struct {
    const char *sms_url, *voice_url, *wechat_url; /* NULL: channel unavailable */
    const char *token;                            /* Bearer token for gateways and callbacks */
    const char *callback_url;                     /* where gateways post receipts and replies */
    const char *mqtt_host;                        /* NULL: no broadcast channel */
    int mqtt_port;
    int rates[8]; /* per channel (table order), 0 = default */
} chan_config;

size_t chan_count(void);
const chan_def *chan_at(size_t i);
int chan_index(const char *name); /* -1 if unknown */
bool chan_available(int i);
int chan_rate(int i);
const char *chan_token(void);
const char *chan_callback_url(void);

yj_code chan_start(const chan_config *cfg, yj_err *err);
void chan_stop(void);

/* Broadcast terminals confirm playback on "<topic>/ack"; this is called
 * (from the MQTT thread) with the delivery id the terminal reports. */
typedef void (*chan_ack_fn)(int64_t delivery_id, const char *topic);
void chan_on_terminal_ack(chan_ack_fn fn);

/* A published warning's CAP message goes to MQTT subscribers on
 * yingji/v1/warnings/<region> (QoS 1), through the outbox (channel "cap"),
 * when a broker is configured. */
bool chan_cap_available(void);
yj_code chan_send_cap(const char *topic, const char *cap_xml, bool resend, char *detail, size_t n);

/* Characters (code points) of UTF-8 text, and its SMS segments (70 per
 * segment, 67 each once it needs more than one). */
size_t chan_chars(const char *utf8);
int chan_sms_segments(const char *utf8);

#endif
