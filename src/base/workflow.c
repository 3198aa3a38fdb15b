/*
 * workflow.c — the one engine every state machine runs on (workflow.h).
 */
#include "workflow.h"
#include "../core/buf.h"
#include "../core/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const yj_wf_step *step_of(const yj_workflow *wf, const char *action)
{
    for (size_t i = 0; action && i < wf->nsteps; i++)
        if (strcmp(wf->steps[i].action, action) == 0)
            return &wf->steps[i];
    return NULL;
}

static bool applies_in(const yj_wf_step *st, const char *state)
{
    for (size_t i = 0; state && st->from[i]; i++)
        if (strcmp(st->from[i], state) == 0)
            return true;
    return false;
}

const char *wf_state_label(const yj_workflow *wf, const char *state)
{
    for (size_t i = 0; state && i < wf->nstates; i++)
        if (strcmp(wf->states[i].name, state) == 0)
            return wf->states[i].label;
    return state ? state : "";
}

static const char *text_of(const json_t *body, const char *key)
{
    const char *v = json_string_value(json_object_get(body, key));
    return v && v[0] ? v : NULL;
}

yj_code wf_timeline_with(yj_conn *c, const yj_workflow *wf, int64_t id, int64_t ts,
                         const char *actor, const char *action, const char *note,
                         const json_t *cols, yj_err *err)
{
    if (wf->timeline == NULL)
        return YJ_OK;
    yj_sql q;
    yj_sql_init(&q, NULL);
    yj_sql_addf(&q, "INSERT INTO %s (%s, ts, actor, action, note", wf->timeline, wf->timeline_fk);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)cols, k, v)
        yj_sql_addf(&q, ", %s", k);
    yj_sql_int(&q, ") VALUES (?", id);
    yj_sql_int(&q, ", ?", ts);
    yj_sql_text(&q, ", ?", actor);
    yj_sql_text(&q, ", ?", action);
    if (note && note[0])
        yj_sql_text(&q, ", ?", note);
    else
        yj_sql_null(&q, ", ?");
    json_object_foreach((json_t *)(uintptr_t)cols, k, v)
        yj_sql_json(&q, ", ?", v);
    yj_sql_add(&q, ")");
    yj_stmt *st = yj_sql_prepare(c, &q, err);
    yj_sql_free(&q);
    if (st == NULL)
        return yj_fail(err);
    int r = yj_step(st, err);
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

yj_code wf_timeline(yj_conn *c, const yj_workflow *wf, int64_t id, int64_t ts, const char *actor,
                    const char *action, const char *note, yj_err *err)
{
    return wf_timeline_with(c, wf, id, ts, actor, action, note, NULL, err);
}

/* The state write, guarded by the state and version the record was read at. */
static yj_code write_state(yj_wf_ctx *x, const char *state, int64_t version, yj_err *err)
{
    const yj_wf_step *st = x->step;
    yj_sql q;
    yj_sql_init(&q, NULL);
    yj_sql_addf(&q, "UPDATE %s SET version = version + 1", x->wf->table);
    if (st->to)
        yj_sql_text(&q, ", state = ?", st->to);
    if (st->stamp) {
        char frag[96];
        snprintf(frag, sizeof frag, ", %s_at = ?", st->stamp);
        yj_sql_int(&q, frag, x->now);
        snprintf(frag, sizeof frag, ", %s_by = ?", st->stamp);
        yj_sql_text(&q, frag, x->actor);
    }
    for (size_t i = 0; st->nullify && st->nullify[i]; i++)
        yj_sql_addf(&q, ", %s = NULL", st->nullify[i]);
    yj_sql_int(&q, " WHERE id = ?", x->id);
    yj_sql_text(&q, " AND state = ?", state);
    yj_sql_int(&q, " AND version = ?", version);
    yj_stmt *s = yj_sql_prepare(x->conn, &q, err);
    yj_sql_free(&q);
    if (s == NULL)
        return yj_fail(err);
    int r = yj_step(s, err);
    int64_t changed = yj_stmt_changes(s);
    yj_stmt_done(s);
    if (r < 0)
        return yj_fail(err);
    if (changed == 0) /* another step got there first */
        return yj_err_set(err, YJ_ECONFLICT, "state", "已被他人处理，请刷新后再试");
    return YJ_OK;
}

/* The default timeline note: what the body says (note, cause, reason). */
static void default_note(yj_wf_ctx *x)
{
    static const char *const keys[] = {"note", "cause", "reason"};
    size_t n = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = text_of(x->body, keys[i]);
        if (v)
            n += (size_t)snprintf(x->note + n, n < sizeof x->note ? sizeof x->note - n : 0, "%s%s",
                                  n ? "；" : "", v);
        if (n >= sizeof x->note)
            break;
    }
}

/* Steps 3 to 5 of workflow.h on a loaded record; the checks a user's step
 * passes besides state and version. */
static yj_code take(yj_wf_ctx *x, json_t **after, yj_err *err)
{
    const yj_wf_step *st = x->step;
    const char *state = json_string_value(json_object_get(x->before, "state"));
    int64_t version = json_integer_value(json_object_get(x->before, "version"));
    default_note(x);
    yj_code rc = write_state(x, state, version, err);
    if (rc == YJ_OK && st->effect)
        rc = st->effect(x, err);
    const char *event = st->event ? st->event : st->to ? st->to : st->action;
    if (rc == YJ_OK)
        rc = wf_timeline(x->conn, x->wf, x->id, x->now, x->actor, event, x->note, err);
    if (rc == YJ_OK)
        rc = x->wf->load(x->conn, NULL, x->id, after, err);
    if (rc == YJ_OK)
        rc =
            audit_append(x->conn, x->actor, st->action, x->wf->name, x->id, x->before, *after, err);
    return rc;
}

static yj_code user_checks(yj_wf_ctx *x, int64_t if_match, yj_err *err)
{
    const yj_wf_step *st = x->step;
    const char *state = json_string_value(json_object_get(x->before, "state"));
    int64_t version = json_integer_value(json_object_get(x->before, "version"));
    if (x->wf->writable && !x->wf->writable(x, err))
        return err && err->code != YJ_OK ? err->code : YJ_EFORBIDDEN;
    if (!applies_in(st, state))
        return yj_err_set(err, YJ_ECONFLICT, "state", "当前为「%s」，不能%s",
                          wf_state_label(x->wf, state), st->label);
    if (if_match != version)
        return yj_err_set(err, YJ_ESTALE, NULL, "已被他人修改（现为第 %lld 版），请刷新后再操作",
                          (long long)version);
    if (!(st->roles & YJ_ROLE_BIT(x->user->role)))
        return yj_err_set(err, YJ_EFORBIDDEN, NULL, "角色「%s」不能%s", role_label(x->user->role),
                          st->label);
    for (size_t i = 0; st->needs && st->needs[i]; i++)
        if (text_of(x->body, st->needs[i]) == NULL)
            return yj_err_set(err, YJ_EINVAL, st->needs[i], "%s须填写 %s", st->label, st->needs[i]);
    yj_code rc = st->check ? st->check(x->body, err) : YJ_OK;
    if (rc == YJ_OK && st->guard && !st->guard(x, err))
        rc = err && err->code != YJ_OK ? err->code : YJ_EFORBIDDEN;
    return rc;
}

static yj_code act(yj_store *s, const yj_workflow *wf, const yj_user *u, int64_t id,
                   const char *action, int64_t if_match, const json_t *body, bool form,
                   json_t **out, yj_err *err)
{
    *out = NULL;
    const yj_wf_step *st = step_of(wf, action);
    if (st && form != !!(st->flags & YJ_WF_FORM))
        st = NULL;
    if (st == NULL || (st->flags & YJ_WF_SYSTEM)) {
        yj_buf names;
        yj_buf_init(&names);
        for (size_t i = 0; i < wf->nsteps; i++)
            if (!(wf->steps[i].flags & (YJ_WF_SYSTEM | YJ_WF_FORM)))
                yj_buf_printf(&names, "%s%s", names.len ? "、" : "", wf->steps[i].action);
        yj_code rc =
            yj_err_set(err, YJ_ENOTFOUND, NULL, "未知操作 %s（可用：%s）", action, names.data);
        yj_buf_free(&names);
        return rc;
    }
    json_t *empty = json_object();
    yj_wf_ctx x = {.wf = wf,
                   .step = st,
                   .user = u,
                   .actor = u->username,
                   .id = id,
                   .body = json_is_object(body) ? body : empty,
                   .now = yj_clock_now(),
                   .answer_id = id};
    x.conn = yj_store_acquire(s);
    json_t *before = NULL, *after = NULL;
    yj_code rc = yj_tx_begin(x.conn, err);
    if (rc == YJ_OK)
        rc = wf->load(x.conn, u, id, &before, err);
    x.before = before;
    if (rc == YJ_OK)
        rc = user_checks(&x, if_match, err);
    if (rc == YJ_OK)
        rc = take(&x, &after, err);
    if (rc == YJ_OK)
        rc = yj_tx_commit(x.conn, err);
    else
        yj_tx_rollback(x.conn);
    bool done = rc == YJ_OK;
    if (done) {
        /* the step is taken: the answer is read again as the user sees it;
         * if that read fails, the record as the step left it (never an
         * error for what has happened) */
        yj_err e2;
        yj_err_clear(&e2);
        if (wf->load(x.conn, u, x.answer_id, out, &e2) != YJ_OK)
            *out = x.answer_id == id ? json_incref(after) : json_pack("{s:I}", "id", x.answer_id);
        json_object_set_new(*out, "actions", wf_actions(x.conn, wf, u, *out));
    }
    yj_store_release(s, x.conn);
    if (done && wf->published)
        wf->published(after, st->event ? st->event : st->to ? st->to : st->action);
    json_decref(before);
    json_decref(after);
    json_decref(empty);
    return rc;
}

yj_code wf_act(yj_store *s, const yj_workflow *wf, const yj_user *u, int64_t id, const char *action,
               int64_t if_match, const json_t *body, json_t **out, yj_err *err)
{
    return act(s, wf, u, id, action, if_match, body, false, out, err);
}

yj_code wf_edit(yj_store *s, const yj_workflow *wf, const yj_user *u, int64_t id,
                const char *action, int64_t if_match, const json_t *body, json_t **out, yj_err *err)
{
    return act(s, wf, u, id, action, if_match, body, true, out, err);
}

yj_code wf_apply(yj_conn *c, const yj_workflow *wf, const char *actor, int64_t id,
                 const char *action, const json_t *body, int64_t now, json_t **after_out,
                 yj_err *err)
{
    const yj_wf_step *st = step_of(wf, action);
    if (st == NULL)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "workflow %s has no step %s", wf->name, action);
    json_t *empty = json_object(), *before = NULL, *after = NULL;
    yj_wf_ctx x = {.conn = c,
                   .wf = wf,
                   .step = st,
                   .actor = actor,
                   .id = id,
                   .body = json_is_object(body) ? body : empty,
                   .now = now,
                   .answer_id = id};
    yj_code rc = wf->load(c, NULL, id, &before, err);
    x.before = before;
    if (rc == YJ_OK && !applies_in(st, json_string_value(json_object_get(before, "state"))))
        rc = yj_err_set(err, YJ_ECONFLICT, "state", "no longer in a state %s applies in", action);
    if (rc == YJ_OK)
        rc = take(&x, &after, err);
    if (rc == YJ_OK && after_out)
        *after_out = json_incref(after);
    json_decref(before);
    json_decref(after);
    json_decref(empty);
    return rc;
}

/* Everything but the body: may u take step st on rec now?  err may be
 * NULL (wf_actions only asks yes or no). */
static yj_code may(yj_conn *c, const yj_workflow *wf, const yj_wf_step *st, const yj_user *u,
                   const json_t *rec, yj_err *err)
{
    json_t *empty = json_object(); /* guards look at the record and the user, not the body */
    const char *state = json_string_value(json_object_get(rec, "state"));
    yj_wf_ctx x = {.conn = c,
                   .wf = wf,
                   .step = st,
                   .user = u,
                   .actor = u->username,
                   .id = json_integer_value(json_object_get(rec, "id")),
                   .before = rec,
                   .body = empty,
                   .now = yj_clock_now()};
    yj_code rc = YJ_OK;
    if (wf->writable && !wf->writable(&x, err))
        rc = err && err->code != YJ_OK ? err->code : YJ_EFORBIDDEN;
    else if (!applies_in(st, state))
        rc = yj_err_set(err, YJ_ECONFLICT, "state", "当前为「%s」，不能%s",
                        wf_state_label(wf, state), st->label);
    else if (!(st->roles & YJ_ROLE_BIT(u->role)))
        rc = yj_err_set(err, YJ_EFORBIDDEN, NULL, "角色「%s」不能%s", role_label(u->role),
                        st->label);
    else if (st->guard && !st->guard(&x, err))
        rc = err && err->code != YJ_OK ? err->code : YJ_EFORBIDDEN;
    json_decref(empty);
    return rc;
}

yj_code wf_may(yj_conn *c, const yj_workflow *wf, const yj_user *u, const json_t *rec,
               const char *action, yj_err *err)
{
    const yj_wf_step *st = step_of(wf, action);
    if (st == NULL || (st->flags & YJ_WF_SYSTEM))
        return yj_err_set(err, YJ_EINTERNAL, NULL, "workflow %s has no step %s", wf->name, action);
    return may(c, wf, st, u, rec, err);
}

json_t *wf_actions(yj_conn *c, const yj_workflow *wf, const yj_user *u, const json_t *rec)
{
    json_t *out = json_array();
    for (size_t i = 0; u && i < wf->nsteps; i++) {
        const yj_wf_step *st = &wf->steps[i];
        if (!(st->flags & YJ_WF_SYSTEM) && may(c, wf, st, u, rec, NULL) == YJ_OK)
            json_array_append_new(out, json_string(st->action));
    }
    return out;
}
