// 15 — `yingji cap validate`: the CAP conformance corpus and the rule cases
// (tests/cap/conformance.tsv, tests/cap/rules/expected.tsv) through the
// command, exactly as an operator runs it: one line per file, exit 0 only
// when every file is valid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, REPO } from './harness.mjs';

const CAP = join(REPO, 'tests', 'cap');

function table(file) {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'))
    .map((l) => { const [name, verdict, element, rule, flags] = l.split('\t'); return { name, verdict, element, rule, flags }; });
}

function check(rows, dir, profile) {
  const files = rows.map((r) => join(dir, r.name));
  const out = cli(['cap', 'validate', ...(profile ? ['--profile', 'gbt35965'] : []), ...files]);
  const lines = out.stdout.trim().split('\n');
  assert.equal(lines.length, rows.length, out.stdout + out.stderr);
  rows.forEach((r, i) => {
    const line = lines[i];
    assert.ok(line.startsWith(`${files[i]}: `), line);
    const rest = line.slice(files[i].length + 2);
    if (r.verdict === 'valid') assert.equal(rest, 'valid', `${r.name}: ${rest}`);
    else {
      assert.ok(rest.startsWith(`invalid: ${r.element}: `), `${r.name}: want element ${r.element}: ${rest}`);
      assert.ok(rest.includes(r.rule), `${r.name}: want rule “${r.rule}”: ${rest}`);
    }
  });
  return out.status;
}

test('the conformance corpus: every valid file accepted, every invalid one refused for its reason', () => {
  const rows = table(join(CAP, 'conformance.tsv'));
  assert.ok(rows.length >= 14);
  assert.equal(check(rows, join(CAP, 'corpus')), 1, 'some files are invalid: exit 1');
  assert.equal(check(rows.filter((r) => r.verdict === 'valid'), join(CAP, 'corpus')), 0, 'valid files only: exit 0');
});

test('one message per CAP 1.2 and GB/T 35965.1 rule', () => {
  const rows = table(join(CAP, 'rules', 'expected.tsv'));
  check(rows.filter((r) => !r.flags), join(CAP, 'rules'));
  check(rows.filter((r) => r.flags === 'gbt35965'), join(CAP, 'rules'), true);
});

test('usage errors exit 2; an unreadable file is reported and fails', () => {
  assert.equal(cli(['cap']).status, 2);
  assert.equal(cli(['cap', 'validate']).status, 2);
  assert.equal(cli(['cap', 'validate', '--profile', 'iso', 'x.cap']).status, 2);
  const r = cli(['cap', 'validate', join(CAP, 'corpus', 'canada.cap'), '/nonexistent/alert.cap']);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /canada\.cap: valid\n\/nonexistent\/alert\.cap: invalid: file: cannot read/);
  assert.equal(cli(['cap', 'validate', '--help']).status, 0);
});
