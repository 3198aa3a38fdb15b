/*
 * relay.h — live events across the nodes on one database (relay.c).
 */
#ifndef YJ_RELAY_H
#define YJ_RELAY_H

#include "../core/err.h"
#include "../store/store.h"

/* Subscribe to this node's events and start handing on the other nodes'
 * (before any other thread starts).  Nothing to do where the store has no
 * messages between processes (SQLite). */
yj_code relay_start(yj_store *s, yj_err *err);
void relay_stop(void);

#endif
