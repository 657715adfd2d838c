/**
 * The one Kafka record of a delivery, the same whether it goes to a broker or to the local
 * sink: key = message_key (one message's reports share a partition, so they stay in order),
 * value = the stored event JSON untouched, and the headers consumers route on without parsing.
 */
import { EVENT_SCHEMA_VERSION } from '../event.js';
import { traceHeaders } from '../trace/headers.js';
import type { DeliveryItem } from './types.js';

export interface KafkaRecord {
  key: string;
  value: string;
  /** `traceparent` (and `tracestate`) when the delivery has a trace context: W3C trace context over Kafka. */
  headers: { 'event-type': string; 'schema-version': string; 'event-id': string; 'content-type': 'application/json'; traceparent?: string; tracestate?: string };
}

/**
 * @example kafkaRecord(item).headers['event-id'] === item.eventId
 */
export function kafkaRecord(d: DeliveryItem): KafkaRecord {
  return {
    key: d.messageKey,
    value: d.body,
    headers: {
      'event-type': d.type,
      'schema-version': String(EVENT_SCHEMA_VERSION),
      'event-id': d.eventId,
      'content-type': 'application/json',
      ...traceHeaders(d.trace),
    },
  };
}
