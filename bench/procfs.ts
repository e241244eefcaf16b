import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (USER_HZ). */
const CLOCK_TICKS_PER_SECOND = ((): number => {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system, all threads) a process has used so far; undefined once it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  // After ')' the fields start at #3 (state): utime is #14, stime #15.
  return processCpuFields(pid, 11, 12);
}

/** A `Vm*` line of /proc/<pid>/status in bytes (VmRSS: now, VmHWM: peak so far). */
export function processMemoryBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of this process's children that have exited and been reaped (cutime + cstime). Read
 * around a vegeta run, the difference is exactly what vegeta used, threads and all.
 */
export function reapedChildrenCpuSeconds(): number {
  return processCpuFields(process.pid, 13, 14) ?? 0;
}

function processCpuFields(pid: number, a: number, b: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[a]) + Number(fields[b])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The whole machine's busy and total CPU seconds so far (all cores, from /proc/stat). */
export function machineCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is already in user)
  const values = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = values.reduce((sum, v) => sum + v, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: (total - idle) / CLOCK_TICKS_PER_SECOND, total: total / CLOCK_TICKS_PER_SECOND };
}

/**
 * The machine's count of connections dropped because a listening socket's accept queue was full
 * (TcpExt ListenOverflows). Each costs the client a SYN retransmission: about 1 s of latency.
 */
export function listenOverflows(): number | undefined {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const names = (lines[i] ?? '').split(/\s+/);
      const values = (lines[i + 1] ?? '').split(/\s+/);
      if (names[0] !== 'TcpExt:') continue;
      const at = names.indexOf('ListenOverflows');
      return at < 0 ? undefined : Number(values[at]);
    }
  } catch {
    // not Linux, or no procfs
  }
  return undefined;
}

/** Every process's CPU seconds so far, by pid, with its command name. */
function allProcesses(): Map<number, { comm: string; cpu: number }> {
  const out = new Map<number, { comm: string; cpu: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const cpu = processCpuSeconds(pid);
    if (cpu === undefined) continue;
    let comm = '?';
    try {
      comm = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 80) || comm;
    } catch {
      // gone
    }
    out.set(pid, { comm, cpu });
  }
  return out;
}

/** Processes whose CPU is attributed during a step; the rest of the machine's busy time is "other". */
export interface WatchedProcesses {
  target?: number;
  sqs?: number;
  /** The trace collector, when tracing-on runs export to it on this machine. */
  jaeger?: number;
}

/** CPU used during a window, as % of one core (100 = one core busy all the time). */
export interface CpuWindow {
  seconds: number;
  targetPct: number | undefined;
  sqsPct: number | undefined;
  jaegerPct: number | undefined;
  /** The load generator: children of this process reaped during the window (vegeta). */
  vegetaPct: number;
  /** Busy time of the whole machine, % of one core (the machine has nproc × 100). */
  machinePct: number;
  /** Machine busy time not explained by target, its SQS server, Jaeger and vegeta (other work, this harness, the kernel). */
  otherPct: number;
  /** Peak VmRSS of the target sampled during the window, bytes. */
  targetPeakRssBytes: number | undefined;
  /** Machine-wide accept-queue overflows during the window (see {@link listenOverflows}). */
  listenOverflows: number | undefined;
  /** Processes outside the watched ones that used ≥ 10% of a core during the window. */
  busiestOthers: { pid: number; command: string; pct: number }[];
}

/**
 * Measures CPU over a window (one vegeta run, which must have exited and been reaped before
 * {@link CpuMeter.stop}) and samples the target's VmRSS for its peak.
 */
export class CpuMeter {
  private readonly startedAt = performance.now();
  private readonly startTarget: number | undefined;
  private readonly startSqs: number | undefined;
  private readonly startJaeger: number | undefined;
  private readonly startChildren = reapedChildrenCpuSeconds();
  private readonly startMachine = machineCpuSeconds();
  private readonly startOverflows = listenOverflows();
  private readonly startAll = allProcesses();
  private peakRss: number | undefined;
  private readonly sampler: NodeJS.Timeout;

  constructor(
    private readonly pids: WatchedProcesses,
    sampleEveryMs = 100,
  ) {
    this.startTarget = pids.target === undefined ? undefined : processCpuSeconds(pids.target);
    this.startSqs = pids.sqs === undefined ? undefined : processCpuSeconds(pids.sqs);
    this.startJaeger = pids.jaeger === undefined ? undefined : processCpuSeconds(pids.jaeger);
    this.sample();
    this.sampler = setInterval(() => this.sample(), sampleEveryMs);
  }

  private sample(): void {
    if (this.pids.target === undefined) return;
    const rss = processMemoryBytes(this.pids.target, 'VmRSS');
    if (rss !== undefined) this.peakRss = Math.max(this.peakRss ?? 0, rss);
  }

  stop(): CpuWindow {
    this.sample();
    clearInterval(this.sampler);
    const seconds = (performance.now() - this.startedAt) / 1000;
    const pct = (used: number | undefined): number | undefined =>
      used === undefined ? undefined : (100 * used) / seconds;
    const delta = (pid: number | undefined, start: number | undefined): number | undefined => {
      if (pid === undefined || start === undefined) return undefined;
      const end = processCpuSeconds(pid);
      return end === undefined ? undefined : end - start;
    };
    const target = delta(this.pids.target, this.startTarget);
    const sqs = delta(this.pids.sqs, this.startSqs);
    const jaeger = delta(this.pids.jaeger, this.startJaeger);
    const vegeta = reapedChildrenCpuSeconds() - this.startChildren;
    const machine = machineCpuSeconds().busy - this.startMachine.busy;
    const other = machine - (target ?? 0) - (sqs ?? 0) - (jaeger ?? 0) - vegeta;
    const overflows = listenOverflows();
    const watched = new Set([this.pids.target, this.pids.sqs, this.pids.jaeger, process.pid]);
    const busiestOthers: CpuWindow['busiestOthers'] = [];
    for (const [pid, now] of allProcesses()) {
      if (watched.has(pid)) continue;
      // A process that started during the window counts from zero (vegeta itself is reaped by then).
      const used = now.cpu - (this.startAll.get(pid)?.cpu ?? 0);
      const share = (100 * used) / seconds;
      if (share >= 10) busiestOthers.push({ pid, command: now.comm, pct: share });
    }
    busiestOthers.sort((a, b) => b.pct - a.pct);
    return {
      seconds,
      targetPct: pct(target),
      sqsPct: pct(sqs),
      jaegerPct: pct(jaeger),
      vegetaPct: 100 * (vegeta / seconds),
      machinePct: 100 * (machine / seconds),
      otherPct: Math.max(0, 100 * (other / seconds)),
      targetPeakRssBytes: this.peakRss,
      listenOverflows:
        overflows === undefined || this.startOverflows === undefined ? undefined : overflows - this.startOverflows,
      busiestOthers: busiestOthers.slice(0, 3),
    };
  }
}
