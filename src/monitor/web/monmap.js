/*
 * monmap.js — the 监测与报警 layer of the one map (onemap.js).
 *
 * GET /api/v1/map?bbox=<view>&layers=sensors,alarms gives the sensors in the
 * window with their state (normal, offline, maintenance, or the colour of
 * their worst open alarm); they are drawn as circle markers in that colour,
 * alarmed ones larger and above the others, and re-queried when the view
 * moves (debounced) and when an alarm event arrives.  The popup shows the
 * name, latest value with unit and its age, and links to the alarm and the
 * sensor page.  The layer has the same shape as onemap's registry layers
 * ({reg, row, group, load, reloadSoon, visible}), so the map's search finds
 * sensors too.
 */
import { get, errorText } from '../../js/api.js';
import { h, debounce, toast, fmtTime } from '../../js/dom.js';
import { granted, onRecordEvent } from '../../js/session.js';
import { MAP_STATES, ALARM_STATES, levelPill, withUnit, fmtAge, freshnessBadge } from '../../js/monshared.js';
import { onAlarmEvent, onResync } from '../../js/live.js';

const ALARM_STATES_ON_MAP = ['red', 'orange', 'yellow', 'blue', 'alarm'];
const LEGEND = ['normal', 'offline', 'maintenance', 'blue', 'yellow', 'orange', 'red'];

/** Build the layer; null when the user may not read monitoring data. */
export function makeMonitorLayer(map, ctx) {
  if (!granted('monitor', 'read')) return null;
  const reg = { name: 'monitor', label: '监测与报警' };
  // Own pane above the registry markers (overlayPane is 400).
  if (!map.getPane('monitorPane')) {
    map.createPane('monitorPane');
    map.getPane('monitorPane').style.zIndex = 450;
  }
  const renderer = L.svg({ pane: 'monitorPane' });
  const group = L.layerGroup().addTo(map);
  const check = h('input', { type: 'checkbox', checked: true, id: 'layer-monitor', dataset: { registry: 'monitor' } });
  const count = h('span', { class: 'layer-count', id: 'layer-count-monitor' }, '…');
  const err = h('div', { class: 'layer-error', hidden: true });
  const legend = h('div', { class: 'mon-legend', id: 'mon-legend' }, LEGEND.map((s) =>
    h('span', { class: 'mon-legend-item' }, h('span', { class: 'swatch round', style: `background:${MAP_STATES[s].colour}` }), MAP_STATES[s].label)));
  const row = h('div', { class: 'layer-row layer-row-monitor' },
    h('label', { class: 'layer-label', for: 'layer-monitor' },
      check, h('span', { class: 'swatch round', style: `background:${MAP_STATES.red.colour}` }), reg.label, count),
    legend, err);

  let seq = 0;
  async function load() {
    if (map.yjRemoved) return;
    const b = map.getBounds().pad(0.1);
    const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
    const bbox = [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90), clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -90, 90)];
    if (!(bbox[0] < bbox[2] && bbox[1] < bbox[3])) return;
    const mine = ++seq;
    try {
      const gj = await get('map', { bbox: bbox.map((v) => v.toFixed(5)).join(','), layers: 'sensors,alarms' });
      if (mine !== seq || !ctx.alive() || map.yjRemoved) return;
      group.clearLayers();
      const feats = ((gj && gj.features) || []).filter((f) => f.geometry && f.properties);
      // Alarms drawn last so they lie on top.
      feats.sort((a, b) => Number(ALARM_STATES_ON_MAP.includes(a.properties.state)) - Number(ALARM_STATES_ON_MAP.includes(b.properties.state)));
      let alarmed = 0;
      for (const f of feats) {
        const p = f.properties;
        const [lon, lat] = f.geometry.coordinates;
        const st = MAP_STATES[p.state] || MAP_STATES.normal;
        const isAlarm = ALARM_STATES_ON_MAP.includes(p.state);
        if (isAlarm) alarmed++;
        if (isAlarm) {
          // A soft halo makes alarms stand out among the registry points.
          group.addLayer(L.circleMarker([lat, lon], {
            renderer, radius: 15, stroke: false, fillColor: st.colour, fillOpacity: 0.25, interactive: false,
            className: 'mon-halo',
          }));
        }
        const m = L.circleMarker([lat, lon], {
          renderer, radius: isAlarm ? 8 : 5, color: '#ffffff', weight: isAlarm ? 2 : 1.2,
          fillColor: st.colour, fillOpacity: 0.95,
          className: `marker marker-monitor mon-state-${p.state} mon-sensor-${p.id}${isAlarm ? ' mon-alarm' : ''}`,
        });
        m.feature = f;
        m.bindPopup(() => popupFor(p));
        m.bindTooltip(String(p.name || ''), { direction: 'top', offset: [0, -6] });
        group.addLayer(m);
      }
      count.textContent = alarmed ? `${feats.length}（报警 ${alarmed}）` : String(feats.length);
      err.hidden = true;
    } catch (e) {
      if (mine !== seq) return;
      count.textContent = '!';
      err.textContent = `加载失败：${errorText(e)}`;
      err.hidden = false;
      if (e.status !== 401) toast(`监测图层加载失败：${errorText(e)}`);
    }
  }
  // Redrawing would close an open popup (opening one may pan the map): wait
  // until it is closed.
  let dirty = false;
  const popupOpen = () => {
    let open = false;
    group.eachLayer((m) => { open = open || (m.isPopupOpen && m.isPopupOpen()); });
    return open;
  };
  const refresh = () => {
    if (!check.checked) return;
    if (popupOpen()) { dirty = true; return; }
    load();
  };
  const reloadSoon = debounce(refresh, 400);
  map.on('moveend', debounce(refresh, 300));
  map.on('popupclose', () => { if (dirty) { dirty = false; reloadSoon(); } });
  check.addEventListener('change', () => {
    if (check.checked) { group.addTo(map); load(); } else group.remove();
  });
  ctx.onDispose(onAlarmEvent(reloadSoon));
  ctx.onDispose(onResync(reloadSoon));
  ctx.onDispose(onRecordEvent((msg) => { if (msg.registry === 'sensor') reloadSoon(); }));

  return { reg, row, group, reloadSoon, load, visible: () => check.checked, replaces: ['sensor'] };
}

function popupFor(p) {
  const st = MAP_STATES[p.state] || MAP_STATES.normal;
  const line = (label, v) => (v === undefined || v === null || v === '' ? null : h('div', {}, h('span', { class: 'muted' }, `${label}：`), v));
  const hasValue = p.value !== null && p.value !== undefined;
  return h('div', { class: 'popup popup-monitor' },
    h('div', { class: 'popup-title' }, p.name || p.code || `#${p.id}`),
    h('div', { class: 'muted' }, '传感器', p.type ? ` · ${p.type}` : ''),
    line('监测对象', p.object),
    line('状态', h('span', { class: 'map-state-label', style: `color:${st.colour}` }, st.label)),
    line('最新值', hasValue ? h('span', {}, h('strong', {}, withUnit(p.value, p.unit)), ' ', h('span', { class: 'muted' }, fmtAge(p.age_s)), ' ', freshnessBadge(p)) : h('span', {}, '无数据 ', freshnessBadge(p))),
    hasValue ? line('数据时间', fmtTime(p.ts)) : null,
    p.alarm_id ? h('div', { class: 'popup-alarm' }, levelPill(p.alarm_level, true), ' ', p.alarm_title || '', ' ',
      h('span', { class: 'muted' }, ALARM_STATES[p.alarm_state] || '')) : null,
    h('div', { class: 'popup-links' },
      p.alarm_id && granted('alarm', 'read') ? h('a', { class: 'popup-link popup-alarm-link', href: `#/mon/alarms/${p.alarm_id}` }, '报警详情 »') : null,
      h('a', { class: 'popup-link popup-sensor-link', href: `#/mon/sensors/${p.id}` }, '监测曲线 »')));
}
