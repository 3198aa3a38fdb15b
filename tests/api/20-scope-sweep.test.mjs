// 20 — the scope sweep.  Every demo role calls every GET route of every
// module (discovered from the OpenAPI document the server generates from
// the module descriptors, so the modules of later issues are swept when
// they land) — lists, details, boards, exports, GeoJSON — with ids of
// records all over the city, and the test fails on any row outside the
// caller's region (or, for an enterprise user, its enterprise), any field
// the role may not see (a vulnerable resident's tags, the names on a
// call-up board, the members of an alarm group), and any draft of a
// region above the caller's.  The city is the demo's, with alarms, a work
// order, rejects and warnings (drafts, published, delivered) made first in
// two counties.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setupServer, ZEZHOU, GAOPING, CITY, desc, uniq, parseCsv } from './harness.mjs';

const S = setupServer();
const HOUR = 3600000;

async function call(user, method, path, body, headers) {
  return S.api(method, path, { auth: await S.as(user), body, headers });
}
async function ok(r, status = 200) {
  assert.equal(r.status, status, desc(r));
  return r.json;
}

// A village (12 digits) with residents in a county: the first one the
// registry lists.
async function villageOf(county) {
  const r = await ok(await call('admin', 'GET', `/api/v1/registries/resident?region=${county}&limit=1`));
  return r.items[0].region_code;
}

async function makeWorld() {
  const key = (await ok(await call('admin', 'POST', '/api/v1/gateways', { name: '扫描网关', region_code: CITY }), 201)).api_key;
  const post = (readings) => S.api('POST', '/api/v1/readings', { body: { readings }, headers: { 'x-api-key': key } });
  // gas sensors: the enterprise's own, another mine's in the same county, one in 高平
  const own = (await ok(await call('enterprise', 'GET', '/api/v1/registries/sensor?type=甲烷&limit=5'))).items;
  assert.ok(own.length, 'the enterprise has gas sensors');
  const county = own[0].region_code.slice(0, 6);
  const others = (await ok(await call('admin', 'GET', `/api/v1/registries/sensor?type=甲烷&region=${county}&limit=200`))).items
    .filter((s) => s.enterprise_id !== own[0].enterprise_id);
  const gp = (await ok(await call('admin', 'GET', `/api/v1/registries/sensor?type=甲烷&region=${GAOPING}&limit=5`))).items;
  assert.ok(others.length && gp.length);
  const now = Date.now();
  const r = await post([own[0], others[0], gp[0]].map((s) => ({ sensor: s.code, ts: now - 1000, value: 1.8 }))
    .concat([{ sensor: 'NO-SUCH-SENSOR', ts: now, value: 1 }, { sensor: others[1]?.code ?? others[0].code, ts: now, value: 1e9 }]));
  assert.equal(r.status, 200, desc(r));
  // an alarm of 高平 closed as a fault: a work order there
  const alarms = (await ok(await call('admin', 'GET', '/api/v1/alarms?limit=100'))).items;
  const ga = alarms.find((a) => a.region_code.startsWith(GAOPING));
  assert.ok(ga, 'an alarm in 高平');
  await ok(await call('admin', 'POST', `/api/v1/alarms/${ga.id}/acknowledge`, {}, { 'if-match': `"${ga.version}"` }));
  const g2 = await ok(await call('admin', 'GET', `/api/v1/alarms/${ga.id}`));
  await ok(await call('admin', 'POST', `/api/v1/alarms/${ga.id}/close`, { verdict: 'fault', reason: '传感器漂移' }, { 'if-match': `"${g2.version}"` }));
  // warnings: a 泽州 draft, a 高平 one published, a city one published over
  // a village of each county (deliveries in both), a city draft
  const draft = (region, area) => ({ event_type: '暴雨', category: 'Met', level: 3, headline: uniq('扫描预警'),
    description: '扫描用预警。', instruction: '注意防范。', area: { regions: [area ?? region] }, expires: now + 6 * HOUR });
  await ok(await call('duty_zezhou', 'POST', '/api/v1/warnings', draft(ZEZHOU)), 201);
  const publish = async (author, body) => {
    const w = await ok(await call(author, 'POST', '/api/v1/warnings', body), 201);
    await ok(await call(author, 'POST', `/api/v1/warnings/${w.id}/submit`, {}, { 'if-match': `"${w.version}"` }));
    let cur = await ok(await call('commander', 'GET', `/api/v1/warnings/${w.id}`));
    await ok(await call('commander', 'POST', `/api/v1/warnings/${w.id}/approve`, {}, { 'if-match': `"${cur.version}"` }));
    cur = await ok(await call(author, 'GET', `/api/v1/warnings/${w.id}`));
    await ok(await call(author, 'POST', `/api/v1/warnings/${w.id}/publish`, {}, { 'if-match': `"${cur.version}"` }));
    return w.id;
  };
  await publish('duty_gaoping', draft(GAOPING, await villageOf(GAOPING)));
  const city = draft(CITY);
  city.area = { regions: [await villageOf(ZEZHOU), await villageOf(GAOPING)] };
  await publish('duty', city);
  await ok(await call('duty', 'POST', '/api/v1/warnings', draft(CITY)), 201);
  return { ownSensors: new Set((await ok(await call('enterprise', 'GET', '/api/v1/registries/sensor?limit=1000'))).items.map((s) => s.id)) };
}

async function routes() {
  const doc = await ok(await S.api('GET', '/api/v1/openapi.json'));
  const out = [];
  for (const [pattern, item] of Object.entries(doc.paths)) {
    const op = item.get;
    if (!op || (Array.isArray(op.security) && op.security.length === 0) || op['x-test-hook']) continue;
    if (pattern === '/api/v1/events') continue; // a stream; its filter is tested in 09
    out.push({ pattern, perm: op['x-permission'] });
  }
  return out;
}

// Query parameters some routes need to answer at all.
const NEEDS = {
  '/api/v1/map': 'bbox=110,34,115,37&layers=sensors,alarms,objects,hazards,resources',
  '/api/v1/monitor/health': `day=${new Date(Date.now() + 8 * HOUR).toISOString().slice(0, 10)}`,
  '/api/v1/sensors/{id}/history': 'resolution=raw',
};
// Where the ids of a detail route come from (otherwise: the pattern up to "/{id}").
const LIST_OF = { '/api/v1/sensors': '/api/v1/sensors/latest', '/api/v1/regions': null };

const PUBLISHED = new Set(['published', 'updated', 'cancelled', 'expired']);

function violations(body, who, world) {
  const out = [];
  const region = who.user.region_code;
  const ent = who.user.enterprise_id;
  const hidden = new Set(Object.values(who.hidden_fields ?? {}).flat());
  const board = !(who.hidden_fields?.resident ?? []).includes('vulnerable')
    && (who.permissions.resident ?? []).includes('read') && (who.permissions.responsible_person ?? []).includes('read');
  const visit = (o, path) => {
    if (typeof o.region_code === 'string' && !o.region_code.startsWith(region)) {
      const above = region.startsWith(o.region_code);
      const published = typeof o.msg_type === 'string' && PUBLISHED.has(o.state);
      if (!(above && published)) out.push(`${path}: region ${o.region_code} outside ${region}${above ? ' (a draft above)' : ''}`);
    }
    if (ent && typeof o.enterprise_id === 'number' && o.enterprise_id !== ent) out.push(`${path}: enterprise ${o.enterprise_id}`);
    if (ent && typeof o.sensor_id === 'number' && !world.ownSensors.has(o.sensor_id)) out.push(`${path}: sensor ${o.sensor_id} of another`);
    for (const f of hidden) {
      if (f in o && (typeof o[f] === 'string' || Array.isArray(o[f]))) out.push(`${path}.${f}: a field the role may not read`);
    }
    if (Array.isArray(o.people) && !board) out.push(`${path}.people: names on the board`);
    if (Array.isArray(o.members) && !(who.permissions.rule ?? []).includes('read')) out.push(`${path}.members: group members`);
  };
  const walk = (v, path) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (v && typeof v === 'object') {
      visit(v, path);
      for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
    }
  };
  walk(body, '$');
  return out;
}

test('every role × every GET route: no row outside the caller\'s region or enterprise, no field it may not see', async () => {
  const world = await makeWorld();
  const all = await routes();
  const registries = (await S.schema()).registries.map((r) => r.name);
  // ids from all over the city (as the administrator sees them): a few per county
  const idCache = new Map();
  const idsFor = async (listPath) => {
    if (!idCache.has(listPath)) {
      const r = await call('admin', 'GET', `${listPath}${listPath.includes('?') ? '&' : '?'}limit=1000`);
      const items = Array.isArray(r.json?.items) ? r.json.items : Array.isArray(r.json) ? r.json : [];
      const byCounty = new Map();
      for (const it of items) {
        const k = String(it.region_code ?? '').slice(0, 6);
        if (!byCounty.has(k)) byCounty.set(k, []);
        if (byCounty.get(k).length < 2) byCounty.get(k).push(it.id);
      }
      idCache.set(listPath, [...byCounty.values()].flat().slice(0, 12));
    }
    return idCache.get(listPath);
  };
  const urls = [];
  for (const r of all) {
    for (const reg of r.pattern.includes('{reg}') ? registries : [null]) {
      let p = reg ? r.pattern.replace('{reg}', reg) : r.pattern;
      const resource = r.perm.resource === '{reg}' ? reg : r.perm.resource;
      const q = NEEDS[r.pattern] ?? '';
      if (p.includes('{code}')) {
        for (const code of [CITY, ZEZHOU, GAOPING]) urls.push({ url: p.replace('{code}', code), resource, q });
      } else if (p.includes('{id}')) {
        const base = p.slice(0, p.indexOf('/{id}'));
        const list = base in LIST_OF ? LIST_OF[base] : base;
        if (!list) continue;
        for (const id of await idsFor(list)) urls.push({ url: p.replace('{id}', id), resource, q });
      } else {
        urls.push({ url: p, resource, q });
      }
    }
  }
  assert.ok(urls.length > 150, `urls: ${urls.length}`);
  let checked = 0, answered = 0;
  const problems = [];
  for (const login of S.logins) {
    const who = await S.me(login.username);
    for (const u of urls) {
      if (!(who.permissions[u.resource] ?? []).includes('read')) continue; // the permission sweep's part
      const r = await call(login.username, 'GET', u.q ? `${u.url}?${u.q}` : u.url);
      checked++;
      if (r.status !== 200) {
        assert.ok([400, 404, 422].includes(r.status), `${login.username} GET ${u.url}: ${desc(r)}`);
        continue;
      }
      answered++;
      let body = r.json;
      if (body === null && /text\/csv/.test(r.headers.get('content-type') ?? '')) {
        // an export: its rows as objects with the same column names the
        // registry uses (region_code, and the hidden fields by label)
        const [head, ...rows] = parseCsv(r.text);
        body = { csv_header: head, rows: rows.filter((x) => x.length > 1).map((x) => ({ region_code: x[head.indexOf('区划代码')] })) };
        if (u.url.includes('/resident/') && (who.hidden_fields?.resident ?? []).includes('vulnerable') && head.includes('特殊人群')) {
          problems.push(`${login.username} ${u.url}: the export has the 特殊人群 column`);
        }
      }
      if (body === null) continue; // XML, Atom
      for (const v of violations(body, who, world)) problems.push(`${login.username} (${login.role}, ${who.user.region_code}) GET ${u.url}: ${v}`);
    }
  }
  assert.deepEqual(problems.slice(0, 30), [], `${problems.length} problems`);
  assert.ok(checked > 1500 && answered > 800, `checked ${checked}, answered ${answered}`);
});

test('the call-up board names people only for those who may read residents and responsible people', async () => {
  const list = (await ok(await call('admin', 'GET', '/api/v1/warnings?state=published&limit=50'))).items;
  const w = list.find((x) => x.region_code === CITY);
  assert.ok(w, 'a published city warning');
  const full = await ok(await call('duty', 'GET', `/api/v1/warnings/${w.id}/callup`));
  assert.equal(full.names, true);
  assert.ok(full.people.length > 0 && full.people.some((p) => p.name), 'the duty desk sees who');
  for (const user of ['supervisor', 'enterprise', 'inspector', 'warehouse', 'expert']) {
    const r = await call(user, 'GET', `/api/v1/warnings/${w.id}/callup`);
    assert.equal(r.status, 200, `${user}: ${desc(r)}`);
    assert.equal(r.json.names, false, user);
    assert.equal(r.json.people, undefined, `${user} gets counts only`);
    assert.deepEqual(r.json.events, [], `${user}: no who-did-what`);
    assert.equal(typeof r.json.total, 'number');
  }
  // a county officer sees the people of the county only
  const zz = await ok(await call('duty_zezhou', 'GET', `/api/v1/warnings/${w.id}/callup`));
  assert.ok(zz.people.length > 0 && zz.people.every((p) => p.region_code.startsWith(ZEZHOU)));
  assert.ok(zz.people.length < full.people.length);
});
