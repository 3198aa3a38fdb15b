/*
 * test_cache.c — the generation-tagged LRU cache (src/core/cache.c): hits
 * only for the same key and generation, replacement, eviction by entry count
 * and by bytes in least-recently-used order, oversize values declined.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/core/cache.h"

#include <string.h>

static bool get(yj_cache *c, const char *key, int64_t gen, const char *want)
{
    yj_buf b;
    yj_buf_init(&b);
    bool hit = yj_cache_get(c, key, gen, &b);
    if (hit && want)
        assert_string_equal(b.data, want);
    yj_buf_free(&b);
    return hit;
}

static void test_generation_tags(void **state)
{
    (void)state;
    yj_cache *c = yj_cache_new(1 << 20, 16);
    assert_false(get(c, "a", 1, NULL));
    yj_cache_put(c, "a", 1, "one", 3);
    assert_true(get(c, "a", 1, "one"));
    assert_false(get(c, "a", 2, NULL)); /* the table changed since */
    assert_false(get(c, "b", 1, NULL));
    yj_cache_put(c, "a", 2, "two", 3); /* replaces */
    assert_true(get(c, "a", 2, "two"));
    assert_false(get(c, "a", 1, NULL));
    yj_cache_stats st;
    yj_cache_get_stats(c, &st);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.hits, 2);
    assert_int_equal(st.misses, 4);
    yj_cache_free(c);
}

static void test_evicts_least_recent_by_count(void **state)
{
    (void)state;
    yj_cache *c = yj_cache_new(1 << 20, 3);
    yj_cache_put(c, "a", 1, "A", 1);
    yj_cache_put(c, "b", 1, "B", 1);
    yj_cache_put(c, "c", 1, "C", 1);
    assert_true(get(c, "a", 1, "A")); /* a is now the most recent */
    yj_cache_put(c, "d", 1, "D", 1);  /* evicts b, the least recent */
    assert_false(get(c, "b", 1, NULL));
    assert_true(get(c, "a", 1, "A"));
    assert_true(get(c, "c", 1, "C"));
    assert_true(get(c, "d", 1, "D"));
    yj_cache_free(c);
}

static void test_evicts_by_bytes_and_declines_huge(void **state)
{
    (void)state;
    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    yj_cache *c = yj_cache_new(1000, 100);
    yj_cache_put(c, "k1", 1, big, strlen(big));
    yj_cache_put(c, "k2", 1, big, strlen(big));
    yj_cache_put(c, "k3", 1, big, strlen(big));
    yj_cache_put(c, "k4", 1, big, strlen(big));
    yj_cache_put(c, "k5", 1, big, strlen(big)); /* 5 x 201 > 1000: k1 goes */
    assert_false(get(c, "k1", 1, NULL));
    assert_true(get(c, "k2", 1, big));
    assert_true(get(c, "k5", 1, big));
    yj_cache_stats st;
    yj_cache_get_stats(c, &st);
    assert_true(st.bytes <= 1000);
    char huge[300];
    memset(huge, 'y', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    yj_cache_put(c, "h", 1, huge, strlen(huge)); /* over a quarter of the budget */
    assert_false(get(c, "h", 1, NULL));
    yj_cache_free(c);
}

static void test_empty_value_and_binary_keys(void **state)
{
    (void)state;
    yj_cache *c = yj_cache_new(1 << 16, 8);
    yj_cache_put(c,
                 "shelter\x1f"
                 "1405\x1f"
                 "0",
                 7, "", 0);
    assert_true(get(c,
                    "shelter\x1f"
                    "1405\x1f"
                    "0",
                    7, ""));
    assert_false(get(c,
                     "shelter\x1f"
                     "1405\x1f"
                     "1",
                     7, NULL));
    yj_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generation_tags),
        cmocka_unit_test(test_evicts_least_recent_by_count),
        cmocka_unit_test(test_evicts_by_bytes_and_declines_huge),
        cmocka_unit_test(test_empty_value_and_binary_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
