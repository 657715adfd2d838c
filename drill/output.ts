/**
 * Reads the drill's output topic from the beginning, read_committed (kafkajs' default, so records
 * of aborted transactions never count), keeping each record once by partition and offset: a
 * reader that re-reads after a rebalance must not look like a duplicate in the topic.
 */
import { randomBytes } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { sleep } from '../src/sleep.js';

export interface OutputRecord {
  eventId: string;
  status: string;
  stale: unknown;
  partition: number;
  offset: string;
  /** The producer's timestamp: when the router wrote it (ms epoch). */
  timestamp: number;
}

export class OutputReader {
  /** Every record read, once each, by `partition:offset`. */
  readonly records = new Map<string, OutputRecord>();
  /** Records by event id (more than one: a duplicate in the topic). */
  readonly byEvent = new Map<string, OutputRecord[]>();
  /** Records whose value is not an event (no event_id), by `partition:offset`. */
  readonly unreadable: string[] = [];

  private constructor(private readonly consumer: Consumer) {}

  /**
   * Joins a fresh consumer group on `topic` from the beginning; resolves once it has joined, so
   * what follows is measured from a reader that is already reading.
   * @example const out = await OutputReader.start(cluster.kafka('drill-reader', 10), topic);
   */
  static async start(kafka: Kafka, topic: string, joinTimeoutMs = 60_000): Promise<OutputReader> {
    const consumer = kafka.consumer({ groupId: `drill-reader-${randomBytes(6).toString('hex')}`, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    const reader = new OutputReader(consumer);
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => (joined = true));
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ partition, message }) => reader.add(partition, message.offset, message.timestamp, message.value) });
    const until = Date.now() + joinTimeoutMs;
    while (!joined) {
      if (Date.now() > until) {
        await reader.stop();
        throw new Error(`the output reader did not join its consumer group within ${joinTimeoutMs} ms`);
      }
      await sleep(100);
    }
    return reader;
  }

  private add(partition: number, offset: string, timestamp: string, value: Buffer | null): void {
    const at = `${partition}:${offset}`;
    if (this.records.has(at)) return;
    let json: { event_id?: unknown; status?: unknown; stale?: unknown } = {};
    try {
      json = JSON.parse(value?.toString('utf8') ?? '') as typeof json;
    } catch {
      // counted below as unreadable
    }
    if (typeof json.event_id !== 'string') {
      this.unreadable.push(at);
      return;
    }
    const r: OutputRecord = { eventId: json.event_id, status: String(json.status), stale: json.stale, partition, offset, timestamp: Number(timestamp) };
    this.records.set(at, r);
    const list = this.byEvent.get(r.eventId);
    if (list) list.push(r);
    else this.byEvent.set(r.eventId, [r]);
  }

  /** How many of `ids` have not been read yet. */
  missing(ids: Iterable<string>): number {
    let n = 0;
    for (const id of ids) if (!this.byEvent.has(id)) n++;
    return n;
  }

  /** The latest producer timestamp among `ids`' records, or null while any is missing. */
  lastWritten(ids: Iterable<string>): number | null {
    let last = 0;
    for (const id of ids) {
      const rs = this.byEvent.get(id);
      if (!rs) return null;
      for (const r of rs) last = Math.max(last, r.timestamp);
    }
    return last;
  }

  stop(): Promise<void> {
    return this.consumer.disconnect().catch(() => undefined);
  }
}
