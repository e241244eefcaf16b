// The options a Service is built with: the configuration, and the parts a test or the process may swap in.
import type { Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { DeadLetterSink } from '../deadletter/index.js';
import type { BatchTracer } from '../delivery/index.js';
import type { DedupeWindow, SignatureCheck } from '../intake/index.js';
import type { BatchSender } from '../sender/index.js';
import type { ServiceMetrics } from '../telemetry/index.js';

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
   * to close (see `DrainingHttpServer.close`). Default: the rest of `config.shutdownTimeoutMs` (at least 1000 ms).
   */
  idleConnectionGraceMs?: number | undefined;
}
