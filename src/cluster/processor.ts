/**
 * The partition owners: a consumer group over the intake topic. For each batch of one partition
 * the accept step runs against that partition's state (resend? stale?), the routed records go to
 * their Kafka topics, the planned webhook deliveries to the outbox topic and the state changes to
 * the state topic, all in one transaction with the intake offsets: exactly once into Kafka.
 * Each partition has its own transactional producer (kcr.<intake>.<p>), so whoever owns it next
 * fences this one; see src/kafka/transactions.ts for why it cannot be one per replica.
 * Each batch is routed with the config of its moment (read once from the live config, so a
 * reload applies from the next batch), and each record it writes carries the callback's trace on
 * as a child span.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer, type EachBatchPayload, type KafkaConfig, type KafkaMessage, type Message, type Producer } from 'kafkajs';
import { acceptEvent } from '../accept/accept.js';
import { kafkaRecord } from '../destinations/kafka-record.js';
import type { DeliveryItem } from '../destinations/types.js';
import { errorMessage } from '../errors.js';
import type { DeliveryEvent } from '../event.js';
import { withCompression, type KafkaCompression } from '../kafka/client-config.js';
import { javaCompatiblePartitioner } from '../kafka/partitioner.js';
import { isProducerFenced, nextOffset, refusedUnwritten, retryConcurrentTransactions, transactionalIdFor } from '../kafka/transactions.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { CompiledConfig } from '../route/compile.js';
import type { ConfigSource } from '../route/live-config.js';
import { matchRoutes } from '../route/match.js';
import { childContext } from '../trace/context.js';
import { sleep } from '../sleep.js';
import { MARKER_KEY, StateBatch, type PartitionStates } from './state.js';
import { BackgroundConsumer, retriable, subscribeWhenKnown } from './consumers.js';
import { recordTrace } from './record-trace.js';
import type { StateFollower } from './state-follower.js';
import type { ClusterNames } from './topics.js';

/** The outbox record's header naming its webhook destination, and when the event was accepted. */
export const OUTBOX_DESTINATION_HEADER = 'kcr-destination';
export const OUTBOX_FIRST_AT_HEADER = 'kcr-first-at';

/** How long a take-over waits for the state follower to reach its marker before it tries again. */
const RESTORE_DEADLINE_MS = 60_000;

export interface ProcessorDeps {
  /** The consumer's client. */
  kafka: Kafka;
  /** How to make another client like it: each owner's producer gets its own (see Owner.produce). */
  kafkaConfig: KafkaConfig;
  /** KAFKA_COMPRESSION, for the owners' transactional producers. */
  compression: KafkaCompression;
  names: ClusterNames;
  follower: StateFollower;
  /** The config being served: its rules and destinations are read once per batch. */
  config: ConfigSource<Pick<CompiledConfig, 'destinations' | 'table'>>;
  dedupeWindowMs: number;
  retentionMs: number;
  sessionTimeoutMs: number;
  /** Partitions processed at once (at most the partitions this replica owns). */
  concurrency: number;
  logger: Logger;
  metrics: Metrics;
}

interface Owner {
  producer: Producer;
  state: PartitionStates;
  /**
   * `retried` is set when kafkajs retried a produce of this owner's after a failure that may have
   * written (a leader killed mid-produce: the drill saw the same 31 records at two offsets, both
   * committed). Such a transaction is aborted and its batch processed again, never committed.
   */
  produce: { retried: boolean };
}

export class PartitionProcessor {
  private readonly owners = new Map<number, Owner>();
  private readonly lag = new Map<number, number>();
  private assigned: number[] = [];
  private readonly counts = new Map<string, number>();
  private readonly partitioner = javaCompatiblePartitioner();
  private consumer: BackgroundConsumer | null = null;
  private closed = false;

  constructor(private readonly deps: ProcessorDeps) {}

  /** Joins the group in the background (see BackgroundConsumer). */
  start(): void {
    const { names } = this.deps;
    this.consumer = new BackgroundConsumer(
      'partition owners',
      () => this.makeConsumer(),
      async (consumer) => {
        await subscribeWhenKnown(consumer, { topics: [names.intake], fromBeginning: true }, this.deps.logger);
        await consumer.run({
          autoCommit: false,
          partitionsConsumedConcurrently: this.deps.concurrency,
          eachBatch: (payload) =>
            this.handle(payload).catch((err: unknown) => {
              throw retriable(err);
            }),
        });
      },
      this.deps.logger,
    );
  }

  private makeConsumer(): Consumer {
    const { kafka, names, sessionTimeoutMs, metrics, logger } = this.deps;
    const consumer = kafka.consumer({
      groupId: names.group,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(sessionTimeoutMs / 5)),
      rebalanceTimeout: Math.max(sessionTimeoutMs * 3, 30_000),
      // A transaction costs about ten round trips whatever its size, and kafkajs fetches again only
      // once the last fetch's batches are committed: with minBytes 1 that came to ~12 callbacks
      // per transaction under steady load. The broker holds a fetch until 1 MiB or 100 ms have
      // gathered, so batches grow with the load: 1.2-1.4x the callbacks/s on one replica
      // (docs/cluster-mode.md, "Capacity model"), for up to 100 ms more before a lone callback
      // reaches its topic.
      maxWaitTimeInMs: 100,
      minBytes: 1024 * 1024,
      maxBytesPerPartition: 512 * 1024,
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => logger.error('intake consumer crashed', { error: errorMessage(payload.error), restart: payload.restart }));
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      metrics.inc('cluster_rebalances_total');
      this.assigned = [...(payload.memberAssignment[names.intake] ?? [])].sort((a, b) => a - b);
      for (const p of [...this.owners.keys()]) if (!this.assigned.includes(p)) this.drop(p, 'revoked');
      for (const p of [...this.lag.keys()]) if (!this.assigned.includes(p)) this.lag.delete(p);
      logger.info('intake partitions assigned', { partitions: this.assigned });
    });
    return consumer;
  }

  /** Partitions this replica owns now, and the intake lag of each (records behind the end). */
  status(): { assigned: number[]; lag: Record<number, number> } {
    return { assigned: this.assigned, lag: Object.fromEntries(this.lag) };
  }

  private async handle(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const p = batch.partition;
    this.lag.set(p, Number(batch.offsetLag()));
    if (batch.messages.length === 0) return;
    const owner = await this.own(p, payload);
    const state = new StateBatch(owner.state, this.deps.retentionMs);
    const { out, tally } = this.route(batch.messages, p, state);
    try {
      await this.commit(owner, p, out, state.records(p, Date.now()), nextOffset(batch.lastOffset()));
    } catch (err) {
      // Whatever happened (fenced, aborted, or a commit whose outcome is unknown), this owner's
      // view is no longer trusted: the next batch fences again and restores from the state topic.
      this.drop(p, isProducerFenced(err) ? 'fenced by another replica' : `transaction failed: ${errorMessage(err)}`);
      throw err;
    }
    state.apply();
    // Counted once committed: a batch processed again after an abort is not counted twice.
    for (const [name, labels] of tally) this.deps.metrics.inc(name, labels);
    this.lag.set(p, Number(batch.offsetLag()));
  }

  /**
   * The accept step over one batch: the records each event leads to, by topic, and the counters
   * to add once they are committed. Resends lead to none; the record of an event is the same as
   * the embedded router's (kafkaRecord).
   */
  private route(messages: readonly Pick<KafkaMessage, 'value' | 'headers'>[], p: number, state: StateBatch): { out: Map<string, Message[]>; tally: [string, Record<string, string>][] } {
    const { names, dedupeWindowMs, metrics, logger } = this.deps;
    // One config for the whole batch: a reload that lands meanwhile applies from the next one.
    const config = this.deps.config.current;
    const plan = (e: DeliveryEvent) => matchRoutes(e, config.table);
    const out = new Map<string, Message[]>();
    const tally: [string, Record<string, string>][] = [];
    const push = (topic: string, m: Message) => {
      const list = out.get(topic);
      if (list) list.push(m);
      else out.set(topic, [m]);
    };
    const now = Date.now();
    for (const m of messages) {
      let event: DeliveryEvent;
      try {
        event = JSON.parse(m.value?.toString('utf8') ?? '') as DeliveryEvent;
      } catch (err) {
        // Only this router writes the intake; a record it cannot read is logged and passed over.
        metrics.inc('cluster_intake_unreadable_total');
        logger.error('intake record is not an event; skipped', { partition: p, error: errorMessage(err) });
        continue;
      }
      // Staleness is the owner's call alone (a fallback spool may have guessed at it).
      const decision = acceptEvent({ ...event, stale: false }, state.forMessage(event.message_key), { plan, dedupeWindowMs, now: () => now });
      if (decision.duplicate) {
        tally.push(['callbacks_duplicate_total', { profile: event.profile }]);
        continue;
      }
      if (decision.stale) tally.push(['callbacks_stale_total', { profile: event.profile }]);
      const e = decision.event;
      // The retry policy's maxAge counts from when the callback was accepted at the edge.
      const firstAt = String(Date.parse(e.received_at) || now);
      const item: DeliveryItem = { eventId: e.event_id, messageKey: e.message_key, type: e.type, body: JSON.stringify(e) };
      // The intake record names the callback's span; each record written for it is a child span.
      const callback = recordTrace(m.headers);
      for (const ref of decision.route.destinations) {
        const dest = config.destinations.get(ref);
        const traced = { ...item, trace: callback && childContext(callback) };
        if (dest?.kind === 'kafka') push((dest.config as { name: string }).name, kafkaRecord(traced));
        else if (dest?.kind === 'webhook') {
          const r = kafkaRecord(traced);
          push(names.webhooks, { ...r, partition: p, headers: { ...r.headers, [OUTBOX_DESTINATION_HEADER]: ref, [OUTBOX_FIRST_AT_HEADER]: firstAt } });
        }
      }
      tally.push(['cluster_events_routed_total', { profile: event.profile }]);
    }
    return { out, tally };
  }

  private async commit(owner: Owner, p: number, out: Map<string, Message[]>, stateRecords: Message[], offset: string): Promise<void> {
    const { names } = this.deps;
    if (stateRecords.length > 0) out.set(names.state, [...(out.get(names.state) ?? []), ...stateRecords]);
    const sends = await this.byPartition(out);
    const txn = await owner.producer.transaction();
    try {
      // Offsets first: right after the previous commit the coordinator may still be completing it
      // (CONCURRENT_TRANSACTIONS), and this is the step retried here; by the sends, it is done.
      await retryConcurrentTransactions(() =>
        txn.sendOffsets({ consumerGroupId: names.group, topics: [{ topic: names.intake, partitions: [{ partition: p, offset }] }] }),
      );
      owner.produce.retried = false;
      // One partition per request, one after another: kafkajs sends a batch for several brokers in
      // parallel, and when one broker's part fails (CONCURRENT_TRANSACTIONS on its
      // AddPartitionsToTxn is enough) it sends the parts still in flight again, under new
      // sequence numbers: the same records twice in one transaction (seen in the drill).
      for (const s of sends) await txn.send({ topic: s.topic, acks: -1, messages: s.messages });
      if (owner.produce.retried) throw new Error('a produce was retried inside the transaction; aborted, so that no record is written twice');
      await txn.commit();
    } catch (err) {
      if (!isProducerFenced(err)) await txn.abort().catch(() => undefined);
      throw err;
    }
  }

  /** The records by topic and partition (the output topics' by javaCompatiblePartitioner, as the embedded router's are). */
  private async byPartition(out: Map<string, Message[]>): Promise<{ topic: string; messages: Message[] }[]> {
    const groups = new Map<string, { topic: string; messages: Message[] }>();
    for (const [topic, messages] of out) {
      const count = messages.some((m) => m.partition === undefined) ? await this.partitionCount(topic) : 0;
      const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [], isr: [] }));
      for (const m of messages) {
        const partition = m.partition ?? this.partitioner({ topic, partitionMetadata, message: m });
        const key = `${topic}\u0000${partition}`;
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { topic, messages: [] }));
        g.messages.push({ ...m, partition });
      }
    }
    return [...groups.values()];
  }

  /** Partitions of an output topic, asked once and kept (the router never adds any). */
  private async partitionCount(topic: string): Promise<number> {
    const known = this.counts.get(topic);
    if (known !== undefined) return known;
    const admin = this.deps.kafka.admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      const n = meta.topics[0]?.partitions.length ?? 0;
      if (n === 0) throw new Error(`topic ${topic} has no partitions (yet)`);
      this.counts.set(topic, n);
      return n;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /**
   * This replica's producer for partition `p`, and the partition's state: connecting the producer
   * fences the previous owner (aborting its open transaction); the marker then shows where the
   * state it committed ends.
   */
  private async own(p: number, { heartbeat, isRunning, isStale }: EachBatchPayload): Promise<Owner> {
    const known = this.owners.get(p);
    if (known) return known;
    const { kafkaConfig, compression, names, follower, logger } = this.deps;
    const produce = { retried: false };
    const forward = kafkaConfig.logCreator?.(logLevel.WARN);
    const client = new Kafka({
      ...kafkaConfig,
      logLevel: logLevel.WARN,
      // kafkajs logs each failed produce (at error level, from its producer) before it retries it.
      logCreator: () => (entry) => {
        if (entry.namespace === 'Producer' && entry.level === logLevel.ERROR && !refusedUnwritten(String(entry.log.message))) produce.retried = true;
        forward?.(entry);
      },
    });
    const producer = withCompression(
      client.producer({
        // kafkajs' default for a transactional producer is to retry forever (a partition owner
        // stuck in a retry never rejoins its group); bounded, a failure surfaces and the batch is
        // processed again after a new take-over.
        retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
        transactionalId: transactionalIdFor(names.transactional, names.intake, p),
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: 60_000,
      }),
      compression,
    );
    const nonce = randomUUID();
    const restored = follower.restore(p, nonce);
    try {
      await producer.connect();
      const txn = await producer.transaction();
      await txn.send({ topic: names.state, acks: -1, messages: [{ key: MARKER_KEY, value: nonce, partition: p }] });
      await txn.commit();
      const deadline = Date.now() + RESTORE_DEADLINE_MS;
      for (;;) {
        const state = await Promise.race([restored, sleep(1_000).then(() => null)]);
        if (state) {
          const owner = { producer, state, produce };
          this.owners.set(p, owner);
          logger.info('intake partition taken over', { partition: p, messages: state.size });
          return owner;
        }
        if (this.closed || !isRunning() || isStale()) throw new Error(`partition ${p} was revoked while its state was restored`);
        if (Date.now() > deadline) throw new Error(`the state of partition ${p} was not restored within ${RESTORE_DEADLINE_MS / 1000} s`);
        await heartbeat();
      }
    } catch (err) {
      follower.cancel(p);
      await producer.disconnect().catch(() => undefined);
      throw err;
    }
  }

  private drop(p: number, why: string): void {
    const owner = this.owners.get(p);
    if (!owner) return;
    this.owners.delete(p);
    this.deps.logger.info('intake partition released', { partition: p, why });
    owner.producer.disconnect().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.consumer?.close();
    this.consumer = null;
    for (const p of [...this.owners.keys()]) this.drop(p, 'closing');
  }
}
