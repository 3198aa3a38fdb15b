/*
 * monitor.test.mjs — end-to-end browser test of the M2 监测预警 pages.
 *
 * Creates a demo city in a temp dir, serves it with $YINGJI_BIN (with
 * --test-hooks, so the test can run the rollup timer), and sets up its own
 * monitoring data through the API: a monitored object with a methane and a
 * CO sensor in 泽州县, a gateway key, two hours of methane history, a CO
 * exceedance (an open alarm), and a combustible-gas alarm at the demo
 * enterprise user's own enterprise.  Then, in Debian's chromium through
 * playwright-core:
 *
 *   - duty opens 实时报警, the test posts a methane exceedance through the
 *     gateway API, and the new row appears without a reload (SSE), with the
 *     sound switched on beeping;
 *   - the alarm's detail: acknowledge, close as 误报 (a server field error is
 *     shown next to its field first), the timeline shows every step;
 *   - the sensor page draws its ECharts canvas (raw and minute resolution);
 *   - the one map's 监测与报警 layer has the alarmed sensor's marker, and its
 *     popup links to the alarm;
 *   - 维修工单 / 设备健康 / 拒收数据 render; phone width has no page scroll;
 *   - the enterprise login sees only its own enterprise's alarm, also live;
 *     a role without alarm rights has no M2 pages.
 *
 *   YINGJI_BIN=/work/main/build/yingji node --test --test-concurrency=1 tests/browser/
 *
 * Screenshots go to build/screenshots/monitor-*.png.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoDatabase, runCli } from './lib.mjs';
import { freePort, launchChromium, watch, client, PASSWORD, loginPage } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = process.env.YINGJI_BIN || path.join(ROOT, 'build/yingji');
const SHOTS = path.join(ROOT, 'build/screenshots');
const STEP_TIMEOUT = 15000;
const ZEZHOU = '140525';

let tmp;
let server;
let serverLog = '';
let base;
let browser;
let logins;
let store; // the test's database (tests/store.mjs: SQLite or PostgreSQL)
const fx = {}; // fixtures made through the API

/* ---- server and API --------------------------------------------------------- */

async function waitHealthy(url, ms) {
  const deadline = Date.now() + ms;
  let last = null;
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`server exited (${server.exitCode ?? server.signalCode}):\n${serverLog}`);
    }
    try {
      const res = await fetch(url);
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server not healthy after ${ms} ms (${last}):\n${serverLog}`);
}

function stopServer() {
  if (!server || server.exitCode !== null || server.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => { server.kill('SIGKILL'); }, 3000);
    server.once('exit', () => { clearTimeout(timer); resolve(); });
    server.kill('SIGTERM');
  });
}

process.on('exit', () => { if (server && server.exitCode === null) server.kill('SIGKILL'); });

const { account, api, tokenOf } = client(() => base, () => logins);

let uniqN = 0;
const uniq = (p) => `${p}${Date.now().toString(36)}${++uniqN}`;

async function post(readings) {
  return api('POST', '/api/v1/readings', { headers: { 'x-api-key': fx.key }, body: { readings } });
}

/* Run the monitoring timers now (rollups: minute/hour aggregates). */
async function tick() {
  await api('POST', '/api/v1/test/tick', { token: await tokenOf('admin'), body: { now: 0, timers: ['monitor'] } });
}

async function makeObject(ent, kind) {
  return api('POST', '/api/v1/registries/monitored_object', { token: await tokenOf('admin'), body: {
    code: uniq('OBJ'), name: `${ent.name}在线监测`, kind, enterprise_id: ent.id,
    region_code: ent.region_code, lat: ent.lat, lon: ent.lon,
  } });
}

async function makeSensor(obj, type, name, dLon = 0) {
  return api('POST', '/api/v1/registries/sensor', { token: await tokenOf('admin'), body: {
    code: uniq('SEN'), name, object_id: obj.id, type, region_code: obj.region_code,
    lat: obj.lat, lon: obj.lon + dLon,
  } });
}

async function alarmsOf(sensorId, username = 'admin') {
  return (await api('GET', `/api/v1/alarms?sensor_id=${sensorId}`, { token: await tokenOf(username) })).items;
}

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yingji-monitor-'));
  store = demoDatabase(tmp, runCli, PASSWORD);
  const db = store.db;
  logins = store.logins;
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(BIN, ['serve', '--db', db, '--listen', `127.0.0.1:${port}`, '--web', path.join(ROOT, 'web'), '--test-hooks'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (b) => { serverLog = (serverLog + b.toString()).slice(-20000); };
  server.stdout.on('data', keep);
  server.stderr.on('data', keep);
  await waitHealthy(`${base}/healthz`, 20000);

  // Monitoring data of our own (the demo's sensors, if any, are not relied on).
  const admin = await tokenOf('admin');
  const ent = (await api('GET', `/api/v1/registries/enterprise?region=${ZEZHOU}&limit=1`, { token: admin })).items[0];
  assert.ok(ent && ent.lat, 'a located enterprise in 泽州县');
  fx.obj = await makeObject(ent, '煤矿');
  fx.ch4 = await makeSensor(fx.obj, '甲烷', uniq('浏览器甲烷'));
  fx.co = await makeSensor(fx.obj, '一氧化碳', uniq('浏览器一氧化碳'), 0.003);
  fx.key = (await api('POST', '/api/v1/gateways', { token: admin, body: { name: uniq('浏览器网关'), region_code: '1405' } })).api_key;
  const now = Date.now();
  const hist = [];
  for (let i = 60; i >= 1; i--) hist.push({ sensor: fx.ch4.code, ts: now - i * 120000, value: Number((0.3 + 0.1 * Math.sin(i / 6)).toFixed(3)) });
  let r = await post(hist);
  assert.equal(r.accepted, 60, JSON.stringify(r));
  r = await post([{ sensor: fx.co.code, ts: now, value: 60 }, { sensor: 'NO-SUCH-SENSOR', ts: now, value: 1 }]);
  assert.equal(r.accepted, 1, JSON.stringify(r));
  [fx.coAlarm] = await alarmsOf(fx.co.id);
  assert.ok(fx.coAlarm, 'CO alarm raised');

  // The enterprise user's own enterprise (in another county) with its own alarm.
  const me = await api('GET', '/api/v1/me', { token: await tokenOf('enterprise') });
  fx.entId = me.user.enterprise_id;
  const own = await api('GET', `/api/v1/registries/enterprise/${fx.entId}`, { token: admin });
  fx.ownObj = await makeObject(own, '危险化学品重大危险源');
  fx.gas = await makeSensor(fx.ownObj, '可燃气体', uniq('浏览器可燃气体'));
  r = await post([{ sensor: fx.gas.code, ts: now, value: 30 }]);
  assert.equal(r.accepted, 1, JSON.stringify(r));
  [fx.gasAlarm] = await alarmsOf(fx.gas.id);
  assert.ok(fx.gasAlarm, 'combustible-gas alarm raised');
  await tick();

  browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
});

after(async () => {
  try {
    if (browser) await browser.close();
  } finally {
    await stopServer();
    if (tmp && !process.env.KEEP_TMP) {
      fs.rmSync(tmp, { recursive: true, force: true });
      store?.drop();
    }
  }
});

/* ---- page helpers ------------------------------------------------------------- */

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `monitor-${name}.png`), fullPage: false });
}

async function login(page, who) {
  await loginPage(page, base, account(who), STEP_TIMEOUT);
}

/* Open the alarm board and wait until its live stream is connected. */
async function openBoard(page) {
  await page.goto(`${base}/#/mon/alarms`);
  await page.locator('#alarm-board[data-live="1"]').waitFor({ timeout: STEP_TIMEOUT });
  await page.locator('#alarm-rows tr').first().waitFor({ timeout: STEP_TIMEOUT });
}

const rowOf = (page, sensorName) => page.locator('#alarm-rows tr.alarm-row', { hasText: sensorName });

/* ---- tests -------------------------------------------------------------------- */

test('duty: a new alarm appears live on the board; acknowledge and close it as 误报; sensor chart; map layer', async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const page = await context.newPage();
  const problems = [];
  watch(page, problems);
  try {
    await login(page, 'duty');
    const nav = page.locator('#app-nav');
    for (const t of ['实时报警', '监测数据', '维修工单', '设备健康', '拒收数据']) assert.match(await nav.innerText(), new RegExp(t));
    assert.doesNotMatch(await page.locator('.nav-disabled').allInnerTexts().then((a) => a.join()), /监测预警/, 'M2 no longer 建设中');

    await page.click('#nav-mon-alarms');
    await page.locator('#alarm-board[data-live="1"]').waitFor({ timeout: STEP_TIMEOUT });
    // The region cell shows the code at once and the county's name once the
    // region tree has been fetched: wait for the name before reading the row.
    await rowOf(page, fx.co.name).locator('.region-text', { hasText: '泽州县' }).waitFor({ timeout: STEP_TIMEOUT });
    const coRow = await rowOf(page, fx.co.name).innerText();
    assert.match(coRow, /橙色/);
    assert.match(coRow, /60 ppm/);
    assert.match(coRow, /持续中/);
    assert.match(coRow, /已报警/);
    assert.match(coRow, /泽州县/);

    // Sound on (remembered); the switch itself plays a test beep.
    await page.check('#sound-toggle');
    assert.equal(await page.evaluate(() => localStorage.getItem('yingji.alarmSound')), '1');
    const beeps0 = Number(await page.evaluate(() => document.documentElement.dataset.alarmBeeps || 0));
    assert.ok(beeps0 >= 1, 'test beep played');

    // An exceedance through the gateway API: the row appears without reload.
    await page.evaluate(() => { window.__sameDocument = true; });
    assert.equal(await rowOf(page, fx.ch4.name).count(), 0);
    const r = await post([{ sensor: fx.ch4.code, ts: Date.now(), value: 1.6 }]);
    assert.equal(r.accepted, 1, JSON.stringify(r));
    const row = rowOf(page, fx.ch4.name);
    await row.waitFor({ timeout: STEP_TIMEOUT });
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no page reload');
    assert.match(await row.getAttribute('class'), /row-new/, 'new row highlighted');
    const rowText = await row.innerText();
    assert.match(rowText, /橙色 二级/);
    assert.match(rowText, /1\.6 %/);
    await page.waitForFunction((n) => Number(document.documentElement.dataset.alarmBeeps || 0) > n, beeps0, { timeout: STEP_TIMEOUT });
    await shot(page, '01-board-live');

    // Detail: only 确认 is offered while raised.
    await row.locator('a.alarm-link').click();
    await page.locator('#alarm-detail').waitFor({ timeout: STEP_TIMEOUT });
    const alarmId = page.url().match(/#\/mon\/alarms\/(\d+)/)[1];
    assert.match(await page.locator('#alarm-info').innerText(), new RegExp(fx.ch4.code));
    assert.ok(await page.locator('#act-acknowledge').isVisible());
    assert.equal(await page.locator('#act-close').count(), 0, 'no close before acknowledge');
    await page.fill('#act-note', '已电话通知矿调度');
    await page.click('#act-acknowledge');
    await page.locator('#alarm-detail .page-head .state-acknowledged').waitFor({ timeout: STEP_TIMEOUT });
    assert.ok(await page.locator('#act-verify').isVisible());

    // Close as 误报: local check first, then the server's field error (forced once), then for real.
    await page.click('#act-close');
    await page.locator('#close-form').waitFor({ timeout: STEP_TIMEOUT });
    await page.check('#verdict-false');
    await page.click('#btn-close-submit');
    await page.locator('#err-reason:not([hidden])').waitFor({ timeout: STEP_TIMEOUT });
    await page.fill('#f-reason', '检修时误触');
    await page.route('**/api/v1/alarms/*/close', (route) => route.fulfill({
      status: 422, contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'invalid', message: '误报须填写原因 reason（测试）', field: 'reason' } }),
    }), { times: 1 });
    await page.click('#btn-close-submit');
    await page.waitForFunction(() => /测试/.test(document.querySelector('#err-reason').textContent), null, { timeout: STEP_TIMEOUT });
    await shot(page, '02-close-form-error');
    await page.click('#btn-close-submit');
    await page.locator('#alarm-detail .page-head .state-closed').waitFor({ timeout: STEP_TIMEOUT });
    assert.equal(await page.locator('#act-acknowledge, #act-close').count(), 0, 'no actions on a closed alarm');
    const actions = await page.locator('#alarm-timeline li').evaluateAll((els) => els.map((e) => e.dataset.action));
    assert.deepEqual(actions, ['raised', 'acknowledged', 'closed']);
    const tl = await page.locator('#alarm-timeline').innerText();
    assert.match(tl, /已电话通知矿调度/);
    assert.match(tl, /检修时误触/);
    assert.match(tl, /duty/);
    assert.match(await page.locator('#alarm-info').innerText(), /误报/);
    await page.locator('#alarm-chart canvas').first().waitFor({ timeout: STEP_TIMEOUT });
    await shot(page, '03-detail-closed');
    const closed = await api('GET', `/api/v1/alarms/${alarmId}`, { token: await tokenOf('duty') });
    assert.equal(closed.state, 'closed');
    assert.equal(closed.verdict, 'false');
    assert.equal(closed.reason, '检修时误触');

    // The sensor page: latest value, age, chart canvas (raw 6 h, then minute aggregates for 24 h).
    await page.click('#alarm-sensor-link');
    await page.locator('#sensor-page').waitFor({ timeout: STEP_TIMEOUT });
    await page.locator('#latest-value').waitFor({ timeout: STEP_TIMEOUT });
    assert.match(await page.locator('#latest-value').innerText(), /1\.6/);
    assert.match(await page.locator('#latest-age').innerText(), /刚刚|秒前|分钟前/);
    await page.locator('#sensor-chart canvas').first().waitFor({ timeout: STEP_TIMEOUT });
    await page.waitForFunction(() => Number(document.querySelector('#sensor-chart').dataset.points) > 0, null, { timeout: STEP_TIMEOUT });
    assert.equal(await page.locator('#sensor-chart').getAttribute('data-resolution'), 'raw');
    const box = await page.locator('#sensor-chart canvas').first().boundingBox();
    assert.ok(box && box.width > 300 && box.height > 200, `chart canvas drawn (${JSON.stringify(box)})`);
    assert.match(await page.locator('#chart-note').innerText(), /橙色 1\.5/, 'threshold lines of the default rule');
    await shot(page, '04-sensor');
    await tick(); // fold the latest readings into minute aggregates
    await page.click('#range-24h');
    // The page is re-rendered for the new range: #sensor-chart is briefly absent.
    await page.waitForFunction(() => {
      const c = document.querySelector('#sensor-chart');
      return c && c.dataset.resolution === 'minute' && Number(c.dataset.points) > 0;
    }, null, { timeout: STEP_TIMEOUT });

    // The one map: the CO sensor (still alarmed, orange) in the 监测与报警 layer.
    await page.goto(`${base}/#/map`);
    await page.waitForFunction(() => {
      const c = document.querySelector('#layer-count-monitor');
      return c && c.textContent !== '…';
    }, null, { timeout: STEP_TIMEOUT });
    await page.locator(`#onemap path.mon-sensor-${fx.co.id}.mon-state-orange`).waitFor({ timeout: STEP_TIMEOUT });
    assert.equal(await page.locator(`#onemap path.mon-sensor-${fx.ch4.id}`).count(), 1, 'closed alarm: the methane sensor is still drawn');
    assert.doesNotMatch(await page.locator(`#onemap path.mon-sensor-${fx.ch4.id}`).getAttribute('class'), /mon-alarm/);
    await page.fill('#map-search', fx.co.name);
    await page.locator('#map-search-results button').first().click({ timeout: STEP_TIMEOUT });
    const popup = page.locator('.leaflet-popup-content');
    await popup.waitFor({ timeout: STEP_TIMEOUT });
    assert.match(await popup.innerText(), /60 ppm/);
    assert.equal(await popup.locator('a.popup-alarm-link').getAttribute('href'), `#/mon/alarms/${fx.coAlarm.id}`);
    assert.equal(await popup.locator('a.popup-sensor-link').getAttribute('href'), `#/mon/sensors/${fx.co.id}`);
    await page.waitForTimeout(1000); // the pan to the popup re-queries nothing while it is open
    assert.ok(await popup.isVisible(), 'popup stays open');
    await shot(page, '05-map');

    // The other pages render their tables.
    await page.goto(`${base}/#/mon/health`);
    await page.locator('#health-table').waitFor({ timeout: STEP_TIMEOUT });
    assert.match(await page.locator('#health-table').innerText(), /泽州县/);
    await page.goto(`${base}/#/mon/rejects?reason=unknown_sensor`);
    await page.locator('#rejects-table').waitFor({ timeout: STEP_TIMEOUT });
    assert.match(await page.locator('#rejects-table').innerText(), /NO-SUCH-SENSOR[\s\S]*未知传感器|未知传感器[\s\S]*NO-SUCH-SENSOR/);
    await page.goto(`${base}/#/mon/workorders`);
    await page.locator('#wo-table').waitFor({ timeout: STEP_TIMEOUT });
    await page.goto(`${base}/#/mon/sensors?object_id=${fx.obj.id}`);
    await page.locator(`#sensor-table tr[data-id="${fx.co.id}"][data-state="alarm"]`).waitFor({ timeout: STEP_TIMEOUT });
    assert.deepEqual(problems, [], 'no script errors in the page');
  } finally {
    await shot(page, '99-last').catch(() => {});
    await context.close();
  }
});

test('fault verdict opens a work order that is repaired and restored in the UI', async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const page = await context.newPage();
  const problems = [];
  watch(page, problems);
  page.on('dialog', (d) => d.accept());
  try {
    await login(page, 'duty');
    await page.goto(`${base}/#/mon/alarms/${fx.coAlarm.id}`);
    await page.click('#act-acknowledge');
    await page.click('#act-close');
    await page.check('#verdict-fault');
    await page.fill('#f-reason', '传感器零点漂移');
    await page.click('#btn-close-submit');
    await page.locator('#alarm-workorder-link').waitFor({ timeout: STEP_TIMEOUT });
    await page.click('#alarm-workorder-link');
    const row = page.locator('#wo-table tr.row-focus');
    await row.waitFor({ timeout: STEP_TIMEOUT });
    assert.match(await row.innerText(), /传感器零点漂移/);
    assert.match(await row.innerText(), /已派单/);
    const id = await row.getAttribute('data-id');
    await page.click(`#wo-repair-${id}`);
    await page.click(`#wo-repair-submit-${id}`);
    assert.match(await row.locator('.field-error').innerText(), /维修说明/);
    await page.fill(`#wo-note-${id}`, '更换敏感元件并标校');
    await page.click(`#wo-repair-submit-${id}`);
    await page.locator(`#wo-table tr[data-id="${id}"][data-state="repaired"]`).waitFor({ timeout: STEP_TIMEOUT });
    await page.click(`#wo-restore-${id}`);
    await page.locator(`#wo-table tr[data-id="${id}"][data-state="restored"]`).waitFor({ timeout: STEP_TIMEOUT });
    await shot(page, '06-workorders');
    assert.deepEqual(problems, [], 'no script errors in the page');
  } finally {
    await context.close();
  }
});

test('enterprise sees only its own alarms (also live); roles without alarm rights have no M2 pages', async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const page = await context.newPage();
  const problems = [];
  watch(page, problems);
  try {
    await login(page, 'enterprise');
    await openBoard(page);
    await rowOf(page, fx.gas.name).waitFor({ timeout: STEP_TIMEOUT });
    assert.equal(await rowOf(page, fx.co.name).count(), 0, 'another enterprise\'s alarm not listed');
    // A new alarm of another enterprise does not arrive; one of its own does.
    const other = await makeSensor(fx.obj, '甲烷', uniq('他企甲烷'));
    const mine = await makeSensor(fx.ownObj, '可燃气体', uniq('本企可燃气体'), 0.002);
    await post([{ sensor: other.code, ts: Date.now(), value: 1.8 }]);
    await post([{ sensor: mine.code, ts: Date.now(), value: 55 }]);
    await rowOf(page, mine.name).waitFor({ timeout: STEP_TIMEOUT });
    await page.waitForTimeout(500);
    assert.equal(await rowOf(page, other.name).count(), 0, 'no live row for another enterprise');
    const ids = await page.locator('#alarm-rows tr.alarm-row').evaluateAll((els) => els.map((e) => e.dataset.id));
    const theirs = (await alarmsOf(other.id))[0];
    assert.ok(theirs && !ids.includes(String(theirs.id)));
    await shot(page, '07-enterprise-board');
    // Its detail page is refused.
    await page.goto(`${base}/#/mon/alarms/${theirs.id}`);
    await page.locator('.page-error').waitFor({ timeout: STEP_TIMEOUT });
    assert.match(await page.locator('.page-error').innerText(), /不存在|权限/);
    // The map layer has its own sensor only.
    await page.goto(`${base}/#/map`);
    await page.locator(`#onemap path.mon-sensor-${fx.gas.id}`).waitFor({ timeout: STEP_TIMEOUT });
    assert.equal(await page.locator(`#onemap path.mon-sensor-${fx.co.id}`).count(), 0);
    assert.deepEqual(problems, [], 'no script errors in the page');
  } finally {
    await context.close();
  }

  const wctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const wpage = await wctx.newPage();
  try {
    await login(wpage, 'warehouse');
    assert.equal(await wpage.locator('#app-nav a[href^="#/mon/"]').count(), 0, 'no M2 entries without alarm/monitor rights');
    await wpage.goto(`${base}/#/mon/alarms`);
    await wpage.locator('.page-error').waitFor({ timeout: STEP_TIMEOUT });
    assert.match(await wpage.locator('.page-error').innerText(), /没有.*权限/);
  } finally {
    await wctx.close();
  }
});

test('phone width: board, detail and sensor page fit without horizontal page scroll', async () => {
  const context = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  const problems = [];
  watch(page, problems);
  try {
    await login(page, 'duty');
    await page.click('#menu-btn');
    await page.locator('#nav-mon-alarms').click();
    await page.locator('#alarm-board[data-live="1"]').waitFor({ timeout: STEP_TIMEOUT });
    await page.locator('#alarm-rows tr.alarm-row').first().waitFor({ timeout: STEP_TIMEOUT });
    const pages = [
      ['#/mon/alarms', '#alarm-table'],
      [`#/mon/alarms/${fx.gasAlarm.id}`, '#alarm-timeline'],
      [`#/mon/sensors/${fx.ch4.id}`, '#sensor-chart canvas'],
      ['#/mon/sensors', '#sensor-table'],
      ['#/mon/health', '#health-table'],
      ['#/mon/rejects', '#rejects-table'],
    ];
    for (const [hash, sel] of pages) {
      await page.goto(`${base}/${hash}`);
      await page.locator(sel).first().waitFor({ timeout: STEP_TIMEOUT });
      const w = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(w <= 375 + 1, `no horizontal page scroll on ${hash} (${w}px)`);
      if (hash.startsWith('#/mon/sensors/')) await shot(page, 'phone-sensor');
      if (hash === '#/mon/alarms') await shot(page, 'phone-board');
    }
    assert.deepEqual(problems, [], 'no script errors in the page');
  } finally {
    await context.close();
  }
});
