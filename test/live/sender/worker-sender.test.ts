import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Worker } from 'node:worker_threads';
import { after, describe, it } from 'node:test';
import { SqsBatchSender } from '../../../src/sender/sqs-sender.js';
import { classifyCallFailure, errorCode } from '../../../src/delivery/index.js';
import { toOutboundMessages } from '../../../src/sender/types.js';
import { WorkerBatchSender } from '../../../src/sender/worker-sender.js';
import { sqsQueue } from '../../support/pipeline.js';
import { REPO_ROOT } from '../../support/service.js';
import { attribute, localstack } from '../../support/sqs.js';
import { sleep } from '../../support/wait.js';

const LOCALSTACK_ENDPOINT = localstack.endpoint;

function messages(ids: string[]) {
  return toOutboundMessages(ids.map((id) => ({ body: JSON.stringify({ id }), attributes: { 'invoice-id': id } })));
}

/** The sender's current thread (a private field: the test ends it the way a crash would). */
function threadOf(sender: WorkerBatchSender): Worker {
  const worker = (sender as unknown as { worker: Worker | undefined }).worker;
  assert.ok(worker, 'the sender has a thread');
  return worker;
}

describe('WorkerBatchSender: SendMessageBatch on the SQS thread, against LocalStack', () => {
  const senders: WorkerBatchSender[] = [];
  after(async () => {
    await Promise.all(senders.map((s) => s.close()));
  });
  function sender(queueUrl: string, endpoint = LOCALSTACK_ENDPOINT, requestTimeoutMs = 5000): WorkerBatchSender {
    const s = new WorkerBatchSender({ queueUrl, endpoint, region: 'us-east-1', requestTimeoutMs, maxSockets: 2 });
    senders.push(s);
    return s;
  }

  it('delivers a batch and reports every entry by its id', async (t) => {
    const { queueUrl, receive } = await sqsQueue(t);
    const s = sender(queueUrl);
    await s.ready();
    assert.equal(s.destination, queueUrl.split('/').pop());
    const result = await s.send(messages(['inv_w1', 'inv_w2', 'inv_w3']));
    assert.deepEqual(result.successful.map((e) => e.id).sort(), ['0', '1', '2']);
    assert.ok(result.successful.every((e) => e.messageId.length > 0));
    assert.deepEqual(result.failed, []);
    const landed = await receive(3, { timeoutMs: 10000 });
    assert.deepEqual(landed.map((m) => attribute(m, 'invoice-id')).sort(), ['inv_w1', 'inv_w2', 'inv_w3']);
  });

  it('rejects a failed call with the same name, code and classification as the SDK in-thread', async () => {
    const missing = `${LOCALSTACK_ENDPOINT}/000000000000/no-such-queue-${Date.now()}`;
    const inThread = new SqsBatchSender({ queueUrl: missing, endpoint: LOCALSTACK_ENDPOINT, region: 'us-east-1' });
    const direct = await inThread.send(messages(['inv_x'])).then(
      () => assert.fail('SQS accepted a batch for a queue that does not exist'),
      (error: unknown) => error,
    );
    await inThread.close();
    const viaThread = await sender(missing)
      .send(messages(['inv_x']))
      .then(
        () => assert.fail('SQS accepted a batch for a queue that does not exist'),
        (error: unknown) => error,
      );
    assert.ok(viaThread instanceof Error);
    assert.equal(errorCode(viaThread), errorCode(direct));
    assert.equal(viaThread.name, (direct as Error).name);
    assert.equal(viaThread.message, (direct as Error).message);
    assert.equal(classifyCallFailure(viaThread), classifyCallFailure(direct));
    const status = (e: unknown) => (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    assert.equal(status(viaThread), status(direct));
    assert.equal(status(viaThread), 400);
  });

  it('fails the calls in flight as retryable when the thread dies, and sends the next batch on a new one', async (t) => {
    const { queueUrl, proxy, sqsEndpoint, receive } = await sqsQueue(t, { proxy: { mode: 'hang' } });
    const s = sender(queueUrl, sqsEndpoint);
    await s.ready();
    const first = threadOf(s);
    const inFlight = s.send(messages(['inv_lost_thread'])).then(
      () => assert.fail('a call on a dead thread resolved'),
      (error: unknown) => error,
    );
    await sleep(200);
    await first.terminate();
    const error = await inFlight;
    assert.equal(errorCode(error), 'SqsWorkerExited');
    assert.equal(classifyCallFailure(error), 'retry', 'the flusher keeps the batch and sends it again');

    await proxy?.setMode('pass');
    const result = await s.send(messages(['inv_after_restart']));
    assert.notEqual(threadOf(s), first, 'a new thread');
    assert.equal(result.successful.length, 1);
    const landed = await receive(1, { timeoutMs: 10000 });
    assert.equal(attribute(landed[0] as (typeof landed)[number], 'invoice-id'), 'inv_after_restart');
  });

  it('refuses to send once closed', async (t) => {
    const s = sender((await sqsQueue(t)).queueUrl);
    await s.ready();
    await s.close();
    await assert.rejects(s.send(messages(['inv_late'])), { name: 'SqsWorkerClosed' });
  });

  it('keeps the AWS SDK out of the thread that answers webhooks', () => {
    const script =
      "require('./dist/src/service/index.js');" +
      "process.stdout.write(String(Object.keys(require.cache).filter((k) => k.includes('@aws-sdk/client-sqs')).length))";
    const run = spawnSync(process.execPath, ['-e', script], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30000 });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, '0', 'modules of @aws-sdk/client-sqs loaded by the intake thread');
  });
});
