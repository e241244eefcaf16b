import Router from '@koa/router';
import { context } from '@opentelemetry/api';
import { RPCType, getRPCMetadata } from '@opentelemetry/core';
import Koa from 'koa';
import { koaBody } from 'koa-body';
import type { Logger } from 'pino';
import type { PipelineMetrics } from '../telemetry/metrics.js';
import { shapeErrors, tooManyHeaders } from './errors.js';
import type { Intake } from './intake.js';
import { OPENAPI_PATH } from './openapi.js';
import { requestId } from './request-id.js';

/** What /readyz reports. */
export interface Readiness {
  ready: boolean;
  reason?: string;
}

/**
 * Checks of /readyz that a probe may leave out with `?exclude=<name>` (as kube-apiserver's /readyz
 * does). `buffer`: the buffer above its high-water mark. Starting and shutting down always count.
 */
export type ReadinessCheck = 'buffer';

const READINESS_CHECKS: ReadonlySet<string> = new Set<ReadinessCheck>(['buffer']);

/** The known check names in `?exclude=a,b` or `?exclude=a&exclude=b`; unknown names are ignored. */
export function excludedChecks(exclude: string | string[] | undefined): Set<ReadinessCheck> {
  const names = (Array.isArray(exclude) ? exclude : [exclude ?? '']).flatMap((value) => value.split(','));
  return new Set(names.map((name) => name.trim()).filter((name) => READINESS_CHECKS.has(name)) as ReadinessCheck[]);
}

export interface AppOptions {
  intake: Intake;
  logger: Logger;
  metrics: PipelineMetrics;
  /** Largest accepted body in bytes. */
  bodyLimitBytes: number;
  /** Most header fields a request may carry; more: 431 (the server sets no count limit of its own). */
  maxHeaders: number;
  /** Readiness, leaving out the checks a probe excluded. */
  readiness: (exclude: ReadonlySet<ReadinessCheck>) => Readiness;
  /** The OpenAPI document served at {@link OPENAPI_PATH}. */
  openApi: Record<string, unknown>;
  /** Serves /metrics on the raw Node response. */
  serveMetrics: (ctx: Koa.Context) => void;
}

export const WEBHOOK_PATH = '/webhooks/invoice';

/**
 * Tells the HTTP instrumentation which route matched, so the server span is named
 * `POST /webhooks/invoice` and carries `http.route` (what the Koa instrumentation would do, without
 * its per-layer spans). A no-op when tracing is off.
 */
async function nameRoute(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  const metadata = getRPCMetadata(context.active());
  if (metadata?.type === RPCType.HTTP) metadata.route = WEBHOOK_PATH;
  await next();
}

/**
 * The HTTP surface: the webhook route and the operations endpoints, errors shaped in one place. Every route and
 * answer is documented for users in docs/api.md (and docs/openapi.json).
 */
export function createApp(options: AppOptions): Koa {
  const app = new Koa();
  app.proxy = false;
  // Errors are answered by shapeErrors; Koa's own handler only sees what escapes it (nothing should).
  app.silent = true;
  app.on('error', (err: unknown) => options.logger.error({ err }, 'unhandled koa error'));

  const router = new Router();
  router.post(
    WEBHOOK_PATH,
    nameRoute,
    options.intake.precheck,
    // latin1 keeps one char per byte, so intake can check UTF-8 strictly and forward the exact bytes.
    koaBody({
      json: false,
      urlencoded: false,
      multipart: false,
      text: true,
      textTypes: ['application/json'],
      textLimit: options.bodyLimitBytes,
      encoding: 'latin1',
    }),
    options.intake.handle,
  );
  router.get('/livez', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', (ctx) => {
    const state = options.readiness(excludedChecks(ctx.query.exclude));
    ctx.status = state.ready ? 200 : 503;
    ctx.body = state.ready ? { status: 'ready' } : { status: 'not_ready', reason: state.reason };
  });
  router.get('/metrics', (ctx) => options.serveMetrics(ctx));
  router.get(OPENAPI_PATH, (ctx) => {
    ctx.body = options.openApi;
  });

  app.use(requestId);
  app.use(shapeErrors(options.logger, options.metrics));
  app.use(async (ctx, next) => {
    if (ctx.req.rawHeaders.length / 2 > options.maxHeaders) throw tooManyHeaders(options.maxHeaders);
    await next();
  });
  app.use(router.routes());
  // Sets 405 + Allow (and answers OPTIONS); shapeErrors gives the 405 its JSON body.
  app.use(router.allowedMethods());
  return app;
}
