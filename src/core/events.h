/*
 * events.h — a process-wide publish/subscribe hook.
 *
 * Modules publish what happened ("record" + JSON) without knowing who
 * listens; the HTTP layer subscribes and forwards events to browsers over
 * Server-Sent Events.  Subscribers are registered once at start (main).
 */
#ifndef YJ_EVENTS_H
#define YJ_EVENTS_H

#include <jansson.h>

/* region: the region code the event belongs to (used to filter per user). */
typedef void (*yj_event_fn)(const char *type, const char *region, const json_t *data, void *ctx);

void yj_events_subscribe(yj_event_fn fn, void *ctx);
void yj_events_publish(const char *type, const char *region, const json_t *data);

#endif
