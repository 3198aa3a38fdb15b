/*
 * dom.js — tiny DOM helpers shared by every page.
 *
 * Pages build their markup with h() instead of innerHTML so that every value
 * coming from the server is inserted as text (no HTML injection), and keep
 * formatting of values (dates, booleans, tags) in one place.
 */

/**
 * Create an element.  attrs: plain attributes, plus
 *   class / text / html-free children, on<Event> listeners, and properties
 *   (value, checked, disabled, selected, hidden) set as DOM properties.
 * children: strings, numbers, nodes, arrays of those; null/false skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (k === 'class') {
      el.className = v;
    } else if (k === 'text') {
      el.textContent = v;
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (['value', 'checked', 'disabled', 'selected', 'hidden', 'required'].includes(k)) {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Replace all children of el. */
export function setChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A server timestamp (ISO 8601 or "YYYY-MM-DD hh:mm:ss") shown in local time. */
export function fmtTime(ts) {
  if (!ts) return '';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return String(ts);
  return d.toLocaleString('zh-CN', { hour12: false });
}

/** Tags arrive as an array or as one string joined with 、 (CSV form). */
export function toTagArray(v) {
  if (Array.isArray(v)) return v.map(String);
  if (v === null || v === undefined || v === '') return [];
  return String(v).split(/[、,，;；]/).map((s) => s.trim()).filter(Boolean);
}

/** Booleans may arrive as true/false, 1/0 or 是/否. */
export function toBool(v) {
  return v === true || v === 1 || v === '1' || v === 'true' || v === '是';
}

/** Human text of one field value (no unit). */
export function fmtValue(field, v) {
  if (v === null || v === undefined || v === '') return '';
  switch (field && field.type) {
    case 'bool': return toBool(v) ? '是' : '否';
    case 'tags': return toTagArray(v).join('、');
    default: return String(v);
  }
}

/**
 * A page's hash with some query parameters changed (empty values removed);
 * any change but of `offset` itself goes back to the first page.
 */
export function hashWith(base, query, changes) {
  const next = new URLSearchParams(query);
  for (const [k, v] of Object.entries(changes)) {
    if (v === '' || v === null || v === undefined) next.delete(k); else next.set(k, v);
  }
  if (!('offset' in changes)) next.delete('offset');
  const s = next.toString();
  return `${base}${s ? `?${s}` : ''}`;
}

/** Debounce a function by ms milliseconds. */
export function debounce(fn, ms) {
  let t = null;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

/* ---- toasts: errors are always shown, never swallowed -------------------- */

/** Show a message in the corner; errors stay until closed, others fade. */
export function toast(message, kind = 'error') {
  const box = document.getElementById('toasts');
  if (!box) { alert(message); return; }
  const item = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('span', { class: 'toast-text' }, message),
    h('button', { class: 'toast-close', type: 'button', 'aria-label': '关闭', onclick: () => item.remove() }, '×'));
  box.appendChild(item);
  if (kind !== 'error') setTimeout(() => item.remove(), 4000);
}

/** Registry colours come from the server; accept only #rgb/#rrggbb(aa). */
export function safeColour(c) {
  return /^#[0-9a-fA-F]{3,8}$/.test(c || '') ? c : '#3366cc';
}
