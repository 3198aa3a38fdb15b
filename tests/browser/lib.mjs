/*
 * lib.mjs — what the browser tests share: a free loopback port, Debian's
 * chromium through playwright-core, the page error watcher, and an API
 * client for fixtures (Bearer tokens of the demo logins).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { chromium } from 'playwright-core';
import { spawnSync } from 'node:child_process';

// The test's database: the demo city on SQLite or PostgreSQL (tests/store.mjs).
export { demoDatabase, STORE } from '../store.mjs';

/* Run the yingji CLI ($YINGJI_BIN): {status, stdout, stderr}. */
export function runCli(args) {
  const bin = process.env.YINGJI_BIN || new URL('../../build/yingji', import.meta.url).pathname;
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 600_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const PASSWORD = 'Test-Passw0rd!';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/* Headless chromium; extra flags after the common ones. */
export function launchChromium(extra = []) {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extra],
  });
}

/* Collect page errors and console errors so a failure says why.  "Failed
 * to load resource" is the browser's note on an expected 4xx (e.g. /me
 * before login). */
export function watch(page, problems) {
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
}

/* The API as the demo's users: client(() => base, () => logins). */
export function client(baseOf, loginsOf) {
  const tokens = new Map();
  function account(username) {
    const a = loginsOf().find((l) => l.username === username);
    assert.ok(a, `demo logins have no user ${username}`);
    return { username: a.username, password: a.password || PASSWORD };
  }
  async function api(method, p, { token, body, headers } = {}) {
    const h = { ...(headers || {}) };
    if (token) h.authorization = `Bearer ${token}`;
    if (body !== undefined) h['content-type'] = 'application/json';
    const res = await fetch(baseOf() + p, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    assert.ok(res.ok, `${method} ${p}: HTTP ${res.status} ${text}`);
    return json;
  }
  async function tokenOf(username) {
    if (!tokens.has(username)) {
      const { password } = account(username);
      const r = await api('POST', '/api/v1/login', { body: { username, password } });
      tokens.set(username, r.token);
    }
    return tokens.get(username);
  }
  return { account, api, tokenOf };
}

/* Log in through the login page as {username, password}. */
export async function loginPage(page, base, { username, password }, timeout) {
  await page.goto(`${base}/`);
  await page.locator('#login-username').waitFor({ timeout });
  await page.fill('#login-username', username);
  await page.fill('#login-password', password);
  await page.click('#login-submit');
  await page.locator('#user-name').waitFor({ timeout });
  // The shell (#user-name) is drawn before the router has handled the
  // landing page's hash change (#/map); wait for that page too, lest it
  // replace the next page the test opens or close the menu it opens.
  await page.locator('#onemap').waitFor({ state: 'attached', timeout });
}
