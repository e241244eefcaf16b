import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config/index.js';
import { Service, type ServiceOptions } from '../../src/service/index.js';
import { ServiceMetrics } from '../../src/telemetry/index.js';
import { sampleSum } from './exposition.js';
import { capturedLogger } from './logs.js';
import { localstack } from './sqs.js';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** A fresh folder for a test's dead-letter file. */
export function tempDir(prefix = 'invoice-webhook-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/**
 * The overload guard's event-loop signal is off in test services: tests share a busy machine and run
 * several services (and fuzzers) in one process, so a late loop would turn their answers into 503
 * overloaded. The overload test (test/live/intake/overload.test.ts) turns it back on at its default.
 */
export const TEST_OVERLOAD_ENV = { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0' } as const;

/** The configuration a test service runs with: defaults, LocalStack, an ephemeral port, then overrides. */
export function testConfig(overrides: Partial<Config> & { sqsQueueUrl: string }): Config {
  const base = loadConfig({
    env: {
      SQS_QUEUE_URL: overrides.sqsQueueUrl,
      SQS_ENDPOINT: localstack.endpoint,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      DEAD_LETTER_PATH: path.join(tempDir(), 'dead-letter.jsonl'),
      ...TEST_OVERLOAD_ENV,
    },
  });
  return { ...base, ...overrides };
}

export interface RunningService {
  service: Service;
  config: Config;
  url: string;
  metrics: ServiceMetrics;
  /** Log lines written so far, parsed. */
  logs: Record<string, unknown>[];
  stop: () => Promise<void>;
}

/** Runs the whole service in this process (real Koa, real HTTP, real SQS client by default). */
export async function startService(
  overrides: Partial<Config> & { sqsQueueUrl: string },
  deps: Partial<Omit<ServiceOptions, 'config' | 'logger' | 'metrics'>> = {},
): Promise<RunningService> {
  const config = testConfig(overrides);
  const { logger, lines: logs } = capturedLogger(overrides.logLevel ?? 'info');
  const metrics = new ServiceMetrics({ serviceName: 'invoice-webhook-test', serviceVersion: '0.0.0' });
  // Tests hold idle keep-alive connections (fetch pools them): without a short grace every stop would
  // wait out the drain budget for them. test/service/drain-connections.test.ts checks the default.
  const service = new Service({ config, logger, metrics, idleConnectionGraceMs: 200, ...deps });
  const address = await service.start();
  return {
    service,
    config,
    url: `http://127.0.0.1:${address.port}`,
    metrics,
    logs,
    stop: async () => {
      await service.stop();
      await metrics.shutdown();
    },
  };
}

export interface SpawnedService {
  child: ChildProcess;
  url: string;
  /** stdout lines, parsed where they are JSON. */
  logs: Record<string, unknown>[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs the built service as its own process, as `npm start` does, and waits until it listens.
 * Used where the process itself is under test (signals, exit codes, configuration errors).
 */
export async function spawnService(
  env: Record<string, string>,
  options: {
    waitForListen?: boolean;
    /** Start with `--require dist/src/telemetry/preload.js`, as `npm start` does. Default: false. */
    preload?: boolean;
  } = {},
): Promise<SpawnedService> {
  const preload = options.preload ? ['--require', path.join(REPO_ROOT, 'dist/src/telemetry/preload.js')] : [];
  const child = spawn(process.execPath, [...preload, path.join(REPO_ROOT, 'dist/src/main.js')], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      SQS_ENDPOINT: localstack.endpoint,
      PORT: '0',
      HOST: '127.0.0.1',
      OTEL_SDK_DISABLED: 'true',
      DEAD_LETTER_PATH: path.join(tempDir(), 'dead-letter.jsonl'),
      ...TEST_OVERLOAD_ENV,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let listening: (port: number) => void = () => undefined;
  const port = new Promise<number>((resolve) => (listening = resolve));
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'listening' && typeof entry.port === 'number') listening(entry.port);
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  if (options.waitForListen === false) return { child, url: '', logs, stderr, exited };
  const result = await Promise.race([port, exited.then(() => undefined)]);
  if (result === undefined) {
    throw new Error(`service exited before listening: ${stderr.join('')} ${JSON.stringify(logs)}`);
  }
  return { child, url: `http://127.0.0.1:${result}`, logs, stderr, exited };
}

/** Scrapes /metrics and returns the value of one series (summing over labels unless given). */
export async function metricValue(baseUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sampleSum(await (await fetch(`${baseUrl}/metrics`)).text(), name, labels);
}

/** The records of a dead-letter file (JSON lines); none when the file was never written. */
export function deadLetters(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
