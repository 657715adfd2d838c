/**
 * The accept step, between enrich and the spool: is this callback a resend, does it move its
 * message backwards (stale), and which destinations does it go to. It reads and writes only the
 * small `AcceptState` it is given, inside the same transaction as the write that follows, so two
 * callbacks in one group commit see each other.
 */
import { statusKey, statusRank } from '../vocabulary/status.js';
import { uuidFromName } from '../enrich/ids.js';
import type { DeliveryEvent } from '../event.js';
import type { RouteMatch } from '../route/match.js';

/** What the step needs to remember: resend keys, and the furthest status of each message. */
export interface AcceptState {
  /** The event id a resend key was first accepted as, if seen at or after `since`. */
  resendOf(key: string, since: number): string | null;
  /** Whether an event with this id is still kept (retention), whatever the window. */
  hasEvent(eventId: string): boolean;
  rememberResend(key: string, eventId: string, at: number): void;
  /** The rank of the furthest status seen for the message, or null. */
  rankOf(messageKey: string): number | null;
  advance(messageKey: string, rank: number, status: string, eventId: string, at: number, profile: string): void;
}

export type AcceptDecision =
  | { duplicate: true; eventId: string }
  | { duplicate: false; event: DeliveryEvent; stale: boolean; route: RouteMatch };

export interface AcceptOptions {
  /** Route planning: the destinations of the rules the event matches. */
  plan: (event: DeliveryEvent) => RouteMatch;
  /** A resend inside this window is answered but not delivered again. */
  dedupeWindowMs: number;
  now: () => number;
}

/**
 * What makes a callback a resend: the same message (never just the same send request, which a
 * whole campaign shares), the same status however it is spelt ("Delivered", "DELIVERED") and the
 * same status_time, on the same profile. Two different words of one class ("Queued", "Sent") are
 * two reports: when in doubt, deliver twice rather than lose one.
 * @example resendKey(event) // 'default\u0000<message_id>\u0000sms.delivered\u0000delivered\u00002022-04-05T08:55:50.000Z'
 */
export function resendKey(event: DeliveryEvent): string {
  // The type follows from the status for every callback; it sets apart the events the router
  // makes itself (sms.final_missing) from the report they are about.
  return `${event.profile}\u0000${event.message_key}\u0000${event.type}\u0000${statusKey(event.status)}\u0000${event.status_time ?? ''}`;
}

/**
 * The event id of a report: made from what makes it a resend, so the same report gets the same
 * id (and the same `webhook-id`) however often Kaleyra sends it and whichever process takes it.
 * @example eventIdOf(event) === eventIdOf({ ...event, received_at: later }) // true
 */
export function eventIdOf(event: DeliveryEvent): string {
  return uuidFromName(resendKey(event));
}

/**
 * Decides one event: a resend (answered with the first event id), or a new report with its
 * stale flag and routing plan. Records what it decided in `state`.
 * @example acceptEvent(event, state, { plan: (e) => matchRoutes(e, table), dedupeWindowMs: 600_000, now: Date.now })
 */
export function acceptEvent(event: DeliveryEvent, state: AcceptState, opts: AcceptOptions): AcceptDecision {
  const now = opts.now();
  const key = resendKey(event);
  const first = state.resendOf(key, now - opts.dedupeWindowMs);
  if (first !== null) return { duplicate: true, eventId: first };
  // Past the window, an event id made from the same report is still the same report.
  if (state.hasEvent(event.event_id)) return { duplicate: true, eventId: event.event_id };
  state.rememberResend(key, event.event_id, now);

  const rank = statusRank(event.status_class, event.status_final);
  const prior = state.rankOf(event.message_key);
  const stale = prior !== null && prior > rank;
  if (!stale) state.advance(event.message_key, rank, event.status, event.event_id, now, event.profile);
  const accepted: DeliveryEvent = stale ? { ...event, stale: true } : event;
  return { duplicate: false, event: accepted, stale, route: opts.plan(accepted) };
}
