// 26 — ingest shared among nodes (serve --mqtt-partitions): each county's
// readings (topic yingji/v1/<county>/#) are taken by one node at a time;
// the nodes share the counties; when a node dies its counties move to the
// others with their sensors' rule state rebuilt from the store (an alarm
// its old holder raised is cleared by the new one), and what was published
// while nobody held the county waits in the county's MQTT session: nothing
// lost, nothing stored twice.  A real mosquitto; runs on both stores.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setupServer, startServe, api, freePort, sleep, dbQuery, desc, uniq, PASSWORD, ZEZHOU } from './harness.mjs';

const broker = { port: 0, proc: null, dir: null };
async function startBroker() {
  broker.dir = mkdtempSync(join(tmpdir(), 'yingji-part-'));
  broker.port = await freePort();
  const conf = join(broker.dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${broker.port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\n`);
  broker.proc = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    if (spawnSync('mosquitto_pub', ['-p', String(broker.port), '-t', 'probe', '-m', 'x']).status === 0) break;
    await sleep(100);
  }
  return ['--test-hooks'];
}
const nodes = [];
after(async () => {
  for (const n of nodes) await n.stop();
  if (broker.proc) broker.proc.kill('SIGKILL');
  if (broker.dir) rmSync(broker.dir, { recursive: true, force: true });
});

const S = setupServer({ serveArgs: startBroker });
const rows = (sql) => dbQuery(S.db, sql).trim().split('\n').filter(Boolean).map((l) => l.split('|'));
const num = (sql) => Number(dbQuery(S.db, sql).trim());
function publish(topic, lines) {
  const r = spawnSync('mosquitto_pub', ['-p', String(broker.port), '-q', '1', '-t', topic, '-l'], { input: lines.join('\n') + '\n', encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, r.stderr);
}
async function until(fn, what, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
// county -> holder, for the leases held now
const holders = () => new Map(rows(`SELECT county, holder FROM ingest_lease WHERE until_ms > ${Date.now()}`));
const node = async () => {
  const n = await startServe(S.db, S.dir, ['--test-hooks', '--mqtt', `127.0.0.1:${broker.port}`, '--mqtt-partitions',
    '--mqtt-client-id', `yj-part-${broker.port}`, '--node', `n${nodes.length}`]);
  nodes.push(n);
  return n;
};
async function metric(n, name) {
  const t = await (await fetch(`${n.base}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(t)?.[1]);
}

test('--mqtt-partitions needs --mqtt, takes no topic of its own and a reachable --node-address', async () => {
  await assert.rejects(startServe(S.db, S.dir, ['--mqtt-partitions']), /--mqtt-partitions needs --mqtt/);
  await assert.rejects(startServe(S.db, S.dir, ['--mqtt', `127.0.0.1:${broker.port}`, '--mqtt-partitions', '--mqtt-topic', 'x/#']), /no --mqtt-topic/);
  // other nodes must be able to reach it: a wildcard or portless address is refused
  for (const bad of ['0.0.0.0:8080', 'node-a', '']) {
    await assert.rejects(startServe(S.db, S.dir, ['--mqtt', `127.0.0.1:${broker.port}`, '--mqtt-partitions', '--node-address', bad]),
      /--node-address wants the HOST:PORT/, bad);
  }
});

test('the nodes share the counties; a dead node\'s counties move with their alarms; nothing published meanwhile is lost or doubled', { timeout: 180_000 }, async () => {
  // a mine of 泽州 with a methane and a temperature sensor, registered before
  // the nodes start (under --test-hooks they load the registry at start)
  const admin = await S.as('admin');
  const post = async (reg, body) => {
    const r = await S.api('POST', `/api/v1/registries/${reg}`, { auth: admin, body });
    assert.equal(r.status, 201, desc(r));
    return r.json;
  };
  const ent = (await S.api('GET', `/api/v1/registries/enterprise?region=${ZEZHOU}&limit=1`, { auth: admin })).json.items[0];
  const mine = await post('monitored_object', { code: uniq('OBJ'), name: '分区测试煤矿', kind: '煤矿', enterprise_id: ent.id,
    region_code: ent.region_code, lat: ent.lat, lon: ent.lon });
  const sensor = (type) => post('sensor', { code: uniq('SEN'), name: `${type}传感器`, object_id: mine.id, type,
    region_code: mine.region_code, lat: mine.lat, lon: mine.lon });
  const ch4 = (await sensor('甲烷')).code;
  const temp = (await sensor('温度')).code;
  const obj = mine.code;

  const a = await node();
  const b = await node();
  const total = await until(() => num('SELECT COUNT(*) FROM ingest_lease') || null, 'the counties\' leases');
  assert.ok(total >= 2, `counties with monitored objects: ${total}`);
  // both hold their share, every county is held by one of them
  const shared = await until(() => {
    const h = holders();
    const by = new Set(h.values());
    return h.size === total && by.has('n0') && by.has('n1') ? h : null;
  }, 'the counties shared');
  const share = Math.ceil(total / 2);
  for (const n of ['n0', 'n1']) assert.ok([...shared.values()].filter((x) => x === n).length <= share, `${n} holds at most its share`);

  const topic = `yingji/v1/${ZEZHOU}/${obj}`;
  const holder = shared.get(ZEZHOU);
  const [dying, survivor] = holder === 'n0' ? [a, b] : [b, a];
  const t0 = Date.now() - 400000;
  // a gateway posts an exceedance to the other node: handed to the county's
  // holder, which evaluates it and raises the alarm
  let r = await S.api('POST', '/api/v1/gateways', { auth: admin, body: { name: uniq('分区网关'), region_code: ZEZHOU } });
  assert.equal(r.status, 201, desc(r));
  const key = r.json.api_key;
  r = await api(survivor.base, 'POST', '/api/v1/readings', { headers: { 'x-api-key': key },
    body: { readings: [{ sensor: ch4, ts: Date.now(), value: 3.0 }, { sensor: 'NO-SUCH-SENSOR', ts: Date.now(), value: 1 }] } });
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.accepted, 1, JSON.stringify(r.json));
  assert.equal(r.json.rejected.unknown_sensor, 1, 'the answer adds up both nodes\' parts');
  assert.equal(await metric(survivor, 'yj_readings_forwarded_total'), 1);
  const http = async (n) => Number(/^yj_readings_accepted_total\{source="http"\} (\d+)$/m.exec(await (await fetch(`${n.base}/metrics`)).text())[1]);
  assert.deepEqual([await http(dying), await http(survivor)], [1, 0], 'evaluated by the county\'s holder');
  const alarm = rows(`SELECT a.id, a.cond FROM alarm a JOIN sensor s ON s.id = a.sensor_id
    WHERE s.code = '${ch4}' AND a.state <> 'closed'`)[0];
  assert.equal(alarm?.[1], 'active', 'raised by the holder before the answer');
  // a batch handed on is never handed on again, even by the wrong node
  r = await api(survivor.base, 'POST', '/api/v1/readings', { headers: { 'x-api-key': key, 'x-yingji-forwarded': '1' },
    body: { readings: [{ sensor: temp, ts: t0, value: 20 }] } });
  assert.equal(r.json.accepted, 1);
  assert.equal(await metric(survivor, 'yj_readings_forwarded_total'), 1);

  // it dies; readings published while nobody holds 泽州 wait in its session
  dying.proc.kill('SIGKILL');
  await new Promise((r) => (dying.exited ? r() : dying.proc.once('exit', r)));
  const N = 300;
  const lines = [];
  for (let i = 0; i < N; i++) lines.push(JSON.stringify({ sensor: temp, ts: t0 + 1000 + i * 1000, value: 20 + (i % 3) }));
  publish(topic, lines.slice(0, N / 2));
  const taken = await until(() => (holders().get(ZEZHOU) === (holder === 'n0' ? 'n1' : 'n0') ? true : null), '泽州 to move', 60000);
  assert.ok(taken);
  publish(topic, lines.slice(N / 2));
  publish(topic, lines.slice(0, 20)); // a redelivery counts once
  // the new holder knows the alarm (rebuilt from the store): a normal value clears it
  publish(`${topic}/${ch4}`, [JSON.stringify({ ts: Date.now(), value: 0.05 })]);
  await until(() => dbQuery(S.db, `SELECT cond FROM alarm WHERE id = ${alarm[0]}`).trim() === 'cleared', 'the alarm cleared by the new holder');
  const ev = rows(`SELECT action, actor FROM alarm_event WHERE alarm_id = ${alarm[0]} ORDER BY id`);
  assert.deepEqual(ev.map((e) => e[0]), ['raised', 'cleared'], JSON.stringify(ev));

  const stored = () => num(`SELECT COUNT(*) FROM (SELECT ts FROM reading WHERE sensor_id = (SELECT id FROM sensor WHERE code = '${temp}')
    UNION SELECT ts FROM reading_log WHERE sensor_id = (SELECT id FROM sensor WHERE code = '${temp}')) u`);
  await until(() => stored() >= N + 1, 'every reading stored', 60000);
  const token = (await api(survivor.base, 'POST', '/api/v1/login', { body: { username: 'admin', password: PASSWORD } })).json.token;
  const tick = await api(survivor.base, 'POST', '/api/v1/test/tick', { token, body: { now: 0, timers: ['monitor'] } });
  assert.equal(tick.status, 200, desc(tick));
  assert.equal(num(`SELECT COUNT(*) FROM reading WHERE sensor_id = (SELECT id FROM sensor WHERE code = '${temp}')`), N + 1, 'each reading stored once');
  assert.equal(num(`SELECT SUM(n) FROM reading_hour WHERE sensor_id = (SELECT id FROM sensor WHERE code = '${temp}')`), N + 1, 'and aggregated once');
  // the survivor holds every county now
  await until(() => holders().size === total && [...holders().values()].every((x) => x === (holder === 'n0' ? 'n1' : 'n0')), 'every county held by the survivor');
  assert.equal(await metric(survivor, 'yj_ingest_partitions_held'), total);
});
