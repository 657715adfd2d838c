/**
 * The router as shipped (embedded default, real Kafka, the shipped routes.config.ts), one
 * process through every phase: saturated throughput, 5,000/s offered, the soak, the outage.
 * Each phase starts once the router has delivered what the previous one left pending.
 */
import type { Broker } from '../broker.js';
import type { Plan } from '../plan.js';
import { generateLoad, startTarget, tempDir } from '../processes.js';
import { RssSampler } from '../rss.js';
import type { ShippedRouter } from '../shipped.js';
import { outage, type OutageResult } from './outage.js';
import { measureWithAck, type AckMeasured } from './settle.js';
import { soak, type SoakResult } from './soak.js';
import { closedLoad } from './throughput.js';

export interface EmbeddedResult {
  saturated: AckMeasured;
  at5k: AckMeasured;
  soak: SoakResult;
  /** Null when the broker is not the bench's own (BENCH_KAFKA_BROKERS): it cannot be stopped. */
  outage: OutageResult | null;
  /** The router's largest VmRSS over all phases. */
  rssPeakMb: number;
}

/**
 * @example await measureEmbedded(broker, plan, runId, await shippedRouter())
 */
export async function measureEmbedded(broker: Broker, plan: Plan, runId: string, shipped: ShippedRouter): Promise<EmbeddedResult> {
  const env = { KAFKA_BROKERS: broker.brokers, DATA_DIR: tempDir('kcr-bench-router-') };
  const router = await startTarget('router', shipped.script, env, '/readyz', shipped.cwd);
  const rss = new RssSampler(router.pid);
  try {
    const saturated = await measureWithAck(router, () => closedLoad(router, plan, `${runId}-router`), plan.settleTimeoutS);
    const { rps, connections, warmupS, durationS } = plan.at5k;
    const at5k = await measureWithAck(
      router,
      () => generateLoad({ port: router.port, prefix: `${runId}-at5k`, mode: 'open', rps, connections, warmupS, durationS }).result,
      plan.settleTimeoutS,
    );
    const soaked = await soak(router, rss, plan, `${runId}-soak`);
    const outageResult = broker.control ? await outage(router, broker.control, plan, `${runId}-outage`) : null;
    return { saturated, at5k, soak: soaked, outage: outageResult, rssPeakMb: rss.peakMb() };
  } finally {
    rss.stop();
    await router.stop();
  }
}
