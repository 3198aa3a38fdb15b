/*
 * feed.c — the public side of warnings: an Atom feed (RFC 4287) of the
 * active public warnings, whose entries link to their CAP messages, and
 * the same list as JSON for the public warning page.  Nothing here needs a
 * login: "active" means published (or a Cancel message) and not expired,
 * with scope Public.
 */
#include "warning.h"
#include "cap.h"
#include "../core/util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The public side answers anyone, so its answers are bounded whatever
 * other agencies send us: at most 200 warnings, texts cut (the whole text
 * is in each warning's CAP message), an area over AREA_MAX bytes given by
 * its regions and circles only, and the list stopped at LIST_MAX bytes. */
#define TEXT_MAX  2000
#define SHORT_MAX 400
#define AREA_MAX  (16 * 1024)
#define LIST_MAX  (512 * 1024)

/* A text column cut to max bytes; *cut set when it was. */
static json_t *cut_text(yj_stmt *st, int col, size_t max, bool *cut)
{
    if (yj_col_null(st, col))
        return json_null();
    char buf[TEXT_MAX + 1];
    if (yj_utf8_cut(yj_col_text(st, col), max, buf))
        *cut = true;
    return json_string(buf);
}

#define ACTIVE_PUBLIC                                                                              \
    " FROM warning WHERE state = 'published' AND scope = 'Public' AND cap_xml IS NOT NULL"         \
    " AND expires > ?"

static void put_xml(yj_buf *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '<')
            yj_buf_puts(b, "&lt;");
        else if (*s == '>')
            yj_buf_puts(b, "&gt;");
        else if (*s == '&')
            yj_buf_puts(b, "&amp;");
        else if (*s == '"')
            yj_buf_puts(b, "&quot;");
        else
            yj_buf_putc(b, *s);
    }
}

yj_code warning_feed_atom(yj_store *s, const char *base, yj_buf *out, yj_err *err)
{
    int64_t now = yj_clock_now();
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_prepare(c,
                             "SELECT id, identifier, sender, sender_name, sent, msg_type, level,"
                             " headline, description, area_desc, published_at" ACTIVE_PUBLIC
                             " ORDER BY published_at DESC, id DESC LIMIT 200",
                             err);
    if (st == NULL) {
        yj_store_release(s, c);
        return yj_fail(err);
    }
    yj_bind_int(st, 1, now);
    yj_buf entries;
    yj_buf_init(&entries);
    int64_t newest = 0;
    int r;
    while ((r = yj_step(st, err)) == 1) {
        int64_t id = yj_col_int(st, 0), published = yj_col_int(st, 10);
        if (published > newest)
            newest = published;
        int level = (int)yj_col_int(st, 6);
        char when[32];
        cap_time_beijing(published, when, sizeof when);
        yj_buf_puts(&entries, "  <entry>\n    <id>");
        put_xml(&entries, base);
        yj_buf_printf(&entries, "/feeds/warnings/%lld.xml</id>\n    <title>", (long long)id);
        if (strcmp(yj_col_text(st, 5), "Cancel") != 0) {
            put_xml(&entries, warning_level_label(level));
            yj_buf_puts(&entries, " ");
        }
        char text[TEXT_MAX + 1];
        yj_utf8_cut(yj_col_text(st, 7), SHORT_MAX, text);
        put_xml(&entries, text);
        yj_buf_printf(&entries,
                      "</title>\n    <updated>%s</updated>\n    <published>%s</published>\n", when,
                      when);
        yj_buf_puts(&entries, "    <author><name>");
        yj_utf8_cut(yj_col_text(st, 3), SHORT_MAX, text);
        put_xml(&entries, text);
        yj_buf_puts(&entries, "</name></author>\n    <summary>");
        yj_utf8_cut(yj_col_text(st, 8), TEXT_MAX, text);
        put_xml(&entries, text);
        yj_buf_puts(&entries, "</summary>\n    <category term=\"");
        put_xml(&entries, warning_level_name(level));
        yj_buf_puts(&entries, "\" label=\"");
        put_xml(&entries, warning_level_label(level));
        yj_buf_puts(&entries,
                    "\"/>\n    <link rel=\"alternate\" type=\"application/cap+xml\" href=\"");
        put_xml(&entries, base);
        yj_buf_printf(&entries, "/feeds/warnings/%lld.xml\"/>\n  </entry>\n", (long long)id);
    }
    yj_stmt_done(st);
    yj_store_release(s, c);
    if (r < 0) {
        yj_buf_free(&entries);
        return yj_fail(err);
    }
    char updated[32];
    cap_time_beijing(newest ? newest : now, updated, sizeof updated);
    yj_buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n  <id>");
    put_xml(out, base);
    yj_buf_puts(out, "/feeds/warnings.atom</id>\n  <title>突发事件预警信息</title>\n");
    yj_buf_printf(out,
                  "  <updated>%s</updated>\n  <author><name>应急管理综合应用平台</name></author>\n",
                  updated);
    yj_buf_puts(out, "  <link rel=\"self\" type=\"application/atom+xml\" href=\"");
    put_xml(out, base);
    yj_buf_puts(out, "/feeds/warnings.atom\"/>\n");
    if (entries.len)
        yj_buf_append(out, entries.data, entries.len);
    yj_buf_puts(out, "</feed>\n");
    yj_buf_free(&entries);
    return YJ_OK;
}

yj_code warning_public_list(yj_store *s, json_t **out, yj_err *err)
{
    *out = NULL;
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_prepare(
        c,
        "SELECT id, identifier, sender_name, sent, msg_type, event_type, level,"
        " headline, description, instruction, area_desc, area, effective,"
        " expires, published_at" ACTIVE_PUBLIC " ORDER BY level, published_at DESC LIMIT 200",
        err);
    if (st == NULL) {
        yj_store_release(s, c);
        return yj_fail(err);
    }
    yj_bind_int(st, 1, yj_clock_now());
    json_t *items = json_array();
    size_t bytes = 0;
    bool more = false;
    int r;
    while ((r = yj_step(st, err)) == 1) {
        json_t *o = json_object();
        bool cut = false;
        for (int k = 0; k < yj_col_count(st); k++) {
            const char *name = yj_col_name(st, k);
            if (k == 11)
                continue; /* the area: below */
            size_t max = strcmp(name, "description") == 0 || strcmp(name, "instruction") == 0
                             ? TEXT_MAX
                             : SHORT_MAX;
            json_object_set_new(o, name,
                                yj_col_type(st, k) == YJ_COL_TEXT ? cut_text(st, k, max, &cut)
                                                                  : yj_col_json(st, k));
        }
        /* the area: as drawn, unless it is large (then its regions and
         * circles; the polygons are in the CAP message) */
        const char *area_text = yj_col_text(st, 11);
        json_t *area = json_loads(area_text, 0, NULL);
        if (area && strlen(area_text) > AREA_MAX) {
            json_t *small = json_pack("{s:[],s:[],s:[]}", "regions", "polygons", "circles");
            size_t i;
            json_t *v;
            json_array_foreach(json_object_get(area, "regions"), i, v)
                if (i < 200)
                    json_array_append(json_object_get(small, "regions"), v);
            json_array_foreach(json_object_get(area, "circles"), i, v)
                if (i < 50)
                    json_array_append(json_object_get(small, "circles"), v);
            json_decref(area);
            area = small;
            cut = true;
        }
        json_object_set_new(o, "area", area ? area : json_object());
        int level = (int)yj_col_int(st, 6);
        json_object_set_new(o, "level_name", json_string(warning_level_name(level)));
        json_object_set_new(o, "level_label", json_string(warning_level_label(level)));
        if (cut)
            json_object_set_new(o, "truncated", json_true());
        char *one = json_dumps(o, JSON_COMPACT);
        size_t len = one ? strlen(one) : 0;
        free(one);
        if (bytes + len > LIST_MAX) { /* the rest: more than anyone reads on one page */
            json_decref(o);
            more = true;
            break;
        }
        bytes += len;
        json_array_append_new(items, o);
    }
    yj_stmt_done(st);
    yj_store_release(s, c);
    if (r < 0) {
        json_decref(items);
        return yj_fail(err);
    }
    *out =
        json_pack("{s:o,s:I,s:b}", "items", items, "now", (json_int_t)yj_clock_now(), "more", more);
    return YJ_OK;
}
