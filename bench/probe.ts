// Preloaded into every target by the bench (`node --require dist/bench/probe.js ...`), never by
// `npm start`: once a second it appends one JSON line to $BENCH_PROBE_FILE with the event loop's
// delay (how long a ready callback waited: the floor under every request's latency) and the GC
// pauses of that second. The bench sums the lines that fall inside each step. Costs one 2 ms timer.
import { appendFileSync } from 'node:fs';
import { PerformanceObserver, monitorEventLoopDelay, type PerformanceEntry } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

/** One line of the probe file. */
export interface ProbeSample {
  /** Epoch ms at the end of the second. */
  t: number;
  loopP50Ms: number;
  loopP99Ms: number;
  loopMaxMs: number;
  gcCount: number;
  gcMs: number;
  gcMaxMs: number;
  majorGcCount: number;
}

/** `detail.kind` of a 'gc' performance entry for mark-compact (full) collections. */
const MAJOR_GC = 4;
/** The histogram's timer fires every RESOLUTION_MS; a sample is that interval plus the delay. */
const RESOLUTION_MS = 2;
const delayMs = (ns: number): number => Math.max(0, ns / 1e6 - RESOLUTION_MS);

function start(file: string): void {
  const loop = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  loop.enable();
  let gc = { count: 0, ms: 0, maxMs: 0, major: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
      gc.count += 1;
      gc.ms += entry.duration;
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
      if (entry.detail?.kind === MAJOR_GC) gc.major += 1;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const timer = setInterval(() => {
    const sample: ProbeSample = {
      t: Date.now(),
      loopP50Ms: delayMs(loop.percentile(50)),
      loopP99Ms: delayMs(loop.percentile(99)),
      loopMaxMs: delayMs(loop.max),
      gcCount: gc.count,
      gcMs: gc.ms,
      gcMaxMs: gc.maxMs,
      majorGcCount: gc.major,
    };
    loop.reset();
    gc = { count: 0, ms: 0, maxMs: 0, major: 0 };
    try {
      appendFileSync(file, JSON.stringify(sample) + '\n');
    } catch {
      // the bench went away; nothing to report to
    }
  }, 1000);
  timer.unref();
}

// Node preloads `--require` modules in worker threads too (the service's SQS thread): measure only the
// event loop that answers requests.
const file = process.env.BENCH_PROBE_FILE;
if (file && isMainThread) start(file);
