// The start-up warning for an intake that checks no signatures while it listens where others can reach it.
import net from 'node:net';
import type { Config } from '../config/index.js';
import { parseSecrets } from '../intake/index.js';

/** True for addresses only this machine reaches: 127.0.0.0/8, ::1 (also IPv4-mapped), `localhost`. */
export function isLoopback(host: string): boolean {
  const address = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (address === 'localhost' || address.endsWith('.localhost')) return true;
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address)?.[1] ?? address;
  if (net.isIPv4(v4)) return v4.startsWith('127.');
  if (!net.isIPv6(address)) return false;
  const loopback = new net.BlockList();
  loopback.addAddress('::1', 'ipv6');
  return loopback.check(address, 'ipv6');
}

/**
 * The warning to log at start when signatures are off (WEBHOOK_SECRETS empty) and HOST is not a loopback
 * address: anyone who reaches the port can put invoices on the queue. Undefined when neither holds.
 */
export function unsignedExposureWarning(
  config: Pick<Config, 'webhookSecrets' | 'host' | 'port'>,
): { message: string; host: string; port: number } | undefined {
  if (parseSecrets(config.webhookSecrets).length > 0 || isLoopback(config.host)) return undefined;
  return {
    host: config.host,
    port: config.port,
    message:
      `signatures are off (WEBHOOK_SECRETS is empty) and the service listens on ${config.host}, not a loopback ` +
      'address: anyone who can reach this port can put invoices on the queue. Set WEBHOOK_SECRETS, or listen on ' +
      '127.0.0.1 (HOST) behind something that checks the senders',
  };
}
