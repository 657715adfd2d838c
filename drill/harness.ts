/**
 * What the cluster drill runs against, all on 127.0.0.1: a private 3-node Kafka cluster, the
 * output topic, a webhook receiver and three router replicas; and the clean-up of all of it,
 * on success, on failure and on Ctrl-C.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { LocalCluster } from '../src/testing/local-cluster.js';
import { startReceiver, type Receiver } from '../src/testing/receiver.js';
import { sleep } from '../src/sleep.js';
import { ROOT, logTail, spawnReplica, stopReplica, waitReady, type Replica } from './replicas.js';

export interface HarnessOptions {
  /** false: the replicas run the embedded default (each its own spool), to check the drill itself. */
  cluster: boolean;
  print: (line: string) => void;
}

export class Harness {
  readonly dir = mkdtempSync(join(tmpdir(), 'kcr-drill-'));
  readonly run = randomBytes(4).toString('hex');
  readonly topic = `drill.events.${this.run}`;
  private readonly port = Number(process.env.DRILL_KAFKA_PORT ?? 19692);
  readonly cluster = new LocalCluster(this.port, Number(process.env.DRILL_KAFKA_CONTROLLER_PORT ?? this.port + 100), join(tmpdir(), `kcr-drill-kafka-${this.port}`));
  replicas: Replica[] = [];
  receiver: Receiver | undefined;
  private clusterStarted = false;

  constructor(private readonly o: HarnessOptions) {}

  /** Starts everything; throws (after printing what it knows) when any part does not come up. */
  async setUp(): Promise<void> {
    const t0 = Date.now();
    await this.cluster.runAsync(['clean'], 90_000); // leftovers of an aborted run on these ports
    this.clusterStarted = true;
    await this.cluster.startAsync();
    this.o.print(`3 Kafka nodes on ${this.cluster.brokers.join(',')} (${secs(Date.now() - t0)})`);
    await this.createTopic();
    this.receiver = await startReceiver();
    const env = this.replicaEnv(this.receiver.url);
    this.replicas = await Promise.all([1, 2, 3].map((n) => spawnReplica(n, this.dir, env)));
    await Promise.all(this.replicas.map((r) => waitReady(r, 90_000))); // on failure the drill prints their output
    const mode = this.o.cluster ? `cluster mode, prefix ${env.CLUSTER_PREFIX}` : 'embedded mode (harness check)';
    this.o.print(`3 replicas ready on ${this.replicas.map((r) => r.url).join(', ')}, ${mode}; topic ${this.topic} (${secs(Date.now() - t0)})`);
  }

  private replicaEnv(webhookUrl: string): Record<string, string> {
    return {
      KAFKA_BROKERS: this.cluster.brokers.join(','),
      ROUTES_CONFIG: join(ROOT, 'drill', 'routes.drill.ts'),
      DRILL_TOPIC: this.topic,
      DRILL_WEBHOOK_URL: webhookUrl,
      LOG_LEVEL: 'info',
      // Longer stacks in the logs: kafkajs errors surface ten frames deep in its own code.
      NODE_OPTIONS: '--stack-trace-limit=40',
      SHUTDOWN_TIMEOUT_MS: '5000',
      DISPATCH_POLL_MS: '100',
      // Always set, so a ROUTER_MODE in the drill's own environment cannot leak in.
      ROUTER_MODE: this.o.cluster ? 'cluster' : 'embedded',
      ...(this.o.cluster
        ? {
            // Unique per run: topics and consumer groups of earlier runs never mix in.
            CLUSTER_PREFIX: `drill${this.run}`,
            CLUSTER_PARTITIONS: '6',
            CLUSTER_REPLICATION_FACTOR: '3',
            CLUSTER_SESSION_TIMEOUT_MS: '6000',
            INTAKE_ACK_TIMEOUT_MS: '15000',
          }
        : {}),
    };
  }

  /** The output topic up front (6 partitions, 3 replicas), so a reader can join before the load. */
  private async createTopic(): Promise<void> {
    const admin: Admin = this.cluster.kafka('drill-admin', 5).admin();
    await admin.connect();
    try {
      // Not waitForLeaders: kafkajs asks one broker, which may not know the new topic yet.
      await admin.createTopics({ waitForLeaders: false, topics: [{ topic: this.topic, numPartitions: 6, replicationFactor: 3 }] });
      const until = Date.now() + 30_000;
      for (;;) {
        const meta = await admin.fetchTopicMetadata({ topics: [this.topic] }).catch(() => undefined);
        const parts = meta?.topics[0]?.partitions ?? [];
        if (parts.length === 6 && parts.every((p) => p.leader >= 0)) return;
        if (Date.now() > until) throw new Error(`topic ${this.topic} has no leader for every partition after 30 s`);
        await sleep(250);
      }
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /**
   * The processors' consumer group as Kafka sees it (docs/cluster-mode.md names it and the intake
   * topic): its state, its members and, per intake partition, the records not yet processed. A
   * replica whose consumer died while its process lives shows here and nowhere else.
   */
  async intakeReport(): Promise<string> {
    const prefix = `drill${this.run}`;
    const admin = this.cluster.kafka('drill-admin', 3).admin();
    try {
      await admin.connect();
      const [{ groups }, committed, ends] = await Promise.all([
        admin.describeGroups([`${prefix}-router`]),
        admin.fetchOffsets({ groupId: `${prefix}-router`, topics: [`${prefix}.intake`] }),
        admin.fetchTopicOffsets(`${prefix}.intake`),
      ]);
      const g = groups[0];
      const lag = (committed[0]?.partitions ?? [])
        .sort((a, b) => a.partition - b.partition)
        .map((p) => {
          const end = Number(ends.find((e) => e.partition === p.partition)?.high ?? 0);
          return `p${p.partition} ${Number(p.offset) < 0 ? end : end - Number(p.offset)}`;
        });
      return `intake group ${prefix}-router: ${g?.state ?? 'unknown'}, ${g?.members.length ?? 0} member(s); not yet processed: ${lag.join(', ')}`;
    } catch (e) {
      return `intake group: could not be read (${e instanceof Error ? e.message : String(e)})`;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Copies each Kafka node's server.log into the drill's dir (which outlives the cluster's data). */
  keepBrokerLogs(): string[] {
    const kept: string[] = [];
    for (const n of [1, 2, 3]) {
      const from = join(this.cluster.dataDir, `node-${n}`, 'logs', 'server.log');
      const to = join(this.dir, `kafka-node-${n}.log`);
      try {
        copyFileSync(from, to);
        kept.push(to);
      } catch {
        // a node that never started has no log
      }
    }
    return kept;
  }

  /** The replicas' output, for a failure report. */
  tails(lines = 30): string[] {
    return this.replicas.map((r) => `replica ${r.n} (${r.logPath}):\n${logTail(r, lines)}`);
  }

  /**
   * Stops the replicas and the receiver, deletes the cluster (killed, not stopped: its data goes
   * anyway, and a controlled shutdown of three nodes at once can take its full timeout) and the
   * temp dir unless `keepDir` (the replicas' logs, for whoever investigates a failure).
   */
  async tearDown(keepDir: boolean, keepCluster = false): Promise<void> {
    await Promise.all(this.replicas.map((r) => stopReplica(r, 5_000)));
    await this.receiver?.close();
    if (this.clusterStarted && keepCluster) {
      const env = `KAFKA_NODES=3 KAFKA_PORT=${this.cluster.port} KAFKA_CONTROLLER_PORT=${this.cluster.controllerPort} KAFKA_DATA=${this.cluster.dataDir}`;
      this.o.print(`Kafka cluster kept running on ${this.cluster.brokers.join(',')} (prefix drill${this.run}); remove it with: ${env} scripts/kafka.sh clean`);
    } else if (this.clusterStarted) {
      for (const n of [1, 2, 3]) await this.cluster.runAsync(['kill-node', String(n)], 30_000).catch(() => undefined);
      await this.cluster.runAsync(['clean'], 60_000).catch((e: Error) => this.o.print(`cleaning the cluster failed: ${e.message}`));
    }
    if (!keepDir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** For a signal handler: synchronous, no waiting for an orderly anything. */
  abortNow(): void {
    for (const r of this.replicas) if (r.alive()) r.proc.kill('SIGKILL');
    if (this.clusterStarted) {
      try {
        for (const n of [1, 2, 3]) this.cluster.run(['kill-node', String(n)], 30_000);
        this.cluster.run(['clean'], 60_000);
      } catch {
        // best effort: the next run cleans these ports first anyway
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
