// The context mark under which injections leave a carrier's own trace context alone (keepCarrierContext).
import { createContextKey, type Context } from '@opentelemetry/api';

// Apart from propagation.ts so that the SQS thread can mark its context without loading
// @opentelemetry/core (the propagators) when tracing is off.

export const KEEP_CARRIER_CONTEXT = createContextKey('invoice-webhook: keep the trace context a carrier already holds');

/**
 * Marks a context so that injections made under it leave a carrier alone when it already holds trace
 * context. The SQS sender runs under it: each message carries its own request's traceparent, and the
 * AWS SDK instrumentation, which injects one context into every entry of a batch, must not replace it.
 */
export function keepCarrierContext(ctx: Context): Context {
  return ctx.setValue(KEEP_CARRIER_CONTEXT, true);
}
