import { describe, expect, it } from 'vitest';
import { childContext } from '../trace/context.js';
import { headerValue, recordTrace } from './record-trace.js';

describe('recordTrace', () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('reads the span a record names as the parent of the next step, with its tracestate, from Buffers as kafkajs gives them', () => {
    const parent = recordTrace({ traceparent: Buffer.from(traceparent), tracestate: Buffer.from('vendor=abc') });
    expect(parent).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', parentId: null, flags: '01', tracestate: 'vendor=abc' });
    const child = childContext(parent!);
    expect(child).toMatchObject({ traceId: parent!.traceId, parentId: '00f067aa0ba902b7', tracestate: 'vendor=abc' });
    expect(child.spanId).not.toBe(parent!.spanId);
  });

  it('is null for records without a valid traceparent (written before traces were passed on)', () => {
    expect(recordTrace(undefined)).toBeNull();
    expect(recordTrace({ 'event-id': 'e1' })).toBeNull();
    expect(recordTrace({ traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` })).toBeNull();
    expect(recordTrace({ traceparent: 'garbage', tracestate: 'vendor=abc' })).toBeNull();
  });

  it('keeps no empty tracestate', () => {
    expect(recordTrace({ traceparent, tracestate: ' ' })?.tracestate).toBeNull();
  });
});

describe('headerValue', () => {
  it('reads a Buffer, a string or the first of a list, and null when absent', () => {
    expect(headerValue({ a: Buffer.from('x') }, 'a')).toBe('x');
    expect(headerValue({ a: 'y' }, 'a')).toBe('y');
    expect(headerValue({ a: [Buffer.from('first'), 'second'] }, 'a')).toBe('first');
    expect(headerValue({}, 'a')).toBeNull();
    expect(headerValue(undefined, 'a')).toBeNull();
  });
});
