/*
 * csvimport.js — CSV import of a registry with the server's row report.
 *
 * The server validates every row and, when any row is bad, answers 422 with
 * the report and writes nothing; the user can then retry with ?skip_bad=1 to
 * import the good rows only.  Files saved by Excel as "CSV" are often GB18030
 * rather than UTF-8, so the file is decoded here and always sent as UTF-8.
 */
import { request, errorText } from './api.js';
import { h, setChildren, toast } from './dom.js';

/** Decode file bytes: UTF-8 (BOM dropped) if valid, else GB18030. */
async function readCsvText(file) {
  const buf = await file.arrayBuffer();
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return new TextDecoder('gb18030').decode(buf);
  }
}

/** Import file into reg and show the outcome in box; onDone() after anything was written. */
export async function renderImport(box, reg, file, onDone) {
  setChildren(box, h('div', { class: 'import-panel' }, `正在导入“${file.name}”…`));
  let text;
  try {
    text = await readCsvText(file);
  } catch (e) {
    setChildren(box, panel(h('div', { class: 'form-error' }, `无法读取文件：${e.message}`)));
    return;
  }
  await send(box, reg, file.name, text, false, onDone);
}

async function send(box, reg, name, text, skipBad, onDone) {
  try {
    const { data } = await request(`registries/${reg.name}/import`, {
      method: 'POST', body: text, contentType: 'text/csv; charset=utf-8', params: skipBad ? { skip_bad: 1 } : null,
    });
    setChildren(box, panel(h('div', { class: 'import-ok' }, `导入完成：${name}`), report(data)));
    toast('导入完成', 'ok');
    onDone();
  } catch (e) {
    const rep = e.body && e.body.report;
    if (e.status === 422 && rep) {
      setChildren(box, panel(
        h('div', { class: 'form-error' }, `文件中有 ${(rep.errors || []).length} 处错误，未导入任何数据。请修正后重新导入，或跳过错误行导入其余数据。`),
        report(rep),
        h('div', { class: 'form-actions' },
          h('button', { type: 'button', class: 'btn btn-primary', id: 'btn-import-skip', onclick: () => send(box, reg, name, text, true, onDone) }, '跳过错误行导入'))));
    } else {
      setChildren(box, panel(h('div', { class: 'form-error', role: 'alert' }, `导入失败：${errorText(e)}`)));
    }
  }
}

function panel(...children) {
  const p = h('div', { class: 'import-panel', id: 'import-report' },
    h('button', { type: 'button', class: 'toast-close', 'aria-label': '关闭', onclick: () => p.remove() }, '×'),
    children);
  return p;
}

function report(rep) {
  const n = (k) => String(rep[k] ?? 0);
  const errors = rep.errors || [];
  return [
    h('div', { class: 'import-counts' },
      h('span', {}, '新建 ', h('b', { id: 'imp-created' }, n('created'))),
      h('span', {}, '更新 ', h('b', { id: 'imp-updated' }, n('updated'))),
      h('span', {}, '未变 ', h('b', { id: 'imp-unchanged' }, n('unchanged'))),
      h('span', {}, '跳过 ', h('b', { id: 'imp-skipped' }, n('skipped')))),
    errors.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'data-table import-errors' },
      h('thead', {}, h('tr', {}, h('th', {}, '行'), h('th', {}, '列'), h('th', {}, '原因'))),
      h('tbody', {}, errors.map((er) => h('tr', {}, h('td', {}, String(er.row ?? '')), h('td', {}, String(er.column ?? '')), h('td', {}, String(er.reason ?? ''))))))) : null,
  ];
}
