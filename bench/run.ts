// The benchmark harness (issue 6): open-model load with vegeta at fixed rates against the real service
// (tracing off and on) and two references (bare node:http, Koa + one SendMessage per request), all
// against LocalStack on this machine. Prints a table and writes bench/results/<date>.md.
// Usage: npm run bench -- [--smoke] [--rates 500,1000] [--duration 30s] [--targets a,b] [--out DIR]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { heapMarkdown, summariseHeap } from './heap.js';
import { ensureJaeger, waitForSpans, type JaegerHandle } from './jaeger.js';
import { TcpProxy } from '../test/support/tcp-proxy.js';
import { REPO_ROOT, TARGET_SETUPS, parseOptions, type BenchOptions, type TargetName } from './options.js';
import { installCleanup, killAll } from './processes.js';
import { CpuMeter, processMemoryBytes } from './procfs.js';
import type { ProbeSample } from './probe.js';
import { profileMarkdown, summariseProfile } from './profile.js';
import { delta, scrape, type Scrape } from './prometheus.js';
import {
  consoleTable,
  highestSustained19,
  issue14Verdicts,
  issue19Verdicts,
  resultsMarkdown,
  verdicts,
  type BenchResults,
  type BufferFullResult,
  type MachineInfo,
  type OverloadSplit,
  type ProbeWindow,
  type StepResult,
} from './report.js';
import {
  ELASTICMQ_ENDPOINT,
  ELASTICMQ_PID_NAME,
  LOCALSTACK_ENDPOINT,
  closeAdminClient,
  createQueue,
  deleteQueue,
  ensureElasticMq,
  localstackUp,
  localstackVersion,
  purgeQueue,
  type ElasticMqHandle,
} from './sqs.js';
import { nodeBinary, startTarget, type RunningTarget } from './targets.js';
import { attack, findVegeta, hits, report, writeTargets, type VegetaHit } from './vegeta.js';
import { withoutMachinePaths } from './machine-paths.js';

/** Distinct invoices per targets file; vegeta cycles through them. */
const MAX_DISTINCT_BODIES = 20000;

const log = (message: string): void => {
  process.stderr.write(`bench: ${message}\n`);
};
/** Targets that export spans to Jaeger (and need it running). */
const isTraced = (name: TargetName): boolean => TARGET_SETUPS[name].tracing !== 'off';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The pid in .cache/<name>.pid (written by .ci/localstack.sh and otel/jaeger.sh), if it runs. */
function pidFromFile(name: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(REPO_ROOT, '.cache', `${name}.pid`), 'utf8').trim());
    return Number.isInteger(pid) && existsSync(`/proc/${pid}`) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A process whose command line matches (one started by someone else, without our pid file). */
function pidByCommand(pattern: RegExp): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (pattern.test(cmdline)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

const jaegerPid = (): number | undefined => pidFromFile('jaeger') ?? pidByCommand(/(^|\/)jaeger( |$)/);

function machineInfo(vegeta: string, lsVersion: string | undefined): MachineInfo {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  let vegetaVersion = 'v12.13.0 (per .ci/tools.sh)';
  try {
    const out = execFileSync(vegeta, ['-version'], { encoding: 'utf8' });
    const version = /Version:[ \t]*(\S+)/.exec(out)?.[1];
    if (version) vegetaVersion = version;
  } catch {
    // keep the pinned version
  }
  return {
    nproc: os.availableParallelism(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? 'unknown',
    memTotalBytes: Number(/^MemTotal:\s+(\d+) kB/m.exec(meminfo)?.[1] ?? 0) * 1024,
    kernel: os.release(),
    nodeVersion: execFileSync(nodeBinary(), ['--version'], { encoding: 'utf8' }).trim(),
    localstackVersion: lsVersion ?? 'unknown',
    vegeta: vegetaVersion,
    code: codeMeasured(),
    loadBefore: os.loadavg(),
    loadAfter: [],
    startedAt: new Date().toISOString(),
    finishedAt: '',
  };
}

/** HEAD, and whether the service's sources differ from it (others may be mid-change). */
function codeMeasured(): string {
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const head = git('log', '-1', '--format=%h %s').slice(0, 90);
    const dirty = git('status', '--porcelain', '--', 'src', 'config', 'package.json', 'package-lock.json');
    return `\`${head}\`${dirty === '' ? '' : ` plus uncommitted changes in ${dirty.split('\n').length} file(s) of src/config/package`}`;
  } catch {
    return 'unknown (no git)';
  }
}

/** Local date as YYYY-MM-DD (the results file's name). */
function localDate(): string {
  const now = new Date();
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

interface Target {
  name: TargetName;
  running: RunningTarget;
  queueUrl?: string;
  /** The pid of the target's SQS server (LocalStack or ElasticMQ), for its CPU. */
  sqsPid?: number;
  /** Still stepped to higher rates. */
  active: boolean;
}

interface DrainOutcome {
  drained: boolean;
  ms: number;
  after: Scrape | undefined;
}

/**
 * Waits until the target has nothing left to send: buffer depth 0 (in-flight calls for koa-sqs) and,
 * for the service, every invoice accepted since `before` acknowledged by SQS or dead-lettered.
 */
async function waitForDrain(url: string, before: Scrape | undefined, timeoutMs: number): Promise<DrainOutcome> {
  const started = performance.now();
  let after: Scrape | undefined;
  for (;;) {
    after = await scrape(url);
    if (after === undefined) return { drained: false, ms: performance.now() - started, after };
    const depth = after.get('webhook_buffer_depth') ?? 0;
    const accepted = delta(before, after, 'webhook_invoices_accepted_total') ?? 0;
    const sent = delta(before, after, 'sqs_messages_sent_total') ?? 0;
    const dead = delta(before, after, 'sqs_dead_lettered_total') ?? 0;
    // The batch-manager reference: entries it gave up on (it does not retry) are settled too, and lost.
    const failed = delta(before, after, 'sqs_messages_failed_total') ?? 0;
    const hasSqs = after.has('sqs_calls_total') || before?.has('sqs_calls_total') === true;
    if (depth === 0 && (!hasSqs || sent + dead + failed >= accepted)) {
      return { drained: true, ms: performance.now() - started, after };
    }
    if (performance.now() - started > timeoutMs) return { drained: false, ms: performance.now() - started, after };
    await sleep(200);
  }
}

/** Sums the probe's one-second lines that fall inside [fromMs, toMs]. */
function probeWindow(file: string, fromMs: number, toMs: number): ProbeWindow | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  // A line stamped t covers the second before t: keep the ones mostly inside the window.
  const samples = text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ProbeSample)
    .filter((p) => p.t > fromMs + 500 && p.t <= toMs + 500);
  if (samples.length === 0) return undefined;
  const gcMs = samples.reduce((sum, p) => sum + p.gcMs, 0);
  return {
    loopP99Ms: Math.max(...samples.map((p) => p.loopP99Ms)),
    loopMaxMs: Math.max(...samples.map((p) => p.loopMaxMs)),
    gcPct: (100 * gcMs) / (samples.length * 1000),
    gcMaxMs: Math.max(...samples.map((p) => p.gcMaxMs)),
    majorGcCount: samples.reduce((sum, p) => sum + p.majorGcCount, 0),
  };
}

function probeOf(file: string, fromMs: number, toMs: number): { probe?: ProbeWindow } {
  const probe = probeWindow(file, fromMs, toMs);
  return probe ? { probe } : {};
}

/** Mean SendMessageBatch duration over the step, from the sqs_flush_duration histogram (seconds). */
function callMs(before: Scrape | undefined, after: Scrape | undefined): number | undefined {
  const name = after?.has('sqs_flush_duration_seconds_sum') ? 'sqs_flush_duration_seconds' : 'sqs_flush_duration';
  const sum = delta(before, after, `${name}_sum`);
  const count = delta(before, after, `${name}_count`);
  return sum === undefined || count === undefined || count === 0 ? undefined : (1000 * sum) / count;
}

interface LoadOptions {
  vegeta: string;
  options: BenchOptions;
  workDir: string;
  jaegerPid: number | undefined;
}

const quantiles = (values: number[]): { p50: number; p99: number; max: number } => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? NaN };
};

/** The overload step's answers, accepted and refused apart. */
function overloadSplit(all: VegetaHit[], factor: number, sustainedPerSecond: number): OverloadSplit {
  const ms = (h: VegetaHit): number => h.latency / 1e6;
  const accepted = all.filter((h) => h.code >= 200 && h.code < 300);
  const shed = all.filter((h) => h.code === 503);
  const overloaded = shed.filter((h) => {
    try {
      return (
        (JSON.parse(Buffer.from(h.body ?? '', 'base64').toString('utf8')) as { reason?: unknown }).reason ===
        'overloaded'
      );
    } catch {
      return false;
    }
  });
  return {
    factor,
    sustainedPerSecond,
    accepted: accepted.length,
    shed: shed.length,
    shedOverloaded: overloaded.length,
    shedWithRetryAfter: shed.filter((h) => (h.headers?.['Retry-After']?.[0] ?? '') !== '').length,
    unanswered: all.filter((h) => h.code === 0).length,
    other: all.filter((h) => h.code !== 0 && h.code !== 503 && (h.code < 200 || h.code >= 300)).length,
    acceptedMs: quantiles(accepted.map(ms)),
    shedMs: quantiles(shed.map(ms)),
  };
}

/**
 * One recorded step: attack at `rate` for the step duration, drain, read the deltas. An overload step
 * keeps every answer's body and headers, to split accepted from shed answers.
 */
async function runStep(
  load: LoadOptions,
  target: Target,
  rate: number,
  durationMs: number,
  overload?: { factor: number; sustainedPerSecond: number },
): Promise<StepResult> {
  const { vegeta, options, workDir } = load;
  const label = `${target.name}-${rate}${overload ? '-overload' : ''}`;
  const targetsFile = path.join(workDir, `${label}.targets.jsonl`);
  const resultsFile = path.join(workDir, `${label}.bin`);
  const runId = `${Date.now().toString(36)}${rate}`;
  await writeTargets(
    targetsFile,
    `${target.running.url}/webhooks/invoice`,
    runId,
    Math.min(MAX_DISTINCT_BODIES, Math.ceil((rate * durationMs) / 1000)),
  );
  const before = await scrape(target.running.url);
  const attackStartedAt = Date.now();
  const meter = new CpuMeter({
    target: target.running.pid,
    ...(target.sqsPid ? { sqs: target.sqsPid } : {}),
    ...(load.jaegerPid ? { jaeger: load.jaegerPid } : {}),
  });
  try {
    await attack({
      vegeta,
      targetsFile,
      ratePerSecond: rate,
      durationMs,
      requestTimeoutMs: options.requestTimeoutMs,
      maxWorkers: options.maxWorkers,
      outputFile: resultsFile,
      ...(overload ? { maxBodyBytes: -1 } : {}),
    });
  } catch (error) {
    meter.stop();
    return { target: target.name, ratePerSecond: rate, outcome: 'error', note: (error as Error).message };
  }
  const cpu = meter.stop();
  const attackEndedAt = Date.now();
  const drain = await waitForDrain(target.running.url, before, options.drainTimeoutMs);
  const r = await report(vegeta, resultsFile);
  const split = overload
    ? overloadSplit(await hits(vegeta, resultsFile), overload.factor, overload.sustainedPerSecond)
    : undefined;
  rmSync(resultsFile, { force: true });
  rmSync(targetsFile, { force: true });
  const after = drain.after;
  const calls = delta(before, after, 'sqs_calls_total');
  const messages = delta(before, after, 'sqs_messages_sent_total');
  const batches = delta(before, after, 'sqs_batches_sent_total');
  const accepted = delta(before, after, 'webhook_invoices_accepted_total');
  const deadLettered = delta(before, after, 'sqs_dead_lettered_total') ?? 0;
  const hasSqs = after?.has('sqs_calls_total') === true;
  const ns = (v: number): number => v / 1e6;
  const result: StepResult = {
    target: target.name,
    ratePerSecond: rate,
    outcome: 'ok',
    startedAt: new Date(attackStartedAt).toISOString(),
    requests: r.requests,
    sentPerSecond: r.rate,
    success: r.success,
    throughputPerSecond: r.throughput,
    latencyMs: {
      p50: ns(r.latencies['50th']),
      p90: ns(r.latencies['90th']),
      p99: ns(r.latencies['99th']),
      max: ns(r.latencies.max),
    },
    statusCodes: r.status_codes,
    errors: [...new Set(r.errors ?? [])].slice(0, 3),
    cpu,
    ...probeOf(target.running.probeFile, attackStartedAt, attackEndedAt),
    drainMs: drain.ms,
    drained: drain.drained,
    ...(split ? { overload: split } : {}),
  };
  if (!drain.drained) result.note = `not drained within ${options.drainTimeoutMs / 1000} s`;
  if (hasSqs && calls !== undefined && messages !== undefined && batches !== undefined) {
    result.sqs = {
      calls,
      messages,
      batches,
      accepted: accepted ?? 0,
      callsPerMessage: messages > 0 ? calls / messages : undefined,
      messagesPerBatch: batches > 0 ? messages / batches : undefined,
      meanCallMs: callMs(before, after),
      bufferFull: delta(before, after, 'webhook_invoices_rejected_total{reason="buffer_full"}') ?? 0,
      deadLettered,
    };
  }
  const syncs = delta(before, after, 'journal_fsync_duration_seconds_count');
  if (after?.has('journal_fsync_duration_seconds_count') === true && syncs !== undefined) {
    const fsyncSeconds = delta(before, after, 'journal_fsync_duration_seconds_sum') ?? 0;
    const records = delta(before, after, 'journal_sync_records_sum') ?? 0;
    result.journal = {
      syncs,
      recordsPerSync: syncs > 0 ? records / syncs : undefined,
      meanFsyncMs: syncs > 0 ? (1000 * fsyncSeconds) / syncs : undefined,
    };
  }
  if (target.queueUrl) await purgeQueue(target.queueUrl);
  return result;
}

/** Unrecorded load so the JIT, sockets and SDK clients are warm before the first recorded step. */
async function warmUp(load: LoadOptions, target: Target): Promise<void> {
  const { options, workDir, vegeta } = load;
  if (options.warmupMs <= 0) return;
  const targetsFile = path.join(workDir, `${target.name}-warmup.targets.jsonl`);
  const resultsFile = path.join(workDir, `${target.name}-warmup.bin`);
  // The plain Koa handler awaits one SendMessage per request: 500/s is already past what it sustains.
  const rate = target.name === 'koa-sqs' ? Math.min(200, options.warmupRatePerSecond) : options.warmupRatePerSecond;
  await writeTargets(targetsFile, `${target.running.url}/webhooks/invoice`, `w${Date.now().toString(36)}`, 5000);
  const before = await scrape(target.running.url);
  await attack({
    vegeta,
    targetsFile,
    ratePerSecond: rate,
    durationMs: options.warmupMs,
    requestTimeoutMs: options.requestTimeoutMs,
    maxWorkers: options.maxWorkers,
    outputFile: resultsFile,
  });
  const r = await report(vegeta, resultsFile);
  rmSync(resultsFile, { force: true });
  rmSync(targetsFile, { force: true });
  await waitForDrain(target.running.url, before, options.drainTimeoutMs);
  // A cold process (JIT) sheds part of its first seconds with 503 overloaded: answered, not broken.
  const answered = r.success + (r.status_codes['503'] ?? 0) / Math.max(1, r.requests);
  if (r.success < 0.99) {
    log(
      `warm-up of ${target.name} at ${rate}/s: ${(r.success * 100).toFixed(1)}% success ` +
        `(${JSON.stringify(r.status_codes)}): the machine is busy, or the target is slow to start`,
    );
  }
  // Below half answered, the target is broken rather than slow: stop before recording nonsense.
  if (answered < 0.5) {
    throw new Error(
      `warm-up of ${target.name} at ${rate}/s got ${(r.success * 100).toFixed(1)}% success ` +
        `(${JSON.stringify(r.status_codes)}; ${(r.errors ?? []).slice(0, 2).join(' | ')}); see ${target.running.logFile}`,
    );
  }
}

/** Waits until a file matching `pattern` appears in `dir` and stops growing; returns its path. */
async function waitForFile(dir: string, pattern: RegExp, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let lastSize = -1;
  while (Date.now() < deadline) {
    const name = readdirSync(dir).find((f) => pattern.test(f));
    if (name !== undefined) {
      const size = statSync(path.join(dir, name)).size;
      if (size > 0 && size === lastSize) return path.join(dir, name);
      lastSize = size;
    }
    await sleep(500);
  }
  return undefined;
}

/**
 * RSS with the default buffer full: SQS unreachable (closed port), a little more than BUFFER_CAPACITY
 * invoices posted, VmRSS read once they are all held; then a heap snapshot (full GC first) tells
 * live data from GC slack.
 */
async function bufferFullRss(load: LoadOptions): Promise<BufferFullResult> {
  const capacity = 10000;
  const extra = 200;
  const queueUrl = 'http://127.0.0.1:9/queue/us-east-1/000000000000/unreachable';
  const heapDir = path.join(load.workDir, 'heap');
  mkdirSync(heapDir, { recursive: true });
  const running = await startTarget({
    name: 'service-notrace',
    label: 'buffer-full',
    workDir: load.workDir,
    queueUrl,
    env: { ...load.options.serviceEnv, SQS_ENDPOINT: 'http://127.0.0.1:9', BUFFER_CAPACITY: String(capacity) },
    nodeFlags: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${heapDir}`],
  });
  try {
    await sleep(1000);
    const idleRssBytes = processMemoryBytes(running.pid, 'VmRSS');
    const targetsFile = path.join(load.workDir, 'buffer-full.targets.jsonl');
    const resultsFile = path.join(load.workDir, 'buffer-full.bin');
    await writeTargets(targetsFile, `${running.url}/webhooks/invoice`, `f${Date.now().toString(36)}`, capacity + extra);
    const rate = 2000;
    await attack({
      vegeta: load.vegeta,
      targetsFile,
      ratePerSecond: rate,
      durationMs: Math.ceil(((capacity + extra) / rate) * 1000),
      requestTimeoutMs: load.options.requestTimeoutMs,
      maxWorkers: load.options.maxWorkers,
      outputFile: resultsFile,
    });
    const r = await report(load.vegeta, resultsFile);
    rmSync(resultsFile, { force: true });
    rmSync(targetsFile, { force: true });
    await sleep(2000);
    const metrics = await scrape(running.url);
    const fullRssBytes = processMemoryBytes(running.pid, 'VmRSS');
    const peakRssBytes = processMemoryBytes(running.pid, 'VmHWM');
    process.kill(running.pid, 'SIGUSR2');
    const snapshot = await waitForFile(heapDir, /\.heapsnapshot$/, 60000);
    return {
      capacity,
      posted: r.requests,
      accepted: r.status_codes['202'] ?? 0,
      rejected503: r.status_codes['503'] ?? 0,
      depth: metrics?.get('webhook_buffer_depth'),
      idleRssBytes,
      fullRssBytes,
      peakRssBytes,
      ...(snapshot ? { heap: heapMarkdown(summariseHeap(snapshot)) } : { note: 'no heap snapshot was written' }),
    };
  } finally {
    // Draining would only wait on the closed port (then dead-letter everything): SIGKILL it.
    await running.kill();
  }
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  installCleanup();
  const vegeta = findVegeta();
  if (!existsSync(path.join(REPO_ROOT, 'dist', 'src', 'main.js'))) {
    throw new Error('dist/src/main.js missing: build first (npm run build, or use npm run bench)');
  }
  if (!(await localstackUp())) {
    throw new Error(`LocalStack SQS not answering at ${LOCALSTACK_ENDPOINT}: start it with .ci/localstack.sh start`);
  }
  const lsPid = pidFromFile('localstack') ?? pidByCommand(/localstack\.runtime\.main/);
  const machine = machineInfo(vegeta, await localstackVersion());
  mkdirSync(options.workDir, { recursive: true });
  mkdirSync(options.outDir, { recursive: true });
  log(
    `${options.smoke ? 'smoke' : 'full'} run: targets ${options.targets.join(', ')}; rates ${options.ratesPerSecond.join(', ')}/s; ` +
      `${options.stepDurationMs / 1000} s steps; load ${machine.loadBefore.map((l) => l.toFixed(2)).join(' ')}; work dir ${options.workDir}`,
  );
  if (lsPid === undefined) log('LocalStack pid unknown (.cache/localstack.pid): its CPU will not be reported');

  const load: LoadOptions = { vegeta, options, workDir: options.workDir, jaegerPid: jaegerPid() };
  const targetNotes: Partial<Record<TargetName, string>> = {};
  const targets: Target[] = [];
  const queues: string[] = [];
  const steps: StepResult[] = [];
  const overloadSteps: StepResult[] = [];
  const profileDir = path.join(options.workDir, 'profiles');
  let jaeger: JaegerHandle | undefined;
  let elasticmq: ElasticMqHandle | undefined;
  let emqPid: number | undefined;
  let delayProxy: TcpProxy | undefined;
  let bufferFull: BufferFullResult | undefined;
  const otelServiceName = `invoice-webhook-bench-${Date.now().toString(36)}`;

  try {
    const tracedTargets = options.targets.filter(isTraced);
    if (tracedTargets.length > 0) {
      jaeger = await ensureJaeger();
      const unavailable = jaeger.unavailable;
      if (unavailable) for (const name of tracedTargets) targetNotes[name] = unavailable;
      load.jaegerPid = jaegerPid();
    }
    if (options.targets.some((name) => TARGET_SETUPS[name].sqs === 'elasticmq')) {
      elasticmq = await ensureElasticMq(log);
      emqPid = pidFromFile(ELASTICMQ_PID_NAME);
      if (emqPid === undefined) log('ElasticMQ pid unknown: its CPU will not be reported');
    }
    if (options.targets.some((name) => TARGET_SETUPS[name].delayed)) {
      delayProxy = TcpProxy.forUrl(ELASTICMQ_ENDPOINT);
      delayProxy.answerDelayMs = options.sqsDelayMs;
      await delayProxy.start();
      log(`fault proxy on ${delayProxy.url}: every ElasticMQ answer ${options.sqsDelayMs} ms later`);
    }
    for (const name of options.targets) {
      if (targetNotes[name]) continue;
      const setup = TARGET_SETUPS[name];
      const sqsEndpoint = setup.sqs === 'elasticmq' ? ELASTICMQ_ENDPOINT : LOCALSTACK_ENDPOINT;
      const queueUrl = setup.sqs === 'none' ? undefined : await createQueue(`bench-${name}`, sqsEndpoint);
      if (queueUrl) queues.push(queueUrl);
      const sqsPid = setup.sqs === 'elasticmq' ? emqPid : setup.sqs === 'localstack' ? lsPid : undefined;
      try {
        const running = await startTarget({
          name,
          workDir: options.workDir,
          sqsEndpoint: setup.delayed && delayProxy ? delayProxy.url : sqsEndpoint,
          ...(queueUrl ? { queueUrl } : {}),
          ...(isTraced(name) ? { otelServiceName: `${otelServiceName}-${name}` } : {}),
          ...(options.cpuProfile ? { cpuProfileDir: path.join(profileDir, name) } : {}),
          ...(name.startsWith('service') ? { env: options.serviceEnv } : {}),
        });
        const target: Target = {
          name,
          running,
          active: true,
          ...(queueUrl ? { queueUrl } : {}),
          ...(sqsPid ? { sqsPid } : {}),
        };
        targets.push(target);
        log(`${name}: pid ${running.pid} on ${running.url}; warming up`);
        await warmUp(load, target);
        if (isTraced(name) && !(await waitForSpans(`${otelServiceName}-${name}`, 12000))) {
          targetNotes[name] =
            'no spans reached Jaeger within 12 s of the warm-up (is the OpenTelemetry preload still the placeholder?)';
          target.active = false;
          await running.stop();
        }
      } catch (error) {
        // A traced target without Jaeger, or the Java reference that cannot start or keep up with its
        // warm-up, is reported n/a; any other target failing stops the run.
        if (options.smoke || !(isTraced(name) || TARGET_SETUPS[name].program === 'batch-manager')) throw error;
        targetNotes[name] = (error as Error).message;
        const started = targets.find((t) => t.name === name);
        if (started) {
          started.active = false;
          await started.running.stop();
        }
      }
    }

    for (const rate of options.ratesPerSecond) {
      for (const name of options.targets) {
        const target = targets.find((t) => t.name === name);
        if (targetNotes[name] || target === undefined) {
          steps.push({ target: name, ratePerSecond: rate, outcome: 'n/a', note: targetNotes[name] ?? 'did not start' });
          continue;
        }
        if (!target.active) {
          steps.push({
            target: name,
            ratePerSecond: rate,
            outcome: 'skipped',
            note: `answered < ${options.stopBelowSuccess * 100}% of the offered rate at a lower rate`,
          });
          continue;
        }
        log(`${name} @ ${rate}/s for ${options.stepDurationMs / 1000} s`);
        const result = await runStep(load, target, rate, options.stepDurationMs);
        steps.push(result);
        log(
          `  -> ${result.outcome}: success ${((result.success ?? 0) * 100).toFixed(2)}%, ` +
            `${(result.throughputPerSecond ?? 0).toFixed(0)}/s, p99 ${(result.latencyMs?.p99 ?? NaN).toFixed(2)} ms, ` +
            `CPU ${(result.cpu?.targetPct ?? NaN).toFixed(0)}%, SQS server ${(result.cpu?.sqsPct ?? NaN).toFixed(0)}%`,
        );
        if (result.outcome !== 'ok' || (result.throughputPerSecond ?? 0) < options.stopBelowSuccess * rate) {
          target.active = false;
        }
        await sleep(1000);
      }
      if (!targets.some((t) => t.active)) {
        const rest = options.ratesPerSecond.filter((r) => r > rate);
        if (rest.length > 0)
          log(
            `every target answers < ${options.stopBelowSuccess * 100}% of the offered rate: not stepping to ${rest.join(', ')}/s`,
          );
        break;
      }
    }

    // Graceful overload (CONTRACT §12): each target that met its ceiling in the run, at a multiple of
    // the highest rate it sustained. Targets that sustained every rate offered have no ceiling here.
    if (options.overloadFactor > 0) {
      for (const name of options.targets) {
        const target = targets.find((t) => t.name === name);
        if (targetNotes[name] || target === undefined) continue;
        const ok = steps.filter((s) => s.target === name && s.outcome === 'ok');
        const best = highestSustained19(steps, name);
        if (best === undefined || !ok.some((s) => s.ratePerSecond > best)) continue;
        const rate = Math.round(options.overloadFactor * best);
        log(
          `${name} @ ${rate}/s (overload: ${options.overloadFactor}x its sustained ${best}/s) for ${options.stepDurationMs / 1000} s`,
        );
        const result = await runStep(load, target, rate, options.stepDurationMs, {
          factor: options.overloadFactor,
          sustainedPerSecond: best,
        });
        overloadSteps.push(result);
        const o = result.overload;
        log(
          `  -> ${(result.throughputPerSecond ?? 0).toFixed(0)}/s accepted, ${o?.shed ?? 0} shed (p99 ${(o?.shedMs.p99 ?? NaN).toFixed(1)} ms), ` +
            `${o?.unanswered ?? 0} unanswered, accepted p99 ${(o?.acceptedMs.p99 ?? NaN).toFixed(0)} ms`,
        );
        await sleep(1000);
      }
    }

    for (const t of targets) await t.running.stop();
    if (options.bufferFullRss) {
      log('RSS with the default buffer full (SQS unreachable)');
      bufferFull = await bufferFullRss(load);
    }
  } finally {
    for (const t of targets) await t.running.stop(5000).catch(() => undefined);
    for (const q of queues) await deleteQueue(q);
    closeAdminClient();
    await delayProxy?.close();
    elasticmq?.release();
    const leftovers = killAll();
    if (leftovers.length > 0) log(`stopped leftovers: ${leftovers.join(', ')}`);
    jaeger?.release();
  }

  machine.loadAfter = os.loadavg();
  machine.finishedAt = new Date().toISOString();
  const results: BenchResults = {
    mode: options.smoke ? 'smoke' : 'full',
    machine,
    stepDurationMs: options.stepDurationMs,
    ratesPerSecond: options.ratesPerSecond.filter((r) => steps.some((s) => s.ratePerSecond === r)),
    targets: options.targets,
    targetNotes,
    serviceEnv: options.serviceEnv,
    steps,
    ...(overloadSteps.length > 0 ? { overloadSteps } : {}),
    ...(bufferFull ? { bufferFull } : {}),
    commandLine: `node dist/bench/run.js ${process.argv.slice(2).join(' ')}`.trim(),
  };

  const extra: string[] = [];
  if (options.cpuProfile && existsSync(profileDir)) {
    extra.push('## CPU profiles (`--cpu-prof`, whole process lifetime)', '');
    for (const name of readdirSync(profileDir)) {
      for (const file of readdirSync(path.join(profileDir, name)).filter((f) => f.endsWith('.cpuprofile'))) {
        extra.push(profileMarkdown(name, summariseProfile(path.join(profileDir, name, file))));
        results.profiles = [...(results.profiles ?? []), path.join(profileDir, name, file)];
      }
    }
  }

  const markdown = resultsMarkdown(results, extra);
  const mdFile = path.join(options.outDir, `${localDate()}.md`);
  writeFileSync(mdFile, withoutMachinePaths(markdown));
  // The raw numbers next to the markdown: re-render with `node dist/bench/report.js <date>.json <date>.md`.
  writeFileSync(
    path.join(options.outDir, `${localDate()}.json`),
    withoutMachinePaths(JSON.stringify(results, null, 2) + '\n'),
  );
  process.stdout.write(`\n${consoleTable(steps)}\n\n`);
  if (!options.smoke) {
    for (const v of [...issue19Verdicts(results), ...issue14Verdicts(results), ...verdicts(results)]) {
      process.stdout.write(`${v.verdict.padEnd(6)}  ${v.goal}: ${v.measured}\n`);
    }
  }
  if (bufferFull) {
    process.stdout.write(
      `buffer full: ${bufferFull.depth ?? '?'} buffered, VmRSS ${((bufferFull.fullRssBytes ?? 0) / 1048576).toFixed(0)} MB\n`,
    );
  }
  for (const [name, note] of Object.entries(targetNotes)) process.stdout.write(`${name}: n/a (${note})\n`);
  log(`results: ${mdFile}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(error instanceof Error ? error.message : String(error));
    killAll();
    process.exit(1);
  },
);
