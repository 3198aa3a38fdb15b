/*
 * ui.test.mjs — end-to-end browser test of the yingji web UI.
 *
 * Creates a demo city in a temp dir, serves it with $YINGJI_BIN on a free
 * loopback port, and drives Debian's chromium through playwright-core:
 * log in as the duty officer, check the one map draws the county outlines
 * and the registry layers, create a shelter through the generated form, find
 * it on the map, export the shelter CSV; then a phone-width login; then the
 * admin pages (用户管理, 审计日志) and that duty does not get them.
 *
 *   YINGJI_BIN=/work/main/build/yingji node --test --test-concurrency=1 tests/browser/
 *
 * Screenshots go to build/screenshots/ (kept for debugging).  The server is
 * killed at the end, also when a step fails.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoDatabase, runCli } from './lib.mjs';
import { freePort, launchChromium, watch, PASSWORD, loginPage } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = process.env.YINGJI_BIN || path.join(ROOT, 'build/yingji');
const SHOTS = path.join(ROOT, 'build/screenshots');
const STEP_TIMEOUT = 15000;

let tmp;
let server;
let serverLog = '';
let base;
let browser;
let logins;
let store; // the test's database (tests/store.mjs: SQLite or PostgreSQL)

/* ---- fixtures ------------------------------------------------------------ */

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

// Last resort if the test process dies without running after().
process.on('exit', () => { if (server && server.exitCode === null) server.kill('SIGKILL'); });

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yingji-browser-'));
  store = demoDatabase(tmp, runCli, PASSWORD);
  const db = store.db;
  logins = store.logins;
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(BIN, ['serve', '--db', db, '--listen', `127.0.0.1:${port}`, '--web', path.join(ROOT, 'web')],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (b) => { serverLog = (serverLog + b.toString()).slice(-20000); };
  server.stdout.on('data', keep);
  server.stderr.on('data', keep);
  await waitHealthy(`${base}/healthz`, 20000);
  browser = await launchChromium();
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

/* ---- helpers ------------------------------------------------------------- */

function account(username) {
  const a = logins.find((l) => l.username === username);
  assert.ok(a, `demo logins have no user ${username}: ${logins.map((l) => l.username).join(', ')}`);
  return { username: a.username, password: a.password || PASSWORD };
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: false });
}

async function login(page, who) {
  await loginPage(page, base, account(who), STEP_TIMEOUT);
}

/* Wait until every layer in the one-map panel has finished loading. */
async function waitLayers(page) {
  await page.locator('.layer-count').first().waitFor({ timeout: STEP_TIMEOUT });
  await page.waitForFunction(() => {
    const counts = [...document.querySelectorAll('.layer-count')];
    return counts.length > 0 && counts.every((c) => c.textContent !== '…');
  }, null, { timeout: STEP_TIMEOUT });
}

/* A valid value for a required field of the given schema type. */
function sampleValue(f, unique) {
  switch (f.type) {
    case 'int': return String(Math.max(f.min ?? 0, Math.min(f.max ?? 100, 100)));
    case 'real': return String(Math.max(f.min ?? 0, Math.min(f.max ?? 1000, 1000)));
    case 'phone': return '13800138000';
    case 'date': return '2024-06-01';
    case 'longtext': return `浏览器测试 ${unique}`;
    default: return f.name === 'name' ? unique : `测试${f.label}`;
  }
}

/* ---- tests --------------------------------------------------------------- */

test('desktop: login, one map, create a shelter, find it on the map, export CSV', async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  watch(page, problems);
  try {
    // Wrong password: the server's message is shown, no app shell.
    await page.goto(`${base}/`);
    await page.fill('#login-username', 'duty');
    await page.fill('#login-password', 'wrong-password');
    await page.click('#login-submit');
    await page.locator('.login-form .form-error:not([hidden])').waitFor({ timeout: STEP_TIMEOUT });
    assert.match(await page.locator('.login-form .form-error').innerText(), /用户名或密码错误/);

    // Repeated failures lock the account: the lock and its duration are shown.
    const victim = account('expert').username;
    await page.fill('#login-username', victim);
    let lockText = '';
    for (let i = 0; i < 8 && !/锁定/.test(lockText); i++) {
      await page.fill('#login-password', `wrong-${i}`);
      await page.click('#login-submit');
      await page.waitForFunction(() => !document.querySelector('#login-submit').disabled, null, { timeout: STEP_TIMEOUT });
      lockText = await page.locator('.login-form .form-error').innerText();
    }
    assert.match(lockText, /锁定.*\d+ 秒/, `lockout message: ${lockText}`);
    await shot(page, 'desktop-00-locked');

    await login(page, 'duty');
    await shot(page, 'desktop-01-after-login');
    assert.match(await page.locator('.app-header').innerText(), /应急管理综合应用平台/);
    assert.equal(await page.locator('.nav-disabled').count(), 5, 'five later modules shown as 建设中 (M2 监测预警 and M3 预警发布 are built)');

    // The one map: county outlines and labels, and registry layers with points.
    await page.goto(`${base}/#/map`);
    await waitLayers(page);
    const labels = await page.locator('.county-label').count();
    assert.ok(labels >= 1, `county labels drawn (${labels})`);
    const paths = await page.locator('#onemap path.leaflet-interactive').count();
    assert.ok(paths > 6, `county outlines plus registry markers drawn (${paths} paths)`);
    const markers = await page.locator('#onemap path.marker').count();
    assert.ok(markers > 0, `registry markers drawn (${markers})`);
    await shot(page, 'desktop-02-map');

    // New shelter through the generated form.
    const schema = await page.evaluate(async () => (await fetch('api/v1/schema', { credentials: 'same-origin' })).json());
    const shelter = schema.registries.find((r) => r.name === 'shelter');
    assert.ok(shelter, 'schema has shelter');
    const name = `浏览器测试避难场所${Date.now() % 100000}`;
    await page.goto(`${base}/#/reg/shelter/new`);
    await page.locator('#record-form').waitFor({ timeout: STEP_TIMEOUT });
    for (const f of shelter.fields) {
      if (!f.required) continue;
      const sel = `#f-${f.name}`;
      if (f.type === 'enum') {
        await page.selectOption(sel, { index: 1 });
      } else if (f.type === 'tags') {
        await page.locator(`${sel} input[type=checkbox]`).first().check();
      } else if (f.type === 'bool') {
        await page.locator(sel).check();
      } else if (f.type === 'ref') {
        await page.waitForFunction((s) => document.querySelector(s).options.length > 1, sel, { timeout: STEP_TIMEOUT });
        await page.selectOption(sel, { index: 1 });
      } else {
        await page.fill(sel, sampleValue(f, name));
      }
    }
    // First a value the server rejects: its message appears next to the field.
    await page.fill('#f-phone', '12345');
    await page.waitForFunction(() => document.querySelector('#f-region-county').options.length > 1, null, { timeout: STEP_TIMEOUT });
    await page.selectOption('#f-region-county', { index: 1 });
    await page.fill('#f-lat', '35.49');
    await page.fill('#f-lon', '112.85');
    await page.click('#btn-save');
    await page.locator('#err-phone:not([hidden])').waitFor({ timeout: STEP_TIMEOUT });
    await shot(page, 'desktop-03-form-error');
    await page.fill('#f-phone', '13800138000');
    await page.click('#btn-save');
    await page.waitForURL(/#\/reg\/shelter\/\d+$/, { timeout: STEP_TIMEOUT });
    await page.locator('#detail-table').waitFor({ timeout: STEP_TIMEOUT });
    assert.match(await page.locator('.page-title').innerText(), new RegExp(name));
    await page.locator('#history .data-table').waitFor({ timeout: STEP_TIMEOUT });
    await shot(page, 'desktop-04-detail');
    const id = page.url().match(/shelter\/(\d+)$/)[1];

    // On the map: search the loaded points by name, open its popup.
    await page.goto(`${base}/#/map`);
    await waitLayers(page);
    await page.fill('#map-search', name);
    await page.locator('#map-search-results button').first().click({ timeout: STEP_TIMEOUT });
    const popup = page.locator('.leaflet-popup-content');
    await popup.waitFor({ timeout: STEP_TIMEOUT });
    assert.match(await popup.innerText(), new RegExp(name));
    assert.equal(await popup.locator('a.popup-link').getAttribute('href'), `#/reg/shelter/${id}`);
    await shot(page, 'desktop-05-map-popup');

    // The list finds it; export the CSV and check BOM and content.
    await page.goto(`${base}/#/reg/shelter?q=${encodeURIComponent(name)}`);
    await page.locator('#list-table').waitFor({ timeout: STEP_TIMEOUT });
    assert.match(await page.locator('#list-table tbody').innerText(), new RegExp(name));
    await shot(page, 'desktop-06-list');
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: STEP_TIMEOUT }),
      page.click('#btn-export'),
    ]);
    const file = path.join(tmp, 'export.csv');
    await download.saveAs(file);
    const bytes = fs.readFileSync(file);
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'CSV starts with the UTF-8 BOM');
    const csv = bytes.toString('utf8');
    assert.ok(csv.includes(name), 'CSV contains the new shelter');

    // Import the exported file back: every row valid, nothing new.
    await page.setInputFiles('#import-file', file);
    await page.locator('#import-report .import-counts').waitFor({ timeout: STEP_TIMEOUT });
    assert.equal(await page.locator('#import-report .import-errors').count(), 0, 'round trip has no row errors');
    assert.equal(await page.locator('#imp-created').innerText(), '0', 'round trip creates nothing');
    await shot(page, 'desktop-07-import-ok');

    // A file with one bad row: the report lists it and nothing is written
    // until the user chooses to skip bad rows.
    const lines = csv.replace(/^\uFEFF/, '').split(/\r?\n/).filter(Boolean);
    const header = lines[0].split(',');
    const phoneCol = header.findIndex((c) => c.replace(/"/g, '') === shelter.fields.find((f) => f.name === 'phone').label);
    assert.ok(phoneCol >= 0, `export header names the phone column: ${lines[0]}`);
    const bad = lines[1].split(',');
    bad[header.findIndex((c) => c.replace(/"/g, '') === shelter.fields[0].label)] = `${name}BAD`;
    bad[phoneCol] = '12345';
    const badFile = path.join(tmp, 'bad.csv');
    fs.writeFileSync(badFile, `\uFEFF${lines[0]}\r\n${bad.join(',')}\r\n`);
    await page.setInputFiles('#import-file', badFile);
    await page.locator('#import-report .import-errors tbody tr').first().waitFor({ timeout: STEP_TIMEOUT });
    assert.ok(await page.locator('#btn-import-skip').isVisible(), 'offers to skip bad rows');
    await shot(page, 'desktop-08-import-errors');
    await page.click('#btn-import-skip');
    await page.locator('#import-report .import-ok').waitFor({ timeout: STEP_TIMEOUT });
    assert.equal(await page.locator('#imp-skipped').innerText(), '1', 'the bad row is skipped');

    assert.deepEqual(problems, [], 'no script errors in the page');
  } finally {
    await shot(page, 'desktop-99-last').catch(() => {});
    await context.close();
  }
});

test('phone width: login works and the navigation collapses to a menu button', async () => {
  const context = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  const problems = [];
  watch(page, problems);
  try {
    await login(page, 'duty');
    const menu = page.locator('#menu-btn');
    assert.ok(await menu.isVisible(), 'menu button visible at 375px');
    const navBox = await page.locator('#app-nav').boundingBox();
    assert.ok(!navBox || navBox.x + navBox.width <= 0, 'navigation hidden until the menu is opened');
    await shot(page, 'phone-01-map');
    await menu.click();
    await page.waitForFunction(() => document.querySelector('#app-nav').getBoundingClientRect().left >= 0, null, { timeout: STEP_TIMEOUT });
    await shot(page, 'phone-02-menu');
    await page.locator('#app-nav a[href="#/reg/shelter"]').click();
    await page.locator('#list-table').waitFor({ timeout: STEP_TIMEOUT });
    const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(pageWidth <= 375 + 1, `no horizontal page scroll at phone width (${pageWidth}px)`);
    await shot(page, 'phone-03-list');
    assert.deepEqual(problems, [], 'no script errors in the page');
  } finally {
    await shot(page, 'phone-99-last').catch(() => {});
    await context.close();
  }
});

test('admin: 用户管理 creates a user, 审计日志 shows it and the chain verifies; duty sees no admin pages', async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const page = await context.newPage();
  const problems = [];
  watch(page, problems);
  const username = 'zz_duty2';
  try {
    await login(page, 'admin');
    const nav = page.locator('#app-nav');
    assert.match(await nav.innerText(), /用户管理/);
    assert.match(await nav.innerText(), /审计日志/);

    // 用户管理: the table lists the demo users.
    await page.click('#nav-admin-users');
    await page.waitForURL(/#\/admin\/users$/, { timeout: STEP_TIMEOUT });
    await page.locator('#users-table tr[data-username="admin"]').waitFor({ timeout: STEP_TIMEOUT });

    // New user: 值班员 in 泽州县.
    const fillUser = async () => {
      await page.fill('#f-username', username);
      await page.fill('#f-password', 'Zz-Passw0rd-1');
      await page.selectOption('#f-role', { label: '值班员' });
      await page.waitForFunction(() => [...document.querySelector('#f-region-county').options].some((o) => o.text === '泽州县'),
        null, { timeout: STEP_TIMEOUT });
      await page.selectOption('#f-region-county', { label: '泽州县' });
      await page.fill('#f-name', '张三');
    };
    await page.click('#btn-new-user');
    await page.locator('#user-form').waitFor({ timeout: STEP_TIMEOUT });
    assert.equal(await page.locator('#f-enterprise_id').isVisible(), false, 'enterprise id hidden unless role is enterprise');
    await page.selectOption('#f-role', { label: '企业安全员' });
    assert.ok(await page.locator('#f-enterprise_id').isVisible(), 'enterprise id shown for 企业安全员');
    await fillUser();
    assert.equal(await page.locator('#f-enterprise_id').isVisible(), false, 'enterprise id hidden again for 值班员');
    await shot(page, 'admin-01-user-form');
    await page.click('#btn-save-user');
    const newRow = page.locator(`#users-table tr[data-username="${username}"]`);
    await newRow.waitFor({ timeout: STEP_TIMEOUT });
    const rowText = await newRow.innerText();
    assert.match(rowText, /张三/);
    assert.match(rowText, /值班员/);
    assert.match(rowText, /140525/);
    await shot(page, 'admin-02-user-created');

    // The same username again: the server's conflict is shown next to the field.
    await page.click('#btn-new-user');
    await fillUser();
    await page.click('#btn-save-user');
    await page.locator('#err-username:not([hidden])').waitFor({ timeout: STEP_TIMEOUT });
    assert.match(await page.locator('#err-username').innerText(), /已被使用/);
    await shot(page, 'admin-03-duplicate');

    // 审计日志: filtered to users, the newest entry is this creation.
    await page.click('#nav-admin-audit');
    await page.locator('#audit-table').waitFor({ timeout: STEP_TIMEOUT });
    assert.equal(await page.locator('#audit-table tbody tr.audit-row').count(), 50, 'first page holds 50 entries');
    assert.ok(await page.locator('#audit-next').isEnabled(), 'next page offered');
    await page.selectOption('#audit-entity', 'user');
    await page.waitForURL(/entity=user/, { timeout: STEP_TIMEOUT });
    const first = page.locator('#audit-table tbody tr.audit-row').first();
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#audit-table tbody tr.audit-row')];
      return rows.length > 0 && rows.every((r) => r.children[4].textContent === '用户');
    }, null, { timeout: STEP_TIMEOUT });
    assert.match(await first.innerText(), /新建/);
    await first.click();
    const detail = page.locator('#audit-table tbody tr.audit-detail:not([hidden])').first();
    await detail.waitFor({ timeout: STEP_TIMEOUT });
    assert.match(await detail.innerText(), new RegExp(username));
    assert.ok(await detail.locator('tr.diff-changed').count() > 0, 'changed keys highlighted');
    await shot(page, 'admin-04-audit');

    await page.click('#btn-verify');
    await page.locator('#verify-result.verify-ok').waitFor({ timeout: STEP_TIMEOUT });
    const verifyText = await page.locator('#verify-result').innerText();
    assert.match(verifyText, /审计链完整，共 \d+ 条/);
    assert.match(verifyText, /链头/);
    await shot(page, 'admin-05-verify');
    assert.deepEqual(problems, [], 'no script errors in the page');
  } finally {
    await shot(page, 'admin-99-last').catch(() => {});
    await context.close();
  }

  // Phone width: both admin pages fit without horizontal page scroll.
  const phone = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
  const ppage = await phone.newPage();
  try {
    await login(ppage, 'admin');
    for (const [hash, sel] of [['#/admin/users', '#users-table'], ['#/admin/audit', '#audit-table']]) {
      await ppage.goto(`${base}/${hash}`);
      await ppage.locator(sel).waitFor({ timeout: STEP_TIMEOUT });
      const w = await ppage.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(w <= 375 + 1, `no horizontal page scroll on ${hash} (${w}px)`);
    }
    await ppage.click('#btn-verify');
    await ppage.locator('#verify-result.verify-ok').waitFor({ timeout: STEP_TIMEOUT });
    const w = await ppage.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(w <= 375 + 1, `no horizontal page scroll with the chain head shown (${w}px)`);
    await shot(ppage, 'admin-phone-audit');
  } finally {
    await phone.close();
  }

  // duty has neither admin entry, and the pages refuse it.
  const dctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const dpage = await dctx.newPage();
  try {
    await login(dpage, 'duty');
    const navText = await dpage.locator('#app-nav').innerText();
    assert.doesNotMatch(navText, /用户管理/);
    assert.doesNotMatch(navText, /审计日志/);
    assert.equal(await dpage.locator('#app-nav a[href^="#/admin/"]').count(), 0);
    await dpage.goto(`${base}/#/admin/users`);
    await dpage.locator('.page-error').waitFor({ timeout: STEP_TIMEOUT });
    assert.match(await dpage.locator('.page-error').innerText(), /没有.*权限/);
  } finally {
    await dctx.close();
  }
});
