/** Turns a validated callback into the delivery event the router emits. Pure but for the clock and id passed in. */
import type { KaleyraCallback } from '../validate/callback.js';
import { EVENT_SCHEMA_VERSION, EVENT_TYPE_PREFIX, type DeliveryEvent } from '../event.js';
import { normalizeStatus } from '../vocabulary/status.js';
import { toIsoUtc, wallClockIso } from './time.js';
import { toE164 } from './recipient.js';

export interface EnrichContext {
  profile: string;
  eventId: string;
  receivedAt: Date;
  /** IANA zone Kaleyra's zone-less sent_time is read in; null when none is declared (kept local). */
  sentTimeZone: string | null;
  /** The query string exactly as received, for GET and DELETE callbacks. */
  rawQuery?: string | null;
}

/**
 * The Kafka key and the lifecycle's identity: every report of one message, and only of that
 * message. Kaleyra's `id` is the send request, shared by a whole campaign, so without a
 * message_id the recipient tells the messages of one request apart.
 * @example messageKey({ message_id: null, id: 'req-1', recipient: '919620838123' }) === 'req-1/919620838123'
 */
export function messageKey(cb: Pick<KaleyraCallback, 'message_id' | 'id' | 'recipient'>): string {
  if (cb.message_id !== null) return cb.message_id;
  return cb.recipient !== null ? `${cb.id}/${cb.recipient}` : cb.id!;
}

/** The recipient or part index of a message_id `<uuid>:<n>`, or null. */
function messageIndex(messageId: string | null): number | null {
  if (messageId === null) return null;
  const m = /:(\d{1,9})$/.exec(messageId);
  return m ? Number(m[1]) : null;
}

const regionNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });

// Intl lookups are slow on the request path and there are fewer than 300 regions.
const countryCache = new Map<string, string | null>();

function countryName(iso: string | null, sent: string | null): string | null {
  if (iso === null || !/^[A-Z]{2}$/.test(iso)) return sent;
  let name = countryCache.get(iso);
  if (name === undefined) {
    try {
      name = regionNames.of(iso) ?? null;
    } catch {
      name = null; // Not a region this runtime knows.
    }
    countryCache.set(iso, name);
  }
  return name ?? sent;
}

/**
 * @example enrichEvent(callback, rawFields, { profile: 'default', eventId: uuidv7(), receivedAt: new Date(), sentTimeZone: 'UTC' })
 */
export function enrichEvent(cb: KaleyraCallback, raw: Record<string, unknown>, ctx: EnrichContext): DeliveryEvent {
  const status = normalizeStatus(cb.status, cb.status_trace);
  const iso = cb.iso_code === null ? null : cb.iso_code.toUpperCase();
  const recipient = toE164(cb.recipient, iso);
  return {
    schema_version: EVENT_SCHEMA_VERSION,
    event_id: ctx.eventId,
    type: EVENT_TYPE_PREFIX + status.cls,
    profile: ctx.profile,
    received_at: ctx.receivedAt.toISOString(),
    message_id: cb.message_id,
    request_id: cb.id,
    message_index: messageIndex(cb.message_id),
    message_key: messageKey(cb),
    status: cb.status,
    status_class: status.cls,
    status_final: status.final,
    status_trace: cb.status_trace,
    status_trace_group: status.traceGroup,
    description: cb.description,
    stale: false,
    // Kaleyra writes status_time with its offset; a rare zone-less one is read as UTC unless a
    // zone is declared. sent_time has no zone at all, so it is never guessed.
    status_time: toIsoUtc(cb.status_time, ctx.sentTimeZone ?? 'UTC'),
    sent_time: toIsoUtc(cb.sent_time, ctx.sentTimeZone),
    sent_time_local: wallClockIso(cb.sent_time),
    iso_code: iso,
    country: countryName(iso, cb.country_name),
    country_name: cb.country_name,
    recipient: cb.recipient,
    recipient_e164: recipient.e164,
    recipient_masked: recipient.masked,
    sender: cb.sender,
    route_type: cb.type,
    source: cb.source,
    campaign_name: cb.campaign_name,
    flash: cb.flash,
    price: cb.price,
    total: cb.total,
    length: cb.length,
    units: cb.units,
    ref: cb.ref,
    ref1: cb.ref1,
    ref2: cb.ref2,
    raw,
    raw_query: ctx.rawQuery ?? null,
  };
}
