import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eventFrom } from '../testing/events.js';
import { GET_SAMPLE_QUERY, postSample } from '../testing/samples.js';
import { decodeBody, encodeBody, type BodyKeys } from './body-codec.js';

/** An event with ids of its own, as real traffic has them (the sample's are in the dictionary). */
function freshEvent(): { json: string; keys: BodyKeys } {
  const request = randomUUID();
  const event = eventFrom(postSample({ id: request, message_id: `${request}:1` }));
  return { json: JSON.stringify(event), keys: event };
}

describe('the stored form of an event (events.body)', () => {
  const { json, keys } = freshEvent();

  it('gives back the very JSON it was given, in a fraction of its bytes', () => {
    const stored = encodeBody(json, keys);
    expect(stored[0]).toBe(2);
    expect(decodeBody(stored, keys)).toBe(json);
    expect(stored.length).toBeLessThan(json.length / 5);
  });

  it('keeps the ids its row already holds once: they are not stored again in the body', () => {
    // The same JSON stored beside another event's keys has to spell its own ids out.
    const other = freshEvent().keys;
    const own = encodeBody(json, keys).length;
    const elsewhere = encodeBody(json, other).length;
    expect(elsewhere - own).toBeGreaterThanOrEqual(35);
    expect(decodeBody(encodeBody(json, other), other)).toBe(json);
  });

  it('stores an event without a request id (null in its column) the same way', () => {
    const bare = { ...keys, request_id: null };
    const text = JSON.stringify({ ...JSON.parse(json), request_id: null });
    expect(decodeBody(encodeBody(text, bare), bare)).toBe(text);
  });

  it('reads the plain JSON TEXT that spools before version 5 wrote, as it is', () => {
    expect(decodeBody(json, keys)).toBe(json);
    expect(encodeBody(json, keys, 'none')).toBe(json);
  });

  it('reads a format-1 body written by an earlier build (the dictionary must never change)', () => {
    // encodeBody('{"status":"Delivered","status_trace":"DELIVRD","iso_code":"IN","request_id":"7d2f3c4b-5a6e-4f80-9b1c-2d3e4f5a6b7c"}')
    // when format 1 shipped: 15 bytes, almost all of it references into the dictionary.
    const shipped = Buffer.from('AavGW55gegA9qkgvCmsB', 'base64');
    expect(decodeBody(shipped, keys)).toBe('{"status":"Delivered","status_trace":"DELIVRD","iso_code":"IN","request_id":"7d2f3c4b-5a6e-4f80-9b1c-2d3e4f5a6b7c"}');
  });

  it('reads a format-2 body written by an earlier build (dictionary and key order must never change)', () => {
    // Written when format 2 shipped: 25 bytes for 183 of JSON, its three ids all found in its keys.
    const shippedKeys = { event_id: '0b4e7f52-31c6-8a9d-b2e4-5f6071829a3b', message_key: 'c41d8e2a-7b3f-4e56-9a10-2d3c4b5e6f70:2', request_id: 'c41d8e2a-7b3f-4e56-9a10-2d3c4b5e6f70' };
    const shipped = Buffer.from('AqtGLviJ0YCeHIhzC3ohTYwuXNGDmjprAQ==', 'base64');
    expect(decodeBody(shipped, shippedKeys)).toBe(
      '{"event_id":"0b4e7f52-31c6-8a9d-b2e4-5f6071829a3b","message_id":"c41d8e2a-7b3f-4e56-9a10-2d3c4b5e6f70:2","request_id":"c41d8e2a-7b3f-4e56-9a10-2d3c4b5e6f70","status":"Delivered","iso_code":"IN"}',
    );
  });

  it('refuses a format it does not know, saying so, rather than guessing at the bytes', () => {
    const newer = Buffer.concat([Buffer.from([3]), encodeBody(json, keys).subarray(1)]);
    expect(() => decodeBody(newer, keys)).toThrow(/format 3, which this router cannot read/);
    expect(() => decodeBody(Buffer.alloc(0), keys)).toThrow(/format \(empty\)/);
  });

  it('round-trips bodies far larger than the dictionary, and text outside ASCII', () => {
    const big = JSON.stringify({ ...eventFrom(postSample({ campaign_name: 'Diwali 🎆' })), description: `Ünïcödé ✓ 短信 ${'x'.repeat(40_000)}`, raw_query: GET_SAMPLE_QUERY });
    expect(big.length).toBeGreaterThan(40_000);
    expect(decodeBody(encodeBody(big, keys), keys)).toBe(big);
    const varied = JSON.stringify({ values: Array.from({ length: 5_000 }, (_, i) => (i * 2_654_435_761) % 1_000_003) });
    expect(decodeBody(encodeBody(varied, keys), keys)).toBe(varied);
    const unicodeKeys = { event_id: 'ünï-1', message_key: '短信:1', request_id: '短信' };
    expect(decodeBody(encodeBody(big, unicodeKeys), unicodeKeys)).toBe(big);
  });
});
