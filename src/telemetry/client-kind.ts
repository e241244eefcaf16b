// A tracer provider for the AWS SDK instrumentation that starts its PRODUCER spans as CLIENT spans.
import {
  SpanKind,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
  type TracerOptions,
  type TracerProvider,
} from '@opentelemetry/api';

/**
 * A tracer whose PRODUCER spans start as CLIENT spans. Given to the AWS SDK instrumentation: it makes
 * SendMessageBatch a PRODUCER span of its own, nested in ours, so each attempt would carry two.
 * The messaging conventions want one PRODUCER span per send (ours, `send <queue>`, linked to the
 * requests); the SDK's call inside it is a client call (`rpc.*`, HTTP under it).
 */
class ClientKindTracer implements Tracer {
  constructor(private readonly inner: Tracer) {}

  startSpan(name: string, options: SpanOptions = {}, context?: Context): Span {
    return this.inner.startSpan(name, clientKind(options), context);
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    context: Context,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    ...rest: [F] | [SpanOptions, F] | [SpanOptions, Context, F]
  ): ReturnType<F> {
    if (rest.length === 1) return this.inner.startActiveSpan(name, rest[0]);
    if (rest.length === 2) return this.inner.startActiveSpan(name, clientKind(rest[0]), rest[1]);
    return this.inner.startActiveSpan(name, clientKind(rest[0]), rest[1], rest[2]);
  }
}

function clientKind(options: SpanOptions): SpanOptions {
  return options.kind === SpanKind.PRODUCER ? { ...options, kind: SpanKind.CLIENT } : options;
}

/** Hands out {@link ClientKindTracer}s over `inner`'s tracers. */
export class ClientKindTracerProvider implements TracerProvider {
  constructor(private readonly inner: TracerProvider) {}

  getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
    return new ClientKindTracer(this.inner.getTracer(name, version, options));
  }
}
