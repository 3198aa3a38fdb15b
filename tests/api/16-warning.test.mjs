// 16 — M3 warnings: compose, submit, approve (by the level's approver, never
// the submitter), publish as CAP 1.2 / GB/T 35965.1, update, cancel,
// expire; the draft made from an alarm; CAP import from other agencies;
// the public Atom feed, CAP messages and list; scope and bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, mkdirSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  setupServer, cli, assertError, desc, uniq, login, REPO, CITY, ZEZHOU, GAOPING, startServe, sleep, postExpecting,
} from './harness.mjs';

const S = setupServer({ serveArgs: ['--test-hooks'] });
const HOUR = 3600000;

async function call(user, method, path, body, headers) {
  const auth = typeof user === 'string' ? await S.as(user) : user;
  return S.api(method, path, { auth, body, headers });
}
async function tick(now) {
  const r = await call('admin', 'POST', '/api/v1/test/tick', { now, timers: ['warning'] });
  assert.equal(r.status, 200, desc(r));
}

// A valid draft body for region `region`.
function draft(region, over = {}) {
  return {
    event_type: '暴雨', category: 'Met', level: 3,
    headline: uniq('暴雨黄色预警'), description: '预计未来6小时内将出现50毫米以上降雨，局地伴有雷电。',
    instruction: '注意防范山洪、地质灾害，危险区人员及时转移。',
    area: { regions: [region], polygons: [[[35.60, 112.80], [35.60, 112.95], [35.50, 112.95], [35.50, 112.80]]], circles: [[35.55, 112.87, 5]] },
    expires: Date.now() + 6 * HOUR,
    ...over,
  };
}

// Through submit -> approve -> publish; returns the published warning.
async function publishAs(author, approver, body) {
  let r = await call(author, 'POST', '/api/v1/warnings', body);
  assert.equal(r.status, 201, desc(r));
  const id = r.json.id;
  r = await call(author, 'POST', `/api/v1/warnings/${id}/submit`);
  assert.equal(r.status, 200, desc(r));
  r = await call(approver, 'POST', `/api/v1/warnings/${id}/approve`, { note: '同意发布' });
  assert.equal(r.status, 200, desc(r));
  r = await call(author, 'POST', `/api/v1/warnings/${id}/publish`);
  assert.equal(r.status, 200, desc(r));
  return r.json;
}

function validateCap(xml, profile = true) {
  const f = join(S.dir, `${uniq('cap')}.xml`);
  writeFileSync(f, xml);
  const out = cli(['cap', 'validate', ...(profile ? ['--profile', 'gbt35965'] : []), f]);
  assert.equal(out.status, 0, out.stdout + out.stderr);
  return out.stdout;
}

test('compose, submit, approve, publish: a GB/T 35965.1 CAP message, every step in the timeline', async () => {
  let r = await call('duty', 'POST', '/api/v1/warnings', draft(ZEZHOU));
  assert.equal(r.status, 201, desc(r));
  const w = r.json;
  assert.equal(w.state, 'draft');
  assert.equal(w.region_code, CITY, 'the issuer is the city duty officer');
  assert.equal(w.area.polygons[0].length, 5, 'the polygon is closed');
  assert.deepEqual(w.area.polygons[0][0], w.area.polygons[0][4]);
  assert.equal(w.level_label, '三级（黄色）');
  assert.equal(w.urgency, 'Expected');
  // the author cannot approve, and nothing is published before approval
  r = await call('duty', 'POST', `/api/v1/warnings/${w.id}/publish`);
  assertError(r, 409, 'conflict', 'state');
  r = await call('duty', 'POST', `/api/v1/warnings/${w.id}/submit`);
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.state, 'submitted');
  r = await call('commander', 'POST', `/api/v1/warnings/${w.id}/approve`, { note: '同意发布' });
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.approved_by, 'commander');
  r = await call('duty', 'POST', `/api/v1/warnings/${w.id}/publish`);
  assert.equal(r.status, 200, desc(r));
  const p = r.json;
  assert.equal(p.state, 'published');
  assert.match(p.identifier, /^140500\d{8}_\d{14}_\d$/);
  assert.equal(p.identifier.length, 31);
  assert.equal(p.sender, p.identifier.slice(0, 14));
  assert.equal(p.sender_name, '晋城市应急管理局');
  assert.match(p.sent, /\+08:00$/);
  assert.deepEqual(p.timeline.map((e) => e.action), ['created', 'submitted', 'approved', 'published']);
  assert.equal(p.timeline[2].note, '同意发布');
  // the CAP message validates (schema, rules and the Chinese profile)
  r = await call('duty', 'GET', `/api/v1/warnings/${w.id}/cap`);
  assert.equal(r.status, 200, desc(r));
  assert.match(r.headers.get('content-type'), /application\/cap\+xml/);
  validateCap(r.text);
  assert.match(r.text, new RegExp(`<identifier>${p.identifier}</identifier>`));
  assert.match(r.text, /<severity>Moderate<\/severity>/);
  assert.match(r.text, /<code>GB\/T 35965\.1-2018<\/code>/);
  assert.match(r.text, /<polygon>35\.6,112\.8 35\.6,112\.95 35\.5,112\.95 35\.5,112\.8 35\.6,112\.8<\/polygon>/);
  assert.match(r.text, /<circle>35\.55,112\.87 5<\/circle>/);
  assert.match(r.text, /<value>140525<\/value>/);
  // published warnings are read-only
  r = await call('duty', 'PUT', `/api/v1/warnings/${w.id}`, draft(ZEZHOU), { 'if-match': `"${p.version}"` });
  assertError(r, 409, 'conflict', 'state');
});

test('the approval table: red needs the city commander; blue a duty officer other than the submitter', async () => {
  // red by the city duty officer: a duty officer cannot approve red
  let r = await call('duty', 'POST', '/api/v1/warnings', draft(ZEZHOU, { level: 1 }));
  const red = r.json;
  await call('duty', 'POST', `/api/v1/warnings/${red.id}/submit`);
  r = await call('duty_zezhou', 'POST', `/api/v1/warnings/${red.id}/approve`);
  assertError(r, 404); // a city draft is not even visible to a county
  // a county commander may not approve red
  const u = uniq('zz_cmd');
  r = await call('admin', 'POST', '/api/v1/users', { username: u, password: 'Cmd-Passw0rd!', role: 'commander', region_code: ZEZHOU, name: '泽州指挥长' });
  assert.equal(r.status, 201, desc(r));
  const countyCmd = await login(S, u, 'Cmd-Passw0rd!');
  r = await call('duty_zezhou', 'POST', '/api/v1/warnings', draft(ZEZHOU, { level: 1 }));
  assert.equal(r.status, 201, desc(r));
  const countyRed = r.json;
  assert.equal(countyRed.region_code, ZEZHOU);
  await call('duty_zezhou', 'POST', `/api/v1/warnings/${countyRed.id}/submit`);
  r = await call(countyCmd, 'POST', `/api/v1/warnings/${countyRed.id}/approve`);
  assertError(r, 403);
  assert.match(r.json.error.message, /市级指挥长/);
  r = await call('commander', 'POST', `/api/v1/warnings/${countyRed.id}/approve`);
  assert.equal(r.status, 200, desc(r));
  // orange: the county commander may
  r = await call('duty_zezhou', 'POST', '/api/v1/warnings', draft(ZEZHOU, { level: 2 }));
  const orange = r.json;
  await call('duty_zezhou', 'POST', `/api/v1/warnings/${orange.id}/submit`);
  r = await call(countyCmd, 'POST', `/api/v1/warnings/${orange.id}/approve`);
  assert.equal(r.status, 200, desc(r));
  // blue: a duty officer may, but not the one who submitted it
  r = await call('duty', 'POST', '/api/v1/warnings', draft(ZEZHOU, { level: 4 }));
  const blue = r.json;
  await call('duty', 'POST', `/api/v1/warnings/${blue.id}/submit`);
  r = await call('duty', 'POST', `/api/v1/warnings/${blue.id}/approve`);
  assertError(r, 403);
  assert.match(r.json.error.message, /提交人以外/);
  // rejected back to draft with a reason, resubmitted, approved by a commander
  r = await call('commander', 'POST', `/api/v1/warnings/${blue.id}/reject`);
  assertError(r, 422, 'invalid', 'reason');
  r = await call('commander', 'POST', `/api/v1/warnings/${blue.id}/reject`, { reason: '范围偏大' });
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.state, 'draft');
  assert.equal(r.json.submitted_by, null);
  r = await call('duty', 'POST', `/api/v1/warnings/${blue.id}/submit`);
  r = await call('commander', 'POST', `/api/v1/warnings/${blue.id}/approve`);
  assert.equal(r.status, 200, desc(r));
  assert.deepEqual(r.json.timeline.map((e) => e.action), ['created', 'submitted', 'rejected', 'submitted', 'approved']);
  assert.equal(r.json.timeline[2].note, '范围偏大');
  // roles that only read
  assertError(await call('warehouse', 'POST', '/api/v1/warnings', draft(ZEZHOU)), 403);
  assertError(await call('enterprise', 'POST', `/api/v1/warnings/${blue.id}/publish`), 403);
  assert.equal((await call('warehouse', 'GET', `/api/v1/warnings/${blue.id}`)).status, 200);
});

test('scope: a county sees its own and the city\'s warnings, never another county\'s', async () => {
  let r = await call('duty_zezhou', 'POST', '/api/v1/warnings', draft(ZEZHOU));
  const zz = r.json;
  r = await call('duty_gaoping', 'POST', '/api/v1/warnings', draft(GAOPING));
  const gp = r.json;
  r = await call('duty', 'POST', '/api/v1/warnings', draft(GAOPING));
  const city = r.json;
  assertError(await call('duty_gaoping', 'GET', `/api/v1/warnings/${zz.id}`), 404);
  // the city's draft is the city's business until it is out
  assertError(await call('duty_gaoping', 'GET', `/api/v1/warnings/${city.id}`), 404);
  assertError(await call('duty_gaoping', 'POST', `/api/v1/warnings/${city.id}/submit`), 404);
  let list = (await call('duty_gaoping', 'GET', '/api/v1/warnings?limit=500')).json.items;
  assert.ok(list.some((w) => w.id === gp.id) && !list.some((w) => w.id === city.id));
  assert.ok(!list.some((w) => w.region_code.length < 6 && ['draft', 'submitted', 'approved'].includes(w.state)),
    'no draft of a region above');
  // once published it concerns the county: read-only there
  await call('duty', 'POST', `/api/v1/warnings/${city.id}/submit`);
  await call('commander', 'POST', `/api/v1/warnings/${city.id}/approve`);
  r = await call('duty', 'POST', `/api/v1/warnings/${city.id}/publish`);
  assert.equal(r.status, 200, desc(r));
  r = await call('duty_gaoping', 'GET', `/api/v1/warnings/${city.id}`);
  assert.equal(r.status, 200, 'the city\'s published warning');
  assert.deepEqual(r.json.actions, [], 'read-only to the county');
  assertError(await call('duty_gaoping', 'POST', `/api/v1/warnings/${city.id}/update`), 403);
  list = (await call('duty_gaoping', 'GET', '/api/v1/warnings?limit=500')).json.items;
  assert.ok(list.some((w) => w.id === city.id));
  assert.ok(!list.some((w) => w.region_code.startsWith(ZEZHOU)), 'no 泽州 warnings');
  // an area outside the issuer's region is refused
  r = await call('duty_zezhou', 'POST', '/api/v1/warnings', draft(GAOPING));
  assertError(r, 422, 'invalid', 'area');
});

test('bad input names the field; edits need the current version', async () => {
  const bad = [
    [{ event_type: undefined }, 'event_type'], [{ level: 5 }, 'level'], [{ level: '1' }, 'level'],
    [{ category: 'Weather' }, 'category'], [{ headline: '' }, 'headline'],
    [{ headline: '<b>暴雨</b>' }, 'headline'], [{ description: undefined }, 'description'],
    [{ expires: undefined }, 'expires'], [{ effective: Date.now() + 2 * HOUR, expires: Date.now() + HOUR }, 'expires'],
    [{ area: {} }, 'area'], [{ area: { regions: ['999999'] } }, 'area'],
    [{ area: { polygons: [[[95, 112], [35, 113], [36, 113]]] } }, 'area'],
    [{ area: { circles: [[35.5, 112.8, 0]] } }, 'area'], [{ area: { circles: [[35.5, 112.8]] } }, 'area'],
    [{ urgency: 'Soon' }, 'urgency'], [{ nonsense: 1 }, 'nonsense'],
  ];
  for (const [over, field] of bad) {
    const r = await call('duty', 'POST', '/api/v1/warnings', draft(ZEZHOU, over));
    assertError(r, 422, 'invalid', field);
  }
  assertError(await call('duty', 'POST', '/api/v1/warnings', '{not json'), 400);
  // edit a draft: If-Match required, stale refused
  let r = await call('duty', 'POST', '/api/v1/warnings', draft(ZEZHOU));
  const w = r.json;
  assertError(await call('duty', 'PUT', `/api/v1/warnings/${w.id}`, draft(ZEZHOU), { 'if-match': null }), 428);
  assertError(await call('duty', 'PUT', `/api/v1/warnings/${w.id}`, draft(ZEZHOU, { version: w.version }), { 'if-match': `"${w.version}"` }), 422, 'invalid', 'version');
  r = await call('duty', 'PUT', `/api/v1/warnings/${w.id}`, draft(ZEZHOU, { headline: '已修改的标题' }), { 'if-match': `"${w.version}"` });
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.headline, '已修改的标题');
  assertError(await call('duty', 'PUT', `/api/v1/warnings/${w.id}`, draft(ZEZHOU), { 'if-match': `"${w.version}"` }), 412);
  assertError(await call('duty', 'POST', `/api/v1/warnings/${w.id}/explode`), 404);
  // every step too: the version seen, or nothing happens
  assertError(await call('duty', 'POST', `/api/v1/warnings/${w.id}/submit`, {}, { 'if-match': null }), 428, 'if_match_required');
  assertError(await call('duty', 'POST', `/api/v1/warnings/${w.id}/submit`, {}, { 'if-match': `"${w.version}"` }), 412, 'stale_version');
  r = await call('duty', 'GET', `/api/v1/warnings/${w.id}`);
  assert.equal(r.headers.get('etag'), `"${r.json.version}"`, 'a warning read carries its ETag');
  assert.equal(r.json.state, 'draft', 'the refused steps changed nothing');
  assertError(await call('duty', 'GET', '/api/v1/warnings/999999999'), 404);
});

test('update and cancel: new CAP messages that reference the original; the feed and public list follow', async () => {
  const orig = await publishAs('duty', 'commander', draft(ZEZHOU, { level: 2, headline: uniq('森林火险橙色预警'), event_type: '森林火险', category: 'Fire' }));
  // update: a draft referencing it, through the same steps
  let r = await call('duty', 'POST', `/api/v1/warnings/${orig.id}/update`);
  assert.equal(r.status, 201, desc(r));
  const upd = r.json;
  assert.equal(upd.msg_type, 'Update');
  assert.equal(upd.references_id, orig.id);
  r = await call('duty', 'PUT', `/api/v1/warnings/${upd.id}`, draft(ZEZHOU, { level: 1, headline: uniq('森林火险升级为红色'), event_type: '森林火险', category: 'Fire' }), { 'if-match': `"${upd.version}"` });
  assert.equal(r.status, 200, desc(r));
  await call('duty', 'POST', `/api/v1/warnings/${upd.id}/submit`);
  await call('commander', 'POST', `/api/v1/warnings/${upd.id}/approve`);
  r = await call('duty', 'POST', `/api/v1/warnings/${upd.id}/publish`);
  assert.equal(r.status, 200, desc(r));
  const pub = r.json;
  r = await call('duty', 'GET', `/api/v1/warnings/${orig.id}`);
  assert.equal(r.json.state, 'updated');
  assert.equal(r.json.superseded_by, upd.id);
  const cap = (await call('duty', 'GET', `/api/v1/warnings/${upd.id}/cap`)).text;
  validateCap(cap);
  assert.match(cap, /<msgType>Update<\/msgType>/);
  assert.ok(cap.includes(`<references>${orig.sender},${orig.identifier},${orig.sent}</references>`), cap);
  // cancel: reason required; a duty officer may not cancel red; the commander may
  assertError(await call('commander', 'POST', `/api/v1/warnings/${upd.id}/cancel`), 422, 'invalid', 'reason');
  assertError(await call('duty', 'POST', `/api/v1/warnings/${upd.id}/cancel`, { reason: '降雨结束' }), 403);
  r = await call('commander', 'POST', `/api/v1/warnings/${upd.id}/cancel`, { reason: '火情已控制' });
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.state, 'cancelled');
  assert.equal(r.json.end_reason, '火情已控制');
  const cancelId = r.json.superseded_by;
  const ccap = (await call('duty', 'GET', `/api/v1/warnings/${cancelId}/cap`)).text;
  validateCap(ccap);
  assert.match(ccap, /<msgType>Cancel<\/msgType>/);
  assert.ok(ccap.includes(`<references>${pub.sender},${pub.identifier},${pub.sent}</references>`));
  // the public side: no login; the cancel message is in the feed, the cancelled warning is not active
  const feed = await S.api('GET', '/feeds/warnings.atom');
  assert.equal(feed.status, 200);
  assert.match(feed.headers.get('content-type'), /application\/atom\+xml/);
  assert.match(feed.text, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<feed xmlns="http:\/\/www.w3.org\/2005\/Atom">/);
  assert.ok(feed.text.includes(`/feeds/warnings/${cancelId}.xml`), 'cancel message listed');
  assert.ok(!feed.text.includes(`/feeds/warnings/${upd.id}.xml"`), 'the cancelled warning is not');
  const pubCap = await S.api('GET', `/feeds/warnings/${cancelId}.xml`);
  assert.equal(pubCap.status, 200);
  assert.equal(pubCap.text, ccap);
  assertError(await S.api('GET', '/feeds/warnings/abc.xml'), 404);
  const list = await S.api('GET', '/api/v1/public/warnings');
  assert.equal(list.status, 200);
  assert.ok(!list.json.items.some((w) => w.id === upd.id || w.id === orig.id));
  // drafts are never public
  const d = (await call('duty', 'POST', '/api/v1/warnings', draft(ZEZHOU))).json;
  assertError(await S.api('GET', `/feeds/warnings/${d.id}.xml`), 404);
});

test('expiry: a published warning expires on the warning clock and leaves the feed', async () => {
  const w = await publishAs('duty', 'commander', draft(ZEZHOU, { level: 4, expires: Date.now() + HOUR }));
  let list = (await S.api('GET', '/api/v1/public/warnings')).json.items;
  assert.ok(list.some((x) => x.id === w.id), 'active now');
  await tick(Date.now() + 2 * HOUR);
  const r = await call('duty', 'GET', `/api/v1/warnings/${w.id}`);
  assert.equal(r.json.state, 'expired');
  assert.equal(r.json.timeline.at(-1).action, 'expired');
  await tick(0);
  list = (await S.api('GET', '/api/v1/public/warnings')).json.items;
  assert.ok(!list.some((x) => x.id === w.id));
  assertError(await call('duty', 'POST', `/api/v1/warnings/${w.id}/cancel`, { reason: 'x' }), 409, 'conflict', 'state');
});

test('a warning draft from a monitoring alarm carries its level, area and facts', async () => {
  const admin = await S.as('admin');
  const ent = (await S.api('GET', `/api/v1/registries/enterprise?region=${ZEZHOU}&limit=1`, { auth: admin })).json.items[0];
  let r = await S.api('POST', '/api/v1/registries/monitored_object', { auth: admin, body: { code: uniq('OBJ'), name: '预警测试煤矿', kind: '煤矿', enterprise_id: ent.id, region_code: ent.region_code, lat: ent.lat, lon: ent.lon } });
  const obj = r.json;
  r = await S.api('POST', '/api/v1/registries/sensor', { auth: admin, body: { code: uniq('SEN'), name: '回风巷甲烷', object_id: obj.id, type: '甲烷', region_code: obj.region_code, lat: obj.lat, lon: obj.lon } });
  const sen = r.json;
  const gw = (await S.api('POST', '/api/v1/gateways', { auth: admin, body: { name: uniq('网关'), region_code: CITY } })).json;
  r = await S.api('POST', '/api/v1/readings', { headers: { 'x-api-key': gw.api_key }, body: { readings: [{ sensor: sen.code, ts: Date.now(), value: 1.6 }] } });
  assert.equal(r.json.accepted, 1, desc(r));
  const alarm = (await S.api('GET', `/api/v1/alarms?sensor_id=${sen.id}`, { auth: admin })).json.items[0];
  assert.ok(alarm, 'alarm raised');
  r = await call('duty', 'POST', `/api/v1/alarms/${alarm.id}/warning`);
  assert.equal(r.status, 201, desc(r));
  const w = r.json;
  assert.equal(w.state, 'draft');
  assert.equal(w.alarm_id, alarm.id);
  assert.equal(w.level, alarm.level);
  assert.equal(w.category, 'Safety');
  assert.equal(w.certainty, 'Observed');
  assert.deepEqual(w.area.regions, [ZEZHOU]);
  assert.equal(w.area.circles.length, 1);
  assert.ok(Math.abs(w.area.circles[0][0] - sen.lat) < 1e-9 && w.area.circles[0][2] === 3);
  assert.match(w.description, /1\.6%/);
  assert.match(w.headline, /二级（橙色）预警/);
  assert.equal(w.timeline[0].note, `由监测报警 #${alarm.id} 生成`);
  // not for roles without warning rights, not for alarms out of scope
  assertError(await call('supervisor', 'POST', `/api/v1/alarms/${alarm.id}/warning`), 403);
  assertError(await call('duty_gaoping', 'POST', `/api/v1/alarms/${alarm.id}/warning`), 404);
});

test('CAP import from another agency: checked, stored once, updates and cancels applied; restricted ones stay private', async () => {
  const base = readFileSync(join(REPO, 'tests/cap/rules/valid_gbt.xml'), 'utf8');
  const ident = (s) => base.replace(/14052541100000_20261205120000_0/g, `14052541100000_${s}_0`);
  const xml = ident('20261205130000').replace('<sent>2026-12-05T12:00:00+08:00</sent>', '<sent>2026-12-05T13:00:00+08:00</sent>')
    .replace(/<expires>[^<]*<\/expires>/, '<expires>2099-12-31T23:00:00+08:00</expires>');
  let r = await S.api('POST', '/api/v1/warnings/import', { auth: await S.as('duty'), body: xml, headers: { 'content-type': 'application/cap+xml' } });
  assert.equal(r.status, 201, desc(r));
  const w = r.json;
  assert.equal(w.source, 'import');
  assert.equal(w.state, 'published');
  assert.equal(w.level, 2, 'Severe is orange');
  assert.equal(w.region_code, ZEZHOU, 'from its geocode');
  assert.equal(w.area.polygons.length, 1);
  // the same message again
  r = await S.api('POST', '/api/v1/warnings/import', { auth: await S.as('duty'), body: xml });
  assertError(r, 409, 'conflict', 'identifier');
  // a bad one names the element
  r = await S.api('POST', '/api/v1/warnings/import', { auth: await S.as('duty'), body: xml.replace(/<polygon>[^<]*<\/polygon>/, '<polygon>35,112 36,113</polygon>') });
  assertError(r, 422, 'invalid', 'polygon');
  r = await S.api('POST', '/api/v1/warnings/import', { auth: await S.as('duty'), body: readFileSync(join(REPO, 'tests/cap/corpus/xee.cap')) });
  assertError(r, 422, 'invalid', 'DOCTYPE');
  // received warnings are read-only here
  assertError(await call('duty', 'POST', `/api/v1/warnings/${w.id}/cancel`, { reason: 'x' }), 409, 'conflict', 'source');
  // its cancel, from the same agency, ends it
  const cancel = ident('20261205140000').replace('<msgType>Alert</msgType>', '<msgType>Cancel</msgType>')
    .replace('<code>GB/T 35965.1-2018</code>', `<code>GB/T 35965.1-2018</code>\n  <references>14052541100000,14052541100000_20261205130000_0,2026-12-05T13:00:00+08:00</references>`)
    .replace('<sent>2026-12-05T12:00:00+08:00</sent>', '<sent>2026-12-05T14:00:00+08:00</sent>')
    .replace(/<expires>[^<]*<\/expires>/, '<expires>2099-12-31T23:00:00+08:00</expires>');
  r = await S.api('POST', '/api/v1/warnings/import', { auth: await S.as('duty'), body: cancel });
  assert.equal(r.status, 201, desc(r));
  assert.equal((await call('duty', 'GET', `/api/v1/warnings/${w.id}`)).json.state, 'cancelled');
  // a restricted message is received but never public
  const restricted = ident('20261205150000').replace('<scope>Public</scope>', '<scope>Restricted</scope>\n  <restriction>仅限应急部门</restriction>')
    .replace(/<expires>[^<]*<\/expires>/, '<expires>2099-12-31T23:00:00+08:00</expires>');
  r = await S.api('POST', '/api/v1/warnings/import', { auth: await S.as('duty'), body: restricted });
  assert.equal(r.status, 201, desc(r));
  assertError(await S.api('GET', `/feeds/warnings/${r.json.id}.xml`), 404);
  assert.ok(!(await S.api('GET', '/feeds/warnings.atom')).text.includes(`/feeds/warnings/${r.json.id}.xml`));
  // importing needs warning write rights
  assertError(await S.api('POST', '/api/v1/warnings/import', { auth: await S.as('warehouse'), body: xml }), 403);
});

test('the public side stays small whatever others send: a 900 KB warning is cut in the list and the feed; imports over 1 MiB refused', async () => {
  const base = readFileSync(join(REPO, 'tests/cap/rules/valid_gbt.xml'), 'utf8');
  const big = '暴雨'.repeat(150000); // 900 KB of text
  const ring = Array.from({ length: 1500 }, (_, i) => `${(35 + 0.3 * Math.sin(i / 240)).toFixed(5)},${(112.8 + 0.3 * Math.cos(i / 240)).toFixed(5)}`);
  ring.push(ring[0]);
  let xml = base.replace(/14052541100000_20261205120000_0/g, '14052541100000_20261205230000_0')
    .replace('<sent>2026-12-05T12:00:00+08:00</sent>', '<sent>2026-12-05T23:00:00+08:00</sent>')
    .replace(/<expires>[^<]*<\/expires>/, '<expires>2099-12-31T23:00:00+08:00</expires>')
    .replace(/<description>[^<]*<\/description>/, `<description>${big}</description>`)
    .replace(/<polygon>[^<]*<\/polygon>/, `<polygon>${ring.join(' ')}</polygon>`);
  assert.ok(Buffer.byteLength(xml) < 1 << 20, 'under the import limit');
  let r = await S.api('POST', '/api/v1/warnings/import', { auth: await S.as('duty'), body: xml });
  assert.equal(r.status, 201, desc(r));
  const id = r.json.id;
  r = await S.api('GET', '/api/v1/public/warnings');
  assert.equal(r.status, 200);
  assert.ok(r.buf.length < 600 * 1024, `public list ${r.buf.length} bytes`);
  const item = r.json.items.find((x) => x.id === id);
  assert.ok(item, 'listed');
  assert.equal(item.truncated, true);
  assert.ok(Buffer.byteLength(item.description) <= 2000 && item.description.endsWith('…'));
  assert.deepEqual(item.area.polygons, [], 'a large area by its regions only');
  const feed = await S.api('GET', '/feeds/warnings.atom');
  assert.ok(feed.buf.length < 600 * 1024, `feed ${feed.buf.length} bytes`);
  // the whole message is still there, in its CAP
  const cap = await S.api('GET', `/feeds/warnings/${id}.xml`);
  assert.ok(cap.text.includes(big));
  // an import over 1 MiB is refused before it is read
  xml = xml.replace(big, big + '大'.repeat(60000));
  r = await postExpecting(S.base, '/api/v1/warnings/import', (await S.as('duty')).token, xml, 'application/cap+xml');
  assert.equal(r.continued, false, 'refused before the body was sent');
  assertError(r, 413, 'too_large');
  // its agency lifts it again (received warnings are read-only here)
  const cancel = base.replace(/14052541100000_20261205120000_0/g, '14052541100000_20261205233000_0')
    .replace('<msgType>Alert</msgType>', '<msgType>Cancel</msgType>')
    .replace('<code>GB/T 35965.1-2018</code>', '<code>GB/T 35965.1-2018</code>\n  <references>14052541100000,14052541100000_20261205230000_0,2026-12-05T23:00:00+08:00</references>')
    .replace('<sent>2026-12-05T12:00:00+08:00</sent>', '<sent>2026-12-05T23:30:00+08:00</sent>');
  r = await S.api('POST', '/api/v1/warnings/import', { auth: await S.as('duty'), body: cancel });
  assert.equal(r.status, 201, desc(r));
  assert.equal((await call('duty', 'GET', `/api/v1/warnings/${id}`)).json.state, 'cancelled');
});

test('serve --cap-dir: a CAP file dropped in is received once; bad ones go to failed/ with the reason', async () => {
  const base = readFileSync(join(REPO, 'tests/cap/rules/valid_gbt.xml'), 'utf8');
  const xml = base.replace(/14052541100000_20261205120000_0/g, '14052541100000_20261205170000_0')
    .replace(/<expires>[^<]*<\/expires>/, '<expires>2099-12-31T23:00:00+08:00</expires>');
  const dir = join(S.dir, 'capdrop');
  mkdirSync(dir, { recursive: true });
  const srv = await startServe(S.db, S.dir, ['--cap-dir', dir]);
  const waitFor = async (f) => {
    for (let i = 0; i < 100; i++) {
      if (existsSync(f)) return f;
      await sleep(200);
    }
    assert.fail(`${f} never appeared: ${readdirSync(dir).join(',')}`);
  };
  try {
    writeFileSync(join(dir, 'a.xml.part'), xml); // still being copied: left alone
    writeFileSync(join(dir, 'a.xml'), xml);
    writeFileSync(join(dir, 'c.xml'), xml.replace(/<polygon>[^<]*<\/polygon>/, '<polygon>35,112 36,113</polygon>'));
    const rep = JSON.parse(readFileSync(await waitFor(join(dir, 'done', 'a.xml.report.json')), 'utf8'));
    assert.equal(rep.state, 'published', JSON.stringify(rep));
    assert.equal(rep.identifier, '14052541100000_20261205170000_0');
    writeFileSync(join(dir, 'b.xml'), xml); // the same message again
    const dup = JSON.parse(readFileSync(await waitFor(join(dir, 'done', 'b.xml.report.json')), 'utf8'));
    assert.match(dup.duplicate, /已接收过该预警（14052541100000_20261205170000_0/);
    await waitFor(join(dir, 'failed', 'c.xml'));
    assert.ok(existsSync(join(dir, 'a.xml.part')));
    const r = await call('duty', 'GET', `/api/v1/warnings/${rep.warning_id}`);
    assert.equal(r.status, 200, desc(r));
    assert.equal(r.json.source, 'import');
    assert.equal(r.json.region_code, ZEZHOU);
  } finally {
    await srv.stop();
  }
});

test('"actions" lists exactly what the caller may do next, by state, role, region and submitter', async () => {
  const acts = async (user, id) => {
    const r = await call(user, 'GET', `/api/v1/warnings/${id}`);
    assert.equal(r.status, 200, desc(r));
    return r.json.actions;
  };
  let r = await call('duty', 'POST', '/api/v1/warnings', draft(ZEZHOU));
  assert.equal(r.status, 201, desc(r));
  const id = r.json.id;
  assert.deepEqual(r.json.actions, ['edit', 'submit'], 'the write answer carries them too');
  assert.equal(r.json.region_code, CITY);
  assert.deepEqual(await acts('supervisor', id), [], 'read-only role');
  // a city draft is not the county's to see
  assertError(await call('duty_zezhou', 'GET', `/api/v1/warnings/${id}`), 404, 'not_found');
  assertError(await call('duty_zezhou', 'POST', `/api/v1/warnings/${id}/submit`), 404);
  r = await call('duty', 'POST', `/api/v1/warnings/${id}/submit`);
  assert.deepEqual(r.json.actions, [], 'duty may not approve yellow');
  assert.deepEqual(await acts('commander', id), ['approve', 'reject']);
  r = await call('commander', 'POST', `/api/v1/warnings/${id}/approve`);
  assert.deepEqual(await acts('duty', id), ['publish']);
  r = await call('duty', 'POST', `/api/v1/warnings/${id}/publish`);
  assert.equal(r.status, 200, desc(r));
  assert.deepEqual(r.json.actions, ['update'], 'duty may not cancel yellow');
  assert.deepEqual(await acts('commander', id), ['update', 'cancel']);
  // a commander's own submission: only reject is left to them
  r = await call('commander', 'POST', '/api/v1/warnings', draft(ZEZHOU));
  r = await call('commander', 'POST', `/api/v1/warnings/${r.json.id}/submit`);
  assert.deepEqual(r.json.actions, ['reject']);
  assertError(await call('commander', 'POST', `/api/v1/warnings/${r.json.id}/approve`), 403);
  // a received warning offers nothing
  const got = (await call('duty', 'GET', '/api/v1/warnings?limit=500')).json.items.find((w) => w.source === 'import');
  assert.ok(got, 'an imported warning from the test above');
  assert.deepEqual(await acts('admin', got.id), []);
});

test('an imported Cancel or Update ends only what the same agency sent us, never our own warnings', async () => {
  const ours = await publishAs('duty', 'commander', draft(ZEZHOU));
  assert.equal(ours.state, 'published');
  const base = readFileSync(join(REPO, 'tests/cap/rules/valid_gbt.xml'), 'utf8');
  const sender = base.match(/<sender>([^<]*)<\/sender>/)[1];
  const cancelOf = (ident, from, refSender) => base
    .replace(/14052541100000_20261205120000_0/g, ident)
    .replace(`<sender>${sender}</sender>`, `<sender>${from}</sender>`)
    .replace('<msgType>Alert</msgType>', '<msgType>Cancel</msgType>')
    .replace('<code>GB/T 35965.1-2018</code>', `<code>GB/T 35965.1-2018</code>\n  <references>${refSender},${ours.identifier},${ours.sent}</references>`)
    .replace(/<expires>[^<]*<\/expires>/, '<expires>2099-12-31T23:00:00+08:00</expires>');
  // another agency naming our message
  let r = await S.api('POST', '/api/v1/warnings/import', { auth: await S.as('duty'), body: cancelOf('14052541100000_20261205180000_0', sender, ours.sender) });
  assert.equal(r.status, 201, desc(r));
  // a message claiming to come from us
  r = await S.api('POST', '/api/v1/warnings/import', { auth: await S.as('duty'), body: cancelOf(ours.identifier.replace(/_\d$/, '_9'), ours.sender, ours.sender) });
  assert.equal(r.status, 201, desc(r));
  const now = (await call('duty', 'GET', `/api/v1/warnings/${ours.id}`)).json;
  assert.equal(now.state, 'published', 'still in force');
  assert.equal(now.superseded_by, null);
  // the agency's own real warning is not ended by its exercise cancel, only by a real one
  const theirs = base.replace(/14052541100000_20261205120000_0/g, '14052541100000_20261205190000_0')
    .replace('<sent>2026-12-05T12:00:00+08:00</sent>', '<sent>2026-12-05T19:00:00+08:00</sent>')
    .replace(/<expires>[^<]*<\/expires>/, '<expires>2099-12-31T23:00:00+08:00</expires>');
  r = await S.api('POST', '/api/v1/warnings/import', { auth: await S.as('duty'), body: theirs });
  assert.equal(r.status, 201, desc(r));
  const got = r.json;
  const cancelTheirs = (ident, status) => base.replace(/14052541100000_20261205120000_0/g, ident)
    .replace('<status>Actual</status>', `<status>${status}</status>`)
    .replace('<msgType>Alert</msgType>', '<msgType>Cancel</msgType>')
    .replace('<code>GB/T 35965.1-2018</code>', `<code>GB/T 35965.1-2018</code>\n  <references>${sender},14052541100000_20261205190000_0,2026-12-05T19:00:00+08:00</references>`)
    .replace(/<expires>[^<]*<\/expires>/, '<expires>2099-12-31T23:00:00+08:00</expires>');
  r = await S.api('POST', '/api/v1/warnings/import', { auth: await S.as('duty'), body: cancelTheirs('14052541100000_20261205191000_0', 'Exercise') });
  assert.equal(r.status, 201, desc(r));
  assert.equal((await call('duty', 'GET', `/api/v1/warnings/${got.id}`)).json.state, 'published', 'an exercise ends nothing real');
  r = await S.api('POST', '/api/v1/warnings/import', { auth: await S.as('duty'), body: cancelTheirs('14052541100000_20261205192000_0', 'Actual') });
  assert.equal(r.status, 201, desc(r));
  const ended = (await call('duty', 'GET', `/api/v1/warnings/${got.id}`)).json;
  assert.equal(ended.state, 'cancelled');
  assert.match(ended.timeline.at(-1).note, /被解除：14052541100000_20261205192000_0/);
});
