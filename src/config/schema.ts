// Every setting: its type, bounds and meaning, the environment variable that sets it, and which are secret.
import { Type, type Static } from 'typebox';

/**
 * The one source of truth for configuration: every setting, its type, bounds and meaning.
 * Defaults live in `config/default.json`; the environment overrides them (see {@link ENVIRONMENT}).
 */
export const ConfigSchema = Type.Object(
  {
    port: Type.Integer({ minimum: 0, maximum: 65535, description: 'TCP port to listen on.' }),
    host: Type.String({ minLength: 1, description: 'Address to listen on.' }),
    sqsQueueUrl: Type.String({
      minLength: 1,
      pattern: '^https?://',
      description: 'Target SQS queue URL. A URL ending in .fifo selects FIFO behaviour.',
    }),
    sqsEndpoint: Type.Optional(
      Type.String({ pattern: '^https?://', description: 'Endpoint override (LocalStack, ElasticMQ).' }),
    ),
    awsRegion: Type.String({ minLength: 1, description: 'AWS region of the queue.' }),
    sqsRequestTimeoutMs: Type.Integer({
      minimum: 100,
      maximum: 120000,
      description: 'Socket timeout for one SendMessageBatch call; a timed-out call is retried.',
    }),
    bodyLimitBytes: Type.Integer({
      minimum: 256,
      maximum: 1048576,
      description: 'Largest accepted request body, in bytes (SQS caps a message at 1 MiB).',
    }),
    bufferCapacity: Type.Integer({ minimum: 1, maximum: 10000000, description: 'Invoices the buffer holds.' }),
    bufferMaxBytes: Type.Integer({
      minimum: 1048576,
      description: 'Byte budget of the buffer (bodies plus attributes).',
    }),
    bufferHighWaterRatio: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      description: 'Fill ratio above which /readyz answers 503.',
    }),
    batchMaxMessages: Type.Integer({ minimum: 1, maximum: 10, description: 'Entries per SendMessageBatch.' }),
    batchLingerMs: Type.Integer({
      minimum: 0,
      maximum: 10000,
      description: 'Longest an invoice waits for a fuller batch.',
    }),
    flushConcurrency: Type.Integer({
      minimum: 1,
      maximum: 256,
      description: 'SendMessageBatch calls in flight at start; adapts between the min and max that follow.',
    }),
    flushConcurrencyMin: Type.Integer({
      minimum: 1,
      maximum: 256,
      description: 'Fewest SendMessageBatch calls in flight the adaptive limit may fall to.',
    }),
    flushConcurrencyMax: Type.Integer({
      minimum: 1,
      maximum: 256,
      description: 'Most SendMessageBatch calls in flight (and keep-alive sockets); min = max fixes the limit.',
    }),
    retryBaseMs: Type.Integer({ minimum: 1, description: 'First retry backoff (full jitter, doubling).' }),
    retryMaxMs: Type.Integer({ minimum: 1, description: 'Backoff cap.' }),
    shutdownTimeoutMs: Type.Integer({ minimum: 0, description: 'Drain budget on SIGTERM/SIGINT.' }),
    ackMode: Type.Enum(['buffered', 'confirmed'], {
      description: 'buffered: 202 once enqueued; confirmed: 200 once SQS acknowledged.',
    }),
    confirmTimeoutMs: Type.Integer({
      minimum: 1,
      description: 'confirmed mode: longest a request waits for the SQS acknowledgement.',
    }),
    webhookSecrets: Type.String({
      description:
        'Comma-separated HMAC secrets (whsec_<base64> keys for standard-webhooks); empty disables signature checks.',
    }),
    signatureScheme: Type.Enum(['x-webhook-signature', 'standard-webhooks', 'stripe'], {
      description:
        'x-webhook-signature: X-Webhook-Signature t=,v1=<hex>; standard-webhooks: webhook-* headers; stripe: Stripe-Signature t=,v1=<hex> keyed by the whole whsec_ secret.',
    }),
    signatureToleranceSeconds: Type.Integer({
      minimum: 1,
      maximum: 3600,
      description: 'Largest clock difference accepted in a signature timestamp.',
    }),
    dedupeWindowSeconds: Type.Integer({
      minimum: 0,
      description: 'Repeats of an invoice id within this window send nothing; 0 = off.',
    }),
    dedupeMaxEntries: Type.Integer({ minimum: 1, description: 'Bound on remembered invoice ids.' }),
    dedupeStore: Type.String({
      pattern: '^(rediss?://.+)?$',
      description: 'Where the dedupe window lives: empty = this process; redis://host:port = shared by every replica.',
    }),
    dedupeKey: Type.Enum(['invoice-id', 'webhook-id'], {
      description: 'What identifies a repeat: the invoice id, or the Standard Webhooks webhook-id header.',
    }),
    invoiceSchemaFile: Type.String({
      description:
        'JSON Schema (draft 2020-12) file replacing the built-in invoice schema; empty = built-in. At most 1 MiB, $refs inside the file only.',
    }),
    invoiceIdPointer: Type.String({
      pattern: '^/',
      description:
        'JSON pointer to the invoice id (a non-empty string in every accepted body): dedupe key, invoice-id attribute, spans.',
    }),
    fifoGroupIdPointer: Type.String({
      pattern: '^(/.*)?$',
      description: 'FIFO queues: JSON pointer to the MessageGroupId; empty = SQS_FIFO_GROUP_ID_FIELD. Not both.',
    }),
    fifoDeduplicationIdPointer: Type.String({
      pattern: '^(/.*)?$',
      description:
        'FIFO queues: JSON pointer to the MessageDeduplicationId; empty = SQS_FIFO_DEDUPLICATION_ID_FIELD. Not both.',
    }),
    forwardSignatureHeaders: Type.Boolean({
      description:
        "Also send the request's stripe-signature, webhook-signature, webhook-timestamp and x-webhook-signature headers as SQS attributes.",
    }),
    fifoGroupIdField: Type.String({
      minLength: 1,
      description: 'FIFO queues: invoice field used as MessageGroupId.',
    }),
    fifoDeduplicationIdField: Type.String({
      minLength: 1,
      description: 'FIFO queues: invoice field used as MessageDeduplicationId.',
    }),
    deadLetterPath: Type.String({
      minLength: 1,
      description: 'JSON-lines file receiving invoices SQS refused for good, or left at shutdown.',
    }),
    journalDir: Type.String({
      description:
        'Directory of the crash-safe journal: each invoice is fsynced there before its 2xx, and sent again after a crash. Empty = off.',
    }),
    journalMaxBytes: Type.Integer({
      minimum: 65536,
      description: 'Bytes the journal may hold on disk (undelivered invoices) before intake answers 503.',
    }),
    journalVolume: Type.Enum(['persistent', 'ephemeral', 'unknown'], {
      description:
        'Whether JOURNAL_DIR outlives the pod: the shutdown log then says where leftovers go (the chart sets it).',
    }),
    podName: Type.String({ description: "This pod's name: names the sender of a hand-off, and refuses its own." }),
    handoffUrl: Type.String({
      pattern: '^(https?://.+)?$',
      description: 'Where shutdown leftovers go: a Service reaching Ready peers (empty = no hand-off).',
    }),
    handoffToken: Type.String({
      description: 'Bearer token of the hand-off route, sent and required; empty = the route is off.',
    }),
    handoffTimeoutMs: Type.Integer({
      minimum: 0,
      description: 'Longest the hand-off of shutdown leftovers to a peer may take, after the drain.',
    }),
    logLevel: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      description: 'pino log level.',
    }),
    httpRequestTimeoutMs: Type.Integer({
      minimum: 1000,
      description: 'Longest a whole request (headers and body) may take to arrive.',
    }),
    httpHeadersTimeoutMs: Type.Integer({ minimum: 1000, description: 'Longest the headers may take to arrive.' }),
    httpKeepAliveTimeoutMs: Type.Integer({ minimum: 0, description: 'Idle keep-alive socket lifetime.' }),
    httpMaxHeadersCount: Type.Integer({ minimum: 10, maximum: 2000, description: 'Most headers a request may carry.' }),
    overloadMaxInFlightRequests: Type.Integer({
      minimum: 0,
      description:
        'Webhook requests taken and not yet answered above which new ones are answered 503 overloaded at once; 0 = no limit.',
    }),
    overloadMaxEventLoopDelayMs: Type.Integer({
      minimum: 0,
      maximum: 10000,
      description:
        'Median event-loop delay over 100 ms above which a shrinking share of webhook requests is answered 503 overloaded; 0 = off.',
    }),
    overloadMinEventLoopUtilization: Type.Number({
      minimum: 0,
      maximum: 1,
      description:
        'The event-loop delay counts as overload only when the loop was also busy at least this share of the interval (a loop late because other processes took the CPU is not overloaded).',
    }),
    overloadRetryAfterSeconds: Type.Integer({
      minimum: 1,
      maximum: 3600,
      description: 'Retry-After of a 503 overloaded answer, in seconds.',
    }),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;

/** The environment variables the service reads, and the setting each one overrides. */
export const ENVIRONMENT = {
  PORT: 'port',
  HOST: 'host',
  SQS_QUEUE_URL: 'sqsQueueUrl',
  SQS_ENDPOINT: 'sqsEndpoint',
  AWS_REGION: 'awsRegion',
  SQS_REQUEST_TIMEOUT_MS: 'sqsRequestTimeoutMs',
  BODY_LIMIT_BYTES: 'bodyLimitBytes',
  BUFFER_CAPACITY: 'bufferCapacity',
  BUFFER_MAX_BYTES: 'bufferMaxBytes',
  BUFFER_HIGH_WATER_RATIO: 'bufferHighWaterRatio',
  BATCH_MAX_MESSAGES: 'batchMaxMessages',
  BATCH_LINGER_MS: 'batchLingerMs',
  FLUSH_CONCURRENCY: 'flushConcurrency',
  FLUSH_CONCURRENCY_MIN: 'flushConcurrencyMin',
  FLUSH_CONCURRENCY_MAX: 'flushConcurrencyMax',
  RETRY_BASE_MS: 'retryBaseMs',
  RETRY_MAX_MS: 'retryMaxMs',
  SHUTDOWN_TIMEOUT_MS: 'shutdownTimeoutMs',
  ACK_MODE: 'ackMode',
  CONFIRM_TIMEOUT_MS: 'confirmTimeoutMs',
  WEBHOOK_SECRETS: 'webhookSecrets',
  SIGNATURE_SCHEME: 'signatureScheme',
  SIGNATURE_TOLERANCE_SECONDS: 'signatureToleranceSeconds',
  DEDUPE_WINDOW_SECONDS: 'dedupeWindowSeconds',
  DEDUPE_MAX_ENTRIES: 'dedupeMaxEntries',
  DEDUPE_KEY: 'dedupeKey',
  DEDUPE_STORE: 'dedupeStore',
  INVOICE_SCHEMA_FILE: 'invoiceSchemaFile',
  INVOICE_ID_POINTER: 'invoiceIdPointer',
  SQS_FIFO_GROUP_ID_POINTER: 'fifoGroupIdPointer',
  SQS_FIFO_DEDUPLICATION_ID_POINTER: 'fifoDeduplicationIdPointer',
  FORWARD_SIGNATURE_HEADERS: 'forwardSignatureHeaders',
  SQS_FIFO_GROUP_ID_FIELD: 'fifoGroupIdField',
  SQS_FIFO_DEDUPLICATION_ID_FIELD: 'fifoDeduplicationIdField',
  DEAD_LETTER_PATH: 'deadLetterPath',
  JOURNAL_DIR: 'journalDir',
  JOURNAL_MAX_BYTES: 'journalMaxBytes',
  JOURNAL_VOLUME: 'journalVolume',
  POD_NAME: 'podName',
  HANDOFF_URL: 'handoffUrl',
  HANDOFF_TOKEN: 'handoffToken',
  HANDOFF_TIMEOUT_MS: 'handoffTimeoutMs',
  LOG_LEVEL: 'logLevel',
  HTTP_REQUEST_TIMEOUT_MS: 'httpRequestTimeoutMs',
  HTTP_HEADERS_TIMEOUT_MS: 'httpHeadersTimeoutMs',
  HTTP_KEEPALIVE_TIMEOUT_MS: 'httpKeepAliveTimeoutMs',
  HTTP_MAX_HEADERS: 'httpMaxHeadersCount',
  OVERLOAD_MAX_IN_FLIGHT_REQUESTS: 'overloadMaxInFlightRequests',
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: 'overloadMaxEventLoopDelayMs',
  OVERLOAD_MIN_EVENT_LOOP_UTILIZATION: 'overloadMinEventLoopUtilization',
  OVERLOAD_RETRY_AFTER_SECONDS: 'overloadRetryAfterSeconds',
} as const satisfies Record<string, keyof Config>;

/** Settings that hold secrets: never logged. */
export const SECRET_SETTINGS: ReadonlySet<keyof Config> = new Set(['webhookSecrets', 'dedupeStore', 'handoffToken']);
