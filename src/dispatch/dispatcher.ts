/**
 * Delivers pending deliveries from the queue, one worker per destination, so a failing
 * destination holds up no other. Marks a delivery done only on the destination's ack.
 * Each worker caps its concurrency (the destination's batch size) and has a circuit breaker.
 */
import type { DestinationChanges, DestinationSet } from '../destinations/index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { BreakerStatus } from './breaker.js';
import type { DeliveryQueue } from './queue.js';
import { Worker, type DeliveryObserver } from './worker.js';

export type { DeliveryQueue, QueuedDelivery } from './queue.js';
export type { DeliveryObserver, SettledDelivery } from './worker.js';

export interface DispatcherOptions {
  queue: DeliveryQueue;
  /** The destinations and, for each, its retry policy (and its rate limit, when it has one). */
  destinations: Pick<DestinationSet, 'destinations' | 'policies' | 'rateLimits'>;
  logger: Logger;
  metrics: Metrics;
  /** How often an idle worker looks for work it was not told about (replays from the CLI). */
  pollMs?: number;
  /** Consecutive failed batches that open a destination's circuit. */
  breakerThreshold?: number;
  random?: () => number;
  /** Told of each batch's outcomes, dead letters, disabled destinations and circuit changes. */
  observers?: readonly DeliveryObserver[];
}

/** What a reconfigure did to the workers, for the reload's answer. */
export interface WorkersChanged {
  started: string[];
  replaced: string[];
  stopped: string[];
  /** Destinations no longer configured that still have pending deliveries: kept, not delivered. */
  orphaned: string[];
}

export class Dispatcher {
  private readonly workers = new Map<string, Worker>();
  private readonly deps: DispatcherOptions & { pollMs: number; breakerThreshold: number };
  private unsubscribe: (() => void) | null = null;
  private started = false;
  /** Unconfigured destinations seen with pending deliveries (checked again, by index, when asked). */
  private orphans = new Set<string>();
  /** The reconfigure in progress; the next one and stop() wait for it. */
  private moving: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: DispatcherOptions) {
    this.deps = { ...opts, pollMs: opts.pollMs ?? 1_000, breakerThreshold: opts.breakerThreshold ?? 3 };
    for (const ref of opts.destinations.destinations.keys()) this.workers.set(ref, this.workerFor(ref));
  }

  /** A worker for the set's destination `ref`, with its policy and rate limit. */
  private workerFor(ref: string): Worker {
    const { destinations, policies, rateLimits } = this.opts.destinations;
    const dest = destinations.get(ref);
    const policy = policies.get(ref);
    if (!dest || !policy) throw new Error(`no retry policy for ${ref}`);
    return new Worker(dest, policy, this.deps, rateLimits?.get(ref));
  }

  start(): void {
    this.started = true;
    const { queue, logger } = this.opts;
    this.unsubscribe = queue.onCommit((refs) => {
      for (const ref of refs) this.workers.get(ref)?.nudge();
    });
    const disabled = queue.disabledDestinations();
    for (const [ref, w] of this.workers) {
      if (disabled.has(ref)) logger.warn('destination is disabled', { destination: ref, ...disabled.get(ref) });
      w.wake();
    }
    const orphans = queue.pendingDestinations().filter((d) => !this.workers.has(d));
    this.orphans = new Set(orphans);
    if (orphans.length > 0) {
      logger.warn('pending deliveries for destinations no longer in the config; they wait until it names them again', { destinations: orphans });
    }
  }

  /**
   * Brings the workers in line with the destinations after a reload (the set already holds the
   * new ones). A replaced or removed destination's worker finishes its batch in flight, writes it
   * down and stops, before a new worker for the same ref starts: never two at once on one ref.
   * A removed destination's pending deliveries stay pending, as they would after a restart, until
   * a config names it again; they are reported here, in the log, /readyz and the admin API.
   */
  reconfigure(changes: Pick<DestinationChanges, 'added' | 'changed' | 'removed'>): Promise<WorkersChanged> {
    const next = this.moving.then(() => this.move(changes));
    this.moving = next.catch(() => undefined);
    return next;
  }

  private async move({ added, changed, removed }: Pick<DestinationChanges, 'added' | 'changed' | 'removed'>): Promise<WorkersChanged> {
    const leaving = [...changed, ...removed].filter((ref) => this.workers.has(ref));
    await Promise.all(leaving.map((ref) => this.workers.get(ref)!.stop({ abort: false })));
    for (const ref of leaving) this.workers.delete(ref);
    for (const ref of [...added, ...changed]) {
      const w = this.workerFor(ref);
      this.workers.set(ref, w);
      if (this.started) w.wake();
    }
    for (const ref of this.workers.keys()) this.orphans.delete(ref);
    for (const ref of removed) this.orphans.add(ref);
    const orphaned = this.orphaned();
    if (orphaned.length > 0) {
      this.opts.logger.warn('pending deliveries for destinations no longer in the config; they wait until it names them again', { destinations: orphaned });
    }
    return { started: added, replaced: changed, stopped: removed, orphaned };
  }

  /** Unconfigured destinations that still have pending deliveries (they are kept, not delivered). */
  orphaned(): string[] {
    for (const ref of this.orphans) if (this.opts.queue.nextDueAt(ref) === null) this.orphans.delete(ref);
    return [...this.orphans].sort();
  }

  /** Wakes every worker now (after a replay through the admin API, say). */
  wakeAll(): void {
    for (const w of this.workers.values()) w.wake();
  }

  /** Circuit and activity per destination, for /readyz and the admin API. */
  status(): Record<string, BreakerStatus & { busy: boolean }> {
    return Object.fromEntries([...this.workers].map(([ref, w]) => [ref, w.status()]));
  }

  /**
   * Keeps delivering until nothing is due or the deadline passes, then stops the workers
   * (aborting what is still in flight, which stays pending on disk).
   */
  async stop(deadlineMs = 10_000): Promise<void> {
    this.unsubscribe?.();
    await this.moving;
    const deadline = Date.now() + deadlineMs;
    const workers = [...this.workers.values()];
    await Promise.all(workers.map((w) => w.drain(deadline)));
    await Promise.all(workers.map((w) => w.stop()));
  }
}
