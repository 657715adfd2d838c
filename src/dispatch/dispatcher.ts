/**
 * Delivers pending deliveries from the spool, one worker per destination, so a failing
 * destination holds up no other. Marks a delivery done only on the destination's ack.
 * Each worker caps its concurrency (the destination's batch size) and has a circuit breaker.
 */
import type { Destination, DestinationSet } from '../destinations/index.js';
import { DestinationGoneError, RetriableError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { redactText } from '../redact.js';
import type { PendingDelivery, Spool } from '../spool/spool.js';
import { backoffMs, decideRetry, type RetryPolicyOptions } from './retry.js';

export interface DispatcherOptions {
  spool: Spool;
  destinations: DestinationSet;
  logger: Logger;
  metrics: Metrics;
  /** How often an idle worker looks for work it was not told about (replays from the CLI). */
  pollMs?: number;
  /** Consecutive failed batches that open a destination's circuit. */
  breakerThreshold?: number;
  random?: () => number;
}

export class Dispatcher {
  private readonly workers = new Map<string, Worker>();
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly opts: DispatcherOptions) {
    for (const [ref, dest] of opts.destinations.destinations) {
      this.workers.set(ref, new Worker(dest, opts.destinations.policies.get(ref)!, opts));
    }
  }

  start(): void {
    this.unsubscribe = this.opts.spool.onCommit((refs) => {
      for (const ref of refs) this.workers.get(ref)?.nudge();
    });
    const disabled = this.opts.spool.disabledDestinations();
    for (const [ref, w] of this.workers) {
      if (disabled.has(ref)) this.opts.logger.warn('destination is disabled', { destination: ref, ...disabled.get(ref) });
      w.wake();
    }
    const orphans = this.opts.spool.pendingDestinations().filter((d) => !this.workers.has(d));
    if (orphans.length > 0) {
      this.opts.logger.warn('pending deliveries for destinations no longer in the config; they wait until it names them again', { destinations: orphans });
    }
  }

  /** Wakes every worker now (after a replay through the admin API, say). */
  wakeAll(): void {
    for (const w of this.workers.values()) w.wake();
  }

  /** Circuit and activity per destination, for /readyz and the admin API. */
  status(): Record<string, { circuit: 'closed' | 'open' | 'half-open'; pausedUntil: string | null; consecutiveFailures: number; busy: boolean }> {
    return Object.fromEntries([...this.workers].map(([ref, w]) => [ref, w.status()]));
  }

  /**
   * Keeps delivering until nothing is due or the deadline passes, then stops the workers
   * (aborting what is still in flight, which stays pending on disk).
   */
  async stop(deadlineMs = 10_000): Promise<void> {
    this.unsubscribe?.();
    const deadline = Date.now() + deadlineMs;
    const workers = [...this.workers.values()];
    await Promise.all(workers.map((w) => w.drain(deadline)));
    await Promise.all(workers.map((w) => w.stop()));
  }
}

class Worker {
  private busy = false;
  private again = false;
  private lingering = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private current: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private failures = 0;
  private pausedUntil = 0;
  private halfOpen = false;
  private readonly ref: string;
  private readonly pollMs: number;
  private readonly threshold: number;

  constructor(
    private readonly dest: Destination,
    private readonly policy: RetryPolicyOptions,
    private readonly opts: DispatcherOptions,
  ) {
    this.ref = dest.ref;
    this.pollMs = opts.pollMs ?? 1_000;
    this.threshold = opts.breakerThreshold ?? 3;
  }

  status() {
    const open = this.pausedUntil > Date.now();
    return {
      circuit: open ? ('open' as const) : this.halfOpen ? ('half-open' as const) : ('closed' as const),
      pausedUntil: open ? new Date(this.pausedUntil).toISOString() : null,
      consecutiveFailures: this.failures,
      busy: this.busy,
    };
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
    const delay = Math.max(0, Math.min(at - Date.now(), this.pollMs));
    this.timer = setTimeout(() => this.wake(), delay);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    const { spool, logger } = this.opts;
    try {
      for (;;) {
        this.again = false;
        if (this.stopped) return;
        const now = Date.now();
        if (now < this.pausedUntil) return this.schedule(this.pausedUntil);
        const disabled = spool.disabledDestinations().get(this.ref);
        const batch = spool.due(this.ref, this.halfOpen ? 1 : this.dest.maxBatch);
        if (batch.length === 0) {
          if (this.again) continue;
          return this.schedule(spool.nextDueAt(this.ref) ?? now + this.pollMs);
        }
        if (disabled) {
          for (const d of batch) this.dead(d, 'destination_disabled', `destination disabled: ${disabled.reason}`);
          continue;
        }
        this.opts.metrics.inc('dispatch_batches_total', { destination: this.ref });
        const outcomes = await this.dest.deliver(batch, this.abort.signal);
        if (this.stopped && this.abort.signal.aborted) return;
        this.apply(batch, outcomes);
      }
    } catch (err) {
      // The spool itself failed (disk); try again after a pause rather than spin.
      logger.error('dispatcher error', { destination: this.ref, error: redactText(errorMessage(err)) });
      this.schedule(Date.now() + this.pollMs);
    }
  }

  private apply(batch: readonly PendingDelivery[], outcomes: Awaited<ReturnType<Destination['deliver']>>): void {
    const { spool, metrics, logger } = this.opts;
    const now = Date.now();
    const done: number[] = [];
    let failed = 0;
    let hinted = 0;
    batch.forEach((d, i) => {
      const o = outcomes[i]!;
      if (o.ok) {
        done.push(d.id);
        return;
      }
      if ('skipped' in o) return;
      failed++;
      const err = o.error;
      // Destinations already keep secrets out of their messages; this catches one that does not.
      const message = redactText(err.message);
      if (err instanceof DestinationGoneError) {
        spool.disableDestination(this.ref, message);
        metrics.inc('destinations_disabled_total', { destination: this.ref });
        logger.error('destination disabled: it answered 410 Gone', { destination: this.ref, error: message });
        this.dead(d, err.code, message);
        return;
      }
      const decision = decideRetry(this.policy, { attempts: d.attempts + 1, firstAt: d.firstAt, now, error: err }, this.opts.random);
      if (decision.retry) {
        spool.markRetry(d.id, decision.at, err.code, message);
        metrics.inc('deliveries_total', { destination: this.ref, outcome: 'retry' });
        if (err instanceof RetriableError && err.retryAfterMs !== undefined) hinted = Math.max(hinted, err.retryAfterMs);
        logger.warn('delivery failed; will retry', { destination: this.ref, event_id: d.eventId, code: err.code, error: message, retry_at: new Date(decision.at).toISOString() });
      } else {
        this.dead(d, err.code, `${message} (${decision.reason})`);
      }
    });
    if (done.length > 0) {
      spool.markDone(done);
      metrics.inc('deliveries_total', { destination: this.ref, outcome: 'done' }, done.length);
    }
    // Circuit breaker: a destination that keeps failing is left alone for a while.
    if (done.length === 0 && failed > 0) {
      this.failures++;
      if (hinted > 0) this.pausedUntil = Math.max(this.pausedUntil, now + hinted);
      if (this.failures >= this.threshold) {
        this.pausedUntil = Math.max(this.pausedUntil, now + Math.max(this.policy.initialDelayMs, backoffMs(this.policy, this.failures, this.opts.random)));
        this.halfOpen = true;
      }
    } else if (done.length > 0) {
      this.failures = 0;
      this.halfOpen = false;
    }
  }

  private dead(d: PendingDelivery, code: string, text: string): void {
    const message = redactText(text);
    this.opts.spool.markDead(d.id, code, message);
    this.opts.metrics.inc('deliveries_total', { destination: this.ref, outcome: 'dead' });
    this.opts.logger.error('delivery dead-lettered', { destination: this.ref, event_id: d.eventId, code, error: message });
  }

  /** Resolves when nothing is due for this destination (or at the deadline). */
  async drain(deadline: number): Promise<void> {
    while (Date.now() < deadline && !this.stopped) {
      if (this.current) {
        await Promise.race([this.current, sleep(deadline - Date.now())]);
        continue;
      }
      const paused = Date.now() < this.pausedUntil;
      const disabled = this.opts.spool.disabledDestinations().has(this.ref);
      if (paused || disabled || this.opts.spool.due(this.ref, 1).length === 0) return;
      this.wake();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    await this.current?.catch(() => undefined);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)).unref());
}
