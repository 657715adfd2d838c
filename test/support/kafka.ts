/**
 * The real broker for integration tests. `npm test` (scripts/test.sh) starts a single-node
 * KRaft broker and exports KAFKA_BROKERS; without it these tests fail, never skip.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { sleep, waitFor } from '../../src/testing/wait.js';

export function kafkaBrokers(): string[] {
  const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
  if (brokers.length === 0) {
    throw new Error('KAFKA_BROKERS is not set: run the suite with `npm test`, which starts a real Kafka broker');
  }
  return brokers;
}

/** A topic name of our own, so tests never read each other's messages. */
export function uniqueTopic(name: string): string {
  return `test.${name}.${randomBytes(4).toString('hex')}`;
}

export interface ReadMessage {
  topic: string;
  partition: number;
  key: string | null;
  value: string;
  headers: Record<string, string>;
  json: Record<string, unknown>;
}

function toRead(topic: string, partition: number, m: KafkaMessage): ReadMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) if (v !== undefined) headers[k] = v.toString();
  const value = m.value?.toString() ?? '';
  return { topic, partition, key: m.key?.toString() ?? null, value, headers, json: JSON.parse(value) as Record<string, unknown> };
}

/**
 * Reads `topics` from the beginning with a real consumer until `done(messages)` holds or the
 * timeout passes; returns what it read (the caller asserts on it).
 */
export async function readTopics(
  topics: string[],
  done: (messages: ReadMessage[]) => boolean,
  timeoutMs = 60_000,
  settleMs = 0,
): Promise<ReadMessage[]> {
  const kafka = new Kafka({ clientId: 'kcr-test-reader', brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `kcr-test-${randomBytes(6).toString('hex')}`, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  const messages: ReadMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        messages.push(toRead(topic, partition, message));
      },
    });
    const until = Date.now() + timeoutMs;
    while (Date.now() < until && !done(messages)) await sleep(100);
    // Let anything extra (duplicates, things that should not be there) arrive too.
    if (settleMs > 0) await sleep(settleMs);
    return messages;
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

/** Creates topics up front so consumers can subscribe before the first message. */
export async function createTopics(topics: string[], partitions = 3): Promise<void> {
  const kafka = new Kafka({ clientId: 'kcr-test-admin', brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: partitions })) });
  } finally {
    await admin.disconnect();
  }
}

const script = join(import.meta.dirname, '..', '..', 'scripts', 'kafka.sh');

/** Stops or starts the suite's own broker (data kept). Only when scripts/test.sh started it. */
export function broker(action: 'stop' | 'start'): void {
  if (process.env.KAFKA_MANAGED !== '1') {
    throw new Error('this test stops and restarts the broker: run it with `npm test`, which manages a local broker (KAFKA_MANAGED=1)');
  }
  execFileSync('bash', [script, action], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 180_000 });
}

export { sleep, waitFor };
