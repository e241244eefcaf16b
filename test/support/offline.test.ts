import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { REPO_ROOT } from './service.js';

// The fence of `npm run test:unit` (offline.ts), run in a node process of its own exactly as the
// runner loads it: what it must stop, loudly, and what it must let through.
const FENCE = path.join(REPO_ROOT, 'dist/test/support/offline.js');

function underFence(script: string): { status: number | null; stderr: string; stdout: string } {
  const run = spawnSync(process.execPath, ['--require', FENCE, '-e', script], {
    encoding: 'utf8',
    timeout: 20000,
    env: { PATH: process.env.PATH ?? '' },
  });
  return { status: run.status, stderr: run.stderr, stdout: run.stdout };
}

describe('the test:unit fence (test/support/offline.ts)', () => {
  test('a connection to LocalStack fails the process, naming LocalStack and where the test belongs', () => {
    const run = underFence(`
      const s = require('node:net').connect(4566, '127.0.0.1');
      s.on('error', (e) => console.log('socket error: ' + e.message));`);
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /reached for LocalStack \(SQS\) on port 4566/);
    assert.match(run.stderr, /test\/live\//);
    assert.match(run.stdout, /socket error: test:unit/, 'the socket errors out instead of connecting');
  });

  test('fetch to Jaeger and an SQS client call are caught the same way, even when the error is swallowed', () => {
    const jaeger = underFence(`fetch('http://127.0.0.1:16686/api/services').catch(() => {});`);
    assert.equal(jaeger.status, 1);
    assert.match(jaeger.stderr, /the Jaeger query API on port 16686/);
    const redis = underFence(`require('node:net').connect({ port: 6379, host: '127.0.0.1' }).on('error', () => {});`);
    assert.equal(redis.status, 1);
    assert.match(redis.stderr, /Redis on port 6379/);
  });

  test('running a CLI tool of the live suites throws, naming it', () => {
    const run = underFence(`
      try { require('node:child_process').spawnSync('helm', ['version']); }
      catch (e) { console.log('refused: ' + e.message); }`);
    assert.equal(run.status, 1);
    assert.match(run.stdout, /refused: test:unit: a test reached for the CLI tool helm/);
    const asynchronous = underFence(`
      try { require('node:child_process').execFile('promtool', ['--version'], () => {}); }
      catch (e) { console.log('refused: ' + e.message); }`);
    assert.match(asynchronous.stdout, /the CLI tool promtool/);
  });

  test('a local server of the test itself, and ordinary commands, are let through', () => {
    const run = underFence(`
      const http = require('node:http');
      const server = http.createServer((q, r) => r.end('ok')).listen(0, '127.0.0.1', async () => {
        const text = await (await fetch('http://127.0.0.1:' + server.address().port)).text();
        const git = require('node:child_process').spawnSync(process.execPath, ['-e', 'process.stdout.write("child")'], { encoding: 'utf8' });
        console.log(text + ' ' + git.stdout);
        server.close();
      });`);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'ok child');
  });
});
