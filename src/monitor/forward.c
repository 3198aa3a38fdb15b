/*
 * forward.c — gateway readings handed to the node holding their county
 * (serve --mqtt-partitions; partition.c).
 *
 * An HTTP gateway posts to whichever node nginx picks.  With the counties
 * partitioned, a reading must be evaluated where its sensor's rule state
 * lives, so the receiving node posts each county's part of the batch to
 * that county's holder (its address from ingest_node), with the gateway's
 * own key and the header X-Yingji-Forwarded (the holder ingests it as its
 * own and hands nothing on: no loops).  The holder authenticates the key
 * again and answers like any node; the answers are added up.  A part that
 * cannot be handed on (the holder is down, between leases, or answers
 * anything but 200) is ingested here instead, so a gateway is never
 * refused because of another node; that is logged (ingest.forward_failed)
 * and counted in /metrics.
 */
#include "monitor.h"
#include "../core/util.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static atomic_llong forwarded, fallbacks;

static void curl_setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t sink(char *p, size_t size, size_t n, void *ctx)
{
    yj_buf *b = ctx;
    if (b->len < 65536)
        yj_buf_append(b, p, size * n);
    return size * n;
}

/* The holder's answer added to *res; false if it is not one. */
static bool add_answer(const char *text, mon_result *res)
{
    json_t *j = json_loads(text, 0, NULL);
    json_t *acc = json_object_get(j, "accepted"), *late = json_object_get(j, "late");
    json_t *rej = json_object_get(j, "rejected");
    bool ok = json_is_integer(acc) && json_is_integer(late) && json_is_object(rej);
    if (ok) {
        res->accepted += json_integer_value(acc);
        res->late += json_integer_value(late);
        const char *k;
        json_t *v;
        json_object_foreach(rej, k, v) {
            int r = 0;
            while (r < MON_REJ_COUNT && strcmp(mon_reject_name((mon_reject)r), k) != 0)
                r++;
            res->rejected[r < MON_REJ_COUNT ? r : MON_REJ_MALFORMED] += json_integer_value(v);
        }
    }
    json_decref(j);
    return ok;
}

/* Post readings [idx[0..n)] to the node at addr; true when it answered 200. */
static bool post_part(const char *addr, const char *api_key, const mon_reading *r,
                      const size_t *idx, size_t n, mon_result *res)
{
    pthread_once(&curl_once, curl_setup);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        const mon_reading *x = &r[idx[i]];
        json_array_append_new(items, json_pack("{s:s,s:I,s:f}", "sensor", x->sensor, "ts",
                                               (json_int_t)x->ts, "value", x->value));
    }
    json_t *body = json_pack("{s:o}", "readings", items);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    CURL *h = text ? curl_easy_init() : NULL;
    if (h == NULL) {
        free(text);
        return false;
    }
    char url[200], key[200];
    snprintf(url, sizeof url, "http://%s/api/v1/readings", addr);
    snprintf(key, sizeof key, "X-Api-Key: %s", api_key);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, key);
    hdr = curl_slist_append(hdr, "X-Yingji-Forwarded: 1");
    yj_buf out;
    yj_buf_init(&out);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    free(text);
    bool ok = cc == CURLE_OK && status == 200;
    yj_buf_putc(&out, '\0');
    if (ok)
        ok = add_answer(out.data, res);
    if (!ok)
        yj_log(YJ_LOG_WARN, "ingest.forward_failed",
               "%zu readings for the node at %s ingested here instead: %s", n, addr,
               cc != CURLE_OK ? curl_easy_strerror(cc) : "its answer");
    yj_buf_free(&out);
    return ok;
}

void mon_forward_remote(yj_store *s, const char *api_key, mon_reading *r, size_t *n,
                        mon_result *res)
{
    size_t total = *n;
    if (total == 0 || api_key == NULL || !mon_partitioned())
        return;
    char(*where)[8] = calloc(total, sizeof *where);
    size_t *idx = malloc(total * sizeof *idx);
    bool *gone = calloc(total, sizeof *gone);
    if (where == NULL || idx == NULL || gone == NULL) {
        free(where);
        free(idx);
        free(gone);
        return; /* everything here */
    }
    for (size_t i = 0; i < total; i++)
        if (r[i].bad || !mon_sensor_county(r[i].sensor, where[i]) || mon_partition_here(where[i]))
            where[i][0] = '\0'; /* here: rejects, unknown sensors, our counties */
    for (size_t i = 0; i < total; i++) {
        if (where[i][0] == '\0' || gone[i])
            continue;
        /* this county's readings, together */
        char county[8];
        snprintf(county, sizeof county, "%s", where[i]);
        size_t m = 0;
        for (size_t k = i; k < total; k++)
            if (!gone[k] && strcmp(where[k], county) == 0)
                idx[m++] = k;
        char addr[128];
        bool sent = mon_partition_holder(s, county, addr, sizeof addr) &&
                    post_part(addr, api_key, r, idx, m, res);
        for (size_t k = 0; k < m; k++) {
            gone[idx[k]] = true;
            if (!sent)
                where[idx[k]][0] = '\0';
        }
        if (sent)
            atomic_fetch_add(&forwarded, (long long)m);
        else
            atomic_fetch_add(&fallbacks, (long long)m);
    }
    /* keep what stays here, in order */
    size_t w = 0;
    for (size_t i = 0; i < total; i++)
        if (where[i][0] == '\0')
            r[w++] = r[i];
    *n = w;
    free(where);
    free(idx);
    free(gone);
}

void mon_forward_metrics(yj_buf *out)
{
    yj_buf_printf(out,
                  "# HELP yj_readings_forwarded_total Gateway readings handed to the node"
                  " holding their county.\n# TYPE yj_readings_forwarded_total counter\n"
                  "yj_readings_forwarded_total %lld\n"
                  "# HELP yj_readings_forward_fallback_total Gateway readings for another"
                  " node's county ingested here (it could not be reached).\n"
                  "# TYPE yj_readings_forward_fallback_total counter\n"
                  "yj_readings_forward_fallback_total %lld\n",
                  (long long)atomic_load(&forwarded), (long long)atomic_load(&fallbacks));
}
