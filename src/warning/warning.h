/*
 * warning.h — M3 warning publication and call-up (预警发布与叫应).
 *
 * Layers, bottom up:
 *   cap.c      CAP 1.2 / GB/T 35965.1 messages: read, check, write;
 *   warning.c  warnings (预警信息) and their workflow: draft → submitted →
 *              approved → published → updated / cancelled / expired, every
 *              step in the warning's timeline; who may approve which level
 *              (a declared table); the CAP message a published warning
 *              is; warnings imported from other agencies;
 *   feed.c     the public side: Atom feed and list of active warnings.
 *
 * Levels are the national four: 1 = 一级/红色 (most severe) .. 4 = 四级/蓝色.
 */
#ifndef YJ_WARNING_H
#define YJ_WARNING_H

#include "../auth/auth.h"
#include "../base/workflow.h"
#include "../core/buf.h"
#include "../core/err.h"
#include "../store/store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    /* GB/T 35965.1 sender code after the region: DDD (GB/T 4657 institution
     * code), UUU (internal), XX (extension); defaults "000", "000", "00". */
    char agency[4], unit[4], ext[3];
} warning_config;

/* Process-wide configuration (set by `serve` before the first request). */
void warning_configure(const warning_config *cfg);

/* Level helpers: 1..4 -> "red".., "一级（红色）".., CAP severity. */
const char *warning_level_name(int level);
const char *warning_level_label(int level);
const char *warning_level_severity(int level);

/* Which warnings a user reads (warning.c): their subtree, and those issued
 * above it once out.  Deliveries and the board are read through it too. */
extern const yj_scope_cols warning_read_scope;

/* The approval table: may `u` approve (or cancel) a warning of `level`
 * issued in `region`?  Fills err (YJ_EFORBIDDEN) with the reason if not. */
bool warning_may_approve(const yj_user *u, int level, const char *region, yj_err *err);

/* ---- records and workflow (warning.c) ------------------------------------------ */

typedef struct {
    const char *state; /* filter, or NULL */
    bool active;       /* only published and not expired */
    int limit;
    int64_t offset;
} warning_query;

yj_code warning_list(yj_store *s, const yj_user *u, const warning_query *q, json_t **out,
                     yj_err *err);
yj_code warning_get(yj_store *s, const yj_user *u, int64_t id, json_t **out, yj_err *err);
/* A draft from the body (see docs/warnings.md for the fields). */
yj_code warning_create(yj_store *s, const yj_user *u, const json_t *in, json_t **out, yj_err *err);
/* The warning's life on the workflow engine: states, steps (submit,
 * approve, reject, publish, update, cancel; the draft's edit; the
 * platform's supersede, withdraw and expire), who may take them. */
extern const yj_workflow warning_workflow;
/* Replace a draft's content (the edit step); if_match: the version the
 * caller saw. */
yj_code warning_update_draft(yj_store *s, const yj_user *u, int64_t id, int64_t if_match,
                             const json_t *in, json_t **out, yj_err *err);
/* submit | approve | reject | publish | update | cancel — body may carry
 * "note" (reject and cancel need "reason"); update returns the new draft.
 * if_match: the version the caller saw (412 when stale). */
yj_code warning_act(yj_store *s, const yj_user *u, int64_t id, const char *action, int64_t if_match,
                    const json_t *in, json_t **out, yj_err *err);
/* A draft made from a monitoring alarm: its area (the sensor's county and a
 * circle round the sensor) and its facts. */
yj_code warning_from_alarm(yj_store *s, const yj_user *u, int64_t alarm_id, json_t **out,
                           yj_err *err);
/* A CAP message from another agency (weather, water, natural resources):
 * checked, stored as a received warning (updates and cancels applied to
 * the warnings they reference).  YJ_ECONFLICT if already received. */
yj_code warning_import(yj_store *s, const yj_user *u, const char *xml, size_t len,
                       const char *origin, json_t **out, yj_err *err);
/* Watch a drop directory for CAP files from other agencies (imported as
 * the platform administrator's region; done/ and failed/ below it). */
yj_code warning_cap_watch(yj_store *s, const char *dir, yj_err *err);
void warning_cap_stop(void);
/* The stored CAP XML of a published or received warning in the caller's
 * scope (u NULL: public scope only, for the feed). */
yj_code warning_cap_xml(yj_store *s, const yj_user *u, int64_t id, char **xml, yj_err *err);
/* Send the CAP messages queued in the outbox for MQTT subscribers (after
 * a step publishes one; the dispatch timer catches any a crash left). */
yj_code warning_send_cap(yj_store *s, int64_t now, yj_err *err);
/* Published warnings past their expiry become expired (timer). */
yj_code warning_expire_due(yj_store *s, int64_t now, int *n, yj_err *err);

/* ---- targeting, delivery and call-up (target.c, deliver.c) -------------------------- */

/* Who an area reaches (the composer's live count): residents, the
 * vulnerable and their contacts, terminals, enterprises, responsible
 * people, villages. */
yj_code warning_preview_targets(yj_store *s, const yj_user *u, const json_t *area, json_t **out,
                                yj_err *err);

typedef struct {
    int max_cycles; /* times through a recipient's channel plan (default 3) */
    int retry_s;    /* pause between cycles (default 60) */
    int ack_wait_s; /* must answer: wait this long before the next channel (default 300) */
    int escalate_s; /* must answer: unanswered this long -> the next person (default 600) */
    /* channel plans, comma-separated channel names (unavailable ones skipped) */
    char plan_resident[64], plan_ack[64], plan_terminal[64];
} callup_config;
void deliver_configure(const callup_config *cfg);
/* Warns on out about each recipient kind no configured channel reaches;
 * returns how many. */
int deliver_check_plans(FILE *out);

/* One round of the dispatcher: attempts and escalations that are due. */
yj_code warning_dispatch_due(yj_store *s, int64_t now, yj_err *err);

/* Acknowledgements (叫应): by the link's token (public page), by a user in
 * the app or a duty officer recording a phone answer (via "app"/"phone"),
 * by gateway callbacks (receipts, SMS replies, voice answers, in batches),
 * by terminals confirming playback. */
yj_code callup_token_info(yj_store *s, const char *token, json_t **out, yj_err *err);
yj_code callup_ack_token(yj_store *s, const char *token, json_t **out, yj_err *err);
yj_code callup_ack_delivery(yj_store *s, const yj_user *u, int64_t delivery_id, const char *via,
                            const char *note, json_t **out, yj_err *err);
yj_code callup_gateway_callback(yj_store *s, const json_t *in, json_t **out, yj_err *err);
/* Record acknowledgements of deliveries by id in one transaction, each
 * with its call-up event, as the callback path records voice answers
 * (two set statements, not one per answer). */
yj_code callup_ack_batch(yj_store *s, const int64_t *ids, size_t n, const char *via, int64_t now,
                         size_t *recorded, yj_err *err);

/* The call-up board of a warning (who has and has not answered, by region)
 * and its coverage figures; the deliveries list. */
yj_code callup_board(yj_store *s, const yj_user *u, int64_t warning_id, const char *region,
                     json_t **out, yj_err *err);
yj_code callup_coverage(yj_store *s, const yj_user *u, int64_t warning_id, const char *group_by,
                        json_t **out, yj_err *err);
yj_code deliver_list(yj_store *s, const yj_user *u, int64_t warning_id, const char *kind,
                     const char *state, int limit, int64_t offset, json_t **out, yj_err *err);
/* The attempts at one delivery (the outbox's rows: channel, state,
 * the gateway's answer, resends), phone numbers masked. */
yj_code deliver_attempts(yj_store *s, const yj_user *u, int64_t delivery_id, json_t **out,
                         yj_err *err);

/* ---- public side (feed.c) ------------------------------------------------------- */

/* Atom feed (RFC 4287) of the active public warnings; base is the site
 * URL the links start with. */
yj_code warning_feed_atom(yj_store *s, const char *base, yj_buf *out, yj_err *err);
/* The same warnings as JSON for the public list page. */
yj_code warning_public_list(yj_store *s, json_t **out, yj_err *err);

#endif
