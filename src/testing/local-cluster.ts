/**
 * A private 3-node KRaft cluster for tests and drills: `scripts/kafka.sh` with KAFKA_NODES=3 on
 * its own ports and data dir, so it never touches the suite's single broker (KAFKA_BROKERS). Its
 * user starts and cleans it itself; without Java or the Kafka jars, start() throws.
 */
import { execFile, execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';

const script = join(import.meta.dirname, '..', '..', 'scripts', 'kafka.sh');

export class LocalCluster {
  /** `127.0.0.1:<port>` per node, node 1 first; set by start(). */
  brokers: string[] = [];

  /**
   * @param port the first client port (nodes use port, port+1, port+2)
   * @param controllerPort the first controller port (same layout)
   */
  constructor(
    readonly port: number,
    readonly controllerPort = port + 100,
    readonly dataDir = join(tmpdir(), `kcr-test-cluster-${port}`),
  ) {}

  /** Runs `scripts/kafka.sh <args>` for this cluster; returns its stdout (messages go to stderr). */
  run(args: string[], timeoutMs = 150_000): string {
    return execFileSync('bash', [script, ...args], { env: this.env(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: timeoutMs });
  }

  /**
   * As run(), without blocking the event loop: a drill keeps its load flowing while a node
   * restarts. Rejects with the script's stderr when it fails.
   * @example await cluster.runAsync(['start-node', '2']);
   */
  runAsync(args: string[], timeoutMs = 150_000): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile('bash', [script, ...args], { env: this.env(), encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
        if (err) reject(new Error(`kafka.sh ${args.join(' ')} failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      });
    });
  }

  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KAFKA_NODES: '3',
      KAFKA_PORT: String(this.port),
      KAFKA_CONTROLLER_PORT: String(this.controllerPort),
      KAFKA_DATA: this.dataDir,
      KAFKA_STOP_TIMEOUT: '20',
    };
    // Knobs meant for the suite's single broker stay with it (the cluster has its own defaults).
    delete env.KAFKA_HEAP_OPTS;
    delete env.KAFKA_EXTRA_CONFIG;
    return env;
  }

  /** Starts all three nodes (fresh storage after clean()); returns once all answer. */
  start(): string[] {
    return this.brokersFrom(this.run(['start']));
  }

  /** As start(), without blocking the event loop (a drill's Ctrl-C handler can still run). */
  async startAsync(): Promise<string[]> {
    return this.brokersFrom(await this.runAsync(['start']));
  }

  private brokersFrom(out: string): string[] {
    const line = out.split('\n').find((l) => l.startsWith('KAFKA_BROKERS='));
    if (!line) throw new Error(`kafka.sh start printed no KAFKA_BROKERS line: ${JSON.stringify(out)}`);
    this.brokers = line.slice('KAFKA_BROKERS='.length).split(',');
    return this.brokers;
  }

  /** SIGKILL: a crash. */
  killNode(n: number): void {
    this.run(['kill-node', String(n)]);
  }

  /** SIGTERM: a controlled shutdown. */
  stopNode(n: number): void {
    this.run(['stop-node', String(n)]);
  }

  /** Starts a stopped node again and waits until the cluster lists it. */
  startNode(n: number): void {
    this.run(['start-node', String(n)]);
  }

  /** Stops every node and deletes the data dir. */
  clean(): void {
    this.run(['clean']);
  }

  /** A client of this cluster. Short timeouts and few retries by default: a drill's own loops
   * decide how long to keep trying. */
  kafka(clientId: string, retries = 1): Kafka {
    return new Kafka({
      clientId,
      brokers: this.brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 2_000,
      requestTimeout: 10_000,
      retry: { retries, initialRetryTime: 200, maxRetryTime: 1_000 },
    });
  }
}

export type SendResult = { ok: true } | { ok: false; error: Error; types: string[] };

/**
 * One acks=all send of `value`. The broker waits at most `ackTimeoutMs` for the in-sync
 * replicas. A failure keeps the kafkajs error and the protocol error types in its chain
 * (e.g. REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS).
 */
export async function sendAll(producer: Producer, topic: string, value: string, ackTimeoutMs = 3_000): Promise<SendResult> {
  try {
    await producer.send({ topic, acks: -1, timeout: ackTimeoutMs, messages: [{ key: value, value }] });
    return { ok: true };
  } catch (e) {
    const types: string[] = [];
    for (let x: unknown = e; x && typeof x === 'object'; x = (x as { originalError?: unknown; cause?: unknown }).originalError ?? (x as { cause?: unknown }).cause) {
      const t = (x as { type?: unknown }).type;
      types.push(typeof t === 'string' ? t : (x as Error).name);
      if (types.length > 5) break;
    }
    return { ok: false, error: e as Error, types };
  }
}

/** The leader and ISR of each partition of `topic`, as the cluster reports them now. */
export async function partitionState(admin: Admin, topic: string): Promise<{ partition: number; leader: number; isr: number[]; replicas: number[] }[]> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return topics[0]!.partitions
    .map((p) => ({ partition: p.partitionId, leader: p.leader, isr: [...p.isr].sort(), replicas: [...p.replicas].sort() }))
    .sort((a, b) => a.partition - b.partition);
}
