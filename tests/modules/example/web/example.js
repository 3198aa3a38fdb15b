/*
 * example.js — the example module's page (#/example): how often its timer
 * ran.  A module page exports render(view, ctx, parts); the shell loads it
 * from web/m/<module>/ when its navigation entry is followed.
 */
import { get } from '../../js/api.js';
import { h, setChildren } from '../../js/dom.js';

export async function render(view, ctx) {
  const data = await get('example');
  if (!ctx.alive()) return;
  setChildren(view, h('div', { class: 'page', id: 'example-page' },
    h('h1', {}, '示例页面'),
    h('p', {}, `定时任务已运行 ${data.timer_runs} 次`)));
}
