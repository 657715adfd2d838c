/**
 * What every long-lived consumer of the cluster mode needs from kafkajs beyond its defaults: to
 * subscribe to a topic that a broker does not know yet (created a moment ago by another replica),
 * and to come back after any crash instead of leaving its group for good.
 */
import kafkajs, { type Consumer, type ConsumerSubscribeTopics, type KafkaJSError } from 'kafkajs';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { sleep } from '../sleep.js';

/**
 * Subscribes, trying again while the brokers' metadata catches up with a new topic
 * ("This server does not host this topic-partition"), up to `deadlineMs`.
 * @example await subscribeWhenKnown(consumer, { topics: ['kcr.dead'], fromBeginning: true }, logger)
 */
export async function subscribeWhenKnown(consumer: Consumer, subscription: ConsumerSubscribeTopics, logger: Logger, deadlineMs = 60_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await consumer.subscribe(subscription);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      logger.debug('subscribe refused; trying again', { topics: subscription.topics.map(String), attempt, error: errorMessage(err) });
      await sleep(Math.min(250 * attempt, 2_000));
    }
  }
}

/**
 * An error from a batch handler, made retriable: kafkajs restarts a crashed consumer only when
 * the error is, and otherwise leaves it out of its group for good (a fenced partition owner did
 * exactly that in the drill, and its partitions stopped).
 * @example eachBatch: (p) => handle(p).catch((err) => { throw retriable(err); })
 */
export function retriable(err: unknown): KafkaJSError {
  // kafkajs spreads its errors into module.exports, which Node's ESM named imports cannot see.
  return new kafkajs.KafkaJSError(err instanceof Error ? err : new Error(errorMessage(err)), { retriable: true });
}

/**
 * A long-lived consumer, started in the background and tried again until the brokers answer, so
 * a replica starts (and its edge takes callbacks into the spool) while Kafka is down.
 * @example
 * const c = new BackgroundConsumer('state follower', () => kafka.consumer({ groupId }), async (c) => {
 *   await c.subscribe({ topics: [topic], fromBeginning: true });
 *   await c.run({ eachMessage });
 * }, logger);
 * await c.close();
 */
export class BackgroundConsumer {
  /** Resolves once it runs (or it was closed first). */
  readonly started: Promise<void>;
  private current: Consumer | null = null;
  private closed = false;

  constructor(
    private readonly what: string,
    make: () => Consumer,
    setup: (consumer: Consumer) => Promise<void>,
    private readonly logger: Logger,
  ) {
    this.started = this.start(make, setup);
  }

  private async start(make: () => Consumer, setup: (consumer: Consumer) => Promise<void>): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      const consumer = make();
      this.current = consumer;
      try {
        await consumer.connect();
        await setup(consumer);
        return;
      } catch (err) {
        await consumer.disconnect().catch(() => undefined);
        if (this.closed) return;
        this.logger.warn(`${this.what} not started (is Kafka reachable?); trying again`, { attempt, error: errorMessage(err) });
        await sleep(Math.min(1_000 * attempt, 10_000));
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.current?.disconnect().catch(() => undefined);
  }
}
