import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ENVIRONMENT } from '../../src/config/index.js';
import { REPO_ROOT } from '../support/service.js';

describe('README', () => {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

  // The README's table or, for settings added while issue 20 moves that table out, docs/api.md's.
  const api = readFileSync(path.join(REPO_ROOT, 'docs', 'api.md'), 'utf8');

  it('documents every environment variable the service reads', () => {
    const missing = Object.keys(ENVIRONMENT).filter(
      (name) => !readme.includes(`\`${name}\``) && !api.includes(`\`${name}\``),
    );
    assert.deepEqual(missing, []);
  });

  it('has a quick start of exactly two commands, the second being npm test', () => {
    const quick = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const commands = quick
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean);
    assert.deepEqual(commands, ['npm run local', 'npm test']);
  });
});
