/**
 * One real consumer that reads topics from the beginning for a whole test file, so each test
 * waits on what has arrived instead of joining a new consumer group (seconds each) per check.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaBrokers, waitFor, type ReadMessage } from './kafka.js';

export interface TopicTail {
  /** Every message read so far, in the order they arrived. */
  readonly messages: ReadMessage[];
  /** Waits until `check(messages)` holds or the timeout passes; returns the messages. */
  until(check: (messages: ReadMessage[]) => boolean, timeoutMs?: number): Promise<ReadMessage[]>;
  stop(): Promise<void>;
}

/**
 * @example const tail = await tailTopics([topic]); await tail.until((m) => m.length >= 3);
 */
export async function tailTopics(topics: string[]): Promise<TopicTail> {
  const kafka = new Kafka({ clientId: 'kcr-test-tail', brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `kcr-tail-${randomBytes(6).toString('hex')}`, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  const messages: ReadMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = v.toString();
      const value = message.value?.toString() ?? '';
      messages.push({ topic, partition, key: message.key?.toString() ?? null, value, headers, json: JSON.parse(value) as Record<string, unknown> });
    },
  });
  return {
    messages,
    async until(check, timeoutMs = 30_000) {
      await waitFor(() => check(messages), timeoutMs, 50);
      return messages;
    },
    stop: () => consumer.disconnect().catch(() => undefined),
  };
}
