/*
 * cli.c — the monitoring module's commands: `yingji ingest-kj` (coal-mine
 * KJ files from the command line) and `yingji simulate` (every sensor of
 * the database reporting over MQTT, for the demo and load tests).
 */
#include "api.h"
#include "monitor.h"
#include "simulate.h"
#include "../base/module.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *default_db(void)
{
    const char *e = getenv("YINGJI_DB");
    return e && e[0] ? e : "yingji.db";
}

int cmd_ingest_kj(int argc, char **argv)
{
    static const yj_option opts[] = {
        {"--db", YJ_OPT_TEXT, "PATH", NULL, "database file (default $YINGJI_DB or yingji.db)"},
        {"--json", YJ_OPT_FLAG, NULL, NULL, "print each file's report as JSON"},
    };
    const yj_opt_table t = {opts, YJ_COUNT(opts), NULL};
    if (yj_opts_wants_help(argc, argv) || argc < 1) {
        yj_opts_help(
            stdout, "yingji ingest-kj --db PATH FILE...",
            "Ingest coal-mine KJ monitoring files (MT/T 1116 / AQ 6201 style, UTF-8 or\n"
            "GBK; see docs/kj-format.md).  Prints per file the records accepted per table\n"
            "and rejected per reason.  Exits 1 if any file could not be read.",
            &t, 1);
        return argc < 1 ? 2 : 0;
    }
    yj_err err;
    yj_err_clear(&err);
    yj_optset *o = yj_opts_parse(&t, 1, argc, argv, &err);
    if (o == NULL)
        return fprintf(stderr, "yingji: %s\n", err.message), 2;
    if (yj_opt_npositional(o) < 1) {
        yj_opts_free(o);
        return fprintf(stderr, "yingji: ingest-kj: no files given\n"), 2;
    }
    const char *db = yj_opt_given(o, "--db") ? yj_opt_text(o, "--db") : default_db();
    yj_store *s = app_open_store(db, 4, &err);
    if (s == NULL) {
        yj_opts_free(o);
        return fprintf(stderr, "yingji: %s\n", err.message), 1;
    }
    mon_config mcfg = {0}; /* no timers: only the scheduler of serve runs them */
    if (mon_start(s, &mcfg, &err) != YJ_OK) {
        fprintf(stderr, "yingji: %s\n", err.message);
        yj_store_close(s);
        yj_opts_free(o);
        return 1;
    }
    int status = 0;
    bool as_json = yj_opt_flag(o, "--json");
    for (size_t i = 0; i < yj_opt_npositional(o); i++) {
        const char *path = yj_opt_positional(o, i);
        json_t *rep = NULL;
        yj_err_clear(&err);
        if (mon_ingest_kj(s, path, &rep, &err) != YJ_OK) {
            fprintf(stderr, "%s: %s\n", path, err.message);
            status = 1;
            continue;
        }
        if (as_json) {
            char *text = json_dumps(rep, JSON_COMPACT);
            printf("%s\n", text ? text : "{}");
            free(text);
        } else {
            printf("%s: %s, %lld accepted", path,
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
    yj_opts_free(o);
    return status;
}

static void simulate_signal(int sig)
{
    (void)sig;
    mon_simulate_stop();
}

int cmd_simulate(int argc, char **argv)
{
    static const yj_option opts[] = {
        {"--db", YJ_OPT_TEXT, "PATH", NULL,
         "database file to read the sensors from (default $YINGJI_DB or yingji.db)"},
        {"--mqtt", YJ_OPT_TEXT, "HOST:PORT", "127.0.0.1:1883", "the MQTT broker to publish to"},
        {"--speed", YJ_OPT_TEXT, "X", "1",
         "simulated seconds per real second: divides every interval"},
        {"--exceed-rate", YJ_OPT_TEXT, "R", "40",
         "exceedances (alarms) started per hour (0 = none)"},
        {"--seed", YJ_OPT_TEXT, "N", "1", "random seed"},
        {"--duration", YJ_OPT_TEXT, "S", "0", "stop after this many seconds (0: run until Ctrl-C)"},
        {"--client-id", YJ_OPT_TEXT, "ID", NULL, "MQTT client id (default yingji-simulate-<pid>)"},
    };
    const yj_opt_table t = {opts, YJ_COUNT(opts), NULL};
    if (yj_opts_wants_help(argc, argv)) {
        yj_opts_help(
            stdout,
            "yingji simulate --db PATH --mqtt HOST:PORT [--speed X] [--exceed-rate R]\n"
            "                       [--seed N] [--duration S]",
            "Publish realistic readings of every sensor in the database to an MQTT broker,\n"
            "as field gateways would: one QoS 1 batch per monitored object on\n"
            "yingji/v1/<county>/<object code>, each sensor at its reporting interval.\n"
            "Values wander around normal levels; now and then a sensor ramps into an\n"
            "alarm band and back (raising and clearing alarms) or goes silent for longer\n"
            "than its offline rule. Prints a summary every 10 s; stops on SIGINT/SIGTERM.",
            &t, 1);
        return 0;
    }
    yj_err err;
    yj_err_clear(&err);
    yj_optset *o = yj_opts_parse(&t, 1, argc, argv, &err);
    if (o == NULL)
        return fprintf(stderr, "yingji: %s\n", err.message), 2;
    const char *mqtt = yj_opt_text(o, "--mqtt");
    char host[256];
    const char *colon = strrchr(mqtt, ':');
    int port = colon ? atoi(colon + 1) : 1883;
    snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - mqtt) : (int)strlen(mqtt), mqtt);
    mon_sim_config cfg = {.host = host,
                          .port = port,
                          .client_id = yj_opt_text(o, "--client-id"),
                          .speed = atof(yj_opt_text(o, "--speed")),
                          .exceed_rate = atof(yj_opt_text(o, "--exceed-rate")),
                          .offline_rate = -1,
                          .seed = strtoull(yj_opt_text(o, "--seed"), NULL, 10),
                          .duration_s = atof(yj_opt_text(o, "--duration")),
                          .out = stdout};
    const char *db = yj_opt_given(o, "--db") ? yj_opt_text(o, "--db") : default_db();
    int status = 0;
    struct stat st;
    if (port <= 0 || port > 65535 || host[0] == '\0') {
        fprintf(stderr, "yingji: --mqtt wants HOST:PORT\n");
        status = 2;
    } else if (!(cfg.speed > 0 && cfg.speed <= 1000) || !(cfg.exceed_rate >= 0) ||
               !(cfg.duration_s >= 0)) {
        fprintf(stderr, "yingji: --speed wants 0 < X <= 1000; --exceed-rate and --duration "
                        "non-negative numbers\n");
        status = 2;
    } else if (!yj_store_url_is_pg(db) && stat(db, &st) != 0) {
        fprintf(stderr, "yingji: simulate: %s: %s\n", db, strerror(errno));
        status = 1;
    }
    yj_store *s = status == 0 ? app_open_store(db, 1, &err) : NULL;
    if (status == 0 && s == NULL) {
        fprintf(stderr, "yingji: %s\n", err.message);
        status = 1;
    }
    if (status == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = simulate_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        if (mon_simulate(s, &cfg, &err) != YJ_OK) {
            fprintf(stderr, "yingji: simulate: %s\n", err.message);
            status = 1;
        }
        yj_store_close(s);
    }
    yj_opts_free(o);
    return status;
}
