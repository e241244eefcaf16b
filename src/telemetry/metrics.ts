// The pipeline's metric instruments, made once from a Meter, and the gauges of buffer, flusher and journal.
import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';

/** Reasons a request is turned away; the `reason` label of `webhook_invoices_rejected_total`. */
export type RejectReason =
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'malformed_json'
  | 'invalid_invoice'
  | 'invalid_signature'
  | 'buffer_full'
  | 'journal_full'
  | 'journal_unavailable'
  | 'starting'
  | 'shutting_down'
  | 'overloaded'
  | 'not_delivered';

/** Something whose state is read when metrics are collected. */
export interface BufferGauge {
  readonly size: number;
  readonly bytes: number;
  readonly capacity: number;
}

/** The journal's state, read when metrics are collected. */
export interface JournalGauge {
  readonly bytes: number;
  readonly segmentCount: number;
}

/**
 * Every instrument of the pipeline, made once from an OpenTelemetry Meter. With no SDK behind the
 * meter these are no-ops; with one, they reach /metrics (Prometheus) and OTLP alike.
 */
export class PipelineMetrics {
  readonly accepted: Counter;
  readonly duplicates: Counter;
  readonly dedupeStoreErrors: Counter;
  readonly rejected: Counter;
  readonly sqsCalls: Counter;
  readonly batchesSent: Counter;
  readonly messagesSent: Counter;
  readonly batchSize: Histogram;
  readonly flushDuration: Histogram;
  readonly sendFailures: Counter;
  readonly retries: Counter;
  readonly deadLettered: Counter;
  readonly journalFsyncDuration: Histogram;
  readonly journalSyncRecords: Histogram;
  readonly journalRecovered: Counter;
  readonly bufferWait: Histogram;

  constructor(meter: Meter) {
    this.accepted = meter.createCounter('webhook_invoices_accepted', {
      description: 'Invoices accepted by intake (2xx).',
    });
    this.duplicates = meter.createCounter('webhook_invoices_duplicate', {
      description: 'Repeats of an invoice id inside the dedupe window (answered, not sent again).',
    });
    this.dedupeStoreErrors = meter.createCounter('webhook_dedupe_store_errors', {
      description: 'Requests accepted without the repeat check because the shared dedupe store did not answer.',
    });
    this.rejected = meter.createCounter('webhook_invoices_rejected', {
      description: 'Requests turned away, by reason.',
    });
    this.sqsCalls = meter.createCounter('sqs_calls', {
      description: 'SendMessageBatch calls made, including failed ones.',
    });
    this.batchesSent = meter.createCounter('sqs_batches_sent', {
      description: 'SendMessageBatch calls that SQS answered.',
    });
    this.messagesSent = meter.createCounter('sqs_messages_sent', {
      description: 'Messages SQS acknowledged.',
    });
    this.batchSize = meter.createHistogram('sqs_batch_size', {
      description: 'Entries per SendMessageBatch call.',
      advice: { explicitBucketBoundaries: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
    });
    this.flushDuration = meter.createHistogram('sqs_flush_duration_seconds', {
      description: 'Duration of one SendMessageBatch call.',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
    });
    this.sendFailures = meter.createCounter('sqs_send_failures', {
      description: 'Failed sends: whole calls (kind=call) and single entries (kind=entry), by error code.',
    });
    this.retries = meter.createCounter('sqs_retries', {
      description: 'Entries sent again after a failure.',
    });
    this.deadLettered = meter.createCounter('sqs_dead_lettered', {
      description: 'Entries written to the dead-letter file, by reason.',
    });
    this.journalFsyncDuration = meter.createHistogram('journal_fsync_duration_seconds', {
      description: 'Duration of one journal group commit: its write and sync (one O_DSYNC write on Linux).',
      unit: 's',
      advice: {
        explicitBucketBoundaries: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      },
    });
    this.journalSyncRecords = meter.createHistogram('journal_sync_records', {
      description: 'Invoices made durable by one journal fdatasync (group commit size).',
      advice: { explicitBucketBoundaries: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] },
    });
    this.journalRecovered = meter.createCounter('journal_recovered_records', {
      description: 'Invoices found undelivered in the journal at start and sent again.',
    });
    this.bufferWait = meter.createHistogram('webhook_buffer_wait_seconds', {
      description: 'Time an invoice waited in the buffer, from acceptance until its batch was taken for sending.',
      unit: 's',
      advice: {
        explicitBucketBoundaries: [
          0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
        ],
      },
    });
  }

  /** Reports the buffer's depth, bytes and capacity whenever metrics are collected. */
  observeBuffer(meter: Meter, buffer: BufferGauge): void {
    const depth = meter.createObservableGauge('webhook_buffer_depth', { description: 'Invoices in the buffer.' });
    const bytes = meter.createObservableGauge('webhook_buffer_bytes', {
      description: 'Bytes in the buffer.',
      unit: 'By',
    });
    const capacity = meter.createObservableGauge('webhook_buffer_capacity', {
      description: 'Invoices the buffer can hold.',
    });
    meter.addBatchObservableCallback(
      (result) => {
        result.observe(depth, buffer.size);
        result.observe(bytes, buffer.bytes);
        result.observe(capacity, buffer.capacity);
      },
      [depth, bytes, capacity],
    );
  }

  /** Reports the flusher's concurrency limit (adaptive or fixed) and the batches in flight. */
  observeFlusher(meter: Meter, flusher: { limit: () => number; inFlight: () => number }): void {
    const limit = meter.createObservableGauge('sqs_flush_concurrency_limit', {
      description: 'SendMessageBatch calls the flusher may have in flight now (adapts to SQS latency and errors).',
    });
    const inFlight = meter.createObservableGauge('sqs_flush_in_flight', {
      description: 'Batches in flight: being sent or waiting to be retried.',
    });
    meter.addBatchObservableCallback(
      (result) => {
        result.observe(limit, flusher.limit());
        result.observe(inFlight, flusher.inFlight());
      },
      [limit, inFlight],
    );
  }

  /** Reports the overload guard's state (src/intake/overload.ts) whenever metrics are collected. */
  observeOverload(meter: Meter, guard: { readonly inFlight: number; readonly admitRatio: number }): void {
    const inFlight = meter.createObservableGauge('webhook_requests_in_flight', {
      description: 'Webhook requests taken by the overload guard and not yet answered.',
    });
    const ratio = meter.createObservableGauge('webhook_admission_ratio', {
      description:
        'Share of webhook requests the overload guard admits now (1 = all; below 1 the rest get 503 overloaded).',
    });
    meter.addBatchObservableCallback(
      (result) => {
        result.observe(inFlight, guard.inFlight);
        result.observe(ratio, guard.admitRatio);
      },
      [inFlight, ratio],
    );
  }

  /** Reports the journal's size on disk and its segment files whenever metrics are collected. */
  observeJournal(meter: Meter, journal: JournalGauge): void {
    const bytes = meter.createObservableGauge('journal_bytes', {
      description:
        'Bytes of journal segment files on disk (undelivered invoices, and delivered ones sharing a segment).',
      unit: 'By',
    });
    const segments = meter.createObservableGauge('journal_segments', { description: 'Journal segment files on disk.' });
    meter.addBatchObservableCallback(
      (result) => {
        result.observe(bytes, journal.bytes);
        result.observe(segments, journal.segmentCount);
      },
      [bytes, segments],
    );
  }

  reject(reason: RejectReason, attributes: Attributes = {}): void {
    this.rejected.add(1, { reason, ...attributes });
  }
}
