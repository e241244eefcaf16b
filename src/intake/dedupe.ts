// The in-process dedupe window: remembers accepted ids for a while, bounded in time and count.
import type { DedupeWindow } from './types.js';

export interface TtlDedupeWindowOptions {
  /** How long an accepted invoice id is remembered, from its first acceptance. Must be > 0. */
  windowSeconds: number;
  /** Most ids remembered at once; past it the oldest is forgotten early. Must be >= 1. */
  maxEntries: number;
  /** Monotonic clock in ms. Default: `performance.now`. */
  now?: () => number;
}

/**
 * Remembers invoice ids for `windowSeconds` after they were first accepted, so a repeat inside the
 * window is answered as a duplicate and not sent again. A repeat does not extend the window.
 *
 * Memory is bounded: ids live in one Map in insertion order, which is also time order, so expired ids
 * are always at the front and each call evicts them from there (O(1) amortised). When `maxEntries` ids
 * are held, the oldest is evicted even if it has not expired: under extreme load the effective window
 * gets shorter rather than memory growing.
 */
export class TtlDedupeWindow implements DedupeWindow {
  private readonly windowMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** id → when it was accepted (ms); iteration order is insertion order. */
  private readonly ids = new Map<string, number>();

  constructor(options: TtlDedupeWindowOptions) {
    if (!Number.isFinite(options.windowSeconds) || options.windowSeconds <= 0) {
      throw new RangeError(`windowSeconds must be a positive number, got ${options.windowSeconds}`);
    }
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${options.maxEntries}`);
    }
    this.windowMs = options.windowSeconds * 1000;
    this.maxEntries = options.maxEntries;
    this.now = options.now ?? (() => performance.now());
  }

  /** Ids currently remembered (expired ones may linger until the next call). */
  get size(): number {
    return this.ids.size;
  }

  seen(invoiceId: string): boolean {
    const now = this.now();
    this.evictExpired(now);
    const at = this.ids.get(invoiceId);
    if (at !== undefined) {
      if (now - at < this.windowMs) return true;
      // Only reachable if the clock went backwards; re-insert below so the order stays by time.
      this.ids.delete(invoiceId);
    }
    while (this.ids.size >= this.maxEntries) this.evictOldest();
    this.ids.set(invoiceId, now);
    return false;
  }

  forget(invoiceId: string): void {
    this.ids.delete(invoiceId);
  }

  private evictExpired(now: number): void {
    for (const [id, at] of this.ids) {
      if (now - at < this.windowMs) return;
      this.ids.delete(id);
    }
  }

  private evictOldest(): void {
    const oldest = this.ids.keys().next();
    if (oldest.done !== true) this.ids.delete(oldest.value);
  }
}
