// The propagators OTEL_PROPAGATORS names, wrapped so that a message's own trace context is never overwritten.
import {
  defaultTextMapGetter,
  defaultTextMapSetter,
  diag,
  type Context,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { KEEP_CARRIER_CONTEXT, keepCarrierContext } from './carrier-context.js';

export { keepCarrierContext };

/**
 * Wraps the configured propagator. Outside a {@link keepCarrierContext} it changes nothing; inside,
 * a carrier that already has any of the propagator's fields (traceparent, tracestate, baggage) is not
 * written to at all, so a message never mixes its own traceparent with the batch's tracestate.
 */
export class CarrierPreservingPropagator implements TextMapPropagator {
  constructor(private readonly inner: TextMapPropagator) {}

  inject(ctx: Context, carrier: unknown, setter: TextMapSetter = defaultTextMapSetter): void {
    if (ctx.getValue(KEEP_CARRIER_CONTEXT) === true && carrier !== null && typeof carrier === 'object') {
      const fields = this.inner.fields();
      if (fields.some((field) => Object.prototype.hasOwnProperty.call(carrier, field))) return;
    }
    this.inner.inject(ctx, carrier, setter);
  }

  extract(ctx: Context, carrier: unknown, getter: TextMapGetter = defaultTextMapGetter): Context {
    return this.inner.extract(ctx, carrier, getter);
  }

  fields(): string[] {
    return this.inner.fields();
  }
}

/**
 * The propagators named by OTEL_PROPAGATORS (default `tracecontext,baggage`), wrapped in a
 * {@link CarrierPreservingPropagator}. Supported names: tracecontext, baggage, none.
 */
export function propagatorFromEnv(value: string | undefined): TextMapPropagator {
  const names = (value ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  const wanted = names.length === 0 ? ['tracecontext', 'baggage'] : names;
  const propagators: TextMapPropagator[] = [];
  if (!wanted.includes('none')) {
    for (const name of new Set(wanted)) {
      if (name === 'tracecontext') propagators.push(new W3CTraceContextPropagator());
      else if (name === 'baggage') propagators.push(new W3CBaggagePropagator());
      else diag.warn(`OTEL_PROPAGATORS: "${name}" is not supported here; use tracecontext, baggage or none`);
    }
  }
  return new CarrierPreservingPropagator(new CompositePropagator({ propagators }));
}
