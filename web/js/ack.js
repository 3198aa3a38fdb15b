/*
 * ack.js — the page behind the link in a warning SMS (ack.html#<token>):
 * a responsible person or a vulnerable person's contact (包保联系人)
 * confirms with one tap that they received the warning (叫应).
 *
 * GET /api/v1/public/ack/<token> shows the warning; POST records the
 * answer (again is harmless: the first answer stands).  The token rides in
 * the URL fragment, so it never reaches proxies' or servers' access logs.
 */
import { h, setChildren, fmtTime } from './dom.js';

const LEVEL_NAMES = { 1: 'red', 2: 'orange', 3: 'yellow', 4: 'blue' };
const ASK = {
  responsible: '您是本区域的叫应责任人。请确认已收到本预警，并立即组织落实防范措施。',
  escalation: '下级责任人尚未应答。请确认已收到本预警，并督促落实。',
  contact: '请立即通知您包保的老人、儿童、病人、残疾人或孕妇，确认对方已知晓后点击下方按钮。',
  enterprise: '请确认贵单位已收到本预警，并立即落实防范措施。',
};
const ENDED = { cancelled: '该预警已解除', expired: '该预警已过期', updated: '该预警已有更新' };

const box = document.getElementById('ack');
const token = decodeURIComponent(location.hash.replace(/^#/, ''));

function fail(text) {
  setChildren(box, h('div', { class: 'ack-card' }, h('h1', {}, '预警叫应确认'),
    h('div', { class: 'form-error', role: 'alert', id: 'ack-error' }, text)));
}

async function call(method) {
  let res;
  try {
    res = await fetch(`api/v1/public/ack/${encodeURIComponent(token)}`, { method, headers: { Accept: 'application/json' } });
  } catch (e) {
    throw new Error(`无法连接服务器，请检查网络后重试（${e.message}）`);
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((data.error && data.error.message) || `请求失败（HTTP ${res.status}）`);
  return data;
}

function render(d) {
  const acked = !!d.acked_at;
  const btn = h('button', { type: 'button', class: 'btn btn-primary btn-block ack-btn', id: 'ack-confirm', onclick: async () => {
    btn.disabled = true;
    btn.textContent = '正在确认…';
    try {
      render(await call('POST'));
    } catch (e) {
      btn.disabled = false;
      btn.textContent = '确认收到';
      msg.textContent = e.message;
      msg.hidden = false;
    }
  } }, '确认收到');
  const msg = h('div', { class: 'form-error', role: 'alert', hidden: true });
  setChildren(box, h('div', { class: 'ack-card' },
    h('h1', {}, '预警叫应确认'),
    h('div', {}, h('span', { class: `level-pill level-${LEVEL_NAMES[d.level] || 'unknown'}` }, d.level_label || ''),
      ' ', h('strong', { id: 'ack-headline' }, d.headline || '')),
    h('p', { class: 'public-meta' }, `${d.sender_name || ''} · ${d.event_type || ''}`, h('br'), `区域：${d.area_desc || ''}`),
    d.instruction ? h('p', { class: 'public-instruction' }, h('strong', {}, '防御指引：'), d.instruction) : null,
    ENDED[d.warning_state] ? h('p', { class: 'hint-line' }, ENDED[d.warning_state]) : null,
    acked
      ? h('div', { class: 'ack-done', id: 'ack-done' }, `已确认收到（${fmtTime(d.acked_at)}）。谢谢！`)
      : [h('p', {}, ASK[d.kind] || '请确认已收到本预警。'), msg, btn]));
}

(async function boot() {
  if (!/^[0-9a-f]{8,64}$/i.test(token)) {
    fail('链接不完整，请从短信中完整打开链接，或直接回复短信“1”确认。');
    return;
  }
  try {
    render(await call('GET'));
  } catch (e) {
    fail(e.message);
  }
})();
