import { describe, expect, it } from 'vitest';
import { LiveConfig, configSource, liveMap, stableJson } from './live-config.js';

describe('LiveConfig', () => {
  it('serves the config it holds until a swap puts the next one in place whole', () => {
    const live = new LiveConfig({ rules: ['a'] }, { hash: 'h0', now: 1_000 });
    const seen = live.current;
    const previous = live.swap({ rules: ['a', 'b'] }, { hash: 'h1', now: 2_000 });

    expect(previous).toBe(seen);
    // A reader that took the config before the swap keeps that one: its request is served by one config.
    expect(seen).toEqual({ rules: ['a'] });
    expect(live.current).toEqual({ rules: ['a', 'b'] });
    expect(live.info).toMatchObject({ version: 1, loadedAt: 2_000, hash: 'h1' });
  });

  it('tells its listeners of each swap with the next and the previous config, until they unsubscribe', () => {
    const live = new LiveConfig(1);
    const calls: [number, number][] = [];
    const unsubscribe = live.onSwap((next, previous) => calls.push([next, previous]));
    live.swap(2);
    unsubscribe();
    live.swap(3);
    expect(calls).toEqual([[2, 1]]);
    expect(live.info.version).toBe(2);
  });
});

describe('configSource', () => {
  it('reads through a holder, so a swap is seen at the next read', () => {
    const live = new LiveConfig({ n: 1 });
    const source = configSource(live);
    live.swap({ n: 2 });
    expect(source.current).toEqual({ n: 2 });
  });

  it('wraps a plain config, as tests and the CLI pass one, and hands a source back as it is', () => {
    const config = { n: 1 };
    const source = configSource(config);
    expect(source.current).toBe(config);
    expect(configSource(source)).toBe(source);
  });
});

describe('liveMap', () => {
  it('looks each key up in the map of the moment', () => {
    const live = new LiveConfig(new Map([['default', 1]]));
    const view = liveMap(() => live.current);
    expect(view.get('default')).toBe(1);
    live.swap(new Map([['templated', 2]]));
    expect(view.has('default')).toBe(false);
    expect(view.get('templated')).toBe(2);
    expect(view.size).toBe(1);
    expect([...view.keys()]).toEqual(['templated']);
    expect([...view]).toEqual([['templated', 2]]);
  });
});

describe('stableJson', () => {
  it.each<[string, unknown, unknown]>([
    ['object keys in any order', { b: 1, a: 2 }, { a: 2, b: 1 }],
    ['nested objects', { x: { d: 1, c: [1, { f: 1, e: 2 }] } }, { x: { c: [1, { e: 2, f: 1 }], d: 1 } }],
    ['maps in any insertion order', new Map([['b', 1], ['a', 2]]), new Map([['a', 2], ['b', 1]])],
  ])('is the same for %s', (_what, a, b) => {
    expect(stableJson(a)).toBe(stableJson(b));
  });

  it.each<[string, unknown, unknown]>([
    ['a changed value', { url: 'http://a' }, { url: 'http://b' }],
    ['an array in another order', { to: ['a', 'b'] }, { to: ['b', 'a'] }],
    ['an added key', { a: 1 }, { a: 1, b: 0 }],
  ])('differs for %s', (_what, a, b) => {
    expect(stableJson(a)).not.toBe(stableJson(b));
  });
});
