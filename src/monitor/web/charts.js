/*
 * charts.js — sensor history as an ECharts line chart.
 *
 * ECharts (Apache-2.0, npm `echarts`, copied to web/vendor/echarts/ by the
 * Makefile) is about 1 MB, so it is loaded only when a page first draws a
 * chart, as the global `echarts`.
 *
 * GET /sensors/{id}/history answers raw points [ts, value, late] or, for
 * longer windows, aggregates [bucket, avg, min, max, n]: raw points are one
 * line (late ones, 补传, marked grey); aggregates are the mean line over a
 * min–max band.  Alarm thresholds are drawn as coloured mark lines.
 */
import { fmtTime } from '../../js/dom.js';
import { fmtNum, LEVELS, LEVEL_BY_NAME } from '../../js/monshared.js';

let loading = null;

/** Load vendor/echarts/echarts.min.js once; resolves to the echarts global. */
export function loadECharts() {
  if (window.echarts) return Promise.resolve(window.echarts);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = 'vendor/echarts/echarts.min.js';
      s.async = true;
      s.onload = () => (window.echarts ? resolve(window.echarts) : reject(new Error('图表组件加载失败')));
      s.onerror = () => { loading = null; s.remove(); reject(new Error('图表组件加载失败（vendor/echarts）')); };
      document.head.appendChild(s);
    });
  }
  return loading;
}

/**
 * Threshold lines of a threshold rule's params ({direction, levels:{blue,…}}):
 * [{level, value}], most severe last.
 */
export function thresholdsOf(params) {
  if (!params || !params.levels || typeof params.levels !== 'object') return [];
  return Object.entries(params.levels)
    .filter(([k, v]) => LEVEL_BY_NAME[k] && Number.isFinite(Number(v)))
    .map(([k, v]) => ({ level: LEVEL_BY_NAME[k], value: Number(v) }))
    .sort((a, b) => b.level - a.level);
}

/**
 * Draw (or redraw) a history into el.  Returns {chart, dispose()}.
 * hist: the history answer; opts: {thresholds, direction, marks:[{ts,label}]}.
 */
export async function drawHistory(el, hist, opts = {}) {
  const echarts = await loadECharts();
  let chart = echarts.getInstanceByDom(el);
  if (!chart) chart = echarts.init(el, null, { renderer: 'canvas' });
  chart.setOption(historyOption(hist, opts), true);
  return chart;
}

/** Resize the chart with its box; returns a function that stops. */
export function autoResize(el, chart) {
  if (typeof ResizeObserver === 'undefined') {
    const fn = () => chart.resize();
    window.addEventListener('resize', fn);
    return () => window.removeEventListener('resize', fn);
  }
  const ro = new ResizeObserver(() => { if (!chart.isDisposed()) chart.resize(); });
  ro.observe(el);
  return () => ro.disconnect();
}

function historyOption(hist, opts) {
  const unit = hist.unit || '';
  const raw = hist.resolution === 'raw';
  const pts = Array.isArray(hist.points) ? hist.points : [];
  const series = [];
  let lo = Infinity;
  let hi = -Infinity;
  if (raw) {
    const live = [];
    const late = [];
    for (const p of pts) {
      live.push([p[0], p[1]]);
      if (p[2]) late.push([p[0], p[1]]);
      lo = Math.min(lo, p[1]);
      hi = Math.max(hi, p[1]);
    }
    series.push({
      name: '测量值', type: 'line', data: live, showSymbol: live.length <= 120, symbolSize: 4,
      lineStyle: { width: 1.6, color: '#1f5fae' }, itemStyle: { color: '#1f5fae' },
      sampling: 'lttb', markLine: markLines(opts), z: 3,
    });
    if (late.length) {
      series.push({ name: '补传', type: 'scatter', data: late, symbol: 'emptyCircle', symbolSize: 4, itemStyle: { color: '#8a94a0' }, z: 4, tooltip: { show: false } });
    }
  } else {
    const avg = [];
    const min = [];
    const band = [];
    for (const p of pts) {
      avg.push([p[0], p[1]]);
      min.push([p[0], p[2]]);
      band.push([p[0], p[3] - p[2]]);
      lo = Math.min(lo, p[2]);
      hi = Math.max(hi, p[3]);
    }
    series.push(
      { name: '最小值', type: 'line', data: min, stack: 'band', symbol: 'none', lineStyle: { opacity: 0 }, areaStyle: { opacity: 0 }, tooltip: { show: false } },
      { name: '范围', type: 'line', data: band, stack: 'band', symbol: 'none', lineStyle: { opacity: 0 }, areaStyle: { color: 'rgba(31,95,174,.16)' }, tooltip: { show: false } },
      { name: '平均值', type: 'line', data: avg, symbol: 'none', lineStyle: { width: 1.6, color: '#1f5fae' }, itemStyle: { color: '#1f5fae' }, markLine: markLines(opts), z: 3 },
    );
  }
  // Keep the nearest threshold beyond the data in view, so the margin shows.
  const th = (opts.thresholds || []).map((t) => t.value);
  if (th.length && Number.isFinite(hi)) {
    const high = opts.direction !== 'low';
    const beyond = th.filter((v) => (high ? v > hi : v < lo));
    if (beyond.length) {
      if (high) hi = Math.min(...beyond);
      else lo = Math.max(...beyond);
    }
  }
  const byTs = new Map(pts.map((p) => [p[0], p]));
  const [ymin, ymax] = niceRange(lo, hi);
  return {
    animation: false,
    grid: { left: 56, right: 72, top: 28, bottom: 56, containLabel: false },
    tooltip: {
      trigger: 'axis',
      formatter: (items) => {
        const it = Array.isArray(items) ? items[0] : items;
        if (!it) return '';
        const p = byTs.get(it.value[0]);
        if (!p) return '';
        const when = fmtTime(p[0]);
        if (raw) return `${when}<br>${fmtNum(p[1])} ${esc(unit)}${p[2] ? '（补传）' : ''}`;
        return `${when}<br>平均 ${fmtNum(p[1])} ${esc(unit)}<br>最小 ${fmtNum(p[2])}，最大 ${fmtNum(p[3])}<br>${p[4]} 个读数`;
      },
    },
    xAxis: {
      type: 'time', min: hist.from, max: hist.to,
      axisLabel: { hideOverlap: true, formatter: { day: '{MM}-{dd}', hour: '{HH}:{mm}', minute: '{HH}:{mm}' } },
    },
    yAxis: {
      type: 'value', name: unit, scale: true,
      min: ymin,
      max: ymax,
      axisLabel: { formatter: (v) => fmtNum(v) },
    },
    dataZoom: [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 8 }],
    series,
    graphic: pts.length ? [] : [{ type: 'text', left: 'center', top: 'middle', style: { text: '该时间段内没有数据', fill: '#6b7785', fontSize: 14 } }],
  };
}

/* Axis bounds a little outside [lo, hi], on a round step (so the end labels
 * read 0.5 / 2.5, not 0.056 / 2.144). */
function niceRange(lo, hi) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [undefined, undefined];
  let span = hi - lo;
  if (span <= 0) span = Math.abs(hi) || 1;
  const raw = span / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
  const fix = (v) => Number(v.toPrecision(12));
  return [fix(Math.floor((lo - span * 0.04) / step) * step), fix(Math.ceil((hi + span * 0.04) / step) * step)];
}

function markLines(opts) {
  const data = (opts.thresholds || []).map((t) => {
    const l = LEVELS[t.level];
    return {
      yAxis: t.value, name: l.label,
      lineStyle: { color: l.colour, type: 'dashed', width: 1.4 },
      label: { formatter: `${l.label} ${fmtNum(t.value)}`, color: l.colour, position: 'end' },
    };
  });
  for (const m of opts.marks || []) {
    data.push({ xAxis: m.ts, name: m.label, lineStyle: { color: '#b3261e', type: 'solid', width: 1 }, label: { formatter: m.label, color: '#b3261e' } });
  }
  return data.length ? { symbol: 'none', silent: true, data } : undefined;
}

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}
