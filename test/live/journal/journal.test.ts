import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Message } from '@aws-sdk/client-sqs';
import { makeInvoice, postAccepted, postInvoice } from '../../support/invoices.js';
import { loadGenerator } from '../../support/load.js';
import { spawnOn, sqsQueue } from '../../support/pipeline.js';
import { metricValue, tempDir, type SpawnedService } from '../../support/service.js';
import { attribute } from '../../support/sqs.js';
import { waitUntil } from '../../support/wait.js';

// The crash-safe journal (JOURNAL_DIR), against LocalStack through the fault proxy: a 2xx survives
// SIGKILL, a torn tail, and shutdowns that cannot reach SQS.

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
    // SQS answers slowly: many invoices are accepted but not yet acknowledged.
    const queue = await sqsQueue(t, { proxy: { delayMs: 150 } });
    const env = { JOURNAL_DIR: path.join(tempDir(), 'journal'), FLUSH_CONCURRENCY: '2' };
    const accepted = new Set<string>();
    // Kill after this many 202s in the run; 0 = at once after listening, while the last run's leftovers are sent.
    for (const killAfter of [150, 400, 0]) {
      const svc = await spawnOn(t, queue, { env });
      const load = loadGenerator(svc.url, 12);
      await waitUntil(`${killAfter} were accepted`, () => load.accepted.length >= killAfter, { everyMs: 10 });
      const recovered = Number(logged(svc, /journal: recovered/)[0]?.recovered ?? 0);
      svc.child.kill('SIGKILL');
      await svc.exited;
      await load.stop();
      for (const id of load.accepted) accepted.add(id);
      t.diagnostic(`kill after ${killAfter}: ${load.accepted.length} accepted; ${recovered} recovered at start`);
    }
    assert.ok(accepted.size >= 550, `only ${accepted.size} accepted in all`);

    if (queue.proxy) queue.proxy.delayMs = 0;
    const svc = await spawnOn(t, queue, { env });
    const messages = await queue.receive(accepted.size, { timeoutMs: 90000 });
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
  });

  it('a torn tail (garbage after a kill) is cut off with a log line, and every intact invoice lands', async (t) => {
    // Nothing is acknowledged, so everything stays in the journal.
    const queue = await sqsQueue(t, { proxy: { mode: 'refuse' } });
    const dir = path.join(tempDir(), 'journal');
    const env = { JOURNAL_DIR: dir, RETRY_MAX_MS: '200' };
    const first = await spawnOn(t, queue, { env });
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

    await queue.proxy?.setMode('pass');
    const second = await spawnOn(t, queue, { env });
    const messages = await queue.receive(20, { timeoutMs: 30000 });
    assert.deepEqual(messages.map((m) => m.Body).sort(), [...bodies].sort());
    const requestIds = messages.map((m) => attribute(m, 'request-id')).sort();
    assert.deepEqual(requestIds, Array.from({ length: 20 }, (_, i) => `torn-${i}`).sort());
    assert.equal(await metricValue(second.url, 'journal_recovered_records_total'), 20);
    const torn = logged(second, /torn tail/);
    assert.equal(torn.length, 1);
    assert.equal(torn[0]?.segment, newest);
    second.child.kill('SIGTERM');
    assert.equal((await second.exited).code, 0);
  });

  it('SIGTERM while SQS is down: the leftovers stay in the journal (no dead letters) and the next start sends them', async (t) => {
    const queue = await sqsQueue(t, { proxy: { mode: 'refuse' } });
    const dir = path.join(tempDir(), 'journal');
    const deadLetterPath = path.join(tempDir(), 'dead-letter.jsonl');
    const down = await spawnOn(t, queue, {
      env: { JOURNAL_DIR: dir, SHUTDOWN_TIMEOUT_MS: '1000', RETRY_MAX_MS: '200', DEAD_LETTER_PATH: deadLetterPath },
    });
    const ids = await postAccepted(down.url, 5);
    down.child.kill('SIGTERM');
    const exit = await down.exited;
    assert.equal(exit.code, 2, 'not everything reached SQS: non-zero exit');
    // No JOURNAL_VOLUME here (unknown): the log names each one and promises only what this directory allows.
    const summary = logged(down, /not delivered to SQS nor handed to a peer are left in the journal directory/)[0];
    assert.equal(summary?.left, 5);
    const named = logged(down, /^invoices left in the journal/).flatMap((l) => l.invoiceIds as string[]);
    assert.deepEqual([...named].sort(), [...ids].sort(), 'every id left behind is named');
    assert.equal(existsSync(deadLetterPath), false, 'nothing was written to the dead-letter file');

    await queue.proxy?.setMode('pass');
    const up = await spawnOn(t, queue, { env: { JOURNAL_DIR: dir } });
    const messages = await queue.receive(5);
    assert.deepEqual(messages.map((m) => attribute(m, 'invoice-id')).sort(), [...ids].sort());
    up.child.kill('SIGTERM');
    assert.equal((await up.exited).code, 0);
  });

  it('FIFO: after a kill, each message group arrives in the order it was accepted', async (t) => {
    const queue = await sqsQueue(t, { queueAttributes: { FifoQueue: 'true' }, proxy: { mode: 'refuse' } });
    const env = { JOURNAL_DIR: path.join(tempDir(), 'journal'), RETRY_MAX_MS: '200' };
    const first = await spawnOn(t, queue, { env });
    const order = new Map<string, string[]>();
    for (let i = 0; i < 30; i += 1) {
      const customer = `cus_${i % 3}`;
      const res = await postInvoice(first.url, makeInvoice({ customer_id: customer }));
      assert.equal(res.status, 202);
      order.set(customer, [...(order.get(customer) ?? []), res.body.id as string]);
    }
    first.child.kill('SIGKILL');
    await first.exited;
    await queue.proxy?.setMode('pass');
    const second = await spawnOn(t, queue, { env });
    const messages = await queue.receive(30, { timeoutMs: 30000 });
    const got = new Map<string, string[]>();
    for (const m of messages) {
      const group = m.Attributes?.MessageGroupId ?? '?';
      got.set(group, [...(got.get(group) ?? []), attribute(m, 'invoice-id') ?? '?']);
    }
    assert.deepEqual(got, order);
    second.child.kill('SIGTERM');
    assert.equal((await second.exited).code, 0);
  });

  it('at JOURNAL_MAX_BYTES intake answers 503 with Retry-After, and accepts again once SQS takes the backlog', async (t) => {
    const queue = await sqsQueue(t, { proxy: { mode: 'refuse' } });
    const svc = await spawnOn(t, queue, {
      env: { JOURNAL_DIR: path.join(tempDir(), 'journal'), JOURNAL_MAX_BYTES: '65536', RETRY_MAX_MS: '200' },
    });
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

    await queue.proxy?.setMode('pass');
    await queue.receive(accepted, { timeoutMs: 30000 });
    await waitUntil(
      'intake accepts again once the journal has room',
      async () => (await postInvoice(svc.url, makeInvoice())).status === 202,
      { timeoutMs: 15000, everyMs: 100 },
    );
    svc.child.kill('SIGTERM');
    assert.equal((await svc.exited).code, 0);
  });
});
