// 17 — M3 delivery and call-up (叫应) with real parts: the stand-in
// gateway process (`yingji gateway-sim`) for SMS and voice calls, a real
// mosquitto for the village loudspeakers, and the warning clock driven by
// the test (serve --test-hooks): throttling, retries, answers by SMS reply,
// voice, link, app and duty officer, escalation to the next person and the
// level above, stopping on cancel and telling those reached, coverage figures.
//
// The stand-in's rules (deterministic, by the recipient's last digit):
//   ...9  fails its first attempt on each channel
//   ...1, ...3, ...5  answer; every other number stays silent
//   terminal codes ending in 7 never play
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  setupServer, freePort, sleep, assertError, desc, uniq, BIN, REPO, ZEZHOU, GAOPING, startServe, api, PASSWORD,
} from './harness.mjs';

const TOKEN = 'gw-test-token-' + Date.now();
const aux = { broker: null, gw: null, dir: null, gwBase: null, mqPort: 0 };

async function startAux() {
  aux.dir = mkdtempSync(join(tmpdir(), 'yingji-callup-'));
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
  aux.gw = spawn(BIN, ['gateway-sim', '--listen', `127.0.0.1:${gwPort}`, '--token', TOKEN,
    '--fail-digits', '9', '--answer-digits', '135', '--dead-terminals', '7', '--delay-ms', '0',
    '--mqtt', `127.0.0.1:${aux.mqPort}`], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${aux.gwBase}/stats`)).status === 200) break; } catch { /* not yet */ }
    await sleep(100);
  }
  return ['--test-hooks', '--mqtt', `127.0.0.1:${aux.mqPort}`,
    '--sms-gateway', `${aux.gwBase}/sms`, '--voice-gateway', `${aux.gwBase}/voice`,
    '--gateway-token', TOKEN, '--channel-rates', 'sms=5,voice=5,broadcast=50',
    '--callup', 'wait=5,escalate=10,cycles=2,retry=60'];
}
after(() => {
  for (const p of [aux.gw, aux.broker]) if (p) p.kill('SIGKILL');
  if (aux.dir) rmSync(aux.dir, { recursive: true, force: true });
});

const S = setupServer({ serveArgs: startAux });
const MIN = 60000;

async function call(user, method, path, body, headers) {
  return S.api(method, path, { auth: await S.as(user), body, headers });
}
async function tick(now) {
  const r = await call('admin', 'POST', '/api/v1/test/tick', { now, timers: ['warning'] });
  assert.equal(r.status, 200, desc(r));
}
// each test leaves the warning clock on real time, even when it fails
afterEach(async () => { await tick(0); });
async function gwRequests() { return (await fetch(`${aux.gwBase}/requests`)).json(); }
async function waitFor(fn, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) return null;
    await sleep(100);
  }
}
async function deliveries(id, q = '') {
  const r = await call('duty', 'GET', `/api/v1/warnings/${id}/deliveries?limit=1000${q}`);
  assert.equal(r.status, 200, desc(r));
  return r.json;
}
async function board(id, user = 'duty') {
  const r = await call(user, 'GET', `/api/v1/warnings/${id}/callup`);
  assert.equal(r.status, 200, desc(r));
  return r.json;
}

// A village of 高平 with its people, contacts, responsible people and
// loudspeakers (the demo's own township and county officers there are set
// off duty, so the call order below is the test's).
const V = {};
async function makeVillage() {
  const admin = await S.as('admin');
  const towns = (await S.api('GET', `/api/v1/regions?parent=${GAOPING}`, { auth: admin })).json.items;
  V.town = towns[1].code;
  const villages = (await S.api('GET', `/api/v1/regions?parent=${V.town}`, { auth: admin })).json.items;
  V.code = villages[0].code;
  V.other = villages[1].code;
  const put = async (reg, body) => {
    const r = await S.api('POST', `/api/v1/registries/${reg}`, { auth: admin, body });
    assert.equal(r.status, 201, `${reg}: ${desc(r)}`);
    return r.json;
  };
  // the demo's own people there step aside: officers off duty, residents
  // moved out, loudspeakers out of service
  const aside = async (reg, region, status, exact) => {
    const demo = (await S.api('GET', `/api/v1/registries/${reg}?region=${region}&limit=500`, { auth: admin })).json.items
      .filter((x) => (!exact || x.region_code === region) && x.status !== status);
    for (const x of demo) {
      const r = await S.api('PATCH', `/api/v1/registries/${reg}/${x.id}`, { auth: admin, body: { status }, headers: { 'if-match': `"${x.version}"` } });
      assert.equal(r.status, 200, desc(r));
    }
  };
  for (const region of [V.code, V.other, V.town, GAOPING]) {
    await aside('responsible_person', region, '离岗', true);
    await aside('informant', region, '离岗', true);
  }
  for (const region of [V.code, V.other]) {
    await aside('resident', region, '迁出', false);
    await aside('broadcast_terminal', region, '故障', false);
  }
  const p = (n) => `1380000${String(n).padStart(4, '0')}`;
  V.residents = [];
  for (let i = 1; i <= 9; i++) V.residents.push(await put('resident', { code: uniq('R'), name: `居民${i}`, phone: p(i * 10 + (i % 10)), region_code: V.code, lat: 35.5, lon: 112.9 }));
  // phones end in 1..9: 11, 22, 33 ... 99 (…99 fails once)
  V.nophone = await put('resident', { code: uniq('R'), name: '无手机老人', region_code: V.code, status: '外出' });
  V.old = await put('resident', { code: uniq('R'), name: '独居老人', phone: p(120), vulnerable: ['老'], contact_name: '包保人甲', contact_phone: p(131), region_code: V.code, lat: 35.5001, lon: 112.9001 });
  V.sick = await put('resident', { code: uniq('R'), name: '病人', vulnerable: ['病', '残'], contact_name: '包保人乙', contact_phone: p(142), region_code: V.code });
  V.elsewhere = await put('resident', { code: uniq('R'), name: '邻村居民', phone: p(151), region_code: V.other });
  V.vHead = await put('responsible_person', { name: '村支书', phone: p(204), level: '村级', call_order: 1, region_code: V.code });
  V.vDeputy = await put('responsible_person', { name: '村主任', phone: p(218), level: '村级', call_order: 2, region_code: V.code });
  V.tHead = await put('responsible_person', { name: '镇长', phone: p(305), level: '乡级', call_order: 1, region_code: V.town });
  V.cHead = await put('responsible_person', { name: '县应急局长', phone: p(406), level: '县级', call_order: 1, region_code: GAOPING });
  V.grid = await put('informant', { name: '网格员', phone: p(520), level: '村级', kind: '网格员', region_code: V.code });
  V.term1 = await put('broadcast_terminal', { code: uniq('T') + 'A1', name: '村委会大喇叭', kind: '村级大喇叭', region_code: V.code, lat: 35.5, lon: 112.9 });
  V.term7 = await put('broadcast_terminal', { code: uniq('T') + 'A7', name: '村口音柱', kind: '室外音柱', region_code: V.code, lat: 35.5, lon: 112.9 });
}

// Issued by 高平's duty officer (its county is the call-up's top), approved by the city's commander.
async function publishVillageWarning(over = {}) {
  let r = await call('duty_gaoping', 'POST', '/api/v1/warnings', {
    event_type: '山洪', category: 'Met', level: 2, headline: uniq('山洪橙色预警'),
    description: '上游强降雨，预计2小时内河道水位快速上涨。', instruction: '沿河群众立即向高处转移。',
    area: { regions: [V.code] }, expires: Date.now() + 12 * 3600000, ...over,
  });
  assert.equal(r.status, 201, desc(r));
  const id = r.json.id;
  await call('duty_gaoping', 'POST', `/api/v1/warnings/${id}/submit`);
  r = await call('commander', 'POST', `/api/v1/warnings/${id}/approve`);
  assert.equal(r.status, 200, desc(r));
  r = await call('duty_gaoping', 'POST', `/api/v1/warnings/${id}/publish`);
  assert.equal(r.status, 200, desc(r));
  return r.json;
}

test('targeting: the preview counts who an area reaches; bad areas refused', async () => {
  await makeVillage();
  let r = await call('duty', 'POST', '/api/v1/warnings/targets', { area: { regions: [V.code] } });
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.residents, 12, JSON.stringify(r.json));
  assert.equal(r.json.vulnerable, 2);
  assert.equal(r.json.contacts, 2);
  assert.equal(r.json.terminals, 2);
  assert.equal(r.json.informants, 1, 'the village grid worker');
  assert.equal(r.json.responsible_by_level.village, 1, 'the first in call order');
  assert.equal(r.json.responsible_by_level.township, 1);
  assert.equal(r.json.responsible_by_level.county, 1);
  // by geometry: a circle round the village's houses reaches the same people with a point
  r = await call('duty', 'POST', '/api/v1/warnings/targets', { area: { circles: [[35.5, 112.9, 0.5]] } });
  assert.equal(r.json.residents, 9 + 1, 'the nine and the old man have a point; 病人 and the phoneless have none');
  assert.equal(r.json.vulnerable, 1);
  r = await call('duty_zezhou', 'POST', '/api/v1/warnings/targets', { area: { regions: [V.code] } });
  assertError(r, 422, 'invalid', 'area');
  r = await call('duty_zezhou', 'POST', '/api/v1/warnings/targets', { area: { circles: [[35.5, 112.9, 0.5]] } });
  assert.equal(r.json.residents, 0, '泽州 reaches nobody in 高平, whatever it draws');
});

test('delivery: throttled per channel, retried after a failure, receipts and loudspeakers confirm; coverage', async () => {
  await fetch(`${aux.gwBase}/requests`, { method: 'DELETE' });
  const w = await publishVillageWarning();
  const t0 = Date.now() + 1000; // after publishing: every delivery is due by then
  let d = await deliveries(w.id);
  const kinds = {};
  for (const x of d.items) kinds[x.kind] = (kinds[x.kind] ?? 0) + 1;
  assert.deepEqual(kinds, { resident: 12, contact: 2, responsible: 3, terminal: 2, informant: 1 }, JSON.stringify(kinds));
  assert.equal(d.counts.resident.nochannel, 2, 'no phone: loudspeaker only');
  // sms at 5/s: one round sends five, the next second five more
  await tick(t0);
  let sms = (await gwRequests()).filter((q) => q.channel === 'sms');
  assert.equal(sms.length, 5, `first second: ${sms.length}`);
  await tick(t0 + 1000);
  sms = (await gwRequests()).filter((q) => q.channel === 'sms');
  assert.equal(sms.length, 10);
  for (let k = 2; k < 6; k++) await tick(t0 + k * 1000);
  const reqs = await gwRequests();
  sms = reqs.filter((q) => q.channel === 'sms');
  assert.equal(new Set(sms.map((q) => q.id)).size, 16, 'every phone got its SMS: 10 residents, 2 contacts, 3 responsible people, the grid worker');
  // the text: agency and level first; must-answer ones carry the ask and a link
  const toVillage = sms.find((q) => q.to === '13800000204');
  assert.match(toVillage.text, /^【高平市应急管理局】橙色山洪预警：/);
  assert.match(toVillage.text, /回复1确认/);
  assert.ok(toVillage.must_ack && toVillage.ack_url.includes('/ack.html#'));
  const plain = sms.find((q) => q.to === '13800000011');
  assert.ok(!plain.must_ack && !/回复1/.test(plain.text));
  const grid = sms.find((q) => q.to === '13800000520');
  assert.match(grid.text, /^【高平市应急管理局】橙色山洪预警：.*。请立即通知网格内群众，协助做好转移避险。沿河群众立即向高处转移。$/);
  assert.ok(!grid.must_ack, 'grid workers are told, not asked to answer');
  for (const q of sms) assert.equal(q.segments, Math.max(1, Math.ceil([...q.text].length / ([...q.text].length <= 70 ? 70 : 67))));
  // ...99 failed once: plan "sms" only, so the next cycle after 60 s
  const failing = sms.filter((q) => q.to === '13800000099');
  assert.equal(failing.length, 1);
  assert.equal(failing[0].answered_with, '500');
  await tick(t0 + 62 * 1000);
  const retried = (await gwRequests()).filter((q) => q.to === '13800000099');
  assert.equal(retried.length, 2, 'retried once');
  assert.equal(retried[1].answered_with, '200');
  // receipts and playback arrive asynchronously
  const done = await waitFor(async () => {
    const c = (await deliveries(w.id)).counts;
    return (c.resident.delivered ?? 0) === 10 && (c.terminal.delivered ?? 0) === 1 ? c : null;
  });
  assert.ok(done, JSON.stringify((await deliveries(w.id)).counts));
  // attempts are recorded (the failed one too)
  const dd = (await deliveries(w.id)).items.find((x) => x.kind === 'resident' && x.attempts === 2);
  assert.ok(dd, 'a delivery with two attempts');
  // coverage: ten by SMS, one without a phone by the loudspeaker that
  // played; the other without a phone is away (外出) and not counted
  const cov = await call('duty', 'GET', `/api/v1/warnings/${w.id}/coverage?group_by=township`);
  assert.equal(cov.status, 200, desc(cov));
  assert.equal(cov.json.total.residents, 12);
  assert.equal(cov.json.total.reached, 11);
  assert.equal(cov.json.total.reached_share, 11 / 12);
  assert.equal(typeof cov.json.total.time_to_90_s, 'number');
  assert.equal(cov.json.total.terminals, 2);
  assert.equal(cov.json.total.played, 1);
  assert.equal(cov.json.groups[0].region, V.town);
  assertError(await call('duty', 'GET', `/api/v1/warnings/${w.id}/coverage?group_by=planet`), 422, 'invalid', 'group_by');
  // the dead loudspeaker is tried again after the wait, then given up
  await tick(t0 + 6 * MIN);
  await tick(t0 + 12 * MIN);
  const t7 = (await deliveries(w.id, '&kind=terminal')).items.find((x) => x.ref_id === V.term7.id);
  assert.equal(t7.state, 'sent');
  assert.equal(t7.attempts, 2, 'two cycles');
  await tick(0);
  await call('commander', 'POST', `/api/v1/warnings/${w.id}/cancel`, { reason: '测试结束' });
});

test('call-up: answers by SMS reply, voice, link, app and phone; escalation to the next person and the level above; cancel stops it and tells those reached', async () => {
  await fetch(`${aux.gwBase}/requests`, { method: 'DELETE' });
  const w = await publishVillageWarning({ level: 3 });
  const t0 = Date.now() + 1000;
  for (let k = 0; k < 5; k++) await tick(t0 + k * 1000);
  // ...131 (contact of the old man) and ...305 (township head) answer by SMS reply
  const b1 = await waitFor(async () => { const b = await board(w.id); return b.answered >= 2 ? b : null; });
  assert.ok(b1, JSON.stringify(await board(w.id)));
  // the people first asked (an escalation to the same person is its own row)
  const who = (b) => Object.fromEntries(b.people.filter((p) => p.kind !== 'escalation').map((p) => [p.name, p]));
  let people = who(b1);
  assert.equal(people['独居老人'].acked_via, 'sms', 'a contact is shown by the person they look after');
  assert.equal(people['镇长'].acked_via, 'sms');
  assert.equal(people['村支书'].acked_at, null);
  assert.match(people['村支书'].address, /^\*+0204$/, 'numbers are masked on the board');
  // a reply that does not say yes is recorded, not taken as an answer
  let r = await S.api('POST', '/api/v1/warnings/callback', { headers: { authorization: `Bearer ${TOKEN}` }, body: { type: 'reply', from: '13800000406', text: '不清楚' } });
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.acked, 0);
  assertError(await S.api('POST', '/api/v1/warnings/callback', { headers: { authorization: 'Bearer nope' }, body: { type: 'answer', id: 1 } }), 401);
  assertError(await S.api('POST', '/api/v1/warnings/callback', { headers: { authorization: `Bearer ${TOKEN}` }, body: { type: 'bogus' } }), 422, 'invalid', 'type');
  // after the wait, the silent ones get a voice call: ...204 and ...142 stay silent
  await tick(t0 + 5 * MIN + 5000);
  let voice = (await gwRequests()).filter((q) => q.channel === 'voice');
  assert.deepEqual(voice.map((q) => q.to).sort(), ['13800000142', '13800000204', '13800000406'], voice.map((q) => q.to).join());
  // after ten minutes unanswered: escalation
  await tick(t0 + 10 * MIN + 5000);
  let b = await board(w.id);
  const esc = b.people.filter((p) => p.kind === 'escalation');
  assert.ok(esc.some((p) => p.name === '村主任'), 'the village head is silent: the next in call order');
  assert.ok(esc.some((p) => p.name === '村支书' && p.level_up === 0), 'the sick person\'s contact is silent: the village\'s responsible person');
  const escEvents = b.events.filter((e) => e.action === 'escalated');
  assert.ok(escEvents.some((e) => /同级下一顺位/.test(e.note)), JSON.stringify(escEvents));
  assert.ok(escEvents.some((e) => /包保联系人未应答/.test(e.note)));
  // the county head (...406) is silent too: above the county is outside 高平's warning, so nobody
  assert.ok(b.events.some((e) => e.action === 'escalation_exhausted'), 'the county head had nobody above within the warning');
  // the duty officer records the county head's phone answer
  const county = b.people.find((p) => p.name === '县应急局长');
  assertError(await call('duty', 'POST', `/api/v1/deliveries/${county.id}/ack`, { via: 'phone' }), 422, 'invalid', 'note');
  assertError(await call('duty_zezhou', 'POST', `/api/v1/deliveries/${county.id}/ack`, { via: 'phone', note: 'x' }), 404);
  r = await call('duty_gaoping', 'POST', `/api/v1/deliveries/${county.id}/ack`, { via: 'phone', note: '电话已通知，正在组织转移' });
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.acked_via, 'phone');
  assertError(await call('duty_gaoping', 'POST', `/api/v1/deliveries/${county.id}/ack`, { via: 'phone', note: '再次' }), 409);
  // the deputy answers the escalation through the link in his SMS
  for (let k = 0; k < 3; k++) await tick(t0 + 10 * MIN + 6000 + k * 1000);
  const deputySms = await waitFor(async () => (await gwRequests()).find((q) => q.to === '13800000218'));
  assert.ok(deputySms, 'the escalation was sent');
  const token = deputySms.ack_url.split('#')[1];
  r = await S.api('GET', `/api/v1/public/ack/${token}`);
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.kind, 'escalation');
  assert.match(r.json.headline, /山洪/);
  r = await S.api('POST', `/api/v1/public/ack/${token}`);
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.acked_via, 'link');
  assertError(await S.api('GET', '/api/v1/public/ack/0123456789abcdef0123456789abcdef'), 404);
  assertError(await S.api('POST', '/api/v1/public/ack/short'), 404);
  // the village head answers in the app
  people = who(await board(w.id));
  r = await call('duty', 'POST', `/api/v1/deliveries/${people['村支书'].id}/ack`, { via: 'app' });
  assert.equal(r.status, 200, desc(r));
  b = await board(w.id);
  assert.ok(b.answered >= 5, JSON.stringify({ answered: b.answered, total: b.total }));
  // coverage of the call-up
  const cov = (await call('duty', 'GET', `/api/v1/warnings/${w.id}/coverage`)).json;
  assert.equal(cov.total.responsible, 3);
  assert.equal(cov.total.answered, 3, 'village head (app), township head (sms), county head (phone)');
  assert.equal(cov.total.vulnerable, 2);
  assert.equal(cov.total.confirmed, 1);
  // cancel: nothing more of the warning is attempted, what was sent stays
  // recorded, and everyone it reached is told it is lifted (解除通知), once
  const sentBefore = await gwRequests();
  const before = sentBefore.length;
  r = await call('commander', 'POST', `/api/v1/warnings/${w.id}/cancel`, { reason: '降雨减弱' });
  assert.equal(r.status, 200, desc(r));
  const cancelMsg = (await call('duty', 'GET', `/api/v1/warnings/${r.json.superseded_by}`)).json;
  for (let k = 0; k < 10; k++) await tick(t0 + 20 * MIN + k * 1000);
  await tick(t0 + 40 * MIN);
  const notices = (await gwRequests()).slice(before);
  assert.ok(notices.length > 0, 'notices went out');
  assert.ok(notices.every((q) => q.warning === cancelMsg.identifier), 'nothing more of the warning itself');
  const sms = notices.filter((q) => q.channel === 'sms');
  assert.ok(sms.every((q) => /^【[^】]+】解除：.*山洪.*。降雨减弱$/.test(q.text) && !q.must_ack), sms.map((q) => q.text).join('\n'));
  // one notice per number (a failing number is retried: the same delivery)
  const to = [...new Set(sms.map((q) => q.to))];
  assert.equal(new Set(sms.map((q) => q.id)).size, to.length, 'one notice per number');
  const reached = new Set(sentBefore.filter((q) => q.warning === w.identifier && q.answered_with === '200' && q.channel !== 'broadcast').map((q) => q.to));
  const asked = new Set(sentBefore.filter((q) => q.warning === w.identifier).map((q) => q.to));
  for (const a of reached) assert.ok(to.includes(a), `${a} was reached and not told`);
  for (const a of to) assert.ok(asked.has(a), `${a} was never sent the warning`);
  const cancelBoard = await board(cancelMsg.id);
  assert.ok(cancelBoard.events.some((e) => e.action === 'targeted' && /解除通知/.test(e.note)), JSON.stringify(cancelBoard.events));
  const after = await deliveries(w.id);
  assert.ok(after.items.every((x) => x.state !== 'pending'), 'nothing left pending');
  assert.ok((await board(w.id)).events.some((e) => e.action === 'stopped'));
  // county scope: 泽州 cannot even see 高平's warning
  const zz = await call('duty_zezhou', 'GET', `/api/v1/warnings/${w.id}/callup`);
  assertError(zz, 404);
  await tick(0);
});

test('call-up guards: must-answer first, long instructions keep the link, "未收到" is no answer, one "1" answers all, one follow-up per person', async () => {
  await fetch(`${aux.gwBase}/requests`, { method: 'DELETE' });
  // four more vulnerable people whose contacts stay silent: nine must answer
  const admin = await S.as('admin');
  for (let i = 0; i < 4; i++) {
    const r = await S.api('POST', '/api/v1/registries/resident', { auth: admin, body: {
      code: uniq('R'), name: `孕妇${i}`, vulnerable: ['孕'], contact_name: `包保人${i}`,
      contact_phone: `1380000${600 + i * 2}0`, region_code: V.code } });
    assert.equal(r.status, 201, desc(r));
  }
  const long = '请沿河群众立即向高处转移，'.repeat(100); // 1,300 characters (3,900 bytes): far over any SMS
  const w = await publishVillageWarning({ level: 3, instruction: long });
  const t0 = Date.now() + 1000;
  // sms at 5/s: the nine who must answer in the first two seconds, residents
  // after (a round's messages go out together, in no set order)
  await tick(t0);
  let sms = (await gwRequests()).filter((q) => q.channel === 'sms');
  assert.equal(sms.length, 5);
  assert.ok(sms.every((q) => q.must_ack), sms.map((q) => `${q.to}:${q.must_ack}`).join());
  await tick(t0 + 1000);
  sms = (await gwRequests()).filter((q) => q.channel === 'sms');
  assert.equal(sms.length, 10);
  assert.equal(sms.filter((q) => q.must_ack).length, 9, sms.map((q) => `${q.to}:${q.must_ack}`).join());
  for (let k = 2; k < 8; k++) await tick(t0 + k * 1000);
  sms = (await gwRequests()).filter((q) => q.channel === 'sms');
  assert.ok(sms.every((q) => q.answered_with === '200' || q.to.endsWith('9')), 'no message refused for its length');
  const head = sms.find((q) => q.to === '13800000204');
  assert.match(head.text, /…请回复1确认收到。http:\/\/[^ ]+\/ack\.html#[0-9a-f]{32}$/, 'shortened instructions, then the ask and the whole link');
  assert.ok([...head.text].length < 400, `${[...head.text].length} characters`);
  // a reply that says no is recorded, not counted
  let r = await S.api('POST', '/api/v1/warnings/callback', { headers: { authorization: `Bearer ${TOKEN}` }, body: { type: 'reply', from: '13800000204', text: '未收到' } });
  assert.equal(r.json.acked, 0, desc(r));
  let b = await board(w.id);
  const reply = b.events.find((e) => e.action === 'reply');
  assert.ok(reply && /未收到/.test(reply.note), JSON.stringify(b.events.slice(0, 5)));
  assert.match(reply.actor, /^\*+0204$/, 'who replied is masked like the addresses');
  assert.equal(b.people.find((p) => p.name === '村支书' && p.kind === 'responsible').acked_at, null);
  // ten minutes: the village head's silence goes to his deputy, the sick
  // person's silent contact to the village head; ten more: the village
  // head's silence on that follow-up would go to the deputy again — who is
  // already being asked
  await tick(t0 + 10 * MIN + 5000);
  for (let k = 0; k < 3; k++) await tick(t0 + 10 * MIN + 6000 + k * 1000);
  await tick(t0 + 21 * MIN);
  b = await board(w.id);
  const toDeputy = b.people.filter((p) => p.kind === 'escalation' && p.name === '村主任');
  assert.equal(toDeputy.length, 1, JSON.stringify(b.people.filter((p) => p.kind === 'escalation')));
  assert.ok(b.events.some((e) => e.action === 'escalated' && /已在督促中/.test(e.note)), JSON.stringify(b.events.filter((e) => e.action === 'escalated')));
  // one "1" from the village head answers both what he was asked
  const open = b.people.filter((p) => p.name === '村支书' && !p.acked_at).length;
  assert.equal(open, 2, 'his own and the follow-up for the contact');
  r = await S.api('POST', '/api/v1/warnings/callback', { headers: { authorization: `Bearer ${TOKEN}` }, body: { type: 'reply', from: '13800000204', text: '1 收到' } });
  assert.equal(r.json.acked, 2, desc(r));
  // a gateway's batch: voice answers are recorded together, but in order
  // with SMS replies — the deputy's key press (twice) comes before his "1",
  // so the reply finds nothing open; an answered or unknown id is no answer
  b = await board(w.id);
  const deputy = b.people.find((p) => p.kind === 'escalation' && p.name === '村主任' && !p.acked_at);
  const done = b.people.find((p) => p.name === '村支书' && p.acked_at);
  assert.ok(deputy && done, JSON.stringify(b.people.map((p) => [p.kind, p.name, p.acked_at])));
  r = await S.api('POST', '/api/v1/warnings/callback', { headers: { authorization: `Bearer ${TOKEN}` }, body: { events: [
    { type: 'answer', id: deputy.id }, { type: 'answer', id: deputy.id }, { type: 'answer', id: done.id },
    { type: 'answer', id: 999999999 }, { type: 'receipt', id: deputy.id, status: 'failed' },
    { type: 'reply', from: '13800000218', text: '1' }] } });
  assert.equal(r.status, 200, desc(r));
  assert.deepEqual(r.json, { acked: 1, recorded: 2 });
  b = await board(w.id);
  const after = b.people.find((p) => p.id === deputy.id);
  assert.equal(after.acked_via, 'voice');
  assert.equal(b.people.find((p) => p.id === done.id).acked_via, 'sms', 'an earlier answer stands');
  assert.equal(b.events.filter((e) => e.action === 'acked' && e.delivery_id === deputy.id).length, 1, 'one event per answer');
  // a bad event anywhere rolls the whole batch back, answers included
  const other = b.people.find((p) => !p.acked_at && p.kind !== 'terminal');
  assert.ok(other, 'someone is still open');
  assertError(await S.api('POST', '/api/v1/warnings/callback', { headers: { authorization: `Bearer ${TOKEN}` }, body: { events: [
    { type: 'answer', id: other.id }, { type: 'receipt', id: other.id, status: 'lost' }] } }), 422, 'invalid', 'status');
  assert.equal((await board(w.id)).people.find((p) => p.id === other.id).acked_at, null);
  await tick(0);
  await call('commander', 'POST', `/api/v1/warnings/${w.id}/cancel`, { reason: '测试结束' });
});

test('call-up: someone who goes off duty after being asked is passed to whoever is on duty there now', async () => {
  const admin = await S.as('admin');
  const put = async (body) => {
    const r = await S.api('POST', '/api/v1/registries/responsible_person', { auth: admin, body });
    assert.equal(r.status, 201, desc(r));
    return r.json;
  };
  const first = await put({ name: '值守村干部', phone: '13800000700', level: '村级', call_order: 1, region_code: V.other });
  await put({ name: '接替村干部', phone: '13800000710', level: '村级', call_order: 2, region_code: V.other });
  const w = await publishVillageWarning({ level: 3, area: { regions: [V.other] } });
  const t0 = Date.now() + 1000;
  for (let k = 0; k < 3; k++) await tick(t0 + k * 1000);
  const r = await S.api('PATCH', `/api/v1/registries/responsible_person/${first.id}`, { auth: admin, body: { status: '离岗' }, headers: { 'if-match': `"${first.version}"` } });
  assert.equal(r.status, 200, desc(r));
  await tick(t0 + 10 * MIN + 5000);
  const b = await board(w.id);
  assert.ok(b.people.some((p) => p.kind === 'escalation' && p.name === '接替村干部'), JSON.stringify(b.people.map((p) => [p.kind, p.name])));
  assert.ok(!b.events.some((e) => e.action === 'escalation_exhausted' && e.region_code === V.other));
  await tick(0);
  await call('commander', 'POST', `/api/v1/warnings/${w.id}/cancel`, { reason: '测试结束' });
});

// A second server on the same database (its own options and clock) and,
// when asked, a gateway-sim of its own; fn gets {srv, gw, as, call, publish}.
async function withSecondServer({ gwArgs = null, serveArgs }, fn) {
  let gw = null, gwProc = null, srv = null;
  try {
    if (gwArgs) {
      const port = await freePort();
      gw = `http://127.0.0.1:${port}`;
      gwProc = spawn(BIN, ['gateway-sim', '--listen', `127.0.0.1:${port}`, '--token', TOKEN, ...gwArgs],
        { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
      for (let i = 0; i < 100; i++) {
        try { if ((await fetch(`${gw}/stats`)).status === 200) break; } catch { /* not yet */ }
        await sleep(100);
      }
    }
    srv = await startServe(S.db, S.dir, ['--test-hooks', '--gateway-token', TOKEN, ...serveArgs(gw)]);
    const as = async (username) => {
      const r = await api(srv.base, 'POST', '/api/v1/login', { body: { username, password: PASSWORD } });
      assert.equal(r.status, 200, desc(r));
      return r.json.token;
    };
    const call = async (token, method, path, body) => {
      const r = await api(srv.base, method, path, { token, body });
      assert.ok(r.status < 300, desc(r));
      return r.json;
    };
    const [duty, cmd, adm] = [await as('duty_gaoping'), await as('commander'), await as('admin')];
    // a yellow flood warning over the test village, published; returns it
    const publish = async () => {
      const w = await call(duty, 'POST', '/api/v1/warnings', {
        event_type: '山洪', level: 3, headline: uniq('山洪黄色预警'), description: '上游强降雨。',
        area: { regions: [V.code] }, expires: Date.now() + 3600000 });
      await call(duty, 'POST', `/api/v1/warnings/${w.id}/submit`);
      await call(cmd, 'POST', `/api/v1/warnings/${w.id}/approve`);
      return call(duty, 'POST', `/api/v1/warnings/${w.id}/publish`);
    };
    const tick2 = (now) => call(adm, 'POST', '/api/v1/test/tick', { now, timers: ['warning'] });
    const end = async (w) => {
      await call(cmd, 'POST', `/api/v1/warnings/${w.id}/cancel`, { reason: '测试结束' });
      await tick2(0);
    };
    await fn({ srv, gw, duty, call, publish, tick: tick2, end });
  } finally {
    if (srv) await srv.stop();
    if (gwProc) gwProc.kill('SIGKILL');
  }
}

test('serve --channel-plans: residents by WeChat/app push, those who must answer by push then SMS; bad plans refused', async () => {
  await withSecondServer({ serveArgs: () => ['--wechat-webhook', `${aux.gwBase}/wechat`, '--sms-gateway', `${aux.gwBase}/sms`,
    '--channel-plans', 'residents=wechat,answer=wechat+sms', '--channel-rates', 'wechat=100,sms=100'] }, async ({ publish, tick, end }) => {
    await fetch(`${aux.gwBase}/requests`, { method: 'DELETE' });
    const w = await publish();
    const t0 = Date.now() + 1000;
    for (let k = 0; k < 3; k++) await tick(t0 + k * 1000);
    const reqs = (await gwRequests()).filter((q) => q.warning === w.identifier);
    const residents = reqs.filter((q) => !q.must_ack);
    assert.ok(residents.length >= 9, JSON.stringify(reqs.map((q) => q.channel)));
    assert.ok(residents.every((q) => q.channel === 'wechat'), 'residents by push only');
    assert.ok(reqs.filter((q) => q.must_ack).every((q) => q.channel === 'wechat'), 'push first for those who must answer');
    await end(w);
  });
  for (const bad of ['residents=sms+fax', 'pager=sms', 'answer=']) {
    const out = spawnSync(BIN, ['serve', '--db', S.db, '--listen', '127.0.0.1:1', '--channel-plans', bad], { encoding: 'utf8' });
    assert.equal(out.status, 2, `${bad}: ${out.stderr}`);
    assert.match(out.stderr, /--channel-plans: cannot read/);
  }
  // a plan no configured channel can carry is said at startup
  const warn = spawnSync(BIN, ['serve', '--db', S.db, '--listen', `127.0.0.1:${await freePort()}`,
    '--sms-gateway', `${aux.gwBase}/sms`, '--channel-plans', 'residents=wechat'], { encoding: 'utf8', timeout: 5000 });
  assert.match(warn.stderr, /no channel of the residents plan \(wechat\) is configured/);
  assert.doesNotMatch(warn.stderr, /answer plan/);
});

test('a slow gateway does not slow the round: its messages are in flight together', async () => {
  await withSecondServer({ gwArgs: ['--latency-ms', '300', '--delay-ms', '0'],
    serveArgs: (gw) => ['--sms-gateway', `${gw}/sms`, '--channel-rates', 'sms=100'] }, async ({ gw, duty, call, publish, tick, end }) => {
    const w = await publish();
    // one round: every SMS of the village at once (about 20 < 100/s), each
    // answered after 300 ms by the gateway (what else is due in the shared
    // database goes out too)
    const phones = Object.entries((await call(duty, 'GET', `/api/v1/warnings/${w.id}/deliveries?limit=1`)).counts)
      .filter(([kind]) => kind !== 'terminal').reduce((n, [, st]) => n + (st.pending ?? 0), 0);
    assert.ok(phones >= 16, `${phones} phones`);
    await tick(Date.now() + 1000);
    const mine = (await (await fetch(`${gw}/requests`)).json()).filter((q) => q.warning === w.identifier);
    assert.equal(mine.length, phones, JSON.stringify(mine.map((q) => q.to)));
    const stats = await (await fetch(`${gw}/stats`)).json();
    assert.ok(stats.max_in_flight > 1, `one at a time: ${JSON.stringify(stats)}`);
    const d = (await call(duty, 'GET', `/api/v1/warnings/${w.id}/deliveries?limit=1`)).counts;
    assert.equal(d.resident.pending ?? 0, 0, JSON.stringify(d));
    await end(w);
  });
});

test('a receipt that comes back before the round is recorded still counts: delivered, not sent again', async () => {
  await withSecondServer({ gwArgs: ['--receipt-first', '--answer-digits', '', '--delay-ms', '0'],
    serveArgs: (gw) => ['--sms-gateway', `${gw}/sms`, '--channel-rates', 'sms=100'] }, async ({ gw, duty, call, publish, tick, end }) => {
    const w = await publish();
    const t0 = Date.now() + 1000;
    await tick(t0);
    let c = (await call(duty, 'GET', `/api/v1/warnings/${w.id}/deliveries?limit=1`)).counts;
    assert.equal(c.resident.sent ?? 0, 0, JSON.stringify(c));
    assert.equal(c.resident.delivered, 10, JSON.stringify(c));
    assert.equal(c.informant.delivered, 1, 'the grid worker too');
    // those who must answer stay "sent" (delivered, not answered) and are
    // asked again after the wait; residents are not sent anything more
    await tick(t0 + 6 * MIN);
    const mine = (await (await fetch(`${gw}/requests`)).json()).filter((q) => q.warning === w.identifier);
    const residents = mine.filter((q) => !q.must_ack);
    assert.equal(residents.length, new Set(residents.map((q) => q.id)).size, 'one message per resident');
    c = (await call(duty, 'GET', `/api/v1/warnings/${w.id}/deliveries?limit=1`)).counts;
    assert.ok((c.responsible.sent ?? 0) > 0, JSON.stringify(c));
    await end(w);
  });
});

test('the outbox: a crash mid-send leaves the attempt recorded as interrupted, and its resend marked', async () => {
  const port = await freePort();
  const gw = `http://127.0.0.1:${port}`;
  // a gateway that holds every message 4 s before answering: time to kill the platform mid-send
  const gwProc = spawn(BIN, ['gateway-sim', '--listen', `127.0.0.1:${port}`, '--token', TOKEN, '--latency-ms', '4000', '--delay-ms', '0'],
    { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
  const args = ['--test-hooks', '--gateway-token', TOKEN, '--sms-gateway', `${gw}/sms`, '--channel-rates', 'sms=100'];
  let srv = null;
  try {
    for (let i = 0; i < 100; i++) {
      try { if ((await fetch(`${gw}/stats`)).status === 200) break; } catch { /* not yet */ }
      await sleep(100);
    }
    srv = await startServe(S.db, S.dir, args);
    const as = async (base, username) => (await api(base, 'POST', '/api/v1/login', { body: { username, password: PASSWORD } })).json.token;
    const ok = async (r) => { assert.ok(r.status < 300, desc(r)); return r.json; };
    let [duty, cmd, adm] = [await as(srv.base, 'duty_gaoping'), await as(srv.base, 'commander'), await as(srv.base, 'admin')];
    let w = await ok(await api(srv.base, 'POST', '/api/v1/warnings', { token: duty, body: {
      event_type: '山洪', level: 3, headline: uniq('山洪黄色预警'), description: '上游强降雨。',
      area: { regions: [V.code] }, expires: Date.now() + 3600000 } }));
    await ok(await api(srv.base, 'POST', `/api/v1/warnings/${w.id}/submit`, { token: duty }));
    await ok(await api(srv.base, 'POST', `/api/v1/warnings/${w.id}/approve`, { token: cmd }));
    w = await ok(await api(srv.base, 'POST', `/api/v1/warnings/${w.id}/publish`, { token: duty }));
    // a round of sends starts; once the gateway holds some of them, the platform dies
    const round = api(srv.base, 'POST', '/api/v1/test/tick', { token: adm, body: { now: Date.now() + 1000, timers: ['warning'] } }).catch(() => null);
    for (let i = 0; i < 100 && !((await (await fetch(`${gw}/stats`)).json()).max_in_flight > 0); i++) await sleep(50);
    srv.proc.kill('SIGKILL');
    await round;
    await new Promise((r) => (srv.exited ? r() : srv.proc.once('exit', r)));
    srv = await startServe(S.db, S.dir, args);
    [duty, adm] = [await as(srv.base, 'duty_gaoping'), await as(srv.base, 'admin')];
    const list = await ok(await api(srv.base, 'GET', `/api/v1/warnings/${w.id}/deliveries?limit=1000`, { token: duty }));
    const sms = list.items.filter((d) => d.kind !== 'terminal');
    let interrupted = null;
    for (const d of sms) {
      const a = await ok(await api(srv.base, 'GET', `/api/v1/deliveries/${d.id}/attempts`, { token: duty }));
      if (a.items.length) {
        assert.equal(a.items.length, 1, JSON.stringify(a.items));
        assert.equal(a.items[0].state, 'interrupted', 'recorded before it was sent, marked at the restart');
        assert.equal(a.items[0].channel, 'sms');
        assert.match(a.items[0].address, /^\*+\d{4}$/, 'the number masked');
        interrupted ??= { d, attempt: a.items[0] };
      }
    }
    assert.ok(interrupted, 'the attempts in flight at the crash are on record');
    // another county's duty officer does not see them; a bad id is refused
    const other = await as(srv.base, 'duty_zezhou');
    assert.equal((await api(srv.base, 'GET', `/api/v1/deliveries/${interrupted.d.id}/attempts`, { token: other })).status, 404);
    assert.equal((await api(srv.base, 'GET', '/api/v1/deliveries/x1/attempts', { token: duty })).status, 404);
    // the restart said so, in the audit log
    const au = await ok(await api(srv.base, 'GET', '/api/v1/audit?entity=outbox', { token: adm }));
    assert.ok(au.items.some((e) => e.action === 'interrupted' && e.actor.startsWith('node:')), JSON.stringify(au.items));
    // the next round sends it again, marked as a resend
    await ok(await api(srv.base, 'POST', '/api/v1/test/tick', { token: adm, body: { now: Date.now() + 2000, timers: ['warning'] } }));
    const again = await ok(await api(srv.base, 'GET', `/api/v1/deliveries/${interrupted.d.id}/attempts`, { token: duty }));
    assert.equal(again.items.length, 2, JSON.stringify(again.items));
    assert.equal(again.items[1].resend_of, interrupted.attempt.id);
    assert.equal(again.items[1].state, 'accepted');
    const seen = (await (await fetch(`${gw}/requests`)).json()).filter((q) => q.id === interrupted.d.id);
    assert.ok(seen.some((q) => q.resend === true), `the gateway was told it may be a duplicate: ${JSON.stringify(seen)}`);
    await ok(await api(srv.base, 'POST', `/api/v1/warnings/${w.id}/cancel`, { token: await as(srv.base, 'commander'), body: { reason: '测试结束' } }));
  } finally {
    if (srv) await srv.stop();
    gwProc.kill('SIGKILL');
  }
});

test('with one store connection (serve --pool 1) publishing and escalating complete', { timeout: 120_000 }, async () => {
  await withSecondServer({ serveArgs: () => ['--pool', '1', '--sms-gateway', `${aux.gwBase}/sms`, '--channel-rates', 'sms=100',
    '--callup', 'wait=1,escalate=2,cycles=1,retry=60'] }, async ({ duty, call, publish, tick, end }) => {
    // publishing resolves the area and creates the deliveries under the
    // write lock: it once took a second connection there and hung
    const w = await publish();
    assert.equal(w.state, 'published');
    const t0 = Date.now() + 1000;
    await tick(t0);
    await tick(t0 + 3 * MIN); // the silent ones, unanswered after 2 minutes: the next person
    const b = await call(duty, 'GET', `/api/v1/warnings/${w.id}/callup`);
    assert.ok(b.escalations > 0, JSON.stringify({ total: b.total, answered: b.answered, escalations: b.escalations }));
    await end(w);
  });
});
