/*
 * test_cap.c — CAP reading and writing (src/warning/cap.c), as data:
 *   tests/cap/conformance.tsv  the real corpus (google/cap-library, the
 *                              OASIS example): each file's verdict, the
 *                              element named and a word of the rule;
 *   tests/cap/rules/expected.tsv  one message per rule of CAP 1.2 and of
 *                              GB/T 35965.1, and the verdict for each;
 * plus: an entity attack fetches nothing (a listening socket sees no
 * connection, no file content leaks), a written alert reads back equal,
 * and the profile's identifier and time helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "../../src/core/util.h"
#include "../../src/warning/cap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CAP_DIR YJ_SOURCE_DIR "/tests/cap"

static char *slurp(const char *path, size_t *len)
{
    char *d = yj_read_file(path, len);
    if (d == NULL)
        fail_msg("cannot read %s", path);
    return d;
}

/* Walk a TSV of "file  verdict  element  rule  [flags]" against dir. */
static void run_table(const char *table, const char *dir)
{
    size_t len;
    char *text = slurp(table, &len);
    int n = 0, failures = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *f[5] = {0};
        int k = 0;
        for (char *p = line; k < 5; k++) {
            f[k] = p;
            char *tab = strchr(p, '\t');
            if (tab == NULL)
                break;
            *tab = '\0';
            p = tab + 1;
        }
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, f[0]);
        size_t dlen;
        char *data = slurp(path, &dlen);
        unsigned flags = f[4] && strcmp(f[4], "gbt35965") == 0 ? CAP_PROFILE_GBT35965 : 0;
        cap_alert *a = NULL;
        yj_err err;
        yj_err_clear(&err);
        yj_code rc = cap_read(data, dlen, flags, &a, &err);
        bool want_valid = strcmp(f[1], "valid") == 0;
        bool ok = want_valid ? rc == YJ_OK
                             : rc != YJ_OK && f[2] && strcmp(err.field, f[2]) == 0 && f[3] &&
                                   strstr(err.message, f[3]) != NULL;
        if (!ok) {
            print_error("%s: want %s %s / %s; got %s: %s: %s\n", f[0], f[1], f[2] ? f[2] : "",
                        f[3] ? f[3] : "", rc == YJ_OK ? "valid" : "invalid", err.field,
                        err.message);
            failures++;
        }
        if (rc == YJ_OK)
            assert_non_null(a);
        else
            assert_null(a);
        cap_alert_free(a);
        free(data);
        n++;
    }
    free(text);
    assert_true(n >= 10);
    assert_int_equal(failures, 0);
}

static void test_corpus(void **state)
{
    (void)state;
    run_table(CAP_DIR "/conformance.tsv", CAP_DIR "/corpus");
}

static void test_rules(void **state)
{
    (void)state;
    run_table(CAP_DIR "/rules/expected.tsv", CAP_DIR "/rules");
}

/* xee.cap aimed at a socket of ours: nothing may connect, nothing leak. */
static void test_entities_never_fetched(void **state)
{
    (void)state;
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(ls >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(ls, 8), 0);
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
    fcntl(ls, F_SETFL, O_NONBLOCK);
    int port = ntohs(sa.sin_port);

    size_t len;
    char *xee = slurp(CAP_DIR "/corpus/xee.cap", &len);
    /* point every URL of the attack at our socket */
    yj_buf b;
    yj_buf_init(&b);
    char here[64];
    snprintf(here, sizeof here, "127.0.0.1:%d", port);
    for (const char *p = xee; *p;) {
        const char *m = strstr(p, "localhost:8080");
        if (m == NULL) {
            yj_buf_puts(&b, p);
            break;
        }
        yj_buf_append(&b, p, (size_t)(m - p));
        yj_buf_puts(&b, here);
        p = m + strlen("localhost:8080");
    }
    /* the same without the DOCTYPE's refusal: entity references to files */
    const char *variants[] = {
        b.data,
        "<?xml version=\"1.0\"?>\n<!DOCTYPE alert [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
        "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>&xxe;</identifier>"
        "</alert>\n",
        "<?xml version=\"1.0\"?>\n<!DOCTYPE alert SYSTEM \"file:///etc/passwd\">\n"
        "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"/>\n",
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        cap_alert *a = NULL;
        yj_err err;
        yj_err_clear(&err);
        assert_int_not_equal(cap_read(variants[i], strlen(variants[i]), 0, &a, &err), YJ_OK);
        assert_null(a);
        assert_string_equal(err.field, "DOCTYPE");
        assert_null(strstr(err.message, "root:"));
    }
    usleep(200 * 1000);
    int c = accept(ls, NULL, NULL);
    assert_true(c < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)); /* nobody came */
    close(ls);
    yj_buf_free(&b);
    free(xee);
}

static void test_write_read_back(void **state)
{
    (void)state;
    cap_alert *a = cap_alert_new();
    char id[32], sent[32], exp[32];
    int64_t t = 1796443200000LL; /* 2026-12-05T04:00:00Z = 12:00 Beijing */
    cap_gbt_identifier("14052541100000", t, 3, id, sizeof id);
    assert_string_equal(id, "14052541100000_20261205120000_3");
    cap_time_beijing(t, sent, sizeof sent);
    assert_string_equal(sent, "2026-12-05T12:00:00+08:00");
    cap_time_beijing(t + 6 * 3600000LL, exp, sizeof exp);
    a->identifier = cap_strdup(a, id);
    a->sender = cap_strdup(a, "14052541100000");
    a->sent = cap_strdup(a, sent);
    a->status = cap_strdup(a, "Actual");
    a->msg_type = cap_strdup(a, "Alert");
    a->scope = cap_strdup(a, "Public");
    a->ncodes = 1;
    a->codes = cap_alloc(a, sizeof *a->codes);
    a->codes[0] = cap_strdup(a, CAP_GBT_CODE);
    a->ninfos = 1;
    a->infos = cap_alloc(a, sizeof *a->infos);
    cap_info *in = &a->infos[0];
    in->language = cap_strdup(a, "zh-CN");
    in->ncategories = 1;
    in->categories = cap_alloc(a, sizeof(char *));
    in->categories[0] = cap_strdup(a, "Safety");
    in->event = cap_strdup(a, "煤矿瓦斯超限 <&> 测试"); /* escaped on the way out */
    in->urgency = cap_strdup(a, "Immediate");
    in->severity = cap_strdup(a, "Severe");
    in->certainty = cap_strdup(a, "Observed");
    in->expires = cap_strdup(a, exp);
    in->headline = cap_strdup(a, "橙色预警");
    in->nareas = 1;
    in->areas = cap_alloc(a, sizeof *in->areas);
    cap_area *ar = &in->areas[0];
    ar->desc = cap_strdup(a, "泽州县");
    ar->npolygons = 1;
    ar->polygons = cap_alloc(a, sizeof *ar->polygons);
    ar->polygons[0].n = 5;
    ar->polygons[0].pts = cap_alloc(a, 5 * sizeof *ar->polygons[0].pts);
    double pts[5][2] = {
        {35.6, 112.8}, {35.6, 112.95}, {35.5, 112.95}, {35.5, 112.8}, {35.6, 112.8}};
    memcpy(ar->polygons[0].pts, pts, sizeof pts);
    ar->ncircles = 1;
    ar->circles = cap_alloc(a, sizeof *ar->circles);
    ar->circles[0] = (cap_circle){35.55, 112.875, 2.5};
    yj_err err;
    yj_err_clear(&err);
    assert_int_equal(cap_check(a, CAP_PROFILE_GBT35965, &err), YJ_OK);
    yj_buf b;
    yj_buf_init(&b);
    cap_write(a, &b);
    assert_non_null(strstr(b.data, "&lt;&amp;&gt;"));
    assert_non_null(strstr(b.data, "<polygon>35.6,112.8 35.6,112.95 35.5,112.95"));
    assert_non_null(strstr(b.data, "<circle>35.55,112.875 2.5</circle>"));
    cap_alert *r = NULL;
    if (cap_read(b.data, b.len, CAP_PROFILE_GBT35965, &r, &err) != YJ_OK)
        fail_msg("written CAP does not read back: %s: %s\n%s", err.field, err.message, b.data);
    assert_string_equal(r->identifier, id);
    assert_string_equal(r->infos[0].event, "煤矿瓦斯超限 <&> 测试");
    assert_int_equal(r->infos[0].areas[0].polygons[0].n, 5);
    assert_true(r->infos[0].areas[0].polygons[0].pts[2][1] == 112.95);
    assert_true(r->infos[0].areas[0].circles[0].radius_km == 2.5);
    assert_true(cap_claims_gbt(r));
    cap_alert_free(r);
    cap_alert_free(a);
    yj_buf_free(&b);
}

static void test_time_parse(void **state)
{
    (void)state;
    int64_t ms = 0;
    assert_true(cap_time_parse("2026-12-05T12:00:00+08:00", &ms));
    assert_int_equal(ms, 1796443200000LL);
    assert_true(cap_time_parse("2026-12-05T04:00:00-00:00", &ms));
    assert_int_equal(ms, 1796443200000LL);
    assert_false(cap_time_parse("2026-12-05T04:00:00Z", &ms));
    assert_false(cap_time_parse("2026-12-05T04:00:00.5+00:00", &ms));
    assert_false(cap_time_parse("2026-02-30T04:00:00+00:00", &ms));
    assert_false(cap_time_parse("2026-12-05 04:00:00+00:00", &ms));
    assert_false(cap_time_parse("", &ms));
    assert_false(cap_time_parse(NULL, &ms));
}

static void test_bad_input(void **state)
{
    (void)state;
    cap_alert *a = NULL;
    yj_err err;
    yj_err_clear(&err);
    assert_int_equal(cap_read("", 0, 0, &a, &err), YJ_EINVAL);
    char *big = calloc(CAP_MAX_BYTES + 2, 1);
    assert_non_null(big);
    memset(big, ' ', CAP_MAX_BYTES + 1);
    assert_int_equal(cap_read(big, CAP_MAX_BYTES + 1, 0, &a, &err), YJ_ETOOBIG);
    free(big);
    const char nul[] = "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\0</alert>";
    assert_int_not_equal(cap_read(nul, sizeof nul - 1, 0, &a, &err), YJ_OK);
    assert_null(a);
}

int main(void)
{
    yj_err err;
    if (cap_init(&err) != YJ_OK) {
        fprintf(stderr, "cap_init: %s\n", err.message);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_entities_never_fetched),
        cmocka_unit_test(test_write_read_back),
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
