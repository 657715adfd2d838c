import { describe, expect, it } from 'vitest';
import { acceptToAckBuckets, parseMetrics, quantileBetween } from '../metrics.js';
import { Histogram } from './histogram.js';

describe('Histogram', () => {
  it('gives percentiles within 1 % of the exact ones', () => {
    const h = new Histogram();
    for (let ms = 1; ms <= 1000; ms++) h.record(ms);
    expect(h.percentile(50)).toBeGreaterThan(500 * 0.99);
    expect(h.percentile(50)).toBeLessThan(500 * 1.01);
    expect(h.percentile(99)).toBeGreaterThan(990 * 0.99);
    expect(h.percentile(99)).toBeLessThan(990 * 1.01);
    expect(h.summary()).toMatchObject({ count: 1000, maxMs: 1000, meanMs: 500.5 });
  });

  it('never answers above the largest value recorded, and 0 when empty', () => {
    const h = new Histogram();
    expect(h.percentile(99)).toBe(0);
    h.record(0.0001);
    h.record(7);
    expect(h.percentile(100)).toBeLessThanOrEqual(7);
    expect(h.percentile(100)).toBeGreaterThan(7 * 0.99);
    expect(h.percentile(1)).toBeLessThan(0.002);
  });
});

describe('quantileBetween', () => {
  const scrape = (counts: number[]) =>
    acceptToAckBuckets(
      parseMetrics(
        ['0.1', '0.25', '+Inf']
          .map((le, i) => `kcr_accept_to_delivered_seconds_bucket{destination="kafka:events",le="${le}"} ${counts[i]}`)
          .concat('kcr_accept_to_delivered_seconds_bucket{destination="webhook:alerts",le="0.1"} 999')
          .join('\n'),
      ),
    );

  it('reads the observations made between two scrapes, interpolated in their bucket, Kafka destinations only', () => {
    // Before: 100 fast. Between: 50 more under 0.1 s and 50 in (0.1, 0.25].
    expect(quantileBetween(scrape([100, 100, 100]), scrape([150, 200, 200]), 0.99)).toBeCloseTo(0.1 + 0.15 * (49 / 50));
    expect(quantileBetween(scrape([100, 100, 100]), scrape([150, 200, 200]), 0.5)).toBeCloseTo(0.1);
  });

  it('is null when nothing was observed, and the last bound past it', () => {
    expect(quantileBetween(scrape([5, 5, 5]), scrape([5, 5, 5]), 0.99)).toBeNull();
    expect(quantileBetween(scrape([0, 0, 0]), scrape([0, 0, 10]), 0.99)).toBe(0.25);
  });
});
