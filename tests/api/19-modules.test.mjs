// 19 — modules declare themselves.  The example module (tests/modules/
// example, built into the -san binary only) has one route, one permission
// resource, one registry with a field added by a second migration, one
// timer and one page, and nothing outside its folder names it but one line
// of the module list.  Everything it declares works: the route and its
// permission, the registry (CRUD, schema, CSV), its migrations, its
// navigation entry and page script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { setupServer, REPO, desc, dbQuery, assertError } from './harness.mjs';

const S = setupServer({ serveArgs: ['--test-hooks'] });

// Every file of the repository outside the module's folder (and outside
// what the build makes or npm brings).
function* files(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const rel = relative(REPO, p);
    if (['.git', 'node_modules', 'build', 'web/vendor', 'web/m', 'tests/modules/example'].includes(rel)) continue;
    const st = statSync(p);
    if (st.isDirectory()) yield* files(p);
    else if (st.size < 2_000_000) yield rel;
  }
}

test('adding the example module touched its folder and one line elsewhere', () => {
  const hits = [];
  for (const rel of files(REPO)) {
    // this test file and the harness talk about it; nothing that builds or serves may
    if (rel.startsWith('tests/') || rel.endsWith('.md')) continue;
    const text = readFileSync(join(REPO, rel), 'utf8');
    text.split('\n').forEach((line, i) => { if (/\bexample\b/.test(line)) hits.push(`${rel}:${i + 1}: ${line.trim()}`); });
  }
  assert.equal(hits.length, 1, hits.join('\n'));
  assert.match(hits[0], /^src\/base\/modules\.c:\d+: YJ_TEST_ONLY\(X\(example\)\)/);
});

test('no module writes a region predicate of its own: the scope mechanism (src/store/sql.c) does', () => {
  const hits = [];
  for (const rel of files(REPO)) {
    if (!/^src\/.*\.c$/.test(rel) || rel === 'src/store/sql.c') continue;
    readFileSync(join(REPO, rel), 'utf8').split('\n').forEach((line, i) => {
      const code = line.replace(/\/\*.*?\*\/|^\s*\*.*$/g, '');
      if (/region_code\s*(>=|<|LIKE)\s*\?/i.test(code) || /substr\(\?,\s*1,\s*length\(region_code\)\)/.test(code)) {
        hits.push(`${rel}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(hits, []);
});

test('its route answers with its permission: duty may read, a regulator may not', async () => {
  let r = await S.api('GET', '/api/v1/example', { auth: await S.as('duty') });
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.module, 'example');
  assert.equal(typeof r.json.timer_runs, 'number');
  r = await S.api('GET', '/api/v1/example', { auth: await S.as('supervisor') });
  assertError(r, 403, 'forbidden');
  r = await S.api('GET', '/api/v1/example');
  assertError(r, 401, 'unauthenticated');
});

test('its timer is on the one scheduler: run by name or by module, on the one clock, audited', async () => {
  const admin = await S.as('admin');
  const runs = async () => (await S.api('GET', '/api/v1/example', { auth: admin })).json.timer_runs;
  const before = await runs();
  let r = await S.api('POST', '/api/v1/test/tick', { auth: admin, body: { now: Date.parse('2030-01-01T00:00:00Z'), timers: ['example.tick'] } });
  assert.equal(r.status, 200, desc(r));
  assert.deepEqual(r.json.ran, ['example.tick']);
  assert.equal(await runs(), before + 1);
  r = await S.api('POST', '/api/v1/test/tick', { auth: admin, body: { timers: ['example'] } });
  assert.deepEqual(r.json.ran, ['example.tick'], 'a module name runs its timers');
  assert.equal(await runs(), before + 2);
  assertError(await S.api('POST', '/api/v1/test/tick', { auth: admin, body: { timers: ['no.such.timer'] } }), 422, 'invalid');
  assertError(await S.api('POST', '/api/v1/test/tick', { auth: admin, body: { now: 'soon' } }), 422, 'invalid', 'now');
  assertError(await S.api('POST', '/api/v1/test/tick', { auth: admin, body: { timers: 'example' } }), 422, 'invalid', 'timers');
  // the run at the test clock's time is in the audit log, by the timer's name
  const au = await S.api('GET', '/api/v1/audit?entity=example', { auth: admin });
  assert.ok(au.json.items.some((e) => e.actor === 'timer:example.tick' && e.after.last_ms === Date.parse('2030-01-01T00:00:00Z')), desc(au));
  // only the administrator drives the clock
  assertError(await S.api('POST', '/api/v1/test/tick', { auth: await S.as('duty'), body: {} }), 403, 'forbidden');
});

test('its registry is a registry like any other: schema, CRUD, permissions, the later field', async () => {
  const admin = await S.as('admin');
  const schema = await S.schema();
  const reg = schema.registries.find((x) => x.name === 'example_item');
  assert.ok(reg, 'in the schema');
  assert.deepEqual(reg.fields.map((f) => f.name), ['name', 'note']);
  let r = await S.api('POST', '/api/v1/registries/example_item', { auth: admin, body: { name: '条目一', note: '迁移 2 加的字段', region_code: '1405' } });
  assert.equal(r.status, 201, desc(r));
  const id = r.json.id;
  r = await S.api('GET', `/api/v1/registries/example_item/${id}`, { auth: await S.as('duty') });
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.note, '迁移 2 加的字段');
  r = await S.api('POST', '/api/v1/registries/example_item', { auth: await S.as('duty'), body: { name: 'x', region_code: '1405' } });
  assertError(r, 403, 'forbidden');
  r = await S.api('GET', '/api/v1/registries/example_item', { auth: await S.as('expert') });
  assertError(r, 403, 'forbidden');
  // both of its migrations ran, recorded under its name
  assert.equal(dbQuery(S.db, "SELECT version FROM schema_migration WHERE module = 'example' ORDER BY version;").trim(), '1\n2');
});

test('its navigation entry and page reach the shell for those who may follow them', async () => {
  let me = await S.me('duty');
  const group = me.nav.find((g) => g.module === 'example');
  assert.ok(group, JSON.stringify(me.nav));
  assert.equal(group.label, '示例模块');
  assert.ok(group.items.some((it) => it.hash === '#/example' && it.label === '示例页面'));
  assert.ok(group.items.some((it) => it.registry === 'example_item'));
  assert.ok(me.pages.some((p) => p.prefix === 'example' && p.script === 'm/example/example.js'));
  me = await S.me('supervisor');
  assert.ok(!me.nav.some((g) => g.module === 'example'), 'no entry without the permission');
  const js = await S.api('GET', '/m/example/example.js');
  assert.equal(js.status, 200, desc(js));
  assert.match(js.headers.get('content-type'), /javascript/);
  assert.match(js.text, /export async function render/);
});

test('every module groups its pages and registries in the navigation, in module order', async () => {
  const me = await S.me('admin');
  const order = me.nav.map((g) => g.module);
  for (const m of ['platform', 'registry', 'monitor', 'warning']) assert.ok(order.includes(m), order.join());
  assert.ok(order.indexOf('registry') < order.indexOf('monitor') && order.indexOf('monitor') < order.indexOf('warning'));
  const mon = me.nav.find((g) => g.module === 'monitor');
  assert.deepEqual(mon.items.filter((i) => i.registry).map((i) => i.registry), ['monitored_object', 'sensor']);
  assert.ok(mon.items.find((i) => i.id === 'nav-mon-alarms').unread);
  for (const g of me.nav) assert.match(g.label, /^[\u4e00-\u9fff]+$/, `${g.module}: a Chinese label, no module numbers`);
});
