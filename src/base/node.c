/*
 * node.c — several `yingji serve` processes on one database (PostgreSQL),
 * each a node with a name (`serve --node`, default the host name).
 *
 * A node's name is its own for as long as its process lives: it holds a
 * named lock on the database (store.h yj_store_lock: a PostgreSQL advisory
 * lock on a session of its own; for SQLite a file lock), which the server
 * releases when the process dies, kill -9 included.  So:
 *   - two live processes can never be the same node (the second refuses
 *     to start);
 *   - a node that restarts knows that what its previous life left (outbox
 *     rows "sending") is dead, and recovers it at once;
 *   - another node can tell that a node is gone (its lock is free) and
 *     recover what it left, holding that lock meanwhile so the dead
 *     node, restarting, waits instead of recovering the same rows twice.
 * Timers that must run once across the nodes take a lease (sched.c).
 */
#include "node.h"
#include "../core/util.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static struct {
    char name[64];
    yj_lock *lock;
} N;

static void lock_key(char *out, size_t n, const char *name)
{
    snprintf(out, n, "node-%s", name);
}

yj_code node_join(yj_store *s, const char *name, int wait_ms, yj_err *err)
{
    if (name == NULL || *name == '\0' || strlen(name) >= sizeof N.name)
        return yj_err_set(err, YJ_EINVAL, "--node", "a node name of 1 to %zu characters",
                          sizeof N.name - 1);
    char key[96];
    lock_key(key, sizeof key, name);
    for (int waited = 0;; waited += 100) {
        N.lock = yj_store_lock(s, key, err);
        if (N.lock)
            break;
        if (err->code != YJ_EBUSY || waited >= wait_ms)
            return err->code == YJ_EBUSY
                       ? yj_err_set(err, YJ_EBUSY, "--node",
                                    "node %s is running already on this database; give each"
                                    " node its own --node name",
                                    name)
                       : err->code;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    snprintf(N.name, sizeof N.name, "%s", name);
    return YJ_OK;
}

void node_leave(void)
{
    yj_store_unlock(N.lock);
    N.lock = NULL;
    N.name[0] = '\0';
}

const char *node_name(void)
{
    return N.name;
}

yj_lock *node_take_dead(yj_store *s, const char *name)
{
    if (strcmp(name, N.name) == 0)
        return NULL; /* alive: it is this process */
    char key[96];
    lock_key(key, sizeof key, name);
    yj_err err;
    return yj_store_lock(s, key, &err);
}

void node_release(yj_lock *l)
{
    yj_store_unlock(l);
}
