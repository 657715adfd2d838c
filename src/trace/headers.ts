/** The W3C trace context headers a delivery carries on, the same on a Kafka record and a webhook request. */
import { formatTraceparent, type TraceContext } from './context.js';

/**
 * `traceparent` naming the delivery's span, and `tracestate` when the callback brought one;
 * nothing without a context (an event stored before the spool kept them).
 * @example traceHeaders(item.trace) // { traceparent: '00-<trace id>-<delivery span id>-01' }
 */
export function traceHeaders(trace: TraceContext | null | undefined): { traceparent?: string; tracestate?: string } {
  if (!trace) return {};
  return trace.tracestate ? { traceparent: formatTraceparent(trace), tracestate: trace.tracestate } : { traceparent: formatTraceparent(trace) };
}
