/** Measuring against a router's /metrics: waiting for its Kafka backlog, and accept-to-ack between two scrapes. */
import type { LoadResult } from '../load/loops.js';
import { acceptToAckBuckets, kafkaDeliveries, quantileBetween, scrape } from '../metrics.js';
import type { Target } from '../processes.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the router has no Kafka delivery pending; false if `timeoutS` passed first.
 * @example await waitDelivered(router.base, 30)
 */
export async function waitDelivered(base: string, timeoutS: number): Promise<boolean> {
  for (const until = Date.now() + timeoutS * 1000; Date.now() < until; await sleep(250)) {
    if (kafkaDeliveries(await scrape(base)).pending === 0) return true;
  }
  return false;
}

export interface AckMeasured {
  load: LoadResult;
  /** p99 of accept-to-Kafka-ack for the callbacks of this load, from the router's histogram; null if none was delivered. */
  kafkaAckP99Ms: number | null;
  /** False if the router had not delivered everything within the settle timeout. */
  settled: boolean;
}

/**
 * Runs a load and reads the p99 of `kcr_accept_to_delivered_seconds` (Kafka destinations) over
 * the deliveries it caused: the histogram before it, and after the router delivered them all.
 * The histogram's buckets (…, 0.1, 0.25, 0.5 s, …) bound the precision: interpolated within one.
 * @example await measureWithAck(router, () => generateLoad(o).result, 30)
 */
export async function measureWithAck(router: Target, run: () => Promise<LoadResult>, settleTimeoutS: number): Promise<AckMeasured> {
  const before = acceptToAckBuckets(await scrape(router.base));
  const load = await run();
  const settled = await waitDelivered(router.base, settleTimeoutS);
  const p99 = quantileBetween(before, acceptToAckBuckets(await scrape(router.base)), 0.99);
  return { load, kafkaAckP99Ms: p99 === null ? null : Math.round(p99 * 1000 * 10) / 10, settled };
}
