export { ConfigSchema, ENVIRONMENT, SECRET_SETTINGS, type Config } from './schema.js';
export { ConfigError, fifoPointers, isFifoQueue, loadConfig, redactConfig, type LoadConfigOptions } from './load.js';
