/* util.c — clock, random, hashing, file and log helpers (see util.h). */
#include "util.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

yj_log_level yj_log_min = YJ_LOG_INFO;

int64_t yj_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static atomic_llong test_clock; /* 0: the wall clock */

int64_t yj_clock_now(void)
{
    int64_t t = atomic_load(&test_clock);
    return t ? t : yj_now_ms();
}

void yj_clock_set(int64_t ms)
{
    atomic_store(&test_clock, ms);
}

uint64_t yj_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void yj_time_iso(int64_t ms, char *out, size_t n)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

int yj_crypto_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

void yj_random_hex(size_t nbytes, char *out)
{
    unsigned char raw[64];
    if (nbytes > sizeof raw)
        nbytes = sizeof raw;
    randombytes_buf(raw, nbytes);
    sodium_bin2hex(out, nbytes * 2 + 1, raw, nbytes);
}

void yj_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, len);
    sodium_bin2hex(out, 65, h, sizeof h);
}

bool yj_str_eq_ct(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return false;
    return sodium_memcmp(a, b, la) == 0;
}

bool yj_utf8_cut(const char *s, size_t max, char *out)
{
    size_t n = strlen(s);
    if (n <= max) {
        memcpy(out, s, n + 1);
        return false;
    }
    n = max - 3; /* room for the ellipsis */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--; /* back to the first byte of a character */
    memcpy(out, s, n);
    memcpy(out + n, "\xE2\x80\xA6", 4);
    return true;
}

char *yj_read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 65536, len = 0;
    char *data = malloc(cap + 1);
    if (data == NULL) {
        fclose(f);
        return NULL;
    }
    size_t n;
    while ((n = fread(data + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            cap *= 2;
            char *p = realloc(data, cap + 1);
            if (p == NULL) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = p;
        }
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        free(data);
        return NULL;
    }
    data[len] = '\0';
    if (len_out)
        *len_out = len;
    return data;
}

void yj_log(yj_log_level level, const char *event, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    if (level < yj_log_min)
        return;
    char msg[1024], ts[40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    yj_time_iso(yj_now_ms(), ts, sizeof ts);
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:s}", "ts", ts, "level", names[level], "event", event, "msg", msg);
    if (o == NULL)
        return;
    char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (line) {
        fprintf(stderr, "%s\n", line);
        free(line);
    }
    json_decref(o);
}
