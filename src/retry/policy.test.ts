import { describe, expect, it } from 'vitest';
import { DestinationGoneError, NonRetriableError, RetriableError, StoreUnavailableError } from '../errors.js';
import {
  DEFAULT_RETRY_POLICY,
  backoffMs,
  HttpStatusError,
  decideRetry,
  isRetriableStatus,
  parseRetryAfter,
  resolvePolicy,
  retryAfterOf,
  retryOverridesSchema,
  type RetryPolicyOptions,
} from './policy.js';

/** Small numbers so each case is easy to check by hand. */
const POLICY: RetryPolicyOptions = resolvePolicy({
  initialDelayMs: 100,
  maxDelayMs: 1_000,
  multiplier: 2,
  maxAttempts: 5,
  maxAgeMs: 10_000,
});
const T0 = Date.UTC(2024, 0, 1);
const always = (x: number) => () => x;

describe('resolvePolicy', () => {
  it('is the default policy with no layers', () => {
    expect(resolvePolicy()).toEqual(DEFAULT_RETRY_POLICY);
  });

  it('applies layers left to right, skipping undefined ones', () => {
    expect(resolvePolicy({ maxAttempts: 3 }, undefined, { maxAttempts: 7, initialDelayMs: 5 })).toEqual({
      ...DEFAULT_RETRY_POLICY,
      maxAttempts: 7,
      initialDelayMs: 5,
    });
  });

  it('does not change the defaults', () => {
    resolvePolicy({ maxAttempts: 1 });
    expect(DEFAULT_RETRY_POLICY.maxAttempts).toBe(25);
  });
});

describe('backoffMs (full jitter)', () => {
  it('waits 0 when the random draw is 0', () => {
    for (const attempt of [1, 2, 3, 10]) expect(backoffMs(POLICY, attempt, always(0))).toBe(0);
  });

  it.each([
    // attempt, ceiling: initial x multiplier^(attempt-1), capped at maxDelayMs
    [1, 100],
    [2, 200],
    [3, 400],
    [4, 800],
    [5, 1_000],
    [6, 1_000],
    [50, 1_000],
  ])('after %i failure(s) the ceiling is %i ms: a draw of 0.999 waits just under it', (attempt, ceiling) => {
    const wait = backoffMs(POLICY, attempt, always(0.999));
    expect(wait).toBe(Math.floor(0.999 * ceiling));
    expect(wait).toBeLessThan(ceiling);
  });

  it('a draw of 0.5 waits half the ceiling', () => {
    expect(backoffMs(POLICY, 3, always(0.5))).toBe(200);
  });

  it('treats attempt 0 like attempt 1', () => {
    expect(backoffMs(POLICY, 0, always(0.5))).toBe(50);
  });

  it('follows the multiplier', () => {
    const triple = { ...POLICY, multiplier: 3, maxDelayMs: 100_000 };
    expect([1, 2, 3].map((a) => backoffMs(triple, a, always(0.5)))).toEqual([50, 150, 450]);
  });

  it('with the default policy: 1 s first, capped at 5 minutes', () => {
    expect(backoffMs(DEFAULT_RETRY_POLICY, 1, always(0.999))).toBe(999);
    expect(backoffMs(DEFAULT_RETRY_POLICY, 25, always(0.999))).toBe(Math.floor(0.999 * 300_000));
  });

  it('stays within [0, ceiling) with the real random source', () => {
    for (let i = 0; i < 200; i++) {
      const wait = backoffMs(POLICY, 3);
      expect(wait).toBeGreaterThanOrEqual(0);
      expect(wait).toBeLessThan(400);
      expect(Number.isInteger(wait)).toBe(true);
    }
  });
});

describe('decideRetry', () => {
  const transient = new RetriableError('webhook answered 503', 'http_503');

  it('retries a passing failure after the backoff', () => {
    expect(decideRetry(POLICY, { attempts: 2, firstAt: T0, now: T0 + 500, error: transient }, always(0.5))).toEqual({
      retry: true,
      at: T0 + 500 + 100,
    });
  });

  it('retries an error that is not a RouterError (unknown failures are assumed passing)', () => {
    expect(decideRetry(POLICY, { attempts: 1, firstAt: T0, now: T0, error: new Error('ECONNRESET') }, always(0))).toEqual({
      retry: true,
      at: T0,
    });
  });

  it.each([
    ['NonRetriableError', new NonRetriableError('webhook answered 400', 'http_400')],
    ['DestinationGoneError (410)', new DestinationGoneError('webhook answered 410')],
  ])('never retries a permanent failure: %s', (_what, error) => {
    expect(decideRetry(POLICY, { attempts: 1, firstAt: T0, now: T0, error })).toEqual({ retry: false, reason: 'permanent' });
  });

  it('retries a retriable RouterError such as StoreUnavailableError', () => {
    const error = new StoreUnavailableError('disk full');
    expect(decideRetry(POLICY, { attempts: 1, firstAt: T0, now: T0, error }, always(0)).retry).toBe(true);
  });

  it('gives up once maxAttempts attempts have failed', () => {
    expect(decideRetry(POLICY, { attempts: 4, firstAt: T0, now: T0, error: transient }).retry).toBe(true);
    expect(decideRetry(POLICY, { attempts: 5, firstAt: T0, now: T0, error: transient })).toEqual({
      retry: false,
      reason: 'max_attempts',
    });
    expect(decideRetry(POLICY, { attempts: 6, firstAt: T0, now: T0, error: transient })).toEqual({
      retry: false,
      reason: 'max_attempts',
    });
  });

  it('a permanent failure is reported as permanent even at the attempt limit', () => {
    const error = new NonRetriableError('bad payload', 'bad_payload');
    expect(decideRetry(POLICY, { attempts: 5, firstAt: T0, now: T0, error })).toEqual({ retry: false, reason: 'permanent' });
  });

  it('gives up when the next attempt would come after maxAgeMs', () => {
    // ceiling after 2 failures is 200; a draw of 0.5 waits 100.
    const s = { attempts: 2, firstAt: T0, error: transient };
    expect(decideRetry(POLICY, { ...s, now: T0 + 9_900 }, always(0.5))).toEqual({ retry: true, at: T0 + 10_000 });
    expect(decideRetry(POLICY, { ...s, now: T0 + 9_901 }, always(0.5))).toEqual({ retry: false, reason: 'max_age' });
  });

  describe('a Retry-After hint (RetriableError.retryAfterMs)', () => {
    it('is used exactly instead of the backoff', () => {
      const error = new RetriableError('429', 'http_429', { retryAfterMs: 7_000 });
      expect(decideRetry(POLICY, { attempts: 1, firstAt: T0, now: T0 + 5, error }, always(0.999))).toEqual({
        retry: true,
        at: T0 + 5 + 7_000,
      });
    });

    it('is used even when longer than maxDelayMs', () => {
      const error = new RetriableError('503', 'http_503', { retryAfterMs: 5_000 });
      expect(decideRetry(POLICY, { attempts: 1, firstAt: T0, now: T0, error })).toEqual({ retry: true, at: T0 + 5_000 });
    });

    it('of 0 means right away', () => {
      const error = new RetriableError('503', 'http_503', { retryAfterMs: 0 });
      expect(decideRetry(POLICY, { attempts: 1, firstAt: T0, now: T0, error }, always(0.999))).toEqual({ retry: true, at: T0 });
    });

    it('past maxAgeMs gives up', () => {
      const error = new RetriableError('503', 'http_503', { retryAfterMs: 60_000 });
      expect(decideRetry(POLICY, { attempts: 1, firstAt: T0, now: T0, error })).toEqual({ retry: false, reason: 'max_age' });
    });
  });
});

describe('decideRetry on an HTTP status a destination reported (HttpStatusError)', () => {
  it.each([
    [503, true],
    [429, true],
    [408, true],
    [400, false],
    [404, false],
  ])('with the default statuses, %i is retried: %s', (status, retried) => {
    const error = new HttpStatusError(`answered ${status}`, status);
    expect(decideRetry(POLICY, { attempts: 1, firstAt: T0, now: T0, error }, always(0)).retry).toBe(retried);
    expect(error.code).toBe(`http_${status}`);
  });

  it("follows the destination's own retryStatuses, not the default", () => {
    const policy = resolvePolicy(POLICY, { retryStatuses: [409] });
    const at = (status: number) => decideRetry(policy, { attempts: 1, firstAt: T0, now: T0, error: new HttpStatusError('x', status) }, always(0));
    expect(at(409)).toEqual({ retry: true, at: T0 });
    expect(at(503)).toEqual({ retry: false, reason: 'permanent' });
  });

  it('waits exactly the Retry-After the peer sent', () => {
    const error = new HttpStatusError('answered 503', 503, 1_500);
    expect(decideRetry(POLICY, { attempts: 1, firstAt: T0, now: T0, error }, always(0.99))).toEqual({ retry: true, at: T0 + 1_500 });
  });
});

describe('retryAfterOf', () => {
  it('reads the hint of a RetriableError or an HttpStatusError, and nothing else', () => {
    expect(retryAfterOf(new RetriableError('busy', 'http_429', { retryAfterMs: 1_000 }))).toBe(1_000);
    expect(retryAfterOf(new HttpStatusError('busy', 503, 2_000))).toBe(2_000);
    expect(retryAfterOf(new HttpStatusError('busy', 503))).toBeUndefined();
    expect(retryAfterOf(new NonRetriableError('bad', 'http_400'))).toBeUndefined();
    expect(retryAfterOf(new Error('x'))).toBeUndefined();
  });
});

describe('retryOverridesSchema', () => {
  it('accepts any subset of the fields and refuses unknown ones', () => {
    expect(retryOverridesSchema.parse({ maxAttempts: 3 })).toEqual({ maxAttempts: 3 });
    expect(retryOverridesSchema.safeParse({ maxAttempt: 3 }).success).toBe(false);
    expect(retryOverridesSchema.safeParse({ retryStatuses: [503, '5xx'] }).success).toBe(true);
    expect(retryOverridesSchema.safeParse({ retryStatuses: ['4xx'] }).success).toBe(false);
  });
});

describe('isRetriableStatus', () => {
  it.each([
    [408, true],
    [429, true],
    [500, true],
    [502, true],
    [503, true],
    [504, true],
    [599, true],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [410, false],
    [422, false],
    [301, false],
    [600, false],
  ])('with the default policy, %i is retried: %s', (status, retried) => {
    expect(isRetriableStatus(DEFAULT_RETRY_POLICY, status)).toBe(retried);
  });

  it('follows a custom list', () => {
    const policy = resolvePolicy({ retryStatuses: [503, 409] });
    expect([503, 409, 500, 429, 408].map((s) => isRetriableStatus(policy, s))).toEqual([true, true, false, false, false]);
  });

  it('an empty list retries nothing', () => {
    expect(isRetriableStatus(resolvePolicy({ retryStatuses: [] }), 503)).toBe(false);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['120', 120_000],
    ['0', 0],
    ['1.5', 1_500],
    [' 2 ', 2_000],
  ])('seconds %j is %i ms', (header, ms) => {
    expect(parseRetryAfter(header, T0)).toBe(ms);
  });

  it('an HTTP date is the time until then', () => {
    expect(parseRetryAfter(new Date(T0 + 30_000).toUTCString(), T0)).toBe(30_000);
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:01:00 GMT', T0)).toBe(60_000);
  });

  it('an HTTP date in the past is 0', () => {
    expect(parseRetryAfter('Sun, 31 Dec 2023 23:59:00 GMT', T0)).toBe(0);
  });

  it.each([[null], [''], ['   '], ['soon'], ['12abc'], ['5 minutes']])('%j is undefined', (header) => {
    expect(parseRetryAfter(header, T0)).toBeUndefined();
  });

  it.each([['-5'], ['abc 12'], ['1 2'], ['Foo 2024']])('garbage %j is undefined, not 0', (header) => {
    expect(parseRetryAfter(header, T0)).toBeUndefined();
  });
});
