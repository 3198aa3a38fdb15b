/*
 * perm.c — roles and the permission table (role x resource x action).
 *
 * Resources are registry names plus the platform's own: "user", "audit",
 * "region", "monitor", "rule", "alarm", "gateway" and "warning" (M3: read
 * by every role; written by duty officers and commanders; who approves
 * which level is warning.c's table).  The
 * table is the single source of truth: the HTTP router checks it before a
 * handler runs, GET /api/v1/me reports it to the UI, and the tests walk it.
 * "registry:*" in a row stands for every registry.
 */
#include "auth.h"

#include <stdio.h>
#include <string.h>

#define R  (1u << YJ_ACT_READ)
#define W  (1u << YJ_ACT_WRITE)
#define RW (R | W)

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

static const struct {
    yj_role role;
    const char *resource;
    unsigned acts;
} perm_table[] = {
    {YJ_ROLE_ADMIN, "registry:*", RW},
    {YJ_ROLE_ADMIN, "user", RW},
    {YJ_ROLE_ADMIN, "audit", R},
    {YJ_ROLE_ADMIN, "region", R},
    {YJ_ROLE_ADMIN, "monitor", R},
    {YJ_ROLE_ADMIN, "rule", RW},
    {YJ_ROLE_ADMIN, "alarm", RW},
    {YJ_ROLE_ADMIN, "gateway", RW},
    {YJ_ROLE_ADMIN, "warning", RW},

    {YJ_ROLE_DUTY, "registry:*", R},
    {YJ_ROLE_DUTY, "rescue_team", RW},
    {YJ_ROLE_DUTY, "shelter", RW},
    {YJ_ROLE_DUTY, "informant", RW},
    {YJ_ROLE_DUTY, "duty_contact", RW},
    {YJ_ROLE_DUTY, "region", R},
    {YJ_ROLE_DUTY, "monitor", R},
    {YJ_ROLE_DUTY, "alarm", RW},
    {YJ_ROLE_DUTY, "warning", RW},
    {YJ_ROLE_DUTY, "household", RW},
    {YJ_ROLE_DUTY, "resident", RW},
    {YJ_ROLE_DUTY, "broadcast_terminal", RW},
    {YJ_ROLE_DUTY, "responsible_person", RW},

    {YJ_ROLE_COMMANDER, "registry:*", R},
    {YJ_ROLE_COMMANDER, "region", R},
    {YJ_ROLE_COMMANDER, "monitor", R},
    {YJ_ROLE_COMMANDER, "alarm", R},
    {YJ_ROLE_COMMANDER, "warning", RW},

    {YJ_ROLE_SUPERVISOR, "registry:*", R},
    {YJ_ROLE_SUPERVISOR, "enterprise", RW},
    {YJ_ROLE_SUPERVISOR, "hazard_source", RW},
    {YJ_ROLE_SUPERVISOR, "expert", RW},
    {YJ_ROLE_SUPERVISOR, "region", R},
    {YJ_ROLE_SUPERVISOR, "monitored_object", RW},
    {YJ_ROLE_SUPERVISOR, "sensor", RW},
    {YJ_ROLE_SUPERVISOR, "monitor", R},
    {YJ_ROLE_SUPERVISOR, "rule", RW},
    {YJ_ROLE_SUPERVISOR, "alarm", RW},
    {YJ_ROLE_SUPERVISOR, "warning", R},

    {YJ_ROLE_INSPECTOR, "enterprise", R},
    {YJ_ROLE_INSPECTOR, "hazard_source", R},
    {YJ_ROLE_INSPECTOR, "expert", R},
    {YJ_ROLE_INSPECTOR, "region", R},
    {YJ_ROLE_INSPECTOR, "warning", R},

    {YJ_ROLE_WAREHOUSE, "warehouse", RW},
    {YJ_ROLE_WAREHOUSE, "equipment", RW},
    {YJ_ROLE_WAREHOUSE, "shelter", R},
    {YJ_ROLE_WAREHOUSE, "rescue_team", R},
    {YJ_ROLE_WAREHOUSE, "region", R},
    {YJ_ROLE_WAREHOUSE, "warning", R},

    /* own enterprise only: the store scopes these rows by enterprise id */
    {YJ_ROLE_ENTERPRISE, "enterprise", RW},
    {YJ_ROLE_ENTERPRISE, "hazard_source", RW},
    {YJ_ROLE_ENTERPRISE, "region", R},
    {YJ_ROLE_ENTERPRISE, "monitored_object", R},
    {YJ_ROLE_ENTERPRISE, "sensor", R},
    {YJ_ROLE_ENTERPRISE, "monitor", R},
    {YJ_ROLE_ENTERPRISE, "alarm", RW},
    {YJ_ROLE_ENTERPRISE, "warning", R},
    {YJ_ROLE_ENTERPRISE, "responsible_person", RW}, /* its own 叫应 people */

    {YJ_ROLE_INFORMANT, "shelter", R},
    {YJ_ROLE_INFORMANT, "informant", R},
    {YJ_ROLE_INFORMANT, "duty_contact", R},
    {YJ_ROLE_INFORMANT, "rescue_team", R},
    {YJ_ROLE_INFORMANT, "region", R},
    {YJ_ROLE_INFORMANT, "warning", R},
    /* grid workers keep their villages' households, residents and contacts */
    {YJ_ROLE_INFORMANT, "household", RW},
    {YJ_ROLE_INFORMANT, "resident", RW},
    {YJ_ROLE_INFORMANT, "broadcast_terminal", R},
    {YJ_ROLE_INFORMANT, "responsible_person", R},

    {YJ_ROLE_EXPERT, "expert", R},
    {YJ_ROLE_EXPERT, "enterprise", R},
    {YJ_ROLE_EXPERT, "hazard_source", R},
    {YJ_ROLE_EXPERT, "rescue_team", R},
    {YJ_ROLE_EXPERT, "equipment", R},
    {YJ_ROLE_EXPERT, "region", R},
    {YJ_ROLE_EXPERT, "warning", R},
    /* YJ_ROLE_PUBLIC: nothing behind a login */
};

/* Every resource the table speaks of.  Registry names must match
 * registry/schema.c (a unit test checks that they do). */
static const char *const resources[] = {"rescue_team",
                                        "expert",
                                        "warehouse",
                                        "shelter",
                                        "equipment",
                                        "enterprise",
                                        "hazard_source",
                                        "informant",
                                        "duty_contact",
                                        "user",
                                        "audit",
                                        "region",
                                        "monitored_object",
                                        "sensor",
                                        "monitor",
                                        "rule",
                                        "alarm",
                                        "gateway",
                                        "warning",
                                        "household",
                                        "resident",
                                        "broadcast_terminal",
                                        "responsible_person",
                                        NULL};

/* A registry is any known resource other than the platform ones (unknown
 * names never reach this: perm_allowed refuses them first). */
static bool is_registry_resource(const char *resource)
{
    static const char *const platform[] = {"user", "audit", "region",  "monitor",
                                           "rule", "alarm", "gateway", "warning"};
    for (size_t i = 0; i < sizeof platform / sizeof platform[0]; i++)
        if (strcmp(resource, platform[i]) == 0)
            return false;
    return true;
}

const char *const *perm_resources(void)
{
    return resources;
}

bool perm_allowed(yj_role role, const char *resource, yj_action act)
{
    if ((int)role < 0 || role >= YJ_ROLE_COUNT || resource == NULL)
        return false;
    bool known = false;
    for (size_t i = 0; resources[i] && !known; i++)
        known = strcmp(resources[i], resource) == 0;
    if (!known)
        return false;
    for (size_t i = 0; i < sizeof perm_table / sizeof perm_table[0]; i++) {
        if (perm_table[i].role != role || !(perm_table[i].acts & (1u << act)))
            continue;
        if (strcmp(perm_table[i].resource, resource) == 0)
            return true;
        if (strcmp(perm_table[i].resource, "registry:*") == 0 && is_registry_resource(resource))
            return true;
    }
    return false;
}

json_t *perm_role_json(yj_role role)
{
    static const char *const act_names[YJ_ACT_COUNT] = {"read", "write"};
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
