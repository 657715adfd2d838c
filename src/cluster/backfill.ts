/**
 * Backfill in cluster mode: send a destination the events it did not get (a webhook or topic
 * added later). The intake topic is the log of record: replaying the accept step over each of
 * its partitions in offset order, from a fresh state, makes exactly the events (resends folded,
 * stale flags set) its owners made. What the destination already has is read from where it
 * went: the outbox (a webhook's deliveries) or the topic itself.
 */
import { Kafka, type Message } from 'kafkajs';
import { acceptEvent } from '../accept/accept.js';
import { KafkaConnection } from '../destinations/kafka-connection.js';
import { kafkaRecord } from '../destinations/kafka-record.js';
import type { DeliveryEvent } from '../event.js';
import { kafkaConfig, type KafkaClientSettings } from '../kafka/client-config.js';
import type { CompiledConfig } from '../route/compile.js';
import type { RouteMatch } from '../route/match.js';
import type { EventSelection } from '../ops/store.js';
import type { Logger } from '../log.js';
import type { BulkOptions, BulkResult, SpoolOperations } from '../spool/operations.js';
import { OUTBOX_DESTINATION_HEADER, OUTBOX_FIRST_AT_HEADER } from './processor.js';
import { readTopicToEnd } from './read-topic.js';
import { StateBatch, type PartitionStates } from './state.js';
import { clusterNames, type ClusterNames } from './topics.js';

export interface BackfillDeps {
  kafka: Kafka;
  conn: KafkaConnection;
  names: ClusterNames;
  config: Pick<CompiledConfig, 'destinations'>;
  dedupeWindowMs: number;
  retentionMs: number;
}

const NO_ROUTE = (): RouteMatch => ({ destinations: [], rules: [], fallback: false });
const PRODUCE_CHUNK = 500;

export class ClusterBackfill {
  constructor(private readonly deps: BackfillDeps) {}

  /**
   * Queues the selected events `destination` has not had, 500 records per produce, with progress
   * after each; with `dryRun` it counts them and queues nothing.
   */
  async backfill(destination: string, f: EventSelection, opts: BulkOptions): Promise<BulkResult> {
    const dest = this.deps.config.destinations.get(destination);
    if (!dest) throw new Error(`no destination "${destination}" is configured`);
    const topic = dest.kind === 'kafka' ? (dest.config as { name: string }).name : this.deps.names.webhooks;
    const had = await this.eventIdsIn(topic, dest.kind === 'kafka' ? null : destination);
    const events = (await this.replayIntake()).filter(({ event: e }) => !had.has(e.event_id) && selected(e, f));
    const chosen = f.limit !== undefined && f.limit >= 0 ? events.slice(0, f.limit) : events;
    const total = chosen.length;
    const destinations = total > 0 ? { [destination]: total } : {};
    if (opts.dryRun) return { count: total, total, destinations, chunks: 0, dryRun: true };
    const now = String(Date.now());
    const messages: Message[] = chosen.map(({ event, partition }) => {
      const r = kafkaRecord({ eventId: event.event_id, messageKey: event.message_key, type: event.type, body: JSON.stringify(event) });
      // A webhook's delivery goes to its message's outbox partition, behind its earlier reports.
      return dest.kind === 'kafka' ? r : { ...r, partition, headers: { ...r.headers, [OUTBOX_DESTINATION_HEADER]: destination, [OUTBOX_FIRST_AT_HEADER]: now } };
    });
    const producer = await this.deps.conn.getProducer();
    let chunks = 0;
    for (let i = 0; i < messages.length; i += PRODUCE_CHUNK) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + PRODUCE_CHUNK) });
      chunks++;
      opts.onProgress?.(Math.min(total, i + PRODUCE_CHUNK), total);
    }
    return { count: total, total, destinations, chunks };
  }

  /** The event ids in `topic` (for the outbox: those for `destination` only). */
  private async eventIdsIn(topic: string, destination: string | null): Promise<Set<string>> {
    const ids = new Set<string>();
    await readTopicToEnd(this.deps.kafka, topic, (_p, m) => {
      if (destination !== null && m.headers?.[OUTBOX_DESTINATION_HEADER]?.toString() !== destination) return;
      const id = m.headers?.['event-id']?.toString();
      if (id) ids.add(id);
    });
    return ids;
  }

  /** Every event the intake's owners made, oldest first per partition, with its partition. */
  private async replayIntake(): Promise<{ event: DeliveryEvent; partition: number }[]> {
    const { dedupeWindowMs, retentionMs } = this.deps;
    const states = new Map<number, PartitionStates>();
    const out: { event: DeliveryEvent; partition: number }[] = [];
    await readTopicToEnd(this.deps.kafka, this.deps.names.intake, (partition, m) => {
      let event: DeliveryEvent;
      try {
        event = JSON.parse(m.value?.toString('utf8') ?? '') as DeliveryEvent;
      } catch {
        return; // the owners passed over it too
      }
      let base = states.get(partition);
      if (!base) states.set(partition, (base = new Map()));
      const batch = new StateBatch(base, retentionMs);
      // The owner decided it about when it arrived.
      const at = Number(m.timestamp);
      const d = acceptEvent({ ...event, stale: false }, batch.forMessage(event.message_key), { plan: NO_ROUTE, dedupeWindowMs, now: () => at });
      batch.records(partition, at);
      batch.apply();
      if (!d.duplicate) out.push({ event: d.event, partition });
    });
    return out;
  }
}

function selected(e: DeliveryEvent, f: EventSelection): boolean {
  const received = Date.parse(e.received_at);
  return (
    (f.eventId === undefined || e.event_id === f.eventId) &&
    (f.messageKey === undefined || e.message_key === f.messageKey) &&
    (f.since === undefined || received >= f.since) &&
    (f.until === undefined || received < f.until)
  );
}

/**
 * The spool's operations with backfill done by `backfill` instead (cluster mode: the replica's
 * spool holds only its fallback backlog and the dead letters; the intake topic holds the rest).
 * @example operationsWithBackfill(spool.operations, (d, f, o) => clusterBackfill.backfill(d, f, o))
 */
export function operationsWithBackfill(ops: SpoolOperations, backfill: (destination: string, f: EventSelection, opts: BulkOptions) => Promise<BulkResult>) {
  return {
    listDeliveries: ops.listDeliveries.bind(ops),
    replayInChunks: ops.replayInChunks.bind(ops),
    counts: ops.counts.bind(ops),
    interimSince: ops.interimSince.bind(ops),
    markFinalMissing: ops.markFinalMissing.bind(ops),
    backfillInChunks: backfill,
  };
}

/**
 * A backfill for a one-off process (the CLI): connects, backfills, disconnects.
 * @example await backfillOnce({ brokers, security: settings.kafka, prefix: 'kcr', config, dedupeWindowMs, retentionMs }, 'webhook:new', {}, { dryRun: true })
 */
export async function backfillOnce(
  o: { brokers: string[]; security: KafkaClientSettings; prefix: string; config: Pick<CompiledConfig, 'destinations'>; dedupeWindowMs: number; retentionMs: number; logger: Logger },
  destination: string,
  f: EventSelection,
  opts: BulkOptions,
): Promise<BulkResult> {
  const kafka = new Kafka(kafkaConfig({ clientId: 'kcr-cli', brokers: o.brokers, security: o.security }));
  const conn = new KafkaConnection({ brokers: o.brokers, clientId: 'kcr-cli', logger: o.logger, security: o.security });
  try {
    return await new ClusterBackfill({ kafka, conn, names: clusterNames(o.prefix), config: o.config, dedupeWindowMs: o.dedupeWindowMs, retentionMs: o.retentionMs }).backfill(destination, f, opts);
  } finally {
    await conn.close();
  }
}
