import { describe, expect, it } from 'vitest';
import { uuidFromName, uuidv7 } from './ids.js';

describe('uuidv7', () => {
  it('is an RFC 9562 version-7 UUID whose first 48 bits are the time', () => {
    const id = uuidv7(0x0193_9c5e_7f2a);
    expect(id).toMatch(/^01939c5e-7f2a-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('sorts by time and never repeats, across many pool refills', () => {
    const ids = Array.from({ length: 5_000 }, (_, i) => uuidv7(1_700_000_000_000 + i));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });
});

describe('uuidFromName', () => {
  it('gives the ids stored events already have (an event id must never change)', () => {
    expect(uuidFromName('')).toBe('e3b0c442-98fc-8c14-9afb-f4c8996fb924');
    expect(uuidFromName('default\u0000ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1\u0000delivered\u00002022-04-05T08:55:50.000Z')).toBe('ba2b71e2-dbfb-8610-beb3-9d62327deb76');
    expect(uuidFromName('短信 ✓')).toBe('4b76f606-d740-8202-b99b-f3629fa4ca7f');
  });

  it('is an RFC 9562 version-8 UUID with the variant set, whatever the hash put in those bits', () => {
    const ids = Array.from({ length: 2_000 }, (_, i) => uuidFromName(`name ${i}`));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Every variant digit occurs: the bits come from the hash, not a constant.
    expect(new Set(ids.map((id) => id[19])).size).toBe(4);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
