/*
 * public.js — the public warning page (warnings.html): the warnings in
 * force, for anyone, without login (GET /api/v1/public/warnings).
 *
 * Red first, then by publication time; each card shows who issued it, the
 * area, the validity, the text and the instructions, and links to its CAP
 * message.  Reloads every minute; a failed load keeps what is shown and
 * says so.
 */
import { h, setChildren, fmtTime } from './dom.js';

const LEVELS = {
  1: { name: 'red', label: '红色', rank: '一级' },
  2: { name: 'orange', label: '橙色', rank: '二级' },
  3: { name: 'yellow', label: '黄色', rank: '三级' },
  4: { name: 'blue', label: '蓝色', rank: '四级' },
};
const MSG_TYPES = { Update: '更新', Cancel: '解除' };

const box = document.getElementById('public-list');
const status = h('p', { class: 'public-status muted', id: 'public-status' });

function card(w) {
  const l = LEVELS[w.level] || { name: 'unknown', label: '', rank: '' };
  return h('article', { class: `public-card public-${l.name}`, dataset: { id: w.id } },
    h('header', {},
      h('span', { class: `level-pill level-${l.name}` }, `${l.label}预警 ${l.rank}`),
      MSG_TYPES[w.msg_type] ? h('span', { class: 'tag' }, MSG_TYPES[w.msg_type]) : null,
      h('h2', { class: 'public-headline' }, w.headline || w.event_type)),
    h('p', { class: 'public-meta' },
      `${w.sender_name || ''} 发布于 ${fmtTime(w.published_at || w.sent)}`,
      h('br'), `区域：${w.area_desc || ''}`,
      h('br'), `有效期至：${fmtTime(w.expires)}`),
    h('p', { class: 'public-text' }, w.description || ''),
    w.instruction ? h('p', { class: 'public-instruction' }, h('strong', {}, '防御指引：'), w.instruction) : null,
    h('p', { class: 'small' }, h('a', { href: `feeds/warnings/${w.id}.xml` }, 'CAP 报文')));
}

async function load() {
  try {
    const res = await fetch('api/v1/public/warnings', { headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const data = await res.json();
    const items = (data.items || []).slice().sort((a, b) => (a.level - b.level) || (b.published_at - a.published_at));
    setChildren(box,
      items.length ? items.map(card) : h('p', { class: 'public-empty', id: 'public-empty' }, '当前没有生效的预警。'),
      status);
    status.textContent = `更新于 ${new Date().toLocaleTimeString('zh-CN', { hour12: false })}`;
  } catch (e) {
    if (!box.contains(status)) setChildren(box, status);
    status.textContent = `暂时无法获取最新预警（${e.message}），稍后自动重试。`;
    status.classList.add('form-error');
    return;
  }
  status.classList.remove('form-error');
}

load();
setInterval(load, 60000);
