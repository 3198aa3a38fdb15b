/*
 * schema.c — every database migration of the platform, in order.
 *
 * Migrations are append-only: never edit one that has shipped; add the
 * next version.  SQL here is the portable subset (see store/store.h); the
 * registry tables are generated from their field tables (registry/schema.c).
 */
#include "auth/auth.h"
#include "registry/registry.h"

static const yj_migration migrations[] = {
    {1, "platform base: regions, users, sessions, audit",
     "CREATE TABLE region ("
     "  code TEXT PRIMARY KEY, name TEXT NOT NULL, parent TEXT, level INTEGER NOT NULL);"
     "CREATE INDEX region_parent ON region(parent);"
     "CREATE TABLE region_boundary ("
     "  code TEXT PRIMARY KEY REFERENCES region(code), geojson TEXT NOT NULL);"
     "CREATE TABLE users ("
     "  id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
     "  role TEXT NOT NULL, region_code TEXT NOT NULL REFERENCES region(code),"
     "  enterprise_id INTEGER, password_hash TEXT NOT NULL,"
     "  failed_logins INTEGER NOT NULL DEFAULT 0, locked_until_ms INTEGER NOT NULL DEFAULT 0,"
     "  disabled INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
     "CREATE TABLE sessions ("
     "  token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),"
     "  csrf TEXT NOT NULL, created_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL,"
     "  expires_ms INTEGER NOT NULL);"
     "CREATE INDEX sessions_user ON sessions(user_id);"
     "CREATE TABLE audit ("
     "  id INTEGER PRIMARY KEY, ts TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,"
     "  entity TEXT NOT NULL, record_id INTEGER, region_code TEXT, before TEXT, after TEXT,"
     "  prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
     "CREATE INDEX audit_record ON audit(entity, record_id);"
     "CREATE INDEX audit_region ON audit(region_code);",
     NULL},
    {2, "base databases (registry tables from registry/schema.c)", NULL, registry_migrate},
    {3, "table generations (bumped by every write; invalidate cached reads)",
     "CREATE TABLE table_generation (name TEXT PRIMARY KEY, gen INTEGER NOT NULL);", NULL},
};

const yj_migration *yj_migrations(size_t *n)
{
    *n = sizeof migrations / sizeof migrations[0];
    return migrations;
}
