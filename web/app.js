/*
 * app.js — entry point of the yingji web UI.
 *
 * Boot: GET /api/v1/me decides between the login page and the app shell.
 * The shell (header, navigation) is rendered once per login from /me: a
 * navigation group per module, as the module list on the server declares
 * them (with the registries the user may read), and the modules' page
 * scripts (js/modules.js).  The hash router renders one page at a time
 * into <main>:
 *
 *   #/map                       一张图 (js/onemap.js, with the modules' layers)
 *   #/reg/<reg>[?filters]       registry list        (js/registry.js)
 *   #/reg/<reg>/new             new record form
 *   #/reg/<reg>/<id>            record detail
 *   #/reg/<reg>/<id>/edit       edit form
 *   #/admin/users               用户管理 (js/admin.js; user read)
 *   #/admin/audit[?entity=&offset=]  审计日志 (js/admin.js; audit read)
 *   #/<prefix>/...              a module's page: render(view, ctx, parts) of
 *                               the script it declares (e.g. #/mon/alarms:
 *                               m/monitor/monitor.js, #/warn: m/warning/warning.js)
 *
 * Each page gets a fresh view element and a ctx with onDispose() so maps,
 * timers and event subscriptions die with the page.  The live alarm stream
 * (js/live.js) runs for the whole login: the unread count in the navigation,
 * the alarm sound and the monitoring pages follow it.
 */
import { errorText, setUnauthenticatedHandler } from './js/api.js';
import { h, setChildren, toast, safeColour } from './js/dom.js';
import { session, loadMe, login, logout, reset, loadSchema } from './js/session.js';
import { renderOneMap } from './js/onemap.js';
import { renderList, renderDetail, renderForm } from './js/registry.js';
import { renderUsers, renderAudit } from './js/admin.js';
import { startLive, stopLive, onUnread } from './js/live.js';
import { resetMonShared } from './js/monshared.js';
import { loadModules, pageFor, hooks, resetModules } from './js/modules.js';

const app = document.getElementById('app');
let main = null;
let nav = null;
let current = null; // {view, disposers}
let unreadOff = null; // the navigation's subscription to the unread count

/* Modules of the spec not built yet: shown, but disabled and marked. */
const LATER_MODULES = ['值班值守', '资源调度', '安全监管', '预案演练', '统计评估'];

/* ---- login -------------------------------------------------------------- */

function renderLogin(notice) {
  disposeCurrent();
  main = null;
  const err = h('div', { class: 'form-error', role: 'alert', hidden: !notice }, notice || '');
  const user = h('input', { id: 'login-username', name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const btn = h('button', { type: 'submit', class: 'btn btn-primary btn-block', id: 'login-submit' }, '登录');
  const form = h('form', { class: 'login-form', novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    if (!user.value.trim() || !pass.value) {
      err.textContent = '请输入用户名和密码';
      err.hidden = false;
      return;
    }
    btn.disabled = true;
    btn.textContent = '正在登录…';
    try {
      await login(user.value.trim(), pass.value);
      await startApp();
    } catch (e) {
      err.textContent = errorText(e);
      err.hidden = false;
      btn.disabled = false;
      btn.textContent = '登录';
    }
  } },
  h('h1', {}, '应急管理综合应用平台'),
  h('p', { class: 'login-sub' }, '请使用您的账号登录'),
  h('label', { for: 'login-username' }, '用户名'), user,
  h('label', { for: 'login-password' }, '密码'), pass,
  err, btn);
  setChildren(app, h('div', { class: 'login-page' }, form));
  user.focus();
}

/* ---- shell -------------------------------------------------------------- */

function renderShell() {
  const u = session.user;
  const menuBtn = h('button', { type: 'button', class: 'menu-btn', id: 'menu-btn', 'aria-label': '菜单',
    'aria-expanded': 'false', onclick: () => toggleNav() }, '☰', h('span', { class: 'menu-btn-text' }, '菜单'));
  const header = h('header', { class: 'app-header' },
    menuBtn,
    h('a', { class: 'app-title', href: '#/map' }, '应急管理综合应用平台'),
    h('div', { class: 'user-box' },
      h('span', { class: 'user-name', id: 'user-name' }, u.name || u.username),
      h('span', { class: 'user-role' }, u.role_label || u.role),
      h('span', { class: 'user-region' }, u.region_name || u.region_code || ''),
      h('button', { type: 'button', class: 'btn btn-small', id: 'logout-btn', onclick: doLogout }, '退出')));

  // A group per module, in the server's module order: its pages and its registries.
  const groups = session.nav.map((g) => [
    h('div', { class: 'nav-group' }, g.label),
    g.items.map((it) => h('a', { class: 'nav-item nav-sub', href: it.hash, id: it.id,
      dataset: { route: it.hash.replace(/^#\//, '') } },
    it.icon ? h('span', { class: 'swatch', style: `background:${safeColour(it.icon)}` }) : null,
    it.label,
    it.unread ? h('span', { class: 'nav-count', id: 'nav-unread', hidden: true, title: '未读报警消息' }) : null)),
  ]);
  nav = h('nav', { class: 'app-nav', id: 'app-nav', 'aria-label': '功能导航' },
    h('a', { class: 'nav-item', href: '#/map', dataset: { route: 'map' } }, '一张图'),
    groups,
    h('div', { class: 'nav-group' }, '其他业务模块'),
    LATER_MODULES.map((m) => h('span', { class: 'nav-item nav-disabled', 'aria-disabled': 'true', title: '该模块建设中' },
      m, h('span', { class: 'badge' }, '建设中'))));
  main = h('main', { class: 'app-main', id: 'main' });
  const unreadEl = nav.querySelector('#nav-unread');
  if (unreadOff) unreadOff();
  unreadOff = null;
  if (unreadEl) {
    unreadOff = onUnread((n) => {
      unreadEl.textContent = n > 99 ? '99+' : String(n || 0);
      unreadEl.hidden = !(n > 0);
    });
  }
  const scrim = h('div', { class: 'nav-scrim', onclick: () => toggleNav(false) });
  setChildren(app, header, h('div', { class: 'app-body' }, nav, scrim, main));
}

function toggleNav(open) {
  const on = open === undefined ? !document.body.classList.contains('nav-open') : open;
  document.body.classList.toggle('nav-open', on);
  const btn = document.getElementById('menu-btn');
  if (btn) btn.setAttribute('aria-expanded', String(on));
}

async function doLogout() {
  stopLive();
  resetMonShared();
  resetModules();
  try {
    await logout();
  } catch (e) {
    toast(`退出失败：${errorText(e)}`);
  }
  renderLogin();
}

/* ---- router ------------------------------------------------------------- */

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const qi = raw.indexOf('?');
  const path = qi < 0 ? raw : raw.slice(0, qi);
  const query = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, query };
}

function disposeCurrent() {
  if (!current) return;
  for (const fn of current.disposers) {
    try { fn(); } catch (e) { console.error(e); }
  }
  current = null;
}

async function route() {
  if (!main || !session.user) return;
  const { parts, query } = parseHash();
  if (!parts.length) { location.replace('#/map'); return; }
  disposeCurrent();
  toggleNav(false);
  const view = h('div', { class: 'view' });
  const page = { view, disposers: [] };
  current = page;
  const ctx = {
    query,
    onDispose: (fn) => page.disposers.push(fn),
    alive: () => current === page,
  };
  main.className = 'app-main';
  setChildren(main, view);
  // The entry whose route is the longest prefix of the page's path is lit.
  let best = null;
  for (const a of nav.querySelectorAll('.nav-item[data-route]')) {
    const r = a.dataset.route.split('/');
    const covers = r.every((seg, i) => parts[i] === seg) && (r.length === parts.length || /^\d+$/.test(parts[r.length]) || r[0] === 'reg');
    if (covers && (!best || r.length > best.dataset.route.split('/').length)) best = a;
    a.classList.remove('active');
  }
  if (best) best.classList.add('active');
  try {
    if (parts[0] === 'map' && parts.length === 1) {
      main.classList.add('main-full');
      await renderOneMap(view, ctx);
    } else if (parts[0] === 'reg' && parts.length >= 2) {
      const reg = session.regByName.get(parts[1]);
      if (!reg) throw new Error(`没有名为“${parts[1]}”的数据库`);
      if (parts.length === 2) {
        await renderList(view, ctx, reg);
        if (ctx.alive()) for (const f of hooks('decorateRegistryPage')) f(view, reg, null);
      } else if (parts.length === 3 && parts[2] === 'new') await renderForm(view, ctx, reg, null);
      else if (parts.length === 3) {
        await renderDetail(view, ctx, reg, parts[2]);
        if (ctx.alive()) for (const f of hooks('decorateRegistryPage')) f(view, reg, parts[2]);
      }
      else if (parts.length === 4 && parts[3] === 'edit') await renderForm(view, ctx, reg, parts[2]);
      else throw new Error('页面不存在');
    } else if (parts[0] === 'admin' && parts.length === 2 && parts[1] === 'users') {
      await renderUsers(view, ctx);
    } else if (parts[0] === 'admin' && parts.length === 2 && parts[1] === 'audit') {
      await renderAudit(view, ctx);
    } else if (pageFor(parts[0])) {
      await pageFor(parts[0]).render(view, ctx, parts.slice(1));
    } else {
      throw new Error('页面不存在');
    }
  } catch (e) {
    if (e && e.status === 401) return; // the login page is already shown
    if (ctx.alive()) {
      setChildren(view, h('div', { class: 'page' },
        h('div', { class: 'form-error page-error', role: 'alert' }, errorText(e)),
        h('p', {}, h('a', { href: '#/map' }, '返回一张图'))));
    }
  }
}

/* ---- boot --------------------------------------------------------------- */

async function startApp() {
  await loadSchema();
  await loadModules(session.pages);
  renderShell();
  startLive();
  await route();
}

setUnauthenticatedHandler(() => {
  if (!session.user) return;
  stopLive();
  resetMonShared();
  resetModules();
  reset();
  renderLogin('登录已过期，请重新登录');
});

window.addEventListener('hashchange', () => { route(); });

(async function boot() {
  try {
    if (await loadMe()) await startApp();
    else renderLogin();
  } catch (e) {
    setChildren(app, h('div', { class: 'login-page' },
      h('div', { class: 'form-error', role: 'alert' }, `无法加载平台：${errorText(e)}`),
      h('button', { class: 'btn', type: 'button', onclick: () => location.reload() }, '重试')));
  }
})();
