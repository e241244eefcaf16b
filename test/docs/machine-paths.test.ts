import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { withoutMachinePaths } from '../../bench/machine-paths.js';
import { REPO_ROOT } from '../support/service.js';

// "No secrets or machine paths in the repo": benchmark results are written by the bench from process
// command lines and log paths, so the bench shortens them (bench/machine-paths.ts) and this holds every
// committed file to it.
const HOME_PATH = /(?<![\w.:/])\/(?:home|Users|work|workspace)\/[\w.@+-]+/;
/** This file writes such paths on purpose, as the cases above. */
const SELF = 'test/docs/machine-paths.test.ts';

describe('machine paths', () => {
  test('the bench shortens checkout paths to their part inside the checkout, and leaves routes and system paths', () => {
    assert.equal(
      withoutMachinePaths('other busy processes: `node /home/me/src/iw/node_modules/.bin/eslint .` 33%'),
      'other busy processes: `node node_modules/.bin/eslint .` 33%',
    );
    assert.equal(
      withoutMachinePaths('see /work/wt-19/bench/.work/run-1/batch-manager.log;'),
      'see bench/.work/run-1/batch-manager.log;',
    );
    assert.equal(withoutMachinePaths('"command": "/srv/ci/dist/src/main.js"'), '"command": "dist/src/main.js"');
    assert.equal(withoutMachinePaths('a file at /home/me/notes.txt'), 'a file at …/me/notes.txt');
    const untouched =
      'POST /webhooks/invoice to http://127.0.0.1:3000/webhooks/invoice; /proc/self/stat; bench/results/x.md';
    assert.equal(withoutMachinePaths(untouched), untouched);
  });

  test('no tracked file names a directory of this machine', () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: REPO_ROOT, encoding: 'utf8' })
      .split('\0')
      .filter((file) => file !== '' && file !== SELF && !/\.(png|jpg|gz|tgz|ico)$/.test(file));
    const offenders = files.flatMap((file) => {
      let text: string;
      try {
        text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
      } catch {
        return []; // deleted in the work tree
      }
      const hit = HOME_PATH.exec(text);
      return hit ? [`${file}: ${hit[0]}`] : [];
    });
    assert.deepEqual(offenders, []);
  });
});
