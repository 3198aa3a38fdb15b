/*
 * app.c — the walkers over the module list (module.h): everything the
 * platform does "for every module" is here, once.
 *
 *   app_init        derive registries, the route index and metrics slots
 *   app_migrate     each module's migrations, in module order
 *   app_configure   each module reads its `serve` options
 *   app_start/stop  each module's runtime, in order / in reverse
 *   app_timer, app_event_kind, app_metrics, app_nav_json, app_command
 */
#include "module.h"
#include "../core/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_all(void)
{
    registry_init();
    http_routes_init();
    metrics_init();
}

void app_init(void)
{
    pthread_once(&init_once, init_all);
}

/* ---- migrations ------------------------------------------------------------------ */

/* Before modules kept their own versions the platform had one sequence,
 * 1..12.  This frozen table says whose each of those was; every module
 * kept its numbers, so a converted database needs no other change. */
static const char *legacy_owner(int version)
{
    static const char *const owners[] = {
        [1] = "platform", [2] = "registry", [3] = "platform", [4] = "monitor",
        [5] = "monitor",  [6] = "monitor",  [7] = "monitor",  [8] = "warning",
        [9] = "warning",  [10] = "warning", [11] = "warning", [12] = "warning",
    };
    return version >= 1 && version < (int)YJ_COUNT(owners) ? owners[version] : NULL;
}

yj_code app_migrate(yj_store *s, yj_err *err)
{
    app_init();
    yj_code rc = yj_store_migrate_legacy(s, legacy_owner, err);
    size_t n = 0;
    const yj_module *const *mods = yj_modules(&n);
    for (size_t i = 0; rc == YJ_OK && i < n; i++)
        if (mods[i]->nmigrations)
            rc = yj_store_migrate(s, mods[i]->name, mods[i]->migrations, mods[i]->nmigrations, err);
    return rc;
}

yj_store *app_open_store(const char *url, int pool, yj_err *err)
{
    app_init();
    yj_store *s = yj_store_open(url, pool, err);
    if (s && app_migrate(s, err) != YJ_OK) {
        yj_store_close(s);
        s = NULL;
    }
    return s;
}

/* ---- configure, start, stop ------------------------------------------------------ */

static size_t started; /* modules started, in list order */

yj_code app_configure(const yj_optset *o, yj_err *err)
{
    size_t n = 0;
    const yj_module *const *mods = yj_modules(&n);
    for (size_t i = 0; i < n; i++)
        if (mods[i]->configure && mods[i]->configure(o, err) != YJ_OK)
            return err ? err->code : YJ_EINVAL;
    return YJ_OK;
}

yj_code app_start(const yj_runtime *rt, yj_err *err)
{
    size_t n = 0;
    const yj_module *const *mods = yj_modules(&n);
    for (started = 0; started < n; started++) {
        const yj_module *m = mods[started];
        if (m->start == NULL)
            continue;
        yj_code rc = m->start(rt, err);
        if (rc != YJ_OK) {
            char msg[sizeof err->message];
            snprintf(msg, sizeof msg, "%s", err ? err->message : "");
            yj_err_set(err, rc, err ? err->field : NULL, "%s: %s", m->name, msg);
            app_stop();
            return rc;
        }
    }
    return YJ_OK;
}

void app_stop(void)
{
    size_t n = 0;
    const yj_module *const *mods = yj_modules(&n);
    /* the one that failed to start is stopped too: its stop is a no-op
     * for what it never started */
    size_t top = started < n ? started + 1 : n;
    for (size_t i = top; i-- > 0;)
        if (mods[i]->stop)
            mods[i]->stop();
    started = 0;
}

/* ---- lookups ---------------------------------------------------------------------- */

const yj_timer *app_timer(const char *name)
{
    size_t n = 0;
    const yj_module *const *mods = yj_modules(&n);
    for (size_t i = 0; name && i < n; i++)
        for (size_t k = 0; k < mods[i]->ntimers; k++)
            if (strcmp(mods[i]->timers[k].name, name) == 0)
                return &mods[i]->timers[k];
    return NULL;
}

const yj_event_kind *app_event_kind(const char *type)
{
    size_t n = 0;
    const yj_module *const *mods = yj_modules(&n);
    for (size_t i = 0; type && i < n; i++)
        for (size_t k = 0; k < mods[i]->nevents; k++)
            if (strcmp(mods[i]->events[k].type, type) == 0)
                return &mods[i]->events[k];
    return NULL;
}

void app_metrics(yj_buf *out)
{
    size_t n = 0;
    const yj_module *const *mods = yj_modules(&n);
    for (size_t i = 0; i < n; i++)
        if (mods[i]->metrics)
            mods[i]->metrics(out);
}

const yj_command *app_command(const char *name)
{
    size_t n = 0;
    const yj_module *const *mods = yj_modules(&n);
    for (size_t i = 0; name && i < n; i++)
        for (size_t k = 0; k < mods[i]->ncommands; k++)
            if (strcmp(mods[i]->commands[k].name, name) == 0)
                return &mods[i]->commands[k];
    return NULL;
}

/* ---- the web shell ---------------------------------------------------------------- */

/* A group per module: its navigation entries the user's role may follow,
 * then its registries the role may read. */
json_t *app_nav_json(const yj_user *u)
{
    size_t n = 0;
    const yj_module *const *mods = yj_modules(&n);
    json_t *groups = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *items = json_array();
        for (size_t k = 0; k < mods[i]->nnav; k++) {
            const yj_nav *e = &mods[i]->nav[k];
            if (!perm_allowed(u->role, e->resource, e->action))
                continue;
            json_t *o = json_pack("{s:s,s:s,s:s}", "id", e->id, "label", e->label, "hash", e->hash);
            if (e->flags & YJ_NAV_UNREAD)
                json_object_set_new(o, "unread", json_true());
            json_array_append_new(items, o);
        }
        /* the module's registries the user may read: list pages */
        for (size_t k = 0; k < mods[i]->nregistries; k++) {
            const yj_registry *r = mods[i]->registries[k];
            if (!perm_allowed(u->role, r->name, YJ_ACT_READ))
                continue;
            char id[96], hash[96];
            snprintf(id, sizeof id, "nav-reg-%s", r->name);
            snprintf(hash, sizeof hash, "#/reg/%s", r->name);
            json_array_append_new(items,
                                  json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", id, "label", r->label,
                                            "hash", hash, "registry", r->name, "icon", r->icon));
        }
        if (json_array_size(items))
            json_array_append_new(groups, json_pack("{s:s,s:s,s:o}", "module", mods[i]->name,
                                                    "label", mods[i]->label, "items", items));
        else
            json_decref(items);
    }
    return groups;
}

json_t *app_pages_json(void)
{
    size_t n = 0;
    const yj_module *const *mods = yj_modules(&n);
    json_t *pages = json_array();
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < mods[i]->npages; k++) {
            char script[200];
            snprintf(script, sizeof script, "m/%s/%s", mods[i]->name, mods[i]->pages[k].script);
            json_array_append_new(pages,
                                  json_pack("{s:s,s:s,s:s}", "module", mods[i]->name, "prefix",
                                            mods[i]->pages[k].prefix, "script", script));
        }
    return pages;
}
