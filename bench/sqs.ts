import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, DeleteQueueCommand, PurgeQueueCommand, SQSClient } from '@aws-sdk/client-sqs';

/** The LocalStack the bench runs against (same machine). */
export const LOCALSTACK_ENDPOINT = process.env.LOCALSTACK_ENDPOINT ?? 'http://127.0.0.1:4566';

let client: SQSClient | undefined;

/** The harness's own client (queue admin only); never a target's. */
function adminClient(): SQSClient {
  client ??= new SQSClient({
    region: 'us-east-1',
    endpoint: LOCALSTACK_ENDPOINT,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  return client;
}

/** Creates a fresh queue with a unique name (as test/support/localstack.ts does); returns its URL. */
export async function createQueue(prefix: string): Promise<string> {
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  const out = await adminClient().send(new CreateQueueCommand({ QueueName: name }));
  if (!out.QueueUrl) throw new Error(`CreateQueue returned no URL for ${name}`);
  return out.QueueUrl;
}

/** Empties a queue between steps so LocalStack's memory does not grow over the run; best effort. */
export async function purgeQueue(queueUrl: string): Promise<void> {
  try {
    await adminClient().send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
  } catch {
    // PurgeQueueInProgress (one purge a minute) or a transient error: the queue just keeps its messages.
  }
}

export async function deleteQueue(queueUrl: string): Promise<void> {
  try {
    await adminClient().send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
  } catch {
    // best effort at the end of a run
  }
}

/** LocalStack's version from /_localstack/info, or undefined when it does not answer. */
export async function localstackVersion(): Promise<string | undefined> {
  try {
    const res = await fetch(`${LOCALSTACK_ENDPOINT}/_localstack/info`, { signal: AbortSignal.timeout(2000) });
    const info = (await res.json()) as { version?: string };
    return info.version;
  } catch {
    return undefined;
  }
}

/** True when LocalStack reports SQS available or running. */
export async function localstackUp(): Promise<boolean> {
  try {
    const res = await fetch(`${LOCALSTACK_ENDPOINT}/_localstack/health`, { signal: AbortSignal.timeout(2000) });
    return /"sqs": *"(available|running)"/.test(await res.text());
  } catch {
    return false;
  }
}

export function closeAdminClient(): void {
  client?.destroy();
  client = undefined;
}
