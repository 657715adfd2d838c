/**
 * Delivers pending deliveries from the queue, one worker per destination, so a failing
 * destination holds up no other. Marks a delivery done only on the destination's ack.
 * Each worker caps its concurrency (the destination's batch size) and has a circuit breaker.
 */
import type { DestinationSet } from '../destinations/index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { BreakerStatus } from './breaker.js';
import type { DeliveryQueue } from './queue.js';
import { Worker, type DeliveryObserver } from './worker.js';

export type { DeliveryQueue, QueuedDelivery } from './queue.js';
export type { DeliveryObserver, SettledDelivery } from './worker.js';

export interface DispatcherOptions {
  queue: DeliveryQueue;
  /** The destinations and, for each, its retry policy. */
  destinations: Pick<DestinationSet, 'destinations' | 'policies'>;
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

export class Dispatcher {
  private readonly workers = new Map<string, Worker>();
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly opts: DispatcherOptions) {
    const deps = { ...opts, pollMs: opts.pollMs ?? 1_000, breakerThreshold: opts.breakerThreshold ?? 3 };
    for (const [ref, dest] of opts.destinations.destinations) {
      const policy = opts.destinations.policies.get(ref);
      if (!policy) throw new Error(`no retry policy for ${ref}`);
      this.workers.set(ref, new Worker(dest, policy, deps));
    }
  }

  start(): void {
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
    if (orphans.length > 0) {
      logger.warn('pending deliveries for destinations no longer in the config; they wait until it names them again', { destinations: orphans });
    }
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
    const deadline = Date.now() + deadlineMs;
    const workers = [...this.workers.values()];
    await Promise.all(workers.map((w) => w.drain(deadline)));
    await Promise.all(workers.map((w) => w.stop()));
  }
}
