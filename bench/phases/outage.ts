/**
 * A Kafka outage under a steady offered rate: the broker stopped for a while and started again,
 * the router answering 200 from its spool throughout, then the backlog drained while callbacks
 * keep coming. Rates are in Kafka deliveries per second, from `kcr_deliveries` in /metrics.
 */
import type { Broker } from '../broker.js';
import type { LoadResult } from '../load/loops.js';
import { kafkaDeliveries, scrape } from '../metrics.js';
import type { Plan } from '../plan.js';
import { generateLoad, type Target } from '../processes.js';
import { sleep } from './settle.js';

export interface OutageResult {
  load: LoadResult;
  /** Seconds from the broker stopped until it answered again. */
  outageS: number;
  /** Deliveries pending when the broker answered again. */
  backlog: number;
  /** Seconds from the broker answering until the backlog was gone (or the drain timeout). */
  drainS: number;
  drained: boolean;
  /** Deliveries done per second while the backlog drained. */
  drainRps: number;
  /** Deliveries created per second (the callbacks' fan-out), from the stop until drained. */
  incomingRps: number;
}

interface Point {
  at: number;
  pending: number;
  total: number;
}

async function point(base: string): Promise<Point> {
  return { at: Date.now(), ...kafkaDeliveries(await scrape(base)) };
}

/**
 * @example await outage(router, broker.control, plan, 'a1b2-outage')
 */
export async function outage(router: Target, broker: NonNullable<Broker['control']>, plan: Plan, prefix: string): Promise<OutageResult> {
  const { rps, seconds, drainTimeoutS } = plan.outage;
  const load = generateLoad({ port: router.port, prefix, mode: 'open', rps, connections: 64, warmupS: 0, durationS: seconds + drainTimeoutS + 120 });
  try {
    // A steady state first: what is pending while Kafka keeps up is the level "drained" returns to.
    let steady = 0;
    for (let i = 0; i < 12; i++, await sleep(250)) steady = Math.max(steady, (await point(router.base)).pending);
    const down = await point(router.base);
    await broker.stop();
    await sleep(seconds * 1000);
    await broker.start();
    const up = await point(router.base);
    let last = up;
    while (last.pending > steady && last.at - up.at < drainTimeoutS * 1000) {
      await sleep(250);
      last = await point(router.base);
    }
    const done = (p: Point) => p.total - p.pending;
    const drainS = Math.max(0.001, (last.at - up.at) / 1000);
    load.stop();
    return {
      load: await load.result,
      outageS: (up.at - down.at) / 1000,
      backlog: up.pending,
      drainS,
      drained: last.pending <= steady,
      drainRps: Math.round((done(last) - done(up)) / drainS),
      incomingRps: Math.round((last.total - down.total) / ((last.at - down.at) / 1000)),
    };
  } finally {
    load.stop();
    load.result.catch(() => undefined); // a failure after an earlier one: the earlier one is reported
  }
}
