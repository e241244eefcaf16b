import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { REPO_ROOT, TARGET_SETUPS, type TargetName } from './options.js';
import { Invoice } from '../src/validation/index.js';
import { track } from './processes.js';
import { LOCALSTACK_ENDPOINT } from './sqs.js';

/** The Node the service runs on (`npm start` semantics): the repo's Node 24, not the system one. */
export function nodeBinary(): string {
  const local = path.join(REPO_ROOT, 'node_modules', '.bin', 'node');
  return existsSync(local) ? local : process.execPath;
}

export interface TargetSpec {
  name: TargetName;
  /** Queue URL; required by the service and koa-sqs. */
  queueUrl?: string;
  /** SQS endpoint (LocalStack, ElasticMQ, or the fault proxy in front of one). Default: LocalStack. */
  sqsEndpoint?: string;
  workDir: string;
  /** Extra environment (overrides), e.g. BUFFER_CAPACITY or a dead SQS_ENDPOINT. */
  env?: Record<string, string>;
  /** Tracing-on service: the OTEL_SERVICE_NAME its spans carry. */
  otelServiceName?: string;
  /** Write a V8 CPU profile into this folder when the process exits (service targets only). */
  cpuProfileDir?: string;
  /** Label for log files. Default: the target name. */
  label?: string;
  /** Extra flags for node itself (e.g. --heapsnapshot-signal). */
  nodeFlags?: string[];
}

export interface RunningTarget {
  name: TargetName;
  label: string;
  url: string;
  pid: number;
  logFile: string;
  /** JSON lines from bench/probe.ts, one a second. */
  probeFile: string;
  child: ChildProcess;
  /** SIGTERM (the service drains), SIGKILL after `graceMs`. */
  stop: (graceMs?: number) => Promise<void>;
  /** SIGKILL now (used where draining would only wait on a dead endpoint). */
  kill: () => Promise<void>;
}

/** A free port on 127.0.0.1 (there is a small window in which someone else could take it). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}

/** `npm start`'s node arguments, so the bench runs the service exactly as users do (V8 flags included). */
function npmStartArgs(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [binary, ...args] = pkg.scripts.start.trim().split(/\s+/);
  if (binary !== 'node') throw new Error(`npm start is expected to run node directly, got: ${pkg.scripts.start}`);
  return args;
}

let batchManagerClasspath: string | undefined;

/** Builds the SqsAsyncBatchManager reference on first use (Maven + javac, cached in .cache); its classpath. */
function batchManagerJava(): string {
  if (batchManagerClasspath === undefined) {
    const build = spawnSync('bash', [path.join(REPO_ROOT, 'bench', 'reference', 'batch-manager', 'build.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (build.status !== 0)
      throw new Error('the batch-manager reference could not be built (needs Java 17+ and Maven)');
    batchManagerClasspath = build.stdout.trim();
  }
  return batchManagerClasspath;
}

/** The service's invoice schema as JSON Schema, for the Java reference (the same validation). */
function invoiceSchemaFile(workDir: string): string {
  const file = path.join(workDir, 'invoice.schema.json');
  writeFileSync(file, JSON.stringify(Invoice));
  return file;
}

function commandFor(spec: TargetSpec): string[] {
  const profile = [
    ...(spec.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${spec.cpuProfileDir}`] : []),
    ...(spec.nodeFlags ?? []),
    // The bench's own probe (event-loop delay, GC pauses), loaded first; not part of `npm start`.
    '--require',
    './dist/bench/probe.js',
  ];
  switch (TARGET_SETUPS[spec.name].program) {
    case 'batch-manager':
      // A JVM: no node flags, no probe; a heap cap like the service's container would have.
      return ['-Xmx256m', '-cp', batchManagerJava(), 'BatchManagerServer'];
    case 'service':
      return [...profile, ...npmStartArgs()];
    case 'bare':
      return [...profile, 'dist/bench/reference/bare-http.js'];
    case 'koa-sqs':
      return [...profile, 'dist/bench/reference/koa-sqs.js'];
  }
}

/** Starts a target as its own process and waits until GET /livez answers 200. */
export async function startTarget(spec: TargetSpec): Promise<RunningTarget> {
  const label = spec.label ?? spec.name;
  const port = await freePort();
  const logFile = path.join(spec.workDir, `${label}.log`);
  const probeFile = path.join(spec.workDir, `${label}.probe.jsonl`);
  mkdirSync(spec.workDir, { recursive: true });
  if (spec.cpuProfileDir) mkdirSync(spec.cpuProfileDir, { recursive: true });
  const otlp = {
    OTEL_SERVICE_NAME: spec.otelServiceName ?? 'invoice-webhook-bench',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
  };
  const setup = TARGET_SETUPS[spec.name];
  const tracing =
    setup.tracing === 'all'
      ? otlp
      : setup.tracing === 'sampled'
        ? { ...otlp, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }
        : { OTEL_SDK_DISABLED: 'true' };
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
    SQS_ENDPOINT: spec.sqsEndpoint ?? LOCALSTACK_ENDPOINT,
    ...(spec.queueUrl ? { SQS_QUEUE_URL: spec.queueUrl } : {}),
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DEAD_LETTER_PATH: path.join(spec.workDir, `${label}.dead-letter.jsonl`),
    ...(spec.name === 'service-journal' ? { JOURNAL_DIR: path.join(spec.workDir, `${label}.journal`) } : {}),
    ...tracing,
    ...setup.env,
    ...spec.env,
    BENCH_PROBE_FILE: probeFile,
    ...(setup.program === 'batch-manager' ? { INVOICE_SCHEMA_FILE: invoiceSchemaFile(spec.workDir) } : {}),
  };
  const log = createWriteStream(logFile);
  const binary = setup.program === 'batch-manager' ? 'java' : nodeBinary();
  const child = spawn(binary, commandFor(spec), { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child, label);
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  // A JVM with the AWS SDK takes longer to start than node, the more so on a busy machine.
  const startupMs = setup.program === 'batch-manager' ? 90000 : 20000;
  const deadline = Date.now() + startupMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${label} exited (${child.exitCode ?? child.signalCode}) before answering; see ${logFile}`);
    }
    try {
      const res = await fetch(`${url}/livez`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${label} did not answer /livez within ${startupMs / 1000} s; see ${logFile}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const finish = async (signal: NodeJS.Signals, graceMs: number): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    log.end();
  };
  return {
    name: spec.name,
    label,
    url,
    pid: child.pid as number,
    logFile,
    probeFile,
    child,
    stop: (graceMs = 25000) => finish('SIGTERM', graceMs),
    kill: () => finish('SIGKILL', 0),
  };
}
