// 07 — audit log: every write audited, hash chain verified by CLI and API,
// tampering detected and located.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setupServer, createRecord, assertError, desc, cli, dbQuery, writable } from './harness.mjs';

const S = setupServer();
let tracked; // {rec, etag}

// Tamper with the audit table as someone with access to the database would.
const tamper = (sql) => dbQuery(S.db, sql);

test('every write is audited with actor, before and after', async () => {
  const admin = await S.as('admin');
  const schema = await S.schema();
  const { rec, etag } = await createRecord(S, admin, 'shelter');
  const path = `/api/v1/registries/shelter/${rec.id}`;
  const body = writable(schema, 'shelter', rec);
  body.capacity = 777;
  const u = await S.api('PUT', path, { auth: admin, body, headers: { 'if-match': etag } });
  assert.equal(u.status, 200, desc(u));
  const duty = await S.as('duty');
  const u2 = await S.api('PATCH', path, { auth: duty, body: { capacity: 778 }, headers: { 'if-match': u.headers.get('etag') } });
  assert.equal(u2.status, 200, desc(u2));

  const a = await S.api('GET', `/api/v1/audit?entity=shelter&record_id=${rec.id}`, { auth: admin });
  assert.equal(a.status, 200, desc(a));
  const items = a.json.items;
  assert.equal(items.length, 3, `create + 2 updates: ${JSON.stringify(items)}`);
  const byAction = (re) => items.filter((i) => re.test(i.action));
  assert.equal(byAction(/create|insert/i).length, 1);
  assert.equal(byAction(/update|patch/i).length, 2);
  const actors = items.map((i) => i.actor).sort();
  assert.deepEqual(actors, ['admin', 'admin', 'duty']);
  const last = items.find((i) => i.actor === 'duty');
  const before = typeof last.before === 'string' ? JSON.parse(last.before) : last.before;
  const after = typeof last.after === 'string' ? JSON.parse(last.after) : last.after;
  assert.equal(before.capacity, 777);
  assert.equal(after.capacity, 778);
  for (const i of items) {
    assert.ok(i.ts, 'ts');
    assert.equal(i.entity, 'shelter');
    assert.equal(Number(i.record_id), rec.id);
  }
  tracked = { rec: u2.json, etag: u2.headers.get('etag') };

  // delete audited too
  const d = await S.api('DELETE', path, { auth: admin, headers: { 'if-match': tracked.etag } });
  assert.equal(d.status, 204, desc(d));
  const a2 = await S.api('GET', `/api/v1/audit?entity=shelter&record_id=${rec.id}`, { auth: admin });
  assert.equal(a2.json.items.length, 4);
  assert.ok(a2.json.items.some((i) => /delete/i.test(i.action)));

  // user creation and login activity are not silently unaudited: user add is audited
  const nu = await S.api('POST', '/api/v1/users', { auth: admin, body: { username: 'audited_user', password: 'Aud1t-Passw0rd', role: 'duty', region_code: '140525', name: '审计用户' } });
  assert.equal(nu.status, 201, desc(nu));
  const au = await S.api('GET', '/api/v1/audit?limit=20', { auth: admin });
  assert.ok(au.json.items.some((i) => JSON.stringify(i).includes('audited_user')), 'user creation audited');
  assert.ok(!JSON.stringify(au.json).includes('Aud1t-Passw0rd'), 'password never in the audit log');
});

test('audit list paging', async () => {
  const admin = await S.as('admin');
  const p1 = await S.api('GET', '/api/v1/audit?limit=2', { auth: admin });
  assert.equal(p1.status, 200, desc(p1));
  assert.equal(p1.json.items.length, 2);
  const p2 = await S.api('GET', '/api/v1/audit?limit=2&offset=2', { auth: admin });
  assert.equal(p2.json.items.length, 2);
  const ids1 = p1.json.items.map((i) => i.id), ids2 = p2.json.items.map((i) => i.id);
  assert.ok(!ids1.some((i) => ids2.includes(i)), 'pages do not overlap');
});

test('intact chain: CLI verify exits 0, API ok', async () => {
  const v = cli(['audit', 'verify', '--db', S.db]);
  assert.equal(v.status, 0, `audit verify: ${v.stdout}\n${v.stderr.slice(-2000)}`);
  const r = await S.api('GET', '/api/v1/audit/verify', { auth: await S.as('admin') });
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.ok, true, desc(r));
  const n = Number(dbQuery(S.db, 'SELECT count(*) FROM audit;').trim());
  assert.equal(r.json.entries, n, 'entries = rows in audit');
});

test('tampered after column: CLI verify fails naming the entry, API reports it', async () => {
  const ids = dbQuery(S.db, 'SELECT id FROM audit ORDER BY id;').trim().split('\n').map(Number);
  assert.ok(ids.length > 10, `demo + tests produced audit entries (${ids.length})`);
  // tamper with an entry in the middle: a changed capacity
  const victim = Number(dbQuery(S.db, `SELECT id FROM audit WHERE entity='shelter' AND record_id=${tracked.rec.id} AND after LIKE '%777%' ORDER BY id LIMIT 1;`).trim());
  assert.ok(victim > 0, 'found the entry to tamper with');
  const orig = dbQuery(S.db, `SELECT after FROM audit WHERE id=${victim};`).trim();
  tamper(`DROP TABLE IF EXISTS audit_orig; CREATE TABLE audit_orig AS SELECT after FROM audit WHERE id=${victim};`);
  tamper(`UPDATE audit SET after = replace(after, '777', '999') WHERE id=${victim};`);
  assert.notEqual(dbQuery(S.db, `SELECT after FROM audit WHERE id=${victim};`).trim(), orig);

  const v = cli(['audit', 'verify', '--db', S.db]);
  assert.notEqual(v.status, 0, `verify must fail: ${v.stdout}`);
  assert.ok(new RegExp(`\\b${victim}\\b`).test(v.stdout + v.stderr), `output names entry ${victim}: ${v.stdout}\n${v.stderr.slice(-1000)}`);

  const r = await S.api('GET', '/api/v1/audit/verify', { auth: await S.as('admin') });
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.ok, false, desc(r));
  assert.equal(r.json.first_bad_id, victim);
  assert.ok(r.json.reason, 'reason');

  // restore → intact again
  tamper(`UPDATE audit SET after = (SELECT after FROM audit_orig) WHERE id=${victim}; DROP TABLE audit_orig;`);
  assert.equal(cli(['audit', 'verify', '--db', S.db]).status, 0, 'restored chain verifies');
});

test('deleted entry and edited hash are detected', async () => {
  const ids = dbQuery(S.db, 'SELECT id FROM audit ORDER BY id;').trim().split('\n').map(Number);
  const mid = ids[Math.floor(ids.length / 2)];
  tamper(`DROP TABLE IF EXISTS audit_bak; CREATE TABLE audit_bak AS SELECT * FROM audit WHERE id=${mid}; DELETE FROM audit WHERE id=${mid};`);
  const v = cli(['audit', 'verify', '--db', S.db]);
  assert.notEqual(v.status, 0, 'deletion detected');
  const r = await S.api('GET', '/api/v1/audit/verify', { auth: await S.as('admin') });
  assert.equal(r.json.ok, false);
  const next = ids[ids.indexOf(mid) + 1];
  assert.equal(r.json.first_bad_id, next, 'first bad is the entry after the gap');
  tamper('INSERT INTO audit SELECT * FROM audit_bak; DROP TABLE audit_bak;');
  assert.equal(cli(['audit', 'verify', '--db', S.db]).status, 0, 'restored');

  // rewriting the last entry's actor and recomputing nothing → detected
  const lastId = ids.at(-1);
  tamper(`UPDATE audit SET actor='nobody' WHERE id=${lastId};`);
  const r2 = await S.api('GET', '/api/v1/audit/verify', { auth: await S.as('admin') });
  assert.equal(r2.json.ok, false);
  assert.equal(r2.json.first_bad_id, lastId);
});

test('audit endpoints are admin-only', async () => {
  for (const role of ['duty', 'commander', 'supervisor', 'enterprise']) {
    assertError(await S.api('GET', '/api/v1/audit/verify', { auth: await S.as(role) }), 403, 'forbidden');
  }
});

// The audit log is region-scoped like every other read: a county admin sees
// only entries about records of its county; the city admin sees them all.
test('audit log is scoped to the reader\'s region', async () => {
  const admin = await S.as('admin');
  await createRecord(S, admin, 'shelter', { region_code: '140525' });
  await createRecord(S, admin, 'shelter', { region_code: '140581' });
  const mk = await S.api('POST', '/api/v1/users', {
    auth: admin,
    body: { username: 'admin_zezhou', password: 'Zezhou-Passw0rd', role: 'admin', region_code: '140525', name: '泽州管理员' },
  });
  assert.equal(mk.status, 201, desc(mk));
  const county = await S.login('admin_zezhou', 'Zezhou-Passw0rd');
  const all = await S.api('GET', '/api/v1/audit?limit=1000', { auth: admin });
  assert.equal(all.status, 200, desc(all));
  assert.ok(all.json.items.some((e) => (e.region_code ?? '').startsWith('140581')), 'city admin sees 高平 entries');
  const mine = await S.api('GET', '/api/v1/audit?limit=1000', { auth: county });
  assert.equal(mine.status, 200, desc(mine));
  assert.ok(mine.json.items.length > 0, 'county admin sees its own county');
  for (const e of mine.json.items) {
    assert.ok((e.region_code ?? '').startsWith('140525'), `entry ${e.id} of region ${e.region_code} leaked to 泽州`);
  }
});

test('audit list rejects bad limit, offset and record_id', async () => {
  const admin = await S.as('admin');
  for (const [q, field] of [['limit=0', 'limit'], ['limit=1001', 'limit'], ['limit=abc', 'limit'],
    ['offset=-1', 'offset'], ['offset=1e3', 'offset'], ['record_id=abc', 'record_id'],
    ['record_id=1%20OR%201=1', 'record_id']]) {
    assertError(await S.api('GET', `/api/v1/audit?${q}`, { auth: admin }), 422, 'invalid', field);
  }
  const ok = await S.api('GET', '/api/v1/audit?limit=5&offset=0', { auth: admin });
  assert.equal(ok.status, 200, desc(ok));
  assert.equal(ok.json.items.length, 5);
});
