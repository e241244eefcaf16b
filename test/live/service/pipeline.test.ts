import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { makeInvoice, postInvoice } from '../../support/invoices.js';
import { inProcessPipeline, suiteScope, type SqsQueue } from '../../support/pipeline.js';
import { deadLetters, metricValue, type RunningService } from '../../support/service.js';
import { attribute } from '../../support/sqs.js';
import { waitUntil } from '../../support/wait.js';

describe('pipeline against a real LocalStack SQS', () => {
  describe('accepted invoices', () => {
    const scope = suiteScope('pipeline');
    let queue: SqsQueue;
    let svc: RunningService;
    before(async () => {
      ({ svc, ...queue } = await inProcessPipeline(scope));
    });

    it('land on SQS byte for byte, with their attributes, exactly once, in shared batches', async () => {
      const sent = new Map<string, { body: string; requestId: string }>();
      const bodies: string[] = [];
      for (let i = 0; i < 25; i += 1) {
        const invoice = makeInvoice({ lines: [{ description: `Café ✓ line ${i}`, quantity: 1, unit_amount: -50 }] });
        // Odd spacing and key order prove the body is forwarded as received, not re-serialised.
        bodies.push(i % 2 === 0 ? JSON.stringify(invoice, null, 2) : `  ${JSON.stringify(invoice)}\n`);
      }
      const results = await Promise.all(
        bodies.map((body, i) => postInvoice(svc.url, body, { 'X-Request-Id': `req-${i}` })),
      );
      results.forEach((res, i) => {
        assert.equal(res.status, 202, res.text);
        assert.equal(res.body.status, 'accepted');
        assert.equal(res.body.requestId, `req-${i}`);
        assert.equal(res.headers.get('x-request-id'), `req-${i}`);
        sent.set(res.body.id as string, { body: bodies[i] as string, requestId: `req-${i}` });
      });

      const messages = await queue.receive(25);
      assert.equal(messages.length, 25, 'each invoice arrives exactly once');
      const seen = new Set<string>();
      for (const message of messages) {
        const id = attribute(message, 'invoice-id') as string;
        assert.ok(sent.has(id), `unexpected invoice ${id}`);
        assert.ok(!seen.has(id), `duplicate ${id}`);
        seen.add(id);
        assert.equal(message.Body, sent.get(id)?.body, 'body is byte-identical');
        assert.equal(attribute(message, 'request-id'), sent.get(id)?.requestId);
      }
      assert.equal(await metricValue(svc.url, 'sqs_messages_sent_total'), 25);
      const calls = await metricValue(svc.url, 'sqs_calls_total');
      assert.ok(calls < 25 && calls >= 3, `25 concurrent invoices should share batches, took ${calls} calls`);
      assert.equal(await metricValue(svc.url, 'webhook_invoices_accepted_total'), 25);
    });

    it('listens with a deep accept queue, so a burst of new connections waits instead of being dropped', () => {
      // Node's default backlog (511) overflowed in the benchmark when senders opened connections in a
      // burst; each dropped SYN costs the sender a 1 s retransmit. Linux caps the request at somaxconn.
      const port = new URL(svc.url).port;
      let listing: string;
      try {
        listing = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' });
      } catch (error) {
        assert.fail(`this check reads the listen queue with ss (iproute2; apt-get install iproute2): ${String(error)}`);
      }
      const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim());
      // ss -l: the Send-Q column of a listening socket is its backlog.
      const backlog = Number(listing.trim().split(/\s+/)[2]);
      assert.equal(backlog, Math.min(4096, somaxconn), listing);
    });
  });

  describe('bad input', () => {
    const scope = suiteScope('badinput');
    let queue: SqsQueue;
    let svc: RunningService;
    before(async () => {
      ({ svc, ...queue } = await inProcessPipeline(scope, { config: { bodyLimitBytes: 4096 } }));
    });

    const cases: {
      name: string;
      body: string | Uint8Array;
      headers?: Record<string, string>;
      status: number;
      error: string;
    }[] = [
      {
        name: 'text/plain content type',
        body: '{}',
        headers: { 'content-type': 'text/plain' },
        status: 415,
        error: 'unsupported_media_type',
      },
      {
        name: 'a non-utf-8 charset',
        body: JSON.stringify(makeInvoice()),
        headers: { 'content-type': 'application/json; charset=iso-8859-1' },
        status: 415,
        error: 'unsupported_media_type',
      },
      {
        name: 'a body over the limit',
        body: JSON.stringify(makeInvoice({ metadata: { big: 'x'.repeat(480) }, note: 'y'.repeat(5000) })),
        status: 413,
        error: 'payload_too_large',
      },
      { name: 'JSON that does not parse', body: '{"id": "inv_1",', status: 400, error: 'malformed_json' },
      {
        name: 'bytes that are not UTF-8',
        body: new Uint8Array([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
        status: 400,
        error: 'malformed_json',
      },
      { name: 'a JSON array', body: '[{"id":"inv_1"}]', status: 400, error: 'malformed_json' },
      { name: 'JSON null', body: 'null', status: 400, error: 'malformed_json' },
      { name: 'an empty body', body: '', status: 400, error: 'malformed_json' },
      {
        name: 'a schema violation',
        body: JSON.stringify(makeInvoice({ currency: 'usd' })),
        status: 422,
        error: 'invalid_invoice',
      },
    ];
    for (const c of cases) {
      it(`answers ${c.status} ${c.error} for ${c.name}`, async () => {
        const res = await postInvoice(svc.url, c.body, c.headers ?? {});
        assert.equal(res.status, c.status, res.text);
        assert.equal(res.body.error, c.error);
        assert.equal(typeof res.body.message, 'string');
        assert.ok(res.headers.get('x-request-id'), 'every response carries X-Request-Id');
      });
    }

    it('answers 415 for a compressed body, which could not be forwarded as received', async () => {
      const res = await postInvoice(svc.url, 'not gzip', { 'content-encoding': 'gzip' });
      assert.equal(res.status, 415, res.text);
      assert.equal(res.body.error, 'unsupported_media_type');
      assert.match(String(res.body.message), /Content-Encoding/);
    });

    it('escapes property names in violation paths as JSON pointers', async () => {
      const res = await postInvoice(
        svc.url,
        makeInvoice({ lines: [{ description: 'x', quantity: 1, unit_amount: 1, 'a/b~c': true }] }),
      );
      assert.equal(res.status, 422);
      assert.deepEqual(res.body.details, [{ path: '/lines/0/a~1b~0c', message: 'is not an allowed property' }]);
    });

    it('answers 415 when the content type is missing', async () => {
      const res = await fetch(`${svc.url}/webhooks/invoice`, {
        method: 'POST',
        body: new Uint8Array(Buffer.from('{}')),
      });
      assert.equal(res.status, 415);
      assert.equal(((await res.json()) as { error: string }).error, 'unsupported_media_type');
    });

    it('accepts application/json with charset=utf-8', async () => {
      const res = await postInvoice(svc.url, makeInvoice(), { 'content-type': 'application/json; charset=UTF-8' });
      assert.equal(res.status, 202, res.text);
      await queue.receive(1); // keep the queue empty for the final check
    });

    it('lists every schema violation with a JSON pointer', async () => {
      const invoice = makeInvoice({
        id: 'not valid!',
        status: 'pending',
        amount_due: 1.5,
        created_at: 'yesterday',
        lines: [{ description: '', quantity: 0, unit_amount: 5, extra: true }],
        metadata: { a: 7 },
        customer_id: undefined,
      });
      const res = await postInvoice(svc.url, invoice);
      assert.equal(res.status, 422);
      const paths = (res.body.details as { path: string; message: string }[]).map((d) => d.path).sort();
      assert.deepEqual(paths, [
        '/amount_due',
        '/created_at',
        '/customer_id',
        '/id',
        '/lines/0/description',
        '/lines/0/extra',
        '/lines/0/quantity',
        '/metadata/a',
        '/status',
      ]);
      for (const d of res.body.details as { message: string }[]) assert.ok(d.message.length > 0);
    });

    it('forwards unknown top-level properties untouched', async () => {
      const body = JSON.stringify(makeInvoice({ tax_rate: '0.2', sender_specific: { nested: [1, 2] } }));
      const res = await postInvoice(svc.url, body);
      assert.equal(res.status, 202);
      const [message] = await queue.receive(1);
      assert.equal(message?.Body, body);
    });

    it('answers 405 with Allow for other methods on the route', async () => {
      for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
        const res = await fetch(`${svc.url}/webhooks/invoice`, { method });
        assert.equal(res.status, 405, method);
        assert.match(res.headers.get('allow') ?? '', /POST/);
        assert.ok(res.headers.get('x-request-id'));
      }
    });

    it('echoes a sane X-Request-Id and replaces an unsafe one', async () => {
      const sane = await postInvoice(svc.url, '[]', { 'X-Request-Id': 'abc-123.def' });
      assert.equal(sane.headers.get('x-request-id'), 'abc-123.def');
      const unsafe = await postInvoice(svc.url, '[]', { 'X-Request-Id': 'a b <script>' });
      const replaced = unsafe.headers.get('x-request-id') ?? '';
      assert.notEqual(replaced, 'a b <script>');
      assert.match(replaced, /^[0-9a-f-]{36}$/);
    });

    it('puts nothing from rejected requests on the queue', async () => {
      const messages = await queue.receive(0, { timeoutMs: 1500 });
      assert.deepEqual(
        messages.map((m) => m.Body),
        [],
      );
      assert.ok((await metricValue(svc.url, 'webhook_invoices_rejected_total')) >= cases.length);
    });
  });

  describe('a message SQS will never accept', () => {
    it('is dead-lettered with its invoice id while the rest of its batch lands', async (t) => {
      const { svc, receive } = await inProcessPipeline(t, {
        queueAttributes: { MaximumMessageSize: '1024' },
        config: { batchLingerMs: 50 },
      });
      const big = JSON.stringify(
        makeInvoice({ metadata: { note: 'n'.repeat(400), more: 'm'.repeat(400), x: 'x'.repeat(400) } }),
      );
      const small = Array.from({ length: 5 }, () => JSON.stringify(makeInvoice()));
      const results = await Promise.all([big, ...small].map((b) => postInvoice(svc.url, b)));
      for (const r of results) assert.equal(r.status, 202, r.text);
      const bigId = results[0]?.body.id as string;

      const messages = await receive(5);
      assert.deepEqual(messages.map((m) => m.Body).sort(), [...small].sort());
      await svc.stop();

      const records = deadLetters(svc.config.deadLetterPath);
      assert.equal(records.length, 1);
      const record = records[0] ?? {};
      assert.equal(record.invoiceId, bigId);
      assert.equal(record.reason, 'rejected_by_sqs');
      assert.equal(record.body, big);
      assert.ok(typeof record.code === 'string' && record.code.length > 0);
      assert.ok(
        svc.logs.some((l) => Array.isArray(l.invoiceIds) && (l.invoiceIds as string[]).includes(bigId)),
        'the dead letter is logged with its invoice id',
      );
    });
  });

  describe('with SQS unreachable', () => {
    it('answers 503 with Retry-After once the buffer is full, then drains the backlog with nothing lost', async (t) => {
      const { svc, proxy, receive } = await inProcessPipeline(t, {
        proxy: { mode: 'refuse' },
        config: {
          bufferCapacity: 20,
          bufferHighWaterRatio: 0.5,
          flushConcurrency: 1,
          flushConcurrencyMin: 1,
          flushConcurrencyMax: 1,
          retryBaseMs: 20,
          retryMaxMs: 200,
        },
      });
      assert.ok(proxy);
      const accepted: string[] = [];
      let refused = 0;
      for (let i = 0; i < 40; i += 1) {
        const res = await postInvoice(svc.url, makeInvoice());
        if (res.status === 202) accepted.push(res.body.id as string);
        else {
          assert.equal(res.status, 503, res.text);
          assert.equal(res.body.error, 'unavailable');
          assert.match(String(res.body.reason), /buffer/);
          assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
          refused += 1;
        }
      }
      // 20 in the buffer plus the one batch (up to 10) the flusher holds while retrying.
      assert.ok(accepted.length >= 20 && accepted.length <= 30, `accepted ${accepted.length}`);
      assert.equal(refused, 40 - accepted.length);
      assert.equal((await fetch(`${svc.url}/readyz`)).status, 503, 'not ready above the high-water mark');
      // The chart's probe: the pod stays in the Service and keeps answering 503 + Retry-After itself.
      assert.equal(
        (await fetch(`${svc.url}/readyz?exclude=buffer`)).status,
        200,
        'ready when the probe excludes the buffer',
      );
      // The first failed call may still be inside the AWS SDK's own retries on a loaded machine: wait for the count.
      await waitUntil(
        'a failed call is counted on /metrics',
        async () => (await metricValue(svc.url, 'sqs_send_failures_total', { kind: 'call' })) > 0,
        { timeoutMs: 15000, everyMs: 100 },
      );

      await proxy.setMode('pass');
      const messages = await receive(accepted.length, { timeoutMs: 20000 });
      assert.deepEqual(messages.map((m) => attribute(m, 'invoice-id')).sort(), [...accepted].sort());
      assert.equal((await fetch(`${svc.url}/readyz`)).status, 200, 'ready again once drained');
      const after = await postInvoice(svc.url, makeInvoice());
      assert.equal(after.status, 202);
      assert.equal((await receive(1)).length, 1);
    });
  });
});
