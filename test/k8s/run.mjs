// `npm run test:k8s`: the live-cluster suite. Needs root (containers, bridges, iptables), Go, and the package
// registries (apt, npm, the Go module proxy). In order, each phase timed:
//   LocalStack (reused, or started and stopped again), helm; apt packages; Kubernetes + etcd binaries and
//   rancher/local-path-provisioner (cached in .cache/k8s-lab); the pause image; the base image and the app
//   image from the Dockerfile; the lab network (bridge, SQS relay, egress guard); control plane; node
//   (containerd, kubelet, kube-proxy); the image into the node's containerd; the volume provisioner with a
//   default StorageClass; the tests (dist/test/k8s/*.k8s.js, node:test); then stop.sh stops
//   everything the lab started, by pid. K8S_LAB_KEEP=1 leaves the cluster running (stop it with
//   `bash test/k8s/lab/stop.sh`). A phase that fails ends the run with its message: nothing is skipped.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const lab = path.join(root, 'test/k8s/lab');
const localstack = process.env.LOCALSTACK_ENDPOINT ?? 'http://127.0.0.1:4566';
const timings = [];
const cleanups = [];
const t0 = performance.now();

const seconds = (ms) => `${(ms / 1000).toFixed(1)}s`;
function say(message) {
  console.log(`test:k8s [${seconds(performance.now() - t0)}] ${message}`);
}

/** Runs one phase, timing it; a failure ends the run with the phase's name. */
async function phase(name, fn) {
  say(`${name} ...`);
  const started = performance.now();
  try {
    const result = await fn();
    const took = performance.now() - started;
    timings.push([name, took]);
    say(`${name} done in ${seconds(took)}`);
    return result;
  } catch (error) {
    timings.push([name, performance.now() - started, 'FAILED']);
    throw new Error(`${name} failed: ${error.message}`, { cause: error });
  }
}

/** A lab script; stdout is captured (and returned) when `capture`, else shown. */
function script(name, { capture = false, env = process.env, args = [] } = {}) {
  const result = spawnSync('bash', [path.join(lab, name), ...args], {
    cwd: root,
    env,
    encoding: 'utf8',
    stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'],
  });
  if (result.status !== 0) throw new Error(`${name} exited with ${result.status ?? result.signal}`);
  return (result.stdout ?? '').trim();
}

/** The lab's settings, as test/k8s/lab/env.sh resolves them. */
function labSettings() {
  const names = ['HOST_IP', 'SQS_RELAY_PORT', 'BIN', 'RUN', 'LOGS', 'KUBECONFIG', 'K8S_LAB_WORK', 'NODE_NAME'];
  const out = spawnSync(
    'bash',
    ['-c', `source "${lab}/env.sh" && for n in ${names.join(' ')}; do echo "$n=\${!n}"; done`],
    {
      encoding: 'utf8',
    },
  );
  if (out.status !== 0) throw new Error(`env.sh: ${out.stderr}`);
  return Object.fromEntries(
    out.stdout
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

async function ensureLocalStack() {
  const healthy = async () => {
    try {
      const res = await fetch(`${localstack}/_localstack/health`, { signal: AbortSignal.timeout(1500) });
      return res.ok && /"sqs": *"(available|running)"/.test(await res.text());
    } catch {
      return false;
    }
  };
  if (await healthy()) return `reusing ${localstack}`;
  const started = spawnSync('bash', [path.join(root, '.ci/localstack.sh'), 'start'], { stdio: 'inherit' });
  if (started.status !== 0) throw new Error('LocalStack could not be started: run `.ci/localstack.sh install` first');
  cleanups.push(() => spawnSync('bash', [path.join(root, '.ci/localstack.sh'), 'stop'], { stdio: 'inherit' }));
  return 'started';
}

function runTests(env) {
  const dir = path.join(root, 'dist/test/k8s');
  const files =
    process.argv.slice(2).length > 0
      ? process.argv.slice(2)
      : readdirSync(dir)
          .filter((f) => f.endsWith('.k8s.js'))
          .sort()
          .map((f) => path.join(dir, f));
  if (files.length === 0) throw new Error(`no *.k8s.js tests in ${dir}: run npm run build first`);
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--enable-source-maps',
        '--test',
        '--test-concurrency=1',
        '--test-timeout=900000',
        '--test-reporter=spec',
        ...files,
      ],
      { cwd: root, stdio: 'inherit', env },
    );
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

let code;
let stopped = false;
function stopLab() {
  if (stopped) return;
  stopped = true;
  if (process.env.K8S_LAB_KEEP === '1') {
    say('K8S_LAB_KEEP=1: the cluster keeps running (bash test/k8s/lab/stop.sh stops it)');
  } else {
    const started = performance.now();
    spawnSync('bash', [path.join(lab, 'stop.sh')], { stdio: 'inherit' });
    timings.push(['stop', performance.now() - started]);
  }
  for (const cleanup of cleanups.reverse()) cleanup();
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    say(`${signal}: stopping the lab`);
    stopLab();
    process.exit(130);
  });
}

try {
  if (process.getuid?.() !== 0) {
    throw new Error('the live-cluster suite needs root (containers, network bridges, iptables): run it as root');
  }
  const settings = labSettings();
  await phase('localstack', ensureLocalStack);
  await phase('tools (helm)', () => {
    const result = spawnSync('bash', [path.join(root, '.ci/tools.sh'), 'helm'], { stdio: 'inherit' });
    if (result.status !== 0) throw new Error('`.ci/tools.sh helm` failed (needs Go and the Go module proxy)');
  });
  const target = new URL(localstack).host;
  const env = {
    ...process.env,
    LOCALSTACK_TARGET: target,
    PATH: [settings.BIN, path.join(root, '.cache/bin'), process.env.PATH].join(path.delimiter),
    KUBECONFIG: settings.KUBECONFIG,
  };
  cleanups.push(() => undefined);
  await phase('apt packages', () => script('deps.sh', { env }));
  await phase('kubernetes binaries', () => script('build-k8s.sh', { env }));
  await phase('volume provisioner binary', () => script('provisioner.sh', { env, args: ['build'] }));
  await phase('pause image', () => script('pause-image.sh', { env }));
  const image = await phase('app image (Dockerfile, podman)', () => script('app-image.sh', { capture: true, env }));
  say(`image ${image}`);
  try {
    await phase('lab network', () => script('network.sh', { env }));
    await phase('control plane', () => script('control-plane.sh', { env }));
    await phase('node', () => script('node.sh', { env }));
    await phase('image into containerd', () => script('load-image.sh', { env: { ...env, IMAGE: image } }));
    await phase('volume provisioner', () =>
      script('provisioner.sh', { env: { ...env, IMAGE: image }, args: ['start'] }),
    );
    const testEnv = {
      ...env,
      LOCALSTACK_ENDPOINT: localstack,
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
      AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
      K8S_LAB_IMAGE: image,
      K8S_LAB_HOST_IP: settings.HOST_IP,
      K8S_LAB_SQS_RELAY_PORT: settings.SQS_RELAY_PORT,
      K8S_LAB_RUN: settings.RUN,
      K8S_LAB_WORK: settings.K8S_LAB_WORK,
      K8S_LAB_NODE_NAME: settings.NODE_NAME,
    };
    code = await phase('tests', () => runTests(testEnv));
  } finally {
    stopLab();
  }
} catch (error) {
  console.error(`test:k8s: ${error.message}`);
  code = 1;
} finally {
  stopLab();
  console.log('test:k8s timings:');
  for (const [name, ms, failed] of timings)
    console.log(`  ${name.padEnd(32)} ${seconds(ms).padStart(8)}${failed ? ' FAILED' : ''}`);
  console.log(`  ${'total'.padEnd(32)} ${seconds(performance.now() - t0).padStart(8)}`);
}
process.exit(code);
