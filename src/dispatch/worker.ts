/**
 * One destination's worker: takes due deliveries from the queue in batches, hands them to the
 * destination, and decides (alone) what each outcome means: done, retry later, dead letter,
 * or the destination disabled. Holds the destination's circuit breaker.
 */
import type { DeliveryOutcome, Destination } from '../destinations/types.js';
import { DestinationGoneError, RouterError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { redactText } from '../redact.js';
import { backoffMs, decideRetry, retryAfterOf, type RetryPolicyOptions } from '../retry/policy.js';
import { CircuitBreaker, type BreakerStatus } from './breaker.js';
import type { DeliveryQueue, QueuedDelivery } from './queue.js';
import { TokenBucket, pause, type RateLimit } from './rate-limit.js';
import { sleep } from '../sleep.js';

export interface WorkerDeps {
  queue: DeliveryQueue;
  logger: Logger;
  metrics: Metrics;
  /** How often an idle worker looks for work it was not told about (replays from the CLI). */
  pollMs: number;
  /** Consecutive failed batches that open the circuit. */
  breakerThreshold: number;
  random?: () => number;
  /** Told of what happens to deliveries (metrics, alerts, the message timeline); must not throw. */
  observers?: readonly DeliveryObserver[];
}

/**
 * What the dispatcher tells the rest of the router about its deliveries. Every method is
 * optional and must not throw; an observer that does is logged and ignored.
 */
export interface DeliveryObserver {
  /** A batch came back from the destination: each delivery's outcome, with the batch's latency. */
  batch?(destination: string, settled: readonly SettledDelivery[], latencyMs: number): void;
  /** A delivery was dead-lettered (retries exhausted, not retriable, or the destination disabled). */
  dead?(destination: string, delivery: QueuedDelivery, code: string, error: string): void;
  /** The destination was disabled (a webhook answered 410 Gone). */
  disabled?(destination: string, reason: string): void;
  /** The destination's circuit opened (true) or closed again (false). */
  circuit?(destination: string, open: boolean, consecutiveFailures: number): void;
}

/** One delivery of a batch and what became of it. */
export interface SettledDelivery {
  delivery: QueuedDelivery;
  /** delivered; retry (failed, tried again later); dead (dead-lettered); skipped (not attempted). */
  result: 'delivered' | 'retry' | 'dead' | 'skipped';
  /** The failure's code (`http_503`, `timeout`, ...), null when delivered. */
  code: string | null;
  /** The failure, secrets redacted; null when delivered. */
  error: string | null;
}

/** A destination that broke its contract (fewer outcomes than items): treat the rest as failed. */
const NO_OUTCOME: DeliveryOutcome = { kind: 'failed', error: new RouterError('the destination gave no outcome for this delivery', { code: 'no_outcome', retriable: true }) };

export class Worker {
  private busy = false;
  /** A batch is out at the destination. */
  private delivering = false;
  private again = false;
  private lingering = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private current: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private readonly breaker: CircuitBreaker;
  private readonly ref: string;
  /** The destination's outgoing rate limit; null: none. */
  private readonly bucket: TokenBucket | null;
  /** Ends a rate-limit wait when the worker stops, whether or not the batch in flight is aborted. */
  private readonly halt = new AbortController();

  constructor(
    private readonly dest: Destination,
    private readonly policy: RetryPolicyOptions,
    private readonly deps: WorkerDeps,
    rateLimit?: RateLimit,
  ) {
    this.ref = dest.ref;
    this.bucket = rateLimit ? new TokenBucket(rateLimit) : null;
    if (rateLimit) deps.metrics.define('rate_limited_seconds_total', 'Time workers waited for their destination\'s rate limit before a batch.', ['destination']);
    this.breaker = new CircuitBreaker({
      threshold: deps.breakerThreshold,
      cooldownMs: (failures) => probeAfterMs(policy, failures, deps.random),
    });
  }

  status(): BreakerStatus & { busy: boolean } {
    return { ...this.breaker.status(), busy: this.busy };
  }

  /** New work arrived: start after the destination's linger, so concurrent events share a batch. */
  nudge(): void {
    if (this.dest.lingerMs <= 0 || this.busy) return this.wake();
    if (this.lingering) return;
    this.lingering = true;
    setTimeout(() => {
      this.lingering = false;
      this.wake();
    }, this.dest.lingerMs).unref();
  }

  wake(): void {
    if (this.stopped) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.busy = true;
    this.current = this.run().finally(() => {
      this.busy = false;
      this.current = null;
    });
  }

  private schedule(at: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.max(0, Math.min(at - Date.now(), this.deps.pollMs));
    this.timer = setTimeout(() => this.wake(), delay);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    const { queue } = this.deps;
    try {
      for (;;) {
        this.again = false;
        if (this.stopped) return;
        const now = Date.now();
        if (now < this.breaker.pausedUntil) return this.schedule(this.breaker.pausedUntil);
        const disabled = queue.disabledDestinations().get(this.ref);
        const size = this.breaker.batchSize(this.dest.maxBatch);
        // Dead-lettering for a disabled destination sends nothing, so it takes no tokens.
        const batch = queue.due(this.ref, disabled ? size : await this.admitted(size));
        if (this.stopped) return;
        if (batch.length === 0) {
          if (this.again) continue;
          return this.schedule(queue.nextDueAt(this.ref) ?? now + this.deps.pollMs);
        }
        if (disabled) {
          for (const d of batch) this.dead(d, 'destination_disabled', `destination disabled: ${disabled.reason}`);
          continue;
        }
        this.bucket?.take(batch.length);
        this.deps.metrics.inc('dispatch_batches_total', { destination: this.ref });
        const started = performance.now();
        this.delivering = true;
        const outcomes = await this.dest.deliver(batch, this.abort.signal).finally(() => (this.delivering = false));
        if (this.stopped && this.abort.signal.aborted) return;
        // A batch that moved nothing (all skipped: a destination breaking its contract) must not spin.
        if (!this.settle(batch, outcomes, performance.now() - started)) return this.schedule(Date.now() + this.deps.pollMs);
      }
    } catch (err) {
      // The queue itself failed (disk); try again after a pause rather than spin.
      this.deps.logger.error('dispatcher error', { destination: this.ref, error: redactText(errorMessage(err)) });
      this.schedule(Date.now() + this.deps.pollMs);
    }
  }

  /**
   * How many deliveries the rate limit lets leave now, at most `size`. With no token left it
   * waits for one (a timer, not a loop; a stop ends the wait) while work is due; with nothing
   * due it answers 0, so the caller finds no batch and sleeps until work comes.
   */
  private async admitted(size: number): Promise<number> {
    const bucket = this.bucket;
    if (!bucket) return size;
    for (;;) {
      const tokens = bucket.available();
      if (tokens >= 1) return Math.min(size, tokens);
      if (this.stopped || this.deps.queue.due(this.ref, 1).length === 0) return 0;
      const ms = bucket.waitMs(1);
      this.deps.metrics.inc('rate_limited_seconds_total', { destination: this.ref }, ms / 1_000);
      await pause(ms, this.halt.signal);
    }
  }

  /**
   * Writes down what became of each delivery of a batch, then tells the breaker; false when
   * nothing was. Outcomes and the observers' records of them go to the queue as one write.
   */
  private settle(batch: readonly QueuedDelivery[], outcomes: readonly DeliveryOutcome[], latencyMs: number): boolean {
    const { queue } = this.deps;
    const work = () => this.record(batch, outcomes, latencyMs);
    return queue.atomically ? queue.atomically(work) : work();
  }

  private record(batch: readonly QueuedDelivery[], outcomes: readonly DeliveryOutcome[], latencyMs: number): boolean {
    const now = Date.now();
    const done: number[] = [];
    const settled: SettledDelivery[] = [];
    let failed = 0;
    let hinted = 0;
    batch.forEach((d, i) => {
      const o = outcomes[i] ?? NO_OUTCOME;
      switch (o.kind) {
        case 'delivered':
          done.push(d.id);
          settled.push({ delivery: d, result: 'delivered', code: null, error: null });
          return;
        case 'skipped':
          settled.push({ delivery: d, result: 'skipped', code: null, error: null });
          return;
        case 'failed': {
          failed++;
          const f = this.failed(d, o.error, now);
          hinted = Math.max(hinted, f.hinted);
          settled.push({ delivery: d, result: f.dead ? 'dead' : 'retry', code: o.error.code, error: f.message });
          return;
        }
        default:
          return assertNever(o);
      }
    });
    const wasOpen = this.breaker.status(now).circuit !== 'closed';
    if (done.length > 0) {
      this.deps.queue.markDone(done, latencyMs);
      this.deps.metrics.inc('deliveries_total', { destination: this.ref, outcome: 'done' }, done.length);
      this.breaker.succeeded();
    } else if (failed > 0) {
      this.breaker.failed(now, hinted);
    }
    this.tell((o) => o.batch?.(this.ref, settled, latencyMs));
    const status = this.breaker.status(now);
    if (wasOpen !== (status.circuit !== 'closed')) this.tell((o) => o.circuit?.(this.ref, !wasOpen, status.consecutiveFailures));
    return done.length + failed > 0;
  }

  /** Calls each observer; one that throws is logged, not allowed to stop the worker. */
  private tell(call: (o: DeliveryObserver) => void): void {
    for (const o of this.deps.observers ?? []) {
      try {
        call(o);
      } catch (err) {
        this.deps.logger.warn('delivery observer failed', { destination: this.ref, error: errorMessage(err) });
      }
    }
  }

  /**
   * The decision for one failed delivery: disable the destination (410 Gone), retry later, or
   * dead-letter. Returns whether it was dead-lettered, the redacted message, and the wait the
   * peer asked for when it is retried (0: none).
   */
  private failed(d: QueuedDelivery, err: RouterError, now: number): { dead: boolean; message: string; hinted: number } {
    const { queue, metrics, logger } = this.deps;
    // Destinations already keep secrets out of their messages; this catches one that does not.
    const message = redactText(err.message);
    if (err instanceof DestinationGoneError) {
      queue.disableDestination(this.ref, message);
      metrics.inc('destinations_disabled_total', { destination: this.ref });
      logger.error('destination disabled: it answered 410 Gone', { destination: this.ref, error: message });
      this.tell((o) => o.disabled?.(this.ref, message));
      this.dead(d, err.code, message);
      return { dead: true, message, hinted: 0 };
    }
    const decision = decideRetry(this.policy, { attempts: d.attempts + 1, firstAt: d.firstAt, now, error: err }, this.deps.random);
    if (!decision.retry) {
      const text = `${message} (${decision.reason})`;
      this.dead(d, err.code, text);
      return { dead: true, message: text, hinted: 0 };
    }
    queue.markRetry(d.id, decision.at, err.code, message);
    metrics.inc('deliveries_total', { destination: this.ref, outcome: 'retry' });
    logger.warn('delivery failed; will retry', { destination: this.ref, event_id: d.eventId, code: err.code, error: message, retry_at: new Date(decision.at).toISOString() });
    return { dead: false, message, hinted: retryAfterOf(err) ?? 0 };
  }

  private dead(d: QueuedDelivery, code: string, text: string): void {
    const message = redactText(text);
    this.deps.queue.markDead(d.id, code, message);
    this.deps.metrics.inc('deliveries_total', { destination: this.ref, outcome: 'dead' });
    this.deps.logger.error('delivery dead-lettered', { destination: this.ref, event_id: d.eventId, code, error: message });
    this.tell((o) => o.dead?.(this.ref, d, code, message));
  }

  /** Resolves when nothing is due for this destination (or at the deadline). */
  async drain(deadline: number): Promise<void> {
    while (Date.now() < deadline && !this.stopped) {
      if (this.current) {
        await Promise.race([this.current, sleep(Math.max(0, deadline - Date.now()), { unref: true })]);
        continue;
      }
      const paused = Date.now() < this.breaker.pausedUntil;
      const disabled = this.deps.queue.disabledDestinations().has(this.ref);
      if (paused || disabled || this.deps.queue.due(this.ref, 1).length === 0) return;
      this.wake();
    }
  }

  /**
   * Stops; with `abort: false` a batch out at the destination finishes and is written down first
   * (a reload replacing the destination), while a wait (the rate limit) still ends at once.
   */
  async stop({ abort = true }: { abort?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.halt.abort();
    if (this.timer) clearTimeout(this.timer);
    if (abort || !this.delivering) this.abort.abort();
    await this.current?.catch(() => undefined);
  }
}

/** The compiler's check that every outcome kind is handled above. */
function assertNever(x: never): never {
  throw new Error(`unhandled delivery outcome: ${JSON.stringify(x)}`);
}

/**
 * A paused destination is probed (one delivery) at least every PROBE_EVERY_MS, however long it
 * has been failing: a probe is one request, and a destination that comes back then gets its
 * backlog within seconds. Growing with the retry policy's backoff alone, the pause reached
 * minutes after a long outage (up to maxDelayMs, 5 min by default, jittered), and the backlog
 * waited that long after Kafka was back (issue 11's outage drain). A Retry-After still pauses
 * the destination as long as it asks (breaker.ts), a policy's initialDelayMs longer than this is
 * kept, and each delivery keeps its own backoff.
 */
export const PROBE_EVERY_MS = 5_000;

/** How long the circuit stays open after `failures` failed batches in a row. */
export function probeAfterMs(policy: RetryPolicyOptions, failures: number, random: () => number = Math.random): number {
  return Math.max(policy.initialDelayMs, Math.min(PROBE_EVERY_MS, backoffMs(policy, failures, random)));
}

