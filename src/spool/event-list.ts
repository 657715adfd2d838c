/**
 * The recent events, newest first, narrowed by filters and read a page at a time: what the
 * console's Events page shows. Every filter is served by an index (schema.sql.ts), and pages are
 * cut by keyset on (received_at, seq), never OFFSET, so page 1000 costs what page 1 does.
 */
import type { DeliveryEvent } from '../event.js';
import { decodeBody, type BodyKeys } from './body-codec.js';
import type { SpoolDb } from './db.js';
import type { DeliveryState } from './types.js';

/** How the deliveries of an event ended up: any dead, any pending, all done, or none planned. */
export const DELIVERY_OUTCOMES = ['dead', 'pending', 'done', 'none'] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

/** What to show; every field narrows (all of them at once: AND). Times are ms epoch. */
export interface EventListFilter {
  /** Exactly as Kaleyra sent it ("Undelivered"). */
  status?: string;
  status_class?: string;
  /** Upper-case ISO 3166-1 alpha-2. */
  iso_code?: string;
  profile?: string;
  /** A message_id, or a message_key (a message_id is its message_key). */
  message_id?: string;
  /** Kaleyra's `id`: the send request. */
  request_id?: string;
  /** received_at >= from */
  from?: number;
  /** received_at < to */
  to?: number;
  delivery?: DeliveryOutcome;
}

/** Which page: the newest (neither), the one after the row `before` (older), or before the row `after` (newer). */
export interface EventListPage {
  before?: number;
  after?: number;
  /** Rows per page, 1..500; default 50. */
  limit?: number;
}

export interface EventListRow {
  seq: number;
  event_id: string;
  /** ISO 8601 UTC. */
  received_at: string;
  profile: string;
  type: string;
  status: string;
  status_class: string;
  stale: boolean;
  iso_code: string | null;
  message_id: string | null;
  message_key: string;
  request_id: string | null;
  description: string | null;
  /** One per destination it was routed to, in the order they were planned. */
  deliveries: { destination: string; state: DeliveryState }[];
}

export interface EventListResult {
  rows: EventListRow[];
  /** The cursor of the next older page (`before`), or null when this is the oldest. */
  older: number | null;
  /** The cursor of the next newer page (`after`), or null when this is the newest. */
  newer: number | null;
}

interface Row extends BodyKeys {
  seq: number;
  received_at: number;
  profile: string;
  type: string;
  status_class: string;
  body: string | Buffer;
}

/**
 * Each filter as a SQL condition on `events`, each on a column with an index of its own
 * (schema.sql.ts: events_class, events_iso, ...): the body is compressed, never searched.
 */
const CONDITIONS: Record<Exclude<keyof EventListFilter, 'delivery'>, string> = {
  status: 'status = @status',
  status_class: 'status_class = @status_class',
  iso_code: 'iso_code = @iso_code',
  profile: 'profile = @profile',
  message_id: 'message_key = @message_id',
  request_id: 'request_id = @request_id',
  from: 'received_at >= @from',
  to: 'received_at < @to',
};

/**
 * The outcome filters. Dead and pending start from the deliveries in that state, which are few
 * next to the events, each on its partial index (deliveries_dead, the queue's); done and none
 * look at each event's deliveries (deliveries_event) while walking the events newest first, and
 * most events qualify.
 */
const OUTCOMES: Record<DeliveryOutcome, string> = {
  dead: "seq IN (SELECT event_seq FROM deliveries INDEXED BY deliveries_dead WHERE state = 'dead')",
  pending: "seq IN (SELECT event_seq FROM deliveries INDEXED BY deliveries_queue WHERE state = 'pending')",
  done:
    'EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = events.seq)' +
    " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = events.seq AND d.state != 'done')",
  none: 'NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = events.seq)',
};

const OLDER = '(received_at < @key_at OR (received_at = @key_at AND seq < @key_seq))';
const NEWER = '(received_at > @key_at OR (received_at = @key_at AND seq > @key_seq))';
const COLUMNS = 'seq, event_id, received_at, profile, type, status_class, message_key, request_id, body';

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;

export class EventList {
  /** Prepared once per shape of query (which filters, which direction): a few dozen at most. */
  private readonly prepared = new Map<string, ReturnType<SpoolDb['prepare']>>();
  private readonly stmt;

  constructor(private readonly db: SpoolDb) {
    this.stmt = {
      // The cursor's place in the order. A cursor whose row was purged since still places the
      // page: the nearest row on the far side of it stands in (its seq compared to the cursor's).
      olderAnchor: db.prepare<[number], { received_at: number }>('SELECT received_at FROM events WHERE seq <= ? ORDER BY seq DESC LIMIT 1'),
      newerAnchor: db.prepare<[number], { received_at: number }>('SELECT received_at FROM events WHERE seq >= ? ORDER BY seq LIMIT 1'),
      deliveries: db.prepare<[string], { event_seq: number; destination: string; state: DeliveryState }>(
        'SELECT event_seq, destination, state FROM deliveries WHERE event_seq IN (SELECT value FROM json_each(?)) ORDER BY id',
      ),
    };
  }

  /**
   * One page of events matching `filter`, newest first, with the cursors of the pages either side.
   * @example spool.eventList.page({ iso_code: 'IN', delivery: 'dead' }, { before: 1234 }).rows[0]?.message_id
   */
  page(filter: EventListFilter, page: EventListPage = {}): EventListResult {
    const limit = Math.min(Math.max(Math.trunc(page.limit ?? DEFAULT_PAGE), 1), MAX_PAGE);
    const direction = page.after !== undefined ? 'newer' : 'older';
    const cursor = page.after ?? page.before;
    const key = cursor === undefined ? undefined : this.anchor(direction, cursor);
    const found = this.select(filter, direction, key, limit + 1);
    const more = found.length > limit;
    const rows = found.slice(0, limit);
    if (direction === 'newer') rows.reverse();
    const first = rows[0];
    const last = rows.at(-1);
    // The other side of the cursor is known to hold rows when the cursor came from a page
    // before; it is asked anyway (one index probe), so filters changed since are answered right.
    const olderExists = direction === 'older' ? more : last !== undefined && this.exists(filter, 'older', last);
    const newerExists = direction === 'newer' ? more : first !== undefined && cursor !== undefined && this.exists(filter, 'newer', first);
    return {
      rows: this.withDeliveries(rows),
      older: olderExists && last ? last.seq : null,
      newer: newerExists && first ? first.seq : null,
    };
  }

  /**
   * The SQL and parameters for one page, exposed for the test that asks SQLite how it plans each
   * filter (EXPLAIN QUERY PLAN): none may read the events table without an index.
   * @example db.prepare(`EXPLAIN QUERY PLAN ${list.query({ iso_code: 'IN' }, 'older', true).sql}`)
   */
  query(filter: EventListFilter, direction: 'older' | 'newer', keyed: boolean): { sql: string; params: Record<string, unknown> } {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    for (const [name, condition] of Object.entries(CONDITIONS) as [keyof typeof CONDITIONS, string][]) {
      const value = filter[name];
      if (value === undefined || value === '') continue;
      where.push(condition);
      params[name] = value;
    }
    if (filter.delivery) where.push(OUTCOMES[filter.delivery]);
    if (keyed) where.push(direction === 'older' ? OLDER : NEWER);
    const order = direction === 'older' ? 'received_at DESC, seq DESC' : 'received_at ASC, seq ASC';
    const sql = `SELECT ${COLUMNS} FROM events${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT @limit`;
    return { sql, params };
  }

  private select(filter: EventListFilter, direction: 'older' | 'newer', key: { at: number; seq: number } | undefined, limit: number): Row[] {
    const { sql, params } = this.query(filter, direction, key !== undefined);
    let stmt = this.prepared.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.prepared.set(sql, stmt);
    }
    return stmt.all({ ...params, ...(key && { key_at: key.at, key_seq: key.seq }), limit }) as Row[];
  }

  private anchor(direction: 'older' | 'newer', cursor: number): { at: number; seq: number } {
    const row = (direction === 'older' ? this.stmt.olderAnchor : this.stmt.newerAnchor).get(cursor);
    // No row on the far side at all: a key past every row, so the page is empty (not the newest).
    return { at: row?.received_at ?? (direction === 'older' ? -1 : Number.MAX_SAFE_INTEGER), seq: cursor };
  }

  private exists(filter: EventListFilter, direction: 'older' | 'newer', from: Row): boolean {
    return this.select(filter, direction, { at: from.received_at, seq: from.seq }, 1).length > 0;
  }

  private withDeliveries(rows: readonly Row[]): EventListRow[] {
    const byEvent = new Map<number, EventListRow['deliveries']>();
    for (const d of this.stmt.deliveries.all(JSON.stringify(rows.map((r) => r.seq)))) {
      const list = byEvent.get(d.event_seq) ?? [];
      list.push({ destination: d.destination, state: d.state });
      byEvent.set(d.event_seq, list);
    }
    return rows.map((r) => rowOf(r, byEvent.get(r.seq) ?? []));
  }
}

function rowOf(r: Row, deliveries: EventListRow['deliveries']): EventListRow {
  const e = JSON.parse(decodeBody(r.body, r)) as Partial<DeliveryEvent>;
  return {
    seq: r.seq,
    event_id: r.event_id,
    received_at: new Date(r.received_at).toISOString(),
    profile: r.profile,
    type: r.type,
    status: typeof e.status === 'string' ? e.status : '',
    status_class: r.status_class,
    stale: e.stale === true,
    iso_code: e.iso_code ?? null,
    message_id: e.message_id ?? null,
    message_key: r.message_key,
    request_id: e.request_id ?? null,
    description: e.description ?? null,
    deliveries,
  };
}
