import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import pino from 'pino';
import { handOffJournal } from '../../src/handoff/sender.js';
import { HANDOFF_CHUNK_INVOICES, HANDOFF_PATH } from '../../src/handoff/wire.js';
import { InvoiceJournal, pendingFromRecord, type JournalRecord } from '../../src/journal/index.js';
import { tempDir } from '../support/service.js';

const logger = pino({ level: 'silent' });
const TOKEN = 'tok_sender_test';

function record(i: number): JournalRecord {
  return {
    i: `inv_${i}`,
    r: `req-${i}`,
    b: `{"id":"inv_${i}"}`,
    a: { 'invoice-id': `inv_${i}`, 'request-id': `req-${i}` },
  };
}

/** A journal directory holding `n` unretired invoices, as a drain that ran out of time leaves it. */
async function journalWith(n: number): Promise<string> {
  const dir = tempDir('handoff-journal-');
  const journal = new InvoiceJournal({ dir, maxBytes: 1 << 26, logger });
  await journal.open();
  await Promise.all(Array.from({ length: n }, (_, i) => journal.append(pendingFromRecord(record(i), 0))));
  await journal.close();
  return dir;
}

async function stillIn(dir: string): Promise<string[]> {
  const journal = new InvoiceJournal({ dir, maxBytes: 1 << 26, logger });
  const left = await journal.open();
  await journal.close();
  return left.map((e) => e.invoiceId);
}

/** A peer on loopback answering with `answers` in turn (the last one repeats); records what it got. */
async function peer(answers: number[]): Promise<{
  url: string;
  got: { auth: string; body: { from: string; invoices: JournalRecord[] } }[];
  close: () => Promise<void>;
}> {
  const got: { auth: string; body: { from: string; invoices: JournalRecord[] } }[] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      assert.equal(req.url, HANDOFF_PATH);
      got.push({
        auth: req.headers.authorization ?? '',
        body: JSON.parse(text) as { from: string; invoices: JournalRecord[] },
      });
      res.statusCode = answers[Math.min(n, answers.length - 1)] ?? 500;
      n += 1;
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, got, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const base = { journalMaxBytes: 1 << 26, token: TOKEN, from: 'iw-invoice-webhook-1', logger, retryPauseMs: 10 };

describe('hand-off at shutdown', () => {
  test('every leftover goes to the peer in bounded chunks; each chunk is retired once taken', async () => {
    const count = HANDOFF_CHUNK_INVOICES + 50;
    const dir = await journalWith(count);
    const p = await peer([200]);
    const result = await handOffJournal({ ...base, journalDir: dir, url: p.url, timeoutMs: 10_000 });
    await p.close();
    assert.equal(result.handedOff.length, count);
    assert.deepEqual(result.left, []);
    assert.deepEqual(
      p.got.map((g) => g.body.invoices.length),
      [HANDOFF_CHUNK_INVOICES, 50],
    );
    assert.ok(p.got.every((g) => g.auth === `Bearer ${TOKEN}` && g.body.from === 'iw-invoice-webhook-1'));
    // Records written without a received-at (as by the version before it) get one when read back
    // (the segment's time), and the hand-off carries it on.
    const sent = p.got.flatMap((g) => g.body.invoices);
    for (const invoice of sent)
      assert.match(String(invoice.a['received-at']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(
      sent.map(({ a: { 'received-at': _receivedAt, ...a }, ...rest }) => ({ ...rest, a })),
      Array.from({ length: count }, (_, i) => record(i)),
    );
    assert.deepEqual(await stillIn(dir), [], 'nothing left in the journal');
  });

  test('503 and 409 are tried again (another peer, or the same once ready)', async () => {
    const dir = await journalWith(3);
    const p = await peer([503, 409, 503, 200]);
    const result = await handOffJournal({ ...base, journalDir: dir, url: p.url, timeoutMs: 10_000 });
    await p.close();
    assert.equal(p.got.length, 4);
    assert.equal(result.handedOff.length, 3);
    assert.deepEqual(await stillIn(dir), []);
  });

  test('a 401 ends it at once: everything stays in the journal and is listed', async () => {
    const dir = await journalWith(3);
    const p = await peer([401]);
    const result = await handOffJournal({ ...base, journalDir: dir, url: p.url, timeoutMs: 10_000 });
    await p.close();
    assert.equal(p.got.length, 1);
    assert.deepEqual(result.left, ['inv_0', 'inv_1', 'inv_2']);
    assert.match(result.problem ?? '', /401/);
    assert.deepEqual(await stillIn(dir), ['inv_0', 'inv_1', 'inv_2']);
  });

  test('no peer within the budget: what was not taken stays, and the budget bounds the wait', async () => {
    const dir = await journalWith(2);
    const p = await peer([503]);
    const started = performance.now();
    const result = await handOffJournal({ ...base, journalDir: dir, url: p.url, timeoutMs: 300 });
    await p.close();
    assert.ok(performance.now() - started < 2000);
    assert.deepEqual(result.left, ['inv_0', 'inv_1']);
    assert.deepEqual(await stillIn(dir), ['inv_0', 'inv_1']);
  });

  test('no hand-off configured (or a URL the kubelet did not expand): the leftovers are only listed', async () => {
    const dir = await journalWith(2);
    const none = await handOffJournal({ ...base, journalDir: dir, url: '', timeoutMs: 1000 });
    assert.deepEqual(none.left, ['inv_0', 'inv_1']);
    const unexpanded = await handOffJournal({
      ...base,
      journalDir: dir,
      url: 'http://$(IW_INVOICE_WEBHOOK_SERVICE_HOST):$(IW_INVOICE_WEBHOOK_SERVICE_PORT_HTTP)',
      timeoutMs: 1000,
    });
    assert.deepEqual(unexpanded.left, ['inv_0', 'inv_1']);
    assert.match(unexpanded.problem ?? '', /not a URL/);
  });
});
