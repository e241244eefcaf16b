import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { HANDOFF_PATH, bearer } from '../../../src/handoff/index.js';
import { makeInvoice, postAccepted, postInvoice } from '../../support/invoices.js';
import { sqsQueue } from '../../support/pipeline.js';
import { startService, tempDir, type RunningService } from '../../support/service.js';
import { attribute } from '../../support/sqs.js';

const TOKEN = 'handoff-live-test-token-0123456789';

async function handOff(
  url: string,
  body: unknown,
  token = TOKEN,
): Promise<{ status: number; retryAfter: string | null }> {
  const res = await fetch(`${url}${HANDOFF_PATH}`, {
    method: 'POST',
    headers: { authorization: bearer(token), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.text();
  return { status: res.status, retryAfter: res.headers.get('retry-after') };
}

/** Every record the journal directory holds on disk (segment files), as text. */
function journalText(dir: string): string {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .map((f) => readFileSync(path.join(dir, f), 'latin1'))
    .join('');
}

describe('hand-off between two running services (LocalStack)', () => {
  it('a drain that runs out of time hands its leftovers to the peer, which journals them, then sends them with their attributes', async (t) => {
    // The peer: its own journal, signatures and a dedupe window on its public route, SQS cut off at first.
    const peerQueue = await sqsQueue(t, { proxy: { mode: 'refuse' } });
    const peerJournal = path.join(tempDir(), 'journal');
    const peer = await startService({
      sqsQueueUrl: peerQueue.queueUrl,
      sqsEndpoint: peerQueue.sqsEndpoint,
      journalDir: peerJournal,
      webhookSecrets: 'peer-secret',
      dedupeWindowSeconds: 600,
      handoffToken: TOKEN,
      podName: 'iw-invoice-webhook-0',
      retryMaxMs: 200,
    });
    t.after(() => peer.stop());
    const unsigned = await postInvoice(peer.url, makeInvoice());
    assert.equal(unsigned.status, 401, 'the peer’s webhook route checks signatures');

    // The pod going away: SQS unreachable for it, a short drain, the hand-off to the peer.
    const goingQueue = await sqsQueue(t, { proxy: { mode: 'refuse' } });
    const going = await startService({
      sqsQueueUrl: peerQueue.queueUrl,
      sqsEndpoint: goingQueue.sqsEndpoint,
      journalDir: path.join(tempDir(), 'journal'),
      journalVolume: 'ephemeral',
      handoffToken: TOKEN,
      handoffUrl: peer.url,
      podName: 'iw-invoice-webhook-1',
      shutdownTimeoutMs: 500,
      retryMaxMs: 200,
    });
    const ids = await postAccepted(going.url, 30);
    await going.stop();

    const handedLines = going.logs.filter((l) => /^shutdown: invoices handed to a Ready peer/.test(String(l.msg)));
    assert.deepEqual(
      handedLines.flatMap((l) => l.invoiceIds as string[]).sort(),
      [...ids].sort(),
      'all handed off, by id',
    );
    assert.ok(going.logs.some((l) => /none left here/.test(String(l.msg))));
    assert.ok(!going.logs.some((l) => /^invoices left in the journal/.test(String(l.msg))));
    // Durable at the peer before its 200: on disk while the peer still cannot reach SQS.
    const onDisk = journalText(peerJournal);
    for (const id of ids) assert.ok(onDisk.includes(id), `${id} in the peer’s journal`);
    assert.ok(peer.logs.some((l) => l.from === 'iw-invoice-webhook-1' && l.count === 30));

    // SQS back for the peer: each invoice arrives with the contract's attributes, the body byte for byte.
    await peerQueue.proxy?.setMode('pass');
    const messages = await peerQueue.receive(30, { timeoutMs: 30_000 });
    assert.deepEqual(messages.map((m) => attribute(m, 'invoice-id')).sort(), [...ids].sort());
    for (const m of messages) {
      assert.match(attribute(m, 'request-id') ?? '', /.+/, 'request-id kept');
      assert.equal((JSON.parse(m.Body ?? '{}') as { id: string }).id, attribute(m, 'invoice-id'));
    }
  });

  it('the route: 401 without the token, 409 from itself, 200 past the dedupe window, 503 while shutting down', async (t) => {
    const queue = await sqsQueue(t, { proxy: { mode: 'refuse' } });
    const svc: RunningService = await startService({
      sqsQueueUrl: queue.queueUrl,
      sqsEndpoint: queue.sqsEndpoint,
      journalDir: path.join(tempDir(), 'journal'),
      dedupeWindowSeconds: 600,
      handoffToken: TOKEN,
      podName: 'iw-invoice-webhook-0',
      shutdownTimeoutMs: 1500,
      retryMaxMs: 200,
    });
    const [seen] = await postAccepted(svc.url, 1);
    assert.ok(seen);
    const invoice = (id: string) => ({
      i: id,
      r: 'req-handoff',
      b: JSON.stringify({ ...makeInvoice(), id }),
      a: { 'invoice-id': id, 'request-id': 'req-handoff' },
    });
    assert.equal(
      (await handOff(svc.url, { from: 'iw-invoice-webhook-1', invoices: [invoice('x')] }, 'wrong')).status,
      401,
    );
    assert.equal((await handOff(svc.url, { from: 'iw-invoice-webhook-0', invoices: [invoice('x')] })).status, 409);
    const repeat = await handOff(svc.url, { from: 'iw-invoice-webhook-1', invoices: [invoice(seen)] });
    assert.equal(repeat.status, 200, 'an id inside the dedupe window is taken: no dedupe on the hand-off');
    const stopping = svc.stop();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const late = await handOff(svc.url, { from: 'iw-invoice-webhook-1', invoices: [invoice('late')] });
    assert.equal(late.status, 503, 'a pod that is shutting down refuses, so the sender tries another');
    assert.equal(late.retryAfter, '1');
    await stopping;
    // Without a token the route does not exist.
    const off = await startService({ sqsQueueUrl: queue.queueUrl, sqsEndpoint: queue.sqsEndpoint });
    t.after(() => off.stop());
    assert.equal((await handOff(off.url, { from: 'p', invoices: [invoice('y')] })).status, 404);
  });
});
