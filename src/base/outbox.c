/*
 * outbox.c — every message that leaves the platform, recorded before it
 * leaves (outbox.h).
 */
#include "outbox.h"
#include "node.h"
#include "../auth/auth.h"
#include "../core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static yj_code step_done(yj_stmt *st, yj_err *err)
{
    int r = yj_step(st, err);
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

/* The last attempt at (ref, channel), if it was interrupted. */
static yj_code interrupted_before(yj_conn *c, const outbox_msg *m, int64_t *id, yj_err *err)
{
    *id = 0;
    yj_stmt *st = yj_prepare(c,
                             "SELECT id, state FROM outbox WHERE ref_type = ? AND ref_id = ?"
                             " AND channel = ? ORDER BY id DESC LIMIT 1",
                             err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_text(st, 1, m->ref_type);
    yj_bind_int(st, 2, m->ref_id);
    yj_bind_text(st, 3, m->channel);
    int r = yj_step(st, err);
    if (r == 1 && strcmp(yj_col_text(st, 1), "interrupted") == 0)
        *id = yj_col_int(st, 0);
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

static yj_code insert(yj_conn *c, const outbox_msg *m, const char *state, int64_t now,
                      int64_t resend_of, int64_t *id, yj_err *err)
{
    yj_stmt *st = yj_prepare(c,
                             "INSERT INTO outbox (module, channel, address, ref_type, ref_id,"
                             " payload, state, created_at, resend_of, node)"
                             " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                             err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_text(st, 1, m->module);
    yj_bind_text(st, 2, m->channel);
    yj_bind_text(st, 3, m->address);
    yj_bind_text(st, 4, m->ref_type);
    yj_bind_int(st, 5, m->ref_id);
    yj_bind_text(st, 6, m->payload);
    yj_bind_text(st, 7, state);
    yj_bind_int(st, 8, now);
    if (resend_of)
        yj_bind_int(st, 9, resend_of);
    else
        yj_bind_null(st, 9);
    /* who is sending it: what a dead node left "sending" is found by this */
    yj_bind_text(st, 10, strcmp(state, "sending") == 0 && node_name()[0] ? node_name() : NULL);
    int r = yj_step(st, err);
    if (r == 1 && id)
        *id = yj_col_int(st, 0);
    yj_stmt_done(st);
    return r == 1 ? YJ_OK : yj_fail(err);
}

yj_code outbox_begin(yj_conn *c, const outbox_msg *m, int64_t now, int64_t *id, int64_t *resend_of,
                     yj_err *err)
{
    yj_code rc = interrupted_before(c, m, resend_of, err);
    return rc == YJ_OK ? insert(c, m, "sending", now, *resend_of, id, err) : rc;
}

yj_code outbox_end(yj_conn *c, int64_t id, bool accepted, const char *detail, int64_t now,
                   yj_err *err)
{
    yj_stmt *st = yj_prepare(c,
                             "UPDATE outbox SET state = ?, detail = ?, sent_at = ?"
                             " WHERE id = ? AND state = 'sending'",
                             err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_text(st, 1, accepted ? "accepted" : "failed");
    yj_bind_text(st, 2, detail && detail[0] ? detail : NULL);
    yj_bind_int(st, 3, now);
    yj_bind_int(st, 4, id);
    return step_done(st, err);
}

yj_code outbox_queue(yj_conn *c, const outbox_msg *m, int64_t now, yj_err *err)
{
    return insert(c, m, "queued", now, 0, NULL, err);
}

typedef struct {
    int64_t id;
    char *address, *payload;
    bool resend, taken;
    yj_code result;
    char detail[300];
} queued;

yj_code outbox_flush(yj_store *s, const char *channel, outbox_send_fn send, int64_t now, int *sent,
                     yj_err *err)
{
    *sent = 0;
    yj_conn *c = yj_store_acquire(s);
    queued q[64];
    size_t n = 0;
    /* take them: queued → sending, committed before anything is sent */
    yj_code rc = yj_tx_begin(c, err);
    yj_stmt *st = rc == YJ_OK ? yj_prepare(c,
                                           "SELECT id, address, payload, resend_of FROM outbox"
                                           " WHERE state = 'queued' AND channel = ?"
                                           " ORDER BY id LIMIT 64",
                                           err)
                              : NULL;
    if (rc == YJ_OK && st == NULL)
        rc = yj_fail(err);
    if (st) {
        yj_bind_text(st, 1, channel);
        int r;
        while (n < 64 && (r = yj_step(st, err)) == 1) {
            q[n] = (queued){.id = yj_col_int(st, 0),
                            .address = strdup(yj_col_text(st, 1)),
                            .payload = strdup(yj_col_text(st, 2)),
                            .resend = !yj_col_null(st, 3)};
            n++;
        }
        yj_stmt_done(st);
        if (r < 0)
            rc = yj_fail(err);
    }
    for (size_t i = 0; i < n && rc == YJ_OK; i++) {
        st = yj_prepare(c,
                        "UPDATE outbox SET state = 'sending', node = ? WHERE id = ?"
                        " AND state = 'queued'",
                        err);
        if (st == NULL) {
            rc = yj_fail(err);
            break;
        }
        yj_bind_text(st, 1, node_name()[0] ? node_name() : NULL);
        yj_bind_int(st, 2, q[i].id);
        int r = yj_step(st, err);
        q[i].taken = r >= 0 && yj_stmt_changes(st) > 0; /* not by a concurrent flush */
        yj_stmt_done(st);
        if (r < 0)
            rc = yj_fail(err);
    }
    if (rc == YJ_OK && n)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    /* send, outside any transaction */
    int taken = 0;
    for (size_t i = 0; i < n && rc == YJ_OK; i++) {
        q[i].detail[0] = '\0';
        if (q[i].taken) {
            q[i].result =
                send(q[i].address, q[i].payload, q[i].resend, q[i].detail, sizeof q[i].detail);
            taken++;
        }
    }
    /* the results */
    if (rc == YJ_OK && taken) {
        rc = yj_tx_begin(c, err);
        for (size_t i = 0; i < n && rc == YJ_OK; i++)
            if (q[i].taken)
                rc = outbox_end(c, q[i].id, q[i].result == YJ_OK, q[i].detail, now, err);
        if (rc == YJ_OK)
            rc = yj_tx_commit(c, err);
        else
            yj_tx_rollback(c);
        if (rc == YJ_OK)
            *sent = taken;
    }
    yj_store_release(s, c);
    for (size_t i = 0; i < n; i++) {
        free(q[i].address);
        free(q[i].payload);
    }
    return rc;
}

yj_code outbox_recover(yj_store *s, const char *node, bool unowned, int64_t now, int *n,
                       yj_err *err)
{
    *n = 0;
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = yj_tx_begin(c, err);
    json_t *ids = json_array();
    /* the dead node's rows, and (at a node's own start) those no node owns:
     * sent before nodes had names */
    yj_stmt *st = rc == YJ_OK ? yj_prepare(c,
                                           "SELECT id, module, channel, address, ref_type,"
                                           " ref_id, payload FROM outbox"
                                           " WHERE state = 'sending' AND (node = ?"
                                           " OR (node IS NULL AND ? = 1)) ORDER BY id",
                                           err)
                              : NULL;
    if (rc == YJ_OK && st == NULL)
        rc = yj_fail(err);
    if (st) {
        yj_bind_text(st, 1, node);
        yj_bind_int(st, 2, unowned);
    }
    /* queued messages among them: sent again, as resends */
    json_t *again = json_array();
    if (st) {
        int r;
        while ((r = yj_step(st, err)) == 1) {
            json_array_append_new(ids, json_integer(yj_col_int(st, 0)));
            if (!yj_col_null(st, 6))
                json_array_append_new(
                    again, json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:s}", "id",
                                     (json_int_t)yj_col_int(st, 0), "module", yj_col_text(st, 1),
                                     "channel", yj_col_text(st, 2), "address", yj_col_text(st, 3),
                                     "ref_type", yj_col_text(st, 4), "ref_id",
                                     (json_int_t)yj_col_int(st, 5), "payload", yj_col_text(st, 6)));
        }
        yj_stmt_done(st);
        if (r < 0)
            rc = yj_fail(err);
    }
    if (rc == YJ_OK && json_array_size(ids)) {
        st = yj_prepare(c,
                        "UPDATE outbox SET state = 'interrupted', sent_at = ?,"
                        " detail = '发送过程中平台中断，对方是否收到未知'"
                        " WHERE state = 'sending' AND (node = ? OR (node IS NULL AND ? = 1))",
                        err);
        if (st == NULL)
            rc = yj_fail(err);
        else {
            yj_bind_int(st, 1, now);
            yj_bind_text(st, 2, node);
            yj_bind_int(st, 3, unowned);
            rc = step_done(st, err);
        }
    }
    size_t i;
    json_t *v;
    json_array_foreach(rc == YJ_OK ? again : NULL, i, v) {
        outbox_msg m = {.module = json_string_value(json_object_get(v, "module")),
                        .channel = json_string_value(json_object_get(v, "channel")),
                        .address = json_string_value(json_object_get(v, "address")),
                        .ref_type = json_string_value(json_object_get(v, "ref_type")),
                        .ref_id = json_integer_value(json_object_get(v, "ref_id")),
                        .payload = json_string_value(json_object_get(v, "payload"))};
        rc = insert(c, &m, "queued", now, json_integer_value(json_object_get(v, "id")), NULL, err);
        if (rc != YJ_OK)
            break;
    }
    if (rc == YJ_OK && json_array_size(ids)) {
        json_t *after =
            json_pack("{s:s,s:s,s:O}", "state", "interrupted", "node", node, "ids", ids);
        char actor[96];
        snprintf(actor, sizeof actor, "node:%s", node_name()[0] ? node_name() : node);
        rc = audit_append(c, actor, "interrupted", "outbox", 0, NULL, after, err);
        json_decref(after);
    }
    if (rc == YJ_OK && json_array_size(ids))
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    yj_store_release(s, c);
    if (rc == YJ_OK)
        *n = (int)json_array_size(ids);
    json_decref(ids);
    json_decref(again);
    return rc;
}

yj_code outbox_orphans(yj_store *s, int64_t now, int *n, yj_err *err)
{
    *n = 0;
    char nodes[16][64];
    size_t nn = 0;
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_prepare(c,
                             "SELECT DISTINCT node FROM outbox WHERE state = 'sending'"
                             " AND node IS NOT NULL AND node <> ? ORDER BY node",
                             err);
    int r = st ? 0 : -1;
    if (st) {
        yj_bind_text(st, 1, node_name());
        while (nn < 16 && (r = yj_step(st, err)) == 1)
            snprintf(nodes[nn++], sizeof nodes[0], "%s", yj_col_text(st, 0));
        yj_stmt_done(st);
    }
    yj_store_release(s, c);
    if (r < 0)
        return yj_fail(err);
    yj_code rc = YJ_OK;
    for (size_t i = 0; i < nn && rc == YJ_OK; i++) {
        yj_lock *l = node_take_dead(s, nodes[i]);
        if (l == NULL)
            continue; /* alive: its rows are being sent */
        int k = 0;
        rc = outbox_recover(s, nodes[i], false, now, &k, err);
        node_release(l);
        if (rc == YJ_OK && k)
            yj_log(YJ_LOG_WARN, "outbox.orphans",
                   "node %s died sending %d message(s): marked interrupted, queued again", nodes[i],
                   k);
        *n += k;
    }
    return rc;
}

yj_code outbox_list(yj_conn *c, const char *ref_type, int64_t ref_id, json_t **out, yj_err *err)
{
    *out = NULL;
    yj_stmt *st = yj_prepare(c,
                             "SELECT id, created_at AS ts, channel, address, state, detail,"
                             " sent_at, resend_of FROM outbox WHERE ref_type = ? AND ref_id = ?"
                             " ORDER BY id LIMIT 1000",
                             err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_text(st, 1, ref_type);
    yj_bind_int(st, 2, ref_id);
    *out = yj_rows_json(st, err);
    return *out ? YJ_OK : yj_fail(err);
}
