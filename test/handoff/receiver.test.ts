import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { RingBuffer, type PendingInvoice } from '../../src/buffer/index.js';
import { HandoffReceiver, type HandoffJournal } from '../../src/handoff/receiver.js';
import { bearer, bearerMatches } from '../../src/handoff/token.js';
import { HANDOFF_CHUNK_BYTES, HANDOFF_CHUNK_INVOICES, chunksOf } from '../../src/handoff/wire.js';
import type { JournalRecord } from '../../src/journal/index.js';

const logger = pino({ level: 'silent' });
const TOKEN = 'tok_0123456789abcdef';

function record(i: number): JournalRecord {
  return {
    i: `inv_${i}`,
    r: `req-${i}`,
    b: `{"id":"inv_${i}","amount":${i}}`,
    a: {
      'invoice-id': `inv_${i}`,
      'request-id': `req-${i}`,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    },
  };
}

/** A journal double that records appends in order; `failAt` makes the n-th append reject. */
class FakeJournal implements HandoffJournal {
  full = false;
  readonly appended: PendingInvoice[] = [];
  readonly retired: PendingInvoice[] = [];
  /** Appends resolve only once released, so a test can look in between. */
  private gate: Promise<void> = Promise.resolve();
  constructor(private readonly failAt = -1) {}
  hold(): () => void {
    let open = (): void => undefined;
    this.gate = new Promise((resolve) => (open = resolve));
    return open;
  }
  async append(entry: PendingInvoice): Promise<void> {
    const n = this.appended.length;
    this.appended.push(entry);
    await this.gate;
    if (n === this.failAt) throw new Error('disk full');
  }
  retire(entries: readonly PendingInvoice[]): void {
    this.retired.push(...entries);
  }
}

function receiver(options: { journal?: FakeJournal | undefined; accepting?: boolean; capacity?: number } = {}) {
  const buffer = new RingBuffer<PendingInvoice>({ capacity: options.capacity ?? 100, maxBytes: 1 << 20 });
  const journal = 'journal' in options ? options.journal : new FakeJournal();
  let notified = 0;
  const r = new HandoffReceiver({
    token: TOKEN,
    self: 'iw-invoice-webhook-0',
    accepting: () => options.accepting ?? true,
    buffer,
    journal,
    notify: () => (notified += 1),
    logger,
  });
  return { r, buffer, journal, notified: () => notified };
}

const body = (from: string, records: JournalRecord[]): string => JSON.stringify({ from, invoices: records });

describe('hand-off token', () => {
  test('only the exact bearer token matches; an empty expected token matches nothing', () => {
    assert.equal(bearerMatches(bearer(TOKEN), TOKEN), true);
    assert.equal(bearerMatches(`bearer ${TOKEN}`, TOKEN), true, 'the scheme is case-insensitive (RFC 7235)');
    assert.equal(bearerMatches(bearer(`${TOKEN}x`), TOKEN), false);
    assert.equal(bearerMatches(bearer(TOKEN.slice(1)), TOKEN), false);
    assert.equal(bearerMatches(TOKEN, TOKEN), false, 'no scheme');
    assert.equal(bearerMatches(undefined, TOKEN), false);
    assert.equal(bearerMatches('Bearer ', ''), false);
    assert.equal(bearerMatches(bearer(''), ''), false);
  });
});

describe('hand-off chunks', () => {
  test('bounded by count and by body bytes, order kept, nothing dropped', () => {
    const many = Array.from({ length: HANDOFF_CHUNK_INVOICES * 2 + 7 }, (_, i) => record(i));
    const chunks = chunksOf(many);
    assert.deepEqual(
      chunks.map((c) => c.length),
      [HANDOFF_CHUNK_INVOICES, HANDOFF_CHUNK_INVOICES, 7],
    );
    assert.deepEqual(chunks.flat(), many);
    const big = Array.from({ length: 5 }, (_, i) => ({ ...record(i), b: 'x'.repeat(HANDOFF_CHUNK_BYTES / 2) }));
    assert.deepEqual(
      chunksOf(big).map((c) => c.length),
      [2, 2, 1],
    );
  });
});

describe('hand-off route', () => {
  test('a missing or wrong token is 401 and nothing is taken', async () => {
    const { r, buffer, journal } = receiver();
    for (const auth of [undefined, bearer('wrong'), 'Basic abc']) {
      const answer = await r.receive(auth, body('iw-invoice-webhook-1', [record(1)]));
      assert.equal(answer.status, 401);
    }
    assert.equal(buffer.size, 0);
    assert.equal(journal?.appended.length, 0);
  });

  test('a hand-off from this pod itself is 409 (the Service routed it back): no loop', async () => {
    const { r, buffer } = receiver();
    const answer = await r.receive(bearer(TOKEN), body('iw-invoice-webhook-0', [record(1)]));
    assert.equal(answer.status, 409);
    assert.equal(buffer.size, 0);
  });

  test('a pod that is starting or shutting down answers 503 with Retry-After, so the sender tries again', async () => {
    const { r, buffer } = receiver({ accepting: false });
    const answer = await r.receive(bearer(TOKEN), body('iw-invoice-webhook-1', [record(1)]));
    assert.equal(answer.status, 503);
    assert.equal(answer.retryAfterSeconds, 1);
    assert.equal(buffer.size, 0);
  });

  test('no journal here, or a full one: 503 (nothing handed over would be durable)', async () => {
    assert.equal((await receiver({ journal: undefined }).r.receive(bearer(TOKEN), body('p', [record(1)]))).status, 503);
    const full = new FakeJournal();
    full.full = true;
    assert.equal((await receiver({ journal: full }).r.receive(bearer(TOKEN), body('p', [record(1)]))).status, 503);
  });

  test('200 only once every invoice is durable in the journal; then they are buffered with their attributes', async () => {
    const journal = new FakeJournal();
    const { r, buffer, notified } = receiver({ journal });
    const open = journal.hold();
    const records = [record(1), record(2), record(3)];
    let settled = false;
    const answering = r.receive(bearer(TOKEN), body('iw-invoice-webhook-1', records)).then((a) => {
      settled = true;
      return a;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(journal.appended.length, 3, 'all appends started');
    assert.equal(settled, false, 'no answer while the journal writes are not durable');
    assert.equal(buffer.size, 0, 'nothing buffered before it is durable');
    assert.equal(buffer.reservations, 3, 'room held for them meanwhile');
    open();
    const answer = await answering;
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { accepted: 3 });
    const buffered = buffer.takeAll();
    assert.deepEqual(
      buffered.map((e) => [e.invoiceId, e.requestId, e.body, e.attributes]),
      records.map((rec) => [rec.i, rec.r, rec.b, rec.a]),
      'the same ids, bodies and SQS attributes the sender had accepted them with',
    );
    assert.equal(buffered[0]?.spanContext?.traceId, '0af7651916cd43dd8448eb211c80319c', 'the trace link is kept');
    assert.ok(notified() > 0, 'the flusher is woken');
  });

  test('an invoice id this pod has seen before is taken again: no dedupe on the hand-off route', async () => {
    const { r, buffer } = receiver();
    assert.equal((await r.receive(bearer(TOKEN), body('p1', [record(7)]))).status, 200);
    assert.equal((await r.receive(bearer(TOKEN), body('p2', [record(7)]))).status, 200);
    assert.deepEqual(
      buffer.takeAll().map((e) => e.invoiceId),
      ['inv_7', 'inv_7'],
    );
  });

  test('all or nothing: a journal write that fails gives the room back, retires what was written, and answers 503', async () => {
    const journal = new FakeJournal(1);
    const { r, buffer } = receiver({ journal });
    const answer = await r.receive(bearer(TOKEN), body('p1', [record(1), record(2), record(3)]));
    assert.equal(answer.status, 503);
    assert.equal(buffer.size, 0);
    assert.equal(buffer.reservations, 0);
    assert.deepEqual(journal.retired.map((e) => e.invoiceId).sort(), ['inv_1', 'inv_3']);
  });

  test('a buffer without room for the whole chunk: 503, nothing written', async () => {
    const journal = new FakeJournal();
    const { r, buffer } = receiver({ journal, capacity: 2 });
    const answer = await r.receive(bearer(TOKEN), body('p1', [record(1), record(2), record(3)]));
    assert.equal(answer.status, 503);
    assert.equal(journal.appended.length, 0);
    assert.equal(buffer.reservations, 0);
  });

  test('a malformed request is 400', async () => {
    const { r } = receiver();
    assert.equal((await r.receive(bearer(TOKEN), 'nope')).status, 400);
    assert.equal((await r.receive(bearer(TOKEN), JSON.stringify({ from: 'p', invoices: [] }))).status, 400);
    assert.equal((await r.receive(bearer(TOKEN), JSON.stringify({ invoices: [record(1)] }))).status, 400);
  });
});
