// The usual first design, for comparison: a plain Koa handler that parses and validates the invoice,
// then awaits one SendMessage on a shared SQSClient (SDK defaults) before answering 202. Env: PORT,
// HOST, SQS_QUEUE_URL, SQS_ENDPOINT, AWS_REGION. GET /metrics reports its SQS calls in the service's
// series names (webhook_buffer_depth = SendMessage calls in flight), so the harness reads both alike.
import Router from '@koa/router';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import Koa from 'koa';
import { koaBody } from 'koa-body';
import { InvoiceValidator } from '../../src/validation/index.js';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const queueUrl = process.env.SQS_QUEUE_URL ?? '';
if (queueUrl === '') throw new Error('SQS_QUEUE_URL is required');

const sqs = new SQSClient({
  region: process.env.AWS_REGION ?? 'us-east-1',
  ...(process.env.SQS_ENDPOINT ? { endpoint: process.env.SQS_ENDPOINT } : {}),
});
const validator = new InvoiceValidator();
const counts = { accepted: 0, rejected: 0, calls: 0, sent: 0, failed: 0, inFlight: 0, callSeconds: 0 };

const router = new Router();
router.post('/webhooks/invoice', koaBody({ jsonLimit: '256kb' }), async (ctx) => {
  const invoice: unknown = ctx.request.body;
  const result = validator.validate(invoice);
  if (!result.ok) {
    counts.rejected += 1;
    ctx.status = 422;
    ctx.body = { error: 'invalid_invoice', details: result.violations };
    return;
  }
  counts.calls += 1;
  counts.inFlight += 1;
  const started = performance.now();
  try {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(invoice),
        MessageAttributes: { 'invoice-id': { DataType: 'String', StringValue: result.invoice.id } },
      }),
    );
    counts.sent += 1;
  } catch {
    counts.failed += 1;
    ctx.status = 503;
    ctx.body = { error: 'unavailable' };
    return;
  } finally {
    counts.inFlight -= 1;
    counts.callSeconds += (performance.now() - started) / 1000;
  }
  counts.accepted += 1;
  ctx.status = 202;
  ctx.body = { status: 'accepted', id: result.invoice.id };
});
router.get('/livez', (ctx) => {
  ctx.body = { status: 'ok' };
});
router.get('/metrics', (ctx) => {
  ctx.type = 'text/plain; version=0.0.4';
  ctx.body = [
    `webhook_invoices_accepted_total ${counts.accepted}`,
    `webhook_invoices_rejected_total ${counts.rejected}`,
    `sqs_calls_total ${counts.calls}`,
    `sqs_batches_sent_total ${counts.sent}`,
    `sqs_messages_sent_total ${counts.sent}`,
    `sqs_send_failures_total ${counts.failed}`,
    `sqs_flush_duration_seconds_sum ${counts.callSeconds}`,
    `sqs_flush_duration_seconds_count ${counts.calls - counts.inFlight}`,
    `webhook_buffer_depth ${counts.inFlight}`,
    '',
  ].join('\n');
});

const app = new Koa();
app.use(router.routes());
const server = app.listen(port, host);
server.keepAliveTimeout = 65000;
const stop = (): void => {
  server.close(() => {
    sqs.destroy();
    process.exit(0);
  });
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
