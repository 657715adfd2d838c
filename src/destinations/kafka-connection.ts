/**
 * One kafkajs client and producer, shared by every Kafka topic destination of a router.
 *
 * kafkajs has known production faults: "no leader for this topic-partition" surfaces as
 * non-retriable, and a producer does not reconnect after the broker drops it (kafkajs
 * #1008, #979, #919). So any failed send throws the producer away (`reset`) and the next send
 * makes a new one; the dispatcher's retry policy, not kafkajs, decides when to try again.
 */
import { Kafka, Partitioners, logLevel, type Admin, type logCreator, type Producer } from 'kafkajs';
import { errorMessage } from '../errors.js';
import { refusedUnwritten } from '../kafka/transactions.js';
import type { Logger } from '../log.js';

export interface KafkaOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** Per-request timeout; a dead broker shows up as a failed send after about this long. */
  requestTimeoutMs?: number;
}

/** A topic as the start-up check creates it. */
export interface TopicSpec {
  name: string;
  /** Partitions when created; default: the broker's. */
  partitions?: number;
}

/**
 * kafkajs' own log lines into ours: its errors as warnings (it retries most of them itself),
 * the rest as debug.
 * @example new Kafka({ clientId, brokers, logLevel: logLevel.WARN, logCreator: kafkajsLogs(logger) })
 */
export function kafkajsLogs(log: Logger): logCreator {
  return () =>
    ({ namespace, level, log: entry }) => {
      const { message, ...rest } = entry;
      // Refusals it retries as a matter of course (CONCURRENT_TRANSACTIONS after every commit, a
      // leader moving) are not worth a warning each.
      const routine = refusedUnwritten(`${String(message)} ${String(rest.error ?? '')}`);
      (level <= logLevel.ERROR && !routine ? log.warn : log.debug)(`kafkajs: ${message}`, { kafka: { namespace, ...rest } });
    };
}

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
      logCreator: kafkajsLogs(log),
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
  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
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
