/**
 * The delivery event: what the router emits to Kafka and webhooks, and what consumers parse
 * back. This zod schema is the contract; `npm run cli -- schema` prints it as JSON Schema.
 */
import { z } from 'zod';
import { STATUS_CLASSES, TRACE_GROUPS } from './enrich/status.js';

export const EVENT_SCHEMA_VERSION = 1;
/** The Kafka header and webhook `type` prefix. */
export const EVENT_TYPE_PREFIX = 'sms.';

const isoTime = z.iso.datetime({ offset: false }).nullable();

export const DeliveryEventSchema = z.object({
  schema_version: z.literal(EVENT_SCHEMA_VERSION),
  event_id: z.string().describe('Unique per accepted callback; time-ordered (UUIDv7).'),
  type: z.string().describe('sms.<status_class>, e.g. sms.delivered'),
  profile: z.string().describe('The callback profile from the URL path.'),
  received_at: z.iso.datetime().describe('When the router accepted the callback (UTC).'),
  message_id: z.string().nullable(),
  callback_id: z.string().nullable().describe("Kaleyra's `id` field."),
  message_key: z.string().describe('Kafka key: message_id, or id when there is none.'),
  status: z.string().describe('Status exactly as Kaleyra sent it (trimmed).'),
  status_class: z.enum(STATUS_CLASSES),
  status_final: z.boolean().describe('No later report is expected.'),
  status_trace: z.string().nullable(),
  status_trace_group: z.enum(TRACE_GROUPS).nullable(),
  description: z.string().nullable(),
  stale: z.boolean().describe('A newer status was already seen for this message; this report moves it backwards.'),
  status_time: isoTime,
  sent_time: isoTime,
  iso_code: z.string().nullable().describe('Upper-cased ISO 3166-1 alpha-2.'),
  country: z.string().nullable(),
  recipient: z.string().nullable().describe('As sent (may be masked with X).'),
  recipient_e164: z.string().regex(/^\+[1-9]\d{5,14}$/).nullable(),
  recipient_masked: z.boolean(),
  sender: z.string().nullable(),
  route_type: z.string().nullable().describe('Kaleyra `type`: DEFAULT, OTP, TXN, MKT, ...'),
  source: z.string().nullable(),
  campaign_name: z.string().nullable(),
  flash: z.boolean().nullable(),
  price: z.number().nullable(),
  total: z.number().nullable(),
  length: z.number().nullable(),
  units: z.number().nullable(),
  ref: z.string().nullable(),
  ref1: z.string().nullable(),
  ref2: z.string().nullable(),
  raw: z.record(z.string(), z.unknown()).describe('The callback fields exactly as received.'),
});

export type DeliveryEvent = z.infer<typeof DeliveryEventSchema>;

/** The event's JSON Schema (draft 2020-12), generated from the zod schema. */
export function deliveryEventJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(DeliveryEventSchema, { target: 'draft-2020-12' }) as Record<string, unknown>;
}
