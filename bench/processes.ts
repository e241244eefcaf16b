import type { ChildProcess } from 'node:child_process';

/** Every child process the bench started and has not yet seen exit: killed on the way out, whatever happens. */
const live = new Map<ChildProcess, string>();

export function track(child: ChildProcess, label: string): void {
  live.set(child, label);
  child.once('exit', () => live.delete(child));
}

export function untrack(child: ChildProcess): void {
  live.delete(child);
}

/** SIGKILLs every child still running (by its own pid, nothing broader). Synchronous: safe in 'exit'. */
export function killAll(): string[] {
  const killed: string[] = [];
  for (const [child, label] of live) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
        killed.push(`${label} (pid ${child.pid})`);
      } catch {
        // already gone
      }
    }
  }
  live.clear();
  return killed;
}

/** Installs the last-resort cleanup: on exit, Ctrl-C, SIGTERM or a crash, no child outlives the bench. */
export function installCleanup(): void {
  process.once('exit', () => {
    killAll();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      const killed = killAll();
      process.stderr.write(`bench: ${signal}: stopped ${killed.length > 0 ? killed.join(', ') : 'nothing'}\n`);
      process.exit(130);
    });
  }
}
