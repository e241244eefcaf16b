// Live cluster (npm run test:k8s): the image built from the Dockerfile, installed with the chart, its
// NetworkPolicy on. The lab's network plugin (the CNI bridge) does NOT enforce NetworkPolicies: what runs here
// shows that the policy installs and leaves delivery and `helm test` working, never that it blocks anything.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeInvoice } from '../support/invoices.js';
import { attribute, localstack } from '../support/sqs.js';
import { sqsQueue, suiteScope } from '../support/pipeline.js';
import { REPO_ROOT } from '../support/service.js';
import {
  FULLNAME,
  RELEASE,
  clusterIp,
  createNamespace,
  deleteNamespace,
  helm,
  installChart,
  kubectl,
  lab,
  labValues,
  readyPods,
  postToService,
  viaRelay,
} from '../support/k8s/lab.js';

const NAMESPACE = 'iw-deploy';
/** networkPolicy on, with the peers a user lists: an ingress controller's namespace and the Prometheus pods. */
const NETWORK_POLICY = {
  enabled: true,
  ingressFrom: [
    { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
    {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
    },
  ],
};

describe('deployed: the Dockerfile image installed with the chart', () => {
  let queueUrl = '';

  after(() => deleteNamespace(NAMESPACE));
  // Registered after the namespace's teardown, so the queue goes once no pod can send to it.
  const queueScope = suiteScope('k8s-deploy');
  before(async () => {
    ({ queueUrl } = await sqsQueue(queueScope, { queue: 'k8s-deploy' }));
    await createNamespace(NAMESPACE);
    await installChart(NAMESPACE, { ...labValues(queueUrl), replicaCount: 2, networkPolicy: NETWORK_POLICY });
  });

  it('the NetworkPolicy is in place and selects exactly the service’s pods; its SQS rule is the lab relay’s port (not enforced here: the lab’s CNI ignores policies)', async () => {
    const ready = await readyPods(NAMESPACE, 2);
    const policy = JSON.parse(await kubectl('-n', NAMESPACE, 'get', 'networkpolicy', FULLNAME, '-o', 'json')) as {
      spec: {
        podSelector: { matchLabels: Record<string, string> };
        policyTypes: string[];
        egress: { to?: unknown[]; ports?: { port: number }[] }[];
      };
    };
    assert.deepEqual(policy.spec.policyTypes, ['Ingress', 'Egress']);
    const selector = Object.entries(policy.spec.podSelector.matchLabels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const selected = (await kubectl('-n', NAMESPACE, 'get', 'pods', '-l', selector, '-o', 'name')).trim().split('\n');
    assert.deepEqual(selected.sort(), ready.map((p) => `pod/${p.name}`).sort(), 'the policy’s pods are the service’s');
    const ports = policy.spec.egress.filter((r) => !r.to).flatMap((r) => (r.ports ?? []).map((p) => p.port));
    assert.deepEqual(
      ports,
      [53, 53, lab.sqsRelayPort],
      'DNS and SQS (the relay) only, beside the hand-off to its own pods',
    );
  });

  it('the lab does not enforce it: a pod in another namespace, not a listed peer, still reaches a service pod', async () => {
    // What the policy does not allow, tried: this is what shows the lab's CNI ignores NetworkPolicies, so no
    // test here can show the policy blocking anything. The node's own traffic would prove nothing (always allowed).
    const [target] = await readyPods(NAMESPACE, 2);
    assert.ok(target?.ip);
    const script = `require('node:http').get({ host: '${target.ip}', port: 3000, path: '/livez', timeout: 5000 }, (r) => {
        console.log('status ' + r.statusCode); r.resume();
      }).on('error', (e) => console.log('error ' + e.code)).on('timeout', function () { console.log('timeout'); this.destroy(); });`;
    const out = await kubectl(
      'run',
      'np-outsider',
      '--namespace',
      'default',
      '--rm',
      '-i',
      '--restart=Never',
      `--image=${lab.image}`,
      '--image-pull-policy=Never',
      '--overrides={"spec":{"automountServiceAccountToken":false}}',
      '--command',
      '--',
      'node',
      '-e',
      script,
    );
    assert.match(out, /^status 200$/m, `the outsider's connection: ${out}`);
  });

  it('helm install with the Ingress on and no webhook secret fails with the message naming webhookSecrets.existingSecret, and installs nothing', async () => {
    const release = 'iw-unsigned';
    const failed = await helm(
      'install',
      release,
      path.join(REPO_ROOT, 'helm'),
      '--namespace',
      NAMESPACE,
      '--set',
      `config.sqsQueueUrl=${viaRelay(queueUrl)}`,
      '--set',
      'ingress.enabled=true',
    ).then(
      () => undefined,
      (error: unknown) => String(error),
    );
    assert.ok(failed, 'helm install succeeded');
    assert.match(failed, /no webhook secret is configured.*set webhookSecrets\.existingSecret/);
    assert.equal(
      (await helm('list', '--namespace', NAMESPACE, '--all', '-q')).trim(),
      RELEASE,
      'only the suite’s release',
    );
  });

  it('the pods get Ready, and an invoice sent to the Service ClusterIP lands on SQS byte for byte', async () => {
    const ready = await readyPods(NAMESPACE, 2);
    for (const pod of ready) assert.equal(pod.image, lab.image, 'the pods run the image built from the Dockerfile');
    // Indentation, escapes and non-ASCII text: a service that re-serialised the JSON would change the bytes.
    const body = JSON.stringify(
      makeInvoice({ metadata: { note: 'Grüße \u2713 \u8acb\u6c42\u66f8', quote: '"\\/' } }),
      null,
      2,
    );
    const ip = await clusterIp(NAMESPACE);
    const res = await postToService(ip, body);
    assert.equal(res.status, 202, res.text);
    const id = (JSON.parse(res.text) as { id: string }).id;
    const messages = await localstack.receiveAll(queueUrl, { expected: 1, timeoutMs: 30_000 });
    assert.equal(messages.length, 1);
    assert.equal(attribute(messages[0]!, 'invoice-id'), id);
    assert.equal(messages[0]?.Body, body, 'the message body is the request body, byte for byte');
  });

  it('helm test passes (the chart hook: /readyz and the webhook route through the Service)', async () => {
    const out = await helm('test', RELEASE, '--namespace', NAMESPACE, '--logs', '--timeout', '180s');
    assert.match(out, /Phase:\s+Succeeded/);
    assert.match(out, /ok: http:\/\/[\d.]+:80\/readyz 200, .*refused an empty object \(422\)/);
  });

  it('the running service is non-root, on a read-only root filesystem, without capabilities or privilege escalation', async () => {
    const [pod] = await readyPods(NAMESPACE, 2);
    assert.ok(pod);
    // PID 1 is the service itself (exec-form CMD); exec'd processes get the same security context.
    const script = `
      const fs = require('node:fs');
      const status = (pid) => Object.fromEntries(fs.readFileSync('/proc/' + pid + '/status', 'utf8').trim().split('\\n')
        .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
      const write = (file) => { try { fs.writeFileSync(file, 'x'); fs.rmSync(file); return 'ok'; } catch (e) { return e.code; } };
      const s = status(1);
      console.log(JSON.stringify({
        cmd: fs.readFileSync('/proc/1/cmdline', 'utf8').split('\\0')[0],
        uid: s.Uid, gid: s.Gid, capEff: s.CapEff, capPrm: s.CapPrm, capBnd: s.CapBnd, noNewPrivs: s.NoNewPrivs, seccomp: s.Seccomp,
        root: write('/app/probe'), etc: write('/etc/probe'), tmp: write('/tmp/probe'),
        data: write('/var/lib/invoice-webhook/probe'),
      }));`;
    const out = JSON.parse(await kubectl('-n', NAMESPACE, 'exec', pod.name, '--', 'node', '-e', script)) as Record<
      string,
      string
    >;
    assert.equal(out.cmd, 'node', 'PID 1 is node');
    assert.deepEqual(out.uid?.split(/\s+/), ['1000', '1000', '1000', '1000'], 'every uid is 1000');
    assert.deepEqual(out.gid?.split(/\s+/), ['1000', '1000', '1000', '1000']);
    for (const set of ['capEff', 'capPrm', 'capBnd'])
      assert.equal(out[set], '0000000000000000', `${set}: no capabilities`);
    assert.equal(out.noNewPrivs, '1', 'allowPrivilegeEscalation: false');
    assert.equal(out.seccomp, '2', 'a seccomp filter (RuntimeDefault)');
    assert.equal(out.root, 'EROFS', 'the root filesystem is read-only');
    assert.equal(out.etc, 'EROFS');
    assert.equal(out.tmp, 'ok', '/tmp is writable');
    assert.equal(out.data, 'ok', 'the data volume is writable');
  });

  it('the API server accepts everything the chart renders with every option on, as a Deployment and as a StatefulSet (server-side dry run)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'k8s-dry-run-'));
    for (const [name, extra] of [
      ['deployment', []],
      ['statefulset', ['--set', 'persistence.enabled=true', '--set', 'deadLetter.existingClaim=']],
    ] as const) {
      const rendered = await helm(
        'template',
        RELEASE,
        path.join(REPO_ROOT, 'helm'),
        '--namespace',
        NAMESPACE,
        '--kube-version',
        '1.34.4',
        '-f',
        path.join(REPO_ROOT, 'helm/ci/all-on-values.yaml'),
        // The Prometheus Operator's CRDs (ServiceMonitor, PrometheusRule) are not installed here.
        '--set',
        'serviceMonitor.enabled=false',
        '--set',
        'alerts.enabled=false',
        ...extra,
      );
      const file = path.join(dir, `${name}.yaml`);
      writeFileSync(file, rendered);
      const out = await kubectl('apply', '--dry-run=server', '--namespace', NAMESPACE, '-f', file);
      for (const kind of [
        'configmap',
        'secret',
        'service',
        'serviceaccount',
        'poddisruptionbudget',
        'horizontalpodautoscaler',
        'ingress',
        'networkpolicy',
        name,
      ]) {
        assert.match(out, new RegExp(`^${kind}[./].* \\(server dry run\\)$`, 'm'), `${kind} accepted (${name})`);
      }
    }
  });

  it('the egress guard refuses what a pod sends outside the lab (the instance-metadata address)', async () => {
    const [pod] = await readyPods(NAMESPACE, 2);
    assert.ok(pod);
    const script = `
      const s = require('node:net').connect({ host: '169.254.169.254', port: 80, timeout: 5000 });
      s.on('connect', () => { console.log('connected'); s.destroy(); });
      s.on('timeout', () => { console.log('timeout'); s.destroy(); });
      s.on('error', (e) => console.log(e.code));`;
    const out = (await kubectl('-n', NAMESPACE, 'exec', pod.name, '--', 'node', '-e', script)).trim();
    assert.equal(
      out,
      'ECONNREFUSED',
      'rejected by the guard at once, not sent out (a timeout would mean dropped elsewhere)',
    );
    const workload = JSON.parse(await kubectl('-n', NAMESPACE, 'get', 'statefulset', FULLNAME, '-o', 'json')) as {
      status: { readyReplicas: number };
    };
    assert.equal(workload.status.readyReplicas, 2);
  });
});
