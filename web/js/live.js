/*
 * live.js — alarms as they happen, for every page of a logged-in user who
 * may read alarms or monitoring data.
 *
 * One EventSource on /api/v1/events carries `event: alarm` messages
 * ({id, action, level, title, state, sensor_id, enterprise_id}; the server
 * sends each user only the alarms of their region and enterprise).  This
 * module fans them out to the pages (onAlarmEvent), tells pages when they
 * must reload because events may have been missed (onResync: reconnect
 * after a drop, or the server's `event: overflow`), keeps the inbox's
 * unread count (onUnread), and plays a short WebAudio beep for a newly
 * raised alarm when the user has switched the sound on (remembered in
 * localStorage; off by default).  No audio files are used.
 *
 * `event: warning` messages ({warning_id, what}: a delivery changed, an
 * answer or an escalation came in) go to the M3 pages (onWarningEvent); the
 * stream is also opened for users who may only read warnings.
 *
 * The record events of the base databases stay on session.js's stream.
 */
import { get } from './api.js';
import { toast } from './dom.js';
import { granted } from './session.js';
import { levelInfo } from './monshared.js';

const SOUND_KEY = 'yingji.alarmSound';

let es = null;
let connected = false;
let everConnected = false;
const alarmListeners = new Set();
const warningListeners = new Set();
const resyncListeners = new Set();
const statusListeners = new Set();
const unreadListeners = new Set();
let unread = null;
let unreadTimer = null;
let audio = null;
let lastToast = 0;
let pendingToasts = 0;

/** Open the stream (idempotent).  Call after login. */
export function startLive() {
  if (es || typeof EventSource === 'undefined') return;
  if (!granted('alarm', 'read') && !granted('monitor', 'read') && !granted('warning', 'read')) return;
  es = new EventSource('api/v1/events', { withCredentials: true });
  es.addEventListener('open', () => {
    const again = everConnected;
    connected = true;
    everConnected = true;
    emitStatus();
    // Events may have been missed while the stream was down.
    if (again) emitResync();
  });
  es.addEventListener('error', () => {
    connected = false;
    emitStatus();
  });
  es.addEventListener('overflow', () => emitResync());
  es.addEventListener('alarm', (ev) => {
    let msg = null;
    try { msg = JSON.parse(ev.data); } catch { return; }
    if (!msg || typeof msg !== 'object') return;
    onGlobalAlarm(msg);
    for (const l of alarmListeners) {
      try { l(msg); } catch (e) { console.error(e); }
    }
  });
  es.addEventListener('warning', (ev) => {
    let msg = null;
    try { msg = JSON.parse(ev.data); } catch { return; }
    if (!msg || typeof msg !== 'object') return;
    for (const l of warningListeners) {
      try { l(msg); } catch (e) { console.error(e); }
    }
  });
  if (granted('alarm', 'read')) refreshUnread();
  if (soundEnabled()) armAudioOnGesture();
}

/** Close the stream and forget everything (logout, session expiry). */
export function stopLive() {
  if (es) { es.close(); es = null; }
  connected = false;
  everConnected = false;
  unread = null;
  clearTimeout(unreadTimer);
  emitStatus();
  emitUnread();
}

export function isLive() { return connected; }

/** Subscribe to alarm events; returns the unsubscribe function. */
export function onAlarmEvent(fn) {
  alarmListeners.add(fn);
  return () => alarmListeners.delete(fn);
}

/** Subscribe to warning events ({warning_id, what}); returns the unsubscribe function. */
export function onWarningEvent(fn) {
  warningListeners.add(fn);
  return () => warningListeners.delete(fn);
}

/** fn() when a page should reload what it shows (events may be lost). */
export function onResync(fn) {
  resyncListeners.add(fn);
  return () => resyncListeners.delete(fn);
}

/** fn(connected) now and on every change of the stream's state. */
export function onLiveStatus(fn) {
  statusListeners.add(fn);
  fn(connected);
  return () => statusListeners.delete(fn);
}

/** fn(count|null) now and whenever the inbox's unread count changes. */
export function onUnread(fn) {
  unreadListeners.add(fn);
  fn(unread);
  return () => unreadListeners.delete(fn);
}

function emitStatus() { for (const l of statusListeners) l(connected); }
function emitResync() { for (const l of resyncListeners) l(); }
function emitUnread() { for (const l of unreadListeners) l(unread); }

/** Re-read the inbox's unread count (debounced by callers through refreshUnreadSoon). */
export async function refreshUnread() {
  if (!granted('alarm', 'read')) return;
  try {
    const data = await get('inbox', { unread: 1, limit: 1 });
    unread = Number(data && data.unread) || 0;
  } catch (e) {
    if (e.status === 401) return;
    unread = null;
  }
  emitUnread();
}

export function refreshUnreadSoon() {
  clearTimeout(unreadTimer);
  unreadTimer = setTimeout(refreshUnread, 500);
}

function onGlobalAlarm(msg) {
  const fresh = msg.action === 'raised' || msg.action === 'upgraded' || msg.action === 'escalated';
  if (fresh) refreshUnreadSoon();
  if (msg.action !== 'raised' && msg.action !== 'upgraded') return;
  if (soundEnabled()) beep(msg.level);
  // Elsewhere than the board, say so in the corner (at most one note per 5 s).
  if (!/^#\/mon\/alarms\/?(\?|$)/.test(location.hash)) {
    pendingToasts++;
    const now = Date.now();
    if (now - lastToast > 5000) {
      const l = levelInfo(msg.level);
      toast(pendingToasts > 1
        ? `收到 ${pendingToasts} 条新报警，最新：${l.label}报警 ${msg.title || ''}`
        : `新${l.label}报警：${msg.title || ''}`, 'info');
      lastToast = now;
      pendingToasts = 0;
    }
  }
}

/* ---- sound ------------------------------------------------------------------ */

export function soundEnabled() {
  try { return localStorage.getItem(SOUND_KEY) === '1'; } catch { return false; }
}

export function setSound(on) {
  try {
    if (on) localStorage.setItem(SOUND_KEY, '1');
    else localStorage.removeItem(SOUND_KEY);
  } catch { /* private mode: the toggle works for this page only */ }
  if (on) audioContext(); // created inside the click: allowed to play
}

function audioContext() {
  const AC = window.AudioContext || window.webkitAudioContext;
  if (!AC) return null;
  if (!audio) audio = new AC();
  if (audio.state === 'suspended') audio.resume().catch(() => {});
  return audio;
}

/* Browsers only start audio after a user gesture: after a reload with the
 * sound remembered as on, the first click anywhere unlocks it. */
function armAudioOnGesture() {
  const unlock = () => { if (soundEnabled()) audioContext(); };
  document.addEventListener('pointerdown', unlock, { once: true, capture: true });
  document.addEventListener('keydown', unlock, { once: true, capture: true });
}

/** A short beep: three pips for red, two for orange, one otherwise. */
export function beep(level = 3) {
  const root = document.documentElement;
  root.dataset.alarmBeeps = String((Number(root.dataset.alarmBeeps) || 0) + 1);
  const ac = audioContext();
  if (!ac) return;
  const n = Number(level) <= 1 ? 3 : Number(level) === 2 ? 2 : 1;
  const t0 = ac.currentTime + 0.02;
  for (let i = 0; i < n; i++) {
    const start = t0 + i * 0.22;
    const osc = ac.createOscillator();
    const gain = ac.createGain();
    osc.type = 'sine';
    osc.frequency.value = Number(level) <= 2 ? 988 : 784;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.16);
    osc.connect(gain).connect(ac.destination);
    osc.start(start);
    osc.stop(start + 0.18);
  }
}
