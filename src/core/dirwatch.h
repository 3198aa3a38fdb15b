/*
 * dirwatch.h — a drop directory: files put into DIR are handed, one at a
 * time, to a function, then moved to DIR/done/ (with FILE.report.json) or
 * DIR/failed/, or left for the next pass.
 *
 * A file is taken once it has not changed for 2 seconds; names starting
 * with '.' or ending in .tmp / .part are still being copied in and are
 * left alone.  The directory is looked at every 2 seconds by one thread.
 */
#ifndef YJ_DIRWATCH_H
#define YJ_DIRWATCH_H

#include "err.h"

#include <jansson.h>
#include <stddef.h>

typedef enum {
    DW_DONE,   /* handled: to done/ with the report */
    DW_FAILED, /* the file itself is unusable: to failed/ with the reason */
    DW_RETRY,  /* something else went wrong (the store): leave it */
} dw_result;

/* *report (new reference, may stay NULL) is written beside the file. */
typedef dw_result (*dw_fn)(const char *path, json_t **report, char *why, size_t nwhy, void *ctx);

typedef struct dirwatch dirwatch;

/* Start watching dir (done/ and failed/ are made below it). */
dirwatch *dirwatch_start(const char *dir, const char *name, dw_fn fn, void *ctx, yj_err *err);
void dirwatch_stop(dirwatch *w);

#endif
