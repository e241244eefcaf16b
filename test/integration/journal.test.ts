import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Message } from '@aws-sdk/client-sqs';
import { attribute, createQueue, receiveAll, LOCALSTACK_ENDPOINT } from '../support/localstack.js';
import { makeInvoice, postAccepted, postInvoice } from '../support/invoices.js';
import { loadGenerator } from '../support/load.js';
import { metricValue, spawnService, tempDir, type SpawnedService } from '../support/service.js';
import { TcpProxy } from '../support/tcp-proxy.js';

// The crash-safe journal (JOURNAL_DIR), against LocalStack through the fault proxy: a 2xx survives
// SIGKILL, a torn tail, and shutdowns that cannot reach SQS.

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function logged(svc: SpawnedService, pattern: RegExp): Record<string, unknown>[] {
  return svc.logs.filter((l) => pattern.test(String(l.msg)));
}

/** How many times each invoice id arrived. */
function countById(messages: readonly Message[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of messages) {
    const id = attribute(m, 'invoice-id') ?? '?';
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe('journal (JOURNAL_DIR)', () => {
  it('SIGKILL under load at several points, SQS slowed: every invoice answered 202 lands at least once', async (t) => {
    const queueUrl = await createQueue('journal-kill');
    const proxy = TcpProxy.forUrl(LOCALSTACK_ENDPOINT);
    await proxy.start();
    proxy.delayMs = 150; // SQS answers slowly: many invoices are accepted but not yet acknowledged
    const env = {
      SQS_QUEUE_URL: queueUrl,
      SQS_ENDPOINT: proxy.url,
      JOURNAL_DIR: path.join(tempDir(), 'journal'),
      FLUSH_CONCURRENCY: '2',
    };
    const accepted = new Set<string>();
    try {
      // Kill after this many 202s in the run; 0 = at once after listening, while the last run's leftovers are sent.
      for (const killAfter of [150, 400, 0]) {
        const svc = await spawnService(env);
        const load = loadGenerator(svc.url, 12);
        await waitUntil(() => load.accepted.length >= killAfter, `${killAfter} accepted`);
        const recovered = Number(logged(svc, /journal: recovered/)[0]?.recovered ?? 0);
        svc.child.kill('SIGKILL');
        await svc.exited;
        await load.stop();
        for (const id of load.accepted) accepted.add(id);
        t.diagnostic(`kill after ${killAfter}: ${load.accepted.length} accepted; ${recovered} recovered at start`);
      }
      assert.ok(accepted.size >= 550, `only ${accepted.size} accepted in all`);

      proxy.delayMs = 0;
      const svc = await spawnService(env);
      const messages = await receiveAll(queueUrl, { expected: accepted.size, timeoutMs: 90000 });
      const counts = countById(messages);
      const lost = [...accepted].filter((id) => !counts.has(id));
      const duplicates = [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
      t.diagnostic(
        `accepted ${accepted.size}, messages ${messages.length}, lost ${lost.length}, duplicates ${duplicates}`,
      );
      assert.deepEqual(lost, [], 'accepted invoices that never reached SQS');
      svc.child.kill('SIGTERM');
      assert.equal((await svc.exited).code, 0);
      // Everything was delivered and retired: at most the empty active segment of the last run remains.
      const segments = readdirSync(env.JOURNAL_DIR).filter((f) => f.endsWith('.log'));
      assert.ok(segments.length <= 2, `segments left: ${segments.join(', ')}`);
    } finally {
      await proxy.close();
    }
  });

  it('a torn tail (garbage after a kill) is cut off with a log line, and every intact invoice lands', async () => {
    const queueUrl = await createQueue('journal-torn');
    const proxy = TcpProxy.forUrl(LOCALSTACK_ENDPOINT);
    await proxy.start();
    await proxy.setMode('refuse'); // nothing is acknowledged, so everything stays in the journal
    const dir = path.join(tempDir(), 'journal');
    const env = { SQS_QUEUE_URL: queueUrl, SQS_ENDPOINT: proxy.url, JOURNAL_DIR: dir, RETRY_MAX_MS: '200' };
    try {
      const first = await spawnService(env);
      const bodies: string[] = [];
      for (let i = 0; i < 20; i += 1) {
        const invoice = makeInvoice();
        const res = await postInvoice(first.url, invoice, { 'x-request-id': `torn-${i}` });
        assert.equal(res.status, 202);
        bodies.push(JSON.stringify(invoice));
      }
      assert.equal((await metricValue(first.url, 'journal_fsync_duration_seconds_count')) >= 1, true);
      assert.equal(await metricValue(first.url, 'journal_sync_records_sum'), 20);
      assert.ok((await metricValue(first.url, 'journal_bytes')) > 20 * 200);
      assert.equal(await metricValue(first.url, 'journal_segments'), 1);
      first.child.kill('SIGKILL');
      await first.exited;
      const newest = readdirSync(dir)
        .filter((f) => f.endsWith('.log'))
        .sort()
        .pop() as string;
      appendFileSync(path.join(dir, newest), Buffer.concat([Buffer.from('JRN1'), Buffer.alloc(300, 0xee)]));

      await proxy.setMode('pass');
      const second = await spawnService(env);
      const messages = await receiveAll(queueUrl, { expected: 20, timeoutMs: 30000 });
      assert.deepEqual(messages.map((m) => m.Body).sort(), [...bodies].sort());
      const requestIds = messages.map((m) => attribute(m, 'request-id')).sort();
      assert.deepEqual(requestIds, Array.from({ length: 20 }, (_, i) => `torn-${i}`).sort());
      assert.equal(await metricValue(second.url, 'journal_recovered_records_total'), 20);
      const torn = logged(second, /torn tail/);
      assert.equal(torn.length, 1);
      assert.equal(torn[0]?.segment, newest);
      second.child.kill('SIGTERM');
      assert.equal((await second.exited).code, 0);
    } finally {
      await proxy.close();
    }
  });

  it('SIGTERM while SQS is down: the leftovers stay in the journal (no dead letters) and the next start sends them', async () => {
    const queueUrl = await createQueue('journal-sigterm');
    const dir = path.join(tempDir(), 'journal');
    const deadLetterPath = path.join(tempDir(), 'dead-letter.jsonl');
    const down = await spawnService({
      SQS_QUEUE_URL: queueUrl,
      SQS_ENDPOINT: 'http://127.0.0.1:9',
      JOURNAL_DIR: dir,
      SHUTDOWN_TIMEOUT_MS: '1000',
      RETRY_MAX_MS: '200',
      DEAD_LETTER_PATH: deadLetterPath,
    });
    const ids = await postAccepted(down.url, 5);
    down.child.kill('SIGTERM');
    const exit = await down.exited;
    assert.equal(exit.code, 2, 'not everything reached SQS: non-zero exit');
    const summary = logged(down, /stay in the journal/)[0];
    assert.equal(summary?.kept, 5);
    assert.equal(existsSync(deadLetterPath), false, 'nothing was written to the dead-letter file');

    const up = await spawnService({ SQS_QUEUE_URL: queueUrl, JOURNAL_DIR: dir });
    const messages = await receiveAll(queueUrl, { expected: 5 });
    assert.deepEqual(messages.map((m) => attribute(m, 'invoice-id')).sort(), [...ids].sort());
    up.child.kill('SIGTERM');
    assert.equal((await up.exited).code, 0);
  });

  it('FIFO: after a kill, each message group arrives in the order it was accepted', async () => {
    const queueUrl = await createQueue('journal-fifo', { FifoQueue: 'true' });
    const proxy = TcpProxy.forUrl(LOCALSTACK_ENDPOINT);
    await proxy.start();
    await proxy.setMode('refuse');
    const dir = path.join(tempDir(), 'journal');
    const env = { SQS_QUEUE_URL: queueUrl, SQS_ENDPOINT: proxy.url, JOURNAL_DIR: dir, RETRY_MAX_MS: '200' };
    try {
      const first = await spawnService(env);
      const order = new Map<string, string[]>();
      for (let i = 0; i < 30; i += 1) {
        const customer = `cus_${i % 3}`;
        const res = await postInvoice(first.url, makeInvoice({ customer_id: customer }));
        assert.equal(res.status, 202);
        order.set(customer, [...(order.get(customer) ?? []), res.body.id as string]);
      }
      first.child.kill('SIGKILL');
      await first.exited;
      await proxy.setMode('pass');
      const second = await spawnService(env);
      const messages = await receiveAll(queueUrl, { expected: 30, timeoutMs: 30000 });
      const got = new Map<string, string[]>();
      for (const m of messages) {
        const group = m.Attributes?.MessageGroupId ?? '?';
        got.set(group, [...(got.get(group) ?? []), attribute(m, 'invoice-id') ?? '?']);
      }
      assert.deepEqual(got, order);
      second.child.kill('SIGTERM');
      assert.equal((await second.exited).code, 0);
    } finally {
      await proxy.close();
    }
  });

  it('at JOURNAL_MAX_BYTES intake answers 503 with Retry-After, and accepts again once SQS takes the backlog', async () => {
    const queueUrl = await createQueue('journal-full');
    const proxy = TcpProxy.forUrl(LOCALSTACK_ENDPOINT);
    await proxy.start();
    await proxy.setMode('refuse');
    const svc = await spawnService({
      SQS_QUEUE_URL: queueUrl,
      SQS_ENDPOINT: proxy.url,
      JOURNAL_DIR: path.join(tempDir(), 'journal'),
      JOURNAL_MAX_BYTES: '65536',
      RETRY_MAX_MS: '200',
    });
    try {
      let accepted = 0;
      let refused: Awaited<ReturnType<typeof postInvoice>> | undefined;
      while (refused === undefined && accepted < 1000) {
        const res = await postInvoice(svc.url, makeInvoice());
        if (res.status === 202) accepted += 1;
        else refused = res;
      }
      assert.equal(refused?.status, 503);
      assert.match(String(refused?.body.reason), /journal full/);
      assert.ok(Number(refused?.headers.get('retry-after')) >= 1);
      assert.ok(accepted > 50, `only ${accepted} accepted before the journal was full`);

      await proxy.setMode('pass');
      await receiveAll(queueUrl, { expected: accepted, timeoutMs: 30000 });
      let status = 0;
      const deadline = Date.now() + 15000;
      while (status !== 202 && Date.now() < deadline) {
        status = (await postInvoice(svc.url, makeInvoice())).status;
        if (status !== 202) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 202, 'intake accepts again once the journal has room');
      svc.child.kill('SIGTERM');
      assert.equal((await svc.exited).code, 0);
    } finally {
      await proxy.close();
    }
  });

  it('a JOURNAL_DIR that cannot be written stops start-up with exit 1, naming the setting', async () => {
    const file = path.join(tempDir(), 'not-a-directory');
    writeFileSync(file, 'x');
    const svc = await spawnService(
      { SQS_QUEUE_URL: 'http://127.0.0.1:4566/000000000000/unused', JOURNAL_DIR: path.join(file, 'journal') },
      { waitForListen: false },
    );
    const exit = await svc.exited;
    assert.equal(exit.code, 1);
    const fatal = svc.logs.find((l) => l.level === 'fatal');
    assert.match(JSON.stringify(fatal), /JOURNAL_DIR/);
  });
});
