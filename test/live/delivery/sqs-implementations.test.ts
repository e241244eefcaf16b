// The core delivery cases against each real SQS implementation: LocalStack (Python, the AWS
// emulator) and ElasticMQ (Scala, an independent server). Behaviour only one of them has shows up
// here: LocalStack marks an invalid character SenderFault=false, ElasticMQ ignores MaximumMessageSize.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeInvoice, postInvoice } from '../../support/invoices.js';
import { inProcessPipeline } from '../../support/pipeline.js';
import { deadLetters, metricValue } from '../../support/service.js';
import { attribute, elasticmq, localstack } from '../../support/sqs.js';
import { waitUntil } from '../../support/wait.js';

for (const sqs of [localstack, elasticmq]) {
  describe(`core delivery against ${sqs.name} (${sqs.endpoint})`, () => {
    it('accepted invoices land byte for byte with their attributes, exactly once, in shared batches', async (t) => {
      const { svc, receive } = await inProcessPipeline(t, { sqs });
      const bodies = Array.from({ length: 30 }, (_, i) => {
        const invoice = makeInvoice({ lines: [{ description: `Café ✓ ${i}`, quantity: 1, unit_amount: 50 }] });
        return i % 2 === 0 ? JSON.stringify(invoice, null, 2) : `  ${JSON.stringify(invoice)}\n`;
      });
      const results = await Promise.all(bodies.map((b, i) => postInvoice(svc.url, b, { 'X-Request-Id': `r-${i}` })));
      const sent = new Map<string, { body: string; requestId: string }>();
      results.forEach((res, i) => {
        assert.equal(res.status, 202, res.text);
        sent.set(res.body.id as string, { body: bodies[i] as string, requestId: `r-${i}` });
      });
      const messages = await receive(30);
      assert.equal(messages.length, 30, 'each invoice arrives exactly once');
      assert.deepEqual(new Set(messages.map((m) => attribute(m, 'invoice-id'))), new Set(sent.keys()));
      for (const m of messages) {
        const expected = sent.get(attribute(m, 'invoice-id') as string);
        assert.equal(m.Body, expected?.body, 'body is byte-identical');
        assert.equal(attribute(m, 'request-id'), expected?.requestId);
      }
      const calls = await metricValue(svc.url, 'sqs_calls_total');
      assert.ok(calls >= 3 && calls < 30, `30 concurrent invoices should share batches, took ${calls} calls`);
    });

    it('confirmed mode answers 200 with the MessageId the queue holds', async (t) => {
      const { svc, receive } = await inProcessPipeline(t, { sqs, config: { ackMode: 'confirmed' } });
      const results = await Promise.all(Array.from({ length: 12 }, () => postInvoice(svc.url, makeInvoice())));
      const byInvoice = new Map<string, string>();
      for (const r of results) {
        assert.equal(r.status, 200, r.text);
        byInvoice.set(r.body.id as string, r.body.messageId as string);
      }
      const messages = await receive(12);
      assert.equal(messages.length, 12);
      for (const m of messages) assert.equal(m.MessageId, byInvoice.get(attribute(m, 'invoice-id') as string));
    });

    it('an invoice holding a character SQS forbids is dead-lettered while the rest of its batch lands', async (t) => {
      const { svc, receive } = await inProcessPipeline(t, { sqs, config: { batchLingerMs: 50 } });
      // U+FFFE is valid JSON and valid UTF-8, but outside the characters SQS allows in a body.
      const bad = JSON.stringify(makeInvoice({ metadata: { note: 'not a character \uFFFE' } }));
      const good = Array.from({ length: 4 }, () => JSON.stringify(makeInvoice()));
      const results = await Promise.all([bad, ...good].map((b) => postInvoice(svc.url, b)));
      for (const r of results) assert.equal(r.status, 202, r.text);
      const messages = await receive(4);
      assert.deepEqual(messages.map((m) => m.Body).sort(), [...good].sort());
      await svc.stop();
      const records = deadLetters(svc.config.deadLetterPath);
      assert.equal(records.length, 1, 'one dead letter, not retried forever');
      assert.equal(records[0]?.invoiceId, results[0]?.body.id);
      assert.equal(records[0]?.reason, 'rejected_by_sqs');
      assert.equal(records[0]?.body, bad);
    });

    it('FIFO: MessageGroupId = customer_id, MessageDeduplicationId = invoice id, order kept per group through 500s and concurrent calls', async (t) => {
      const { svc, proxy, receive } = await inProcessPipeline(t, {
        sqs,
        queueAttributes: { FifoQueue: 'true' },
        proxy: { mode: 'http-500' },
        config: { flushConcurrency: 4, flushConcurrencyMin: 4, batchMaxMessages: 3, retryBaseMs: 10, retryMaxMs: 50 },
      });
      const customers = ['cus_a', 'cus_b', 'cus_c'];
      const sentOrder = new Map<string, string[]>(customers.map((c) => [c, []]));
      for (let i = 0; i < 30; i += 1) {
        const customer = customers[i % 3] as string;
        const res = await postInvoice(svc.url, makeInvoice({ customer_id: customer }));
        assert.equal(res.status, 202, res.text);
        sentOrder.get(customer)?.push(res.body.id as string);
        if (i === 12) {
          // Switch only once the 500s were seen: the SQS thread may still be starting on a busy machine.
          await waitUntil(
            'the 500s were seen',
            async () => (await metricValue(svc.url, 'sqs_send_failures_total')) > 0,
            { timeoutMs: 15000 },
          );
          await proxy?.setMode('pass');
        }
      }
      const messages = await receive(30, { timeoutMs: 20000 });
      assert.equal(messages.length, 30);
      const receivedOrder = new Map<string, string[]>(customers.map((c) => [c, []]));
      for (const m of messages) {
        assert.equal(m.Attributes?.MessageDeduplicationId, attribute(m, 'invoice-id'));
        receivedOrder.get(m.Attributes?.MessageGroupId as string)?.push(attribute(m, 'invoice-id') as string);
      }
      for (const c of customers) assert.deepEqual(receivedOrder.get(c), sentOrder.get(c), `order of group ${c}`);
      assert.ok((await metricValue(svc.url, 'sqs_retries_total')) > 0, 'the 500s were retried');
    });
  });
}
