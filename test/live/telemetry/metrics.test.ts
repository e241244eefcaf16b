import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { ACK_LATENCY_BUCKETS_SECONDS } from '../../../src/telemetry/views.js';
import { sampleNames, sampleSum } from '../../support/exposition.js';
import { exerciseLiveService, type LiveMetrics } from '../../support/live-metrics.js';
import { suiteScope } from '../../support/pipeline.js';
import { REPO_ROOT } from '../../support/service.js';

const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };

describe('metrics of the running service (SDK on, as npm start runs it)', () => {
  const scope = suiteScope('live-metrics');
  let live: LiveMetrics;
  before(async () => {
    live = await exerciseLiveService(scope);
  });

  it('/metrics has the ack latency as http_server_request_duration_seconds with http_route, in sub-millisecond buckets', () => {
    const labels = { http_route: '/webhooks/invoice', http_request_method: 'POST' };
    const accepted = sampleSum(live.exposition, 'http_server_request_duration_seconds_count', {
      ...labels,
      http_response_status_code: '202',
    });
    assert.equal(accepted, 7, 'one observation per accepted webhook');
    assert.equal(
      sampleSum(live.exposition, 'http_server_request_duration_seconds_count', {
        ...labels,
        http_response_status_code: '422',
      }),
      1,
    );
    const bounds = [
      ...live.exposition.matchAll(/^http_server_request_duration_seconds_bucket\{[^}]*le="([^"]+)"/gm),
    ].map((m) => m[1]);
    for (const bound of ACK_LATENCY_BUCKETS_SECONDS) assert.ok(bounds.includes(String(bound)), `bucket le="${bound}"`);
    assert.ok(ACK_LATENCY_BUCKETS_SECONDS.filter((b) => b < 0.001).length >= 3, 'three bounds below one millisecond');
    assert.doesNotMatch(live.exposition, /^http_server_request_duration_seconds_count\{[^}]*http_route="\/metrics"/m);
  });

  it('the same histogram reaches OTLP under its semantic-convention name, beside the pipeline metrics', () => {
    const names = live.otlp.metricNames();
    for (const name of ['http.server.request.duration', 'webhook_invoices_accepted', 'nodejs.eventloop.delay.p99'])
      assert.ok(names.has(name), `OTLP carried ${name}; it carried ${[...names].join(', ')}`);
  });

  it('/metrics has the Node runtime: event-loop delay, heap, GC', () => {
    const names = sampleNames(live.exposition);
    for (const name of [
      'nodejs_eventloop_delay_p99_seconds',
      'nodejs_eventloop_utilization_ratio',
      'v8js_memory_heap_used_bytes',
      'v8js_gc_duration_seconds_count',
    ]) {
      assert.ok(names.has(name), `${name} is exported`);
    }
    assert.ok(sampleSum(live.exposition, 'v8js_memory_heap_used_bytes') > 1e6, 'the heap holds more than a megabyte');
  });

  it('/metrics has the time invoices waited in the buffer, one observation per invoice taken', () => {
    // 7 accepted; the throttled one is taken once (a retry does not go back through the buffer).
    assert.equal(sampleSum(live.exposition, 'webhook_buffer_wait_seconds_count'), 7);
    assert.ok(sampleSum(live.exposition, 'webhook_buffer_wait_seconds_sum') > 0);
  });

  it('/metrics has the build info gauge with the package and Node versions', () => {
    assert.equal(
      sampleSum(live.exposition, 'webhook_build_info', { version: pkg.version, node_version: process.versions.node }),
      1,
    );
  });
});
