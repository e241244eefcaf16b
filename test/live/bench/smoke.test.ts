import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { BenchResults } from '../../../bench/report.js';
import { REPO_ROOT } from '../../support/service.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the compiled harness as CI would, with a hard time limit. */
function runBench(args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', 'bench', 'run.js'), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    // SIGTERM lets the harness stop the servers and vegeta it started.
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('benchmark harness, smoke mode', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'bench-smoke-'));
  after(() => rmSync(out, { recursive: true, force: true }));

  test('runs the service under load and reports throughput, latency and SQS calls per message', async () => {
    const run = await runBench(['--smoke', '--out', out], 90000);
    assert.equal(run.code, 0, `bench --smoke failed:\n${run.stderr}\n${run.stdout}`);

    const json = readdirSync(out).find((f) => /^\d{4}-\d{2}-\d{2}\.json$/.test(f));
    assert.ok(json, 'no results json in the --out folder');
    const results = JSON.parse(readFileSync(path.join(out, json), 'utf8')) as BenchResults;
    assert.equal(results.mode, 'smoke');
    const step = results.steps.find((s) => s.target === 'service-notrace');
    assert.ok(step, 'no service-notrace step in the results');
    assert.equal(step.outcome, 'ok', step.note);
    assert.ok(Number.isFinite(step.throughputPerSecond) && (step.throughputPerSecond ?? 0) > 0, 'throughput');
    assert.ok(step.latencyMs, 'latency');
    for (const value of Object.values(step.latencyMs)) assert.ok(Number.isFinite(value) && value >= 0, 'latency');
    const callsPerMessage = step.sqs?.callsPerMessage;
    assert.ok(
      callsPerMessage !== undefined && Number.isFinite(callsPerMessage) && callsPerMessage > 0,
      `SQS calls per message: ${callsPerMessage}`,
    );

    // The markdown went to the given folder, not to bench/results, and carries the table.
    const md = readdirSync(out).find((f) => /^\d{4}-\d{2}-\d{2}\.md$/.test(f));
    assert.ok(md, 'no results markdown in the --out folder');
    assert.match(readFileSync(path.join(out, md), 'utf8'), /\| \d+ \| service-notrace \| \d+ \|/);
    assert.ok(existsSync(path.join(out, 'work')), 'scratch files stay inside the --out folder');
  });
});
