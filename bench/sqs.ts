import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, DeleteQueueCommand, PurgeQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import path from 'node:path';
import { REPO_ROOT } from './options.js';
import { stopOnExit } from './processes.js';

/** The LocalStack the bench runs against (same machine). */
export const LOCALSTACK_ENDPOINT = process.env.LOCALSTACK_ENDPOINT ?? 'http://127.0.0.1:4566';

/**
 * The bench's own ElasticMQ: a port of its own (not the tests' 9324), started and stopped by the bench
 * through .ci/elasticmq.sh unless one already answers there.
 */
export const BENCH_ELASTICMQ_PORT = Number(process.env.BENCH_ELASTICMQ_PORT ?? 9325);
export const ELASTICMQ_ENDPOINT = `http://127.0.0.1:${BENCH_ELASTICMQ_PORT}`;

const clients = new Map<string, SQSClient>();

/** The harness's own client for an endpoint (queue admin only); never a target's. */
function adminClient(endpoint: string): SQSClient {
  let client = clients.get(endpoint);
  if (client === undefined) {
    client = new SQSClient({
      region: 'us-east-1',
      endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    clients.set(endpoint, client);
  }
  return client;
}

/** The endpoint a queue URL lives on (both LocalStack's and ElasticMQ's URLs start with it). */
function endpointOf(queueUrl: string): string {
  return new URL(queueUrl).origin;
}

/** Creates a fresh queue with a unique name (as test/support/sqs.ts does); returns its URL. */
export async function createQueue(prefix: string, endpoint = LOCALSTACK_ENDPOINT): Promise<string> {
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  const out = await adminClient(endpoint).send(new CreateQueueCommand({ QueueName: name }));
  if (!out.QueueUrl) throw new Error(`CreateQueue returned no URL for ${name}`);
  return out.QueueUrl;
}

/** Empties a queue between steps so the SQS server's memory does not grow over the run; best effort. */
export async function purgeQueue(queueUrl: string): Promise<void> {
  try {
    await adminClient(endpointOf(queueUrl)).send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
  } catch {
    // PurgeQueueInProgress (one purge a minute) or a transient error: the queue just keeps its messages.
  }
}

export async function deleteQueue(queueUrl: string): Promise<void> {
  try {
    await adminClient(endpointOf(queueUrl)).send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
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

async function elasticmqUp(): Promise<boolean> {
  try {
    return (await fetch(`${ELASTICMQ_ENDPOINT}/?Action=ListQueues`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

export interface ElasticMqHandle {
  /** Stops it if the bench started it. */
  release: () => void;
}

/** Makes sure ElasticMQ answers on the bench's port: reuses one that does, else starts one (and stops it on release). */
export async function ensureElasticMq(log: (message: string) => void): Promise<ElasticMqHandle> {
  if (await elasticmqUp()) {
    log(`reusing ElasticMQ at ${ELASTICMQ_ENDPOINT}`);
    return { release: () => undefined };
  }
  const script = path.join(REPO_ROOT, '.ci', 'elasticmq.sh');
  const env = { ...process.env, ELASTICMQ_PORT: String(BENCH_ELASTICMQ_PORT) };
  log(`starting ElasticMQ on ${ELASTICMQ_ENDPOINT} (.ci/elasticmq.sh start)`);
  const started = spawnSync('bash', [script, 'start'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (started.status !== 0) {
    throw new Error('ElasticMQ could not be started: run `.ci/elasticmq.sh install` (needs Java 17+ and Maven)');
  }
  return { release: stopOnExit(() => void spawnSync('bash', [script, 'stop'], { env, stdio: 'ignore' })) };
}

/** ElasticMQ's pid file name under .cache (for its CPU), as .ci/elasticmq.sh writes it. */
export const ELASTICMQ_PID_NAME = `elasticmq-${BENCH_ELASTICMQ_PORT}`;

export function closeAdminClient(): void {
  for (const client of clients.values()) client.destroy();
  clients.clear();
}
