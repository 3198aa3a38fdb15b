// 02 — input validation (422 + error.field), malformed bodies (400), size
// limit (413), SQL metacharacters and Chinese text stored verbatim, LIKE
// wildcards in search matched literally.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  setupServer, REGISTRIES, regSchema, validRecord, assertError, desc, uniq, anyEnterprise,
  createRecord, count, creditCode, normTags, sleep,
} from './harness.mjs';

const S = setupServer();
const SH = '/api/v1/registries/shelter';

async function post(path, body, headers) {
  return S.api('POST', path, { auth: await S.as('admin'), body, headers });
}
async function shelter(override = {}, drop = []) {
  const b = validRecord(await S.schema(), 'shelter', { override });
  for (const k of drop) delete b[k];
  return b;
}

// Each case: [description, body-maker, expected field]
const invalid = [
  ['missing required name', () => shelter({}, ['name']), 'name'],
  ['missing required region_code', () => shelter({}, ['region_code']), 'region_code'],
  ['string for int', () => shelter({ capacity: '100' }), 'capacity'],
  ['float for int', () => shelter({ capacity: 1.5 }), 'capacity'],
  ['bool for int', () => shelter({ capacity: true }), 'capacity'],
  ['number for string', () => shelter({ name: 12345 }), 'name'],
  ['object for string', () => shelter({ manager: { a: 1 } }), 'manager'],
  ['null for required', () => shelter({ name: null }), 'name'],
  ['empty required string', () => shelter({ name: '' }), 'name'],
  ['string for real', () => shelter({ area: '12.5' }), 'area'],
  ['unknown field', () => shelter({ no_such_field: 'x' }), 'no_such_field'],
  ['enum not in options', () => shelter({ class: 'Ⅳ类' }), 'class'],
  ['status enum not in options', () => shelter({ status: '爆炸' }), 'status'],
  ['tags not in options', () => shelter({ facilities: ['应急供水', '游泳池'] }), 'facilities'],
  ['int below range', () => shelter({ capacity: -1 }), 'capacity'],
  ['int above range', () => shelter({ capacity: 1000001 }), 'capacity'],
  ['real above range', () => shelter({ area: 1e9 }), 'area'],
  ['bad phone (short)', () => shelter({ phone: '12345' }), 'phone'],
  ['bad phone (letters)', () => shelter({ phone: '1381234567a' }), 'phone'],
  ['bad phone (12 digits)', () => shelter({ phone: '138123456789' }), 'phone'],
  ['bad phone (prefix 12)', () => shelter({ phone: '12812345678' }), 'phone'],
  ['unknown region code', () => shelter({ region_code: '149999' }), 'region_code'],
  ['non-digit region code', () => shelter({ region_code: '14a525' }), 'region_code'],
  ['region code with SQL', () => shelter({ region_code: "1405' OR '1'='1" }), 'region_code'],
  ['region code as number', () => shelter({ region_code: 140525 }), 'region_code'],
  ['lat out of range', () => shelter({ lat: 91 }), 'lat'],
  ['lat below range', () => shelter({ lat: -90.5 }), 'lat'],
  ['lon out of range', () => shelter({ lon: 181 }), 'lon'],
  ['lat as string', () => shelter({ lat: '35.5' }), 'lat'],
  ['name too long', () => shelter({ name: '长'.repeat(400) }), 'name'],
];

for (const [what, mk, field] of invalid) {
  test(`422 ${what}`, async () => {
    const before = await count(S, 'shelter');
    const body = await mk();
    const r = await post(SH, body);
    assertError(r, 422, 'invalid', field);
    assert.equal(await count(S, 'shelter'), before, 'nothing written');
  });
}

test('422 on PUT/PATCH too', async () => {
  const admin = await S.as('admin');
  const { rec, etag } = await createRecord(S, admin, 'shelter');
  const r = await S.api('PATCH', `${SH}/${rec.id}`, { auth: admin, body: { capacity: 'many' }, headers: { 'if-match': etag } });
  assertError(r, 422, 'invalid', 'capacity');
  const r2 = await S.api('PATCH', `${SH}/${rec.id}`, { auth: admin, body: { bogus: 1 }, headers: { 'if-match': etag } });
  assertError(r2, 422, 'invalid', 'bogus');
  const g = await S.api('GET', `${SH}/${rec.id}`, { auth: admin });
  assert.deepEqual(g.json, rec, 'unchanged');
});

test('422 bad credit code', async () => {
  const schema = await S.schema();
  const good = creditCode('140525');
  const cases = [
    good.slice(0, 17) + (good[17] === '0' ? '1' : '0'), // wrong check digit
    good.slice(0, 17),                                    // 17 chars
    good.slice(0, 10) + 'I' + good.slice(11),             // I not in the charset
    '',
  ];
  for (const cc of cases) {
    const b = validRecord(schema, 'enterprise', { override: { credit_code: cc } });
    const r = await post('/api/v1/registries/enterprise', b);
    assertError(r, 422, 'invalid', 'credit_code');
  }
  const ok = await post('/api/v1/registries/enterprise', validRecord(schema, 'enterprise', { override: { credit_code: good } }));
  assert.equal(ok.status, 201, desc(ok));
});

test('422 hazard_source with a non-existent enterprise_id', async () => {
  const schema = await S.schema();
  for (const id of [999999999, 'abc', -1]) {
    const b = validRecord(schema, 'hazard_source', { refs: { enterprise: id } });
    const r = await post('/api/v1/registries/hazard_source', b);
    assertError(r, 422, 'invalid', 'enterprise_id');
  }
});

test('422 bad date / bool types', async () => {
  const schema = await S.schema();
  const b = validRecord(schema, 'expert', { override: { local_expert: 'yes' } });
  assertError(await post('/api/v1/registries/expert', b), 422, 'invalid', 'local_expert');
  const b2 = validRecord(schema, 'enterprise', { override: { major_hazard: 1 } });
  assertError(await post('/api/v1/registries/enterprise', b2), 422, 'invalid', 'major_hazard');
});

const malformed = [
  ['truncated JSON', '{"name":'],
  ['not JSON', 'hello'],
  ['empty body', ''],
  ['JSON array', '[]'],
  ['JSON array of object', '[{"name":"x"}]'],
  ['JSON string', '"x"'],
  ['JSON null', 'null'],
  ['trailing garbage', '{"name":"x"} xyz'],
  ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
  ['NUL in string', '{"name":"a\\u0000b"}'],
];
for (const [what, body] of malformed) {
  test(`400 ${what}`, async () => {
    const before = await count(S, 'shelter');
    const r = await post(SH, body, { 'content-type': 'application/json' });
    // NUL inside a string may be rejected as 422 (field name); everything else is malformed
    if (what === 'NUL in string') assertError(r, [400, 422], undefined);
    else assertError(r, 400, 'malformed');
    assert.equal(await count(S, 'shelter'), before, 'nothing written');
  });
}

test('400 duplicate keys', async () => {
  const b = await shelter();
  const text = JSON.stringify(b).replace(/^\{/, `{"name":"dup-${uniq()}",`);
  const before = await count(S, 'shelter');
  const r = await post(SH, text, { 'content-type': 'application/json' });
  assertError(r, 400, 'malformed');
  assert.equal(await count(S, 'shelter'), before);
});

test('413 body over 1 MiB', async () => {
  const admin = await S.as('admin');
  const b = await shelter({ facilities: undefined });
  b.address = 'x'.repeat(1024 * 1024 + 100);
  const text = JSON.stringify(b);
  // The server answers 413 on seeing the Content-Length and closes: a
  // client still writing the megabyte may meet the reset before it reads
  // the answer.  So, as a careful client does, ask first (Expect:
  // 100-continue) and send the body only if told to continue.
  const http = await import('node:http');
  const u = new URL(S.base);
  const r = await new Promise((res, rej) => {
    const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path: SH, agent: false,
      headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json',
        'content-length': Buffer.byteLength(text), expect: '100-continue' } }, (resp) => {
      const chunks = [];
      resp.on('data', (c) => chunks.push(c));
      resp.on('end', () => {
        const t = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = JSON.parse(t); } catch { /* not JSON */ }
        res({ status: resp.statusCode, text: t, json, continued: req.continued === true });
      });
    });
    req.on('continue', () => { req.continued = true; req.end(text); });
    req.on('error', rej);
  });
  assert.equal(r.continued, false, 'refused before the body was sent');
  assert.equal(r.status, 413, `got ${r.status} ${r.text.slice(0, 200)}`);
  if (r.json) assert.equal(r.json.error.code, 'too_large');
  // server still alive
  const h = await S.api('GET', '/healthz');
  assert.equal(h.status, 200);
});

test('413 chunked body over 1 MiB', async () => {
  const admin = await S.as('admin');
  const http = await import('node:http');
  const u = new URL(S.base);
  // stream the body in 64 KiB chunks and stop once the server answers
  const status = await new Promise((res, rej) => {
    let answered = false;
    const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path: SH, agent: false,
      headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (resp) => {
      answered = true;
      resp.resume();
      res(resp.statusCode);
    });
    req.on('error', (e) => { if (!answered) rej(e); });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    (async () => {
      req.write('{"name":"');
      while (!answered && sent < 4 * 1024 * 1024) {
        await new Promise((r) => req.write(chunk, r));
        sent += chunk.length;
        await sleep(5);
      }
      if (!answered) req.end('"}');
    })().catch(() => {});
  });
  assert.equal(status, 413);
  assert.equal((await S.api('GET', '/healthz')).status, 200);
});

const NASTY = [`'; DROP TABLE shelter;--`, `" OR 1=1 --`, `\\'); DELETE FROM audit; --`, `%_*?[]{}<script>alert(1)</script>`];
test('SQL metacharacters and Chinese text in every text field are stored verbatim', async () => {
  const admin = await S.as('admin');
  const schema = await S.schema();
  for (const reg of REGISTRIES) {
    const rs = regSchema(schema, reg);
    const refs = reg === 'hazard_source' ? { enterprise: await anyEnterprise(S) } : undefined;
    for (let i = 0; i < NASTY.length; i++) {
      const body = validRecord(schema, reg, { refs });
      for (const f of rs.fields) {
        if (f.type !== 'text' && f.type !== 'longtext') continue;
        let v = `${NASTY[i]} 应急管理“测试”「中文」${uniq()}`;
        if (f.maxlen) {
          // keep within maxlen bytes, unique for keys
          v = `${uniq()}${NASTY[i]}`;
          while (Buffer.byteLength(v) > f.maxlen) v = v.slice(0, -1);
        }
        body[f.name] = v;
      }
      const c = await S.api('POST', `/api/v1/registries/${reg}`, { auth: admin, body });
      assert.equal(c.status, 201, `${reg} #${i}: ${desc(c)}\n${JSON.stringify(body)}`);
      const g = await S.api('GET', `/api/v1/registries/${reg}/${c.json.id}`, { auth: admin });
      for (const f of rs.fields) {
        if (f.type !== 'text' && f.type !== 'longtext') continue;
        assert.equal(g.json[f.name], body[f.name], `${reg}.${f.name} verbatim`);
      }
      // find it by q with the nasty text
      const l = await S.api('GET', `/api/v1/registries/${reg}?q=${encodeURIComponent(body.name)}`, { auth: admin });
      assert.equal(l.status, 200, desc(l));
      assert.equal(l.json.total, 1, `${reg} q=${body.name}`);
    }
  }
  // the tables are still there
  for (const reg of REGISTRIES) {
    const r = await S.api('GET', `/api/v1/registries/${reg}?limit=1`, { auth: admin });
    assert.equal(r.status, 200, `${reg} still listable`);
  }
  const v = await S.api('GET', '/api/v1/audit/verify', { auth: admin });
  assert.equal(v.json.ok, true, desc(v));
});

test('SQL metacharacters in query parameters do not widen results', async () => {
  const admin = await S.as('admin');
  const total = await count(S, 'shelter');
  assert.ok(total > 1, 'demo has shelters');
  for (const q of [`' OR 1=1 --`, `" OR 1=1 --`, `') OR ('1'='1`]) {
    const r = await S.api('GET', `${SH}?q=${encodeURIComponent(q)}&limit=1000`, { auth: admin });
    assert.equal(r.status, 200, desc(r));
    // only names that really contain the text (an earlier test stores such names)
    assert.ok(r.json.total < total, `q=${q} does not match everything`);
    for (const it of r.json.items) assert.ok(it.name.includes(q), `q=${q} matched ${it.name}`);
    const f = await S.api('GET', `${SH}?status=${encodeURIComponent(q)}`, { auth: admin });
    assert.ok([200, 422].includes(f.status), desc(f));
    if (f.status === 200) assert.equal(f.json.total, 0, `status=${q}`);
    const rg = await S.api('GET', `${SH}?region=${encodeURIComponent(q)}`, { auth: admin });
    if (rg.status === 200) assert.equal(rg.json.total, 0, `region=${q}`);
    else assertError(rg, [400, 422]);
  }
  const s = await S.api('GET', `${SH}?sort=${encodeURIComponent('name; DROP TABLE shelter')}`, { auth: admin });
  assertError(s, [400, 422]);
  assert.equal(await count(S, 'shelter'), total);
});

test('search with % and _ matches literally', async () => {
  const admin = await S.as('admin');
  const u = uniq('通配');
  const mk = (name) => createRecord(S, admin, 'shelter', { name });
  await mk(`${u}100%达标`);
  await mk(`${u}100X达标`);
  await mk(`${u}_下划线`);
  await mk(`${u}A下划线`);
  const q = async (s) => {
    const r = await S.api('GET', `${SH}?q=${encodeURIComponent(s)}`, { auth: admin });
    assert.equal(r.status, 200, desc(r));
    return r.json.items.map((i) => i.name).sort();
  };
  assert.deepEqual(await q(`${u}100%达标`), [`${u}100%达标`]);
  assert.deepEqual(await q(`${u}_下划线`), [`${u}_下划线`]);
  assert.deepEqual(await q(`100%`), [`${u}100%达标`], 'q=100% only names containing "100%"');
  const pct = await S.api('GET', `${SH}?q=%25&limit=1000`, { auth: admin });
  assert.ok(pct.json.items.every((i) => i.name.includes('%')), 'q=% matches only names with %');
  const us = await S.api('GET', `${SH}?q=_&limit=1000`, { auth: admin });
  assert.ok(us.json.items.every((i) => i.name.includes('_')), 'q=_ matches only names with _');
  const bs = await S.api('GET', `${SH}?q=${encodeURIComponent('\\')}`, { auth: admin });
  assert.equal(bs.status, 200, desc(bs));
});

test('Chinese text in filters and tags round-trips', async () => {
  const admin = await S.as('admin');
  const schema = await S.schema();
  const rs = regSchema(schema, 'shelter');
  const fac = rs.fields.find((f) => f.name === 'facilities');
  const { rec, body } = await createRecord(S, admin, 'shelter', { override: { class: '综合性', facilities: fac.options.slice(0, 3) } });
  assert.equal(normTags(rec.facilities), fac.options.slice(0, 3).join('、'));
  const r = await S.api('GET', `${SH}?q=${encodeURIComponent(body.name)}&class=${encodeURIComponent('综合性')}`, { auth: admin });
  assert.equal(r.json.total, 1);
});

// Every registry, every field: the schema's rules are enforced.
for (const reg of REGISTRIES) {
  test(`field rules from the schema: ${reg}`, async () => {
    const admin = await S.as('admin');
    const schema = await S.schema();
    const rs = regSchema(schema, reg);
    const refs = reg === 'hazard_source' ? { enterprise: await anyEnterprise(S) } : undefined;
    const failures = [];
    const tryBad = async (what, field, mutate) => {
      const b = validRecord(schema, reg, { refs });
      mutate(b);
      const r = await S.api('POST', `/api/v1/registries/${reg}`, { auth: admin, body: b });
      if (r.status !== 422 || r.json?.error?.code !== 'invalid' || r.json?.error?.field !== field) failures.push(`${what}: expected 422 field=${field}, got ${desc(r)}`);
    };
    for (const f of rs.fields) {
      if (f.required && f.default === undefined) await tryBad(`missing ${f.name}`, f.name, (b) => { delete b[f.name]; });
      if (f.type === 'enum') await tryBad(`${f.name} not in options`, f.name, (b) => { b[f.name] = '不存在的选项'; });
      if (f.type === 'tags' && f.options) await tryBad(`${f.name} tag not in options`, f.name, (b) => { b[f.name] = [f.options[0], '不存在的选项']; });
      if (f.type === 'phone') await tryBad(`${f.name} bad phone`, f.name, (b) => { b[f.name] = '1234'; });
      if (f.type === 'credit') await tryBad(`${f.name} bad check digit`, f.name, (b) => { const c = b[f.name]; b[f.name] = c.slice(0, 17) + (c[17] === '1' ? '2' : '1'); });
      if (f.type === 'date') await tryBad(`${f.name} bad date`, f.name, (b) => { b[f.name] = '2024-02-30'; });
      if ((f.type === 'int' || f.type === 'real') && f.max !== undefined) await tryBad(`${f.name} above max`, f.name, (b) => { b[f.name] = f.type === 'int' ? Math.floor(f.max) + 1 : f.max * 1.5 + 1; });
      if ((f.type === 'int' || f.type === 'real') && f.min !== undefined) await tryBad(`${f.name} below min`, f.name, (b) => { b[f.name] = f.min - 1; });
      if (f.type === 'int') await tryBad(`${f.name} string`, f.name, (b) => { b[f.name] = '5'; });
      if (f.type === 'bool') await tryBad(`${f.name} string`, f.name, (b) => { b[f.name] = '是'; });
      if (f.type === 'text' || f.type === 'longtext') await tryBad(`${f.name} number`, f.name, (b) => { b[f.name] = 5; });
      if (f.type === 'text') await tryBad(`${f.name} too long`, f.name, (b) => { b[f.name] = 'x'.repeat((f.maxlen || 200) + 1); });
    }
    // a required field with a default may be omitted: the default is stored
    for (const f of rs.fields.filter((x) => x.default !== undefined)) {
      const b = validRecord(schema, reg, { refs });
      delete b[f.name];
      const r = await S.api('POST', `/api/v1/registries/${reg}`, { auth: admin, body: b });
      if (r.status !== 201) { failures.push(`omit ${f.name} (default ${f.default}): ${desc(r)}`); continue; }
      const want = f.type === 'bool' ? f.default === true || f.default === 'true' : f.type === 'int' ? Number(f.default) : f.default;
      if (r.json[f.name] !== want) failures.push(`default of ${f.name}: expected ${JSON.stringify(want)}, got ${JSON.stringify(r.json[f.name])}`);
    }
    assert.deepEqual(failures, [], `${reg}:\n  ${failures.join('\n  ')}`);
  });
}
