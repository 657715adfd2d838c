import { describe, expect, it } from 'vitest';
import { alertKey } from './alert.js';
import { Throttle } from './throttle.js';

const MINUTE = 60_000;

describe('the alert throttle', () => {
  it('sends the first alert of a key at once and holds the next ones until the window ends', () => {
    const t = new Throttle<string>(MINUTE);
    expect(t.offer('dead webhook:crm', 'first', 0)).toEqual({ item: 'first', suppressed: 0 });
    expect(t.offer('dead webhook:crm', 'second', 10_000)).toBeNull();
    expect(t.offer('dead webhook:crm', 'third', 20_000)).toBeNull();
    expect(t.nextReleaseAt()).toBe(MINUTE);
    expect(t.release(MINUTE - 1)).toEqual([]);
    // The latest stands for the rest: one more alert, saying one other was folded into it.
    expect(t.release(MINUTE)).toEqual([{ item: 'third', suppressed: 1 }]);
    expect(t.nextReleaseAt()).toBeNull();
  });

  it('keeps keys apart: one destination flapping does not hold another one\'s alerts', () => {
    const t = new Throttle<string>(MINUTE);
    expect(t.offer('destination.circuit webhook:a', 'a opened', 0)).not.toBeNull();
    expect(t.offer('destination.circuit webhook:b', 'b opened', 1)).not.toBeNull();
    expect(t.offer('destination.circuit webhook:a', 'a closed', 2)).toBeNull();
  });

  it('counts an alert and its all-clear as one stream, so a flapping circuit sends at most one per window', () => {
    const t = new Throttle<string>(MINUTE);
    const key = (type: 'destination.circuit_opened' | 'destination.circuit_closed') => alertKey({ type, destination: 'webhook:crm' });
    expect(key('destination.circuit_opened')).toBe(key('destination.circuit_closed'));
    let sent = 0;
    for (let s = 0; s < 10 * 60; s += 5) {
      if (t.offer(key(s % 10 === 0 ? 'destination.circuit_opened' : 'destination.circuit_closed'), `change at ${s}s`, s * 1000)) sent++;
      sent += t.release(s * 1000).length;
    }
    // Ten minutes of a change every 5 s: about one alert a minute, not 120.
    expect(sent).toBeLessThanOrEqual(11);
    expect(sent).toBeGreaterThanOrEqual(9);
  });

  it('sends at once after a quiet window, folding in anything still held', () => {
    const t = new Throttle<string>(MINUTE);
    t.offer('k', 'a', 0);
    t.offer('k', 'b', 1_000);
    expect(t.offer('k', 'c', 2 * MINUTE)).toEqual({ item: 'c', suppressed: 1 });
    expect(t.release(3 * MINUTE)).toEqual([]);
  });

  it('forgets keys that went quiet, so memory does not grow with every destination ever alerted', () => {
    const t = new Throttle<string>(MINUTE);
    for (let i = 0; i < 1_000; i++) t.offer(`k${i}`, 'x', 0);
    t.release(MINUTE);
    expect(t.offer('k1', 'again', MINUTE + 1)).toEqual({ item: 'again', suppressed: 0 });
    expect((t as unknown as { keys: Map<string, unknown> }).keys.size).toBe(1);
  });

  it('takes a new window from a reloaded config', () => {
    const t = new Throttle<string>(MINUTE);
    t.offer('k', 'a', 0);
    t.windowMs = 1_000;
    expect(t.offer('k', 'b', 1_000)).toEqual({ item: 'b', suppressed: 0 });
  });
});
