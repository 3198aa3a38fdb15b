/*
 * session.js — who is logged in, and the data every page shares once per
 * session: the registry schema, the caller's region tree roots, the county
 * outlines, and the Server-Sent Events stream of record changes.
 *
 * Everything here is cached for the session and dropped on logout.
 */
import { get, request, setCsrf } from './api.js';

export const session = {
  user: null,          // {id, username, name, role, role_label, region_code, region_name, ...}
  permissions: {},     // {"<resource>": ["read","write"]}
  nav: [],             // [{module, label, items:[{id, label, hash, unread?, registry?, icon?}]}]
  pages: [],           // [{module, prefix, script}]: the modules' pages (js/modules.js)
  schema: null,        // {registries:[...]}
  regByName: new Map(),
};

let cache = {};
let events = null;
const listeners = new Set();

/** Adopt a /me or /login answer. */
export function adopt(answer) {
  session.user = answer.user;
  session.permissions = answer.permissions || session.permissions || {};
  if (answer.nav) session.nav = answer.nav;
  if (answer.pages) session.pages = answer.pages;
  setCsrf(answer.csrf);
}

/** GET /me; resolves false on 401. */
export async function loadMe() {
  try {
    const { data } = await request('me', { silent401: true });
    adopt(data);
    return true;
  } catch (e) {
    if (e.status === 401) return false;
    throw e;
  }
}

export async function login(username, password) {
  let data;
  try {
    ({ data } = await request('login', { method: 'POST', json: { username, password }, silent401: true }));
  } catch (e) {
    // Do not tell which of the two was wrong, in Chinese.
    if (e.status === 401) e.message = '用户名或密码错误';
    throw e;
  }
  adopt(data);
  // /login may not carry permissions; /me always does.
  if (!data.permissions) await loadMe();
}

export async function logout() {
  try {
    await request('logout', { method: 'POST', silent401: true });
  } finally {
    reset();
  }
}

/** Forget everything (after logout or when the session expired). */
export function reset() {
  session.user = null;
  session.permissions = {};
  session.nav = [];
  session.pages = [];
  session.schema = null;
  session.regByName = new Map();
  cache = {};
  setCsrf(null);
  if (events) { events.close(); events = null; }
}

/** May the user do act ('read'|'write') on resource?  Unknown permission maps allow reads. */
export function can(resource, act) {
  const p = session.permissions || {};
  if (!Object.keys(p).length) return act === 'read';
  return Array.isArray(p[resource]) && p[resource].includes(act);
}

/** Is act on resource explicitly granted?  Unlike can(), no default: used for admin pages. */
export function granted(resource, act) {
  const p = session.permissions || {};
  return Array.isArray(p[resource]) && p[resource].includes(act);
}

export async function loadSchema() {
  if (!session.schema) {
    session.schema = await get('schema');
    session.regByName = new Map(session.schema.registries.map((r) => [r.name, r]));
  }
  return session.schema;
}

/** Registries the user may read, in schema order. */
export function readableRegistries() {
  return (session.schema ? session.schema.registries : []).filter((r) => can(r.name, 'read'));
}

function once(key, fn) {
  if (!cache[key]) cache[key] = fn().catch((e) => { delete cache[key]; throw e; });
  return cache[key];
}

/** Children of a region (cached). */
export function regionChildren(code) {
  return once(`children:${code}`, async () => (await get('regions', { parent: code })).items || []);
}

/** The caller's own region. */
export function rootRegion() {
  return once('root', async () => {
    const items = (await get('regions')).items || [];
    return items[0] || { code: session.user.region_code, name: session.user.region_name };
  });
}

/**
 * The first-level choices of the region pickers: the counties under a city
 * (or province) user, or just the user's own county for a county user.
 */
export function topRegions() {
  return once('top', async () => {
    const root = await rootRegion();
    if (String(root.code).length >= 6) return [root];
    return regionChildren(root.code);
  });
}

/** County outlines (GeoJSON FeatureCollection). */
export function boundaries() {
  return once('boundaries', () => get('map/boundaries'));
}

/* ---- live updates ------------------------------------------------------- */

/**
 * Subscribe to `event: record` messages ({registry, id, action}).  Returns an
 * unsubscribe function.  The EventSource is opened on first use and
 * reconnects by itself.
 */
export function onRecordEvent(fn) {
  listeners.add(fn);
  if (!events && typeof EventSource !== 'undefined') {
    events = new EventSource('api/v1/events', { withCredentials: true });
    events.addEventListener('record', (ev) => {
      let msg = null;
      try { msg = JSON.parse(ev.data); } catch { return; }
      for (const l of listeners) l(msg);
    });
  }
  return () => listeners.delete(fn);
}

/** Display name of a referenced record (cached; falls back to #id when not visible). */
export function refName(reg, id) {
  return once(`ref:${reg}:${id}`, async () => {
    try {
      const r = await get(`registries/${reg}/${encodeURIComponent(id)}`);
      return (r && r.name) || `#${id}`;
    } catch (e) {
      if (e.status === 404 || e.status === 403) return `#${id}`;
      throw e;
    }
  });
}
