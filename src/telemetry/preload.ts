// Loaded before the service with `node --require ./dist/src/telemetry/preload.js dist/src/main.js`
// (npm start, the container image), so that the SDK patches http (and the AWS SDK) before main.js loads them.
// Like main.ts it is an entry point, so it reads the environment (the OTEL_* variables, as the SDK does).
// main.ts picks the result up with telemetry() and shuts the SDK down after the buffer has drained.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DISABLED_TELEMETRY, FAILED_TELEMETRY, registerTelemetry, sdkDisabled, type Telemetry } from './handle.js';

function start(): Telemetry {
  if (sdkDisabled(process.env.OTEL_SDK_DISABLED)) return DISABLED_TELEMETRY;
  try {
    const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    // Required here, not imported at the top: a disabled SDK must not even load the instrumentations.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startSdk } = require('./sdk.js') as typeof import('./sdk.js');
    return startSdk({ serviceName: pkg.name, serviceVersion: pkg.version, env: process.env });
  } catch (error) {
    // Telemetry trouble must not keep invoices out: say so and run without it.
    process.stderr.write(
      JSON.stringify({
        level: 'error',
        msg: 'OpenTelemetry SDK failed to start; running without tracing',
        err: error instanceof Error ? error.message : String(error),
        time: new Date().toISOString(),
      }) + '\n',
    );
    return FAILED_TELEMETRY;
  }
}

registerTelemetry(start());
