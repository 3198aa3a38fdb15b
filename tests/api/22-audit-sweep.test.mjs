// 22 — every write audited.  One write of every kind through every path
// that writes — the API (as people), the CLI, a gateway's readings, MQTT,
// a KJ file, the timers, the gateways' callbacks, an answer link, a
// loudspeaker's confirmation, the CAP drop directory — and for each the
// audit log must hold an entry saying who (a person, `gateway:<id>`,
// `mqtt:<topic>`, `kj:<file>`, `timer:<name>`, `gateway`, `link`,
// `terminal:<topic>`, `cap-dir`, `cli:<user>`), what, and the record
// before and after as the kind of write has them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readFileSync, mkdirSync, copyFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  setupServer, freePort, sleep, desc, uniq, cli, validRecord, BIN, REPO, ZEZHOU, PASSWORD,
} from './harness.mjs';

const TOKEN = 'gw-audit-' + Date.now();
const aux = { broker: null, gw: null, dir: null, mqPort: 0, kjDir: null, capDir: null };

async function startAux() {
  aux.dir = mkdtempSync(join(tmpdir(), 'yingji-audit-'));
  aux.kjDir = join(aux.dir, 'kj');
  aux.capDir = join(aux.dir, 'cap');
  mkdirSync(aux.kjDir);
  mkdirSync(aux.capDir);
  aux.mqPort = await freePort();
  const conf = join(aux.dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${aux.mqPort} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  aux.broker = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    if (spawnSync('mosquitto_pub', ['-p', String(aux.mqPort), '-t', 'probe', '-m', 'x']).status === 0) break;
    await sleep(100);
  }
  const gwPort = await freePort();
  aux.gwBase = `http://127.0.0.1:${gwPort}`;
  // the stand-in gateways: every message accepted, nobody answers by
  // themselves (the test answers), loudspeakers confirm playing
  aux.gw = spawn(BIN, ['gateway-sim', '--listen', `127.0.0.1:${gwPort}`, '--token', TOKEN, '--answer-digits', '',
    '--delay-ms', '0', '--mqtt', `127.0.0.1:${aux.mqPort}`], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${aux.gwBase}/stats`)).status === 200) break; } catch { /* not yet */ }
    await sleep(100);
  }
  return ['--test-hooks', '--mqtt', `127.0.0.1:${aux.mqPort}`, '--sms-gateway', `${aux.gwBase}/sms`,
    '--voice-gateway', `${aux.gwBase}/voice`, '--gateway-token', TOKEN, '--kj-dir', aux.kjDir, '--cap-dir', aux.capDir,
    '--channel-rates', 'sms=1000,voice=1000,broadcast=1000'];
}
after(() => {
  for (const p of [aux.gw, aux.broker]) if (p) p.kill('SIGKILL');
  if (aux.dir) rmSync(aux.dir, { recursive: true, force: true });
});

const S = setupServer({ serveArgs: startAux });

async function call(user, method, path, body, headers) {
  return S.api(method, path, { auth: await S.as(user), body, headers });
}
async function ok(r) { assert.ok(r.status < 300, desc(r)); return r.json; }
async function lastId() {
  return (await call('admin', 'GET', '/api/v1/audit?limit=1')).json.items[0]?.id ?? 0;
}
async function since(id) { return (await call('admin', 'GET', `/api/v1/audit?after_id=${id}&limit=1000`)).json.items; }
async function tick(now, timers) { return ok(await call('admin', 'POST', '/api/v1/test/tick', { now, timers })); }

// An entry matching want: actor (string or RegExp), action, entity, and
// `before` / `after`: true (must be there), false (must be null), or an
// object whose keys must match.
function matches(e, want) {
  const eq = (v, w) => (w instanceof RegExp ? w.test(String(v)) : v === w);
  if (want.actor !== undefined && !eq(e.actor, want.actor)) return false;
  for (const k of ['action', 'entity', 'record_id']) if (want[k] !== undefined && e[k] !== want[k]) return false;
  for (const side of ['before', 'after']) {
    const w = want[side];
    if (w === undefined) continue;
    if (w === true && (e[side] === null || e[side] === undefined)) return false;
    if (w === false && e[side] !== null && e[side] !== undefined) return false;
    if (typeof w === 'object') for (const [k, v] of Object.entries(w)) if (!e[side] || !eq(e[side][k], v)) return false;
  }
  return true;
}
// Run fn (a write), then find each expected entry among the new ones.
async function audited(what, fn, ...wants) {
  const from = await lastId();
  const out = await fn();
  let got = [];
  for (let i = 0; i < 50; i++) { // writes by other threads (MQTT, drop directories) land a little later
    got = await since(from);
    if (wants.every((w) => got.some((e) => matches(e, w)))) return out;
    await sleep(100);
  }
  for (const w of wants) {
    assert.ok(got.some((e) => matches(e, w)),
      `${what}: no audit entry like ${JSON.stringify(w, (k, v) => (v instanceof RegExp ? String(v) : v))} among ${JSON.stringify(got.map((e) => [e.actor, e.action, e.entity, e.record_id]))}`);
  }
  return out;
}

// a sensor of the demo in 泽州 (CH4, threshold 1 %) and a gateway key
async function ch4Sensor() {
  const items = (await call('admin', 'GET', `/api/v1/registries/sensor?type=${encodeURIComponent('甲烷')}&region=${ZEZHOU}&limit=50`)).json.items;
  assert.ok(items.length >= 2, 'the demo has CH4 sensors in 泽州');
  return items;
}

test('the API, as people: records, users, gateways, rules, windows, groups', async () => {
  const schema = (await call('admin', 'GET', '/api/v1/schema')).json;
  const body = validRecord(schema, 'shelter', { name: uniq('审计避难所') });
  const rec = await audited('create a record', async () => ok(await call('admin', 'POST', '/api/v1/registries/shelter', body)),
    { actor: 'admin', action: 'create', entity: 'shelter', before: false, after: { name: body.name } });
  const upd = await audited('change it', async () => ok(await call('admin', 'PATCH', `/api/v1/registries/shelter/${rec.id}`, { capacity: 321 }, { 'if-match': `"${rec.version}"` })),
    { actor: 'admin', action: 'update', entity: 'shelter', record_id: rec.id, before: true, after: { capacity: 321 } });
  await audited('delete it', async () => call('admin', 'DELETE', `/api/v1/registries/shelter/${rec.id}`, undefined, { 'if-match': `"${upd.version}"` }),
    { actor: 'admin', action: 'delete', entity: 'shelter', record_id: rec.id, before: true, after: false });
  const uname = uniq('audit_user_');
  await audited('add a user', async () => ok(await call('admin', 'POST', '/api/v1/users', { username: uname, password: 'Audit-Passw0rd!', role: 'duty', region_code: ZEZHOU, name: '审计用户' })),
    { actor: 'admin', action: 'create', entity: 'user', after: true });
  await audited('register a gateway', async () => ok(await call('admin', 'POST', '/api/v1/gateways', { name: uniq('审计网关'), region_code: ZEZHOU })),
    { actor: 'admin', action: 'create', entity: 'gateway', after: true });
  const rule = await audited('make a rule', async () => ok(await call('admin', 'POST', '/api/v1/rules', { name: '审计温度', kind: 'threshold', sensor_type: '温度', params: { levels: { yellow: 90 } } })),
    { actor: 'admin', action: 'create', entity: 'monitor_rule', before: false, after: true });
  const r2 = await audited('change the rule', async () => ok(await call('admin', 'PUT', `/api/v1/rules/${rule.id}`, { name: '审计温度', kind: 'threshold', sensor_type: '温度', params: { levels: { yellow: 95 } } }, { 'if-match': `"${rule.version}"` })),
    { actor: 'admin', action: 'update', entity: 'monitor_rule', record_id: rule.id, before: true, after: true });
  await audited('delete the rule', async () => ok(await call('admin', 'DELETE', `/api/v1/rules/${rule.id}`, undefined, { 'if-match': `"${r2.version}"` })),
    { actor: 'admin', action: 'delete', entity: 'monitor_rule', record_id: rule.id, before: true, after: false });
  const [s] = await ch4Sensor();
  await audited('a maintenance window', async () => ok(await call('admin', 'POST', '/api/v1/maintenance', { sensor_id: s.id, start: Date.now() + 86400000, end: Date.now() + 90000000, reason: '标校' })),
    { actor: 'admin', action: 'create', entity: 'maintenance_window', after: true });
  await audited('a recipient group', async () => ok(await call('admin', 'POST', '/api/v1/alarm-groups', { name: uniq('审计组'), region_code: ZEZHOU, min_level: 4, members: ['duty'] })),
    { actor: 'admin', action: 'create', entity: 'alarm_group', after: true });
});

test('readings from a gateway and from MQTT raise alarms as their source; people and timers move them on', async () => {
  const [s1, s2] = await ch4Sensor();
  const gw = await ok(await call('admin', 'POST', '/api/v1/gateways', { name: uniq('审计读数网关'), region_code: ZEZHOU }));
  await audited('a gateway reading over the threshold', async () => {
    const r = await S.api('POST', '/api/v1/readings', { headers: { 'x-api-key': gw.api_key }, body: { readings: [{ sensor: s1.code, ts: Date.now(), value: 1.6 }] } });
    assert.equal(r.json.accepted, 1, desc(r));
  }, { actor: `gateway:${gw.id}`, action: 'raised', entity: 'alarm', before: false, after: { state: 'raised' } });
  const obj = (await call('admin', 'GET', `/api/v1/registries/monitored_object/${s2.object_id}`)).json;
  const topic = `yingji/v1/${obj.region_code}/${obj.code}/${s2.code}`;
  await audited('an MQTT reading over the threshold', async () => {
    const p = spawnSync('mosquitto_pub', ['-p', String(aux.mqPort), '-q', '1', '-t', topic, '-m', JSON.stringify({ ts: Date.now(), value: 1.7 })]);
    assert.equal(p.status, 0);
  }, { actor: `mqtt:${topic}`, action: 'raised', entity: 'alarm' });
  const alarms = (await call('admin', 'GET', `/api/v1/alarms?sensor_id=${s1.id}&open=1`)).json.items;
  const a = alarms[0];
  // a person acknowledges, then closes it as a sensor fault (a work order)
  const acked = await audited('acknowledge', async () => ok(await call('duty', 'POST', `/api/v1/alarms/${a.id}/acknowledge`, { note: '已通知' })),
    { actor: 'duty', action: 'acknowledge', entity: 'alarm', record_id: a.id, before: { state: 'raised' }, after: { state: 'acknowledged' } });
  const closed = await audited('close as fault', async () => ok(await call('duty', 'POST', `/api/v1/alarms/${a.id}/close`, { verdict: 'fault', reason: '零点漂移' }, { 'if-match': `"${acked.version}"` })),
    { actor: 'duty', action: 'close', entity: 'alarm', record_id: a.id, after: { state: 'closed', verdict: 'fault' } },
    { actor: 'duty', action: 'create', entity: 'workorder', after: true });
  await audited('repair the sensor', async () => ok(await call('duty', 'POST', `/api/v1/workorders/${closed.workorder_id}/repair`, { note: '已更换' })),
    { actor: 'duty', action: 'repair', entity: 'workorder', record_id: closed.workorder_id, before: { state: 'dispatched' }, after: { state: 'repaired' } });
  // the MQTT one stays unacknowledged: the escalation timer passes it up
  const b = (await call('admin', 'GET', `/api/v1/alarms?sensor_id=${s2.id}&open=1`)).json.items[0];
  await audited('escalation', async () => tick(Date.now() + 2 * 3600000, ['monitor']),
    { actor: 'timer:monitor.escalation', action: 'escalated', entity: 'alarm', record_id: b.id, before: true, after: true });
  await tick(0, ['monitor']);
  // reading one's inbox message is a change too
  const inbox = (await call('duty', 'GET', '/api/v1/inbox?unread=1')).json;
  const msg = inbox.items[0];
  assert.ok(msg, 'the duty officer has alarm messages');
  await audited('read a message', async () => ok(await call('duty', 'POST', `/api/v1/inbox/${msg.id}/read`)),
    { actor: 'duty', action: 'read', entity: 'inbox', record_id: msg.id, before: { read_at: null }, after: true });
});

test('a KJ file as the mine: its sensor and its threshold rule', async () => {
  const ent = (await call('admin', 'GET', `/api/v1/registries/enterprise?region=${ZEZHOU}&limit=1`)).json.items[0];
  const mine = uniq('1405250').replace(/\D/g, '').padEnd(12, '7').slice(0, 12);
  await ok(await call('admin', 'POST', '/api/v1/registries/monitored_object', { code: mine, name: '审计煤矿', kind: '煤矿', enterprise_id: ent.id, region_code: ent.region_code, lat: ent.lat, lon: ent.lon }));
  const src = readFileSync(join(REPO, 'tests/kj/good_utf8.txt'), 'utf8').replaceAll('140525010001', mine);
  const file = join(aux.dir, 'audit_kj.txt');
  writeFileSync(file, src);
  await audited('a KJ file', async () => {
    copyFileSync(file, join(aux.kjDir, 'audit_kj.txt'));
    for (let i = 0; i < 100 && !existsSync(join(aux.kjDir, 'done', 'audit_kj.txt')); i++) await sleep(100);
  }, { actor: 'kj:audit_kj.txt', action: 'create', entity: 'sensor', after: true },
  { actor: 'kj:audit_kj.txt', action: 'create', entity: 'monitor_rule', after: { kind: 'threshold' } });
  // the same mine system with other alarm values changes the rule in place
  await audited('changed KJ thresholds', async () => {
    writeFileSync(join(aux.dir, 'audit_kj2.txt'), src.replace(/;0\.8;/, ';0.7;'));
    copyFileSync(join(aux.dir, 'audit_kj2.txt'), join(aux.kjDir, 'audit_kj2.txt'));
    for (let i = 0; i < 100 && !existsSync(join(aux.kjDir, 'done', 'audit_kj2.txt')); i++) await sleep(100);
  }, { actor: 'kj:audit_kj2.txt', action: 'update', entity: 'monitor_rule', before: true, after: true });
});

test('a warning through its steps, the dispatcher, the gateways, the link, the app, a loudspeaker and expiry', async () => {
  const village = (await call('admin', 'GET', '/api/v1/regions?parent=140525100')).json;
  const V = (village.items ?? village)[0]?.code ?? '140525100';
  const draft = { event_type: '暴雨', category: 'Met', level: 4, headline: uniq('审计蓝色预警'), description: '预计有大雨。', area: { regions: [V] }, expires: Date.now() + 3600000 };
  let w = await audited('create', async () => ok(await call('duty_zezhou', 'POST', '/api/v1/warnings', draft)),
    { actor: 'duty_zezhou', action: 'create', entity: 'warning', before: false, after: { state: 'draft' } });
  w = await audited('submit', async () => ok(await call('duty_zezhou', 'POST', `/api/v1/warnings/${w.id}/submit`)),
    { actor: 'duty_zezhou', action: 'submit', entity: 'warning', record_id: w.id, before: { state: 'draft' }, after: { state: 'submitted' } });
  w = await audited('approve', async () => ok(await call('commander', 'POST', `/api/v1/warnings/${w.id}/approve`)),
    { actor: 'commander', action: 'approve', entity: 'warning', record_id: w.id, before: { state: 'submitted' }, after: { state: 'approved' } });
  w = await audited('publish', async () => ok(await call('duty_zezhou', 'POST', `/api/v1/warnings/${w.id}/publish`)),
    { actor: 'duty_zezhou', action: 'publish', entity: 'warning', record_id: w.id, before: { state: 'approved' }, after: { state: 'published' } });
  // the dispatcher sends; the loudspeakers confirm by MQTT
  await audited('a dispatch round', async () => tick(Date.now() + 1000, ['warning']),
    { actor: 'timer:warning.dispatch', action: 'dispatch', entity: 'callup', record_id: w.id, after: true });
  await audited('a loudspeaker plays', async () => {
    for (let i = 0; i < 50; i++) {
      const d = (await call('admin', 'GET', `/api/v1/warnings/${w.id}/deliveries?kind=terminal`)).json;
      if (d.items.some((x) => x.delivered_at)) return;
      await sleep(100);
    }
  }, { actor: /^terminal:yingji\/v1\/broadcast\//, action: 'played', entity: 'callup', record_id: w.id });
  const must = (await call('admin', 'GET', `/api/v1/warnings/${w.id}/deliveries?limit=1000`)).json.items.filter((d) => d.must_ack);
  assert.ok(must.length >= 3, `${must.length} must answer`);
  // a gateway: a voice answer and a receipt
  await audited('gateway callback', async () => {
    const r = await fetch(`${S.base}/api/v1/warnings/callback`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ type: 'answer', id: must[0].id }, { type: 'receipt', id: must[1].id, status: 'delivered' }] }) });
    assert.equal(r.status, 200);
  }, { actor: 'gateway', action: 'callback', entity: 'callup', record_id: w.id, after: true });
  // which deliveries, from what to what
  const cb = (await call('admin', 'GET', `/api/v1/audit?entity=callup&record_id=${w.id}&limit=20`)).json.items.find((e) => e.action === 'callback');
  assert.ok(cb.after.deliveries['unanswered->acked'].includes(must[0].id), JSON.stringify(cb.after));
  assert.ok(cb.after.deliveries['sent->delivered'].includes(must[1].id), JSON.stringify(cb.after));
  // a duty officer records a phone answer
  await audited('a phone answer', async () => ok(await call('duty_zezhou', 'POST', `/api/v1/deliveries/${must[2].id}/ack`, { via: 'phone', note: '电话确认' })),
    { actor: 'duty_zezhou', action: 'ack', entity: 'callup', record_id: w.id, after: { via: 'phone' } });
  // the link in the message (its token is in the stand-in's record of it)
  const reqs = await (await fetch(`${aux.gwBase}/requests`)).json();
  const withLink = reqs.find((q) => q.warning === w.identifier && q.must_ack && ![must[0].id, must[2].id].includes(q.id) && q.ack_url);
  assert.ok(withLink, 'a message with an answer link');
  const token = withLink.ack_url.split('#')[1];
  await audited('the answer link', async () => ok(await S.api('POST', `/api/v1/public/ack/${token}`)),
    { actor: 'link', action: 'ack', entity: 'callup', record_id: w.id, after: { via: 'link' } });
  // expiry, by the timer, on the test clock
  await audited('expiry', async () => tick(Date.now() + 2 * 3600000, ['warning.expiry']),
    { actor: 'timer:warning.expiry', action: 'expire', entity: 'warning', record_id: w.id, before: { state: 'published' }, after: { state: 'expired' } });
  await tick(0, ['warning.expiry']);
});

test('other agencies (the CAP drop directory), the CLI, logins', async () => {
  const base = readFileSync(join(REPO, 'tests/cap/rules/valid_gbt.xml'), 'utf8');
  const xml = base.replace(/14052541100000_20261205120000_0/g, '14052541100000_20261205220000_0')
    .replace(/<expires>[^<]*<\/expires>/, '<expires>2099-12-31T23:00:00+08:00</expires>');
  await audited('a CAP file dropped in', async () => {
    writeFileSync(join(aux.capDir, 'audit.xml'), xml);
    for (let i = 0; i < 100 && !existsSync(join(aux.capDir, 'done', 'audit.xml')); i++) await sleep(100);
  }, { actor: 'cap-dir', action: 'import', entity: 'warning', before: false, after: { source: 'import' } });
  const cliUser = /^cli:/;
  await audited('user add on the command line', async () => {
    const r = cli(['user', 'add', uniq('cli_audit_'), '--db', S.db, '--password', 'Cli-Passw0rd!', '--role', 'expert', '--region', ZEZHOU, '--name', '命令行']);
    assert.equal(r.status, 0, r.stderr);
  }, { actor: cliUser, action: 'create', entity: 'user' });
  await audited('a CSV import on the command line', async () => {
    const f = join(aux.dir, 'teams.csv');
    const ex = await call('admin', 'GET', '/api/v1/registries/rescue_team/export.csv?limit=1');
    writeFileSync(f, ex.text.replace(/\r\n[^\r\n]+/, (row) => row.replace(/^\r\n[^,]*,/, `\r\n${uniq('命令行队伍')},`)));
    const r = cli(['import', 'rescue_team', f, '--db', S.db]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
  }, { actor: cliUser, entity: 'rescue_team', after: true });
  const l = await audited('login', async () => ok(await S.api('POST', '/api/v1/login', { body: { username: 'inspector', password: PASSWORD } })),
    { actor: 'inspector', action: 'login', entity: 'session', after: { address: '127.0.0.1' } });
  await audited('logout', async () => S.api('POST', '/api/v1/logout', { token: l.token }),
    { actor: 'inspector', action: 'logout', entity: 'session' });
  // and the chain still holds
  const v = await call('admin', 'GET', '/api/v1/audit/verify');
  assert.equal(v.json.ok, true, desc(v));
});
