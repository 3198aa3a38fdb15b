/*
 * main.c — the `yingji` command: one binary, subcommands declared in a
 * table (the platform's own here; each module adds its own through its
 * descriptor).  Each subcommand opens the store (migrating every module's
 * schema), does its work through the module services, and exits non-zero
 * with a message on stderr when anything fails: 2 for a usage error.
 *
 *   yingji serve    the platform: every module's options, started in order
 *   yingji demo     the demo city, each module adding its part
 *   yingji user     add|passwd|list
 *   yingji import   <registry> <file.csv>
 *   yingji export   <registry>
 *   yingji audit    verify
 *   yingji regions  load|list
 *   (modules: ingest-kj, simulate, cap, gateway-sim ...)
 */
#include "auth/auth.h"
#include "base/module.h"
#include "base/sched.h"
#include "core/util.h"
#include "demo/demo.h"
#include "http/http.h"
#include "registry/registry.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef YJ_SOURCE_DIR
#define YJ_SOURCE_DIR "."
#endif

/* ---- shared ---------------------------------------------------------------- */

static const yj_option db_option = {
    "--db", YJ_OPT_TEXT, "PATH|URL", NULL,
    "SQLite database file, or postgres://user@host:port/db (default $YINGJI_DB or yingji.db)"};

static const char *db_of(const yj_optset *o)
{
    if (yj_opt_given(o, "--db"))
        return yj_opt_text(o, "--db");
    const char *e = getenv("YINGJI_DB");
    return e && e[0] ? e : "yingji.db";
}

static yj_store *open_store(const char *path, int pool)
{
    yj_err err;
    yj_err_clear(&err);
    yj_store *s = app_open_store(path, pool, &err);
    if (s == NULL)
        fprintf(stderr, "yingji: %s\n", err.message);
    return s;
}

/* Parse a command's options; on a usage error say why (exit 2). */
static yj_optset *parse(const yj_option *opts, size_t n, int argc, char **argv)
{
    const yj_opt_table t = {opts, n, NULL};
    yj_err err;
    yj_err_clear(&err);
    yj_optset *o = yj_opts_parse(&t, 1, argc, argv, &err);
    if (o == NULL)
        fprintf(stderr, "yingji: %s\n", err.message);
    return o;
}

static void help(const char *usage, const char *what, const yj_option *opts, size_t n)
{
    const yj_opt_table t = {opts, n, NULL};
    yj_opts_help(stdout, usage, what, &t, 1);
}

/* The command-line operator acts with full rights over the whole database. */
static yj_user cli_user(void)
{
    yj_user u = {.id = 0, .role = YJ_ROLE_ADMIN};
    snprintf(u.username, sizeof u.username, "cli:%s", getenv("USER") ? getenv("USER") : "root");
    snprintf(u.name, sizeof u.name, "command line");
    return u;
}

/* ---- serve ----------------------------------------------------------------- */

/* Every module's serve options, the platform's first. */
static size_t serve_tables(yj_opt_table *t, size_t max)
{
    size_t n = 0, nm = 0;
    const yj_module *const *mods = yj_modules(&nm);
    for (size_t i = 0; i < nm && n < max; i++)
        if (mods[i]->noptions)
            t[n++] = (yj_opt_table){mods[i]->options, mods[i]->noptions, mods[i]->name};
    return n;
}

static int cmd_serve(int argc, char **argv)
{
    yj_opt_table tables[32];
    size_t nt = serve_tables(tables, YJ_COUNT(tables));
    if (yj_opts_wants_help(argc, argv)) {
        yj_opts_help(
            stdout, "yingji serve --db PATH --listen HOST:PORT [options]",
            "Run the platform: JSON API under /api/v1, the web UI, /healthz, /metrics and\n"
            "the event stream, with every module's runtime. Stops cleanly on\n"
            "SIGINT/SIGTERM.",
            tables, nt);
        return 0;
    }
    yj_err err;
    yj_err_clear(&err);
    yj_optset *o = yj_opts_parse(tables, nt, argc, argv, &err);
    if (o == NULL || app_configure(o, &err) != YJ_OK) {
        fprintf(stderr, "yingji: %s\n", err.message);
        yj_opts_free(o);
        return 2;
    }
    yj_store *s = open_store(db_of(o), (int)yj_opt_int(o, "--pool"));
    if (s == NULL) {
        yj_opts_free(o);
        return 1;
    }
    char web_real[PATH_MAX];
    const char *web = yj_opt_given(o, "--web") ? yj_opt_text(o, "--web") : YJ_SOURCE_DIR "/web";
    yj_app app = {.store = s,
                  .web_dir = NULL,
                  .secure_cookie = yj_opt_flag(o, "--secure-cookie"),
                  .threads = (int)yj_opt_int(o, "--threads"),
                  .test_hooks = yj_opt_flag(o, "--test-hooks"),
                  .per_ip = (int)yj_opt_int(o, "--per-ip-connections"),
                  .idle_timeout = (int)yj_opt_int(o, "--idle-timeout"),
                  .trusted_proxy = yj_opt_text(o, "--trusted-proxy")};
    if (realpath(web, web_real) != NULL)
        app.web_dir = web_real;
    else
        yj_log(YJ_LOG_WARN, "no_web", "web directory %s not found: serving the API only", web);

    /* Block the stop signals in every thread; the main thread waits for them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    sse_init();
    yj_runtime rt = {.store = s, .opts = o, .test_hooks = app.test_hooks};
    const char *listen = yj_opt_text(o, "--listen");
    yj_server *srv = NULL;
    int status = 0;
    if (app_start(&rt, &err) != YJ_OK) {
        fprintf(stderr, "yingji: %s\n", err.message);
        status = 1;
    } else if (sched_start(s, !app.test_hooks, &err) != YJ_OK ||
               (srv = http_server_start(&app, listen, &err)) == NULL) {
        fprintf(stderr, "yingji: %s\n", err.message);
        sched_stop();
        app_stop();
        status = 1;
    }
    if (srv) {
        yj_log(YJ_LOG_INFO, "listening", "yingji serving on http://%s/ (store %s)", listen,
               yj_store_driver_name(s));
        printf("yingji: 应急管理综合应用平台 running at http://%s/  (Ctrl-C to stop)\n", listen);
        fflush(stdout);
        int sig = 0;
        sigwait(&set, &sig);
        yj_log(YJ_LOG_INFO, "stopping", "signal %d", sig);
        http_server_stop(srv);
        sched_stop();
        app_stop();
    }
    yj_store_close(s);
    yj_opts_free(o);
    return status;
}

/* ---- demo ------------------------------------------------------------------ */

static int print_logins(const char *path)
{
    json_error_t je;
    json_t *a = json_load_file(path, 0, &je);
    if (!json_is_array(a))
        return fprintf(stderr, "yingji: cannot read %s: %s\n", path, je.text), 1;
    printf("\n演示账号 demo logins (%s):\n", path);
    printf("  %-20s %-18s %-12s %s\n", "username", "password", "role", "region");
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e) {
        printf("  %-20s %-18s %-12s %s\n", json_string_value(json_object_get(e, "username")),
               json_string_value(json_object_get(e, "password")),
               json_string_value(json_object_get(e, "role")),
               json_string_value(json_object_get(e, "region_code")));
    }
    json_decref(a);
    return 0;
}

static int cmd_demo(int argc, char **argv)
{
    static const yj_option opts[] = {
        {"--db", YJ_OPT_TEXT, "PATH|URL", NULL,
         "database file to create (must not exist unless --force), or an empty\n"
         "PostgreSQL database postgres://user@host:port/db"},
        {"--logins", YJ_OPT_TEXT, "FILE", NULL,
         "where to write the logins (default PATH.logins.json; demo.logins.json\n"
         "for PostgreSQL)"},
        {"--data", YJ_OPT_TEXT, "DIR", NULL,
         "directory with regions.csv and boundaries.geojson (default build/data)"},
        {"--password", YJ_OPT_TEXT, "P", NULL,
         "give every demo user this password (default: random ones)"},
        {"--seed", YJ_OPT_TEXT, "N", "20261125", "random seed for the generated city"},
        {"--force", YJ_OPT_FLAG, NULL, NULL, "delete an existing database first"},
        {"--logins-only", YJ_OPT_FLAG, NULL, NULL,
         "only print the logins of an existing demo database"},
    };
    if (yj_opts_wants_help(argc, argv)) {
        help("yingji demo --db PATH [--password P] [--force]",
             "Create the demo city 晋城市: real regions (province to village), county\n"
             "outlines, and every module's part of the city (base databases, monitoring,\n"
             "who warnings reach ...) and one login per role. Logins are printed and\n"
             "written to PATH.logins.json.",
             opts, YJ_COUNT(opts));
        return 0;
    }
    yj_optset *o = parse(opts, YJ_COUNT(opts), argc, argv);
    if (o == NULL)
        return 2;
    const char *db = db_of(o);
    bool pg = yj_store_url_is_pg(db);
    char logins[PATH_MAX];
    if (yj_opt_given(o, "--logins"))
        snprintf(logins, sizeof logins, "%s", yj_opt_text(o, "--logins"));
    else if (pg)
        snprintf(logins, sizeof logins, "demo.logins.json");
    else
        snprintf(logins, sizeof logins, "%s.logins.json", db);
    int status = 0;
    struct stat st;
    if (yj_opt_flag(o, "--logins-only")) {
        status = print_logins(logins);
        yj_opts_free(o);
        return status;
    }
    if (!pg && stat(db, &st) == 0) {
        if (!yj_opt_flag(o, "--force")) {
            fprintf(stderr, "yingji: %s exists; use --force to recreate it\n", db);
            yj_opts_free(o);
            return 1;
        }
        const char *suffix[] = {"", "-wal", "-shm"};
        for (size_t i = 0; i < 3; i++) {
            char p[PATH_MAX];
            snprintf(p, sizeof p, "%s%s", db, suffix[i]);
            unlink(p);
        }
    }
    if (pg) {
        /* a PostgreSQL database that holds tables is emptied only when told */
        yj_err err;
        yj_err_clear(&err);
        yj_store *raw = yj_store_open(db, 1, &err);
        yj_code rc = raw ? yj_store_empty(raw, yj_opt_flag(o, "--force"), &err) : yj_fail(&err);
        yj_store_close(raw);
        if (rc != YJ_OK) {
            fprintf(stderr, "yingji: %s\n", err.message);
            yj_opts_free(o);
            return 1;
        }
    }
    yj_store *s = open_store(db, 2);
    if (s == NULL) {
        yj_opts_free(o);
        return 1;
    }
    const char *data = yj_opt_given(o, "--data") ? yj_opt_text(o, "--data")
                       : getenv("YJ_DATA_DIR")   ? getenv("YJ_DATA_DIR")
                                                 : YJ_SOURCE_DIR "/build/data";
    yj_demo_opts d = {.data_dir = data,
                      .password = yj_opt_text(o, "--password"),
                      .seed = (unsigned)strtoul(yj_opt_text(o, "--seed"), NULL, 10)};
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = demo_create(s, &d, logins, stdout, &err);
    yj_store_close(s);
    yj_opts_free(o);
    if (rc != YJ_OK)
        return fprintf(stderr, "yingji: demo: %s\n", err.message), 1;
    return 0;
}

/* ---- user ------------------------------------------------------------------ */

static const char *read_password(const char *given)
{
    static char buf[300];
    if (given)
        return given;
    const char *env = getenv("YINGJI_PASSWORD");
    if (env)
        return env;
    if (isatty(STDIN_FILENO))
        fprintf(stderr, "password: ");
    if (fgets(buf, sizeof buf, stdin) == NULL)
        return NULL;
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf;
}

static int cmd_user(int argc, char **argv)
{
    static const yj_option opts[] = {
        db_option,
        {"--role", YJ_OPT_TEXT, "ROLE", NULL,
         "admin duty commander supervisor inspector warehouse enterprise informant expert"},
        {"--region", YJ_OPT_TEXT, "CODE", NULL, "region code the user belongs to, e.g. 140525"},
        {"--name", YJ_OPT_TEXT, "NAME", NULL, "display name, e.g. 张伟"},
        {"--enterprise", YJ_OPT_TEXT, "ID", NULL, "enterprise id (role enterprise only)"},
        {"--password", YJ_OPT_TEXT, "P", NULL,
         "password (else $YINGJI_PASSWORD, else read from stdin)"},
    };
    if (yj_opts_wants_help(argc, argv) || argc < 1) {
        help("yingji user add USERNAME --role R --region CODE --name NAME [--password P]\n"
             "       yingji user passwd USERNAME [--password P]\n"
             "       yingji user list",
             "Manage logins. Passwords are stored as argon2id hashes; changing a password\n"
             "ends the user's sessions.",
             opts, YJ_COUNT(opts));
        return argc < 1 ? 2 : 0;
    }
    yj_optset *o = parse(opts, YJ_COUNT(opts), argc - 1, argv + 1);
    if (o == NULL)
        return 2;
    bool add = strcmp(argv[0], "add") == 0, passwd = strcmp(argv[0], "passwd") == 0;
    if (strcmp(argv[0], "list") != 0 && !((add || passwd) && yj_opt_npositional(o) == 1)) {
        fprintf(stderr, "yingji: usage: yingji user add|passwd USERNAME ... | user list\n");
        yj_opts_free(o);
        return 2;
    }
    yj_store *s = open_store(db_of(o), 1);
    if (s == NULL) {
        yj_opts_free(o);
        return 1;
    }
    yj_user cli = cli_user();
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = YJ_OK;
    const char *name = yj_opt_positional(o, 0);
    if (!add && !passwd) {
        json_t *items = NULL;
        rc = user_list(s, NULL, &items, &err);
        size_t i;
        json_t *u;
        json_array_foreach(items, i, u) {
            printf("%-20s %-12s %-14s %s\n", json_string_value(json_object_get(u, "username")),
                   json_string_value(json_object_get(u, "role")),
                   json_string_value(json_object_get(u, "region_code")),
                   json_string_value(json_object_get(u, "name")));
        }
        json_decref(items);
    } else if (add) {
        const char *pw = read_password(yj_opt_text(o, "--password"));
        int role = role_parse(yj_opt_text(o, "--role"));
        const char *ent = yj_opt_text(o, "--enterprise");
        if (role < 0)
            rc = yj_err_set(&err, YJ_EINVAL, "role", "--role is required (see --help)");
        else
            rc = user_add(s, cli.username, name, pw, (yj_role)role,
                          yj_opt_text(o, "--region") ? yj_opt_text(o, "--region") : "",
                          yj_opt_text(o, "--name") ? yj_opt_text(o, "--name") : "",
                          ent ? strtoll(ent, NULL, 10) : 0, NULL, &err);
        if (rc == YJ_OK)
            printf("user %s added\n", name);
    } else {
        const char *pw = read_password(yj_opt_text(o, "--password"));
        rc = user_passwd(s, cli.username, name, pw, &err);
        if (rc == YJ_OK)
            printf("password of %s changed\n", name);
    }
    yj_store_close(s);
    yj_opts_free(o);
    if (rc != YJ_OK) {
        fprintf(stderr, "yingji: %s%s%s\n", err.message, err.field[0] ? " — field " : "",
                err.field);
        return 1;
    }
    return 0;
}

/* ---- import / export ------------------------------------------------------- */

static void list_registries(FILE *f)
{
    fprintf(f, "registries:");
    for (size_t i = 0; i < registry_count(); i++)
        fprintf(f, " %s", registry_at(i)->name);
    fprintf(f, "\n");
}

static const yj_registry *registry_arg(const char *name)
{
    const yj_registry *r = registry_find(name);
    if (r == NULL) {
        fprintf(stderr, "yingji: no registry %s; ", name);
        list_registries(stderr);
    }
    return r;
}

static int cmd_import(int argc, char **argv)
{
    static const yj_option opts[] = {
        db_option,
        {"--skip-bad", YJ_OPT_FLAG, NULL, NULL, "import the good rows and report the bad ones"},
    };
    if (yj_opts_wants_help(argc, argv)) {
        help("yingji import <registry> <file.csv> [--db PATH] [--skip-bad]",
             "Import a CSV file (UTF-8, with or without BOM; header of field names or\n"
             "Chinese labels). Every row is validated; if any row is bad nothing is\n"
             "written, unless --skip-bad. Rows whose natural key exists update it.",
             opts, YJ_COUNT(opts));
        list_registries(stdout);
        return 0;
    }
    yj_optset *o = parse(opts, YJ_COUNT(opts), argc, argv);
    if (o == NULL)
        return 2;
    const yj_registry *r = NULL;
    if (yj_opt_npositional(o) != 2) {
        fprintf(stderr, "yingji: usage: yingji import <registry> <file.csv>\n");
    } else {
        r = registry_arg(yj_opt_positional(o, 0));
    }
    if (r == NULL) {
        yj_opts_free(o);
        return 2;
    }
    const char *file = yj_opt_positional(o, 1);
    size_t len = 0;
    char *data = yj_read_file(file, &len);
    if (data == NULL) {
        fprintf(stderr, "yingji: cannot read %s: %s\n", file, strerror(errno));
        yj_opts_free(o);
        return 1;
    }
    yj_store *s = open_store(db_of(o), 1);
    if (s == NULL) {
        free(data);
        yj_opts_free(o);
        return 1;
    }
    yj_user cli = cli_user();
    yj_import_report rep;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc =
        registry_import_csv(s, &cli, r, data, len, yj_opt_flag(o, "--skip-bad"), &rep, &err);
    free(data);
    yj_store_close(s);
    size_t i;
    json_t *e;
    json_array_foreach(rep.errors, i, e) {
        fprintf(stderr, "%s: row %lld, column %s: %s\n", file,
                (long long)json_integer_value(json_object_get(e, "row")),
                json_string_value(json_object_get(e, "column")),
                json_string_value(json_object_get(e, "reason")));
    }
    json_decref(rep.errors);
    yj_opts_free(o);
    if (rc != YJ_OK)
        return fprintf(stderr, "yingji: import failed: %s\n", err.message), 1;
    printf("%s: created %d, updated %d, unchanged %d, skipped %d\n", r->name, rep.created,
           rep.updated, rep.unchanged, rep.skipped);
    return 0;
}

static int cmd_export(int argc, char **argv)
{
    static const yj_option opts[] = {
        db_option,
        {"--output", YJ_OPT_TEXT, "FILE", NULL, "write to this file instead of standard output"},
    };
    if (yj_opts_wants_help(argc, argv)) {
        help("yingji export <registry> [--db PATH] [--output FILE]",
             "Export a registry as CSV: UTF-8 with BOM (Excel opens the Chinese text\n"
             "correctly), header of Chinese labels.",
             opts, YJ_COUNT(opts));
        list_registries(stdout);
        return 0;
    }
    yj_optset *o = parse(opts, YJ_COUNT(opts), argc, argv);
    if (o == NULL)
        return 2;
    const yj_registry *r = NULL;
    if (yj_opt_npositional(o) != 1)
        fprintf(stderr, "yingji: usage: yingji export <registry>\n");
    else
        r = registry_arg(yj_opt_positional(o, 0));
    if (r == NULL) {
        yj_opts_free(o);
        return 2;
    }
    yj_store *s = open_store(db_of(o), 1);
    if (s == NULL) {
        yj_opts_free(o);
        return 1;
    }
    yj_user cli = cli_user();
    yj_query q = {.limit = 1000};
    char *csv = NULL;
    size_t len = 0;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = registry_export_csv(s, &cli, r, &q, &csv, &len, &err);
    yj_store_close(s);
    int ret = 0;
    if (rc != YJ_OK) {
        fprintf(stderr, "yingji: export failed: %s\n", err.message);
        ret = 1;
    } else {
        const char *out = yj_opt_text(o, "--output");
        FILE *f = out ? fopen(out, "wb") : stdout;
        if (f == NULL || fwrite(csv, 1, len, f) != len || (out && fclose(f) != 0)) {
            fprintf(stderr, "yingji: cannot write %s\n", out ? out : "stdout");
            ret = 1;
        }
    }
    free(csv);
    yj_opts_free(o);
    return ret;
}

/* ---- audit ----------------------------------------------------------------- */

static int cmd_audit(int argc, char **argv)
{
    static const yj_option opts[] = {
        db_option,
        {"--head", YJ_OPT_TEXT, "ID:HASH", NULL,
         "ID:HASH printed by an earlier verify: check it is still there"},
    };
    if (yj_opts_wants_help(argc, argv) || argc < 1 || strcmp(argv[0], "verify") != 0) {
        help("yingji audit verify [--db PATH] [--head ID:HASH]",
             "Walk the audit log's hash chain. Exit 0 if intact; otherwise exit 1 and name\n"
             "the first entry that was edited, removed or reordered. It prints the head\n"
             "(newest entry) as ID:HASH: keep it outside the database (e.g. in the duty\n"
             "log) and pass it back with --head to detect the newest entries being cut off.",
             opts, YJ_COUNT(opts));
        return yj_opts_wants_help(argc, argv) ? 0 : 2;
    }
    yj_optset *o = parse(opts, YJ_COUNT(opts), argc - 1, argv + 1);
    if (o == NULL)
        return 2;
    yj_store *s = open_store(db_of(o), 1);
    if (s == NULL) {
        yj_opts_free(o);
        return 1;
    }
    yj_audit_check chk;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = audit_verify(s, &chk, &err);
    const char *head = yj_opt_text(o, "--head");
    if (rc == YJ_OK && head)
        rc = audit_check_head(s, head, &chk, &err);
    yj_store_close(s);
    yj_opts_free(o);
    if (rc != YJ_OK)
        return fprintf(stderr, "yingji: audit verify: %s\n", err.message), 1;
    if (!chk.ok) {
        printf("audit chain BROKEN at entry %lld: %s (%lld entries read)\n",
               (long long)chk.first_bad_id, chk.reason, (long long)chk.entries);
        return 1;
    }
    printf("audit chain intact: %lld entries; head %lld:%s\n", (long long)chk.entries,
           (long long)chk.head_id, chk.head_hash);
    return 0;
}

/* ---- regions ---------------------------------------------------------------- */

static int cmd_regions(int argc, char **argv)
{
    static const yj_option opts[] = {
        db_option,
        {"--parent", YJ_OPT_TEXT, "CODE", NULL, "with list: show the children of this region code"},
    };
    if (yj_opts_wants_help(argc, argv) || argc < 1) {
        help("yingji regions load FILE.csv [--db PATH]\n"
             "       yingji regions list [--parent CODE] [--db PATH]",
             "Load administrative regions (GB/T 2260 / statistical division codes:\n"
             "province 2 digits, city 4, county 6, township 9, village 12) from a CSV file\n"
             "with the header code,name,parent (UTF-8); existing codes are renamed, nothing\n"
             "is deleted. build/data/regions.csv (made by `make`) has all of China's\n"
             "counties plus 晋城市's townships and villages. `list` prints a region's children.",
             opts, YJ_COUNT(opts));
        return argc < 1 ? 2 : 0;
    }
    yj_optset *o = parse(opts, YJ_COUNT(opts), argc - 1, argv + 1);
    if (o == NULL)
        return 2;
    bool load = strcmp(argv[0], "load") == 0;
    if ((!load && strcmp(argv[0], "list") != 0) || (load && yj_opt_npositional(o) != 1)) {
        fprintf(stderr, "yingji: usage: yingji regions load FILE.csv | regions list\n");
        yj_opts_free(o);
        return 2;
    }
    yj_store *s = open_store(db_of(o), 1);
    if (s == NULL) {
        yj_opts_free(o);
        return 1;
    }
    yj_user cli = cli_user();
    yj_err err;
    yj_err_clear(&err);
    yj_code rc;
    if (load) {
        int count = 0;
        rc = region_load(s, &cli, yj_opt_positional(o, 0), &count, &err);
        if (rc == YJ_OK)
            printf("%d regions loaded from %s\n", count, yj_opt_positional(o, 0));
    } else {
        json_t *items = NULL;
        rc = region_children(s, &cli, yj_opt_text(o, "--parent"), &items, &err);
        size_t i;
        json_t *e;
        json_array_foreach(items, i, e) {
            printf("%-14s %s\n", json_string_value(json_object_get(e, "code")),
                   json_string_value(json_object_get(e, "name")));
        }
        json_decref(items);
    }
    yj_store_close(s);
    yj_opts_free(o);
    if (rc != YJ_OK)
        return fprintf(stderr, "yingji: regions: %s\n", err.message), 1;
    return 0;
}

/* ---- dispatch ---------------------------------------------------------------- */

static const yj_command commands[] = {
    {"serve", cmd_serve, "run the platform (API, web UI, events)"},
    {"demo", cmd_demo, "create the demo city 晋城市 in a new database"},
    {"user", cmd_user, "add users, change passwords, list users"},
    {"import", cmd_import, "import a registry from CSV"},
    {"export", cmd_export, "export a registry to CSV"},
    {"audit", cmd_audit, "verify the audit log's hash chain"},
    {"regions", cmd_regions, "load administrative regions from CSV, list them"},
};

static void usage(FILE *f)
{
    fprintf(f, "yingji — 应急管理综合应用平台 (integrated emergency-management platform)\n\n"
               "usage: yingji <command> [options]   (yingji <command> --help for details)\n\n"
               "commands:\n");
    for (size_t i = 0; i < YJ_COUNT(commands); i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
    size_t nm = 0;
    const yj_module *const *mods = yj_modules(&nm);
    for (size_t m = 0; m < nm; m++)
        for (size_t i = 0; i < mods[m]->ncommands; i++)
            fprintf(f, "  %-12s %s\n", mods[m]->commands[i].name, mods[m]->commands[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (yj_crypto_init() != 0)
        return fprintf(stderr, "yingji: libsodium failed to initialise\n"), 1;
    app_init();
    const char *lvl = getenv("YINGJI_LOG");
    if (lvl && strcmp(lvl, "debug") == 0)
        yj_log_min = YJ_LOG_DEBUG;
    for (size_t i = 0; i < YJ_COUNT(commands); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 2, argv + 2);
    const yj_command *c = app_command(argv[1]);
    if (c)
        return c->run(argc - 2, argv + 2);
    fprintf(stderr, "yingji: unknown command %s\n\n", argv[1]);
    usage(stderr);
    return 2;
}
