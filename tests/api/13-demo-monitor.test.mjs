// 13 — the demo city's monitoring: the monitored objects, sensors, rules and
// recipient groups `yingji demo` creates, and `yingji simulate` publishing
// them over a real mosquitto to a server that raises alarms from them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setupServer, freePort, sleep, BIN, REPO, desc } from './harness.mjs';

const COUNTIES = ['140502', '140521', '140522', '140524', '140525', '140581'];

// ---- a real mosquitto on a free loopback port ------------------------------------
const broker = { port: 0, proc: null, dir: null };
async function startBroker() {
  broker.dir = mkdtempSync(join(tmpdir(), 'yingji-sim-'));
  broker.port = await freePort();
  const conf = join(broker.dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${broker.port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\n`);
  broker.proc = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    const r = spawnSync('mosquitto_pub', ['-p', String(broker.port), '-t', 'probe', '-m', 'x']);
    if (r.status === 0) break;
    await sleep(100);
  }
  return ['--mqtt', `127.0.0.1:${broker.port}`, '--mqtt-consumers', '4', '--mqtt-client-id', `yj-sim-test-${broker.port}`];
}
after(() => {
  if (broker.proc) broker.proc.kill('SIGKILL');
  if (broker.dir) rmSync(broker.dir, { recursive: true, force: true });
});

const S = setupServer({ serveArgs: startBroker });

async function get(user, path) {
  const r = await S.api('GET', path, { auth: await S.as(user) });
  assert.equal(r.status, 200, `${path}: ${desc(r)}`);
  return r.json;
}

// Every record of a registry (pages of 1000).
async function listAll(reg) {
  const out = [];
  for (let offset = 0; ; ) {
    const page = await get('admin', `/api/v1/registries/${reg}?limit=1000&offset=${offset}`);
    out.push(...page.items);
    if (page.next_offset === null || page.next_offset === undefined || page.items.length === 0) break;
    offset = page.next_offset;
  }
  return out;
}

// Even-odd rule over all rings of a (Multi)Polygon, as the demo places points.
function ringsOf(geometry) {
  if (geometry.type === 'Polygon') return geometry.coordinates;
  if (geometry.type === 'MultiPolygon') return geometry.coordinates.flat();
  return [];
}
function inside(rings, lon, lat) {
  let isIn = false;
  for (const ring of rings) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i], [xj, yj] = ring[j];
      if ((yi > lat) !== (yj > lat) && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) isIn = !isIn;
    }
  }
  return isIn;
}

let objects = null, sensors = null;
async function demoData() {
  if (!sensors) {
    objects = await listAll('monitored_object');
    sensors = await listAll('sensor');
  }
  return { objects, sensors };
}

test('the demo has ≥ 3,000 sensors, each inside its object\'s county', async () => {
  const { objects: objs, sensors: sens } = await demoData();
  assert.ok(sens.length >= 3000, `only ${sens.length} sensors`);
  const byId = new Map(objs.map((o) => [o.id, o]));
  const fc = await get('admin', '/api/v1/map/boundaries');
  const rings = new Map(fc.features.map((f) => [f.properties.code, ringsOf(f.geometry)]));
  for (const c of COUNTIES) assert.ok(rings.has(c), `boundary of ${c}`);
  const codes = new Set();
  for (const s of sens) {
    const o = byId.get(s.object_id);
    assert.ok(o, `sensor ${s.code}: object ${s.object_id} exists`);
    const county = o.region_code.slice(0, 6);
    assert.ok(COUNTIES.includes(county), `${o.code} in a 晋城 county: ${o.region_code}`);
    assert.equal(s.region_code.slice(0, 6), county, `sensor ${s.code} in its object's county`);
    assert.equal(s.enterprise_id ?? null, o.enterprise_id ?? null, `sensor ${s.code} belongs to its object's enterprise`);
    assert.ok(typeof s.lat === 'number' && typeof s.lon === 'number', `sensor ${s.code} has a position`);
    assert.ok(inside(rings.get(county), s.lon, s.lat), `sensor ${s.code} (${s.lon}, ${s.lat}) lies inside ${county}`);
    for (const other of COUNTIES) {
      if (other !== county) assert.ok(!inside(rings.get(other), s.lon, s.lat), `sensor ${s.code} is not inside ${other}`);
    }
    assert.ok(!codes.has(s.code), `sensor code ${s.code} unique`);
    codes.add(s.code);
  }
  for (const o of objs) {
    const c = o.region_code.slice(0, 6);
    assert.ok(inside(rings.get(c), o.lon, o.lat), `object ${o.code} (${o.lon}, ${o.lat}) lies inside ${c}`);
  }
});

test('every coal mine is a monitored object coded by its 煤矿编码, with its KJ points as sensors', async () => {
  const { objects: objs, sensors: sens } = await demoData();
  const ents = (await get('admin', '/api/v1/registries/enterprise?industry=煤矿&limit=1000')).items;
  assert.ok(ents.length >= 60, `coal mines: ${ents.length}`);
  const mines = objs.filter((o) => o.kind === '煤矿');
  for (const e of ents) {
    const o = mines.find((m) => m.enterprise_id === e.id);
    assert.ok(o, `mine ${e.name} has its object`);
    assert.match(o.code, new RegExp(`^${e.region_code.slice(0, 6)}\\d{6}$`), `煤矿编码 of ${e.name}`);
    const own = sens.filter((s) => s.object_id === o.id);
    assert.equal(own.length, 40, `${e.name}: 40 sensors`);
    for (const s of own) assert.match(s.code, new RegExp(`^${o.code}-A\\d{3}$`), 'sensor code <煤矿编码>-<测点编号>');
    const ch4 = own.filter((s) => s.type === '甲烷');
    assert.equal(ch4.length, 16, `${e.name}: 16 CH4 heads`);
    assert.ok(own.every((s) => s.status === (e.status === '关闭' ? '停用' : s.status)), 'a closed mine\'s sensors are retired');
  }
  const kinds = new Map();
  for (const o of objs) kinds.set(o.kind, (kinds.get(o.kind) ?? 0) + 1);
  assert.ok(kinds.get('雨量站') >= 100, `rain gauges: ${kinds.get('雨量站')}`);
  assert.ok((kinds.get('河道水文站') ?? 0) + (kinds.get('水库水位站') ?? 0) >= 25, 'river and reservoir stations');
  assert.ok(kinds.get('地质灾害隐患点') >= 30, 'geological hazard points');
  assert.ok(kinds.get('尾矿库') >= 3, 'tailings ponds');
  assert.ok(kinds.get('危险化学品重大危险源') >= 10, 'hazardous-chemical major hazard sources');
  for (const k of ['燃气管网', '桥梁', '下穿通道']) {
    const l = objs.filter((o) => o.kind === k);
    assert.ok(l.length > 0 && l.every((o) => o.region_code.startsWith('140502')), `${k} in 城区`);
  }
  for (const c of COUNTIES) {
    assert.ok(objs.some((o) => o.kind === '雨量站' && o.region_code.startsWith(c)), `rain gauges in ${c}`);
    assert.ok(objs.some((o) => o.kind === '地质灾害隐患点' && o.region_code.startsWith(c)), `geological points in ${c}`);
  }
});

test('per-sensor rules: water levels (警戒/保证), rates, pressures; multi-sensor CH4 rules', async () => {
  const { sensors: sens } = await demoData();
  const byId = new Map(sens.map((s) => [s.id, s]));
  const rules = (await get('admin', '/api/v1/rules')).items;
  const water = sens.filter((s) => s.type === '水位');
  assert.ok(water.length >= 25, `water-level sensors: ${water.length}`);
  for (const s of water) {
    assert.equal(s.interval_s, 300);
    const thr = rules.find((r) => r.sensor_id === s.id && r.kind === 'threshold');
    assert.ok(thr, `${s.name}: threshold rule`);
    const { yellow, red } = thr.params.levels;
    assert.ok(yellow > 300 && yellow < 1200 && red > yellow, `${s.name}: 警戒 ${yellow} < 保证 ${red} m`);
    assert.ok(rules.some((r) => r.sensor_id === s.id && r.kind === 'rate'), `${s.name}: rate rule`);
  }
  assert.ok(sens.filter((s) => s.type === '雨量').every((s) => s.interval_s === 300), 'rain gauges report every 300 s');
  const disp = sens.filter((s) => s.type === '位移');
  assert.ok(disp.length > 0 && disp.every((s) => rules.some((r) => r.sensor_id === s.id && r.kind === 'rate')), 'displacement: rate rules');
  const multi = rules.filter((r) => r.kind === 'multi');
  assert.ok(multi.length >= 2, `multi-sensor rules: ${multi.length}`);
  for (const r of multi) {
    const [a, b] = r.params.sensors.map((id) => byId.get(id));
    assert.ok(a && b && a.type === '甲烷' && b.type === '甲烷' && a.object_id === b.object_id, 'two CH4 heads of one mine');
  }
  assert.ok(rules.length >= 150, `rules: ${rules.length}`);
});

test('the enterprise login sees exactly its own mine\'s sensors', async () => {
  const { sensors: sens } = await demoData();
  const me = (await S.me('enterprise')).user;
  const ent = await get('admin', `/api/v1/registries/enterprise/${me.enterprise_id}`);
  assert.equal(ent.industry, '煤矿', `the enterprise login's enterprise ${ent.name} is a coal mine`);
  const own = new Set(sens.filter((s) => s.enterprise_id === me.enterprise_id).map((s) => s.id));
  assert.ok(own.size >= 40, `own sensors ${own.size}`);
  const latest = (await get('enterprise', '/api/v1/sensors/latest')).items;
  assert.ok(latest.length > 0, 'non-empty');
  assert.ok(latest.every((x) => own.has(x.id)), 'only its own sensors');
  assert.equal(latest.length, own.size, 'all of its own sensors');
  const reg = await get('enterprise', '/api/v1/registries/sensor?limit=1000');
  assert.equal(reg.total, own.size, 'the sensor registry shows the same');
});

test('recipient groups: duty rooms of the city and two counties, the coal-mine regulators', async () => {
  const groups = (await get('admin', '/api/v1/alarm-groups')).items;
  const want = {
    市应急局值班室: { region_code: '1405', min_level: 4, industries: '', members: ['commander', 'duty'] },
    泽州县应急局值班室: { region_code: '140525', industries: '', members: ['duty_zezhou'] },
    高平市应急局值班室: { region_code: '140581', industries: '', members: ['duty_gaoping'] },
    市煤矿安全监管: { region_code: '1405', industries: '煤矿', members: ['supervisor'] },
    沁水县安全监管: { region_code: '140521', industries: '煤矿,危险化学品', members: ['supervisor_qinshui'] },
  };
  for (const [name, w] of Object.entries(want)) {
    const g = groups.find((x) => x.name === name);
    assert.ok(g, `group ${name}: ${JSON.stringify(groups)}`);
    assert.equal(g.region_code, w.region_code, name);
    assert.equal(g.industries, w.industries, name);
    if (w.min_level) assert.equal(g.min_level, w.min_level, name);
    assert.deepEqual([...(g.members ?? [])].sort(), w.members, `${name} members`);
  }
});

async function waitFor(fn, ms) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await sleep(500);
  }
}

test('yingji simulate: live readings over MQTT, an exceedance raises an alarm, the duty room is told', { timeout: 120_000 }, async () => {
  const { sensors: sens } = await demoData();
  const live = sens.filter((s) => s.status !== '停用').length;
  const env = { ...process.env };
  if (!env.ASAN_OPTIONS) env.ASAN_OPTIONS = 'detect_leaks=0:abort_on_error=0';
  const proc = spawn(BIN, ['simulate', '--db', S.db, '--mqtt', `127.0.0.1:${broker.port}`,
    '--speed', '20', '--exceed-rate', '1200', '--seed', '7', '--duration', '18'], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', errText = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { errText += d; });
  const code = await new Promise((res) => proc.on('exit', (c, sig) => res(c ?? sig)));
  assert.equal(code, 0, `simulate exited ${code}:\n${out}\n${errText}`);
  const lines = out.trim().split('\n');
  assert.match(lines[0], /^simulate: \d+ sensors on \d+ objects/, out);
  assert.ok(lines.some((l) => /\d+ messages \(\d+ acked\), \d+ readings/.test(l)), `summary lines:\n${out}`);
  assert.doesNotMatch(out, /publish errors|NOT CONNECTED/, out);

  // most sensors have a fresh value (the broker may still be draining)
  const latest = await waitFor(async () => {
    const items = (await get('admin', '/api/v1/sensors/latest')).items;
    return items.filter((x) => x.value !== null).length >= live * 0.95 ? items : null;
  }, 30_000);
  assert.ok(latest, `readings of ≥ 95 % of ${live} live sensors arrived`);
  assert.ok(latest.filter((x) => x.value !== null).length >= 3000);
  // every value was accepted: in range, known sensor, not retired
  const rej = await get('admin', '/api/v1/readings/rejects');
  assert.deepEqual(rej.items.map((x) => `${x.reason} ${x.sensor_code} ${x.value}`), [], 'no rejects');

  const alarms = await waitFor(async () => {
    const a = await get('admin', '/api/v1/alarms?limit=100');
    return a.items.some((x) => x.rule_kind === 'threshold' || x.rule_kind === 'rate') ? a.items : null;
  }, 20_000);
  assert.ok(alarms, 'the simulator raised at least one alarm');
  const inbox = await waitFor(async () => {
    const box = await get('duty', '/api/v1/inbox');
    return box.items.length ? box : null;
  }, 10_000);
  assert.ok(inbox, 'the city duty room has inbox messages');
  assert.ok(inbox.items.some((m) => m.group_name === '市应急局值班室'), JSON.stringify(inbox.items.slice(0, 3)));
  // the county duty room hears only of its own county
  const zz = await get('duty_zezhou', '/api/v1/inbox');
  assert.ok(zz.items.every((m) => m.region_code.startsWith('140525')), 'duty_zezhou: only 泽州');
});
