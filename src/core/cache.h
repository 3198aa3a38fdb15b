/*
 * cache.h — a bounded, thread-safe cache of byte strings tagged with a
 * generation number.
 *
 * A reader asks for (key, generation); an entry made under an older
 * generation is a miss.  Whoever owns the data bumps the generation when it
 * changes (for record tables: a counter row written in the same transaction
 * as the change, so other processes and nodes invalidate too).  Least
 * recently used entries go first when the byte budget is exceeded.
 */
#ifndef YJ_CACHE_H
#define YJ_CACHE_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct yj_cache yj_cache;

yj_cache *yj_cache_new(size_t max_bytes, size_t max_entries);
void yj_cache_free(yj_cache *c);
/* On a hit, append the value to out and return true. */
bool yj_cache_get(yj_cache *c, const char *key, int64_t gen, yj_buf *out);
void yj_cache_put(yj_cache *c, const char *key, int64_t gen, const char *data, size_t len);

typedef struct {
    uint64_t hits, misses, entries, bytes;
} yj_cache_stats;
void yj_cache_get_stats(yj_cache *c, yj_cache_stats *out);

#endif
