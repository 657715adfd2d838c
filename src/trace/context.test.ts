import { describe, expect, it } from 'vitest';
import { callbackContext, childContext, decodeStoredTrace, encodeStoredTrace, formatTraceparent, parseTraceparent } from './context.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

describe('parseTraceparent', () => {
  it.each<[string, string | undefined, boolean]>([
    ['the spec example', `00-${TRACE}-${PARENT}-01`, true],
    ['not sampled', `00-${TRACE}-${PARENT}-00`, true],
    ['surrounding spaces', ` 00-${TRACE}-${PARENT}-01 `, true],
    ['a later version with more fields', `01-${TRACE}-${PARENT}-01-extra`, true],
    ['version 00 with a fifth field', `00-${TRACE}-${PARENT}-01-extra`, false],
    ['version ff', `ff-${TRACE}-${PARENT}-01`, false],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${PARENT}-01`, false],
    ['an all-zero parent id', `00-${TRACE}-${'0'.repeat(16)}-01`, false],
    ['upper-case hex', `00-${TRACE.toUpperCase()}-${PARENT}-01`, false],
    ['a short trace id', `00-${TRACE.slice(1)}-${PARENT}-01`, false],
    ['garbage', 'hello', false],
    ['absent', undefined, false],
  ])('%s', (_what, header, valid) => {
    expect(parseTraceparent(header) !== null).toBe(valid);
  });
});

describe('callbackContext', () => {
  it('continues a valid caller trace as a child of its span, keeping tracestate', () => {
    const ctx = callbackContext(`00-${TRACE}-${PARENT}-01`, 'vendor=abc');
    expect(ctx).toMatchObject({ traceId: TRACE, parentId: PARENT, flags: '01', tracestate: 'vendor=abc' });
    expect(ctx.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(ctx.spanId).not.toBe(PARENT);
  });

  it('starts a new sampled trace when the header is absent or invalid (and drops its tracestate)', () => {
    for (const header of [undefined, `00-${'0'.repeat(32)}-${PARENT}-01`]) {
      const ctx = callbackContext(header, 'vendor=abc');
      expect(ctx.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(ctx.traceId).not.toBe(TRACE);
      expect(ctx).toMatchObject({ parentId: null, flags: '01', tracestate: null });
    }
  });

  it('gives each delivery a child span of the callback, in the same trace', () => {
    const callback = callbackContext(`00-${TRACE}-${PARENT}-01`, null);
    const a = childContext(callback);
    const b = childContext(callback);
    expect(a).toMatchObject({ traceId: TRACE, parentId: callback.spanId });
    expect(a.spanId).not.toBe(b.spanId);
    expect(formatTraceparent(a)).toBe(`00-${TRACE}-${a.spanId}-01`);
  });
});

describe('stored trace context', () => {
  it('round-trips trace id, span, flags and tracestate through the events.traceparent column, in 25 bytes and the tracestate', () => {
    const ctx = callbackContext(`00-${TRACE}-${PARENT}-01`, 'a=1, b=2');
    const stored = encodeStoredTrace(ctx);
    expect(stored.length).toBe(25 + 'a=1, b=2'.length);
    expect(decodeStoredTrace(stored)).toEqual({ ...ctx, parentId: null });
    const plain = { ...callbackContext(undefined, undefined), flags: '00' };
    expect(encodeStoredTrace(plain).length).toBe(25);
    expect(decodeStoredTrace(encodeStoredTrace(plain))).toEqual({ ...plain, parentId: null });
    const utf8 = callbackContext(`00-${TRACE}-${PARENT}-01`, 'vendor=é✓');
    expect(decodeStoredTrace(encodeStoredTrace(utf8))?.tracestate).toBe('vendor=é✓');
  });

  it('reads the text that spools of versions 4 and 5 stored: the traceparent, then the tracestate after a newline', () => {
    expect(decodeStoredTrace(`00-${TRACE}-${PARENT}-01\na=1`)).toEqual({ traceId: TRACE, spanId: PARENT, parentId: null, flags: '01', tracestate: 'a=1' });
    expect(decodeStoredTrace(`00-${TRACE}-${PARENT}-00`)).toEqual({ traceId: TRACE, spanId: PARENT, parentId: null, flags: '00', tracestate: null });
  });

  it('reads nothing from an event stored without one, or from a value too short to be one', () => {
    expect(decodeStoredTrace(null)).toBeNull();
    expect(decodeStoredTrace('junk')).toBeNull();
    expect(decodeStoredTrace(Buffer.alloc(24))).toBeNull();
  });
});
