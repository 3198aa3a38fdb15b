/*
 * demo.h — the demo city generator (`yingji demo`).
 *
 * demo_create() fills an empty, migrated database with 晋城市 (Jincheng,
 * Shanxi): the region table (all provinces, cities and counties of China and
 * every township and village of 晋城), the six county boundaries, a plausible
 * set of base-database records (rescue teams, experts, warehouses, shelters,
 * equipment, enterprises with coal mines well represented, major hazard
 * sources, informants, duty contacts) placed inside their county, and one
 * login per role.  The data is made by a seeded PRNG, so the same seed gives
 * the same city (passwords aside, which are random unless given).
 *
 * Input files come from scripts/build-data.mjs (build/data by default).
 */
#ifndef YJ_DEMO_H
#define YJ_DEMO_H

#include "../auth/auth.h"
#include "../store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    const char *data_dir; /* dir with regions.csv, boundaries.geojson */
    const char *password; /* if non-NULL, every demo user gets this password; else random */
    unsigned seed;
} yj_demo_opts;

/* Fill an empty, migrated database with the demo city 晋城市.  Writes the
 * logins as JSON array [{"username","password","role","region_code","name"}]
 * to logins_json_path (mode 0600) and prints a table of them to `out`.
 * YJ_ECONFLICT if the database already holds base-database records. */
yj_code demo_create(yj_store *s, const yj_demo_opts *o, const char *logins_json_path, FILE *out,
                    yj_err *err);

/* ---- internal: word tables of the generator (names.c) -------------------- */

typedef struct {
    const char *const *items;
    size_t n;
} yj_demo_words;

extern const yj_demo_words demo_surnames;    /* 姓, common ones repeated by frequency */
extern const yj_demo_words demo_given_chars; /* characters for given names (名) */
extern const yj_demo_words demo_brands;      /* two-character trade names (字号) */
extern const yj_demo_words demo_roads;       /* road and street names (路/街) */

/* ---- the demo city, as lent to each module's part ------------------------- */

/* demo_create() walks the module list: each module's `demo` runs inside the
 * demo's write transaction (module order: the base databases first, then
 * monitoring, which reads the enterprises back, then who warnings reach),
 * each `demo_after_logins` once the logins exist. */
typedef struct yj_demo {
    yj_conn *conn; /* inside the demo's write transaction */
    const yj_user *actor;
    uint64_t seed; /* this module's own PRNG seed */
    FILE *out;     /* one summary line per module, or NULL */
    void *geo;     /* demo.c's generator state, passed back to the callbacks */
    /* A point at township level inside county ("140525"), near the township
     * named town (official name, e.g. "郑庄镇"; NULL or unknown: any). */
    yj_code (*place)(void *geo, const char *county, const char *town, char region[16], double *lat,
                     double *lon, char *address, size_t naddr, yj_err *err);
    /* Is (lat, lon) inside that county and no other? */
    bool (*inside)(void *geo, const char *county, double lat, double lon);
} yj_demo;

/* The registry module's part (demo.c): rescue teams, experts, warehouses,
 * shelters, equipment, enterprises (coal mines first), hazard sources,
 * informants, duty contacts. */
yj_code demo_registry_records(yj_demo *d, yj_err *err);
/* The warning module's part (demo.c, as it walks every village of the
 * city): responsible people, loudspeakers, households and residents. */
yj_code demo_warning_people(yj_demo *d, yj_err *err);

#endif
