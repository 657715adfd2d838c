/**
 * Reading the cluster topics' record headers: the W3C trace context a record carries on (the
 * edge's intake record names the callback's span, an owner's outbox record its hand-off span), so
 * the next step of the cluster makes its own span a child of it, as the embedded spool does with
 * the context it stored.
 */
import type { IHeaders } from 'kafkajs';
import { parseTraceparent, type TraceContext } from '../trace/context.js';

/**
 * A header's value as text (kafkajs gives a Buffer, a string or a list of them), or null.
 * @example headerValue(message.headers, 'event-id') // '3f0c…'
 */
export function headerValue(headers: IHeaders | undefined, name: string): string | null {
  const v = headers?.[name];
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined || one === null ? null : one.toString();
}

/**
 * The span a record's `traceparent` names, as the parent of what the reader does with it (pass it
 * to `childContext`), with its `tracestate`; null without a valid one (records written before
 * traces were passed on). Who wrote the span's own parent is not in the header: `parentId` is null.
 * @example const parent = recordTrace(m.headers); const trace = parent && childContext(parent);
 */
export function recordTrace(headers: IHeaders | undefined): TraceContext | null {
  const parsed = parseTraceparent(headerValue(headers, 'traceparent'));
  if (!parsed) return null;
  return { traceId: parsed.traceId, spanId: parsed.parentId, parentId: null, flags: parsed.flags, tracestate: headerValue(headers, 'tracestate')?.trim() || null };
}
