/**
 * A latency histogram with log-spaced buckets 1 % wide (as HdrHistogram does, without its
 * dependency): constant memory however long the run, percentiles within 1 % of the true value.
 */

/** Bucket i covers [GROWTH^i, GROWTH^(i+1)) microseconds. */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** 1 µs to about 10 minutes. */
const BUCKETS = Math.ceil(Math.log(600e6) / LOG_GROWTH) + 1;

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private sumMs = 0;
  private maxMs = 0;

  /** @example h.record(performance.now() - startedAt) */
  record(ms: number): void {
    const us = Math.max(1, ms * 1000);
    this.counts[Math.min(BUCKETS - 1, Math.floor(Math.log(us) / LOG_GROWTH))]! += 1;
    this.total++;
    this.sumMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  get count(): number {
    return this.total;
  }

  /**
   * The value at percentile p (0..100): the middle of the bucket holding the p-th observation,
   * never above the largest one recorded; 0 when empty.
   * @example h.percentile(99) // ms
   */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.maxMs, (GROWTH ** i * (1 + GROWTH)) / 2 / 1000);
    }
    return this.maxMs;
  }

  summary(): LatencySummary {
    const round = (ms: number) => Math.round(ms * 1000) / 1000;
    return {
      count: this.total,
      meanMs: round(this.total ? this.sumMs / this.total : 0),
      p50Ms: round(this.percentile(50)),
      p90Ms: round(this.percentile(90)),
      p99Ms: round(this.percentile(99)),
      p999Ms: round(this.percentile(99.9)),
      maxMs: round(this.maxMs),
    };
  }
}
