import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { InMemoryBatchSender } from '../../src/sender/index.js';
import { makeInvoice } from '../support/invoices.js';
import { startService, type RunningService } from '../support/service.js';

// HTTP_MAX_HEADERS (docs/configuration.md): most header fields per request, more: 431. Node's own
// maxHeadersCount drops the fields past it without a word on Node 20 and answers a bare 431 (no JSON, no
// X-Request-Id) on Node 24, so the service sets none and answers 431 itself, in the contract's shape, on
// any Node. Requests are written by hand so the header count is exact.
const LIMIT = 12;

/** POSTs an invoice over a raw socket with exactly `fields` header fields; resolves with the status line and body. */
function post(url: string, fields: number, padBytes = 0): Promise<{ status: number; head: string; body: string }> {
  const { hostname, port } = new URL(url);
  const body = JSON.stringify(makeInvoice());
  const headers = [
    `Host: ${hostname}:${port}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  for (let i = headers.length; i < fields; i += 1) headers.push(`X-Filler-${i}: ${i}`);
  if (padBytes > 0) headers[headers.length - 1] += 'p'.repeat(padBytes);
  assert.equal(headers.length, fields);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let response = '';
    socket.on('data', (chunk: Buffer) => (response += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);
      const head = response.slice(0, response.indexOf('\r\n\r\n'));
      resolve({ status, head, body: response.slice(response.indexOf('\r\n\r\n') + 4) });
    });
    socket.write(`POST /webhooks/invoice HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n${body}`);
  });
}

describe('HTTP_MAX_HEADERS', () => {
  let running: RunningService;
  const sender = new InMemoryBatchSender();
  before(async () => {
    running = await startService(
      { sqsQueueUrl: 'http://127.0.0.1:4566/000000000000/max-headers', httpMaxHeadersCount: LIMIT },
      { sender },
    );
  });
  after(() => running.stop());

  test(`${LIMIT} header fields are accepted`, async () => {
    const { status, body } = await post(running.url, LIMIT);
    assert.equal(status, 202, body);
  });

  test(`${LIMIT + 1} header fields get 431 with the contract's error body, and nothing is queued`, async () => {
    await running.service.flusher.drain(5000);
    const before = sender.delivered.length;
    const { status, body } = await post(running.url, LIMIT + 1);
    assert.equal(status, 431, body);
    assert.equal((JSON.parse(body) as { error: string }).error, 'request_header_fields_too_large');
    await running.service.flusher.drain(5000);
    assert.equal(sender.delivered.length, before);
  });

  test('far more header fields than the limit (still under 16 KiB): the same 431, with X-Request-Id', async () => {
    const { status, head, body } = await post(running.url, LIMIT * 50);
    assert.equal(status, 431, head);
    assert.match(head, /^x-request-id: \S+$/im);
    assert.equal((JSON.parse(body) as { error: string }).error, 'request_header_fields_too_large');
  });

  test('a header block over 16 KiB (Node refuses it while parsing): 431 in the same shape', async () => {
    const { status, head, body } = await post(running.url, 5, 20 * 1024);
    assert.equal(status, 431, head);
    assert.match(head, /^x-request-id: \S+$/im);
    assert.equal((JSON.parse(body) as { error: string }).error, 'request_header_fields_too_large');
  });
});
