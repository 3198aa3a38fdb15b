/*
 * sensors.js — monitoring data of sensors:
 *
 *   #/mon/sensors[?object_id=&region=&q=&state=&offset=]  监测数据: latest value of every sensor
 *   #/mon/sensors/<id>[?range=1h|6h|24h|7d]               the sensor page: latest value and
 *                                                         its age, open alarms, history chart
 *
 * Latest values come from GET /sensors/latest (value, ts, age_s, stale,
 * alarm_level); history from GET /sensors/{id}/history with
 * resolution=auto (raw up to 6 h, minute aggregates up to 7 d); the alarm
 * thresholds drawn on the chart are those of the threshold rule that
 * applies to the sensor: its own rule, else its type's, else the built-in
 * default (GET /rules).
 */
import { get, errorText } from '../../js/api.js';
import { h, setChildren, fmtTime, toast, debounce } from '../../js/dom.js';
import { granted, topRegions, refName } from '../../js/session.js';
import {
  MAP_STATES, levelPill, stateBadge, fmtNum, withUnit, fmtAge, freshnessBadge, regionText, CONDS,
} from '../../js/monshared.js';
import { onAlarmEvent, onResync } from '../../js/live.js';
import { drawHistory, autoResize, thresholdsOf } from './charts.js';

const RANGES = [['1h', '1 小时', 3600000], ['6h', '6 小时', 6 * 3600000], ['24h', '24 小时', 86400000], ['7d', '7 天', 7 * 86400000]];
const LIST_LIMIT = 100;

/** The map's state words for a latest row: alarm colour, maintenance, offline, normal. */
function sensorState(s) {
  if (s.alarm_level) return 'alarm';
  if (s.status && s.status !== '正常') return 'maintenance';
  if (s.stale) return 'offline';
  return 'normal';
}
const STATE_FILTERS = [['', '全部状态'], ['alarm', '报警中'], ['offline', '离线/陈旧'], ['maintenance', '维护/停用'], ['normal', '正常']];

/* ====================================================================== */
/* 监测数据 (latest values)                                                */
/* ====================================================================== */

export async function renderSensorList(view, ctx) {
  const q = ctx.query;
  const objectId = /^\d+$/.test(q.get('object_id') || '') ? q.get('object_id') : '';
  const region = q.get('region') || '';
  const text = (q.get('q') || '').trim();
  const stateF = STATE_FILTERS.some(([k]) => k && k === q.get('state')) ? q.get('state') : '';
  const offset = Math.max(0, Number(q.get('offset')) || 0);
  const go = (changes) => {
    const next = new URLSearchParams(q);
    for (const [k, v] of Object.entries(changes)) { if (v === '' || v === null || v === undefined) next.delete(k); else next.set(k, v); }
    if (!('offset' in changes)) next.delete('offset');
    const s = next.toString();
    location.hash = `#/mon/sensors${s ? `?${s}` : ''}`;
  };

  const search = h('input', { type: 'search', class: 'search', id: 'sensor-q', placeholder: '按名称或编码查找', value: text });
  const regionSel = h('select', { class: 'filter', id: 'filter-region', 'aria-label': '区县', onchange: () => go({ region: regionSel.value }) },
    h('option', { value: '' }, '全部区县'));
  topRegions().then((items) => {
    for (const r of items) regionSel.appendChild(h('option', { value: r.code, selected: region === String(r.code) }, r.name));
  }).catch((e) => toast(`区县列表加载失败：${errorText(e)}`));
  const stateSel = h('select', { class: 'filter', id: 'filter-sensor-state', 'aria-label': '状态', onchange: () => go({ state: stateSel.value }) },
    STATE_FILTERS.map(([k, label]) => h('option', { value: k, selected: k === stateF }, label)));
  const title = h('h2', { class: 'page-title' }, '监测数据');
  const wrap = h('div', { class: 'table-wrap' });
  const pager = h('div', { class: 'pager' });
  setChildren(view, h('div', { class: 'page' },
    title,
    h('div', { class: 'toolbar' },
      h('form', { class: 'search-form', onsubmit: (ev) => { ev.preventDefault(); go({ q: search.value.trim() }); } },
        search, h('button', { type: 'submit', class: 'btn' }, '查询')),
      regionSel, stateSel,
      objectId ? h('a', { class: 'btn btn-plain', href: '#/mon/sensors' }, '显示全部监测对象') : null,
      h('span', { class: 'toolbar-spacer' }),
      h('span', { class: 'muted', id: 'sensor-updated' })),
    wrap, pager));
  if (objectId) {
    refName('monitored_object', objectId).then((n) => { title.textContent = `监测数据 · ${n}`; }).catch(() => {});
  }

  async function load() {
    let data;
    try {
      data = await get('sensors/latest', { object_id: objectId || undefined, region: region || undefined });
    } catch (e) {
      if (ctx.alive()) setChildren(wrap, h('div', { class: 'form-error', role: 'alert' }, `加载失败：${errorText(e)}`));
      return;
    }
    if (!ctx.alive()) return;
    let items = data.items || [];
    if (text) items = items.filter((s) => String(s.name || '').includes(text) || String(s.code || '').includes(text));
    if (stateF) items = items.filter((s) => sensorState(s) === stateF);
    // Alarms first (most severe), then offline, then the rest by id.
    const rank = (s) => (s.alarm_level ? Number(s.alarm_level) : s.stale && s.status === '正常' ? 5 : 6);
    items.sort((a, b) => rank(a) - rank(b) || a.id - b.id);
    const page = items.slice(offset, offset + LIST_LIMIT);
    const rows = page.map((s) => {
      const st = sensorState(s);
      return h('tr', { dataset: { id: String(s.id), state: st } },
        h('td', {}, h('a', { href: `#/mon/sensors/${s.id}` }, s.name || s.code)),
        h('td', { class: 'mono' }, s.code || ''),
        h('td', {}, s.type || ''),
        h('td', { class: 'nowrap num latest-cell' }, withUnit(s.value, s.unit)),
        h('td', { class: 'nowrap' }, s.value === null || s.value === undefined ? '' : fmtAge(s.age_s), ' ', freshnessBadge(s)),
        h('td', { class: 'nowrap' }, s.alarm_level ? levelPill(s.alarm_level) : h('span', { class: `map-state map-state-${st}` }, (MAP_STATES[st === 'alarm' ? 'red' : st] || {}).label || '')),
        h('td', {}, s.status || ''),
        h('td', {}, objectLink(s.object_id)),
        h('td', {}, regionText(s.region_code)));
    });
    const heads = ['传感器', '编码', '类型', '最新值', '更新', '状态', '设备状态', '监测对象', '所属区划'];
    setChildren(wrap, h('table', { class: 'data-table', id: 'sensor-table' },
      h('thead', {}, h('tr', {}, heads.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: heads.length, class: 'empty' }, '没有符合条件的传感器')))));
    const total = items.length;
    const pages = Math.max(1, Math.ceil(total / LIST_LIMIT));
    setChildren(pager,
      h('span', { id: 'sensor-total' }, `共 ${total} 个传感器，第 ${Math.floor(offset / LIST_LIMIT) + 1}/${pages} 页`),
      h('button', { type: 'button', class: 'btn btn-small', disabled: offset <= 0, onclick: () => go({ offset: Math.max(0, offset - LIST_LIMIT) || '' }) }, '上一页'),
      h('button', { type: 'button', class: 'btn btn-small', disabled: offset + LIST_LIMIT >= total, onclick: () => go({ offset: offset + LIST_LIMIT }) }, '下一页'));
    const upd = document.getElementById('sensor-updated');
    if (upd) upd.textContent = `更新于 ${fmtTime(Date.now())}`;
  }
  await load();
  const reload = debounce(load, 1500);
  ctx.onDispose(onAlarmEvent(reload));
  ctx.onDispose(onResync(reload));
  const timer = setInterval(load, 30000);
  ctx.onDispose(() => clearInterval(timer));
}

function objectLink(id) {
  if (!id) return '';
  const a = h('a', { href: `#/reg/monitored_object/${id}` }, `#${id}`);
  if (granted('monitored_object', 'read')) refName('monitored_object', id).then((n) => { a.textContent = n; }).catch(() => {});
  return a;
}

/* ====================================================================== */
/* The sensor page                                                         */
/* ====================================================================== */

export async function renderSensor(view, ctx, id) {
  const q = ctx.query;
  const range = RANGES.find(([k]) => k === q.get('range')) || RANGES[1];
  const rec = await get(`registries/sensor/${encodeURIComponent(id)}`);
  if (!ctx.alive()) return;

  const latestBox = h('div', { class: 'latest-card', id: 'sensor-latest' }, h('div', { class: 'muted' }, '正在加载最新值…'));
  const alarmsBox = h('div', { id: 'sensor-alarms' });
  const siblings = h('div', { class: 'siblings', id: 'sensor-siblings' });
  const chartEl = h('div', { class: 'chart', id: 'sensor-chart', role: 'img', 'aria-label': `${rec.name}历史曲线` });
  const chartNote = h('div', { class: 'chart-note muted', id: 'chart-note' });
  const rangeBtns = h('div', { class: 'range-btns', role: 'group', 'aria-label': '时间范围' },
    RANGES.map(([k, label]) => h('a', { class: `btn btn-small${k === range[0] ? ' btn-primary' : ''}`, id: `range-${k}`,
      href: `#/mon/sensors/${encodeURIComponent(id)}?range=${k}`, 'aria-current': k === range[0] ? 'true' : null }, label)));
  const facts = [
    ['编码', h('span', { class: 'mono' }, rec.code || '')],
    ['类型', rec.type],
    ['量程', rec.range_lo !== null && rec.range_lo !== undefined && rec.range_hi !== null && rec.range_hi !== undefined ? `${fmtNum(rec.range_lo)} – ${fmtNum(rec.range_hi)} ${rec.unit || ''}` : ''],
    ['上报周期', rec.interval_s ? `${rec.interval_s} 秒` : ''],
    ['安装位置', rec.location],
    ['设备状态', rec.status],
    ['监测对象', rec.object_id ? objectLink(rec.object_id) : ''],
    ['所属区划', regionText(rec.region_code)],
  ].filter(([, v]) => v !== '' && v !== null && v !== undefined);

  setChildren(view, h('div', { class: 'page sensor-page', id: 'sensor-page' },
    h('div', { class: 'crumbs' }, h('a', { href: '#/mon/sensors' }, '监测数据'), ' / ',
      rec.object_id ? [h('a', { href: `#/mon/sensors?object_id=${rec.object_id}` }, '本对象'), ' / '] : null, rec.name || rec.code),
    h('div', { class: 'page-head' },
      h('h2', { class: 'page-title', id: 'sensor-title' }, rec.name || rec.code),
      h('div', { class: 'actions' },
        granted('sensor', 'read') ? h('a', { class: 'btn', href: `#/reg/sensor/${rec.id}` }, '传感器档案') : null)),
    h('div', { class: 'sensor-top' },
      latestBox,
      h('table', { class: 'kv-table sensor-facts' }, h('tbody', {}, facts.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v)))))),
    alarmsBox,
    h('div', { class: 'chart-head' }, h('h3', {}, '历史曲线'), rangeBtns),
    h('div', { class: 'chart-wrap' }, chartEl),
    chartNote,
    siblings));

  // ---- latest value, its age ticking on the client clock
  let latest = null;
  let skew = 0;
  function drawLatest() {
    if (!latest) {
      setChildren(latestBox, h('div', { class: 'latest-value muted' }, '暂无数据'), h('span', { class: 'fresh-badge fresh-offline' }, '离线'));
      return;
    }
    const age = latest.ts ? (Date.now() + skew - latest.ts) / 1000 : null;
    const shown = { ...latest, age_s: age ?? latest.age_s };
    setChildren(latestBox,
      h('div', { class: 'latest-label muted' }, '最新值'),
      h('div', { class: `latest-value${latest.stale ? ' is-stale' : ''}`, id: 'latest-value' },
        latest.value === null || latest.value === undefined ? '—' : fmtNum(latest.value),
        h('span', { class: 'latest-unit' }, latest.value === null || latest.value === undefined ? '' : ` ${latest.unit || rec.unit || ''}`)),
      h('div', { class: 'latest-age', id: 'latest-age' },
        latest.ts ? [fmtAge(shown.age_s), h('span', { class: 'muted' }, `（${fmtTime(latest.ts)}）`)] : null, ' ', freshnessBadge(shown)),
      latest.alarm_level ? h('div', { class: 'latest-alarm' }, levelPill(latest.alarm_level), ' 报警中') : null);
  }
  async function loadLatest() {
    try {
      const data = await get('sensors/latest', { object_id: rec.object_id || undefined });
      if (!ctx.alive()) return;
      skew = Number(data.now) ? Number(data.now) - Date.now() : 0;
      const items = data.items || [];
      latest = items.find((s) => String(s.id) === String(rec.id)) || null;
      drawLatest();
      const others = items.filter((s) => String(s.id) !== String(rec.id));
      setChildren(siblings, others.length ? [h('h3', {}, '同一监测对象的其他传感器'),
        h('div', { class: 'sibling-list' }, others.map((s) => h('a', { class: `sibling map-state-${sensorState(s)}`, href: `#/mon/sensors/${s.id}` },
          h('span', { class: 'sibling-name' }, s.name || s.code), h('span', { class: 'sibling-value' }, withUnit(s.value, s.unit)),
          s.alarm_level ? levelPill(s.alarm_level, true) : freshnessBadge(s))))] : null);
    } catch (e) {
      if (ctx.alive()) setChildren(latestBox, h('div', { class: 'form-error' }, `最新值加载失败：${errorText(e)}`));
    }
  }

  // ---- open alarms of this sensor
  async function loadAlarms() {
    if (!granted('alarm', 'read')) return;
    try {
      const data = await get('alarms', { sensor_id: rec.id, open: 1, limit: 20 });
      if (!ctx.alive()) return;
      const items = data.items || [];
      setChildren(alarmsBox, items.length ? h('div', { class: 'sensor-alarm-list' },
        h('strong', {}, '未关闭的报警：'),
        items.map((a) => h('a', { class: 'sensor-alarm', href: `#/mon/alarms/${a.id}` },
          levelPill(a.level, true), ' ', a.title || `报警 #${a.id}`, ' ', stateBadge(a.state), ' ',
          h('span', { class: 'muted' }, CONDS[a.cond] || '')))) : null);
    } catch (e) {
      if (e.status !== 401) setChildren(alarmsBox, h('div', { class: 'form-error' }, `报警加载失败：${errorText(e)}`));
    }
  }

  // ---- history chart with the thresholds of the applicable rule
  let chart = null;
  let stopResize = null;
  ctx.onDispose(() => { if (stopResize) stopResize(); if (chart) chart.dispose(); });
  const rulePromise = applicableThreshold(rec).catch(() => null);
  async function loadChart() {
    const to = Date.now() + skew;
    const from = to - range[2];
    try {
      const [hist, rule] = await Promise.all([
        get(`sensors/${encodeURIComponent(rec.id)}/history`, { from: Math.round(from), to: Math.round(to), resolution: 'auto' }),
        rulePromise,
      ]);
      if (!ctx.alive()) return;
      const thresholds = rule ? thresholdsOf(rule.params) : [];
      chart = await drawHistory(chartEl, hist, { thresholds, direction: rule && rule.params && rule.params.direction });
      if (!ctx.alive()) { chart.dispose(); return; }
      if (!stopResize) stopResize = autoResize(chartEl, chart);
      chartEl.dataset.points = String((hist.points || []).length);
      chartEl.dataset.resolution = hist.resolution || '';
      const res = { raw: '原始读数', minute: '分钟均值（阴影为最小–最大）', hour: '小时均值（阴影为最小–最大）' }[hist.resolution] || hist.resolution;
      setChildren(chartNote,
        `${res}，${(hist.points || []).length} 个点。`,
        rule && thresholds.length
          ? ` 报警阈值（${rule.source}，${rule.params.direction === 'low' ? '低于' : '高于'}）：${thresholds.map((t) => `${['', '红色', '橙色', '黄色', '蓝色'][t.level]} ${fmtNum(t.value)}`).join('，')}`
          : ' 该传感器没有阈值规则。');
    } catch (e) {
      if (ctx.alive()) setChildren(chartNote, h('div', { class: 'form-error' }, `曲线加载失败：${errorText(e)}`));
    }
  }

  await Promise.all([loadLatest(), loadAlarms()]);
  if (!ctx.alive()) return;
  await loadChart();

  // ---- keep it current
  const ageTimer = setInterval(drawLatest, 10000);
  const refresh = debounce(() => { loadLatest(); loadAlarms(); if (range[2] <= 6 * 3600000) loadChart(); }, 800);
  const poll = setInterval(refresh, 30000);
  ctx.onDispose(() => { clearInterval(ageTimer); clearInterval(poll); });
  ctx.onDispose(onAlarmEvent((m) => { if (String(m.sensor_id) === String(rec.id)) refresh(); }));
  ctx.onDispose(onResync(refresh));
}

/**
 * The threshold rule that applies to a sensor record {id, type, region_code}:
 * its own, else its type's (most specific region), else the built-in
 * default.  Resolves to {params, source} or null (none, or switched off).
 */
export async function applicableThreshold(rec) {
  const data = await get('rules');
  const items = (data.items || []).filter((r) => r.kind === 'threshold');
  const own = items.find((r) => String(r.sensor_id) === String(rec.id));
  if (own) return own.enabled === false ? null : { params: own.params, source: '本传感器规则' };
  const region = String(rec.region_code || '');
  const typeRules = items.filter((r) => !r.sensor_id && r.sensor_type === rec.type && region.startsWith(String(r.region_code || '')))
    .sort((a, b) => String(b.region_code || '').length - String(a.region_code || '').length);
  if (typeRules.length) return typeRules[0].enabled === false ? null : { params: typeRules[0].params, source: '类型规则' };
  const def = (data.defaults || []).find((d) => d.kind === 'threshold' && d.sensor_type === rec.type);
  return def ? { params: def.params, source: '默认规则' } : null;
}

/**
 * A box with a sensor's history between from and to (used by the alarm
 * detail): title, chart, link to the sensor page.  opts: {title, marks,
 * sensor: {id, type, region_code} for the thresholds}.
 */
export function sensorHistoryBox(ctx, sensorId, from, to, opts = {}) {
  const el = h('div', { class: 'chart chart-small', id: 'alarm-chart' });
  const note = h('div', { class: 'chart-note muted' });
  const box = h('div', { class: 'history-box' },
    h('div', { class: 'chart-head' }, h('h3', {}, opts.title || '历史数据'),
      h('a', { href: `#/mon/sensors/${sensorId}`, class: 'btn btn-small' }, '查看传感器 »')),
    el, note);
  let chart = null;
  let stop = null;
  ctx.onDispose(() => { if (stop) stop(); if (chart) chart.dispose(); });
  (async () => {
    try {
      const [hist, rule] = await Promise.all([
        get(`sensors/${encodeURIComponent(sensorId)}/history`, { from: Math.round(from), to: Math.round(to), resolution: 'auto' }),
        opts.sensor ? applicableThreshold(opts.sensor).catch(() => null) : null,
      ]);
      if (!ctx.alive()) return;
      chart = await drawHistory(el, hist, { thresholds: rule ? thresholdsOf(rule.params) : [], direction: rule && rule.params.direction, marks: opts.marks });
      if (!ctx.alive()) { chart.dispose(); chart = null; return; }
      stop = autoResize(el, chart);
    } catch (e) {
      if (ctx.alive()) setChildren(note, h('div', { class: 'form-error' }, `曲线加载失败：${errorText(e)}`));
    }
  })();
  return box;
}
