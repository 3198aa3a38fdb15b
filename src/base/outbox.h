/*
 * outbox.h — every message that leaves the platform, recorded before it
 * leaves.
 *
 * An SMS, a voice call, an app push, a loudspeaker command or a CAP message
 * to MQTT subscribers is one row of the outbox, written in a committed
 * transaction *before* the message is handed to its gateway or broker, and
 * given its result (accepted or failed, with the gateway's words) after.
 * So a crash between the two never loses the record that a message may
 * have left: at the next start the rows still "sending" become
 * "interrupted" (nobody knows whether the gateway got them), and the next
 * attempt at the same message is recorded — and sent — as a resend of the
 * interrupted one, so the gateway and whoever reads the record can tell.
 *
 * Two ways in:
 *   - a sender that decides what is due itself (the warning dispatcher)
 *     records its attempts with outbox_begin in one transaction, sends,
 *     and records the results with outbox_end in the next;
 *   - a message that must follow a commit (a published warning's CAP
 *     message) is queued inside the publishing transaction with
 *     outbox_queue and sent by outbox_flush after it commits — or, if the
 *     process dies first, by the next flush.
 *
 * Rows: (module, channel, address, ref_type, ref_id) say what and to whom;
 * state queued → sending → accepted | failed, or interrupted.
 */
#ifndef YJ_OUTBOX_H
#define YJ_OUTBOX_H

#include "../core/err.h"
#include "../store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *module;   /* "warning" */
    const char *channel;  /* "sms", "broadcast", "cap" ... */
    const char *address;  /* phone number, MQTT topic */
    const char *ref_type; /* what it is about: "delivery", "warning" */
    int64_t ref_id;
    const char *payload; /* queued messages: what to send (NULL for begin) */
} outbox_msg;

/* Record an attempt about to be made (state "sending"), inside the
 * caller's transaction, which must commit before the message is sent.
 * *resend_of: the interrupted attempt at the same (ref, channel) this one
 * repeats, or 0. */
yj_code outbox_begin(yj_conn *c, const outbox_msg *m, int64_t now, int64_t *id, int64_t *resend_of,
                     yj_err *err);
/* The attempt's result (inside the caller's transaction). */
yj_code outbox_end(yj_conn *c, int64_t id, bool accepted, const char *detail, int64_t now,
                   yj_err *err);

/* Queue a message to send once the caller's transaction has committed. */
yj_code outbox_queue(yj_conn *c, const outbox_msg *m, int64_t now, yj_err *err);
/* Send what is queued on channel: each row is marked "sending" (committed)
 * before send() is called, then given its result.  resend: the message was
 * interrupted before (a crash mid-send).  *sent: how many were attempted. */
typedef yj_code (*outbox_send_fn)(const char *address, const char *payload, bool resend,
                                  char *detail, size_t n);
yj_code outbox_flush(yj_store *s, const char *channel, outbox_send_fn send, int64_t now, int *sent,
                     yj_err *err);

/* Attempts a dead node left "sending" become "interrupted", and queued
 * messages among them are queued again as resends.  At a node's start,
 * before anything sends, for its own previous life (unowned: also rows
 * sent before nodes had names); by outbox_orphans for other nodes.  The
 * caller knows the node is dead (node.h).  *n: how many were found. */
yj_code outbox_recover(yj_store *s, const char *node, bool unowned, int64_t now, int *n,
                       yj_err *err);
/* What other nodes that are gone (their lock is free) left "sending",
 * recovered as above; run by one node at a time (a cluster timer). */
yj_code outbox_orphans(yj_store *s, int64_t now, int *n, yj_err *err);

/* The attempts about one record, oldest first: [{id, ts, channel, address,
 * state, detail, sent_at, resend_of}]. */
yj_code outbox_list(yj_conn *c, const char *ref_type, int64_t ref_id, json_t **out, yj_err *err);

#endif
