/* events.c — publish/subscribe hook (see events.h).  Subscriptions happen
 * before any thread starts, so publishing needs no lock. */
#include "events.h"

#define MAX_SUBSCRIBERS 8

static struct {
    yj_event_fn fn;
    void *ctx;
} subscribers[MAX_SUBSCRIBERS];
static int nsubscribers;

void yj_events_subscribe(yj_event_fn fn, void *ctx)
{
    if (nsubscribers < MAX_SUBSCRIBERS) {
        subscribers[nsubscribers].fn = fn;
        subscribers[nsubscribers].ctx = ctx;
        nsubscribers++;
    }
}

void yj_events_publish(const char *type, const char *region, const json_t *data)
{
    for (int i = 0; i < nsubscribers; i++)
        subscribers[i].fn(type, region, data, subscribers[i].ctx);
}
