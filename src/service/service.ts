// The service: wires the pipeline's parts together and runs its lifecycle (start, readiness, graceful stop).
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import type { Logger } from 'pino';
import { RingBuffer, type PendingInvoice } from '../buffer/index.js';
import { fifoPointers, isFifoQueue, type Config } from '../config/index.js';
import { FileDeadLetterSink } from '../deadletter/index.js';
import { BatchDelivery } from '../delivery/index.js';
import {
  FixedConcurrencyLimit,
  Flusher,
  GradientConcurrencyLimit,
  type ConcurrencyLimit,
  type DrainResult,
} from '../flusher/index.js';
import {
  Intake,
  WEBHOOK_PATH,
  RedisDedupeWindow,
  TtlDedupeWindow,
  createApp,
  openApiDocument,
  type DedupeWindow,
  type Readiness,
  type ReadinessCheck,
} from '../intake/index.js';
import { HANDOFF_PATH, HandoffReceiver } from '../handoff/index.js';
import { overloadGuardFrom, type OverloadGuard } from '../intake/overload.js';
import { guardRoute } from '../intake/shed.js';
import { InvoiceJournal } from '../journal/index.js';
import { WorkerBatchSender, sqsSenderOptions, type BatchSender } from '../sender/index.js';
import { PipelineMetrics } from '../telemetry/index.js';
import { DrainingHttpServer } from './http-server.js';
import { invoiceSchema, signatureCheck } from './intake-parts.js';
import { RecoveryFeed, rememberRecovered } from './recovery-feed.js';
import type { ServiceOptions } from './options.js';
import { finishShutdown } from './leftovers.js';

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
  private readonly server: DrainingHttpServer;
  private readonly recovery: RecoveryFeed;
  /** Sheds the webhook route's excess before Koa runs (CONTRACT §12); none when OVERLOAD_* turn it off. */
  private readonly overload: OverloadGuard | undefined;
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
    const signature = options.signature ?? signatureCheck(config);
    const schema = invoiceSchema(config);
    const dedupe = options.dedupe ?? this.defaultDedupe();
    this.dedupe = dedupe;
    const intake = new Intake({
      buffer: this.buffer,
      flusher: this.flusher,
      validator: schema.validator,
      metrics: this.pipelineMetrics,
      logger,
      ackMode: config.ackMode,
      confirmTimeoutMs: config.confirmTimeoutMs,
      invoiceIdPointer: config.invoiceIdPointer,
      ...(fifo ? { fifo: fifoPointers(config) } : {}),
      forwardSignatureHeaders: config.forwardSignatureHeaders,
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
      openApi: openApiDocument(undefined, schema.published),
      serveMetrics: (ctx) => {
        ctx.respond = false;
        options.metrics.serve(ctx.req, ctx.res);
      },
    });
    // With HANDOFF_TOKEN: the route taking a shutting-down peer's leftovers (beside the app, not in it).
    const handoff =
      config.handoffToken === ''
        ? undefined
        : new HandoffReceiver({
            token: config.handoffToken,
            self: config.podName,
            buffer: this.buffer,
            journal: this.journal,
            logger,
            accepting: () => this.state === 'running',
            notify: () => this.flusher.notify(),
          });
    // The overload guard sheds on the webhook route before Koa runs (CONTRACT §12).
    this.overload = overloadGuardFrom(config);
    if (this.overload) this.pipelineMetrics.observeOverload(options.metrics.meter, this.overload);
    const callback = this.app.callback();
    const guard = this.overload;
    const app = guard ? guardRoute(callback, { guard, path: WEBHOOK_PATH, metrics: this.pipelineMetrics }) : callback;
    this.server = new DrainingHttpServer({
      config,
      logger,
      handle: (req, res) =>
        handoff !== undefined && req.url === HANDOFF_PATH ? handoff.handle(req, res) : app(req, res),
      closing: () => this.state === 'draining' || this.state === 'stopped',
    });
    this.recovery = new RecoveryFeed({ buffer: this.buffer, flusher: this.flusher, logger });
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
    rememberRecovered(recovered, this.dedupe, this.config.dedupeKey);
    const unfed = this.recovery.feed(recovered);
    const address = await this.server.listen();
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

  private async feedLater(entries: PendingInvoice[]): Promise<void> {
    await this.recovery.feedLater(entries, () => this.state === 'recovering');
    if (this.state === 'recovering') {
      this.state = 'running';
      this.logger.info('journal: every recovered invoice is in the buffer; accepting new ones');
    }
  }

  /**
   * Graceful stop, run once: readiness and intake turn 503, the buffer drains to SQS within
   * SHUTDOWN_TIMEOUT_MS (leftovers stay in the journal, or go to the dead-letter file without one), then the
   * listener and the client close, and the journal's leftovers are handed to a Ready peer (HANDOFF_URL).
   */
  stop(): Promise<DrainResult> {
    this.stopping ??= this.runStop();
    return this.stopping;
  }

  private async runStop(): Promise<DrainResult> {
    const started = performance.now();
    // Keep listening while draining: probes and late senders get a clear 503, not a refused connection.
    this.state = 'draining';
    this.server.startDraining();
    this.logger.info({ buffered: this.buffer.size, inFlight: this.flusher.batchesInFlight }, 'draining');
    const progress = setInterval(() => {
      this.logger.info({ buffered: this.buffer.size, inFlight: this.flusher.batchesInFlight }, 'still draining');
    }, 1000);
    progress.unref();
    // Journal writes already under way finish first: their invoices are accepted and must be drained too.
    await this.journal?.settled();
    const result = await this.flusher.drain(this.config.shutdownTimeoutMs);
    clearInterval(progress);
    await this.server.close(
      this.idleConnectionGraceMs ?? Math.max(1000, this.config.shutdownTimeoutMs - (performance.now() - started)),
    );
    await this.sender.close();
    await this.journal?.close();
    await this.dedupe?.close?.();
    this.overload?.close();
    // Leftovers go to a Ready peer (journal on); then every invoice still at risk here is named.
    const { loss } = await finishShutdown(this.config, this.logger, result, Math.round(performance.now() - started));
    this.state = 'stopped';
    return loss;
  }
}
