/** Delivery events for tests, made the way the HTTP edge makes them: validate, then enrich. */
import { randomUUID } from 'node:crypto';
import { enrichEvent, type EnrichContext } from '../enrich/enrich.js';
import type { DeliveryEvent } from '../event.js';
import { validateCallback } from '../validate/callback.js';

/**
 * An enriched event from callback fields; throws when the fields are not a valid callback.
 * @example eventFrom(postSample({ status: 'Delivered' }), { profile: 'IN_1' })
 */
export function eventFrom(fields: Record<string, unknown>, ctx: Partial<EnrichContext> = {}): DeliveryEvent {
  const valid = validateCallback(fields);
  if (!valid.ok) throw new Error(`test input is not a valid callback: ${JSON.stringify(valid.problems)}`);
  return enrichEvent(valid.callback, fields, { profile: 'default', eventId: randomUUID(), receivedAt: new Date(), sentTimeZone: 'UTC', ...ctx });
}
