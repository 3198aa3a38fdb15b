/*
 * rules.c — the rule engine: one rule, one sensor, one reading at a time.
 *
 * Pure functions over mon_rule_state; the runtime (runtime.c) owns the
 * states and turns the events into alarms.  Nothing here touches the store
 * or takes a lock, so the ingest path evaluates millions of readings a
 * second (bench/ingest_inproc.c).
 *
 * Threshold semantics (阈值): a severity s is "met" by a value at or beyond
 * t[s] (above for high rules, below for low).  A severity is raised once it
 * has been met continuously for duration_ms.  Once raised, severity s stays
 * until the value comes back past t[s] - hysteresis (t[s] + hysteresis for
 * low rules); it then drops to the highest severity still held, or clears.
 */
#include "monitor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct mon_ring {
    int64_t *ts;
    double *v;
    size_t cap, head, n; /* oldest at head */
};

static bool ring_push(mon_ring **rp, int64_t ts, double v, int64_t keep_ms)
{
    mon_ring *r = *rp;
    if (r == NULL) {
        r = calloc(1, sizeof *r);
        if (r == NULL)
            return false;
        *rp = r;
    }
    /* drop samples older than the longest window */
    while (r->n > 0 && r->ts[r->head] <= ts - keep_ms) {
        r->head = (r->head + 1) % r->cap;
        r->n--;
    }
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 8;
        int64_t *nts = malloc(ncap * sizeof *nts);
        double *nv = malloc(ncap * sizeof *nv);
        if (nts == NULL || nv == NULL) {
            free(nts);
            free(nv);
            return false;
        }
        for (size_t i = 0; i < r->n; i++) {
            nts[i] = r->ts[(r->head + i) % r->cap];
            nv[i] = r->v[(r->head + i) % r->cap];
        }
        free(r->ts);
        free(r->v);
        r->ts = nts;
        r->v = nv;
        r->cap = ncap;
        r->head = 0;
    }
    size_t at = (r->head + r->n) % r->cap;
    r->ts[at] = ts;
    r->v[at] = v;
    r->n++;
    return true;
}

void mon_rule_state_free(mon_rule_state *st)
{
    if (st->ring) {
        free(st->ring->ts);
        free(st->ring->v);
        free(st->ring);
        st->ring = NULL;
    }
}

/* Is v at or beyond threshold t in the rule's direction (shifted by off
 * towards "safe" when off > 0)? */
static inline bool beyond(bool high, double v, double t, double off)
{
    return high ? v >= t - off : v <= t + off;
}

static mon_rule_event finish(mon_rule_state *st, int new_sev, double value)
{
    mon_rule_event ev = {MON_EV_NONE, new_sev, value};
    bool worse =
        st->rule->high || st->rule->kind == MON_RULE_SUM ? value > st->peak : value < st->peak;
    if (new_sev > st->active) {
        if (st->active == 0 || worse)
            st->peak = value;
        ev.kind = MON_EV_RAISE;
        if (new_sev > st->peak_sev)
            st->peak_sev = (uint8_t)new_sev;
    } else if (new_sev == 0 && st->active > 0) {
        ev.kind = MON_EV_CLEAR;
    } else if (st->active > 0) {
        if (worse)
            st->peak = value;
        ev.kind = MON_EV_CONTINUE;
    }
    st->active = (uint8_t)new_sev;
    return ev;
}

static mon_rule_event eval_threshold(mon_rule_state *st, int64_t ts, double v)
{
    const mon_rule *r = st->rule;
    int due = 0, held = 0;
    for (int s = 1; s <= 4; s++) {
        double t = r->t[s - 1];
        if (isnan(t))
            continue;
        if (beyond(r->high, v, t, 0)) {
            if (st->since[s - 1] == 0)
                st->since[s - 1] = ts;
            if (ts - st->since[s - 1] >= r->duration_ms)
                due = s;
        } else {
            st->since[s - 1] = 0;
        }
        if (s <= st->active && beyond(r->high, v, t, r->hysteresis))
            held = s;
    }
    return finish(st, due > held ? due : held, v);
}

static mon_rule_event eval_rate(mon_rule_state *st, int64_t ts, double v)
{
    const mon_rule *r = st->rule;
    if (!ring_push(&st->ring, ts, v, r->window_ms))
        return (mon_rule_event){MON_EV_NONE, st->active, v};
    mon_ring *g = st->ring;
    double change = v - g->v[g->head]; /* against the oldest sample in the window */
    bool met = r->high ? change >= r->delta : -change >= r->delta;
    return finish(st, met ? r->sev : 0, change);
}

static mon_rule_event eval_sum(mon_rule_state *st, int64_t ts, double v)
{
    const mon_rule *r = st->rule;
    int64_t keep = 0;
    for (int s = 0; s < 4; s++)
        if (r->windows[s] > keep)
            keep = r->windows[s];
    if (!ring_push(&st->ring, ts, v, keep))
        return (mon_rule_event){MON_EV_NONE, st->active, v};
    mon_ring *g = st->ring;
    int sev = 0;
    double judged = 0;
    for (int s = 4; s >= 1; s--) {
        if (isnan(r->t[s - 1]))
            continue;
        double sum = 0;
        for (size_t i = 0; i < g->n; i++) {
            size_t at = (g->head + i) % g->cap;
            if (g->ts[at] > ts - r->windows[s - 1])
                sum += g->v[at];
        }
        if (sum >= r->t[s - 1] && sev == 0) {
            sev = s;
            judged = sum;
        }
        if (judged == 0 && sum > judged)
            judged = sum;
    }
    return finish(st, sev, judged);
}

static mon_rule_event eval_multi(mon_rule_state *st, int64_t ts, mon_member_fn member, void *ctx)
{
    const mon_rule *r = st->rule;
    int count = 0;
    double worst = r->high ? -INFINITY : INFINITY;
    for (int i = 0; i < r->nmembers; i++) {
        double mv;
        if (member == NULL || !member(r->members[i], ts, &mv, ctx))
            continue;
        if (beyond(r->high, mv, r->t[0], 0))
            count++;
        if (r->high ? mv > worst : mv < worst)
            worst = mv;
    }
    if (!isfinite(worst))
        worst = 0;
    return finish(st, count >= r->min_count ? r->sev : 0, worst);
}

mon_rule_event mon_rule_eval(mon_rule_state *st, int64_t ts, double value, mon_member_fn member,
                             void *ctx)
{
    switch (st->rule->kind) {
    case MON_RULE_THRESHOLD:
        return eval_threshold(st, ts, value);
    case MON_RULE_RATE:
        return eval_rate(st, ts, value);
    case MON_RULE_SUM:
        return eval_sum(st, ts, value);
    case MON_RULE_MULTI:
        return eval_multi(st, ts, member, ctx);
    case MON_RULE_GAP:
        /* a reading arrived: the sensor is back */
        return finish(st, 0, value);
    default:
        return (mon_rule_event){MON_EV_NONE, 0, value};
    }
}

mon_rule_event mon_rule_eval_gap(mon_rule_state *st, int64_t last_ts, int64_t now)
{
    if (st->rule->kind != MON_RULE_GAP || st->active)
        return (mon_rule_event){MON_EV_NONE, st->active, 0};
    double silent_min = (double)(now - last_ts) / 60000.0;
    if (now - last_ts < st->rule->gap_ms)
        return (mon_rule_event){MON_EV_NONE, 0, silent_min};
    return finish(st, st->rule->sev, silent_min);
}
