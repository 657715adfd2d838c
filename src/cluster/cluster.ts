/**
 * The cluster mode, wired: the topics, the edge (ingest role), the partition owners and the
 * webhook outbox (deliver role), and the figures /readyz and /metrics show for them. The
 * router composes it in place of the embedded spool-and-dispatcher when ROUTER_MODE=cluster.
 * Every part reads the live config, so a reload (`prepare`) applies to this replica's edge,
 * owners and outbox; each replica reloads its own file.
 */
import { Kafka, type KafkaConfig } from 'kafkajs';
import { createDestinations, type LiveDestinations } from '../destinations/index.js';
import { KafkaConnection } from '../destinations/kafka-connection.js';
import { kafkaConfig as clientConfig } from '../kafka/client-config.js';
import { KafkaTopicDestination, DEFAULT_KAFKA_CLIENT_ID } from '../destinations/kafka.js';
import { Dispatcher, type DeliveryObserver } from '../dispatch/dispatcher.js';
import { ConfigError, errorMessage } from '../errors.js';
import { sleep } from '../sleep.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicyOptions } from '../retry/policy.js';
import type { CompiledConfig } from '../route/compile.js';
import type { ConfigSource } from '../route/live-config.js';
import { matchRoutes } from '../route/match.js';
import type { AppliedConfig, ConfigDiff } from '../route/reload.js';
import type { ClusterSettings, Settings } from '../settings.js';
import type { Spool } from '../spool/spool.js';
import type { Destination } from '../destinations/types.js';
import { ClusterBackfill, operationsWithBackfill } from './backfill.js';
import type { BackgroundConsumer } from './consumers.js';
import { followDeadLetters, OutboxWriter } from './dead-letters.js';
import { ClusterEdge, INTAKE_REF } from './edge.js';
import { WebhookOutbox } from './outbox.js';
import { PartitionProcessor } from './processor.js';
import { StateFollower } from './state-follower.js';
import { clusterNames, ensureClusterTopics, type ClusterNames } from './topics.js';

export { FORWARD_PLAN } from './edge.js';

/** The forwarder never gives up: a callback answered 2xx reaches the intake topic, however long Kafka is away. */
const FORWARD_POLICY: RetryPolicyOptions = { ...DEFAULT_RETRY_POLICY, initialDelayMs: 200, maxDelayMs: 5_000, maxAttempts: Number.MAX_SAFE_INTEGER, maxAgeMs: Number.MAX_SAFE_INTEGER, retryStatuses: [] };

export interface ClusterDeps {
  /** The config being served (the router's LiveConfig): read per callback, per batch, per reload. */
  config: ConfigSource<CompiledConfig>;
  settings: Settings & { cluster: ClusterSettings };
  /** The local spool: the fallback of the edge (its plan must be FORWARD_PLAN). */
  spool: Spool;
  logger: Logger;
  metrics: Metrics;
  /** Told of dead letters, disabled destinations and circuits (the operational alerts), by the forwarder and the outbox. */
  observers?: readonly DeliveryObserver[];
}

export interface RunningCluster {
  /** The edge's accept step (null on a deliver-only replica). */
  edge: ClusterEdge | null;
  /** The fallback forwarder: the spool's dispatcher with the one intake destination. */
  forwarder: Dispatcher;
  status(): Record<string, unknown>;
  /** An ingest replica whose callbacks go straight to the intake topic (not to the fallback spool). */
  kafkaAccepts(): boolean;
  /** Backfill over the intake topic (the log of record), for the operations. */
  backfill: ClusterBackfill;
  /** The webhook outbox (null on an ingest-only replica): its queue for the oldest-pending check. */
  outbox: WebhookOutbox | null;
  /**
   * Readies this replica for a reloaded config before it is swapped in: creates the output topics
   * it adds (refusing the reload when Kafka cannot), opens its webhooks; the returned `finish`
   * starts and stops the outbox's groups and workers. The edge and the owners need nothing: they
   * read the live config per callback and per batch.
   */
  prepare(next: CompiledConfig, changes: ConfigDiff): Promise<() => Promise<AppliedConfig>>;
  close(deadlineMs: number): Promise<void>;
}

export async function startCluster({ config, settings, spool, logger, metrics, observers = [] }: ClusterDeps): Promise<RunningCluster> {
  const { cluster } = settings;
  const names = clusterNames(cluster.prefix);
  const clientId = `${DEFAULT_KAFKA_CLIENT_ID}-${cluster.prefix}`;
  const conn = new KafkaConnection({ brokers: settings.kafkaBrokers, clientId, logger, security: settings.kafka, requestTimeoutMs: settings.kafkaRequestTimeoutMs });
  let closed = false;
  const ready = await topicsReady(() => createTopics(conn, names, cluster, settings.retentionMs, config.current, logger), () => closed, logger);
  let topicsExist = false;
  const forwarding = forwarderOf(spool, config.current, names, conn, settings, logger, metrics, observers);
  const forwarder = forwarding.dispatcher;
  // A client of its own, with kafkajs' retries: consumers and transactions retry inside it.
  const kafkaConfig: KafkaConfig = clientConfig({ clientId, brokers: settings.kafkaBrokers, security: settings.kafka, logger, requestTimeoutMs: settings.kafkaRequestTimeoutMs });
  const kafka = new Kafka(kafkaConfig);
  const plan = (e: Parameters<typeof matchRoutes>[0]) => matchRoutes(e, config.current.table);
  const edge = cluster.role !== 'deliver' ? new ClusterEdge({ conn, topic: names.intake, spool, ackTimeoutMs: cluster.intakeAckTimeoutMs, plan, ready: () => topicsExist, logger, metrics }) : null;
  const deliver = cluster.role !== 'ingest' ? deliverSide({ kafka, kafkaConfig, names, conn, config, settings, logger, metrics, observers }) : null;
  // Consumers start in the background once the topics exist: a replica comes up while Kafka is
  // down, and its edge takes callbacks into the spool meanwhile.
  const parts: { deadFollower: BackgroundConsumer | null } = { deadFollower: null };
  void ready().then(() => {
    if (closed) return;
    topicsExist = true;
    forwarder.start();
    parts.deadFollower = followDeadLetters(kafka, names, spool.deadMirror, logger);
    deliver?.start();
  });
  defineClusterMetrics(metrics, { processor: deliver?.processor ?? null, outbox: deliver?.outbox ?? null, follower: deliver?.follower ?? null, spool });
  // The destinations of the config being served when the backfill is asked for (a reload may add one).
  const served = {
    get destinations() {
      return config.current.destinations;
    },
  };
  const backfill = new ClusterBackfill({ kafka, conn, names, config: served, dedupeWindowMs: settings.dedupeWindowMs, retentionMs: settings.retentionMs });
  logger.info('cluster mode', { role: cluster.role, prefix: cluster.prefix, intake: names.intake, group: names.group });

  return {
    edge,
    forwarder,
    status: () => ({
      role: cluster.role,
      intake: edge ? (edge.fallingBack ? 'local spool (Kafka did not ack; forwarding)' : 'kafka') : 'not this role',
      topics: topicsExist ? 'ok' : 'not created yet (Kafka unreachable)',
      partitions: deliver?.processor.status() ?? null,
      outbox_depth: deliver?.outbox.queue.depth() ?? null,
    }),
    kafkaAccepts: () => edge !== null && !edge.fallingBack && topicsExist,
    backfill,
    outbox: deliver?.outbox ?? null,
    async prepare(next, changes) {
      // First, as it may fail: nothing is changed until the new config's topics exist.
      await createNewOutputs(conn, names, cluster, settings.retentionMs, config.current, next);
      const replays = forwarding.addWebhooks(next);
      const finishOutbox = deliver?.reconfigure(next);
      return async () => {
        await forwarder.reconfigure({ added: replays, changed: [], removed: [] });
        await finishOutbox?.();
        const { added, changed, removed } = changes.destinations;
        return { destinations: { started: added, replaced: changed, stopped: removed }, pendingForUnconfigured: forwarder.orphaned() };
      };
    },
    async close(deadlineMs) {
      closed = true;
      edge?.close();
      await deliver?.close(deadlineMs);
      await parts.deadFollower?.close();
      await forwarder.stop(deadlineMs);
      await conn.close();
    },
  };
}

const webhookRefsOf = (config: CompiledConfig): string[] => [...config.destinations].filter(([, d]) => d.kind === 'webhook').map(([ref]) => ref);

/**
 * The spool's dispatcher in cluster mode: it forwards the fallback backlog to the intake topic,
 * and replayed dead letters to the outbox (the spool mirrors the dead-letter topic).
 * `addWebhooks` gives a reloaded config's new webhooks their writer (the caller then moves the
 * dispatcher's workers); writers of removed ones are kept: a replay to one waits in the outbox
 * topic, with its group's other records, for a config that names it again.
 */
function forwarderOf(spool: Spool, config: CompiledConfig, names: ClusterNames, conn: KafkaConnection, settings: Settings, logger: Logger, metrics: Metrics, observers: readonly DeliveryObserver[]) {
  const destinations = new Map<string, Destination>([[INTAKE_REF, new KafkaTopicDestination(INTAKE_REF, { name: names.intake }, conn)]]);
  const policies = new Map<string, RetryPolicyOptions>([[INTAKE_REF, FORWARD_POLICY]]);
  const addWebhooks = (next: CompiledConfig): string[] => {
    const added = webhookRefsOf(next).filter((ref) => !destinations.has(ref));
    for (const ref of added) {
      destinations.set(ref, new OutboxWriter(ref, conn, names));
      policies.set(ref, FORWARD_POLICY);
    }
    return added;
  };
  addWebhooks(config);
  const dispatcher = new Dispatcher({
    queue: spool.queue,
    destinations: { destinations, policies },
    logger,
    metrics,
    pollMs: settings.dispatchPollMs,
    // Its deliveries are the spool's own: their attempts join the replica's message timeline.
    observers: [spool.attempts, ...observers],
  });
  return { dispatcher, addWebhooks };
}

interface DeliverDeps {
  kafka: Kafka;
  kafkaConfig: KafkaConfig;
  names: ClusterNames;
  conn: KafkaConnection;
  config: ConfigSource<CompiledConfig>;
  settings: Settings & { cluster: ClusterSettings };
  logger: Logger;
  metrics: Metrics;
  observers: readonly DeliveryObserver[];
}

/** The config with its webhook destinations only: what the outbox delivers to. */
const webhooksOf = (config: CompiledConfig): CompiledConfig => ({ ...config, destinations: new Map([...config.destinations].filter(([, d]) => d.kind === 'webhook')) });

/** The deliver role: the state follower, the partition owners and the webhook outbox. */
function deliverSide({ kafka, kafkaConfig, names, conn, config, settings, logger, metrics, observers }: DeliverDeps) {
  const { cluster } = settings;
  const follower = new StateFollower(kafka, names.state, `${names.group}-state`, logger);
  const concurrency = Math.min(cluster.partitions, 32);
  const processor = new PartitionProcessor({ kafka, kafkaConfig, compression: settings.kafka.compression, names, follower, config, dedupeWindowMs: settings.dedupeWindowMs, retentionMs: settings.retentionMs, sessionTimeoutMs: cluster.sessionTimeoutMs, concurrency, logger, metrics });
  const webhooks: LiveDestinations = createDestinations(webhooksOf(config.current), { kafkaBrokers: [], sinkDir: settings.sinkDir, logger });
  const outbox = new WebhookOutbox({ kafka, names, webhooks, conn, sessionTimeoutMs: cluster.sessionTimeoutMs, partitions: cluster.partitions, concurrency, logger, metrics, observers });
  return {
    processor,
    outbox,
    follower,
    /** Opens `next`'s new and changed webhooks now; the returned step moves the outbox to them. */
    reconfigure(next: CompiledConfig): () => Promise<void> {
      const changes = webhooks.reconfigure(webhooksOf(next));
      return async () => {
        await outbox.reconfigure(changes);
        await changes.release();
      };
    },
    start(): void {
      follower.start();
      processor.start();
      outbox.start();
    },
    async close(deadlineMs: number): Promise<void> {
      await processor.close();
      await outbox.close(deadlineMs);
      await follower.close();
      await webhooks.close();
    },
  };
}

/**
 * The spool's parts as the operations see them in cluster mode: the same, except that a backfill
 * reads the intake topic (the replica's own spool holds only its fallback backlog and the
 * dead letters).
 */
export function clusterStore(spool: Spool, backfill: ClusterBackfill) {
  return {
    commits: spool.commits,
    queue: spool.queue,
    rejected: spool.rejected,
    timeline: spool.timeline,
    operations: operationsWithBackfill(spool.operations, (destination, f, o) => backfill.backfill(destination, f, o)),
  };
}

/**
 * The cluster topics and the configured output topics. A broker that cannot be reached does not
 * stop the start-up (the edge falls back to the spool, consumers retry); topics that contradict
 * the design (intake and state partitions differ) do.
 */
async function createTopics(conn: KafkaConnection, names: ClusterNames, cluster: ClusterSettings, retentionMs: number, config: CompiledConfig, logger: Logger): Promise<boolean> {
  const outputs = outputsOf(config);
  const admin = conn.client.admin();
  try {
    await admin.connect();
    await ensureClusterTopics(admin, names, { partitions: cluster.partitions, replicationFactor: cluster.replicationFactor, retentionMs, outputs }, 30_000);
    return true;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    logger.error('cluster topics not checked (is Kafka reachable?); callbacks go to the local spool until they are', { error: errorMessage(err) });
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

const outputsOf = (config: CompiledConfig) => [...config.destinations.values()].filter((d) => d.kind === 'kafka').map((d) => d.config as { name: string; partitions?: number });

/**
 * The output topics a reloaded config adds, created as at start-up before it is swapped in: an
 * owner producing to a topic that does not exist yet could have Kafka create it with the broker's
 * defaults. Throws (and the reload is refused) when Kafka cannot create them.
 */
async function createNewOutputs(conn: KafkaConnection, names: ClusterNames, cluster: ClusterSettings, retentionMs: number, current: CompiledConfig, next: CompiledConfig): Promise<void> {
  const known = new Set(outputsOf(current).map((o) => o.name));
  const outputs = outputsOf(next).filter((o) => !known.has(o.name));
  if (outputs.length === 0) return;
  const admin = conn.client.admin();
  try {
    await admin.connect();
    await ensureClusterTopics(admin, names, { partitions: cluster.partitions, replicationFactor: cluster.replicationFactor, retentionMs, outputs }, 15_000);
  } catch (err) {
    throw new Error(`the new output topics (${outputs.map((o) => o.name).join(', ')}) could not be created: ${errorMessage(err)}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Resolves once the cluster topics exist: the first try is awaited, so a contradiction (intake
 * and state partitions differ) stops the start-up; if Kafka cannot be reached, the tries go on in
 * the background (every 5 s) until it can, or `closed()`. Nothing produces or subscribes before
 * (a produce would create the intake topic with the broker's defaults).
 */
async function topicsReady(create: () => Promise<boolean>, closed: () => boolean, logger: Logger): Promise<() => Promise<void>> {
  if (await create()) return () => Promise.resolve();
  const ready = (async () => {
    while (!closed()) {
      await sleep(5_000);
      try {
        if (await create()) return;
      } catch (err) {
        // A contradiction found late cannot stop the start-up any more: say it loudly, keep spooling.
        logger.error('cluster topics contradict the settings; nothing is forwarded until this is fixed', { error: errorMessage(err) });
        return new Promise<void>(() => undefined);
      }
    }
  })();
  return () => ready;
}

function defineClusterMetrics(metrics: Metrics, parts: { processor: PartitionProcessor | null; outbox: WebhookOutbox | null; follower: StateFollower | null; spool: Spool }): void {
  metrics.define('cluster_rebalances_total', 'Consumer-group rebalances this replica joined (intake partition owners).');
  metrics.define('cluster_intake_fallbacks_total', 'Batches of callbacks committed to the local spool because the intake topic did not ack in time.');
  metrics.gauge('cluster_fallback_depth', 'Callbacks in the local spool waiting to be forwarded to the intake topic.', () => [
    // From the spool's running tally: a count over the backlog's index would grow with the backlog.
    [{}, parts.spool.deliveryCounts.read().find((r) => r.destination === INTAKE_REF && r.state === 'pending')?.n ?? 0],
  ]);
  metrics.gauge('cluster_intake_lag', 'Records behind the end of each intake partition this replica owns.', () =>
    Object.entries(parts.processor?.status().lag ?? {}).map(([p, lag]) => [{ partition: p }, lag]),
  );
  metrics.gauge('cluster_partitions_assigned', 'Intake partitions this replica owns.', () => [[{}, parts.processor?.status().assigned.length ?? 0]]);
  metrics.gauge('cluster_state_messages', 'Message states this replica holds in memory, over all partitions (about 250 bytes each).', () => [[{}, parts.follower?.size() ?? 0]]);
  metrics.gauge('cluster_outbox_pending', 'Webhook deliveries fetched from the outbox and not yet done.', () => [[{}, parts.outbox?.queue.depth() ?? 0]]);
}
