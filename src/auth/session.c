/*
 * session.c — login, sessions and lockout.
 *
 * A session token is 256 random bits (hex); the database keeps only its
 * SHA-256, so a copy of the database does not let anyone log in.  A session
 * ends after `idle_seconds` unused or `absolute_seconds` after login,
 * whichever is first.  Repeated failed logins lock the account with
 * exponential back-off (lock_base_seconds doubling up to lock_max_seconds);
 * unknown usernames cost the same argon2id work as known ones so the
 * response time does not reveal which accounts exist.
 */
#include "auth.h"
#include "../core/util.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

yj_auth_config yj_auth_cfg = {
    .idle_seconds = 2 * 3600,
    .absolute_seconds = 12 * 3600,
    .lock_after = 5,
    .lock_base_seconds = 30,
    .lock_max_seconds = 15 * 60,
};

/* Refresh last_seen at most this often, so reads do not become writes. */
#define TOUCH_INTERVAL_MS 30000

static void dummy_verify(const char *password)
{
    static char dummy[crypto_pwhash_STRBYTES];
    static int ready;
    if (!ready) {
        if (crypto_pwhash_str(dummy, "yingji-dummy-password", 21,
                              crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
            return;
        ready = 1;
    }
    if (crypto_pwhash_str_verify(dummy, password, strlen(password)) == 0)
        return; /* cannot match: the dummy password is not a real login */
}

static int64_t lock_seconds(int failures)
{
    int64_t secs = yj_auth_cfg.lock_base_seconds;
    for (int i = yj_auth_cfg.lock_after; i < failures && secs < yj_auth_cfg.lock_max_seconds; i++)
        secs *= 2;
    return secs > yj_auth_cfg.lock_max_seconds ? yj_auth_cfg.lock_max_seconds : secs;
}

static yj_code record_failure(yj_conn *c, int64_t id, int failures, int64_t now, yj_err *err)
{
    int64_t locked_until = 0;
    if (failures >= yj_auth_cfg.lock_after)
        locked_until = now + lock_seconds(failures) * 1000;
    yj_stmt *st =
        yj_prepare(c, "UPDATE users SET failed_logins = ?, locked_until_ms = ? WHERE id = ?", err);
    if (st == NULL)
        return YJ_EINTERNAL;
    yj_bind_int(st, 1, failures);
    yj_bind_int(st, 2, locked_until);
    yj_bind_int(st, 3, id);
    int r = yj_step(st, err);
    yj_stmt_done(st);
    return r < 0 ? YJ_EINTERNAL : YJ_OK;
}

static yj_code create_session(yj_conn *c, int64_t user_id, int64_t now, yj_session *out,
                              yj_err *err)
{
    char token_hash[65];
    yj_random_hex(32, out->token);
    yj_random_hex(32, out->csrf);
    yj_sha256_hex(out->token, strlen(out->token), token_hash);
    out->expires_ms = now + (int64_t)yj_auth_cfg.idle_seconds * 1000;
    int64_t absolute = now + (int64_t)yj_auth_cfg.absolute_seconds * 1000;
    if (out->expires_ms > absolute)
        out->expires_ms = absolute;
    yj_stmt *st = yj_prepare(c,
                             "INSERT INTO sessions(token_hash, user_id, csrf, created_ms,"
                             " last_seen_ms, expires_ms) VALUES (?,?,?,?,?,?)",
                             err);
    if (st == NULL)
        return YJ_EINTERNAL;
    yj_bind_text(st, 1, token_hash);
    yj_bind_int(st, 2, user_id);
    yj_bind_text(st, 3, out->csrf);
    yj_bind_int(st, 4, now);
    yj_bind_int(st, 5, now);
    yj_bind_int(st, 6, out->expires_ms);
    int r = yj_step(st, err);
    yj_stmt_done(st);
    if (r < 0)
        return YJ_EINTERNAL;
    /* Housekeeping: drop this user's expired sessions. */
    st = yj_prepare(c, "DELETE FROM sessions WHERE user_id = ? AND expires_ms < ?", err);
    if (st == NULL)
        return YJ_EINTERNAL;
    yj_bind_int(st, 1, user_id);
    yj_bind_int(st, 2, now);
    r = yj_step(st, err);
    yj_stmt_done(st);
    return r < 0 ? YJ_EINTERNAL : YJ_OK;
}

yj_code auth_login(yj_store *s, const char *username, const char *password, yj_session *out,
                   int *retry_after, yj_err *err)
{
    memset(out, 0, sizeof *out);
    *retry_after = 0;
    if (username == NULL || password == NULL || strlen(password) > 256)
        return yj_err_set(err, YJ_EAUTH, NULL, "wrong username or password");

    /* Read the account outside any transaction: argon2id takes ~100 ms and
     * must not hold the write lock. */
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_prepare(c,
                             "SELECT id, password_hash, failed_logins, locked_until_ms, disabled"
                             " FROM users WHERE username = ?",
                             err);
    if (st == NULL) {
        yj_store_release(s, c);
        return YJ_EINTERNAL;
    }
    yj_bind_text(st, 1, username);
    int r = yj_step(st, err);
    int64_t id = 0, locked_until = 0;
    int failures = 0, disabled = 0;
    char hash[crypto_pwhash_STRBYTES] = "";
    if (r == 1) {
        id = yj_col_int(st, 0);
        snprintf(hash, sizeof hash, "%s", yj_col_text(st, 1));
        failures = (int)yj_col_int(st, 2);
        locked_until = yj_col_int(st, 3);
        disabled = (int)yj_col_int(st, 4);
    }
    yj_stmt_done(st);
    yj_store_release(s, c);
    if (r < 0)
        return YJ_EINTERNAL;

    int64_t now = yj_now_ms();
    if (r == 0 || disabled) {
        dummy_verify(password);
        return yj_err_set(err, YJ_EAUTH, NULL, "wrong username or password");
    }
    if (locked_until > now) {
        *retry_after = (int)((locked_until - now + 999) / 1000);
        return yj_err_set(err, YJ_ELOCKED, NULL,
                          "too many failed logins: account locked for %d more seconds",
                          *retry_after);
    }
    bool ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;

    c = yj_store_acquire(s);
    yj_code rc = yj_tx_begin(c, err);
    if (rc != YJ_OK)
        goto out;
    if (!ok) {
        /* Re-read the counter inside the transaction: parallel failures all count. */
        int64_t cur = 0;
        char idtext[24];
        snprintf(idtext, sizeof idtext, "%lld", (long long)id);
        rc = yj_query_int(c, "SELECT failed_logins FROM users WHERE id = CAST(? AS INTEGER)",
                          idtext, &cur, err);
        if (rc == YJ_OK)
            rc = record_failure(c, id, (int)cur + 1, now, err);
        if (rc == YJ_OK)
            rc = yj_tx_commit(c, err);
        else
            yj_tx_rollback(c);
        if (rc == YJ_OK)
            rc = yj_err_set(err, YJ_EAUTH, NULL, "wrong username or password");
        goto out;
    }
    (void)failures;
    rc = record_failure(c, id, 0, now, err);
    if (rc == YJ_OK)
        rc = create_session(c, id, now, out, err);
    if (rc == YJ_OK)
        rc = user_load(c, id, &out->user, err);
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
out:
    yj_store_release(s, c);
    return rc;
}

yj_code auth_session(yj_store *s, const char *token, yj_session *out, yj_err *err)
{
    memset(out, 0, sizeof *out);
    size_t n = token ? strlen(token) : 0;
    if (n != 64 || strspn(token, "0123456789abcdef") != 64)
        return yj_err_set(err, YJ_EAUTH, NULL, "not logged in");
    char token_hash[65];
    yj_sha256_hex(token, n, token_hash);
    int64_t now = yj_now_ms();
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_prepare(c,
                             "SELECT u.id, u.username, u.name, u.role, u.region_code,"
                             " u.enterprise_id, s.csrf, s.created_ms, s.last_seen_ms,"
                             " s.expires_ms, u.disabled"
                             " FROM sessions s JOIN users u ON u.id = s.user_id"
                             " WHERE s.token_hash = ?",
                             err);
    if (st == NULL) {
        yj_store_release(s, c);
        return YJ_EINTERNAL;
    }
    yj_bind_text(st, 1, token_hash);
    int r = yj_step(st, err);
    int64_t created = 0, last_seen = 0;
    bool disabled = false;
    if (r == 1) {
        out->user.id = yj_col_int(st, 0);
        snprintf(out->user.username, sizeof out->user.username, "%s", yj_col_text(st, 1));
        snprintf(out->user.name, sizeof out->user.name, "%s", yj_col_text(st, 2));
        int role = role_parse(yj_col_text(st, 3));
        out->user.role = role < 0 ? YJ_ROLE_PUBLIC : (yj_role)role;
        snprintf(out->user.region, sizeof out->user.region, "%s", yj_col_text(st, 4));
        out->user.enterprise_id = yj_col_null(st, 5) ? 0 : yj_col_int(st, 5);
        snprintf(out->csrf, sizeof out->csrf, "%s", yj_col_text(st, 6));
        created = yj_col_int(st, 7);
        last_seen = yj_col_int(st, 8);
        out->expires_ms = yj_col_int(st, 9);
        disabled = yj_col_int(st, 10) != 0;
    }
    yj_stmt_done(st);
    yj_code rc = YJ_OK;
    if (r < 0) {
        rc = YJ_EINTERNAL;
    } else if (r == 0 || disabled || out->expires_ms <= now) {
        rc = yj_err_set(err, YJ_EAUTH, NULL, "session expired or not logged in");
    } else if (now - last_seen > TOUCH_INTERVAL_MS) {
        int64_t expires = now + (int64_t)yj_auth_cfg.idle_seconds * 1000;
        int64_t absolute = created + (int64_t)yj_auth_cfg.absolute_seconds * 1000;
        if (expires > absolute)
            expires = absolute;
        st = yj_prepare(
            c, "UPDATE sessions SET last_seen_ms = ?, expires_ms = ? WHERE token_hash = ?", err);
        if (st) {
            yj_bind_int(st, 1, now);
            yj_bind_int(st, 2, expires);
            yj_bind_text(st, 3, token_hash);
            yj_step(st, NULL); /* best effort: a busy database only delays the refresh */
            yj_stmt_done(st);
            out->expires_ms = expires;
        }
    }
    if (rc == YJ_OK)
        snprintf(out->token, sizeof out->token, "%s", token);
    yj_store_release(s, c);
    return rc;
}

void auth_logout(yj_store *s, const char *token)
{
    if (token == NULL || strlen(token) != 64)
        return;
    char token_hash[65];
    yj_sha256_hex(token, 64, token_hash);
    yj_conn *c = yj_store_acquire(s);
    yj_stmt *st = yj_prepare(c, "DELETE FROM sessions WHERE token_hash = ?", NULL);
    if (st) {
        yj_bind_text(st, 1, token_hash);
        yj_step(st, NULL);
        yj_stmt_done(st);
    }
    yj_store_release(s, c);
}
