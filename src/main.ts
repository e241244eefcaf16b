// The process: loads the configuration, wires the service, and owns signals and the exit code.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { trace } from '@opentelemetry/api';
import { ConfigError, loadConfig, redactConfig, type Config } from './config/index.js';
import { OtelBatchTracer } from './delivery/index.js';
import { Service, unsignedExposureWarning } from './service/index.js';
import { ServiceMetrics, createLogger, telemetry } from './telemetry/index.js';
import { SchemaFileError } from './validation/index.js';

/** The process's entry point: it loads the config from the environment, wires the service and owns signals and exit codes. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) configFailed(error.message, error.setting);
    throw error;
  }
  const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  // OpenTelemetry: started by the preload (src/telemetry/preload.ts) unless OTEL_SDK_DISABLED=true.
  const otel = telemetry();
  const serviceName = process.env.OTEL_SERVICE_NAME ?? pkg.name;
  const logger = createLogger({ level: config.logLevel, serviceName });
  const metrics = new ServiceMetrics({
    serviceName,
    serviceVersion: pkg.version,
    ...(otel.metrics ? { sdk: otel.metrics } : {}),
  });
  const tracer = trace.getTracer('invoice-webhook', pkg.version);
  const tracing =
    otel.state === 'on' ? { tracer, batchTracer: new OtelBatchTracer({ tracer, queueUrl: config.sqsQueueUrl }) } : {};
  let service: Service;
  try {
    service = new Service({ config, logger, metrics, ...tracing });
  } catch (error) {
    // INVOICE_SCHEMA_FILE is read and compiled here, once: a bad file fails like a bad setting.
    if (error instanceof SchemaFileError) configFailed(error.message, 'INVOICE_SCHEMA_FILE');
    throw error;
  }
  logger.info({ config: redactConfig(config), version: pkg.version, telemetry: otel.state }, 'starting');
  const unsigned = unsignedExposureWarning(config);
  if (unsigned) logger.warn({ host: unsigned.host, port: unsigned.port }, unsigned.message);

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      // A second signal must not cut the drain short: that is how accepted invoices get lost.
      logger.warn({ signal }, 'already draining; signal ignored (SIGKILL would lose buffered invoices)');
      return;
    }
    logger.info({ signal }, 'shutting down');
    void service
      .stop()
      .then(async (result) => {
        await metrics.shutdown().catch(() => undefined);
        // Last, so the drain's own spans are exported too.
        await otel.shutdown().catch(() => undefined);
        process.exitCode = result.left > 0 ? 2 : 0;
        // Exit once the last log lines (the drain summary) are written out.
        logger.flush(() => process.exit());
      })
      .catch((error: unknown) => {
        logger.fatal({ err: error }, 'shutdown failed');
        logger.flush();
        process.exit(3);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    await service.start();
  } catch (error) {
    logger.fatal({ err: error }, 'could not start');
    logger.flush();
    process.exit(1);
  }
}

/** A configuration that cannot run: one fatal JSON line on stderr naming the setting, exit code 1. */
function configFailed(message: string, setting: string): never {
  process.stderr.write(
    JSON.stringify({ level: 'fatal', msg: message, setting, time: new Date().toISOString() }) + '\n',
  );
  process.exit(1);
}

void main();
