/*
 * session.c — login, sessions and login throttling.
 *
 * A session token is 256 random bits (hex); the database keeps only its
 * SHA-256, so a copy of the database does not let anyone log in.  A session
 * ends after `idle_seconds` unused or `absolute_seconds` after login,
 * whichever is first.
 *
 * Throttling follows the source, never the account alone, so nobody can
 * lock somebody else out (the city commander, the only red-level approver,
 * must get in during the worst hour of the year).  Failed logins are
 * counted in login_throttle under three keys:
 *   "acct:<address>:<username>"  a name guessed at from one address: after
 *                                account_after failures, 429 for 30 s,
 *                                doubling up to 15 min;
 *   "addr:<address>"             everything from one address: after
 *                                address_after failures (an office behind
 *                                one NAT address has many users), 429 for
 *                                60 s, doubling up to 15 min;
 *   "global"                     failures per minute platform-wide: past
 *                                global_per_minute, addresses that failed
 *                                in the window wait out the minute, while
 *                                an address that has not failed still gets
 *                                in.
 * The right password from an address that is not throttled always works.
 * The decision is taken, and the attempt reserved as a failure, in one
 * write transaction before the password is checked: of 16 concurrent
 * guesses from one address exactly account_after are checked.  A success
 * takes its reservation back.  An unknown or disabled user name goes
 * through the same steps, the same transactions and an argon2id check of
 * the same cost, so neither the status nor the time tells which accounts
 * exist.  Password checks (64 MiB of memory each) run at most
 * HASH_SLOTS at a time, with a short queue behind them; past it the answer
 * is 503 with Retry-After, so a login flood cannot exhaust memory or every
 * worker thread.
 */
#include "auth.h"
#include "../core/util.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

yj_auth_config yj_auth_cfg = {
    .idle_seconds = 2 * 3600,
    .absolute_seconds = 12 * 3600,
    .account_after = 5,
    .address_after = 20,
    .global_per_minute = 600,
};

/* Refresh last_seen at most this often, so reads do not become writes. */
#define TOUCH_INTERVAL_MS 30000
/* Failures are counted over this window from the first. */
#define WINDOW_MS  (15 * 60 * 1000LL)
#define MAX_WAIT_S (15 * 60)

/* ---- the password-check slots ---------------------------------------------------- */

#define HASH_SLOTS 2
#define HASH_QUEUE 4 /* waiting for a slot at most; more: 503 */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running, waiting;
} slots = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static bool slot_take(void)
{
    pthread_mutex_lock(&slots.mu);
    if (slots.running >= HASH_SLOTS && slots.waiting >= HASH_QUEUE) {
        pthread_mutex_unlock(&slots.mu);
        return false;
    }
    slots.waiting++;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    int rc = 0;
    while (slots.running >= HASH_SLOTS && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&slots.cv, &slots.mu, &until);
    slots.waiting--;
    bool got = slots.running < HASH_SLOTS;
    if (got)
        slots.running++;
    pthread_mutex_unlock(&slots.mu);
    return got;
}

static void slot_give(void)
{
    pthread_mutex_lock(&slots.mu);
    slots.running--;
    pthread_cond_signal(&slots.cv);
    pthread_mutex_unlock(&slots.mu);
}

/* The check an unknown user name gets: the same argon2id cost. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static void dummy_make(void)
{
    if (crypto_pwhash_str(dummy_hash, "yingji-dummy-password", 21,
                          crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        dummy_hash[0] = '\0';
}

static bool dummy_verify(const char *password)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, dummy_make);
    /* the result is thrown away: never a login, whatever the password */
    if (dummy_hash[0] && crypto_pwhash_str_verify(dummy_hash, password, strlen(password)) == 0)
        return false;
    return false;
}

/* ---- the throttle ---------------------------------------------------------------------- */

typedef struct {
    const char *key;
    int after;     /* failures before it waits */
    int base_s;    /* the first wait */
    int failures;  /* in the window, this attempt included once reserved */
    int64_t first; /* the window's start */
    int64_t blocked_until;
} counter;

/* Read the counter and hold its row until the transaction ends: the row is
 * made (zero) if it is new, and the upsert's row lock makes two nodes'
 * attempts on the same key take turns (SQLite's write lock already does). */
static yj_code counter_load(yj_conn *c, counter *k, int64_t now, int64_t window, yj_err *err)
{
    yj_stmt *st = yj_prepare(c,
                             "INSERT INTO login_throttle (key, failures, first_at, blocked_until)"
                             " VALUES (?, 0, ?, 0) ON CONFLICT (key) DO UPDATE SET"
                             " failures = login_throttle.failures"
                             " RETURNING failures, first_at, blocked_until",
                             err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_text(st, 1, k->key);
    yj_bind_int(st, 2, now);
    int r = yj_step(st, err);
    if (r == 1 && yj_col_int(st, 1) + window > now) {
        k->failures = (int)yj_col_int(st, 0);
        k->first = yj_col_int(st, 1);
        k->blocked_until = yj_col_int(st, 2);
    } else { /* new, or the window has passed: counting starts again */
        k->failures = 0;
        k->first = now;
        k->blocked_until = r == 1 ? yj_col_int(st, 2) : 0;
    }
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

static yj_code counter_save(yj_conn *c, const counter *k, yj_err *err)
{
    yj_stmt *st = yj_prepare(c,
                             "UPDATE login_throttle SET failures = ?, first_at = ?,"
                             " blocked_until = ? WHERE key = ?",
                             err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_int(st, 1, k->failures);
    yj_bind_int(st, 2, k->first);
    yj_bind_int(st, 3, k->blocked_until);
    yj_bind_text(st, 4, k->key);
    int r = yj_step(st, err);
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

/* One more failure reserved; past `after`, a wait doubling from base_s. */
static void counter_fail(counter *k, int64_t now)
{
    k->failures++;
    if (k->after > 0 && k->failures >= k->after) {
        int64_t secs = k->base_s;
        for (int i = k->after; i < k->failures && secs < MAX_WAIT_S; i++)
            secs *= 2;
        if (secs > MAX_WAIT_S)
            secs = MAX_WAIT_S;
        k->blocked_until = now + secs * 1000;
    }
}

typedef struct {
    char acct_key[200], addr_key[80];
    counter acct, addr, global;
} throttle;

static void throttle_init(throttle *t, const char *address, const char *username)
{
    snprintf(t->acct_key, sizeof t->acct_key, "acct:%.64s:%.120s", address, username);
    snprintf(t->addr_key, sizeof t->addr_key, "addr:%.64s", address);
    t->acct = (counter){.key = t->acct_key, .after = yj_auth_cfg.account_after, .base_s = 30};
    t->addr = (counter){.key = t->addr_key, .after = yj_auth_cfg.address_after, .base_s = 60};
    t->global = (counter){.key = "global"};
}

/* Inside the transaction: may this attempt go ahead?  If so it is reserved
 * as a failure (the password check that follows may take it back).
 * *wait_s > 0: no, try again after that many seconds. */
static yj_code throttle_reserve(yj_conn *c, throttle *t, int64_t now, int *wait_s, yj_err *err)
{
    *wait_s = 0;
    yj_code rc = counter_load(c, &t->acct, now, WINDOW_MS, err);
    if (rc == YJ_OK)
        rc = counter_load(c, &t->addr, now, WINDOW_MS, err);
    if (rc == YJ_OK)
        rc = counter_load(c, &t->global, now, 60000, err);
    if (rc != YJ_OK)
        return rc;
    int64_t until = t->acct.blocked_until > t->addr.blocked_until ? t->acct.blocked_until
                                                                  : t->addr.blocked_until;
    /* a flood from everywhere: those that have failed wait out the minute */
    if (yj_auth_cfg.global_per_minute > 0 && t->global.failures >= yj_auth_cfg.global_per_minute &&
        t->addr.failures > 0 && t->global.first + 60000 > until)
        until = t->global.first + 60000;
    if (until > now) {
        *wait_s = (int)((until - now + 999) / 1000);
        return YJ_OK;
    }
    counter_fail(&t->acct, now);
    counter_fail(&t->addr, now);
    counter_fail(&t->global, now);
    rc = counter_save(c, &t->acct, err);
    if (rc == YJ_OK)
        rc = counter_save(c, &t->addr, err);
    if (rc == YJ_OK)
        rc = counter_save(c, &t->global, err);
    return rc;
}

/* The reservation taken back: after a success (the name is no longer
 * being guessed at from there: its count goes), or when the password could
 * not be checked at all (busy: nothing was tried, so nothing counts). */
static yj_code throttle_release(yj_conn *c, throttle *t, bool success, yj_err *err)
{
    yj_stmt *st = yj_prepare(c,
                             success ? "DELETE FROM login_throttle WHERE key = ?"
                                     : "UPDATE login_throttle SET failures = failures - 1,"
                                       " blocked_until = 0 WHERE key = ? AND failures > 0",
                             err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_text(st, 1, t->acct_key);
    int r = yj_step(st, err);
    yj_stmt_done(st);
    if (r < 0)
        return yj_fail(err);
    st = yj_prepare(c,
                    success ? "UPDATE login_throttle SET failures = failures - 1"
                              " WHERE key IN (?, 'global') AND failures > 0"
                            : "UPDATE login_throttle SET failures = failures - 1, blocked_until ="
                              " CASE WHEN key = 'global' THEN blocked_until ELSE 0 END"
                              " WHERE key IN (?, 'global') AND failures > 0",
                    err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_text(st, 1, t->addr_key);
    r = yj_step(st, err);
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

/* ---- sessions ------------------------------------------------------------------------ */

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
        return yj_fail(err);
    yj_bind_text(st, 1, token_hash);
    yj_bind_int(st, 2, user_id);
    yj_bind_text(st, 3, out->csrf);
    yj_bind_int(st, 4, now);
    yj_bind_int(st, 5, now);
    yj_bind_int(st, 6, out->expires_ms);
    int r = yj_step(st, err);
    yj_stmt_done(st);
    if (r < 0)
        return yj_fail(err);
    /* Housekeeping: drop this user's expired sessions. */
    st = yj_prepare(c, "DELETE FROM sessions WHERE user_id = ? AND expires_ms < ?", err);
    if (st == NULL)
        return yj_fail(err);
    yj_bind_int(st, 1, user_id);
    yj_bind_int(st, 2, now);
    r = yj_step(st, err);
    yj_stmt_done(st);
    return r < 0 ? yj_fail(err) : YJ_OK;
}

static yj_code wrong(yj_err *err)
{
    return yj_err_set(err, YJ_EAUTH, NULL, "用户名或密码错误");
}

yj_code auth_login(yj_store *s, const char *username, const char *password, const char *address,
                   yj_session *out, int *retry_after, yj_err *err)
{
    memset(out, 0, sizeof *out);
    *retry_after = 0;
    if (username == NULL || password == NULL || username[0] == '\0' || strlen(username) > 120 ||
        strlen(password) > 256)
        return wrong(err);
    if (address == NULL || address[0] == '\0')
        address = "-";
    /* 1. decide and reserve, and read the account, in one transaction */
    throttle t;
    throttle_init(&t, address, username);
    int64_t now = yj_now_ms();
    yj_conn *c = yj_store_acquire(s);
    int wait_s = 0;
    int64_t id = 0;
    bool disabled = true;
    char hash[crypto_pwhash_STRBYTES] = "";
    yj_code rc = yj_tx_begin(c, err);
    if (rc == YJ_OK)
        rc = throttle_reserve(c, &t, now, &wait_s, err);
    if (rc == YJ_OK && wait_s == 0) {
        yj_stmt *st =
            yj_prepare(c, "SELECT id, password_hash, disabled FROM users WHERE username = ?", err);
        if (st == NULL)
            rc = yj_fail(err);
        else {
            yj_bind_text(st, 1, username);
            int r = yj_step(st, err);
            if (r == 1) {
                id = yj_col_int(st, 0);
                snprintf(hash, sizeof hash, "%s", yj_col_text(st, 1));
                disabled = yj_col_int(st, 2) != 0;
            }
            yj_stmt_done(st);
            if (r < 0)
                rc = yj_fail(err);
        }
    }
    if (rc == YJ_OK && wait_s == 0)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    yj_store_release(s, c);
    if (rc != YJ_OK)
        return rc;
    if (wait_s > 0) {
        *retry_after = wait_s;
        return yj_err_set(err, YJ_ELOCKED, NULL, "登录失败次数过多，请 %d 秒后再试", wait_s);
    }
    /* 2. the password, outside any transaction (argon2id: ~100 ms, 64 MiB),
     * HASH_SLOTS at a time */
    if (!slot_take()) {
        c = yj_store_acquire(s);
        rc = yj_tx_begin(c, err);
        if (rc == YJ_OK)
            rc = throttle_release(c, &t, false, err);
        if (rc == YJ_OK)
            rc = yj_tx_commit(c, err);
        else
            yj_tx_rollback(c);
        yj_store_release(s, c);
        *retry_after = 1;
        return rc != YJ_OK ? rc : yj_err_set(err, YJ_EBUSY, NULL, "登录请求过多，请稍后再试");
    }
    bool ok = id && !disabled ? crypto_pwhash_str_verify(hash, password, strlen(password)) == 0
                              : dummy_verify(password);
    slot_give();
    if (!ok)
        return wrong(err); /* the reservation stands as the failure */
    /* 3. the session, the reservation taken back, the audit entry */
    c = yj_store_acquire(s);
    rc = yj_tx_begin(c, err);
    if (rc == YJ_OK)
        rc = throttle_release(c, &t, true, err);
    if (rc == YJ_OK)
        rc = create_session(c, id, now, out, err);
    if (rc == YJ_OK)
        rc = user_load(c, id, &out->user, err);
    if (rc == YJ_OK) {
        json_t *after = json_pack("{s:s,s:s}", "address", address, "region_code", out->user.region);
        rc = audit_append(c, username, "login", "session", id, NULL, after, err);
        json_decref(after);
    }
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    yj_store_release(s, c);
    if (rc != YJ_OK)
        memset(out, 0, sizeof *out);
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
        return yj_fail(err);
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
        rc = yj_fail(err);
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

yj_code auth_logout(yj_store *s, const yj_session *sess, yj_err *err)
{
    const char *token = sess ? sess->token : NULL;
    if (token == NULL || strlen(token) != 64)
        return yj_err_set(err, YJ_EAUTH, NULL, "未登录");
    char token_hash[65];
    yj_sha256_hex(token, 64, token_hash);
    yj_conn *c = yj_store_acquire(s);
    yj_code rc = yj_tx_begin(c, err);
    yj_stmt *st =
        rc == YJ_OK ? yj_prepare(c, "DELETE FROM sessions WHERE token_hash = ?", err) : NULL;
    if (rc == YJ_OK && st == NULL)
        rc = yj_fail(err);
    int64_t gone = 0;
    if (st) {
        yj_bind_text(st, 1, token_hash);
        if (yj_step(st, err) < 0)
            rc = yj_fail(err);
        gone = yj_stmt_changes(st);
        yj_stmt_done(st);
    }
    if (rc == YJ_OK && gone) {
        json_t *before = json_pack("{s:s}", "region_code", sess->user.region);
        rc = audit_append(c, sess->user.username, "logout", "session", sess->user.id, before, NULL,
                          err);
        json_decref(before);
    }
    if (rc == YJ_OK)
        rc = yj_tx_commit(c, err);
    else
        yj_tx_rollback(c);
    yj_store_release(s, c);
    return rc;
}
