/**
 * `npm run drill -- cluster`: three router replicas in cluster mode on a 3-node Kafka cluster,
 * load over all of them, one replica crashed for good and one broker crashed and restarted
 * mid-load; then every callback answered 2xx must be in Kafka exactly once, at the webhook at
 * least once, and a Sent that reached a different replica after its Delivered must be stale.
 * Before the faults, throughput with the load on 1, 2 and 3 replicas.
 */
import { availableParallelism } from 'node:os';
import { sleep } from '../src/sleep.js';
import { explain, finalLine, passed, tally, webhookIdOf, type Tally } from './check.js';
import { Harness, secs } from './harness.js';
import { LoadStats, loadFor, runPairs, type Accepted } from './load.js';
import { OutputReader } from './output.js';
import { figures, killReplica } from './replicas.js';

export interface DrillOptions {
  /** The shorter run the test uses. */
  quick: boolean;
  /** false: run the same drill against the embedded default, to check the drill itself. */
  cluster: boolean;
  print: (line: string) => void;
}

interface Plan {
  throughputMs: number;
  concurrency: number;
  /** How long a throughput step waits for its callbacks to reach the topic. */
  e2eWaitMs: number;
  pairs: number;
  pairConcurrency: number;
  pairMs: number;
  drainMs: number;
}

const PLANS: Record<'full' | 'quick', Plan> = {
  full: { throughputMs: 5_000, concurrency: 32, e2eWaitMs: 30_000, pairs: 600, pairConcurrency: 16, pairMs: 45_000, drainMs: 120_000 },
  quick: { throughputMs: 3_000, concurrency: 32, e2eWaitMs: 20_000, pairs: 300, pairConcurrency: 16, pairMs: 30_000, drainMs: 60_000 },
};

/** Runs the drill; prints as it goes and ends with the verdict line. Resolves with the exit code. */
export async function clusterDrill(o: DrillOptions): Promise<number> {
  const h = new Harness({ cluster: o.cluster, print: o.print });
  const onSignal = (signal: NodeJS.Signals) => {
    o.print(`${signal}: killing the replicas and the cluster`);
    h.abortNow();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let code = 2;
  let verdict: string | undefined;
  try {
    await h.setUp();
    const result = await runPhases(h, o.quick ? PLANS.quick : PLANS.full, o);
    verdict = finalLine(result.tally);
    code = passed(result.tally) && result.crashed.length === 0 ? 0 : 1;
  } catch (e) {
    // A plain Error is one of the drill's own (a part did not start); anything else is a bug here.
    const plain = e instanceof Error && e.constructor === Error;
    o.print(`harness failure: ${e instanceof Error ? (plain ? e.message : (e.stack ?? e.message)) : String(e)}`);
  } finally {
    if (code !== 0) {
      for (const t of h.tails()) o.print(t);
      h.keepBrokerLogs();
      o.print(`replica and Kafka node logs kept in ${h.dir}`);
    }
    // DRILL_KEEP_CLUSTER=1: a failed run leaves its topics to be read (the next run deletes them).
    await h.tearDown(code !== 0, code === 1 && process.env.DRILL_KEEP_CLUSTER === '1');
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (verdict) console.log(verdict);
  return code;
}

async function runPhases(h: Harness, plan: Plan, o: DrillOptions): Promise<{ tally: Tally; crashed: number[] }> {
  const t0 = Date.now();
  const accepted = new Map<string, Accepted>();
  const tail = await OutputReader.start(h.cluster.kafka('drill-tail', 10), h.topic);
  try {
    await warmUp(h, tail, o, accepted);
    await throughput(h, tail, plan, o, accepted);
    await faultPhase(h, plan, o, accepted, t0);
    await drain(h, tail, accepted, plan.drainMs, o);
  } finally {
    await tail.stop();
  }
  // A fresh reader for the verdict: what a new consumer of the topic sees after all of it.
  const check = await OutputReader.start(h.cluster.kafka('drill-check', 10), h.topic);
  try {
    const until = Date.now() + 30_000;
    while (check.missing(accepted.keys()) > 0 && Date.now() < until) await sleep(200);
    await sleep(3_000); // let duplicates, if any, arrive too
  } finally {
    await check.stop();
  }
  const t = tally(accepted, check.byEvent, h.receiver!.received);
  for (const line of explain(t, accepted, check.byEvent, t0)) o.print(line);
  if (check.unreadable.length > 0) o.print(`records that are not events: ${check.unreadable.length} (${check.unreadable.slice(0, 5).join(', ')})`);
  o.print(`webhook: ${h.receiver!.received.length} requests, ${t.webhookRepeats} repeats (at least once is allowed); in Kafka without a 2xx answer: ${t.unanswered.length}`);
  for (const r of h.replicas) o.print(`replica ${r.n}: ${await figures(r)}`);
  if (o.cluster) o.print(await h.intakeReport());
  const crashed = h.replicas.filter((r) => r.n !== 3 && !r.alive()).map((r) => r.n);
  if (crashed.length > 0) o.print(`replica(s) ${crashed.join(', ')} exited during the drill, and only replica 3 was to be killed`);
  return { tally: t, crashed };
}

/**
 * A few callbacks through every replica before anything is measured: the first batch of a
 * partition pays for taking it over (its transactional producer, its state), once.
 */
async function warmUp(h: Harness, tail: OutputReader, o: DrillOptions, accepted: Map<string, Accepted>): Promise<void> {
  const start = Date.now();
  const got = await loadFor(h.replicas, 1_000, 3, new LoadStats());
  for (const [id, a] of got) accepted.set(id, a);
  const until = Date.now() + 60_000;
  while ((tail.lastWritten(got.keys()) === null || lastHooked(h, got.keys()) === null) && Date.now() < until) await sleep(100);
  const missing = tail.missing(got.keys());
  o.print(`warm-up: ${got.size} callbacks, ${missing === 0 ? 'all' : `${got.size - missing}`} through in ${secs(Date.now() - start)}`);
}

/** Load on the first k replicas for k = 1, 2, 3, one step after the other; prints a table. */
async function throughput(h: Harness, tail: OutputReader, plan: Plan, o: DrillOptions, accepted: Map<string, Accepted>): Promise<void> {
  const rows: string[] = [];
  for (const k of [1, 2, 3]) {
    const stats = new LoadStats();
    const start = Date.now();
    const got = await loadFor(h.replicas.slice(0, k), plan.throughputMs, plan.concurrency, stats);
    const loadMs = Date.now() - start;
    for (const [id, a] of got) accepted.set(id, a);
    // The next step starts once this one is through, webhooks included: the receiver shares
    // this process with the load, and a backlog would be measured as the next step's cost.
    const until = Date.now() + plan.e2eWaitMs;
    let last = tail.lastWritten(got.keys());
    let hooked = lastHooked(h, got.keys());
    while ((last === null || hooked === null) && Date.now() < until) {
      await sleep(100);
      last = tail.lastWritten(got.keys());
      hooked = lastHooked(h, got.keys());
    }
    const rate = (n: number, ms: number) => String(Math.round((n * 1000) / ms));
    const e2e = last === null ? [`${tail.missing(got.keys())} missing`, '-'] : [secs(last - start), rate(got.size, last - start)];
    rows.push(table([String(k), String(got.size), rate(got.size, loadMs), ...e2e, hooked === null ? 'not all' : secs(hooked - start)]));
    if (stats.failures.size > 0) o.print(`throughput with ${k}: failed attempts ${stats.describe()}`);
  }
  o.print(`throughput: load on the first k of the 3 replicas, ${plan.concurrency} callbacks in flight, ${secs(plan.throughputMs)} per step`);
  o.print(table(['k', 'accepted', 'accepted/s', 'all in Kafka after', 'end to end/s', 'all at webhook after']));
  for (const r of rows) o.print(r);
  const processing = o.cluster ? 'all 3 replicas consume the intake in every row, only the HTTP side moves; ' : '';
  o.print(
    `note: this machine has ${availableParallelism()} cores, shared by 3 Kafka nodes, 3 replicas, this load generator and the ` +
      `webhook receiver. More replicas cannot add CPU here: ${processing}the rows show what spreading the load costs or saves, not how it scales.`,
  );
}

/** When the last of `ids` reached the webhook receiver, or null while any has not. */
function lastHooked(h: Harness, ids: Iterable<string>): number | null {
  const at = new Map<string, number>();
  for (const r of h.receiver!.received) {
    const id = webhookIdOf(r);
    if (id && !at.has(id)) at.set(id, r.at);
  }
  let last = 0;
  for (const id of ids) {
    const t = at.get(id);
    if (t === undefined) return null;
    last = Math.max(last, t);
  }
  return last;
}

function table(cells: string[]): string {
  const widths = [3, 9, 11, 19, 13, 21];
  return cells.map((c, i) => c.padStart(widths[i] ?? 10)).join(' ');
}

/**
 * Pairs of Delivered then Sent spread over the replicas; replica 3 SIGKILLed at 30 % of the
 * load, Kafka node 2 SIGKILLed at 50 % and started again at 75 %.
 */
async function faultPhase(h: Harness, plan: Plan, o: DrillOptions, accepted: Map<string, Accepted>, t0: number): Promise<void> {
  const stats = new LoadStats();
  const mark = (what: string) => o.print(`${secs(Date.now() - t0)} (${new Date().toISOString().slice(11, 23)}): ${what}`);
  const failures: Error[] = [];
  const faults: Promise<void>[] = [];
  const track = (p: Promise<void>) => faults.push(p.catch((e: Error) => void failures.push(e)));
  let brokerDown: Promise<void> = Promise.resolve();
  const onStart = (j: number) => {
    if (j === Math.floor(plan.pairs * 0.3)) {
      mark(`pair ${j}: SIGKILL to replica 3 (not restarted)`);
      track(killReplica(h.replicas[2]!));
    }
    if (j === Math.floor(plan.pairs * 0.5)) {
      mark(`pair ${j}: SIGKILL to Kafka node 2`);
      brokerDown = h.cluster.runAsync(['kill-node', '2'], 30_000).then(() => mark('Kafka node 2 is down'));
      track(brokerDown);
    }
    if (j === Math.floor(plan.pairs * 0.75)) {
      const restart = async () => {
        await brokerDown;
        mark(`pair ${j}: starting Kafka node 2 again`);
        await h.cluster.runAsync(['start-node', '2'], 120_000);
        mark('Kafka node 2 is back and listed by the cluster');
      };
      track(restart());
    }
  };
  mark(`fault phase: ${plan.pairs} messages, each Delivered to one replica then Sent (earlier status_time) to the next, over ~${secs(plan.pairMs)}`);
  const start = Date.now();
  const got = await runPairs(h.replicas, { pairs: plan.pairs, concurrency: plan.pairConcurrency, durationMs: plan.pairMs, onStart }, stats);
  for (const [id, a] of got) accepted.set(id, a);
  const byReplica = [1, 2, 3].map((n) => `${[...got.values()].filter((a) => a.n === n).length} by replica ${n}`).join(', ');
  mark(`load done in ${secs(Date.now() - start)}: ${got.size} reports accepted (${byReplica}); failed attempts: ${stats.describe()}; retried ${stats.retried}, given up ${stats.gaveUp}`);
  await Promise.all(faults);
  if (failures.length > 0) throw new Error(`a fault could not be injected: ${failures.map((e) => e.message).join('; ')}`);
}

/** Waits (bounded) until every accepted id is in the topic and at the webhook. */
async function drain(h: Harness, tail: OutputReader, accepted: Map<string, Accepted>, timeoutMs: number, o: DrillOptions): Promise<void> {
  const start = Date.now();
  let reported = start;
  for (;;) {
    const hooked = new Set(h.receiver!.received.map(webhookIdOf));
    const inKafka = tail.missing(accepted.keys());
    const atHook = [...accepted.keys()].filter((id) => !hooked.has(id)).length;
    if (inKafka === 0 && atHook === 0) {
      o.print(`all ${accepted.size} accepted reports in Kafka and at the webhook after ${secs(Date.now() - start)} more`);
      return;
    }
    if (Date.now() - start > timeoutMs) {
      o.print(`gave up waiting after ${secs(timeoutMs)}: ${inKafka} not in Kafka, ${atHook} not at the webhook`);
      return;
    }
    if (Date.now() - reported >= 10_000) {
      reported = Date.now();
      o.print(`waiting: ${inKafka} not yet in Kafka, ${atHook} not yet at the webhook`);
    }
    await sleep(500);
  }
}
