/*
 * cap.h — OASIS Common Alerting Protocol (CAP) messages: read, validate,
 * write; and the Chinese profile GB/T 35965.1-2018 (应急信息交互协议 第1部分：
 * 预警信息).
 *
 * Reading (cap_read) is safe on hostile input: no DTD, no entity, no
 * external resource is ever loaded (a message with a DOCTYPE is refused),
 * and the size is bounded.  A message is checked in three layers, and the
 * first problem found is reported as (element, rule) in a yj_err (field =
 * the element's local name, message = the rule):
 *   1. well-formed XML whose root is a CAP 1.0, 1.1 or 1.2 <alert>;
 *   2. the official OASIS schema of its version (embedded in the binary);
 *   3. the rules the schema cannot express (CAP 1.2 §3.2–3.3): identifier
 *      and sender without spaces, commas, '<' or '&'; references as
 *      space-separated sender,identifier,sent triples; restriction only
 *      with scope Restricted (and required by it), addresses required by
 *      scope Private; polygons closed with >= 4 points; circles as
 *      "lat,lon radius"; date-times with an explicit offset, no "Z", no
 *      fractional seconds; no HTML in text fields; ceiling needs altitude;
 *   and, when asked for or when the message claims it (a <code> naming
 *   GB/T 35965.1-2018), the Chinese profile: identifier
 *   ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N (31 characters), sender = its first 14
 *   (the issuing unit's code, starting with a GB/T 2260 region code),
 *   every date-time in Beijing time (+08:00).
 */
#ifndef YJ_WARNING_CAP_H
#define YJ_WARNING_CAP_H

#include "../core/buf.h"
#include "../core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAP_MAX_BYTES (2u << 20) /* a CAP message larger than 2 MiB is refused */
#define CAP_NS_12     "urn:oasis:names:tc:emergency:cap:1.2"
#define CAP_GBT_CODE  "GB/T 35965.1-2018" /* the <code> a message claims the profile with */

enum {
    CAP_PROFILE_GBT35965 = 1u << 0, /* check the Chinese profile even if not claimed */
};

typedef struct {
    char *name, *value;
} cap_pair;

typedef struct {
    double (*pts)[2]; /* lat, lon (WGS 84) */
    size_t n;
} cap_polygon;

typedef struct {
    double lat, lon, radius_km;
} cap_circle;

typedef struct {
    char *desc;
    cap_polygon *polygons;
    size_t npolygons;
    cap_circle *circles;
    size_t ncircles;
    cap_pair *geocodes;
    size_t ngeocodes;
    char *altitude, *ceiling;
} cap_area;

typedef struct {
    char *desc, *mime_type, *size, *uri, *digest;
} cap_resource;

typedef struct {
    char *language;
    char **categories;
    size_t ncategories;
    char *event;
    char **response_types;
    size_t nresponse_types;
    char *urgency, *severity, *certainty, *audience;
    cap_pair *event_codes;
    size_t nevent_codes;
    char *effective, *onset, *expires;
    char *sender_name, *headline, *description, *instruction, *web, *contact;
    cap_pair *parameters;
    size_t nparameters;
    cap_resource *resources;
    size_t nresources;
    cap_area *areas;
    size_t nareas;
} cap_info;

typedef struct cap_arena cap_arena;

typedef struct {
    int version; /* 10, 11 or 12 */
    char *identifier, *sender, *sent, *status, *msg_type, *source, *scope;
    char *restriction, *addresses, *note, *references, *incidents;
    char **codes;
    size_t ncodes;
    cap_info *infos;
    size_t ninfos;
    cap_arena *arena; /* owns every string and array above */
} cap_alert;

/* Once per process, before any thread reads CAP: parses the embedded
 * schemas and installs an external-entity loader that refuses everything. */
yj_code cap_init(yj_err *err);

/* Read and check one message.  On success *out is the alert (free with
 * cap_alert_free); on failure err names the element and the rule. */
yj_code cap_read(const char *data, size_t len, unsigned flags, cap_alert **out, yj_err *err);
void cap_alert_free(cap_alert *a);

/* An empty alert to fill in for writing (strings via cap_strdup). */
cap_alert *cap_alert_new(void);
char *cap_strdup(cap_alert *a, const char *s);
void *cap_alloc(cap_alert *a, size_t n); /* zeroed, owned by the alert */

/* The semantic rules (layer 3) and the profile, on a filled-in alert: what
 * cap_read applies after the schema, and what the platform checks before
 * it writes a message of its own. */
yj_code cap_check(const cap_alert *a, unsigned flags, yj_err *err);
bool cap_claims_gbt(const cap_alert *a);

/* CAP 1.2 XML (UTF-8, in schema order, text escaped) appended to out. */
void cap_write(const cap_alert *a, yj_buf *out);

/* "YYYY-MM-DDThh:mm:ss+08:00" for a time in ms since the epoch (Beijing
 * time, as the profile requires); buf needs 26 bytes. */
void cap_time_beijing(int64_t ms, char *buf, size_t n);
/* A CAP date-time to ms since the epoch; false if it is not one (offset
 * required, no "Z", no fractional seconds). */
bool cap_time_parse(const char *s, int64_t *ms);

/* The profile's identifier for a message from unit `sender14` (the 14-digit
 * ZZZZZZDDDUUUXX) entered at `ms`, sequence 0..9; buf needs 32 bytes. */
void cap_gbt_identifier(const char *sender14, int64_t ms, int seq, char *buf, size_t n);

#endif
