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

/**
 * Headers Koa cannot parse (it then names no charset) but whose text names a charset other than UTF-8:
 * refused as before, by the fallback in src/intake/body.ts.
 */
const MALFORMED_NAMING_ANOTHER: string[] = [
  'application/json;;charset=latin1',
  'application/json;\tcharset=latin1',
  'application/json; charset=latin1;',
  'application/json; charset="latin1',
  'application/json; charset=utf-8, latin1',
  'application/json; foo; charset=latin1',
  'application/json; foo="a;charset=latin1"',
];
CASES.push(...MALFORMED_NAMING_ANOTHER.map((contentType): [string, 415] => [contentType, 415]));

/**
 * Well-formed headers that the reading before Koa's (a regex looking for `; charset=`) answered the
 * other way. Koa parses by RFC 9110: a repeated charset counts by its last value, and quoted values
 * are unescaped.
 */
const READ_DIFFERENTLY: [contentType: string, status: 202 | 415, before: 202 | 415][] = [
  ['application/json; charset="utf\\-8"', 202, 415],
  ['application/json; charset=latin1; charset=utf-8', 202, 415],
  ['application/json; charset=utf-8; charset=latin1', 415, 202],
  ['application/json; charset="utf-8 "', 415, 202],
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

  for (const [contentType, status, before] of READ_DIFFERENTLY) {
    test(`${JSON.stringify(contentType)} → ${status} (was ${before})`, async () => {
      const invoice = makeInvoice();
      const res = await fetch(`${running.url}/webhooks/invoice`, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: JSON.stringify(invoice),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json()) as { status?: string; error?: string };
      assert.equal(res.status, status, JSON.stringify(body));
      if (status === 202) accepted.push(invoice.id as string);
      else {
        assert.equal(body.error, 'unsupported_media_type');
        refused.push(invoice.id as string);
      }
    });
  }

  test('a header Koa cannot parse that names UTF-8 passes the charset check, but a body that is not UTF-8 still gets 400', async () => {
    const invoice = makeInvoice({ description: 'caf\u00e9' });
    const res = await fetch(`${running.url}/webhooks/invoice`, {
      method: 'POST',
      headers: { 'content-type': 'application/json;;charset=utf-8' },
      body: new Uint8Array(Buffer.from(JSON.stringify(invoice), 'latin1')),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as { error?: string; message?: string };
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(body.error, 'malformed_json');
    assert.match(body.message ?? '', /not valid UTF-8/);
    refused.push(invoice.id as string);
  });

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
