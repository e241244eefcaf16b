import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
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
  const files = [path.join(dir, 'default.json'), path.join(dir, 'local.json')];
  if (env.CONFIG_FILE) files.push(path.resolve(env.CONFIG_FILE));
  for (const file of files) {
    if (!existsSync(file)) {
      if (file === files[0]) throw new ConfigError(`configuration file ${file} is missing`, 'CONFIG_FILE');
      continue;
    }
    try {
      Object.assign(merged, JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>);
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
  if (merged.signatureScheme === 'standard-webhooks') {
    const secrets = merged.webhookSecrets
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const bad = secrets.findIndex((s) => !STANDARD_SECRET.test(s));
    if (bad >= 0) {
      throw new ConfigError(
        `invalid configuration: WEBHOOK_SECRETS (webhookSecrets) entry ${bad + 1} is not a Standard Webhooks secret ` +
          '"whsec_<base64 key>" (SIGNATURE_SCHEME=standard-webhooks)',
        'WEBHOOK_SECRETS',
      );
    }
  }
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
