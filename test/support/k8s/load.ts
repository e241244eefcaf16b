import http from 'node:http';
import { makeInvoice } from '../invoices.js';
import { lab } from './lab.js';

export interface Outcome {
  id: string;
  /** HTTP status, or 0 when no response came. */
  status: number;
  retryAfter: string | undefined;
  /** Set when no response came: the socket error's code, or "timeout". */
  error: string | undefined;
  latencyMs: number;
}

export interface LoadOptions {
  /** http://<ClusterIP>[:port] */
  baseUrl: string;
  ratePerSecond: number;
  durationMs: number;
  /** A request without an answer after this long counts as a timeout. Default 15000. */
  timeoutMs?: number;
  /**
   * Ends the load early: `tailMs` after this settles, no new request is sent (durationMs stays the cap).
   * For a disruption whose length is not known ahead, such as a rollout.
   */
  until?: Promise<unknown>;
  /** Load kept up after `until` settled. Default 5000. */
  tailMs?: number;
}

/**
 * Open-model load: request i is sent at start + i/rate whatever happened to the earlier ones (a slow
 * server gets more concurrent requests, not fewer). Pooled keep-alive connections, as a webhook sender
 * keeps them, leaving from the lab's node address. Each invoice has its own id.
 */
export async function openModelLoad(options: LoadOptions): Promise<Outcome[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo' });
  const url = new URL('/webhooks/invoice', options.baseUrl);
  const total = Math.round((options.ratePerSecond * options.durationMs) / 1000);
  const intervalMs = 1000 / options.ratePerSecond;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const outcomes: Promise<Outcome>[] = [];
  const start = performance.now();
  let stopAt = Number.POSITIVE_INFINITY;
  void options.until?.finally(() => (stopAt = performance.now() + (options.tailMs ?? 5000)));
  let next = 0;
  while (next < total && performance.now() < stopAt) {
    const due = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1);
    for (; next < due; next += 1) outcomes.push(send(agent, url, timeoutMs));
    await new Promise((r) => setTimeout(r, Math.max(1, intervalMs)));
  }
  const results = await Promise.all(outcomes);
  agent.destroy();
  return results;
}

function send(agent: http.Agent, url: URL, timeoutMs: number): Promise<Outcome> {
  const invoice = makeInvoice();
  const id = invoice.id as string;
  const body = JSON.stringify(invoice);
  const started = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (outcome: Omit<Outcome, 'id' | 'latencyMs'>): void => {
      if (done) return;
      done = true;
      resolve({ id, latencyMs: performance.now() - started, ...outcome });
    };
    const req = http.request(
      {
        host: url.hostname,
        port: url.port || 80,
        path: url.pathname,
        method: 'POST',
        agent,
        localAddress: lab.hostIp,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          finish({
            status: res.statusCode ?? 0,
            retryAfter: headerValue(res.headers['retry-after']),
            error: undefined,
          }),
        );
        res.on('error', (error: NodeJS.ErrnoException) =>
          finish({ status: 0, retryAfter: undefined, error: error.code ?? error.message }),
        );
      },
    );
    req.setTimeout(timeoutMs, () => {
      finish({ status: 0, retryAfter: undefined, error: 'timeout' });
      req.destroy();
    });
    req.on('error', (error: NodeJS.ErrnoException) =>
      finish({ status: 0, retryAfter: undefined, error: error.code ?? error.message }),
    );
    req.end(body);
  });
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export interface LoadSummary {
  sent: number;
  accepted: number;
  unavailable: number;
  /** Anything else: resets, timeouts, other status codes, 503 without Retry-After. */
  failures: number;
  failureKinds: Record<string, number>;
  p99Ms: number;
}

/** 2xx accepted; 503 with a numeric Retry-After is the contract's "come back later"; the rest are failures. */
export function summarize(outcomes: readonly Outcome[]): LoadSummary {
  const failureKinds: Record<string, number> = {};
  let accepted = 0;
  let unavailable = 0;
  for (const o of outcomes) {
    if (o.status >= 200 && o.status < 300) accepted += 1;
    else if (o.status === 503 && /^\d+$/.test(o.retryAfter ?? '')) unavailable += 1;
    else {
      const kind = o.error ?? (o.status === 503 ? '503 without Retry-After' : String(o.status));
      failureKinds[kind] = (failureKinds[kind] ?? 0) + 1;
    }
  }
  const latencies = outcomes.map((o) => o.latencyMs).sort((a, b) => a - b);
  return {
    sent: outcomes.length,
    accepted,
    unavailable,
    failures: outcomes.length - accepted - unavailable,
    failureKinds,
    p99Ms: Math.round(latencies[Math.floor(latencies.length * 0.99)] ?? 0),
  };
}
