// Loads the configuration: config/ files, then the environment; checks it and names the first bad setting.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { escapePointerToken, parsePointer } from '../validation/json-pointer.js';
import { ConfigSchema, ENVIRONMENT, SECRET_SETTINGS, type Config } from './schema.js';

/** A configuration that cannot run. The message names the setting and, where one applies, its variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly setting: string,
  ) {
    super(message);
  }
}

const envBySetting = new Map<string, string>(Object.entries(ENVIRONMENT).map(([env, key]) => [key, env]));

// coerceTypes turns the environment's strings into the schema's numbers.
const validateConfig = new Ajv({ allErrors: true, coerceTypes: true, strict: true }).compile<Config>(ConfigSchema);

export interface LoadConfigOptions {
  /** Environment to read overrides from. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Folder holding `default.json` (and an optional `local.json`). Default: `<repo>/config`. */
  configDir?: string;
}

/**
 * Reads `config/default.json`, then `config/local.json` (if any, for a machine's own settings),
 * then the file named by `CONFIG_FILE` (if set), then the environment variables in {@link ENVIRONMENT}.
 * Throws {@link ConfigError} naming the first bad setting.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const dir = options.configDir ?? path.resolve(__dirname, '..', '..', '..', 'config');
  const merged: Record<string, unknown> = {};
  /** Settings given by something other than default.json (a file after it, or the environment). */
  const given = new Set<string>();
  const files = [path.join(dir, 'default.json'), path.join(dir, 'local.json')];
  if (env.CONFIG_FILE) files.push(path.resolve(env.CONFIG_FILE));
  for (const file of files) {
    if (!existsSync(file)) {
      if (file === files[0]) throw new ConfigError(`configuration file ${file} is missing`, 'CONFIG_FILE');
      continue;
    }
    try {
      const values = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      Object.assign(merged, values);
      if (file !== files[0]) for (const key of Object.keys(values)) given.add(key);
    } catch (err) {
      throw new ConfigError(`configuration file ${file} is not valid JSON: ${(err as Error).message}`, 'CONFIG_FILE');
    }
  }
  for (const [name, key] of Object.entries(ENVIRONMENT)) {
    const value = env[name];
    // An empty variable means "unset" for optional settings, and "empty" for strings like WEBHOOK_SECRETS.
    if (value === undefined) continue;
    if (value === '' && key === 'sqsEndpoint') {
      delete merged[key];
      continue;
    }
    merged[key] = value;
    given.add(key);
  }
  if (!validateConfig(merged)) {
    const error = validateConfig.errors?.[0];
    const key =
      error?.keyword === 'additionalProperties'
        ? String((error.params as { additionalProperty: string }).additionalProperty)
        : error?.keyword === 'required'
          ? String((error.params as { missingProperty: string }).missingProperty)
          : (error?.instancePath.slice(1) ?? 'unknown');
    const env = envBySetting.get(key);
    const name = env ? `${env} (${key})` : key;
    const shown = SECRET_SETTINGS.has(key as keyof Config) ? '<redacted>' : JSON.stringify(merged[key]);
    const why =
      error?.keyword === 'additionalProperties'
        ? 'is not a known setting'
        : error?.keyword === 'required'
          ? 'is required'
          : `${error?.message ?? 'is invalid'} (got ${shown})`;
    throw new ConfigError(`invalid configuration: ${name} ${why}`, env ?? key);
  }
  if (merged.retryMaxMs < merged.retryBaseMs) {
    throw new ConfigError('invalid configuration: RETRY_MAX_MS must be >= RETRY_BASE_MS', 'RETRY_MAX_MS');
  }
  checkSecrets(merged);
  checkPointers(merged, given);
  const { flushConcurrency, flushConcurrencyMin, flushConcurrencyMax } = merged;
  if (flushConcurrency < flushConcurrencyMin || flushConcurrency > flushConcurrencyMax) {
    throw new ConfigError(
      `invalid configuration: FLUSH_CONCURRENCY (${flushConcurrency}) must lie within ` +
        `FLUSH_CONCURRENCY_MIN..FLUSH_CONCURRENCY_MAX (${flushConcurrencyMin}..${flushConcurrencyMax})`,
      'FLUSH_CONCURRENCY',
    );
  }
  return merged;
}

/** `whsec_` and a non-empty base64 key: the secrets of SIGNATURE_SCHEME=standard-webhooks. */
const STANDARD_SECRET = /^whsec_[A-Za-z0-9+/]+={0,2}$/;
/** `whsec_` and printable characters, used whole as the key: the secrets of SIGNATURE_SCHEME=stripe. */
const STRIPE_SECRET = /^whsec_[\x21-\x7e]+$/;

/** Each secret must have the shape its scheme needs; the message names the entry, never the secret. */
function checkSecrets(config: Config): void {
  const scheme = config.signatureScheme;
  const [shape, what] =
    scheme === 'standard-webhooks'
      ? [STANDARD_SECRET, 'a Standard Webhooks secret "whsec_<base64 key>"']
      : scheme === 'stripe'
        ? [STRIPE_SECRET, 'a Stripe endpoint secret "whsec_..." (from the dashboard or `stripe listen`)']
        : [undefined, ''];
  if (shape === undefined) return;
  const secrets = config.webhookSecrets
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = secrets.findIndex((s) => !shape.test(s));
  if (bad >= 0) {
    throw new ConfigError(
      `invalid configuration: WEBHOOK_SECRETS (webhookSecrets) entry ${bad + 1} is not ${what} (SIGNATURE_SCHEME=${scheme})`,
      'WEBHOOK_SECRETS',
    );
  }
}

/** The pointers parse (RFC 6901), and a FIFO id is given by a field or by a pointer, not both. */
function checkPointers(config: Config, given: ReadonlySet<string>): void {
  const pointers = [
    ['INVOICE_ID_POINTER', 'invoiceIdPointer'],
    ['SQS_FIFO_GROUP_ID_POINTER', 'fifoGroupIdPointer'],
    ['SQS_FIFO_DEDUPLICATION_ID_POINTER', 'fifoDeduplicationIdPointer'],
  ] as const;
  for (const [env, key] of pointers) {
    try {
      parsePointer(config[key]);
    } catch (error) {
      throw new ConfigError(`invalid configuration: ${env} (${key}) ${(error as Error).message}`, env);
    }
  }
  const pairs = [
    ['SQS_FIFO_GROUP_ID_FIELD', 'fifoGroupIdField', 'SQS_FIFO_GROUP_ID_POINTER', 'fifoGroupIdPointer'],
    [
      'SQS_FIFO_DEDUPLICATION_ID_FIELD',
      'fifoDeduplicationIdField',
      'SQS_FIFO_DEDUPLICATION_ID_POINTER',
      'fifoDeduplicationIdPointer',
    ],
  ] as const;
  for (const [fieldEnv, field, pointerEnv, pointer] of pairs) {
    if (config[pointer] !== '' && given.has(field)) {
      throw new ConfigError(
        `invalid configuration: ${fieldEnv} (${field}) and ${pointerEnv} (${pointer}) are both set; ` +
          `set one (the pointer reaches nested fields, e.g. /data/object/customer)`,
        pointerEnv,
      );
    }
  }
}

/**
 * Where a FIFO id is: the pointer when one is set, else the top-level field (SQS_FIFO_..._FIELD) as a
 * one-token pointer, which reads exactly the field the setting names.
 */
export function fifoPointers(config: Config): { groupId: string; deduplicationId: string } {
  const field = (name: string): string => `/${escapePointerToken(name)}`;
  return {
    groupId: config.fifoGroupIdPointer || field(config.fifoGroupIdField),
    deduplicationId: config.fifoDeduplicationIdPointer || field(config.fifoDeduplicationIdField),
  };
}

/** The configuration with secrets replaced, for the start-up log line. */
export function redactConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  for (const key of SECRET_SETTINGS) {
    if (out[key]) out[key] = '<redacted>';
  }
  return out;
}

/** True when the queue URL names a FIFO queue. */
export function isFifoQueue(queueUrl: string): boolean {
  return queueUrl.endsWith('.fifo');
}
