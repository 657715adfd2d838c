/**
 * `npm run bench [-- --quick]`: the router against its baselines, measured side by side in one
 * run on 127.0.0.1, each target in its own process and the load from another (bench/load.ts):
 *   ceiling  bare Hono reading the body and answering JSON (bench/targets/ceiling.ts)
 *   naive    Hono + one awaited kafkajs send per request (bench/targets/naive.ts)
 *   cluster  the router in cluster mode, one replica
 *   router   the router as shipped (embedded, real Kafka): saturated, 5,000/s offered, a soak
 *            for RSS, and a Kafka outage whose backlog must drain.
 * Both router targets run as the Docker image runs them: compiled, plain `node src/server.js`
 * (bench/shipped.ts builds that layout first, in a few seconds).
 * Kafka is a private broker started and deleted by the run (BENCH_KAFKA_BROKERS: use that one,
 * no outage test). Every callback has a message_id and id new to the run. Prints a table, writes
 * bench-results.json at the repo root, exits 1 if any target answered anything but 200.
 * Full run about 10 minutes; --quick under 2.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBroker } from './broker.js';
import { cleanUpAll } from './cleanup.js';
import { measureEmbedded } from './phases/embedded.js';
import { measureAlone } from './phases/throughput.js';
import { planFor, type Plan } from './plan.js';
import { shippedRouter } from './shipped.js';
import { REPO, tempDir } from './processes.js';
import { loadsOf, non200, resultsJson, type Measured } from './report.js';
import { formatTable } from './table.js';

const say = (line: string) => process.stderr.write(`bench: ${line}\n`);

async function measure(plan: Plan, runId: string): Promise<Measured> {
  const t0 = Date.now();
  const at = () => `${Math.round((Date.now() - t0) / 1000)} s`;
  say(`run ${runId}, ${plan.quick ? 'quick' : 'full'}: starting a private Kafka broker`);
  const broker = await startBroker();
  say(`${at()}: Kafka at ${broker.brokers}; ceiling`);
  const ceiling = await measureAlone({ name: 'ceiling', script: 'bench/targets/ceiling.ts', env: {}, ready: '/healthz' }, plan, runId);
  say(`${at()}: naive`);
  const naive = await measureAlone({ name: 'naive', script: 'bench/targets/naive.ts', env: { KAFKA_BROKERS: broker.brokers }, ready: '/healthz' }, plan, runId);
  say(`${at()}: router in cluster mode`);
  const clusterEnv = { KAFKA_BROKERS: broker.brokers, ROUTER_MODE: 'cluster', CLUSTER_PREFIX: `bench-${runId}`, DATA_DIR: tempDir('kcr-bench-cluster-') };
  const shipped = await shippedRouter();
  const cluster = await measureAlone({ name: 'cluster', ...shipped, env: clusterEnv, ready: '/readyz' }, plan, runId);
  say(`${at()}: router, embedded: saturated, 5,000/s, soak ${plan.soak.seconds} s, outage ${plan.outage.seconds} s`);
  const embedded = await measureEmbedded(broker, plan, runId, shipped);
  say(`${at()}: done measuring; stopping the broker`);
  return { ceiling, naive, cluster, embedded };
}

async function main(): Promise<void> {
  const plan = planFor(process.argv.slice(2));
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const measured = await measure(plan, runId);
  await cleanUpAll();
  const results = resultsJson(measured, plan, runId);
  writeFileSync(join(REPO, 'bench-results.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(formatTable(measured, results));
  console.log(`\nwritten: bench-results.json`);
  const failed = Object.entries(loadsOf(measured)).filter(([, load]) => non200(load) > 0);
  for (const [name, load] of failed) say(`${name}: ${non200(load)} answers other than 200: ${JSON.stringify(load.statuses)}`);
  if (failed.length) process.exitCode = 1;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    say(`${signal}: cleaning up`);
    void cleanUpAll().finally(() => process.exit(130));
  });
}
main().catch(async (err) => {
  if (interrupted) return; // what failed is what the clean-up stopped
  say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  await cleanUpAll();
  process.exit(1);
});
