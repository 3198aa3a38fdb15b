// 08 — static files: / serves index.html; nothing outside web/ is reachable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { setupServer, WEB_DIR, REPO } from './harness.mjs';

const S = setupServer();

// Markers of files outside web/.
const MARKERS = [/root:.*:0:0:/, /LIB_SRC\s*:=/, /yingji — build, run and test/, /"name":\s*"yingji"/, /SQLite format 3/];

const TRAVERSALS = [
  '/../etc/passwd',
  '/../../../../../../../../etc/passwd',
  '/%2e%2e/%2e%2e/etc/passwd',
  '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
  '/..%2f..%2fetc/passwd',
  '/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
  '/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '/%252e%252e/%252e%252e/etc/passwd',
  '/..%5c..%5c..%5cetc/passwd',
  '/..\\..\\..\\etc\\passwd',
  '/vendor/../../Makefile',
  '/../Makefile',
  '/%2e%2e/Makefile',
  '/..%2fMakefile',
  '/.%2e/Makefile',
  '/%2e./Makefile',
  '/vendor/..%2f..%2fMakefile',
  '/vendor/%2e%2e/%2e%2e/Makefile',
  '/../package.json',
  '//etc/passwd',
  '/%2fetc%2fpasswd',
  '/etc/passwd',
  '/....//....//etc/passwd',
  '/index.html%00.js',
  '/../build/t.db',
  '/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd',
];

for (const p of TRAVERSALS) {
  test(`traversal ${p}`, async () => {
    const r = await S.raw('GET', p);
    assert.ok([400, 403, 404].includes(r.status), `${p}: status ${r.status}, body ${r.text.slice(0, 200)}`);
    for (const m of MARKERS) assert.ok(!m.test(r.text), `${p}: leaked ${m}`);
  });
}

test('HEAD and odd methods on traversal paths leak nothing', async () => {
  for (const m of ['HEAD', 'POST', 'PUT', 'DELETE']) {
    const r = await S.raw(m, '/../../Makefile');
    assert.ok(r.status >= 400, `${m}: ${r.status}`);
    for (const mk of MARKERS) assert.ok(!mk.test(r.text), `${m}: leaked`);
  }
});

test('/ serves index.html', async () => {
  const r = await S.raw('GET', '/');
  assert.equal(r.status, 200, r.text.slice(0, 200));
  assert.match(String(r.headers['content-type']), /^text\/html/);
  const f = join(WEB_DIR, 'index.html');
  if (existsSync(f)) assert.equal(r.text, readFileSync(f, 'utf8'));
  else assert.match(r.text, /<html/i);
  const r2 = await S.raw('GET', '/index.html');
  assert.equal(r2.status, 200);
  assert.equal(r2.text, r.text);
});

test('static assets have the right content types; missing file → 404', async () => {
  const leaflet = join(WEB_DIR, 'vendor', 'leaflet', 'leaflet.js');
  if (existsSync(leaflet)) {
    const r = await S.raw('GET', '/vendor/leaflet/leaflet.js');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /javascript/);
    const c = await S.raw('GET', '/vendor/leaflet/leaflet.css');
    assert.match(String(c.headers['content-type']), /text\/css/);
  }
  const nf = await S.raw('GET', '/no-such-file-here.html');
  assert.equal(nf.status, 404);
  const api = await S.raw('GET', '/api/v1/no-such-route');
  assert.equal(api.status, 404);
  assert.equal(JSON.parse(api.text).error.code, 'not_found');
  assert.ok(REPO);
});

// A symlink inside the web root that points outside it is refused, whether it
// names a file or a directory; a symlink that stays inside is served.
test('symlinks out of the web root are refused', async () => {
  const { mkdirSync, writeFileSync, symlinkSync } = await import('node:fs');
  const { startServe, crashReport } = await import('./harness.mjs');
  const web = join(S.dir, 'web-links');
  const outside = join(S.dir, 'outside');
  mkdirSync(join(web, 'sub'), { recursive: true });
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(web, 'sub', 'inner.txt'), 'inside');
  writeFileSync(join(outside, 'secret.txt'), 'TOP-SECRET-OUTSIDE');
  symlinkSync(join(outside, 'secret.txt'), join(web, 'leak.txt'));
  symlinkSync(outside, join(web, 'outdir'));
  symlinkSync(join(web, 'sub', 'inner.txt'), join(web, 'alias.txt'));
  const srv = await startServe(S.db, S.dir, ['--web', web]);
  try {
    for (const p of ['/leak.txt', '/outdir/secret.txt']) {
      const r = await fetch(srv.base + p);
      const text = await r.text();
      assert.ok(r.status === 404 || r.status === 400, `${p} → ${r.status}`);
      assert.doesNotMatch(text, /TOP-SECRET-OUTSIDE/, `${p} leaked the file`);
    }
    const ok = await fetch(srv.base + '/alias.txt');
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'inside');
  } finally {
    await srv.stop();
  }
  assert.equal(crashReport(srv.stderrFile), '', 'server ran clean');
});
