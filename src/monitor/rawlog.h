/*
 * rawlog.h — where the ingest writer puts raw readings (private to
 * src/monitor; see rawlog.c for the design).
 *
 * Every function is called from one thread at a time: the ingest writer
 * (ingest.c), or the loading thread before the writer starts.  Other
 * threads read the tables through SQL (series.c takes the union of
 * `reading` and `reading_log`) and the counters through mon_raw_metrics().
 */
#ifndef YJ_MONITOR_RAWLOG_H
#define YJ_MONITOR_RAWLOG_H

#include "../core/buf.h"
#include "../core/err.h"
#include "../store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Forget what is in memory and read the log back (start, or after a failed
 * commit left memory ahead of the store). */
yj_code mon_raw_load(yj_conn *c, yj_err *err);
void mon_raw_free(void);
/* Adopt the unmerged rows of nodes that died (rawlog.c): at most every few
 * seconds, or now. */
yj_code mon_raw_adopt(yj_store *s, yj_conn *c, bool now, yj_err *err);

/* Every reading held in memory (the unmerged log), in arrival order. */
typedef void (*mon_raw_fn)(int64_t sensor_id, int64_t ts, double value, int64_t rx, void *ctx);
void mon_raw_each(mon_raw_fn fn, void *ctx);

/* Appending, inside the caller's write transaction:
 *   mon_raw_begin()   prepares the statement and remembers where memory was;
 *   mon_raw_exists()  is (sensor, ts) stored already — in the log, in memory,
 *                     or in the history table;
 *   mon_raw_append()  writes one reading to the log (and to memory);
 *   mon_raw_end()     after COMMIT (ok = true) keeps what was appended; after
 *                     a rollback (ok = false) forgets it. */
yj_code mon_raw_begin(yj_conn *c, yj_err *err);
yj_code mon_raw_exists(yj_conn *c, int64_t sensor_id, int64_t ts, bool *out, yj_err *err);
yj_code mon_raw_append(int64_t sensor_id, int64_t ts, double value, int64_t rx, int flags,
                       yj_err *err);
void mon_raw_end(bool ok);

/* One bounded step of merge work (one transaction of at most a chunk of
 * rows); *done = rows handled, 0 when nothing was due.  force: start a
 * merge of whatever is in the log even if it is not due yet. */
yj_code mon_raw_merge_step(yj_conn *c, bool force, size_t *done, yj_err *err);
/* Merge everything in the log now (test clock ticks, shutdown). */
yj_code mon_raw_flush(yj_conn *c, yj_err *err);
/* A merge has started and has chunks left. */
bool mon_raw_merging(void);
/* Readings in the log not yet merged. */
size_t mon_raw_pending(void);

/* Prometheus lines: log size, merges, rows merged. */
void mon_raw_metrics(yj_buf *out);

#endif
