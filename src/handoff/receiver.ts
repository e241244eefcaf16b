// The hand-off route: takes a shutting-down peer's leftover invoices, makes them durable here, then answers.
import type http from 'node:http';
import type { Logger } from 'pino';
import type { PendingInvoice, RingBuffer } from '../buffer/index.js';
import { pendingFromRecord } from '../journal/invoice-journal.js';
import { bearerMatches } from './token.js';
import { HANDOFF_BODY_LIMIT_BYTES, validateHandoffRequest } from './wire.js';

/** The journal as the receiver needs it: a durable append, a retire for what it gives back, and whether it is full. */
export interface HandoffJournal {
  readonly full: boolean;
  append(entry: PendingInvoice): Promise<void>;
  retire(entries: readonly PendingInvoice[]): void;
}

export interface HandoffReceiverOptions {
  /** HANDOFF_TOKEN: the bearer token a sender must present. */
  token: string;
  /** POD_NAME: a hand-off from this name is refused (409). */
  self: string;
  /** True while the service takes new invoices; a pod starting or shutting down answers 503. */
  accepting: () => boolean;
  buffer: RingBuffer<PendingInvoice>;
  /** Without a journal nothing handed over would be durable: the route answers 503. */
  journal: HandoffJournal | undefined;
  /** Wakes the flusher once invoices are buffered. */
  notify: () => void;
  logger: Logger;
  now?: () => number;
}

export interface HandoffAnswer {
  status: number;
  body: Record<string, unknown>;
  retryAfterSeconds?: number;
}

/**
 * Receives leftovers: checks the token (401), the sender (409 for itself), that this pod takes invoices
 * (503 while starting or shutting down, so the sender tries another peer or again), then holds buffer
 * room for all of them, appends each to the journal (durable: written and fdatasync'ed) and only then
 * buffers them and answers 200. Dedupe and signatures are not applied: each invoice was accepted once,
 * by the sender, and keeps the SQS attributes it was accepted with. All or nothing: on any failure the
 * room is given back, what was journaled is retired, and the answer is 503 (the sender keeps them).
 */
export class HandoffReceiver {
  private readonly o: HandoffReceiverOptions;
  private readonly now: () => number;

  constructor(options: HandoffReceiverOptions) {
    this.o = options;
    this.now = options.now ?? (() => performance.now());
  }

  /** Answers one request whose body has been read (`body` undefined: over the size limit). */
  async receive(authorization: string | undefined, body: string | undefined): Promise<HandoffAnswer> {
    if (!bearerMatches(authorization, this.o.token)) return { status: 401, body: { error: 'unauthorized' } };
    if (body === undefined) return { status: 413, body: { error: 'hand-off chunk too large' } };
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return { status: 400, body: { error: 'not JSON' } };
    }
    if (!validateHandoffRequest(parsed)) {
      return { status: 400, body: { error: 'not a hand-off request', detail: validateHandoffRequest.errors?.[0] } };
    }
    const request = parsed;
    if (request.from === this.o.self) return { status: 409, body: { error: 'a hand-off from this pod itself' } };
    const busy = (reason: string): HandoffAnswer => ({ status: 503, body: { error: reason }, retryAfterSeconds: 1 });
    if (!this.o.accepting()) return busy('not taking invoices (starting or shutting down)');
    const journal = this.o.journal;
    if (journal === undefined) return busy('this pod keeps no journal');
    if (journal.full) return busy('journal full (JOURNAL_MAX_BYTES)');
    const entries = request.invoices.map((record) => pendingFromRecord(record, this.now()));
    const reserved: PendingInvoice[] = [];
    for (const entry of entries) {
      if (this.o.buffer.reserve(entry.bytes) !== 'ok') break;
      reserved.push(entry);
    }
    const giveBack = (): void => {
      for (const entry of reserved) this.o.buffer.release(entry.bytes);
      this.o.notify();
    };
    if (reserved.length < entries.length) {
      giveBack();
      return busy('buffer full');
    }
    const written = await Promise.allSettled(entries.map((entry) => journal.append(entry)));
    const failed = written.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      journal.retire(entries.filter((_, i) => written[i]?.status === 'fulfilled'));
      giveBack();
      return busy(`journal not writable: ${(failed.reason as Error).message}`);
    }
    for (const entry of entries) this.o.buffer.fill(entry, entry.bytes);
    this.o.notify();
    this.o.logger.info(
      { from: request.from, count: entries.length, invoiceIds: entries.map((e) => e.invoiceId) },
      'hand-off: invoices of a shutting-down peer journaled here; they are sent from this pod',
    );
    return { status: 200, body: { accepted: entries.length } };
  }

  /** The route on a raw Node request: reads the body (bounded), answers JSON. */
  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let answer: HandoffAnswer;
    if (req.method !== 'POST') {
      answer = { status: 405, body: { error: 'POST only' } };
      res.setHeader('Allow', 'POST');
    } else {
      const body = await readBody(req, HANDOFF_BODY_LIMIT_BYTES);
      answer = await this.receive(req.headers.authorization, body);
    }
    if (answer.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(answer.retryAfterSeconds));
    res.statusCode = answer.status;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(answer.body));
  }
}

/** The request body as text, or undefined once it passes `limit` bytes (the rest is read and dropped). */
function readBody(req: http.IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
