// The service's logger: pino JSON lines on stdout, secrets redacted, with the active span's trace ids.
import { isSpanContextValid, trace } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';

export interface LoggerOptions {
  /** Default: info. */
  level?: string;
  /** The `service` field of every line. Default: invoice-webhook. */
  serviceName?: string;
  /** Default: stdout. Tests pass a stream to read lines back. */
  destination?: pino.DestinationStream;
}

/**
 * The active span's ids, for log correlation: a line written inside a request or a flush carries
 * `trace_id`, `span_id` and `trace_flags` (the field names OpenTelemetry's log data model and
 * instrumentation-pino use). One AsyncLocalStorage read per line; with the SDK off, nothing is added.
 */
export function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  // A fresh object each time: pino merges the line's own fields into it.
  if (span === undefined) return {};
  const ctx = span.spanContext();
  if (!isSpanContextValid(ctx)) return {};
  return { trace_id: ctx.traceId, span_id: ctx.spanId, trace_flags: ctx.traceFlags.toString(16).padStart(2, '0') };
}

/** JSON lines on stdout, ISO timestamps, level names, trace ids of the active span. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.serviceName ?? 'invoice-webhook' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: traceFields,
      redact: {
        paths: ['webhookSecrets', 'config.webhookSecrets', 'headers["x-webhook-signature"]'],
        censor: '<redacted>',
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
