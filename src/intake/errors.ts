import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import type { Violation } from '../validation/index.js';
import type { PipelineMetrics, RejectReason } from '../telemetry/metrics.js';

/** A request outcome other than success, shaped into the contract's status and body at the edge. */
export class IntakeError extends Error {
  override readonly name = 'IntakeError';
  constructor(
    readonly status: number,
    /** The contract's `error` value. */
    readonly code: string,
    message: string,
    readonly extra: {
      headers?: Record<string, string>;
      details?: Violation[];
      /** 422 only: more violations were found than `details` lists. */
      truncated?: boolean;
      reason?: string;
      /** Counted under this reason in `webhook_invoices_rejected_total`. */
      metricReason?: RejectReason;
    } = {},
  ) {
    super(message);
  }
}

export const unsupportedMediaType = (contentType: string | undefined): IntakeError =>
  new IntakeError(
    415,
    'unsupported_media_type',
    `Content-Type must be application/json (charset utf-8 if given); got ${contentType ? JSON.stringify(contentType) : 'none'}`,
    { metricReason: 'unsupported_media_type' },
  );

export const tooManyHeaders = (limit: number): IntakeError =>
  new IntakeError(
    431,
    'request_header_fields_too_large',
    `a request may carry at most ${limit} header fields (HTTP_MAX_HEADERS)`,
  );

export const unsupportedEncoding = (encoding: string): IntakeError =>
  new IntakeError(
    415,
    'unsupported_media_type',
    `Content-Encoding ${JSON.stringify(encoding)} is not accepted; send the body uncompressed`,
    { metricReason: 'unsupported_media_type' },
  );

export const payloadTooLarge = (limitBytes: number): IntakeError =>
  new IntakeError(413, 'payload_too_large', `request body is larger than ${limitBytes} bytes`, {
    metricReason: 'payload_too_large',
  });

export const malformedJson = (message: string): IntakeError =>
  new IntakeError(400, 'malformed_json', message, { metricReason: 'malformed_json' });

export const invalidInvoice = (details: Violation[], truncated = false): IntakeError =>
  new IntakeError(
    422,
    'invalid_invoice',
    truncated
      ? `the invoice breaks the schema in more than ${details.length} places; the first ${details.length} are listed`
      : `the invoice breaks the schema in ${details.length} place(s)`,
    { details, ...(truncated ? { truncated } : {}), metricReason: 'invalid_invoice' },
  );

export const invalidSignature = (why: string): IntakeError =>
  new IntakeError(401, 'invalid_signature', why, { metricReason: 'invalid_signature' });

export const unavailable = (reason: string, retryAfterSeconds: number, metricReason: RejectReason): IntakeError =>
  new IntakeError(503, 'unavailable', `the service cannot take invoices right now: ${reason}`, {
    reason,
    headers: { 'Retry-After': String(retryAfterSeconds) },
    metricReason,
  });

/**
 * The one place errors become responses. Known errors get the contract's status and JSON body;
 * anything else is a 500 with no internals, logged with its stack.
 */
export function shapeErrors(logger: Logger, metrics: PipelineMetrics) {
  return async function shapeErrorsMiddleware(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.body === undefined || ctx.body === null) {
        if (ctx.status === 404) {
          ctx.status = 404;
          ctx.body = { error: 'not_found', message: `no route for ${ctx.method} ${ctx.path}` };
        } else if (ctx.status === 405) {
          ctx.body = { error: 'method_not_allowed', message: `${ctx.method} is not allowed on ${ctx.path}` };
        }
      }
    } catch (caught) {
      const error = toIntakeError(caught, ctx);
      if (error.extra.metricReason) metrics.reject(error.extra.metricReason);
      ctx.status = error.status;
      for (const [name, value] of Object.entries(error.extra.headers ?? {})) ctx.set(name, value);
      ctx.body = {
        error: error.code,
        message: error.message,
        ...(error.extra.reason === undefined ? {} : { reason: error.extra.reason }),
        ...(error.extra.details === undefined ? {} : { details: error.extra.details }),
        ...(error.extra.truncated === true ? { truncated: true } : {}),
      };
      if (error.status >= 500 && error.status !== 503) {
        logger.error({ err: caught, requestId: ctx.state.requestId as string }, 'request failed');
      } else {
        logger.debug(
          { status: error.status, code: error.code, requestId: ctx.state.requestId as string },
          error.message,
        );
      }
    }
  };
}

/** Maps errors thrown by Koa, the router and the body reader onto the contract's codes. */
function toIntakeError(caught: unknown, ctx: Context): IntakeError {
  if (caught instanceof IntakeError) return caught;
  const e = caught as { status?: unknown; statusCode?: unknown; type?: unknown; message?: unknown; limit?: unknown };
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status === 413) return payloadTooLarge(typeof e.limit === 'number' ? e.limit : 0);
  if (status === 415) return unsupportedMediaType(ctx.get('Content-Encoding') || ctx.get('Content-Type'));
  if (status === 400) {
    const what = e.type === 'request.aborted' ? 'the request body was cut off' : 'the request body could not be read';
    return malformedJson(what);
  }
  if (status === 405) return new IntakeError(405, 'method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}`);
  if (status === 408) return new IntakeError(408, 'request_timeout', 'the request body arrived too slowly');
  return new IntakeError(500, 'internal_error', 'internal error');
}
