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

/** Synchronous stops of services the bench started outside `track` (its ElasticMQ), run by killAll. */
const exitHooks = new Set<() => void>();

/**
 * Makes sure `stop` runs once, even if the bench is interrupted: returns the function to call on the
 * normal way out (which stops it then and unregisters it).
 */
export function stopOnExit(stop: () => void): () => void {
  exitHooks.add(stop);
  return () => {
    if (exitHooks.delete(stop)) stop();
  };
}

/** SIGKILLs every child still running (by its own pid, nothing broader), then runs the registered stops. Synchronous: safe in 'exit'. */
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
  for (const stop of exitHooks) {
    exitHooks.delete(stop);
    stop();
    killed.push('ElasticMQ');
  }
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
