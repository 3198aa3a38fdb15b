/*
 * gateway_sim.h — `yingji gateway-sim`, the stand-in SMS/voice/push
 * gateways and broadcast terminals for tests and the demo (gateway_sim.c).
 * A test and demo program, not part of the platform: it runs its own small
 * libmicrohttpd server.
 */
#ifndef YJ_GATEWAY_SIM_H
#define YJ_GATEWAY_SIM_H

#include <stdbool.h>

typedef struct {
    const char *listen, *token;
    const char *fail_digits, *answer_digits, *silent_channels, *dead_terminals;
    double answer_share; /* < 0: use answer_digits */
    int delay_ms, latency_ms;
    bool receipt_first;
    const char *mqtt_host;
    int mqtt_port;
} gateway_sim_config;

int gateway_sim_run(const gateway_sim_config *cfg);

#endif
