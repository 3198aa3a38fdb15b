// store.mjs — the database a test runs on: SQLite (a file in the test's
// temp dir) or PostgreSQL (a database of its own in the throwaway cluster
// `make test` starts with scripts/pg-cluster.sh, named by YJ_TEST_PG_URL).
//
// Every API and browser suite runs once on each store; a test that reaches
// into the database (to tamper with the audit log, to count rows) does so
// with dbQuery(), which speaks to either.  The demo city is made once per
// cluster on PostgreSQL (a template database) and copied for each test
// file: CREATE DATABASE ... TEMPLATE is a file copy, the demo is minutes of
// round trips.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PG_URL = process.env.YJ_TEST_PG_URL || '';
export const STORE = PG_URL ? 'postgresql' : 'sqlite';
const PG_DIR = process.env.YJ_TEST_PG_DIR || '';

let counter = 0;

function psql(url, sql, opts = {}) {
  const r = spawnSync('psql', ['-X', '-q', '-At', '-F', '|', '-v', 'ON_ERROR_STOP=1', url, '-c', sql],
    { encoding: 'utf8', timeout: opts.timeout ?? 120_000 });
  if (r.status !== 0) throw new Error(`psql failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

// The URL of database `name` in the cluster.
export function pgDatabase(name) {
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

// Run SQL on the test's database; rows as 'a|b' lines (sqlite3's and psql's
// unaligned output agree).
export function dbQuery(db, sql) {
  if (db.startsWith('postgres')) return psql(db, sql);
  const r = spawnSync('sqlite3', ['-cmd', '.timeout 10000', db, sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sqlite3 failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

// A new empty database: {db, drop()}.  dir: the test's temp dir (SQLite).
export function emptyDatabase(dir, name = 'e.db') {
  if (!PG_URL) return { db: join(dir, name), drop() {} };
  const db = `t_${process.pid}_${++counter}_${Date.now() % 100000}`;
  psql(PG_URL, `CREATE DATABASE ${db}`);
  return { db: pgDatabase(db), drop() { dropDatabase(db); } };
}

function dropDatabase(name) {
  try { psql(PG_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); } catch { /* the cluster is going away anyway */ }
}

// The demo city in a database of the test's own: {db, logins, drop()}.
//  run(args) runs the yingji CLI ({status, stdout, stderr}).
export function demoDatabase(dir, run, password) {
  if (!PG_URL) {
    const db = join(dir, 't.db');
    const d = run(['demo', '--db', db, '--password', password]);
    if (d.status !== 0) throw new Error(`demo failed (${d.status}):\n${d.stdout}\n${(d.stderr ?? '').slice(-4000)}`);
    return { db, logins: JSON.parse(readFileSync(`${db}.logins.json`, 'utf8')), drop() {} };
  }
  const tpl = 'yj_demo_template';
  const loginsFile = join(PG_DIR || dir, `${tpl}.logins.json`);
  if (!existsSync(loginsFile)) {
    psql(PG_URL, `DROP DATABASE IF EXISTS ${tpl} WITH (FORCE)`);
    psql(PG_URL, `CREATE DATABASE ${tpl}`);
    const d = run(['demo', '--db', pgDatabase(tpl), '--password', password, '--logins', `${loginsFile}.new`]);
    if (d.status !== 0) throw new Error(`demo on PostgreSQL failed (${d.status}):\n${d.stdout}\n${(d.stderr ?? '').slice(-4000)}`);
    writeFileSync(loginsFile, readFileSync(`${loginsFile}.new`));
  }
  const name = `t_${process.pid}_${++counter}_${Date.now() % 100000}`;
  psql(PG_URL, `CREATE DATABASE ${name} TEMPLATE ${tpl}`);
  return { db: pgDatabase(name), logins: JSON.parse(readFileSync(loginsFile, 'utf8')), drop() { dropDatabase(name); } };
}
