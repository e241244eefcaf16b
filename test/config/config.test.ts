import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, fifoPointers, loadConfig } from '../../src/config/index.js';
import { REPO_ROOT, spawnService, tempDir } from '../support/service.js';

const QUEUE_URL = 'http://127.0.0.1:4566/000000000000/invoices';
const DEFAULT_FILE = path.join(REPO_ROOT, 'config', 'default.json');
const defaults = JSON.parse(readFileSync(DEFAULT_FILE, 'utf8')) as Record<string, unknown>;

/** A config folder holding only a copy of the real default.json, so a local.json elsewhere cannot leak in. */
function configDir(): string {
  const dir = tempDir('invoice-webhook-config-');
  copyFileSync(DEFAULT_FILE, path.join(dir, 'default.json'));
  return dir;
}

function load(env: Record<string, string>): ReturnType<typeof loadConfig> {
  return loadConfig({ env, configDir: configDir() });
}

/** The ConfigError that loading with `env` throws. */
function configError(env: Record<string, string>, dir = configDir()): ConfigError {
  try {
    loadConfig({ env, configDir: dir });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail(`configuration ${JSON.stringify(env)} was accepted`);
}

describe('loadConfig', () => {
  test('without overrides every setting comes from config/default.json', () => {
    const config = loadConfig({ env: { SQS_QUEUE_URL: QUEUE_URL } });
    for (const [key, value] of Object.entries(defaults)) {
      if (key === 'sqsQueueUrl') continue;
      assert.deepEqual((config as Record<string, unknown>)[key], value, key);
    }
    assert.equal(config.sqsQueueUrl, QUEUE_URL);
  });

  test('the defaults are the ones the contract promises', () => {
    const config = load({ SQS_QUEUE_URL: QUEUE_URL });
    assert.equal(config.port, 3000);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.awsRegion, 'us-east-1');
    assert.equal(config.bodyLimitBytes, 262144);
    assert.equal(config.bufferCapacity, 10000);
    assert.equal(config.batchMaxMessages, 10);
    assert.equal(config.shutdownTimeoutMs, 20000);
    assert.equal(config.ackMode, 'buffered');
    assert.equal(config.webhookSecrets, '');
    assert.equal(config.dedupeWindowSeconds, 0);
    assert.equal(config.sqsEndpoint, undefined);
    // CONTRACT §12: shedding is on by default.
    assert.equal(config.overloadMaxInFlightRequests, 1000);
    assert.equal(config.overloadMaxEventLoopDelayMs, 20);
    assert.equal(config.overloadMinEventLoopUtilization, 0.9);
    assert.equal(config.overloadRetryAfterSeconds, 1);
  });

  test('OVERLOAD_* set the overload guard; 0 turns a signal off, a Retry-After of 0 is refused by name', () => {
    const config = load({
      SQS_QUEUE_URL: QUEUE_URL,
      OVERLOAD_MAX_IN_FLIGHT_REQUESTS: '0',
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '25',
      OVERLOAD_RETRY_AFTER_SECONDS: '3',
    });
    assert.equal(config.overloadMaxInFlightRequests, 0);
    assert.equal(config.overloadMaxEventLoopDelayMs, 25);
    assert.equal(config.overloadRetryAfterSeconds, 3);
    assert.throws(
      () => load({ SQS_QUEUE_URL: QUEUE_URL, OVERLOAD_RETRY_AFTER_SECONDS: '0' }),
      /OVERLOAD_RETRY_AFTER_SECONDS/,
    );
  });

  test('environment variables override the files, coerced to the setting type', () => {
    const config = load({
      SQS_QUEUE_URL: QUEUE_URL,
      PORT: '8081',
      BATCH_MAX_MESSAGES: '3',
      BUFFER_HIGH_WATER_RATIO: '0.5',
      ACK_MODE: 'confirmed',
      DEDUPE_WINDOW_SECONDS: '600',
      WEBHOOK_SECRETS: 'a,b',
      SQS_ENDPOINT: 'http://localhost:9324',
    });
    assert.equal(config.port, 8081);
    assert.equal(config.batchMaxMessages, 3);
    assert.equal(config.bufferHighWaterRatio, 0.5);
    assert.equal(config.ackMode, 'confirmed');
    assert.equal(config.dedupeWindowSeconds, 600);
    assert.equal(config.webhookSecrets, 'a,b');
    assert.equal(config.sqsEndpoint, 'http://localhost:9324');
  });

  test('an empty SQS_ENDPOINT means unset', () => {
    assert.equal(load({ SQS_QUEUE_URL: QUEUE_URL, SQS_ENDPOINT: '' }).sqsEndpoint, undefined);
  });

  test('a file named by CONFIG_FILE overrides default.json, and the environment overrides both', () => {
    const file = path.join(tempDir('invoice-webhook-config-'), 'override.json');
    writeFileSync(file, JSON.stringify({ batchLingerMs: 77, flushConcurrency: 9 }));
    const config = load({ SQS_QUEUE_URL: QUEUE_URL, CONFIG_FILE: file, FLUSH_CONCURRENCY: '2' });
    assert.equal(config.batchLingerMs, 77);
    assert.equal(config.flushConcurrency, 2);
  });

  test('BATCH_MAX_MESSAGES=11 is refused with an error naming BATCH_MAX_MESSAGES', () => {
    const error = configError({ SQS_QUEUE_URL: QUEUE_URL, BATCH_MAX_MESSAGES: '11' });
    assert.match(error.message, /BATCH_MAX_MESSAGES/);
    assert.equal(error.setting, 'BATCH_MAX_MESSAGES');
  });

  test('a value that is not a number is refused with an error naming its variable', () => {
    const error = configError({ SQS_QUEUE_URL: QUEUE_URL, BODY_LIMIT_BYTES: 'lots' });
    assert.match(error.message, /BODY_LIMIT_BYTES/);
    assert.equal(error.setting, 'BODY_LIMIT_BYTES');
  });

  test('a missing SQS_QUEUE_URL is refused with an error naming SQS_QUEUE_URL', () => {
    const error = configError({});
    assert.match(error.message, /SQS_QUEUE_URL/);
    assert.equal(error.setting, 'SQS_QUEUE_URL');
  });

  test('FLUSH_CONCURRENCY outside FLUSH_CONCURRENCY_MIN..FLUSH_CONCURRENCY_MAX is refused, naming FLUSH_CONCURRENCY', () => {
    const error = configError({ SQS_QUEUE_URL: QUEUE_URL, FLUSH_CONCURRENCY: '8', FLUSH_CONCURRENCY_MAX: '4' });
    assert.match(
      error.message,
      /FLUSH_CONCURRENCY \(8\) must lie within FLUSH_CONCURRENCY_MIN\.\.FLUSH_CONCURRENCY_MAX \(2\.\.4\)/,
    );
    assert.equal(error.setting, 'FLUSH_CONCURRENCY');
    const fixed = load({
      SQS_QUEUE_URL: QUEUE_URL,
      FLUSH_CONCURRENCY: '4',
      FLUSH_CONCURRENCY_MIN: '4',
      FLUSH_CONCURRENCY_MAX: '4',
    });
    assert.deepEqual([fixed.flushConcurrencyMin, fixed.flushConcurrency, fixed.flushConcurrencyMax], [4, 4, 4]);
  });

  test('RETRY_MAX_MS below RETRY_BASE_MS is refused with an error naming RETRY_MAX_MS', () => {
    const error = configError({ SQS_QUEUE_URL: QUEUE_URL, RETRY_BASE_MS: '500', RETRY_MAX_MS: '100' });
    assert.match(error.message, /RETRY_MAX_MS/);
  });

  test('SIGNATURE_SCHEME=standard-webhooks refuses a secret that is not whsec_<base64>, by position, never printing it', () => {
    const secret = 'not-a-whsec-secret';
    const error = configError({
      SQS_QUEUE_URL: QUEUE_URL,
      SIGNATURE_SCHEME: 'standard-webhooks',
      WEBHOOK_SECRETS: `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw,${secret}`,
    });
    assert.equal(error.setting, 'WEBHOOK_SECRETS');
    assert.match(error.message, /entry 2 is not a Standard Webhooks secret/);
    assert.ok(!error.message.includes(secret), error.message);
    const ok = load({
      SQS_QUEUE_URL: QUEUE_URL,
      SIGNATURE_SCHEME: 'standard-webhooks',
      WEBHOOK_SECRETS: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, ',
      DEDUPE_KEY: 'webhook-id',
    });
    assert.equal(ok.signatureScheme, 'standard-webhooks');
    assert.equal(ok.dedupeKey, 'webhook-id');
    assert.match(configError({ SQS_QUEUE_URL: QUEUE_URL, SIGNATURE_SCHEME: 'svix' }).message, /SIGNATURE_SCHEME/);
  });

  test('SIGNATURE_SCHEME=stripe takes whsec_ endpoint secrets and refuses others by position, never printing them', () => {
    const ok = load({
      SQS_QUEUE_URL: QUEUE_URL,
      SIGNATURE_SCHEME: 'stripe',
      WEBHOOK_SECRETS: 'whsec_5x9Cq1yTn0vVh2d6JwzP4kLrA8mE3sBt,whsec_0f3c0a6bd8f2e61a9d9a6b1e54c7f2a0',
    });
    assert.equal(ok.signatureScheme, 'stripe');
    const apiKey = 'sk_test_4eC39HqLyjWDarjtT1zdp7dc';
    const error = configError({
      SQS_QUEUE_URL: QUEUE_URL,
      SIGNATURE_SCHEME: 'stripe',
      WEBHOOK_SECRETS: `whsec_ok,${apiKey}`,
    });
    assert.equal(error.setting, 'WEBHOOK_SECRETS');
    assert.match(error.message, /entry 2 is not a Stripe endpoint secret/);
    assert.ok(!error.message.includes(apiKey), error.message);
  });

  test('the new settings default to the behaviour before them', () => {
    const config = load({ SQS_QUEUE_URL: QUEUE_URL });
    assert.equal(config.invoiceSchemaFile, '');
    assert.equal(config.invoiceIdPointer, '/id');
    assert.equal(config.forwardSignatureHeaders, false);
    assert.deepEqual(fifoPointers(config), { groupId: '/customer_id', deduplicationId: '/id' });
    assert.equal(load({ SQS_QUEUE_URL: QUEUE_URL, FORWARD_SIGNATURE_HEADERS: 'true' }).forwardSignatureHeaders, true);
    assert.equal(
      configError({ SQS_QUEUE_URL: QUEUE_URL, FORWARD_SIGNATURE_HEADERS: 'yes' }).setting,
      'FORWARD_SIGNATURE_HEADERS',
    );
  });

  test('JSON pointers: a malformed one is refused by its variable; a FIFO field becomes the pointer to that field', () => {
    assert.equal(configError({ SQS_QUEUE_URL: QUEUE_URL, INVOICE_ID_POINTER: 'id' }).setting, 'INVOICE_ID_POINTER');
    assert.equal(configError({ SQS_QUEUE_URL: QUEUE_URL, INVOICE_ID_POINTER: '' }).setting, 'INVOICE_ID_POINTER');
    const tilde = configError({ SQS_QUEUE_URL: QUEUE_URL, SQS_FIFO_GROUP_ID_POINTER: '/a~2b' });
    assert.equal(tilde.setting, 'SQS_FIFO_GROUP_ID_POINTER');
    assert.match(tilde.message, /~/);
    const nested = load({
      SQS_QUEUE_URL: QUEUE_URL,
      INVOICE_ID_POINTER: '/data/object/id',
      SQS_FIFO_GROUP_ID_POINTER: '/data/object/customer',
      SQS_FIFO_DEDUPLICATION_ID_FIELD: 'a/b~c',
    });
    assert.equal(nested.invoiceIdPointer, '/data/object/id');
    assert.deepEqual(fifoPointers(nested), { groupId: '/data/object/customer', deduplicationId: '/a~1b~0c' });
  });

  test('a FIFO id set both by its _FIELD and by its _POINTER is refused, from the environment or a file', () => {
    const both = configError({
      SQS_QUEUE_URL: QUEUE_URL,
      SQS_FIFO_GROUP_ID_FIELD: 'customer_id',
      SQS_FIFO_GROUP_ID_POINTER: '/data/object/customer',
    });
    assert.equal(both.setting, 'SQS_FIFO_GROUP_ID_POINTER');
    assert.match(both.message, /SQS_FIFO_GROUP_ID_FIELD .* and SQS_FIFO_GROUP_ID_POINTER .* are both set/);
    const file = path.join(tempDir('invoice-webhook-config-'), 'fifo.json');
    writeFileSync(file, JSON.stringify({ fifoDeduplicationIdField: 'id' }));
    const fromFile = configError({
      SQS_QUEUE_URL: QUEUE_URL,
      CONFIG_FILE: file,
      SQS_FIFO_DEDUPLICATION_ID_POINTER: '/id',
    });
    assert.equal(fromFile.setting, 'SQS_FIFO_DEDUPLICATION_ID_POINTER');
  });

  test('DEDUPE_STORE takes redis:// or rediss:// URLs (or nothing); a bad one is refused by name, never printed', () => {
    assert.equal(load({ SQS_QUEUE_URL: QUEUE_URL }).dedupeStore, '');
    const url = 'redis://user:pa55word@redis.internal:6379/2';
    assert.equal(load({ SQS_QUEUE_URL: QUEUE_URL, DEDUPE_STORE: url }).dedupeStore, url);
    const bad = 'http://user:pa55word@redis.internal:6379';
    const error = configError({ SQS_QUEUE_URL: QUEUE_URL, DEDUPE_STORE: bad });
    assert.equal(error.setting, 'DEDUPE_STORE');
    assert.ok(!error.message.includes('pa55word'), error.message);
  });

  test('an unknown setting in a config file is refused by name', () => {
    const file = path.join(tempDir('invoice-webhook-config-'), 'typo.json');
    writeFileSync(file, JSON.stringify({ batchLingerMS: 5 }));
    const error = configError({ SQS_QUEUE_URL: QUEUE_URL, CONFIG_FILE: file });
    assert.match(error.message, /batchLingerMS/);
    assert.match(error.message, /not a known setting/);
  });

  test('error messages never show the webhook secrets, even when the secrets setting is the bad one', () => {
    const secret = 'whsec_do_not_print_me_123';
    const other = configError({ SQS_QUEUE_URL: QUEUE_URL, WEBHOOK_SECRETS: secret, BATCH_MAX_MESSAGES: '0' });
    assert.ok(!other.message.includes(secret), other.message);

    const file = path.join(tempDir('invoice-webhook-config-'), 'secrets.json');
    writeFileSync(file, JSON.stringify({ webhookSecrets: [secret] }));
    const own = configError({ SQS_QUEUE_URL: QUEUE_URL, CONFIG_FILE: file });
    assert.match(own.message, /WEBHOOK_SECRETS/);
    assert.match(own.message, /<redacted>/);
    assert.ok(!own.message.includes(secret), own.message);
  });
});

describe('the built service with a bad configuration', () => {
  test('exits with code 1 and a stderr message naming BATCH_MAX_MESSAGES', async () => {
    const spawned = await spawnService(
      { SQS_QUEUE_URL: QUEUE_URL, BATCH_MAX_MESSAGES: '11' },
      { waitForListen: false },
    );
    const exit = await spawned.exited;
    assert.equal(exit.code, 1);
    const stderr = spawned.stderr.join('');
    assert.match(stderr, /BATCH_MAX_MESSAGES/);
    assert.equal(spawned.logs.filter((l) => l.msg === 'listening').length, 0);
  });

  test('exits with code 1 and a stderr message naming the file when INVOICE_SCHEMA_FILE is unusable', async () => {
    const dir = tempDir('invoice-webhook-schema-');
    const remote = path.join(dir, 'remote-ref.json');
    writeFileSync(remote, JSON.stringify({ $ref: 'https://example.com/invoice.schema.json' }));
    for (const [file, why] of [
      [path.join(dir, 'missing.json'), /cannot be read: ENOENT/],
      [remote, /\$ref outside the file/],
    ] as const) {
      const spawned = await spawnService(
        { SQS_QUEUE_URL: QUEUE_URL, INVOICE_SCHEMA_FILE: file },
        { waitForListen: false },
      );
      assert.equal((await spawned.exited).code, 1);
      const stderr = spawned.stderr.join('');
      const line = JSON.parse(stderr.trim().split('\n').pop() ?? '{}') as { msg?: string; setting?: string };
      assert.equal(line.setting, 'INVOICE_SCHEMA_FILE');
      assert.ok(line.msg?.includes(file), stderr);
      assert.match(line.msg ?? '', why);
      assert.equal(spawned.logs.filter((l) => l.msg === 'listening').length, 0);
    }
  });

  test('exits with code 1 and a stderr message naming SQS_QUEUE_URL when it is missing', async () => {
    const spawned = await spawnService({ WEBHOOK_SECRETS: 'whsec_spawn_secret' }, { waitForListen: false });
    const exit = await spawned.exited;
    assert.equal(exit.code, 1);
    const stderr = spawned.stderr.join('');
    assert.match(stderr, /SQS_QUEUE_URL/);
    assert.ok(!stderr.includes('whsec_spawn_secret'));
  });
});
