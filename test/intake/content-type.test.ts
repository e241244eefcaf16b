import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { InMemoryBatchSender } from '../../src/sender/index.js';
import { makeInvoice } from '../support/invoices.js';
import { startService, type RunningService } from '../support/service.js';
import { waitUntil } from '../support/wait.js';

// The charset parameter of a request's Content-Type, including headers odd enough that parsers read
// them differently: the status and error code each gets, and that a refused one sends nothing.

const QUEUE_URL = 'http://127.0.0.1:4566/000000000000/intake-content-type';

/** Content-Type → the answer it gets (202, or 415 unsupported_media_type). */
const CASES: [contentType: string, status: 202 | 415][] = [
  // Malformed: nothing the parameter list says can be read as a charset, so none is given.
  ['application/json; charset=', 202],
  ['application/json;;charset=utf-8', 202],
  ['application/json; charset', 202],
  ['application/json; charset=utf-8;', 202],
  ['application/json;\tcharset=utf-8', 202],
  // Spellings of UTF-8.
  ['application/json; charset=utf-8', 202],
  ['application/json; charset=UTF-8', 202],
  ['application/json; charset="utf-8"', 202],
  ['application/json; charset="UTF-8"', 202],
  ['application/json; charset=utf8', 202],
  ['application/json; charset=""', 202],
  // Other charsets.
  ['application/json; charset=latin1', 415],
  ['application/json; charset="latin1"', 415],
  ['application/json; charset=utf-16', 415],
  ['application/json; charset=iso-8859-1', 415],
  // Extra parameters, either side of the charset.
  ['application/json; foo=bar; charset=utf-8', 202],
  ['application/json; charset=utf-8; foo=bar', 202],
  ['application/json; foo=bar; charset=latin1', 415],
  ['application/json; charset=latin1; foo=bar', 415],
  // Whitespace.
  ['application/json;charset=utf-8', 202],
  ['application/json ; charset = utf-8', 202],
  ['application/json;   charset=utf-8  ', 202],
  ['application/json;  charset=latin1', 415],
  ['application/json; charset =latin1', 415],
];

describe('intake: the charset of the Content-Type', () => {
  let running: RunningService;
  let sender: InMemoryBatchSender;
  const accepted: string[] = [];
  const refused: string[] = [];

  before(async () => {
    sender = new InMemoryBatchSender();
    running = await startService({ sqsQueueUrl: QUEUE_URL }, { sender });
  });
  after(() => running.stop());

  for (const [contentType, status] of CASES) {
    test(`${JSON.stringify(contentType)} → ${status}`, async () => {
      const invoice = makeInvoice();
      const res = await fetch(`${running.url}/webhooks/invoice`, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: JSON.stringify(invoice),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json()) as { status?: string; error?: string; message?: string };
      assert.equal(res.status, status, JSON.stringify(body));
      if (status === 202) {
        assert.equal(body.status, 'accepted');
        accepted.push(invoice.id as string);
      } else {
        assert.equal(body.error, 'unsupported_media_type');
        assert.match(body.message ?? '', /charset utf-8/);
        refused.push(invoice.id as string);
      }
    });
  }

  test('what was accepted reaches the queue, and nothing that was refused does', async () => {
    assert.ok(accepted.length > 0 && refused.length > 0);
    const sentIds = () => sender.delivered.map((m) => (JSON.parse(m.body) as { id: string }).id);
    await waitUntil('every accepted invoice is delivered', () => accepted.every((id) => sentIds().includes(id)));
    assert.deepEqual(
      sentIds().filter((id) => refused.includes(id)),
      [],
    );
  });
});
