/*
 * warning.test.mjs — end-to-end browser test of the M3 预警发布与叫应 pages.
 *
 * Creates a demo city in a temp dir and serves it with $YINGJI_BIN beside a
 * real stand-in gateway (`yingji gateway-sim`: numbers ending in 0–5
 * answer, the others never do), on the real clock.  Then, in Debian's
 * chromium through playwright-core:
 *
 *   - duty composes a warning: picks 泽州县 周村镇, sees the live recipient
 *     count, draws a polygon and a circle on the map (the count follows),
 *     deletes them again, is told what is missing, saves and submits;
 *   - duty cannot approve a yellow warning; the commander finds it in 待审批
 *     and approves it; duty publishes it;
 *   - the published page fills without a reload: deliveries, coverage and
 *     the 叫应 board follow the gateway's answers (SSE); duty records a
 *     phone answer for someone who did not answer;
 *   - the SMS link of another one opens ack.html and confirms; a broken
 *     link says so;
 *   - the public page lists the warning without login;
 *   - a monitoring alarm becomes a draft in one click;
 *   - a supervisor (read only) sees warnings but no composer or actions;
 *     the composer fits a phone.
 *
 *   YINGJI_BIN=/work/main/build/yingji node --test --test-concurrency=1 tests/browser/
 *
 * Screenshots go to build/screenshots/warning-*.png.
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
const LIVE_TIMEOUT = 30000;
const ZEZHOU = '140525';
const ZHOUCUN = '140525103'; // 周村镇
const GW_TOKEN = 'browser-gateway-token';

let tmp;
let base;
let gwBase;
let browser;
let logins;
let store; // the test's database (tests/store.mjs: SQLite or PostgreSQL)
const procs = [];
const fx = {};

/* ---- processes and API --------------------------------------------------------- */

function start(args) {
  const p = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  p.log = '';
  const keep = (b) => { p.log = (p.log + b.toString()).slice(-20000); };
  p.stdout.on('data', keep);
  p.stderr.on('data', keep);
  procs.push(p);
  return p;
}

async function waitUp(p, url, ms) {
  const deadline = Date.now() + ms;
  let last = null;
  while (Date.now() < deadline) {
    if (p.exitCode !== null || p.signalCode !== null) throw new Error(`${url}: process exited:\n${p.log}`);
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not up after ${ms} ms (${last}):\n${p.log}`);
}

function stop(p) {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => { p.kill('SIGKILL'); }, 3000);
    p.once('exit', () => { clearTimeout(timer); resolve(); });
    p.kill('SIGTERM');
  });
}

process.on('exit', () => { for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL'); });

const { account, api, tokenOf } = client(() => base, () => logins);

let uniqN = 0;
const uniq = (p) => `${p}${Date.now().toString(36)}${++uniqN}`;

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yingji-warning-'));
  store = demoDatabase(tmp, runCli, PASSWORD);
  const db = store.db;
  logins = store.logins;
  const port = await freePort();
  const gwPort = await freePort();
  base = `http://127.0.0.1:${port}`;
  gwBase = `http://127.0.0.1:${gwPort}`;
  const gw = start(['gateway-sim', '--listen', `127.0.0.1:${gwPort}`, '--token', GW_TOKEN,
    '--answer-digits', '012345', '--delay-ms', '100']);
  await waitUp(gw, `${gwBase}/stats`, 10000);
  const srv = start(['serve', '--db', db, '--listen', `127.0.0.1:${port}`, '--web', path.join(ROOT, 'web'),
    '--sms-gateway', `${gwBase}/sms`, '--voice-gateway', `${gwBase}/voice`, '--gateway-token', GW_TOKEN,
    '--public-url', base, '--channel-rates', 'sms=1000,voice=1000']);
  await waitUp(srv, `${base}/healthz`, 20000);

  // A monitoring alarm in 泽州县 to turn into a warning (the demo's own sensors are not relied on).
  const admin = await tokenOf('admin');
  const ent = (await api('GET', `/api/v1/registries/enterprise?region=${ZEZHOU}&limit=1`, { token: admin })).items[0];
  assert.ok(ent && ent.lat, 'a located enterprise in 泽州县');
  const obj = await api('POST', '/api/v1/registries/monitored_object', { token: admin, body: {
    code: uniq('OBJ'), name: `${ent.name}在线监测`, kind: '煤矿', enterprise_id: ent.id,
    region_code: ent.region_code, lat: ent.lat, lon: ent.lon,
  } });
  const sensor = await api('POST', '/api/v1/registries/sensor', { token: admin, body: {
    code: uniq('SEN'), name: uniq('预警一氧化碳'), object_id: obj.id, type: '一氧化碳', region_code: obj.region_code,
    lat: obj.lat, lon: obj.lon,
  } });
  const key = (await api('POST', '/api/v1/gateways', { token: admin, body: { name: uniq('预警网关'), region_code: '1405' } })).api_key;
  const r = await api('POST', '/api/v1/readings', { headers: { 'x-api-key': key }, body: { readings: [{ sensor: sensor.code, ts: Date.now(), value: 60 }] } });
  assert.equal(r.accepted, 1, JSON.stringify(r));
  [fx.alarm] = (await api('GET', `/api/v1/alarms?sensor_id=${sensor.id}`, { token: admin })).items;
  assert.ok(fx.alarm, 'CO alarm raised');

  browser = await launchChromium();
});

after(async () => {
  try {
    if (browser) await browser.close();
  } finally {
    for (const p of procs.reverse()) await stop(p);
    if (tmp && !process.env.KEEP_TMP) {
      fs.rmSync(tmp, { recursive: true, force: true });
      store?.drop();
    }
  }
});

/* ---- page helpers ------------------------------------------------------------- */

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `warning-${name}.png`), fullPage: false });
}

async function login(page, who) {
  await loginPage(page, base, account(who), STEP_TIMEOUT);
}

async function session(who, viewport = { width: 1366, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = [];
  watch(page, problems);
  if (who) await login(page, who);
  return { context, page, problems };
}

const residents = async (page) => Number(await page.locator('#target-residents').innerText());

/* Wait until the live recipient count shows a value other than `old`. */
async function countChanges(page, old) {
  await page.waitForFunction((o) => {
    const el = document.querySelector('#target-residents');
    const box = document.querySelector('#target-box');
    return el && box && !box.classList.contains('loading') && el.textContent !== String(o);
  }, old, { timeout: STEP_TIMEOUT });
  return residents(page);
}

/* Click on the composer's map at fractions (fx, fy) of its size. */
async function clickMap(page, fxr, fyr) {
  const box = await page.locator('#compose-map').boundingBox();
  await page.mouse.click(box.x + box.width * fxr, box.y + box.height * fyr);
}

/* ---- tests -------------------------------------------------------------------- */

test('duty composes a warning on the map, the commander approves it, duty publishes; answers arrive live', async () => {
  const duty = await session('duty');
  const { page } = duty;
  page.on('dialog', (d) => d.accept(d.type() === 'prompt' ? d.defaultValue() : undefined));
  try {
    const nav = await page.locator('#app-nav').innerText();
    for (const t of ['预警发布', '预警列表', '待审批', '编制预警']) assert.match(nav, new RegExp(t));
    assert.doesNotMatch(await page.locator('.nav-disabled').allInnerTexts().then((a) => a.join()), /预警发布/);

    await page.click('#nav-warn-new');
    await page.locator('#warn-compose').waitFor({ timeout: STEP_TIMEOUT });
    await page.locator('#compose-map path.leaflet-interactive').first().waitFor({ timeout: STEP_TIMEOUT });

    // Nothing filled in: every missing field is named, nothing is sent.
    await page.click('#btn-save-draft');
    for (const f of ['event_type', 'headline', 'description', 'area']) {
      await page.locator(`#err-${f}:not([hidden])`).waitFor({ timeout: STEP_TIMEOUT });
    }
    assert.match(await page.locator('#err-area').innerText(), /预警区域不能为空/);
    // (cleared as soon as an area is chosen, below)

    // The area: a township, then a polygon and a circle drawn on the map.
    await page.selectOption('#pick-county', ZEZHOU);
    await page.locator(`#pick-town option[value="${ZHOUCUN}"]`).waitFor({ state: 'attached', timeout: STEP_TIMEOUT });
    await page.selectOption('#pick-town', ZHOUCUN);
    await page.click('#btn-add-region');
    await page.locator('#region-chips .chip', { hasText: '周村镇' }).waitFor({ timeout: STEP_TIMEOUT });
    const town = await countChanges(page, '');
    assert.equal(await page.locator('#err-area').isVisible(), false, 'the area error goes once an area is chosen');
    assert.ok(town > 50, `周村镇 has residents: ${town}`);
    assert.match(await page.locator('#target-box').innerText(), /须叫应的责任人 \d+ 人/);

    await page.click('#btn-draw-polygon');
    assert.ok(await page.locator('#btn-draw-finish').isVisible());
    await clickMap(page, 0.2, 0.2);
    await clickMap(page, 0.8, 0.2);
    await clickMap(page, 0.8, 0.8);
    await clickMap(page, 0.2, 0.8);
    assert.match(await page.locator('#draw-status').innerText(), /已选 4 个顶点/);
    await page.click('#btn-draw-finish');
    await page.locator('#shape-list li', { hasText: '多边形 1（4 个顶点）' }).waitFor({ timeout: STEP_TIMEOUT });
    const withPolygon = await countChanges(page, town);
    assert.ok(withPolygon > town, `the polygon adds residents: ${withPolygon} > ${town}`);
    await shot(page, '01-composer-polygon');

    await page.fill('#circle-radius', '3');
    await page.click('#btn-draw-circle');
    await clickMap(page, 0.5, 0.5);
    await page.locator('#shape-list li', { hasText: '半径 3 公里' }).waitFor({ timeout: STEP_TIMEOUT });
    // Remove both shapes: back to the township alone.
    await page.locator('#shape-list li', { hasText: '多边形 1' }).locator('.shape-del').click();
    await page.locator('#shape-list li', { hasText: '圆 1' }).locator('.shape-del').click();
    await page.waitForFunction((n) => {
      const el = document.querySelector('#target-residents');
      return el && !document.querySelector('#target-box').classList.contains('loading') && el.textContent === String(n);
    }, town, { timeout: STEP_TIMEOUT });
    assert.equal(await page.locator('#shape-list li').count(), 0);

    fx.headline = uniq('周村镇暴雨黄色预警');
    await page.fill('#w-event_type', '暴雨');
    await page.selectOption('#w-level', '3');
    assert.match(await page.locator('#approver-hint').innerText(), /指挥长审批/);
    await page.fill('#w-headline', fx.headline);
    await page.fill('#w-description', '预计未来6小时内周村镇将出现50毫米以上降雨，局地伴有雷电。');
    await page.fill('#w-instruction', '注意防范山洪、地质灾害，危险区人员及时转移。');
    await page.click('#btn-save-submit');
    await page.locator('#warn-detail').waitFor({ timeout: STEP_TIMEOUT });
    fx.id = Number(page.url().match(/#\/warn\/(\d+)/)[1]);
    assert.match(await page.locator('#warn-detail .page-head').innerText(), /待审批/);
    // The submitter of a yellow warning, a duty officer, may not approve it.
    assert.equal(await page.locator('#act-approve').count(), 0);
    assert.match(await page.locator('#warn-waiting').innerText(), /等待审批：黄色预警由指挥长审批/);

    // The commander approves it from the queue.
    const cmd = await session('commander');
    try {
      await cmd.page.click('#nav-warn-approvals');
      await cmd.page.locator('#warn-approvals').waitFor({ timeout: STEP_TIMEOUT });
      const row = cmd.page.locator('#warn-table tr.warn-row', { hasText: fx.headline });
      await row.waitFor({ timeout: STEP_TIMEOUT });
      await row.locator('a.warn-link').click();
      await cmd.page.locator('#act-approve').waitFor({ timeout: STEP_TIMEOUT });
      assert.ok(await cmd.page.locator('#act-reject').isVisible());
      await cmd.page.fill('#act-note', '同意发布');
      await cmd.page.click('#act-approve');
      await cmd.page.locator('#warn-detail .page-head .wstate-approved').waitFor({ timeout: STEP_TIMEOUT });
      assert.match(await cmd.page.locator('#warn-timeline').innerText(), /审批通过[\s\S]*同意发布/);
      assert.deepEqual(cmd.problems, []);
    } finally {
      await cmd.context.close();
    }

    // Duty publishes; the page then follows the deliveries without a reload.
    await page.reload();
    await page.locator('#act-publish').waitFor({ timeout: STEP_TIMEOUT });
    await page.click('#act-publish');
    await page.locator('#warn-detail .page-head .wstate-published').waitFor({ timeout: STEP_TIMEOUT });
    assert.match(await page.locator('#w-identifier').innerText(), /^\d{14}_\d{14}_\d$/);
    assert.ok(await page.locator('#btn-cap').isVisible());
    await page.evaluate(() => { window.__sameDocument = true; });
    await page.locator('#callup-board #board-total').waitFor({ timeout: STEP_TIMEOUT });
    await page.waitForFunction(() => Number(document.querySelector('#board-answered')?.textContent) > 0, null, { timeout: LIVE_TIMEOUT });
    await page.waitForFunction(() => !/^0\.0%/.test(document.querySelector('#cov-reached .cov-value')?.textContent || '0.0%'), null, { timeout: LIVE_TIMEOUT });
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no page reload');
    const deliveries = await page.locator('#delivery-table').innerText();
    assert.match(deliveries, /居民/);
    assert.match(deliveries, /责任人/);
    await shot(page, '02-published-board');

    // Someone who will not answer: duty records a phone answer for them.
    // The board re-renders live as others answer, so pick the person by
    // their delivery id, not by position, and one whose number (its last
    // four digits are shown) the stand-in gateway never answers for (0–5
    // answer), lest their own SMS answer overtake the phone answer.
    const who = await (await page.waitForFunction(() => {
      const open = Number(document.querySelector('#board-open')?.textContent);
      const silent = [...document.querySelectorAll('#board-table tr.board-row')].find((tr) => tr.querySelector('.btn-ack-phone')
        && /[6-9]$/.test((tr.querySelector('td.mono')?.textContent || '').trim()));
      return open > 0 && silent ? silent.dataset.id : null;
    }, null, { timeout: LIVE_TIMEOUT })).jsonValue();
    const answered = Number(await page.locator('#board-answered').innerText());
    await page.locator(`#board-table tr.board-row[data-id="${who}"] .btn-ack-phone`).click();
    await page.waitForFunction((n) => Number(document.querySelector('#board-answered')?.textContent) > n, answered, { timeout: STEP_TIMEOUT });
    await page.selectOption('#board-filter', 'answered');
    const row = page.locator(`#board-table tr.board-row[data-id="${who}"]`);
    await row.waitFor({ timeout: STEP_TIMEOUT });
    assert.match(await row.innerText(), /值班员登记/);
    assert.deepEqual(duty.problems, []);
  } finally {
    await duty.context.close();
  }
});

test('the SMS link confirms on ack.html; a broken link says so; the public page lists the warning', async () => {
  assert.ok(fx.id, 'published by the first test');
  const reqs = await (await fetch(`${gwBase}/requests`)).json();
  // a must-answer SMS to a number that does not answer, not the one duty
  // recorded a phone answer for above
  let silent = null;
  for (const q of reqs.filter((x) => x.must_ack && x.ack_url && /[6-9]$/.test(x.to))) {
    const info = await (await fetch(`${base}/api/v1/public/ack/${q.ack_url.split('#')[1]}`)).json();
    if (info.acked_at === null) { silent = q; break; }
  }
  assert.ok(silent, 'an unanswered must-answer SMS');
  const url = new URL(silent.ack_url);
  assert.equal(url.pathname, '/ack.html');

  const anon = await session(null, { width: 390, height: 800 });
  const { page } = anon;
  try {
    await page.goto(silent.ack_url);
    await page.locator('#ack-confirm').waitFor({ timeout: STEP_TIMEOUT });
    assert.equal(await page.locator('#ack-headline').innerText(), fx.headline);
    await shot(page, '03-ack');
    await page.click('#ack-confirm');
    await page.locator('#ack-done').waitFor({ timeout: STEP_TIMEOUT });
    assert.match(await page.locator('#ack-done').innerText(), /已确认收到/);
    // Opened again: still confirmed, no button.
    await page.reload();
    await page.locator('#ack-done').waitFor({ timeout: STEP_TIMEOUT });
    assert.equal(await page.locator('#ack-confirm').count(), 0);

    await page.goto('about:blank');
    await page.goto(`${base}/ack.html#${'0'.repeat(32)}`);
    await page.locator('#ack-error').waitFor({ timeout: STEP_TIMEOUT });
    assert.match(await page.locator('#ack-error').innerText(), /链接无效或已过期/);
    await page.goto('about:blank');
    await page.goto(`${base}/ack.html`);
    await page.locator('#ack-error').waitFor({ timeout: STEP_TIMEOUT });
    assert.match(await page.locator('#ack-error').innerText(), /链接不完整/);

    await page.goto(`${base}/warnings.html`);
    const card = page.locator(`article.public-card[data-id="${fx.id}"]`);
    await card.waitFor({ timeout: STEP_TIMEOUT });
    const text = await card.innerText();
    assert.match(text, new RegExp(fx.headline));
    assert.match(text, /黄色预警/);
    assert.match(text, /防御指引/);
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true, 'no sideways scroll on a phone');
    await shot(page, '04-public');
    assert.deepEqual(anon.problems, []);
  } finally {
    await anon.context.close();
  }
  // The link's answer is on the board too.
  const board = await api('GET', `/api/v1/warnings/${fx.id}/callup`, { token: await tokenOf('duty') });
  assert.ok(board.people.some((p) => p.acked_via === 'link'), 'acknowledged through the link');
});

test('an alarm becomes a warning draft in one click; read-only roles get no composer; the composer fits a phone', async () => {
  const duty = await session('duty');
  try {
    await duty.page.goto(`${base}/#/mon/alarms/${fx.alarm.id}`);
    await duty.page.locator('#btn-alarm-warning').waitFor({ timeout: STEP_TIMEOUT });
    await duty.page.click('#btn-alarm-warning');
    await duty.page.locator('#warn-compose').waitFor({ timeout: STEP_TIMEOUT });
    assert.match(duty.page.url(), /#\/warn\/\d+\/edit$/);
    assert.notEqual(await duty.page.inputValue('#w-headline'), '');
    assert.match(await duty.page.locator('#warn-compose').innerText(), new RegExp(`由监测报警 #${fx.alarm.id} 生成`));
    await duty.page.waitForFunction(() => document.querySelector('#target-residents'), null, { timeout: STEP_TIMEOUT });
    assert.ok((await duty.page.locator('#region-chips .chip').count()) + (await duty.page.locator('#shape-list li').count()) > 0, 'the alarm\'s area');
    assert.deepEqual(duty.problems, []);
  } finally {
    await duty.context.close();
  }

  const sup = await session('supervisor');
  try {
    const nav = await sup.page.locator('#app-nav').innerText();
    assert.match(nav, /预警列表/);
    assert.doesNotMatch(nav, /编制预警|待审批/);
    await sup.page.goto(`${base}/#/warn/${fx.id}`);
    await sup.page.locator('#warn-detail').waitFor({ timeout: STEP_TIMEOUT });
    await sup.page.locator('#callup-board #board-total').waitFor({ timeout: STEP_TIMEOUT });
    assert.equal(await sup.page.locator('#warn-actions button, #warn-actions a').count(), 0);
    assert.equal(await sup.page.locator('.btn-ack-phone').count(), 0);
    await sup.page.goto(`${base}/#/warn/new`);
    await sup.page.locator('.page-error').waitFor({ timeout: STEP_TIMEOUT });
    assert.match(await sup.page.locator('.page-error').innerText(), /没有编制预警的权限/);
    assert.deepEqual(sup.problems, []);
  } finally {
    await sup.context.close();
  }

  const phone = await session('duty', { width: 390, height: 844 });
  try {
    await phone.page.goto(`${base}/#/warn/new`);
    await phone.page.locator('#compose-map path.leaflet-interactive').first().waitFor({ timeout: STEP_TIMEOUT });
    assert.equal(await phone.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true, 'no sideways scroll');
    await shot(phone.page, '05-composer-phone');
    assert.deepEqual(phone.problems, []);
  } finally {
    await phone.context.close();
  }
});

test('the commander lifts the warning; the cancel message goes to those it reached, shown on its own page', async () => {
  assert.ok(fx.id, 'published by the first test');
  const cmd = await session('commander');
  const { page } = cmd;
  page.on('dialog', (d) => d.accept());
  try {
    await page.goto(`${base}/#/warn/${fx.id}`);
    await page.locator('#act-cancel').waitFor({ timeout: STEP_TIMEOUT });
    await page.click('#act-cancel');
    assert.match(await page.locator('#warn-detail').innerText(), /解除预警须填写原因/);
    await page.fill('#act-note', '雨势减弱，险情解除');
    await page.click('#act-cancel');
    await page.locator('#warn-detail .page-head .wstate-cancelled').waitFor({ timeout: STEP_TIMEOUT });
    await page.click('#w-superseded');
    // the warning's own page still shows its delivery table until the
    // notice's page has loaded: wait for the notice's heading, not the table
    await page.locator('#warn-detail .progress-head h3', { hasText: '解除通知发送' }).waitFor({ timeout: STEP_TIMEOUT });
    await page.locator('#delivery-table').waitFor({ timeout: STEP_TIMEOUT });
    assert.equal(await page.locator('#callup-board').count(), 0, 'nobody is asked to answer a cancellation');
    // the stand-in gateway sends them: sent or delivered, live
    await page.waitForFunction(() => [...document.querySelectorAll('#delivery-table td[data-state="sent"], #delivery-table td[data-state="delivered"]')]
      .some((td) => Number(td.textContent) > 0), null, { timeout: LIVE_TIMEOUT });
    assert.match(await page.locator('#delivery-table').innerText(), /居民/);
    await shot(page, '06-cancel-notices');
    assert.deepEqual(cmd.problems, []);
  } finally {
    await cmd.context.close();
  }
  const reqs = await (await fetch(`${gwBase}/requests`)).json();
  assert.ok(reqs.some((q) => /解除：.*雨势减弱，险情解除$/.test(q.text || '')), 'a notice went out through the gateway');
});
