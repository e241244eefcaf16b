import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isMap, isScalar, parse, parseDocument, stringify, type YAMLMap } from 'yaml';
import { ConfigError, ENVIRONMENT, SECRET_SETTINGS, loadConfig, type Config } from '../../../src/config/index.js';
import { WEBHOOK_PATH } from '../../../src/intake/app.js';
import { InMemoryBatchSender } from '../../../src/sender/index.js';
import { REPO_ROOT, startService, tempDir } from '../../support/service.js';
import {
  ALL_ON_VALUES,
  CHART_DIR,
  KUBE_VERSION,
  NAMESPACE,
  POD_NAME,
  SERVICE_IP,
  VALUE_SETS,
  deploymentSpec,
  helmTemplate,
  ofKind,
  one,
  podEnvironment,
  render,
  rendered,
  run,
  selects,
  serviceContainer,
  tool,
  workload,
  type Labels,
  type Manifest,
} from '../../support/chart.js';

type Values = Record<string, unknown>;

/** The ConfigMap of the service's settings (the other one, when enabled, holds the Grafana dashboard). */
function settingsConfigMap(manifests: readonly Manifest[]): Manifest {
  return one(
    manifests.filter((m) => !m.metadata.name.endsWith('-dashboard')),
    'ConfigMap',
  );
}

/** Prometheus Operator custom resources: kubernetes-validate has no schema for them. */
const OPERATOR_KINDS = ['ServiceMonitor', 'PrometheusRule'];

const readYaml = (file: string): Values => parse(readFileSync(file, 'utf8')) as Values;
const defaultValues = readYaml(path.join(CHART_DIR, 'values.yaml'));
const allOnValues = readYaml(ALL_ON_VALUES);
const serviceDefaults = JSON.parse(readFileSync(path.join(REPO_ROOT, 'config', 'default.json'), 'utf8')) as Values;
const settingToEnv = new Map<string, string>(Object.entries(ENVIRONMENT).map(([env, setting]) => [setting, env]));
const configOf = (values: Values): Values => values.config as Values;

/** A variable the service reads, or a standard OpenTelemetry / AWS SDK one. */
function serviceReads(name: string): boolean {
  return (
    Object.hasOwn(ENVIRONMENT, name) ||
    /^OTEL_[A-Z0-9_]+$/.test(name) ||
    /^AWS_[A-Z0-9_]+$/.test(name)
  );
}

describe('helm chart: lint and Kubernetes schemas', () => {
  for (const set of VALUE_SETS) {
    it(`helm lint --strict passes with the ${set.name}`, () => {
      const result = run(tool('helm'), ['lint', '--strict', '--kube-version', KUBE_VERSION, CHART_DIR, ...set.args]);
      assert.equal(result.status, 0, `helm lint failed:\n${result.stdout}\n${result.stderr}`);
      assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });
  }

  it('every rendered resource passes kubernetes-validate --strict for Kubernetes 1.30 and 1.33; only the Prometheus Operator CRDs have no schema', () => {
    const dir = tempDir('helm-render-');
    const files = VALUE_SETS.map((set, i) => {
      const file = path.join(dir, `values-${i}.yaml`);
      writeFileSync(file, rendered(set.args).text);
      return { file, manifests: render(set.args) };
    });
    // 1.30 is the chart's kubeVersion floor; 1.33 matches --kube-version. kubernetes-validate 1.34.0 ships schemas up to 1.33.
    const versions = ['1.30', '1.33'];
    const result = run(tool('kubernetes-validate'), [
      '--strict',
      ...versions.flatMap((v) => ['-k', v]),
      ...files.map((f) => f.file),
    ]);
    const lines = result.stdout.split('\n').filter(Boolean);
    assert.equal(result.status, 0, `kubernetes-validate failed:\n${result.stdout}\n${result.stderr}`);
    assert.deepEqual(
      lines.filter((l) => !l.startsWith('INFO ') && !l.startsWith('WARN ')),
      [],
      'kubernetes-validate reported errors',
    );
    for (const { file, manifests } of files) {
      for (const version of versions) {
        // A resource without a schema only gets a WARN (exit 0), so insist on a "passed" line for every non-CRD one.
        const passed = lines
          .filter((l) => l.startsWith(`INFO ${file} passed`) && l.endsWith(`against version ${version}`))
          .map((l) => /for resource (\S+)/.exec(l)?.[1]);
        const expected = manifests
          .filter((m) => !OPERATOR_KINDS.includes(m.kind))
          .map((m) => `${m.kind.toLowerCase()}/${m.metadata.name}`);
        assert.deepEqual(passed.sort(), expected.sort(), `resources validated against ${version} for ${file}`);
        const warnings = lines.filter((l) => l.startsWith(`WARN ${file}`) && l.endsWith(`version ${version}`));
        const operatorResources = manifests.filter((m) => OPERATOR_KINDS.includes(m.kind)).length;
        assert.equal(warnings.length, operatorResources, `schema warnings for ${file}: ${warnings.join('\n')}`);
        for (const warning of warnings) {
          // Their shapes are checked in this file (ServiceMonitor) and in alerts.test.ts (PrometheusRule).
          assert.match(warning, /kind (ServiceMonitor|PrometheusRule) with api version monitoring\.coreos\.com\/v1 /);
        }
      }
    }
  });

  it('kubernetes-validate --strict does reject a Deployment with an unknown field (the check above is live)', () => {
    const deployment = structuredClone(workload(render()));
    const container = (deployment.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template
      .spec.containers[0];
    assert.ok(container);
    container.imagePullPolicyy = 'Always';
    const file = path.join(tempDir('helm-broken-'), 'broken.yaml');
    writeFileSync(file, stringify(deployment));
    const result = run(tool('kubernetes-validate'), ['--strict', '-k', '1.33', file]);
    assert.notEqual(result.status, 0, result.stdout);
    assert.match(result.stdout, /ERROR .*imagePullPolicyy/);
  });

  it('the ServiceMonitor scrapes /metrics on the Service port named http, in the release namespace only', () => {
    const manifests = render(['-f', ALL_ON_VALUES]);
    const monitor = one(manifests, 'ServiceMonitor');
    const service = one(manifests, 'Service');
    assert.equal(monitor.apiVersion, 'monitoring.coreos.com/v1');
    const spec = monitor.spec as {
      selector: { matchLabels: Labels };
      namespaceSelector: { matchNames: string[] };
      endpoints: Record<string, unknown>[];
    };
    assert.deepEqual(Object.keys(spec).sort(), ['endpoints', 'namespaceSelector', 'selector']);
    assert.ok(selects(spec.selector.matchLabels, service.metadata.labels), 'ServiceMonitor selects the Service');
    assert.deepEqual(spec.namespaceSelector, { matchNames: [NAMESPACE] });
    const servicePorts = (service.spec as { ports: { name: string }[] }).ports.map((p) => p.name);
    assert.equal(spec.endpoints.length, 1);
    for (const endpoint of spec.endpoints) {
      assert.deepEqual(Object.keys(endpoint).sort(), ['interval', 'path', 'port', 'scrapeTimeout']);
      assert.ok(servicePorts.includes(endpoint.port as string), `endpoint port ${String(endpoint.port)} is a Service port`);
      assert.equal(endpoint.path, '/metrics');
      const seconds = (d: unknown): number => Number(/^(\d+)s$/.exec(String(d))?.[1]);
      assert.ok(seconds(endpoint.scrapeTimeout) < seconds(endpoint.interval), 'scrapeTimeout is shorter than interval');
    }
    const wanted = (allOnValues.serviceMonitor as { labels: Labels }).labels;
    assert.ok(selects(wanted, monitor.metadata.labels), 'the labels Prometheus selects by are on the ServiceMonitor');
    assert.deepEqual(ofKind(render(), 'ServiceMonitor'), [], 'off by default');
  });
});

describe('helm chart: what schemas cannot see', () => {
  for (const set of VALUE_SETS) {
    it(`the workload (StatefulSet or Deployment), Service, PDB, topology spread and HPA all point at the same pods (${set.name})`, () => {
      const manifests = render(set.args);
      const deployment = workload(manifests);
      const spec = deploymentSpec(manifests);
      const podLabels = spec.template.metadata.labels;
      assert.ok(selects(spec.selector.matchLabels, podLabels), 'Deployment selector matches its pod labels');
      // Selectors are immutable: labels that change on upgrade must stay out of them.
      for (const key of Object.keys(spec.selector.matchLabels)) {
        assert.ok(!['app.kubernetes.io/version', 'helm.sh/chart'].includes(key), `selector holds ${key}`);
      }
      const service = one(manifests, 'Service');
      assert.deepEqual((service.spec as { selector: Labels }).selector, spec.selector.matchLabels, 'Service selector');
      const pdb = one(manifests, 'PodDisruptionBudget');
      assert.deepEqual((pdb.spec as { selector: { matchLabels: Labels } }).selector.matchLabels, spec.selector.matchLabels);
      const constraints = spec.template.spec.topologySpreadConstraints ?? [];
      assert.deepEqual(
        constraints.map((c) => c.topologyKey),
        ['topology.kubernetes.io/zone', 'kubernetes.io/hostname'],
      );
      for (const c of constraints) assert.ok(selects(c.labelSelector?.matchLabels, podLabels), 'spread counts our pods');
      for (const hpa of ofKind(manifests, 'HorizontalPodAutoscaler')) {
        assert.deepEqual((hpa.spec as { scaleTargetRef: unknown }).scaleTargetRef, {
          apiVersion: 'apps/v1',
          kind: deployment.kind,
          name: deployment.metadata.name,
        });
      }
      for (const monitor of ofKind(manifests, 'ServiceMonitor')) {
        assert.ok(selects((monitor.spec as { selector: { matchLabels: Labels } }).selector.matchLabels, service.metadata.labels));
      }
      for (const account of ofKind(manifests, 'ServiceAccount')) {
        assert.equal(spec.template.spec.serviceAccountName, account.metadata.name, 'pods use the chart ServiceAccount');
      }
    });
  }

  it('the probe paths and the scrape path are routes the service serves: GET answers 200', async () => {
    const paths = new Set<string>();
    for (const set of VALUE_SETS) {
      const manifests = render(set.args);
      const container = serviceContainer(manifests);
      const probes = { startup: container.startupProbe, liveness: container.livenessProbe, readiness: container.readinessProbe };
      for (const [kind, probe] of Object.entries(probes)) {
        assert.ok(probe?.httpGet, `${kind} probe is an HTTP GET (${set.name})`);
        assert.equal(probe.httpGet.port, 'http');
        paths.add(probe.httpGet.path);
      }
      // Liveness must not follow readiness: /readyz is 503 while draining or above high water, and a
      // liveness failure there would restart a pod that is doing exactly what it should.
      assert.notEqual(container.livenessProbe?.httpGet?.path, container.readinessProbe?.httpGet?.path);
      // Default: the buffer check is left out (a full pod answers 503 + Retry-After itself); bufferAware restores it.
      const bufferAware = set.args.length > 0;
      assert.equal(container.readinessProbe?.httpGet?.path, bufferAware ? '/readyz' : '/readyz?exclude=buffer');
      const http = container.ports?.find((p) => p.name === 'http');
      assert.equal(String(http?.containerPort), podEnvironment(manifests).PORT, 'named port http is where the service listens');
      for (const monitor of ofKind(manifests, 'ServiceMonitor')) {
        for (const endpoint of (monitor.spec as { endpoints: { path: string }[] }).endpoints) paths.add(endpoint.path);
      }
    }
    assert.deepEqual([...paths].sort(), ['/livez', '/metrics', '/readyz', '/readyz?exclude=buffer']);
    const svc = await startService({ sqsQueueUrl: 'http://127.0.0.1:1/queue/x' }, { sender: new InMemoryBatchSender() });
    try {
      for (const route of paths) {
        const res = await fetch(`${svc.url}${route}`);
        await res.arrayBuffer();
        assert.equal(res.status, 200, `GET ${route}`);
      }
    } finally {
      await svc.stop();
    }
  });

  for (const set of VALUE_SETS) {
    it(`terminationGracePeriodSeconds is longer than the preStop pause plus SHUTDOWN_TIMEOUT_MS plus one SQS call (${set.name})`, () => {
      const manifests = render(set.args);
      const pod = deploymentSpec(manifests).template.spec;
      const pause = serviceContainer(manifests).lifecycle?.preStop?.sleep?.seconds;
      assert.equal(typeof pause, 'number', 'a preStop sleep is configured');
      const env = podEnvironment(manifests);
      // After the budget, a call already on the wire may still take one request timeout.
      const drainMs =
        Number(env.SHUTDOWN_TIMEOUT_MS ?? serviceDefaults.shutdownTimeoutMs) +
        Number(env.SQS_REQUEST_TIMEOUT_MS ?? serviceDefaults.sqsRequestTimeoutMs);
      const grace = pod.terminationGracePeriodSeconds ?? 30;
      assert.ok(
        grace > (pause ?? 0) + drainMs / 1000,
        `grace ${grace}s must exceed pause ${pause}s + drain ${drainMs / 1000}s`,
      );
    });
  }

  it('rendering fails when an explicit grace period would cut the drain or the hand-off short', () => {
    // pause 10 + drain 20 s + one SQS request timeout 5 s + hand-off 15 s = 50
    const tooShort = helmTemplate(['--set', 'shutdown.terminationGracePeriodSeconds=50']);
    assert.notEqual(tooShort.status, 0);
    assert.match(tooShort.stderr, /terminationGracePeriodSeconds \(50\) must be longer than .* = 50/);
    const enough = render(['--set', 'shutdown.terminationGracePeriodSeconds=51']);
    assert.equal(deploymentSpec(enough).template.spec.terminationGracePeriodSeconds, 51);
    assert.equal(deploymentSpec(render()).template.spec.terminationGracePeriodSeconds, 10 + 40 + 10, 'the default');
    const longerDrain = render(['--set', 'config.shutdownTimeoutMs=45001']);
    assert.equal(deploymentSpec(longerDrain).template.spec.terminationGracePeriodSeconds, 10 + 66 + 10);
    // Without the hand-off (or the journal it reads) its budget is not counted.
    for (const off of ['handoff.enabled=false', 'journal.enabled=false']) {
      assert.equal(deploymentSpec(render(['--set', off])).template.spec.terminationGracePeriodSeconds, 10 + 25 + 10, off);
    }
  });

  for (const set of VALUE_SETS) {
    it(`every environment variable the chart sets is one the service reads (${set.name})`, () => {
      const manifests = render(set.args);
      const container = serviceContainer(manifests);
      const names = Object.keys(podEnvironment(manifests));
      // extraEnv is the user's own, for whatever reads it (the AWS SDK, Node, ...).
      const extra = ((set.args.length > 0 ? allOnValues : defaultValues).extraEnv as { name: string }[]).map((v) => v.name);
      for (const name of names) {
        if (serviceReads(name) || extra.includes(name)) continue;
        // The only exception: a downward-API helper the kubelet expands into other values.
        const variable = container.env?.find((v) => v.name === name);
        assert.ok(variable?.valueFrom?.fieldRef, `${name} is neither read by the service nor a downward-API helper`);
        assert.ok(
          container.env?.some((v) => v.value?.includes(`$(${name})`)),
          `${name} is a helper but no other variable uses it`,
        );
      }
      const configMap = settingsConfigMap(manifests);
      for (const key of Object.keys(configMap.data ?? {})) assert.ok(Object.hasOwn(ENVIRONMENT, key), `ConfigMap key ${key}`);
      for (const setting of SECRET_SETTINGS) {
        assert.ok(!Object.hasOwn(configMap.data ?? {}, settingToEnv.get(setting) ?? ''), `${setting} kept out of the ConfigMap`);
      }
    });
  }

  it('with the all-on values the chart sets every variable the service reads', () => {
    const env = podEnvironment(render(['-f', ALL_ON_VALUES]));
    // A FIFO id's _FIELD gives way to its _POINTER (the service refuses both): all-on sets the pointers.
    const replaced = ['SQS_FIFO_GROUP_ID_FIELD', 'SQS_FIFO_DEDUPLICATION_ID_FIELD'];
    assert.deepEqual(
      Object.keys(ENVIRONMENT).filter((name) => !Object.hasOwn(env, name) && !replaced.includes(name)),
      [],
      'settings the chart cannot set',
    );
    assert.deepEqual(
      replaced.filter((name) => Object.hasOwn(env, name)),
      [],
      'a _FIELD passed on beside its _POINTER',
    );
    const fields = podEnvironment(render(['--set', 'config.fifoGroupIdField=currency', '--set', 'config.fifoDeduplicationIdField=number']));
    assert.equal(fields.SQS_FIFO_GROUP_ID_FIELD, 'currency');
    assert.equal(fields.SQS_FIFO_DEDUPLICATION_ID_FIELD, 'number');
  });

  it("each config value becomes the variable of the service's setting of the same name", () => {
    const configMap = settingsConfigMap(render(['-f', ALL_ON_VALUES]));
    for (const [key, value] of Object.entries(configOf(allOnValues))) {
      const env = settingToEnv.get(key);
      assert.ok(env, `config.${key} is not a setting in src/config/schema.ts`);
      assert.equal(configMap.data?.[env], String(value), `config.${key} -> ${env}`);
      // Otherwise a swapped pair of variables with equal values would go unnoticed.
      assert.notDeepEqual(value, configOf(defaultValues)[key], `all-on config.${key} should differ from the default`);
    }
  });

  it("the chart's config defaults are the service's own (config/default.json)", () => {
    const config = configOf(defaultValues);
    for (const [key, value] of Object.entries(config)) {
      assert.deepEqual(value, serviceDefaults[key] ?? '', `config.${key}`);
    }
    // Settings the chart owns instead of passing through: the port, the address, the secrets, the volume paths.
    const owned = [
      ...['port', 'host', 'webhookSecrets', 'dedupeStore', 'deadLetterPath', 'journalDir', 'journalMaxBytes'],
      // The pod's own facts and the hand-off, set from the workload and the handoff values.
      ...['journalVolume', 'podName', 'handoffUrl', 'handoffToken', 'handoffTimeoutMs'],
    ];
    assert.deepEqual(
      Object.keys(serviceDefaults).filter((key) => !Object.hasOwn(config, key) && !owned.includes(key)),
      [],
      'service settings missing from values.config',
    );
    assert.equal(defaultValues.containerPort, serviceDefaults.port);
  });

  it("the rendered settings pass the service's own configuration check", () => {
    // DEDUPE_STORE comes from a Secret the chart does not make: stand in a URL of the shape it would hold.
    const allOnEnv = {
      ...podEnvironment(render(['-f', ALL_ON_VALUES])),
      DEDUPE_STORE: 'redis://redis.invoices.svc:6379',
    };
    const allOn = loadConfig({ env: allOnEnv });
    for (const [key, value] of Object.entries(configOf(allOnValues))) {
      assert.deepEqual(allOn[key as keyof Config], value, `config.${key}`);
    }
    assert.equal(allOn.port, 8080);
    assert.equal(allOn.deadLetterPath, `/data/dead-letter/${POD_NAME}/dead-letter.jsonl`);
    assert.equal(allOn.webhookSecrets, 'whsec_czNjcmV0LW9uZQ==,whsec_czNjcmV0LXR3bw==');

    // Defaults leave the queue URL empty: the pods refuse to start and name the setting.
    assert.throws(
      () => loadConfig({ env: podEnvironment(render()) }),
      (error: unknown) => error instanceof ConfigError && error.setting === 'SQS_QUEUE_URL',
    );
    const queue = 'https://sqs.us-east-1.amazonaws.com/123456789012/invoices';
    const env = podEnvironment(render(['--set', `config.sqsQueueUrl=${queue}`]));
    const deadLetterPath = `/var/lib/invoice-webhook/${POD_NAME}/dead-letter.jsonl`;
    assert.equal(env.DEAD_LETTER_PATH, deadLetterPath);
    // journal.enabled is on by default: the journal lives beside the dead letters, in the pod's own directory.
    const journalDir = `/var/lib/invoice-webhook/${POD_NAME}/journal`;
    assert.equal(env.JOURNAL_DIR, journalDir);
    // The pod's facts: its name, a volume that outlives it (persistence is on), and the hand-off to its peers
    // through the Service, with the token of the chart-made Secret.
    assert.equal(env.POD_NAME, POD_NAME);
    assert.equal(env.JOURNAL_VOLUME, 'persistent');
    assert.equal(env.HANDOFF_URL, `http://${SERVICE_IP}:80`, 'expanded from the kubelet’s service links, no DNS');
    const handoffSecret = ofKind(render(['--set', `config.sqsQueueUrl=${queue}`]), 'Secret').find((s) =>
      s.metadata.name.endsWith('-handoff'),
    );
    assert.equal(env.HANDOFF_TOKEN, Buffer.from(handoffSecret?.data?.HANDOFF_TOKEN ?? '', 'base64').toString());
    assert.ok((env.HANDOFF_TOKEN ?? '').length >= 32, 'a long random token');
    assert.deepEqual(
      loadConfig({ env }),
      loadConfig({
        env: {
          SQS_QUEUE_URL: queue,
          DEAD_LETTER_PATH: deadLetterPath,
          JOURNAL_DIR: journalDir,
          POD_NAME,
          JOURNAL_VOLUME: 'persistent',
          HANDOFF_URL: `http://${SERVICE_IP}:80`,
          HANDOFF_TOKEN: env.HANDOFF_TOKEN,
        },
      }),
      'with default values the service runs on its own defaults, plus the pod’s facts',
    );
    const ephemeral = podEnvironment(render(['--set', `config.sqsQueueUrl=${queue}`, '--set', 'persistence.enabled=false']));
    assert.equal(ephemeral.JOURNAL_VOLUME, 'ephemeral', 'an emptyDir does not outlive the pod');
  });

  const badValues: { what: string; args: string[]; error: RegExp }[] = [
    { what: 'a negative replica count', args: ['--set', 'replicaCount=-1'], error: /\/replicaCount'?: minimum/ },
    { what: 'a string where a number belongs', args: ['--set-string', 'replicaCount=3'], error: /\/replicaCount.*want integer/ },
    { what: 'a word for a numeric setting', args: ['--set', 'config.bufferCapacity=lots'], error: /\/config\/bufferCapacity/ },
    { what: 'a fractional port', args: ['--set', 'containerPort=80.5'], error: /\/containerPort/ },
    { what: 'more than 10 entries per batch', args: ['--set', 'config.batchMaxMessages=11'], error: /batchMaxMessages.*maximum/ },
    { what: 'an unknown ack mode', args: ['--set', 'config.ackMode=fast'], error: /\/config\/ackMode/ },
    { what: 'a misspelled setting', args: ['--set', 'config.bufferCapcity=5'], error: /'bufferCapcity' not allowed/ },
    { what: 'an unknown top-level value', args: ['--set', 'replicas=3'], error: /'replicas' not allowed/ },
    { what: 'a queue URL that is not http(s)', args: ['--set', 'config.sqsQueueUrl=sqs://q'], error: /sqsQueueUrl/ },
    { what: 'running as root', args: ['--set', 'podSecurityContext.runAsUser=0'], error: /runAsUser/ },
    { what: 'tracing on without an endpoint', args: ['--set', 'telemetry.enabled=true'], error: /otlpEndpoint/ },
    {
      what: 'a non-OTEL variable slipped in through telemetry.extraEnv',
      args: ['--set', 'telemetry.extraEnv.NODE_OPTIONS=--inspect'],
      error: /'NODE_OPTIONS' does not match pattern '\^OTEL_/,
    },
    { what: 'a role that is not an IAM role ARN', args: ['--set', 'serviceAccount.roleArn=my-role'], error: /roleArn/ },
    { what: 'a malformed memory quantity', args: ['--set', 'resources.limits.memory=lots'], error: /limits\/memory/ },
    { what: 'an unknown pull policy', args: ['--set', 'image.pullPolicy=Sometimes'], error: /pullPolicy/ },
    { what: 'a negative preStop pause', args: ['--set', 'shutdown.preStopSleepSeconds=-5'], error: /preStopSleepSeconds/ },
    { what: 'a journal budget under 64 KiB (the service refuses it)', args: ['--set', 'journal.maxBytes=65535'], error: /maxBytes.*minimum/ },
    { what: 'a negative hand-off budget', args: ['--set', 'handoff.timeoutMs=-1'], error: /timeoutMs/ },
  ];
  it('schema-accepted is service-accepted: every bound and enum value of the schema, rendered, passes the service’s own check', () => {
    type Bounds = { minimum?: number; maximum?: number; exclusiveMinimum?: number; enum?: unknown[]; type?: string | string[] };
    const schema = JSON.parse(readFileSync(path.join(CHART_DIR, 'values.schema.json'), 'utf8')) as {
      properties: Record<string, { properties?: Record<string, Bounds> } & Bounds>;
    };
    const cases: [string, unknown][] = [];
    const edges = (name: string, b: Bounds): void => {
      const integer = b.type === 'integer' || (Array.isArray(b.type) && b.type.includes('integer'));
      if (b.minimum !== undefined) cases.push([name, b.minimum]);
      if (b.maximum !== undefined) cases.push([name, b.maximum]);
      if (b.exclusiveMinimum !== undefined) cases.push([name, b.exclusiveMinimum + (integer ? 1 : 0.001)]);
      for (const value of b.enum ?? []) cases.push([name, value]);
    };
    for (const [key, b] of Object.entries(schema.properties.config?.properties ?? {})) edges(`config.${key}`, b);
    for (const [key, b] of Object.entries(schema.properties.journal?.properties ?? {})) edges(`journal.${key}`, b);
    for (const [key, b] of Object.entries(schema.properties.handoff?.properties ?? {})) edges(`handoff.${key}`, b);
    edges('containerPort', schema.properties.containerPort as Bounds);
    assert.ok(cases.length > 40, `${cases.length} boundary values`);
    const queue = ['--set', 'config.sqsQueueUrl=https://sqs.us-east-1.amazonaws.com/123456789012/invoices'];
    let accepted = 0;
    for (const [name, value] of cases) {
      const result = helmTemplate([...queue, '--set-json', `${name}=${JSON.stringify(value)}`]);
      if (result.status !== 0) {
        // The chart may refuse more than the schema (a cross-setting rule): then it says so at install.
        assert.doesNotMatch(result.stderr, /values don't meet the specifications of the schema/, `${name}=${String(value)}`);
        assert.match(result.stderr, /the service refuses to start otherwise|must be longer than/, `${name}=${String(value)}: ${result.stderr}`);
        continue;
      }
      const env = podEnvironment(render([...queue, '--set-json', `${name}=${JSON.stringify(value)}`]));
      assert.doesNotThrow(() => loadConfig({ env }), `${name}=${JSON.stringify(value)} renders, so the service must start with it`);
      accepted += 1;
    }
    assert.ok(accepted > cases.length * 0.8, `${accepted} of ${cases.length} rendered`);
  });

  for (const bad of badValues) {
    it(`values.schema.json rejects ${bad.what}`, () => {
      const result = helmTemplate(bad.args);
      assert.notEqual(result.status, 0, `helm template ${bad.args.join(' ')} rendered`);
      assert.match(result.stderr, /values don't meet the specifications of the schema/);
      assert.match(result.stderr, bad.error);
    });
  }

  const inconsistent: { what: string; args: string[]; error: RegExp }[] = [
    {
      what: 'a retry cap below the base',
      args: ['--set', 'config.retryBaseMs=500,config.retryMaxMs=100'],
      error: /retryMaxMs must be >= config.retryBaseMs/,
    },
    {
      what: 'an HPA whose minimum exceeds its maximum',
      args: ['--set', 'autoscaling.enabled=true,autoscaling.minReplicas=5,autoscaling.maxReplicas=3'],
      error: /minReplicas must not exceed/,
    },
  ];
  for (const bad of inconsistent) {
    it(`rendering fails on ${bad.what}`, () => {
      const result = helmTemplate(bad.args);
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, bad.error);
    });
  }
});

describe('helm chart: the pod', () => {
  for (const set of VALUE_SETS) {
    it(`runs non-root on a read-only root filesystem, writing only to its volumes (${set.name})`, () => {
      const manifests = render(set.args);
      const pod = deploymentSpec(manifests).template.spec;
      const container = serviceContainer(manifests);
      assert.equal(pod.securityContext?.runAsNonRoot, true);
      assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
      assert.ok((pod.securityContext?.runAsUser ?? 1) > 0);
      assert.equal(pod.automountServiceAccountToken, false, 'no Kubernetes API token in the pod');
      const sc = container.securityContext;
      assert.equal(sc?.runAsNonRoot, true);
      assert.equal(sc?.readOnlyRootFilesystem, true);
      assert.equal(sc?.allowPrivilegeEscalation, false);
      assert.equal(sc?.privileged, false);
      assert.deepEqual(sc?.capabilities, { drop: ['ALL'] });
      assert.equal(sc?.seccompProfile?.type, 'RuntimeDefault');

      const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
      const mounts = container.volumeMounts ?? [];
      const tmp = mounts.find((m) => m.mountPath === '/tmp');
      assert.ok(tmp && volumes.get(tmp.name)?.emptyDir, '/tmp is a writable emptyDir');
      const deadLetterPath = podEnvironment(manifests).DEAD_LETTER_PATH ?? '';
      const home = mounts.find((m) => deadLetterPath.startsWith(`${m.mountPath}/`) && m.readOnly !== true);
      assert.ok(home, `DEAD_LETTER_PATH ${deadLetterPath} is on a writable volume`);
      assert.ok(deadLetterPath.includes(POD_NAME), 'each pod writes its own dead-letter file');
      const volume = volumes.get(home.name);
      // all-on values keep dead letters on the claim invoice-dead-letters; defaults on each pod's own claim.
      if (set.args.length > 0) assert.equal(volume?.persistentVolumeClaim?.claimName, 'invoice-dead-letters');
      else {
        assert.equal(volume, undefined, 'by default the data volume is no pod volume but the claim template');
        const claims = (workload(manifests).spec as { volumeClaimTemplates?: { metadata: { name: string } }[] })
          .volumeClaimTemplates;
        assert.deepEqual(
          claims?.map((c) => c.metadata.name),
          [home.name],
          'each pod’s own PersistentVolumeClaim',
        );
      }

      const requests = (container as { resources?: { requests?: Labels; limits?: Labels } }).resources;
      assert.ok(requests?.requests?.cpu && requests.requests.memory && requests.limits?.memory, 'resources are set');
    });
  }

  it('takes WEBHOOK_SECRETS from the chart Secret, from an existing Secret, or not at all', () => {
    const none = render();
    const webhookSecrets = (m: readonly Manifest[]): Manifest[] =>
      ofKind(m, 'Secret').filter((s) => Object.hasOwn(s.data ?? {}, 'WEBHOOK_SECRETS'));
    assert.deepEqual(webhookSecrets(none), []);
    assert.equal(podEnvironment(none).WEBHOOK_SECRETS, undefined);

    const made = render(['-f', ALL_ON_VALUES]);
    const secret = one(webhookSecrets(made), 'Secret');
    const ref = serviceContainer(made).env?.find((v) => v.name === 'WEBHOOK_SECRETS')?.valueFrom?.secretKeyRef;
    assert.deepEqual(ref, { name: secret.metadata.name, key: 'WEBHOOK_SECRETS' });
    assert.equal(podEnvironment(made).WEBHOOK_SECRETS, 'whsec_czNjcmV0LW9uZQ==,whsec_czNjcmV0LXR3bw==');
    assert.ok(deploymentSpec(made).template.metadata.annotations?.['checksum/secret'], 'secret changes roll the pods');

    const existing = render(['--set', 'webhookSecrets.existingSecret=hooks,webhookSecrets.existingSecretKey=current']);
    assert.deepEqual(webhookSecrets(existing), []);
    const existingRef = serviceContainer(existing).env?.find((v) => v.name === 'WEBHOOK_SECRETS')?.valueFrom;
    assert.deepEqual(existingRef, { secretKeyRef: { name: 'hooks', key: 'current' } });
  });

  it('takes DEDUPE_STORE from an existing Secret when one is named, and leaves it unset otherwise', () => {
    assert.equal(podEnvironment(render()).DEDUPE_STORE, undefined);
    const ref = serviceContainer(render(['-f', ALL_ON_VALUES])).env?.find((v) => v.name === 'DEDUPE_STORE')?.valueFrom;
    assert.deepEqual(ref, { secretKeyRef: { name: 'invoices-dedupe-redis', key: 'url' } });
  });

  it('a settings change changes the pod template (pods roll); a replica change does not', () => {
    const checksum = (args: string[]): string | undefined =>
      deploymentSpec(render(args)).template.metadata.annotations?.['checksum/config'];
    const base = checksum([]);
    assert.match(base ?? '', /^[0-9a-f]{64}$/);
    assert.notEqual(checksum(['--set', 'config.logLevel=warn']), base);
    assert.equal(checksum(['--set', 'replicaCount=5']), base);
  });

  it('sets the IRSA role and the OpenTelemetry exporter from values; trace export is off by default, the SDK on', () => {
    const manifests = render(['-f', ALL_ON_VALUES]);
    const account = one(manifests, 'ServiceAccount');
    assert.equal(account.metadata.annotations?.['eks.amazonaws.com/role-arn'], 'arn:aws:iam::123456789012:role/invoice-webhook');
    const env = podEnvironment(manifests);
    assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://otel-collector.observability.svc:4318');
    assert.equal(env.OTEL_SERVICE_NAME, 'invoice-intake');
    assert.equal(env.OTEL_SDK_DISABLED, 'false');
    assert.equal(env.OTEL_TRACES_SAMPLER_ARG, '0.25');
    assert.equal(
      env.OTEL_RESOURCE_ATTRIBUTES,
      `k8s.namespace.name=${NAMESPACE},k8s.pod.name=${POD_NAME},deployment.environment.name=staging`,
    );

    const defaults = render();
    assert.equal(one(defaults, 'ServiceAccount').metadata.annotations, undefined, 'no role annotation unless given');
    const off = podEnvironment(defaults);
    // The SDK's HTTP and runtime instrumentations feed /metrics (ack latency, event loop), so it stays on.
    assert.equal(off.OTEL_SDK_DISABLED, 'false');
    assert.equal(off.OTEL_TRACES_EXPORTER, 'none');
    assert.equal(off.OTEL_EXPORTER_OTLP_ENDPOINT, undefined);
    assert.equal(off.OTEL_SERVICE_NAME, 'invoice-webhook');
  });

  it('with autoscaling the HPA owns the replica count', () => {
    assert.equal(deploymentSpec(render()).replicas, 2);
    assert.deepEqual(ofKind(render(), 'HorizontalPodAutoscaler'), []);
    const manifests = render(['-f', ALL_ON_VALUES]);
    assert.equal(deploymentSpec(manifests).replicas, undefined, 'no replicas field for the HPA to fight');
    const hpa = one(manifests, 'HorizontalPodAutoscaler');
    assert.equal(hpa.apiVersion, 'autoscaling/v2');
    const spec = hpa.spec as { minReplicas: number; maxReplicas: number; metrics: unknown[] };
    assert.deepEqual([spec.minReplicas, spec.maxReplicas, spec.metrics.length], [3, 12, 2]);
  });

  it('the Ingress routes only the webhook path, to the Service', () => {
    const manifests = render(['-f', ALL_ON_VALUES]);
    const service = one(manifests, 'Service');
    const servicePort = (service.spec as { ports: { port: number }[] }).ports[0]?.port;
    const ingress = one(manifests, 'Ingress');
    type Rule = {
      http: { paths: { path: string; pathType: string; backend: { service: { name: string; port: { number: number } } } }[] };
    };
    const paths = (ingress.spec as { rules: Rule[] }).rules.flatMap((r) => r.http.paths);
    assert.ok(paths.length > 0);
    for (const p of paths) {
      assert.deepEqual([p.path, p.pathType], [WEBHOOK_PATH, 'Exact'], '/metrics and the probes stay inside the cluster');
      assert.deepEqual(p.backend.service, { name: service.metadata.name, port: { number: servicePort } });
    }
    assert.deepEqual(ofKind(render(), 'Ingress'), [], 'off by default');
  });
});

describe('helm chart: documentation', () => {
  const schema = JSON.parse(readFileSync(path.join(CHART_DIR, 'values.schema.json'), 'utf8')) as SchemaNode;
  const valuesDoc = parseDocument(readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8'));

  it('values.yaml has a comment on every value', () => {
    const missing: string[] = [];
    const walk = (map: YAMLMap, prefix: string): void => {
      map.items.forEach((pair, i) => {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const where = prefix ? `${prefix}.${key}` : key;
        const keyNode = isScalar(pair.key) ? pair.key : undefined;
        const valueNode = isScalar(pair.value) || isMap(pair.value) ? pair.value : undefined;
        // A comment above the first key of a nested map belongs to the map node.
        const comment = keyNode?.commentBefore ?? keyNode?.comment ?? valueNode?.comment ?? (i === 0 ? map.commentBefore : undefined);
        if (!comment?.trim()) missing.push(where);
        if (isMap(pair.value)) walk(pair.value, where);
      });
    };
    assert.ok(isMap(valuesDoc.contents));
    walk(valuesDoc.contents, '');
    assert.deepEqual(missing, [], 'values without a comment');
  });

  it('values.yaml and values.schema.json describe the same values', () => {
    const compare = (values: Values, node: SchemaNode, prefix: string): void => {
      const properties = resolve(node).properties ?? {};
      const inSchema = Object.keys(properties).filter((k) => !(prefix === '' && k === 'global'));
      assert.deepEqual(Object.keys(values).sort(), inSchema.sort(), `keys of ${prefix || 'the top level'}`);
      for (const [key, sub] of Object.entries(properties)) {
        const value = values[key];
        if (resolve(sub).properties && value && typeof value === 'object') compare(value as Values, sub, `${prefix}${key}.`);
      }
    };
    compare(defaultValues, schema, '');
  });

  it('helm/README.md has a row for every value', () => {
    const readme = readFileSync(path.join(CHART_DIR, 'README.md'), 'utf8');
    const missing = valuePaths(defaultValues, schema, '').filter((p) => !readme.includes(`| \`${p}\` |`));
    assert.deepEqual(missing, [], 'values missing from the README table');
    assert.match(readme, /helm install invoice-webhook \.\/helm --namespace invoices/);
    assert.match(readme, /"Action": "sqs:SendMessage"/);
  });

  /** Leaf values, as the README lists them: maps with their own schema are opened, free-form ones are one value. */
  function valuePaths(values: Values, node: SchemaNode, prefix: string): string[] {
    const properties = resolve(node).properties ?? {};
    return Object.entries(values).flatMap(([key, value]) => {
      const sub = properties[key];
      if (sub && resolve(sub).properties && value && typeof value === 'object' && !Array.isArray(value)) {
        return valuePaths(value as Values, sub, `${prefix}${key}.`);
      }
      return [`${prefix}${key}`];
    });
  }

  function resolve(node: SchemaNode): SchemaNode {
    if (!node.$ref) return node;
    const name = node.$ref.replace('#/definitions/', '');
    const target = schema.definitions?.[name];
    assert.ok(target, `schema reference ${node.$ref}`);
    return resolve(target);
  }
});

interface SchemaNode {
  $ref?: string;
  properties?: Record<string, SchemaNode>;
  definitions?: Record<string, SchemaNode>;
}
