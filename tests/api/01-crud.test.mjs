// 01 — CRUD, list (q / filters / sort / limit / offset / region), history,
// natural-key conflict, for every registry, built from GET /api/v1/schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  setupServer, REGISTRIES, M2_REGISTRIES, M3_REGISTRIES, TEST_REGISTRIES, ZEZHOU, GAOPING, regSchema, validRecord, writable, assertRecordHas,
  assertError, desc, uniq, anyEnterprise, createRecord,
} from './harness.mjs';

const S = setupServer();

test('schema lists every registry with typed fields', async () => {
  const schema = await S.schema();
  assert.ok(Array.isArray(schema.registries));
  const names = schema.registries.map((r) => r.name).sort();
  assert.deepEqual(names, [...REGISTRIES, ...M2_REGISTRIES, ...M3_REGISTRIES, ...TEST_REGISTRIES].sort());
  const types = new Set(['text', 'longtext', 'int', 'real', 'bool', 'enum', 'tags', 'phone', 'date', 'credit', 'ref']);
  for (const r of schema.registries) {
    for (const k of ['name', 'label', 'key_field', 'fields']) assert.ok(r[k] !== undefined, `${r.name}.${k}`);
    assert.match(r.label, /[\u4e00-\u9fff]/, `${r.name} has a Chinese label`);
    for (const f of r.fields) {
      assert.ok(types.has(f.type), `${r.name}.${f.name} type ${f.type}`);
      assert.equal(typeof f.required, 'boolean', `${r.name}.${f.name}.required`);
      assert.match(f.label, /[\u4e00-\u9fff]/, `${r.name}.${f.name} label`);
      if (f.type === 'enum') assert.ok(Array.isArray(f.options) && f.options.length > 0, `${r.name}.${f.name} options`);
      if (f.type === 'ref') assert.ok(f.ref, `${r.name}.${f.name} ref`);
    }
    assert.ok(r.fields.some((f) => f.name === r.key_field) || r.key_field === 'id', `${r.name} key_field is a field`);
  }
});

for (const reg of [...REGISTRIES, ...M3_REGISTRIES]) {
  test(`CRUD ${reg}`, async (t) => {
    const admin = await S.as('admin');
    const schema = await S.schema();
    const rs = regSchema(schema, reg);
    const refs = reg === 'hazard_source' ? { enterprise: await anyEnterprise(S) } : undefined;
    const base = `/api/v1/registries/${reg}`;
    const body = validRecord(schema, reg, { refs });

    // create
    const c = await S.api('POST', base, { auth: admin, body });
    assert.equal(c.status, 201, `POST ${base}: ${desc(c)}\n${JSON.stringify(body)}`);
    const rec = c.json;
    assert.ok(Number.isInteger(rec.id) && rec.id > 0, 'id');
    assert.ok(Number.isInteger(rec.version), 'version');
    assertRecordHas(rec, body, 'created');
    for (const k of ['region_name', 'created_at', 'updated_at', 'updated_by']) assert.ok(k in rec, `record has ${k}`);
    assert.equal(rec.updated_by, 'admin');
    assert.match(rec.region_name ?? '', /泽州/);
    const etag = c.headers.get('etag');
    assert.equal(etag, `"${rec.version}"`, 'ETag is the quoted version');
    const loc = c.headers.get('location');
    assert.ok(loc && loc.endsWith(`${base}/${rec.id}`), `Location ${loc}`);

    // get
    const g = await S.api('GET', `${base}/${rec.id}`, { auth: admin });
    assert.equal(g.status, 200, desc(g));
    assert.equal(g.headers.get('etag'), etag);
    assert.deepEqual(g.json, rec, 'GET returns what POST returned');

    // list: q finds it, total/limit/offset/next_offset shape
    const l = await S.api('GET', `${base}?q=${encodeURIComponent(body.name)}`, { auth: admin });
    assert.equal(l.status, 200, desc(l));
    assert.equal(l.json.total, 1, `q=${body.name}: ${desc(l)}`);
    assert.equal(l.json.items[0].id, rec.id);
    assert.equal(l.json.limit, 50, 'default limit 50');
    assert.equal(l.json.offset, 0);
    assert.equal(l.json.next_offset, null);

    // equality filter on the type field and the status field
    for (const ff of [rs.type_field, rs.status_field].filter(Boolean)) {
      const f = rs.fields.find((x) => x.name === ff);
      const v = Array.isArray(body[ff]) ? body[ff][0] : body[ff];
      const hit = await S.api('GET', `${base}?q=${encodeURIComponent(body.name)}&${ff}=${encodeURIComponent(v)}`, { auth: admin });
      assert.equal(hit.status, 200, desc(hit));
      assert.equal(hit.json.total, 1, `filter ${ff}=${v}`);
      if (f.type === 'enum' && f.options.length > 1) {
        const other = f.options.find((o) => o !== v);
        const miss = await S.api('GET', `${base}?q=${encodeURIComponent(body.name)}&${ff}=${encodeURIComponent(other)}`, { auth: admin });
        assert.equal(miss.status, 200, desc(miss));
        assert.equal(miss.json.total, 0, `filter ${ff}=${other} must exclude`);
      }
    }
    // region prefix filter
    const inReg = await S.api('GET', `${base}?q=${encodeURIComponent(body.name)}&region=${ZEZHOU}`, { auth: admin });
    assert.equal(inReg.json.total, 1, `region=${ZEZHOU}`);
    const outReg = await S.api('GET', `${base}?q=${encodeURIComponent(body.name)}&region=${GAOPING}`, { auth: admin });
    assert.equal(outReg.json.total, 0, `region=${GAOPING}`);

    // update with If-Match (PUT = full record)
    const upd = writable(schema, reg, rec);
    const textField = rs.fields.find((f) => (f.type === 'text' || f.type === 'longtext') && f.name !== 'name' && f.name !== rs.key_field);
    if (textField) upd[textField.name] = `已更新${uniq()}`.slice(0, 20);
    upd.lat = 35.6; upd.lon = 112.9;
    const u = await S.api('PUT', `${base}/${rec.id}`, { auth: admin, body: upd, headers: { 'if-match': etag } });
    assert.equal(u.status, 200, `PUT: ${desc(u)}`);
    assertRecordHas(u.json, upd, 'updated');
    assert.ok(u.json.version > rec.version, 'version increases');
    const etag2 = u.headers.get('etag');
    assert.equal(etag2, `"${u.json.version}"`);
    assert.notEqual(etag2, etag, 'ETag changes after update');
    const g2 = await S.api('GET', `${base}/${rec.id}`, { auth: admin });
    assertRecordHas(g2.json, upd, 'after PUT');

    // PATCH (partial) keeps the other fields
    const p = await S.api('PATCH', `${base}/${rec.id}`, { auth: admin, body: { lat: 35.7 }, headers: { 'if-match': etag2 } });
    assert.equal(p.status, 200, `PATCH: ${desc(p)}`);
    assert.equal(p.json.lat, 35.7);
    assertRecordHas(p.json, { ...upd, lat: 35.7 }, 'after PATCH');
    const etag3 = p.headers.get('etag');

    // history: newest first, shows create and update
    const h = await S.api('GET', `${base}/${rec.id}/history`, { auth: admin });
    assert.equal(h.status, 200, desc(h));
    const actions = h.json.items.map((i) => i.action);
    assert.ok(h.json.items.length >= 3, `history has create+update+patch: ${JSON.stringify(actions)}`);
    assert.match(actions.at(-1), /create|insert/i, 'oldest entry is the create');
    assert.match(actions[0], /update|patch/i, 'newest entry is the update');
    for (const i of h.json.items) for (const k of ['id', 'ts', 'actor', 'action', 'before', 'after']) assert.ok(k in i, `history item has ${k}`);
    assert.equal(h.json.items[0].actor, 'admin');
    assert.ok(h.json.items.at(-1).before === null || h.json.items.at(-1).before === undefined || Object.keys(h.json.items.at(-1).before).length === 0, 'create has no before');
    const ids = h.json.items.map((i) => i.id);
    assert.deepEqual([...ids].sort((a, b) => b - a), ids, 'newest first');

    // delete with If-Match
    const d = await S.api('DELETE', `${base}/${rec.id}`, { auth: admin, headers: { 'if-match': etag3 } });
    assert.equal(d.status, 204, `DELETE: ${desc(d)}`);
    assert.equal(d.text, '');
    const g3 = await S.api('GET', `${base}/${rec.id}`, { auth: admin });
    assertError(g3, 404, 'not_found');
    const d2 = await S.api('DELETE', `${base}/${rec.id}`, { auth: admin, headers: { 'if-match': etag3 } });
    assertError(d2, 404, 'not_found');
  });

  test(`list sort/limit/offset ${reg}`, async () => {
    const admin = await S.as('admin');
    const schema = await S.schema();
    const refs = reg === 'hazard_source' ? { enterprise: await anyEnterprise(S) } : undefined;
    const stem = uniq('排序');
    const names = [`${stem}-b`, `${stem}-c`, `${stem}-a`];
    for (const name of names) {
      const r = await S.api('POST', `/api/v1/registries/${reg}`, { auth: admin, body: validRecord(schema, reg, { refs, name }) });
      assert.equal(r.status, 201, desc(r));
    }
    const q = `q=${encodeURIComponent(stem)}&sort=name`;
    const asc = await S.api('GET', `/api/v1/registries/${reg}?${q}&order=asc`, { auth: admin });
    assert.equal(asc.status, 200, desc(asc));
    assert.deepEqual(asc.json.items.map((i) => i.name), [`${stem}-a`, `${stem}-b`, `${stem}-c`]);
    const p1 = await S.api('GET', `/api/v1/registries/${reg}?${q}&order=desc&limit=2`, { auth: admin });
    assert.equal(p1.status, 200, desc(p1));
    assert.deepEqual(p1.json.items.map((i) => i.name), [`${stem}-c`, `${stem}-b`]);
    assert.equal(p1.json.total, 3);
    assert.equal(p1.json.limit, 2);
    assert.equal(p1.json.next_offset, 2);
    const p2 = await S.api('GET', `/api/v1/registries/${reg}?${q}&order=desc&limit=2&offset=2`, { auth: admin });
    assert.deepEqual(p2.json.items.map((i) => i.name), [`${stem}-a`]);
    assert.equal(p2.json.offset, 2);
    assert.equal(p2.json.next_offset, null);
    assert.equal(p2.json.total, 3);
  });

  test(`natural key conflict ${reg}`, async () => {
    const admin = await S.as('admin');
    const schema = await S.schema();
    const rs = regSchema(schema, reg);
    const refs = reg === 'hazard_source' ? { enterprise: await anyEnterprise(S) } : undefined;
    const a = validRecord(schema, reg, { refs });
    const r1 = await S.api('POST', `/api/v1/registries/${reg}`, { auth: admin, body: a });
    assert.equal(r1.status, 201, desc(r1));
    const b = validRecord(schema, reg, { refs });
    b[rs.key_field] = a[rs.key_field];
    const r2 = await S.api('POST', `/api/v1/registries/${reg}`, { auth: admin, body: b });
    assertError(r2, 409, 'conflict');
  });
}

test('list parameters: limit bounds and unknown registry', async () => {
  const admin = await S.as('admin');
  const big = await S.api('GET', '/api/v1/registries/shelter?limit=1000', { auth: admin });
  assert.equal(big.status, 200, desc(big));
  assert.ok(big.json.items.length <= 1000);
  for (const bad of ['limit=0', 'limit=1001', 'limit=abc', 'offset=-1', 'order=sideways', 'sort=no_such_field']) {
    const r = await S.api('GET', `/api/v1/registries/shelter?${bad}`, { auth: admin });
    assertError(r, [400, 422], undefined);
  }
  const nf = await S.api('GET', '/api/v1/registries/no_such_registry', { auth: admin });
  assertError(nf, 404, 'not_found');
  const nid = await S.api('GET', '/api/v1/registries/shelter/999999999', { auth: admin });
  assertError(nid, 404, 'not_found');
  const badId = await S.api('GET', '/api/v1/registries/shelter/abc', { auth: admin });
  assertError(badId, [400, 404], undefined);
  const m = await S.api('DELETE', '/api/v1/schema', { auth: admin });
  assertError(m, 405, 'method_not_allowed');
});

test('geojson lists records with lat/lon inside bbox', async () => {
  const admin = await S.as('admin');
  const { rec } = await createRecord(S, admin, 'shelter', { override: { lat: 35.4321, lon: 112.8765 } });
  const r = await S.api('GET', `/api/v1/registries/shelter/geojson?q=${encodeURIComponent(rec.name)}&bbox=112.8,35.4,112.9,35.5`, { auth: admin });
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.type, 'FeatureCollection');
  assert.equal(r.json.features.length, 1);
  const f = r.json.features[0];
  assert.deepEqual(f.geometry.coordinates, [112.8765, 35.4321]);
  assert.equal(f.properties.id, rec.id);
  assert.equal(f.properties.registry, 'shelter');
  assert.equal(f.properties.name, rec.name);
  const out = await S.api('GET', `/api/v1/registries/shelter/geojson?q=${encodeURIComponent(rec.name)}&bbox=113,36,113.5,36.5`, { auth: admin });
  assert.equal(out.json.features.length, 0);
});
