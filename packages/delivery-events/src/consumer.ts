/**
 * For downstream services: consume delivery events from Kafka, parsed back into the typed
 * event with the same zod schema the router emits with.
 *
 * Consumers read committed records only: kafkajs's default `readUncommitted: false`, set here
 * explicitly, so a record from a producer transaction that was aborted is never handed to you.
 */
import { Kafka, logLevel, type Consumer, type IHeaders, type KafkaConfig } from 'kafkajs';
import { DeliveryEventSchema, type DeliveryEvent } from './event.js';

/**
 * Parses a Kafka message value into a DeliveryEvent; throws a SyntaxError when it is not JSON
 * and a ZodError when it is JSON but not a delivery event of this schema version.
 * @example const event = parseDeliveryEvent(message.value!)
 */
export function parseDeliveryEvent(value: Buffer | string): DeliveryEvent {
  return DeliveryEventSchema.parse(JSON.parse(value.toString()));
}

/** Where a record came from: enough to log it, skip it or find it again. */
export interface EventMeta {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  headers: Record<string, string>;
}

export interface ConsumeOptions {
  brokers: string[];
  groupId: string;
  topics: string[];
  fromBeginning?: boolean;
  clientId?: string;
  /** Anything else the client needs to reach your cluster (ssl, sasl, timeouts). */
  kafka?: Omit<KafkaConfig, 'brokers' | 'clientId'>;
  /** Called once per event, in partition order; a throw makes kafkajs retry the message. */
  onEvent: (event: DeliveryEvent, meta: EventMeta) => Promise<void> | void;
  /** A message that is not a valid event; default: rethrow. */
  onInvalid?: (error: unknown, meta: EventMeta, value: string) => Promise<void> | void;
}

export interface DeliveryConsumer {
  consumer: Consumer;
  stop(): Promise<void>;
}

/**
 * Joins `groupId` and hands every event on `topics` to `onEvent`, parsed and typed. Reads
 * committed records only (`readUncommitted: false`, the kafkajs default).
 * @example
 * const c = await consumeDeliveryEvents({ brokers: ['127.0.0.1:9092'], groupId: 'billing',
 *   topics: ['kaleyra.sms.events'], onEvent: (e) => console.log(e.message_id, e.status_class) });
 */
export async function consumeDeliveryEvents(opts: ConsumeOptions): Promise<DeliveryConsumer> {
  const kafka = new Kafka({ logLevel: logLevel.ERROR, ...opts.kafka, clientId: opts.clientId ?? 'kcr-consumer', brokers: opts.brokers });
  const consumer = kafka.consumer({ groupId: opts.groupId, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topics: opts.topics, fromBeginning: opts.fromBeginning ?? false });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      const meta: EventMeta = { topic, partition, offset: message.offset, key: message.key?.toString() ?? null, headers: headerStrings(message.headers) };
      const value = message.value?.toString() ?? '';
      let event: DeliveryEvent;
      try {
        event = parseDeliveryEvent(value);
      } catch (err) {
        if (!opts.onInvalid) throw err;
        await opts.onInvalid(err, meta, value);
        return;
      }
      await opts.onEvent(event, meta);
    },
  });
  return { consumer, stop: () => consumer.disconnect() };
}

function headerStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (v !== undefined) out[k] = Array.isArray(v) ? v.map(String).join(',') : v.toString();
  return out;
}

/**
 * One readable line per event, for `kcr tail`.
 * @example formatEventLine(event) // '2022-04-05T08:55:50.000Z IN +9196... Undelivered -> undelivered (final) REJECTED-MULTIPART msg=...'
 */
export function formatEventLine(e: DeliveryEvent): string {
  const when = e.status_time ?? e.received_at;
  const who = e.recipient_e164 ?? e.recipient ?? '-';
  const trace = e.status_trace ? ` ${e.status_trace}` : '';
  const flags = [e.status_final ? 'final' : 'interim', e.stale ? 'stale' : null].filter(Boolean).join(',');
  return `${when} ${e.iso_code ?? '--'} ${who} ${e.status} -> ${e.status_class} (${flags})${trace} msg=${e.message_key} profile=${e.profile}${e.description ? ` "${e.description}"` : ''}`;
}
