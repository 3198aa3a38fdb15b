/*
 * sched.h — the one scheduler of every module's timers (sched.c).
 */
#ifndef YJ_SCHED_H
#define YJ_SCHED_H

#include "../core/err.h"
#include "../store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Collect the timers; with thread, run them on their periods until
 * sched_stop() (serve); without (serve --test-hooks), only sched_run_now. */
yj_code sched_start(yj_store *s, bool thread, yj_err *err);
void sched_stop(void);
/* Run now, at the platform's clock, every timer (nonly 0) or those named
 * (a timer's name, or a module's: all of its timers), in module order;
 * *ran: their names.  YJ_EINVAL for a name no timer has. */
yj_code sched_run_now(const char *const *only, size_t nonly, json_t **ran, yj_err *err);

#endif
