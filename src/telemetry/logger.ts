import pino, { type Logger } from 'pino';

export interface LoggerOptions {
  /** Default: info. */
  level?: string;
  /** Default: stdout. Tests pass a stream to read lines back. */
  destination?: pino.DestinationStream;
}

/** JSON lines on stdout, ISO timestamps, level names; trace ids are added by the OTel pino instrumentation. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: process.env.OTEL_SERVICE_NAME ?? 'invoice-webhook' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['webhookSecrets', 'config.webhookSecrets', 'headers["x-webhook-signature"]'],
        censor: '<redacted>',
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
