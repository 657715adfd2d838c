/** The delivery latency histograms, fed by the dispatcher as one of its observers. */
import type { DeliveryObserver, SettledDelivery } from '../dispatch/worker.js';
import type { Metrics } from '../metrics.js';

/** Accept-to-delivered spans minutes and hours when a destination was down, not only seconds. */
const ACCEPT_TO_DELIVERED_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400];

const observers = new WeakMap<Metrics, DeliveryObserver>();

/**
 * `kcr_delivery_duration_seconds{destination,outcome}`, one observation per batch sent (outcome:
 * `delivered` when every item attempted was, `failed` when none was, `partial` otherwise), and
 * `kcr_accept_to_delivered_seconds{destination}`, one per delivered item, from its acceptance
 * (or its replay) to the destination's ack. One observer per Metrics, whoever asks.
 * @example new Dispatcher({ queue, destinations, logger, metrics, observers: [deliveryMetrics(metrics)] })
 */
export function deliveryMetrics(metrics: Metrics, now: () => number = Date.now): DeliveryObserver {
  const existing = observers.get(metrics);
  if (existing) return existing;
  const batchSeconds = metrics.histogram('delivery_duration_seconds', 'Round trip of each batch sent to a destination, by how it came back.', ['destination', 'outcome']);
  const acceptToDelivered = metrics.histogram(
    'accept_to_delivered_seconds',
    'From a callback accepted (or its delivery replayed) to the destination acknowledging it.',
    ['destination'],
    ACCEPT_TO_DELIVERED_BUCKETS,
  );
  const observer: DeliveryObserver = {
    batch(destination, settled, latencyMs) {
      const outcome = batchOutcome(settled);
      if (outcome) batchSeconds.observe({ destination, outcome }, latencyMs / 1000);
      const at = now();
      for (const s of settled) {
        if (s.result === 'delivered') acceptToDelivered.observe({ destination }, Math.max(0, at - s.delivery.firstAt) / 1000);
      }
    },
  };
  observers.set(metrics, observer);
  return observer;
}

/** A batch's outcome over the items attempted; null when none was (all skipped). */
function batchOutcome(settled: readonly SettledDelivery[]): 'delivered' | 'failed' | 'partial' | null {
  let delivered = 0;
  let failed = 0;
  for (const s of settled) {
    if (s.result === 'delivered') delivered++;
    else if (s.result !== 'skipped') failed++;
  }
  if (delivered + failed === 0) return null;
  return failed === 0 ? 'delivered' : delivered === 0 ? 'failed' : 'partial';
}
