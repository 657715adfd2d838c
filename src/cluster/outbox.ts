/**
 * Webhook delivery in cluster mode: one consumer group per webhook destination over the outbox
 * topic, so a failing receiver holds up only its own group. Each fetched batch goes to an
 * in-memory queue that the ordinary dispatcher delivers from (retries, Retry-After, breaker,
 * 410 disables); the batch's offset is committed only once every delivery in it is done or
 * dead-lettered, so a replica that dies mid-batch leaves it to the next owner: at least once,
 * with the same webhook-id (the event id), in partition order.
 * A reload reconfigures it as the embedded dispatcher is: a webhook added starts its group, one
 * removed stops it (what it had not committed stays in the topic for when a config names it again).
 */
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { DestinationChanges, DestinationSet } from '../destinations/index.js';
import type { KafkaConnection } from '../destinations/kafka-connection.js';
import { Dispatcher, type DeliveryObserver, type WorkersChanged } from '../dispatch/dispatcher.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { sleep } from '../sleep.js';
import { BackgroundConsumer, retriable, subscribeWhenKnown } from './consumers.js';
import { DEAD_KIND_HEADER } from './dead-letters.js';
import { OutboxQueue, type OutboxDelivery } from './outbox-queue.js';
import { OUTBOX_DESTINATION_HEADER, OUTBOX_FIRST_AT_HEADER } from './processor.js';
import { headerValue as header, recordTrace } from './record-trace.js';
import type { ClusterNames } from './topics.js';

export interface OutboxDeps {
  kafka: Kafka;
  names: ClusterNames;
  /** The webhook destinations (and their retry policies); a reload changes them in place. */
  webhooks: Pick<DestinationSet, 'destinations' | 'policies' | 'rateLimits'>;
  /** Where dead letters are produced. */
  conn: KafkaConnection;
  sessionTimeoutMs: number;
  /** Partitions of the outbox topic. */
  partitions: number;
  concurrency: number;
  logger: Logger;
  metrics: Metrics;
  /** Told of dead letters, disabled webhooks and circuits (the operational alerts). */
  observers?: readonly DeliveryObserver[];
}

/** A dead letter as written to the dead-letter topic. */
export interface DeadLetterRecord {
  event_id: string;
  destination: string;
  code: string;
  error: string;
  dead_at: string;
  /** The event as it was to be delivered. */
  event: unknown;
}

export class WebhookOutbox {
  readonly queue: OutboxQueue;
  readonly dispatcher: Dispatcher;
  /** One consumer group per webhook, by ref. */
  private readonly consumers = new Map<string, BackgroundConsumer>();
  private started = false;

  constructor(private readonly deps: OutboxDeps) {
    this.queue = new OutboxQueue({ deadLetter: (d, code, error) => this.deadLetter(d, code, error) });
    this.dispatcher = new Dispatcher({ queue: this.queue, destinations: deps.webhooks, logger: deps.logger, metrics: deps.metrics, observers: deps.observers });
  }

  /** Starts the dispatcher and, in the background, one consumer group per webhook. */
  start(): void {
    this.started = true;
    this.dispatcher.start();
    for (const ref of this.deps.webhooks.destinations.keys()) this.consume(ref);
  }

  /**
   * After a reload changed the webhook destinations (in place, `createDestinations().reconfigure`):
   * starts the groups of those added, stops those of the removed (their uncommitted records stay
   * in the topic, delivered from the committed offset once a config names them again), and moves
   * the dispatcher's workers; a changed one keeps its group and gets a new worker after its batch.
   * @example const changes = webhooks.reconfigure(next); await outbox.reconfigure(changes); await changes.release();
   */
  async reconfigure(changes: Pick<DestinationChanges, 'added' | 'changed' | 'removed'>): Promise<WorkersChanged> {
    if (this.started) for (const ref of changes.added) this.consume(ref);
    const [moved] = await Promise.all([this.dispatcher.reconfigure(changes), ...changes.removed.map((ref) => this.stopConsuming(ref))]);
    return moved;
  }

  private consume(ref: string): void {
    if (this.consumers.has(ref)) return;
    this.consumers.set(
      ref,
      new BackgroundConsumer(
        `outbox consumer of ${ref}`,
        () => this.makeConsumer(ref),
        async (consumer) => {
          await subscribeWhenKnown(consumer, { topics: [this.deps.names.webhooks], fromBeginning: true }, this.deps.logger);
          await consumer.run({
            eachBatchAutoResolve: false,
            partitionsConsumedConcurrently: this.deps.concurrency,
            eachBatch: (payload) =>
              this.deliverBatch(ref, payload).catch((err: unknown) => {
                throw retriable(err);
              }),
          });
        },
        this.deps.logger,
      ),
    );
  }

  /** Leaves the webhook's group; what it fetched and had not finished is forgotten, not committed. */
  private async stopConsuming(ref: string): Promise<void> {
    const consumer = this.consumers.get(ref);
    if (!consumer) return;
    this.consumers.delete(ref);
    await consumer.close();
    for (let p = 0; p < this.deps.partitions; p++) this.queue.dropPartition(ref, p);
    this.deps.logger.info('webhook outbox group left (no longer configured)', { destination: ref });
  }

  private makeConsumer(ref: string): Consumer {
    const { kafka, names, sessionTimeoutMs, logger } = this.deps;
    const consumer = kafka.consumer({
      groupId: names.webhookGroup(ref),
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(sessionTimeoutMs / 5)),
      rebalanceTimeout: Math.max(sessionTimeoutMs * 3, 30_000),
      maxWaitTimeInMs: 100,
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const assigned = new Set(payload.memberAssignment[names.webhooks] ?? []);
      // A partition that moved away: its next owner delivers from the committed offset.
      for (let p = 0; p < this.deps.partitions; p++) if (!assigned.has(p)) this.queue.dropPartition(ref, p);
      logger.info('webhook outbox partitions assigned', { destination: ref, partitions: [...assigned].sort((a, b) => a - b) });
    });
    return consumer;
  }

  private async deliverBatch(ref: string, { batch, heartbeat, isRunning, isStale, resolveOffset, commitOffsetsIfNecessary }: EachBatchPayload): Promise<void> {
    const items: OutboxDelivery[] = [];
    for (const m of batch.messages) {
      if (header(m.headers, OUTBOX_DESTINATION_HEADER) !== ref || m.value === null) continue;
      items.push({
        destination: ref,
        partition: batch.partition,
        offset: m.offset,
        eventId: header(m.headers, 'event-id') ?? '',
        messageKey: m.key?.toString('utf8') ?? '',
        type: header(m.headers, 'event-type') ?? '',
        body: m.value.toString('utf8'),
        firstAt: Number(header(m.headers, OUTBOX_FIRST_AT_HEADER) ?? Date.now()),
        // The owner's hand-off span; the queue makes each attempt a child of it.
        trace: recordTrace(m.headers),
      });
    }
    if (items.length > 0) {
      const finished = this.queue.add(items);
      for (;;) {
        const result = await Promise.race([finished, sleep(1_000).then(() => null)]);
        if (result) break;
        if (!isRunning() || isStale()) {
          // Not committed: the partition's next owner delivers these again.
          this.queue.dropPartition(ref, batch.partition);
          return;
        }
        await heartbeat();
      }
    }
    resolveOffset(batch.lastOffset());
    await commitOffsetsIfNecessary();
  }

  private async deadLetter(d: OutboxDelivery, code: string, error: string): Promise<void> {
    let event: unknown = d.body;
    try {
      event = JSON.parse(d.body);
    } catch {
      // Kept as the text it was.
    }
    const record: DeadLetterRecord = { event_id: d.eventId, destination: d.destination, code, error, dead_at: new Date().toISOString(), event };
    try {
      const producer = await this.deps.conn.getProducer();
      await producer.send({
        topic: this.deps.names.dead,
        acks: -1,
        messages: [{ key: d.messageKey, value: JSON.stringify(record), headers: { [DEAD_KIND_HEADER]: 'dead', 'event-id': d.eventId, 'event-type': d.type, [OUTBOX_DESTINATION_HEADER]: d.destination } }],
      });
    } catch (err) {
      await this.deps.conn.reset(errorMessage(err));
      throw err;
    }
  }

  async close(deadlineMs: number): Promise<void> {
    await Promise.allSettled([...this.consumers.values()].map((c) => c.close()));
    await this.dispatcher.stop(deadlineMs);
  }
}
