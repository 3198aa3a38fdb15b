/*
 * main.c — the `yingji` command: one binary, subcommands declared in a
 * table.  Each subcommand opens the store (migrating it to the current
 * schema), does its work through the module services, and exits non-zero
 * with a message on stderr when anything fails.
 *
 *   yingji serve  --db PATH --listen HOST:PORT [--web DIR]
 *   yingji demo   --db PATH
 *   yingji user   add|passwd|list
 *   yingji import <registry> <file.csv>
 *   yingji export <registry>
 *   yingji audit  verify
 *   yingji regions load|list
 *   yingji simulate --db PATH --mqtt HOST:PORT
 *   yingji cap validate [--profile gbt35965] FILE...
 */
#include "auth/auth.h"
#include "core/util.h"
#include "demo/demo.h"
#include "http/http.h"
#include "monitor/monitor.h"
#include "monitor/simulate.h"
#include "registry/registry.h"
#include "warning/cap.h"
#include "warning/channels.h"
#include "warning/deliver.h"
#include "warning/warning.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef YJ_SOURCE_DIR
#define YJ_SOURCE_DIR "."
#endif

/* ---- option parsing ------------------------------------------------------ */

typedef struct {
    const char *name; /* "--db" */
    bool has_arg;
    const char *help;
} opt_spec;

typedef struct {
    const char *values[32];
    bool present[32];
    const char *positional[8];
    int npositional;
} opt_vals;

static int parse_opts(int argc, char **argv, const opt_spec *spec, size_t nspec, opt_vals *ov)
{
    memset(ov, 0, sizeof *ov);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || strcmp(a, "--") == 0) {
            if (ov->npositional >= 8)
                return fprintf(stderr, "yingji: too many arguments\n"), -1;
            ov->positional[ov->npositional++] = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        size_t k;
        for (k = 0; k < nspec; k++)
            if (strlen(spec[k].name) == nlen && strncmp(spec[k].name, a, nlen) == 0)
                break;
        if (k == nspec)
            return fprintf(stderr, "yingji: unknown option %s (see --help)\n", a), -1;
        ov->present[k] = true;
        if (spec[k].has_arg) {
            if (eq)
                ov->values[k] = eq + 1;
            else if (i + 1 < argc)
                ov->values[k] = argv[++i];
            else
                return fprintf(stderr, "yingji: %s needs a value\n", spec[k].name), -1;
        }
    }
    return 0;
}

static const char *opt(const opt_spec *spec, size_t nspec, const opt_vals *ov, const char *name,
                       const char *def)
{
    for (size_t k = 0; k < nspec; k++)
        if (strcmp(spec[k].name, name) == 0)
            return ov->present[k] ? (ov->values[k] ? ov->values[k] : "") : def;
    return def;
}

static void print_help(const char *usage, const char *what, const opt_spec *spec, size_t nspec)
{
    printf("usage: %s\n\n%s\n", usage, what);
    if (nspec)
        printf("\noptions:\n");
    for (size_t k = 0; k < nspec; k++)
        printf("  %-22s %s\n", spec[k].name, spec[k].help);
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

static const char *default_db(void)
{
    const char *e = getenv("YINGJI_DB");
    return e && e[0] ? e : "yingji.db";
}

static yj_store *open_store(const char *path, int pool)
{
    yj_err err;
    yj_err_clear(&err);
    yj_store *s = yj_store_open(path, pool, &err);
    size_t n;
    const yj_migration *m = yj_migrations(&n);
    if (s && yj_store_migrate(s, m, n, &err) != YJ_OK) {
        yj_store_close(s);
        s = NULL;
    }
    if (s == NULL)
        fprintf(stderr, "yingji: %s\n", err.message);
    return s;
}

/* The command-line operator acts with full rights over the whole database. */
static yj_user cli_user(void)
{
    yj_user u = {.id = 0, .role = YJ_ROLE_ADMIN};
    snprintf(u.username, sizeof u.username, "cli:%s", getenv("USER") ? getenv("USER") : "root");
    snprintf(u.name, sizeof u.name, "command line");
    return u;
}

#define NSPEC(a)       (sizeof(a) / sizeof((a)[0]))
#define OPT(name, def) opt(spec, NSPEC(spec), &ov, name, def)

/* ---- serve ----------------------------------------------------------------- */

/* Stop what serve started, in reverse (each part is a no-op when it was
 * never started), and close the store; the exit status. */
static int serve_stop(yj_store *s, int status)
{
    warning_cap_stop();
    mon_kj_stop();
    mon_mqtt_stop();
    warning_runtime_stop();
    chan_stop();
    mon_stop();
    yj_store_close(s);
    return status;
}

static int cmd_serve(int argc, char **argv)
{
    static const opt_spec spec[] = {
        {"--db", true, "database file (default $YINGJI_DB or yingji.db)"},
        {"--listen", true, "HOST:PORT to listen on (default 127.0.0.1:8080)"},
        {"--web", true, "directory of the web UI (default the source tree's web/)"},
        {"--pool", true, "store connections (default 8)"},
        {"--threads", true, "HTTP worker threads (default 8)"},
        {"--session-ttl", true, "idle session lifetime in seconds (default 7200)"},
        {"--secure-cookie", false, "mark the session cookie Secure (behind TLS)"},
        {"--mqtt", true, "HOST:PORT of the MQTT broker to take readings from (default: none)"},
        {"--mqtt-consumers", true, "parallel MQTT consumers on a shared subscription (default 1)"},
        {"--mqtt-client-id", true, "persistent MQTT session id (default yingji-ingest)"},
        {"--retention-days", true, "keep raw readings this many days (default 30)"},
        {"--test-hooks", false, "enable POST /api/v1/monitor/tick (tests drive the clock)"},
        {"--kj-dir", true, "watch this directory for KJ files (done/ and failed/ below it)"},
        {"--ack-timeouts", true,
         "minutes before an unacknowledged red,orange,yellow,blue alarm is escalated "
         "(default 5,10,15,30)"},
        {"--sms-gateway", true, "URL of the SMS gateway (M3 deliveries; none: no SMS)"},
        {"--voice-gateway", true, "URL of the voice-call gateway (none: no calls)"},
        {"--wechat-webhook", true, "URL of the WeChat / app push webhook (none: no push)"},
        {"--gateway-token", true,
         "token gateways are sent and must send back on callbacks (default: random)"},
        {"--public-url", true,
         "this site's address as recipients reach it, for answer links and gateway\n"
         "                         callbacks (default http://LISTEN)"},
        {"--channel-rates", true,
         "messages per second per channel, e.g. sms=200,voice=20,wechat=200,broadcast=500"},
        {"--callup", true,
         "call-up timing: wait=MIN before the next channel, escalate=MIN before the next\n"
         "                         person, cycles=N through the channels, retry=SEC between "
         "cycles\n"
         "                         (default wait=5,escalate=10,cycles=3,retry=60)"},
        {"--channel-plans", true,
         "channels tried in turn, per kind of recipient: residents=, answer= (those who\n"
         "                         must answer), terminals=; channels joined by +\n"
         "                         (default residents=sms,answer=sms+voice,terminals=broadcast)"},
        {"--cap-dir", true, "watch this directory for CAP warnings of other agencies"},
        {"--cap-agency", true,
         "GB/T 35965.1 sender code after the region: DDD (GB/T 4657 institution code),\n"
         "                         or DDDUUUXX with the internal and extension codes (default "
         "000)"},
    };
    if (wants_help(argc, argv)) {
        print_help("yingji serve --db PATH --listen HOST:PORT [--web DIR] [--mqtt HOST:PORT]",
                   "Run the platform: JSON API under /api/v1, the web UI, /healthz, /metrics and\n"
                   "the event stream. Stops cleanly on SIGINT/SIGTERM.",
                   spec, NSPEC(spec));
        return 0;
    }
    opt_vals ov;
    if (parse_opts(argc, argv, spec, NSPEC(spec), &ov) != 0)
        return 2;
    const char *ttl = OPT("--session-ttl", NULL);
    if (ttl) {
        int secs = atoi(ttl);
        if (secs < 1)
            return fprintf(stderr, "yingji: --session-ttl must be a positive number\n"), 2;
        yj_auth_cfg.idle_seconds = secs;
        if (yj_auth_cfg.absolute_seconds < secs)
            yj_auth_cfg.absolute_seconds = secs;
    }
    int pool = atoi(OPT("--pool", "8"));
    if (pool < 1 || pool > 256)
        return fprintf(stderr, "yingji: --pool must be 1..256\n"), 2;
    int threads = atoi(OPT("--threads", "8"));
    if (threads < 1 || threads > 256)
        return fprintf(stderr, "yingji: --threads must be 1..256\n"), 2;
    yj_store *s = open_store(OPT("--db", default_db()), pool);
    if (s == NULL)
        return 1;
    char web_real[PATH_MAX];
    const char *web = OPT("--web", YJ_SOURCE_DIR "/web");
    yj_app app = {.store = s,
                  .web_dir = NULL,
                  .secure_cookie = OPT("--secure-cookie", NULL) != NULL,
                  .threads = threads,
                  .test_hooks = OPT("--test-hooks", NULL) != NULL};
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
    yj_err err;
    yj_err_clear(&err);
    mon_config mcfg = {.retention_days = atoi(OPT("--retention-days", "30")),
                       .no_timers = app.test_hooks};
    const char *acks = OPT("--ack-timeouts", NULL);
    if (acks) {
        int m[4];
        char tail;
        if (sscanf(acks, "%d,%d,%d,%d%c", &m[0], &m[1], &m[2], &m[3], &tail) != 4 || m[0] < 1 ||
            m[1] < 1 || m[2] < 1 || m[3] < 1)
            return fprintf(stderr, "yingji: --ack-timeouts wants four minutes, e.g. 5,10,15,30\n"),
                   yj_store_close(s), 2;
        for (int l = 1; l <= 4; l++)
            mcfg.ack_timeout_s[l] = m[l - 1] * 60;
    }
    warning_config wcfg = {"000", "000", "00"};
    const char *agency = OPT("--cap-agency", NULL);
    if (agency) {
        size_t n = strlen(agency);
        bool ok = n == 3 || n == 8;
        for (size_t i = 0; ok && i < n; i++)
            ok = agency[i] >= '0' && agency[i] <= '9';
        if (!ok)
            return fprintf(stderr, "yingji: --cap-agency wants 3 or 8 digits (DDD or DDDUUUXX)\n"),
                   yj_store_close(s), 2;
        snprintf(wcfg.agency, sizeof wcfg.agency, "%.3s", agency);
        if (n == 8) {
            snprintf(wcfg.unit, sizeof wcfg.unit, "%.3s", agency + 3);
            snprintf(wcfg.ext, sizeof wcfg.ext, "%.2s", agency + 6);
        }
    }
    warning_configure(&wcfg);
    const char *listen_for_url = OPT("--listen", "127.0.0.1:8080");
    char public_url[300];
    snprintf(public_url, sizeof public_url, "%s", OPT("--public-url", ""));
    if (public_url[0] == '\0')
        snprintf(public_url, sizeof public_url, "http://%s", listen_for_url);
    size_t pul = strlen(public_url);
    while (pul && public_url[pul - 1] == '/')
        public_url[--pul] = '\0';
    deliver_public_url(public_url);
    callup_config ccfg = {0};
    const char *callup = OPT("--callup", NULL);
    if (callup) {
        char buf[200];
        snprintf(buf, sizeof buf, "%s", callup);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            int v = 0;
            if (sscanf(t, "wait=%d", &v) == 1 && v > 0)
                ccfg.ack_wait_s = v * 60;
            else if (sscanf(t, "escalate=%d", &v) == 1 && v > 0)
                ccfg.escalate_s = v * 60;
            else if (sscanf(t, "cycles=%d", &v) == 1 && v > 0 && v <= 20)
                ccfg.max_cycles = v;
            else if (sscanf(t, "retry=%d", &v) == 1 && v > 0)
                ccfg.retry_s = v;
            else
                return fprintf(stderr, "yingji: --callup: cannot read \"%s\"\n", t),
                       yj_store_close(s), 2;
        }
    }
    const char *plans = OPT("--channel-plans", NULL);
    if (plans) {
        char buf[300];
        snprintf(buf, sizeof buf, "%s", plans);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            char orig[300];
            snprintf(orig, sizeof orig, "%s", t); /* t is cut up below */
            char *eq = strchr(t, '=');
            char *dst = NULL;
            if (eq && strncmp(t, "residents=", 10) == 0)
                dst = ccfg.plan_resident;
            else if (eq && strncmp(t, "answer=", 7) == 0)
                dst = ccfg.plan_ack;
            else if (eq && strncmp(t, "terminals=", 10) == 0)
                dst = ccfg.plan_terminal;
            /* each channel must exist: sms+wechat -> "sms,wechat" */
            bool ok = dst != NULL && eq[1] != '\0' && strlen(eq + 1) < sizeof ccfg.plan_ack;
            char plan[64] = "";
            for (char *s2 = NULL, *c = ok ? strtok_r(eq + 1, "+", &s2) : NULL; c && ok;
                 c = strtok_r(NULL, "+", &s2)) {
                ok = chan_index(c) >= 0;
                size_t pl = strlen(plan);
                snprintf(plan + pl, sizeof plan - pl, "%s%s", pl ? "," : "", c);
            }
            if (!ok)
                return fprintf(stderr,
                               "yingji: --channel-plans: cannot read \"%s\" (kinds: residents, "
                               "answer, terminals; channels: sms, voice, wechat, broadcast)\n",
                               orig),
                       yj_store_close(s), 2;
            snprintf(dst, sizeof ccfg.plan_ack, "%s", plan);
        }
    }
    deliver_configure(&ccfg);
    char cb[400];
    snprintf(cb, sizeof cb, "%s/api/v1/warnings/callback", public_url);
    chan_config chc = {.sms_url = OPT("--sms-gateway", NULL),
                       .voice_url = OPT("--voice-gateway", NULL),
                       .wechat_url = OPT("--wechat-webhook", NULL),
                       .token = OPT("--gateway-token", NULL),
                       .callback_url = cb};
    const char *rates = OPT("--channel-rates", NULL);
    if (rates) {
        char buf[200];
        snprintf(buf, sizeof buf, "%s", rates);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(t, '=');
            int ch = -1, v = eq ? atoi(eq + 1) : 0;
            if (eq) {
                *eq = '\0';
                ch = chan_index(t);
            }
            if (ch < 0 || v <= 0 || v > 100000)
                return fprintf(stderr, "yingji: --channel-rates: cannot read \"%s\"\n", t),
                       yj_store_close(s), 2;
            chc.rates[ch] = v;
        }
    }
    char mqhost[256];
    const char *broker = OPT("--mqtt", NULL);
    if (broker) {
        const char *colon = strrchr(broker, ':');
        snprintf(mqhost, sizeof mqhost, "%.*s", colon ? (int)(colon - broker) : (int)strlen(broker),
                 broker);
        chc.mqtt_host = mqhost;
        chc.mqtt_port = colon ? atoi(colon + 1) : 1883;
    }
    if (chan_start(&chc, &err) != YJ_OK) {
        fprintf(stderr, "yingji: delivery channels: %s\n", err.message);
        return serve_stop(s, 1);
    }
    deliver_check_plans(stderr);
    if (cap_init(&err) != YJ_OK) {
        fprintf(stderr, "yingji: CAP schemas: %s\n", err.message);
        return serve_stop(s, 1);
    }
    if (mon_start(s, &mcfg, &err) != YJ_OK) {
        fprintf(stderr, "yingji: monitoring: %s\n", err.message);
        return serve_stop(s, 1);
    }
    if (warning_runtime_start(s, app.test_hooks, &err) != YJ_OK) {
        fprintf(stderr, "yingji: warnings: %s\n", err.message);
        return serve_stop(s, 1);
    }
    const char *mqtt = OPT("--mqtt", NULL);
    if (mqtt) {
        char host[256];
        const char *colon = strrchr(mqtt, ':');
        int port = colon ? atoi(colon + 1) : 1883;
        snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - mqtt) : (int)strlen(mqtt), mqtt);
        mon_mqtt_config mq = {.host = host,
                              .port = port,
                              .client_id = OPT("--mqtt-client-id", NULL),
                              .consumers = atoi(OPT("--mqtt-consumers", "1"))};
        if (port <= 0 || port > 65535 || mon_mqtt_start(&mq, &err) != YJ_OK) {
            fprintf(stderr, "yingji: --mqtt %s: %s\n", mqtt, port > 0 ? err.message : "bad port");
            return serve_stop(s, 1);
        }
    }
    const char *kjdir = OPT("--kj-dir", NULL);
    if (kjdir && mon_kj_watch(s, kjdir, &err) != YJ_OK) {
        fprintf(stderr, "yingji: --kj-dir: %s\n", err.message);
        return serve_stop(s, 1);
    }
    const char *capdir = OPT("--cap-dir", NULL);
    if (capdir && warning_cap_watch(s, capdir, &err) != YJ_OK) {
        fprintf(stderr, "yingji: --cap-dir: %s\n", err.message);
        return serve_stop(s, 1);
    }
    const char *listen = OPT("--listen", "127.0.0.1:8080");
    yj_server *srv = http_server_start(&app, listen, &err);
    if (srv == NULL) {
        fprintf(stderr, "yingji: %s\n", err.message);
        return serve_stop(s, 1);
    }
    yj_log(YJ_LOG_INFO, "listening", "yingji serving on http://%s/ (store %s)", listen,
           yj_store_driver_name(s));
    printf("yingji: 应急管理综合应用平台 running at http://%s/  (Ctrl-C to stop)\n", listen);
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    yj_log(YJ_LOG_INFO, "stopping", "signal %d", sig);
    http_server_stop(srv);
    return serve_stop(s, 0);
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
    static const opt_spec spec[] = {
        {"--db", true, "database file to create (must not exist unless --force)"},
        {"--data", true, "directory with regions.csv and boundaries.geojson (default build/data)"},
        {"--password", true, "give every demo user this password (default: random ones)"},
        {"--seed", true, "random seed for the generated city (default 20261125)"},
        {"--force", false, "delete an existing database first"},
        {"--logins-only", false, "only print the logins of an existing demo database"},
    };
    if (wants_help(argc, argv)) {
        print_help("yingji demo --db PATH [--password P] [--force]",
                   "Create the demo city 晋城市: real regions (province to village), county\n"
                   "outlines, generated rescue teams, experts, warehouses, shelters, equipment,\n"
                   "enterprises (coal mines first), hazard sources, informants, duty contacts and\n"
                   "one login per role. Logins are printed and written to PATH.logins.json.",
                   spec, NSPEC(spec));
        return 0;
    }
    opt_vals ov;
    if (parse_opts(argc, argv, spec, NSPEC(spec), &ov) != 0)
        return 2;
    const char *db = OPT("--db", default_db());
    char logins[PATH_MAX];
    snprintf(logins, sizeof logins, "%s.logins.json", db);
    if (OPT("--logins-only", NULL))
        return print_logins(logins);
    struct stat st;
    if (stat(db, &st) == 0) {
        if (!OPT("--force", NULL))
            return fprintf(stderr, "yingji: %s exists; use --force to recreate it\n", db), 1;
        const char *suffix[] = {"", "-wal", "-shm"};
        for (size_t i = 0; i < 3; i++) {
            char p[PATH_MAX];
            snprintf(p, sizeof p, "%s%s", db, suffix[i]);
            unlink(p);
        }
    }
    yj_store *s = open_store(db, 2);
    if (s == NULL)
        return 1;
    const char *data =
        OPT("--data", getenv("YJ_DATA_DIR") ? getenv("YJ_DATA_DIR") : YJ_SOURCE_DIR "/build/data");
    yj_demo_opts o = {.data_dir = data,
                      .password = OPT("--password", NULL),
                      .seed = (unsigned)strtoul(OPT("--seed", "20261125"), NULL, 10)};
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = demo_create(s, &o, logins, stdout, &err);
    yj_store_close(s);
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
    static const opt_spec spec[] = {
        {"--db", true, "database file (default $YINGJI_DB or yingji.db)"},
        {"--role", true,
         "admin duty commander supervisor inspector warehouse enterprise "
         "informant expert public"},
        {"--region", true, "region code the user belongs to, e.g. 140525"},
        {"--name", true, "display name, e.g. 张伟"},
        {"--enterprise", true, "enterprise id (role enterprise only)"},
        {"--password", true, "password (else $YINGJI_PASSWORD, else read from stdin)"},
    };
    if (wants_help(argc, argv) || argc < 1) {
        print_help("yingji user add USERNAME --role R --region CODE --name NAME [--password P]\n"
                   "       yingji user passwd USERNAME [--password P]\n"
                   "       yingji user list",
                   "Manage logins. Passwords are stored as argon2id hashes; changing a password\n"
                   "ends the user's sessions.",
                   spec, NSPEC(spec));
        return argc < 1 ? 2 : 0;
    }
    opt_vals ov;
    if (parse_opts(argc - 1, argv + 1, spec, NSPEC(spec), &ov) != 0)
        return 2;
    yj_store *s = open_store(OPT("--db", default_db()), 1);
    if (s == NULL)
        return 1;
    yj_user cli = cli_user();
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = YJ_OK;
    int ret = 0;
    if (strcmp(argv[0], "list") == 0) {
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
    } else if ((strcmp(argv[0], "add") == 0 || strcmp(argv[0], "passwd") == 0) &&
               ov.npositional == 1) {
        const char *pw = read_password(OPT("--password", NULL));
        if (strcmp(argv[0], "add") == 0) {
            int role = role_parse(OPT("--role", ""));
            if (role < 0) {
                rc = yj_err_set(&err, YJ_EINVAL, "role", "--role is required (see --help)");
            } else {
                rc = user_add(s, cli.username, ov.positional[0], pw, (yj_role)role,
                              OPT("--region", ""), OPT("--name", ""),
                              strtoll(OPT("--enterprise", "0"), NULL, 10), NULL, &err);
            }
            if (rc == YJ_OK)
                printf("user %s added\n", ov.positional[0]);
        } else {
            rc = user_passwd(s, cli.username, ov.positional[0], pw, &err);
            if (rc == YJ_OK)
                printf("password of %s changed\n", ov.positional[0]);
        }
    } else {
        fprintf(stderr, "yingji: usage: yingji user add|passwd USERNAME ... | user list\n");
        ret = 2;
    }
    yj_store_close(s);
    if (rc != YJ_OK) {
        fprintf(stderr, "yingji: %s%s%s\n", err.message, err.field[0] ? " — field " : "",
                err.field);
        return 1;
    }
    return ret;
}

/* ---- import / export ------------------------------------------------------- */

static void list_registries(FILE *f)
{
    fprintf(f, "registries:");
    for (size_t i = 0; i < registry_count(); i++)
        fprintf(f, " %s", registry_at(i)->name);
    fprintf(f, "\n");
}

static int cmd_import(int argc, char **argv)
{
    static const opt_spec spec[] = {
        {"--db", true, "database file (default $YINGJI_DB or yingji.db)"},
        {"--skip-bad", false, "import the good rows and report the bad ones"},
    };
    if (wants_help(argc, argv)) {
        print_help("yingji import <registry> <file.csv> [--db PATH] [--skip-bad]",
                   "Import a CSV file (UTF-8, with or without BOM; header of field names or\n"
                   "Chinese labels). Every row is validated; if any row is bad nothing is\n"
                   "written, unless --skip-bad. Rows whose natural key exists update it.",
                   spec, NSPEC(spec));
        list_registries(stdout);
        return 0;
    }
    opt_vals ov;
    if (parse_opts(argc, argv, spec, NSPEC(spec), &ov) != 0)
        return 2;
    if (ov.npositional != 2)
        return fprintf(stderr, "yingji: usage: yingji import <registry> <file.csv>\n"), 2;
    const yj_registry *r = registry_find(ov.positional[0]);
    if (r == NULL) {
        fprintf(stderr, "yingji: no registry %s; ", ov.positional[0]);
        list_registries(stderr);
        return 2;
    }
    size_t len = 0;
    char *data = yj_read_file(ov.positional[1], &len);
    if (data == NULL)
        return fprintf(stderr, "yingji: cannot read %s: %s\n", ov.positional[1], strerror(errno)),
               1;
    yj_store *s = open_store(OPT("--db", default_db()), 1);
    if (s == NULL) {
        free(data);
        return 1;
    }
    yj_user cli = cli_user();
    yj_import_report rep;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc =
        registry_import_csv(s, &cli, r, data, len, OPT("--skip-bad", NULL) != NULL, &rep, &err);
    free(data);
    yj_store_close(s);
    size_t i;
    json_t *e;
    json_array_foreach(rep.errors, i, e) {
        fprintf(stderr, "%s: row %lld, column %s: %s\n", ov.positional[1],
                (long long)json_integer_value(json_object_get(e, "row")),
                json_string_value(json_object_get(e, "column")),
                json_string_value(json_object_get(e, "reason")));
    }
    json_decref(rep.errors);
    if (rc != YJ_OK)
        return fprintf(stderr, "yingji: import failed: %s\n", err.message), 1;
    printf("%s: created %d, updated %d, unchanged %d, skipped %d\n", r->name, rep.created,
           rep.updated, rep.unchanged, rep.skipped);
    return 0;
}

static int cmd_export(int argc, char **argv)
{
    static const opt_spec spec[] = {
        {"--db", true, "database file (default $YINGJI_DB or yingji.db)"},
        {"--output", true, "write to this file instead of standard output"},
    };
    if (wants_help(argc, argv)) {
        print_help("yingji export <registry> [--db PATH] [--output FILE]",
                   "Export a registry as CSV: UTF-8 with BOM (Excel opens the Chinese text\n"
                   "correctly), header of Chinese labels.",
                   spec, NSPEC(spec));
        list_registries(stdout);
        return 0;
    }
    opt_vals ov;
    if (parse_opts(argc, argv, spec, NSPEC(spec), &ov) != 0)
        return 2;
    if (ov.npositional != 1)
        return fprintf(stderr, "yingji: usage: yingji export <registry>\n"), 2;
    const yj_registry *r = registry_find(ov.positional[0]);
    if (r == NULL) {
        fprintf(stderr, "yingji: no registry %s; ", ov.positional[0]);
        list_registries(stderr);
        return 2;
    }
    yj_store *s = open_store(OPT("--db", default_db()), 1);
    if (s == NULL)
        return 1;
    yj_user cli = cli_user();
    yj_query q = {.limit = 1000};
    char *csv = NULL;
    size_t len = 0;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = registry_export_csv(s, &cli, r, &q, &csv, &len, &err);
    yj_store_close(s);
    if (rc != YJ_OK)
        return fprintf(stderr, "yingji: export failed: %s\n", err.message), 1;
    const char *out = OPT("--output", NULL);
    FILE *f = out ? fopen(out, "wb") : stdout;
    int ret = 0;
    if (f == NULL || fwrite(csv, 1, len, f) != len || (out && fclose(f) != 0)) {
        fprintf(stderr, "yingji: cannot write %s\n", out ? out : "stdout");
        ret = 1;
    }
    free(csv);
    return ret;
}

/* ---- audit ----------------------------------------------------------------- */

static int cmd_audit(int argc, char **argv)
{
    static const opt_spec spec[] = {
        {"--db", true, "database file (default $YINGJI_DB or yingji.db)"},
        {"--head", true, "ID:HASH printed by an earlier verify: check it is still there"},
    };
    if (wants_help(argc, argv) || argc < 1 || strcmp(argv[0], "verify") != 0) {
        print_help("yingji audit verify [--db PATH] [--head ID:HASH]",
                   "Walk the audit log's hash chain. Exit 0 if intact; otherwise exit 1 and name\n"
                   "the first entry that was edited, removed or reordered. It prints the head\n"
                   "(newest entry) as ID:HASH: keep it outside the database (e.g. in the duty\n"
                   "log) and pass it back with --head to detect the newest entries being cut off.",
                   spec, NSPEC(spec));
        return wants_help(argc, argv) ? 0 : 2;
    }
    opt_vals ov;
    if (parse_opts(argc - 1, argv + 1, spec, NSPEC(spec), &ov) != 0)
        return 2;
    yj_store *s = open_store(OPT("--db", default_db()), 1);
    if (s == NULL)
        return 1;
    yj_audit_check chk;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = audit_verify(s, &chk, &err);
    const char *head = OPT("--head", NULL);
    if (rc == YJ_OK && head)
        rc = audit_check_head(s, head, &chk, &err);
    yj_store_close(s);
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
    static const opt_spec spec[] = {
        {"--db", true, "database file (default $YINGJI_DB or yingji.db)"},
        {"--parent", true, "with list: show the children of this region code"},
    };
    if (wants_help(argc, argv) || argc < 1) {
        print_help(
            "yingji regions load FILE.csv [--db PATH]\n"
            "       yingji regions list [--parent CODE] [--db PATH]",
            "Load administrative regions (GB/T 2260 / statistical division codes:\n"
            "province 2 digits, city 4, county 6, township 9, village 12) from a CSV file\n"
            "with the header code,name,parent (UTF-8); existing codes are renamed, nothing\n"
            "is deleted. build/data/regions.csv (made by `make`) has all of China's\n"
            "counties plus 晋城市's townships and villages. `list` prints a region's children.",
            spec, NSPEC(spec));
        return argc < 1 ? 2 : 0;
    }
    opt_vals ov;
    if (parse_opts(argc - 1, argv + 1, spec, NSPEC(spec), &ov) != 0)
        return 2;
    bool load = strcmp(argv[0], "load") == 0;
    if ((!load && strcmp(argv[0], "list") != 0) || (load && ov.npositional != 1))
        return fprintf(stderr, "yingji: usage: yingji regions load FILE.csv | regions list\n"), 2;
    yj_store *s = open_store(OPT("--db", default_db()), 1);
    if (s == NULL)
        return 1;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc;
    if (load) {
        int count = 0;
        yj_conn *c = yj_store_acquire(s);
        rc = yj_tx_begin(c, &err);
        if (rc == YJ_OK)
            rc = region_import_csv(c, ov.positional[0], &count, &err);
        if (rc == YJ_OK)
            rc = yj_tx_commit(c, &err);
        else
            yj_tx_rollback(c);
        yj_store_release(s, c);
        if (rc == YJ_OK)
            printf("%d regions loaded from %s\n", count, ov.positional[0]);
    } else {
        yj_user cli = cli_user();
        json_t *items = NULL;
        rc = region_children(s, &cli, OPT("--parent", NULL), &items, &err);
        size_t i;
        json_t *e;
        json_array_foreach(items, i, e) {
            printf("%-14s %s\n", json_string_value(json_object_get(e, "code")),
                   json_string_value(json_object_get(e, "name")));
        }
        json_decref(items);
    }
    yj_store_close(s);
    if (rc != YJ_OK)
        return fprintf(stderr, "yingji: regions: %s\n", err.message), 1;
    return 0;
}

/* ---- ingest-kj ------------------------------------------------------------- */

static int cmd_ingest_kj(int argc, char **argv)
{
    static const opt_spec spec[] = {
        {"--db", true, "database file (default $YINGJI_DB or yingji.db)"},
        {"--json", false, "print each file's report as JSON"},
    };
    if (wants_help(argc, argv) || argc < 1) {
        print_help("yingji ingest-kj --db PATH FILE...",
                   "Ingest coal-mine KJ monitoring files (MT/T 1116 / AQ 6201 style, UTF-8 or\n"
                   "GBK; see docs/kj-format.md).  Prints per file the records accepted per table\n"
                   "and rejected per reason.  Exits 1 if any file could not be read.",
                   spec, NSPEC(spec));
        return argc < 1 ? 2 : 0;
    }
    opt_vals ov;
    if (parse_opts(argc, argv, spec, NSPEC(spec), &ov) != 0)
        return 2;
    if (ov.npositional < 1)
        return fprintf(stderr, "yingji: ingest-kj: no files given\n"), 2;
    yj_store *s = open_store(OPT("--db", default_db()), 4);
    if (s == NULL)
        return 1;
    yj_err err;
    yj_err_clear(&err);
    mon_config mcfg = {.no_timers = true};
    if (mon_start(s, &mcfg, &err) != YJ_OK) {
        fprintf(stderr, "yingji: %s\n", err.message);
        yj_store_close(s);
        return 1;
    }
    int status = 0;
    bool as_json = OPT("--json", NULL) != NULL;
    for (int i = 0; i < ov.npositional; i++) {
        json_t *rep = NULL;
        yj_err_clear(&err);
        yj_code rc = mon_ingest_kj(s, ov.positional[i], &rep, &err);
        if (rc != YJ_OK) {
            fprintf(stderr, "%s: %s\n", ov.positional[i], err.message);
            status = 1;
            continue;
        }
        if (as_json) {
            char *t = json_dumps(rep, JSON_COMPACT);
            printf("%s\n", t ? t : "{}");
            free(t);
        } else {
            printf("%s: %s, %lld accepted", ov.positional[i],
                   json_string_value(json_object_get(rep, "encoding")),
                   (long long)json_integer_value(json_object_get(rep, "accepted_total")));
            const char *k;
            json_t *v;
            json_object_foreach(json_object_get(rep, "accepted"), k, v)
                if (json_integer_value(v))
                    printf(" %s=%lld", k, (long long)json_integer_value(v));
            printf("; %lld rejected",
                   (long long)json_integer_value(json_object_get(rep, "rejected_total")));
            json_object_foreach(json_object_get(rep, "rejected"), k, v)
                printf(" %s=%lld", k, (long long)json_integer_value(v));
            printf("\n");
        }
        json_decref(rep);
    }
    mon_stop();
    yj_store_close(s);
    return status;
}

/* ---- cap ---------------------------------------------------------------------- */

/* One line per file: "FILE: valid" or "FILE: invalid: <element>: <rule>";
 * 0 only if every file is valid, 1 if any is not, 2 for a usage error. */
static int cmd_cap(int argc, char **argv)
{
    static const char *const usage_text = "yingji cap validate [--profile gbt35965] FILE...";
    if (wants_help(argc, argv) || argc < 1 || strcmp(argv[0], "validate") != 0) {
        printf("usage: %s\n\n"
               "Check CAP messages: well-formed XML, the official OASIS schema of the\n"
               "message's version (1.2, 1.1, 1.0), and the CAP rules the schema cannot\n"
               "express (identifier and sender characters, references, restriction and\n"
               "scope, closed polygons, circles, date-times with an offset, no HTML,\n"
               "ceiling with altitude).  --profile gbt35965 also checks the Chinese\n"
               "profile GB/T 35965.1-2018 (identifier ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N, sender\n"
               "code, Beijing time); a message that names the profile in a <code> is always\n"
               "checked against it.  No DTD, entity or external resource is ever loaded.\n"
               "Prints one line per file and exits 0 only if every file is valid.\n",
               usage_text);
        return wants_help(argc, argv) ? 0 : 2;
    }
    unsigned flags = 0;
    int first = 1;
    if (argc > 1 && strncmp(argv[1], "--profile", 9) == 0) {
        const char *v = argv[1][9] == '=' ? argv[1] + 10 : (argc > 2 ? argv[2] : "");
        if (strcmp(v, "gbt35965") != 0)
            return fprintf(stderr, "yingji: cap: unknown profile \"%s\" (gbt35965)\n", v), 2;
        flags |= CAP_PROFILE_GBT35965;
        first = argv[1][9] == '=' ? 2 : 3;
    }
    if (first >= argc)
        return fprintf(stderr, "usage: %s\n", usage_text), 2;
    yj_err err;
    yj_err_clear(&err);
    if (cap_init(&err) != YJ_OK)
        return fprintf(stderr, "yingji: %s\n", err.message), 1;
    int status = 0;
    for (int i = first; i < argc; i++) {
        size_t len = 0;
        char *data = yj_read_file(argv[i], &len);
        if (data == NULL) {
            printf("%s: invalid: file: cannot read (%s)\n", argv[i], strerror(errno));
            status = 1;
            continue;
        }
        cap_alert *a = NULL;
        yj_err_clear(&err);
        if (cap_read(data, len, flags, &a, &err) == YJ_OK) {
            printf("%s: valid\n", argv[i]);
        } else {
            printf("%s: invalid: %s: %s\n", argv[i], err.field[0] ? err.field : "alert",
                   err.message);
            status = 1;
        }
        cap_alert_free(a);
        free(data);
    }
    return status;
}

/* ---- gateway-sim ---------------------------------------------------------------- */

static int cmd_gateway_sim(int argc, char **argv)
{
    static const opt_spec spec[] = {
        {"--listen", true, "HOST:PORT (default 127.0.0.1:8091)"},
        {"--token", true, "the gateway token the platform sends and expects back (required)"},
        {"--fail-digits", true, "numbers ending in these digits fail their first attempt"},
        {"--answer-digits", true, "numbers ending in these digits answer (default all)"},
        {"--answer-share", true, "instead: this share (0..1) of numbers answer"},
        {"--silent-channels", true, "channels that never bring an answer, e.g. sms"},
        {"--dead-terminals", true, "terminals whose code ends in these digits never play"},
        {"--delay-ms", true, "wait before calling back and confirming (default 200)"},
        {"--latency-ms", true, "take this long to answer each message (default 0)"},
        {"--receipt-first", false, "post each receipt before answering the message"},
        {"--mqtt", true, "HOST:PORT of the broker: also play the broadcast terminals"},
    };
    if (wants_help(argc, argv)) {
        print_help("yingji gateway-sim --token T [--listen HOST:PORT] [--mqtt HOST:PORT]",
                   "A stand-in for the SMS, voice-call and push gateways and the village\n"
                   "broadcast terminals (tests, the demo).  Records every request (GET /requests,\n"
                   "GET /stats), calls back receipts and, for those the rules say answer, SMS\n"
                   "replies and voice answers; confirms terminal playback over MQTT.",
                   spec, NSPEC(spec));
        return 0;
    }
    opt_vals ov;
    if (parse_opts(argc, argv, spec, NSPEC(spec), &ov) != 0)
        return 2;
    gateway_sim_config g = {.listen = OPT("--listen", "127.0.0.1:8091"),
                            .token = OPT("--token", NULL),
                            .fail_digits = OPT("--fail-digits", NULL),
                            .answer_digits = OPT("--answer-digits", NULL),
                            .silent_channels = OPT("--silent-channels", NULL),
                            .dead_terminals = OPT("--dead-terminals", NULL),
                            .answer_share =
                                OPT("--answer-share", NULL) ? atof(OPT("--answer-share", "0")) : -1,
                            .delay_ms = atoi(OPT("--delay-ms", "200")),
                            .latency_ms = atoi(OPT("--latency-ms", "0")),
                            .receipt_first = OPT("--receipt-first", NULL) != NULL};
    if (g.token == NULL || g.token[0] == '\0')
        return fprintf(stderr, "yingji: gateway-sim: --token is required\n"), 2;
    char host[256];
    const char *mq = OPT("--mqtt", NULL);
    if (mq) {
        const char *colon = strrchr(mq, ':');
        snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - mq) : (int)strlen(mq), mq);
        g.mqtt_host = host;
        g.mqtt_port = colon ? atoi(colon + 1) : 1883;
    }
    return gateway_sim_run(&g);
}

/* ---- simulate ---------------------------------------------------------------- */

static void simulate_signal(int sig)
{
    (void)sig;
    mon_simulate_stop();
}

static int cmd_simulate(int argc, char **argv)
{
    static const opt_spec spec[] = {
        {"--db", true, "database file to read the sensors from (default $YINGJI_DB or yingji.db)"},
        {"--mqtt", true, "HOST:PORT of the MQTT broker to publish to (default 127.0.0.1:1883)"},
        {"--speed", true, "simulated seconds per real second: divides every interval (default 1)"},
        {"--exceed-rate", true, "exceedances (alarms) started per hour (default 40; 0 = none)"},
        {"--seed", true, "random seed (default 1)"},
        {"--duration", true, "stop after this many seconds (default: run until Ctrl-C)"},
        {"--client-id", true, "MQTT client id (default yingji-simulate-<pid>)"},
    };
    if (wants_help(argc, argv)) {
        print_help("yingji simulate --db PATH --mqtt HOST:PORT [--speed X] [--exceed-rate R]\n"
                   "                       [--seed N] [--duration S]",
                   "Publish realistic readings of every sensor in the database to an MQTT broker,\n"
                   "as field gateways would: one QoS 1 batch per monitored object on\n"
                   "yingji/v1/<county>/<object code>, each sensor at its reporting interval.\n"
                   "Values wander around normal levels; now and then a sensor ramps into an\n"
                   "alarm band and back (raising and clearing alarms) or goes silent for longer\n"
                   "than its offline rule. Prints a summary every 10 s; stops on SIGINT/SIGTERM.",
                   spec, NSPEC(spec));
        return 0;
    }
    opt_vals ov;
    if (parse_opts(argc, argv, spec, NSPEC(spec), &ov) != 0)
        return 2;
    const char *mqtt = OPT("--mqtt", "127.0.0.1:1883");
    char host[256];
    const char *colon = strrchr(mqtt, ':');
    int port = colon ? atoi(colon + 1) : 1883;
    snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - mqtt) : (int)strlen(mqtt), mqtt);
    if (port <= 0 || port > 65535 || host[0] == '\0')
        return fprintf(stderr, "yingji: --mqtt wants HOST:PORT\n"), 2;
    mon_sim_config cfg = {.host = host,
                          .port = port,
                          .client_id = OPT("--client-id", NULL),
                          .speed = atof(OPT("--speed", "1")),
                          .exceed_rate = atof(OPT("--exceed-rate", "40")),
                          .offline_rate = -1,
                          .seed = strtoull(OPT("--seed", "1"), NULL, 10),
                          .duration_s = atof(OPT("--duration", "0")),
                          .out = stdout};
    if (!(cfg.speed > 0 && cfg.speed <= 1000) || !(cfg.exceed_rate >= 0) || !(cfg.duration_s >= 0))
        return fprintf(stderr, "yingji: --speed wants 0 < X <= 1000; --exceed-rate and "
                               "--duration non-negative numbers\n"),
               2;
    const char *db = OPT("--db", default_db());
    struct stat st;
    if (stat(db, &st) != 0)
        return fprintf(stderr, "yingji: simulate: %s: %s\n", db, strerror(errno)), 1;
    yj_store *s = open_store(db, 1);
    if (s == NULL)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = simulate_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = mon_simulate(s, &cfg, &err);
    yj_store_close(s);
    if (rc != YJ_OK)
        return fprintf(stderr, "yingji: simulate: %s\n", err.message), 1;
    return 0;
}

/* ---- dispatch ---------------------------------------------------------------- */

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"serve", cmd_serve, "run the platform (API, web UI, events)"},
    {"demo", cmd_demo, "create the demo city 晋城市 in a new database"},
    {"user", cmd_user, "add users, change passwords, list users"},
    {"import", cmd_import, "import a registry from CSV"},
    {"export", cmd_export, "export a registry to CSV"},
    {"audit", cmd_audit, "verify the audit log's hash chain"},
    {"regions", cmd_regions, "load administrative regions from CSV, list them"},
    {"ingest-kj", cmd_ingest_kj, "ingest coal-mine KJ monitoring files"},
    {"simulate", cmd_simulate, "publish simulated sensor readings to an MQTT broker (demo)"},
    {"cap", cmd_cap, "validate CAP 1.2 / GB/T 35965.1 warning messages"},
    {"gateway-sim", cmd_gateway_sim,
     "stand-in SMS/voice/push gateways and terminals (demo, tests)"},
};

static void usage(FILE *f)
{
    fprintf(f, "yingji — 应急管理综合应用平台 (integrated emergency-management platform)\n\n"
               "usage: yingji <command> [options]   (yingji <command> --help for details)\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (yj_crypto_init() != 0)
        return fprintf(stderr, "yingji: libsodium failed to initialise\n"), 1;
    registry_init();
    const char *lvl = getenv("YINGJI_LOG");
    if (lvl && strcmp(lvl, "debug") == 0)
        yj_log_min = YJ_LOG_DEBUG;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 2, argv + 2);
    fprintf(stderr, "yingji: unknown command %s\n\n", argv[1]);
    usage(stderr);
    return 2;
}
