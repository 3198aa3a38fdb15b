/*
 * module.c — the registry module (基础数据库): the base databases of SPEC
 * M1 declared as field tables, who may keep which, and the generic
 * endpoints every module's registries are served through ("{reg}" routes:
 * the permission is the registry's own).
 *
 * Each registry below is data, not code: its fields, their Chinese labels,
 * types, options, units and ranges.  Everything else (SQL, validation, CSV,
 * forms, OpenAPI) is derived from these tables.  Options follow the seeds
 * (002:L292 names the databases; 001:L121 four informant levels; shelter
 * classes Ⅰ/Ⅱ/Ⅲ and 室内型/综合性/乡村 per GB 21734 and the 2023 shelter
 * classification) and SPEC M1.
 */
#include "api.h"
#include "registry.h"
#include "../base/module.h"
#include "../demo/demo.h"

#define OPTS  YJ_OPTS
#define RANGE YJ_RANGE

/* ---- 应急救援队伍 rescue teams ------------------------------------------ */
static const yj_field rescue_team_fields[] = {
    {"name", "队伍名称", YJ_F_TEXT, true},
    {"category", "队伍类别", YJ_F_ENUM, true, OPTS("专业", "社会", "基层")},
    {"specialties", "专业方向", YJ_F_TAGS, true,
     OPTS("矿山救援", "危化品救援", "森林灭火", "水域救援", "地震救援", "山岳救援", "综合救援",
          "医疗救护", "防汛抢险", "电力抢修", "通信保障", "道路抢通")},
    {"headcount", "队员人数", YJ_F_INT, true, .unit = "人", RANGE(1, 10000)},
    {"equipment", "主要装备", YJ_F_LONGTEXT, false},
    {"funding", "经费来源", YJ_F_TEXT, false},
    {"leader", "负责人", YJ_F_TEXT, true},
    {"contact_phone", "联系电话", YJ_F_PHONE, true},
    {"duty_phone", "值班电话", YJ_F_PHONE, false},
    {"address", "驻地地址", YJ_F_TEXT, false},
    {"status", "状态", YJ_F_ENUM, true, OPTS("待命", "出动", "休整", "撤销"), .def = "待命"},
};

/* ---- 专家库 experts ------------------------------------------------------ */
static const yj_field expert_fields[] = {
    {"name", "姓名", YJ_F_TEXT, true},
    {"field", "专业领域", YJ_F_ENUM, true,
     OPTS("矿山安全", "危险化学品", "地质灾害", "防汛抗旱", "森林防火", "地震", "气象", "消防",
          "医疗卫生", "建筑施工", "交通运输", "电力", "特种设备", "冶金工贸", "应急管理")},
    {"title", "职称", YJ_F_ENUM, true, OPTS("正高级", "副高级", "中级", "初级")},
    {"employer", "工作单位", YJ_F_TEXT, true},
    {"phone", "手机号码", YJ_F_PHONE, true},
    {"local_expert", "本土专家", YJ_F_BOOL, false, .def = "false"},
    {"expertise", "专长说明", YJ_F_LONGTEXT, false},
    {"status", "状态", YJ_F_ENUM, true, OPTS("在库", "暂停", "退出"), .def = "在库"},
};

/* ---- 应急物资仓库 warehouses --------------------------------------------- */
static const yj_field warehouse_fields[] = {
    {"name", "仓库名称", YJ_F_TEXT, true},
    {"tier", "级别", YJ_F_ENUM, true, OPTS("市级", "县级", "乡级")},
    {"capacity", "库容", YJ_F_REAL, true, .unit = "m³", RANGE(0, 1e7)},
    {"keeper", "保管员", YJ_F_TEXT, true},
    {"keeper_phone", "保管员电话", YJ_F_PHONE, true},
    {"address", "地址", YJ_F_TEXT, true},
    {"status", "状态", YJ_F_ENUM, true, OPTS("在用", "维修", "停用"), .def = "在用"},
};

/* ---- 应急避难场所 shelters ----------------------------------------------- */
static const yj_field shelter_fields[] = {
    {"name", "场所名称", YJ_F_TEXT, true},
    {"class", "场所类别", YJ_F_ENUM, true, OPTS("Ⅰ类", "Ⅱ类", "Ⅲ类", "室内型", "综合性", "乡村")},
    {"capacity", "容纳人数", YJ_F_INT, true, .unit = "人", RANGE(0, 1000000)},
    {"area", "有效面积", YJ_F_REAL, true, .unit = "m²", RANGE(0, 1e8)},
    {"facilities", "配套设施", YJ_F_TAGS, false,
     OPTS("应急供水", "应急供电", "应急厕所", "医疗救护", "物资储备", "应急广播", "应急照明",
          "消防设施", "排污设施", "停机坪")},
    {"manager", "管理人", YJ_F_TEXT, true},
    {"phone", "联系电话", YJ_F_PHONE, true},
    {"address", "地址", YJ_F_TEXT, true},
    {"status", "状态", YJ_F_ENUM, true, OPTS("可用", "启用中", "维护", "停用"), .def = "可用"},
};

/* ---- 大型应急装备 large equipment ---------------------------------------- */
static const yj_field equipment_fields[] = {
    {"name", "装备名称", YJ_F_TEXT, true},
    {"code", "装备编号", YJ_F_TEXT, true, .maxlen = 40},
    {"type", "装备类型", YJ_F_ENUM, true,
     OPTS("挖掘机", "装载机", "推土机", "起重机", "排水抢险车", "大功率水泵", "发电车",
          "通信指挥车", "应急照明车", "无人机", "冲锋舟", "救援机器人", "生命探测仪", "破拆工具组",
          "消防车")},
    {"model", "规格型号", YJ_F_TEXT, false},
    {"owner", "所属单位", YJ_F_TEXT, true},
    {"quantity", "数量", YJ_F_INT, true, .unit = "台/套", RANGE(1, 100000), .def = "1"},
    {"contact_phone", "联系电话", YJ_F_PHONE, true},
    {"status", "状态", YJ_F_ENUM, true, OPTS("完好", "出动", "维修", "报废"), .def = "完好"},
};

/* ---- 企业 enterprises (一企一码一档) -------------------------------------- */
static const yj_field enterprise_fields[] = {
    {"name", "企业名称", YJ_F_TEXT, true},
    {"credit_code", "统一社会信用代码", YJ_F_CREDIT, true},
    {"industry", "行业", YJ_F_ENUM, true,
     OPTS("煤矿", "非煤矿山", "危险化学品", "烟花爆竹", "冶金工贸", "建筑施工", "道路运输",
          "消防重点单位", "其他")},
    {"scale", "企业规模", YJ_F_ENUM, true, OPTS("大型", "中型", "小型", "微型")},
    {"address", "地址", YJ_F_TEXT, true},
    {"legal_rep", "法定代表人", YJ_F_TEXT, true},
    {"safety_director", "安全负责人", YJ_F_TEXT, true},
    {"safety_phone", "安全负责人电话", YJ_F_PHONE, true},
    {"employees", "从业人数", YJ_F_INT, false, .unit = "人", RANGE(0, 1000000)},
    {"annual_capacity", "核定产能", YJ_F_REAL, false, .unit = "万吨/年", RANGE(0, 100000)},
    {"major_hazard", "涉及重大危险源", YJ_F_BOOL, true, .def = "false"},
    {"std_grade", "安全生产标准化等级", YJ_F_ENUM, false, OPTS("一级", "二级", "三级", "未达标")},
    {"status", "状态", YJ_F_ENUM, true, OPTS("正常生产", "停产整顿", "在建", "关闭"),
     .def = "正常生产"},
};

/* ---- 风险源/重大危险源 major hazard sources ------------------------------- */
static const yj_field hazard_source_fields[] = {
    {"name", "危险源名称", YJ_F_TEXT, true},
    {"code", "备案编号", YJ_F_TEXT, true, .maxlen = 40},
    {"enterprise_id", "所属企业", YJ_F_REF, true, .ref = "enterprise"},
    {"level", "危险源等级", YJ_F_ENUM, true, OPTS("一级", "二级", "三级", "四级")},
    {"category", "类型", YJ_F_ENUM, true,
     OPTS("危险化学品储罐区", "危险化学品库区", "生产装置", "尾矿库", "瓦斯", "粉尘爆炸", "其他")},
    {"substances", "主要危险物质", YJ_F_TEXT, false},
    {"r_value", "R值", YJ_F_REAL, false, RANGE(0, 100000)},
    {"responsible", "责任人", YJ_F_TEXT, true},
    {"phone", "责任人电话", YJ_F_PHONE, true},
    {"status", "状态", YJ_F_ENUM, true, OPTS("在役", "停用", "核销"), .def = "在役"},
};

/* ---- 灾害信息员/网格员 disaster informants and grid workers ---------------- */
static const yj_field informant_fields[] = {
    {"name", "姓名", YJ_F_TEXT, true},
    {"phone", "手机号码", YJ_F_PHONE, true},
    {"level", "层级", YJ_F_ENUM, true, OPTS("市级", "县级", "乡级", "村级")},
    {"kind", "类别", YJ_F_ENUM, true, OPTS("灾害信息员", "网格员"), .def = "灾害信息员"},
    {"backup_phone", "备用电话", YJ_F_PHONE, false},
    {"status", "状态", YJ_F_ENUM, true, OPTS("在岗", "离岗"), .def = "在岗"},
};

/* ---- 值班联系人 duty contacts -------------------------------------------- */
static const yj_field duty_contact_fields[] = {
    {"name", "姓名", YJ_F_TEXT, true},
    {"org", "单位", YJ_F_TEXT, true},
    {"post", "职务", YJ_F_TEXT, false},
    {"duty_role", "值守角色", YJ_F_ENUM, true,
     OPTS("主要负责人", "分管负责人", "值班员", "联络员")},
    {"phone", "手机号码", YJ_F_PHONE, true},
    {"office_phone", "办公电话", YJ_F_PHONE, false},
    {"fax", "传真", YJ_F_PHONE, false},
};

/* ---- the registries --------------------------------------------------------------------
 * Not const: registry_init() derives each one's table and full field list. */
static yj_registry rescue_team = YJ_REGISTRY(rescue_team, "应急救援队伍", "#d62728", "name",
                                             "category", "status", NULL, .since = 2);
static yj_registry expert =
    YJ_REGISTRY(expert, "应急专家", "#9467bd", "phone", "field", "status", NULL, .since = 2);
static yj_registry warehouse =
    YJ_REGISTRY(warehouse, "应急物资仓库", "#8c564b", "name", "tier", "status", NULL, .since = 2);
static yj_registry shelter =
    YJ_REGISTRY(shelter, "应急避难场所", "#2ca02c", "name", "class", "status", NULL, .since = 2);
static yj_registry equipment =
    YJ_REGISTRY(equipment, "大型应急装备", "#ff7f0e", "code", "type", "status", NULL, .since = 2);
static yj_registry enterprise = YJ_REGISTRY(enterprise, "企业", "#1f77b4", "credit_code",
                                            "industry", "status", "id", .since = 2);
static yj_registry hazard_source = YJ_REGISTRY(hazard_source, "重大危险源", "#e377c2", "code",
                                               "level", "status", "enterprise_id", .since = 2);
static yj_registry informant =
    YJ_REGISTRY(informant, "灾害信息员", "#17becf", "phone", "level", "status", NULL, .since = 2);
static yj_registry duty_contact = YJ_REGISTRY(duty_contact, "值班联系人", "#7f7f7f", "phone",
                                              "duty_role", NULL, NULL, .since = 2);

static yj_registry *const registries[] = {
    &rescue_team, &expert,        &warehouse, &shelter,      &equipment,
    &enterprise,  &hazard_source, &informant, &duty_contact,
};

#define R YJ_ACT_READ
#define W YJ_ACT_WRITE

static const yj_route routes[] = {
    {"GET", "/api/v1/schema", api_schema, "session", R, 0, 0,
     "Field tables of every registry the caller may read",
     .out = "{\"type\":\"object\",\"required\":[\"registries\"],"
            "\"properties\":{\"registries\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
            "\"required\":[\"name\",\"label\",\"icon\",\"key_field\",\"type_field\","
            "\"status_field\",\"fields\"],\"properties\":{\"name\":{\"type\":\"string\"},"
            "\"label\":{\"type\":\"string\"},\"icon\":{\"type\":\"string\"},"
            "\"key_field\":{\"type\":\"string\"},\"type_field\":{\"type\":\"string\","
            "\"nullable\":true},\"status_field\":{\"type\":\"string\",\"nullable\":true},"
            "\"fields\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
            "\"required\":[\"name\",\"label\",\"type\",\"required\"],"
            "\"properties\":{\"name\":{\"type\":\"string\"},\"label\":{\"type\":\"string\"},"
            "\"type\":{\"type\":\"string\",\"enum\":[\"text\",\"longtext\",\"int\",\"real\","
            "\"bool\",\"enum\",\"tags\",\"phone\",\"date\",\"credit\",\"ref\"]},"
            "\"required\":{\"type\":\"boolean\"},\"options\":{\"type\":\"array\","
            "\"items\":{\"type\":\"string\"}},\"unit\":{\"type\":\"string\"},"
            "\"min\":{\"type\":\"number\"},\"max\":{\"type\":\"number\"},"
            "\"maxlen\":{\"type\":\"integer\"},\"ref\":{\"type\":\"string\","
            "\"description\":\"the registry it refers to\"},\"default\":{\"type\":\"string\"}}},"
            "\"description\":\"without the fields the caller's role may not read\"}}}}}}"},
    /* literal segments before {id} so ".../geojson" is not taken for an id */
    {"GET", "/api/v1/registries/{reg}/geojson", api_reg_geojson, "{reg}", R, 0, 0,
     "Records with a position as GeoJSON",
     .out = "{\"type\":\"object\",\"required\":[\"type\",\"features\",\"total\"],"
            "\"properties\":{\"type\":{\"type\":\"string\",\"enum\":[\"FeatureCollection\"]},"
            "\"features\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
            "\"required\":[\"type\",\"geometry\",\"properties\"],"
            "\"properties\":{\"type\":{\"type\":\"string\",\"enum\":[\"Feature\"]},"
            "\"geometry\":{\"type\":\"object\",\"required\":[\"type\",\"coordinates\"],"
            "\"properties\":{\"type\":{\"type\":\"string\",\"enum\":[\"Point\"]},"
            "\"coordinates\":{\"type\":\"array\",\"items\":{\"type\":\"number\"},"
            "\"description\":\"[lon, lat]\",\"minItems\":2,\"maxItems\":2}}},"
            "\"properties\":{\"type\":\"object\",\"description\":\"also the registry's type and "
            "status fields\",\"required\":[\"id\",\"registry\"],"
            "\"properties\":{\"id\":{\"type\":\"integer\"},\"registry\":{\"type\":\"string\"},"
            "\"name\":{\"type\":\"string\"},\"region_name\":{\"type\":\"string\"}},"
            "\"additionalProperties\":true}}},\"description\":\"records with a position\"},"
            "\"total\":{\"type\":\"integer\",\"description\":\"records matched,"
            " with or without a position\"}}}"},
    {"GET", "/api/v1/registries/{reg}/export.csv", api_reg_export, "{reg}", R, 0, 0,
     "Export as CSV (UTF-8 with BOM)",
     .out = "text/csv {\"type\":\"string\",\"description\":\"UTF-8 with BOM, a header row,"
            " a record a row\"}"},
    {"POST", "/api/v1/registries/{reg}/import", api_reg_import, "{reg}", W, 0, YJ_MAX_CSV_BODY,
     "Import CSV (all or nothing unless skip_bad=1)",
     .in = "text/csv {\"type\":\"string\",\"description\":\"the CSV file, as exported\"}",
     .out = "{\"type\":\"object\",\"description\":\"also given, as report,"
            " beside the error of a refused import\",\"required\":[\"created\",\"updated\","
            "\"unchanged\",\"skipped\",\"errors\"],\"properties\":{\"created\":{\"type\":\"intege"
            "r\"},\"updated\":{\"type\":\"integer\"},\"unchanged\":{\"type\":\"integer\"},"
            "\"skipped\":{\"type\":\"integer\"},\"errors\":{\"type\":\"array\","
            "\"items\":{\"type\":\"object\",\"required\":[\"row\",\"column\",\"reason\"],"
            "\"properties\":{\"row\":{\"type\":\"integer\"},\"column\":{\"type\":\"string\"},"
            "\"reason\":{\"type\":\"string\"}}}}}}"},
    {"GET", "/api/v1/registries/{reg}", api_reg_list, "{reg}", R, 0, 0, "List records",
     .out = "{\"type\":\"object\",\"required\":[\"items\",\"total\",\"limit\",\"offset\","
            "\"next_offset\"],\"properties\":{\"items\":{\"type\":\"array\","
            "\"items\":{\"$ref\":\"#/components/schemas/Record\"}},"
            "\"total\":{\"type\":\"integer\"},\"limit\":{\"type\":\"integer\"},"
            "\"offset\":{\"type\":\"integer\"},\"next_offset\":{\"type\":\"integer\","
            "\"nullable\":true}}}"},
    {"POST", "/api/v1/registries/{reg}", api_reg_create, "{reg}", W, 0, 0, "Create a record",
     .in = "{\"$ref\":\"#/components/schemas/Record\"}",
     .out = "201 {\"$ref\":\"#/components/schemas/Record\"}"},
    {"GET", "/api/v1/registries/{reg}/{id}/history", api_reg_history, "{reg}", R, 0, 0,
     "Change history of a record",
     .out = "{\"type\":\"object\",\"description\":\"newest first\",\"required\":[\"items\"],"
            "\"properties\":{\"items\":{\"type\":\"array\","
            "\"items\":{\"$ref\":\"#/components/schemas/AuditEntry\"}}}}"},
    {"GET", "/api/v1/registries/{reg}/{id}", api_reg_get, "{reg}", R, 0, 0, "Get a record",
     .out = "{\"$ref\":\"#/components/schemas/Record\"}"},
    {"PUT", "/api/v1/registries/{reg}/{id}", api_reg_update, "{reg}", W, YJ_ROUTE_IF_MATCH, 0,
     "Update a record (If-Match required)",
     .in = "{\"allOf\":[{\"$ref\":\"#/components/schemas/Record\"}],"
           "\"description\":\"the record; a field left out keeps its value\"}",
     .out = "{\"$ref\":\"#/components/schemas/Record\"}"},
    {"PATCH", "/api/v1/registries/{reg}/{id}", api_reg_update, "{reg}", W, YJ_ROUTE_IF_MATCH, 0,
     "Update some fields (If-Match required)",
     .in = "{\"type\":\"object\",\"description\":\"the fields to change (the registry's fields,"
           " region_code, lat, lon)\",\"additionalProperties\":true}",
     .out = "{\"$ref\":\"#/components/schemas/Record\"}"},
    {"DELETE", "/api/v1/registries/{reg}/{id}", api_reg_delete, "{reg}", W, YJ_ROUTE_IF_MATCH, 0,
     "Delete a record (If-Match required)", .in = YJ_NO_BODY, .out = "204"},
};

/* Who keeps which base database: the duty desk its teams, shelters,
 * informants and contacts; regulators enterprises, hazard sources and
 * experts; reserve keepers warehouses and equipment; an enterprise its own
 * file (the store scopes enterprise users to their enterprise). */
#define ADMIN YJ_R(ADMIN)
#define DUTY  YJ_R(DUTY)
#define CMD   YJ_R(COMMANDER)
#define SUP   YJ_R(SUPERVISOR)
#define INS   YJ_R(INSPECTOR)
#define WH    YJ_R(WAREHOUSE)
#define ENT   YJ_R(ENTERPRISE)
#define INF   YJ_R(INFORMANT)
#define EXP   YJ_R(EXPERT)
static const yj_perm perms[] = {
    {"rescue_team", R, ADMIN | DUTY | CMD | SUP | WH | INF | EXP},
    {"rescue_team", W, ADMIN | DUTY},
    {"expert", R, ADMIN | DUTY | CMD | SUP | INS | EXP},
    {"expert", W, ADMIN | SUP},
    {"warehouse", R, ADMIN | DUTY | CMD | SUP | WH},
    {"warehouse", W, ADMIN | WH},
    {"shelter", R, ADMIN | DUTY | CMD | SUP | WH | INF},
    {"shelter", W, ADMIN | DUTY},
    {"equipment", R, ADMIN | DUTY | CMD | SUP | WH | EXP},
    {"equipment", W, ADMIN | WH},
    {"enterprise", R, ADMIN | DUTY | CMD | SUP | INS | ENT | EXP},
    {"enterprise", W, ADMIN | SUP | ENT},
    {"hazard_source", R, ADMIN | DUTY | CMD | SUP | INS | ENT | EXP},
    {"hazard_source", W, ADMIN | SUP | ENT},
    {"informant", R, ADMIN | DUTY | CMD | SUP | INF},
    {"informant", W, ADMIN | DUTY},
    {"duty_contact", R, ADMIN | DUTY | CMD | SUP | INF},
    {"duty_contact", W, ADMIN | DUTY},
};

static const yj_migration migrations[] = {
    {2, "base databases (registry tables from registry/schema.c)", NULL, registry_migration},
};

static const yj_event_kind events[] = {
    {"record", NULL}, /* a record changed: read permission on the registry it names */
};

const yj_module registry_module = {
    .name = "registry",
    .label = "基础数据库",
    YJ_LIST(routes, routes),
    YJ_LIST(perms, perms),
    YJ_LIST(registries, registries),
    YJ_LIST(migrations, migrations),
    YJ_LIST(events, events),
    .demo = demo_registry_records,
};
