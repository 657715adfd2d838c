/**
 * Reads a topic from its start to where it ended when the read began, then stops: for the
 * operations that look back over a topic (a backfill). read_committed, like every reader here.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { sleep } from '../sleep.js';

/**
 * Calls `each` for every record, each partition in offset order; resolves once every partition
 * was read to its end offset as fetched at the start (transaction markers count: kafkajs reports
 * the batch's last offset including them), rejects after `deadlineMs`.
 * @example await readTopicToEnd(kafka, 'kcr.intake', (p, m) => seen.push(m.offset));
 */
export async function readTopicToEnd(kafka: Kafka, topic: string, each: (partition: number, m: KafkaMessage) => void, deadlineMs = 120_000): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const left = new Map(ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => [e.partition, BigInt(e.high) - 1n]));
  if (left.size === 0) return;
  const consumer = kafka.consumer({ groupId: `kcr-read-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const reached = (partition: number, lastOffset: string) => {
    const end = left.get(partition);
    if (end !== undefined && BigInt(lastOffset) >= end) left.delete(partition);
  };
  // Also fired for batches of markers alone, which never reach eachMessage.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => reached(payload.partition, payload.lastOffset));
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ autoCommit: false, eachMessage: async ({ partition, message }) => each(partition, message) });
    const deadline = Date.now() + deadlineMs;
    while (left.size > 0) {
      if (Date.now() > deadline) throw new Error(`reading ${topic} did not reach its end within ${deadlineMs} ms`);
      await sleep(50);
    }
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}
