// The fence of `npm run test:unit`: loaded into every node process of that run (NODE_OPTIONS
// --require), it makes a test that reaches for a live component fail loudly, naming what it reached
// for, instead of hanging on a retry loop or passing on a machine that happens to run LocalStack.
// Live components: LocalStack, ElasticMQ, Jaeger, Redis (by their ports, and the ports the
// environment points the suites at), and the CLI tools the live suites run (helm, promtool, ...).
// Tests that need them belong under test/live/, which `npm test` runs.
import childProcess, { ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

const SERVICES = new Map<number, string>([
  [4566, 'LocalStack (SQS)'],
  [9324, 'ElasticMQ (SQS)'],
  [9325, "the bench's ElasticMQ"],
  [16686, 'the Jaeger query API'],
  [4317, 'OTLP/gRPC (Jaeger)'],
  [4318, 'OTLP/HTTP (Jaeger)'],
  [6379, 'Redis'],
]);
for (const [variable, name] of [
  ['LOCALSTACK_ENDPOINT', 'LocalStack (SQS)'],
  ['ELASTICMQ_ENDPOINT', 'ElasticMQ (SQS)'],
  ['JAEGER_QUERY_URL', 'the Jaeger query API'],
] as const) {
  const value = process.env[variable];
  if (value) {
    const port = Number(new URL(value).port);
    if (port > 0) SERVICES.set(port, name);
  }
}

const TOOLS = new Set([
  'helm',
  'promtool',
  'kubernetes-validate',
  'vegeta',
  'jaeger',
  'redis-server',
  'valkey-server',
  'java',
  'mvn',
  'podman',
  'buildah',
  'kubectl',
]);

const violations: string[] = [];

function refuse(what: string): Error {
  const message =
    `test:unit: a test reached for ${what}. The inner loop runs without live components: ` +
    'tests that need one belong under test/live/ (npm test runs them, starting what they need).';
  violations.push(message);
  process.stderr.write(`\n${message}\n`);
  return new Error(message);
}

// Whatever a test does with the error, the process (and so the test file) fails.
process.on('exit', () => {
  if (violations.length > 0) process.exitCode = 1;
});

function portOf(args: unknown[]): number | undefined {
  let first = args[0];
  // net.connect hands Socket#connect its arguments already normalized: [[options, callback]].
  if (Array.isArray(first)) first = first[0];
  if (typeof first === 'number' || typeof first === 'string') return Number(first);
  if (typeof first === 'object' && first !== null && 'port' in first) return Number(first.port);
  return undefined;
}

type Connect = (this: net.Socket, ...args: unknown[]) => net.Socket;
const socketPrototype = net.Socket.prototype as unknown as { connect: Connect };
const connect = socketPrototype.connect;
socketPrototype.connect = function (this: net.Socket, ...args: unknown[]) {
  const port = portOf(args);
  const name = port === undefined ? undefined : SERVICES.get(port);
  if (name === undefined) return connect.apply(this, args);
  const error = refuse(`${name} on port ${port}`);
  process.nextTick(() => this.destroy(error));
  return this;
};

function checkCommand(file: unknown): void {
  if (typeof file !== 'string') return;
  const name = path.basename(file);
  if (TOOLS.has(name) || file.includes(`${path.sep}.cache${path.sep}bin${path.sep}`)) {
    throw refuse(`the CLI tool ${name}`);
  }
}

// Every asynchronous spawn (spawn, exec, execFile, fork) goes through ChildProcess#spawn.
type Spawn = (options: { file?: unknown }) => unknown;
const prototype = ChildProcess.prototype as unknown as { spawn: Spawn };
const spawn = prototype.spawn;
prototype.spawn = function (this: ChildProcess, options) {
  checkCommand(options.file);
  return spawn.call(this, options);
};

// The synchronous ones each have their own entry.
const cp = childProcess as unknown as Record<
  'spawnSync' | 'execFileSync',
  (file: unknown, ...rest: unknown[]) => unknown
>;
for (const name of ['spawnSync', 'execFileSync'] as const) {
  const original = cp[name];
  cp[name] = (file: unknown, ...rest: unknown[]) => {
    checkCommand(file);
    return original(file, ...rest);
  };
}
