import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { createNoopMeter } from '@opentelemetry/api';
import pino from 'pino';
import { RingBuffer, type PendingInvoice } from '../../src/buffer/index.js';
import { BatchDelivery, type BatchDeliveryOptions } from '../../src/delivery/index.js';
import { Flusher, type FlusherOptions } from '../../src/flusher/index.js';
import type { BatchSender, OutboundMessage } from '../../src/sender/index.js';
import { PipelineMetrics } from '../../src/telemetry/index.js';
import { MemoryDeadLetterSink } from './doubles.js';
import { pendingInvoice } from './invoices.js';
import { waitUntil } from './wait.js';

// A flusher and the BatchDelivery it feeds, on a ring buffer and a clock the test drives: what the
// flusher tests and the delivery tests that go through the pump share.

export const invoiceIdsOf = (messages: readonly OutboundMessage[]): string[] =>
  messages.map((m) => m.attributes['invoice-id'] ?? '?');

/** Lets pending promise chains (sender answers, dead-letter writes) run. */
export async function settleMicrotasks(): Promise<void> {
  for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

/** Waits (real time, a few event-loop turns at a time) until the flusher did what `condition` checks. */
export const waitFor = (condition: () => boolean, what: string, timeoutMs = 2000): Promise<void> =>
  waitUntil(what, condition, { timeoutMs, everyMs: 0 });

export interface Rig {
  buffer: RingBuffer<PendingInvoice>;
  flusher: Flusher;
  deadLetter: MemoryDeadLetterSink;
  clock: { ms: number };
  /** Pushes entries (stamped with the current clock) and tells the flusher. */
  add: (...invoiceIds: string[]) => PendingInvoice[];
}

export type RigOptions = Partial<Omit<FlusherOptions, 'delivery'>> &
  Pick<BatchDeliveryOptions, 'retryBaseMs' | 'retryMaxMs' | 'random'>;

export function rig(sender: BatchSender, options: RigOptions = {}): Rig {
  const buffer = new RingBuffer<PendingInvoice>({ capacity: 1000 });
  const deadLetter = new MemoryDeadLetterSink();
  const clock = { ms: 0 };
  const logger = pino({ level: 'silent' });
  const { retryBaseMs, retryMaxMs, random, ...flusherOptions } = options;
  const delivery = new BatchDelivery({
    sender,
    deadLetter,
    metrics: new PipelineMetrics(createNoopMeter()),
    logger,
    now: () => clock.ms,
    random: random ?? (() => 0),
    ...(retryBaseMs === undefined ? {} : { retryBaseMs }),
    ...(retryMaxMs === undefined ? {} : { retryMaxMs }),
  });
  const flusher = new Flusher({ buffer, delivery, logger, now: () => clock.ms, ...flusherOptions });
  const add = (...invoiceIds: string[]): PendingInvoice[] => {
    const entries = invoiceIds.map((id) => pendingInvoice(id, clock.ms));
    for (const e of entries) assert.equal(buffer.push(e, e.bytes), 'ok');
    flusher.notify();
    return entries;
  };
  return { buffer, flusher, deadLetter, clock, add };
}

export const range = (n: number, prefix = 'inv'): string[] => Array.from({ length: n }, (_, i) => `${prefix}_${i}`);

export function fakeTime(t: TestContext, clock: { ms: number }): (ms: number) => Promise<void> {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  return async (ms: number) => {
    clock.ms += ms;
    t.mock.timers.tick(ms);
    await settleMicrotasks();
  };
}
