// OpenTelemetry's own diagnostics as JSON log lines on stdout, at the level OTEL_LOG_LEVEL sets.
import { DiagLogLevel, diag, type DiagLogger } from '@opentelemetry/api';

type DiagLevelName = 'error' | 'warn' | 'info' | 'debug' | 'verbose';

function line(level: DiagLevelName, message: string, args: unknown[]): string {
  const entry: Record<string, unknown> = {
    level,
    msg: message,
    source: 'opentelemetry',
    time: new Date().toISOString(),
  };
  if (args.length > 0) entry.args = args.map((arg) => (arg instanceof Error ? arg.message : arg));
  try {
    return JSON.stringify(entry) + '\n';
  } catch {
    return JSON.stringify({ ...entry, args: args.map(String) }) + '\n';
  }
}

/**
 * The SDK's own reports (a refused OTEL_* value, an export that failed) as JSON lines on stdout,
 * like the service's other logs. DiagConsoleLogger would write plain text to stderr.
 */
export class JsonDiagLogger implements DiagLogger {
  constructor(private readonly write: (text: string) => void = (text) => process.stdout.write(text)) {}

  error(message: string, ...args: unknown[]): void {
    this.write(line('error', message, args));
  }
  warn(message: string, ...args: unknown[]): void {
    this.write(line('warn', message, args));
  }
  info(message: string, ...args: unknown[]): void {
    this.write(line('info', message, args));
  }
  debug(message: string, ...args: unknown[]): void {
    this.write(line('debug', message, args));
  }
  verbose(message: string, ...args: unknown[]): void {
    this.write(line('verbose', message, args));
  }
}

const LEVELS: Record<string, DiagLogLevel> = {
  NONE: DiagLogLevel.NONE,
  ERROR: DiagLogLevel.ERROR,
  WARN: DiagLogLevel.WARN,
  INFO: DiagLogLevel.INFO,
  DEBUG: DiagLogLevel.DEBUG,
  VERBOSE: DiagLogLevel.VERBOSE,
  ALL: DiagLogLevel.ALL,
};

/**
 * Routes OpenTelemetry's diagnostics to a {@link JsonDiagLogger} at OTEL_LOG_LEVEL (default `warn`,
 * so a refused setting is always reported; an unknown level also means `warn`).
 */
export function installDiagLogger(level: string | undefined, logger: DiagLogger = new JsonDiagLogger()): void {
  const logLevel = LEVELS[(level ?? '').trim().toUpperCase()] ?? DiagLogLevel.WARN;
  diag.setLogger(logger, { logLevel, suppressOverrideMessage: true });
}
