// The dedupe window all replicas share in Redis or Valkey (DEDUPE_STORE), failing open when it cannot answer.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DedupeWindow } from './types.js';

export interface RedisDedupeWindowOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS) of a Redis or Valkey every replica shares. */
  url: string;
  /** How long a key is remembered, from its first acceptance. Must be > 0. */
  windowSeconds: number;
  /** Prefix of every key, so one Redis can serve several services. Default: `invoice-webhook:dedupe:`. */
  keyPrefix?: string;
  /** Longest one command may take before the store counts as unreachable for that request. Default: 250. */
  commandTimeoutMs?: number;
  /** Called once per request whose dedupe check could not be made (the request is accepted). */
  onStoreError?: (error: Error) => void;
  logger: Logger;
}

/**
 * The dedupe window in a Redis or Valkey that every replica shares, so a sender's retry that the load
 * balancer sends to another replica is still recognised: `SET <prefix><key> 1 NX PX <window>` answers
 * "first time" (OK) or "repeat" (nil) atomically. ioredis pipelines concurrent commands into one write
 * (enableAutoPipelining), so under load the store costs one round trip per event-loop turn, not one per request.
 *
 * When the store cannot answer (down, unreachable, slower than `commandTimeoutMs`) the request is
 * accepted as new and the failure counted and logged: fail open. Dedupe is an optimisation on top of
 * at-least-once delivery (consumers must be idempotent anyway), so a Redis outage may let a repeat through
 * (a second copy, which delivery can produce too) but never turns into an intake outage; answering 503
 * would make senders retry (more traffic) and couple the webhook's availability to a cache.
 */
export class RedisDedupeWindow implements DedupeWindow {
  private readonly redis: Redis;
  private readonly windowMs: number;
  private readonly prefix: string;
  private readonly onStoreError: (error: Error) => void;
  private readonly logger: Logger;
  private lastErrorLogMs = Number.NEGATIVE_INFINITY;
  private errorsSinceLog = 0;

  constructor(options: RedisDedupeWindowOptions) {
    if (!Number.isFinite(options.windowSeconds) || options.windowSeconds <= 0) {
      throw new RangeError(`windowSeconds must be a positive number, got ${options.windowSeconds}`);
    }
    this.windowMs = Math.round(options.windowSeconds * 1000);
    this.prefix = options.keyPrefix ?? 'invoice-webhook:dedupe:';
    this.onStoreError = options.onStoreError ?? (() => undefined);
    this.logger = options.logger;
    // Required here, not imported at the top: without a shared store ioredis is never loaded.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Redis: RedisClient } = require('ioredis') as typeof import('ioredis');
    this.redis = new RedisClient(options.url, {
      lazyConnect: true,
      enableAutoPipelining: true,
      // Fail now rather than queue while disconnected: a request must not wait for a reconnect.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 250,
      connectTimeout: 2000,
      // Reconnect forever, backing off to 2 s: the store comes back by itself after an outage.
      retryStrategy: (attempt) => Math.min(2000, 50 * 2 ** Math.min(attempt, 6)),
    });
    // Without a listener ioredis prints connection errors itself; the rate-limited log below says it once.
    this.redis.on('error', (error: Error) => this.logStoreError(error, 'connection'));
    this.redis.on('ready', () => this.logger.info({ store: 'redis' }, 'dedupe store connected'));
  }

  /**
   * Connects, waiting at most `waitMs`. Resolves either way: an unreachable store at start-up is the same
   * fail-open case as an outage later, and the client keeps reconnecting.
   */
  async start(waitMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const connected = this.redis.connect().then(
      () => true,
      () => false,
    );
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), waitMs)));
    const ok = await Promise.race([connected, timedOut]);
    clearTimeout(timer);
    if (!ok) this.logger.warn({ store: 'redis' }, 'dedupe store unreachable at start-up; accepting without it');
  }

  async seen(key: string): Promise<boolean> {
    try {
      const answer = await this.redis.set(this.prefix + key, '1', 'PX', this.windowMs, 'NX');
      return answer === null;
    } catch (error) {
      this.onStoreError(error as Error);
      this.logStoreError(error as Error, 'command');
      return false;
    }
  }

  async forget(key: string): Promise<void> {
    try {
      await this.redis.del(this.prefix + key);
    } catch (error) {
      // The key expires by itself; until then a retry of this refused request counts as a repeat.
      this.logStoreError(error as Error, 'forget');
    }
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  /** At most one line a second, with how many failures it stands for. */
  private logStoreError(error: Error, during: string): void {
    this.errorsSinceLog += 1;
    const now = performance.now();
    if (now - this.lastErrorLogMs < 1000) return;
    this.logger.warn(
      { store: 'redis', during, err: error.message, failuresSinceLastLog: this.errorsSinceLog },
      'dedupe store unavailable: accepting requests without the repeat check',
    );
    this.lastErrorLogMs = now;
    this.errorsSinceLog = 0;
  }
}
