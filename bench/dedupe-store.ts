// What the shared dedupe store adds to an acknowledgement: the latency of the repeat check itself
// (`seen()`), in-process window vs Redis (`SET NX PX`, auto-pipelined), at a fixed rate (open model:
// each call is timed from when it was due, so queueing counts). Alternating rounds; medians reported,
// since the machine is shared. Starts its own server on a free 127.0.0.1 port: the valkey-server that
// `.ci/tools.sh valkey-server` installs into .cache/bin (REDIS_SERVER, or a redis-server on PATH, also do).
// Usage: npm run build && node dist/bench/dedupe-store.js [--rate 2000] [--seconds 10] [--rounds 5] [--out DIR]
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { RedisDedupeWindow, TtlDedupeWindow, type DedupeWindow } from '../src/intake/index.js';
import { REPO_ROOT } from './options.js';
import { startRedis } from '../test/support/redis.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const median = (values: number[]): number =>
  quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );

/** Calls `seen()` with fresh keys at `rate`/s for `seconds`; latency of each from when it was due, in ms. */
async function drive(window: DedupeWindow, rate: number, seconds: number): Promise<number[]> {
  const total = rate * seconds;
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let issued = 0;
  while (issued < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000));
    for (; issued < due; issued += 1) {
      const dueAt = start + (issued * 1000) / rate;
      const key = `bench_${start}_${issued}`;
      pending.push(
        Promise.resolve(window.seen(key)).then(() => {
          latencies.push(performance.now() - dueAt);
        }),
      );
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(pending);
  return latencies;
}

async function main(): Promise<void> {
  const rate = Number(arg('rate', '2000'));
  const seconds = Number(arg('seconds', '10'));
  const rounds = Number(arg('rounds', '5'));
  const out = path.resolve(arg('out', path.join(REPO_ROOT, 'bench', 'results')));
  // The same server the tests use (.cache/bin/valkey-server from .ci/tools.sh, REDIS_SERVER, or PATH).
  const redis = await startRedis().catch((error: unknown) => {
    process.stderr.write(`bench: ${(error as Error).message}\n`);
    process.exit(1);
  });
  const port = redis.port;
  const logger = pino({ level: 'warn' });
  const rows: { round: number; store: string; p50: number; p99: number; max: number }[] = [];
  try {
    for (let round = 1; round <= rounds; round += 1) {
      for (const store of ['in-process', 'redis'] as const) {
        const window: DedupeWindow =
          store === 'redis'
            ? new RedisDedupeWindow({ url: `redis://127.0.0.1:${port}`, windowSeconds: 600, logger })
            : new TtlDedupeWindow({ windowSeconds: 600, maxEntries: 100000 });
        await window.start?.();
        const latencies = (await drive(window, rate, seconds)).sort((a, b) => a - b);
        await window.close?.();
        rows.push({
          round,
          store,
          p50: quantile(latencies, 0.5),
          p99: quantile(latencies, 0.99),
          max: latencies[latencies.length - 1] ?? Number.NaN,
        });
        process.stderr.write(`bench: round ${round} ${store}: p99 ${rows.at(-1)?.p99.toFixed(3)} ms\n`);
      }
    }
  } finally {
    await redis.stop();
  }
  const table = [
    '| round | store | p50 ms | p99 ms | max ms |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.round} | ${r.store} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} | ${r.max.toFixed(2)} |`),
  ].join('\n');
  const summary = (['in-process', 'redis'] as const)
    .map((store) => {
      const mine = rows.filter((r) => r.store === store);
      return `| ${store} | ${median(mine.map((r) => r.p50)).toFixed(3)} | ${median(mine.map((r) => r.p99)).toFixed(3)} |`;
    })
    .join('\n');
  const text =
    `Node ${process.version}, ${os.cpus().length} CPUs, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; ` +
    `${rate} checks/s for ${seconds} s per round, ${rounds} rounds, alternating.\n\n` +
    `| store | median p50 ms | median p99 ms |\n| --- | --- | --- |\n${summary}\n\n${table}\n`;
  process.stdout.write(text);
  const date = new Date().toISOString().slice(0, 10);
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, `${date}-dedupe-store-check.md`), `# The repeat check alone (${date})\n\n${text}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
