import type { RouterError } from '../errors.js';
import type { PendingDelivery } from '../spool/spool.js';

export type DeliveryOutcome = { ok: true } | { ok: false; error: RouterError };

/**
 * A place events go. One file per kind, registered in `destinations/index.ts`.
 * `deliver` never throws: each item gets an outcome, in order.
 */
export interface Destination {
  /** `kafka:<alias>` or `webhook:<name>`. */
  readonly ref: string;
  /** Deliveries handed over in one call (a produce request; concurrent webhook requests). */
  readonly maxBatch: number;
  deliver(batch: readonly PendingDelivery[], signal: AbortSignal): Promise<DeliveryOutcome[]>;
  /** Waits for in-flight work, then releases connections. */
  close(): Promise<void>;
}

/** Every item of a batch failed the same way. */
export function allFailed(batch: readonly unknown[], error: RouterError): DeliveryOutcome[] {
  return batch.map(() => ({ ok: false, error }));
}
