import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { Tracer } from '@opentelemetry/api';
import type Koa from 'koa';
import type { Logger } from 'pino';
import { RingBuffer, type PendingInvoice } from './buffer/index.js';
import { isFifoQueue, type Config } from './config/index.js';
import { FileDeadLetterSink, type DeadLetterSink } from './deadletter/index.js';
import { BatchDelivery, type BatchTracer } from './delivery/index.js';
import {
  FixedConcurrencyLimit,
  Flusher,
  GradientConcurrencyLimit,
  type ConcurrencyLimit,
  type DrainResult,
} from './flusher/index.js';
import {
  HmacSignatureCheck,
  Intake,
  RedisDedupeWindow,
  StandardWebhooksCheck,
  TtlDedupeWindow,
  answerClientError,
  createApp,
  openApiDocument,
  parseSecrets,
  type DedupeWindow,
  type Readiness,
  type ReadinessCheck,
  type SignatureCheck,
} from './intake/index.js';
import { InvoiceJournal } from './journal/index.js';
// Not './sender/index.js': the AWS SDK is loaded only by the SQS thread (see worker-sender.ts).
import type { BatchSender } from './sender/types.js';
import { sqsSenderOptions } from './sender/options.js';
import { WorkerBatchSender } from './sender/worker-sender.js';
import { PipelineMetrics, type ServiceMetrics } from './telemetry/index.js';
import { InvoiceValidator } from './validation/index.js';

/**
 * Accept queue of the listening socket (Linux caps it at net.core.somaxconn, 4096 by default). Node's
 * default, 511, overflowed under bursts of new connections in the benchmark: every dropped SYN costs
 * the sender a 1 s retransmit, which makes it open still more connections.
 */
const LISTEN_BACKLOG = 4096;

export interface ServiceOptions {
  config: Config;
  logger: Logger;
  /** The service's MeterProvider with its Prometheus reader. */
  metrics: ServiceMetrics;
  /** Default: a {@link WorkerBatchSender}: one shared SQS client, built from the config, on its own thread. */
  sender?: BatchSender;
  /** Default: a {@link FileDeadLetterSink} at `config.deadLetterPath`. */
  deadLetter?: DeadLetterSink;
  /** Spans for the validate and enqueue stages. Default: none. */
  tracer?: Tracer;
  /** Spans for SendMessageBatch calls. Default: none. */
  batchTracer?: BatchTracer;
  /** Default: when `config.webhookSecrets` is set, checks of `config.signatureScheme`; none otherwise. */
  signature?: SignatureCheck;
  /**
   * Default: when `config.dedupeWindowSeconds` > 0, a bounded in-process TTL window, or the Redis at
   * `config.dedupeStore`; none otherwise.
   */
  dedupe?: DedupeWindow;
  /**
   * Longest the stop waits, once the buffer has drained, for keep-alive connections that were never told
   * to close (see `closeServer`). Default: the rest of `config.shutdownTimeoutMs` (at least 1000 ms).
   */
  idleConnectionGraceMs?: number | undefined;
}

type State = 'created' | 'recovering' | 'running' | 'draining' | 'stopped';

/** The whole pipeline, wired: HTTP intake → ring buffer → flusher → delivery → SQS. */
export class Service {
  readonly buffer: RingBuffer<PendingInvoice>;
  readonly flusher: Flusher;
  readonly app: Koa;
  readonly pipelineMetrics: PipelineMetrics;
  /** With `JOURNAL_DIR` set: the crash-safe journal. */
  readonly journal: InvoiceJournal | undefined;
  private readonly sender: BatchSender;
  private readonly config: Config;
  private readonly logger: Logger;
  private readonly highWater: number;
  private readonly dedupe: DedupeWindow | undefined;
  private readonly idleConnectionGraceMs: number | undefined;
  private server: http.Server | undefined;
  /** Open client connections, each with its requests not yet answered. */
  private readonly connections = new Map<Socket, number>();
  /** Responses not yet sent: those whose headers are still open get `Connection: close` when the drain starts. */
  private readonly pending = new Set<http.ServerResponse>();
  private state: State = 'created';
  private stopping: Promise<DrainResult> | undefined;

  constructor(options: ServiceOptions) {
    const { config, logger } = options;
    const fifo = isFifoQueue(config.sqsQueueUrl);
    this.config = config;
    this.logger = logger;
    this.idleConnectionGraceMs = options.idleConnectionGraceMs;
    this.buffer = new RingBuffer<PendingInvoice>({ capacity: config.bufferCapacity, maxBytes: config.bufferMaxBytes });
    this.highWater = Math.max(1, Math.floor(config.bufferCapacity * config.bufferHighWaterRatio));
    this.pipelineMetrics = new PipelineMetrics(options.metrics.meter);
    this.pipelineMetrics.observeBuffer(options.metrics.meter, this.buffer);
    this.sender = options.sender ?? new WorkerBatchSender(sqsSenderOptions(config, config.flushConcurrencyMax));
    const adaptive =
      config.flushConcurrencyMin < config.flushConcurrencyMax
        ? new GradientConcurrencyLimit({
            initial: config.flushConcurrency,
            min: config.flushConcurrencyMin,
            max: config.flushConcurrencyMax,
          })
        : undefined;
    const limit: ConcurrencyLimit = adaptive ?? new FixedConcurrencyLimit(config.flushConcurrency);
    this.pipelineMetrics.observeFlusher(options.metrics.meter, {
      limit: () => limit.current,
      inFlight: () => this.flusher.batchesInFlight,
    });
    const metrics = this.pipelineMetrics;
    this.journal =
      config.journalDir === ''
        ? undefined
        : new InvoiceJournal({
            dir: config.journalDir,
            maxBytes: config.journalMaxBytes,
            logger,
            observer: {
              synced: (seconds, records) => {
                metrics.journalFsyncDuration.record(seconds);
                metrics.journalSyncRecords.record(records);
              },
            },
          });
    if (this.journal !== undefined) this.pipelineMetrics.observeJournal(options.metrics.meter, this.journal);
    const delivery = new BatchDelivery({
      sender: this.sender,
      deadLetter: options.deadLetter ?? new FileDeadLetterSink(config.deadLetterPath),
      ...(this.journal === undefined ? {} : { ledger: this.journal }),
      metrics: this.pipelineMetrics,
      logger,
      retryBaseMs: config.retryBaseMs,
      retryMaxMs: config.retryMaxMs,
      ...(options.batchTracer ? { tracer: options.batchTracer } : {}),
      ...(adaptive
        ? {
            onCall: (sample) =>
              adaptive.observe(sample, {
                inFlight: this.flusher.batchesInFlight,
                fullBatchWaiting: this.buffer.size >= config.batchMaxMessages,
              }),
          }
        : {}),
    });
    this.flusher = new Flusher({
      buffer: this.buffer,
      delivery,
      logger,
      batchMaxMessages: config.batchMaxMessages,
      lingerMs: config.batchLingerMs,
      limit,
      orderedGroups: fifo,
      onTaken: (waitedMs) => this.pipelineMetrics.bufferWait.record(waitedMs / 1000),
    });
    const secrets = parseSecrets(config.webhookSecrets);
    const signatureOptions = { secrets, toleranceSeconds: config.signatureToleranceSeconds };
    const signature =
      options.signature ??
      (secrets.length === 0
        ? undefined
        : config.signatureScheme === 'standard-webhooks'
          ? new StandardWebhooksCheck(signatureOptions)
          : new HmacSignatureCheck(signatureOptions));
    const dedupe = options.dedupe ?? this.defaultDedupe();
    this.dedupe = dedupe;
    const intake = new Intake({
      buffer: this.buffer,
      flusher: this.flusher,
      validator: new InvoiceValidator(),
      metrics: this.pipelineMetrics,
      logger,
      ackMode: config.ackMode,
      confirmTimeoutMs: config.confirmTimeoutMs,
      ...(fifo
        ? { fifo: { groupIdField: config.fifoGroupIdField, deduplicationIdField: config.fifoDeduplicationIdField } }
        : {}),
      ...(signature ? { signature } : {}),
      ...(dedupe ? { dedupe } : {}),
      dedupeKey: config.dedupeKey,
      ...(this.journal ? { journal: this.journal } : {}),
      ...(options.tracer ? { tracer: options.tracer } : {}),
      isAccepting: () => this.state === 'running',
      notAccepting: () =>
        this.state === 'recovering'
          ? { reason: 'sending the invoices an earlier run left in the journal first', metricReason: 'starting' }
          : { reason: 'shutting down', metricReason: 'shutting_down' },
    });
    this.app = createApp({
      intake,
      logger,
      metrics: this.pipelineMetrics,
      bodyLimitBytes: config.bodyLimitBytes,
      maxHeaders: config.httpMaxHeadersCount,
      readiness: (exclude) => this.readiness(exclude),
      openApi: openApiDocument(),
      serveMetrics: (ctx) => {
        ctx.respond = false;
        options.metrics.serve(ctx.req, ctx.res);
      },
    });
  }

  /** The in-process window, or the one shared through DEDUPE_STORE; none while DEDUPE_WINDOW_SECONDS is 0. */
  private defaultDedupe(): DedupeWindow | undefined {
    const { dedupeWindowSeconds: windowSeconds, dedupeStore, dedupeMaxEntries } = this.config;
    if (windowSeconds <= 0) return undefined;
    if (dedupeStore === '') return new TtlDedupeWindow({ windowSeconds, maxEntries: dedupeMaxEntries });
    return new RedisDedupeWindow({
      url: dedupeStore,
      windowSeconds,
      logger: this.logger,
      onStoreError: () => this.pipelineMetrics.dedupeStoreErrors.add(1),
    });
  }

  /**
   * Not ready while starting or shutting down, and while the buffer is above its high-water mark
   * unless `exclude` has `buffer` (the chart's probe excludes it: see helm/README.md, "Readiness").
   */
  readiness(exclude: ReadonlySet<ReadinessCheck> = new Set()): Readiness {
    if (this.state === 'created') return { ready: false, reason: 'starting' };
    if (this.state === 'recovering') return { ready: false, reason: 'recovering the journal' };
    if (this.state !== 'running') return { ready: false, reason: 'shutting down' };
    if (!exclude.has('buffer') && this.buffer.size >= this.highWater) {
      return { ready: false, reason: 'buffer above high-water mark' };
    }
    return { ready: true };
  }

  /** Starts listening; resolves with the bound address. */
  async start(): Promise<AddressInfo> {
    // Accept nothing before the sender can send: the first invoices would otherwise wait for it.
    await this.sender.ready?.();
    await this.dedupe?.start?.();
    // The journal's leftovers go first (before new invoices: FIFO order); a JournalError stops start-up.
    const recovered = this.journal === undefined ? [] : await this.journal.open();
    this.pipelineMetrics.journalRecovered.add(recovered.length);
    for (const entry of recovered) {
      const key = this.config.dedupeKey === 'webhook-id' ? entry.attributes['webhook-id'] : entry.invoiceId;
      // The in-process window starts empty: a sender's retry of a recovered invoice is a repeat.
      if (key !== undefined) void Promise.resolve(this.dedupe?.seen(key)).catch(() => undefined);
    }
    const unfed = this.feed(recovered);
    const handle = this.app.callback();
    const server = http.createServer(
      {
        requestTimeout: this.config.httpRequestTimeoutMs,
        headersTimeout: this.config.httpHeadersTimeoutMs,
        keepAliveTimeout: this.config.httpKeepAliveTimeoutMs,
        // How often Node checks the two timeouts above; its 30 s default would let slow bodies linger.
        connectionsCheckingInterval: Math.min(1000, this.config.httpHeadersTimeoutMs),
      },
      (req, res) => {
        this.track(req.socket, res);
        return handle(req, res);
      },
    );
    server.on('connection', (socket: Socket) => {
      this.connections.set(socket, 0);
      socket.once('close', () => this.connections.delete(socket));
    });
    // No count limit in Node's parser (which, depending on the Node version, drops the fields past it
    // silently or answers a bare 431): the app counts them and answers 431 in the contract's shape. The
    // header block stays bounded by Node's 16 KiB maxHeaderSize (past it: Node's own 431).
    server.maxHeadersCount = 0;
    server.on('clientError', answerClientError);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: this.config.port, host: this.config.host, backlog: LISTEN_BACKLOG }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    this.logger.info({ address: address.address, port: address.port }, 'listening');
    if (unfed.length === 0) {
      this.state = 'running';
    } else {
      // More left in the journal than the buffer holds: serve probes (503 on intake) while it drains in.
      this.state = 'recovering';
      this.logger.info({ waiting: unfed.length }, 'journal: more to send than the buffer holds; intake waits');
      void this.feedLater(unfed);
    }
    return address;
  }

  /** Puts recovered invoices into the buffer, oldest first, as far as they fit; returns the rest. */
  private feed(entries: PendingInvoice[]): PendingInvoice[] {
    let fed = 0;
    while (fed < entries.length) {
      const entry = entries[fed] as PendingInvoice;
      if (this.buffer.push(entry, entry.bytes) !== 'ok') break;
      fed += 1;
    }
    if (fed > 0) this.flusher.notify();
    return entries.slice(fed);
  }

  private async feedLater(entries: PendingInvoice[]): Promise<void> {
    let rest = entries;
    while (rest.length > 0 && this.state === 'recovering') {
      await new Promise((resolve) => setTimeout(resolve, 20));
      rest = this.feed(rest);
    }
    if (this.state === 'recovering') {
      this.state = 'running';
      this.logger.info('journal: every recovered invoice is in the buffer; accepting new ones');
    }
  }

  /**
   * Graceful stop, run once: readiness and intake turn 503, the buffer drains to SQS within
   * SHUTDOWN_TIMEOUT_MS (leftovers go to the dead-letter file), then the listener and the client close.
   */
  stop(): Promise<DrainResult> {
    this.stopping ??= this.runStop();
    return this.stopping;
  }

  private async runStop(): Promise<DrainResult> {
    const started = performance.now();
    // Keep listening while draining: probes and late senders get a clear 503, not a refused connection.
    this.state = 'draining';
    // From now on every response says `Connection: close`: the client learns with its answer that this
    // connection ends, and opens its next one elsewhere (kube-proxy keeps routing an open connection here).
    for (const res of this.pending) if (!res.headersSent) res.setHeader('Connection', 'close');
    this.logger.info({ buffered: this.buffer.size, inFlight: this.flusher.batchesInFlight }, 'draining');
    const progress = setInterval(() => {
      this.logger.info({ buffered: this.buffer.size, inFlight: this.flusher.batchesInFlight }, 'still draining');
    }, 1000);
    progress.unref();
    // Journal writes already under way finish first: their invoices are accepted and must be drained too.
    await this.journal?.settled();
    const result = await this.flusher.drain(this.config.shutdownTimeoutMs);
    clearInterval(progress);
    await this.closeServer(
      this.idleConnectionGraceMs ?? Math.max(1000, this.config.shutdownTimeoutMs - (performance.now() - started)),
    );
    await this.sender.close();
    await this.journal?.close();
    await this.dedupe?.close?.();
    this.state = 'stopped';
    const tookMs = Math.round(performance.now() - started);
    if (result.left === 0) {
      this.logger.info({ tookMs }, 'drained: every accepted invoice reached SQS');
    } else if (result.kept > 0) {
      this.logger.error(
        { left: result.left, kept: result.kept, tookMs, journalDir: this.config.journalDir },
        `shutdown timeout: ${result.kept} invoice(s) not delivered to SQS stay in the journal; the next start sends them`,
      );
    } else {
      this.logger.error(
        { left: result.left, lost: result.lost, tookMs, deadLetterPath: this.config.deadLetterPath },
        `shutdown timeout: ${result.left} invoice(s) not delivered to SQS were written to the dead-letter file`,
      );
    }
    return result;
  }

  /** Counts a request on its connection until answered; while draining, the answer closes the connection. */
  private track(socket: Socket, res: http.ServerResponse): void {
    if (this.state === 'draining' || this.state === 'stopped') res.setHeader('Connection', 'close');
    this.pending.add(res);
    this.connections.set(socket, (this.connections.get(socket) ?? 0) + 1);
    res.once('close', () => {
      this.pending.delete(res);
      const open = this.connections.get(socket);
      if (open !== undefined) this.connections.set(socket, open - 1);
    });
  }

  /**
   * Stops listening, then waits up to `graceMs` for every connection to end. Answered with
   * `Connection: close`, a connection ends by itself once its response is out. An idle keep-alive
   * connection that was never told is left open: closing it races the client, which may be sending its
   * next request on it at that very moment, and then sees a reset instead of an answer. It gets the
   * rest of the budget to carry one more request (answered 503, `Connection: close`) or to be closed by
   * its client. Only connections still open when `graceMs` runs out are cut, and the log says how many.
   */
  private async closeServer(graceMs: number): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    // net.Server's close stops listening only. http.Server's own close() would also close every idle
    // connection at once (Node >= 19), untold ones included: the race described above.
    const listenerClosed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
    const deadline = performance.now() + graceMs;
    while (this.connections.size > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (this.connections.size > 0) {
      const idle = [...this.connections.values()].filter((open) => open === 0).length;
      this.logger.warn(
        { connections: this.connections.size, idle, graceMs: Math.round(graceMs) },
        'closing connections still open at the end of the drain budget',
      );
    }
    // Closes what is left (nothing, normally) and stops the timeout checks.
    server.close();
    server.closeAllConnections();
    await listenerClosed;
  }
}
