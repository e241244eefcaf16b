// The config module's public face: the settings' schema and environment names, and loading a checked Config.
export { ConfigSchema, ENVIRONMENT, SECRET_SETTINGS, type Config } from './schema.js';
export { ConfigError, fifoPointers, isFifoQueue, loadConfig, redactConfig, type LoadConfigOptions } from './load.js';
