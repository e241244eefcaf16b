// Middleware that gives every request an id (the caller's X-Request-Id when sane) and puts it on the answer.
import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';

// A caller's id is echoed only when it is a short, printable token: it lands in logs and headers.
export const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Gives every request an id (the caller's, when sane) and puts it on every response. */
export async function requestId(ctx: Context, next: Next): Promise<void> {
  const given = ctx.get('X-Request-Id');
  const id = SANE_REQUEST_ID.test(given) ? given : randomUUID();
  ctx.state.requestId = id;
  ctx.set('X-Request-Id', id);
  await next();
}
