/*
 * kj.h — coal-mine networked safety-monitoring files (煤矿安全监控系统联网
 * 数据文件), in the MT/T 1116 / AQ 6201 style that KJ monitoring systems
 * (KJ 系统) upload.
 *
 * A file holds one or more batches.  Each batch starts with the header
 * `KJ;<table>|`, then records whose fields are separated by `;` and each
 * ended by `~`; the batch ends with `‖` (U+2016: UTF-8 E2 80 96, GBK A1 AC; see
 * docs/kj-format.md).  The text is UTF-8 or GBK (detected, converted to
 * UTF-8).  Tables:
 *   AQMC  analog point definitions  (模拟量测点定义)
 *   AQKC  switch point definitions  (开关量测点定义)
 *   AQSS  real-time values          (实时数据)
 *   AQKD  switch state changes      (开关量状态变化)
 *   AQMT  5-minute statistics       (5分钟统计)
 * The field order of each table is written down in docs/kj-format.md.
 *
 * kj_parse() never fails on bad content: every record it cannot use becomes
 * a kj_reject with a stable reason code and a Chinese detail; whole-batch
 * problems (missing terminator, unknown table) reject the batch's records.
 * It fails (returns non-OK) only when out of memory (YJ_EINTERNAL) or when
 * the input is over 1 GiB (YJ_ETOOBIG).
 *
 * Memory: the records (about 430 bytes each) plus at most KJ_MAX_REJECTS
 * rejects; further rejects are only counted (kj_file.unlisted).
 */
#ifndef YJ_KJ_H
#define YJ_KJ_H

#include "../core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KJ_MAX_RECORD_BYTES 4096 /* a longer record (between two `~`) is rejected "too_long" */
#define KJ_MAX_REJECTS      1000 /* rejects listed in kj_file.rejects; more are only counted */

typedef enum { KJ_AQMC, KJ_AQKC, KJ_AQSS, KJ_AQKD, KJ_AQMT, KJ_TABLE_COUNT } kj_table;

typedef struct {
    kj_table table;
    int batch;      /* 1-based batch number in the file */
    int index;      /* 1-based record number within the batch */
    char mine[32];  /* 煤矿编码 mine code */
    char point[48]; /* 测点编号 point code (unique within the mine) */
    int64_t ts;     /* record time, Unix seconds (file times are Beijing time, +08:00) */
    /* AQSS: value and state; AQKD: state (0/1), value = state; NAN when not set */
    double value;
    int state; /* AQSS: 测点状态 status code (0..65535); AQKD: switch state 0/1 */
    /* AQMC / AQKC definitions */
    char location[128]; /* 安装地点 */
    char type[32];      /* 传感器类型 sensor type as written in the file (e.g. "甲烷") */
    char unit[16];      /* 单位 */
    double range_lo, range_hi;   /* 量程 */
    double alarm_hi, alarm_lo;   /* 报警上限/下限 (NAN when blank) */
    double cut_hi, restore_hi;   /* 断电值/复电值 (NAN when blank) */
    char state0[32], state1[32]; /* AQKC: names of state 0 / 1 */
    /* AQMT statistics */
    double max, min, avg;
    int64_t max_ts;
} kj_record;

typedef struct {
    kj_table table;     /* KJ_TABLE_COUNT when the header could not be read */
    int batch, index;   /* index 0: the whole batch */
    const char *reason; /* stable code: "truncated", "bad_header", "unknown_table",
                           "field_count", "bad_number", "bad_time", "bad_encoding",
                           "empty_field", "too_long" */
    char detail[160];   /* Chinese explanation for people */
    size_t count;       /* records this reject stands for: 1 for a record; for a whole
                           batch the records it held, at least 1 */
} kj_reject;

typedef struct {
    kj_record *recs;
    size_t nrecs;
    kj_reject *rejects;
    size_t nrejects;
    int batches;     /* batches seen */
    bool gbk;        /* the input was GBK */
    char mine[32];   /* mine code of the first record, for reports */
    size_t rejected; /* records rejected in all: the sum of count over every reject,
                        listed or not */
    size_t unlisted; /* rejects beyond KJ_MAX_REJECTS, counted in rejected only */
} kj_file;

/* Parse a whole file held in memory.  YJ_OK unless out of memory or over 1 GiB;
 * on failure *out is empty.  Free with kj_file_free() either way. */
yj_code kj_parse(const char *data, size_t len, kj_file *out, yj_err *err);
void kj_file_free(kj_file *f);
const char *kj_table_name(kj_table t);

#endif
