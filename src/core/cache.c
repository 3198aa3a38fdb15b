/*
 * cache.c — generation-tagged LRU cache (see cache.h).
 *
 * An open hash table of entries threaded on a doubly linked LRU list, under
 * one mutex: lookups copy the value out while holding it, so a value is
 * never freed under a reader.  Sized for hundreds of entries of tens of
 * kilobytes (list pages), not millions.
 */
#include "cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    struct entry *hnext;       /* hash chain */
    struct entry *prev, *next; /* LRU list, most recent first */
    uint64_t hash;
    int64_t gen;
    char *key;
    char *data;
    size_t len;
} entry;

struct yj_cache {
    pthread_mutex_t mu;
    entry **buckets;
    size_t nbuckets;
    entry *head, *tail;
    size_t bytes, entries, max_bytes, max_entries;
    uint64_t hits, misses;
};

static uint64_t key_hash(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

yj_cache *yj_cache_new(size_t max_bytes, size_t max_entries)
{
    yj_cache *c = calloc(1, sizeof *c);
    if (c == NULL)
        abort();
    c->nbuckets = 1;
    while (c->nbuckets < max_entries * 2)
        c->nbuckets *= 2;
    c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
    if (c->buckets == NULL)
        abort();
    c->max_bytes = max_bytes;
    c->max_entries = max_entries;
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

static void lru_unlink(yj_cache *c, entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push_front(yj_cache *c, entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (c->tail == NULL)
        c->tail = e;
}

static void entry_remove(yj_cache *c, entry *e)
{
    entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(c, e);
    c->bytes -= e->len + strlen(e->key);
    c->entries--;
    free(e->key);
    free(e->data);
    free(e);
}

static entry *find(yj_cache *c, const char *key, uint64_t h)
{
    for (entry *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->hnext)
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

bool yj_cache_get(yj_cache *c, const char *key, int64_t gen, yj_buf *out)
{
    uint64_t h = key_hash(key);
    pthread_mutex_lock(&c->mu);
    entry *e = find(c, key, h);
    bool hit = e && e->gen == gen;
    if (hit) {
        yj_buf_append(out, e->data, e->len);
        lru_unlink(c, e);
        lru_push_front(c, e);
        c->hits++;
    } else {
        c->misses++;
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

void yj_cache_put(yj_cache *c, const char *key, int64_t gen, const char *data, size_t len)
{
    size_t klen = strlen(key);
    if (len + klen > c->max_bytes / 4)
        return; /* one huge value would evict everything else */
    entry *n = calloc(1, sizeof *n);
    char *k = malloc(klen + 1), *d = malloc(len ? len : 1);
    if (n == NULL || k == NULL || d == NULL) {
        free(n);
        free(k);
        free(d);
        return; /* a cache may always decline */
    }
    memcpy(k, key, klen + 1);
    memcpy(d, data, len);
    *n = (entry){.hash = key_hash(key), .gen = gen, .key = k, .data = d, .len = len};
    pthread_mutex_lock(&c->mu);
    entry *old = find(c, key, n->hash);
    if (old)
        entry_remove(c, old);
    while (c->tail && (c->entries + 1 > c->max_entries || c->bytes + len + klen > c->max_bytes))
        entry_remove(c, c->tail);
    entry **b = &c->buckets[n->hash & (c->nbuckets - 1)];
    n->hnext = *b;
    *b = n;
    lru_push_front(c, n);
    c->bytes += len + klen;
    c->entries++;
    pthread_mutex_unlock(&c->mu);
}

void yj_cache_get_stats(yj_cache *c, yj_cache_stats *out)
{
    pthread_mutex_lock(&c->mu);
    out->hits = c->hits;
    out->misses = c->misses;
    out->entries = c->entries;
    out->bytes = c->bytes;
    pthread_mutex_unlock(&c->mu);
}

void yj_cache_free(yj_cache *c)
{
    if (c == NULL)
        return;
    while (c->head)
        entry_remove(c, c->head);
    free(c->buckets);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
