import type { Message } from '@aws-sdk/client-sqs';
import { after } from 'node:test';
import type { Config } from '../../src/config/index.js';
import type { ServiceOptions } from '../../src/service/index.js';
import { spawnService, startService, type RunningService, type SpawnedService } from './service.js';
import { localstack, type ReceiveOptions, type SqsTestEndpoint } from './sqs.js';
import { TcpProxy, type ProxyMode } from './tcp-proxy.js';

/**
 * The one fixture of the live suites: a fresh queue on a real SQS, optionally the fault proxy in front
 * of it, and the service pointed at them. Everything it builds is torn down after the test, pass or
 * fail (the service stopped or killed, the proxy closed, the queue deleted), so a test holds only its
 * assertions.
 *
 *   const { svc, queue } = await inProcessPipeline(t, { queue: 'confirmed', config: { ackMode: 'confirmed' } });
 *   const { svc, proxy, queue } = await spawnedPipeline(t, { proxy: { delayMs: 30 }, env: { FLUSH_CONCURRENCY: '2' } });
 */
export interface Scope {
  /** Registers teardown: a test's `t` (TestContext) has it, and so has {@link suiteScope}. */
  after(fn: () => Promise<void>): void;
  /** Names the queue when no `queue` prefix is given. */
  readonly name?: string;
}

/**
 * For fixtures a whole `describe` shares (built in its `before`): call it in the describe body; it
 * tears down what was built once the suite is done.
 */
export function suiteScope(name = 'suite'): Scope {
  const fns: (() => Promise<void>)[] = [];
  after(async () => {
    for (const fn of fns.reverse()) await fn();
  });
  return { name, after: (fn) => fns.push(fn) };
}

export interface QueueOptions {
  /** Which real SQS: LocalStack (default) or ElasticMQ (./sqs.ts). */
  sqs?: SqsTestEndpoint;
  /** Prefix of the queue's unique name. Default: the test's name, shortened. */
  queue?: string;
  /** CreateQueue attributes: FifoQueue, MaximumMessageSize, ... */
  queueAttributes?: Record<string, string>;
  /**
   * Put the tests' fault proxy between the service and SQS. `true` starts it passing traffic; an
   * object sets its first mode and delays. Change them during the test through `proxy`.
   */
  proxy?: boolean | { mode?: ProxyMode; delayMs?: number; answerDelayMs?: number };
}

/** A queue on a real SQS, and the proxy in front of it when one was asked for. */
export interface SqsQueue {
  sqs: SqsTestEndpoint;
  queueUrl: string;
  /** The fault proxy, when `proxy` was given. */
  proxy: TcpProxy | undefined;
  /** Where the service sends SQS calls: the proxy when there is one, else the SQS endpoint. */
  sqsEndpoint: string;
  /** Reads and deletes messages until `expected` arrived (SqsTestEndpoint.receiveAll). */
  receive: (expected: number, options?: Omit<ReceiveOptions, 'expected'>) => Promise<Message[]>;
}

/** A fresh queue (and proxy), removed after the test. */
export async function sqsQueue(t: Scope, options: QueueOptions = {}): Promise<SqsQueue> {
  const sqs = options.sqs ?? localstack;
  const prefix = options.queue ?? queuePrefix(t.name ?? 'test');
  const queueUrl = await sqs.createQueue(prefix, options.queueAttributes);
  let proxy: TcpProxy | undefined;
  onCleanup(t, async () => {
    await proxy?.close();
    await sqs.deleteQueue(queueUrl).catch(() => undefined);
  });
  if (options.proxy) {
    proxy = TcpProxy.forUrl(sqs.endpoint);
    const settings = options.proxy === true ? {} : options.proxy;
    proxy.delayMs = settings.delayMs ?? 0;
    proxy.answerDelayMs = settings.answerDelayMs ?? 0;
    await proxy.start();
    if (settings.mode !== undefined) await proxy.setMode(settings.mode);
  }
  return {
    sqs,
    queueUrl,
    proxy,
    sqsEndpoint: proxy?.url ?? sqs.endpoint,
    receive: (expected, receiveOptions = {}) => sqs.receiveAll(queueUrl, { ...receiveOptions, expected }),
  };
}

export interface InProcessOptions extends QueueOptions {
  /** Service settings over the test defaults (support/service.ts testConfig). */
  config?: Partial<Config>;
  /** Parts to swap in (a sender, a signature check, a dedupe store...). */
  deps?: Partial<Omit<ServiceOptions, 'config' | 'logger' | 'metrics'>>;
}

/** Queue (+ proxy) + the whole service in this process; the service is stopped after the test. */
export async function inProcessPipeline(
  t: Scope,
  options: InProcessOptions = {},
): Promise<SqsQueue & { svc: RunningService }> {
  const queue = await sqsQueue(t, options);
  const svc = await startService(
    { sqsEndpoint: queue.sqsEndpoint, ...options.config, sqsQueueUrl: queue.queueUrl },
    options.deps,
  );
  const stop = once(svc.stop);
  onCleanup(t, stop);
  return { ...queue, svc: { ...svc, stop } };
}

export interface SpawnedOptions extends QueueOptions {
  /** Environment over the test defaults (support/service.ts spawnService). */
  env?: Record<string, string>;
  /** Start with the OTel preload, as `npm start` does. Default: false. */
  preload?: boolean;
}

/** Queue (+ proxy) + the built service as its own process; the process is killed after the test. */
export async function spawnedPipeline(
  t: Scope,
  options: SpawnedOptions = {},
): Promise<SqsQueue & { svc: SpawnedService }> {
  const queue = await sqsQueue(t, options);
  return { ...queue, svc: await spawnOn(t, queue, options) };
}

/**
 * Starts the built service on the queue (through its proxy, when it has one); killed after the test.
 * Call it again for each restart of a test that kills and restarts the service.
 */
export async function spawnOn(
  t: Scope,
  queue: SqsQueue,
  options: Pick<SpawnedOptions, 'env' | 'preload'> = {},
): Promise<SpawnedService> {
  const svc = await spawnService(
    { SQS_QUEUE_URL: queue.queueUrl, SQS_ENDPOINT: queue.sqsEndpoint, ...options.env },
    { preload: options.preload ?? false },
  );
  onCleanup(t, async () => {
    svc.child.kill('SIGKILL');
    await svc.exited;
  });
  return svc;
}

const cleanups = new WeakMap<Scope, (() => Promise<void>)[]>();

/**
 * Runs `fn` after the test, pass or fail; what was set up last is torn down first (the service
 * before the proxy before the queue), whatever order node:test gives its own after hooks.
 */
export function onCleanup(t: Scope, fn: () => Promise<void>): void {
  let stack = cleanups.get(t);
  if (stack === undefined) {
    const registered: (() => Promise<void>)[] = [];
    stack = registered;
    cleanups.set(t, registered);
    t.after(async () => {
      for (const cleanup of registered.reverse()) await cleanup();
    });
  }
  stack.push(fn);
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

/** SQS queue names allow letters, digits, - and _ (80 at most, with the unique suffix). */
function queuePrefix(testName: string): string {
  return (
    testName
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 40) || 'test'
  );
}
