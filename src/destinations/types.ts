import type { RouterError } from '../errors.js';
import type { PendingDelivery } from '../spool/spool.js';

/** `skipped`: not attempted (an earlier delivery of the same message failed first); no attempt is counted. */
export type DeliveryOutcome = { ok: true } | { ok: false; error: RouterError } | { ok: false; skipped: true };

/**
 * A place events go. One file per kind, registered in `destinations/index.ts`.
 */
export interface Destination {
  /** `kafka:<alias>` or `webhook:<name>`. */
  readonly ref: string;
  /** Deliveries handed over in one call (a produce request; concurrent webhook requests). */
  readonly maxBatch: number;
  /** How long to let new work gather before a batch leaves (Kafka's linger.ms). */
  readonly lingerMs: number;
  /**
   * Delivers a batch; never throws: each item gets an outcome, in order. Deliveries of one
   * message_key are in arrival order within the batch and must leave in that order (one
   * produce request keeps it; a webhook sends them one after another).
   */
  deliver(batch: readonly PendingDelivery[], signal: AbortSignal): Promise<DeliveryOutcome[]>;
  /** Waits for in-flight work, then releases connections. */
  close(): Promise<void>;
}

/** Every item of a batch failed the same way. */
export function allFailed(batch: readonly unknown[], error: RouterError): DeliveryOutcome[] {
  return batch.map(() => ({ ok: false, error }));
}
