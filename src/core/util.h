/*
 * util.h — small process-wide helpers: clock, ISO-8601 time, random tokens,
 * SHA-256, JSON-lines logging.  Nothing here knows about emergencies.
 */
#ifndef YJ_UTIL_H
#define YJ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Elements of a fixed-size array. */
#define YJ_COUNT(a) (sizeof(a) / sizeof((a)[0]))

int64_t yj_now_ms(void); /* wall clock, ms since the epoch */
/* The platform's clock: every timer, deadline and timestamp a module
 * records reads it.  The wall clock, unless a test has set it
 * (serve --test-hooks: POST /api/v1/test/clock); 0 puts it back. */
int64_t yj_clock_now(void);
void yj_clock_set(int64_t ms);
uint64_t yj_mono_ns(void); /* monotonic clock for latency measurement */
/* "2026-11-25T02:30:00.123Z" into out (at least 32 bytes). */
void yj_time_iso(int64_t ms, char *out, size_t n);

/* Must be called once before any other function below (calls sodium_init). */
int yj_crypto_init(void);
/* nbytes random bytes as lowercase hex (out has 2*nbytes+1 bytes). */
void yj_random_hex(size_t nbytes, char *out);
/* SHA-256 of data as lowercase hex (out has 65 bytes). */
void yj_sha256_hex(const void *data, size_t len, char out[65]);
/* Constant-time string equality (for tokens). */
bool yj_str_eq_ct(const char *a, const char *b);

/* Read a whole file; returns malloc'd NUL-terminated data or NULL (errno set). */
char *yj_read_file(const char *path, size_t *len_out);
/* At most max bytes (max >= 4) of the UTF-8 text s into out (which holds
 * max + 1), cut at a character boundary and ending in "…" when shortened;
 * true when it was. */
bool yj_utf8_cut(const char *s, size_t max, char *out);

typedef enum { YJ_LOG_DEBUG, YJ_LOG_INFO, YJ_LOG_WARN, YJ_LOG_ERROR } yj_log_level;
extern yj_log_level yj_log_min; /* process-wide: set in main */
/* One JSON line on stderr: {"ts":...,"level":...,"event":...,"msg":...} */
void yj_log(yj_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
