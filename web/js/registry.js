/*
 * registry.js — list, detail and edit pages for every base database (基础数据库).
 *
 * Nothing here knows a particular registry: the pages are generated from the
 * registry description of GET /api/v1/schema (fields with label, type,
 * required, options, unit, min/max, ref).  The list keeps its filters in the
 * hash (#/reg/shelter?q=..&status=..) so back/forward and links work.
 */
import { request, get, apiUrl, ifMatch, errorText } from './api.js';
import { h, setChildren, fmtTime, fmtValue, toTagArray, toBool, debounce, toast } from './dom.js';
import { can, onRecordEvent, topRegions, regionChildren, refName } from './session.js';
import { createBaseMap, settle } from './mapbase.js';
import { renderImport } from './csvimport.js';

/* Labels of the fields every record has besides its registry's own. */
const STD_LABELS = {
  id: '编号', version: '版本', region_code: '所属区划', region_name: '所属区划', lat: '纬度', lon: '经度',
  created_at: '创建时间', updated_at: '更新时间', updated_by: '更新人',
};
const ACTIONS = { create: '新建', update: '修改', delete: '删除', import: '导入', insert: '新建' };
const PAGE_SIZES = [20, 50, 100];

function fieldLabel(reg, name) {
  const f = reg.fields.find((x) => x.name === name);
  return f ? f.label : (STD_LABELS[name] || name);
}

/** Degrees to at most 6 decimals (about 0.1 m), without float noise. */
function fmtDeg(v) {
  return v === null || v === undefined || v === '' ? '' : String(Number(Number(v).toFixed(6)));
}

function withUnit(f) { return f.unit ? `${f.label}（${f.unit}）` : f.label; }

function hashFor(reg, query) {
  const s = query.toString();
  return `#/reg/${reg.name}${s ? `?${s}` : ''}`;
}

/* ====================================================================== */
/* List                                                                   */
/* ====================================================================== */

/** Columns of the list: the first few short fields, always with type and status. */
function listColumns(reg) {
  const short = reg.fields.filter((f) => f.type !== 'longtext');
  const cols = short.slice(0, 6);
  for (const n of [reg.type_field, reg.status_field]) {
    const f = n && reg.fields.find((x) => x.name === n);
    if (f && !cols.includes(f)) cols.push(f);
  }
  return cols;
}

export async function renderList(view, ctx, reg) {
  const q = ctx.query;
  const limit = PAGE_SIZES.includes(Number(q.get('limit'))) ? Number(q.get('limit')) : PAGE_SIZES[0];
  const offset = Math.max(0, Number(q.get('offset')) || 0);
  const typeF = reg.fields.find((f) => f.name === reg.type_field);
  const statusF = reg.fields.find((f) => f.name === reg.status_field);
  const writable = can(reg.name, 'write');

  const go = (changes, resetOffset = true) => {
    const next = new URLSearchParams(q);
    for (const [k, v] of Object.entries(changes)) {
      if (v === '' || v === null || v === undefined) next.delete(k); else next.set(k, v);
    }
    if (resetOffset && !('offset' in changes)) next.delete('offset');
    location.hash = hashFor(reg, next);
  };

  // ---- toolbar: search and filters
  const search = h('input', { type: 'search', class: 'search', id: 'list-q', placeholder: '按名称搜索', value: q.get('q') || '' });
  const filterSel = (f) => h('select', { class: 'filter', 'aria-label': f.label, id: `filter-${f.name}`,
    onchange: (ev) => go({ [f.name]: ev.target.value }) },
  h('option', { value: '' }, `全部${f.label}`),
  (f.options || []).map((o) => h('option', { value: o, selected: q.get(f.name) === o }, o)));
  const regionSel = h('select', { class: 'filter', id: 'filter-region', 'aria-label': '区县',
    onchange: (ev) => go({ region: ev.target.value }) }, h('option', { value: '' }, '全部区县'));
  topRegions().then((items) => {
    for (const r of items) regionSel.appendChild(h('option', { value: r.code, selected: q.get('region') === String(r.code) }, r.name));
  }).catch((e) => toast(`区划加载失败：${errorText(e)}`));

  const exportParams = new URLSearchParams();
  for (const [k, v] of q) if (k !== 'limit' && k !== 'offset' && v) exportParams.set(k, v);
  const exportHref = apiUrl(`registries/${reg.name}/export.csv`, exportParams);

  const importBox = h('div', { class: 'import-box', id: 'import-box' });
  const fileInput = h('input', { type: 'file', accept: '.csv,text/csv', hidden: true, id: 'import-file',
    onchange: () => {
      const file = fileInput.files && fileInput.files[0];
      fileInput.value = '';
      if (file) renderImport(importBox, reg, file, () => loadTable());
    } });

  const toolbar = h('div', { class: 'toolbar' },
    h('form', { class: 'search-form', onsubmit: (ev) => { ev.preventDefault(); go({ q: search.value.trim() }); } },
      search, h('button', { type: 'submit', class: 'btn' }, '查询')),
    typeF && typeF.options ? filterSel(typeF) : null,
    statusF && statusF.options && statusF !== typeF ? filterSel(statusF) : null,
    regionSel,
    h('button', { type: 'button', class: 'btn btn-plain', onclick: () => { location.hash = `#/reg/${reg.name}`; } }, '重置'),
    h('span', { class: 'toolbar-spacer' }),
    writable ? h('a', { class: 'btn btn-primary', href: `#/reg/${reg.name}/new`, id: 'btn-new' }, '新建') : null,
    h('a', { class: 'btn', href: exportHref, download: `${reg.label}.csv`, id: 'btn-export' }, '导出CSV'),
    writable ? h('button', { type: 'button', class: 'btn', id: 'btn-import', onclick: () => fileInput.click() }, '导入CSV') : null,
    fileInput);

  const tableWrap = h('div', { class: 'table-wrap' });
  const pager = h('div', { class: 'pager' });
  setChildren(view, h('div', { class: 'page' },
    h('h2', { class: 'page-title' }, reg.label),
    toolbar, importBox, tableWrap, pager));

  const cols = listColumns(reg);
  const sort = q.get('sort') || '';
  const order = q.get('order') === 'desc' ? 'desc' : 'asc';

  async function loadTable() {
    const params = new URLSearchParams(q);
    params.set('limit', String(limit));
    params.set('offset', String(offset));
    let data;
    try {
      data = await get(`registries/${reg.name}`, params);
    } catch (e) {
      setChildren(tableWrap, h('div', { class: 'form-error', role: 'alert' }, `加载失败：${errorText(e)}`));
      pager.replaceChildren();
      return;
    }
    if (!ctx.alive()) return;
    const th = (name, label) => {
      const active = sort === name;
      const arrow = active ? (order === 'asc' ? ' ▲' : ' ▼') : '';
      return h('th', { scope: 'col' }, h('button', { type: 'button', class: 'sort-btn', title: '点击排序',
        onclick: () => go({ sort: name, order: active && order === 'asc' ? 'desc' : 'asc' }) }, label + arrow));
    };
    const rows = (data.items || []).map((rec) => h('tr', {},
      cols.map((f, i) => h('td', {}, i === 0
        ? h('a', { href: `#/reg/${reg.name}/${rec.id}` }, fmtValue(f, rec[f.name]) || `#${rec.id}`)
        : (f.type === 'ref' ? refLink(f, rec[f.name]) : fmtValue(f, rec[f.name])))),
      h('td', {}, rec.region_name || rec.region_code || ''),
      h('td', { class: 'nowrap' }, fmtTime(rec.updated_at))));
    setChildren(tableWrap, h('table', { class: 'data-table', id: 'list-table' },
      h('thead', {}, h('tr', {}, cols.map((f) => th(f.name, withUnit(f))), th('region_code', '所属区划'), th('updated_at', '更新时间'))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: cols.length + 2, class: 'empty' }, '暂无数据')))));

    const total = Number(data.total) || 0;
    const pages = Math.max(1, Math.ceil(total / limit));
    const page = Math.floor(offset / limit) + 1;
    setChildren(pager,
      h('span', { id: 'list-total' }, `共 ${total} 条，第 ${page}/${pages} 页`),
      h('button', { type: 'button', class: 'btn btn-small', disabled: offset <= 0,
        onclick: () => go({ offset: Math.max(0, offset - limit) || '' }, false) }, '上一页'),
      h('button', { type: 'button', class: 'btn btn-small', disabled: data.next_offset === null || offset + limit >= total,
        onclick: () => go({ offset: offset + limit }, false) }, '下一页'),
      h('label', { class: 'page-size' }, '每页 ',
        h('select', { onchange: (ev) => go({ limit: ev.target.value }) },
          PAGE_SIZES.map((n) => h('option', { value: n, selected: n === limit }, String(n)))), ' 条'));
  }
  await loadTable();
  const reload = debounce(loadTable, 500);
  ctx.onDispose(onRecordEvent((m) => { if (m.registry === reg.name) reload(); }));
}

/* ====================================================================== */
/* Detail                                                                 */
/* ====================================================================== */

export async function renderDetail(view, ctx, reg, id) {
  const { data: rec, etag } = await request(`registries/${reg.name}/${encodeURIComponent(id)}`);
  if (!ctx.alive()) return;
  const version = rec.version !== undefined ? rec.version : String(etag || '').replace(/^W\//, '').replace(/"/g, '');
  const writable = can(reg.name, 'write');
  const msg = h('div', { class: 'form-error', role: 'alert', hidden: true });

  const rows = reg.fields.map((f) => h('tr', {},
    h('th', { scope: 'row' }, f.label),
    h('td', { dataset: { field: f.name } }, valueNode(f, rec[f.name]), f.unit && rec[f.name] !== null && rec[f.name] !== undefined && rec[f.name] !== '' ? ` ${f.unit}` : '')));
  const std = [
    ['所属区划', `${rec.region_name || ''}${rec.region_code ? `（${rec.region_code}）` : ''}`],
    ['位置', rec.lat !== null && rec.lat !== undefined && rec.lon !== null && rec.lon !== undefined ? `纬度 ${fmtDeg(rec.lat)}，经度 ${fmtDeg(rec.lon)}` : '未定位'],
    ['版本', version],
    ['创建时间', fmtTime(rec.created_at)],
    ['更新时间', fmtTime(rec.updated_at)],
    ['更新人', rec.updated_by || ''],
  ].map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, String(v))));

  async function doDelete() {
    if (!confirm(`确定删除“${rec.name || `#${rec.id}`}”吗？此操作不可撤销。`)) return;
    msg.hidden = true;
    try {
      await request(`registries/${reg.name}/${encodeURIComponent(rec.id)}`, { method: 'DELETE', headers: { 'If-Match': ifMatch(version) } });
      toast('已删除', 'ok');
      location.hash = `#/reg/${reg.name}`;
    } catch (e) {
      msg.textContent = `删除失败：${errorText(e)}`;
      msg.hidden = false;
    }
  }

  const mapEl = h('div', { class: 'detail-map' });
  const historyBox = h('div', { class: 'history', id: 'history' }, '正在加载变更历史…');
  setChildren(view, h('div', { class: 'page' },
    h('div', { class: 'crumbs' }, h('a', { href: `#/reg/${reg.name}` }, reg.label), ' / ', rec.name || `#${rec.id}`),
    h('div', { class: 'page-head' },
      h('h2', { class: 'page-title' }, rec.name || `#${rec.id}`),
      h('div', { class: 'actions' },
        writable ? h('a', { class: 'btn btn-primary', href: `#/reg/${reg.name}/${rec.id}/edit`, id: 'btn-edit' }, '编辑') : null,
        writable ? h('button', { type: 'button', class: 'btn btn-danger', id: 'btn-delete', onclick: doDelete }, '删除') : null)),
    msg,
    h('div', { class: 'detail-grid' },
      h('table', { class: 'kv-table', id: 'detail-table' }, h('tbody', {}, rows, std)),
      rec.lat !== null && rec.lat !== undefined ? mapEl : null),
    h('h3', {}, '变更历史'),
    historyBox));

  if (rec.lat !== null && rec.lat !== undefined && rec.lon !== null && rec.lon !== undefined) {
    createBaseMap(mapEl).then(({ map }) => {
      if (!ctx.alive()) { map.remove(); return; }
      ctx.onDispose(() => map.remove());
      const colour = reg.icon;
      L.circleMarker([rec.lat, rec.lon], { radius: 8, color: '#fff', weight: 2, fillColor: colour, fillOpacity: 0.95 }).addTo(map);
      map.setView([rec.lat, rec.lon], 11, { animate: false });
      settle(map);
    }).catch((e) => setChildren(mapEl, h('div', { class: 'form-error' }, `地图加载失败：${errorText(e)}`)));
  }

  try {
    const hist = await get(`registries/${reg.name}/${encodeURIComponent(rec.id)}/history`);
    if (ctx.alive()) setChildren(historyBox, historyTable(reg, (hist && hist.items) || []));
  } catch (e) {
    setChildren(historyBox, h('div', { class: 'form-error' }, `变更历史加载失败：${errorText(e)}`));
  }
}

/** Link to a referenced record, labelled with its name once known. */
function refLink(f, v) {
  if (v === null || v === undefined || v === '') return '';
  const a = h('a', { href: `#/reg/${f.ref}/${encodeURIComponent(v)}` }, `#${v}`);
  refName(f.ref, v).then((n) => { a.textContent = n; }).catch((e) => { a.title = errorText(e); });
  return a;
}

function valueNode(f, v) {
  if (f.type === 'ref') return refLink(f, v);
  if (f.type === 'longtext') return h('div', { class: 'longtext' }, fmtValue(f, v));
  return fmtValue(f, v);
}

function parseMaybeJson(v) {
  if (typeof v === 'string') { try { return JSON.parse(v); } catch { return null; } }
  return v && typeof v === 'object' ? v : null;
}

const HIDDEN_IN_DIFF = new Set(['version', 'updated_at', 'updated_by', 'created_at', 'region_name', 'id']);

function historyTable(reg, items) {
  if (!items.length) return h('p', { class: 'muted' }, '暂无变更记录');
  const show = (name, v) => {
    if (v === null || v === undefined || v === '') return '（空）';
    const f = reg.fields.find((x) => x.name === name);
    return f ? fmtValue(f, v) : (typeof v === 'object' ? JSON.stringify(v) : String(v));
  };
  const rows = items.map((it) => {
    const before = parseMaybeJson(it.before) || {};
    const after = parseMaybeJson(it.after) || {};
    // Show regions by name where the snapshot carries it.
    for (const snap of [before, after]) {
      if (snap.region_code && snap.region_name) snap.region_code = `${snap.region_name}（${snap.region_code}）`;
    }
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])]
      .filter((k) => !HIDDEN_IN_DIFF.has(k) && JSON.stringify(before[k]) !== JSON.stringify(after[k]));
    const changes = keys.map((k) => h('li', {},
      h('span', { class: 'diff-field' }, fieldLabel(reg, k)), '：',
      it.before ? h('span', { class: 'diff-before' }, show(k, before[k])) : null,
      it.before && it.after ? ' → ' : null,
      it.after ? h('span', { class: 'diff-after' }, show(k, after[k])) : null));
    return h('tr', {},
      h('td', { class: 'nowrap' }, fmtTime(it.ts)),
      h('td', {}, typeof it.actor === 'object' && it.actor ? (it.actor.name || it.actor.username || '') : String(it.actor ?? '')),
      h('td', {}, ACTIONS[it.action] || it.action || ''),
      h('td', {}, changes.length ? h('ul', { class: 'diff' }, changes) : '—'));
  });
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data-table' },
    h('thead', {}, h('tr', {}, h('th', {}, '时间'), h('th', {}, '操作人'), h('th', {}, '操作'), h('th', {}, '变更内容'))),
    h('tbody', {}, rows)));
}

/* ====================================================================== */
/* New / edit form                                                        */
/* ====================================================================== */

/*
 * One input builder per field type.  Each returns {el, get(), set(v)}:
 * get() gives the JSON value to send (undefined when empty).
 */
const INPUTS = {
  text: (f) => plainInput(f, { type: 'text', maxlength: f.maxlen || undefined }),
  phone: (f) => plainInput(f, { type: 'tel', inputmode: 'tel', maxlength: 20, placeholder: '手机或 0xxx-xxxxxxx' }),
  date: (f) => plainInput(f, { type: 'date' }),
  credit: (f) => plainInput(f, { type: 'text', maxlength: 18, placeholder: '18位统一社会信用代码', class: 'mono' }),
  int: (f) => numberInput(f, '1', (s) => Number.parseInt(s, 10)),
  real: (f) => numberInput(f, 'any', Number.parseFloat),
  longtext: (f) => {
    const el = h('textarea', { id: `f-${f.name}`, name: f.name, rows: 3, maxlength: f.maxlen || undefined });
    return { el, get: () => el.value.trim() || undefined, set: (v) => { el.value = v ?? ''; } };
  },
  bool: (f) => {
    const el = h('input', { type: 'checkbox', id: `f-${f.name}`, name: f.name });
    return { el: h('label', { class: 'check' }, el, ' 是'), get: () => el.checked, set: (v) => { el.checked = toBool(v); } };
  },
  enum: (f) => {
    const el = h('select', { id: `f-${f.name}`, name: f.name },
      h('option', { value: '' }, '请选择'),
      (f.options || []).map((o) => h('option', { value: o }, o)));
    return { el, get: () => el.value || undefined, set: (v) => { el.value = v ?? ''; } };
  },
  tags: (f) => {
    if (!Array.isArray(f.options) || !f.options.length) {
      const el = h('input', { type: 'text', id: `f-${f.name}`, name: f.name, placeholder: '多个用“、”分隔' });
      return { el, get: () => { const t = toTagArray(el.value); return t.length ? t : undefined; }, set: (v) => { el.value = toTagArray(v).join('、'); } };
    }
    const boxes = f.options.map((o) => h('input', { type: 'checkbox', value: o, name: f.name }));
    const el = h('div', { class: 'tags', id: `f-${f.name}`, role: 'group' },
      boxes.map((b) => h('label', { class: 'check' }, b, ` ${b.value}`)));
    return {
      el,
      get: () => { const t = boxes.filter((b) => b.checked).map((b) => b.value); return t.length ? t : undefined; },
      set: (v) => { const t = toTagArray(v); for (const b of boxes) b.checked = t.includes(b.value); },
    };
  },
  ref: (f) => refInput(f),
};

function plainInput(f, attrs) {
  const el = h('input', { id: `f-${f.name}`, name: f.name, ...attrs });
  return { el, get: () => el.value.trim() || undefined, set: (v) => { el.value = v ?? ''; } };
}

function numberInput(f, step, parse) {
  const el = h('input', { type: 'number', id: `f-${f.name}`, name: f.name, step, inputmode: step === '1' ? 'numeric' : 'decimal',
    min: f.min ?? undefined, max: f.max ?? undefined });
  const wrap = f.unit ? h('span', { class: 'with-unit' }, el, h('span', { class: 'unit' }, f.unit)) : el;
  return {
    el: wrap,
    get: () => {
      const s = el.value.trim();
      if (s === '') return el.validity && el.validity.badInput ? Number.NaN : undefined;
      return parse(s);
    },
    set: (v) => { el.value = v ?? ''; },
  };
}

/* A reference: a search box plus a select filled from the referenced registry. */
function refInput(f) {
  const sel = h('select', { id: `f-${f.name}`, name: f.name }, h('option', { value: '' }, '请选择'));
  const qbox = h('input', { type: 'search', class: 'ref-search', placeholder: '输入名称搜索', 'aria-label': `搜索${f.label}` });
  let wanted = '';
  async function fill(q) {
    try {
      const data = await get(`registries/${f.ref}`, { limit: 100, q, sort: 'name' });
      const keep = sel.value || wanted;
      sel.replaceChildren(h('option', { value: '' }, '请选择'));
      const items = data.items || [];
      for (const r of items) sel.appendChild(h('option', { value: r.id }, `${r.name || ''}（#${r.id}）`));
      if (keep && !items.some((r) => String(r.id) === String(keep))) {
        const opt = h('option', { value: keep }, `#${keep}`);
        sel.appendChild(opt);
        refName(f.ref, keep).then((n) => { opt.textContent = `${n}（#${keep}）`; }).catch((e) => { opt.title = errorText(e); });
      }
      sel.value = keep;
    } catch (e) {
      toast(`${f.label}选项加载失败：${errorText(e)}`);
    }
  }
  qbox.addEventListener('input', debounce(() => fill(qbox.value.trim()), 300));
  fill('');
  return {
    el: h('span', { class: 'ref-input' }, qbox, sel),
    get: () => (sel.value ? Number(sel.value) : undefined),
    set: (v) => { wanted = v === null || v === undefined ? '' : String(v); fill(''); },
  };
}

/* County → township cascade for region_code. */
function regionInput() {
  const county = h('select', { id: 'f-region-county', 'aria-label': '区县' }, h('option', { value: '' }, '请选择区县'));
  const town = h('select', { id: 'f-region-town', 'aria-label': '乡镇（街道）', disabled: true }, h('option', { value: '' }, '（不指定乡镇）'));
  let want = '';
  const ready = topRegions().then((items) => {
    for (const r of items) county.appendChild(h('option', { value: r.code }, r.name));
    if (items.length === 1) county.value = String(items[0].code);
  });
  async function loadTowns() {
    town.replaceChildren(h('option', { value: '' }, '（不指定乡镇）'));
    town.disabled = !county.value;
    if (!county.value) return;
    try {
      const items = await regionChildren(county.value);
      for (const r of items) town.appendChild(h('option', { value: r.code }, r.name));
      if (want && want.startsWith(county.value) && want !== county.value) town.value = want;
    } catch (e) {
      toast(`乡镇列表加载失败：${errorText(e)}`);
    }
  }
  county.addEventListener('change', () => { want = ''; loadTowns(); });
  ready.then(() => { if (county.value) loadTowns(); }).catch((e) => toast(`区县列表加载失败：${errorText(e)}`));
  return {
    el: h('span', { class: 'region-input' }, county, town),
    get: () => town.value || county.value || undefined,
    set: async (code) => {
      want = code ? String(code) : '';
      await ready;
      const c = [...county.options].find((o) => o.value && want.startsWith(o.value));
      if (c) { county.value = c.value; await loadTowns(); }
    },
  };
}

export async function renderForm(view, ctx, reg, id) {
  if (!can(reg.name, 'write')) throw new Error('您没有修改该数据库的权限');
  let rec = null;
  let version = null;
  if (id !== null) {
    const res = await request(`registries/${reg.name}/${encodeURIComponent(id)}`);
    rec = res.data;
    version = rec.version !== undefined ? rec.version : String(res.etag || '').replace(/^W\//, '').replace(/"/g, '');
  }
  if (!ctx.alive()) return;

  const controls = new Map(); // field name → {el, get, set}
  const errBoxes = new Map(); // field name → error element
  const row = (name, label, required, control, hint) => {
    const err = h('div', { class: 'field-error', id: `err-${name}`, hidden: true });
    errBoxes.set(name, err);
    return h('div', { class: `form-row${required ? ' required' : ''}`, dataset: { field: name } },
      h('label', { class: 'form-label', for: `f-${name}` }, label, required ? h('span', { class: 'req', title: '必填' }, ' *') : null),
      h('div', { class: 'form-control' }, control, hint ? h('div', { class: 'hint' }, hint) : null, err));
  };

  const fieldRows = reg.fields.map((f) => {
    const c = (INPUTS[f.type] || INPUTS.text)(f);
    controls.set(f.name, c);
    let hint = null;
    if ((f.type === 'int' || f.type === 'real') && f.min !== undefined && f.max !== undefined) hint = `范围 ${f.min}–${f.max}`;
    return row(f.name, f.label, f.required, c.el, hint);
  });
  const region = regionInput();
  const lat = h('input', { type: 'number', id: 'f-lat', name: 'lat', step: 'any', min: -90, max: 90, placeholder: '纬度', inputmode: 'decimal' });
  const lon = h('input', { type: 'number', id: 'f-lon', name: 'lon', step: 'any', min: -180, max: 180, placeholder: '经度', inputmode: 'decimal' });
  const pickMap = h('div', { class: 'pick-map', id: 'pick-map' });
  const formError = h('div', { class: 'form-error', role: 'alert', id: 'form-error', hidden: true });
  const saveBtn = h('button', { type: 'submit', class: 'btn btn-primary', id: 'btn-save' }, '保存');

  const form = h('form', { class: 'record-form', id: 'record-form', novalidate: true },
    fieldRows,
    row('region_code', '所属区划', true, region.el),
    row('lat', '纬度', false, lat),
    row('lon', '经度', false, lon, '在下方地图上点击可设置位置（WGS-84）'),
    h('div', { class: 'form-row' }, h('span', { class: 'form-label' }, '位置'), h('div', { class: 'form-control' }, pickMap)),
    formError,
    h('div', { class: 'form-actions' }, saveBtn,
      h('a', { class: 'btn btn-plain', href: rec ? `#/reg/${reg.name}/${rec.id}` : `#/reg/${reg.name}` }, '取消')));

  const title = rec ? `编辑${reg.label}：${rec.name || `#${rec.id}`}` : `新建${reg.label}`;
  setChildren(view, h('div', { class: 'page' },
    h('div', { class: 'crumbs' }, h('a', { href: `#/reg/${reg.name}` }, reg.label), ' / ', rec ? (rec.name || `#${rec.id}`) : '新建'),
    h('h2', { class: 'page-title' }, title),
    h('p', { class: 'muted' }, '带 * 的为必填项'),
    form));

  // Initial values: the record, or the schema defaults for a new one.
  for (const f of reg.fields) {
    const c = controls.get(f.name);
    if (rec) c.set(rec[f.name]);
    else if (f.default !== undefined && f.default !== null) c.set(f.default);
  }
  if (rec) {
    region.set(rec.region_code);
    lat.value = fmtDeg(rec.lat);
    lon.value = fmtDeg(rec.lon);
  }

  // Point picker: click the map to set lat/lon; typing moves the marker.
  let marker = null;
  createBaseMap(pickMap).then(({ map }) => {
    if (!ctx.alive()) { map.remove(); return; }
    ctx.onDispose(() => map.remove());
    settle(map);
    const place = (ll, pan) => {
      if (!marker) marker = L.circleMarker(ll, { radius: 8, color: '#fff', weight: 2, fillColor: '#d62728', fillOpacity: 0.95 }).addTo(map);
      else marker.setLatLng(ll);
      if (pan) map.panTo(ll, { animate: false });
    };
    map.on('click', (ev) => {
      lat.value = ev.latlng.lat.toFixed(6);
      lon.value = ev.latlng.lng.toFixed(6);
      place(ev.latlng, false);
    });
    const fromInputs = () => {
      const la = Number.parseFloat(lat.value);
      const lo = Number.parseFloat(lon.value);
      if (Number.isFinite(la) && Number.isFinite(lo)) place([la, lo], true);
    };
    lat.addEventListener('change', fromInputs);
    lon.addEventListener('change', fromInputs);
    fromInputs();
  }).catch((e) => setChildren(pickMap, h('div', { class: 'form-error' }, `地图加载失败：${errorText(e)}`)));

  const clearErrors = () => {
    for (const [, e] of errBoxes) { e.hidden = true; e.textContent = ''; }
    for (const r of form.querySelectorAll('.form-row.has-error')) r.classList.remove('has-error');
    formError.hidden = true;
  };
  const showFieldError = (name, message) => {
    const key = errBoxes.has(name) ? name : null;
    if (!key) return false;
    const box = errBoxes.get(key);
    box.textContent = message;
    box.hidden = false;
    box.closest('.form-row').classList.add('has-error');
    return true;
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors();
    // Build the body from the controls; check required fields and numbers locally first.
    const body = {};
    let firstBad = null;
    const bad = (name, message) => { showFieldError(name, message); if (!firstBad) firstBad = name; };
    for (const f of reg.fields) {
      const v = controls.get(f.name).get();
      if (typeof v === 'number' && Number.isNaN(v)) { bad(f.name, '请输入有效的数字'); continue; }
      if (v === undefined) {
        if (f.required) bad(f.name, '此项为必填');
        else if (rec) body[f.name] = null; // full replacement: clear the field
        continue;
      }
      if (typeof v === 'number' && f.min !== undefined && f.max !== undefined && (v < f.min || v > f.max)) {
        bad(f.name, `应在 ${f.min}–${f.max} 之间`);
        continue;
      }
      body[f.name] = v;
    }
    const code = region.get();
    if (!code) bad('region_code', '请选择所属区县');
    else body.region_code = code;
    const la = lat.value.trim();
    const lo = lon.value.trim();
    if ((la === '') !== (lo === '')) bad(la === '' ? 'lat' : 'lon', '经纬度需同时填写');
    else if (la !== '') {
      body.lat = Number.parseFloat(la);
      body.lon = Number.parseFloat(lo);
      if (!Number.isFinite(body.lat) || body.lat < -90 || body.lat > 90) bad('lat', '纬度应在 -90 至 90 之间');
      if (!Number.isFinite(body.lon) || body.lon < -180 || body.lon > 180) bad('lon', '经度应在 -180 至 180 之间');
    } else if (rec) {
      body.lat = null;
      body.lon = null;
    }
    if (firstBad) {
      formError.textContent = '请检查标红的字段';
      formError.hidden = false;
      focusRow(form, firstBad);
      return;
    }

    saveBtn.disabled = true;
    saveBtn.textContent = '正在保存…';
    try {
      const res = rec
        ? await request(`registries/${reg.name}/${encodeURIComponent(rec.id)}`, { method: 'PUT', json: body, headers: { 'If-Match': ifMatch(version) } })
        : await request(`registries/${reg.name}`, { method: 'POST', json: body });
      toast(rec ? '已保存' : '已新建', 'ok');
      const saved = res.data || {};
      location.hash = `#/reg/${reg.name}/${saved.id ?? (rec && rec.id)}`;
    } catch (e) {
      const text = errorText(e);
      if (e.field && showFieldError(e.field, text)) focusRow(form, e.field);
      else if (e.status === 409 && showFieldError(reg.key_field, text)) focusRow(form, reg.key_field);
      formError.textContent = e.status === 412 ? '该记录已被他人修改，请刷新后重试' : `保存失败：${text}`;
      formError.hidden = false;
      saveBtn.disabled = false;
      saveBtn.textContent = '保存';
    }
  });
}

function focusRow(form, name) {
  const r = form.querySelector(`.form-row[data-field="${CSS.escape(name)}"]`);
  if (!r) return;
  r.scrollIntoView({ block: 'center' });
  const input = r.querySelector('input, select, textarea');
  if (input) input.focus({ preventScroll: true });
}
