/**
 * The spans the router reports when tracing export is on (OTEL_EXPORTER_OTLP_ENDPOINT): one per
 * callback answered and one per delivery attempt, a child of its callback's. Off by default:
 * the trace context is passed on in headers either way; a `SpanSink` only makes it visible.
 */
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { DeliveryObserver } from '../dispatch/worker.js';
import { callbackContext, formatTraceparent, type TraceContext } from './context.js';

/** A span that has ended, in the terms OTLP needs. */
export interface FinishedSpan {
  traceId: string;
  spanId: string;
  parentId: string | null;
  name: string;
  kind: 'server' | 'client';
  startMs: number;
  endMs: number;
  /** Failed (a 5xx answer, a delivery not delivered). */
  error: boolean;
  attributes: Record<string, string | number | boolean>;
}

/** Where finished spans go (the OTLP exporter); `add` must not throw or block. */
export interface SpanSink {
  add(span: FinishedSpan): void;
  /** Sends what is buffered; resolves when done (or given up). */
  shutdown(): Promise<void>;
}

/** The Hono env of a route under traceCallbacks: `c.get('trace')` is the callback's context. */
export type TraceEnv = { Variables: { trace: TraceContext } };

/**
 * Gives each callback its trace context (a child of the caller's valid `traceparent`, else a new
 * trace) as `c.get('trace')`, which the handler passes on so the spool stores it with the event;
 * answers with a `traceparent` naming our span; reports the span to `spans` when export is on.
 * @example app.use('/callbacks/*', traceCallbacks(spans))
 */
export function traceCallbacks(spans: SpanSink | null = null): MiddlewareHandler<TraceEnv> {
  return async function traceContext(c, next) {
    const ctx = callbackContext(c.req.header('traceparent'), c.req.header('tracestate'));
    c.set('trace', ctx);
    const startMs = Date.now();
    try {
      await next();
    } finally {
      // A response made by fetch (none here) would have immutable headers: the answer matters more.
      try {
        c.res.headers.set('traceparent', formatTraceparent(ctx));
      } catch {
        /* immutable headers */
      }
      const status = c.res.status;
      spans?.add({
        traceId: ctx.traceId,
        spanId: ctx.spanId,
        parentId: ctx.parentId,
        name: `${c.req.method} ${routePath(c, -1) || c.req.path}`,
        kind: 'server',
        startMs,
        endMs: Date.now(),
        error: status >= 500,
        attributes: { 'http.request.method': c.req.method, 'http.response.status_code': status, 'http.route': routePath(c, -1), 'url.path': c.req.path },
      });
    }
  };
}

/**
 * One span per delivery attempt (a batch's items share its round trip), with the span id the
 * delivery passed on in its `traceparent`, so a consumer's spans hang under it.
 * @example new Dispatcher({ ..., observers: [deliverySpans(spans)] })
 */
export function deliverySpans(spans: SpanSink, now: () => number = Date.now): DeliveryObserver {
  return {
    batch(destination, settled, latencyMs) {
      const endMs = now();
      for (const s of settled) {
        const trace = s.delivery.trace;
        if (!trace || s.result === 'skipped') continue;
        spans.add({
          traceId: trace.traceId,
          spanId: trace.spanId,
          parentId: trace.parentId,
          name: `deliver ${destination}`,
          kind: 'client',
          startMs: endMs - latencyMs,
          endMs,
          error: s.result !== 'delivered',
          attributes: {
            'kcr.destination': destination,
            'kcr.outcome': s.result,
            'kcr.event_id': s.delivery.eventId,
            'kcr.attempt': s.delivery.attempts + 1,
            ...(s.code ? { 'kcr.code': s.code } : {}),
          },
        });
      }
    },
  };
}
