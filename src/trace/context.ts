/**
 * W3C trace context (https://www.w3.org/TR/trace-context/): reading a `traceparent` header,
 * starting a trace when a callback brings none (or a malformed one), and the child context each
 * delivery passes on. The callback's context is passed along with it, HTTP edge to intake to the
 * spool's commit, which stores it with the event. Not through an AsyncLocalStorage: on Node 20
 * that installs promise hooks for every promise of the process (measured in issue 11: 4 % of the
 * router's allocations and ~3 % of its CPU under load).
 */
import { randomFillSync } from 'node:crypto';

/** One span's place in a trace: what a `traceparent` header carries, plus the vendors' `tracestate`. */
export interface TraceContext {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** This span's id: 16 lowercase hex digits, not all zero. */
  spanId: string;
  /** The caller's span (from the header we were given), or null when we started the trace. */
  parentId: string | null;
  /** Trace flags, two hex digits (`01`: sampled). */
  flags: string;
  /** The `tracestate` header as received (vendor data we pass on untouched), or null. */
  tracestate: string | null;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * The header's parts, or null when it is not a valid traceparent: version `ff` is forbidden,
 * version 00 has exactly four fields, ids must not be all zero. A later version is read by its
 * first four fields, as the spec asks.
 * @example parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')?.traceId === '4bf92f3577b34da6a3ce929d0e0e4736'
 */
export function parseTraceparent(header: string | null | undefined): { traceId: string; parentId: string; flags: string } | null {
  if (!header) return null;
  const m = TRACEPARENT.exec(header.trim());
  if (!m) return null;
  const [, version, traceId, parentId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return null;
  return { traceId, parentId, flags };
}

// Ids are drawn from a pool refilled 4 KiB at a time: one call into the CSPRNG per ~170 spans
// instead of one per span (randomBytes per id was 4-5 % of the router's CPU under load).
const pool = Buffer.allocUnsafe(4096);
let used = pool.length;

/** A random id of `bytes` bytes in hex, never all zero. */
function randomId(bytes: number): string {
  for (;;) {
    if (used + bytes > pool.length) {
      randomFillSync(pool);
      used = 0;
    }
    const id = pool.toString('hex', used, used + bytes);
    used += bytes;
    if (!/^0+$/.test(id)) return id;
  }
}

/** A new span id (16 hex digits). @example newSpanId().length === 16 */
export function newSpanId(): string {
  return randomId(8);
}

/**
 * The context of a callback we answer: a child of the caller's span when its `traceparent` is
 * valid, else the root of a new (sampled) trace. `tracestate` is kept only with a valid parent.
 * @example callbackContext('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', null).parentId === '00f067aa0ba902b7'
 */
export function callbackContext(traceparent: string | null | undefined, tracestate: string | null | undefined): TraceContext {
  const parent = parseTraceparent(traceparent);
  if (!parent) return { traceId: randomId(16), spanId: newSpanId(), parentId: null, flags: '01', tracestate: null };
  return { traceId: parent.traceId, spanId: newSpanId(), parentId: parent.parentId, flags: parent.flags, tracestate: tracestate?.trim() || null };
}

/** The `traceparent` header naming this span. @example formatTraceparent(ctx) === `00-${ctx.traceId}-${ctx.spanId}-${ctx.flags}` */
export function formatTraceparent(ctx: Pick<TraceContext, 'traceId' | 'spanId' | 'flags'>): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.flags}`;
}

/** A child span of `parent` (a delivery of the callback): same trace, a new span id. */
export function childContext(parent: TraceContext): TraceContext {
  return { traceId: parent.traceId, spanId: newSpanId(), parentId: parent.spanId, flags: parent.flags, tracestate: parent.tracestate };
}

/** The bytes of a stored context before its tracestate: trace id (16), span id (8), flags (1). */
const STORED_IDS = 25;

/**
 * How a context is stored with its event (the `events.traceparent` column, spool version 6):
 * the callback span's trace id, span id and flags as 25 bytes, then its tracestate in UTF-8.
 * Versions 4 and 5 stored the traceparent header's text, then the tracestate after a newline;
 * decodeStoredTrace reads both.
 * @example decodeStoredTrace(encodeStoredTrace(ctx))?.spanId === ctx.spanId
 */
export function encodeStoredTrace(ctx: TraceContext): Buffer {
  const state = ctx.tracestate ?? '';
  const stored = Buffer.allocUnsafe(STORED_IDS + Buffer.byteLength(state));
  stored.write(ctx.traceId, 0, 16, 'hex');
  stored.write(ctx.spanId, 16, 8, 'hex');
  stored[24] = parseInt(ctx.flags, 16);
  if (state) stored.write(state, STORED_IDS, 'utf8');
  return stored;
}

/** The stored context back, or null (an event stored before version 4, or a bad value). */
export function decodeStoredTrace(stored: Buffer | string | null | undefined): TraceContext | null {
  if (!stored) return null;
  if (typeof stored !== 'string') {
    if (stored.length < STORED_IDS) return null;
    return {
      traceId: stored.toString('hex', 0, 16),
      spanId: stored.toString('hex', 16, 24),
      parentId: null,
      flags: stored.toString('hex', 24, 25),
      tracestate: stored.length > STORED_IDS ? stored.toString('utf8', STORED_IDS) : null,
    };
  }
  const nl = stored.indexOf('\n');
  const parsed = parseTraceparent(nl < 0 ? stored : stored.slice(0, nl));
  if (!parsed) return null;
  return { traceId: parsed.traceId, spanId: parsed.parentId, parentId: null, flags: parsed.flags, tracestate: nl < 0 ? null : stored.slice(nl + 1) || null };
}
