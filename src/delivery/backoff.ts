// Backoff: the delay formula for retries, and the waits that shutdown can cut short.
/**
 * The ceiling of the delay before retry number `attempt` (0 = the first retry): `min(maxMs, baseMs * 2^attempt)`.
 * The one backoff formula of the service: retries wait a jittered fraction of it, and the Retry-After
 * offered to senders while SQS fails is derived from it too.
 */
export function backoffCeilingMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
}

/**
 * Capped exponential backoff with full jitter: a uniform delay in [0, {@link backoffCeilingMs}).
 * `attempt` counts from 0 for the first retry.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeilingMs(attempt, baseMs, maxMs));
}

/** Backoff waits that can all be cut short at once: after {@link BackoffSleeps.wakeAll}, waits end at once. */
export class BackoffSleeps {
  private woken = false;
  private readonly sleepers = new Set<() => void>();

  /** True once {@link wakeAll} ran. */
  get abandoned(): boolean {
    return this.woken;
  }

  /** Resolves after `ms`, or at once when woken. */
  sleep(ms: number): Promise<void> {
    if (this.woken) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  /** Ends every wait now and every later one at once. */
  wakeAll(): void {
    this.woken = true;
    for (const wake of this.sleepers) wake();
  }
}
