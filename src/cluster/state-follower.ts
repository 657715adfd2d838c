/**
 * Follows the state topic from its start, keeping every partition's message states as
 * committed (read_committed: aborted transactions never show). A replica that takes over a
 * partition writes a marker to it after fencing the previous owner; once the follower reaches
 * that marker it has every state the previous owners committed, and hands the owner a copy.
 */
import { randomUUID } from 'node:crypto';
import type { EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from '../log.js';
import { BackgroundConsumer, subscribeWhenKnown } from './consumers.js';
import { MARKER_KEY, type PartitionStates } from './state.js';

interface Waiting {
  nonce: string;
  resolve: (state: PartitionStates) => void;
}

export class StateFollower {
  private readonly followed = new Map<number, PartitionStates>();
  private readonly waiting = new Map<number, Waiting>();
  private consumer: BackgroundConsumer | null = null;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    /** A group of its own each run: it reads everything, commits nothing. */
    private readonly groupId: string,
    private readonly logger: Logger,
  ) {}

  /** Starts following in the background (see BackgroundConsumer). */
  start(): void {
    this.consumer = new BackgroundConsumer(
      'state follower',
      () => {
        const consumer = this.kafka.consumer({ groupId: `${this.groupId}-${randomUUID()}`, maxWaitTimeInMs: 100 });
        consumer.on(consumer.events.CRASH, ({ payload }) => this.logger.error('state follower crashed', { error: String(payload.error), restart: payload.restart }));
        return consumer;
      },
      async (consumer) => {
        await subscribeWhenKnown(consumer, { topics: [this.topic], fromBeginning: true }, this.logger);
        await consumer.run({ autoCommit: false, partitionsConsumedConcurrently: 4, eachBatch: (p) => this.apply(p) });
      },
      this.logger,
    );
  }

  /**
   * Resolves with the partition's state as of the marker `nonce` (which the caller wrote after
   * fencing the previous owner): a private copy, for the new owner to work on.
   */
  restore(partition: number, nonce: string): Promise<PartitionStates> {
    return new Promise((resolve) => this.waiting.set(partition, { nonce, resolve }));
  }

  /** The owner gave up waiting (revoked, or closing). */
  cancel(partition: number): void {
    this.waiting.delete(partition);
  }

  /** Message states followed, over all partitions (for metrics). */
  size(): number {
    let n = 0;
    for (const m of this.followed.values()) n += m.size;
    return n;
  }

  private async apply({ batch, heartbeat }: EachBatchPayload): Promise<void> {
    const p = batch.partition;
    let states = this.followed.get(p);
    if (!states) this.followed.set(p, (states = new Map()));
    for (const m of batch.messages) {
      const key = m.key?.toString('utf8') ?? '';
      if (key === MARKER_KEY) {
        const w = this.waiting.get(p);
        if (w && m.value?.toString('utf8') === w.nonce) {
          this.waiting.delete(p);
          // A copy: the owner's map moves on with its own commits, this one with the topic.
          w.resolve(new Map(states));
        }
        continue;
      }
      if (m.value === null) states.delete(key);
      else states.set(key, m.value.toString('utf8'));
    }
    await heartbeat();
  }

  async close(): Promise<void> {
    const c = this.consumer;
    this.consumer = null;
    this.waiting.clear();
    await c?.close();
  }
}
