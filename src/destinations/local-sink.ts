/**
 * The embedded default for Kafka destinations when no KAFKA_BROKERS is set: each topic is a
 * local JSON-lines file `<dir>/<topic>.jsonl`, one `{ topic, key, headers, value }` per line
 * (the very record Kafka would get), so `npm start` works on a fresh clone and what would have
 * been produced can be read.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RetriableError, errorMessage } from '../errors.js';
import { InFlight } from './in-flight.js';
import { kafkaRecord } from './kafka-record.js';
import { allFailed, type DeliveryItem, type DeliveryOutcome, type Destination } from './types.js';

export class LocalSinkDestination implements Destination {
  readonly maxBatch = 500;
  readonly lingerMs = 5;
  readonly file: string;
  private readonly inFlight = new InFlight();

  constructor(
    readonly ref: string,
    private readonly topic: string,
    private readonly dir: string,
  ) {
    this.file = join(dir, `${topic}.jsonl`);
  }

  deliver(batch: readonly DeliveryItem[]): Promise<DeliveryOutcome[]> {
    return this.inFlight.track(this.write(batch));
  }

  /** One append for the batch: it lands whole or fails whole, so no item overtakes another. */
  private async write(batch: readonly DeliveryItem[]): Promise<DeliveryOutcome[]> {
    const topic = JSON.stringify(this.topic);
    // The value is already JSON: splice it in rather than parse and print it again.
    const lines = batch
      .map(kafkaRecord)
      .map((r) => `{"topic":${topic},"key":${JSON.stringify(r.key)},"headers":${JSON.stringify(r.headers)},"value":${r.value}}\n`)
      .join('');
    try {
      await mkdir(this.dir, { recursive: true });
      await appendFile(this.file, lines);
      return batch.map(() => ({ kind: 'delivered' }));
    } catch (err) {
      return allFailed(batch, new RetriableError(`local sink ${this.file}: ${errorMessage(err)}`, 'sink_write_failed', { cause: err }));
    }
  }

  async close(): Promise<void> {
    await this.inFlight.settled();
  }
}
