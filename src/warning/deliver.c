/*
 * deliver.c — getting a published warning to everyone it must reach, and
 * making sure the responsible ones answer (叫应).
 *
 * Publishing a warning (warning.c) resolves its area (target.c) and
 * creates, in the same transaction, one delivery per recipient:
 *   resident     everyone with a phone in the area (the plan for residents,
 *                default "sms"); residents without one count for coverage
 *                and are reached by loudspeaker only;
 *   contact      the one-to-one contact (包保联系人) of each vulnerable
 *                person: must answer;
 *   responsible  the first in call order of every village, township,
 *                county (and city) the area covers, within the issuer's
 *                region, and of every enterprise in it: must answer;
 *   enterprise   an enterprise with no responsible person of its own: its
 *                safety officer, who must answer;
 *   terminal     each broadcast terminal: plays the warning and confirms.
 *
 * The dispatcher (warning_dispatch_due, the timer warning.dispatch) takes
 * what is due, in order: a recipient's channels are tried in plan order;
 * a failure moves to the next channel, the end of the plan to the next
 * cycle after retry_s, up to max_cycles; a recipient who must answer and
 * has not after ack_wait_s gets the next channel; nothing more once they
 * answer.  Each channel has its own rate (messages per second, a token
 * bucket on the warning clock), so a flood of SMS never exceeds what the
 * gateway was bought for.  Every attempt is a row of the outbox
 * (base/outbox.h), committed before the message is sent and given its
 * result after: a crash mid-send leaves it "interrupted", and the attempt
 * that repeats it is marked a resend (the gateway sees "resend": true).
 *
 * Unanswered after escalate_s, a must-answer delivery escalates: to the
 * next person in call order in the same place, else to the first of the
 * region above (village → township → county), as a new delivery of kind
 * "escalation" that must itself be answered; a vulnerable person's
 * contact escalates to their village's responsible person.  Every step is
 * a call-up event.  Ending a warning stops every open delivery.
 */
#include "deliver.h"
#include "channels.h"
#include "target.h"
#include "warning.h"
#include "../base/outbox.h"
#include "../core/events.h"
#include "../core/util.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Transactions that update many deliveries take the deliveries' turn:
 * a round, a gateway's batch and a cancel touch the same rows in orders
 * they cannot agree on, and on PostgreSQL would otherwise deadlock. */
static yj_code begin_turn(yj_conn *c, yj_err *err)
{
    yj_code rc = yj_tx_begin(c, err);
    if (rc == YJ_OK && (rc = yj_tx_turn(c, "delivery", err)) != YJ_OK)
        yj_tx_rollback(c);
    return rc;
}

static callup_config cfg = {.max_cycles = 3,
                            .retry_s = 60,
                            .ack_wait_s = 300,
                            .escalate_s = 600,
                            .plan_resident = "sms",
                            .plan_ack = "sms,voice",
                            .plan_terminal = "broadcast"};
static char public_url[256] = "http://127.0.0.1:8080";

/* A delivery is seen in its region's subtree; by an enterprise user only
 * when it was addressed to the enterprise (its safety officer, or one of
 * its own responsible people). */
static const yj_scope_cols delivery_scope = {
    .region = "d.region_code",
    .enterprise = "(CASE WHEN d.kind = 'enterprise' THEN d.ref_id WHEN d.kind IN ('responsible',"
                  " 'escalation') THEN (SELECT p.enterprise_id FROM responsible_person p"
                  " WHERE p.id = d.ref_id) END)",
};

void deliver_configure(const callup_config *c)
{
    if (c == NULL)
        return;
    if (c->max_cycles > 0)
        cfg.max_cycles = c->max_cycles;
    if (c->retry_s > 0)
        cfg.retry_s = c->retry_s;
    if (c->ack_wait_s > 0)
        cfg.ack_wait_s = c->ack_wait_s;
    if (c->escalate_s > 0)
        cfg.escalate_s = c->escalate_s;
    if (c->plan_resident[0])
        snprintf(cfg.plan_resident, sizeof cfg.plan_resident, "%s", c->plan_resident);
    if (c->plan_ack[0])
        snprintf(cfg.plan_ack, sizeof cfg.plan_ack, "%s", c->plan_ack);
    if (c->plan_terminal[0])
        snprintf(cfg.plan_terminal, sizeof cfg.plan_terminal, "%s", c->plan_terminal);
}

void deliver_public_url(const char *url)
{
    if (url && url[0])
        snprintf(public_url, sizeof public_url, "%s", url);
}

/* ---- helpers ---------------------------------------------------------------------- */

static yj_code step_done(yj_stmt *st, yj_err *err)
{
    int r = yj_step(st, err);
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

static yj_code event(yj_conn *c, int64_t warning_id, int64_t delivery_id, int64_t ts,
                     const char *action, const char *actor, const char *note, const char *region,
                     yj_err *err)
{
    yj_stmt *st = yj_prepare(c,
                             "INSERT INTO callup_event (warning_id, delivery_id, ts, action, actor,"
                             " note, region_code) VALUES (?, ?, ?, ?, ?, ?, ?)",
                             err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_int(st, 1, warning_id);
    if (delivery_id)
        yj_bind_int(st, 2, delivery_id);
    else
        yj_bind_null(st, 2);
    yj_bind_int(st, 3, ts);
    yj_bind_text(st, 4, action);
    yj_bind_text(st, 5, actor);
    yj_bind_text(st, 6, note);
    yj_bind_text(st, 7, region);
    return step_done(st, err);
}

/* A hint to browsers on the call-up board (the board reloads its data).
 * Live events reach the users whose region contains the event's region. */
static void notify(int64_t warning_id, const char *region, const char *what)
{
    json_t *ev = json_pack("{s:I,s:s}", "warning_id", (json_int_t)warning_id, "what", what);
    yj_events_publish("warning", region ? region : "", ev);
    json_decref(ev);
}

/* The hints a round of changes owes: one per warning and township touched,
 * so the users of every county and township concerned hear of it, sent
 * once the transaction is committed.  And the audit it owes (notes_audit):
 * answers, receipts and dispatch rounds change deliveries by the hundred
 * in one transaction, so each is one audit entry per warning (entity
 * "callup", the warning's id) listing every delivery changed by its
 * state before and after ({"sent->acked": [ids], ...}), and who (the
 * link, the gateway, the duty officer, the timer). */
typedef struct {
    struct note_key {
        int64_t w;
        char town[10];
    } * k;
    size_t n, cap;
    /* {"<warning id>": {"region": ..., "changes": {"<before>-><after>": [ids]}}} */
    json_t *changed;
} notes;

static void notes_add(notes *ns, int64_t w, const char *region)
{
    char town[10];
    snprintf(town, sizeof town, "%.9s", region ? region : "");
    for (size_t i = 0; i < ns->n; i++)
        if (ns->k[i].w == w && strcmp(ns->k[i].town, town) == 0)
            return;
    if (ns->n == ns->cap) {
        size_t nc = ns->cap ? ns->cap * 2 : 16;
        struct note_key *p = realloc(ns->k, nc * sizeof *p);
        if (p == NULL)
            return; /* a hint only: the board also reloads on reconnect */
        ns->k = p;
        ns->cap = nc;
    }
    ns->k[ns->n].w = w;
    memcpy(ns->k[ns->n].town, town, sizeof town);
    ns->n++;
}

/* A delivery changed (before NULL: created). */
static void notes_change(notes *ns, int64_t w, const char *region, int64_t delivery,
                         const char *before, const char *after)
{
    notes_add(ns, w, region);
    if (ns->changed == NULL)
        ns->changed = json_object();
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)w);
    json_t *g = json_object_get(ns->changed, key);
    if (g == NULL) {
        g = json_pack("{s:s,s:{}}", "region", region ? region : "", "changes");
        json_object_set_new(ns->changed, key, g);
    } else { /* the region all the changes are in: the common prefix */
        const char *have = json_string_value(json_object_get(g, "region"));
        size_t k = 0;
        while (have[k] && region && have[k] == region[k])
            k++;
        if (have[k]) {
            char common[16];
            snprintf(common, sizeof common, "%.*s", (int)k, have);
            json_object_set_new(g, "region", json_string(common));
        }
    }
    /* grouped by change: a callback of 10,000 answers is one list of ids */
    char change[64];
    snprintf(change, sizeof change, "%s->%s", before ? before : "created", after);
    json_t *changes = json_object_get(g, "changes"), *ids = json_object_get(changes, change);
    if (ids == NULL) {
        ids = json_array();
        json_object_set_new(changes, change, ids);
    }
    json_array_append_new(ids, json_integer(delivery));
}

/* The audit entries of the changes noted (inside the transaction that made
 * them): extra is copied into each (via, note ...). */
static yj_code notes_audit(yj_conn *c, notes *ns, const char *actor, const char *action,
                           const json_t *extra, yj_err *err)
{
    const char *key;
    json_t *g;
    json_object_foreach(ns->changed, key, g) {
        /* a region code's levels: 2, 4, 6, 9, 12 digits */
        char region[16];
        snprintf(region, sizeof region, "%s", json_string_value(json_object_get(g, "region")));
        size_t n = strlen(region);
        region[n >= 12 ? 12 : n >= 9 ? 9 : n >= 6 ? 6 : n >= 4 ? 4 : n >= 2 ? 2 : 0] = '\0';
        json_t *after = extra ? json_deep_copy(extra) : json_object();
        json_object_set(after, "deliveries", json_object_get(g, "changes"));
        json_object_set_new(after, "region_code", json_string(region));
        yj_code rc =
            audit_append(c, actor, action, "callup", strtoll(key, NULL, 10), NULL, after, err);
        json_decref(after);
        if (rc != YJ_OK)
            return rc;
    }
    json_decref(ns->changed);
    ns->changed = NULL;
    return YJ_OK;
}

static void notes_send(notes *ns, bool committed, const char *what)
{
    for (size_t i = 0; committed && i < ns->n; i++)
        notify(ns->k[i].w, ns->k[i].town, what);
    free(ns->k);
    json_decref(ns->changed);
    *ns = (notes){0};
}

/* ---- creation -------------------------------------------------------------------------- */

/* the columns insert_one fills, in its order */
#define DELIVERY_COLS                                                                              \
    "warning_id, kind, ref_id, for_id, address, region_code, must_ack, plan, state, next_at,"      \
    " token, escalate_at"

typedef struct {
    yj_bulk *b;
    int64_t warning_id, now;
    int64_t n;
} inserter;

static yj_code insert_one(inserter *in, const char *kind, int64_t ref, int64_t for_id,
                          const char *address, const char *region, bool must_ack, const char *plan,
                          bool nochannel, yj_err *err)
{
    yj_bulk *b = in->b;
    yj_bulk_int(b, in->warning_id);
    yj_bulk_text(b, kind);
    yj_bulk_int(b, ref);
    if (for_id)
        yj_bulk_int(b, for_id);
    else
        yj_bulk_null(b);
    yj_bulk_text(b, address);
    yj_bulk_text(b, region);
    yj_bulk_int(b, must_ack);
    yj_bulk_text(b, plan);
    yj_bulk_text(b, nochannel ? "nochannel" : "pending");
    if (nochannel)
        yj_bulk_null(b);
    else
        yj_bulk_int(b, in->now);
    if (must_ack) {
        char token[33];
        yj_random_hex(16, token);
        yj_bulk_text(b, token);
        /* the wait before escalating starts when the message goes out
         * (apply_round); somebody who cannot be reached at all is passed
         * on at once */
        if (nochannel)
            yj_bulk_int(b, in->now);
        else
            yj_bulk_null(b);
    } else {
        yj_bulk_null(b);
        yj_bulk_null(b);
    }
    if (yj_bulk_row(b, err) != YJ_OK)
        return yj_fail(err);
    in->n++;
    return YJ_OK;
}

yj_code deliver_create(yj_conn *c, int64_t warning_id, const char *region, const json_t *area,
                       int64_t now, int64_t *n_out, yj_err *err)
{
    *n_out = 0;
    target_set t;
    yj_code rc = target_resolve(c, region, area, &t, err);
    if (rc != YJ_OK)
        return rc;
    inserter in = {.warning_id = warning_id, .now = now};
    /* a city's million deliveries in one stream (COPY on PostgreSQL) */
    in.b = yj_bulk_begin(c, "delivery", DELIVERY_COLS, 12, err);
    if (in.b == NULL) {
        target_set_free(&t);
        return yj_fail(err);
    }
    /* created in the order they are sent (the dispatcher takes what is due
     * by time, then id): those who must answer first, then the
     * loudspeakers, then every resident */
    for (size_t i = 0; i < t.nresp && rc == YJ_OK; i++)
        rc = insert_one(&in, "responsible", t.resp[i]->id, 0, t.resp[i]->phone, t.resp[i]->region,
                        true, cfg.plan_ack, t.resp[i]->phone[0] == '\0', err);
    for (size_t i = 0; i < t.nent && rc == YJ_OK; i++) {
        bool has_person = false;
        for (size_t k = 0; k < t.nresp && !has_person; k++)
            has_person = t.resp[k]->level == 5 && t.resp[k]->enterprise_id == t.ent[i]->id;
        if (!has_person && t.ent[i]->phone[0])
            rc = insert_one(&in, "enterprise", t.ent[i]->id, 0, t.ent[i]->phone, t.ent[i]->region,
                            true, cfg.plan_ack, false, err);
    }
    for (size_t i = 0; i < t.nres && rc == YJ_OK; i++) {
        const tgt_resident *r = t.res[i];
        if (r->vulnerable && r->contact_phone[0])
            rc = insert_one(&in, "contact", r->id, r->id, r->contact_phone, r->region, true,
                            cfg.plan_ack, false, err);
    }
    for (size_t i = 0; i < t.nterm && rc == YJ_OK; i++)
        rc = insert_one(&in, "terminal", t.term[i]->id, 0, t.term[i]->topic, t.term[i]->region,
                        false, cfg.plan_terminal, false, err);
    /* grid workers before the residents: they go door to door */
    for (size_t i = 0; i < t.ninf && rc == YJ_OK; i++)
        rc = insert_one(&in, "informant", t.inf[i]->id, 0, t.inf[i]->phone, t.inf[i]->region, false,
                        cfg.plan_resident, t.inf[i]->phone[0] == '\0', err);
    for (size_t i = 0; i < t.nres && rc == YJ_OK; i++) {
        const tgt_resident *r = t.res[i];
        rc = insert_one(&in, "resident", r->id, 0, r->phone, r->region, false, cfg.plan_resident,
                        r->phone[0] == '\0', err);
    }
    yj_code end = yj_bulk_end(in.b, rc == YJ_OK, NULL, rc == YJ_OK ? err : NULL);
    if (rc == YJ_OK)
        rc = end;
    if (rc == YJ_OK) {
        char note[200];
        snprintf(note, sizeof note,
                 "居民 %zu（特殊群体 %zu，包保联系人 %zu），责任人 %zu，企业 %zu，广播终端 %zu，"
                 "信息员/网格员 %zu",
                 t.nres, t.nvulnerable, t.ncontacts, t.nresp, t.nent, t.nterm, t.ninf);
        rc = event(c, warning_id, 0, now, "targeted", "system", note, region, err);
    }
    target_set_free(&t);
    *n_out = in.n;
    return rc;
}

yj_code deliver_stop(yj_conn *c, int64_t warning_id, const char *why, int64_t now, yj_err *err)
{
    if (yj_tx_turn(c, "delivery", err) != YJ_OK)
        return yj_fail(err);
    yj_stmt *st =
        yj_prepare(c,
                   "UPDATE delivery SET state = CASE WHEN state IN ('pending', 'failed')"
                   " THEN 'stopped' ELSE state END, next_at = NULL, escalate_at = NULL"
                   " WHERE warning_id = ? AND (next_at IS NOT NULL OR escalate_at IS NOT NULL)",
                   err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_int(st, 1, warning_id);
    yj_code rc = step_done(st, err);
    if (rc == YJ_OK)
        rc = event(c, warning_id, 0, now, "stopped", "system", why, NULL, err);
    return rc;
}

yj_code deliver_cancel_notices(yj_conn *c, int64_t warning_id, int64_t cancel_id,
                               const char *region, int64_t now, int64_t *n_out, yj_err *err)
{
    *n_out = 0;
    /* reached: sent (accepted by a gateway or the broker), delivered or
     * answered; one notice per address (a township head asked for several
     * villages gets one), keeping the first delivery's kind and record */
    yj_stmt *st =
        yj_prepare(c,
                   "INSERT INTO delivery (warning_id, kind, ref_id, address, region_code,"
                   " must_ack, plan, state, next_at) SELECT ?, d.kind, d.ref_id, d.address,"
                   " d.region_code, 0, CASE WHEN d.kind = 'terminal' THEN ? ELSE ? END,"
                   " 'pending', ? FROM delivery d JOIN (SELECT MIN(id) AS first"
                   " FROM delivery WHERE warning_id = ? AND state IN ('sent', 'delivered',"
                   " 'acked') AND address <> '' GROUP BY kind = 'terminal', address) f"
                   " ON d.id = f.first ORDER BY d.kind = 'terminal' DESC, d.id",
                   err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_int(st, 1, cancel_id);
    yj_bind_text(st, 2, cfg.plan_terminal);
    yj_bind_text(st, 3, cfg.plan_resident);
    yj_bind_int(st, 4, now);
    yj_bind_int(st, 5, warning_id);
    int r = yj_step(st, err);
    int64_t n = r >= 0 ? yj_stmt_changes(st) : 0;
    yj_stmt_done(st);
    if (r < 0)
        return yj_fail(err);
    *n_out = n;
    char note[160];
    snprintf(note, sizeof note, "解除通知 %lld 个号码和广播终端（原预警已送达的）", (long long)n);
    return event(c, cancel_id, 0, now, "targeted", "system", note, region, err);
}

/* ---- the dispatcher ---------------------------------------------------------------------- */

typedef struct {
    double tokens;
    int64_t last;
} bucket;
static bucket buckets[8];

static bool take_token(int ch, int64_t now)
{
    bucket *b = &buckets[ch];
    double rate = chan_rate(ch);
    if (b->last == 0 || now < b->last) {
        b->last = now;
        b->tokens = rate;
    }
    b->tokens = fmin(rate, b->tokens + rate * (double)(now - b->last) / 1000.0);
    b->last = now;
    if (b->tokens < 1)
        return false;
    b->tokens -= 1;
    return true;
}

typedef struct {
    int64_t id, warning_id, ref_id, for_id;
    char kind[16], address[128], region[16], plan[64], state[16], token[40];
    bool must_ack, stop, deferred, advanced;
    int64_t defer_to; /* deferred: when the channel will have room for it */
    int step, cycle, attempts;
    /* the warning */
    char identifier[40], sender_name[128], event_type[64], headline[256], wstate[16], msg_type[12];
    int level;
    char *description, *instruction;
    /* the attempt: its outbox row, recorded before it is sent */
    int ch;
    int64_t outbox_id, resend_of;
    yj_code result;
    char detail[300];
} due_item;

static int plan_parse(const char *plan, int out[8])
{
    int n = 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", plan);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && n < 8;
         t = strtok_r(NULL, ",", &save)) {
        int i = chan_index(t);
        if (i >= 0)
            out[n++] = i;
    }
    return n;
}

/* Say at startup which recipients no configured channel can reach (a plan
 * of "wechat" with no --wechat-webhook): their messages would be recorded
 * as undeliverable, which the operator should know before a warning goes out. */
int deliver_check_plans(FILE *out)
{
    const struct {
        const char *kind, *plan;
    } plans[] = {{"residents", cfg.plan_resident},
                 {"answer", cfg.plan_ack},
                 {"terminals", cfg.plan_terminal}};
    int bad = 0;
    for (size_t k = 0; k < sizeof plans / sizeof plans[0]; k++) {
        int ch[8], n = plan_parse(plans[k].plan, ch), usable = 0;
        for (int i = 0; i < n; i++)
            usable += chan_available(ch[i]);
        if (usable == 0) {
            fprintf(out,
                    "yingji: warning: no channel of the %s plan (%s) is configured; those "
                    "messages will be recorded as undeliverable\n",
                    plans[k].kind, plans[k].plan);
            bad++;
        }
    }
    return bad;
}

/* The text a recipient gets: agency, level and event first; the ask to
 * answer and the answer link for those who must, never cut off — only the
 * instructions are shortened (to about 200 characters) to bound the length. */
#define TEXT_MAX  2048
#define INSTR_MAX 600
static void compose(const due_item *d, char *out, size_t n)
{
    static const char *const colour[] = {"", "红色", "橙色", "黄色", "蓝色"};
    const char *lc = d->level >= 1 && d->level <= 4 ? colour[d->level] : "";
    char body[INSTR_MAX + 1];
    yj_utf8_cut(d->instruction ? d->instruction : (d->description ? d->description : ""), INSTR_MAX,
                body);
    if (strcmp(d->msg_type, "Cancel") == 0) {
        /* 解除通知: the headline says "解除：<the warning's headline>", the
         * description is the reason */
        snprintf(out, n, "【%s】%s。%s", d->sender_name, d->headline, body);
    } else if (strcmp(d->kind, "escalation") == 0) {
        snprintf(
            out, n,
            "【%s】%s%s预警叫应：%s，下级责任人尚未应答，请督促落实并回复1确认。%s/ack.html#%s",
            d->sender_name, lc, d->event_type, d->headline, public_url, d->token);
    } else if (strcmp(d->kind, "informant") == 0) {
        snprintf(out, n, "【%s】%s%s预警：%s。请立即通知网格内群众，协助做好转移避险。%s",
                 d->sender_name, lc, d->event_type, d->headline, body);
    } else if (strcmp(d->kind, "contact") == 0) {
        snprintf(out, n,
                 "【%s】%s%s预警：%s。请立即通知您包保的特殊群体人员并回复1确认。%s/ack.html#%s",
                 d->sender_name, lc, d->event_type, d->headline, public_url, d->token);
    } else if (d->must_ack) {
        snprintf(out, n, "【%s】%s%s预警：%s。%s请回复1确认收到。%s/ack.html#%s", d->sender_name,
                 lc, d->event_type, d->headline, d->instruction ? body : "", public_url, d->token);
    } else {
        snprintf(out, n, "【%s】%s%s预警：%s。%s", d->sender_name, lc, d->event_type, d->headline,
                 body);
    }
}

static void attempt(due_item *d, int64_t now)
{
    /* the fields are bounded (sender name < 128, event 60, headline 240,
     * instructions 600 bytes, public URL 255): TEXT_MAX always holds the
     * whole message */
    char text[TEXT_MAX], ack_url[400];
    compose(d, text, sizeof text);
    snprintf(ack_url, sizeof ack_url, "%s/ack.html#%s", public_url, d->token);
    json_t *cmd = json_pack("{s:I,s:s,s:i,s:s,s:s,s:i}", "delivery", (json_int_t)d->id, "warning",
                            d->identifier, "level", d->level, "event", d->event_type, "text", text,
                            "repeat", 3);
    if (cmd && d->resend_of)
        json_object_set_new(cmd, "resend", json_true());
    char *payload = cmd ? json_dumps(cmd, JSON_COMPACT) : NULL;
    json_decref(cmd);
    if (payload == NULL) { /* cannot happen with checked UTF-8; never send half a message */
        snprintf(d->detail, sizeof d->detail, "message could not be encoded");
        d->result = YJ_EINVAL;
        return;
    }
    chan_msg m = {.delivery_id = d->id,
                  .to = d->address,
                  .text = text,
                  .segments = chan_sms_segments(text),
                  .identifier = d->identifier,
                  .level = d->level,
                  .must_ack = d->must_ack,
                  .ack_url = d->must_ack ? ack_url : NULL,
                  .payload = payload,
                  .resend = d->resend_of != 0};
    d->result = chan_at((size_t)d->ch)->send(&m, d->detail, sizeof d->detail);
    free(payload);
    (void)now;
}

static void free_items(due_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(items[i].description);
        free(items[i].instruction);
    }
    free(items);
}

static yj_code load_due(yj_conn *c, int64_t now, due_item **out, size_t *nout, yj_err *err)
{
    *out = NULL;
    *nout = 0;
    size_t cap = 0;
    /* up to 1,000 a round: those who must answer first (a backlog of
     * resident SMS never holds them up), then the rest by time */
#define DUE_SQL(ack)                                                                               \
    "SELECT d.id, d.warning_id, d.kind, d.ref_id, d.for_id, d.address, d.region_code,"             \
    " d.must_ack, d.plan, d.step, d.cycle, d.state, d.token, d.attempts, w.identifier,"            \
    " w.level, w.sender_name, w.event_type, w.headline, w.description, w.instruction,"             \
    " w.state, w.msg_type FROM delivery d JOIN warning w ON w.id = d.warning_id"                   \
    " WHERE d.next_at <= ? AND d.next_at IS NOT NULL AND d.must_ack = " ack                        \
    " ORDER BY d.next_at, d.id LIMIT ?"
    /* both served by the index delivery_due (must_ack, next_at) */
    static const char *const sql[2] = {DUE_SQL("1"), DUE_SQL("0")};
    for (int k = 0; k < 2; k++) {
        yj_stmt *st = yj_prepare(c, sql[k], err);
        if (st == NULL)
            return yj_fail(err);
        yj_bind_int(st, 1, now);
        yj_bind_int(st, 2, (int64_t)(1000 - *nout));
        int r;
        while ((r = yj_step(st, err)) == 1) {
            if (*nout == cap) {
                size_t nc = cap ? cap * 2 : 64;
                due_item *p = realloc(*out, nc * sizeof *p);
                if (p == NULL)
                    break;
                *out = p;
                cap = nc;
            }
            due_item *d = &(*out)[(*nout)++];
            memset(d, 0, sizeof *d);
            d->id = yj_col_int(st, 0);
            d->warning_id = yj_col_int(st, 1);
            snprintf(d->kind, sizeof d->kind, "%s", yj_col_text(st, 2));
            d->ref_id = yj_col_int(st, 3);
            d->for_id = yj_col_null(st, 4) ? 0 : yj_col_int(st, 4);
            snprintf(d->address, sizeof d->address, "%s", yj_col_text(st, 5));
            snprintf(d->region, sizeof d->region, "%s", yj_col_text(st, 6));
            d->must_ack = yj_col_int(st, 7) != 0;
            snprintf(d->plan, sizeof d->plan, "%s", yj_col_text(st, 8));
            d->step = (int)yj_col_int(st, 9);
            d->cycle = (int)yj_col_int(st, 10);
            snprintf(d->state, sizeof d->state, "%s", yj_col_text(st, 11));
            snprintf(d->token, sizeof d->token, "%s", yj_col_text(st, 12));
            d->attempts = (int)yj_col_int(st, 13);
            snprintf(d->identifier, sizeof d->identifier, "%s", yj_col_text(st, 14));
            d->level = (int)yj_col_int(st, 15);
            snprintf(d->sender_name, sizeof d->sender_name, "%s", yj_col_text(st, 16));
            snprintf(d->event_type, sizeof d->event_type, "%s", yj_col_text(st, 17));
            snprintf(d->headline, sizeof d->headline, "%s", yj_col_text(st, 18));
            d->description = strdup(yj_col_text(st, 19));
            d->instruction = yj_col_null(st, 20) ? NULL : strdup(yj_col_text(st, 20));
            snprintf(d->wstate, sizeof d->wstate, "%s", yj_col_text(st, 21));
            snprintf(d->msg_type, sizeof d->msg_type, "%s", yj_col_text(st, 22));
        }
        yj_stmt_done(st);
        if (r < 0)
            return yj_fail(err);
        if (*nout >= 1000)
            break;
    }
    return YJ_OK;
}

/* The senders: a gateway answers in tens of milliseconds, so one request at
 * a time would cap a channel at a few dozen messages a second whatever its
 * rate.  A round's sends go out from SENDERS threads at once (each with its
 * own kept-alive curl handle); the round waits for all of them.  Rounds
 * (the clock thread, a test's tick) take turns. */
#define SENDERS 16
static struct {
    pthread_mutex_t mu, turn;
    pthread_cond_t work, done;
    due_item *items;
    size_t n, next, finished;
    int64_t now;
    int threads; /* started; 0: sequential */
} P = {.mu = PTHREAD_MUTEX_INITIALIZER,
       .turn = PTHREAD_MUTEX_INITIALIZER,
       .work = PTHREAD_COND_INITIALIZER,
       .done = PTHREAD_COND_INITIALIZER};
static pthread_once_t senders_once = PTHREAD_ONCE_INIT;

static void *sender_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&P.mu);
    for (;;) {
        while (P.next >= P.n)
            pthread_cond_wait(&P.work, &P.mu);
        due_item *d = &P.items[P.next++];
        int64_t now = P.now;
        pthread_mutex_unlock(&P.mu);
        if (d->ch >= 0)
            attempt(d, now);
        pthread_mutex_lock(&P.mu);
        if (++P.finished == P.n)
            pthread_cond_signal(&P.done);
    }
    return NULL;
}

static void senders_start(void)
{
    for (int i = 0; i < SENDERS; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, sender_main, NULL) != 0)
            break;
        pthread_detach(t);
        P.threads++;
    }
}

/* Every item with a channel (ch >= 0) attempted once. */
static void send_round(due_item *items, size_t n, int64_t now)
{
    pthread_once(&senders_once, senders_start);
    if (P.threads == 0) { /* no threads to be had: one at a time */
        for (size_t i = 0; i < n; i++)
            if (items[i].ch >= 0)
                attempt(&items[i], now);
        return;
    }
    pthread_mutex_lock(&P.turn);
    pthread_mutex_lock(&P.mu);
    P.items = items;
    P.now = now;
    P.finished = 0;
    P.next = 0;
    P.n = n;
    pthread_cond_broadcast(&P.work);
    while (P.finished < P.n)
        pthread_cond_wait(&P.done, &P.mu);
    P.items = NULL;
    P.n = P.next = P.finished = 0;
    pthread_mutex_unlock(&P.mu);
    pthread_mutex_unlock(&P.turn);
}

/* Decide what each due delivery does now (no store access). */
static void plan_round(due_item *items, size_t n, int64_t now)
{
    int waiting[8] = {0}; /* per channel: how many were deferred this round */
    for (size_t i = 0; i < n; i++) {
        due_item *d = &items[i];
        d->ch = -1;
        if (strcmp(d->wstate, "published") != 0) {
            d->stop = true;
            continue;
        }
        int plan[8];
        int np = plan_parse(d->plan, plan);
        /* a recipient who was reached but has not answered (or a terminal
         * that has not confirmed) after the wait: the next channel */
        if (strcmp(d->state, "sent") == 0) {
            d->advanced = true;
            if (++d->step >= np) {
                d->step = 0;
                d->cycle++;
            }
        }
        if (d->cycle >= cfg.max_cycles) {
            d->ch = -2; /* exhausted */
            continue;
        }
        /* the first available channel from step on */
        int tries = 0;
        while (tries < np && !chan_available(plan[d->step])) {
            tries++;
            if (++d->step >= np)
                d->step = 0;
        }
        if (np == 0 || tries == np) {
            d->ch = -3; /* no channel configured */
            continue;
        }
        int ch = plan[d->step];
        if (!take_token(ch, now)) {
            /* over the channel's rate: due again when the channel has room
             * for it, so what is behind it (another channel, a newer
             * escalation) is not held up */
            d->deferred = true;
            double rate = chan_rate(ch) > 0 ? chan_rate(ch) : 1;
            d->defer_to = now + (int64_t)ceil(1000.0 * ++waiting[ch] / rate);
            continue;
        }
        d->ch = ch;
    }
}

/* The attempts about to be made, in the outbox, committed before any is
 * sent: a crash mid-send leaves them "interrupted", and the next attempt
 * at the same delivery is marked as a resend. */
static yj_code record_round(yj_conn *c, due_item *items, size_t n, int64_t now, yj_err *err)
{
    yj_code rc = begin_turn(c, err);
    for (size_t i = 0; i < n && rc == YJ_OK; i++) {
        due_item *d = &items[i];
        if (d->ch < 0)
            continue;
        outbox_msg m = {.module = "warning",
                        .channel = chan_at((size_t)d->ch)->name,
                        .address = d->address,
                        .ref_type = "delivery",
                        .ref_id = d->id};
        rc = outbox_begin(c, &m, now, &d->outbox_id, &d->resend_of, err);
    }
    if (rc == YJ_OK)
        return yj_tx_commit(c, err);
    yj_tx_rollback(c);
    return rc;
}

static int cmp_due_id(const void *a, const void *b)
{
    const due_item *x = *(due_item *const *)a, *y = *(due_item *const *)b;
    return (x->id > y->id) - (x->id < y->id);
}

static yj_code apply_in_order(yj_conn *c, due_item *const *order, size_t n, int64_t now, notes *ns,
                              yj_err *err)
{
    yj_code rc = YJ_OK;
    for (size_t i = 0; i < n && rc == YJ_OK; i++) {
        due_item *d = order[i];
        if (d->deferred) {
            yj_stmt *st = yj_prepare(c,
                                     "UPDATE delivery SET next_at = ? WHERE id = ?"
                                     " AND next_at IS NOT NULL AND acked_at IS NULL",
                                     err);
            if (st == NULL)
                return yj_fail(err);
            yj_bind_int(st, 1, d->defer_to);
            yj_bind_int(st, 2, d->id);
            rc = step_done(st, err);
            continue;
        }
        if (d->ch >= 0 &&
            (rc = outbox_end(c, d->outbox_id, d->result == YJ_OK, d->detail, now, err)) != YJ_OK)
            break;
        const char *state = d->state;
        int64_t next = -1; /* -1: NULL */
        int step = d->step, cycle = d->cycle;
        if (d->stop) {
            state = strcmp(d->state, "pending") == 0 ? "stopped" : d->state;
        } else if (d->ch == -2) {
            /* every channel, every cycle: a must-answer one stays "sent"
             * (escalation follows); one never reached failed */
            state = strcmp(d->state, "pending") == 0 ? "failed" : d->state;
        } else if (d->ch == -3) {
            state = "nochannel";
        } else if (d->result == YJ_OK) {
            state = "sent";
            bool wait = d->must_ack || strcmp(d->kind, "terminal") == 0;
            next = wait ? now + (int64_t)cfg.ack_wait_s * 1000 : -1;
        } else {
            /* failed: the next channel now, or the next cycle after the pause */
            int plan[8];
            int np = plan_parse(d->plan, plan);
            if (++step >= np) {
                step = 0;
                cycle++;
            }
            next = cycle >= cfg.max_cycles ? -1
                                           : (step == 0 ? now + (int64_t)cfg.retry_s * 1000 : now);
            if (next < 0)
                state = strcmp(d->state, "sent") == 0 ? "sent" : "failed";
        }
        /* who must answer: the wait before escalating starts with the first
         * message out; one who could not be reached at all is passed on now */
        int64_t arm = -1;
        if (d->must_ack && strcmp(state, "sent") == 0)
            arm = now + (int64_t)cfg.escalate_s * 1000;
        else if (d->must_ack && (strcmp(state, "failed") == 0 || strcmp(state, "nochannel") == 0))
            arm = now;
        /* A gateway's receipt (or a loudspeaker's playback) can come back
         * before this round commits: a message it confirms that needs no
         * answer is then delivered already, with nothing more to do. */
        yj_stmt *st = yj_prepare(
            c,
            "UPDATE delivery SET state = CASE WHEN ?1 = 'sent' AND must_ack = 0 AND"
            " delivered_at IS NOT NULL THEN 'delivered' ELSE ?1 END, step = ?2, cycle = ?3,"
            " next_at = CASE WHEN ?1 = 'sent' AND must_ack = 0 AND delivered_at IS NOT NULL"
            " THEN NULL ELSE CAST(?4 AS INTEGER) END, attempts = attempts + ?5,"
            " sent_at = CASE WHEN ?1 = 'sent' THEN COALESCE(sent_at, ?6) ELSE sent_at END,"
            " escalate_at = CASE WHEN CAST(?7 AS INTEGER) IS NOT NULL AND sent_at IS NULL"
            " AND escalated_to IS NULL THEN COALESCE(escalate_at, ?7) ELSE escalate_at END"
            " WHERE id = ?8 AND acked_at IS NULL",
            err);
        if (st == NULL)
            return yj_fail(err);
        yj_bind_text(st, 1, state);
        yj_bind_int(st, 2, step);
        yj_bind_int(st, 3, cycle);
        if (next >= 0)
            yj_bind_int(st, 4, next);
        else
            yj_bind_null(st, 4);
        yj_bind_int(st, 5, d->ch >= 0 ? 1 : 0);
        yj_bind_int(st, 6, now);
        if (arm >= 0)
            yj_bind_int(st, 7, arm);
        else
            yj_bind_null(st, 7);
        yj_bind_int(st, 8, d->id);
        rc = step_done(st, err);
        if (d->ch >= 0 || strcmp(state, d->state) != 0)
            notes_change(ns, d->warning_id, d->region, d->id, d->state,
                         d->ch >= 0 && d->result != YJ_OK ? "attempt_failed" : state);
        if (rc == YJ_OK && (d->ch == -2 || d->ch == -3) && d->must_ack)
            rc = event(c, d->warning_id, d->id, now, d->ch == -2 ? "unanswered" : "nochannel",
                       "system", d->ch == -2 ? "各渠道均已尝试，仍未应答" : "没有可用的送达渠道",
                       d->region, err);
    }
    return rc;
}

/* Rows are updated in id order: two rounds on PostgreSQL never wait on each
 * other's rows crosswise.  (A gateway's batch keeps the order it was sent
 * in — it says what came first — so a round and a batch may still
 * deadlock; PostgreSQL then ends one of them, the batch is answered 503 and
 * sent again, a round is taken up by the next tick.) */
static yj_code apply_round(yj_conn *c, due_item *items, size_t n, int64_t now, notes *ns,
                           yj_err *err)
{
    due_item **order = malloc((n ? n : 1) * sizeof *order);
    if (order == NULL)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < n; i++)
        order[i] = &items[i];
    qsort(order, n, sizeof *order, cmp_due_id);
    yj_code rc = apply_in_order(c, order, n, now, ns, err);
    free(order);
    return rc;
}

/* The follow-up delivery asking person `person` about warning w, or 0. */
static yj_code follow_up_of(yj_conn *c, int64_t w, int64_t person, int64_t *id, yj_err *err)
{
    *id = 0;
    yj_stmt *q = yj_prepare(c,
                            "SELECT id FROM delivery WHERE warning_id = ? AND kind = 'escalation'"
                            " AND ref_id = ? ORDER BY id LIMIT 1",
                            err);
    if (q == NULL)
        return yj_fail(err);
    yj_bind_int(q, 1, w);
    yj_bind_int(q, 2, person);
    int r = yj_step(q, err);
    if (r == 1)
        *id = yj_col_int(q, 0);
    yj_stmt_done(q);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

/* Escalations that are due: the next person, as a new delivery. */
static yj_code escalate_round(yj_conn *c, int64_t now, int *count, notes *ns, yj_err *err)
{
    *count = 0;
    yj_stmt *st =
        yj_prepare(c,
                   "SELECT d.id, d.warning_id, d.kind, d.ref_id, d.region_code, w.region_code"
                   " FROM delivery d JOIN warning w ON w.id = d.warning_id"
                   " WHERE d.escalate_at <= ? AND d.acked_at IS NULL AND w.state = 'published'"
                   " ORDER BY d.escalate_at, d.id LIMIT 200",
                   err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_int(st, 1, now);
    typedef struct {
        int64_t id, warning_id, ref_id;
        char kind[16], region[16], scope[16];
    } esc;
    esc list[200];
    int n = 0, r;
    while (n < 200 && (r = yj_step(st, err)) == 1) {
        esc *e = &list[n++];
        e->id = yj_col_int(st, 0);
        e->warning_id = yj_col_int(st, 1);
        snprintf(e->kind, sizeof e->kind, "%s", yj_col_text(st, 2));
        e->ref_id = yj_col_int(st, 3);
        snprintf(e->region, sizeof e->region, "%s", yj_col_text(st, 4));
        snprintf(e->scope, sizeof e->scope, "%s", yj_col_text(st, 5));
    }
    yj_stmt_done(st);
    if (n == 0)
        return YJ_OK;
    target_set t;
    yj_code rc = target_people(c, &t, err);
    if (rc != YJ_OK)
        return rc;
    inserter in = {.now = now};
    for (int i = 0; i < n && rc == YJ_OK; i++) {
        esc *e = &list[i];
        const tgt_person *next = NULL;
        bool up = false;
        const tgt_person *self =
            strcmp(e->kind, "responsible") == 0 || strcmp(e->kind, "escalation") == 0
                ? target_person_by_id(&t, e->ref_id)
                : NULL;
        if (self)
            next = target_next_person(&t, self, e->scope, &up);
        else if (strcmp(e->kind, "responsible") == 0 || strcmp(e->kind, "escalation") == 0) {
            /* the person went off duty (离岗) since: whoever is on duty for
             * the place now, else the place above */
            next = target_person_above(&t, e->region, e->scope);
            up = next && strcmp(next->region, e->region) != 0;
        } else if (strcmp(e->kind, "contact") == 0 || strcmp(e->kind, "enterprise") == 0) {
            /* a vulnerable person's contact, an enterprise: the place's own
             * responsible person takes over (the same place: not a level up) */
            next = target_person_above(&t, e->region, e->scope);
        }
        /* one follow-up per person and warning: a township head with five
         * silent villages is asked once (the villages all point at it) */
        int64_t new_id = 0;
        if (next && (rc = follow_up_of(c, e->warning_id, next->id, &new_id, err)) != YJ_OK)
            break;
        bool asked_before = new_id != 0;
        if (next && !asked_before) {
            in.warning_id = e->warning_id;
            in.b = yj_bulk_begin(c, "delivery", DELIVERY_COLS, 12, err);
            rc = in.b ? insert_one(&in, "escalation", next->id, e->id, next->phone, next->region,
                                   true, cfg.plan_ack, next->phone[0] == '\0', err)
                      : yj_fail(err);
            yj_code end = yj_bulk_end(in.b, rc == YJ_OK, NULL, rc == YJ_OK ? err : NULL);
            in.b = NULL;
            if (rc == YJ_OK)
                rc = end;
            if (rc == YJ_OK) /* its id */
                rc = follow_up_of(c, e->warning_id, next->id, &new_id, err);
            if (rc == YJ_OK)
                notes_change(ns, e->warning_id, next->region, new_id, NULL,
                             next->phone[0] ? "pending" : "nochannel");
        }
        char note[240];
        static const char *const lvl[] = {"", "村级", "乡级", "县级", "市级", "企业"};
        const char *who = strcmp(e->kind, "contact") == 0      ? "包保联系人"
                          : strcmp(e->kind, "enterprise") == 0 ? "企业安全员"
                                                               : "责任人";
        const char *how = strcmp(e->kind, "contact") == 0 || strcmp(e->kind, "enterprise") == 0
                              ? "转属地"
                          : up ? "转上一级"
                               : "转同级下一顺位";
        if (next)
            snprintf(note, sizeof note, "%s未应答，%s%s责任人（%s）%s", who, how, lvl[next->level],
                     next->region, asked_before ? "，已在督促中" : "");
        else
            snprintf(note, sizeof note, "%s未应答，已无可转的责任人", who);
        if (rc == YJ_OK)
            rc = event(c, e->warning_id, e->id, now, next ? "escalated" : "escalation_exhausted",
                       "system", note, e->region, err);
        yj_stmt *u = rc == YJ_OK ? yj_prepare(c,
                                              "UPDATE delivery SET escalate_at = NULL,"
                                              " escalated_to = ?, level_up = ? WHERE id = ?",
                                              err)
                                 : NULL;
        if (rc == YJ_OK && u == NULL)
            rc = yj_fail(err);
        if (u) {
            if (new_id)
                yj_bind_int(u, 1, new_id);
            else
                yj_bind_null(u, 1);
            yj_bind_int(u, 2, up ? 1 : 0);
            yj_bind_int(u, 3, e->id);
            rc = step_done(u, err);
        }
        notes_change(ns, e->warning_id, e->region, e->id, "unanswered",
                     next ? "escalated" : "escalation_exhausted");
        (*count)++;
    }
    target_set_free(&t);
    return rc;
}

yj_code warning_dispatch_due(yj_store *s, int64_t now, yj_err *err)
{
    yj_conn *c = yj_store_acquire(s);
    due_item *items = NULL;
    size_t n = 0;
    yj_code rc = load_due(c, now, &items, &n, err);
    if (rc == YJ_OK && n) {
        plan_round(items, n, now);
        rc = record_round(c, items, n, now, err);
        if (rc == YJ_OK)
            send_round(items, n, now); /* no transaction is open */
    }
    int escalated = 0;
    notes ns = {0};
    for (size_t i = 0; i < n; i++)
        if (!items[i].deferred)
            notes_add(&ns, items[i].warning_id, items[i].region);
    if (rc == YJ_OK)
        rc = begin_turn(c, err);
    if (rc == YJ_OK && n)
        rc = apply_round(c, items, n, now, &ns, err);
    if (rc == YJ_OK)
        rc = escalate_round(c, now, &escalated, &ns, err);
    if (rc == YJ_OK)
        rc = notes_audit(c, &ns, "timer:warning.dispatch", "dispatch", NULL, err);
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    yj_store_release(s, c);
    notes_send(&ns, rc == YJ_OK, "delivery");
    free_items(items, n);
    (void)escalated;
    return rc;
}

/* ---- acknowledgements -------------------------------------------------------------------- */

/* Record one answer (inside the caller's transaction).  *done: it was
 * open and is now answered. */
static yj_code ack_row(yj_conn *c, int64_t id, const char *via, const char *actor, const char *note,
                       int64_t now, bool *done, notes *ns, yj_err *err)
{
    *done = false;
    yj_stmt *st = yj_prepare(c,
                             "UPDATE delivery SET state = 'acked', acked_at = ?, acked_via = ?,"
                             " acked_by = ?, next_at = NULL, escalate_at = NULL"
                             " WHERE id = ? AND acked_at IS NULL AND must_ack = 1"
                             " RETURNING warning_id, region_code",
                             err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_int(st, 1, now);
    yj_bind_text(st, 2, via);
    yj_bind_text(st, 3, actor);
    yj_bind_int(st, 4, id);
    int r = yj_step(st, err);
    int64_t w = 0;
    char region[16] = "";
    if (r == 1) {
        *done = true;
        w = yj_col_int(st, 0);
        snprintf(region, sizeof region, "%s", yj_col_text(st, 1));
        notes_change(ns, w, region, id, "unanswered", "acked");
    }
    yj_stmt_done(st);
    if (r < 0)
        return yj_fail(err);
    if (*done && note)
        return event(c, w, id, now, "acked", actor, note, region, err);
    return YJ_OK;
}

/* Record answers to the deliveries ids[0..n) that are open and must be
 * answered, inside the caller's transaction: one call-up event each and
 * the rows updated, as two set statements over a JSON list of the ids
 * (a statement per answer cost a quarter of the rate in batches of 10,000;
 * BENCHMARKS.md).  Duplicates and ids already answered are skipped. */
static yj_code ack_set(yj_conn *c, const int64_t *ids, size_t n, const char *via, const char *actor,
                       const char *note, int64_t now, size_t *recorded, notes *ns, yj_err *err)
{
    if (n == 0)
        return YJ_OK;
    yj_buf list;
    yj_buf_init(&list);
    yj_buf_putc(&list, '[');
    for (size_t i = 0; i < n; i++)
        yj_buf_printf(&list, "%s%lld", i ? "," : "", (long long)ids[i]);
    yj_buf_putc(&list, ']');
    /* the events first: both statements see the same open rows */
    yj_code rc = YJ_OK;
    yj_stmt *st = yj_prepare(c,
                             "INSERT INTO callup_event (warning_id, delivery_id, ts, action, actor,"
                             " note, region_code) SELECT warning_id, id, ?, 'acked', ?, ?,"
                             " region_code FROM delivery WHERE id IN yj_int_list(?)"
                             " AND acked_at IS NULL AND must_ack = 1",
                             err);
    if (st == NULL)
        rc = yj_fail(err);
    else {
        yj_bind_int(st, 1, now);
        yj_bind_text(st, 2, actor);
        yj_bind_text(st, 3, note);
        yj_bind_text(st, 4, list.data);
        rc = step_done(st, err);
    }
    st = rc == YJ_OK
             ? yj_prepare(c,
                          "UPDATE delivery SET state = 'acked', acked_at = ?, acked_via = ?,"
                          " acked_by = ?, next_at = NULL, escalate_at = NULL"
                          " WHERE id IN yj_int_list(?)"
                          " AND acked_at IS NULL AND must_ack = 1"
                          " RETURNING warning_id, region_code, id",
                          err)
             : NULL;
    if (rc == YJ_OK && st == NULL)
        rc = yj_fail(err);
    if (st) {
        yj_bind_int(st, 1, now);
        yj_bind_text(st, 2, via);
        yj_bind_text(st, 3, actor);
        yj_bind_text(st, 4, list.data);
        int r;
        while ((r = yj_step(st, err)) == 1) {
            (*recorded)++;
            notes_change(ns, yj_col_int(st, 0), yj_col_text(st, 1), yj_col_int(st, 2), "unanswered",
                         "acked");
        }
        yj_stmt_done(st);
        if (r < 0)
            rc = yj_fail(err);
    }
    yj_buf_free(&list);
    return rc;
}

yj_code callup_ack_batch(yj_store *s, const int64_t *ids, size_t n, const char *via, int64_t now,
                         size_t *recorded, yj_err *err)
{
    *recorded = 0;
    notes ns = {0};
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = begin_turn(c, err);
    if (rc == YJ_OK)
        rc = ack_set(c, ids, n, via, via, "批量确认", now, recorded, &ns, err);
    json_t *how = json_pack("{s:s}", "via", via);
    if (rc == YJ_OK)
        rc = notes_audit(c, &ns, via, "ack", how, err);
    json_decref(how);
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    yj_store_release(s, c);
    notes_send(&ns, rc == YJ_OK, "ack");
    if (rc != YJ_OK)
        *recorded = 0;
    return rc;
}

static yj_code token_row(yj_conn *c, const char *token, json_t **out, yj_err *err)
{
    *out = NULL;
    if (token == NULL || strlen(token) != 32)
        return yj_err_set(err, YJ_ENOTFOUND, NULL, "链接无效或已过期");
    yj_stmt *st =
        yj_prepare(c,
                   "SELECT d.id, d.kind, d.state, d.acked_at, d.acked_via, w.id AS warning_id,"
                   " w.headline, w.level, w.event_type, w.sender_name, w.state AS"
                   " warning_state, w.instruction, w.area_desc FROM delivery d JOIN warning w"
                   " ON w.id = d.warning_id WHERE d.token = ?",
                   err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_text(st, 1, token);
    int r = yj_step(st, err);
    if (r == 1)
        *out = yj_row_json(st);
    yj_stmt_done(st);
    if (r < 0)
        return yj_fail(err);
    if (r == 0)
        return yj_err_set(err, YJ_ENOTFOUND, NULL, "链接无效或已过期");
    json_object_set_new(
        *out, "level_label",
        json_string(warning_level_label((int)json_integer_value(json_object_get(*out, "level")))));
    return YJ_OK;
}

yj_code callup_token_info(yj_store *s, const char *token, json_t **out, yj_err *err)
{
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = token_row(c, token, out, err);
    yj_store_release(s, c);
    return rc;
}

yj_code callup_ack_token(yj_store *s, const char *token, json_t **out, yj_err *err)
{
    *out = NULL;
    yj_conn *c = yj_store_acquire(s);
    json_t *row = NULL;
    yj_code rc = begin_turn(c, err);
    if (rc == YJ_OK)
        rc = token_row(c, token, &row, err);
    bool done = false;
    notes ns = {0};
    if (rc == YJ_OK)
        rc = ack_row(c, json_integer_value(json_object_get(row, "id")), "link", "link",
                     "通过短信链接确认", yj_clock_now(), &done, &ns, err);
    json_t *how = json_pack("{s:s}", "via", "link");
    if (rc == YJ_OK) /* who: whoever holds the link the message carried */
        rc = notes_audit(c, &ns, "link", "ack", how, err);
    json_decref(how);
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    json_decref(row);
    if (rc == YJ_OK)
        rc = token_row(c, token, out, err);
    yj_store_release(s, c);
    notes_send(&ns, rc == YJ_OK && done, "ack");
    return rc;
}

yj_code callup_ack_delivery(yj_store *s, const yj_user *u, int64_t delivery_id, const char *via,
                            const char *note, json_t **out, yj_err *err)
{
    *out = NULL;
    if (via == NULL || (strcmp(via, "app") != 0 && strcmp(via, "phone") != 0))
        return yj_err_set(err, YJ_EINVAL, "via",
                          "via 应为 app（客户端确认）或 phone（值班员登记电话应答）");
    if (strcmp(via, "phone") == 0 && note == NULL)
        return yj_err_set(err, YJ_EINVAL, "note", "登记电话应答须写明通话情况 note");
    yj_scope sc = user_scope(u);
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = begin_turn(c, err);
    yj_sql q;
    yj_sql_init(&q, "SELECT d.must_ack, d.acked_at, w.state FROM delivery d"
                    " JOIN warning w ON w.id = d.warning_id WHERE");
    yj_sql_int(&q, " d.id = ?", delivery_id);
    yj_sql_scope(&q, &sc, &delivery_scope);
    yj_stmt *st = rc == YJ_OK ? yj_sql_prepare(c, &q, err) : NULL;
    yj_sql_free(&q);
    if (rc == YJ_OK && st == NULL)
        rc = yj_fail(err);
    if (st) {
        int r = yj_step(st, err);
        if (r == 0)
            rc = yj_err_set(err, YJ_ENOTFOUND, NULL, "送达记录 %lld 不存在或不在您的辖区内",
                            (long long)delivery_id);
        else if (r < 0)
            rc = yj_fail(err);
        else if (yj_col_int(st, 0) == 0)
            rc = yj_err_set(err, YJ_ECONFLICT, NULL, "该接收人无需应答");
        else if (!yj_col_null(st, 1))
            rc = yj_err_set(err, YJ_ECONFLICT, NULL, "已应答");
        yj_stmt_done(st);
    }
    bool done = false;
    notes ns = {0};
    char text[400];
    snprintf(text, sizeof text, "%s%s%s",
             strcmp(via, "phone") == 0 ? "值班员登记电话应答" : "客户端确认", note ? "：" : "",
             note ? note : "");
    if (rc == YJ_OK)
        rc = ack_row(c, delivery_id, via, u->username, text, yj_clock_now(), &done, &ns, err);
    json_t *how = json_pack("{s:s,s:s}", "via", via, "note", text);
    if (rc == YJ_OK)
        rc = notes_audit(c, &ns, u->username, "ack", how, err);
    json_decref(how);
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    if (rc == YJ_OK) {
        st = yj_prepare(c,
                        "SELECT id, warning_id, kind, state, acked_at, acked_via, acked_by FROM"
                        " delivery WHERE id = ?",
                        NULL);
        if (st) {
            yj_bind_int(st, 1, delivery_id);
            if (yj_step(st, NULL) == 1)
                *out = yj_row_json(st);
            yj_stmt_done(st);
        }
        if (*out == NULL) /* recorded; only the read back failed */
            *out = json_pack("{s:I,s:s,s:s}", "id", (json_int_t)delivery_id, "state", "acked",
                             "acked_via", via);
    }
    yj_store_release(s, c);
    notes_send(&ns, rc == YJ_OK && done, "ack");
    return rc;
}

/* A reply counts as an answer only when it plainly says yes: "1" (what the
 * message asks for), or 收到/确认/明白/知道 in it, or it starts with
 * 好/是/OK/Y; anything with a negation (不/未/没/否/无法/no) never does, so
 * "未收到" is not taken for "收到".  What does not count is still recorded
 * as a call-up event for the duty officer to read. */
bool callup_reply_says_yes(const char *t)
{
    if (t == NULL)
        return false;
    static const char *const no[] = {"不", "未", "没", "否", "无法", "NO", "No", "no"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (strstr(t, no[i]))
            return false;
    while (*t == ' ' || *t == '\t' || *t == '\r' || *t == '\n')
        t++;
    /* "1", "1 收到", "1。" — but not "12" or "10" */
    if (t[0] == '1' && !(t[1] >= '0' && t[1] <= '9'))
        return true;
    static const char *const anywhere[] = {"收到", "确认", "明白", "知道"};
    for (size_t i = 0; i < sizeof anywhere / sizeof anywhere[0]; i++)
        if (strstr(t, anywhere[i]))
            return true;
    static const char *const first[] = {"好", "是", "OK", "ok", "Ok", "Y", "y"};
    for (size_t i = 0; i < sizeof first / sizeof first[0]; i++)
        if (strncmp(t, first[i], strlen(first[i])) == 0)
            return true;
    return false;
}

/* Voice answers of one callback, recorded as one set (ack_set) before
 * the next SMS reply (which may answer the same delivery) and at the end. */
typedef struct {
    int64_t *id;
    size_t n;
} answer_list;

static yj_code answers_flush(yj_conn *c, answer_list *a, int64_t now, int *acked, notes *ns,
                             yj_err *err)
{
    size_t got = 0;
    yj_code rc = ack_set(c, a->id, a->n, "voice", "voice", "语音电话按键确认", now, &got, ns, err);
    a->n = 0;
    *acked += (int)got;
    return rc;
}

/* One gateway event; *acked / *other count what it changed, ns collects
 * the boards to tell; voice answers wait in answers. */
static yj_code gateway_event(yj_conn *c, const json_t *e, int64_t now, int *acked, int *other,
                             answer_list *answers, notes *ns, yj_err *err)
{
    const char *type = json_string_value(json_object_get(e, "type"));
    json_t *idj = json_object_get(e, "id");
    int64_t id = json_is_integer(idj) ? json_integer_value(idj) : 0;
    if (type == NULL ||
        (strcmp(type, "reply") != 0 && strcmp(type, "answer") != 0 && strcmp(type, "receipt") != 0))
        return yj_err_set(err, YJ_EINVAL, "type", "type 应为 receipt、reply 或 answer");
    bool done = false;
    if (strcmp(type, "reply") == 0) {
        yj_code frc = answers_flush(c, answers, now, acked, ns, err);
        if (frc != YJ_OK)
            return frc;
        const char *from = json_string_value(json_object_get(e, "from"));
        const char *text = json_string_value(json_object_get(e, "text"));
        if (from == NULL || text == NULL)
            return yj_err_set(err, YJ_EINVAL, "from", "reply 需要 from 和 text");
        /* which warning: the message replied to when the gateway knows it,
         * else the newest warning with something open for that number */
        yj_stmt *st = yj_prepare(c,
                                 "SELECT d.warning_id, d.id, d.region_code FROM delivery d"
                                 " JOIN warning w"
                                 " ON w.id = d.warning_id WHERE d.address = ? AND d.must_ack = 1"
                                 " AND d.acked_at IS NULL AND w.state = 'published'"
                                 " AND (? = 0 OR d.id = ?) ORDER BY d.id DESC LIMIT 1",
                                 err);
        if (st == NULL)
            return yj_fail(err);
        yj_bind_text(st, 1, from);
        yj_bind_int(st, 2, id);
        yj_bind_int(st, 3, id);
        int r = yj_step(st, err);
        int64_t wid = r == 1 ? yj_col_int(st, 0) : 0, first = r == 1 ? yj_col_int(st, 1) : 0;
        char where[16] = "";
        if (r == 1)
            snprintf(where, sizeof where, "%s", yj_col_text(st, 2));
        yj_stmt_done(st);
        if (r < 0)
            return yj_fail(err);
        if (wid == 0) {
            (*other)++;
            return YJ_OK; /* a reply to nothing open: counted, not an error */
        }
        if (!callup_reply_says_yes(text)) {
            (*other)++;
            char cut[160], note[220];
            yj_utf8_cut(text, 150, cut);
            snprintf(note, sizeof note, "短信回复（未计为应答）：%s", cut);
            return event(c, wid, first, now, "reply", from, note, where, err);
        }
        /* one "1" answers for everything that number was asked in that
         * warning (a township head asked for the township and to follow
         * up a silent village answers both) */
        int64_t ids[64];
        int nids = 0;
        st = yj_prepare(c,
                        "SELECT id FROM delivery WHERE warning_id = ? AND address = ?"
                        " AND must_ack = 1 AND acked_at IS NULL ORDER BY id LIMIT 64",
                        err);
        if (st == NULL)
            return yj_fail(err);
        yj_bind_int(st, 1, wid);
        yj_bind_text(st, 2, from);
        while (nids < 64 && (r = yj_step(st, err)) == 1)
            ids[nids++] = yj_col_int(st, 0);
        yj_stmt_done(st);
        if (r < 0)
            return yj_fail(err);
        yj_code rc = YJ_OK;
        for (int i = 0; i < nids && rc == YJ_OK; i++) {
            rc = ack_row(c, ids[i], "sms", from, "短信回复确认", now, &done, ns, err);
            *acked += done;
        }
        return rc;
    }
    if (id <= 0)
        return yj_err_set(err, YJ_EINVAL, "id", "%s 需要送达记录 id", type);
    if (strcmp(type, "answer") == 0) {
        answers->id[answers->n++] = id; /* recorded together: answers_flush */
        return YJ_OK;
    }
    const char *status = json_string_value(json_object_get(e, "status"));
    bool ok = status && strcmp(status, "delivered") == 0;
    bool failed = status && strcmp(status, "failed") == 0;
    if (!ok && !failed)
        return yj_err_set(err, YJ_EINVAL, "status", "receipt 的 status 应为 delivered 或 failed");
    yj_stmt *st = yj_prepare(
        c,
        ok ? "UPDATE delivery SET delivered_at = COALESCE(delivered_at, ?),"
             " state = CASE WHEN must_ack = 0 AND kind <> 'terminal' AND state = 'sent'"
             " THEN 'delivered' ELSE state END WHERE id = ? RETURNING warning_id, region_code"
           /* a failed receipt: try the next channel now */
           : "UPDATE delivery SET next_at = ? WHERE id = ? AND acked_at IS NULL"
             " AND delivered_at IS NULL AND state = 'sent' RETURNING warning_id, region_code",
        err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_int(st, 1, now);
    yj_bind_int(st, 2, id);
    (*other)++;
    int r = yj_step(st, err);
    if (r == 1) /* the receipt: delivered, or failed (the next channel now) */
        notes_change(ns, yj_col_int(st, 0), yj_col_text(st, 1), id, "sent",
                     ok ? "delivered" : "receipt_failed");
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

yj_code callup_gateway_callback(yj_store *s, const json_t *in, json_t **out, yj_err *err)
{
    *out = NULL;
    const json_t *events = json_object_get(in, "events");
    json_t *one = NULL;
    if (events == NULL) {
        one = json_array();
        json_array_append(one, (json_t *)(uintptr_t)in);
        events = one;
    }
    if (!json_is_array(events) || json_array_size(events) > 10000) {
        json_decref(one);
        return yj_err_set(err, YJ_EINVAL, "events", "events 应为至多 10000 个回执的数组");
    }
    int64_t now = yj_clock_now();
    int acked = 0, other = 0;
    notes ns = {0};
    answer_list answers = {.id = malloc((json_array_size(events) + 1) * sizeof(int64_t))};
    if (answers.id == NULL) {
        json_decref(one);
        return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
    }
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = begin_turn(c, err);
    size_t i;
    json_t *e;
    json_array_foreach((json_t *)(uintptr_t)events, i, e) {
        if (rc != YJ_OK)
            break;
        rc = gateway_event(c, e, now, &acked, &other, &answers, &ns, err);
    }
    if (rc == YJ_OK)
        rc = answers_flush(c, &answers, now, &acked, &ns, err);
    free(answers.id);
    if (rc == YJ_OK) /* who: the gateways, by the token they share */
        rc = notes_audit(c, &ns, "gateway", "callback", NULL, err);
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    yj_store_release(s, c);
    json_decref(one);
    notes_send(&ns, rc == YJ_OK, "ack");
    if (rc != YJ_OK)
        return rc;
    *out = json_pack("{s:i,s:i}", "acked", acked, "recorded", other);
    return YJ_OK;
}

/* A terminal confirmed playback (MQTT thread). */
void deliver_terminal_played(yj_store *s, int64_t delivery_id, const char *topic)
{
    yj_err err;
    yj_err_clear(&err);
    yj_conn *c = yj_store_acquire(s);
    int64_t now = yj_clock_now();
    yj_code rc = begin_turn(c, &err);
    yj_stmt *st = rc == YJ_OK
                      ? yj_prepare(c,
                                   "UPDATE delivery SET state = 'delivered', delivered_at ="
                                   " COALESCE(delivered_at, ?), next_at = NULL WHERE id = ? AND"
                                   " kind = 'terminal' RETURNING warning_id, region_code",
                                   &err)
                      : NULL;
    int64_t w = 0;
    char region[16] = "";
    notes ns = {0};
    if (rc == YJ_OK && st == NULL)
        rc = yj_fail(&err);
    if (st) {
        yj_bind_int(st, 1, now);
        yj_bind_int(st, 2, delivery_id);
        int r = yj_step(st, &err);
        if (r == 1) {
            w = yj_col_int(st, 0);
            snprintf(region, sizeof region, "%s", yj_col_text(st, 1));
            notes_change(&ns, w, region, delivery_id, "sent", "delivered");
        }
        yj_stmt_done(st);
        if (r < 0)
            rc = yj_fail(&err);
    }
    char actor[200];
    snprintf(actor, sizeof actor, "terminal:%s", topic ? topic : "");
    if (rc == YJ_OK && w)
        rc = event(c, w, delivery_id, now, "played", "terminal", "广播终端已播放", region, &err);
    if (rc == YJ_OK)
        rc = notes_audit(c, &ns, actor, "played", NULL, &err);
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, &err);
    else
        yj_tx_rollback(c);
    yj_store_release(s, c);
    if (rc != YJ_OK)
        yj_log(YJ_LOG_ERROR, "warning.terminal_ack_failed", "%s", err.message);
    notes_send(&ns, rc == YJ_OK, "played");
}

/* ---- what the board and the figures show ------------------------------------------------ */

/* The warning, in the caller's read scope. */
static yj_code visible(yj_conn *c, const yj_user *u, int64_t warning_id, int64_t *published_at,
                       yj_err *err)
{
    yj_scope sc = user_scope(u);
    yj_sql q;
    yj_sql_init(&q, "SELECT published_at FROM warning WHERE");
    yj_sql_int(&q, " id = ?", warning_id);
    yj_sql_scope(&q, &sc, &warning_read_scope);
    yj_stmt *st = yj_sql_prepare(c, &q, err);
    yj_sql_free(&q);
    if (st == NULL)
        return yj_fail(err);
    int r = yj_step(st, err);
    if (r == 1 && published_at)
        *published_at = yj_col_null(st, 0) ? 0 : yj_col_int(st, 0);
    yj_stmt_done(st);
    if (r < 0)
        return yj_fail(err);
    if (r == 0)
        return yj_err_set(err, YJ_ENOTFOUND, NULL, "预警 %lld 不存在或不在您的权限范围内",
                          (long long)warning_id);
    return YJ_OK;
}

/* Replace o[key] by its last four digits behind asterisks: always (a
 * delivery's address), or only when it is a phone number (who answered:
 * a number from a gateway, or a user name). */
static void mask_phone(json_t *o, const char *key, bool always)
{
    const char *a = json_string_value(json_object_get(o, key));
    if (a == NULL)
        return;
    size_t al = strlen(a), digits = 0;
    for (size_t i = 0; i < al; i++)
        digits += a[i] >= '0' && a[i] <= '9';
    if (!always && (al < 7 || digits + (a[0] == '+') != al))
        return;
    char masked[24];
    snprintf(masked, sizeof masked, "%s%s", al > 4 ? "*******" : "", al > 4 ? a + al - 4 : a);
    json_object_set_new(o, key, json_string(masked));
}

/* Who may see the people on the board: their names, posts and 老/幼/病/残/孕
 * tags, who answered.  Those who may read residents (with their tags) and
 * responsible people; everyone else who may read the warning gets counts. */
static bool board_names(const yj_user *u)
{
    return perm_field_readable(u->role, "resident", "vulnerable") &&
           perm_allowed(u->role, "responsible_person", YJ_ACT_READ);
}

yj_code callup_board(yj_store *s, const yj_user *u, int64_t warning_id, const char *region,
                     json_t **out, yj_err *err)
{
    *out = NULL;
    yj_scope sc = user_scope(u);
    bool names = board_names(u);
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = visible(c, u, warning_id, NULL, err);
    yj_sql q;
    yj_sql_init(&q, "SELECT d.id, d.kind, d.region_code, d.state, d.attempts, d.sent_at,"
                    " d.delivered_at, d.acked_at, d.acked_via, d.acked_by, d.escalated_to,"
                    " d.level_up, d.for_id, d.address,"
                    " COALESCE(p.name, r.name, e.name) AS name, p.post, p.level AS person_level,"
                    " r.vulnerable, g.name AS region_name"
                    " FROM delivery d"
                    " LEFT JOIN responsible_person p ON p.id = d.ref_id AND d.kind IN"
                    " ('responsible', 'escalation')"
                    " LEFT JOIN resident r ON r.id = d.ref_id AND d.kind = 'contact'"
                    " LEFT JOIN enterprise e ON e.id = d.ref_id AND d.kind = 'enterprise'"
                    " LEFT JOIN region g ON g.code = d.region_code WHERE d.must_ack = 1");
    yj_sql_int(&q, " AND d.warning_id = ?", warning_id);
    yj_sql_scope(&q, &sc, &delivery_scope);
    yj_sql_region(&q, "d.region_code", region);
    yj_sql_add(&q, " ORDER BY d.region_code, d.id LIMIT 5000");
    yj_stmt *st = rc == YJ_OK ? yj_sql_prepare(c, &q, err) : NULL;
    yj_sql_free(&q);
    if (rc == YJ_OK && st == NULL)
        rc = yj_fail(err);
    json_t *people = json_array(), *summary = json_object();
    int64_t total = 0, answered = 0, escalations = 0;
    if (st) {
        int r;
        while ((r = yj_step(st, err)) == 1) {
            json_t *o = yj_row_json(st);
            /* a phone number shows its last four digits only */
            mask_phone(o, "address", true);
            mask_phone(o, "acked_by", false);
            bool ack = !json_is_null(json_object_get(o, "acked_at"));
            total++;
            answered += ack;
            escalations += strcmp(json_string_value(json_object_get(o, "kind")), "escalation") == 0;
            /* per county */
            char county[8];
            snprintf(county, sizeof county, "%.6s",
                     json_string_value(json_object_get(o, "region_code")));
            json_t *g = json_object_get(summary, county);
            if (g == NULL) {
                g = json_pack("{s:s,s:i,s:i}", "region", county, "total", 0, "answered", 0);
                json_object_set_new(summary, county, g);
            }
            json_object_set_new(g, "total",
                                json_integer(json_integer_value(json_object_get(g, "total")) + 1));
            if (ack)
                json_object_set_new(
                    g, "answered",
                    json_integer(json_integer_value(json_object_get(g, "answered")) + 1));
            if (names)
                json_array_append_new(people, o);
            else
                json_decref(o);
        }
        yj_stmt_done(st);
        if (r < 0)
            rc = yj_fail(err);
    }
    json_t *events = json_array();
    /* the events of the caller's region (and those of the whole warning):
     * they tell who did what, so only with the names */
    static const yj_scope_cols event_scope = {.region = "region_code", .unowned_visible = true};
    yj_sql_init(&q, "SELECT ts, action, actor, note, region_code, delivery_id FROM callup_event"
                    " WHERE");
    yj_sql_int(&q, " warning_id = ?", warning_id);
    yj_sql_add(&q, " AND (region_code IS NULL OR (1=1");
    yj_sql_scope(&q, &sc, &event_scope);
    yj_sql_add(&q, ")) ORDER BY id DESC LIMIT 200");
    st = rc == YJ_OK && names ? yj_sql_prepare(c, &q, err) : NULL;
    yj_sql_free(&q);
    if (rc == YJ_OK && names && st == NULL)
        rc = yj_fail(err);
    if (st) {
        int r;
        while ((r = yj_step(st, err)) == 1) {
            json_t *o = yj_row_json(st);
            mask_phone(o, "actor", false);
            json_array_append_new(events, o);
        }
        yj_stmt_done(st);
        if (r < 0)
            rc = yj_fail(err);
    }
    yj_store_release(s, c);
    if (rc != YJ_OK) {
        json_decref(people);
        json_decref(summary);
        json_decref(events);
        return rc;
    }
    json_t *regions = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(summary, k, v)
        json_array_append(regions, v);
    json_decref(summary);
    *out = json_pack("{s:I,s:I,s:I,s:I,s:o,s:b}", "warning_id", (json_int_t)warning_id, "total",
                     (json_int_t)total, "answered", (json_int_t)answered, "escalations",
                     (json_int_t)escalations, "regions", regions, "names", names);
    if (names)
        json_object_set_new(*out, "people", people);
    else
        json_decref(people);
    json_object_set_new(*out, "events", events);
    return YJ_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

typedef struct {
    char region[16];
    int64_t residents, reached, responsible, answered, vulnerable, confirmed, terminals, played;
    int64_t *times;
    size_t ntimes, cap;
} cov_group;

static cov_group *group_of(cov_group **gs, size_t *n, size_t *cap, const char *region, int len)
{
    char key[16];
    snprintf(key, sizeof key, "%.*s", len, region);
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*gs)[i].region, key) == 0)
            return &(*gs)[i];
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        cov_group *p = realloc(*gs, nc * sizeof *p);
        if (p == NULL)
            return NULL;
        *gs = p;
        *cap = nc;
    }
    cov_group *g = &(*gs)[(*n)++];
    memset(g, 0, sizeof *g);
    snprintf(g->region, sizeof g->region, "%s", key);
    return g;
}

static json_t *group_json(cov_group *g, int64_t published)
{
    double share = g->residents ? (double)g->reached / (double)g->residents : 0;
    json_t *t90 = json_null();
    if (g->residents) {
        qsort(g->times, g->ntimes, sizeof *g->times, cmp_i64);
        size_t need = (size_t)ceil(0.9 * (double)g->residents);
        if (need == 0)
            need = 1;
        if (g->ntimes >= need && published)
            t90 = json_real((double)(g->times[need - 1] - published) / 1000.0);
    }
    return json_pack(
        "{s:s,s:I,s:I,s:f,s:o,s:I,s:I,s:f,s:I,s:I,s:f,s:I,s:I}", "region", g->region, "residents",
        (json_int_t)g->residents, "reached", (json_int_t)g->reached, "reached_share", share,
        "time_to_90_s", t90, "responsible", (json_int_t)g->responsible, "answered",
        (json_int_t)g->answered, "answered_share",
        g->responsible ? (double)g->answered / (double)g->responsible : 0.0, "vulnerable",
        (json_int_t)g->vulnerable, "confirmed", (json_int_t)g->confirmed, "confirmed_share",
        g->vulnerable ? (double)g->confirmed / (double)g->vulnerable : 0.0, "terminals",
        (json_int_t)g->terminals, "played", (json_int_t)g->played);
}

static void add_time(cov_group *g, int64_t t)
{
    if (g->ntimes == g->cap) {
        size_t nc = g->cap ? g->cap * 2 : 64;
        int64_t *p = realloc(g->times, nc * sizeof *p);
        if (p == NULL)
            return;
        g->times = p;
        g->cap = nc;
    }
    g->times[g->ntimes++] = t;
}

yj_code callup_coverage(yj_store *s, const yj_user *u, int64_t warning_id, const char *group_by,
                        json_t **out, yj_err *err)
{
    *out = NULL;
    int len = 6;
    if (group_by && strcmp(group_by, "township") == 0)
        len = 9;
    else if (group_by && strcmp(group_by, "village") == 0)
        len = 12;
    else if (group_by && strcmp(group_by, "county") != 0)
        return yj_err_set(err, YJ_EINVAL, "group_by", "group_by 应为 county、township 或 village");
    int64_t published = 0;
    yj_scope sc = user_scope(u);
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = visible(c, u, warning_id, &published, err);
    /* residents: reached when their own message was delivered or their
     * village's loudspeaker confirmed playing, whichever came first — but
     * a resident who is away (外出) hears no loudspeaker at home */
    yj_sql q;
    yj_sql_init(&q, "SELECT d.kind, d.region_code, d.delivered_at, d.acked_at, d.must_ack,"
                    " CASE WHEN d.kind = 'resident' AND EXISTS (SELECT 1 FROM resident r"
                    " WHERE r.id = d.ref_id AND r.status = '外出') THEN NULL ELSE"
                    " (SELECT MIN(t.delivered_at) FROM delivery t WHERE t.warning_id ="
                    " d.warning_id AND t.kind = 'terminal' AND t.region_code = d.region_code"
                    " AND t.delivered_at IS NOT NULL) END AS played_at"
                    " FROM delivery d WHERE d.kind <> 'escalation'");
    yj_sql_int(&q, " AND d.warning_id = ?", warning_id);
    yj_sql_scope(&q, &sc, &delivery_scope);
    yj_stmt *st = rc == YJ_OK ? yj_sql_prepare(c, &q, err) : NULL;
    yj_sql_free(&q);
    if (rc == YJ_OK && st == NULL)
        rc = yj_fail(err);
    cov_group *gs = NULL, total = {.region = ""};
    size_t ng = 0, gcap = 0;
    if (st) {
        int r;
        /* the played-at subquery per row is cached per village by SQLite's
         * planner only loosely; villages are few per warning */
        while ((r = yj_step(st, err)) == 1) {
            const char *kind = yj_col_text(st, 0);
            cov_group *g = group_of(&gs, &ng, &gcap, yj_col_text(st, 1), len);
            if (g == NULL) {
                rc = yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
                break;
            }
            cov_group *both[2] = {g, &total};
            for (int k = 0; k < 2; k++) {
                cov_group *x = both[k];
                if (strcmp(kind, "resident") == 0) {
                    x->residents++;
                    int64_t own = yj_col_null(st, 2) ? INT64_MAX : yj_col_int(st, 2);
                    int64_t played = yj_col_null(st, 5) ? INT64_MAX : yj_col_int(st, 5);
                    int64_t t = own < played ? own : played;
                    if (t != INT64_MAX) {
                        x->reached++;
                        add_time(x, t);
                    }
                } else if (strcmp(kind, "contact") == 0) {
                    x->vulnerable++;
                    x->confirmed += !yj_col_null(st, 3);
                } else if (strcmp(kind, "terminal") == 0) {
                    x->terminals++;
                    x->played += !yj_col_null(st, 2);
                } else if (yj_col_int(st, 4) != 0) { /* responsible people, enterprises */
                    x->responsible++;
                    x->answered += !yj_col_null(st, 3);
                }
            }
        }
        yj_stmt_done(st);
        if (r < 0)
            rc = yj_fail(err);
    }
    yj_store_release(s, c);
    if (rc == YJ_OK) {
        json_t *groups = json_array();
        for (size_t i = 0; i < ng; i++)
            json_array_append_new(groups, group_json(&gs[i], published));
        snprintf(total.region, sizeof total.region, "%s", u->region);
        *out = json_pack("{s:I,s:o,s:o,s:s}", "warning_id", (json_int_t)warning_id, "total",
                         group_json(&total, published), "groups", groups, "group_by",
                         len == 6   ? "county"
                         : len == 9 ? "township"
                                    : "village");
    }
    for (size_t i = 0; i < ng; i++)
        free(gs[i].times);
    free(gs);
    free(total.times);
    return rc;
}

yj_code deliver_list(yj_store *s, const yj_user *u, int64_t warning_id, const char *kind,
                     const char *state, int limit, int64_t offset, json_t **out, yj_err *err)
{
    *out = NULL;
    yj_scope sc = user_scope(u);
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = visible(c, u, warning_id, NULL, err);
    yj_sql q;
    yj_sql_init(&q, "SELECT d.id, d.kind, d.ref_id, d.for_id, d.region_code, d.state, d.plan,"
                    " d.attempts, d.sent_at, d.delivered_at, d.acked_at, d.acked_via, d.must_ack,"
                    " COUNT(*) OVER () AS total FROM delivery d WHERE");
    yj_sql_int(&q, " d.warning_id = ?", warning_id);
    yj_sql_scope(&q, &sc, &delivery_scope);
    if (kind)
        yj_sql_text(&q, " AND d.kind = ?", kind);
    if (state)
        yj_sql_text(&q, " AND d.state = ?", state);
    yj_sql_int(&q, " ORDER BY d.id LIMIT ?", limit > 0 && limit <= 1000 ? limit : 100);
    yj_sql_int(&q, " OFFSET ?", offset);
    yj_stmt *st = rc == YJ_OK ? yj_sql_prepare(c, &q, err) : NULL;
    yj_sql_free(&q);
    if (rc == YJ_OK && st == NULL)
        rc = yj_fail(err);
    json_t *items = json_array();
    int64_t total = 0;
    if (st) {
        int r;
        while ((r = yj_step(st, err)) == 1) {
            json_t *o = yj_row_json(st);
            total = json_integer_value(json_object_get(o, "total"));
            json_object_del(o, "total");
            json_array_append_new(items, o);
        }
        yj_stmt_done(st);
        if (r < 0)
            rc = yj_fail(err);
    }
    /* counts by kind and state, for the progress bars */
    json_t *counts = json_object();
    yj_sql_init(&q, "SELECT d.kind, d.state, COUNT(*) FROM delivery d WHERE");
    yj_sql_int(&q, " d.warning_id = ?", warning_id);
    yj_sql_scope(&q, &sc, &delivery_scope);
    yj_sql_add(&q, " GROUP BY d.kind, d.state");
    st = rc == YJ_OK ? yj_sql_prepare(c, &q, err) : NULL;
    yj_sql_free(&q);
    if (rc == YJ_OK && st == NULL)
        rc = yj_fail(err);
    if (st) {
        int r;
        while ((r = yj_step(st, err)) == 1) {
            json_t *k = json_object_get(counts, yj_col_text(st, 0));
            if (k == NULL) {
                k = json_object();
                json_object_set_new(counts, yj_col_text(st, 0), k);
            }
            json_object_set_new(k, yj_col_text(st, 1), json_integer(yj_col_int(st, 2)));
        }
        yj_stmt_done(st);
        if (r < 0)
            rc = yj_fail(err);
    }
    yj_store_release(s, c);
    if (rc != YJ_OK) {
        json_decref(items);
        json_decref(counts);
        return rc;
    }
    *out = json_pack("{s:o,s:I,s:o}", "items", items, "total", (json_int_t)total, "counts", counts);
    return YJ_OK;
}

yj_code deliver_attempts(yj_store *s, const yj_user *u, int64_t delivery_id, json_t **out,
                         yj_err *err)
{
    *out = NULL;
    yj_scope sc = user_scope(u);
    yj_conn *c = yj_store_acquire(s);
    yj_sql q;
    yj_sql_init(&q, "SELECT d.warning_id FROM delivery d WHERE");
    yj_sql_int(&q, " d.id = ?", delivery_id);
    yj_sql_scope(&q, &sc, &delivery_scope);
    yj_stmt *st = yj_sql_prepare(c, &q, err);
    yj_sql_free(&q);
    yj_code rc = st ? YJ_OK : yj_fail(err);
    int64_t warning_id = 0;
    if (st) {
        int r = yj_step(st, err);
        warning_id = r == 1 ? yj_col_int(st, 0) : 0;
        yj_stmt_done(st);
        if (r < 0)
            rc = yj_fail(err);
        else if (r == 0)
            rc = yj_err_set(err, YJ_ENOTFOUND, NULL, "送达记录 %lld 不存在或不在您的权限范围内",
                            (long long)delivery_id);
    }
    if (rc == YJ_OK)
        rc = visible(c, u, warning_id, NULL, err);
    json_t *items = NULL;
    if (rc == YJ_OK)
        rc = outbox_list(c, "delivery", delivery_id, &items, err);
    yj_store_release(s, c);
    if (rc != YJ_OK)
        return rc;
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o)
        mask_phone(o, "address", false);
    *out = json_pack("{s:I,s:o}", "delivery_id", (json_int_t)delivery_id, "items", items);
    return YJ_OK;
}
