// bench/publish_stall.mjs — what others wait while a city-wide warning is
// published (issue 11): the longest stall of GET /healthz, of a gateway's
// reading (POST /api/v1/readings) and of an answer (the gateway callback,
// one `answer` per call) while `publish` of a warning over the whole city
// runs, on SQLite and on PostgreSQL, one node each.
//
// The database: build/bench/warning_bench makes the demo city with
// RESIDENTS residents (its own generator; on SQLite kept with --template,
// on PostgreSQL left in a throwaway cluster's database).  Then `yingji
// serve --test-hooks` (no timers: the publish alone is measured, not the
// send rounds after it) on it; three probe loops, each one request at a
// time, run from 1 s before the publish is sent until 1 s after it is
// answered.  Reported per probe: the median before the publish (the
// peer: the same request on the same server with nothing else going on)
// and the longest answer during it.  Rows go to RESULTS (TSV).
//
//   node bench/publish_stall.mjs          (make bench; RESIDENTS=30000 for the smoke)
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, appendFileSync, existsSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = process.env.YINGJI_BIN || join(ROOT, 'build', 'yingji');
const WB = process.env.WARNING_BENCH || join(ROOT, 'build', 'bench', 'warning_bench');
const RESIDENTS = Number(process.env.RESIDENTS || 1000000);
const RESULTS = process.env.RESULTS || join(ROOT, 'bench', 'results', 'publish_stall.tsv');
const STORES = (process.env.STORES || 'sqlite,postgresql').split(',');
const PASSWORD = 'Bench-Passw0rd!'; // warning_bench's demo password
const TOKEN = 'stall-bench-token';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}
async function req(base, method, path, { token, body, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  const t = performance.now();
  const r = await fetch(base + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  const ms = performance.now() - t;
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
  return { json, ms };
}
const median = (v) => { const s = [...v].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : NaN; };

// The database with RESIDENTS residents: a SQLite file, or a database of a
// running throwaway PostgreSQL cluster.  Returns { db, cleanup }.
function makeDatabase(store, dir) {
  const args = ['--residents', String(RESIDENTS), '--repeat', '1', '--ack-batch', '1000', '--ack-single', '1', '--only', 'target'];
  if (store === 'sqlite') {
    const db = join(dir, 'stall.db');
    execFileSync(WB, [...args, '--template', db], { stdio: ['ignore', 'ignore', 'inherit'] });
    return { db, cleanup: () => {} };
  }
  const pgdir = join(dir, 'pg');
  execFileSync('mkdir', ['-p', pgdir]);
  chmodSync(dir, 0o755);
  chmodSync(pgdir, 0o755);
  const url = execFileSync(join(ROOT, 'scripts', 'pg-cluster.sh'), ['start', pgdir], { env: { ...process.env, PG_FSYNC: 'on' } }).toString().trim();
  execFileSync('psql', ['-X', '-q', url, '-c', 'CREATE DATABASE stall']);
  const db = url.replace(/\/postgres$/, '/stall');
  execFileSync(WB, [...args, '--db', db], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { db, cleanup: () => spawnSync(join(ROOT, 'scripts', 'pg-cluster.sh'), ['stop', pgdir]) };
}

async function measure(store) {
  const dir = mkdtempSync(join(tmpdir(), 'yj-stall-'));
  const t0 = performance.now();
  const { db, cleanup } = makeDatabase(store, dir);
  const setupS = (performance.now() - t0) / 1000;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = join(dir, 'serve.log');
  writeFileSync(log, '');
  const srv = spawn(BIN, ['serve', '--db', db, '--listen', `127.0.0.1:${port}`, '--test-hooks', '--gateway-token', TOKEN],
    { stdio: ['ignore', 'ignore', 'ignore'] });
  try {
    for (let i = 0; ; i++) {
      try { if ((await fetch(`${base}/healthz`)).status === 200) break; } catch { /* not yet */ }
      if (i > 600) throw new Error('serve did not start');
      await sleep(100);
    }
    const login = async (u) => (await req(base, 'POST', '/api/v1/login', { body: { username: u, password: PASSWORD } })).json.token;
    const [duty, cmd, admin] = [await login('duty'), await login('commander'), await login('admin')];
    const key = (await req(base, 'POST', '/api/v1/gateways', { token: admin, body: { name: '卡顿测试网关', region_code: '1405' } })).json.api_key;
    // a sensor to report, and must-answer deliveries of a warning the bench published
    const sensors = (await req(base, 'GET', '/api/v1/registries/sensor?limit=200', { token: admin })).json.items;
    const sensor = (sensors.find((x) => x.type === '温度') ?? sensors[0]).code;
    // a warning over one county, published first: its must-answer deliveries are answered during the test
    const approved = async (region, headline) => {
      let x = (await req(base, 'POST', '/api/v1/warnings', { token: duty, body: {
        event_type: '暴雨', category: 'Met', level: 2, headline, description: '预计普降大暴雨。',
        instruction: '危险区域人员立即转移。', area: { regions: [region] }, expires: Date.now() + 6 * 3600000 } })).json;
      x = (await req(base, 'POST', `/api/v1/warnings/${x.id}/submit`, { token: duty, headers: { 'if-match': `"${x.version}"` } })).json;
      return (await req(base, 'POST', `/api/v1/warnings/${x.id}/approve`, { token: cmd, headers: { 'if-match': `"${x.version}"` } })).json;
    };
    const first = await approved('140581', '高平市暴雨橙色预警（卡顿测试）');
    await req(base, 'POST', `/api/v1/warnings/${first.id}/publish`, { token: duty, headers: { 'if-match': `"${first.version}"` } });
    const open = (await req(base, 'GET', `/api/v1/warnings/${first.id}/deliveries?limit=1000&kind=responsible`, { token: duty })).json.items
      .filter((d) => d.acked_at == null).map((d) => d.id);
    // the city-wide warning, approved
    const w = await approved('1405', '全市暴雨橙色预警（卡顿测试）');

    // the probes
    const probes = {
      healthz: () => req(base, 'GET', '/healthz'),
      reading: (() => { let ts = Date.now(); return () => req(base, 'POST', '/api/v1/readings', { headers: { 'x-api-key': key }, body: { readings: [{ sensor, ts: ts++, value: 20 }] } }); })(),
      answer: (() => { let k = 0; return () => req(base, 'POST', '/api/v1/warnings/callback', { headers: { authorization: `Bearer ${TOKEN}` }, body: { type: 'answer', id: open[k++ % Math.max(1, open.length)] ?? 1 } }); })(),
    };
    const samples = Object.fromEntries(Object.keys(probes).map((k) => [k, []])); // [start, ms]
    let stop = false;
    const loops = Object.entries(probes).map(async ([k, fn]) => {
      while (!stop) {
        const at = performance.now();
        const { ms } = await fn();
        samples[k].push([at, ms]);
        await sleep(5);
      }
    });
    await sleep(1000);
    const pubStart = performance.now();
    const pub = await req(base, 'POST', `/api/v1/warnings/${w.id}/publish`, { token: duty, headers: { 'if-match': `"${w.version}"` } });
    const pubEnd = performance.now();
    await sleep(1000);
    stop = true;
    await Promise.all(loops);
    const deliveries = (await req(base, 'GET', `/api/v1/warnings/${w.id}/deliveries?limit=1`, { token: duty })).json;
    const total = Object.values(deliveries.counts || {}).reduce((s, c) => s + Object.values(c).reduce((a, b) => a + b, 0), 0);
    const row = { store, setupS, publishMs: pub.ms, deliveries: total };
    for (const [k, v] of Object.entries(samples)) {
      row[`${k}_base_ms`] = median(v.filter(([at]) => at < pubStart).map(([, ms]) => ms));
      // a request overlapping the publish: started before it ended, ended after it started
      row[`${k}_max_ms`] = Math.max(0, ...v.filter(([at, ms]) => at < pubEnd && at + ms > pubStart).map(([, ms]) => ms));
    }
    return row;
  } finally {
    srv.kill('SIGTERM');
    await new Promise((r) => (srv.exitCode !== null ? r() : srv.once('exit', r)));
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

const commit = (() => {
  try {
    const c = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).toString().trim();
    const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no']).toString().trim();
    return dirty ? `${c}-dirty` : c;
  } catch { return '-'; }
})();
const rows = [];
for (const store of STORES) {
  process.stderr.write(`-- ${store}: ${RESIDENTS} residents ...\n`);
  rows.push(await measure(store));
}
const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
console.log(`\npublish of a city-wide warning with ${RESIDENTS} residents; probes one request at a time (ms: median before / longest during)`);
console.log('store        deliveries  publish ms   healthz           reading           answer');
for (const r of rows) {
  console.log(`${r.store.padEnd(12)} ${String(r.deliveries).padStart(10)} ${f(r.publishMs).padStart(10)}   `
    + ['healthz', 'reading', 'answer'].map((k) => `${f(r[`${k}_base_ms`])} / ${f(r[`${k}_max_ms`])}`.padEnd(18)).join(''));
}
if (!existsSync(RESULTS)) appendFileSync(RESULTS, 'date\tcommit\tstore\tresidents\tdeliveries\tpublish_ms\thealthz_base_ms\thealthz_max_ms\treading_base_ms\treading_max_ms\tanswer_base_ms\tanswer_max_ms\tload1\n');
for (const r of rows) {
  appendFileSync(RESULTS, [new Date().toISOString().slice(0, 19) + 'Z', commit, r.store, RESIDENTS, r.deliveries, f(r.publishMs),
    ...['healthz', 'reading', 'answer'].flatMap((k) => [f(r[`${k}_base_ms`]), f(r[`${k}_max_ms`])]), loadavg()[0].toFixed(2)].join('\t') + '\n');
}
console.log(`(rows appended to ${RESULTS})`);
