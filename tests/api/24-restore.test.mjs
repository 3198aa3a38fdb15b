// The restore drill of docs/operations.md, run as written, on the store of
// this run: back up while the platform serves (SQLite: sqlite3 .backup;
// PostgreSQL: pg_dump -Fc), keep writing, restore into a new database
// (a copy of the file; createdb + pg_restore), and serve it: what was
// written before the backup is there, what came after is not, the audit
// chain verifies, with the head printed at backup time too.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setupServer, startServe, createRecord, cli, api, STORE, emptyDatabase } from './harness.mjs';

const S = setupServer();

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test(`backup while serving, restore into a new database, serve it (${STORE})`, { timeout: 600_000 }, async () => {
  const admin = await S.as('admin');
  const made = await createRecord(S, admin, 'shelter', { name: '备份前的避难场所' });
  const before = made.rec;
  const head = /head (\d+:[0-9a-f]{64})/.exec(cli(['audit', 'verify', '--db', S.db]).stdout)?.[1];
  assert.ok(head, 'verify prints the head');

  // the backup, as docs/operations.md says, with the platform running
  const file = join(S.dir, STORE === 'sqlite' ? 'backup.db' : 'backup.dump');
  if (STORE === 'sqlite') run('sqlite3', [S.db, `.backup '${file}'`]);
  else run('pg_dump', ['-Fc', '-f', file, S.db]);

  const after = (await createRecord(S, admin, 'shelter', { name: '备份后的避难场所' })).rec;

  // the restore, into a database of its own
  const target = emptyDatabase(S.dir, 'restored.db');
  try {
    if (STORE === 'sqlite') run('cp', [file, target.db]);
    else run('pg_restore', ['--no-owner', '-d', target.db, file]);

    const v = cli(['audit', 'verify', '--db', target.db, '--head', head]);
    assert.equal(v.status, 0, `the restored chain verifies up to the head kept at backup time: ${v.stdout}${v.stderr}`);

    const srv = await startServe(target.db, S.dir);
    try {
      const tok = (await api(srv.base, 'POST', '/api/v1/login', { body: { username: 'admin', password: 'Test-Passw0rd!' } })).json.token;
      assert.ok(tok, 'the restored users log in');
      const got = await api(srv.base, 'GET', `/api/v1/registries/shelter/${before.id}`, { token: tok });
      assert.equal(got.status, 200, got.text);
      assert.equal(got.json.name, '备份前的避难场所');
      const gone = await api(srv.base, 'GET', `/api/v1/registries/shelter/${after.id}`, { token: tok });
      assert.equal(gone.status, 404, 'what came after the backup is not in it');
      // and it takes writes: ids continue past the restored ones
      const next = await api(srv.base, 'POST', '/api/v1/registries/shelter', { token: tok, body: { ...made.body, name: '恢复后新建' } });
      assert.equal(next.status, 201, next.text);
      assert.ok(next.json.id > before.id, 'new ids after the restored ones');
    } finally {
      await srv.stop();
    }
  } finally {
    target.drop();
  }
});
