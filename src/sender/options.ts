// The SQS sender's options (queue, region, endpoint, timeout) from the config, for the service and replay.
import type { Config } from '../config/index.js';
import type { SqsBatchSenderOptions } from './sqs-sender.js';

/**
 * How to reach SQS, from the one config: the service's sender and the replay tool talk to the same
 * queue, region and endpoint with the same timeout. Type-only imports: loads no AWS SDK.
 */
export function sqsSenderOptions(config: Config, maxSockets: number): Omit<SqsBatchSenderOptions, 'client'> {
  return {
    queueUrl: config.sqsQueueUrl,
    region: config.awsRegion,
    ...(config.sqsEndpoint ? { endpoint: config.sqsEndpoint } : {}),
    requestTimeoutMs: config.sqsRequestTimeoutMs,
    maxSockets,
  };
}
