import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ENVIRONMENT, loadConfig } from '../../../src/config/index.js';
import { tempDir } from '../../support/service.js';
import {
  ALL_ON_VALUES,
  CHART_DIR,
  POD_NAME,
  deploymentSpec,
  helmTemplate,
  workload,
  ofKind,
  one,
  podEnvironment,
  render,
  renderNotes,
  rendered,
  run,
  selects,
  serviceContainer,
  tool,
  type Container,
  type DeploymentSpec,
  type Manifest,
  type PodSpec,
} from '../../support/chart.js';

const QUEUE = ['--set', 'config.sqsQueueUrl=https://sqs.us-east-1.amazonaws.com/123456789012/invoices'];
const PERSISTENT = [...QUEUE, '--set', 'persistence.enabled=true'];
/** Persistence off: the user's setting for a Deployment with an emptyDir. */
const EPHEMERAL = [...QUEUE, '--set', 'persistence.enabled=false'];

interface ClaimTemplate {
  metadata: { name: string };
  spec: { accessModes: string[]; storageClassName?: string; resources: { requests: { storage: string } } };
}
interface StatefulSetSpec extends DeploymentSpec {
  serviceName: string;
  podManagementPolicy: string;
  updateStrategy: { type: string };
  volumeClaimTemplates: ClaimTemplate[];
  persistentVolumeClaimRetentionPolicy: { whenDeleted: string; whenScaled: string };
}

const statefulSet = (manifests: readonly Manifest[]): StatefulSetSpec => one(manifests, 'StatefulSet').spec as StatefulSetSpec;

describe('helm chart: extension points', () => {
  it('extraEnv, extraEnvFrom, extraVolumes and extraVolumeMounts land after the chart’s own', () => {
    const manifests = render(['-f', ALL_ON_VALUES]);
    const container = serviceContainer(manifests);
    assert.deepEqual(container.envFrom?.slice(1), [{ secretRef: { name: 'sqs-static-keys' } }]);
    assert.ok(container.envFrom?.[0]?.configMapRef, 'the chart’s ConfigMap comes first, so extraEnvFrom keys win');
    const env = container.env ?? [];
    assert.deepEqual(env.at(-1), { name: 'NODE_EXTRA_CA_CERTS', value: '/etc/ssl/private-ca/ca.crt' });
    assert.deepEqual(container.volumeMounts?.at(-1), { name: 'private-ca', mountPath: '/etc/ssl/private-ca', readOnly: true });
    const pod = deploymentSpec(manifests).template.spec;
    assert.deepEqual(pod.volumes?.at(-1), { name: 'private-ca', configMap: { name: 'private-ca' } });

    const plain = serviceContainer(render());
    assert.equal(plain.envFrom?.length, 1, 'nothing extra by default');
    assert.equal(plain.env?.some((v) => v.name === 'NODE_EXTRA_CA_CERTS'), false);
  });

  it('the schema refuses an extra volume named like the chart’s own, and envFrom entries of unknown shape', () => {
    for (const args of [
      ['--set', 'extraVolumes[0].name=data,extraVolumes[0].emptyDir.medium=Memory'],
      ['--set', 'extraVolumeMounts[0].name=x,extraVolumeMounts[0].mountPath=relative'],
      ['--set', 'extraEnvFrom[0].secret.name=keys'],
      ['--set', 'extraEnv[0].value=no-name'],
    ]) {
      const result = helmTemplate(args);
      assert.notEqual(result.status, 0, `accepted ${args.join(' ')}`);
      assert.match(result.stderr, /values don't meet the specifications of the schema/);
    }
  });

  it('podAnnotations and podLabels reach the pod template, not the selector', () => {
    const spec = deploymentSpec(render(['-f', ALL_ON_VALUES]));
    assert.equal(spec.template.metadata.annotations?.['example.com/team'], 'billing');
    assert.equal(spec.template.metadata.labels['example.com/cost-centre'], 'billing');
    assert.equal(spec.selector.matchLabels['example.com/cost-centre'], undefined);
  });
});

describe('helm chart: journal', () => {
  it('sets JOURNAL_DIR in the pod’s own directory on the data volume; JOURNAL_MAX_BYTES only when given', () => {
    const env = podEnvironment(render(QUEUE));
    assert.equal(env.JOURNAL_DIR, `/var/lib/invoice-webhook/${POD_NAME}/journal`);
    assert.equal(env.JOURNAL_MAX_BYTES, undefined);
    const allOn = podEnvironment(render(['-f', ALL_ON_VALUES]));
    assert.equal(allOn.JOURNAL_DIR, `/data/dead-letter/${POD_NAME}/journal`);
    assert.equal(allOn.JOURNAL_MAX_BYTES, '536870912');
    const off = podEnvironment(render([...QUEUE, '--set', 'journal.enabled=false,journal.maxBytes=70000']));
    assert.equal(off.JOURNAL_DIR, undefined);
    assert.equal(off.JOURNAL_MAX_BYTES, undefined);
  });

  it('the service starts with those variables, whether or not it has the journal yet', () => {
    const env = podEnvironment(render([...QUEUE, '--set', 'journal.maxBytes=1000000']));
    assert.ok(env.JOURNAL_DIR && env.JOURNAL_MAX_BYTES);
    const config = loadConfig({ env }) as unknown as Record<string, unknown>;
    if (Object.hasOwn(ENVIRONMENT, 'JOURNAL_DIR')) {
      // The journal exists: it reads the directory the chart gives it.
      assert.ok(Object.values(config).includes(env.JOURNAL_DIR), 'JOURNAL_DIR is read');
    } else {
      // Before the journal: the loader reads only the names it knows, so the variables change nothing.
      const without = { ...env };
      delete without.JOURNAL_DIR;
      delete without.JOURNAL_MAX_BYTES;
      assert.deepEqual(config, loadConfig({ env: without }));
    }
  });
});

describe('helm chart: persistence', () => {
  it('on by default: a StatefulSet where each pod owns its claim; off: a Deployment whose data volume is an emptyDir', () => {
    assert.equal(workload(render(QUEUE)).kind, 'StatefulSet', 'persistence is on by default');
    const off = render(EPHEMERAL);
    assert.deepEqual(ofKind(off, 'StatefulSet'), []);
    const offPod = (one(off, 'Deployment').spec as DeploymentSpec).template.spec;
    assert.ok(offPod.volumes?.find((v) => v.name === 'data')?.emptyDir);

    const on = render([...PERSISTENT, '--set', 'persistence.storageClassName=local-lab,persistence.size=3Gi']);
    assert.deepEqual(ofKind(on, 'Deployment'), []);
    const spec = statefulSet(on);
    const service = one(on, 'Service');
    assert.equal(spec.serviceName, service.metadata.name);
    assert.equal(spec.updateStrategy.type, 'RollingUpdate');
    assert.deepEqual(spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' });
    assert.equal(spec.volumeClaimTemplates.length, 1);
    const claim = spec.volumeClaimTemplates[0] as ClaimTemplate;
    assert.equal(claim.metadata.name, 'data');
    assert.deepEqual(claim.spec.accessModes, ['ReadWriteOnce']);
    assert.equal(claim.spec.storageClassName, 'local-lab');
    assert.equal(claim.spec.resources.requests.storage, '3Gi');
    const pod: PodSpec = spec.template.spec;
    assert.equal(pod.volumes?.some((v) => v.name === 'data'), false, 'the claim template provides the data volume');
    const container = pod.containers[0] as Container;
    assert.deepEqual(
      container.volumeMounts?.find((m) => m.name === 'data'),
      { name: 'data', mountPath: '/var/lib/invoice-webhook' },
    );
    const env = container.env ?? [];
    assert.equal(env.find((v) => v.name === 'DEAD_LETTER_PATH')?.value, '/var/lib/invoice-webhook/$(POD_NAME)/dead-letter.jsonl');
    assert.equal(env.find((v) => v.name === 'JOURNAL_DIR')?.value, '/var/lib/invoice-webhook/$(POD_NAME)/journal');
  });

  it('storageClassName null leaves the cluster default; "" asks for no class', () => {
    const claim = (args: string[]): ClaimTemplate => statefulSet(render([...PERSISTENT, ...args])).volumeClaimTemplates[0] as ClaimTemplate;
    assert.equal(Object.hasOwn(claim([]).spec, 'storageClassName'), false);
    assert.equal(claim(['--set-string', 'persistence.storageClassName=']).spec.storageClassName, '');
  });

  it('the HPA and the rollout hint follow the workload kind', () => {
    const manifests = render([...PERSISTENT, '--set', 'autoscaling.enabled=true']);
    const hpa = one(manifests, 'HorizontalPodAutoscaler').spec as { scaleTargetRef: { kind: string; name: string } };
    assert.deepEqual(hpa.scaleTargetRef.kind, 'StatefulSet');
    assert.equal(hpa.scaleTargetRef.name, one(manifests, 'StatefulSet').metadata.name);
    assert.equal(statefulSet(manifests).replicas, undefined);
  });

  it('refuses persistence together with a shared existingClaim', () => {
    const result = helmTemplate([...PERSISTENT, '--set', 'deadLetter.existingClaim=shared']);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /persistence\.enabled gives every pod its own claim/);
  });

  it('the StatefulSet passes kubernetes-validate --strict for Kubernetes 1.30 and 1.33', () => {
    const file = path.join(tempDir('helm-sts-'), 'sts.yaml');
    writeFileSync(file, rendered([...PERSISTENT, '--set', 'persistence.storageClassName=gp3']).text);
    const result = run(tool('kubernetes-validate'), ['--strict', '-k', '1.30', '-k', '1.33', file]);
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /passed .*statefulset\/iw-invoice-webhook against version 1\.33/i);
  });
});

describe('helm chart: hand-off of shutdown leftovers', () => {
  const handoffSecrets = (m: readonly Manifest[]): Manifest[] =>
    ofKind(m, 'Secret').filter((s) => s.metadata.name.endsWith('-handoff'));

  it('by default a chart-made Secret holds the token; the pods read it and reach their peers through the Service', () => {
    const manifests = render(QUEUE);
    const secret = one(handoffSecrets(manifests), 'Secret');
    const token = Buffer.from(secret.data?.HANDOFF_TOKEN ?? '', 'base64').toString();
    assert.match(token, /^[A-Za-z0-9]{48}$/);
    const env = serviceContainer(manifests).env ?? [];
    assert.deepEqual(env.find((v) => v.name === 'HANDOFF_TOKEN')?.valueFrom, {
      secretKeyRef: { name: secret.metadata.name, key: 'HANDOFF_TOKEN' },
    });
    assert.equal(
      env.find((v) => v.name === 'HANDOFF_URL')?.value,
      'http://$(IW_INVOICE_WEBHOOK_SERVICE_HOST):$(IW_INVOICE_WEBHOOK_SERVICE_PORT_HTTP)',
      'service-link variables of the chart’s own Service (its port named http): no DNS needed',
    );
    assert.equal(deploymentSpec(manifests).template.spec.enableServiceLinks, true);
    assert.equal(podEnvironment(manifests).HANDOFF_TIMEOUT_MS, '15000');
    // `lookup` keeps an installed token across upgrades; rendering alone has no cluster, so a fresh one each time.
    assert.match(readFileSync(path.join(CHART_DIR, 'templates', 'handoff-secret.yaml'), 'utf8'), /lookup "v1" "Secret"/);
  });

  it('an existing Secret replaces the chart-made one; off (or journal off) sets no hand-off at all', () => {
    const existing = render([...QUEUE, '--set', 'handoff.existingSecret=mine,handoff.existingSecretKey=t']);
    assert.deepEqual(handoffSecrets(existing), []);
    assert.deepEqual(serviceContainer(existing).env?.find((v) => v.name === 'HANDOFF_TOKEN')?.valueFrom, {
      secretKeyRef: { name: 'mine', key: 't' },
    });
    for (const off of ['handoff.enabled=false', 'journal.enabled=false']) {
      const manifests = render([...QUEUE, '--set', off]);
      assert.deepEqual(handoffSecrets(manifests), [], off);
      const env = podEnvironment(manifests);
      for (const name of ['HANDOFF_URL', 'HANDOFF_TOKEN', 'HANDOFF_TIMEOUT_MS']) assert.equal(env[name], undefined, `${off}: ${name}`);
    }
  });
});

describe('helm chart: NOTES.txt', () => {
  it('names the workload kind it installed and where the data volume lives, for both kinds', () => {
    const sts = renderNotes([...QUEUE, '--set', 'webhookSecrets.existingSecret=hooks']);
    assert.match(sts, /rollout status statefulset\/iw-invoice-webhook/);
    assert.match(sts, /rollout restart statefulset\/iw-invoice-webhook/);
    assert.doesNotMatch(sts, /deployment\//);
    assert.match(sts, /PersistentVolumeClaim \(data-iw-invoice-webhook-<n>, StatefulSet\)/);
    assert.match(sts, /handed to a Ready peer/);
    const deploy = renderNotes([...EPHEMERAL, '--set', 'webhookSecrets.existingSecret=hooks']);
    assert.match(deploy, /rollout status deployment\/iw-invoice-webhook/);
    assert.match(deploy, /rollout restart deployment\/iw-invoice-webhook/);
    assert.doesNotMatch(deploy, /statefulset\//);
    assert.match(deploy, /on an emptyDir: LOST when the pod is deleted/);
  });
});

describe('helm chart: helm test hook', () => {
  it('is a hook pod of the service’s own image, hardened like the service, checking through the Service', () => {
    const manifests = render(['-f', ALL_ON_VALUES]);
    const pods = ofKind(manifests, 'Pod');
    assert.equal(pods.length, 1);
    const pod = pods[0] as Manifest;
    assert.equal(pod.metadata.annotations?.['helm.sh/hook'], 'test');
    const spec = pod.spec as PodSpec & { restartPolicy: string };
    assert.equal(spec.restartPolicy, 'Never');
    assert.equal(spec.automountServiceAccountToken, false);
    const container = spec.containers[0] as Container & { command: string[] };
    assert.equal(container.image, serviceContainer(manifests).image, 'no image beyond the service’s own');
    assert.equal(container.command[0], 'node');
    const script = container.command[2] ?? '';
    assert.match(script, /_SERVICE_HOST/, 'finds the Service without cluster DNS');
    assert.match(script, /\/readyz/);
    assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
    assert.deepEqual(container.securityContext?.capabilities, { drop: ['ALL'] });
    const service = one(manifests, 'Service');
    const serviceSelector = (service.spec as { selector: Record<string, string> }).selector;
    assert.equal(selects(serviceSelector, pod.metadata.labels), false, 'the Service does not route to the test pod');
    const pdbSelector = (one(manifests, 'PodDisruptionBudget').spec as { selector: { matchLabels: Record<string, string> } })
      .selector.matchLabels;
    assert.equal(selects(pdbSelector, pod.metadata.labels), false, 'the PDB does not count it');
    const serviceName = service.metadata.name;
    assert.ok((container.env ?? []).some((v) => v.name === 'SERVICE_NAME' && v.value === serviceName));
    assert.deepEqual(ofKind(render([...QUEUE, '--set', 'helmTest.enabled=false']), 'Pod'), []);
  });
});
