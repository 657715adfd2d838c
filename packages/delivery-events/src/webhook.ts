/**
 * For downstream services: check a webhook the router signed (Standard Webhooks: `webhook-id`,
 * `webhook-timestamp`, `webhook-signature`) and get the typed delivery event out of it.
 */
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { z } from 'zod';
import { DeliveryEventSchema } from './event.js';

/** Thrown for missing headers, a signature that does not match, or a timestamp over 5 minutes off. */
export { WebhookVerificationError };

/** The body the router POSTs: `{ type, timestamp, data }`, `type` being e.g. `sms.delivered`. */
export const DeliveryWebhookSchema = z.object({
  type: z.string(),
  timestamp: z.iso.datetime(),
  data: DeliveryEventSchema,
});
export type DeliveryWebhook = z.infer<typeof DeliveryWebhookSchema>;

/** Fetch `Headers`, Node's `req.headers`, or a plain object; names in any case. */
export type WebhookHeaders = Headers | Record<string, string | readonly string[] | undefined>;

/**
 * Verifies the signature over the raw body (verify before parsing: re-serialized JSON no longer
 * matches) and returns the typed event. Throws WebhookVerificationError for a bad signature or a
 * timestamp more than 5 minutes from now (a replay), and a ZodError for an authentic body that is
 * not a delivery event of this schema version. `webhook-id` is the event_id: dedupe on it.
 * @example
 * const { type, data } = verifyWebhook(process.env.KCR_WEBHOOK_SECRET!, await req.text(), req.headers);
 */
export function verifyWebhook(secret: string, body: string | Uint8Array, headers: WebhookHeaders): DeliveryWebhook {
  const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
  const payload = new Webhook(secret).verify(text, plainHeaders(headers));
  return DeliveryWebhookSchema.parse(payload);
}

// standardwebhooks reads a plain object of single strings; a repeated header arrives as an array.
function plainHeaders(headers: WebhookHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  const entries = headers instanceof Headers ? [...headers.entries()] : Object.entries(headers);
  for (const [name, value] of entries) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = typeof value === 'string' ? value : value.join(' ');
  }
  return out;
}
