/**
 * A destination's outgoing rate limit, as a token bucket: tokens refill at `perSecond` up to
 * `burst`, and the worker takes one per delivery before it hands a batch over. A replay or a
 * backfill of thousands of deliveries then reaches the receiver no faster than its limit.
 */
import { z } from 'zod';

/** The limit as written in routes.config.ts, on a webhook or a Kafka topic. */
export interface RateLimitOptions {
  /** Deliveries per second, on average; fractions allowed (0.5: one every two seconds). */
  perSecond: number;
  /**
   * Deliveries that may leave at once after a quiet spell; default one second's worth
   * (`perSecond` rounded up, at least 1). Lower it to smooth the flow; it must cover what a
   * batch's round trip lets accrue, or the destination gets less than `perSecond`.
   */
  burst?: number;
}

/** The limit resolved: the burst filled in. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

const MAX_RATE = 1_000_000;

/** The check of a `rateLimit` field, used by each destination kind's config schema. */
export const rateLimitSchema = z
  .object({
    perSecond: z
      .number({ error: 'must be a number of deliveries per second' })
      .positive('must be more than 0')
      .max(MAX_RATE, `must be at most ${MAX_RATE}`),
    burst: z
      .number({ error: 'must be a whole number of deliveries' })
      .int('must be a whole number of deliveries')
      .min(1, 'must be at least 1')
      .max(MAX_RATE, `must be at most ${MAX_RATE}`)
      .optional(),
  })
  .strict();

/**
 * The limit with its default burst (one second's worth, at least 1).
 * @example resolveRateLimit({ perSecond: 2.5 }) // { perSecond: 2.5, burst: 3 }
 */
export function resolveRateLimit(o: RateLimitOptions): RateLimit {
  return { perSecond: o.perSecond, burst: o.burst ?? Math.max(1, Math.ceil(o.perSecond)) };
}

/** Rounding slack: a token refilled to 0.9999999 after waiting its exact time counts as one. */
const EPSILON = 1e-9;

/**
 * A token bucket on an injectable clock (ms). It starts full. Taking more than is there is
 * allowed and leaves a debt the refill pays first, so a caller that must send cannot cheat it.
 * @example
 * const bucket = new TokenBucket({ perSecond: 20, burst: 20 });
 * const n = Math.min(batchSize, bucket.available());
 * if (n === 0) await sleep(bucket.waitMs(1));
 * else bucket.take(n);
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = limit.burst;
    this.at = now();
  }

  /** Whole tokens there now: how many deliveries may leave at once. */
  available(): number {
    this.refill();
    return Math.max(0, Math.floor(this.tokens + EPSILON));
  }

  /** Takes `n` tokens (one per delivery handed over). */
  take(n: number): void {
    this.refill();
    this.tokens -= n;
  }

  /** How long until `n` tokens are there (0: now). More than the burst waits for a full bucket. */
  waitMs(n = 1): number {
    this.refill();
    const deficit = Math.min(n, this.limit.burst) - this.tokens;
    return deficit <= EPSILON ? 0 : Math.ceil((deficit * 1_000) / this.limit.perSecond);
  }

  private refill(): void {
    const t = this.now();
    // A clock that steps back refills nothing, rather than draining the bucket.
    if (t <= this.at) return;
    this.tokens = Math.min(this.limit.burst, this.tokens + ((t - this.at) * this.limit.perSecond) / 1_000);
    this.at = t;
  }
}

/**
 * Resolves after `ms`, or at once when `signal` aborts (a worker that is stopped stops waiting).
 * The timer does not keep the process alive on its own.
 * @example await pause(bucket.waitMs(1), abort.signal)
 */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
  });
}
