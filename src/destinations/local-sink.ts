/**
 * The embedded default for Kafka destinations when no KAFKA_BROKERS is set: each topic is a
 * local JSON-lines file `<dir>/<topic>.jsonl` (one `{ topic, key, headers, value }` per line),
 * so `npm start` works on a fresh clone and what would have been produced can be read.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RetriableError, errorMessage } from '../errors.js';
import { EVENT_SCHEMA_VERSION } from '../event.js';
import type { TopicConfig } from '../route/define-routes.js';
import type { PendingDelivery } from '../spool/spool.js';
import { allFailed, type DeliveryOutcome, type Destination } from './types.js';

export class LocalSinkDestination implements Destination {
  readonly maxBatch = 500;
  readonly lingerMs = 5;
  readonly file: string;
  private inFlight: Promise<unknown> | null = null;

  constructor(
    readonly ref: string,
    readonly topic: TopicConfig,
    private readonly dir: string,
  ) {
    this.file = join(dir, `${topic.name}.jsonl`);
  }

  deliver(batch: readonly PendingDelivery[]): Promise<DeliveryOutcome[]> {
    const p = this.write(batch);
    this.inFlight = p;
    return p;
  }

  private async write(batch: readonly PendingDelivery[]): Promise<DeliveryOutcome[]> {
    const lines = batch
      .map(
        (d) =>
          `{"topic":${JSON.stringify(this.topic.name)},"key":${JSON.stringify(d.messageKey)},"headers":{"event-type":${JSON.stringify(d.type)},"schema-version":"${EVENT_SCHEMA_VERSION}","event-id":"${d.eventId}"},"value":${d.body}}\n`,
      )
      .join('');
    try {
      await mkdir(this.dir, { recursive: true });
      await appendFile(this.file, lines);
      return batch.map(() => ({ ok: true }));
    } catch (err) {
      return allFailed(batch, new RetriableError(`local sink ${this.file}: ${errorMessage(err)}`, 'sink_write_failed', { cause: err }));
    }
  }

  async close(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
  }
}
