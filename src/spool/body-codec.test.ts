import { describe, expect, it } from 'vitest';
import { eventFrom } from '../testing/events.js';
import { GET_SAMPLE_QUERY, postSample } from '../testing/samples.js';
import { decodeBody, encodeBody } from './body-codec.js';

describe('the stored form of an event (events.body)', () => {
  const json = JSON.stringify(eventFrom(postSample()));

  it('gives back the very JSON it was given, in a fraction of its bytes', () => {
    const stored = encodeBody(json);
    expect(stored[0]).toBe(1);
    expect(decodeBody(stored)).toBe(json);
    expect(stored.length).toBeLessThan(json.length / 3);
  });

  it('reads the plain JSON TEXT that spools before version 5 wrote, as it is', () => {
    expect(decodeBody(json)).toBe(json);
  });

  it('reads a format-1 body written by an earlier build (the dictionary must never change)', () => {
    // encodeBody('{"status":"Delivered","status_trace":"DELIVRD","iso_code":"IN","request_id":"7d2f3c4b-5a6e-4f80-9b1c-2d3e4f5a6b7c"}')
    // when format 1 shipped: 15 bytes, almost all of it references into the dictionary.
    const shipped = Buffer.from('AavGW55gegA9qkgvCmsB', 'base64');
    expect(decodeBody(shipped)).toBe('{"status":"Delivered","status_trace":"DELIVRD","iso_code":"IN","request_id":"7d2f3c4b-5a6e-4f80-9b1c-2d3e4f5a6b7c"}');
  });

  it('refuses a format it does not know, saying so, rather than guessing at the bytes', () => {
    const newer = Buffer.concat([Buffer.from([2]), encodeBody(json).subarray(1)]);
    expect(() => decodeBody(newer)).toThrow(/format 2, which this router cannot read/);
    expect(() => decodeBody(Buffer.alloc(0))).toThrow(/format \(empty\)/);
  });

  it('round-trips bodies far larger than the dictionary, and text outside ASCII', () => {
    const big = JSON.stringify({ ...eventFrom(postSample({ campaign_name: 'Diwali 🎆' })), description: `Ünïcödé ✓ 短信 ${'x'.repeat(40_000)}`, raw_query: GET_SAMPLE_QUERY });
    expect(big.length).toBeGreaterThan(40_000);
    expect(decodeBody(encodeBody(big))).toBe(big);
    const varied = JSON.stringify({ values: Array.from({ length: 5_000 }, (_, i) => (i * 2_654_435_761) % 1_000_003) });
    expect(decodeBody(encodeBody(varied))).toBe(varied);
  });
});
