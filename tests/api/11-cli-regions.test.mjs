// 11 — `yingji regions load|list`: a deployment loads its own region table
// without the demo; a bad file loads nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, dbQuery } from './harness.mjs';

test('regions load / list on a fresh database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yingji-regions-'));
  try {
    const db = join(dir, 'r.db');
    const good = join(dir, 'good.csv');
    writeFileSync(good, '\ufeffcode,name,parent\n14,山西省,\n1405,晋城市,14\n140525,泽州县,1405\n140581,高平市,1405\n');
    const r = cli(['regions', 'load', good, '--db', db]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /4 regions loaded/);
    const l = cli(['regions', 'list', '--parent', '140500', '--db', db]);
    assert.equal(l.status, 0, l.stderr);
    assert.match(l.stdout, /140525\s+泽州县/);
    assert.match(l.stdout, /140581\s+高平市/);
    // a user can now be created in a loaded region, not in an unknown one
    assert.equal(cli(['user', 'add', 'boss', '--role', 'admin', '--region', '140500', '--name', '局长', '--password', 'Secret-pass1', '--db', db]).status, 0);
    assert.notEqual(cli(['user', 'add', 'x', '--role', 'duty', '--region', '140599', '--name', '某', '--password', 'Secret-pass1', '--db', db]).status, 0);

    // a bad row in the middle: the whole file is refused, nothing changes
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'code,name,parent\n140522,阳城县,1405\n14052X,坏代码,1405\n140524,陵川县,1405\n');
    const b = cli(['regions', 'load', bad, '--db', db]);
    assert.notEqual(b.status, 0);
    assert.match(b.stderr, /line 3/);
    assert.equal(dbQuery(db, "SELECT COUNT(*) FROM region;").trim(), '4');
    // wrong header
    const h = join(dir, 'h.csv');
    writeFileSync(h, 'a,b,c\n1,2,3\n');
    assert.notEqual(cli(['regions', 'load', h, '--db', db]).status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Several processes opening one new database at once (e.g. `serve` and an
// import started together): each must wait its turn to create and migrate
// it, none may fail with "database is locked" or a half-applied migration.
test('concurrent first opens of a new database all succeed', async () => {
  const { spawn } = await import('node:child_process');
  const { BIN } = await import('./harness.mjs');
  for (let round = 0; round < 5; round++) {
    const dir = mkdtempSync(join(tmpdir(), 'yingji-race-'));
    try {
      const db = join(dir, 'race.db');
      const runs = Array.from({ length: 4 }, () => new Promise((res) => {
        const p = spawn(BIN, ['user', 'list', '--db', db], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        p.stderr.on('data', (d) => { err += d; });
        p.on('exit', (code) => res({ code, err }));
      }));
      for (const r of await Promise.all(runs)) assert.equal(r.code, 0, `round ${round}: ${r.err}`);
      // every migration applied exactly once, whoever ran it
      assert.equal(dbQuery(db, 'SELECT COUNT(*) = COUNT(DISTINCT module || version) AND COUNT(*) >= 12'
        + " AND COUNT(DISTINCT module) >= 4 FROM schema_migration;").trim(), '1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
