/**
 * One kafkajs client and producer, shared by every Kafka topic destination of a router.
 *
 * kafkajs has known production faults: "no leader for this topic-partition" surfaces as
 * non-retriable, and a producer does not reconnect after the broker drops it (kafkajs
 * #1008, #979, #919). So any failed send throws the producer away (`reset`) and the next send
 * makes a new one; the dispatcher's retry policy, not kafkajs, decides when to try again.
 */
import { Kafka, type Admin, type Producer } from 'kafkajs';
import { errorMessage } from '../errors.js';
import { kafkaConfig, withCompression, type KafkaClientSettings } from '../kafka/client-config.js';
import { javaCompatiblePartitioner } from '../kafka/partitioner.js';
import type { Logger } from '../log.js';

export interface KafkaOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** SASL, TLS and compression (settings.kafka). */
  security: KafkaClientSettings;
  /** Per-request timeout; a dead broker shows up as a failed send after about this long. */
  requestTimeoutMs?: number;
}

/** A topic as the start-up check creates it. */
export interface TopicSpec {
  name: string;
  /** Partitions when created; default: the broker's. */
  partitions?: number;
}

/** One client and producer shared by every Kafka destination; recreated after a failure. */
export class KafkaConnection {
  private readonly kafka: Kafka;
  private producer: Promise<Producer> | null = null;

  constructor(private readonly opts: KafkaOptions) {
    this.kafka = new Kafka(
      kafkaConfig({
        clientId: opts.clientId,
        brokers: opts.brokers,
        security: opts.security,
        logger: opts.logger,
        requestTimeoutMs: opts.requestTimeoutMs ?? 15_000,
        retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2_000 },
      }),
    );
  }

  get client(): Kafka {
    return this.kafka;
  }

  /** The shared producer; every send through it is compressed as KAFKA_COMPRESSION says. */
  getProducer(): Promise<Producer> {
    if (!this.producer) {
      const p = withCompression(
        this.kafka.producer({
          createPartitioner: javaCompatiblePartitioner,
          allowAutoTopicCreation: true,
          retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2_000 },
        }),
        this.opts.security.compression,
      );
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
