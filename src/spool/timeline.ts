/**
 * One message's story as the spool kept it: each report received (raw and enriched, the rules it
 * matched), each delivery it planned with its state and every attempt, and the message's furthest
 * status. What GET /admin/messages/<id> and `kcr show` read.
 */
import type { DeliveryEvent } from '../event.js';
import { statusRank } from '../vocabulary/status.js';
import { decodeBody, type BodyKeys } from './body-codec.js';
import { decodeStoredId } from './stored-id.js';
import type { SpoolDb } from './db.js';
import { ROUTE_JOIN, ROUTE_OF_EVENT } from './route-decisions.js';
import type { DeliveryState } from './types.js';

/** One attempt at one delivery. Times are ISO 8601 UTC. */
export interface TimelineAttempt {
  /** The delivery's attempt number (counting starts again after a replay). */
  attempt: number;
  /** When it was sent. */
  at: string;
  outcome: 'delivered' | 'retry' | 'dead';
  /** The HTTP status when the failure says one (http_503); null for Kafka, timeouts, successes. */
  status_code: number | null;
  /** The round trip of the batch it went in. */
  latency_ms: number;
  code: string | null;
  /** Secrets redacted. */
  error: string | null;
}

/** One delivery of a report to one destination, and its fate so far. */
export interface TimelineDelivery {
  id: number;
  destination: string;
  state: DeliveryState;
  first_at: string;
  /** When a pending one is tried next. */
  next_at: string | null;
  updated_at: string;
  last_code: string | null;
  last_error: string | null;
  attempts: TimelineAttempt[];
}

/** One report received (or made by the router: sms.final_missing) and what became of it. */
export interface TimelineCallback {
  event_id: string;
  received_at: string;
  type: string;
  status: string;
  /** It moved the message backwards (a newer status was seen first). */
  stale: boolean;
  /**
   * The rules it matched when accepted, under the config of that day; `fallback`: none matched
   * and the fallback took it. Null: not recorded (kept before spool version 4, or a dead letter
   * copied from the cluster's dead-letter topic).
   */
  route: { rules: string[]; fallback: boolean; destinations: string[] } | null;
  /** The callback's fields exactly as received, and its query string (GET callbacks). */
  raw: Record<string, unknown> | null;
  raw_query: string | null;
  /** The enriched event as delivered, less `raw` and `raw_query` (above, not sent twice). */
  event: Omit<DeliveryEvent, 'raw' | 'raw_query'>;
  deliveries: TimelineDelivery[];
}

/** The message as its reports left it (message_state). */
export interface TimelineState {
  /** The furthest status seen (a stale report never moves it back). */
  status: string;
  /** 0 early, 1 interim (pending), 2 final. */
  rank: number;
  final: boolean;
  event_id: string;
  updated_at: string;
  profile: string | null;
  /** When an sms.final_missing event was made for it, if one was. */
  final_missing_at: string | null;
}

export interface MessageTimeline {
  message_key: string;
  /** Kaleyra's message_id, when its reports have one (then it is the message_key). */
  message_id: string | null;
  /** Null when retention purged it, or nothing advanced it (every report stale). */
  state: TimelineState | null;
  /** Oldest first. */
  callbacks: TimelineCallback[];
  /** More reports are kept than `limit`: these are the newest. */
  truncated: boolean;
}

interface EventRow extends BodyKeys {
  seq: number;
  type: string;
  received_at: number;
  body: string | Buffer;
  route: string | null;
}

interface DeliveryRow {
  id: number;
  event_seq: number;
  destination: string;
  state: DeliveryState;
  first_at: number;
  next_at: number;
  updated_at: number;
  last_code: string | null;
  last_error: string | null;
  attempts: number;
  /** The successful batch's round trip (spool version 5 on); null before that, or not delivered. */
  latency_ms: number | null;
}

interface AttemptRow {
  delivery_id: number;
  attempt: number;
  at: number;
  outcome: TimelineAttempt['outcome'];
  status_code: number | null;
  latency_ms: number;
  code: string | null;
  error: string | null;
}

interface StateRow {
  rank: number;
  status: string;
  event_id: string | Buffer;
  updated_at: number;
  profile: string | null;
  missing_at: number | null;
}

/** The rank of a final report, whatever its class. */
const FINAL_RANK = statusRank('delivered', true);

const iso = (ms: number): string => new Date(ms).toISOString();

export class SpoolTimeline {
  private readonly stmt;

  constructor(db: SpoolDb) {
    this.stmt = {
      // The newest `limit` (+1 to know there are more), on the index by message.
      events: db.prepare<[string, number], EventRow>(
        `SELECT e.seq, e.event_id, e.message_key, e.request_id, e.type, e.received_at, e.body, ${ROUTE_OF_EVENT}
           FROM events e INDEXED BY events_message ${ROUTE_JOIN}
          WHERE e.message_key = ? ORDER BY e.seq DESC LIMIT ?`,
      ),
      deliveries: db.prepare<[string], DeliveryRow>(
        `SELECT id, event_seq, destination, state, first_at, next_at, updated_at, last_code, last_error, attempts, latency_ms
           FROM deliveries WHERE event_seq IN (SELECT value FROM json_each(?)) ORDER BY id`,
      ),
      attempts: db.prepare<[string], AttemptRow>(
        `SELECT delivery_id, attempt, at, outcome, status_code, latency_ms, code, error
           FROM attempts WHERE event_seq IN (SELECT value FROM json_each(?)) ORDER BY id`,
      ),
      state: db.prepare<[string], StateRow>('SELECT rank, status, event_id, updated_at, profile, missing_at FROM message_state WHERE message_key = ?'),
    };
  }

  /**
   * The timeline of the message with this message_key (a message_id is its message_key), its
   * newest `limit` reports at most; null when the spool keeps nothing of it.
   * @example spool.timeline.message('3f6d…:0', 100)?.callbacks[0]?.deliveries[0]?.attempts
   */
  message(messageKey: string, limit: number): MessageTimeline | null {
    const events = this.stmt.events.all(messageKey, limit + 1);
    const state = this.stmt.state.get(messageKey);
    if (events.length === 0 && !state) return null;
    const kept = events.slice(0, limit).reverse();
    const seqs = JSON.stringify(kept.map((e) => e.seq));
    const attempts = group(this.stmt.attempts.all(seqs), (a) => a.delivery_id);
    const deliveries = group(this.stmt.deliveries.all(seqs), (d) => d.event_seq);
    const callbacks = kept.map((e) => callbackOf(e, (deliveries.get(e.seq) ?? []).map((d) => deliveryOf(d, attempts.get(d.id) ?? []))));
    return {
      message_key: messageKey,
      message_id: callbacks.find((c) => c.event.message_id !== null)?.event.message_id ?? null,
      state: state ? stateOf(state) : null,
      callbacks,
      truncated: events.length > limit,
    };
  }
}

function group<T, K>(rows: readonly T[], key: (r: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const r of rows) {
    const list = out.get(key(r));
    if (list) list.push(r);
    else out.set(key(r), [r]);
  }
  return out;
}

function callbackOf(e: EventRow, deliveries: TimelineDelivery[]): TimelineCallback {
  const { raw, raw_query, ...event } = JSON.parse(decodeBody(e.body, e)) as DeliveryEvent;
  return {
    event_id: e.event_id,
    received_at: iso(e.received_at),
    type: e.type,
    status: event.status,
    stale: event.stale,
    route: e.route === null ? null : (JSON.parse(e.route) as TimelineCallback['route']),
    raw: raw ?? null,
    raw_query: raw_query ?? null,
    event,
    deliveries,
  };
}

function deliveryOf(d: DeliveryRow, attempts: readonly AttemptRow[]): TimelineDelivery {
  return {
    id: d.id,
    destination: d.destination,
    state: d.state,
    first_at: iso(d.first_at),
    next_at: d.state === 'pending' ? iso(d.next_at) : null,
    updated_at: iso(d.updated_at),
    last_code: d.last_code,
    last_error: d.last_error,
    attempts: [...attempts.map(attemptOf), ...success(d, attempts)],
  };
}

function attemptOf(a: AttemptRow): TimelineAttempt {
  return { attempt: a.attempt, at: iso(a.at), outcome: a.outcome, status_code: a.status_code, latency_ms: a.latency_ms, code: a.code, error: a.error };
}

/**
 * The successful attempt of a delivered one, from the delivery row itself (no attempt row is
 * written for a success since spool version 5): sent its round trip before it was marked done.
 */
function success(d: DeliveryRow, logged: readonly AttemptRow[]): TimelineAttempt[] {
  if (d.state !== 'done' || d.latency_ms === null || logged.some((a) => a.outcome === 'delivered' && a.attempt === d.attempts)) return [];
  const at = d.updated_at - d.latency_ms;
  return [{ attempt: d.attempts, at: iso(at), outcome: 'delivered', status_code: null, latency_ms: d.latency_ms, code: null, error: null }];
}

function stateOf(s: StateRow): TimelineState {
  return {
    status: s.status,
    rank: s.rank,
    final: s.rank >= FINAL_RANK,
    event_id: decodeStoredId(s.event_id),
    updated_at: iso(s.updated_at),
    profile: s.profile,
    final_missing_at: s.missing_at === null ? null : iso(s.missing_at),
  };
}
