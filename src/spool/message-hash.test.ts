import { describe, expect, it } from 'vitest';
import { messageHash } from './message-hash.js';

describe('messageHash: how a delivery keeps its message', () => {
  it('gives the values spools already store (it must never change)', () => {
    expect([messageHash(''), messageHash('ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1'), messageHash('7d2f3c4b/919620838XXX'), messageHash('短信:1')]).toEqual([
      141959077540347, 9419666638000, 253980523772462, 255123558724616,
    ]);
  });

  it('fits 48 bits, and sets apart keys that differ in one character, anywhere', () => {
    const base = 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1';
    const hashes = new Set<number>();
    for (let i = 0; i < base.length; i++) {
      for (const c of '0123456789abcdef:') {
        const key = base.slice(0, i) + c + base.slice(i + 1);
        if (key === base) continue;
        const h = messageHash(key);
        expect(Number.isSafeInteger(h) && h >= 0 && h < 2 ** 48).toBe(true);
        hashes.add(h);
      }
    }
    expect(hashes.has(messageHash(base))).toBe(false);
  });

  it('has no collision among 200,000 message ids of one campaign', () => {
    const seen = new Set<number>();
    for (let n = 0; n < 200_000; n++) seen.add(messageHash(`ebcccXXf-6311-4c52-b23d-afeXXX5fc336:${n}`));
    expect(seen.size).toBe(200_000);
  });
});
