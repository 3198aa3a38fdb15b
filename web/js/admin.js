/*
 * admin.js — the two administration pages (admin role only):
 *
 *   #/admin/users                 用户管理: user table and the new-user form
 *   #/admin/audit[?entity=&offset=] 审计日志: audit entries, paging, entity
 *                                 filter, before/after diff, chain check
 *
 * Both talk to the endpoints of docs/api.md "Users and audit (admin)".  The
 * server's validation messages are English; known ones are shown in Chinese
 * next to the field they name (the original text stays in the tooltip).
 */
import { request, get, errorText } from './api.js';
import { h, setChildren, fmtTime, toast } from './dom.js';
import { session, granted, topRegions, regionChildren } from './session.js';

/* Roles an administrator may assign, in the order of the select. */
export const ROLES = [
  ['admin', '平台管理员'],
  ['duty', '值班员'],
  ['commander', '指挥长'],
  ['supervisor', '行业监管员'],
  ['inspector', '执法人员'],
  ['warehouse', '物资管理员'],
  ['enterprise', '企业安全员'],
  ['informant', '灾害信息员'],
  ['expert', '专家'],
];

const ACTIONS = { create: '新建', update: '修改', delete: '删除' };
const AUDIT_LIMIT = 50;

function requirePerm(resource) {
  if (!granted(resource, 'read')) throw new Error('您没有访问该页面的权限');
}

/* ====================================================================== */
/* 用户管理                                                               */
/* ====================================================================== */

/* Known server validation messages (English) → Chinese. */
const USER_MESSAGES = [
  [/already exists/i, () => '该用户名已被使用'],
  [/username must/i, () => '用户名须为 2–32 位，只能包含小写字母、数字和 _ . -'],
  [/at least (\d+) characters/i, (m) => `密码至少 ${m[1]} 位`],
  [/unknown role/i, () => '角色无效'],
  [/inside your region/i, () => '所属区划须在您的管辖范围内'],
  [/needs the id of its enterprise/i, () => '企业安全员须填写所属企业编号'],
  [/no enterprise with id/i, () => '该企业编号不存在'],
  [/name is required/i, () => '姓名为必填项（最多 100 字节）'],
];

function userErrorText(e) {
  const raw = e && e.serverMessage;
  if (raw) {
    for (const [re, fn] of USER_MESSAGES) {
      const m = raw.match(re);
      if (m) return fn(m);
    }
  }
  if (e && e.status === 409) return '该用户名已被使用';
  return errorText(e);
}

export async function renderUsers(view, ctx) {
  requirePerm('user');
  const writable = granted('user', 'write');

  const tableWrap = h('div', { class: 'table-wrap' });
  const total = h('div', { class: 'pager', id: 'users-total' });
  const formBox = h('div', { class: 'admin-form-box', hidden: true });
  const newBtn = writable ? h('button', { type: 'button', class: 'btn btn-primary', id: 'btn-new-user',
    'aria-expanded': 'false', onclick: () => toggleForm() }, '新建用户') : null;

  setChildren(view, h('div', { class: 'page' },
    h('div', { class: 'page-head' },
      h('h2', { class: 'page-title' }, '用户管理'),
      h('div', { class: 'actions' }, newBtn)),
    formBox, tableWrap, total));

  let form = null;
  function toggleForm(open) {
    const on = open === undefined ? formBox.hidden : open;
    if (on && !form) {
      form = userForm(() => { toggleForm(false); loadTable(); });
      setChildren(formBox, h('h3', {}, '新建用户'), form.el);
    }
    formBox.hidden = !on;
    if (newBtn) newBtn.setAttribute('aria-expanded', String(on));
    if (on) form.focus();
    else if (form) form.reset();
  }

  async function loadTable() {
    let data;
    try {
      data = await get('users');
    } catch (e) {
      if (ctx.alive()) setChildren(tableWrap, h('div', { class: 'form-error', role: 'alert' }, `加载失败：${errorText(e)}`));
      return;
    }
    if (!ctx.alive()) return;
    const items = (data && data.items) || [];
    const rows = items.map((u) => h('tr', { dataset: { username: u.username } },
      h('td', { class: 'mono' }, u.username),
      h('td', {}, u.name || ''),
      h('td', {}, u.role_label || u.role || ''),
      h('td', {}, u.region_code || ''),
      h('td', {}, u.enterprise_id === null || u.enterprise_id === undefined ? '' : String(u.enterprise_id))));
    setChildren(tableWrap, h('table', { class: 'data-table', id: 'users-table' },
      h('thead', {}, h('tr', {},
        ['用户名', '姓名', '角色', '所属区划', '所属企业编号'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: 5, class: 'empty' }, '暂无用户')))));
    total.textContent = `共 ${items.length} 个用户`;
  }
  await loadTable();
}

/* The new-user form.  onCreated() runs after a successful POST. */
function userForm(onCreated) {
  const errBoxes = new Map();
  const row = (name, label, required, control, forId, hint) => {
    const err = h('div', { class: 'field-error', id: `err-${name}`, hidden: true });
    errBoxes.set(name, err);
    return h('div', { class: 'form-row', dataset: { field: name } },
      h('label', { class: 'form-label', for: forId || `f-${name}` }, label, required ? h('span', { class: 'req', title: '必填' }, ' *') : null),
      h('div', { class: 'form-control' }, control, hint ? h('div', { class: 'hint' }, hint) : null, err));
  };

  const username = h('input', { id: 'f-username', name: 'username', autocomplete: 'off', maxlength: 32,
    autocapitalize: 'none', spellcheck: 'false', placeholder: '小写字母、数字或 _ . -' });
  const password = h('input', { id: 'f-password', name: 'password', type: 'password', autocomplete: 'new-password' });
  const role = h('select', { id: 'f-role', name: 'role' },
    h('option', { value: '' }, '请选择'),
    ROLES.map(([v, label]) => h('option', { value: v }, label)));
  const county = h('select', { id: 'f-region-county', 'aria-label': '区县' }, h('option', { value: '' }, '请选择区县'));
  const town = h('select', { id: 'f-region-town', 'aria-label': '乡镇（街道）', disabled: true }, h('option', { value: '' }, '（不指定乡镇）'));
  const name = h('input', { id: 'f-name', name: 'name', maxlength: 50, autocomplete: 'off' });
  const enterprise = h('input', { id: 'f-enterprise_id', name: 'enterprise_id', type: 'number', min: 1, step: 1, inputmode: 'numeric' });

  // County → township cascade under the administrator's own region.
  const counties = topRegions().then((items) => {
    for (const r of items) county.appendChild(h('option', { value: r.code }, r.name));
    if (items.length === 1) { county.value = String(items[0].code); loadTowns(); }
  }).catch((e) => toast(`区县列表加载失败：${errorText(e)}`));
  async function loadTowns() {
    town.replaceChildren(h('option', { value: '' }, '（不指定乡镇）'));
    town.disabled = !county.value;
    if (!county.value) return;
    const want = county.value;
    try {
      const items = await regionChildren(want);
      if (county.value !== want) return;
      for (const r of items) town.appendChild(h('option', { value: r.code }, r.name));
    } catch (e) {
      toast(`乡镇列表加载失败：${errorText(e)}`);
    }
  }
  county.addEventListener('change', loadTowns);

  const entRow = row('enterprise_id', '所属企业编号', true, enterprise, null, '企业安全员须填写其所属企业在“企业”数据库中的编号');
  entRow.hidden = true;
  role.addEventListener('change', () => { entRow.hidden = role.value !== 'enterprise'; });

  const formError = h('div', { class: 'form-error', role: 'alert', id: 'user-form-error', hidden: true });
  const saveBtn = h('button', { type: 'submit', class: 'btn btn-primary', id: 'btn-save-user' }, '创建');
  const cancelBtn = h('button', { type: 'button', class: 'btn btn-plain', id: 'btn-cancel-user' }, '取消');
  const el = h('form', { class: 'record-form', id: 'user-form', novalidate: true, autocomplete: 'off' },
    row('username', '用户名', true, username),
    row('password', '初始密码', true, password, null, '至少 8 位；请线下告知用户，并提醒其及时修改'),
    row('role', '角色', true, role),
    row('region_code', '所属区划', true, h('span', { class: 'region-input' }, county, town), 'f-region-county'),
    row('name', '姓名', true, name),
    entRow,
    formError,
    h('div', { class: 'form-actions' }, saveBtn, cancelBtn));

  const clearErrors = () => {
    for (const [, e] of errBoxes) { e.hidden = true; e.textContent = ''; e.title = ''; }
    for (const r of el.querySelectorAll('.form-row.has-error')) r.classList.remove('has-error');
    formError.hidden = true;
  };
  const showFieldError = (field, message, title) => {
    const box = errBoxes.get(field);
    if (!box || box.closest('.form-row').hidden) return false;
    box.textContent = message;
    box.title = title || '';
    box.hidden = false;
    box.closest('.form-row').classList.add('has-error');
    return true;
  };
  const focusField = (field) => {
    const r = el.querySelector(`.form-row[data-field="${CSS.escape(field)}"]`);
    const input = r && r.querySelector('input, select');
    if (input) input.focus();
  };

  el.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors();
    const body = {
      username: username.value.trim(),
      password: password.value,
      role: role.value,
      region_code: town.value || county.value,
      name: name.value.trim(),
    };
    let firstBad = null;
    const bad = (f, m) => { showFieldError(f, m); if (!firstBad) firstBad = f; };
    if (!body.username) bad('username', '请输入用户名');
    if (!body.password) bad('password', '请输入初始密码');
    if (!body.role) bad('role', '请选择角色');
    if (!body.region_code) bad('region_code', '请选择所属区县');
    if (!body.name) bad('name', '请输入姓名');
    if (body.role === 'enterprise') {
      const s = enterprise.value.trim();
      const n = Number(s);
      if (!s) bad('enterprise_id', '请输入所属企业编号');
      else if (!Number.isInteger(n) || n <= 0) bad('enterprise_id', '企业编号应为正整数');
      else body.enterprise_id = n;
    }
    if (firstBad) {
      formError.textContent = '请检查标红的字段';
      formError.hidden = false;
      focusField(firstBad);
      return;
    }
    saveBtn.disabled = true;
    saveBtn.textContent = '正在创建…';
    try {
      await request('users', { method: 'POST', json: body });
      toast(`已新建用户 ${body.username}`, 'ok');
      onCreated();
    } catch (e) {
      const text = userErrorText(e);
      const field = e.field || (e.status === 409 ? 'username' : '');
      if (field && showFieldError(field, text, e.serverMessage)) focusField(field);
      formError.textContent = `创建失败：${text}`;
      formError.hidden = false;
    } finally {
      saveBtn.disabled = false;
      saveBtn.textContent = '创建';
    }
  });

  function reset() {
    clearErrors();
    el.reset();
    entRow.hidden = true;
    counties.then(() => loadTowns());
  }
  cancelBtn.addEventListener('click', () => { reset(); el.closest('.admin-form-box').hidden = true; });

  return { el, reset, focus: () => username.focus() };
}

/* ====================================================================== */
/* 审计日志                                                               */
/* ====================================================================== */

function entityLabel(name) {
  if (name === 'user') return '用户';
  const reg = session.regByName.get(name);
  return reg ? reg.label : name;
}

function parseSnap(v) {
  if (typeof v === 'string') { try { return JSON.parse(v); } catch { return { value: v }; } }
  return v && typeof v === 'object' ? v : null;
}

function jsonText(v) {
  if (v === undefined) return '';
  return JSON.stringify(v);
}

/* The before/after snapshots side by side, changed keys highlighted. */
function diffView(entry) {
  const before = parseSnap(entry.before);
  const after = parseSnap(entry.after);
  const keys = [...new Set([...Object.keys(before || {}), ...Object.keys(after || {})])];
  const changedCount = keys.filter((k) => jsonText((before || {})[k]) !== jsonText((after || {})[k])).length;
  const rows = keys.map((k) => {
    const b = before ? before[k] : undefined;
    const a = after ? after[k] : undefined;
    const changed = jsonText(b) !== jsonText(a);
    return h('tr', { class: changed ? 'diff-changed' : null },
      h('th', { scope: 'row', class: 'mono' }, k),
      h('td', { class: 'mono' }, before ? jsonText(b) : ''),
      h('td', { class: 'mono' }, after ? jsonText(a) : ''));
  });
  return h('div', { class: 'audit-diff' },
    h('p', { class: 'muted' }, keys.length ? `共 ${keys.length} 个字段，其中 ${changedCount} 个有变化（已高亮）` : '该记录没有快照内容'),
    keys.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'data-table audit-diff-table' },
      h('thead', {}, h('tr', {}, h('th', {}, '字段'), h('th', {}, '修改前'), h('th', {}, '修改后'))),
      h('tbody', {}, rows))) : null);
}

export async function renderAudit(view, ctx) {
  requirePerm('audit');
  const q = ctx.query;
  const entity = q.get('entity') || '';
  const offset = Math.max(0, Number.parseInt(q.get('offset'), 10) || 0);

  const go = (changes) => {
    const next = new URLSearchParams(q);
    for (const [k, v] of Object.entries(changes)) {
      if (v === '' || v === null || v === undefined || v === 0) next.delete(k); else next.set(k, v);
    }
    const s = next.toString();
    location.hash = `#/admin/audit${s ? `?${s}` : ''}`;
  };

  const entities = [...(session.schema ? session.schema.registries.map((r) => r.name) : []), 'user'];
  const entitySel = h('select', { class: 'filter', id: 'audit-entity', 'aria-label': '对象类型',
    onchange: (ev) => go({ entity: ev.target.value, offset: '' }) },
  h('option', { value: '' }, '全部对象'),
  entities.map((n) => h('option', { value: n, selected: n === entity }, entityLabel(n))));

  const verifyBox = h('div', { id: 'verify-result', hidden: true, role: 'status' });
  const verifyBtn = h('button', { type: 'button', class: 'btn', id: 'btn-verify', onclick: verify }, '校验审计链');

  const tableWrap = h('div', { class: 'table-wrap' });
  const pager = h('div', { class: 'pager' });
  setChildren(view, h('div', { class: 'page' },
    h('h2', { class: 'page-title' }, '审计日志'),
    h('div', { class: 'toolbar' },
      entitySel,
      entity ? h('button', { type: 'button', class: 'btn btn-plain', onclick: () => go({ entity: '', offset: '' }) }, '重置') : null,
      h('span', { class: 'toolbar-spacer' }),
      verifyBtn),
    verifyBox,
    h('p', { class: 'muted hint-line' }, '点击一行可查看修改前后的内容'),
    tableWrap, pager));

  async function verify() {
    verifyBtn.disabled = true;
    verifyBtn.textContent = '正在校验…';
    try {
      const r = await get('audit/verify');
      if (!ctx.alive()) return;
      if (r && r.ok) {
        setChildren(verifyBox,
          h('div', { class: 'verify-ok-line' }, `✔ 审计链完整，共 ${Number(r.entries) || 0} 条`),
          r.head ? h('div', {}, '链头：', h('code', { class: 'mono verify-head', id: 'verify-head' }, String(r.head))) : null,
          r.head ? h('div', { class: 'hint' }, '请将链头记录在系统外，以便发现日志被截断') : null);
        verifyBox.className = 'verify-box verify-ok';
      } else {
        setChildren(verifyBox,
          h('div', {}, `✘ 审计链校验失败：第一条异常记录编号 ${r && r.first_bad_id !== undefined ? r.first_bad_id : '未知'}`),
          h('div', {}, `原因：${(r && r.reason) || '未说明'}`));
        verifyBox.className = 'verify-box form-error';
      }
    } catch (e) {
      setChildren(verifyBox, `校验失败：${errorText(e)}`);
      verifyBox.className = 'verify-box form-error';
    } finally {
      verifyBox.hidden = false;
      verifyBtn.disabled = false;
      verifyBtn.textContent = '校验审计链';
    }
  }

  const params = { limit: AUDIT_LIMIT, offset, entity };
  let data;
  try {
    data = await get('audit', params);
  } catch (e) {
    if (ctx.alive()) setChildren(tableWrap, h('div', { class: 'form-error', role: 'alert' }, `加载失败：${errorText(e)}`));
    return;
  }
  if (!ctx.alive()) return;
  const items = (data && data.items) || [];
  const COLS = 7;
  const rows = [];
  for (const it of items) {
    const detail = h('tr', { class: 'audit-detail', hidden: true }, h('td', { colspan: COLS }));
    let built = false;
    const toggle = () => {
      if (!built) { setChildren(detail.firstChild, diffView(it)); built = true; }
      detail.hidden = !detail.hidden;
      row.classList.toggle('expanded', !detail.hidden);
      row.setAttribute('aria-expanded', String(!detail.hidden));
    };
    const row = h('tr', { class: 'audit-row', tabindex: 0, 'aria-expanded': 'false', dataset: { id: it.id },
      onclick: toggle,
      onkeydown: (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); toggle(); } } },
    h('td', { class: 'nowrap' }, String(it.id)),
    h('td', { class: 'nowrap' }, fmtTime(it.ts)),
    h('td', {}, typeof it.actor === 'object' && it.actor ? (it.actor.name || it.actor.username || '') : String(it.actor ?? '')),
    h('td', { class: `nowrap audit-action-${it.action}` }, ACTIONS[it.action] || it.action || ''),
    h('td', {}, entityLabel(it.entity)),
    h('td', {}, it.record_id === null || it.record_id === undefined ? '' : String(it.record_id)),
    h('td', {}, it.region_code || ''));
    rows.push(row, detail);
  }
  setChildren(tableWrap, h('table', { class: 'data-table', id: 'audit-table' },
    h('thead', {}, h('tr', {}, ['编号', '时间', '操作人', '操作', '对象', '记录编号', '所属区划'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: COLS, class: 'empty' }, '暂无数据')))));

  // The list carries no total: "next" is offered while a page comes back full.
  const page = Math.floor(offset / AUDIT_LIMIT) + 1;
  setChildren(pager,
    h('span', { id: 'audit-page' }, `第 ${page} 页，本页 ${items.length} 条`),
    h('button', { type: 'button', class: 'btn btn-small', id: 'audit-prev', disabled: offset <= 0,
      onclick: () => go({ offset: Math.max(0, offset - AUDIT_LIMIT) }) }, '上一页'),
    h('button', { type: 'button', class: 'btn btn-small', id: 'audit-next', disabled: items.length < AUDIT_LIMIT,
      onclick: () => go({ offset: offset + AUDIT_LIMIT }) }, '下一页'));
}
