/*
 * schema.c — the base databases (基础数据库) declared as field tables.
 *
 * Each registry below is data, not code: its fields, their Chinese labels,
 * types, options, units and ranges.  Everything else (SQL, validation, CSV,
 * forms, OpenAPI) is derived from these tables.  Options follow the seeds
 * (002:L292 names the databases; 001:L121 four informant levels; shelter
 * classes Ⅰ/Ⅱ/Ⅲ and 室内型/综合性/乡村 per GB 21734 and the 2023 shelter
 * classification) and SPEC M1.
 */
#include "registry.h"
#include "../monitor/monitor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPTS(...)     ((const char *const[]){__VA_ARGS__, NULL})
#define RANGE(lo, hi) .has_range = true, .min = (lo), .max = (hi)
#define COUNT_OF(a)   (sizeof(a) / sizeof((a)[0]))

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

/* ---- 监测对象 monitored objects (M2) ----------------------------------------
 * What sensors are installed at: a mine, a major hazard source, a tailings
 * pond, a river station ...  The code is the object's own identifier; for a
 * coal mine it is the 煤矿编码 its KJ system writes into every file. */
static const yj_field monitored_object_fields[] = {
    {"code", "对象编码", YJ_F_TEXT, true, .maxlen = 40},
    {"name", "对象名称", YJ_F_TEXT, true},
    {"kind", "对象类型", YJ_F_ENUM, true,
     OPTS("煤矿", "非煤矿山", "危险化学品重大危险源", "尾矿库", "粉尘涉爆车间", "雨量站",
          "河道水文站", "水库水位站", "地质灾害隐患点", "森林防火监测点", "地震台站", "燃气管网",
          "供水管网", "消防管网", "排水管网", "桥梁", "下穿通道")},
    {"enterprise_id", "所属企业", YJ_F_REF, false, .ref = "enterprise"},
    {"operator", "管理单位", YJ_F_TEXT, false},
    {"contact", "联系人", YJ_F_TEXT, false},
    {"phone", "联系电话", YJ_F_PHONE, false},
    {"status", "状态", YJ_F_ENUM, true, OPTS("运行", "停用"), .def = "运行"},
};

/* ---- 传感器 sensors (M2) ----------------------------------------------------
 * Unit, physical range and reporting interval default from the sensor type
 * (monitor/types.c) when left blank.  The owning enterprise is copied from
 * the monitored object so enterprise users see their own sensors. */
static yj_field sensor_fields[] = {
    /* not const: type options set in registry_init() */
    {"code", "传感器编码", YJ_F_TEXT, true, .maxlen = 63},
    {"name", "传感器名称", YJ_F_TEXT, true},
    {"object_id", "监测对象", YJ_F_REF, true, .ref = "monitored_object"},
    {"type", "传感器类型", YJ_F_ENUM, true}, /* options: mon_type_labels() */
    {"unit", "单位", YJ_F_TEXT, false, .maxlen = 16},
    {"range_lo", "量程下限", YJ_F_REAL, false, RANGE(-1e9, 1e9)},
    {"range_hi", "量程上限", YJ_F_REAL, false, RANGE(-1e9, 1e9)},
    {"interval_s", "上报周期", YJ_F_INT, false, .unit = "秒", RANGE(1, 86400)},
    {"location", "安装位置", YJ_F_TEXT, false},
    {"install_date", "安装日期", YJ_F_DATE, false},
    {"status", "状态", YJ_F_ENUM, true, OPTS("正常", "维护", "停用"), .def = "正常"},
    {"enterprise_id", "所属企业", YJ_F_REF, false, .ref = "enterprise"},
};

/* ---- M3: who a warning reaches ------------------------------------------------------
 * Households and residents (户/居民) with their address points, the
 * vulnerable (老幼病残孕) and each one's one-to-one contact (包保联系人,
 * 004:L188); village broadcast terminals (应急广播/大喇叭, 002:L159); the
 * people responsible for answering a warning (叫应责任人) per village,
 * township, county, city and enterprise (000:L107).  A record's region is
 * its village (12-digit code) where one is known. */
static const yj_field household_fields[] = {
    {"code", "户号", YJ_F_TEXT, true, .maxlen = 40},
    {"name", "户主", YJ_F_TEXT, true}, /* a household is known by its head's name */
    {"phone", "联系电话", YJ_F_PHONE, false},
    {"address", "住址", YJ_F_TEXT, true},
    {"members", "人口数", YJ_F_INT, false, .unit = "人", RANGE(0, 100)},
};

static const yj_field resident_fields[] = {
    {"code", "居民编号", YJ_F_TEXT, true, .maxlen = 40},
    {"name", "姓名", YJ_F_TEXT, true},
    {"phone", "手机号码", YJ_F_PHONE, false},
    {"household_id", "所属户", YJ_F_REF, false, .ref = "household"},
    {"vulnerable", "特殊人群", YJ_F_TAGS, false, OPTS("老", "幼", "病", "残", "孕")},
    {"contact_name", "包保联系人", YJ_F_TEXT, false},
    {"contact_phone", "包保联系人电话", YJ_F_PHONE, false},
    {"status", "状态", YJ_F_ENUM, true, OPTS("在册", "外出", "迁出"), .def = "在册"},
};

static const yj_field broadcast_terminal_fields[] = {
    {"code", "终端编号", YJ_F_TEXT, true, .maxlen = 40},
    {"name", "终端名称", YJ_F_TEXT, true},
    {"kind", "终端类型", YJ_F_ENUM, true,
     OPTS("村级大喇叭", "室外音柱", "室内终端", "智能音箱", "其他")},
    {"mqtt_topic", "MQTT 地址", YJ_F_TEXT, false, .maxlen = 120},
    {"coverage_m", "覆盖半径", YJ_F_INT, false, .unit = "米", RANGE(10, 20000), .def = "500"},
    {"status", "状态", YJ_F_ENUM, true, OPTS("正常", "故障", "停用"), .def = "正常"},
};

static const yj_field responsible_person_fields[] = {
    {"name", "姓名", YJ_F_TEXT, true},
    {"phone", "手机号码", YJ_F_PHONE, true},
    {"level", "层级", YJ_F_ENUM, true, OPTS("村级", "乡级", "县级", "市级", "企业")},
    {"post", "职务", YJ_F_TEXT, false},
    {"call_order", "叫应顺序", YJ_F_INT, true, RANGE(1, 9), .def = "1"},
    {"enterprise_id", "所属企业", YJ_F_REF, false, .ref = "enterprise"},
    {"status", "状态", YJ_F_ENUM, true, OPTS("在岗", "离岗"), .def = "在岗"},
};

#define REG(id, lbl, colour, key, typef, statusf, entf, ...)                                       \
    {                                                                                              \
        .name = #id, .label = lbl, .icon = colour, .fields = id##_fields,                          \
        .nfields = COUNT_OF(id##_fields), .key_field = key, .type_field = typef,                   \
        .status_field = statusf, .enterprise_field = entf, __VA_ARGS__                             \
    }

/* Not const: registry_init() derives each yj_table from the fields. */
static yj_registry registries[] = {
    REG(rescue_team, "应急救援队伍", "#d62728", "name", "category", "status", NULL),
    REG(expert, "应急专家", "#9467bd", "phone", "field", "status", NULL),
    REG(warehouse, "应急物资仓库", "#8c564b", "name", "tier", "status", NULL),
    REG(shelter, "应急避难场所", "#2ca02c", "name", "class", "status", NULL),
    REG(equipment, "大型应急装备", "#ff7f0e", "code", "type", "status", NULL),
    REG(enterprise, "企业", "#1f77b4", "credit_code", "industry", "status", "id"),
    REG(hazard_source, "重大危险源", "#e377c2", "code", "level", "status", "enterprise_id"),
    REG(informant, "灾害信息员", "#17becf", "phone", "level", "status", NULL),
    REG(duty_contact, "值班联系人", "#7f7f7f", "phone", "duty_role", NULL, NULL),
    /* M2, created by migration 4 */
    REG(monitored_object, "监测对象", "#bcbd22", "code", "kind", "status", "enterprise_id",
        .since = 4),
    REG(sensor, "传感器", "#17a2b8", "code", "type", "status", "enterprise_id", .since = 4,
        .prepare = sensor_prepare),
    /* M3, created by migration 9 (household before resident, which refers to it) */
    REG(household, "居民户", "#6b8e23", "code", NULL, NULL, NULL, .since = 9),
    REG(resident, "居民", "#20b2aa", "code", NULL, "status", NULL, .since = 9),
    REG(broadcast_terminal, "应急广播终端", "#ff8c00", "code", "kind", "status", NULL, .since = 9),
    REG(responsible_person, "叫应责任人", "#b22222", "phone", "level", "status", "enterprise_id",
        .since = 9),
};

static yj_column columns[COUNT_OF(registries)][32];

static yj_coltype field_coltype(yj_ftype t)
{
    switch (t) {
    case YJ_F_BOOL:
        return YJ_COL_BOOL;
    case YJ_F_INT:
    case YJ_F_REF:
        return YJ_COL_INT;
    case YJ_F_REAL:
        return YJ_COL_REAL;
    default:
        return YJ_COL_TEXT;
    }
}

static char references[COUNT_OF(registries)][32][48];

void registry_init(void)
{
    sensor_fields[3].options = mon_type_labels();
    for (size_t i = 0; i < COUNT_OF(registries); i++) {
        yj_registry *r = &registries[i];
        for (size_t f = 0; f < r->nfields && f < 32; f++) {
            columns[i][f].name = r->fields[f].name;
            columns[i][f].type = field_coltype(r->fields[f].type);
            columns[i][f].references = NULL;
            if (r->fields[f].type == YJ_F_REF) {
                snprintf(references[i][f], sizeof references[i][f], "%s(id)", r->fields[f].ref);
                columns[i][f].references = references[i][f];
            }
        }
        r->table = (yj_table){
            .name = r->name,
            .cols = columns[i],
            .ncols = r->nfields,
            .search_col = registry_field(r, "name") ? "name" : r->key_field,
            .key_col = r->key_field,
            .enterprise_col = r->enterprise_field,
        };
    }
}

size_t registry_count(void)
{
    return COUNT_OF(registries);
}

const yj_registry *registry_at(size_t i)
{
    return i < COUNT_OF(registries) ? &registries[i] : NULL;
}

const yj_registry *registry_find(const char *name)
{
    for (size_t i = 0; i < COUNT_OF(registries); i++)
        if (strcmp(registries[i].name, name) == 0)
            return &registries[i];
    return NULL;
}

const yj_field *registry_field(const yj_registry *r, const char *name)
{
    for (size_t i = 0; i < r->nfields; i++)
        if (strcmp(r->fields[i].name, name) == 0)
            return &r->fields[i];
    return NULL;
}

static bool has_refs(const yj_registry *r)
{
    for (size_t f = 0; f < r->nfields; f++)
        if (r->fields[f].type == YJ_F_REF)
            return true;
    return false;
}

/* Registries without references first, so every REFERENCES target exists
 * (references are one level deep: a registry pointing at a registry that
 * itself points elsewhere would need a real topological order). */
static yj_code migrate_since(yj_conn *c, int since, yj_err *err)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < COUNT_OF(registries); i++) {
            const yj_registry *r = &registries[i];
            if (r->since != since || (since == 0 && has_refs(r) != (pass == 1)) ||
                (since != 0 && pass == 1))
                continue;
            char *ddl = yj_table_ddl(&r->table);
            yj_code rc = yj_exec(c, ddl, err);
            free(ddl);
            if (rc != YJ_OK)
                return rc;
        }
    }
    return YJ_OK;
}

/* Migration 2: the base databases of issue 3.  Later registries are created
 * by their own migration (in array order, so a registry may reference one
 * declared before it). */
yj_code registry_migrate(yj_conn *c, yj_err *err)
{
    return migrate_since(c, 0, err);
}

yj_code registry_migrate_m2(yj_conn *c, yj_err *err)
{
    return migrate_since(c, 4, err);
}

yj_code registry_migrate_m3(yj_conn *c, yj_err *err)
{
    return migrate_since(c, 9, err);
}
