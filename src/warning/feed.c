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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    int64_t now = warning_now();
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_prepare(c,
                             "SELECT id, identifier, sender, sender_name, sent, msg_type, level,"
                             " headline, description, area_desc, published_at" ACTIVE_PUBLIC
                             " ORDER BY published_at DESC, id DESC LIMIT 200",
                             err);
    if (st == NULL) {
        yj_store_release(s, c);
        return YJ_EINTERNAL;
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
        put_xml(&entries, yj_col_text(st, 7));
        yj_buf_printf(&entries,
                      "</title>\n    <updated>%s</updated>\n    <published>%s</published>\n", when,
                      when);
        yj_buf_puts(&entries, "    <author><name>");
        put_xml(&entries, yj_col_text(st, 3));
        yj_buf_puts(&entries, "</name></author>\n    <summary>");
        put_xml(&entries, yj_col_text(st, 8));
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
        return YJ_EINTERNAL;
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
        return YJ_EINTERNAL;
    }
    yj_bind_int(st, 1, warning_now());
    json_t *items = json_array();
    int r;
    while ((r = yj_step(st, err)) == 1) {
        json_t *o = json_object();
        for (int k = 0; k < yj_col_count(st); k++)
            json_object_set_new(o, yj_col_name(st, k), yj_col_json(st, k));
        json_t *area = json_loads(yj_col_text(st, 11), 0, NULL);
        json_object_set_new(o, "area", area ? area : json_object());
        int level = (int)yj_col_int(st, 6);
        json_object_set_new(o, "level_name", json_string(warning_level_name(level)));
        json_object_set_new(o, "level_label", json_string(warning_level_label(level)));
        json_array_append_new(items, o);
    }
    yj_stmt_done(st);
    yj_store_release(s, c);
    if (r < 0) {
        json_decref(items);
        return YJ_EINTERNAL;
    }
    *out = json_pack("{s:o,s:I}", "items", items, "now", (json_int_t)warning_now());
    return YJ_OK;
}
