// Live cluster (npm run test:k8s): a rolling update and a pod deletion, each under steady open-model load.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { sqsQueue } from '../support/pipeline.js';
import { attribute, localstack } from '../support/sqs.js';
import {
  FULLNAME,
  clusterIp,
  createNamespace,
  deleteNamespace,
  eventually,
  followLogs,
  installChart,
  kubectl,
  lab,
  labValues,
  pods,
  readyPods,
} from '../support/k8s/lab.js';
import { openModelLoad, summarize, type Outcome } from '../support/k8s/load.js';

const RATE_PER_SECOND = 200;
const DURATION_MS = 40_000;
/**
 * A rolling update of the default StatefulSet replaces one pod at a time, each after its preStop pause (10 s),
 * its drain (which waits out the drain budget for keep-alive connections its clients keep idle) and the new
 * pod's start and readiness: about 40 s a pod on the lab. The load runs until the rollout is done (+5 s),
 * at most this long.
 */
const ROLLOUT_MAX_MS = 180_000;
/** When the disruption starts, into the load. */
const DISRUPT_AFTER_MS = 5_000;

interface Verdict {
  sent: number;
  accepted: number;
  unavailable: number;
  failures: number;
  failureKinds: Record<string, number>;
  onQueue: number;
  duplicates: number;
  lost: number;
  p99Ms: number;
  /** How long reading the queue back took (slow when LocalStack shares busy cores). */
  receiveMs: number;
}

/** Every 2xx invoice on the queue (counted by id), and how the responses split. */
async function verdict(queueUrl: string, outcomes: readonly Outcome[]): Promise<Verdict> {
  const summary = summarize(outcomes);
  const acceptedIds = new Set(outcomes.filter((o) => o.status >= 200 && o.status < 300).map((o) => o.id));
  const started = Date.now();
  // 60 s without a new message ends the read: a loaded LocalStack takes minutes for 8000 receives and
  // deletes, and a total deadline cut that short once, counting 299 delivered invoices as lost.
  const messages = await localstack.receiveAll(queueUrl, { expected: acceptedIds.size, timeoutMs: 60_000 });
  const receiveMs = Date.now() - started;
  const ids = messages.map((m) => attribute(m, 'invoice-id') ?? '');
  const unique = new Set(ids);
  const lost = [...acceptedIds].filter((id) => !unique.has(id)).length;
  return { ...summary, onQueue: unique.size, duplicates: ids.length - unique.size, lost, receiveMs };
}

function record(t: TestContext, name: string, v: Verdict): void {
  const line = `${name}: sent ${v.sent}, 2xx ${v.accepted}, 503+Retry-After ${v.unavailable}, failures ${v.failures} ${JSON.stringify(v.failureKinds)}, on queue ${v.onQueue} (duplicates ${v.duplicates}), lost ${v.lost}, p99 ${v.p99Ms} ms, queue read in ${(v.receiveMs / 1000).toFixed(1)} s`;
  t.diagnostic(line);
  console.log(`test:k8s result: ${line}`);
  const dir = path.join(lab.workDir, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${name.replace(/\W+/g, '-')}.json`), JSON.stringify(v, null, 2));
}

function assertNothingLost(v: Verdict): void {
  assert.ok(v.accepted > v.sent / 2, `most requests were accepted (${v.accepted} of ${v.sent})`);
  assert.equal(v.failures, 0, `every response is a 2xx or a 503 with Retry-After: ${JSON.stringify(v.failureKinds)}`);
  assert.equal(v.lost, 0, `every invoice answered 2xx is on the queue (${v.lost} missing)`);
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('under load: 200 invoices/s through the Service ClusterIP (40 s, or until the rollout is done)', () => {
  const namespace = 'iw-load';
  let values: Record<string, unknown> = {};

  before(async () => {
    await createNamespace(namespace);
  });
  after(() => deleteNamespace(namespace));

  it('a rolling update of the default StatefulSet (helm upgrade changing the pod template) loses nothing and answers only 2xx or 503', async (t) => {
    const { queueUrl } = await sqsQueue(t, { queue: 'k8s-rollout' });
    values = { ...labValues(queueUrl), replicaCount: 2, podAnnotations: { 'lab/revision': '1' } };
    await installChart(namespace, values);
    const before = await readyPods(namespace, 2);
    const ip = await clusterIp(namespace);

    let rolled: () => void = () => undefined;
    const rolloutDone = new Promise<void>((resolve) => (rolled = resolve));
    const load = openModelLoad({
      baseUrl: `http://${ip}`,
      ratePerSecond: RATE_PER_SECOND,
      durationMs: ROLLOUT_MAX_MS,
      until: rolloutDone,
    });
    await wait(DISRUPT_AFTER_MS);
    const started = performance.now();
    try {
      await installChart(namespace, { ...values, podAnnotations: { 'lab/revision': '2' } }, { wait: false });
      await kubectl('-n', namespace, 'rollout', 'status', `statefulset/${FULLNAME}`, '--timeout=170s');
    } finally {
      rolled();
    }
    const rolledMs = performance.now() - started;
    const outcomes = await load;

    const after = await readyPods(namespace, 2);
    assert.equal(
      after.filter((p) => before.some((b) => b.uid === p.uid)).length,
      0,
      'every pod was replaced by the update',
    );
    assert.ok(
      rolledMs < ROLLOUT_MAX_MS - DISRUPT_AFTER_MS,
      `the rollout finished under load (${Math.round(rolledMs)} ms)`,
    );
    const v = await verdict(queueUrl, outcomes);
    record(t, 'rolling update', v);
    assertNothingLost(v);
  });

  it('kubectl delete pod under load loses nothing and answers only 2xx or 503', async (t) => {
    const { queueUrl } = await sqsQueue(t, { queue: 'k8s-delete' });
    await installChart(namespace, { ...labValues(queueUrl), replicaCount: 2, podAnnotations: { 'lab/revision': '3' } });
    // Alone: a pod of the previous release, still in its preStop pause, keeps answering on keep-alive
    // connections and sends to that release's queue. Load that reached one was counted as lost here.
    const [victim] = await readyPods(namespace, 2, { alone: true });
    assert.ok(victim);
    const ip = await clusterIp(namespace);

    // What the deleted pod says while it drains: the evidence when something goes missing.
    const victimLog = followLogs(namespace, victim.name);
    const load = openModelLoad({ baseUrl: `http://${ip}`, ratePerSecond: RATE_PER_SECOND, durationMs: DURATION_MS });
    await wait(DISRUPT_AFTER_MS);
    const deletedAt = Date.now();
    await kubectl('-n', namespace, 'delete', 'pod', victim.name, '--wait=false');
    const outcomes = await load;

    const now = await readyPods(namespace, 2);
    assert.ok(!now.some((p) => p.uid === victim.uid), 'a replacement took the deleted pod’s place');
    await eventually('the deleted pod gone (its drain finished)', async () =>
      (await pods(namespace)).some((p) => p.uid === victim.uid) ? undefined : true,
    );
    const goneAfterMs = Date.now() - deletedAt;
    victimLog.stop();
    const v = await verdict(queueUrl, outcomes);
    record(t, 'pod deletion', v);
    const drainLines = victimLog
      .lines()
      .filter((l) => /drain|shutting down|shutdown|journal|dead-letter/.test(String(l.msg)))
      .map((l) => JSON.stringify(l));
    t.diagnostic(`the deleted pod was gone ${goneAfterMs} ms after the delete; its drain: ${drainLines.join(' | ')}`);
    assert.ok(
      v.lost === 0,
      `every invoice answered 2xx is on the queue (${v.lost} missing); the deleted pod logged: ${drainLines.join(' | ') || 'nothing about its drain (killed before?)'}`,
    );
    assertNothingLost(v);
  });
});
