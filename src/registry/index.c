/*
 * index.c — the index over every module's registries and their migrations.
 *
 * Modules declare registries (base/module.h: registries) and may add
 * fields to another module's (field_exts).  registry_init() collects them
 * all, merges each registry's fields (its own, then the added ones, in
 * module order) and derives its store table; registry_migration() creates
 * the tables and adds the columns of fields declared later, so upgrading a
 * deployment keeps its data.
 */
#include "registry.h"
#include "../base/module.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the index over every module's registries -------------------------------------- */

static yj_registry **all;
static size_t nall;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static yj_coltype field_coltype(yj_ftype t)
{
    switch (t) {
    case YJ_F_BOOL:
        return YJ_COL_BOOL;
    case YJ_F_INT:
    case YJ_F_REF:
        return YJ_COL_INT;
    case YJ_F_REAL:
        return YJ_COL_REAL;
    default:
        return YJ_COL_TEXT;
    }
}

/* Own fields, then the fields other modules add (in module order). */
static void derive(yj_registry *r, const char *module)
{
    size_t nm = 0;
    const yj_module *const *mods = yj_modules(&nm);
    size_t n = r->nfields;
    for (size_t m = 0; m < nm; m++)
        for (size_t k = 0; k < mods[m]->nfield_exts; k++)
            n += strcmp(mods[m]->field_exts[k].registry, r->name) == 0;
    yj_field *fields = calloc(n, sizeof *fields);
    const char **owner = calloc(n, sizeof *owner);
    yj_column *cols = calloc(n, sizeof *cols);
    if (fields == NULL || owner == NULL || cols == NULL)
        abort();
    r->own_fields = r->fields;
    r->nown_fields = r->nfields;
    size_t k = 0;
    for (size_t i = 0; i < r->nfields; i++) {
        owner[k] = module;
        fields[k++] = r->fields[i];
    }
    for (size_t m = 0; m < nm; m++)
        for (size_t e = 0; e < mods[m]->nfield_exts; e++)
            if (strcmp(mods[m]->field_exts[e].registry, r->name) == 0) {
                owner[k] = mods[m]->name;
                fields[k] = mods[m]->field_exts[e].field;
                fields[k++].since = mods[m]->field_exts[e].since;
            }
    for (size_t i = 0; i < n; i++) {
        if (fields[i].options == NULL && fields[i].options_of)
            fields[i].options = fields[i].options_of();
        cols[i].name = fields[i].name;
        cols[i].type = field_coltype(fields[i].type);
        if (fields[i].type == YJ_F_REF) {
            char ref[64];
            snprintf(ref, sizeof ref, "%s(id)", fields[i].ref);
            cols[i].references = strdup(ref);
        }
    }
    r->module = module;
    r->fields = fields;
    r->nfields = n;
    r->field_module = owner;
    r->table = (yj_table){
        .name = r->name,
        .cols = cols,
        .ncols = n,
        .search_col = registry_field(r, "name") ? "name" : r->key_field,
        .key_col = r->key_field,
        .enterprise_col = r->enterprise_field,
    };
}

static void init_all(void)
{
    size_t nm = 0;
    const yj_module *const *mods = yj_modules(&nm);
    for (size_t m = 0; m < nm; m++)
        nall += mods[m]->nregistries;
    all = calloc(nall ? nall : 1, sizeof *all);
    if (all == NULL)
        abort();
    size_t k = 0;
    for (size_t m = 0; m < nm; m++)
        for (size_t i = 0; i < mods[m]->nregistries; i++) {
            all[k] = mods[m]->registries[i];
            derive(all[k++], mods[m]->name);
        }
}

void registry_init(void)
{
    pthread_once(&init_once, init_all);
}

size_t registry_count(void)
{
    registry_init();
    return nall;
}

const yj_registry *registry_at(size_t i)
{
    registry_init();
    return i < nall ? all[i] : NULL;
}

const yj_registry *registry_find(const char *name)
{
    registry_init();
    for (size_t i = 0; name && i < nall; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

const yj_field *registry_field(const yj_registry *r, const char *name)
{
    for (size_t i = 0; i < r->nfields; i++)
        if (strcmp(r->fields[i].name, name) == 0)
            return &r->fields[i];
    return NULL;
}

/* ---- migrations ---------------------------------------------------------------------- */

static bool has_refs(const yj_registry *r)
{
    for (size_t f = 0; f < r->nown_fields; f++)
        if (r->own_fields[f].type == YJ_F_REF)
            return true;
    return false;
}

/* The CREATE TABLE of r as its creating migration makes it: its own fields
 * without a later `since` (those, and other modules' fields, are added by
 * their own migrations). */
static char *create_ddl(const yj_registry *r)
{
    yj_column *cols = calloc(r->nfields ? r->nfields : 1, sizeof *cols);
    if (cols == NULL)
        abort();
    size_t n = 0;
    for (size_t i = 0; i < r->nfields; i++)
        if (strcmp(r->field_module[i], r->module) == 0 &&
            (r->fields[i].since == 0 || r->fields[i].since <= r->since))
            cols[n++] = r->table.cols[i];
    yj_table t = r->table;
    t.cols = cols;
    t.ncols = n;
    char *ddl = yj_table_ddl(&t);
    free(cols);
    return ddl;
}

yj_code registry_migration(yj_conn *c, const char *module, int version, yj_err *err)
{
    registry_init();
    yj_code rc = YJ_OK;
    /* new tables: those referring to no registry first, so every
     * REFERENCES target exists (references are one level deep) */
    for (int pass = 0; pass < 2 && rc == YJ_OK; pass++)
        for (size_t i = 0; i < nall && rc == YJ_OK; i++) {
            const yj_registry *r = all[i];
            if (strcmp(r->module, module) != 0 || r->since != version || has_refs(r) != (pass == 1))
                continue;
            char *ddl = create_ddl(r);
            rc = yj_exec(c, ddl, err);
            free(ddl);
        }
    /* added fields: this module's, to any registry, declared with this version */
    for (size_t i = 0; i < nall && rc == YJ_OK; i++) {
        const yj_registry *r = all[i];
        for (size_t f = 0; f < r->nfields && rc == YJ_OK; f++) {
            const yj_field *fd = &r->fields[f];
            bool own = strcmp(r->field_module[f], r->module) == 0;
            if (strcmp(r->field_module[f], module) != 0 || fd->since != version ||
                (own && fd->since <= r->since))
                continue;
            char *ddl = yj_column_ddl(&r->table, &r->table.cols[f]);
            rc = yj_exec(c, ddl, err);
            free(ddl);
        }
    }
    return rc;
}
