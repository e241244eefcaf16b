import { readFileSync, writeFileSync } from 'node:fs';
import { TARGET_DESCRIPTIONS, type TargetName } from './options.js';
import type { CpuWindow } from './procfs.js';
import { withoutMachinePaths } from './machine-paths.js';

/** Event-loop delay and GC inside the target over a step (bench/probe.ts). */
export interface ProbeWindow {
  /** The worst one-second p99 of event-loop delay, ms. */
  loopP99Ms: number;
  loopMaxMs: number;
  /** Time spent in GC pauses, % of the window. */
  gcPct: number;
  gcMaxMs: number;
  majorGcCount: number;
}

/** One target at one offered rate. */
export interface StepResult {
  target: TargetName;
  ratePerSecond: number;
  /** ok: measured; n/a: the target could not run (note says why); skipped: not stepped this high. */
  outcome: 'ok' | 'n/a' | 'skipped' | 'error';
  /** When the attack began (ISO time): lines up with the target's probe file and logs. */
  startedAt?: string;
  note?: string;
  requests?: number;
  /** Rate at which vegeta actually sent, per second. */
  sentPerSecond?: number;
  /** 0..1 */
  success?: number;
  /** Successful responses per second. */
  throughputPerSecond?: number;
  latencyMs?: { p50: number; p90: number; p99: number; max: number };
  statusCodes?: Record<string, number>;
  errors?: string[];
  /** From the target's /metrics, before/after the step (after its drain). */
  sqs?: {
    calls: number;
    messages: number;
    batches: number;
    accepted: number;
    callsPerMessage: number | undefined;
    messagesPerBatch: number | undefined;
    /** Mean duration of one SendMessageBatch (SendMessage for koa-sqs) call, ms. */
    meanCallMs: number | undefined;
    /** Requests answered 503 because the buffer was full (the service's own count). */
    bufferFull: number;
    /** Accepted invoices written to the dead-letter file instead (none expected). */
    deadLettered?: number;
  };
  /** With the journal on: its group commits over the step, from the target's /metrics. */
  journal?: {
    syncs: number;
    /** Invoices made durable per fdatasync. */
    recordsPerSync: number | undefined;
    meanFsyncMs: number | undefined;
  };
  cpu?: CpuWindow;
  /** From bench/probe.ts inside the target, over the attack window. */
  probe?: ProbeWindow;
  /** How long the target took to empty its buffer (or in-flight calls) after the step, ms. */
  drainMs?: number;
  drained?: boolean;
  /** The overload step (offered `factor` × the target's highest sustained rate): answers split by kind. */
  overload?: OverloadSplit;
}

/** An overload step's answers, accepted and refused apart (from every request vegeta recorded). */
export interface OverloadSplit {
  factor: number;
  /** The target's highest sustained rate before this step. */
  sustainedPerSecond: number;
  accepted: number;
  /** 503 answers, and how many of them said `reason: overloaded` and carried Retry-After. */
  shed: number;
  shedOverloaded: number;
  shedWithRetryAfter: number;
  /** Client timeouts and connection errors (vegeta code 0). */
  unanswered: number;
  /** Any other status. */
  other: number;
  acceptedMs: { p50: number; p99: number; max: number };
  shedMs: { p50: number; p99: number; max: number };
}

export interface BufferFullResult {
  capacity: number;
  posted: number;
  accepted: number;
  rejected503: number;
  depth: number | undefined;
  idleRssBytes: number | undefined;
  fullRssBytes: number | undefined;
  peakRssBytes: number | undefined;
  /** Markdown summary of the heap snapshot. */
  heap?: string;
  note?: string;
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memTotalBytes: number;
  kernel: string;
  nodeVersion: string;
  localstackVersion: string;
  vegeta: string;
  /** The code measured: HEAD and whether src/config/package.json had uncommitted changes. */
  code: string;
  loadBefore: number[];
  loadAfter: number[];
  startedAt: string;
  finishedAt: string;
}

export interface BenchResults {
  mode: 'smoke' | 'full';
  machine: MachineInfo;
  stepDurationMs: number;
  ratesPerSecond: number[];
  targets: TargetName[];
  targetNotes: Partial<Record<TargetName, string>>;
  /** Environment overrides given to the service targets (--service-env). */
  serviceEnv: Record<string, string>;
  steps: StepResult[];
  /** The overload steps (after the rates): one per target that met its ceiling. */
  overloadSteps?: StepResult[];
  bufferFull?: BufferFullResult;
  profiles?: string[];
  commandLine: string;
}

const fmt = (value: number | undefined, digits = 0): string =>
  value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
const mb = (bytes: number | undefined): string => (bytes === undefined ? '–' : (bytes / 1048576).toFixed(0));

const COLUMNS = [
  'rate/s',
  'target',
  'sent/s',
  'success %',
  'thruput/s',
  'p50 ms',
  'p90 ms',
  'p99 ms',
  'max ms',
  'SQS calls/msg',
  'msgs/batch',
  'SQS call ms',
  'CPU %',
  'CPU µs/inv',
  'loop p99 ms',
  'loop max ms',
  'GC %',
  'peak RSS MB',
  'SQS server CPU %',
  'Jaeger CPU %',
  'vegeta CPU %',
  'other CPU %',
  'listen overflows',
  'drain s',
] as const;

/**
 * CPU time of the target (all its threads) per invoice it answered 2xx, µs: CPU % of one core over
 * the attack ÷ successful answers per second.
 */
export function cpuMicrosPerInvoice(s: StepResult): number | undefined {
  const pctOfCore = s.cpu?.targetPct;
  const perSecond = s.throughputPerSecond;
  if (pctOfCore === undefined || perSecond === undefined || perSecond <= 0) return undefined;
  return (pctOfCore / 100) * (1e6 / perSecond);
}

/** Accepted invoices that neither reached SQS nor the dead-letter file by the end of the drain. */
export function undelivered(s: StepResult): number | undefined {
  if (s.sqs === undefined || s.drained === false) return undefined;
  return Math.max(0, s.sqs.accepted - s.sqs.messages - (s.sqs.deadLettered ?? 0));
}

function stepRow(s: StepResult): string[] {
  if (s.outcome !== 'ok') {
    return [String(s.ratePerSecond), s.target, s.outcome, ...Array<string>(COLUMNS.length - 3).fill('')];
  }
  const ms = (v: number | undefined): string => (v === undefined ? '–' : v < 10 ? v.toFixed(2) : v.toFixed(0));
  return [
    String(s.ratePerSecond),
    s.target,
    fmt(s.sentPerSecond),
    fmt(s.success === undefined ? undefined : s.success * 100, s.success === 1 ? 0 : 2),
    fmt(s.throughputPerSecond),
    ms(s.latencyMs?.p50),
    ms(s.latencyMs?.p90),
    ms(s.latencyMs?.p99),
    ms(s.latencyMs?.max),
    fmt(s.sqs?.callsPerMessage, 3),
    fmt(s.sqs?.messagesPerBatch, 2),
    fmt(s.sqs?.meanCallMs, 1),
    fmt(s.cpu?.targetPct),
    fmt(cpuMicrosPerInvoice(s)),
    ms(s.probe?.loopP99Ms),
    ms(s.probe?.loopMaxMs),
    fmt(s.probe?.gcPct, 1),
    mb(s.cpu?.targetPeakRssBytes),
    fmt(s.cpu?.sqsPct ?? (s.cpu as { localstackPct?: number } | undefined)?.localstackPct),
    fmt(s.cpu?.jaegerPct),
    fmt(s.cpu?.vegetaPct),
    fmt(s.cpu?.otherPct),
    fmt(s.cpu?.listenOverflows),
    s.drainMs === undefined ? '–' : `${(s.drainMs / 1000).toFixed(1)}${s.drained === false ? '!' : ''}`,
  ];
}

/** A fixed-width table for the terminal. */
export function consoleTable(steps: StepResult[]): string {
  const rows = [[...COLUMNS], ...steps.map(stepRow)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => cell.padStart(widths[i] ?? 0)).join('  ')).join('\n');
}

function markdownTable(header: readonly string[], rows: string[][], align?: string[]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${(align ?? header.map((_, i) => (i < 2 ? '---' : '---:'))).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** The best (highest) throughput a target reached over all its steps. */
export function peakThroughput(steps: StepResult[], target: TargetName): StepResult | undefined {
  return steps
    .filter((s) => s.target === target && s.outcome === 'ok' && s.throughputPerSecond !== undefined)
    .sort((a, b) => (b.throughputPerSecond ?? 0) - (a.throughputPerSecond ?? 0))[0];
}

/**
 * A rate is sustained when every request succeeded and the answers kept pace with the offered rate
 * (throughput ≥ 95% of it): 100% success with a queue growing for the whole step is not sustained.
 */
export function sustained(s: StepResult): boolean {
  return s.outcome === 'ok' && s.success === 1 && (s.throughputPerSecond ?? 0) >= 0.95 * s.ratePerSecond;
}

/** The highest offered rate a target sustained. */
export function highestSustained(steps: StepResult[], target: TargetName): number | undefined {
  const clean = steps.filter((s) => s.target === target && sustained(s));
  return clean.length === 0 ? undefined : Math.max(...clean.map((s) => s.ratePerSecond));
}

function step(steps: StepResult[], target: TargetName, rate: number): StepResult | undefined {
  return steps.find((s) => s.target === target && s.ratePerSecond === rate && s.outcome === 'ok');
}

const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined || b === 0 ? undefined : a / b;
const pct = (r: number | undefined): string => (r === undefined ? 'n/a' : `${(r * 100).toFixed(0)}%`);

/** Throughput ratios per rate and at the peak. */
export function ratiosMarkdown(results: BenchResults): string {
  const { steps } = results;
  const pairs = (
    [
      ['service (no trace) / bare', 'service-notrace', 'bare'],
      ['service (no trace) / koa-sqs', 'service-notrace', 'koa-sqs'],
      ['tracing on / tracing off', 'service', 'service-notrace'],
      ['sampled 10% / tracing off', 'service-sampled', 'service-notrace'],
      ['journaled / buffered', 'service-journal', 'service-notrace'],
      ['ElasticMQ: service (no trace) / bare', 'service-notrace-emq', 'bare'],
      ['ElasticMQ: service (no trace) / batch-manager', 'service-notrace-emq', 'batch-manager'],
      ['ElasticMQ: tracing on / off', 'service-emq', 'service-notrace-emq'],
      ['ElasticMQ +delay, adaptive / no delay', 'service-notrace-emq-delay', 'service-notrace-emq'],
      ['ElasticMQ +delay, fixed 8 / no delay', 'service-notrace-emq-delay-fixed', 'service-notrace-emq'],
    ] as [string, TargetName, TargetName][]
  ).filter(([, a, b]) => results.targets.includes(a) && results.targets.includes(b));
  const rows = results.ratesPerSecond.map((rate) => [
    String(rate),
    ...pairs.map(([, a, b]) =>
      pct(ratio(step(steps, a, rate)?.throughputPerSecond, step(steps, b, rate)?.throughputPerSecond)),
    ),
  ]);
  rows.push([
    '**peak**',
    ...pairs.map(([, a, b]) =>
      pct(ratio(peakThroughput(steps, a)?.throughputPerSecond, peakThroughput(steps, b)?.throughputPerSecond)),
    ),
  ]);
  const peaks = results.targets.map((t) => {
    const p = peakThroughput(steps, t);
    const clean = highestSustained(steps, t);
    return [
      t,
      p
        ? `${fmt(p.throughputPerSecond)} /s (offered ${p.ratePerSecond}/s, ${fmt((p.success ?? 0) * 100, 1)}% ok)`
        : 'n/a',
      clean === undefined ? 'none' : `${clean} /s`,
    ];
  });
  return [
    markdownTable(['offered rate/s', ...pairs.map(([label]) => label)], rows, ['---:', ...pairs.map(() => '---:')]),
    '',
    markdownTable(['target', 'peak throughput', 'highest sustained rate (100% ok, ≥ 95% of offered)'], peaks, [
      '---',
      '---:',
      '---:',
    ]),
  ].join('\n');
}

export interface TargetVerdict {
  goal: string;
  measured: string;
  verdict: 'met' | 'missed' | 'n/a';
}

/** The team's performance targets, judged from this run's numbers. */
export function verdicts(results: BenchResults): TargetVerdict[] {
  const { steps } = results;
  const out: TargetVerdict[] = [];
  const judge = (ok: boolean | undefined): TargetVerdict['verdict'] =>
    ok === undefined ? 'n/a' : ok ? 'met' : 'missed';

  const svcClean = highestSustained(steps, 'service-notrace');
  const koaFail = steps
    .filter((s) => s.target === 'koa-sqs' && s.outcome === 'ok' && !sustained(s))
    .map((s) => s.ratePerSecond);
  const koaFirstFail = koaFail.length > 0 ? Math.min(...koaFail) : undefined;
  out.push({
    goal: '100% success at a rate the plain Koa handler cannot sustain',
    measured: `service-notrace sustained up to ${svcClean ?? 'none'}/s; koa-sqs first not sustained at ${koaFirstFail ?? 'none'}/s`,
    verdict: koaFirstFail === undefined ? 'n/a' : judge(svcClean !== undefined && svcClean >= koaFirstFail),
  });

  const at2k = step(steps, 'service-notrace', 2000);
  out.push({
    goal: 'ack latency p99 ≤ 5 ms at 2,000 requests/s (tracing off)',
    measured: at2k?.latencyMs ? `p99 ${at2k.latencyMs.p99.toFixed(2)} ms` : 'not measured',
    verdict: judge(at2k?.latencyMs ? at2k.latencyMs.p99 <= 5 : undefined),
  });

  const svcSteps = steps.filter((s) => s.target === 'service-notrace' && s.outcome === 'ok' && s.sqs);
  const saturated = svcSteps.sort((a, b) => b.ratePerSecond - a.ratePerSecond)[0];
  const fill = saturated?.sqs?.messagesPerBatch;
  out.push({
    goal: '≥ 9.5 messages per SendMessageBatch at saturation',
    measured: fill === undefined ? 'not measured' : `${fill.toFixed(2)} at ${saturated?.ratePerSecond}/s offered`,
    verdict: judge(fill === undefined ? undefined : fill >= 9.5),
  });

  const vsBare = ratio(
    peakThroughput(steps, 'service-notrace')?.throughputPerSecond,
    peakThroughput(steps, 'bare')?.throughputPerSecond,
  );
  const bareTop = steps
    .filter((s) => s.target === 'bare' && s.outcome === 'ok')
    .sort((a, b) => b.ratePerSecond - a.ratePerSecond)[0];
  const bareUnsaturated = bareTop !== undefined && sustained(bareTop);
  out.push({
    goal: 'peak accepted rate ≥ 60% of bare node:http',
    measured:
      vsBare === undefined
        ? 'not measured'
        : `${fmt(peakThroughput(steps, 'service-notrace')?.throughputPerSecond)}/s vs ${fmt(peakThroughput(steps, 'bare')?.throughputPerSecond)}/s: ${pct(vsBare)} of bare` +
          (bareUnsaturated
            ? ` (bare still kept up at ${bareTop.ratePerSecond}/s, the highest rate offered: its ceiling is higher, so this is an upper bound)`
            : ''),
    verdict: judge(vsBare === undefined ? undefined : vsBare >= 0.6),
  });

  out.push(rssVerdict(results));

  for (const [target, how] of [
    ['service', 'every request traced'],
    ['service-sampled', 'head sampling at 10%'],
  ] as const) {
    const traced = ratio(
      peakThroughput(steps, target)?.throughputPerSecond,
      peakThroughput(steps, 'service-notrace')?.throughputPerSecond,
    );
    const note = results.targetNotes[target];
    out.push({
      goal: `tracing on (${how}) ≥ 85% of the throughput with tracing off`,
      measured: traced === undefined ? `n/a${note ? ` (${note})` : ''}` : `${pct(traced)} at the peak`,
      verdict: judge(traced === undefined ? undefined : traced >= 0.85),
    });
  }
  return out;
}

/** RSS with the buffer full; judged only when the buffer really filled (a starved load generator may not fill it). */
function rssVerdict(results: BenchResults): TargetVerdict {
  const b = results.bufferFull;
  const rss = b?.fullRssBytes;
  const filled = b !== undefined && (b.depth ?? 0) >= 0.99 * b.capacity;
  return {
    goal: 'RSS ≤ 150 MB with the default buffer full',
    measured:
      rss === undefined
        ? 'not measured'
        : `${mb(rss)} MB VmRSS with ${b?.depth ?? '?'} of ${b?.capacity} buffered, VmHWM ${mb(b?.peakRssBytes)} MB` +
          (filled ? '' : ' (the buffer did not fill: not judged)'),
    verdict: rss === undefined || !filled ? 'n/a' : rss <= 150 * 1048576 ? 'met' : 'missed',
  };
}

/**
 * Issue 19's definition: ≥ 99.9% answered 2xx, throughput ≥ 95% of the offered rate, p99 < 1 s (a
 * service that sheds may refuse a few requests in a noisy second without having lost its footing).
 */
export function sustained19(s: StepResult): boolean {
  return (
    s.outcome === 'ok' &&
    (s.success ?? 0) >= 0.999 &&
    (s.throughputPerSecond ?? 0) >= 0.95 * s.ratePerSecond &&
    (s.latencyMs?.p99 ?? Infinity) < 1000
  );
}

/** The highest offered rate a target sustained, by {@link sustained19}. */
export function highestSustained19(steps: StepResult[], target: TargetName): number | undefined {
  const clean = steps.filter((s) => s.target === target && sustained19(s));
  return clean.length === 0 ? undefined : Math.max(...clean.map((s) => s.ratePerSecond));
}

/** The overload steps as a table: accepted and shed answers apart. */
export function overloadMarkdown(results: BenchResults): string {
  const rows = (results.overloadSteps ?? []).map((s) => {
    const o = s.overload;
    const peak = peakThroughput([...results.steps, ...(results.overloadSteps ?? [])], s.target)?.throughputPerSecond;
    const ms = (v: number | undefined): string =>
      v === undefined || !Number.isFinite(v) ? '–' : v < 10 ? v.toFixed(2) : v.toFixed(0);
    return [
      s.target,
      `${o?.factor ?? '?'}× ${o?.sustainedPerSecond ?? '?'} = ${s.ratePerSecond}`,
      fmt(s.sentPerSecond),
      fmt(s.throughputPerSecond),
      fmt(peak),
      pct(ratio(s.throughputPerSecond, peak)),
      ms(o?.acceptedMs.p50),
      ms(o?.acceptedMs.p99),
      `${o?.shed ?? 0} (${o?.shedOverloaded ?? 0} overloaded, ${o?.shedWithRetryAfter ?? 0} Retry-After)`,
      ms(o?.shedMs.p50),
      ms(o?.shedMs.p99),
      ms(o?.shedMs.max),
      String(o?.unanswered ?? 0),
      String(o?.other ?? 0),
      fmt(s.cpu?.targetPct),
      fmt(s.cpu?.vegetaPct),
      fmt(s.cpu?.otherPct),
    ];
  });
  return markdownTable(
    [
      'target',
      'offered /s',
      'sent/s',
      'goodput /s',
      'peak /s',
      'goodput / peak',
      'accepted p50 ms',
      'accepted p99 ms',
      '503s',
      '503 p50 ms',
      '503 p99 ms',
      '503 max ms',
      'unanswered',
      'other status',
      'CPU %',
      'vegeta CPU %',
      'other CPU %',
    ],
    rows,
  );
}

/** The targets of issue 19 (performance round three), judged from this run's numbers (ElasticMQ). */
export function issue19Verdicts(results: BenchResults): TargetVerdict[] {
  const { steps } = results;
  const all = [...steps, ...(results.overloadSteps ?? [])];
  const out: TargetVerdict[] = [];
  const judge = (ok: boolean | undefined): TargetVerdict['verdict'] =>
    ok === undefined ? 'n/a' : ok ? 'met' : 'missed';
  const has = (t: TargetName): boolean => results.targets.includes(t);
  const rateOf = (t: TargetName): number | undefined => (has(t) ? highestSustained19(steps, t) : undefined);

  const svc: TargetName = 'service-notrace-emq';
  const over = results.overloadSteps?.find((s) => s.target === svc);
  const o = over?.overload;
  const peak = peakThroughput(all, svc)?.throughputPerSecond;
  const share = ratio(over?.throughputPerSecond, peak);
  const lost = over === undefined ? undefined : undelivered(over);
  const shedOk = o !== undefined && o.shed === o.shedOverloaded && o.shed === o.shedWithRetryAfter && o.other === 0;
  out.push({
    goal: 'graceful overload: at 2× the sustained rate, goodput ≥ 90% of the peak, accepted p99 ≤ 1 s, every refusal 503 overloaded + Retry-After within 50 ms (p99), no client timeouts, nothing accepted lost',
    measured:
      over === undefined || o === undefined
        ? 'not measured (no overload step: the target met no ceiling, or --overload 0)'
        : `${fmt(over.throughputPerSecond)}/s of a ${fmt(peak)}/s peak (${pct(share)}) at ${over.ratePerSecond}/s offered; accepted p99 ${fmt(o.acceptedMs.p99)} ms; ` +
          `${o.shed} shed (${o.shedOverloaded} overloaded, ${o.shedWithRetryAfter} with Retry-After; p50 ${fmt(o.shedMs.p50, 1)}, p99 ${fmt(o.shedMs.p99, 1)}, max ${fmt(o.shedMs.max)} ms); ` +
          `${o.unanswered} unanswered, ${o.other} other statuses; undelivered after drain ${lost ?? '?'}`,
    verdict: judge(
      over === undefined || o === undefined || share === undefined
        ? undefined
        : share >= 0.9 && o.acceptedMs.p99 <= 1000 && shedOk && o.shedMs.p99 <= 50 && o.unanswered === 0 && lost === 0,
    ),
  });

  const emq = rateOf(svc);
  const manager = rateOf('batch-manager');
  const vsManager = ratio(emq, manager);
  out.push({
    goal: 'sustained rate ≥ 1.25× the Java batch manager in the same run (then 1.5×)',
    measured:
      emq === undefined || manager === undefined ? 'not measured' : `${emq}/s vs ${manager}/s: ${fmt(vsManager, 2)}×`,
    verdict: judge(vsManager === undefined ? undefined : vsManager >= 1.25),
  });

  const at4k = step(steps, svc, 4000);
  const us = at4k === undefined ? undefined : cpuMicrosPerInvoice(at4k);
  out.push({
    goal: 'CPU per invoice, all threads, at 4,000/s untraced ≤ 120 µs',
    measured:
      at4k === undefined
        ? 'not measured (no 4000/s step)'
        : `${fmt(us)} µs (${fmt((at4k.success ?? 0) * 100, 1)}% ok, ${fmt(at4k.throughputPerSecond)}/s)`,
    verdict: judge(us === undefined || at4k === undefined ? undefined : us <= 120 && sustained19(at4k)),
  });

  const traced = rateOf('service-emq');
  const tracedShare = ratio(traced, emq);
  out.push({
    goal: 'every request traced: sustained ≥ 75% of untraced',
    measured:
      traced === undefined || emq === undefined
        ? `not measured${results.targetNotes['service-emq'] ? ` (${results.targetNotes['service-emq']})` : ''}`
        : `${traced}/s vs ${emq}/s: ${pct(tracedShare)}`,
    verdict: judge(tracedShare === undefined ? undefined : tracedShare >= 0.75),
  });
  const sampled = rateOf('service-sampled');
  const untracedLs = rateOf('service-notrace');
  const sampledShare = ratio(sampled, untracedLs);
  out.push({
    goal: 'with 10% head sampling: sustained ≥ 95% of untraced (LocalStack targets)',
    measured:
      sampled === undefined || untracedLs === undefined
        ? 'not measured'
        : `${sampled}/s vs ${untracedLs}/s: ${pct(sampledShare)}`,
    verdict: judge(sampledShare === undefined ? undefined : sampledShare >= 0.95),
  });

  const j = step(steps, 'service-journal', 2000);
  const u = step(steps, 'service-notrace', 2000);
  const extra = j?.latencyMs && u?.latencyMs ? j.latencyMs.p99 - u.latencyMs.p99 : undefined;
  // Two p99s compare only where both held the rate: a collapsing step's p99 is its timeout.
  const bothHeld = j !== undefined && u !== undefined && sustained19(j) && sustained19(u);
  out.push({
    goal: 'journal on: p99 at 2,000/s ≤ untraced p99 + 2 ms (LocalStack targets)',
    measured:
      extra === undefined
        ? 'not measured'
        : `${fmt(j?.latencyMs?.p99, 2)} ms vs ${fmt(u?.latencyMs?.p99, 2)} ms: ${extra >= 0 ? '+' : '−'}${fmt(Math.abs(extra), 2)} ms` +
          (bothHeld ? '' : ' (not judged: one or both did not sustain 2,000/s)'),
    verdict: judge(extra === undefined || !bothHeld ? undefined : extra <= 2),
  });
  return out;
}

/** The targets of issue 14 (performance round two), judged from this run's numbers. */
export function issue14Verdicts(results: BenchResults): TargetVerdict[] {
  const { steps } = results;
  const out: TargetVerdict[] = [];
  const judge = (ok: boolean | undefined): TargetVerdict['verdict'] =>
    ok === undefined ? 'n/a' : ok ? 'met' : 'missed';
  const has = (t: TargetName): boolean => results.targets.includes(t);
  const rateOf = (t: TargetName): number | undefined => (has(t) ? highestSustained(steps, t) : undefined);
  const lost = (t: TargetName): number =>
    steps.filter((s) => s.target === t).reduce((sum, s) => sum + (undelivered(s) ?? 0), 0);

  const emq = rateOf('service-notrace-emq');
  const bare = rateOf('bare');
  const bareTop = steps
    .filter((s) => s.target === 'bare' && s.outcome === 'ok')
    .sort((a, b) => b.ratePerSecond - a.ratePerSecond)[0];
  const vsBare = ratio(emq, bare);
  const manager = rateOf('batch-manager');
  const vsManager = ratio(emq, manager);
  const managerAccepted = steps
    .filter((s) => s.target === 'batch-manager')
    .reduce((sum, s) => sum + (s.sqs?.accepted ?? 0), 0);
  out.push({
    goal: 'sustained rate on ElasticMQ ≥ 1.5× the SqsAsyncBatchManager server',
    measured:
      emq === undefined || manager === undefined
        ? `not measured${results.targetNotes['batch-manager'] ? ` (${results.targetNotes['batch-manager']})` : ''}`
        : `${emq}/s vs ${manager}/s: ${fmt(vsManager, 2)}×; batch-manager accepted ${managerAccepted} over the run, ` +
          `${lost('batch-manager')} of them never landed`,
    verdict: judge(vsManager === undefined ? undefined : vsManager >= 1.5),
  });
  out.push({
    goal: 'sustained rate on ElasticMQ ≥ 70% of bare node:http, nothing accepted lost',
    measured:
      emq === undefined || bare === undefined
        ? 'not measured'
        : `${emq}/s vs bare ${bare}/s: ${pct(vsBare)}; undelivered after drain: ${lost('service-notrace-emq')}` +
          (bareTop !== undefined && sustained(bareTop)
            ? ' (bare sustained the highest rate offered: a lower bound for bare)'
            : ''),
    verdict: judge(vsBare === undefined ? undefined : vsBare >= 0.7 && lost('service-notrace-emq') === 0),
  });

  for (const [target, where, limitMs] of [
    ['service-notrace', 'LocalStack', 5],
    ['service-notrace-emq', 'ElasticMQ', 3],
  ] as const) {
    const at2k = step(steps, target, 2000);
    out.push({
      goal: `ack p99 at 2,000/s ≤ ${limitMs} ms on ${where} (tracing off)`,
      measured: at2k?.latencyMs
        ? `p99 ${at2k.latencyMs.p99.toFixed(2)} ms (${fmt((at2k.success ?? 0) * 100, 2)}% ok)`
        : 'not measured',
      verdict: judge(at2k?.latencyMs ? at2k.latencyMs.p99 <= limitMs && at2k.success === 1 : undefined),
    });
  }

  const delayed = rateOf('service-notrace-emq-delay');
  const fixed = rateOf('service-notrace-emq-delay-fixed');
  const vsUndelayed = ratio(delayed, emq);
  out.push({
    goal: 'with SQS answers delayed (fault proxy), sustained rate ≥ 80% of the same without the delay',
    measured:
      delayed === undefined || emq === undefined
        ? 'not measured'
        : `adaptive ${delayed}/s vs ${emq}/s: ${pct(vsUndelayed)}` +
          (fixed === undefined ? '' : `; fixed at 8 calls: ${fixed}/s (${pct(ratio(fixed, emq))})`),
    verdict: judge(vsUndelayed === undefined ? undefined : vsUndelayed >= 0.8),
  });

  for (const [traced, untraced, where] of [
    ['service', 'service-notrace', 'LocalStack'],
    ['service-emq', 'service-notrace-emq', 'ElasticMQ'],
  ] as const) {
    if (!has(traced) || !has(untraced)) continue;
    const peak = peakThroughput(steps, untraced);
    const tracedAt = peak === undefined ? undefined : step(steps, traced, peak.ratePerSecond);
    const r = ratio(tracedAt?.throughputPerSecond, peak?.throughputPerSecond);
    out.push({
      goal: `every request traced ≥ 85% of untraced throughput at the untraced peak (${where})`,
      measured:
        r === undefined
          ? `n/a${results.targetNotes[traced] ? ` (${results.targetNotes[traced]})` : ''}`
          : `${fmt(tracedAt?.throughputPerSecond)}/s vs ${fmt(peak?.throughputPerSecond)}/s at ${peak?.ratePerSecond}/s offered: ${pct(r)}`,
      verdict: judge(r === undefined ? undefined : r >= 0.85),
    });
  }

  for (const [untraced, traced, where] of [
    ['service-notrace', 'service', 'LocalStack'],
    ['service-notrace-emq', 'service-emq', 'ElasticMQ'],
  ] as const) {
    if (!has(untraced)) continue;
    const off = step(steps, untraced, 2000);
    const on = step(steps, traced, 2000);
    const offUs = off ? cpuMicrosPerInvoice(off) : undefined;
    const onUs = on ? cpuMicrosPerInvoice(on) : undefined;
    out.push({
      goal: `CPU per invoice at 2,000/s, all threads, ≤ 100 µs untraced and ≤ 150 µs traced (${where})`,
      measured: `untraced ${fmt(offUs)} µs, traced ${fmt(onUs)} µs`,
      verdict: offUs === undefined ? 'n/a' : judge(offUs <= 100 && (onUs === undefined || onUs <= 150)),
    });
  }

  out.push(rssVerdict(results));
  return out;
}

/** What the "other CPU %" column says about work outside the bench during the steps. */
function noiseSummary(steps: StepResult[]): string {
  const measured = steps.filter((s) => s.outcome === 'ok' && s.cpu !== undefined);
  if (measured.length === 0) return '';
  const worst = measured.reduce((a, b) => ((b.cpu?.otherPct ?? 0) > (a.cpu?.otherPct ?? 0) ? b : a));
  const mean = measured.reduce((sum, s) => sum + (s.cpu?.otherPct ?? 0), 0) / measured.length;
  const noisy = measured.filter((s) => (s.cpu?.otherPct ?? 0) >= 10).length;
  return (
    `During this run, CPU outside target + LocalStack + Jaeger + vegeta ("other CPU %") averaged ${mean.toFixed(0)}% ` +
    `of a core per step, at most ${(worst.cpu?.otherPct ?? 0).toFixed(0)}% (${worst.target} @ ${worst.ratePerSecond}/s); ` +
    `${noisy} of ${measured.length} steps had ≥ 10%.`
  );
}

/** The results file. */
export function resultsMarkdown(results: BenchResults, extra: string[] = []): string {
  const m = results.machine;
  const lines: string[] = [];
  const date = m.startedAt.slice(0, 10);
  lines.push(`# Benchmark results ${date}${results.mode === 'smoke' ? ' (smoke)' : ''}`, '');
  lines.push(
    `Command: \`${results.commandLine}\`. Steps of ${results.stepDurationMs / 1000} s per target and rate, ` +
      `open model (vegeta, fixed rate). Started ${m.startedAt}, finished ${m.finishedAt}.`,
    '',
  );
  lines.push('## Machine', '');
  lines.push(
    `- ${m.nproc} CPUs (${m.cpuModel}), ${(m.memTotalBytes / 1073741824).toFixed(1)} GiB memory, Linux ${m.kernel}`,
    `- Code measured: ${m.code}`,
    `- Node ${m.nodeVersion} (service and references), LocalStack ${m.localstackVersion} (host mode, same machine)${results.targets.some((t) => t.includes('emq')) ? ', ElasticMQ 1.6.14 (JVM, same machine; .ci/elasticmq.sh)' : ''}, vegeta ${m.vegeta}`,
    `- Load average (1/5/15 min) before: ${m.loadBefore.map((l) => l.toFixed(2)).join(' / ')}, after: ${m.loadAfter
      .map((l) => l.toFixed(2))
      .join(' / ')}`,
    `- **Shared, noisy machine**: vegeta, LocalStack, Jaeger and the target all run on these ${m.nproc} cores, and ` +
      'other engineers work on the same machine. ' +
      noiseSummary(results.steps) +
      ' Compare targets within a rate, not across runs.',
    '',
  );
  lines.push('## Targets', '');
  for (const t of results.targets) {
    lines.push(`- **${t}**${results.targetNotes[t] ? ` — n/a: ${results.targetNotes[t]}` : ''}`);
  }
  const overrides = Object.entries(results.serviceEnv);
  lines.push(
    '',
    overrides.length === 0
      ? 'The service ran with its default configuration (config/default.json), LOG_LEVEL=warn.'
      : `Service configuration overrides: ${overrides.map(([k, v]) => `${k}=${v}`).join(', ')} (otherwise defaults, LOG_LEVEL=warn).`,
    '',
  );
  lines.push('## Results', '');
  lines.push(
    'CPU % is of one core (the machine has ' +
      `${m.nproc * 100}%); peak RSS is the highest VmRSS sampled every 100 ms during the step. ` +
      "SQS calls/msg and msgs/batch come from the target's /metrics (deltas over the step and its drain). " +
      'See bench/README.md for every column.',
    '',
  );
  lines.push(markdownTable(COLUMNS, results.steps.map(stepRow)));
  lines.push('');
  const journaled = results.steps.filter((s) => s.journal !== undefined);
  if (journaled.length > 0) {
    lines.push('### The journal', '');
    lines.push(
      markdownTable(
        ['rate /s', 'target', 'fdatasyncs', 'invoices per sync', 'mean fsync ms', 'ack p99 ms'],
        journaled.map((s) => [
          String(s.ratePerSecond),
          s.target,
          fmt(s.journal?.syncs),
          fmt(s.journal?.recordsPerSync, 1),
          fmt(s.journal?.meanFsyncMs, 2),
          fmt(s.latencyMs?.p99, 2),
        ]),
      ),
      '',
    );
  }
  // Skipped steps need no note each: the table says so, and the README says why.
  const notes = results.steps.filter(
    (s) =>
      s.outcome !== 'skipped' &&
      (s.note !== undefined || (s.errors?.length ?? 0) > 0 || (s.cpu?.busiestOthers.length ?? 0) > 0),
  );
  if (notes.length > 0) {
    lines.push('Step notes:', '');
    for (const s of notes) {
      const codes = s.statusCodes ? ` status codes ${JSON.stringify(s.statusCodes)}` : '';
      const errors = s.errors && s.errors.length > 0 ? `; errors: ${s.errors.join(' | ')}` : '';
      const others =
        s.cpu && s.cpu.busiestOthers.length > 0
          ? `; other busy processes: ${s.cpu.busiestOthers.map((o) => `\`${o.command}\` ${o.pct.toFixed(0)}%`).join(', ')}`
          : '';
      lines.push(
        `- ${s.target} @ ${s.ratePerSecond}/s (${s.outcome}):${s.note ? ` ${s.note};` : ''}${codes}${errors}${others}`,
      );
    }
    lines.push('');
  }
  lines.push('## Ratios (throughput)', '', ratiosMarkdown(results), '');
  if (results.bufferFull) {
    const b = results.bufferFull;
    lines.push('## RSS with the default buffer full', '');
    lines.push(
      `Service (tracing off), BUFFER_CAPACITY=${b.capacity}, SQS_ENDPOINT=http://127.0.0.1:9 (closed: nothing drains). ` +
        `Posted ${b.posted} invoices: ${b.accepted} accepted, ${b.rejected503} answered 503; buffer depth ${b.depth ?? '?'} ` +
        `(the rest are in the flusher's in-flight batches, retrying). VmRSS idle ${mb(b.idleRssBytes)} MB, ` +
        `full ${mb(b.fullRssBytes)} MB, VmHWM ${mb(b.peakRssBytes)} MB.${b.note ? ` ${b.note}` : ''}`,
      '',
    );
    if (b.heap) lines.push(b.heap, '');
  }
  if ((results.overloadSteps ?? []).length > 0) {
    lines.push('## Overload (CONTRACT §12)', '');
    lines.push(
      'After the rates, each target that met its ceiling in the run is offered a multiple of its highest sustained rate ' +
        '(issue 19: ≥ 99.9% 2xx, ≥ 95% of the offered rate, p99 < 1 s) for one step. Goodput is 2xx answers per second; ' +
        'the peak is the best goodput of the target over the run, this step included. Latencies are split: accepted (2xx) ' +
        'and refused (503) answers apart; unanswered = client timeouts and resets.',
      '',
      markdownTable(COLUMNS, (results.overloadSteps ?? []).map(stepRow)),
      '',
      overloadMarkdown(results),
      '',
    );
  }
  if (results.mode === 'full' && results.targets.some((t) => t.includes('emq'))) {
    lines.push('## Targets of issue 19', '');
    lines.push(
      markdownTable(
        ['goal', 'measured', 'verdict'],
        issue19Verdicts(results).map((v) => [v.goal, v.measured, v.verdict === 'met' ? 'met' : `**${v.verdict}**`]),
        ['---', '---', '---'],
      ),
    );
    lines.push('');
    lines.push('## Targets of issue 14', '');
    lines.push(
      markdownTable(
        ['goal', 'measured', 'verdict'],
        issue14Verdicts(results).map((v) => [v.goal, v.measured, v.verdict === 'met' ? 'met' : `**${v.verdict}**`]),
        ['---', '---', '---'],
      ),
    );
    lines.push('');
  }
  if (results.mode === 'full') {
    lines.push('## Targets of issue 6', '');
    lines.push(
      markdownTable(
        ['goal', 'measured', 'verdict'],
        verdicts(results).map((v) => [v.goal, v.measured, v.verdict === 'met' ? 'met' : `**${v.verdict}**`]),
        ['---', '---', '---'],
      ),
    );
    lines.push('');
  }
  lines.push('## What each target is', '');
  for (const t of results.targets) lines.push(`- **${t}**: ${TARGET_DESCRIPTIONS[t]}`);
  lines.push('');
  lines.push(...extra);
  return lines.join('\n') + '\n';
}

// Re-renders a results file from its raw numbers: node dist/bench/report.js <date>.json <date>.md
if (require.main === module) {
  const [json, out] = process.argv.slice(2);
  if (json === undefined || out === undefined) {
    process.stderr.write('usage: node dist/bench/report.js RESULTS.json OUT.md\n');
    process.exit(2);
  }
  writeFileSync(out, withoutMachinePaths(resultsMarkdown(JSON.parse(readFileSync(json, 'utf8')) as BenchResults)));
}
