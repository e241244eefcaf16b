import assert from 'node:assert/strict';
import { before, describe, it, type TestContext } from 'node:test';
import { makeInvoice, postInvoice } from '../../support/invoices.js';
import { spawnOn, sqsQueue, suiteScope, type SqsQueue } from '../../support/pipeline.js';
import type { SpawnedService } from '../../support/service.js';

// Exports go to ports where nothing answers: an export that fails must be reported, never fatal.
const NOWHERE_HTTP = 'http://127.0.0.1:9';

interface Case {
  name: string;
  env: Record<string, string>;
  /** A report the SDK must write (a refused value), matched against the JSON log lines. */
  reported?: RegExp;
  /** Labels target_info must carry on /metrics. */
  targetInfo?: RegExp;
}

/**
 * Combinations the OpenTelemetry specification allows: each must start and serve. Several settings
 * share a process (each start costs seconds on a loaded machine); every exporter, protocol, sampler
 * and propagator value appears at least once.
 */
const ALLOWED: Case[] = [
  { name: 'the export interval alone, below the default timeout', env: { OTEL_METRIC_EXPORT_INTERVAL: '1000' } },
  {
    name: 'a timeout above the interval, both given: clamped',
    env: { OTEL_METRIC_EXPORT_INTERVAL: '1000', OTEL_METRIC_EXPORT_TIMEOUT: '5000' },
    reported: /OTEL_METRIC_EXPORT_TIMEOUT \(5000\) is greater than OTEL_METRIC_EXPORT_INTERVAL \(1000\)/,
  },
  {
    name: 'the export timeout alone, above the default interval; diagnostics at debug',
    env: { OTEL_METRIC_EXPORT_TIMEOUT: '90000', OTEL_LOG_LEVEL: 'debug' },
    reported: /OTEL_METRIC_EXPORT_TIMEOUT \(90000\) is greater than OTEL_METRIC_EXPORT_INTERVAL \(60000, default\)/,
  },
  {
    name: 'every exporter none',
    env: { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
  },
  {
    name: 'console exporters, sampler always_off',
    env: {
      OTEL_TRACES_EXPORTER: 'console',
      OTEL_METRICS_EXPORTER: 'console',
      OTEL_LOGS_EXPORTER: 'console',
      OTEL_TRACES_SAMPLER: 'always_off',
    },
  },
  {
    name: 'otlp over grpc, sampler parentbased_traceidratio, propagators b3 and tracecontext',
    env: {
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_ENDPOINT: NOWHERE_HTTP,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_PROPAGATORS: 'b3,tracecontext',
    },
  },
  {
    name: 'otlp over http/json, sampler traceidratio at zero, no resource detectors',
    env: {
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_TRACES_SAMPLER: 'traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0',
      OTEL_NODE_RESOURCE_DETECTORS: 'none',
    },
  },
  {
    name: 'a protocol and an endpoint per signal, headers, timeout, gzip, limits, batch settings, parentbased_always_off',
    env: {
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: NOWHERE_HTTP,
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${NOWHERE_HTTP}/v1/metrics`,
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc,x-tenant=billing',
      OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '64',
      OTEL_SPAN_LINK_COUNT_LIMIT: '2',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_BSP_MAX_QUEUE_SIZE: '64',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '32',
      OTEL_TRACES_SAMPLER: 'parentbased_always_off',
    },
  },
  {
    name: 'otlp and console together, resource attributes, a service name, propagators none, sampler always_on',
    env: {
      OTEL_TRACES_EXPORTER: 'otlp,console',
      OTEL_METRICS_EXPORTER: 'otlp,console',
      OTEL_SERVICE_NAME: 'invoice-intake',
      OTEL_RESOURCE_ATTRIBUTES: 'service.namespace=billing,deployment.environment.name=test',
      OTEL_PROPAGATORS: 'none',
      OTEL_TRACES_SAMPLER: 'always_on',
    },
    targetInfo: /^target_info\{(?=[^}]*service_name="invoice-intake")(?=[^}]*service_namespace="billing")/m,
  },
  { name: 'the SDK disabled', env: { OTEL_SDK_DISABLED: 'true' } },
];

/** Values the SDK must refuse: each is reported (a JSON log line) and ignored; the service still starts. */
const REFUSED: Case[] = [
  {
    name: 'a zero export interval',
    env: { OTEL_METRIC_EXPORT_INTERVAL: '0' },
    reported: /OTEL_METRIC_EXPORT_INTERVAL \(0\) is invalid/,
  },
  {
    name: 'an export interval that is not a number',
    env: { OTEL_METRIC_EXPORT_INTERVAL: 'soon' },
    reported: /Unknown value 'soon' for OTEL_METRIC_EXPORT_INTERVAL/,
  },
  {
    name: 'an unknown sampler',
    env: { OTEL_TRACES_SAMPLER: 'sometimes' },
    reported: /unknown OTEL_TRACES_SAMPLER value "sometimes"/,
  },
  {
    name: 'a sampler ratio out of range',
    env: { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' },
    reported: /OTEL_TRACES_SAMPLER_ARG=2 was given, but it is out of range/,
  },
  {
    name: 'an unknown OTLP protocol',
    env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'carrier-pigeon' },
    reported: /Unsupported OTLP metrics protocol: "carrier-pigeon"/,
  },
  {
    name: 'an unknown metrics exporter beside otlp',
    env: { OTEL_METRICS_EXPORTER: 'otlp,zipkin' },
    reported: /Unsupported OTEL_METRICS_EXPORTER value: "zipkin"/,
  },
  {
    name: 'a negative batch delay',
    env: { OTEL_BSP_SCHEDULE_DELAY: '-1' },
    reported: /OTEL_BSP_SCHEDULE_DELAY \(-1\) is invalid/,
  },
  {
    name: 'OTEL_SDK_DISABLED neither true nor false',
    env: { OTEL_SDK_DISABLED: 'maybe' },
    reported: /Unknown value 'maybe' for OTEL_SDK_DISABLED/,
  },
];

const scope = suiteScope('otel-env');
let queue: SqsQueue;

before(async () => {
  queue = await sqsQueue(scope);
});

/** The messages of every JSON log line so far, one a line. */
function logMessages(svc: SpawnedService): string {
  return svc.logs.map((line) => String(line.msg)).join('\n');
}

/** Starts the service as `npm start` does under `env`, proves it serves, and stops it cleanly. */
async function startsAndServes(t: TestContext, testCase: Case): Promise<void> {
  const svc = await spawnOn(t, queue, {
    // A short drain budget: the test's own keep-alive connections stay open after their answers, and the
    // service leaves idle connections open until the budget ends (closing them would race a client), which
    // at the default 20 s made each case wait that long to stop.
    env: {
      OTEL_SDK_DISABLED: 'false',
      OTEL_EXPORTER_OTLP_ENDPOINT: NOWHERE_HTTP,
      SHUTDOWN_TIMEOUT_MS: '2000',
      ...testCase.env,
    },
    preload: true,
  });
  {
    const ready = await fetch(`${svc.url}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
    const posted = await postInvoice(svc.url, makeInvoice());
    assert.equal(posted.status, 202, posted.text);
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    assert.match(metrics, /^webhook_invoices_accepted_total(\{[^}]*\})? 1$/m);
    if (testCase.env.OTEL_SDK_DISABLED !== 'true') {
      assert.match(metrics, /^http_server_request_duration_seconds_count\{[^}]*http_route="\/webhooks\/invoice"/m);
    }
    if (testCase.targetInfo) assert.match(metrics, testCase.targetInfo);
    const starting = svc.logs.find((line) => line.msg === 'starting');
    const expectedState = testCase.env.OTEL_SDK_DISABLED === 'true' ? 'disabled' : 'on';
    assert.equal(starting?.telemetry, expectedState, 'the SDK started (it did not fall back to running without it)');
    if (testCase.reported) assert.match(logMessages(svc), testCase.reported, 'the value is reported');
    svc.child.kill('SIGTERM');
    const exit = await svc.exited;
    assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}; stderr: ${svc.stderr.join('')}`);
  }
}

// Three processes at a time: most of a case is waiting for a process to start or to stop.
describe('OTEL_* settings the specification allows: the service starts and serves', { concurrency: 3 }, () => {
  for (const testCase of ALLOWED) {
    it(`${testCase.name}: ${JSON.stringify(testCase.env)}`, (t) => startsAndServes(t, testCase));
  }
});

describe('OTEL_* values the SDK must refuse: reported and ignored, never a crash', { concurrency: 3 }, () => {
  for (const testCase of REFUSED) {
    it(`${testCase.name}: ${JSON.stringify(testCase.env)}`, (t) => startsAndServes(t, testCase));
  }
});
