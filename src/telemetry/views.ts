// The metric views every MeterProvider of the service gets: the ack-latency histogram's bucket bounds.
import { AggregationType, type ViewOptions } from '@opentelemetry/sdk-metrics';
import { METRIC_HTTP_SERVER_REQUEST_DURATION } from '@opentelemetry/semantic-conventions';

/**
 * Bucket bounds (seconds) of the ack-latency histogram. A buffered ack takes well under a
 * millisecond, so the HTTP instrumentation's default bounds (5 ms and up) would put every answer in
 * the first bucket; these resolve 100 µs steps at the bottom and still reach the 10 s a confirmed ack
 * may wait for SQS.
 */
export const ACK_LATENCY_BUCKETS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Views of every MeterProvider the service builds (the SDK's, or its own when the SDK is off). */
export function metricViews(): ViewOptions[] {
  return [
    {
      instrumentName: METRIC_HTTP_SERVER_REQUEST_DURATION,
      aggregation: {
        type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
        options: { boundaries: ACK_LATENCY_BUCKETS_SECONDS },
      },
    },
  ];
}
