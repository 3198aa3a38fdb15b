/*
 * cli.c — the warning module's commands: `yingji cap validate` (CAP files
 * from the command line) and `yingji gateway-sim` (the stand-in gateways
 * and terminals of src/demo/gateway_sim.c, for tests and the demo).
 */
#include "api.h"
#include "cap.h"
#include "../base/module.h"
#include "../core/util.h"
#include "../demo/gateway_sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One line per file: "FILE: valid" or "FILE: invalid: <element>: <rule>";
 * 0 only if every file is valid, 1 if any is not, 2 for a usage error. */
int cmd_cap(int argc, char **argv)
{
    static const char *const usage_text = "yingji cap validate [--profile gbt35965] FILE...";
    if (yj_opts_wants_help(argc, argv) || argc < 1 || strcmp(argv[0], "validate") != 0) {
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
        return yj_opts_wants_help(argc, argv) ? 0 : 2;
    }
    static const yj_option opts[] = {
        {"--profile", YJ_OPT_TEXT, "NAME", NULL, "also check a national profile: gbt35965"},
    };
    const yj_opt_table t = {opts, YJ_COUNT(opts), NULL};
    yj_err err;
    yj_err_clear(&err);
    yj_optset *o = yj_opts_parse(&t, 1, argc - 1, argv + 1, &err);
    if (o == NULL)
        return fprintf(stderr, "yingji: cap: %s\n", err.message), 2;
    unsigned flags = 0;
    const char *profile = yj_opt_text(o, "--profile");
    int status = 0;
    if (profile && strcmp(profile, "gbt35965") != 0) {
        fprintf(stderr, "yingji: cap: unknown profile \"%s\" (gbt35965)\n", profile);
        status = 2;
    } else if (yj_opt_npositional(o) == 0) {
        fprintf(stderr, "usage: %s\n", usage_text);
        status = 2;
    } else if (cap_init(&err) != YJ_OK) {
        fprintf(stderr, "yingji: %s\n", err.message);
        status = 1;
    }
    if (profile)
        flags |= CAP_PROFILE_GBT35965;
    bool ready = status == 0;
    for (size_t i = 0; ready && i < yj_opt_npositional(o); i++) {
        const char *path = yj_opt_positional(o, i);
        size_t len = 0;
        char *data = yj_read_file(path, &len);
        if (data == NULL) {
            printf("%s: invalid: file: cannot read (%s)\n", path, strerror(errno));
            status = 1;
            continue;
        }
        cap_alert *a = NULL;
        yj_err_clear(&err);
        if (cap_read(data, len, flags, &a, &err) == YJ_OK) {
            printf("%s: valid\n", path);
        } else {
            printf("%s: invalid: %s: %s\n", path, err.field[0] ? err.field : "alert", err.message);
            status = 1;
        }
        cap_alert_free(a);
        free(data);
    }
    yj_opts_free(o);
    return status;
}

int cmd_gateway_sim(int argc, char **argv)
{
    static const yj_option opts[] = {
        {"--listen", YJ_OPT_TEXT, "HOST:PORT", "127.0.0.1:8091", "address to listen on"},
        {"--token", YJ_OPT_TEXT, "T", NULL,
         "the gateway token the platform sends and expects back (required)"},
        {"--fail-digits", YJ_OPT_TEXT, "D", NULL,
         "numbers ending in these digits fail their first attempt"},
        {"--answer-digits", YJ_OPT_TEXT, "D", NULL,
         "numbers ending in these digits answer (default all)"},
        {"--answer-share", YJ_OPT_TEXT, "P", NULL, "instead: this share (0..1) of numbers answer"},
        {"--silent-channels", YJ_OPT_TEXT, "C", NULL,
         "channels that never bring an answer, e.g. sms"},
        {"--dead-terminals", YJ_OPT_TEXT, "D", NULL,
         "terminals whose code ends in these digits never play"},
        {"--delay-ms", YJ_OPT_INT, "MS", "200", "wait before calling back and confirming", 0,
         600000},
        {"--latency-ms", YJ_OPT_INT, "MS", "0", "take this long to answer each message", 0, 60000},
        {"--receipt-first", YJ_OPT_FLAG, NULL, NULL,
         "post each receipt before answering the message"},
        {"--mqtt", YJ_OPT_TEXT, "HOST:PORT", NULL, "the broker: also play the broadcast terminals"},
    };
    const yj_opt_table t = {opts, YJ_COUNT(opts), NULL};
    if (yj_opts_wants_help(argc, argv)) {
        yj_opts_help(
            stdout, "yingji gateway-sim --token T [--listen HOST:PORT] [--mqtt HOST:PORT]",
            "A stand-in for the SMS, voice-call and push gateways and the village\n"
            "broadcast terminals (tests, the demo).  Records every request (GET /requests,\n"
            "GET /stats), calls back receipts and, for those the rules say answer, SMS\n"
            "replies and voice answers; confirms terminal playback over MQTT.",
            &t, 1);
        return 0;
    }
    yj_err err;
    yj_err_clear(&err);
    yj_optset *o = yj_opts_parse(&t, 1, argc, argv, &err);
    if (o == NULL)
        return fprintf(stderr, "yingji: gateway-sim: %s\n", err.message), 2;
    const char *share = yj_opt_text(o, "--answer-share");
    gateway_sim_config g = {.listen = yj_opt_text(o, "--listen"),
                            .token = yj_opt_text(o, "--token"),
                            .fail_digits = yj_opt_text(o, "--fail-digits"),
                            .answer_digits = yj_opt_text(o, "--answer-digits"),
                            .silent_channels = yj_opt_text(o, "--silent-channels"),
                            .dead_terminals = yj_opt_text(o, "--dead-terminals"),
                            .answer_share = share ? atof(share) : -1,
                            .delay_ms = (int)yj_opt_int(o, "--delay-ms"),
                            .latency_ms = (int)yj_opt_int(o, "--latency-ms"),
                            .receipt_first = yj_opt_flag(o, "--receipt-first")};
    int status = 0;
    char host[256];
    const char *mq = yj_opt_text(o, "--mqtt");
    if (g.token == NULL || g.token[0] == '\0') {
        fprintf(stderr, "yingji: gateway-sim: --token is required\n");
        status = 2;
    } else {
        if (mq) {
            const char *colon = strrchr(mq, ':');
            snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - mq) : (int)strlen(mq), mq);
            g.mqtt_host = host;
            g.mqtt_port = colon ? atoi(colon + 1) : 1883;
        }
        status = gateway_sim_run(&g);
    }
    yj_opts_free(o);
    return status;
}
