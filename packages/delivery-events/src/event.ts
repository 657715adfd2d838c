/**
 * The delivery event: what the router emits to Kafka and webhooks, and what consumers parse
 * back. This zod schema is the contract; schema/delivery-event.schema.json is its JSON Schema.
 */
import { z } from 'zod';
import { STATUS_CLASSES, TRACE_GROUPS } from './vocabulary.js';

/** The event's `schema_version`; the package's major version follows it (2.x.y for version 2). */
export const EVENT_SCHEMA_VERSION = 2;
/** The Kafka header and webhook `type` prefix. */
export const EVENT_TYPE_PREFIX = 'sms.';

const isoTime = z.iso.datetime({ offset: false }).nullable();

/**
 * Every field is always present (null when unknown), so consumers in any language can rely on them.
 * @example const result = DeliveryEventSchema.safeParse(JSON.parse(body))
 */
export const DeliveryEventSchema = z.object({
  schema_version: z.literal(EVENT_SCHEMA_VERSION),
  event_id: z
    .string()
    .describe('Made from the report (UUIDv8 of profile, message_key, type, status, status_time): the same report always has the same id. Use it to deduplicate.'),
  type: z.string().describe('sms.<status_class>, e.g. sms.delivered'),
  profile: z.string().describe('The callback profile from the URL path.'),
  received_at: z.iso.datetime().describe('When the router accepted the callback (UTC).'),
  message_id: z.string().nullable().describe("Kaleyra `message_id`: one recipient or part of a send request (`<uuid>:<n>`)."),
  request_id: z
    .string()
    .nullable()
    .describe("Kaleyra `id`: the send request, shared by every recipient and part of a campaign. Group a campaign by it."),
  message_index: z
    .number()
    .int()
    .nullable()
    .describe('The `:<n>` suffix of message_id (the recipient or part within the request), or null when there is none.'),
  message_key: z
    .string()
    .describe('Kafka key: message_id; without one, request id and recipient. Every report of one message shares it.'),
  status: z.string().describe('Status exactly as Kaleyra sent it (trimmed).'),
  status_class: z.enum(STATUS_CLASSES),
  status_final: z.boolean().describe('No later report is expected.'),
  status_trace: z.string().nullable(),
  status_trace_group: z.enum(TRACE_GROUPS).nullable(),
  description: z.string().nullable(),
  stale: z.boolean().describe('A newer status was already seen for this message; this report moves it backwards.'),
  status_time: isoTime.describe('When the status was reached, ISO-8601 UTC; null when unreadable or zone-less with no zone declared.'),
  sent_time: isoTime.describe("ISO-8601 UTC when the profile (or SENT_TIME_ZONE) declares the zone of Kaleyra's zone-less sent_time; else null."),
  sent_time_local: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?$/)
    .nullable()
    .describe('sent_time as Kaleyra sent it, a wall-clock time in an unstated zone, in ISO form without offset.'),
  iso_code: z.string().nullable().describe('Upper-cased ISO 3166-1 alpha-2.'),
  country: z.string().nullable().describe('English country name from iso_code (else country_name).'),
  country_name: z.string().nullable().describe("Kaleyra's own country_name, as sent."),
  recipient: z.string().nullable().describe('As sent (may be masked with X).'),
  recipient_e164: z.string().regex(/^\+[1-9]\d{5,14}$/).nullable(),
  recipient_masked: z.boolean(),
  sender: z.string().nullable(),
  route_type: z.string().nullable().describe('Kaleyra `type`: DEFAULT, OTP, TXN, MKT, ...'),
  source: z.string().nullable(),
  campaign_name: z.string().nullable(),
  flash: z.boolean().nullable(),
  price: z
    .string()
    .regex(/^-?\d+(\.\d+)?$/)
    .nullable()
    .describe('The exact decimal as Kaleyra sent it (never a binary float), e.g. "0.001354".'),
  total: z.number().nullable(),
  length: z.number().nullable(),
  units: z.number().nullable(),
  ref: z.string().nullable(),
  ref1: z.string().nullable(),
  ref2: z.string().nullable(),
  raw: z.record(z.string(), z.unknown()).describe('The callback fields exactly as received (after decryption and before any field map).'),
  raw_query: z.string().nullable().describe('The query string exactly as received (no "?"), or null when there was none.'),
});

/** One delivery report of one message, enriched: what `onEvent` and `verifyWebhook` hand you. */
export type DeliveryEvent = z.infer<typeof DeliveryEventSchema>;

/**
 * The event's JSON Schema (draft 2020-12), generated from the zod schema: the same document the
 * package ships as `@kaleyra-callback-router/delivery-events/delivery-event.schema.json`.
 * @example writeFileSync('delivery-event.schema.json', JSON.stringify(deliveryEventJsonSchema(), null, 2))
 */
export function deliveryEventJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(DeliveryEventSchema, { target: 'draft-2020-12' }) as Record<string, unknown>;
}
