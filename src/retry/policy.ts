/**
 * The one retry policy every destination shares: exponential backoff with full jitter, a cap
 * on attempts and on age, Retry-After honoured. Destinations may override any field.
 * Shared vocabulary: the config compiler resolves it, destinations report in its terms
 * (`HttpStatusError`), the dispatcher decides with it. So it sits below all three.
 */
import { z } from 'zod';
import { RouterError, RetriableError } from '../errors.js';

export interface RetryPolicyOptions {
  /** First backoff ceiling; the actual wait is a random share of it (full jitter). */
  initialDelayMs: number;
  /** Largest backoff ceiling. */
  maxDelayMs: number;
  multiplier: number;
  /** Attempts before a delivery becomes a dead letter. */
  maxAttempts: number;
  /** Age (since the event was accepted) after which a delivery is not retried again. */
  maxAgeMs: number;
  /** HTTP statuses that are retried; any other non-2xx is permanent. */
  retryStatuses: readonly (number | '5xx')[];
}

export const DEFAULT_RETRY_POLICY: RetryPolicyOptions = {
  initialDelayMs: 1_000,
  maxDelayMs: 5 * 60_000,
  multiplier: 2,
  maxAttempts: 25,
  maxAgeMs: 72 * 3_600_000,
  retryStatuses: [408, 429, '5xx'],
};

/** The zod schema of a policy or of a destination's overrides in routes.config.ts: any subset of the fields. */
export const retryOverridesSchema = z
  .object({
    initialDelayMs: z.number().int().nonnegative(),
    maxDelayMs: z.number().int().nonnegative(),
    multiplier: z.number().min(1),
    maxAttempts: z.number().int().min(1),
    maxAgeMs: z.number().int().positive(),
    retryStatuses: z.array(z.union([z.number().int().min(100).max(599), z.literal('5xx')])),
  })
  .partial()
  .strict();

/**
 * A peer answered a non-2xx HTTP status. The destination only reports it: whether the status
 * is worth another try is the policy's call (`retryStatuses`, which each destination may
 * override), made by `decideRetry`. `retriable` says what the default policy would do.
 * @example new HttpStatusError('POST https://crm.example/sms answered 503', 503, 2_000)
 */
export class HttpStatusError extends RouterError {
  constructor(
    message: string,
    readonly status: number,
    /** The peer's Retry-After, in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message, { code: `http_${status}`, retriable: isRetriableStatus(DEFAULT_RETRY_POLICY, status) });
  }
}

/**
 * The wait a failure asked for (a Retry-After), if any.
 * @example retryAfterOf(new RetriableError('busy', 'http_429', { retryAfterMs: 1_000 })) === 1_000
 */
export function retryAfterOf(error: unknown): number | undefined {
  return error instanceof RetriableError || error instanceof HttpStatusError ? error.retryAfterMs : undefined;
}

/** @example resolvePolicy(config.retry, topic.retry).maxAttempts */
export function resolvePolicy(...layers: (Partial<RetryPolicyOptions> | undefined)[]): RetryPolicyOptions {
  return Object.assign({}, DEFAULT_RETRY_POLICY, ...layers.filter(Boolean));
}

/** @example isRetriableStatus(DEFAULT_RETRY_POLICY, 503) === true */
export function isRetriableStatus(policy: RetryPolicyOptions, status: number): boolean {
  return policy.retryStatuses.some((s) => (s === '5xx' ? status >= 500 && status <= 599 : s === status));
}

/** Backoff before attempt `attempt + 1`, given `attempt` failures so far (1-based). */
export function backoffMs(policy: RetryPolicyOptions, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

export type RetryDecision = { retry: true; at: number } | { retry: false; reason: string };

/**
 * What to do after a failed attempt.
 * @example decideRetry(policy, { attempts: 1, firstAt: t0, now: t0, error })
 */
export function decideRetry(
  policy: RetryPolicyOptions,
  s: { attempts: number; firstAt: number; now: number; error: unknown },
  random: () => number = Math.random,
): RetryDecision {
  const retriable =
    s.error instanceof HttpStatusError ? isRetriableStatus(policy, s.error.status) : s.error instanceof RouterError ? s.error.retriable : true;
  if (!retriable) return { retry: false, reason: 'permanent' };
  if (s.attempts >= policy.maxAttempts) return { retry: false, reason: 'max_attempts' };
  const hinted = retryAfterOf(s.error);
  const wait = hinted !== undefined ? hinted : backoffMs(policy, s.attempts, random);
  const at = s.now + wait;
  if (at - s.firstAt > policy.maxAgeMs) return { retry: false, reason: 'max_age' };
  return { retry: true, at };
}

/**
 * Retry-After in seconds or as an HTTP date, to ms from `now`; undefined when absent or bad.
 * @example parseRetryAfter('2') === 2000
 */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const t = header.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  // Only an HTTP-date (RFC 9110: "Wed, 21 Oct 2015 07:28:00 GMT"); Date.parse takes almost anything.
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(t)) return undefined;
  const date = Date.parse(t);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
