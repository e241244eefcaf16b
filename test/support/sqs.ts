import { randomUUID } from 'node:crypto';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';

export interface ReceiveOptions {
  /** Stop once this many messages arrived (then poll once more to catch duplicates). */
  expected: number;
  /**
   * Give up after this long without a new message. Default: 15000. Each new message starts the wait
   * again, so reading thousands from a slow SQS is bounded by progress, not by a guess at its speed.
   */
  timeoutMs?: number;
  /** Counts toward `expected` once per key; default: the invoice-id attribute, so duplicates don't count. */
  key?: (message: Message) => string;
}

/** The value of a String message attribute. */
export function attribute(message: Message, name: string): string | undefined {
  return message.MessageAttributes?.[name]?.StringValue;
}

/** A real SQS implementation the tests talk to (test/run.mjs made sure it answers). */
export class SqsTestEndpoint {
  private sqs: SQSClient | undefined;

  constructor(
    /** For test names: LocalStack, ElasticMQ. */
    readonly name: string,
    readonly endpoint: string,
  ) {}

  /** A test-side SQS client (reads queues back); never the service's own. */
  client(): SQSClient {
    this.sqs ??= new SQSClient({
      region: 'us-east-1',
      endpoint: this.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    return this.sqs;
  }

  /** Creates a fresh queue with a unique name; returns its URL. */
  async createQueue(prefix: string, attributes: Record<string, string> = {}): Promise<string> {
    const fifo = attributes.FifoQueue === 'true';
    const name = `${prefix}-${randomUUID().slice(0, 8)}${fifo ? '.fifo' : ''}`;
    const out = await this.client().send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    if (!out.QueueUrl) throw new Error(`CreateQueue returned no URL for ${name} on ${this.name}`);
    return out.QueueUrl;
  }

  async deleteQueue(queueUrl: string): Promise<void> {
    await this.client().send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
  }

  /**
   * Reads and deletes messages until `expected` arrived or the timeout passed, then polls once more
   * so a duplicate would show up. Returns everything received.
   */
  async receiveAll(queueUrl: string, options: ReceiveOptions): Promise<Message[]> {
    const sqs = this.client();
    const out: Message[] = [];
    const keyOf = options.key ?? ((m: Message) => attribute(m, 'invoice-id') ?? m.MessageId ?? '');
    const unique = new Set<string>();
    const idleMs = options.timeoutMs ?? 15000;
    let deadline = Date.now() + idleMs;
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
        const before = unique.size;
        for (const m of messages) unique.add(keyOf(m));
        if (unique.size > before) deadline = Date.now() + idleMs;
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
}

/** The LocalStack that test/run.mjs made sure is answering. */
export const localstack = new SqsTestEndpoint('LocalStack', process.env.LOCALSTACK_ENDPOINT ?? 'http://127.0.0.1:4566');

/** The ElasticMQ that test/run.mjs made sure is answering (.ci/elasticmq.sh). */
export const elasticmq = new SqsTestEndpoint('ElasticMQ', process.env.ELASTICMQ_ENDPOINT ?? 'http://127.0.0.1:9324');
