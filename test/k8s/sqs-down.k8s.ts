// Live cluster (npm run test:k8s): a pod deleted while SQS is unreachable. Where do its accepted invoices go?
import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { makeInvoice } from '../support/invoices.js';
import { sqsQueue } from '../support/pipeline.js';
import { attribute, localstack } from '../support/sqs.js';
import {
  FULLNAME,
  Relay,
  apply,
  clusterIp,
  createNamespace,
  deleteNamespace,
  eventually,
  followLogs,
  installChart,
  kubectl,
  lab,
  labValues,
  readIfThere,
  readyPods,
  postToService,
} from '../support/k8s/lab.js';

const INVOICES = 20;

/** Settings that make a drain against an unreachable SQS short: 3 s budget, 1 s pause. */
function shortDrain(queueUrl: string, relay: Relay): Record<string, unknown> {
  const values = labValues(queueUrl, relay.port);
  return {
    ...values,
    replicaCount: 1,
    config: {
      ...(values.config as Record<string, unknown>),
      shutdownTimeoutMs: 3000,
      sqsRequestTimeoutMs: 1000,
      retryMaxMs: 200,
    },
    shutdown: { preStopSleepSeconds: 1, extraGraceSeconds: 10 },
  };
}

/** Posts INVOICES invoices through the ClusterIP; all must be accepted (buffered). Returns id -> body. */
async function acceptSome(namespace: string): Promise<Map<string, string>> {
  const ip = await clusterIp(namespace);
  const sent = new Map<string, string>();
  for (let i = 0; i < INVOICES; i += 1) {
    const body = JSON.stringify(makeInvoice());
    const { status } = await postToService(ip, body);
    assert.equal(status, 202, 'accepted into the buffer while SQS is unreachable');
    sent.set((JSON.parse(body) as { id: string }).id, body);
  }
  return sent;
}

describe('a pod deleted while SQS is unreachable', () => {
  const relays: Relay[] = [];
  const namespaces: string[] = [];
  after(async () => {
    for (const relay of relays) await relay.stop();
    for (const namespace of namespaces) await deleteNamespace(namespace);
  });

  it('persistence off: the invoices it had accepted are lost with its emptyDir, and its log names and counts each one', async (t) => {
    const namespace = 'iw-sqs-off';
    namespaces.push(namespace);
    const relay = new Relay(lab.sqsRelayPort + 1);
    relays.push(relay);
    await relay.start();
    const { queueUrl } = await sqsQueue(t, { queue: 'k8s-sqs-off' });
    await createNamespace(namespace);
    // The dead-letter path, where the log names every invoice left behind. (With the journal on, the
    // leftovers stay in the journal on the same emptyDir, and the log only counts them.)
    await installChart(namespace, { ...shortDrain(queueUrl, relay), journal: { enabled: false } });
    const [pod] = await readyPods(namespace, 1);
    assert.ok(pod);
    const logs = followLogs(namespace, pod.name);

    await relay.stop();
    const sent = await acceptSome(namespace);
    await kubectl('-n', namespace, 'delete', 'pod', pod.name, '--wait=true', '--timeout=120s');
    await logs.ended;

    const lines = logs.lines();
    const named = lines
      .filter((l) => l.msg === 'invoices written to the dead-letter file')
      .flatMap((l) => l.invoiceIds as string[]);
    assert.deepEqual([...named].sort(), [...sent.keys()].sort(), 'the log names every invoice left behind');
    const summary = lines.find((l) => typeof l.left === 'number');
    assert.equal(summary?.left, INVOICES, 'and counts them');
    // The kubelet removes a deleted pod's directory (its emptyDir, the dead-letter file in it) in housekeeping.
    await eventually('the pod’s emptyDir, with the dead-letter file in it, gone with the pod', () =>
      Promise.resolve(existsSync(path.join(lab.workDir, 'kubelet-root', 'pods', pod.uid)) ? undefined : true),
    );

    // SQS back, a new pod: nothing brings those invoices back.
    await relay.start();
    await readyPods(namespace, 1);
    const late = await localstack.receiveAll(queueUrl, { expected: 1, timeoutMs: 10_000 });
    assert.deepEqual(late, [], `lost: ${INVOICES} accepted invoices, each named in the log`);
  });

  it('persistence on: the StatefulSet pod comes back on its own volume, and every accepted invoice reaches SQS', async (t) => {
    const namespace = 'iw-sqs-on';
    namespaces.push(namespace);
    const relay = new Relay(lab.sqsRelayPort + 2);
    relays.push(relay);
    await relay.start();
    const { queueUrl } = await sqsQueue(t, { queue: 'k8s-sqs-on' });
    await createNamespace(namespace);

    // The lab has no volume provisioner: a local PersistentVolume on the node, bound ahead to the claim the
    // StatefulSet's template makes for pod 0.
    const podName = `${FULLNAME}-0`;
    const dir = path.join(lab.workDir, 'volumes', namespace);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    chownSync(dir, 1000, 1000);
    const pvName = `${namespace}-data-0`;
    await kubectl('delete', 'pv', pvName, '--ignore-not-found');
    await apply({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pvName },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: 'invoice-lab-local',
        claimRef: { namespace, name: `data-${podName}` },
        local: { path: dir },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [lab.nodeName] }] },
            ],
          },
        },
      },
    });
    await installChart(namespace, {
      ...shortDrain(queueUrl, relay),
      persistence: {
        enabled: true,
        storageClassName: 'invoice-lab-local',
        size: '1Gi',
        accessModes: ['ReadWriteOnce'],
      },
    });
    const [pod] = await readyPods(namespace, 1);
    assert.equal(pod?.name, podName);

    await relay.stop();
    const sent = await acceptSome(namespace);
    await kubectl('-n', namespace, 'delete', 'pod', podName, '--wait=true', '--timeout=120s');
    const [back] = await eventually('pod 0 back', async () => {
      const list = await readyPods(namespace, 1);
      return list[0]?.uid !== pod.uid ? list : undefined;
    });
    assert.equal(back?.name, podName, 'the same name, so the same claim and the same directory');

    // What the deleted pod left on its volume: dead letters (and a journal, once the service keeps one).
    const podDir = path.join(dir, podName);
    const deadLetterFile = path.join(podDir, 'dead-letter.jsonl');
    const deadLettered = (readIfThere(deadLetterFile) ?? '')
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { invoiceId: string }).invoiceId);
    const journalDir = path.join(podDir, 'journal');
    const journalText = existsSync(journalDir)
      ? readdirSync(journalDir, { recursive: true, withFileTypes: true })
          .filter((e) => e.isFile())
          .map((e) => readFileSync(path.join(e.parentPath, e.name), 'latin1'))
          .join('\n')
      : '';
    const kept = [...sent.keys()].filter((id) => deadLettered.includes(id) || journalText.includes(id));
    assert.deepEqual(kept.sort(), [...sent.keys()].sort(), 'every accepted invoice is on the pod’s volume');

    // SQS back: the journal (if any) resends by itself; the dead letters are replayed from inside the pod,
    // as helm/README.md describes.
    await relay.start();
    if (deadLettered.length > 0) {
      const base = `/var/lib/invoice-webhook/${podName}`;
      await kubectl('-n', namespace, 'exec', podName, '--', 'mv', `${base}/dead-letter.jsonl`, `${base}/replay.jsonl`);
      await kubectl('-n', namespace, 'exec', podName, '--', 'node', 'dist/src/replay.js', `${base}/replay.jsonl`);
    }
    const messages = await localstack.receiveAll(queueUrl, { expected: INVOICES, timeoutMs: 60_000 });
    const landed = new Map(messages.map((m) => [attribute(m, 'invoice-id') ?? '', m.Body]));
    for (const [id, body] of sent) assert.equal(landed.get(id), body, `invoice ${id} is on the queue, byte for byte`);

    await kubectl('-n', namespace, 'delete', 'statefulset', FULLNAME, '--wait=true', '--timeout=120s');
    await kubectl('-n', namespace, 'delete', 'pvc', `data-${podName}`, '--wait=false');
    await kubectl('delete', 'pv', pvName, '--wait=false');
  });
});
