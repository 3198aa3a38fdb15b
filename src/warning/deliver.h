/*
 * deliver.h — deliveries and call-up (叫应) of published warnings (private
 * to src/warning; the public entry points are in warning.h).
 */
#ifndef YJ_WARNING_DELIVER_H
#define YJ_WARNING_DELIVER_H

#include "../core/err.h"
#include "../store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Inside the publishing transaction: resolve the warning's area and create
 * one delivery per recipient (residents, vulnerable people's contacts,
 * responsible people, enterprises, broadcast terminals), all due now.
 * *n_out: deliveries created. */
yj_code deliver_create(yj_conn *c, int64_t warning_id, const char *region, const json_t *area,
                       int64_t now, int64_t *n_out, yj_err *err);
/* Does an SMS reply plainly say yes (an answer to the call-up)? */
bool callup_reply_says_yes(const char *text);
/* The site address the answer links in messages start with. */
void deliver_public_url(const char *url);
/* A broadcast terminal confirmed playing delivery_id (from the MQTT thread). */
void deliver_terminal_played(yj_store *s, int64_t delivery_id, const char *topic);
/* Inside the transaction that ends a warning: no more attempts. */
yj_code deliver_stop(yj_conn *c, int64_t warning_id, const char *why, int64_t now, yj_err *err);
/* Inside the cancelling transaction: the cancel message cancel_id goes to
 * every phone and terminal the cancelled warning reached (解除通知), once
 * each, informational (nobody is asked to answer), all due now.
 * *n_out: deliveries created. */
yj_code deliver_cancel_notices(yj_conn *c, int64_t warning_id, int64_t cancel_id,
                               const char *region, int64_t now, int64_t *n_out, yj_err *err);

#endif
