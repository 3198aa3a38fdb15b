/*
 * auth.h — users, roles, permissions, sessions, regions and the audit log.
 *
 * Roles are those of SPEC §1.  What a role may do is one table (perm.c):
 * role x resource x action.  Every user belongs to a region (GB/T 2260 /
 * statistical division code: 2, 4, 6, 9 or 12 digits) and sees only its
 * subtree; enterprise users see only their own enterprise.  user_scope()
 * turns a user into the yj_scope the store enforces.
 */
#ifndef YJ_AUTH_H
#define YJ_AUTH_H

#include "../core/err.h"
#include "../store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum {
    YJ_ROLE_ADMIN,      /* 平台管理员 */
    YJ_ROLE_DUTY,       /* 值班员 duty officer */
    YJ_ROLE_COMMANDER,  /* 指挥长 commander */
    YJ_ROLE_SUPERVISOR, /* 行业监管员 industry regulator */
    YJ_ROLE_INSPECTOR,  /* 执法人员 law-enforcement officer */
    YJ_ROLE_WAREHOUSE,  /* 物资管理员 reserve keeper */
    YJ_ROLE_ENTERPRISE, /* 企业安全员 enterprise safety officer */
    YJ_ROLE_INFORMANT,  /* 灾害信息员/网格员 village grid worker */
    YJ_ROLE_EXPERT,     /* 专家 registered expert */
    YJ_ROLE_PUBLIC,     /* 公众 the public (no login for public features) */
    YJ_ROLE_COUNT
} yj_role;

typedef struct {
    int64_t id;
    char username[64];
    char name[128];
    yj_role role;
    char region[16];
    int64_t enterprise_id; /* > 0 for enterprise users */
} yj_user;

const char *role_name(yj_role r);
const char *role_label(yj_role r); /* Chinese */
int role_parse(const char *s);     /* -1 if unknown */
yj_scope user_scope(const yj_user *u);

/* ---- permissions (perm.c) ------------------------------------------------ */

typedef enum { YJ_ACT_READ, YJ_ACT_WRITE, YJ_ACT_COUNT } yj_action;

/* A bit per role, for the roles column of the permission table. */
#define YJ_ROLE_BIT(r) (1u << (r))
#define YJ_R(name)     YJ_ROLE_BIT(YJ_ROLE_##name)
/* Every role that logs in (all but the public). */
#define YJ_ROLES_STAFF ((1u << YJ_ROLE_PUBLIC) - 1u)

/* One row of the permission table: who may `action` `resource`.  Rows are
 * declared by the modules that own the resource (base/module.h).  A row
 * with a field narrows what the resource row allows for that one field
 * (who may see a vulnerable resident's tags, a tipster's identity).
 * No row for a resource and action: denied to every role. */
typedef struct {
    const char *resource;
    yj_action action;
    unsigned roles; /* YJ_R(DUTY) | ...; 0: nobody (an explicit decision) */
    const char *field;
} yj_perm;

/* May role `act` on resource?  False for an unknown resource, a missing
 * row, or a bad role: the table fails closed. */
bool perm_allowed(yj_role role, const char *resource, yj_action act);
/* Is there an explicit row (a decision, even "nobody") for resource/act? */
bool perm_decided(const char *resource, yj_action act);
/* May role read this field of resource?  The field's row if there is one,
 * else the resource's. */
bool perm_field_readable(yj_role role, const char *resource, const char *field);
/* {"<resource>":["read","write"], ...} for one role. */
json_t *perm_role_json(yj_role role);
/* Every resource the modules declare, NULL-terminated, in module order. */
const char *const *perm_resources(void);
/* The Chinese label of a resource (its name if it has none). */
const char *perm_resource_label(const char *resource);

/* ---- users (user.c) ------------------------------------------------------ */

#define YJ_PASSWORD_MIN 8

yj_code user_add(yj_store *s, const char *actor, const char *username, const char *password,
                 yj_role role, const char *region, const char *name, int64_t enterprise_id,
                 int64_t *id_out, yj_err *err);
yj_code user_passwd(yj_store *s, const char *actor, const char *username, const char *password,
                    yj_err *err);
/* Users inside the caller's region (all if caller is NULL). */
yj_code user_list(yj_store *s, const yj_user *caller, json_t **out, yj_err *err);
yj_code user_load(yj_conn *c, int64_t id, yj_user *out, yj_err *err);
json_t *user_json(const yj_user *u);

/* ---- sessions (session.c) ------------------------------------------------ */

typedef struct {
    char token[65]; /* 256-bit random, hex; only its hash is stored */
    char csrf[65];
    int64_t expires_ms;
    yj_user user;
} yj_session;

typedef struct {
    int idle_seconds;      /* session ends after this long unused */
    int absolute_seconds;  /* and at the latest this long after login */
    int account_after;     /* failures of one name from one address before it waits */
    int address_after;     /* failures from one address before it waits */
    int global_per_minute; /* failures a minute before failing addresses wait; 0: no limit */
} yj_auth_config;
extern yj_auth_config yj_auth_cfg; /* process-wide, set in main */

/* Log in from `address` (the client's IP address; see session.c for the
 * throttle).  YJ_EAUTH for bad credentials (unknown and disabled names
 * alike); YJ_ELOCKED with retry_after when that address must wait;
 * YJ_EBUSY with retry_after when too many logins are being checked. */
yj_code auth_login(yj_store *s, const char *username, const char *password, const char *address,
                   yj_session *out, int *retry_after, yj_err *err);
/* Look up a live session by token; refreshes its idle timer. */
yj_code auth_session(yj_store *s, const char *token, yj_session *out, yj_err *err);
/* End the session (audited); an error when it cannot be ended. */
yj_code auth_logout(yj_store *s, const yj_session *sess, yj_err *err);

/* ---- regions (region.c) -------------------------------------------------- */

/* Region level from code length: 1 province .. 5 village, 0 if malformed. */
int region_level(const char *code);
/* Accept GB/T 2260 six-digit city/province forms ("140500" -> "1405"). */
void region_normalize(const char *in, char *out, size_t n);
yj_code region_get(yj_store *s, const yj_user *u, const char *code, json_t **out, yj_err *err);
yj_code region_children(yj_store *s, const yj_user *u, const char *parent, json_t **out,
                        yj_err *err);
/* Load "code,name,parent" rows (header line first) into the region table,
 * replacing existing names; one transaction. */
yj_code region_import_csv(yj_conn *c, const char *path, int *count, yj_err *err);
/* The same in its own transaction, audited as actor's "load". */
yj_code region_load(yj_store *s, const yj_user *actor, const char *path, int *count, yj_err *err);
/* Store / fetch boundary GeoJSON features (one per region code). */
yj_code region_set_boundary(yj_conn *c, const char *code, const char *geojson, yj_err *err);
yj_code region_boundaries(yj_store *s, const yj_user *u, json_t **out, yj_err *err);

/* ---- audit (audit.c) ----------------------------------------------------- */

/* Append an entry on a connection inside a write transaction.  The entry's
 * hash covers its fields and the previous entry's hash; its region is the
 * "region_code" of after (else before), which scopes who may read it. */
yj_code audit_append(yj_conn *c, const char *actor, const char *action, const char *entity,
                     int64_t record_id, const json_t *before, const json_t *after, yj_err *err);
typedef struct {
    bool ok;
    int64_t entries;
    int64_t first_bad_id;
    char reason[256];
    int64_t head_id; /* the newest entry, to be recorded outside the database */
    char head_hash[65];
} yj_audit_check;
yj_code audit_verify(yj_store *s, yj_audit_check *out, yj_err *err);
/* After audit_verify: does the chain still contain a head recorded earlier
 * ("ID:HASH")?  Catches the newest entries being cut off, which the chain
 * alone cannot show.  Sets out->ok = false and the reason if not. */
yj_code audit_check_head(yj_store *s, const char *head, yj_audit_check *out, yj_err *err);
/* Entries newest first, in the scope (region "" = all); entity NULL = all;
 * record_id 0 = all; after_id > 0: only the entries after that one.  The
 * before or after of an entry whose record lay outside the scope at the
 * time is replaced by {"redacted": true, ...}. */
yj_code audit_list(yj_store *s, const yj_scope *sc, const char *entity, int64_t record_id,
                   int64_t after_id, int limit, int64_t offset, json_t **out, yj_err *err);
/* The same redaction on entries read another way (a record's whole history). */
void audit_redact(const yj_scope *sc, json_t *entries);

#endif
