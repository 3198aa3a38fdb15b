/*
 * perm.c — roles and the permission table (resource x action -> roles).
 *
 * Every module declares the resources it owns (its registries are
 * resources too) and its rows of the table (base/module.h).  The table
 * fails closed: a resource or action without an explicit row is denied to
 * every role, and there are no wildcards, so a new registry or route is
 * nobody's until a row says whose.  The HTTP router checks the table before
 * a handler runs, GET /api/v1/me reports it to the UI, SSE filters events
 * by it, and the tests walk every route and role against it.
 */
#include "auth.h"
#include "../base/module.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name, *label;
} roles[YJ_ROLE_COUNT] = {
    [YJ_ROLE_ADMIN] = {"admin", "平台管理员"},
    [YJ_ROLE_DUTY] = {"duty", "值班员"},
    [YJ_ROLE_COMMANDER] = {"commander", "指挥长"},
    [YJ_ROLE_SUPERVISOR] = {"supervisor", "行业监管员"},
    [YJ_ROLE_INSPECTOR] = {"inspector", "执法人员"},
    [YJ_ROLE_WAREHOUSE] = {"warehouse", "物资管理员"},
    [YJ_ROLE_ENTERPRISE] = {"enterprise", "企业安全员"},
    [YJ_ROLE_INFORMANT] = {"informant", "灾害信息员"},
    [YJ_ROLE_EXPERT] = {"expert", "专家"},
    [YJ_ROLE_PUBLIC] = {"public", "公众"},
};

/* The rows themselves live with the modules that own the resources
 * (base/module.h): platform rows in auth/platform.c, registry rows in
 * registry/module.c, and so on.  This file only reads them. */

static pthread_once_t index_once = PTHREAD_ONCE_INIT;
static const char **resource_names; /* NULL-terminated, module order */
static const char **resource_labels;

static void index_build(void)
{
    size_t nm = 0, total = 0;
    const yj_module *const *mods = yj_modules(&nm);
    for (size_t m = 0; m < nm; m++) {
        total += mods[m]->nresources + mods[m]->nregistries;
    }
    resource_names = calloc(total + 1, sizeof *resource_names);
    resource_labels = calloc(total + 1, sizeof *resource_labels);
    if (resource_names == NULL || resource_labels == NULL)
        abort();
    size_t k = 0;
    for (size_t m = 0; m < nm; m++) {
        for (size_t i = 0; i < mods[m]->nresources; i++) {
            resource_labels[k] = mods[m]->resources[i].label;
            resource_names[k++] = mods[m]->resources[i].name;
        }
        for (size_t i = 0; i < mods[m]->nregistries; i++) {
            resource_labels[k] = mods[m]->registries[i]->label;
            resource_names[k++] = mods[m]->registries[i]->name;
        }
    }
}

static const yj_perm *row_of(const char *resource, yj_action act, const char *field)
{
    size_t nm = 0;
    const yj_module *const *mods = yj_modules(&nm);
    for (size_t m = 0; m < nm; m++)
        for (size_t i = 0; i < mods[m]->nperms; i++) {
            const yj_perm *p = &mods[m]->perms[i];
            if (p->action == act && strcmp(p->resource, resource) == 0 &&
                (field ? p->field && strcmp(p->field, field) == 0 : p->field == NULL))
                return p;
        }
    return NULL;
}

bool perm_decided(const char *resource, yj_action act)
{
    return resource && row_of(resource, act, NULL) != NULL;
}

bool perm_allowed(yj_role role, const char *resource, yj_action act)
{
    if ((int)role < 0 || role >= YJ_ROLE_COUNT || resource == NULL || (int)act < 0 ||
        act >= YJ_ACT_COUNT)
        return false;
    const yj_perm *p = row_of(resource, act, NULL);
    return p && (p->roles & YJ_ROLE_BIT(role));
}

bool perm_field_readable(yj_role role, const char *resource, const char *field)
{
    if (!perm_allowed(role, resource, YJ_ACT_READ))
        return false;
    const yj_perm *p = field ? row_of(resource, YJ_ACT_READ, field) : NULL;
    return p == NULL || (p->roles & YJ_ROLE_BIT(role));
}

const char *const *perm_resources(void)
{
    pthread_once(&index_once, index_build);
    return resource_names;
}

const char *perm_resource_label(const char *resource)
{
    pthread_once(&index_once, index_build);
    for (size_t i = 0; resource && resource_names[i]; i++)
        if (strcmp(resource_names[i], resource) == 0)
            return resource_labels[i] ? resource_labels[i] : resource;
    return resource;
}

json_t *perm_role_json(yj_role role)
{
    static const char *const act_names[YJ_ACT_COUNT] = {"read", "write"};
    const char *const *resources = perm_resources();
    json_t *o = json_object();
    for (size_t i = 0; resources[i]; i++) {
        json_t *acts = json_array();
        for (int a = 0; a < YJ_ACT_COUNT; a++)
            if (perm_allowed(role, resources[i], (yj_action)a))
                json_array_append_new(acts, json_string(act_names[a]));
        if (json_array_size(acts))
            json_object_set_new(o, resources[i], acts);
        else
            json_decref(acts);
    }
    return o;
}

const char *role_name(yj_role r)
{
    return ((int)r >= 0 && r < YJ_ROLE_COUNT) ? roles[r].name : "unknown";
}

const char *role_label(yj_role r)
{
    return ((int)r >= 0 && r < YJ_ROLE_COUNT) ? roles[r].label : "未知";
}

int role_parse(const char *s)
{
    for (int i = 0; s && i < YJ_ROLE_COUNT; i++)
        if (strcmp(roles[i].name, s) == 0)
            return i;
    return -1;
}

yj_scope user_scope(const yj_user *u)
{
    yj_scope sc = {{0}, 0};
    snprintf(sc.region, sizeof sc.region, "%s", u->region);
    if (u->role == YJ_ROLE_ENTERPRISE)
        sc.enterprise = u->enterprise_id > 0 ? u->enterprise_id : -1;
    return sc;
}
