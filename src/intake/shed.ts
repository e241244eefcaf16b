// The shed path: wraps the Node handler and answers a refused webhook request 503 overloaded before Koa runs.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { context } from '@opentelemetry/api';
import { RPCType, getRPCMetadata } from '@opentelemetry/core';
import type { PipelineMetrics } from '../telemetry/metrics.js';
import type { OverloadGuard } from './overload.js';
import { SANE_REQUEST_ID } from './request-id.js';

/** A Node request handler, as Koa's `app.callback()` makes one. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

export interface ShedOptions {
  guard: OverloadGuard;
  /** The guarded route: POST on this path. Probes, /metrics and the rest always pass. */
  path: string;
  metrics: PipelineMetrics;
}

/** The contract's 503 body for reason `overloaded` (CONTRACT §1, §12), built once. */
export const OVERLOADED_BODY = Buffer.from(
  JSON.stringify({
    error: 'unavailable',
    message: 'the service cannot take invoices right now: overloaded; retry after the Retry-After seconds',
    reason: 'overloaded',
  }),
);

/**
 * Puts the overload guard in front of a Node handler: on the webhook route, before Koa, the body
 * reader, validation and the journal, a request the guard will not take is answered at once with the
 * pre-built 503 (Retry-After, X-Request-Id) and nothing else happens: no body read (Node discards it),
 * nothing on the queue. A taken request counts as in flight until its response closes.
 */
export function guardRoute(handle: NodeHandler, options: ShedOptions): NodeHandler {
  const { guard, path, metrics } = options;
  const retryAfter = String(guard.retryAfterSeconds);
  const contentLength = String(OVERLOADED_BODY.length);
  return (req, res) => {
    if (req.method !== 'POST' || !onPath(req.url, path)) return handle(req, res);
    if (guard.admit() === undefined) {
      res.once('close', () => guard.release());
      return handle(req, res);
    }
    metrics.reject('overloaded');
    // The server span (when traced) is named by its route, as the admitted ones are (app.ts nameRoute).
    const rpc = getRPCMetadata(context.active());
    if (rpc?.type === RPCType.HTTP) rpc.route = path;
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
    res.writeHead(503, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': contentLength,
      'Retry-After': retryAfter,
      'X-Request-Id': id,
    });
    res.end(OVERLOADED_BODY);
    return undefined;
  };
}

/** The path, with or without a trailing slash and a query, as the router matches it. */
function onPath(url: string | undefined, path: string): boolean {
  if (url === undefined || !url.startsWith(path)) return false;
  const rest = url.slice(path.length);
  return rest === '' || rest === '/' || rest.startsWith('?') || rest.startsWith('/?');
}
