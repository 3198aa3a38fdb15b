/*
 * module.h — what a module declares about itself (nginx's module and
 * command tables are the model).
 *
 * A module of the platform (registry, monitor, warning now; command,
 * dispatch, supervision, plans, stats later) is a folder with one
 * descriptor, `const yj_module <name>_module`, and the descriptor is data:
 *
 *   routes        HTTP endpoints with their handler, permission resource
 *                 and action, flags, body limit and OpenAPI schemas;
 *   resources     the permission resources it owns, and
 *   perms         its rows of the permission table (resource x action ->
 *                 roles; a field for narrower rules): no row, no access;
 *   registries    the record kinds it declares, and field_exts, the fields
 *                 it adds to another module's registries;
 *   migrations    its schema, versioned per module;
 *   options       its `serve` options, read by configure();
 *   start / stop  what runs while the platform serves;
 *   timers        its periodic work, run by the one scheduler;
 *   events        the kinds of live event it publishes and who may hear them;
 *   metrics       its Prometheus lines;
 *   commands      its `yingji` subcommands;
 *   demo          its part of the demo city;
 *   pages, nav    its UI (web/m/<module>/, copied from the folder's web/)
 *                 and navigation entries.
 *
 * The module list (modules.c) is the only place that knows which modules
 * exist; main.c, the router, the permission check, OpenAPI, metrics, SSE,
 * the scheduler, the demo and the web shell all walk it.  Adding a module
 * is a folder and one line of that list (ARCHITECTURE.md has the recipe).
 */
#ifndef YJ_MODULE_H
#define YJ_MODULE_H

#include "../auth/auth.h"
#include "../core/buf.h"
#include "../core/err.h"
#include "../core/util.h"
#include "../http/http.h"
#include "../registry/registry.h"
#include "../store/store.h"
#include "options.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* `YJ_LIST(routes, api_routes)` sets a list and its length. */
#define YJ_LIST(field, a) .field = (a), .n##field = YJ_COUNT(a)

/* A permission resource a module owns (the registries are resources too,
 * named after them). */
typedef struct {
    const char *name;  /* "alarm" */
    const char *label; /* Chinese, for the UI: "监测报警" */
} yj_resource;

/* A field a module adds to another module's registry (M5 adds rescue-team
 * capabilities, M6 enterprise risk classes): the column is created by this
 * module's migration `since` (see registry_migrate_fields). */
typedef struct {
    const char *registry;
    yj_field field;
    int since;
} yj_field_ext;

/* Periodic work, run by the scheduler on the one clock (tests drive it).
 * With several nodes on one database a timer runs on one node at a time
 * (a lease, sched.c) unless every_node: work on the node's own memory
 * (its ingest writer's rule state). */
typedef struct {
    const char *name; /* "warning.dispatch" */
    int period_ms;
    yj_code (*run)(yj_store *s, int64_t now, yj_err *err);
    bool every_node;
} yj_timer;

/* A kind of live event (SSE).  It reaches users whose region contains the
 * event's region, whose role may read `resource` ("record" events: the
 * registry they name), and, for enterprise users, only events naming their
 * enterprise.  YJ_EV_INSIDE: also users inside the event's region (a
 * warning hint tells a village of its township's warnings). */
enum { YJ_EV_INSIDE = 1 << 0 };
typedef struct {
    const char *type;     /* the SSE event name */
    const char *resource; /* read permission needed; NULL: data.registry's */
    unsigned flags;
} yj_event_kind;

/* A `yingji` subcommand. */
typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} yj_command;

/* The UI.  A page is a script under web/m/<module>/ exporting
 * render(view, ctx, parts): the shell loads it for #/<prefix>/...  A
 * navigation entry is shown to users who may `action` `resource`. */
typedef struct {
    const char *prefix; /* "mon": #/mon/... */
    const char *script; /* "monitor.js" (under web/m/<module>/) */
} yj_page;

typedef struct {
    const char *id;    /* DOM id, e.g. "nav-mon-alarms" */
    const char *label; /* Chinese */
    const char *hash;  /* "#/mon/alarms" */
    const char *resource;
    yj_action action;
    unsigned flags; /* YJ_NAV_UNREAD: shows the unread-alarm count */
} yj_nav;
enum { YJ_NAV_UNREAD = 1 << 0 };

/* What `serve` hands a starting module. */
typedef struct {
    yj_store *store;
    const yj_optset *opts;
    bool test_hooks; /* --test-hooks: tests drive the clock */
} yj_runtime;

/* The demo city, as lent to each module's part (demo/demo.h). */
struct yj_demo;

typedef struct yj_module {
    const char *name;  /* "warning": migrations, options and metrics are keyed by it */
    const char *label; /* Chinese, the navigation group: "预警发布" */

    const yj_route *routes;
    size_t nroutes;
    const yj_resource *resources;
    size_t nresources;
    const yj_perm *perms;
    size_t nperms;

    yj_registry *const *registries; /* filled in by registry_init() */
    size_t nregistries;
    const yj_field_ext *field_exts;
    size_t nfield_exts;

    const yj_migration *migrations;
    size_t nmigrations;

    const yj_option *options;
    size_t noptions;
    /* Read and check the module's options before anything starts; an
     * error is a usage error (exit 2). */
    yj_code (*configure)(const yj_optset *o, yj_err *err);
    yj_code (*start)(const yj_runtime *rt, yj_err *err);
    void (*stop)(void); /* a no-op when never started */

    const yj_timer *timers;
    size_t ntimers;
    const yj_event_kind *events;
    size_t nevents;
    void (*metrics)(yj_buf *out);
    const yj_command *commands;
    size_t ncommands;

    /* Demo city: records inside the demo's transaction, then what needs
     * the logins (after they exist). */
    yj_code (*demo)(struct yj_demo *d, yj_err *err);
    yj_code (*demo_after_logins)(struct yj_demo *d, yj_err *err);

    const yj_page *pages;
    size_t npages;
    const yj_nav *nav;
    size_t nnav;
} yj_module;

/* The module list (modules.c), in dependency order: a module's migrations
 * and start come after those of every module before it. */
const yj_module *const *yj_modules(size_t *n);
const yj_module *yj_module_find(const char *name);

/* ---- walkers (app.c) ------------------------------------------------------------ */

/* Derive everything the modules declare (registries, route index, metrics
 * slots); once, before anything else.  Idempotent. */
void app_init(void);
/* Apply every module's pending migrations, in module order. */
yj_code app_migrate(yj_store *s, yj_err *err);
/* Open a store at url and migrate it; NULL with err set on failure. */
yj_store *app_open_store(const char *url, int pool, yj_err *err);
/* configure() every module; start() them in order; stop() in reverse. */
yj_code app_configure(const yj_optset *o, yj_err *err);
yj_code app_start(const yj_runtime *rt, yj_err *err);
void app_stop(void);
/* Every module's timers, by name; NULL if unknown. */
const yj_timer *app_timer(const char *name);
/* The event kind of a type, or NULL (an event of an undeclared kind reaches nobody). */
const yj_event_kind *app_event_kind(const char *type);
/* Every module's metrics lines. */
void app_metrics(yj_buf *out);
/* The navigation a user may see, a group per module in module order:
 * [{module, label, items:[{id,label,hash,unread?,registry?,icon?}]}], and
 * the pages [{module, prefix, script}]. */
json_t *app_nav_json(const yj_user *u);
json_t *app_pages_json(void);
/* A subcommand of any module, or NULL. */
const yj_command *app_command(const char *name);

#endif
