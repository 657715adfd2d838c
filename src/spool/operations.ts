/**
 * What operators do with the spool: list deliveries, replay dead (or delivered) ones, backfill
 * a destination, read an event, count, purge what retention no longer keeps, and find messages
 * whose final report never came. Every statement is prepared once; optional filters are NULL.
 */
import type { DeliveryEvent } from '../event.js';
import { decodeBody, type BodyKeys } from './body-codec.js';
import { decodeStoredId } from './stored-id.js';
import type { SpoolDb } from './db.js';
import { DEFAULT_CHUNK, chunked, drain, plan, type BulkOptions, type BulkResult, type ChunkRow, type Plan, type PlanRow, type RowsFn } from './chunked.js';
import type { DeliveryFilter, DeliveryRecord, DeliveryState, WorkNotifier } from './types.js';

export type { BulkOptions, BulkResult } from './chunked.js';

/** The filter every delivery statement shares: each condition holds when its parameter is NULL. */
const DELIVERY_FILTER = `
      (@state IS NULL OR d.state = @state)
  AND (@ids IS NULL OR d.id IN (SELECT value FROM json_each(@ids)))
  AND (@destination IS NULL OR d.destination = @destination)
  AND (@eventId IS NULL OR e.event_id = @eventId)
  AND (@messageKey IS NULL OR e.message_key = @messageKey)
  AND (@code IS NULL OR d.last_code = @code)
  AND (@since IS NULL OR e.received_at >= @since)
  AND (@until IS NULL OR e.received_at < @until)`;

type Params = Record<string, string | number | null>;

function params(state: DeliveryState | null, f: DeliveryFilter, defaultLimit: number): Params {
  return {
    state,
    // An empty list names nothing, and must not widen to "all".
    ids: f.ids ? JSON.stringify(f.ids) : null,
    destination: f.destination ?? null,
    eventId: f.eventId ?? null,
    messageKey: f.messageKey ?? null,
    code: f.code ?? null,
    since: f.since ?? null,
    until: f.until ?? null,
    limit: f.limit ?? defaultLimit,
  };
}

/** Which stored events a backfill takes. */
export type EventFilter = Omit<DeliveryFilter, 'destination' | 'ids' | 'code'>;

/** The event filter a backfill shares between its plan and its chunks. */
const EVENT_FILTER = `
      (@eventId IS NULL OR e.event_id = @eventId)
  AND (@messageKey IS NULL OR e.message_key = @messageKey)
  AND (@since IS NULL OR e.received_at >= @since)
  AND (@until IS NULL OR e.received_at < @until)
  AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.event_seq = e.seq AND x.destination = @to)`;

function eventParams(to: string, f: EventFilter): Params {
  const p = params(null, f, -1);
  return { to, eventId: p.eventId ?? null, messageKey: p.messageKey ?? null, since: p.since ?? null, until: p.until ?? null, limit: p.limit ?? -1 };
}

export interface InterimMessage {
  messageKey: string;
  /** Its latest event, or null when retention already purged it. */
  last: DeliveryEvent | null;
}

export class SpoolOperations {
  private readonly stmt;

  constructor(
    private readonly db: SpoolDb,
    private readonly notifier: WorkNotifier,
    private readonly now: () => number,
    private readonly retention: { retentionMs: number; dedupeWindowMs: number },
    /** Writes anything still buffered (refused payloads) before a purge looks at the tables. */
    private readonly beforePurge: () => void = () => undefined,
  ) {
    this.stmt = {
      list: db.prepare<[Params], DeliveryRecord>(
        `SELECT d.id, e.event_id, d.destination, e.message_key, d.state, d.attempts, d.first_at, d.next_at,
                d.updated_at, d.last_code, d.last_error
           FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE ${DELIVERY_FILTER} ORDER BY d.id DESC LIMIT @limit`,
      ),
      // A replay's selection as it stands when it begins: per destination, and its last id.
      replayPlan: db.prepare<[Params], PlanRow>(
        `SELECT s.destination, COUNT(*) AS n, MAX(s.id) AS last FROM (
           SELECT d.id, d.destination FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE ${DELIVERY_FILTER}
            ORDER BY d.id LIMIT @limit) s GROUP BY s.destination ORDER BY s.destination`,
      ),
      // One chunk of it, one short transaction: the next rows after `after`, up to the last one planned.
      replayChunk: db.prepare<[Params], ChunkRow>(
        `UPDATE deliveries SET state = 'pending', attempts = 0, first_at = @now, next_at = @now, updated_at = @now,
                message_hash = message_hash((SELECT message_key FROM events WHERE seq = deliveries.event_seq))
          WHERE id IN (SELECT d.id FROM deliveries d JOIN events e ON e.seq = d.event_seq
                        WHERE ${DELIVERY_FILTER} AND d.id > @after AND d.id <= @through ORDER BY d.id LIMIT @chunk)
          RETURNING id AS key, destination`,
      ),
      backfillPlan: db.prepare<[Params], PlanRow>(
        `SELECT @to AS destination, COUNT(*) AS n, MAX(s.seq) AS last FROM (
           SELECT e.seq FROM events e WHERE ${EVENT_FILTER} ORDER BY e.seq LIMIT @limit) s`,
      ),
      backfillChunk: db.prepare<[Params], ChunkRow>(
        `INSERT INTO deliveries (event_seq, destination, message_hash, state, first_at, next_at, updated_at)
         SELECT e.seq, @to, message_hash(e.message_key), 'pending', @now, @now, @now FROM events e
          WHERE ${EVENT_FILTER} AND e.seq > @after AND e.seq <= @through ORDER BY e.seq LIMIT @chunk
         RETURNING event_seq AS key, destination`,
      ),
      counts: db.prepare<[], { destination: string; state: string; n: number }>(
        'SELECT destination, state, COUNT(*) AS n FROM deliveries GROUP BY destination, state ORDER BY destination, state',
      ),
      event: db.prepare<[string], BodyKeys & { body: string | Buffer }>('SELECT event_id, message_key, request_id, body FROM events WHERE event_id = ?'),
      purgeEvents: db.prepare(
        `DELETE FROM events WHERE received_at < ?
           AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = events.seq AND d.state = 'pending')`,
      ),
      purgeDedupe: db.prepare('DELETE FROM dedupe WHERE seen_at < ?'),
      purgeRejected: db.prepare('DELETE FROM rejected WHERE received_at < ?'),
      purgeState: db.prepare('DELETE FROM message_state WHERE updated_at < ? AND message_key NOT IN (SELECT message_key FROM events)'),
      interim: db.prepare<[string, number, number], { message_key: string; event_id: string | Buffer }>(
        `SELECT message_key, event_id FROM message_state INDEXED BY message_state_interim
          WHERE profile = ? AND rank = 1 AND missing_at IS NULL AND updated_at < ? ORDER BY updated_at LIMIT ?`,
      ),
      missingMark: db.prepare('UPDATE message_state SET missing_at = ? WHERE message_key = ?'),
    };
  }

  /** Deliveries in a state (dead letters: 'dead'), newest first. */
  listDeliveries(state: DeliveryState | null, f: DeliveryFilter = {}): DeliveryRecord[] {
    return this.stmt.list.all(params(state, f, 100));
  }

  /**
   * Puts dead (or, with `state: 'done'`, delivered) deliveries back in the queue with fresh
   * attempts, oldest first, in chunks of `chunkSize` rows, each its own short transaction, the
   * event loop yielded between them: the spool's write lock is never held long enough to delay
   * a group commit of callbacks. What it takes is the selection as it stood when it began.
   * With `dryRun` it only counts.
   * @example await spool.operations.replayInChunks({ destination: 'webhook:crm' }, 'dead', { onProgress: (n, of) => log(`${n}/${of}`) })
   */
  replayInChunks(f: DeliveryFilter, state: 'dead' | 'done' = 'dead', opts: BulkOptions = {}): Promise<BulkResult> {
    return this.gradually(this.replayPlan(f, state), (after, through, chunk) => this.replayRows(f, state, after, through, chunk), opts);
  }

  /**
   * Adds a delivery to `destination` for stored events (still within retention) that it has
   * not had yet: backfills a new webhook or topic. Chunked like replayInChunks.
   * @example await spool.operations.backfillInChunks('webhook:new', { since: Date.parse('2026-11-01') }, { dryRun: true })
   */
  backfillInChunks(destination: string, f: EventFilter = {}, opts: BulkOptions = {}): Promise<BulkResult> {
    return this.gradually(this.backfillPlan(destination, f), (after, through, chunk) => this.backfillRows(destination, f, after, through, chunk), opts);
  }

  /** replayInChunks without yielding, for a small selection (a few ids); returns how many. */
  replay(f: DeliveryFilter, state: 'dead' | 'done' = 'dead'): number {
    return drain(chunked(this.replayPlan(f, state), (after, through, chunk) => this.replayRows(f, state, after, through, chunk), DEFAULT_CHUNK, this.notifier)).count;
  }

  /** backfillInChunks without yielding, for a small selection; returns how many. */
  backfill(destination: string, f: EventFilter = {}): number {
    return drain(chunked(this.backfillPlan(destination, f), (after, through, chunk) => this.backfillRows(destination, f, after, through, chunk), DEFAULT_CHUNK, this.notifier)).count;
  }

  private replayPlan(f: DeliveryFilter, state: 'dead' | 'done'): Plan {
    return plan(this.stmt.replayPlan.all(params(state, f, -1)), f.limit);
  }

  private replayRows(f: DeliveryFilter, state: 'dead' | 'done', after: number, through: number, chunk: number): ChunkRow[] {
    return this.stmt.replayChunk.all({ ...params(state, f, -1), now: this.now(), after, through, chunk });
  }

  private backfillPlan(destination: string, f: EventFilter): Plan {
    return plan(this.stmt.backfillPlan.all(eventParams(destination, f)), f.limit);
  }

  private backfillRows(destination: string, f: EventFilter, after: number, through: number, chunk: number): ChunkRow[] {
    return this.stmt.backfillChunk.all({ ...eventParams(destination, f), now: this.now(), after, through, chunk });
  }

  /** Runs the chunks, yielding the event loop before each one after the first, and reports progress. */
  private async gradually(p: Plan, rows: RowsFn, opts: BulkOptions): Promise<BulkResult> {
    if (opts.dryRun) return { count: p.total, total: p.total, destinations: { ...p.destinations }, chunks: 0, dryRun: true };
    const steps = chunked(p, rows, opts.chunkSize ?? DEFAULT_CHUNK, this.notifier);
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
      opts.onProgress?.(step.value.count, Math.max(step.value.total, step.value.count));
      // Callbacks waiting for the write lock (a group commit) go first; so do reads and timers.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Counts of deliveries per destination and state. */
  counts(): { destination: string; state: string; n: number }[] {
    return this.stmt.counts.all();
  }

  /** Reads one stored event. */
  event(eventId: string): DeliveryEvent | null {
    const row = this.stmt.event.get(eventId);
    return row ? (JSON.parse(decodeBody(row.body, row)) as DeliveryEvent) : null;
  }

  /**
   * Deletes what retention no longer keeps: events older than retention with nothing pending,
   * old dedupe keys and rejected payloads. Returns the number of events purged.
   */
  purge(): number {
    this.beforePurge();
    const now = this.now();
    // Events stay at least the resend window: they are what recognises a resend (accept-state.ts).
    const cutoff = now - Math.max(this.retention.retentionMs, this.retention.dedupeWindowMs);
    return this.db.transaction(() => {
      const n = this.stmt.purgeEvents.run(cutoff).changes;
      this.stmt.purgeDedupe.run(now - this.retention.dedupeWindowMs);
      this.stmt.purgeRejected.run(cutoff);
      this.stmt.purgeState.run(cutoff);
      return n;
    })();
  }

  /**
   * Messages of `profile` whose latest report is interim (rank 1) and older than `before`, and
   * for which no "final report missing" event was made yet: their latest event, oldest first.
   */
  interimSince(profile: string, before: number, limit: number): InterimMessage[] {
    return this.stmt.interim.all(profile, before, limit).map((r) => ({ messageKey: r.message_key, last: this.event(decodeStoredId(r.event_id)) }));
  }

  /** Marks messages as announced missing, so the sweep makes their event once. */
  markFinalMissing(messageKeys: readonly string[]): void {
    const now = this.now();
    this.db.transaction(() => {
      for (const k of messageKeys) this.stmt.missingMark.run(now, k);
    })();
  }
}
