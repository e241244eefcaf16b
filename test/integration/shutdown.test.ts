import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { attribute, createQueue, receiveAll, LOCALSTACK_ENDPOINT } from '../support/localstack.js';
import { makeInvoice, postAccepted, postInvoice } from '../support/invoices.js';
import { loadGenerator } from '../support/load.js';
import { spawnService, tempDir } from '../support/service.js';
import { TcpProxy } from '../support/tcp-proxy.js';

describe('shutdown', () => {
  it('on SIGTERM under load, every accepted invoice lands and the process exits 0', async () => {
    const queueUrl = await createQueue('sigterm');
    // A slow SQS builds a backlog, so there is something to drain when the signal arrives.
    const proxy = TcpProxy.forUrl(LOCALSTACK_ENDPOINT);
    proxy.delayMs = 30;
    await proxy.start();
    const svc = await spawnService({
      SQS_QUEUE_URL: queueUrl,
      SQS_ENDPOINT: proxy.url,
      FLUSH_CONCURRENCY: '2',
      SHUTDOWN_TIMEOUT_MS: '20000',
    });
    try {
      const load = loadGenerator(svc.url, 16);
      // Enough accepted to prove something, however busy the machine (not a fixed time).
      const deadline = Date.now() + 30000;
      while (load.accepted.length < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      svc.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      await load.stop();
      const exit = await svc.exited;
      assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}; stderr: ${svc.stderr.join('')}`);
      assert.ok(load.accepted.length > 50, `load too small to prove anything: ${load.accepted.length}`);
      assert.ok((load.statuses.get(503) ?? 0) > 0, 'requests after SIGTERM were answered 503');
      const drainingLine = svc.logs.find((l) => l.msg === 'draining');
      assert.ok(drainingLine, 'the drain is logged');
      assert.ok((drainingLine.buffered as number) + (drainingLine.inFlight as number) > 0, 'there was a backlog');
      assert.ok(svc.logs.some((l) => String(l.msg).startsWith('drained')));

      const messages = await receiveAll(queueUrl, { expected: load.accepted.length, timeoutMs: 30000 });
      const landed = messages.map((m) => attribute(m, 'invoice-id')).sort();
      assert.equal(landed.length, load.accepted.length, 'nothing accepted was lost or duplicated');
      assert.deepEqual(landed, [...load.accepted].sort());
    } finally {
      svc.child.kill('SIGKILL');
      await proxy.close();
    }
  });

  it('while draining, /readyz and new intake answer 503, /livez stays 200', async () => {
    const queueUrl = await createQueue('draining');
    const svc = await spawnService({
      SQS_QUEUE_URL: queueUrl,
      SQS_ENDPOINT: 'http://127.0.0.1:9', // nothing listens: the drain cannot finish early
      SHUTDOWN_TIMEOUT_MS: '3000',
      RETRY_MAX_MS: '200',
    });
    try {
      assert.equal((await postInvoice(svc.url, makeInvoice())).status, 202);
      assert.equal((await fetch(`${svc.url}/readyz`)).status, 200);
      svc.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
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
    } finally {
      svc.child.kill('SIGKILL');
    }
  });

  it('when SQS stays down past the drain budget, leftovers go to the dead-letter file and the exit code is non-zero', async () => {
    const queueUrl = await createQueue('budget');
    const deadLetterPath = path.join(tempDir(), 'dl.jsonl');
    const svc = await spawnService({
      SQS_QUEUE_URL: queueUrl,
      SQS_ENDPOINT: 'http://127.0.0.1:9',
      SHUTDOWN_TIMEOUT_MS: '1000',
      RETRY_MAX_MS: '200',
      DEAD_LETTER_PATH: deadLetterPath,
    });
    try {
      const ids = await postAccepted(svc.url, 5);
      svc.child.kill('SIGTERM');
      const exit = await svc.exited;
      assert.notEqual(exit.code, 0);
      assert.ok(existsSync(deadLetterPath), 'dead-letter file written');
      const records = readFileSync(deadLetterPath, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { invoiceId: string; reason: string; body: string });
      assert.deepEqual(records.map((r) => r.invoiceId).sort(), [...ids].sort());
      for (const r of records) assert.equal(r.reason, 'undelivered_at_shutdown');
      const summary = svc.logs.find((l) => typeof l.left === 'number');
      assert.equal(summary?.left, 5, 'the log says how many were left');
    } finally {
      svc.child.kill('SIGKILL');
    }
  });

  it('a second SIGTERM does not cut the drain short', async () => {
    const queueUrl = await createQueue('twice');
    const proxy = TcpProxy.forUrl(LOCALSTACK_ENDPOINT);
    await proxy.start();
    await proxy.setMode('refuse');
    const svc = await spawnService({
      SQS_QUEUE_URL: queueUrl,
      SQS_ENDPOINT: proxy.url,
      SHUTDOWN_TIMEOUT_MS: '15000',
      RETRY_MAX_MS: '100',
    });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 30; i += 1) ids.push((await postInvoice(svc.url, makeInvoice())).body.id as string);
      svc.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 200));
      svc.child.kill('SIGTERM');
      svc.child.kill('SIGINT');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(svc.child.exitCode, null, 'still draining after the second signal');
      await proxy.setMode('pass');
      const exit = await svc.exited;
      assert.equal(exit.code, 0);
      assert.ok(svc.logs.some((l) => String(l.msg).startsWith('already draining')));
      const messages = await receiveAll(queueUrl, { expected: 30 });
      assert.deepEqual(messages.map((m) => attribute(m, 'invoice-id')).sort(), [...ids].sort());
    } finally {
      svc.child.kill('SIGKILL');
      await proxy.close();
    }
  });

  it('an invalid configuration stops start-up with exit code 1 and names the setting', async () => {
    const svc = await spawnService(
      { SQS_QUEUE_URL: 'http://127.0.0.1:4566/q', BATCH_MAX_MESSAGES: '11' },
      { waitForListen: false },
    );
    const exit = await svc.exited;
    assert.equal(exit.code, 1);
    assert.match(svc.stderr.join(''), /BATCH_MAX_MESSAGES/);
    const missing = await spawnService({ SQS_QUEUE_URL: '' }, { waitForListen: false });
    assert.equal((await missing.exited).code, 1);
    assert.match(missing.stderr.join(''), /SQS_QUEUE_URL/);
  });
});
