// Issue 23, secure by default: no unsigned Ingress without an explicit opt-out (render time, and the service's
// own warning at start), the NetworkPolicy's rules, and secrets that stay in Secrets (in the rendered chart and
// in the running service's log).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { onCleanup, spawnOn, sqsQueue } from '../../support/pipeline.js';
import { freePort, redisServerBinary } from '../../support/redis.js';
import { TEST_OVERLOAD_ENV, tempDir } from '../../support/service.js';
import { standardWebhookHeaders } from '../../support/signatures.js';
import { STRIPE_SCHEMA_FILE, stripeInvoicePaidEvent } from '../../support/stripe.js';
import {
  ALL_ON_VALUES,
  deploymentSpec,
  helmTemplate,
  ofKind,
  one,
  podEnvironment,
  render,
  renderNotes,
  renderWithNotes,
  selects,
  serviceContainer,
  type Labels,
  type Manifest,
} from '../../support/chart.js';

const QUEUE = ['--set', 'config.sqsQueueUrl=https://sqs.us-east-1.amazonaws.com/123456789012/invoices'];
const INGRESS = ['--set', 'ingress.enabled=true'];

describe('helm chart: no unsigned Ingress without an explicit opt-out', () => {
  it('the Ingress on and no webhook secret: helm template fails with one message that names webhookSecrets.existingSecret', () => {
    const result = helmTemplate([...QUEUE, ...INGRESS]);
    assert.notEqual(result.status, 0, 'rendered an Ingress without signatures');
    assert.equal(result.stdout.trim(), '', 'nothing rendered');
    const errors = result.stderr.split('\n').filter((l) => l.startsWith('Error:'));
    assert.equal(errors.length, 1, result.stderr);
    assert.match(errors[0] ?? '', /no webhook secret is configured/);
    assert.match(errors[0] ?? '', /set webhookSecrets\.existingSecret/);
    assert.match(errors[0] ?? '', /ingress\.allowUnsigned=true/, 'and names the only way past');
  });

  it('a webhook secret (existingSecret or value) lets the Ingress render, and the NOTES do not say signatures are off', () => {
    for (const secret of [['--set', 'webhookSecrets.existingSecret=hooks'], ['--set', 'webhookSecrets.value=s3cret']]) {
      const args = [...QUEUE, ...INGRESS, ...secret];
      one(render(args), 'Ingress');
      assert.ok(podEnvironment(render(args)).WEBHOOK_SECRETS, 'the pods get WEBHOOK_SECRETS');
      assert.doesNotMatch(renderNotes(args), /signatures are NOT checked/);
    }
  });

  it('ingress.allowUnsigned=true is the way past, and the NOTES then repeat that signatures are off', () => {
    const args = [...QUEUE, ...INGRESS, '--set', 'ingress.allowUnsigned=true'];
    one(render(args), 'Ingress');
    assert.equal(podEnvironment(render(args)).WEBHOOK_SECRETS, undefined);
    const notes = renderNotes(args);
    assert.match(notes, /WARNING: ingress\.allowUnsigned=true: the Ingress exposes the webhook route outside the cluster and\s+signatures are NOT checked/);
    assert.match(notes, /webhookSecrets\.existingSecret/);
    // With secrets configured the opt-out changes nothing: signatures are on, and the NOTES say nothing of it.
    const signed = [...args, '--set', 'webhookSecrets.existingSecret=hooks'];
    assert.doesNotMatch(renderNotes(signed), /allowUnsigned|signatures are NOT checked/);
  });

  it('without an Ingress an unsigned install still renders (the NOTES and the pods’ start-up log say so)', () => {
    assert.deepEqual(ofKind(render(QUEUE), 'Ingress'), []);
    assert.match(renderNotes(QUEUE), /NOTE: no webhook secrets are configured: signatures are NOT checked/);
  });
});

interface PolicyPort {
  port: number | string;
  protocol?: string;
}
interface PolicyPeer {
  podSelector?: { matchLabels?: Labels };
  namespaceSelector?: { matchLabels?: Labels };
  ipBlock?: { cidr: string };
}
interface PolicySpec {
  podSelector: { matchLabels: Labels };
  policyTypes: string[];
  ingress: { from?: PolicyPeer[]; ports?: PolicyPort[] }[];
  egress: { to?: PolicyPeer[]; ports?: PolicyPort[] }[];
}

const policy = (manifests: readonly Manifest[]): PolicySpec => one(manifests, 'NetworkPolicy').spec as PolicySpec;
const tcp = (port: number): PolicyPort => ({ port, protocol: 'TCP' });
const DNS = { ports: [{ port: 53, protocol: 'UDP' }, tcp(53)] };
const POLICY = [...QUEUE, '--set', 'networkPolicy.enabled=true'];
/** networkPolicy as helm/ci/all-on-values.yaml gives it. */
const allOnPolicy = (parse(readFileSync(ALL_ON_VALUES, 'utf8')) as { networkPolicy: Record<string, unknown[]> })
  .networkPolicy;

describe('helm chart: networkPolicy', () => {
  it('is off by default', () => {
    assert.deepEqual(ofKind(render(QUEUE), 'NetworkPolicy'), []);
  });

  it('on: it selects the pods; ingress to the http port from anywhere; egress to DNS, SQS (443) and the release’s own pods (the hand-off), nothing else', () => {
    const manifests = render(POLICY);
    const spec = policy(manifests);
    const pods = deploymentSpec(manifests).template.metadata.labels;
    assert.ok(selects(spec.podSelector.matchLabels, pods), 'the policy selects the service’s pods');
    assert.deepEqual(spec.policyTypes, ['Ingress', 'Egress']);
    const http = serviceContainer(manifests).ports?.find((p) => p.name === 'http')?.containerPort;
    assert.equal(http, 3000);
    assert.deepEqual(spec.ingress, [{ ports: [tcp(3000)] }], 'no `from`: any source, on the http port only');
    assert.deepEqual(spec.egress, [
      DNS,
      { ports: [tcp(443)] },
      { to: [{ podSelector: { matchLabels: spec.podSelector.matchLabels } }], ports: [tcp(3000)] },
    ]);
    // The hand-off goes through the Service: its port leads to the pods' http port, which the last rule allows.
    const service = one(manifests, 'Service');
    assert.equal((service.spec as { ports: { targetPort: string }[] }).ports[0]?.targetPort, 'http');
    assert.match(podEnvironment(manifests).HANDOFF_URL ?? '', /^http:\/\//);
  });

  it('the SQS rule follows config.sqsEndpoint: its port, else the scheme’s', () => {
    for (const [endpoint, port] of [
      ['http://localstack.localstack.svc:4566', 4566],
      ['https://vpce-0123.sqs.eu-west-1.vpce.amazonaws.com', 443],
      ['http://elasticmq.queues.svc', 80],
      ['http://[fd00::5]:9324', 9324],
    ] as const) {
      const egress = policy(render([...POLICY, '--set', `config.sqsEndpoint=${endpoint}`])).egress;
      assert.deepEqual(egress[1], { ports: [tcp(port)] }, endpoint);
      assert.equal(egress.length, 3, `${endpoint}: DNS, SQS, the own pods`);
    }
  });

  it('the OTLP endpoint’s port while traces are exported, and the dedupe store’s while DEDUPE_STORE comes from a Secret', () => {
    const traces = (endpoint: string): string[] => [
      '--set',
      'telemetry.enabled=true',
      '--set',
      `telemetry.otlpEndpoint=${endpoint}`,
    ];
    const ports = (args: string[]): (number | string)[] =>
      policy(render([...POLICY, ...args])).egress.flatMap((r) => (r.to ? [] : (r.ports ?? []).map((p) => p.port)));
    assert.deepEqual(ports(traces('http://otel-collector.observability.svc:4318')), [53, 53, 443, 4318]);
    assert.deepEqual(ports(traces('https://otlp.example.com')), [53, 53, 443, 443]);
    assert.deepEqual(ports(['--set', 'dedupe.store.existingSecret=redis-url']), [53, 53, 443, 6379]);
    assert.deepEqual(
      ports(['--set', 'dedupe.store.existingSecret=redis-url', '--set', 'networkPolicy.dedupeStorePort=6380']),
      [53, 53, 443, 6380],
    );
    assert.deepEqual(ports(['--set', 'networkPolicy.dedupeStorePort=6380']), [53, 53, 443], 'no store, no rule');
  });

  it('with ingressFrom: only those peers reach the http port, plus the release’s own pods (hand-off) and its helm test pod', () => {
    const manifests = render(['-f', ALL_ON_VALUES]);
    const spec = policy(manifests);
    const pods = deploymentSpec(manifests).template.metadata.labels;
    const listed = allOnPolicy.ingressFrom ?? [];
    assert.equal(listed.length, 2, 'all-on lists the ingress controller and the Prometheus pods');
    assert.deepEqual(spec.ingress[0], { ports: [tcp(8080)], from: listed });
    const inside = spec.ingress[1];
    assert.deepEqual(inside?.ports, [tcp(8080)]);
    const testPod = ofKind(manifests, 'Pod').find((p) => p.metadata.annotations?.['helm.sh/hook'] === 'test');
    assert.ok(testPod, 'the helm test pod is rendered');
    const peers = inside?.from ?? [];
    assert.equal(peers.length, 2);
    assert.ok(selects(peers[0]?.podSelector?.matchLabels, pods), 'the service’s pods (the hand-off)');
    assert.ok(selects(peers[1]?.podSelector?.matchLabels, testPod.metadata.labels), 'the helm test pod');
    assert.ok(!selects(peers[1]?.podSelector?.matchLabels, pods), 'that peer is the test pod, not the service’s');
    for (const peer of peers) assert.equal(peer.namespaceSelector, undefined, 'in the release’s namespace only');
    // extraIngress and extraEgress come last, as given.
    assert.deepEqual(spec.ingress.slice(2), allOnPolicy.extraIngress);
    assert.deepEqual(spec.egress.at(-1), allOnPolicy.extraEgress?.[0]);
    // all-on: SQS on LocalStack's 4566, OTLP 4318, Redis on dedupeStorePort 6380, the own pods, the Pod Identity agent.
    assert.deepEqual(
      spec.egress.map((r) => (r.ports ?? []).map((p) => p.port)),
      [[53, 53], [4566], [4318], [6380], [8080], [80]],
    );
  });

  it('without the hand-off or the helm test pod, their rules go too', () => {
    const from = ['--set-json', 'networkPolicy.ingressFrom=[{"namespaceSelector":{"matchLabels":{"team":"edge"}}}]'];
    const noHandoff = policy(render([...POLICY, ...from, '--set', 'handoff.enabled=false']));
    assert.equal(noHandoff.egress.length, 2, 'DNS and SQS only');
    assert.equal(noHandoff.ingress[1]?.from?.length, 1, 'only the helm test pod');
    const neither = policy(render([...POLICY, ...from, '--set', 'handoff.enabled=false', '--set', 'helmTest.enabled=false']));
    assert.equal(neither.ingress.length, 1, 'only the listed peers');
  });

  it('the NOTES say that a NetworkPolicy needs a network plugin that enforces it', () => {
    assert.match(renderNotes(POLICY), /takes effect only if the cluster's network plugin\s+enforces NetworkPolicies/);
    assert.doesNotMatch(renderNotes(QUEUE), /NetworkPolicy/);
  });
});

/** Fresh secret values for one run: nothing here may be hard-coded anywhere the chart or the service looks. */
function secretValues() {
  const word = (n: number): string => randomBytes(n).toString('hex');
  return {
    webhook: [`whsec_${randomBytes(24).toString('base64')}`, `whsec_${randomBytes(24).toString('base64')}`],
    awsAccessKeyId: `test-key-${word(8)}`,
    awsSecretAccessKey: `secret-${word(16)}`,
    redisPassword: `pw-${word(12)}`,
  };
}

/** Every form a secret could leak in: as given, base64-encoded, and a whsec_ secret's key alone. */
function forms(values: readonly string[]): string[] {
  return values.flatMap((v) => [v, Buffer.from(v).toString('base64'), ...(v.startsWith('whsec_') ? [v.slice(6)] : [])]);
}

/** Where a secret value shows outside a Secret: ConfigMaps, annotations (of anything, pod template included), NOTES, any other manifest. */
function leaks(manifests: readonly Manifest[], notes: string, secrets: readonly string[]): string[] {
  const found: string[] = [];
  const check = (where: string, text: string): void => {
    for (const s of forms(secrets)) if (text.includes(s)) found.push(`${where} holds ${s.slice(0, 12)}…`);
  };
  for (const m of manifests) {
    const name = `${m.kind}/${m.metadata.name}`;
    if (m.kind === 'ConfigMap') check(`${name} data`, JSON.stringify(m.data ?? {}));
    check(`${name} annotations`, JSON.stringify(m.metadata.annotations ?? {}));
    const template = (m.spec as { template?: { metadata?: { annotations?: Labels } } } | undefined)?.template;
    check(`${name} pod annotations`, JSON.stringify(template?.metadata?.annotations ?? {}));
    if (m.kind !== 'Secret') check(name, JSON.stringify(m));
  }
  check('NOTES.txt', notes);
  return found;
}

describe('helm chart: secrets stay in Secrets', () => {
  const secrets = secretValues();
  // Every option on, the webhook secrets as a value, the hand-off token made by the chart (random at render).
  const args = [
    '-f',
    ALL_ON_VALUES,
    '--set-json',
    `webhookSecrets.value=${JSON.stringify(secrets.webhook.join(','))}`,
    '--set',
    'handoff.existingSecret=',
  ];

  it('no secret value appears in a ConfigMap, an annotation, the NOTES or any manifest but a Secret', () => {
    const { manifests, notes } = renderWithNotes(args);
    const env = podEnvironment(manifests);
    const token = env.HANDOFF_TOKEN ?? '';
    assert.ok(token.length >= 32, 'the chart made the hand-off token');
    assert.equal(env.WEBHOOK_SECRETS, secrets.webhook.join(','), 'the webhook secrets reach the pods');
    // The values went in, as Secrets: the check below looks for something that is there.
    const secretData = JSON.stringify(ofKind(manifests, 'Secret').map((s) => s.data));
    assert.ok(secretData.includes(Buffer.from(secrets.webhook.join(',')).toString('base64')));
    assert.ok(secretData.includes(Buffer.from(token).toString('base64')));
    // The AWS keys and the dedupe store's URL are never chart values: the pods read them from Secrets by reference.
    const container = serviceContainer(manifests);
    assert.deepEqual(container.envFrom?.slice(1), [{ secretRef: { name: 'sqs-static-keys' } }]);
    assert.ok(container.env?.find((v) => v.name === 'DEDUPE_STORE')?.valueFrom?.secretKeyRef, 'DEDUPE_STORE from a Secret');
    for (const name of ['WEBHOOK_SECRETS', 'HANDOFF_TOKEN']) {
      assert.ok(container.env?.find((v) => v.name === name)?.valueFrom?.secretKeyRef, `${name} from a Secret`);
    }
    const all = [...secrets.webhook, secrets.webhook.join(','), token, secrets.awsAccessKeyId, secrets.awsSecretAccessKey];
    assert.deepEqual(leaks(manifests, notes, all), []);
  });

  it('the leak check above is live: a secret put in an annotation is found', () => {
    const leaked = [...args, '--set-json', `podAnnotations.oops=${JSON.stringify(secrets.webhook[0])}`];
    const { manifests, notes } = renderWithNotes(leaked);
    const found = leaks(manifests, notes, secrets.webhook);
    assert.ok(found.some((f) => f.includes('pod annotations')), found.join('; '));
  });

  it('the built service, started with the rendered environment and secret values at LOG_LEVEL=debug, never prints one of them', async (t) => {
    const { manifests } = renderWithNotes(args);
    const rendered = podEnvironment(manifests);
    const redis = await startRedisWithPassword(secrets.redisPassword);
    onCleanup(t, redis.stop);
    const dedupeStore = `redis://default:${secrets.redisPassword}@127.0.0.1:${redis.port}`;
    // all-on sends to a FIFO queue with FIFO ids from JSON pointers into a Stripe event.
    const queue = await sqsQueue(t, { queue: 'secrets-log', queueAttributes: { FifoQueue: 'true' } });
    const dir = tempDir('secrets-log-');
    const env: Record<string, string> = {
      ...rendered,
      // What points at the cluster points here instead: the queue, the schema file, the volume, traces, the peer.
      SQS_QUEUE_URL: queue.queueUrl,
      SQS_ENDPOINT: queue.sqsEndpoint,
      PORT: '0',
      INVOICE_SCHEMA_FILE: STRIPE_SCHEMA_FILE,
      DEAD_LETTER_PATH: path.join(dir, 'dead-letter.jsonl'),
      JOURNAL_DIR: path.join(dir, 'journal'),
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      HANDOFF_URL: 'http://127.0.0.1:1',
      // The test's fetch keeps idle keep-alive connections, which the drain would wait out for the whole budget.
      SHUTDOWN_TIMEOUT_MS: '3000',
      ...TEST_OVERLOAD_ENV,
      // The secrets the pods read from Secrets the chart does not make.
      DEDUPE_STORE: dedupeStore,
      AWS_ACCESS_KEY_ID: secrets.awsAccessKeyId,
      AWS_SECRET_ACCESS_KEY: secrets.awsSecretAccessKey,
      LOG_LEVEL: 'debug',
    };
    delete env.NODE_EXTRA_CA_CERTS; // a file of the pod's, not of this machine
    assert.equal(env.HOST, '0.0.0.0', 'as in the pod');
    assert.equal(env.WEBHOOK_SECRETS, secrets.webhook.join(','));
    const token = env.HANDOFF_TOKEN ?? '';
    const svc = await spawnOn(t, queue, { env, preload: true });

    assert.equal((await fetch(`${svc.url}/readyz`)).status, 200, 'it started');
    const body = JSON.stringify(stripeInvoicePaidEvent());
    const signed = await fetch(`${svc.url}/webhooks/invoice`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...standardWebhookHeaders(secrets.webhook[1] ?? '', `msg_${randomUUID()}`, body) },
      body,
    });
    assert.equal(signed.status, 200, `signed with the second secret, confirmed by SQS: ${await signed.text()}`);
    assert.equal((await queue.receive(1)).length, 1, 'on the queue');
    // Refusals are what the service logs at debug: one signed with a secret it does not hold.
    const forged = await fetch(`${svc.url}/webhooks/invoice`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...standardWebhookHeaders(secretValues().webhook[0] ?? '', `msg_${randomUUID()}`, body) },
      body,
    });
    assert.equal(forged.status, 401, 'signatures are checked');
    const wrongToken = await fetch(`${svc.url}/internal/handoff`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token.slice(0, -1)}x` },
      body: '[]',
    });
    assert.equal(wrongToken.status, 401, 'the hand-off route wants the token');
    svc.child.kill('SIGTERM');
    const exit = await svc.exited;
    assert.equal(exit.code, 0, 'drained and exited');

    const lines = svc.logs.map((l) => JSON.stringify(l));
    const messages = svc.logs.map((l) => String(l.msg));
    assert.ok(messages.includes('starting') && messages.includes('listening'), messages.join(' | '));
    assert.ok(messages.includes('dedupe store connected'), 'the password in DEDUPE_STORE was used');
    assert.ok(svc.logs.some((l) => l.level === 'debug'), 'debug lines were written');
    assert.ok(!messages.some((m) => m.startsWith('signatures are off')), 'secrets set: no unsigned warning');
    const output = [...lines, ...svc.stderr].join('\n');
    assert.ok(output.includes(queue.queueUrl), 'the log shows the settings that are not secret: the search reads the right text');
    const all = [...secrets.webhook, token, secrets.awsAccessKeyId, secrets.awsSecretAccessKey, secrets.redisPassword, dedupeStore];
    const printed = forms(all).filter((s) => output.includes(s));
    assert.deepEqual(printed.map((s) => `${s.slice(0, 10)}…`), [], `${lines.length} log lines`);
  });
});

describe('the service warns at start when signatures are off on a reachable address', () => {
  const unsigned = (logs: Record<string, unknown>[]): Record<string, unknown>[] =>
    logs.filter((l) => String(l.msg).startsWith('signatures are off (WEBHOOK_SECRETS is empty)'));

  it('HOST=0.0.0.0 without WEBHOOK_SECRETS: one warning, right after the start-up line', async (t) => {
    const queue = await sqsQueue(t, { queue: 'unsigned-warn' });
    const svc = await spawnOn(t, queue, { env: { HOST: '0.0.0.0' } });
    const warnings = unsigned(svc.logs);
    assert.equal(warnings.length, 1, JSON.stringify(svc.logs));
    assert.equal(warnings[0]?.level, 'warn');
    assert.equal(warnings[0]?.host, '0.0.0.0');
    const at = svc.logs.indexOf(warnings[0]);
    assert.equal(svc.logs[at - 1]?.msg, 'starting');
  });

  it('no warning on 127.0.0.1 without secrets, nor on 0.0.0.0 with them', async (t) => {
    const queue = await sqsQueue(t, { queue: 'unsigned-quiet' });
    for (const env of [{ HOST: '127.0.0.1' }, { HOST: '0.0.0.0', WEBHOOK_SECRETS: 's3cret' }]) {
      const svc = await spawnOn(t, queue, { env });
      assert.ok(svc.logs.some((l) => l.msg === 'listening'), 'it started');
      assert.deepEqual(unsigned(svc.logs), [], JSON.stringify(env));
      svc.child.kill('SIGTERM');
      await svc.exited;
    }
  });
});

/** A Redis/Valkey that wants a password (`requirepass`), on a free port of 127.0.0.1. */
async function startRedisWithPassword(password: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    redisServerBinary(),
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', password],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const answers = (): Promise<boolean> =>
    new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.setTimeout(200, () => (socket.destroy(), resolve(false)));
      socket.on('error', () => resolve(false));
      socket.on('connect', () => socket.write(`AUTH ${password}\r\nPING\r\n`));
      socket.on('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+OK'));
      });
    });
  const deadline = Date.now() + 10_000;
  while (!(await answers())) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server with a password did not start on port ${port}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
