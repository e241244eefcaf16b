// Sends batches to SQS with SendMessageBatch, on one keep-alive client that makes a single attempt per call.
import http from 'node:http';
import https from 'node:https';
import {
  SQSClient,
  SendMessageBatchCommand,
  type MessageAttributeValue,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { queueNameOf, type BatchResult, type BatchSender, type OutboundMessage } from './types.js';

export interface SqsBatchSenderOptions {
  queueUrl: string;
  /** Default: `us-east-1`. */
  region?: string;
  /** Endpoint override (LocalStack, ElasticMQ). Default: AWS. */
  endpoint?: string;
  /** Socket timeout of one call. Default: 5000. */
  requestTimeoutMs?: number;
  /** Keep-alive sockets to SQS; size it to the flush concurrency. Default: 8. */
  maxSockets?: number;
  /** A ready client; when given, the options above that shape a client are ignored. */
  client?: SQSClient;
}

/** Builds the one SQS client of the process: keep-alive sockets, explicit timeouts, no hidden retries. */
export function createSqsClient(options: Omit<SqsBatchSenderOptions, 'queueUrl' | 'client'>): SQSClient {
  const maxSockets = options.maxSockets ?? 8;
  const agentOptions = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets };
  return new SQSClient({
    region: options.region ?? 'us-east-1',
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    // Delivery owns retries (with backoff, metrics and spans), so the SDK makes one attempt.
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      httpAgent: new http.Agent(agentOptions),
      httpsAgent: new https.Agent(agentOptions),
      connectionTimeout: Math.min(options.requestTimeoutMs ?? 5000, 3000),
      requestTimeout: options.requestTimeoutMs ?? 5000,
    }),
  });
}

/** Sends batches with SendMessageBatch on one shared client. */
export class SqsBatchSender implements BatchSender {
  readonly destination: string;
  readonly queueUrl: string;
  private readonly client: SQSClient;
  private readonly ownsClient: boolean;

  constructor(options: SqsBatchSenderOptions) {
    this.queueUrl = options.queueUrl;
    this.destination = queueNameOf(options.queueUrl);
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? createSqsClient(options);
  }

  async send(messages: readonly OutboundMessage[]): Promise<BatchResult> {
    const output = await this.client.send(
      new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: messages.map(toEntry) }),
    );
    return {
      successful: (output.Successful ?? []).map((s) => ({ id: s.Id ?? '', messageId: s.MessageId ?? '' })),
      failed: (output.Failed ?? []).map((f) => ({
        id: f.Id ?? '',
        code: f.Code ?? 'Unknown',
        message: f.Message ?? '',
        senderFault: f.SenderFault ?? false,
      })),
    };
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
    return Promise.resolve();
  }
}

function toEntry(message: OutboundMessage): SendMessageBatchRequestEntry {
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(message.attributes)) {
    attributes[name] = { DataType: 'String', StringValue: value };
  }
  return {
    Id: message.id,
    MessageBody: message.body,
    MessageAttributes: attributes,
    ...(message.messageGroupId === undefined ? {} : { MessageGroupId: message.messageGroupId }),
    ...(message.messageDeduplicationId === undefined ? {} : { MessageDeduplicationId: message.messageDeduplicationId }),
  };
}
