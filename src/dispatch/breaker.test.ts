import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './breaker.js';

const T0 = Date.UTC(2024, 0, 1);

/** Threshold 3, a cool-down of 100 ms per failure so far (easy to check by hand). */
function breaker(): CircuitBreaker {
  return new CircuitBreaker({ threshold: 3, cooldownMs: (failures) => failures * 100 });
}

describe('CircuitBreaker', () => {
  it('starts closed, sending whole batches', () => {
    const b = breaker();
    expect(b.status(T0)).toEqual({ circuit: 'closed', pausedUntil: null, consecutiveFailures: 0 });
    expect(b.batchSize(500)).toBe(500);
    expect(b.pausedUntil).toBe(0);
  });

  it('stays closed below the threshold, counting the failed batches', () => {
    const b = breaker();
    b.failed(T0);
    b.failed(T0);
    expect(b.status(T0)).toEqual({ circuit: 'closed', pausedUntil: null, consecutiveFailures: 2 });
    expect(b.batchSize(500)).toBe(500);
  });

  it('opens at the threshold for the cool-down, then lets one probe through (half-open)', () => {
    const b = breaker();
    for (let i = 0; i < 3; i++) b.failed(T0);
    expect(b.pausedUntil).toBe(T0 + 300);
    expect(b.status(T0)).toEqual({ circuit: 'open', pausedUntil: new Date(T0 + 300).toISOString(), consecutiveFailures: 3 });
    expect(b.status(T0 + 300)).toMatchObject({ circuit: 'half-open', pausedUntil: null });
    expect(b.batchSize(500)).toBe(1);
  });

  it('a failed probe opens it again, for longer', () => {
    const b = breaker();
    for (let i = 0; i < 3; i++) b.failed(T0);
    b.failed(T0 + 300);
    expect(b.pausedUntil).toBe(T0 + 300 + 400);
    expect(b.status(T0 + 301)).toMatchObject({ circuit: 'open', consecutiveFailures: 4 });
  });

  it('a batch that gets through closes it and resets the count', () => {
    const b = breaker();
    for (let i = 0; i < 3; i++) b.failed(T0);
    b.succeeded();
    expect(b.status(T0 + 300)).toEqual({ circuit: 'closed', pausedUntil: null, consecutiveFailures: 0 });
    expect(b.batchSize(500)).toBe(500);
  });

  it("honours a Retry-After below the threshold: the whole destination waits, but the circuit is not half-open after", () => {
    const b = breaker();
    b.failed(T0, 1_000);
    expect(b.pausedUntil).toBe(T0 + 1_000);
    expect(b.status(T0)).toMatchObject({ circuit: 'open', consecutiveFailures: 1 });
    expect(b.status(T0 + 1_000)).toMatchObject({ circuit: 'closed' });
    expect(b.batchSize(500)).toBe(500);
  });

  it('never shortens a pause: the longer of Retry-After and cool-down wins', () => {
    const b = breaker();
    b.failed(T0, 5_000);
    b.failed(T0);
    b.failed(T0);
    expect(b.pausedUntil).toBe(T0 + 5_000);
  });
});
