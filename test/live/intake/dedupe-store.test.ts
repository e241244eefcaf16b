import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { RedisDedupeWindow } from '../../../src/intake/index.js';
import { makeInvoice, postInvoice, type PostResult } from '../../support/invoices.js';
import { spawnOn, sqsQueue, suiteScope, type SqsQueue } from '../../support/pipeline.js';
import { startRedis, type RunningRedis } from '../../support/redis.js';
import { metricValue, type SpawnedService } from '../../support/service.js';
import { attribute } from '../../support/sqs.js';
import { sleep } from '../../support/wait.js';

// DEDUPE_STORE=redis://...: the dedupe window shared by every replica, against a real redis-server the
// suite starts on a free port, with two service processes behind one client that picks a replica per
// request, as a load balancer does.

/** Sends each request to the replica it names: the "load balancer" of these tests. */
class PortPickingClient {
  constructor(private readonly replicas: readonly string[]) {}
  post(replica: number, body: unknown): Promise<PostResult> {
    const url = this.replicas[replica % this.replicas.length];
    assert.ok(url);
    return postInvoice(url, body);
  }
}

describe('RedisDedupeWindow against redis-server', () => {
  let redis: RunningRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });

  test('first sighting is new, a repeat is seen, a forgotten key is new again, and keys expire', async () => {
    const window = new RedisDedupeWindow({ url: redis.url, windowSeconds: 0.4, logger: pino({ level: 'silent' }) });
    await window.start();
    try {
      assert.equal(await window.seen('inv_a'), false);
      assert.equal(await window.seen('inv_a'), true);
      assert.equal(await window.seen('inv_b'), false);
      await window.forget('inv_b');
      assert.equal(await window.seen('inv_b'), false);
      await sleep(600);
      assert.equal(await window.seen('inv_a'), false, 'the window has passed');
    } finally {
      await window.close();
    }
  });

  test('concurrent first sightings of one key: exactly one is new', async () => {
    const windows = [0, 1].map(
      () => new RedisDedupeWindow({ url: redis.url, windowSeconds: 60, logger: pino({ level: 'silent' }) }),
    );
    await Promise.all(windows.map((w) => w.start()));
    try {
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => windows[i % 2]!.seen('inv_race')));
      assert.equal(answers.filter((seen) => !seen).length, 1);
    } finally {
      await Promise.all(windows.map((w) => w.close()));
    }
  });
});

describe('two replicas sharing DEDUPE_STORE', () => {
  const scope = suiteScope('dedupe-store');
  let redis: RunningRedis;
  let queue: SqsQueue;
  let replicas: SpawnedService[] = [];
  let client: PortPickingClient;

  before(async () => {
    redis = await startRedis();
    scope.after(() => redis.stop());
    queue = await sqsQueue(scope);
    const env = { DEDUPE_WINDOW_SECONDS: '600', DEDUPE_STORE: redis.url, BATCH_LINGER_MS: '5' };
    replicas = await Promise.all([spawnOn(scope, queue, { env }), spawnOn(scope, queue, { env })]);
    client = new PortPickingClient(replicas.map((r) => r.url));
  });

  test('a repeat sent to the other replica is a duplicate, and SQS gets each invoice once', async () => {
    const invoices = Array.from({ length: 40 }, () => makeInvoice());
    const first = await Promise.all(invoices.map((inv, i) => client.post(i, inv)));
    const repeat = await Promise.all(invoices.map((inv, i) => client.post(i + 1, inv)));
    assert.deepEqual(
      first.map((r) => r.body.status),
      invoices.map(() => 'accepted'),
    );
    assert.deepEqual(
      repeat.map((r) => `${r.status} ${String(r.body.status)}`),
      invoices.map(() => '202 duplicate'),
    );
    const messages = await queue.receive(invoices.length);
    assert.deepEqual(messages.map((m) => attribute(m, 'invoice-id')).sort(), invoices.map((i) => i.id).sort());
  });

  test('store down: requests are accepted without the check and counted; once it is back, repeats are caught again', async () => {
    const port = redis.port;
    await redis.stop();
    const invoice = makeInvoice();
    const a = await client.post(0, invoice);
    const b = await client.post(1, invoice);
    assert.equal(a.status, 202, a.text);
    assert.equal(b.status, 202, b.text);
    assert.deepEqual([a.body.status, b.body.status], ['accepted', 'accepted'], 'fail open: both accepted');
    for (const replica of replicas) {
      assert.ok((await metricValue(replica.url, 'webhook_dedupe_store_errors_total')) >= 1, 'counted');
    }
    assert.ok(
      replicas.some((r) => r.logs.some((l) => String(l.msg).startsWith('dedupe store unavailable'))),
      'logged',
    );
    await queue.receive(1, { key: () => 'one invoice, two copies' });

    redis = await startRedis(port);
    const again = makeInvoice();
    let repeatStatus: unknown;
    const deadline = Date.now() + 15_000;
    // The clients reconnect by themselves (backing off up to 2 s); no restart of the service.
    while (Date.now() < deadline) {
      const fresh = makeInvoice();
      if ((await client.post(0, fresh)).body.status !== 'accepted') continue;
      repeatStatus = (await client.post(1, fresh)).body.status;
      if (repeatStatus === 'duplicate') break;
      await sleep(200);
    }
    assert.equal(repeatStatus, 'duplicate');
    assert.equal((await client.post(0, again)).body.status, 'accepted');
    assert.equal((await client.post(1, again)).body.status, 'duplicate');
    await queue.receive(1, { timeoutMs: 3000 });
  });
});
