/*
 * onemap.js — 一张图: every registry on one map.
 *
 * Base: county outlines (mapbase.js).  Overlays: one layer per registry the
 * user may read, loaded from /registries/{reg}/geojson as coloured circle
 * markers (colour = registry icon), switchable in a side panel that shows
 * the count per layer and a filter by the registry's type field.  Popups
 * link to the record's detail page.  A record event on the SSE stream
 * reloads the layer it concerns.  A search box finds loaded points by name.
 * Users who may read monitoring data also get the 监测与报警 layer
 * (monmap.js): sensors in the current view, coloured by state and alarm.
 */
import { get, errorText } from './api.js';
import { h, setChildren, debounce, safeColour, toast } from './dom.js';
import { readableRegistries, onRecordEvent, topRegions } from './session.js';
import { createBaseMap, settle } from './mapbase.js';
import { hooks } from './modules.js';

const MAX_POINTS = 1000;

export async function renderOneMap(view, ctx) {
  view.classList.add('onemap-view');
  const mapEl = h('div', { class: 'onemap', id: 'onemap' });
  const panelBody = h('div', { class: 'layer-panel-body' });
  const panel = h('aside', { class: 'layer-panel', id: 'layer-panel' },
    h('div', { class: 'layer-panel-head' },
      h('strong', {}, '图层'),
      h('button', { type: 'button', class: 'btn btn-small layer-toggle', 'aria-label': '收起或展开图层面板',
        onclick: () => panel.classList.toggle('collapsed') }, '收起/展开')),
    panelBody);
  setChildren(view, mapEl, panel);
  // On a phone the panel would hide most of the map: start it collapsed.
  if (window.matchMedia('(max-width: 768px)').matches) panel.classList.add('collapsed');

  const { map } = await createBaseMap(mapEl);
  ctx.onDispose(() => map.remove());
  settle(map);
  if (!ctx.alive()) return;

  // Counties for naming a point's region in its popup.
  let counties = [];
  topRegions().then((c) => { counties = c; }).catch((e) => toast(`区县列表加载失败：${errorText(e)}`));
  const regionName = (props) => {
    if (props.region_name) return props.region_name;
    const code = String(props.region_code || '');
    const c = counties.find((r) => code.startsWith(String(r.code)));
    return c ? c.name : code;
  };

  const search = h('input', { type: 'search', class: 'map-search', id: 'map-search', placeholder: '按名称查找已加载的点位' });
  const results = h('ul', { class: 'map-search-results', id: 'map-search-results' });
  panelBody.appendChild(h('div', { class: 'map-search-box' }, search, results));

  // The modules' layers first (the monitoring one: sensors coloured by state
  // and alarm level).  A registry such a layer already draws is off by default.
  const extra = hooks('mapLayer').map((f) => f(map, ctx)).filter(Boolean);
  const drawn = new Set(extra.flatMap((l) => l.replaces || []));
  const layers = [...extra,
    ...readableRegistries().map((reg) => makeLayer(reg, map, regionName, !drawn.has(reg.name)))];
  for (const l of layers) panelBody.appendChild(l.row);
  await Promise.all(layers.map((l) => l.load()));

  // Search among the loaded features of visible layers.
  search.addEventListener('input', debounce(() => {
    const q = search.value.trim();
    results.replaceChildren();
    if (!q) return;
    const hits = [];
    for (const l of layers) {
      if (!l.visible()) continue;
      l.group.eachLayer((m) => {
        const p = m.feature && m.feature.properties;
        if (p && String(p.name || '').includes(q) && hits.length < 20) hits.push({ m, p, reg: l.reg });
      });
    }
    if (!hits.length) results.appendChild(h('li', { class: 'muted' }, '未找到'));
    for (const { m, p, reg } of hits) {
      results.appendChild(h('li', {}, h('button', { type: 'button', class: 'link-btn', onclick: () => {
        map.setView(m.getLatLng(), Math.max(map.getZoom(), 12), { animate: false });
        m.openPopup();
      } }, p.name, h('span', { class: 'muted' }, ` · ${reg.label}`))));
    }
  }, 200));

  // Live updates: reload the changed registry's layer (debounced per layer).
  const unsubscribe = onRecordEvent((msg) => {
    const l = layers.find((x) => x.reg.name === msg.registry);
    if (l) l.reloadSoon();
  });
  ctx.onDispose(unsubscribe);
}

/** One overlay: its layer group, its row in the panel, and how to (re)load it. */
function makeLayer(reg, map, regionName, on = true) {
  const colour = safeColour(reg.icon);
  const group = L.layerGroup();
  if (on) group.addTo(map);
  const typeField = reg.fields.find((f) => f.name === reg.type_field);
  const statusField = reg.fields.find((f) => f.name === reg.status_field);
  const check = h('input', { type: 'checkbox', checked: on, id: `layer-${reg.name}`, dataset: { registry: reg.name } });
  const count = h('span', { class: 'layer-count', id: `layer-count-${reg.name}` }, '…');
  const filter = typeField && Array.isArray(typeField.options) && typeField.options.length
    ? h('select', { class: 'layer-filter', 'aria-label': `${reg.label}${typeField.label}筛选`, dataset: { registry: reg.name } },
      h('option', { value: '' }, `全部${typeField.label}`),
      typeField.options.map((o) => h('option', { value: o }, o)))
    : null;
  const err = h('div', { class: 'layer-error', hidden: true });
  const row = h('div', { class: 'layer-row' },
    h('label', { class: 'layer-label', for: `layer-${reg.name}` },
      check, h('span', { class: 'swatch round', style: `background:${colour}` }), reg.label, count),
    filter, err);

  let loading = null;
  async function load() {
    const params = { limit: MAX_POINTS };
    if (filter && filter.value) params[reg.type_field] = filter.value;
    count.textContent = '…';
    try {
      const gj = await get(`registries/${reg.name}/geojson`, params);
      group.clearLayers();
      const features = (gj && gj.features) || [];
      L.geoJSON(gj, {
        pointToLayer: (f, latlng) => L.circleMarker(latlng, {
          radius: 6, color: '#ffffff', weight: 1.5, fillColor: colour, fillOpacity: 0.9,
          className: `marker marker-${reg.name}`,
        }),
        onEachFeature: (f, layer) => {
          layer.bindPopup(() => popupFor(reg, f.properties || {}, typeField, statusField, regionName));
          layer.bindTooltip(String((f.properties && f.properties.name) || ''), { direction: 'top', offset: [0, -6] });
          group.addLayer(layer);
        },
      });
      const total = gj && typeof gj.total === 'number' ? gj.total : null;
      count.textContent = total !== null && total > features.length ? `${features.length}/${total}` : String(features.length);
      err.hidden = true;
    } catch (e) {
      count.textContent = '!';
      err.textContent = `加载失败：${errorText(e)}`;
      err.hidden = false;
      if (e.status !== 401) toast(`${reg.label}图层加载失败：${errorText(e)}`);
    }
  }
  const reloadSoon = debounce(() => { loading = load(); }, 400);

  check.addEventListener('change', () => {
    if (check.checked) group.addTo(map);
    else group.remove();
  });
  if (filter) filter.addEventListener('change', () => { loading = load(); });

  return {
    reg, row, group, reloadSoon,
    load: () => (loading = load()),
    visible: () => check.checked,
  };
}

function popupFor(reg, p, typeField, statusField, regionName) {
  const line = (label, v) => (v === undefined || v === null || v === '' ? null : h('div', {}, h('span', { class: 'muted' }, `${label}：`), String(v)));
  return h('div', { class: 'popup' },
    h('div', { class: 'popup-title' }, p.name || `#${p.id}`),
    h('div', { class: 'muted' }, reg.label),
    typeField ? line(typeField.label, p[typeField.name]) : null,
    statusField ? line(statusField.label, p[statusField.name]) : null,
    line('所属区划', regionName(p)),
    h('a', { class: 'popup-link', href: `#/reg/${reg.name}/${encodeURIComponent(p.id)}` }, '查看详情 »'));
}
