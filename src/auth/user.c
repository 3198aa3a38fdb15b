/*
 * user.c — user accounts: creation, password change, listing, loading.
 * Passwords are stored only as libsodium argon2id strings
 * (crypto_pwhash_str, interactive limits), never in clear or reversible form.
 */
#include "auth.h"
#include "../core/util.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static bool username_ok(const char *u)
{
    size_t n = strlen(u);
    if (n < 2 || n > 32)
        return false;
    return strspn(u, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static yj_code hash_password(const char *password, char out[crypto_pwhash_STRBYTES], yj_err *err)
{
    size_t n = strlen(password), chars = 0;
    for (const unsigned char *p = (const unsigned char *)password; *p; p++)
        chars += (*p & 0xC0) != 0x80; /* count UTF-8 lead bytes */
    if (chars < YJ_PASSWORD_MIN)
        return yj_err_set(err, YJ_EINVAL, "password", "password must have at least %d characters",
                          YJ_PASSWORD_MIN);
    if (n > 256)
        return yj_err_set(err, YJ_EINVAL, "password", "password too long");
    if (crypto_pwhash_str(out, password, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory hashing password");
    return YJ_OK;
}

json_t *user_json(const yj_user *u)
{
    json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)u->id, "username",
                          u->username, "name", u->name, "role", role_name(u->role), "role_label",
                          role_label(u->role), "region_code", u->region);
    json_object_set_new(o, "enterprise_id",
                        u->enterprise_id > 0 ? json_integer(u->enterprise_id) : json_null());
    return o;
}

yj_code user_add(yj_store *s, const char *actor, const char *username, const char *password,
                 yj_role role, const char *region, const char *name, int64_t enterprise_id,
                 int64_t *id_out, yj_err *err)
{
    if (username == NULL || !username_ok(username))
        return yj_err_set(err, YJ_EINVAL, "username",
                          "username must be 2-32 characters of a-z 0-9 _ . -");
    if ((int)role < 0 || role >= YJ_ROLE_COUNT)
        return yj_err_set(err, YJ_EINVAL, "role", "unknown role");
    if (name == NULL || name[0] == '\0' || strlen(name) > 100)
        return yj_err_set(err, YJ_EINVAL, "name", "name is required (at most 100 bytes)");
    if (role == YJ_ROLE_ENTERPRISE && enterprise_id <= 0)
        return yj_err_set(err, YJ_EINVAL, "enterprise_id",
                          "an enterprise user needs the id of its enterprise");
    char hash[crypto_pwhash_STRBYTES];
    yj_code rc = hash_password(password ? password : "", hash, err);
    if (rc != YJ_OK)
        return rc;
    char code[16];
    region_normalize(region ? region : "", code, sizeof code);

    yj_conn *c = yj_store_acquire(s);
    yj_scope all = {{0}, 0};
    if ((rc = yj_tx_begin(c, err)) != YJ_OK)
        goto out;
    if ((rc = yj_region_check(c, &all, code, err)) != YJ_OK)
        goto fail;
    if (enterprise_id > 0) {
        int64_t n = 0;
        char idtext[24];
        snprintf(idtext, sizeof idtext, "%lld", (long long)enterprise_id);
        if ((rc = yj_query_int(c, "SELECT COUNT(*) FROM enterprise WHERE id = CAST(? AS INTEGER)",
                               idtext, &n, err)) != YJ_OK)
            goto fail;
        if (n == 0) {
            rc = yj_err_set(err, YJ_EINVAL, "enterprise_id", "no enterprise with id %s", idtext);
            goto fail;
        }
    }
    char now[40];
    yj_time_iso(yj_now_ms(), now, sizeof now);
    yj_stmt *st = yj_prepare(c,
                             "INSERT INTO users(username, name, role, region_code, enterprise_id,"
                             " password_hash, created_at, updated_at)"
                             " VALUES (?,?,?,?,?,?,?,?) RETURNING id",
                             err);
    if (st == NULL) {
        rc = yj_fail(err);
        goto fail;
    }
    yj_bind_text(st, 1, username);
    yj_bind_text(st, 2, name);
    yj_bind_text(st, 3, role_name(role));
    yj_bind_text(st, 4, code);
    if (enterprise_id > 0)
        yj_bind_int(st, 5, enterprise_id);
    else
        yj_bind_null(st, 5);
    yj_bind_text(st, 6, hash);
    yj_bind_text(st, 7, now);
    yj_bind_text(st, 8, now);
    int64_t id = 0;
    int r = yj_step(st, err);
    if (r == 1) {
        id = yj_col_int(st, 0);
        r = yj_step(st, err) < 0 ? -1 : 1;
    }
    yj_stmt_done(st);
    if (r < 0) {
        rc = (err && err->code == YJ_ECONFLICT)
                 ? yj_err_set(err, YJ_ECONFLICT, "username", "user %s already exists", username)
                 : yj_fail(err);
        goto fail;
    }
    yj_user u = {.id = id, .role = role, .enterprise_id = enterprise_id};
    snprintf(u.username, sizeof u.username, "%s", username);
    snprintf(u.name, sizeof u.name, "%s", name);
    snprintf(u.region, sizeof u.region, "%s", code);
    json_t *after = user_json(&u);
    rc = audit_append(c, actor, "create", "user", id, NULL, after, err);
    json_decref(after);
    if (rc != YJ_OK)
        goto fail;
    rc = yj_tx_commit(c, err);
    if (rc == YJ_OK && id_out)
        *id_out = id;
    goto out;
fail:
    yj_tx_rollback(c);
out:
    yj_store_release(s, c);
    return rc;
}

yj_code user_passwd(yj_store *s, const char *actor, const char *username, const char *password,
                    yj_err *err)
{
    char hash[crypto_pwhash_STRBYTES];
    yj_code rc = hash_password(password ? password : "", hash, err);
    if (rc != YJ_OK)
        return rc;
    yj_conn *c = yj_store_acquire(s);
    if ((rc = yj_tx_begin(c, err)) != YJ_OK)
        goto out;
    char now[40];
    yj_time_iso(yj_now_ms(), now, sizeof now);
    yj_stmt *st = yj_prepare(c,
                             "UPDATE users SET password_hash = ?, updated_at = ?"
                             " WHERE username = ?"
                             " RETURNING id, region_code",
                             err);
    if (st == NULL) {
        rc = yj_fail(err);
        goto fail;
    }
    yj_bind_text(st, 1, hash);
    yj_bind_text(st, 2, now);
    yj_bind_text(st, 3, username);
    int64_t id = 0;
    char region[16] = "";
    int r = yj_step(st, err);
    if (r == 1) {
        id = yj_col_int(st, 0);
        snprintf(region, sizeof region, "%s", yj_col_text(st, 1));
        r = yj_step(st, err) < 0 ? -1 : 1;
    }
    yj_stmt_done(st);
    if (r < 0) {
        rc = yj_fail(err);
        goto fail;
    }
    if (id == 0) {
        rc = yj_err_set(err, YJ_ENOTFOUND, "username", "no user %s", username);
        goto fail;
    }
    /* A new password ends every session of the old one. */
    st = yj_prepare(c, "DELETE FROM sessions WHERE user_id = ?", err);
    if (st == NULL) {
        rc = yj_fail(err);
        goto fail;
    }
    yj_bind_int(st, 1, id);
    r = yj_step(st, err);
    yj_stmt_done(st);
    if (r < 0) {
        rc = yj_fail(err);
        goto fail;
    }
    json_t *after = json_pack("{s:s,s:s,s:s}", "username", username, "password", "(changed)",
                              "region_code", region);
    rc = audit_append(c, actor, "passwd", "user", id, NULL, after, err);
    json_decref(after);
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        goto fail;
    goto out;
fail:
    yj_tx_rollback(c);
out:
    yj_store_release(s, c);
    return rc;
}

static void user_from_row(yj_stmt *st, yj_user *u)
{
    memset(u, 0, sizeof *u);
    u->id = yj_col_int(st, 0);
    snprintf(u->username, sizeof u->username, "%s", yj_col_text(st, 1));
    snprintf(u->name, sizeof u->name, "%s", yj_col_text(st, 2));
    int role = role_parse(yj_col_text(st, 3));
    u->role = role < 0 ? YJ_ROLE_PUBLIC : (yj_role)role;
    snprintf(u->region, sizeof u->region, "%s", yj_col_text(st, 4));
    u->enterprise_id = yj_col_null(st, 5) ? 0 : yj_col_int(st, 5);
}

yj_code user_load(yj_conn *c, int64_t id, yj_user *out, yj_err *err)
{
    yj_stmt *st = yj_prepare(c,
                             "SELECT id, username, name, role, region_code, enterprise_id"
                             " FROM users WHERE id = ?",
                             err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_int(st, 1, id);
    int r = yj_step(st, err);
    if (r == 1)
        user_from_row(st, out);
    yj_stmt_done(st);
    if (r < 0)
        return yj_fail(err);
    return r == 1 ? YJ_OK : yj_err_set(err, YJ_ENOTFOUND, NULL, "no such user");
}

yj_code user_list(yj_store *s, const yj_user *caller, json_t **out, yj_err *err)
{
    *out = json_array();
    /* users are the platform's, not an enterprise's: an enterprise user
     * (who has no user read anyway) would see none */
    static const yj_scope_cols user_cols = {.region = "region_code"};
    yj_scope sc = caller ? user_scope(caller) : (yj_scope){{0}, 0};
    yj_sql q;
    yj_sql_init(&q, "SELECT id, username, name, role, region_code, enterprise_id FROM users"
                    " WHERE 1=1");
    yj_sql_scope(&q, &sc, &user_cols);
    yj_sql_add(&q, " ORDER BY id");
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_sql_prepare(c, &q, err);
    yj_sql_free(&q);
    if (st == NULL) {
        yj_store_release(s, c);
        return yj_fail(err);
    }
    int r;
    while ((r = yj_step(st, err)) == 1) {
        yj_user u;
        user_from_row(st, &u);
        json_array_append_new(*out, user_json(&u));
    }
    yj_stmt_done(st);
    yj_store_release(s, c);
    return r < 0 ? yj_fail(err) : YJ_OK;
}
