// 04 — optimistic concurrency: If-Match / ETag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setupServer, REGISTRIES, writable, assertError, desc, createRecord } from './harness.mjs';

const S = setupServer();

for (const reg of REGISTRIES) {
  test(`If-Match rules ${reg}`, async () => {
    const admin = await S.as('admin');
    const schema = await S.schema();
    const { rec, etag } = await createRecord(S, admin, reg);
    const path = `/api/v1/registries/${reg}/${rec.id}`;
    const body = writable(schema, reg, rec);
    body.lat = 35.55;

    // 428 without If-Match (PUT, PATCH, DELETE)
    assertError(await S.api('PUT', path, { auth: admin, body }), 428, 'if_match_required');
    assertError(await S.api('PATCH', path, { auth: admin, body: { lat: 35.56 } }), 428, 'if_match_required');
    assertError(await S.api('DELETE', path, { auth: admin }), 428, 'if_match_required');
    // "If-Match: *" would skip the lost-update check: refused like a missing header
    assertError(await S.api('PATCH', path, { auth: admin, body: { lat: 35.56 }, headers: { 'if-match': '*' } }), 428, 'if_match_required');
    assert.deepEqual((await S.api('GET', path, { auth: admin })).json, rec, 'unchanged after 428');

    // first update wins
    const u1 = await S.api('PUT', path, { auth: admin, body, headers: { 'if-match': etag } });
    assert.equal(u1.status, 200, desc(u1));
    const etag2 = u1.headers.get('etag');
    assert.ok(etag2 && etag2 !== etag, `ETag changes: ${etag} → ${etag2}`);
    assert.equal(etag2, `"${u1.json.version}"`);

    // a second officer with the old version gets 412, the record keeps the first update
    const stale = { ...body, lat: 35.99 };
    assertError(await S.api('PUT', path, { auth: admin, body: stale, headers: { 'if-match': etag } }), 412, 'stale_version');
    assertError(await S.api('PATCH', path, { auth: admin, body: { lat: 35.98 }, headers: { 'if-match': etag } }), 412, 'stale_version');
    assertError(await S.api('DELETE', path, { auth: admin, headers: { 'if-match': etag } }), 412, 'stale_version');
    assertError(await S.api('PUT', path, { auth: admin, body: stale, headers: { 'if-match': '"999999"' } }), 412, 'stale_version');
    const g = await S.api('GET', path, { auth: admin });
    assert.equal(g.status, 200);
    assert.deepEqual(g.json, u1.json, 'record unchanged after 412');
    assert.equal(g.headers.get('etag'), etag2);

    // garbage If-Match is not a match
    const bad = await S.api('PUT', path, { auth: admin, body: stale, headers: { 'if-match': 'garbage' } });
    assertError(bad, [400, 412]);
    assert.deepEqual((await S.api('GET', path, { auth: admin })).json, u1.json);

    // the current version deletes
    const d = await S.api('DELETE', path, { auth: admin, headers: { 'if-match': etag2 } });
    assert.equal(d.status, 204, desc(d));
  });
}

test('concurrent PATCHes with the same If-Match: exactly one wins', async () => {
  const admin = await S.as('admin');
  const { rec, etag } = await createRecord(S, admin, 'shelter');
  const path = `/api/v1/registries/shelter/${rec.id}`;
  const rs = await Promise.all(Array.from({ length: 8 }, (_, i) =>
    S.api('PATCH', path, { auth: admin, body: { capacity: 100 + i }, headers: { 'if-match': etag } })));
  const ok = rs.filter((r) => r.status === 200);
  const stale = rs.filter((r) => r.status === 412);
  assert.equal(ok.length, 1, `one 200, got ${rs.map((r) => r.status).join(',')}`);
  assert.equal(stale.length, 7);
  const g = await S.api('GET', path, { auth: admin });
  assert.equal(g.json.capacity, ok[0].json.capacity);
  assert.equal(g.json.version, rec.version + 1);
});

test('unquoted and weak If-Match forms', async () => {
  const admin = await S.as('admin');
  const { rec } = await createRecord(S, admin, 'shelter');
  const path = `/api/v1/registries/shelter/${rec.id}`;
  // RFC 9110: If-Match uses strong comparison; "*" matches any current version
  const star = await S.api('PATCH', path, { auth: admin, body: { capacity: 7 }, headers: { 'if-match': '*' } });
  assert.ok([200, 412, 428].includes(star.status), desc(star));
});

// A conditional read with the current ETag answers 304 and no body; after a
// change the old ETag gets the new record.
test('If-None-Match: 304 while unchanged, 200 after an update', async () => {
  const admin = await S.as('admin');
  const { rec, etag } = await createRecord(S, admin, 'shelter');
  const path = `/api/v1/registries/shelter/${rec.id}`;
  const nm = await S.api('GET', path, { auth: admin, headers: { 'if-none-match': etag } });
  assert.equal(nm.status, 304, desc(nm));
  assert.equal(nm.text, '');
  const u = await S.api('PATCH', path, { auth: admin, body: { capacity: 4321 }, headers: { 'if-match': etag } });
  assert.equal(u.status, 200, desc(u));
  const g = await S.api('GET', path, { auth: admin, headers: { 'if-none-match': etag } });
  assert.equal(g.status, 200, desc(g));
  assert.equal(g.json.capacity, 4321);
});
