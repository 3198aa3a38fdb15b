// 10 — an acknowledged write survives kill -9 of the server (SPEC §7).
//
// A second server on the same database takes a burst of creates and updates;
// it is killed with SIGKILL right after the last 2xx.  Every write it
// acknowledged must then be visible through the first server, and the audit
// chain must still verify.  (This catches answering before commit, e.g. a
// write queue; power loss is covered by synchronous=FULL, not tested here.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setupServer, startServe, api, validRecord, desc, cli, sleep, dbQuery } from './harness.mjs';

const S = setupServer();

test('writes answered 2xx survive SIGKILL', async () => {
  const schema = await S.schema();
  const victim = await startServe(S.db, S.dir);
  const login = await api(victim.base, 'POST', '/api/v1/login', { body: { username: 'admin', password: 'Test-Passw0rd!' } });
  assert.equal(login.status, 200, desc(login));
  const token = login.json.token;
  const acked = [];
  for (let i = 0; i < 20; i++) {
    const rec = validRecord(schema, 'shelter', { region_code: '140525' });
    const r = await api(victim.base, 'POST', '/api/v1/registries/shelter', { token, body: rec });
    assert.equal(r.status, 201, desc(r));
    let cur = r.json;
    if (i % 2 === 0) { // and an update, also acknowledged
      const u = await api(victim.base, 'PATCH', `/api/v1/registries/shelter/${cur.id}`, {
        token, body: { capacity: 1000 + i }, headers: { 'if-match': r.headers.get('etag') },
      });
      assert.equal(u.status, 200, desc(u));
      cur = u.json;
    }
    acked.push(cur);
  }
  victim.proc.kill('SIGKILL');
  for (let i = 0; i < 50 && !victim.exited; i++) await sleep(100);
  assert.equal(victim.exited?.sig, 'SIGKILL');

  const admin = await S.as('admin');
  for (const want of acked) {
    const g = await S.api('GET', `/api/v1/registries/shelter/${want.id}`, { auth: admin });
    assert.equal(g.status, 200, `record ${want.id} lost: ${desc(g)}`);
    assert.equal(g.json.version, want.version);
    assert.equal(g.json.capacity, want.capacity);
    assert.equal(g.json.name, want.name);
  }
  const v = cli(['audit', 'verify', '--db', S.db]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
});

// The chain alone cannot show its newest entries being cut off; a head
// recorded earlier (printed by verify) can.
test('audit verify --head detects a truncated log', async () => {

  const v1 = cli(['audit', 'verify', '--db', S.db]);
  assert.equal(v1.status, 0, v1.stdout + v1.stderr);
  const head = /head (\d+:[0-9a-f]{64})/.exec(v1.stdout)?.[1];
  assert.ok(head, `verify prints the head: ${v1.stdout}`);
  assert.equal(cli(['audit', 'verify', '--db', S.db, '--head', head]).status, 0);
  const admin = await S.as('admin');
  const api1 = await S.api('GET', `/api/v1/audit/verify?head=${head}`, { auth: admin });
  assert.equal(api1.json.ok, true);

  dbQuery(S.db, 'DELETE FROM audit WHERE id = (SELECT MAX(id) FROM audit);');
  assert.equal(cli(['audit', 'verify', '--db', S.db]).status, 0, 'the shortened chain is still a valid chain');
  const cut = cli(['audit', 'verify', '--db', S.db, '--head', head]);
  assert.notEqual(cut.status, 0);
  assert.match(cut.stdout, new RegExp(`entry ${head.split(':')[0]}.*cut short`));
  const api2 = await S.api('GET', `/api/v1/audit/verify?head=${head}`, { auth: admin });
  assert.equal(api2.json.ok, false);
  assert.equal(api2.json.first_bad_id, Number(head.split(':')[0]));
  assertBadHead(await S.api('GET', '/api/v1/audit/verify?head=nonsense', { auth: admin }));
});

function assertBadHead(r) {
  assert.equal(r.status, 422, desc(r));
  assert.equal(r.json.error.field, 'head');
}
