/*
 * cap.c — CAP messages: the safe reader, the three layers of checks
 * (well-formedness, the official OASIS schema of the message's version,
 * the semantic rules and the GB/T 35965.1 profile), and the writer.
 * See cap.h for the rules themselves.
 *
 * Safety: libxml2 is never asked to load anything.  The reader does not
 * pass XML_PARSE_NOENT, XML_PARSE_DTDLOAD or XML_PARSE_XINCLUDE, passes
 * XML_PARSE_NONET, installs an external-entity loader that refuses every
 * resource (so even a libxml2 code path we did not foresee cannot fetch a
 * file or a URL), and refuses any document that has a DOCTYPE at all: CAP
 * needs none, and a DOCTYPE is how entity attacks (xee.cap) begin.
 *
 * The schemas (OASIS CAP 1.0, 1.1, 1.2, from data/cap/) are compiled into
 * the binary (build/gen/cap_schemas.c) and parsed once by cap_init().
 */
#include "cap.h"

#include <ctype.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* build/gen/cap_schemas.c */
extern const unsigned char yj_cap10_xsd[], yj_cap11_xsd[], yj_cap12_xsd[];
extern const size_t yj_cap10_xsd_len, yj_cap11_xsd_len, yj_cap12_xsd_len;

static const struct {
    int version;
    const char *ns;
    const unsigned char *xsd;
    const size_t *len;
} versions[] = {
    {12, CAP_NS_12, yj_cap12_xsd, &yj_cap12_xsd_len},
    {11, "urn:oasis:names:tc:emergency:cap:1.1", yj_cap11_xsd, &yj_cap11_xsd_len},
    {10, "http://www.incident.com/cap/1.0", yj_cap10_xsd, &yj_cap10_xsd_len},
};
#define NVERSIONS (sizeof versions / sizeof versions[0])

static xmlSchemaPtr schemas[NVERSIONS];
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static yj_err init_err;

/* ---- arena: every string and array of an alert ------------------------------- */

struct cap_arena {
    struct cap_arena *next;
    size_t used, cap;
    max_align_t data[];
};

void *cap_alloc(cap_alert *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    cap_arena *b = a->arena;
    if (b == NULL || b->cap - b->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        cap_arena *nb = malloc(sizeof *nb + cap);
        if (nb == NULL)
            abort(); /* out of memory on a bounded message: nothing sensible to do */
        nb->next = b;
        nb->used = 0;
        nb->cap = cap;
        a->arena = b = nb;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *cap_strdup(cap_alert *a, const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = cap_alloc(a, n);
    memcpy(p, s, n);
    return p;
}

cap_alert *cap_alert_new(void)
{
    cap_alert *a = calloc(1, sizeof *a);
    if (a == NULL)
        abort();
    a->version = 12;
    return a;
}

void cap_alert_free(cap_alert *a)
{
    if (a == NULL)
        return;
    for (cap_arena *b = a->arena, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

/* ---- init ---------------------------------------------------------------------- */

static xmlParserInputPtr deny_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    (void)id;
    (void)ctxt;
    (void)url;
    return NULL; /* nothing is ever loaded from outside the message */
}

static void quiet_generic(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static void do_init(void)
{
    xmlInitParser();
    xmlSetExternalEntityLoader(deny_loader);
    xmlSetGenericErrorFunc(NULL, quiet_generic);
    for (size_t i = 0; i < NVERSIONS; i++) {
        xmlSchemaParserCtxtPtr pc =
            xmlSchemaNewMemParserCtxt((const char *)versions[i].xsd, (int)*versions[i].len);
        if (pc == NULL) {
            yj_err_set(&init_err, YJ_EINTERNAL, NULL, "cannot read the CAP %d schema",
                       versions[i].version);
            return;
        }
        xmlSchemaSetParserErrors(pc, quiet_generic, quiet_generic, NULL);
        schemas[i] = xmlSchemaParse(pc);
        xmlSchemaFreeParserCtxt(pc);
        if (schemas[i] == NULL) {
            yj_err_set(&init_err, YJ_EINTERNAL, NULL, "the CAP %d schema does not compile",
                       versions[i].version);
            return;
        }
    }
}

yj_code cap_init(yj_err *err)
{
    pthread_once(&init_once, do_init);
    if (init_err.code != YJ_OK) {
        if (err)
            *err = init_err;
        return init_err.code;
    }
    return YJ_OK;
}

/* ---- time -------------------------------------------------------------------------- */

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static int days_in(int y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : d[m - 1];
}

/* y m d h mi s: a real calendar instant? */
static bool valid_ymdhms(int y, int mo, int d, int h, int mi, int s)
{
    return y >= 1900 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 && d <= days_in(y, mo) &&
           h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && s >= 0 && s <= 59;
}

bool cap_time_parse(const char *s, int64_t *ms)
{
    /* YYYY-MM-DDThh:mm:ss+hh:mm, exactly 25 characters */
    if (s == NULL || strlen(s) != 25 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) ||
        s[7] != '-' || !digits(s + 8, 2) || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' ||
        !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2) ||
        (s[19] != '+' && s[19] != '-') || !digits(s + 20, 2) || s[22] != ':' || !digits(s + 23, 2))
        return false;
    int y = atoi(s), mo = atoi(s + 5), d = atoi(s + 8), h = atoi(s + 11), mi = atoi(s + 14),
        se = atoi(s + 17), oh = atoi(s + 20), om = atoi(s + 23);
    if (!valid_ymdhms(y, mo, d, h, mi, se) || oh > 14 || om > 59)
        return false;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = se};
    int64_t t = (int64_t)timegm(&tm);
    int64_t off = (int64_t)(oh * 3600 + om * 60) * (s[19] == '-' ? -1 : 1);
    if (ms)
        *ms = (t - off) * 1000;
    return true;
}

void cap_time_beijing(int64_t ms, char *buf, size_t n)
{
    time_t t = (time_t)(ms / 1000) + 8 * 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d+08:00", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void cap_gbt_identifier(const char *sender14, int64_t ms, int seq, char *buf, size_t n)
{
    time_t t = (time_t)(ms / 1000) + 8 * 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, n, "%.14s_%04d%02d%02d%02d%02d%02d_%d", sender14, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, seq % 10);
}

/* ---- reading: DOM -> alert ---------------------------------------------------------- */

static bool is_el(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static char *text_of(cap_alert *a, xmlNode *n)
{
    xmlChar *c = xmlNodeGetContent(n);
    char *s = cap_strdup(a, c ? (const char *)c : "");
    xmlFree(c);
    /* trim: the schema's xs:string keeps surrounding white space */
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        s[--len] = '\0';
    size_t lead = 0;
    while (isspace((unsigned char)s[lead]))
        lead++;
    return s + lead;
}

static size_t count_children(xmlNode *parent, const char *name)
{
    size_t n = 0;
    for (xmlNode *c = parent->children; c; c = c->next)
        n += is_el(c, name);
    return n;
}

/* name/value pairs (eventCode, parameter, geocode) */
static cap_pair *read_pairs(cap_alert *a, xmlNode *parent, const char *name, size_t *n)
{
    *n = count_children(parent, name);
    cap_pair *p = *n ? cap_alloc(a, *n * sizeof *p) : NULL;
    size_t k = 0;
    for (xmlNode *c = parent->children; c; c = c->next) {
        if (!is_el(c, name))
            continue;
        for (xmlNode *x = c->children; x; x = x->next) {
            if (is_el(x, "valueName"))
                p[k].name = text_of(a, x);
            else if (is_el(x, "value"))
                p[k].value = text_of(a, x);
        }
        k++;
    }
    return p;
}

static char **read_list(cap_alert *a, xmlNode *parent, const char *name, size_t *n)
{
    *n = count_children(parent, name);
    char **v = *n ? cap_alloc(a, *n * sizeof *v) : NULL;
    size_t k = 0;
    for (xmlNode *c = parent->children; c; c = c->next)
        if (is_el(c, name))
            v[k++] = text_of(a, c);
    return v;
}

/* Polygon and circle text are parsed in cap_check (their syntax is a rule);
 * here they are kept as text in a one-point placeholder until then. */
typedef struct {
    char **polygons, **circles;
} area_text;

static void read_area(cap_alert *a, xmlNode *n, cap_area *ar, area_text *t)
{
    size_t np = 0, nc = 0;
    t->polygons = read_list(a, n, "polygon", &np);
    t->circles = read_list(a, n, "circle", &nc);
    ar->npolygons = np;
    ar->ncircles = nc;
    ar->polygons = np ? cap_alloc(a, np * sizeof *ar->polygons) : NULL;
    ar->circles = nc ? cap_alloc(a, nc * sizeof *ar->circles) : NULL;
    ar->geocodes = read_pairs(a, n, "geocode", &ar->ngeocodes);
    for (xmlNode *c = n->children; c; c = c->next) {
        if (is_el(c, "areaDesc"))
            ar->desc = text_of(a, c);
        else if (is_el(c, "altitude"))
            ar->altitude = text_of(a, c);
        else if (is_el(c, "ceiling"))
            ar->ceiling = text_of(a, c);
    }
}

static void read_resource(cap_alert *a, xmlNode *n, cap_resource *r)
{
    for (xmlNode *c = n->children; c; c = c->next) {
        if (is_el(c, "resourceDesc"))
            r->desc = text_of(a, c);
        else if (is_el(c, "mimeType"))
            r->mime_type = text_of(a, c);
        else if (is_el(c, "size"))
            r->size = text_of(a, c);
        else if (is_el(c, "uri"))
            r->uri = text_of(a, c);
        else if (is_el(c, "digest"))
            r->digest = text_of(a, c);
    }
}

static const struct {
    const char *name;
    size_t off;
} info_text[] = {
    {"language", offsetof(cap_info, language)},
    {"event", offsetof(cap_info, event)},
    {"urgency", offsetof(cap_info, urgency)},
    {"severity", offsetof(cap_info, severity)},
    {"certainty", offsetof(cap_info, certainty)},
    {"audience", offsetof(cap_info, audience)},
    {"effective", offsetof(cap_info, effective)},
    {"onset", offsetof(cap_info, onset)},
    {"expires", offsetof(cap_info, expires)},
    {"senderName", offsetof(cap_info, sender_name)},
    {"headline", offsetof(cap_info, headline)},
    {"description", offsetof(cap_info, description)},
    {"instruction", offsetof(cap_info, instruction)},
    {"web", offsetof(cap_info, web)},
    {"contact", offsetof(cap_info, contact)},
};

static const struct {
    const char *name;
    size_t off;
} alert_text[] = {
    {"identifier", offsetof(cap_alert, identifier)},
    {"sender", offsetof(cap_alert, sender)},
    {"sent", offsetof(cap_alert, sent)},
    {"status", offsetof(cap_alert, status)},
    {"msgType", offsetof(cap_alert, msg_type)},
    {"source", offsetof(cap_alert, source)},
    {"scope", offsetof(cap_alert, scope)},
    {"restriction", offsetof(cap_alert, restriction)},
    {"addresses", offsetof(cap_alert, addresses)},
    {"note", offsetof(cap_alert, note)},
    {"references", offsetof(cap_alert, references)},
    {"incidents", offsetof(cap_alert, incidents)},
};

static void read_info(cap_alert *a, xmlNode *n, cap_info *in, area_text **at)
{
    in->categories = read_list(a, n, "category", &in->ncategories);
    in->response_types = read_list(a, n, "responseType", &in->nresponse_types);
    in->event_codes = read_pairs(a, n, "eventCode", &in->nevent_codes);
    in->parameters = read_pairs(a, n, "parameter", &in->nparameters);
    in->nresources = count_children(n, "resource");
    in->resources = in->nresources ? cap_alloc(a, in->nresources * sizeof *in->resources) : NULL;
    in->nareas = count_children(n, "area");
    in->areas = in->nareas ? cap_alloc(a, in->nareas * sizeof *in->areas) : NULL;
    *at = in->nareas ? cap_alloc(a, in->nareas * sizeof **at) : NULL;
    size_t kr = 0, ka = 0;
    for (xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_el(c, "resource")) {
            read_resource(a, c, &in->resources[kr++]);
        } else if (is_el(c, "area")) {
            read_area(a, c, &in->areas[ka], &(*at)[ka]);
            ka++;
        } else {
            for (size_t k = 0; k < sizeof info_text / sizeof info_text[0]; k++)
                if (is_el(c, info_text[k].name))
                    *(char **)(void *)((char *)in + info_text[k].off) = text_of(a, c);
        }
    }
}

/* ---- rules --------------------------------------------------------------------------- */

static yj_code bad(yj_err *err, const char *element, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static yj_code bad(yj_err *err, const char *element, const char *fmt, ...)
{
    if (err == NULL)
        return YJ_EINVAL;
    char msg[sizeof err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return yj_err_set(err, YJ_EINVAL, element, "%s", msg);
}

/* identifier, sender: no white space, commas, '<' or '&' (CAP 1.2 §3.2.1) */
static bool id_ok(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (const char *p = s; *p; p++)
        if (isspace((unsigned char)*p) || *p == ',' || *p == '<' || *p == '&')
            return false;
    return true;
}

/* "sender,identifier,sent" triples separated by white space */
static bool references_ok(const char *s, char *why, size_t n)
{
    char buf[4096];
    if (strlen(s) >= sizeof buf) {
        snprintf(why, n, "too long");
        return false;
    }
    snprintf(buf, sizeof buf, "%s", s);
    int triples = 0;
    for (char *save = NULL, *t = strtok_r(buf, " \t\r\n", &save); t;
         t = strtok_r(NULL, " \t\r\n", &save)) {
        char *c1 = strchr(t, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        if (c1 == NULL || c2 == NULL || strchr(c2 + 1, ',')) {
            snprintf(why, n, "“%.60s” is not a sender,identifier,sent triple", t);
            return false;
        }
        *c1 = *c2 = '\0';
        if (!id_ok(t) || !id_ok(c1 + 1)) {
            snprintf(why, n,
                     "sender and identifier in a reference must not contain spaces, "
                     "commas, < or &");
            return false;
        }
        if (!cap_time_parse(c2 + 1, NULL)) {
            snprintf(why, n,
                     "“%.40s” is not a CAP date-time (offset required, no Z, no "
                     "fractional seconds)",
                     c2 + 1);
            return false;
        }
        triples++;
    }
    if (triples == 0) {
        snprintf(why, n, "empty: must hold at least one sender,identifier,sent triple");
        return false;
    }
    return true;
}

/* "lat,lon" */
static bool point_parse(const char *s, double *lat, double *lon)
{
    char *end;
    *lat = strtod(s, &end);
    if (end == s || *end != ',')
        return false;
    const char *q = end + 1;
    *lon = strtod(q, &end);
    if (end == q || !isfinite(*lat) || !isfinite(*lon))
        return false;
    if (*lat < -90 || *lat > 90 || *lon < -180 || *lon > 180)
        return false;
    return *end == '\0' || isspace((unsigned char)*end);
}

static yj_code polygon_parse(cap_alert *a, const char *s, cap_polygon *out, yj_err *err)
{
    size_t cap = 16, n = 0;
    double(*pts)[2] = cap_alloc(a, cap * sizeof *pts);
    const char *p = s;
    while (*p) {
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '\0')
            break;
        double lat, lon;
        if (!point_parse(p, &lat, &lon))
            return bad(err, "polygon",
                       "point %zu is not “lat,lon” in WGS 84 degrees (lat -90..90, lon -180..180)",
                       n + 1);
        if (n == cap) {
            double(*np)[2] = cap_alloc(a, cap * 2 * sizeof *np);
            memcpy(np, pts, n * sizeof *pts);
            pts = np;
            cap *= 2;
        }
        pts[n][0] = lat;
        pts[n][1] = lon;
        n++;
        while (*p && !isspace((unsigned char)*p))
            p++;
    }
    if (n < 4)
        return bad(err, "polygon",
                   "needs at least 4 points (the first repeated as the last); has %zu", n);
    if (pts[0][0] != pts[n - 1][0] || pts[0][1] != pts[n - 1][1])
        return bad(err, "polygon", "not closed: the last point must repeat the first");
    out->pts = pts;
    out->n = n;
    return YJ_OK;
}

static yj_code circle_parse(const char *s, cap_circle *out, yj_err *err)
{
    double lat, lon;
    const char *sp = s;
    while (*sp && !isspace((unsigned char)*sp))
        sp++;
    char *end;
    double r = *sp ? strtod(sp, &end) : NAN;
    if (!point_parse(s, &lat, &lon) || *sp == '\0' || !isfinite(r) || r < 0)
        return bad(err, "circle", "must be “lat,lon radius” (radius in km, not negative)");
    while (isspace((unsigned char)*end))
        end++;
    if (*end != '\0')
        return bad(err, "circle", "must be “lat,lon radius”: unexpected text after the radius");
    *out = (cap_circle){lat, lon, r};
    return YJ_OK;
}

/* Text fields are plain text: an HTML tag (after XML unescaping) is refused. */
static bool has_html(const char *s)
{
    for (const char *p = s ? strchr(s, '<') : NULL; p; p = strchr(p + 1, '<'))
        if (isalpha((unsigned char)p[1]) || p[1] == '/' || p[1] == '!')
            return true;
    return false;
}

static yj_code check_time(const char *s, const char *element, bool beijing, yj_err *err)
{
    if (s == NULL)
        return YJ_OK;
    if (!cap_time_parse(s, NULL))
        return bad(err, element,
                   "“%.40s” is not a CAP date-time: YYYY-MM-DDThh:mm:ss with an explicit offset "
                   "(±hh:mm), no “Z”, no fractional seconds",
                   s);
    if (beijing && strcmp(s + 19, "+08:00") != 0)
        return bad(err, element, "GB/T 35965.1: date-times are in Beijing time (+08:00), not %s",
                   s + 19);
    return YJ_OK;
}

bool cap_claims_gbt(const cap_alert *a)
{
    for (size_t i = 0; i < a->ncodes; i++) {
        const char *c = a->codes[i];
        if (strcmp(c, CAP_GBT_CODE) == 0 || strcmp(c, "GB/T35965.1-2018") == 0 ||
            strcmp(c, "GBT35965.1-2018") == 0)
            return true;
    }
    return false;
}

/* GB/T 2260 province codes (the first two digits of a region code) */
static bool province_ok(const char *s)
{
    static const char *const p[] = {"11", "12", "13", "14", "15", "21", "22", "23", "31",
                                    "32", "33", "34", "35", "36", "37", "41", "42", "43",
                                    "44", "45", "46", "50", "51", "52", "53", "54", "61",
                                    "62", "63", "64", "65", "71", "81", "82"};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        if (s[0] == p[i][0] && s[1] == p[i][1])
            return true;
    return false;
}

static yj_code check_gbt(const cap_alert *a, yj_err *err)
{
    const char *id = a->identifier;
    /* ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N */
    if (strlen(id) != 31 || !digits(id, 14) || id[14] != '_' || !digits(id + 15, 14) ||
        id[29] != '_' || !digits(id + 30, 1))
        return bad(err, "identifier",
                   "GB/T 35965.1: must be ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N (31 characters: region "
                   "6, agency 3, internal 3, extension 2, time 14, sequence 1)");
    if (!province_ok(id))
        return bad(err, "identifier",
                   "GB/T 35965.1: %.6s is not a GB/T 2260 region code (province %.2s unknown)", id,
                   id);
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    if (sscanf(id + 15, "%4d%2d%2d%2d%2d%2d", &y, &mo, &d, &h, &mi, &s) != 6 ||
        !valid_ymdhms(y, mo, d, h, mi, s))
        return bad(err, "identifier", "GB/T 35965.1: %.14s is not a valid date and time", id + 15);
    if (strlen(a->sender) != 14 || strncmp(a->sender, id, 14) != 0)
        return bad(err, "sender",
                   "GB/T 35965.1: the sender is the issuing unit's 14-digit code ZZZZZZDDDUUUXX, "
                   "which begins the identifier (%.14s)",
                   id);
    return YJ_OK;
}

yj_code cap_check(const cap_alert *a, unsigned flags, yj_err *err)
{
    bool gbt = (flags & CAP_PROFILE_GBT35965) || cap_claims_gbt(a);
    if (!id_ok(a->identifier))
        return bad(err, "identifier", "must not be empty or contain spaces, commas, < or &");
    if (!id_ok(a->sender))
        return bad(err, "sender", "must not be empty or contain spaces, commas, < or &");
    yj_code rc = check_time(a->sent, "sent", gbt, err);
    if (rc != YJ_OK)
        return rc;
    if (a->sent == NULL)
        return bad(err, "sent", "required");
    const char *scope = a->scope ? a->scope : "";
    bool restricted = strcmp(scope, "Restricted") == 0;
    if (restricted && (a->restriction == NULL || a->restriction[0] == '\0'))
        return bad(err, "restriction", "required when scope is Restricted");
    if (!restricted && a->restriction && a->restriction[0])
        return bad(err, "restriction", "only allowed when scope is Restricted (scope is %s)",
                   scope);
    if (strcmp(scope, "Private") == 0 && (a->addresses == NULL || a->addresses[0] == '\0'))
        return bad(err, "addresses", "required when scope is Private");
    char why[200];
    if (a->references && !references_ok(a->references, why, sizeof why))
        return bad(err, "references", "%s", why);
    if (has_html(a->note))
        return bad(err, "note", "plain text only: HTML markup is not allowed");
    for (size_t i = 0; i < a->ninfos; i++) {
        const cap_info *in = &a->infos[i];
        static const char *const times[] = {"effective", "onset", "expires"};
        const char *tv[3] = {in->effective, in->onset, in->expires};
        for (int k = 0; k < 3; k++)
            if ((rc = check_time(tv[k], times[k], gbt, err)) != YJ_OK)
                return rc;
        int64_t eff = 0, exp = 0;
        if (in->expires && cap_time_parse(in->expires, &exp) &&
            ((in->effective && cap_time_parse(in->effective, &eff) && exp <= eff) ||
             (in->onset && cap_time_parse(in->onset, &eff) && exp <= eff)))
            return bad(err, "expires", "must be later than effective and onset");
        const struct {
            const char *el, *v;
        } texts[] = {{"event", in->event},
                     {"senderName", in->sender_name},
                     {"headline", in->headline},
                     {"description", in->description},
                     {"instruction", in->instruction},
                     {"contact", in->contact},
                     {"audience", in->audience}};
        for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++)
            if (has_html(texts[k].v))
                return bad(err, texts[k].el, "plain text only: HTML markup is not allowed");
        for (size_t j = 0; j < in->nareas; j++) {
            const cap_area *ar = &in->areas[j];
            if (has_html(ar->desc))
                return bad(err, "areaDesc", "plain text only: HTML markup is not allowed");
            if (ar->ceiling && ar->ceiling[0] && (ar->altitude == NULL || ar->altitude[0] == '\0'))
                return bad(err, "ceiling", "only allowed together with altitude");
        }
    }
    if (gbt && (rc = check_gbt(a, err)) != YJ_OK)
        return rc;
    return YJ_OK;
}

/* ---- reading -------------------------------------------------------------------------- */

typedef struct {
    char element[64];
    char message[400];
    bool set;
} first_error;

/* Schema errors read like "Element '{ns}info': This element is not
 * expected. Expected is ( {ns}scope )." — keep the element's local name
 * and the message with namespaces removed. */
static void on_schema_error(void *ctx, xmlErrorPtr e)
{
    first_error *fe = ctx;
    if (fe->set || e == NULL)
        return;
    fe->set = true;
    const xmlNode *node = e->node;
    snprintf(fe->element, sizeof fe->element, "%s",
             node && node->type == XML_ELEMENT_NODE ? (const char *)node->name : "alert");
    const char *m = e->message ? e->message : "invalid";
    const char *colon = strncmp(m, "Element '", 9) == 0 ? strstr(m, "': ") : NULL;
    if (colon)
        m = colon + 3;
    size_t o = 0;
    for (const char *p = m; *p && o + 1 < sizeof fe->message; p++) {
        if (*p == '{') { /* drop "{namespace}" (not a value set like {'a', 'b'}) */
            const char *q = strchr(p, '}');
            if (q && memchr(p, '\'', (size_t)(q - p)) == NULL) {
                p = q;
                continue;
            }
        }
        if (*p == '\n')
            continue;
        fe->message[o++] = *p;
    }
    fe->message[o] = '\0';
    if (e->line > 0 && o + 24 < sizeof fe->message)
        snprintf(fe->message + o, sizeof fe->message - o, " (line %d)", e->line);
}

yj_code cap_read(const char *data, size_t len, unsigned flags, cap_alert **out, yj_err *err)
{
    *out = NULL;
    yj_code rc = cap_init(err);
    if (rc != YJ_OK)
        return rc;
    if (len > CAP_MAX_BYTES)
        return yj_err_set(err, YJ_ETOOBIG, "alert", "larger than %u bytes",
                          (unsigned)CAP_MAX_BYTES);
    if (len == 0)
        return bad(err, "alert", "empty document");
    xmlParserCtxtPtr pc = xmlNewParserCtxt();
    if (pc == NULL)
        return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
    xmlDocPtr doc = xmlCtxtReadMemory(pc, data, (int)len, "cap.xml", NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        const xmlError *e = xmlCtxtGetLastError(pc);
        char msg[300] = "not well-formed XML";
        if (e && e->message) {
            snprintf(msg, sizeof msg, "not well-formed XML: %s", e->message);
            msg[strcspn(msg, "\n")] = '\0';
            if (e->line > 0) {
                size_t o = strlen(msg);
                snprintf(msg + o, sizeof msg - o, " (line %d)", e->line);
            }
        }
        xmlFreeParserCtxt(pc);
        return bad(err, "xml", "%s", msg);
    }
    xmlFreeParserCtxt(pc);
    if (doc->intSubset || doc->extSubset) {
        xmlFreeDoc(doc);
        return bad(err, "DOCTYPE",
                   "a CAP message may not carry a DTD: entity declarations are refused, never "
                   "expanded or fetched");
    }
    xmlNode *root = xmlDocGetRootElement(doc);
    size_t vi = NVERSIONS;
    for (size_t i = 0; root && root->ns && i < NVERSIONS; i++)
        if (strcmp((const char *)root->ns->href, versions[i].ns) == 0)
            vi = i;
    if (root == NULL || !is_el(root, "alert") || vi == NVERSIONS) {
        rc = bad(err, root ? (const char *)root->name : "alert",
                 "not a CAP alert: the root element must be <alert> in the namespace of CAP 1.2 "
                 "(%s), 1.1 or 1.0",
                 CAP_NS_12);
        xmlFreeDoc(doc);
        return rc;
    }
    /* layer 2: the official schema of the message's version */
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schemas[vi]);
    if (vc == NULL) {
        xmlFreeDoc(doc);
        return yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
    }
    first_error fe = {0};
    xmlSchemaSetValidStructuredErrors(vc, on_schema_error, &fe);
    int v = xmlSchemaValidateDoc(vc, doc);
    xmlSchemaFreeValidCtxt(vc);
    if (v != 0) {
        rc = bad(err, fe.set ? fe.element : "alert", "CAP %d.%d schema: %s",
                 versions[vi].version / 10, versions[vi].version % 10,
                 fe.set ? fe.message : "not valid");
        xmlFreeDoc(doc);
        return rc;
    }
    /* into the model */
    cap_alert *a = cap_alert_new();
    a->version = versions[vi].version;
    a->codes = read_list(a, root, "code", &a->ncodes);
    a->ninfos = count_children(root, "info");
    a->infos = a->ninfos ? cap_alloc(a, a->ninfos * sizeof *a->infos) : NULL;
    area_text **at = a->ninfos ? cap_alloc(a, a->ninfos * sizeof *at) : NULL;
    size_t ki = 0;
    for (xmlNode *c = root->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_el(c, "info")) {
            read_info(a, c, &a->infos[ki], &at[ki]);
            ki++;
            continue;
        }
        for (size_t k = 0; k < sizeof alert_text / sizeof alert_text[0]; k++)
            if (is_el(c, alert_text[k].name))
                *(char **)(void *)((char *)a + alert_text[k].off) = text_of(a, c);
    }
    xmlFreeDoc(doc);
    /* layer 3: geometry syntax, then the rules */
    for (size_t i = 0; i < a->ninfos && rc == YJ_OK; i++)
        for (size_t j = 0; j < a->infos[i].nareas && rc == YJ_OK; j++) {
            cap_area *ar = &a->infos[i].areas[j];
            for (size_t k = 0; k < ar->npolygons && rc == YJ_OK; k++)
                rc = polygon_parse(a, at[i][j].polygons[k], &ar->polygons[k], err);
            for (size_t k = 0; k < ar->ncircles && rc == YJ_OK; k++)
                rc = circle_parse(at[i][j].circles[k], &ar->circles[k], err);
        }
    if (rc == YJ_OK)
        rc = cap_check(a, flags, err);
    if (rc != YJ_OK) {
        cap_alert_free(a);
        return rc;
    }
    *out = a;
    return YJ_OK;
}

/* ---- writing ----------------------------------------------------------------------------- */

static void put_text(yj_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            yj_buf_puts(b, "&lt;");
            break;
        case '>':
            yj_buf_puts(b, "&gt;");
            break;
        case '&':
            yj_buf_puts(b, "&amp;");
            break;
        default:
            yj_buf_putc(b, *s);
        }
    }
}

static void el(yj_buf *b, int indent, const char *name, const char *v)
{
    if (v == NULL)
        return;
    yj_buf_printf(b, "%*s<%s>", indent, "", name);
    put_text(b, v);
    yj_buf_printf(b, "</%s>\n", name);
}

static void pairs(yj_buf *b, int indent, const char *name, const cap_pair *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        yj_buf_printf(b, "%*s<%s>\n", indent, "", name);
        el(b, indent + 2, "valueName", p[i].name ? p[i].name : "");
        el(b, indent + 2, "value", p[i].value ? p[i].value : "");
        yj_buf_printf(b, "%*s</%s>\n", indent, "", name);
    }
}

/* A coordinate without trailing zeros (6 decimals: about 0.1 m). */
static void coord(yj_buf *b, double v)
{
    char s[40];
    snprintf(s, sizeof s, "%.6f", v);
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '0')
        s[--n] = '\0';
    if (n > 1 && s[n - 1] == '.')
        s[--n] = '\0';
    yj_buf_puts(b, s);
}

void cap_write(const cap_alert *a, yj_buf *b)
{
    yj_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<alert xmlns=\"" CAP_NS_12 "\">\n");
    el(b, 2, "identifier", a->identifier);
    el(b, 2, "sender", a->sender);
    el(b, 2, "sent", a->sent);
    el(b, 2, "status", a->status);
    el(b, 2, "msgType", a->msg_type);
    el(b, 2, "source", a->source);
    el(b, 2, "scope", a->scope);
    el(b, 2, "restriction", a->restriction);
    el(b, 2, "addresses", a->addresses);
    for (size_t i = 0; i < a->ncodes; i++)
        el(b, 2, "code", a->codes[i]);
    el(b, 2, "note", a->note);
    el(b, 2, "references", a->references);
    el(b, 2, "incidents", a->incidents);
    for (size_t i = 0; i < a->ninfos; i++) {
        const cap_info *in = &a->infos[i];
        yj_buf_puts(b, "  <info>\n");
        el(b, 4, "language", in->language);
        for (size_t k = 0; k < in->ncategories; k++)
            el(b, 4, "category", in->categories[k]);
        el(b, 4, "event", in->event);
        for (size_t k = 0; k < in->nresponse_types; k++)
            el(b, 4, "responseType", in->response_types[k]);
        el(b, 4, "urgency", in->urgency);
        el(b, 4, "severity", in->severity);
        el(b, 4, "certainty", in->certainty);
        el(b, 4, "audience", in->audience);
        pairs(b, 4, "eventCode", in->event_codes, in->nevent_codes);
        el(b, 4, "effective", in->effective);
        el(b, 4, "onset", in->onset);
        el(b, 4, "expires", in->expires);
        el(b, 4, "senderName", in->sender_name);
        el(b, 4, "headline", in->headline);
        el(b, 4, "description", in->description);
        el(b, 4, "instruction", in->instruction);
        el(b, 4, "web", in->web);
        el(b, 4, "contact", in->contact);
        pairs(b, 4, "parameter", in->parameters, in->nparameters);
        for (size_t k = 0; k < in->nresources; k++) {
            const cap_resource *r = &in->resources[k];
            yj_buf_puts(b, "    <resource>\n");
            el(b, 6, "resourceDesc", r->desc ? r->desc : "");
            el(b, 6, "mimeType", r->mime_type ? r->mime_type : "application/octet-stream");
            el(b, 6, "size", r->size);
            el(b, 6, "uri", r->uri);
            el(b, 6, "digest", r->digest);
            yj_buf_puts(b, "    </resource>\n");
        }
        for (size_t k = 0; k < in->nareas; k++) {
            const cap_area *ar = &in->areas[k];
            yj_buf_puts(b, "    <area>\n");
            el(b, 6, "areaDesc", ar->desc ? ar->desc : "");
            for (size_t p = 0; p < ar->npolygons; p++) {
                yj_buf_puts(b, "      <polygon>");
                for (size_t q = 0; q < ar->polygons[p].n; q++) {
                    if (q)
                        yj_buf_putc(b, ' ');
                    coord(b, ar->polygons[p].pts[q][0]);
                    yj_buf_putc(b, ',');
                    coord(b, ar->polygons[p].pts[q][1]);
                }
                yj_buf_puts(b, "</polygon>\n");
            }
            for (size_t p = 0; p < ar->ncircles; p++) {
                yj_buf_puts(b, "      <circle>");
                coord(b, ar->circles[p].lat);
                yj_buf_putc(b, ',');
                coord(b, ar->circles[p].lon);
                yj_buf_putc(b, ' ');
                coord(b, ar->circles[p].radius_km);
                yj_buf_puts(b, "</circle>\n");
            }
            pairs(b, 6, "geocode", ar->geocodes, ar->ngeocodes);
            el(b, 6, "altitude", ar->altitude);
            el(b, 6, "ceiling", ar->ceiling);
            yj_buf_puts(b, "    </area>\n");
        }
        yj_buf_puts(b, "  </info>\n");
    }
    yj_buf_puts(b, "</alert>\n");
}
