/*
 * audit.c — the tamper-evident audit log (审计日志).
 *
 * Every write appends one entry, in the same transaction as the write:
 * who, when, what action on which record, the region the record belongs to
 * (its region_code after the change, else before), and the record before
 * and after as canonical JSON (sorted keys).  Reading the log is scoped by
 * that region like every other read.  Entries are numbered without gaps and
 * each carries
 *
 *     hash = SHA-256(JSON array [prev_hash, id, ts, actor, action, entity,
 *                                record_id, region or null, before or null,
 *                                after or null])
 *
 * so editing, deleting or reordering any entry breaks the chain from there
 * on; audit_verify() walks it and names the first entry that does not fit.
 * Appends take the chain's head row (audit_head) in turn: the UPDATE that
 * numbers an entry locks the row until the writer commits, so on
 * PostgreSQL, with writers on several nodes, the next append waits and then
 * reads the committed head — the chain stays one line in commit order.  On
 * SQLite the write transaction (BEGIN IMMEDIATE) already serialises.
 */
#include "auth.h"
#include "../core/buf.h"
#include "../core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GENESIS_HASH "0000000000000000000000000000000000000000000000000000000000000000"

static void audit_hash(const char *prev, int64_t id, const char *ts, const char *actor,
                       const char *action, const char *entity, int64_t record_id,
                       const char *region, const char *before, const char *after, char out[65])
{
    /* A JSON array: every field delimited and typed, NULL distinct from "". */
    json_t *a = json_pack("[s,I,s,s,s,s,I,s?,s?,s?]", prev, (json_int_t)id, ts, actor, action,
                          entity, (json_int_t)record_id, region, before, after);
    char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    if (text == NULL)
        abort(); /* out of memory: never write an entry with a bogus hash */
    yj_sha256_hex(text, strlen(text), out);
    free(text);
    json_decref(a);
}

static char *canonical(const json_t *v)
{
    return v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
}

/* The head as this transaction has moved it. */
typedef struct {
    int64_t id;
    char hash[65];
} audit_tx_head;

static yj_code head_save(yj_conn *c, void *slot, yj_err *err)
{
    const audit_tx_head *h = slot;
    /* the head was never read (its read failed and the caller went on):
     * committing would reset the chain, so the transaction does not commit */
    if (h->hash[0] == '\0')
        return yj_err_set(err, YJ_EINTERNAL, NULL, "the audit chain's head was not read");
    yj_stmt *st =
        yj_prepare(c, "UPDATE audit_head SET last_id = ?, last_hash = ? WHERE chain = 1", err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_int(st, 1, h->id);
    yj_bind_text(st, 2, h->hash);
    int r = yj_step(st, err);
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

/* Lock the head until commit and read it. */
static yj_code head_take(yj_conn *c, audit_tx_head *h, yj_err *err)
{
    yj_stmt *st = yj_prepare(c,
                             "UPDATE audit_head SET last_id = last_id WHERE chain = 1"
                             " RETURNING last_id, last_hash",
                             err);
    if (st == NULL)
        return yj_fail(err);
    int r = yj_step(st, err);
    if (r == 1) {
        h->id = yj_col_int(st, 0);
        snprintf(h->hash, sizeof h->hash, "%s", yj_col_text(st, 1));
    }
    yj_stmt_done(st);
    if (r < 0)
        return yj_fail(err);
    if (r == 0)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "the audit chain has no head (audit_head)");
    return YJ_OK;
}

yj_code audit_append(yj_conn *c, const char *actor, const char *action, const char *entity,
                     int64_t record_id, const json_t *before, const json_t *after, yj_err *err)
{
    /* In a transaction the head is taken once and written once, at commit. */
    bool fresh = true;
    audit_tx_head *h = yj_tx_local(c, "audit", sizeof *h, head_save, &fresh);
    if (h == NULL) { /* alone: the entry is a transaction of its own */
        yj_code rc = yj_tx_begin(c, err);
        if (rc == YJ_OK)
            rc = audit_append(c, actor, action, entity, record_id, before, after, err);
        if (rc == YJ_OK)
            return yj_tx_commit(c, err);
        yj_tx_rollback(c);
        return rc;
    }
    if (fresh) {
        yj_code rc = head_take(c, h, err);
        if (rc != YJ_OK)
            return rc;
    }
    int64_t id = ++h->id;
    char prev[65];
    snprintf(prev, sizeof prev, "%s", h->hash);

    char ts[40], hash[65];
    yj_time_iso(yj_now_ms(), ts, sizeof ts);
    char *b = canonical(before), *a = canonical(after);
    const char *region = json_string_value(json_object_get(after, "region_code"));
    if (region == NULL)
        region = json_string_value(json_object_get(before, "region_code"));
    audit_hash(prev, id, ts, actor, action, entity, record_id, region, b, a, hash);
    yj_stmt *st =
        yj_prepare(c,
                   "INSERT INTO audit(id, ts, actor, action, entity, record_id, region_code,"
                   " before, after, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                   err);
    yj_code rc = YJ_OK;
    if (st == NULL) {
        rc = yj_fail(err);
    } else {
        yj_bind_int(st, 1, id);
        yj_bind_text(st, 2, ts);
        yj_bind_text(st, 3, actor);
        yj_bind_text(st, 4, action);
        yj_bind_text(st, 5, entity);
        yj_bind_int(st, 6, record_id);
        yj_bind_text(st, 7, region);
        yj_bind_text(st, 8, b);
        yj_bind_text(st, 9, a);
        yj_bind_text(st, 10, prev);
        yj_bind_text(st, 11, hash);
        if (yj_step(st, err) < 0)
            rc = yj_fail(err);
        yj_stmt_done(st);
    }
    if (rc == YJ_OK) {
        snprintf(h->hash, sizeof h->hash, "%s", hash);
    } else {
        h->id--; /* the entry was not written */
    }
    free(b);
    free(a);
    return rc;
}

yj_code audit_verify(yj_store *s, yj_audit_check *out, yj_err *err)
{
    memset(out, 0, sizeof *out);
    out->ok = true;
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_prepare(c,
                             "SELECT id, ts, actor, action, entity, record_id, region_code,"
                             " before, after, prev_hash, hash FROM audit ORDER BY id",
                             err);
    if (st == NULL) {
        yj_store_release(s, c);
        return yj_fail(err);
    }
    char prev[65] = GENESIS_HASH, calc[65];
    int64_t expect_id = 1;
    int r;
    while ((r = yj_step(st, err)) == 1) {
        int64_t id = yj_col_int(st, 0);
        out->entries++;
        const char *why = NULL;
        audit_hash(prev, id, yj_col_text(st, 1), yj_col_text(st, 2), yj_col_text(st, 3),
                   yj_col_text(st, 4), yj_col_int(st, 5),
                   yj_col_null(st, 6) ? NULL : yj_col_text(st, 6),
                   yj_col_null(st, 7) ? NULL : yj_col_text(st, 7),
                   yj_col_null(st, 8) ? NULL : yj_col_text(st, 8), calc);
        if (id != expect_id)
            why = "entries missing before this one (ids are not contiguous)";
        else if (strcmp(yj_col_text(st, 9), prev) != 0)
            why = "prev_hash does not match the previous entry";
        else if (strcmp(yj_col_text(st, 10), calc) != 0)
            why = "contents do not match the entry's hash (edited)";
        if (why) {
            out->ok = false;
            out->first_bad_id = id;
            snprintf(out->reason, sizeof out->reason, "%s", why);
            break;
        }
        snprintf(prev, sizeof prev, "%s", yj_col_text(st, 10));
        out->head_id = id;
        snprintf(out->head_hash, sizeof out->head_hash, "%s", prev);
        expect_id = id + 1;
    }
    yj_stmt_done(st);
    yj_store_release(s, c);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

yj_code audit_check_head(yj_store *s, const char *head, yj_audit_check *out, yj_err *err)
{
    const char *colon = strchr(head, ':');
    char *end = NULL;
    long long id = strtoll(head, &end, 10);
    if (colon == NULL || end != colon || id <= 0 || strlen(colon + 1) != 64)
        return yj_err_set(err, YJ_EINVAL, "head", "head must be ID:HASH as printed by verify");
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_prepare(c, "SELECT hash FROM audit WHERE id = ?", err);
    if (st == NULL) {
        yj_store_release(s, c);
        return yj_fail(err);
    }
    yj_bind_int(st, 1, id);
    int r = yj_step(st, err);
    bool same = r == 1 && strcmp(yj_col_text(st, 0), colon + 1) == 0;
    yj_stmt_done(st);
    yj_store_release(s, c);
    if (r < 0)
        return yj_fail(err);
    if (!same && out->ok) {
        out->ok = false;
        out->first_bad_id = id;
        snprintf(out->reason, sizeof out->reason, "%s",
                 r == 0 ? "the recorded head entry is gone (the log was cut short)"
                        : "the recorded head entry has a different hash (rewritten)");
    }
    return YJ_OK;
}

static json_t *parse_or_null(yj_stmt *st, int i)
{
    if (yj_col_null(st, i))
        return json_null();
    json_t *v = json_loads(yj_col_text(st, i), JSON_DECODE_ANY, NULL);
    return v ? v : json_string(yj_col_text(st, i));
}

/* A side of an entry (before or after) whose record lay outside the
 * reader's region at the time: its content is not the reader's to see (a
 * record moved into a county brings no history of its old county with it). */
static json_t *side_for(const yj_scope *sc, json_t *side)
{
    const char *rc = json_string_value(json_object_get(side, "region_code"));
    if (!json_is_object(side) || rc == NULL || yj_scope_contains(sc, rc))
        return side;
    json_decref(side);
    return json_pack("{s:b,s:s}", "redacted", 1, "reason", "该记录当时不在您的辖区内");
}

void audit_redact(const yj_scope *sc, json_t *entries)
{
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        static const char *const sides[] = {"before", "after"};
        for (size_t k = 0; k < 2; k++) {
            json_t *v = json_object_get(e, sides[k]);
            json_object_set_new(e, sides[k], side_for(sc, json_incref(v)));
        }
    }
}

yj_code audit_list(yj_store *s, const yj_scope *sc, const char *entity, int64_t record_id,
                   int64_t after_id, int limit, int64_t offset, json_t **out, yj_err *err)
{
    *out = json_array();
    /* an entry belongs to its record's region (after the change, else
     * before); entries of no region (a region load) to the top of the tree */
    static const yj_scope_cols audit_cols = {.region = "region_code", .unplaced_to_top = true};
    yj_sql q;
    yj_sql_init(&q, "SELECT id, ts, actor, action, entity, record_id, region_code, before,"
                    " after FROM audit WHERE 1=1");
    yj_sql_scope(&q, sc, &audit_cols);
    if (entity)
        yj_sql_text(&q, " AND entity = ?", entity);
    if (record_id)
        yj_sql_int(&q, " AND record_id = ?", record_id);
    if (after_id)
        yj_sql_int(&q, " AND id > ?", after_id);
    yj_sql_int(&q, " ORDER BY id DESC LIMIT ?", limit);
    yj_sql_int(&q, " OFFSET ?", offset);
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_sql_prepare(c, &q, err);
    yj_sql_free(&q);
    if (st == NULL) {
        yj_store_release(s, c);
        return yj_fail(err);
    }
    int r;
    while ((r = yj_step(st, err)) == 1) {
        json_t *e =
            json_pack("{s:I,s:s,s:s,s:s,s:s,s:I}", "id", (json_int_t)yj_col_int(st, 0), "ts",
                      yj_col_text(st, 1), "actor", yj_col_text(st, 2), "action", yj_col_text(st, 3),
                      "entity", yj_col_text(st, 4), "record_id", (json_int_t)yj_col_int(st, 5));
        json_object_set_new(e, "region_code",
                            yj_col_null(st, 6) ? json_null() : json_string(yj_col_text(st, 6)));
        json_object_set_new(e, "before", side_for(sc, parse_or_null(st, 7)));
        json_object_set_new(e, "after", side_for(sc, parse_or_null(st, 8)));
        json_array_append_new(*out, e);
    }
    yj_stmt_done(st);
    yj_store_release(s, c);
    return r < 0 ? yj_fail(err) : YJ_OK;
}
