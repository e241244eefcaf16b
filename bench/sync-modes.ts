// Compares the journal's two ways to make an append durable on this disk: write + fdatasync (what
// src/journal does) and one write on a file opened with O_DSYNC. Appends of 600 bytes arrive at a fixed
// rate and share writes as the journal's group commit does; prints CPU per append (all threads) and
// the latency from arrival to durable.
//
//   node dist/bench/sync-modes.js [rate/s] [appends] [dir]    (default 1000 4000 bench/.work)
import { constants, mkdtempSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

type Mode = 'write+fdatasync' | 'O_DSYNC';

interface Pending {
  readonly arrivedMs: number;
}

interface Result {
  mode: Mode;
  cpuMicrosPerAppend: number;
  writes: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const RECORD = Buffer.alloc(600, 'x');

async function run(mode: Mode, rate: number, appends: number, parent: string): Promise<Result> {
  const dir = mkdtempSync(path.join(parent, 'sync-modes-'));
  const flags =
    mode === 'O_DSYNC' ? constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DSYNC : 'wx';
  const handle: FileHandle = await open(path.join(dir, 'segment.log'), flags, 0o600);
  const latencies: number[] = [];
  let queue: Pending[] = [];
  let writing = false;
  let offset = 0;
  let writes = 0;

  const writeLoop = async (): Promise<void> => {
    writing = true;
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      const { bytesWritten } = await handle.writev(
        batch.map(() => RECORD),
        offset,
      );
      offset += bytesWritten;
      if (mode === 'write+fdatasync') await handle.datasync();
      writes += 1;
      const doneMs = performance.now();
      for (const p of batch) latencies.push(doneMs - p.arrivedMs);
    }
    writing = false;
  };

  const cpuBefore = process.cpuUsage();
  const startMs = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(appends, Math.floor(((performance.now() - startMs) * rate) / 1000));
      for (; sent < due; sent += 1) queue.push({ arrivedMs: performance.now() });
      if (!writing && queue.length > 0) void writeLoop();
      if (sent >= appends && !writing && queue.length === 0) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  const cpu = process.cpuUsage(cpuBefore);
  await handle.close();
  rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.floor(q * (latencies.length - 1))] ?? Number.NaN;
  return {
    mode,
    cpuMicrosPerAppend: (cpu.user + cpu.system) / appends,
    writes,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: at(1),
  };
}

async function main(): Promise<void> {
  const rate = Number(process.argv[2] ?? 1000);
  const appends = Number(process.argv[3] ?? 4000);
  const parent = process.argv[4] ?? path.join('bench', '.work');
  // Alternating, twice each: the machine is shared, so compare neighbours.
  for (let round = 0; round < 2; round += 1) {
    for (const mode of ['write+fdatasync', 'O_DSYNC'] as const) {
      const r = await run(mode, rate, appends, parent);
      console.log(
        `${r.mode.padEnd(16)} ${rate}/s  CPU ${r.cpuMicrosPerAppend.toFixed(0)} µs/append  ` +
          `${r.writes} writes  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  max ${r.maxMs.toFixed(2)} ms`,
      );
    }
  }
}

void main();
