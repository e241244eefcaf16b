import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeleteMessageBatchCommand, PurgeQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { after, describe, test } from 'node:test';
import { attack, findVegeta, hits, writeTargets, type VegetaHit } from '../../../bench/vegeta.js';
import { spawnedPipeline } from '../../support/pipeline.js';
import type { Config } from '../../../src/config/index.js';
import { REPO_ROOT, metricValue } from '../../support/service.js';
import { attribute, elasticmq } from '../../support/sqs.js';
import { sleep, waitUntil } from '../../support/wait.js';

/**
 * CONTRACT §12 on the real thing: the built service (untraced, default settings) on ElasticMQ, driven
 * by vegeta (open model: requests keep coming at the offered rate whatever the answers). A short ramp
 * finds what the service sustains in this run on this machine; then twice that is offered, and the
 * shape is checked as ratios: goodput held near the peak, the excess answered 503 overloaded with
 * Retry-After at once, at most 3% client timeouts or resets, and every 2xx on the queue.
 *
 * Bounds are looser than bench/'s targets (a shared 2-core machine; vegeta and ElasticMQ share the
 * cores): what they must catch is the collapse this replaced, where answers took seconds (p99 4.9 s),
 * clients timed out and goodput fell below what a lower rate had sustained.
 */
const RAMP_RATES = [250, 500, 1000, 1500, 2000, 3000, 4000, 5000, 6000];
const RAMP_STEP_MS = 3000;
const OVERLOAD_MS = 6000;
/**
 * Latencies of the 2x step are judged after its first second: the jump from the last ramp rate to
 * twice it lands on a process that idled between steps (V8 shrinks its young generation when idle),
 * and the admitted share takes a few 100 ms intervals to settle. Status codes, timeouts and the queue
 * are judged over the whole step.
 */
const SETTLE_MS = 1000;
const TIMEOUT_MS = 5000;
/**
 * vegeta's cap on concurrent requests (one connection each). A real sender has a bounded pool too;
 * with the bench's 5,000 a stall of a second opens thousands of connections at once, and the accept
 * backlog's overflow and SYN retries (1 s, 3 s) outlast any admission rule.
 */
const MAX_WORKERS = 1000;
/** Requests of the 2x step that may go unanswered within TIMEOUT_MS (see the assertion). */
const UNANSWERED_SHARE = 0.03;
/** Goodput at 2x must keep this share of the best goodput of the run. */
const GOODPUT_SHARE = 0.5;
/** Shed answers: their median and p90 within these (bench/ judges the 50 ms target; the collapse answered in seconds). */
const SHED_P50_MS = 200;
const SHED_P90_MS = 500;
/** Accepted answers at 2x: p99 within this (the bench target: 1 s). */
const ACCEPTED_P99_MS = 1500;

interface Step {
  rate: number;
  sent: number;
  ok: number;
  goodput: number;
  status: Record<string, number>;
  /** Requests not answered (code 0), by the kind of error vegeta gave. */
  errors: Record<string, number>;
  okP99Ms: number;
  shedP50Ms: number;
  shedP90Ms: number;
  shedP99Ms: number;
  hits: VegetaHit[];
}

const quantile = (sorted: number[], q: number): number =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);

function summarise(rate: number, durationMs: number, all: VegetaHit[], settleMs = 0): Step {
  const status: Record<string, number> = {};
  for (const h of all) status[h.code] = (status[h.code] ?? 0) + 1;
  const ms = (h: VegetaHit): number => h.latency / 1e6;
  const ok = all.filter((h) => h.code >= 200 && h.code < 300);
  const start = Math.min(...all.map((h) => Date.parse(h.timestamp)));
  const settled = all.filter((h) => Date.parse(h.timestamp) >= start + settleMs);
  const okMs = settled
    .filter((h) => h.code >= 200 && h.code < 300)
    .map(ms)
    .sort((a, b) => a - b);
  const shedMs = settled
    .filter((h) => h.code === 503)
    .map(ms)
    .sort((a, b) => a - b);
  const errors: Record<string, number> = {};
  for (const h of all) {
    if (h.code !== 0) continue;
    // The error without the varying parts (addresses, ports), so that kinds count together.
    const kind = h.error.replace(/\d+\.\d+\.\d+\.\d+:\d+/g, 'ADDR').replace(/:\d+/g, ':PORT');
    errors[kind] = (errors[kind] ?? 0) + 1;
  }
  return {
    rate,
    errors,
    sent: all.length,
    ok: ok.length,
    // As vegeta's throughput: answered 2xx per second of the attack.
    goodput: (ok.length * 1000) / durationMs,
    status,
    okP99Ms: quantile(okMs, 0.99),
    shedP50Ms: quantile(shedMs, 0.5),
    shedP90Ms: quantile(shedMs, 0.9),
    shedP99Ms: quantile(shedMs, 0.99),
    hits: all,
  };
}

const line = (s: Step): string =>
  `${s.rate}/s: ${s.sent} sent, goodput ${s.goodput.toFixed(0)}/s, status ${JSON.stringify(s.status)}, ` +
  (Object.keys(s.errors).length > 0 ? `errors ${JSON.stringify(s.errors)}, ` : '') +
  `2xx p99 ${s.okP99Ms.toFixed(0)} ms, 503 p50/p90/p99 ${s.shedP50Ms.toFixed(1)}/${s.shedP90Ms.toFixed(1)}/${s.shedP99Ms.toFixed(1)} ms`;

/** Reads and deletes every message, several receivers at once, until `want` ids are in or nothing new comes for 5 s. */
async function drainQueue(queueUrl: string, want: ReadonlySet<string>): Promise<Set<string>> {
  const sqs = elasticmq.client();
  const seen = new Set<string>();
  let wanted = 0;
  let lastNew = Date.now();
  const receiver = async (): Promise<void> => {
    while (Date.now() - lastNew < 5000 && wanted < want.size) {
      const res = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ['All'],
        }),
      );
      const messages = res.Messages ?? [];
      if (messages.length === 0) continue;
      for (const m of messages) {
        const id = attribute(m, 'invoice-id');
        if (id !== undefined && !seen.has(id)) {
          seen.add(id);
          if (want.has(id)) wanted += 1;
          lastNew = Date.now();
        }
      }
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: 8 }, receiver));
  return seen;
}

describe('overload (CONTRACT §12), vegeta against the built service on ElasticMQ', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'overload-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  test('at twice the sustained rate: goodput near the peak, the rest 503 overloaded at once, every 2xx on the queue', async (t) => {
    const vegeta = findVegeta();
    // The shipped defaults (test services turn the event-loop signal off: see support/service.ts).
    const defaults = JSON.parse(readFileSync(path.join(REPO_ROOT, 'config', 'default.json'), 'utf8')) as Config;
    const { svc, queueUrl } = await spawnedPipeline(t, {
      sqs: elasticmq,
      env: { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: String(defaults.overloadMaxEventLoopDelayMs) },
    });
    const url = `${svc.url}/webhooks/invoice`;
    let file = 0;
    const run = async (rate: number, durationMs: number, keepBodies: boolean): Promise<Step> => {
      file += 1;
      const targetsFile = path.join(work, `t${file}.jsonl`);
      const outputFile = path.join(work, `r${file}.bin`);
      await writeTargets(
        targetsFile,
        url,
        `ov${Date.now().toString(36)}s${file}`,
        Math.ceil((rate * durationMs) / 1000),
      );
      await attack({
        vegeta,
        targetsFile,
        ratePerSecond: rate,
        durationMs,
        requestTimeoutMs: TIMEOUT_MS,
        maxWorkers: MAX_WORKERS,
        outputFile,
        maxBodyBytes: keepBodies ? -1 : 0,
      });
      const step = summarise(rate, durationMs, await hits(vegeta, outputFile), keepBodies ? SETTLE_MS : 0);
      if (process.env.OVERLOAD_TEST_TRACE) process.stderr.write(`${line(step)}\n`);
      rmSync(outputFile, { force: true });
      rmSync(targetsFile, { force: true });
      return step;
    };

    // Warm-up (JIT, sockets), then the ramp: the highest rate answered 2xx to >= 98% with p99 < 1 s.
    await run(500, 2000, false);
    // A cold process sheds part of its warm-up (JIT); a second of quiet gives the admitted share back.
    await sleep(1000);
    const ramp: Step[] = [];
    let sustained = 0;
    // A step is tried twice before it counts as not held: a neighbour's burst on a shared box can
    // cost one step its 98% without the rate being past the ceiling.
    const holds = (step: Step): boolean =>
      step.ok >= 0.98 * step.sent && step.goodput >= 0.95 * step.rate && step.okP99Ms < 1000;
    for (const rate of RAMP_RATES) {
      let step = await run(rate, RAMP_STEP_MS, false);
      if (!holds(step)) {
        ramp.push(step);
        step = await run(rate, RAMP_STEP_MS, false);
      }
      ramp.push(step);
      if (!holds(step)) break;
      sustained = rate;
    }
    const rampText = ramp.map(line).join('\n  ');
    assert.ok(sustained > 0, `the service sustained none of the ramp's rates:\n  ${rampText}`);

    // The ramp's invoices are not checked: once they are sent, out of the queue with them.
    await waitUntil(
      'the ramp is sent',
      async () =>
        (await metricValue(svc.url, 'sqs_messages_sent_total')) >=
        (await metricValue(svc.url, 'webhook_invoices_accepted_total')),
      { timeoutMs: 30000, everyMs: 200 },
    );
    await elasticmq.client().send(new PurgeQueueCommand({ QueueUrl: queueUrl }));

    const shedBefore = await metricValue(svc.url, 'webhook_invoices_rejected_total', { reason: 'overloaded' });
    const overload = await run(2 * sustained, OVERLOAD_MS, true);
    const peak = Math.max(...ramp.map((s) => s.goodput), overload.goodput);
    const shedMetric =
      (await metricValue(svc.url, 'webhook_invoices_rejected_total', { reason: 'overloaded' })) - shedBefore;
    const report =
      `sustained ${sustained}/s, peak goodput ${peak.toFixed(0)}/s; ramp:\n  ${rampText}\n` +
      `at 2x (latencies after its first ${SETTLE_MS} ms): ${line(overload)}; goodput ${((100 * overload.goodput) / peak).toFixed(0)}% of the peak; ` +
      `webhook_invoices_rejected_total{reason="overloaded"} +${shedMetric}`;
    t.diagnostic(report);

    // Client timeouts or resets: at most UNANSWERED_SHARE of the step. On a 2-core box (vegeta, ElasticMQ
    // and the service share it) 3 runs in 7 left 0.7-2.9% waiting past the 5 s timeout at the jump to 2x,
    // before the admitted share had come down (the other 4: none); the collapse this test guards against
    // answered in seconds (p99 4.9 s). A known gap of the guard, not a goal.
    const unanswered = overload.status['0'] ?? 0;
    assert.ok(
      unanswered <= UNANSWERED_SHARE * overload.sent,
      `${unanswered} requests not answered (timeouts, resets), over ${UNANSWERED_SHARE * 100}%:\n${report}`,
    );
    // Every refusal is a 503 overloaded with Retry-After (nothing else, e.g. buffer_full, and no 5xx).
    // Answered and not 2xx (code 0, unanswered, is judged above).
    const refused = overload.hits.filter((h) => h.code !== 0 && (h.code < 200 || h.code >= 300));
    for (const h of refused) {
      assert.equal(h.code, 503, `a refusal other than 503: ${JSON.stringify(h).slice(0, 300)}\n${report}`);
      const retryAfter = h.headers?.['Retry-After']?.[0];
      assert.ok(retryAfter !== undefined && Number(retryAfter) >= 1, `503 without Retry-After\n${report}`);
      assert.ok(h.headers?.['X-Request-Id']?.[0], `503 without X-Request-Id\n${report}`);
      const body = JSON.parse(Buffer.from(h.body ?? '', 'base64').toString('utf8')) as Record<string, unknown>;
      assert.equal(body.reason, 'overloaded', `503 for another reason: ${JSON.stringify(body)}\n${report}`);
    }
    assert.ok(
      refused.length > 0,
      `twice the sustained rate shed nothing: the ramp did not find the ceiling\n${report}`,
    );
    // The metric counts every shed request: those answered, and perhaps some the client stopped waiting for.
    assert.ok(
      shedMetric >= refused.length && shedMetric <= refused.length + unanswered,
      `the metric counts every shed request (${shedMetric} counted, ${refused.length} answered 503)\n${report}`,
    );
    // The shape: goodput held, refusals fast, accepted answers not seconds late.
    assert.ok(overload.goodput >= GOODPUT_SHARE * peak, `goodput below ${GOODPUT_SHARE} of the peak\n${report}`);
    assert.ok(overload.shedP50Ms <= SHED_P50_MS, `503 overloaded median above ${SHED_P50_MS} ms\n${report}`);
    assert.ok(overload.shedP90Ms <= SHED_P90_MS, `503 overloaded p90 above ${SHED_P90_MS} ms\n${report}`);
    assert.ok(overload.okP99Ms <= ACCEPTED_P99_MS, `accepted p99 above ${ACCEPTED_P99_MS} ms\n${report}`);

    // Every invoice answered 2xx at 2x is on the queue.
    const accepted = new Set(
      overload.hits
        .filter((h) => h.code >= 200 && h.code < 300)
        .map((h) => (JSON.parse(Buffer.from(h.body ?? '', 'base64').toString('utf8')) as { id: string }).id),
    );
    const onQueue = await drainQueue(queueUrl, accepted);
    const missing = [...accepted].filter((id) => !onQueue.has(id));
    assert.equal(
      missing.length,
      0,
      `${missing.length} of ${accepted.size} accepted invoices not on the queue (e.g. ${missing[0]})\n${report}`,
    );
  });
});
