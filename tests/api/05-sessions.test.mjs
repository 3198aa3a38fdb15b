// 05 — sessions: bearer, cookie + CSRF, logout, expiry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  setupServer, startServe, api, validRecord, assertError, desc, count, sleep, PASSWORD, cli, crashReport,
} from './harness.mjs';

const S = setupServer();
const SH = '/api/v1/registries/shelter';

test('no session → 401 on every protected route', async () => {
  for (const [m, p] of [['GET', '/api/v1/me'], ['GET', SH], ['GET', `${SH}/1`], ['POST', SH], ['GET', '/api/v1/schema'],
    ['GET', '/api/v1/users'], ['GET', '/api/v1/audit'], ['GET', '/api/v1/regions'], ['GET', '/api/v1/events'],
    ['POST', '/api/v1/registries/shelter/import'], ['GET', '/api/v1/registries/shelter/export.csv']]) {
    const r = await S.api(m, p, m === 'POST' ? { body: {} } : {});
    assertError(r, 401, 'unauthenticated');
  }
});

test('forged, malformed and foreign tokens → 401', async () => {
  for (const token of [randomBytes(32).toString('hex'), 'abc', 'x'.repeat(64), "' OR 1=1 --", '0'.repeat(64)]) {
    assertError(await S.api('GET', '/api/v1/me', { token }), 401, 'unauthenticated');
    assertError(await S.api('GET', '/api/v1/me', { cookie: `yj_session=${encodeURIComponent(token)}` }), 401, 'unauthenticated');
  }
  // the csrf value is not a session token
  const s = await S.login('commander');
  assertError(await S.api('GET', '/api/v1/me', { token: s.csrf }), 401, 'unauthenticated');
  // wrong auth scheme
  assertError(await S.api('GET', '/api/v1/me', { headers: { authorization: `Basic ${s.token}` } }), 401, 'unauthenticated');
});

test('login: response shape, cookie attributes, bad credentials', async () => {
  const s = await S.login('duty');
  assert.match(s.setCookie, /yj_session=[0-9a-f]{64}/);
  assert.match(s.setCookie, /HttpOnly/i);
  assert.match(s.setCookie, /SameSite=Strict/i);
  assert.match(s.setCookie, /Path=\//i);
  assert.equal(s.user.username, 'duty');
  assert.ok(!('password' in s.user) && !('password_hash' in s.user), 'no password in user');
  assertError(await S.api('POST', '/api/v1/login', { body: { username: 'duty', password: 'wrong-password' } }), 401, 'unauthenticated');
  assertError(await S.api('POST', '/api/v1/login', { body: { username: 'nobody-here', password: PASSWORD } }), 401, 'unauthenticated');
  assertError(await S.api('POST', '/api/v1/login', { body: { username: 'duty' } }), [400, 401, 422]);
  assertError(await S.api('POST', '/api/v1/login', { body: '{"username":', headers: { 'content-type': 'application/json' } }), 400, 'malformed');
});

test('Bearer token works', async () => {
  const s = await S.login('duty');
  const r = await S.api('GET', '/api/v1/me', { token: s.token });
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.user.username, 'duty');
  assert.equal(r.json.csrf, s.csrf);
});

test('cookie auth works for GET; cookie POST needs X-CSRF-Token', async () => {
  const s = await S.login('duty');
  const schema = await S.schema();
  const g = await S.api('GET', SH, { cookie: s.cookie });
  assert.equal(g.status, 200, desc(g));

  const before = await count(S, 'shelter');
  const body = validRecord(schema, 'shelter');
  const noCsrf = await S.api('POST', SH, { cookie: s.cookie, body });
  assertError(noCsrf, 403, 'forbidden');
  const wrongCsrf = await S.api('POST', SH, { cookie: s.cookie, csrf: randomBytes(32).toString('hex'), body });
  assertError(wrongCsrf, 403, 'forbidden');
  const otherCsrf = await S.api('POST', SH, { cookie: s.cookie, csrf: (await S.login('duty')).csrf, body });
  assertError(otherCsrf, 403, 'forbidden');
  assert.equal(await count(S, 'shelter'), before, 'nothing written without CSRF');

  const ok = await S.api('POST', SH, { cookie: s.cookie, csrf: s.csrf, body });
  assert.equal(ok.status, 201, desc(ok));
  assert.equal(await count(S, 'shelter'), before + 1);

  // PATCH and DELETE via cookie need it too
  const path = `${SH}/${ok.json.id}`;
  const etag = ok.headers.get('etag');
  assertError(await S.api('PATCH', path, { cookie: s.cookie, body: { capacity: 5 }, headers: { 'if-match': etag } }), 403, 'forbidden');
  assertError(await S.api('DELETE', path, { cookie: s.cookie, headers: { 'if-match': etag } }), 403, 'forbidden');
  assert.equal((await S.api('GET', path, { cookie: s.cookie })).json.version, ok.json.version);
  // logout via cookie needs it as well
  assertError(await S.api('POST', '/api/v1/logout', { cookie: s.cookie }), 403, 'forbidden');
  assert.equal((await S.api('GET', '/api/v1/me', { cookie: s.cookie })).status, 200, 'still logged in');
});

test('logout → 204 and the old token is 401', async () => {
  const s = await S.login('commander');
  assert.equal((await S.api('GET', '/api/v1/me', { token: s.token })).status, 200);
  const r = await S.api('POST', '/api/v1/logout', { token: s.token });
  assert.equal(r.status, 204, desc(r));
  assertError(await S.api('GET', '/api/v1/me', { token: s.token }), 401, 'unauthenticated');
  assertError(await S.api('GET', '/api/v1/me', { cookie: s.cookie }), 401, 'unauthenticated');
  // another session of the same user is unaffected
  const s2 = await S.login('commander');
  const s3 = await S.login('commander');
  await S.api('POST', '/api/v1/logout', { token: s2.token });
  assert.equal((await S.api('GET', '/api/v1/me', { token: s3.token })).status, 200);
});

test('session expiry with --session-ttl 2', async () => {
  const srv = await startServe(S.db, S.dir, ['--session-ttl', '2']);
  try {
    const r = await api(srv.base, 'POST', '/api/v1/login', { body: { username: 'inspector', password: PASSWORD } });
    assert.equal(r.status, 200, desc(r));
    const token = r.json.token;
    assert.equal((await api(srv.base, 'GET', '/api/v1/me', { token })).status, 200);
    await sleep(3000);
    assertError(await api(srv.base, 'GET', '/api/v1/me', { token }), 401, 'unauthenticated');
  } finally {
    await srv.stop();
  }
  assert.equal(crashReport(srv.stderrFile), '', 'second server ran clean');
});

// throttling of failed logins: 21-limits

test('CLI user add / passwd / list', async () => {
  const a = cli(['user', 'add', '--db', S.db, '--username', 'cli_user', '--password', 'Cli-Passw0rd!', '--role', 'duty', '--region', '140525', '--name', '命令行用户']);
  if (a.status !== 0) {
    // positional form
    const b = cli(['user', 'add', 'cli_user', '--db', S.db, '--password', 'Cli-Passw0rd!', '--role', 'duty', '--region', '140525', '--name', '命令行用户']);
    assert.equal(b.status, 0, `user add: ${a.stderr}\n${b.stderr}`);
  }
  const l = cli(['user', 'list', '--db', S.db]);
  assert.equal(l.status, 0, l.stderr);
  assert.match(l.stdout, /cli_user/);
  const r = await S.api('POST', '/api/v1/login', { body: { username: 'cli_user', password: 'Cli-Passw0rd!' } });
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.user.region_code, '140525');
  assert.equal(r.json.user.role, 'duty');
  // passwd changes the password and ends the user's sessions
  const p = cli(['user', 'passwd', 'cli_user', '--db', S.db, '--password', 'New-Passw0rd!']);
  assert.equal(p.status, 0, p.stderr);
  assertError(await S.api('GET', '/api/v1/me', { token: r.json.token }), 401, 'unauthenticated');
  assertError(await S.api('POST', '/api/v1/login', { body: { username: 'cli_user', password: 'Cli-Passw0rd!' } }), 401, 'unauthenticated');
  assert.equal((await S.api('POST', '/api/v1/login', { body: { username: 'cli_user', password: 'New-Passw0rd!' } })).status, 200);
});

test('users API (admin): create, list, validation', async () => {
  const admin = await S.as('admin');
  const body = { username: 'api_user1', password: 'Api-Passw0rd!', role: 'supervisor', region_code: '140581', name: '接口用户' };
  const c = await S.api('POST', '/api/v1/users', { auth: admin, body });
  assert.equal(c.status, 201, desc(c));
  assert.ok(!JSON.stringify(c.json).includes('Api-Passw0rd!'), 'no password echoed');
  const l = await S.api('GET', '/api/v1/users', { auth: admin });
  assert.equal(l.status, 200, desc(l));
  const items = l.json.items ?? l.json;
  assert.ok(items.some((u) => u.username === 'api_user1'));
  assert.ok(!/argon2|password/i.test(JSON.stringify(items)), 'no password hashes in the user list');
  const li = await S.api('POST', '/api/v1/login', { body: { username: 'api_user1', password: 'Api-Passw0rd!' } });
  assert.equal(li.status, 200, desc(li));
  assert.equal(li.json.user.region_code, '140581');
  assertError(await S.api('POST', '/api/v1/users', { auth: admin, body }), 409, 'conflict');
  assertError(await S.api('POST', '/api/v1/users', { auth: admin, body: { ...body, username: 'api_user2', password: 'short' } }), 422, 'invalid', 'password');
  assertError(await S.api('POST', '/api/v1/users', { auth: admin, body: { ...body, username: 'api_user3', role: 'emperor' } }), 422, 'invalid', 'role');
  assertError(await S.api('POST', '/api/v1/users', { auth: admin, body: { ...body, username: 'api_user4', region_code: '999999' } }), 422, 'invalid', 'region_code');
  assertError(await S.api('POST', '/api/v1/users', { auth: admin, body: { ...body, username: 'api_user5', extra: 1 } }), 422, 'invalid', 'extra');
});
