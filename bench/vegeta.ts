import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, createWriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { once } from 'node:events';
import { REPO_ROOT } from './options.js';
import { invoiceBody } from './invoices.js';
import { track, untrack } from './processes.js';

const execFileAsync = promisify(execFile);

/** Where vegeta is looked for, in order: the repo's tool cache, then PATH, then Go's default bin. */
export function findVegeta(): string {
  const candidates = [
    path.join(REPO_ROOT, '.cache', 'bin', 'vegeta'),
    ...(process.env.PATH ?? '').split(path.delimiter).map((dir) => path.join(dir, 'vegeta')),
    path.join(process.env.GOPATH ?? path.join(os.homedir(), 'go'), 'bin', 'vegeta'),
  ];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error('vegeta not found (looked in .cache/bin, PATH and ~/go/bin): run `bash .ci/tools.sh vegeta`');
}

/**
 * Writes a vegeta JSON targets file: `count` POSTs of distinct valid invoices. vegeta cycles through
 * the file, so ids repeat after `count` requests (harmless: dedupe is off by default).
 */
export async function writeTargets(file: string, url: string, runId: string, count: number): Promise<void> {
  const out = createWriteStream(file);
  const header = { 'Content-Type': ['application/json'] };
  for (let i = 0; i < count; i += 1) {
    const body = Buffer.from(invoiceBody(runId, i)).toString('base64');
    if (!out.write(JSON.stringify({ method: 'POST', url, header, body }) + '\n')) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

export interface AttackOptions {
  vegeta: string;
  targetsFile: string;
  ratePerSecond: number;
  durationMs: number;
  requestTimeoutMs: number;
  maxWorkers: number;
  /** The binary results file vegeta writes. */
  outputFile: string;
  /** Called with vegeta's pid once it runs. */
  onStart?: (pid: number) => void;
  /** Response bytes vegeta keeps per result (-max-body); -1 = all. Default: 0 (none). */
  maxBodyBytes?: number;
}

/** Runs one open-model attack at a fixed rate; resolves once vegeta exited (and was reaped). */
export async function attack(options: AttackOptions): Promise<void> {
  const child = spawn(
    options.vegeta,
    [
      'attack',
      '-format=json',
      `-targets=${options.targetsFile}`,
      `-rate=${options.ratePerSecond}/s`,
      `-duration=${options.durationMs}ms`,
      `-timeout=${options.requestTimeoutMs}ms`,
      `-max-workers=${options.maxWorkers}`,
      `-max-body=${options.maxBodyBytes ?? 0}`,
      `-output=${options.outputFile}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  track(child, 'vegeta');
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  if (child.pid !== undefined) options.onStart?.(child.pid);
  const [code] = (await once(child, 'close')) as [number | null];
  untrack(child);
  if (code !== 0) throw new Error(`vegeta attack exited with ${code}: ${stderr.trim()}`);
}

/** vegeta's JSON report, the fields the bench uses (latencies in ns). */
export interface VegetaReport {
  latencies: { mean: number; '50th': number; '90th': number; '95th': number; '99th': number; max: number };
  requests: number;
  /** Rate at which requests were actually sent, per second. */
  rate: number;
  /** Successful responses per second over the attack plus the wait for the last answers. */
  throughput: number;
  /** Ratio (0..1) of responses with a 2xx/3xx status. */
  success: number;
  status_codes: Record<string, number>;
  errors: string[] | null;
  duration: number;
  wait: number;
}

export async function report(vegeta: string, resultsFile: string): Promise<VegetaReport> {
  const { stdout } = await execFileAsync(vegeta, ['report', '-type=json', resultsFile], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout) as VegetaReport;
}

/** One request of an attack, as `vegeta encode -to json` gives it (latency in ns, body base64). */
export interface VegetaHit {
  code: number;
  timestamp: string;
  latency: number;
  error: string;
  body: string | null;
  headers: Record<string, string[]> | null;
}

/** Every request of a results file, in the order vegeta wrote them. */
export async function hits(vegeta: string, resultsFile: string): Promise<VegetaHit[]> {
  const { stdout } = await execFileAsync(vegeta, ['encode', '-to', 'json', resultsFile], {
    maxBuffer: 1024 * 1024 * 1024,
  });
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as VegetaHit);
}
