/*
 * registry.c — the registry service: list, get, create, update, delete and
 * history for every base database.
 *
 * Each call checks the role's permission (auth/perm.c), runs in one
 * transaction on one pooled connection, passes the caller's scope to the
 * store (which confines every statement to the caller's region and, for
 * enterprise users, to their enterprise), writes the audit entry in the same
 * transaction, and publishes a "record" event after commit.
 */
#include "registry.h"
#include "../core/cache.h"
#include "../core/events.h"

#include <pthread.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- fields a role may not read ------------------------------------------------
 * The permission table's field rows (auth/perm.c), per registry and role,
 * computed once: a list read leaves the columns out of the SELECT, a
 * record, its history and its CSV drop them. */
#define MAX_HIDDEN 16
static const char *hidden_tab[YJ_ROLE_COUNT][256][MAX_HIDDEN + 1];
static pthread_once_t hidden_once = PTHREAD_ONCE_INIT;

static void hidden_build(void)
{
    for (size_t i = 0; i < registry_count() && i < 256; i++) {
        const yj_registry *r = registry_at(i);
        for (int role = 0; role < YJ_ROLE_COUNT; role++) {
            size_t n = 0;
            for (size_t f = 0; f < r->nfields && n < MAX_HIDDEN; f++)
                if (!perm_field_readable((yj_role)role, r->name, r->fields[f].name))
                    hidden_tab[role][i][n++] = r->fields[f].name;
        }
    }
}

const char *const *registry_hidden(const yj_user *u, const yj_registry *r)
{
    pthread_once(&hidden_once, hidden_build);
    if ((int)u->role < 0 || u->role >= YJ_ROLE_COUNT ||
        !perm_allowed(u->role, r->name, YJ_ACT_READ))
        return NULL;
    for (size_t i = 0; i < registry_count() && i < 256; i++)
        if (registry_at(i) == r)
            return hidden_tab[u->role][i][0] ? hidden_tab[u->role][i] : NULL;
    return NULL;
}

static void drop_hidden(const yj_user *u, const yj_registry *r, json_t *rec)
{
    const char *const *hide = registry_hidden(u, r);
    for (size_t k = 0; hide && hide[k]; k++)
        json_object_del(rec, hide[k]);
}

static yj_code require(const yj_user *u, const yj_registry *r, yj_action act, yj_err *err)
{
    if (!perm_allowed(u->role, r->name, act))
        return yj_err_set(err, YJ_EFORBIDDEN, NULL, "role %s may not %s %s", role_name(u->role),
                          act == YJ_ACT_READ ? "read" : "change", r->name);
    return YJ_OK;
}

/* Stored form -> API form: booleans live as 0/1 in the database. */
static void record_out(const yj_registry *r, json_t *rec)
{
    for (size_t i = 0; i < r->nfields; i++) {
        if (r->fields[i].type != YJ_F_BOOL)
            continue;
        json_t *v = json_object_get(rec, r->fields[i].name);
        if (json_is_integer(v))
            json_object_set_new(rec, r->fields[i].name, json_boolean(json_integer_value(v)));
    }
}

/* Reference fields must point at a record the caller can see. */
static yj_code check_refs(yj_conn *c, const yj_user *u, const yj_registry *r, const json_t *rec,
                          yj_err *err)
{
    yj_scope sc = user_scope(u);
    for (size_t i = 0; i < r->nfields; i++) {
        const yj_field *f = &r->fields[i];
        json_t *v = json_object_get(rec, f->name);
        if (f->type != YJ_F_REF || !json_is_integer(v))
            continue;
        const yj_registry *target = registry_find(f->ref);
        json_t *found = NULL;
        /* an enterprise user's scope would hide the enterprise table's rows
         * by owner column; the enterprise itself is visible by id */
        if (target == NULL ||
            yj_rec_get(c, &target->table, &sc, json_integer_value(v), &found, NULL) != YJ_OK)
            return yj_err_set(err, YJ_EINVAL, f->name, "「%s」编号 %lld 不存在或不在您的辖区内",
                              f->label, (long long)json_integer_value(v));
        json_decref(found);
    }
    return YJ_OK;
}

static void publish(const yj_registry *r, const char *action, int64_t id, const json_t *rec)
{
    json_t *ev =
        json_pack("{s:s,s:I,s:s}", "registry", r->name, "id", (json_int_t)id, "action", action);
    const char *region = json_string_value(json_object_get(rec, "region_code"));
    yj_events_publish("record", region ? region : "", ev);
    json_decref(ev);
}

yj_code registry_list(yj_store *s, const yj_user *u, const yj_registry *r, const yj_query *q,
                      json_t **items, int64_t *total, yj_err *err)
{
    *items = NULL;
    *total = 0;
    yj_code rc = require(u, r, YJ_ACT_READ, err);
    if (rc != YJ_OK)
        return rc;
    yj_scope sc = user_scope(u);
    yj_query hq = *q;
    hq.hide = registry_hidden(u, r);
    yj_conn *c = yj_store_acquire(s);
    rc = yj_rec_list(c, &r->table, &sc, &hq, items, total, err);
    yj_store_release(s, c);
    if (rc == YJ_OK) {
        size_t i;
        json_t *rec;
        json_array_foreach(*items, i, rec) {
            record_out(r, rec);
        }
    }
    return rc;
}

/* List pages are cached by (registry, caller scope, query) and tagged with
 * the table's generation, which every write bumps in its own transaction:
 * a cached page is served only while nothing in the table has changed. */
static yj_cache *list_cache;
static pthread_once_t list_cache_once = PTHREAD_ONCE_INIT;

static void list_cache_init(void)
{
    list_cache = yj_cache_new(64u << 20, 4096);
}

void registry_cache_stats(yj_cache_stats *out)
{
    pthread_once(&list_cache_once, list_cache_init);
    yj_cache_get_stats(list_cache, out);
}

static void list_cache_key(yj_buf *k, const yj_registry *r, const yj_scope *sc, const yj_query *q)
{
    /* the hidden fields are the role's: a page is not shared across them */
    yj_buf_printf(k, "%s\x1f%s\x1f%lld\x1f%s\x1f%s\x1f%s\x1f%d\x1f%d\x1f%lld", r->name, sc->region,
                  (long long)sc->enterprise, q->search ? q->search : "", q->region ? q->region : "",
                  q->sort ? q->sort : "", q->desc, q->limit, (long long)q->offset);
    for (size_t i = 0; q->hide && q->hide[i]; i++)
        yj_buf_printf(k, "\x1f-%s", q->hide[i]);
    for (size_t i = 0; i < q->nfilters; i++)
        yj_buf_printf(k, "\x1f%s=%s", q->filters[i].col, q->filters[i].value);
    if (q->has_bbox)
        yj_buf_printf(k, "\x1f%.9g,%.9g,%.9g,%.9g", q->bbox[0], q->bbox[1], q->bbox[2], q->bbox[3]);
}

yj_code registry_list_json(yj_store *s, const yj_user *u, const yj_registry *r, const yj_query *q,
                           yj_buf *out, int64_t *total, yj_err *err)
{
    *total = 0;
    yj_code rc = require(u, r, YJ_ACT_READ, err);
    if (rc != YJ_OK)
        return rc;
    pthread_once(&list_cache_once, list_cache_init);
    yj_scope sc = user_scope(u);
    yj_query hq = *q;
    hq.hide = registry_hidden(u, r);
    q = &hq;
    yj_buf key, page;
    yj_buf_init(&key);
    yj_buf_init(&page);
    list_cache_key(&key, r, &sc, q);
    yj_conn *c = yj_store_acquire(s);
    int64_t gen = 0;
    rc = yj_table_generation(c, &r->table, &gen, err);
    /* cached value: "<total>\n<items JSON>" */
    if (rc == YJ_OK && yj_cache_get(list_cache, key.data, gen, &page)) {
        char *nl = strchr(page.data, '\n');
        *total = strtoll(page.data, NULL, 10);
        yj_buf_puts(out, nl ? nl + 1 : "[]");
    } else if (rc == YJ_OK) {
        yj_buf items;
        yj_buf_init(&items);
        rc = yj_rec_list_json(c, &r->table, &sc, q, &items, total, err);
        if (rc == YJ_OK) {
            yj_buf_printf(&page, "%lld\n", (long long)*total);
            yj_buf_append(&page, items.data, items.len);
            yj_cache_put(list_cache, key.data, gen, page.data, page.len);
            yj_buf_append(out, items.data, items.len);
        }
        yj_buf_free(&items);
    }
    yj_store_release(s, c);
    yj_buf_free(&key);
    yj_buf_free(&page);
    return rc;
}

yj_code registry_get(yj_store *s, const yj_user *u, const yj_registry *r, int64_t id, json_t **out,
                     yj_err *err)
{
    *out = NULL;
    yj_code rc = require(u, r, YJ_ACT_READ, err);
    if (rc != YJ_OK)
        return rc;
    yj_scope sc = user_scope(u);
    yj_conn *c = yj_store_acquire(s);
    rc = yj_rec_get(c, &r->table, &sc, id, out, err);
    yj_store_release(s, c);
    if (rc == YJ_OK) {
        record_out(r, *out);
        drop_hidden(u, r, *out);
    }
    return rc;
}

yj_code registry_create_in(yj_conn *c, const yj_user *u, const yj_registry *r, const json_t *in,
                           int64_t *id_out, yj_err *err)
{
    yj_code rc = require(u, r, YJ_ACT_WRITE, err);
    json_t *rec = NULL, *after = NULL;
    if (rc == YJ_OK)
        rc = registry_validate(r, in, NULL, &rec, err);
    if (rc == YJ_OK)
        rc = check_refs(c, u, r, rec, err);
    if (rc == YJ_OK && r->prepare)
        rc = r->prepare(c, rec, err);
    yj_scope sc = user_scope(u);
    int64_t id = 0;
    if (rc == YJ_OK)
        rc = yj_rec_insert(c, &r->table, &sc, rec, u->username, &id, err);
    if (rc == YJ_OK)
        rc = yj_rec_get(c, &r->table, &sc, id, &after, err);
    if (rc == YJ_OK) {
        record_out(r, after);
        rc = audit_append(c, u->username, "create", r->name, id, NULL, after, err);
    }
    json_decref(rec);
    json_decref(after);
    if (rc == YJ_OK && id_out)
        *id_out = id;
    return rc;
}

yj_code registry_create(yj_store *s, const yj_user *u, const yj_registry *r, const json_t *in,
                        json_t **out, yj_err *err)
{
    *out = NULL;
    yj_code rc = require(u, r, YJ_ACT_WRITE, err);
    if (rc != YJ_OK)
        return rc;
    yj_conn *c = yj_store_acquire(s);
    int64_t id = 0;
    if ((rc = yj_tx_begin(c, err)) == YJ_OK) {
        rc = registry_create_in(c, u, r, in, &id, err);
        if (rc == YJ_OK)
            rc = yj_tx_commit(c, err);
        else
            yj_tx_rollback(c);
    }
    if (rc == YJ_OK) {
        yj_scope sc = user_scope(u);
        rc = yj_rec_get(c, &r->table, &sc, id, out, err);
        if (rc == YJ_OK)
            record_out(r, *out);
    }
    yj_store_release(s, c);
    if (rc == YJ_OK)
        publish(r, "create", id, *out);
    return rc;
}

/* True if the validated input equals the stored record in every column. */
static bool record_unchanged(const yj_registry *r, const json_t *rec, const json_t *cur)
{
    static const char *const std_keys[] = {"region_code", "lat", "lon"};
    for (size_t i = 0; i < r->nfields; i++) {
        const char *k = r->fields[i].name;
        const json_t *a = json_object_get(rec, k), *b = json_object_get(cur, k);
        if (json_is_number(a) && json_is_number(b)) {
            if (json_number_value(a) != json_number_value(b))
                return false;
        } else if (!json_equal(a ? a : json_null(), b ? b : json_null())) {
            return false;
        }
    }
    for (size_t i = 0; i < 3; i++) {
        const json_t *a = json_object_get(rec, std_keys[i]), *b = json_object_get(cur, std_keys[i]);
        if (json_is_number(a) && json_is_number(b)
                ? json_number_value(a) != json_number_value(b)
                : !json_equal(a ? a : json_null(), b ? b : json_null()))
            return false;
    }
    return true;
}

/* Update inside an open transaction; *after gets the audited new image. */
static yj_code update_in(yj_conn *c, const yj_user *u, const yj_registry *r, int64_t id,
                         int64_t expect_version, const json_t *in, json_t **after, bool *changed,
                         yj_err *err)
{
    *changed = false;
    yj_scope sc = user_scope(u);
    json_t *before = NULL, *rec = NULL;
    yj_code rc = yj_rec_get(c, &r->table, &sc, id, &before, err);
    if (rc == YJ_OK) {
        record_out(r, before);
        int64_t have = json_integer_value(json_object_get(before, "version"));
        if (have != expect_version)
            rc = yj_err_set(err, YJ_ESTALE, NULL,
                            "the record was changed by someone else (now version %lld); reload it",
                            (long long)have);
    }
    if (rc == YJ_OK)
        rc = registry_validate(r, in, before, &rec, err);
    if (rc == YJ_OK && r->prepare)
        rc = r->prepare(c, rec, err);
    if (rc == YJ_OK && record_unchanged(r, rec, before)) {
        /* Saving without a change is not a change: same version, no audit entry. */
        *after = before;
        json_decref(rec);
        return YJ_OK;
    }
    *changed = true;
    if (rc == YJ_OK)
        rc = check_refs(c, u, r, rec, err);
    if (rc == YJ_OK)
        rc = yj_rec_update(c, &r->table, &sc, id, expect_version, rec, u->username, err);
    if (rc == YJ_OK)
        rc = yj_rec_get(c, &r->table, &sc, id, after, err);
    if (rc == YJ_OK) {
        record_out(r, *after);
        rc = audit_append(c, u->username, "update", r->name, id, before, *after, err);
    }
    json_decref(before);
    json_decref(rec);
    return rc;
}

yj_code registry_update(yj_store *s, const yj_user *u, const yj_registry *r, int64_t id,
                        int64_t expect_version, const json_t *in, json_t **out, yj_err *err)
{
    *out = NULL;
    yj_code rc = require(u, r, YJ_ACT_WRITE, err);
    if (rc != YJ_OK)
        return rc;
    yj_conn *c = yj_store_acquire(s);
    bool changed = false;
    if ((rc = yj_tx_begin(c, err)) == YJ_OK) {
        rc = update_in(c, u, r, id, expect_version, in, out, &changed, err);
        if (rc == YJ_OK)
            rc = yj_tx_commit(c, err);
        else
            yj_tx_rollback(c);
    }
    yj_store_release(s, c);
    if (rc != YJ_OK) {
        json_decref(*out);
        *out = NULL;
    } else if (changed) {
        publish(r, "update", id, *out);
    }
    return rc;
}

yj_code registry_delete(yj_store *s, const yj_user *u, const yj_registry *r, int64_t id,
                        int64_t expect_version, yj_err *err)
{
    yj_code rc = require(u, r, YJ_ACT_WRITE, err);
    if (rc != YJ_OK)
        return rc;
    yj_scope sc = user_scope(u);
    yj_conn *c = yj_store_acquire(s);
    json_t *before = NULL;
    if ((rc = yj_tx_begin(c, err)) == YJ_OK) {
        rc = yj_rec_get(c, &r->table, &sc, id, &before, err);
        if (rc == YJ_OK) {
            record_out(r, before);
            rc = yj_rec_delete(c, &r->table, &sc, id, expect_version, err);
        }
        if (rc == YJ_OK)
            rc = audit_append(c, u->username, "delete", r->name, id, before, NULL, err);
        if (rc == YJ_OK)
            rc = yj_tx_commit(c, err);
        else
            yj_tx_rollback(c);
    }
    yj_store_release(s, c);
    if (rc == YJ_OK)
        publish(r, "delete", id, before);
    json_decref(before);
    return rc;
}

yj_code registry_history(yj_store *s, const yj_user *u, const yj_registry *r, int64_t id,
                         json_t **out, yj_err *err)
{
    *out = NULL;
    json_t *rec = NULL;
    yj_code rc = registry_get(s, u, r, id, &rec, err); /* visible to the caller? */
    json_decref(rec);
    if (rc != YJ_OK)
        return rc;
    /* the record is visible to the caller: all of its history, also the
     * entries from before it moved into the caller's region — but what it
     * held while elsewhere, and the fields the caller's role may not read,
     * are not shown */
    yj_scope all = {{0}, 0}, sc = user_scope(u);
    rc = audit_list(s, &all, r->name, id, 0, 1000, 0, out, err);
    if (rc != YJ_OK)
        return rc;
    audit_redact(&sc, *out);
    const char *const *hide = registry_hidden(u, r);
    size_t i;
    json_t *e;
    json_array_foreach(*out, i, e) {
        for (size_t k = 0; hide && hide[k]; k++) {
            json_object_del(json_object_get(e, "before"), hide[k]);
            json_object_del(json_object_get(e, "after"), hide[k]);
        }
    }
    return YJ_OK;
}

yj_code registry_update_in(yj_conn *c, const yj_user *u, const yj_registry *r, int64_t id,
                           int64_t expect_version, const json_t *in, bool *changed, yj_err *err)
{
    json_t *after = NULL;
    yj_code rc = update_in(c, u, r, id, expect_version, in, &after, changed, err);
    json_decref(after);
    return rc;
}

json_t *registry_schema_json(const yj_registry *r)
{
    static const char *const type_names[] = {
        [YJ_F_TEXT] = "text",     [YJ_F_LONGTEXT] = "longtext", [YJ_F_INT] = "int",
        [YJ_F_REAL] = "real",     [YJ_F_BOOL] = "bool",         [YJ_F_ENUM] = "enum",
        [YJ_F_TAGS] = "tags",     [YJ_F_PHONE] = "phone",       [YJ_F_DATE] = "date",
        [YJ_F_CREDIT] = "credit", [YJ_F_REF] = "ref",
    };
    json_t *fields = json_array();
    for (size_t i = 0; i < r->nfields; i++) {
        const yj_field *f = &r->fields[i];
        json_t *o = json_pack("{s:s,s:s,s:s,s:b}", "name", f->name, "label", f->label, "type",
                              type_names[f->type], "required", f->required);
        if (f->options) {
            json_t *opts = json_array();
            for (size_t k = 0; f->options[k]; k++)
                json_array_append_new(opts, json_string(f->options[k]));
            json_object_set_new(o, "options", opts);
        }
        if (f->unit)
            json_object_set_new(o, "unit", json_string(f->unit));
        if (f->has_range) {
            json_object_set_new(o, "min", json_real(f->min));
            json_object_set_new(o, "max", json_real(f->max));
        }
        if (f->maxlen)
            json_object_set_new(o, "maxlen", json_integer(f->maxlen));
        if (f->ref)
            json_object_set_new(o, "ref", json_string(f->ref));
        if (f->def)
            json_object_set_new(o, "default", json_string(f->def));
        json_array_append_new(fields, o);
    }
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o}", "name", r->name, "label", r->label, "icon",
                          r->icon, "key_field", r->key_field, "fields", fields);
    json_object_set_new(o, "type_field", r->type_field ? json_string(r->type_field) : json_null());
    json_object_set_new(o, "status_field",
                        r->status_field ? json_string(r->status_field) : json_null());
    return o;
}
