/*
 * mon_gen.h — the synthetic sensor population and readings shared by the M2
 * benchmarks (bench/ingest_inproc.c, bench/mqtt_pub.c).  Header-only and
 * free of the yingji library, so the MQTT helpers build with libmosquitto
 * alone.
 *
 * Population: monitored objects of 100 sensors each (a coal mine's KJ
 * system, a geological-hazard site).  Nine objects in ten are coal mines:
 *   45 甲烷 CH4, 20 一氧化碳 CO, 15 氧气 O2 (low alarm), 15 温度, 5 风速
 * (CH4/CO/O2/temperature get the built-in threshold rule, every type the
 * offline rule).  One in ten is a hazard site:
 *   40 雨量 (built-in rolling-sum rule), 40 水位 (per-sensor threshold rule,
 *   警戒水位), 20 位移 (per-sensor rate rule).
 * Besides, one CH4 head in twenty carries its own threshold rule (KJ
 * restore values), and each mine has one two-head CH4 multi-sensor rule.
 *
 * Readings: values inside the normal band; with probability `exceed` a value
 * that trips the sensor's rule (the next normal one clears it).
 */
#ifndef YJ_BENCH_MON_GEN_H
#define YJ_BENCH_MON_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define GEN_PER_OBJECT 100

typedef enum { G_CH4, G_CO, G_O2, G_TEMP, G_WIND, G_RAIN, G_WATER, G_DISP, G_NTYPES } gen_type;

typedef struct {
    const char *label; /* the registry's type (Chinese label) */
    int interval_s;    /* as types.c */
    double normal_lo, normal_hi, exceed;
} gen_type_info;

static const gen_type_info gen_types[G_NTYPES] = {
    [G_CH4] = {"甲烷", 30, 0.05, 0.50, 1.60},      /* orange (1.5 %) */
    [G_CO] = {"一氧化碳", 30, 0.0, 15.0, 60.0},    /* orange (50 ppm) */
    [G_O2] = {"氧气", 30, 20.3, 21.0, 18.5},       /* orange (below 19 %) */
    [G_TEMP] = {"温度", 60, 18.0, 25.0, 31.0},     /* orange (30 °C) */
    [G_WIND] = {"风速", 30, 0.5, 4.0, 4.0},        /* offline rule only */
    [G_RAIN] = {"雨量", 300, 0.0, 1.0, 60.0},      /* rolling sum >= 50 mm */
    [G_WATER] = {"水位", 300, 99.0, 101.0, 108.0}, /* per-sensor rule: 105/107/110 */
    [G_DISP] = {"位移", 600, -1.0, 1.0, 40.0},     /* per-sensor rate: 20 mm in 1 h */
};

/* Type of the k-th sensor (0..99) of an object. */
static inline gen_type gen_sensor_type(bool mine, int k)
{
    if (mine)
        return k < 45 ? G_CH4 : k < 65 ? G_CO : k < 80 ? G_O2 : k < 95 ? G_TEMP : G_WIND;
    return k < 40 ? G_RAIN : k < 80 ? G_WATER : G_DISP;
}

/* Object o is a mine unless o % 10 == 9. */
static inline bool gen_object_is_mine(size_t o)
{
    return o % 10 != 9;
}

static inline gen_type gen_type_by_label(const char *label)
{
    for (int t = 0; t < G_NTYPES; t++)
        if (strcmp(gen_types[t].label, label) == 0)
            return (gen_type)t;
    return G_WIND;
}

/* xorshift64*: fast, deterministic, good enough for test data. */
static inline uint64_t gen_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static inline double gen_unit(uint64_t *s) /* [0, 1) */
{
    return (double)(gen_rand(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* A reading value for a sensor of type t: normal, or with probability
 * `exceed` a value that trips its rule. */
static inline double gen_value(gen_type t, double exceed, uint64_t *s)
{
    const gen_type_info *g = &gen_types[t];
    if (exceed > 0 && gen_unit(s) < exceed)
        return g->exceed;
    if (t == G_RAIN) /* mostly dry */
        return gen_unit(s) < 0.8 ? 0.0 : g->normal_hi * gen_unit(s);
    return g->normal_lo + (g->normal_hi - g->normal_lo) * gen_unit(s);
}

#endif
