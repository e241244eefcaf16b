import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { REPO_ROOT } from '../support/service.js';

// CONTRIBUTING.md is short and must stay true: every path it names exists, every command it names
// is a script, and the test layout it describes (tests mirror src/) is the one on disk.
const guide = readFileSync(path.join(REPO_ROOT, 'CONTRIBUTING.md'), 'utf8');
const scripts = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: object }).scripts;

const ROOTS = ['src/', 'test/', 'helm/', 'docs/', 'config/', 'bench/', 'otel/', '.ci/'];
const TOP_LEVEL = ['Dockerfile', 'package.json', 'README.md', 'CONTRIBUTING.md', 'tsconfig.json'];

/** Repository paths the guide names: in code spans and in the diagram, cut at a `:` or a space. */
function namedPaths(markdown: string): string[] {
  const out = new Set<string>();
  for (const [, token] of markdown.matchAll(/([A-Za-z0-9_.\-/]+)/g)) {
    const candidate = (token ?? '').replace(/[.,;:)]+$/, '');
    if (ROOTS.some((root) => candidate.startsWith(root)) || TOP_LEVEL.includes(candidate)) out.add(candidate);
  }
  return [...out].sort();
}

const dirs = (dir: string): string[] =>
  readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();

describe('CONTRIBUTING.md', () => {
  test('every path it names exists', () => {
    const paths = namedPaths(guide);
    assert.ok(paths.length > 30, `expected the guide to name its paths, found ${paths.length}`);
    const missing = paths.filter((p) => !existsSync(path.join(REPO_ROOT, p)));
    assert.deepEqual(missing, [], 'paths named in CONTRIBUTING.md that do not exist');
  });

  test('every npm command it names is a script of package.json', () => {
    const named = [...guide.matchAll(/npm run ([a-z0-9:]+)/g)].map((m) => m[1] as string);
    assert.ok(named.length >= 4);
    assert.deepEqual(
      [...new Set(named)].filter((name) => !(name in scripts)),
      [],
    );
  });

  test('tests mirror src/: every folder of test/ is a module of src/, or live/, k8s/, support/ or docs/', () => {
    // A module is a folder of src/, or one of its top-level files (src/replay.ts: test/live/replay/).
    const modules = [
      ...dirs('src'),
      ...readdirSync(path.join(REPO_ROOT, 'src'))
        .filter((f) => f.endsWith('.ts'))
        .map((f) => f.replace(/\.ts$/, '')),
    ];
    const extra = dirs('test').filter((d) => !modules.includes(d) && !['live', 'k8s', 'support', 'docs'].includes(d));
    assert.deepEqual(extra, [], 'test folders that mirror no module of src/');
    const live = dirs('test/live').filter((d) => !modules.includes(d) && d !== 'helm' && d !== 'bench');
    assert.deepEqual(live, [], 'test/live folders that mirror no module of src/ (or helm/, bench/)');
    const untested = dirs('src').filter(
      (m) => !existsSync(path.join(REPO_ROOT, 'test', m)) && !existsSync(path.join(REPO_ROOT, 'test/live', m)),
    );
    assert.deepEqual(untested, [], 'modules of src/ with no test folder');
  });

  test('no test file outside test/support/ defines a test double (a class implementing a service interface)', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true })) {
        const rel = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          if (rel !== path.join('test', 'support')) walk(rel);
        } else if (
          rel.endsWith('.ts') &&
          /^class \w+ implements (BatchSender|DeadLetterSink|DedupeWindow|SignatureCheck)\b/m.test(
            readFileSync(path.join(REPO_ROOT, rel), 'utf8'),
          )
        ) {
          offenders.push(rel);
        }
      }
    };
    walk('test');
    assert.deepEqual(offenders, [], 'doubles belong in test/support/doubles.ts');
  });
});
