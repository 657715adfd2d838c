/**
 * What the dispatcher needs of the durable store, and nothing more: the deliveries that are
 * due, and a place to write down what became of them. The store implements it; tests can
 * hand in a small fake.
 */
import type { DeliveryItem } from '../destinations/types.js';

/** A delivery waiting in the queue for one destination. */
export interface QueuedDelivery extends DeliveryItem {
  id: number;
  /** Attempts that failed so far. */
  attempts: number;
  /** When the event was accepted (ms epoch): the retry policy's maxAgeMs counts from here. */
  firstAt: number;
}

export interface DeliveryQueue {
  /**
   * Up to `limit` deliveries due now for the destination, oldest first; never one whose
   * earlier report of the same message waits for a retry.
   */
  due(destination: string, limit: number): QueuedDelivery[];
  /** When the destination's next pending delivery falls due (ms epoch), or null. */
  nextDueAt(destination: string): number | null;
  /**
   * Marks a batch delivered. `latencyMs`: the batch's round trip, kept with each delivery (the
   * message timeline shows it as the successful attempt; no attempt row is written for it).
   */
  markDone(ids: readonly number[], latencyMs?: number): void;
  markRetry(id: number, at: number, code: string, error: string): void;
  markDead(id: number, code: string, error: string): void;
  /** Destinations switched off (a webhook that answered 410), with why. */
  disabledDestinations(): ReadonlyMap<string, { reason: string }>;
  disableDestination(destination: string, reason: string): void;
  /** Destinations with pending deliveries, configured or not. */
  pendingDestinations(): string[];
  /**
   * Runs `work` as one write to the store, so a batch's outcomes and whatever the observers
   * write about them (the attempt log) share one commit: one disk flush a batch, not one per
   * statement. A queue without it (a fake, the cluster's outbox) runs `work` as it is.
   */
  atomically?<T>(work: () => T): T;
  /** Calls `listener` with the destinations that got new work after each commit; returns the unsubscribe. */
  onCommit(listener: (destinations: ReadonlySet<string>) => void): () => void;
}
