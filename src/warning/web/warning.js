/*
 * warning.js — the M3 预警发布与叫应 pages (docs/warnings.md):
 *
 *   #/warn[?state=&offset=]     预警列表
 *   #/warn/approvals            待审批 (warnings submitted for approval)
 *   #/warn/new                  编制预警: the composer
 *   #/warn/<id>/edit            修改草稿
 *   #/warn/<id>                 预警详情: content, workflow actions, timeline,
 *                               and once published the delivery progress,
 *                               the 叫应 board and the coverage figures
 *
 * The composer draws the area on the map (polygons and circles) or picks
 * administrative regions, and shows who the area reaches as it changes
 * (POST /warnings/targets).  Workflow buttons are the ones the server lists
 * in the warning's "actions" for this user, so the page never offers what
 * the approval table forbids.  The published page follows the live stream
 * (`event: warning`, live.js) and reloads its figures at most once a second.
 */
import { request, get, ifMatch, errorText } from '../../js/api.js';
import { h, setChildren, fmtTime, toast, debounce, hashWith } from '../../js/dom.js';
import { granted, topRegions, regionChildren } from '../../js/session.js';
import { levelPill, levelInfo, regionText } from '../../js/monshared.js';
import { onWarningEvent, onResync } from '../../js/live.js';
import { createBaseMap, settle } from '../../js/mapbase.js';
import {
  WARN_STATES, CATEGORIES, URGENCY, CERTAINTY, MSG_TYPES, EVENT_TYPES, TIMELINE, KINDS, DELIVERY_STATES,
  ACK_VIA, CALLUP_EVENTS, APPROVERS, warnStateBadge, pct, fmtDuration,
} from './warnshared.js';

const LIST_LIMIT = 50;
const PEOPLE_PAGE = 200;

function requireRead() {
  if (!granted('warning', 'read')) throw new Error('您没有访问该页面的权限');
}

/** Route #/warn/<parts…> to its page. */
export async function render(view, ctx, parts) {
  requireRead();
  const [a, b, extra] = parts;
  if (extra !== undefined) throw new Error('页面不存在');
  if (a === undefined) return renderList(view, ctx, false);
  if (a === 'approvals' && b === undefined) return renderList(view, ctx, true);
  if (a === 'new' && b === undefined) return renderComposer(view, ctx, null);
  if (/^\d+$/.test(a) && b === 'edit') return renderComposer(view, ctx, a);
  if (/^\d+$/.test(a) && b === undefined) return renderDetail(view, ctx, a);
  throw new Error('页面不存在');
}

/** Navigation entries of the M3 group the user may see. */
/** A hook (js/modules.js): on an alarm's page, make a warning draft from it in one step. */
export function alarmActions(alarmId) {
  if (!granted('warning', 'write')) return null;
  const btn = h('button', { type: 'button', class: 'btn', id: 'btn-alarm-warning', onclick: async () => {
    btn.disabled = true;
    try {
      const { data } = await request(`alarms/${encodeURIComponent(alarmId)}/warning`, { method: 'POST', json: {} });
      toast(`已生成预警草稿 #${data.id}，请核对内容和范围`, 'ok');
      location.hash = `#/warn/${data.id}/edit`;
    } catch (e) {
      toast(`生成预警失败：${errorText(e)}`);
      btn.disabled = false;
    }
  } }, '生成预警');
  return btn;
}

/* ---- shared bits ------------------------------------------------------------- */

function errorBox(id) {
  return h('div', { class: 'form-error', role: 'alert', id, hidden: true });
}

function showError(box, text) {
  box.textContent = text;
  box.hidden = false;
}

function actorName(actor) {
  if (!actor || actor === 'system') return '系统';
  return String(actor);
}

/** "yyyy-MM-ddThh:mm" in local time for a datetime-local input. */
function toLocalInput(ms) {
  if (!ms) return '';
  const d = new Date(Number(ms));
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function fromLocalInput(v) {
  if (!v) return null;
  const t = new Date(v).getTime();
  return Number.isNaN(t) ? NaN : t;
}

/* ====================================================================== */
/* 预警列表 / 待审批                                                       */
/* ====================================================================== */

async function renderList(view, ctx, approvals) {
  const q = ctx.query;
  const base = approvals ? '#/warn/approvals' : '#/warn';
  const state = approvals ? 'submitted' : (WARN_STATES[q.get('state')] ? q.get('state') : '');
  const active = !approvals && q.get('active') === '1';
  const offset = Math.max(0, Number(q.get('offset')) || 0);
  const data = await get('warnings', { state, active: active ? 1 : undefined, limit: LIST_LIMIT, offset });
  if (!ctx.alive()) return;

  const stateSel = h('select', { class: 'filter', id: 'filter-state', 'aria-label': '状态',
    onchange: () => { location.hash = hashWith(base, q, { state: stateSel.value === 'active' ? '' : stateSel.value, active: stateSel.value === 'active' ? '1' : '' }); } },
  h('option', { value: '' }, '全部状态'),
  h('option', { value: 'active', selected: active }, '生效中'),
  Object.entries(WARN_STATES).map(([k, v]) => h('option', { value: k, selected: k === state }, v)));

  const rows = (data.items || []).map((w) => h('tr', { class: 'warn-row', dataset: { id: w.id } },
    h('td', {}, levelPill(w.level, true), ' ',
      h('a', { href: `#/warn/${w.id}`, class: 'warn-link' }, w.headline || `预警 #${w.id}`),
      w.msg_type !== 'Alert' ? h('span', { class: 'tag' }, MSG_TYPES[w.msg_type] || w.msg_type) : null,
      w.source === 'import' ? h('span', { class: 'tag', title: w.origin || '' }, '外部机构') : null),
    h('td', {}, w.event_type),
    h('td', {}, w.area_desc),
    h('td', {}, warnStateBadge(w.state)),
    h('td', { class: 'nowrap' }, w.sender_name || w.created_by || ''),
    h('td', { class: 'nowrap' }, fmtTime(w.published_at || w.submitted_at || w.created_at)),
    h('td', { class: 'nowrap' }, fmtTime(w.expires))));

  const total = Number(data.total) || 0;
  const pager = h('div', { class: 'pager' },
    h('span', { class: 'muted', id: 'warn-total' }, `共 ${total} 条`),
    offset > 0 ? h('a', { class: 'btn btn-small', href: hashWith(base, q, { offset: Math.max(0, offset - LIST_LIMIT) }) }, '上一页') : null,
    offset + LIST_LIMIT < total ? h('a', { class: 'btn btn-small', href: hashWith(base, q, { offset: offset + LIST_LIMIT }) }, '下一页') : null);

  setChildren(view, h('div', { class: 'page', id: approvals ? 'warn-approvals' : 'warn-list' },
    h('h2', { class: 'page-title' }, approvals ? '待审批预警' : '预警列表'),
    approvals ? h('p', { class: 'hint-line muted' }, `${Object.values(APPROVERS).join('；')}；提交人不能审批自己提交的预警。`) : null,
    h('div', { class: 'toolbar' },
      approvals ? null : stateSel,
      h('span', { class: 'toolbar-spacer' }),
      h('a', { class: 'btn', href: 'warnings.html', target: '_blank', rel: 'noopener' }, '公众预警页'),
      h('a', { class: 'btn', href: 'feeds/warnings.atom', target: '_blank', rel: 'noopener' }, 'Atom 订阅'),
      granted('warning', 'write') ? h('a', { class: 'btn btn-primary', href: '#/warn/new', id: 'btn-warn-new' }, '编制预警') : null),
    h('div', { class: 'table-wrap' }, h('table', { class: 'data-table', id: 'warn-table' },
      h('thead', {}, h('tr', {}, ['标题', '事件', '区域', '状态', '发布单位/编制人', '时间', '失效时间'].map((t) => h('th', {}, t)))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: 7, class: 'empty' }, approvals ? '没有待审批的预警' : '没有预警'))))),
    pager));
}

/* ====================================================================== */
/* 编制预警: the composer                                                 */
/* ====================================================================== */

/*
 * The area editor: a map with drawn polygons and circles, plus a list of
 * picked regions.  onChange() after every change; value() is the API's
 * {regions, polygons, circles}.
 */
function areaEditor(initial, onChange) {
  const regions = [...((initial && initial.regions) || [])].map(String);
  const polygons = [...((initial && initial.polygons) || [])].map((r) => r.map(([la, lo]) => [Number(la), Number(lo)]));
  const circles = [...((initial && initial.circles) || [])].map(([la, lo, r]) => [Number(la), Number(lo), Number(r)]);
  const mapEl = h('div', { class: 'compose-map', id: 'compose-map' });
  const chips = h('div', { class: 'region-chips', id: 'region-chips' });
  const shapeList = h('ul', { class: 'shape-list', id: 'shape-list' });
  const status = h('div', { class: 'hint draw-status', id: 'draw-status' }, '');
  let map = null;
  let drawn = null; // L.layerGroup of the area
  let sketch = null; // the polygon being drawn
  let sketchPts = [];
  let mode = null; // 'polygon' | 'circle' | null

  const countySel = h('select', { id: 'pick-county', 'aria-label': '区县' }, h('option', { value: '' }, '选择区县'));
  const townSel = h('select', { id: 'pick-town', 'aria-label': '乡镇（街道）' }, h('option', { value: '' }, '全县（区）'));
  topRegions().then((items) => {
    for (const r of items) countySel.appendChild(h('option', { value: r.code }, r.name));
  }).catch((e) => toast(`区县列表加载失败：${errorText(e)}`));
  countySel.addEventListener('change', async () => {
    setChildren(townSel, h('option', { value: '' }, '全县（区）'));
    if (!countySel.value) return;
    try {
      for (const r of await regionChildren(countySel.value)) townSel.appendChild(h('option', { value: r.code }, r.name));
    } catch (e) { toast(`乡镇列表加载失败：${errorText(e)}`); }
  });
  const addRegion = h('button', { type: 'button', class: 'btn', id: 'btn-add-region', onclick: () => {
    const code = townSel.value || countySel.value;
    if (!code) { toast('请先选择区县或乡镇', 'info'); return; }
    if (!regions.includes(code)) regions.push(code);
    renderLists();
    onChange();
  } }, '添加区划');

  const radius = h('input', { type: 'number', id: 'circle-radius', min: '0.1', max: '500', step: '0.1', value: '5', class: 'radius-input', 'aria-label': '半径（公里）' });
  const btnPoly = h('button', { type: 'button', class: 'btn', id: 'btn-draw-polygon', onclick: () => startMode('polygon') }, '绘制多边形');
  const btnCircle = h('button', { type: 'button', class: 'btn', id: 'btn-draw-circle', onclick: () => startMode('circle') }, '绘制圆形');
  const btnFinish = h('button', { type: 'button', class: 'btn btn-primary', id: 'btn-draw-finish', hidden: true, onclick: () => finishPolygon() }, '完成多边形');
  const btnCancel = h('button', { type: 'button', class: 'btn', id: 'btn-draw-cancel', hidden: true, onclick: () => stopMode() }, '取消绘制');

  function startMode(m) {
    stopMode();
    mode = m;
    if (map) {
      map.doubleClickZoom.disable();
      mapEl.classList.add('drawing');
    }
    btnCancel.hidden = false;
    btnFinish.hidden = m !== 'polygon';
    status.textContent = m === 'polygon'
      ? '在地图上依次单击多边形的各个顶点（至少 3 个），然后点“完成多边形”'
      : '在地图上单击圆心；半径按右侧填写的公里数';
  }
  function stopMode() {
    mode = null;
    sketchPts = [];
    if (sketch) { sketch.remove(); sketch = null; }
    if (map) {
      map.doubleClickZoom.enable();
      mapEl.classList.remove('drawing');
    }
    btnCancel.hidden = true;
    btnFinish.hidden = true;
    status.textContent = '';
  }
  function finishPolygon() {
    if (sketchPts.length < 3) { toast('多边形至少需要 3 个顶点', 'info'); return; }
    polygons.push(sketchPts.slice());
    stopMode();
    renderLists();
    onChange();
  }
  function onMapClick(ev) {
    if (!mode) return;
    const p = [Number(ev.latlng.lat.toFixed(6)), Number(ev.latlng.lng.toFixed(6))];
    if (mode === 'polygon') {
      sketchPts.push(p);
      if (sketch) sketch.setLatLngs(sketchPts);
      else sketch = L.polyline(sketchPts, { color: '#b3261e', dashArray: '4 4' }).addTo(map);
      status.textContent = `已选 ${sketchPts.length} 个顶点${sketchPts.length >= 3 ? '，可点“完成多边形”' : ''}`;
    } else if (mode === 'circle') {
      const r = Number(radius.value);
      if (!(r > 0 && r <= 500)) { toast('半径应在 0–500 公里之间', 'info'); return; }
      circles.push([p[0], p[1], r]);
      stopMode();
      renderLists();
      onChange();
    }
  }

  function redraw() {
    if (!map) return;
    drawn.clearLayers();
    for (const ring of polygons) L.polygon(ring, { color: '#b3261e', weight: 2, fillOpacity: 0.15 }).addTo(drawn);
    for (const [la, lo, r] of circles) L.circle([la, lo], { radius: r * 1000, color: '#b3261e', weight: 2, fillOpacity: 0.15 }).addTo(drawn);
  }

  function renderLists() {
    setChildren(chips, regions.length ? regions.map((code) => h('span', { class: 'chip', dataset: { code } },
      regionText(code),
      h('button', { type: 'button', class: 'chip-x', 'aria-label': '移除', onclick: () => {
        regions.splice(regions.indexOf(code), 1);
        renderLists();
        onChange();
      } }, '×'))) : h('span', { class: 'muted' }, '未选区划'));
    setChildren(shapeList,
      polygons.map((ring, i) => h('li', {}, `多边形 ${i + 1}（${ring.length} 个顶点）`,
        h('button', { type: 'button', class: 'link-btn shape-del', onclick: () => { polygons.splice(i, 1); renderLists(); onChange(); } }, '删除'))),
      circles.map(([la, lo, r], i) => h('li', {}, `圆 ${i + 1}：中心 ${la.toFixed(4)}, ${lo.toFixed(4)}，半径 ${r} 公里`,
        h('button', { type: 'button', class: 'link-btn shape-del', onclick: () => { circles.splice(i, 1); renderLists(); onChange(); } }, '删除'))));
    redraw();
  }

  async function mount(ctx) {
    const made = await createBaseMap(mapEl, { labels: true });
    map = made.map;
    ctx.onDispose(() => map.remove());
    drawn = L.layerGroup().addTo(map);
    map.on('click', onMapClick);
    renderLists();
    const b = drawn.getLayers().length ? L.featureGroup(drawn.getLayers()).getBounds() : null;
    if (b && b.isValid()) map.fitBounds(b, { padding: [20, 20], animate: false, maxZoom: 12 });
    settle(map);
  }

  const el = h('div', { class: 'area-editor' },
    h('div', { class: 'area-tools' },
      h('div', { class: 'act-row' }, countySel, townSel, addRegion),
      chips,
      h('div', { class: 'act-row' }, btnPoly, btnCircle, h('label', { class: 'radius-label' }, '半径 ', radius, ' 公里'), btnFinish, btnCancel),
      status,
      shapeList),
    mapEl);
  return {
    el,
    mount,
    value: () => ({ regions: regions.slice(), polygons: polygons.map((r) => r.slice()), circles: circles.map((c) => c.slice()) }),
    empty: () => !regions.length && !polygons.length && !circles.length,
    map: () => map,
  };
}

/** The live “who does this area reach” box. */
function targetBox() {
  const el = h('div', { class: 'target-box', id: 'target-box', 'aria-live': 'polite' }, h('span', { class: 'muted' }, '选择区划或绘制范围后显示覆盖人数'));
  let seq = 0;
  async function update(area) {
    const mine = ++seq;
    if (!area.regions.length && !area.polygons.length && !area.circles.length) {
      setChildren(el, h('span', { class: 'muted' }, '选择区划或绘制范围后显示覆盖人数'));
      return;
    }
    el.classList.add('loading');
    try {
      const { data: t } = await request('warnings/targets', { method: 'POST', json: { area } });
      if (mine !== seq) return;
      const by = t.responsible_by_level || {};
      setChildren(el,
        h('div', { class: 'target-main' }, '覆盖居民 ', h('strong', { id: 'target-residents', class: 'num' }, String(t.residents)), ' 人'),
        h('div', { class: 'target-line' },
          `其中特殊群体（老幼病残孕）${t.vulnerable} 人，包保联系人 ${t.contacts} 人；`,
          `广播终端 ${t.terminals} 个，企业 ${t.enterprises} 家，信息员/网格员 ${t.informants ?? 0} 人；`,
          h('span', { id: 'target-responsible' }, `须叫应的责任人 ${t.responsible} 人`),
          `（村级 ${by.village || 0}、乡级 ${by.township || 0}、县级 ${by.county || 0}、市级 ${by.city || 0}、企业 ${by.enterprise || 0}）`),
        h('div', { class: 'hint' }, `区域：${t.area_desc || ''}`));
    } catch (e) {
      if (mine !== seq) return;
      setChildren(el, h('span', { class: 'field-error' }, `无法计算覆盖范围：${errorText(e)}`));
    } finally {
      if (mine === seq) el.classList.remove('loading');
    }
  }
  return { el, update };
}

async function renderComposer(view, ctx, id) {
  if (!granted('warning', 'write')) throw new Error('您没有编制预警的权限');
  let w = id ? await get(`warnings/${encodeURIComponent(id)}`) : null;
  if (!ctx.alive()) return;
  if (w && w.state !== 'draft') throw new Error(`预警当前为「${WARN_STATES[w.state] || w.state}」，只有草稿可以修改`);

  const errs = {};
  const row = (name, label, control, opts = {}) => {
    errs[name] = h('div', { class: 'field-error', id: `err-${name}`, hidden: true });
    return h('div', { class: 'form-row', dataset: { field: name } },
      h('label', { class: 'form-label', for: `w-${name}` }, label, opts.required ? h('span', { class: 'req' }, ' *') : null),
      h('div', { class: 'form-control' }, control, opts.hint ? h('div', { class: 'hint' }, opts.hint) : null, errs[name]));
  };
  const v = (x) => (x === null || x === undefined ? '' : String(x));
  const eventType = h('input', { id: 'w-event_type', list: 'event-types', maxlength: 20, value: v(w && w.event_type), required: true });
  const category = h('select', { id: 'w-category' },
    Object.entries(CATEGORIES).map(([k, l]) => h('option', { value: k, selected: (w ? w.category : 'Met') === k }, `${l}（${k}）`)));
  const level = h('select', { id: 'w-level' },
    [1, 2, 3, 4].map((n) => h('option', { value: String(n), selected: Number(w ? w.level : 3) === n }, `${levelInfo(n).rank}（${levelInfo(n).label}）`)));
  const approverHint = h('div', { class: 'hint', id: 'approver-hint' }, APPROVERS[level.value]);
  level.addEventListener('change', () => { approverHint.textContent = APPROVERS[level.value]; });
  const urgency = h('select', { id: 'w-urgency' }, h('option', { value: '' }, '按级别默认'),
    Object.entries(URGENCY).map(([k, l]) => h('option', { value: k, selected: w && w.urgency === k }, l)));
  const certainty = h('select', { id: 'w-certainty' }, h('option', { value: '' }, '按级别默认'),
    Object.entries(CERTAINTY).map(([k, l]) => h('option', { value: k, selected: w && w.certainty === k }, l)));
  const headline = h('input', { id: 'w-headline', maxlength: 80, value: v(w && w.headline), required: true });
  const description = h('textarea', { id: 'w-description', rows: 4, maxlength: 1300 }, v(w && w.description));
  const instruction = h('textarea', { id: 'w-instruction', rows: 3, maxlength: 1300 }, v(w && w.instruction));
  const effective = h('input', { id: 'w-effective', type: 'datetime-local', value: toLocalInput(w && w.effective) });
  const expires = h('input', { id: 'w-expires', type: 'datetime-local', value: toLocalInput(w ? w.expires : Date.now() + 24 * 3600000), required: true });
  const msg = errorBox('compose-msg');

  const targets = targetBox();
  const refresh = debounce(() => targets.update(area.value()), 300);
  errs.area = h('div', { class: 'field-error', id: 'err-area', hidden: true });
  const area = areaEditor(w && w.area, () => { errs.area.hidden = true; refresh(); });

  function clearErrors() {
    msg.hidden = true;
    for (const [k, e] of Object.entries(errs)) {
      e.hidden = true;
      const r = view.querySelector(`.form-row[data-field="${k}"]`);
      if (r) r.classList.remove('has-error');
    }
  }
  function fieldError(field, text) {
    const e = errs[field];
    if (!e) return false;
    e.textContent = text;
    e.hidden = false;
    const r = view.querySelector(`.form-row[data-field="${field}"]`);
    if (r) r.classList.add('has-error');
    e.scrollIntoView({ block: 'center' });
    return true;
  }

  function body() {
    return {
      event_type: eventType.value.trim(),
      category: category.value,
      level: Number(level.value),
      headline: headline.value.trim(),
      description: description.value.trim(),
      instruction: instruction.value.trim() || null,
      urgency: urgency.value || null,
      certainty: certainty.value || null,
      effective: fromLocalInput(effective.value),
      expires: fromLocalInput(expires.value),
      area: area.value(),
    };
  }
  function check(b) {
    const bad = [];
    if (!b.event_type) bad.push(['event_type', '请填写事件类型']);
    if (!b.headline) bad.push(['headline', '请填写标题']);
    if (!b.description) bad.push(['description', '请填写预警内容']);
    if (Number.isNaN(b.effective)) bad.push(['effective', '生效时间格式不对']);
    if (b.expires === null || Number.isNaN(b.expires)) bad.push(['expires', '请填写失效时间']);
    else if (b.expires <= Date.now()) bad.push(['expires', '失效时间应晚于现在']);
    if (area.empty()) bad.push(['area', '预警区域不能为空：请选择区划或在地图上绘制范围']);
    for (const [f, text] of bad.reverse()) fieldError(f, text); // the first one scrolled into view last
    return bad.length === 0;
  }

  async function save(thenSubmit) {
    clearErrors();
    const b = body();
    if (!check(b)) return;
    for (const btn of view.querySelectorAll('.compose-actions button')) btn.disabled = true;
    try {
      if (w) {
        const { data } = await request(`warnings/${w.id}`, { method: 'PUT', json: b, headers: { 'If-Match': ifMatch(w.version) } });
        w = data;
      } else {
        const { data } = await request('warnings', { method: 'POST', json: b });
        w = data;
      }
      if (thenSubmit) {
        const { data } = await request(`warnings/${w.id}/submit`, { method: 'POST', json: {}, headers: { 'If-Match': ifMatch(w.version) } });
        w = data;
        toast('已提交审批', 'ok');
      } else {
        toast('草稿已保存', 'ok');
      }
      location.hash = `#/warn/${w.id}`;
    } catch (e) {
      if (!(e.field && fieldError(e.field, errorText(e)))) showError(msg, `保存失败：${errorText(e)}`);
    } finally {
      for (const btn of view.querySelectorAll('.compose-actions button')) btn.disabled = false;
    }
  }

  setChildren(view, h('div', { class: 'page compose', id: 'warn-compose' },
    h('div', { class: 'crumbs' }, h('a', { href: '#/warn' }, '预警列表'), ' / ', w ? h('a', { href: `#/warn/${w.id}` }, `预警 #${w.id}`) : '编制预警'),
    h('h2', { class: 'page-title' }, w ? '修改预警草稿' : '编制预警'),
    w && w.alarm_id ? h('p', { class: 'hint-line' }, '由监测报警 ', h('a', { href: `#/mon/alarms/${w.alarm_id}` }, `#${w.alarm_id}`), ' 生成，请核对内容和范围') : null,
    msg,
    h('datalist', { id: 'event-types' }, EVENT_TYPES.map((t) => h('option', { value: t }))),
    h('div', { class: 'compose-grid' },
      h('form', { class: 'record-form compose-form', novalidate: true, onsubmit: (ev) => { ev.preventDefault(); save(false); } },
        row('event_type', '事件类型', eventType, { required: true }),
        row('category', '类别', category),
        row('level', '预警级别', h('div', {}, level, approverHint), { required: true }),
        row('urgency', '紧急程度', urgency),
        row('certainty', '确定程度', certainty),
        row('headline', '标题', headline, { required: true, hint: '例如：泽州县气象台发布暴雨黄色预警' }),
        row('description', '预警内容', description, { required: true }),
        row('instruction', '防御指引', instruction),
        row('effective', '生效时间', effective, { hint: '不填则发布即生效' }),
        row('expires', '失效时间', expires, { required: true }),
        h('div', { class: 'form-actions compose-actions' },
          h('button', { type: 'submit', class: 'btn', id: 'btn-save-draft' }, '保存草稿'),
          h('button', { type: 'button', class: 'btn btn-primary', id: 'btn-save-submit', onclick: () => save(true) }, '保存并提交审批'),
          h('a', { class: 'btn btn-plain', href: w ? `#/warn/${w.id}` : '#/warn' }, '取消'))),
      h('div', { class: 'compose-area', dataset: { field: 'area' } },
        h('h3', {}, '预警区域'),
        errs.area,
        targets.el,
        area.el))));
  await area.mount(ctx);
  if (!ctx.alive()) return;
  if (!area.empty()) targets.update(area.value());
}

/* ====================================================================== */
/* 预警详情, with the delivery progress, the 叫应 board and coverage      */
/* ====================================================================== */

function infoTable(w) {
  const rows = [
    ['事件类型', w.event_type],
    ['类别', CATEGORIES[w.category] || w.category],
    ['级别', w.level_label || levelInfo(w.level).label],
    ['紧急程度 / 确定程度', `${URGENCY[w.urgency] || w.urgency || ''} / ${CERTAINTY[w.certainty] || w.certainty || ''}`],
    ['预警区域', w.area_desc],
    ['预警内容', h('div', { class: 'longtext', id: 'w-description-text' }, w.description || '')],
    ['防御指引', h('div', { class: 'longtext' }, w.instruction || '')],
    ['生效时间', w.effective ? fmtTime(w.effective) : '发布即生效'],
    ['失效时间', fmtTime(w.expires)],
    ['发布单位', w.sender_name || ''],
    ['标识符', w.identifier ? h('span', { class: 'mono', id: 'w-identifier' }, w.identifier) : '发布时生成'],
    ['消息类型', MSG_TYPES[w.msg_type] || w.msg_type],
    w.references_id ? ['更新/解除的预警', h('a', { href: `#/warn/${w.references_id}` }, `#${w.references_id}`)] : null,
    w.superseded_by ? ['后续消息', h('a', { href: `#/warn/${w.superseded_by}`, id: 'w-superseded' }, `#${w.superseded_by}`)] : null,
    w.alarm_id ? ['来源报警', h('a', { href: `#/mon/alarms/${w.alarm_id}` }, `#${w.alarm_id}`)] : null,
    w.source === 'import' ? ['来源', `外部机构（${w.origin || w.sender || ''}）`] : null,
    w.end_reason ? ['结束原因', w.end_reason] : null,
  ].filter(Boolean);
  return h('table', { class: 'kv-table' }, h('tbody', {}, rows.map(([k, val]) => h('tr', {}, h('th', {}, k), h('td', {}, val)))));
}

function timelineList(w) {
  const items = (w.timeline || []).map((t) => h('li', { class: `tl-item tl-w-${t.action}` },
    h('span', { class: 'tl-time' }, fmtTime(t.ts)),
    h('span', { class: 'tl-body' },
      h('span', { class: 'tl-action' }, TIMELINE[t.action] || t.action),
      h('span', { class: 'tl-actor' }, actorName(t.actor)),
      t.note ? h('span', { class: 'tl-note' }, t.note) : null)));
  return h('ol', { class: 'timeline', id: 'warn-timeline' }, items);
}

async function renderDetail(view, ctx, id) {
  let w = await get(`warnings/${encodeURIComponent(id)}`);
  if (!ctx.alive()) return;

  const head = h('div', { class: 'page-head' });
  const msg = errorBox('warn-msg');
  const actionsBox = h('div', { class: 'alarm-actions', id: 'warn-actions' });
  const info = h('div', { class: 'warn-info' });
  const mapEl = h('div', { class: 'detail-map', id: 'warn-map' });
  const timeline = h('div', { id: 'warn-timeline-box' });
  const live = h('div', { id: 'warn-live' });
  setChildren(view, h('div', { class: 'page warn-detail', id: 'warn-detail' },
    h('div', { class: 'crumbs' }, h('a', { href: '#/warn' }, '预警列表'), ' / ', `预警 #${w.id}`),
    head, msg, actionsBox,
    h('div', { class: 'detail-grid' }, info, mapEl),
    live,
    h('h3', {}, '流转记录'), timeline));

  function render() {
    setChildren(head,
      levelPill(w.level),
      h('h2', { class: 'page-title', id: 'warn-title' }, w.headline || `预警 #${w.id}`),
      warnStateBadge(w.state),
      w.msg_type !== 'Alert' ? h('span', { class: 'tag' }, MSG_TYPES[w.msg_type] || w.msg_type) : null,
      h('span', { class: 'actions' },
        w.has_cap ? h('a', { class: 'btn btn-small', id: 'btn-cap', href: `api/v1/warnings/${w.id}/cap`, target: '_blank', rel: 'noopener' }, 'CAP 报文') : null));
    setChildren(info, infoTable(w));
    setChildren(timeline, timelineList(w));
    renderActions();
  }

  // ---- workflow actions: exactly those the server lists for this user
  const note = h('input', { type: 'text', id: 'act-note', class: 'act-note', maxlength: 200, placeholder: '审批意见或原因' });
  function renderActions() {
    const acts = (w.actions || []).filter((a) => a !== 'edit');
    const canEdit = (w.actions || []).includes('edit');
    if (!acts.length && !canEdit) {
      const waiting = w.state === 'submitted' ? `等待审批：${APPROVERS[w.level] || ''}` : '';
      actionsBox.hidden = !waiting;
      setChildren(actionsBox, waiting ? h('div', { class: 'hint', id: 'warn-waiting' }, waiting) : null);
      return;
    }
    actionsBox.hidden = false;
    const label = { submit: '提交审批', approve: '审批通过', reject: '退回', publish: '发布', update: '发布更新', cancel: '解除预警' };
    const needsNote = acts.some((a) => a === 'approve' || a === 'reject' || a === 'cancel');
    setChildren(actionsBox,
      h('div', { class: 'act-row' },
        needsNote ? note : null,
        canEdit ? h('a', { class: 'btn', id: 'act-edit', href: `#/warn/${w.id}/edit` }, '修改') : null,
        acts.map((a) => h('button', { type: 'button', id: `act-${a}`,
          class: `btn ${a === 'cancel' || a === 'reject' ? 'btn-danger' : 'btn-primary'}`,
          onclick: () => doAction(a) }, label[a] || a))),
      w.state === 'submitted' && !acts.includes('approve') && acts.includes('reject')
        ? h('div', { class: 'hint' }, '提交人不能审批自己提交的预警') : null);
  }
  async function doAction(a) {
    msg.hidden = true;
    const text = note.value.trim();
    if ((a === 'reject' || a === 'cancel') && !text) {
      showError(msg, a === 'reject' ? '退回须填写原因' : '解除预警须填写原因');
      note.focus();
      return;
    }
    if (a === 'publish' && !confirm(`确认发布「${w.headline}」？发布后将立即向预警区域内的居民、责任人和广播终端发送。`)) return;
    if (a === 'cancel' && !confirm('确认解除该预警？将停止尚未完成的发送，并向已收到预警的人员和广播终端发送解除通知。')) return;
    const bodyFor = { approve: { note: text || undefined }, reject: { reason: text }, cancel: { reason: text } };
    for (const b of actionsBox.querySelectorAll('button')) b.disabled = true;
    try {
      const { data } = await request(`warnings/${w.id}/${a}`, { method: 'POST', json: bodyFor[a] || {}, headers: { 'If-Match': ifMatch(w.version) } });
      note.value = '';
      if (a === 'update') {
        toast(`已生成更新草稿 #${data.id}，修改后提交审批`, 'ok');
        location.hash = `#/warn/${data.id}/edit`;
        return;
      }
      if (a === 'cancel') {
        toast('预警已解除', 'ok');
        w = await get(`warnings/${w.id}`);
      } else {
        w = data;
        toast(({ submit: '已提交审批', approve: '已审批通过', reject: '已退回', publish: '预警已发布' })[a] || '已完成', 'ok');
      }
      if (!ctx.alive()) return;
      render();
      progress.reload();
    } catch (e) {
      showError(msg, `操作失败：${errorText(e)}`);
      if (e.status === 409 || e.status === 412) {
        try { w = await get(`warnings/${w.id}`); if (ctx.alive()) render(); } catch { /* shown above */ }
      }
    } finally {
      for (const b of actionsBox.querySelectorAll('button')) b.disabled = false;
    }
  }

  render();
  const progress = progressPanel(live, ctx, () => w);
  progress.reload();

  // ---- the area on the map
  const { map } = await createBaseMap(mapEl, { labels: true });
  if (!ctx.alive()) { map.remove(); return; }
  ctx.onDispose(() => map.remove());
  const layer = L.featureGroup().addTo(map);
  const a = w.area || {};
  for (const ring of a.polygons || []) L.polygon(ring, { color: '#b3261e', weight: 2, fillOpacity: 0.15 }).addTo(layer);
  for (const [la, lo, r] of a.circles || []) L.circle([la, lo], { radius: r * 1000, color: '#b3261e', weight: 2, fillOpacity: 0.15 }).addTo(layer);
  if (layer.getLayers().length) map.fitBounds(layer.getBounds(), { padding: [20, 20], animate: false, maxZoom: 12 });
  settle(map);
}

/*
 * Delivery progress, coverage and the 叫应 board of a published (or ended)
 * warning.  Follows `event: warning` for this warning, reloading at most
 * once a second; a reconnect of the stream reloads everything.
 */
function progressPanel(box, ctx, current) {
  let loading = false;
  let again = false;
  let groupBy = 'county';
  let filter = 'open'; // open | answered | all
  let region = '';
  let shown = PEOPLE_PAGE;
  let board = null;
  const writable = granted('warning', 'write');

  const sumEl = h('div', { id: 'delivery-summary' });
  const covEl = h('div', { id: 'coverage' });
  const boardEl = h('div', { id: 'callup-board' });
  const eventsEl = h('div', { id: 'callup-events' });
  const liveNote = h('span', { class: 'muted small', id: 'progress-updated' });

  async function load() {
    const w = current();
    if (!['published', 'updated', 'cancelled', 'expired'].includes(w.state) || w.source !== 'local') {
      box.replaceChildren();
      return;
    }
    // a Cancel message goes to those the warning reached (解除通知): its
    // sending, no call-up and no coverage
    const notice = w.msg_type === 'Cancel';
    if (loading) { again = true; return; }
    loading = true;
    try {
      const [del, cov, cu] = await Promise.all([
        get(`warnings/${w.id}/deliveries`, { limit: 1 }),
        notice ? null : get(`warnings/${w.id}/coverage`, { group_by: groupBy }),
        get(`warnings/${w.id}/callup`, { region: region || undefined }),
      ]);
      if (!ctx.alive()) return;
      board = cu;
      if (!box.firstChild) {
        setChildren(box,
          h('div', { class: 'progress-head' }, h('h3', {}, notice ? '解除通知发送' : '发送与叫应'), liveNote),
          notice ? null : [h('h4', {}, '覆盖情况'), covEl],
          h('h4', {}, '发送进度'), sumEl,
          notice ? null : [h('h4', {}, '叫应看板'), boardEl],
          h('h4', {}, '最新动态'), eventsEl);
      }
      renderSummary(del);
      if (!notice) {
        renderCoverage(cov);
        renderBoard();
      }
      renderEvents(cu.events || []);
      liveNote.textContent = `更新于 ${new Date().toLocaleTimeString('zh-CN', { hour12: false })}`;
    } catch (e) {
      if (ctx.alive() && e.status !== 401) toast(`发送情况加载失败：${errorText(e)}`);
    } finally {
      loading = false;
      if (again && ctx.alive()) { again = false; setTimeout(load, 1000); }
    }
  }
  const reload = debounce(load, 1000);

  function renderSummary(del) {
    const counts = del.counts || {};
    const states = Object.keys(DELIVERY_STATES);
    const kinds = Object.keys(KINDS).filter((k) => counts[k]);
    const total = (k) => Object.values(counts[k] || {}).reduce((s, n) => s + n, 0);
    setChildren(sumEl, h('div', { class: 'table-wrap' }, h('table', { class: 'data-table delivery-table', id: 'delivery-table' },
      h('thead', {}, h('tr', {}, h('th', {}, '对象'), h('th', {}, '合计'), states.map((s) => h('th', {}, DELIVERY_STATES[s])))),
      h('tbody', {}, kinds.length ? kinds.map((k) => h('tr', { dataset: { kind: k } },
        h('td', {}, KINDS[k]), h('td', { class: 'num' }, String(total(k))),
        states.map((s) => h('td', { class: 'num', dataset: { state: s } }, counts[k][s] ? String(counts[k][s]) : '')))) :
        h('tr', {}, h('td', { colspan: states.length + 2, class: 'empty' }, '没有发送对象'))))));
  }

  function renderCoverage(cov) {
    const t = cov.total || {};
    const sel = h('select', { id: 'coverage-group', 'aria-label': '统计口径', onchange: () => { groupBy = sel.value; load(); } },
      h('option', { value: 'county', selected: groupBy === 'county' }, '按区县'),
      h('option', { value: 'township', selected: groupBy === 'township' }, '按乡镇'));
    const line = (g) => [
      h('td', { class: 'num' }, String(g.residents)),
      h('td', { class: 'num' }, `${g.reached}（${pct(g.reached_share)}）`),
      h('td', { class: 'num' }, fmtDuration(g.time_to_90_s)),
      h('td', { class: 'num' }, `${g.answered}/${g.responsible}（${pct(g.answered_share)}）`),
      h('td', { class: 'num' }, `${g.confirmed}/${g.vulnerable}（${pct(g.confirmed_share)}）`),
      h('td', { class: 'num' }, `${g.played}/${g.terminals}`),
    ];
    setChildren(covEl,
      h('div', { class: 'cov-cards' },
        covCard('居民覆盖率', pct(t.reached_share), `${t.reached || 0} / ${t.residents || 0} 人`, 'cov-reached', Number(t.reached_share) >= 0.9),
        covCard('达到 90% 用时', fmtDuration(t.time_to_90_s), '自发布起', 'cov-t90', t.time_to_90_s !== null && t.time_to_90_s !== undefined),
        covCard('责任人应答率', pct(t.answered_share), `${t.answered || 0} / ${t.responsible || 0} 人`, 'cov-answered', Number(t.answered_share) >= 1),
        covCard('特殊群体确认率', pct(t.confirmed_share), `${t.confirmed || 0} / ${t.vulnerable || 0} 人`, 'cov-confirmed', Number(t.confirmed_share) >= 1),
        covCard('广播终端播放', `${t.played || 0} / ${t.terminals || 0}`, '个', 'cov-played', t.terminals && t.played === t.terminals)),
      h('div', { class: 'toolbar' }, sel, h('span', { class: 'hint' }, '已覆盖：本人的短信或电话已送达，或所在村的广播终端已确认播放；特殊群体确认：其包保联系人已应答')),
      h('div', { class: 'table-wrap' }, h('table', { class: 'data-table', id: 'coverage-table' },
        h('thead', {}, h('tr', {}, ['区域', '目标居民', '已覆盖', '达90%用时', '责任人应答', '特殊群体确认', '广播播放'].map((x) => h('th', {}, x)))),
        h('tbody', {}, (cov.groups || []).map((g) => h('tr', { dataset: { region: g.region } }, h('td', {}, regionText(g.region)), line(g)))))));
  }

  function covCard(title, value, sub, id, good) {
    return h('div', { class: `cov-card${good ? ' cov-good' : ''}`, id },
      h('div', { class: 'cov-title' }, title), h('div', { class: 'cov-value num' }, value), h('div', { class: 'cov-sub' }, sub));
  }

  function renderBoard() {
    const cu = board;
    const people = (cu.people || []).filter((p) => (filter === 'all' ? true : filter === 'open' ? !p.acked_at : !!p.acked_at));
    const fsel = h('select', { id: 'board-filter', 'aria-label': '应答状态', onchange: () => { filter = fsel.value; shown = PEOPLE_PAGE; renderBoard(); } },
      [['open', '未应答'], ['answered', '已应答'], ['all', '全部']].map(([k, l]) => h('option', { value: k, selected: filter === k }, l)));
    const rsel = h('select', { id: 'board-region', 'aria-label': '区县', onchange: () => { region = rsel.value; shown = PEOPLE_PAGE; load(); } },
      h('option', { value: '' }, '全部区县'));
    topRegions().then((items) => {
      for (const r of items) rsel.appendChild(h('option', { value: r.code, selected: region === String(r.code) }, r.name));
    }).catch(() => {});
    const w = current();
    const canRecord = writable && w.state === 'published';
    const rows = people.slice(0, shown).map((p) => h('tr', { class: `board-row${p.acked_at ? ' is-acked' : ''}`, dataset: { id: p.id } },
      h('td', {}, p.region_name || regionText(p.region_code)),
      h('td', {}, p.name || '', p.kind === 'contact' && p.vulnerable ? h('span', { class: 'muted small' }, `（包保：${p.vulnerable}）`) : null),
      h('td', {}, KINDS[p.kind] || p.kind, p.person_level ? ` · ${p.person_level}` : '', p.post ? ` · ${p.post}` : '',
        p.level_up ? h('span', { class: 'tag tag-escalated' }, '上级') : null),
      h('td', { class: 'mono' }, p.address || ''),
      h('td', {}, h('span', { class: `dstate dstate-${p.state}` }, DELIVERY_STATES[p.state] || p.state), p.attempts ? h('span', { class: 'muted small' }, ` 第${p.attempts}次`) : null),
      h('td', { class: 'nowrap' }, p.acked_at ? `${fmtTime(p.acked_at)} ${ACK_VIA[p.acked_via] || p.acked_via || ''}` : (p.escalated_to ? '已逐级上报' : '')),
      h('td', {}, !p.acked_at && canRecord ? h('button', { type: 'button', class: 'btn btn-small btn-ack-phone', onclick: () => recordPhone(p) }, '登记电话应答') : null)));
    const regionsLine = (cu.regions || []).map((g) => h('span', { class: 'board-region' }, regionText(g.region), ` ${g.answered}/${g.total}`));
    setChildren(boardEl,
      h('div', { class: 'board-summary', id: 'board-summary' },
        h('span', {}, '须应答 ', h('strong', { class: 'num', id: 'board-total' }, String(cu.total)), ' 人，已应答 ',
          h('strong', { class: 'num', id: 'board-answered' }, String(cu.answered)), ' 人，未应答 ',
          h('strong', { class: 'num board-open', id: 'board-open' }, String(cu.total - cu.answered)), ' 人；逐级上报 ',
          h('strong', { class: 'num', id: 'board-escalations' }, String(cu.escalations)), ' 次'),
        regionsLine.length ? h('span', { class: 'board-regions' }, regionsLine) : null),
      cu.names === false
        ? h('p', { class: 'muted', id: 'board-counts-only' }, '应答人员名单（含特殊群体信息）仅对有权查看居民和叫应责任人信息的人员显示；您可查看以上统计。')
        : null,
      cu.names === false ? null : h('div', { class: 'toolbar' }, fsel, rsel),
      cu.names === false ? null : h('div', { class: 'table-wrap' }, h('table', { class: 'data-table board-table', id: 'board-table' },
        h('thead', {}, h('tr', {}, ['区域', '姓名', '类别', '电话', '状态', '应答', ''].map((x) => h('th', {}, x)))),
        h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: 7, class: 'empty' }, filter === 'open' ? '全部已应答' : '暂无'))))),
      people.length > shown ? h('button', { type: 'button', class: 'btn btn-small', id: 'board-more', onclick: () => { shown += PEOPLE_PAGE; renderBoard(); } },
        `显示更多（还有 ${people.length - shown} 人）`) : null);
  }

  async function recordPhone(p) {
    const text = prompt(`登记 ${p.name || ''} 的电话应答：请填写通话情况`, '电话联系，已知晓并落实');
    if (text === null) return;
    if (!text.trim()) { toast('须写明通话情况'); return; }
    try {
      await request(`deliveries/${p.id}/ack`, { method: 'POST', json: { via: 'phone', note: text.trim() } });
      toast('已登记应答', 'ok');
      load();
    } catch (e) {
      toast(`登记失败：${errorText(e)}`);
    }
  }

  function renderEvents(events) {
    setChildren(eventsEl, h('ul', { class: 'callup-events' }, events.slice(0, 30).map((e) => h('li', {},
      h('span', { class: 'tl-time' }, fmtTime(e.ts)), ' ',
      h('strong', {}, CALLUP_EVENTS[e.action] || e.action), ' ',
      regionText(e.region_code), ' ',
      e.note ? h('span', { class: 'muted' }, e.note) : null))));
  }

  ctx.onDispose(onWarningEvent((m) => { if (Number(m.warning_id) === Number(current().id)) reload(); }));
  ctx.onDispose(onResync(() => load()));
  return { reload: load };
}
