import path from 'node:path';

/** What the bench can put under load, side by side in one run. */
export const TARGET_NAMES = [
  'service',
  'service-sampled',
  'service-notrace',
  'service-journal',
  'bare',
  'koa-sqs',
  'service-emq',
  'service-notrace-emq',
  'service-notrace-emq-delay',
  'service-notrace-emq-delay-fixed',
  'batch-manager',
] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

/** How a target is run: which program, with what tracing, against which SQS. */
export interface TargetSetup {
  program: 'service' | 'bare' | 'koa-sqs' | 'batch-manager';
  /** all: every request traced; sampled: 10% head sampling; off: OTEL_SDK_DISABLED. */
  tracing: 'all' | 'sampled' | 'off';
  sqs: 'localstack' | 'elasticmq' | 'none';
  /** Through the fault proxy, which holds every SQS answer back by `--sqs-delay`. */
  delayed: boolean;
  /** Extra environment for this target (before --service-env). */
  env: Record<string, string>;
}

const setup = (
  program: TargetSetup['program'],
  tracing: TargetSetup['tracing'],
  sqs: TargetSetup['sqs'],
  extra: Partial<Pick<TargetSetup, 'delayed' | 'env'>> = {},
): TargetSetup => ({ program, tracing, sqs, delayed: extra.delayed ?? false, env: extra.env ?? {} });

/** A fixed limit of 8 calls in flight: the behaviour before the adaptive limit, for comparison. */
const FIXED_CONCURRENCY = { FLUSH_CONCURRENCY: '8', FLUSH_CONCURRENCY_MIN: '8', FLUSH_CONCURRENCY_MAX: '8' };

export const TARGET_SETUPS: Record<TargetName, TargetSetup> = {
  service: setup('service', 'all', 'localstack'),
  'service-sampled': setup('service', 'sampled', 'localstack'),
  'service-notrace': setup('service', 'off', 'localstack'),
  'service-journal': setup('service', 'off', 'localstack'),
  bare: setup('bare', 'off', 'none'),
  'koa-sqs': setup('koa-sqs', 'off', 'localstack'),
  'service-emq': setup('service', 'all', 'elasticmq'),
  'service-notrace-emq': setup('service', 'off', 'elasticmq'),
  'service-notrace-emq-delay': setup('service', 'off', 'elasticmq', { delayed: true }),
  'service-notrace-emq-delay-fixed': setup('service', 'off', 'elasticmq', { delayed: true, env: FIXED_CONCURRENCY }),
  'batch-manager': setup('batch-manager', 'off', 'elasticmq'),
};

/** What a target is, in one line, for the results file. */
export const TARGET_DESCRIPTIONS: Record<TargetName, string> = {
  service:
    'the real service (`npm start` command line), tracing on: OTel SDK from the preload, OTLP/HTTP to Jaeger on 127.0.0.1:4318',
  'service-sampled':
    'the real service, tracing on with head sampling at 10% (`OTEL_TRACES_SAMPLER=parentbased_traceidratio`, `OTEL_TRACES_SAMPLER_ARG=0.1`, as the README recommends at volume), OTLP/HTTP to Jaeger',
  'service-notrace': 'the real service, OTEL_SDK_DISABLED=true',
  'service-journal':
    'the real service, OTEL_SDK_DISABLED=true, with the crash-safe journal (JOURNAL_DIR in the work folder): each 202 waits for its fdatasync',
  bare: 'bench/reference/bare-http.ts: node:http, reads the body, answers 202 (the ceiling)',
  'koa-sqs':
    'bench/reference/koa-sqs.ts: Koa + koa-body + the same validator, awaits one SendMessage per request (SDK defaults)',
  'service-emq': 'the real service, every request traced (as `service`), against ElasticMQ instead of LocalStack',
  'service-notrace-emq':
    'the real service, tracing off, against ElasticMQ (the faster SQS: the service, not its SQS, is measured)',
  'service-notrace-emq-delay':
    'as service-notrace-emq, through the fault proxy holding every SQS answer back by `--sqs-delay`: the adaptive concurrency limit (defaults 8, 2..64)',
  'service-notrace-emq-delay-fixed':
    'the same delay, with the concurrency fixed at 8 (FLUSH_CONCURRENCY_MIN = MAX = 8), the behaviour before the adaptive limit',
  'batch-manager':
    "bench/reference/batch-manager/: AWS SDK for Java v2 SqsAsyncBatchManager (send frequency 10 ms, batches of 10) behind the JDK's HTTP server, same route and JSON Schema, against ElasticMQ; 202 before sending, no retry of failed entries",
};

export interface BenchOptions {
  /** About 5 s in all: one low rate against service-notrace only, results to a scratch folder. */
  smoke: boolean;
  /** Offered rates in requests per second, stepped upwards. Default: 500,1000,2000,5000,10000. */
  ratesPerSecond: number[];
  /** Length of one recorded step. Default: 30 s (smoke: 3 s). */
  stepDurationMs: number;
  /** Unrecorded load before a target's first step (JIT, sockets, Jaeger probe). Default: 5 s (smoke: 1 s). */
  warmupMs: number;
  /** Rate of the warm-up. Default: 500/s (koa-sqs: at most 200/s; smoke: 100/s). */
  warmupRatePerSecond: number;
  /** Targets, in the order they run within each rate. Default: all (smoke: service-notrace). */
  targets: TargetName[];
  /** Where the results file goes. Default: bench/results (smoke: bench/.work/smoke-<time>). */
  outDir: string;
  /** Scratch folder: vegeta outputs, logs, profiles. Default: bench/.work/run-<time>. */
  workDir: string;
  /** vegeta's per-request timeout. Default: 5 s. */
  requestTimeoutMs: number;
  /** vegeta's worker cap (each worker holds a connection). Default: 5000. */
  maxWorkers: number;
  /** Whether to measure RSS with the default buffer full (SQS unreachable). Default: yes (smoke: no). */
  bufferFullRss: boolean;
  /**
   * After the rates: each target with a ceiling in the run (it failed a rate) is offered this multiple
   * of its highest sustained rate for one step (CONTRACT §12, graceful overload). 0 = none. Default: 2 (smoke: 0).
   */
  overloadFactor: number;
  /** Run the service targets with --cpu-prof and summarise the profiles. Default: no. */
  cpuProfile: boolean;
  /**
   * A target that answered successfully less than this share of the offered rate is not stepped
   * higher (its collapse is already on record). Default: 0.5.
   */
  stopBelowSuccess: number;
  /** Longest wait for a target to drain between steps. Default: 60 s. */
  drainTimeoutMs: number;
  /** Extra environment for the service targets (experiments: FLUSH_CONCURRENCY=16, ...). Default: none. */
  serviceEnv: Record<string, string>;
  /** Added to every SQS answer of the `-delay` targets by the fault proxy. Default: 30 ms. */
  sqsDelayMs: number;
}

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Where recorded runs write `<date>.md` (committed). */
export const DEFAULT_RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');

const USAGE = `usage: node dist/bench/run.js [options]
  --smoke                    ~5 s: service-notrace at one low rate (CI); writes to bench/.work unless --out
  --rates 500,1000,2000      offered rates, requests/s (default 500,1000,2000,3000,4000,6000,10000)
  --duration 30s             length of one step (ms, s or m suffix; default 30s)
  --warmup 5s                unrecorded warm-up per target before its first step
  --warmup-rate 500          its rate, requests/s (koa-sqs: at most 200)
  --sqs-delay 30ms           what the fault proxy adds to every SQS answer of the -delay targets
  --targets a,b              any of ${TARGET_NAMES.join(', ')} (default all)
  --out DIR                  folder for the results file (default bench/results)
  --timeout 5s               vegeta per-request timeout
  --max-workers N            vegeta worker cap (default 5000)
  --no-buffer-full           skip the RSS-with-full-buffer measurement
  --overload 2               after the rates, offer each target with a ceiling this multiple of its highest sustained rate (0: skip)
  --cpu-prof                 run service targets with --cpu-prof and summarise the profiles
  --stop-below 0.5           stop stepping a target once it answers less than this share of the offered rate
  --service-env K=V,K=V      extra environment for the service targets (e.g. FLUSH_CONCURRENCY=16)`;

/** Parses "30s", "500ms", "2m" or a bare number of seconds into milliseconds. */
export function parseDurationMs(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) throw new Error(`not a duration: ${text} (use e.g. 30s, 500ms, 2m)`);
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  return Math.round(unit === 'ms' ? value : unit === 'm' ? value * 60000 : value * 1000);
}

function timestamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

/** Reads the command line; throws with the usage text on anything it does not understand. */
export function parseOptions(argv: string[]): BenchOptions {
  const smoke = argv.includes('--smoke');
  const stamp = timestamp();
  const options: BenchOptions = {
    smoke,
    ratesPerSecond: smoke ? [200] : [500, 1000, 2000, 3000, 4000, 6000, 10000],
    stepDurationMs: smoke ? 3000 : 30000,
    warmupMs: smoke ? 1000 : 5000,
    warmupRatePerSecond: smoke ? 100 : 500,
    targets: smoke ? ['service-notrace'] : [...TARGET_NAMES],
    outDir: smoke ? path.join(REPO_ROOT, 'bench', '.work', `smoke-${stamp}`) : DEFAULT_RESULTS_DIR,
    workDir: path.join(REPO_ROOT, 'bench', '.work', `${smoke ? 'smoke' : 'run'}-${stamp}`),
    requestTimeoutMs: 5000,
    maxWorkers: 5000,
    bufferFullRss: !smoke,
    overloadFactor: smoke ? 0 : 2,
    cpuProfile: false,
    stopBelowSuccess: 0.5,
    drainTimeoutMs: 60000,
    serviceEnv: {},
    sqsDelayMs: 30,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i] as string;
    const value = (): string => {
      const next = argv[i + 1];
      if (next === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      i += 1;
      return next;
    };
    switch (flag) {
      case '--smoke':
        break;
      case '--rates':
        options.ratesPerSecond = value()
          .split(',')
          .map((r) => {
            const rate = Number(r.trim());
            if (!Number.isInteger(rate) || rate <= 0) throw new Error(`not a rate: ${r}`);
            return rate;
          });
        break;
      case '--duration':
        options.stepDurationMs = parseDurationMs(value());
        break;
      case '--warmup':
        options.warmupMs = parseDurationMs(value());
        break;
      case '--warmup-rate':
        options.warmupRatePerSecond = Number(value());
        if (!Number.isInteger(options.warmupRatePerSecond) || options.warmupRatePerSecond <= 0) {
          throw new Error('--warmup-rate wants a positive integer');
        }
        break;
      case '--sqs-delay':
        options.sqsDelayMs = parseDurationMs(value());
        break;
      case '--targets':
        options.targets = value()
          .split(',')
          .map((t) => {
            const name = t.trim() as TargetName;
            if (!TARGET_NAMES.includes(name)) throw new Error(`unknown target ${t}; use ${TARGET_NAMES.join(', ')}`);
            return name;
          });
        break;
      case '--out':
        options.outDir = path.resolve(value());
        break;
      case '--timeout':
        options.requestTimeoutMs = parseDurationMs(value());
        break;
      case '--max-workers':
        options.maxWorkers = Number(value());
        break;
      case '--overload':
        options.overloadFactor = Number(value());
        break;
      case '--no-buffer-full':
        options.bufferFullRss = false;
        break;
      case '--buffer-full':
        options.bufferFullRss = true;
        break;
      case '--cpu-prof':
        options.cpuProfile = true;
        break;
      case '--stop-below':
        options.stopBelowSuccess = Number(value());
        break;
      case '--service-env':
        for (const pair of value().split(',')) {
          const eq = pair.indexOf('=');
          if (eq <= 0) throw new Error(`--service-env wants KEY=VALUE pairs, got ${pair}`);
          options.serviceEnv[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
        }
        break;
      case '--help':
      case '-h':
        throw new Error(USAGE);
      default:
        throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  // A smoke run keeps its scratch files with its results (a test's temp dir, say), not in bench/.work.
  if (smoke) options.workDir = path.join(options.outDir, 'work');
  if (options.stepDurationMs < 1000) throw new Error('--duration must be at least 1s');
  options.ratesPerSecond.sort((a, b) => a - b);
  return options;
}
