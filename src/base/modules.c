/*
 * modules.c — the module list: the one place that knows which modules
 * exist.  Order is dependency order: a module's migrations run, and it
 * starts, after every module above it (the warning module's tables refer
 * to the monitoring module's alarms).  Adding a module is its folder and
 * one line here: X(name) refers to `const yj_module name_module`.
 */
#include "module.h"

#include <string.h>

/* Modules built into test binaries only (make test). */
#ifdef YJ_TEST_MODULES
#define YJ_TEST_ONLY(x) x
#else
#define YJ_TEST_ONLY(x)
#endif

#define YJ_MODULE_LIST(X)                                                                          \
    X(platform) /* users, sessions, regions, audit: src/auth */                                    \
    X(registry) /* the base databases 基础数据库: src/registry */                             \
    X(monitor)  /* monitoring and early warning 监测预警: src/monitor */                       \
    X(warning)  /* warning publication and call-up 预警发布与叫应: src/warning */           \
    YJ_TEST_ONLY(X(example)) /* a module as small as one can be: tests/modules/example */

#define DECLARE(name) extern const yj_module name##_module;
#define REFER(name)   &name##_module,
YJ_MODULE_LIST(DECLARE)
static const yj_module *const modules[] = {YJ_MODULE_LIST(REFER)};

const yj_module *const *yj_modules(size_t *n)
{
    *n = YJ_COUNT(modules);
    return modules;
}

const yj_module *yj_module_find(const char *name)
{
    for (size_t i = 0; name && i < YJ_COUNT(modules); i++)
        if (strcmp(modules[i]->name, name) == 0)
            return modules[i];
    return NULL;
}
