// 25 — kill -9 in the middle of the work (issue 11, "durability, proven by
// killing"): registry writes with requests still in flight, a city-wide
// warning publish, a burst of call-up answers, alarm actions and a KJ
// import.  Each time a second server (a node) on the file's database does
// the work and is killed with SIGKILL while requests are outstanding; the
// first server (the survivor) then shows that every write answered 2xx is
// there, nothing is half-written (a record with no audit entry, a warning
// published with part of its deliveries, an answer without its call-up
// event) and the audit chain still verifies.  A KJ import interrupted by the
// kill is taken up again by the restarted node: every reading stored once.
// The dispatch round (a send in flight) and the MQTT stream have their kill
// tests in 17 and 12.  Runs on both stores like every suite.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, renameSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  setupServer, startServe, api, validRecord, desc, cli, sleep, dbQuery, uniq, PASSWORD, CITY, ZEZHOU,
} from './harness.mjs';

const S = setupServer({ serveArgs: ['--test-hooks'] });
const ARGS = ['--test-hooks'];

// The nodes a test starts; whatever a failing test leaves running is stopped.
const nodes = new Set();
async function startNode(extra = []) {
  const n = await startServe(S.db, S.dir, [...ARGS, ...extra]);
  nodes.add(n);
  return n;
}
afterEach(async () => {
  for (const n of nodes) await n.stop();
  nodes.clear();
});
async function tickOn(base, token) {
  const r = await api(base, 'POST', '/api/v1/test/tick', { token, body: { now: 0, timers: ['monitor'] } });
  assert.equal(r.status, 200, desc(r));
}

const num = (sql) => Number(dbQuery(S.db, sql).trim());
const rows = (sql) => dbQuery(S.db, sql).trim().split('\n').filter(Boolean).map((l) => l.split('|'));

async function tokenOn(base, username) {
  const r = await api(base, 'POST', '/api/v1/login', { body: { username, password: PASSWORD } });
  assert.equal(r.status, 200, desc(r));
  return r.json.token;
}
async function kill(node) {
  node.proc.kill('SIGKILL');
  await new Promise((r) => (node.exited ? r() : node.proc.once('exit', r)));
  assert.equal(node.exited?.sig, 'SIGKILL');
}
// Run `n` loops of `step(loop, i)` until stop() says so or the server is gone
// (a request that fails at the transport level ends its loop).
function loops(n, step) {
  let stopped = false;
  const run = async (k) => {
    for (let i = 0; !stopped; i++) {
      try { await step(k, i); } catch { return; }
    }
  };
  const all = Promise.all(Array.from({ length: n }, (_, k) => run(k)));
  return { stop: () => { stopped = true; return all; }, done: all };
}
function verifyAudit() {
  const v = cli(['audit', 'verify', '--db', S.db]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
}

test('registry writes in flight at the kill: every 2xx is stored, nothing half-written', async (t) => {
  const schema = await S.schema();
  const node = await startNode();
  const token = await tokenOn(node.base, 'admin');
  const tag = uniq('KILL');
  const acked = new Map(); // id -> the record as answered
  const inFlightPatch = new Set();
  const w = loops(6, async (k, i) => {
    const body = validRecord(schema, 'shelter', { region_code: ZEZHOU });
    body.name = `${tag}-${k}-${i}`;
    const r = await api(node.base, 'POST', '/api/v1/registries/shelter', { token, body });
    if (r.status !== 201) throw new Error(desc(r));
    acked.set(r.json.id, r.json);
    inFlightPatch.add(r.json.id);
    const u = await api(node.base, 'PATCH', `/api/v1/registries/shelter/${r.json.id}`,
      { token, body: { capacity: 100 + i }, headers: { 'if-match': r.headers.get('etag') } });
    if (u.status !== 200) throw new Error(desc(u));
    acked.set(u.json.id, u.json);
    inFlightPatch.delete(r.json.id);
  });
  for (let i = 0; i < 300 && acked.size < 40; i++) await sleep(20);
  await kill(node); // the six loops each have a request outstanding
  await w.stop();
  assert.ok(acked.size >= 10, `writes were acknowledged before the kill: ${acked.size}`);
  t.diagnostic(`${acked.size} writes answered before the kill; ${inFlightPatch.size} updates unanswered`);

  const admin = await S.as('admin');
  for (const want of acked.values()) {
    const g = await S.api('GET', `/api/v1/registries/shelter/${want.id}`, { auth: admin });
    assert.equal(g.status, 200, `record ${want.id} lost: ${desc(g)}`);
    // an update sent and not answered may or may not have committed
    if (g.json.version !== want.version) {
      assert.ok(inFlightPatch.has(want.id) && g.json.version === want.version + 1, `${want.id}: v${g.json.version}, answered v${want.version}`);
    }
    if (g.json.version === want.version) assert.equal(g.json.capacity, want.capacity);
  }
  // whatever committed (answered or not) committed whole: a create and each
  // update with its audit entry
  const stored = rows(`SELECT s.id, s.version, (SELECT COUNT(*) FROM audit a WHERE a.entity = 'shelter'
    AND a.record_id = s.id) FROM shelter s WHERE s.name LIKE '${tag}-%'`);
  assert.ok(stored.length >= acked.size);
  for (const [id, version, audits] of stored) assert.equal(Number(audits), Number(version), `shelter ${id}: version ${version}, ${audits} audit entries`);
  verifyAudit();
});

// The city-wide warning of this file: drafted by the city's duty officer,
// approved by the commander; returns it approved.
async function approvedCityWarning(base, tokens) {
  let r = await api(base, 'POST', '/api/v1/warnings', { token: tokens.duty, body: {
    event_type: '暴雨', category: 'Met', level: 2, headline: uniq('暴雨橙色预警'),
    description: '预计未来6小时全市普降大暴雨。', instruction: '请做好防范，危险区域人员立即转移。',
    area: { regions: [CITY] }, expires: Date.now() + 12 * 3600000 } });
  assert.equal(r.status, 201, desc(r));
  const id = r.json.id;
  r = await api(base, 'POST', `/api/v1/warnings/${id}/submit`, { token: tokens.duty });
  assert.equal(r.status, 200, desc(r));
  r = await api(base, 'POST', `/api/v1/warnings/${id}/approve`, { token: tokens.commander });
  assert.equal(r.status, 200, desc(r));
  return r.json;
}
const deliveriesOf = (id) => num(`SELECT COUNT(*) FROM delivery WHERE warning_id = ${id}`);
const stateOf = (id) => dbQuery(S.db, `SELECT state FROM warning WHERE id = ${id}`).trim();

let published = null; // the city-wide warning published by the test below

test('a city-wide publish killed half-way: either published with every delivery or not at all; publishing again completes it', { timeout: 180_000 }, async (t) => {
  let node = await startNode();
  let tokens = { duty: await tokenOn(node.base, 'duty'), commander: await tokenOn(node.base, 'commander') };
  // a whole publish first, to know what it makes and how long it takes
  const first = await approvedCityWarning(node.base, tokens);
  const t0 = Date.now();
  let r = await api(node.base, 'POST', `/api/v1/warnings/${first.id}/publish`, { token: tokens.duty });
  const took = Date.now() - t0;
  assert.equal(r.status, 200, desc(r));
  const whole = deliveriesOf(first.id);
  assert.ok(whole > 10000, `a city-wide warning reaches the whole city: ${whole} deliveries`);
  r = await api(node.base, 'POST', `/api/v1/warnings/${first.id}/cancel`, { token: tokens.commander, body: { reason: '测试' } });
  assert.equal(r.status, 200, desc(r));

  // the same area again, killed half-way through its publish
  const w = await approvedCityWarning(node.base, tokens);
  let answered = null;
  const pub = api(node.base, 'POST', `/api/v1/warnings/${w.id}/publish`, { token: tokens.duty })
    .then((x) => { answered = x; }, () => {});
  await sleep(Math.max(1, Math.floor(took / 2)));
  await kill(node);
  await pub;
  const n = deliveriesOf(w.id);
  const state = stateOf(w.id);
  t.diagnostic(`publish took ${took} ms whole; killed at ${Math.floor(took / 2)} ms: ${state}, ${n} of ${whole} deliveries, answered ${answered?.status ?? 'no'}`);
  if (answered && answered.status === 200) assert.equal(state, 'published', 'answered 200: published');
  if (state === 'published') assert.equal(n, whole, 'published with every delivery');
  else assert.deepEqual([state, n], ['approved', 0], 'not published, and nothing of it written');
  const events = num(`SELECT COUNT(*) FROM warning_event WHERE warning_id = ${w.id} AND action = 'published'`);
  assert.equal(events, state === 'published' ? 1 : 0, 'the publish step on record exactly when it happened');

  // another node publishes it (or finds it published)
  node = await startNode();
  tokens = { duty: await tokenOn(node.base, 'duty'), commander: await tokenOn(node.base, 'commander') };
  if (state !== 'published') {
    r = await api(node.base, 'POST', `/api/v1/warnings/${w.id}/publish`, { token: tokens.duty });
    assert.equal(r.status, 200, desc(r));
  }
  assert.equal(deliveriesOf(w.id), whole);
  await node.stop();
  verifyAudit();
  published = { id: w.id, whole };
});

test('a burst of call-up answers killed mid-way: every answer acknowledged is recorded once, with its event', { timeout: 120_000 }, async (t) => {
  assert.ok(published, 'published by the test before');
  const token = 'kill-gw-' + Date.now();
  const node = await startNode(['--gateway-token', token]);
  const ids = rows(`SELECT id FROM delivery WHERE warning_id = ${published.id} AND must_ack = 1
    AND acked_at IS NULL ORDER BY id`).map(([id]) => Number(id));
  assert.ok(ids.length >= 100, `people asked to answer: ${ids.length}`);
  const acked = new Set();
  let next = 0;
  const w = loops(8, async () => {
    if (next >= ids.length) throw new Error('all sent');
    const id = ids[next++];
    const r = await api(node.base, 'POST', '/api/v1/warnings/callback', {
      headers: { authorization: `Bearer ${token}` }, body: { type: 'answer', id } });
    if (r.status !== 200) throw new Error(desc(r));
    acked.add(id);
  });
  for (let i = 0; i < 500 && acked.size < Math.min(60, ids.length / 3); i++) await sleep(10);
  await kill(node);
  await w.stop();
  assert.ok(acked.size > 0 && next < ids.length, `killed mid-burst: ${acked.size} answered of ${next} sent, ${ids.length} asked`);
  t.diagnostic(`${acked.size} answers acknowledged of ${next} sent, ${ids.length} asked`);
  const state = new Map(rows(`SELECT d.id, d.acked_via, (SELECT COUNT(*) FROM callup_event e WHERE e.delivery_id = d.id
    AND e.action = 'acked') FROM delivery d WHERE d.warning_id = ${published.id} AND d.must_ack = 1`)
    .map(([id, via, ev]) => [Number(id), { via, ev: Number(ev) }]));
  for (const id of acked) assert.equal(state.get(id).via, 'voice', `answer to ${id} answered 200 and lost`);
  for (const [id, s] of state) assert.equal(s.ev, s.via ? 1 : 0, `delivery ${id}: answered by ${s.via || 'nobody'}, ${s.ev} acked events`);
  verifyAudit();
});

test('alarm actions killed mid-burst: every acknowledged action stands, each on record once', { timeout: 120_000 }, async (t) => {
  // alarms to act on: methane readings over the threshold through a gateway
  const admin = await S.as('admin');
  let r = await S.api('POST', '/api/v1/gateways', { auth: admin, body: { name: uniq('杀进程测试网关'), region_code: CITY } });
  assert.equal(r.status, 201, desc(r));
  const key = r.json.api_key;
  const codes = rows(`SELECT code FROM sensor WHERE type = '甲烷' AND status = '正常' ORDER BY id LIMIT 80`).map(([c]) => c);
  const before = new Set(rows("SELECT id FROM alarm WHERE state <> 'closed'").map(([id]) => id));
  r = await S.api('POST', '/api/v1/readings', { headers: { 'x-api-key': key },
    body: { readings: codes.map((sensor) => ({ sensor, ts: Date.now(), value: 3.5 })) } });
  assert.equal(r.status, 200, desc(r));
  const raised = rows("SELECT id FROM alarm WHERE state = 'raised' ORDER BY id").map(([id]) => Number(id))
    .filter((id) => !before.has(String(id)));
  assert.ok(raised.length >= 40, `alarms raised: ${raised.length}`);

  const node = await startNode();
  const token = await tokenOn(node.base, 'duty');
  const done = new Map(); // alarm -> state answered
  let next = 0;
  const w = loops(6, async () => {
    if (next >= raised.length) throw new Error('all sent');
    const id = raised[next++];
    const a = await api(node.base, 'POST', `/api/v1/alarms/${id}/acknowledge`, { token, body: { note: '已通知矿调度' } });
    if (a.status !== 200) throw new Error(desc(a));
    done.set(id, a.json.state);
    const v = await api(node.base, 'POST', `/api/v1/alarms/${id}/verify`, { token, body: { note: '现场核实' } });
    if (v.status !== 200) throw new Error(desc(v));
    done.set(id, v.json.state);
  });
  for (let i = 0; i < 500 && done.size < raised.length / 3; i++) await sleep(10);
  await kill(node);
  await w.stop();
  assert.ok(done.size > 0 && next < raised.length, `killed mid-burst: ${done.size} acted on, ${next} begun of ${raised.length}`);
  t.diagnostic(`${done.size} alarms acted on, ${next} begun of ${raised.length}`);
  const order = ['raised', 'acknowledged', 'verified'];
  const now = new Map(rows(`SELECT a.id, a.state, (SELECT COUNT(*) FROM audit u WHERE u.entity = 'alarm' AND u.record_id = a.id
    AND u.action IN ('acknowledge', 'verify')), (SELECT COUNT(*) FROM alarm_event e WHERE e.alarm_id = a.id
    AND e.action IN ('acknowledged', 'verified')) FROM alarm a WHERE a.id IN (${raised.join(',')})`)
    .map(([id, st, au, ev]) => [Number(id), { st, au: Number(au), ev: Number(ev) }]));
  for (const [id, st] of done) assert.ok(order.indexOf(now.get(id).st) >= order.indexOf(st), `alarm ${id} answered ${st}, stored ${now.get(id).st}`);
  for (const [id, a] of now) {
    const steps = order.indexOf(a.st);
    assert.ok(steps >= 0, `alarm ${id} in ${a.st}`);
    assert.deepEqual([a.au, a.ev], [steps, steps], `alarm ${id} ${a.st}: ${a.au} audit entries, ${a.ev} timeline entries`);
  }
  verifyAudit();
});

test('a KJ import killed mid-way is taken up by the restarted node: every reading stored once', { timeout: 180_000 }, async (t) => {
  const admin = await S.as('admin');
  const ent = (await S.api('GET', `/api/v1/registries/enterprise?region=${ZEZHOU}&limit=1`, { auth: admin })).json.items[0];
  const mine = `14052501${String(Date.now() % 10000).padStart(4, '0')}`;
  const r = await S.api('POST', '/api/v1/registries/monitored_object', { auth: admin, body: {
    code: mine, name: '杀进程测试煤矿', kind: '煤矿', enterprise_id: ent.id, region_code: ent.region_code, lat: ent.lat, lon: ent.lon } });
  assert.equal(r.status, 201, desc(r));
  const POINTS = ['001A01', '001A02', '001A03', '001A04'];
  const FILES = 6, PER = 1500; // readings per point per file
  // within the retention (30 days): a tick's retention pass must not take them
  const base = Math.floor((Date.now() - 3 * 86400000) / 60000) * 60000;
  const stamp = (ms) => new Date(ms + 8 * 3600000).toISOString().slice(0, 19).replace('T', ' ');
  const dir = join(S.dir, 'kjkill');
  mkdirSync(dir, { recursive: true });
  for (let f = 0; f < FILES; f++) {
    const out = ['KJ;AQMC|'];
    for (const p of POINTS) out.push(`${mine};${p};测试工作面${p};甲烷;%CH4;0;4;0.8;;1.2;0.8;2026-10-01 08:00:00~`);
    out.push('‖', 'KJ;AQSS|');
    for (let i = 0; i < PER; i++) {
      const ts = stamp(base + (f * PER + i) * 10000);
      for (const p of POINTS) out.push(`${mine};${p};${ts};${(0.1 + (i % 7) * 0.05).toFixed(2)};0~`);
    }
    out.push('‖', '');
    // written aside, then moved in whole (the watcher skips .tmp files)
    const tmp = join(dir, `${mine}_${f}.txt.tmp`);
    writeFileSync(tmp, out.join('\n'));
    renameSync(tmp, join(dir, `${mine}_${f}.txt`));
  }
  const doneDir = join(dir, 'done');
  const reports = () => (existsSync(doneDir) ? readdirSync(doneDir).filter((n) => n.endsWith('.report.json')).length : 0);
  let node = await startNode(['--kj-dir', dir]);
  for (let i = 0; i < 600 && reports() < 2; i++) await sleep(20);
  await kill(node);
  const before = reports();
  assert.ok(before < FILES, `killed before the last file: ${before} of ${FILES} done`);
  t.diagnostic(`killed with ${before} of ${FILES} files done`);
  const sensors = `SELECT id FROM sensor WHERE code LIKE '${mine}-%'`;
  const count = (table) => num(`SELECT COUNT(*) FROM ${table} WHERE sensor_id IN (${sensors})`);
  // stored: in the history table or still in the reading log, once each
  const stored = () => num(`SELECT COUNT(*) FROM (SELECT sensor_id, ts FROM reading WHERE sensor_id IN (${sensors})
    UNION SELECT sensor_id, ts FROM reading_log WHERE sensor_id IN (${sensors})) u`);
  // What the dead node logged and did not merge, a live node adopts and
  // merges (here the survivor, at its next merge: a tick).
  const left = count('reading_log');
  assert.ok(left > 0, 'the killed node left readings in its log');
  const acked = stored();
  await tickOn(S.base, (await S.as('admin')).token);
  assert.equal(count('reading_log'), 0, `the dead node's ${left} logged readings adopted and merged`);
  assert.equal(count('reading'), acked, 'merged once');

  // the files it did not finish: a node watching the directory takes them up
  node = await startNode(['--kj-dir', dir]);
  for (let i = 0; i < 900 && reports() < FILES; i++) await sleep(100);
  assert.equal(reports(), FILES, 'every file ingested after the restart');
  assert.equal(num(`SELECT COUNT(*) FROM (${sensors}) s`), POINTS.length);
  const N = FILES * PER * POINTS.length;
  assert.equal(stored(), N, 'every reading of the files stored');
  // ... and merged into the history and its aggregates exactly once
  await tickOn(node.base, await tokenOn(node.base, 'admin'));
  assert.equal(count('reading_log'), 0, 'the log merged');
  assert.equal(count('reading'), N, 'each reading stored once');
  assert.equal(num(`SELECT SUM(n) FROM reading_hour WHERE sensor_id IN (${sensors})`), N, 'each reading aggregated once');
  verifyAudit();
});
