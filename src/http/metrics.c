/*
 * metrics.c — Prometheus metrics: request counts by route and status class,
 * a latency histogram per route, connection-pool and SSE gauges, then each
 * module's own lines.  There is a slot per route of the route index (sized
 * when the index is built, so every route is counted under its own name),
 * one for static files and one for requests that matched no route.
 * Counters are lock-free atomics so observing costs a few nanoseconds per
 * request.
 */
#include "http.h"
#include "../base/module.h"
#include "../registry/registry.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                 0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

typedef struct {
    atomic_ullong by_class[6]; /* index status/100 */
    atomic_ullong bucket[NBUCKETS];
    atomic_ullong count;
    atomic_ullong sum_us;
} slot_t;

static slot_t *slots; /* nroutes, then static, then unmatched */
static int nroutes;
static pthread_once_t slots_once = PTHREAD_ONCE_INIT;
#define SLOT_STATIC    nroutes
#define SLOT_UNMATCHED (nroutes + 1)
#define NSLOTS         (nroutes + 2)

static void slots_alloc(void)
{
    nroutes = (int)http_route_count();
    slots = calloc((size_t)nroutes + 2, sizeof *slots);
    if (slots == NULL)
        abort();
}

void metrics_init(void)
{
    pthread_once(&slots_once, slots_alloc);
}

void metrics_observe(int route_index, int status, double seconds)
{
    metrics_init();
    int slot = route_index >= 0 && route_index < nroutes ? route_index
               : route_index == -2                       ? SLOT_STATIC
                                                         : SLOT_UNMATCHED;
    int cls = status / 100;
    if (cls < 1 || cls > 5)
        cls = 5;
    atomic_fetch_add_explicit(&slots[slot].by_class[cls], 1, memory_order_relaxed);
    for (size_t b = 0; b < NBUCKETS; b++)
        if (seconds <= buckets[b])
            atomic_fetch_add_explicit(&slots[slot].bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&slots[slot].count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&slots[slot].sum_us, (unsigned long long)(seconds * 1e6),
                              memory_order_relaxed);
}

static void slot_label(int slot, char *out, size_t n)
{
    const char *module = NULL;
    const yj_route *rt = slot < nroutes ? http_route_at((size_t)slot, &module) : NULL;
    if (rt)
        snprintf(out, n, "module=\"%s\",route=\"%s %s\"", module, rt->method, rt->pattern);
    else if (slot == SLOT_STATIC)
        snprintf(out, n, "route=\"static\"");
    else
        snprintf(out, n, "route=\"unmatched\"");
}

void metrics_render(yj_buf *out, yj_store *store)
{
    metrics_init();
    char label[200];
    yj_buf_puts(out, "# HELP yj_http_requests_total HTTP requests by route and status class.\n"
                     "# TYPE yj_http_requests_total counter\n");
    for (int s = 0; s < NSLOTS; s++) {
        slot_label(s, label, sizeof label);
        for (int c = 1; c <= 5; c++) {
            unsigned long long v = atomic_load(&slots[s].by_class[c]);
            if (v)
                yj_buf_printf(out, "yj_http_requests_total{%s,status=\"%dxx\"} %llu\n", label, c,
                              v);
        }
    }
    yj_buf_puts(out, "# HELP yj_http_request_duration_seconds Time to answer a request.\n"
                     "# TYPE yj_http_request_duration_seconds histogram\n");
    for (int s = 0; s < NSLOTS; s++) {
        unsigned long long count = atomic_load(&slots[s].count);
        if (count == 0)
            continue;
        slot_label(s, label, sizeof label);
        for (size_t b = 0; b < NBUCKETS; b++)
            yj_buf_printf(out, "yj_http_request_duration_seconds_bucket{%s,le=\"%g\"} %llu\n",
                          label, buckets[b], atomic_load(&slots[s].bucket[b]));
        yj_buf_printf(out, "yj_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n", label,
                      count);
        yj_buf_printf(out, "yj_http_request_duration_seconds_sum{%s} %.6f\n", label,
                      (double)atomic_load(&slots[s].sum_us) / 1e6);
        yj_buf_printf(out, "yj_http_request_duration_seconds_count{%s} %llu\n", label, count);
    }
    yj_pool_stats ps;
    yj_store_stats(store, &ps);
    yj_buf_printf(out,
                  "# HELP yj_db_pool_connections Store connections in the pool.\n"
                  "# TYPE yj_db_pool_connections gauge\n"
                  "yj_db_pool_connections{state=\"total\"} %d\n"
                  "yj_db_pool_connections{state=\"in_use\"} %d\n"
                  "# HELP yj_db_pool_acquires_total Connections handed out.\n"
                  "# TYPE yj_db_pool_acquires_total counter\n"
                  "yj_db_pool_acquires_total %llu\n"
                  "# HELP yj_db_pool_waits_total Acquires that had to wait for a free connection.\n"
                  "# TYPE yj_db_pool_waits_total counter\n"
                  "yj_db_pool_waits_total %llu\n",
                  ps.size, ps.in_use, (unsigned long long)ps.acquires,
                  (unsigned long long)ps.waits);
    yj_cache_stats cs;
    registry_cache_stats(&cs);
    yj_buf_printf(out,
                  "# HELP yj_list_cache_requests_total List reads answered from the cache or not.\n"
                  "# TYPE yj_list_cache_requests_total counter\n"
                  "yj_list_cache_requests_total{result=\"hit\"} %llu\n"
                  "yj_list_cache_requests_total{result=\"miss\"} %llu\n"
                  "# HELP yj_list_cache_bytes Bytes held by the list cache.\n"
                  "# TYPE yj_list_cache_bytes gauge\n"
                  "yj_list_cache_bytes %llu\n",
                  (unsigned long long)cs.hits, (unsigned long long)cs.misses,
                  (unsigned long long)cs.bytes);
    yj_buf_printf(out,
                  "# HELP yj_sse_clients Browsers connected to the event stream.\n"
                  "# TYPE yj_sse_clients gauge\n"
                  "yj_sse_clients %d\n",
                  sse_client_count());
    app_metrics(out);
}
