import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../support/service.js';

// Places where the docs and the code once disagreed (issue 20), kept in agreement. The others have their
// own checks: HTTP_MAX_HEADERS in test/service/max-headers.test.ts, the status codes against the running
// service in test/live/service/status-codes.test.ts, the environment table and where defaults live in
// test/docs/configuration.test.ts.
const read = (file: string): string => readFileSync(path.join(REPO_ROOT, file), 'utf8');

/** Repository paths named in the `#` comments of a Dockerfile or script. */
function pathsInComments(text: string): string[] {
  const comments = text
    .split('\n')
    .filter((line) => /^\s*#/.test(line))
    .join('\n');
  const roots = ['src/', 'test/', 'bench/', 'docs/', 'helm/', 'config/', '.ci/', 'otel/'];
  return [...comments.matchAll(/[A-Za-z0-9_.\-/]+/g)]
    .map((m) => m[0].replace(/[.,;:)]+$/, ''))
    .filter((token) => roots.some((root) => token.startsWith(root)));
}

describe('docs and code agree', () => {
  it('every repository path the Dockerfile comments cite exists', () => {
    const cited = pathsInComments(read('Dockerfile'));
    assert.ok(cited.length >= 3, `found ${cited.join(', ')}`);
    assert.deepEqual(
      cited.filter((p) => !existsSync(path.join(REPO_ROOT, p))),
      [],
    );
  });

  it('the memory flag: one value in npm start, the image and docs/operations.md, one cost in the Dockerfile and the docs', () => {
    const flag = /--max-semi-space-size=(\d+)/;
    const start = (JSON.parse(read('package.json')) as { scripts: { start: string } }).scripts.start;
    const ops = read('docs/operations.md');
    const memory = ops.slice(ops.indexOf('## Memory'), ops.indexOf('\n## ', ops.indexOf('## Memory')));
    const values = [start, read('Dockerfile'), memory].map((text) => flag.exec(text)?.[1]);
    assert.equal(new Set(values).size, 1, `values: ${values.join(', ')}`);
    const dockerfile = read('Dockerfile').replace(/\n#\s*/g, ' ');
    for (const figure of [/155–160 MB/, /10–15% more CPU per request/]) {
      assert.match(memory.replace(/\n/g, ' '), figure);
      assert.match(dockerfile, figure);
    }
  });

  it('HOST: the chart listens on 0.0.0.0 and the docs say that is IPv4 only', () => {
    const configmap = read('helm/templates/configmap.yaml');
    const host = /^\s*HOST:\s*"?([^"\n]+)"?/m.exec(configmap)?.[1];
    assert.equal(host, '0.0.0.0');
    const hostRow = read('docs/configuration.md')
      .split('\n')
      .find((l) => l.startsWith('| `PORT`, `HOST`'));
    assert.match(hostRow ?? '', /`0\.0\.0\.0` is IPv4 only/);
    assert.match(hostRow ?? '', /`::`.*dual-stack/);
    assert.match(read('helm/README.md'), /HOST is always 0\.0\.0\.0, so the pod listens on IPv4 only/);
  });

  it('no table row sends the reader "below" (tables are read on their own, and move)', () => {
    const markdown = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((f) => f !== '' && existsSync(path.join(REPO_ROOT, f)));
    const offenders = markdown.flatMap((file) =>
      read(file)
        .split('\n')
        .map((line, i) => [line, i + 1] as const)
        .filter(([line]) => line.startsWith('|') && /see below/i.test(line))
        .map(([, n]) => `${file}:${n}`),
    );
    assert.deepEqual(offenders, []);
  });
});
