/*
 * node.h — this process as one node of several `yingji serve` on one
 * database (node.c).
 */
#ifndef YJ_NODE_H
#define YJ_NODE_H

#include "../core/err.h"
#include "../store/store.h"

#include <stdbool.h>

/* Become the node `name`: hold its lock on the database for as long as the
 * process lives (waiting up to wait_ms for a previous holder — a node
 * being recovered by another — to let go).  YJ_EBUSY: a live process is
 * that node already. */
yj_code node_join(yj_store *s, const char *name, int wait_ms, yj_err *err);
void node_leave(void);
/* This node's name; "" when the process is no node (a CLI command). */
const char *node_name(void);
/* Hold the lock of node `name` while recovering what it left: NULL when it
 * is alive (its process holds it) — release with node_release(). */
yj_lock *node_take_dead(yj_store *s, const char *name);
void node_release(yj_lock *l);

#endif
