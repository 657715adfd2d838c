/**
 * Dead letters in cluster mode. They are written to the dead-letter topic by whichever replica
 * gave up on a webhook delivery; every replica follows that topic into its own spool (as dead
 * deliveries), so the admin API and the CLI list and replay them as in the embedded mode. A
 * replay puts the delivery back in the outbox topic (the partition of its message, so it keeps
 * its place in the message's order) and notes the replay on the dead-letter topic, so the
 * other replicas stop showing it dead.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { KafkaConnection } from '../destinations/kafka-connection.js';
import { kafkaRecord } from '../destinations/kafka-record.js';
import { allFailed, type DeliveryItem, type DeliveryOutcome, type Destination } from '../destinations/types.js';
import { RetriableError, errorMessage } from '../errors.js';
import type { DeliveryEvent } from '../event.js';
import type { Logger } from '../log.js';
import type { DeadLetterMirror } from '../spool/dead-mirror.js';
import { OUTBOX_DESTINATION_HEADER, OUTBOX_FIRST_AT_HEADER } from './processor.js';
import { BackgroundConsumer, subscribeWhenKnown } from './consumers.js';
import type { ClusterNames } from './topics.js';

/** What a dead-letter topic record is: a dead letter, or the note that one was replayed. */
export const DEAD_KIND_HEADER = 'kcr-kind';

/**
 * Replays to a webhook in cluster mode: the spool's dispatcher delivers a replayed dead letter
 * here, and this puts it back in the outbox for the webhook's consumer group.
 */
export class OutboxWriter implements Destination {
  readonly maxBatch = 200;
  readonly lingerMs = 5;

  constructor(
    readonly ref: string,
    private readonly conn: KafkaConnection,
    private readonly names: ClusterNames,
  ) {}

  async deliver(batch: readonly DeliveryItem[]): Promise<DeliveryOutcome[]> {
    const now = String(Date.now());
    try {
      const producer = await this.conn.getProducer();
      await producer.sendBatch({
        acks: -1,
        topicMessages: [
          {
            topic: this.names.webhooks,
            messages: batch.map((d) => {
              const r = kafkaRecord(d);
              return { ...r, headers: { ...r.headers, [OUTBOX_DESTINATION_HEADER]: this.ref, [OUTBOX_FIRST_AT_HEADER]: now } };
            }),
          },
          {
            topic: this.names.dead,
            messages: batch.map((d) => ({
              key: d.messageKey,
              value: JSON.stringify({ event_id: d.eventId, destination: this.ref, replayed_at: new Date().toISOString() }),
              headers: { [DEAD_KIND_HEADER]: 'replayed', 'event-id': d.eventId },
            })),
          },
        ],
      });
      return batch.map(() => ({ kind: 'delivered' }));
    } catch (err) {
      await this.conn.reset(errorMessage(err));
      return allFailed(batch, new RetriableError(`replay to the outbox failed: ${errorMessage(err)}`, 'kafka_unavailable', { cause: err }));
    }
  }

  async close(): Promise<void> {}
}

/** Follows the dead-letter topic from its start into `mirror`, in the background; close the result. */
export function followDeadLetters(kafka: Kafka, names: ClusterNames, mirror: DeadLetterMirror, logger: Logger): BackgroundConsumer {
  return new BackgroundConsumer(
    'dead-letter follower',
    () => kafka.consumer({ groupId: `${names.group}-dead-${randomUUID()}`, maxWaitTimeInMs: 250 }),
    async (consumer) => {
      await subscribeWhenKnown(consumer, { topics: [names.dead], fromBeginning: true }, logger);
      await consumer.run({ autoCommit: false, eachMessage: async ({ message }) => copy(message, mirror, logger) });
    },
    logger,
  );
}

function copy(message: KafkaMessage, mirror: DeadLetterMirror, logger: Logger): void {
  try {
    const kind = message.headers?.[DEAD_KIND_HEADER]?.toString() ?? 'dead';
    const v = JSON.parse(message.value?.toString('utf8') ?? '{}') as Record<string, unknown>;
    const at = Number(message.timestamp);
    if (kind === 'replayed') mirror.replayed(String(v.event_id), String(v.destination), at);
    else mirror.dead({ event: v.event as DeliveryEvent, destination: String(v.destination), code: String(v.code), error: String(v.error), at: Date.parse(String(v.dead_at)) || at });
  } catch (err) {
    logger.warn('dead letter not copied to the local spool', { offset: message.offset, error: errorMessage(err) });
  }
}
