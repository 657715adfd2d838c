/**
 * A destination's circuit breaker: after `threshold` batches in a row that failed outright,
 * the destination is left alone for a cool-down, then probed with one delivery (half-open);
 * one that gets through closes it again. A Retry-After pauses the destination even before
 * the threshold: the peer asked for the wait.
 */

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failed batches that open the circuit. */
  threshold: number;
  /** How long the circuit stays open after `consecutiveFailures` failed batches. */
  cooldownMs(consecutiveFailures: number): number;
}

export interface BreakerStatus {
  circuit: CircuitState;
  /** ISO time the pause ends, or null when not paused. */
  pausedUntil: string | null;
  consecutiveFailures: number;
}

export class CircuitBreaker {
  private failures = 0;
  private until = 0;
  private probing = false;

  constructor(private readonly opts: BreakerOptions) {}

  /** Ms epoch before which nothing should be sent (0 or past: send). */
  get pausedUntil(): number {
    return this.until;
  }

  /**
   * How many deliveries the next batch may hold: one probe while half-open.
   * @example breaker.batchSize(dest.maxBatch)
   */
  batchSize(max: number): number {
    return this.probing ? 1 : max;
  }

  /** A batch of which at least one delivery got through. */
  succeeded(): void {
    this.failures = 0;
    this.probing = false;
  }

  /**
   * A batch in which every attempted delivery failed.
   * @param retryAfterMs the longest wait the peer asked for (0: none)
   */
  failed(now: number, retryAfterMs = 0): void {
    this.failures++;
    if (retryAfterMs > 0) this.until = Math.max(this.until, now + retryAfterMs);
    if (this.failures >= this.opts.threshold) {
      this.until = Math.max(this.until, now + this.opts.cooldownMs(this.failures));
      this.probing = true;
    }
  }

  status(now = Date.now()): BreakerStatus {
    const open = this.until > now;
    return {
      circuit: open ? 'open' : this.probing ? 'half-open' : 'closed',
      pausedUntil: open ? new Date(this.until).toISOString() : null,
      consecutiveFailures: this.failures,
    };
  }
}
