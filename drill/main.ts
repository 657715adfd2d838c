/**
 * `npm run drill -- <name> [flags]`: drills that run the real router against real faults, all on
 * 127.0.0.1, bounded in time. Exit 0: the drill held; 1: it found a loss or a wrong result;
 * 2: it could not run (usage, or a part that did not start).
 */
import { clusterDrill } from './cluster.js';

const USAGE = `usage: npm run drill -- cluster [--quick] [--embedded]

  cluster     3 Kafka nodes, 3 router replicas (ROUTER_MODE=cluster), a webhook receiver; throughput
              with the load on 1, 2 and 3 replicas, then load with a replica SIGKILLed for good and a
              Kafka node SIGKILLed and restarted. Ends with one line:
              drill: accepted N, lost L in Kafka, lost W at webhook, duplicates in Kafka D, stale wrong S
              and exits 1 unless L, W, D and S are 0.
  --quick     a shorter run (about 2 minutes instead of 3-4)
  --embedded  the same drill against replicas in the embedded default (each its own spool): checks
              the drill itself, and shows what the embedded mode cannot do across replicas

  env: DRILL_KAFKA_PORT (19692; the nodes use it and the next two), DRILL_KAFKA_CONTROLLER_PORT (DRILL_KAFKA_PORT + 100),
       DRILL_KEEP_CLUSTER=1 (a run that finds a problem leaves the Kafka cluster running, to read its topics)`;

async function main(argv: string[]): Promise<number> {
  const [name, ...flags] = argv;
  const known = new Set(['--quick', '--embedded']);
  const unknown = flags.filter((f) => !known.has(f));
  if (name !== 'cluster' || unknown.length > 0) {
    process.stderr.write(`${name && name !== 'cluster' ? `unknown drill: ${name}\n` : ''}${unknown.length ? `unknown flag: ${unknown.join(' ')}\n` : ''}${USAGE}\n`);
    return 2;
  }
  return clusterDrill({
    quick: flags.includes('--quick'),
    cluster: !flags.includes('--embedded'),
    print: (line) => console.log(`drill: ${line}`),
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`drill: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
