/*
 * target.h — who a warning's area reaches (private to src/warning).
 *
 * An immutable in-memory snapshot of the targeting registries (residents,
 * broadcast terminals, enterprises, responsible people), sorted by region
 * code for prefix ranges and bucketed in a 0.01° grid for geometry, is
 * rebuilt when any of those tables changes (their generations).  Resolving
 * an area is then: region codes by binary search, polygons and circles by
 * the grid cells their bounding box covers and an exact test per point
 * (a point on a polygon's edge or a circle's rim is inside) — for a
 * polygon only in the cells one of its edges passes near, and against
 * only the edges that reach the point's grid column; a cell away from
 * every edge is inside or outside as a whole, as its centre is.  The
 * union of everything the area names, each recipient once.
 */
#ifndef YJ_WARNING_TARGET_H
#define YJ_WARNING_TARGET_H

#include "../core/err.h"
#include "../store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { TGT_OLD = 1, TGT_YOUNG = 2, TGT_SICK = 4, TGT_DISABLED = 8, TGT_PREGNANT = 16 };

typedef struct {
    int64_t id;
    double lat, lon; /* NAN: no point; double, as stored: a float moves a point by up
                      * to 0.4 m, off a polygon edge or circle rim it lies on */
    char region[13];
    uint8_t vulnerable; /* TGT_* */
    bool away;          /* 外出: reached by phone only, not by loudspeaker */
    char phone[20], contact_phone[20];
} tgt_resident;

typedef struct {
    int64_t id;
    double lat, lon;
    char region[13];
    char topic[124]; /* MQTT topic */
    int coverage_m;
} tgt_terminal;

typedef struct {
    int64_t id;
    double lat, lon;
    char region[13];
    char phone[20]; /* the safety officer's */
} tgt_enterprise;

typedef struct {
    int64_t id;
    char region[13];
    char phone[20];
    int level; /* 1 village .. 4 city, 5 enterprise */
    int order; /* call order within its region */
    int64_t enterprise_id;
} tgt_person;

/* A disaster-information officer or grid worker (灾害信息员/网格员, the
 * informant registry) on duty: told of a warning over their region so they
 * can go door to door; nobody asks them to answer. */
typedef struct {
    int64_t id;
    char region[13];
    char phone[20];
} tgt_informant;

typedef struct target_snapshot target_snapshot;

typedef struct {
    target_snapshot *snap; /* held until target_set_free */
    const tgt_resident **res;
    size_t nres, nvulnerable, ncontacts;
    const tgt_terminal **term;
    size_t nterm;
    const tgt_enterprise **ent;
    size_t nent;
    const tgt_person **resp; /* first in call order at each covering level */
    size_t nresp;
    const tgt_informant **inf; /* every one on duty in a covered region */
    size_t ninf;
} target_set;

/* Resolve an area ({regions, polygons, circles}) inside `scope` (a region
 * prefix: nothing outside it is ever reached). */
yj_code target_resolve(yj_conn *c, const char *scope, const json_t *area, target_set *out,
                       yj_err *err);
void target_set_free(target_set *t);

/* The next person to call when `p` does not answer: the next in call order
 * in the same region, else the first of the region above (within scope);
 * NULL when there is nobody left.  *up says it went a level up. */
const tgt_person *target_next_person(const target_set *t, const tgt_person *p, const char *scope,
                                     bool *up);
/* The responsible person first in call order for a region (exact), or NULL. */
const tgt_person *target_person_of(const target_set *t, const char *region);
/* The first responsible person of `region` or, if it has none, of the
 * nearest region above it within scope; NULL when there is none. */
const tgt_person *target_person_above(const target_set *t, const char *region, const char *scope);
/* A responsible person by id (in the snapshot t holds), or NULL. */
const tgt_person *target_person_by_id(const target_set *t, int64_t id);
/* Just the current snapshot (for the call-up chain), nothing resolved. */
yj_code target_people(yj_conn *c, target_set *out, yj_err *err);

/* Force the next resolve to reload (tests, bulk imports in-process). */
void target_invalidate(void);
/* Point in ring (lat,lon pairs, closed), boundary inclusive — for tests. */
bool target_point_in_ring(double lat, double lon, const double (*ring)[2], size_t n);

#endif
