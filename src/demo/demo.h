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

#include "../store/store.h"

#include <stddef.h>
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

#endif
