/*
 * fuzz_csv_import.c — libFuzzer target for the registry CSV importer
 * (registry_import_csv, registry/csvio.c), database included.
 *
 * Input layout: the first line names the registry, by name, with "!" after
 * it when bad rows are to be skipped ("resident!\n"); the rest is the CSV
 * body exactly as POST /api/v1/registries/{reg}/import receives it.  A
 * seed reaches the same registry whatever registries are added later (a
 * selector by position once sent every seed to the wrong one).  Seeds are
 * named <registry>[-skip]-<what>.csv.
 *
 * The store is one SQLite file in a private temp directory (pool of one
 * connection, no WAL and synchronous=OFF: durability is not under test), migrated
 * once and given the 晋城市 region tree, a region outside the admin's scope
 * (大同市) and one enterprise for hazard sources to refer to.  The importer
 * is transactional, so the harness never rolls back itself; after each input
 * it checks what the importer promised and then empties the registry tables
 * so that every input starts from the same state (crashes reproduce):
 *   - failure (any bad row without skip_bad, or a parse error) writes nothing;
 *   - success: the report's `created` equals the rows now in the table.
 */
#include "auth/auth.h"
#include "base/module.h"
#include "core/err.h"
#include "registry/registry.h"
#include "store/store.h"
#include "fuzz_db.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t base_enterprise; /* kept across inputs: hazard sources refer to it */
static yj_user admin = {
    .id = 1, .username = "admin", .name = "平台管理员", .role = YJ_ROLE_ADMIN, .region = "1405"};

static int64_t count_rows(const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", table);
    return fz_count(sql);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_open("fuzz-import");
    yj_err err = {0};
    fz_exec("INSERT INTO region (code, name, parent, level) VALUES"
            " ('14', '山西省', NULL, 1),"
            " ('1405', '晋城市', '14', 2),"
            " ('140502', '城区', '1405', 3),"
            " ('140521', '沁水县', '1405', 3),"
            " ('140522', '阳城县', '1405', 3),"
            " ('140524', '陵川县', '1405', 3),"
            " ('140525', '泽州县', '1405', 3),"
            " ('140581', '高平市', '1405', 3),"
            " ('140502001', '东街街道', '140502', 4),"
            " ('140521100', '龙港镇', '140521', 4),"
            " ('1402', '大同市', '14', 2),"
            " ('140212', '新荣区', '1402', 3)");

    /* One enterprise every hazard-source row can point at (id in seeds: 1). */
    json_t *ent = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "name", "晋城市基准化工有限公司",
        "credit_code", "91140500113112340J", "industry", "危险化学品", "scale", "中型", "address",
        "晋城市城区凤台东街1号", "legal_rep", "张伟", "safety_director", "刘强", "safety_phone",
        "13903561234", "region_code", "140502", "major_hazard", 1);
    json_t *created = NULL;
    if (registry_create(store, &admin, registry_find("enterprise"), ent, &created, &err) != YJ_OK)
        fz_die("base enterprise", &err);
    base_enterprise = json_integer_value(json_object_get(created, "id"));
    json_decref(created);
    json_decref(ent);
    return 0;
}

/* Empty the table the input was imported into (keeping the base
 * enterprise; hazard sources first, they refer to enterprises) and the audit
 * trail, so the next input starts from the same state. */
static void reset_tables(const yj_registry *r)
{
    char sql[128];
    if (strcmp(r->name, "enterprise") == 0) {
        fz_exec("DELETE FROM hazard_source");
        snprintf(sql, sizeof sql, "DELETE FROM enterprise WHERE id <> %lld",
                 (long long)base_enterprise);
    } else {
        snprintf(sql, sizeof sql, "DELETE FROM %s", r->name);
    }
    fz_exec(sql);
    /* The audit table is append-only by design; if it ever refuses DELETE
     * the trail just grows, which is harmless here. */
    yj_err err = {0};
    yj_conn *c = yj_store_acquire(store);
    (void)yj_exec(c, "DELETE FROM audit", &err);
    yj_store_release(store, c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size < 64 ? size : 64);
    if (nl == NULL)
        return 0;
    char name[64];
    size_t n = (size_t)(nl - data);
    memcpy(name, data, n);
    name[n] = '\0';
    bool skip_bad = n > 0 && name[n - 1] == '!';
    if (skip_bad)
        name[n - 1] = '\0';
    const yj_registry *r = registry_find(name);
    if (r == NULL)
        return 0; /* not a registry: nothing to import into */
    size_t len = size - n - 1;
    char *body = malloc(len + 1); /* the CSV without a terminating NUL */
    if (!body)
        return 0;
    memcpy(body, nl + 1, len);

    int64_t before = count_rows(r->name);
    yj_import_report rep = {0};
    yj_err err = {0};
    yj_code rc = registry_import_csv(store, &admin, r, body, len, skip_bad, &rep, &err);
    int64_t after = count_rows(r->name);

    if (rc != YJ_OK && (err.code != rc || err.message[0] == '\0'))
        abort(); /* an error must say what went wrong */
    if (rc != YJ_OK && after != before)
        abort(); /* a failed import wrote something */
    if (rc == YJ_OK && (rep.created < 0 || rep.updated < 0 || rep.unchanged < 0 ||
                        rep.skipped < 0 || after - before != rep.created))
        abort(); /* the report does not match the table */
    if (rep.errors && !json_is_array(rep.errors))
        abort();

    json_decref(rep.errors);
    free(body);
    reset_tables(r);
    return 0;
}
