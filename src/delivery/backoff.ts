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
