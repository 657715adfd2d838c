/** The router's memory under a steady offered rate: its RSS at the start and end of the soak (after its first tenth). */
import type { LoadResult } from '../load/loops.js';
import type { Plan } from '../plan.js';
import { generateLoad, type Target } from '../processes.js';
import { growthPct, type RssSampler } from '../rss.js';

export interface SoakResult {
  load: LoadResult;
  startMb: number;
  endMb: number;
  growthPct: number;
}

/**
 * @example await soak(router, rss, plan, 'a1b2-soak')
 */
export async function soak(router: Target, rss: RssSampler, plan: Plan, prefix: string): Promise<SoakResult> {
  const from = Date.now();
  const load = await generateLoad({ port: router.port, prefix, mode: 'open', rps: plan.soak.rps, connections: 64, warmupS: 0, durationS: plan.soak.seconds }).result;
  // The first tenth settles what the previous (saturating) phase left in the heap; growth is from then on.
  const samples = rss.between(from + plan.soak.seconds * 100, Date.now());
  const mb = (x: number | undefined) => Math.round((x ?? 0) * 10) / 10;
  return { load, startMb: mb(samples[0]?.mb), endMb: mb(samples.at(-1)?.mb), growthPct: growthPct(samples) };
}
