/**
 * The Kafka topic kind: `kafka:<alias>` refs, declared under `kafka: { topics, clientId }`.
 * Key = message_key so every report for one message stays in order on one partition; acks
 * from all in-sync replicas; a batch is one produce request. With no KAFKA_BROKERS the topics
 * go to the local sink instead: that choice is made here and nowhere else.
 */
import { z } from 'zod';
import { NonRetriableError, RetriableError, type RouterError, errorMessage } from '../errors.js';
import { rateLimitSchema } from '../dispatch/rate-limit.js';
import { PLAINTEXT_KAFKA } from '../kafka/client-config.js';
import { retryOverridesSchema } from '../retry/policy.js';
import type { TopicConfig } from '../route/define-routes.js';
import { InFlight } from './in-flight.js';
import { KafkaConnection } from './kafka-connection.js';
import { kafkaRecord } from './kafka-record.js';
import { LocalSinkDestination } from './local-sink.js';
import { allFailed, type DeliveryItem, type DeliveryOutcome, type Destination, type DestinationEnv, type DestinationKind, type OpenDestinations } from './types.js';

/** One topic destination: the topic, and the client id of the connection that produces to it. */
export interface KafkaTopicDestinationConfig extends TopicConfig {
  clientId: string;
}

export const DEFAULT_KAFKA_CLIENT_ID = 'kaleyra-callback-router';

/** Kafka errors that no retry will fix. */
const PERMANENT = new Set([
  'INVALID_TOPIC_EXCEPTION',
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'TOPIC_AUTHORIZATION_FAILED',
  'INVALID_RECORD',
]);

export class KafkaTopicDestination implements Destination {
  readonly maxBatch = 500;
  readonly lingerMs = 5;
  private readonly inFlight = new InFlight();

  constructor(
    readonly ref: string,
    readonly topic: TopicConfig,
    private readonly conn: KafkaConnection,
    private readonly maxRequestBytes = 512 * 1024,
  ) {}

  deliver(batch: readonly DeliveryItem[]): Promise<DeliveryOutcome[]> {
    return this.inFlight.track(this.send(batch));
  }

  /**
   * One produce request per chunk of at most `maxRequestBytes` of values, so no request nears
   * the broker's message.max.bytes (1 MiB by default). After a failed chunk the rest are not
   * sent (`skipped`), so no later report of a message can overtake an earlier one.
   */
  private async send(batch: readonly DeliveryItem[]): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = [];
    let start = 0;
    while (start < batch.length) {
      let end = start + 1;
      let bytes = batch[start]!.body.length;
      while (end < batch.length && bytes + batch[end]!.body.length <= this.maxRequestBytes) bytes += batch[end++]!.body.length;
      const result = await this.sendChunk(batch.slice(start, end));
      outcomes.push(...result);
      start = end;
      if (result[0]!.kind !== 'delivered') {
        for (; start < batch.length; start++) outcomes.push({ kind: 'skipped' });
      }
    }
    return outcomes;
  }

  private async sendChunk(batch: readonly DeliveryItem[]): Promise<DeliveryOutcome[]> {
    try {
      const producer = await this.conn.getProducer();
      await producer.send({ topic: this.topic.name, acks: -1, messages: batch.map(kafkaRecord) });
      return batch.map(() => ({ kind: 'delivered' }));
    } catch (err) {
      const error = classify(err, this.topic.name);
      await this.conn.reset(error.message);
      return allFailed(batch, error);
    }
  }

  async close(): Promise<void> {
    await this.inFlight.settled();
  }
}

/** Reports what kind of failure it was (permanent or passing); retrying is the dispatcher's call. */
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

/** No brokers: each topic is a file in the sink directory, and the operator is told so. */
function openLocalSink(configs: ReadonlyMap<string, KafkaTopicDestinationConfig>, env: DestinationEnv): OpenDestinations {
  return {
    destinations: new Map([...configs].map(([ref, c]) => [ref, new LocalSinkDestination(ref, c.name, env.sinkDir)])),
    async start() {
      if (configs.size === 0) return;
      env.logger.warn('KAFKA_BROKERS is not set: Kafka topics go to the LOCAL SINK, not to Kafka', {
        sink_dir: env.sinkDir,
        topics: [...configs.values()].map((c) => c.name),
      });
    },
  };
}

/** Brokers: one connection per client id (in practice one), shared by its topics. */
function openBrokers(configs: ReadonlyMap<string, KafkaTopicDestinationConfig>, env: DestinationEnv): OpenDestinations {
  const connections = new Map<string, { conn: KafkaConnection; topics: TopicConfig[] }>();
  const destinations = new Map<string, Destination>();
  for (const [ref, c] of configs) {
    let entry = connections.get(c.clientId);
    if (!entry) {
      const conn = new KafkaConnection({ brokers: env.kafkaBrokers, clientId: c.clientId, logger: env.logger, security: env.kafka ?? PLAINTEXT_KAFKA, requestTimeoutMs: env.kafkaRequestTimeoutMs });
      entry = { conn, topics: [] };
      connections.set(c.clientId, entry);
    }
    entry.topics.push(c);
    destinations.set(ref, new KafkaTopicDestination(ref, c, entry.conn));
  }
  return {
    destinations,
    // Best effort: the broker may be down at start-up; a send creates the topic then.
    start: async () => void (await Promise.allSettled([...connections.values()].map((e) => e.conn.ensureTopics(e.topics)))),
    close: async () => void (await Promise.allSettled([...connections.values()].map((e) => e.conn.close()))),
  };
}

const topicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'is not a valid Kafka topic name');

const kafkaSection = z
  .object({
    topics: z.record(
      z.string().min(1),
      z.union([
        topicName,
        z.object({ name: topicName, partitions: z.number().int().positive().optional(), retry: retryOverridesSchema.optional(), rateLimit: rateLimitSchema.optional() }).strict(),
      ]),
    ),
    clientId: z.string().min(1).optional(),
  })
  .strict();

export const kafkaKind: DestinationKind<z.infer<typeof kafkaSection>, KafkaTopicDestinationConfig> = {
  prefix: 'kafka',
  placeholder: 'topic',
  noun: 'Kafka topic',
  section: 'kafka',
  sectionSchema: kafkaSection,
  declared(section) {
    const clientId = section.clientId ?? DEFAULT_KAFKA_CLIENT_ID;
    return Object.fromEntries(Object.entries(section.topics).map(([alias, t]) => [alias, { ...(typeof t === 'string' ? { name: t } : t), clientId }]));
  },
  open: (configs, env) => (env.kafkaBrokers.length > 0 ? openBrokers(configs, env) : openLocalSink(configs, env)),
};
