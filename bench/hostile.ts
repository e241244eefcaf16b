// The cost of hostile bodies (docs/api.md): for each body in bench/hostile-bodies.ts at the default
// body limit, the time the service spends on it (JSON.parse + validation, measured in-process) and the
// time and size of its answer over HTTP. Sequential requests, one at a time: time per request, not
// throughput. Prints a table and writes bench/results/<date>-hostile.md.
// Usage: npm run bench:hostile -- [--runs 40] [--out DIR]
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config/index.js';
import { InMemoryBatchSender } from '../src/sender/index.js';
import { Service } from '../src/service/index.js';
import { ServiceMetrics } from '../src/telemetry/index.js';
import { InvoiceValidator } from '../src/validation/index.js';
import { hostileBodies } from './hostile-bodies.js';
import { REPO_ROOT } from './options.js';

interface Row {
  name: string;
  bytes: number;
  status: number;
  answerBytes: number;
  details: number;
  truncated: boolean;
  parseMs: number;
  validateMs: number;
  requestMedianMs: number;
  requestP99Ms: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function median(values: number[]): number {
  return quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

async function main(): Promise<void> {
  const runs = Number(arg('runs', '40'));
  const out = path.resolve(arg('out', path.join(REPO_ROOT, 'bench', 'results')));
  const config = loadConfig({
    env: { SQS_QUEUE_URL: 'http://127.0.0.1:4566/000000000000/hostile', PORT: '0', HOST: '127.0.0.1' },
  });
  const metrics = new ServiceMetrics({ serviceName: 'invoice-webhook-bench', serviceVersion: '0.0.0' });
  const service = new Service({
    config,
    logger: pino({ level: 'silent' }),
    metrics,
    sender: new InMemoryBatchSender(),
  });
  const { port } = await service.start();
  const validator = new InvoiceValidator();
  const rows: Row[] = [];
  try {
    for (const [name, body] of Object.entries(hostileBodies(config.bodyLimitBytes))) {
      const parse: number[] = [];
      const validate: number[] = [];
      const request: number[] = [];
      let last = { status: 0, text: '' };
      for (let i = 0; i < runs; i += 1) {
        let t = performance.now();
        const value: unknown = JSON.parse(body);
        parse.push(performance.now() - t);
        t = performance.now();
        validator.validate(value);
        validate.push(performance.now() - t);
        t = performance.now();
        const res = await fetch(`http://127.0.0.1:${port}/webhooks/invoice`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        last = { status: res.status, text: await res.text() };
        request.push(performance.now() - t);
      }
      const answer =
        last.status === 422 ? (JSON.parse(last.text) as { details: unknown[]; truncated?: boolean }) : undefined;
      const sorted = [...request].sort((a, b) => a - b);
      rows.push({
        name,
        bytes: Buffer.byteLength(body),
        status: last.status,
        answerBytes: Buffer.byteLength(last.text),
        details: answer?.details.length ?? 0,
        truncated: answer?.truncated === true,
        parseMs: median(parse),
        validateMs: median(validate),
        requestMedianMs: quantile(sorted, 0.5),
        requestP99Ms: quantile(sorted, 0.99),
      });
    }
  } finally {
    await service.stop();
    await metrics.shutdown();
  }

  const header =
    '| body | bytes | status | answer bytes | details | truncated | JSON.parse ms (median) | validate ms (median) | request ms (median) | request ms (max) |';
  const lines = rows.map(
    (r) =>
      `| ${r.name} | ${r.bytes} | ${r.status} | ${r.answerBytes} | ${r.details} | ${r.truncated} | ${r.parseMs.toFixed(2)} | ${r.validateMs.toFixed(2)} | ${r.requestMedianMs.toFixed(2)} | ${r.requestP99Ms.toFixed(2)} |`,
  );
  const table = [header, `|${' --- |'.repeat(10)}`, ...lines].join('\n');
  process.stdout.write(`${table}\n`);
  const date = new Date().toISOString().slice(0, 10);
  mkdirSync(out, { recursive: true });
  writeFileSync(
    path.join(out, `${date}-hostile.md`),
    `# Hostile bodies at the body limit (${date})\n\n` +
      `Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), ` +
      `BODY_LIMIT_BYTES=${config.bodyLimitBytes}, ${runs} sequential requests per body. ` +
      'Medians: the machine is shared and noisy.\n\n' +
      `${table}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
