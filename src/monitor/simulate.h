/*
 * simulate.h — `yingji simulate`: publish realistic readings of every sensor
 * of a database to an MQTT broker, as the field gateways would.
 */
#ifndef YJ_SIMULATE_H
#define YJ_SIMULATE_H

#include "../core/err.h"
#include "../store/store.h"

#include <stdint.h>
#include <stdio.h>

typedef struct {
    const char *host;      /* broker (default 127.0.0.1) */
    int port;              /* default 1883 */
    const char *client_id; /* default "yingji-simulate-<pid>" */
    double speed;          /* simulated seconds per real second (default 1) */
    double exceed_rate;    /* exceedances started per real hour (default 40); 0 = none */
    double offline_rate;   /* sensors going silent per real hour (default exceed_rate / 4) */
    uint64_t seed;         /* random seed (default 1) */
    double duration_s;     /* stop after this many real seconds; 0 = until stopped */
    FILE *out;             /* one summary line every 10 s (NULL: none) */
} mon_sim_config;

/* Read the sensors, objects and rules of the store once, then publish until
 * mon_simulate_stop() (or the duration).  Returns when stopped; an error
 * only when the store cannot be read or the MQTT client cannot start. */
yj_code mon_simulate(yj_store *s, const mon_sim_config *cfg, yj_err *err);
/* Async-signal-safe: ask mon_simulate() to return. */
void mon_simulate_stop(void);

#endif
