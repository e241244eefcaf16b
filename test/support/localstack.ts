import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { attribute, localstack, type ReceiveOptions } from './sqs.js';

export { attribute, type ReceiveOptions };

/** The LocalStack that test/run.mjs made sure is answering. */
export const LOCALSTACK_ENDPOINT = localstack.endpoint;

/** A test-side SQS client on LocalStack (reads queues back); never the service's own. */
export function testSqsClient(): SQSClient {
  return localstack.client();
}

/** Creates a fresh LocalStack queue with a unique name; returns its URL. */
export function createQueue(prefix: string, attributes: Record<string, string> = {}): Promise<string> {
  return localstack.createQueue(prefix, attributes);
}

export function deleteQueue(queueUrl: string): Promise<void> {
  return localstack.deleteQueue(queueUrl);
}

/** Reads and deletes LocalStack messages until `expected` arrived (see sqs.ts). */
export function receiveAll(queueUrl: string, options: ReceiveOptions): Promise<Message[]> {
  return localstack.receiveAll(queueUrl, options);
}
