import { randomUUID } from 'node:crypto';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';

/** The LocalStack that test/run.mjs made sure is answering. */
export const LOCALSTACK_ENDPOINT = process.env.LOCALSTACK_ENDPOINT ?? 'http://127.0.0.1:4566';

let client: SQSClient | undefined;

/** A test-side SQS client (reads queues back); never the service's own. */
export function testSqsClient(): SQSClient {
  client ??= new SQSClient({
    region: 'us-east-1',
    endpoint: LOCALSTACK_ENDPOINT,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  return client;
}

/** Creates a fresh queue with a unique name; returns its URL. */
export async function createQueue(prefix: string, attributes: Record<string, string> = {}): Promise<string> {
  const fifo = attributes.FifoQueue === 'true';
  const name = `${prefix}-${randomUUID().slice(0, 8)}${fifo ? '.fifo' : ''}`;
  const out = await testSqsClient().send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!out.QueueUrl) throw new Error(`CreateQueue returned no URL for ${name}`);
  return out.QueueUrl;
}

export async function deleteQueue(queueUrl: string): Promise<void> {
  await testSqsClient().send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
}

export interface ReceiveOptions {
  /** Stop once this many messages arrived (then poll once more to catch duplicates). */
  expected: number;
  /** Give up after this long. Default: 15000. */
  timeoutMs?: number;
  /** Counts toward `expected` once per key; default: the invoice-id attribute, so duplicates don't count. */
  key?: (message: Message) => string;
}

/**
 * Reads and deletes messages until `expected` arrived or the timeout passed, then polls once more
 * so a duplicate would show up. Returns everything received.
 */
export async function receiveAll(queueUrl: string, options: ReceiveOptions): Promise<Message[]> {
  const sqs = testSqsClient();
  const out: Message[] = [];
  const keyOf = options.key ?? ((m: Message) => attribute(m, 'invoice-id') ?? m.MessageId ?? '');
  const unique = new Set<string>();
  const deadline = Date.now() + (options.timeoutMs ?? 15000);
  let extraPolls = 1;
  while (Date.now() < deadline) {
    const res = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: unique.size >= options.expected ? 0 : 1,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
        VisibilityTimeout: 60,
      }),
    );
    const messages = res.Messages ?? [];
    if (messages.length > 0) {
      out.push(...messages);
      for (const m of messages) unique.add(keyOf(m));
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
        }),
      );
      continue;
    }
    if (unique.size >= options.expected) {
      if (extraPolls-- <= 0) break;
    }
  }
  return out;
}

/** The value of a String message attribute. */
export function attribute(message: Message, name: string): string | undefined {
  return message.MessageAttributes?.[name]?.StringValue;
}
