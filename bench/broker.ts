/**
 * The bench's own Kafka broker (scripts/kafka.sh on free private ports, its own data dir), so a
 * run never touches anyone else's broker; stopped and deleted at the end, however the run ends.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { onCleanup } from './cleanup.js';
import { freePort, REPO, tempDir } from './processes.js';

const run = promisify(execFile);

export interface Broker {
  brokers: string;
  /** Stop and start again, keeping the data (null for a broker the bench did not start). */
  control: { stop(): Promise<void>; start(): Promise<void> } | null;
}

/**
 * BENCH_KAFKA_BROKERS when given (no outage test then), else a private broker.
 * @example const broker = await startBroker(); ...; broker.brokers // '127.0.0.1:24817'
 */
export async function startBroker(): Promise<Broker> {
  const given = process.env.BENCH_KAFKA_BROKERS;
  if (given) return { brokers: given, control: null };
  const port = await freePort((p) => p + 100);
  const env = { ...process.env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(port + 100), KAFKA_DATA: tempDir('kcr-bench-kafka-') };
  const script = (command: string) => run('bash', [join(REPO, 'scripts/kafka.sh'), command], { env, cwd: REPO }).then(() => undefined);
  // Registered after the data dir's removal, so it runs before it (clean-up runs newest first).
  onCleanup(() => script('clean'));
  await script('start');
  return { brokers: `127.0.0.1:${port}`, control: { stop: () => script('stop'), start: () => script('start') } };
}
