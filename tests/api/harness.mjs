// harness.mjs — shared helpers for the HTTP API tests (node:test, ESM).
//
// Each test file calls setupServer() once at top level: it creates a temp
// dir, runs `$YINGJI_BIN demo` into it, starts `$YINGJI_BIN serve` on a free
// loopback port, waits for /healthz, and kills the server in after() (and on
// process exit, so a failing file never leaves a server behind).
//
//   YINGJI_BIN=/work/main/build/yingji-san node --test --test-concurrency=1 tests/api/

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, openSync, closeSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { demoDatabase } from '../store.mjs';
import http from 'node:http';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = process.env.YINGJI_BIN || join(REPO, 'build', 'yingji-san');
export const PASSWORD = 'Test-Passw0rd!';
export const WEB_DIR = join(REPO, 'web');
export const REGISTRIES = ['rescue_team', 'expert', 'warehouse', 'shelter', 'equipment',
  'enterprise', 'hazard_source', 'informant', 'duty_contact'];
// M2 registries (monitored objects, sensors): their references (object ->
// enterprise -> region) are exercised by 12-monitor.test.mjs rather than by
// the generic CRUD walk over REGISTRIES.
export const M2_REGISTRIES = ['monitored_object', 'sensor'];
// M3 registries: who a warning reaches.  No required references, so the
// generic CRUD and CSV walks take them too.
export const M3_REGISTRIES = ['household', 'resident', 'broadcast_terminal', 'responsible_person'];
// The example module (tests/modules/example) is built into the -san binary
// the API tests run: a module as small as one can be, walked by the sweeps.
export const TEST_REGISTRIES = ['example_item'];
export const ROLES = ['admin', 'duty', 'commander', 'supervisor', 'inspector', 'warehouse',
  'enterprise', 'informant', 'expert'];
export const CITY = '1405';
export const ZEZHOU = '140525';   // 泽州县
export const GAOPING = '140581';  // 高平市
export const QINSHUI = '140521';  // 沁水县

// Environment for every child process: sanitizer output is tolerated, data
// dir points at the build's region data.
function childEnv() {
  const env = { ...process.env };
  if (!env.YJ_DATA_DIR && existsSync(join(REPO, 'build', 'data'))) env.YJ_DATA_DIR = join(REPO, 'build', 'data');
  if (!env.ASAN_OPTIONS) env.ASAN_OPTIONS = 'detect_leaks=0:abort_on_error=0';
  if (!env.UBSAN_OPTIONS) env.UBSAN_OPTIONS = 'print_stacktrace=1';
  return env;
}

// Run the CLI synchronously: {status, stdout, stderr}.
export function cli(args, opts = {}) {
  const r = spawnSync(BIN, args, { cwd: REPO, env: childEnv(), encoding: 'utf8', timeout: opts.timeout ?? 120_000, input: opts.input });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

// SQL on the test's database, SQLite or PostgreSQL (tests/store.mjs).
export { dbQuery, STORE, emptyDatabase } from '../store.mjs';

export function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const liveChildren = new Set();
process.on('exit', () => { for (const c of liveChildren) { try { c.kill('SIGKILL'); } catch { /* gone */ } } });

// Start `serve` on an existing DB.  Returns {proc, port, base, stderrFile, stop()}.
//  opts.bin: another build of yingji (the release one, for memory figures).
export async function startServe(db, dir, extra = [], opts = {}) {
  const port = await freePort();
  const stderrFile = join(dir, `serve-${port}.stderr`);
  const fd = openSync(stderrFile, 'w');
  const args = ['serve', '--db', db, '--listen', `127.0.0.1:${port}`, ...extra];
  if (existsSync(WEB_DIR) && !extra.includes('--web')) args.push('--web', WEB_DIR);
  const proc = spawn(opts.bin ?? BIN, args, { cwd: REPO, env: childEnv(), stdio: ['ignore', fd, fd] });
  closeSync(fd);
  liveChildren.add(proc);
  let exited = null;
  proc.on('exit', (code, sig) => { exited = { code, sig }; liveChildren.delete(proc); });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`server exited early (${JSON.stringify(exited)}):\n${tail(stderrFile)}`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.status === 200) { await r.arrayBuffer(); break; }
    } catch { /* not up yet */ }
    if (Date.now() > deadline) { proc.kill('SIGKILL'); throw new Error(`server not healthy after 60 s:\n${tail(stderrFile)}`); }
    await sleep(100);
  }
  const stop = async () => {
    if (exited) return exited;
    const done = new Promise((r) => proc.once('exit', (code, sig) => r({ code, sig })));
    proc.kill('SIGTERM');
    const t = setTimeout(() => { try { proc.kill('SIGKILL'); } catch { /* gone */ } }, 5000);
    const res = await done;
    clearTimeout(t);
    return res;
  };
  return { proc, port, base, stderrFile, stop, get exited() { return exited; } };
}

// The sanitizer / crash report in a server's stderr, or ''.
export function crashReport(file) {
  let text = '';
  try { text = readFileSync(file, 'utf8'); } catch { return ''; }
  const lines = text.split('\n');
  const i = lines.findIndex((l) => /ERROR: (Address|Leak|Thread)Sanitizer|runtime error:|SUMMARY: UndefinedBehavior|Segmentation fault|Assertion .* failed/.test(l));
  if (i < 0) return '';
  return lines.slice(Math.max(0, i - 1), i + 30).filter((l) => !/^\s+0x[0-9a-f]+:|Shadow/.test(l)).join('\n');
}

export function tail(file, n = 40) {
  try { return readFileSync(file, 'utf8').split('\n').slice(-n).join('\n'); } catch { return ''; }
}

// ---- the per-file server -----------------------------------------------------

// Registers before/after hooks; the returned object is filled in by before().
export function setupServer(opts = {}) {
  const S = {
    dir: null, db: null, base: null, server: null, logins: null, sessions: new Map(),
    login: (u, p) => login(S, u, p),
    as: (u) => session(S, u),
    api: (m, p, o) => withCrashCheck(S, () => api(S.base, m, p, o)),
    raw: (m, p, o) => withCrashCheck(S, () => rawRequest(S.base, m, p, o)),
    schema: () => getSchema(S),
    me: async (u) => (await api(S.base, 'GET', '/api/v1/me', { auth: await session(S, u) })).json,
  };
  before(async () => {
    S.dir = mkdtempSync(join(tmpdir(), 'yingji-api-'));
    S.store = demoDatabase(S.dir, (args) => cli(args, { timeout: 600_000 }), PASSWORD);
    S.db = S.store.db;
    S.logins = S.store.logins;
    // serveArgs may be a function (async): it runs first, e.g. to start a
    // broker the server connects to.
    const extra = typeof opts.serveArgs === 'function' ? await opts.serveArgs() : (opts.serveArgs ?? []);
    S.serveArgs = extra;
    S.server = await startServe(S.db, S.dir, extra);
    S.base = S.server.base;
  }, { timeout: 360_000 });
  after(async () => {
    const crashed = S.server && S.server.exited;
    if (S.server) await S.server.stop();
    const report = S.server ? crashReport(S.server.stderrFile) : '';
    if (S.dir && !process.env.YINGJI_KEEP_TMP && !report) {
      rmSync(S.dir, { recursive: true, force: true });
      S.store?.drop();
    }
    if (crashed || report) throw new Error(`server ${crashed ? `died (${JSON.stringify(crashed)})` : 'reported a sanitizer error'} during this file (kept ${S.dir}):\n${report || tail(S.server.stderrFile)}`);
  });
  return S;
}

// ---- HTTP ----------------------------------------------------------------------

// Run a request; if it fails at the transport level and the server has died,
// say so with the sanitizer report instead of a bare ECONNREFUSED.
async function withCrashCheck(S, fn) {
  try {
    return await fn();
  } catch (e) {
    await sleep(200);
    if (S.server?.exited) {
      throw new Error(`server is dead (${JSON.stringify(S.server.exited)}): ${e.message}\n${crashReport(S.server.stderrFile) || tail(S.server.stderrFile)}`);
    }
    throw e;
  }
}

// api(base, method, path, {token | cookie+csrf | auth, body, headers, raw})
//  body: object/array → JSON; string/Buffer → sent as is (set content-type yourself).
//  auth: a session {token,csrf,cookie}: sent as Bearer (or as cookie+csrf if opts.useCookie).
//  A workflow step or a draft's edit (POST /api/v1/{warnings,alarms,workorders}/{id}/{action},
//  PUT /api/v1/warnings/{id}) needs the version the caller saw in If-Match.  Tests that
//  are not about that may leave the header out: the record is read first, as the same
//  user, and its current version sent.  'if-match': null sends no header at all.
const STEP = /^\/api\/v1\/(warnings|alarms|workorders)\/(\d+)(\/(?!warning$|deliveries$|callup$|coverage$|cap$)[a-z_]+)?$/;
async function currentVersion(base, method, path, headers) {
  const m = STEP.exec(path);
  if (!m || !((method === 'POST' && m[3]) || (method === 'PUT' && !m[3] && m[1] === 'warnings'))) return null;
  const r = await fetch(`${base}/api/v1/${m[1]}/${m[2]}`, { headers: { authorization: headers.authorization ?? '', cookie: headers.cookie ?? '' } });
  const j = await r.json().catch(() => null);
  // a record the caller cannot read: any version — the answer is its 404 either way
  return `"${j && j.version !== undefined ? j.version : 1}"`;
}

export async function api(base, method, path, o = {}) {
  const headers = { ...(o.headers ?? {}) };
  let token = o.token, cookie = o.cookie, csrf = o.csrf;
  if (o.auth) {
    if (o.useCookie) { cookie = o.auth.cookie; csrf = o.csrf === undefined ? o.auth.csrf : o.csrf; }
    else token = o.auth.token;
  }
  if (token) headers.authorization = `Bearer ${token}`;
  if (cookie) headers.cookie = cookie;
  if (csrf) headers['x-csrf-token'] = csrf;
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'if-match')) {
    const v = await currentVersion(base, method, path, headers);
    if (v) headers['if-match'] = v;
  }
  for (const k of Object.keys(headers)) if (headers[k] === null || headers[k] === undefined) delete headers[k];
  let body;
  if (o.body !== undefined) {
    if (typeof o.body === 'string' || o.body instanceof Uint8Array) body = o.body;
    else { body = JSON.stringify(o.body); headers['content-type'] ??= 'application/json'; }
    if (typeof o.body === 'string') headers['content-type'] ??= 'application/json';
  }
  const r = await fetch(base + path, { method, headers, body, redirect: 'manual' });
  const buf = Buffer.from(await r.arrayBuffer());
  const text = buf.toString('utf8');
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, json, text, buf };
}

// A request with a raw (unnormalised) path, via node:http.  Never throws on
// a reset after a response was received.
export function rawRequest(base, method, path, o = {}) {
  const u = new URL(base);
  return new Promise((res, rej) => {
    // o.localAddress: the client address to connect from (127.0.0.x: another source)
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers: o.headers ?? {}, agent: false, localAddress: o.localAddress }, (resp) => {
      const chunks = [];
      resp.on('data', (c) => chunks.push(c));
      resp.on('end', () => {
        const buf = Buffer.concat(chunks);
        const text = buf.toString('utf8');
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        res({ status: resp.statusCode, headers: resp.headers, text, json, buf });
      });
      resp.on('error', rej);
    });
    let gotResponse = false;
    req.on('response', () => { gotResponse = true; });
    req.on('error', (e) => { if (!gotResponse) rej(e); });
    if (o.body !== undefined) req.write(o.body, () => {});
    req.end();
  });
}

// A POST as a careful client sends a large body: it asks first (Expect:
// 100-continue) and sends the body only when told to, so a 413 answered on
// the Content-Length alone is read rather than met as a reset mid-upload.
// → {status, json, text, continued}.
export function postExpecting(base, path, token, body, contentType = 'application/json') {
  const u = new URL(base);
  return new Promise((res, rej) => {
    const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path, agent: false,
      headers: { authorization: `Bearer ${token}`, 'content-type': contentType,
        'content-length': Buffer.byteLength(body), expect: '100-continue' } }, (resp) => {
      const chunks = [];
      resp.on('data', (c) => chunks.push(c));
      resp.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        res({ status: resp.statusCode, text, json, continued: req.continued === true });
      });
    });
    req.on('continue', () => { req.continued = true; req.end(body); });
    req.on('error', rej);
  });
}

// ---- sessions --------------------------------------------------------------------

export function loginOf(S, username) {
  const l = S.logins.find((x) => x.username === username);
  assert.ok(l, `demo logins has no user ${username}: ${S.logins.map((x) => x.username).join(',')}`);
  return l;
}

export async function login(S, username, password) {
  const pw = password ?? loginOf(S, username).password ?? PASSWORD;
  const r = await S.api('POST', '/api/v1/login', { body: { username, password: pw } });
  assert.equal(r.status, 200, `login ${username}: ${r.status} ${r.text}`);
  assert.match(r.json.token, /^[0-9a-f]{64}$/, 'token is 64 hex');
  assert.match(r.json.csrf, /^[0-9a-f]{64}$/, 'csrf is 64 hex');
  const setCookie = r.headers.get('set-cookie') ?? '';
  const m = /yj_session=([^;]+)/.exec(setCookie);
  return { token: r.json.token, csrf: r.json.csrf, cookie: m ? `yj_session=${m[1]}` : `yj_session=${r.json.token}`, setCookie, user: r.json.user, username };
}

export async function session(S, username) {
  if (!S.sessions.has(username)) S.sessions.set(username, await login(S, username));
  return S.sessions.get(username);
}

// ---- assertions -------------------------------------------------------------------

export function desc(r) {
  return `${r.status} ${r.text.length > 600 ? r.text.slice(0, 600) + '…' : r.text}`;
}

// Assert the status and the uniform error shape; returns the error object.
export function assertError(r, status, code, field) {
  const st = Array.isArray(status) ? status : [status];
  assert.ok(st.includes(r.status), `expected ${st.join('/')} got ${desc(r)}`);
  assert.ok(r.json && typeof r.json.error === 'object', `error body: ${desc(r)}`);
  const e = r.json.error;
  assert.equal(typeof e.code, 'string');
  assert.equal(typeof e.message, 'string');
  if (code) {
    const codes = Array.isArray(code) ? code : [code];
    assert.ok(codes.includes(e.code), `error.code ${e.code}, expected ${codes.join('/')}: ${desc(r)}`);
  }
  if (field !== undefined) assert.equal(e.field, field, `error.field: ${desc(r)}`);
  return e;
}

// ---- schema and valid records ---------------------------------------------------------

export async function getSchema(S) {
  if (!S._schema) {
    const r = await S.api('GET', '/api/v1/schema', { auth: await session(S, 'admin') });
    assert.equal(r.status, 200, desc(r));
    S._schema = r.json;
  }
  return S._schema;
}

export function regSchema(schema, name) {
  const r = schema.registries.find((x) => x.name === name);
  assert.ok(r, `schema has registry ${name}`);
  return r;
}

let uniqCounter = 0;
const runTag = (Date.now() % 1e6).toString(36);
export function uniq(prefix = 'T') { uniqCounter++; return `${prefix}${runTag}${uniqCounter}`; }

let phoneCounter = Math.floor(Math.random() * 5e7);
export function phone() { phoneCounter++; return `199${String(phoneCounter).padStart(8, '0')}`; }

// 统一社会信用代码 with a valid GB 11714 organisation-code check character
// (position 17) and a valid GB 32100 check character (position 18).
const CC_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const CC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
export function creditCheck(first17) {
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const v = CC_CHARS.indexOf(first17[i]);
    if (v < 0) throw new Error(`bad credit char ${first17[i]}`);
    sum += v * CC_W[i];
  }
  return CC_CHARS[(31 - (sum % 31)) % 31];
}
let ccCounter = Math.floor(Math.random() * 1e6);
export function creditCode(region = ZEZHOU) {
  {
    ccCounter++;
    const body = String(ccCounter).padStart(8, '0').slice(-8);
    const w = [3, 7, 9, 10, 5, 8, 4, 2];
    let s = 0;
    for (let i = 0; i < 8; i++) s += Number(body[i]) * w[i];
    const c = 11 - (s % 11);
    const orgCheck = c === 10 ? 'X' : c === 11 ? '0' : String(c);
    const first17 = `91${region}${body}${orgCheck}`;
    return first17 + creditCheck(first17);
  }
}

// The JSON form of a tags value.  docs/api.md does not fix it; the server
// echoes what it stores.  Tests send an array and compare normalised.
export function tagsValue(options) { return options ? options.slice(0, 2) : ['标签一', '标签二']; }
export function normTags(v) {
  if (Array.isArray(v)) return v.join('、');
  return v;
}

function fieldValue(f, ctx) {
  switch (f.type) {
    case 'text': {
      const base = f.name === 'name' ? `${ctx.name}` : `${f.label}${ctx.tag}`;
      return f.maxlen ? Buffer.from(base).subarray(0, f.maxlen).toString() : base;
    }
    case 'longtext': return `${f.label}：测试说明。${ctx.tag}`;
    case 'int': {
      const lo = f.min ?? 0, hi = f.max ?? 1000;
      return Math.min(hi, Math.max(lo, 10));
    }
    case 'real': {
      const lo = f.min ?? 0, hi = f.max ?? 1000;
      return Math.min(hi, Math.max(lo, 12.5));
    }
    case 'bool': return false;
    case 'enum': return f.options[0];
    case 'tags': return tagsValue(f.options);
    case 'phone': return phone();
    case 'date': return '2024-06-15';
    case 'credit': return creditCode(ctx.region.slice(0, 6).padEnd(6, '0'));
    case 'ref': return ctx.refs?.[f.ref];
    default: throw new Error(`unknown field type ${f.type}`);
  }
}

// A valid record for registry `reg`.  opts: {region, name, refs: {enterprise: id}, only required}
export function validRecord(schema, reg, opts = {}) {
  const rs = regSchema(schema, reg);
  const ctx = { region: opts.region ?? ZEZHOU, name: opts.name ?? uniq(`测试${rs.label}`), tag: uniq('-'), refs: opts.refs };
  const rec = { region_code: ctx.region, lat: 35.49, lon: 112.85 };
  for (const f of rs.fields) {
    if (opts.requiredOnly && !f.required) continue;
    const v = fieldValue(f, ctx);
    if (v === undefined) continue;
    rec[f.name] = v;
  }
  return { ...rec, ...(opts.override ?? {}) };
}

// Field names a client may send (own fields + standard writable ones).
export function writableFields(schema, reg) {
  return [...regSchema(schema, reg).fields.map((f) => f.name), 'region_code', 'lat', 'lon'];
}
export function writable(schema, reg, record) {
  const out = {};
  for (const k of writableFields(schema, reg)) if (k in record) out[k] = record[k];
  return out;
}

// Compare sent values with a returned record (tags normalised, numbers exact).
export function assertRecordHas(rec, sent, msg = '') {
  for (const [k, v] of Object.entries(sent)) {
    const got = rec[k];
    if (Array.isArray(v) || Array.isArray(got)) assert.equal(normTags(got), normTags(v), `${msg} field ${k}`);
    else assert.deepEqual(got, v, `${msg} field ${k}`);
  }
}

// An enterprise id visible to admin (the first one), creating one if needed.
export async function anyEnterprise(S, region = ZEZHOU) {
  const admin = await session(S, 'admin');
  const r = await S.api('GET', `/api/v1/registries/enterprise?region=${region}&limit=1`, { auth: admin });
  assert.equal(r.status, 200, desc(r));
  if (r.json.items.length) return r.json.items[0].id;
  const schema = await getSchema(S);
  const c = await S.api('POST', '/api/v1/registries/enterprise', { auth: admin, body: validRecord(schema, 'enterprise', { region }) });
  assert.equal(c.status, 201, desc(c));
  return c.json.id;
}

// Create a valid record as `auth`; asserts 201.  Returns {rec, etag, res}.
export async function createRecord(S, auth, reg, opts = {}) {
  const schema = await getSchema(S);
  const refs = { ...(opts.refs ?? {}) };
  if (reg === 'hazard_source' && !refs.enterprise) refs.enterprise = await anyEnterprise(S, opts.region ?? ZEZHOU);
  const body = validRecord(schema, reg, { ...opts, refs });
  const res = await S.api('POST', `/api/v1/registries/${reg}`, { auth, body });
  assert.equal(res.status, 201, `create ${reg}: ${desc(res)}\nbody: ${JSON.stringify(body)}`);
  return { rec: res.json, etag: res.headers.get('etag'), res, body };
}

export async function count(S, reg, query = '') {
  const r = await S.api('GET', `/api/v1/registries/${reg}?limit=1${query}`, { auth: await session(S, 'admin') });
  assert.equal(r.status, 200, desc(r));
  return r.json.total;
}

// CSV encoding (RFC 4180, CRLF).
export function csvLine(cells) {
  return cells.map((c) => {
    const s = c === null || c === undefined ? '' : String(c);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }).join(',');
}
export function csvDoc(rows, { bom = true } = {}) {
  return (bom ? '\uFEFF' : '') + rows.map(csvLine).join('\r\n') + '\r\n';
}
export function csvValue(f, v) {
  if (f && f.type === 'bool') return v ? '是' : '否';
  if (Array.isArray(v)) return v.join('、');
  return v;
}

// Minimal RFC 4180 parser (handles quotes, "" and newlines inside quotes).
export function parseCsv(text) {
  text = text.replace(/^\uFEFF/, '');
  const rows = [];
  let row = [], cell = '', q = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (q) {
      if (ch === '"') { if (text[i + 1] === '"') { cell += '"'; i++; } else q = false; }
      else cell += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') { row.push(cell); cell = ''; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell); rows.push(row); row = []; cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

// The header labels the server uses for a registry's writable columns:
// [{name, header}] in export order.  Own fields are matched by schema label;
// region_code / lat / lon by the values of a freshly created record.
export async function csvColumns(S, reg) {
  S._csvcols ??= {};
  if (S._csvcols[reg]) return S._csvcols[reg];
  const schema = await getSchema(S);
  const rs = regSchema(schema, reg);
  const admin = await session(S, 'admin');
  const refs = reg === 'hazard_source' ? { enterprise: await anyEnterprise(S) } : undefined;
  const body = validRecord(schema, reg, { refs, override: { lat: 35.4711, lon: 112.8622 } });
  const c = await S.api('POST', `/api/v1/registries/${reg}`, { auth: admin, body });
  assert.equal(c.status, 201, desc(c));
  const ex = await S.api('GET', `/api/v1/registries/${reg}/export.csv?q=${encodeURIComponent(body.name)}`, { auth: admin });
  assert.equal(ex.status, 200, desc(ex));
  const [header, row] = parseCsv(ex.text);
  assert.ok(row, `export has a row: ${ex.text}`);
  const cols = [];
  header.forEach((h, i) => {
    const f = rs.fields.find((x) => x.label === h || x.name === h);
    if (f) cols.push({ name: f.name, header: h });
    else if (h === 'region_code' || row[i] === body.region_code) cols.push({ name: 'region_code', header: h });
    else if (h === 'lat' || row[i] === '35.4711') cols.push({ name: 'lat', header: h });
    else if (h === 'lon' || row[i] === '112.8622') cols.push({ name: 'lon', header: h });
  });
  for (const n of ['region_code', 'lat', 'lon']) assert.ok(cols.some((c) => c.name === n), `export has a ${n} column: ${header}`);
  S._csvcols[reg] = cols;
  return cols;
}
