// 09 — platform: health, readiness, metrics, OpenAPI, Server-Sent Events,
// uniform errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setupServer, createRecord, desc, ZEZHOU, GAOPING, assertError } from './harness.mjs';

const S = setupServer();

test('/healthz and /readyz', async () => {
  const h = await S.api('GET', '/healthz');
  assert.equal(h.status, 200);
  assert.deepEqual(h.json, { status: 'ok' });
  const r = await S.api('GET', '/readyz');
  assert.equal(r.status, 200, desc(r));
});

test('/metrics: request counters with route labels and a latency histogram', async () => {
  const admin = await S.as('admin');
  for (let i = 0; i < 3; i++) await S.api('GET', '/api/v1/registries/shelter?limit=1', { auth: admin });
  await S.api('GET', '/api/v1/registries/shelter/999999999', { auth: admin });
  const m = await S.api('GET', '/metrics');
  assert.equal(m.status, 200);
  assert.match(m.headers.get('content-type') ?? '', /^text\/plain/);
  const lines = m.text.split('\n');
  // a counter (TYPE counter) with a route label
  const counters = lines.filter((l) => /^# TYPE \S+ counter/.test(l)).map((l) => l.split(' ')[2]);
  assert.ok(counters.length > 0, 'at least one counter');
  const routeSample = lines.find((l) => counters.some((c) => l.startsWith(`${c}{`)) && /route="[^"]*registries[^"]*"/.test(l));
  assert.ok(routeSample, `a request counter labelled with the registries route:\n${m.text.slice(0, 3000)}`);
  // route label is the template, not the raw path with ids (bounded cardinality)
  assert.ok(!lines.some((l) => /route="[^"]*999999999/.test(l)), 'route label does not contain record ids');
  assert.ok(lines.some((l) => /(status|code)="(404|4xx)"/.test(l)), 'status label');
  // histogram
  const hists = lines.filter((l) => /^# TYPE \S+ histogram/.test(l)).map((l) => l.split(' ')[2]);
  assert.ok(hists.length > 0, 'a histogram');
  const h = hists[0];
  assert.ok(lines.some((l) => l.startsWith(`${h}_bucket{`) && /le="\+Inf"/.test(l)), `${h}_bucket with le="+Inf"`);
  assert.ok(lines.some((l) => l.startsWith(`${h}_sum`)), `${h}_sum`);
  assert.ok(lines.some((l) => l.startsWith(`${h}_count`)), `${h}_count`);
  // every sample line parses as Prometheus text
  for (const l of lines) {
    if (!l || l.startsWith('#')) continue;
    assert.match(l, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})? [-+0-9.eEInfNa]+( \d+)?$/, `sample line: ${l}`);
  }
  // counters grow
  const sum = (text) => text.split('\n').filter((l) => l.startsWith(`${routeSample.split('{')[0]}{`) && /route="[^"]*registries/.test(l)).reduce((a, l) => a + Number(l.split(' ').at(-1)), 0);
  const before = sum(m.text);
  await S.api('GET', '/api/v1/registries/shelter?limit=1', { auth: admin });
  const m2 = await S.api('GET', '/metrics');
  assert.ok(sum(m2.text) > before, 'counter increases');
});

// every /api/v1 route of docs/api.md, with its methods
const ROUTES = [
  ['/login', ['post']], ['/logout', ['post']], ['/me', ['get']], ['/schema', ['get']],
  ['/registries/{}', ['get', 'post']], ['/registries/{}/{}', ['get', 'put', 'patch', 'delete']],
  ['/registries/{}/{}/history', ['get']], ['/registries/{}/geojson', ['get']],
  ['/registries/{}/export.csv', ['get']], ['/registries/{}/import', ['post']],
  ['/regions', ['get']], ['/regions/{}', ['get']], ['/map/boundaries', ['get']],
  ['/users', ['get', 'post']], ['/audit', ['get']], ['/audit/verify', ['get']],
  ['/events', ['get']], ['/openapi.json', ['get']],
];

test('/api/v1/openapi.json is valid and lists every route', async () => {
  const r = await S.api('GET', '/api/v1/openapi.json');
  assert.equal(r.status, 200, desc(r));
  assert.ok(r.json, 'valid JSON');
  assert.match(String(r.json.openapi ?? ''), /^3\./, 'openapi 3.x');
  assert.ok(r.json.info?.title && r.json.info?.version, 'info');
  const serverBase = (r.json.servers?.[0]?.url ?? '').replace(/\/$/, '');
  const norm = (p) => {
    let full = p.startsWith('/api/v1') ? p : `${serverBase.endsWith('/api/v1') ? '/api/v1' : ''}${p}`;
    full = full.replace(/\{[^}]+\}/g, '{}');
    return full.replace(/^\/api\/v1/, '');
  };
  const paths = {};
  for (const [p, ops] of Object.entries(r.json.paths ?? {})) paths[norm(p)] = Object.keys(ops).map((k) => k.toLowerCase());
  const missing = [];
  for (const [p, methods] of ROUTES) {
    if (!paths[p]) { missing.push(p); continue; }
    for (const m of methods) if (!paths[p].includes(m)) missing.push(`${m.toUpperCase()} ${p}`);
  }
  assert.deepEqual(missing, [], `openapi paths: ${Object.keys(paths).join(' ')}`);
  // every registry appears (as an enum of the {reg} parameter or in component schemas)
  const text = r.text;
  for (const reg of ['rescue_team', 'expert', 'warehouse', 'shelter', 'equipment', 'enterprise', 'hazard_source', 'informant', 'duty_contact']) {
    assert.ok(text.includes(`"${reg}"`), `openapi mentions ${reg}`);
  }
});

// Read SSE from /api/v1/events until pred(event) or timeout.
async function sse(auth, { timeoutMs = 5000 } = {}) {
  const ac = new AbortController();
  const res = await fetch(`${S.base}/api/v1/events`, { headers: { authorization: `Bearer ${auth.token}`, accept: 'text/event-stream' }, signal: ac.signal });
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  const events = [];
  async function next(pred) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = events.findIndex(pred);
      if (i >= 0) return events.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0) return null;
      let timer;
      const chunk = await Promise.race([reader.read(), new Promise((r) => { timer = setTimeout(() => r({ timeout: true }), left); })]);
      clearTimeout(timer);
      if (chunk.timeout) return null;
      if (chunk.done) return null;
      buf += dec.decode(chunk.value, { stream: true });
      let k;
      while ((k = buf.search(/\r?\n\r?\n/)) >= 0) {
        const block = buf.slice(0, k);
        buf = buf.slice(k).replace(/^\r?\n\r?\n/, '');
        const ev = { event: 'message', data: '', comments: [] };
        for (const line of block.split(/\r?\n/)) {
          if (line.startsWith(':')) ev.comments.push(line);
          else if (line.startsWith('event:')) ev.event = line.slice(6).trim();
          else if (line.startsWith('data:')) ev.data += (ev.data ? '\n' : '') + line.slice(5).replace(/^ /, '');
        }
        try { ev.json = JSON.parse(ev.data); } catch { /* not JSON */ }
        events.push(ev);
      }
    }
  }
  return { res, next, close: () => { ac.abort(); reader.cancel().catch(() => {}); } };
}

test('SSE: a registry write produces `event: record` within 5 s', async () => {
  const admin = await S.as('admin');
  const s = await sse(admin);
  try {
    assert.equal(s.res.status, 200);
    assert.match(s.res.headers.get('content-type') ?? '', /^text\/event-stream/);
    await new Promise((r) => setTimeout(r, 200));
    const { rec } = await createRecord(S, admin, 'shelter');
    const ev = await s.next((e) => e.event === 'record' && e.json?.id === rec.id);
    assert.ok(ev, 'received event: record for the new shelter');
    assert.equal(ev.json.registry, 'shelter');
    assert.match(String(ev.json.action), /create|insert/i);
    // update and delete are pushed too
    const p = await S.api('PATCH', `/api/v1/registries/shelter/${rec.id}`, { auth: admin, body: { capacity: 99 }, headers: { 'if-match': `"${rec.version}"` } });
    assert.equal(p.status, 200, desc(p));
    const ev2 = await s.next((e) => e.event === 'record' && e.json?.id === rec.id);
    assert.ok(ev2, 'event for the update');
    assert.match(String(ev2.json.action), /update|patch/i);
  } finally { s.close(); }
});

test('SSE: events are scoped to the caller\'s region', async () => {
  const admin = await S.as('admin');
  const s = await sse(await S.as('duty_zezhou'));
  try {
    assert.equal(s.res.status, 200);
    await new Promise((r) => setTimeout(r, 200));
    const other = await createRecord(S, admin, 'shelter', { region: GAOPING });
    const mine = await createRecord(S, admin, 'shelter', { region: ZEZHOU });
    const ev = await s.next((e) => e.event === 'record' && e.json?.id === mine.rec.id);
    assert.ok(ev, 'own-county event received');
    const leaked = await s.next((e) => e.event === 'record' && e.json?.id === other.rec.id && e.json?.registry === 'shelter');
    assert.equal(leaked, null, 'no event for 高平 record');
  } finally { s.close(); }
});

test('SSE requires a session', async () => {
  const r = await S.api('GET', '/api/v1/events');
  assertError(r, 401, 'unauthenticated');
});

test('uniform errors: 404 unknown API route, 405 wrong method, 415 wrong content type', async () => {
  const admin = await S.as('admin');
  assertError(await S.api('GET', '/api/v1/nope', { auth: admin }), 404, 'not_found');
  assertError(await S.api('PUT', '/api/v1/registries/shelter', { auth: admin, body: {} }), 405, 'method_not_allowed');
  assertError(await S.api('GET', '/api/v1/login'), [401, 405], undefined);
  // import takes CSV: a JSON body is the wrong media type
  const r = await S.api('POST', '/api/v1/registries/shelter/import', { auth: admin, body: '{"name":"x"}', headers: { 'content-type': 'application/json' } });
  assertError(r, 415, 'unsupported_media_type');
  assert.equal(r.headers.get('content-type')?.split(';')[0], 'application/json');
  // a form post to a JSON endpoint is refused (415 or 400), never stored
  const f = await S.api('POST', '/api/v1/registries/shelter', { auth: admin, body: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assertError(f, [400, 415]);
});

test('server survives garbage requests', async () => {
  const net = await import('node:net');
  const u = new URL(S.base);
  for (const payload of ['GARBAGE\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n', `GET /${'a'.repeat(100000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 'GET / HTTP/1.1\r\n' + 'X: y\r\n'.repeat(10000) + '\r\n']) {
    await new Promise((res) => {
      const c = net.connect(Number(u.port), u.hostname, () => { c.end(payload); });
      c.on('data', () => {});
      c.on('error', () => res());
      c.on('close', () => res());
      setTimeout(() => { c.destroy(); res(); }, 3000);
    });
  }
  const h = await S.api('GET', '/healthz');
  assert.equal(h.status, 200);
});
