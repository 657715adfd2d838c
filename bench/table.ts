/** The table a run prints: each target's req/s and latency, the ratios, the other targets, the machine. */
import type { LoadResult } from './load/loops.js';
import { machine, non200, type BenchResults, type Measured } from './report.js';

const fmt = (n: number | null | undefined, digits = 0) => (n === null || n === undefined ? 'n/a' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

function row(name: string, l: LoadResult): string {
  const rate = l.offeredRps ? `${fmt(l.rps)} of ${fmt(l.offeredRps)}` : fmt(l.rps);
  return `| ${name} | ${rate} | ${fmt(l.latency.p50Ms, 2)} | ${fmt(l.latency.p99Ms, 2)} | ${non200(l)} | ${l.generatorCpuPct} |`;
}

/**
 * @example console.log(formatTable(measured, resultsJson(measured, plan, runId)))
 */
export function formatTable(m: Measured, r: BenchResults): string {
  const e = m.embedded;
  const mc = machine();
  const ratios = r.ratios;
  const o = e.outage;
  return [
    `| target | req/s | p50 ms | p99 ms | non-200 | load generator CPU % |`,
    `|---|---|---|---|---|---|`,
    row('ceiling: bare Hono, read body, answer JSON', m.ceiling),
    row('naive: Hono + one awaited kafkajs send', m.naive),
    row('router, embedded, real Kafka', e.saturated.load),
    row('router, cluster mode (1 replica)', m.cluster),
    row('router, embedded, open loop 5,000/s offered', e.at5k.load),
    row(`router, embedded, soak (open loop)`, e.soak.load),
    ...(o ? [row('router, embedded, during the Kafka outage', o.load)] : []),
    '',
    `router ÷ ceiling ${fmt(ratios.routerToCeiling, 2)} (target ≥ 0.5) · router ÷ naive ${fmt(ratios.routerToNaive, 2)} (≥ 3) · cluster ÷ ceiling ${fmt(ratios.clusterToCeiling, 2)} (≥ 0.5) · cluster ÷ naive ${fmt(ratios.clusterToNaive, 2)}`,
    `p99 at 5,000/s offered ${fmt(r.p99At5kMs, 1)} ms (≤ 25) · accept-to-Kafka-ack p99 ${fmt(r.kafkaAckP99Ms, 1)} ms at 5,000/s (≤ 250), ${fmt(r.kafkaAckP99SaturatedMs, 1)} ms saturated`,
    `router RSS peak ${fmt(r.rssMb, 1)} MB (≤ 200) · soak ${fmt(m.embedded.soak.load.seconds)} s: ${fmt(e.soak.startMb, 1)} -> ${fmt(e.soak.endMb, 1)} MB, growth ${fmt(r.rssGrowthPct, 1)} % (≤ 10)`,
    o
      ? `outage ${fmt(o.outageS, 1)} s (broker stop to answering again): backlog ${fmt(o.backlog)} deliveries drained in ${fmt(o.drainS, 1)} s${o.drained ? '' : ' (NOT drained by the timeout)'} at ${fmt(o.drainRps)}/s vs ${fmt(o.incomingRps)}/s incoming: ${fmt(ratios.drainToIncoming, 1)}× (≥ 5)`
      : 'outage: skipped (BENCH_KAFKA_BROKERS is not the bench’s own broker)',
    `machine: ${mc.cores} cores (${mc.cpu}), ${mc.memoryGb} GB, node ${mc.node}; the load generator runs on the same cores as the target, so every figure is a lower bound and only ratios within one run compare.`,
  ].join('\n');
}
