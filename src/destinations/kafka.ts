/**
 * Kafka topics via kafkajs. Key = message_key so every report for one message stays in order
 * on one partition; acks from all in-sync replicas; a batch is one produce request.
 *
 * kafkajs has known production faults: "no leader for this topic-partition" surfaces as
 * non-retriable, and a producer does not reconnect after the broker drops it (kafkajs
 * #1008, #979, #919). So any failed send throws the producer away and the next send makes a
 * new one; the dispatcher's retry policy, not kafkajs, decides when to try again.
 */
import { Kafka, Partitioners, logLevel, type Producer, type Admin } from 'kafkajs';
import { NonRetriableError, RetriableError, type RouterError, errorMessage } from '../errors.js';
import { EVENT_SCHEMA_VERSION } from '../event.js';
import type { Logger } from '../log.js';
import type { TopicConfig } from '../route/define-routes.js';
import type { PendingDelivery } from '../spool/spool.js';
import { allFailed, type DeliveryOutcome, type Destination } from './types.js';

export interface KafkaOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** Per-request timeout; a dead broker shows up as a failed send after about this long. */
  requestTimeoutMs?: number;
}

/** Kafka errors that no retry will fix. */
const PERMANENT = new Set([
  'INVALID_TOPIC_EXCEPTION',
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'TOPIC_AUTHORIZATION_FAILED',
  'INVALID_RECORD',
]);

/** One client and producer shared by every Kafka destination; recreated after a failure. */
export class KafkaConnection {
  private readonly kafka: Kafka;
  private producer: Promise<Producer> | null = null;

  constructor(private readonly opts: KafkaOptions) {
    const log = opts.logger;
    this.kafka = new Kafka({
      clientId: opts.clientId,
      brokers: opts.brokers,
      connectionTimeout: 3_000,
      requestTimeout: opts.requestTimeoutMs ?? 15_000,
      retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2_000 },
      logLevel: logLevel.WARN,
      logCreator:
        () =>
        ({ level, log: entry }) => {
          const { message, ...rest } = entry;
          (level <= logLevel.ERROR ? log.warn : log.debug)(`kafkajs: ${message}`, { kafka: rest });
        },
    });
  }

  get client(): Kafka {
    return this.kafka;
  }

  getProducer(): Promise<Producer> {
    if (!this.producer) {
      const p = this.kafka.producer({
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: true,
        retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2_000 },
      });
      this.producer = p.connect().then(() => p);
      this.producer.catch(() => undefined);
    }
    return this.producer;
  }

  /** Drops the producer; the next send connects a new one. */
  async reset(reason: string): Promise<void> {
    const old = this.producer;
    this.producer = null;
    if (!old) return;
    this.opts.logger.warn('kafka producer recreated', { reason });
    try {
      await (await old).disconnect();
    } catch {
      // It was broken already; that is why it is being replaced.
    }
  }

  /** Creates missing topics; best effort (the broker may be down at start-up). */
  async ensureTopics(topics: TopicConfig[]): Promise<void> {
    let admin: Admin | null = null;
    try {
      admin = this.kafka.admin();
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t.name));
      if (missing.length > 0) {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((t) => ({ topic: t.name, numPartitions: t.partitions ?? -1, replicationFactor: -1 })),
        });
      }
    } catch (err) {
      this.opts.logger.warn('kafka topics not checked at start-up; will retry on send', { error: errorMessage(err) });
    } finally {
      await admin?.disconnect().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const p = this.producer;
    this.producer = null;
    if (p) await (await p.catch(() => null))?.disconnect().catch(() => undefined);
  }
}

export class KafkaTopicDestination implements Destination {
  readonly maxBatch = 500;
  readonly lingerMs = 5;
  private inFlight: Promise<unknown> | null = null;

  constructor(
    readonly ref: string,
    readonly topic: TopicConfig,
    private readonly conn: KafkaConnection,
    private readonly maxRequestBytes = 512 * 1024,
  ) {}

  deliver(batch: readonly PendingDelivery[]): Promise<DeliveryOutcome[]> {
    const p = this.send(batch);
    this.inFlight = p;
    return p;
  }

  /**
   * One produce request per chunk of at most `maxRequestBytes` of values, so no request nears
   * the broker's message.max.bytes (1 MiB by default). After a failed chunk the rest are not
   * sent (`skipped`), so no later report of a message can overtake an earlier one.
   */
  private async send(batch: readonly PendingDelivery[]): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = [];
    let start = 0;
    while (start < batch.length) {
      let end = start + 1;
      let bytes = batch[start]!.body.length;
      while (end < batch.length && bytes + batch[end]!.body.length <= this.maxRequestBytes) bytes += batch[end++]!.body.length;
      const chunk = batch.slice(start, end);
      const result = await this.sendChunk(chunk);
      outcomes.push(...result);
      start = end;
      if (!result[0]!.ok) {
        for (; start < batch.length; start++) outcomes.push({ ok: false, skipped: true });
      }
    }
    return outcomes;
  }

  private async sendChunk(batch: readonly PendingDelivery[]): Promise<DeliveryOutcome[]> {
    try {
      const producer = await this.conn.getProducer();
      await producer.send({
        topic: this.topic.name,
        acks: -1,
        messages: batch.map((d) => ({
          key: d.messageKey,
          value: d.body,
          headers: {
            'event-type': d.type,
            'schema-version': String(EVENT_SCHEMA_VERSION),
            'event-id': d.eventId,
            'content-type': 'application/json',
          },
        })),
      });
      return batch.map(() => ({ ok: true }));
    } catch (err) {
      const error = classify(err, this.topic.name);
      await this.conn.reset(error.message);
      return allFailed(batch, error);
    }
  }

  async close(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
  }
}

function classify(err: unknown, topic: string): RouterError {
  const type = findType(err);
  const msg = `produce to ${topic} failed: ${errorMessage(err)}`;
  const code = type === 'UNKNOWN_TOPIC_OR_PARTITION' ? 'topic_not_found' : type ? `kafka_${type.toLowerCase()}` : 'kafka_unavailable';
  if (type && PERMANENT.has(type)) return new NonRetriableError(msg, code, err);
  return new RetriableError(msg, code, { cause: err });
}

/** kafkajs nests the broker's error type in `type` or in a cause chain. */
function findType(err: unknown): string | null {
  let e = err as { type?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown[] } | undefined;
  for (let i = 0; e && i < 5; i++) {
    if (typeof e.type === 'string') return e.type;
    e = (e.originalError ?? e.cause ?? e.errors?.[0]) as typeof e;
  }
  return null;
}
