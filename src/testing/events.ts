/** Delivery events for tests, made the way the HTTP edge makes them: validate, then enrich. */
import { eventIdOf } from '../accept/accept.js';
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
  const event = enrichEvent(valid.callback, fields, { profile: 'default', eventId: '', receivedAt: new Date(), sentTimeZone: 'UTC', ...ctx });
  // As the HTTP edge does (intake.ts): the event id is the UUID of the resend key.
  if (ctx.eventId === undefined) event.event_id = eventIdOf(event);
  return event;
}
