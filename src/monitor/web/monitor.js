/*
 * monitor.js — the monitoring module's pages, 监测预警 (docs/monitoring.md):
 *
 *   #/mon/alarms[?state=&region=&offset=]   实时报警: the live alarm board
 *   #/mon/alarms/<id>                       报警详情: facts, timeline, actions
 *   #/mon/workorders[?state=&focus=]        维修工单
 *   #/mon/health[?day=&group_by=]           设备健康
 *   #/mon/rejects[?reason=&offset=]         拒收数据
 *   #/mon/sensors…                          监测数据 and the sensor page (sensors.js)
 *
 * Alarm pages need the "alarm" permission (actions: alarm write), the
 * others "monitor".  The board and the detail follow the live stream
 * (live.js): a new or changed alarm is fetched and its row inserted or
 * refreshed in place, without reloading the page.
 */
import { request, get, ifMatch, errorText } from '../../js/api.js';
import { h, setChildren, fmtTime, toast, debounce, hashWith } from '../../js/dom.js';
import { granted, topRegions } from '../../js/session.js';
import {
  ALARM_STATES, CONDS, VERDICTS, RULE_KINDS, TIMELINE_ACTIONS, WORKORDER_STATES, REJECT_REASONS, SOURCES,
  levelInfo, levelPill, stateBadge, fmtNum, withUnit, regionText, beijingDay,
} from '../../js/monshared.js';
import {
  onAlarmEvent, onResync, onLiveStatus, onUnread, refreshUnreadSoon, soundEnabled, setSound, beep,
} from '../../js/live.js';
import { hooks } from '../../js/modules.js';
import { renderSensorList, renderSensor, sensorHistoryBox } from './sensors.js';

// Hooks the shell calls (js/modules.js): the one map's monitoring layer.
export { makeMonitorLayer as mapLayer } from './monmap.js';

const BOARD_LIMIT = 100;
const REJECT_LIMIT = 50;

function requireRead(resource) {
  if (!granted(resource, 'read')) throw new Error('您没有访问该页面的权限');
}

/** Route #/mon/<parts…> to its page (the shell calls it for the "mon" prefix). */
export async function render(view, ctx, parts) {
  const [page, id, extra] = parts;
  if (extra !== undefined) throw new Error('页面不存在');
  if (page === 'alarms' && id === undefined) return renderAlarmBoard(view, ctx);
  if (page === 'alarms') return renderAlarmDetail(view, ctx, id);
  if (page === 'sensors' && id === undefined) { requireRead('monitor'); return renderSensorList(view, ctx); }
  if (page === 'sensors') { requireRead('monitor'); return renderSensor(view, ctx, id); }
  if (page === 'workorders' && id === undefined) return renderWorkorders(view, ctx);
  if (page === 'health' && id === undefined) return renderHealth(view, ctx);
  if (page === 'rejects' && id === undefined) return renderRejects(view, ctx);
  throw new Error('页面不存在');
}

/**
 * After a registry detail page is drawn: a sensor gets a link to its
 * monitoring page, a monitored object one to its sensors' latest values.
 */
export function decorateRegistryPage(view, reg, id) {
  if (!granted('monitor', 'read')) return;
  const actions = id ? view.querySelector('.page-head .actions') : view.querySelector('.toolbar');
  if (!actions) return;
  let link = null;
  if (reg.name === 'sensor' && id) {
    link = h('a', { class: 'btn', id: 'btn-sensor-monitor', href: `#/mon/sensors/${encodeURIComponent(id)}` }, '监测曲线');
  } else if (reg.name === 'monitored_object' && id) {
    link = h('a', { class: 'btn', id: 'btn-object-monitor', href: `#/mon/sensors?object_id=${encodeURIComponent(id)}` }, '实时监测数据');
  } else if (reg.name === 'sensor' && !id) {
    link = h('a', { class: 'btn', id: 'btn-sensor-latest', href: '#/mon/sensors' }, '实时监测数据');
  }
  if (link && id) actions.prepend(link);
  else if (link) actions.append(link);
}

/* ---- shared bits ------------------------------------------------------------- */

function regionSelect(query, onChange) {
  const sel = h('select', { class: 'filter', id: 'filter-region', 'aria-label': '区县', onchange: () => onChange(sel.value) },
    h('option', { value: '' }, '全部区县'));
  topRegions().then((items) => {
    for (const r of items) sel.appendChild(h('option', { value: r.code, selected: query.get('region') === String(r.code) }, r.name));
  }).catch((e) => toast(`区县列表加载失败：${errorText(e)}`));
  return sel;
}

function actorName(actor) {
  if (!actor || actor === 'system') return '系统';
  return String(actor);
}

function errorBox(text) {
  return h('div', { class: 'form-error', role: 'alert' }, text);
}

/* ====================================================================== */
/* 实时报警                                                               */
/* ====================================================================== */

const BOARD_SCOPES = [['open', '未关闭'], ['all', '全部'], ...Object.entries(ALARM_STATES)];

/* Server order: open before closed, then level (red first), newest first. */
function boardKey(a) { return [a.state === 'closed' ? 1 : 0, Number(a.level) || 9, -Number(a.id)]; }
function before(x, y) {
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i];
  return false;
}

export async function renderAlarmBoard(view, ctx) {
  requireRead('alarm');
  const q = ctx.query;
  const scope = BOARD_SCOPES.some(([k]) => k === q.get('state')) ? q.get('state') : 'open';
  const region = q.get('region') || '';
  const offset = Math.max(0, Number(q.get('offset')) || 0);
  const writable = granted('alarm', 'write');
  const go = (changes) => { location.hash = hashWith('#/mon/alarms', q, changes); };

  const matches = (a) => (scope === 'open' ? a.state !== 'closed' : scope === 'all' ? true : a.state === scope)
    && (!region || String(a.region_code || '').startsWith(region));

  // ---- head: live status, inbox, sound
  const liveDot = h('span', { class: 'live-status', id: 'live-status' });
  const unreadBtn = h('button', { type: 'button', class: 'btn btn-small inbox-btn', id: 'inbox-btn', 'aria-expanded': 'false',
    onclick: () => toggleInbox() }, '未读消息 ', h('span', { class: 'count-badge', id: 'inbox-unread' }, '…'));
  const sound = h('input', { type: 'checkbox', id: 'sound-toggle', checked: soundEnabled(),
    onchange: () => {
      setSound(sound.checked);
      if (sound.checked) { beep(3); toast('已开启报警声音提醒', 'ok'); }
    } });
  const inboxBox = h('div', { class: 'inbox-panel', id: 'inbox-panel', hidden: true });

  const scopeSel = h('select', { class: 'filter', id: 'filter-state', 'aria-label': '报警状态', onchange: () => go({ state: scopeSel.value === 'open' ? '' : scopeSel.value }) },
    BOARD_SCOPES.map(([k, label]) => h('option', { value: k, selected: k === scope }, label)));
  const counts = h('div', { class: 'level-counts', id: 'level-counts' });
  const tbody = h('tbody', { id: 'alarm-rows' });
  const table = h('table', { class: 'data-table alarm-table', id: 'alarm-table' },
    h('thead', {}, h('tr', {}, ['级别', '报警', '区域', '报警时间', '累计次数', '峰值', '当前', '状态', writable ? '操作' : null]
      .filter(Boolean).map((t) => h('th', { scope: 'col' }, t)))),
    tbody);
  const pager = h('div', { class: 'pager' });
  const board = h('div', { class: 'page alarm-board', id: 'alarm-board' },
    h('div', { class: 'page-head' },
      h('h2', { class: 'page-title' }, '实时报警'),
      liveDot,
      h('div', { class: 'actions' },
        unreadBtn,
        h('label', { class: 'check sound-check', for: 'sound-toggle', title: '有新报警时播放提示音' }, sound, ' 声音'))),
    inboxBox,
    h('div', { class: 'toolbar' }, scopeSel, regionSelect(q, (v) => go({ region: v })),
      h('span', { class: 'toolbar-spacer' }), counts),
    h('div', { class: 'table-wrap' }, table),
    pager);
  setChildren(view, board);

  ctx.onDispose(onLiveStatus((on) => {
    board.dataset.live = on ? '1' : '0';
    liveDot.className = `live-status ${on ? 'live-on' : 'live-off'}`;
    liveDot.textContent = on ? '● 实时' : '○ 连接中断，正在重连…';
    liveDot.title = on ? '新报警将自动出现' : '实时连接已断开，恢复后自动刷新';
  }));
  ctx.onDispose(onUnread((n) => {
    const el = document.getElementById('inbox-unread');
    if (el) el.textContent = n === null ? '—' : String(n);
    unreadBtn.classList.toggle('has-unread', Number(n) > 0);
  }));

  let total = 0;
  const cols = writable ? 9 : 8;

  function rowFor(a, flash) {
    const l = levelInfo(a.level);
    const tags = [
      a.late ? h('span', { class: 'tag tag-late', title: '由补传数据触发，不按实时报警升级' }, '补传') : null,
      Number(a.escalation) > 0 ? h('span', { class: 'tag tag-escalated', title: '未及时确认，已逐级上报' }, `已上报${a.escalation}级`) : null,
    ];
    const ackBtn = writable && a.state === 'raised'
      ? h('button', { type: 'button', class: 'btn btn-small btn-primary', dataset: { act: 'acknowledge' }, onclick: () => quickAck(a) }, '确认')
      : null;
    const tr = h('tr', { class: `alarm-row level-row-${l.name}${a.state === 'closed' ? ' is-closed' : ''}`, dataset: { id: String(a.id), state: a.state, level: String(a.level) } },
      h('td', { class: 'nowrap' }, levelPill(a.level)),
      h('td', { class: 'alarm-title-cell' }, h('a', { href: `#/mon/alarms/${a.id}`, class: 'alarm-link' }, a.title || `报警 #${a.id}`), ' ', tags,
        granted('monitor', 'read') ? h('a', { class: 'sensor-mini-link', href: `#/mon/sensors/${a.sensor_id}`, title: '查看传感器监测曲线' }, '曲线') : null),
      h('td', { dataset: { label: '区域' } }, regionText(a.region_code)),
      h('td', { class: 'nowrap', dataset: { label: '报警时间' } }, fmtTime(a.raised_at)),
      h('td', { class: 'num', dataset: { label: '累计次数' } }, String(a.count ?? '')),
      h('td', { class: 'nowrap num', dataset: { label: '峰值' } }, withUnit(a.peak, a.unit)),
      h('td', { class: 'nowrap', dataset: { label: '当前' } }, h('span', { class: `cond cond-${a.cond}` }, CONDS[a.cond] || a.cond || '')),
      h('td', { class: 'nowrap cell-state' }, stateBadge(a.state)),
      writable ? h('td', { class: 'nowrap cell-act' }, ackBtn) : null);
    if (flash) {
      tr.classList.add(flash);
      setTimeout(() => tr.classList.remove(flash), 8000);
    }
    return tr;
  }

  function updateCounts() {
    const rows = [...tbody.querySelectorAll('tr.alarm-row')];
    const open = rows.filter((r) => r.dataset.state !== 'closed');
    counts.replaceChildren(...[1, 2, 3, 4].map((lv) => {
      const n = open.filter((r) => r.dataset.level === String(lv)).length;
      const l = levelInfo(lv);
      return h('span', { class: `level-count level-count-${l.name}${n ? '' : ' zero'}`, title: `本页未关闭的${l.label}报警` }, `${l.label} ${n}`);
    }));
    if (!rows.length && !tbody.querySelector('.empty')) {
      tbody.appendChild(h('tr', { class: 'empty-row' }, h('td', { colspan: cols, class: 'empty' }, '当前没有报警')));
    } else if (rows.length) {
      for (const e of tbody.querySelectorAll('tr.empty-row')) e.remove();
    }
    const pages = Math.max(1, Math.ceil(total / BOARD_LIMIT));
    const page = Math.floor(offset / BOARD_LIMIT) + 1;
    setChildren(pager,
      h('span', { id: 'alarm-total' }, `共 ${total} 条，第 ${page}/${pages} 页`),
      h('button', { type: 'button', class: 'btn btn-small', disabled: offset <= 0,
        onclick: () => go({ offset: Math.max(0, offset - BOARD_LIMIT) || '' }) }, '上一页'),
      h('button', { type: 'button', class: 'btn btn-small', disabled: offset + BOARD_LIMIT >= total,
        onclick: () => go({ offset: offset + BOARD_LIMIT }) }, '下一页'));
  }

  function place(tr, a) {
    const key = boardKey(a);
    for (const other of tbody.querySelectorAll('tr.alarm-row')) {
      const k = boardKey({ state: other.dataset.state, level: other.dataset.level, id: other.dataset.id });
      if (before(key, k)) { tbody.insertBefore(tr, other); return; }
    }
    // Past the end of a full page the row belongs to a later page.
    if (tbody.querySelectorAll('tr.alarm-row').length < BOARD_LIMIT) tbody.appendChild(tr);
  }

  async function load() {
    const params = { limit: BOARD_LIMIT, offset, region: region || undefined };
    if (scope === 'open') params.open = 1;
    else if (scope !== 'all') params.state = scope;
    let data;
    try {
      data = await get('alarms', params);
    } catch (e) {
      if (ctx.alive()) setChildren(tbody, h('tr', {}, h('td', { colspan: cols }, errorBox(`加载失败：${errorText(e)}`))));
      return;
    }
    if (!ctx.alive()) return;
    total = Number(data.total) || 0;
    setChildren(tbody, (data.items || []).map((a) => rowFor(a)));
    updateCounts();
  }

  // Live: fetch the changed alarm and insert, move or drop its row.
  const pending = new Map();
  async function upsert(id, flash) {
    let a = null;
    try {
      a = await get(`alarms/${encodeURIComponent(id)}`);
    } catch (e) {
      if (e.status !== 404) return;
    }
    if (!ctx.alive()) return;
    const old = tbody.querySelector(`tr.alarm-row[data-id="${CSS.escape(String(id))}"]`);
    if (!a || !matches(a)) {
      if (old) { old.remove(); total = Math.max(0, total - 1); }
      updateCounts();
      return;
    }
    const tr = rowFor(a, old ? 'row-updated' : flash);
    if (old) old.remove();
    else total++;
    if (old || offset === 0) place(tr, a);
    updateCounts();
  }
  const upsertSoon = (id, flash) => {
    clearTimeout(pending.get(id));
    pending.set(id, setTimeout(() => { pending.delete(id); upsert(id, flash); }, 150));
  };
  ctx.onDispose(() => { for (const t of pending.values()) clearTimeout(t); });
  ctx.onDispose(onAlarmEvent((msg) => {
    if (msg && msg.id) upsertSoon(msg.id, msg.action === 'raised' ? 'row-new' : 'row-updated');
  }));
  const reload = debounce(load, 300);
  ctx.onDispose(onResync(reload));

  async function quickAck(a) {
    try {
      const { data } = await request(`alarms/${a.id}/acknowledge`, { method: 'POST', json: {}, headers: { 'If-Match': ifMatch(a.version) } });
      toast('已确认报警', 'ok');
      upsertSoon(data.id, 'row-updated');
    } catch (e) {
      toast(`确认失败：${errorText(e)}`);
      upsertSoon(a.id);
    }
  }

  // ---- inbox panel
  async function toggleInbox(open) {
    const on = open === undefined ? inboxBox.hidden : open;
    inboxBox.hidden = !on;
    unreadBtn.setAttribute('aria-expanded', String(on));
    if (!on) return;
    setChildren(inboxBox, h('div', { class: 'muted' }, '正在加载…'));
    let data;
    try {
      data = await get('inbox', { limit: 30 });
    } catch (e) {
      setChildren(inboxBox, errorBox(`消息加载失败：${errorText(e)}`));
      return;
    }
    const items = data.items || [];
    const unreadItems = items.filter((m) => !m.read_at);
    const markRead = async (m) => {
      try { await request(`inbox/${m.id}/read`, { method: 'POST', json: {} }); } catch (e) { toast(`标记已读失败：${errorText(e)}`); }
    };
    setChildren(inboxBox,
      h('div', { class: 'inbox-head' },
        h('strong', {}, '报警消息'),
        unreadItems.length ? h('button', { type: 'button', class: 'btn btn-small', id: 'inbox-read-all', onclick: async () => {
          for (const m of unreadItems) await markRead(m);
          refreshUnreadSoon();
          toggleInbox(true);
        } }, '全部标为已读') : null,
        h('button', { type: 'button', class: 'btn btn-small btn-plain', onclick: () => toggleInbox(false) }, '收起')),
      items.length ? h('ul', { class: 'inbox-list' }, items.map((m) => h('li', { class: m.read_at ? 'is-read' : 'is-unread' },
        levelPill(m.level, true), ' ',
        h('a', { href: `#/mon/alarms/${m.alarm_id}`, onclick: () => { if (!m.read_at) markRead(m).then(refreshUnreadSoon); } }, m.title || `报警 #${m.alarm_id}`),
        h('div', { class: 'muted inbox-meta' }, fmtTime(m.created_at), m.group_name ? ` · ${m.group_name}` : '', m.reason ? ` · ${m.reason}` : '')))) : h('p', { class: 'muted' }, '暂无消息'));
  }

  await load();
}

/* ====================================================================== */
/* 报警详情                                                               */
/* ====================================================================== */

const ACTIONS = [
  ['acknowledge', '确认', ['raised']],
  ['verify', '核实', ['acknowledged']],
  ['dispose', '处置', ['acknowledged', 'verified']],
  ['close', '关闭报警', ['acknowledged', 'verified', 'disposing']],
];

export async function renderAlarmDetail(view, ctx, id) {
  requireRead('alarm');
  const writable = granted('alarm', 'write');
  let a = await get(`alarms/${encodeURIComponent(id)}`);
  if (!ctx.alive()) return;

  const head = h('div', { class: 'page-head' });
  const msg = h('div', { class: 'form-error', role: 'alert', id: 'alarm-msg', hidden: true });
  const actionsBox = h('div', { class: 'alarm-actions', id: 'alarm-actions' });
  const info = h('div', { class: 'alarm-info' });
  const timeline = h('div', { id: 'alarm-timeline-box' });
  const chartBox = h('div', { class: 'alarm-chart-box' });
  setChildren(view, h('div', { class: 'page alarm-detail', id: 'alarm-detail' },
    h('div', { class: 'crumbs' }, h('a', { href: '#/mon/alarms' }, '实时报警'), ' / ', `报警 #${a.id}`),
    head, msg, actionsBox,
    h('div', { class: 'detail-grid' }, info, chartBox),
    h('h3', {}, '处置记录'), timeline));

  let shownState = null;
  function render() {
    setChildren(head,
      levelPill(a.level),
      h('h2', { class: 'page-title', id: 'alarm-title' }, a.title || `报警 #${a.id}`),
      stateBadge(a.state),
      a.state !== 'closed' ? h('span', { class: `cond cond-${a.cond}` }, CONDS[a.cond] || a.cond || '') : null,
      a.late ? h('span', { class: 'tag tag-late' }, '补传') : null,
      h('span', { class: 'actions' }, hooks('alarmActions').map((f) => f(a.id))));
    setChildren(info, infoTable(a));
    setChildren(timeline, timelineList(a));
    if (shownState !== a.state) {
      shownState = a.state;
      renderActions();
    }
  }

  // ---- actions allowed by the state
  const note = h('input', { type: 'text', id: 'act-note', class: 'act-note', maxlength: 200, placeholder: '处置说明（可选）' });
  function renderActions() {
    msg.hidden = true;
    if (!writable || a.state === 'closed') { actionsBox.replaceChildren(); actionsBox.hidden = true; return; }
    actionsBox.hidden = false;
    note.value = '';
    const closeForm = closeFormFor();
    const buttons = ACTIONS.filter(([, , from]) => from.includes(a.state)).map(([act, label]) =>
      h('button', { type: 'button', class: `btn ${act === 'close' ? 'btn-danger' : 'btn-primary'}`, id: `act-${act}`,
        onclick: () => {
          if (act === 'close') { closeForm.show(); return; }
          doAction(act, { note: note.value.trim() || undefined });
        } }, label));
    setChildren(actionsBox,
      h('div', { class: 'act-row' }, note, buttons),
      a.state === 'raised' ? h('div', { class: 'hint' }, '报警须先确认，才能核实、处置或关闭') : null,
      closeForm.el);
  }

  async function doAction(act, body, onFieldError) {
    msg.hidden = true;
    for (const b of actionsBox.querySelectorAll('button')) b.disabled = true;
    try {
      const clean = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined && v !== ''));
      const { data } = await request(`alarms/${a.id}/${act}`, { method: 'POST', json: clean, headers: { 'If-Match': ifMatch(a.version) } });
      a = data;
      toast(`已${({ acknowledge: '确认', verify: '核实', dispose: '转入处置', close: '关闭' })[act]}报警`, 'ok');
      render();
      return true;
    } catch (e) {
      if (!(onFieldError && e.field && onFieldError(e.field, errorText(e)))) {
        msg.textContent = `操作失败：${errorText(e)}`;
        msg.hidden = false;
      }
      if (e.status === 409 || e.status === 412) reloadSoon();
      return false;
    } finally {
      for (const b of actionsBox.querySelectorAll('button')) b.disabled = false;
    }
  }

  function closeFormFor() {
    const radios = Object.entries(VERDICTS).map(([v, label]) =>
      h('label', { class: 'check verdict-opt' }, h('input', { type: 'radio', name: 'verdict', value: v, id: `verdict-${v}` }), ` ${label}`));
    const errs = {};
    const field = (name, label, hint) => {
      const ta = h('textarea', { id: `f-${name}`, name, rows: 2, maxlength: 500 });
      errs[name] = h('div', { class: 'field-error', id: `err-${name}`, hidden: true });
      const lab = h('label', { class: 'form-label', for: `f-${name}` }, label, h('span', { class: 'req' }, ' *'));
      const row = h('div', { class: 'form-row', dataset: { field: name } }, lab, h('div', { class: 'form-control' }, ta, hint ? h('div', { class: 'hint' }, hint) : null, errs[name]));
      return { row, ta, lab };
    };
    const cause = field('cause', '险情原因');
    const measures = field('measures', '处置措施');
    const reason = field('reason', '误报原因');
    errs.verdict = h('div', { class: 'field-error', id: 'err-verdict', hidden: true });
    const faultHint = h('div', { class: 'hint', hidden: true }, '关闭后将自动生成维修工单，派发给设备维护人员。');
    const submit = h('button', { type: 'submit', class: 'btn btn-danger', id: 'btn-close-submit' }, '确认关闭');
    const showErr = (name, text) => {
      if (!errs[name]) return false;
      errs[name].textContent = text;
      errs[name].hidden = false;
      const row = errs[name].closest('.form-row');
      if (row) row.classList.add('has-error');
      return true;
    };
    const clearErrs = () => {
      for (const e of Object.values(errs)) { e.hidden = true; e.textContent = ''; }
      for (const r of form.querySelectorAll('.has-error')) r.classList.remove('has-error');
    };
    const verdict = () => (form.querySelector('input[name=verdict]:checked') || {}).value || '';
    const sync = () => {
      const v = verdict();
      cause.row.hidden = v !== 'real';
      measures.row.hidden = v !== 'real';
      reason.row.hidden = v !== 'false' && v !== 'fault';
      reason.lab.firstChild.textContent = v === 'fault' ? '故障描述' : '误报原因';
      faultHint.hidden = v !== 'fault';
    };
    const form = h('form', { class: 'close-form record-form', id: 'close-form', hidden: true, novalidate: true,
      onchange: sync,
      onsubmit: async (ev) => {
        ev.preventDefault();
        clearErrs();
        const v = verdict();
        const body = { verdict: v, note: note.value.trim() || undefined };
        let bad = false;
        if (!v) bad = showErr('verdict', '请选择结论');
        if (v === 'real') {
          body.cause = cause.ta.value.trim();
          body.measures = measures.ta.value.trim();
          if (!body.cause) bad = showErr('cause', '请填写险情原因') || bad;
          if (!body.measures) bad = showErr('measures', '请填写处置措施') || bad;
        } else if (v) {
          body.reason = reason.ta.value.trim();
          if (!body.reason) bad = showErr('reason', v === 'fault' ? '请填写故障描述' : '请填写误报原因') || bad;
        }
        if (bad) return;
        submit.disabled = true;
        await doAction('close', body, showErr);
        submit.disabled = false;
      } },
    h('h3', {}, '关闭报警'),
    h('div', { class: 'form-row', dataset: { field: 'verdict' } },
      h('span', { class: 'form-label' }, '结论', h('span', { class: 'req' }, ' *')),
      h('div', { class: 'form-control' }, h('div', { class: 'verdicts', role: 'radiogroup', 'aria-label': '结论' }, radios), errs.verdict)),
    cause.row, measures.row, reason.row, faultHint,
    h('div', { class: 'form-actions' }, submit,
      h('button', { type: 'button', class: 'btn btn-plain', onclick: () => { form.hidden = true; } }, '取消')));
    sync();
    return { el: form, show: () => { form.hidden = false; form.scrollIntoView({ block: 'nearest' }); } };
  }

  render();

  // The sensor's data around the alarm (needs the monitor permission).
  if (granted('monitor', 'read')) {
    const end = Math.max(Number(a.cleared_at) || 0, Number(a.closed_at) || 0, Number(a.last_at) || 0, Number(a.raised_at));
    const from = Number(a.raised_at) - 3600000;
    const to = Math.min(Date.now() + 60000, Math.max(end + 1800000, Number(a.raised_at) + 3600000));
    setChildren(chartBox, sensorHistoryBox(ctx, a.sensor_id, from, to, {
      title: '报警前后数据', marks: [{ ts: Number(a.raised_at), label: '报警' }],
      sensor: a.sensor && a.sensor.type ? { id: a.sensor_id, type: a.sensor.type, region_code: a.region_code } : null,
    }));
  }

  // Live: reload when this alarm changes; reading it marks its messages read.
  const reloadSoon = debounce(async () => {
    try {
      const fresh = await get(`alarms/${encodeURIComponent(a.id)}`);
      if (!ctx.alive()) return;
      a = fresh;
      render();
    } catch (e) {
      if (e.status !== 401) toast(`报警刷新失败：${errorText(e)}`);
    }
  }, 300);
  ctx.onDispose(onAlarmEvent((m) => { if (String(m.id) === String(a.id)) reloadSoon(); }));
  ctx.onDispose(onResync(reloadSoon));
  markInboxRead(a.id);
}

async function markInboxRead(alarmId) {
  try {
    const data = await get('inbox', { unread: 1, limit: 200 });
    const mine = (data.items || []).filter((m) => String(m.alarm_id) === String(alarmId) && !m.read_at);
    for (const m of mine) await request(`inbox/${m.id}/read`, { method: 'POST', json: {} });
    if (mine.length) refreshUnreadSoon();
  } catch { /* the unread count is a convenience; never block the page */ }
}

function infoTable(a) {
  const s = a.sensor || {};
  const unit = a.unit || s.unit || '';
  const who = (at, by) => (at ? `${fmtTime(at)}　${actorName(by)}` : null);
  const rows = [
    ['报警编号', `#${a.id}`],
    ['传感器', granted('monitor', 'read')
      ? h('a', { href: `#/mon/sensors/${a.sensor_id}`, id: 'alarm-sensor-link' }, `${s.name || `#${a.sensor_id}`}${s.code ? `（${s.code}）` : ''}`)
      : `${s.name || `#${a.sensor_id}`}${s.code ? `（${s.code}）` : ''}`],
    ['监测对象', a.object_id ? h('a', { href: `#/reg/monitored_object/${a.object_id}` }, `${s.object_name || `#${a.object_id}`}${s.object_kind ? `（${s.object_kind}）` : ''}`) : s.object_name],
    ['传感器类型', s.type],
    ['安装位置', s.location],
    ['所属区划', regionText(a.region_code)],
    ['规则类型', RULE_KINDS[a.rule_kind] || a.rule_kind],
    ['报警级别', levelPill(a.level)],
    ['当前状况', h('span', {}, CONDS[a.cond] || a.cond || '', a.cleared_at ? `（${fmtTime(a.cleared_at)} 恢复）` : '')],
    ['首次值', withUnit(a.first_value, unit)],
    ['最新值', withUnit(a.last_value, unit)],
    ['峰值', withUnit(a.peak, unit)],
    ['累计次数', String(a.count ?? '')],
    ['报警时间', fmtTime(a.raised_at)],
    ['最近一次', fmtTime(a.last_at)],
    ['补传', a.late ? '是（由补传数据触发，不按实时报警逐级上报）' : '否'],
    ['逐级上报', Number(a.escalation) > 0
      ? h('span', {}, `已上报 ${a.escalation} 级，至 `, regionText(a.escalated_region))
      : '未上报'],
    ['确认', who(a.ack_at, a.ack_by)],
    ['核实', who(a.verified_at, a.verified_by)],
    ['处置', who(a.disposing_at, a.disposing_by)],
    ['关闭', who(a.closed_at, a.closed_by)],
    ['结论', a.verdict ? VERDICTS[a.verdict] || a.verdict : null],
    [a.verdict === 'real' ? '险情原因' : '原因', a.cause],
    ['处置措施', a.measures],
    [a.verdict === 'fault' ? '故障描述' : '说明', a.reason],
    ['维修工单', a.workorder_id ? h('a', { href: `#/mon/workorders?focus=${a.workorder_id}`, id: 'alarm-workorder-link' }, `工单 #${a.workorder_id}`) : null],
  ].filter(([, v]) => v !== null && v !== undefined && v !== '');
  return h('table', { class: 'kv-table', id: 'alarm-info' }, h('tbody', {},
    rows.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v)))));
}

function timelineList(a) {
  const items = a.timeline || [];
  if (!items.length) return h('p', { class: 'muted' }, '暂无记录');
  return h('ol', { class: 'timeline', id: 'alarm-timeline' }, items.map((e) => h('li', { class: `tl-item tl-${e.action}`, dataset: { action: e.action } },
    h('div', { class: 'tl-time' }, fmtTime(e.ts)),
    h('div', { class: 'tl-body' },
      h('span', { class: 'tl-action' }, TIMELINE_ACTIONS[e.action] || e.action),
      h('span', { class: 'tl-actor' }, actorName(e.actor)),
      e.level ? levelPill(e.level, true) : null,
      e.value !== null && e.value !== undefined ? h('span', { class: 'tl-value' }, withUnit(e.value, a.unit)) : null,
      e.note ? h('div', { class: 'tl-note' }, e.note) : null))));
}

/* ====================================================================== */
/* 维修工单                                                               */
/* ====================================================================== */

export async function renderWorkorders(view, ctx) {
  requireRead('alarm');
  const q = ctx.query;
  const state = WORKORDER_STATES[q.get('state')] ? q.get('state') : '';
  const focus = q.get('focus') || '';
  const writable = granted('alarm', 'write');
  const stateSel = h('select', { class: 'filter', id: 'filter-wo-state', 'aria-label': '工单状态',
    onchange: () => { location.hash = hashWith('#/mon/workorders', q, { state: stateSel.value, focus: '' }); } },
  h('option', { value: '' }, '全部状态'),
  Object.entries(WORKORDER_STATES).map(([k, v]) => h('option', { value: k, selected: k === state }, v)));
  const wrap = h('div', { class: 'table-wrap' });
  const total = h('div', { class: 'pager', id: 'wo-total' });
  setChildren(view, h('div', { class: 'page' },
    h('h2', { class: 'page-title' }, '维修工单'),
    h('p', { class: 'muted hint-line' }, '报警以“设备故障”关闭时自动派单；维修后填写说明，设备恢复后确认恢复。'),
    h('div', { class: 'toolbar' }, stateSel), wrap, total));

  async function act(w, action, body) {
    try {
      await request(`workorders/${w.id}/${action}`, { method: 'POST', json: body || {}, headers: { 'If-Match': ifMatch(w.version) } });
      toast(action === 'repair' ? '已登记维修' : '已确认恢复', 'ok');
      await load();
      return null;
    } catch (e) {
      return e;
    }
  }

  function actionsFor(w) {
    if (!writable) return null;
    if (w.state === 'dispatched') {
      const ta = h('textarea', { rows: 2, maxlength: 500, id: `wo-note-${w.id}`, placeholder: '维修说明（必填），如：更换敏感元件并标校' });
      const err = h('div', { class: 'field-error', hidden: true });
      const form = h('form', { class: 'wo-repair', hidden: true, novalidate: true, onsubmit: async (ev) => {
        ev.preventDefault();
        err.hidden = true;
        if (!ta.value.trim()) { err.textContent = '请填写维修说明'; err.hidden = false; return; }
        const e = await act(w, 'repair', { note: ta.value.trim() });
        if (e) { err.textContent = `登记失败：${errorText(e)}`; err.hidden = false; }
      } }, ta, err, h('div', { class: 'act-row' },
        h('button', { type: 'submit', class: 'btn btn-small btn-primary', id: `wo-repair-submit-${w.id}` }, '提交'),
        h('button', { type: 'button', class: 'btn btn-small btn-plain', onclick: () => { form.hidden = true; btn.hidden = false; } }, '取消')));
      const btn = h('button', { type: 'button', class: 'btn btn-small', id: `wo-repair-${w.id}`, onclick: () => { form.hidden = false; btn.hidden = true; ta.focus(); } }, '登记维修');
      return h('div', {}, btn, form);
    }
    if (w.state === 'repaired') {
      return h('button', { type: 'button', class: 'btn btn-small btn-primary', id: `wo-restore-${w.id}`, onclick: async () => {
        if (!confirm(`确认传感器“${w.sensor_name || w.sensor_code}”已恢复正常？`)) return;
        const e = await act(w, 'restore');
        if (e) toast(`确认恢复失败：${errorText(e)}`);
      } }, '确认恢复');
    }
    return null;
  }

  async function load() {
    let data;
    try {
      data = await get('workorders', { state: state || undefined });
    } catch (e) {
      if (ctx.alive()) setChildren(wrap, errorBox(`加载失败：${errorText(e)}`));
      return;
    }
    if (!ctx.alive()) return;
    const items = data.items || [];
    const who = (at, by) => (at ? [fmtTime(at), h('br'), h('span', { class: 'muted' }, actorName(by))] : '');
    const rows = items.map((w) => h('tr', { class: String(w.id) === focus ? 'row-focus' : '', dataset: { id: String(w.id), state: w.state } },
      h('td', { class: 'nowrap' }, `#${w.id}`),
      h('td', {}, granted('monitor', 'read') ? h('a', { href: `#/mon/sensors/${w.sensor_id}` }, w.sensor_name || w.sensor_code) : (w.sensor_name || w.sensor_code),
        h('div', { class: 'muted mono' }, w.sensor_code || '')),
      h('td', {}, w.fault || ''),
      h('td', { class: 'nowrap' }, h('span', { class: `wo-state wo-${w.state}` }, WORKORDER_STATES[w.state] || w.state)),
      h('td', { class: 'nowrap' }, who(w.created_at, w.created_by)),
      h('td', {}, who(w.repaired_at, w.repaired_by), w.repair_note ? h('div', { class: 'tl-note' }, w.repair_note) : null),
      h('td', { class: 'nowrap' }, who(w.restored_at, w.restored_by)),
      h('td', { class: 'nowrap' }, w.alarm_id ? h('a', { href: `#/mon/alarms/${w.alarm_id}` }, `报警 #${w.alarm_id}`) : ''),
      writable ? h('td', {}, actionsFor(w)) : null));
    const heads = ['工单', '传感器', '故障描述', '状态', '派单', '维修', '恢复', '来源报警', writable ? '操作' : null].filter(Boolean);
    setChildren(wrap, h('table', { class: 'data-table', id: 'wo-table' },
      h('thead', {}, h('tr', {}, heads.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: heads.length, class: 'empty' }, '暂无工单')))));
    total.textContent = `共 ${items.length} 张工单${items.length >= 500 ? '（仅显示最新 500 张）' : ''}`;
    const f = focus && wrap.querySelector(`tr[data-id="${CSS.escape(focus)}"]`);
    if (f) f.scrollIntoView({ block: 'center' });
  }
  await load();
  // A fault verdict elsewhere creates a work order: refresh on closes.
  const reload = debounce(load, 500);
  ctx.onDispose(onAlarmEvent((m) => { if (m.action === 'closed') reload(); }));
}

/* ====================================================================== */
/* 设备健康                                                               */
/* ====================================================================== */

function minutes(sec) {
  if (sec === null || sec === undefined || !Number.isFinite(Number(sec))) return '—';
  const m = Number(sec) / 60;
  return m < 10 ? m.toFixed(1) : String(Math.round(m));
}

export async function renderHealth(view, ctx) {
  requireRead('monitor');
  const q = ctx.query;
  const day = /^\d{4}-\d{2}-\d{2}$/.test(q.get('day') || '') ? q.get('day') : beijingDay();
  const groupBy = q.get('group_by') === 'enterprise' ? 'enterprise' : 'region';
  const go = (changes) => { location.hash = hashWith('#/mon/health', q, changes); };
  const dayIn = h('input', { type: 'date', id: 'health-day', value: day, max: beijingDay(), 'aria-label': '日期',
    onchange: () => { if (dayIn.value) go({ day: dayIn.value }); } });
  const groupSel = h('select', { class: 'filter', id: 'health-group', 'aria-label': '统计方式', onchange: () => go({ group_by: groupSel.value === 'region' ? '' : groupSel.value }) },
    h('option', { value: 'region', selected: groupBy === 'region' }, '按区县'),
    h('option', { value: 'enterprise', selected: groupBy === 'enterprise' }, '按企业（管理单位）'));
  const wrap = h('div', { class: 'table-wrap' });
  setChildren(view, h('div', { class: 'page' },
    h('h2', { class: 'page-title' }, '设备健康'),
    h('div', { class: 'toolbar' }, h('label', { for: 'health-day' }, '日期 '), dayIn, groupSel,
      h('span', { class: 'muted' }, '（北京时间；在线率 = 当日收到的读数 ÷ 应收读数，仅统计“正常”状态的传感器）')),
    wrap));
  let data;
  try {
    data = await get('monitor/health', { day, group_by: groupBy });
  } catch (e) {
    setChildren(wrap, errorBox(`加载失败：${errorText(e)}`));
    return;
  }
  if (!ctx.alive()) return;
  const groups = data.groups || [];
  const rows = groups.map((g) => {
    const rate = Number(g.online_rate);
    const pct = Number.isFinite(rate) ? Math.round(rate * 1000) / 10 : null;
    return h('tr', {},
      h('td', {}, groupBy === 'region' ? regionText(g.group) : g.group),
      h('td', { class: 'num' }, String(g.sensors ?? 0)),
      h('td', { class: 'nowrap' }, pct === null ? '—' : h('span', { class: 'rate' },
        h('span', { class: 'rate-bar' }, h('span', { class: `rate-fill${pct < 80 ? ' low' : ''}`, style: `width:${Math.max(0, Math.min(100, pct))}%` })),
        ` ${pct}%`)),
      h('td', { class: 'num' }, String(g.alarms ?? 0)),
      h('td', { class: 'num' }, String(g.unacknowledged ?? 0)),
      h('td', { class: 'num' }, String(g.open ?? 0)),
      h('td', { class: 'num' }, minutes(g.mean_ack_s)),
      h('td', { class: 'num' }, minutes(g.mean_close_s)));
  });
  const heads = [groupBy === 'region' ? '区县' : '企业（管理单位）', '传感器数', '在线率', '当日报警', '未确认', '未关闭', '平均确认用时（分钟）', '平均关闭用时（分钟）'];
  setChildren(wrap, h('table', { class: 'data-table', id: 'health-table' },
    h('thead', {}, h('tr', {}, heads.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: heads.length, class: 'empty' }, '当日没有数据')))));
}

/* ====================================================================== */
/* 拒收数据                                                               */
/* ====================================================================== */

export async function renderRejects(view, ctx) {
  requireRead('monitor');
  const q = ctx.query;
  const reason = REJECT_REASONS[q.get('reason')] ? q.get('reason') : '';
  const offset = Math.max(0, Number(q.get('offset')) || 0);
  const go = (changes) => { location.hash = hashWith('#/mon/rejects', q, changes); };
  const reasonSel = h('select', { class: 'filter', id: 'filter-reason', 'aria-label': '拒收原因', onchange: () => go({ reason: reasonSel.value }) },
    h('option', { value: '' }, '全部原因'),
    Object.entries(REJECT_REASONS).map(([k, v]) => h('option', { value: k, selected: k === reason }, v)));
  const wrap = h('div', { class: 'table-wrap' });
  const pager = h('div', { class: 'pager' });
  setChildren(view, h('div', { class: 'page' },
    h('h2', { class: 'page-title' }, '拒收数据'),
    h('p', { class: 'muted hint-line' }, '未被接收的读数都记录在此，不会被静默丢弃。'),
    h('div', { class: 'toolbar' }, reasonSel), wrap, pager));
  let data;
  try {
    data = await get('readings/rejects', { reason: reason || undefined, limit: REJECT_LIMIT, offset });
  } catch (e) {
    setChildren(wrap, errorBox(`加载失败：${errorText(e)}`));
    return;
  }
  if (!ctx.alive()) return;
  const items = data.items || [];
  const rawCell = (raw) => {
    if (!raw) return '';
    const short = raw.length > 60 ? `${raw.slice(0, 60)}…` : raw;
    const code = h('code', { class: 'raw', title: raw.length > 60 ? '点击展开' : null }, short);
    if (raw.length > 60) code.addEventListener('click', () => { code.textContent = code.textContent === short ? raw : short; });
    return code;
  };
  const rows = items.map((r) => h('tr', { dataset: { reason: r.reason } },
    h('td', { class: 'nowrap' }, fmtTime(r.rx)),
    h('td', { class: 'nowrap' }, h('span', { class: `reject-reason reject-${r.reason}` }, REJECT_REASONS[r.reason] || r.reason)),
    h('td', {}, r.sensor_id && granted('monitor', 'read')
      ? h('a', { href: `#/mon/sensors/${r.sensor_id}`, class: 'mono' }, r.sensor_code || `#${r.sensor_id}`)
      : h('span', { class: 'mono' }, r.sensor_code || '')),
    h('td', {}, r.region_code ? regionText(r.region_code) : ''),
    h('td', { class: 'nowrap' }, r.ts ? fmtTime(r.ts) : ''),
    h('td', { class: 'num' }, fmtNum(r.value)),
    h('td', {}, r.detail || ''),
    h('td', { class: 'nowrap' }, `${SOURCES[r.source] || r.source || ''}`, r.origin ? h('div', { class: 'muted mono small' }, r.origin) : null),
    h('td', { class: 'raw-cell' }, rawCell(r.raw))));
  const heads = ['接收时间', '原因', '传感器编码', '所属区划', '数据时间', '数值', '说明', '来源', '原始数据'];
  setChildren(wrap, h('table', { class: 'data-table', id: 'rejects-table' },
    h('thead', {}, h('tr', {}, heads.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: heads.length, class: 'empty' }, '没有拒收记录')))));
  setChildren(pager,
    h('span', { id: 'rejects-range' }, items.length ? `第 ${offset + 1}–${offset + items.length} 条` : '无记录'),
    h('button', { type: 'button', class: 'btn btn-small', disabled: offset <= 0, onclick: () => go({ offset: Math.max(0, offset - REJECT_LIMIT) || '' }) }, '上一页'),
    h('button', { type: 'button', class: 'btn btn-small', disabled: items.length < REJECT_LIMIT, onclick: () => go({ offset: offset + REJECT_LIMIT }) }, '下一页'));
}

