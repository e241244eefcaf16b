// A fixed-size FIFO ring buffer with a count and a byte budget, and room reserved for items on their way in.
export interface RingBufferOptions {
  /** Most items held at once. */
  capacity: number;
  /** Most bytes held at once (as reported by each push). Default: unlimited. */
  maxBytes?: number;
}

export type PushResult = 'ok' | 'full' | 'over_bytes';

/**
 * A fixed-size FIFO queue: one array allocated up front, O(1) push and shift, no growth.
 * Each item is pushed with its size so the buffer can keep a byte budget as well as a count.
 */
export class RingBuffer<T> {
  readonly capacity: number;
  readonly maxBytes: number;
  private readonly items: (T | undefined)[];
  private readonly sizes: Float64Array;
  private head = 0;
  private count = 0;
  private byteCount = 0;
  private reservedCount = 0;
  private reservedBytes = 0;

  constructor(options: RingBufferOptions) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, got ${options.capacity}`);
    }
    this.capacity = options.capacity;
    this.maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.items = new Array<T | undefined>(this.capacity).fill(undefined);
    this.sizes = new Float64Array(this.capacity);
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.byteCount;
  }

  get isEmpty(): boolean {
    return this.count === 0;
  }

  /** Room held by {@link reserve} and not yet filled or released: invoices on their way in (the journal write). */
  get reservations(): number {
    return this.reservedCount;
  }

  /** Adds an item at the tail unless that would exceed the count or the byte budget. */
  push(item: T, bytes: number): PushResult {
    const room = this.reserve(bytes);
    if (room === 'ok') this.fill(item, bytes);
    return room;
  }

  /**
   * Holds room for one item of `bytes` without adding it yet (for an item that must first be written
   * elsewhere): later {@link fill} it, or {@link release} it. Reserved room counts against both budgets.
   */
  reserve(bytes: number): PushResult {
    if (this.count + this.reservedCount >= this.capacity) return 'full';
    if (this.byteCount + this.reservedBytes + bytes > this.maxBytes) return 'over_bytes';
    this.reservedCount += 1;
    this.reservedBytes += bytes;
    return 'ok';
  }

  /** Gives back room held by {@link reserve}. */
  release(bytes: number): void {
    this.reservedCount -= 1;
    this.reservedBytes -= bytes;
  }

  /** Adds an item at the tail in room held by {@link reserve} (with the same `bytes`); cannot fail. */
  fill(item: T, bytes: number): void {
    this.release(bytes);
    const index = (this.head + this.count) % this.capacity;
    this.items[index] = item;
    this.sizes[index] = bytes;
    this.count += 1;
    this.byteCount += bytes;
  }

  /** The oldest item, without removing it. */
  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  /** Removes and returns the oldest item. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined; // let the item be collected
    this.byteCount -= this.sizes[this.head] ?? 0;
    this.head = (this.head + 1) % this.capacity;
    this.count -= 1;
    return item;
  }

  /** Removes and returns everything, oldest first. */
  takeAll(): T[] {
    const out: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) out.push(item);
    return out;
  }
}
