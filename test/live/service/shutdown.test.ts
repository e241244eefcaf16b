import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { makeInvoice, postAccepted, postInvoice } from '../../support/invoices.js';
import { loadGenerator } from '../../support/load.js';
import { spawnedPipeline } from '../../support/pipeline.js';
import { deadLetters, tempDir } from '../../support/service.js';
import { attribute } from '../../support/sqs.js';
import { sleep, waitUntil } from '../../support/wait.js';

describe('shutdown', () => {
  it('on SIGTERM under load, every accepted invoice lands and the process exits 0', async (t) => {
    // A slow SQS builds a backlog, so there is something to drain when the signal arrives.
    const { svc, receive } = await spawnedPipeline(t, {
      proxy: { delayMs: 30 },
      env: { FLUSH_CONCURRENCY: '2', SHUTDOWN_TIMEOUT_MS: '20000' },
    });
    const load = loadGenerator(svc.url, 16);
    // Enough accepted to prove something, however busy the machine (not a fixed time).
    await waitUntil('100 invoices were accepted', () => load.accepted.length >= 100, { everyMs: 20 }).catch(
      async (error: unknown) => {
        await load.stop();
        throw error;
      },
    );
    svc.child.kill('SIGTERM');
    await sleep(300);
    await load.stop();
    const exit = await svc.exited;
    assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}; stderr: ${svc.stderr.join('')}`);
    assert.ok(load.accepted.length > 50, `load too small to prove anything: ${load.accepted.length}`);
    assert.ok((load.statuses.get(503) ?? 0) > 0, 'requests after SIGTERM were answered 503');
    const drainingLine = svc.logs.find((l) => l.msg === 'draining');
    assert.ok(drainingLine, 'the drain is logged');
    assert.ok((drainingLine.buffered as number) + (drainingLine.inFlight as number) > 0, 'there was a backlog');
    assert.ok(svc.logs.some((l) => String(l.msg).startsWith('drained')));

    const messages = await receive(load.accepted.length, { timeoutMs: 30000 });
    const landed = messages.map((m) => attribute(m, 'invoice-id')).sort();
    assert.equal(landed.length, load.accepted.length, 'nothing accepted was lost or duplicated');
    assert.deepEqual(landed, [...load.accepted].sort());
  });

  it('while draining, /readyz and new intake answer 503, /livez stays 200', async (t) => {
    const { svc } = await spawnedPipeline(t, {
      proxy: { mode: 'refuse' }, // SQS is gone: the drain cannot finish early
      env: { SHUTDOWN_TIMEOUT_MS: '3000', RETRY_MAX_MS: '200' },
    });
    assert.equal((await postInvoice(svc.url, makeInvoice())).status, 202);
    assert.equal((await fetch(`${svc.url}/readyz`)).status, 200);
    svc.child.kill('SIGTERM');
    await sleep(300);
    const ready = await fetch(`${svc.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(((await ready.json()) as { reason: string }).reason, 'shutting down');
    assert.equal((await fetch(`${svc.url}/readyz?exclude=buffer`)).status, 503, 'draining cannot be excluded');
    assert.equal((await fetch(`${svc.url}/livez`)).status, 200);
    const late = await postInvoice(svc.url, makeInvoice());
    assert.equal(late.status, 503);
    assert.equal(late.body.reason, 'shutting down');
    assert.match(late.headers.get('retry-after') ?? '', /^\d+$/);
    await svc.exited;
  });

  it('when SQS stays down past the drain budget, leftovers go to the dead-letter file and the exit code is non-zero', async (t) => {
    const deadLetterPath = path.join(tempDir(), 'dl.jsonl');
    const { svc } = await spawnedPipeline(t, {
      proxy: { mode: 'refuse' },
      env: { SHUTDOWN_TIMEOUT_MS: '1000', RETRY_MAX_MS: '200', DEAD_LETTER_PATH: deadLetterPath },
    });
    const ids = await postAccepted(svc.url, 5);
    svc.child.kill('SIGTERM');
    const exit = await svc.exited;
    assert.notEqual(exit.code, 0);
    const records = deadLetters(deadLetterPath);
    assert.deepEqual(records.map((r) => r.invoiceId).sort(), [...ids].sort(), 'every leftover is dead-lettered');
    for (const r of records) assert.equal(r.reason, 'undelivered_at_shutdown');
    const summary = svc.logs.find((l) => typeof l.left === 'number');
    assert.equal(summary?.left, 5, 'the log says how many were left');
  });

  it('a second SIGTERM does not cut the drain short', async (t) => {
    const { svc, proxy, receive } = await spawnedPipeline(t, {
      proxy: { mode: 'refuse' },
      env: { SHUTDOWN_TIMEOUT_MS: '15000', RETRY_MAX_MS: '100' },
    });
    assert.ok(proxy);
    const ids: string[] = [];
    for (let i = 0; i < 30; i += 1) ids.push((await postInvoice(svc.url, makeInvoice())).body.id as string);
    svc.child.kill('SIGTERM');
    await sleep(200);
    svc.child.kill('SIGTERM');
    svc.child.kill('SIGINT');
    await sleep(500);
    assert.equal(svc.child.exitCode, null, 'still draining after the second signal');
    await proxy.setMode('pass');
    const exit = await svc.exited;
    assert.equal(exit.code, 0);
    assert.ok(svc.logs.some((l) => String(l.msg).startsWith('already draining')));
    const messages = await receive(30);
    assert.deepEqual(messages.map((m) => attribute(m, 'invoice-id')).sort(), [...ids].sort());
  });
});
