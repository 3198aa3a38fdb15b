/*
 * registry.h — the base databases (基础数据库) as declared field tables.
 *
 * A registry is a typed record kind: rescue teams, experts, warehouses,
 * shelters, large equipment, enterprises, major hazard sources, informants,
 * duty contacts.  Each is declared once in schema.c as a table of yj_field
 * (name, Chinese label, type, required, enum options, unit, range); from
 * that one table come the SQL table (store/records.c), validation
 * (validate.c), the CSV columns (csvio.c), the schema endpoint the web UI
 * builds its forms from, and the OpenAPI description.  A new registry is a
 * new table in schema.c and nothing else.
 *
 * The service functions here run inside one transaction each, check the
 * caller's permission, scope every access to the caller's region, and write
 * an audit entry for every change.
 */
#ifndef YJ_REGISTRY_H
#define YJ_REGISTRY_H

#include "../auth/auth.h"
#include "../core/cache.h"
#include "../core/err.h"
#include "../store/store.h"

#include <jansson.h>
#include <stdbool.h>

typedef enum {
    YJ_F_TEXT, /* short text, maxlen (default 200) */
    YJ_F_LONGTEXT,
    YJ_F_INT,
    YJ_F_REAL,
    YJ_F_BOOL,   /* JSON true/false; CSV 是/否 */
    YJ_F_ENUM,   /* one of options */
    YJ_F_TAGS,   /* several of options (or free text if options NULL), stored "a、b" */
    YJ_F_PHONE,  /* mobile 1[3-9]xxxxxxxxx, or landline 0xxx-xxxxxxx */
    YJ_F_DATE,   /* YYYY-MM-DD */
    YJ_F_CREDIT, /* 统一社会信用代码, 18 chars with GB 32100 check digit */
    YJ_F_REF,    /* id of a record in registry `ref` (visible to the caller) */
} yj_ftype;

typedef struct {
    const char *name;  /* column and JSON key */
    const char *label; /* Chinese label (UI, CSV header) */
    yj_ftype type;
    bool required;
    const char *const *options;             /* NULL-terminated, for ENUM/TAGS */
    const char *const *(*options_of)(void); /* or computed once by registry_init() */
    const char *unit;                       /* shown after the value, e.g. "人", "m²" */
    bool has_range;
    double min, max;
    int maxlen;      /* bytes, 0 = default */
    const char *ref; /* registry name, for REF */
    const char *def; /* default when absent on create */
    /* The migration of the declaring module that adds the column (0: the
     * one that creates the registry).  A field added to an existing
     * registry gets the next version, and that migration is generated
     * (registry_migration): a deployment upgraded keeps its data. */
    int since;
} yj_field;

/* Declaring fields and registries. */
#define YJ_OPTS(...)     ((const char *const[]){__VA_ARGS__, NULL})
#define YJ_RANGE(lo, hi) .has_range = true, .min = (lo), .max = (hi)
/* A registry whose fields are the array <id>_fields. */
#define YJ_REGISTRY(id, lbl, colour, key, typef, statusf, entf, ...)                               \
    {                                                                                              \
        .name = #id, .label = lbl, .icon = colour, .fields = id##_fields,                          \
        .nfields = sizeof(id##_fields) / sizeof(id##_fields[0]), .key_field = key,                 \
        .type_field = typef, .status_field = statusf, .enterprise_field = entf, __VA_ARGS__        \
    }

typedef struct {
    const char *name;  /* URL segment and table name, e.g. "shelter" */
    const char *label; /* Chinese, e.g. "应急避难场所" */
    const char *icon;  /* map marker colour for the UI */
    const yj_field *fields;
    size_t nfields;
    const char *key_field;        /* natural key (unique, used by CSV import) */
    const char *type_field;       /* main category field, for filtering */
    const char *status_field;     /* status field, for filtering */
    const char *enterprise_field; /* owner column for enterprise users, or NULL */
    int since;                    /* the declaring module's migration that creates it */
    /* Called after validation on create and update (API and CSV), inside the
     * transaction: fill derived columns of rec.  NULL for most registries. */
    yj_code (*prepare)(yj_conn *c, json_t *rec, yj_err *err);
    /* Filled by registry_init(): the declaring module, every field (its own
     * and those other modules add), and the store table. */
    const char *module;
    yj_table table;
    const yj_field *own_fields;
    size_t nown_fields;
    const char *const *field_module; /* per field: the module that declares it */
} yj_registry;

/* Collect every module's registries and the fields modules add to each
 * other's; derive the store tables.  Idempotent; app_init() calls it. */
void registry_init(void);
size_t registry_count(void);
const yj_registry *registry_at(size_t i);
const yj_registry *registry_find(const char *name);
const yj_field *registry_field(const yj_registry *r, const char *name);
/* The migration step every module with registries declares (as its
 * yj_migration.fn): creates the module's registries whose `since` is this
 * version (refering ones after the ones they refer to) and adds the
 * columns of fields declared with this version, to its own registries or
 * to another module's. */
yj_code registry_migration(yj_conn *c, const char *module, int version, yj_err *err);

/* JSON description of one registry / all (for /api/v1/schema). */
json_t *registry_schema_json(const yj_registry *r);

/* Validate and normalise an input object for create (partial=false) or
 * update.  Unknown keys, wrong types, missing required fields, values out of
 * range or not among the options are errors naming the field.  On success
 * *out is a new object holding exactly the registry's columns plus
 * region_code, lat, lon. */
yj_code registry_validate(const yj_registry *r, const json_t *in, const json_t *current,
                          json_t **out, yj_err *err);

/* ---- service (each one transaction, permission-checked, audited) ---------- */

yj_code registry_list(yj_store *s, const yj_user *u, const yj_registry *r, const yj_query *q,
                      json_t **items, int64_t *total, yj_err *err);
/* registry_list written straight into out as a JSON array (the hot path). */
yj_code registry_list_json(yj_store *s, const yj_user *u, const yj_registry *r, const yj_query *q,
                           yj_buf *out, int64_t *total, yj_err *err);
/* The fields of r u's role may not read (the permission table's field
 * rows), NULL-terminated, or NULL if none: reads leave them out. */
const char *const *registry_hidden(const yj_user *u, const yj_registry *r);
/* Hits and misses of the list-page cache (for /metrics). */
void registry_cache_stats(yj_cache_stats *out);
yj_code registry_get(yj_store *s, const yj_user *u, const yj_registry *r, int64_t id, json_t **out,
                     yj_err *err);
yj_code registry_create(yj_store *s, const yj_user *u, const yj_registry *r, const json_t *in,
                        json_t **out, yj_err *err);
/* in may be partial (PATCH semantics); expect_version from If-Match. */
yj_code registry_update(yj_store *s, const yj_user *u, const yj_registry *r, int64_t id,
                        int64_t expect_version, const json_t *in, json_t **out, yj_err *err);
yj_code registry_delete(yj_store *s, const yj_user *u, const yj_registry *r, int64_t id,
                        int64_t expect_version, yj_err *err);
/* Audit entries for one record, newest first. */
yj_code registry_history(yj_store *s, const yj_user *u, const yj_registry *r, int64_t id,
                         json_t **out, yj_err *err);

/* Same as registry_create but on a connection already inside a transaction
 * (for bulk loaders such as CSV import and the demo generator). */
yj_code registry_create_in(yj_conn *c, const yj_user *u, const yj_registry *r, const json_t *in,
                           int64_t *id_out, yj_err *err);

/* Update by id on a connection already inside a transaction (CSV import).
 * *changed is false when the input equals the stored record (nothing
 * written, no audit entry). */
yj_code registry_update_in(yj_conn *c, const yj_user *u, const yj_registry *r, int64_t id,
                           int64_t expect_version, const json_t *in, bool *changed, yj_err *err);

/* ---- CSV (csvio.c) ------------------------------------------------------- */

typedef struct {
    int created, updated, unchanged, skipped;
    json_t *errors; /* array of {row, column, reason} */
} yj_import_report;

/* Import a CSV document: every row validated; nothing written if any row is
 * bad unless skip_bad.  Rows whose natural key exists are updated. */
yj_code registry_import_csv(yj_store *s, const yj_user *u, const yj_registry *r, const char *data,
                            size_t len, bool skip_bad, yj_import_report *rep, yj_err *err);
/* Whole registry (within the caller's scope) as UTF-8 CSV with BOM. */
yj_code registry_export_csv(yj_store *s, const yj_user *u, const yj_registry *r, const yj_query *q,
                            char **out, size_t *len, yj_err *err);

#endif
