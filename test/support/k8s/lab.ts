import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../service.js';

const run = promisify(execFile);

function required(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: these tests run on the live lab cluster, through \`npm run test:k8s\``);
  return value;
}

/** What test/k8s/run.mjs hands the tests: the image it built and the lab's own addresses. */
export const lab = {
  image: required('K8S_LAB_IMAGE'),
  /** The node address, on the lab's own bridge: the host side of every connection the tests make. */
  hostIp: required('K8S_LAB_HOST_IP'),
  sqsRelayPort: Number(required('K8S_LAB_SQS_RELAY_PORT')),
  runDir: required('K8S_LAB_RUN'),
  workDir: required('K8S_LAB_WORK'),
  nodeName: required('K8S_LAB_NODE_NAME'),
};

export const RELEASE = 'iw';
export const FULLNAME = 'iw-invoice-webhook';
/** The service's pods (not the helm test pod). */
export const SELECTOR = `app.kubernetes.io/name=invoice-webhook,app.kubernetes.io/instance=${RELEASE}`;

async function tool(command: string, args: readonly string[], timeoutMs = 300_000): Promise<string> {
  try {
    const { stdout } = await run(command, args, { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 64 << 20 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`, { cause: error });
  }
}

export const kubectl = (...args: string[]): Promise<string> => tool('kubectl', args);
export const helm = (...args: string[]): Promise<string> => tool('helm', args);

/** kubectl apply of manifests given as objects. */
export async function apply(...manifests: object[]): Promise<void> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'k8s-apply-')), 'manifests.json');
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }));
  await kubectl('apply', '-f', file);
  rmSync(path.dirname(file), { recursive: true, force: true });
}

/** A namespace with the static SQS keys Secret the pods get through extraEnvFrom. */
export async function createNamespace(namespace: string): Promise<void> {
  await kubectl('create', 'namespace', namespace);
  // Dummy keys for LocalStack: with none, the AWS SDK would walk its credential chain up to the
  // instance-metadata address (which the lab's egress guard rejects).
  await kubectl(
    '-n',
    namespace,
    'create',
    'secret',
    'generic',
    'sqs-static-keys',
    '--from-literal=AWS_ACCESS_KEY_ID=test',
    '--from-literal=AWS_SECRET_ACCESS_KEY=test',
  );
}

export async function deleteNamespace(namespace: string): Promise<void> {
  await kubectl('delete', 'namespace', namespace, '--wait=false', '--ignore-not-found');
}

/** The queue URL as pods see it: LocalStack through a relay on the lab's node address. */
export function viaRelay(queueUrl: string, port = lab.sqsRelayPort): string {
  const url = new URL(queueUrl);
  url.host = `${lab.hostIp}:${port}`;
  return url.toString();
}

/** Chart values for the lab: the built image (never pulled), LocalStack through a relay, static keys. */
export function labValues(queueUrl: string, relayPort = lab.sqsRelayPort): Record<string, unknown> {
  const [repository, tag] = lab.image.split(/:(?=[^:]+$)/);
  return {
    image: { repository, tag, pullPolicy: 'Never' },
    config: {
      sqsQueueUrl: viaRelay(queueUrl, relayPort),
      sqsEndpoint: `http://${lab.hostIp}:${relayPort}`,
      awsRegion: 'us-east-1',
    },
    extraEnvFrom: [{ secretRef: { name: 'sqs-static-keys' } }],
    // Two cores shared with the control plane and the tests: ask for little, so surge pods schedule.
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
  };
}

/** helm upgrade --install of the repo's chart; `wait` waits for Ready pods. */
export async function installChart(
  namespace: string,
  values: Record<string, unknown>,
  options: { wait?: boolean } = {},
): Promise<void> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'k8s-values-')), 'values.json');
  writeFileSync(file, JSON.stringify(values));
  await helm(
    'upgrade',
    '--install',
    RELEASE,
    path.join(REPO_ROOT, 'helm'),
    '--namespace',
    namespace,
    '-f',
    file,
    ...(options.wait === false ? [] : ['--wait', '--timeout', '300s']),
  );
  rmSync(path.dirname(file), { recursive: true, force: true });
}

export interface PodInfo {
  name: string;
  uid: string;
  phase: string;
  ready: boolean;
  deleting: boolean;
  ip: string;
  image: string;
  templateHash: string;
}

export async function pods(namespace: string): Promise<PodInfo[]> {
  const list = JSON.parse(await kubectl('-n', namespace, 'get', 'pods', '-l', SELECTOR, '-o', 'json')) as {
    items: {
      metadata: { name: string; uid: string; deletionTimestamp?: string; labels?: Record<string, string> };
      spec: { containers: { image: string }[] };
      status: { phase: string; podIP?: string; conditions?: { type: string; status: string }[] };
    }[];
  };
  return list.items.map((p) => ({
    name: p.metadata.name,
    uid: p.metadata.uid,
    phase: p.status.phase,
    ready: p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    deleting: p.metadata.deletionTimestamp !== undefined,
    ip: p.status.podIP ?? '',
    image: p.spec.containers[0]?.image ?? '',
    templateHash: p.metadata.labels?.['pod-template-hash'] ?? p.metadata.labels?.['controller-revision-hash'] ?? '',
  }));
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 180_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: Error | undefined;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error instanceof Error ? error : new Error(String(error));
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** `count` Ready pods, not counting terminating ones; with `alone`, once those are gone too. */
export function readyPods(
  namespace: string,
  count: number,
  options: { timeoutMs?: number; alone?: boolean } = {},
): Promise<PodInfo[]> {
  return eventually(
    `${count} Ready pod(s) in ${namespace}${options.alone ? ', and no terminating ones' : ''}`,
    async () => {
      const list = await pods(namespace);
      const live = list.filter((p) => !p.deleting);
      if (options.alone && live.length !== list.length) return undefined;
      return live.length === count && live.every((p) => p.ready) ? live : undefined;
    },
    options.timeoutMs,
  );
}

export async function clusterIp(namespace: string): Promise<string> {
  const ip = (await kubectl('-n', namespace, 'get', 'service', FULLNAME, '-o', 'jsonpath={.spec.clusterIP}')).trim();
  if (!net.isIPv4(ip)) throw new Error(`Service ${FULLNAME} has no ClusterIP (${ip})`);
  return ip;
}

/** Follows a pod's log from its start until its container ends; `lines()` gives what came, parsed where JSON. */
export function followLogs(
  namespace: string,
  pod: string,
): { lines: () => Record<string, unknown>[]; ended: Promise<void>; stop: () => void } {
  const child: ChildProcess = spawn('kubectl', ['-n', namespace, 'logs', '-f', pod], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const ended = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    lines: () =>
      text
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    ended,
    stop: () => child.kill(),
  };
}

/**
 * A TCP relay of the test's own from the lab's node address to LocalStack (socat), so a test can make SQS
 * unreachable for the pods and reachable again without touching the lab's relay or LocalStack itself.
 * Its pid is recorded in the lab's run directory, so stop.sh stops it even if the test dies.
 */
export class Relay {
  private child: ChildProcess | undefined;
  constructor(readonly port: number) {}

  private get pidFile(): string {
    return path.join(lab.runDir, `relay-${this.port}.pid`);
  }

  async start(): Promise<void> {
    const target = new URL(process.env.LOCALSTACK_ENDPOINT ?? 'http://127.0.0.1:4566').host;
    const child = spawn('socat', [`TCP-LISTEN:${this.port},bind=${lab.hostIp},fork,reuseaddr`, `TCP:${target}`], {
      stdio: 'ignore',
    });
    this.child = child;
    writeFileSync(this.pidFile, String(child.pid));
    await eventually(`relay ${lab.hostIp}:${this.port}`, () => connects(lab.hostIp, this.port), 10_000);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.child = undefined;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill();
    await exited;
    rmSync(this.pidFile, { force: true });
    if (await connects(lab.hostIp, this.port)) throw new Error(`relay port ${this.port} still answers`);
  }
}

function connects(host: string, port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(undefined));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(undefined);
    });
  });
}

/** A file on the host, or undefined. */
export function readIfThere(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** POSTs an invoice from the lab's node address to a Service's ClusterIP; a fresh connection each time. */
export function postToService(ip: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: ip,
        port: 80,
        path: '/webhooks/invoice',
        method: 'POST',
        localAddress: lab.hostIp,
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
