/*
 * workflow.h — state machines declared as tables, walked by one engine.
 *
 * A workflow is the life of one kind of record (an alarm, a work order, a
 * warning): its states and its steps.  A step is a row — action, the
 * states it applies in, the state after, the roles that may take it, a
 * guard (the approval table, "not the submitter"), the body fields it
 * needs and how they are checked, the columns it stamps with who and when,
 * and its side effects (a work order opened, a CAP message written).  The
 * engine does the rest, the same way for every workflow:
 *
 *   1. the record is loaded inside the caller's scope (404 outside it);
 *   2. the step must apply in its state (409: someone else already moved
 *      it), then the caller's If-Match version must be current (412);
 *   3. role, guard and body are checked (403, 422);
 *   4. the state is written with a predicate on the state and version it
 *      was loaded at — of two concurrent steps from one state exactly one
 *      succeeds and the other gets 409, on any store;
 *   5. the step's effect runs in the same transaction, then a timeline row
 *      and an audit entry with the record before and after;
 *   6. after commit, the workflow's live event.
 *
 * wf_actions() answers "which actions may this user take now" from the
 * same rows, so a UI offers exactly what the engine would accept.  Steps a
 * timer takes (expiry) run through wf_apply() inside the timer's own
 * transaction, audited with the timer as the actor.
 */
#ifndef YJ_WORKFLOW_H
#define YJ_WORKFLOW_H

#include "../auth/auth.h"
#include "../core/err.h"
#include "../store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct yj_workflow;
struct yj_wf_step;

/* The states a step applies in: YJ_WF_FROM("acknowledged", "verified"). */
#define YJ_WF_FROM(...) ((const char *const[]){__VA_ARGS__, NULL})
/* The body fields a step needs: YJ_WF_NEEDS("reason"). */
#define YJ_WF_NEEDS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* What a guard, check or effect sees of the step being taken. */
typedef struct {
    yj_conn *conn;
    const struct yj_workflow *wf;
    const struct yj_wf_step *step;
    const yj_user *user; /* NULL when the platform itself acts (a timer) */
    const char *actor;   /* user name, or "timer:<name>" */
    int64_t id;
    const json_t *before; /* the record as loaded */
    const json_t *body;   /* note, reason, verdict ... ({} when none) */
    int64_t now;
    /* An effect may answer with another record than the one acted on (an
     * update makes a new draft) and add to the timeline note. */
    int64_t answer_id;
    char note[600];
} yj_wf_ctx;

typedef struct {
    const char *name;  /* "acknowledged" */
    const char *label; /* "已确认" */
} yj_wf_state;

enum {
    YJ_WF_SYSTEM = 1 << 0, /* only the platform takes it (timers): no user may */
    /* taken through the record's own form (PUT), not POST .../{action}:
     * offered by wf_actions and checked by wf_may like any step */
    YJ_WF_FORM = 1 << 1,
};

typedef struct yj_wf_step {
    const char *action;       /* "acknowledge" */
    const char *label;        /* "确认" (the UI's button) */
    const char *const *from;  /* states it applies in, NULL-terminated */
    const char *to;           /* the state after; NULL: stays */
    unsigned roles;           /* roles that may take it (YJ_R(...)) */
    const char *const *needs; /* body fields that must be non-empty text */
    /* Extra conditions on the record and user (approval table ...); false
     * with err set (YJ_EFORBIDDEN or YJ_ECONFLICT) when not met. */
    bool (*guard)(const yj_wf_ctx *x, yj_err *err);
    /* Body checks beyond presence (which fields a verdict needs ...). */
    yj_code (*check)(const json_t *body, yj_err *err);
    const char *stamp;          /* sets <stamp>_at = now, <stamp>_by = actor */
    const char *const *nullify; /* columns set back to NULL (a rejected submission) */
    /* Runs in the transaction after the state is written. */
    yj_code (*effect)(yj_wf_ctx *x, yj_err *err);
    const char *event; /* the timeline's action; default: the state after, else the action */
    unsigned flags;
} yj_wf_step;

typedef struct yj_workflow {
    const char *name;  /* "alarm": the audit entity and the live event's type */
    const char *table; /* its records */
    /* The timeline: a table of (<fk>, ts, actor, action, note), or NULL. */
    const char *timeline, *timeline_fk;
    const yj_wf_state *states;
    size_t nstates;
    const yj_wf_step *steps;
    size_t nsteps;
    /* The record in the user's scope (NULL user: any), as the API shows it
     * (with "state" and "version").  YJ_ENOTFOUND outside the scope. */
    yj_code (*load)(yj_conn *c, const yj_user *u, int64_t id, json_t **out, yj_err *err);
    /* May this user change the record at all (beyond reading it)?  A
     * warning issued above the user's region, or received from another
     * agency, is read-only.  NULL: every record the user reads.  Checked
     * before any step's own conditions; false with err set. */
    bool (*writable)(const yj_wf_ctx *x, yj_err *err);
    /* After commit: tell whoever listens (the live event). */
    void (*published)(const json_t *after, const char *action);
} yj_workflow;

/* Take a step as a user: one transaction (see above).  if_match: the
 * version the caller saw (required: the router refuses a request without
 * one).  *out: the record answered (the acted-on one, or answer_id's). */
yj_code wf_act(yj_store *s, const yj_workflow *wf, const yj_user *u, int64_t id, const char *action,
               int64_t if_match, const json_t *body, json_t **out, yj_err *err);
/* Take a YJ_WF_FORM step (a draft's edit through PUT): as wf_act, the
 * step's effect writes the body. */
yj_code wf_edit(yj_store *s, const yj_workflow *wf, const yj_user *u, int64_t id,
                const char *action, int64_t if_match, const json_t *body, json_t **out,
                yj_err *err);
/* Take a step as the platform (a timer), inside the caller's transaction;
 * YJ_ECONFLICT when the record is no longer in a state it applies in.
 * *after_out (if given): the record after, for the caller to publish once
 * it has committed (wf->published). */
yj_code wf_apply(yj_conn *c, const yj_workflow *wf, const char *actor, int64_t id,
                 const char *action, const json_t *body, int64_t now, json_t **after_out,
                 yj_err *err);
/* May u take the step on rec now (state, role, guard; not the body)?
 * YJ_OK, or why not (409 state, 403 role or guard) in err. */
yj_code wf_may(yj_conn *c, const yj_workflow *wf, const yj_user *u, const json_t *rec,
               const char *action, yj_err *err);
/* ["acknowledge", ...]: the steps u may take on rec now, in table order. */
json_t *wf_actions(yj_conn *c, const yj_workflow *wf, const yj_user *u, const json_t *rec);
/* The Chinese label of a state ("" when unknown). */
const char *wf_state_label(const yj_workflow *wf, const char *state);
/* Append a timeline row (inside the caller's transaction); also for the
 * rows a workflow writes outside steps (an alarm raised by a reading). */
yj_code wf_timeline(yj_conn *c, const yj_workflow *wf, int64_t id, int64_t ts, const char *actor,
                    const char *action, const char *note, yj_err *err);
/* ... with columns of the workflow's own beside them ({"value": 1.2,
 * "level": 2}: an alarm's reading at the time); NULL: none. */
yj_code wf_timeline_with(yj_conn *c, const yj_workflow *wf, int64_t id, int64_t ts,
                         const char *actor, const char *action, const char *note,
                         const json_t *cols, yj_err *err);

#endif
