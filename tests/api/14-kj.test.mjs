// 14 — KJ monitoring files: `yingji ingest-kj` and the serve --kj-dir watcher.
// Fixtures and their parse-level expectations are in tests/kj/ (see
// docs/kj-format.md); here they go through the whole platform: sensors
// defined from AQMC/AQKC, readings stored, rejects stored and reported,
// re-ingest counted as duplicates, unreadable files fail the command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, copyFileSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setupServer, startServe, cli, dbQuery, sleep, REPO, ZEZHOU, desc } from './harness.mjs';

const KJ = join(REPO, 'tests', 'kj');
const MINE = '140525010001'; // the mine code the fixtures use
const S = setupServer();

function ingest(...files) {
  return cli(['ingest-kj', '--db', S.db, '--json', ...files.map((f) => join(KJ, f))]);
}
// The mine as a monitored object (the KJ 煤矿编码 is the object code);
// created once, by whichever test needs it first.  Returns its enterprise.
async function ensureMine() {
  const admin = await S.as('admin');
  const ent = (await S.api('GET', `/api/v1/registries/enterprise?region=${ZEZHOU}&limit=1`, { auth: admin })).json.items[0];
  const have = await S.api('GET', `/api/v1/registries/monitored_object?code=${MINE}&limit=1`, { auth: admin });
  if (!have.json.items.some((o) => o.code === MINE)) {
    const r = await S.api('POST', '/api/v1/registries/monitored_object', { auth: admin, body: {
      code: MINE, name: '测试煤矿', kind: '煤矿', enterprise_id: ent.id, region_code: ent.region_code, lat: ent.lat, lon: ent.lon } });
    assert.equal(r.status, 201, desc(r));
  }
  return ent;
}
function reports(out) { return out.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)); }

test('KJ files define sensors from AQMC/AQKC and store AQSS/AQKD readings; rules from the mine\'s alarm values', async () => {
  const ent = await ensureMine();

  const out = ingest('good_utf8.txt');
  assert.equal(out.status, 0, out.stderr);
  const [rep] = reports(out);
  const want = JSON.parse(readFileSync(join(KJ, 'good_utf8.expected.json'), 'utf8'));
  assert.deepEqual(rep.accepted, want.accepted);
  assert.deepEqual(rep.rejected, {});
  assert.equal(rep.sensors_created, 5);
  const sensors = dbQuery(S.db, `SELECT code || '|' || type || '|' || enterprise_id FROM sensor WHERE code LIKE '${MINE}-%' ORDER BY code`).trim().split('\n');
  assert.ok(sensors.includes(`${MINE}-001A01|甲烷|${ent.id}`), sensors.join(','));
  assert.ok(sensors.some((s) => s.startsWith(`${MINE}-001D01|开关量`)), 'AQKC switch point defined');
  const stored = Number(dbQuery(S.db, `SELECT COUNT(*) FROM reading r JOIN sensor s ON s.id = r.sensor_id WHERE s.code LIKE '${MINE}-%'`));
  assert.equal(stored, want.accepted.AQSS + want.accepted.AQKD);
  const rule = dbQuery(S.db, `SELECT params FROM monitor_rule m JOIN sensor s ON s.id = m.sensor_id WHERE s.code = '${MINE}-001A01'`).trim();
  assert.deepEqual(JSON.parse(rule).levels, { yellow: 0.8, orange: 1.2 });
  assert.equal(Number(dbQuery(S.db, 'SELECT COUNT(*) FROM kj_stat')), want.accepted.AQMT);

  // the same file again: definitions known, every value a duplicate
  const again = reports(ingest('good_utf8.txt'))[0];
  assert.equal(again.accepted.AQSS, 0);
  assert.equal(again.rejected.duplicate, want.accepted.AQSS + want.accepted.AQKD + want.accepted.AQMT);

  // The running server learns of the sensors and the mine's rule that the
  // command (another process) made: a gateway reading for the new point is
  // accepted, and 0.9 % is over the mine's own 报警值 0.8 (yellow) where the
  // default rule would say blue.
  const admin = await S.as('admin');
  const gw = await S.api('POST', '/api/v1/gateways', { auth: admin, body: { name: '矿井网关', region_code: ZEZHOU } });
  assert.equal(gw.status, 201, desc(gw));
  let res = null;
  for (let i = 0; i < 50 && !(res && res.accepted === 1); i++) {
    if (i) await sleep(200);
    const r = await S.api('POST', '/api/v1/readings', { headers: { 'x-api-key': gw.json.api_key },
      body: { readings: [{ sensor: `${MINE}-001A01`, ts: Date.now(), value: 0.9 }] } });
    assert.equal(r.status, 200, desc(r));
    res = r.json;
  }
  assert.equal(res.accepted, 1, `the server never saw the new sensor: ${JSON.stringify(res)}`);
  const sid = Number(dbQuery(S.db, `SELECT id FROM sensor WHERE code = '${MINE}-001A01'`));
  const alarms = (await S.api('GET', `/api/v1/alarms?sensor_id=${sid}`, { auth: admin })).json.items;
  assert.equal(alarms.length, 1, JSON.stringify(alarms));
  assert.equal(alarms[0].level, 3, 'the KJ rule (yellow 0.8), not the default (blue 0.75)');
});

test('GBK files are read; broken batches are rejected with the parser\'s reasons and stored', async () => {
  const [gbk] = reports(ingest('good_gbk.txt'));
  assert.equal(gbk.encoding, 'GBK');
  assert.ok(gbk.accepted_total > 0);
  const loc = dbQuery(S.db, `SELECT location FROM sensor WHERE code LIKE '${MINE}-%' AND location <> '' ORDER BY id DESC LIMIT 1`).trim();
  assert.match(loc, /[\u4e00-\u9fff]/, 'GBK text converted to UTF-8');
  for (const f of ['missing_terminator', 'field_count', 'bad_numbers', 'bad_time', 'unknown_table']) {
    const want = JSON.parse(readFileSync(join(KJ, `${f}.expected.json`), 'utf8'));
    const out = ingest(`${f}.txt`);
    assert.equal(out.status, 0, out.stderr);
    const [rep] = reports(out);
    for (const [reason, n] of Object.entries(want.rejected)) assert.equal(rep.rejected[reason], n, `${f}: ${reason} ${JSON.stringify(rep)}`);
  }
  const stored = dbQuery(S.db, "SELECT COUNT(*) FROM reading_reject WHERE source = 'kj' AND detail LIKE '[field_count]%'").trim();
  assert.ok(Number(stored) > 0, 'parser rejects are stored');
});

test('the platform\'s own KJ rejects (unknown mine, unknown type, unknown AQMT point) are stored and queryable too', async () => {
  // tests/kj/unknown_mine.txt parses cleanly; its mine 140525099999 is not a monitored object
  await ensureMine();
  const [rep] = reports(ingest('unknown_mine.txt'));
  assert.deepEqual(rep.rejected, { unknown_mine: 1, unknown_type: 1, unknown_sensor: 2 }, JSON.stringify(rep));
  const admin = await S.as('admin');
  const r = await S.api('GET', '/api/v1/readings/rejects?limit=100', { auth: admin });
  assert.equal(r.status, 200, desc(r));
  const mine = r.json.items.filter((x) => x.origin === 'kj:unknown_mine.txt');
  const by = (re) => mine.filter((x) => re.test(x.detail || '') || re.test(x.reason));
  assert.equal(mine.length, 4, JSON.stringify(mine));
  assert.equal(by(/\[unknown_mine\]/).length, 1);
  assert.equal(by(/\[unknown_mine\]/)[0].reason, 'unknown_sensor');
  assert.equal(by(/\[unknown_mine\]/)[0].sensor_code, '140525099999-009A01');
  assert.equal(by(/\[unknown_type\]/)[0].reason, 'malformed');
  assert.equal(by(/AQMT/).length, 1);
});

test('ingest-kj: an unreadable file makes the command fail, the others are still ingested', () => {
  const out = cli(['ingest-kj', '--db', S.db, join(KJ, 'good_utf8.txt'), '/nonexistent/x.txt']);
  assert.equal(out.status, 1);
  assert.match(out.stderr, /x\.txt/);
  assert.match(out.stdout, /good_utf8\.txt: UTF-8/);
  assert.equal(cli(['ingest-kj', '--db', S.db]).status, 2);
});

test('serve --kj-dir watches a directory: ingested files move to done/ with a report', async () => {
  const dir = join(S.dir, 'kjdrop');
  mkdirSync(dir, { recursive: true });
  const srv = await startServe(S.db, S.dir, ['--kj-dir', dir]);
  try {
    copyFileSync(join(KJ, 'field_count.txt'), join(dir, 'a.txt'));
    let rep = null;
    for (let i = 0; i < 100 && !rep; i++) {
      await sleep(200);
      const f = join(dir, 'done', 'a.txt.report.json');
      if (existsSync(f)) rep = JSON.parse(readFileSync(f, 'utf8'));
    }
    assert.ok(rep, `report written: ${readdirSync(dir).join(',')}`);
    assert.ok(rep.rejected.field_count > 0);
    assert.ok(!existsSync(join(dir, 'a.txt')));
  } finally {
    await srv.stop();
  }
});
