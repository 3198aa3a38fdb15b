// 10 — an acknowledged write survives kill -9 of the server (SPEC §7).
//
// A second server on the same database takes a burst of creates and updates;
// it is killed with SIGKILL right after the last 2xx.  Every write it
// acknowledged must then be visible through the first server, and the audit
// chain must still verify.  (This catches answering before commit, e.g. a
// write queue; power loss is covered by synchronous=FULL, not tested here.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setupServer, startServe, api, validRecord, desc, cli, sleep } from './harness.mjs';

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
