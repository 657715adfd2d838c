/** The run's results: bench-results.json (the keys first) and the table printed at the end. */
import { cpus, totalmem, release } from 'node:os';
import type { LoadResult } from './load/loops.js';
import type { EmbeddedResult } from './phases/embedded.js';
import type { Plan } from './plan.js';

export interface Measured {
  ceiling: LoadResult;
  naive: LoadResult;
  cluster: LoadResult;
  embedded: EmbeddedResult;
}

const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 100) / 100 : null);
const one = (x: number) => Math.round(x * 10) / 10;

/** Answers other than 200 in a load (failed connections included). */
export function non200(load: LoadResult): number {
  return Object.entries(load.statuses).reduce((n, [status, count]) => (status === '200' ? n : n + count), 0);
}

/** Every load of the run by name; the router's must all be 200, the outage's included (the spool takes them). */
export function loadsOf(m: Measured): Record<string, LoadResult> {
  const e = m.embedded;
  return { ceiling: m.ceiling, naive: m.naive, router: e.saturated.load, cluster: m.cluster, at5k: e.at5k.load, soak: e.soak.load, ...(e.outage ? { outage: e.outage.load } : {}) };
}

export function machine(): Record<string, unknown> {
  return { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, kernel: release(), loadGeneratorSharesCores: true };
}

/** bench-results.json: the keys first (null: not measured), then the rest. */
export interface BenchResults {
  ceilingRps: number;
  naiveRps: number;
  routerRps: number;
  clusterRps: number;
  routerP50Ms: number;
  routerP99Ms: number;
  kafkaAckP99Ms: number | null;
  rssMb: number;
  rssGrowthPct: number;
  drainRps: number | null;
  incomingRps: number | null;
  ratios: Record<'routerToCeiling' | 'routerToNaive' | 'clusterToCeiling' | 'clusterToNaive' | 'drainToIncoming', number | null>;
  p99At5kMs: number;
  p50At5kMs: number;
  achievedAt5kRps: number;
  kafkaAckP99SaturatedMs: number | null;
  [more: string]: unknown;
}

/**
 * @example writeFileSync('bench-results.json', JSON.stringify(resultsJson(measured, plan, runId)))
 */
export function resultsJson(m: Measured, plan: Plan, runId: string): BenchResults {
  const e = m.embedded;
  const router = e.saturated.load;
  const loads = loadsOf(m);
  return {
    ceilingRps: m.ceiling.rps,
    naiveRps: m.naive.rps,
    routerRps: router.rps,
    clusterRps: m.cluster.rps,
    routerP50Ms: router.latency.p50Ms,
    routerP99Ms: router.latency.p99Ms,
    kafkaAckP99Ms: e.at5k.kafkaAckP99Ms,
    rssMb: one(e.rssPeakMb),
    rssGrowthPct: one(e.soak.growthPct),
    drainRps: e.outage?.drainRps ?? null,
    incomingRps: e.outage?.incomingRps ?? null,
    ratios: { routerToCeiling: ratio(router.rps, m.ceiling.rps), routerToNaive: ratio(router.rps, m.naive.rps), clusterToCeiling: ratio(m.cluster.rps, m.ceiling.rps), clusterToNaive: ratio(m.cluster.rps, m.naive.rps), drainToIncoming: e.outage ? ratio(e.outage.drainRps, e.outage.incomingRps) : null },
    p99At5kMs: e.at5k.load.latency.p99Ms,
    p50At5kMs: e.at5k.load.latency.p50Ms,
    achievedAt5kRps: e.at5k.load.rps,
    kafkaAckP99SaturatedMs: e.saturated.kafkaAckP99Ms,
    kafkaAckSource: 'kcr_accept_to_delivered_seconds (Kafka destinations) in /metrics: bucket counts before the load and after it was all delivered, interpolated within the bucket',
    non200: Object.fromEntries(Object.entries(loads).map(([k, l]) => [k, non200(l)])),
    machine: machine(),
    date: new Date().toISOString(),
    quick: plan.quick,
    runId,
    plan,
    runs: { ...loads, soakRss: { ...e.soak, load: undefined }, outage: e.outage ? { ...e.outage, load: undefined } : null },
  };
}
