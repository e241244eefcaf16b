import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Config } from '../../../src/config/index.js';
import { makeInvoice, postInvoice } from '../../support/invoices.js';
import { inProcessPipeline, type InProcessOptions } from '../../support/pipeline.js';
import { REPO_ROOT, metricValue } from '../../support/service.js';
import { waitUntil } from '../../support/wait.js';

// The status table of docs/api.md ("POST /webhooks/invoice"), row by row, against the service running on
// a real LocalStack queue: every documented situation is produced, and the answer must have the
// documented status, `error` (or `status`) code and headers, plus X-Request-Id. A row added to the
// table without a case here, or a case the table does not document, fails the first test.

interface Documented {
  key: string;
  status: number;
  /** Headers the status column names (`503` + `Retry-After`), with a value when it gives one. */
  headers: Map<string, string | undefined>;
  row: string;
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

/** The rows of the status table: "<status> <error or status code>" → what the row promises. */
function documentedRows(): Documented[] {
  const api = readFileSync(path.join(REPO_ROOT, 'docs', 'api.md'), 'utf8');
  const section = api.slice(api.indexOf('## `POST /webhooks/invoice`'));
  const lines = section.slice(section.indexOf('| situation')).split('\n');
  const end = lines.findIndex((line) => !line.startsWith('|'));
  return lines.slice(2, end).map((row) => {
    const [, , statusCell = '', bodyCell = ''] = row.split('|').map((cell) => cell.trim());
    const codes = [...statusCell.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
    const status = Number(codes[0]);
    const headers = new Map<string, string | undefined>();
    for (const header of codes.slice(1)) {
      const [name = '', value] = header.split(/:\s*/, 2);
      headers.set(name.toLowerCase(), value);
    }
    const code = /"(?:error|status)":"([a-z_]+)"/.exec(bodyCell)?.[1];
    assert.ok(Number.isInteger(status) && code, `cannot read the row: ${row}`);
    // A row that names its reason (503 overloaded) is a situation of its own.
    const reason = /"reason":"([a-z_]+)"/.exec(bodyCell)?.[1];
    return { key: `${status} ${code}${reason === undefined ? '' : ` ${reason}`}`, status, headers, row };
  });
}

/** Writes a request as raw bytes (for what fetch will not send); resolves with the parsed answer. */
function raw(url: string, head: string[], body: string, { pauseMs = 0, verbatim = '' } = {}): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const end = received.indexOf('\r\n\r\n');
      const lines = received.slice(0, end).split('\r\n');
      const headers = new Headers();
      for (const line of lines.slice(1))
        headers.append(line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim());
      const text = received.slice(end + 4);
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // no JSON body: the assertions say so
      }
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1]),
        headers,
        body: parsed,
        text: received,
      });
    });
    if (verbatim !== '') {
      socket.write(verbatim);
      return;
    }
    socket.write(`POST /webhooks/invoice HTTP/1.1\r\nHost: ${hostname}:${port}\r\n${head.join('\r\n')}\r\n\r\n`);
    if (pauseMs === 0) socket.write(body);
    else setTimeout(() => socket.write(body.slice(0, 10)), 10); // the rest never comes
  });
}

interface Case {
  options?: InProcessOptions;
  run: (url: string) => Promise<Answer>;
}

const invoice = (): string => JSON.stringify(makeInvoice());
const confirmed: Partial<Config> = { ackMode: 'confirmed' };

const CASES: Record<string, Case> = {
  '202 accepted': { run: (url) => postInvoice(url, invoice()) },
  '200 sent': { options: { config: confirmed }, run: (url) => postInvoice(url, invoice()) },
  '202 duplicate': {
    options: { config: { dedupeWindowSeconds: 60 } },
    run: async (url) => {
      const body = invoice();
      assert.equal((await postInvoice(url, body)).status, 202);
      return postInvoice(url, body);
    },
  },
  '415 unsupported_media_type': {
    run: (url) => postInvoice(url, invoice(), { 'content-type': 'text/plain' }),
  },
  '413 payload_too_large': {
    options: { config: { bodyLimitBytes: 1024 } },
    run: (url) =>
      postInvoice(
        url,
        makeInvoice({ metadata: { note: 'x'.repeat(400), more: 'y'.repeat(400), end: 'z'.repeat(400) } }),
      ),
  },
  '400 malformed_json': { run: (url) => postInvoice(url, '{"id": "inv_1",') },
  '422 invalid_invoice': { run: (url) => postInvoice(url, makeInvoice({ currency: 'usd' })) },
  '401 invalid_signature': {
    options: { config: { webhookSecrets: 'a-documented-secret' } },
    run: (url) => postInvoice(url, invoice()),
  },
  '422 rejected_by_sqs': {
    // The queue refuses messages over 1 KiB; the service accepts bodies up to 256 KiB.
    options: { config: confirmed, queueAttributes: { MaximumMessageSize: '1024' } },
    run: (url) =>
      postInvoice(url, makeInvoice({ metadata: { a: 'x'.repeat(500), b: 'y'.repeat(500), c: 'z'.repeat(500) } })),
  },
  '503 unavailable': {
    // SQS unreachable and a buffer of 2: the buffer fills, then intake answers 503.
    options: {
      proxy: { mode: 'refuse' },
      config: {
        bufferCapacity: 2,
        batchMaxMessages: 1,
        flushConcurrency: 1,
        flushConcurrencyMin: 1,
        flushConcurrencyMax: 1,
        shutdownTimeoutMs: 500,
      },
    },
    run: async (url) => {
      for (let i = 0; i < 20; i += 1) {
        const answer = await postInvoice(url, invoice());
        if (answer.status !== 202) return answer;
      }
      assert.fail('20 invoices were accepted into a buffer of 2 with SQS unreachable');
    },
  },
  '503 unavailable overloaded': {
    // One request may be in flight: the first waits for SQS (confirmed mode, answers held back 3 s),
    // so the second is shed before its body is read (CONTRACT §12).
    options: {
      proxy: { answerDelayMs: 3000 },
      config: { ...confirmed, overloadMaxInFlightRequests: 1, shutdownTimeoutMs: 5000 },
    },
    run: async (url) => {
      const first = postInvoice(url, invoice());
      await waitUntil(
        'the first request is in flight',
        async () => (await metricValue(url, 'webhook_requests_in_flight')) >= 1,
      );
      const answer = await postInvoice(url, invoice());
      assert.equal((await first).status, 200, 'the request in flight is answered once SQS confirms');
      return answer;
    },
  },
  '408 request_timeout': {
    // Headers promise 200 bytes, 10 arrive, the rest never does.
    options: { config: { httpRequestTimeoutMs: 1000, httpHeadersTimeoutMs: 1000 } },
    run: (url) => raw(url, ['Content-Type: application/json', 'Content-Length: 200'], invoice(), { pauseMs: 1 }),
  },
  '431 request_header_fields_too_large': {
    options: { config: { httpMaxHeadersCount: 10 } },
    run: (url) => {
      const body = invoice();
      const head = [
        'Content-Type: application/json',
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Connection: close',
      ];
      for (let i = 0; i < 10; i += 1) head.push(`X-Filler-${i}: ${i}`);
      return raw(url, head, body);
    },
  },
  '400 bad_request': { run: (url) => raw(url, [], '', { verbatim: 'NOT AN HTTP REQUEST\r\n\r\n' }) },
  '405 method_not_allowed': {
    run: async (url) => {
      const res = await fetch(`${url}/webhooks/invoice`, { method: 'GET' });
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: JSON.parse(text) as Record<string, unknown>, text };
    },
  },
};

describe('docs/api.md status table, against the running service on LocalStack', () => {
  const documented = documentedRows();

  it('every row of the table has a case here, and every case a row', () => {
    assert.ok(documented.length >= 10, `read ${documented.length} rows`);
    assert.deepEqual(documented.map((d) => d.key).sort(), Object.keys(CASES).sort());
  });

  for (const row of documented) {
    const scenario = CASES[row.key];
    if (scenario === undefined) continue; // the test above names it
    it(`${row.key}: ${row.row.split('|')[1]?.trim()}`, async (t) => {
      const { svc } = await inProcessPipeline(t, { queue: 'status-codes', ...scenario.options });
      const answer = await scenario.run(svc.url);
      assert.equal(answer.status, row.status, answer.text);
      const code = row.status < 300 ? answer.body.status : answer.body.error;
      const named = row.key.split(' ')[2];
      const reason = named === undefined ? '' : ` ${String(answer.body.reason)}`;
      assert.equal(`${answer.status} ${String(code)}${reason}`, row.key, answer.text);
      assert.match(answer.headers.get('x-request-id') ?? '', /\S/, 'every answer carries X-Request-Id');
      for (const [name, value] of row.headers) {
        const got = answer.headers.get(name);
        assert.ok(got, `${name} is documented for ${row.key}: ${answer.text}`);
        if (value !== undefined) assert.equal(got, value);
      }
    });
  }
});
