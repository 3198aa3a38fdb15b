/*
 * monshared.js — words, colours and small widgets shared by the M2
 * monitoring pages (monitor.js, sensors.js), the live alarm stream
 * (live.js) and the monitoring layer of the one map (monmap.js).
 *
 * Levels are the national four: 1 红色（一级）… 4 蓝色（四级）.  Every code the
 * API speaks (alarm state, rule kind, reject reason, work-order state, map
 * state) has its Chinese label here, so pages never show a raw code.
 */
import { h } from './dom.js';
import { topRegions, rootRegion, regionChildren } from './session.js';

export const LEVELS = {
  1: { name: 'red', label: '红色', rank: '一级', colour: '#d32f2f' },
  2: { name: 'orange', label: '橙色', rank: '二级', colour: '#f57c00' },
  3: { name: 'yellow', label: '黄色', rank: '三级', colour: '#f9c400' },
  4: { name: 'blue', label: '蓝色', rank: '四级', colour: '#1e6fd9' },
};
/* Rule params name levels by colour; the API's numbers by rank. */
export const LEVEL_BY_NAME = { red: 1, orange: 2, yellow: 3, blue: 4 };

export const ALARM_STATES = {
  raised: '已报警',
  acknowledged: '已确认',
  verified: '已核实',
  disposing: '处置中',
  closed: '已关闭',
};
export const CONDS = { active: '持续中', cleared: '已恢复' };
export const VERDICTS = { real: '真实险情', false: '误报', fault: '设备故障' };
export const RULE_KINDS = { threshold: '阈值', rate: '变化率', sum: '累计值', multi: '多传感器', gap: '数据中断' };

/* Timeline actions: the engine's (raised … escalated) and people's steps. */
export const TIMELINE_ACTIONS = {
  raised: '触发报警',
  folded: '再次超限',
  upgraded: '级别升级',
  cleared: '条件恢复',
  escalated: '逐级上报',
  acknowledged: '确认',
  verified: '核实',
  disposing: '处置',
  closed: '关闭',
};

export const WORKORDER_STATES = { dispatched: '已派单', repaired: '已维修', restored: '已恢复' };

export const REJECT_REASONS = {
  malformed: '格式错误',
  unknown_sensor: '未知传感器',
  out_of_range: '超出量程',
  future: '时间超前',
  duplicate: '重复数据',
  retired: '传感器已停用',
  forbidden: '不在网关辖区',
};
export const SOURCES = { http: '网关', mqtt: 'MQTT', kj: 'KJ文件' };

/* Map states (GET /map properties.state) → colour and label. */
export const MAP_STATES = {
  normal: { label: '正常', colour: '#2e7d32' },
  offline: { label: '离线', colour: '#9e9e9e' },
  maintenance: { label: '维护', colour: '#8e24aa' },
  blue: { label: '蓝色报警', colour: LEVELS[4].colour },
  yellow: { label: '黄色报警', colour: LEVELS[3].colour },
  orange: { label: '橙色报警', colour: LEVELS[2].colour },
  red: { label: '红色报警', colour: LEVELS[1].colour },
  alarm: { label: '报警', colour: LEVELS[1].colour },
};

export function levelInfo(level) {
  return LEVELS[Number(level)] || { name: 'unknown', label: '未知', rank: '', colour: '#607080' };
}

/** A coloured level pill: 红色 一级. */
export function levelPill(level, short = false) {
  const l = levelInfo(level);
  return h('span', { class: `level-pill level-${l.name}`, title: `${l.label}预警（${l.rank}）` },
    short ? l.label : `${l.label} ${l.rank}`);
}

export function stateBadge(state) {
  return h('span', { class: `state-badge state-${state}` }, ALARM_STATES[state] || state || '');
}

/** A measured value without float noise: 0.30000000000000004 → 0.3. */
export function fmtNum(v) {
  if (v === null || v === undefined || v === '') return '';
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  return String(Number(n.toFixed(Math.abs(n) >= 1000 ? 1 : 3)));
}

export function withUnit(v, unit) {
  const s = fmtNum(v);
  return s === '' ? '—' : unit ? `${s} ${unit}` : s;
}

/** Age in seconds as 刚刚 / N 秒前 / N 分钟前 / N 小时前 / N 天前. */
export function fmtAge(ageS) {
  if (ageS === null || ageS === undefined || !Number.isFinite(Number(ageS))) return '';
  const s = Math.max(0, Math.round(Number(ageS)));
  if (s < 10) return '刚刚';
  if (s < 60) return `${s} 秒前`;
  if (s < 3600) return `${Math.floor(s / 60)} 分钟前`;
  if (s < 86400) return `${Math.floor(s / 3600)} 小时前`;
  return `${Math.floor(s / 86400)} 天前`;
}

/* Ten minutes without data is what the default gap rule calls offline. */
const OFFLINE_AFTER_S = 600;

/**
 * The freshness badge of a latest value ({value, age_s, stale}): nothing
 * when fresh, 离线 when there is no value or it is older than ten minutes,
 * else 数据陈旧 (older than twice the reporting interval).
 */
export function freshnessBadge(latest) {
  if (!latest) return null;
  if (latest.value === null || latest.value === undefined) return h('span', { class: 'fresh-badge fresh-offline' }, '离线');
  if (!latest.stale) return null;
  return Number(latest.age_s) >= OFFLINE_AFTER_S
    ? h('span', { class: 'fresh-badge fresh-offline', title: '超过 10 分钟未收到数据' }, '离线')
    : h('span', { class: 'fresh-badge fresh-stale', title: '超过两个上报周期未收到数据' }, '数据陈旧');
}

/* ---- region names ----------------------------------------------------------- */

let regionNames = new Map();

/** Forget cached names (on logout: another user sees another region tree). */
export function resetMonShared() { regionNames = new Map(); }

/**
 * Name of a region code as “县 乡镇” (resolved through the caller's own
 * region tree; falls back to the code).  Cached per code.
 */
export function regionName(code) {
  const c = String(code || '');
  if (!c) return Promise.resolve('');
  if (!regionNames.has(c)) {
    regionNames.set(c, (async () => {
      const tops = await topRegions();
      const county = tops.find((r) => c.startsWith(String(r.code)));
      if (!county) {
        const root = await rootRegion();
        return c === String(root.code) ? root.name : c;
      }
      let name = county.name;
      if (c.length > String(county.code).length) {
        const kids = await regionChildren(county.code);
        const town = kids.find((r) => c.startsWith(String(r.code)));
        if (town) name += ` ${town.name}`;
      }
      return name;
    })().catch(() => c));
  }
  return regionNames.get(c);
}

/** A span showing the code at once and the region's name when known. */
export function regionText(code) {
  const el = h('span', { class: 'region-text', title: String(code || '') }, String(code || ''));
  regionName(code).then((n) => { el.textContent = n; });
  return el;
}

/** Today as YYYY-MM-DD in Beijing time (the day the health figures use). */
export function beijingDay(ms = Date.now()) {
  return new Date(ms + 8 * 3600000).toISOString().slice(0, 10);
}
