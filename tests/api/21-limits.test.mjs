// 21 — login throttling and connection limits.  Throttling follows the
// source (an address, a name from an address), never an account alone: a
// guesser somewhere cannot keep the real user out, unknown names are
// answered like known ones, and a flood can neither exhaust memory nor take
// the server from everyone.  Requests come from different loopback
// addresses (127.0.0.x) to be different sources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { setupServer, startServe, assertError, desc, PASSWORD, REPO, rawRequest, sleep } from './harness.mjs';

const S = setupServer();

function loginFrom(addr, username, password, base = S.base) {
  return rawRequest(base, 'POST', '/api/v1/login', {
    localAddress: addr,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
}

test('a name guessed at from one address waits there; the real user elsewhere gets in', async () => {
  for (let i = 0; i < 5; i++) assertError(await loginFrom('127.0.0.3', 'commander', `wrong-${i}`), 401, 'unauthenticated');
  const r = await loginFrom('127.0.0.3', 'commander', PASSWORD);
  assertError(r, 429, 'locked');
  const ra = r.headers['retry-after'];
  assert.match(ra ?? '', /^\d+$/, `Retry-After ${ra}`);
  assert.ok(Number(ra) >= 1 && Number(ra) <= 30, `Retry-After ${ra} within the first 30 s`);
  // the commander at their own desk is not locked out by the guesser
  const ok = await loginFrom('127.0.0.1', 'commander', PASSWORD);
  assert.equal(ok.status, 200, desc(ok));
  // and a success from the guessing address is not what clears it: still waiting there
  assertError(await loginFrom('127.0.0.3', 'commander', PASSWORD), 429, 'locked');
});

test('unknown names are answered exactly like known ones, and throttled at the same point', async () => {
  const timed = async (addr, name) => {
    const t0 = performance.now();
    const r = await loginFrom(addr, name, 'not-the-password');
    return { r, ms: performance.now() - t0 };
  };
  const known = [], unknown = [];
  for (let i = 0; i < 5; i++) {
    known.push(await timed('127.0.0.5', 'duty'));
    unknown.push(await timed('127.0.0.6', 'nobody-here'));
  }
  for (const { r } of [...known, ...unknown]) assertError(r, 401, 'unauthenticated');
  assert.deepEqual(new Set([...known, ...unknown].map(({ r }) => r.text)).size, 1, 'one and the same answer body');
  // no shortcut for an unknown name: it costs a password check too (a
  // shortcut would answer in ~1% of the time; half is a wide margin)
  const median = (xs) => xs.map((x) => x.ms).sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  assert.ok(median(unknown) >= 0.5 * median(known), `unknown ${median(unknown)} ms vs known ${median(known)} ms`);
  // the sixth: both wait, with the same answer
  const k6 = await loginFrom('127.0.0.5', 'duty', PASSWORD), u6 = await loginFrom('127.0.0.6', 'nobody-here', PASSWORD);
  assertError(k6, 429, 'locked');
  assertError(u6, 429, 'locked');
});

test('an address trying many names waits, for every name; other addresses do not', async () => {
  for (let i = 0; i < 20; i++) assertError(await loginFrom('127.0.0.7', `guess-${i}`, 'x'), 401, 'unauthenticated');
  const r = await loginFrom('127.0.0.7', 'warehouse', PASSWORD);
  assertError(r, 429, 'locked');
  assert.ok(Number(r.headers['retry-after']) > 30, 'the address waits a minute at first');
  const ok = await loginFrom('127.0.0.8', 'warehouse', PASSWORD);
  assert.equal(ok.status, 200, desc(ok));
});

test('16 concurrent guesses from one address: exactly 5 passwords are checked', async () => {
  const rs = await Promise.all(Array.from({ length: 16 }, (_, i) => loginFrom('127.0.0.9', 'supervisor', `wrong-${i}`)));
  const by = (s) => rs.filter((r) => r.status === s).length;
  assert.equal(by(401), 5, rs.map((r) => r.status).join(','));
  assert.equal(by(429), 11, rs.map((r) => r.status).join(','));
});

test('logout revokes the session, and says so only when it has', async () => {
  const l = await loginFrom('127.0.0.1', 'expert', PASSWORD);
  assert.equal(l.status, 200, desc(l));
  const token = l.json.token;
  const me = await S.api('GET', '/api/v1/me', { token });
  assert.equal(me.status, 200);
  const out = await S.api('POST', '/api/v1/logout', { token });
  assert.equal(out.status, 204, desc(out));
  assertError(await S.api('GET', '/api/v1/me', { token }), 401, 'unauthenticated');
  // the login and the logout are in the audit log, with the address
  const au = await S.api('GET', '/api/v1/audit?entity=session', { auth: await S.as('admin') });
  const mine = au.json.items.filter((e) => e.actor === 'expert');
  assert.ok(mine.some((e) => e.action === 'login' && e.after.address === '127.0.0.1'), desc(au));
  assert.ok(mine.some((e) => e.action === 'logout'), desc(au));
});

test('2,000 idle connections from one address do not take the server from anyone else', async () => {
  const url = new URL(S.base);
  const socks = [];
  await Promise.all(Array.from({ length: 2000 }, () => new Promise((res) => {
    const s = net.connect({ host: url.hostname, port: Number(url.port), localAddress: '127.0.0.2' });
    s.on('connect', res);
    s.on('error', res);
    s.on('close', res);
    socks.push(s);
  })));
  try {
    // from another address, everything still answers
    const h = await rawRequest(S.base, 'GET', '/healthz', { localAddress: '127.0.0.1' });
    assert.equal(h.status, 200, desc(h));
    const l = await loginFrom('127.0.0.1', 'inspector', PASSWORD);
    assert.equal(l.status, 200, desc(l));
    const pub = await rawRequest(S.base, 'GET', '/api/v1/public/warnings', { localAddress: '127.0.0.1' });
    assert.equal(pub.status, 200, desc(pub));
    // and the idle ones from 127.0.0.2 were refused past the per-address limit
    const open = socks.filter((s) => !s.destroyed && s.readyState === 'open').length;
    assert.ok(open <= 128, `${open} idle connections held open from one address`);
  } finally {
    for (const s of socks) s.destroy();
  }
});

test('a flood of 8 concurrent bad logins keeps memory bounded and /healthz answering (release build)', async () => {
  const bin = join(REPO, 'build', 'yingji');
  assert.ok(existsSync(bin), 'the release build exists (make build)');
  const srv = await startServe(S.db, S.dir, ['--test-hooks'], { bin });
  const status = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${srv.proc.pid}/status`, 'utf8'))[1]) / 1024;
  try {
    // one login first: the password check's first run allocates what it keeps
    assert.equal((await loginFrom('127.0.0.1', 'admin', PASSWORD, srv.base)).status, 200);
    const base = status('VmRSS');
    let healthy = 0;
    const flood = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; i < 8; i++) {
        const r = await loginFrom(`127.0.1.${w + 1}`, `flood-${w}-${i}`, 'wrong-password', srv.base);
        assert.ok([401, 503].includes(r.status), desc(r));
      }
    });
    const probe = (async () => {
      for (let i = 0; i < 10; i++) {
        const h = await rawRequest(srv.base, 'GET', '/healthz', { localAddress: '127.0.0.1' });
        healthy += h.status === 200;
        await sleep(100);
      }
    })();
    await Promise.all([...flood, probe]);
    assert.equal(healthy, 10, '/healthz answered all through the flood');
    const peak = status('VmHWM');
    // each check takes 64 MiB; two at a time is 128 MiB: unbounded, eight would be 512
    assert.ok(peak - base < 200, `peak ${peak.toFixed(0)} MiB from ${base.toFixed(0)} MiB`);
  } finally {
    await srv.stop();
  }
});
