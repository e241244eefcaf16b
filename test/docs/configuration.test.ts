import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigSchema, ENVIRONMENT } from '../../src/config/index.js';
import { REPO_ROOT } from '../support/service.js';

// docs/configuration.md's environment table is the reference for every setting: it must list exactly the
// variables the service reads (src/config/schema.ts, ENVIRONMENT), each with the default the service
// starts with (config/default.json, where the defaults live), and no other page may hold a copy.
const read = (file: string): string => readFileSync(path.join(REPO_ROOT, file), 'utf8');
const doc = read('docs/configuration.md');
const defaults = JSON.parse(read('config/default.json')) as Record<string, string | number | undefined>;

interface Row {
  names: string[];
  defaults: string;
}

/** The environment table: variable names (a row may name several) and the default cell. */
function environmentTable(): Row[] {
  const start = doc.indexOf('| variable');
  assert.ok(start >= 0, 'docs/configuration.md has no environment table');
  const lines = doc.slice(start).split('\n');
  const end = lines.findIndex((line) => !line.startsWith('|'));
  return lines.slice(2, end).map((line) => {
    const [, variables = '', cell = ''] = line.split('|').map((c) => c.trim());
    return { names: [...variables.matchAll(/`([A-Z_*]+)`/g)].map((m) => m[1] as string), defaults: cell };
  });
}

/** What a default cell says, per variable of its row: the `values` in order, or one word for all. */
function documentedDefaults(row: Row): (string | undefined)[] {
  const values = [...row.defaults.matchAll(/`([^`]*)`/g)].map((m) => m[1] as string);
  if (values.length > 0) {
    assert.equal(values.length, row.names.length, `one default per variable: ${row.names.join(', ')}`);
    return values;
  }
  if (/^(empty|required)\b/.test(row.defaults)) return row.names.map(() => '');
  if (/^unset\b/.test(row.defaults)) return row.names.map(() => undefined);
  assert.fail(`cannot read the default "${row.defaults}" of ${row.names.join(', ')}`);
}

describe('docs/configuration.md', () => {
  const rows = environmentTable();

  it('lists exactly the environment variables the service reads (and the OTEL_* family)', () => {
    const documented = rows.flatMap((r) => r.names);
    assert.equal(new Set(documented).size, documented.length, 'no variable listed twice');
    assert.deepEqual(documented.filter((n) => n !== 'OTEL_*').sort(), Object.keys(ENVIRONMENT).sort());
    assert.ok(documented.includes('OTEL_*'));
  });

  it('gives each variable the default the service starts with (config/default.json)', () => {
    let checked = 0;
    for (const row of rows.filter((r) => !r.names.includes('OTEL_*'))) {
      documentedDefaults(row).forEach((value, i) => {
        const name = row.names[i] as keyof typeof ENVIRONMENT;
        const actual = defaults[ENVIRONMENT[name]];
        assert.equal(value, actual === undefined ? undefined : String(actual), `default of ${name}`);
        checked += 1;
      });
    }
    assert.equal(checked, Object.keys(ENVIRONMENT).length);
    // "required": empty by default, and the schema refuses empty.
    assert.equal(defaults.sqsQueueUrl, '');
    assert.equal((ConfigSchema.properties.sqsQueueUrl as { minLength?: number }).minLength, 1);
  });

  it('defaults live in config/default.json, as CONTRIBUTING.md and the schema say: the schema holds none', () => {
    const schema = read('src/config/schema.ts');
    assert.doesNotMatch(schema, /\bdefault\s*:/, 'a default in src/config/schema.ts');
    assert.match(schema, /Defaults live in `config\/default\.json`/);
    const required = new Set((ConfigSchema as { required?: string[] }).required ?? []);
    assert.deepEqual(
      [...required].filter((key) => !(key in defaults)),
      [],
      'required settings without a default in config/default.json',
    );
    const guide = read('CONTRIBUTING.md');
    assert.match(guide, /default in `config\/default\.json`/);
    assert.doesNotMatch(guide, /default in `src\/config\/schema\.ts`/);
  });

  it('the environment and status tables each live in one place; the others link to them', () => {
    const markdown = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((f) => f !== '');
    const holding = (header: RegExp): string[] => markdown.filter((file) => header.test(read(file)));
    assert.deepEqual(holding(/^\| variable\s+\| default/m), ['docs/configuration.md']);
    assert.deepEqual(holding(/^\| situation\s+\| status/m), ['docs/api.md']);
    assert.match(read('docs/api.md'), /\]\(configuration\.md#environment\)/);
    assert.match(read('README.md'), /\]\(docs\/configuration\.md#environment\)/);
    assert.match(read('README.md'), /\]\(docs\/api\.md\)/);
  });

  it('config/local.json, which may hold secrets, is ignored by git', () => {
    const ignored = execFileSync('git', ['check-ignore', 'config/local.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(ignored.trim(), 'config/local.json');
    assert.match(doc, /`config\/local\.json`\s+is ignored by git/);
  });
});
