import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, redactConfig, type Config } from './config/index.js';
import { Service } from './service.js';
import { ServiceMetrics, createLogger } from './telemetry/index.js';

/** The only file that reads the environment: it loads the config, wires the service and owns signals. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(
        JSON.stringify({ level: 'fatal', msg: error.message, setting: error.setting, time: new Date().toISOString() }) +
          '\n',
      );
      process.exit(1);
    }
    throw error;
  }
  const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  const logger = createLogger({ level: config.logLevel });
  const metrics = new ServiceMetrics({
    serviceName: process.env.OTEL_SERVICE_NAME ?? pkg.name,
    serviceVersion: pkg.version,
  });
  const service = new Service({ config, logger, metrics });
  logger.info({ config: redactConfig(config), version: pkg.version }, 'starting');

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
        logger.flush();
        process.exitCode = result.left > 0 ? 2 : 0;
        setImmediate(() => process.exit());
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

void main();
