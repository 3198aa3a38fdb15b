// 18 — the permission sweep: every route of every module (discovered from
// the OpenAPI document, which the server generates from the module
// descriptors, so the modules of later issues are covered when they land)
// against every demo role.  Permissions fail closed: a route with no
// explicit decision fails this test, a role the table does not grant is
// refused by the router (403) without the handler running, and a route
// that needs a login answers 401 to a caller without one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setupServer, desc } from './harness.mjs';

const S = setupServer();

// Path parameters that name nothing that exists: an allowed request reaches
// the handler and changes nothing.
function fill(pattern, reg) {
  return pattern
    .replace('{reg}', reg ?? 'shelter')
    .replace('{id}', '999999999')
    .replace('{action}', 'noop')
    .replace('{code}', '1405')
    .replace('{token}', '0'.repeat(32))
    .replace('{file}', '999999999.xml');
}

async function routes() {
  const r = await S.api('GET', '/api/v1/openapi.json');
  assert.equal(r.status, 200, desc(r));
  const out = [];
  for (const [pattern, item] of Object.entries(r.json.paths)) {
    for (const [m, op] of Object.entries(item)) {
      out.push({ method: m.toUpperCase(), pattern, op,
        public: Array.isArray(op.security) && op.security.length === 0,
        hook: op['x-test-hook'] === true, perm: op['x-permission'] });
    }
  }
  return out;
}

const routerRefusal = (r) => r.status === 403 && r.json?.error?.code === 'forbidden' && /^角色「/.test(r.json.error.message);

test('every route is public or declares a permission the table decides', async () => {
  const all = await routes();
  assert.ok(all.length > 60, `routes: ${all.length}`);
  const modules = new Set(all.map((r) => r.op.tags?.[0]));
  for (const m of ['platform', 'registry', 'monitor', 'warning', 'example']) assert.ok(modules.has(m), `module ${m} has routes`);
  for (const r of all) {
    if (r.public) {
      assert.equal(r.perm, undefined, `${r.method} ${r.pattern}: public and a permission`);
      continue;
    }
    assert.ok(r.perm && r.perm.resource && r.perm.action, `${r.method} ${r.pattern} declares no permission`);
    assert.equal(r.perm.decided, true, `${r.method} ${r.pattern}: no row decides ${r.perm.action} ${r.perm.resource}`);
  }
});

// Public routes need no login; some take their own credentials (a gateway's
// X-Api-Key or token) and may answer 401 for those, never for a session.
const loginRefusal = (r) => r.status === 401 && /not logged in/.test(r.json?.error?.message ?? '');

test('without a login every non-public route answers 401; public ones answer', async () => {
  for (const r of await routes()) {
    if (r.hook) continue;
    const path = fill(r.pattern);
    if (r.pattern === '/api/v1/events' && r.public) continue;
    const res = await S.api(r.method, path, r.method === 'GET' ? {} : { body: '{' });
    if (r.public) assert.ok(!loginRefusal(res) && !routerRefusal(res), `${r.method} ${path}: ${desc(res)}`);
    else assert.ok(loginRefusal(res), `${r.method} ${path}: ${desc(res)}`);
  }
});

test('every role × every route: refused by the router exactly when the table does not grant it', async () => {
  const all = (await routes()).filter((r) => !r.public && !r.hook);
  const schema = await S.schema();
  const registries = schema.registries.map((x) => x.name);
  let refused = 0, passed = 0;
  for (const login of S.logins) {
    const auth = await S.as(login.username);
    const me = await S.me(login.username);
    for (const r of all) {
      for (const reg of r.pattern.includes('{reg}') ? registries : [null]) {
        const resource = r.perm.resource === '{reg}' ? reg : r.perm.resource;
        const granted = (me.permissions[resource] ?? []).includes(r.perm.action);
        const path = fill(r.pattern, reg);
        const what = `${login.username} (${login.role}) ${r.method} ${path}`;
        if (!granted) {
          const res = await S.api(r.method, path, { auth, body: r.method === 'GET' ? undefined : '{}' });
          assert.ok(routerRefusal(res), `${what} must be refused: ${desc(res)}`);
          refused++;
        } else if (r.method === 'GET' && r.pattern !== '/api/v1/events') {
          // writes are not sent for granted roles: the handler would run
          const res = await S.api('GET', path, { auth });
          assert.ok(!routerRefusal(res), `${what} is granted: ${desc(res)}`);
          passed++;
        }
      }
    }
  }
  assert.ok(refused > 500 && passed > 200, `refused ${refused}, passed ${passed}`);
});
