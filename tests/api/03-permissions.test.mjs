// 03 — permission matrix (role x registry x read/write), county scoping,
// enterprise scoping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  setupServer, REGISTRIES, ROLES, ZEZHOU, GAOPING, validRecord, writable, assertError, desc,
  uniq, createRecord, count,
} from './harness.mjs';

const S = setupServer();

// Hard-coded expectations that matter (SPEC §1 + the brief); null = not fixed here,
// taken from /me.
const ALL = Object.fromEntries(REGISTRIES.map((r) => [r, true]));
const NONE = Object.fromEntries(REGISTRIES.map((r) => [r, false]));
const FIXED = {
  admin: { read: ALL, write: ALL },
  duty: { read: ALL, write: {} },
  commander: { read: ALL, write: NONE },
  enterprise: { read: { ...NONE, enterprise: true, hazard_source: true }, write: {} },
  informant: { read: {}, write: { enterprise: false, hazard_source: false } },
  expert: { read: {}, write: NONE },
  inspector: { read: {}, write: NONE },
};

function expected(role, perms, reg, act) {
  const fixed = FIXED[role]?.[act]?.[reg];
  const fromMe = (perms[reg] ?? []).includes(act);
  return { fixed, fromMe };
}

test('/me reports user, region and permissions for every role', async () => {
  for (const role of ROLES) {
    const me = await S.me(role);
    assert.equal(me.user.username, role);
    assert.equal(me.user.role, role);
    assert.match(me.user.role_label, /[\u4e00-\u9fff]/);
    assert.ok(me.user.region_code.startsWith('1405'), `${role} region ${me.user.region_code}`);
    assert.ok(me.user.region_name, 'region_name');
    assert.match(me.csrf, /^[0-9a-f]{64}$/);
    assert.equal(typeof me.permissions, 'object');
    for (const reg of REGISTRIES) {
      for (const act of ['read', 'write']) {
        const { fixed, fromMe } = expected(role, me.permissions, reg, act);
        if (fixed !== undefined) assert.equal(fromMe, fixed, `/me ${role} ${act} ${reg}`);
      }
      if ((me.permissions[reg] ?? []).includes('write')) assert.ok(me.permissions[reg].includes('read'), `${role} write implies read on ${reg}`);
    }
  }
  const ent = await S.me('enterprise');
  assert.ok(ent.user.enterprise_id > 0, 'enterprise user has enterprise_id');
  assert.equal(ent.user.region_code.length, 6, 'enterprise user region is a county');
  assert.equal((await S.me('duty_zezhou')).user.region_code, ZEZHOU);
  assert.equal((await S.me('duty_gaoping')).user.region_code, GAOPING);
});

for (const role of ROLES) {
  test(`permission matrix: ${role}`, async () => {
    const auth = await S.as(role);
    const me = await S.me(role);
    const schema = await S.schema();
    const region = me.user.region_code.length >= 6 ? me.user.region_code.slice(0, 6) : ZEZHOU;
    const failures = [];
    for (const reg of REGISTRIES) {
      const { fixed: fr, fromMe: mr } = expected(role, me.permissions, reg, 'read');
      const canRead = fr ?? mr;
      const l = await S.api('GET', `/api/v1/registries/${reg}`, { auth });
      if (canRead ? l.status !== 200 : l.status !== 403) failures.push(`GET ${reg}: expected ${canRead ? 200 : 403}, got ${desc(l)}`);
      if (!canRead && l.status === 403 && l.json?.error?.code !== 'forbidden') failures.push(`GET ${reg}: code ${l.json?.error?.code}`);
      if (fr !== undefined && fr !== mr) failures.push(`/me read ${reg} says ${mr}, expected ${fr}`);

      const { fixed: fw, fromMe: mw } = expected(role, me.permissions, reg, 'write');
      const canWrite = fw ?? mw;
      if (fw !== undefined && fw !== mw) failures.push(`/me write ${reg} says ${mw}, expected ${fw}`);
      if (role === 'enterprise' && reg === 'enterprise' && canWrite) {
        // an enterprise user edits its own enterprise
        const g = await S.api('GET', `/api/v1/registries/enterprise/${me.user.enterprise_id}`, { auth });
        const p = await S.api('PATCH', `/api/v1/registries/enterprise/${me.user.enterprise_id}`, { auth, body: { employees: 321 }, headers: { 'if-match': g.headers.get('etag') ?? '"0"' } });
        if (p.status !== 200) failures.push(`PATCH own enterprise: expected 200, got ${desc(p)}`);
        continue;
      }
      const refs = reg === 'hazard_source' ? { enterprise: role === 'enterprise' ? me.user.enterprise_id : await firstEnterprise(region) } : undefined;
      const body = validRecord(schema, reg, { region, refs });
      const before = await count(S, reg);
      const c = await S.api('POST', `/api/v1/registries/${reg}`, { auth, body });
      if (canWrite ? c.status !== 201 : c.status !== 403) failures.push(`POST ${reg}: expected ${canWrite ? 201 : 403}, got ${desc(c)}`);
      if (!canWrite && c.status === 403 && c.json?.error?.code !== 'forbidden') failures.push(`POST ${reg}: code ${c.json?.error?.code}`);
      if (!canWrite && (await count(S, reg)) !== before) failures.push(`POST ${reg}: denied but a record was written`);
    }
    assert.deepEqual(failures, [], `${role}:\n  ${failures.join('\n  ')}`);
  });
}

async function firstEnterprise(region) {
  const r = await S.api('GET', `/api/v1/registries/enterprise?region=${region}&limit=1`, { auth: await S.as('admin') });
  if (r.json.items.length) return r.json.items[0].id;
  return (await createRecord(S, await S.as('admin'), 'enterprise', { region })).rec.id;
}

test('non-admin roles cannot use users/audit endpoints', async () => {
  for (const role of ROLES.filter((r) => r !== 'admin')) {
    const auth = await S.as(role);
    assertError(await S.api('GET', '/api/v1/users', { auth }), 403, 'forbidden');
    assertError(await S.api('GET', '/api/v1/audit', { auth }), 403, 'forbidden');
    assertError(await S.api('GET', '/api/v1/audit/verify', { auth }), 403, 'forbidden');
    const u = await S.api('POST', '/api/v1/users', { auth, body: { username: uniq('u'), password: 'Xx-12345678', role: 'admin', region_code: '1405', name: '黑客' } });
    assertError(u, 403, 'forbidden');
  }
});

test('enterprise user sees exactly its own enterprise', async () => {
  const auth = await S.as('enterprise');
  const me = await S.me('enterprise');
  const l = await S.api('GET', '/api/v1/registries/enterprise?limit=1000', { auth });
  assert.equal(l.status, 200, desc(l));
  assert.equal(l.json.total, 1, 'enterprise list total');
  assert.equal(l.json.items.length, 1);
  assert.equal(l.json.items[0].id, me.user.enterprise_id);
  assert.equal(l.json.items[0].industry, '煤矿', 'demo enterprise user is tied to a coal mine');
  const hs = await S.api('GET', '/api/v1/registries/hazard_source?limit=1000', { auth });
  assert.equal(hs.status, 200, desc(hs));
  for (const h of hs.json.items) assert.equal(h.enterprise_id, me.user.enterprise_id, 'only own hazard sources');
});

test('enterprise user cannot read another enterprise nor create hazard sources for it', async () => {
  const auth = await S.as('enterprise');
  const me = await S.me('enterprise');
  const admin = await S.as('admin');
  const all = await S.api('GET', '/api/v1/registries/enterprise?limit=5', { auth: admin });
  const other = all.json.items.find((e) => e.id !== me.user.enterprise_id);
  assert.ok(other, 'another enterprise exists');
  assertError(await S.api('GET', `/api/v1/registries/enterprise/${other.id}`, { auth }), 404, 'not_found');
  assertError(await S.api('PATCH', `/api/v1/registries/enterprise/${other.id}`, { auth, body: { employees: 1 }, headers: { 'if-match': `"${other.version}"` } }), 404, 'not_found');
  assertError(await S.api('DELETE', `/api/v1/registries/enterprise/${other.id}`, { auth, headers: { 'if-match': `"${other.version}"` } }), 404, 'not_found');
  const after = await S.api('GET', `/api/v1/registries/enterprise/${other.id}`, { auth: admin });
  assert.deepEqual(after.json, other, 'other enterprise unchanged');

  const schema = await S.schema();
  const before = await count(S, 'hazard_source');
  const body = validRecord(schema, 'hazard_source', { region: me.user.region_code, refs: { enterprise: other.id } });
  const c = await S.api('POST', '/api/v1/registries/hazard_source', { auth, body });
  assertError(c, [403, 404, 422]);
  assert.equal(await count(S, 'hazard_source'), before, 'nothing written');

  // moving own hazard source to another enterprise is refused too
  const own = validRecord(schema, 'hazard_source', { region: me.user.region_code, refs: { enterprise: me.user.enterprise_id } });
  const mine = await S.api('POST', '/api/v1/registries/hazard_source', { auth, body: own });
  assert.equal(mine.status, 201, desc(mine));
  const mv = await S.api('PATCH', `/api/v1/registries/hazard_source/${mine.json.id}`, { auth, body: { enterprise_id: other.id }, headers: { 'if-match': mine.headers.get('etag') } });
  assertError(mv, [403, 404, 422]);
  const g = await S.api('GET', `/api/v1/registries/hazard_source/${mine.json.id}`, { auth: admin });
  assert.equal(g.json.enterprise_id, me.user.enterprise_id);
});

test('county scoping: duty_zezhou lists only 140525 records', async () => {
  const auth = await S.as('duty_zezhou');
  const admin = await S.as('admin');
  await createRecord(S, admin, 'shelter', { region: GAOPING });
  await createRecord(S, admin, 'shelter', { region: ZEZHOU });
  for (const reg of REGISTRIES) {
    const l = await S.api('GET', `/api/v1/registries/${reg}?limit=1000`, { auth });
    assert.equal(l.status, 200, `${reg}: ${desc(l)}`);
    for (const it of l.json.items) assert.ok(it.region_code.startsWith(ZEZHOU), `${reg} #${it.id} region ${it.region_code}`);
    const cityTotal = (await S.api('GET', `/api/v1/registries/${reg}?limit=1&region=${ZEZHOU}`, { auth: admin })).json.total;
    assert.equal(l.json.total, cityTotal, `${reg} total equals admin's region=${ZEZHOU} total`);
    // asking for another county's prefix gives nothing
    const x = await S.api('GET', `/api/v1/registries/${reg}?region=${GAOPING}`, { auth });
    if (x.status === 200) assert.equal(x.json.total, 0, `${reg} region=${GAOPING}`);
    else assertError(x, [403, 404, 422]);
  }
  const sh = await S.api('GET', '/api/v1/registries/shelter?limit=1000', { auth });
  assert.ok(sh.json.total >= 1);
});

test('county scoping: GET/PUT/PATCH/DELETE of another county\'s record → 404, unchanged', async () => {
  const auth = await S.as('duty_zezhou');
  const admin = await S.as('admin');
  const schema = await S.schema();
  const { rec, etag } = await createRecord(S, admin, 'shelter', { region: GAOPING });
  const path = `/api/v1/registries/shelter/${rec.id}`;
  assertError(await S.api('GET', path, { auth }), 404, 'not_found');
  assertError(await S.api('GET', `${path}/history`, { auth }), 404, 'not_found');
  const put = writable(schema, 'shelter', rec);
  put.name = `${rec.name}-改`;
  assertError(await S.api('PUT', path, { auth, body: put, headers: { 'if-match': etag } }), 404, 'not_found');
  const put2 = { ...put, region_code: ZEZHOU };
  assertError(await S.api('PUT', path, { auth, body: put2, headers: { 'if-match': etag } }), 404, 'not_found');
  assertError(await S.api('PATCH', path, { auth, body: { capacity: 1 }, headers: { 'if-match': etag } }), 404, 'not_found');
  assertError(await S.api('DELETE', path, { auth, headers: { 'if-match': etag } }), 404, 'not_found');
  const g = await S.api('GET', path, { auth: admin });
  assert.equal(g.status, 200);
  assert.deepEqual(g.json, rec, 'record unchanged');
  // and a 高平 user cannot see a 泽州 record either
  const z = await createRecord(S, admin, 'rescue_team', { region: ZEZHOU });
  assertError(await S.api('GET', `/api/v1/registries/rescue_team/${z.rec.id}`, { auth: await S.as('duty_gaoping') }), 404, 'not_found');
});

test('county scoping: creating or moving a record into another county is refused', async () => {
  const auth = await S.as('duty_zezhou');
  const admin = await S.as('admin');
  const schema = await S.schema();
  const body = validRecord(schema, 'shelter', { region: GAOPING });
  const c = await S.api('POST', '/api/v1/registries/shelter', { auth, body });
  assertError(c, [403, 422]);
  if (c.status === 422) assert.equal(c.json.error.field, 'region_code');
  const found = await S.api('GET', `/api/v1/registries/shelter?q=${encodeURIComponent(body.name)}`, { auth: admin });
  assert.equal(found.json.total, 0, 'nothing written');
  // city-level region code is outside a county user's region as well
  const c2 = await S.api('POST', '/api/v1/registries/shelter', { auth, body: { ...body, region_code: '1405' } });
  assertError(c2, [403, 422]);
  // move own record to 高平
  const own = await S.api('POST', '/api/v1/registries/shelter', { auth, body: validRecord(schema, 'shelter', { region: ZEZHOU }) });
  assert.equal(own.status, 201, desc(own));
  const mv = await S.api('PATCH', `/api/v1/registries/shelter/${own.json.id}`, { auth, body: { region_code: GAOPING }, headers: { 'if-match': own.headers.get('etag') } });
  assertError(mv, [403, 422]);
  const g = await S.api('GET', `/api/v1/registries/shelter/${own.json.id}`, { auth: admin });
  assert.equal(g.json.region_code, ZEZHOU);
  assert.equal(g.json.version, own.json.version);
});

test('county scoping for CSV export, geojson, regions and audit history', async () => {
  const auth = await S.as('duty_zezhou');
  const admin = await S.as('admin');
  const { rec } = await createRecord(S, admin, 'shelter', { region: GAOPING, override: { lat: 35.8, lon: 112.9 } });
  const csv = await S.api('GET', '/api/v1/registries/shelter/export.csv', { auth });
  assert.equal(csv.status, 200, desc(csv));
  assert.ok(!csv.text.includes(rec.name), 'CSV export excludes other county');
  const gj = await S.api('GET', '/api/v1/registries/shelter/geojson?limit=1000', { auth });
  assert.equal(gj.status, 200, desc(gj));
  assert.ok(!gj.json.features.some((f) => f.properties.id === rec.id), 'geojson excludes other county');
  assertError(await S.api('GET', `/api/v1/regions/${GAOPING}`, { auth }), 404, 'not_found');
  const own = await S.api('GET', `/api/v1/regions/${ZEZHOU}`, { auth });
  assert.equal(own.status, 200, desc(own));
  assert.equal(own.json.code, ZEZHOU);
  assert.match(own.json.name, /泽州/);
  const self = await S.api('GET', '/api/v1/regions', { auth });
  assert.equal(self.status, 200, desc(self));
  assert.deepEqual(self.json.items.map((r) => r.code), [ZEZHOU], 'without parent: the caller\'s own region');
  const up = await S.api('GET', '/api/v1/regions?parent=1405', { auth });
  if (up.status === 200) for (const r of up.json.items) assert.ok(r.code.startsWith(ZEZHOU), `county user sees ${r.code}`);
  else assertError(up, [403, 404]);
  const kids = await S.api('GET', '/api/v1/regions?parent=1405', { auth: admin });
  assert.equal(kids.status, 200, desc(kids));
  const codes = kids.json.items.map((r) => r.code);
  for (const c of [ZEZHOU, GAOPING, '140521']) assert.ok(codes.includes(c), `1405 has child ${c}`);
  const b = await S.api('GET', '/api/v1/map/boundaries', { auth });
  assert.equal(b.status, 200, desc(b));
  assert.equal(b.json.type, 'FeatureCollection');
  for (const f of b.json.features) assert.ok(String(f.properties.code).startsWith(ZEZHOU), `boundary ${f.properties.code}`);
});

test('supervisor_qinshui (county supervisor) is scoped to 140521', async () => {
  const auth = await S.as('supervisor_qinshui');
  const l = await S.api('GET', '/api/v1/registries/enterprise?limit=1000', { auth });
  assert.equal(l.status, 200, desc(l));
  for (const it of l.json.items) assert.ok(it.region_code.startsWith('140521'), `enterprise ${it.id} in ${it.region_code}`);
  const schema = await S.schema();
  const c = await S.api('POST', '/api/v1/registries/enterprise', { auth, body: validRecord(schema, 'enterprise', { region: ZEZHOU }) });
  assertError(c, [403, 422]);
  const ok = await S.api('POST', '/api/v1/registries/enterprise', { auth, body: validRecord(schema, 'enterprise', { region: '140521' }) });
  assert.equal(ok.status, 201, desc(ok));
});
