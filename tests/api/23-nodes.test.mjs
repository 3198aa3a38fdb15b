// Several `yingji serve` nodes on one database (on PostgreSQL the
// province deployment; on SQLite several processes on one file): a login on
// one is valid on the other, login throttling holds across them, a node's
// name is its own while it lives, timers run on one node at a time and
// move when it dies, and what a dead node was sending is retried by
// another, recorded as interrupted and resent.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { setupServer, startServe, api, dbQuery, sleep, BIN, REPO, freePort, STORE, createRecord } from './harness.mjs';

// a: the per-file server, its timers driven by the test (no scheduler of its own)
const S = setupServer({ serveArgs: ['--node', 'a', '--test-hooks'] });
let B = null;
after(async () => { if (B) await B.stop(); });

const login = async (base, username, password = 'Test-Passw0rd!') =>
  api(base, 'POST', '/api/v1/login', { body: { username, password } });

test('a login on one node is valid on the other; the name of a live node is not taken twice', async () => {
  B = await startServe(S.db, S.dir, ['--node', 'b']);
  const r = await login(S.base, 'duty');
  assert.equal(r.status, 200, r.text);
  const me = await api(B.base, 'GET', '/api/v1/me', { token: r.json.token });
  assert.equal(me.status, 200, me.text);
  assert.equal(me.json.user.username, 'duty');
  // logged out on B: gone on A too
  assert.equal((await api(B.base, 'POST', '/api/v1/logout', { token: r.json.token })).status < 300, true);
  assert.equal((await api(S.base, 'GET', '/api/v1/me', { token: r.json.token })).status, 401);

  // a third process calling itself "a" while a lives refuses to start
  const port = await freePort();
  const dup = spawnSync(BIN, ['serve', '--db', S.db, '--listen', `127.0.0.1:${port}`, '--node', 'a'],
    { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  assert.notEqual(dup.status, 0, 'refused');
  assert.match(dup.stderr, /node a is running already/, dup.stderr.slice(-2000));
});

// Read one stream of live events until pred(event) or the timeout.
async function firstEvent(base, token, pred, timeoutMs = 8000) {
  const ac = new AbortController();
  const res = await fetch(`${base}/api/v1/events`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: ac.signal });
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return null;
      let timer;
      const chunk = await Promise.race([reader.read(), new Promise((r) => { timer = setTimeout(() => r({ timeout: true }), left); })]);
      clearTimeout(timer);
      if (chunk.timeout || chunk.done) return null;
      buf += dec.decode(chunk.value, { stream: true });
      let k;
      while ((k = buf.search(/\r?\n\r?\n/)) >= 0) {
        const block = buf.slice(0, k);
        buf = buf.slice(k).replace(/^\r?\n\r?\n/, '');
        const ev = { event: 'message', data: '' };
        for (const line of block.split(/\r?\n/)) {
          if (line.startsWith('event:')) ev.event = line.slice(6).trim();
          else if (line.startsWith('data:')) ev.data += line.slice(5).trim();
        }
        try { ev.json = JSON.parse(ev.data); } catch { /* a comment or ping */ }
        if (pred(ev)) return ev;
      }
    }
  } finally {
    ac.abort();
  }
}

test('an event raised on one node reaches the event streams of the other', { skip: STORE === 'sqlite' && 'SQLite is one node: events cross nodes by PostgreSQL NOTIFY' }, async () => {
  const onB = (await login(B.base, 'duty')).json.token;
  const admin = await S.as('admin');
  // the stream on b is open before the change on a
  const waiting = firstEvent(B.base, onB, (e) => e.event === 'record' && e.json?.registry === 'shelter' && e.json?.action === 'create');
  await sleep(300);
  const { rec } = await createRecord(S, admin, 'shelter', { name: '跨节点事件' });
  const ev = await waiting;
  assert.ok(ev, 'the record event made on node a arrived on node b');
  assert.equal(ev.json.id, rec.id);
});

test('login throttling counts failures on every node', async () => {
  // the account+address limit (5 by default): failures alternate between the nodes
  const user = 'expert';
  let blocked = null;
  for (let i = 0; i < 8 && !blocked; i++) {
    const r = await login(i % 2 ? B.base : S.base, user, 'wrong-Passw0rd!');
    if (r.status === 429) blocked = { i, r };
    else assert.equal(r.status, 401, r.text);
  }
  assert.ok(blocked, 'blocked after failures spread over both nodes');
  assert.ok(blocked.i <= 5, `blocked at attempt ${blocked.i + 1}`);
  // and the right password is refused on either node while it waits
  assert.equal((await login(S.base, user)).status, 429);
  assert.equal((await login(B.base, user)).status, 429);
});

test('what a dead node was sending is retried by a live one, recorded as interrupted', { timeout: 60_000 }, async () => {
  // node "ghost" (no process holds its name) died sending one message; node a (alive) is sending another
  const ins = (node, address) => dbQuery(S.db, "INSERT INTO outbox (module, channel, address, ref_type, ref_id, payload, state, created_at, node)"
    + ` VALUES ('warning', 'sms', '${address}', 'test', 1, '{}', 'sending', 1, '${node}')`);
  ins('ghost', '13800000001');
  ins('a', '13800000002');
  // b runs its timers: its orphan pass (every 2 s) finds ghost's
  const rows = () => dbQuery(S.db, "SELECT address, state, resend_of IS NOT NULL FROM outbox WHERE ref_type = 'test' ORDER BY id").trim().split('\n');
  let r = rows();
  for (let i = 0; i < 100 && !r.some((x) => x.startsWith('13800000001|interrupted')); i++) { await sleep(100); r = rows(); }
  assert.ok(r.some((x) => /^13800000001\|interrupted\|(f|0)$/.test(x)), r.join('\n'));
  assert.ok(r.some((x) => /^13800000001\|queued\|(t|1)$/.test(x)), `queued again as a resend: ${r.join('\n')}`);
  await sleep(2500); // another pass or two: nothing more
  r = rows();
  assert.equal(r.filter((x) => x.startsWith('13800000001|')).length, 2, `one resend, not two: ${r.join('\n')}`);
  assert.ok(r.some((x) => x.startsWith('13800000002|sending|')), `a live node's message is left alone: ${r.join('\n')}`);
  const adm = (await login(B.base, 'admin')).json.token;
  const au = await api(B.base, 'GET', '/api/v1/audit?entity=outbox', { token: adm });
  assert.ok(au.json.items.some((e) => e.action === 'interrupted' && e.actor === 'node:b' && JSON.stringify(e.after).includes('ghost')),
    JSON.stringify(au.json.items));
  dbQuery(S.db, "DELETE FROM outbox WHERE ref_type = 'test'");
});

test('a timer runs on one node at a time, and moves to another when its node dies', { timeout: 120_000 }, async () => {
  // b and c run their schedulers (a's timers are the test's)
  const C = await startServe(S.db, S.dir, ['--node', 'c']);
  try {
    const holder = () => dbQuery(S.db, "SELECT holder FROM sched_lease WHERE timer = 'warning.dispatch' AND until_ms > 0").trim();
    let h = '';
    for (let i = 0; i < 100 && !['b', 'c'].includes(h); i++) { await sleep(100); h = holder(); }
    assert.ok(['b', 'c'].includes(h), `one of the running nodes holds the lease: "${h}"`);
    // it stays with its holder while it lives
    await sleep(2500);
    assert.equal(holder(), h, 'the lease does not wander between live nodes');
    // kill -9 the holder: the other takes over within the period and the grace
    const [dead, alive] = h === 'b' ? [B, C] : [C, B];
    dead.proc.kill('SIGKILL');
    await new Promise((r) => (dead.exited ? r() : dead.proc.once('exit', r)));
    let next = '';
    for (let i = 0; i < 150 && next !== (h === 'b' ? 'c' : 'b'); i++) { await sleep(100); next = holder(); }
    assert.equal(next, h === 'b' ? 'c' : 'b', 'taken over by the live node');
    assert.equal((await fetch(`${alive.base}/healthz`)).status, 200);
  } finally {
    await C.stop();
  }
});
