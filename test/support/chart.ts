import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './service.js';

export const CHART_DIR = path.join(REPO_ROOT, 'helm');
export const ALL_ON_VALUES = path.join(CHART_DIR, 'ci', 'all-on-values.yaml');
/** helm built by `go install` assumes Kubernetes 1.20 unless told otherwise. */
export const KUBE_VERSION = '1.33.0';
export const RELEASE = 'iw';
export const NAMESPACE = 'invoices';
/** What POD_NAME resolves to when the tests expand the pod's environment. */
export const POD_NAME = 'iw-invoice-webhook-5d8f7-abcde';
/** What a Service's ClusterIP is when the tests expand the kubelet's service-link variables. */
export const SERVICE_IP = '10.96.0.42';

export const VALUE_SETS = [
  { name: 'default values', args: [] as string[] },
  { name: 'all-on values', args: ['-f', ALL_ON_VALUES] },
] as const;

const TOOLS_HINT = 'run `.ci/tools.sh helm kubernetes-validate promtool` to install it into .cache/bin';
const found = new Map<string, string>();

/** A tool from .cache/bin or PATH; a missing tool fails the test (never skips it). */
export function tool(name: 'helm' | 'kubernetes-validate' | 'promtool'): string {
  const known = found.get(name);
  if (known) return known;
  const dirs = [
    path.join(REPO_ROOT, '.cache', 'bin'),
    ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean),
  ];
  const hit = dirs.map((dir) => path.join(dir, name)).find((candidate) => existsSync(candidate));
  if (!hit) assert.fail(`${name} is missing (looked in .cache/bin and PATH): ${TOOLS_HINT}`);
  found.set(name, hit);
  return hit;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: readonly string[]): RunResult {
  const result = spawnSync(command, args, { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000, maxBuffer: 16 << 20 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `helm template` of the chart with the given extra arguments (values files, --set ...). */
export function helmTemplate(args: readonly string[]): RunResult {
  return run(tool('helm'), [
    'template',
    RELEASE,
    CHART_DIR,
    '--namespace',
    NAMESPACE,
    '--kube-version',
    KUBE_VERSION,
    ...args,
  ]);
}

const cache = new Map<string, { text: string; manifests: Manifest[] }>();

/** The chart rendered with the given arguments, as text and parsed; rendering must succeed. */
export function rendered(args: readonly string[] = []): { text: string; manifests: Manifest[] } {
  const key = JSON.stringify(args);
  const cached = cache.get(key);
  if (cached) return cached;
  const result = helmTemplate(args);
  assert.equal(result.status, 0, `helm template ${args.join(' ')} failed:\n${result.stderr}`);
  const manifests: Manifest[] = [];
  for (const doc of parseAllDocuments(result.stdout)) {
    assert.deepEqual(doc.errors, [], 'helm template printed YAML that does not parse');
    const value = doc.toJS() as unknown;
    if (value !== null) manifests.push(value as Manifest);
  }
  const entry = { text: result.stdout, manifests };
  cache.set(key, entry);
  return entry;
}

/** The chart's manifests, rendered and parsed. */
export function render(args: readonly string[] = []): Manifest[] {
  return rendered(args).manifests;
}

export type Labels = Record<string, string>;

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Labels; annotations?: Labels };
  data?: Record<string, string>;
  spec?: unknown;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } };
}

export interface Probe {
  httpGet?: { path: string; port: string | number };
}

export interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: { command: string[] } } };
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type: string };
  };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

export interface Volume {
  name: string;
  emptyDir?: { sizeLimit?: string };
  persistentVolumeClaim?: { claimName: string };
}

export interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  enableServiceLinks?: boolean;
  terminationGracePeriodSeconds?: number;
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    fsGroup?: number;
    seccompProfile?: { type: string };
  };
  topologySpreadConstraints?: { topologyKey: string; labelSelector?: { matchLabels?: Labels } }[];
  containers: Container[];
  volumes?: Volume[];
}

export interface DeploymentSpec {
  replicas?: number;
  selector: { matchLabels: Labels };
  template: { metadata: { labels: Labels; annotations?: Labels }; spec: PodSpec };
}

/** The one resource of a kind (fails when there are none or several). */
export function one(manifests: readonly Manifest[], kind: string): Manifest {
  const matches = manifests.filter((m) => m.kind === kind);
  assert.equal(matches.length, 1, `expected one ${kind}, found ${matches.length}`);
  return matches[0] as Manifest;
}

export function ofKind(manifests: readonly Manifest[], kind: string): Manifest[] {
  return manifests.filter((m) => m.kind === kind);
}

/** The kinds the chart runs the service as: a StatefulSet (persistence on, the default) or a Deployment. */
export const WORKLOAD_KINDS = ['StatefulSet', 'Deployment'] as const;

/** The one workload (StatefulSet or Deployment) the chart renders. */
export function workload(manifests: readonly Manifest[]): Manifest {
  const matches = manifests.filter((m) => (WORKLOAD_KINDS as readonly string[]).includes(m.kind));
  assert.equal(matches.length, 1, `expected one StatefulSet or Deployment, found ${matches.length}`);
  return matches[0] as Manifest;
}

/** The spec of the workload, whichever kind it is (the pod template is the same). */
export function deploymentSpec(manifests: readonly Manifest[]): DeploymentSpec {
  return workload(manifests).spec as DeploymentSpec;
}

/** The service's container (the chart runs one). */
export function serviceContainer(manifests: readonly Manifest[]): Container {
  const containers = deploymentSpec(manifests).template.spec.containers;
  assert.equal(containers.length, 1, 'the pod runs exactly one container');
  return containers[0] as Container;
}

/**
 * The environment the container starts with, as the kubelet builds it: envFrom first, then env in
 * order, with $(VAR) references expanded and Secret values decoded from the rendered Secrets.
 */
export function podEnvironment(manifests: readonly Manifest[]): Record<string, string> {
  const container = serviceContainer(manifests);
  const byName = (kind: string, name: string): Manifest | undefined =>
    manifests.find((m) => m.kind === kind && m.metadata.name === name);
  const env: Record<string, string> = {};
  // The kubelet's service links: <NAME>_SERVICE_HOST and _SERVICE_PORT[_<PORT NAME>] of each Service of the
  // namespace (a ClusterIP stands in), available to $(VAR) references.
  const links: Record<string, string> = {};
  for (const service of manifests.filter((m) => m.kind === 'Service')) {
    const prefix = service.metadata.name.toUpperCase().replace(/[-.]/g, '_');
    const ports = (service.spec as { ports?: { name?: string; port: number }[] }).ports ?? [];
    links[`${prefix}_SERVICE_HOST`] = SERVICE_IP;
    if (ports[0]) links[`${prefix}_SERVICE_PORT`] = String(ports[0].port);
    for (const port of ports)
      if (port.name) links[`${prefix}_SERVICE_PORT_${port.name.toUpperCase().replace(/-/g, '_')}`] = String(port.port);
  }
  const lookup = (name: string): string | undefined => env[name] ?? links[name];
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) {
      const configMap = byName('ConfigMap', source.configMapRef.name);
      assert.ok(configMap, `envFrom names ConfigMap ${source.configMapRef.name}, which the chart does not render`);
      Object.assign(env, configMap.data ?? {});
    }
    if (source.secretRef) {
      const secret = byName('Secret', source.secretRef.name);
      for (const [key, value] of Object.entries(secret?.data ?? {})) env[key] = Buffer.from(value, 'base64').toString();
    }
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) {
      env[variable.name] = variable.value.replace(
        /\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
        (ref, name: string) => lookup(name) ?? ref,
      );
    } else if (variable.valueFrom?.fieldRef) {
      assert.equal(variable.valueFrom.fieldRef.fieldPath, 'metadata.name', `unexpected fieldRef for ${variable.name}`);
      env[variable.name] = POD_NAME;
    } else if (variable.valueFrom?.secretKeyRef) {
      const { name, key } = variable.valueFrom.secretKeyRef;
      const data = byName('Secret', name)?.data?.[key];
      env[variable.name] = data === undefined ? `<${name}/${key}>` : Buffer.from(data, 'base64').toString();
    }
  }
  return env;
}

/** Every label of `selector` is on `labels` with the same value. */
export function selects(selector: Labels | undefined, labels: Labels | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

/** A copy of the chart in which a wrapper template renders NOTES.txt as a manifest (`notes: <text>`). */
function chartWithNotes(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'chart-notes-'));
  cpSync(CHART_DIR, dir, { recursive: true });
  const notes = readFileSync(path.join(CHART_DIR, 'templates', 'NOTES.txt'), 'utf8');
  writeFileSync(
    path.join(dir, 'templates', 'notes-as-manifest.yaml'),
    `{{- define "test.notes" }}${notes}{{- end }}\nnotes: {{ include "test.notes" . | toJson }}\n`,
  );
  return dir;
}

function templateWithNotes(args: readonly string[]): RunResult {
  const dir = chartWithNotes();
  try {
    return run(tool('helm'), [
      'template',
      RELEASE,
      dir,
      '--namespace',
      NAMESPACE,
      '--kube-version',
      KUBE_VERSION,
      ...args,
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * NOTES.txt as `helm install` prints it (helm template leaves it out): rendered from a copy of the chart in
 * which a wrapper template includes it.
 */
export function renderNotes(args: readonly string[] = []): string {
  const result = templateWithNotes(['--show-only', 'templates/notes-as-manifest.yaml', ...args]);
  assert.equal(result.status, 0, result.stderr);
  return (parseAllDocuments(result.stdout)[0]?.toJS() as { notes: string }).notes;
}

/**
 * The manifests and NOTES.txt of one rendering: what is random at render time (the hand-off token the chart
 * makes) is the same in both.
 */
export function renderWithNotes(args: readonly string[] = []): { manifests: Manifest[]; notes: string } {
  const result = templateWithNotes(args);
  assert.equal(result.status, 0, `helm template ${args.join(' ')} failed:\n${result.stderr}`);
  const manifests: Manifest[] = [];
  let notes: string | undefined;
  for (const doc of parseAllDocuments(result.stdout)) {
    const value = doc.toJS() as (Manifest & { notes?: string }) | null;
    if (value === null) continue;
    if (typeof value.notes === 'string' && value.kind === undefined) notes = value.notes;
    else manifests.push(value);
  }
  assert.ok(notes !== undefined, 'NOTES.txt rendered');
  return { manifests, notes };
}
