/** The records the spool keeps and hands out, shared by its parts and their users. */
import type { TraceContext } from '../trace/context.js';

export interface PendingDelivery {
  id: number;
  eventId: string;
  messageKey: string;
  type: string;
  attempts: number;
  firstAt: number;
  /** The enriched event as JSON, exactly as stored. */
  body: string;
  /** This attempt's trace context (a child span of the callback's); null for events stored before version 4. */
  trace?: TraceContext | null;
}

export type DeliveryState = 'pending' | 'done' | 'dead';

export interface DeliveryRecord {
  id: number;
  event_id: string;
  destination: string;
  message_key: string;
  state: DeliveryState;
  attempts: number;
  first_at: number;
  next_at: number;
  updated_at: number;
  last_code: string | null;
  last_error: string | null;
}

/** Which deliveries a replay or a listing takes. All fields narrow; none means all. */
export interface DeliveryFilter {
  ids?: number[];
  destination?: string;
  eventId?: string;
  messageKey?: string;
  code?: string;
  since?: number;
  until?: number;
  limit?: number;
}

export interface RejectedRecord {
  id: number;
  received_at: number;
  profile: string;
  status_code: number;
  reason: string;
  content_type: string | null;
  body: string;
  /** How it came (null for payloads kept before the spool recorded it). */
  method: string | null;
  query: string | null;
  /** The event it became once re-ingested, or null. */
  replayed_event_id: string | null;
}

/** A refused callback as the HTTP edge hands it over. */
export interface RejectedInput {
  profile: string;
  statusCode: number;
  reason: string;
  contentType: string | null;
  body: string;
  method?: string | null;
  query?: string | null;
}

/** Which refused payloads to list or re-ingest. */
export interface RejectedFilter {
  ids?: number[];
  profile?: string;
  since?: number;
  until?: number;
  /** Only those not re-ingested yet. */
  pending?: boolean;
  oldestFirst?: boolean;
  limit?: number;
}

/**
 * A delivery a commit has just made, as the queue keeps it in memory (queue.ts): its row is in
 * `deliveries`, pending and due at once. The callback's trace context is as stored; each attempt
 * gets a child span of its own.
 */
export interface MadeDelivery extends Omit<PendingDelivery, 'trace'> {
  destination: string;
  storedTrace: Buffer | string | null;
}

/**
 * Told which destinations have new work (after a commit, a replay, a backfill, an enable).
 * `made`: the deliveries a commit made, all of that work; absent when the work came otherwise.
 */
export type WorkListener = (destinations: ReadonlySet<string>, made?: readonly MadeDelivery[]) => void;

/** One set of work listeners shared by the spool's parts. */
export class WorkNotifier {
  private readonly listeners = new Set<WorkListener>();

  on(listener: WorkListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(destinations: Iterable<string>, made?: readonly MadeDelivery[]): void {
    const set = destinations instanceof Set ? (destinations as ReadonlySet<string>) : new Set(destinations);
    if (set.size === 0) return;
    for (const l of this.listeners) l(set, made);
  }
}
