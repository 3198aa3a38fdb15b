// 12 — M2 monitoring: rule cases from tests/monitor/rules/*.json (readings in,
// alarms out), gateway ingest and rejects, alarm lifecycle and work orders,
// permissions (enterprise and county scope), and MQTT end to end with a real
// mosquitto, including a kill -9 of the server mid-stream.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  setupServer, startServe, freePort, sleep, REPO, ZEZHOU, GAOPING, CITY, assertError, desc, uniq,
  dbQuery, createRecord, login,
} from './harness.mjs';

// ---- a real mosquitto on a free loopback port ------------------------------------
const broker = { port: 0, proc: null, dir: null };
const serveArgs = ['--test-hooks'];
async function startBroker() {
  broker.dir = mkdtempSync(join(tmpdir(), 'yingji-mqtt-'));
  broker.port = await freePort();
  const conf = join(broker.dir, 'mosquitto.conf');
  // max_queued_messages: the persistent session must hold everything
  // published while the platform is down.
  writeFileSync(conf, `listener ${broker.port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\n`);
  broker.proc = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    const r = spawnSync('mosquitto_pub', ['-p', String(broker.port), '-t', 'probe', '-m', 'x']);
    if (r.status === 0) break;
    await sleep(100);
  }
  serveArgs.push('--mqtt', `127.0.0.1:${broker.port}`, '--mqtt-client-id', `yj-test-${broker.port}`);
  return serveArgs;
}
after(() => {
  if (broker.proc) broker.proc.kill('SIGKILL');
  if (broker.dir) rmSync(broker.dir, { recursive: true, force: true });
});

const S = setupServer({ serveArgs: startBroker });

// Rule cases run on a clock set by the test (serve --test-hooks), on days in
// the past so sensors never heard of are not yet overdue (their gap clock
// starts when the server starts).
const T0 = Date.parse('2026-01-05T08:00:00+08:00');

async function as(user) { return S.as(user); }
async function call(user, method, path, body, headers) {
  return S.api(method, path, { auth: await as(user), body, headers });
}
async function tick(now) {
  const r = await call('admin', 'POST', '/api/v1/test/tick', { now, timers: ['monitor'] });
  assert.equal(r.status, 200, desc(r));
}

let gatewayKey = null;
async function gateway() {
  if (gatewayKey) return gatewayKey;
  const r = await call('admin', 'POST', '/api/v1/gateways', { name: '测试网关', region_code: CITY });
  assert.equal(r.status, 201, desc(r));
  assert.match(r.json.api_key, /^[0-9a-f]{64}$/);
  gatewayKey = r.json.api_key;
  return gatewayKey;
}
async function post(readings, key) {
  return S.api('POST', '/api/v1/readings', { body: { readings }, headers: { 'x-api-key': key ?? await gateway() } });
}

// An enterprise in a region, its monitored object, and sensors on it.
async function enterpriseIn(region, user = 'admin') {
  const r = await call(user, 'GET', `/api/v1/registries/enterprise?region=${region}&limit=1`);
  assert.equal(r.status, 200, desc(r));
  assert.ok(r.json.items.length, `no enterprise in ${region}`);
  return r.json.items[0];
}
async function makeObject(ent, user = 'admin') {
  const r = await call(user, 'POST', '/api/v1/registries/monitored_object', {
    code: uniq('OBJ'), name: `${ent.name}监测`, kind: '煤矿', enterprise_id: ent.id,
    region_code: ent.region_code, lat: ent.lat, lon: ent.lon,
  });
  assert.equal(r.status, 201, desc(r));
  return r.json;
}
async function makeSensor(obj, type, extra = {}, user = 'admin') {
  const r = await call(user, 'POST', '/api/v1/registries/sensor', {
    code: uniq('SEN'), name: `${type}传感器`, object_id: obj.id, type,
    region_code: obj.region_code, lat: obj.lat, lon: obj.lon, ...extra,
  });
  assert.equal(r.status, 201, desc(r));
  return r.json;
}
async function alarmsOf(sensorId, user = 'admin') {
  const r = await call(user, 'GET', `/api/v1/alarms?sensor_id=${sensorId}&limit=100`);
  assert.equal(r.status, 200, desc(r));
  const out = [];
  for (const a of r.json.items.sort((x, y) => x.id - y.id)) {
    const d = await call(user, 'GET', `/api/v1/alarms/${a.id}`);
    assert.equal(d.status, 200, desc(d));
    out.push(d.json);
  }
  return out;
}

// ---- rule cases as data ------------------------------------------------------------
const RULES_DIR = join(REPO, 'tests', 'monitor', 'rules');
const cases = readdirSync(RULES_DIR).filter((f) => f.endsWith('.json')).sort();

test('rule cases cover every rule kind and the engine features', () => {
  const all = cases.map((f) => JSON.parse(readFileSync(join(RULES_DIR, f), 'utf8')));
  const kinds = new Set(all.flatMap((c) => c.expect.flat().map((a) => a.rule_kind)));
  for (const k of ['threshold', 'rate', 'sum', 'multi', 'gap']) assert.ok(kinds.has(k), `no case for ${k}`);
  const actions = new Set(all.flatMap((c) => c.expect.flat().flatMap((a) => a.actions)));
  for (const a of ['raised', 'cleared', 'folded', 'upgraded', 'escalated']) assert.ok(actions.has(a), `no case shows ${a}`);
  assert.ok(all.some((c) => c.maintenance), 'a maintenance case');
  assert.ok(all.some((c) => c.rules?.some((r) => r.params?.duration_s)), 'a duration case');
});

let caseIndex = 0;
for (const file of cases) {
  test(`rule case ${file}`, async () => {
    const c = JSON.parse(readFileSync(join(RULES_DIR, file), 'utf8'));
    // each case runs on its own day so timelines never overlap
    const base = T0 + (caseIndex++) * 86400000;
    const ent = await enterpriseIn(ZEZHOU);
    const obj = await makeObject(ent);
    const sensors = [];
    for (let i = 0; i < (c.sensors ?? 1); i++) sensors.push(await makeSensor(obj, c.sensor_type));
    for (const r of c.rules ?? []) {
      const body = { name: `${file} ${r.kind}`, kind: r.kind, params: { ...r.params }, enabled: r.enabled ?? true };
      if (r.members) body.params.sensors = r.members.map((i) => sensors[i].id);
      else body.sensor_id = sensors[r.sensor ?? 0].id;
      const res = await call('admin', 'POST', '/api/v1/rules', body);
      assert.equal(res.status, 201, desc(res));
    }
    for (const [from, to, i] of c.maintenance ?? []) {
      const res = await call('admin', 'POST', '/api/v1/maintenance', {
        sensor_id: sensors[i ?? 0].id, start: base + from * 1000, end: base + to * 1000, reason: '标校',
      });
      assert.equal(res.status, 201, desc(res));
    }
    await tick(base);
    for (const step of c.steps) {
      if (step[0] === 'tick') { await tick(base + step[1] * 1000); continue; }
      const [t, value, i] = step;
      await tick(base + t * 1000);
      const res = await post([{ sensor: sensors[i ?? 0].code, ts: base + t * 1000, value }]);
      assert.equal(res.status, 200, desc(res));
      assert.equal(res.json.accepted, 1, `${file} step ${JSON.stringify(step)}: ${desc(res)}`);
    }
    for (let i = 0; i < sensors.length; i++) {
      const got = await alarmsOf(sensors[i].id);
      const want = c.expect[i] ?? [];
      // the fields each expected alarm names (rule_kind, level, count, cond,
      // actions; optionally last_value, peak ...)
      const brief = got.map((a, k) => Object.fromEntries(Object.keys(want[k] ?? { rule_kind: 0, level: 0, count: 0, cond: 0, actions: 0 })
        .map((key) => [key, key === 'actions' ? a.timeline.map((e) => e.action) : a[key]])));
      assert.deepEqual(brief, want, `${file} sensor ${i}: ${c.about}`);
    }
  });
}

// ---- gateway ingest -----------------------------------------------------------------
test('gateway ingest: counts accepted and every reject reason, and stores rejects', async () => {
  await tick(0); // real time
  const ent = await enterpriseIn(ZEZHOU);
  const obj = await makeObject(ent);
  const s = await makeSensor(obj, '甲烷');
  assert.equal(s.unit, '%');
  assert.equal(s.enterprise_id, ent.id, 'sensor takes its object\'s enterprise');
  const now = Date.now();
  const r = await post([
    { sensor: s.code, ts: now - 20000, value: 0.2 },
    { sensor: s.code, ts: now - 10000, value: 0.3 },
    { sensor: s.code, ts: now - 10000, value: 0.3 },        // duplicate
    { sensor: 'NO-SUCH', ts: now, value: 1 },               // unknown sensor
    { sensor: s.code, ts: now - 5000, value: 250 },          // out of range
    { sensor: s.code, ts: now + 3600000, value: 0.2 },       // future
    { sensor: s.code, value: 0.2 },                          // malformed: no ts
    { sensor: s.code, ts: '2026-13-01T00:00:00Z', value: 1 }, // malformed time
  ]);
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.accepted, 2);
  assert.deepEqual(r.json.rejected, { duplicate: 1, unknown_sensor: 1, out_of_range: 1, future: 1, malformed: 2 });
  // re-delivery of the same batch is harmless: all duplicates
  const again = await post([{ sensor: s.code, ts: now - 20000, value: 0.2 }]);
  assert.deepEqual(again.json.rejected, { duplicate: 1 });
  const rej = await call('admin', 'GET', '/api/v1/readings/rejects?reason=out_of_range');
  assert.ok(rej.json.items.some((x) => x.sensor_code === s.code && x.value === 250), desc(rej));
  const bad = await call('admin', 'GET', '/api/v1/readings/rejects?reason=malformed');
  assert.ok(bad.json.items.some((x) => /ts/.test(x.detail) && x.raw && x.raw.includes(s.code)), desc(bad));
  // latest value and history
  const latest = await call('admin', 'GET', `/api/v1/sensors/latest?object_id=${obj.id}`);
  assert.equal(latest.json.items[0].value, 0.3);
  const hist = await call('admin', 'GET', `/api/v1/sensors/${s.id}/history?from=${now - 60000}&to=${now + 1000}&resolution=raw`);
  assert.equal(hist.status, 200, desc(hist));
  assert.deepEqual(hist.json.points.map((p) => p[1]), [0.2, 0.3]);
  // Readings land in the reading log first and are merged into the history
  // table later (a tick merges everything): the history reads the same
  // before and after, a repeat is still a duplicate, and an older reading
  // filling a gap is stored and aggregated once.
  await tick(0);
  assert.equal(Number(dbQuery(S.db, `SELECT COUNT(*) FROM reading_log WHERE sensor_id = ${s.id}`)), 0, 'merged by the tick');
  assert.equal(Number(dbQuery(S.db, `SELECT COUNT(*) FROM reading WHERE sensor_id = ${s.id}`)), 2);
  const merged = await call('admin', 'GET', `/api/v1/sensors/${s.id}/history?from=${now - 60000}&to=${now + 1000}&resolution=raw`);
  assert.deepEqual(merged.json.points.map((p) => p[1]), [0.2, 0.3]);
  const later = await post([{ sensor: s.code, ts: now - 10000, value: 0.3 }, { sensor: s.code, ts: now - 15000, value: 0.25 }]);
  assert.equal(later.json.accepted, 1, desc(later));
  assert.deepEqual(later.json.rejected, { duplicate: 1 });
  const both = await call('admin', 'GET', `/api/v1/sensors/${s.id}/history?from=${now - 60000}&to=${now + 1000}&resolution=raw`);
  assert.deepEqual(both.json.points.map((p) => p[1]), [0.2, 0.25, 0.3], 'log and history table read as one');
  await tick(0);
  const mins = await call('admin', 'GET', `/api/v1/sensors/${s.id}/history?from=${now - 3600000}&to=${now + 60000}&resolution=minute`);
  assert.equal(mins.status, 200, desc(mins));
  assert.equal(mins.json.points.reduce((a, p) => a + p[4], 0), 3, `each reading aggregated once: ${JSON.stringify(mins.json.points)}`);
  assert.equal(mins.json.points.reduce((a, p) => a + p[1] * p[4], 0).toFixed(2), '0.75');
});

test('gateway ingest: bad key 401, unreadable body 400 (and recorded), region-bound key', async () => {
  let r = await post([{ sensor: 'x', ts: 1, value: 1 }], 'f'.repeat(64));
  assertError(r, 401, 'unauthenticated');
  r = await S.api('POST', '/api/v1/readings', { body: '{"readings": [', headers: { 'x-api-key': await gateway() } });
  assertError(r, 400);
  const bad = await call('admin', 'GET', '/api/v1/readings/rejects?reason=malformed');
  assert.ok(bad.json.items.some((x) => x.raw === '{"readings": ['), 'unreadable payload stored');
  // a gateway of 高平 may not post for a 泽州 sensor
  const g = await call('admin', 'POST', '/api/v1/gateways', { name: '高平网关', region_code: GAOPING });
  const ent = await enterpriseIn(ZEZHOU);
  const s = await makeSensor(await makeObject(ent), '一氧化碳');
  r = await post([{ sensor: s.code, ts: Date.now(), value: 1 }], g.json.api_key);
  assert.deepEqual(r.json.rejected, { forbidden: 1 });
});

// ---- lifecycle -------------------------------------------------------------------------
async function raiseAlarm(region = ZEZHOU, type = '甲烷', value = 1.6) {
  const ent = await enterpriseIn(region);
  const obj = await makeObject(ent);
  const s = await makeSensor(obj, type);
  const r = await post([{ sensor: s.code, ts: Date.now(), value }]);
  assert.equal(r.json.accepted, 1, desc(r));
  const [a] = await alarmsOf(s.id);
  assert.ok(a, 'alarm raised');
  return { ent, obj, s, a };
}

test('alarm lifecycle: acknowledge, verify, dispose, close real (with cause and measures)', async () => {
  const { a } = await raiseAlarm();
  assert.equal(a.state, 'raised');
  assert.equal(a.level, 2);
  let r = await call('duty', 'POST', `/api/v1/alarms/${a.id}/close`, { verdict: 'real', cause: 'x', measures: 'y' });
  assertError(r, 409, 'conflict');
  r = await call('duty', 'POST', `/api/v1/alarms/${a.id}/acknowledge`, { note: '已电话通知矿调度' });
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.state, 'acknowledged');
  assert.equal(r.json.ack_by, 'duty');
  r = await call('duty', 'POST', `/api/v1/alarms/${a.id}/acknowledge`);
  assertError(r, 409, 'conflict');
  r = await call('duty', 'POST', `/api/v1/alarms/${a.id}/verify`, {}, { 'if-match': '"1"' });
  assertError(r, 412);
  r = await call('duty', 'POST', `/api/v1/alarms/${a.id}/verify`, { note: '现场核实' });
  assert.equal(r.json.state, 'verified');
  r = await call('duty', 'POST', `/api/v1/alarms/${a.id}/dispose`);
  assert.equal(r.json.state, 'disposing');
  r = await call('duty', 'POST', `/api/v1/alarms/${a.id}/close`, { verdict: 'real', cause: '采空区瓦斯涌出' });
  assertError(r, 422, 'invalid', 'measures');
  r = await call('duty', 'POST', `/api/v1/alarms/${a.id}/close`, { verdict: 'maybe' });
  assertError(r, 422, 'invalid', 'verdict');
  r = await call('duty', 'POST', `/api/v1/alarms/${a.id}/close`, { verdict: 'real', cause: '采空区瓦斯涌出', measures: '加强通风，撤出人员' });
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.state, 'closed');
  assert.equal(r.json.verdict, 'real');
  const actions = r.json.timeline.map((e) => `${e.action}:${e.actor}`);
  // raised by the gateway whose reading crossed the threshold, then people
  assert.match(actions[0], /^raised:gateway:\d+$/);
  assert.deepEqual(actions.slice(1), ['acknowledged:duty', 'verified:duty', 'disposing:duty', 'closed:duty']);
  r = await call('duty', 'POST', `/api/v1/alarms/${a.id}/nonsense`);
  assertError(r, 404);
  // audited
  const au = await call('admin', 'GET', `/api/v1/audit?entity=alarm&record_id=${a.id}`);
  assert.deepEqual(au.json.items.map((e) => e.action).sort(), ['acknowledge', 'close', 'dispose', 'raised', 'verify'], desc(au));
});

test('closing as sensor fault opens a work order: dispatched -> repaired -> restored', async () => {
  const { a } = await raiseAlarm();
  await call('duty', 'POST', `/api/v1/alarms/${a.id}/acknowledge`);
  let r = await call('duty', 'POST', `/api/v1/alarms/${a.id}/close`, { verdict: 'fault' });
  assertError(r, 422, 'invalid', 'reason');
  r = await call('duty', 'POST', `/api/v1/alarms/${a.id}/close`, { verdict: 'fault', reason: '传感器零点漂移' });
  assert.equal(r.status, 200, desc(r));
  const wo = r.json.workorder_id;
  assert.ok(wo > 0);
  let list = await call('duty', 'GET', '/api/v1/workorders?state=dispatched');
  assert.ok(list.json.items.some((w) => w.id === wo && w.fault === '传感器零点漂移'));
  r = await call('duty', 'POST', `/api/v1/workorders/${wo}/restore`);
  assertError(r, 409, 'conflict');
  r = await call('duty', 'POST', `/api/v1/workorders/${wo}/repair`);
  assertError(r, 422, 'invalid', 'note');
  r = await call('duty', 'POST', `/api/v1/workorders/${wo}/repair`, { note: '更换敏感元件并标校' });
  assert.equal(r.json.state, 'repaired');
  r = await call('duty', 'POST', `/api/v1/workorders/${wo}/restore`);
  assert.equal(r.json.state, 'restored');
});

test('a false alarm is closed with its reason; a late (补传) reading raises a late alarm that never escalates', async () => {
  const { a } = await raiseAlarm(ZEZHOU, '一氧化碳', 60);
  await call('duty', 'POST', `/api/v1/alarms/${a.id}/acknowledge`);
  let r = await call('duty', 'POST', `/api/v1/alarms/${a.id}/close`, { verdict: 'false', reason: '检修时误触' });
  assert.equal(r.json.verdict, 'false');
  assert.equal(r.json.reason, '检修时误触');

  const ent = await enterpriseIn(ZEZHOU);
  const s = await makeSensor(await makeObject(ent), '甲烷');
  r = await post([{ sensor: s.code, ts: Date.now() - 3600000, value: 1.7 }]);
  assert.equal(r.json.late, 1, desc(r));
  const [late] = await alarmsOf(s.id);
  assert.equal(late.late, true);
  await tick(Date.now() + 3 * 3600000);
  const [after3h] = await alarmsOf(s.id);
  assert.equal(after3h.escalation, 0, 'late alarms are not escalated as live');
  await tick(0);
});

// ---- permissions ----------------------------------------------------------------------
test('enterprise users see only their own sensors and alarms; county users only their county', async () => {
  const me = (await S.me('enterprise')).user;
  const ownEnt = (await call('admin', 'GET', `/api/v1/registries/enterprise/${me.enterprise_id}`)).json;
  const own = await makeObject(ownEnt);
  const ownSensor = await makeSensor(own, '甲烷');
  await post([{ sensor: ownSensor.code, ts: Date.now(), value: 1.8 }]);
  const other = await raiseAlarm(GAOPING);
  const zz = await raiseAlarm(ZEZHOU);

  const mine = await call('enterprise', 'GET', '/api/v1/alarms?limit=1000');
  assert.equal(mine.status, 200, desc(mine));
  assert.ok(mine.json.items.length > 0);
  assert.ok(mine.json.items.every((a) => a.enterprise_id === me.enterprise_id), 'only own alarms');
  let r = await call('enterprise', 'GET', `/api/v1/alarms/${other.a.id}`);
  assertError(r, 404);
  r = await call('enterprise', 'POST', `/api/v1/alarms/${other.a.id}/acknowledge`);
  assertError(r, 404);
  const latest = await call('enterprise', 'GET', '/api/v1/sensors/latest');
  assert.ok(latest.json.items.length > 0 && latest.json.items.every((x) => x.id !== other.s.id && x.id !== zz.s.id || false) && latest.json.items.some((x) => x.id === ownSensor.id));
  r = await call('enterprise', 'GET', `/api/v1/sensors/${other.s.id}/history`);
  assertError(r, [403, 404]);
  // rejects of other enterprises' sensors stay hidden from an enterprise user
  await post([{ sensor: other.s.code, ts: Date.now(), value: 999 }, { sensor: ownSensor.code, ts: Date.now(), value: 999 }]);
  const rej = await call('enterprise', 'GET', '/api/v1/readings/rejects?limit=1000');
  assert.equal(rej.status, 200, desc(rej));
  assert.ok(rej.json.items.some((x) => x.sensor_id === ownSensor.id), 'own reject visible');
  assert.ok(!rej.json.items.some((x) => x.sensor_id === other.s.id || x.sensor_code === 'NO-SUCH'));
  // the enterprise's own users get the alarm in their inbox
  const inbox = await call('enterprise', 'GET', '/api/v1/inbox');
  assert.ok(inbox.json.items.some((m) => m.group_name === '本企业'), desc(inbox));

  // county scope: 泽州 duty sees 泽州 alarms, not 高平
  const zzList = await call('duty_zezhou', 'GET', '/api/v1/alarms?limit=1000');
  assert.ok(zzList.json.items.every((a) => a.region_code.startsWith(ZEZHOU)));
  assert.ok(zzList.json.items.some((a) => a.id === zz.a.id));
  r = await call('duty_zezhou', 'GET', `/api/v1/alarms/${other.a.id}`);
  assertError(r, 404);
  r = await call('duty_zezhou', 'POST', `/api/v1/alarms/${other.a.id}/acknowledge`);
  assertError(r, 404);
  // roles without alarm rights
  r = await call('warehouse', 'GET', '/api/v1/alarms');
  assertError(r, 403);
  r = await call('commander', 'POST', `/api/v1/alarms/${zz.a.id}/acknowledge`);
  assertError(r, 403);
  r = await call('duty', 'POST', '/api/v1/rules', { name: 'x', kind: 'gap', sensor_type: '甲烷', params: { level: 'blue', minutes: 5 } });
  assertError(r, 403);
});

test('rules: validation errors name the parameter', async () => {
  let r = await call('admin', 'POST', '/api/v1/rules', { name: 'x', kind: 'threshold', sensor_type: '甲烷', params: { levels: { yellow: 2, orange: 1 } } });
  assertError(r, 422, 'invalid', 'levels');
  r = await call('admin', 'POST', '/api/v1/rules', { name: 'x', kind: 'bogus', sensor_type: '甲烷', params: {} });
  assertError(r, 422, 'invalid', 'kind');
  r = await call('admin', 'POST', '/api/v1/rules', { name: 'x', kind: 'gap', params: { level: 'blue', minutes: 5 } });
  assertError(r, 422, 'invalid', 'sensor_id');
  r = await call('admin', 'POST', '/api/v1/rules', { name: 'x', kind: 'sum', sensor_type: '雨量', params: { levels: { red: { window_s: 10, sum: 5 } } } });
  assertError(r, 422, 'invalid', 'levels');
  const list = await call('admin', 'GET', '/api/v1/rules');
  assert.ok(list.json.defaults.some((d) => d.sensor_type === '甲烷' && d.kind === 'threshold' && d.params.levels.yellow === 1));
});

test('a type rule applies inside its own region only; the most specific region wins', async () => {
  const QINSHUI = '140521';
  const zz = await makeSensor(await makeObject(await enterpriseIn(ZEZHOU)), '温度');
  const qs = await makeSensor(await makeObject(await enterpriseIn(QINSHUI)), '温度');
  // the city lowers the temperature threshold to 15 °C; 沁水 sets its own at 50 °C
  let r = await call('admin', 'POST', '/api/v1/rules', { name: '全市温度', kind: 'threshold', sensor_type: '温度', params: { levels: { yellow: 15 } } });
  assert.equal(r.status, 201, desc(r));
  const cityRule = r.json;
  assert.equal(cityRule.region_code, CITY);
  r = await call('supervisor_qinshui', 'POST', '/api/v1/rules', { name: '沁水温度', kind: 'threshold', sensor_type: '温度', params: { levels: { yellow: 50 } } });
  assert.equal(r.status, 201, desc(r));
  const countyRule = r.json;
  assert.equal(countyRule.region_code, QINSHUI);
  try {
    const now = Date.now();
    r = await post([{ sensor: zz.code, ts: now, value: 20 }, { sensor: qs.code, ts: now, value: 20 }]);
    assert.equal(r.json.accepted, 2, desc(r));
    const zzAlarms = await alarmsOf(zz.id);
    assert.equal(zzAlarms.length, 1, '泽州: the city rule (15 °C) applies');
    assert.equal(zzAlarms[0].level, 3);
    assert.equal(zzAlarms[0].rule_key, `r${cityRule.id}`);
    assert.equal((await alarmsOf(qs.id)).length, 0, '沁水: its own rule (50 °C) wins over the city\'s');
    // the county's rule never reaches another county, even switched off
    const off = { name: '沁水温度', kind: 'threshold', sensor_type: '温度', enabled: false, params: { levels: { yellow: 50 } } };
    assertError(await call('supervisor_qinshui', 'PUT', `/api/v1/rules/${countyRule.id}`, off), 428, 'if_match_required');
    r = await call('supervisor_qinshui', 'PUT', `/api/v1/rules/${countyRule.id}`, off, { 'if-match': `"${countyRule.version}"` });
    assert.equal(r.status, 200, desc(r));
    assert.equal(r.json.version, countyRule.version + 1);
    assert.equal(r.headers.get('etag'), `"${countyRule.version + 1}"`);
    // a second replace from the version read before is refused: nothing overwritten
    assertError(await call('supervisor_qinshui', 'PUT', `/api/v1/rules/${countyRule.id}`, { ...off, enabled: true }, { 'if-match': `"${countyRule.version}"` }), 412, 'stale_version');
    countyRule.version = r.json.version;
    const zz2 = await makeSensor(await makeObject(await enterpriseIn(ZEZHOU)), '温度');
    r = await post([{ sensor: zz2.code, ts: now, value: 20 }]);
    assert.equal((await alarmsOf(zz2.id)).length, 1, 'a disabled 沁水 rule does not switch 泽州 off');
    // and 沁水's supervisor cannot touch the city's rule
    r = await call('supervisor_qinshui', 'DELETE', `/api/v1/rules/${cityRule.id}`, undefined, { 'if-match': `"${cityRule.version}"` });
    assertError(r, 404);
  } finally {
    assertError(await call('admin', 'DELETE', `/api/v1/rules/${countyRule.id}`, undefined, { 'if-match': '"1"' }), 412, 'stale_version');
    assert.equal((await call('admin', 'DELETE', `/api/v1/rules/${countyRule.id}`, undefined, { 'if-match': `"${countyRule.version}"` })).status, 200);
    assert.equal((await call('admin', 'DELETE', `/api/v1/rules/${cityRule.id}`, undefined, { 'if-match': `"${cityRule.version}"` })).status, 200);
  }
});

test('recipient groups: bound to region x level x rule kind x industry; members must be inside the region', async () => {
  const ents = (await call('admin', 'GET', `/api/v1/registries/enterprise?region=${ZEZHOU}&limit=200`)).json.items;
  const entX = ents[0];
  const entY = ents.find((e) => e.industry !== entX.industry);
  assert.ok(entY, 'two industries in 泽州');
  const name = uniq('泽州行业监管组');
  // a 泽州 regulator in no other group (a person gets one message per alarm event)
  const username = uniq('zz_regulator');
  let r = await call('admin', 'POST', '/api/v1/users', { username, password: 'Group-Passw0rd!', role: 'supervisor', region_code: ZEZHOU, name: '泽州监管员' });
  assert.equal(r.status, 201, desc(r));
  const member = await login(S, username, 'Group-Passw0rd!');
  r = await call('admin', 'POST', '/api/v1/alarm-groups', { name, region_code: ZEZHOU, min_level: 2, kinds: 'threshold', industries: entX.industry, members: ['duty_gaoping'] });
  assertError(r, 422, 'invalid', 'members'); // 高平's officer cannot sit in a 泽州 group
  r = await call('duty_zezhou', 'POST', '/api/v1/alarm-groups', { name, region_code: ZEZHOU, min_level: 2, members: [username] });
  assertError(r, 403); // groups are rule configuration
  r = await call('admin', 'POST', '/api/v1/alarm-groups', { name, region_code: ZEZHOU, min_level: 2, kinds: 'threshold', industries: entX.industry, members: [username] });
  assert.equal(r.status, 201, desc(r));
  const sx = await makeSensor(await makeObject(entX), '甲烷');
  const sy = await makeSensor(await makeObject(entY), '甲烷');
  const inboxOf = async (alarmId) => (await S.api('GET', '/api/v1/inbox?limit=500', { auth: member })).json.items
    .filter((m) => m.alarm_id === alarmId && m.group_name === name);
  const now = Date.now();
  await post([{ sensor: sx.code, ts: now - 2000, value: 1.2 }, { sensor: sy.code, ts: now - 2000, value: 1.6 }]);
  const [ax] = await alarmsOf(sx.id);
  const [ay] = await alarmsOf(sy.id);
  assert.equal(ax.level, 3);
  assert.equal((await inboxOf(ax.id)).length, 0, 'yellow is below the group\'s orange');
  assert.equal(ay.level, 2);
  assert.equal((await inboxOf(ay.id)).length, 0, 'another industry');
  await post([{ sensor: sx.code, ts: now - 1000, value: 1.6 }]); // upgraded to orange
  const got = await inboxOf(ax.id);
  assert.equal(got.length, 1, 'orange of the group\'s industry reaches its member');
  assert.match(got[0].reason, /.+/);
  const groups = await call('admin', 'GET', '/api/v1/alarm-groups');
  assert.equal(groups.status, 200, desc(groups));
  const mine = (groups.json.items ?? groups.json).find((g) => g.name === name);
  assert.ok(mine, desc(groups));
  assert.equal(mine.min_level, 2);
  assert.deepEqual(mine.members, [username]);
  assert.equal(mine.member_count, 1);
  // who is in a group is for those who configure alarm routing: a duty
  // officer sees the group and how many, not the usernames; an enterprise
  // sees no group at all
  const dg = (await call('duty_zezhou', 'GET', '/api/v1/alarm-groups')).json.items.find((g) => g.name === name);
  assert.ok(dg && dg.member_count === 1 && dg.members === undefined, JSON.stringify(dg));
  const eg = await call('enterprise', 'GET', '/api/v1/alarm-groups');
  assert.equal(eg.status, 200, desc(eg));
  assert.equal(eg.json.items.length, 0, 'no group is an enterprise\'s');
});

test('retention: raw readings older than 30 days go at the retention pass; aggregates stay (minute ones 180 days)', async () => {
  const s = await makeSensor(await makeObject(await enterpriseIn(ZEZHOU)), '温度');
  const day = 86400000;
  const now = Date.now();
  const r = await post([200, 40, 10].map((d, i) => ({ sensor: s.code, ts: now - d * day, value: 20 + i })));
  assert.equal(r.json.accepted, 3, desc(r));
  await tick(0); // merges the log, then runs a whole retention pass
  const n = (sql) => Number(dbQuery(S.db, sql));
  assert.equal(n(`SELECT COUNT(*) FROM reading WHERE sensor_id = ${s.id}`), 1, 'only the 10-day-old reading is kept raw');
  assert.equal(n(`SELECT CAST(value AS INTEGER) FROM reading WHERE sensor_id = ${s.id}`), 22);
  assert.equal(n(`SELECT COUNT(*) FROM reading_min WHERE sensor_id = ${s.id}`), 2, 'minute aggregates: 180 days');
  assert.equal(n(`SELECT COUNT(*) FROM reading_hour WHERE sensor_id = ${s.id}`), 3, 'hour aggregates: kept');
  const h = await call('admin', 'GET', `/api/v1/sensors/${s.id}/history?from=${now - 60 * day}&to=${now}&resolution=raw`);
  assert.equal(h.status, 200, desc(h));
  assert.deepEqual(h.json.points.map((p) => p[1]), [22]);
});

// ---- MQTT end to end -----------------------------------------------------------------------
function publish(topic, lines) {
  const r = spawnSync('mosquitto_pub', ['-p', String(broker.port), '-q', '1', '-t', topic, '-l'], { input: lines.join('\n') + '\n', encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, r.stderr);
}

async function waitFor(fn, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) return v;
    await sleep(100);
  }
}

test('MQTT: a published exceedance shows up as an alarm over the API and the SSE stream', async () => {
  const ent = await enterpriseIn(ZEZHOU);
  const obj = await makeObject(ent);
  const s = await makeSensor(obj, '甲烷');
  const ctl = new AbortController();
  const listen = async (user) => {
    const auth = await as(user);
    const got = [];
    const done = fetch(`${S.base}/api/v1/events`, { headers: { authorization: `Bearer ${auth.token}` }, signal: ctl.signal })
      .then(async (res) => {
        const dec = new TextDecoder();
        for await (const chunk of res.body) got.push(dec.decode(chunk));
      }).catch(() => {});
    return { got, done };
  };
  const duty = await listen('duty');
  const warehouse = await listen('warehouse'); // city-wide, but no alarm rights
  const events = duty.got;
  await sleep(300);
  const now = Date.now();
  publish(`yingji/v1/${ZEZHOU}/${obj.code}/${s.code}`, [JSON.stringify({ ts: now - 1000, value: 0.4 }), JSON.stringify({ ts: now, value: 1.55 })]);
  const alarms = await waitFor(async () => { const a = await alarmsOf(s.id); return a.length ? a : null; });
  assert.ok(alarms, 'alarm raised from MQTT');
  assert.equal(alarms[0].level, 2);
  const seen = await waitFor(async () => events.join('').includes(`"id":${alarms[0].id}`), 5000);
  // a record event every role may read (a shelter) still reaches the warehouse keeper's stream
  const { rec: sh } = await createRecord(S, await as('admin'), 'shelter');
  const shelterSeen = await waitFor(async () => warehouse.got.join('').includes(`"id":${sh.id}`), 5000);
  ctl.abort();
  await duty.done;
  await warehouse.done;
  assert.ok(seen, `SSE carried the alarm: ${events.join('').slice(-500)}`);
  assert.ok(shelterSeen, `the warehouse stream is live: ${warehouse.got.join('').slice(-300)}`);
  assert.doesNotMatch(warehouse.got.join(''), /event: alarm/, 'no alarm events to a role without alarm rights');
  // a malformed MQTT payload is recorded, not dropped
  publish(`yingji/v1/${ZEZHOU}/${obj.code}/${s.code}`, ['not json at all']);
  const rej = await waitFor(async () => (await call('admin', 'GET', '/api/v1/readings/rejects?reason=malformed')).json.items.find((x) => x.raw === 'not json at all'));
  assert.ok(rej, 'malformed MQTT payload stored as a reject');
  assert.match(rej.origin, /^mqtt:yingji\/v1\//);
});

test('MQTT: kill -9 of the server mid-stream loses nothing acknowledged and double-counts nothing', async () => {
  const ent = await enterpriseIn(ZEZHOU);
  const obj = await makeObject(ent);
  const s = await makeSensor(obj, '温度');
  const N = 3000;
  const start = Date.now() - N * 100;
  const lines = [];
  for (let i = 0; i < N; i++) lines.push(JSON.stringify({ sensor: s.code, ts: start + i * 100, value: 20 + (i % 5) }));
  const topic = `yingji/v1/${ZEZHOU}/${obj.code}`;
  // publish the first half, kill the server while it is consuming, publish the rest while it is down
  publish(topic, lines.slice(0, N / 2));
  await sleep(50);
  S.server.proc.kill('SIGKILL');
  await new Promise((res) => (S.server.exited ? res() : S.server.proc.once('exit', res)));
  publish(topic, lines.slice(N / 2));
  // the same redelivered message counts once: republish a slice that was surely stored
  publish(topic, lines.slice(0, 10));
  S.server = await startServe(S.db, S.dir, serveArgs);
  S.base = S.server.base;
  S.sessions.clear();
  // Everything reaches the reading log (what the killed server had logged
  // is read back at start) ...
  const count = (sql) => Number(dbQuery(S.db, sql).trim());
  const inBoth = `SELECT COUNT(*) FROM (SELECT ts FROM reading WHERE sensor_id = ${s.id}`
    + ` UNION SELECT ts FROM reading_log WHERE sensor_id = ${s.id}) u`;
  const stored = await waitFor(() => (count(inBoth) >= N ? true : null), 60000);
  assert.ok(stored);
  // ... and is merged into the history table once: a tick merges the log
  await tick(0);
  assert.equal(count(`SELECT COUNT(*) FROM reading_log WHERE sensor_id = ${s.id}`), 0, 'log merged');
  const n = count(`SELECT COUNT(*) FROM reading WHERE sensor_id = ${s.id}`);
  assert.equal(n, N, `stored ${n} of ${N} published (nothing lost, nothing doubled)`);
  const distinct = count(`SELECT COUNT(DISTINCT ts) FROM reading WHERE sensor_id = ${s.id}`);
  assert.equal(distinct, N);
  const agg = count(`SELECT SUM(n) FROM reading_hour WHERE sensor_id = ${s.id}`);
  assert.equal(agg, N, 'each reading aggregated exactly once');
});

test('risk map: GeoJSON of sensors with state, alarms and resources in a bbox; bad bbox refused', async () => {
  const { obj, s, a } = await raiseAlarm();
  const bbox = [obj.lon - 0.01, obj.lat - 0.01, obj.lon + 0.01, obj.lat + 0.01].join(',');
  const r = await call('duty', 'GET', `/api/v1/map?bbox=${bbox}`);
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.type, 'FeatureCollection');
  const f = r.json.features.find((x) => x.properties.layer === 'alarm' && x.properties.id === s.id);
  assert.ok(f, 'alarmed sensor on the map');
  assert.equal(f.properties.state, 'orange');
  assert.equal(f.properties.alarm_id, a.id);
  const only = await call('duty', 'GET', `/api/v1/map?bbox=${bbox}&layers=objects`);
  assert.ok(only.json.features.every((x) => x.properties.layer === 'objects'));
  for (const b of ['1,2,3', '10,10,5,5', 'a,b,c,d', '0,0,200,10']) {
    const e = await call('duty', 'GET', `/api/v1/map?bbox=${b}`);
    assertError(e, 422, 'invalid', 'bbox');
  }
});

test('device health: online rate and handling times per county and per owner', async () => {
  const day = new Date(Date.now() + 8 * 3600000).toISOString().slice(0, 10);
  // an alarm in 高平, acknowledged, then closed
  const ent = await enterpriseIn(GAOPING);
  const s = await makeSensor(await makeObject(ent), '甲烷');
  await post([{ sensor: s.code, ts: Date.now(), value: 1.2 }]);
  const [a] = await alarmsOf(s.id);
  let x = await call('duty', 'POST', `/api/v1/alarms/${a.id}/acknowledge`, { note: '已通知' });
  assert.equal(x.status, 200, desc(x));
  x = await call('duty', 'POST', `/api/v1/alarms/${a.id}/close`, { verdict: 'false', reason: '标校' }, { 'if-match': `"${x.json.version}"` });
  assert.equal(x.status, 200, desc(x));
  await tick(0);
  const r = await call('duty', 'GET', `/api/v1/monitor/health?day=${day}`);
  assert.equal(r.status, 200, desc(r));
  const gp = r.json.groups.find((g) => g.group === GAOPING);
  assert.ok(gp && gp.sensors > 0 && gp.alarms > 0, desc(r));
  assert.ok(gp.online_rate > 0 && gp.online_rate <= 1, 'the sensor that reported today counts as online');
  assert.ok(gp.mean_ack_s >= 0 && gp.mean_close_s >= gp.mean_ack_s, JSON.stringify(gp));
  const e = await call('duty', 'GET', '/api/v1/monitor/health?day=yesterday');
  assertError(e, 422, 'invalid', 'day');
  assertError(await call('duty', 'GET', `/api/v1/monitor/health?day=${day}&group_by=weather`), 422, 'invalid', 'group_by');
  // per owner: the enterprise's row
  const byEnt = await call('duty', 'GET', `/api/v1/monitor/health?day=${day}&group_by=enterprise`);
  assert.equal(byEnt.status, 200, desc(byEnt));
  const row = byEnt.json.groups.find((g) => g.group === ent.name);
  assert.ok(row && row.sensors >= 1 && row.alarms >= 1, desc(byEnt));
  assert.ok(row.mean_ack_s >= 0 && row.mean_close_s >= row.mean_ack_s, JSON.stringify(row));
  // a county officer sees only their county; an enterprise user only its own row
  const zz = await call('duty_zezhou', 'GET', `/api/v1/monitor/health?day=${day}`);
  assert.deepEqual(zz.json.groups.map((g) => g.group), [ZEZHOU], desc(zz));
  const own = await call('enterprise', 'GET', `/api/v1/monitor/health?day=${day}&group_by=enterprise`);
  assert.equal(own.status, 200, desc(own));
  const me = await S.me('enterprise');
  const myName = (await call('admin', 'GET', `/api/v1/registries/enterprise/${me.user.enterprise_id}`)).json.name;
  assert.ok(own.json.groups.every((g) => g.group === myName), desc(own));
});
